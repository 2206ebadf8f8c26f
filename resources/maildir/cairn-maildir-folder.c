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

#include "cairn-mail-header-private.h"
#include "cairn-maildir-folder-private.h"
#include "cairn-maildir-fs-private.h"
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

  g_autofree char *escaped = cairn_maildir_escape (path);
  /* The confined walk's own refusals, in words a user understands. */
  const char *why = saved_errno == ELOOP ? "a symbolic link on the way, not followed"
                    : saved_errno == EXDEV ? "it leads outside the maildir"
                    : g_strerror (saved_errno);

  g_set_error (error, CAIRN_RESOURCE_ERROR, code, "Cannot %s %s: %s", what, escaped, why);
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

/* The path of the folder @remote_id: only a name, checked to be one
 * component per level; every use opens it beneath @root, never following
 * a link. */
char *
cairn_maildir_folder_path (const char          *root,
                           CairnMaildirLayout   layout,
                           const char          *remote_id,
                           GError             **error)
{
  if (!check_remote_id (layout, remote_id, error))
    return NULL;
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) == 0)
    return g_strdup (root);
  return g_build_filename (root, remote_id, NULL);
}

/* The name a folder is shown with: its name on disk, decoded when it is
 * in Dovecot's modified UTF-7. */
char *
cairn_maildir_folder_display_name (const char *disk_name)
{
  char *decoded = cairn_mail_mutf7_decode (disk_name);

  return decoded ? decoded : g_strdup (disk_name);
}

/* INBOX is never a parent: its sub-folders are top-level folders, as
 * Dovecot shows them. @name is the name shown, written in modified UTF-7
 * as Dovecot writes it, unless @disk_name is a name on disk that shows
 * as @name already, which is then kept. */
char *
cairn_maildir_folder_child_remote_id (CairnMaildirLayout   layout,
                                      const char          *parent_remote_id,
                                      const char          *name,
                                      GError             **error)
{
  gboolean top = parent_remote_id == NULL || strcmp (parent_remote_id, CAIRN_MAILDIR_INBOX) == 0;
  g_autofree char *encoded = NULL;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    {
      invalid (error, "folder name", name ? "(not UTF-8)" : NULL);
      return NULL;
    }
  encoded = cairn_mail_mutf7_encode (name);
  /* The name shown must be usable too: encoding hides a control
   * character or a separator no better than a link hides a path. */
  if (!check_name (layout, name, strlen (name), error) ||
      !check_name (layout, encoded, strlen (encoded), error) ||
      (!top && !check_remote_id (layout, parent_remote_id, error)))
    return NULL;
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    return g_strconcat (top ? "" : parent_remote_id, ".", encoded, NULL);
  return top ? g_strdup (encoded) : g_strconcat (parent_remote_id, "/", encoded, NULL);
}

/* The folder of @relative (NULL: the root) beneath @root_fd is a maildir
 * if it has cur/ or new/. A link there counts, so that the folder is
 * listed and its sync reports the link rather than leaving it unnoticed. */
static gboolean
is_maildir (int         root_fd,
            const char *relative)
{
  const char *subdirectories[] = { "cur", "new" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *path = relative ? g_build_filename (relative, subdirectories[i], NULL)
                                       : g_strdup (subdirectories[i]);
      struct stat st;

      if (cairn_maildir_statat (root_fd, path, &st) == 0 &&
          (S_ISDIR (st.st_mode) || S_ISLNK (st.st_mode)))
        return TRUE;
    }
  return FALSE;
}

static CairnCollection *
new_collection (const char *remote_id,
                const char *disk_name)
{
  const char *mime_types[] = { CAIRN_MAILDIR_MIME_TYPE, "inode/directory", NULL };
  g_autofree char *name = cairn_maildir_folder_display_name (disk_name);
  CairnCollection *collection = cairn_collection_new (NULL, 0, name);

  cairn_collection_set_remote_id (collection, remote_id);
  cairn_collection_set_content_mime_types (collection, mime_types);
  return collection;
}

/* Adds "PATH: why" to @skipped, with PATH escaped for the log. */
static void
report (GPtrArray  *skipped,
        const char *path,
        const char *why)
{
  g_autofree char *escaped = NULL;

  if (skipped == NULL)
    return;
  escaped = cairn_maildir_escape (path);
  g_ptr_array_add (skipped, g_strdup_printf ("%s: %s", escaped, why));
}

static const char *
link_or_directory (int         dir_fd,
                   const char *name,
                   gboolean   *is_directory)
{
  struct stat st;

  *is_directory = FALSE;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return NULL;
  if (S_ISLNK (st.st_mode))
    return "a symbolic link, not followed";
  *is_directory = S_ISDIR (st.st_mode);
  return NULL;
}

static void
list_fs (const char *root,
         int         root_fd,
         const char *relative,
         const char *parent,
         GPtrArray  *collections,
         GPtrArray  *skipped)
{
  DIR *dir = relative ? cairn_maildir_opendirat (root_fd, relative)
                      : fdopendir (fcntl (root_fd, F_DUPFD_CLOEXEC, 0));
  struct dirent *entry;

  if (dir == NULL)
    {
      g_autofree char *path = relative ? g_build_filename (root, relative, NULL) : g_strdup (root);

      report (skipped, path, g_strerror (errno));
      return;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      g_autofree char *remote_id = NULL;
      const char *child_parent = parent;
      const char *why;
      gboolean is_directory;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      remote_id = relative ? g_build_filename (relative, name, NULL) : g_strdup (name);
      why = link_or_directory (dirfd (dir), name, &is_directory);
      if (why != NULL || !is_directory)
        {
          if (why != NULL)
            {
              g_autofree char *path = g_build_filename (root, remote_id, NULL);

              report (skipped, path, why);
            }
          continue;
        }
      if (!check_name (CAIRN_MAILDIR_LAYOUT_FS, name, strlen (name), NULL))
        {
          /* A maildir's own sub-directories and hidden ones are no folders. */
          if (name[0] != '.' && strcmp (name, "new") != 0 && strcmp (name, "cur") != 0 &&
              strcmp (name, "tmp") != 0)
            {
              g_autofree char *path = g_build_filename (root, remote_id, NULL);

              report (skipped, path, "a folder name that cannot be used");
            }
          continue;
        }
      if (is_maildir (root_fd, remote_id))
        {
          CairnCollection *collection = new_collection (remote_id, name);

          cairn_collection_set_parent_remote_id (collection, parent);
          g_ptr_array_add (collections, collection);
          child_parent = cairn_collection_get_remote_id (collection);
        }
      list_fs (root, root_fd, remote_id, child_parent, collections, skipped);
    }
  closedir (dir);
}

static void
list_maildirpp (const char *root,
                int         root_fd,
                GPtrArray  *collections,
                GPtrArray  *skipped)
{
  DIR *dir = fdopendir (fcntl (root_fd, F_DUPFD_CLOEXEC, 0));
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  struct dirent *entry;

  while (dir != NULL && (entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      CairnCollection *collection;
      const char *why;
      gboolean is_directory;

      if (name[0] != '.' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      why = link_or_directory (root_fd, name, &is_directory);
      if (why == NULL && is_directory && !is_maildir (root_fd, name))
        continue;
      if (why == NULL && is_directory &&
          !check_remote_id (CAIRN_MAILDIR_LAYOUT_MAILDIRPP, name, NULL))
        why = "a folder name that cannot be used";
      if (why != NULL)
        {
          g_autofree char *path = g_build_filename (root, name, NULL);

          report (skipped, path, why);
        }
      if (why != NULL || !is_directory)
        continue;
      collection = new_collection (name, strrchr (name, '.') + 1);
      g_ptr_array_add (collections, collection);
      g_hash_table_add (listed, (gpointer) cairn_collection_get_remote_id (collection));
    }
  if (dir != NULL)
    closedir (dir);

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
  g_auto(CairnMaildirFd) root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (root_fd < 0)
    {
      report (skipped, root, g_strerror (errno));
      return collections;
    }
  if (is_maildir (root_fd, NULL))
    g_ptr_array_add (collections, new_collection (CAIRN_MAILDIR_INBOX, CAIRN_MAILDIR_INBOX));
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    list_maildirpp (root, root_fd, collections, skipped);
  else
    list_fs (root, root_fd, NULL, NULL, collections, skipped);
  return collections;
}

/* Opens the folder @maildir, a path in @root, beneath it. */
int
cairn_maildir_folder_open (const char  *root,
                           const char  *maildir,
                           GError     **error)
{
  int fd = cairn_maildir_open_beneath (root, maildir, O_RDONLY | O_DIRECTORY, 0);

  if (fd < 0)
    cairn_maildir_set_errno_error (error, errno, "open the folder", maildir);
  return fd;
}

static gboolean
foreach_in_directory (int                        folder_fd,
                      const char                *maildir,
                      const char                *subdirectory,
                      CairnMaildirMessageFunc    func,
                      gpointer                   user_data,
                      GPtrArray                 *skipped,
                      GError                   **error)
{
  DIR *dir = cairn_maildir_opendirat (folder_fd, subdirectory);
  struct dirent *entry;
  gboolean go_on = TRUE;

  if (dir == NULL)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectory, NULL);

      /* A maildir may lack new/ or cur/ until something is delivered. */
      if (errno == ENOENT)
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
          g_autofree char *file = g_build_filename (maildir, subdirectory, name, NULL);

          report (skipped, file, entry->d_type == DT_LNK ? "a symbolic link, not followed"
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
 * of every message of the folder @folder_fd (@maildir), until it returns
 * %FALSE. new/ comes first: a message moved to cur/ meanwhile is met
 * there. Only new/ and cur/ are read: tmp/ holds what other programs are
 * still writing. One that cannot be listed, a plain file or a link for
 * instance, fails the folder. */
gboolean
cairn_maildir_folder_foreach_message (int                       folder_fd,
                                      const char               *maildir,
                                      CairnMaildirMessageFunc   func,
                                      gpointer                  user_data,
                                      GPtrArray                *skipped,
                                      GError                  **error)
{
  return foreach_in_directory (folder_fd, maildir, "new", func, user_data, skipped, error) &&
         foreach_in_directory (folder_fd, maildir, "cur", func, user_data, skipped, error);
}

/* Whether @a is the file to keep of two with the same unique name: the
 * one in cur/, else the first in byte order, so that every sync picks the
 * same one. */
gboolean
cairn_maildir_name_is_preferred (const char *a,
                                 const char *b)
{
  gboolean a_cur = g_str_has_prefix (a, "cur/");
  gboolean b_cur = g_str_has_prefix (b, "cur/");

  if (a_cur != b_cur)
    return a_cur;
  return strcmp (a, b) < 0;
}

static gboolean
add_to_listing (const char *uid,
                const char *relative_name,
                gpointer    user_data)
{
  const char *listed = g_hash_table_lookup (user_data, uid);

  if (listed == NULL || cairn_maildir_name_is_preferred (relative_name, listed))
    g_hash_table_replace (user_data, g_strdup (uid), g_strdup (relative_name));
  return TRUE;
}

/* Lists the messages of a folder into @names: unique name -> relative
 * file name; of two with one unique name, the preferred one. */
gboolean
cairn_maildir_folder_list_messages (int          folder_fd,
                                    const char  *maildir,
                                    GHashTable  *names,
                                    GPtrArray   *skipped,
                                    GError     **error)
{
  return cairn_maildir_folder_foreach_message (folder_fd, maildir, add_to_listing, names, skipped,
                                               error);
}

static gboolean
make_directory (int          dir_fd,
                const char  *relative,
                const char  *path,
                GError     **error)
{
  if (cairn_maildir_mkdirat (dir_fd, relative, 0700) != 0 && errno != EEXIST)
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
  g_auto(CairnMaildirFd) root_fd = -1;
  g_auto(CairnMaildirFd) folder_fd = -1;

  if (path == NULL)
    return FALSE;
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return cairn_maildir_set_errno_error (error, errno, "open", root);
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) != 0 &&
      !make_directory (root_fd, remote_id, path, error))
    return FALSE;
  folder_fd = cairn_maildir_folder_open (root, path, error);
  if (folder_fd < 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *subdirectory = g_build_filename (path, subdirectories[i], NULL);

      if (!make_directory (folder_fd, subdirectories[i], subdirectory, error))
        return FALSE;
    }
  /* Courier and Dovecot mark a Maildir++ sub-folder with this file. */
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP && strcmp (remote_id, CAIRN_MAILDIR_INBOX) != 0)
    {
      int fd = openat (folder_fd, "maildirfolder",
                       O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd < 0)
        return cairn_maildir_set_errno_error (error, errno, "create the marker of", path);
      close (fd);
    }
  return TRUE;
}

/* The Maildir++ folders below @remote_id: .A.B and .A.B.C for .A. */
static GPtrArray *
list_descendants (int         root_fd,
                  const char *remote_id)
{
  GPtrArray *descendants = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = g_strconcat (remote_id, ".", NULL);
  DIR *dir = fdopendir (fcntl (root_fd, F_DUPFD_CLOEXEC, 0));
  struct dirent *entry;

  while (dir != NULL && (entry = readdir (dir)) != NULL)
    if (g_str_has_prefix (entry->d_name, prefix))
      g_ptr_array_add (descendants, g_strdup (entry->d_name));
  if (dir != NULL)
    closedir (dir);
  return descendants;
}

static gboolean
rename_directory (int          root_fd,
                  const char  *from,
                  const char  *to,
                  const char  *from_path,
                  GError     **error)
{
  struct stat st;

  if (cairn_maildir_renameat (root_fd, from, root_fd, to, FALSE) == 0)
    return TRUE;
  /* Moved already by an attempt that did not report. */
  if (errno == ENOENT && cairn_maildir_statat (root_fd, to, &st) == 0 && S_ISDIR (st.st_mode))
    return TRUE;
  return cairn_maildir_set_errno_error (error, errno, "rename", from_path);
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
  g_auto(CairnMaildirFd) root_fd = -1;

  if (to_path == NULL)
    return FALSE;
  if (strcmp (from, CAIRN_MAILDIR_INBOX) == 0 || strcmp (to, CAIRN_MAILDIR_INBOX) == 0)
    return invalid (error, "folder to rename", CAIRN_MAILDIR_INBOX);
  if (strcmp (from_path, to_path) == 0)
    return TRUE;
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return cairn_maildir_set_errno_error (error, errno, "open", root);
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    descendants = list_descendants (root_fd, from);
  if (!rename_directory (root_fd, from, to, from_path, error))
    return FALSE;
  /* Maildir++ keeps sub-folders beside their parent, named after it. */
  for (guint i = 0; descendants != NULL && i < descendants->len; i++)
    {
      const char *name = g_ptr_array_index (descendants, i);
      g_autofree char *old_path = g_build_filename (root, name, NULL);
      g_autofree char *new_name = g_strconcat (to, name + strlen (from), NULL);

      if (!rename_directory (root_fd, name, new_name, old_path, error))
        return FALSE;
    }
  return TRUE;
}

/* Removes @relative beneath @dir_fd and what it holds; links are
 * removed, never followed. */
static gboolean
remove_tree (int          dir_fd,
             const char  *relative,
             const char  *path,
             GError     **error)
{
  DIR *dir = cairn_maildir_opendirat (dir_fd, relative);
  struct dirent *entry;

  while (dir != NULL && (entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      g_autofree char *child = NULL;
      struct stat st;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      child = g_build_filename (path, name, NULL);
      if (fstatat (dirfd (dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
        {
          if (!remove_tree (dirfd (dir), name, child, error))
            {
              closedir (dir);
              return FALSE;
            }
        }
      else if (unlinkat (dirfd (dir), name, 0) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;

          closedir (dir);
          return cairn_maildir_set_errno_error (error, saved_errno, "remove", child);
        }
    }
  if (dir != NULL)
    closedir (dir);
  if (cairn_maildir_unlinkat (dir_fd, relative, AT_REMOVEDIR) != 0 && errno != ENOENT)
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
  g_auto(CairnMaildirFd) root_fd = -1;
  struct stat st;

  if (path == NULL)
    return FALSE;
  if (strcmp (remote_id, CAIRN_MAILDIR_INBOX) == 0)
    return invalid (error, "folder to remove", CAIRN_MAILDIR_INBOX);
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return cairn_maildir_set_errno_error (error, errno, "open", root);
  if (layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP)
    descendants = list_descendants (root_fd, remote_id);
  /* A folder that is a link: remove the link, not what it points at. */
  if (cairn_maildir_statat (root_fd, remote_id, &st) == 0 && S_ISLNK (st.st_mode))
    {
      if (cairn_maildir_unlinkat (root_fd, remote_id, 0) != 0)
        return cairn_maildir_set_errno_error (error, errno, "remove", path);
    }
  else if (!remove_tree (root_fd, remote_id, path, error))
    return FALSE;
  for (guint i = 0; descendants != NULL && i < descendants->len; i++)
    {
      const char *name = g_ptr_array_index (descendants, i);
      g_autofree char *child = g_build_filename (root, name, NULL);

      if (cairn_maildir_statat (root_fd, name, &st) == 0 && S_ISLNK (st.st_mode))
        {
          if (cairn_maildir_unlinkat (root_fd, name, 0) != 0 && errno != ENOENT)
            return cairn_maildir_set_errno_error (error, errno, "remove", child);
        }
      else if (!remove_tree (root_fd, name, child, error))
        return FALSE;
    }
  return TRUE;
}
