/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CairnResource and CairnItemSync against an in-memory backend: merging,
 * failed changes, conflicts, parts on demand and credentials. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

/* The backend: folders by remote id (value: parent remote id or ""), and
 * notes by remote id (value: "folder\ttext\trevision"). */
static GHashTable *backend_folders;
static GHashTable *backend_notes;
static gboolean backend_refuses;
/* Fail the next edit transiently; and what each edit's replay was told. */
static gboolean backend_busy_once;
static gboolean part_gone_once;
static GString *replay_retries;
/* The collections the resource's collection callbacks were handed. */
static GString *collections_seen;
static gboolean backend_merge_by_gid;
/* A folder whose notes cannot be read, and whether the folder list can. */
static const char *backend_broken_folder;
static gboolean backend_missing;
/* What the store held of "work" when its last sync began. */
static GHashTable *stored_in_work;

static CairnTestEnvironment *environment;
static CairnStore *store;
static CairnStore *client;

#define MEMORY_TYPE_RESOURCE (memory_resource_get_type ())
G_DECLARE_FINAL_TYPE (MemoryResource, memory_resource, MEMORY, RESOURCE, CairnResource)

struct _MemoryResource
{
  CairnResource parent_instance;
};

static void memory_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MemoryResource, memory_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      memory_resource_observer_init))

static void
backend_put (const char *remote_id,
             const char *folder,
             const char *text,
             const char *revision)
{
  g_hash_table_insert (backend_notes, g_strdup (remote_id),
                       g_strjoin ("\t", folder, text, revision, NULL));
}

static char **
backend_get (const char *remote_id)
{
  const char *note = g_hash_table_lookup (backend_notes, remote_id);

  return note != NULL ? g_strsplit (note, "\t", 3) : NULL;
}

static CairnItem *
note_item (const char *remote_id,
           gboolean    with_text)
{
  g_auto(GStrv) note = backend_get (remote_id);
  CairnItem *item = cairn_item_new ("text/plain");
  g_autoptr(GBytes) data = g_bytes_new (note[1], strlen (note[1]));
  g_autoptr(CairnPart) part = with_text ? cairn_part_new_inline ("TEXT", data)
                                        : cairn_part_new_missing ("TEXT", strlen (note[1]));

  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_gid (item, note[1]);
  cairn_item_set_remote_revision (item, note[2]);
  cairn_item_set_part (item, part);
  return item;
}

/* The backend's folders, as the resource lists them. */
static GPtrArray *
backend_collections (void)
{
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  const char *remote_id, *parent;

  g_hash_table_iter_init (&iter, backend_folders);
  while (g_hash_table_iter_next (&iter, (gpointer *) &remote_id, (gpointer *) &parent))
    {
      CairnCollection *collection = cairn_collection_new (NULL, 0, remote_id);

      cairn_collection_set_remote_id (collection, remote_id);
      cairn_collection_set_parent_remote_id (collection, *parent != '\0' ? parent : NULL);
      g_ptr_array_add (collections, collection);
    }
  return collections;
}

/* The notes of one backend folder, without their text. */
static GPtrArray *
backend_items (const char *folder)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GList) remote_ids = g_hash_table_get_keys (backend_notes);

  for (GList *l = remote_ids; l != NULL; l = l->next)
    {
      g_auto(GStrv) note = backend_get (l->data);

      if (g_str_equal (note[0], folder))
        g_ptr_array_add (items, note_item (l->data, FALSE));
    }
  return items;
}

static void
retrieve_collections (CairnResource       *resource,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);

  if (backend_missing)
    {
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                               "The backend's root folder does not exist");
      return;
    }
  g_task_return_pointer (task, backend_collections (), (GDestroyNotify) g_ptr_array_unref);
}

static GPtrArray *
retrieve_collections_finish (CairnResource  *resource,
                             GAsyncResult   *result,
                             GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
retrieve_items (CairnResource       *resource,
                CairnCollection     *collection,
                CairnItemSync       *sync,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GPtrArray) items = NULL;
  GError *error = NULL;

  if (g_strcmp0 (backend_broken_folder, cairn_collection_get_remote_id (collection)) == 0)
    {
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                               "Folder %s cannot be read", backend_broken_folder);
      return;
    }
  cairn_item_sync_set_merge_by_gid (sync, backend_merge_by_gid);
  if (g_str_equal (cairn_collection_get_remote_id (collection), "work"))
    {
      g_clear_pointer (&stored_in_work, g_hash_table_unref);
      stored_in_work = cairn_item_sync_dup_remote_revisions (sync, &error);
      g_assert_no_error (error);
    }
  items = backend_items (cairn_collection_get_remote_id (collection));
  if (cairn_item_sync_add_items (sync, items, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
retrieve_items_finish (CairnResource  *resource,
                       GAsyncResult   *result,
                       GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
retrieve_item (CairnResource       *resource,
               CairnItem           *item,
               const char * const  *parts,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);

  g_task_return_pointer (task, note_item (cairn_item_get_remote_id (item), TRUE), g_object_unref);
}

static CairnItem *
retrieve_item_finish (CairnResource  *resource,
                      GAsyncResult   *result,
                      GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static char *
item_text (CairnItem *item)
{
  CairnPart *part = cairn_item_get_part (item, "TEXT");
  GBytes *data = part != NULL ? cairn_part_get_data (part) : NULL;

  return data != NULL ? g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data))
                      : g_strdup ("");
}

/* How often item_added() ran; while reports_held is set, it keeps its
 * report, the remote id, in held_report for the test to give. */
static gint memory_items_added;
static gboolean reports_held;
static char *held_report;

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  g_autofree char *remote_id = g_strdup_printf ("local-%" G_GUINT64_FORMAT,
                                                cairn_item_get_id (item));
  g_autofree char *text = item_text (item);
  g_autoptr(CairnCollection) collection =
    cairn_store_get_collection (store, cairn_item_get_collection_id (item), NULL);

  g_atomic_int_inc (&memory_items_added);
  backend_put (remote_id, cairn_collection_get_remote_id (collection), text, "1");
  if (reports_held)
    held_report = g_steal_pointer (&remote_id);
  else
    cairn_resource_change_replayed (CAIRN_RESOURCE (observer), remote_id, "1");
}

static void
item_changed (CairnObserver      *observer,
              CairnMonitor       *monitor,
              CairnChange        *change,
              CairnItem          *item,
              const char * const *parts)
{
  g_auto(GStrv) note = NULL;
  g_autofree char *text = NULL;
  g_autofree char *revision = NULL;

  note = backend_get (cairn_item_get_remote_id (item));
  text = item_text (item);

  g_string_append_c (replay_retries, cairn_resource_replay_is_retry (CAIRN_RESOURCE (observer)) ?
                                      'R' : 'F');
  if (backend_busy_once)
    {
      backend_busy_once = FALSE;
      cairn_resource_change_failed (CAIRN_RESOURCE (observer),
                                    &(GError) { CAIRN_RESOURCE_ERROR,
                                                CAIRN_RESOURCE_ERROR_TRANSIENT,
                                                (char *) "The backend is busy" });
      return;
    }
  /* As a resource reading a payload file a later edit replaced. */
  if (part_gone_once)
    {
      part_gone_once = FALSE;
      cairn_resource_change_failed (CAIRN_RESOURCE (observer),
                                    &(GError) { CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                                                (char *) "Cannot read the part TEXT" });
      return;
    }
  if (backend_refuses)
    {
      cairn_resource_change_failed (CAIRN_RESOURCE (observer),
                                    &(GError) { CAIRN_RESOURCE_ERROR,
                                                CAIRN_RESOURCE_ERROR_PERMANENT,
                                                (char *) "The backend is read-only" });
      return;
    }
  if (g_strcmp0 (note[2], cairn_item_get_remote_revision (item)) != 0)
    {
      g_autoptr(CairnItem) server = note_item (cairn_item_get_remote_id (item), TRUE);

      cairn_resource_change_conflicts (CAIRN_RESOURCE (observer), server);
      return;
    }
  revision = g_strdup_printf ("%d", atoi (note[2]) + 1);
  backend_put (cairn_item_get_remote_id (item), note[0], text, revision);
  cairn_resource_change_replayed (CAIRN_RESOURCE (observer), NULL, revision);
}

static void
record_collection (const char  *what,
                   CairnChange *change)
{
  CairnCollection *collection = cairn_change_get_collection (change);

  g_string_append_printf (collections_seen, "%s %s in %" G_GUINT64_FORMAT ";", what,
                          cairn_collection_get_name (collection),
                          cairn_collection_get_parent_id (collection));
}

/* A folder is created with its remote id its name under its parent's. */
static void
collection_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change)
{
  CairnCollection *collection = cairn_change_get_collection (change);
  g_autoptr(CairnCollection) parent = NULL;
  g_autofree char *remote_id = NULL;

  record_collection ("added", change);
  parent = cairn_resource_get_collection (CAIRN_RESOURCE (observer),
                                          cairn_collection_get_parent_id (collection), NULL);
  remote_id = g_strconcat (parent ? cairn_collection_get_remote_id (parent) : "", "/",
                           cairn_collection_get_name (collection), NULL);
  g_hash_table_insert (backend_folders, g_strdup (remote_id),
                       g_strdup (parent ? cairn_collection_get_remote_id (parent) : ""));
  cairn_resource_change_replayed (CAIRN_RESOURCE (observer), remote_id, NULL);
}

/* The backend cannot rename folders. */
static void
collection_changed (CairnObserver      *observer,
                    CairnMonitor       *monitor,
                    CairnChange        *change,
                    const char * const *parts)
{
  record_collection ("changed", change);
  cairn_resource_change_failed (CAIRN_RESOURCE (observer),
                                &(GError) { CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                                            (char *) "Folders cannot be renamed" });
}

static void
memory_resource_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->item_changed = item_changed;
  iface->collection_added = collection_added;
  iface->collection_changed = collection_changed;
}

static void
memory_resource_class_init (MemoryResourceClass *klass)
{
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;
  resource_class->retrieve_item = retrieve_item;
  resource_class->retrieve_item_finish = retrieve_item_finish;
}

static void
memory_resource_init (MemoryResource *self)
{
}

/* The same backend through the blocking methods, which the base class
 * runs in worker threads; the backend's tables are then guarded. */

#define THREAD_TYPE_RESOURCE (thread_resource_get_type ())
G_DECLARE_FINAL_TYPE (ThreadResource, thread_resource, THREAD, RESOURCE, CairnResource)

struct _ThreadResource
{
  CairnResource parent_instance;
};

G_DEFINE_FINAL_TYPE (ThreadResource, thread_resource, CAIRN_TYPE_RESOURCE)

static GMutex backend_lock;
static GThread *main_thread;
static gint calls_in_main_thread;
static GString *flags_seen;

static void
enter_backend (void)
{
  if (g_thread_self () == main_thread)
    g_atomic_int_inc (&calls_in_main_thread);
  g_mutex_lock (&backend_lock);
}

/* What ran, in order: "tree" for a tree listing, a custom task's name. */
static GString *tasks_run;

static GPtrArray *
thread_retrieve_collections (CairnResource  *resource,
                             GCancellable   *cancellable,
                             GError        **error)
{
  GPtrArray *collections;

  enter_backend ();
  if (tasks_run != NULL)
    g_string_append (tasks_run, "tree,");
  collections = backend_collections ();
  g_mutex_unlock (&backend_lock);
  return collections;
}

/* Items thread_retrieve_items() hands to folder "work" one by one before
 * the backend's, and whether it then fails. */
static guint listed_one_by_one;
static gboolean listing_fails;

static gboolean
thread_retrieve_items (CairnResource    *resource,
                       CairnCollection  *collection,
                       CairnItemSync    *sync,
                       GCancellable     *cancellable,
                       GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  gboolean work = g_strcmp0 (cairn_collection_get_remote_id (collection), "work") == 0;

  for (guint i = 0; work && i < listed_one_by_one; i++)
    {
      g_autofree char *name = g_strdup_printf ("one-%u", i);
      g_autoptr(CairnItem) item = cairn_item_new ("text/plain");

      cairn_item_set_remote_id (item, name);
      cairn_item_set_remote_revision (item, "1");
      if (!cairn_item_sync_add_item (sync, item, error))
        return FALSE;
    }
  if (work && listing_fails)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT, "Listing cut");
      return FALSE;
    }
  enter_backend ();
  items = backend_items (cairn_collection_get_remote_id (collection));
  g_mutex_unlock (&backend_lock);
  return cairn_item_sync_add_items (sync, items, error);
}

static CairnItem *
thread_retrieve_item (CairnResource       *resource,
                      CairnItem           *item,
                      const char * const  *parts,
                      GCancellable        *cancellable,
                      GError             **error)
{
  CairnItem *note;

  enter_backend ();
  note = note_item (cairn_item_get_remote_id (item), TRUE);
  g_mutex_unlock (&backend_lock);
  return note;
}

static char *
folder_of (CairnResource *resource,
           guint64        collection_id)
{
  return cairn_resource_dup_collection_remote_id (resource, collection_id, NULL);
}

/* How often thread_item_added() ran. */
static gint items_added;

/* While held, thread_item_added() waits in the backend like a server that
 * does not answer, counting how many replays run at once. */
static gboolean items_held;
static gint items_in_backend;
static gint most_items_in_backend;
static GCond items_released;

static gboolean
thread_item_added (CairnResource  *resource,
                   CairnChange    *change,
                   CairnItem      *item,
                   char          **remote_id,
                   char          **remote_revision,
                   GCancellable   *cancellable,
                   GError        **error)
{
  g_autofree char *folder = folder_of (resource, cairn_item_get_collection_id (item));
  g_autofree char *text = item_text (item);

  g_atomic_int_inc (&items_added);

  *remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT, cairn_item_get_id (item));
  *remote_revision = g_strdup ("1");
  enter_backend ();
  if (++items_in_backend > most_items_in_backend)
    g_atomic_int_set (&most_items_in_backend, items_in_backend);
  while (items_held)
    g_cond_wait (&items_released, &backend_lock);
  items_in_backend--;
  backend_put (*remote_id, folder, text, "1");
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

static gboolean
thread_item_changed (CairnResource       *resource,
                     CairnChange         *change,
                     CairnItem           *item,
                     const char * const  *parts,
                     char               **remote_revision,
                     CairnItem          **server_item,
                     GCancellable        *cancellable,
                     GError             **error)
{
  g_auto(GStrv) note = NULL;
  g_autofree char *text = item_text (item);

  enter_backend ();
  note = backend_get (cairn_item_get_remote_id (item));
  if (g_strcmp0 (note[2], cairn_item_get_remote_revision (item)) != 0)
    *server_item = note_item (cairn_item_get_remote_id (item), TRUE);
  /* As an IMAP server takes a new content: a new note, the old one gone. */
  else if (g_str_has_prefix (text, "rewrite"))
    {
      g_autofree char *renamed = g_strconcat (cairn_item_get_remote_id (item), "-new", NULL);

      g_autofree char *gid = g_strconcat (renamed, "@gid", NULL);

      backend_put (renamed, note[0], text, note[2]);
      g_hash_table_remove (backend_notes, cairn_item_get_remote_id (item));
      cairn_resource_replay_set_remote_id (resource, renamed);
      cairn_resource_replay_set_gid (resource, gid);
    }
  else
    {
      *remote_revision = g_strdup_printf ("%d", atoi (note[2]) + 1);
      backend_put (cairn_item_get_remote_id (item), note[0], text, *remote_revision);
    }
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

static gboolean
thread_flags_changed (CairnResource     *resource,
                      CairnChange       *change,
                      CairnItem         *item,
                      const CairnFlags  *added,
                      const CairnFlags  *removed,
                      char             **remote_revision,
                      GCancellable      *cancellable,
                      GError           **error)
{
  g_autofree char *plus = cairn_flags_to_string (added);
  g_autofree char *minus = cairn_flags_to_string (removed);

  enter_backend ();
  g_string_append_printf (flags_seen, "%s +%s -%s;", cairn_change_get_remote_id (change), plus,
                          minus);
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

static gboolean
thread_item_moved (CairnResource  *resource,
                   CairnChange    *change,
                   CairnItem      *item,
                   guint64         source,
                   guint64         destination,
                   char          **remote_id,
                   char          **remote_revision,
                   GCancellable   *cancellable,
                   GError        **error)
{
  g_autofree char *folder = folder_of (resource, destination);
  g_auto(GStrv) note = NULL;

  enter_backend ();
  note = backend_get (cairn_change_get_remote_id (change));
  backend_put (cairn_change_get_remote_id (change), folder, note[1], note[2]);
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

static gboolean
thread_item_removed (CairnResource  *resource,
                     CairnChange    *change,
                     GCancellable   *cancellable,
                     GError        **error)
{
  enter_backend ();
  if (cairn_change_get_remote_id (change) != NULL)
    g_hash_table_remove (backend_notes, cairn_change_get_remote_id (change));
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

/* A folder's remote id is its parent's, a slash and its name. */
static char *
new_folder_id (CairnResource   *resource,
               CairnCollection *collection,
               char           **parent)
{
  *parent = folder_of (resource, cairn_collection_get_parent_id (collection));
  return g_strconcat (*parent ? *parent : "", "/", cairn_collection_get_name (collection), NULL);
}

static gboolean
thread_collection_added (CairnResource  *resource,
                         CairnChange    *change,
                         char          **remote_id,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_autofree char *parent = NULL;

  *remote_id = new_folder_id (resource, cairn_change_get_collection (change), &parent);
  enter_backend ();
  g_hash_table_insert (backend_folders, g_strdup (*remote_id), g_strdup (parent ? parent : ""));
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

/* A rename: the folder gets a new remote id. */
static gboolean
thread_collection_changed (CairnResource       *resource,
                           CairnChange         *change,
                           const char * const  *parts,
                           char               **remote_id,
                           GCancellable        *cancellable,
                           GError             **error)
{
  CairnCollection *collection = cairn_change_get_collection (change);
  g_autofree char *parent = NULL;

  *remote_id = new_folder_id (resource, collection, &parent);
  enter_backend ();
  g_hash_table_remove (backend_folders, cairn_collection_get_remote_id (collection));
  g_hash_table_insert (backend_folders, g_strdup (*remote_id), g_strdup (parent ? parent : ""));
  g_mutex_unlock (&backend_lock);
  return TRUE;
}

/* Removing a folder fails the way a system call would. */
static gboolean
thread_collection_moved (CairnResource  *resource,
                         CairnChange    *change,
                         guint64         source,
                         guint64         destination,
                         char          **remote_id,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_set_error (error, CAIRN_RESOURCE_ERROR, cairn_resource_error_from_errno (EACCES),
               "Cannot move %s: %s",
               cairn_collection_get_remote_id (cairn_change_get_collection (change)),
               g_strerror (EACCES));
  return FALSE;
}

/* Custom tasks: "slices" asks to run again once, "fails" fails. */
static gboolean
thread_run_task (CairnResource       *resource,
                 CairnSchedulerTask  *task,
                 gboolean            *again,
                 GCancellable        *cancellable,
                 GError             **error)
{
  const char *name = cairn_scheduler_task_get_name (task);

  enter_backend ();
  g_string_append_printf (tasks_run, "%s,", name);
  *again = g_str_equal (name, "slices") && strstr (tasks_run->str, "slices,slices") == NULL;
  g_mutex_unlock (&backend_lock);
  if (g_str_equal (name, "fails"))
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT, "It fails");
      return FALSE;
    }
  return TRUE;
}

static void
thread_resource_class_init (ThreadResourceClass *klass)
{
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  resource_class->retrieve_collections_sync = thread_retrieve_collections;
  resource_class->retrieve_items_sync = thread_retrieve_items;
  resource_class->retrieve_item_sync = thread_retrieve_item;
  resource_class->run_task_sync = thread_run_task;
  resource_class->replay_item_added_sync = thread_item_added;
  resource_class->replay_item_changed_sync = thread_item_changed;
  resource_class->replay_flags_changed_sync = thread_flags_changed;
  resource_class->replay_item_moved_sync = thread_item_moved;
  resource_class->replay_item_removed_sync = thread_item_removed;
  resource_class->replay_collection_added_sync = thread_collection_added;
  resource_class->replay_collection_changed_sync = thread_collection_changed;
  resource_class->replay_collection_moved_sync = thread_collection_moved;
}

static void
thread_resource_init (ThreadResource *self)
{
}

static CairnResource *
start_resource_of_type (GType type)
{
  g_autofree char *path = g_build_filename (cairn_test_environment_get_path (environment),
                                            "memory.agent", NULL);
  g_autoptr(CairnAgentType) agent_type = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  CairnResource *resource;
  GError *error = NULL;

  ck_assert (g_file_set_contents (path, "[Cairn Agent]\nName=Memory\nModule=none\n"
                                  "Capabilities=Resource;NoConfig;\n", -1, &error));
  agent_type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  resource = g_initable_new (type, NULL, &error, "id", "memory",
                             "agent-type", agent_type, "store", store, NULL);
  assert_no_error (error);
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  ck_assert (cairn_agent_export (CAIRN_AGENT (resource), bus, &error));
  assert_no_error (error);
  return resource;
}

static CairnResource *
start_resource (void)
{
  return start_resource_of_type (MEMORY_TYPE_RESOURCE);
}

static void
stop_resource (CairnResource *resource)
{
  cairn_agent_stop (CAIRN_AGENT (resource));
  g_object_unref (resource);
}

typedef struct
{
  gboolean done;
  GError *error;
  GObject *object;
} Wait;

static void
synchronized (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Wait *wait = user_data;

  cairn_resource_synchronize_finish (CAIRN_RESOURCE (source), result, &wait->error);
  wait->done = TRUE;
}

static GError *
try_synchronize (CairnResource *resource)
{
  Wait wait = { FALSE, NULL, NULL };

  cairn_resource_synchronize_async (resource, 0, NULL, synchronized, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  return wait.error;
}

static void
synchronize (CairnResource *resource)
{
  GError *error = try_synchronize (resource);

  assert_no_error (error);
}

/* Until every local change is replayed and no task is left. */
static void
wait_replayed (CairnResource *resource)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  CairnScheduler *scheduler = cairn_resource_get_scheduler (resource);
  guint64 pending = 1;

  while (g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      ck_assert (cairn_resource_get_pending_changes (resource, &pending, NULL));
      if (pending == 0 && cairn_scheduler_get_running_task (scheduler) == NULL &&
          cairn_scheduler_get_queue_length (scheduler, CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY) == 0)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
  ck_abort_msg ("changes still pending: %" G_GUINT64_FORMAT, pending);
}

static CairnCollection *
find_collection (const char *remote_id)
{
  GError *error = NULL;
  CairnCollection *collection = cairn_store_find_collection_by_remote_id (client, "memory",
                                                                          remote_id, &error);

  assert_no_error (error);
  return collection;
}

static CairnItem *
find_item (const char *folder,
           const char *remote_id)
{
  g_autoptr(CairnCollection) collection = find_collection (folder);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GError *error = NULL;
  CairnItem *item;

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  item = cairn_store_find_item_by_remote_id (client, cairn_collection_get_id (collection),
                                             remote_id, scope, &error);
  if (item == NULL)
    g_clear_error (&error);
  return item;
}

static guint64
count_items (const char *folder)
{
  g_autoptr(CairnCollection) collection = find_collection (folder);
  guint64 count = 0;

  ck_assert (cairn_store_get_collection_statistics (client, cairn_collection_get_id (collection),
                                                    &count, NULL, NULL, NULL));
  return count;
}

static gboolean
set_text (CairnTransaction  *transaction,
          gpointer           user_data,
          GError           **error)
{
  CairnItem *item = user_data;

  return cairn_transaction_modify_item (transaction, item, 0, error);
}

typedef struct
{
  guint64 item;
  guint64 destination;
} MoveTo;

static gboolean
move_to (CairnTransaction  *transaction,
         gpointer           user_data,
         GError           **error)
{
  MoveTo *move = user_data;

  return cairn_transaction_move_item (transaction, move->item, move->destination, error);
}

static void
edit_locally (const char *folder,
              const char *remote_id,
              const char *text)
{
  g_autoptr(CairnItem) item = find_item (folder, remote_id);
  g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", data);
  GError *error = NULL;

  ck_assert_ptr_nonnull (item);
  cairn_item_set_part (item, part);
  ck_assert (cairn_store_write_sync (client, set_text, item, NULL, NULL, &error));
  assert_no_error (error);
}

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, &error);
  assert_no_error (error);
  store = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
  client = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
  backend_folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  backend_notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  backend_refuses = FALSE;
  backend_busy_once = FALSE;
  part_gone_once = FALSE;
  replay_retries = g_string_new (NULL);
  collections_seen = g_string_new (NULL);
  backend_merge_by_gid = FALSE;
  backend_broken_folder = NULL;
  backend_missing = FALSE;
  g_hash_table_insert (backend_folders, g_strdup ("work"), g_strdup (""));
  g_hash_table_insert (backend_folders, g_strdup ("work/2026"), g_strdup ("work"));
  backend_put ("a", "work", "alpha", "1");
  backend_put ("b", "work", "beta", "1");
  backend_put ("c", "work/2026", "gamma", "1");
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_object (&store);
  g_clear_object (&environment);
  g_clear_pointer (&backend_folders, g_hash_table_unref);
  g_clear_pointer (&backend_notes, g_hash_table_unref);
  g_clear_pointer (&stored_in_work, g_hash_table_unref);
  g_string_free (g_steal_pointer (&replay_retries), TRUE);
  g_string_free (g_steal_pointer (&collections_seen), TRUE);
}

/* What a second connection's worker thread saw of Resource1's
 * PropertiesChanged: read there, so that the test's own main context,
 * where the resource runs, never has to turn for it. */
static GDBusMessage *
watch_resource_properties (GDBusConnection *connection,
                           GDBusMessage    *message,
                           gboolean         incoming,
                           gpointer         user_data)
{
  GAsyncQueue *seen = user_data;
  GVariant *body = g_dbus_message_get_body (message);
  g_autoptr(GVariant) changed = NULL;
  const char *interface;

  if (incoming && g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_SIGNAL &&
      g_strcmp0 (g_dbus_message_get_member (message), "PropertiesChanged") == 0 &&
      body != NULL && g_variant_is_of_type (body, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_variant_get (body, "(&s@a{sv}@as)", &interface, &changed, NULL);
      if (g_str_equal (interface, "org.cairn.Resource1"))
        g_async_queue_push (seen, g_variant_print (changed, FALSE));
    }
  return message;
}

static void
ignore_signal (GDBusConnection *connection,
               const char      *sender,
               const char      *path,
               const char      *interface,
               const char      *member,
               GVariant        *parameters,
               gpointer         user_data)
{
}

/* A queued task is announced before the resource's main loop turns
 * again. From the skeleton's idle, a GetAll answered in between could
 * read a length that goes back before the idle and is never announced:
 * the control service then waited for ever to stop an idle resource. */
START_TEST (test_queue_lengths_announced_at_once)
{
  CairnResource *resource = start_resource ();
  g_autoptr(GAsyncQueue) seen = g_async_queue_new_full (g_free);
  g_autoptr(GDBusConnection) watcher = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *address = NULL;
  char *changed;
  gboolean announced = FALSE;
  Wait wait = { FALSE, NULL, NULL };
  GError *error = NULL;
  guint subscription;

  synchronize (resource);
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  watcher = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  assert_no_error (error);
  g_dbus_connection_add_filter (watcher, watch_resource_properties, seen, NULL);
  subscription = g_dbus_connection_signal_subscribe (
    watcher, NULL, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL, NULL,
    G_DBUS_SIGNAL_FLAGS_NONE, ignore_signal, NULL, NULL);
  /* The bus has the match rule once it answers a later call. */
  reply = g_dbus_connection_call_sync (watcher, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetId", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  assert_no_error (error);

  cairn_resource_synchronize_async (resource, 0, NULL, synchronized, &wait);
  while (!announced && (changed = g_async_queue_timeout_pop (seen, 5 * G_USEC_PER_SEC)) != NULL)
    {
      announced = strstr (changed, "'QueueLengths'") != NULL;
      g_free (changed);
    }
  ck_assert (announced);

  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  assert_no_error (wait.error);
  g_dbus_connection_signal_unsubscribe (watcher, subscription);
  stop_resource (resource);
}
END_TEST

START_TEST (test_sync_merges_tree_and_items)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnItem) b = NULL;

  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), 2);
  ck_assert_uint_eq (count_items ("work/2026"), 1);
  ck_assert_uint_eq (g_hash_table_size (stored_in_work), 0);

  /* The backend moves a folder to the top, changes, adds and removes notes. */
  g_hash_table_insert (backend_folders, g_strdup ("work/2026"), g_strdup (""));
  backend_put ("b", "work", "beta two", "2");
  backend_put ("d", "work", "delta", "1");
  g_hash_table_remove (backend_notes, "a");
  synchronize (resource);

  /* The resource saw what the store held before this sync. */
  ck_assert_uint_eq (g_hash_table_size (stored_in_work), 2);
  ck_assert_str_eq (g_hash_table_lookup (stored_in_work, "a"), "1");
  ck_assert_str_eq (g_hash_table_lookup (stored_in_work, "b"), "1");
  year = find_collection ("work/2026");
  ck_assert_uint_eq (cairn_collection_get_parent_id (year), 0);
  ck_assert_uint_eq (count_items ("work"), 2);
  b = find_item ("work", "b");
  ck_assert_str_eq (cairn_item_get_remote_revision (b), "2");

  /* A folder gone from the backend goes with its notes. */
  g_hash_table_remove (backend_folders, "work/2026");
  synchronize (resource);
  ck_assert_ptr_null (cairn_store_find_collection_by_remote_id (client, "memory", "work/2026",
                                                                NULL));
  stop_resource (resource);
}
END_TEST

START_TEST (test_merge_by_gid)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnItem) renamed = NULL;

  synchronize (resource);
  /* The backend renumbers a note: same GID (its text), new remote id. */
  g_hash_table_remove (backend_notes, "a");
  backend_put ("a2", "work", "alpha", "1");
  backend_merge_by_gid = TRUE;
  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), 2);
  renamed = find_item ("work", "a2");
  ck_assert_ptr_nonnull (renamed);
  stop_resource (resource);
}
END_TEST

START_TEST (test_replay_and_failed_changes)
{
  CairnResource *resource = start_resource ();
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(CairnItem) b = NULL;
  g_auto(GStrv) note = NULL;
  GError *error = NULL;

  synchronize (resource);
  edit_locally ("work", "b", "beta edited");
  wait_replayed (resource);
  note = backend_get ("b");
  ck_assert_str_eq (note[1], "beta edited");
  b = find_item ("work", "b");
  ck_assert_str_eq (cairn_item_get_remote_revision (b), "2");

  /* A refused change is kept, and a sync leaves its item alone. */
  backend_refuses = TRUE;
  edit_locally ("work", "a", "alpha edited");
  wait_replayed (resource);
  failed = cairn_resource_list_failed_changes (resource, &error);
  assert_no_error (error);
  ck_assert_uint_eq (failed->len, 1);
  ck_assert_str_eq (cairn_failed_change_get_reason (g_ptr_array_index (failed, 0)),
                    "The backend is read-only");
  g_hash_table_remove (backend_notes, "a");
  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), 2);

  /* Retried, it fails again; discarded, the backend's state wins. */
  ck_assert (cairn_resource_retry_failed_changes (resource, NULL, 0, &error));
  wait_replayed (resource);
  g_clear_pointer (&failed, g_ptr_array_unref);
  failed = cairn_resource_list_failed_changes (resource, &error);
  ck_assert_uint_eq (failed->len, 1);
  ck_assert (cairn_resource_discard_failed_changes (resource, NULL, 0, &error));
  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), 1);
  stop_resource (resource);
}
END_TEST

/* Retries come after 2 × 20 ms, then 80 ms, at most 100 ms. */
static void
retry_soon (CairnResource *resource)
{
  CairnScheduler *scheduler = cairn_resource_get_scheduler (resource);

  cairn_scheduler_set_retry_delay (scheduler, 20 * 1000);
  cairn_scheduler_set_max_retry_delay (scheduler, 100 * 1000);
}

static gboolean
no_failed_collections (CairnResource *resource)
{
  g_autoptr(GArray) failed = cairn_resource_list_failed_collections (resource);

  return failed->len == 0;
}

/* Runs the main loop until @resource has no failed collection and no
 * task, or for ten seconds. */
static gboolean
wait_recovered (CairnResource *resource)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  CairnScheduler *scheduler = cairn_resource_get_scheduler (resource);

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      if (no_failed_collections (resource) &&
          cairn_scheduler_get_running_task (scheduler) == NULL &&
          cairn_scheduler_get_queue_length (scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT) == 0)
        return TRUE;
      g_usleep (1000);
    }
  return FALSE;
}

START_TEST (test_sync_failure_per_collection)
{
  CairnResource *resource = start_resource ();
  CairnAgent *agent = CAIRN_AGENT (resource);
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(GArray) failed = NULL;
  g_autofree char *reason = NULL;
  GError *error = NULL;
  gint64 deadline;

  retry_soon (resource);
  backend_broken_folder = "work";
  error = try_synchronize (resource);
  ck_assert_ptr_nonnull (error);
  ck_assert_msg (strstr (error->message, "1 of 2 collections could not be synchronized: "
                         "“work”: Folder work cannot be read") != NULL, "%s", error->message);
  g_clear_error (&error);

  /* The other folder is synced; the broken one is recorded and shown. */
  ck_assert_uint_eq (count_items ("work/2026"), 1);
  ck_assert_uint_eq (count_items ("work"), 0);
  work = find_collection ("work");
  failed = cairn_resource_list_failed_collections (resource);
  ck_assert_uint_eq (failed->len, 1);
  ck_assert_uint_eq (g_array_index (failed, guint64, 0), cairn_collection_get_id (work));
  reason = cairn_resource_dup_sync_failure (resource, cairn_collection_get_id (work));
  ck_assert_str_eq (reason, "Folder work cannot be read");
  ck_assert_int_eq (cairn_agent_get_status (agent), CAIRN_AGENT_STATUS_DEGRADED);
  ck_assert_str_eq (cairn_agent_get_status_message (agent),
                    "1 collection cannot be synchronized: “work”: Folder work cannot be read");

  /* Retried with backoff until the folder can be read again. */
  deadline = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  ck_assert (!no_failed_collections (resource));
  backend_broken_folder = NULL;
  ck_assert (wait_recovered (resource));
  ck_assert_uint_eq (count_items ("work"), 2);
  ck_assert_int_eq (cairn_agent_get_status (agent), CAIRN_AGENT_STATUS_IDLE);
  ck_assert_ptr_null (cairn_agent_get_status_message (agent));
  stop_resource (resource);
}
END_TEST

START_TEST (test_sync_missing_root)
{
  CairnResource *resource;
  CairnAgent *agent;
  g_autofree char *reason = NULL;
  GError *error = NULL;

  backend_missing = TRUE;
  resource = start_resource ();
  agent = CAIRN_AGENT (resource);
  retry_soon (resource);
  error = try_synchronize (resource);
  ck_assert_ptr_nonnull (error);
  ck_assert_str_eq (error->message,
                    "Cannot list the collections: The backend's root folder does not exist");
  g_clear_error (&error);
  reason = cairn_resource_dup_sync_failure (resource, 0);
  ck_assert_str_eq (reason, "The backend's root folder does not exist");
  ck_assert_int_eq (cairn_agent_get_status (agent), CAIRN_AGENT_STATUS_DEGRADED);
  ck_assert_str_eq (cairn_agent_get_status_message (agent),
                    "Cannot list the collections: The backend's root folder does not exist");

  /* Picked up when it appears, with its folders and notes. */
  backend_missing = FALSE;
  ck_assert (wait_recovered (resource));
  ck_assert_uint_eq (count_items ("work"), 2);
  ck_assert_uint_eq (count_items ("work/2026"), 1);
  ck_assert_int_eq (cairn_agent_get_status (agent), CAIRN_AGENT_STATUS_IDLE);
  stop_resource (resource);
}
END_TEST

static void
conflict (CairnConflictPolicy  policy,
          const char          *expected_backend,
          const char          *expected_store,
          guint                expected_items)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnItem) b = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) note = NULL;

  cairn_resource_set_conflict_policy (resource, policy);
  synchronize (resource);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  edit_locally ("work", "b", "local");
  backend_put ("b", "work", "server", "5");
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), TRUE);
  wait_replayed (resource);

  note = backend_get ("b");
  ck_assert_str_eq (note[1], expected_backend);
  b = find_item ("work", "b");
  text = item_text (b);
  ck_assert_str_eq (text, expected_store);
  ck_assert_uint_eq (g_hash_table_size (backend_notes), expected_items);
  stop_resource (resource);
}

START_TEST (test_conflict_keep_server)
{
  conflict (CAIRN_CONFLICT_POLICY_KEEP_SERVER, "server", "server", 3);
}
END_TEST

START_TEST (test_conflict_keep_local)
{
  conflict (CAIRN_CONFLICT_POLICY_KEEP_LOCAL, "local", "local", 3);
}
END_TEST

START_TEST (test_conflict_keep_both)
{
  conflict (CAIRN_CONFLICT_POLICY_KEEP_BOTH, "server", "server", 4);
}
END_TEST

static void
fetched (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->object = G_OBJECT (cairn_store_fetch_item_finish (CAIRN_STORE (source), result,
                                                          &wait->error));
  wait->done = TRUE;
}

static void
name_acquired (GDBusConnection *connection,
               const char      *name,
               gpointer         user_data)
{
  ((Wait *) user_data)->done = TRUE;
}

START_TEST (test_fetch_missing_part)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autofree char *text = NULL;
  Wait wait = { FALSE, NULL, NULL };
  guint owner;

  synchronize (resource);
  stored = find_item ("work", "a");
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (stored, "TEXT")),
                    CAIRN_PART_STORAGE_MISSING);
  /* The fetch goes to the resource's name, so it must be owned first. */
  owner = g_bus_own_name (G_BUS_TYPE_SESSION, "org.cairn.Agent.memory",
                          G_BUS_NAME_OWNER_FLAGS_NONE, NULL, name_acquired, NULL, &wait, NULL);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  wait.done = FALSE;

  cairn_fetch_scope_add_part (scope, "TEXT");
  cairn_store_fetch_item_async (client, cairn_item_get_id (stored), scope, NULL, fetched, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  assert_no_error (wait.error);
  text = item_text (CAIRN_ITEM (wait.object));
  ck_assert_str_eq (text, "alpha");
  g_object_unref (wait.object);

  g_bus_unown_name (owner);
  stop_resource (resource);
}
END_TEST

static void
password_found (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Wait *wait = user_data;

  wait->object = (GObject *) cairn_resource_lookup_password_finish (CAIRN_RESOURCE (source),
                                                                    result, &wait->error);
  wait->done = TRUE;
}

START_TEST (test_password)
{
  CairnResource *resource = start_resource ();
  Wait wait = { FALSE, NULL, NULL };
  GError *error = NULL;

  cairn_resource_lookup_password_async (resource, NULL, password_found, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (g_error_matches (wait.error, CAIRN_RESOURCE_ERROR,
                              CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS));
  g_clear_error (&wait.error);
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (resource)),
                    CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS);

  ck_assert (cairn_secrets_store_sync (cairn_resource_get_secrets (resource), "password",
                                       "hunter2-canary", NULL, &error));
  wait.done = FALSE;
  cairn_resource_lookup_password_async (resource, NULL, password_found, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  assert_no_error (wait.error);
  ck_assert_str_eq ((char *) wait.object, "hunter2-canary");
  g_free (wait.object);
  stop_resource (resource);
}
END_TEST

/* The memory backend has no callback for moves and removals: they are
 * kept as failed changes, never dropped as if replayed. */
START_TEST (test_unsupported_change_fails)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnItem) a = NULL;
  g_autoptr(GPtrArray) failed = NULL;
  g_auto(GStrv) note = NULL;
  GError *error = NULL;

  synchronize (resource);
  a = find_item ("work", "a");
  year = find_collection ("work/2026");
  ck_assert (cairn_store_write_sync (client, move_to, &(MoveTo) { cairn_item_get_id (a),
                                                                  cairn_collection_get_id (year) },
                                     NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed (resource);

  failed = cairn_resource_list_failed_changes (resource, &error);
  assert_no_error (error);
  ck_assert_uint_eq (failed->len, 1);
  ck_assert_str_eq (cairn_failed_change_get_reason (g_ptr_array_index (failed, 0)),
                    "Not supported by this resource");
  ck_assert_int_eq (cairn_change_get_operation (
                      cairn_failed_change_get_change (g_ptr_array_index (failed, 0))),
                    CAIRN_CHANGE_MOVE);
  note = backend_get ("a");
  ck_assert_str_eq (note[0], "work");
  stop_resource (resource);
}
END_TEST

static void
retrieved (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Wait *wait = user_data;

  cairn_resource_fetch_parts_finish (CAIRN_RESOURCE (source), result, &wait->error);
  wait->done = TRUE;
}

/* A resource without retrieve_item answers RetrieveItems with an error. */
START_TEST (test_retrieve_items_not_supported)
{
  CairnResource *resource = start_resource ();
  CairnResourceClass *klass = CAIRN_RESOURCE_GET_CLASS (resource);
  g_autoptr(CairnItem) a = NULL;
  Wait wait = { FALSE, NULL, NULL };
  guint64 id;

  synchronize (resource);
  a = find_item ("work", "a");
  id = cairn_item_get_id (a);
  klass->retrieve_item = NULL;
  cairn_resource_fetch_parts_async (resource, &id, 1, (const char *[]) { "TEXT", NULL }, NULL,
                                    retrieved, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_msg (g_error_matches (wait.error, CAIRN_RESOURCE_ERROR,
                                  CAIRN_RESOURCE_ERROR_NOT_SUPPORTED),
                 "got %s", wait.error ? wait.error->message : "no error");
  g_clear_error (&wait.error);
  klass->retrieve_item = retrieve_item;
  stop_resource (resource);
}
END_TEST

/* Overwrites the first page of the change log's b-tree in the store file,
 * as a failing disk would. */
static void
damage_change_log (void)
{
  const char *path = cairn_test_environment_get_store_path (environment);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 root, page_size;
  guint8 junk[64];
  int fd;

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                    SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (db, "SELECT rootpage, (SELECT page_size FROM "
                                        "pragma_page_size) FROM sqlite_schema WHERE name = "
                                        "'change_log'", -1, &stmt, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_step (stmt), SQLITE_ROW);
  root = sqlite3_column_int64 (stmt, 0);
  page_size = sqlite3_column_int64 (stmt, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  memset (junk, 0xff, sizeof junk);
  fd = open (path, O_WRONLY);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (pwrite (fd, junk, sizeof junk, (root - 1) * page_size), sizeof junk);
  close (fd);
}

/* A resource whose change log cannot be read says so in its status
 * instead of looking idle with nothing pending. */
START_TEST (test_change_log_unreadable)
{
  CairnResource *resource = start_resource ();
  CairnMonitor *recorder;
  gint64 deadline;
  GError *error = NULL;

  synchronize (resource);
  stop_resource (resource);
  for (guint i = 0; i < 300; i++)
    edit_locally ("work", "a", i % 2 ? "odd" : "even");
  g_clear_object (&client);
  g_clear_object (&store);
  damage_change_log ();
  store = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
  client = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);

  resource = start_resource ();
  recorder = CAIRN_MONITOR (cairn_agent_get_recorder (CAIRN_AGENT (resource)));
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while ((cairn_agent_get_status (CAIRN_AGENT (resource)) != CAIRN_AGENT_STATUS_DEGRADED ||
          cairn_monitor_get_read_error (recorder) == NULL) &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (resource)), CAIRN_AGENT_STATUS_DEGRADED);
  ck_assert_msg (strstr (cairn_agent_get_status_message (CAIRN_AGENT (resource)),
                         "Cannot read the change log: ") != NULL,
                 "%s", cairn_agent_get_status_message (CAIRN_AGENT (resource)));
  ck_assert (g_error_matches (cairn_monitor_get_read_error (recorder), CAIRN_STORE_ERROR,
                              CAIRN_STORE_ERROR_CORRUPT));
  stop_resource (resource);
}
END_TEST

/* A change delivered again after a transient failure is a retry; the
 * next change is not. */
START_TEST (test_replay_retry)
{
  CairnResource *resource = start_resource ();
  g_auto(GStrv) note = NULL;
  g_autoptr(GPtrArray) failed = NULL;
  GError *error = NULL;

  retry_soon (resource);
  synchronize (resource);
  backend_busy_once = TRUE;
  edit_locally ("work", "b", "beta edited");
  wait_replayed (resource);
  edit_locally ("work", "a", "alpha edited");
  wait_replayed (resource);
  ck_assert_str_eq (replay_retries->str, "FRF");
  note = backend_get ("b");
  ck_assert_str_eq (note[1], "beta edited");

  /* A part that could not be read is read again, not kept failed. */
  part_gone_once = TRUE;
  edit_locally ("work", "a", "alpha edited again");
  wait_replayed (resource);
  ck_assert_str_eq (replay_retries->str, "FRFFR");
  g_strfreev (note);
  note = backend_get ("a");
  ck_assert_str_eq (note[1], "alpha edited again");
  failed = cairn_resource_list_failed_changes (resource, &error);
  assert_no_error (error);
  ck_assert_uint_eq (failed->len, 0);
  stop_resource (resource);
}
END_TEST

static gboolean
delete_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  return cairn_transaction_delete_collection (transaction, *(guint64 *) user_data, error);
}

/* Relocating folders renames those below the old path, in the store and,
 * for one removed locally, in its pending removal; nothing else. */
START_TEST (test_relocate_collections)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnCollection) removed = NULL;
  g_autoptr(CairnCollection) moved = NULL;
  guint64 year_id;
  GError *error = NULL;

  synchronize (resource);
  year = find_collection ("work/2026");
  year_id = cairn_collection_get_id (year);
  ck_assert (cairn_resource_relocate_collections (resource, "work", "job", &error));
  assert_no_error (error);
  work = find_collection ("work");
  ck_assert_ptr_nonnull (work);
  moved = cairn_store_get_collection (client, year_id, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_remote_id (moved), "job/2026");

  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  ck_assert (cairn_store_write_sync (client, delete_collection, &year_id, NULL, NULL, &error));
  assert_no_error (error);
  ck_assert (cairn_resource_relocate_collections (resource, "job", "task", &error));
  assert_no_error (error);
  removed = cairn_resource_get_collection (resource, year_id, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_get_remote_id (removed), "task/2026");
  stop_resource (resource);
}
END_TEST

static gboolean
rename_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  return cairn_transaction_modify_collection (transaction, user_data, 0, error);
}

/* A sync leaves a folder renamed locally as it is while the rename is
 * not replayed: here it is refused, so it stays a failed change. */
START_TEST (test_sync_keeps_local_rename)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) after = NULL;
  GError *error = NULL;

  synchronize (resource);
  work = find_collection ("work");
  cairn_collection_set_name (work, "job");
  ck_assert (cairn_store_write_sync (client, rename_collection, work, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed (resource);
  synchronize (resource);
  after = find_collection ("work");
  ck_assert_str_eq (cairn_collection_get_name (after), "job");
  ck_assert_uint_eq (count_items ("work"), 2);
  stop_resource (resource);
}
END_TEST

static gboolean
create_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  return cairn_transaction_create_collection (transaction, user_data, error);
}

/* Collection callbacks get the collection as it was at each change: a
 * folder created and then renamed while the resource was offline is
 * created under its last name (one change); renamed once the creation is
 * replayed, the rename comes with the new name. */
START_TEST (test_collection_as_at_change)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) made = NULL;
  g_autofree char *expected = NULL;
  GError *error = NULL;

  synchronize (resource);
  work = find_collection ("work");
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  made = cairn_collection_new ("memory", cairn_collection_get_id (work), "draft");
  ck_assert (cairn_store_write_sync (client, create_collection, made, NULL, NULL, &error));
  cairn_collection_set_name (made, "plans");
  ck_assert (cairn_store_write_sync (client, rename_collection, made, NULL, NULL, &error));
  assert_no_error (error);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), TRUE);
  wait_replayed (resource);
  ck_assert (g_hash_table_contains (backend_folders, "work/plans"));

  cairn_collection_set_name (made, "ideas");
  ck_assert (cairn_store_write_sync (client, rename_collection, made, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed (resource);
  expected = g_strdup_printf ("added plans in %" G_GUINT64_FORMAT ";changed ideas in %"
                              G_GUINT64_FORMAT ";", cairn_collection_get_id (work),
                              cairn_collection_get_id (work));
  ck_assert_str_eq (collections_seen->str, expected);
  stop_resource (resource);
}
END_TEST

/* A collection's remote id, also of one removed locally whose removal
 * is still to come; one created locally and not replayed never reached
 * the backend, which is NOT_FOUND, as an unknown one is. */
START_TEST (test_collection_remote_id)
{
  CairnResource *resource = start_resource ();
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnCollection) made = NULL;
  g_autofree char *remote_id = NULL;
  guint64 year_id;
  GError *error = NULL;

  synchronize (resource);
  work = find_collection ("work");
  year = find_collection ("work/2026");
  year_id = cairn_collection_get_id (year);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  made = cairn_collection_new ("memory", cairn_collection_get_id (work), "draft");
  ck_assert (cairn_store_write_sync (client, create_collection, made, NULL, NULL, &error));
  ck_assert (cairn_store_write_sync (client, delete_collection, &year_id, NULL, NULL, &error));
  assert_no_error (error);

  remote_id = cairn_resource_dup_collection_remote_id (resource, year_id, &error);
  assert_no_error (error);
  ck_assert_str_eq (remote_id, "work/2026");
  ck_assert_ptr_null (cairn_resource_dup_collection_remote_id (resource,
                                                               cairn_collection_get_id (made),
                                                               &error));
  ck_assert (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND));
  g_clear_error (&error);
  ck_assert_ptr_null (cairn_resource_dup_collection_remote_id (resource, 999999, &error));
  ck_assert (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND));
  g_clear_error (&error);
  stop_resource (resource);
}
END_TEST

static gboolean
delete_item_locally (CairnTransaction  *transaction,
                     gpointer           user_data,
                     GError           **error)
{
  return cairn_transaction_delete_item (transaction, *(guint64 *) user_data, error);
}

static gboolean
create_item (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  return cairn_transaction_create_item (transaction, user_data, error);
}

static gboolean
add_seen (CairnTransaction  *transaction,
          gpointer           user_data,
          GError           **error)
{
  const char *added[] = { "\\Seen", NULL };
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new_from_strv (added, NULL);

  return cairn_transaction_change_flags (transaction, *(guint64 *) user_data, delta, 0, error);
}

static gboolean
move_folder (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  return cairn_transaction_move_collection (transaction, *(guint64 *) user_data, 0, error);
}

static void
write_locally (CairnTransactionFunc func,
               gpointer             data)
{
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, func, data, NULL, NULL, &error));
  assert_no_error (error);
}

static void
start_threads (void)
{
  main_thread = g_thread_self ();
  calls_in_main_thread = 0;
  flags_seen = g_string_new (NULL);
}

static void
assert_failed (CairnResource *resource,
               const char    *reason)
{
  g_autoptr(GPtrArray) failed = NULL;
  GError *error = NULL;

  failed = cairn_resource_list_failed_changes (resource, &error);
  assert_no_error (error);
  ck_assert_uint_eq (failed->len, 1);
  ck_assert_str_eq (cairn_failed_change_get_reason (g_ptr_array_index (failed, 0)), reason);
}

static guint64
count_all_notes (void)
{
  return g_hash_table_size (backend_notes);
}

/* Items handed one by one are written every CAIRN_STORE_BATCH_SIZE; the
 * rest when the listing completes, before the backend's batch, and not
 * at all when it fails. Progress counts them all. */
START_TEST (test_thread_sync_item_by_item)
{
  CairnResource *resource;
  GError *error = NULL;
  guint64 in_work;

  start_threads ();
  listed_one_by_one = CAIRN_STORE_BATCH_SIZE + 3;
  listing_fails = TRUE;
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  error = try_synchronize (resource);
  ck_assert_ptr_nonnull (error);
  g_clear_error (&error);
  ck_assert_uint_eq (count_items ("work"), CAIRN_STORE_BATCH_SIZE);

  listing_fails = FALSE;
  synchronize (resource);
  in_work = count_items ("work");
  ck_assert_uint_gt (in_work, CAIRN_STORE_BATCH_SIZE + 3);
  ck_assert_uint_eq (cairn_agent_get_items_done (CAIRN_AGENT (resource)),
                     count_all_notes () + CAIRN_STORE_BATCH_SIZE + 3);
  ck_assert_uint_eq (cairn_agent_get_items_known (CAIRN_AGENT (resource)),
                     count_all_notes () + CAIRN_STORE_BATCH_SIZE + 3);

  /* A full sync without them removes them, the one-by-one rest included. */
  listed_one_by_one = 0;
  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), in_work - CAIRN_STORE_BATCH_SIZE - 3);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

/* The blocking retrieve methods run in worker threads and merge as the
 * asynchronous ones do; RetrieveItems reads a part through them. */
START_TEST (test_thread_sync)
{
  CairnResource *resource;
  g_autoptr(CairnItem) stored = NULL;
  g_autofree char *text = NULL;
  Wait wait = { FALSE, NULL, NULL };
  guint64 id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  synchronize (resource);
  ck_assert_uint_eq (count_items ("work"), 2);
  ck_assert_uint_eq (count_items ("work/2026"), 1);

  stored = find_item ("work", "a");
  id = cairn_item_get_id (stored);
  cairn_resource_fetch_parts_async (resource, &id, 1, (const char *[]) { "TEXT", NULL }, NULL,
                                    retrieved, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  assert_no_error (wait.error);
  g_clear_object (&stored);
  stored = find_item ("work", "a");
  text = item_text (stored);
  ck_assert_str_eq (text, "alpha");
  ck_assert_int_eq (g_atomic_int_get (&calls_in_main_thread), 0);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

static void
task_ended (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Wait *wait = user_data;

  cairn_scheduler_queue_finish (CAIRN_SCHEDULER (source), result, &wait->error);
  wait->done = TRUE;
}

static GError *
run_custom_task (CairnResource       *resource,
                 const char          *name,
                 CairnSchedulerQueue  queue)
{
  g_autoptr(CairnSchedulerTask) task = cairn_scheduler_task_new_custom (name, queue, 7);
  Wait wait = { FALSE, NULL, NULL };

  cairn_scheduler_queue_async (cairn_resource_get_scheduler (resource), task, NULL, task_ended,
                               &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  return wait.error;
}

/* A custom task a resource queues runs its run_task_sync in a worker
 * thread, after the tasks of higher queues; asked to run again, it runs
 * after what was queued meanwhile; its error ends it. A resource without
 * the method fails custom tasks. */
START_TEST (test_thread_custom_task)
{
  CairnResource *resource;
  g_autoptr(CairnSchedulerTask) sync = NULL;
  g_autoptr(GError) error = NULL;

  start_threads ();
  tasks_run = g_string_new (NULL);
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  synchronize (resource);
  g_string_truncate (tasks_run, 0);

  /* Queued together: the background task waits for the sync. */
  sync = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL);
  cairn_scheduler_queue (cairn_resource_get_scheduler (resource), sync);
  error = run_custom_task (resource, "slices", CAIRN_SCHEDULER_QUEUE_BACKGROUND);
  assert_no_error (error);
  ck_assert_str_eq (tasks_run->str, "tree,slices,slices,");
  ck_assert_int_eq (g_atomic_int_get (&calls_in_main_thread), 0);

  error = run_custom_task (resource, "fails", CAIRN_SCHEDULER_QUEUE_EXPLICIT);
  ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT));
  g_clear_error (&error);
  stop_resource (resource);

  resource = start_resource_of_type (MEMORY_TYPE_RESOURCE);
  error = run_custom_task (resource, "slices", CAIRN_SCHEDULER_QUEUE_BACKGROUND);
  ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID));
  stop_resource (resource);
  g_string_free (g_steal_pointer (&tasks_run), TRUE);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

/* Every kind of change goes through its blocking method in a worker
 * thread, and what the method returns reaches the store. */
START_TEST (test_thread_replay)
{
  CairnResource *resource;
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnCollection) made = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(GBytes) data = g_bytes_new_static ("echo", 4);
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", data);
  g_autofree char *remote_id = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *gid = NULL;
  g_auto(GStrv) note = NULL;
  guint64 id, year_id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  synchronize (resource);
  work = find_collection ("work");
  year = find_collection ("work/2026");
  year_id = cairn_collection_get_id (year);

  item = cairn_item_new ("text/plain");
  cairn_item_set_collection_id (item, cairn_collection_get_id (work));
  cairn_item_set_part (item, part);
  write_locally (create_item, item);
  wait_replayed (resource);
  id = cairn_item_get_id (item);
  remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT, id);
  stored = find_item ("work", remote_id);
  ck_assert_ptr_nonnull (stored);
  ck_assert_str_eq (cairn_item_get_remote_revision (stored), "1");

  edit_locally ("work", remote_id, "echo edited");
  wait_replayed (resource);
  g_clear_object (&stored);
  stored = find_item ("work", remote_id);
  ck_assert_str_eq (cairn_item_get_remote_revision (stored), "2");

  /* Written under a new remote id, which the flag change after it uses. */
  edit_locally ("work", remote_id, "rewrite");
  write_locally (add_seen, &id);
  wait_replayed (resource);
  ck_assert_ptr_null (find_item ("work", remote_id));
  g_free (remote_id);
  remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT "-new", id);
  g_clear_object (&stored);
  stored = find_item ("work", remote_id);
  ck_assert_ptr_nonnull (stored);
  /* And under the GID the backend gave it with the new remote id. */
  gid = g_strconcat (remote_id, "@gid", NULL);
  ck_assert_str_eq (cairn_item_get_gid (stored), gid);
  expected = g_strdup_printf ("%s +\\Seen -;", remote_id);
  ck_assert_str_eq (flags_seen->str, expected);

  write_locally (move_to, &(MoveTo) { id, year_id });
  wait_replayed (resource);
  note = backend_get (remote_id);
  ck_assert_str_eq (note[0], "work/2026");
  ck_assert_str_eq (note[1], "rewrite");

  write_locally (delete_item_locally, &id);
  wait_replayed (resource);
  ck_assert (!g_hash_table_contains (backend_notes, remote_id));

  /* A folder created then renamed takes its new remote id. */
  made = cairn_collection_new ("memory", cairn_collection_get_id (work), "draft");
  write_locally (create_collection, made);
  wait_replayed (resource);
  ck_assert (g_hash_table_contains (backend_folders, "work/draft"));
  g_clear_object (&made);
  made = find_collection ("work/draft");
  cairn_collection_set_name (made, "plans");
  write_locally (rename_collection, made);
  wait_replayed (resource);
  ck_assert (!g_hash_table_contains (backend_folders, "work/draft"));
  ck_assert (g_hash_table_contains (backend_folders, "work/plans"));
  g_clear_object (&made);
  made = find_collection ("work/plans");
  ck_assert_ptr_nonnull (made);

  /* A method's errno error is permanent: the change is kept as failed. */
  write_locally (move_folder, &year_id);
  wait_replayed (resource);
  g_free (expected);
  expected = g_strdup_printf ("Cannot move work/2026: %s", g_strerror (EACCES));
  assert_failed (resource, expected);
  ck_assert_int_eq (g_atomic_int_get (&calls_in_main_thread), 0);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until the atomic @counter reaches @n, or for @usec. */
static void
run_until_count (gint   *counter,
                 gint    n,
                 gint64  usec)
{
  gint64 deadline = g_get_monotonic_time () + usec;
  guint timer = g_timeout_add (10, wake_up, NULL);

  while (g_atomic_int_get (counter) < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timer);
}

/* Runs the main loop until thread_item_added() ran @n times, or 20 s. */
static void
wait_items_added (gint n)
{
  run_until_count (&items_added, n, 20 * G_USEC_PER_SEC);
}

/* Refuses, through a trigger in the store's database, every write that
 * advances the recorder's position, or stops refusing. */
static void
refuse_position_writes (gboolean refuse)
{
  const char *path = cairn_test_environment_get_store_path (environment);
  sqlite3 *db = NULL;
  char *message = NULL;

  ck_assert_int_eq (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  ck_assert_msg (sqlite3_exec (db, refuse ?
                               "CREATE TRIGGER refuse_position BEFORE UPDATE ON cursors "
                               "WHEN NEW.name = 'memory' AND (NEW.revision > OLD.revision OR "
                               "  NEW.delivered > OLD.delivered OR "
                               "  (NEW.batch_end = 0 AND OLD.batch_end != 0)) "
                               "BEGIN SELECT RAISE (ABORT, 'refused'); END" :
                               "DROP TRIGGER refuse_position",
                               NULL, NULL, &message) == SQLITE_OK, "%s", message);
  sqlite3_close (db);
}

/* A replayed change's new remote id and the recorder's position after it
 * commit together: killed between two writes, the resource would get the
 * change again as if its new remote id were the old one (a move's, in its
 * source folder). Where the position cannot be written, the remote id is
 * not either, and the change comes again; once it can, both are. */
START_TEST (test_thread_remote_id_with_position)
{
  CairnResource *resource;
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(GBytes) data = g_bytes_new_static ("echo", 4);
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", data);
  g_autofree char *remote_id = NULL;
  GError *error = NULL;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  retry_soon (resource);
  synchronize (resource);
  work = find_collection ("work");
  g_atomic_int_set (&items_added, 0);
  refuse_position_writes (TRUE);
  item = cairn_item_new ("text/plain");
  cairn_item_set_collection_id (item, cairn_collection_get_id (work));
  cairn_item_set_part (item, part);
  write_locally (create_item, item);
  wait_items_added (3);
  stored = cairn_store_get_item (client, cairn_item_get_id (item), NULL, &error);
  assert_no_error (error);
  ck_assert_ptr_null (cairn_item_get_remote_id (stored));
  ck_assert_int_ge (g_atomic_int_get (&items_added), 3);

  refuse_position_writes (FALSE);
  wait_replayed (resource);
  g_clear_object (&stored);
  stored = cairn_store_get_item (client, cairn_item_get_id (item), NULL, &error);
  assert_no_error (error);
  remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT, cairn_item_get_id (item));
  ck_assert_str_eq (cairn_item_get_remote_id (stored), remote_id);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

/* Creates @item here, and holds its creation in the backend until
 * release_backend(). */
static void
hold_creation (CairnItem *item)
{
  g_atomic_int_set (&items_added, 0);
  g_atomic_int_set (&most_items_in_backend, 0);
  items_held = TRUE;
  write_locally (create_item, item);
  wait_items_added (1);
}

/* Once replayed, item @id removed here is gone from the backend, which
 * got its creation once; then the resource stops. */
static void
assert_removed_from_backend (CairnResource *resource,
                             guint64        id)
{
  g_autofree char *remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT, id);

  wait_replayed (resource);
  ck_assert (!g_hash_table_contains (backend_notes, remote_id));
  ck_assert_int_eq (g_atomic_int_get (&items_added), 1);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}

/* Creates @item locally while thread_item_added() waits in the backend,
 * with a watchdog limit of 100 ms, until the watchdog has given up on
 * that replay and its task was tried again, several times over. */
static void
outlive_watchdog (CairnResource *resource,
                  CairnItem     *item)
{
  CairnScheduler *scheduler = cairn_resource_get_scheduler (resource);

  cairn_scheduler_set_time_limit (scheduler, CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY,
                                  100 * 1000);
  hold_creation (item);
  /* Several times the limit and the retry delay. */
  run_until_count (&most_items_in_backend, 2, G_USEC_PER_SEC);
}

/* Lets the replay that outlive_watchdog() held end, and sets the limit
 * back to one that no replay here reaches. */
static void
release_backend (CairnResource *resource)
{
  g_mutex_lock (&backend_lock);
  ck_assert_int_eq (most_items_in_backend, 1);
  items_held = FALSE;
  g_cond_broadcast (&items_released);
  g_mutex_unlock (&backend_lock);
  ck_assert_int_eq (g_atomic_int_get (&items_added), 1);
  cairn_scheduler_set_time_limit (cairn_resource_get_scheduler (resource),
                                  CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY,
                                  20 * G_USEC_PER_SEC);
}

static CairnItem *
new_note (const char *text)
{
  g_autoptr(CairnCollection) work = find_collection ("work");
  g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("TEXT", data);
  CairnItem *item = cairn_item_new ("text/plain");

  cairn_item_set_collection_id (item, cairn_collection_get_id (work));
  cairn_item_set_part (item, part);
  return item;
}

/* A replay that outlives the watchdog's limit is abandoned and its task
 * tried again, but the backend still works on it in the worker thread:
 * the change is not delivered again beside that call, and the call's
 * late answer counts: the creation reaches the backend once. */
START_TEST (test_thread_timed_out_replay)
{
  CairnResource *resource;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autofree char *remote_id = NULL;
  g_auto(GStrv) note = NULL;
  GError *error = NULL;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  retry_soon (resource);
  synchronize (resource);
  item = new_note ("slow");
  outlive_watchdog (resource, item);
  release_backend (resource);
  wait_replayed (resource);
  ck_assert_int_eq (most_items_in_backend, 1);
  ck_assert_int_eq (g_atomic_int_get (&items_added), 1);
  stored = cairn_store_get_item (client, cairn_item_get_id (item), NULL, &error);
  assert_no_error (error);
  remote_id = g_strdup_printf ("thread-%" G_GUINT64_FORMAT, cairn_item_get_id (item));
  ck_assert_str_eq (cairn_item_get_remote_id (stored), remote_id);
  note = backend_get (remote_id);
  ck_assert_ptr_nonnull (note);
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

/* An item removed while the backend still works on its creation, after
 * the watchdog gave up on it: the backend's late answer gives the remote
 * id that the removal needs, or the item would stay there for ever. */
START_TEST (test_thread_timed_out_creation_removed)
{
  CairnResource *resource;
  g_autoptr(CairnItem) item = NULL;
  guint64 id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  retry_soon (resource);
  synchronize (resource);
  item = new_note ("gone");
  outlive_watchdog (resource, item);
  id = cairn_item_get_id (item);
  write_locally (delete_item_locally, &id);
  release_backend (resource);
  assert_removed_from_backend (resource, id);
}
END_TEST

/* Offline while the backend still works on a creation, and the item
 * removed meanwhile: going offline cancels the replay, but the backend
 * took the item, and its removal reaches it once online again. */
START_TEST (test_thread_offline_mid_creation)
{
  CairnResource *resource;
  g_autoptr(CairnItem) item = NULL;
  guint64 id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  retry_soon (resource);
  synchronize (resource);
  item = new_note ("cut");
  hold_creation (item);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  id = cairn_item_get_id (item);
  write_locally (delete_item_locally, &id);
  release_backend (resource);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), TRUE);
  assert_removed_from_backend (resource, id);
}
END_TEST

/* Going offline ends a replay under way: the changes left wait for the
 * resource to be online again, as a replay that has not started does. */
START_TEST (test_offline_ends_replay)
{
  CairnResource *resource;
  const char *texts[] = { "first", "second", "third" };

  resource = start_resource ();
  synchronize (resource);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(CairnItem) item = new_note (texts[i]);

      write_locally (create_item, item);
    }
  run_until_count (&memory_items_added, 1, 5 * G_USEC_PER_SEC);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 1);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), FALSE);
  run_until_count (&memory_items_added, 3, G_USEC_PER_SEC / 2);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 1);
  cairn_agent_set_wanted_online (CAIRN_AGENT (resource), TRUE);
  wait_replayed (resource);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 3);
  stop_resource (resource);
}
END_TEST

/* A resource that replays asynchronously may report after the watchdog
 * gave up on the delivery: the change is not delivered again meanwhile,
 * nor the next one, and the late report ends that delivery. */
START_TEST (test_timed_out_async_replay)
{
  CairnResource *resource;
  g_autoptr(CairnItem) first = NULL;
  g_autoptr(CairnItem) second = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *second_remote_id = NULL;
  GError *error = NULL;

  resource = start_resource ();
  retry_soon (resource);
  synchronize (resource);
  first = new_note ("first");
  second = new_note ("second");
  cairn_scheduler_set_time_limit (cairn_resource_get_scheduler (resource),
                                  CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY, 100 * 1000);
  reports_held = TRUE;
  write_locally (create_item, first);
  /* Several times the limit and the retry delay. */
  run_until_count (&memory_items_added, 2, G_USEC_PER_SEC);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 1);
  write_locally (create_item, second);
  run_until_count (&memory_items_added, 2, G_USEC_PER_SEC / 2);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 1);

  reports_held = FALSE;
  remote_id = g_steal_pointer (&held_report);
  cairn_scheduler_set_time_limit (cairn_resource_get_scheduler (resource),
                                  CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY, 20 * G_USEC_PER_SEC);
  cairn_resource_change_replayed (resource, remote_id, "1");
  wait_replayed (resource);
  ck_assert_int_eq (g_atomic_int_get (&memory_items_added), 2);
  stored = cairn_store_get_item (client, cairn_item_get_id (first), NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_item_get_remote_id (stored), remote_id);
  g_clear_object (&stored);
  stored = cairn_store_get_item (client, cairn_item_get_id (second), NULL, &error);
  assert_no_error (error);
  second_remote_id = g_strdup_printf ("local-%" G_GUINT64_FORMAT, cairn_item_get_id (second));
  ck_assert_str_eq (cairn_item_get_remote_id (stored), second_remote_id);
  stop_resource (resource);
}
END_TEST

/* The stand-ins of the base class: without replay_collection_moved_sync
 * a move goes to replay_collection_changed_sync; a rename of a folder
 * whose creation never reached the backend (it failed) creates it, and
 * until then a sync does not list it. */
START_TEST (test_thread_collection_stand_ins)
{
  ThreadResourceClass *klass = g_type_class_ref (THREAD_TYPE_RESOURCE);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);
  CairnResource *resource;
  g_autoptr(CairnCollection) work = NULL;
  g_autoptr(CairnCollection) year = NULL;
  g_autoptr(CairnCollection) moved = NULL;
  g_autoptr(CairnCollection) made = NULL;
  g_autoptr(CairnCollection) created = NULL;
  g_autoptr(GArray) failed_collections = NULL;
  guint64 year_id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  synchronize (resource);
  work = find_collection ("work");
  year = find_collection ("work/2026");
  year_id = cairn_collection_get_id (year);

  resource_class->replay_collection_moved_sync = NULL;
  write_locally (move_folder, &year_id);
  wait_replayed (resource);
  /* The test backend names a folder after its parent and its name. */
  ck_assert (!g_hash_table_contains (backend_folders, "work/2026"));
  ck_assert (g_hash_table_contains (backend_folders, "/work/2026"));
  moved = find_collection ("/work/2026");
  ck_assert_uint_eq (cairn_collection_get_id (moved), year_id);

  resource_class->replay_collection_added_sync = NULL;
  made = cairn_collection_new ("memory", cairn_collection_get_id (work), "draft");
  write_locally (create_collection, made);
  wait_replayed (resource);
  assert_failed (resource, "Not supported by this resource");
  /* A sync has nothing to list in it, and no failure. */
  synchronize (resource);
  failed_collections = cairn_resource_list_failed_collections (resource);
  ck_assert_uint_eq (failed_collections->len, 0);
  resource_class->replay_collection_added_sync = thread_collection_added;
  cairn_collection_set_name (made, "plans");
  write_locally (rename_collection, made);
  wait_replayed (resource);
  ck_assert (g_hash_table_contains (backend_folders, "work/plans"));
  created = find_collection ("work/plans");
  ck_assert_uint_eq (cairn_collection_get_id (created), cairn_collection_get_id (made));
  stop_resource (resource);
  g_type_class_unref (klass);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

/* A change with no method fails as not supported; a server item handed
 * back is a conflict, settled by the policy. */
START_TEST (test_thread_conflict)
{
  CairnResource *resource;
  g_autoptr(CairnItem) a = NULL;
  g_autofree char *text = NULL;
  guint64 year_id;

  start_threads ();
  resource = start_resource_of_type (THREAD_TYPE_RESOURCE);
  synchronize (resource);
  backend_put ("a", "work", "alpha from the server", "5");
  edit_locally ("work", "a", "alpha edited");
  wait_replayed (resource);
  a = find_item ("work", "a");
  ck_assert_str_eq (cairn_item_get_remote_revision (a), "5");
  text = item_text (a);
  ck_assert_str_eq (text, "alpha from the server");

  year_id = cairn_collection_get_id (find_collection ("work/2026"));
  write_locally (delete_collection, &year_id);
  wait_replayed (resource);
  assert_failed (resource, "Not supported by this resource");
  stop_resource (resource);
  g_string_free (g_steal_pointer (&flags_seen), TRUE);
}
END_TEST

START_TEST (test_errno_errors)
{
  ck_assert_int_eq (cairn_resource_error_from_errno (ENOSPC), CAIRN_RESOURCE_ERROR_TRANSIENT);
  ck_assert_int_eq (cairn_resource_error_from_errno (EAGAIN), CAIRN_RESOURCE_ERROR_TRANSIENT);
  ck_assert_int_eq (cairn_resource_error_from_errno (EINTR), CAIRN_RESOURCE_ERROR_TRANSIENT);
  ck_assert_int_eq (cairn_resource_error_from_errno (EACCES), CAIRN_RESOURCE_ERROR_PERMANENT);
  ck_assert_int_eq (cairn_resource_error_from_errno (ENOENT), CAIRN_RESOURCE_ERROR_PERMANENT);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "sync", test_sync_merges_tree_and_items },
    { "sync", test_merge_by_gid },
    { "sync", test_sync_failure_per_collection },
    { "sync", test_sync_missing_root },
    { "sync", test_queue_lengths_announced_at_once },
    { "replay", test_replay_and_failed_changes },
    { "conflicts", test_conflict_keep_server },
    { "conflicts", test_conflict_keep_local },
    { "conflicts", test_conflict_keep_both },
    { "parts", test_fetch_missing_part },
    { "credentials", test_password },
    { "replay", test_unsupported_change_fails },
    { "replay", test_change_log_unreadable },
    { "replay", test_replay_retry },
    { "replay", test_relocate_collections },
    { "sync", test_sync_keeps_local_rename },
    { "replay", test_collection_as_at_change },
    { "replay", test_collection_remote_id },
    { "parts", test_retrieve_items_not_supported },
    { "threads", test_thread_sync },
    { "threads", test_thread_sync_item_by_item },
    { "threads", test_thread_replay },
    { "threads", test_thread_custom_task },
    { "threads", test_thread_remote_id_with_position },
    { "threads", test_thread_timed_out_replay },
    { "threads", test_thread_timed_out_creation_removed },
    { "threads", test_thread_offline_mid_creation },
    { "replay", test_timed_out_async_replay },
    { "replay", test_offline_ends_replay },
    { "threads", test_thread_conflict },
    { "threads", test_thread_collection_stand_ins },
    { "threads", test_errno_errors },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("resource", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 60));
}
