/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestBackend:
 *
 * A resource's backend as a #CairnTestReplay sees it. A resource's own
 * tests implement it in a few lines: read everything, and add, edit, remove
 * or move one item the way another program would.
 *
 * #CairnTestDirectoryBackend implements it for a folder of files, the
 * backend of the notes example resource and of the `test-files` resource.
 *
 * Since: 0.1
 */

G_DEFINE_INTERFACE (CairnTestBackend, cairn_test_backend, G_TYPE_OBJECT)

static void
cairn_test_backend_default_init (CairnTestBackendInterface *iface)
{
}

/**
 * cairn_test_backend_read:
 * @self: a #CairnTestBackend
 * @error: return location for an error
 *
 * Reads everything the backend holds into a snapshot.
 *
 * Returns: (transfer full): what the backend holds, or %NULL with @error
 *   set
 *
 * Since: 0.1
 */
CairnTestSnapshot *
cairn_test_backend_read (CairnTestBackend  *self,
                         GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), NULL);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->read (self, error);
}

/**
 * cairn_test_backend_add_item:
 * @self: a #CairnTestBackend
 * @folder: the folder's path
 * @content: the item's content
 * @flags: (nullable): its flags, if the backend keeps flags
 * @error: return location for an error
 *
 * Adds an item as another program would.
 *
 * Returns: (transfer full): the new item's name, or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_test_backend_add_item (CairnTestBackend  *self,
                             const char        *folder,
                             GBytes            *content,
                             const CairnFlags  *flags,
                             GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), NULL);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->add_item (self, folder, content, flags, error);
}

/**
 * cairn_test_backend_can_edit:
 * @self: a #CairnTestBackend
 *
 * Checks whether the backend's items can be edited in place.
 *
 * Returns: whether items of this backend can be edited in place
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_can_edit (CairnTestBackend *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->edit_item != NULL;
}

/**
 * cairn_test_backend_edit_item:
 * @self: a #CairnTestBackend
 * @folder: the folder's path
 * @name: the item's name
 * @content: the new content
 * @error: return location for an error
 *
 * Replaces an item's content as another program would.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_edit_item (CairnTestBackend  *self,
                              const char        *folder,
                              const char        *name,
                              GBytes            *content,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);
  g_return_val_if_fail (cairn_test_backend_can_edit (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->edit_item (self, folder, name, content, error);
}

/**
 * cairn_test_backend_remove_item:
 * @self: a #CairnTestBackend
 * @folder: the folder's path
 * @name: the item's name
 * @error: return location for an error
 *
 * Removes an item as another program would.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_remove_item (CairnTestBackend  *self,
                                const char        *folder,
                                const char        *name,
                                GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->remove_item (self, folder, name, error);
}

/**
 * cairn_test_backend_can_move:
 * @self: a #CairnTestBackend
 *
 * Whether cairn_test_backend_move_item() may be called: the backend has
 * a #CairnTestBackendInterface.move_item.
 *
 * Returns: whether another program moves items of this backend
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_can_move (CairnTestBackend *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->move_item != NULL;
}

/**
 * cairn_test_backend_move_item:
 * @self: a #CairnTestBackend
 * @folder: the folder's path
 * @name: the item's name
 * @to: the path of the folder to move it to
 * @error: return location for an error
 *
 * Moves an item to another folder as another program would, keeping its
 * content and flags.
 *
 * Returns: (transfer full): the item's name in @to, or %NULL with @error
 *   set
 *
 * Since: 0.1
 */
char *
cairn_test_backend_move_item (CairnTestBackend  *self,
                              const char        *folder,
                              const char        *name,
                              const char        *to,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), NULL);
  g_return_val_if_fail (cairn_test_backend_can_move (self), NULL);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->move_item (self, folder, name, to, error);
}

/**
 * cairn_test_backend_can_set_flags:
 * @self: a #CairnTestBackend
 *
 * Whether cairn_test_backend_set_flags() may be called: the backend has
 * a #CairnTestBackendInterface.set_flags.
 *
 * Returns: whether another program changes the flags of this backend's
 *   items
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_can_set_flags (CairnTestBackend *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->set_flags != NULL;
}

/**
 * cairn_test_backend_set_flags:
 * @self: a #CairnTestBackend
 * @folder: the folder's path
 * @name: the item's name
 * @flags: the item's flags from now on
 * @error: return location for an error
 *
 * Replaces an item's flags as another program would, keeping its content
 * and name.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_set_flags (CairnTestBackend  *self,
                              const char        *folder,
                              const char        *name,
                              const CairnFlags  *flags,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);
  g_return_val_if_fail (cairn_test_backend_can_set_flags (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->set_flags (self, folder, name, flags, error);
}

/**
 * cairn_test_backend_can_change_folders:
 * @self: a #CairnTestBackend
 *
 * Whether cairn_test_backend_add_folder(), cairn_test_backend_rename_folder()
 * and cairn_test_backend_remove_folder() may be called: the backend has
 * all three of #CairnTestBackendInterface's folder calls.
 *
 * Returns: whether another program creates, renames and removes folders
 *   of this backend
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_can_change_folders (CairnTestBackend *self)
{
  CairnTestBackendInterface *iface;

  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (self), FALSE);

  iface = CAIRN_TEST_BACKEND_GET_IFACE (self);
  return iface->add_folder != NULL && iface->rename_folder != NULL &&
         iface->remove_folder != NULL;
}

/**
 * cairn_test_backend_add_folder:
 * @self: a #CairnTestBackend
 * @folder: the name of a top-level folder
 * @error: return location for an error
 *
 * Creates an empty folder as another program would.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_add_folder (CairnTestBackend  *self,
                               const char        *folder,
                               GError           **error)
{
  g_return_val_if_fail (cairn_test_backend_can_change_folders (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->add_folder (self, folder, error);
}

/**
 * cairn_test_backend_rename_folder:
 * @self: a #CairnTestBackend
 * @folder: the name of a top-level folder
 * @name: its new name
 * @error: return location for an error
 *
 * Renames a folder with what it holds as another program would.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_rename_folder (CairnTestBackend  *self,
                                  const char        *folder,
                                  const char        *name,
                                  GError           **error)
{
  g_return_val_if_fail (cairn_test_backend_can_change_folders (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->rename_folder (self, folder, name, error);
}

/**
 * cairn_test_backend_remove_folder:
 * @self: a #CairnTestBackend
 * @folder: the name of a top-level folder
 * @error: return location for an error
 *
 * Removes a folder with what it holds as another program would.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_backend_remove_folder (CairnTestBackend  *self,
                                  const char        *folder,
                                  GError           **error)
{
  g_return_val_if_fail (cairn_test_backend_can_change_folders (self), FALSE);

  return CAIRN_TEST_BACKEND_GET_IFACE (self)->remove_folder (self, folder, error);
}

/**
 * CairnTestDirectoryBackend:
 *
 * A #CairnTestBackend over a folder of files: every sub-folder not
 * starting with `.` is a folder, named by its path from the root, and
 * every such regular file in it an item named by its file name.
 *
 * With a flags header, a file's first line is `Flags: ` and the item's
 * flags separated by spaces, and the content is what follows that line:
 * the format of the `test-files` resource. Without one (the notes
 * resource), the file is the content and the backend keeps no flags.
 *
 * Files are written as other programs write them: to a hidden temporary
 * file, then renamed.
 *
 * Since: 0.1
 */

#define FLAGS_PREFIX "Flags: "

struct _CairnTestDirectoryBackend
{
  GObject parent_instance;

  char *root;
  gboolean flags_header;
  guint n_added;
};

static void cairn_test_directory_backend_iface_init (CairnTestBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnTestDirectoryBackend, cairn_test_directory_backend,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_TEST_BACKEND,
                                                      cairn_test_directory_backend_iface_init))

static void
cairn_test_directory_backend_finalize (GObject *object)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (object);

  g_free (self->root);

  G_OBJECT_CLASS (cairn_test_directory_backend_parent_class)->finalize (object);
}

static void
cairn_test_directory_backend_class_init (CairnTestDirectoryBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_test_directory_backend_finalize;
}

static void
cairn_test_directory_backend_init (CairnTestDirectoryBackend *self)
{
}

/* Splits a file into its flags and its content. */
static GBytes *
parse_file (CairnTestDirectoryBackend  *self,
            GBytes                     *file,
            CairnFlags                **flags)
{
  gsize size;
  const char *data = g_bytes_get_data (file, &size);
  const char *end;
  g_autofree char *line = NULL;
  g_auto(GStrv) names = NULL;

  if (!self->flags_header)
    return g_bytes_ref (file);
  *flags = cairn_flags_new ();
  end = size ? memchr (data, '\n', size) : NULL;
  if (end == NULL || size < strlen (FLAGS_PREFIX) ||
      strncmp (data, FLAGS_PREFIX, strlen (FLAGS_PREFIX)) != 0)
    return g_bytes_ref (file);
  line = g_strndup (data + strlen (FLAGS_PREFIX), end - data - strlen (FLAGS_PREFIX));
  names = g_strsplit (line, " ", -1);
  for (guint i = 0; names[i] != NULL; i++)
    if (*names[i] != '\0')
      cairn_flags_add (*flags, names[i]);
  return g_bytes_new_from_bytes (file, end + 1 - data, size - (end + 1 - data));
}

static gboolean
read_folder (CairnTestDirectoryBackend  *self,
             CairnTestSnapshot          *snapshot,
             const char                 *relative,
             GError                    **error)
{
  g_autofree char *path = g_build_filename (self->root, relative, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, error);
  const char *name;

  if (dir == NULL)
    return FALSE;
  if (relative != NULL)
    cairn_test_snapshot_add_folder (snapshot, relative);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *child_relative = relative ? g_build_filename (relative, name, NULL)
                                                 : g_strdup (name);
      g_autoptr(CairnFlags) flags = NULL;
      g_autoptr(GBytes) content = NULL;
      g_autoptr(GBytes) file = NULL;
      g_autoptr(GMappedFile) mapped = NULL;

      if (name[0] == '.')
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (!read_folder (self, snapshot, child_relative, error))
            return FALSE;
          continue;
        }
      if (relative == NULL)
        continue;
      mapped = g_mapped_file_new (child, FALSE, error);
      if (mapped == NULL)
        return FALSE;
      file = g_bytes_new (g_mapped_file_get_contents (mapped), g_mapped_file_get_length (mapped));
      content = parse_file (self, file, &flags);
      cairn_test_snapshot_add_item (snapshot, relative, name, content, flags);
    }
  return TRUE;
}

static CairnTestSnapshot *
directory_read (CairnTestBackend  *backend,
                GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autoptr(CairnTestSnapshot) snapshot = cairn_test_snapshot_new ();

  if (!read_folder (self, snapshot, NULL, error))
    return NULL;
  return g_steal_pointer (&snapshot);
}

static gboolean
write_file (CairnTestDirectoryBackend  *self,
            const char                 *folder,
            const char                 *name,
            GBytes                     *content,
            const CairnFlags           *flags,
            GError                    **error)
{
  g_autofree char *path = g_build_filename (self->root, folder, name, NULL);
  g_autofree char *tmp = g_build_filename (self->root, folder, ".external.tmp", NULL);
  g_autoptr(GString) file = g_string_new (NULL);

  if (self->flags_header)
    {
      g_autofree char *line = flags ? cairn_flags_to_string (flags) : g_strdup ("");

      g_string_append_printf (file, FLAGS_PREFIX "%s\n", line);
    }
  g_string_append_len (file, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  if (!g_file_set_contents (tmp, file->str, file->len, error))
    return FALSE;
  if (g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot rename %s: %s",
                   tmp, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static char *
directory_add_item (CairnTestBackend  *backend,
                    const char        *folder,
                    GBytes            *content,
                    const CairnFlags  *flags,
                    GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *name = g_strdup_printf ("external-%u.txt", ++self->n_added);

  if (!write_file (self, folder, name, content, flags, error))
    return NULL;
  return g_steal_pointer (&name);
}

/* Writes item @name of @folder again with @content or @flags, keeping
 * what is %NULL of them. */
static gboolean
rewrite_file (CairnTestDirectoryBackend  *self,
              const char                 *folder,
              const char                 *name,
              GBytes                     *content,
              const CairnFlags           *flags,
              GError                    **error)
{
  g_autofree char *path = g_build_filename (self->root, folder, name, NULL);
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, error);
  g_autoptr(GBytes) file = NULL;
  g_autoptr(GBytes) old = NULL;
  g_autoptr(CairnFlags) old_flags = NULL;

  if (mapped == NULL)
    return FALSE;
  file = g_bytes_new (g_mapped_file_get_contents (mapped), g_mapped_file_get_length (mapped));
  old = parse_file (self, file, &old_flags);
  return write_file (self, folder, name, content ? content : old, flags ? flags : old_flags,
                     error);
}

static gboolean
directory_edit_item (CairnTestBackend  *backend,
                     const char        *folder,
                     const char        *name,
                     GBytes            *content,
                     GError           **error)
{
  return rewrite_file (CAIRN_TEST_DIRECTORY_BACKEND (backend), folder, name, content, NULL,
                       error);
}

static gboolean
directory_set_flags (CairnTestBackend  *backend,
                     const char        *folder,
                     const char        *name,
                     const CairnFlags  *flags,
                     GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);

  if (!self->flags_header)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "The files of %s have no flags", self->root), FALSE;
  return rewrite_file (self, folder, name, NULL, flags, error);
}

static gboolean
directory_remove_item (CairnTestBackend  *backend,
                       const char        *folder,
                       const char        *name,
                       GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *path = g_build_filename (self->root, folder, name, NULL);

  if (g_unlink (path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot remove %s: %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* A rename into the other folder, under the same name unless that is
 * taken there. */
static char *
directory_move_item (CairnTestBackend  *backend,
                     const char        *folder,
                     const char        *name,
                     const char        *to,
                     GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *path = g_build_filename (self->root, folder, name, NULL);
  g_autofree char *moved_name = g_strdup (name);
  g_autofree char *moved = g_build_filename (self->root, to, name, NULL);
  g_autoptr(GFile) source = g_file_new_for_path (path);
  g_autoptr(GFile) target = NULL;

  if (g_file_test (moved, G_FILE_TEST_EXISTS))
    {
      g_free (moved_name);
      g_free (moved);
      moved_name = g_strdup_printf ("external-%u.txt", ++self->n_added);
      moved = g_build_filename (self->root, to, moved_name, NULL);
    }
  target = g_file_new_for_path (moved);
  if (!g_file_move (source, target, G_FILE_COPY_NO_FALLBACK_FOR_MOVE, NULL, NULL, NULL, error))
    return NULL;
  return g_steal_pointer (&moved_name);
}

static gboolean
directory_add_folder (CairnTestBackend  *backend,
                      const char        *folder,
                      GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *path = g_build_filename (self->root, folder, NULL);

  if (g_mkdir (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot create %s: %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
directory_rename_folder (CairnTestBackend  *backend,
                         const char        *folder,
                         const char        *name,
                         GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *path = g_build_filename (self->root, folder, NULL);
  g_autofree char *renamed = g_build_filename (self->root, name, NULL);
  g_autoptr(GFile) source = g_file_new_for_path (path);
  g_autoptr(GFile) target = g_file_new_for_path (renamed);

  return g_file_move (source, target, G_FILE_COPY_NO_FALLBACK_FOR_MOVE, NULL, NULL, NULL, error);
}

static gboolean
directory_remove_folder (CairnTestBackend  *backend,
                         const char        *folder,
                         GError           **error)
{
  CairnTestDirectoryBackend *self = CAIRN_TEST_DIRECTORY_BACKEND (backend);
  g_autofree char *path = g_build_filename (self->root, folder, NULL);

  if (!_cairn_test_remove_tree (path))
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot remove %s", path), FALSE;
  return TRUE;
}

static void
cairn_test_directory_backend_iface_init (CairnTestBackendInterface *iface)
{
  iface->read = directory_read;
  iface->add_item = directory_add_item;
  iface->edit_item = directory_edit_item;
  iface->remove_item = directory_remove_item;
  iface->move_item = directory_move_item;
  iface->set_flags = directory_set_flags;
  iface->add_folder = directory_add_folder;
  iface->rename_folder = directory_rename_folder;
  iface->remove_folder = directory_remove_folder;
}

/**
 * cairn_test_directory_backend_new:
 * @root: the folder holding the folders
 * @flags_header: whether each file starts with a `Flags:` line
 *
 * Creates a backend that keeps items as files in folders below @root.
 *
 * Returns: (transfer full): a backend over @root
 *
 * Since: 0.1
 */
CairnTestDirectoryBackend *
cairn_test_directory_backend_new (const char *root,
                                  gboolean    flags_header)
{
  CairnTestDirectoryBackend *self;

  g_return_val_if_fail (root != NULL, NULL);

  self = g_object_new (CAIRN_TYPE_TEST_DIRECTORY_BACKEND, NULL);
  self->root = g_strdup (root);
  self->flags_header = flags_header;
  return self;
}
