/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/stat.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cairn-collection.h"
#include "cairn-item.h"
#include "cairn-search.h"
#include "cairn-search-query-private.h"

/**
 * CairnSearch:
 *
 * Runs queries (docs/search.md) on the search index of a store.
 *
 * The index is the indexer agent's own SQLite database beside the store
 * (cairn_search_build_index_path()), which the indexer keeps current as
 * items change; a search reads it directly, in the calling process, as
 * clients read the store. Results come newest first (by the Date of a
 * message, the start of an event), as item ids or as thread summaries,
 * a page at a time.
 *
 * A #CairnSearch keeps one connection to the index, opened on first use
 * and opened again when the indexer has replaced the file. It may be used
 * from several threads; their searches take turns.
 *
 * Since: 0.1
 */

/* The schema the indexer writes (agents/indexer/cairn-indexer-index.c). */
#define INDEX_SCHEMA_VERSION 6
#define BUSY_TIMEOUT_MS 10000

struct _CairnSearch
{
  GObject parent_instance;

  CairnStore *store;
  char *path;
  GMutex lock;
  sqlite3 *db;
  dev_t device;
  ino_t inode;
};

G_DEFINE_FINAL_TYPE (CairnSearch, cairn_search, G_TYPE_OBJECT)

G_DEFINE_QUARK (cairn-search-error-quark, cairn_search_error)

/**
 * cairn_search_error_quark:
 *
 * Gets the #CAIRN_SEARCH_ERROR domain.
 *
 * Returns: the error domain
 *
 * Since: 0.1
 */

static void
close_db (CairnSearch *self)
{
  g_clear_pointer (&self->db, sqlite3_close);
}

static void
cairn_search_finalize (GObject *object)
{
  CairnSearch *self = CAIRN_SEARCH (object);

  close_db (self);
  g_clear_object (&self->store);
  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (cairn_search_parent_class)->finalize (object);
}

static void
cairn_search_class_init (CairnSearchClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_search_finalize;
}

static void
cairn_search_init (CairnSearch *self)
{
  g_mutex_init (&self->lock);
}

/**
 * cairn_search_build_index_path:
 * @store_path: the path of a store database
 *
 * Gets where the indexer keeps the search index of a store: `index` in a
 * folder of its own beside the store's database, named as the database
 * followed by `.search`. Not in the store's folder: every #CairnMonitor
 * watches that folder, and each write of the index would go through the
 * kernel's notification of every watcher.
 *
 * Returns: (transfer full) (type filename): the path of the index database
 *
 * Since: 0.1
 */
char *
cairn_search_build_index_path (const char *store_path)
{
  g_autofree char *folder = NULL;

  g_return_val_if_fail (store_path != NULL, NULL);

  folder = g_strconcat (store_path, ".search", NULL);
  return g_build_filename (folder, "index", NULL);
}

/**
 * cairn_search_new:
 * @store: the store whose index to search
 *
 * Creates a search on the index of @store. Nothing is opened before the
 * first query.
 *
 * Returns: (transfer full): a new #CairnSearch
 *
 * Since: 0.1
 */
CairnSearch *
cairn_search_new (CairnStore *store)
{
  CairnSearch *self;

  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);

  self = g_object_new (CAIRN_TYPE_SEARCH, NULL);
  self->store = g_object_ref (store);
  self->path = cairn_search_build_index_path (cairn_store_get_path (store));
  return self;
}

/**
 * cairn_search_get_store:
 * @self: a #CairnSearch
 *
 * Gets the store whose index @self searches.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_search_get_store (CairnSearch *self)
{
  g_return_val_if_fail (CAIRN_IS_SEARCH (self), NULL);

  return self->store;
}

static gboolean
set_db_error (CairnSearch  *self,
              const char   *what,
              GError      **error)
{
  int code = sqlite3_errcode (self->db);

  g_set_error (error, CAIRN_SEARCH_ERROR,
               code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? CAIRN_SEARCH_ERROR_CORRUPT
                                                               : CAIRN_SEARCH_ERROR_FAILED,
               "Cannot %s the search index %s: %s", what, self->path, sqlite3_errmsg (self->db));
  return FALSE;
}

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* Opens the index, or opens it again if the indexer replaced the file
 * (a rebuild writes a new one). Called with the lock held. */
static gboolean
ensure_db (CairnSearch  *self,
           GError      **error)
{
  GStatBuf st;

  if (g_stat (self->path, &st) != 0)
    {
      close_db (self);
      g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_NO_INDEX,
                   "There is no search index %s: no indexer has run on this store yet",
                   self->path);
      return FALSE;
    }
  if (self->db != NULL && st.st_dev == self->device && st.st_ino == self->inode)
    return TRUE;
  close_db (self);
  if (sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_db_error (self, "open", error);
      close_db (self);
      return FALSE;
    }
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  if (query_int (self->db, "PRAGMA user_version") != INDEX_SCHEMA_VERSION)
    {
      g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT,
                   "The search index %s is damaged or of another version", self->path);
      close_db (self);
      return FALSE;
    }
  self->device = st.st_dev;
  self->inode = st.st_ino;
  return TRUE;
}

/* The collections folder: may name, with their paths from the top;
 * @names keeps their strings. */
static GArray *
list_folders (CairnSearch  *self,
              GPtrArray   **names,
              GError      **error)
{
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (self->store, NULL, error);
  g_autoptr(GHashTable) by_id = NULL;
  g_autofree guint64 *ids = NULL;
  GArray *folders;

  if (collections == NULL)
    return NULL;
  by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  ids = g_new (guint64, collections->len);
  for (guint i = 0; i < collections->len; i++)
    {
      ids[i] = cairn_collection_get_id (g_ptr_array_index (collections, i));
      g_hash_table_insert (by_id, &ids[i], g_ptr_array_index (collections, i));
    }
  *names = g_ptr_array_new_with_free_func (g_free);
  folders = g_array_sized_new (FALSE, FALSE, sizeof (CairnSearchFolder), collections->len);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      GString *path = g_string_new (cairn_collection_get_name (collection));
      guint64 parent = cairn_collection_get_parent_id (collection);
      CairnSearchFolder folder;

      /* A loop in the tree would be a store bug; the depth bounds it. */
      for (guint depth = 0; parent != 0 && depth < collections->len; depth++)
        {
          CairnCollection *up = g_hash_table_lookup (by_id, &parent);

          if (up == NULL)
            break;
          g_string_prepend_c (path, '/');
          g_string_prepend (path, cairn_collection_get_name (up));
          parent = cairn_collection_get_parent_id (up);
        }
      folder.id = ids[i];
      folder.name = g_strdup (cairn_collection_get_name (collection));
      folder.path = g_string_free (path, FALSE);
      g_ptr_array_add (*names, (char *) folder.name);
      g_ptr_array_add (*names, (char *) folder.path);
      g_array_append_val (folders, folder);
    }
  return folders;
}

/* A statement around a query's condition: what comes before and after. */
typedef struct
{
  const char *head;
  const char *tail;
  gboolean probe;       /* the probe form of the condition, then a date cutoff */
} Shape;

static gboolean
compile (CairnSearch     *self,
         const char      *query,
         CairnSearchSql  *sql,
         GError         **error)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GArray) folders = list_folders (self, &names, error);

  if (folders == NULL)
    return FALSE;
  return _cairn_search_query_compile (query, folders, g_get_real_time () / G_USEC_PER_SEC, sql,
                                      error);
}

/* Binds @parameters from the @n-th ?; returns the number of the next. */
static int
bind_parameters (sqlite3_stmt *stmt,
                 int           n,
                 GPtrArray    *parameters)
{
  for (guint i = 0; i < parameters->len; i++, n++)
    {
      GVariant *value = g_ptr_array_index (parameters, i);

      if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        sqlite3_bind_int64 (stmt, n, g_variant_get_int64 (value));
      else
        sqlite3_bind_text (stmt, n, g_variant_get_string (value, NULL), -1, SQLITE_TRANSIENT);
    }
  return n;
}

/* Prepares @shape around the condition of @sql, binds its
 * parameters, then @cutoff for a probe, @limit (0: no limit) and
 * @offset. */
static sqlite3_stmt *
prepare (CairnSearch     *self,
         const Shape     *shape,
         CairnSearchSql  *sql,
         gint64           cutoff,
         guint            offset,
         guint            limit,
         GError         **error)
{
  g_autofree char *text = g_strconcat (shape->head, shape->probe ? sql->probe : sql->where,
                                       shape->tail, NULL);
  sqlite3_stmt *stmt = NULL;
  int n = 1;

  if (sqlite3_prepare_v2 (self->db, text, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (self, "query", error);
      return NULL;
    }
  n = bind_parameters (stmt, n, sql->parameters);
  if (shape->probe)
    sqlite3_bind_int64 (stmt, n++, cutoff);
  sqlite3_bind_int64 (stmt, n++, limit ? (gint64) limit : -1);
  sqlite3_bind_int64 (stmt, n, offset);
  return stmt;
}

/* Steps through @stmt, calling @row for each row; stops early, with an
 * error, when @cancellable is cancelled. */
static gboolean
run_statement (CairnSearch   *self,
               sqlite3_stmt  *stmt,
               void         (*row) (sqlite3_stmt *stmt,
                                    gpointer      data),
               gpointer       data,
               GCancellable  *cancellable,
               GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      row (stmt, data);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (self, "read", error);
  return TRUE;
}

static void
add_id (sqlite3_stmt *stmt,
        gpointer      data)
{
  guint64 id = sqlite3_column_int64 (stmt, 0);

  g_array_append_val ((GArray *) data, id);
}

static void
add_thread (sqlite3_stmt *stmt,
            gpointer      data)
{
  g_ptr_array_add (data, cairn_search_thread_new (sqlite3_column_int64 (stmt, 0),
                                                  (const char *) sqlite3_column_text (stmt, 1),
                                                  (const char *) sqlite3_column_text (stmt, 2),
                                                  sqlite3_column_int64 (stmt, 3),
                                                  sqlite3_column_int (stmt, 4),
                                                  sqlite3_column_int (stmt, 5),
                                                  sqlite3_column_int (stmt, 6)));
}

/* The key orders items as their dates do (docs/search.md). */
static const Shape ids_shape = {
  "SELECT d.id FROM docs d WHERE ",
  " ORDER BY d.key DESC LIMIT ? OFFSET ?",
  FALSE,
};

/* A first page is mostly found among the newest items: walking them
 * newest first and testing each (the probe form) stops as soon as the
 * page is full, where the set form reads every match of every term. The
 * walk is bounded by the key of the PROBE_WINDOW-th newest item, so
 * that a rare condition costs little before the set form runs. */
#define PROBE_WINDOW 1000

static const Shape probe_shape = {
  "SELECT d.id FROM docs d WHERE (",
  ") AND d.key >= ? ORDER BY d.key DESC LIMIT ? OFFSET ?",
  TRUE,
};

/* Threads with at least one match, newest first; the subject is the
 * oldest message's. Subjects and senders are in doc_text, by item id. */
static const Shape threads_shape = {
  "WITH m AS (SELECT d.id, d.thread FROM docs d WHERE ",
  ") SELECT t.thread,"
  " (SELECT x.subject FROM docs o LEFT JOIN doc_text x ON x.id = o.id"
  " WHERE o.thread = t.thread ORDER BY o.date, o.id LIMIT 1),"
  " group_concat(DISTINCT s.sender), max(t.date), count(*),"
  " sum(t.id IN (SELECT id FROM m)),"
  " sum(t.id NOT IN (SELECT id FROM flags WHERE flag = '\\Seen'))"
  " FROM docs t LEFT JOIN doc_text s ON s.id = t.id WHERE t.thread IN (SELECT thread FROM m)"
  " GROUP BY t.thread ORDER BY max(t.date) DESC, t.thread DESC LIMIT ? OFFSET ?",
  FALSE,
};

/* The key of the @n-th newest item; FALSE if there are fewer. */
static gboolean
window_cutoff (CairnSearch *self,
               guint        n,
               gint64      *cutoff)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  if (sqlite3_prepare_v2 (self->db, "SELECT key FROM docs ORDER BY key DESC LIMIT 1 OFFSET ?", -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, n - 1);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          *cutoff = sqlite3_column_int64 (stmt, 0);
          found = TRUE;
        }
    }
  sqlite3_finalize (stmt);
  return found;
}

static gboolean
run_shape (CairnSearch     *self,
           const Shape     *shape,
           CairnSearchSql  *sql,
           gint64           cutoff,
           guint            offset,
           guint            limit,
           void           (*row) (sqlite3_stmt *stmt,
                                  gpointer      data),
           gpointer         data,
           GCancellable    *cancellable,
           GError         **error)
{
  sqlite3_stmt *stmt = prepare (self, shape, sql, cutoff, offset, limit, error);
  gboolean ok;

  if (stmt == NULL)
    return FALSE;
  ok = run_statement (self, stmt, row, data, cancellable, error);
  sqlite3_finalize (stmt);
  return ok;
}

/* Compiles @query and takes the connection, which the returned locker
 * holds; NULL on error. */
static GMutexLocker *
start_search (CairnSearch     *self,
              const char      *query,
              CairnSearchSql  *sql,
              GError         **error)
{
  GMutexLocker *locker;

  if (!compile (self, query, sql, error))
    return NULL;
  locker = g_mutex_locker_new (&self->lock);
  if (!ensure_db (self, error))
    {
      g_mutex_locker_free (locker);
      return NULL;
    }
  return locker;
}

static gboolean
search (CairnSearch   *self,
        const Shape   *shape,
        const char    *query,
        guint          offset,
        guint          limit,
        void         (*row) (sqlite3_stmt *stmt,
                             gpointer      data),
        gpointer       data,
        GCancellable  *cancellable,
        GError       **error)
{
  g_auto(CairnSearchSql) sql = { NULL, };
  g_autoptr(GMutexLocker) locker = start_search (self, query, &sql, error);

  if (locker == NULL)
    return FALSE;
  return run_shape (self, shape, &sql, 0, offset, limit, row, data, cancellable, error);
}

/* Text terms and-ed with other conditions: FTS5 gives the terms'
 * matches newest first (its rowid is the key), each tested against the
 * other conditions, until the page is full. */
static gboolean
run_text_first (CairnSearch     *self,
                CairnSearchSql  *sql,
                guint            offset,
                guint            limit,
                GArray          *ids,
                GCancellable    *cancellable,
                GError         **error)
{
  g_autofree char *text =
    g_strconcat ("SELECT d.id FROM text JOIN docs d ON d.key = text.rowid WHERE text MATCH ?",
                 sql->rest ? " AND (" : "", sql->rest ? sql->rest : "", sql->rest ? ")" : "",
                 " ORDER BY text.rowid DESC LIMIT ? OFFSET ?", NULL);
  sqlite3_stmt *stmt = NULL;
  int n = 1;
  gboolean ok;

  if (sqlite3_prepare_v2 (self->db, text, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, "query", error);
  sqlite3_bind_text (stmt, n++, sql->fts, -1, SQLITE_TRANSIENT);
  n = bind_parameters (stmt, n, sql->rest_parameters);
  sqlite3_bind_int64 (stmt, n++, limit ? (gint64) limit : -1);
  sqlite3_bind_int64 (stmt, n, offset);
  ok = run_statement (self, stmt, add_id, ids, cancellable, error);
  sqlite3_finalize (stmt);
  return ok;
}

/* Item ids: text first when the query has text terms; else the probe
 * over the newest items, which is exact if it fills the page or covers
 * every item; else the set form. */
static gboolean
search_ids (CairnSearch   *self,
            const char    *query,
            guint          offset,
            guint          limit,
            GArray        *ids,
            GCancellable  *cancellable,
            GError       **error)
{
  g_auto(CairnSearchSql) sql = { NULL, };
  g_autoptr(GMutexLocker) locker = start_search (self, query, &sql, error);
  gint64 cutoff = G_MININT64;
  gboolean windowed;

  if (locker == NULL)
    return FALSE;
  if (sql.fts != NULL)
    return run_text_first (self, &sql, offset, limit, ids, cancellable, error);
  if (limit > 0 && offset <= G_MAXUINT / 8 && limit <= G_MAXUINT / 8)
    {
      windowed = window_cutoff (self, MAX (PROBE_WINDOW, 4 * (offset + limit)), &cutoff);
      if (!run_shape (self, &probe_shape, &sql, windowed ? cutoff : G_MININT64, offset, limit,
                      add_id, ids, cancellable, error))
        return FALSE;
      if (ids->len == limit || !windowed)
        return TRUE;
      g_array_set_size (ids, 0);
    }
  return run_shape (self, &ids_shape, &sql, 0, offset, limit, add_id, ids, cancellable, error);
}

/**
 * cairn_search_run_sync:
 * @self: a #CairnSearch
 * @query: a query (docs/search.md)
 * @offset: how many matches to skip, for the pages after the first
 * @limit: how many matches at most, 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Finds the items that match @query, newest first (items with the same
 * date by id, highest first). Blocks; see cairn_search_run_async().
 *
 * Returns: (transfer full) (element-type guint64): the item ids, or %NULL
 *   with %CAIRN_SEARCH_ERROR_INVALID_QUERY naming the character where the
 *   query goes wrong, %CAIRN_SEARCH_ERROR_NO_INDEX, or another
 *   #CAIRN_SEARCH_ERROR
 *
 * Since: 0.1
 */
GArray *
cairn_search_run_sync (CairnSearch   *self,
                       const char    *query,
                       guint          offset,
                       guint          limit,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_return_val_if_fail (CAIRN_IS_SEARCH (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!search_ids (self, query, offset, limit, ids, cancellable, error))
    return NULL;
  return g_steal_pointer (&ids);
}

/**
 * cairn_search_run_threads_sync:
 * @self: a #CairnSearch
 * @query: a query (docs/search.md)
 * @offset: how many threads to skip, for the pages after the first
 * @limit: how many threads at most, 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Finds the threads with at least one message that matches @query, the
 * thread with the newest message first. Blocks; see
 * cairn_search_run_threads_async().
 *
 * Returns: (transfer full) (element-type CairnSearchThread): the threads,
 *   or %NULL with a #CAIRN_SEARCH_ERROR as cairn_search_run_sync()
 *
 * Since: 0.1
 */
GPtrArray *
cairn_search_run_threads_sync (CairnSearch   *self,
                               const char    *query,
                               guint          offset,
                               guint          limit,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(GPtrArray) threads =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_search_thread_unref);

  g_return_val_if_fail (CAIRN_IS_SEARCH (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!search (self, &threads_shape, query, offset, limit, add_thread, threads, cancellable, error))
    return NULL;
  return g_steal_pointer (&threads);
}

typedef struct
{
  char *query;
  guint offset;
  guint limit;
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->query);
  g_free (data);
}

static void
run_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *data = task_data;
  GError *error = NULL;

  if (g_task_get_source_tag (task) == cairn_search_run_async)
    {
      GArray *ids = cairn_search_run_sync (source, data->query, data->offset, data->limit,
                                           cancellable, &error);

      if (ids == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, ids, (GDestroyNotify) g_array_unref);
    }
  else
    {
      GPtrArray *threads = cairn_search_run_threads_sync (source, data->query, data->offset,
                                                          data->limit, cancellable, &error);

      if (threads == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, threads, (GDestroyNotify) g_ptr_array_unref);
    }
}

static void
start_run (CairnSearch         *self,
           gpointer             source_tag,
           const char          *query,
           guint                offset,
           guint                limit,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  RunData *data = g_new0 (RunData, 1);

  data->query = g_strdup (query);
  data->offset = offset;
  data->limit = limit;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

/**
 * cairn_search_run_async:
 * @self: a #CairnSearch
 * @query: a query (docs/search.md)
 * @offset: how many matches to skip
 * @limit: how many matches at most, 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the search is done
 * @user_data: data for @callback
 *
 * Runs cairn_search_run_sync() in a thread.
 *
 * Since: 0.1
 */
void
cairn_search_run_async (CairnSearch         *self,
                        const char          *query,
                        guint                offset,
                        guint                limit,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_SEARCH (self));
  g_return_if_fail (query != NULL);

  start_run (self, cairn_search_run_async, query, offset, limit, cancellable, callback,
             user_data);
}

/**
 * cairn_search_run_finish:
 * @self: a #CairnSearch
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes cairn_search_run_async().
 *
 * Returns: (transfer full) (element-type guint64): the item ids, or %NULL
 *   with an error as cairn_search_run_sync()
 *
 * Since: 0.1
 */
GArray *
cairn_search_run_finish (CairnSearch   *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_search_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cairn_search_run_threads_async:
 * @self: a #CairnSearch
 * @query: a query (docs/search.md)
 * @offset: how many threads to skip
 * @limit: how many threads at most, 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the search is done
 * @user_data: data for @callback
 *
 * Runs cairn_search_run_threads_sync() in a thread.
 *
 * Since: 0.1
 */
void
cairn_search_run_threads_async (CairnSearch         *self,
                                const char          *query,
                                guint                offset,
                                guint                limit,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_SEARCH (self));
  g_return_if_fail (query != NULL);

  start_run (self, cairn_search_run_threads_async, query, offset, limit, cancellable, callback,
             user_data);
}

/**
 * cairn_search_run_threads_finish:
 * @self: a #CairnSearch
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes cairn_search_run_threads_async().
 *
 * Returns: (transfer full) (element-type CairnSearchThread): the threads,
 *   or %NULL with an error as cairn_search_run_sync()
 *
 * Since: 0.1
 */
GPtrArray *
cairn_search_run_threads_finish (CairnSearch   *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_search_run_threads_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* What the store holds: the collection and flags of every item outside
 * virtual collections, by id, as "COLLECTION FLAG...". */
static gboolean
add_store_item (CairnItem *item,
                gpointer   data)
{
  g_autofree char *flags = cairn_flags_to_string (cairn_item_get_flags (item));
  guint64 *id = g_new (guint64, 1);

  *id = cairn_item_get_id (item);
  g_hash_table_insert (data, id,
                       g_strdup_printf ("%" G_GUINT64_FORMAT "%s%s",
                                        cairn_item_get_collection_id (item), *flags ? " " : "",
                                        flags));
  return TRUE;
}

static GHashTable *
read_store_items (CairnSearch   *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (self->store, NULL, error);
  g_autoptr(GHashTable) items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                       g_free);

  if (collections == NULL)
    return NULL;
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);

      if (!cairn_collection_get_virtual (collection) &&
          !cairn_store_foreach_item (self->store, cairn_collection_get_id (collection), NULL,
                                     add_store_item, items, cancellable, error))
        return NULL;
    }
  return g_steal_pointer (&items);
}

/* Compares the index's documents, folders and flags with @items, which it empties
 * of the items it found. */
static gboolean
compare_index (CairnSearch  *self,
               GHashTable   *items,
               guint        *n_stale,
               guint        *n_state,
               GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db,
                          "SELECT d.id, d.collection || coalesce(' ' || (SELECT"
                          " group_concat(flag, ' ') FROM (SELECT flag FROM flags f"
                          " WHERE f.id = d.id ORDER BY flag COLLATE BINARY)), '') FROM docs d", -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (self, "check", error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      guint64 id = sqlite3_column_int64 (stmt, 0);
      const char *state = (const char *) sqlite3_column_text (stmt, 1);
      const char *expected = g_hash_table_lookup (items, &id);

      if (!g_hash_table_contains (items, &id))
        (*n_stale)++;
      else
        {
          /* Flags sorted by byte value both, separated by single spaces. */
          if (g_strcmp0 (expected, state) != 0)
            (*n_state)++;
          g_hash_table_remove (items, &id);
        }
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_db_error (self, "check", error);
  return TRUE;
}

/**
 * cairn_search_check_sync:
 * @self: a #CairnSearch
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks the index: that the database is sound (SQLite's quick check and
 * FTS5's integrity check) and that it holds every item of the store
 * outside virtual collections, no other, and each in the collection and
 * with the flags the store has. Meaningful when the indexer has caught up (`cairnctl status`
 * shows no pending changes); a running indexer may be a change behind.
 *
 * Returns: %TRUE if the index is sound and current; %FALSE with
 *   %CAIRN_SEARCH_ERROR_CORRUPT, %CAIRN_SEARCH_ERROR_INCONSISTENT (the
 *   message counts what differs), %CAIRN_SEARCH_ERROR_NO_INDEX or another
 *   error
 *
 * Since: 0.1
 */
gboolean
cairn_search_check_sync (CairnSearch   *self,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GHashTable) items = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  guint n_stale = 0, n_state = 0, n_missing;

  g_return_val_if_fail (CAIRN_IS_SEARCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  if (!ensure_db (self, error))
    return FALSE;
  if (sqlite3_exec (self->db, "INSERT INTO text (text) VALUES ('integrity-check')", NULL, NULL,
                    NULL) != SQLITE_OK)
    {
      g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT,
                   "The search index %s is damaged: %s", self->path, sqlite3_errmsg (self->db));
      return FALSE;
    }
  items = read_store_items (self, cancellable, error);
  if (items == NULL || !compare_index (self, items, &n_stale, &n_state, error))
    return FALSE;
  n_missing = g_hash_table_size (items);
  if (n_missing + n_stale + n_state > 0)
    {
      g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INCONSISTENT,
                   "The search index %s lacks %u items, keeps %u removed ones and has "
                   "another folder or other flags for %u", self->path, n_missing, n_stale,
                   n_state);
      return FALSE;
    }
  return TRUE;
}

/**
 * cairn_search_request_rebuild:
 * @self: a #CairnSearch
 * @error: return location for a #GError
 *
 * Asks the indexer to rebuild the index from the store: it does so when
 * it next starts (`cairnctl index rebuild` restarts it). Searches answer
 * from the old index until the new one replaces it.
 *
 * Returns: %TRUE if the request is recorded, or there is no index yet
 *
 * Since: 0.1
 */
gboolean
cairn_search_request_rebuild (CairnSearch  *self,
                              GError      **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (CAIRN_IS_SEARCH (self), FALSE);

  locker = g_mutex_locker_new (&self->lock);
  if (!ensure_db (self, &local_error))
    {
      /* No index, or a damaged one: the indexer builds a new one anyway. */
      if (g_error_matches (local_error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_NO_INDEX) ||
          g_error_matches (local_error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (sqlite3_exec (self->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuild', '1')",
                    NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (self, "write to", error);
  return TRUE;
}
