/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-failed-change-private.h"

/**
 * CairnFailedChange:
 *
 * A local change whose replay the backend refused for good, kept by its
 * resource with the backend's reason until it is retried or discarded
 * (see cairn_resource_list_failed_changes()).
 *
 * Since: 0.1
 */
struct _CairnFailedChange
{
  gatomicrefcount ref_count;
  guint64 id;
  CairnChange *change;
  char *reason;
  GDateTime *failed_at;
};

G_DEFINE_BOXED_TYPE (CairnFailedChange, cairn_failed_change,
                     cairn_failed_change_ref, cairn_failed_change_unref)

CairnFailedChange *
_cairn_failed_change_new (guint64      id,
                          CairnChange *change,
                          const char  *reason,
                          gint64       failed_at)
{
  CairnFailedChange *self = g_new0 (CairnFailedChange, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->id = id;
  self->change = cairn_change_ref (change);
  self->reason = g_strdup (reason);
  self->failed_at = g_date_time_new_from_unix_utc (failed_at);
  return self;
}

/**
 * cairn_failed_change_ref:
 * @self: a #CairnFailedChange
 *
 * Takes a reference on @self.
 *
 * Returns: (transfer full): @self
 *
 * Since: 0.1
 */
CairnFailedChange *
cairn_failed_change_ref (CairnFailedChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * cairn_failed_change_unref:
 * @self: (transfer full): a #CairnFailedChange
 *
 * Drops a reference on @self, and frees it when that was the last.
 *
 * Since: 0.1
 */
void
cairn_failed_change_unref (CairnFailedChange *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  cairn_change_unref (self->change);
  g_free (self->reason);
  g_date_time_unref (self->failed_at);
  g_free (self);
}

/**
 * cairn_failed_change_get_id:
 * @self: a #CairnFailedChange
 *
 * Gets the failed change's id.
 *
 * Returns: the id that cairn_resource_retry_failed_changes() and
 *   cairn_resource_discard_failed_changes() take
 *
 * Since: 0.1
 */
guint64
cairn_failed_change_get_id (CairnFailedChange *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->id;
}

/**
 * cairn_failed_change_get_change:
 * @self: a #CairnFailedChange
 *
 * Gets the change as it was recorded.
 *
 * Returns: (transfer none): the change as it was recorded
 *
 * Since: 0.1
 */
CairnChange *
cairn_failed_change_get_change (CairnFailedChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->change;
}

/**
 * cairn_failed_change_get_reason:
 * @self: a #CairnFailedChange
 *
 * Gets why the backend refused the change.
 *
 * Returns: the backend's reason, as the resource reported it
 *
 * Since: 0.1
 */
const char *
cairn_failed_change_get_reason (CairnFailedChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->reason;
}

/**
 * cairn_failed_change_get_failed_at:
 * @self: a #CairnFailedChange
 *
 * Gets when the replay of the change failed.
 *
 * Returns: (transfer none): when the replay failed, in UTC
 *
 * Since: 0.1
 */
GDateTime *
cairn_failed_change_get_failed_at (CairnFailedChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->failed_at;
}
