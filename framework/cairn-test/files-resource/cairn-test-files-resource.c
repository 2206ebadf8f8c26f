/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `test-files` resource of the test kit: the smallest resource that
 * replays every kind of item and folder change, so that the model-based
 * replay test (CairnTestReplay) checks the framework rather than a
 * resource's own quirks.
 *
 *   [Agent]
 *   Type=test-files
 *   path=/tmp/backend
 *
 * Every directory under path is a folder, whose remote id is its path
 * from path; every file in it is an item, named `item-ID` after the item
 * id, whose first line holds its flags (`Flags: \Seen \Flagged`) and the
 * rest its DATA part (the format of CairnTestDirectoryBackend with a flags
 * header). Hidden names are skipped: temporary files start with a dot.
 * Each write goes through a temporary file and a rename, so the backend
 * survives a SIGKILL at any moment, and each callback can be repeated. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#define PART "DATA"
#define MIME_TYPE "text/plain"
#define FLAGS_PREFIX "Flags: "

#define CAIRN_TYPE_TEST_FILES_RESOURCE (cairn_test_files_resource_get_type ())
G_DECLARE_FINAL_TYPE (CairnTestFilesResource, cairn_test_files_resource, CAIRN,
                      TEST_FILES_RESOURCE, CairnResource)

struct _CairnTestFilesResource
{
  CairnResource parent_instance;

  char *path;
};

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_test_files_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnTestFilesResource, cairn_test_files_resource,
                               CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_test_files_resource_observer_init))

static CairnStore *
get_store (CairnTestFilesResource *self)
{
  return cairn_agent_get_store (CAIRN_AGENT (self));
}

static gboolean
errno_error (GError     **error,
             const char  *what,
             const char  *path)
{
  int saved_errno = errno;

  g_set_error (error, CAIRN_RESOURCE_ERROR, saved_errno == ENOSPC
               ? CAIRN_RESOURCE_ERROR_TRANSIENT : CAIRN_RESOURCE_ERROR_PERMANENT,
               "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
is_not_found (const GError *error)
{
  return g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND);
}

/* Files */

static char *
revision_of (const char *path)
{
  struct stat st;

  if (g_stat (path, &st) != 0)
    return NULL;
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%09ld-%" G_GINT64_FORMAT,
                          (gint64) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec,
                          (gint64) st.st_size);
}

/* Reads a file into its flags and its content. */
static gboolean
read_file (const char  *path,
           CairnFlags **flags,
           GBytes     **content,
           GError     **error)
{
  g_autofree char *data = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *line = NULL;
  const char *end;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, error))
    return FALSE;
  *flags = cairn_flags_new ();
  end = memchr (data, '\n', length);
  if (end == NULL || !g_str_has_prefix (data, FLAGS_PREFIX))
    {
      *content = g_bytes_new_take (g_steal_pointer (&data), length);
      return TRUE;
    }
  line = g_strndup (data + strlen (FLAGS_PREFIX), end - data - strlen (FLAGS_PREFIX));
  names = g_strsplit (line, " ", -1);
  for (guint i = 0; names[i] != NULL; i++)
    if (*names[i] != '\0')
      cairn_flags_add (*flags, names[i]);
  *content = g_bytes_new (end + 1, length - (end + 1 - data));
  return TRUE;
}

/* Writes a file atomically; returns its new revision. */
static char *
write_file (const char        *path,
            const CairnFlags  *flags,
            GBytes            *content,
            GError           **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strconcat (folder, "/.", base, ".tmp", NULL);
  g_autofree char *line = cairn_flags_to_string (flags);
  g_autoptr(GString) file = g_string_new (FLAGS_PREFIX);

  g_string_append_printf (file, "%s\n", line);
  if (content != NULL)
    g_string_append_len (file, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  /* g_file_set_contents() syncs the file before renaming it into place. */
  if (!g_file_set_contents_full (tmp, file->str, file->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, error))
    return NULL;
  if (g_rename (tmp, path) != 0)
    return errno_error (error, "rename", tmp), NULL;
  return revision_of (path);
}

static CairnItem *
read_item (const char  *folder,
           const char  *name,
           GError     **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autofree char *revision = revision_of (path);
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autoptr(CairnPart) part = NULL;
  CairnItem *item;

  if (!read_file (path, &flags, &content, error))
    return NULL;
  item = cairn_item_new (MIME_TYPE);
  part = cairn_part_new_inline (PART, content);
  cairn_item_set_remote_id (item, name);
  cairn_item_set_remote_revision (item, revision);
  cairn_item_set_size (item, g_bytes_get_size (content));
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, part);
  return item;
}

static gboolean
remove_tree (const char  *path,
             GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (!remove_tree (child, error))
            return FALSE;
        }
      else if (g_unlink (child) != 0 && errno != ENOENT)
        return errno_error (error, "remove", child);
    }
  if (g_rmdir (path) != 0 && errno != ENOENT)
    return errno_error (error, "remove", path);
  return TRUE;
}

/* Paths from the store */

static gboolean
check_remote_id (const char  *remote_id,
                 GError     **error)
{
  g_auto(GStrv) names = g_strsplit (remote_id ? remote_id : "", "/", -1);
  gboolean valid = remote_id != NULL;

  for (guint i = 0; valid && names[i] != NULL; i++)
    valid = *names[i] != '\0' && *names[i] != '.';
  if (valid)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "“%s” is not a folder of this resource", remote_id ? remote_id : "");
  return FALSE;
}

/* The directory of collection @id as the store knows it now. */
/* The remote id of folder @id where the backend has it now, also when it
 * was removed locally (cairn_resource_get_collection()). */
static char *
folder_remote_id (CairnTestFilesResource  *self,
                  guint64                  id,
                  GError                 **error)
{
  g_autoptr(CairnCollection) collection = cairn_resource_get_collection (CAIRN_RESOURCE (self),
                                                                        id, error);

  if (collection == NULL || !check_remote_id (cairn_collection_get_remote_id (collection), error))
    return NULL;
  return g_strdup (cairn_collection_get_remote_id (collection));
}

static char *
folder_path (CairnTestFilesResource  *self,
             guint64                  id,
             GError                 **error)
{
  g_autofree char *remote_id = folder_remote_id (self, id, error);

  return remote_id != NULL ? g_build_filename (self->path, remote_id, NULL) : NULL;
}

/* The remote id collection @collection should have: its parent's and its
 * name. */
static char *
wanted_remote_id (CairnTestFilesResource  *self,
                  CairnCollection         *collection,
                  GError                 **error)
{
  g_autofree char *parent = NULL;
  const char *name = cairn_collection_get_name (collection);

  if (strchr (name, '/') != NULL || !check_remote_id (name, error))
    {
      g_clear_error (error);
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "“%s” is not a valid folder name", name);
      return NULL;
    }
  if (cairn_collection_get_parent_id (collection) == 0)
    return g_strdup (name);
  parent = folder_remote_id (self, cairn_collection_get_parent_id (collection), error);
  if (parent == NULL)
    return NULL;
  return g_strconcat (parent, "/", name, NULL);
}

/* Reading the backend, in worker threads */

static void
list_folders (const char *root,
              const char *relative,
              GPtrArray  *collections)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      const char *mime_types[] = { MIME_TYPE, NULL };
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *remote_id = relative ? g_strconcat (relative, "/", name, NULL)
                                            : g_strdup (name);
      CairnCollection *collection;

      if (name[0] == '.' || !g_file_test (child, G_FILE_TEST_IS_DIR))
        continue;
      collection = cairn_collection_new (NULL, 0, name);
      cairn_collection_set_remote_id (collection, remote_id);
      cairn_collection_set_parent_remote_id (collection, relative);
      cairn_collection_set_content_mime_types (collection, mime_types);
      g_ptr_array_add (collections, collection);
      list_folders (root, remote_id, collections);
    }
}

static void
list_folders_thread (GTask        *task,
                     gpointer      source,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  CairnTestFilesResource *self = source;
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);

  list_folders (self->path, NULL, collections);
  g_task_return_pointer (task, collections, (GDestroyNotify) g_ptr_array_unref);
}

static void
retrieve_collections (CairnResource       *resource,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);

  g_task_set_source_tag (task, retrieve_collections);
  g_task_run_in_thread (task, list_folders_thread);
}

static GPtrArray *
retrieve_collections_finish (CairnResource  *resource,
                             GAsyncResult   *result,
                             GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_items_thread (GTask        *task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  const char *folder = task_data;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GDir) dir = NULL;
  GError *error = NULL;
  const char *name;

  dir = g_dir_open (folder, 0, &error);
  if (dir == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      CairnItem *item;

      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      /* A file removed meanwhile is not listed. */
      item = read_item (folder, name, NULL);
      if (item != NULL)
        g_ptr_array_add (items, item);
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

static void
items_listed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CairnItemSync *sync = g_task_get_task_data (task);
  g_autoptr(GPtrArray) items = NULL;
  GError *error = NULL;

  items = g_task_propagate_pointer (G_TASK (result), &error);
  if (items != NULL)
    cairn_item_sync_set_expected_items (sync, items->len);
  for (guint start = 0; items != NULL && start < items->len; start += CAIRN_STORE_BATCH_SIZE)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();

      for (guint i = start; i < MIN (start + CAIRN_STORE_BATCH_SIZE, items->len); i++)
        g_ptr_array_add (batch, g_ptr_array_index (items, i));
      if (!cairn_item_sync_add_items (sync, batch, &error))
        break;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* A full sync: what is not listed is removed. */
static void
retrieve_items (CairnResource       *resource,
                CairnCollection     *collection,
                CairnItemSync       *sync,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GTask) listing = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, retrieve_items);
  if (!check_remote_id (cairn_collection_get_remote_id (collection), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, g_object_ref (sync), g_object_unref);
  listing = g_task_new (resource, cancellable, items_listed, g_steal_pointer (&task));
  g_task_set_task_data (listing, g_build_filename (self->path,
                                                   cairn_collection_get_remote_id (collection),
                                                   NULL), g_free);
  g_task_run_in_thread (listing, list_items_thread);
}

static gboolean
retrieve_items_finish (CairnResource  *resource,
                       GAsyncResult   *result,
                       GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Replay: each callback ends with exactly one outcome. */

static void
report (CairnResource *resource,
        const GError  *error,
        const char    *remote_id,
        const char    *remote_revision)
{
  if (error != NULL && !is_not_found (error))
    cairn_resource_change_failed (resource, error);
  else
    /* An entity gone from the store since: its removal follows. */
    cairn_resource_change_replayed (resource, remote_id, remote_revision);
}

/* An item's content, whatever the part's storage. */
static GBytes *
item_content (CairnTestFilesResource  *self,
              CairnItem               *item,
              GError                 **error)
{
  CairnPart *part = cairn_item_get_part (item, PART);
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(GOutputStream) output = NULL;

  if (part != NULL && cairn_part_get_data (part) != NULL)
    return g_bytes_ref (cairn_part_get_data (part));
  input = cairn_store_open_part (get_store (self), cairn_item_get_id (item), PART, NULL, error);
  if (input == NULL)
    return NULL;
  output = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (output, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                              error) < 0)
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
}

/* The remote id of a change's item: the change's, or the item's. */
static const char *
item_name (CairnChange *change,
           CairnItem   *item)
{
  const char *name = cairn_change_get_remote_id (change);

  return name ? name : item ? cairn_item_get_remote_id (item) : NULL;
}

/* The framework promises an item to every item callback but a removal:
 * without one nothing can be written, and the change must show. */
static gboolean
check_item (CairnChange  *change,
            CairnItem    *item,
            GError      **error)
{
  if (item != NULL)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "The change of item %" G_GUINT64_FORMAT " came without the item",
               cairn_change_get_entity_id (change));
  return FALSE;
}

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  g_autofree char *name = g_strdup_printf ("item-%" G_GUINT64_FORMAT,
                                           cairn_change_get_entity_id (change));
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *revision = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GError) error = NULL;

  if (check_item (change, item, &error))
    folder = folder_path (self, cairn_change_get_collection_id (change), &error);
  if (folder != NULL)
    content = item_content (self, item, &error);
  if (content != NULL)
    {
      path = g_build_filename (folder, name, NULL);
      revision = write_file (path, cairn_item_get_flags (item), content, &error);
    }
  report (CAIRN_RESOURCE (self), error, revision ? name : NULL, revision);
}

static char *find_file (const char *folder,
                        const char *name);

static void
item_changed (CairnObserver      *observer,
              CairnMonitor       *monitor,
              CairnChange        *change,
              CairnItem          *item,
              const char * const *parts)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *elsewhere = NULL;
  g_autofree char *revision = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(GBytes) old = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GError) error = NULL;

  if (check_item (change, item, &error))
    folder = folder_path (self, cairn_item_get_collection_id (item), &error);
  if (folder != NULL)
    content = item_content (self, item, &error);
  if (content != NULL)
    {
      path = g_build_filename (folder, item_name (change, item), NULL);
      /* Filed elsewhere by another program meanwhile: the new content
       * goes here all the same, and the file there goes, so that there
       * is one. */
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        elsewhere = find_file (self->path, item_name (change, item));
      /* Flags change by their own deltas: the file's stay. */
      if (!read_file (elsewhere ? elsewhere : path, &flags, &old, NULL))
        flags = cairn_flags_copy (cairn_item_get_flags (item));
      revision = write_file (path, flags, content, &error);
      if (revision != NULL && elsewhere != NULL && g_unlink (elsewhere) != 0 && errno != ENOENT)
        errno_error (&error, "remove", elsewhere);
    }
  report (CAIRN_RESOURCE (self), error, NULL, revision);
}

/* The path of the file @name in the folder @folder or beneath it, or
 * %NULL. Names are the items' own: another program that files an item
 * elsewhere keeps its name, as mail programs keep a message's. */
static char *
find_file (const char *folder,
           const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autoptr(GDir) dir = NULL;
  const char *entry;

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&path);
  dir = g_dir_open (folder, 0, NULL);
  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (folder, entry, NULL);
      char *found;

      if (entry[0] != '.' && g_file_test (child, G_FILE_TEST_IS_DIR) &&
          (found = find_file (child, name)) != NULL)
        return found;
    }
  return NULL;
}

static gboolean
apply_flags (CairnTestFilesResource  *self,
             CairnChange             *change,
             const CairnFlags        *added,
             const CairnFlags        *removed,
             GError                 **error)
{
  /* Where the item was at this change: a move before it is replayed
   * already, one after it is not yet. */
  CairnItem *item = cairn_change_get_item (change);
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *revision = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(GBytes) content = NULL;
  const char *name = item_name (change, item);

  if (!check_item (change, item, error))
    return FALSE;
  if (name == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The flags of item %" G_GUINT64_FORMAT " changed before it was written",
                        cairn_change_get_entity_id (change)), FALSE;
  folder = folder_path (self, cairn_item_get_collection_id (item), error);
  if (folder == NULL)
    return FALSE;
  path = g_build_filename (folder, name, NULL);
  /* Not in its folder: another program filed it elsewhere, where the
   * flags follow it, or removed it, which takes them nowhere. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_free (path);
      path = find_file (self->path, name);
      if (path == NULL)
        return TRUE;
    }
  if (!read_file (path, &flags, &content, error))
    return FALSE;
  cairn_flags_update (flags, added, removed);
  revision = write_file (path, flags, content, error);
  return revision != NULL;
}

static void
items_flags_changed (CairnObserver    *observer,
                     CairnMonitor     *monitor,
                     GPtrArray        *changes,
                     const CairnFlags *added,
                     const CairnFlags *removed)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < changes->len && error == NULL; i++)
    apply_flags (self, g_ptr_array_index (changes, i), added, removed, &error);
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

static void
item_moved (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item,
            guint64        source,
            guint64        destination)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  const char *name = item_name (change, item);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *old_path = NULL;
  g_autofree char *new_path = NULL;
  g_autoptr(GError) error = NULL;

  if (name == NULL)
    {
      g_set_error (&error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Item %" G_GUINT64_FORMAT " was moved before it was written",
                   cairn_change_get_entity_id (change));
      report (CAIRN_RESOURCE (self), error, NULL, NULL);
      return;
    }
  from = folder_path (self, source, &error);
  if (from != NULL)
    to = folder_path (self, destination, &error);
  if (to != NULL)
    {
      old_path = g_build_filename (from, name, NULL);
      new_path = g_build_filename (to, name, NULL);
      /* Filed elsewhere by another program meanwhile: the move takes it
       * from there. */
      if (!g_file_test (old_path, G_FILE_TEST_EXISTS) &&
          !g_file_test (new_path, G_FILE_TEST_EXISTS))
        {
          char *found = find_file (self->path, name);

          if (found != NULL)
            {
              g_free (old_path);
              old_path = found;
            }
        }
      /* Moved already by an attempt that did not report. */
      if (g_rename (old_path, new_path) != 0 &&
          !(errno == ENOENT && g_file_test (new_path, G_FILE_TEST_IS_REGULAR)))
        errno_error (&error, "move", old_path);
    }
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

static void
item_removed (CairnObserver *observer,
              CairnMonitor  *monitor,
              CairnChange   *change)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  g_autofree char *name = g_strdup (cairn_change_get_remote_id (change));
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  /* Never reported created: an attempt interrupted by a crash may still
   * have written it under the name item_added gives. */
  if (name == NULL)
    name = g_strdup_printf ("item-%" G_GUINT64_FORMAT, cairn_change_get_entity_id (change));
  folder = folder_path (self, cairn_change_get_collection_id (change), &error);
  if (folder != NULL)
    {
      path = g_build_filename (folder, name, NULL);
      if (g_unlink (path) != 0 && errno != ENOENT)
        errno_error (&error, "remove", path);
    }
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

static void
collection_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  /* As at its creation: renamed or moved since, that is replayed next. */
  collection = g_object_ref (cairn_change_get_collection (change));
  remote_id = wanted_remote_id (self, collection, &error);
  if (remote_id != NULL)
    {
      path = g_build_filename (self->path, remote_id, NULL);
      if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
        errno_error (&error, "create", path);
    }
  report (CAIRN_RESOURCE (self), error, remote_id, NULL);
}

/* A rename or a move: the directory goes where the store has it now. */
static void
relocate (CairnTestFilesResource *self,
          CairnChange            *change)
{
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *old_remote_id = NULL;
  g_autoptr(GError) error = NULL;

  /* From where the backend has it now, to where its name and parent of
   * this change put it; a later change moves it on. */
  collection = g_object_ref (cairn_change_get_collection (change));
  remote_id = wanted_remote_id (self, collection, &error);
  if (remote_id != NULL)
    old_remote_id = folder_remote_id (self, cairn_change_get_entity_id (change), &error);
  if (old_remote_id != NULL && strcmp (old_remote_id, remote_id) != 0)
    {
      from = g_build_filename (self->path, old_remote_id, NULL);
      to = g_build_filename (self->path, remote_id, NULL);
      if (g_rename (from, to) != 0 &&
          !(errno == ENOENT && g_file_test (to, G_FILE_TEST_IS_DIR)))
        errno_error (&error, "rename", from);
      /* The folders inside went along. */
      if (error == NULL)
        cairn_resource_relocate_collections (CAIRN_RESOURCE (self), old_remote_id, remote_id,
                                             &error);
    }
  report (CAIRN_RESOURCE (self), error, error ? NULL : remote_id, NULL);
}

static void
collection_changed (CairnObserver      *observer,
                    CairnMonitor       *monitor,
                    CairnChange        *change,
                    const char * const *parts)
{
  relocate (CAIRN_TEST_FILES_RESOURCE (observer), change);
}

static void
collection_moved (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change,
                  guint64        source,
                  guint64        destination)
{
  relocate (CAIRN_TEST_FILES_RESOURCE (observer), change);
}

static void
collection_removed (CairnObserver *observer,
                    CairnMonitor  *monitor,
                    CairnChange   *change)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (observer);
  const char *remote_id = cairn_change_get_remote_id (change);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (remote_id != NULL && check_remote_id (remote_id, &error))
    {
      path = g_build_filename (self->path, remote_id, NULL);
      remove_tree (path, &error);
    }
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

static void
cairn_test_files_resource_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->item_changed = item_changed;
  iface->items_flags_changed = items_flags_changed;
  iface->item_moved = item_moved;
  iface->item_removed = item_removed;
  iface->collection_added = collection_added;
  iface->collection_changed = collection_changed;
  iface->collection_moved = collection_moved;
  iface->collection_removed = collection_removed;
}

/* GObject */

static gboolean
cairn_test_files_resource_setup (CairnAgent  *agent,
                                 GError     **error)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (agent);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  if (self->path == NULL || g_mkdir_with_parents (self->path, 0700) != 0)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Cannot use the folder %s", self->path ? self->path : "(none)");
      return FALSE;
    }
  cairn_fetch_scope_add_part (scope, PART);
  cairn_monitor_set_fetch_scope (CAIRN_MONITOR (cairn_agent_get_recorder (agent)), scope);
  return TRUE;
}

static void
cairn_test_files_resource_finalize (GObject *object)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (object);

  g_free (self->path);

  G_OBJECT_CLASS (cairn_test_files_resource_parent_class)->finalize (object);
}

static void
cairn_test_files_resource_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (object);

  if (prop_id == PROP_PATH)
    g_value_set_string (value, self->path);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cairn_test_files_resource_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  CairnTestFilesResource *self = CAIRN_TEST_FILES_RESOURCE (object);

  if (prop_id != PROP_PATH)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  else if (g_strcmp0 (self->path, g_value_get_string (value)) != 0)
    {
      g_free (self->path);
      self->path = g_value_dup_string (value);
      g_object_notify_by_pspec (object, properties[PROP_PATH]);
    }
}

static void
cairn_test_files_resource_class_init (CairnTestFilesResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->finalize = cairn_test_files_resource_finalize;
  object_class->get_property = cairn_test_files_resource_get_property;
  object_class->set_property = cairn_test_files_resource_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_test_files_resource_setup;
  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;

  /* The configuration key `path`: the backend's folder. */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_test_files_resource_init (CairnTestFilesResource *self)
{
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_TEST_FILES_RESOURCE);
