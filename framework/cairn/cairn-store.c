/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "cairn-change-private.h"
#include "cairn-dbus-store.h"
#include "cairn-resource.h"
#include "cairn-collection-private.h"
#include "cairn-flags-private.h"
#include "cairn-item-private.h"
#include "cairn-part-private.h"
#include "cairn-store-private.h"
#include "cairn-store-schema-private.h"
#include "cairn-transaction-private.h"

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

/* A reader connection borrowed from the store's pool. */
typedef struct
{
  CairnStore *store;
  CairnDatabase *database;
} CairnReader;

static void
cairn_reader_free (CairnReader *reader)
{
  CairnStore *self = reader->store;

  if (!sqlite3_get_autocommit (reader->database->db))
    sqlite3_exec (reader->database->db, "ROLLBACK", NULL, NULL, NULL);

  g_mutex_lock (&self->readers_lock);
  g_ptr_array_add (self->idle_readers, reader->database);
  g_mutex_unlock (&self->readers_lock);
  g_free (reader);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnReader, cairn_reader_free)

static CairnDatabase *
open_connection (CairnStore  *self,
                 GError     **error)
{
  CairnDatabase *database = _cairn_database_open (self->path, FALSE, error);

  if (database != NULL && !_cairn_database_configure (database, error))
    g_clear_pointer (&database, _cairn_database_close);

  return database;
}

static CairnReader *
cairn_store_acquire_reader (CairnStore  *self,
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
static CairnReader *
cairn_store_begin_read (CairnStore  *self,
                        GError     **error)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);

  if (reader == NULL || !_cairn_database_exec (reader->database, "BEGIN", error))
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

char *
_cairn_store_payload_path (CairnStore *self,
                           const char *name)
{
  return g_build_filename (self->payload_dir, name, NULL);
}

static gboolean
read_revision (CairnDatabase  *database,
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

  reader = cairn_store_acquire_reader (self, error);

  return reader != NULL && read_revision (reader->database, revision, NULL, error);
}

/* Writes */

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

/* One org.cairn.Store1 object per process at CAIRN_STORE_OBJECT_PATH on
 * the session bus, shared by every store object. The bus is connected on
 * the first commit, not at open, and only when the environment names a
 * session bus: a store without one works in-process. */
static CairnStore1 *
get_notifier (void)
{
  static GMutex lock;
  static gboolean connected;
  static CairnStore1 *notifier;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(CairnStore1) skeleton = NULL;
  g_autoptr(GError) error = NULL;
  CairnStore1 *result;

  g_mutex_lock (&lock);
  if (connected || g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      result = notifier;
      g_mutex_unlock (&lock);
      return result;
    }

  connected = TRUE;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus != NULL)
    {
      skeleton = cairn_store1_skeleton_new ();
      if (g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), bus,
                                            CAIRN_STORE_OBJECT_PATH, &error))
        notifier = g_steal_pointer (&skeleton);
    }
  if (error != NULL)
    g_warning ("Commits are not broadcast on the session bus: %s", error->message);

  result = notifier;
  g_mutex_unlock (&lock);
  return result;
}

static gboolean
write_locked (CairnStore            *self,
              CairnTransactionFunc   func,
              gpointer               user_data,
              guint64               *revision,
              GCancellable          *cancellable,
              GError               **error)
{
  g_autoptr(CairnTransaction) transaction = NULL;
  gboolean ok;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!_cairn_database_exec (self->writer, "BEGIN IMMEDIATE", error))
    {
      g_prefix_error (error, "Cannot start a write transaction on %s: ", self->path);
      return FALSE;
    }

  transaction = _cairn_transaction_new (self, self->writer);
  ok = func (transaction, user_data, error);
  if (!ok && error != NULL && *error == NULL)
    {
      g_critical ("A CairnTransactionFunc returned FALSE without setting an error");
      g_set_error_literal (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_FAILED,
                           "The write transaction failed");
    }

  ok = ok &&
       !g_cancellable_set_error_if_cancelled (cancellable, error) &&
       _cairn_transaction_prepare_commit (transaction, error) &&
       _cairn_database_exec (self->writer, "COMMIT", error);
  if (!ok)
    {
      sqlite3_exec (self->writer->db, "ROLLBACK", NULL, NULL, NULL);
      _cairn_transaction_finish (transaction, FALSE);
      return FALSE;
    }

  _cairn_transaction_finish (transaction, TRUE);
  *revision = cairn_transaction_get_revision (transaction);

  return TRUE;
}

/**
 * cairn_store_write_sync:
 * @self: a #CairnStore
 * @func: (scope call): does the writes
 * @user_data: data for @func
 * @revision: (out) (optional): the revision of the committed transaction, or
 *   0 if it changed nothing
 * @cancellable: (nullable): a #GCancellable; cancelling before the commit
 *   rolls the transaction back
 * @error: return location for an error
 *
 * Runs @func in one write transaction and commits it. The write lock is
 * held only while @func runs: keep it short and never return to a main
 * loop inside it. Large imports go in several transactions of at most
 * %CAIRN_STORE_BATCH_SIZE items, as cairn_store_create_items_sync() does.
 *
 * Returns: %TRUE if the transaction committed
 *
 * Since: 0.1
 */
gboolean
cairn_store_write_sync (CairnStore            *self,
                        CairnTransactionFunc   func,
                        gpointer               user_data,
                        guint64               *revision,
                        GCancellable          *cancellable,
                        GError               **error)
{
  guint64 committed_revision = 0;
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->writer_lock);
  ok = write_locked (self, func, user_data, &committed_revision, cancellable, error);
  g_mutex_unlock (&self->writer_lock);

  if (ok && committed_revision > 0)
    {
      CairnStore1 *notifier = get_notifier ();
      Committed *committed = g_new (Committed, 1);

      /* Flushed before returning, so that a process that writes and
       * exits at once still notifies. */
      if (notifier != NULL)
        {
          cairn_store1_emit_committed (notifier, committed_revision);
          g_dbus_connection_flush_sync (g_dbus_interface_skeleton_get_connection (
                                          G_DBUS_INTERFACE_SKELETON (notifier)), NULL, NULL);
        }

      committed->store = g_object_ref (self);
      committed->revision = committed_revision;
      g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, emit_committed,
                                  committed, committed_free);
    }

  if (revision)
    *revision = committed_revision;

  return ok;
}

typedef struct
{
  CairnTransactionFunc func;
  gpointer user_data;
  GDestroyNotify user_data_free;
} WriteData;

static void
write_data_free (WriteData *data)
{
  if (data->user_data_free)
    data->user_data_free (data->user_data);
  g_free (data);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  GError *error = NULL;
  guint64 revision;

  if (cairn_store_write_sync (source_object, data->func, data->user_data, &revision,
                              cancellable, &error))
    g_task_return_int (task, (gssize) revision);
  else
    g_task_return_error (task, error);
}

/**
 * cairn_store_write_async:
 * @self: a #CairnStore
 * @func: (scope notified): does the writes, in a worker thread
 * @user_data: data for @func
 * @user_data_free: (nullable): frees @user_data
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the transaction committed or failed
 * @callback_data: data for @callback
 *
 * Runs @func in one write transaction in a worker thread, as
 * cairn_store_write_sync() does.
 *
 * Since: 0.1
 */
void
cairn_store_write_async (CairnStore           *self,
                         CairnTransactionFunc  func,
                         gpointer              user_data,
                         GDestroyNotify        user_data_free,
                         GCancellable         *cancellable,
                         GAsyncReadyCallback   callback,
                         gpointer              callback_data)
{
  g_autoptr(GTask) task = NULL;
  WriteData *data;

  g_return_if_fail (CAIRN_IS_STORE (self));
  g_return_if_fail (func != NULL);

  data = g_new (WriteData, 1);
  data->func = func;
  data->user_data = user_data;
  data->user_data_free = user_data_free;

  task = g_task_new (self, cancellable, callback, callback_data);
  g_task_set_source_tag (task, cairn_store_write_async);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  g_task_run_in_thread (task, write_thread);
}

/**
 * cairn_store_write_finish:
 * @self: a #CairnStore
 * @result: the #GAsyncResult passed to the callback
 * @revision: (out) (optional): the revision of the committed transaction
 * @error: return location for an error
 *
 * Returns: %TRUE if the transaction committed
 *
 * Since: 0.1
 */
gboolean
cairn_store_write_finish (CairnStore    *self,
                          GAsyncResult  *result,
                          guint64       *revision,
                          GError       **error)
{
  gssize value;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_store_write_async, FALSE);

  value = g_task_propagate_int (G_TASK (result), error);
  if (value < 0)
    return FALSE;
  if (revision)
    *revision = (guint64) value;

  return TRUE;
}

typedef struct
{
  GPtrArray *items;
  guint start;
  guint end;
} ItemBatch;

static gboolean
create_item_batch (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  ItemBatch *batch = user_data;

  for (guint i = batch->start; i < batch->end; i++)
    if (!cairn_transaction_create_item (transaction, g_ptr_array_index (batch->items, i), error))
      return FALSE;

  return TRUE;
}

/**
 * cairn_store_create_items_sync:
 * @self: a #CairnStore
 * @items: (element-type CairnItem): items to create
 * @cancellable: (nullable): a #GCancellable, checked between batches
 * @error: return location for an error
 *
 * Creates @items in write transactions of %CAIRN_STORE_BATCH_SIZE items,
 * so that writers in other processes interleave. Each batch is atomic; on
 * failure, the batches before the failing one stay committed, and their
 * items have their ids set.
 *
 * Returns: %TRUE if every item was created
 *
 * Since: 0.1
 */
gboolean
cairn_store_create_items_sync (CairnStore    *self,
                               GPtrArray     *items,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (items != NULL, FALSE);

  for (guint start = 0; start < items->len; start += CAIRN_STORE_BATCH_SIZE)
    {
      ItemBatch batch = { items, start, MIN (items->len, start + CAIRN_STORE_BATCH_SIZE) };

      if (!cairn_store_write_sync (self, create_item_batch, &batch, NULL, cancellable, error))
        return FALSE;
    }

  return TRUE;
}

/* Reads */

/* Reads one object with a query of @binds in a reader of its own; @func
 * gets the reader's database as its user data. */
static gpointer
read_one (CairnStore       *self,
          const char       *sql,
          const CairnBind  *binds,
          gsize             n_binds,
          CairnRowFunc      func,
          GError          **error,
          const char       *format,
          ...) G_GNUC_PRINTF (7, 8);

static gpointer
read_one (CairnStore       *self,
          const char       *sql,
          const CairnBind  *binds,
          gsize             n_binds,
          CairnRowFunc      func,
          GError          **error,
          const char       *format,
          ...)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);
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
static gboolean
read_each (CairnStore        *self,
           const char        *sql,
           const CairnBind   *binds,
           gsize              n_binds,
           CairnRowCallback   func,
           gpointer           user_data,
           GError           **error)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);

  if (reader == NULL)
    return FALSE;

  return _cairn_database_foreach (reader->database,
                                  _cairn_database_query (reader->database, sql, binds, n_binds,
                                                         error),
                                  func, user_data, error);
}

/* Reads every object of a query of @binds in a reader of its own. */
static GPtrArray *
read_all (CairnStore       *self,
          const char       *sql,
          const CairnBind  *binds,
          gsize             n_binds,
          CairnRowFunc      func,
          GDestroyNotify    free_func,
          GError          **error)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);

  if (reader == NULL)
    return NULL;

  return _cairn_database_collect (reader->database,
                                  _cairn_database_query (reader->database, sql, binds, n_binds,
                                                         error),
                                  func, reader->database, free_func, error);
}

#define COLLECTION_COLUMNS \
  "id, parent_id, name, resource, remote_id, remote_revision, mime_types, is_virtual, " \
  "cache_inherit, cache_check_interval, cache_timeout, cache_sync_on_demand, " \
  "cache_local_parts, revision"

static char **
split_words (const char *joined)
{
  if (joined == NULL || *joined == '\0')
    return g_new0 (char *, 1);

  return g_strsplit (joined, " ", -1);
}

static gboolean
set_collection_attribute (CairnStatement  *row,
                          gpointer         collection,
                          GError         **error)
{
  g_autoptr(GBytes) value = g_bytes_new (sqlite3_column_blob (row, 1),
                                         sqlite3_column_bytes (row, 1));

  cairn_collection_set_attribute (collection, (const char *) sqlite3_column_text (row, 0), value);
  return TRUE;
}

/* A CairnRowFunc for COLLECTION_COLUMNS; @database reads the attributes. */
static gpointer
collection_from_row (CairnStatement  *row,
                     gpointer         database,
                     GError         **error)
{
  g_autoptr(CairnCollection) collection = g_object_new (CAIRN_TYPE_COLLECTION, NULL);
  CairnCachePolicy *policy = collection->cache_policy;
  g_auto(GStrv) local_parts = split_words ((const char *) sqlite3_column_text (row, 12));
  CairnStatement *attributes;

  collection->id = sqlite3_column_int64 (row, 0);
  collection->parent_id = sqlite3_column_int64 (row, 1);
  collection->name = _cairn_column_dup (row, 2);
  collection->resource = _cairn_column_dup (row, 3);
  collection->remote_id = _cairn_column_dup (row, 4);
  collection->remote_revision = _cairn_column_dup (row, 5);
  g_strfreev (collection->content_mime_types);
  collection->content_mime_types = split_words ((const char *) sqlite3_column_text (row, 6));
  collection->is_virtual = sqlite3_column_int (row, 7) != 0;
  cairn_cache_policy_set_inherit (policy, sqlite3_column_int (row, 8));
  cairn_cache_policy_set_check_interval (policy, MAX (-1, sqlite3_column_int (row, 9)));
  cairn_cache_policy_set_cache_timeout (policy, MAX (-1, sqlite3_column_int (row, 10)));
  cairn_cache_policy_set_sync_on_demand (policy, sqlite3_column_int (row, 11));
  cairn_cache_policy_set_local_parts (policy, (const char * const *) local_parts);
  collection->revision = sqlite3_column_int64 (row, 13);

  attributes = _cairn_database_query (database,
                                      "SELECT name, value FROM collection_attributes "
                                      "WHERE collection_id = ?",
                                      CAIRN_BINDS (_cairn_bind_int (collection->id)), error);
  if (!_cairn_database_foreach (database, attributes, set_collection_attribute, collection, error))
    return NULL;

  return g_steal_pointer (&collection);
}

CairnCollection *
_cairn_store_load_collection (CairnDatabase  *database,
                              guint64         id,
                              GError        **error)
{
  return _cairn_database_lookup (database,
                                 _cairn_database_query (database,
                                                        "SELECT " COLLECTION_COLUMNS " FROM "
                                                        "collections WHERE id = ?",
                                                        CAIRN_BINDS (_cairn_bind_int (id)), error),
                                 collection_from_row, database, error,
                                 "No collection with id %" G_GUINT64_FORMAT, id);
}

/**
 * cairn_store_get_collection:
 * @self: a #CairnStore
 * @id: a collection id
 * @error: return location for an error
 *
 * Returns: (transfer full): the collection with its attributes, or %NULL
 *   with %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnCollection *
cairn_store_get_collection (CairnStore  *self,
                            guint64      id,
                            GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = cairn_store_acquire_reader (self, error);
  if (reader == NULL)
    return NULL;

  return _cairn_store_load_collection (reader->database, id, error);
}

/**
 * cairn_store_find_collection_by_remote_id:
 * @self: a #CairnStore
 * @resource: the owning resource's instance id
 * @remote_id: the backend's id of the collection
 * @error: return location for an error
 *
 * Returns: (transfer full): the collection, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnCollection *
cairn_store_find_collection_by_remote_id (CairnStore  *self,
                                          const char  *resource,
                                          const char  *remote_id,
                                          GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  return read_one (self,
                   "SELECT " COLLECTION_COLUMNS " FROM collections "
                   "WHERE resource = ? AND remote_id = ?",
                   CAIRN_BINDS (_cairn_bind_text (resource), _cairn_bind_text (remote_id)),
                   collection_from_row, error,
                   "No collection with remote id %s in resource %s", remote_id, resource);
}

/* Depth-first, parents before children, siblings by name. */
static void
append_subtree (GPtrArray  *sorted,
                GHashTable *children,
                guint64     parent_id)
{
  GPtrArray *list = g_hash_table_lookup (children, &parent_id);

  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (list, i);

      g_ptr_array_add (sorted, g_object_ref (collection));
      append_subtree (sorted, children, collection->id);
    }
}

static int
compare_collection_names (gconstpointer a,
                          gconstpointer b)
{
  CairnCollection *ca = *(CairnCollection **) a;
  CairnCollection *cb = *(CairnCollection **) b;
  int cmp = g_utf8_collate (ca->name, cb->name);

  return cmp != 0 ? cmp : (ca->id < cb->id ? -1 : 1);
}

/**
 * cairn_store_list_collections:
 * @self: a #CairnStore
 * @resource: (nullable): only the collections of this resource, or %NULL
 *   for all
 * @error: return location for an error
 *
 * Lists the collection tree: depth first, every parent before its
 * children, siblings sorted by name.
 *
 * Returns: (transfer container) (element-type CairnCollection): the
 *   collections, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_collections (CairnStore  *self,
                              const char  *resource,
                              GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) children = NULL;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_int64_hash, g_int64_equal);
  GPtrArray *sorted;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = cairn_store_begin_read (self, error);
  if (reader == NULL)
    return NULL;

  all = _cairn_database_collect (reader->database,
                                 _cairn_database_query (reader->database,
                                                        "SELECT " COLLECTION_COLUMNS " FROM "
                                                        "collections "
                                                        "WHERE ?1 IS NULL OR resource = ?1",
                                                        CAIRN_BINDS (_cairn_bind_text (resource)),
                                                        error),
                                 collection_from_row, reader->database, g_object_unref, error);
  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++)
    g_hash_table_add (ids, &((CairnCollection *) g_ptr_array_index (all, i))->id);

  children = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                    (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < all->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (all, i);
      /* With a resource filter, a collection whose parent is not listed is
       * a root of the listing. */
      static const guint64 root = 0;
      const guint64 *parent = g_hash_table_contains (ids, &collection->parent_id)
                                ? &collection->parent_id : &root;
      GPtrArray *list = g_hash_table_lookup (children, parent);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (children, (gpointer) parent, list);
        }
      g_ptr_array_add (list, collection);
    }

  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, children);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_sort (value, compare_collection_names);
  }

  sorted = g_ptr_array_new_full (all->len, g_object_unref);
  append_subtree (sorted, children, 0);

  return sorted;
}

/**
 * cairn_store_get_collection_statistics:
 * @self: a #CairnStore
 * @id: a collection id
 * @count: (out) (optional): the number of items
 * @unread: (out) (optional): the number of items without `\Seen`
 * @size: (out) (optional): the sum of the items' sizes
 * @error: return location for an error
 *
 * Counts the items of a collection, or the items linked into a virtual
 * collection.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown collection
 *
 * Since: 0.1
 */
gboolean
cairn_store_get_collection_statistics (CairnStore  *self,
                                       guint64      id,
                                       guint64     *count,
                                       guint64     *unread,
                                       guint64     *size,
                                       GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnStatement) stmt = NULL;
  g_autoptr(CairnCollection) collection = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  reader = cairn_store_begin_read (self, error);
  if (reader == NULL)
    return FALSE;

  collection = _cairn_store_load_collection (reader->database, id, error);
  if (collection == NULL)
    return FALSE;

  stmt = _cairn_database_query (reader->database,
                                collection->is_virtual
                                ? "SELECT count(*), total (i.size), "
                                  "  total (NOT EXISTS (SELECT 1 FROM item_flags f "
                                  "    WHERE f.item_id = i.id AND f.flag = '\\Seen')) "
                                  "FROM collection_links l JOIN items i ON i.id = l.item_id "
                                  "WHERE l.collection_id = ?"
                                : "SELECT count(*), total (i.size), "
                                  "  total (NOT EXISTS (SELECT 1 FROM item_flags f "
                                  "    WHERE f.item_id = i.id AND f.flag = '\\Seen')) "
                                  "FROM items i WHERE i.collection_id = ?",
                                CAIRN_BINDS (_cairn_bind_int (id)), error);
  if (_cairn_database_step_row (reader->database, stmt, error) != SQLITE_ROW)
    return FALSE;

  if (count)
    *count = sqlite3_column_int64 (stmt, 0);
  if (size)
    *size = (guint64) sqlite3_column_double (stmt, 1);
  if (unread)
    *unread = (guint64) sqlite3_column_double (stmt, 2);

  return TRUE;
}

/* Items */

#define ITEM_COLUMNS \
  "i.id, i.collection_id, i.mime_type, i.size, i.remote_id, i.remote_revision, i.gid, " \
  "i.revision, (SELECT group_concat (flag, ' ') FROM item_flags WHERE item_id = i.id)"

/* A CairnRowFunc for ITEM_COLUMNS. */
static gpointer
item_from_row (CairnStatement  *row,
               gpointer         user_data,
               GError         **error)
{
  CairnItem *item = g_object_new (CAIRN_TYPE_ITEM, NULL);
  const char *flags = (const char *) sqlite3_column_text (row, 8);

  item->id = sqlite3_column_int64 (row, 0);
  item->collection_id = sqlite3_column_int64 (row, 1);
  item->mime_type = _cairn_column_dup (row, 2);
  item->size = sqlite3_column_int64 (row, 3);
  item->remote_id = _cairn_column_dup (row, 4);
  item->remote_revision = _cairn_column_dup (row, 5);
  item->gid = _cairn_column_dup (row, 6);
  item->revision = sqlite3_column_int64 (row, 7);
  if (flags != NULL)
    {
      cairn_flags_free (item->flags);
      item->flags = _cairn_flags_new_from_string (flags);
    }

  return item;
}

static void
append_json_string (GString    *json,
                    const char *value)
{
  g_string_append_c (json, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (json, '\\');
      g_string_append_c (json, *p);
    }
  g_string_append_c (json, '"');
}

/* A part from the columns name, storage, size, data, path of a parts row,
 * starting at @first. */
static CairnPart *
part_from_row (CairnStore     *self,
               CairnStatement *stmt,
               int             first)
{
  CairnPartStorage storage = sqlite3_column_int (stmt, first + 1);
  GBytes *data = NULL;
  char *path = NULL;

  if (storage == CAIRN_PART_STORAGE_INLINE)
    data = g_bytes_new (sqlite3_column_blob (stmt, first + 3),
                        sqlite3_column_bytes (stmt, first + 3));
  else if (storage == CAIRN_PART_STORAGE_EXTERNAL)
    path = _cairn_store_payload_path (self, (const char *) sqlite3_column_text (stmt, first + 4));
  else if (storage == CAIRN_PART_STORAGE_FOREIGN)
    path = _cairn_column_dup (stmt, first + 4);

  return _cairn_part_new ((const char *) sqlite3_column_text (stmt, first), storage,
                          sqlite3_column_int64 (stmt, first + 2), data, path);
}

/* A CairnRowFunc for the columns name, storage, size, data, path of parts. */
static gpointer
part_row (CairnStatement  *row,
          gpointer         store,
          GError         **error)
{
  return part_from_row (store, row, 0);
}

/* The items of a batch by id, for the rows of their parts and attributes. */
typedef struct
{
  CairnStore *store;
  GHashTable *by_id;
} PayloadBatch;

static CairnItem *
batch_item (PayloadBatch   *batch,
            CairnStatement *row)
{
  gint64 item_id = sqlite3_column_int64 (row, 0);

  return g_hash_table_lookup (batch->by_id, &item_id);
}

static gboolean
add_item_part (CairnStatement  *row,
               gpointer         batch,
               GError         **error)
{
  g_ptr_array_add (batch_item (batch, row)->parts,
                   part_from_row (((PayloadBatch *) batch)->store, row, 1));
  return TRUE;
}

static gboolean
set_item_attribute (CairnStatement  *row,
                    gpointer         batch,
                    GError         **error)
{
  g_autoptr(GBytes) value = g_bytes_new (sqlite3_column_blob (row, 2),
                                         sqlite3_column_bytes (row, 2));

  cairn_item_set_attribute (batch_item (batch, row), (const char *) sqlite3_column_text (row, 1),
                            value);
  return TRUE;
}

/* Loads the parts and attributes the scope asks for into @items, in two
 * queries for the whole batch. */
static gboolean
load_item_payloads (CairnStore       *self,
                    CairnDatabase    *database,
                    GPtrArray        *items,
                    CairnFetchScope  *scope,
                    GError          **error)
{
  const char * const *names = cairn_fetch_scope_get_parts (scope);
  gboolean all_parts = cairn_fetch_scope_get_all_parts (scope);
  gboolean attributes = cairn_fetch_scope_get_attributes (scope);
  g_autoptr(GHashTable) by_id = NULL;
  g_autoptr(GString) ids = NULL;
  g_autoptr(GString) wanted = NULL;
  PayloadBatch batch;

  if (items->len == 0 || (!all_parts && names[0] == NULL && !attributes))
    return TRUE;

  by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  ids = g_string_new ("[");
  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);

      g_hash_table_insert (by_id, &item->id, item);
      g_string_append_printf (ids, i ? ",%" G_GUINT64_FORMAT : "%" G_GUINT64_FORMAT, item->id);
    }
  g_string_append_c (ids, ']');

  wanted = g_string_new ("[");
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (wanted, ',');
      append_json_string (wanted, names[i]);
    }
  g_string_append_c (wanted, ']');

  batch = (PayloadBatch) { self, by_id };
  if ((all_parts || names[0] != NULL) &&
      !_cairn_database_foreach (database,
                                _cairn_database_query (database,
                                                       all_parts
                                                       ? "SELECT item_id, name, storage, size, "
                                                         "  data, path FROM parts "
                                                         "WHERE item_id IN "
                                                         "  (SELECT value FROM json_each (?1))"
                                                       : "SELECT item_id, name, storage, size, "
                                                         "  data, path FROM parts "
                                                         "WHERE item_id IN "
                                                         "  (SELECT value FROM json_each (?1)) "
                                                         "AND name IN "
                                                         "  (SELECT value FROM json_each (?2))",
                                                       CAIRN_BINDS (_cairn_bind_text (ids->str),
                                                                    _cairn_bind_text (wanted->str)),
                                                       error),
                                add_item_part, &batch, error))
    return FALSE;

  return !attributes ||
         _cairn_database_foreach (database,
                                  _cairn_database_query (database,
                                                         "SELECT item_id, name, value "
                                                         "FROM item_attributes WHERE item_id IN "
                                                         "  (SELECT value FROM json_each (?1))",
                                                         CAIRN_BINDS (_cairn_bind_text (ids->str)),
                                                         error),
                                  set_item_attribute, &batch, error);
}

/* Runs a bound item query and loads the scope's payloads. */
static GPtrArray *
load_items (CairnStore       *self,
            CairnDatabase    *database,
            CairnStatement   *stmt,
            CairnFetchScope  *scope,
            GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(CairnFetchScope) default_scope = NULL;

  items = _cairn_database_collect (database, stmt, item_from_row, NULL, g_object_unref, error);
  if (items == NULL)
    return NULL;

  if (scope == NULL)
    scope = default_scope = cairn_fetch_scope_new ();
  if (!load_item_payloads (self, database, items, scope, error))
    return NULL;

  return g_steal_pointer (&items);
}

/* The items of an item query with @binds, read from one snapshot. */
static GPtrArray *
read_items (CairnStore       *self,
            CairnFetchScope  *scope,
            const char       *sql,
            const CairnBind  *binds,
            gsize             n_binds,
            GError          **error)
{
  g_autoptr(CairnReader) reader = cairn_store_begin_read (self, error);

  if (reader == NULL)
    return NULL;

  return load_items (self, reader->database,
                     _cairn_database_query (reader->database, sql, binds, n_binds, error),
                     scope, error);
}

static CairnItem *
single_item (GPtrArray   *items,
             const char  *what,
             GError     **error)
{
  if (items == NULL)
    return NULL;
  if (items->len == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND, "No item %s", what);
      return NULL;
    }

  return g_object_ref (g_ptr_array_index (items, 0));
}

/**
 * cairn_store_get_item:
 * @self: a #CairnStore
 * @id: an item id
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Returns: (transfer full): the item, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_get_item (CairnStore       *self,
                      guint64           id,
                      CairnFetchScope  *scope,
                      GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  items = read_items (self, scope, "SELECT " ITEM_COLUMNS " FROM items i WHERE i.id = ?",
                      CAIRN_BINDS (_cairn_bind_int (id)), error);
  what = g_strdup_printf ("with id %" G_GUINT64_FORMAT, id);
  return single_item (items, what, error);
}

/**
 * cairn_store_find_item_by_remote_id:
 * @self: a #CairnStore
 * @collection_id: the collection to look in
 * @remote_id: the backend's id of the item
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Returns: (transfer full): the item, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_find_item_by_remote_id (CairnStore       *self,
                                    guint64           collection_id,
                                    const char       *remote_id,
                                    CairnFetchScope  *scope,
                                    GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  items = read_items (self, scope,
                      "SELECT " ITEM_COLUMNS " FROM items i "
                      "WHERE i.collection_id = ? AND i.remote_id = ?",
                      CAIRN_BINDS (_cairn_bind_int (collection_id), _cairn_bind_text (remote_id)),
                      error);
  what = g_strdup_printf ("with remote id %s in collection %" G_GUINT64_FORMAT,
                          remote_id, collection_id);
  return single_item (items, what, error);
}

/**
 * cairn_store_find_items_by_resource_remote_id:
 * @self: a #CairnStore
 * @resource: the owning resource's instance id
 * @remote_id: the backend's id of the item
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Finds the items with @remote_id in any collection of @resource: remote
 * ids are unique per collection only.
 *
 * Returns: (transfer container) (element-type CairnItem): the items,
 *   possibly none, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_find_items_by_resource_remote_id (CairnStore       *self,
                                              const char       *resource,
                                              const char       *remote_id,
                                              CairnFetchScope  *scope,
                                              GError          **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  return read_items (self, scope,
                     "SELECT " ITEM_COLUMNS " FROM collections c "
                     "JOIN items i ON i.collection_id = c.id AND i.remote_id = ?2 "
                     "WHERE c.resource = ?1 ORDER BY i.id",
                     CAIRN_BINDS (_cairn_bind_text (resource), _cairn_bind_text (remote_id)),
                     error);
}

/**
 * cairn_store_find_items_by_gid:
 * @self: a #CairnStore
 * @gid: the id taken from the payload
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type CairnItem): the items with
 *   @gid in any collection, by id, possibly none; %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_find_items_by_gid (CairnStore       *self,
                               const char       *gid,
                               CairnFetchScope  *scope,
                               GError          **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (gid != NULL, NULL);

  return read_items (self, scope,
                     "SELECT " ITEM_COLUMNS " FROM items i WHERE i.gid = ? ORDER BY i.id",
                     CAIRN_BINDS (_cairn_bind_text (gid)), error);
}

/* One page of a collection, by id after @after_id. Items linked into a
 * virtual collection are listed like its own. */
static GPtrArray *
list_page (CairnStore       *self,
           CairnDatabase    *database,
           gboolean          is_virtual,
           guint64           collection_id,
           CairnFetchScope  *scope,
           guint64           after_id,
           guint             limit,
           GError          **error)
{
  return load_items (self, database,
                     _cairn_database_query (database,
                                            is_virtual
                                            ? "SELECT " ITEM_COLUMNS " FROM collection_links l "
                                              "JOIN items i ON i.id = l.item_id "
                                              "WHERE l.collection_id = ?1 AND l.item_id > ?2 "
                                              "ORDER BY l.item_id LIMIT ?3"
                                            : "SELECT " ITEM_COLUMNS " FROM items i "
                                              "WHERE i.collection_id = ?1 AND i.id > ?2 "
                                              "ORDER BY i.id LIMIT ?3",
                                            CAIRN_BINDS (_cairn_bind_int (collection_id),
                                                         _cairn_bind_int (after_id),
                                                         _cairn_bind_int (limit ? limit
                                                                                : G_MAXINT64)),
                                            error),
                     scope, error);
}

static gboolean
collection_is_virtual (CairnDatabase  *database,
                       guint64         collection_id,
                       gboolean       *is_virtual,
                       GError        **error)
{
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (database, "SELECT is_virtual FROM collections WHERE id = ?",
                           CAIRN_BINDS (_cairn_bind_int (collection_id)), error);

  if (!_cairn_database_step_found (database, stmt, error,
                                   "No collection with id %" G_GUINT64_FORMAT, collection_id))
    return FALSE;

  *is_virtual = sqlite3_column_int (stmt, 0) != 0;
  return TRUE;
}

/**
 * cairn_store_list_items:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @after_id: list items with ids above this one (0 for the first page)
 * @limit: the page size, or 0 for all
 * @error: return location for an error
 *
 * Lists one page of a collection's items in id order. For the next page,
 * pass the id of the last item as @after_id.
 *
 * Returns: (transfer container) (element-type CairnItem): the items, or
 *   %NULL with @error set (%CAIRN_STORE_ERROR_NOT_FOUND for an unknown
 *   collection)
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_items (CairnStore       *self,
                        guint64           collection_id,
                        CairnFetchScope  *scope,
                        guint64           after_id,
                        guint             limit,
                        GError          **error)
{
  g_autoptr(CairnReader) reader = NULL;
  gboolean is_virtual;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = cairn_store_begin_read (self, error);
  if (reader == NULL ||
      !collection_is_virtual (reader->database, collection_id, &is_virtual, error))
    return NULL;

  return list_page (self, reader->database, is_virtual, collection_id, scope, after_id, limit,
                    error);
}

typedef struct
{
  guint64 collection_id;
  CairnFetchScope *scope;
  guint64 after_id;
  guint limit;
} ListData;

static void
list_data_free (ListData *data)
{
  g_clear_pointer (&data->scope, cairn_fetch_scope_unref);
  g_free (data);
}

static void
list_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ListData *data = task_data;
  GError *error = NULL;
  GPtrArray *items;

  if (g_task_return_error_if_cancelled (task))
    return;

  items = cairn_store_list_items (source_object, data->collection_id, data->scope,
                                  data->after_id, data->limit, &error);
  if (items == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, items, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * cairn_store_list_items_async:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @after_id: list items with ids above this one
 * @limit: the page size, or 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the page
 * @user_data: data for @callback
 *
 * Lists one page of items in a worker thread, as cairn_store_list_items()
 * does.
 *
 * Since: 0.1
 */
void
cairn_store_list_items_async (CairnStore          *self,
                              guint64              collection_id,
                              CairnFetchScope     *scope,
                              guint64              after_id,
                              guint                limit,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ListData *data;

  g_return_if_fail (CAIRN_IS_STORE (self));

  data = g_new0 (ListData, 1);
  data->collection_id = collection_id;
  data->scope = scope ? cairn_fetch_scope_ref (scope) : NULL;
  data->after_id = after_id;
  data->limit = limit;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_store_list_items_async);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  g_task_run_in_thread (task, list_thread);
}

/**
 * cairn_store_list_items_finish:
 * @self: a #CairnStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type CairnItem): the page, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_items_finish (CairnStore    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_store_list_items_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* One page of cairn_store_foreach_item() in a read transaction of its
 * own; the first page also finds out whether the collection is virtual. */
static GPtrArray *
read_page (CairnStore       *self,
           gboolean          first,
           gboolean         *is_virtual,
           guint64           collection_id,
           CairnFetchScope  *scope,
           guint64           after_id,
           GError          **error)
{
  g_autoptr(CairnReader) reader = cairn_store_begin_read (self, error);

  if (reader == NULL ||
      (first && !collection_is_virtual (reader->database, collection_id, is_virtual, error)))
    return NULL;

  return list_page (self, reader->database, *is_virtual, collection_id, scope, after_id,
                    STREAM_PAGE_SIZE, error);
}

/**
 * cairn_store_foreach_item:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @func: (scope call): called for each item
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable, checked between pages
 * @error: return location for an error
 *
 * Streams every item of a collection to @func in id order, loading pages
 * of a thousand items at a time: a collection of any size never sits in
 * memory whole. Each page is read in a read transaction of its own, and
 * none is open while @func runs, so a slow consumer never keeps the
 * write-ahead log from being checkpointed. Items written between two
 * pages are seen if their ids come later; no item is visited twice.
 *
 * Returns: %TRUE if every item was visited or @func stopped the listing
 *
 * Since: 0.1
 */
gboolean
cairn_store_foreach_item (CairnStore       *self,
                          guint64           collection_id,
                          CairnFetchScope  *scope,
                          CairnItemFunc     func,
                          gpointer          user_data,
                          GCancellable     *cancellable,
                          GError          **error)
{
  guint64 after_id = 0;
  gboolean is_virtual = FALSE;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  for (;;)
    {
      g_autoptr(GPtrArray) page = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      page = read_page (self, after_id == 0, &is_virtual, collection_id, scope, after_id, error);
      if (page == NULL)
        return FALSE;

      for (guint i = 0; i < page->len; i++)
        if (!func (g_ptr_array_index (page, i), user_data))
          return TRUE;

      if (page->len < STREAM_PAGE_SIZE)
        return TRUE;
      after_id = cairn_item_get_id (g_ptr_array_index (page, page->len - 1));
    }
}

/**
 * cairn_store_open_part:
 * @self: a #CairnStore
 * @item_id: an item id
 * @name: a part name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the payload of the part @name of item @item_id as it is stored now,
 * whether it is inline, in a file beside the database or in a file of the
 * resource; cairn_part_open_stream() explains the errors. To read the part
 * of an item you already hold (such as the item of a change being
 * replayed), use cairn_part_open_stream() on that part.
 *
 * Returns: (transfer full): a stream of the payload, or %NULL with @error
 *   set
 *
 * Since: 0.1
 */
GInputStream *
cairn_store_open_part (CairnStore    *self,
                       guint64        item_id,
                       const char    *name,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnPart) part = NULL;
  GInputStream *stream;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  reader = cairn_store_acquire_reader (self, error);
  if (reader == NULL)
    return NULL;

  part = _cairn_database_lookup (reader->database,
                                 _cairn_database_query (reader->database,
                                                        "SELECT name, storage, size, data, path "
                                                        "FROM parts WHERE item_id = ? AND name = ?",
                                                        CAIRN_BINDS (_cairn_bind_int (item_id),
                                                                     _cairn_bind_text (name)),
                                                        error),
                                 part_row, self, error,
                                 "Item %" G_GUINT64_FORMAT " has no part %s", item_id, name);
  if (part == NULL)
    return NULL;
  stream = cairn_part_open_stream (part, cancellable, error);
  if (stream == NULL)
    g_prefix_error (error, "Item %" G_GUINT64_FORMAT ": ", item_id);

  return stream;
}

/* Tags and relations */

#define TAG_COLUMNS "id, gid, name, type, parent_id"

/* A CairnRowFunc for TAG_COLUMNS. */
static gpointer
tag_from_row (CairnStatement  *row,
              gpointer         user_data,
              GError         **error)
{
  CairnTag *tag = cairn_tag_new ((const char *) sqlite3_column_text (row, 1),
                                 (const char *) sqlite3_column_text (row, 2));

  cairn_tag_set_id (tag, sqlite3_column_int64 (row, 0));
  cairn_tag_set_tag_type (tag, (const char *) sqlite3_column_text (row, 3));
  cairn_tag_set_parent_id (tag, sqlite3_column_int64 (row, 4));

  return tag;
}

static gpointer
relation_from_row (CairnStatement  *row,
                   gpointer         user_data,
                   GError         **error)
{
  CairnRelation *relation = cairn_relation_new (sqlite3_column_int64 (row, 0),
                                                sqlite3_column_int64 (row, 1),
                                                (const char *) sqlite3_column_text (row, 2));

  cairn_relation_set_remote_id (relation, (const char *) sqlite3_column_text (row, 3));
  return relation;
}

/**
 * cairn_store_get_tag:
 * @self: a #CairnStore
 * @id: a tag id
 * @error: return location for an error
 *
 * Returns: (transfer full): the tag, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnTag *
cairn_store_get_tag (CairnStore  *self,
                     guint64      id,
                     GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return read_one (self, "SELECT " TAG_COLUMNS " FROM tags WHERE id = ?",
                   CAIRN_BINDS (_cairn_bind_int (id)), tag_from_row, error,
                   "No tag with id %" G_GUINT64_FORMAT, id);
}

/**
 * cairn_store_find_tag_by_gid:
 * @self: a #CairnStore
 * @gid: a tag's global id
 * @error: return location for an error
 *
 * Returns: (transfer full): the tag, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnTag *
cairn_store_find_tag_by_gid (CairnStore  *self,
                             const char  *gid,
                             GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (gid != NULL, NULL);

  return read_one (self, "SELECT " TAG_COLUMNS " FROM tags WHERE gid = ?",
                   CAIRN_BINDS (_cairn_bind_text (gid)), tag_from_row, error,
                   "No tag with GID %s", gid);
}

/**
 * cairn_store_get_tag_remote_id:
 * @self: a #CairnStore
 * @tag_id: a tag id
 * @resource: a resource instance id
 * @error: return location for an error
 *
 * Returns: (transfer full): the remote id @resource keeps for the tag, or
 *   %NULL with %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
char *
cairn_store_get_tag_remote_id (CairnStore  *self,
                               guint64      tag_id,
                               const char  *resource,
                               GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);

  return read_one (self, "SELECT remote_id FROM tag_remote_ids WHERE tag_id = ? AND resource = ?",
                   CAIRN_BINDS (_cairn_bind_int (tag_id), _cairn_bind_text (resource)),
                   _cairn_row_dup_text, error,
                   "Resource %s has no remote id for tag %" G_GUINT64_FORMAT, resource, tag_id);
}

/**
 * cairn_store_list_item_tags:
 * @self: a #CairnStore
 * @item_id: an item id
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type CairnTag): the item's tags
 *   by id, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_item_tags (CairnStore  *self,
                            guint64      item_id,
                            GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return read_all (self,
                   "SELECT t.id, t.gid, t.name, t.type, t.parent_id "
                   "FROM item_tags it JOIN tags t ON t.id = it.tag_id "
                   "WHERE it.item_id = ? ORDER BY t.id",
                   CAIRN_BINDS (_cairn_bind_int (item_id)), tag_from_row, g_object_unref, error);
}

/**
 * cairn_store_list_relations:
 * @self: a #CairnStore
 * @item_id: an item id
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type CairnRelation): the relations
 *   the item is in, on either side, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_relations (CairnStore  *self,
                            guint64      item_id,
                            GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return read_all (self,
                   "SELECT left_id, right_id, type, remote_id FROM relations "
                   "WHERE left_id = ?1 UNION "
                   "SELECT left_id, right_id, type, remote_id FROM relations "
                   "WHERE right_id = ?1",
                   CAIRN_BINDS (_cairn_bind_int (item_id)), relation_from_row, g_object_unref,
                   error);
}

/* The change log */

static CairnFlagsDelta *
delta_from_columns (const char *added,
                    const char *removed)
{
  CairnFlagsDelta *delta = cairn_flags_delta_new ();
  g_autoptr(CairnFlags) add = NULL;
  g_autoptr(CairnFlags) remove = NULL;

  if (added == NULL && removed == NULL)
    return delta;

  add = _cairn_flags_new_from_string (added);
  remove = _cairn_flags_new_from_string (removed);

  for (guint i = 0; i < cairn_flags_get_size (add); i++)
    cairn_flags_delta_add (delta, cairn_flags_get_flag (add, i));
  for (guint i = 0; i < cairn_flags_get_size (remove); i++)
    cairn_flags_delta_remove (delta, cairn_flags_get_flag (remove, i));

  return delta;
}

/* The change log columns from @first on, in the order of CHANGE_COLUMNS. */
#define CHANGE_COLUMNS "revision, operation, entity_kind, entity_id, collection_id, " \
  "destination_id, related_id, resource, origin, remote_id, mime_type, name, parts, " \
  "flags_added, flags_removed"

static CairnChange *
change_from_columns (CairnStatement *stmt,
                     int             first)
{
  CairnChange *change = _cairn_change_new ();

  change->revision = sqlite3_column_int64 (stmt, first);
  change->operation = sqlite3_column_int (stmt, first + 1);
  change->entity_kind = sqlite3_column_int (stmt, first + 2);
  change->entity_id = sqlite3_column_int64 (stmt, first + 3);
  change->collection_id = sqlite3_column_int64 (stmt, first + 4);
  change->destination_id = sqlite3_column_int64 (stmt, first + 5);
  change->related_id = sqlite3_column_int64 (stmt, first + 6);
  change->resource = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 7));
  change->origin = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 8));
  change->remote_id = _cairn_column_dup (stmt, first + 9);
  change->mime_type = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 10));
  change->name = _cairn_column_dup (stmt, first + 11);
  if (sqlite3_column_type (stmt, first + 12) != SQLITE_NULL)
    change->parts = split_words ((const char *) sqlite3_column_text (stmt, first + 12));
  if (sqlite3_column_type (stmt, first + 13) != SQLITE_NULL ||
      sqlite3_column_type (stmt, first + 14) != SQLITE_NULL)
    change->flags_delta = delta_from_columns ((const char *) sqlite3_column_text (stmt, first + 13),
                                              (const char *) sqlite3_column_text (stmt, first + 14));
  return change;
}

/* A CairnRowFunc for CHANGE_COLUMNS. */
static gpointer
change_from_row (CairnStatement  *row,
                 gpointer         user_data,
                 GError         **error)
{
  return change_from_columns (row, 0);
}

/**
 * cairn_store_get_changes_since:
 * @self: a #CairnStore
 * @revision: the last revision the reader has seen
 * @limit: about how many entries to return, or 0 for all; a transaction's
 *   entries are never split, so a few more may come
 * @error: return location for an error
 *
 * Reads the change log after @revision, in order. The entries of one write
 * transaction are returned all together or not at all. If the log was
 * collected past @revision, fails with %CAIRN_STORE_ERROR_EXPIRED: the
 * reader must read the state again.
 *
 * Returns: (transfer container) (element-type CairnChange): the changes,
 *   or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_get_changes_since (CairnStore  *self,
                               guint64      revision,
                               guint        limit,
                               GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return _cairn_store_get_change_range (self, revision, 0, limit, error);
}

/* The last revision of a range that ends at @last, 0 for no end. */
#define LOG_END(last) ((last) != 0 ? (gint64) (last) : G_MAXINT64)

/* Starts a read of the change log after @revision in @reader, and fails
 * with CAIRN_STORE_ERROR_EXPIRED if the log was collected past it. */
static gboolean
begin_change_log_read (CairnStore    *self,
                       CairnReader   *reader,
                       guint64        revision,
                       GError       **error)
{
  guint64 current, log_start;

  if (!_cairn_database_exec (reader->database, "BEGIN", error) ||
      !read_revision (reader->database, &current, &log_start, error))
    return FALSE;

  if (revision < log_start)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXPIRED,
                   "The change log of %s starts after revision %" G_GUINT64_FORMAT
                   "; changes since %" G_GUINT64_FORMAT " were collected",
                   self->path, log_start, revision);
      return FALSE;
    }
  return TRUE;
}

/* cairn_store_get_changes_since(), up to revision @last (0 for no end). */
GPtrArray *
_cairn_store_get_change_range (CairnStore  *self,
                               guint64      revision,
                               guint64      last,
                               guint        limit,
                               GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnStatement) stmt = NULL;
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
  int rc;

  reader = cairn_store_acquire_reader (self, error);
  if (reader == NULL || !begin_change_log_read (self, reader, revision, error))
    return NULL;

  stmt = _cairn_database_query (reader->database,
                                "SELECT " CHANGE_COLUMNS " FROM change_log "
                                "WHERE revision > ?1 AND revision <= ?2 "
                                "ORDER BY revision, seq",
                                CAIRN_BINDS (_cairn_bind_int (revision),
                                             _cairn_bind_int (LOG_END (last))),
                                error);

  /* A page ends between two transactions, never inside one. */
  while ((rc = _cairn_database_step_row (reader->database, stmt, error)) == SQLITE_ROW)
    {
      guint64 entry_revision = sqlite3_column_int64 (stmt, 0);

      if (limit > 0 && changes->len >= limit &&
          cairn_change_get_revision (g_ptr_array_index (changes, changes->len - 1)) != entry_revision)
        break;

      g_ptr_array_add (changes, change_from_columns (stmt, 0));
    }
  if (rc < 0)
    return NULL;

  return g_steal_pointer (&changes);
}

/* Calls @func with what coalescing needs to know of each change log
 * entry after @revision up to @last (0 for no end), in order, without
 * reading the entries themselves: a long backlog is planned in a few
 * bytes per entry. */
typedef struct
{
  CairnChangeKeyFunc func;
  gpointer user_data;
} ChangeKeyVisit;

static gboolean
visit_change_key (CairnStatement  *row,
                  gpointer         user_data,
                  GError         **error)
{
  ChangeKeyVisit *visit = user_data;
  const char *name = (const char *) sqlite3_column_text (row, 4);
  CairnChangeKey key = {
    .revision = sqlite3_column_int64 (row, 0),
    .entity_kind = sqlite3_column_int (row, 1),
    .entity_id = sqlite3_column_int64 (row, 2),
    .related_id = sqlite3_column_int64 (row, 3),
    .name_hash = name != NULL ? g_str_hash (name) : 0,
  };

  visit->func (&key, visit->user_data);
  return TRUE;
}

gboolean
_cairn_store_foreach_change_key (CairnStore          *self,
                                 guint64              revision,
                                 guint64              last,
                                 CairnChangeKeyFunc   func,
                                 gpointer             user_data,
                                 GError             **error)
{
  g_autoptr(CairnReader) reader = NULL;
  ChangeKeyVisit visit = { func, user_data };
  CairnStatement *stmt;

  reader = cairn_store_acquire_reader (self, error);
  if (reader == NULL || !begin_change_log_read (self, reader, revision, error))
    return FALSE;

  stmt = _cairn_database_query (reader->database,
                                "SELECT revision, entity_kind, entity_id, related_id, "
                                "CASE WHEN entity_kind = ?3 THEN name END FROM change_log "
                                "WHERE revision > ?1 AND revision <= ?2 "
                                "ORDER BY revision, seq",
                                CAIRN_BINDS (_cairn_bind_int (revision),
                                             _cairn_bind_int (LOG_END (last)),
                                             _cairn_bind_int (CAIRN_ENTITY_RELATION)),
                                error);
  return _cairn_database_foreach (reader->database, stmt, visit_change_key, &visit, error);
}

/* The change log entries of one entity after @revision, in order: what a
 * monitor undoes to see the entity as it was at an earlier change. */
GPtrArray *
_cairn_store_get_entity_changes (CairnStore       *self,
                                 CairnEntityKind   kind,
                                 guint64           id,
                                 guint64           revision,
                                 GError          **error)
{
  return read_all (self,
                   "SELECT " CHANGE_COLUMNS " FROM change_log "
                   "WHERE revision > ? AND entity_kind = ? AND entity_id = ? "
                   "ORDER BY revision, seq",
                   CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_int (kind),
                                _cairn_bind_int (id)),
                   change_from_row, (GDestroyNotify) cairn_change_unref, error);
}

/* The count a query of @binds reads, in a reader of its own. */
static gboolean
read_count (CairnStore       *self,
            const char       *sql,
            const CairnBind  *binds,
            gsize             n_binds,
            guint64          *count,
            GError          **error)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);
  g_autoptr(CairnStatement) stmt = NULL;

  if (reader == NULL)
    return FALSE;
  stmt = _cairn_database_query (reader->database, sql, binds, n_binds, error);
  if (_cairn_database_step_row (reader->database, stmt, error) != SQLITE_ROW)
    return FALSE;

  *count = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Cursors and garbage collection take the write lock: they write, but
 * they are not data changes and get no revision. */
typedef gboolean (*LockedFunc) (CairnStore  *self,
                                gpointer     data,
                                GError     **error);

static gboolean
run_locked (CairnStore  *self,
            LockedFunc   func,
            gpointer     data,
            GError     **error)
{
  gboolean ok;

  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_exec (self->writer, "BEGIN IMMEDIATE", error);
  if (ok)
    {
      ok = func (self, data, error) && _cairn_database_exec (self->writer, "COMMIT", error);
      if (!ok)
        sqlite3_exec (self->writer->db, "ROLLBACK", NULL, NULL, NULL);
    }
  g_mutex_unlock (&self->writer_lock);

  return ok;
}

typedef struct
{
  const char *name;
  guint64 revision;
  guint64 batch_end;
  guint delivered;
} CursorData;

static gboolean
set_cursor_locked (CairnStore  *self,
                   gpointer     data,
                   GError     **error)
{
  CursorData *cursor = data;
  guint64 current, log_start;

  if (!read_revision (self->writer, &current, &log_start, error))
    return FALSE;
  if (cursor->revision > current || cursor->revision < log_start)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Cannot set cursor %s to revision %" G_GUINT64_FORMAT ": the change log "
                   "holds revisions %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   cursor->name, cursor->revision, log_start, current);
      return FALSE;
    }
  if (cursor->batch_end != 0 && (cursor->batch_end <= cursor->revision || cursor->batch_end > current))
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Cannot set cursor %s: its page ends at revision %" G_GUINT64_FORMAT
                   ", outside %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   cursor->name, cursor->batch_end, cursor->revision + 1, current);
      return FALSE;
    }

  return _cairn_database_run (self->writer,
                              "INSERT INTO cursors (name, revision, batch_end, delivered) "
                              "VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, "
                              "  batch_end = excluded.batch_end, delivered = excluded.delivered",
                              CAIRN_BINDS (_cairn_bind_text (cursor->name),
                                           _cairn_bind_int (cursor->revision),
                                           _cairn_bind_int (cursor->batch_end),
                                           _cairn_bind_int (cursor->delivered)),
                              error);
}

/**
 * cairn_store_set_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name, such as an agent instance id
 * @revision: the last revision the consumer has processed
 * @error: return location for an error
 *
 * Stores a durable cursor: the change log is kept from the lowest cursor
 * on. @revision must lie within the log (%CAIRN_STORE_ERROR_INVALID
 * otherwise).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_set_cursor (CairnStore  *self,
                        const char  *name,
                        guint64      revision,
                        GError     **error)
{
  CursorData data = { name, revision, 0, 0 };

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return run_locked (self, set_cursor_locked, &data, error);
}

/* A change recorder's position: everything up to @revision is processed,
 * and of the page (@revision, @batch_end] the first @delivered coalesced
 * notifications are. One small write. */
gboolean
_cairn_store_set_recorder_position (CairnStore  *self,
                                    const char  *name,
                                    guint64      revision,
                                    guint64      batch_end,
                                    guint        delivered,
                                    GError     **error)
{
  CursorData data = { name, revision, batch_end, delivered };

  return run_locked (self, set_cursor_locked, &data, error);
}

gboolean
_cairn_store_get_recorder_position (CairnStore  *self,
                                    const char  *name,
                                    guint64     *revision,
                                    guint64     *batch_end,
                                    guint       *delivered,
                                    GError     **error)
{
  g_autoptr(CairnReader) reader = cairn_store_acquire_reader (self, error);
  g_autoptr(CairnStatement) stmt = NULL;

  if (reader == NULL)
    return FALSE;
  stmt = _cairn_database_query (reader->database,
                                "SELECT revision, batch_end, delivered FROM cursors WHERE name = ?",
                                CAIRN_BINDS (_cairn_bind_text (name)), error);
  if (!_cairn_database_step_found (reader->database, stmt, error, "No cursor %s", name))
    return FALSE;

  *revision = sqlite3_column_int64 (stmt, 0);
  if (batch_end)
    *batch_end = sqlite3_column_int64 (stmt, 1);
  if (delivered)
    *delivered = sqlite3_column_int (stmt, 2);
  return TRUE;
}

gboolean
_cairn_store_count_changes_since (CairnStore  *self,
                                  guint64      revision,
                                  guint64     *count,
                                  GError     **error)
{
  return read_count (self, "SELECT count(*) FROM change_log WHERE revision > ?",
                     CAIRN_BINDS (_cairn_bind_int (revision)), count, error);
}

/**
 * cairn_store_get_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name
 * @revision: (out): the cursor's revision
 * @error: return location for an error
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   there is no such cursor
 *
 * Since: 0.1
 */
gboolean
cairn_store_get_cursor (CairnStore  *self,
                        const char  *name,
                        guint64     *revision,
                        GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (revision != NULL, FALSE);

  return _cairn_store_get_recorder_position (self, name, revision, NULL, NULL, error);
}

static gboolean
remove_cursor_locked (CairnStore  *self,
                      gpointer     data,
                      GError     **error)
{
  if (!_cairn_database_run (self->writer, "DELETE FROM cursors WHERE name = ?",
                            CAIRN_BINDS (_cairn_bind_text (data)), error))
    return FALSE;
  if (sqlite3_changes (self->writer->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No cursor %s", (const char *) data);
      return FALSE;
    }

  return TRUE;
}

/**
 * cairn_store_remove_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name
 * @error: return location for an error
 *
 * Removes a cursor, so the change log it held back can be collected.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   there is no such cursor
 *
 * Since: 0.1
 */
gboolean
cairn_store_remove_cursor (CairnStore  *self,
                           const char  *name,
                           GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return run_locked (self, remove_cursor_locked, (gpointer) name, error);
}

static gboolean
collect_change_log (CairnStore  *self,
                    GError     **error)
{
  g_autoptr(CairnStatement) lowest =
    _cairn_database_prepare (self->writer, "SELECT min (revision) FROM cursors", error);
  guint64 below;

  if (_cairn_database_step_row (self->writer, lowest, error) != SQLITE_ROW)
    return FALSE;
  /* Without any cursor nobody has said what it still needs: keep all. */
  if (sqlite3_column_type (lowest, 0) == SQLITE_NULL)
    return TRUE;
  below = sqlite3_column_int64 (lowest, 0);

  return _cairn_database_run (self->writer, "DELETE FROM change_log WHERE revision <= ?",
                              CAIRN_BINDS (_cairn_bind_int (below)), error) &&
         _cairn_database_run (self->writer,
                              "UPDATE store_state SET log_start = max (log_start, ?)",
                              CAIRN_BINDS (_cairn_bind_int (below)), error);
}

/* Payload files nobody references are what a crashed or rolled back
 * transaction left behind. This runs under the write lock, so no other
 * writer, in this process or another, has uncommitted files. Counts them
 * in @orphans, and removes them if @remove. */
static gboolean
find_orphan_payloads (CairnStore    *self,
                      gboolean       remove,
                      guint         *orphans,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GDir) top = NULL;
  const char *bucket;

  top = g_dir_open (self->payload_dir, 0, NULL);
  if (top == NULL)
    return TRUE;

  while ((bucket = g_dir_read_name (top)) != NULL)
    {
      g_autofree char *bucket_path = g_build_filename (self->payload_dir, bucket, NULL);
      g_autoptr(GDir) dir = g_dir_open (bucket_path, 0, NULL);
      const char *file;

      if (dir == NULL)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      while ((file = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *name = g_build_filename (bucket, file, NULL);
          g_autofree char *path = NULL;
          g_autoptr(CairnStatement) exists =
            _cairn_database_query (self->writer,
                                   "SELECT 1 FROM parts WHERE storage = 1 AND path = ?",
                                   CAIRN_BINDS (_cairn_bind_text (name)), error);
          int rc = _cairn_database_step_row (self->writer, exists, error);

          if (rc < 0)
            return FALSE;
          if (rc != SQLITE_DONE)
            continue;
          (*orphans)++;
          if (!remove)
            continue;
          path = g_build_filename (bucket_path, file, NULL);
          if (g_unlink (path) != 0 && errno != ENOENT)
            g_warning ("Cannot remove the orphan payload %s: %s", path, g_strerror (errno));
        }
    }

  return TRUE;
}

static gboolean
collect_payloads (CairnStore    *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  guint orphans = 0;

  return find_orphan_payloads (self, TRUE, &orphans, cancellable, error);
}

static gboolean
collect_garbage_locked (CairnStore  *self,
                        gpointer     data,
                        GError     **error)
{
  return collect_change_log (self, error) && collect_payloads (self, data, error);
}

/**
 * cairn_store_collect_garbage:
 * @self: a #CairnStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Removes the change log entries at or below every registered cursor
 * (none if there is no cursor), and payload files that no part references,
 * such as those a killed writer left behind.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_collect_garbage (CairnStore    *self,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  return run_locked (self, collect_garbage_locked, cancellable, error);
}

/* Resources: what is left to replay */

/* The changes of @resource after @revision not written with @origin: what
 * the resource has not replayed yet. */
gboolean
_cairn_store_count_pending_changes (CairnStore  *self,
                                    guint64      revision,
                                    const char  *resource,
                                    const char  *origin,
                                    guint64     *count,
                                    GError     **error)
{
  return read_count (self,
                     "SELECT count(*) FROM change_log "
                     "WHERE revision > ? AND resource = ? AND origin IS NOT ?",
                     CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                                  _cairn_bind_text (origin)),
                     count, error);
}

static gboolean
add_id (CairnStatement  *row,
        gpointer         ids,
        GError         **error)
{
  guint64 id = sqlite3_column_int64 (row, 0);

  g_hash_table_add (ids, g_memdup2 (&id, sizeof id));
  return TRUE;
}

/* The items with a local change after @revision not written with @origin,
 * or with a failed change kept for @resource: a sync leaves them alone.
 * Returns a set of guint64 ids. */
GHashTable *
_cairn_store_list_pending_entities (CairnStore       *self,
                                    CairnEntityKind   kind,
                                    guint64           revision,
                                    const char       *resource,
                                    const char       *origin,
                                    GError          **error)
{
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  if (!read_each (self,
                  "SELECT entity_id FROM change_log "
                  "WHERE revision > ?1 AND resource = ?2 AND origin IS NOT ?3 "
                  "  AND entity_kind = ?4 "
                  "UNION SELECT entity_id FROM failed_changes "
                  "WHERE consumer = ?2 AND entity_kind = ?4",
                  CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                               _cairn_bind_text (origin), _cairn_bind_int (kind)),
                  add_id, ids, error))
    return NULL;

  return g_steal_pointer (&ids);
}

static gboolean
add_text (CairnStatement  *row,
          gpointer         set,
          GError         **error)
{
  g_hash_table_add (set, _cairn_column_dup (row, 0));
  return TRUE;
}

/* The remote ids of items that local changes after @revision, not yet
 * replayed or failed, move or remove out of @collection_id: the backend
 * still lists them there, and a sync must not take them for new items. */

GHashTable *
_cairn_store_list_leaving_remote_ids (CairnStore  *self,
                                      guint64      revision,
                                      const char  *resource,
                                      const char  *origin,
                                      guint64      collection_id,
                                      GError     **error)
{
  g_autoptr(GHashTable) remote_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!read_each (self,
                  "SELECT remote_id FROM change_log "
                  "WHERE revision > ?1 AND resource = ?2 AND origin IS NOT ?3 "
                  "  AND entity_kind = ?4 AND collection_id = ?5 "
                  "  AND operation IN (?6, ?7) AND remote_id IS NOT NULL "
                  "UNION SELECT remote_id FROM failed_changes "
                  "WHERE consumer = ?2 AND entity_kind = ?4 AND collection_id = ?5 "
                  "  AND operation IN (?6, ?7) AND remote_id IS NOT NULL",
                  CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                               _cairn_bind_text (origin), _cairn_bind_int (CAIRN_ENTITY_ITEM),
                               _cairn_bind_int (collection_id), _cairn_bind_int (CAIRN_CHANGE_MOVE),
                               _cairn_bind_int (CAIRN_CHANGE_REMOVE)),
                  add_text, remote_ids, error))
    return NULL;

  return g_steal_pointer (&remote_ids);
}

static gboolean
merge_flags (CairnStatement  *row,
             gpointer         delta,
             GError         **error)
{
  g_autoptr(CairnFlagsDelta) entry =
    delta_from_columns ((const char *) sqlite3_column_text (row, 0),
                        (const char *) sqlite3_column_text (row, 1));

  cairn_flags_delta_merge (delta, entry);
  return TRUE;
}

/* The flag deltas of @item_id after @revision not written with @origin,
 * merged in order. */

CairnFlagsDelta *
_cairn_store_get_pending_flags (CairnStore  *self,
                                guint64      item_id,
                                guint64      revision,
                                const char  *origin,
                                GError     **error)
{
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (!read_each (self,
                  "SELECT flags_added, flags_removed FROM change_log "
                  "WHERE revision > ? AND entity_kind = ? AND entity_id = ? "
                  "  AND operation = ? AND origin IS NOT ? "
                  "ORDER BY revision, seq",
                  CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_int (CAIRN_ENTITY_ITEM),
                               _cairn_bind_int (item_id), _cairn_bind_int (CAIRN_CHANGE_FLAGS),
                               _cairn_bind_text (origin)),
                  merge_flags, delta, error))
    return NULL;

  return g_steal_pointer (&delta);
}

/* Failed changes */

typedef struct
{
  const char *consumer;
  GPtrArray *changes;
  const char *reason;
} FailedChangesData;

static gboolean
add_failed_changes_locked (CairnStore  *self,
                           gpointer     user_data,
                           GError     **error)
{
  FailedChangesData *data = user_data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < data->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (data->changes, i);
      g_autofree char *parts = change->parts ? g_strjoinv (" ", change->parts) : NULL;
      g_autofree char *added = NULL;
      g_autofree char *removed = NULL;

      if (change->flags_delta != NULL && !cairn_flags_delta_is_empty (change->flags_delta))
        {
          added = cairn_flags_to_string (cairn_flags_delta_get_added (change->flags_delta));
          removed = cairn_flags_to_string (cairn_flags_delta_get_removed (change->flags_delta));
        }

      if (!_cairn_database_run (self->writer,
                                "INSERT OR IGNORE INTO failed_changes (consumer, reason, "
                                "  failed_at, " CHANGE_COLUMNS ") "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                CAIRN_BINDS (_cairn_bind_text (data->consumer),
                                             _cairn_bind_text (data->reason),
                                             _cairn_bind_int (now),
                                             _cairn_bind_int (change->revision),
                                             _cairn_bind_int (change->operation),
                                             _cairn_bind_int (change->entity_kind),
                                             _cairn_bind_int (change->entity_id),
                                             _cairn_bind_int (change->collection_id),
                                             _cairn_bind_int (change->destination_id),
                                             _cairn_bind_int (change->related_id),
                                             _cairn_bind_text (change->resource),
                                             _cairn_bind_text (change->origin),
                                             _cairn_bind_text (change->remote_id),
                                             _cairn_bind_text (change->mime_type),
                                             _cairn_bind_text (change->name),
                                             _cairn_bind_text (parts),
                                             _cairn_bind_text (added),
                                             _cairn_bind_text (removed)),
                                error))
        return FALSE;
    }
  return TRUE;
}

/* Keeps @changes (CairnChange) as failed for @consumer, with @reason;
 * keeping the same change again changes nothing. */
gboolean
_cairn_store_add_failed_changes (CairnStore  *self,
                                 const char  *consumer,
                                 GPtrArray   *changes,
                                 const char  *reason,
                                 GError     **error)
{
  FailedChangesData data = { consumer, changes, reason };

  return run_locked (self, add_failed_changes_locked, &data, error);
}

static gpointer
failed_change_from_row (CairnStatement  *row,
                        gpointer         user_data,
                        GError         **error)
{
  g_autoptr(CairnChange) change = change_from_columns (row, 3);

  return _cairn_failed_change_new (sqlite3_column_int64 (row, 0), change,
                                   (const char *) sqlite3_column_text (row, 1),
                                   sqlite3_column_int64 (row, 2));
}

/* Every failed change of @consumer, oldest first. */
GPtrArray *
_cairn_store_list_failed_changes (CairnStore  *self,
                                  const char  *consumer,
                                  GError     **error)
{
  return read_all (self,
                   "SELECT id, reason, failed_at, " CHANGE_COLUMNS " "
                   "FROM failed_changes WHERE consumer = ? ORDER BY id",
                   CAIRN_BINDS (_cairn_bind_text (consumer)), failed_change_from_row,
                   (GDestroyNotify) cairn_failed_change_unref, error);
}

typedef struct
{
  const char *consumer;
  const guint64 *ids;
  gsize n_ids;
} RemoveFailedData;

static gboolean
remove_failed_changes_locked (CairnStore  *self,
                              gpointer     user_data,
                              GError     **error)
{
  RemoveFailedData *data = user_data;

  return _cairn_store_delete_failed_changes (self->writer, data->consumer, data->ids,
                                             data->n_ids, error);
}

/* Deletes failed changes of @consumer on @database, inside a write
 * transaction: those of @ids, or all when @n_ids is 0. */
gboolean
_cairn_store_delete_failed_changes (CairnDatabase  *database,
                                    const char     *consumer,
                                    const guint64  *ids,
                                    gsize           n_ids,
                                    GError        **error)
{
  if (n_ids == 0)
    return _cairn_database_run (database, "DELETE FROM failed_changes WHERE consumer = ?",
                                CAIRN_BINDS (_cairn_bind_text (consumer)), error);

  for (gsize i = 0; i < n_ids; i++)
    if (!_cairn_database_run (database, "DELETE FROM failed_changes WHERE consumer = ? AND id = ?",
                              CAIRN_BINDS (_cairn_bind_text (consumer), _cairn_bind_int (ids[i])),
                              error))
      return FALSE;
  return TRUE;
}

gboolean
_cairn_store_remove_failed_changes (CairnStore     *self,
                                    const char     *consumer,
                                    const guint64  *ids,
                                    gsize           n_ids,
                                    GError        **error)
{
  RemoveFailedData data = { consumer, ids, n_ids };

  return run_locked (self, remove_failed_changes_locked, &data, error);
}

typedef struct
{
  CairnItemKeyFunc func;
  gpointer user_data;
} ItemKeyVisit;

static gboolean
visit_item_key (CairnStatement  *row,
                gpointer         user_data,
                GError         **error)
{
  ItemKeyVisit *visit = user_data;

  visit->func (sqlite3_column_int64 (row, 0), (const char *) sqlite3_column_text (row, 1),
               (const char *) sqlite3_column_text (row, 2),
               (const char *) sqlite3_column_text (row, 3), sqlite3_column_int64 (row, 4),
               visit->user_data);
  return TRUE;
}

/* What a sync compares: each item of @collection_id with its remote id,
 * remote revision, GID and revision, in id order, from one snapshot. */
gboolean
_cairn_store_foreach_item_key (CairnStore          *self,
                               guint64              collection_id,
                               CairnItemKeyFunc     func,
                               gpointer             user_data,
                               GError             **error)
{
  ItemKeyVisit visit = { func, user_data };

  return read_each (self,
                    "SELECT id, remote_id, remote_revision, gid, revision "
                    "FROM items WHERE collection_id = ? ORDER BY id",
                    CAIRN_BINDS (_cairn_bind_int (collection_id)), visit_item_key, &visit, error);
}

/* A reference between tables and what a repair may do about a row whose
 * referenced row is gone. Rows that only describe a missing entity
 * (parts, flags, links...) can go; an item or collection whose parent is
 * gone is user data and is only reported. */
typedef enum
{
  REPAIR_NONE,
  REPAIR_DELETE,
  REPAIR_SET_NULL,
} RepairKind;

/* The SQL is built here because prepared statements are cached by the
 * address of their text. */
#define MISSING(column, parent) \
  " WHERE " column " IS NOT NULL AND " column " NOT IN (SELECT id FROM " parent ")"
#define REFERENCE(table, column, parent, repair) \
  { table, column, parent, repair, \
    "SELECT count (*) FROM " table MISSING (column, parent), \
    "DELETE FROM " table MISSING (column, parent), \
    "UPDATE " table " SET " column " = NULL" MISSING (column, parent) }

static const struct
{
  const char *table;
  const char *column;
  const char *parent;
  RepairKind repair;
  const char *count_sql;
  const char *delete_sql;
  const char *set_null_sql;
} references[] = {
  REFERENCE ("collections", "parent_id", "collections", REPAIR_NONE),
  REFERENCE ("collection_attributes", "collection_id", "collections", REPAIR_DELETE),
  REFERENCE ("items", "collection_id", "collections", REPAIR_NONE),
  REFERENCE ("parts", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_flags", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_attributes", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("tags", "parent_id", "tags", REPAIR_SET_NULL),
  REFERENCE ("tag_remote_ids", "tag_id", "tags", REPAIR_DELETE),
  REFERENCE ("item_tags", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_tags", "tag_id", "tags", REPAIR_DELETE),
  REFERENCE ("relations", "left_id", "items", REPAIR_DELETE),
  REFERENCE ("relations", "right_id", "items", REPAIR_DELETE),
  REFERENCE ("collection_links", "collection_id", "collections", REPAIR_DELETE),
  REFERENCE ("collection_links", "item_id", "items", REPAIR_DELETE),
};

typedef struct
{
  CairnStore *store;
  gboolean repair;
  GPtrArray *problems;
  guint remaining;
  GCancellable *cancellable;
} CheckData;

static void
add_problem (CheckData  *check,
             gboolean    repaired,
             const char *format,
             ...) G_GNUC_PRINTF (3, 4);

static void
add_problem (CheckData  *check,
             gboolean    repaired,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (check->problems, g_strconcat (message, repaired ? " (repaired)" : "", NULL));
  if (!repaired)
    check->remaining++;
}

static gboolean
report_integrity (CairnStatement  *row,
                  gpointer         check,
                  GError         **error)
{
  const char *line = (const char *) sqlite3_column_text (row, 0);

  if (g_strcmp0 (line, "ok") != 0)
    add_problem (check, FALSE, "integrity: %s", line);
  return TRUE;
}

static gboolean
check_integrity (CairnStore  *self,
                 CheckData   *check,
                 GError     **error)
{
  return _cairn_database_foreach (self->writer,
                                  _cairn_database_prepare (self->writer, "PRAGMA integrity_check",
                                                           error),
                                  report_integrity, check, error);
}

static gboolean
check_references (CairnStore  *self,
                  CheckData   *check,
                  GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (references); i++)
    {
      g_autoptr(CairnStatement) count = _cairn_database_prepare (self->writer,
                                                                 references[i].count_sql, error);
      const char *repair_sql = NULL;
      gboolean repaired = FALSE;
      gint64 n;

      if (_cairn_database_step_row (self->writer, count, error) != SQLITE_ROW)
        return FALSE;
      n = sqlite3_column_int64 (count, 0);
      if (n == 0)
        continue;

      if (check->repair && references[i].repair == REPAIR_DELETE)
        repair_sql = references[i].delete_sql;
      else if (check->repair && references[i].repair == REPAIR_SET_NULL)
        repair_sql = references[i].set_null_sql;
      if (repair_sql != NULL)
        {
          if (!_cairn_database_exec (self->writer, repair_sql, error))
            return FALSE;
          repaired = TRUE;
        }
      add_problem (check, repaired, "references: %" G_GINT64_FORMAT " rows of %s refer to a "
                   "missing row of %s through %s", n, references[i].table, references[i].parent,
                   references[i].column);
    }
  return TRUE;
}

/* Why the payload file at @path does not hold what was written there:
 * gone, unreadable, of another size than @size, or not matching @digest
 * (a SHA-256 digest; NULL for parts written before digests were kept).
 * Returns NULL for a sound file. */
static char *
find_payload_damage (const char    *path,
                     goffset        size,
                     GBytes        *digest,
                     GCancellable  *cancellable)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree guint8 *buffer = NULL;
  guint8 found[CAIRN_PAYLOAD_DIGEST_SIZE];
  gsize found_length = sizeof found;
  goffset actual;
  gssize n;

  stream = g_file_read (file, cancellable, &local_error);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return g_strdup_printf ("has no file %s", path);
  if (stream != NULL)
    info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable,
                                           &local_error);
  if (info == NULL)
    return g_strdup_printf ("cannot read its file %s: %s", path, local_error->message);

  actual = g_file_info_get_size (info);
  if (actual != size)
    return g_strdup_printf ("has a file %s of %" G_GOFFSET_FORMAT " bytes, not %"
                            G_GOFFSET_FORMAT, path, actual, size);
  if (digest == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  buffer = g_malloc (64 * 1024);
  while ((n = g_input_stream_read (G_INPUT_STREAM (stream), buffer, 64 * 1024, cancellable,
                                   &local_error)) > 0)
    g_checksum_update (checksum, buffer, n);
  if (n < 0)
    return g_strdup_printf ("cannot read its file %s: %s", path, local_error->message);

  g_checksum_get_digest (checksum, found, &found_length);
  if (found_length != g_bytes_get_size (digest) ||
      memcmp (found, g_bytes_get_data (digest, NULL), found_length) != 0)
    return g_strdup_printf ("has a file %s that does not match its SHA-256 digest", path);

  return NULL;
}

static gboolean
check_payload_file (CairnStatement  *row,
                    gpointer         user_data,
                    GError         **error)
{
  CheckData *check = user_data;
  g_autofree char *path =
    _cairn_store_payload_path (check->store, (const char *) sqlite3_column_text (row, 3));
  g_autoptr(GBytes) digest = NULL;
  g_autofree char *damage = NULL;

  if (g_cancellable_set_error_if_cancelled (check->cancellable, error))
    return FALSE;
  if (sqlite3_column_type (row, 5) == SQLITE_BLOB)
    digest = g_bytes_new (sqlite3_column_blob (row, 5), sqlite3_column_bytes (row, 5));
  damage = find_payload_damage (path, sqlite3_column_int64 (row, 4), digest, check->cancellable);
  if (damage == NULL)
    return TRUE;
  if (check->repair)
    {
      if (!_cairn_database_run (check->store->writer,
                                "UPDATE parts SET storage = 3, path = NULL, checksum = NULL "
                                "WHERE id = ?",
                                CAIRN_BINDS (_cairn_bind_int (sqlite3_column_int64 (row, 0))),
                                error))
        return FALSE;
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Cannot remove the damaged payload %s: %s", path, g_strerror (errno));
    }
  add_problem (check, check->repair, "payloads: part %s of item %" G_GINT64_FORMAT " %s",
               sqlite3_column_text (row, 2), (gint64) sqlite3_column_int64 (row, 1), damage);
  return TRUE;
}

/* A payload file that is gone, unreadable, truncated or changed has lost
 * that part's data; repaired, the part becomes missing, so that its
 * resource retrieves it again, and the damaged file goes. */
static gboolean
check_payload_files (CairnStore  *self,
                     CheckData   *check,
                     GError     **error)
{
  return _cairn_database_foreach (self->writer,
                                  _cairn_database_prepare (self->writer,
                                                           "SELECT id, item_id, name, path, size, "
                                                           "checksum FROM parts WHERE storage = 1",
                                                           error),
                                  check_payload_file, check, error);
}

static gboolean
check_orphan_payloads (CairnStore  *self,
                       CheckData   *check,
                       GError     **error)
{
  guint orphans = 0;

  if (!find_orphan_payloads (self, check->repair, &orphans, check->cancellable, error))
    return FALSE;
  if (orphans > 0)
    add_problem (check, check->repair, "payloads: %u files in %s belong to no part", orphans,
                 self->payload_dir);
  return TRUE;
}

static gboolean
check_locked (CairnStore  *self,
              gpointer     data,
              GError     **error)
{
  CheckData *check = data;

  return check_integrity (self, check, error) &&
         check_references (self, check, error) &&
         check_payload_files (self, check, error) &&
         check_orphan_payloads (self, check, error);
}

/**
 * cairn_store_check_sync:
 * @self: a #CairnStore
 * @repair: whether to repair what can be repaired without losing data
 * @problems: (out) (transfer full) (element-type utf8): the problems
 *   found, one sentence each, ending in ` (repaired)` if repaired
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Checks the store's internal consistency: SQLite's `integrity_check`,
 * rows that refer to rows that are gone, parts whose payload file is
 * gone, unreadable, of another size than written or (for parts written
 * since schema version 4) not matching the SHA-256 digest taken when it
 * was written, and payload files that belong to no part.
 *
 * With @repair, rows that only describe an entity that is gone (its
 * parts, flags, attributes, tags, relations and links) are removed, a
 * part whose file is gone or damaged becomes %CAIRN_PART_STORAGE_MISSING
 * (its resource retrieves it again) and the damaged file is removed, and
 * orphan payload files are removed.
 * Items and collections whose parent is gone, and damage that
 * `integrity_check` reports, are only reported. Repairs are not logged as
 * changes: they remove nothing that a client could still see.
 *
 * Returns: %TRUE if the check ran; @problems may still list problems
 *
 * Since: 0.1
 */
gboolean
cairn_store_check_sync (CairnStore    *self,
                        gboolean       repair,
                        GPtrArray    **problems,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  CheckData check = { self, repair, found, 0, cancellable };

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  if (!run_locked (self, check_locked, &check, error))
    return FALSE;
  *problems = g_steal_pointer (&found);
  return TRUE;
}

/**
 * cairn_store_checkpoint_sync:
 * @self: a #CairnStore
 * @error: return location for an error
 *
 * Copies what the write-ahead log holds into the database file, as far
 * as no reader still needs it, and empties the log file if no reader
 * needs any of it, so that a log that grew while a reader held an old
 * snapshot does not stay large. It never waits for readers or writers:
 * a checkpoint that a reader or a writer stops part way is no error, and
 * writers in other processes are not kept waiting by it.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_checkpoint_sync (CairnStore  *self,
                             GError     **error)
{
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_checkpoint (self->writer, error);
  g_mutex_unlock (&self->writer_lock);
  return ok;
}

/**
 * cairn_store_vacuum_sync:
 * @self: a #CairnStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Collects garbage (see cairn_store_collect_garbage()), rebuilds the
 * database file to give back free pages (SQLite's `VACUUM`), and empties
 * the write-ahead log. It writes the whole database: run it rarely, when
 * nothing else is busy.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_vacuum_sync (CairnStore    *self,
                         GCancellable  *cancellable,
                         GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  if (!cairn_store_collect_garbage (self, cancellable, error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  /* VACUUM runs outside a transaction, so only the mutex serialises it
   * with this process's writers; SQLite's lock does with the others. */
  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_exec (self->writer, "VACUUM", error) &&
       _cairn_database_checkpoint (self->writer, error);
  g_mutex_unlock (&self->writer_lock);
  return ok;
}

/* Parts on demand */

#define RETRIEVE_TIMEOUT_MS (5 * 60 * 1000)
#define START_TIMEOUT_S 10

typedef struct
{
  guint64 id;
  CairnFetchScope *scope;
  char *bus_name;        /* org.cairn.Agent.RESOURCE */
  const char *resource;  /* in bus_name */
  GPtrArray *missing;   /* part names, NULL-terminated */
  GDBusConnection *bus;
  gboolean started;
  guint watch;
  guint timeout;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_clear_pointer (&fetch->scope, cairn_fetch_scope_unref);
  g_free (fetch->bus_name);
  g_clear_pointer (&fetch->missing, g_ptr_array_unref);
  g_clear_object (&fetch->bus);
  if (fetch->watch != 0)
    g_bus_unwatch_name (fetch->watch);
  g_clear_handle_id (&fetch->timeout, g_source_remove);
  g_free (fetch);
}

/* The part names @scope asks for that @item lacks. */
static GPtrArray *
missing_parts (CairnItem       *item,
               CairnFetchScope *scope)
{
  GPtrArray *missing = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  const char * const *names = scope != NULL ? cairn_fetch_scope_get_parts (scope) : NULL;
  GPtrArray *parts = cairn_item_get_parts (item);

  if (scope != NULL && cairn_fetch_scope_get_all_parts (scope))
    {
      for (guint i = 0; i < parts->len; i++)
        if (cairn_part_get_storage (g_ptr_array_index (parts, i)) == CAIRN_PART_STORAGE_MISSING)
          g_ptr_array_add (missing, g_strdup (cairn_part_get_name (g_ptr_array_index (parts, i))));
      return missing;
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      CairnPart *part = cairn_item_get_part (item, names[i]);

      if (part == NULL || cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
        g_ptr_array_add (missing, g_strdup (names[i]));
    }
  return missing;
}

static void fetch_retrieve (GTask *task);
static void fetch_start_resource (GTask *task);

static void
fetch_reread (GTask *task)
{
  CairnStore *self = g_task_get_source_object (task);
  Fetch *fetch = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(CairnItem) item = cairn_store_get_item (self, fetch->id, fetch->scope, &error);
  g_autoptr(GPtrArray) missing = NULL;

  if (item == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  missing = missing_parts (item, fetch->scope);
  if (missing->len > 0)
    g_task_return_new_error (task, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_MISSING_PART,
                             "Resource %s did not retrieve part %s of item %" G_GUINT64_FORMAT,
                             fetch->resource,
                             (const char *) g_ptr_array_index (missing, 0), fetch->id);
  else
    g_task_return_pointer (task, g_steal_pointer (&item), g_object_unref);
}

static void
retrieved (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      fetch_reread (task);
      return;
    }
  if (!fetch->started &&
      (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
       g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER)))
    {
      fetch_start_resource (g_steal_pointer (&task));
      return;
    }
  g_dbus_error_strip_remote_error (error);
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
fetch_retrieve (GTask *task)
{
  Fetch *fetch = g_task_get_task_data (task);
  guint64 id = fetch->id;

  g_dbus_connection_call (fetch->bus, fetch->bus_name, "/org/cairn/Agent", "org.cairn.Resource1",
                          "RetrieveItems",
                          g_variant_new ("(@at^as)",
                                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, &id, 1,
                                                                    sizeof id),
                                         (char **) fetch->missing->pdata),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, RETRIEVE_TIMEOUT_MS,
                          g_task_get_cancellable (task), retrieved, task);
}

static void
resource_appeared (GDBusConnection *connection,
                   const char      *name,
                   const char      *owner,
                   gpointer         user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);

  g_bus_unwatch_name (fetch->watch);
  fetch->watch = 0;
  g_clear_handle_id (&fetch->timeout, g_source_remove);
  fetch_retrieve (task);
}

static gboolean
resource_start_timed_out (gpointer user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);

  fetch->timeout = 0;
  g_bus_unwatch_name (fetch->watch);
  fetch->watch = 0;
  g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_RUNNING,
                           "Resource %s did not start within %d seconds",
                           fetch->resource, START_TIMEOUT_S);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
restarted (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_RUNNING,
                               "Resource %s is not running and the control service cannot "
                               "start it: %s", fetch->resource,
                               error->message);
      return;
    }
  /* The task's reference passes to whichever of the two callbacks fires. */
  fetch->watch = g_bus_watch_name_on_connection (fetch->bus, fetch->bus_name,
                                                 G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                 resource_appeared, NULL, task, NULL);
  fetch->timeout = g_timeout_add_seconds (START_TIMEOUT_S, resource_start_timed_out, task);
  g_steal_pointer (&task);
}

/* The resource is not on the bus: the control service starts it. */
static void
fetch_start_resource (GTask *task)
{
  Fetch *fetch = g_task_get_task_data (task);

  fetch->started = TRUE;
  g_dbus_connection_call (fetch->bus, "org.cairn.Control1", "/org/cairn/Control1",
                          "org.cairn.Control1", "Restart",
                          g_variant_new ("(s)", fetch->resource),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, g_task_get_cancellable (task),
                          restarted, task);
}

static void
fetch_got_bus (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  GError *error = NULL;

  fetch->bus = g_bus_get_finish (result, &error);
  if (fetch->bus == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  fetch_retrieve (task);
}

/**
 * cairn_store_fetch_item_async:
 * @self: a #CairnStore
 * @id: an item id
 * @scope: (nullable): what to load; the parts it names must be stored
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the item
 * @user_data: data for @callback
 *
 * Reads an item like cairn_store_get_item(), and when a part @scope asks
 * for is missing, first asks the resource that owns the item to retrieve
 * it (`org.cairn.Resource1.RetrieveItems` on the session bus). If the
 * resource is not running, the control service is asked to start it.
 * Callers asking for the same parts at once share one retrieval.
 *
 * Since: 0.1
 */
void
cairn_store_fetch_item_async (CairnStore          *self,
                              guint64              id,
                              CairnFetchScope     *scope,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnCollection) collection = NULL;
  GError *error = NULL;
  Fetch *fetch;

  g_return_if_fail (CAIRN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_store_fetch_item_async);
  fetch = g_new0 (Fetch, 1);
  fetch->id = id;
  fetch->scope = scope != NULL ? cairn_fetch_scope_ref (scope) : NULL;
  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_free);

  item = cairn_store_get_item (self, id, scope, &error);
  if (item != NULL)
    fetch->missing = missing_parts (item, scope);
  if (item != NULL && fetch->missing->len > 0)
    collection = cairn_store_get_collection (self, cairn_item_get_collection_id (item), &error);
  if (error != NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (fetch->missing->len == 0)
    {
      g_task_return_pointer (task, g_steal_pointer (&item), g_object_unref);
      return;
    }
  fetch->bus_name = g_strconcat ("org.cairn.Agent.", cairn_collection_get_resource (collection),
                                 NULL);
  fetch->resource = fetch->bus_name + strlen ("org.cairn.Agent.");
  g_bus_get (G_BUS_TYPE_SESSION, cancellable, fetch_got_bus, g_steal_pointer (&task));
}

/**
 * cairn_store_fetch_item_finish:
 * @self: a #CairnStore
 * @result: the result
 * @error: return location for an error
 *
 * Returns: (transfer full): the item with the parts asked for, or %NULL
 *   with @error set: the store's, the resource's (%CAIRN_RESOURCE_ERROR)
 *   or the bus's
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_fetch_item_finish (CairnStore    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
