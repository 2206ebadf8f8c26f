/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairn-scheduler/cairn-scheduler.h>

#define SEC G_GINT64_CONSTANT (1000000)

/* One scheduler per test, on a fake clock, with a resource that records
 * what it is asked to run and reports when the test says so. */
typedef struct
{
  CairnClock         *clock;
  CairnScheduler     *scheduler;
  GPtrArray          *started;
  CairnSchedulerTask *current;
  CairnSchedulerTask *abandoned;
  gboolean            auto_done;
  GRand              *rand;
  guint               n_started_signals;
  guint               n_finished_signals;
} Fixture;

static Fixture fx;

typedef struct
{
  guint         n_answers;
  gboolean      ok;
  GError       *error;
  GCancellable *cancellable;
} Answer;

static void
answer_free (gpointer data)
{
  Answer *answer = data;

  g_clear_error (&answer->error);
  g_clear_object (&answer->cancellable);
  g_free (answer);
}

static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Answer *answer = user_data;

  answer->n_answers++;
  ck_assert_msg (answer->n_answers == 1, "a waiter was answered %u times", answer->n_answers);
  answer->ok = cairn_scheduler_queue_finish (CAIRN_SCHEDULER (source), result, &answer->error);
  ck_assert (answer->ok == (answer->error == NULL));
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
advance (gint64 usec)
{
  cairn_fake_clock_advance (CAIRN_FAKE_CLOCK (fx.clock), usec);
  drain ();
}

static gint64
now (void)
{
  return cairn_clock_get_time (fx.clock);
}

static void
run_cb (CairnScheduler     *scheduler,
        CairnSchedulerTask *task,
        gpointer            user_data)
{
  ck_assert_msg (fx.current == NULL, "two tasks run at once");
  ck_assert_int_eq (cairn_scheduler_task_get_state (task), CAIRN_SCHEDULER_TASK_STATE_RUNNING);
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (scheduler), task);

  g_ptr_array_add (fx.started, g_object_ref (task));

  if (fx.auto_done)
    {
      cairn_scheduler_task_report (task, CAIRN_SCHEDULER_OUTCOME_DONE, NULL);
      return;
    }

  fx.current = g_object_ref (task);
}

/* The resource ends the run it was given. */
static void
report (CairnSchedulerOutcome outcome)
{
  g_autoptr(CairnSchedulerTask) task = g_steal_pointer (&fx.current);
  g_autoptr(GError) error = NULL;

  ck_assert_msg (task != NULL, "no task is running");
  if (outcome == CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT ||
      outcome == CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, "server gone");

  cairn_scheduler_task_report (task, outcome, error);
  drain ();
}

static void
on_task_started (CairnScheduler     *scheduler,
                 CairnSchedulerTask *task,
                 gpointer            user_data)
{
  fx.n_started_signals++;
}

static void
on_task_finished (CairnScheduler     *scheduler,
                  CairnSchedulerTask *task,
                  gpointer            user_data)
{
  fx.n_finished_signals++;

  /* The scheduler gave up on the run (watchdog, quit) before the resource
   * reported: the resource's report will come late. */
  if (task == fx.current)
    {
      g_clear_object (&fx.abandoned);
      fx.abandoned = g_steal_pointer (&fx.current);
    }
}

static void
setup (void)
{
  memset (&fx, 0, sizeof fx);
  fx.clock = cairn_fake_clock_new (1000 * SEC);
  fx.scheduler = cairn_scheduler_new (fx.clock);
  fx.started = g_ptr_array_new_with_free_func (g_object_unref);
  cairn_scheduler_set_random_seed (fx.scheduler, 42);
  cairn_scheduler_set_run_func (fx.scheduler, run_cb, NULL, NULL);
  g_signal_connect (fx.scheduler, "task-started", G_CALLBACK (on_task_started), NULL);
  g_signal_connect (fx.scheduler, "task-finished", G_CALLBACK (on_task_finished), NULL);
}

static void
teardown (void)
{
  drain ();
  g_clear_object (&fx.scheduler);
  g_clear_object (&fx.clock);
  g_clear_object (&fx.current);
  g_clear_object (&fx.abandoned);
  g_clear_pointer (&fx.started, g_ptr_array_unref);
  g_clear_pointer (&fx.rand, g_rand_free);
  drain ();
}

/* What ran, in order, as "kind subject|kind subject|...". */
static char *
started_text (void)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < fx.started->len; i++)
    {
      g_autofree char *description = cairn_scheduler_task_describe (g_ptr_array_index (fx.started, i));

      g_string_append_printf (text, "%s%s", i > 0 ? "|" : "", description);
    }

  return g_strdup (text->str);
}

static CairnSchedulerTask *
queue_new (CairnSchedulerTask *task,
           Answer             *answer)
{
  g_autoptr(CairnSchedulerTask) owned = task;

  if (answer != NULL)
    {
      cairn_scheduler_queue_async (fx.scheduler, owned, answer->cancellable, answer_cb, answer);
      return NULL;
    }

  return cairn_scheduler_queue (fx.scheduler, owned);
}

static CairnSchedulerTask *
fetch_new (gint64      first,
           gint64      second,
           const char *part,
           const char *other_part)
{
  const gint64 ids[] = { first, second };
  const char *parts[] = { part, other_part, NULL };

  return cairn_scheduler_task_new_fetch_parts (ids, second >= 0 ? 2 : 1, parts);
}

static void
assert_answered_ok (Answer *answer)
{
  ck_assert_uint_eq (answer->n_answers, 1);
  ck_assert_msg (answer->ok, "waiter failed: %s", answer->error ? answer->error->message : "?");
}

static void
assert_answered_error (Answer *answer,
                       GQuark  domain,
                       gint    code)
{
  ck_assert_uint_eq (answer->n_answers, 1);
  ck_assert (!answer->ok);
  ck_assert_msg (g_error_matches (answer->error, domain, code),
                 "unexpected error: %s", answer->error->message);
}

START_TEST (test_priority_order)
{
  g_autofree char *order = NULL;

  fx.auto_done = TRUE;
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), NULL);
  queue_new (fetch_new (7, -1, "body", NULL), NULL);
  queue_new (cairn_scheduler_task_new_custom ("index", CAIRN_SCHEDULER_QUEUE_BACKGROUND, -1), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), NULL);
  queue_new (cairn_scheduler_task_new_custom ("push", CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY, 3), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS), NULL);
  ck_assert_uint_eq (fx.started->len, 0);

  drain ();

  order = started_text ();
  ck_assert_str_eq (order,
                    "change-replay|custom \"push\" in change-replay 3|fetch-parts items=7 parts=body|"
                    "sync-collection 1|sync-tags|sync-relations|"
                    "interval-sync|cache-expiry|custom \"index\" in background");
  ck_assert_uint_eq (fx.n_started_signals, 9);
  ck_assert_uint_eq (fx.n_finished_signals, 9);
}
END_TEST

START_TEST (test_priority_arrival)
{
  g_autofree char *order = NULL;

  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (2), NULL);
  drain ();
  ck_assert_uint_eq (fx.started->len, 1);

  /* A running task is not preempted, but what arrives above waits less. */
  queue_new (fetch_new (5, -1, "body", NULL), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), NULL);
  drain ();
  ck_assert_uint_eq (fx.started->len, 1);

  fx.auto_done = TRUE;
  report (CAIRN_SCHEDULER_OUTCOME_DONE);

  order = started_text ();
  ck_assert_str_eq (order, "sync-collection 1|change-replay|fetch-parts items=5 parts=body|"
                           "sync-collection 2");
}
END_TEST

START_TEST (test_merge_equal)
{
  Answer a = { 0 }, b = { 0 }, c = { 0 };
  CairnSchedulerTask *first;
  CairnSchedulerTask *holder;
  g_autoptr(CairnSchedulerTask) again = cairn_scheduler_task_new_sync_collection (5);

  queue_new (cairn_scheduler_task_new_custom ("block", CAIRN_SCHEDULER_QUEUE_EXPLICIT, -1), NULL);
  drain ();

  first = queue_new (cairn_scheduler_task_new_sync_collection (5), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (5), &a);
  queue_new (cairn_scheduler_task_new_sync_collection (6), &c);
  queue_new (cairn_scheduler_task_new_sync_collection (5), &b);
  holder = cairn_scheduler_queue (fx.scheduler, again);

  ck_assert_ptr_eq (holder, first);
  ck_assert_int_eq (cairn_scheduler_task_get_state (again), CAIRN_SCHEDULER_TASK_STATE_MERGED);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION), 2);
  ck_assert_uint_eq (cairn_scheduler_task_get_n_waiters (first), 2);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT), 2);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (fx.scheduler), first);
  ck_assert_uint_eq (a.n_answers + b.n_answers, 0);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&a);
  assert_answered_ok (&b);
  ck_assert_uint_eq (c.n_answers, 0);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&c);
  ck_assert_uint_eq (fx.started->len, 3);
}
END_TEST

START_TEST (test_merge_failure_answers_all)
{
  Answer a = { 0 }, b = { 0 };

  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &a);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &b);
  drain ();
  ck_assert_uint_eq (fx.started->len, 1);

  report (CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT);
  assert_answered_error (&a, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE);
  assert_answered_error (&b, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE);
  ck_assert_str_eq (a.error->message, "server gone");

  /* Permanent: never retried, however long we wait. */
  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 1);
  ck_assert_uint_eq (cairn_fake_clock_get_n_timers (CAIRN_FAKE_CLOCK (fx.clock)), 0);
}
END_TEST

START_TEST (test_sync_all_absorbs)
{
  Answer coll1 = { 0 }, tree = { 0 }, coll2 = { 0 }, all = { 0 }, tags = { 0 };
  g_autoptr(GPtrArray) tasks = NULL;
  CairnSchedulerTask *sync_all;
  CairnSchedulerTask *holder;

  queue_new (cairn_scheduler_task_new_custom ("block", CAIRN_SCHEDULER_QUEUE_EXPLICIT, -1), NULL);
  drain ();

  queue_new (cairn_scheduler_task_new_sync_collection (1), &coll1);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE), &tree);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &tags);
  queue_new (cairn_scheduler_task_new_sync_collection (2), &coll2);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL), &all);

  /* The sync-all took the place of the first sync it absorbed. */
  tasks = cairn_scheduler_list_tasks (fx.scheduler);
  ck_assert_uint_eq (tasks->len, 3);
  sync_all = g_ptr_array_index (tasks, 1);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (sync_all), CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (g_ptr_array_index (tasks, 2)),
                    CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS);
  ck_assert_uint_eq (cairn_scheduler_task_get_n_waiters (sync_all), 4);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION), 0);

  /* A collection sync arriving while the sync-all waits joins it. */
  holder = queue_new (cairn_scheduler_task_new_sync_collection (3), NULL);
  ck_assert_ptr_eq (holder, sync_all);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (fx.scheduler), sync_all);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&coll1);
  assert_answered_ok (&tree);
  assert_answered_ok (&coll2);
  assert_answered_ok (&all);
  ck_assert_uint_eq (tags.n_answers, 0);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&tags);
  ck_assert_uint_eq (fx.started->len, 3);
}
END_TEST

START_TEST (test_fetch_joins_running)
{
  Answer a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
  g_autoptr(CairnSchedulerTask) subset = fetch_new (2, -1, "body", NULL);
  CairnSchedulerTask *running;
  const gint64 *ids;
  gsize n_ids;

  queue_new (fetch_new (2, 1, "headers", "body"), &a);
  drain ();
  running = cairn_scheduler_get_running_task (fx.scheduler);
  ck_assert_ptr_nonnull (running);
  ids = cairn_scheduler_task_get_item_ids (running, &n_ids);
  ck_assert_uint_eq (n_ids, 2);
  ck_assert_int_eq (ids[0], 1);
  ck_assert_int_eq (ids[1], 2);

  /* Parts already being fetched: join the running fetch. */
  cairn_scheduler_queue_async (fx.scheduler, subset, NULL, answer_cb, &b);
  ck_assert_int_eq (cairn_scheduler_task_get_state (subset), CAIRN_SCHEDULER_TASK_STATE_MERGED);
  ck_assert_uint_eq (cairn_scheduler_task_get_n_waiters (running), 2);

  /* Not covered: queued; then an equal fetch given in another order merges. */
  queue_new (fetch_new (2, 3, "body", NULL), &c);
  queue_new (fetch_new (3, 2, "body", "body"), &d);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_USER), 1);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&a);
  assert_answered_ok (&b);
  ck_assert_uint_eq (c.n_answers + d.n_answers, 0);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&c);
  assert_answered_ok (&d);
  ck_assert_uint_eq (fx.started->len, 2);
}
END_TEST

START_TEST (test_running_not_started_twice)
{
  CairnSchedulerTask *second;

  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  drain ();
  ck_assert_uint_eq (fx.started->len, 1);

  /* The server may have changed since the running sync began: queue anew. */
  second = queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  ck_assert_ptr_ne (second, g_ptr_array_index (fx.started, 0));
  ck_assert_int_eq (cairn_scheduler_task_get_state (second), CAIRN_SCHEDULER_TASK_STATE_QUEUED);
  drain ();
  ck_assert_uint_eq (fx.started->len, 1);

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 2);
  ck_assert_ptr_eq (g_ptr_array_index (fx.started, 1), second);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 2);
}
END_TEST

START_TEST (test_offline_hold)
{
  Answer replay = { 0 }, sync = { 0 }, fetch = { 0 }, expiry = { 0 };
  g_autofree char *dump = NULL;
  g_autofree char *order = NULL;

  cairn_scheduler_set_online (fx.scheduler, FALSE);
  ck_assert (!cairn_scheduler_get_online (fx.scheduler));

  queue_new (cairn_scheduler_task_new_sync_collection (1), &sync);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), &replay);
  queue_new (fetch_new (4, -1, "body", NULL), &fetch);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY), &expiry);
  drain ();

  /* Fetches are refused, cache expiry runs, the rest is held. */
  assert_answered_error (&fetch, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_OFFLINE);
  ck_assert_uint_eq (fx.started->len, 1);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (g_ptr_array_index (fx.started, 0)),
                    CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&expiry);

  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 1);
  ck_assert_uint_eq (replay.n_answers + sync.n_answers, 0);
  dump = cairn_scheduler_dump (fx.scheduler);
  ck_assert_ptr_nonnull (strstr (dump, "change-replay, held while offline"));
  ck_assert_ptr_nonnull (strstr (dump, "online: no"));

  fx.auto_done = TRUE;
  cairn_scheduler_set_online (fx.scheduler, TRUE);
  drain ();
  order = started_text ();
  ck_assert_str_eq (order, "cache-expiry|change-replay|sync-collection 1");
  assert_answered_ok (&replay);
  assert_answered_ok (&sync);
}
END_TEST

START_TEST (test_offline_refuse_queued)
{
  Answer sync = { 0 }, tags = { 0 }, retrying = { 0 };

  cairn_scheduler_set_offline_policy (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION,
                                      CAIRN_SCHEDULER_OFFLINE_REFUSE);
  ck_assert_int_eq (cairn_scheduler_get_offline_policy (fx.scheduler,
                                                        CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION),
                    CAIRN_SCHEDULER_OFFLINE_REFUSE);

  queue_new (cairn_scheduler_task_new_sync_collection (9), &retrying);
  drain ();
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);

  queue_new (cairn_scheduler_task_new_custom ("block", CAIRN_SCHEDULER_QUEUE_EXPLICIT, -1), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &sync);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &tags);
  drain ();
  ck_assert_uint_eq (fx.started->len, 2);

  /* Going offline fails the refused kind, queued or waiting to retry; the
   * running task goes on until the resource reports. */
  cairn_scheduler_set_online (fx.scheduler, FALSE);
  drain ();
  assert_answered_error (&sync, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_OFFLINE);
  assert_answered_error (&retrying, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_OFFLINE);
  ck_assert_uint_eq (tags.n_answers, 0);
  ck_assert_ptr_nonnull (cairn_scheduler_get_running_task (fx.scheduler));

  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 2);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT), 1);
}
END_TEST

START_TEST (test_replay_first_on_reconnect)
{
  g_autofree char *order = NULL;
  CairnSchedulerTask *replay;
  gint64 retry_time;

  cairn_scheduler_set_online (fx.scheduler, FALSE);
  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC), NULL);
  replay = queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), NULL);
  queue_new (cairn_scheduler_task_new_custom ("push-flags", CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY, -1), NULL);
  drain ();
  ck_assert_uint_eq (fx.started->len, 0);

  cairn_scheduler_set_online (fx.scheduler, TRUE);
  drain ();
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (fx.scheduler), replay);

  /* While a replay waits for its retry, no sync pulls the server's state. */
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  ck_assert_uint_eq (fx.started->len, 2);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 2);
  ck_assert_ptr_null (cairn_scheduler_get_running_task (fx.scheduler));

  retry_time = cairn_scheduler_task_get_retry_time (replay);
  ck_assert_int_gt (retry_time, now ());
  advance (retry_time - now ());
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (fx.scheduler), replay);
  ck_assert_uint_eq (cairn_scheduler_task_get_attempt (replay), 2);

  fx.auto_done = TRUE;
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  order = started_text ();
  ck_assert_str_eq (order, "change-replay|custom \"push-flags\" in change-replay|change-replay|"
                           "sync-all|interval-sync");
}
END_TEST

START_TEST (test_backoff_timing)
{
  Answer answer = { 0 };
  CairnSchedulerTask *task;
  const gint64 bounds[][2] = {
    { SEC / 2, SEC },
    { SEC, 2 * SEC },
    { 3 * SEC / 2, 3 * SEC },   /* 4 s, capped at 3 s */
  };

  cairn_scheduler_set_retry_delay (fx.scheduler, SEC);
  cairn_scheduler_set_max_retry_delay (fx.scheduler, 3 * SEC);
  cairn_scheduler_set_max_attempts (fx.scheduler, 4);
  ck_assert_uint_eq (cairn_scheduler_get_max_attempts (fx.scheduler), 4);

  queue_new (cairn_scheduler_task_new_sync_collection (1), &answer);
  drain ();
  task = g_ptr_array_index (fx.started, 0);

  for (guint attempt = 1; attempt <= 3; attempt++)
    {
      gint64 failed_at = now ();
      gint64 retry_time;

      ck_assert_uint_eq (cairn_scheduler_task_get_attempt (task), attempt);
      report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
      ck_assert_int_eq (cairn_scheduler_task_get_state (task), CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY);
      retry_time = cairn_scheduler_task_get_retry_time (task);
      ck_assert_int_ge (retry_time - failed_at, bounds[attempt - 1][0]);
      ck_assert_int_le (retry_time - failed_at, bounds[attempt - 1][1]);
      ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT), 1);

      advance (retry_time - now () - 1);
      ck_assert_uint_eq (fx.started->len, attempt);
      advance (1);
      ck_assert_uint_eq (fx.started->len, attempt + 1);
      ck_assert_uint_eq (answer.n_answers, 0);
    }

  /* The fourth failure is the last allowed: reported with the cause. */
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  assert_answered_error (&answer, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE);
  ck_assert_str_eq (answer.error->message, "Gave up after 4 attempts: server gone");
  ck_assert_int_eq (cairn_scheduler_task_get_retry_time (task), -1);
  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 4);
}
END_TEST

static gint64
first_retry_delay (guint32 seed)
{
  g_autoptr(CairnClock) clock = cairn_fake_clock_new (0);
  g_autoptr(CairnScheduler) scheduler = cairn_scheduler_new (clock);
  g_autoptr(CairnSchedulerTask) task = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS);
  gint64 delay;

  cairn_scheduler_set_random_seed (scheduler, seed);
  cairn_scheduler_set_run_func (scheduler, run_cb, NULL, NULL);
  cairn_scheduler_set_retry_delay (scheduler, 60 * SEC);
  cairn_scheduler_queue (scheduler, task);
  drain ();
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  delay = cairn_scheduler_task_get_retry_time (task);
  cairn_scheduler_cancel_all (scheduler);
  drain ();

  return delay;
}

START_TEST (test_backoff_seeded)
{
  gint64 first = first_retry_delay (7);
  gint64 again = first_retry_delay (7);
  gboolean any_differs = FALSE;

  ck_assert_int_eq (first, again);
  ck_assert_int_ge (first, 30 * SEC);
  ck_assert_int_le (first, 60 * SEC);

  /* Jitter: other seeds spread the retries. */
  for (guint32 seed = 8; seed < 16; seed++)
    any_differs |= first_retry_delay (seed) != first;
  ck_assert (any_differs);
}
END_TEST

START_TEST (test_deferred)
{
  g_autofree char *order = NULL;
  CairnSchedulerTask *first;

  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (2), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (3), NULL);
  drain ();
  first = g_ptr_array_index (fx.started, 0);

  report (CAIRN_SCHEDULER_OUTCOME_DEFERRED);
  ck_assert_int_eq (cairn_scheduler_task_get_state (first), CAIRN_SCHEDULER_TASK_STATE_QUEUED);
  ck_assert_uint_eq (cairn_scheduler_task_get_attempt (first), 0);

  /* A deferred task arriving behind an equal queued one merges into it. */
  fx.auto_done = TRUE;
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  order = started_text ();
  ck_assert_str_eq (order, "sync-collection 1|sync-collection 2|sync-collection 3|sync-collection 1");
  ck_assert_uint_eq (cairn_scheduler_task_get_attempt (first), 1);
  ck_assert_int_eq (cairn_scheduler_task_get_state (first), CAIRN_SCHEDULER_TASK_STATE_FINISHED);
}
END_TEST

START_TEST (test_deferred_merges)
{
  Answer a = { 0 }, b = { 0 };
  CairnSchedulerTask *first;
  CairnSchedulerTask *second;

  queue_new (cairn_scheduler_task_new_sync_collection (1), &a);
  drain ();
  first = g_ptr_array_index (fx.started, 0);
  second = queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &b);

  report (CAIRN_SCHEDULER_OUTCOME_DEFERRED);
  ck_assert_int_eq (cairn_scheduler_task_get_state (first), CAIRN_SCHEDULER_TASK_STATE_MERGED);
  ck_assert_ptr_eq (cairn_scheduler_get_running_task (fx.scheduler), second);
  ck_assert_uint_eq (cairn_scheduler_task_get_n_waiters (second), 2);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&a);
  assert_answered_ok (&b);
  ck_assert_uint_eq (fx.started->len, 2);
}
END_TEST

START_TEST (test_watchdog)
{
  Answer a = { 0 }, b = { 0 };
  CairnSchedulerTask *first;
  GCancellable *cancellable;

  cairn_scheduler_set_time_limit (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION, 10 * SEC);
  ck_assert_int_eq (cairn_scheduler_get_time_limit (fx.scheduler,
                                                    CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION),
                    10 * SEC);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &a);
  queue_new (cairn_scheduler_task_new_sync_collection (2), &b);
  drain ();
  first = g_object_ref (g_ptr_array_index (fx.started, 0));
  cancellable = cairn_scheduler_task_get_cancellable (first);

  advance (10 * SEC - 1);
  ck_assert_uint_eq (a.n_answers, 0);
  ck_assert (!g_cancellable_is_cancelled (cancellable));

  advance (1);
  assert_answered_error (&a, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT);
  ck_assert (g_cancellable_is_cancelled (cancellable));
  ck_assert_uint_eq (fx.started->len, 2);
  ck_assert_ptr_eq (fx.abandoned, first);

  /* The hung task's report, when it finally comes, changes nothing. */
  cairn_scheduler_task_report (first, CAIRN_SCHEDULER_OUTCOME_DONE, NULL);
  ck_assert_uint_eq (a.n_answers, 1);
  ck_assert_int_eq (cairn_scheduler_task_get_state (first), CAIRN_SCHEDULER_TASK_STATE_FINISHED);

  /* The second task has its own ten seconds; it is not retried either. */
  advance (10 * SEC - 1);
  ck_assert_uint_eq (b.n_answers, 0);
  advance (1);
  assert_answered_error (&b, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT);
  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 2);
  g_object_unref (first);
}
END_TEST

START_TEST (test_watchdog_limits_per_kind)
{
  Answer tags = { 0 }, coll = { 0 }, coll2 = { 0 }, tags2 = { 0 };

  cairn_scheduler_set_time_limit (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS, 100 * SEC);
  cairn_scheduler_set_time_limit (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION, 10 * SEC);

  /* Long limit first, then a shorter one. */
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &tags);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &coll);
  drain ();
  advance (SEC);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&tags);
  advance (10 * SEC - 1);
  ck_assert_uint_eq (coll.n_answers, 0);
  advance (1);
  assert_answered_error (&coll, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT);

  /* Short limit first, then a longer one. */
  queue_new (cairn_scheduler_task_new_sync_collection (2), &coll2);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &tags2);
  drain ();
  advance (SEC);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&coll2);
  advance (100 * SEC - 1);
  ck_assert_uint_eq (tags2.n_answers, 0);
  advance (1);
  assert_answered_error (&tags2, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT);
}
END_TEST

START_TEST (test_cancel_task)
{
  Answer running = { 0 }, queued = { 0 }, done_anyway = { 0 };
  g_autoptr(GPtrArray) tasks = NULL;
  CairnSchedulerTask *first;
  CairnSchedulerTask *second;
  GCancellable *cancellable;

  queue_new (cairn_scheduler_task_new_sync_collection (1), &running);
  queue_new (cairn_scheduler_task_new_sync_collection (2), &queued);
  drain ();
  first = g_ptr_array_index (fx.started, 0);
  cancellable = cairn_scheduler_task_get_cancellable (first);
  tasks = cairn_scheduler_list_tasks (fx.scheduler);
  ck_assert_uint_eq (tasks->len, 2);
  ck_assert_ptr_eq (g_ptr_array_index (tasks, 0), first);
  second = g_ptr_array_index (tasks, 1);

  cairn_scheduler_cancel_task (fx.scheduler, second);
  drain ();
  assert_answered_error (&queued, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert_uint_eq (fx.n_finished_signals, 1);

  /* A running task is asked to stop; it ends when the resource reports. */
  cairn_scheduler_cancel_task (fx.scheduler, first);
  ck_assert (g_cancellable_is_cancelled (cancellable));
  drain ();
  ck_assert_uint_eq (running.n_answers, 0);
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  assert_answered_error (&running, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 1);

  /* A cancelled run that got its work done anyway is a success; the
   * cancellable, asked for late, comes already cancelled. */
  queue_new (cairn_scheduler_task_new_sync_collection (3), &done_anyway);
  drain ();
  cairn_scheduler_cancel_task (fx.scheduler, cairn_scheduler_get_running_task (fx.scheduler));
  ck_assert (g_cancellable_is_cancelled (cairn_scheduler_task_get_cancellable (fx.current)));
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  assert_answered_ok (&done_anyway);
}
END_TEST

START_TEST (test_cancel_queue_and_all)
{
  Answer replay = { 0 }, retrying = { 0 }, coll = { 0 }, tags = { 0 }, fetch = { 0 }, expiry = { 0 };
  g_autoptr(GPtrArray) left = NULL;

  queue_new (cairn_scheduler_task_new_sync_collection (9), &retrying);
  drain ();
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);

  queue_new (fetch_new (1, -1, "body", NULL), &fetch);
  drain ();
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), &replay);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &coll);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &tags);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY), &expiry);

  cairn_scheduler_cancel_queue (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT);
  drain ();
  assert_answered_error (&retrying, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_answered_error (&coll, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_answered_error (&tags, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert_uint_eq (replay.n_answers + fetch.n_answers + expiry.n_answers, 0);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT), 0);

  /* Quit: everything is answered once the running fetch stops. */
  cairn_scheduler_cancel_all (fx.scheduler);
  drain ();
  assert_answered_error (&replay, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_answered_error (&expiry, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert_uint_eq (fetch.n_answers, 0);
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT);
  assert_answered_error (&fetch, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  left = cairn_scheduler_list_tasks (fx.scheduler);
  ck_assert_uint_eq (left->len, 0);
}
END_TEST

START_TEST (test_waiter_cancellable)
{
  Answer first = { 0 }, second = { 0 }, sole = { 0 };
  CairnSchedulerTask *running;

  first.cancellable = g_cancellable_new ();
  second.cancellable = g_cancellable_new ();
  sole.cancellable = g_cancellable_new ();

  queue_new (cairn_scheduler_task_new_custom ("block", CAIRN_SCHEDULER_QUEUE_EXPLICIT, -1), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &first);
  queue_new (cairn_scheduler_task_new_sync_collection (1), &second);
  drain ();

  /* One requester gives up: the other still waits for the task. */
  g_cancellable_cancel (first.cancellable);
  drain ();
  assert_answered_error (&first, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert_uint_eq (second.n_answers, 0);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION), 1);

  /* The last one gives up: the task has no reason to run. */
  g_cancellable_cancel (second.cancellable);
  drain ();
  assert_answered_error (&second, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION), 0);

  /* Nor does a running task whose sole requester gives up. */
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), &sole);
  drain ();
  running = cairn_scheduler_get_running_task (fx.scheduler);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (running), CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS);
  g_cancellable_cancel (sole.cancellable);
  drain ();
  assert_answered_error (&sole, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert (g_cancellable_is_cancelled (cairn_scheduler_task_get_cancellable (running)));
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 2);
  g_clear_object (&first.cancellable);
  g_clear_object (&second.cancellable);
  g_clear_object (&sole.cancellable);
  g_clear_error (&first.error);
  g_clear_error (&second.error);
  g_clear_error (&sole.error);
}
END_TEST

START_TEST (test_interval_sync)
{
  cairn_scheduler_set_sync_interval (fx.scheduler, 60 * SEC);
  ck_assert_int_eq (cairn_scheduler_get_sync_interval (fx.scheduler), 60 * SEC);

  advance (60 * SEC - 1);
  ck_assert_uint_eq (fx.started->len, 0);
  advance (1);
  ck_assert_uint_eq (fx.started->len, 1);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (fx.current), CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC);

  /* Ticks while one waits merge into it. */
  queue_new (cairn_scheduler_task_new_custom ("block", CAIRN_SCHEDULER_QUEUE_EXPLICIT, -1), NULL);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  advance (300 * SEC);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC), 1);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (fx.current), CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC);
  report (CAIRN_SCHEDULER_OUTCOME_DONE);
  ck_assert_uint_eq (fx.started->len, 3);

  cairn_scheduler_set_sync_interval (fx.scheduler, 0);
  advance (3600 * SEC);
  ck_assert_uint_eq (fx.started->len, 3);
}
END_TEST

START_TEST (test_introspection_dump)
{
  g_autofree char *dump = NULL;
  g_autofree char *expected = NULL;
  CairnSchedulerTask *retrying;
  CairnSchedulerTask *running;

  queue_new (cairn_scheduler_task_new_sync_collection (9), NULL);
  drain ();
  retrying = fx.current;
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  advance (cairn_scheduler_task_get_retry_time (retrying) - now ());
  report (CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT);
  queue_new (cairn_scheduler_task_new_sync_collection (1), NULL);
  drain ();
  advance (SEC / 2);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY), NULL);
  queue_new (fetch_new (3, 4, "body", NULL), NULL);
  queue_new (cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS), NULL);
  queue_new (cairn_scheduler_task_new_sync_collection (2), NULL);

  running = cairn_scheduler_get_running_task (fx.scheduler);
  ck_assert_int_eq (cairn_scheduler_task_get_kind (running), CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION);
  ck_assert_int_eq (cairn_scheduler_task_get_collection_id (running), 1);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY), 1);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_USER), 1);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_EXPLICIT), 3);
  ck_assert_uint_eq (cairn_scheduler_get_queue_length (fx.scheduler, CAIRN_SCHEDULER_QUEUE_BACKGROUND), 0);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler,
                                                     CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION), 3);
  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL), 0);
  ck_assert_uint_eq (fx.n_started_signals, 3);
  ck_assert_uint_eq (fx.n_finished_signals, 0);

  dump = cairn_scheduler_dump (fx.scheduler);
  expected = g_strdup_printf ("online: yes\n"
                              "running:\n"
                              "  #2 sync-collection 1, running for 0.5 s of 1800.0 s, attempt 1\n"
                              "queue change-replay: 1\n"
                              "  #3 change-replay\n"
                              "queue user: 1\n"
                              "  #4 fetch-parts items=3,4 parts=body\n"
                              "queue explicit: 3\n"
                              "  #5 sync-tags\n"
                              "  #6 sync-collection 2\n"
                              "  #1 sync-collection 9, retry in %.1f s, attempt 2\n"
                              "queue background: 0\n"
                              "kinds: change-replay=1 fetch-parts=1 sync-collection=3 sync-tags=1\n",
                              (gdouble) (cairn_scheduler_task_get_retry_time (retrying) - now ()) / SEC);
  ck_assert_str_eq (dump, expected);
}
END_TEST

static guint fired_order[4];
static guint n_fired;
static guint n_notified;
static gint64 fired_at[4];

static void
record_timer (gpointer user_data)
{
  fired_order[n_fired] = GPOINTER_TO_UINT (user_data);
  fired_at[n_fired] = cairn_clock_get_time (fx.clock);
  n_fired++;
}

static void
count_notify (gpointer user_data)
{
  n_notified++;
}

START_TEST (test_fake_clock)
{
  CairnFakeClock *clock = CAIRN_FAKE_CLOCK (fx.clock);
  gint64 start = now ();
  guint removed;

  n_fired = n_notified = 0;
  cairn_clock_add_timer (fx.clock, start + 30, record_timer, GUINT_TO_POINTER (3), count_notify);
  cairn_clock_add_timer (fx.clock, start + 10, record_timer, GUINT_TO_POINTER (1), count_notify);
  removed = cairn_clock_add_timer (fx.clock, start + 20, record_timer, GUINT_TO_POINTER (9), count_notify);
  cairn_clock_add_timer (fx.clock, start + 10, record_timer, GUINT_TO_POINTER (2), count_notify);
  ck_assert_uint_eq (cairn_fake_clock_get_n_timers (clock), 4);
  ck_assert_int_eq (cairn_fake_clock_get_next_deadline (clock), start + 10);

  cairn_clock_remove_timer (fx.clock, removed);
  ck_assert_uint_eq (n_notified, 1);

  cairn_fake_clock_advance (clock, 25);
  ck_assert_uint_eq (n_fired, 2);
  ck_assert_uint_eq (fired_order[0], 1);
  ck_assert_uint_eq (fired_order[1], 2);
  ck_assert_int_eq (fired_at[0], start + 10);
  ck_assert_int_eq (now (), start + 25);

  cairn_fake_clock_set_time (clock, start + 30);
  ck_assert_uint_eq (n_fired, 3);
  ck_assert_uint_eq (fired_order[2], 3);
  ck_assert_uint_eq (n_notified, 4);
  ck_assert_int_eq (cairn_fake_clock_get_next_deadline (clock), -1);
}
END_TEST

static void
count_fired (gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
}

START_TEST (test_system_clock)
{
  g_autoptr(CairnClock) clock = cairn_system_clock_new (NULL);
  guint fired = 0;
  guint never = 0;
  guint timer;
  gint64 before = g_get_monotonic_time ();

  ck_assert_int_ge (cairn_clock_get_time (clock), before);
  ck_assert_ptr_eq (cairn_system_clock_get_main_context (CAIRN_SYSTEM_CLOCK (clock)),
                    g_main_context_default ());

  timer = cairn_clock_add_timer (clock, cairn_clock_get_time (clock) + 3600 * SEC, count_fired,
                                 &never, NULL);
  cairn_clock_add_timer (clock, cairn_clock_get_time (clock), count_fired, &fired, NULL);
  while (fired == 0)
    g_main_context_iteration (NULL, TRUE);
  cairn_clock_remove_timer (clock, timer);
  drain ();
  ck_assert_uint_eq (fired, 1);
  ck_assert_uint_eq (never, 0);
}
END_TEST

/* The randomized test: a resource that reports random outcomes, random
 * requests, clock jumps, network flips and cancellations, with the
 * invariants checked after every step and whenever a task starts. */

typedef struct
{
  GPtrArray *answers;
  guint      n_steps;
} RandomState;

static CairnSchedulerTask *
random_task (void)
{
  static const char * const part_names[] = { "body", "headers" };

  switch (g_rand_int_range (fx.rand, 0, 10))
    {
    case 0:
      return cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY);
    case 1:
      return fetch_new (g_rand_int_range (fx.rand, 1, 4),
                        g_rand_boolean (fx.rand) ? g_rand_int_range (fx.rand, 1, 4) : -1,
                        part_names[g_rand_int_range (fx.rand, 0, 2)],
                        g_rand_boolean (fx.rand) ? part_names[g_rand_int_range (fx.rand, 0, 2)] : NULL);
    case 2:
      return cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL);
    case 3:
      return cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE);
    case 4:
      return cairn_scheduler_task_new_sync_collection (g_rand_int_range (fx.rand, 0, 5));
    case 5:
      return cairn_scheduler_task_new (g_rand_boolean (fx.rand) ?
                                       CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS :
                                       CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS);
    case 6:
      return cairn_scheduler_task_new_custom (g_rand_boolean (fx.rand) ? "a" : "b",
                                              g_rand_int_range (fx.rand, 0, 4),
                                              g_rand_int_range (fx.rand, -1, 2));
    case 7:
      return cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC);
    case 8:
      return cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY);
    default:
      return cairn_scheduler_task_new_sync_collection (0);
    }
}

static CairnSchedulerOutcome
random_outcome (void)
{
  guint r = g_rand_int_range (fx.rand, 0, 10);

  if (r < 5)
    return CAIRN_SCHEDULER_OUTCOME_DONE;
  if (r < 7)
    return CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT;
  if (r < 8)
    return CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT;
  return CAIRN_SCHEDULER_OUTCOME_DEFERRED;
}

static gboolean
can_run (CairnSchedulerTask *task)
{
  return cairn_scheduler_get_online (fx.scheduler) ||
         cairn_scheduler_get_offline_policy (fx.scheduler, cairn_scheduler_task_get_kind (task)) ==
         CAIRN_SCHEDULER_OFFLINE_RUN;
}

static void
random_run_cb (CairnScheduler     *scheduler,
               CairnSchedulerTask *task,
               gpointer            user_data)
{
  g_autoptr(GPtrArray) tasks = cairn_scheduler_list_tasks (scheduler);
  gboolean replay_retrying = FALSE;

  /* Strict priority: nothing that could run waits in a higher queue, and no
   * change replay waits for a retry while online. */
  ck_assert_msg (can_run (task), "a task held offline was started");
  for (guint i = 0; i < tasks->len; i++)
    {
      CairnSchedulerTask *other = g_ptr_array_index (tasks, i);

      if (other == task)
        {
          ck_assert_msg (i == 0, "the running task is also queued");
          continue;
        }
      ck_assert_int_ne (cairn_scheduler_task_get_state (other), CAIRN_SCHEDULER_TASK_STATE_RUNNING);
      if (cairn_scheduler_task_get_state (other) == CAIRN_SCHEDULER_TASK_STATE_QUEUED &&
          can_run (other))
        ck_assert_msg (cairn_scheduler_task_get_queue (other) >= cairn_scheduler_task_get_queue (task),
                       "a higher-priority queue was passed over");
      if (cairn_scheduler_task_get_state (other) == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY &&
          cairn_scheduler_task_get_queue (other) == CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY)
        replay_retrying = TRUE;
    }
  ck_assert_msg (!replay_retrying || !cairn_scheduler_get_online (scheduler) ||
                 cairn_scheduler_task_get_queue (task) == CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY,
                 "a task ran while a change replay waited for its retry");

  if (g_rand_int_range (fx.rand, 0, 5) == 0)
    {
      /* Some tasks end within their run function. */
      ck_assert_msg (fx.current == NULL, "two tasks run at once");
      g_ptr_array_add (fx.started, g_object_ref (task));
      cairn_scheduler_task_report (task, random_outcome (), NULL);
      return;
    }

  run_cb (scheduler, task, user_data);
}

static void
check_invariants (RandomState *state)
{
  g_autoptr(GPtrArray) tasks = cairn_scheduler_list_tasks (fx.scheduler);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  CairnSchedulerTask *running = cairn_scheduler_get_running_task (fx.scheduler);
  gboolean online = cairn_scheduler_get_online (fx.scheduler);
  gboolean replay_retrying = FALSE;
  guint waiting_in_scheduler = 0;
  guint unanswered = 0;
  guint kinds = 0;
  guint queued = 0;

  ck_assert_ptr_eq (running, fx.current);

  for (guint i = 0; i < tasks->len; i++)
    {
      CairnSchedulerTask *task = g_ptr_array_index (tasks, i);
      CairnSchedulerTaskState task_state = cairn_scheduler_task_get_state (task);

      ck_assert_msg (g_hash_table_add (seen, task), "a task is listed twice");
      waiting_in_scheduler += cairn_scheduler_task_get_n_waiters (task);
      if (task == running)
        ck_assert_int_eq (task_state, CAIRN_SCHEDULER_TASK_STATE_RUNNING);
      else
        ck_assert (task_state == CAIRN_SCHEDULER_TASK_STATE_QUEUED ||
                   task_state == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY);
      if (task_state == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY &&
          cairn_scheduler_task_get_queue (task) == CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY)
        replay_retrying = TRUE;
    }

  /* Nothing that could run is left waiting while the resource is idle. */
  if (running == NULL)
    for (guint i = 0; i < tasks->len; i++)
      {
        CairnSchedulerTask *task = g_ptr_array_index (tasks, i);

        if (cairn_scheduler_task_get_state (task) == CAIRN_SCHEDULER_TASK_STATE_QUEUED)
          ck_assert_msg (!can_run (task) ||
                         (online && replay_retrying &&
                          cairn_scheduler_task_get_queue (task) != CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY),
                         "a task that could run is stuck in its queue, at step %u:\n%s",
                         state->n_steps, cairn_scheduler_dump (fx.scheduler));
      }

  for (guint k = CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY; k <= CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY; k++)
    kinds += cairn_scheduler_get_kind_count (fx.scheduler, k);
  for (guint q = CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY; q <= CAIRN_SCHEDULER_QUEUE_BACKGROUND; q++)
    queued += cairn_scheduler_get_queue_length (fx.scheduler, q);
  ck_assert_uint_eq (kinds, tasks->len);
  ck_assert_uint_eq (queued + (running != NULL), tasks->len);

  /* No task lost: every unanswered request is carried by a live task. */
  for (guint i = 0; i < state->answers->len; i++)
    {
      Answer *answer = g_ptr_array_index (state->answers, i);

      ck_assert_uint_le (answer->n_answers, 1);
      unanswered += answer->n_answers == 0;
    }
  ck_assert_uint_eq (unanswered, waiting_in_scheduler);
}

static guint32
test_seed (void)
{
  const char *text = g_getenv ("CAIRN_TEST_SEED");
  guint32 seed = text != NULL ? (guint32) strtoul (text, NULL, 10) : g_random_int ();

  printf ("random scheduler test seed: %u (set CAIRN_TEST_SEED=%u to replay)\n", seed, seed);
  fflush (stdout);

  return seed;
}

START_TEST (test_random)
{
  RandomState state = { g_ptr_array_new_with_free_func (answer_free), 0 };
  guint32 seed = test_seed ();
  guint n_left;

  fx.rand = g_rand_new_with_seed (seed);
  cairn_scheduler_set_random_seed (fx.scheduler, seed);
  cairn_scheduler_set_run_func (fx.scheduler, random_run_cb, NULL, NULL);
  cairn_scheduler_set_max_attempts (fx.scheduler, 3);
  cairn_scheduler_set_retry_delay (fx.scheduler, SEC);
  cairn_scheduler_set_max_retry_delay (fx.scheduler, 8 * SEC);
  for (guint k = CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY; k <= CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY; k++)
    cairn_scheduler_set_time_limit (fx.scheduler, k, 30 * SEC);

  for (state.n_steps = 0; state.n_steps < 5000; state.n_steps++)
    {
      guint r = g_rand_int_range (fx.rand, 0, 100);

      if (r < 40)
        {
          CairnSchedulerTask *task = random_task ();

          if (g_rand_int_range (fx.rand, 0, 10) < 7)
            {
              Answer *answer = g_new0 (Answer, 1);

              if (g_rand_int_range (fx.rand, 0, 5) == 0)
                answer->cancellable = g_cancellable_new ();
              g_ptr_array_add (state.answers, answer);
              queue_new (task, answer);
            }
          else
            {
              queue_new (task, NULL);
            }
        }
      else if (r < 65)
        {
          if (fx.current != NULL)
            report (random_outcome ());
        }
      else if (r < 75)
        {
          advance (g_rand_int_range (fx.rand, 0, 20 * SEC));
        }
      else if (r < 80)
        {
          cairn_scheduler_set_online (fx.scheduler, !cairn_scheduler_get_online (fx.scheduler));
        }
      else if (r < 85)
        {
          if (state.answers->len > 0)
            {
              Answer *answer = g_ptr_array_index (state.answers,
                                                  g_rand_int_range (fx.rand, 0, state.answers->len));

              if (answer->cancellable != NULL)
                g_cancellable_cancel (answer->cancellable);
            }
        }
      else if (r < 88)
        {
          g_autoptr(GPtrArray) tasks = cairn_scheduler_list_tasks (fx.scheduler);

          if (tasks->len > 0)
            cairn_scheduler_cancel_task (fx.scheduler,
                                         g_ptr_array_index (tasks, g_rand_int_range (fx.rand, 0, tasks->len)));
        }
      else if (r < 89)
        {
          cairn_scheduler_cancel_queue (fx.scheduler, g_rand_int_range (fx.rand, 0, 4));
        }
      else if (r < 90)
        {
          if (g_rand_int_range (fx.rand, 0, 4) == 0)
            cairn_scheduler_cancel_all (fx.scheduler);
        }
      else if (r < 92)
        {
          if (fx.abandoned != NULL)
            {
              g_autoptr(CairnSchedulerTask) late = g_steal_pointer (&fx.abandoned);

              cairn_scheduler_task_report (late, random_outcome (), NULL);
            }
        }

      drain ();
      check_invariants (&state);
    }

  /* Back online, the resource does everything: every request is answered. */
  cairn_scheduler_set_online (fx.scheduler, TRUE);
  for (n_left = 0; n_left < 100000; n_left++)
    {
      g_autoptr(GPtrArray) tasks = cairn_scheduler_list_tasks (fx.scheduler);
      gint64 next = cairn_fake_clock_get_next_deadline (CAIRN_FAKE_CLOCK (fx.clock));

      if (tasks->len == 0)
        break;
      if (fx.current != NULL)
        report (CAIRN_SCHEDULER_OUTCOME_DONE);
      else if (next >= 0)
        advance (MAX (next - now (), 0));
      drain ();
      check_invariants (&state);
    }

  ck_assert_uint_eq (cairn_scheduler_get_kind_count (fx.scheduler, CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL), 0);
  for (guint i = 0; i < state.answers->len; i++)
    ck_assert_uint_eq (((Answer *) g_ptr_array_index (state.answers, i))->n_answers, 1);
  ck_assert_uint_gt (fx.started->len, 500);
  printf ("random scheduler test: %u requests waited on, %u runs\n", state.answers->len, fx.started->len);

  g_ptr_array_unref (state.answers);
}
END_TEST

static Suite *
scheduler_suite (void)
{
  Suite *suite = suite_create ("scheduler");
  TCase *tcase;

  tcase = tcase_create ("queues");
  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_priority_order);
  tcase_add_test (tcase, test_priority_arrival);
  tcase_add_test (tcase, test_merge_equal);
  tcase_add_test (tcase, test_merge_failure_answers_all);
  tcase_add_test (tcase, test_sync_all_absorbs);
  tcase_add_test (tcase, test_fetch_joins_running);
  tcase_add_test (tcase, test_running_not_started_twice);
  suite_add_tcase (suite, tcase);

  tcase = tcase_create ("offline");
  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_offline_hold);
  tcase_add_test (tcase, test_offline_refuse_queued);
  tcase_add_test (tcase, test_replay_first_on_reconnect);
  suite_add_tcase (suite, tcase);

  tcase = tcase_create ("outcomes");
  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_backoff_timing);
  tcase_add_test (tcase, test_backoff_seeded);
  tcase_add_test (tcase, test_deferred);
  tcase_add_test (tcase, test_deferred_merges);
  tcase_add_test (tcase, test_watchdog);
  tcase_add_test (tcase, test_watchdog_limits_per_kind);
  tcase_add_test (tcase, test_cancel_task);
  tcase_add_test (tcase, test_cancel_queue_and_all);
  tcase_add_test (tcase, test_waiter_cancellable);
  tcase_add_test (tcase, test_interval_sync);
  suite_add_tcase (suite, tcase);

  tcase = tcase_create ("introspection");
  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_introspection_dump);
  tcase_add_test (tcase, test_fake_clock);
  tcase_add_test (tcase, test_system_clock);
  suite_add_tcase (suite, tcase);

  tcase = tcase_create ("random");
  tcase_add_checked_fixture (tcase, setup, teardown);
  tcase_add_test (tcase, test_random);
  suite_add_tcase (suite, tcase);

  return suite;
}

int
main (void)
{
  SRunner *runner = srunner_create (scheduler_suite ());
  int n_failed;

  srunner_run_all (runner, CK_NORMAL);
  n_failed = srunner_ntests_failed (runner);
  srunner_free (runner);

  return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
