/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Saved searches: virtual collections with the CAIRN_SEARCH_QUERY_ATTRIBUTE
 * attribute. After the index changes (debounced), each query runs again
 * in a thread and its result is compared with the items linked into the
 * collection; the difference is linked and unlinked in one store write,
 * so clients list a saved search like any folder, unread counts
 * included (cairn_store_get_collection_statistics()). The store's links
 * are the state: a crash between two updates loses nothing, the next
 * update compares again. */
#include "cairn-indexer-saved-private.h"

/* Changes come in bursts: one update follows a burst, and a flag change
 * shows in its saved searches within a fraction of a second. */
#define UPDATE_DELAY_MS 100

struct _CairnIndexerSaved
{
  GObject parent_instance;

  CairnStore *store;
  CairnSearch *search;
  GCancellable *cancellable;
  guint timeout_id;
  gboolean running;
  gboolean again;
};

G_DEFINE_FINAL_TYPE (CairnIndexerSaved, cairn_indexer_saved, G_TYPE_OBJECT)

typedef struct
{
  guint64 collection_id;
  GArray *link;     /* guint64 item ids */
  GArray *unlink;
} Difference;

static void
difference_free (Difference *difference)
{
  g_array_unref (difference->link);
  g_array_unref (difference->unlink);
  g_free (difference);
}

static Difference *
compare (guint64    collection_id,
         GArray    *matches,
         GPtrArray *members)
{
  g_autoptr(GHashTable) linked = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree guint64 *member_ids = g_new (guint64, members->len + 1);
  Difference *difference = g_new0 (Difference, 1);

  difference->collection_id = collection_id;
  difference->link = g_array_new (FALSE, FALSE, sizeof (guint64));
  difference->unlink = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < members->len; i++)
    {
      member_ids[i] = cairn_item_get_id (g_ptr_array_index (members, i));
      g_hash_table_add (linked, &member_ids[i]);
    }
  for (guint i = 0; i < matches->len; i++)
    {
      guint64 *id = &g_array_index (matches, guint64, i);

      if (!g_hash_table_remove (linked, id))
        g_array_append_val (difference->link, *id);
    }
  for (guint i = 0; i < members->len; i++)
    if (g_hash_table_contains (linked, &member_ids[i]))
      g_array_append_val (difference->unlink, member_ids[i]);
  return difference;
}

static Difference *
update_collection (CairnIndexerSaved *self,
                   CairnCollection   *collection,
                   GCancellable      *cancellable)
{
  GBytes *value = cairn_collection_get_attribute (collection, CAIRN_SEARCH_QUERY_ATTRIBUTE);
  g_autofree char *query = NULL;
  g_autoptr(GArray) matches = NULL;
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GError) error = NULL;
  guint64 id = cairn_collection_get_id (collection);

  if (value == NULL || !cairn_collection_get_virtual (collection))
    return NULL;
  query = g_strndup (g_bytes_get_data (value, NULL), g_bytes_get_size (value));
  matches = cairn_search_run_sync (self->search, query, 0, 0, cancellable, &error);
  if (matches != NULL)
    members = cairn_store_list_items (self->store, id, NULL, 0, 0, &error);
  /* A query that cannot run keeps the members it has; the user sees why
   * with cairnctl search. */
  if (members == NULL)
    {
      g_debug ("Saved search %" G_GUINT64_FORMAT " not updated: %s", id, error->message);
      return NULL;
    }
  return compare (id, matches, members);
}

static void
compute_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  CairnIndexerSaved *self = source;
  g_autoptr(GPtrArray) differences =
    g_ptr_array_new_with_free_func ((GDestroyNotify) difference_free);
  g_autoptr(GPtrArray) collections = NULL;
  GError *error = NULL;

  collections = cairn_store_list_collections (self->store, NULL, &error);
  if (collections == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < collections->len; i++)
    {
      Difference *difference =
        update_collection (self, g_ptr_array_index (collections, i), cancellable);

      if (difference != NULL && difference->link->len + difference->unlink->len > 0)
        g_ptr_array_add (differences, difference);
      else if (difference != NULL)
        difference_free (difference);
    }
  g_task_return_pointer (task, g_steal_pointer (&differences),
                         (GDestroyNotify) g_ptr_array_unref);
}

static gboolean
apply_differences (CairnTransaction  *transaction,
                   gpointer           data,
                   GError           **error)
{
  GPtrArray *differences = data;

  for (guint i = 0; i < differences->len; i++)
    {
      Difference *difference = g_ptr_array_index (differences, i);

      for (guint j = 0; j < difference->link->len; j++)
        if (!cairn_transaction_link_item (transaction, difference->collection_id,
                                          g_array_index (difference->link, guint64, j), error))
          return FALSE;
      for (guint j = 0; j < difference->unlink->len; j++)
        if (!cairn_transaction_unlink_item (transaction, difference->collection_id,
                                            g_array_index (difference->unlink, guint64, j), error))
          return FALSE;
    }
  return TRUE;
}

static void
finish_update (CairnIndexerSaved *self)
{
  self->running = FALSE;
  if (self->again)
    {
      self->again = FALSE;
      cairn_indexer_saved_queue_update (self);
    }
}

static void
written (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(CairnIndexerSaved) self = data;
  g_autoptr(GError) error = NULL;

  /* An item removed meanwhile fails the write; the next update, which
   * that removal queues, compares again. */
  if (!cairn_store_write_finish (CAIRN_STORE (source), result, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("Saved searches not updated: %s", error->message);
  finish_update (self);
}

static void
computed (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  CairnIndexerSaved *self = CAIRN_INDEXER_SAVED (source);
  g_autoptr(GPtrArray) differences = NULL;
  g_autoptr(GError) error = NULL;

  differences = g_task_propagate_pointer (G_TASK (result), &error);
  if (differences == NULL || differences->len == 0 || g_cancellable_is_cancelled (self->cancellable))
    {
      if (error != NULL)
        g_debug ("Saved searches not updated: %s", error->message);
      finish_update (self);
      return;
    }
  cairn_store_write_async (self->store, apply_differences, g_steal_pointer (&differences),
                           (GDestroyNotify) g_ptr_array_unref, self->cancellable, written,
                           g_object_ref (self));
}

static gboolean
start_update (gpointer data)
{
  CairnIndexerSaved *self = data;
  g_autoptr(GTask) task = NULL;

  self->timeout_id = 0;
  if (self->running)
    {
      self->again = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->running = TRUE;
  task = g_task_new (self, self->cancellable, computed, NULL);
  g_task_set_source_tag (task, start_update);
  g_task_run_in_thread (task, compute_thread);
  return G_SOURCE_REMOVE;
}

/**
 * cairn_indexer_saved_queue_update:
 * @self: the saved searches
 *
 * Brings every saved search up to date with the index soon, once for
 * all the calls made meanwhile.
 */
void
cairn_indexer_saved_queue_update (CairnIndexerSaved *self)
{
  if (self->timeout_id == 0)
    self->timeout_id = g_timeout_add (UPDATE_DELAY_MS, start_update, self);
}

static void
cairn_indexer_saved_finalize (GObject *object)
{
  CairnIndexerSaved *self = CAIRN_INDEXER_SAVED (object);

  g_clear_object (&self->search);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (cairn_indexer_saved_parent_class)->finalize (object);
}

static void
cairn_indexer_saved_class_init (CairnIndexerSavedClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_indexer_saved_finalize;
}

static void
cairn_indexer_saved_init (CairnIndexerSaved *self)
{
  self->cancellable = g_cancellable_new ();
}

CairnIndexerSaved *
cairn_indexer_saved_new (CairnStore *store)
{
  CairnIndexerSaved *self = g_object_new (CAIRN_TYPE_INDEXER_SAVED, NULL);

  self->store = g_object_ref (store);
  self->search = cairn_search_new (store);
  return self;
}

/* Stops updating: what runs is cancelled and drops its reference. */
void
cairn_indexer_saved_free (CairnIndexerSaved *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self);
}
