/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A resource over a folder of plain-text notes, the example that
 * docs/writing-a-resource.md walks through:
 *
 *   [Agent]
 *   Type=notes
 *   path=/home/me/Notes
 *
 * Every sub-folder of path is a collection, whose remote id is its path
 * relative to path; every file in it is an item of type text/plain, whose
 * remote id is the file name, whose remote revision is its modification
 * time and size, and whose TEXT part is the file's content. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

CAIRN_AGENT_MODULE_DEFINE_VERSION;

#define NOTES_MIME_TYPE "text/plain"
#define NOTES_PART "TEXT"

#define CAIRN_TYPE_NOTES_RESOURCE (cairn_notes_resource_get_type ())
G_DECLARE_FINAL_TYPE (CairnNotesResource, cairn_notes_resource, CAIRN, NOTES_RESOURCE,
                      CairnResource)

struct _CairnNotesResource
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

static void cairn_notes_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnNotesResource, cairn_notes_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_notes_resource_observer_init))

/* Files */

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  /* A full disk or a busy file may pass; anything else will not. */
  int code = saved_errno == ENOSPC || saved_errno == EAGAIN || saved_errno == EBUSY ||
             saved_errno == EINTR
             ? CAIRN_RESOURCE_ERROR_TRANSIENT : CAIRN_RESOURCE_ERROR_PERMANENT;

  g_set_error (error, CAIRN_RESOURCE_ERROR, code, "Cannot %s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

/* Names come from the store, which anyone may write: one that is not a
 * single path component must never reach the file system. */
static gboolean
check_name (const char  *name,
            GError     **error)
{
  if (name == NULL || *name == '\0' || strchr (name, '/') != NULL ||
      strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "“%s” is not a valid note or folder name", name ? name : "");
      return FALSE;
    }
  return TRUE;
}

/* A collection's remote id is a relative path: every component is checked. */
static char *
collection_path (CairnNotesResource  *self,
                 const char          *remote_id,
                 GError             **error)
{
  g_auto(GStrv) components = NULL;

  if (remote_id == NULL)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "A folder has no remote id");
      return NULL;
    }
  components = g_strsplit (remote_id, "/", -1);
  for (guint i = 0; components[i] != NULL; i++)
    if (!check_name (components[i], error))
      return NULL;
  return g_build_filename (self->path, remote_id, NULL);
}

static char *folder_remote_id (CairnNotesResource  *self,
                               guint64              id,
                               GError             **error);

/* The remote id of a folder removed locally, whose removal is not
 * replayed yet, from the remote id and parent its removal knows. The
 * remote id was the one known when the removal was logged: a rename of
 * a folder above it replayed since moved it on disk, so its path is its
 * parent's now and its own name. */
static char *
removed_folder_remote_id (CairnNotesResource  *self,
                          guint64              parent_id,
                          const char          *remote_id,
                          GError             **error)
{
  g_autofree char *name = g_path_get_basename (remote_id);
  g_autofree char *parent = NULL;

  if (parent_id == 0)
    return g_steal_pointer (&name);
  parent = folder_remote_id (self, parent_id, error);
  if (parent == NULL)
    return NULL;
  return g_build_filename (parent, name, NULL);
}

/* The remote id of folder @id where the backend has it now, also when
 * it was removed locally (cairn_resource_get_collection()). A folder
 * removed before it ever reached the backend has none: neither has
 * anything that was in it, and %CAIRN_STORE_ERROR_NOT_FOUND says so. */
static char *
folder_remote_id (CairnNotesResource  *self,
                  guint64              id,
                  GError             **error)
{
  CairnStore *store = cairn_agent_get_store (CAIRN_AGENT (self));
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *remote_id;

  collection = cairn_store_get_collection (store, id, &local_error);
  if (collection != NULL)
    return g_strdup (cairn_collection_get_remote_id (collection));
  if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  collection = cairn_resource_get_collection (CAIRN_RESOURCE (self), id, error);
  if (collection == NULL)
    return NULL;
  remote_id = cairn_collection_get_remote_id (collection);
  if (remote_id == NULL)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "Folder %" G_GUINT64_FORMAT " was removed before it reached the notes folder",
                   id);
      return NULL;
    }
  return removed_folder_remote_id (self, cairn_collection_get_parent_id (collection), remote_id,
                                   error);
}

static char *
collection_path_by_id (CairnNotesResource  *self,
                       guint64              id,
                       GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *remote_id = folder_remote_id (self, id, &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return collection_path (self, remote_id, error);
}

static char *
revision_of (const struct stat *st)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%09ld-%" G_GINT64_FORMAT,
                          (gint64) st->st_mtim.tv_sec, (long) st->st_mtim.tv_nsec,
                          (gint64) st->st_size);
}

/* Reads one note; %NULL with errno-based @error if it cannot. */
static CairnItem *
read_note (const char  *folder,
           const char  *name,
           GError     **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autoptr(CairnItem) item = cairn_item_new (NOTES_MIME_TYPE);
  g_autoptr(CairnPart) part = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *revision = NULL;
  g_autofree char *contents = NULL;
  struct stat st;
  gsize length;

  /* The revision is taken before reading, so a write in between shows
   * up as a change at the next sync rather than being lost. */
  if (g_stat (path, &st) != 0)
    return set_errno_error (error, errno, "read", path), NULL;
  if (!g_file_get_contents (path, &contents, &length, NULL))
    return set_errno_error (error, errno, "read", path), NULL;
  revision = revision_of (&st);
  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  part = cairn_part_new_inline (NOTES_PART, bytes);
  cairn_item_set_remote_id (item, name);
  cairn_item_set_remote_revision (item, revision);
  cairn_item_set_size (item, length);
  cairn_item_set_part (item, part);
  return g_steal_pointer (&item);
}

/* Writes @length bytes to @fd; FALSE with errno set if it cannot. */
static gboolean
write_all (int           fd,
           const guint8 *bytes,
           gsize         length)
{
  for (gsize done = 0; done < length; )
    {
      ssize_t n = write (fd, bytes + done, length - done);

      if (n < 0 && errno != EINTR)
        return FALSE;
      done += MAX (n, 0);
    }
  return TRUE;
}

/* Opens the text of a note wherever the store keeps it: inline, or in a
 * payload file once it is over the store's inline threshold. A note
 * without a TEXT part is empty; a part that cannot be read is an error,
 * so a note is never written out empty by mistake. */
static GInputStream *
open_note_text (CairnItem  *item,
                GError    **error)
{
  CairnPart *part = item ? cairn_item_get_part (item, NOTES_PART) : NULL;

  if (part == NULL)
    return g_memory_input_stream_new ();
  return cairn_part_open_stream (part, NULL, error);
}

/* Writes the text of @item to folder/name atomically: a crash leaves the
 * old file or the new one, never half of it, and a text that cannot be
 * read leaves the old file as it was. Returns the new revision. */
static char *
write_note (const char  *folder,
            const char  *name,
            CairnItem   *item,
            GError     **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_autofree char *tmp_path = g_strconcat (folder, "/.", name, ".tmp", NULL);
  g_autoptr(GInputStream) text = open_note_text (item, error);
  guint8 buffer[16 * 1024];
  struct stat st;
  gssize n;
  int fd;

  if (text == NULL)
    return NULL;
  fd = g_open (tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "create", tmp_path), NULL;
  while ((n = g_input_stream_read (text, buffer, sizeof buffer, NULL, error)) > 0)
    if (!write_all (fd, buffer, n))
      {
        int saved_errno = errno;

        close (fd);
        g_unlink (tmp_path);
        return set_errno_error (error, saved_errno, "write", tmp_path), NULL;
      }
  if (n < 0)
    {
      close (fd);
      g_unlink (tmp_path);
      return NULL;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    return set_errno_error (error, errno, "write", tmp_path), NULL;
  if (g_rename (tmp_path, path) != 0)
    return set_errno_error (error, errno, "rename", tmp_path), NULL;
  if (g_stat (path, &st) != 0)
    return set_errno_error (error, errno, "read", path), NULL;
  return revision_of (&st);
}

/* Reading the backend: these run in a worker thread, so they touch
 * nothing but the file system. */

static void
list_folders (const char *root,
              const char *relative,
              GPtrArray  *collections)
{
  g_autofree char *folder = relative ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *remote_id = relative ? g_build_filename (relative, name, NULL)
                                            : g_strdup (name);
      const char *mime_types[] = { NOTES_MIME_TYPE, NULL };
      CairnCollection *collection;

      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      /* The resource and parent ids are filled in by the tree merge. */
      collection = cairn_collection_new (NULL, 0, name);
      cairn_collection_set_remote_id (collection, remote_id);
      cairn_collection_set_parent_remote_id (collection, relative);
      cairn_collection_set_content_mime_types (collection, mime_types);
      g_ptr_array_add (collections, collection);
      list_folders (root, remote_id, collections);
    }
}

static void
retrieve_collections_thread (GTask        *task,
                             gpointer      source,
                             gpointer      task_data,
                             GCancellable *cancellable)
{
  CairnNotesResource *self = source;
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);

  if (!g_file_test (self->path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_unref (collections);
      /* Perhaps an unmounted disk: try again later rather than drop
       * every collection. */
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                               "The notes folder %s is missing", self->path);
      return;
    }
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
  g_task_run_in_thread (task, retrieve_collections_thread);
}

static GPtrArray *
retrieve_collections_finish (CairnResource  *resource,
                             GAsyncResult   *result,
                             GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_notes_thread (GTask        *task,
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

      /* Hidden files are our temporary files, or not notes. */
      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      item = read_note (folder, name, NULL);
      /* A file removed while listing is simply not listed. */
      if (item != NULL)
        g_ptr_array_add (items, item);
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

static void
notes_listed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CairnItemSync *sync = g_task_get_task_data (task);
  g_autoptr(GPtrArray) items = NULL;
  GError *error = NULL;

  items = g_task_propagate_pointer (G_TASK (result), &error);
  if (items == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Handed in batches, each one write transaction of the store; the
   * user sees how many of them are done. */
  cairn_item_sync_set_expected_items (sync, items->len);
  for (guint start = 0; start < items->len; start += CAIRN_STORE_BATCH_SIZE)
    {
      guint end = MIN (start + CAIRN_STORE_BATCH_SIZE, items->len);
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();

      for (guint i = start; i < end; i++)
        g_ptr_array_add (batch, g_ptr_array_index (items, i));
      if (!cairn_item_sync_add_items (sync, batch, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

/* A full sync: every note is listed, and CairnItemSync removes from the
 * store the items that were not. */
static void
retrieve_items (CairnResource       *resource,
                CairnCollection     *collection,
                CairnItemSync       *sync,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GTask) listing = NULL;
  GError *error = NULL;
  char *folder;

  g_task_set_source_tag (task, retrieve_items);
  g_task_set_task_data (task, g_object_ref (sync), g_object_unref);
  folder = collection_path (self, cairn_collection_get_remote_id (collection), &error);
  if (folder == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  listing = g_task_new (resource, cancellable, notes_listed, g_steal_pointer (&task));
  g_task_set_task_data (listing, folder, g_free);
  g_task_run_in_thread (listing, list_notes_thread);
}

static gboolean
retrieve_items_finish (CairnResource  *resource,
                       GAsyncResult   *result,
                       GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* One note is small: read it at once. */
static void
retrieve_item (CairnResource       *resource,
               CairnItem           *item,
               const char * const  *parts,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autofree char *folder = NULL;
  CairnItem *note = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, retrieve_item);
  folder = collection_path_by_id (self, cairn_item_get_collection_id (item), &error);
  if (folder != NULL && check_name (cairn_item_get_remote_id (item), &error))
    note = read_note (folder, cairn_item_get_remote_id (item), &error);
  if (note == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, note, g_object_unref);
}

static CairnItem *
retrieve_item_finish (CairnResource  *resource,
                      GAsyncResult   *result,
                      GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Change replay: each callback ends with exactly one of
 * cairn_resource_change_replayed(), _failed() or _conflicts(). A note is
 * small and the disk local, so the work is done right here. */

/* Ends a callback: failed with @error if set, else replayed. An entity
 * removed from the store since its change has nothing left to write:
 * the change is replayed as it stands, and its removal follows. */
static void
report (CairnResource *resource,
        const GError  *error,
        const char    *remote_id,
        const char    *remote_revision)
{
  if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    cairn_resource_change_replayed (resource, NULL, NULL);
  /* The text's payload file was replaced by a later edit while we read
   * it: delivered again, the change comes with the text stored now. */
  else if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO))
    cairn_resource_change_failed (resource,
                                  &(GError) { CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                                              error->message });
  else if (error != NULL)
    cairn_resource_change_failed (resource, error);
  else
    cairn_resource_change_replayed (resource, remote_id, remote_revision);
}

/* A new note is named after its item id: a replay repeated after a crash
 * writes the same file again instead of a second one. */
static char *
note_name (guint64 item_id)
{
  return g_strdup_printf ("note-%" G_GUINT64_FORMAT ".txt", item_id);
}

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  g_autofree char *name = note_name (cairn_change_get_entity_id (change));
  g_autofree char *folder = NULL;
  g_autofree char *revision = NULL;
  g_autoptr(GError) error = NULL;

  folder = collection_path_by_id (self, cairn_change_get_collection_id (change), &error);
  if (folder != NULL)
    revision = write_note (folder, name, item, &error);
  report (resource, error, name, revision);
}

static void
item_changed (CairnObserver      *observer,
              CairnMonitor       *monitor,
              CairnChange        *change,
              CairnItem          *item,
              const char * const *parts)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  const char *name = cairn_item_get_remote_id (item);
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *current = NULL;
  g_autofree char *revision = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  folder = collection_path_by_id (self, cairn_item_get_collection_id (item), &error);
  if (folder == NULL || !check_name (name, &error))
    {
      report (resource, error, NULL, NULL);
      return;
    }

  /* Someone edited the file since we last read it: hand the file's
   * version over, and the conflict policy decides. Unless an earlier
   * attempt of this very edit, killed before it reported, wrote it. */
  path = g_build_filename (folder, name, NULL);
  if (g_stat (path, &st) == 0)
    current = revision_of (&st);
  if (current != NULL && g_strcmp0 (current, cairn_item_get_remote_revision (item)) != 0 &&
      !cairn_resource_replay_is_retry (resource))
    {
      g_autoptr(CairnItem) server = read_note (folder, name, &error);

      if (server == NULL)
        cairn_resource_change_failed (resource, error);
      else
        cairn_resource_change_conflicts (resource, server);
      return;
    }

  revision = write_note (folder, name, item, &error);
  report (resource, error, NULL, revision);
}

/* A move out of a folder that never reached the notes folder: the note
 * was never written, and is now, unless it is gone from the store too. */
static void
write_moved_note (CairnNotesResource *self,
                  CairnChange        *change,
                  CairnItem          *item,
                  const char         *folder)
{
  CairnStore *store = cairn_agent_get_store (CAIRN_AGENT (self));
  g_autofree char *name = g_strdup (cairn_change_get_remote_id (change));
  g_autofree char *revision = NULL;
  g_autoptr(CairnItem) now = NULL;
  g_autoptr(GError) error = NULL;

  if (name == NULL)
    name = note_name (cairn_change_get_entity_id (change));
  now = cairn_store_get_item (store, cairn_change_get_entity_id (change), NULL, &error);
  if (now != NULL && check_name (name, &error))
    revision = write_note (folder, name, item, &error);
  report (CAIRN_RESOURCE (self), error, name, revision);
}

static void
item_moved (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item,
            guint64        source,
            guint64        destination)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  const char *name = cairn_change_get_remote_id (change);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *old_path = NULL;
  g_autofree char *new_path = NULL;
  g_autoptr(GError) source_error = NULL;
  g_autoptr(GError) error = NULL;

  from = collection_path_by_id (self, source, &source_error);
  to = collection_path_by_id (self, destination, &error);
  if (from == NULL && to != NULL &&
      g_error_matches (source_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    {
      write_moved_note (self, change, item, to);
      return;
    }
  if (from == NULL ||
      (to == NULL && !g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND)))
    {
      report (resource, from == NULL ? source_error : error, NULL, NULL);
      return;
    }
  g_clear_error (&error);
  if (!check_name (name, &error))
    {
      report (resource, error, NULL, NULL);
      return;
    }
  old_path = g_build_filename (from, name, NULL);
  if (to == NULL)
    {
      /* Into a folder removed before it reached the notes folder: the
       * note went with it, or a later move out of it writes it again. */
      if (g_unlink (old_path) != 0 && errno != ENOENT)
        set_errno_error (&error, errno, "remove", old_path);
      report (resource, error, NULL, NULL);
      return;
    }
  new_path = g_build_filename (to, name, NULL);
  /* Already moved by an earlier attempt that did not report. */
  if (g_rename (old_path, new_path) != 0 &&
      !(errno == ENOENT && g_file_test (new_path, G_FILE_TEST_EXISTS)))
    set_errno_error (&error, errno, "move", old_path);
  report (resource, error, NULL, NULL);
}

static void
item_removed (CairnObserver *observer,
              CairnMonitor  *monitor,
              CairnChange   *change)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  g_autofree char *name = g_strdup (cairn_change_get_remote_id (change));
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  /* Never reported written: an attempt interrupted by a crash may still
   * have written it under the name item_added gives. */
  if (name == NULL)
    name = note_name (cairn_change_get_entity_id (change));
  folder = collection_path_by_id (self, cairn_change_get_collection_id (change), &error);
  if (folder == NULL || !check_name (name, &error))
    {
      report (resource, error, NULL, NULL);
      return;
    }
  path = g_build_filename (folder, name, NULL);
  /* Gone already is what we want. */
  if (g_unlink (path) != 0 && errno != ENOENT)
    set_errno_error (&error, errno, "remove", path);
  report (resource, error, NULL, NULL);
}

/* The remote id a collection gets from its name and its parent's. */
static char *
new_collection_remote_id (CairnNotesResource  *self,
                          CairnCollection     *collection,
                          GError             **error)
{
  g_autoptr(CairnCollection) parent = NULL;
  g_autofree char *parent_path = NULL;
  const char *name = cairn_collection_get_name (collection);

  if (!check_name (name, error))
    return NULL;
  if (cairn_collection_get_parent_id (collection) == 0)
    return g_strdup (name);
  parent = cairn_resource_get_collection (CAIRN_RESOURCE (self),
                                          cairn_collection_get_parent_id (collection), error);
  if (parent != NULL)
    parent_path = collection_path (self, cairn_collection_get_remote_id (parent), error);
  if (parent_path == NULL)
    return NULL;
  return g_build_filename (cairn_collection_get_remote_id (parent), name, NULL);
}

static void
collection_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  /* As at its creation: renamed or moved since, that is replayed next. */
  collection = g_object_ref (cairn_change_get_collection (change));
  remote_id = new_collection_remote_id (self, collection, &error);
  if (remote_id == NULL)
    {
      report (resource, error, NULL, NULL);
      return;
    }
  path = g_build_filename (self->path, remote_id, NULL);
  if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
    set_errno_error (&error, errno, "create", path);
  report (resource, error, remote_id, NULL);
}

typedef struct
{
  GPtrArray *collections;
  const char *from;
  const char *to;
} Relocation;

/* The sub-folders of a renamed or moved folder have new paths too, and
 * their remote ids must follow, or the next sync would take them for new
 * folders and drop the old ones with their pending changes. Written with
 * the resource's own store, whose origin is the instance id, so that the
 * write is not replayed back; conditional, so that a rename made meanwhile
 * is not written over. */
static gboolean
relocate_sub_folders (CairnTransaction  *transaction,
                      gpointer           user_data,
                      GError           **error)
{
  Relocation *relocation = user_data;
  gsize length = strlen (relocation->from);

  for (guint i = 0; i < relocation->collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (relocation->collections, i);
      const char *remote_id = cairn_collection_get_remote_id (collection);
      g_autofree char *moved = NULL;

      if (remote_id == NULL || !g_str_has_prefix (remote_id, relocation->from) ||
          remote_id[length] != '/')
        continue;
      moved = g_strconcat (relocation->to, remote_id + length, NULL);
      cairn_collection_set_remote_id (collection, moved);
      if (!cairn_transaction_modify_collection (transaction, collection,
                                                cairn_collection_get_revision (collection),
                                                error))
        return FALSE;
    }
  return TRUE;
}

/* Gives the sub-folders of a folder moved from remote id @from to @to
 * their new remote ids. */
static gboolean
relocate_sub_folder_ids (CairnNotesResource  *self,
                         const char          *from,
                         const char          *to,
                         GError             **error)
{
  CairnStore *store = cairn_agent_get_store (CAIRN_AGENT (self));
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(GError) local_error = NULL;
  Relocation relocation = { NULL, from, to };

  collections = cairn_store_list_collections (store, cairn_agent_get_id (CAIRN_AGENT (self)),
                                              error);
  if (collections == NULL)
    return FALSE;
  relocation.collections = collections;
  if (cairn_store_write_sync (store, relocate_sub_folders, &relocation, NULL, NULL, &local_error))
    return TRUE;
  /* A sub-folder changed or was removed meanwhile: the rename is tried
   * again, finds the folder moved already, and reads the sub-folders
   * anew. */
  g_set_error (error, CAIRN_RESOURCE_ERROR,
               g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT) ||
               g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND)
               ? CAIRN_RESOURCE_ERROR_TRANSIENT : CAIRN_RESOURCE_ERROR_PERMANENT,
               "Cannot update the folders inside %s: %s", to, local_error->message);
  return FALSE;
}

/* A rename or a move: the folder goes where its name and parent say,
 * and its sub-folders with it. */
static void
relocate_collection (CairnObserver *observer,
                     CairnChange   *change)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autoptr(GError) error = NULL;

  /* Its name and parent of this change; a later change moves it on. */
  collection = g_object_ref (cairn_change_get_collection (change));
  from = collection_path (self, cairn_collection_get_remote_id (collection), &error);
  if (from != NULL)
    remote_id = new_collection_remote_id (self, collection, &error);
  if (remote_id == NULL)
    {
      report (resource, error, NULL, NULL);
      return;
    }
  to = g_build_filename (self->path, remote_id, NULL);
  if (strcmp (from, to) == 0)
    {
      report (resource, NULL, remote_id, NULL);
      return;
    }
  if (g_rename (from, to) != 0 && !(errno == ENOENT && g_file_test (to, G_FILE_TEST_IS_DIR)))
    set_errno_error (&error, errno, "rename", from);
  else
    relocate_sub_folder_ids (self, cairn_collection_get_remote_id (collection), remote_id,
                             &error);
  report (resource, error, remote_id, NULL);
}

static void
collection_changed (CairnObserver      *observer,
                    CairnMonitor       *monitor,
                    CairnChange        *change,
                    const char * const *parts)
{
  relocate_collection (observer, change);
}

static void
collection_moved (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change,
                  guint64        source,
                  guint64        destination)
{
  relocate_collection (observer, change);
}

/* Removing a collection removed its notes from the store as well. */
static gboolean
remove_tree (const char  *path,
             GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        {
          if (!remove_tree (child, error))
            return FALSE;
        }
      else if (g_unlink (child) != 0 && errno != ENOENT)
        return set_errno_error (error, errno, "remove", child);
    }
  if (g_rmdir (path) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, "remove", path);
  return TRUE;
}

static void
collection_removed (CairnObserver *observer,
                    CairnMonitor  *monitor,
                    CairnChange   *change)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (observer);
  CairnResource *resource = CAIRN_RESOURCE (observer);
  g_autofree char *remote_id = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  /* Never reached the notes folder: nothing to remove. */
  if (cairn_change_get_remote_id (change) == NULL)
    {
      report (resource, NULL, NULL, NULL);
      return;
    }
  remote_id = removed_folder_remote_id (self, cairn_change_get_collection_id (change),
                                        cairn_change_get_remote_id (change), &error);
  if (remote_id != NULL)
    path = collection_path (self, remote_id, &error);
  if (path != NULL)
    remove_tree (path, &error);
  report (resource, error, NULL, NULL);
}

static void
cairn_notes_resource_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->item_changed = item_changed;
  iface->item_moved = item_moved;
  iface->item_removed = item_removed;
  iface->collection_added = collection_added;
  iface->collection_changed = collection_changed;
  iface->collection_moved = collection_moved;
  iface->collection_removed = collection_removed;
}

/* GObject */

static gboolean
cairn_notes_resource_setup (CairnAgent  *agent,
                            GError     **error)
{
  CairnChangeRecorder *recorder = cairn_agent_get_recorder (agent);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  /* Replay needs the content of added and changed notes. */
  cairn_fetch_scope_add_part (scope, NOTES_PART);
  cairn_monitor_set_fetch_scope (CAIRN_MONITOR (recorder), scope);
  return TRUE;
}

static void
cairn_notes_resource_finalize (GObject *object)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (object);

  g_free (self->path);

  G_OBJECT_CLASS (cairn_notes_resource_parent_class)->finalize (object);
}

static void
cairn_notes_resource_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_notes_resource_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  CairnNotesResource *self = CAIRN_NOTES_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      if (g_strcmp0 (self->path, g_value_get_string (value)) == 0)
        break;
      g_free (self->path);
      self->path = g_value_dup_string (value);
      g_object_notify_by_pspec (object, properties[PROP_PATH]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_notes_resource_class_init (CairnNotesResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->finalize = cairn_notes_resource_finalize;
  object_class->get_property = cairn_notes_resource_get_property;
  object_class->set_property = cairn_notes_resource_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_notes_resource_setup;
  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;
  resource_class->retrieve_item = retrieve_item;
  resource_class->retrieve_item_finish = retrieve_item_finish;

  /* The configuration key `path`: the folder holding the notes. */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_notes_resource_init (CairnNotesResource *self)
{
}

G_MODULE_EXPORT GType cairn_agent_module_init_1 (GError **error);

G_MODULE_EXPORT GType
cairn_agent_module_init_1 (GError **error)
{
  return CAIRN_TYPE_NOTES_RESOURCE;
}
