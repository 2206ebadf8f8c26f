/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The change delivery path: commit notification across processes, the
 * monitor's scope, the observer callbacks, coalescing, and the change
 * recorder surviving SIGKILL. Writers and consumers in other processes
 * are this program run again with a mode argument (see main ()), so that
 * no child inherits GLib threads or a D-Bus connection through fork (). */
#define _GNU_SOURCE

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

#define MIME_MAIL "message/rfc822"
#define RESOURCE "maildir_0"
#define CRASH_ITEMS 10000
#define CRASH_KILLS 5
#define CRASH_SEED 4242

static CairnTestEnvironment *environment;
static const char *tmpdir;
static const char *db_path;
static CairnStore *store;
static GDBusConnection *connection;

/* An observer that writes one line per callback. */

#define TEST_TYPE_OBSERVER (test_observer_get_type ())
G_DECLARE_FINAL_TYPE (TestObserver, test_observer, TEST, OBSERVER, GObject)

struct _TestObserver
{
  GObject parent_instance;
  GPtrArray *lines;
};

static void test_observer_iface_init (CairnObserverInterface *iface);

G_DEFINE_TYPE_WITH_CODE (TestObserver, test_observer, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER, test_observer_iface_init))

static void
record (CairnMonitor *monitor,
        TestObserver *self,
        char         *line)
{
  g_ptr_array_add (self->lines, line);
  if (CAIRN_IS_CHANGE_RECORDER (monitor))
    cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
}

static char *
describe_item (CairnItem *item)
{
  CairnPart *part;
  GBytes *data;

  if (item == NULL)
    return g_strdup ("-");
  part = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  if (part == NULL)
    return g_strdup_printf ("%s", cairn_item_get_remote_id (item));
  data = cairn_part_get_data (part);
  return g_strdup_printf ("%s:%.*s", cairn_item_get_remote_id (item),
                          (int) g_bytes_get_size (data),
                          (const char *) g_bytes_get_data (data, NULL));
}

static char *
describe_ids (GPtrArray *changes)
{
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < changes->len; i++)
    g_string_append_printf (ids, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                            cairn_change_get_entity_id (g_ptr_array_index (changes, i)));
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static char *
describe_flags (const CairnFlags *flags)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    g_string_append_printf (text, "%s%s", i ? "," : "", cairn_flags_get_flag (flags, i));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
obs_item_added (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item)
{
  g_autofree char *text = describe_item (item);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("item-added %" G_GUINT64_FORMAT " in %"
                                                 G_GUINT64_FORMAT " %s",
                                                 cairn_change_get_entity_id (c),
                                                 cairn_change_get_collection_id (c), text));
}

static void
obs_item_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item,
                  const char * const *parts)
{
  g_autofree char *text = describe_item (item);
  g_autofree char *names = g_strjoinv (",", (char **) parts);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("item-changed %" G_GUINT64_FORMAT " [%s] %s",
                                                 cairn_change_get_entity_id (c), names, text));
}

static void
obs_items_flags_changed (CairnObserver *o, CairnMonitor *m, GPtrArray *changes,
                         const CairnFlags *added, const CairnFlags *removed)
{
  g_autofree char *ids = describe_ids (changes);
  g_autofree char *plus = describe_flags (added);
  g_autofree char *minus = describe_flags (removed);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("flags %s +%s -%s", ids, plus, minus));
}

static void
obs_item_moved (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item,
                guint64 source, guint64 destination)
{
  g_autofree char *text = describe_item (item);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("item-moved %" G_GUINT64_FORMAT " %"
                                                 G_GUINT64_FORMAT "->%" G_GUINT64_FORMAT " %s",
                                                 cairn_change_get_entity_id (c), source,
                                                 destination, text));
}

static void
obs_item_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("item-removed %" G_GUINT64_FORMAT " from %"
                                                 G_GUINT64_FORMAT " %s",
                                                 cairn_change_get_entity_id (c),
                                                 cairn_change_get_collection_id (c),
                                                 cairn_change_get_remote_id (c)));
}

static void
obs_items_added (CairnObserver *o, CairnMonitor *m, GPtrArray *changes, GPtrArray *items)
{
  g_autofree char *ids = describe_ids (changes);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("items-added %s", ids));
}

static void
obs_items_moved (CairnObserver *o, CairnMonitor *m, GPtrArray *changes, guint64 source,
                 guint64 destination)
{
  g_autofree char *ids = describe_ids (changes);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("items-moved %s %" G_GUINT64_FORMAT "->%"
                                                 G_GUINT64_FORMAT, ids, source, destination));
}

static void
obs_items_removed (CairnObserver *o, CairnMonitor *m, GPtrArray *changes)
{
  g_autofree char *ids = describe_ids (changes);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("items-removed %s", ids));
}

static void
obs_collection_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("collection-added %" G_GUINT64_FORMAT " in %"
                                                 G_GUINT64_FORMAT " %s",
                                                 cairn_change_get_entity_id (c),
                                                 cairn_change_get_collection_id (c),
                                                 cairn_change_get_remote_id (c)));
}

static void
obs_collection_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c,
                        const char * const *parts)
{
  g_autofree char *names = g_strjoinv (",", (char **) parts);

  record (m, TEST_OBSERVER (o), g_strdup_printf ("collection-changed %" G_GUINT64_FORMAT
                                                 " [%s]", cairn_change_get_entity_id (c),
                                                 names));
}

static void
obs_collection_moved (CairnObserver *o, CairnMonitor *m, CairnChange *c, guint64 source,
                      guint64 destination)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("collection-moved %" G_GUINT64_FORMAT " %"
                                                 G_GUINT64_FORMAT "->%" G_GUINT64_FORMAT,
                                                 cairn_change_get_entity_id (c), source,
                                                 destination));
}

static void
obs_collection_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("collection-removed %" G_GUINT64_FORMAT,
                                                 cairn_change_get_entity_id (c)));
}

static void
obs_tag (CairnMonitor *m, CairnObserver *o, const char *what, CairnChange *c)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("%s %" G_GUINT64_FORMAT " %s", what,
                                                 cairn_change_get_entity_id (c),
                                                 cairn_change_get_name (c)));
}

static void
obs_tag_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  obs_tag (m, o, "tag-added", c);
}

static void
obs_tag_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  obs_tag (m, o, "tag-changed", c);
}

static void
obs_tag_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  obs_tag (m, o, "tag-removed", c);
}

static void
obs_item_tags_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  record (m, TEST_OBSERVER (o),
          g_strdup_printf ("item-%s %" G_GUINT64_FORMAT " tag %" G_GUINT64_FORMAT,
                           cairn_change_get_operation (c) == CAIRN_CHANGE_TAG ? "tagged" : "untagged",
                           cairn_change_get_entity_id (c), cairn_change_get_related_id (c)));
}

static void
obs_relation (CairnMonitor *m, CairnObserver *o, const char *what, CairnChange *c)
{
  record (m, TEST_OBSERVER (o), g_strdup_printf ("%s %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                                                 " %s", what, cairn_change_get_entity_id (c),
                                                 cairn_change_get_related_id (c),
                                                 cairn_change_get_name (c)));
}

static void
obs_relation_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  obs_relation (m, o, "relation-added", c);
}

static void
obs_relation_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  obs_relation (m, o, "relation-removed", c);
}

static void
test_observer_iface_init (CairnObserverInterface *iface)
{
  iface->item_added = obs_item_added;
  iface->item_changed = obs_item_changed;
  iface->items_flags_changed = obs_items_flags_changed;
  iface->item_moved = obs_item_moved;
  iface->item_removed = obs_item_removed;
  iface->items_added = obs_items_added;
  iface->items_moved = obs_items_moved;
  iface->items_removed = obs_items_removed;
  iface->collection_added = obs_collection_added;
  iface->collection_changed = obs_collection_changed;
  iface->collection_moved = obs_collection_moved;
  iface->collection_removed = obs_collection_removed;
  iface->tag_added = obs_tag_added;
  iface->tag_changed = obs_tag_changed;
  iface->tag_removed = obs_tag_removed;
  iface->item_tags_changed = obs_item_tags_changed;
  iface->relation_added = obs_relation_added;
  iface->relation_removed = obs_relation_removed;
}

static void
test_observer_finalize (GObject *object)
{
  g_ptr_array_unref (TEST_OBSERVER (object)->lines);
  G_OBJECT_CLASS (test_observer_parent_class)->finalize (object);
}

static void
test_observer_class_init (TestObserverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_observer_finalize;
}

static void
test_observer_init (TestObserver *self)
{
  self->lines = g_ptr_array_new_with_free_func (g_free);
}

/* Fixtures */

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  tmpdir = cairn_test_environment_get_path (environment);
  db_path = cairn_test_environment_get_store_path (environment);
  store = cairn_store_open (db_path, NULL, &error);
  ck_assert_msg (store != NULL, "open: %s", error ? error->message : "");

  /* The environment's bus, which stopping it does not let end this process. */
  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  ck_assert_msg (connection != NULL, "bus: %s", error ? error->message : "");
}

static void
teardown (void)
{
  g_clear_object (&store);
  g_clear_object (&connection);
  g_clear_object (&environment);
  tmpdir = NULL;
  db_path = NULL;
}

static gboolean
timed_out (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @observer has @count lines, or fails after
 * @seconds. */
static void
wait_for_lines (TestObserver *observer,
                guint         count,
                guint         seconds)
{
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (seconds, timed_out, &expired);

  while (observer->lines->len < count && !expired)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_msg (!expired, "got %u callbacks of %u in %u s", observer->lines->len, count,
                 seconds);
  g_source_remove (timeout);
}

/* Runs the main loop for a while, to see that nothing more arrives. */
static void
settle (guint milliseconds)
{
  gboolean expired = FALSE;

  g_timeout_add (milliseconds, timed_out, &expired);
  while (!expired)
    g_main_context_iteration (NULL, TRUE);
}

static void
assert_lines (TestObserver        *observer,
              const char * const  *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < MIN (n, observer->lines->len); i++)
    ck_assert_str_eq (g_ptr_array_index (observer->lines, i), expected[i]);
  ck_assert_uint_eq (observer->lines->len, n);
}

/* Writes */

typedef gboolean (*WriteBlock) (CairnTransaction *txn, gpointer data, GError **error);

static void
write_with (CairnStore *target,
            WriteBlock  block,
            gpointer    data)
{
  GError *error = NULL;

  if (!cairn_store_write_sync (target, block, data, NULL, NULL, &error))
    g_error ("write: %s", error->message);
}

static gboolean
create_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_collection (txn, data, error);
}

static guint64
make_collection (CairnStore *target,
                 guint64     parent,
                 const char *remote_id)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, parent, remote_id);

  cairn_collection_set_remote_id (collection, remote_id);
  write_with (target, create_collection_block, collection);
  return cairn_collection_get_id (collection);
}

static gboolean
create_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_item (txn, data, error);
}

static CairnItem *
new_mail (guint64     collection_id,
          const char *remote_id,
          const char *envelope)
{
  CairnItem *item = cairn_item_new (MIME_MAIL);
  g_autoptr(GBytes) data = g_bytes_new (envelope, strlen (envelope));
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, data);

  cairn_item_set_collection_id (item, collection_id);
  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_part (item, part);
  return item;
}

static guint64
make_item (CairnStore *target,
           guint64     collection_id,
           const char *remote_id)
{
  g_autoptr(CairnItem) item = new_mail (collection_id, remote_id, "env");

  write_with (target, create_item_block, item);
  return cairn_item_get_id (item);
}

/* One write of the sequence that exercises every callback, by number. */
typedef struct
{
  guint step;
  CairnStore *store;
} Step;

static gboolean
step_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Step *step = data;

  switch (step->step)
    {
    case 0:
      {
        g_autoptr(CairnCollection) a = cairn_collection_new (RESOURCE, 0, "A");

        cairn_collection_set_remote_id (a, "A");
        return cairn_transaction_create_collection (txn, a, error);
      }
    case 1:
      {
        g_autoptr(CairnCollection) b = cairn_collection_new (RESOURCE, 1, "B");

        cairn_collection_set_remote_id (b, "B");
        return cairn_transaction_create_collection (txn, b, error);
      }
    case 2:
      {
        g_autoptr(CairnCollection) b = cairn_store_get_collection (step->store, 2, error);

        cairn_collection_set_name (b, "Bee");
        return b != NULL && cairn_transaction_modify_collection (txn, b, 0, error);
      }
    case 3:
      return cairn_transaction_move_collection (txn, 2, 0, error);
    case 4:
      {
        g_autoptr(CairnItem) x = new_mail (1, "x", "first");

        return cairn_transaction_create_item (txn, x, error);
      }
    case 5:
      {
        g_autoptr(CairnItem) x = cairn_store_get_item (step->store, 1, NULL, error);
        g_autoptr(GBytes) data = g_bytes_new_static ("second", 6);
        g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, data);

        cairn_item_set_part (x, part);
        return x != NULL && cairn_transaction_modify_item (txn, x, 0, error);
      }
    case 6:
      {
        g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

        cairn_flags_delta_add (delta, "\\Seen");
        return cairn_transaction_change_flags (txn, 1, delta, 0, error);
      }
    case 7:
      return cairn_transaction_move_item (txn, 1, 2, error);
    case 8:
      {
        g_autoptr(CairnTag) tag = cairn_tag_new ("urgent", "Urgent");

        return cairn_transaction_create_tag (txn, tag, error);
      }
    case 9:
      {
        g_autoptr(CairnTag) tag = cairn_store_get_tag (step->store, 1, error);

        cairn_tag_set_name (tag, "Very urgent");
        return tag != NULL && cairn_transaction_modify_tag (txn, tag, error);
      }
    case 10:
      return cairn_transaction_tag_item (txn, 1, 1, error);
    case 11:
      {
        g_autoptr(CairnItem) y = new_mail (1, "y", "why");

        return cairn_transaction_create_item (txn, y, error);
      }
    case 12:
    case 13:
      {
        g_autoptr(CairnRelation) relation = cairn_relation_new (1, 2, "REPLY");

        return step->step == 12 ? cairn_transaction_add_relation (txn, relation, error) :
                                  cairn_transaction_remove_relation (txn, relation, error);
      }
    case 14:
      return cairn_transaction_untag_item (txn, 1, 1, error);
    case 15:
      return cairn_transaction_delete_tag (txn, 1, error);
    case 16:
      return cairn_transaction_delete_item (txn, 1, error);
    case 17:
      return cairn_transaction_delete_collection (txn, 2, error);
    default:
      g_assert_not_reached ();
    }
}

static const char * const all_kinds_lines[] = {
  "collection-added 1 in 0 A",
  "collection-added 2 in 1 B",
  "collection-changed 2 [NAME]",
  "collection-moved 2 1->0",
  "item-added 1 in 1 x:first",
  "item-changed 1 [ENVELOPE] x:second",
  "flags 1 +\\Seen -",
  "item-moved 1 1->2 x:second",
  "tag-added 1 urgent",
  "tag-changed 1 urgent",
  "item-tagged 1 tag 1",
  "item-added 2 in 1 y:why",
  "relation-added 1-2 REPLY",
  "relation-removed 1-2 REPLY",
  "item-untagged 1 tag 1",
  "tag-removed 1 urgent",
  "item-removed 1 from 2 x",
  "collection-removed 2",
  NULL
};

/* Child processes */

static char *
self_path (void)
{
  return g_file_read_link ("/proc/self/exe", NULL);
}

static GPid
spawn_self_with_environment (const char * const *args,
                             char              **envp,
                             int                *stdin_fd)
{
  g_autofree char *path = self_path ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  GError *error = NULL;
  GPid pid;

  g_strv_builder_add (builder, path);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);
  ck_assert_msg (g_spawn_async_with_pipes (NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                           NULL, &pid, stdin_fd, NULL, NULL, &error),
                 "spawn: %s", error ? error->message : "");
  return pid;
}

static GPid
spawn_self (const char * const *args,
            int                *stdin_fd)
{
  return spawn_self_with_environment (args, NULL, stdin_fd);
}

static void
assert_child_ok (GPid pid)
{
  int status = 0;

  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0,
                 "child %d failed with status %d", (int) pid, status);
}

/* Child: runs the steps, each after reading one byte from stdin. */
static int
run_steps (const char *path)
{
  g_autoptr(CairnStore) own = cairn_store_open (path, NULL, NULL);
  char byte;

  if (own == NULL)
    return 2;
  for (guint i = 0; all_kinds_lines[i] != NULL; i++)
    {
      Step step = { i, own };

      if (read (STDIN_FILENO, &byte, 1) != 1)
        return 3;
      write_with (own, step_block, &step);
    }

  return 0;
}

/* Child: writes items and a tag; the scope test filters them. */
static int
run_scoped_writes (const char *path)
{
  g_autoptr(CairnStore) own = cairn_store_open (path, NULL, NULL);
  g_autoptr(CairnTag) tag = cairn_tag_new ("t", "T");
  g_autoptr(CairnCollection) other = cairn_collection_new ("imap_0", 0, "Other");

  if (own == NULL)
    return 2;
  write_with (own, create_collection_block, other);
  make_item (own, 1, "in-one");
  make_item (own, cairn_collection_get_id (other), "in-other");
  write_with (own, (WriteBlock) cairn_transaction_create_tag, tag);
  make_item (own, 1, "in-one-again");
  return 0;
}

/* Callback kinds across processes */

START_TEST (test_every_callback_kind)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  const char *args[] = { "steps", db_path, NULL };
  GError *error = NULL;
  int input;
  GPid child;

  monitor = cairn_monitor_new (store, &error);
  assert_no_error (error);
  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  cairn_monitor_set_fetch_scope (monitor, scope);
  cairn_monitor_set_observer (monitor, CAIRN_OBSERVER (observer));

  child = spawn_self (args, &input);
  /* One write at a time, so that nothing is coalesced. */
  for (guint i = 0; all_kinds_lines[i] != NULL; i++)
    {
      ck_assert_int_eq (write (input, "!", 1), 1);
      wait_for_lines (observer, i + 1, 20);
      ck_assert_str_eq (g_ptr_array_index (observer->lines, i), all_kinds_lines[i]);
    }
  close (input);
  assert_child_ok (child);
  settle (100);
  assert_lines (observer, all_kinds_lines);
}
END_TEST

/* A writer that is not on the session bus sends no Committed signal: the
 * monitor sees its commits through the write-ahead log. */
START_TEST (test_commit_off_bus)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  g_auto(GStrv) environment_off_bus = g_environ_unsetenv (g_get_environ (),
                                                          "DBUS_SESSION_BUS_ADDRESS");
  const char *args[] = { "scoped", db_path, NULL };
  const char * const expected[] = {
    "item-added 1 in 1 -",
    "item-added 2 in 2 -",
    "item-added 3 in 1 -",
    NULL
  };
  GError *error = NULL;

  make_collection (store, 0, "INBOX");
  monitor = cairn_monitor_new (store, &error);
  assert_no_error (error);
  cairn_monitor_add_entity_kind (monitor, CAIRN_ENTITY_ITEM);
  cairn_monitor_set_observer (monitor, CAIRN_OBSERVER (observer));
  settle (100);

  assert_child_ok (spawn_self_with_environment (args, environment_off_bus, NULL));
  wait_for_lines (observer, 3, 10);
  settle (100);
  assert_lines (observer, expected);
}
END_TEST

static void
count_signal (CairnMonitor *monitor,
              CairnChange  *change,
              guint        *count)
{
  (*count)++;
}

START_TEST (test_signals_without_observer)
{
  g_autoptr(CairnMonitor) monitor = NULL;
  GError *error = NULL;
  guint collections = 0, items = 0;
  guint64 inbox;

  monitor = cairn_monitor_new (store, &error);
  assert_no_error (error);
  g_signal_connect (monitor, "collection-added", G_CALLBACK (count_signal), &collections);
  g_signal_connect (monitor, "item-removed", G_CALLBACK (count_signal), &items);

  /* In-process writes notify the monitor at once, bus or not. */
  inbox = make_collection (store, 0, "INBOX");
  while (collections == 0)
    g_main_context_iteration (NULL, TRUE);
  make_item (store, inbox, "a");
  {
    g_autoptr(CairnItem) gone = NULL;
    guint64 id = make_item (store, inbox, "b");

    write_with (store, (WriteBlock) cairn_transaction_delete_item, GSIZE_TO_POINTER (id));
    gone = cairn_store_get_item (store, id, NULL, NULL);
    ck_assert_ptr_null (gone);
  }
  settle (200);
  ck_assert_uint_eq (collections, 1);
  /* Added and removed before the monitor read them: nothing. */
  ck_assert_uint_eq (items, 0);
  ck_assert_uint_gt (cairn_monitor_get_revision (monitor), 1);
}
END_TEST

START_TEST (test_scope)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  const char *args[] = { "scoped", db_path, NULL };
  const char * const expected[] = {
    "item-added 1 in 1 -",
    "item-added 3 in 1 -",
    NULL
  };

  make_collection (store, 0, "INBOX");
  monitor = cairn_monitor_new (store, NULL);
  cairn_monitor_add_collection (monitor, 1);
  cairn_monitor_add_entity_kind (monitor, CAIRN_ENTITY_ITEM);
  cairn_monitor_set_observer (CAIRN_MONITOR (monitor), CAIRN_OBSERVER (observer));

  assert_child_ok (spawn_self (args, NULL));
  wait_for_lines (observer, 2, 20);
  settle (200);
  assert_lines (observer, expected);
}
END_TEST

START_TEST (test_scope_by_resource_and_mime_type)
{
  g_autoptr(TestObserver) by_resource = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(TestObserver) by_type = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) resource_monitor = cairn_monitor_new (store, NULL);
  g_autoptr(CairnMonitor) type_monitor = cairn_monitor_new (store, NULL);
  g_autoptr(CairnItem) event = cairn_item_new ("text/calendar");
  const char * const resource_lines[] = {
    "collection-added 1 in 0 INBOX",
    "item-added 1 in 1 -",
    "item-added 2 in 1 -",
    NULL
  };
  const char * const type_lines[] = { "item-added 1 in 1 -", NULL };
  guint64 inbox;

  cairn_monitor_add_resource (resource_monitor, RESOURCE);
  cairn_monitor_set_observer (resource_monitor, CAIRN_OBSERVER (by_resource));
  cairn_monitor_add_mime_type (type_monitor, MIME_MAIL);
  cairn_monitor_set_observer (type_monitor, CAIRN_OBSERVER (by_type));

  inbox = make_collection (store, 0, "INBOX");
  make_item (store, inbox, "mail");
  cairn_item_set_collection_id (event, inbox);
  write_with (store, create_item_block, event);
  wait_for_lines (by_resource, 3, 20);
  settle (200);
  assert_lines (by_resource, resource_lines);
  assert_lines (by_type, type_lines);
}
END_TEST

START_TEST (test_ignore_own_origin)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(TestObserver) everything = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  g_autoptr(CairnMonitor) all = NULL;
  const char *args[] = { "scoped", db_path, NULL };

  make_collection (store, 0, "INBOX");
  cairn_store_set_origin (store, RESOURCE);
  monitor = cairn_monitor_new (store, NULL);
  cairn_monitor_set_ignore_own_origin (monitor, TRUE);
  cairn_monitor_add_entity_kind (monitor, CAIRN_ENTITY_ITEM);
  cairn_monitor_set_observer (monitor, CAIRN_OBSERVER (observer));
  all = cairn_monitor_new (store, NULL);
  cairn_monitor_add_entity_kind (all, CAIRN_ENTITY_ITEM);
  cairn_monitor_set_observer (all, CAIRN_OBSERVER (everything));

  /* Our own sync write comes first in the log; the other process's
   * writes after it. */
  make_item (store, 1, "own");
  assert_child_ok (spawn_self (args, NULL));
  wait_for_lines (observer, 3, 20);
  wait_for_lines (everything, 4, 20);
  settle (200);
  ck_assert_uint_eq (observer->lines->len, 3);
  ck_assert_str_eq (g_ptr_array_index (everything->lines, 0), "item-added 1 in 1 -");
  ck_assert_str_eq (g_ptr_array_index (observer->lines, 0), "item-added 2 in 1 -");
}
END_TEST

/* Coalescing: a recorder created before the writes sees them all in one
 * page. */

/* Coalescing works on one page of the log: the recorder is registered,
 * the writes are made while it is stopped, and it then reads them all at
 * once, ended by a marker collection. */

typedef struct
{
  CairnChangeRecorder *recorder;
  TestObserver *observer;
} Recorded;

static void
start_recorder (Recorded *recorded)
{
  GError *error = NULL;

  recorded->recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  g_clear_object (&recorded->recorder);
}

static void
finish_recorder (Recorded           *recorded,
                 const char * const *expected)
{
  guint n = g_strv_length ((char **) expected);
  GError *error = NULL;

  make_collection (store, 0, "END");
  recorded->recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  recorded->observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorded->recorder),
                              CAIRN_OBSERVER (recorded->observer));
  wait_for_lines (recorded->observer, n, 20);
  settle (100);
  assert_lines (recorded->observer, expected);
  g_clear_object (&recorded->recorder);
  g_clear_object (&recorded->observer);
}

typedef struct
{
  guint64 id;
  guint64 other;
  CairnFlagsDelta *delta;
} Edit;

static gboolean
flags_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Edit *edit = data;

  return cairn_transaction_change_flags (txn, edit->id, edit->delta, 0, error);
}

static void
change_flags (guint64     item,
              const char *added,
              const char *removed)
{
  const char *add[] = { added, NULL };
  const char *remove[] = { removed, NULL };
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new_from_strv (added ? add : NULL,
                                                                      removed ? remove : NULL);
  Edit edit = { item, 0, delta };

  write_with (store, flags_block, &edit);
}

static gboolean
move_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Edit *edit = data;

  return cairn_transaction_move_item (txn, edit->id, edit->other, error);
}

static void
move_item (guint64 item,
           guint64 destination)
{
  Edit edit = { item, destination, NULL };

  write_with (store, move_block, &edit);
}

static gboolean
delete_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_delete_item (txn, *(guint64 *) data, error);
}

static void
delete_item (guint64 item)
{
  write_with (store, delete_block, &item);
}

static gboolean
move_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Edit *edit = data;

  return cairn_transaction_move_collection (txn, edit->id, edit->other, error);
}

static void
move_collection (guint64 collection,
                 guint64 parent)
{
  Edit edit = { collection, parent, NULL };

  write_with (store, move_collection_block, &edit);
}

static gboolean
rename_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnCollection) collection = cairn_store_get_collection (store, *(guint64 *) data,
                                                                      error);
  g_autofree char *name = NULL;

  if (collection == NULL)
    return FALSE;
  name = g_strconcat (cairn_collection_get_name (collection), "'", NULL);
  cairn_collection_set_name (collection, name);
  return cairn_transaction_modify_collection (txn, collection, 0, error);
}

static void
rename_collection (guint64 collection)
{
  write_with (store, rename_collection_block, &collection);
}

static gboolean
delete_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_delete_collection (txn, *(guint64 *) data, error);
}

static void
delete_collection (guint64 collection)
{
  write_with (store, delete_collection_block, &collection);
}

static gboolean
modify_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_modify_item (txn, data, 0, error);
}

static void
set_part (guint64     item_id,
          const char *name,
          const char *text)
{
  g_autoptr(CairnItem) item = cairn_store_get_item (store, item_id, NULL, NULL);
  g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));
  g_autoptr(CairnPart) part = cairn_part_new_inline (name, data);

  cairn_item_set_part (item, part);
  write_with (store, modify_block, item);
}

static gboolean
tag_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Edit *edit = data;

  if (edit->other == 0)
    {
      g_autoptr(CairnTag) tag = cairn_tag_new ("t", "T");

      return cairn_transaction_create_tag (txn, tag, error);
    }
  return edit->delta != NULL ? cairn_transaction_tag_item (txn, edit->id, edit->other, error) :
                               cairn_transaction_untag_item (txn, edit->id, edit->other, error);
}

static gboolean
relation_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Edit *edit = data;
  g_autoptr(CairnRelation) relation = cairn_relation_new (edit->id, edit->other, "REPLY");

  return edit->delta != NULL ? cairn_transaction_add_relation (txn, relation, error) :
                               cairn_transaction_remove_relation (txn, relation, error);
}

START_TEST (test_coalesce_add_modify)
{
  Recorded recorded;
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 id;
  const char * const expected[] = {
    "item-added 1 in 1 -",
    "collection-added 2 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  id = make_item (store, inbox, "x");
  set_part (id, CAIRN_PART_RFC822, "body");
  change_flags (id, "\\Seen", NULL);
  finish_recorder (&recorded, expected);
}
END_TEST

START_TEST (test_coalesce_add_remove)
{
  Recorded recorded;
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 gone, kept;
  const char * const expected[] = {
    "item-added 2 in 1 -",
    "collection-added 2 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  gone = make_item (store, inbox, "gone");
  kept = make_item (store, inbox, "kept");
  set_part (gone, CAIRN_PART_RFC822, "body");
  delete_item (gone);
  ck_assert_uint_eq (kept, 2);
  finish_recorder (&recorded, expected);
}
END_TEST

START_TEST (test_coalesce_modifies)
{
  Recorded recorded;
  guint64 id = make_item (store, make_collection (store, 0, "INBOX"), "x");
  const char * const expected[] = {
    "item-changed 1 [RFC822,HEAD] -",
    "collection-added 2 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  set_part (id, CAIRN_PART_RFC822, "one");
  set_part (id, "HEAD", "two");
  set_part (id, CAIRN_PART_RFC822, "three");
  finish_recorder (&recorded, expected);
}
END_TEST

START_TEST (test_coalesce_flags_cancel)
{
  Recorded recorded;
  guint64 id = make_item (store, make_collection (store, 0, "INBOX"), "x");
  const char * const expected[] = {
    "flags 1 +\\Flagged -\\Draft",
    "collection-added 2 in 0 END",
    NULL
  };

  change_flags (id, "\\Draft", NULL);
  start_recorder (&recorded);
  change_flags (id, "\\Seen", NULL);
  change_flags (id, "\\Flagged", NULL);
  change_flags (id, NULL, "\\Seen");
  change_flags (id, NULL, "\\Draft");
  finish_recorder (&recorded, expected);
}
END_TEST

START_TEST (test_coalesce_moves_chain)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 c = make_collection (store, 0, "C");
  guint64 chained = make_item (store, a, "chained");
  guint64 back = make_item (store, a, "back");
  const char * const expected[] = {
    "item-moved 1 1->3 -",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_item (chained, b);
  move_item (back, b);
  move_item (chained, c);
  move_item (back, a);
  finish_recorder (&recorded, expected);
}
END_TEST

/* An add does not absorb a move into a collection created after it: the
 * item would be created before its folder. */
START_TEST (test_coalesce_add_then_move_to_newer)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 older = make_collection (store, 0, "OLDER");
  guint64 x, y, newer;
  const char * const expected[] = {
    "item-added 1 in 1 -",
    "item-added 2 in 2 -",
    "collection-added 3 in 0 NEWER",
    "item-moved 1 1->3 -",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  x = make_item (store, a, "x");
  y = make_item (store, a, "y");
  move_item (y, older);
  newer = make_collection (store, 0, "NEWER");
  move_item (x, newer);
  finish_recorder (&recorded, expected);
}
END_TEST

/* A move into a collection created after the item's earlier move does
 * not chain with it: each is delivered in its place. */
START_TEST (test_coalesce_moves_into_newer)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 x = make_item (store, a, "x");
  guint64 newer;
  const char * const expected[] = {
    "item-moved 1 1->2 -",
    "collection-added 3 in 0 NEWER",
    "item-moved 1 2->3 -",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_item (x, b);
  newer = make_collection (store, 0, "NEWER");
  move_item (x, newer);
  finish_recorder (&recorded, expected);
}
END_TEST

/* Seed 53 of the maildir replay test: the same with a collection created
 * and removed while pending as the first destination. The item is moved
 * into it and out again, so it must be created and removed in its place:
 * dropped as a collection that never reached the backend, it left the
 * item's moves nowhere to go. */
START_TEST (test_coalesce_moves_through_removed_collection)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 x = make_item (store, a, "x");
  guint64 b, newer;
  const char * const expected[] = {
    "collection-added 2 in 0 B",
    "item-moved 1 1->2 -",
    "collection-added 3 in 0 NEWER",
    "item-moved 1 2->3 -",
    "collection-removed 2",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  b = make_collection (store, 0, "B");
  move_item (x, b);
  newer = make_collection (store, 0, "NEWER");
  move_item (x, newer);
  delete_collection (b);
  finish_recorder (&recorded, expected);
}
END_TEST

/* A collection created and removed while pending, whose changes made in
 * it left nothing (the item moved through it is removed), is not
 * delivered, nor is its parent, created and removed with it. */
START_TEST (test_coalesce_collection_add_remove)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 x = make_item (store, a, "x");
  guint64 b, child;
  const char * const expected[] = {
    "collection-added 4 in 0 D",
    "item-removed 1 from 1 x",
    "collection-added 5 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  b = make_collection (store, 0, "B");
  child = make_collection (store, b, "C");
  move_item (x, child);
  move_item (x, make_collection (store, 0, "D"));
  delete_item (x);
  delete_collection (b);
  finish_recorder (&recorded, expected);
}
END_TEST

/* The first move must come before the removal of its source, which
 * takes what the backend has there: one move after both, from the
 * removed source, would find nothing to move. */
START_TEST (test_coalesce_moves_around_source_removal)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 x = make_item (store, a, "x");
  guint64 newer;
  const char * const expected[] = {
    "item-moved 1 1->2 -",
    "collection-added 3 in 0 NEWER",
    "collection-removed 1",
    "item-moved 1 2->3 -",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_item (x, b);
  newer = make_collection (store, 0, "NEWER");
  delete_collection (a);
  move_item (x, newer);
  finish_recorder (&recorded, expected);
}
END_TEST

/* The same for a collection moved out of its parent before the parent's
 * removal, then into a collection created meanwhile. */
START_TEST (test_coalesce_collection_moves_around_parent_removal)
{
  Recorded recorded;
  guint64 parent = make_collection (store, 0, "P");
  guint64 child = make_collection (store, parent, "C");
  guint64 newer;
  const char * const expected[] = {
    "collection-moved 2 1->0",
    "collection-added 3 in 0 NEWER",
    "collection-removed 1",
    "collection-moved 2 0->3",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_collection (child, 0);
  newer = make_collection (store, 0, "NEWER");
  delete_collection (parent);
  move_collection (child, newer);
  finish_recorder (&recorded, expected);
}
END_TEST

/* A collection moved out of its parent and removed later still moves
 * first: the parent's removal, which comes between, takes what the
 * backend has in it, and in the backend the collection is there until
 * its move, with an item that was moved out of it before its removal.
 * The replay test found the item lost so (maildir, seed 314). */
START_TEST (test_coalesce_collection_move_before_removal)
{
  Recorded recorded;
  guint64 parent = make_collection (store, 0, "P");
  guint64 child = make_collection (store, parent, "C");
  guint64 other = make_collection (store, 0, "O");
  guint64 x = make_item (store, child, "x");
  const char * const expected[] = {
    "collection-moved 2 1->0",
    "collection-removed 1",
    "item-moved 1 2->3 -",
    "collection-removed 2",
    "collection-added 4 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_collection (child, 0);
  delete_collection (parent);
  move_item (x, other);
  delete_collection (child);
  finish_recorder (&recorded, expected);
}
END_TEST

/* A collection's changes carry its parent and name of their time, where a
 * resource puts it: a rename is not taken into an earlier one across a
 * move, nor a move into an earlier one across a rename. Either would be
 * delivered with the later state, and the change between would take the
 * collection back. */
START_TEST (test_coalesce_collection_rename_move_rename)
{
  Recorded recorded;
  guint64 parent = make_collection (store, 0, "P");
  guint64 child = make_collection (store, parent, "C");
  const char * const expected[] = {
    "collection-changed 2 [NAME]",
    "collection-moved 2 1->0",
    "collection-changed 2 [NAME]",
    "collection-moved 2 0->1",
    "collection-changed 2 [NAME]",
    "collection-added 3 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  rename_collection (child);
  move_collection (child, 0);
  rename_collection (child);
  move_collection (child, parent);
  rename_collection (child);
  finish_recorder (&recorded, expected);
}
END_TEST

START_TEST (test_coalesce_remove_after_move)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 id = make_item (store, a, "x");
  const char * const expected[] = {
    "item-removed 1 from 1 x",
    "collection-added 3 in 0 END",
    NULL
  };

  start_recorder (&recorded);
  move_item (id, b);
  change_flags (id, "\\Seen", NULL);
  delete_item (id);
  finish_recorder (&recorded, expected);
}
END_TEST

static void
on_item_changed_remote_id (CairnMonitor *monitor, CairnChange *change, CairnItem *item,
                           const char * const *parts, TestObserver *observer)
{
  g_ptr_array_add (observer->lines,
                   g_strdup_printf ("changed in %" G_GUINT64_FORMAT " %s",
                                    cairn_change_get_collection_id (change),
                                    cairn_change_get_remote_id (change)));
}

static void
on_item_moved_remote_id (CairnMonitor *monitor, CairnChange *change, CairnItem *item,
                         guint64 source, guint64 destination, TestObserver *observer)
{
  g_ptr_array_add (observer->lines,
                   g_strdup_printf ("moved %" G_GUINT64_FORMAT "->%" G_GUINT64_FORMAT " %s",
                                    source, destination, cairn_change_get_remote_id (change)));
}

/* A recorder of the changes made since start_recorder() must deliver
 * the changes and moves @expected ("changed in COLLECTION REMOTE-ID",
 * "moved SOURCE->DESTINATION REMOTE-ID"), in order. */
static void
assert_delivered_remote_ids (const char * const *expected)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(TestObserver) processing = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  GError *error = NULL;

  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  g_signal_connect (recorder, "item-changed", G_CALLBACK (on_item_changed_remote_id), observer);
  g_signal_connect (recorder, "item-moved", G_CALLBACK (on_item_moved_remote_id), observer);
  /* A recorder goes on once its observer has processed a change. */
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (processing));
  wait_for_lines (observer, g_strv_length ((char **) expected), 20);
  settle (100);
  assert_lines (observer, expected);
}

/* Modifies merged across a move of their item are replayed where the
 * first one was, before the move, so with the remote id the item had
 * there; the last one has none when the item moved onto a name that
 * another item of the destination has. */
START_TEST (test_coalesce_modifies_around_move)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 id = make_item (store, a, "x");
  const char * const expected[] = {
    "changed in 1 x",
    "moved 1->2 x",
    NULL
  };

  make_item (store, b, "x");
  start_recorder (&recorded);
  set_part (id, CAIRN_PART_RFC822, "one");
  move_item (id, b);
  set_part (id, CAIRN_PART_RFC822, "two");
  assert_delivered_remote_ids (expected);
}
END_TEST

/* Changes made between two moves that chain are delivered after the
 * chained move, so in the collection where it ends; when the moves come
 * back, where the item was and the backend still has it. The replay
 * test found an IMAP edit between a move and its way back named in the
 * folder of its time: the UID the resource reported for the folder the
 * message was in was taken as a name in the other one, and dropped. */
START_TEST (test_coalesce_changes_between_chained_moves)
{
  Recorded recorded;
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 c = make_collection (store, 0, "C");
  guint64 back = make_item (store, a, "back");
  guint64 on = make_item (store, a, "on");
  const char * const expected[] = {
    "moved 1->3 on",
    "changed in 1 back",
    "changed in 3 on",
    NULL
  };

  start_recorder (&recorded);
  move_item (back, b);
  move_item (on, b);
  set_part (back, CAIRN_PART_RFC822, "edited in B");
  set_part (on, CAIRN_PART_RFC822, "edited in B");
  move_item (back, a);
  move_item (on, c);
  assert_delivered_remote_ids (expected);
}
END_TEST

START_TEST (test_coalesce_tags_and_relations)
{
  Recorded recorded;
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 x = make_item (store, inbox, "x");
  guint64 y = make_item (store, inbox, "y");
  Edit create_tag = { 0, 0, NULL };
  Edit tag = { x, 1, (CairnFlagsDelta *) &tag };
  Edit untag = { x, 1, NULL };
  Edit relate = { x, y, (CairnFlagsDelta *) &relate };
  Edit unrelate = { x, y, NULL };
  const char * const expected[] = {
    "collection-added 2 in 0 END",
    NULL
  };

  write_with (store, tag_block, &create_tag);
  start_recorder (&recorded);
  write_with (store, tag_block, &tag);
  write_with (store, relation_block, &relate);
  write_with (store, tag_block, &untag);
  write_with (store, relation_block, &unrelate);
  finish_recorder (&recorded, expected);
}
END_TEST

/* Coalescing spans everything pending, not one page: an item created
 * before 1,500 other adds and removed after them is never delivered. */
static void
add_items (guint64     collection,
           const char *prefix,
           guint       count)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < count; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%s%u", prefix, i);

      g_ptr_array_add (items, new_mail (collection, remote_id, "e"));
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, NULL));
}

START_TEST (test_coalesce_whole_range)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 gone;
  GError *error = NULL;

  recorder = cairn_change_recorder_new (store, "range", &error);
  assert_no_error (error);
  g_clear_object (&recorder);
  gone = make_item (store, inbox, "gone");
  add_items (inbox, "", 1500);
  delete_item (gone);

  recorder = cairn_change_recorder_new (store, "range", &error);
  assert_no_error (error);
  cairn_monitor_set_batch (CAIRN_MONITOR (recorder), TRUE);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 2, 20);
  settle (100);
  ck_assert_uint_eq (observer->lines->len, 2);
  ck_assert (g_str_has_prefix (g_ptr_array_index (observer->lines, 0), "items-added 2,3,"));
  ck_assert (g_str_has_suffix (g_ptr_array_index (observer->lines, 1), ",1501"));
}
END_TEST

static void
expect_items_added (GPtrArray *expected,
                    guint64    first,
                    guint      count,
                    guint64    collection)
{
  for (guint64 id = first; id < first + count; id++)
    g_ptr_array_add (expected, g_strdup_printf ("item-added %" G_GUINT64_FORMAT " in %"
                                                G_GUINT64_FORMAT " -", id, collection));
}

/* A backlog longer than a chunk is read a chunk at a time, and coalesces
 * as one range: an entity's changes far apart are delivered as one, a
 * move into a collection created after the item stays after that
 * creation, and a recorder stopped in a later chunk resumes there. */
START_TEST (test_coalesce_across_chunks)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  guint64 a = make_collection (store, 0, "A");
  guint64 x, y, gone, newer, pending = 0;
  GError *error = NULL;
  guint first_part;

  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  g_clear_object (&recorder);

  x = make_item (store, a, "x");
  y = make_item (store, a, "y");
  add_items (a, "b", 700);
  newer = make_collection (store, 0, "NEWER");
  add_items (a, "c", 700);
  set_part (x, CAIRN_PART_ENVELOPE, "late");
  move_item (y, newer);
  gone = make_item (store, a, "gone");
  add_items (a, "d", 700);
  delete_item (gone);

  expect_items_added (expected, x, 2, a);
  expect_items_added (expected, y + 1, 700, a);
  g_ptr_array_add (expected, g_strdup_printf ("collection-added %" G_GUINT64_FORMAT " in 0 NEWER",
                                              newer));
  expect_items_added (expected, y + 701, 700, a);
  g_ptr_array_add (expected, g_strdup_printf ("item-moved %" G_GUINT64_FORMAT " %"
                                              G_GUINT64_FORMAT "->%" G_GUINT64_FORMAT " -",
                                              y, a, newer));
  expect_items_added (expected, gone + 1, 700, a);
  g_ptr_array_add (expected, NULL);

  /* Stopped in the middle of the second chunk... */
  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 1500, 20);
  g_clear_object (&recorder);
  first_part = observer->lines->len;
  ck_assert_uint_lt (first_part, expected->len - 1);

  /* ...it goes on with the next change, and counts what is left. */
  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, &error));
  assert_no_error (error);
  ck_assert_uint_ge (pending, expected->len - 1 - first_part);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, expected->len - 1, 20);
  settle (100);
  assert_lines (observer, (const char * const *) expected->pdata);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, &error));
  ck_assert_uint_eq (pending, 0);
}
END_TEST

static void
record_item_state (CairnMonitor *monitor,
                   const char   *what,
                   CairnChange  *change,
                   TestObserver *observer)
{
  CairnItem *item = cairn_change_get_item (change);
  g_autofree char *flags = describe_flags (cairn_item_get_flags (item));
  g_autofree char *text = NULL;
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);

  if (part != NULL)
    text = g_strndup (g_bytes_get_data (cairn_part_get_data (part), NULL),
                      g_bytes_get_size (cairn_part_get_data (part)));
  g_ptr_array_add (observer->lines,
                   g_strdup_printf ("%s in %" G_GUINT64_FORMAT " [%s] %s", what,
                                    cairn_item_get_collection_id (item), flags,
                                    text ? text : "-"));
}

static void
on_item_changed_state (CairnMonitor *monitor, CairnChange *change, CairnItem *item,
                       const char * const *parts, TestObserver *observer)
{
  ck_assert_ptr_eq (item, cairn_change_get_item (change));
  record_item_state (monitor, "changed", change, observer);
}

static void
on_item_moved_state (CairnMonitor *monitor, CairnChange *change, CairnItem *item,
                     guint64 source, guint64 destination, TestObserver *observer)
{
  record_item_state (monitor, "moved", change, observer);
}

static void
on_flags_state (CairnMonitor *monitor, GPtrArray *changes, const CairnFlags *added,
                const CairnFlags *removed, TestObserver *observer)
{
  record_item_state (monitor, "flags", g_ptr_array_index (changes, 0), observer);
}

typedef struct
{
  CairnItem *item;
  guint64 destination;
} EditAndMove;

static gboolean
edit_and_move_block (CairnTransaction *txn, gpointer data, GError **error)
{
  EditAndMove *edit = data;

  return cairn_transaction_modify_item (txn, edit->item, 0, error) &&
         cairn_transaction_move_item (txn, cairn_item_get_id (edit->item), edit->destination,
                                      error);
}

/* Each change comes with its item as it was at that change: an edit made
 * before a move is delivered in the source, flags set between two moves
 * travel with the moved item, and the last change sees the final item. */
START_TEST (test_item_as_at_change)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  guint64 c = make_collection (store, 0, "C");
  guint64 id = make_item (store, a, "x");
  g_autoptr(GBytes) body = g_bytes_new_static ("edited", 6);
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, body);
  g_autoptr(CairnItem) item = cairn_store_get_item (store, id, NULL, NULL);
  EditAndMove edit = { item, b };
  g_autoptr(CairnStore) other = cairn_store_open (db_path, NULL, NULL);
  GError *error = NULL;
  const char * const expected[] = {
    "changed in 1 [] edited",
    "moved in 3 [] edited",
    "flags in 3 [\\Seen] edited",
    NULL
  };

  /* On a store object of its own, the monitor hears of the writes only
   * from the bus, once they are all made, and reads them at once. */
  monitor = cairn_monitor_new (other, &error);
  assert_no_error (error);
  cairn_fetch_scope_set_all_parts (scope, TRUE);
  cairn_monitor_set_fetch_scope (monitor, scope);
  g_signal_connect (monitor, "item-changed", G_CALLBACK (on_item_changed_state), observer);
  g_signal_connect (monitor, "item-moved", G_CALLBACK (on_item_moved_state), observer);
  g_signal_connect (monitor, "items-flags-changed", G_CALLBACK (on_flags_state), observer);

  cairn_item_set_part (item, part);
  write_with (store, edit_and_move_block, &edit);
  change_flags (id, "\\Seen", NULL);
  move_item (id, c);
  wait_for_lines (observer, 3, 20);
  settle (100);
  assert_lines (observer, expected);
}
END_TEST

static void
on_changes_lost (CairnMonitor *monitor,
                 guint64       revision,
                 guint64      *resumed)
{
  *resumed = revision;
}

/* A monitor whose changes were collected before it read them says so,
 * with the revision it goes on from, and then delivers what follows. */
START_TEST (test_changes_lost)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnMonitor) monitor = NULL;
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 resumed = 0, head = 0;
  g_autoptr(CairnStore) other = cairn_store_open (db_path, NULL, NULL);
  GError *error = NULL;

  /* Reading only after the writes below, which it hears of from the bus. */
  monitor = cairn_monitor_new (other, &error);
  assert_no_error (error);
  cairn_monitor_set_observer (monitor, CAIRN_OBSERVER (observer));
  g_signal_connect (monitor, "changes-lost", G_CALLBACK (on_changes_lost), &resumed);

  make_item (store, inbox, "lost-1");
  make_item (store, inbox, "lost-2");
  ck_assert (cairn_store_get_revision (store, &head, &error));
  ck_assert (cairn_store_set_cursor (store, "ahead", head, &error));
  ck_assert (cairn_store_collect_garbage (store, NULL, &error));
  assert_no_error (error);

  while (resumed == 0)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_uint_eq (resumed, head);
  ck_assert_uint_eq (cairn_monitor_get_revision (monitor), head);
  ck_assert_uint_eq (observer->lines->len, 0);

  make_item (store, inbox, "after");
  wait_for_lines (observer, 1, 20);
  ck_assert_str_eq (g_ptr_array_index (observer->lines, 0), "item-added 3 in 1 -");
}
END_TEST

START_TEST (test_batches)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  guint64 a = make_collection (store, 0, "A");
  guint64 b = make_collection (store, 0, "B");
  const char * const expected[] = {
    "items-added 1,2,3,4,5",
    "items-moved 1,2 1->2",
    "flags 2,3 +\\Seen -",
    "items-removed 4,5",
    NULL
  };

  recorder = cairn_change_recorder_new (store, "batch", NULL);
  cairn_monitor_set_batch (CAIRN_MONITOR (recorder), TRUE);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      g_ptr_array_add (items, new_mail (a, remote_id, "e"));
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, NULL));
  /* Deliver the adds before the later changes, which would fold into
   * them; the recorder is stopped meanwhile so that the rest is one page. */
  wait_for_lines (observer, 1, 20);
  g_clear_object (&recorder);
  move_item (1, b);
  move_item (2, b);
  change_flags (2, "\\Seen", NULL);
  change_flags (3, "\\Seen", NULL);
  delete_item (4);
  delete_item (5);
  recorder = cairn_change_recorder_new (store, "batch", NULL);
  cairn_monitor_set_batch (CAIRN_MONITOR (recorder), TRUE);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 4, 20);
  settle (100);
  assert_lines (observer, expected);
}
END_TEST

/* With batch-flags alone, equal flag changes come together while the
 * other changes keep their single forms. */
START_TEST (test_batch_flags)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  guint64 a = make_collection (store, 0, "A");
  const char * const expected[] = {
    "flags 1,2 +\\Seen -",
    "item-removed 3 from 1 2",
    NULL
  };

  recorder = cairn_change_recorder_new (store, "flags", NULL);
  cairn_monitor_set_batch_flags (CAIRN_MONITOR (recorder), TRUE);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      g_ptr_array_add (items, new_mail (a, remote_id, "e"));
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, NULL));
  wait_for_lines (observer, 3, 20);
  g_clear_object (&recorder);
  g_ptr_array_set_size (observer->lines, 0);
  change_flags (1, "\\Seen", NULL);
  change_flags (2, "\\Seen", NULL);
  delete_item (3);
  recorder = cairn_change_recorder_new (store, "flags", NULL);
  cairn_monitor_set_batch_flags (CAIRN_MONITOR (recorder), TRUE);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 2, 20);
  settle (100);
  assert_lines (observer, expected);
}
END_TEST

START_TEST (test_recorder_resumes_and_counts)
{
  g_autoptr(TestObserver) observer = g_object_new (TEST_TYPE_OBSERVER, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  guint64 inbox, pending = 0, cursor = 0;
  GError *error = NULL;
  guint seen;

  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_change_recorder_get_name (recorder), "agent");
  g_clear_object (&recorder);

  /* Changes made while the agent is stopped wait for it. */
  inbox = make_collection (store, 0, "INBOX");
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      make_item (store, inbox, remote_id);
    }
  recorder = cairn_change_recorder_new (store, "agent", &error);
  assert_no_error (error);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, &error));
  ck_assert_uint_eq (pending, 6);

  /* The observer takes the first three and leaves. */
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 3, 20);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, &error));
  seen = observer->lines->len;
  ck_assert_uint_eq (pending, 6 - seen);
  g_clear_object (&recorder);

  recorder = cairn_change_recorder_new (store, "agent", &error);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (observer));
  wait_for_lines (observer, 6, 20);
  settle (100);
  ck_assert_str_eq (g_ptr_array_index (observer->lines, 0), "collection-added 1 in 0 INBOX");
  for (guint i = 1; i < 6; i++)
    {
      g_autofree char *line = g_strdup_printf ("item-added %u in 1 -", i);

      ck_assert_str_eq (g_ptr_array_index (observer->lines, i), line);
    }
  ck_assert_uint_eq (observer->lines->len, 6);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, &error));
  ck_assert_uint_eq (pending, 0);
  ck_assert (cairn_store_get_cursor (store, "agent", &cursor, &error));
  ck_assert_uint_eq (cursor, 6);
}
END_TEST

/* The crash test */

static void
append_line (int         fd,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
append_line (int         fd,
             const char *format,
             ...)
{
  g_autofree char *line = NULL;
  va_list args;
  ssize_t length;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  length = strlen (line);
  if (write (fd, line, length) != length || fsync (fd) != 0)
    g_error ("Cannot append to the journal: %s", g_strerror (errno));
}

static int journal_fd;

static void
consume_item (CairnMonitor *monitor,
              CairnChange  *change,
              CairnItem    *item,
              gpointer      data)
{
  guint64 id = cairn_change_get_entity_id (change);

  append_line (journal_fd, "P %" G_GUINT64_FORMAT "\n", id);
  cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
  append_line (journal_fd, "A %" G_GUINT64_FORMAT "\n", id);
}

static gboolean
check_done (gpointer data)
{
  CairnChangeRecorder *recorder = data;
  guint64 pending = 1;

  if (cairn_change_recorder_get_pending_count (recorder, &pending, NULL) && pending == 0)
    exit (0);
  return G_SOURCE_CONTINUE;
}

/* Child: replays the recorder "consumer", journaling every item. */
static int
run_consumer (const char *path,
              const char *journal)
{
  g_autoptr(CairnStore) own = cairn_store_open (path, NULL, NULL);
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (own == NULL)
    return 2;
  journal_fd = open (journal, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (journal_fd < 0)
    return 3;
  append_line (journal_fd, "S\n");
  recorder = cairn_change_recorder_new (own, "consumer", NULL);
  if (recorder == NULL)
    return 4;
  g_signal_connect (recorder, "item-added", G_CALLBACK (consume_item), NULL);
  g_timeout_add (20, check_done, recorder);
  g_main_loop_run (loop);
  return 5;
}

START_TEST (test_recorder_survives_sigkill)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *journal = g_build_filename (tmpdir, "journal", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (CRASH_SEED);
  g_autoptr(CairnChangeRecorder) created = NULL;
  const char *args[] = { "consume", db_path, journal, NULL };
  guint64 inbox = make_collection (store, 0, "INBOX");
  guint64 next = 1, unacked = 0, redo = 0;
  guint starts = 0, interrupted = 0, lines_before = 0;

  /* The consumer's cursor exists before the changes. */
  created = cairn_change_recorder_new (store, "consumer", NULL);
  g_clear_object (&created);
  for (guint i = 0; i < CRASH_ITEMS; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      g_ptr_array_add (items, new_mail (inbox, remote_id, "e"));
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, NULL));

  for (guint kill_round = 0; kill_round < CRASH_KILLS; kill_round++)
    {
      GPid child = spawn_self (args, NULL);
      guint lines_now = 0;

      g_usleep (g_rand_int_range (rand, 100, 600) * 1000);
      ck_assert_int_eq (kill (child, SIGKILL), 0);
      ck_assert_int_eq (waitpid (child, NULL, 0), child);
      if (g_file_get_contents (journal, &contents, NULL, NULL))
        {
          g_auto(GStrv) so_far = g_strsplit (contents, "\n", -1);

          lines_now = g_strv_length (so_far);
          g_clear_pointer (&contents, g_free);
        }
      if (lines_now > lines_before + 1)
        interrupted++;
      lines_before = lines_now;
    }
  assert_child_ok (spawn_self (args, NULL));

  /* Several runs did some work and were killed before the end. */
  ck_assert_uint_ge (interrupted, 3);
  ck_assert (g_file_get_contents (journal, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      guint64 id = 0;

      if (lines[i][0] == 'S')
        {
          /* Only an item whose change_processed() may not have returned
           * can come again, and only right after a restart. */
          redo = unacked;
          starts++;
          continue;
        }
      ck_assert_msg (sscanf (lines[i] + 2, "%" G_GUINT64_FORMAT, &id) == 1, "line %s", lines[i]);
      if (lines[i][0] == 'P')
        {
          if (redo != 0 && id == redo)
            ck_assert_uint_eq (id, next - 1);
          else
            {
              ck_assert_msg (id == next, "item %" G_GUINT64_FORMAT " delivered, %"
                             G_GUINT64_FORMAT " expected", id, next);
              next++;
            }
          unacked = id;
        }
      else
        {
          ck_assert_uint_eq (id, unacked);
          unacked = 0;
        }
      redo = 0;
    }
  ck_assert_uint_eq (starts, CRASH_KILLS + 1);
  ck_assert_uint_eq (next, CRASH_ITEMS + 1);
}
END_TEST

/* The recorder "own" of @target, which ignores the origin RESOURCE,
 * once it has read the store through to its revision now; %NULL if it
 * cannot be made. */
static CairnChangeRecorder *
read_own_through (CairnStore *target)
{
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  guint64 revision = 0;

  cairn_store_set_origin (target, RESOURCE);
  if (!cairn_store_get_revision (target, &revision, NULL) ||
      (recorder = cairn_change_recorder_new (target, "own", NULL)) == NULL)
    return NULL;
  cairn_monitor_set_ignore_own_origin (CAIRN_MONITOR (recorder), TRUE);
  while (cairn_monitor_get_revision (CAIRN_MONITOR (recorder)) < revision)
    g_main_context_iteration (NULL, TRUE);
  return g_steal_pointer (&recorder);
}

/* Child: the recorder of the resource's own origin reads its writes
 * through, then the process runs @wait_ms more and exits without
 * disposing of it, as a killed one would. */
static int
run_own_reader (const char *path,
                const char *wait_ms)
{
  g_autoptr(CairnStore) own = cairn_store_open (path, NULL, NULL);
  g_autoptr(CairnChangeRecorder) recorder = own ? read_own_through (own) : NULL;

  if (recorder == NULL)
    return 2;
  settle (atoi (wait_ms));
  _exit (0);
}

/* Pending changes of the recorder "own" as written in the store: a new
 * recorder starts from the written position. */
static guint64
written_own_pending (void)
{
  g_autoptr(CairnChangeRecorder) recorder = cairn_change_recorder_new (store, "own", NULL);
  guint64 pending = G_MAXUINT64;

  ck_assert (recorder != NULL);
  ck_assert (cairn_change_recorder_get_pending_count (recorder, &pending, NULL));
  return pending;
}

/* A recorder that reads only changes out of its scope, here the
 * resource's own sync writes, writes its position a moment later, once,
 * and at the latest when it is disposed of: not once per commit. */
START_TEST (test_recorder_defers_position_out_of_scope)
{
  const char *at_once[] = { "own-reader", db_path, "0", NULL };
  const char *later[] = { "own-reader", db_path, "1500", NULL };
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  guint64 inbox;

  recorder = cairn_change_recorder_new (store, "own", NULL);
  g_clear_object (&recorder);
  cairn_store_set_origin (store, RESOURCE);
  inbox = make_collection (store, 0, "INBOX");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      make_item (store, inbox, remote_id);
    }

  /* Killed right after reading them through: they are read again. */
  assert_child_ok (spawn_self (at_once, NULL));
  ck_assert_uint_eq (written_own_pending (), 4);
  /* Killed a while after: the position was written meanwhile. */
  assert_child_ok (spawn_self (later, NULL));
  ck_assert_uint_eq (written_own_pending (), 0);

  /* In process, disposing of the recorder writes it. */
  make_item (store, inbox, "3");
  recorder = read_own_through (store);
  ck_assert (recorder != NULL);
  g_clear_object (&recorder);
  ck_assert_uint_eq (written_own_pending (), 0);
}
END_TEST

int
main (int   argc,
      char *argv[])
{
  const CairnTestCase cases[] = {
    { "processes", test_every_callback_kind },
    { "processes", test_commit_off_bus },
    { "processes", test_scope },
    { "processes", test_ignore_own_origin },
    { "local", test_signals_without_observer },
    { "local", test_scope_by_resource_and_mime_type },
    { "coalescing", test_coalesce_add_modify },
    { "coalescing", test_coalesce_add_remove },
    { "coalescing", test_coalesce_modifies },
    { "coalescing", test_coalesce_flags_cancel },
    { "coalescing", test_coalesce_moves_chain },
    { "coalescing", test_coalesce_remove_after_move },
    { "coalescing", test_coalesce_modifies_around_move },
    { "coalescing", test_coalesce_changes_between_chained_moves },
    { "coalescing", test_coalesce_tags_and_relations },
    { "recorder", test_batches },
    { "recorder", test_batch_flags },
    { "coalescing", test_coalesce_whole_range },
    { "coalescing", test_coalesce_across_chunks },
    { "coalescing", test_coalesce_add_then_move_to_newer },
    { "coalescing", test_coalesce_moves_into_newer },
    { "coalescing", test_coalesce_moves_through_removed_collection },
    { "coalescing", test_coalesce_collection_add_remove },
    { "coalescing", test_coalesce_moves_around_source_removal },
    { "coalescing", test_coalesce_collection_moves_around_parent_removal },
    { "coalescing", test_coalesce_collection_move_before_removal },
    { "coalescing", test_coalesce_collection_rename_move_rename },
    { "delivery", test_item_as_at_change },
    { "delivery", test_changes_lost },
    { "recorder", test_recorder_resumes_and_counts },
    { "recorder", test_recorder_survives_sigkill },
    { "recorder", test_recorder_defers_position_out_of_scope },
  };

  if (argc == 3 && g_str_equal (argv[1], "steps"))
    return run_steps (argv[2]);
  if (argc == 3 && g_str_equal (argv[1], "scoped"))
    return run_scoped_writes (argv[2]);
  if (argc == 4 && g_str_equal (argv[1], "consume"))
    return run_consumer (argv[2], argv[3]);
  if (argc == 4 && g_str_equal (argv[1], "own-reader"))
    return run_own_reader (argv[2], argv[3]);

  return cairn_test_suite_run (cairn_test_suite_new ("monitor", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 300));
}
