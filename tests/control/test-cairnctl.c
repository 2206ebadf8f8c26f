/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairnctl: the output and exit status of every command, with and
 * without --json, against cairn-control in a private bus. */
#include <check.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

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

START_TEST (test_start_stop)
{
  g_auto(Run) run = { 0 };

  cairnctl (&run, "status", NULL);
  assert_run (&run, 2, err, "the control service is not running");
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

START_TEST (test_watch)
{
  const char *argv[] = { CAIRNCTL, "watch", "--json", "--count", "3", NULL };
  g_auto(Run) run = { 0 };
  Output output = { g_string_new (NULL), NULL, NULL };
  GError *error = NULL;
  GPid control = control_start (NULL);
  GPid watch;
  int out;

  ck_assert (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                       NULL, NULL, &watch, NULL, &out, NULL, &error));
  output.channel = g_io_channel_unix_new (out);
  g_io_channel_set_close_on_unref (output.channel, TRUE);
  g_io_channel_set_flags (output.channel, G_IO_FLAG_NONBLOCK, NULL);
  /* The watcher is listening once it says so. */
  output.wanted = "{\"event\":\"watching\"}";
  ck_assert_msg (fixture_wait_until (output_has, &output), "%s", output.text->str);

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

int
main (void)
{
  const CairnTestCase cases[] = {
    { "cairnctl", test_usage },
    { "cairnctl", test_start_stop },
    { "cairnctl", test_instances },
    { "cairnctl", test_watch },
    { "cairnctl", test_fsck_vacuum },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("cairnctl", cases, G_N_ELEMENTS (cases),
                                                     control_fixture_setup,
                                                     control_fixture_teardown, 120));
}
