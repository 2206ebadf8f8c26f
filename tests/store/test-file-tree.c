/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CairnFileTree: reads and writes stay in the root, hostile paths (`..`,
 * absolute ones, symbolic links leading out, names with `/`) are refused
 * with a clear error and touch nothing, and every call is safe to repeat. */
#include <check.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-test-suite.h"

static char *tmpdir;
static char *root;
static char *outside;
static CairnFileTree *tree;

static void
write_file (const char *path,
            const char *text)
{
  ck_assert (g_file_set_contents (path, text, -1, NULL));
}

static void
setup (void)
{
  g_autofree char *inbox = NULL;
  g_autofree char *secret = NULL;

  tmpdir = g_dir_make_tmp ("cairn-test-file-tree-XXXXXX", NULL);
  ck_assert_ptr_nonnull (tmpdir);
  root = g_build_filename (tmpdir, "root", NULL);
  outside = g_build_filename (tmpdir, "outside", NULL);
  inbox = g_build_filename (root, "Inbox", NULL);
  ck_assert_int_eq (g_mkdir_with_parents (inbox, 0700), 0);
  ck_assert_int_eq (g_mkdir (outside, 0700), 0);
  secret = g_build_filename (outside, "secret", NULL);
  write_file (secret, "secret");
  tree = cairn_file_tree_new (root);
}

static void
teardown (void)
{
  const char *argv[] = { "rm", "-rf", tmpdir, NULL };

  g_clear_object (&tree);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&root, g_free);
  g_clear_pointer (&outside, g_free);
}

static GBytes *
bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static void
assert_outside_untouched (void)
{
  g_autofree char *secret = g_build_filename (outside, "secret", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GDir) dir = g_dir_open (outside, 0, NULL);

  ck_assert (g_file_get_contents (secret, &contents, NULL, NULL));
  ck_assert_str_eq (contents, "secret");
  ck_assert_str_eq (g_dir_read_name (dir), "secret");
  ck_assert_ptr_null (g_dir_read_name (dir));
}

/* A refusal: permanent, naming the path, and nothing outside touched. */
static void
assert_refused (GError     *error,
                const char *path)
{
  ck_assert_msg (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT),
                 "%s: %s", path, error ? error->message : "no error");
  ck_assert_msg (strstr (error->message, path) != NULL, "message “%s” does not name %s",
                 error->message, path);
  assert_outside_untouched ();
}

START_TEST (test_write_read)
{
  g_autoptr(GBytes) text = bytes ("alpha");
  g_autoptr(GBytes) read = NULL;
  g_autofree char *revision = NULL;
  g_autofree char *again = NULL;
  g_autofree char *tmp = g_build_filename (root, "Inbox", ".a.txt.tmp", NULL);
  GError *error = NULL;

  ck_assert (cairn_file_tree_write (tree, "Inbox/a.txt", text, &error));
  assert_no_error (error);
  /* Repeated: the same file, and no temporary left. */
  ck_assert (cairn_file_tree_write (tree, "Inbox/a.txt", text, &error));
  assert_no_error (error);
  ck_assert (!g_file_test (tmp, G_FILE_TEST_EXISTS));
  read = cairn_file_tree_read (tree, "Inbox/a.txt", &error);
  assert_no_error (error);
  ck_assert (g_bytes_equal (read, text));

  revision = cairn_file_tree_get_revision (tree, "Inbox/a.txt", &error);
  assert_no_error (error);
  ck_assert (g_str_has_suffix (revision, "-5"));
  g_clear_pointer (&read, g_bytes_unref);
  read = bytes ("alpha, longer");
  ck_assert (cairn_file_tree_write (tree, "Inbox/a.txt", read, &error));
  again = cairn_file_tree_get_revision (tree, "Inbox/a.txt", &error);
  assert_no_error (error);
  ck_assert_str_ne (revision, again);
}
END_TEST

/* Larger than any buffer of the reader. */
START_TEST (test_large_file)
{
  gsize size = 300 * 1024 + 7;
  g_autofree char *data = g_malloc (size);
  g_autoptr(GBytes) text = NULL;
  g_autoptr(GBytes) read = NULL;
  GError *error = NULL;

  for (gsize i = 0; i < size; i++)
    data[i] = 'a' + i % 26;
  text = g_bytes_new (data, size);
  ck_assert (cairn_file_tree_write (tree, "big", text, &error));
  read = cairn_file_tree_read (tree, "big", &error);
  assert_no_error (error);
  ck_assert (g_bytes_equal (read, text));
}
END_TEST

START_TEST (test_folders)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) collections = NULL;
  const char *mime_types[] = { "text/plain", NULL };
  g_autofree char *moved = g_build_filename (root, "Archive", "Old", "c.txt", NULL);
  g_autoptr(GBytes) text = bytes ("charlie");
  GError *error = NULL;

  ck_assert (cairn_file_tree_make_directory (tree, "Inbox/Old", &error));
  ck_assert (cairn_file_tree_make_directory (tree, "Inbox/Old", &error));
  ck_assert (cairn_file_tree_make_directory (tree, ".hidden", &error));
  ck_assert (cairn_file_tree_write (tree, "Inbox/Old/c.txt", text, &error));
  ck_assert (cairn_file_tree_write (tree, "Inbox/b.txt", text, &error));
  assert_no_error (error);

  names = cairn_file_tree_list (tree, "Inbox", G_FILE_TYPE_REGULAR, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_strv_length (names), 1);
  ck_assert_str_eq (names[0], "b.txt");
  g_clear_pointer (&names, g_strfreev);
  names = cairn_file_tree_list (tree, NULL, G_FILE_TYPE_UNKNOWN, &error);
  ck_assert_uint_eq (g_strv_length (names), 2);
  ck_assert_str_eq (names[0], ".hidden");
  ck_assert_str_eq (names[1], "Inbox");

  collections = cairn_file_tree_list_collections (tree, mime_types, &error);
  assert_no_error (error);
  ck_assert_uint_eq (collections->len, 2);
  ck_assert_str_eq (cairn_collection_get_remote_id (g_ptr_array_index (collections, 1)),
                    "Inbox/Old");
  ck_assert_str_eq (cairn_collection_get_parent_remote_id (g_ptr_array_index (collections, 1)),
                    "Inbox");
  ck_assert_str_eq (cairn_collection_get_name (g_ptr_array_index (collections, 1)), "Old");

  /* A rename made already is success, twice. */
  ck_assert (cairn_file_tree_rename (tree, "Inbox", "Archive", &error));
  ck_assert (cairn_file_tree_rename (tree, "Inbox", "Archive", &error));
  assert_no_error (error);
  ck_assert (g_file_test (moved, G_FILE_TEST_IS_REGULAR));

  ck_assert (cairn_file_tree_remove (tree, "Archive", &error));
  ck_assert (cairn_file_tree_remove (tree, "Archive", &error));
  ck_assert (cairn_file_tree_remove (tree, "Archive/Old/c.txt", &error));
  assert_no_error (error);
  g_clear_pointer (&names, g_strfreev);
  names = cairn_file_tree_list (tree, NULL, G_FILE_TYPE_DIRECTORY, &error);
  ck_assert_uint_eq (g_strv_length (names), 1);
}
END_TEST

/* A missing root is perhaps an unmounted disk: transient. */
START_TEST (test_missing_root)
{
  g_autofree char *missing = g_build_filename (tmpdir, "unmounted", NULL);
  g_autoptr(CairnFileTree) gone = cairn_file_tree_new (missing);
  const char *mime_types[] = { NULL };
  g_autoptr(GPtrArray) collections = NULL;
  GError *error = NULL;

  collections = cairn_file_tree_list_collections (gone, mime_types, &error);
  ck_assert_ptr_null (collections);
  ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT));
  ck_assert (strstr (error->message, missing) != NULL);
  g_clear_error (&error);
}
END_TEST

static const char *hostile[] = {
  "..", "../outside/secret", "Inbox/../../outside/secret", "./Inbox", "Inbox//a", "/etc/passwd",
  "",
};

START_TEST (test_hostile_paths)
{
  const char *path = hostile[_i];
  g_autoptr(GBytes) text = bytes ("evil");
  GError *error = NULL;

  ck_assert_ptr_null (cairn_file_tree_read (tree, path, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_write (tree, path, text, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_make_directory (tree, path, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_remove (tree, path, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_rename (tree, "Inbox", path, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert_ptr_null (cairn_file_tree_get_revision (tree, path, &error));
  assert_refused (error, path);
  g_clear_error (&error);
  ck_assert_ptr_null (cairn_file_tree_list (tree, path, G_FILE_TYPE_UNKNOWN, &error));
  assert_refused (error, path);
  g_clear_error (&error);
}
END_TEST

/* Links inside the root that lead out: as a folder on the way, as the
 * file itself, and as a folder to remove or list. */
START_TEST (test_symlinks)
{
  g_autofree char *secret = g_build_filename (outside, "secret", NULL);
  g_autofree char *out_link = g_build_filename (root, "Out", NULL);
  g_autofree char *file_link = g_build_filename (root, "Inbox", "note.txt", NULL);
  g_autoptr(GBytes) text = bytes ("evil");
  g_autoptr(GPtrArray) collections = NULL;
  const char *mime_types[] = { NULL };
  GError *error = NULL;

  ck_assert_int_eq (symlink (outside, out_link), 0);
  ck_assert_int_eq (symlink (secret, file_link), 0);

  ck_assert_ptr_null (cairn_file_tree_read (tree, "Out/secret", &error));
  assert_refused (error, "Out/secret");
  ck_assert (strstr (error->message, "symbolic link") != NULL);
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_write (tree, "Out/secret", text, &error));
  assert_refused (error, "Out/secret");
  g_clear_error (&error);
  ck_assert_ptr_null (cairn_file_tree_read (tree, "Inbox/note.txt", &error));
  assert_refused (error, "Inbox/note.txt");
  g_clear_error (&error);
  ck_assert_ptr_null (cairn_file_tree_list (tree, "Out", G_FILE_TYPE_UNKNOWN, &error));
  assert_refused (error, "Out");
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_remove (tree, "Out/secret", &error));
  assert_refused (error, "Out/secret");
  g_clear_error (&error);
  ck_assert (!cairn_file_tree_make_directory (tree, "Out", &error));
  assert_refused (error, "Out");
  g_clear_error (&error);

  /* Written over, the link itself is replaced, never its target. */
  ck_assert (cairn_file_tree_write (tree, "Inbox/note.txt", text, &error));
  assert_no_error (error);
  assert_outside_untouched ();
  ck_assert (!g_file_test (file_link, G_FILE_TEST_IS_SYMLINK));

  /* Listed as no folder, and removed as the link itself. */
  collections = cairn_file_tree_list_collections (tree, mime_types, &error);
  assert_no_error (error);
  ck_assert_uint_eq (collections->len, 1);
  ck_assert (cairn_file_tree_remove (tree, "Out", &error));
  assert_no_error (error);
  ck_assert (!g_file_test (out_link, G_FILE_TEST_EXISTS));
  assert_outside_untouched ();
}
END_TEST

START_TEST (test_check_name)
{
  const char *bad[] = { "a/b", "..", ".", ".hidden", "" };
  GError *error = NULL;

  ck_assert (cairn_file_tree_check_name ("a.txt", &error));
  assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      ck_assert (!cairn_file_tree_check_name (bad[i], &error));
      ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT));
      ck_assert (strstr (error->message, bad[i]) != NULL);
      g_clear_error (&error);
    }
  ck_assert (!cairn_file_tree_check_name (NULL, &error));
  g_clear_error (&error);
}
END_TEST

/* Flags live in a sidecar beside the file: part of its revision, gone
 * with no flags, and along when the file is renamed or removed. */
START_TEST (test_flags_sidecar)
{
  g_autoptr(GBytes) text = bytes ("alpha");
  g_autoptr(CairnFlags) flags = cairn_flags_new ();
  g_autoptr(CairnFlags) read = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *flagged = NULL;
  g_autofree char *sidecar = g_build_filename (root, "Inbox", ".a.txt.flags", NULL);
  g_autofree char *moved = g_build_filename (root, ".b.txt.flags", NULL);
  g_autofree char *contents = NULL;
  GError *error = NULL;

  ck_assert (cairn_file_tree_write (tree, "Inbox/a.txt", text, &error));
  read = cairn_file_tree_read_flags (tree, "Inbox/a.txt", &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_flags_get_size (read), 0);
  g_clear_pointer (&read, cairn_flags_free);
  plain = cairn_file_tree_get_revision (tree, "Inbox/a.txt", &error);
  ck_assert (g_str_has_suffix (plain, "-5"));

  cairn_flags_add (flags, CAIRN_FLAG_SEEN);
  cairn_flags_add (flags, CAIRN_FLAG_FLAGGED);
  ck_assert (cairn_file_tree_write_flags (tree, "Inbox/a.txt", flags, &error));
  assert_no_error (error);
  ck_assert (g_file_get_contents (sidecar, &contents, NULL, NULL));
  ck_assert_str_eq (contents, "\\Flagged \\Seen");
  read = cairn_file_tree_read_flags (tree, "Inbox/a.txt", &error);
  ck_assert (cairn_flags_equal (read, flags));
  g_clear_pointer (&read, cairn_flags_free);
  flagged = cairn_file_tree_get_revision (tree, "Inbox/a.txt", &error);
  ck_assert_str_eq (flagged + strlen (plain), ":\\Flagged \\Seen");

  /* Moved with the file, also when repeated; removed with it. */
  ck_assert (cairn_file_tree_rename (tree, "Inbox/a.txt", "b.txt", &error));
  ck_assert (cairn_file_tree_rename (tree, "Inbox/a.txt", "b.txt", &error));
  assert_no_error (error);
  ck_assert (!g_file_test (sidecar, G_FILE_TEST_EXISTS));
  read = cairn_file_tree_read_flags (tree, "b.txt", &error);
  ck_assert (cairn_flags_equal (read, flags));
  g_clear_pointer (&read, cairn_flags_free);
  ck_assert (cairn_file_tree_remove (tree, "b.txt", &error));
  assert_no_error (error);
  ck_assert (!g_file_test (moved, G_FILE_TEST_EXISTS));

  /* No flags: no sidecar. */
  ck_assert (cairn_file_tree_write (tree, "Inbox/a.txt", text, &error));
  ck_assert (cairn_file_tree_write_flags (tree, "Inbox/a.txt", flags, &error));
  read = cairn_flags_copy (flags);
  ck_assert (cairn_flags_update (flags, NULL, read));
  ck_assert (cairn_file_tree_write_flags (tree, "Inbox/a.txt", flags, &error));
  assert_no_error (error);
  ck_assert (!g_file_test (sidecar, G_FILE_TEST_EXISTS));

  /* A sidecar is a path like any other: no way out. */
  ck_assert_ptr_null (cairn_file_tree_read_flags (tree, "../outside/secret", &error));
  assert_refused (error, "../outside/.secret.flags");
  g_clear_error (&error);
}
END_TEST

/* A file as an item and back: remote id, revision, size, flags and the
 * named part; an item without the part makes an empty file. */
START_TEST (test_items)
{
  g_autoptr(GBytes) text = bytes ("alpha");
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", text);
  g_autoptr(CairnItem) item = cairn_item_new ("text/plain");
  g_autoptr(CairnItem) empty = cairn_item_new ("text/plain");
  g_autoptr(CairnItem) read = NULL;
  g_autoptr(CairnFlags) flags = cairn_flags_new ();
  g_autofree char *revision = NULL;
  g_autofree char *empty_revision = NULL;
  g_autoptr(GBytes) contents = NULL;
  GError *error = NULL;

  cairn_flags_add (flags, CAIRN_FLAG_SEEN);
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, part);
  revision = cairn_file_tree_write_item (tree, "Inbox/a.txt", item, "TEXT", &error);
  assert_no_error (error);
  ck_assert (g_str_has_suffix (revision, ":\\Seen"));

  read = cairn_file_tree_read_item (tree, "Inbox/a.txt", "text/plain", "TEXT", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_item_get_remote_id (read), "a.txt");
  ck_assert_str_eq (cairn_item_get_remote_revision (read), revision);
  ck_assert_uint_eq (cairn_item_get_size (read), 5);
  ck_assert (cairn_flags_equal (cairn_item_get_flags (read), flags));
  ck_assert (g_bytes_equal (cairn_part_get_data (cairn_item_get_part (read, "TEXT")), text));

  empty_revision = cairn_file_tree_write_item (tree, "Inbox/b.txt", empty, "TEXT", &error);
  assert_no_error (error);
  ck_assert (g_str_has_suffix (empty_revision, "-0"));
  contents = cairn_file_tree_read (tree, "Inbox/b.txt", &error);
  ck_assert_uint_eq (g_bytes_get_size (contents), 0);

  ck_assert_ptr_null (cairn_file_tree_read_item (tree, "Inbox/gone.txt", "text/plain", "TEXT",
                                                 &error));
  ck_assert_ptr_nonnull (error);
  g_clear_error (&error);
}
END_TEST

int
main (void)
{
  Suite *suite = suite_create ("file-tree");
  TCase *tcase = tcase_create ("file-tree");

  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_write_read);
  tcase_add_test (tcase, test_large_file);
  tcase_add_test (tcase, test_folders);
  tcase_add_test (tcase, test_missing_root);
  tcase_add_loop_test (tcase, test_hostile_paths, 0, G_N_ELEMENTS (hostile));
  tcase_add_test (tcase, test_symlinks);
  tcase_add_test (tcase, test_check_name);
  tcase_add_test (tcase, test_flags_sidecar);
  tcase_add_test (tcase, test_items);
  suite_add_tcase (suite, tcase);
  return cairn_test_suite_run (suite);
}
