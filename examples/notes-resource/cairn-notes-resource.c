/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A resource over a folder of plain-text notes (`[Agent]`, `Type=notes`,
 * `path=/home/me/Notes`), the example docs/writing-a-resource.md walks
 * through. Every sub-folder is a collection, its remote id its path below
 * `path`; every file is a text/plain item, its remote id the file name,
 * its TEXT part the content. Flags live in a hidden sidecar `.NAME.flags`
 * (one line, space-separated): extended attributes are missing on some
 * file systems (tmpfs before Linux 6.6, many network ones). The remote
 * revision is the note's modification time, size and flags. The base
 * class runs every method in a worker thread: they simply block. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

CAIRN_AGENT_MODULE_DEFINE_VERSION;

G_DECLARE_FINAL_TYPE (NotesResource, notes_resource, NOTES, RESOURCE, CairnResource)

struct _NotesResource
{
  CairnResource parent_instance;
  char *path;
};

G_DEFINE_FINAL_TYPE (NotesResource, notes_resource, CAIRN_TYPE_RESOURCE)

static gboolean
fail_errno (GError **error, const char *what, const char *path)
{
  int saved_errno = errno;

  g_set_error (error, CAIRN_RESOURCE_ERROR, cairn_resource_error_from_errno (saved_errno),
               "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/* Names come from the store, which any application may write: only a
 * single, visible path component may reach the file system. */
static gboolean
check_name (const char *name, GError **error)
{
  if (name != NULL && *name != '\0' && *name != '.' && strchr (name, '/') == NULL)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "“%s” is not a valid note or folder name", name ? name : "");
  return FALSE;
}

static char *
remote_id_path (NotesResource *self, const char *remote_id, GError **error)
{
  g_auto(GStrv) names = remote_id ? g_strsplit (remote_id, "/", -1) : NULL;

  /* A folder created locally has none until its creation is replayed. */
  if (names == NULL)
    g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                 "A folder has no remote id");
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    if (!check_name (names[i], error))
      return NULL;
  return names ? g_build_filename (self->path, remote_id, NULL) : NULL;
}

/* Also for a folder removed locally whose removal is still to come. One
 * that never reached the disk has no remote id: CAIRN_STORE_ERROR_NOT_FOUND
 * then, which the base class takes as replayed (nothing of it is here). */
static char *
folder_remote_id (NotesResource *self, guint64 id, GError **error)
{
  g_autoptr(CairnCollection) folder = cairn_resource_get_collection (CAIRN_RESOURCE (self), id,
                                                                     error);

  if (folder != NULL && cairn_collection_get_remote_id (folder) == NULL)
    g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                 "Folder %" G_GUINT64_FORMAT " never reached the disk", id);
  return folder ? g_strdup (cairn_collection_get_remote_id (folder)) : NULL;
}

static char *
folder_path (NotesResource *self, guint64 id, GError **error)
{
  g_autofree char *remote_id = folder_remote_id (self, id, error);

  return remote_id ? remote_id_path (self, remote_id, error) : NULL;
}

static char *
sidecar (const char *folder, const char *name)
{
  return g_strconcat (folder, "/.", name, ".flags", NULL);
}

static CairnFlags *
read_flags (const char *folder, const char *name)
{
  g_autofree char *path = sidecar (folder, name), *line = NULL;
  g_auto(GStrv) flags = NULL;

  if (!g_file_get_contents (path, &line, NULL, NULL))
    return cairn_flags_new ();
  flags = g_strsplit_set (g_strstrip (line), " ", -1);
  return cairn_flags_new_from_strv ((const char * const *) flags);
}

/* To a hidden file, made durable, then renamed over the old one: a crash
 * leaves the old file or the new one, never half of one, and a retry
 * writes the same hidden file again. */
static gboolean
write_file (const char *path, const char *data, gsize length, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path), *name = g_path_get_basename (path);
  g_autofree char *tmp = g_strconcat (dir, "/.", name, ".tmp", NULL);

  return g_file_set_contents_full (tmp, data, length, G_FILE_SET_CONTENTS_DURABLE, 0600, error) &&
         (g_rename (tmp, path) == 0 || fail_errno (error, "rename", tmp));
}

static gboolean
write_flags (const char *folder, const char *name, const CairnFlags *flags, GError **error)
{
  g_autofree char *path = sidecar (folder, name), *line = cairn_flags_to_string (flags);

  /* A note without flags has no sidecar. */
  if (*line == '\0')
    return g_unlink (path) == 0 || errno == ENOENT || fail_errno (error, "remove", path);
  return write_file (path, line, strlen (line), error);
}

static char *
note_revision (const char *folder, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autoptr(CairnFlags) flags = read_flags (folder, name);
  g_autofree char *line = cairn_flags_to_string (flags);
  struct stat st;

  if (g_stat (path, &st) != 0)
    return fail_errno (error, "read", path), NULL;
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%09ld-%" G_GINT64_FORMAT ":%s",
                          (gint64) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (gint64) st.st_size,
                          line);
}

static CairnItem *
read_note (const char *folder, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL), *contents = NULL;
  g_autoptr(CairnItem) item = cairn_item_new ("text/plain");
  g_autoptr(CairnFlags) flags = read_flags (folder, name);
  /* Taken before reading: a write in between shows at the next sync. */
  g_autofree char *revision = note_revision (folder, name, error);
  g_autoptr(GBytes) text = NULL;
  g_autoptr(CairnPart) part = NULL;
  gsize length;

  if (revision == NULL || !g_file_get_contents (path, &contents, &length, error))
    return NULL;
  text = g_bytes_new_take (g_steal_pointer (&contents), length);
  part = cairn_part_new_inline ("TEXT", text);
  cairn_item_set_remote_id (item, name);
  cairn_item_set_remote_revision (item, revision);
  cairn_item_set_size (item, length);
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, part);
  return g_steal_pointer (&item);
}

/* The text is read before the disk is touched: a part that cannot be
 * read fails the change instead of writing the note empty. */
static char *
write_note (const char *folder, const char *name, CairnItem *item, GError **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  CairnPart *part = cairn_item_get_part (item, "TEXT");
  g_autoptr(GBytes) text = part ? cairn_part_read_bytes (part, G_MAXSIZE, NULL, error)
                                : g_bytes_new (NULL, 0);

  if (text == NULL ||
      !write_file (path, g_bytes_get_data (text, NULL), g_bytes_get_size (text), error) ||
      !write_flags (folder, name, cairn_item_get_flags (item), error))
    return NULL;
  return note_revision (folder, name, error);
}

/* Reading the backend */

static void
list_folders (const char *root, const char *relative, GPtrArray *collections)
{
  g_autofree char *folder = g_build_filename (root, relative, NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name, *mime_types[] = { "text/plain", NULL };

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *id = relative ? g_build_filename (relative, name, NULL) : g_strdup (name);
      CairnCollection *collection = cairn_collection_new (NULL, 0, name);

      cairn_collection_set_remote_id (collection, id);
      cairn_collection_set_parent_remote_id (collection, relative);
      cairn_collection_set_content_mime_types (collection, mime_types);
      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_DIR))
        g_object_unref (collection);
      else
        {
          g_ptr_array_add (collections, collection);
          list_folders (root, id, collections);
        }
    }
}

static GPtrArray *
retrieve_collections_sync (CairnResource *resource, GCancellable *cancellable, GError **error)
{
  NotesResource *self = NOTES_RESOURCE (resource);
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);

  /* Perhaps an unmounted disk: tried again later, rather than every
   * collection removed. */
  if (!g_file_test (self->path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "The notes folder %s is missing", self->path);
      return g_ptr_array_unref (collections), NULL;
    }
  list_folders (self->path, NULL, collections);
  return collections;
}

/* A full sync, handed in batches (a write transaction each) as they are
 * read; the store then drops the notes not listed. */
static gboolean
retrieve_items_sync (CairnResource *resource, CairnCollection *collection, CairnItemSync *sync,
                     GCancellable *cancellable, GError **error)
{
  g_autofree char *folder = remote_id_path (NOTES_RESOURCE (resource),
                                            cairn_collection_get_remote_id (collection), error);
  g_autoptr(GDir) dir = folder ? g_dir_open (folder, 0, error) : NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      /* Hidden files are our temporary and flags files. */
      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (names, g_strdup (name));
    }
  if (dir == NULL)
    return FALSE;
  cairn_item_sync_set_expected_items (sync, names->len);
  for (guint i = 0; i < names->len; i++)
    {
      /* A note removed meanwhile is simply not listed. */
      CairnItem *note = read_note (folder, g_ptr_array_index (names, i), NULL);

      if (note != NULL)
        g_ptr_array_add (batch, note);
      if (batch->len == CAIRN_STORE_BATCH_SIZE || i + 1 == names->len)
        {
          if (!cairn_item_sync_add_items (sync, batch, error))
            return FALSE;
          g_ptr_array_set_size (batch, 0);
        }
    }
  return TRUE;
}

/* A part asked for by a client (RetrieveItems). */
static CairnItem *
retrieve_item_sync (CairnResource *resource, CairnItem *item, const char * const *parts,
                    GCancellable *cancellable, GError **error)
{
  g_autofree char *folder = folder_path (NOTES_RESOURCE (resource),
                                         cairn_item_get_collection_id (item), error);

  if (folder == NULL || !check_name (cairn_item_get_remote_id (item), error))
    return NULL;
  return read_note (folder, cairn_item_get_remote_id (item), error);
}

/* Replaying local changes. Each method is safe to repeat, as a resource
 * killed before it reported gets the change again: a new note is named
 * after its item id, and what is gone or moved already is success. */

static char *
note_name (CairnChange *change)
{
  const char *remote_id = cairn_change_get_remote_id (change);

  /* Never reported written: an attempt cut short used this name. */
  if (remote_id == NULL)
    return g_strdup_printf ("note-%" G_GUINT64_FORMAT ".txt", cairn_change_get_entity_id (change));
  return g_strdup (remote_id);
}

static gboolean
unlink_note (const char *folder, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL), *flags = sidecar (folder, name);

  return ((g_unlink (path) == 0 || errno == ENOENT) && (g_unlink (flags) == 0 || errno == ENOENT))
         || fail_errno (error, "remove", path);
}

static gboolean
item_added (CairnResource *resource, CairnChange *change, CairnItem *item, char **remote_id,
            char **remote_revision, GCancellable *cancellable, GError **error)
{
  g_autofree char *folder = folder_path (NOTES_RESOURCE (resource),
                                         cairn_change_get_collection_id (change), error);

  *remote_id = note_name (change);
  *remote_revision = folder ? write_note (folder, *remote_id, item, error) : NULL;
  return *remote_revision != NULL;
}

static gboolean
item_changed (CairnResource *resource, CairnChange *change, CairnItem *item,
              const char * const *parts, char **remote_revision, CairnItem **server_item,
              GCancellable *cancellable, GError **error)
{
  const char *name = cairn_item_get_remote_id (item);
  g_autofree char *folder = folder_path (NOTES_RESOURCE (resource),
                                         cairn_item_get_collection_id (item), error);
  g_autofree char *current = NULL;

  if (folder == NULL || !check_name (name, error))
    return FALSE;
  /* Edited on disk since it was read (unless by an earlier attempt of
   * this very change): the conflict policy decides. */
  current = note_revision (folder, name, NULL);
  if (current != NULL && g_strcmp0 (current, cairn_item_get_remote_revision (item)) != 0 &&
      !cairn_resource_replay_is_retry (resource))
    return (*server_item = read_note (folder, name, error)) != NULL;
  return (*remote_revision = write_note (folder, name, item, error)) != NULL;
}

/* A delta on the flags on disk: applied twice, it gives the same. */
static gboolean
flags_changed (CairnResource *resource, CairnChange *change, CairnItem *item,
               const CairnFlags *added, const CairnFlags *removed, char **remote_revision,
               GCancellable *cancellable, GError **error)
{
  g_autofree char *name = note_name (change);
  g_autofree char *folder = folder_path (NOTES_RESOURCE (resource),
                                         cairn_item_get_collection_id (item), error);
  g_autoptr(CairnFlags) flags = NULL;

  if (folder == NULL || !check_name (name, error))
    return FALSE;
  flags = read_flags (folder, name);
  for (guint i = 0; i < cairn_flags_get_size (added); i++)
    cairn_flags_add (flags, cairn_flags_get_flag (added, i));
  for (guint i = 0; i < cairn_flags_get_size (removed); i++)
    cairn_flags_remove (flags, cairn_flags_get_flag (removed, i));
  return write_flags (folder, name, flags, error) &&
         (*remote_revision = note_revision (folder, name, error)) != NULL;
}

static gboolean
item_moved (CairnResource *resource, CairnChange *change, CairnItem *item, guint64 source,
            guint64 destination, char **remote_id, char **remote_revision,
            GCancellable *cancellable, GError **error)
{
  NotesResource *self = NOTES_RESOURCE (resource);
  g_autofree char *name = note_name (change), *from = NULL, *to = NULL;
  g_autofree char *old_path = NULL, *new_path = NULL, *old_flags = NULL, *new_flags = NULL;
  g_autoptr(GError) to_error = NULL;

  if (!check_name (name, error))
    return FALSE;
  to = folder_path (self, destination, &to_error);
  if (to == NULL && !g_error_matches (to_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return g_propagate_error (error, g_steal_pointer (&to_error)), FALSE;
  from = folder_path (self, source, NULL);
  /* Out of a folder that never reached the disk: written now. Into one
   * removed before it did: the note goes with it. */
  if (from == NULL)
    return to == NULL || (*remote_revision = write_note (to, name, item, error)) != NULL;
  if (to == NULL)
    return unlink_note (from, name, error);
  old_path = g_build_filename (from, name, NULL);
  new_path = g_build_filename (to, name, NULL);
  old_flags = sidecar (from, name);
  new_flags = sidecar (to, name);
  /* Moved already by an attempt that did not report. */
  if (g_rename (old_path, new_path) != 0 &&
      !(errno == ENOENT && g_file_test (new_path, G_FILE_TEST_EXISTS)))
    return fail_errno (error, "move", old_path);
  return g_rename (old_flags, new_flags) == 0 || errno == ENOENT ||
         fail_errno (error, "move", old_flags);
}

static gboolean
item_removed (CairnResource *resource, CairnChange *change, GCancellable *cancellable,
              GError **error)
{
  g_autofree char *name = note_name (change);
  g_autofree char *folder = folder_path (NOTES_RESOURCE (resource),
                                         cairn_change_get_collection_id (change), error);

  return folder != NULL && check_name (name, error) && unlink_note (folder, name, error);
}

/* Where a folder goes: its parent's remote id and its own name, as they
 * were at the change, from cairn_change_get_collection(). */
static char *
new_folder_remote_id (NotesResource *self, CairnChange *change, GError **error)
{
  CairnCollection *folder = cairn_change_get_collection (change);
  const char *name = cairn_collection_get_name (folder);
  g_autofree char *parent = NULL;

  if (!check_name (name, error))
    return NULL;
  if (cairn_collection_get_parent_id (folder) == 0)
    return g_strdup (name);
  parent = folder_remote_id (self, cairn_collection_get_parent_id (folder), error);
  return parent ? g_build_filename (parent, name, NULL) : NULL;
}

static gboolean
collection_added (CairnResource *resource, CairnChange *change, char **remote_id,
                  GCancellable *cancellable, GError **error)
{
  NotesResource *self = NOTES_RESOURCE (resource);
  g_autofree char *path = NULL;

  *remote_id = new_folder_remote_id (self, change, error);
  path = *remote_id ? remote_id_path (self, *remote_id, error) : NULL;
  return path != NULL &&
         (g_mkdir (path, 0700) == 0 || errno == EEXIST || fail_errno (error, "create", path));
}

/* A rename or a move: the folder goes where its name and parent say, its
 * sub-folders with it, and their remote ids follow. */
static gboolean
collection_changed (CairnResource *resource, CairnChange *change, const char * const *parts,
                    char **remote_id, GCancellable *cancellable, GError **error)
{
  NotesResource *self = NOTES_RESOURCE (resource);
  const char *old_id = cairn_collection_get_remote_id (cairn_change_get_collection (change));
  g_autofree char *from = old_id ? remote_id_path (self, old_id, error) : NULL, *to = NULL;

  *remote_id = from ? new_folder_remote_id (self, change, error) : NULL;
  to = *remote_id ? remote_id_path (self, *remote_id, error) : NULL;
  if (to == NULL || strcmp (from, to) == 0)
    return to != NULL;
  if (g_rename (from, to) != 0 && !(errno == ENOENT && g_file_test (to, G_FILE_TEST_IS_DIR)))
    return fail_errno (error, "rename", from);
  return cairn_resource_relocate_collections (resource, old_id, *remote_id, error);
}

static gboolean
collection_moved (CairnResource *resource, CairnChange *change, guint64 source,
                  guint64 destination, char **remote_id, GCancellable *cancellable,
                  GError **error)
{
  return collection_changed (resource, change, NULL, remote_id, cancellable, error);
}

static gboolean
remove_tree (const char *path, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK)
          ? !remove_tree (child, error)
          : g_unlink (child) != 0 && errno != ENOENT && !fail_errno (error, "remove", child))
        return FALSE;
    }
  return g_rmdir (path) == 0 || errno == ENOENT || fail_errno (error, "remove", path);
}

/* Its notes left the store with it; one never written has nothing here. */
static gboolean
collection_removed (CairnResource *resource, CairnChange *change, GCancellable *cancellable,
                    GError **error)
{
  const char *remote_id = cairn_change_get_remote_id (change);
  g_autofree char *path = remote_id ? remote_id_path (NOTES_RESOURCE (resource), remote_id, error)
                                    : NULL;

  return remote_id == NULL || (path != NULL && remove_tree (path, error));
}

/* GObject */

static gboolean
notes_resource_setup (CairnAgent *agent, GError **error)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  /* Replay needs the text of added and changed notes. */
  cairn_fetch_scope_add_part (scope, "TEXT");
  cairn_monitor_set_fetch_scope (CAIRN_MONITOR (cairn_agent_get_recorder (agent)), scope);
  return TRUE;
}

static void
notes_resource_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  g_value_set_string (value, NOTES_RESOURCE (object)->path);
}

static void
notes_resource_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  g_free (NOTES_RESOURCE (object)->path);
  NOTES_RESOURCE (object)->path = g_value_dup_string (value);
}

static void
notes_resource_finalize (GObject *object)
{
  g_free (NOTES_RESOURCE (object)->path);
  G_OBJECT_CLASS (notes_resource_parent_class)->finalize (object);
}

static void
notes_resource_class_init (NotesResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->get_property = notes_resource_get_property;
  object_class->set_property = notes_resource_set_property;
  object_class->finalize = notes_resource_finalize;
  CAIRN_AGENT_CLASS (klass)->setup = notes_resource_setup;
  resource_class->retrieve_collections_sync = retrieve_collections_sync;
  resource_class->retrieve_items_sync = retrieve_items_sync;
  resource_class->retrieve_item_sync = retrieve_item_sync;
  resource_class->replay_item_added_sync = item_added;
  resource_class->replay_item_changed_sync = item_changed;
  resource_class->replay_flags_changed_sync = flags_changed;
  resource_class->replay_item_moved_sync = item_moved;
  resource_class->replay_item_removed_sync = item_removed;
  resource_class->replay_collection_added_sync = collection_added;
  resource_class->replay_collection_changed_sync = collection_changed;
  resource_class->replay_collection_moved_sync = collection_moved;
  resource_class->replay_collection_removed_sync = collection_removed;
  /* The configuration key `path`: the folder holding the notes. */
  g_object_class_install_property (object_class, 1, g_param_spec_string ("path", NULL, NULL,
                                   NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
notes_resource_init (NotesResource *self)
{
}

G_MODULE_EXPORT GType cairn_agent_module_init_1 (GError **error);

GType
cairn_agent_module_init_1 (GError **error)
{
  return notes_resource_get_type ();
}
