/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-monitor.h"

G_BEGIN_DECLS

/* What a change recorder keeps of its position: everything up to
 * revision is processed, and the first delivered notifications of the
 * range (revision, batch_end]; batch_end is 0 between ranges. */
typedef struct
{
  char *name;
  guint64 revision;
  guint64 batch_end;
  guint delivered;
} CairnRecording;

void     _cairn_recording_free          (CairnRecording  *recording);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnRecording, _cairn_recording_free)

typedef void (*CairnMonitorGateFunc) (CairnMonitor *monitor,
                                      gpointer      user_data);

void     _cairn_monitor_set_gate        (CairnMonitor          *self,
                                         CairnMonitorGateFunc   gate,
                                         CairnMonitorGateFunc   caught_up,
                                         gpointer               user_data);
void     _cairn_monitor_set_read_func   (CairnMonitor          *self,
                                         CairnMonitorGateFunc   read,
                                         gpointer               user_data);
gboolean _cairn_monitor_get_held        (CairnMonitor          *self,
                                         GPtrArray            **changes,
                                         GPtrArray            **items);
void     _cairn_monitor_deliver_held    (CairnMonitor          *self);
gboolean _cairn_monitor_held_has_callback (CairnMonitor        *self);
gboolean _cairn_monitor_get_held_attempted (CairnMonitor       *self);
gboolean _cairn_monitor_load_held       (CairnMonitor          *self,
                                         GError               **error);
gboolean _cairn_monitor_refresh         (CairnMonitor          *self);
void     _cairn_monitor_lend_remote_id  (CairnMonitor          *self,
                                         CairnEntityKind        kind,
                                         guint64                id,
                                         const char            *remote_id);
CairnChange *_cairn_monitor_find_pending (CairnMonitor         *self,
                                          CairnEntityKind       kind,
                                          guint64               id,
                                          CairnChangeOperation  operation);
void     _cairn_monitor_start           (CairnMonitor    *self,
                                         guint64          revision,
                                         CairnRecording  *recording);
void     _cairn_monitor_processed       (CairnMonitor    *self);
gboolean _cairn_monitor_write_processed_position (CairnMonitor      *self,
                                                  CairnTransaction  *transaction,
                                                  GError           **error);
guint64  _cairn_monitor_get_position    (CairnMonitor    *self);
guint    _cairn_monitor_get_queued      (CairnMonitor    *self,
                                         guint64         *chunk_end);

G_END_DECLS
