/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <gio/gio.h>

#include <cairn-scheduler/cairn-scheduler-types.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_SCHEDULER_TASK (cairn_scheduler_task_get_type ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnSchedulerTask, cairn_scheduler_task, CAIRN, SCHEDULER_TASK, GObject)

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask      *cairn_scheduler_task_new                 (CairnSchedulerTaskKind  kind);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask      *cairn_scheduler_task_new_sync_collection (gint64                  collection_id);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask      *cairn_scheduler_task_new_fetch_parts     (const gint64           *item_ids,
                                                                   gsize                   n_items,
                                                                   const char * const     *parts);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask      *cairn_scheduler_task_new_custom          (const char             *name,
                                                                   CairnSchedulerQueue     queue,
                                                                   gint64                  target_id);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTaskKind   cairn_scheduler_task_get_kind            (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerQueue      cairn_scheduler_task_get_queue           (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTaskState  cairn_scheduler_task_get_state           (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                   cairn_scheduler_task_get_collection_id   (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
const char              *cairn_scheduler_task_get_name            (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
const gint64            *cairn_scheduler_task_get_item_ids        (CairnSchedulerTask     *self,
                                                                   gsize                  *n_items);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
const char * const      *cairn_scheduler_task_get_parts           (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint                    cairn_scheduler_task_get_attempt         (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                   cairn_scheduler_task_get_retry_time      (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint                    cairn_scheduler_task_get_n_waiters       (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
const GError            *cairn_scheduler_task_get_error           (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
GCancellable            *cairn_scheduler_task_get_cancellable     (CairnSchedulerTask     *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
char                    *cairn_scheduler_task_describe            (CairnSchedulerTask     *self);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                     cairn_scheduler_task_report              (CairnSchedulerTask     *self,
                                                                   CairnSchedulerOutcome   outcome,
                                                                   const GError           *error);

G_END_DECLS
