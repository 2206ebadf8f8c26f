/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Idle exit and start on demand, with cairn-control and the maildir
 * resource in a private session bus: the resource exits after its idle
 * time and shows as idle-exited (also in cairnctl status); a local change, a due interval sync, a
 * client asking for a missing part and an explicit sync each start it
 * again and their work is done; a burst of writes from another process
 * across its exits loses nothing. */
#include <check.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairn/cairn.h>
#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"
#include "control-fixture.h"

#define ID "maildir_0"
#define MESSAGES 6
#define BURST_WRITES 60

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) ? (error)->message : "")

static char *self_path;

/* Up to thirty seconds: a start, a sync and an idle second each take
 * their time on a loaded machine, and a sync that failed for a moment
 * is retried after a backoff. */
static gboolean
wait_until (gboolean (*condition) (gpointer data),
            gpointer   data)
{
  for (guint i = 0; i < 3; i++)
    if (fixture_wait_until (condition, data))
      return TRUE;
  return FALSE;
}

static char *
mail_root (void)
{
  return fixture_path ("mail", NULL);
}

static char *
store_path (void)
{
  return fixture_path ("share", "cairn/store.db");
}

/* A maildir type that exits after one idle second, and one instance
 * over a small tree, with @extra keys. */
static void
setup_maildir (const char *extra)
{
  g_autofree char *type_path = fixture_path ("agents", "maildir.agent");
  g_autofree char *type = NULL;
  g_autofree char *conf_path = fixture_path ("config", "cairn/" ID ".conf");
  g_autofree char *root = mail_root ();
  g_autofree char *conf = NULL;
  g_autoptr(CairnTestMaildir) maildir = NULL;
  GError *error = NULL;

  type = g_strdup_printf ("[Cairn Agent]\nName=Maildir\nModule=%s/libcairn-maildir-resource.so\n"
                          "MimeTypes=message/rfc822;inode/directory;\n"
                          "Capabilities=Resource;\nIdleExit=1\n", MAILDIR_AGENT_DIR);
  fixture_write_file (type_path, type);
  conf = g_strdup_printf ("[Agent]\nType=maildir\npath=%s\n%s", root, extra ? extra : "");
  fixture_write_file (conf_path, conf);

  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  ck_assert (cairn_test_maildir_generate (maildir, "INBOX", MESSAGES, 7, &error));
  assert_no_error (error);
}

static GVariant *
details (void)
{
  g_autoptr(GVariant) row = control_find_instance (ID);

  ck_assert_ptr_nonnull (row);
  return g_variant_get_child_value (row, 6);
}

static char *
state (void)
{
  g_autoptr(GVariant) d = details ();
  char *value = NULL;

  ck_assert (g_variant_lookup (d, "state", "s", &value));
  return value;
}

static gboolean
in_state (gpointer data)
{
  g_autofree char *now = state ();

  return g_str_equal (now, data);
}

static void
wait_state (const char *wanted)
{
  g_autoptr(GVariant) row = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;

  if (wait_until (in_state, (gpointer) wanted))
    return;
  row = control_find_instance (ID);
  shown = g_variant_print (row, FALSE);
  log_path = fixture_path ("state", "cairn/log/" ID ".log");
  g_file_get_contents (log_path, &log, NULL, NULL);
  ck_abort_msg ("%s never became %s: %s; its log:\n%s", ID, wanted, shown, log ? log : "");
}

static GPid
pid (void)
{
  g_autoptr(GVariant) d = details ();
  gint32 value = 0;

  g_variant_lookup (d, "pid", "i", &value);
  return value;
}

static CairnStore *
open_store (void)
{
  g_autofree char *path = store_path ();
  GError *error = NULL;
  CairnStore *store = cairn_store_open (path, NULL, &error);

  assert_no_error (error);
  return store;
}

/* The resource's items with their RFC822 part, by id; also in the
 * writer process, which runs no test. */
static GPtrArray *
read_messages (CairnStore  *store,
               GError     **error)
{
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  collections = cairn_store_list_collections (store, ID, error);
  if (collections == NULL)
    return NULL;
  for (guint i = 0; i < collections->len; i++)
    {
      guint64 id = cairn_collection_get_id (g_ptr_array_index (collections, i));
      g_autoptr(GPtrArray) some = cairn_store_list_items (store, id, scope, 0, 0, error);

      if (some == NULL)
        return NULL;
      for (guint j = 0; j < some->len; j++)
        g_ptr_array_add (items, g_object_ref (g_ptr_array_index (some, j)));
    }
  return g_steal_pointer (&items);
}

static GPtrArray *
list_messages (CairnStore *store)
{
  GError *error = NULL;
  GPtrArray *items = read_messages (store, &error);

  assert_no_error (error);
  return items;
}

typedef struct
{
  CairnStore *store;
  guint count;
} Count;

static gboolean
has_messages (gpointer data)
{
  Count *count = data;
  g_autoptr(GPtrArray) items = list_messages (count->store);

  return items->len == count->count;
}

/* Whether the file of every message carries in its name the flags the
 * store has for it: every local flag change was replayed. */
static gboolean
files_match_store (gpointer data)
{
  g_autoptr(GPtrArray) items = list_messages (data);

  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);
      CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
      const char *path = part ? cairn_part_get_path (part) : NULL;
      const char *info = path ? strstr (path, ":2,") : NULL;
      gboolean seen = cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);
      gboolean flagged = cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_FLAGGED);

      if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
        return FALSE;
      if (seen != (info != NULL && strchr (info, 'S') != NULL) ||
          flagged != (info != NULL && strchr (info, 'F') != NULL))
        return FALSE;
    }
  return items->len > 0;
}

typedef struct
{
  guint64 id;
  const char *flag;
  gboolean add;
} FlagChange;

static gboolean
change_flag (CairnTransaction  *txn,
             gpointer           data,
             GError           **error)
{
  FlagChange *change = data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (change->add)
    cairn_flags_delta_add (delta, change->flag);
  else
    cairn_flags_delta_remove (delta, change->flag);
  return cairn_transaction_change_flags (txn, change->id, delta, 0, error);
}

/* Starts the service and waits for the first sync and the idle exit. */
static GPid
start_until_idle_exited (CairnStore **store)
{
  Count count = { NULL, MESSAGES };
  GPid control = control_start (NULL);

  *store = open_store ();
  count.store = *store;
  ck_assert (wait_until (has_messages, &count));
  wait_state ("idle-exited");
  return control;
}

START_TEST (test_idle_exit_and_local_change)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GVariant) row = NULL;
  g_autofree char *shown = NULL;
  const char *status_argv[] = { CAIRNCTL, "status", NULL };
  FlagChange change;
  GError *error = NULL;
  int exit_status;
  GPid control, first;

  setup_maildir (NULL);
  control = control_start (NULL);
  first = 0;
  for (guint i = 0; i < 1000 && first == 0; i++, g_usleep (10000))
    first = pid ();
  ck_assert_int_gt (first, 0);
  store = open_store ();
  {
    Count count = { store, MESSAGES };

    ck_assert (wait_until (has_messages, &count));
  }

  /* Nothing to do for a second: it exits, and is shown idle, not
   * stopped or broken. */
  wait_state ("idle-exited");
  ck_assert (fixture_process_gone (first));
  ck_assert_int_eq (pid (), 0);
  row = control_find_instance (ID);
  ck_assert_uint_eq (g_variant_get_uint32 (g_variant_get_child_value (row, 2)),
                     CAIRN_AGENT_STATUS_IDLE);
  ck_assert (g_spawn_sync (NULL, (char **) status_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                           &shown, NULL, &exit_status, &error));
  ck_assert (g_spawn_check_wait_status (exit_status, NULL));
  ck_assert_msg (strstr (shown, ID) != NULL && strstr (shown, "idle-exited") != NULL &&
                 strstr (shown, "broken") == NULL && strstr (shown, "stopped") == NULL,
                 "%s", shown);

  /* A local change: the service follows the change log, starts it, and
   * the flag reaches the file. */
  items = list_messages (store);
  change = (FlagChange) { cairn_item_get_id (g_ptr_array_index (items, 0)), CAIRN_FLAG_SEEN,
                          TRUE };
  ck_assert (cairn_store_write_sync (store, change_flag, &change, NULL, NULL, &error));
  assert_no_error (error);
  ck_assert (wait_until (files_match_store, store));
  /* …and it exits again. */
  wait_state ("idle-exited");

  g_variant_unref (control_call ("Shutdown", NULL, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

START_TEST (test_due_sync_starts_it)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnTestMaildir) maildir = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autofree char *root = mail_root ();
  g_autofree char *name = NULL;
  Count count = { NULL, MESSAGES + 1 };
  GError *error = NULL;
  GPid control;

  /* Its sync falls due three seconds after it started. */
  setup_maildir ("sync-interval=3\n");
  control = start_until_idle_exited (&store);

  /* Mail delivered while it is not running is seen at the due sync. */
  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  message = cairn_test_maildir_build_message (8, 1);
  name = cairn_test_maildir_deliver (maildir, "INBOX", message, NULL, &error);
  assert_no_error (error);
  count.store = store;
  ck_assert (wait_until (has_messages, &count));
  wait_state ("idle-exited");

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

static gboolean
drop_rfc822 (CairnTransaction  *txn,
             gpointer           data,
             GError           **error)
{
  CairnItem *item = data;
  g_autoptr(CairnPart) missing = cairn_part_new_missing (CAIRN_PART_RFC822,
                                                         cairn_item_get_size (item));

  cairn_item_set_part (item, missing);
  return cairn_transaction_modify_item (txn, item, 0, error);
}

static void
fetched (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GTask *task = data;
  GError *error = NULL;
  CairnItem *item = cairn_store_fetch_item_finish (CAIRN_STORE (source), result, &error);

  if (item == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, item, g_object_unref);
}

static gboolean
task_done (gpointer data)
{
  return g_task_get_completed (data);
}

START_TEST (test_missing_part_and_sync_start_it)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnStore) as_resource = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) got = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GTask) task = NULL;
  g_autoptr(GVariant) reply = NULL;
  CairnPart *part;
  GError *error = NULL;
  GPid control;

  setup_maildir (NULL);
  control = start_until_idle_exited (&store);

  /* The cache lost a message's payload, as a cache policy drops it: a
   * write with the resource's own origin, which it has nothing to
   * replay of. */
  items = list_messages (store);
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  item = cairn_store_get_item (store, cairn_item_get_id (g_ptr_array_index (items, 0)), scope,
                               &error);
  assert_no_error (error);
  as_resource = open_store ();
  cairn_store_set_origin (as_resource, ID);
  ck_assert (cairn_store_write_sync (as_resource, drop_rfc822, item, NULL, NULL, &error));
  assert_no_error (error);
  g_usleep (500 * 1000);
  {
    g_autofree char *now = state ();

    ck_assert_str_eq (now, "idle-exited");
  }

  /* A client asks for it: the resource starts and retrieves it. */
  task = g_task_new (NULL, NULL, NULL, NULL);
  cairn_store_fetch_item_async (store, cairn_item_get_id (item), scope, NULL, fetched, task);
  ck_assert (wait_until (task_done, task));
  got = g_task_propagate_pointer (task, &error);
  assert_no_error (error);
  part = cairn_item_get_part (got, CAIRN_PART_RFC822);
  ck_assert_int_eq (cairn_part_get_storage (part), CAIRN_PART_STORAGE_FOREIGN);
  ck_assert (g_file_test (cairn_part_get_path (part), G_FILE_TEST_EXISTS));
  wait_state ("idle-exited");

  /* cairnctl sync goes through Synchronize: it starts it too and
   * returns once the sync is done. */
  reply = control_call ("Synchronize", g_variant_new ("(st)", ID, (guint64) 0), NULL, &error);
  assert_no_error (error);
  wait_state ("idle-exited");

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

/* The writer: BURST_WRITES flag changes on random messages, at random
 * intervals around the idle time, so that some commit while the
 * resource is exiting. */
static int
write_burst (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) store = cairn_store_open (path, NULL, &error);
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (19);

  if (store == NULL || (items = read_messages (store, &error)) == NULL || items->len == 0)
    {
      g_printerr ("writer: %s\n", error ? error->message : "no messages");
      return 1;
    }
  for (guint i = 0; i < BURST_WRITES; i++)
    {
      FlagChange change = {
        cairn_item_get_id (g_ptr_array_index (items, g_rand_int_range (rand, 0, items->len))),
        g_rand_boolean (rand) ? CAIRN_FLAG_SEEN : CAIRN_FLAG_FLAGGED,
        g_rand_boolean (rand),
      };

      if (!cairn_store_write_sync (store, change_flag, &change, NULL, NULL, &error))
        {
          g_printerr ("writer: %s\n", error->message);
          return 1;
        }
      g_usleep (g_rand_int_range (rand, 0, 4) == 0 ? g_rand_int_range (rand, 900, 1300) * 1000
                                                   : g_rand_int_range (rand, 0, 50) * 1000);
    }
  return 0;
}

START_TEST (test_burst_across_exits)
{
  g_autoptr(CairnStore) store = NULL;
  g_autofree char *path = store_path ();
  const char *argv[] = { self_path, "--write-burst", path, NULL };
  GError *error = NULL;
  int status;
  GPid control;

  setup_maildir (NULL);
  control = start_until_idle_exited (&store);

  ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                           &status, &error));
  assert_no_error (error);
  ck_assert (g_spawn_check_wait_status (status, NULL));

  /* Whatever it was doing when the writes came, every change reached
   * the files, and it is idle again. */
  ck_assert (wait_until (files_match_store, store));
  wait_state ("idle-exited");
  ck_assert (files_match_store (store));

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

int
main (int   argc,
      char *argv[])
{
  const CairnTestCase cases[] = {
    { "lifecycle", test_idle_exit_and_local_change },
    { "lifecycle", test_due_sync_starts_it },
    { "lifecycle", test_missing_part_and_sync_start_it },
    { "lifecycle", test_burst_across_exits },
  };

  if (argc == 3 && g_str_equal (argv[1], "--write-burst"))
    return write_burst (argv[2]);
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  return cairn_test_suite_run (cairn_test_suite_new ("lifecycle", cases, G_N_ELEMENTS (cases),
                                                     control_fixture_setup,
                                                     control_fixture_teardown, 120));
}
