/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Confined file operations. Every path is resolved beneath a directory
 * held open, one component at a time, never following a symbolic link:
 * a link in a hostile tree could otherwise lead anywhere the user can
 * write. openat2() with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS does the
 * whole walk in the kernel, in one call; where the kernel lacks it
 * (before Linux 5.6) the walk is made here with openat() and O_NOFOLLOW. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "cairn-collection.h"
#include "cairn-file-tree.h"
#include "cairn-autocleanups.h"
#include "cairn-flags.h"
#include "cairn-item.h"
#include "cairn-part.h"
#include "cairn-resource.h"

/**
 * CairnFileTree:
 *
 * A folder tree that a file-based resource reads and writes, confined to
 * its root folder: nothing outside it is ever read or written.
 *
 * Paths are relative to the root, with `/` between components. A path
 * that is absolute, empty, has an empty component or a `.` or `..`
 * component, or that meets a symbolic link anywhere (also as its last
 * component), is refused with %CAIRN_RESOURCE_ERROR_PERMANENT and a
 * message naming it, before or instead of any access. The root itself is
 * the user's choice and may be reached through links.
 *
 * Every method blocks, and every failure is a #CairnResourceError from
 * cairn_resource_error_from_errno() (a full disk is transient), so that
 * a resource's blocking methods can return it as it is. The methods are
 * safe to repeat, as replayed changes are: removing what is gone, making
 * a folder that is there and redoing a rename that was made all succeed.
 * A tree holds no descriptor between calls; it may be used from any
 * thread.
 *
 * Files have no flags of their own: a tree keeps a file's flags, for the
 * formats without a place for them (a note, an event, a contact), in a
 * hidden sidecar file beside it, `.NAME.flags`, one line of flags
 * separated by spaces, none for a file without flags
 * (cairn_file_tree_read_flags(), cairn_file_tree_write_flags()). Extended
 * attributes would be tidier but are missing on tmpfs before Linux 6.6
 * and on many network file systems. The sidecar is part of the file's
 * revision, and goes with the file when it is renamed or removed.
 *
 * Since: 0.1
 */
struct _CairnFileTree
{
  GObject parent_instance;
  char *root;
};

G_DEFINE_FINAL_TYPE (CairnFileTree, cairn_file_tree, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ROOT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef int Fd;

static void
fd_close (Fd fd)
{
  int saved_errno = errno;

  close (fd);
  errno = saved_errno;
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (Fd, fd_close, -1)

/* The system calls */

#ifdef SYS_openat2
/* Set once the kernel said it has no openat2(). */
static gint no_openat2;
#endif

/* A component that would leave the directory, or name it again. */
static gboolean
is_dot_component (const char *start,
                  gsize       length)
{
  return (length == 1 && start[0] == '.') || (length == 2 && start[0] == '.' && start[1] == '.');
}

/* The walk without openat2(): every directory on the way is opened with
 * O_PATH and O_NOFOLLOW, which opens a link itself rather than its target,
 * and is refused unless it is a directory. */
static int
walk_openat (int         dir_fd,
             const char *relative,
             int         flags,
             mode_t      mode)
{
  g_auto(Fd) current = -1;
  const char *start = relative;

  for (;;)
    {
      const char *slash = strchr (start, '/');
      gsize length = slash ? (gsize) (slash - start) : strlen (start);
      g_autofree char *component = g_strndup (start, length);
      int at = current >= 0 ? current : dir_fd;
      struct stat st;
      g_auto(Fd) next = -1;

      if (length == 0 || is_dot_component (start, length))
        {
          errno = EXDEV;
          return -1;
        }
      if (slash == NULL)
        return openat (at, component, flags | O_NOFOLLOW | O_CLOEXEC, mode);
      next = openat (at, component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 || fstat (next, &st) != 0)
        return -1;
      if (!S_ISDIR (st.st_mode))
        {
          errno = S_ISLNK (st.st_mode) ? ELOOP : ENOTDIR;
          return -1;
        }
      if (current >= 0)
        close (current);
      current = g_steal_fd (&next);
      start = slash + 1;
    }
}

/**
 * cairn_file_tree_openat: (skip)
 * @dir_fd: a directory descriptor
 * @path: a relative path beneath @dir_fd
 * @flags: flags of open(2); `O_NOFOLLOW` and `O_CLOEXEC` are always added
 * @mode: the mode of a file that `O_CREAT` creates
 *
 * Opens @path beneath @dir_fd as openat(2) does, without following any
 * symbolic link in it and without leaving @dir_fd: the system call every
 * #CairnFileTree method is made of, for resources that keep directory
 * descriptors themselves (the maildir resource does). A link met on the
 * way fails with `ELOOP`, and a path that would leave @dir_fd (absolute,
 * empty, with an empty, `.` or `..` component) with `EXDEV`. With
 * `O_PATH | O_NOFOLLOW`, a link as the last component is opened itself.
 *
 * Returns: a new descriptor, or -1 with `errno` set
 *
 * Since: 0.1
 */
int
cairn_file_tree_openat (int         dir_fd,
                        const char *path,
                        int         flags,
                        mode_t      mode)
{
  g_return_val_if_fail (path != NULL, -1);

  if (path[0] == '/' || path[0] == '\0')
    {
      errno = EXDEV;
      return -1;
    }
#ifdef SYS_openat2
  if (!g_atomic_int_get (&no_openat2))
    {
      struct open_how how = { 0 };
      long fd;

      how.flags = (guint64) (flags | O_NOFOLLOW | O_CLOEXEC);
      how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      fd = syscall (SYS_openat2, dir_fd, path, &how, sizeof how);
      if (fd >= 0 || errno != ENOSYS)
        return (int) fd;
      g_atomic_int_set (&no_openat2, 1);
    }
#endif
  return walk_openat (dir_fd, path, flags, mode);
}

/**
 * cairn_file_tree_open_parent: (skip)
 * @dir_fd: a directory descriptor
 * @path: a relative path beneath @dir_fd
 * @name: (out) (transfer none): the last component of @path
 *
 * Opens the directory that holds the last component of @path beneath
 * @dir_fd, as cairn_file_tree_openat() does, and points @name at that
 * component: the descriptor to give renameat(2), unlinkat(2), mkdirat(2)
 * or fstatat(2) with `AT_SYMLINK_NOFOLLOW` together with @name. For a
 * single component it is a new descriptor of @dir_fd itself.
 *
 * Returns: a new `O_PATH` descriptor, or -1 with `errno` set
 *
 * Since: 0.1
 */
int
cairn_file_tree_open_parent (int          dir_fd,
                             const char  *path,
                             const char **name)
{
  const char *slash;
  g_autofree char *parent = NULL;

  g_return_val_if_fail (path != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);

  slash = strrchr (path, '/');
  *name = slash ? slash + 1 : path;
  if (**name == '\0' || is_dot_component (*name, strlen (*name)) || path[0] == '/')
    {
      errno = EXDEV;
      return -1;
    }
  if (slash == NULL)
    return fcntl (dir_fd, F_DUPFD_CLOEXEC, 0);
  parent = g_strndup (path, slash - path);
  return cairn_file_tree_openat (dir_fd, parent, O_PATH | O_DIRECTORY, 0);
}

/* Errors */

static gboolean
fail (CairnFileTree  *self,
      GError        **error,
      int             err_no,
      const char     *what,
      const char     *path)
{
  if (err_no == ELOOP)
    g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                 "Cannot %s “%s” in %s: it is or goes through a symbolic link, which is "
                 "not followed", what, path, self->root);
  else if (err_no == EXDEV)
    g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                 "Cannot %s “%s”: it leaves %s", what, path, self->root);
  else
    g_set_error (error, CAIRN_RESOURCE_ERROR, cairn_resource_error_from_errno (err_no),
                 "Cannot %s “%s” in %s: %s", what, path, self->root, g_strerror (err_no));
  return FALSE;
}

/* Hostile paths are refused by the calls too; this says why, clearly. */
static gboolean
check_path (CairnFileTree  *self,
            const char     *path,
            GError        **error)
{
  g_auto(GStrv) components = NULL;

  if (path == NULL || path[0] == '\0')
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "An empty path is not a path in %s", self->root), FALSE;
  if (path[0] == '/')
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "“%s” is an absolute path, not one in %s", path, self->root), FALSE;
  components = g_strsplit (path, "/", -1);
  for (guint i = 0; components[i] != NULL; i++)
    if (components[i][0] == '\0' || is_dot_component (components[i], strlen (components[i])))
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "“%s” has an empty, “.” or “..” component: it may leave %s", path,
                          self->root), FALSE;
  return TRUE;
}

static int
open_root (CairnFileTree  *self,
           GError        **error)
{
  int fd = open (self->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int saved_errno = errno;

  /* Perhaps an unmounted disk: tried again later. */
  if (fd < 0 && (saved_errno == ENOENT || saved_errno == ENOTDIR))
    g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                 "The folder %s is missing", self->root);
  else if (fd < 0)
    g_set_error (error, CAIRN_RESOURCE_ERROR, cairn_resource_error_from_errno (saved_errno),
                 "Cannot open the folder %s: %s", self->root, g_strerror (saved_errno));
  return fd;
}

/* Opens @path's parent beneath the root: the root's own descriptor, the
 * parent's, and the last component in @name. */
static int
open_parent (CairnFileTree  *self,
             const char     *path,
             const char    **name,
             const char     *what,
             GError        **error)
{
  g_auto(Fd) root_fd = -1;
  int fd;

  if (!check_path (self, path, error) || (root_fd = open_root (self, error)) < 0)
    return -1;
  fd = cairn_file_tree_open_parent (root_fd, path, name);
  if (fd < 0)
    fail (self, error, errno, what, path);
  return fd;
}

/* Public API */

/**
 * cairn_file_tree_new:
 * @root: the folder the tree is confined to, absolute
 *
 * Creates a tree confined to @root. Nothing is opened yet: a missing
 * @root (an unmounted disk) makes each call fail with
 * %CAIRN_RESOURCE_ERROR_TRANSIENT.
 *
 * Returns: (transfer full): a new #CairnFileTree
 *
 * Since: 0.1
 */
CairnFileTree *
cairn_file_tree_new (const char *root)
{
  g_return_val_if_fail (root != NULL, NULL);

  return g_object_new (CAIRN_TYPE_FILE_TREE, "root", root, NULL);
}

/**
 * cairn_file_tree_get_root:
 * @self: a #CairnFileTree
 *
 * Gets the folder the tree is confined to, as given to
 * cairn_file_tree_new().
 *
 * Returns: (type filename): the folder @self is confined to
 *
 * Since: 0.1
 */
const char *
cairn_file_tree_get_root (CairnFileTree *self)
{
  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);

  return self->root;
}

/**
 * cairn_file_tree_check_name:
 * @name: (nullable): a file or folder name, as the store holds it
 * @error: return location for an error
 *
 * Checks that @name is one visible path component: not empty, without
 * `/`, and not starting with `.` (which also refuses `.` and `..`).
 * Names from the store may come from any application; a resource that
 * keeps its own hidden files beside its items (the temporary files of
 * cairn_file_tree_write(), sidecars) checks each name with it before
 * building a path from it.
 *
 * Returns: %TRUE if @name is one visible component, otherwise %FALSE
 *   with %CAIRN_RESOURCE_ERROR_PERMANENT
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_check_name (const char  *name,
                            GError     **error)
{
  if (name != NULL && name[0] != '\0' && name[0] != '.' && strchr (name, '/') == NULL)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "“%s” is not a valid name: it is empty, hidden or holds a “/”",
               name ? name : "");
  return FALSE;
}

static GFileType
file_type (mode_t mode)
{
  if (S_ISREG (mode))
    return G_FILE_TYPE_REGULAR;
  if (S_ISDIR (mode))
    return G_FILE_TYPE_DIRECTORY;
  if (S_ISLNK (mode))
    return G_FILE_TYPE_SYMBOLIC_LINK;
  return G_FILE_TYPE_SPECIAL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * cairn_file_tree_list:
 * @self: a #CairnFileTree
 * @path: (nullable): a folder in @self, or %NULL for the root
 * @type: the type of entries to list, or %G_FILE_TYPE_UNKNOWN for all
 * @error: return location for an error
 *
 * Lists the names in the folder @path, sorted, with hidden ones. Links
 * are not followed: a symbolic link is of type
 * %G_FILE_TYPE_SYMBOLIC_LINK, never a file or folder.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
char **
cairn_file_tree_list (CairnFileTree  *self,
                      const char     *path,
                      GFileType       type,
                      GError        **error)
{
  g_auto(Fd) root_fd = -1;
  g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (16, g_free, TRUE);
  DIR *dir;
  struct dirent *entry;
  int fd;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);

  if ((path != NULL && !check_path (self, path, error)) || (root_fd = open_root (self, error)) < 0)
    return NULL;
  fd = cairn_file_tree_openat (root_fd, path ? path : ".", O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      return fail (self, error, saved_errno, "list", path ? path : "."), NULL;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      struct stat st;

      if (is_dot_component (entry->d_name, strlen (entry->d_name)))
        continue;
      /* Gone meanwhile: not listed. */
      if (fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      if (type == G_FILE_TYPE_UNKNOWN || type == file_type (st.st_mode))
        g_ptr_array_add (names, g_strdup (entry->d_name));
    }
  closedir (dir);
  g_ptr_array_sort (names, compare_names);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
add_collections (CairnFileTree       *self,
                 const char          *parent,
                 const char * const  *mime_types,
                 GPtrArray           *collections,
                 GError             **error)
{
  g_auto(GStrv) names = cairn_file_tree_list (self, parent, G_FILE_TYPE_DIRECTORY, error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = parent ? g_strconcat (parent, "/", names[i], NULL)
                                     : g_strdup (names[i]);
      CairnCollection *collection;

      if (names[i][0] == '.')
        continue;
      collection = cairn_collection_new (NULL, 0, names[i]);
      cairn_collection_set_remote_id (collection, path);
      cairn_collection_set_parent_remote_id (collection, parent);
      cairn_collection_set_content_mime_types (collection, mime_types);
      g_ptr_array_add (collections, collection);
      if (!add_collections (self, path, mime_types, collections, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * cairn_file_tree_list_collections:
 * @self: a #CairnFileTree
 * @mime_types: (array zero-terminated=1): the content MIME types of every
 *   collection
 * @error: return location for an error
 *
 * Lists every folder below the root, at any depth, as a collection for
 * #CairnResourceClass.retrieve_collections_sync: named as the folder, its
 * remote id its path (`Inbox/Old`), its parent's remote id the path of
 * the folder holding it (none at the top). Hidden folders and links are
 * left out. A missing root is %CAIRN_RESOURCE_ERROR_TRANSIENT (perhaps an
 * unmounted disk), so that the sync is tried again instead of every
 * collection being removed.
 *
 * Returns: (transfer full) (element-type CairnCollection): the
 *   collections, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_file_tree_list_collections (CairnFileTree       *self,
                                  const char * const  *mime_types,
                                  GError             **error)
{
  g_autoptr(GPtrArray) collections = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);

  if (!add_collections (self, NULL, mime_types, collections, error))
    return NULL;
  return g_steal_pointer (&collections);
}

/**
 * cairn_file_tree_get_revision:
 * @self: a #CairnFileTree
 * @path: a path in @self
 * @error: return location for an error
 *
 * A remote revision for @path itself (never a link's target): its
 * modification time to the nanosecond and its size, as
 * `SECONDS.NANOSECONDS-SIZE`, followed by `:` and its flags when its
 * sidecar holds any (cairn_file_tree_write_flags()). It changes whenever
 * the file or its flags are written, so a sync can tell the files that
 * changed since it last read them.
 *
 * Returns: (transfer full): the revision, or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_file_tree_get_revision (CairnFileTree  *self,
                              const char     *path,
                              GError        **error)
{
  g_auto(Fd) parent = -1;
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *line = NULL;
  const char *name;
  struct stat st;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);

  parent = open_parent (self, path, &name, "read", error);
  if (parent < 0)
    return NULL;
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return fail (self, error, errno, "read", path), NULL;
  flags = cairn_file_tree_read_flags (self, path, error);
  if (flags == NULL)
    return NULL;
  line = cairn_flags_to_string (flags);
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%09ld-%" G_GINT64_FORMAT "%s%s",
                          (gint64) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (gint64) st.st_size,
                          *line != '\0' ? ":" : "", line);
}

/* Reads @path; with @missing_ok, a missing file reads as empty. */
static GBytes *
read_file (CairnFileTree  *self,
           const char     *path,
           gboolean        missing_ok,
           GError        **error)
{
  g_auto(Fd) root_fd = -1;
  g_auto(Fd) fd = -1;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  struct stat st;

  if (!check_path (self, path, error) || (root_fd = open_root (self, error)) < 0)
    return NULL;
  fd = cairn_file_tree_openat (root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0 && errno == ENOENT && missing_ok)
    return g_bytes_new (NULL, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    return fail (self, error, errno, "read", path), NULL;
  if (!S_ISREG (st.st_mode))
    return fail (self, error, EINVAL, "read", path), NULL;
  for (;;)
    {
      guint8 buffer[64 * 1024];
      gssize n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail (self, error, errno, "read", path), NULL;
      if (n == 0)
        break;
      g_byte_array_append (data, buffer, n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/**
 * cairn_file_tree_read:
 * @self: a #CairnFileTree
 * @path: the path of a regular file in @self
 * @error: return location for an error
 *
 * Reads the whole file @path. Anything but a regular file (a folder, a
 * link, a pipe) is refused.
 *
 * Returns: (transfer full): the contents, or %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
cairn_file_tree_read (CairnFileTree  *self,
                      const char     *path,
                      GError        **error)
{
  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);

  return read_file (self, path, FALSE, error);
}

static gboolean remove_path (CairnFileTree *self, const char *path, GError **error);

/* The hidden file beside @path that holds its flags. */
static char *
sidecar_path (const char *path)
{
  const char *slash = strrchr (path, '/');

  if (slash == NULL)
    return g_strconcat (".", path, ".flags", NULL);
  return g_strdup_printf ("%.*s/.%s.flags", (int) (slash - path), path, slash + 1);
}

/**
 * cairn_file_tree_read_flags:
 * @self: a #CairnFileTree
 * @path: the path of a file in @self
 * @error: return location for an error
 *
 * Reads the flags of @path from its sidecar `.NAME.flags`: none when it
 * has no sidecar.
 *
 * Returns: (transfer full): the flags, or %NULL with @error set when the
 *   sidecar cannot be read
 *
 * Since: 0.1
 */
CairnFlags *
cairn_file_tree_read_flags (CairnFileTree  *self,
                            const char     *path,
                            GError        **error)
{
  g_autofree char *sidecar = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *line = NULL;
  g_auto(GStrv) flags = NULL;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  sidecar = sidecar_path (path);
  bytes = read_file (self, sidecar, TRUE, error);
  if (bytes == NULL)
    return NULL;
  /* No sidecar reads as empty bytes, whose data may be NULL. */
  line = g_bytes_get_size (bytes) > 0 ? g_strndup (g_bytes_get_data (bytes, NULL),
                                                   g_bytes_get_size (bytes))
                                      : g_strdup ("");
  flags = g_strsplit_set (g_strstrip (line), " ", -1);
  return cairn_flags_new_from_strv ((const char * const *) flags);
}

/**
 * cairn_file_tree_write_flags:
 * @self: a #CairnFileTree
 * @path: the path of a file in @self
 * @flags: the flags @path has from now on
 * @error: return location for an error
 *
 * Writes @flags to the sidecar of @path as cairn_file_tree_write() writes
 * a file, durably and atomically; with no flags it removes the sidecar.
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_write_flags (CairnFileTree     *self,
                             const char        *path,
                             const CairnFlags  *flags,
                             GError           **error)
{
  g_autofree char *sidecar = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize length;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), FALSE);
  g_return_val_if_fail (path != NULL && flags != NULL, FALSE);

  sidecar = sidecar_path (path);
  line = cairn_flags_to_string (flags);
  length = strlen (line);
  if (length == 0)
    return remove_path (self, sidecar, error);
  bytes = g_bytes_new_take (g_steal_pointer (&line), length);
  return cairn_file_tree_write (self, sidecar, bytes, error);
}


static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return fsync (fd) == 0;
}

/**
 * cairn_file_tree_write:
 * @self: a #CairnFileTree
 * @path: the path of a file in @self, in an existing folder
 * @contents: what the file holds afterwards
 * @error: return location for an error
 *
 * Writes @contents to the hidden file `.NAME.tmp` beside @path, makes it
 * durable, then renames it over @path: a crash leaves the old file or the
 * new one, never half of one, and a repeated call writes the same
 * temporary file again. A new file is readable by its owner only.
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_write (CairnFileTree  *self,
                       const char     *path,
                       GBytes         *contents,
                       GError        **error)
{
  g_auto(Fd) parent = -1;
  g_auto(Fd) fd = -1;
  g_autofree char *tmp = NULL;
  const char *name;
  gsize length;
  const guint8 *data;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), FALSE);
  g_return_val_if_fail (contents != NULL, FALSE);

  parent = open_parent (self, path, &name, "write", error);
  if (parent < 0)
    return FALSE;
  /* One component without `/`: openat() stays in the parent. */
  tmp = g_strconcat (".", name, ".tmp", NULL);
  data = g_bytes_get_data (contents, &length);
  if (unlinkat (parent, tmp, 0) != 0 && errno != ENOENT)
    return fail (self, error, errno, "write", path);
  fd = openat (parent, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || !write_all (fd, data, length) || renameat (parent, tmp, parent, name) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        unlinkat (parent, tmp, 0);
      return fail (self, error, saved_errno, "write", path);
    }
  return TRUE;
}

/**
 * cairn_file_tree_read_item:
 * @self: a #CairnFileTree
 * @path: the path of a regular file in @self
 * @mime_type: the MIME type of the item
 * @part_name: the name of the part that holds the file's contents
 * @error: return location for an error
 *
 * Reads a file as an item, for a resource that keeps one item per file:
 * its remote id the file name, its remote revision
 * cairn_file_tree_get_revision() (taken before reading, so that a write
 * in between shows at the next sync), its size and its inline part
 * @part_name the contents, its flags those of its sidecar.
 *
 * Returns: (transfer full): the item, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnItem *
cairn_file_tree_read_item (CairnFileTree  *self,
                           const char     *path,
                           const char     *mime_type,
                           const char     *part_name,
                           GError        **error)
{
  g_autoptr(CairnItem) item = NULL;
  g_autofree char *revision = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(CairnPart) part = NULL;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);
  g_return_val_if_fail (path != NULL && mime_type != NULL && part_name != NULL, NULL);

  revision = cairn_file_tree_get_revision (self, path, error);
  if (revision == NULL || (contents = cairn_file_tree_read (self, path, error)) == NULL ||
      (flags = cairn_file_tree_read_flags (self, path, error)) == NULL)
    return NULL;
  name = g_path_get_basename (path);
  part = cairn_part_new_inline (part_name, contents);
  item = cairn_item_new (mime_type);
  cairn_item_set_remote_id (item, name);
  cairn_item_set_remote_revision (item, revision);
  cairn_item_set_size (item, g_bytes_get_size (contents));
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, part);
  return g_steal_pointer (&item);
}

/**
 * cairn_file_tree_write_item:
 * @self: a #CairnFileTree
 * @path: the path of a file in @self, in an existing folder
 * @item: the item to write, as a replay method gets it
 * @part_name: the name of the part that holds the file's contents
 * @error: return location for an error
 *
 * Writes an item as a file, the reverse of cairn_file_tree_read_item():
 * the payload of its part @part_name (empty without one) with
 * cairn_file_tree_write(), then its flags to the sidecar. The payload is
 * read (a large one from its payload file) before the disk is touched, so
 * a part that cannot be read fails instead of writing the file empty or
 * cut short.
 *
 * Returns: (transfer full): the file's new remote revision, or %NULL
 *   with @error set
 *
 * Since: 0.1
 */
char *
cairn_file_tree_write_item (CairnFileTree  *self,
                            const char     *path,
                            CairnItem      *item,
                            const char     *part_name,
                            GError        **error)
{
  CairnPart *part;
  g_autoptr(GBytes) contents = NULL;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), NULL);
  g_return_val_if_fail (path != NULL && CAIRN_IS_ITEM (item) && part_name != NULL, NULL);

  part = cairn_item_get_part (item, part_name);
  contents = part != NULL ? cairn_part_read_bytes (part, G_MAXSIZE, NULL, error)
                          : g_bytes_new (NULL, 0);
  if (contents == NULL || !cairn_file_tree_write (self, path, contents, error) ||
      !cairn_file_tree_write_flags (self, path, cairn_item_get_flags (item), error))
    return NULL;
  return cairn_file_tree_get_revision (self, path, error);
}

/**
 * cairn_file_tree_make_directory:
 * @self: a #CairnFileTree
 * @path: the path of a folder in @self, whose parent exists
 * @error: return location for an error
 *
 * Creates the folder @path, readable by its owner only. A folder that is
 * there already is success.
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_make_directory (CairnFileTree  *self,
                                const char     *path,
                                GError        **error)
{
  g_auto(Fd) parent = -1;
  const char *name;
  struct stat st;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), FALSE);

  parent = open_parent (self, path, &name, "create", error);
  if (parent < 0)
    return FALSE;
  if (mkdirat (parent, name, 0700) == 0)
    return TRUE;
  if (errno == EEXIST && fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return S_ISDIR (st.st_mode) || fail (self, error, S_ISLNK (st.st_mode) ? ELOOP : EEXIST,
                                         "create", path);
  return fail (self, error, errno, "create", path);
}

static gboolean
rename_path (CairnFileTree  *self,
             const char     *from,
             const char     *to,
             GError        **error)
{
  g_auto(Fd) from_parent = -1;
  g_auto(Fd) to_parent = -1;
  const char *from_name, *to_name;
  struct stat st;

  from_parent = open_parent (self, from, &from_name, "move", error);
  if (from_parent < 0)
    return FALSE;
  to_parent = open_parent (self, to, &to_name, "move to", error);
  if (to_parent < 0)
    return FALSE;
  if (renameat (from_parent, from_name, to_parent, to_name) == 0 ||
      (errno == ENOENT && fstatat (from_parent, from_name, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
       errno == ENOENT))
    return TRUE;
  return fail (self, error, errno, "move", from);
}

/**
 * cairn_file_tree_rename:
 * @self: a #CairnFileTree
 * @from: the path of a file or folder in @self
 * @to: its new path in @self, whose parent exists
 * @error: return location for an error
 *
 * Renames or moves @from to @to, as rename(2) does: a file at @to is
 * replaced, a folder moves with everything in it, and a link as @from is
 * moved itself. The flags sidecar of @from, if it has one, goes along.
 * A @from that is gone is success, as for cairn_file_tree_remove(): the
 * rename was made by an attempt that was cut short, or there is nothing
 * to move (a file removed meanwhile, which the next sync notices).
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_rename (CairnFileTree  *self,
                        const char     *from,
                        const char     *to,
                        GError        **error)
{
  g_autofree char *from_sidecar = NULL;
  g_autofree char *to_sidecar = NULL;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), FALSE);
  g_return_val_if_fail (from != NULL && to != NULL, FALSE);

  /* The file first: a retry after a crash in between finds it moved. */
  if (!rename_path (self, from, to, error))
    return FALSE;
  from_sidecar = sidecar_path (from);
  to_sidecar = sidecar_path (to);
  return rename_path (self, from_sidecar, to_sidecar, error);
}

/* Removes @name in @parent_fd with all that it holds; what is gone is
 * success. A folder is opened with O_NOFOLLOW: one replaced meanwhile by
 * a link fails rather than leading outside. */
static int
remove_at (int         parent_fd,
           const char *name)
{
  struct stat st;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? 0 : -1;
  if (S_ISDIR (st.st_mode))
    {
      int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
      struct dirent *entry;

      if (dir == NULL)
        {
          if (fd >= 0)
            fd_close (fd);
          return -1;
        }
      while ((entry = readdir (dir)) != NULL)
        if (!is_dot_component (entry->d_name, strlen (entry->d_name)) &&
            remove_at (dirfd (dir), entry->d_name) != 0)
          {
            int saved_errno = errno;

            closedir (dir);
            errno = saved_errno;
            return -1;
          }
      closedir (dir);
    }
  if (unlinkat (parent_fd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT)
    return 0;
  return -1;
}

/**
 * cairn_file_tree_remove:
 * @self: a #CairnFileTree
 * @path: the path of a file or folder in @self
 * @error: return location for an error
 *
 * Removes @path, a folder with everything in it, and its flags sidecar;
 * a link is removed itself, never followed. What is gone already is
 * success.
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_file_tree_remove (CairnFileTree  *self,
                        const char     *path,
                        GError        **error)
{
  g_autofree char *sidecar = NULL;

  g_return_val_if_fail (CAIRN_IS_FILE_TREE (self), FALSE);

  /* The file first: a retry after a crash in between finds it gone. */
  if (!remove_path (self, path, error))
    return FALSE;
  sidecar = sidecar_path (path);
  return remove_path (self, sidecar, error);
}

static gboolean
remove_path (CairnFileTree  *self,
             const char     *path,
             GError        **error)
{
  g_auto(Fd) parent = -1;
  const char *name;
  g_auto(Fd) root_fd = -1;

  if (!check_path (self, path, error) || (root_fd = open_root (self, error)) < 0)
    return FALSE;
  /* Its folder gone too: removed with it. */
  parent = cairn_file_tree_open_parent (root_fd, path, &name);
  if (parent < 0)
    return errno == ENOENT || fail (self, error, errno, "remove", path);
  return remove_at (parent, name) == 0 || fail (self, error, errno, "remove", path);
}

/* GObject */

static void
cairn_file_tree_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  CairnFileTree *self = CAIRN_FILE_TREE (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      g_value_set_string (value, self->root);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_file_tree_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  CairnFileTree *self = CAIRN_FILE_TREE (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      self->root = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_file_tree_finalize (GObject *object)
{
  g_free (CAIRN_FILE_TREE (object)->root);
  G_OBJECT_CLASS (cairn_file_tree_parent_class)->finalize (object);
}

static void
cairn_file_tree_class_init (CairnFileTreeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = cairn_file_tree_get_property;
  object_class->set_property = cairn_file_tree_set_property;
  object_class->finalize = cairn_file_tree_finalize;

  /**
   * CairnFileTree:root:
   *
   * The folder the tree is confined to.
   *
   * Since: 0.1
   */
  properties[PROP_ROOT] = g_param_spec_string ("root", NULL, NULL, NULL,
                                               G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                                               G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_file_tree_init (CairnFileTree *self)
{
}
