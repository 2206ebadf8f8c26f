/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-item-model.h"
#include "cairn-monitor.h"
#include "cairn-store-private.h"

/**
 * CairnItemModel:
 *
 * A [iface@Gio.ListModel] of [class@Cairn.Item]: the items of a
 * collection, of a virtual collection or of the whole store, narrowed by
 * a declarative query (#CairnItemModel:mime-type,
 * #CairnItemModel:with-flag, #CairnItemModel:without-flag) and sorted by
 * id, that is in the order they were stored, newest first with
 * #CairnItemModel:descending.
 *
 * The model reads only ids when it opens, so that a collection of
 * 100,000 items opens at once; the items themselves are loaded a page at
 * a time in a worker thread, around the positions asked for. Until its
 * page is loaded, [method@Gio.ListModel.get_item] gives a placeholder: an
 * item with only its id; once loaded, #GListModel::items-changed
 * replaces it in place. cairn_item_model_is_item_loaded() tells which.
 *
 * The model follows the store through a #CairnMonitor: after changes
 * from any process it reads its ids again in a worker thread and emits
 * #GListModel::items-changed for each run of positions that changed
 * (removed and inserted items), never a full reset; an item whose
 * content or flags changed is loaded again and replaced in place. The
 * main loop never waits for SQLite, except in cairn_item_model_new_sync().
 *
 * Not yet: sorting by date and a date-range or full-text query; links
 * added to or removed from a virtual collection are seen at the next
 * change of an item, since monitors do not deliver them.
 *
 * Since: 0.1
 */

#define PAGE_SIZE 64

/* Static statements (the statement cache goes by address), one per kind
 * of collection; unused filters are bound to NULL. */
#define ITEM_FILTER \
  " AND (?2 IS NULL OR i.mime_type = ?2)" \
  " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM item_flags f WHERE f.item_id = i.id AND f.flag = ?3))" \
  " AND (?4 IS NULL OR NOT EXISTS (SELECT 1 FROM item_flags f" \
  "                                WHERE f.item_id = i.id AND f.flag = ?4))" \
  " ORDER BY i.id DESC"

static const char sql_collection[] =
  "SELECT i.id FROM items i WHERE i.collection_id = ?1" ITEM_FILTER;
/* Without a filter the index alone answers, without reading the rows. */
static const char sql_collection_unfiltered[] =
  "SELECT id FROM items WHERE collection_id = ?1 ORDER BY id DESC";
static const char sql_virtual[] =
  "SELECT i.id FROM items i WHERE i.id IN (SELECT item_id FROM collection_links"
  "                                        WHERE collection_id = ?1)" ITEM_FILTER;
static const char sql_all[] =
  "SELECT i.id FROM items i WHERE ?1 = 0" ITEM_FILTER;

typedef struct
{
  guint64 collection_id;
  char *mime_type;
  char *with_flag;
  char *without_flag;
  gboolean descending;
} Query;

struct _CairnItemModel
{
  GObject parent_instance;

  CairnStore *store;
  CairnFetchScope *scope;
  Query query;
  int is_virtual;          /* -1 until the first read */

  CairnMonitor *monitor;
  GArray *ids;             /* guint64, in the model's order */
  GHashTable *items;       /* id → CairnItem: the loaded ones */
  GHashTable *loading;     /* ids of items being loaded */
  GHashTable *changed;     /* ids changed since the last read of the ids */
  GArray *wanted;          /* ids of pages asked for, not loaded yet */
  gboolean reload_wanted;
  gboolean ready;          /* the first read is in */
  gboolean running;
  guint schedule_source;
  GCancellable *cancellable;
};

enum {
  PROP_0,
  PROP_STORE,
  PROP_COLLECTION_ID,
  PROP_MIME_TYPE,
  PROP_WITH_FLAG,
  PROP_WITHOUT_FLAG,
  PROP_DESCENDING,
  PROP_FETCH_SCOPE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_item_model_list_model_init (GListModelInterface *iface);
static void cairn_item_model_initable_init (GInitableIface *iface);
static void cairn_item_model_async_initable_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnItemModel, cairn_item_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      cairn_item_model_list_model_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      cairn_item_model_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                      cairn_item_model_async_initable_init))

/* Reads, in a worker thread */

/* What one read does; the worker sees only this, never the model. */
typedef struct
{
  CairnStore *store;
  CairnFetchScope *scope;
  Query query;
  int is_virtual;
  gboolean reload;        /* read the ids */
  guint first_page;       /* with reload: load that many of the first items too */
  GArray *fetch;          /* ids of items to load */
  GArray *ids;            /* out */
  GPtrArray *items;       /* out */
} Job;

static void
job_free (Job *job)
{
  g_object_unref (job->store);
  g_clear_pointer (&job->scope, cairn_fetch_scope_unref);
  g_free (job->query.mime_type);
  g_free (job->query.with_flag);
  g_free (job->query.without_flag);
  g_array_unref (job->fetch);
  g_clear_pointer (&job->ids, g_array_unref);
  g_ptr_array_unref (job->items);
  g_free (job);
}

static Job *
job_new (CairnItemModel *self)
{
  Job *job = g_new0 (Job, 1);

  job->store = g_object_ref (self->store);
  job->scope = self->scope ? cairn_fetch_scope_ref (self->scope) : NULL;
  job->query = self->query;
  job->query.mime_type = g_strdup (self->query.mime_type);
  job->query.with_flag = g_strdup (self->query.with_flag);
  job->query.without_flag = g_strdup (self->query.without_flag);
  job->is_virtual = self->is_virtual;
  job->fetch = g_array_new (FALSE, FALSE, sizeof (guint64));
  job->items = g_ptr_array_new_with_free_func (g_object_unref);
  return job;
}

static gboolean
append_id (CairnStatement  *row,
           gpointer         user_data,
           GError         **error)
{
  guint64 id = sqlite3_column_int64 (row, 0);

  g_array_append_val (user_data, id);
  return TRUE;
}

static void
reverse_ids (GArray *ids)
{
  for (guint i = 0, j = ids->len; i + 1 < j; i++, j--)
    {
      guint64 first = g_array_index (ids, guint64, i);

      g_array_index (ids, guint64, i) = g_array_index (ids, guint64, j - 1);
      g_array_index (ids, guint64, j - 1) = first;
    }
}

static gboolean
read_ids (Job     *job,
          GError **error)
{
  const char *sql = sql_all;

  if (job->query.collection_id != 0 && job->is_virtual < 0)
    {
      g_autoptr(CairnCollection) collection =
        cairn_store_get_collection (job->store, job->query.collection_id, error);

      if (collection == NULL)
        return FALSE;
      job->is_virtual = cairn_collection_get_virtual (collection);
    }
  if (job->query.collection_id != 0)
    sql = job->is_virtual ? sql_virtual : sql_collection;
  if (sql == sql_collection && job->query.mime_type == NULL && job->query.with_flag == NULL &&
      job->query.without_flag == NULL)
    sql = sql_collection_unfiltered;

  job->ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  if (!_cairn_store_read_each (job->store, sql,
                               CAIRN_BINDS (_cairn_bind_int (job->query.collection_id),
                                            _cairn_bind_text (job->query.mime_type),
                                            _cairn_bind_text (job->query.with_flag),
                                            _cairn_bind_text (job->query.without_flag)),
                               append_id, job->ids, error))
    return FALSE;
  if (!job->query.descending)
    reverse_ids (job->ids);
  g_array_append_vals (job->fetch, job->ids->data, MIN (job->first_page, job->ids->len));
  return TRUE;
}

static gboolean
run_job (Job           *job,
         GCancellable  *cancellable,
         GError       **error)
{
  if (job->reload && !read_ids (job, error))
    return FALSE;
  for (guint i = 0; i < job->fetch->len; i++)
    {
      g_autoptr(GError) local_error = NULL;
      CairnItem *item;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      item = cairn_store_get_item (job->store, g_array_index (job->fetch, guint64, i),
                                   job->scope, &local_error);
      if (item != NULL)
        g_ptr_array_add (job->items, item);
      /* Removed since the ids were read: the next read drops it. */
      else if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static void
job_thread (GTask        *task,
            gpointer      source,
            gpointer      data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  if (run_job (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Applying a read, in the main context */

/* Whether @a comes before @b in the model. */
static inline gboolean
comes_before (CairnItemModel *self,
              guint64         a,
              guint64         b)
{
  return self->query.descending ? a > b : a < b;
}

/* The position of @id, or -1: the ids are sorted, so a binary search. */
static gint64
find_position (CairnItemModel *self,
               guint64         id)
{
  guint low = 0, high = self->ids->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      guint64 here = g_array_index (self->ids, guint64, middle);

      if (here == id)
        return middle;
      if (comes_before (self, here, id))
        low = middle + 1;
      else
        high = middle;
    }
  return -1;
}

static int
compare_positions (gconstpointer a,
                   gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return (x > y) - (x < y);
}

/* Keeps the loaded items still in the model, and replaces each run of
 * their positions in place. */
static void
take_items (CairnItemModel *self,
            GPtrArray      *items,
            gboolean        emit)
{
  g_autoptr(GArray) positions = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);
      guint64 id = cairn_item_get_id (item);
      gint64 position = find_position (self, id);
      guint at = (guint) position;

      if (position < 0)
        continue;
      g_hash_table_insert (self->items, g_memdup2 (&id, sizeof id), g_object_ref (item));
      g_array_append_val (positions, at);
    }
  if (!emit)
    return;
  g_array_sort (positions, compare_positions);
  for (guint i = 0; i < positions->len; )
    {
      guint start = g_array_index (positions, guint, i), length = 1;

      while (i + length < positions->len &&
             g_array_index (positions, guint, i + length) == start + length)
        length++;
      g_list_model_items_changed (G_LIST_MODEL (self), start, length, length);
      i += length;
    }
}

/* Turns the ids into @next, one run of removed and inserted positions
 * at a time, so that each emission holds as the model is then. */
static void
apply_ids (CairnItemModel *self,
           GArray         *next)
{
  g_autoptr(GArray) previous = g_array_copy (self->ids);
  guint i = 0, j = 0, position = 0;

  while (i < previous->len || j < next->len)
    {
      guint removed = 0, added = 0, first_added = j;

      if (i < previous->len && j < next->len &&
          g_array_index (previous, guint64, i) == g_array_index (next, guint64, j))
        {
          i++, j++, position++;
          continue;
        }
      /* Up to the next id in both: what only the old list has is gone,
       * what only the new one has came. */
      while ((i < previous->len || j < next->len) &&
             !(i < previous->len && j < next->len &&
               g_array_index (previous, guint64, i) == g_array_index (next, guint64, j)))
        {
          if (j == next->len ||
              (i < previous->len && comes_before (self, g_array_index (previous, guint64, i),
                                                  g_array_index (next, guint64, j))))
            {
              g_hash_table_remove (self->items, &g_array_index (previous, guint64, i));
              i++, removed++;
            }
          else
            j++, added++;
        }
      g_array_remove_range (self->ids, position, removed);
      g_array_insert_vals (self->ids, position, &g_array_index (next, guint64, first_added),
                           added);
      g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
      position += added;
    }
}

static void start_job (CairnItemModel *self);

static gboolean
schedule_due (gpointer data)
{
  CairnItemModel *self = data;

  self->schedule_source = 0;
  start_job (self);
  return G_SOURCE_REMOVE;
}

/* Starts the next read once the main loop has taken in what is pending,
 * so that a burst of changes costs one read. */
static void
schedule (CairnItemModel *self)
{
  if (!self->ready || self->running || self->schedule_source != 0)
    return;
  self->schedule_source = g_idle_add (schedule_due, self);
}

static void
job_done (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  self->running = FALSE;
  for (guint i = 0; i < job->fetch->len; i++)
    g_hash_table_remove (self->loading, &g_array_index (job->fetch, guint64, i));
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot read the items of collection %" G_GUINT64_FORMAT ": %s",
                   self->query.collection_id, error->message);
      return;
    }
  if (job->reload)
    {
      self->is_virtual = job->is_virtual;
      apply_ids (self, job->ids);
    }
  take_items (self, job->items, TRUE);
  if (self->reload_wanted || self->wanted->len > 0)
    schedule (self);
}

/* One read at a time, so a page read before a change never lands after
 * the read of that change. */
static void
start_job (CairnItemModel *self)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (self->running || (!self->reload_wanted && self->wanted->len == 0))
    return;
  job = job_new (self);
  if (self->reload_wanted)
    {
      GHashTableIter iter;
      gpointer id;

      /* Changed items that were loaded or are being loaded are read again;
       * until then the loaded one stays. */
      g_hash_table_iter_init (&iter, self->changed);
      while (g_hash_table_iter_next (&iter, &id, NULL))
        if (g_hash_table_contains (self->items, id) || g_hash_table_contains (self->loading, id))
          {
            g_array_append_vals (job->fetch, id, 1);
            g_hash_table_add (self->loading, g_memdup2 (id, sizeof (guint64)));
          }
      g_hash_table_remove_all (self->changed);
      job->reload = TRUE;
      self->reload_wanted = FALSE;
    }
  g_array_append_vals (job->fetch, self->wanted->data, self->wanted->len);
  g_array_set_size (self->wanted, 0);

  self->running = TRUE;
  task = g_task_new (self, self->cancellable, job_done, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
}

/* Following the store */

static void
note_change (CairnItemModel    *self,
             const CairnChange *change)
{
  guint64 id = cairn_change_get_entity_id (change);

  /* In a plain collection only its own items and those moved in or out
   * count; a virtual collection or the whole store is read again. */
  if (self->query.collection_id != 0 && self->is_virtual == FALSE &&
      cairn_change_get_collection_id (change) != self->query.collection_id &&
      cairn_change_get_destination_id (change) != self->query.collection_id)
    return;
  g_hash_table_add (self->changed, g_memdup2 (&id, sizeof id));
  self->reload_wanted = TRUE;
  schedule (self);
}

static void
on_item_added (CairnMonitor   *monitor,
               CairnChange    *change,
               CairnItem      *item,
               CairnItemModel *self)
{
  note_change (self, change);
}

static void
on_item_changed (CairnMonitor       *monitor,
                 CairnChange        *change,
                 CairnItem          *item,
                 const char * const *parts,
                 CairnItemModel     *self)
{
  note_change (self, change);
}

static void
on_item_moved (CairnMonitor   *monitor,
               CairnChange    *change,
               CairnItem      *item,
               guint64         source,
               guint64         destination,
               CairnItemModel *self)
{
  note_change (self, change);
}

static void
on_item_removed (CairnMonitor   *monitor,
                 CairnChange    *change,
                 CairnItemModel *self)
{
  note_change (self, change);
}

static void
on_items_flags_changed (CairnMonitor   *monitor,
                        GPtrArray      *changes,
                        CairnFlags     *added,
                        CairnFlags     *removed,
                        CairnItemModel *self)
{
  for (guint i = 0; i < changes->len; i++)
    note_change (self, g_ptr_array_index (changes, i));
}

static gboolean
follow_store (CairnItemModel  *self,
              GError         **error)
{
  self->monitor = cairn_monitor_new (self->store, error);
  if (self->monitor == NULL)
    return FALSE;
  cairn_monitor_add_entity_kind (self->monitor, CAIRN_ENTITY_ITEM);
  g_signal_connect_object (self->monitor, "item-added", G_CALLBACK (on_item_added), self, 0);
  g_signal_connect_object (self->monitor, "item-changed", G_CALLBACK (on_item_changed), self, 0);
  g_signal_connect_object (self->monitor, "item-moved", G_CALLBACK (on_item_moved), self, 0);
  g_signal_connect_object (self->monitor, "item-removed", G_CALLBACK (on_item_removed), self, 0);
  g_signal_connect_object (self->monitor, "items-flags-changed",
                           G_CALLBACK (on_items_flags_changed), self, 0);
  return TRUE;
}

/* GListModel */

static GType
cairn_item_model_get_item_type (GListModel *model)
{
  return CAIRN_TYPE_ITEM;
}

static guint
cairn_item_model_get_n_items (GListModel *model)
{
  return CAIRN_ITEM_MODEL (model)->ids->len;
}

/* Asks for the page around @position. */
static void
want_page (CairnItemModel *self,
           guint           position)
{
  guint start = position - position % PAGE_SIZE;
  guint end = MIN (start + PAGE_SIZE, self->ids->len);

  for (guint i = start; i < end; i++)
    {
      guint64 *id = &g_array_index (self->ids, guint64, i);

      if (g_hash_table_contains (self->items, id) || g_hash_table_contains (self->loading, id))
        continue;
      g_hash_table_add (self->loading, g_memdup2 (id, sizeof *id));
      g_array_append_val (self->wanted, *id);
    }
  schedule (self);
}

static gpointer
cairn_item_model_get_item (GListModel *model,
                           guint       position)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (model);
  CairnItem *item, *placeholder;

  if (position >= self->ids->len)
    return NULL;
  item = g_hash_table_lookup (self->items, &g_array_index (self->ids, guint64, position));
  if (item != NULL)
    return g_object_ref (item);
  want_page (self, position);
  placeholder = cairn_item_new (self->query.mime_type);
  cairn_item_set_id (placeholder, g_array_index (self->ids, guint64, position));
  return placeholder;
}

static void
cairn_item_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = cairn_item_model_get_item_type;
  iface->get_n_items = cairn_item_model_get_n_items;
  iface->get_item = cairn_item_model_get_item;
}

/* GInitable and GAsyncInitable: the first read, ids and first page */

static Job *
first_job (CairnItemModel *self)
{
  Job *job = job_new (self);

  job->reload = TRUE;
  job->first_page = PAGE_SIZE;
  return job;
}

static void
take_first_job (CairnItemModel *self,
                Job            *job)
{
  self->is_virtual = job->is_virtual;
  g_array_append_vals (self->ids, job->ids->data, job->ids->len);
  take_items (self, job->items, FALSE);
  self->ready = TRUE;
  /* Changes seen while reading. */
  if (self->reload_wanted)
    schedule (self);
}

static gboolean
cairn_item_model_initable_init_sync (GInitable     *initable,
                                     GCancellable  *cancellable,
                                     GError       **error)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (initable);
  Job *job;
  gboolean done;

  g_return_val_if_fail (CAIRN_IS_STORE (self->store), FALSE);

  /* Following first: nothing committed after the read is missed. */
  if (!follow_store (self, error))
    return FALSE;
  job = first_job (self);
  done = run_job (job, cancellable, error);
  if (done)
    take_first_job (self, job);
  job_free (job);
  return done;
}

static void
cairn_item_model_initable_init (GInitableIface *iface)
{
  iface->init = cairn_item_model_initable_init_sync;
}

static void
first_job_done (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GTask) task = data;
  CairnItemModel *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  take_first_job (self, g_task_get_task_data (G_TASK (result)));
  g_task_return_boolean (task, TRUE);
}

static void
cairn_item_model_init_async (GAsyncInitable      *initable,
                             int                  io_priority,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (initable);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) read = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, cairn_item_model_init_async);
  if (!follow_store (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  read = g_task_new (self, cancellable, first_job_done, g_steal_pointer (&task));
  g_task_set_source_tag (read, first_job);
  g_task_set_task_data (read, first_job (self), (GDestroyNotify) job_free);
  g_task_run_in_thread (read, job_thread);
}

static gboolean
cairn_item_model_init_finish (GAsyncInitable  *initable,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cairn_item_model_async_initable_init (GAsyncInitableIface *iface)
{
  iface->init_async = cairn_item_model_init_async;
  iface->init_finish = cairn_item_model_init_finish;
}

/* GObject */

static void
cairn_item_model_dispose (GObject *object)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->schedule_source, g_source_remove);
  g_clear_object (&self->monitor);

  G_OBJECT_CLASS (cairn_item_model_parent_class)->dispose (object);
}

static void
cairn_item_model_finalize (GObject *object)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  g_clear_object (&self->store);
  g_clear_pointer (&self->scope, cairn_fetch_scope_unref);
  g_free (self->query.mime_type);
  g_free (self->query.with_flag);
  g_free (self->query.without_flag);
  g_array_unref (self->ids);
  g_hash_table_unref (self->items);
  g_hash_table_unref (self->loading);
  g_hash_table_unref (self->changed);
  g_array_unref (self->wanted);
  g_object_unref (self->cancellable);

  G_OBJECT_CLASS (cairn_item_model_parent_class)->finalize (object);
}

static void
cairn_item_model_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_COLLECTION_ID:
      g_value_set_uint64 (value, self->query.collection_id);
      break;
    case PROP_MIME_TYPE:
      g_value_set_string (value, self->query.mime_type);
      break;
    case PROP_WITH_FLAG:
      g_value_set_string (value, self->query.with_flag);
      break;
    case PROP_WITHOUT_FLAG:
      g_value_set_string (value, self->query.without_flag);
      break;
    case PROP_DESCENDING:
      g_value_set_boolean (value, self->query.descending);
      break;
    case PROP_FETCH_SCOPE:
      g_value_set_boxed (value, self->scope);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_model_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_COLLECTION_ID:
      self->query.collection_id = g_value_get_uint64 (value);
      break;
    case PROP_MIME_TYPE:
      self->query.mime_type = g_value_dup_string (value);
      break;
    case PROP_WITH_FLAG:
      self->query.with_flag = g_value_dup_string (value);
      break;
    case PROP_WITHOUT_FLAG:
      self->query.without_flag = g_value_dup_string (value);
      break;
    case PROP_DESCENDING:
      self->query.descending = g_value_get_boolean (value);
      break;
    case PROP_FETCH_SCOPE:
      self->scope = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_model_class_init (CairnItemModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cairn_item_model_dispose;
  object_class->finalize = cairn_item_model_finalize;
  object_class->get_property = cairn_item_model_get_property;
  object_class->set_property = cairn_item_model_set_property;

  /**
   * CairnItemModel:store:
   *
   * The store the items are read from.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE, flags);

  /**
   * CairnItemModel:collection-id:
   *
   * The collection, plain or virtual, whose items the model lists; 0 for
   * every item of the store.
   *
   * Since: 0.1
   */
  properties[PROP_COLLECTION_ID] =
    g_param_spec_uint64 ("collection-id", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  /**
   * CairnItemModel:mime-type:
   *
   * Only items of this MIME type, or any if %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_MIME_TYPE] =
    g_param_spec_string ("mime-type", NULL, NULL, NULL, flags);

  /**
   * CairnItemModel:with-flag:
   *
   * Only items that have this flag (such as `\Flagged`), or any if %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_WITH_FLAG] =
    g_param_spec_string ("with-flag", NULL, NULL, NULL, flags);

  /**
   * CairnItemModel:without-flag:
   *
   * Only items that lack this flag (`\Seen` for the unread ones), or any
   * if %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_WITHOUT_FLAG] =
    g_param_spec_string ("without-flag", NULL, NULL, NULL, flags);

  /**
   * CairnItemModel:descending:
   *
   * Whether the newest items (highest ids) come first.
   *
   * Since: 0.1
   */
  properties[PROP_DESCENDING] =
    g_param_spec_boolean ("descending", NULL, NULL, FALSE, flags);

  /**
   * CairnItemModel:fetch-scope:
   *
   * What is loaded with each item beside its columns and flags (parts,
   * attributes), or %NULL for nothing more.
   *
   * Since: 0.1
   */
  properties[PROP_FETCH_SCOPE] =
    g_param_spec_boxed ("fetch-scope", NULL, NULL, CAIRN_TYPE_FETCH_SCOPE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_item_model_init (CairnItemModel *self)
{
  self->is_virtual = -1;
  self->ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->loading = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->changed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->wanted = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->cancellable = g_cancellable_new ();
}

/* Public API */

/**
 * cairn_item_model_new_sync:
 * @store: a #CairnStore
 * @collection_id: a collection id, or 0 for every item
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the model of the items of collection @collection_id, oldest
 * first, reading its ids and first page in the calling thread. For a
 * query, create the model with g_initable_new() and the properties of
 * #CairnItemModel.
 *
 * Returns: (transfer full): the model, or %NULL with @error set
 *   (%CAIRN_STORE_ERROR_NOT_FOUND if there is no such collection)
 *
 * Since: 0.1
 */
CairnItemModel *
cairn_item_model_new_sync (CairnStore    *store,
                           guint64        collection_id,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (CAIRN_TYPE_ITEM_MODEL, cancellable, error, "store", store,
                         "collection-id", collection_id, NULL);
}

/**
 * cairn_item_model_new_async:
 * @store: a #CairnStore
 * @collection_id: a collection id, or 0 for every item
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the model
 * @user_data: data for @callback
 *
 * Opens the model of the items of collection @collection_id like
 * cairn_item_model_new_sync(), reading in a worker thread. For a query,
 * use g_async_initable_new_async() with the properties of
 * #CairnItemModel.
 *
 * Since: 0.1
 */
void
cairn_item_model_new_async (CairnStore          *store,
                            guint64              collection_id,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_STORE (store));

  g_async_initable_new_async (CAIRN_TYPE_ITEM_MODEL, G_PRIORITY_DEFAULT, cancellable, callback,
                              user_data, "store", store, "collection-id", collection_id, NULL);
}

/**
 * cairn_item_model_new_finish:
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_item_model_new_async().
 *
 * Returns: (transfer full): the model, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnItemModel *
cairn_item_model_new_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_autoptr(GObject) source = g_async_result_get_source_object (result);

  g_return_val_if_fail (G_IS_ASYNC_INITABLE (source), NULL);

  return CAIRN_ITEM_MODEL (g_async_initable_new_finish (G_ASYNC_INITABLE (source), result,
                                                        error));
}

/**
 * cairn_item_model_get_store:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:store.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_item_model_get_store (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), NULL);

  return self->store;
}

/**
 * cairn_item_model_get_collection_id:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:collection-id.
 *
 * Returns: the collection id, 0 for the whole store
 *
 * Since: 0.1
 */
guint64
cairn_item_model_get_collection_id (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), 0);

  return self->query.collection_id;
}

/**
 * cairn_item_model_get_mime_type:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:mime-type.
 *
 * Returns: (nullable): the MIME type items must have
 *
 * Since: 0.1
 */
const char *
cairn_item_model_get_mime_type (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), NULL);

  return self->query.mime_type;
}

/**
 * cairn_item_model_get_with_flag:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:with-flag.
 *
 * Returns: (nullable): the flag items must have
 *
 * Since: 0.1
 */
const char *
cairn_item_model_get_with_flag (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), NULL);

  return self->query.with_flag;
}

/**
 * cairn_item_model_get_without_flag:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:without-flag.
 *
 * Returns: (nullable): the flag items must lack
 *
 * Since: 0.1
 */
const char *
cairn_item_model_get_without_flag (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), NULL);

  return self->query.without_flag;
}

/**
 * cairn_item_model_get_descending:
 * @self: a #CairnItemModel
 *
 * Gets #CairnItemModel:descending.
 *
 * Returns: whether the newest items come first
 *
 * Since: 0.1
 */
gboolean
cairn_item_model_get_descending (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), FALSE);

  return self->query.descending;
}

/**
 * cairn_item_model_get_item_id:
 * @self: a #CairnItemModel
 * @position: a position
 *
 * Gets the id of the item at @position without loading it.
 *
 * Returns: the item's id, or 0 if @position is past the end
 *
 * Since: 0.1
 */
guint64
cairn_item_model_get_item_id (CairnItemModel *self,
                              guint           position)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), 0);

  if (position >= self->ids->len)
    return 0;
  return g_array_index (self->ids, guint64, position);
}

/**
 * cairn_item_model_is_item_loaded:
 * @self: a #CairnItemModel
 * @position: a position
 *
 * Tells whether the item at @position is loaded, or whether
 * [method@Gio.ListModel.get_item] would give a placeholder with only its
 * id and start loading its page.
 *
 * Returns: %TRUE if the item is loaded
 *
 * Since: 0.1
 */
gboolean
cairn_item_model_is_item_loaded (CairnItemModel *self,
                                 guint           position)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), FALSE);

  return position < self->ids->len &&
         g_hash_table_contains (self->items, &g_array_index (self->ids, guint64, position));
}
