/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A resource over a folder of plain-text notes (`[Agent]`, `Type=notes`,
 * `path=/home/me/Notes`), the example docs/writing-a-resource.md walks
 * through. Every sub-folder is a collection, its remote id its path below
 * `path`; every file is a note. The tree keeps flags in a hidden sidecar
 * `.NAME.flags`, as extended attributes are missing on some file systems.
 * The base class runs every method in a worker thread: they simply block.
 * A CairnFileTree confined to `path` makes every path, refusing `..`,
 * absolute paths and symbolic links: nothing outside it is touched,
 * whatever the store holds. */
#include <cairn/cairn.h>

G_DECLARE_FINAL_TYPE (NotesResource, notes_resource, NOTES, RESOURCE, CairnResource)

struct _NotesResource
{
  CairnResource parent_instance;
  CairnFileTree *tree;
};

G_DEFINE_FINAL_TYPE (NotesResource, notes_resource, CAIRN_TYPE_RESOURCE)

#define TREE(resource) (NOTES_RESOURCE (resource)->tree)

/* @name in folder @id (0: the top). A folder's path is its remote id;
 * one that never reached the disk has none: CAIRN_STORE_ERROR_NOT_FOUND,
 * which the base class takes as replayed (nothing of it is here). Names
 * come from the store, which any application may write: only one
 * visible path component makes a path. */
static char *
note_path (CairnResource *resource, guint64 id, const char *name, GError **error)
{
  g_autofree char *folder = id ? cairn_resource_dup_collection_remote_id (resource, id, error)
                               : g_strdup ("");

  if (folder == NULL || !cairn_file_tree_check_name (name, error))
    return NULL;
  return g_build_filename (folder, name, NULL);
}

/* A note is a file: its name the remote id, its modification time, size
 * and flags the remote revision, its content the TEXT part. The part is
 * read (a large one from its payload file) before the disk is touched,
 * so one that cannot be read fails the change instead of writing an
 * empty note; the write is atomic, so a crash never leaves half of one. */
static CairnItem *
read_note (CairnResource *resource, const char *path, GError **error)
{
  return cairn_file_tree_read_item (TREE (resource), path, "text/plain", "TEXT", error);
}

static char *
write_note (CairnResource *resource, const char *path, CairnItem *item, GError **error)
{
  return cairn_file_tree_write_item (TREE (resource), path, item, "TEXT", error);
}

/* Reading the backend */

static GPtrArray *
retrieve_collections_sync (CairnResource *resource, GCancellable *cancellable, GError **error)
{
  const char *mime_types[] = { "text/plain", NULL };

  /* A missing folder (an unmounted disk?) is a transient error: the sync
   * is tried again later, rather than every collection removed. */
  return cairn_file_tree_list_collections (TREE (resource), mime_types, error);
}

/* A full sync: the sync stores the notes in batches as they are read,
 * and the store then drops the notes not listed. */
static gboolean
retrieve_items_sync (CairnResource *resource, CairnCollection *collection, CairnItemSync *sync,
                     GCancellable *cancellable, GError **error)
{
  const char *folder = cairn_collection_get_remote_id (collection);
  g_auto(GStrv) names = cairn_file_tree_list (TREE (resource), folder, G_FILE_TYPE_REGULAR, error);

  if (names == NULL)
    return FALSE;
  cairn_item_sync_set_expected_items (sync, g_strv_length (names));
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (folder, names[i], NULL);
      /* A note removed meanwhile is simply not listed. */
      g_autoptr(CairnItem) note = names[i][0] != '.' ? read_note (resource, path, NULL) : NULL;

      if (note != NULL && !cairn_item_sync_add_item (sync, note, error))
        return FALSE;
    }
  return TRUE;
}

/* A part asked for by a client (RetrieveItems). */
static CairnItem *
retrieve_item_sync (CairnResource *resource, CairnItem *item, const char * const *parts,
                    GCancellable *cancellable, GError **error)
{
  g_autofree char *path = note_path (resource, cairn_item_get_collection_id (item),
                                     cairn_item_get_remote_id (item), error);

  return path ? read_note (resource, path, error) : NULL;
}

/* Replaying local changes. Each method is safe to repeat, as a resource
 * killed before it reported gets the change again: a new note is named
 * after its item id, and what is gone or moved already is success. */

static char *
change_path (CairnResource *resource, CairnChange *change, guint64 folder, GError **error)
{
  /* Never reported written: an attempt cut short used this name. */
  g_autofree char *name = g_strdup_printf ("note-%" G_GUINT64_FORMAT ".txt",
                                           cairn_change_get_entity_id (change));
  const char *remote_id = cairn_change_get_remote_id (change);

  return note_path (resource, folder, remote_id ? remote_id : name, error);
}

static gboolean
item_added (CairnResource *resource, CairnChange *change, CairnItem *item, char **remote_id,
            char **remote_revision, GCancellable *cancellable, GError **error)
{
  g_autofree char *path = change_path (resource, change, cairn_change_get_collection_id (change),
                                       error);

  *remote_id = path ? g_path_get_basename (path) : NULL;
  return path && (*remote_revision = write_note (resource, path, item, error)) != NULL;
}

static gboolean
item_changed (CairnResource *resource, CairnChange *change, CairnItem *item,
              const char * const *parts, char **remote_revision, CairnItem **server_item,
              GCancellable *cancellable, GError **error)
{
  g_autofree char *path = note_path (resource, cairn_item_get_collection_id (item),
                                     cairn_item_get_remote_id (item), error);
  g_autofree char *current = path ? cairn_file_tree_get_revision (TREE (resource), path, NULL)
                                  : NULL;

  /* Edited on disk since it was read (unless by an earlier attempt of
   * this very change): the conflict policy decides. */
  if (current != NULL && g_strcmp0 (current, cairn_item_get_remote_revision (item)) != 0 &&
      !cairn_resource_replay_is_retry (resource))
    return (*server_item = read_note (resource, path, error)) != NULL;
  return path && (*remote_revision = write_note (resource, path, item, error)) != NULL;
}

/* A delta on the flags on disk: applied twice, it gives the same. */
static gboolean
flags_changed (CairnResource *resource, CairnChange *change, CairnItem *item,
               const CairnFlags *added, const CairnFlags *removed, char **remote_revision,
               GCancellable *cancellable, GError **error)
{
  g_autofree char *path = change_path (resource, change, cairn_item_get_collection_id (item),
                                       error);
  g_autoptr(CairnFlags) flags = path ? cairn_file_tree_read_flags (TREE (resource), path, error)
                                     : NULL;

  if (flags != NULL)
    cairn_flags_update (flags, added, removed);
  return flags != NULL && cairn_file_tree_write_flags (TREE (resource), path, flags, error) &&
         (*remote_revision = cairn_file_tree_get_revision (TREE (resource), path, error)) != NULL;
}

static gboolean
item_moved (CairnResource *resource, CairnChange *change, CairnItem *item, guint64 source,
            guint64 destination, char **remote_id, char **remote_revision,
            GCancellable *cancellable, GError **error)
{
  g_autoptr(GError) to_error = NULL;
  g_autofree char *to = change_path (resource, change, destination, &to_error);
  g_autofree char *from = change_path (resource, change, source, NULL);

  if (to == NULL && !g_error_matches (to_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return g_propagate_error (error, g_steal_pointer (&to_error)), FALSE;
  /* Out of a folder that never reached the disk: written now. Into one
   * removed before it did: the note goes with it. */
  if (from == NULL)
    return !to || (*remote_revision = write_note (resource, to, item, error)) != NULL;
  if (to == NULL)
    return cairn_file_tree_remove (TREE (resource), from, error);
  /* The sidecar of its flags goes with it. */
  return cairn_file_tree_rename (TREE (resource), from, to, error);
}

static gboolean
item_removed (CairnResource *resource, CairnChange *change, GCancellable *cancellable,
              GError **error)
{
  g_autofree char *path = change_path (resource, change, cairn_change_get_collection_id (change),
                                       error);

  return path != NULL && cairn_file_tree_remove (TREE (resource), path, error);
}

/* Where a folder goes: its parent's remote id and its own name, as they
 * were at the change, from cairn_change_get_collection(). */
static gboolean
collection_added (CairnResource *resource, CairnChange *change, char **remote_id,
                  GCancellable *cancellable, GError **error)
{
  CairnCollection *folder = cairn_change_get_collection (change);

  *remote_id = note_path (resource, cairn_collection_get_parent_id (folder),
                          cairn_collection_get_name (folder), error);
  return *remote_id && cairn_file_tree_make_directory (TREE (resource), *remote_id, error);
}

/* A rename or a move (the base class sends moves here): the folder goes
 * where its name and parent say, its sub-folders with it, and their
 * remote ids follow. One never made on disk goes to collection_added. */
static gboolean
collection_changed (CairnResource *resource, CairnChange *change, const char * const *parts,
                    char **remote_id, GCancellable *cancellable, GError **error)
{
  CairnCollection *folder = cairn_change_get_collection (change);
  const char *old_id = cairn_collection_get_remote_id (folder);

  *remote_id = note_path (resource, cairn_collection_get_parent_id (folder),
                          cairn_collection_get_name (folder), error);
  return *remote_id && (g_str_equal (old_id, *remote_id) ||
                        (cairn_file_tree_rename (TREE (resource), old_id, *remote_id, error) &&
                         cairn_resource_relocate_collections (resource, old_id, *remote_id,
                                                              error)));
}

/* Its notes left the store with it; one never written has nothing here. */
static gboolean
collection_removed (CairnResource *resource, CairnChange *change, GCancellable *cancellable,
                    GError **error)
{
  const char *remote_id = cairn_change_get_remote_id (change);

  return remote_id == NULL || cairn_file_tree_remove (TREE (resource), remote_id, error);
}

/* GObject */

static gboolean
notes_resource_setup (CairnAgent *agent, GError **error)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  if (TREE (agent) == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "No notes folder: set the key `path`"), FALSE;
  /* Replay needs the text of added and changed notes. */
  cairn_fetch_scope_add_part (scope, "TEXT");
  cairn_monitor_set_fetch_scope (CAIRN_MONITOR (cairn_agent_get_recorder (agent)), scope);
  return TRUE;
}

static void
notes_resource_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  const char *path = g_value_get_string (value);

  g_clear_object (&TREE (object));
  TREE (object) = path ? cairn_file_tree_new (path) : NULL;
}

static void
notes_resource_finalize (GObject *object)
{
  g_clear_object (&TREE (object));
  G_OBJECT_CLASS (notes_resource_parent_class)->finalize (object);
}

static void
notes_resource_class_init (NotesResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

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
  resource_class->replay_collection_removed_sync = collection_removed;
  /* The configuration key `path`: the folder holding the notes. */
  g_object_class_install_property (object_class, 1, g_param_spec_string ("path", NULL, NULL,
                                   NULL, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS));
}

static void
notes_resource_init (NotesResource *self)
{
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (notes_resource_get_type ());
