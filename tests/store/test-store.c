/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-test-suite.h"

#define MIME_MAIL "message/rfc822"
#define RESOURCE "maildir_0"

static char *tmpdir;
static char *db_path;
static gboolean dropped_root;
static CairnStore *store;

/* Fixtures */

/* Folders a test made read-only are made writable first: only root
 * removes files from them as they are. */
static void
remove_tree (const char *path)
{
  const char *chmod_argv[] = { "chmod", "-R", "u+rwX", path, NULL };
  const char *rm_argv[] = { "rm", "-rf", path, NULL };

  g_spawn_sync (NULL, (char **) chmod_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_spawn_sync (NULL, (char **) rm_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

static void
setup (void)
{
  GError *error = NULL;

  tmpdir = g_dir_make_tmp ("cairn-test-store-XXXXXX", &error);
  ck_assert_ptr_nonnull (tmpdir);
  db_path = g_build_filename (tmpdir, "store.db", NULL);
  store = cairn_store_open (db_path, NULL, &error);
  ck_assert_msg (store != NULL, "open: %s", error ? error->message : "");
}

static void
teardown (void)
{
  /* A test that dropped root kept it as its saved id. */
  if (dropped_root)
    {
      g_assert_cmpint (setresuid (0, 0, 0), ==, 0);
      g_assert_cmpint (setresgid (0, 0, 0), ==, 0);
      dropped_root = FALSE;
    }
  g_clear_object (&store);
  remove_tree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&db_path, g_free);
}

#define assert_error(error, expected) \
  G_STMT_START { \
    ck_assert_msg ((error) != NULL, "expected error %d, got none", (int) (expected)); \
    ck_assert_msg (g_error_matches ((error), CAIRN_STORE_ERROR, (expected)), \
                   "expected store error %d, got %s %d: %s", (int) (expected), \
                   g_quark_to_string ((error)->domain), (error)->code, (error)->message); \
    ck_assert_str_ne ((error)->message, ""); \
    g_clear_error (&(error)); \
  } G_STMT_END

/* Runs a transaction from a block of code: the block sees `txn` and
 * `error` and evaluates to a gboolean. */
typedef gboolean (*WriteBlock) (CairnTransaction *txn, gpointer data, GError **error);

static guint64
write_ok (WriteBlock block,
          gpointer   data)
{
  GError *error = NULL;
  guint64 revision = 0;

  ck_assert_msg (cairn_store_write_sync (store, block, data, &revision, NULL, &error),
                 "write: %s", error ? error->message : "");
  return revision;
}

static guint64
current_revision (void)
{
  GError *error = NULL;
  guint64 revision = G_MAXUINT64;

  ck_assert (cairn_store_get_revision (store, &revision, &error));
  assert_no_error (error);
  return revision;
}

static gboolean
create_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_collection (txn, data, error);
}

static guint64
make_collection (const char *resource,
                 guint64     parent,
                 const char *name,
                 const char *remote_id)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (resource, parent, name);

  cairn_collection_set_remote_id (collection, remote_id);
  write_ok (create_collection_block, collection);
  ck_assert_uint_ne (cairn_collection_get_id (collection), 0);
  return cairn_collection_get_id (collection);
}

static CairnItem *
new_mail (guint64     collection_id,
          const char *remote_id,
          const char *envelope)
{
  CairnItem *item = cairn_item_new (MIME_MAIL);
  g_autoptr(GBytes) data = g_bytes_new (envelope, strlen (envelope));
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, data);
  g_autofree char *gid = g_strdup_printf ("<%s@example.org>", remote_id);

  cairn_item_set_collection_id (item, collection_id);
  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_gid (item, gid);
  cairn_item_set_size (item, 1000 + strlen (envelope));
  cairn_item_set_part (item, part);
  return item;
}

static gboolean
create_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_item (txn, data, error);
}

static guint64
make_mail (guint64     collection_id,
           const char *remote_id,
           const char *flag)
{
  g_autoptr(CairnItem) item = new_mail (collection_id, remote_id, "From: a@example.org");

  if (flag)
    cairn_flags_add (cairn_item_get_flags (item), flag);
  write_ok (create_item_block, item);
  return cairn_item_get_id (item);
}

static GPtrArray *
changes_since (guint64 revision)
{
  GError *error = NULL;
  GPtrArray *changes = cairn_store_get_changes_since (store, revision, 0, &error);

  assert_no_error (error);
  ck_assert_ptr_nonnull (changes);
  return changes;
}

static CairnChange *
last_change (void)
{
  g_autoptr(GPtrArray) changes = changes_since (0);

  ck_assert_uint_gt (changes->len, 0);
  return cairn_change_ref (g_ptr_array_index (changes, changes->len - 1));
}

static void
reopen_store (void)
{
  GError *error = NULL;

  g_clear_object (&store);
  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);
}

static GBytes *
stream_contents (GInputStream *stream)
{
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  GError *error = NULL;

  ck_assert_ptr_nonnull (stream);
  ck_assert (g_output_stream_splice (out, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                                     &error) >= 0);
  assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static GBytes *
read_part (guint64 item_id, const char *name)
{
  GError *error = NULL;
  g_autoptr(GInputStream) stream = cairn_store_open_part (store, item_id, name, NULL, &error);

  assert_no_error (error);
  return stream_contents (stream);
}

static gboolean
problems_contain (GPtrArray  *problems,
                  const char *text)
{
  for (guint i = 0; i < problems->len; i++)
    if (strstr (g_ptr_array_index (problems, i), text) != NULL)
      return TRUE;
  return FALSE;
}

static void
set_new_part (CairnItem *item,
              CairnPart *part)
{
  cairn_item_set_part (item, part);
  cairn_part_unref (part);
}

/* Opening */

START_TEST (test_open_new)
{
  ck_assert_uint_eq (current_revision (), 0);
  ck_assert_str_eq (cairn_store_get_path (store), db_path);
  ck_assert (g_file_test (db_path, G_FILE_TEST_IS_REGULAR));
}
END_TEST

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

START_TEST (test_open_async)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(CairnStore) other = NULL;
  GError *error = NULL;

  cairn_store_open_async (db_path, NULL, store_result, &result);
  other = cairn_store_open_finish (wait_result (&result), &error);
  assert_no_error (error);
  ck_assert_ptr_nonnull (other);
  ck_assert_str_eq (cairn_store_get_path (other), db_path);
}
END_TEST

START_TEST (test_open_missing_folder)
{
  g_autofree char *path = g_build_filename (tmpdir, "no", "such", "store.db", NULL);
  GError *error = NULL;

  ck_assert_ptr_null (cairn_store_open (path, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

/* Root ignores file permissions, so a test run as root drops to nobody,
 * in its own forked test process, after giving it @tree; any other user
 * is already held to them. */
static void
drop_root (const char *tree)
{
  const char *argv[] = { "chown", "-R", "65534:65534", tree, NULL };
  int status;

  if (getuid () != 0)
    return;
  if (tree != NULL)
    {
      ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
      ck_assert (g_spawn_check_wait_status (status, NULL));
    }
  ck_assert_int_eq (setresgid (65534, 65534, 0), 0);
  ck_assert_int_eq (setresuid (65534, 65534, 0), 0);
  dropped_root = TRUE;
}

START_TEST (test_open_read_only_folder)
{
  g_autofree char *folder = g_build_filename (tmpdir, "ro", NULL);
  g_autofree char *path = g_build_filename (folder, "store.db", NULL);
  g_autofree char *existing = g_build_filename (folder, "existing.db", NULL);
  g_autofree char *writable = g_build_filename (folder, "writable.db", NULL);
  const char *stores[] = { existing, writable };
  GError *error = NULL;

  ck_assert_int_eq (g_mkdir (folder, 0755), 0);
  for (guint i = 0; i < G_N_ELEMENTS (stores); i++)
    {
      g_autoptr(CairnStore) made = cairn_store_open (stores[i], NULL, &error);

      assert_no_error (error);
      ck_assert_ptr_nonnull (made);
    }
  ck_assert_int_eq (g_chmod (tmpdir, 0755), 0);
  ck_assert_int_eq (g_chmod (folder, 0555), 0);
  ck_assert_int_eq (g_chmod (existing, 0444), 0);
  ck_assert_int_eq (g_chmod (writable, 0666), 0);
  drop_root (NULL);

  ck_assert_ptr_null (cairn_store_open (path, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_READ_ONLY);
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));

  /* A store in a read-only folder cannot write its -wal and -shm files:
   * read-only, whether the file itself is writable or not. */
  for (guint i = 0; i < G_N_ELEMENTS (stores); i++)
    {
      ck_assert_ptr_null (cairn_store_open (stores[i], NULL, &error));
      ck_assert_msg (error != NULL && strstr (error->message, "read-only") != NULL &&
                     strstr (error->message, "not a Cairn store") == NULL,
                     "misleading message: %s", error ? error->message : "");
      assert_error (error, CAIRN_STORE_ERROR_READ_ONLY);
    }
}
END_TEST

static void
set_schema_version (int version)
{
  sqlite3 *db;
  g_autofree char *sql = g_strdup_printf ("UPDATE schema_version SET version = %d", version);

  ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_close (db), SQLITE_OK);
}

START_TEST (test_open_newer_schema)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize before_len, after_len;
  GError *error = NULL;

  make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_clear_object (&store);
  set_schema_version (CAIRN_STORE_SCHEMA_VERSION + 1);
  ck_assert (g_file_get_contents (db_path, &before, &before_len, NULL));

  ck_assert_ptr_null (cairn_store_open (db_path, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NEWER_SCHEMA);

  ck_assert (g_file_get_contents (db_path, &after, &after_len, NULL));
  ck_assert_uint_eq (before_len, after_len);
  ck_assert_int_eq (memcmp (before, after, before_len), 0);
}
END_TEST

START_TEST (test_open_not_a_database)
{
  g_autofree char *path = g_build_filename (tmpdir, "junk.db", NULL);
  g_autofree char *junk = g_strnfill (8192, 'x');
  GError *error = NULL;

  ck_assert (g_file_set_contents (path, junk, -1, NULL));
  ck_assert_ptr_null (cairn_store_open (path, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
}
END_TEST

START_TEST (test_open_foreign_sqlite)
{
  g_autofree char *path = g_build_filename (tmpdir, "other.db", NULL);
  GError *error = NULL;
  sqlite3 *db;

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);

  ck_assert_ptr_null (cairn_store_open (path, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
}
END_TEST

static gboolean
create_many_block (CairnTransaction *txn, gpointer data, GError **error)
{
  guint64 collection_id = GPOINTER_TO_SIZE (data);

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);
      g_autoptr(CairnItem) item = new_mail (collection_id, remote_id,
                                            "From: someone@example.org\nSubject: a fairly long "
                                            "subject line to fill the database pages up");

      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
count_item (CairnItem *item, gpointer data)
{
  (*(guint *) data)++;
  return TRUE;
}

START_TEST (test_open_truncated)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnStore) reopened = NULL;
  GError *error = NULL;
  guint count = 0;
  struct stat st;

  write_ok (create_many_block, GSIZE_TO_POINTER (inbox));
  g_clear_object (&store);
  ck_assert_int_eq (g_stat (db_path, &st), 0);
  ck_assert_int_eq (truncate (db_path, st.st_size / 3), 0);

  reopened = cairn_store_open (db_path, NULL, &error);
  if (reopened == NULL)
    {
      assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
      return;
    }
  ck_assert (!cairn_store_foreach_item (reopened, inbox, NULL, count_item, &count, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
}
END_TEST

/* Copies a fixture database, with its payload folder if it has one, into
 * the test folder and returns the copy's path. */
static char *
copy_fixture (const char *name)
{
  g_autofree char *fixture = g_build_filename (FIXTURES_DIR, name, NULL);
  g_autofree char *payloads = g_strconcat (fixture, ".payloads", NULL);
  char *copy = g_build_filename (tmpdir, name, NULL);
  const char *argv[] = { "cp", "-r", payloads, tmpdir, NULL };
  g_autofree char *contents = NULL;
  gsize length;
  int status;

  ck_assert_msg (g_file_get_contents (fixture, &contents, &length, NULL), "no %s", fixture);
  ck_assert (g_file_set_contents (copy, contents, length, NULL));
  if (g_file_test (payloads, G_FILE_TEST_IS_DIR))
    {
      ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
      ck_assert (g_spawn_check_wait_status (status, NULL));
    }
  return copy;
}

/* Overwrites the middle half of the database page that holds @marker. */
static void
damage_page_holding (const char *path,
                     const char *marker)
{
  g_autofree char *contents = NULL;
  g_autofree guint8 *junk = NULL;
  const char *found;
  gsize length, page_size;
  goffset page_start;
  int fd;

  ck_assert (g_file_get_contents (path, &contents, &length, NULL));
  page_size = ((guint8) contents[16] << 8) | (guint8) contents[17];
  found = memmem (contents, length, marker, strlen (marker));
  ck_assert_msg (found != NULL, "no %s in %s", marker, path);
  page_start = (found - contents) / page_size * page_size;
  junk = g_malloc (page_size / 2);
  memset (junk, 0xff, page_size / 2);
  fd = open (path, O_WRONLY);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (pwrite (fd, junk, page_size / 2, page_start + page_size / 4),
                    (gssize) page_size / 2);
  close (fd);
}

/* A damaged page is reported as damage where it is read, also by VACUUM,
 * which SQLite reports as a full disk. */
START_TEST (test_damaged_page)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GPtrArray) problems = NULL;
  GError *error = NULL;
  guint count = 0;

  write_ok (create_many_block, GSIZE_TO_POINTER (inbox));
  g_clear_object (&store);
  /* An item row: its remote id, then its GID. SQLite 3.40 reports this
   * page as a full disk to VACUUM. */
  damage_page_holding (db_path, "1050<1050@example.org>");
  reopen_store ();

  ck_assert (!cairn_store_foreach_item (store, inbox, NULL, count_item, &count, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
  ck_assert (!cairn_store_vacuum_sync (store, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
  if (cairn_store_check_sync (store, FALSE, &problems, NULL, &error))
    ck_assert (problems_contain (problems, "integrity: "));
  else
    assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
}
END_TEST

static gboolean
fill_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(GBytes) payload = g_bytes_new_take (g_malloc0 (8 * 1024), 8 * 1024);
  guint *serial = data;

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", (*serial)++);
      g_autoptr(CairnItem) item = new_mail (1, remote_id, "x");

      set_new_part (item, cairn_part_new_inline (CAIRN_PART_RFC822, payload));
      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

/* Writes 400 KB transactions into a new store at @path until one fails,
 * which must be with a full disk. */
static void
assert_fills_up (const char *path)
{
  g_autoptr(CairnStore) full = cairn_store_open (path, NULL, NULL);
  g_autoptr(CairnCollection) inbox = cairn_collection_new (RESOURCE, 0, "Inbox");
  GError *error = NULL;
  guint serial = 0;

  ck_assert_ptr_nonnull (full);
  ck_assert (cairn_store_write_sync (full, create_collection_block, inbox, NULL, NULL, &error));
  for (guint i = 0; i < 100; i++)
    if (!cairn_store_write_sync (full, fill_block, &serial, NULL, NULL, &error))
      break;
  assert_error (error, CAIRN_STORE_ERROR_NO_SPACE);
}

/* A full disk is a full disk: a tmpfs of 1 MiB where mounting one is
 * permitted (root in a mount namespace of its own), and always a file
 * size limit, whose EFBIG stops writes as ENOSPC does. */
START_TEST (test_disk_full)
{
  g_autofree char *small = g_build_filename (tmpdir, "small", NULL);
  g_autofree char *on_tmpfs = g_build_filename (small, "store.db", NULL);
  g_autofree char *limited = g_build_filename (tmpdir, "limited.db", NULL);
  struct rlimit limit;

  ck_assert_int_eq (g_mkdir (small, 0700), 0);
  if (unshare (CLONE_NEWNS) == 0 &&
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
      mount ("tmpfs", small, "tmpfs", 0, "size=1m") == 0)
    {
      assert_fills_up (on_tmpfs);
      ck_assert_int_eq (umount2 (small, MNT_DETACH), 0);
    }

  ck_assert_int_eq (getrlimit (RLIMIT_FSIZE, &limit), 0);
  limit.rlim_cur = 2 * 1024 * 1024;
  ck_assert_int_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
  signal (SIGXFSZ, SIG_IGN);
  assert_fills_up (limited);
}
END_TEST

START_TEST (test_schema_fixture)
{
  g_autofree char *copy = copy_fixture ("store-v1.db");
  g_autoptr(CairnStore) old = NULL;
  g_autoptr(GPtrArray) collections = NULL;
  GError *error = NULL;

  old = cairn_store_open (copy, NULL, &error);
  assert_no_error (error);
  collections = cairn_store_list_collections (old, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_gt (collections->len, 0);
}
END_TEST

/* store-v3.db was written by schema version 3: collections 1 and 2 of
 * 1 to 3, items 1 and 2 of 1 to 3 in collection 1, item 2 with a payload
 * file of 20000 bytes. The deleted ids are only in the change log. */
START_TEST (test_schema_fixture_v3)
{
  g_autofree char *copy = copy_fixture ("store-v3.db");
  g_autofree char *payload = g_build_filename (tmpdir, "store-v3.db.payloads", "3f",
                                               "4017490453204dc60ba5109b8bc97488d5", NULL);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GBytes) content = NULL;
  GError *error = NULL;
  int fd;

  g_clear_object (&store);
  g_free (db_path);
  db_path = g_steal_pointer (&copy);
  reopen_store ();

  ck_assert_uint_eq (make_mail (1, "3", NULL), 4);
  ck_assert_uint_eq (make_collection (RESOURCE, 0, "New", NULL), 4);
  content = read_part (2, CAIRN_PART_RFC822);
  ck_assert_uint_eq (g_bytes_get_size (content), 20000);

  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (problems->len, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* Its payload has no digest: a changed byte goes unseen, a changed
   * size does not. */
  fd = open (payload, O_WRONLY);
  ck_assert_int_eq (pwrite (fd, "\x5a", 1, 4321), 1);
  close (fd);
  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  ck_assert_uint_eq (problems->len, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);
  ck_assert_int_eq (truncate (payload, 100), 0);
  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  ck_assert_uint_eq (problems->len, 1);
  ck_assert (problems_contain (problems, "part RFC822 of item 2 has a file"));
  ck_assert (problems_contain (problems, "of 100 bytes, not 20000"));
}
END_TEST

/* Collections */

START_TEST (test_collection_tree)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 lists = make_collection (RESOURCE, inbox, "Lists", "INBOX/Lists");
  guint64 archive = make_collection (RESOURCE, 0, "Archive", "Archive");
  guint64 other = make_collection ("imap_1", 0, "Other", "x");
  g_autoptr(GPtrArray) tree = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(CairnCollection) child = NULL;
  GError *error = NULL;

  tree = cairn_store_list_collections (store, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (tree->len, 4);
  /* Depth first, siblings by name. */
  ck_assert_uint_eq (cairn_collection_get_id (g_ptr_array_index (tree, 0)), archive);
  ck_assert_uint_eq (cairn_collection_get_id (g_ptr_array_index (tree, 1)), inbox);
  ck_assert_uint_eq (cairn_collection_get_id (g_ptr_array_index (tree, 2)), lists);
  ck_assert_uint_eq (cairn_collection_get_id (g_ptr_array_index (tree, 3)), other);

  mine = cairn_store_list_collections (store, "imap_1", &error);
  assert_no_error (error);
  ck_assert_uint_eq (mine->len, 1);

  child = cairn_store_get_collection (store, lists, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_name (child), "Lists");
  ck_assert_str_eq (cairn_collection_get_resource (child), RESOURCE);
  ck_assert_uint_eq (cairn_collection_get_parent_id (child), inbox);
  ck_assert_uint_gt (cairn_collection_get_revision (child), 0);
}
END_TEST

START_TEST (test_collection_inherits_resource)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", NULL);
  g_autoptr(CairnCollection) child = cairn_collection_new (NULL, inbox, "Child");
  g_autoptr(CairnCollection) foreign = cairn_collection_new ("imap_1", inbox, "Foreign");
  g_autoptr(CairnCollection) orphan = cairn_collection_new (RESOURCE, 4242, "Orphan");
  GError *error = NULL;

  write_ok (create_collection_block, child);
  ck_assert_str_eq (cairn_collection_get_resource (child), RESOURCE);

  ck_assert (!cairn_store_write_sync (store, create_collection_block, foreign, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);
  ck_assert (!cairn_store_write_sync (store, create_collection_block, orphan, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_collection_invalid_names)
{
  const char *bad[] = { "", "bad \xff\xfe utf8", NULL };
  guint64 before;
  GError *error = NULL;

  make_collection (RESOURCE, 0, "Inbox", NULL);
  before = current_revision ();
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, 0, bad[i]);

      ck_assert (!cairn_store_write_sync (store, create_collection_block, collection, NULL, NULL,
                                          &error));
      assert_error (error, CAIRN_STORE_ERROR_INVALID);
    }
  {
    g_autoptr(CairnCollection) collection = cairn_collection_new ("has space", 0, "Name");

    ck_assert (!cairn_store_write_sync (store, create_collection_block, collection, NULL, NULL,
                                        &error));
    assert_error (error, CAIRN_STORE_ERROR_INVALID);
  }
  ck_assert_uint_eq (current_revision (), before);
}
END_TEST

START_TEST (test_collection_duplicate_remote_id)
{
  g_autoptr(CairnCollection) twin = cairn_collection_new (RESOURCE, 0, "Twin");
  g_autoptr(CairnCollection) found = NULL;
  GError *error = NULL;

  make_collection (RESOURCE, 0, "Inbox", "INBOX");
  make_collection ("imap_1", 0, "Inbox", "INBOX");
  cairn_collection_set_remote_id (twin, "INBOX");
  ck_assert (!cairn_store_write_sync (store, create_collection_block, twin, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_EXISTS);

  found = cairn_store_find_collection_by_remote_id (store, "imap_1", "INBOX", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_resource (found), "imap_1");
  ck_assert_ptr_null (cairn_store_find_collection_by_remote_id (store, "imap_1", "nope", &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

typedef struct
{
  CairnCollection *collection;
  guint64 unchanged_since;
} ModifyCollection;

static gboolean
modify_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  ModifyCollection *modify = data;

  return cairn_transaction_modify_collection (txn, modify->collection, modify->unchanged_since,
                                              error);
}

START_TEST (test_collection_modify)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(CairnCollection) reread = NULL;
  g_autoptr(CairnChange) change = NULL;
  g_autoptr(GBytes) value = g_bytes_new ("\0\1\2", 3);
  const char *mime_types[] = { MIME_MAIL, "inode/directory", NULL };
  const char *local_parts[] = { CAIRN_PART_ENVELOPE, NULL };
  ModifyCollection modify = { NULL, 0 };
  guint64 created, revision;
  GError *error = NULL;

  collection = cairn_store_get_collection (store, inbox, &error);
  assert_no_error (error);
  created = cairn_collection_get_revision (collection);

  /* Writing the same values changes nothing. */
  modify.collection = collection;
  ck_assert_uint_eq (write_ok (modify_collection_block, &modify), 0);

  cairn_collection_set_name (collection, "Posteingang");
  cairn_collection_set_content_mime_types (collection, mime_types);
  cairn_cache_policy_set_inherit (cairn_collection_get_cache_policy (collection), FALSE);
  cairn_cache_policy_set_check_interval (cairn_collection_get_cache_policy (collection), 5);
  cairn_cache_policy_set_local_parts (cairn_collection_get_cache_policy (collection), local_parts);
  cairn_collection_set_attribute (collection, "color", value);
  revision = write_ok (modify_collection_block, &modify);
  ck_assert_uint_gt (revision, created);
  ck_assert_uint_eq (cairn_collection_get_revision (collection), revision);

  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_MODIFY);
  ck_assert_int_eq (cairn_change_get_entity_kind (change), CAIRN_ENTITY_COLLECTION);
  ck_assert (g_strv_contains (cairn_change_get_parts (change), "NAME"));
  ck_assert (g_strv_contains (cairn_change_get_parts (change), "MIMETYPES"));
  ck_assert (g_strv_contains (cairn_change_get_parts (change), "CACHEPOLICY"));
  ck_assert (g_strv_contains (cairn_change_get_parts (change), "ATR:color"));
  ck_assert (!g_strv_contains (cairn_change_get_parts (change), "REMOTEID"));

  reread = cairn_store_get_collection (store, inbox, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_name (reread), "Posteingang");
  ck_assert (g_strv_equal (cairn_collection_get_content_mime_types (reread), mime_types));
  ck_assert (cairn_cache_policy_equal (cairn_collection_get_cache_policy (reread),
                                       cairn_collection_get_cache_policy (collection)));
  ck_assert (g_bytes_equal (cairn_collection_get_attribute (reread, "color"), value));

  /* Conditional: stale revision conflicts. */
  cairn_collection_set_name (collection, "Again");
  modify.unchanged_since = created;
  ck_assert (!cairn_store_write_sync (store, modify_collection_block, &modify, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CONFLICT);
  modify.unchanged_since = revision;
  write_ok (modify_collection_block, &modify);

  cairn_collection_set_id (collection, 999);
  ck_assert (!cairn_store_write_sync (store, modify_collection_block, &modify, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

typedef struct
{
  guint64 id;
  guint64 target;
} Pair;

static gboolean
move_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_move_collection (txn, pair->id, pair->target, error);
}

START_TEST (test_collection_move)
{
  guint64 a = make_collection (RESOURCE, 0, "A", NULL);
  guint64 b = make_collection (RESOURCE, a, "B", NULL);
  guint64 c = make_collection (RESOURCE, b, "C", NULL);
  guint64 d = make_collection (RESOURCE, 0, "D", NULL);
  guint64 other = make_collection ("imap_1", 0, "Other", NULL);
  g_autoptr(CairnCollection) moved = NULL;
  g_autoptr(CairnChange) change = NULL;
  GError *error = NULL;
  Pair into_self = { a, c }, onto_self = { a, a }, across = { b, other }, ok = { b, d };
  Pair unknown = { 999, d }, unknown_target = { b, 999 };

  ck_assert (!cairn_store_write_sync (store, move_collection_block, &into_self, NULL, NULL,
                                      &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);
  ck_assert (!cairn_store_write_sync (store, move_collection_block, &onto_self, NULL, NULL,
                                      &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);
  ck_assert (!cairn_store_write_sync (store, move_collection_block, &across, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);
  ck_assert (!cairn_store_write_sync (store, move_collection_block, &unknown, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  ck_assert (!cairn_store_write_sync (store, move_collection_block, &unknown_target, NULL, NULL,
                                      &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  write_ok (move_collection_block, &ok);
  moved = cairn_store_get_collection (store, b, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_collection_get_parent_id (moved), d);
  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_MOVE);
  ck_assert_uint_eq (cairn_change_get_collection_id (change), a);
  ck_assert_uint_eq (cairn_change_get_destination_id (change), d);
  (void) c;
}
END_TEST

static gboolean
delete_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_delete_collection (txn, GPOINTER_TO_SIZE (data), error);
}

START_TEST (test_collection_delete_recursive)
{
  guint64 a = make_collection (RESOURCE, 0, "A", NULL);
  guint64 b = make_collection (RESOURCE, a, "B", NULL);
  guint64 keep = make_collection (RESOURCE, 0, "Keep", NULL);
  guint64 item_a = make_mail (a, "1", NULL);
  guint64 item_b = make_mail (b, "2", NULL);
  guint64 item_keep = make_mail (keep, "3", NULL);
  guint64 before = current_revision ();
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GPtrArray) tree = NULL;
  g_autoptr(CairnItem) kept = NULL;
  GError *error = NULL;
  guint64 revision;

  revision = write_ok (delete_collection_block, GSIZE_TO_POINTER (a));
  ck_assert_uint_eq (revision, before + 1);

  changes = changes_since (before);
  ck_assert_uint_eq (changes->len, 4);
  /* Deepest first: B's item, B, A's item, A. */
  ck_assert_uint_eq (cairn_change_get_entity_id (g_ptr_array_index (changes, 0)), item_b);
  ck_assert_uint_eq (cairn_change_get_entity_id (g_ptr_array_index (changes, 1)), b);
  ck_assert_uint_eq (cairn_change_get_entity_id (g_ptr_array_index (changes, 2)), item_a);
  ck_assert_uint_eq (cairn_change_get_entity_id (g_ptr_array_index (changes, 3)), a);
  for (guint i = 0; i < changes->len; i++)
    {
      ck_assert_int_eq (cairn_change_get_operation (g_ptr_array_index (changes, i)),
                        CAIRN_CHANGE_REMOVE);
      ck_assert_uint_eq (cairn_change_get_revision (g_ptr_array_index (changes, i)), revision);
    }
  ck_assert_str_eq (cairn_change_get_remote_id (g_ptr_array_index (changes, 0)), "2");

  tree = cairn_store_list_collections (store, NULL, &error);
  ck_assert_uint_eq (tree->len, 1);
  ck_assert_ptr_null (cairn_store_get_item (store, item_a, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  kept = cairn_store_get_item (store, item_keep, NULL, &error);
  assert_no_error (error);

  ck_assert (!cairn_store_write_sync (store, delete_collection_block, GSIZE_TO_POINTER (a), NULL,
                                      NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

/* Items */

static CairnFetchScope *
envelope_scope (void)
{
  CairnFetchScope *scope = cairn_fetch_scope_new ();

  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  return scope;
}

START_TEST (test_item_create_and_read)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnItem) item = new_mail (inbox, "17", "From: ann@example.org");
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnItem) bare = NULL;
  g_autoptr(CairnFetchScope) scope = envelope_scope ();
  g_autoptr(GBytes) attribute = g_bytes_new ("x\0y", 3);
  g_autoptr(CairnChange) change = NULL;
  GError *error = NULL;
  CairnPart *part;

  cairn_flags_add (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);
  cairn_flags_add (cairn_item_get_flags (item), "$Label1");
  cairn_item_set_attribute (item, "spam-score", attribute);
  write_ok (create_item_block, item);
  ck_assert_uint_ne (cairn_item_get_id (item), 0);
  ck_assert_uint_eq (cairn_item_get_revision (item), current_revision ());

  cairn_fetch_scope_set_attributes (scope, TRUE);
  read = cairn_store_get_item (store, cairn_item_get_id (item), scope, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_item_get_mime_type (read), MIME_MAIL);
  ck_assert_str_eq (cairn_item_get_remote_id (read), "17");
  ck_assert_str_eq (cairn_item_get_gid (read), "<17@example.org>");
  ck_assert_uint_eq (cairn_item_get_collection_id (read), inbox);
  ck_assert_uint_eq (cairn_item_get_size (read), cairn_item_get_size (item));
  ck_assert (cairn_flags_equal (cairn_item_get_flags (read), cairn_item_get_flags (item)));
  part = cairn_item_get_part (read, CAIRN_PART_ENVELOPE);
  ck_assert_ptr_nonnull (part);
  ck_assert_int_eq (cairn_part_get_storage (part), CAIRN_PART_STORAGE_INLINE);
  ck_assert (g_bytes_equal (cairn_part_get_data (part),
                            cairn_part_get_data (cairn_item_get_part (item, CAIRN_PART_ENVELOPE))));
  ck_assert (g_bytes_equal (cairn_item_get_attribute (read, "spam-score"), attribute));

  bare = cairn_store_get_item (store, cairn_item_get_id (item), NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_item_get_parts (bare)->len, 0);
  ck_assert_ptr_null (cairn_item_get_attribute (bare, "spam-score"));
  ck_assert (cairn_flags_contains (cairn_item_get_flags (bare), CAIRN_FLAG_SEEN));

  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_ADD);
  ck_assert_int_eq (cairn_change_get_entity_kind (change), CAIRN_ENTITY_ITEM);
  ck_assert_uint_eq (cairn_change_get_collection_id (change), inbox);
  ck_assert_str_eq (cairn_change_get_resource (change), RESOURCE);
  ck_assert_str_eq (cairn_change_get_mime_type (change), MIME_MAIL);
  ck_assert (g_strv_contains (cairn_change_get_parts (change), CAIRN_PART_ENVELOPE));

  ck_assert_ptr_null (cairn_store_get_item (store, 4242, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_item_without_parts)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(CairnChange) change = NULL;
  GError *error = NULL;

  cairn_item_set_collection_id (item, inbox);
  write_ok (create_item_block, item);
  change = last_change ();
  ck_assert_uint_eq (g_strv_length ((char **) cairn_change_get_parts (change)), 0);

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, cairn_item_get_id (item), scope, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_item_get_parts (read)->len, 0);
  ck_assert_ptr_null (cairn_item_get_remote_id (read));
}
END_TEST

START_TEST (test_item_lookups)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 sent = make_collection (RESOURCE, 0, "Sent", "Sent");
  guint64 other = make_collection ("imap_1", 0, "Other", NULL);
  guint64 a = make_mail (inbox, "1", NULL);
  guint64 b = make_mail (sent, "1", NULL);
  g_autoptr(CairnItem) found = NULL;
  g_autoptr(GPtrArray) in_resource = NULL;
  g_autoptr(GPtrArray) by_gid = NULL;
  g_autoptr(GPtrArray) none = NULL;
  GError *error = NULL;

  make_mail (other, "1", NULL);
  found = cairn_store_find_item_by_remote_id (store, sent, "1", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_item_get_id (found), b);
  ck_assert_ptr_null (cairn_store_find_item_by_remote_id (store, sent, "2", NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  in_resource = cairn_store_find_items_by_resource_remote_id (store, RESOURCE, "1", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (in_resource->len, 2);
  ck_assert_uint_eq (cairn_item_get_id (g_ptr_array_index (in_resource, 0)), a);
  ck_assert_uint_eq (cairn_item_get_id (g_ptr_array_index (in_resource, 1)), b);

  by_gid = cairn_store_find_items_by_gid (store, "<1@example.org>", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (by_gid->len, 3);
  none = cairn_store_find_items_by_gid (store, "<none@example.org>", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (none->len, 0);
}
END_TEST

START_TEST (test_item_errors)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnCollection) search = cairn_collection_new (RESOURCE, 0, "Search");
  g_autoptr(CairnItem) twin = new_mail (inbox, "1", "x");
  g_autoptr(CairnItem) lost = new_mail (4242, "2", "x");
  g_autoptr(CairnItem) untyped = new_mail (inbox, "3", "x");
  g_autoptr(CairnItem) in_search = NULL;
  guint64 before;
  GError *error = NULL;

  cairn_collection_set_virtual (search, TRUE);
  write_ok (create_collection_block, search);
  make_mail (inbox, "1", NULL);
  before = current_revision ();

  ck_assert (!cairn_store_write_sync (store, create_item_block, twin, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_EXISTS);
  ck_assert (!cairn_store_write_sync (store, create_item_block, lost, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  cairn_item_set_mime_type (untyped, "");
  ck_assert (!cairn_store_write_sync (store, create_item_block, untyped, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);
  in_search = new_mail (cairn_collection_get_id (search), "4", "x");
  ck_assert (!cairn_store_write_sync (store, create_item_block, in_search, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);

  ck_assert_uint_eq (current_revision (), before);
  ck_assert_uint_eq (cairn_item_get_id (twin), 0);
}
END_TEST

/* Every opaque string field keeps SQL metacharacters and any non-NUL byte. */
START_TEST (test_item_verbatim_strings)
{
  static const char hostile[] = "'; DROP TABLE items; --\"\\%_*?\x01\x7f\x80\xfe\xff end";
  g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, 0, "Robert'); --");
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnCollection) reread = NULL;
  g_autoptr(GBytes) binary = g_bytes_new ("\0\xff\0'", 4);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GError *error = NULL;

  cairn_collection_set_remote_id (collection, hostile);
  cairn_collection_set_remote_revision (collection, hostile);
  write_ok (create_collection_block, collection);
  reread = cairn_store_find_collection_by_remote_id (store, RESOURCE, hostile, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_remote_id (reread), hostile);
  ck_assert_str_eq (cairn_collection_get_remote_revision (reread), hostile);
  ck_assert_str_eq (cairn_collection_get_name (reread), "Robert'); --");

  item = new_mail (cairn_collection_get_id (collection), hostile, "x");
  cairn_item_set_remote_revision (item, hostile);
  cairn_item_set_gid (item, hostile);
  cairn_item_set_attribute (item, "ATR:'\";--", binary);
  cairn_flags_add (cairn_item_get_flags (item), "$'\";--");
  write_ok (create_item_block, item);

  cairn_fetch_scope_set_attributes (scope, TRUE);
  read = cairn_store_find_item_by_remote_id (store, cairn_collection_get_id (collection), hostile,
                                             scope, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_item_get_remote_id (read), hostile);
  ck_assert_str_eq (cairn_item_get_remote_revision (read), hostile);
  ck_assert_str_eq (cairn_item_get_gid (read), hostile);
  ck_assert (g_bytes_equal (cairn_item_get_attribute (read, "ATR:'\";--"), binary));
  ck_assert (cairn_flags_contains (cairn_item_get_flags (read), "$'\";--"));
}
END_TEST

typedef struct
{
  CairnItem *item;
  guint64 unchanged_since;
} ModifyItem;

static gboolean
modify_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  ModifyItem *modify = data;

  return cairn_transaction_modify_item (txn, modify->item, modify->unchanged_since, error);
}

static CairnItem *
get_item (guint64 id)
{
  GError *error = NULL;
  CairnItem *item = cairn_store_get_item (store, id, NULL, &error);

  assert_no_error (error);
  return item;
}

/* store-v4.db was written by schema version 4, before items had a date:
 * collection 1 with items 1 and 2, item 2 seen. */
START_TEST (test_schema_fixture_v4)
{
  g_autofree char *copy = copy_fixture ("store-v4.db");
  g_autoptr(CairnItem) old = NULL;
  g_autoptr(CairnItem) dated = NULL;
  g_autoptr(CairnItem) reread = NULL;
  g_autoptr(GDateTime) date = g_date_time_new_utc (2026, 3, 1, 8, 30, 15.75);
  ModifyItem modify = { NULL, 0 };
  guint64 id;

  g_clear_object (&store);
  g_free (db_path);
  db_path = g_steal_pointer (&copy);
  reopen_store ();

  old = get_item (2);
  modify.item = old;
  ck_assert_ptr_null (cairn_item_get_date (old));
  ck_assert (cairn_flags_contains (cairn_item_get_flags (old), CAIRN_FLAG_SEEN));

  /* A date is kept to the second, on create and on modify. */
  dated = new_mail (1, "dated", "From: a@example.org");
  cairn_item_set_date (dated, date);
  write_ok (create_item_block, dated);
  id = cairn_item_get_id (dated);
  reread = get_item (id);
  ck_assert_int_eq (g_date_time_to_unix (cairn_item_get_date (reread)), 1772353815);
  g_clear_object (&reread);

  cairn_item_set_date (old, date);
  write_ok (modify_item_block, &modify);
  reread = get_item (2);
  ck_assert_int_eq (g_date_time_to_unix (cairn_item_get_date (reread)), 1772353815);
  g_clear_object (&reread);
  cairn_item_set_date (old, NULL);
  write_ok (modify_item_block, &modify);
  reread = get_item (2);
  ck_assert_ptr_null (cairn_item_get_date (reread));
}
END_TEST

START_TEST (test_item_modify)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 id = make_mail (inbox, "1", NULL);
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = envelope_scope ();
  g_autoptr(GBytes) body = g_bytes_new_static ("Subject: hi\r\n\r\nbody", 19);
  g_autoptr(CairnPart) rfc822 = cairn_part_new_inline (CAIRN_PART_RFC822, body);
  g_autoptr(CairnChange) change = NULL;
  ModifyItem modify = { NULL, 0 };
  guint64 created, revision;
  GError *error = NULL;

  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  cairn_fetch_scope_set_attributes (scope, TRUE);
  item = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  created = cairn_item_get_revision (item);

  cairn_item_set_remote_revision (item, "etag-2");
  cairn_item_set_part (item, rfc822);
  cairn_item_set_attribute (item, "seen-by", body);
  modify.item = item;
  revision = write_ok (modify_item_block, &modify);
  ck_assert_uint_gt (revision, created);
  ck_assert_uint_eq (cairn_item_get_revision (item), revision);

  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_MODIFY);
  ck_assert (g_strv_contains (cairn_change_get_parts (change), CAIRN_PART_RFC822));
  ck_assert (g_strv_contains (cairn_change_get_parts (change), "ATR:seen-by"));

  read = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_item_get_remote_revision (read), "etag-2");
  ck_assert (g_bytes_equal (cairn_part_get_data (cairn_item_get_part (read, CAIRN_PART_RFC822)),
                            body));
  ck_assert_ptr_nonnull (cairn_item_get_part (read, CAIRN_PART_ENVELOPE));
  g_clear_object (&read);

  /* Removing an attribute, conditional on the last revision. */
  cairn_item_set_attribute (item, "seen-by", NULL);
  modify.unchanged_since = created;
  ck_assert (!cairn_store_write_sync (store, modify_item_block, &modify, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CONFLICT);
  modify.unchanged_since = revision;
  write_ok (modify_item_block, &modify);
  read = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  ck_assert_ptr_null (cairn_item_get_attribute (read, "seen-by"));

  cairn_item_set_id (item, 4242);
  modify.unchanged_since = 0;
  ck_assert (!cairn_store_write_sync (store, modify_item_block, &modify, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

typedef struct
{
  guint64 item_id;
  CairnFlagsDelta *delta;
  guint64 unchanged_since;
} FlagChange;

static gboolean
flags_block (CairnTransaction *txn, gpointer data, GError **error)
{
  FlagChange *change = data;

  return cairn_transaction_change_flags (txn, change->item_id, change->delta,
                                         change->unchanged_since, error);
}

static CairnFlags *
item_flags (guint64 id)
{
  GError *error = NULL;
  g_autoptr(CairnItem) item = cairn_store_get_item (store, id, NULL, &error);

  assert_no_error (error);
  return cairn_flags_copy (cairn_item_get_flags (item));
}

START_TEST (test_item_flag_deltas)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 id = make_mail (inbox, "1", CAIRN_FLAG_FLAGGED);
  const char *seen[] = { CAIRN_FLAG_SEEN, NULL };
  const char *flagged[] = { CAIRN_FLAG_FLAGGED, NULL };
  g_autoptr(CairnFlagsDelta) add_seen = cairn_flags_delta_new_from_strv (seen, NULL);
  g_autoptr(CairnFlagsDelta) remove_flagged = cairn_flags_delta_new_from_strv (NULL, flagged);
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(CairnChange) change = NULL;
  FlagChange first = { id, add_seen, 0 };
  FlagChange second = { id, remove_flagged, 0 };
  FlagChange unknown = { 4242, add_seen, 0 };
  guint64 created = current_revision (), revision;
  GError *error = NULL;

  /* Two writers that both read revision `created`: the deltas both survive. */
  write_ok (flags_block, &first);
  write_ok (flags_block, &second);
  flags = item_flags (id);
  ck_assert (cairn_flags_contains (flags, CAIRN_FLAG_SEEN));
  ck_assert (!cairn_flags_contains (flags, CAIRN_FLAG_FLAGGED));

  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_FLAGS);
  ck_assert_uint_eq (cairn_flags_get_size (cairn_flags_delta_get_removed (
                       cairn_change_get_flags_delta (change))), 1);
  ck_assert_uint_eq (cairn_flags_get_size (cairn_flags_delta_get_added (
                       cairn_change_get_flags_delta (change))), 0);
  ck_assert_str_eq (cairn_change_get_remote_id (change), "1");

  /* No effective change, no revision. */
  revision = current_revision ();
  ck_assert_uint_eq (write_ok (flags_block, &first), 0);
  ck_assert_uint_eq (current_revision (), revision);

  /* Conditional delta on a stale revision. */
  cairn_flags_delta_add (remove_flagged, "$Junk");
  second.unchanged_since = created;
  ck_assert (!cairn_store_write_sync (store, flags_block, &second, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_CONFLICT);

  ck_assert (!cairn_store_write_sync (store, flags_block, &unknown, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_flags_delta_merge)
{
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
  g_autoptr(CairnFlagsDelta) later = cairn_flags_delta_new ();
  g_autoptr(CairnFlags) flags = cairn_flags_new ();
  g_autofree char *text = NULL;

  cairn_flags_delta_add (delta, CAIRN_FLAG_SEEN);
  cairn_flags_delta_remove (later, CAIRN_FLAG_SEEN);
  cairn_flags_delta_add (later, CAIRN_FLAG_FLAGGED);
  cairn_flags_delta_merge (delta, later);
  ck_assert (!cairn_flags_contains (cairn_flags_delta_get_added (delta), CAIRN_FLAG_SEEN));
  ck_assert (!cairn_flags_contains (cairn_flags_delta_get_removed (delta), CAIRN_FLAG_SEEN));
  ck_assert (cairn_flags_contains (cairn_flags_delta_get_added (delta), CAIRN_FLAG_FLAGGED));

  cairn_flags_add (flags, "$b");
  cairn_flags_add (flags, "$a");
  ck_assert (!cairn_flags_add (flags, "$a"));
  cairn_flags_delta_apply (delta, flags);
  text = cairn_flags_to_string (flags);
  ck_assert_str_eq (text, "$a $b \\Flagged");
  /* A replay's added and removed sets, applied as a delta, twice. */
  ck_assert (cairn_flags_update (flags, cairn_flags_delta_get_removed (later),
                                 cairn_flags_delta_get_added (later)));
  ck_assert (!cairn_flags_update (flags, cairn_flags_delta_get_removed (later),
                                  cairn_flags_delta_get_added (later)));
  g_free (text);
  text = cairn_flags_to_string (flags);
  ck_assert_str_eq (text, "$a $b \\Seen");
  ck_assert (!cairn_flags_update (flags, NULL, NULL));
  ck_assert (!cairn_flag_is_valid ("two words"));
  ck_assert (!cairn_flag_is_valid (""));
  ck_assert (!cairn_flag_is_valid ("\xff"));
}
END_TEST

static gboolean
move_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_move_item (txn, pair->id, pair->target, error);
}

static gboolean
delete_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_delete_item (txn, GPOINTER_TO_SIZE (data), error);
}

START_TEST (test_item_move_delete)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 archive = make_collection (RESOURCE, 0, "Archive", "Archive");
  guint64 id = make_mail (inbox, "1", NULL);
  g_autoptr(CairnItem) moved = NULL;
  g_autoptr(CairnChange) move = NULL;
  g_autoptr(CairnChange) removal = NULL;
  Pair to_archive = { id, archive }, back = { id, inbox }, nowhere = { id, 4242 };
  GError *error = NULL;

  write_ok (move_item_block, &to_archive);
  moved = cairn_store_get_item (store, id, NULL, &error);
  ck_assert_uint_eq (cairn_item_get_collection_id (moved), archive);
  move = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (move), CAIRN_CHANGE_MOVE);
  ck_assert_uint_eq (cairn_change_get_collection_id (move), inbox);
  ck_assert_uint_eq (cairn_change_get_destination_id (move), archive);

  write_ok (move_item_block, &back);
  write_ok (move_item_block, &to_archive);
  ck_assert (!cairn_store_write_sync (store, move_item_block, &nowhere, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  write_ok (delete_item_block, GSIZE_TO_POINTER (id));
  removal = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (removal), CAIRN_CHANGE_REMOVE);
  ck_assert_str_eq (cairn_change_get_remote_id (removal), "1");
  ck_assert_uint_eq (cairn_change_get_collection_id (removal), archive);
  ck_assert (!cairn_store_write_sync (store, delete_item_block, GSIZE_TO_POINTER (id), NULL, NULL,
                                      &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

static char *
item_remote_id (guint64 id)
{
  g_autoptr(CairnItem) item = NULL;
  GError *error = NULL;

  item = cairn_store_get_item (store, id, NULL, &error);
  assert_no_error (error);
  return g_strdup (cairn_item_get_remote_id (item));
}

/* A move into a collection holding another item of the same remote id (a
 * backend's copy of a message keeps its name) succeeds: the moved item
 * has no remote id there until its resource replays the move, and the
 * move's change keeps the old one so that the resource finds the item.
 * Moved back, the item has its old remote id again if it is free. */
START_TEST (test_item_move_onto_remote_id)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 archive = make_collection (RESOURCE, 0, "Archive", "Archive");
  guint64 other = make_collection (RESOURCE, 0, "Other", "Other");
  guint64 id = make_mail (inbox, "1", NULL);
  guint64 copy = make_mail (archive, "1", NULL);
  Pair to_archive = { id, archive }, to_other = { id, other }, back = { id, inbox };
  g_autoptr(CairnChange) move = NULL;
  g_autoptr(CairnChange) removal = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *copy_remote_id = NULL;

  write_ok (move_item_block, &to_archive);
  remote_id = item_remote_id (id);
  ck_assert_ptr_null (remote_id);
  copy_remote_id = item_remote_id (copy);
  ck_assert_str_eq (copy_remote_id, "1");
  move = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (move), CAIRN_CHANGE_MOVE);
  ck_assert_str_eq (cairn_change_get_remote_id (move), "1");
  ck_assert_uint_eq (cairn_change_get_collection_id (move), inbox);

  /* Back where it came from, by way of another collection. */
  write_ok (move_item_block, &to_other);
  g_clear_pointer (&remote_id, g_free);
  remote_id = item_remote_id (id);
  ck_assert_ptr_null (remote_id);
  write_ok (move_item_block, &back);
  g_clear_pointer (&remote_id, g_free);
  remote_id = item_remote_id (id);
  ck_assert_str_eq (remote_id, "1");
  g_clear_pointer (&move, cairn_change_unref);
  move = last_change ();
  ck_assert_str_eq (cairn_change_get_remote_id (move), "1");

  /* Its old remote id taken meanwhile, it stays without one. */
  write_ok (move_item_block, &to_archive);
  make_mail (inbox, "1", NULL);
  write_ok (move_item_block, &back);
  g_clear_pointer (&remote_id, g_free);
  remote_id = item_remote_id (id);
  ck_assert_ptr_null (remote_id);

  write_ok (delete_item_block, GSIZE_TO_POINTER (id));
  removal = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (removal), CAIRN_CHANGE_REMOVE);
  ck_assert_uint_eq (cairn_change_get_collection_id (removal), inbox);
}
END_TEST

/* What a resource writes when it fetched an item's body. */
static gboolean
fetch_body_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnItem) item = cairn_store_get_item (store, GPOINTER_TO_SIZE (data), NULL, error);
  g_autoptr(GBytes) body = g_bytes_new_static ("Body.\n", 6);
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, body);

  if (item == NULL)
    return FALSE;
  cairn_item_set_part (item, part);
  cairn_transaction_set_origin (txn, RESOURCE);
  return cairn_transaction_modify_item (txn, item, 0, error);
}

/* An item of Inbox and one of Archive with the same remote id "1", and a
 * collection Other. */
typedef struct
{
  guint64 inbox;
  guint64 archive;
  guint64 other;
  guint64 id;
  guint64 carrier;
} SameNames;

static SameNames
make_same_names (void)
{
  SameNames names = { make_collection (RESOURCE, 0, "Inbox", "INBOX") };

  names.archive = make_collection (RESOURCE, 0, "Archive", "Archive");
  names.other = make_collection (RESOURCE, 0, "Other", "Other");
  names.id = make_mail (names.inbox, "1", NULL);
  names.carrier = make_mail (names.archive, "1", NULL);
  return names;
}

/* A name an item carried in from another collection is not its name in
 * the one it is in now: an item moved back to where that name is its own,
 * before either move is replayed, takes it from such a holder. The replay
 * test found this: the returning item was left without a remote id, and
 * the next sync took its message on the server for a new one. With
 * @other_taken, an item of Other has the name too: the returning item
 * has none there, and takes back the one its first move carried out. */
static SameNames
move_back_onto_carried_remote_id (gboolean other_taken)
{
  SameNames names = make_same_names ();
  Pair away = { names.id, names.other }, back = { names.id, names.inbox };
  Pair carried = { names.carrier, names.inbox };
  g_autoptr(CairnChange) carrier_move = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *carrier_remote_id = NULL;

  if (other_taken)
    make_mail (names.other, "1", NULL);
  write_ok (move_item_block, &away);
  remote_id = item_remote_id (names.id);
  ck_assert (other_taken ? remote_id == NULL : g_strcmp0 (remote_id, "1") == 0);
  /* Its body fetched by its resource meanwhile: no replay of the move. */
  write_ok (fetch_body_block, GSIZE_TO_POINTER (names.id));
  write_ok (move_item_block, &carried);
  carrier_move = last_change ();
  carrier_remote_id = item_remote_id (names.carrier);
  ck_assert_str_eq (carrier_remote_id, "1");

  write_ok (move_item_block, &back);
  g_clear_pointer (&remote_id, g_free);
  remote_id = item_remote_id (names.id);
  ck_assert_str_eq (remote_id, "1");
  g_clear_pointer (&carrier_remote_id, g_free);
  carrier_remote_id = item_remote_id (names.carrier);
  ck_assert_ptr_null (carrier_remote_id);
  /* The carrier's replay still finds it where the backend has it. */
  ck_assert_str_eq (cairn_change_get_remote_id (carrier_move), "1");
  ck_assert_uint_eq (cairn_change_get_collection_id (carrier_move), names.archive);
  return names;
}

START_TEST (test_item_move_back_onto_carried_remote_id)
{
  move_back_onto_carried_remote_id (FALSE);
}
END_TEST

START_TEST (test_item_move_back_nameless_onto_carried_remote_id)
{
  move_back_onto_carried_remote_id (TRUE);
}
END_TEST

/* Then the holder goes back too, before any replay: it takes again the
 * name that its own move carried out, which is still its own where it
 * came from, so that neither of the two messages is fetched anew. */
START_TEST (test_item_move_back_both_return)
{
  SameNames names = move_back_onto_carried_remote_id (FALSE);
  Pair carrier_back = { names.carrier, names.archive };
  g_autofree char *remote_id = NULL;
  g_autofree char *carrier_remote_id = NULL;

  write_ok (move_item_block, &carrier_back);
  carrier_remote_id = item_remote_id (names.carrier);
  ck_assert_str_eq (carrier_remote_id, "1");
  remote_id = item_remote_id (names.id);
  ck_assert_str_eq (remote_id, "1");
}
END_TEST

/* Names the item @data's remote id gives it where it is, as its resource
 * does when a sync or a replay finds it there under the same name. */
static gboolean
name_in_place_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnItem) item = cairn_store_get_item (store, GPOINTER_TO_SIZE (data), NULL, error);

  if (item == NULL)
    return FALSE;
  cairn_item_set_remote_id (item, cairn_item_get_remote_id (item));
  cairn_transaction_set_origin (txn, RESOURCE);
  return cairn_transaction_modify_item (txn, item, 0, error);
}

/* Only a name carried in gives way: a holder named where it is keeps its
 * name, and an item whose name was given elsewhere takes none. */
START_TEST (test_item_move_back_onto_named_remote_id)
{
  SameNames names = make_same_names ();
  guint64 stranger = make_mail (names.other, "2", NULL);
  Pair away = { names.id, names.other }, back = { names.id, names.inbox };
  Pair carried = { names.carrier, names.inbox };
  Pair stranger_in = { stranger, names.inbox }, stranger_out = { stranger, names.archive };
  g_autofree char *remote_id = NULL;
  g_autofree char *carrier_remote_id = NULL;

  write_ok (move_item_block, &away);
  write_ok (move_item_block, &carried);
  write_ok (name_in_place_block, GSIZE_TO_POINTER (names.carrier));
  write_ok (move_item_block, &back);
  remote_id = item_remote_id (names.id);
  ck_assert_ptr_null (remote_id);
  carrier_remote_id = item_remote_id (names.carrier);
  ck_assert_str_eq (carrier_remote_id, "1");

  /* Its "2" names it in Other: it takes none in the inbox. */
  write_ok (move_item_block, &stranger_out);
  make_mail (names.inbox, "2", NULL);
  write_ok (move_item_block, &stranger_in);
  g_clear_pointer (&remote_id, g_free);
  remote_id = item_remote_id (stranger);
  ck_assert_ptr_null (remote_id);
}
END_TEST

/* store-v5.db was written by schema version 5, before an item kept where
 * its remote id names it: folders Inbox, Archive and Other (1, 2, 3) of
 * imap_0, item 1 in Inbox and item 2 in Archive, both with UID 1. The
 * rule of test_item_move_back_onto_carried_remote_id holds there. */
START_TEST (test_schema_fixture_v5)
{
  g_autofree char *copy = copy_fixture ("store-v5.db");
  Pair away = { 1, 3 }, carried = { 2, 1 }, back = { 1, 1 };
  g_autofree char *remote_id = NULL;
  g_autofree char *carrier_remote_id = NULL;

  g_clear_object (&store);
  g_free (db_path);
  db_path = g_steal_pointer (&copy);
  reopen_store ();

  write_ok (move_item_block, &away);
  write_ok (move_item_block, &carried);
  write_ok (move_item_block, &back);
  remote_id = item_remote_id (1);
  ck_assert_str_eq (remote_id, "1");
  carrier_remote_id = item_remote_id (2);
  ck_assert_ptr_null (carrier_remote_id);
}
END_TEST

/* An application edits an item it read before its resource named it
 * anew (a replayed move): the edit keeps the stored remote id. Written
 * back, the old one renamed the item wrongly, or failed on another
 * item's name ("the collection has another item with this remote id").
 * A remote id set on the item is written. */
START_TEST (test_item_modify_keeps_newer_remote_id)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 id = make_mail (inbox, "1", NULL);
  g_autoptr(CairnItem) read = get_item (id);
  g_autoptr(CairnItem) renamer = get_item (id);
  g_autoptr(CairnItem) reread = NULL;
  g_autoptr(CairnChange) logged = NULL;
  ModifyItem edit = { read, 0 }, rename = { renamer, 0 };

  cairn_item_set_remote_id (renamer, "2");
  write_ok (modify_item_block, &rename);

  cairn_item_set_size (read, 4242);
  write_ok (modify_item_block, &edit);
  ck_assert_str_eq (cairn_item_get_remote_id (read), "2");
  reread = get_item (id);
  ck_assert_str_eq (cairn_item_get_remote_id (reread), "2");
  ck_assert_uint_eq (cairn_item_get_size (reread), 4242);
  logged = last_change ();
  ck_assert_str_eq (cairn_change_get_remote_id (logged), "2");

  cairn_item_set_remote_id (read, "3");
  write_ok (modify_item_block, &edit);
  g_clear_object (&reread);
  reread = get_item (id);
  ck_assert_str_eq (cairn_item_get_remote_id (reread), "3");
}
END_TEST

/* Tags, relations, virtual collections */

static gboolean
create_tag_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_tag (txn, data, error);
}

static gboolean
tag_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_tag_item (txn, pair->id, pair->target, error);
}

static gboolean
untag_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_untag_item (txn, pair->id, pair->target, error);
}

static gboolean
delete_tag_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_delete_tag (txn, GPOINTER_TO_SIZE (data), error);
}

static gboolean
tag_remote_id_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_set_tag_remote_id (txn, GPOINTER_TO_SIZE (data), RESOURCE, "$label7",
                                              error);
}

START_TEST (test_tags)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 id = make_mail (inbox, "1", NULL);
  g_autoptr(CairnTag) tag = cairn_tag_new ("urn:tag:important", "Important");
  g_autoptr(CairnTag) twin = cairn_tag_new ("urn:tag:important", "Again");
  g_autoptr(CairnTag) found = NULL;
  g_autoptr(GPtrArray) tags = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(CairnChange) change = NULL;
  g_autofree char *remote_id = NULL;
  GError *error = NULL;
  Pair tagging;
  guint64 revision;

  write_ok (create_tag_block, tag);
  ck_assert_uint_ne (cairn_tag_get_id (tag), 0);
  ck_assert (!cairn_store_write_sync (store, create_tag_block, twin, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_EXISTS);

  found = cairn_store_find_tag_by_gid (store, "urn:tag:important", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_tag_get_name (found), "Important");
  ck_assert_str_eq (cairn_tag_get_tag_type (found), "PLAIN");

  tagging = (Pair) { id, cairn_tag_get_id (tag) };
  write_ok (tag_block, &tagging);
  revision = current_revision ();
  ck_assert_uint_eq (write_ok (tag_block, &tagging), 0);
  ck_assert_uint_eq (current_revision (), revision);
  tags = cairn_store_list_item_tags (store, id, &error);
  assert_no_error (error);
  ck_assert_uint_eq (tags->len, 1);
  change = last_change ();
  ck_assert_int_eq (cairn_change_get_operation (change), CAIRN_CHANGE_TAG);
  ck_assert_uint_eq (cairn_change_get_related_id (change), cairn_tag_get_id (tag));

  write_ok (tag_remote_id_block, GSIZE_TO_POINTER (cairn_tag_get_id (tag)));
  remote_id = cairn_store_get_tag_remote_id (store, cairn_tag_get_id (tag), RESOURCE, &error);
  assert_no_error (error);
  ck_assert_str_eq (remote_id, "$label7");

  write_ok (delete_tag_block, GSIZE_TO_POINTER (cairn_tag_get_id (tag)));
  none = cairn_store_list_item_tags (store, id, &error);
  ck_assert_uint_eq (none->len, 0);
  {
    g_autoptr(GPtrArray) changes = changes_since (current_revision () - 1);

    ck_assert_uint_eq (changes->len, 2);
    ck_assert_int_eq (cairn_change_get_operation (g_ptr_array_index (changes, 0)),
                      CAIRN_CHANGE_UNTAG);
    ck_assert_int_eq (cairn_change_get_operation (g_ptr_array_index (changes, 1)),
                      CAIRN_CHANGE_REMOVE);
    ck_assert_str_eq (cairn_change_get_name (g_ptr_array_index (changes, 1)),
                      "urn:tag:important");
  }

  ck_assert (!cairn_store_write_sync (store, untag_block, &tagging, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  ck_assert_ptr_null (cairn_store_get_tag (store, cairn_tag_get_id (tag), &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

static gboolean
add_relation_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_add_relation (txn, data, error);
}

static gboolean
remove_relation_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_remove_relation (txn, data, error);
}

/* A scope with tags loads each item's tags with its page, by id; one
 * without leaves them unknown. */
START_TEST (test_fetch_tags)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 tagged = make_mail (inbox, "1", NULL);
  guint64 plain = make_mail (inbox, "2", NULL);
  g_autoptr(CairnTag) work = cairn_tag_new ("urn:tag:work", "Work");
  g_autoptr(CairnTag) home = cairn_tag_new ("urn:tag:home", "Home");
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GPtrArray) bare = NULL;
  GPtrArray *tags;
  GError *error = NULL;
  Pair tagging;

  write_ok (create_tag_block, home);
  write_ok (create_tag_block, work);
  tagging = (Pair) { tagged, cairn_tag_get_id (work) };
  write_ok (tag_block, &tagging);
  tagging = (Pair) { tagged, cairn_tag_get_id (home) };
  write_ok (tag_block, &tagging);

  ck_assert (!cairn_fetch_scope_get_tags (scope));
  cairn_fetch_scope_set_tags (scope, TRUE);
  ck_assert (cairn_fetch_scope_get_tags (scope));
  items = cairn_store_list_items (store, inbox, scope, 0, 0, &error);
  assert_no_error (error);
  ck_assert_uint_eq (items->len, 2);
  ck_assert_uint_eq (cairn_item_get_id (g_ptr_array_index (items, 0)), tagged);
  tags = cairn_item_get_tags (g_ptr_array_index (items, 0));
  ck_assert_ptr_nonnull (tags);
  ck_assert_uint_eq (tags->len, 2);
  ck_assert_uint_eq (cairn_tag_get_id (g_ptr_array_index (tags, 0)), cairn_tag_get_id (home));
  ck_assert_str_eq (cairn_tag_get_name (g_ptr_array_index (tags, 0)), "Home");
  ck_assert_str_eq (cairn_tag_get_gid (g_ptr_array_index (tags, 1)), "urn:tag:work");
  ck_assert_str_eq (cairn_tag_get_tag_type (g_ptr_array_index (tags, 1)), "PLAIN");
  ck_assert_uint_eq (cairn_item_get_id (g_ptr_array_index (items, 1)), plain);
  tags = cairn_item_get_tags (g_ptr_array_index (items, 1));
  ck_assert_ptr_nonnull (tags);
  ck_assert_uint_eq (tags->len, 0);

  bare = cairn_store_list_items (store, inbox, NULL, 0, 0, &error);
  assert_no_error (error);
  ck_assert_ptr_null (cairn_item_get_tags (g_ptr_array_index (bare, 0)));
}
END_TEST

START_TEST (test_relations)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 a = make_mail (inbox, "1", NULL);
  guint64 b = make_mail (inbox, "2", NULL);
  g_autoptr(CairnRelation) relation = cairn_relation_new (a, b, NULL);
  g_autoptr(CairnRelation) dangling = cairn_relation_new (a, 4242, NULL);
  g_autoptr(GPtrArray) of_b = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(CairnChange) change = NULL;
  GError *error = NULL;

  write_ok (add_relation_block, relation);
  ck_assert (!cairn_store_write_sync (store, add_relation_block, relation, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_EXISTS);
  ck_assert (!cairn_store_write_sync (store, add_relation_block, dangling, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  of_b = cairn_store_list_relations (store, b, &error);
  assert_no_error (error);
  ck_assert_uint_eq (of_b->len, 1);
  ck_assert_uint_eq (cairn_relation_get_left_id (g_ptr_array_index (of_b, 0)), a);
  ck_assert_str_eq (cairn_relation_get_relation_type (g_ptr_array_index (of_b, 0)),
                    CAIRN_RELATION_GENERIC);
  change = last_change ();
  ck_assert_int_eq (cairn_change_get_entity_kind (change), CAIRN_ENTITY_RELATION);
  ck_assert_uint_eq (cairn_change_get_related_id (change), b);

  write_ok (remove_relation_block, relation);
  after = cairn_store_list_relations (store, a, &error);
  ck_assert_uint_eq (after->len, 0);
  ck_assert (!cairn_store_write_sync (store, remove_relation_block, relation, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

static gboolean
link_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_link_item (txn, pair->target, pair->id, error);
}

static gboolean
unlink_block (CairnTransaction *txn, gpointer data, GError **error)
{
  Pair *pair = data;

  return cairn_transaction_unlink_item (txn, pair->target, pair->id, error);
}

START_TEST (test_virtual_and_statistics)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnCollection) search = cairn_collection_new ("search", 0, "Unread");
  guint64 a = make_mail (inbox, "1", CAIRN_FLAG_SEEN);
  guint64 b = make_mail (inbox, "2", NULL);
  guint64 c = make_mail (inbox, "3", NULL);
  g_autoptr(GPtrArray) linked = NULL;
  guint64 count = 0, unread = 0, size = 0;
  Pair link_b, link_c, into_inbox = { a, inbox };
  GError *error = NULL;

  cairn_collection_set_virtual (search, TRUE);
  write_ok (create_collection_block, search);
  link_b = (Pair) { b, cairn_collection_get_id (search) };
  link_c = (Pair) { c, cairn_collection_get_id (search) };
  write_ok (link_block, &link_b);
  write_ok (link_block, &link_c);
  ck_assert (!cairn_store_write_sync (store, link_block, &into_inbox, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);

  ck_assert (cairn_store_get_collection_statistics (store, inbox, &count, NULL, NULL, &error));
  ck_assert_uint_eq (count, 3);
  ck_assert (cairn_store_get_collection_statistics (store, inbox, &count, &unread, &size, &error));
  ck_assert_uint_eq (count, 3);
  ck_assert_uint_eq (unread, 2);
  ck_assert_uint_eq (size, 3 * (1000 + strlen ("From: a@example.org")));

  linked = cairn_store_list_items (store, cairn_collection_get_id (search), NULL, 0, 0, &error);
  assert_no_error (error);
  ck_assert_uint_eq (linked->len, 2);
  ck_assert_uint_eq (cairn_item_get_id (g_ptr_array_index (linked, 0)), b);

  write_ok (unlink_block, &link_c);
  ck_assert (cairn_store_get_collection_statistics (store, cairn_collection_get_id (search),
                                                    &count, &unread, NULL, &error));
  ck_assert_uint_eq (count, 1);
  ck_assert_uint_eq (unread, 1);
  ck_assert (!cairn_store_write_sync (store, unlink_block, &link_c, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  ck_assert (!cairn_store_get_collection_statistics (store, 4242, &count, NULL, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

/* Listing */

static gboolean
stop_at_five (CairnItem *item, gpointer data)
{
  GArray *ids = data;
  guint64 id = cairn_item_get_id (item);

  ck_assert_ptr_nonnull (cairn_item_get_part (item, CAIRN_PART_ENVELOPE));
  g_array_append_val (ids, id);
  return ids->len < 5;
}

static gboolean
collect_ids (CairnItem *item, gpointer data)
{
  guint64 id = cairn_item_get_id (item);

  g_array_append_val (data, id);
  return TRUE;
}

START_TEST (test_list_pages_and_stream)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnFetchScope) scope = envelope_scope ();
  g_autoptr(GArray) streamed = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) stopped = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) async_page = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint64 after = 0;
  guint pages = 0, total = 0;
  GError *error = NULL;

  write_ok (create_many_block, GSIZE_TO_POINTER (inbox));
  for (;;)
    {
      g_autoptr(GPtrArray) page = cairn_store_list_items (store, inbox, scope, after, 300, &error);

      assert_no_error (error);
      if (page->len == 0)
        break;
      for (guint i = 0; i < page->len; i++)
        {
          ck_assert_uint_gt (cairn_item_get_id (g_ptr_array_index (page, i)), after);
          after = cairn_item_get_id (g_ptr_array_index (page, i));
        }
      total += page->len;
      pages++;
    }
  ck_assert_uint_eq (total, 2000);
  ck_assert_uint_eq (pages, 7);

  ck_assert (cairn_store_foreach_item (store, inbox, NULL, collect_ids, streamed, NULL, &error));
  ck_assert_uint_eq (streamed->len, 2000);
  ck_assert (cairn_store_foreach_item (store, inbox, scope, stop_at_five, stopped, NULL, &error));
  ck_assert_uint_eq (stopped->len, 5);

  cairn_store_list_items_async (store, inbox, scope, 0, 10, NULL, store_result, &result);
  async_page = cairn_store_list_items_finish (store, wait_result (&result), &error);
  assert_no_error (error);
  ck_assert_uint_eq (async_page->len, 10);

  g_cancellable_cancel (cancellable);
  ck_assert (!cairn_store_foreach_item (store, inbox, NULL, collect_ids, streamed, cancellable,
                                        &error));
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&error);

  ck_assert_ptr_null (cairn_store_list_items (store, 4242, NULL, 0, 0, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
}
END_TEST

static guint remote_id_counter;

static gboolean
create_ten_block (CairnTransaction *txn, gpointer data, GError **error)
{
  guint64 inbox = GPOINTER_TO_SIZE (data);

  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("r%u", remote_id_counter++);
      g_autoptr(CairnItem) item = new_mail (inbox, remote_id, "x");

      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

/* Four mails in one folder: dated day 1 to 3 and undated, the RFC822 part
 * of the one of day 2 stored, the others missing; one more elsewhere. */
static gboolean
create_missing_block (CairnTransaction *txn, gpointer data, GError **error)
{
  guint64 *folders = data;

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("m%u", i);
      g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
      g_autoptr(GBytes) data_bytes = g_bytes_new_static ("body", 4);
      g_autoptr(CairnPart) body = i == 1 ? cairn_part_new_inline (CAIRN_PART_RFC822, data_bytes)
                                         : cairn_part_new_missing (CAIRN_PART_RFC822, 4);

      cairn_item_set_collection_id (item, folders[i == 4]);
      cairn_item_set_remote_id (item, remote_id);
      if (i < 3)
        {
          g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc ((i + 1) * 86400);

          cairn_item_set_date (item, date);
        }
      cairn_item_set_part (item, body);
      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

static char *
remote_ids_of (GPtrArray *items)
{
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (ids, "%s%s", i ? "," : "",
                            cairn_item_get_remote_id (g_ptr_array_index (items, i)));
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

/* What a resource fetches by cache policy: the items of one folder whose
 * part is missing, newest first, from a date on, at most a limit. */
START_TEST (test_find_items_missing_part)
{
  guint64 folders[2] = { make_collection (RESOURCE, 0, "Inbox", "INBOX"),
                         make_collection (RESOURCE, 0, "Work", "Work") };
  g_autoptr(GDateTime) day3 = g_date_time_new_from_unix_utc (3 * 86400);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) recent = NULL;
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autofree char *all_ids = NULL;
  g_autofree char *first_ids = NULL;
  GError *error = NULL;

  write_ok (create_missing_block, folders);
  all = cairn_store_find_items_missing_part (store, folders[0], CAIRN_PART_RFC822, NULL, 0,
                                             &error);
  assert_no_error (error);
  all_ids = remote_ids_of (all);
  ck_assert_str_eq (all_ids, "m2,m0,m3");

  recent = cairn_store_find_items_missing_part (store, folders[0], CAIRN_PART_RFC822, day3, 0,
                                                &error);
  assert_no_error (error);
  ck_assert_uint_eq (recent->len, 1);
  ck_assert_str_eq (cairn_item_get_remote_id (g_ptr_array_index (recent, 0)), "m2");

  first = cairn_store_find_items_missing_part (store, folders[0], CAIRN_PART_RFC822, NULL, 2,
                                               &error);
  assert_no_error (error);
  first_ids = remote_ids_of (first);
  ck_assert_str_eq (first_ids, "m2,m0");

  none = cairn_store_find_items_missing_part (store, folders[0], CAIRN_PART_ENVELOPE, NULL, 0,
                                              &error);
  assert_no_error (error);
  ck_assert_uint_eq (none->len, 0);
}
END_TEST

/* Changes, cursors, garbage collection */

START_TEST (test_changes_and_cursors)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GPtrArray) limited = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  guint64 revision, cursor = 0, first_batch;
  GError *error = NULL;

  first_batch = write_ok (create_ten_block, GSIZE_TO_POINTER (inbox));
  write_ok (create_ten_block, GSIZE_TO_POINTER (inbox));
  revision = current_revision ();
  ck_assert_uint_eq (revision, first_batch + 1);

  /* A limit never splits a transaction. */
  limited = cairn_store_get_changes_since (store, first_batch - 1, 3, &error);
  assert_no_error (error);
  ck_assert_uint_eq (limited->len, 10);
  for (guint i = 0; i < limited->len; i++)
    ck_assert_uint_eq (cairn_change_get_revision (g_ptr_array_index (limited, i)), first_batch);

  ck_assert (!cairn_store_get_cursor (store, "indexer", &cursor, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  ck_assert (cairn_store_set_cursor (store, "indexer", first_batch, &error));
  ck_assert (cairn_store_set_cursor (store, "filter", revision, &error));
  ck_assert (cairn_store_get_cursor (store, "indexer", &cursor, &error));
  ck_assert_uint_eq (cursor, first_batch);
  ck_assert (!cairn_store_set_cursor (store, "ahead", revision + 5, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);

  /* Collection keeps everything above the lowest cursor. */
  ck_assert (cairn_store_collect_garbage (store, NULL, &error));
  assert_no_error (error);
  rest = cairn_store_get_changes_since (store, first_batch, 0, &error);
  assert_no_error (error);
  ck_assert_uint_eq (rest->len, 10);
  ck_assert_ptr_null (cairn_store_get_changes_since (store, first_batch - 1, 0, &error));
  assert_error (error, CAIRN_STORE_ERROR_EXPIRED);
  ck_assert (!cairn_store_set_cursor (store, "late", 0, &error));
  assert_error (error, CAIRN_STORE_ERROR_INVALID);

  ck_assert (cairn_store_remove_cursor (store, "indexer", &error));
  ck_assert (!cairn_store_remove_cursor (store, "indexer", &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);
  ck_assert (cairn_store_collect_garbage (store, NULL, &error));
  g_clear_pointer (&rest, g_ptr_array_unref);
  rest = cairn_store_get_changes_since (store, revision, 0, &error);
  assert_no_error (error);
  ck_assert_uint_eq (rest->len, 0);
}
END_TEST

static gboolean
failing_block (CairnTransaction *txn, gpointer data, GError **error)
{
  guint64 inbox = GPOINTER_TO_SIZE (data);
  g_autoptr(CairnItem) item = new_mail (inbox, "doomed", "x");

  if (!cairn_transaction_create_item (txn, item, error))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "changed my mind");
  return FALSE;
}

static void
on_committed (CairnStore *self, guint64 revision, gpointer data)
{
  g_array_append_val ((GArray *) data, revision);
}

START_TEST (test_rollback_and_signal)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GArray) committed = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint64 before = current_revision (), revision = 0;
  GError *error = NULL;

  g_signal_connect (store, "committed", G_CALLBACK (on_committed), committed);
  ck_assert (!cairn_store_write_sync (store, failing_block, GSIZE_TO_POINTER (inbox), NULL, NULL,
                                      &error));
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED));
  g_clear_error (&error);
  ck_assert_uint_eq (current_revision (), before);
  {
    g_autoptr(GPtrArray) changes = changes_since (before);
    ck_assert_uint_eq (changes->len, 0);
  }

  g_cancellable_cancel (cancellable);
  ck_assert (!cairn_store_write_sync (store, create_ten_block, GSIZE_TO_POINTER (inbox), NULL,
                                      cancellable, &error));
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&error);
  ck_assert_uint_eq (current_revision (), before);

  cairn_store_write_async (store, create_ten_block, GSIZE_TO_POINTER (inbox), NULL, NULL,
                           store_result, &result);
  ck_assert (cairn_store_write_finish (store, wait_result (&result), &revision, &error));
  assert_no_error (error);
  ck_assert_uint_eq (revision, before + 1);
  while (committed->len == 0)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_uint_eq (committed->len, 1);
  ck_assert_uint_eq (g_array_index (committed, guint64, 0), revision);
}
END_TEST

/* Ids are never reused */

START_TEST (test_ids_never_reused)
{
  guint64 collections[3], items[3];

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("Folder %u", i);
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      collections[i] = make_collection (RESOURCE, 0, name, NULL);
      items[i] = make_mail (collections[0], remote_id, NULL);
      ck_assert_uint_eq (collections[i], i + 1);
      ck_assert_uint_eq (items[i], i + 1);
    }

  /* Deleting the newest one must not hand its id out again. */
  write_ok (delete_item_block, GSIZE_TO_POINTER (items[2]));
  write_ok (delete_collection_block, GSIZE_TO_POINTER (collections[2]));
  ck_assert_uint_eq (make_mail (collections[0], "3", NULL), 4);
  ck_assert_uint_eq (make_collection (RESOURCE, 0, "Folder 3", NULL), 4);

  /* Nor after the store was closed. */
  write_ok (delete_item_block, GSIZE_TO_POINTER (4));
  write_ok (delete_collection_block, GSIZE_TO_POINTER (4));
  reopen_store ();
  ck_assert_uint_eq (make_mail (collections[0], "4", NULL), 5);
  ck_assert_uint_eq (make_collection (RESOURCE, 0, "Folder 4", NULL), 5);
}
END_TEST

static gboolean
create_duplicate_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnItem) first = new_mail (GPOINTER_TO_SIZE (data), "same", "x");
  g_autoptr(CairnItem) second = new_mail (GPOINTER_TO_SIZE (data), "same", "x");
  g_autoptr(CairnItem) third = new_mail (GPOINTER_TO_SIZE (data), "other", "x");
  GError *local_error = NULL;

  if (!cairn_transaction_create_item (txn, first, error))
    return FALSE;
  ck_assert (!cairn_transaction_create_item (txn, second, &local_error));
  assert_error (local_error, CAIRN_STORE_ERROR_EXISTS);
  ck_assert_uint_eq (cairn_item_get_id (second), 0);
  if (!cairn_transaction_create_item (txn, third, error))
    return FALSE;
  ck_assert_uint_gt (cairn_item_get_id (third), cairn_item_get_id (first));
  return TRUE;
}

/* A failed creation and a rolled back transaction leave ids unused;
 * the next ones follow without a clash. */
START_TEST (test_ids_after_failures)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  GError *error = NULL;

  write_ok (create_duplicate_block, GSIZE_TO_POINTER (inbox));
  ck_assert (!cairn_store_write_sync (store, failing_block, GSIZE_TO_POINTER (inbox), NULL, NULL,
                                      &error));
  g_clear_error (&error);
  ck_assert_uint_gt (make_mail (inbox, "after", NULL), 2);
}
END_TEST

/* Payloads */

static guint
count_payload_files (void)
{
  g_autofree char *top = g_strconcat (db_path, ".payloads", NULL);
  g_autoptr(GDir) dir = g_dir_open (top, 0, NULL);
  const char *bucket;
  guint count = 0;

  while (dir != NULL && (bucket = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (top, bucket, NULL);
      g_autoptr(GDir) inner = g_dir_open (path, 0, NULL);

      while (inner != NULL && g_dir_read_name (inner) != NULL)
        count++;
    }

  return count;
}

static GBytes *
pattern_bytes (gsize size, guint8 seed)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 31 + seed);
  return g_bytes_new_take (data, size);
}

START_TEST (test_payload_storage)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GBytes) big = pattern_bytes (100 * 1024, 1);
  g_autoptr(GBytes) huge = pattern_bytes (3 * 1024 * 1024 + 17, 2);
  g_autoptr(GBytes) small = pattern_bytes (100, 3);
  g_autoptr(GBytes) replacement = pattern_bytes (64 * 1024, 4);
  g_autoptr(GInputStream) huge_stream = g_memory_input_stream_new_from_bytes (huge);
  g_autoptr(GInputStream) small_stream = g_memory_input_stream_new_from_bytes (small);
  g_autofree char *foreign_path = g_build_filename (tmpdir, "message.eml", NULL);
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GBytes) content = NULL;
  ModifyItem modify = { NULL, 0 };
  GError *error = NULL;
  guint64 id;

  ck_assert (g_file_set_contents (foreign_path, "Subject: on disk\r\n\r\n", -1, NULL));
  cairn_item_set_collection_id (item, inbox);
  set_new_part (item, cairn_part_new_inline ("BIG", big));
  set_new_part (item, cairn_part_new_from_stream ("HUGE", huge_stream));
  set_new_part (item, cairn_part_new_from_stream ("SMALL", small_stream));
  set_new_part (item, cairn_part_new_foreign (CAIRN_PART_RFC822, foreign_path, 20));
  set_new_part (item, cairn_part_new_missing ("BODY", 5000));
  write_ok (create_item_block, item);
  id = cairn_item_get_id (item);
  ck_assert_uint_eq (count_payload_files (), 2);

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_item_get_parts (read)->len, 5);
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (read, "BIG")),
                    CAIRN_PART_STORAGE_EXTERNAL);
  ck_assert_int_eq (cairn_part_get_size (cairn_item_get_part (read, "HUGE")),
                    (goffset) g_bytes_get_size (huge));
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (read, "SMALL")),
                    CAIRN_PART_STORAGE_INLINE);
  ck_assert (g_bytes_equal (cairn_part_get_data (cairn_item_get_part (read, "SMALL")), small));
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (read, "BODY")),
                    CAIRN_PART_STORAGE_MISSING);

  content = read_part (id, "HUGE");
  ck_assert (g_bytes_equal (content, huge));
  g_clear_pointer (&content, g_bytes_unref);
  content = read_part (id, "BIG");
  ck_assert (g_bytes_equal (content, big));
  g_clear_pointer (&content, g_bytes_unref);
  content = read_part (id, CAIRN_PART_RFC822);
  ck_assert_uint_eq (g_bytes_get_size (content), 20);
  g_clear_pointer (&content, g_bytes_unref);

  ck_assert_ptr_null (cairn_store_open_part (store, id, "BODY", NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_MISSING_PART);
  ck_assert_ptr_null (cairn_store_open_part (store, id, "NONE", NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_NOT_FOUND);

  /* Re-storing an unchanged read item keeps its files; replacing a part
   * removes its old file once committed. */
  modify.item = read;
  write_ok (modify_item_block, &modify);
  ck_assert_uint_eq (count_payload_files (), 2);
  set_new_part (read, cairn_part_new_inline ("BIG", replacement));
  write_ok (modify_item_block, &modify);
  ck_assert_uint_eq (count_payload_files (), 2);
  content = read_part (id, "BIG");
  ck_assert (g_bytes_equal (content, replacement));

  g_unlink (foreign_path);
  ck_assert_ptr_null (cairn_store_open_part (store, id, CAIRN_PART_RFC822, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_IO);

  write_ok (delete_item_block, GSIZE_TO_POINTER (id));
  ck_assert_uint_eq (count_payload_files (), 0);
}
END_TEST

/* Reads @part both ways, as bytes and as a stream, and checks @expected. */
static void
assert_part_reads (CairnPart *part,
                   GBytes    *expected)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) streamed = NULL;
  g_autoptr(GInputStream) stream = NULL;
  GError *error = NULL;

  bytes = cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error);
  assert_no_error (error);
  ck_assert_ptr_nonnull (bytes);
  ck_assert (g_bytes_equal (bytes, expected));
  stream = cairn_part_open_stream (part, NULL, &error);
  assert_no_error (error);
  streamed = stream_contents (stream);
  ck_assert (g_bytes_equal (streamed, expected));
}

static void
assert_part_unreadable (CairnPart       *part,
                        CairnStoreError  code)
{
  GError *error = NULL;

  ck_assert_ptr_null (cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error));
  assert_error (error, code);
  ck_assert_ptr_null (cairn_part_open_stream (part, NULL, &error));
  assert_error (error, code);
}

/* Reading a payload file leaves its access time, which a relatime mount
 * writes on the first read after a change: the indexer reads every
 * mail. */
START_TEST (test_part_read_keeps_access_time)
{
  g_autofree char *path = g_build_filename (tmpdir, "unread.eml", NULL);
  const struct timespec times[2] = { { .tv_sec = 1000000 }, { .tv_sec = 2000000 } };
  g_autoptr(CairnPart) part = cairn_part_new_foreign (CAIRN_PART_RFC822, path, 19);
  g_autoptr(GBytes) loaded = NULL;
  struct stat st;
  GError *error = NULL;

  ck_assert (g_file_set_contents (path, "Subject: unread\r\n\r\n", -1, NULL));
  ck_assert_int_eq (utimensat (AT_FDCWD, path, times, 0), 0);
  loaded = cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_bytes_get_size (loaded), 19);
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_atim.tv_sec, 1000000);

  /* A file of another owner, where the kernel refuses to keep the
   * access time to a process without CAP_FOWNER, reads all the same. */
  ck_assert_int_eq (stat ("/etc/passwd", &st), 0);
  g_clear_pointer (&part, cairn_part_unref);
  g_clear_pointer (&loaded, g_bytes_unref);
  part = cairn_part_new_foreign (CAIRN_PART_RFC822, "/etc/passwd", st.st_size);
  loaded = cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_bytes_get_size (loaded), st.st_size);
}
END_TEST

static void
bytes_read (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

START_TEST (test_part_read)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GBytes) small = pattern_bytes (100, 6);
  g_autoptr(GBytes) big = pattern_bytes (100 * 1024, 7);
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) foreign = g_bytes_new_static ("Subject: on disk\r\n\r\n", 20);
  g_autoptr(GBytes) loaded = NULL;
  g_autoptr(GByteArray) longer = g_byte_array_new ();
  g_autoptr(GInputStream) source = g_memory_input_stream_new_from_bytes (small);
  g_autoptr(CairnPart) unstored = cairn_part_new_from_stream ("SMALL", source);
  g_autofree char *foreign_path = g_build_filename (tmpdir, "message.eml", NULL);
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnItem) again = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *big_path = NULL;
  CairnPart *big_part;
  GError *error = NULL;
  guint64 id, revision;

  ck_assert (g_file_set_contents (foreign_path, g_bytes_get_data (foreign, NULL), 20, NULL));
  cairn_item_set_collection_id (item, inbox);
  set_new_part (item, cairn_part_new_inline ("SMALL", small));
  set_new_part (item, cairn_part_new_inline ("BIG", big));
  set_new_part (item, cairn_part_new_inline ("EMPTY", empty));
  set_new_part (item, cairn_part_new_foreign (CAIRN_PART_RFC822, foreign_path, 20));
  set_new_part (item, cairn_part_new_missing ("BODY", 5000));
  write_ok (create_item_block, item);
  id = cairn_item_get_id (item);

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  revision = cairn_item_get_revision (read);
  big_part = cairn_item_get_part (read, "BIG");
  ck_assert_int_eq (cairn_part_get_storage (big_part), CAIRN_PART_STORAGE_EXTERNAL);
  ck_assert_ptr_null (cairn_part_get_data (big_part));

  /* Every storage kind reads alike; an empty payload is empty, not NULL. */
  assert_part_reads (cairn_item_get_part (read, "SMALL"), small);
  assert_part_reads (big_part, big);
  assert_part_reads (cairn_item_get_part (read, "EMPTY"), empty);
  assert_part_reads (cairn_item_get_part (read, CAIRN_PART_RFC822), foreign);
  assert_part_unreadable (cairn_item_get_part (read, "BODY"), CAIRN_STORE_ERROR_MISSING_PART);
  assert_part_unreadable (unstored, CAIRN_STORE_ERROR_INVALID);

  /* The limit is inclusive, for inline and file payloads alike. */
  loaded = cairn_part_read_bytes (big_part, 100 * 1024, NULL, &error);
  assert_no_error (error);
  g_clear_pointer (&loaded, g_bytes_unref);
  ck_assert_ptr_null (cairn_part_read_bytes (big_part, 100 * 1024 - 1, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_TOO_LARGE);
  ck_assert_ptr_null (cairn_part_read_bytes (cairn_item_get_part (read, "SMALL"), 99, NULL,
                                             &error));
  assert_error (error, CAIRN_STORE_ERROR_TOO_LARGE);
  loaded = cairn_part_read_bytes (cairn_item_get_part (read, CAIRN_PART_RFC822), 20, NULL, &error);
  assert_no_error (error);
  g_clear_pointer (&loaded, g_bytes_unref);
  ck_assert_ptr_null (cairn_part_read_bytes (cairn_item_get_part (read, CAIRN_PART_RFC822), 19,
                                             NULL, &error));
  ck_assert (error != NULL && strstr (error->message, " has 20 bytes") != NULL);
  assert_error (error, CAIRN_STORE_ERROR_TOO_LARGE);

  /* A foreign file is its resource's, which may change it: it is read
   * as it is now, longer or shorter than it was. */
  ck_assert (g_file_set_contents (foreign_path, g_bytes_get_data (big, NULL),
                                  g_bytes_get_size (big), NULL));
  assert_part_reads (cairn_item_get_part (read, CAIRN_PART_RFC822), big);
  ck_assert_ptr_null (cairn_part_read_bytes (cairn_item_get_part (read, CAIRN_PART_RFC822),
                                             50 * 1024, NULL, &error));
  ck_assert (error != NULL && strstr (error->message, " has 102400 bytes") != NULL);
  assert_error (error, CAIRN_STORE_ERROR_TOO_LARGE);
  ck_assert (g_file_set_contents (foreign_path, g_bytes_get_data (small, NULL), 10, NULL));
  loaded = g_bytes_new_from_bytes (small, 0, 10);
  assert_part_reads (cairn_item_get_part (read, CAIRN_PART_RFC822), loaded);
  g_clear_pointer (&loaded, g_bytes_unref);

  cairn_part_read_bytes_async (big_part, G_MAXSIZE, NULL, bytes_read, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  loaded = cairn_part_read_bytes_finish (big_part, result, &error);
  assert_no_error (error);
  ck_assert (g_bytes_equal (loaded, big));
  g_clear_pointer (&loaded, g_bytes_unref);
  g_clear_object (&result);
  cairn_part_read_bytes_async (cairn_item_get_part (read, "BODY"), G_MAXSIZE, NULL, bytes_read,
                               &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_ptr_null (cairn_part_read_bytes_finish (cairn_item_get_part (read, "BODY"), result,
                                                    &error));
  assert_error (error, CAIRN_STORE_ERROR_MISSING_PART);

  /* A damaged payload file is an error, never short or empty content, and
   * reading it changes nothing in the store. */
  big_path = g_strdup (cairn_part_get_path (big_part));
  ck_assert (g_file_set_contents (big_path, "cut", 3, NULL));
  assert_part_unreadable (big_part, CAIRN_STORE_ERROR_CORRUPT);
  /* One byte more, which a read of the recorded length alone would miss. */
  g_byte_array_append (longer, g_bytes_get_data (big, NULL), g_bytes_get_size (big));
  g_byte_array_append (longer, (const guint8 *) "x", 1);
  ck_assert (g_file_set_contents (big_path, (const char *) longer->data, longer->len, NULL));
  assert_part_unreadable (big_part, CAIRN_STORE_ERROR_CORRUPT);
  ck_assert_int_eq (g_unlink (big_path), 0);
  ck_assert_int_eq (g_mkdir (big_path, 0700), 0);
  assert_part_unreadable (big_part, CAIRN_STORE_ERROR_IO);
  ck_assert_int_eq (g_rmdir (big_path), 0);
  assert_part_unreadable (big_part, CAIRN_STORE_ERROR_IO);
  ck_assert_ptr_null (cairn_store_open_part (store, id, "BIG", NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_IO);

  again = cairn_store_get_item (store, id, scope, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_item_get_revision (again), revision);
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (again, "BIG")),
                    CAIRN_PART_STORAGE_EXTERNAL);
  ck_assert_int_eq (cairn_part_get_size (cairn_item_get_part (again, "BIG")), 100 * 1024);
  assert_part_reads (cairn_item_get_part (again, "SMALL"), small);
}
END_TEST

/* A damaged store may record any length for a payload file: reading it
 * gives the file as it is (foreign) or an error (external), and the
 * recorded length never sizes a buffer by itself. */
START_TEST (test_part_read_damaged_size)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GBytes) big = pattern_bytes (100 * 1024, 3);
  g_autoptr(GBytes) message = g_bytes_new_static ("Subject: on disk\r\n\r\n", 20);
  g_autofree char *message_path = g_build_filename (tmpdir, "message.eml", NULL);
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GBytes) loaded = NULL;
  GError *error = NULL;
  sqlite3 *db = NULL;

  ck_assert (g_file_set_contents (message_path, g_bytes_get_data (message, NULL), 20, NULL));
  cairn_item_set_collection_id (item, inbox);
  set_new_part (item, cairn_part_new_inline ("BIG", big));
  set_new_part (item, cairn_part_new_foreign (CAIRN_PART_RFC822, message_path, 20));
  write_ok (create_item_block, item);

  ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "UPDATE parts SET size = 1 << 60", NULL, NULL, NULL),
                    SQLITE_OK);
  sqlite3_close (db);
  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, cairn_item_get_id (item), scope, &error);
  assert_no_error (error);
  ck_assert_int_eq (cairn_part_get_size (cairn_item_get_part (read, "BIG")),
                    G_GINT64_CONSTANT (1) << 60);

  loaded = cairn_part_read_bytes (cairn_item_get_part (read, CAIRN_PART_RFC822), G_MAXSIZE, NULL,
                                  &error);
  assert_no_error (error);
  ck_assert (g_bytes_equal (loaded, message));
  ck_assert_ptr_null (cairn_part_read_bytes (cairn_item_get_part (read, "BIG"), G_MAXSIZE, NULL,
                                             &error));
  assert_error (error, CAIRN_STORE_ERROR_CORRUPT);
}
END_TEST

/* A foreign file is its resource's, and another program may replace it
 * by anything: @replace puts something else at the path of a stored
 * item's RFC822 file, whose read must then fail with an I/O error. */
static void
assert_foreign_replaced_unreadable (int (*replace) (const char *path))
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autofree char *message_path = g_build_filename (tmpdir, "message.eml", NULL);
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GError *error = NULL;

  ck_assert (g_file_set_contents (message_path, "Subject: x\n\n", -1, NULL));
  cairn_item_set_collection_id (item, inbox);
  set_new_part (item, cairn_part_new_foreign (CAIRN_PART_RFC822, message_path, 13));
  write_ok (create_item_block, item);
  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, cairn_item_get_id (item), scope, &error);
  assert_no_error (error);

  ck_assert_int_eq (g_unlink (message_path), 0);
  ck_assert_int_eq (replace (message_path), 0);
  ck_assert_ptr_null (cairn_part_read_bytes (cairn_item_get_part (read, CAIRN_PART_RFC822),
                                             G_MAXSIZE, NULL, &error));
  assert_error (error, CAIRN_STORE_ERROR_IO);
}

static int
link_to_zero (const char *path)
{
  return symlink ("/dev/zero", path);
}

static int
make_pipe (const char *path)
{
  return mkfifo (path, 0600);
}

/* A link to a device that never ends is an error, not a read without
 * end. */
START_TEST (test_part_read_endless_device)
{
  assert_foreign_replaced_unreadable (link_to_zero);
}
END_TEST

/* A named pipe: opening it to read would wait for a writer that never
 * comes. */
START_TEST (test_part_read_pipe)
{
  assert_foreign_replaced_unreadable (make_pipe);
}
END_TEST

static gboolean
failing_payload_block (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
  g_autoptr(GBytes) big = pattern_bytes (200 * 1024, 5);

  cairn_item_set_collection_id (item, GPOINTER_TO_SIZE (data));
  set_new_part (item, cairn_part_new_inline ("BIG", big));
  if (!cairn_transaction_create_item (txn, item, error))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "abort");
  return FALSE;
}

START_TEST (test_payload_rollback_and_orphans)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autofree char *bucket = g_strconcat (db_path, ".payloads/ab", NULL);
  g_autofree char *orphan = g_build_filename (bucket, "cdef0123456789", NULL);
  GError *error = NULL;

  ck_assert (!cairn_store_write_sync (store, failing_payload_block, GSIZE_TO_POINTER (inbox),
                                      NULL, NULL, &error));
  g_clear_error (&error);
  ck_assert_uint_eq (count_payload_files (), 0);

  ck_assert_int_eq (g_mkdir_with_parents (bucket, 0700), 0);
  ck_assert (g_file_set_contents (orphan, "left by a crash", -1, NULL));
  ck_assert_uint_eq (count_payload_files (), 1);
  ck_assert (cairn_store_collect_garbage (store, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (count_payload_files (), 0);
}
END_TEST

START_TEST (test_create_items_in_batches)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  guint64 before = current_revision (), count = 0;
  GError *error = NULL;

  for (guint i = 0; i < 2500; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      g_ptr_array_add (items, new_mail (inbox, remote_id, "x"));
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (current_revision (), before + 3);
  ck_assert (cairn_store_get_collection_statistics (store, inbox, &count, NULL, NULL, &error));
  ck_assert_uint_eq (count, 2500);
  ck_assert_uint_ne (cairn_item_get_id (g_ptr_array_index (items, 2499)), 0);
}
END_TEST

/* fsck and vacuum */

static void
exec_unchecked (const char *sql)
{
  sqlite3 *db;

  ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_close (db), SQLITE_OK);
}

START_TEST (test_check_repair_and_vacuum)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnItem) item = new_mail (inbox, "1", "Subject: one");
  g_autoptr(GBytes) big = pattern_bytes (100 * 1024, 5);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autofree char *bucket = g_strconcat (db_path, ".payloads/ab", NULL);
  g_autofree char *orphan = g_build_filename (bucket, "cdef0123456789", NULL);
  g_autofree char *payload_top = g_strconcat (db_path, ".payloads", NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  GError *error = NULL;

  set_new_part (item, cairn_part_new_inline ("BIG", big));
  write_ok (create_item_block, item);

  /* A consistent store has nothing to report. */
  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (problems->len, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* Damage it the way a tool writing without foreign keys would: a flag
   * and an item of entities that are gone; a payload file removed behind
   * its back; an orphan payload. */
  exec_unchecked ("INSERT INTO item_flags (item_id, flag) VALUES (999, '\\Seen');"
                  "INSERT INTO items (collection_id, mime_type, size, revision) "
                  "VALUES (777, 'text/plain', 0, 1);");
  dir = g_dir_open (payload_top, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *inner_path = g_build_filename (payload_top, name, NULL);
      g_autoptr(GDir) inner = g_dir_open (inner_path, 0, NULL);
      const char *file = g_dir_read_name (inner);
      g_autofree char *path = g_build_filename (inner_path, file, NULL);

      ck_assert_int_eq (g_unlink (path), 0);
    }
  ck_assert_int_eq (g_mkdir_with_parents (bucket, 0700), 0);
  ck_assert (g_file_set_contents (orphan, "left by a crash", -1, NULL));

  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (problems->len, 4);
  ck_assert (problems_contain (problems, "1 rows of item_flags refer to a missing row of items"));
  ck_assert (problems_contain (problems, "1 rows of items refer to a missing row of collections"));
  ck_assert (problems_contain (problems, "part BIG of item 1 has no file"));
  ck_assert (problems_contain (problems, "1 files in"));
  ck_assert (!problems_contain (problems, "(repaired)"));
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* Repair fixes all but the item without collection, which is data. */
  ck_assert (cairn_store_check_sync (store, TRUE, &problems, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (problems->len, 4);
  ck_assert (problems_contain (problems, "item_flags refer to a missing row of items through "
                               "item_id (repaired)"));
  ck_assert (problems_contain (problems, "has no file"));
  g_clear_pointer (&problems, g_ptr_array_unref);
  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  ck_assert_uint_eq (problems->len, 1);
  ck_assert (problems_contain (problems, "rows of items refer to a missing row of collections"));
  ck_assert (!g_file_test (orphan, G_FILE_TEST_EXISTS));
  cairn_fetch_scope_set_all_parts (scope, TRUE);
  read = cairn_store_get_item (store, cairn_item_get_id (item), scope, &error);
  assert_no_error (error);
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (read, "BIG")),
                    CAIRN_PART_STORAGE_MISSING);

  ck_assert (cairn_store_checkpoint_sync (store, &error));
  assert_no_error (error);
  ck_assert (cairn_store_vacuum_sync (store, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (current_revision (), 2);
}
END_TEST

/* A bounded write-ahead log */

/* What cairn-database.c sets as journal_size_limit. */
#define WAL_BOUND (8 * 1024 * 1024)

static goffset
wal_size (void)
{
  g_autofree char *wal = g_strconcat (db_path, "-wal", NULL);
  GStatBuf st;

  return g_stat (wal, &st) == 0 ? st.st_size : 0;
}

/* About 20 MB in 10 transactions of 200 items with 10 KB payloads. */
static gboolean
write_20mb (CairnStore  *target,
            guint64      collection_id,
            GError     **error)
{
  g_autoptr(GBytes) payload = pattern_bytes (10 * 1024, 9);

  for (guint t = 0; t < 10; t++)
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < 200; i++)
        {
          g_autofree char *remote_id = g_strdup_printf ("bulk-%u-%u-%u", g_random_int (), t, i);
          CairnItem *item = new_mail (collection_id, remote_id, "x");

          set_new_part (item, cairn_part_new_inline (CAIRN_PART_RFC822, payload));
          g_ptr_array_add (items, item);
        }
      if (!cairn_store_create_items_sync (target, items, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* A reader of another connection holds one snapshot while a writer
 * process writes 20 MB and this process checkpoints all the while: no
 * write fails, and once the reader is gone, maintenance empties the WAL. */
START_TEST (test_wal_bounded_with_reader)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  GError *error = NULL;
  sqlite3 *reader;
  sqlite3_stmt *stmt;
  pid_t writer;
  int status;

  ck_assert_int_eq (sqlite3_open (db_path, &reader), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (reader, "SELECT count (*) FROM items", -1, &stmt, NULL),
                    SQLITE_OK);
  ck_assert_int_eq (sqlite3_step (stmt), SQLITE_ROW);
  sqlite3_finalize (stmt);

  writer = fork ();
  if (writer == 0)
    {
      g_autoptr(CairnStore) own = cairn_store_open (db_path, NULL, NULL);

      _exit (own != NULL && write_20mb (own, inbox, NULL) ? 0 : 3);
    }
  while (waitpid (writer, &status, WNOHANG) == 0)
    {
      ck_assert (cairn_store_checkpoint_sync (store, &error));
      assert_no_error (error);
      g_usleep (20 * 1000);
    }
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0,
                 "the writer failed with status %d", status);
  ck_assert_int_gt (wal_size (), 20 * 1000 * 1000);

  ck_assert_int_eq (sqlite3_exec (reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_close (reader), SQLITE_OK);
  ck_assert (cairn_store_checkpoint_sync (store, &error));
  assert_no_error (error);
  ck_assert_int_lt (wal_size (), WAL_BOUND);
}
END_TEST

typedef struct
{
  guint64 collection_id;
  guint visited;
  goffset wal_after_checkpoint;
} BulkDuringListing;

static gboolean
write_during_listing (CairnItem *item,
                      gpointer   data)
{
  BulkDuringListing *bulk = data;
  GError *error = NULL;

  if (bulk->visited++ == 0)
    {
      ck_assert (write_20mb (store, bulk->collection_id, &error));
      assert_no_error (error);
      ck_assert (cairn_store_checkpoint_sync (store, &error));
      assert_no_error (error);
      bulk->wal_after_checkpoint = wal_size ();
    }
  return TRUE;
}

/* cairn_store_foreach_item() holds no read transaction while its callback
 * runs, so a checkpoint in the middle of a listing empties the WAL. */
START_TEST (test_wal_bounded_during_foreach)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  guint64 other = make_collection (RESOURCE, 0, "Other", "Other");
  BulkDuringListing bulk = { other, 0, 0 };
  GError *error = NULL;

  write_ok (create_many_block, GSIZE_TO_POINTER (inbox));
  ck_assert (cairn_store_foreach_item (store, inbox, NULL, write_during_listing, &bulk, NULL,
                                       &error));
  assert_no_error (error);
  ck_assert_uint_eq (bulk.visited, 2000);
  ck_assert_int_lt (bulk.wal_after_checkpoint, WAL_BOUND);
}
END_TEST

/* fsck finds payload files that were truncated, emptied, changed or
 * made unreadable, and repair makes their parts missing. */
START_TEST (test_check_damaged_payloads)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  const char *damages[] = { "truncated", "emptied", "flipped", "unreadable" };
  const char *expected[] = { "bytes, not 102400", "of 0 bytes, not 102400",
                             "does not match its SHA-256 digest", "cannot read its file" };
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) problems = NULL;
  guint64 ids[G_N_ELEMENTS (damages)];
  GError *error = NULL;

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      g_autoptr(CairnItem) item = new_mail (inbox, damages[i], "Subject: damaged");
      g_autoptr(CairnItem) read = NULL;
      g_autoptr(GBytes) big = pattern_bytes (100 * 1024, i);
      const char *path;
      int fd;

      set_new_part (item, cairn_part_new_inline ("BIG", big));
      write_ok (create_item_block, item);
      ids[i] = cairn_item_get_id (item);
      read = cairn_store_get_item (store, ids[i], scope, &error);
      assert_no_error (error);
      path = cairn_part_get_path (cairn_item_get_part (read, "BIG"));
      ck_assert_ptr_nonnull (path);
      switch (i)
        {
        case 0:
          ck_assert_int_eq (truncate (path, 50 * 1024), 0);
          break;
        case 1:
          ck_assert_int_eq (truncate (path, 0), 0);
          break;
        case 2:
          fd = open (path, O_WRONLY);
          ck_assert_int_eq (pwrite (fd, "\x5a", 1, 4321), 1);
          close (fd);
          break;
        default:
          ck_assert_int_eq (g_chmod (path, 0), 0);
        }
    }

  /* Root reads any file: check as nobody, owner of the store's files. */
  drop_root (tmpdir);

  for (guint repair = 0; repair <= 1; repair++)
    {
      ck_assert (cairn_store_check_sync (store, repair, &problems, NULL, &error));
      assert_no_error (error);
      ck_assert_uint_eq (problems->len, G_N_ELEMENTS (damages));
      for (guint i = 0; i < G_N_ELEMENTS (damages); i++)
        {
          g_autofree char *text = g_strdup_printf ("part BIG of item %" G_GUINT64_FORMAT " ",
                                                   ids[i]);
          const char *problem = NULL;

          for (guint j = 0; j < problems->len && problem == NULL; j++)
            if (strstr (g_ptr_array_index (problems, j), text) != NULL)
              problem = g_ptr_array_index (problems, j);
          ck_assert_msg (problem != NULL && strstr (problem, expected[i]) != NULL,
                         "%s: %s", damages[i], problem);
          ck_assert (g_str_has_suffix (problem, " (repaired)") == (repair == 1));
        }
      g_clear_pointer (&problems, g_ptr_array_unref);
    }

  for (guint i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      g_autoptr(CairnItem) read = cairn_store_get_item (store, ids[i], scope, &error);

      assert_no_error (error);
      ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (read, "BIG")),
                        CAIRN_PART_STORAGE_MISSING);
    }
  ck_assert (cairn_store_check_sync (store, FALSE, &problems, NULL, &error));
  ck_assert_uint_eq (problems->len, 0);
  ck_assert_uint_eq (count_payload_files (), 0);
}
END_TEST

/* Several processes */

#define WRITER_TRANSACTIONS 100
#define ITEMS_PER_TRANSACTION 10

typedef struct
{
  guint64 collection_id;
  guint writer;
  guint transaction;
} WriterData;

static gboolean
writer_block (CairnTransaction *txn, gpointer data, GError **error)
{
  WriterData *writer = data;

  for (guint i = 0; i < ITEMS_PER_TRANSACTION; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("w%u-%u-%u", writer->writer,
                                                    writer->transaction, i);
      g_autoptr(CairnItem) item = new_mail (writer->collection_id, remote_id, "x");

      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

static void
run_writer (guint64 collection_id,
            guint   writer)
{
  g_autoptr(CairnStore) own = cairn_store_open (db_path, NULL, NULL);
  WriterData data = { collection_id, writer, 0 };

  if (own == NULL)
    _exit (2);
  for (data.transaction = 0; data.transaction < WRITER_TRANSACTIONS; data.transaction++)
    if (!cairn_store_write_sync (own, writer_block, &data, NULL, NULL, NULL))
      _exit (3);
  _exit (0);
}

/* Checks that the reader never sees part of a transaction. */
static void
run_reader (guint64     collection_id,
            const char *stop_file)
{
  g_autoptr(CairnStore) own = cairn_store_open (db_path, NULL, NULL);
  guint rounds = 0;

  if (own == NULL)
    _exit (2);
  while (!g_file_test (stop_file, G_FILE_TEST_EXISTS) || rounds == 0)
    {
      guint64 count = 0;
      g_autoptr(GPtrArray) changes = cairn_store_get_changes_since (own, 0, 0, NULL);
      guint run = 0;

      if (!cairn_store_get_collection_statistics (own, collection_id, &count, NULL, NULL, NULL) ||
          count % ITEMS_PER_TRANSACTION != 0 || changes == NULL)
        _exit (4);
      /* Skip the collection's own entry, then every revision has 10. */
      for (guint i = 1; i < changes->len; i++)
        {
          run++;
          if (i + 1 == changes->len ||
              cairn_change_get_revision (g_ptr_array_index (changes, i + 1)) !=
              cairn_change_get_revision (g_ptr_array_index (changes, i)))
            {
              if (run != ITEMS_PER_TRANSACTION)
                _exit (5);
              run = 0;
            }
        }
      rounds++;
    }
  _exit (0);
}

static void
assert_child_ok (pid_t pid)
{
  int status = 0;

  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0,
                 "child %d failed with status %d", (int) pid, status);
}

START_TEST (test_two_writer_processes)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autofree char *stop_file = g_build_filename (tmpdir, "stop", NULL);
  g_autoptr(GPtrArray) changes = NULL;
  pid_t writers[2], reader;
  guint64 count = 0, previous;
  GError *error = NULL;

  reader = fork ();
  if (reader == 0)
    run_reader (inbox, stop_file);
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    {
      writers[i] = fork ();
      if (writers[i] == 0)
        run_writer (inbox, i);
    }
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    assert_child_ok (writers[i]);
  ck_assert (g_file_set_contents (stop_file, "", 0, NULL));
  assert_child_ok (reader);

  ck_assert (cairn_store_get_collection_statistics (store, inbox, &count, NULL, NULL, &error));
  ck_assert_uint_eq (count, 2 * WRITER_TRANSACTIONS * ITEMS_PER_TRANSACTION);

  /* Revisions: unique per transaction, strictly increasing, no gaps. */
  changes = changes_since (1);
  ck_assert_uint_eq (changes->len, 2 * WRITER_TRANSACTIONS * ITEMS_PER_TRANSACTION);
  previous = 1;
  for (guint i = 0; i < changes->len; i += ITEMS_PER_TRANSACTION)
    {
      guint64 revision = cairn_change_get_revision (g_ptr_array_index (changes, i));

      ck_assert_uint_eq (revision, previous + 1);
      for (guint j = 1; j < ITEMS_PER_TRANSACTION; j++)
        ck_assert_uint_eq (cairn_change_get_revision (g_ptr_array_index (changes, i + j)),
                           revision);
      previous = revision;
    }
  ck_assert_uint_eq (current_revision (), 1 + 2 * WRITER_TRANSACTIONS);
}
END_TEST

#define KILLED_BATCH 3000

static gboolean
killed_block (CairnTransaction *txn, gpointer data, GError **error)
{
  int *fds = data;
  g_autoptr(GBytes) payload = pattern_bytes (512, 7);

  for (guint i = 0; i < KILLED_BATCH; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);
      g_autoptr(CairnItem) item = new_mail (fds[2], remote_id, "x");

      set_new_part (item, cairn_part_new_inline (CAIRN_PART_RFC822, payload));
      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
      if (i == KILLED_BATCH / 3 && write (fds[1], "!", 1) != 1)
        return FALSE;
    }
  return TRUE;
}

static int
integrity_check (const char *path, char **result)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  int rc;

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
  rc = sqlite3_step (stmt);
  *result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return rc;
}

START_TEST (test_writer_killed_mid_batch)
{
  guint64 inbox = make_collection (RESOURCE, 0, "Inbox", "INBOX");
  g_autoptr(CairnStore) reopened = NULL;
  g_autofree char *integrity = NULL;
  guint64 count = G_MAXUINT64;
  int fds[3];
  GError *error = NULL;
  pid_t writer;
  char byte;

  ck_assert_int_eq (pipe (fds), 0);
  fds[2] = (int) inbox;
  writer = fork ();
  if (writer == 0)
    {
      g_autoptr(CairnStore) own = cairn_store_open (db_path, NULL, NULL);

      close (fds[0]);
      cairn_store_set_inline_threshold (own, 64);
      cairn_store_write_sync (own, killed_block, fds, NULL, NULL, NULL);
      _exit (0);
    }
  close (fds[1]);
  ck_assert_int_eq (read (fds[0], &byte, 1), 1);
  ck_assert_int_eq (kill (writer, SIGKILL), 0);
  ck_assert_int_eq (waitpid (writer, NULL, 0), writer);
  close (fds[0]);

  g_clear_object (&store);
  ck_assert_int_eq (integrity_check (db_path, &integrity), SQLITE_ROW);
  ck_assert_str_eq (integrity, "ok");

  reopened = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);
  ck_assert (cairn_store_get_collection_statistics (reopened, inbox, &count, NULL, NULL, &error));
  ck_assert_msg (count == 0 || count == KILLED_BATCH, "a partial batch of %" G_GUINT64_FORMAT
                 " items survived", count);
  ck_assert_uint_gt (count_payload_files (), 0);
  ck_assert (cairn_store_collect_garbage (reopened, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (count_payload_files (), count);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "open", test_open_new },
    { "open", test_open_async },
    { "open", test_open_missing_folder },
    { "open", test_open_read_only_folder },
    { "open", test_open_newer_schema },
    { "open", test_open_not_a_database },
    { "open", test_open_foreign_sqlite },
    { "open", test_open_truncated },
    { "open", test_damaged_page },
    { "open", test_disk_full },
    { "open", test_schema_fixture },
    { "open", test_schema_fixture_v3 },
    { "open", test_schema_fixture_v4 },
    { "open", test_schema_fixture_v5 },
    { "collections", test_collection_tree },
    { "collections", test_collection_inherits_resource },
    { "collections", test_collection_invalid_names },
    { "collections", test_collection_duplicate_remote_id },
    { "collections", test_collection_modify },
    { "collections", test_collection_move },
    { "collections", test_collection_delete_recursive },
    { "items", test_item_create_and_read },
    { "items", test_item_without_parts },
    { "items", test_item_lookups },
    { "items", test_item_errors },
    { "items", test_item_verbatim_strings },
    { "items", test_item_modify },
    { "items", test_item_flag_deltas },
    { "items", test_flags_delta_merge },
    { "items", test_item_move_delete },
    { "items", test_item_move_onto_remote_id },
    { "items", test_item_move_back_onto_carried_remote_id },
    { "items", test_item_move_back_both_return },
    { "items", test_item_move_back_nameless_onto_carried_remote_id },
    { "items", test_item_move_back_onto_named_remote_id },
    { "items", test_item_modify_keeps_newer_remote_id },
    { "relations", test_tags },
    { "relations", test_fetch_tags },
    { "relations", test_relations },
    { "relations", test_virtual_and_statistics },
    { "reads", test_list_pages_and_stream },
    { "reads", test_find_items_missing_part },
    { "changes", test_changes_and_cursors },
    { "changes", test_rollback_and_signal },
    { "ids", test_ids_never_reused },
    { "ids", test_ids_after_failures },
    { "payloads", test_payload_storage },
    { "payloads", test_part_read },
    { "payloads", test_part_read_keeps_access_time },
    { "payloads", test_part_read_damaged_size },
    { "payloads", test_part_read_endless_device },
    { "payloads", test_part_read_pipe },
    { "payloads", test_payload_rollback_and_orphans },
    { "payloads", test_create_items_in_batches },
    { "payloads", test_check_repair_and_vacuum },
    { "payloads", test_check_damaged_payloads },
    { "processes", test_two_writer_processes },
    { "processes", test_wal_bounded_with_reader },
    { "processes", test_wal_bounded_during_foreach },
    { "processes", test_writer_killed_mid_batch },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("store", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 120));
}
