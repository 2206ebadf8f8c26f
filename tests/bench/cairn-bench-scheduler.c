/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cairn-scheduler/cairn-scheduler.h>

#include "cairn-bench-common.h"

/* Queues one million trivial tasks on a scheduler with the system clock and
 * dispatches them through the main loop; the resource reports each done
 * from within its run function. The baseline does the least any scheduler
 * must: a FIFO push, a pop and an indirect call per task. */

#define N_TASKS 1000000

typedef struct
{
  guint n_run;
} Counter;

static void
run_trivial (CairnScheduler     *scheduler,
             CairnSchedulerTask *task,
             gpointer            user_data)
{
  Counter *counter = user_data;

  counter->n_run++;
  cairn_scheduler_task_report (task, CAIRN_SCHEDULER_OUTCOME_DONE, NULL);
}

static void
answered_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  guint *n_answered = user_data;

  if (cairn_scheduler_queue_finish (CAIRN_SCHEDULER (source), result, NULL))
    (*n_answered)++;
}

static void
baseline_step (gpointer  data,
               Counter  *counter)
{
  counter->n_run += GPOINTER_TO_UINT (data) != 0;
}

static gdouble
measure_baseline (void)
{
  GQueue queue = G_QUEUE_INIT;
  Counter counter = { 0 };
  void (*volatile step) (gpointer, Counter *) = baseline_step;
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < N_TASKS; i++)
    g_queue_push_tail (&queue, GUINT_TO_POINTER (i + 1));
  while (!g_queue_is_empty (&queue))
    step (g_queue_pop_head (&queue), &counter);

  g_assert_cmpuint (counter.n_run, ==, N_TASKS);

  return (gdouble) (g_get_monotonic_time () - start) / N_TASKS;
}

static gdouble
measure_scheduler (gboolean with_waiters)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(CairnScheduler) scheduler = NULL;
  Counter counter = { 0 };
  guint n_answered = 0;
  gint64 start;

  g_main_context_push_thread_default (context);
  scheduler = cairn_scheduler_new (NULL);
  cairn_scheduler_set_run_func (scheduler, run_trivial, &counter, NULL);

  start = g_get_monotonic_time ();

  for (guint i = 0; i < N_TASKS; i++)
    {
      g_autoptr(CairnSchedulerTask) task = cairn_scheduler_task_new_sync_collection (i);

      if (with_waiters)
        cairn_scheduler_queue_async (scheduler, task, NULL, answered_cb, &n_answered);
      else
        cairn_scheduler_queue (scheduler, task);
    }

  while (counter.n_run < N_TASKS || (with_waiters && n_answered < N_TASKS))
    g_main_context_iteration (context, TRUE);

  g_assert_cmpuint (cairn_scheduler_get_kind_count (scheduler,
                                                    CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION),
                    ==, 0);

  g_clear_object (&scheduler);
  g_main_context_pop_thread_default (context);

  return (gdouble) (g_get_monotonic_time () - start) / N_TASKS;
}

int
main (int   argc,
      char *argv[])
{
  gdouble baseline = measure_baseline ();
  gdouble overhead = measure_scheduler (FALSE);
  gdouble rss = cairn_bench_peak_rss_mb ();
  gdouble with_waiters = measure_scheduler (TRUE);

  /* Every task is queued before the first is dispatched, so the peak holds
   * one million queued tasks at once. */
  g_print ("tasks: %u\n", N_TASKS);
  g_print ("tasks_per_s: %.0f\n", 1e6 / overhead);
  g_print ("overhead_us_per_task: %.3f\n", overhead);
  g_print ("peak_rss_mb: %.1f\n", rss);
  g_print ("overhead_with_waiter_us_per_task: %.3f\n", with_waiters);
  g_print ("peak_rss_with_waiters_mb: %.1f\n", cairn_bench_peak_rss_mb ());
  g_print ("baseline_fifo_us_per_task: %.3f\n", baseline);
  g_print ("overhead_target_met: %s\n", overhead <= 2.0 ? "yes" : "no");

  return 0;
}
