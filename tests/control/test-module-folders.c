/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A resource for the cairnctl tests: each sub-folder of its `path` is a
 * collection and each file in it an item, whose TEXT part stays missing.
 * A folder holding a file named `.unreadable` cannot be read, even by
 * root, so that a test can make one collection fail and recover. Local
 * changes of items are refused, so that they become failed changes.
 * `batch-size` hands the items of a folder in batches of that many, so
 * that a test sees the progress move item by item. */
#include <cairn/cairn.h>

#define FOLDERS_TYPE_RESOURCE (folders_resource_get_type ())
G_DECLARE_FINAL_TYPE (FoldersResource, folders_resource, FOLDERS, RESOURCE, CairnResource)

struct _FoldersResource
{
  CairnResource parent_instance;
  char *path;
  guint batch_size;
};

static void folders_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FoldersResource, folders_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      folders_resource_observer_init))

enum {
  PROP_0,
  PROP_PATH,
  PROP_BATCH_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
retrieve_collections (CairnResource       *resource,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  FoldersResource *self = FOLDERS_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GPtrArray) collections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GDir) dir = NULL;
  GError *error = NULL;
  const char *name;

  dir = self->path != NULL ? g_dir_open (self->path, 0, &error) : NULL;
  if (dir == NULL)
    {
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                               "The folder %s cannot be read: %s", self->path,
                               error ? error->message : "no path");
      g_clear_error (&error);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      CairnCollection *collection = cairn_collection_new (NULL, 0, name);

      cairn_collection_set_remote_id (collection, name);
      g_ptr_array_add (collections, collection);
    }
  g_task_return_pointer (task, g_steal_pointer (&collections),
                         (GDestroyNotify) g_ptr_array_unref);
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
  FoldersResource *self = FOLDERS_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *folder = g_build_filename (self->path,
                                              cairn_collection_get_remote_id (collection), NULL);
  g_autofree char *marker = g_build_filename (folder, ".unreadable", NULL);
  g_autoptr(GDir) dir = NULL;
  GError *error = NULL;
  const char *name;

  if (g_file_test (marker, G_FILE_TEST_EXISTS))
    {
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                               "Folder %s cannot be read",
                               cairn_collection_get_remote_id (collection));
      return;
    }
  dir = g_dir_open (folder, 0, &error);
  if (dir == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      CairnItem *item;
      g_autoptr(CairnPart) part = NULL;

      if (name[0] == '.')
        continue;
      item = cairn_item_new ("text/plain");
      part = cairn_part_new_missing ("TEXT", 0);

      cairn_item_set_remote_id (item, name);
      cairn_item_set_remote_revision (item, "1");
      cairn_item_set_part (item, part);
      g_ptr_array_add (items, item);
    }
  cairn_item_sync_set_expected_items (sync, items->len);
  for (guint start = 0; start < items->len; start += self->batch_size ? self->batch_size : items->len)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();

      for (guint i = start; i < items->len && (self->batch_size == 0 || i < start + self->batch_size);
           i++)
        g_ptr_array_add (batch, g_ptr_array_index (items, i));
      if (!cairn_item_sync_add_items (sync, batch, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
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
  g_task_report_new_error (resource, callback, user_data, retrieve_item, CAIRN_RESOURCE_ERROR,
                           CAIRN_RESOURCE_ERROR_PERMANENT, "Items have no content");
}

static CairnItem *
retrieve_item_finish (CairnResource  *resource,
                      GAsyncResult   *result,
                      GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
item_changed (CairnObserver      *observer,
              CairnMonitor       *monitor,
              CairnChange        *change,
              CairnItem          *item,
              const char * const *parts)
{
  cairn_resource_change_failed (CAIRN_RESOURCE (observer),
                                &(GError) { CAIRN_RESOURCE_ERROR,
                                            CAIRN_RESOURCE_ERROR_PERMANENT,
                                            (char *) "The folders are read-only" });
}

static void
folders_resource_observer_init (CairnObserverInterface *iface)
{
  iface->item_changed = item_changed;
}

static void
folders_resource_finalize (GObject *object)
{
  g_free (FOLDERS_RESOURCE (object)->path);

  G_OBJECT_CLASS (folders_resource_parent_class)->finalize (object);
}

static void
folders_resource_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, FOLDERS_RESOURCE (object)->path);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, FOLDERS_RESOURCE (object)->batch_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
folders_resource_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  FoldersResource *self = FOLDERS_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_free (self->path);
      self->path = g_value_dup_string (value);
      break;
    case PROP_BATCH_SIZE:
      self->batch_size = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
folders_resource_class_init (FoldersResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->finalize = folders_resource_finalize;
  object_class->get_property = folders_resource_get_property;
  object_class->set_property = folders_resource_set_property;
  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;
  resource_class->retrieve_item = retrieve_item;
  resource_class->retrieve_item_finish = retrieve_item_finish;

  properties[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL,
                                               G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BATCH_SIZE] = g_param_spec_uint ("batch-size", NULL, NULL, 0, 1000, 0,
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
folders_resource_init (FoldersResource *self)
{
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (FOLDERS_TYPE_RESOURCE);
