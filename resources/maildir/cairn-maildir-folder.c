/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Folders of a maildir tree: their remote ids, the paths they map to, and
 * their listings. Remote ids come from the store, which any application
 * may write, so every one is checked before it becomes a path. Everything
 * here is safe to call from a worker thread. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-maildir-folder-private.h"
#include "cairn-maildir-message-private.h"

/* Longer names are refused by Dovecot and most file systems. */
#define MAX_NAME_LENGTH 255

G_DEFINE_ENUM_TYPE (CairnMaildirLayout, cairn_maildir_layout,
                    G_DEFINE_ENUM_VALUE (CAIRN_MAILDIR_LAYOUT_MAILDIRPP, "maildir++"),
                    G_DEFINE_ENUM_VALUE (CAIRN_MAILDIR_LAYOUT_FS, "fs"))

gboolean
cairn_maildir_set_errno_error (GError     **error,
                               int          saved_errno,
                               const char  *what,
                               const char  *path)
{
  /* A full disk or a busy file may pass; anything else will not. */
  int code = saved_errno == ENOSPC || saved_errno == EAGAIN || saved_errno == EBUSY ||
             saved_errno == EINTR || saved_errno == EDQUOT
             ? CAIRN_RESOURCE_ERROR_TRANSIENT : CAIRN_RESOURCE_ERROR_PERMANENT;

  g_set_error (error, CAIRN_RESOURCE_ERROR, code, "Cannot %s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
invalid (GError     **error,
         const char  *what,
         const char  *value)
{
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "“%s” is not a valid %s", value ? value : "", what);
  return FALSE;
}

/* One folder name: a single path component, not hidden, and in Maildir++
 * without the dot that separates the hierarchy there. In the fs layout a
 * folder named like a maildir's own sub-directories would be one of them. */
static gboolean
check_name (CairnMaildirLayout   layout,
            const char          *name,
            gsize                length,
            GError             **error)
{
  g_autofree char *copy = g_strndup (name, length);

  if (length == 0 || length > MAX_NAME_LENGTH || name[0] == '.' ||
      !g_utf8_validate_len (name, length, NULL) ||
      (layout == CAIRN_MAILDIR_LAYOUT_FS &&
       (strcmp (copy, "new") == 0 || strcmp (copy, "cur") == 0 || strcmp (copy, "tmp") == 0)))
    return invalid (error, "folder name", copy);
  for (gsize i = 0; i < length; i++)
    if ((guchar) name[i] < 0x20 || name[i] == 0x7f || name[i] == '/' ||
        (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP && name[i] == '.'))
      return invalid (error, "folder name", copy);
  return TRUE;
}

static gboolean
check_remote_id (CairnMaildirLayout   layout,
                 const char          *remote_id,
                 GError             **error)
{
  char separator = layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP ? '.' : '/';
  const char *start = remote_id;

  if (remote_id == NULL)
    return invalid (error, "folder", NULL);
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) == 0)
    return TRUE;
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    {
      if (remote_id[0] != '.' || strlen (remote_id) > MAX_NAME_LENGTH)
        return invalid (error, "folder", remote_id);
      start++;
    }
  for (;;)
    {
      const char *end = strchr (start, separator);
      gsize length = end ? (gsize) (end - start) : strlen (start);

      if (!check_name (layout, start, length, error))
        {
          g_clear_error (error);
          return invalid (error, "folder", remote_id);
        }
      if (end == NULL)
        return TRUE;
      start = end + 1;
    }
}

/* Whether @path, once every symbolic link is resolved, is @root or inside
 * it; @root is canonical. A path that does not exist is judged by its
 * parent. */
gboolean
cairn_maildir_folder_is_inside (const char *root,
                                const char *path)
{
  g_autofree char *resolved = realpath (path, NULL);
  gsize root_length = strlen (root);

  if (resolved == NULL)
    {
      g_autofree char *parent = NULL;

      if (errno != ENOENT)
        return FALSE;
      parent = g_path_get_dirname (path);
      return strcmp (parent, path) != 0 && cairn_maildir_folder_is_inside (root, parent);
    }
  return strncmp (resolved, root, root_length) == 0 &&
         (resolved[root_length] == '\0' || resolved[root_length] == '/' ||
          strcmp (root, "/") == 0);
}

char *
cairn_maildir_folder_path (const char          *root,
                           CairnMaildirLayout   layout,
                           const char          *remote_id,
                           GError             **error)
{
  g_autofree char *path = NULL;

  if (!check_remote_id (layout, remote_id, error))
    return NULL;
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) == 0)
    return g_strdup (root);
  path = g_build_filename (root, remote_id, NULL);
  if (!cairn_maildir_folder_is_inside (root, path))
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "The folder %s leads outside the maildir %s", remote_id, root);
      return NULL;
    }
  return g_steal_pointer (&path);
}

/* INBOX is never a parent: its sub-folders are top-level folders, as
 * Dovecot shows them. */
char *
cairn_maildir_folder_child_remote_id (CairnMaildirLayout   layout,
                                      const char          *parent_remote_id,
                                      const char          *name,
                                      GError             **error)
{
  gboolean top = parent_remote_id == NULL || strcmp (parent_remote_id, CAIRN_MAILDIR_INBOX) == 0;

  if (name == NULL || !check_name (layout, name, strlen (name), error) ||
      (!top && !check_remote_id (layout, parent_remote_id, error)))
    return NULL;
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    return g_strconcat (top ? "" : parent_remote_id, ".", name, NULL);
  return top ? g_strdup (name) : g_strconcat (parent_remote_id, "/", name, NULL);
}

static gboolean
is_maildir (const char *path)
{
  g_autofree char *cur = g_build_filename (path, "cur", NULL);
  g_autofree char *new = g_build_filename (path, "new", NULL);

  return g_file_test (cur, G_FILE_TEST_IS_DIR) || g_file_test (new, G_FILE_TEST_IS_DIR);
}

static CairnCollection *
new_collection (const char *remote_id,
                const char *name)
{
  const char *mime_types[] = { CAIRN_MAILDIR_MIME_TYPE, "inode/directory", NULL };
  CairnCollection *collection = cairn_collection_new (NULL, 0, name);

  cairn_collection_set_remote_id (collection, remote_id);
  cairn_collection_set_content_mime_types (collection, mime_types);
  return collection;
}

static void
report (GPtrArray  *skipped,
        const char *path,
        const char *why)
{
  if (skipped != NULL)
    g_ptr_array_add (skipped, g_strdup_printf ("%s: %s", path, why));
}

/* Whether @path is a folder to list: a maildir inside the root. */
static gboolean
accept_folder (const char *root,
               const char *path,
               GPtrArray  *skipped)
{
  if (!is_maildir (path))
    return FALSE;
  if (!cairn_maildir_folder_is_inside (root, path))
    {
      report (skipped, path, "a link leading outside the maildir");
      return FALSE;
    }
  return TRUE;
}

static void
list_fs (const char *root,
         const char *relative,
         const char *parent,
         GPtrArray  *collections,
         GPtrArray  *skipped)
{
  g_autofree char *folder = relative ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *remote_id = relative ? g_build_filename (relative, name, NULL)
                                            : g_strdup (name);
      const char *child_parent = parent;
      GStatBuf st;

      if (g_lstat (path, &st) != 0 || !(S_ISDIR (st.st_mode) || S_ISLNK (st.st_mode)) ||
          !check_name (CAIRN_MAILDIR_LAYOUT_FS, name, strlen (name), NULL))
        continue;
      if (accept_folder (root, path, skipped))
        {
          CairnCollection *collection = new_collection (remote_id, name);

          cairn_collection_set_parent_remote_id (collection, parent);
          g_ptr_array_add (collections, collection);
          child_parent = cairn_collection_get_remote_id (collection);
        }
      /* A linked directory is a folder at most, never walked: a link to
       * an ancestor would never end. */
      if (S_ISDIR (st.st_mode))
        list_fs (root, remote_id, child_parent, collections, skipped);
    }
}

static void
list_maildirpp (const char *root,
                GPtrArray  *collections,
                GPtrArray  *skipped)
{
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      CairnCollection *collection;

      if (name[0] != '.' || !check_remote_id (CAIRN_MAILDIR_LAYOUT_MAILDIRPP, name, NULL) ||
          !accept_folder (root, path, skipped))
        continue;
      collection = new_collection (name, strrchr (name, '.') + 1);
      g_ptr_array_add (collections, collection);
      g_hash_table_add (listed, (gpointer) cairn_collection_get_remote_id (collection));
    }

  /* The parent of .A.B.C is .A.B, or .A if .A.B does not exist. */
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      g_autofree char *parent = g_strdup (cairn_collection_get_remote_id (collection));
      char *dot;

      while ((dot = strrchr (parent, '.')) != NULL && dot != parent)
        {
          *dot = '\0';
          if (g_hash_table_contains (listed, parent))
            {
              cairn_collection_set_parent_remote_id (collection, parent);
              break;
            }
        }
    }
}

/* The whole tree, as #CairnCollection with remote ids and parents' remote
 * ids; what cannot be listed is left out and added to @skipped. */
GPtrArray *
cairn_maildir_folder_list (const char         *root,
                           CairnMaildirLayout  layout,
                           GPtrArray          *skipped)
{
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);

  if (is_maildir (root))
    g_ptr_array_add (collections, new_collection (CAIRN_MAILDIR_INBOX, CAIRN_MAILDIR_INBOX));
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    list_maildirpp (root, collections, skipped);
  else
    list_fs (root, NULL, NULL, collections, skipped);
  return collections;
}

static gboolean
foreach_in_directory (const char                *maildir,
                      const char                *subdirectory,
                      CairnMaildirMessageFunc    func,
                      gpointer                   user_data,
                      GPtrArray                 *skipped,
                      GError                   **error)
{
  g_autofree char *path = g_build_filename (maildir, subdirectory, NULL);
  DIR *dir = opendir (path);
  struct dirent *entry;
  gboolean go_on = TRUE;

  if (dir == NULL)
    {
      /* A maildir may lack new/ or cur/ until something is delivered. */
      if (errno == ENOENT && g_file_test (maildir, G_FILE_TEST_IS_DIR))
        return TRUE;
      return cairn_maildir_set_errno_error (error, errno, "list", path);
    }
  while (go_on && (entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      g_autofree char *uid = NULL;
      g_autofree char *relative_name = NULL;

      if (name[0] == '.')
        continue;
      if (!cairn_maildir_name_is_safe (name) || entry->d_type == DT_LNK ||
          entry->d_type == DT_DIR)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);

          report (skipped, file, entry->d_type == DT_LNK ? "a symbolic link"
                                 : entry->d_type == DT_DIR ? "a directory" : "an unsafe name");
          continue;
        }
      uid = cairn_maildir_name_get_uid (name);
      relative_name = g_strconcat (subdirectory, "/", name, NULL);
      go_on = func (uid, relative_name, user_data);
    }
  closedir (dir);
  return TRUE;
}

/* Calls @func with the unique name and the relative file name ("cur/NAME")
 * of every message of @maildir, until it returns %FALSE. new/ comes
 * first: a message moved to cur/ meanwhile is met there. Only new/ and
 * cur/ are read: tmp/ holds what other programs are still writing. */
gboolean
cairn_maildir_folder_foreach_message (const char               *maildir,
                                      CairnMaildirMessageFunc   func,
                                      gpointer                  user_data,
                                      GPtrArray                *skipped,
                                      GError                  **error)
{
  return foreach_in_directory (maildir, "new", func, user_data, skipped, error) &&
         foreach_in_directory (maildir, "cur", func, user_data, skipped, error);
}

static gboolean
add_to_listing (const char *uid,
                const char *relative_name,
                gpointer    user_data)
{
  g_hash_table_replace (user_data, g_strdup (uid), g_strdup (relative_name));
  return TRUE;
}

/* Lists the messages of @maildir into @names: unique name -> relative
 * file name; a cur/ name wins over a new/ one. */
gboolean
cairn_maildir_folder_list_messages (const char  *maildir,
                                    GHashTable  *names,
                                    GPtrArray   *skipped,
                                    GError     **error)
{
  return cairn_maildir_folder_foreach_message (maildir, add_to_listing, names, skipped, error);
}

static gboolean
make_directory (const char  *path,
                GError     **error)
{
  if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
    return cairn_maildir_set_errno_error (error, errno, "create", path);
  return TRUE;
}

gboolean
cairn_maildir_folder_create (const char          *root,
                             CairnMaildirLayout   layout,
                             const char          *remote_id,
                             GError             **error)
{
  g_autofree char *path = cairn_maildir_folder_path (root, layout, remote_id, error);
  const char *subdirectories[] = { "tmp", "new", "cur" };

  if (path == NULL || !make_directory (path, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *subdirectory = g_build_filename (path, subdirectories[i], NULL);

      if (!make_directory (subdirectory, error))
        return FALSE;
    }
  /* Courier and Dovecot mark a Maildir++ sub-folder with this file. */
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP && strcmp (remote_id, CAIRN_MAILDIR_INBOX) != 0)
    {
      g_autofree char *marker = g_build_filename (path, "maildirfolder", NULL);
      int fd = g_open (marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd < 0)
        return cairn_maildir_set_errno_error (error, errno, "create", marker);
      close (fd);
    }
  return TRUE;
}

/* The Maildir++ folders below @remote_id: .A.B and .A.B.C for .A. */
static GPtrArray *
list_descendants (const char *root,
                  const char *remote_id)
{
  GPtrArray *descendants = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = g_strconcat (remote_id, ".", NULL);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      g_ptr_array_add (descendants, g_strdup (name));
  return descendants;
}

static gboolean
rename_directory (const char  *from,
                  const char  *to,
                  GError     **error)
{
  /* Moved already by an attempt that did not report. */
  if (g_rename (from, to) != 0 && !(errno == ENOENT && g_file_test (to, G_FILE_TEST_IS_DIR)))
    return cairn_maildir_set_errno_error (error, errno, "rename", from);
  return TRUE;
}

gboolean
cairn_maildir_folder_rename (const char          *root,
                             CairnMaildirLayout   layout,
                             const char          *from,
                             const char          *to,
                             GError             **error)
{
  g_autofree char *from_path = cairn_maildir_folder_path (root, layout, from, error);
  g_autofree char *to_path = from_path ? cairn_maildir_folder_path (root, layout, to, error) : NULL;
  g_autoptr(GPtrArray) descendants = NULL;

  if (to_path == NULL)
    return FALSE;
  if (strcmp (from, CAIRN_MAILDIR_INBOX) == 0 || strcmp (to, CAIRN_MAILDIR_INBOX) == 0)
    return invalid (error, "folder to rename", CAIRN_MAILDIR_INBOX);
  if (strcmp (from_path, to_path) == 0)
    return TRUE;
  if (g_file_test (to_path, G_FILE_TEST_EXISTS) && g_file_test (from_path, G_FILE_TEST_EXISTS))
    return cairn_maildir_set_errno_error (error, EEXIST, "rename a folder to", to_path);
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    descendants = list_descendants (root, from);
  if (!rename_directory (from_path, to_path, error))
    return FALSE;
  /* Maildir++ keeps sub-folders beside their parent, named after it. */
  for (guint i = 0; descendants != NULL && i < descendants->len; i++)
    {
      const char *name = g_ptr_array_index (descendants, i);
      g_autofree char *old_path = g_build_filename (root, name, NULL);
      g_autofree char *new_name = g_strconcat (to, name + strlen (from), NULL);
      g_autofree char *new_path = g_build_filename (root, new_name, NULL);

      if (!rename_directory (old_path, new_path, error))
        return FALSE;
    }
  return TRUE;
}

/* Removes @path and what it holds; links are removed, never followed. */
static gboolean
remove_tree (const char  *path,
             GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) == 0 && S_ISDIR (st.st_mode))
        {
          if (!remove_tree (child, error))
            return FALSE;
        }
      else if (g_unlink (child) != 0 && errno != ENOENT)
        return cairn_maildir_set_errno_error (error, errno, "remove", child);
    }
  if (g_rmdir (path) != 0 && errno != ENOENT)
    return cairn_maildir_set_errno_error (error, errno, "remove", path);
  return TRUE;
}

gboolean
cairn_maildir_folder_remove (const char          *root,
                             CairnMaildirLayout   layout,
                             const char          *remote_id,
                             GError             **error)
{
  g_autofree char *path = cairn_maildir_folder_path (root, layout, remote_id, error);
  g_autoptr(GPtrArray) descendants = NULL;
  GStatBuf st;

  if (path == NULL)
    return FALSE;
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) == 0)
    return invalid (error, "folder to remove", CAIRN_MAILDIR_INBOX);
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    descendants = list_descendants (root, remote_id);
  /* A folder that is a link: remove the link, not what it points at. */
  if (g_lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
    {
      if (g_unlink (path) != 0)
        return cairn_maildir_set_errno_error (error, errno, "remove", path);
    }
  else if (!remove_tree (path, error))
    return FALSE;
  for (guint i = 0; descendants != NULL && i < descendants->len; i++)
    {
      g_autofree char *child = g_build_filename (root, g_ptr_array_index (descendants, i), NULL);

      if (!remove_tree (child, error))
        return FALSE;
    }
  return TRUE;
}
