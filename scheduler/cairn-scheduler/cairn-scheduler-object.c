/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-scheduler-enum-types.h"
#include "cairn-scheduler-private.h"
#include "cairn-system-clock.h"

/**
 * CairnScheduler:
 *
 * Decides in which order a resource does its work, one task at a time.
 *
 * Tasks wait in four queues of strict priority (see #CairnSchedulerQueue):
 * a task starts only when no queue above its own holds a task that could
 * run, and within a queue tasks run in the order they arrived. While a
 * change replay waits to be retried, nothing else runs, so the backend's
 * state is never pulled over local changes it has not received yet.
 *
 * A task equal to a queued one is merged into it, and every requester is
 * answered when it ends; a sync-all absorbs the queued collection-tree and
 * collection syncs; a fetch of parts that the running fetch already covers
 * joins it. A running task is never started a second time: an equal
 * request made while it runs is queued behind it.
 *
 * The resource runs tasks in its #CairnSchedulerRunFunc and reports how
 * each run ended with cairn_scheduler_task_report(): transient failures are
 * retried after an exponential backoff with jitter, up to
 * #CairnScheduler:max-attempts attempts; permanent failures are reported at
 * once; deferred tasks go to the back of their queue. A watchdog fails a
 * task that runs longer than its kind's time limit.
 *
 * While offline, change replay stays queued, and each kind is held,
 * refused or run as cairn_scheduler_set_offline_policy() declares. On going
 * online, tasks waiting to be retried are queued again at once, and every
 * change replay runs before anything else.
 *
 * The scheduler works in the thread-default #GMainContext of the thread
 * that created it, and reads time and sets timers only through its
 * #CairnClock.
 *
 * Since: 0.1
 */

/* How many tasks that end within their run function are started in one
 * main loop dispatch before the loop gets control back. */
#define DISPATCH_BUDGET 64

#define USEC_PER_MINUTE (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)

struct _CairnScheduler
{
  GObject                      parent_instance;

  CairnClock                  *clock;
  GMainContext                *context;
  GSource                     *dispatch_source;

  CairnSchedulerRunFunc        run_func;
  gpointer                     run_data;
  GDestroyNotify               run_notify;

  GQueue                       queues[CAIRN_SCHEDULER_N_QUEUES];
  /* Tasks waiting for their next attempt, in the order they failed. */
  GQueue                       retrying;
  guint                        n_retrying[CAIRN_SCHEDULER_N_QUEUES];
  /* The queued tasks, for merging: at most one of each equal set. */
  GHashTable                  *queued;
  CairnSchedulerTask          *queued_sync_all;
  CairnSchedulerTask          *running;
  guint                        kind_counts[CAIRN_SCHEDULER_N_KINDS];

  gint64                       time_limits[CAIRN_SCHEDULER_N_KINDS];
  CairnSchedulerOfflinePolicy  offline_policies[CAIRN_SCHEDULER_N_KINDS];
  gboolean                     online;
  guint                        max_attempts;
  gint64                       retry_delay;
  gint64                       max_retry_delay;
  gint64                       sync_interval;

  guint                        interval_timer;
  /* Armed at or before the running task's deadline; when it fires early it
   * is armed again, which spares a timer per task. */
  guint                        watchdog_timer;
  gint64                       watchdog_deadline;

  GRand                       *rand;
  guint64                      last_serial;
  gboolean                     in_dispatch;
  gboolean                     dispatch_armed;
};

typedef struct
{
  GTask              *task;
  GSource            *cancel_source;
  CairnSchedulerTask *owner;
} Waiter;

enum {
  PROP_0,
  PROP_CLOCK,
  PROP_ONLINE,
  PROP_MAX_ATTEMPTS,
  PROP_RETRY_DELAY,
  PROP_MAX_RETRY_DELAY,
  PROP_SYNC_INTERVAL,
  N_PROPS
};

enum {
  TASK_STARTED,
  TASK_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/**
 * cairn_scheduler_error_quark:
 *
 * Gets the error domain of the scheduler.
 *
 * Returns: the #GQuark of %CAIRN_SCHEDULER_ERROR, whose codes are #CairnSchedulerError
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (cairn-scheduler-error-quark, cairn_scheduler_error)

G_DEFINE_FINAL_TYPE (CairnScheduler, cairn_scheduler, G_TYPE_OBJECT)

static gboolean
is_collection_sync (CairnSchedulerTaskKind kind)
{
  return kind == CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE ||
         kind == CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION;
}

static gboolean
refused_offline (CairnScheduler     *self,
                 CairnSchedulerTask *task)
{
  return !self->online &&
         self->offline_policies[task->kind] == CAIRN_SCHEDULER_OFFLINE_REFUSE;
}

static gboolean
runs_now (CairnScheduler     *self,
          CairnSchedulerTask *task)
{
  return self->online || self->offline_policies[task->kind] == CAIRN_SCHEDULER_OFFLINE_RUN;
}

static GError *
offline_error (CairnSchedulerTask *task)
{
  g_autofree char *description = cairn_scheduler_task_describe (task);

  return g_error_new (CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_OFFLINE,
                      "Task %s was refused: the resource is offline", description);
}

static GError *
cancelled_error (CairnSchedulerTask *task)
{
  g_autofree char *description = cairn_scheduler_task_describe (task);

  return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                      "Task %s was cancelled", description);
}

static void
schedule_dispatch (CairnScheduler *self)
{
  if (self->running != NULL || self->in_dispatch || self->dispatch_armed ||
      self->dispatch_source == NULL)
    return;

  self->dispatch_armed = TRUE;
  g_source_set_ready_time (self->dispatch_source, 0);
}

static void
waiter_answer (Waiter       *waiter,
               const GError *error)
{
  if (waiter->cancel_source != NULL)
    {
      g_source_destroy (waiter->cancel_source);
      g_source_unref (waiter->cancel_source);
    }

  if (error != NULL)
    g_task_return_error (waiter->task, g_error_copy (error));
  else
    g_task_return_boolean (waiter->task, TRUE);

  g_object_unref (waiter->task);
  g_free (waiter);
}

static void
task_add_waiter (CairnSchedulerTask *task,
                 Waiter             *waiter)
{
  if (task->waiters == NULL)
    task->waiters = g_ptr_array_new ();

  waiter->owner = task;
  g_ptr_array_add (task->waiters, waiter);
}

static void
take_task (CairnScheduler     *self,
           CairnSchedulerTask *task)
{
  task->scheduler = self;
  task->serial = ++self->last_serial;
  self->kind_counts[task->kind]++;
  g_object_ref (task);
}

static void
release_task (CairnScheduler     *self,
              CairnSchedulerTask *task)
{
  self->kind_counts[task->kind]--;
  task->scheduler = NULL;
  g_object_unref (task);
}

/* Ends @task for good and answers everybody waiting for it. */
static void
finish_task (CairnScheduler     *self,
             CairnSchedulerTask *task,
             GError             *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&task->waiters);

  /* Keep the task alive for the signal and the answers. */
  g_object_ref (task);
  task->state = CAIRN_SCHEDULER_TASK_STATE_FINISHED;
  task->error = error;
  release_task (self, task);

  g_signal_emit (self, signals[TASK_FINISHED], 0, task);

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    waiter_answer (g_ptr_array_index (waiters, i), task->error);

  g_object_unref (task);
}

/* Hands the requesters of @from to @into; @from is done with. */
static void
merge_into (CairnScheduler     *self,
            CairnSchedulerTask *from,
            CairnSchedulerTask *into)
{
  for (guint i = 0; from->waiters != NULL && i < from->waiters->len; i++)
    task_add_waiter (into, g_ptr_array_index (from->waiters, i));
  g_clear_pointer (&from->waiters, g_ptr_array_unref);

  into->n_anonymous += from->n_anonymous;
  from->n_anonymous = 0;
  from->state = CAIRN_SCHEDULER_TASK_STATE_MERGED;
  release_task (self, from);
}

static void
queue_insert (CairnScheduler     *self,
              CairnSchedulerTask *task,
              GList              *before)
{
  GQueue *queue = &self->queues[task->queue];

  task->state = CAIRN_SCHEDULER_TASK_STATE_QUEUED;
  if (before != NULL)
    g_queue_insert_before_link (queue, before, &task->link);
  else
    g_queue_push_tail_link (queue, &task->link);

  g_hash_table_add (self->queued, task);
  if (task->kind == CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL)
    self->queued_sync_all = task;
}

static void
queue_remove (CairnScheduler     *self,
              CairnSchedulerTask *task)
{
  g_queue_unlink (&self->queues[task->queue], &task->link);
  g_hash_table_remove (self->queued, task);
  if (self->queued_sync_all == task)
    self->queued_sync_all = NULL;
}

static void
queue_move_to_head (CairnScheduler     *self,
                    CairnSchedulerTask *task)
{
  GQueue *queue = &self->queues[task->queue];

  g_queue_unlink (queue, &task->link);
  g_queue_push_head_link (queue, &task->link);
}

/* Puts @task, owned by @self and in no list, into its queue at the head or
 * the tail, merging it with the queued task it equals or is part of.
 * Returns the task that now carries the work. */
static CairnSchedulerTask *
enqueue (CairnScheduler     *self,
         CairnSchedulerTask *task,
         gboolean            at_head)
{
  GQueue *queue = &self->queues[task->queue];
  CairnSchedulerTask *into = NULL;

  if (is_collection_sync (task->kind))
    into = self->queued_sync_all;
  if (into == NULL)
    into = g_hash_table_lookup (self->queued, task);

  if (into != NULL)
    {
      merge_into (self, task, into);
      if (at_head)
        queue_move_to_head (self, into);
      return into;
    }

  if (task->kind == CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL)
    {
      GList *first_absorbed = NULL;
      GList *next;

      /* The sync-all takes the place of the earliest sync it absorbs, so
       * nobody waits longer than they would have. */
      for (GList *l = queue->head; l != NULL && !at_head; l = l->next)
        if (is_collection_sync (((CairnSchedulerTask *) l->data)->kind))
          {
            first_absorbed = l;
            break;
          }

      queue_insert (self, task, at_head ? queue->head : first_absorbed);

      for (GList *l = queue->head; l != NULL; l = next)
        {
          CairnSchedulerTask *absorbed = l->data;

          next = l->next;
          if (is_collection_sync (absorbed->kind))
            {
              queue_remove (self, absorbed);
              merge_into (self, absorbed, task);
            }
        }
    }
  else
    {
      queue_insert (self, task, at_head ? queue->head : NULL);
    }

  return task;
}

static void
stop_waiting_retry (CairnScheduler     *self,
                    CairnSchedulerTask *task)
{
  if (task->retry_timer != 0)
    {
      cairn_clock_remove_timer (self->clock, task->retry_timer);
      task->retry_timer = 0;
    }

  g_queue_unlink (&self->retrying, &task->link);
  self->n_retrying[task->queue]--;
  task->retry_time = -1;
}

static void
retry_cb (gpointer user_data)
{
  CairnSchedulerTask *task = user_data;
  CairnScheduler *self = task->scheduler;

  task->retry_timer = 0;
  stop_waiting_retry (self, task);

  if (refused_offline (self, task))
    finish_task (self, task, offline_error (task));
  else
    enqueue (self, task, TRUE);

  schedule_dispatch (self);
}

static gint64
backoff_delay (CairnScheduler *self,
               guint           attempt)
{
  gint64 delay = self->retry_delay;
  gint64 fixed;

  for (guint i = 1; i < attempt && delay < self->max_retry_delay; i++)
    delay *= 2;
  delay = MIN (delay, self->max_retry_delay);

  /* Half fixed, half random: tasks that failed together spread out. */
  fixed = delay - delay / 2;

  return fixed + (gint64) (g_rand_double (self->rand) * (gdouble) (delay / 2 + 1));
}

static void
wait_retry (CairnScheduler     *self,
            CairnSchedulerTask *task)
{
  task->state = CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY;
  task->retry_time = cairn_clock_get_time (self->clock) + backoff_delay (self, task->attempt);
  g_queue_push_tail_link (&self->retrying, &task->link);
  self->n_retrying[task->queue]++;
  task->retry_timer = cairn_clock_add_timer (self->clock, task->retry_time, retry_cb, task, NULL);
}

static void watchdog_cb (gpointer user_data);

static void
arm_watchdog (CairnScheduler *self,
              gint64          deadline)
{
  if (self->watchdog_timer != 0)
    {
      if (self->watchdog_deadline <= deadline)
        return;
      cairn_clock_remove_timer (self->clock, self->watchdog_timer);
    }

  self->watchdog_deadline = deadline;
  self->watchdog_timer = cairn_clock_add_timer (self->clock, deadline, watchdog_cb, self, NULL);
}

/* Ends the running task without waiting for the resource's report; the
 * report, when it comes, is ignored. */
static void
abandon_running (CairnScheduler *self,
                 GError         *error)
{
  g_autoptr(CairnSchedulerTask) task = g_object_ref (self->running);

  self->running = NULL;
  task->abandoned = TRUE;
  finish_task (self, task, error);

  if (task->cancellable != NULL)
    g_cancellable_cancel (task->cancellable);
}

static void
watchdog_cb (gpointer user_data)
{
  CairnScheduler *self = user_data;
  CairnSchedulerTask *task = self->running;
  g_autofree char *description = NULL;

  self->watchdog_timer = 0;

  if (task == NULL)
    return;

  if (cairn_clock_get_time (self->clock) < task->deadline)
    {
      arm_watchdog (self, task->deadline);
      return;
    }

  description = cairn_scheduler_task_describe (task);
  g_debug ("Task %" G_GUINT64_FORMAT " (%s) timed out", task->serial, description);
  abandon_running (self,
                   g_error_new (CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT,
                                "Task %s timed out after %.1f s", description,
                                (gdouble) (task->deadline - task->started_time) / G_USEC_PER_SEC));
  schedule_dispatch (self);
}

static CairnSchedulerTask *
pick_next (CairnScheduler *self)
{
  for (guint q = 0; q < CAIRN_SCHEDULER_N_QUEUES; q++)
    {
      for (GList *l = self->queues[q].head; l != NULL; l = l->next)
        if (runs_now (self, l->data))
          return l->data;

      /* A change replay waiting to be retried bars everything else. */
      if (q == CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY && self->online &&
          self->n_retrying[q] > 0)
        return NULL;
    }

  return NULL;
}

static void
start_task (CairnScheduler     *self,
            CairnSchedulerTask *task)
{
  /* Keep the task alive even if the run function ends it at once. */
  g_object_ref (task);
  queue_remove (self, task);
  task->state = CAIRN_SCHEDULER_TASK_STATE_RUNNING;
  task->attempt++;
  task->started_time = cairn_clock_get_time (self->clock);
  task->deadline = task->started_time + self->time_limits[task->kind];
  self->running = task;
  arm_watchdog (self, task->deadline);

  g_signal_emit (self, signals[TASK_STARTED], 0, task);

  if (self->running == task)
    self->run_func (self, task, self->run_data);

  g_object_unref (task);
}

static gboolean
dispatch_cb (gpointer user_data)
{
  CairnScheduler *self = user_data;
  guint budget = DISPATCH_BUDGET;

  g_source_set_ready_time (self->dispatch_source, -1);
  self->dispatch_armed = FALSE;

  if (self->run_func == NULL)
    return G_SOURCE_CONTINUE;

  g_object_ref (self);
  self->in_dispatch = TRUE;

  while (self->running == NULL && budget > 0)
    {
      CairnSchedulerTask *task = pick_next (self);

      if (task == NULL)
        break;

      start_task (self, task);
      budget--;
    }

  self->in_dispatch = FALSE;
  if (budget == 0)
    schedule_dispatch (self);
  g_object_unref (self);

  return G_SOURCE_CONTINUE;
}

static gboolean
dispatch_source_dispatch (GSource     *source,
                          GSourceFunc  callback,
                          gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs dispatch_source_funcs = {
  .dispatch = dispatch_source_dispatch,
};

static GError *
failure_error (CairnSchedulerTask *task,
               const GError       *error)
{
  g_autofree char *description = NULL;

  if (error != NULL)
    return g_error_copy (error);

  description = cairn_scheduler_task_describe (task);

  return g_error_new (CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_FAILED,
                      "Task %s failed", description);
}

void
_cairn_scheduler_report (CairnScheduler        *self,
                         CairnSchedulerTask    *task,
                         CairnSchedulerOutcome  outcome,
                         const GError          *error)
{
  g_assert (self->running == task);
  g_object_ref (task);
  self->running = NULL;

  if (task->cancel_requested && outcome != CAIRN_SCHEDULER_OUTCOME_DONE)
    {
      finish_task (self, task, cancelled_error (task));
    }
  else if (outcome == CAIRN_SCHEDULER_OUTCOME_DONE)
    {
      finish_task (self, task, NULL);
    }
  else if (outcome == CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT)
    {
      finish_task (self, task, failure_error (task, error));
    }
  else if (refused_offline (self, task))
    {
      finish_task (self, task, offline_error (task));
    }
  else if (outcome == CAIRN_SCHEDULER_OUTCOME_DEFERRED)
    {
      task->attempt--;
      enqueue (self, task, FALSE);
    }
  else if (task->attempt >= self->max_attempts)
    {
      GError *final = failure_error (task, error);

      g_prefix_error (&final, "Gave up after %u attempts: ", task->attempt);
      finish_task (self, task, final);
    }
  else
    {
      wait_retry (self, task);
    }

  schedule_dispatch (self);
  g_object_unref (task);
}

static void cancel_task (CairnScheduler     *self,
                         CairnSchedulerTask *task);

static gboolean
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  CairnSchedulerTask *task = waiter->owner;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "The request was cancelled");

  g_ptr_array_remove (task->waiters, waiter);
  waiter_answer (waiter, error);

  /* Nobody else asked for the task: it has no reason to run any more. */
  if (task->waiters->len == 0 && task->n_anonymous == 0)
    cancel_task (task->scheduler, task);

  return G_SOURCE_REMOVE;
}

static void
cancel_task (CairnScheduler     *self,
             CairnSchedulerTask *task)
{
  switch (task->state)
    {
    case CAIRN_SCHEDULER_TASK_STATE_QUEUED:
      queue_remove (self, task);
      finish_task (self, task, cancelled_error (task));
      break;

    case CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY:
      stop_waiting_retry (self, task);
      finish_task (self, task, cancelled_error (task));
      /* It may have been a change replay holding everything back. */
      schedule_dispatch (self);
      break;

    case CAIRN_SCHEDULER_TASK_STATE_RUNNING:
      if (!task->cancel_requested)
        {
          task->cancel_requested = TRUE;
          if (task->cancellable != NULL)
            g_cancellable_cancel (task->cancellable);
        }
      break;

    case CAIRN_SCHEDULER_TASK_STATE_NEW:
    case CAIRN_SCHEDULER_TASK_STATE_MERGED:
    case CAIRN_SCHEDULER_TASK_STATE_FINISHED:
    default:
      break;
    }
}

/* The tasks of @self matching @queue (or all of them for -1), with
 * references, so callers can end them while waiters' callbacks run. */
static GPtrArray *
collect_tasks (CairnScheduler *self,
               gint            queue)
{
  GPtrArray *tasks = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->running != NULL && (queue < 0 || self->running->queue == (CairnSchedulerQueue) queue))
    g_ptr_array_add (tasks, g_object_ref (self->running));

  for (guint q = 0; q < CAIRN_SCHEDULER_N_QUEUES; q++)
    {
      if (queue >= 0 && q != (guint) queue)
        continue;
      for (GList *l = self->queues[q].head; l != NULL; l = l->next)
        g_ptr_array_add (tasks, g_object_ref (l->data));
    }

  for (GList *l = self->retrying.head; l != NULL; l = l->next)
    {
      CairnSchedulerTask *task = l->data;

      if (queue < 0 || task->queue == (CairnSchedulerQueue) queue)
        g_ptr_array_add (tasks, g_object_ref (task));
    }

  return tasks;
}

static void
refuse_offline_tasks (CairnScheduler *self)
{
  g_autoptr(GPtrArray) tasks = collect_tasks (self, -1);

  for (guint i = 0; i < tasks->len; i++)
    {
      CairnSchedulerTask *task = g_ptr_array_index (tasks, i);

      if (task->scheduler != self || !refused_offline (self, task))
        continue;

      if (task->state == CAIRN_SCHEDULER_TASK_STATE_QUEUED)
        queue_remove (self, task);
      else if (task->state == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY)
        stop_waiting_retry (self, task);
      else
        continue;

      finish_task (self, task, offline_error (task));
    }
}

static void
retry_all_now (CairnScheduler *self)
{
  /* From the last to fail to the first, each to the head of its queue:
   * the first to fail ends up first. */
  while (self->retrying.tail != NULL)
    {
      CairnSchedulerTask *task = self->retrying.tail->data;

      stop_waiting_retry (self, task);
      enqueue (self, task, TRUE);
    }
}

static CairnSchedulerTask *
submit (CairnScheduler     *self,
        CairnSchedulerTask *task,
        Waiter             *waiter)
{
  CairnSchedulerTask *holder;

  if (refused_offline (self, task))
    {
      task->state = CAIRN_SCHEDULER_TASK_STATE_FINISHED;
      task->error = offline_error (task);
      if (waiter != NULL)
        waiter_answer (waiter, task->error);
      return task;
    }

  if (self->running != NULL && !self->running->cancel_requested &&
      _cairn_scheduler_task_covers (self->running, task))
    {
      task->state = CAIRN_SCHEDULER_TASK_STATE_MERGED;
      holder = self->running;
    }
  else
    {
      take_task (self, task);
      holder = enqueue (self, task, FALSE);
    }

  if (waiter != NULL)
    task_add_waiter (holder, waiter);
  else
    holder->n_anonymous++;

  schedule_dispatch (self);

  return holder;
}

static void interval_cb (gpointer user_data);

static void
arm_interval (CairnScheduler *self)
{
  if (self->interval_timer != 0)
    {
      cairn_clock_remove_timer (self->clock, self->interval_timer);
      self->interval_timer = 0;
    }

  if (self->sync_interval > 0)
    self->interval_timer = cairn_clock_add_timer (self->clock,
                                                  cairn_clock_get_time (self->clock) +
                                                  self->sync_interval,
                                                  interval_cb, self, NULL);
}

static void
interval_cb (gpointer user_data)
{
  CairnScheduler *self = user_data;
  g_autoptr(CairnSchedulerTask) task = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC);

  self->interval_timer = 0;
  arm_interval (self);
  submit (self, task, NULL);
}

static void
cairn_scheduler_constructed (GObject *object)
{
  CairnScheduler *self = CAIRN_SCHEDULER (object);

  G_OBJECT_CLASS (cairn_scheduler_parent_class)->constructed (object);

  self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = cairn_system_clock_new (self->context);

  self->dispatch_source = g_source_new (&dispatch_source_funcs, sizeof (GSource));
  g_source_set_static_name (self->dispatch_source, "[cairn] scheduler dispatch");
  g_source_set_callback (self->dispatch_source, dispatch_cb, self, NULL);
  g_source_attach (self->dispatch_source, self->context);
}

static void
cairn_scheduler_dispose (GObject *object)
{
  CairnScheduler *self = CAIRN_SCHEDULER (object);
  g_autoptr(GPtrArray) tasks = NULL;

  if (self->interval_timer != 0)
    {
      cairn_clock_remove_timer (self->clock, self->interval_timer);
      self->interval_timer = 0;
    }
  if (self->watchdog_timer != 0)
    {
      cairn_clock_remove_timer (self->clock, self->watchdog_timer);
      self->watchdog_timer = 0;
    }

  if (self->running != NULL)
    abandon_running (self, cancelled_error (self->running));

  tasks = collect_tasks (self, -1);
  for (guint i = 0; i < tasks->len; i++)
    cancel_task (self, g_ptr_array_index (tasks, i));

  if (self->dispatch_source != NULL)
    {
      g_source_destroy (self->dispatch_source);
      g_clear_pointer (&self->dispatch_source, g_source_unref);
    }

  if (self->run_notify != NULL)
    self->run_notify (self->run_data);
  self->run_func = NULL;
  self->run_data = NULL;
  self->run_notify = NULL;

  G_OBJECT_CLASS (cairn_scheduler_parent_class)->dispose (object);
}

static void
cairn_scheduler_finalize (GObject *object)
{
  CairnScheduler *self = CAIRN_SCHEDULER (object);

  g_clear_pointer (&self->queued, g_hash_table_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (cairn_scheduler_parent_class)->finalize (object);
}

static void
cairn_scheduler_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  CairnScheduler *self = CAIRN_SCHEDULER (object);

  switch (prop_id)
    {
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;

    case PROP_ONLINE:
      g_value_set_boolean (value, self->online);
      break;

    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, self->max_attempts);
      break;

    case PROP_RETRY_DELAY:
      g_value_set_int64 (value, self->retry_delay);
      break;

    case PROP_MAX_RETRY_DELAY:
      g_value_set_int64 (value, self->max_retry_delay);
      break;

    case PROP_SYNC_INTERVAL:
      g_value_set_int64 (value, self->sync_interval);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_scheduler_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  CairnScheduler *self = CAIRN_SCHEDULER (object);

  switch (prop_id)
    {
    case PROP_CLOCK:
      self->clock = g_value_dup_object (value);
      break;

    case PROP_ONLINE:
      cairn_scheduler_set_online (self, g_value_get_boolean (value));
      break;

    case PROP_MAX_ATTEMPTS:
      cairn_scheduler_set_max_attempts (self, g_value_get_uint (value));
      break;

    case PROP_RETRY_DELAY:
      cairn_scheduler_set_retry_delay (self, g_value_get_int64 (value));
      break;

    case PROP_MAX_RETRY_DELAY:
      cairn_scheduler_set_max_retry_delay (self, g_value_get_int64 (value));
      break;

    case PROP_SYNC_INTERVAL:
      cairn_scheduler_set_sync_interval (self, g_value_get_int64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_scheduler_class_init (CairnSchedulerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cairn_scheduler_constructed;
  object_class->dispose = cairn_scheduler_dispose;
  object_class->finalize = cairn_scheduler_finalize;
  object_class->get_property = cairn_scheduler_get_property;
  object_class->set_property = cairn_scheduler_set_property;

  /**
   * CairnScheduler:clock:
   *
   * The source of time and timers; a #CairnSystemClock unless given.
   *
   * Since: 0.1
   */
  properties[PROP_CLOCK] =
    g_param_spec_object ("clock", NULL, NULL,
                         CAIRN_TYPE_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnScheduler:online:
   *
   * Whether the resource can reach its backend. A new scheduler is online.
   *
   * Since: 0.1
   */
  properties[PROP_ONLINE] =
    g_param_spec_boolean ("online", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnScheduler:max-attempts:
   *
   * How many times a task that fails transiently is started before its
   * failure is reported.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts", NULL, NULL,
                       1, G_MAXUINT, 5,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnScheduler:retry-delay:
   *
   * The backoff after the first transient failure, in microseconds; it
   * doubles with each further failure, up to
   * #CairnScheduler:max-retry-delay. The actual delay is between half of
   * it and all of it, at random.
   *
   * Since: 0.1
   */
  properties[PROP_RETRY_DELAY] =
    g_param_spec_int64 ("retry-delay", NULL, NULL,
                        0, G_MAXINT64 / 4, G_USEC_PER_SEC,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnScheduler:max-retry-delay:
   *
   * The longest backoff, in microseconds.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_RETRY_DELAY] =
    g_param_spec_int64 ("max-retry-delay", NULL, NULL,
                        0, G_MAXINT64 / 4, 5 * USEC_PER_MINUTE,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnScheduler:sync-interval:
   *
   * How often an interval sync is queued, in microseconds; 0 for never.
   *
   * Since: 0.1
   */
  properties[PROP_SYNC_INTERVAL] =
    g_param_spec_int64 ("sync-interval", NULL, NULL,
                        0, G_MAXINT64 / 4, 0,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnScheduler::task-started:
   * @self: the #CairnScheduler
   * @task: the task
   *
   * Emitted when a task starts, just before it is handed to the run
   * function.
   *
   * Since: 0.1
   */
  signals[TASK_STARTED] =
    g_signal_new ("task-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, CAIRN_TYPE_SCHEDULER_TASK);

  /**
   * CairnScheduler::task-finished:
   * @self: the #CairnScheduler
   * @task: the task
   *
   * Emitted when a task given to @self ends for good: done, failed,
   * cancelled, timed out or refused while offline. Its error, if any, is
   * cairn_scheduler_task_get_error(). Tasks merged into others, and tasks
   * refused as they are queued, do not emit it.
   *
   * Since: 0.1
   */
  signals[TASK_FINISHED] =
    g_signal_new ("task-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, CAIRN_TYPE_SCHEDULER_TASK);
}

static void
cairn_scheduler_init (CairnScheduler *self)
{
  static const gint64 default_time_limits[CAIRN_SCHEDULER_N_KINDS] = {
    [CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY] = 5 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS] = 2 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL] = 60 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE] = 10 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION] = 30 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS] = 10 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS] = 10 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_CUSTOM] = 30 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC] = 60 * USEC_PER_MINUTE,
    [CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY] = 10 * USEC_PER_MINUTE,
  };

  for (guint q = 0; q < CAIRN_SCHEDULER_N_QUEUES; q++)
    g_queue_init (&self->queues[q]);
  g_queue_init (&self->retrying);
  self->queued = g_hash_table_new (_cairn_scheduler_task_hash, _cairn_scheduler_task_equal);

  for (guint k = 0; k < CAIRN_SCHEDULER_N_KINDS; k++)
    {
      self->time_limits[k] = default_time_limits[k];
      self->offline_policies[k] = CAIRN_SCHEDULER_OFFLINE_HOLD;
    }
  self->offline_policies[CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS] = CAIRN_SCHEDULER_OFFLINE_REFUSE;
  self->offline_policies[CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY] = CAIRN_SCHEDULER_OFFLINE_RUN;

  self->online = TRUE;
  self->max_attempts = 5;
  self->retry_delay = G_USEC_PER_SEC;
  self->max_retry_delay = 5 * USEC_PER_MINUTE;
  self->rand = g_rand_new ();
}

/**
 * cairn_scheduler_new:
 * @clock: (nullable): the clock to use, or %NULL for a #CairnSystemClock
 *
 * Creates a scheduler working in the thread-default #GMainContext. It
 * starts no task until a run function is set with
 * cairn_scheduler_set_run_func().
 *
 * Returns: (transfer full): a new #CairnScheduler
 *
 * Since: 0.1
 */
CairnScheduler *
cairn_scheduler_new (CairnClock *clock)
{
  g_return_val_if_fail (clock == NULL || CAIRN_IS_CLOCK (clock), NULL);

  return g_object_new (CAIRN_TYPE_SCHEDULER, "clock", clock, NULL);
}

/**
 * cairn_scheduler_set_run_func:
 * @self: a #CairnScheduler
 * @func: (scope notified) (closure user_data) (destroy notify): the function that runs tasks
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when @func is replaced or @self disposed
 *
 * Sets how @self hands tasks to the resource.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_run_func (CairnScheduler        *self,
                              CairnSchedulerRunFunc  func,
                              gpointer               user_data,
                              GDestroyNotify         notify)
{
  GDestroyNotify old_notify;
  gpointer old_data;

  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (func != NULL);

  old_notify = self->run_notify;
  old_data = self->run_data;

  self->run_func = func;
  self->run_data = user_data;
  self->run_notify = notify;

  if (old_notify != NULL)
    old_notify (old_data);

  schedule_dispatch (self);
}

/**
 * cairn_scheduler_get_clock:
 * @self: a #CairnScheduler
 *
 * Gets the clock @self reads time and sets timers with.
 *
 * Returns: (transfer none): the #CairnClock
 *
 * Since: 0.1
 */
CairnClock *
cairn_scheduler_get_clock (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), NULL);

  return self->clock;
}

/**
 * cairn_scheduler_get_online:
 * @self: a #CairnScheduler
 *
 * Gets whether @self is online.
 *
 * Returns: %TRUE if online
 *
 * Since: 0.1
 */
gboolean
cairn_scheduler_get_online (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), FALSE);

  return self->online;
}

/**
 * cairn_scheduler_set_online:
 * @self: a #CairnScheduler
 * @online: whether the resource can reach its backend
 *
 * Sets whether @self is online. Going offline fails the queued tasks and
 * the tasks waiting to be retried whose kind is refused while offline, with
 * %CAIRN_SCHEDULER_ERROR_OFFLINE; a running task goes on until the resource
 * reports. Going online queues the tasks waiting to be retried again at
 * once, at the head of their queues.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_online (CairnScheduler *self,
                            gboolean        online)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));

  online = !!online;
  if (self->online == online)
    return;

  self->online = online;
  if (online)
    retry_all_now (self);
  else
    refuse_offline_tasks (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLINE]);
  schedule_dispatch (self);
}

/**
 * cairn_scheduler_get_offline_policy:
 * @self: a #CairnScheduler
 * @kind: a task kind
 *
 * Gets what happens to tasks of @kind while @self is offline.
 *
 * Returns: the policy
 *
 * Since: 0.1
 */
CairnSchedulerOfflinePolicy
cairn_scheduler_get_offline_policy (CairnScheduler         *self,
                                    CairnSchedulerTaskKind  kind)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), CAIRN_SCHEDULER_OFFLINE_HOLD);
  g_return_val_if_fail (kind < CAIRN_SCHEDULER_N_KINDS, CAIRN_SCHEDULER_OFFLINE_HOLD);

  return self->offline_policies[kind];
}

/**
 * cairn_scheduler_set_offline_policy:
 * @self: a #CairnScheduler
 * @kind: a task kind other than change replay
 * @policy: what happens to tasks of @kind while offline
 *
 * Declares what happens to tasks of @kind while @self is offline. By
 * default fetches are refused, cache expiry runs and everything else is
 * held. Change replay is always held: it is never dropped nor failed for
 * being offline. Refusing a kind while offline fails its queued tasks at
 * once.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_offline_policy (CairnScheduler              *self,
                                    CairnSchedulerTaskKind       kind,
                                    CairnSchedulerOfflinePolicy  policy)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (kind < CAIRN_SCHEDULER_N_KINDS);
  g_return_if_fail (kind != CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY);
  g_return_if_fail (policy <= CAIRN_SCHEDULER_OFFLINE_RUN);

  self->offline_policies[kind] = policy;
  if (!self->online)
    refuse_offline_tasks (self);
  schedule_dispatch (self);
}

/**
 * cairn_scheduler_get_time_limit:
 * @self: a #CairnScheduler
 * @kind: a task kind
 *
 * Gets how long a task of @kind may run before the watchdog fails it.
 *
 * Returns: the limit in microseconds
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_get_time_limit (CairnScheduler         *self,
                                CairnSchedulerTaskKind  kind)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);
  g_return_val_if_fail (kind < CAIRN_SCHEDULER_N_KINDS, 0);

  return self->time_limits[kind];
}

/**
 * cairn_scheduler_set_time_limit:
 * @self: a #CairnScheduler
 * @kind: a task kind
 * @usec: how long a task of @kind may run, in microseconds
 *
 * Sets the watchdog's limit for tasks of @kind started from now on. A task
 * that runs longer fails with %CAIRN_SCHEDULER_ERROR_TIMED_OUT and its
 * cancellable is cancelled; it is not retried.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_time_limit (CairnScheduler         *self,
                                CairnSchedulerTaskKind  kind,
                                gint64                  usec)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (kind < CAIRN_SCHEDULER_N_KINDS);
  g_return_if_fail (usec > 0);

  self->time_limits[kind] = usec;
}

/**
 * cairn_scheduler_get_max_attempts:
 * @self: a #CairnScheduler
 *
 * Gets #CairnScheduler:max-attempts.
 *
 * Returns: the number of attempts
 *
 * Since: 0.1
 */
guint
cairn_scheduler_get_max_attempts (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);

  return self->max_attempts;
}

/**
 * cairn_scheduler_set_max_attempts:
 * @self: a #CairnScheduler
 * @max_attempts: at least 1
 *
 * Sets #CairnScheduler:max-attempts.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_max_attempts (CairnScheduler *self,
                                  guint           max_attempts)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (max_attempts >= 1);

  if (self->max_attempts == max_attempts)
    return;

  self->max_attempts = max_attempts;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ATTEMPTS]);
}

/**
 * cairn_scheduler_get_retry_delay:
 * @self: a #CairnScheduler
 *
 * Gets #CairnScheduler:retry-delay.
 *
 * Returns: the delay in microseconds
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_get_retry_delay (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);

  return self->retry_delay;
}

/**
 * cairn_scheduler_set_retry_delay:
 * @self: a #CairnScheduler
 * @usec: the first backoff, in microseconds
 *
 * Sets #CairnScheduler:retry-delay.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_retry_delay (CairnScheduler *self,
                                 gint64          usec)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (usec >= 0 && usec <= G_MAXINT64 / 4);

  if (self->retry_delay == usec)
    return;

  self->retry_delay = usec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETRY_DELAY]);
}

/**
 * cairn_scheduler_get_max_retry_delay:
 * @self: a #CairnScheduler
 *
 * Gets #CairnScheduler:max-retry-delay.
 *
 * Returns: the delay in microseconds
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_get_max_retry_delay (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);

  return self->max_retry_delay;
}

/**
 * cairn_scheduler_set_max_retry_delay:
 * @self: a #CairnScheduler
 * @usec: the longest backoff, in microseconds
 *
 * Sets #CairnScheduler:max-retry-delay.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_max_retry_delay (CairnScheduler *self,
                                     gint64          usec)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (usec >= 0 && usec <= G_MAXINT64 / 4);

  if (self->max_retry_delay == usec)
    return;

  self->max_retry_delay = usec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_RETRY_DELAY]);
}

/**
 * cairn_scheduler_get_sync_interval:
 * @self: a #CairnScheduler
 *
 * Gets #CairnScheduler:sync-interval.
 *
 * Returns: the interval in microseconds, or 0
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_get_sync_interval (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);

  return self->sync_interval;
}

/**
 * cairn_scheduler_set_sync_interval:
 * @self: a #CairnScheduler
 * @usec: the interval in microseconds, or 0 to stop interval syncs
 *
 * Sets #CairnScheduler:sync-interval; the next interval sync is queued
 * @usec from now.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_sync_interval (CairnScheduler *self,
                                   gint64          usec)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (usec >= 0 && usec <= G_MAXINT64 / 4);

  if (self->sync_interval == usec)
    return;

  self->sync_interval = usec;
  arm_interval (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYNC_INTERVAL]);
}

/**
 * cairn_scheduler_set_random_seed:
 * @self: a #CairnScheduler
 * @seed: a seed
 *
 * Seeds the random numbers behind the backoff jitter, so that a test sees
 * the same delays on every run.
 *
 * Since: 0.1
 */
void
cairn_scheduler_set_random_seed (CairnScheduler *self,
                                 guint32         seed)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));

  g_rand_set_seed (self->rand, seed);
}

/**
 * cairn_scheduler_queue:
 * @self: a #CairnScheduler
 * @task: a new task
 *
 * Queues @task without waiting for its end. If an equal task is queued (or,
 * for a fetch, the running fetch covers @task), @task is merged into it and
 * is not queued itself. While offline, a task of a kind refused offline
 * fails at once.
 *
 * Returns: (transfer none): the task that will do the work: @task, or the
 *   task it was merged into
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_queue (CairnScheduler     *self,
                       CairnSchedulerTask *task)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), NULL);
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (task), NULL);
  g_return_val_if_fail (task->state == CAIRN_SCHEDULER_TASK_STATE_NEW, NULL);

  return submit (self, task, NULL);
}

/**
 * cairn_scheduler_queue_async:
 * @self: a #CairnScheduler
 * @task: a new task
 * @cancellable: (nullable): cancels this request
 * @callback: (scope async) (closure user_data): called when the work ends
 * @user_data: data for @callback
 *
 * Queues @task like cairn_scheduler_queue() and calls @callback once, when
 * the task that does the work ends (which may be another task @task was
 * merged into). Cancelling @cancellable answers this request at once with
 * %G_IO_ERROR_CANCELLED; the task itself is cancelled only if no other
 * request waits for it.
 *
 * Since: 0.1
 */
void
cairn_scheduler_queue_async (CairnScheduler      *self,
                             CairnSchedulerTask  *task,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Waiter *waiter;

  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (CAIRN_IS_SCHEDULER_TASK (task));
  g_return_if_fail (task->state == CAIRN_SCHEDULER_TASK_STATE_NEW);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  waiter = g_new0 (Waiter, 1);
  waiter->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (waiter->task, cairn_scheduler_queue_async);

  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (waiter->cancel_source, "[cairn] scheduler request cancelled");
      g_source_set_callback (waiter->cancel_source, G_SOURCE_FUNC (waiter_cancelled_cb),
                             waiter, NULL);
      g_source_attach (waiter->cancel_source, self->context);
    }

  submit (self, task, waiter);
}

/**
 * cairn_scheduler_queue_finish:
 * @self: a #CairnScheduler
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes cairn_scheduler_queue_async().
 *
 * Returns: %TRUE if the task was done, %FALSE with @error set if it
 *   failed, was cancelled, timed out or was refused while offline
 *
 * Since: 0.1
 */
gboolean
cairn_scheduler_queue_finish (CairnScheduler  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_scheduler_queue_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cairn_scheduler_cancel_task:
 * @self: a #CairnScheduler
 * @task: a task of @self
 *
 * Cancels @task. A queued task, or one waiting to be retried, ends at once
 * with %G_IO_ERROR_CANCELLED. A running task has its cancellable cancelled
 * and ends when the resource reports: done if the work was done anyway,
 * cancelled otherwise. A task that already ended is left alone.
 *
 * Since: 0.1
 */
void
cairn_scheduler_cancel_task (CairnScheduler     *self,
                             CairnSchedulerTask *task)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (CAIRN_IS_SCHEDULER_TASK (task));

  if (task->scheduler != self)
    return;

  cancel_task (self, task);
}

static void
cancel_tasks (CairnScheduler *self,
              gint            queue)
{
  g_autoptr(GPtrArray) tasks = collect_tasks (self, queue);

  for (guint i = 0; i < tasks->len; i++)
    {
      CairnSchedulerTask *task = g_ptr_array_index (tasks, i);

      if (task->scheduler == self)
        cancel_task (self, task);
    }
}

/**
 * cairn_scheduler_cancel_queue:
 * @self: a #CairnScheduler
 * @queue: a queue
 *
 * Cancels every task of @queue, as cairn_scheduler_cancel_task() does,
 * including one waiting to be retried and the running one.
 *
 * Since: 0.1
 */
void
cairn_scheduler_cancel_queue (CairnScheduler      *self,
                              CairnSchedulerQueue  queue)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));
  g_return_if_fail (queue < CAIRN_SCHEDULER_N_QUEUES);

  cancel_tasks (self, queue);
}

/**
 * cairn_scheduler_cancel_all:
 * @self: a #CairnScheduler
 *
 * Cancels every task of @self, as when the resource quits: every waiter is
 * answered, and the running task is asked to stop.
 *
 * Since: 0.1
 */
void
cairn_scheduler_cancel_all (CairnScheduler *self)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER (self));

  cancel_tasks (self, -1);
}

/**
 * cairn_scheduler_get_queue_length:
 * @self: a #CairnScheduler
 * @queue: a queue
 *
 * Counts the tasks waiting in @queue, including those waiting to be
 * retried, not counting the running one.
 *
 * Returns: the number of tasks
 *
 * Since: 0.1
 */
guint
cairn_scheduler_get_queue_length (CairnScheduler      *self,
                                  CairnSchedulerQueue  queue)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);
  g_return_val_if_fail (queue < CAIRN_SCHEDULER_N_QUEUES, 0);

  return self->queues[queue].length + self->n_retrying[queue];
}

/**
 * cairn_scheduler_get_kind_count:
 * @self: a #CairnScheduler
 * @kind: a task kind
 *
 * Counts the tasks of @kind that have not ended: queued, waiting to be
 * retried or running.
 *
 * Returns: the number of tasks
 *
 * Since: 0.1
 */
guint
cairn_scheduler_get_kind_count (CairnScheduler         *self,
                                CairnSchedulerTaskKind  kind)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), 0);
  g_return_val_if_fail (kind < CAIRN_SCHEDULER_N_KINDS, 0);

  return self->kind_counts[kind];
}

/**
 * cairn_scheduler_get_running_task:
 * @self: a #CairnScheduler
 *
 * Gets the task the resource is running.
 *
 * Returns: (transfer none) (nullable): the running task, or %NULL
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_get_running_task (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), NULL);

  return self->running;
}

/**
 * cairn_scheduler_list_tasks:
 * @self: a #CairnScheduler
 *
 * Lists the tasks that have not ended: the running one, then the queued
 * ones from the highest queue to the lowest in the order they will be
 * considered, then those waiting to be retried in the order they failed.
 *
 * Returns: (transfer container) (element-type CairnSchedulerTask): the tasks
 *
 * Since: 0.1
 */
GPtrArray *
cairn_scheduler_list_tasks (CairnScheduler *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), NULL);

  return collect_tasks (self, -1);
}

static void
dump_task (CairnScheduler     *self,
           GString            *text,
           CairnSchedulerTask *task,
           gint64              now)
{
  g_autofree char *description = cairn_scheduler_task_describe (task);
  guint n_waiters = cairn_scheduler_task_get_n_waiters (task);

  g_string_append_printf (text, "  #%" G_GUINT64_FORMAT " %s", task->serial, description);

  if (task->state == CAIRN_SCHEDULER_TASK_STATE_RUNNING)
    g_string_append_printf (text, ", running for %.1f s of %.1f s",
                            (gdouble) (now - task->started_time) / G_USEC_PER_SEC,
                            (gdouble) (task->deadline - task->started_time) / G_USEC_PER_SEC);
  else if (task->state == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY)
    g_string_append_printf (text, ", retry in %.1f s", (gdouble) (task->retry_time - now) / G_USEC_PER_SEC);
  else if (!runs_now (self, task))
    g_string_append (text, ", held while offline");

  if (task->attempt > 0)
    g_string_append_printf (text, ", attempt %u", task->attempt);
  if (task->cancel_requested)
    g_string_append (text, ", cancelling");
  if (n_waiters > 0)
    g_string_append_printf (text, ", %u waiting", n_waiters);

  g_string_append_c (text, '\n');
}

/**
 * cairn_scheduler_dump:
 * @self: a #CairnScheduler
 *
 * Describes the state of @self as text for `cairnctl status`: online or
 * not, the running task, each queue with its tasks in order (tasks waiting
 * to be retried last), and the count of tasks per kind.
 *
 * Returns: (transfer full): the text, lines ending in a newline
 *
 * Since: 0.1
 */
char *
cairn_scheduler_dump (CairnScheduler *self)
{
  g_autoptr(GEnumClass) queue_class = NULL;
  g_autoptr(GEnumClass) kind_class = NULL;
  GString *text;
  gint64 now;
  gboolean any = FALSE;

  g_return_val_if_fail (CAIRN_IS_SCHEDULER (self), NULL);

  queue_class = g_type_class_ref (CAIRN_TYPE_SCHEDULER_QUEUE);
  kind_class = g_type_class_ref (CAIRN_TYPE_SCHEDULER_TASK_KIND);
  now = cairn_clock_get_time (self->clock);
  text = g_string_new (NULL);

  g_string_append_printf (text, "online: %s\n", self->online ? "yes" : "no");
  g_string_append (text, "running:");
  if (self->running != NULL)
    {
      g_string_append_c (text, '\n');
      dump_task (self, text, self->running, now);
    }
  else
    {
      g_string_append (text, " none\n");
    }

  for (guint q = 0; q < CAIRN_SCHEDULER_N_QUEUES; q++)
    {
      g_string_append_printf (text, "queue %s: %u\n",
                              g_enum_get_value (queue_class, q)->value_nick,
                              cairn_scheduler_get_queue_length (self, q));
      for (GList *l = self->queues[q].head; l != NULL; l = l->next)
        dump_task (self, text, l->data, now);
      for (GList *l = self->retrying.head; l != NULL; l = l->next)
        if (((CairnSchedulerTask *) l->data)->queue == q)
          dump_task (self, text, l->data, now);
    }

  g_string_append (text, "kinds:");
  for (guint k = 0; k < CAIRN_SCHEDULER_N_KINDS; k++)
    if (self->kind_counts[k] > 0)
      {
        g_string_append_printf (text, " %s=%u",
                                g_enum_get_value (kind_class, k)->value_nick,
                                self->kind_counts[k]);
        any = TRUE;
      }
  g_string_append (text, any ? "\n" : " none\n");

  return g_string_free (text, FALSE);
}
