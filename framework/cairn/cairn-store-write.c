/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-dbus-store.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/* Write transactions: the write lock, BEGIN IMMEDIATE and COMMIT around
 * a CairnTransactionFunc, and the notification of each commit on the
 * session bus and to the store's own signal. */

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
  if (!_cairn_database_run (self->writer, "BEGIN IMMEDIATE", NULL, 0, error))
    {
      g_prefix_error (error, "Cannot start a write transaction on %s: ", self->path);
      return FALSE;
    }

  transaction = _cairn_transaction_new (self, self->writer, self->payload_dir);
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
       _cairn_database_run (self->writer, "COMMIT", NULL, 0, error);
  if (!ok)
    {
      _cairn_database_run (self->writer, "ROLLBACK", NULL, 0, NULL);
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

      /* Flushed before returning, so that a process that writes and
       * exits at once still notifies. */
      if (notifier != NULL)
        {
          cairn_store1_emit_committed (notifier, committed_revision);
          g_dbus_connection_flush_sync (g_dbus_interface_skeleton_get_connection (
                                          G_DBUS_INTERFACE_SKELETON (notifier)), NULL, NULL);
        }

      _cairn_store_emit_committed (self, committed_revision);
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
 * Finishes cairn_store_write_async().
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
