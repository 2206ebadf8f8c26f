/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One test per sequence of local changes that issue 12 found losing data,
 * on the notes and maildir resources, and per sequence the replay test
 * found on the test kit's test-files resource. Each ends as the replay
 * test does: online, replayed, synchronized, then backend and store
 * agree, with no failed change, and the sequence's own outcome holds. */
#include <check.h>
#include <string.h>

#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-resource-checks.h"
#include "cairn-test-suite.h"
#include "replay-maildir-backend.h"

#define WAIT_MS (60 * 1000)

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnTestBackend *backend;
static CairnTestMaildir *maildir;
static CairnStore *client;
static const char *part;
static char *root;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "backend", NULL);
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&backend);
  g_clear_object (&maildir);
  g_clear_object (&environment);
  g_clear_pointer (&root, g_free);
}

static void
start (const char         *type,
       const char         *agents_dir,
       const char * const *config)
{
  g_autofree char *id = g_strdup_printf ("%s_0", type);

  g_setenv ("CAIRN_AGENTS_DIR", agents_dir, TRUE);
  resource = cairn_check_start_resource (environment, type, id, config,
                                         CAIRN_TEST_RESOURCE_PROCESS, WAIT_MS, &client);
}

/* Notes in Inbox/ and Work/, one note in each. */
static void
start_notes (void)
{
  const char *config[] = { "path", root, NULL };
  const char *folders[] = { "Inbox", "Work" };

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *path = g_build_filename (root, folders[i], "first.txt", NULL);
      g_autofree char *folder = g_path_get_dirname (path);

      ck_assert_int_eq (g_mkdir_with_parents (folder, 0700), 0);
      ck_assert (g_file_set_contents (path, folders[i], -1, NULL));
    }
  backend = CAIRN_TEST_BACKEND (cairn_test_directory_backend_new (root, FALSE));
  part = "TEXT";
  start ("notes", NOTES_AGENT_DIR, config);
}

/* Folders Inbox/ and Work/, empty. */
static void
start_files (void)
{
  const char *config[] = { "path", root, NULL };
  const char *folders[] = { "Inbox", "Work" };

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *path = g_build_filename (root, folders[i], NULL);

      ck_assert_int_eq (g_mkdir_with_parents (path, 0700), 0);
    }
  backend = CAIRN_TEST_BACKEND (cairn_test_directory_backend_new (root, TRUE));
  part = "DATA";
  start ("test-files", FILES_AGENT_DIR, config);
}

static void
start_maildir (void)
{
  const char *config[] = { "path", root, "layout", "maildir++", NULL };
  GError *error = NULL;

  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  ck_assert (cairn_test_maildir_create_folder (maildir, "Archive", &error));
  assert_no_error (error);
  backend = CAIRN_TEST_BACKEND (replay_maildir_backend_new (maildir));
  part = CAIRN_PART_RFC822;
  start ("maildir", MAILDIR_AGENT_DIR, config);
}

static void
set_online (gboolean online)
{
  cairn_check_set_online (resource, online);
}

/* Online, replayed and synchronized: backend and store must agree. */
static void
assert_agree (CairnTestSnapshotCompare what)
{
  GError *error = NULL;

  if (!cairn_test_replay_check_backend (resource, backend, part, what, &error))
    {
      g_printerr ("%s\n", error->message);
      ck_abort_msg ("backend and store disagree; the report is above");
    }
}

static CairnTestSnapshot *
read_backend (void)
{
  GError *error = NULL;
  CairnTestSnapshot *snapshot = cairn_test_backend_read (backend, &error);

  assert_no_error (error);
  return snapshot;
}

static CairnTestSnapshot *
read_store (void)
{
  GError *error = NULL;
  CairnTestSnapshot *snapshot =
    cairn_test_snapshot_new_from_store (client, cairn_test_resource_get_id (resource), part,
                                        &error);

  assert_no_error (error);
  return snapshot;
}

/* How many copies of @content are in @folder (NULL: anywhere) on the
 * backend and in the store. */
static void
assert_copies (const char *folder,
               GBytes     *content,
               guint       n)
{
  g_autoptr(CairnTestSnapshot) on_backend = read_backend ();
  g_autoptr(CairnTestSnapshot) stored = read_store ();

  ck_assert_uint_eq (cairn_test_snapshot_count_items (on_backend, folder, content), n);
  ck_assert_uint_eq (cairn_test_snapshot_count_items (stored, folder, content), n);
}

/* Online, replayed and synchronized: backend and store agree and hold
 * @content once in @folder. */
static void
replay_and_expect (const char *folder,
                   GBytes     *content)
{
  set_online (TRUE);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies (folder, content, 1);
}

static guint64
collection_id (const char *remote_id)
{
  return cairn_check_collection_id (client, cairn_test_resource_get_id (resource), remote_id);
}

/* Local changes, as an application writes them */

typedef struct
{
  const char *mime_type;
  guint64 collection;
  GBytes *content;
  guint64 id;
  guint64 target;
  const char *flag;
} Edit;

static gboolean
create (CairnTransaction  *transaction,
        gpointer           user_data,
        GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnItem) item = cairn_item_new (edit->mime_type);
  g_autoptr(CairnPart) payload = cairn_part_new_inline (part, edit->content);

  cairn_item_set_collection_id (item, edit->collection);
  cairn_item_set_size (item, g_bytes_get_size (edit->content));
  cairn_item_set_part (item, payload);
  if (!cairn_transaction_create_item (transaction, item, error))
    return FALSE;
  edit->id = cairn_item_get_id (item);
  return TRUE;
}

static gboolean
modify (CairnTransaction  *transaction,
        gpointer           user_data,
        GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnItem) item = cairn_store_get_item (client, edit->id, NULL, error);
  g_autoptr(CairnPart) payload = cairn_part_new_inline (part, edit->content);

  if (item == NULL)
    return FALSE;
  cairn_item_set_size (item, g_bytes_get_size (edit->content));
  cairn_item_set_part (item, payload);
  return cairn_transaction_modify_item (transaction, item, 0, error);
}

static gboolean
move (CairnTransaction  *transaction,
      gpointer           user_data,
      GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_move_item (transaction, edit->id, edit->target, error);
}

static gboolean
modify_and_move (CairnTransaction  *transaction,
                 gpointer           user_data,
                 GError           **error)
{
  return modify (transaction, user_data, error) && move (transaction, user_data, error);
}

static gboolean
flag (CairnTransaction  *transaction,
      gpointer           user_data,
      GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  cairn_flags_delta_add (delta, edit->flag);
  return cairn_transaction_change_flags (transaction, edit->id, delta, 0, error);
}

static gboolean
delete (CairnTransaction  *transaction,
        gpointer           user_data,
        GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_delete_item (transaction, edit->id, error);
}

typedef struct
{
  const char *name;
  guint64 parent;
  guint64 id;
} Folder;

static gboolean
create_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Folder *folder = user_data;
  const char *mime_types[] = { "text/plain", NULL };
  g_autoptr(CairnCollection) collection =
    cairn_collection_new (cairn_test_resource_get_id (resource), folder->parent, folder->name);

  cairn_collection_set_content_mime_types (collection, mime_types);
  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  folder->id = cairn_collection_get_id (collection);
  return TRUE;
}

static gboolean
move_folder (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Folder *folder = user_data;

  return cairn_transaction_move_collection (transaction, folder->id, folder->parent, error);
}

static gboolean
rename_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Folder *folder = user_data;
  g_autoptr(CairnCollection) collection =
    cairn_store_get_collection (client, folder->id, error);

  if (collection == NULL)
    return FALSE;
  cairn_collection_set_name (collection, folder->name);
  return cairn_transaction_modify_collection (transaction, collection, 0, error);
}

static gboolean
delete_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Folder *folder = user_data;

  return cairn_transaction_delete_collection (transaction, folder->id, error);
}

/* @data is an Edit, or a Folder for the folder changes. */
static void
local_write (CairnTransactionFunc  func,
             gpointer              data)
{
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, func, data, NULL, NULL, &error));
  assert_no_error (error);
}

/* Creates @first, then each folder after it inside the one before. */
static void
create_nested (Folder *first,
               ...)
{
  Folder *parent = first;
  Folder *folder;
  va_list args;

  local_write (create_folder, first);
  va_start (args, first);
  while ((folder = va_arg (args, Folder *)) != NULL)
    {
      folder->parent = parent->id;
      local_write (create_folder, folder);
      parent = folder;
    }
  va_end (args);
}

/* Writes @edit's message, waits until the backend has it, then goes
 * offline for the sequence under test. */
static void
create_then_go_offline (Edit *edit)
{
  local_write (create, edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  set_online (FALSE);
}

static GBytes *
content (guint  n,
         guint  version,
         gsize  size)
{
  return cairn_test_replay_make_content (12, n, version, size);
}

/* Tests */

START_TEST (test_offline_create_delete)
{
  g_autoptr(GBytes) note = content (1, 1, 500);
  Edit edit = { "text/plain", 0, note, 0, 0, NULL };

  start_notes ();
  edit.collection = collection_id ("Inbox");
  set_online (FALSE);
  local_write (create, &edit);
  local_write (delete, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  assert_copies (NULL, note, 0);
}
END_TEST

START_TEST (test_offline_create_move)
{
  g_autoptr(GBytes) note = content (1, 1, 500);
  Edit edit = { "text/plain", 0, note, 0, 0, NULL };

  start_notes ();
  edit.collection = collection_id ("Inbox");
  edit.target = collection_id ("Work");
  set_online (FALSE);
  local_write (create, &edit);
  local_write (move, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  assert_copies ("Work", note, 1);
  assert_copies (NULL, note, 1);
}
END_TEST

START_TEST (test_online_create_move)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  start_notes ();
  for (guint i = 0; i < 30; i++)
    {
      Edit edit = { "text/plain", collection_id ("Inbox"), content (i, 1, 300), 0,
                    collection_id ("Work"), NULL };

      g_ptr_array_add (notes, edit.content);
      local_write (create, &edit);
      local_write (move, &edit);
    }
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  for (guint i = 0; i < notes->len; i++)
    {
      assert_copies ("Work", g_ptr_array_index (notes, i), 1);
      assert_copies (NULL, g_ptr_array_index (notes, i), 1);
    }
}
END_TEST

#define N_BATCH 2000

/* Creates, edits, moves and deletes among the batch's own notes; backend
 * and store agreeing means no item without a file, no stray file and no
 * duplicate. */
START_TEST (test_offline_batch)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) versions = g_array_new (FALSE, FALSE, sizeof (guint));
  guint64 folders[2];

  start_notes ();
  folders[0] = collection_id ("Inbox");
  folders[1] = collection_id ("Work");
  set_online (FALSE);
  for (guint i = 0; i < N_BATCH; i++)
    {
      guint choice = g_rand_int_range (rand, 0, 100);
      guint n = ids->len ? g_rand_int_range (rand, 0, ids->len) : 0;
      Edit edit = { "text/plain", folders[g_rand_int_range (rand, 0, 2)], NULL, 0,
                    folders[g_rand_int_range (rand, 0, 2)], NULL };

      if (ids->len == 0 || choice < 40)
        {
          guint version = 1;

          edit.content = content (i, version, g_rand_int_range (rand, 100, 2000));
          local_write (create, &edit);
          g_array_append_val (ids, edit.id);
          g_array_append_val (versions, version);
        }
      else if (choice < 65)
        {
          edit.id = g_array_index (ids, guint64, n);
          edit.content = content (edit.id, ++g_array_index (versions, guint, n),
                                  g_rand_int_range (rand, 100, 2000));
          local_write (modify, &edit);
        }
      else if (choice < 85)
        {
          edit.id = g_array_index (ids, guint64, n);
          local_write (move, &edit);
        }
      else
        {
          edit.id = g_array_index (ids, guint64, n);
          local_write (delete, &edit);
          g_array_remove_index (ids, n);
          g_array_remove_index (versions, n);
        }
      g_clear_pointer (&edit.content, g_bytes_unref);
    }
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  {
    g_autoptr(CairnTestSnapshot) stored = read_store ();

    /* The two first notes and the batch's survivors. */
    ck_assert_uint_eq (cairn_test_snapshot_get_n_items (stored), ids->len + 2);
  }
}
END_TEST

START_TEST (test_edit_move_one_transaction)
{
  g_autoptr(GBytes) first = content (1, 1, 400);
  g_autoptr(GBytes) edited = content (1, 2, 600);
  Edit edit = { "text/plain", 0, first, 0, 0, NULL };

  start_notes ();
  edit.collection = collection_id ("Inbox");
  edit.target = collection_id ("Work");
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  edit.content = edited;
  local_write (modify_and_move, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  assert_copies ("Work", edited, 1);
  assert_copies (NULL, first, 0);
}
END_TEST

START_TEST (test_edit_move_while_stopped)
{
  g_autoptr(GBytes) first = content (1, 1, 400);
  g_autoptr(GBytes) edited = content (1, 2, 600);
  Edit edit = { "text/plain", 0, first, 0, 0, NULL };
  GError *error = NULL;

  start_notes ();
  edit.collection = collection_id ("Inbox");
  edit.target = collection_id ("Work");
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  cairn_test_resource_stop (resource);
  edit.content = edited;
  local_write (modify, &edit);
  local_write (move, &edit);
  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  assert_copies ("Work", edited, 1);
  assert_copies (NULL, first, 0);
}
END_TEST

START_TEST (test_large_note)
{
  g_autoptr(GBytes) note = content (1, 1, 40 * 1024);
  Edit edit = { "text/plain", 0, note, 0, 0, NULL };

  start_notes ();
  edit.collection = collection_id ("Inbox");
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT);
  assert_copies ("Inbox", note, 1);
}
END_TEST

START_TEST (test_seen_then_move)
{
  g_autoptr(GBytes) message = content (1, 1, 800);
  Edit edit = { "message/rfc822", 0, message, 0, 0, CAIRN_FLAG_SEEN };
  g_autoptr(CairnItem) item = NULL;
  g_autofree char *archive = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  GError *error = NULL;

  start_maildir ();
  edit.collection = collection_id ("INBOX");
  edit.target = collection_id (".Archive");
  create_then_go_offline (&edit);
  local_write (flag, &edit);
  local_write (move, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies ("Archive", message, 1);

  item = cairn_store_get_item (client, edit.id, NULL, &error);
  assert_no_error (error);
  ck_assert (cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN));
  /* The file's name carries S: the remote revision is its name. */
  name = g_path_get_basename (cairn_item_get_remote_revision (item));
  ck_assert_msg (g_str_has_suffix (name, ":2,S"), "%s", name);
  archive = cairn_test_maildir_get_folder_path (maildir, "Archive");
  path = g_build_filename (archive, cairn_item_get_remote_revision (item), NULL);
  ck_assert_msg (g_file_test (path, G_FILE_TEST_IS_REGULAR), "no file %s", path);
}
END_TEST

/* Seed 2 of the replay test under cairn-control: an item moved out of a
 * folder, which is then removed, and moved on into a folder created after
 * the first move. The two moves were delivered as one, after the removal,
 * which had taken the file with the folder. */
START_TEST (test_move_out_remove_source_move_on)
{
  g_autoptr(GBytes) note = content (1, 1, 500);
  Edit edit = { "text/plain", 0, note, 0, 0, NULL };
  Folder source = { "Source", 0, 0 };
  Folder middle = { "Middle", 0, 0 };
  Folder newer = { "Newer", 0, 0 };

  start_files ();
  local_write (create_folder, &source);
  local_write (create_folder, &middle);
  edit.collection = source.id;
  create_then_go_offline (&edit);
  edit.target = middle.id;
  local_write (move, &edit);
  local_write (create_folder, &newer);
  local_write (delete_folder, &source);
  edit.target = newer.id;
  local_write (move, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies ("Newer", note, 1);
  assert_copies (NULL, note, 1);
}
END_TEST

/* The same for a folder moved out of its parent, which is then removed,
 * and moved on into a folder created after the first move. */
START_TEST (test_folder_move_out_remove_parent_move_on)
{
  g_autoptr(GBytes) note = content (1, 1, 500);
  Edit edit = { "text/plain", 0, note, 0, 0, NULL };
  Folder parent = { "Parent", 0, 0 };
  Folder child = { "Child", 0, 0 };
  Folder newer = { "Newer", 0, 0 };

  start_files ();
  local_write (create_folder, &parent);
  child.parent = parent.id;
  local_write (create_folder, &child);
  edit.collection = child.id;
  create_then_go_offline (&edit);
  child.parent = 0;
  local_write (move_folder, &child);
  local_write (create_folder, &newer);
  local_write (delete_folder, &parent);
  child.parent = newer.id;
  local_write (move_folder, &child);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies ("Newer/Child", note, 1);
  assert_copies (NULL, note, 1);
}
END_TEST

/* Seed 1 of the maildir replay test: a folder renamed, the resource
 * killed after the rename on disk but before it reported, and the folder
 * removed before the replay ran again. The removal named the old folder,
 * which no longer existed, and the next sync brought the folder back. The
 * rename another program makes here leaves the maildir as that attempt
 * did. */
START_TEST (test_rename_unreported_then_remove)
{
  g_autoptr(GBytes) message = content (1, 1, 800);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder folder = { "Old", 0, 0 };
  g_autofree char *old_path = NULL;
  g_autofree char *new_path = NULL;
  GError *error = NULL;

  start_maildir ();
  local_write (create_folder, &folder);
  edit.collection = folder.id;
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  cairn_test_resource_stop (resource);
  folder.name = "New";
  local_write (rename_folder, &folder);
  old_path = cairn_test_maildir_get_folder_path (maildir, "Old");
  new_path = cairn_test_maildir_get_folder_path (maildir, "New");
  ck_assert_int_eq (g_rename (old_path, new_path), 0);
  local_write (delete_folder, &folder);
  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  ck_assert_msg (!g_file_test (new_path, G_FILE_TEST_EXISTS), "%s is back", new_path);
  assert_copies (NULL, message, 0);
}
END_TEST

/* Stops the resource and renames the message of @edit's item in its
 * folder @folder to a name of ours the store does not know, as an edit
 * killed after it wrote the new message and removed the old one, before
 * the store learnt the new name, leaves it (its content does not matter
 * here). */
static void
leave_unreported_edit (Edit       *edit,
                       const char *folder)
{
  g_autoptr(CairnItem) stored = NULL;
  g_autofree char *path = cairn_test_maildir_get_folder_path (maildir, folder);
  g_autofree char *old_path = NULL;
  g_autofree char *new_path = NULL;
  g_autofree char *name = NULL;
  GError *error = NULL;

  cairn_test_resource_stop (resource);
  stored = cairn_store_get_item (client, edit->id, NULL, &error);
  assert_no_error (error);
  old_path = g_build_filename (path, cairn_item_get_remote_revision (stored), NULL);
  name = g_strdup_printf ("cairn.I%" G_GUINT64_FORMAT ".00000000000000ed.host:2,", edit->id);
  new_path = g_build_filename (path, "cur", name, NULL);
  ck_assert_int_eq (g_rename (old_path, new_path), 0);
}

static void
restart (void)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
}

/* Seed 1 of the maildir replay test, under load: after such an edit, the
 * move that followed named the old message, found nothing and left the
 * new one behind, which the next sync took for a new message; once the
 * destination was removed, it was back. */
START_TEST (test_move_after_unreported_edit)
{
  g_autoptr(GBytes) message = content (1, 1, 800);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder shelf = { "Shelf", 0, 0 };
  Folder target = { "Target", 0, 0 };

  start_maildir ();
  local_write (create_folder, &shelf);
  local_write (create_folder, &target);
  edit.collection = shelf.id;
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  leave_unreported_edit (&edit, "Shelf");
  edit.target = target.id;
  local_write (move, &edit);
  restart ();
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies ("Target", message, 1);
  local_write (delete_folder, &target);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies (NULL, message, 0);
}
END_TEST

/* After such an edit, another edit wrote its message and kept the one of
 * the unreported edit beside it: a duplicate after the next sync. */
START_TEST (test_edit_after_unreported_edit)
{
  g_autoptr(GBytes) message = content (1, 1, 800);
  g_autoptr(GBytes) edited = content (1, 2, 900);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder shelf = { "Shelf", 0, 0 };

  start_maildir ();
  local_write (create_folder, &shelf);
  edit.collection = shelf.id;
  local_write (create, &edit);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  leave_unreported_edit (&edit, "Shelf");
  edit.content = edited;
  local_write (modify, &edit);
  restart ();
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies (NULL, message, 0);
  assert_copies ("Shelf", edited, 1);
}
END_TEST

/* Seed 12 of the maildir replay test: a folder renamed while offline,
 * then moved into a folder made after the rename. The rename was replayed
 * to where the folder is now, into the new parent, which the maildir did
 * not have yet: a failed change ("The folder was never written"). */
START_TEST (test_rename_then_move_into_new_folder)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder folder = { "Old", 0, 0 };
  Folder parent = { "Parent", 0, 0 };

  start_maildir ();
  local_write (create_folder, &folder);
  edit.collection = folder.id;
  create_then_go_offline (&edit);
  folder.name = "New";
  local_write (rename_folder, &folder);
  local_write (create_folder, &parent);
  folder.parent = parent.id;
  local_write (move_folder, &folder);
  replay_and_expect ("Parent/New", message);
}
END_TEST

/* Seed 25 of the maildir replay test: a folder renamed, moved and renamed
 * again while offline. Its two renames were coalesced into one pending
 * change, placed before the move and named by the second, while the move
 * kept the name of its own time: replayed each as the change put it, the
 * folder ended under its first new name. */
START_TEST (test_rename_move_rename)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder parent = { "Parent", 0, 0 };
  Folder folder = { "Old", 0, 0 };

  start_maildir ();
  local_write (create_folder, &parent);
  folder.parent = parent.id;
  local_write (create_folder, &folder);
  edit.collection = folder.id;
  create_then_go_offline (&edit);
  folder.name = "Middle";
  local_write (rename_folder, &folder);
  folder.parent = 0;
  local_write (move_folder, &folder);
  folder.name = "New";
  local_write (rename_folder, &folder);
  replay_and_expect ("New", message);
}
END_TEST

/* Seed 35 of the maildir replay test: a folder moved out of its parent,
 * its old parent renamed, a message moved out of the folder's
 * sub-folder, and the folder removed, all pending. The folder's move is
 * never replayed, the removal taking its place, so the maildir has it in
 * its old parent, renamed since; the message's move looked for it where
 * its removal put it, found nothing, and the message went with the
 * folder's removal: lost. */
START_TEST (test_move_out_of_folder_removed_after_its_move)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder outer = { "Outer", 0, 0 };
  Folder moving = { "Moving", 0, 0 };
  Folder inner = { "Inner", 0, 0 };
  Folder target = { "Target", 0, 0 };

  start_maildir ();
  create_nested (&outer, &moving, &inner, NULL);
  local_write (create_folder, &target);
  edit.collection = inner.id;
  create_then_go_offline (&edit);
  moving.parent = 0;
  local_write (move_folder, &moving);
  outer.name = "Renamed";
  local_write (rename_folder, &outer);
  edit.target = target.id;
  local_write (move, &edit);
  local_write (delete_folder, &moving);
  replay_and_expect ("Target", message);
}
END_TEST

/* Seed 53 of the maildir replay test: a message moved into a folder
 * made while offline, edited, moved on into a folder made after its
 * first move, and the first folder removed. The two moves stay apart,
 * the second going after its folder's creation, but the first folder's
 * creation and removal were dropped as one: both moves and the edit
 * failed ("The folder was never written"). */
START_TEST (test_move_through_folder_removed_later)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  g_autoptr(GBytes) edited = content (1, 2, 900);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder passing = { "Passing", 0, 0 };
  Folder target = { "Target", 0, 0 };

  start_maildir ();
  edit.collection = collection_id ("INBOX");
  create_then_go_offline (&edit);
  local_write (create_folder, &passing);
  edit.target = passing.id;
  local_write (move, &edit);
  edit.content = edited;
  local_write (modify, &edit);
  local_write (create_folder, &target);
  edit.target = target.id;
  local_write (move, &edit);
  local_write (delete_folder, &passing);
  replay_and_expect ("Target", edited);
  assert_copies (NULL, message, 0);
}
END_TEST

/* Pending, all of it: a folder moved out of its parent, then the parent
 * removed (if @remove_parent) or the folder renamed to @new_name (if not
 * NULL), a message moved out of the folder, and the folder removed. The
 * message must be in Target once. */
static void
move_out_of_folder_then_remove_it (gboolean    remove_parent,
                                   const char *new_name)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder parent = { "Parent", 0, 0 };
  Folder moving = { "Moving", 0, 0 };
  Folder target = { "Target", 0, 0 };

  start_maildir ();
  create_nested (&parent, &moving, NULL);
  local_write (create_folder, &target);
  edit.collection = moving.id;
  create_then_go_offline (&edit);
  moving.parent = 0;
  local_write (move_folder, &moving);
  if (remove_parent)
    local_write (delete_folder, &parent);
  if (new_name != NULL)
    {
      moving.name = new_name;
      local_write (rename_folder, &moving);
    }
  edit.target = target.id;
  local_write (move, &edit);
  local_write (delete_folder, &moving);
  replay_and_expect ("Target", message);
}

/* Seed 314 of the maildir replay test: the folder's removal took the
 * place of its move, so the parent's removal, replayed first, deleted
 * the folder where the maildir still had it, with the message in it:
 * lost. */
START_TEST (test_move_out_of_folder_moved_out_of_removed_parent)
{
  move_out_of_folder_then_remove_it (TRUE, NULL);
}
END_TEST

/* A folder moved into a folder made while offline, which is then
 * removed with it: the move stays (a removed collection keeps its
 * pending move), so the new folder is made for it and both go, with the
 * message, and no change fails. */
START_TEST (test_folder_moved_into_new_folder_removed)
{
  g_autoptr(GBytes) message = content (1, 1, 700);
  Edit edit = { "message/rfc822", 0, message, 0, 0, NULL };
  Folder moving = { "Moving", 0, 0 };
  Folder fresh = { "Fresh", 0, 0 };

  start_maildir ();
  local_write (create_folder, &moving);
  edit.collection = moving.id;
  create_then_go_offline (&edit);
  local_write (create_folder, &fresh);
  moving.parent = fresh.id;
  local_write (move_folder, &moving);
  local_write (delete_folder, &fresh);
  set_online (TRUE);
  assert_agree (CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS);
  assert_copies (NULL, message, 0);
}
END_TEST

/* With a rename between, the move and the rename stay before the
 * removal, which finds the folder under its new name. */
START_TEST (test_folder_moved_renamed_then_removed)
{
  move_out_of_folder_then_remove_it (FALSE, "Renamed");
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "notes", test_offline_create_delete },
    { "notes", test_offline_create_move },
    { "notes", test_online_create_move },
    { "notes", test_offline_batch },
    { "notes", test_edit_move_one_transaction },
    { "notes", test_edit_move_while_stopped },
    { "notes", test_large_note },
    { "maildir", test_seen_then_move },
    { "maildir", test_rename_unreported_then_remove },
    { "maildir", test_move_after_unreported_edit },
    { "maildir", test_edit_after_unreported_edit },
    { "maildir", test_rename_then_move_into_new_folder },
    { "maildir", test_rename_move_rename },
    { "maildir", test_move_out_of_folder_removed_after_its_move },
    { "maildir", test_move_through_folder_removed_later },
    { "maildir", test_move_out_of_folder_moved_out_of_removed_parent },
    { "maildir", test_folder_moved_into_new_folder_removed },
    { "maildir", test_folder_moved_renamed_then_removed },
    { "test-files", test_move_out_remove_source_move_on },
    { "test-files", test_folder_move_out_remove_parent_move_on },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("replay-sequences", cases,
                                                     G_N_ELEMENTS (cases), setup, teardown,
                                                     240));
}
