/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-scheduler-object.h"
#include "cairn-scheduler-task.h"

G_BEGIN_DECLS

#define CAIRN_SCHEDULER_N_QUEUES (CAIRN_SCHEDULER_QUEUE_BACKGROUND + 1)
#define CAIRN_SCHEDULER_N_KINDS  (CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY + 1)

struct _CairnSchedulerTask
{
  GObject                  parent_instance;

  /* In a queue of the scheduler, or in its retry list; data is the task. */
  GList                    link;
  /* Set, without a reference, while a scheduler owns the task. */
  CairnScheduler          *scheduler;

  CairnSchedulerTaskKind   kind;
  CairnSchedulerQueue      queue;
  CairnSchedulerTaskState  state;
  guint                    hash;
  guint                    attempt;
  /* Requests merged into this task that wait for no answer. */
  guint                    n_anonymous;
  guint                    retry_timer;
  guint                    cancel_requested : 1;
  /* Finished by the scheduler (watchdog, cancellation) while the resource
   * still ran it: a late report is expected and ignored. */
  guint                    abandoned : 1;

  gint64                   collection_id;
  char                    *name;
  gint64                  *item_ids;
  guint                    n_items;
  GStrv                    parts;

  guint64                  serial;
  gint64                   started_time;
  gint64                   deadline;
  gint64                   retry_time;

  GPtrArray               *waiters;
  GCancellable            *cancellable;
  GError                  *error;
};

guint    _cairn_scheduler_task_hash   (gconstpointer       task);
gboolean _cairn_scheduler_task_equal  (gconstpointer       a,
                                       gconstpointer       b);
gboolean _cairn_scheduler_task_covers (CairnSchedulerTask *running,
                                       CairnSchedulerTask *request);

void     _cairn_scheduler_report      (CairnScheduler        *self,
                                       CairnSchedulerTask    *task,
                                       CairnSchedulerOutcome  outcome,
                                       const GError          *error);

G_END_DECLS
