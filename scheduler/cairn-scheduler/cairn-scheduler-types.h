/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <glib.h>

#include <cairn-scheduler/cairn-scheduler-version-macros.h>

G_BEGIN_DECLS

/**
 * CairnSchedulerQueue:
 * @CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY: local changes being sent to the backend; always first
 * @CAIRN_SCHEDULER_QUEUE_USER: work a client is waiting for, such as a missing mail body
 * @CAIRN_SCHEDULER_QUEUE_EXPLICIT: synchronization somebody asked for
 * @CAIRN_SCHEDULER_QUEUE_BACKGROUND: periodic work nobody is waiting for
 *
 * The queues of a scheduler, from the highest priority to the lowest. A task
 * of a queue only starts when every queue above it holds no task that could
 * run; within a queue, tasks run in the order they arrived.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY,
  CAIRN_SCHEDULER_QUEUE_USER,
  CAIRN_SCHEDULER_QUEUE_EXPLICIT,
  CAIRN_SCHEDULER_QUEUE_BACKGROUND,
} CairnSchedulerQueue;

/**
 * CairnSchedulerTaskKind:
 * @CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY: send the recorded local changes to the backend
 * @CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS: fetch missing parts of some items for a client
 * @CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL: synchronize the collection tree and every collection
 * @CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE: synchronize the collection tree
 * @CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION: synchronize the items of one collection
 * @CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS: synchronize the tags
 * @CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS: synchronize the relations
 * @CAIRN_SCHEDULER_TASK_KIND_CUSTOM: a task the resource defines, named, in a queue it chooses
 * @CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC: the periodic synchronization
 * @CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY: drop cached parts past their lifetime
 *
 * What a task does. The kind decides the queue (except for custom tasks),
 * the time limit of the watchdog and what happens to the task while the
 * scheduler is offline.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY,
  CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS,
  CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL,
  CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE,
  CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION,
  CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS,
  CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS,
  CAIRN_SCHEDULER_TASK_KIND_CUSTOM,
  CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC,
  CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY,
} CairnSchedulerTaskKind;

/**
 * CairnSchedulerTaskState:
 * @CAIRN_SCHEDULER_TASK_STATE_NEW: created, not given to a scheduler yet
 * @CAIRN_SCHEDULER_TASK_STATE_QUEUED: waiting in its queue
 * @CAIRN_SCHEDULER_TASK_STATE_RUNNING: handed to the resource, which has not reported yet
 * @CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY: failed transiently, waiting for its next attempt
 * @CAIRN_SCHEDULER_TASK_STATE_MERGED: merged into an equal or larger task, which answers its
 *   requesters
 * @CAIRN_SCHEDULER_TASK_STATE_FINISHED: over; see cairn_scheduler_task_get_error()
 *
 * Where a task is in its life.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_TASK_STATE_NEW,
  CAIRN_SCHEDULER_TASK_STATE_QUEUED,
  CAIRN_SCHEDULER_TASK_STATE_RUNNING,
  CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY,
  CAIRN_SCHEDULER_TASK_STATE_MERGED,
  CAIRN_SCHEDULER_TASK_STATE_FINISHED,
} CairnSchedulerTaskState;

/**
 * CairnSchedulerOutcome:
 * @CAIRN_SCHEDULER_OUTCOME_DONE: the task did its work
 * @CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT: the task failed in a way that may go away (a
 *   network error, a busy server); it is retried after a backoff, up to a limit
 * @CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT: the task failed for good; it is reported and never
 *   retried
 * @CAIRN_SCHEDULER_OUTCOME_DEFERRED: the task cannot run now; it goes to the back of its queue
 *
 * How a run of a task ended, as the resource reports it with
 * cairn_scheduler_task_report().
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_OUTCOME_DONE,
  CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT,
  CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT,
  CAIRN_SCHEDULER_OUTCOME_DEFERRED,
} CairnSchedulerOutcome;

/**
 * CairnSchedulerOfflinePolicy:
 * @CAIRN_SCHEDULER_OFFLINE_HOLD: tasks stay queued while offline and run once online
 * @CAIRN_SCHEDULER_OFFLINE_REFUSE: new tasks are refused and queued ones fail when the scheduler
 *   goes offline, with %CAIRN_SCHEDULER_ERROR_OFFLINE
 * @CAIRN_SCHEDULER_OFFLINE_RUN: tasks run while offline, for work that needs no network
 *
 * What happens to the tasks of a kind while the scheduler is offline. The
 * resource type declares it per kind with
 * cairn_scheduler_set_offline_policy(); change replay is always held.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_OFFLINE_HOLD,
  CAIRN_SCHEDULER_OFFLINE_REFUSE,
  CAIRN_SCHEDULER_OFFLINE_RUN,
} CairnSchedulerOfflinePolicy;

/**
 * CairnSchedulerError:
 * @CAIRN_SCHEDULER_ERROR_FAILED: the resource reported a failure without saying why
 * @CAIRN_SCHEDULER_ERROR_OFFLINE: the scheduler is offline and the task's kind is refused
 *   while offline
 * @CAIRN_SCHEDULER_ERROR_TIMED_OUT: the task ran longer than its kind's time limit
 *
 * Errors of the %CAIRN_SCHEDULER_ERROR domain. A cancelled task or request
 * fails with %G_IO_ERROR_CANCELLED instead; a task that gave up after its
 * last transient failure fails with the resource's own error.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SCHEDULER_ERROR_FAILED,
  CAIRN_SCHEDULER_ERROR_OFFLINE,
  CAIRN_SCHEDULER_ERROR_TIMED_OUT,
} CairnSchedulerError;

/**
 * CAIRN_SCHEDULER_ERROR:
 *
 * The error domain of the scheduler; the codes are in #CairnSchedulerError.
 *
 * Since: 0.1
 */
#define CAIRN_SCHEDULER_ERROR (cairn_scheduler_error_quark ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
GQuark cairn_scheduler_error_quark (void);

G_END_DECLS
