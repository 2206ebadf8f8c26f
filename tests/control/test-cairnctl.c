/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairnctl: the output and exit status of every command, with and
 * without --json, against cairn-control in a private bus. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-test-suite.h"
#include "control-fixture.h"

typedef struct
{
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
cairnctl (Run        *run,
          const char *first,
          ...) G_GNUC_NULL_TERMINATED;

static void
cairnctl (Run        *run,
          const char *first,
          ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GError *error = NULL;
  const char *arg;
  va_list args;
  int wait_status;

  run_clear (run);
  g_ptr_array_add (argv, (char *) CAIRNCTL);
  va_start (args, first);
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  ck_assert_msg (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &run->out, &run->err, &wait_status, &error),
                 "cairnctl: %s", error ? error->message : "");
  ck_assert (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static void
check_run (const Run  *run,
           int         expected_status,
           const char *stream,
           const char *text)
{
  ck_assert_msg (run->status == expected_status, "exit %d, not %d; out: %s; err: %s",
                 run->status, expected_status, run->out, run->err);
  ck_assert_msg (strstr (stream, text) != NULL, "no “%s” in: %s", text, stream);
}

#define assert_run(run, expected_status, stream, text) \
  check_run ((run), (expected_status), (run)->stream, (text))

/* Hides the bus's service file of cairn-control, or shows it again. */
static void
set_activatable (gboolean activatable)
{
  g_autofree char *service = fixture_path ("services", "org.cairn.Control1.service");
  g_autofree char *hidden = fixture_path ("services", "org.cairn.Control1.service.hidden");
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;

  ck_assert_int_eq (g_rename (activatable ? hidden : service, activatable ? service : hidden), 0);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "ReloadConfig", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  ck_assert_ptr_nonnull (reply);
}

START_TEST (test_start_stop)
{
  g_auto(Run) run = { 0 };

  /* A bus that cannot start the service. */
  set_activatable (FALSE);
  cairnctl (&run, "status", NULL);
  assert_run (&run, 2, err, "the control service is not running and the bus cannot start it");
  set_activatable (TRUE);

  /* Any command has the bus start it. */
  cairnctl (&run, "status", NULL);
  assert_run (&run, 0, out, "ID                   TYPE");
  ck_assert (control_has_name ());
  cairnctl (&run, "stop", NULL);
  assert_run (&run, 0, out, "The control service is stopped");
  cairnctl (&run, "stop", NULL);
  assert_run (&run, 0, out, "not running");

  cairnctl (&run, "start", NULL);
  assert_run (&run, 0, out, "The control service is ready");
  ck_assert (control_has_name ());
  cairnctl (&run, "start", NULL);
  assert_run (&run, 0, out, "already running");

  cairnctl (&run, "restart", NULL);
  assert_run (&run, 0, out, "The control service is ready");
  cairnctl (&run, "stop", NULL);
  assert_run (&run, 0, out, "The control service is stopped");
  ck_assert (!control_has_name ());
}
END_TEST

START_TEST (test_usage)
{
  g_auto(Run) run = { 0 };

  cairnctl (&run, "--help", NULL);
  assert_run (&run, 0, out, "6  fsck found problems that remain");
  ck_assert (strstr (run.out, "add TYPE [KEY=VALUE...]") != NULL);
  cairnctl (&run, "--json", NULL);
  assert_run (&run, 1, err, "no command");
  cairnctl (&run, "frobnicate", NULL);
  assert_run (&run, 1, err, "unknown command");
  cairnctl (&run, "status", "--bogus", NULL);
  assert_run (&run, 1, err, "Unknown option");

  cairnctl (&run, "--version", NULL);
  assert_run (&run, 0, out, "cairnctl 0.");
  cairnctl (&run, "help", NULL);
  assert_run (&run, 0, out, "help [COMMAND]             this list, or what COMMAND does");
  cairnctl (&run, "help", "sync", NULL);
  assert_run (&run, 0, out, "Usage: cairnctl sync ID [COLLECTION]\n\nSynchronize a resource");
  ck_assert (strstr (run.out, "a\nresource that is offline fails at once") != NULL);
  cairnctl (&run, "help", "frobnicate", NULL);
  assert_run (&run, 1, err, "unknown command: frobnicate");
  ck_assert (!control_has_name ());
}
END_TEST

START_TEST (test_instances)
{
  g_auto(Run) run = { 0 };
  g_autofree char *log = fixture_path ("agent.log", NULL);
  g_autofree char *log_pair = g_strconcat ("log-file=", log, NULL);
  GPid control = control_start (NULL);

  cairnctl (&run, "types", NULL);
  assert_run (&run, 0, out, "logging          Logging agent");
  cairnctl (&run, "types", "--json", NULL);
  assert_run (&run, 0, out, "[{\"id\":\"logging\",\"name\":\"Logging agent\"");
  ck_assert (strstr (run.out, "\"capabilities\":[\"no-config\"]") != NULL);

  cairnctl (&run, "add", "logging", log_pair, NULL);
  assert_run (&run, 0, out, "logging_0\n");
  cairnctl (&run, "add", "logging", "--json", NULL);
  assert_run (&run, 0, out, "{\"id\":\"logging_1\"}");
  cairnctl (&run, "add", "nope", NULL);
  assert_run (&run, 3, err, "No agent type “nope”");
  cairnctl (&run, "add", "logging", "novalue", NULL);
  assert_run (&run, 1, err, "“novalue” is not KEY=VALUE");
  cairnctl (&run, "add", "logging", "Type=x", NULL);
  assert_run (&run, 4, err, "cannot be configured");

  cairnctl (&run, "status", NULL);
  assert_run (&run, 0, out, "ID                   TYPE");
  ck_assert (strstr (run.out, "logging_0            logging") != NULL);
  cairnctl (&run, "status", "--json", NULL);
  assert_run (&run, 0, out, "{\"id\":\"logging_0\",\"type\":\"logging\"");
  ck_assert (strstr (run.out, "\"crashes\":0") != NULL);

  cairnctl (&run, "config", "logging_0", NULL);
  assert_run (&run, 0, out, log_pair);
  cairnctl (&run, "config", "logging_0", "--json", NULL);
  assert_run (&run, 0, out, "{\"log-file\":\"");
  cairnctl (&run, "config", "logging_1", "log-file=/dev/null", NULL);
  assert_run (&run, 0, out, "");
  cairnctl (&run, "config", "logging_1", "--unset", "log-file", NULL);
  assert_run (&run, 0, out, "");
  cairnctl (&run, "config", "logging_1", NULL);
  ck_assert_str_eq (run.out, "");
  cairnctl (&run, "config", "logging_9", NULL);
  assert_run (&run, 3, err, "No instance “logging_9”");

  cairnctl (&run, "offline", "logging_0", NULL);
  assert_run (&run, 0, out, "logging_0: wanted offline");
  cairnctl (&run, "online", "logging_0", NULL);
  assert_run (&run, 0, out, "logging_0: wanted online");
  cairnctl (&run, "sync", "logging_0", NULL);
  assert_run (&run, 4, err, "is not a resource");
  cairnctl (&run, "sync", "logging_0", "12", "--wait", NULL);
  assert_run (&run, 4, err, "is not a resource");
  cairnctl (&run, "sync", "logging_0", "x", NULL);
  assert_run (&run, 1, err, "COLLECTION must be a collection id");
  cairnctl (&run, "restart", "logging_0", NULL);
  assert_run (&run, 0, out, "logging_0: restarting");
  cairnctl (&run, "remove", "logging_1", NULL);
  assert_run (&run, 0, out, "logging_1: removed");
  cairnctl (&run, "remove", "logging_1", NULL);
  assert_run (&run, 3, err, "No instance “logging_1”");
  cairnctl (&run, "remove", NULL);
  assert_run (&run, 1, err, "usage: cairnctl remove ID");

  cairnctl (&run, "stop", NULL);
  assert_run (&run, 0, out, "stopped");
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

typedef struct
{
  GString *text;
  GIOChannel *channel;
  const char *wanted;
} Output;

static gboolean
output_has (gpointer data)
{
  Output *output = data;
  g_autofree char *line = NULL;

  while (g_io_channel_read_line (output->channel, &line, NULL, NULL, NULL) == G_IO_STATUS_NORMAL)
    {
      g_string_append (output->text, line);
      g_clear_pointer (&line, g_free);
    }
  return strstr (output->text->str, output->wanted) != NULL;
}

/* Starts `cairnctl watch` with @argv, and returns once it listens. */
static GPid
start_watch (const char * const *argv,
             Output             *output)
{
  GError *error = NULL;
  GPid watch;
  int out;

  ck_assert (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                       NULL, NULL, &watch, NULL, &out, NULL, &error));
  output->text = g_string_new (NULL);
  output->channel = g_io_channel_unix_new (out);
  g_io_channel_set_close_on_unref (output->channel, TRUE);
  g_io_channel_set_flags (output->channel, G_IO_FLAG_NONBLOCK, NULL);
  output->wanted = g_strv_contains (argv, "--json") ? "{\"event\":\"watching\"}" : "Watching";
  ck_assert_msg (fixture_wait_until (output_has, output), "%s", output->text->str);
  return watch;
}

START_TEST (test_watch)
{
  const char *argv[] = { CAIRNCTL, "watch", "--json", "--count", "3", NULL };
  g_auto(Run) run = { 0 };
  Output output = { 0 };
  GPid control = control_start (NULL);
  GPid watch = start_watch (argv, &output);

  cairnctl (&run, "add", "logging", NULL);
  assert_run (&run, 0, out, "logging_0");
  output.wanted = "\"event\":\"added\",\"id\":\"logging_0\",\"type\":\"logging\"";
  ck_assert_msg (fixture_wait_until (output_has, &output), "%s", output.text->str);
  output.wanted = "\"event\":\"status\",\"id\":\"logging_0\"";
  ck_assert_msg (fixture_wait_until (output_has, &output), "%s", output.text->str);
  ck_assert_int_eq (control_wait_exit (watch), 0);

  g_io_channel_unref (output.channel);
  g_string_free (output.text, TRUE);
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

typedef struct
{
  Run *run;
  const char *id;
  const char *wanted;
} StatusWait;

/* `cairnctl status` shows @wanted in the row of @id. */
static gboolean
status_shows (gpointer data)
{
  StatusWait *wait = data;
  g_auto(GStrv) lines = NULL;

  cairnctl (wait->run, "status", NULL);
  lines = g_strsplit (wait->run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], wait->id) && strstr (lines[i], wait->wanted) != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
edit_item (CairnTransaction  *transaction,
           gpointer           user_data,
           GError           **error)
{
  CairnItem *item = user_data;

  cairn_item_set_remote_revision (item, "2");
  return cairn_transaction_modify_item (transaction, item, 0, error);
}

static guint64
first_failed_change (const char *id)
{
  g_auto(Run) run = { 0 };
  guint64 change = 0;

  cairnctl (&run, "failed", id, NULL);
  assert_run (&run, 0, out, "CHANGE   OPERATION  ENTITY               REASON\n");
  sscanf (run.out + strlen ("CHANGE   OPERATION  ENTITY               REASON\n"),
          "%" G_GUINT64_FORMAT, &change);
  ck_assert_uint_ne (change, 0);
  return change;
}

/* One folder of a resource cannot be read: the others are synced, the
 * failure shows in `status` until the folder can be read again; a change
 * the resource refuses is listed by `failed`, retried and discarded. */
START_TEST (test_failures)
{
  g_auto(Run) run = { 0 };
  g_autofree char *root = fixture_path ("folders", NULL);
  g_autofree char *marker = fixture_path ("folders", "b/.unreadable");
  g_autofree char *note_file = fixture_path ("folders", "a/note");
  g_autofree char *folders_type = fixture_path ("agents", "folders.agent");
  g_autofree char *ghost_type = fixture_path ("agents", "ghost.agent");
  g_autofree char *path_pair = g_strconcat ("path=", root, NULL);
  g_autofree char *store_path = fixture_path ("share", "cairn/store.db");
  g_autofree char *shown = NULL;
  g_autofree char *retry_arg = NULL;
  g_autofree char *discard_arg = NULL;
  g_autofree char *discarded = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnCollection) a = NULL;
  g_autoptr(CairnItem) note = NULL;
  StatusWait wait = { &run, "folders_0", NULL };
  GError *error = NULL;
  GPid control;
  guint64 change;

  fixture_write_file (marker, "");
  fixture_write_file (note_file, "alpha");
  shown = g_strdup_printf ("[Cairn Agent]\nName=Folders\nModule=%s\nCapabilities=Resource;\n",
                           FOLDERS_MODULE);
  fixture_write_file (folders_type, shown);
  g_clear_pointer (&shown, g_free);
  /* A resource whose module does not exist: broken at its first start. */
  shown = g_strdup_printf ("[Cairn Agent]\nName=Ghost\nModule=%s/none.so\n"
                           "Capabilities=Resource;NoConfig;\n", fixture_dir);
  fixture_write_file (ghost_type, shown);
  g_clear_pointer (&shown, g_free);
  control = control_start (NULL);

  cairnctl (&run, "add", "folders", path_pair, NULL);
  assert_run (&run, 0, out, "folders_0\n");
  wait.wanted = "degraded";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  ck_assert_msg (strstr (run.out, " 0/1    ") != NULL, "%s", run.out);
  ck_assert_msg (strstr (run.out, "1 collection cannot be synchronized: “b”: Folder b cannot be "
                         "read\n") != NULL, "%s", run.out);
  cairnctl (&run, "status", "--json", NULL);
  assert_run (&run, 0, out, "\"status\":\"degraded\",\"message\":\"1 collection cannot be "
              "synchronized: “b”: Folder b cannot be read\"");
  ck_assert_msg (strstr (run.out, "\"failed-changes\":0,\"failed-collections\":[[") != NULL,
                 "%s", run.out);
  ck_assert (strstr (run.out, ",\"b\",\"Folder b cannot be read\"]]") != NULL);

  /* The readable folder was synced all the same. */
  store = cairn_store_open (store_path, NULL, &error);
  ck_assert_ptr_nonnull (store);
  a = cairn_store_find_collection_by_remote_id (store, "folders_0", "a", &error);
  ck_assert_ptr_nonnull (a);
  note = cairn_store_find_item_by_remote_id (store, cairn_collection_get_id (a), "note", NULL,
                                             &error);
  ck_assert_ptr_nonnull (note);

  cairnctl (&run, "sync", "folders_0", "--wait", NULL);
  assert_run (&run, 5, err, "1 of 2 collections could not be synchronized: “b”: Folder b "
              "cannot be read");
  /* The sync changed the queues but not the failure: it is still shown. */
  cairnctl (&run, "status", "--json", NULL);
  ck_assert_msg (strstr (run.out, ",\"b\",\"Folder b cannot be read\"]]") != NULL, "%s",
                 run.out);

  /* The cause removed, the next sync clears it. */
  ck_assert_int_eq (g_unlink (marker), 0);
  cairnctl (&run, "sync", "folders_0", "--wait", NULL);
  assert_run (&run, 0, out, "Synchronized folders_0");
  wait.wanted = " 0/0    ";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  ck_assert_msg (strstr (run.out, "idle") != NULL, "%s", run.out);

  /* A refused change is listed, retried and discarded. */
  ck_assert (cairn_store_write_sync (store, edit_item, note, NULL, NULL, &error));
  /* Degraded once the replay task that refused it has ended. */
  wait.wanted = "degraded";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  ck_assert_msg (strstr (run.out, " 1/0    ") != NULL, "%s", run.out);
  ck_assert_msg (strstr (run.out, "1 local change could not be replayed: The folders are "
                         "read-only\n") != NULL, "%s", run.out);
  change = first_failed_change ("folders_0");
  shown = g_strdup_printf ("%-8" G_GUINT64_FORMAT " modify     item %-15" G_GUINT64_FORMAT
                           " The folders are read-only\n", change, cairn_item_get_id (note));
  cairnctl (&run, "failed", "folders_0", NULL);
  assert_run (&run, 0, out, shown);
  g_clear_pointer (&shown, g_free);
  shown = g_strdup_printf ("[{\"id\":%" G_GUINT64_FORMAT ",\"operation\":\"modify\","
                           "\"entity-kind\":\"item\",\"entity\":%" G_GUINT64_FORMAT ","
                           "\"reason\":\"The folders are read-only\"}]", change,
                           cairn_item_get_id (note));
  cairnctl (&run, "failed", "folders_0", "--json", NULL);
  assert_run (&run, 0, out, shown);

  cairnctl (&run, "retry", "folders_0", "999999", NULL);
  assert_run (&run, 3, err, "folders_0 has no failed change 999999");
  cairnctl (&run, "retry", "folders_0", "x", NULL);
  assert_run (&run, 1, err, "CHANGE must be a failed change id");
  retry_arg = g_strdup_printf ("%" G_GUINT64_FORMAT, change);
  cairnctl (&run, "retry", "folders_0", retry_arg, NULL);
  assert_run (&run, 0, out, "folders_0: retrying 1 failed change\n");
  /* Replayed again, it fails again, as a new failed change. */
  wait.wanted = " 1/0    ";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  change = first_failed_change ("folders_0");

  cairnctl (&run, "discard", "folders_0", NULL);
  assert_run (&run, 1, err, "usage: cairnctl discard ID CHANGE");
  discard_arg = g_strdup_printf ("%" G_GUINT64_FORMAT, change);
  discarded = g_strdup_printf ("{\"id\":\"folders_0\",\"discarded\":[%" G_GUINT64_FORMAT "]}",
                               change);
  cairnctl (&run, "discard", "folders_0", discard_arg, "--json", NULL);
  assert_run (&run, 0, out, discarded);
  wait.wanted = " 0/0    ";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  ck_assert_msg (strstr (run.out, "idle") != NULL, "%s", run.out);
  cairnctl (&run, "failed", "folders_0", "--json", NULL);
  assert_run (&run, 0, out, "[]\n");

  /* Unknown ids, agents that are no resources, resources not running. */
  cairnctl (&run, "failed", "nope_0", NULL);
  assert_run (&run, 3, err, "No instance “nope_0”");
  cairnctl (&run, "add", "logging", NULL);
  assert_run (&run, 0, out, "logging_0\n");
  cairnctl (&run, "failed", "logging_0", NULL);
  assert_run (&run, 4, err, "is not a resource");
  cairnctl (&run, "add", "ghost", NULL);
  assert_run (&run, 0, out, "ghost_0\n");
  wait.id = "ghost_0";
  wait.wanted = "broken";
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);
  cairnctl (&run, "retry", "ghost_0", NULL);
  assert_run (&run, 2, err, "Instance ghost_0 is not running (broken)");

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

typedef struct
{
  const char *store_path;
  const char *remote_id;
} CollectionWait;

static gboolean
collection_synced (gpointer data)
{
  CollectionWait *wait = data;
  g_autoptr(CairnStore) store = cairn_store_open (wait->store_path, NULL, NULL);
  g_autoptr(CairnCollection) collection = NULL;

  if (store == NULL)
    return FALSE;
  collection = cairn_store_find_collection_by_remote_id (store, "folders_0", wait->remote_id,
                                                         NULL);
  return collection != NULL;
}

/* sync --wait of an offline resource fails at once; a changed
 * configuration makes the resource synchronize. */
START_TEST (test_offline_and_reconfigure)
{
  g_auto(Run) run = { 0 };
  g_autofree char *first = fixture_path ("first", NULL);
  g_autofree char *second = fixture_path ("second", NULL);
  g_autofree char *first_note = fixture_path ("first", "a/note");
  g_autofree char *second_note = fixture_path ("second", "x/note");
  g_autofree char *second_note_2 = fixture_path ("second", "x/note2");
  g_autofree char *second_note_3 = fixture_path ("second", "x/note3");
  g_autofree char *folders_type = fixture_path ("agents", "folders.agent");
  g_autofree char *store_path = fixture_path ("share", "cairn/store.db");
  g_autofree char *first_pair = g_strconcat ("path=", first, NULL);
  g_autofree char *second_pair = g_strconcat ("path=", second, NULL);
  g_autofree char *contents = NULL;
  StatusWait wait = { &run, "folders_0", " 0/0    " };
  CollectionWait synced = { store_path, "a" };
  const char *watch_argv[] = { CAIRNCTL, "watch", NULL };
  const char *json_argv[] = { CAIRNCTL, "watch", "--json", NULL };
  Output watched = { 0 };
  Output watched_json = { 0 };
  GPid control, watch, watch_json;

  fixture_write_file (first_note, "alpha");
  fixture_write_file (second_note, "beta");
  fixture_write_file (second_note_2, "gamma");
  fixture_write_file (second_note_3, "delta");
  contents = g_strdup_printf ("[Cairn Agent]\nName=Folders\nModule=%s\nCapabilities=Resource;\n",
                              FOLDERS_MODULE);
  fixture_write_file (folders_type, contents);
  control = control_start (NULL);

  /* What the agent would refuse is refused before an instance exists. */
  cairnctl (&run, "add", "folders", first_pair, "bogus=1", NULL);
  assert_run (&run, 4, err, "Cannot create an instance of folders: unknown key bogus (the keys "
              "are: batch-size, conflict-policy, path, sync-interval)");
  cairnctl (&run, "add", "folders", first_pair, "batch-size=many", NULL);
  assert_run (&run, 4, err, "Cannot create an instance of folders: key batch-size: ");
  cairnctl (&run, "add", "folders", first_pair, "conflict-policy=toss", NULL);
  assert_run (&run, 4, err, "key conflict-policy: “toss” is not one of: ");
  cairnctl (&run, "status", NULL);
  ck_assert_msg (strstr (run.out, "folders_") == NULL, "%s", run.out);

  cairnctl (&run, "add", "folders", first_pair, "batch-size=1", NULL);
  assert_run (&run, 0, out, "folders_0\n");
  ck_assert (fixture_wait_until (collection_synced, &synced));
  cairnctl (&run, "config", "folders_0", "batch-size=-1", NULL);
  assert_run (&run, 4, err, "Cannot configure folders_0: key batch-size: ");
  cairnctl (&run, "config", "folders_0", NULL);
  assert_run (&run, 0, out, "batch-size=1\n");
  ck_assert_msg (fixture_wait_until (status_shows, &wait), "%s", run.out);

  cairnctl (&run, "offline", "folders_0", NULL);
  assert_run (&run, 0, out, "wanted offline");
  cairnctl (&run, "sync", "folders_0", "--wait", NULL);
  assert_run (&run, 4, err, "folders_0 is offline, so it would not synchronize until online");
  cairnctl (&run, "sync", "nope_0", "--wait", NULL);
  assert_run (&run, 3, err, "No instance “nope_0”");
  cairnctl (&run, "online", "folders_0", NULL);
  assert_run (&run, 0, out, "wanted online");

  /* The sync the change starts, as people and programs watch it. */
  watch = start_watch (watch_argv, &watched);
  watch_json = start_watch (json_argv, &watched_json);
  cairnctl (&run, "config", "folders_0", second_pair, NULL);
  assert_run (&run, 0, out, "");
  synced.remote_id = "x";
  ck_assert (fixture_wait_until (collection_synced, &synced));
  watched.wanted = " folders_0 running (running): Synchronizing x\n";
  ck_assert_msg (fixture_wait_until (output_has, &watched), "%s", watched.text->str);
  watched.wanted = " folders_0 [                              ]   0%  0 of 3 items\n";
  ck_assert_msg (fixture_wait_until (output_has, &watched), "%s", watched.text->str);
  watched.wanted = " folders_0 [#########                     ]  33%  1 of 3 items\n";
  ck_assert_msg (fixture_wait_until (output_has, &watched), "%s", watched.text->str);
  watched.wanted = " folders_0 [###################           ]  66%  2 of 3 items\n";
  ck_assert_msg (fixture_wait_until (output_has, &watched), "%s", watched.text->str);
  watched.wanted = " folders_0 [##############################] 100%  3 of 3 items\n";
  ck_assert_msg (fixture_wait_until (output_has, &watched), "%s", watched.text->str);
  watched_json.wanted = "{\"event\":\"progress\",\"id\":\"folders_0\",\"progress\":100,"
                        "\"items-done\":3,\"items-known\":3}";
  ck_assert_msg (fixture_wait_until (output_has, &watched_json), "%s", watched_json.text->str);
  kill (watch, SIGTERM);
  kill (watch_json, SIGTERM);
  ck_assert_int_eq (control_wait_exit (watch), 0);
  ck_assert_int_eq (control_wait_exit (watch_json), 0);
  g_io_channel_unref (watched.channel);
  g_io_channel_unref (watched_json.channel);
  g_string_free (watched.text, TRUE);
  g_string_free (watched_json.text, TRUE);

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

static void
damage_store (const char *path)
{
  sqlite3 *db;

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "INSERT INTO item_flags (item_id, flag) "
                                  "VALUES (999, 'x')", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_close (db), SQLITE_OK);
}

START_TEST (test_fsck_vacuum)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = fixture_path ("store.db", NULL);
  g_autoptr(CairnStore) store = NULL;
  GError *error = NULL;

  cairnctl (&run, "fsck", "--store", path, NULL);
  assert_run (&run, 5, err, "no store at");

  store = cairn_store_open (path, NULL, &error);
  ck_assert_ptr_nonnull (store);
  g_clear_object (&store);
  cairnctl (&run, "fsck", "--store", path, NULL);
  assert_run (&run, 0, out, "0 problems, 0 remain");
  damage_store (path);
  cairnctl (&run, "fsck", "--store", path, "--json", NULL);
  assert_run (&run, 6, out, "\"problems\":[\"references: 1 rows of item_flags refer to a "
              "missing row of items through item_id\"],\"remaining\":1}");
  cairnctl (&run, "fsck", "--store", path, "--repair", NULL);
  assert_run (&run, 0, out, "item_id (repaired)\n");
  ck_assert (strstr (run.out, "1 problems, 0 remain") != NULL);
  cairnctl (&run, "fsck", "--store", path, NULL);
  assert_run (&run, 0, out, "0 problems, 0 remain");

  cairnctl (&run, "vacuum", "--store", path, NULL);
  assert_run (&run, 0, out, " bytes, ");
  cairnctl (&run, "vacuum", "--store", path, "--json", NULL);
  assert_run (&run, 0, out, "\"bytes-after\":");
}
END_TEST

static gboolean
add_message (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnCollection) inbox = cairn_collection_new ("mail", 0, "INBOX");
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, strlen (data));
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, bytes);

  if (!cairn_transaction_create_collection (txn, inbox, error))
    return FALSE;
  cairn_item_set_collection_id (item, cairn_collection_get_id (inbox));
  cairn_item_set_size (item, strlen (data));
  cairn_item_set_part (item, part);
  return cairn_transaction_create_item (txn, item, error);
}

START_TEST (test_filter)
{
  static const char message[] = "From: Dev <dev@gnome.org>\r\nSubject: [gnome] 3.0\r\n\r\nBody\r\n";
  g_auto(Run) run = { 0 };
  g_autofree char *script = fixture_path ("filter.sieve", NULL);
  g_autofree char *broken = fixture_path ("broken.sieve", NULL);
  g_autofree char *mail = fixture_path ("message.eml", NULL);
  g_autofree char *path = fixture_path ("store.db", NULL);
  g_autoptr(CairnStore) store = NULL;
  GError *error = NULL;

  ck_assert (g_file_set_contents (script, "require [\"fileinto\", \"imap4flags\"];\n"
                                  "if address :domain :is \"from\" \"gnome.org\" {\n"
                                  "  fileinto :flags \"\\\\Seen\" \"GNOME\";\n"
                                  "} elsif size :over 1M { discard; }\n", -1, NULL));
  ck_assert (g_file_set_contents (broken, "require \"fileinto\";\nfileinto \"x;\n", -1,
                                  NULL));
  ck_assert (g_file_set_contents (mail, message, -1, NULL));

  cairnctl (&run, "filter", "check", script, NULL);
  assert_run (&run, 0, out, "filter.sieve: 2 rules, no error\n");
  cairnctl (&run, "filter", "check", broken, NULL);
  assert_run (&run, 4, err, "broken.sieve: line 2, column 10: unterminated string\n");
  cairnctl (&run, "filter", "check", mail, "extra", NULL);
  assert_run (&run, 1, err, "usage: cairnctl filter check SCRIPT | test SCRIPT ITEM");
  cairnctl (&run, "filter", "check", "/nonexistent.sieve", NULL);
  assert_run (&run, 3, err, "/nonexistent.sieve");

  /* A message file, and an item of the store. */
  cairnctl (&run, "filter", "test", script, mail, NULL);
  assert_run (&run, 0, out, "fileinto \"GNOME\" :flags [\"\\Seen\"]\n");
  cairnctl (&run, "filter", "test", broken, mail, NULL);
  assert_run (&run, 4, err, "line 2, column 10");
  store = cairn_store_open (path, NULL, &error);
  ck_assert_ptr_nonnull (store);
  ck_assert (cairn_store_write_sync (store, add_message, (gpointer) message, NULL, NULL, &error));
  cairnctl (&run, "filter", "test", "--store", path, script, "1", NULL);
  assert_run (&run, 0, out, "fileinto \"GNOME\" :flags [\"\\Seen\"]\n");
  cairnctl (&run, "filter", "test", "--store", path, script, "2", NULL);
  assert_run (&run, 3, err, "2");
  cairnctl (&run, "filter", "test", script, "/nonexistent.eml", NULL);
  assert_run (&run, 3, err, "/nonexistent.eml");
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "cairnctl", test_usage },
    { "cairnctl", test_start_stop },
    { "cairnctl", test_instances },
    { "cairnctl", test_watch },
    { "cairnctl", test_fsck_vacuum },
    { "cairnctl", test_filter },
    { "cairnctl", test_failures },
    { "cairnctl", test_offline_and_reconfigure },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("cairnctl", cases, G_N_ELEMENTS (cases),
                                                     control_fixture_setup,
                                                     control_fixture_teardown, 120));
}
