/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <gio/gio.h>

#include <cairn-scheduler/cairn-clock.h>
#include <cairn-scheduler/cairn-scheduler-task.h>
#include <cairn-scheduler/cairn-scheduler-types.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_SCHEDULER (cairn_scheduler_get_type ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnScheduler, cairn_scheduler, CAIRN, SCHEDULER, GObject)

/**
 * CairnSchedulerRunFunc:
 * @scheduler: the #CairnScheduler
 * @task: the task to run
 * @user_data: the data given to cairn_scheduler_set_run_func()
 *
 * Runs @task for the resource. The function starts the work and returns;
 * when the work ends, now or later, the resource calls
 * cairn_scheduler_task_report() once. It should pass
 * cairn_scheduler_task_get_cancellable() to what it starts.
 *
 * Since: 0.1
 */
typedef void (*CairnSchedulerRunFunc) (CairnScheduler     *scheduler,
                                       CairnSchedulerTask *task,
                                       gpointer            user_data);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnScheduler              *cairn_scheduler_new                (CairnClock                  *clock);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_run_func       (CairnScheduler              *self,
                                                                 CairnSchedulerRunFunc        func,
                                                                 gpointer                     user_data,
                                                                 GDestroyNotify               notify);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnClock                  *cairn_scheduler_get_clock          (CairnScheduler              *self);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gboolean                     cairn_scheduler_get_online         (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_online         (CairnScheduler              *self,
                                                                 gboolean                     online);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerOfflinePolicy  cairn_scheduler_get_offline_policy (CairnScheduler              *self,
                                                                 CairnSchedulerTaskKind       kind);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_offline_policy (CairnScheduler              *self,
                                                                 CairnSchedulerTaskKind       kind,
                                                                 CairnSchedulerOfflinePolicy  policy);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                       cairn_scheduler_get_time_limit     (CairnScheduler              *self,
                                                                 CairnSchedulerTaskKind       kind);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_time_limit     (CairnScheduler              *self,
                                                                 CairnSchedulerTaskKind       kind,
                                                                 gint64                       usec);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint                        cairn_scheduler_get_max_attempts   (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_max_attempts   (CairnScheduler              *self,
                                                                 guint                        max_attempts);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                       cairn_scheduler_get_retry_delay    (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_retry_delay    (CairnScheduler              *self,
                                                                 gint64                       usec);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                       cairn_scheduler_get_max_retry_delay (CairnScheduler             *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_max_retry_delay (CairnScheduler             *self,
                                                                  gint64                      usec);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64                       cairn_scheduler_get_sync_interval  (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_sync_interval  (CairnScheduler              *self,
                                                                 gint64                       usec);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_set_random_seed    (CairnScheduler              *self,
                                                                 guint32                      seed);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask          *cairn_scheduler_queue              (CairnScheduler              *self,
                                                                 CairnSchedulerTask          *task);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_queue_async        (CairnScheduler              *self,
                                                                 CairnSchedulerTask          *task,
                                                                 GCancellable                *cancellable,
                                                                 GAsyncReadyCallback          callback,
                                                                 gpointer                     user_data);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gboolean                     cairn_scheduler_queue_finish       (CairnScheduler              *self,
                                                                 GAsyncResult                *result,
                                                                 GError                     **error);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_cancel_task        (CairnScheduler              *self,
                                                                 CairnSchedulerTask          *task);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_cancel_queue       (CairnScheduler              *self,
                                                                 CairnSchedulerQueue          queue);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void                         cairn_scheduler_cancel_all         (CairnScheduler              *self);

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint                        cairn_scheduler_get_queue_length   (CairnScheduler              *self,
                                                                 CairnSchedulerQueue          queue);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint                        cairn_scheduler_get_kind_count     (CairnScheduler              *self,
                                                                 CairnSchedulerTaskKind       kind);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnSchedulerTask          *cairn_scheduler_get_running_task   (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
GPtrArray                   *cairn_scheduler_list_tasks         (CairnScheduler              *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
char                        *cairn_scheduler_dump               (CairnScheduler              *self);

G_END_DECLS
