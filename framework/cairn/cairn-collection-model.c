/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change.h"
#include "cairn-collection-model.h"
#include "cairn-collection-private.h"
#include "cairn-monitor-private.h"
#include "cairn-store-private.h"

/**
 * CairnCollectionModel:
 *
 * A live #GListModel of collections: the top of the collection tree of
 * every resource or of one, or the children of one collection, sorted
 * by name (as cairn_store_list_collections() sorts siblings). With a
 * resource, a collection whose parent belongs to another resource is at
 * the top.
 *
 * cairn_collection_model_get_child_model() gives the model of a
 * collection's children, as #GtkTreeListModel asks for it:
 *
 * ```c
 * static GListModel *
 * create_child_model (gpointer item,
 *                     gpointer user_data)
 * {
 *   return G_LIST_MODEL (cairn_collection_model_get_child_model (user_data, item));
 * }
 *
 * tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (root)), FALSE, FALSE,
 *                                 create_child_model, root, NULL);
 * ```
 *
 * Each model counts items: #CairnCollectionModel:item-count and
 * #CairnCollectionModel:unread-count (items without `\Seen`) are those of
 * its parent collection, and for the top model those of every collection
 * of the tree but virtual ones (whose items are counted where they are).
 * They notify when they change.
 *
 * The models of one tree share one reading of the store: opening reads
 * the collections and their counts in a worker thread (#CairnCollectionModel:loading
 * is %TRUE until then); after each commit, seen through a #CairnMonitor,
 * the change log after #CairnCollectionModel:revision is read in a
 * worker thread with the collections it names and the counts of the
 * collections whose items changed, and each collection change is applied
 * at its exact position: a created collection is inserted, a removed one
 * removed, a renamed one replaced or moved to its new place among its
 * siblings, a moved one removed from its old parent's model and inserted
 * into its new parent's. Reads run one at a time; commits during a read
 * are read next.
 *
 * Since: 0.1
 */

#define UPDATE_LIMIT 1000

typedef struct
{
  guint64 total;
  guint64 unread;
} Counts;

/* What the models of one tree share. */
typedef struct
{
  gatomicrefcount ref_count;
  CairnStore *store;
  char *resource;
  CairnMonitor *monitor;
  GHashTable *collections;    /* id -> CairnCollection */
  GHashTable *counts;         /* id -> Counts */
  GHashTable *models;         /* parent id -> CairnCollectionModel, not referenced */
  guint64 revision;
  gboolean loading;
  gboolean busy;
  gboolean reopen;
  gboolean dirty;
} Tree;

struct _CairnCollectionModel
{
  GObject parent_instance;

  Tree *tree;
  CairnStore *store;          /* construction only */
  char *resource;             /* construction only */
  guint64 parent_id;
  GPtrArray *children;        /* CairnCollection, sorted */
  Counts counts;
};

static void cairn_collection_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnCollectionModel, cairn_collection_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      cairn_collection_model_list_model_init))

enum {
  PROP_0,
  PROP_STORE,
  PROP_RESOURCE,
  PROP_PARENT_ID,
  PROP_ITEM_COUNT,
  PROP_UNREAD_COUNT,
  PROP_LOADING,
  PROP_REVISION,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  READ_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void run_next (Tree *tree);

/* The tree */

static Tree *
tree_ref (Tree *tree)
{
  g_atomic_ref_count_inc (&tree->ref_count);
  return tree;
}

static void
tree_unref (Tree *tree)
{
  if (!g_atomic_ref_count_dec (&tree->ref_count))
    return;

  if (tree->monitor != NULL)
    _cairn_monitor_set_read_func (tree->monitor, NULL, NULL);
  g_clear_object (&tree->monitor);
  g_object_unref (tree->store);
  g_free (tree->resource);
  g_hash_table_unref (tree->collections);
  g_hash_table_unref (tree->counts);
  g_hash_table_unref (tree->models);
  g_free (tree);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tree, tree_unref)

/* The parent whose model lists @collection: 0 for one whose parent is
 * not in the tree. */
static guint64
parent_in_tree (Tree            *tree,
                CairnCollection *collection)
{
  if (collection->parent_id != 0 &&
      g_hash_table_contains (tree->collections, &collection->parent_id))
    return collection->parent_id;
  return 0;
}

static int
compare_collections (gconstpointer a,
                     gconstpointer b)
{
  return _cairn_collection_compare_names (*(CairnCollection **) a, *(CairnCollection **) b);
}

/* Where @collection goes among @children. */
static guint
find_slot (GPtrArray       *children,
           CairnCollection *collection)
{
  guint low = 0;
  guint high = children->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;

      if (_cairn_collection_compare_names (g_ptr_array_index (children, middle), collection) < 0)
        low = middle + 1;
      else
        high = middle;
    }

  return low;
}

static gboolean
find_child (GPtrArray *children,
            guint64    id,
            guint     *position)
{
  for (guint i = 0; i < children->len; i++)
    if (((CairnCollection *) g_ptr_array_index (children, i))->id == id)
      {
        *position = i;
        return TRUE;
      }

  return FALSE;
}

static GPtrArray *
list_children (Tree    *tree,
               guint64  parent_id)
{
  GPtrArray *children = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, tree->collections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (parent_in_tree (tree, value) == parent_id)
      g_ptr_array_add (children, g_object_ref (value));
  g_ptr_array_sort (children, compare_collections);

  return children;
}

/* The live models of the tree, referenced, so that a signal handler may
 * drop any of them. */
static GPtrArray *
list_models (Tree *tree)
{
  GPtrArray *models = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, tree->models);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (models, g_object_ref (value));

  return models;
}

static CairnCollectionModel *
model_of (Tree    *tree,
          guint64  parent_id)
{
  CairnCollectionModel *model = g_hash_table_lookup (tree->models, &parent_id);

  return model != NULL ? g_object_ref (model) : NULL;
}

static void
update_counts (CairnCollectionModel *self)
{
  Tree *tree = self->tree;
  Counts counts = { 0, 0 };

  if (self->parent_id != 0)
    {
      Counts *own = g_hash_table_lookup (tree->counts, &self->parent_id);

      if (own != NULL)
        counts = *own;
    }
  else
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, tree->counts);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          CairnCollection *collection = g_hash_table_lookup (tree->collections, key);

          if (collection == NULL || collection->is_virtual)
            continue;
          counts.total += ((Counts *) value)->total;
          counts.unread += ((Counts *) value)->unread;
        }
    }

  g_object_freeze_notify (G_OBJECT (self));
  if (self->counts.total != counts.total)
    {
      self->counts.total = counts.total;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ITEM_COUNT]);
    }
  if (self->counts.unread != counts.unread)
    {
      self->counts.unread = counts.unread;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNREAD_COUNT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/* Jobs */

typedef enum
{
  JOB_OPEN,
  JOB_UPDATE,
} JobKind;

typedef struct
{
  JobKind kind;
  Tree *tree;
  CairnStore *store;
  char *resource;
  guint64 from;
  char *virtual_ids;          /* update: JSON array of the tree's virtual collections */

  guint64 revision;
  GArray *ids;                /* update: the collections named by the changes */
  GPtrArray *collections;
  GArray *counts;             /* CountsRow */
  gboolean more;
} Job;

typedef struct
{
  guint64 id;
  Counts counts;
} CountsRow;

static void
job_free (Job *job)
{
  tree_unref (job->tree);
  g_object_unref (job->store);
  g_free (job->resource);
  g_free (job->virtual_ids);
  g_clear_pointer (&job->ids, g_array_unref);
  g_clear_pointer (&job->collections, g_ptr_array_unref);
  g_clear_pointer (&job->counts, g_array_unref);
  g_free (job);
}

static void
add_counts (guint64  collection_id,
            guint64  total,
            guint64  unread,
            gpointer user_data)
{
  Job *job = user_data;
  CountsRow row = { collection_id, { total, unread } };

  g_array_append_val (job->counts, row);
}

static gboolean
open_job (Job     *job,
          GError **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_begin_read (job->store, error);

  if (reader == NULL ||
      !_cairn_store_read_revision (reader->database, &job->revision, NULL, error))
    return FALSE;
  job->collections = _cairn_store_read_collections (reader, job->resource, NULL, error);
  if (job->collections == NULL)
    return FALSE;
  job->counts = g_array_new (FALSE, FALSE, sizeof (CountsRow));

  return _cairn_store_count_items (reader, NULL, add_counts, job, error);
}

static void
add_id (GArray     *ids,
        GHashTable *seen,
        guint64     id)
{
  if (id == 0 || g_hash_table_contains (seen, &id))
    return;
  g_array_append_val (ids, id);
  g_hash_table_add (seen, g_memdup2 (&id, sizeof id));
}

static gboolean
update_job (Job     *job,
            GError **error)
{
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) seen_counted = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                              g_free, NULL);
  g_autoptr(GArray) counted = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(CairnReader) reader = NULL;
  g_autofree char *ids_json = NULL;
  g_autofree char *counted_json = NULL;
  gboolean items_changed = FALSE;

  changes = _cairn_store_get_change_range (job->store, job->from, 0, UPDATE_LIMIT, NULL,
                                           &job->revision, error);
  if (changes == NULL)
    return FALSE;
  job->more = changes->len >= UPDATE_LIMIT;

  job->ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);

      switch (cairn_change_get_entity_kind (change))
        {
        case CAIRN_ENTITY_COLLECTION:
          add_id (job->ids, seen, cairn_change_get_entity_id (change));
          add_id (counted, seen_counted, cairn_change_get_entity_id (change));
          break;
        case CAIRN_ENTITY_ITEM:
          /* Where the item was and where it went. */
          add_id (counted, seen_counted, cairn_change_get_collection_id (change));
          if (cairn_change_get_operation (change) == CAIRN_CHANGE_MOVE)
            add_id (counted, seen_counted, cairn_change_get_destination_id (change));
          items_changed = TRUE;
          break;
        default:
          break;
        }
    }

  reader = _cairn_store_begin_read (job->store, error);
  if (reader == NULL)
    return FALSE;
  ids_json = _cairn_ids_to_json ((const guint64 *) job->ids->data, job->ids->len);
  job->collections = _cairn_store_read_collections (reader, job->resource, ids_json, error);
  if (job->collections == NULL)
    return FALSE;
  job->counts = g_array_new (FALSE, FALSE, sizeof (CountsRow));
  /* Items linked into a virtual collection change without its id in
   * their changes; there are few such collections. */
  if (items_changed && job->virtual_ids != NULL &&
      !_cairn_store_count_items (reader, job->virtual_ids, add_counts, job, error))
    return FALSE;
  if (counted->len == 0)
    return TRUE;
  counted_json = _cairn_ids_to_json ((const guint64 *) counted->data, counted->len);

  return _cairn_store_count_items (reader, counted_json, add_counts, job, error);
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  if (job->kind == JOB_OPEN ? open_job (job, &error) : update_job (job, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
set_counts (Tree   *tree,
            GArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    {
      CountsRow *row = &g_array_index (rows, CountsRow, i);

      if (!g_hash_table_contains (tree->collections, &row->id))
        continue;
      g_hash_table_insert (tree->counts, g_memdup2 (&row->id, sizeof row->id),
                           g_memdup2 (&row->counts, sizeof row->counts));
    }
}

static void
notify_all (Tree    *tree,
            gboolean was_loading)
{
  g_autoptr(GPtrArray) models = list_models (tree);

  for (guint i = 0; i < models->len; i++)
    {
      CairnCollectionModel *model = g_ptr_array_index (models, i);

      update_counts (model);
      g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_REVISION]);
      if (was_loading)
        g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_LOADING]);
    }
}

static void
apply_open (Tree *tree,
            Job  *job)
{
  g_autoptr(GPtrArray) models = NULL;
  gboolean was_loading = tree->loading;

  g_hash_table_remove_all (tree->collections);
  g_hash_table_remove_all (tree->counts);
  for (guint i = 0; i < job->collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (job->collections, i);

      g_hash_table_insert (tree->collections, &collection->id, g_object_ref (collection));
    }
  set_counts (tree, job->counts);
  tree->revision = job->revision;
  tree->reopen = FALSE;
  tree->loading = FALSE;
  tree->dirty = TRUE;

  models = list_models (tree);
  for (guint i = 0; i < models->len; i++)
    {
      CairnCollectionModel *model = g_ptr_array_index (models, i);
      guint removed = model->children->len;

      g_ptr_array_unref (model->children);
      model->children = list_children (tree, model->parent_id);
      if (removed > 0 || model->children->len > 0)
        g_list_model_items_changed (G_LIST_MODEL (model), 0, removed, model->children->len);
      if (removed != model->children->len)
        g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_N_ITEMS]);
    }
  notify_all (tree, was_loading);
}

static void
remove_child (Tree            *tree,
              guint64          parent_id,
              guint64          id)
{
  g_autoptr(CairnCollectionModel) model = model_of (tree, parent_id);
  guint position;

  if (model == NULL || !find_child (model->children, id, &position))
    return;
  g_ptr_array_remove_index (model->children, position);
  g_list_model_items_changed (G_LIST_MODEL (model), position, 1, 0);
  g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_N_ITEMS]);
}

static void
insert_child (Tree            *tree,
              CairnCollection *collection)
{
  g_autoptr(CairnCollectionModel) model = model_of (tree, parent_in_tree (tree, collection));
  guint position;

  if (model == NULL)
    return;
  position = find_slot (model->children, collection);
  g_ptr_array_insert (model->children, position, g_object_ref (collection));
  g_list_model_items_changed (G_LIST_MODEL (model), position, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_N_ITEMS]);
}

/* A collection replaced in its parent's model: in place if it keeps its
 * position among its siblings. */
static void
replace_child (Tree            *tree,
               CairnCollection *collection)
{
  g_autoptr(CairnCollectionModel) model = model_of (tree, parent_in_tree (tree, collection));
  guint position;
  guint slot;

  if (model == NULL || !find_child (model->children, collection->id, &position))
    return;
  g_ptr_array_remove_index (model->children, position);
  slot = find_slot (model->children, collection);
  if (slot != position)
    {
      /* Told as a removal and an insertion, each at its exact position. */
      g_list_model_items_changed (G_LIST_MODEL (model), position, 1, 0);
      g_ptr_array_insert (model->children, slot, g_object_ref (collection));
      g_list_model_items_changed (G_LIST_MODEL (model), slot, 0, 1);
      return;
    }
  g_ptr_array_insert (model->children, slot, g_object_ref (collection));
  g_list_model_items_changed (G_LIST_MODEL (model), position, 1, 1);
}

/* How deep @collection is in the tree, the top being 0. */
static guint
depth_of (Tree            *tree,
          CairnCollection *collection)
{
  guint depth = 0;
  guint64 parent;

  while ((parent = parent_in_tree (tree, collection)) != 0 &&
         depth < g_hash_table_size (tree->collections))
    {
      collection = g_hash_table_lookup (tree->collections, &parent);
      depth++;
    }
  return depth;
}

/* One collection a batch names, as it was and as it is. */
typedef struct
{
  CairnCollection *old;
  CairnCollection *now;
  guint64 old_parent;
  guint depth;
} Step;

static int
compare_depths (gconstpointer a,
                gconstpointer b)
{
  const Step *x = a;
  const Step *y = b;

  return x->depth < y->depth ? -1 : (x->depth > y->depth ? 1 : 0);
}

/* Where a collection belongs depends on its parent being in the tree,
 * which the same batch may change: removals go first, deepest first,
 * from the parents they had; then the tree takes every new row, and
 * the rest are placed parents first. */
static void
apply_update (Tree *tree,
              Job  *job)
{
  g_autoptr(GHashTable) rows = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (Step));
  g_autoptr(GArray) kept = g_array_new (FALSE, FALSE, sizeof (Step));

  for (guint i = 0; i < job->collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (job->collections, i);

      g_hash_table_insert (rows, &collection->id, collection);
    }

  for (guint i = 0; i < job->ids->len; i++)
    {
      guint64 id = g_array_index (job->ids, guint64, i);
      Step step = { g_hash_table_lookup (tree->collections, &id), g_hash_table_lookup (rows, &id),
                    0, 0 };

      if (step.old != NULL)
        {
          g_object_ref (step.old);
          step.old_parent = parent_in_tree (tree, step.old);
          step.depth = depth_of (tree, step.old);
        }
      if (step.now != NULL)
        g_array_append_val (kept, step);
      else if (step.old != NULL)
        g_array_append_val (gone, step);
    }

  g_array_sort (gone, compare_depths);
  for (guint i = gone->len; i > 0; i--)
    {
      Step *step = &g_array_index (gone, Step, i - 1);
      guint64 id = step->old->id;

      remove_child (tree, step->old_parent, id);
      g_hash_table_remove (tree->counts, &id);
      g_hash_table_remove (tree->collections, &id);
      g_object_unref (step->old);
    }

  /* The depths in the tree as it will be; then the tree as it was
   * again, so that a child model made by a signal handler meanwhile
   * holds what was announced. */
  for (guint i = 0; i < kept->len; i++)
    {
      Step *step = &g_array_index (kept, Step, i);

      g_hash_table_replace (tree->collections, &step->now->id, g_object_ref (step->now));
    }
  for (guint i = 0; i < kept->len; i++)
    {
      Step *step = &g_array_index (kept, Step, i);

      step->depth = depth_of (tree, step->now);
    }
  for (guint i = 0; i < kept->len; i++)
    {
      Step *step = &g_array_index (kept, Step, i);

      if (step->old != NULL)
        g_hash_table_replace (tree->collections, &step->old->id, step->old);
      else
        g_hash_table_remove (tree->collections, &step->now->id);
    }
  g_array_sort (kept, compare_depths);
  for (guint i = 0; i < kept->len; i++)
    {
      Step *step = &g_array_index (kept, Step, i);
      CairnCollection *now = step->now;

      if (step->old == NULL)
        {
          g_hash_table_replace (tree->collections, &now->id, g_object_ref (now));
          insert_child (tree, now);
          continue;
        }
      if (now->parent_id == step->old->parent_id)
        {
          g_hash_table_replace (tree->collections, &now->id, g_object_ref (now));
          replace_child (tree, now);
          continue;
        }
      remove_child (tree, step->old_parent, now->id);
      g_hash_table_replace (tree->collections, &now->id, g_object_ref (now));
      insert_child (tree, now);
    }

  set_counts (tree, job->counts);
  tree->revision = job->revision;
  if (job->more)
    tree->dirty = TRUE;
  notify_all (tree, FALSE);
}

static void
emit_read_failed (Tree   *tree,
                  GError *error)
{
  g_autoptr(GPtrArray) models = list_models (tree);

  for (guint i = 0; i < models->len; i++)
    g_signal_emit (g_ptr_array_index (models, i), signals[READ_FAILED], 0, error);
}

static void
job_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(Tree) tree = tree_ref (job->tree);
  g_autoptr(GError) error = NULL;

  tree->busy = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXPIRED))
        {
          tree->reopen = TRUE;
          run_next (tree);
          return;
        }
      if (job->kind == JOB_UPDATE)
        tree->dirty = TRUE;
      emit_read_failed (tree, error);
      return;
    }

  /* Busy while applying, so that a handler starts no read in between. */
  tree->busy = TRUE;
  if (job->kind == JOB_OPEN)
    apply_open (tree, job);
  else
    apply_update (tree, job);
  tree->busy = FALSE;
  run_next (tree);
}

static char *
virtual_ids (Tree *tree)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, tree->collections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((CairnCollection *) value)->is_virtual)
      g_array_append_val (ids, ((CairnCollection *) value)->id);

  return ids->len > 0 ? _cairn_ids_to_json ((const guint64 *) ids->data, ids->len) : NULL;
}

static void
run_next (Tree *tree)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (tree->busy || (!tree->reopen && (tree->loading || !tree->dirty)))
    return;

  job = g_new0 (Job, 1);
  job->kind = tree->reopen ? JOB_OPEN : JOB_UPDATE;
  job->tree = tree_ref (tree);
  job->store = g_object_ref (tree->store);
  job->resource = g_strdup (tree->resource);
  job->from = tree->revision;
  if (job->kind == JOB_UPDATE)
    job->virtual_ids = virtual_ids (tree);
  tree->dirty = FALSE;
  tree->busy = TRUE;

  task = g_task_new (NULL, NULL, job_done, NULL);
  g_task_set_source_tag (task, run_next);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
}

static void
on_monitor_read (CairnMonitor *monitor,
                 gpointer      user_data)
{
  Tree *tree = user_data;

  tree->dirty = TRUE;
  run_next (tree);
}

static Tree *
tree_new (CairnStore *store,
          const char *resource)
{
  Tree *tree = g_new0 (Tree, 1);
  g_autoptr(GError) error = NULL;

  g_atomic_ref_count_init (&tree->ref_count);
  tree->store = g_object_ref (store);
  tree->resource = g_strdup (resource);
  tree->collections = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_object_unref);
  tree->counts = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  tree->models = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  tree->loading = TRUE;
  tree->reopen = TRUE;

  /* The monitor only wakes the tree, which reads the log itself: its
   * scope, the item 0, keeps its own reads empty. */
  tree->monitor = cairn_monitor_new (store, &error);
  if (tree->monitor != NULL)
    {
      cairn_monitor_add_entity_kind (tree->monitor, CAIRN_ENTITY_ITEM);
      cairn_monitor_add_item (tree->monitor, 0);
      _cairn_monitor_set_read_func (tree->monitor, on_monitor_read, tree);
    }
  else
    {
      g_warning ("Collection model cannot follow %s: %s", cairn_store_get_path (store),
                 error->message);
    }

  return tree;
}

/* GListModel */

static GType
cairn_collection_model_get_item_type (GListModel *list)
{
  return CAIRN_TYPE_COLLECTION;
}

static guint
cairn_collection_model_get_n_items (GListModel *list)
{
  return CAIRN_COLLECTION_MODEL (list)->children->len;
}

static gpointer
cairn_collection_model_get_item (GListModel *list,
                                 guint       position)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (list);

  if (position >= self->children->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->children, position));
}

static void
cairn_collection_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = cairn_collection_model_get_item_type;
  iface->get_n_items = cairn_collection_model_get_n_items;
  iface->get_item = cairn_collection_model_get_item;
}

/* GObject */

/* Joins @tree as the model of @parent_id's children. */
static void
join_tree (CairnCollectionModel *self,
           Tree                 *tree,
           guint64               parent_id)
{
  self->tree = tree_ref (tree);
  self->parent_id = parent_id;
  g_hash_table_insert (tree->models, g_memdup2 (&parent_id, sizeof parent_id), self);
  if (!tree->loading)
    {
      g_ptr_array_unref (self->children);
      self->children = list_children (tree, parent_id);
      update_counts (self);
    }
}

static void
cairn_collection_model_constructed (GObject *object)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);
  g_autoptr(Tree) tree = NULL;

  G_OBJECT_CLASS (cairn_collection_model_parent_class)->constructed (object);

  /* A child model joins its tree in get_child_model(). */
  if (self->store == NULL)
    return;
  tree = tree_new (self->store, self->resource);
  join_tree (self, tree, 0);
  run_next (tree);
}

static void
cairn_collection_model_finalize (GObject *object)
{
  CairnCollectionModel *self = CAIRN_COLLECTION_MODEL (object);

  if (self->tree != NULL)
    {
      g_hash_table_remove (self->tree->models, &self->parent_id);
      tree_unref (self->tree);
    }
  g_clear_object (&self->store);
  g_free (self->resource);
  g_ptr_array_unref (self->children);

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
      g_value_set_object (value, cairn_collection_model_get_store (self));
      break;
    case PROP_RESOURCE:
      g_value_set_string (value, cairn_collection_model_get_resource (self));
      break;
    case PROP_PARENT_ID:
      g_value_set_uint64 (value, self->parent_id);
      break;
    case PROP_ITEM_COUNT:
      g_value_set_uint64 (value, self->counts.total);
      break;
    case PROP_UNREAD_COUNT:
      g_value_set_uint64 (value, self->counts.unread);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, cairn_collection_model_get_loading (self));
      break;
    case PROP_REVISION:
      g_value_set_uint64 (value, cairn_collection_model_get_revision (self));
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->children->len);
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
  GParamFlags read_only = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = cairn_collection_model_constructed;
  object_class->finalize = cairn_collection_model_finalize;
  object_class->get_property = cairn_collection_model_get_property;
  object_class->set_property = cairn_collection_model_set_property;

  /**
   * CairnCollectionModel:store:
   *
   * The store the model lists collections of.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnCollectionModel:resource:
   *
   * The resource whose collections the tree holds, or %NULL for every
   * resource.
   *
   * Since: 0.1
   */
  properties[PROP_RESOURCE] =
    g_param_spec_string ("resource", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnCollectionModel:parent-id:
   *
   * The collection whose children the model lists, or 0 for the top of
   * the tree.
   *
   * Since: 0.1
   */
  properties[PROP_PARENT_ID] =
    g_param_spec_uint64 ("parent-id", NULL, NULL, 0, G_MAXUINT64, 0, read_only);

  /**
   * CairnCollectionModel:item-count:
   *
   * The number of items of the parent collection (linked into it, for a
   * virtual one); for the top model, of every collection of the tree but
   * the virtual ones.
   *
   * Since: 0.1
   */
  properties[PROP_ITEM_COUNT] =
    g_param_spec_uint64 ("item-count", NULL, NULL, 0, G_MAXUINT64, 0, read_only);

  /**
   * CairnCollectionModel:unread-count:
   *
   * The number of those items without `\Seen`.
   *
   * Since: 0.1
   */
  properties[PROP_UNREAD_COUNT] =
    g_param_spec_uint64 ("unread-count", NULL, NULL, 0, G_MAXUINT64, 0, read_only);

  /**
   * CairnCollectionModel:loading:
   *
   * Whether the tree is still reading the store for the first time.
   *
   * Since: 0.1
   */
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, TRUE, read_only);

  /**
   * CairnCollectionModel:revision:
   *
   * The store revision whose state the tree shows: every change up to it
   * is applied.
   *
   * Since: 0.1
   */
  properties[PROP_REVISION] =
    g_param_spec_uint64 ("revision", NULL, NULL, 0, G_MAXUINT64, 0, read_only);

  /**
   * CairnCollectionModel:n-items:
   *
   * The number of collections in the model.
   *
   * Since: 0.1
   */
  properties[PROP_N_ITEMS] = g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0, read_only);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnCollectionModel::read-failed:
   * @self: the model
   * @error: what failed
   *
   * A read of the store failed. The models keep their content and read
   * again after the next commit.
   *
   * Since: 0.1
   */
  signals[READ_FAILED] =
    g_signal_new ("read-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cairn_collection_model_init (CairnCollectionModel *self)
{
  self->children = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * cairn_collection_model_new:
 * @store: a #CairnStore
 * @resource: (nullable): a resource, or %NULL for every resource
 *
 * Creates the model of the top of the collection tree and starts
 * reading it in a worker thread. Call it in the thread whose main
 * context is to run the model.
 *
 * Returns: (transfer full): a new #CairnCollectionModel
 *
 * Since: 0.1
 */
CairnCollectionModel *
cairn_collection_model_new (CairnStore *store,
                            const char *resource)
{
  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);

  return g_object_new (CAIRN_TYPE_COLLECTION_MODEL, "store", store, "resource", resource, NULL);
}

/**
 * cairn_collection_model_get_child_model:
 * @self: a #CairnCollectionModel
 * @collection: a collection of the tree
 *
 * Gets the model of @collection's children, which may be empty, from the
 * tree in memory: the same object as long as it is referenced. It counts
 * @collection's items.
 *
 * Returns: (transfer full): the model of @collection's children
 *
 * Since: 0.1
 */
CairnCollectionModel *
cairn_collection_model_get_child_model (CairnCollectionModel *self,
                                        CairnCollection      *collection)
{
  CairnCollectionModel *child;

  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);
  g_return_val_if_fail (CAIRN_IS_COLLECTION (collection), NULL);

  child = model_of (self->tree, collection->id);
  if (child != NULL)
    return child;

  child = g_object_new (CAIRN_TYPE_COLLECTION_MODEL, NULL);
  join_tree (child, self->tree, collection->id);
  return child;
}

/**
 * cairn_collection_model_get_store:
 * @self: a #CairnCollectionModel
 *
 * Gets the store the model lists collections of.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_collection_model_get_store (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);

  return self->tree->store;
}

/**
 * cairn_collection_model_get_resource:
 * @self: a #CairnCollectionModel
 *
 * Gets the resource whose collections the tree holds.
 *
 * Returns: (nullable): the resource, or %NULL for every resource
 *
 * Since: 0.1
 */
const char *
cairn_collection_model_get_resource (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), NULL);

  return self->tree->resource;
}

/**
 * cairn_collection_model_get_parent_id:
 * @self: a #CairnCollectionModel
 *
 * Gets the collection whose children the model lists.
 *
 * Returns: the parent collection's id, or 0 for the top of the tree
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
 * cairn_collection_model_get_item_count:
 * @self: a #CairnCollectionModel
 *
 * Gets #CairnCollectionModel:item-count.
 *
 * Returns: the number of items of the parent collection, or of the tree
 *
 * Since: 0.1
 */
guint64
cairn_collection_model_get_item_count (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), 0);

  return self->counts.total;
}

/**
 * cairn_collection_model_get_unread_count:
 * @self: a #CairnCollectionModel
 *
 * Gets #CairnCollectionModel:unread-count.
 *
 * Returns: the number of those items without `\Seen`
 *
 * Since: 0.1
 */
guint64
cairn_collection_model_get_unread_count (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), 0);

  return self->counts.unread;
}

/**
 * cairn_collection_model_get_loading:
 * @self: a #CairnCollectionModel
 *
 * Gets whether the tree is still reading the store for the first time.
 *
 * Returns: %TRUE until the first read is done
 *
 * Since: 0.1
 */
gboolean
cairn_collection_model_get_loading (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), FALSE);

  return self->tree->loading;
}

/**
 * cairn_collection_model_get_revision:
 * @self: a #CairnCollectionModel
 *
 * Gets the store revision whose state the tree shows.
 *
 * Returns: the revision up to which every change is applied
 *
 * Since: 0.1
 */
guint64
cairn_collection_model_get_revision (CairnCollectionModel *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_MODEL (self), 0);

  return self->tree->revision;
}
