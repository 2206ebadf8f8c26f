/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-item-sync-private.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/**
 * CairnItemSync:
 *
 * The merge of one collection's items from the backend into the store,
 * handed to #CairnResourceClass.retrieve_items.
 *
 * The resource hands what the backend has with cairn_item_sync_add_item(),
 * one item at a time as it reads them, or with cairn_item_sync_add_items(),
 * in batches of its own. Items are written in batches, each one write
 * transaction, so a listing of any size never sits in memory. Items are matched to the
 * stored ones by remote id, or by GID (cairn_item_sync_set_merge_by_gid())
 * for backends whose remote ids are not stable. An item whose remote
 * revision equals the stored one is left alone; a changed one is written
 * over the stored one, its parts, attributes and flags (the backend's
 * flags replace the stored set through a delta); a new one is created.
 *
 * A full sync (the default) then removes the stored items the backend did
 * not list. An incremental one (cairn_item_sync_set_incremental()) lists
 * only what changed, and names removals with
 * cairn_item_sync_remove_items().
 *
 * Items with a local change not yet replayed, or with a failed change, are
 * never written over or removed by a sync: the change replay settles them,
 * and detects a conflict if the backend changed them too.
 *
 * Since: 0.1
 */

struct _CairnItemSync
{
  GObject parent_instance;

  CairnStore *store;
  CairnCollection *collection;
  char *resource;
  guint64 recorder_revision;
  guint64 start_revision;
  gboolean incremental;
  gboolean merge_by_gid;

  GHashTable *pending;  /* item ids (guint64 *) with local changes */
  GHashTable *leaving;  /* remote ids that local changes take out of the collection */
  GHashTable *known;    /* remote id or GID -> KnownItem */
  GPtrArray *batch;     /* added one by one, not written yet */

  guint64 n_created;
  guint64 n_modified;
  guint64 n_unchanged;
  guint64 n_removed;
  guint64 n_kept_local;

  /* The resource's worker thread adds; its main context shows progress. */
  GMutex progress_lock;
  guint64 n_seen;
  guint64 n_expected;
  GMainContext *progress_context;
  CairnItemSyncProgressFunc progress_func;
  gpointer progress_data;
  gint progress_scheduled;
};

typedef struct
{
  guint64 id;
  char *remote_id;
  char *remote_revision;
  gboolean seen;
} KnownItem;

G_DEFINE_FINAL_TYPE (CairnItemSync, cairn_item_sync, G_TYPE_OBJECT)

/* The strings of the known items are reference-counted: the table's key
 * shares the item's remote id, and cairn_item_sync_dup_remote_revisions()
 * hands out references rather than copies. A folder of 100,000 messages
 * would otherwise hold them three times. */
static char *
ref_string_new (const char *string)
{
  return string != NULL ? g_ref_string_new (string) : NULL;
}

static char *
ref_string_acquire (char *string)
{
  return string != NULL ? g_ref_string_acquire (string) : NULL;
}

static void
ref_string_release (gpointer string)
{
  if (string != NULL)
    g_ref_string_release (string);
}

static void
known_item_free (KnownItem *known)
{
  ref_string_release (known->remote_id);
  ref_string_release (known->remote_revision);
  g_free (known);
}

/* In the table under @key: the remote id's own reference when merging by
 * remote id. */
static void
insert_known (CairnItemSync *self,
              const char    *key,
              KnownItem     *known)
{
  char *shared_key = self->merge_by_gid || known->remote_id == NULL
                     ? ref_string_new (key) : ref_string_acquire (known->remote_id);

  g_hash_table_insert (self->known, shared_key, known);
}

static void
cairn_item_sync_finalize (GObject *object)
{
  CairnItemSync *self = CAIRN_ITEM_SYNC (object);

  g_clear_object (&self->store);
  g_clear_object (&self->collection);
  g_free (self->resource);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->leaving, g_hash_table_unref);
  g_clear_pointer (&self->known, g_hash_table_unref);
  g_clear_pointer (&self->batch, g_ptr_array_unref);
  g_clear_pointer (&self->progress_context, g_main_context_unref);
  g_mutex_clear (&self->progress_lock);

  G_OBJECT_CLASS (cairn_item_sync_parent_class)->finalize (object);
}

static void
cairn_item_sync_class_init (CairnItemSyncClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_item_sync_finalize;
}

static void
cairn_item_sync_init (CairnItemSync *self)
{
  g_mutex_init (&self->progress_lock);
}

/* Calls @func in @context after each batch added, with the items seen so
 * far and those expected (cairn_item_sync_set_expected_items()); calls
 * that would queue up while the context is busy become one. Called in
 * @context, as _cairn_item_sync_unwatch_progress() is. */
void
_cairn_item_sync_watch_progress (CairnItemSync             *self,
                                 GMainContext              *context,
                                 CairnItemSyncProgressFunc  func,
                                 gpointer                   user_data)
{
  g_clear_pointer (&self->progress_context, g_main_context_unref);
  self->progress_context = g_main_context_ref (context);
  self->progress_func = func;
  g_atomic_pointer_set (&self->progress_data, user_data);
}

/* No call of the progress function after this one, also not of one
 * already queued: its user data may be gone. A watch needs user data. */
void
_cairn_item_sync_unwatch_progress (CairnItemSync *self)
{
  g_atomic_pointer_set (&self->progress_data, NULL);
}

/* The items seen so far and those expected, from any thread. */
void
_cairn_item_sync_get_progress (CairnItemSync *self,
                               guint64       *n_seen,
                               guint64       *n_expected)
{
  g_mutex_lock (&self->progress_lock);
  *n_seen = self->n_seen;
  *n_expected = self->n_expected;
  g_mutex_unlock (&self->progress_lock);
}

static gboolean
report_progress (gpointer user_data)
{
  CairnItemSync *self = user_data;
  guint64 seen, expected;

  g_atomic_int_set (&self->progress_scheduled, 0);
  if (self->progress_data == NULL)
    return G_SOURCE_REMOVE;
  _cairn_item_sync_get_progress (self, &seen, &expected);
  self->progress_func (self, seen, expected, self->progress_data);
  return G_SOURCE_REMOVE;
}

static void
schedule_progress (CairnItemSync *self)
{
  if (g_atomic_pointer_get (&self->progress_data) == NULL ||
      !g_atomic_int_compare_and_exchange (&self->progress_scheduled, 0, 1))
    return;
  g_main_context_invoke_full (self->progress_context, G_PRIORITY_DEFAULT, report_progress,
                              g_object_ref (self), g_object_unref);
}

/**
 * cairn_item_sync_set_expected_items:
 * @self: a #CairnItemSync
 * @n_items: how many items the backend holds in the collection
 *
 * Tells how many items the sync will add, when the resource knows it
 * before it has read them all (the files of a folder, IMAP's EXISTS), so
 * that users see "N of @n_items items" while it runs instead of a jump
 * from 0 to 100 %. May be called from any thread, again when the number
 * changes.
 *
 * Since: 0.1
 */
void
cairn_item_sync_set_expected_items (CairnItemSync *self,
                                    guint64        n_items)
{
  g_return_if_fail (CAIRN_IS_ITEM_SYNC (self));

  g_mutex_lock (&self->progress_lock);
  self->n_expected = n_items;
  g_mutex_unlock (&self->progress_lock);
  schedule_progress (self);
}

/* @recorder_revision: where the resource's change replay stands, so that
 * every later local change counts as pending; G_MAXUINT64 for a resource
 * without change replay. */
CairnItemSync *
_cairn_item_sync_new (CairnStore      *store,
                      CairnCollection *collection,
                      const char      *resource,
                      guint64          recorder_revision,
                      GError         **error)
{
  g_autoptr(CairnItemSync) self = g_object_new (CAIRN_TYPE_ITEM_SYNC, NULL);

  self->store = g_object_ref (store);
  self->collection = g_object_ref (collection);
  self->resource = g_strdup (resource);
  self->recorder_revision = recorder_revision;
  if (!cairn_store_get_revision (store, &self->start_revision, error))
    return NULL;
  self->pending = _cairn_store_list_pending_entities (store, CAIRN_ENTITY_ITEM, recorder_revision,
                                                      resource, cairn_store_get_origin (store),
                                                      error);
  if (self->pending == NULL)
    return NULL;
  self->leaving = _cairn_store_list_leaving_remote_ids (store, recorder_revision, resource,
                                                        cairn_store_get_origin (store),
                                                        cairn_collection_get_id (collection),
                                                        error);
  if (self->leaving == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cairn_item_sync_get_collection:
 * @self: a #CairnItemSync
 *
 * Gets the collection being synchronized.
 *
 * Returns: (transfer none): the collection being synchronized
 *
 * Since: 0.1
 */
CairnCollection *
cairn_item_sync_get_collection (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), NULL);

  return self->collection;
}

/**
 * cairn_item_sync_get_incremental:
 * @self: a #CairnItemSync
 *
 * Gets whether the sync lists only changes.
 *
 * Returns: whether the sync lists only changes
 *
 * Since: 0.1
 */
gboolean
cairn_item_sync_get_incremental (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), FALSE);

  return self->incremental;
}

/**
 * cairn_item_sync_set_incremental:
 * @self: a #CairnItemSync
 * @incremental: %TRUE if the resource lists only what changed
 *
 * Set before the first batch. An incremental sync removes only the items
 * named by cairn_item_sync_remove_items().
 *
 * Since: 0.1
 */
void
cairn_item_sync_set_incremental (CairnItemSync *self,
                                 gboolean       incremental)
{
  g_return_if_fail (CAIRN_IS_ITEM_SYNC (self));
  g_return_if_fail (self->known == NULL);

  self->incremental = !!incremental;
}

/**
 * cairn_item_sync_get_merge_by_gid:
 * @self: a #CairnItemSync
 *
 * Gets whether items are matched by GID.
 *
 * Returns: whether items are matched by GID
 *
 * Since: 0.1
 */
gboolean
cairn_item_sync_get_merge_by_gid (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), FALSE);

  return self->merge_by_gid;
}

/**
 * cairn_item_sync_set_merge_by_gid:
 * @self: a #CairnItemSync
 * @merge_by_gid: %TRUE to match items by GID rather than remote id
 *
 * Set before the first batch, for backends whose remote ids change. Every
 * item handed must then have a GID. When several stored items share a
 * GID, the one with the lowest id is matched; the others are left alone,
 * never removed to recover.
 *
 * Since: 0.1
 */
void
cairn_item_sync_set_merge_by_gid (CairnItemSync *self,
                                  gboolean       merge_by_gid)
{
  g_return_if_fail (CAIRN_IS_ITEM_SYNC (self));
  g_return_if_fail (self->known == NULL);

  self->merge_by_gid = !!merge_by_gid;
}

static void
add_known (guint64     id,
           const char *remote_id,
           const char *remote_revision,
           const char *gid,
           guint64     revision,
           gpointer    user_data)
{
  CairnItemSync *self = user_data;
  const char *key = self->merge_by_gid ? gid : remote_id;
  KnownItem *known;

  /* Ids come in order, so the lowest id of a shared GID wins. */
  if (key == NULL || g_hash_table_contains (self->known, key))
    return;
  known = g_new0 (KnownItem, 1);
  known->id = id;
  known->remote_id = ref_string_new (remote_id);
  known->remote_revision = ref_string_new (remote_revision);
  insert_known (self, key, known);
}

static gboolean
load_known (CairnItemSync  *self,
            GError        **error)
{
  if (self->known != NULL)
    return TRUE;
  self->known = g_hash_table_new_full (g_str_hash, g_str_equal, ref_string_release,
                                       (GDestroyNotify) known_item_free);
  return _cairn_store_foreach_item_key (self->store, cairn_collection_get_id (self->collection),
                                        add_known, self, error);
}

/**
 * cairn_item_sync_dup_remote_revisions:
 * @self: a #CairnItemSync
 * @error: return location for an error
 *
 * Lists what the store holds of the collection, so that a resource reads
 * from its backend only what is new or changed, as a maildir resource
 * parses only the files whose names it has not stored. The table is a
 * copy, whose strings are shared with the sync: a worker thread may read
 * it while the sync goes on. Keys and values are #GRefString, so a
 * resource keeps one with g_ref_string_acquire() rather than a copy.
 *
 * Returns: (transfer full) (element-type utf8 utf8): the remote ids (GIDs
 *   when merging by GID) of the stored items, each mapped to its remote
 *   revision or to %NULL, as they are now; %NULL on error
 *
 * Since: 0.1
 */
GHashTable *
cairn_item_sync_dup_remote_revisions (CairnItemSync  *self,
                                      GError        **error)
{
  g_autoptr(GHashTable) copy = NULL;
  GHashTableIter iter;
  const char *key;
  KnownItem *known;

  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), NULL);

  if (!load_known (self, error))
    return NULL;
  copy = g_hash_table_new_full (g_str_hash, g_str_equal, ref_string_release,
                                ref_string_release);
  g_hash_table_iter_init (&iter, self->known);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &known))
    g_hash_table_insert (copy, g_ref_string_acquire ((char *) key),
                         ref_string_acquire (known->remote_revision));
  return g_steal_pointer (&copy);
}

static gboolean
is_pending (CairnItemSync *self,
            guint64        id)
{
  return g_hash_table_contains (self->pending, &id);
}

typedef struct
{
  CairnItemSync *self;
  GPtrArray *items;
  guint64 created, modified, unchanged, kept_local;
} Batch;

static gboolean
merge_item (CairnTransaction  *transaction,
            Batch             *batch,
            CairnItem         *item,
            GError           **error)
{
  CairnItemSync *self = batch->self;
  const char *key = self->merge_by_gid ? cairn_item_get_gid (item) : cairn_item_get_remote_id (item);
  const char *remote_revision = cairn_item_get_remote_revision (item);
  KnownItem *known;
  g_autoptr(GError) local_error = NULL;

  if (key == NULL)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "An item handed by resource %s to collection %" G_GUINT64_FORMAT
                   " has no %s", self->resource, cairn_collection_get_id (self->collection),
                   self->merge_by_gid ? "GID" : "remote id");
      return FALSE;
    }

  known = g_hash_table_lookup (self->known, key);
  /* Moved or removed locally, not replayed yet: the backend has it here
   * still, and the replay takes it away. */
  if (known == NULL && !self->merge_by_gid &&
      g_hash_table_contains (self->leaving, cairn_item_get_remote_id (item)))
    {
      batch->kept_local++;
      return TRUE;
    }
  if (known == NULL)
    {
      cairn_item_set_collection_id (item, cairn_collection_get_id (self->collection));
      if (!cairn_transaction_create_item (transaction, item, error))
        return FALSE;
      known = g_new0 (KnownItem, 1);
      known->id = cairn_item_get_id (item);
      known->remote_id = ref_string_new (cairn_item_get_remote_id (item));
      known->remote_revision = ref_string_new (remote_revision);
      known->seen = TRUE;
      insert_known (self, key, known);
      batch->created++;
      return TRUE;
    }

  known->seen = TRUE;
  if (is_pending (self, known->id))
    {
      batch->kept_local++;
      return TRUE;
    }
  /* Merged by GID, a new remote id is a change even at the same revision. */
  if (remote_revision != NULL && g_strcmp0 (remote_revision, known->remote_revision) == 0 &&
      g_strcmp0 (cairn_item_get_remote_id (item), known->remote_id) == 0)
    {
      batch->unchanged++;
      return TRUE;
    }

  /* Conditional on the sync's start: a local change made while the sync
   * ran wins here, and the change replay meets the conflict. */
  cairn_item_set_id (item, known->id);
  if (!cairn_transaction_modify_item (transaction, item, self->start_revision, &local_error))
    {
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      batch->kept_local++;
      return TRUE;
    }
  /* The backend's flags replace the stored ones. */
  if (!_cairn_transaction_set_flags (transaction, known->id, cairn_item_get_flags (item), error))
    return FALSE;
  ref_string_release (known->remote_id);
  known->remote_id = ref_string_new (cairn_item_get_remote_id (item));
  ref_string_release (known->remote_revision);
  known->remote_revision = ref_string_new (remote_revision);
  batch->modified++;
  return TRUE;
}

static gboolean
write_batch (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Batch *batch = user_data;

  for (guint i = 0; i < batch->items->len; i++)
    if (!merge_item (transaction, batch, g_ptr_array_index (batch->items, i), error))
      return FALSE;
  return TRUE;
}

static gboolean
write_items (CairnItemSync  *self,
             GPtrArray      *items,
             GError        **error)
{
  Batch batch = { self, items, 0, 0, 0, 0 };

  if (!load_known (self, error))
    return FALSE;
  if (items->len == 0)
    return TRUE;
  if (!cairn_store_write_sync (self->store, write_batch, &batch, NULL, NULL, error))
    return FALSE;

  self->n_created += batch.created;
  self->n_modified += batch.modified;
  self->n_unchanged += batch.unchanged;
  self->n_kept_local += batch.kept_local;
  g_mutex_lock (&self->progress_lock);
  self->n_seen += items->len;
  g_mutex_unlock (&self->progress_lock);
  schedule_progress (self);
  return TRUE;
}

/* Writes what cairn_item_sync_add_item() collected; on failure it is
 * dropped with the sync. */
static gboolean
flush_batch (CairnItemSync  *self,
             GError        **error)
{
  g_autoptr(GPtrArray) batch = g_steal_pointer (&self->batch);

  return batch == NULL || write_items (self, batch, error);
}

/**
 * cairn_item_sync_add_item:
 * @self: a #CairnItemSync
 * @item: an item as the backend has it, with its remote id (and GID when
 *   merging by GID), remote revision, flags and the parts the resource read
 * @error: return location for an error
 *
 * Hands one item over. The sync collects the items and writes them
 * every %CAIRN_STORE_BATCH_SIZE items, one write transaction each; the
 * base class writes the rest once #CairnResourceClass.retrieve_items
 * completes successfully, and drops them with the sync when it fails.
 * The progress (cairn_item_sync_set_expected_items()) counts items as
 * they are written. Call it from the thread that lists the items.
 *
 * Returns: %TRUE on success; %FALSE with @error set if writing a full
 *   batch failed, and nothing of that batch is stored
 *
 * Since: 0.1
 */
gboolean
cairn_item_sync_add_item (CairnItemSync  *self,
                          CairnItem      *item,
                          GError        **error)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_ITEM (item), FALSE);

  if (self->batch == NULL)
    self->batch = g_ptr_array_new_full (CAIRN_STORE_BATCH_SIZE, g_object_unref);
  g_ptr_array_add (self->batch, g_object_ref (item));
  return self->batch->len < CAIRN_STORE_BATCH_SIZE || flush_batch (self, error);
}

/**
 * cairn_item_sync_add_items:
 * @self: a #CairnItemSync
 * @items: (element-type CairnItem): items as the backend has them, each with
 *   its remote id (and GID when merging by GID), remote revision, flags and
 *   the parts the resource read; at most %CAIRN_STORE_BATCH_SIZE is best
 * @error: return location for an error
 *
 * Merges one batch into the store, in one write transaction, after the
 * items handed by cairn_item_sync_add_item() not written yet. The items
 * are updated with their store ids.
 *
 * Returns: %TRUE on success; on failure nothing of the batch is stored
 *
 * Since: 0.1
 */
gboolean
cairn_item_sync_add_items (CairnItemSync  *self,
                           GPtrArray      *items,
                           GError        **error)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), FALSE);
  g_return_val_if_fail (items != NULL, FALSE);

  return flush_batch (self, error) && write_items (self, items, error);
}

typedef struct
{
  GArray *ids;
  guint start;
  guint end;
} Removal;

static gboolean
delete_items (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  Removal *removal = user_data;

  for (guint i = removal->start; i < removal->end; i++)
    if (!cairn_transaction_delete_item (transaction, g_array_index (removal->ids, guint64, i),
                                        error))
      return FALSE;
  return TRUE;
}

/* Removes @ids, skipping the items that got a local change meanwhile, in
 * transactions of CAIRN_STORE_BATCH_SIZE. */
static gboolean
remove_ids (CairnItemSync  *self,
            GArray         *ids,
            GError        **error)
{
  g_autoptr(GHashTable) pending = NULL;
  g_autoptr(GArray) removable = g_array_new (FALSE, FALSE, sizeof (guint64));

  if (ids->len == 0)
    return TRUE;
  pending = _cairn_store_list_pending_entities (self->store, CAIRN_ENTITY_ITEM,
                                                self->recorder_revision, self->resource,
                                                cairn_store_get_origin (self->store), error);
  if (pending == NULL)
    return FALSE;

  for (guint i = 0; i < ids->len; i++)
    {
      guint64 id = g_array_index (ids, guint64, i);

      if (g_hash_table_contains (pending, &id))
        self->n_kept_local++;
      else
        g_array_append_val (removable, id);
    }

  for (guint start = 0; start < removable->len; start += CAIRN_STORE_BATCH_SIZE)
    {
      Removal removal = { removable, start, MIN (start + CAIRN_STORE_BATCH_SIZE, removable->len) };

      if (!cairn_store_write_sync (self->store, delete_items, &removal, NULL, NULL, error))
        return FALSE;
      self->n_removed += removal.end - removal.start;
    }
  return TRUE;
}

/**
 * cairn_item_sync_remove_items:
 * @self: a #CairnItemSync
 * @remote_ids: (array zero-terminated=1): remote ids (GIDs when merging by
 *   GID) of items the backend removed
 * @error: return location for an error
 *
 * Removes items in an incremental sync. Unknown ids are ignored; items
 * with a local change are kept.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_item_sync_remove_items (CairnItemSync       *self,
                              const char * const  *remote_ids,
                              GError             **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), FALSE);
  g_return_val_if_fail (remote_ids != NULL, FALSE);
  g_return_val_if_fail (self->incremental, FALSE);

  if (!flush_batch (self, error) || !load_known (self, error))
    return FALSE;
  for (guint i = 0; remote_ids[i] != NULL; i++)
    {
      KnownItem *known = g_hash_table_lookup (self->known, remote_ids[i]);

      if (known != NULL)
        {
          g_array_append_val (ids, known->id);
          g_hash_table_remove (self->known, remote_ids[i]);
        }
    }
  return remove_ids (self, ids, error);
}

/* Ends a listing that completed: the items added one by one and not
 * written yet are, and a full sync removes what was not listed. */
gboolean
_cairn_item_sync_finish (CairnItemSync  *self,
                         GError        **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  GHashTableIter iter;
  KnownItem *known;

  if (!flush_batch (self, error))
    return FALSE;
  if (self->incremental)
    return TRUE;
  if (!load_known (self, error))
    return FALSE;

  g_hash_table_iter_init (&iter, self->known);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &known))
    if (!known->seen)
      g_array_append_val (ids, known->id);

  return remove_ids (self, ids, error);
}

/**
 * cairn_item_sync_get_n_created:
 * @self: a #CairnItemSync
 *
 * Gets how many items the sync created.
 *
 * Returns: how many items the sync created
 *
 * Since: 0.1
 */
guint64
cairn_item_sync_get_n_created (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), 0);

  return self->n_created;
}

/**
 * cairn_item_sync_get_n_modified:
 * @self: a #CairnItemSync
 *
 * Gets how many stored items the sync wrote over.
 *
 * Returns: how many stored items the sync wrote over
 *
 * Since: 0.1
 */
guint64
cairn_item_sync_get_n_modified (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), 0);

  return self->n_modified;
}

/**
 * cairn_item_sync_get_n_unchanged:
 * @self: a #CairnItemSync
 *
 * Gets how many items had the stored remote revision.
 *
 * Returns: how many items had the stored remote revision
 *
 * Since: 0.1
 */
guint64
cairn_item_sync_get_n_unchanged (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), 0);

  return self->n_unchanged;
}

/**
 * cairn_item_sync_get_n_removed:
 * @self: a #CairnItemSync
 *
 * Gets how many stored items the sync removed.
 *
 * Returns: how many stored items the sync removed
 *
 * Since: 0.1
 */
guint64
cairn_item_sync_get_n_removed (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), 0);

  return self->n_removed;
}

/**
 * cairn_item_sync_get_n_kept_local:
 * @self: a #CairnItemSync
 *
 * Gets how many items the sync left alone because of a local change not yet
 * replayed.
 *
 * Returns: how many items the sync left alone because of a local change
 *   not yet replayed
 *
 * Since: 0.1
 */
guint64
cairn_item_sync_get_n_kept_local (CairnItemSync *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_SYNC (self), 0);

  return self->n_kept_local;
}
