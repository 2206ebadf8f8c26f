/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The notes resource (examples/notes-resource) run by CairnTestResource:
 * sync from files, replay of local changes to files, offline work,
 * crashes, conflicts, parts on demand and failed changes. */
#include <check.h>
#include <string.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-resource-checks.h"
#include "cairn-test-suite.h"

#define ID "notes_0"
#define WAIT_MS (60 * 1000)

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnStore *client;
static char *notes;

static char *
note_path (const char *folder,
           const char *name)
{
  return g_build_filename (notes, folder, name, NULL);
}

static void
write_note (const char *folder,
            const char *name,
            const char *text)
{
  g_autofree char *path = note_path (folder, name);
  g_autofree char *parent = g_path_get_dirname (path);
  GError *error = NULL;

  ck_assert_int_eq (g_mkdir_with_parents (parent, 0700), 0);
  ck_assert_msg (g_file_set_contents (path, text, -1, &error), "%s",
                 error ? error->message : "");
}

static char *
read_file (const char *folder,
           const char *name)
{
  g_autofree char *path = note_path (folder, name);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

static guint
count_files (const char *folder)
{
  g_autofree char *path = g_build_filename (notes, folder, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      n += g_file_test (child, G_FILE_TEST_IS_REGULAR);
    }
  return n;
}

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENTS_DIR", NOTES_AGENT_DIR, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  notes = g_build_filename (cairn_test_environment_get_path (environment), "notes", NULL);
  write_note ("Inbox", "a.txt", "alpha");
  write_note ("Inbox", "b.txt", "bravo");
  write_note ("Inbox/Old", "c.txt", "charlie");
  write_note ("Work", "d.txt", "delta");
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&environment);
  g_clear_pointer (&notes, g_free);
}

/* Starts the resource and waits for its first sync. */
static void
start (CairnTestResourceMode  mode,
       const char            *policy)
{
  const char *config[] = { "path", notes, "conflict-policy", policy, NULL };

  resource = cairn_check_start_resource (environment, "notes", ID, config, mode, WAIT_MS, &client);
}

static void
wait_replayed (void)
{
  cairn_check_wait_replayed (resource, WAIT_MS);
}

static void
synchronize (void)
{
  cairn_check_synchronize (resource);
}

static void
set_online (gboolean online)
{
  cairn_check_set_online (resource, online);
}

static CairnCollection *
collection (const char *remote_id)
{
  CairnCollection *found = cairn_check_find_collection (client, ID, remote_id);

  ck_assert_msg (found != NULL, "no collection %s", remote_id);
  return found;
}

static guint64
collection_id (const char *remote_id)
{
  return cairn_check_collection_id (client, ID, remote_id);
}

/* The item with @name in folder @folder, or %NULL. */
static CairnItem *
find_item (const char *folder,
           const char *name)
{
  return cairn_check_find_item (client, collection_id (folder), name);
}

static char *
item_text (CairnItem *item)
{
  CairnPart *part = cairn_item_get_part (item, "TEXT");
  g_autoptr(GBytes) data = NULL;
  GError *error = NULL;

  ck_assert_ptr_nonnull (part);
  data = cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error);
  assert_no_error (error);
  return g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
}

static void
assert_note (const char *folder,
             const char *name,
             const char *text)
{
  g_autoptr(CairnItem) item = find_item (folder, name);
  g_autofree char *stored = NULL;

  ck_assert_msg (item != NULL, "no item %s/%s", folder, name);
  stored = item_text (item);
  ck_assert_str_eq (stored, text);
}

static guint64
stored_items (const char *folder)
{
  GError *error = NULL;
  guint64 count = 0, unread, size;

  ck_assert (cairn_store_get_collection_statistics (client, collection_id (folder), &count,
                                                    &unread, &size, &error));
  assert_no_error (error);
  return count;
}

/* Local changes, written as an application would */

typedef struct
{
  guint64 collection;
  const char *text;
  CairnItem *item;
  guint64 target;
} Edit;

static CairnItem *
new_note (guint64     in,
          const char *text)
{
  CairnItem *item = cairn_item_new ("text/plain");
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", bytes);

  cairn_item_set_collection_id (item, in);
  cairn_item_set_part (item, part);
  return item;
}

static gboolean
create_note (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;

  edit->item = new_note (edit->collection, edit->text);
  return cairn_transaction_create_item (transaction, edit->item, error);
}

static guint64
local_create (const char *folder,
              const char *text)
{
  Edit edit = { collection_id (folder), text, NULL, 0 };
  g_autoptr(CairnItem) item = NULL;
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, create_note, &edit, NULL, NULL, &error));
  assert_no_error (error);
  item = edit.item;
  return cairn_item_get_id (item);
}

static gboolean
modify_note (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(GBytes) bytes = g_bytes_new (edit->text, strlen (edit->text));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", bytes);

  cairn_item_set_part (edit->item, part);
  return cairn_transaction_modify_item (transaction, edit->item, 0, error);
}

static void
local_modify (guint64     id,
              const char *text)
{
  GError *error = NULL;
  g_autoptr(CairnItem) item = cairn_store_get_item (client, id, NULL, &error);
  Edit edit = { 0, text, item, 0 };

  assert_no_error (error);
  ck_assert (cairn_store_write_sync (client, modify_note, &edit, NULL, NULL, &error));
  assert_no_error (error);
}

static gboolean
move_note (CairnTransaction  *transaction,
           gpointer           user_data,
           GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_move_item (transaction, cairn_item_get_id (edit->item), edit->target,
                                      error);
}

static gboolean
delete_note (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_delete_item (transaction, cairn_item_get_id (edit->item), error);
}

static void
local_write (CairnTransactionFunc func,
             CairnItem           *item,
             guint64              target)
{
  Edit edit = { 0, NULL, item, target };
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, func, &edit, NULL, NULL, &error));
  assert_no_error (error);
}

/* Tests */

START_TEST (test_initial_sync)
{
  g_autoptr(CairnCollection) old = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");

  old = collection ("Inbox/Old");
  ck_assert_uint_eq (cairn_collection_get_parent_id (old), collection_id ("Inbox"));
  ck_assert_str_eq (cairn_collection_get_name (old), "Old");
  ck_assert_uint_eq (stored_items ("Inbox"), 2);
  ck_assert_uint_eq (stored_items ("Inbox/Old"), 1);
  ck_assert_uint_eq (stored_items ("Work"), 1);
  assert_note ("Inbox", "a.txt", "alpha");
  assert_note ("Inbox", "b.txt", "bravo");
  assert_note ("Inbox/Old", "c.txt", "charlie");
  assert_note ("Work", "d.txt", "delta");
}
END_TEST

START_TEST (test_external_edits)
{
  g_autoptr(CairnItem) removed = NULL;
  g_autofree char *gone = note_path ("Inbox", "b.txt");

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");

  write_note ("Inbox", "a.txt", "alpha, edited elsewhere");
  write_note ("Inbox", "e.txt", "echo");
  ck_assert_int_eq (g_unlink (gone), 0);
  synchronize ();

  assert_note ("Inbox", "a.txt", "alpha, edited elsewhere");
  assert_note ("Inbox", "e.txt", "echo");
  removed = find_item ("Inbox", "b.txt");
  ck_assert_ptr_null (removed);
  ck_assert_uint_eq (stored_items ("Inbox"), 2);
}
END_TEST

START_TEST (test_local_changes)
{
  guint64 id;
  g_autoptr(CairnItem) item = NULL;
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");

  id = local_create ("Work", "a new note");
  wait_replayed ();
  item = cairn_store_get_item (client, id, NULL, &error);
  assert_no_error (error);
  ck_assert_ptr_nonnull (cairn_item_get_remote_id (item));
  ck_assert_ptr_nonnull (cairn_item_get_remote_revision (item));
  name = g_strdup (cairn_item_get_remote_id (item));
  text = read_file ("Work", name);
  ck_assert_str_eq (text, "a new note");
  g_clear_pointer (&text, g_free);

  local_modify (id, "a changed note");
  wait_replayed ();
  text = read_file ("Work", name);
  ck_assert_str_eq (text, "a changed note");
  g_clear_pointer (&text, g_free);

  local_write (move_note, item, collection_id ("Inbox/Old"));
  wait_replayed ();
  text = read_file ("Inbox/Old", name);
  ck_assert_str_eq (text, "a changed note");
  g_clear_pointer (&text, g_free);
  ck_assert_ptr_null (read_file ("Work", name));

  local_write (delete_note, item, 0);
  wait_replayed ();
  ck_assert_ptr_null (read_file ("Inbox/Old", name));
  ck_assert_uint_eq (count_files ("Inbox/Old"), 1);

  /* Nothing came back as a new item from the resource's own writes. */
  synchronize ();
  ck_assert_uint_eq (stored_items ("Inbox/Old"), 1);
  ck_assert_uint_eq (stored_items ("Work"), 1);
}
END_TEST

#define N_OFFLINE 1000

START_TEST (test_offline)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(CairnItem) external = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  guint64 offline_end = 0;
  gint last_replay = -1;
  guint first_sync = G_MAXUINT;
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  set_online (FALSE);

  for (guint i = 0; i < N_OFFLINE / 2; i++)
    {
      g_autofree char *text = g_strdup_printf ("note %u", i);
      guint64 id = local_create ("Work", text);

      g_array_append_val (ids, id);
    }
  for (guint i = 0; i < N_OFFLINE / 2; i++)
    {
      g_autofree char *text = g_strdup_printf ("note %u, modified", i);

      local_modify (g_array_index (ids, guint64, i), text);
    }
  /* An external edit while offline: a sync slipping in before the
   * replay ended would store it before the last replayed change. */
  write_note ("Work", "d.txt", "delta, edited offline");

  ck_assert (cairn_store_get_revision (client, &offline_end, &error));
  assert_no_error (error);

  set_online (TRUE);
  wait_replayed ();
  synchronize ();

  ck_assert_uint_eq (count_files ("Work"), N_OFFLINE / 2 + 1);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("note-%" G_GUINT64_FORMAT ".txt",
                                               g_array_index (ids, guint64, i));
      g_autofree char *text = read_file ("Work", name);
      g_autofree char *expected = g_strdup_printf ("note %u, modified", i);

      ck_assert_str_eq (text, expected);
    }
  /* In the change log after going offline, the resource's writes of
   * the replayed notes' remote ids all come before the sync's write of
   * the external edit. */
  external = find_item ("Work", "d.txt");
  changes = cairn_store_get_changes_since (client, offline_end, 0, &error);
  assert_no_error (error);
  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);

      if (g_strcmp0 (cairn_change_get_origin (change), ID) != 0)
        continue;
      if (cairn_change_get_entity_id (change) == cairn_item_get_id (external))
        first_sync = MIN (first_sync, i);
      else
        last_replay = i;
    }
  ck_assert_int_ge (last_replay, 0);
  ck_assert_int_lt (first_sync, changes->len);
  ck_assert_int_lt (last_replay, first_sync);
  assert_note ("Work", "d.txt", "delta, edited offline");
}
END_TEST

START_TEST (test_kill_mid_replay)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_PROCESS, "keep-server");
  set_online (FALSE);
  for (guint i = 0; i < N_OFFLINE; i++)
    {
      g_autofree char *text = g_strdup_printf ("note %u", i);
      guint64 id = local_create ("Work", text);

      g_array_append_val (ids, id);
    }
  set_online (TRUE);
  /* Killed at whatever point the replay reached. */
  while (count_files ("Work") < 50)
    g_main_context_iteration (NULL, FALSE);
  cairn_test_resource_kill (resource);
  ck_assert (cairn_test_resource_restart (resource, &error));
  assert_no_error (error);
  wait_replayed ();

  ck_assert_uint_eq (count_files ("Work"), N_OFFLINE + 1);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("note-%" G_GUINT64_FORMAT ".txt",
                                               g_array_index (ids, guint64, i));
      g_autofree char *text = read_file ("Work", name);
      g_autofree char *expected = g_strdup_printf ("note %u", i);

      ck_assert_str_eq (text, expected);
    }
  synchronize ();
  ck_assert_uint_eq (stored_items ("Work"), N_OFFLINE + 1);
}
END_TEST

/* The file and the item both change while offline. */
static void
make_conflict (const char *policy)
{
  g_autoptr(CairnItem) item = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, policy);
  item = find_item ("Work", "d.txt");
  set_online (FALSE);
  write_note ("Work", "d.txt", "delta from the file");
  local_modify (cairn_item_get_id (item), "delta from the app");
  set_online (TRUE);
  wait_replayed ();
}

START_TEST (test_conflict_keep_server)
{
  g_autofree char *text = NULL;

  make_conflict ("keep-server");
  text = read_file ("Work", "d.txt");
  ck_assert_str_eq (text, "delta from the file");
  assert_note ("Work", "d.txt", "delta from the file");
  ck_assert_uint_eq (count_files ("Work"), 1);
}
END_TEST

START_TEST (test_conflict_keep_local)
{
  g_autofree char *text = NULL;

  make_conflict ("keep-local");
  text = read_file ("Work", "d.txt");
  ck_assert_str_eq (text, "delta from the app");
  assert_note ("Work", "d.txt", "delta from the app");
  ck_assert_uint_eq (count_files ("Work"), 1);
}
END_TEST

START_TEST (test_conflict_keep_both)
{
  g_autofree char *text = NULL;

  make_conflict ("keep-both");
  text = read_file ("Work", "d.txt");
  ck_assert_str_eq (text, "delta from the file");
  assert_note ("Work", "d.txt", "delta from the file");
  /* The local version became a new note. */
  ck_assert_uint_eq (count_files ("Work"), 2);
  ck_assert_uint_eq (stored_items ("Work"), 2);
}
END_TEST

static gboolean
create_without_text (CairnTransaction  *transaction,
                     gpointer           user_data,
                     GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnPart) missing = cairn_part_new_missing ("TEXT", 5);

  cairn_item_set_part (edit->item, missing);
  return cairn_transaction_create_item (transaction, edit->item, error);
}

START_TEST (test_missing_part)
{
  g_autoptr(CairnStore) own = NULL;
  g_autoptr(CairnItem) item = cairn_item_new ("text/plain");
  g_autoptr(GVariant) reply = NULL;
  const char *parts[] = { "TEXT", NULL };
  guint64 id;
  Edit edit = { 0, NULL, item, 0 };
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  write_note ("Work", "f.txt", "foxtrot");
  /* As a resource keeping only envelopes would: written with its origin,
   * so it is not replayed. */
  own = cairn_test_resource_open_client_store (resource, &error);
  assert_no_error (error);
  cairn_store_set_origin (own, ID);
  cairn_item_set_collection_id (item, collection_id ("Work"));
  cairn_item_set_remote_id (item, "f.txt");
  ck_assert (cairn_store_write_sync (own, create_without_text, &edit, NULL, NULL, &error));
  assert_no_error (error);
  id = cairn_item_get_id (item);
  g_clear_object (&item);
  item = find_item ("Work", "f.txt");
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (item, "TEXT")),
                    CAIRN_PART_STORAGE_MISSING);

  reply = cairn_test_resource_call_sync (resource, CAIRN_RESOURCE_INTERFACE, "RetrieveItems",
                                         g_variant_new ("(@at^as)",
                                                        g_variant_new_fixed_array (
                                                          G_VARIANT_TYPE_UINT64, &id, 1,
                                                          sizeof id),
                                                        parts),
                                         NULL, &error);
  assert_no_error (error);
  ck_assert_ptr_nonnull (reply);
  assert_note ("Work", "f.txt", "foxtrot");
}
END_TEST

static guint
list_failed (guint64 *first_id)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) changes = NULL;
  GError *error = NULL;

  reply = cairn_test_resource_call_sync (resource, CAIRN_RESOURCE_INTERFACE, "ListFailedChanges",
                                         NULL, G_VARIANT_TYPE ("(a(tuuts))"), &error);
  assert_no_error (error);
  changes = g_variant_get_child_value (reply, 0);
  if (first_id != NULL && g_variant_n_children (changes) > 0)
    g_variant_get_child (changes, 0, "(tuuts)", first_id, NULL, NULL, NULL, NULL);
  return g_variant_n_children (changes);
}

static gboolean
create_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  g_autoptr(CairnCollection) folder = cairn_collection_new (ID, 0, user_data);

  return cairn_transaction_create_collection (transaction, folder, error);
}

/* Retries or discards one failed change over D-Bus. */
static void
call_failed (const char *method,
             guint64     id)
{
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = cairn_test_resource_call_sync (resource, CAIRN_RESOURCE_INTERFACE, method,
                                         g_variant_new_parsed ("([@t %t],)", id), NULL, &error);
  assert_no_error (error);
}

/* A text of @size bytes, different for each @seed. */
static char *
long_text (gsize size,
           guint seed)
{
  GString *text = g_string_sized_new (size + 64);

  while (text->len < size)
    g_string_append_printf (text, "line %u of note %u\n", (guint) text->len, seed);
  g_string_truncate (text, size);
  return g_string_free (text, FALSE);
}

static void
assert_file (const char *folder,
             const char *name,
             const char *expected)
{
  g_autofree char *path = note_path (folder, name);
  g_autofree char *contents = NULL;
  gsize length = 0;
  GError *error = NULL;

  ck_assert (g_file_get_contents (path, &contents, &length, &error));
  assert_no_error (error);
  ck_assert_uint_eq (length, strlen (expected));
  ck_assert (memcmp (contents, expected, length) == 0);
}

/* The store keeps notes over its inline threshold in payload files; they
 * are written out whole, and one whose payload cannot be read is a failed
 * change that leaves the file as it was, never an empty file. */
START_TEST (test_large_note)
{
  g_autofree char *first = long_text (100 * 1024, 1);
  g_autofree char *second = long_text (200 * 1024, 2);
  g_autofree char *third = long_text (150 * 1024, 3);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(CairnItem) item = NULL;
  g_autofree char *name = NULL;
  CairnPart *part;
  GError *error = NULL;
  guint64 id;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  cairn_fetch_scope_set_all_parts (scope, TRUE);

  id = local_create ("Work", first);
  wait_replayed ();
  item = cairn_store_get_item (client, id, scope, &error);
  assert_no_error (error);
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (item, "TEXT")),
                    CAIRN_PART_STORAGE_EXTERNAL);
  name = g_strdup (cairn_item_get_remote_id (item));
  ck_assert_ptr_nonnull (name);
  assert_file ("Work", name, first);

  local_modify (id, second);
  wait_replayed ();
  assert_file ("Work", name, second);
  /* What the resource wrote reads back unchanged. */
  synchronize ();
  assert_note ("Work", name, second);

  set_online (FALSE);
  local_modify (id, third);
  g_clear_object (&item);
  item = cairn_store_get_item (client, id, scope, &error);
  assert_no_error (error);
  part = cairn_item_get_part (item, "TEXT");
  ck_assert_int_eq (cairn_part_get_storage (part), CAIRN_PART_STORAGE_EXTERNAL);
  ck_assert_int_eq (g_unlink (cairn_part_get_path (part)), 0);
  set_online (TRUE);
  wait_replayed ();
  ck_assert_uint_eq (list_failed (NULL), 1);
  assert_file ("Work", name, second);
}
END_TEST

START_TEST (test_failed_change)
{
  g_autofree char *escaped = g_build_filename (notes, "..", "evil", NULL);
  guint64 failed = 0, again = 0;
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  ck_assert (cairn_store_write_sync (client, create_folder, "..", NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert_uint_eq (list_failed (&failed), 1);
  ck_assert (!g_file_test (escaped, G_FILE_TEST_EXISTS));

  /* A good change after it goes on. */
  local_create ("Work", "still replayed");
  wait_replayed ();
  ck_assert_uint_eq (count_files ("Work"), 2);

  call_failed ("RetryFailedChanges", failed);
  wait_replayed ();
  /* Refused again: kept again. */
  ck_assert_uint_eq (list_failed (&again), 1);

  call_failed ("DiscardFailedChanges", again);
  ck_assert_uint_eq (list_failed (NULL), 0);
}
END_TEST

static gboolean
rename_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  CairnCollection *folder = user_data;

  return cairn_transaction_modify_collection (transaction, folder, 0, error);
}

static void
local_rename (const char *remote_id,
              const char *name)
{
  g_autoptr(CairnCollection) folder = collection (remote_id);
  GError *error = NULL;

  cairn_collection_set_name (folder, name);
  ck_assert (cairn_store_write_sync (client, rename_folder, folder, NULL, NULL, &error));
  assert_no_error (error);
}

static gboolean
delete_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  return cairn_transaction_delete_collection (transaction, *(guint64 *) user_data, error);
}

/* A renamed folder takes its sub-folders along on disk: their remote
 * ids follow, so a change in one finds it, and a sync keeps them with
 * their ids instead of taking them for new folders. */
START_TEST (test_rename_parent_folder)
{
  guint64 old;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  old = collection_id ("Inbox/Old");
  local_rename ("Inbox", "Archive");
  wait_replayed ();
  ck_assert_uint_eq (collection_id ("Archive/Old"), old);

  local_create ("Archive/Old", "echo");
  wait_replayed ();
  ck_assert_uint_eq (count_files ("Archive/Old"), 2);
  ck_assert_uint_eq (list_failed (NULL), 0);
  synchronize ();
  ck_assert_uint_eq (collection_id ("Archive/Old"), old);
  ck_assert_uint_eq (stored_items ("Archive/Old"), 2);
  assert_note ("Archive/Old", "c.txt", "charlie");
}
END_TEST

/* A sub-folder removed while the rename of its parent waited is removed
 * where the rename put it, not where it was when it was removed. */
START_TEST (test_remove_in_renamed_folder)
{
  g_autofree char *moved = g_build_filename (notes, "Archive", "Old", NULL);
  GError *error = NULL;
  guint64 old;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  old = collection_id ("Inbox/Old");
  set_online (FALSE);
  local_rename ("Inbox", "Archive");
  ck_assert (cairn_store_write_sync (client, delete_folder, &old, NULL, NULL, &error));
  assert_no_error (error);
  set_online (TRUE);
  wait_replayed ();
  ck_assert_uint_eq (list_failed (NULL), 0);
  ck_assert (!g_file_test (moved, G_FILE_TEST_EXISTS));
  ck_assert_uint_eq (count_files ("Archive"), 2);

  synchronize ();
  ck_assert_ptr_null (cairn_store_find_collection_by_remote_id (client, ID, "Archive/Old",
                                                                &error));
  g_clear_error (&error);
}
END_TEST

static gboolean
flag_note (CairnTransaction  *transaction,
           gpointer           user_data,
           GError           **error)
{
  Edit *edit = user_data;
  const char *added[] = { CAIRN_FLAG_SEEN, CAIRN_FLAG_FLAGGED, NULL };
  const char *removed[] = { CAIRN_FLAG_FLAGGED, NULL };
  g_autoptr(CairnFlagsDelta) delta = edit->target ? cairn_flags_delta_new_from_strv (NULL, removed)
                                                  : cairn_flags_delta_new_from_strv (added, NULL);

  return cairn_transaction_change_flags (transaction, cairn_item_get_id (edit->item), delta, 0,
                                         error);
}

/* Flags reach the sidecar file, travel with a moved note, and come back
 * from the disk on a sync, also when another program wrote them. */
START_TEST (test_flags)
{
  g_autoptr(CairnItem) a = NULL;
  g_autoptr(CairnItem) b = NULL;
  g_autofree char *line = NULL;
  g_autofree char *sidecar = note_path ("Inbox", ".a.txt.flags");

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  a = find_item ("Inbox", "a.txt");
  local_write (flag_note, a, 0);
  wait_replayed ();
  line = read_file ("Inbox", ".a.txt.flags");
  ck_assert (strstr (line, "\\Flagged") != NULL && strstr (line, "\\Seen") != NULL);
  local_write (flag_note, a, 1);
  wait_replayed ();
  g_clear_pointer (&line, g_free);
  line = read_file ("Inbox", ".a.txt.flags");
  ck_assert_str_eq (line, "\\Seen");

  local_write (move_note, a, collection_id ("Work"));
  wait_replayed ();
  ck_assert (!g_file_test (sidecar, G_FILE_TEST_EXISTS));
  g_clear_pointer (&line, g_free);
  line = read_file ("Work", ".a.txt.flags");
  ck_assert_str_eq (line, "\\Seen");

  write_note ("Inbox", ".b.txt.flags", "\\Answered");
  synchronize ();
  b = find_item ("Inbox", "b.txt");
  ck_assert (cairn_flags_contains (cairn_item_get_flags (b), CAIRN_FLAG_ANSWERED));
  ck_assert_uint_eq (stored_items ("Inbox"), 1);
  ck_assert_uint_eq (list_failed (NULL), 0);
}
END_TEST

static gboolean
move_folder (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_move_collection (transaction, edit->collection, edit->target, error);
}

/* A folder moved to another parent, and then to the top, takes its notes
 * and sub-folders along and keeps its id. */
START_TEST (test_move_folder)
{
  Edit edit = { 0, NULL, NULL, 0 };
  guint64 old;
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  old = collection_id ("Inbox/Old");
  edit.collection = collection_id ("Inbox");
  edit.target = collection_id ("Work");
  ck_assert (cairn_store_write_sync (client, move_folder, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  assert_note ("Work/Inbox", "a.txt", "alpha");
  assert_note ("Work/Inbox/Old", "c.txt", "charlie");
  ck_assert_uint_eq (collection_id ("Work/Inbox/Old"), old);

  edit.collection = old;
  edit.target = 0;
  ck_assert (cairn_store_write_sync (client, move_folder, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert_uint_eq (count_files ("Old"), 1);
  ck_assert_uint_eq (list_failed (NULL), 0);
  synchronize ();
  ck_assert_uint_eq (collection_id ("Old"), old);
  ck_assert_uint_eq (stored_items ("Old"), 1);
  ck_assert_uint_eq (stored_items ("Work/Inbox"), 2);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "sync", test_initial_sync },
    { "sync", test_external_edits },
    { "replay", test_local_changes },
    { "replay", test_offline },
    { "replay", test_kill_mid_replay },
    { "folders", test_rename_parent_folder },
    { "folders", test_remove_in_renamed_folder },
    { "folders", test_move_folder },
    { "flags", test_flags },
    { "conflicts", test_conflict_keep_server },
    { "conflicts", test_conflict_keep_local },
    { "conflicts", test_conflict_keep_both },
    { "parts", test_missing_part },
    { "parts", test_large_note },
    { "failures", test_failed_change },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("notes", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 240));
}
