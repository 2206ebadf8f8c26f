/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "cairn-payload-files-private.h"
#include "cairn-store-private.h"
#include "cairn-store-schema-private.h"

/**
 * CairnStore:
 *
 * The store: one SQLite database in WAL mode, read and written directly
 * by every process that opens it.
 *
 * Writes happen in write transactions (cairn_store_write_sync()); each one
 * that changes anything gets the next store revision and appends entries
 * to the change log in the same SQLite transaction, so a reader sees a
 * transaction's changes and its log entries together or not at all. After
 * each commit the store broadcasts `org.cairn.Store1.Committed` on the
 * session bus (when `DBUS_SESSION_BUS_ADDRESS` names one) and emits
 * #CairnStore::committed in the main context it was opened in.
 *
 * Reads take a connection of their own, so they never wait for a writer.
 *
 * Since: 0.1
 */

#define DEFAULT_INLINE_THRESHOLD (16 * 1024)
#define STREAM_PAGE_SIZE 1000

/**
 * cairn_store_error_quark:
 *
 * Gets the error domain of the store.
 *
 * Returns: the #GQuark of %CAIRN_STORE_ERROR, whose codes are #CairnStoreError
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (cairn-store-error-quark, cairn_store_error)

G_DEFINE_FINAL_TYPE (CairnStore, cairn_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_ORIGIN,
  PROP_INLINE_THRESHOLD,
  N_PROPS
};

enum {
  COMMITTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

void
_cairn_reader_free (CairnReader *reader)
{
  CairnStore *self = reader->store;

  if (!sqlite3_get_autocommit (reader->database->db))
    _cairn_database_run (reader->database, "ROLLBACK", NULL, 0, NULL);

  g_mutex_lock (&self->readers_lock);
  g_ptr_array_add (self->idle_readers, reader->database);
  g_mutex_unlock (&self->readers_lock);
  g_free (reader);
}

/* A reader keeps a smaller page cache than the writer: readers are many
 * (one per thread reading at once), each kept open in the pool, and a
 * scan of a long change log filled each one's cache to the full 8 MB. */
static CairnDatabase *
open_connection (CairnStore  *self,
                 GError     **error)
{
  CairnDatabase *database = _cairn_database_open (self->path, FALSE, error);

  if (database != NULL && (!_cairn_database_configure (database, error) ||
                           !_cairn_database_exec (database, "PRAGMA cache_size = -2000", error)))
    g_clear_pointer (&database, _cairn_database_close);

  return database;
}

CairnReader *
_cairn_store_acquire_reader (CairnStore  *self,
                             GError     **error)
{
  CairnDatabase *database = NULL;
  CairnReader *reader;

  g_mutex_lock (&self->readers_lock);
  if (self->idle_readers->len > 0)
    database = g_ptr_array_steal_index_fast (self->idle_readers, self->idle_readers->len - 1);
  g_mutex_unlock (&self->readers_lock);

  if (database == NULL)
    database = open_connection (self, error);
  if (database == NULL)
    return NULL;

  reader = g_new (CairnReader, 1);
  reader->store = self;
  reader->database = database;

  return reader;
}

/* A reader in a read transaction, so that all it reads comes from one
 * snapshot of the store. */
CairnReader *
_cairn_store_begin_read (CairnStore  *self,
                         GError     **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);

  if (reader == NULL || !_cairn_database_run (reader->database, "BEGIN", NULL, 0, error))
    return NULL;

  return g_steal_pointer (&reader);
}

static void
cairn_store_finalize (GObject *object)
{
  CairnStore *self = (CairnStore *) object;

  g_clear_pointer (&self->writer, _cairn_database_close);
  g_ptr_array_unref (self->idle_readers);
  g_mutex_clear (&self->writer_lock);
  g_mutex_clear (&self->readers_lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->path);
  g_free (self->payload_dir);
  g_free (self->origin);

  G_OBJECT_CLASS (cairn_store_parent_class)->finalize (object);
}

static void
cairn_store_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  CairnStore *self = CAIRN_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_ORIGIN:
      g_value_set_string (value, self->origin);
      break;
    case PROP_INLINE_THRESHOLD:
      g_value_set_uint64 (value, self->inline_threshold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_store_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  CairnStore *self = CAIRN_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_ORIGIN:
      cairn_store_set_origin (self, g_value_get_string (value));
      break;
    case PROP_INLINE_THRESHOLD:
      cairn_store_set_inline_threshold (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_store_class_init (CairnStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_store_finalize;
  object_class->get_property = cairn_store_get_property;
  object_class->set_property = cairn_store_set_property;

  /**
   * CairnStore:path:
   *
   * The path of the database file.
   *
   * Since: 0.1
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnStore:origin:
   *
   * The origin recorded with every change this store object writes: the
   * agent instance id for an agent, %NULL for a client session. A
   * resource's own writes carry its origin, so they are not replayed back
   * to it.
   *
   * Since: 0.1
   */
  properties[PROP_ORIGIN] =
    g_param_spec_string ("origin", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnStore:inline-threshold:
   *
   * Payloads up to this many bytes are kept in the database; larger ones
   * in files beside it.
   *
   * Since: 0.1
   */
  properties[PROP_INLINE_THRESHOLD] =
    g_param_spec_uint64 ("inline-threshold", NULL, NULL, 0, G_MAXINT32, DEFAULT_INLINE_THRESHOLD,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnStore::committed:
   * @self: the store
   * @revision: the store revision of the committed transaction
   *
   * Emitted in the main context the store was opened in, after a write
   * transaction of this store object committed, so that monitors in the
   * writing process learn of it at once; other processes learn of it
   * from the `org.cairn.Store1.Committed` D-Bus signal.
   *
   * Since: 0.1
   */
  signals[COMMITTED] =
    g_signal_new ("committed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
cairn_store_init (CairnStore *self)
{
  g_mutex_init (&self->writer_lock);
  g_mutex_init (&self->readers_lock);
  self->idle_readers = g_ptr_array_new_with_free_func ((GDestroyNotify) _cairn_database_close);
  self->inline_threshold = DEFAULT_INLINE_THRESHOLD;
  self->context = g_main_context_ref_thread_default ();
}

/**
 * cairn_store_open:
 * @path: (type filename): the database file; its folder must exist
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the store at @path, creating the database if the file does not
 * exist and migrating an older schema. A database made by a newer Cairn
 * is refused with %CAIRN_STORE_ERROR_NEWER_SCHEMA and left untouched; a
 * file that is not a store gives %CAIRN_STORE_ERROR_CORRUPT.
 *
 * This blocks on disk I/O; see cairn_store_open_async().
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnStore *
cairn_store_open (const char    *path,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(CairnStore) self = NULL;
  g_autofree char *folder = NULL;
  CairnDatabase *writer;
  int version;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  folder = g_path_get_dirname (path);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "Cannot open store %s: the folder %s does not exist", path, folder);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && g_access (folder, W_OK) != 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_READ_ONLY,
                   "Cannot create store %s: the folder %s is not writable", path, folder);
      return NULL;
    }

  self = g_object_new (CAIRN_TYPE_STORE, "path", path, NULL);
  self->payload_dir = g_strconcat (path, CAIRN_PAYLOAD_FOLDER_SUFFIX, NULL);

  writer = _cairn_database_open (path, TRUE, error);
  if (writer == NULL)
    return NULL;
  self->writer = writer;

  /* Nothing may be written before the version is known to be ours. */
  if (!_cairn_store_schema_read_version (writer, path, &version, error))
    return NULL;
  if (version > CAIRN_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NEWER_SCHEMA,
                   "%s has schema version %d, newer than version %d that this Cairn "
                   "understands; it was left untouched", path, version,
                   CAIRN_STORE_SCHEMA_VERSION);
      return NULL;
    }

  if (!_cairn_database_configure (writer, error))
    {
      g_prefix_error (error, "Cannot open store %s: ", path);
      return NULL;
    }
  if (!_cairn_store_schema_migrate (writer, path, error))
    return NULL;

  return g_steal_pointer (&self);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  CairnStore *store = cairn_store_open (task_data, cancellable, &error);

  if (store == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, store, g_object_unref);
}

/**
 * cairn_store_open_async:
 * @path: (type filename): the database file
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the store is open
 * @user_data: data for @callback
 *
 * Opens the store at @path in a worker thread, as cairn_store_open() does.
 * The store's #CairnStore::committed signal is emitted in the thread-default
 * main context of the caller of this function.
 *
 * Since: 0.1
 */
void
cairn_store_open_async (const char          *path,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_store_open_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
}

/**
 * cairn_store_open_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_store_open_async().
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnStore *
cairn_store_open_finish (GAsyncResult  *result,
                         GError       **error)
{
  CairnStore *store;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_store_open_async, NULL);

  store = g_task_propagate_pointer (G_TASK (result), error);
  if (store != NULL)
    {
      g_main_context_unref (store->context);
      store->context = g_main_context_ref_thread_default ();
    }

  return store;
}

/**
 * cairn_store_get_path:
 * @self: a #CairnStore
 *
 * Gets the store's database file.
 *
 * Returns: (type filename): the database file
 *
 * Since: 0.1
 */
const char *
cairn_store_get_path (CairnStore *self)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return self->path;
}

/**
 * cairn_store_get_origin:
 * @self: a #CairnStore
 *
 * Gets the origin the store records with its writes.
 *
 * Returns: (nullable): the origin recorded with this store's writes
 *
 * Since: 0.1
 */
const char *
cairn_store_get_origin (CairnStore *self)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return self->origin;
}

/**
 * cairn_store_set_origin:
 * @self: a #CairnStore
 * @origin: (nullable): an agent instance id, or %NULL for a client session
 *
 * Sets the origin recorded with every later write of this store object.
 *
 * Since: 0.1
 */
void
cairn_store_set_origin (CairnStore *self,
                        const char *origin)
{
  g_return_if_fail (CAIRN_IS_STORE (self));

  g_mutex_lock (&self->writer_lock);
  if (g_strcmp0 (self->origin, origin) == 0)
    {
      g_mutex_unlock (&self->writer_lock);
      return;
    }
  g_free (self->origin);
  self->origin = g_strdup (origin);
  g_mutex_unlock (&self->writer_lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ORIGIN]);
}

/**
 * cairn_store_get_inline_threshold:
 * @self: a #CairnStore
 *
 * Gets the largest payload, in bytes, that the store keeps in the database
 * rather than in a file beside it.
 *
 * Returns: the largest payload, in bytes, kept in the database
 *
 * Since: 0.1
 */
gsize
cairn_store_get_inline_threshold (CairnStore *self)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), 0);

  return self->inline_threshold;
}

/**
 * cairn_store_set_inline_threshold:
 * @self: a #CairnStore
 * @threshold: the largest payload, in bytes, to keep in the database
 *
 * Sets the largest payload, in bytes, that the store keeps in the database
 * rather than in a file beside it.
 *
 * Since: 0.1
 */
void
cairn_store_set_inline_threshold (CairnStore *self,
                                  gsize       threshold)
{
  g_return_if_fail (CAIRN_IS_STORE (self));
  g_return_if_fail (threshold <= G_MAXINT32);

  if (self->inline_threshold == threshold)
    return;
  self->inline_threshold = threshold;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INLINE_THRESHOLD]);
}

gboolean
_cairn_store_read_revision (CairnDatabase  *database,
                            guint64        *revision,
                            guint64        *log_start,
                            GError        **error)
{
  g_autoptr(CairnStatement) stmt =
    _cairn_database_prepare (database, "SELECT revision, log_start FROM store_state", error);

  if (_cairn_database_step_row (database, stmt, error) != SQLITE_ROW)
    {
      if (error && *error == NULL)
        g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT, "The store has no state");
      return FALSE;
    }

  *revision = sqlite3_column_int64 (stmt, 0);
  if (log_start)
    *log_start = sqlite3_column_int64 (stmt, 1);

  return TRUE;
}

/**
 * cairn_store_get_revision:
 * @self: a #CairnStore
 * @revision: (out): the latest committed store revision
 * @error: return location for an error
 *
 * Reads the latest committed store revision.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_get_revision (CairnStore  *self,
                          guint64     *revision,
                          GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (revision != NULL, FALSE);

  reader = _cairn_store_acquire_reader (self, error);

  return reader != NULL && _cairn_store_read_revision (reader->database, revision, NULL, error);
}

typedef struct
{
  CairnStore *store;
  guint64 revision;
} Committed;

static gboolean
emit_committed (gpointer data)
{
  Committed *committed = data;

  g_signal_emit (committed->store, signals[COMMITTED], 0, committed->revision);

  return G_SOURCE_REMOVE;
}

static void
committed_free (gpointer data)
{
  Committed *committed = data;

  g_object_unref (committed->store);
  g_free (committed);
}

/* Emits #CairnStore::committed for @revision in the main context the
 * store was opened in. */
void
_cairn_store_emit_committed (CairnStore *self,
                             guint64     revision)
{
  Committed *committed = g_new (Committed, 1);

  committed->store = g_object_ref (self);
  committed->revision = revision;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, emit_committed, committed,
                              committed_free);
}

/* Reads in a reader of their own */

/* Reads one object with a query of @binds; @func gets the reader's
 * database as its user data. No row is CAIRN_STORE_ERROR_NOT_FOUND with
 * the formatted message. */
gpointer
_cairn_store_read_one (CairnStore       *self,
                       const char       *sql,
                       const CairnBind  *binds,
                       gsize             n_binds,
                       CairnRowFunc      func,
                       GError          **error,
                       const char       *format,
                       ...)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);
  g_autofree char *what = NULL;
  va_list args;

  if (reader == NULL)
    return NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  return _cairn_database_lookup (reader->database,
                                 _cairn_database_query (reader->database, sql, binds, n_binds,
                                                        error),
                                 func, reader->database, error, "%s", what);
}

/* Hands every row of a query of @binds, read in a reader of its own, to
 * @func. */
gboolean
_cairn_store_read_each (CairnStore        *self,
                        const char        *sql,
                        const CairnBind   *binds,
                        gsize              n_binds,
                        CairnRowCallback   func,
                        gpointer           user_data,
                        GError           **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);

  if (reader == NULL)
    return FALSE;

  return _cairn_database_foreach (reader->database,
                                  _cairn_database_query (reader->database, sql, binds, n_binds,
                                                         error),
                                  func, user_data, error);
}

/* Reads every object of a query of @binds in a reader of its own. */
GPtrArray *
_cairn_store_read_all (CairnStore       *self,
                       const char       *sql,
                       const CairnBind  *binds,
                       gsize             n_binds,
                       CairnRowFunc      func,
                       GDestroyNotify    free_func,
                       GError          **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);

  if (reader == NULL)
    return NULL;

  return _cairn_database_collect (reader->database,
                                  _cairn_database_query (reader->database, sql, binds, n_binds,
                                                         error),
                                  func, reader->database, free_func, error);
}

/* The count a query of @binds reads, in a reader of its own. */
gboolean
_cairn_store_read_count (CairnStore       *self,
                         const char       *sql,
                         const CairnBind  *binds,
                         gsize             n_binds,
                         guint64          *count,
                         GError          **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);
  g_autoptr(CairnStatement) stmt = NULL;

  if (reader == NULL)
    return FALSE;
  stmt = _cairn_database_query (reader->database, sql, binds, n_binds, error);
  if (_cairn_database_step_row (reader->database, stmt, error) != SQLITE_ROW)
    return FALSE;

  *count = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

gboolean
_cairn_store_run_locked (CairnStore  *self,
                         CairnStoreLockedFunc   func,
                         gpointer     data,
                         GError     **error)
{
  gboolean ok;

  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_run (self->writer, "BEGIN IMMEDIATE", NULL, 0, error);
  if (ok)
    {
      ok = func (self, data, error) && _cairn_database_run (self->writer, "COMMIT", NULL, 0, error);
      if (!ok)
        _cairn_database_run (self->writer, "ROLLBACK", NULL, 0, NULL);
    }
  g_mutex_unlock (&self->writer_lock);

  return ok;
}
