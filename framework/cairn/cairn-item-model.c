/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change.h"
#include "cairn-collection-private.h"
#include "cairn-item-model.h"
#include "cairn-item-private.h"
#include "cairn-monitor-private.h"
#include "cairn-search.h"
#include "cairn-store-private.h"

/**
 * CairnItemModel:
 *
 * A live #GListModel of the items a #CairnItemQuery selects: the items of
 * one collection, those linked into a virtual collection (a saved search),
 * or those of every collection, filtered by MIME type, flags, date and
 * a full-text search, in the order of #CairnItemQuery:sort: newest first
 * (items without a date last, then by id, newest first) by default.
 *
 * Opening reads the id and date of every selected item, and the items
 * of the first page, in a worker thread. The model is empty until the
 * first page is read, which it shows at once; the rest follows after it
 * in a second #GListModel::items-changed, and #CairnItemModel:loading is
 * %TRUE until then. Every other item is read
 * when it is first asked for: g_list_model_get_item() gives at once an
 * item holding only its id and date, reads its page in a worker thread,
 * then replaces it with #GListModel::items-changed (one removed, one
 * added at the same position).
 *
 * The model follows the store through a #CairnMonitor: after each commit
 * (in this process or another) it reads the change log after
 * #CairnItemModel:revision and the items it names in a worker thread, and
 * applies each change at its exact position: an item that leaves the
 * selection (removed, moved away, flags or date out of the query's
 * range) is removed, one that enters it is inserted where the order puts
 * it, one whose date changed is moved, one that changed otherwise is
 * replaced in place. Reads, page loads and updates run one at a time in
 * this order of priority, and commits during a read are read next, so
 * that no change is lost. Only if the change log was collected past the
 * model's revision does the model read everything again and replace its
 * whole content.
 *
 * With a full-text search (cairn_item_query_set_search()), every open and
 * every update runs the search in the worker thread too, and the items
 * whose match changed since the last run are read again: they enter or
 * leave the model like the others. The indexer updates its index after
 * the commits the model follows, so the model also watches the index
 * files and runs an update when they change, at most once every
 * 100 ms however often the indexer writes. A search that fails (no index
 * yet, a query that is not valid) fails the read: the model emits
 * #CairnItemModel::read-failed with the #CAIRN_SEARCH_ERROR and tries
 * again after the next commit or change of the index, so that it lists
 * the items as soon as an indexer has made the index.
 *
 * The main loop never waits for SQLite.
 *
 * Since: 0.1
 */

/* Items one page load reads; the first page is read while opening. */
#define PAGE_SIZE 100

/* Change log entries one update reads at most. */
#define UPDATE_LIMIT 1000

/* How long changes of the search index are gathered into one update:
 * the indexer writes its index once per batch of changes, and a scan of
 * the store many times a second. */
#define INDEX_SETTLE_MS 100

/* An item's place in the order: its date is G_MININT64 when unknown. */
typedef struct
{
  guint64 id;
  gint64 date;
} Place;

typedef struct
{
  Place place;
  CairnItem *item;    /* NULL until read */
  gboolean stub;      /* item holds only the id and date */
} Entry;

struct _CairnItemModel
{
  GObject parent_instance;

  CairnStore *store;
  CairnItemQuery *query;
  CairnItemFilter *filter;    /* read by the one running job's thread */
  CairnMonitor *monitor;
  CairnSearch *search;        /* with a search condition */
  GPtrArray *index_monitors;  /* GFileMonitor of the index files */
  GSource *index_settle;      /* gathers changes of the index */

  GArray *entries;            /* Entry, in order */
  GArray *by_id;              /* Place of every entry, by id; NULL until indexed */
  guint64 revision;

  gboolean loading;
  guint first_shown;          /* entries the running open has shown early */
  gboolean busy;              /* a job runs */
  gboolean reopen;            /* everything must be read */
  gboolean dirty;             /* the change log may hold more */
  GArray *wanted;             /* ids of items to read */
  GHashTable *wanted_set;
};

static void cairn_item_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnItemModel, cairn_item_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      cairn_item_model_list_model_init))

enum {
  PROP_0,
  PROP_STORE,
  PROP_QUERY,
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

static void run_next (CairnItemModel *self);

/* Order */

/* Newest first; oldest first is the exact reverse (as the SQL orders). */
static int
compare_places (const Place *a,
                const Place *b,
                gboolean     ascending)
{
  int order = 0;

  if (a->date != b->date)
    order = a->date > b->date ? -1 : 1;
  else if (a->id != b->id)
    order = a->id > b->id ? -1 : 1;
  return ascending ? -order : order;
}

/* The position of @place in the model's entries, or where it would go. */
static guint
find_place (CairnItemModel *self,
            const Place    *place)
{
  guint low = 0;
  guint high = self->entries->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;

      if (compare_places (&g_array_index (self->entries, Entry, middle).place, place,
                          self->filter->ascending) < 0)
        low = middle + 1;
      else
        high = middle;
    }

  return low;
}

static gint64
item_date (CairnItem *item)
{
  GDateTime *date = cairn_item_get_date (item);

  return date != NULL ? g_date_time_to_unix (date) : G_MININT64;
}

static void
clear_entry (gpointer data)
{
  Entry *entry = data;

  g_clear_object (&entry->item);
}

static GArray *
entries_new (void)
{
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (Entry));

  g_array_set_clear_func (entries, clear_entry);
  return entries;
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  guint64 x = ((const Place *) a)->id;
  guint64 y = ((const Place *) b)->id;

  return x < y ? -1 : (x > y ? 1 : 0);
}

/* The position of @id in @by_id, or where it would go. */
static guint
find_id (GArray  *by_id,
         guint64  id)
{
  guint low = 0;
  guint high = by_id->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;

      if (g_array_index (by_id, Place, middle).id < id)
        low = middle + 1;
      else
        high = middle;
    }

  return low;
}

static Place *
lookup_id (GArray  *by_id,
           guint64  id)
{
  guint index = find_id (by_id, id);

  if (index < by_id->len && g_array_index (by_id, Place, index).id == id)
    return &g_array_index (by_id, Place, index);
  return NULL;
}

/* Jobs: one at a time, each a read in a worker thread */

typedef enum
{
  JOB_OPEN,
  JOB_INDEX,
  JOB_UPDATE,
  JOB_PAGE,
} JobKind;

typedef struct
{
  JobKind kind;
  CairnStore *store;
  CairnItemFilter *filter;    /* the model's */
  CairnSearch *search;        /* the model's, with a search condition */
  CairnItemModel *model;      /* open: for the first page */
  GMainContext *context;      /* open: the model's */
  CairnReader *reader;        /* open: while reading */
  guint64 from;
  GArray *ids;                /* to read (page), or named by the changes (update) */

  GArray *entries;            /* open */
  GArray *by_id;              /* index */
  guint64 revision;           /* open, update */
  GPtrArray *items;
  gboolean more;              /* update: the log holds more */
} Job;

static void
job_free (Job *job)
{
  g_clear_object (&job->model);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_object_unref (job->store);
  g_clear_object (&job->search);
  g_clear_pointer (&job->ids, g_array_unref);
  g_clear_pointer (&job->entries, g_array_unref);
  g_clear_pointer (&job->by_id, g_array_unref);
  g_clear_pointer (&job->items, g_ptr_array_unref);
  g_free (job);
}

/* The first page of an open, shown while the rest is read. */
typedef struct
{
  CairnItemModel *model;
  GArray *entries;
  GPtrArray *items;
} FirstPage;

static void apply_first_page (CairnItemModel *self,
                              GArray         *entries,
                              GPtrArray      *items);

static gboolean
show_first_page (gpointer user_data)
{
  FirstPage *page = user_data;

  apply_first_page (page->model, page->entries, page->items);
  g_object_unref (page->model);
  g_array_unref (page->entries);
  g_ptr_array_unref (page->items);
  g_free (page);
  return G_SOURCE_REMOVE;
}

/* Reads the items of the first entries. */
static GPtrArray *
read_first_items (Job     *job,
                  GError **error)
{
  guint n_first = MIN (job->entries->len, PAGE_SIZE);
  g_autofree guint64 *first = g_new (guint64, n_first + 1);
  g_autofree char *json = NULL;

  for (guint i = 0; i < n_first; i++)
    first[i] = g_array_index (job->entries, Entry, i).place.id;
  json = _cairn_ids_to_json (first, n_first);

  return _cairn_store_read_items_by_id (job->reader, NULL, json, error);
}

static void
add_place (guint64  id,
           gint64   date,
           gpointer user_data)
{
  Job *job = user_data;
  Entry entry = { { id, date }, NULL, FALSE };
  g_autoptr(GSource) source = NULL;
  FirstPage *page;

  g_array_append_val (job->entries, entry);
  if (job->entries->len != PAGE_SIZE)
    return;

  /* The first page goes to the main loop at once, from the same snapshot
   * (a second statement on the reader): the rest of a long collection
   * comes after it. If it cannot be read now, it is read at the end. */
  job->items = read_first_items (job, NULL);
  if (job->items == NULL)
    return;
  page = g_new (FirstPage, 1);
  page->model = g_object_ref (job->model);
  page->entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), PAGE_SIZE);
  g_array_set_clear_func (page->entries, clear_entry);
  g_array_append_vals (page->entries, job->entries->data, PAGE_SIZE);
  page->items = g_ptr_array_ref (job->items);
  /* Never g_main_context_invoke(): it runs the function in this thread
   * when no thread holds the context at the moment. */
  source = g_idle_source_new ();
  /* Before the open's result, which comes later at default priority. */
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, show_first_page, page, NULL);
  g_source_set_static_name (source, "[cairn] item model first page");
  g_source_attach (source, job->context);
}

static int
compare_ids_only (gconstpointer a,
                  gconstpointer b)
{
  guint64 x = *(const guint64 *) a;
  guint64 y = *(const guint64 *) b;

  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Every item the search matches now, by id. The index may lag the store
 * either way: the filter's other conditions are checked in the store. */
static GArray *
search_matches (Job     *job,
                GError **error)
{
  GArray *matches = cairn_search_run_sync (job->search, job->filter->search, 0, 0, NULL, error);

  if (matches != NULL)
    g_array_sort (matches, compare_ids_only);
  return matches;
}

/* Adds to @ids those of the sorted @before and @after that are in one
 * but not in the other, and not in @seen: the items that started or
 * stopped matching, which the changes did not name. */
static void
add_changed_matches (GArray     *before,
                     GArray     *after,
                     GHashTable *seen,
                     GArray     *ids)
{
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (guint64));

  guint i = 0;
  guint j = 0;

  while (i < before->len || j < after->len)
    {
      guint64 a = i < before->len ? g_array_index (before, guint64, i) : G_MAXUINT64;
      guint64 b = j < after->len ? g_array_index (after, guint64, j) : G_MAXUINT64;
      guint64 id;

      if (a == b)
        {
          i++;
          j++;
          continue;
        }
      id = MIN (a, b);
      if (a < b)
        i++;
      else
        j++;
      if (!g_hash_table_contains (seen, &id))
        g_array_append_val (changed, id);
    }
  /* After the lookups: @seen's keys point into @ids. */
  g_array_append_vals (ids, changed->data, changed->len);
}

static gboolean
open_job (Job     *job,
          GError **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_begin_read (job->store, error);

  if (reader == NULL)
    return FALSE;
  job->reader = reader;
  if (job->filter->collection_id != 0)
    {
      g_autoptr(CairnCollection) collection =
        _cairn_collection_load (reader->database, job->filter->collection_id, error);

      if (collection == NULL)
        return FALSE;
      job->filter->is_virtual = collection->is_virtual;
    }
  if (!_cairn_store_read_revision (reader->database, &job->revision, NULL, error))
    return FALSE;
  if (job->search != NULL)
    {
      GArray *matches = search_matches (job, error);

      if (matches == NULL)
        return FALSE;
      _cairn_item_filter_set_matches (job->filter, matches);
    }

  /* The index by id comes in a job of its own, after the first page:
   * sorting 100,000 ids took longer than reading them. */
  job->entries = entries_new ();
  if (!_cairn_store_foreach_item_place (reader, job->filter, add_place, job, error))
    return FALSE;
  if (job->items == NULL)
    job->items = read_first_items (job, error);

  return job->items != NULL;
}

/* The entries were read by the open job just before: nothing changes
 * them between two jobs but the main thread applying a job's result. */
static gboolean
index_job (Job     *job,
           GError **error)
{
  g_array_set_size (job->by_id, job->entries->len);
  for (guint i = 0; i < job->entries->len; i++)
    g_array_index (job->by_id, Place, i) = g_array_index (job->entries, Entry, i).place;
  g_array_sort (job->by_id, compare_ids);

  return TRUE;
}

static gboolean
update_job (Job     *job,
            GError **error)
{
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(GArray) before = NULL;
  g_autofree char *json = NULL;

  changes = _cairn_store_get_change_range (job->store, job->from, 0, UPDATE_LIMIT, NULL,
                                           &job->revision, error);
  if (changes == NULL)
    return FALSE;
  job->more = changes->len >= UPDATE_LIMIT;

  /* Whatever an item's changes were, its row read now says where it
   * belongs: the same read gives a fresh model its content. Sized for
   * them all, as @seen's keys point into the array. */
  job->ids = g_array_sized_new (FALSE, FALSE, sizeof (guint64), changes->len);
  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);
      guint64 id = cairn_change_get_entity_id (change);

      if (cairn_change_get_entity_kind (change) != CAIRN_ENTITY_ITEM)
        continue;
      g_array_append_val (job->ids, id);
      if (!g_hash_table_add (seen, &g_array_index (job->ids, guint64, job->ids->len - 1)))
        g_array_set_size (job->ids, job->ids->len - 1);
    }
  if (job->search != NULL)
    {
      GArray *after = search_matches (job, error);

      if (after == NULL)
        return FALSE;
      before = g_array_ref (job->filter->matches);
      add_changed_matches (before, after, seen, job->ids);
      _cairn_item_filter_set_matches (job->filter, after);
    }
  if (job->ids->len == 0)
    {
      job->items = g_ptr_array_new ();
      return TRUE;
    }

  reader = _cairn_store_begin_read (job->store, error);
  if (reader == NULL)
    return FALSE;
  json = _cairn_ids_to_json ((const guint64 *) job->ids->data, job->ids->len);
  job->items = _cairn_store_read_items_by_id (reader, job->filter, json, error);
  /* The next update compares with the matches of the last one applied. */
  if (job->items == NULL && before != NULL)
    _cairn_item_filter_set_matches (job->filter, g_steal_pointer (&before));

  return job->items != NULL;
}

static gboolean
page_job (Job     *job,
          GError **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_begin_read (job->store, error);
  g_autofree char *json = NULL;

  if (reader == NULL)
    return FALSE;
  json = _cairn_ids_to_json ((const guint64 *) job->ids->data, job->ids->len);
  job->items = _cairn_store_read_items_by_id (reader, NULL, json, error);

  return job->items != NULL;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  gboolean done = FALSE;

  switch (job->kind)
    {
    case JOB_OPEN:
      done = open_job (job, &error);
      break;
    case JOB_INDEX:
      done = index_job (job, &error);
      break;
    case JOB_UPDATE:
      done = update_job (job, &error);
      break;
    case JOB_PAGE:
      done = page_job (job, &error);
      break;
    }

  if (done)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Applying a job's result */

static void
set_revision (CairnItemModel *self,
              guint64         revision)
{
  if (self->revision == revision)
    return;
  self->revision = revision;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
}

/* The first page of a long open: the model shows it while the rest is
 * read, and the open's own result adds the rest after it. */
static void
apply_first_page (CairnItemModel *self,
                  GArray         *entries,
                  GPtrArray      *items)
{
  guint removed = self->entries->len;

  /* Late: the open it came from is applied already. */
  if (!self->reopen)
    return;

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = &g_array_index (entries, Entry, i);

      for (guint j = 0; j < items->len; j++)
        if (((CairnItem *) g_ptr_array_index (items, j))->id == entry->place.id)
          entry->item = g_object_ref (g_ptr_array_index (items, j));
    }
  g_array_unref (self->entries);
  self->entries = g_array_ref (entries);
  g_clear_pointer (&self->by_id, g_array_unref);
  self->first_shown = entries->len;

  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, entries->len);
  if (removed != entries->len)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

static void
apply_open (CairnItemModel *self,
            Job            *job)
{
  guint shown = self->first_shown;
  guint removed = shown > 0 ? 0 : self->entries->len;
  gboolean was_loading = self->loading;
  g_autoptr(GHashTable) items = g_hash_table_new (g_int64_hash, g_int64_equal);

  for (guint i = 0; i < job->items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (job->items, i);

      g_hash_table_insert (items, &item->id, item);
    }
  for (guint i = 0; i < MIN (job->entries->len, PAGE_SIZE); i++)
    {
      Entry *entry = &g_array_index (job->entries, Entry, i);

      /* The shown entries keep their items, placeholders included:
       * they are the same entries, from the same snapshot. */
      if (i < shown)
        {
          Entry *before = &g_array_index (self->entries, Entry, i);

          entry->item = g_steal_pointer (&before->item);
          entry->stub = before->stub;
        }
      else
        {
          CairnItem *item = g_hash_table_lookup (items, &entry->place.id);

          if (item != NULL)
            entry->item = g_object_ref (item);
        }
    }
  g_array_unref (self->entries);
  self->entries = g_steal_pointer (&job->entries);
  g_clear_pointer (&self->by_id, g_array_unref);
  g_array_set_size (self->wanted, 0);
  g_hash_table_remove_all (self->wanted_set);

  self->first_shown = 0;
  self->reopen = FALSE;
  self->loading = FALSE;
  /* What was committed after the snapshot is read next. */
  self->dirty = TRUE;
  set_revision (self, job->revision);

  if (removed > 0 || self->entries->len > shown)
    g_list_model_items_changed (G_LIST_MODEL (self), shown, removed,
                                self->entries->len - shown);
  if (removed != self->entries->len - shown)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  if (was_loading)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
apply_update (CairnItemModel *self,
              Job            *job)
{
  g_autoptr(GHashTable) items = g_hash_table_new (g_int64_hash, g_int64_equal);
  guint n_before = self->entries->len;

  for (guint i = 0; i < job->items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (job->items, i);

      g_hash_table_insert (items, &item->id, item);
    }

  for (guint i = 0; i < job->ids->len; i++)
    {
      guint64 id = g_array_index (job->ids, guint64, i);
      CairnItem *item = g_hash_table_lookup (items, &id);
      Place *old = lookup_id (self->by_id, id);
      Place place = { id, item != NULL ? item_date (item) : 0 };
      Entry entry = { place, NULL, FALSE };
      guint position;

      if (old != NULL)
        {
          position = find_place (self, old);
          g_assert (position < self->entries->len &&
                    g_array_index (self->entries, Entry, position).place.id == id);
          if (item != NULL && old->date == place.date)
            {
              Entry *kept = &g_array_index (self->entries, Entry, position);

              g_set_object (&kept->item, item);
              kept->stub = FALSE;
              g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 1);
              continue;
            }
          g_array_remove_index (self->entries, position);
          g_array_remove_index (self->by_id, find_id (self->by_id, id));
          g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
        }
      if (item != NULL)
        {
          g_array_insert_val (self->by_id, find_id (self->by_id, id), place);
          entry.item = g_object_ref (item);
          position = find_place (self, &place);
          g_array_insert_val (self->entries, position, entry);
          g_list_model_items_changed (G_LIST_MODEL (self), position, 0, 1);
        }
    }

  if (job->more)
    self->dirty = TRUE;
  set_revision (self, job->revision);
  if (n_before != self->entries->len)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

static void
apply_page (CairnItemModel *self,
            Job            *job)
{
  for (guint i = 0; i < job->items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (job->items, i);
      Place *place = lookup_id (self->by_id, item->id);
      guint position;
      Entry *entry;

      /* An item gone since is removed by the update that reads its removal. */
      if (place == NULL)
        continue;
      position = find_place (self, place);
      entry = &g_array_index (self->entries, Entry, position);
      if (entry->item == NULL)
        {
          entry->item = g_object_ref (item);
        }
      else if (entry->stub)
        {
          g_set_object (&entry->item, item);
          entry->stub = FALSE;
          g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 1);
        }
    }
}

static void
job_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      self->busy = FALSE;
      if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXPIRED))
        {
          self->reopen = TRUE;
          run_next (self);
          return;
        }
      /* Tried again at the next commit. */
      if (job->kind == JOB_UPDATE)
        self->dirty = TRUE;
      g_signal_emit (self, signals[READ_FAILED], 0, error);
      return;
    }

  switch (job->kind)
    {
    case JOB_OPEN:
      apply_open (self, job);
      break;
    case JOB_INDEX:
      self->by_id = g_steal_pointer (&job->by_id);
      break;
    case JOB_UPDATE:
      apply_update (self, job);
      break;
    case JOB_PAGE:
      apply_page (self, job);
      break;
    }
  self->busy = FALSE;
  run_next (self);
}

static void
start_job (CairnItemModel *self,
           Job            *job)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, job_done, NULL);

  job->store = g_object_ref (self->store);
  job->filter = self->filter;
  if (self->search != NULL)
    job->search = g_object_ref (self->search);
  if (job->kind == JOB_OPEN)
    {
      self->first_shown = 0;
      job->model = g_object_ref (self);
      job->context = g_main_context_ref_thread_default ();
    }
  job->from = self->revision;
  self->busy = TRUE;
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
}

/* Opening first, then the changes, then the items asked for: an update
 * always reads the rows after the changes it applies. */
static void
run_next (CairnItemModel *self)
{
  Job *job;

  if (self->busy)
    return;

  if (self->reopen)
    {
      job = g_new0 (Job, 1);
      job->kind = JOB_OPEN;
    }
  else if (self->loading)
    {
      return;
    }
  else if (self->by_id == NULL)
    {
      job = g_new0 (Job, 1);
      job->kind = JOB_INDEX;
      job->entries = g_array_ref (self->entries);
      job->by_id = g_array_new (FALSE, FALSE, sizeof (Place));
    }
  else if (self->dirty)
    {
      self->dirty = FALSE;
      job = g_new0 (Job, 1);
      job->kind = JOB_UPDATE;
    }
  else if (self->wanted->len > 0)
    {
      guint n = MIN (self->wanted->len, PAGE_SIZE);

      job = g_new0 (Job, 1);
      job->kind = JOB_PAGE;
      job->ids = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n);
      g_array_append_vals (job->ids, self->wanted->data, n);
      for (guint i = 0; i < n; i++)
        g_hash_table_remove (self->wanted_set, &g_array_index (self->wanted, guint64, i));
      g_array_remove_range (self->wanted, 0, n);
    }
  else
    {
      return;
    }

  start_job (self, job);
}

static void
on_monitor_read (CairnMonitor *monitor,
                 gpointer      user_data)
{
  CairnItemModel *self = user_data;

  self->dirty = TRUE;
  run_next (self);
}

/* An update runs the search again (an open, if the last one failed). */
static gboolean
index_settled (gpointer user_data)
{
  CairnItemModel *self = user_data;

  g_clear_pointer (&self->index_settle, g_source_unref);
  self->dirty = TRUE;
  run_next (self);
  return G_SOURCE_REMOVE;
}

/* The indexer wrote its index, made it or replaced it: the changes of
 * INDEX_SETTLE_MS give one update. */
static void
on_index_changed (GFileMonitor      *monitor,
                  GFile             *file,
                  GFile             *other_file,
                  GFileMonitorEvent  event,
                  gpointer           user_data)
{
  CairnItemModel *self = user_data;

  if (self->index_settle != NULL)
    return;
  self->index_settle = g_timeout_source_new (INDEX_SETTLE_MS);
  g_source_set_callback (self->index_settle, index_settled, self, NULL);
  g_source_set_static_name (self->index_settle, "[cairn] item model index change");
  g_source_attach (self->index_settle, g_main_context_get_thread_default ());
}

/* Watches the index database and its write-ahead log, where the
 * indexer's commits land until a checkpoint. */
static void
watch_index (CairnItemModel *self)
{
  g_autofree char *path = cairn_search_build_index_path (cairn_store_get_path (self->store));
  g_autofree char *folder = g_path_get_dirname (path);
  const char *suffixes[] = { "", "-wal" };

  /* The indexer makes the folder too. A monitor of a file in a missing
   * folder polls for it every few seconds; in a folder there, it hears
   * of the index at once. A read-only store leaves it missing. */
  g_mkdir_with_parents (folder, 0700);
  self->index_monitors = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (path, suffixes[i], NULL);
      g_autoptr(GFile) file = g_file_new_for_path (name);
      g_autoptr(GError) error = NULL;
      GFileMonitor *monitor = g_file_monitor_file (file, G_FILE_MONITOR_NONE, NULL, &error);

      if (monitor == NULL)
        {
          g_warning ("Item model cannot follow the search index %s: %s", name, error->message);
          continue;
        }
      g_signal_connect (monitor, "changed", G_CALLBACK (on_index_changed), self);
      g_ptr_array_add (self->index_monitors, monitor);
    }
}

/* The items from @position on, a page of them, are read next. */
static void
want_page (CairnItemModel *self,
           guint           position)
{
  guint end = MIN (self->entries->len, position + PAGE_SIZE);

  for (guint i = position; i < end; i++)
    {
      Entry *entry = &g_array_index (self->entries, Entry, i);
      guint64 *id;

      if (entry->item != NULL && !entry->stub)
        continue;
      if (g_hash_table_contains (self->wanted_set, &entry->place.id))
        continue;
      id = g_new (guint64, 1);
      *id = entry->place.id;
      g_hash_table_add (self->wanted_set, id);
      g_array_append_val (self->wanted, entry->place.id);
    }
  run_next (self);
}

/* GListModel */

static GType
cairn_item_model_get_item_type (GListModel *list)
{
  return CAIRN_TYPE_ITEM;
}

static guint
cairn_item_model_get_n_items (GListModel *list)
{
  return CAIRN_ITEM_MODEL (list)->entries->len;
}

static gpointer
cairn_item_model_get_item (GListModel *list,
                           guint       position)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (list);
  Entry *entry;

  if (position >= self->entries->len)
    return NULL;

  entry = &g_array_index (self->entries, Entry, position);
  if (entry->item == NULL)
    {
      entry->item = g_object_new (CAIRN_TYPE_ITEM, "id", entry->place.id, NULL);
      if (entry->place.date != G_MININT64)
        {
          g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (entry->place.date);

          cairn_item_set_date (entry->item, date);
        }
      entry->stub = TRUE;
      want_page (self, position);
    }

  return g_object_ref (entry->item);
}

static void
cairn_item_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = cairn_item_model_get_item_type;
  iface->get_n_items = cairn_item_model_get_n_items;
  iface->get_item = cairn_item_model_get_item;
}

/* GObject */

static void
cairn_item_model_constructed (GObject *object)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (cairn_item_model_parent_class)->constructed (object);

  if (self->query == NULL)
    self->query = cairn_item_query_new ();
  self->filter = _cairn_item_query_get_filter (self->query);

  /* The monitor only wakes the model, which reads the log itself (links
   * into virtual collections too, which monitors leave out): its scope,
   * the item 0, keeps its own reads empty. */
  self->monitor = cairn_monitor_new (self->store, &error);
  if (self->monitor != NULL)
    {
      cairn_monitor_add_entity_kind (self->monitor, CAIRN_ENTITY_ITEM);
      cairn_monitor_add_item (self->monitor, 0);
      _cairn_monitor_set_read_func (self->monitor, on_monitor_read, self);
    }
  else
    {
      g_warning ("Item model cannot follow %s: %s", cairn_store_get_path (self->store),
                 error->message);
    }
  if (self->filter->search != NULL)
    {
      self->search = cairn_search_new (self->store);
      watch_index (self);
    }

  self->reopen = TRUE;
  run_next (self);
}

static void
cairn_item_model_dispose (GObject *object)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  if (self->monitor != NULL)
    _cairn_monitor_set_read_func (self->monitor, NULL, NULL);
  g_clear_object (&self->monitor);
  for (guint i = 0; self->index_monitors != NULL && i < self->index_monitors->len; i++)
    {
      GFileMonitor *monitor = g_ptr_array_index (self->index_monitors, i);

      g_signal_handlers_disconnect_by_data (monitor, self);
      g_file_monitor_cancel (monitor);
    }
  g_clear_pointer (&self->index_monitors, g_ptr_array_unref);
  if (self->index_settle != NULL)
    g_source_destroy (self->index_settle);
  g_clear_pointer (&self->index_settle, g_source_unref);

  G_OBJECT_CLASS (cairn_item_model_parent_class)->dispose (object);
}

static void
cairn_item_model_finalize (GObject *object)
{
  CairnItemModel *self = CAIRN_ITEM_MODEL (object);

  g_clear_object (&self->store);
  g_clear_object (&self->search);
  g_clear_object (&self->query);
  g_clear_pointer (&self->filter, _cairn_item_filter_free);
  g_array_unref (self->entries);
  g_clear_pointer (&self->by_id, g_array_unref);
  g_array_unref (self->wanted);
  g_hash_table_unref (self->wanted_set);

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
    case PROP_QUERY:
      g_value_set_object (value, self->query);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_REVISION:
      g_value_set_uint64 (value, self->revision);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->entries->len);
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
    case PROP_QUERY:
      self->query = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_model_class_init (CairnItemModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cairn_item_model_constructed;
  object_class->dispose = cairn_item_model_dispose;
  object_class->finalize = cairn_item_model_finalize;
  object_class->get_property = cairn_item_model_get_property;
  object_class->set_property = cairn_item_model_set_property;

  /**
   * CairnItemModel:store:
   *
   * The store the model lists items of.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnItemModel:query:
   *
   * The query whose items the model lists, as it was when the model was
   * made; %NULL at construction selects every item.
   *
   * Since: 0.1
   */
  properties[PROP_QUERY] =
    g_param_spec_object ("query", NULL, NULL, CAIRN_TYPE_ITEM_QUERY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnItemModel:loading:
   *
   * Whether the model is still reading its content for the first time.
   *
   * Since: 0.1
   */
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItemModel:revision:
   *
   * The store revision whose state the model shows: every change up to
   * it is applied.
   *
   * Since: 0.1
   */
  properties[PROP_REVISION] =
    g_param_spec_uint64 ("revision", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItemModel:n-items:
   *
   * The number of items in the model.
   *
   * Since: 0.1
   */
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnItemModel::read-failed:
   * @self: the model
   * @error: what failed
   *
   * A read of the store failed. The model keeps its content and reads
   * again after the next commit.
   *
   * Since: 0.1
   */
  signals[READ_FAILED] =
    g_signal_new ("read-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cairn_item_model_init (CairnItemModel *self)
{
  self->entries = entries_new ();
  self->loading = TRUE;
  self->wanted = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->wanted_set = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

/**
 * cairn_item_model_new:
 * @store: a #CairnStore
 * @query: (nullable): the items to list, or %NULL for every item
 *
 * Creates a model of the items @query selects, in its order (newest
 * first by default), and starts reading them in a worker thread. Call it
 * in the thread whose main context is to run the model.
 *
 * Returns: (transfer full): a new #CairnItemModel
 *
 * Since: 0.1
 */
CairnItemModel *
cairn_item_model_new (CairnStore     *store,
                      CairnItemQuery *query)
{
  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (query == NULL || CAIRN_IS_ITEM_QUERY (query), NULL);

  return g_object_new (CAIRN_TYPE_ITEM_MODEL, "store", store, "query", query, NULL);
}

/**
 * cairn_item_model_new_for_collection:
 * @store: a #CairnStore
 * @collection_id: a collection, plain or virtual
 *
 * Creates a model of the items of a collection, or of the items linked
 * into a virtual collection, newest first.
 *
 * Returns: (transfer full): a new #CairnItemModel
 *
 * Since: 0.1
 */
CairnItemModel *
cairn_item_model_new_for_collection (CairnStore *store,
                                     guint64     collection_id)
{
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();

  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (collection_id != 0, NULL);

  cairn_item_query_set_collection_id (query, collection_id);
  return cairn_item_model_new (store, query);
}

/**
 * cairn_item_model_get_store:
 * @self: a #CairnItemModel
 *
 * Gets the store the model lists items of.
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
 * cairn_item_model_get_loading:
 * @self: a #CairnItemModel
 *
 * Gets whether the model is still reading its content for the first time.
 *
 * Returns: %TRUE until the first read is done
 *
 * Since: 0.1
 */
gboolean
cairn_item_model_get_loading (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), FALSE);

  return self->loading;
}

/**
 * cairn_item_model_get_revision:
 * @self: a #CairnItemModel
 *
 * Gets the store revision whose state the model shows.
 *
 * Returns: the revision up to which every change is applied
 *
 * Since: 0.1
 */
guint64
cairn_item_model_get_revision (CairnItemModel *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), 0);

  return self->revision;
}

/**
 * cairn_item_model_find:
 * @self: a #CairnItemModel
 * @item_id: an item id
 * @position: (out) (optional): the item's position
 *
 * Finds an item's position in the model, without reading the store.
 *
 * Returns: %TRUE if the model holds the item
 *
 * Since: 0.1
 */
gboolean
cairn_item_model_find (CairnItemModel *self,
                       guint64         item_id,
                       guint          *position)
{
  Place *place;

  g_return_val_if_fail (CAIRN_IS_ITEM_MODEL (self), FALSE);

  if (self->by_id == NULL)
    {
      for (guint i = 0; i < self->entries->len; i++)
        if (g_array_index (self->entries, Entry, i).place.id == item_id)
          {
            if (position != NULL)
              *position = i;
            return TRUE;
          }
      return FALSE;
    }
  place = lookup_id (self->by_id, item_id);
  if (place == NULL)
    return FALSE;
  if (position != NULL)
    *position = find_place (self, place);
  return TRUE;
}
