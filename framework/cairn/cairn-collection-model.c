/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-collection-model.h"
#include "cairn-collection-node-private.h"
#include "cairn-monitor.h"

/**
 * CairnCollectionModel:
 *
 * A [iface@Gio.ListModel] of [class@Cairn.CollectionNode]: the
 * top-level collections of one resource or of the whole store, sorted by
 * name, each with live item and unread counts. The collections under a
 * node are the model cairn_collection_model_get_children() gives, which
 * is what the `create_func` of a `GtkTreeListModel` returns:
 *
 * ```c
 * static GListModel *
 * create_children (gpointer item, gpointer root)
 * {
 *   return cairn_collection_model_get_children (root, item);
 * }
 *
 * tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (root)), FALSE, FALSE,
 *                                 create_children, root, NULL);
 * ```
 *
 * The model follows the store through a #CairnMonitor: after changes
 * from any process it reads the collections and their counts again in a
 * worker thread, updates the nodes in place (notifying their
 * properties), and emits #GListModel::items-changed on each level for
 * the run of positions that changed.
 *
 * Since: 0.1
 */

struct _CairnCollectionModel
{
  GObject parent_instance;

  CairnStore *store;
  char *resource;
  CairnCollectionModel *root;  /* held by a level below the top; NULL in the top one */
  guint64 parent_id;
  GPtrArray *nodes;            /* this level's, by name */

  /* The top level only: the tree, and what follows the store. */
  GHashTable *by_id;           /* id → CairnCollectionNode */
  GPtrArray *order;            /* every node, parents first, siblings by name */
  GHashTable *levels;          /* parent id → CairnCollectionModel below, not held */
  CairnMonitor *monitor;
  gboolean ready;
  gboolean running;
  gboolean reload_wanted;
  guint schedule_source;
  GCancellable *cancellable;
};

enum {
  PROP_0,
  PROP_STORE,
  PROP_RESOURCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_collection_model_list_model_init (GListModelInterface *iface);
static void cairn_collection_model_initable_init (GInitableIface *iface);
static void cairn_collection_model_async_initable_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnCollectionModel, cairn_collection_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      cairn_collection_model_list_model_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      cairn_collection_model_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                      cairn_collection_model_async_initable_init))

/* Reads, in a worker thread */

typedef struct
{
  guint64 item_count;
  guint64 unread_count;
} Counts;

typedef struct
{
  CairnStore *store;
  char *resource;
  GPtrArray *collections;  /* out */
  GArray *counts;          /* out: Counts, one per collection */
} Read;

static void
read_free (Read *read)
{
  g_object_unref (read->store);
  g_free (read->resource);
  g_clear_pointer (&read->collections, g_ptr_array_unref);
  g_clear_pointer (&read->counts, g_array_unref);
  g_free (read);
}

static Read *
read_new (CairnCollectionModel *self)
{
  Read *read = g_new0 (Read, 1);

  read->store = g_object_ref (self->store);
  read->resource = g_strdup (self->resource);
  return read;
}

static gboolean
run_read (Read     *read,
          GError  **error)
{
  read->collections = cairn_store_list_collections (read->store, read->resource, error);
  if (read->collections == NULL)
    return FALSE;
  read->counts = g_array_sized_new (FALSE, TRUE, sizeof (Counts), read->collections->len);
  for (guint i = 0; i < read->collections->len; i++)
    {
      guint64 id = cairn_collection_get_id (g_ptr_array_index (read->collections, i));
      Counts counts = { 0, 0 };
      g_autoptr(GError) local_error = NULL;

      /* One removed since the list was read counts nothing; the next
       * read drops it. */
      if (!cairn_store_get_collection_statistics (read->store, id, &counts.item_count,
                                                  &counts.unread_count, NULL, &local_error) &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_array_append_val (read->counts, counts);
    }
  return TRUE;
}

static void
read_thread (GTask        *task,
             gpointer      source,
             gpointer      data,
             GCancellable *cancellable)
{
  GError *error = NULL;

  if (run_read (data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Applying a read, in the main context */

/* Whether @node is on the level of @self. */
static gboolean
on_level (CairnCollectionModel *self,
          CairnCollectionModel *root,
          CairnCollectionNode  *node)
{
  guint64 parent = cairn_collection_get_parent_id (cairn_collection_node_get_collection (node));

  if (self != root)
    return parent == self->parent_id;
  /* The top level of one resource: those whose parent is not its. */
  return parent == 0 || !g_hash_table_contains (root->by_id, &parent);
}

/* Takes this level's nodes from the tree and emits one items-changed
 * for the run between what stayed at the start and at the end. */
static void
refresh_level (CairnCollectionModel *self,
               CairnCollectionModel *root,
               gboolean              emit)
{
  g_autoptr(GPtrArray) previous = g_steal_pointer (&self->nodes);
  guint start = 0, end = 0;

  self->nodes = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < root->order->len; i++)
    if (on_level (self, root, g_ptr_array_index (root->order, i)))
      g_ptr_array_add (self->nodes, g_object_ref (g_ptr_array_index (root->order, i)));

  while (start < previous->len && start < self->nodes->len &&
         g_ptr_array_index (previous, start) == g_ptr_array_index (self->nodes, start))
    start++;
  while (end < previous->len - start && end < self->nodes->len - start &&
         g_ptr_array_index (previous, previous->len - 1 - end) ==
         g_ptr_array_index (self->nodes, self->nodes->len - 1 - end))
    end++;
  if (emit && (previous->len != self->nodes->len || start < previous->len))
    g_list_model_items_changed (G_LIST_MODEL (self), start, previous->len - start - end,
                                self->nodes->len - start - end);
}

static void
take_read (CairnCollectionModel *self,
           Read                 *read,
           gboolean              emit)
{
  g_autoptr(GHashTable) previous = g_steal_pointer (&self->by_id);
  g_autoptr(GPtrArray) levels = NULL;
  GHashTableIter iter;
  gpointer level;

  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  g_ptr_array_set_size (self->order, 0);
  for (guint i = 0; i < read->collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (read->collections, i);
      guint64 id = cairn_collection_get_id (collection);
      Counts *counts = &g_array_index (read->counts, Counts, i);
      CairnCollectionNode *node = g_hash_table_lookup (previous, &id);

      if (node != NULL)
        {
          g_object_ref (node);
          _cairn_collection_node_update (node, collection, counts->item_count,
                                         counts->unread_count);
        }
      else
        node = _cairn_collection_node_new (collection, counts->item_count,
                                           counts->unread_count);
      g_hash_table_insert (self->by_id, g_memdup2 (&id, sizeof id), node);
      g_ptr_array_add (self->order, g_object_ref (node));
    }

  refresh_level (self, self, emit);
  /* Held while they emit: a handler may drop one. */
  levels = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->levels);
  while (g_hash_table_iter_next (&iter, NULL, &level))
    g_ptr_array_add (levels, g_object_ref (level));
  for (guint i = 0; i < levels->len; i++)
    refresh_level (g_ptr_array_index (levels, i), self, emit);
}

static void start_read (CairnCollectionModel *self);

static gboolean
schedule_due (gpointer data)
{
  CairnCollectionModel *self = data;

  self->schedule_source = 0;
  start_read (self);
  return G_SOURCE_REMOVE;
}

/* A burst of changes costs one read; one read at a time. */
static void
reload_soon (CairnCollectionModel *self)
{
  self->reload_wanted = TRUE;
  if (!self->ready || self->running || self->schedule_source != 0)
    return;
  self->schedule_source = g_idle_add (schedule_due, self);
}

static void
read_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (source);
  g_autoptr(GError) error = NULL;

  self->running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot read the collections: %s", error->message);
      return;
    }
  take_read (self, g_task_get_task_data (G_TASK (result)), TRUE);
  if (self->reload_wanted)
    reload_soon (self);
}

static void
start_read (CairnCollectionModel *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->running || !self->reload_wanted)
    return;
  self->reload_wanted = FALSE;
  self->running = TRUE;
  task = g_task_new (self, self->cancellable, read_done, NULL);
  g_task_set_source_tag (task, start_read);
  g_task_set_task_data (task, read_new (self), (GDestroyNotify) read_free);
  g_task_run_in_thread (task, read_thread);
}

/* Any change of a collection, or of an item (the counts), is read. */
static gboolean
follow_store (CairnCollectionModel  *self,
              GError               **error)
{
  static const char * const changes[] = {
    "collection-added", "collection-changed", "collection-moved", "collection-removed",
    "item-added", "item-changed", "item-moved", "item-removed", "items-flags-changed",
  };

  self->monitor = cairn_monitor_new (self->store, error);
  if (self->monitor == NULL)
    return FALSE;
  cairn_monitor_add_entity_kind (self->monitor, CAIRN_ENTITY_ITEM);
  cairn_monitor_add_entity_kind (self->monitor, CAIRN_ENTITY_COLLECTION);
  if (self->resource != NULL)
    cairn_monitor_add_resource (self->monitor, self->resource);
  /* Swapped: the handler takes the model alone, whatever the signal
   * carries. */
  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    g_signal_connect_object (self->monitor, changes[i], G_CALLBACK (reload_soon), self,
                             G_CONNECT_SWAPPED);
  return TRUE;
}

/* GListModel */

static GType
cairn_collection_model_get_item_type (GListModel *model)
{
  return CAIRN_TYPE_COLLECTION_NODE;
}

static guint
cairn_collection_model_get_n_items (GListModel *model)
{
  return CAIRN_COLLECTION_MODEL (model)->nodes->len;
}

static gpointer
cairn_collection_model_get_item (GListModel *model,
                                 guint       position)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (model);

  if (position >= self->nodes->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->nodes, position));
}

static void
cairn_collection_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = cairn_collection_model_get_item_type;
  iface->get_n_items = cairn_collection_model_get_n_items;
  iface->get_item = cairn_collection_model_get_item;
}

/* GInitable and GAsyncInitable: the first read */

static void
take_first_read (CairnCollectionModel *self,
                 Read                 *read)
{
  take_read (self, read, FALSE);
  self->ready = TRUE;
  /* Changes seen while reading. */
  if (self->reload_wanted)
    reload_soon (self);
}

static gboolean
cairn_collection_model_initable_init_sync (GInitable     *initable,
                                           GCancellable  *cancellable,
                                           GError       **error)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (initable);
  Read *read;
  gboolean done;

  g_return_val_if_fail (CAIRN_IS_STORE (self->store), FALSE);

  /* Following first: nothing committed after the read is missed. */
  if (!follow_store (self, error))
    return FALSE;
  read = read_new (self);
  done = run_read (read, error);
  if (done)
    take_first_read (self, read);
  read_free (read);
  return done;
}

static void
cairn_collection_model_initable_init (GInitableIface *iface)
{
  iface->init = cairn_collection_model_initable_init_sync;
}

static void
first_read_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  take_first_read (g_task_get_source_object (task), g_task_get_task_data (G_TASK (result)));
  g_task_return_boolean (task, TRUE);
}

static void
cairn_collection_model_init_async (GAsyncInitable      *initable,
                                   int                  io_priority,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (initable);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) read = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, cairn_collection_model_init_async);
  if (!follow_store (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  read = g_task_new (self, cancellable, first_read_done, g_steal_pointer (&task));
  g_task_set_source_tag (read, take_first_read);
  g_task_set_task_data (read, read_new (self), (GDestroyNotify) read_free);
  g_task_run_in_thread (read, read_thread);
}

static gboolean
cairn_collection_model_init_finish (GAsyncInitable  *initable,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cairn_collection_model_async_initable_init (GAsyncInitableIface *iface)
{
  iface->init_async = cairn_collection_model_init_async;
  iface->init_finish = cairn_collection_model_init_finish;
}

/* GObject */

static void
cairn_collection_model_dispose (GObject *object)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);

  if (self->root != NULL)
    g_hash_table_remove (self->root->levels, &self->parent_id);
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->schedule_source, g_source_remove);
  g_clear_object (&self->monitor);
  g_clear_object (&self->root);

  G_OBJECT_CLASS (cairn_collection_model_parent_class)->dispose (object);
}

static void
cairn_collection_model_finalize (GObject *object)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);

  g_clear_object (&self->store);
  g_free (self->resource);
  g_ptr_array_unref (self->nodes);
  g_hash_table_unref (self->by_id);
  g_ptr_array_unref (self->order);
  g_hash_table_unref (self->levels);
  g_object_unref (self->cancellable);

  G_OBJECT_CLASS (cairn_collection_model_parent_class)->finalize (object);
}

static void
cairn_collection_model_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_RESOURCE:
      g_value_set_string (value, self->resource);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_collection_model_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_RESOURCE:
      self->resource = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_collection_model_class_init (CairnCollectionModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cairn_collection_model_dispose;
  object_class->finalize = cairn_collection_model_finalize;
  object_class->get_property = cairn_collection_model_get_property;
  object_class->set_property = cairn_collection_model_set_property;

  /**
   * CairnCollectionModel:store:
   *
   * The store the collections are read from.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE, flags);

  /**
   * CairnCollectionModel:resource:
   *
   * The resource whose collections the model lists, or %NULL for every
   * resource.
   *
   * Since: 0.1
   */
  properties[PROP_RESOURCE] =
    g_param_spec_string ("resource", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_collection_model_init (CairnCollectionModel *self)
{
  self->nodes = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->order = g_ptr_array_new_with_free_func (g_object_unref);
  self->levels = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
}

/* Public API */

/**
 * cairn_collection_model_new_sync:
 * @store: a #CairnStore
 * @resource: (nullable): a resource instance id, or %NULL for every resource
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the model of the top-level collections of @resource, reading
 * them and their counts in the calling thread.
 *
 * Returns: (transfer full): the model, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnCollectionModel *
cairn_collection_model_new_sync (CairnStore    *store,
                                 const char    *resource,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (CAIRN_TYPE_COLLECTION_MODEL, cancellable, error, "store", store,
                         "resource", resource, NULL);
}

/**
 * cairn_collection_model_new_async:
 * @store: a #CairnStore
 * @resource: (nullable): a resource instance id, or %NULL for every resource
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the model
 * @user_data: data for @callback
 *
 * Opens the model like cairn_collection_model_new_sync(), reading in a
 * worker thread.
 *
 * Since: 0.1
 */
void
cairn_collection_model_new_async (CairnStore          *store,
                                  const char          *resource,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_STORE (store));

  g_async_initable_new_async (CAIRN_TYPE_COLLECTION_MODEL, G_PRIORITY_DEFAULT, cancellable,
                              callback, user_data, "store", store, "resource", resource, NULL);
}

/**
 * cairn_collection_model_new_finish:
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_collection_model_new_async().
 *
 * Returns: (transfer full): the model, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnCollectionModel *
cairn_collection_model_new_finish (GAsyncResult  *result,
                                   GError       **error)
{
  g_autoptr(GObject) source = g_async_result_get_source_object (result);

  g_return_val_if_fail (G_IS_ASYNC_INITABLE (source), NULL);

  return CAIRN_COLLECTION_MODEL (g_async_initable_new_finish (G_ASYNC_INITABLE (source), result,
                                                              error));
}

/**
 * cairn_collection_model_get_store:
 * @self: a #CairnCollectionModel
 *
 * Gets #CairnCollectionModel:store.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_collection_model_get_store (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);

  return self->store;
}

/**
 * cairn_collection_model_get_resource:
 * @self: a #CairnCollectionModel
 *
 * Gets #CairnCollectionModel:resource.
 *
 * Returns: (nullable): the resource, or %NULL for every resource
 *
 * Since: 0.1
 */
const char *
cairn_collection_model_get_resource (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);

  return self->resource;
}

/**
 * cairn_collection_model_get_parent_id:
 * @self: a #CairnCollectionModel
 *
 * Gets the collection whose sub-collections the model lists.
 *
 * Returns: the parent's id, 0 for the top level
 *
 * Since: 0.1
 */
guint64
cairn_collection_model_get_parent_id (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), 0);

  return self->parent_id;
}

/**
 * cairn_collection_model_get_children:
 * @self: a #CairnCollectionModel
 * @node: a node of @self or of any model below it
 *
 * Gets the live model of the sub-collections of @node, as a
 * `GtkTreeListModel` asks for it; while it is held, it follows the
 * store like @self. A collection without sub-collections has none, so
 * that a tree shows no expander for it.
 *
 * Returns: (transfer full) (nullable): the model of @node's
 *   sub-collections, or %NULL if it has none
 *
 * Since: 0.1
 */
GListModel *
cairn_collection_model_get_children (CairnCollectionModel *self,
                                     CairnCollectionNode  *node)
{
  CairnCollectionModel *root, *level;
  guint64 id;

  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (node), NULL);

  root = self->root != NULL ? self->root : self;
  id = cairn_collection_node_get_id (node);
  level = g_hash_table_lookup (root->levels, &id);
  if (level != NULL)
    return G_LIST_MODEL (g_object_ref (level));

  level = g_object_new (CAIRN_TYPE_COLLECTION_MODEL, "store", root->store, "resource",
                        root->resource, NULL);
  level->root = g_object_ref (root);
  level->parent_id = id;
  refresh_level (level, root, FALSE);
  if (level->nodes->len == 0)
    {
      /* Not registered yet: dispose has nothing to remove. */
      g_clear_object (&level->root);
      g_object_unref (level);
      return NULL;
    }
  g_hash_table_insert (root->levels, g_memdup2 (&id, sizeof id), level);
  return G_LIST_MODEL (level);
}
