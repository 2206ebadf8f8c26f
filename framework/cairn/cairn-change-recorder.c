/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change-recorder.h"
#include "cairn-monitor-private.h"
#include "cairn-store-private.h"

/**
 * CairnChangeRecorder:
 *
 * A monitor that delivers every change after a durable position, one
 * notification at a time: the change replay of an agent.
 *
 * The position is a cursor of the store named after the consumer
 * (cairn_store_get_cursor() reads it), so the change log is kept for the
 * recorder however long it is stopped. The recorder reads the pending
 * changes (see #CairnMonitor for scope and coalescing), delivers the first
 * notification and waits for cairn_change_recorder_change_processed()
 * before the next one. Each call records the new position in one small
 * write before it returns.
 *
 * The position is the cursor revision plus, for the range being
 * delivered, where the range ends and how many coalesced notifications
 * of its current chunk were processed (a long range is read in chunks
 * that share no entity). A process killed at any moment therefore resumes
 * at the first notification whose change_processed() had not returned:
 * none is skipped, and none is delivered again after its
 * change_processed() returned. The range is coalesced again the same way
 * on restart, so the scope, the batch mode and the store origin must stay
 * the same across restarts of one consumer.
 *
 * Since: 0.1
 */

struct _CairnChangeRecorder
{
  CairnMonitor parent_instance;

  char *name;
};

enum {
  PROP_0,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CairnChangeRecorder, cairn_change_recorder, CAIRN_TYPE_MONITOR)

static void
cairn_change_recorder_finalize (GObject *object)
{
  CairnChangeRecorder *self = CAIRN_CHANGE_RECORDER (object);

  g_free (self->name);

  G_OBJECT_CLASS (cairn_change_recorder_parent_class)->finalize (object);
}

static void
cairn_change_recorder_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CairnChangeRecorder *self = CAIRN_CHANGE_RECORDER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_change_recorder_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  CairnChangeRecorder *self = CAIRN_CHANGE_RECORDER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_change_recorder_class_init (CairnChangeRecorderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_change_recorder_finalize;
  object_class->get_property = cairn_change_recorder_get_property;
  object_class->set_property = cairn_change_recorder_set_property;

  /**
   * CairnChangeRecorder:name:
   *
   * The consumer's name, usually its agent instance id; also the name of
   * its cursor in the store.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_change_recorder_init (CairnChangeRecorder *self)
{
}

/**
 * cairn_change_recorder_new:
 * @store: a #CairnStore
 * @name: the consumer's name, unique in the store
 * @error: return location for an error
 *
 * Creates the change recorder of consumer @name. The first time, its
 * cursor is created at the store's current revision; later, delivery
 * resumes where the consumer stopped. Delivery starts in the
 * thread-default main context of the caller once it runs: set the scope
 * and the observer first.
 *
 * Returns: (transfer full): the recorder, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnChangeRecorder *
cairn_change_recorder_new (CairnStore  *store,
                           const char  *name,
                           GError     **error)
{
  g_autoptr(CairnChangeRecorder) self = NULL;
  g_autoptr(CairnRecording) recording = NULL;
  g_autoptr(GError) local_error = NULL;
  guint64 revision;

  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  recording = g_new0 (CairnRecording, 1);
  recording->name = g_strdup (name);
  if (!_cairn_store_get_recorder_position (store, name, &recording->revision,
                                           &recording->batch_end, &recording->delivered,
                                           &local_error))
    {
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (!cairn_store_get_revision (store, &recording->revision, error) ||
          !cairn_store_set_cursor (store, name, recording->revision, error))
        return NULL;
    }

  self = g_object_new (CAIRN_TYPE_CHANGE_RECORDER, "store", store, "name", name, NULL);
  revision = recording->revision;
  _cairn_monitor_start (CAIRN_MONITOR (self), revision, g_steal_pointer (&recording));

  return g_steal_pointer (&self);
}

/**
 * cairn_change_recorder_get_name:
 * @self: a #CairnChangeRecorder
 *
 * Gets the name of the consumer whose cursor the recorder keeps.
 *
 * Returns: the consumer's name
 *
 * Since: 0.1
 */
const char *
cairn_change_recorder_get_name (CairnChangeRecorder *self)
{
  g_return_val_if_fail (CAIRN_IS_CHANGE_RECORDER (self), NULL);

  return self->name;
}

/**
 * cairn_change_recorder_change_processed:
 * @self: a #CairnChangeRecorder
 *
 * Marks the notification being delivered processed. The new position is
 * written before this returns, so the notification is never delivered
 * again; then the next one is delivered from the main loop.
 *
 * Since: 0.1
 */
void
cairn_change_recorder_change_processed (CairnChangeRecorder *self)
{
  g_return_if_fail (CAIRN_IS_CHANGE_RECORDER (self));

  _cairn_monitor_processed (CAIRN_MONITOR (self));
}

/**
 * cairn_change_recorder_get_pending_count:
 * @self: a #CairnChangeRecorder
 * @count: (out): the number of changes not yet processed
 * @error: return location for an error
 *
 * Counts what is left to deliver: the notifications of the page being
 * delivered that are not processed, plus the change log entries after
 * that page, counted before scope and coalescing (so an upper bound of
 * what they will give).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_change_recorder_get_pending_count (CairnChangeRecorder  *self,
                                         guint64              *count,
                                         GError              **error)
{
  CairnMonitor *monitor = CAIRN_MONITOR (self);
  guint64 chunk_end, later;
  guint queued;

  g_return_val_if_fail (CAIRN_IS_CHANGE_RECORDER (self), FALSE);
  g_return_val_if_fail (count != NULL, FALSE);

  queued = _cairn_monitor_get_queued (monitor, &chunk_end);
  if (!_cairn_store_count_changes_since (cairn_monitor_get_store (monitor), chunk_end, &later,
                                         error))
    return FALSE;

  *count = queued + later;
  return TRUE;
}
