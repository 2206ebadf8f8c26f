/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The IMAP benchmark: the IMAP resource (resources/imap) against a
 * private Dovecot on loopback (tests/resources/imap-fixture.c) holding
 * 10,000 generated messages in its INBOX, over the plain port
 * (security=none on loopback), so that the figures are the resource's and
 * not TLS's. Dovecot reads every message once before anything is timed,
 * so that its cache is warm for the resource and the limit alike.
 *
 * initial_sync_msgs_per_s: messages / time from asking the freshly
 *   started resource (in process, empty store) for a sync until it is
 *   done; the median of three runs, each with a store of its own.
 * limit_msgs_per_s: messages / time of a plain libetpan loop fetching
 *   the same items (UID, FLAGS, MODSEQ, RFC822.SIZE, INTERNALDATE, the
 *   same header fields), 1,000 a FETCH, into nothing, timed as the sync
 *   is: from nothing to the last item, that is its connection, LOGIN,
 *   SELECT and FETCHes; the median of three runs, one after each sync
 *   once its resource has settled (the machine is shared, and one run
 *   varies by a factor of two).
 * ratio_to_limit: the median of the three ratios of a sync to the limit
 *   run after it, which saw about the same load.
 * limit_fetch_only_msgs_per_s, ratio_to_fetch_only_limit: the same runs
 *   timed from the first FETCH, as this benchmark timed the limit until
 *   December 2026; the sync's time still counts its connection, LOGIN,
 *   LIST and SELECT (about 25 ms), so this ratio is the stricter one.
 * noop_resync_ms: the median of five syncs of the unchanged INBOX.
 * replay_10k_flag_changes_ms: one flag added to all 10,000 items offline
 *   in one write; the time from going online until no change is pending
 *   (the sync that IDLE then asks for, since every message changed on the
 *   server, is not counted).
 * imap_commands_for_10k_flag_changes: the commands the resource sent
 *   meanwhile, counted in Dovecot's rawlog (IDLE's own DONE and IDLE left
 *   out).
 * bodies_all_msgs_per_s: messages / time from asking a second, fresh
 *   instance with bodies=all for a sync until every body is stored: the
 *   sync of the envelopes and the background task that fetches the
 *   bodies after it. The first instance is stopped by then: its sync
 *   of the 10,000 changed messages, which IDLE asks for after the
 *   replay, ran beside this one until December 2026.
 * peak_rss_mb: the peak resident set of this process, in which the
 *   resources run, one at a time (the first is stopped before the second
 *   starts, as each runs in its own agent host outside this benchmark).
 * initial_sync_cpu_us_per_msg, limit_cpu_us_per_msg: the processor time
 *   of this process (all its threads, user and system) a message, in the
 *   initial sync and in the limit loop (the medians), both from
 *   nothing to the last item. Dovecot's is not
 *   counted: it is the same for both, and on two processors it takes
 *   about as long as the limit loop itself, so that the sync's own
 *   processor time is what stands between it and the limit. These vary
 *   far less with other work on the machine than the rates do.
 *
 * Targets: ratio_to_limit >= 0.6, noop_resync_ms <= 100, 10,000 flag
 * changes in <= 50 commands and <= 2 s, peak_rss_mb <= 80.
 *
 * With CAIRN_BENCH_IMAP_INITIAL_ONLY set, the program stops after the
 * initial sync and prints only its figure, so that a profiler
 * (perf record) sees that sync alone. */

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <libetpan/libetpan.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"
#include "imap-fixture.h"

#define N_MESSAGES 10000
#define INITIAL_RUNS 3
#define SETTLE_MS 500
#define WAIT_MS (600 * 1000)

static const char * const header_fields[] = {
  "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
  "Content-Type",
};

static void
die (const char *what,
     GError     *error)
{
  g_printerr ("cairn-bench-imap: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

typedef struct
{
  double msgs_per_s;
  double fetch_only_msgs_per_s;
  double cpu_us;
} LimitRun;

/* The limit: a connection, LOGIN, SELECT, then FETCH 1:N by sequence
 * number, 1,000 a command. */
static LimitRun
limit_run (guint16 port)
{
  gint64 start = g_get_monotonic_time ();
  gint64 start_cpu = cairn_bench_cpu_us ();
  mailimap *session = mailimap_new (0, NULL);
  guint64 modseq = 0;
  gint64 first_fetch, end;
  LimitRun run;

  if (mailimap_socket_connect (session, "127.0.0.1", port) != MAILIMAP_NO_ERROR_NON_AUTHENTICATED ||
      mailimap_login (session, "user", "secret") != MAILIMAP_NO_ERROR ||
      mailimap_select_condstore (session, "INBOX", &modseq) != MAILIMAP_NO_ERROR)
    die ("limit loop", NULL);
  first_fetch = g_get_monotonic_time ();
  for (guint first = 1; first <= N_MESSAGES; first += 1000)
    {
      struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty ();
      struct mailimap_set *set = mailimap_set_new_interval (first, first + 999);
      clist *names = clist_new ();
      clist *result = NULL;

      for (guint i = 0; i < G_N_ELEMENTS (header_fields); i++)
        clist_append (names, strdup (header_fields[i]));
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_uid ());
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_flags ());
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_modseq ());
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_rfc822_size ());
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_internaldate ());
      mailimap_fetch_type_new_fetch_att_list_add (
        type, mailimap_fetch_att_new_body_peek_section (
                mailimap_section_new_header_fields (mailimap_header_list_new (names))));
      if (mailimap_fetch (session, set, type, &result) != MAILIMAP_NO_ERROR)
        die ("limit FETCH", NULL);
      mailimap_fetch_list_free (result);
      mailimap_fetch_type_free (type);
      mailimap_set_free (set);
    }
  end = g_get_monotonic_time ();
  run.cpu_us = cairn_bench_cpu_us () - start_cpu;
  run.msgs_per_s = N_MESSAGES / ((end - start) / (double) G_USEC_PER_SEC);
  run.fetch_only_msgs_per_s = N_MESSAGES / ((end - first_fetch) / (double) G_USEC_PER_SEC);
  mailimap_logout (session);
  mailimap_free (session);
  return run;
}

static CairnTestResource *
start_resource (CairnTestEnvironment *environment,
                ImapFixture          *dovecot,
                const char           *id,
                const char           *bodies)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new (id);
  g_autofree char *port = g_strdup_printf ("%u", dovecot->plain_port);
  const char *config[] = { "host", "127.0.0.1", "port", port, "security", "none",
                           "user", "user", "bodies", bodies, NULL };
  CairnTestResource *resource;
  GError *error = NULL;

  if (!cairn_secrets_store_sync (secrets, "password", "secret", NULL, &error))
    die ("password", error);
  resource = cairn_test_resource_new (environment, "imap", id, config, &error);
  if (resource == NULL ||
      !cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                  &error))
    die ("start", error);
  return resource;
}

/* Removes the store of @environment, whose resource and clients are
 * stopped, so that the next resource starts with an empty one. */
static void
remove_store (CairnTestEnvironment *environment)
{
  const char *path = cairn_test_environment_get_store_path (environment);
  const char * const suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      if (g_unlink (file) != 0 && errno != ENOENT)
        die (file, NULL);
    }
}


/* The time of one sync; @cpu_us, if not NULL, gets its processor time. */
static double
timed_sync (CairnTestResource *resource,
            guint64            collection_id,
            gint64            *cpu_us)
{
  gint64 start = g_get_monotonic_time ();
  gint64 start_cpu = cairn_bench_cpu_us ();
  GError *error = NULL;

  if (!cairn_test_resource_synchronize_sync (resource, collection_id, &error))
    die ("sync", error);
  if (cpu_us != NULL)
    *cpu_us = cairn_bench_cpu_us () - start_cpu;
  return (g_get_monotonic_time () - start) / 1000.0;
}

static gboolean
scheduler_idle (CairnScheduler *scheduler)
{
  guint queued = 0;

  for (guint i = 0; i <= CAIRN_SCHEDULER_QUEUE_BACKGROUND; i++)
    queued += cairn_scheduler_get_queue_length (scheduler, i);
  return queued == 0 && cairn_scheduler_get_running_task (scheduler) == NULL;
}

/* A sync, then the background fetch of every body of @collection_id. */
static double
timed_bodies (CairnTestResource *resource,
              CairnStore        *store,
              const char        *id)
{
  CairnScheduler *scheduler = cairn_resource_get_scheduler (
    cairn_test_resource_get_resource (resource));
  g_autoptr(CairnCollection) inbox = NULL;
  gint64 start = g_get_monotonic_time ();
  GError *error = NULL;

  if (!cairn_test_resource_synchronize_sync (resource, 0, &error))
    die ("sync", error);
  inbox = cairn_store_find_collection_by_remote_id (store, id, "INBOX", &error);
  if (inbox == NULL)
    die ("inbox", error);
  for (;;)
    {
      g_autoptr(GPtrArray) missing = NULL;

      g_main_context_iteration (NULL, TRUE);
      if (!scheduler_idle (scheduler))
        continue;
      missing = cairn_store_find_items_missing_part (store, cairn_collection_get_id (inbox),
                                                     CAIRN_PART_RFC822, NULL, 1, &error);
      if (missing == NULL)
        die ("bodies", error);
      if (missing->len == 0)
        break;
      if (g_get_monotonic_time () - start > WAIT_MS * (gint64) 1000)
        die ("bodies not fetched in time", NULL);
    }
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* Commands in the rawlog, IDLE's own left out. */
static guint
count_commands (ImapFixture *dovecot)
{
  return imap_fixture_count_commands (dovecot, "") - imap_fixture_count_commands (dovecot, "IDLE") -
         imap_fixture_count_commands (dovecot, "DONE");
}

typedef struct
{
  GPtrArray *items;
} FlagAll;

static gboolean
collect_item (CairnItem *item,
              gpointer   user_data)
{
  g_ptr_array_add (user_data, g_object_ref (item));
  return TRUE;
}

static gboolean
flag_all (CairnTransaction  *transaction,
          gpointer           user_data,
          GError           **error)
{
  GPtrArray *items = user_data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  cairn_flags_delta_add (delta, "$Bench");
  for (guint i = 0; i < items->len; i++)
    if (!cairn_transaction_change_flags (transaction,
                                         cairn_item_get_id (g_ptr_array_index (items, i)), delta,
                                         0, error))
      return FALSE;
  return TRUE;
}

int
main (void)
{
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnTestResource) resource = NULL;
  g_autoptr(CairnTestResource) bodies = NULL;
  g_autoptr(CairnStore) client = NULL;
  g_autoptr(CairnCollection) inbox = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) noop = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) limits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fetch_only_limits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) limit_cpus = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) initials = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) initial_cpus = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ratios = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fetch_only_ratios = g_array_new (FALSE, FALSE, sizeof (double));
  guint64 pending = 1;
  ImapFixture *dovecot;
  GError *error = NULL;
  double replay_ms, bodies_ms;
  guint commands;
  gint64 start;

  /* As cairn-agent-host, where the resource runs outside this benchmark. */
  sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
  imap_fixture_drop_root ();
  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, &error);
  if (environment == NULL)
    die ("environment", error);
  g_setenv ("CAIRN_AGENTS_DIR", IMAP_AGENT_DIR, TRUE);
  dovecot = imap_fixture_new (cairn_test_environment_get_path (environment));
  imap_fixture_generate (dovecot, "INBOX", N_MESSAGES, 42);
  imap_fixture_start (dovecot);
  /* Warms Dovecot's cache; not timed. */
  limit_run (dovecot->plain_port);

  /* A sync by a fresh resource into an empty store, then, once the
   * resource has settled (what follows a sync, its IDLE session starting
   * among it, would slow the limit), a run of the limit. The last
   * resource stays for the rest. */
  for (guint i = 0; i < INITIAL_RUNS; i++)
    {
      gint64 cpu_us;
      double ms, initial, cpu, ratio;
      LimitRun run;

      if (resource != NULL)
        {
          g_clear_object (&resource);
          remove_store (environment);
        }
      resource = start_resource (environment, dovecot, "imap_0", "none");
      ms = timed_sync (resource, 0, &cpu_us);
      initial = N_MESSAGES / (ms / 1000);
      if (g_getenv ("CAIRN_BENCH_IMAP_INITIAL_ONLY") != NULL)
        {
          g_print ("initial_sync_msgs_per_s: %.0f\n", initial);
          g_clear_object (&resource);
          imap_fixture_free (dovecot);
          return 0;
        }
      start = g_get_monotonic_time ();
      while (g_get_monotonic_time () - start < SETTLE_MS * 1000)
        g_main_context_iteration (NULL, FALSE);
      run = limit_run (dovecot->plain_port);
      cpu = cpu_us;
      g_array_append_val (initials, initial);
      g_array_append_val (initial_cpus, cpu);
      g_array_append_val (limits, run.msgs_per_s);
      g_array_append_val (fetch_only_limits, run.fetch_only_msgs_per_s);
      g_array_append_val (limit_cpus, run.cpu_us);
      ratio = initial / run.msgs_per_s;
      g_array_append_val (ratios, ratio);
      ratio = initial / run.fetch_only_msgs_per_s;
      g_array_append_val (fetch_only_ratios, ratio);
    }
  client = cairn_test_resource_open_client_store (resource, &error);
  if (client == NULL)
    die ("client", error);
  inbox = cairn_store_find_collection_by_remote_id (client, "imap_0", "INBOX", &error);
  if (inbox == NULL)
    die ("inbox", error);
  for (guint i = 0; i < 5; i++)
    {
      double ms = timed_sync (resource, cairn_collection_get_id (inbox), NULL);

      g_array_append_val (noop, ms);
    }

  if (!cairn_store_foreach_item (client, cairn_collection_get_id (inbox), NULL, collect_item,
                                 items, NULL, &error) || items->len != N_MESSAGES)
    die ("items", error);
  if (!cairn_test_resource_set_online (resource, FALSE, &error) ||
      !cairn_store_write_sync (client, flag_all, items, NULL, NULL, &error))
    die ("flags", error);
  commands = count_commands (dovecot);
  start = g_get_monotonic_time ();
  if (!cairn_test_resource_set_online (resource, TRUE, &error))
    die ("online", error);
  while (pending > 0 && g_get_monotonic_time () - start < WAIT_MS * (gint64) 1000)
    {
      g_main_context_iteration (NULL, TRUE);
      if (!cairn_resource_get_pending_changes (cairn_test_resource_get_resource (resource),
                                               &pending, &error))
        die ("pending changes", error);
    }
  replay_ms = (g_get_monotonic_time () - start) / 1000.0;
  if (!cairn_test_resource_wait_replayed (resource, WAIT_MS, &error))
    die ("replay", error);
  commands = count_commands (dovecot) - commands;

  /* One resource at a time, as in the agent host: the first, and the
   * items read for its replay, are done with. */
  g_clear_pointer (&items, g_ptr_array_unref);
  g_clear_object (&resource);
  bodies = start_resource (environment, dovecot, "imap_1", "all");
  bodies_ms = timed_bodies (bodies, client, "imap_1");

  g_print ("initial_sync_msgs_per_s: %.0f\n", cairn_bench_median (initials));
  g_print ("limit_msgs_per_s: %.0f\n", cairn_bench_median (limits));
  g_print ("ratio_to_limit: %.2f\n", cairn_bench_median (ratios));
  g_print ("limit_fetch_only_msgs_per_s: %.0f\n", cairn_bench_median (fetch_only_limits));
  g_print ("ratio_to_fetch_only_limit: %.2f\n", cairn_bench_median (fetch_only_ratios));
  g_print ("noop_resync_ms: %.1f\n", cairn_bench_median (noop));
  g_print ("replay_10k_flag_changes_ms: %.0f\n", replay_ms);
  g_print ("imap_commands_for_10k_flag_changes: %u\n", commands);
  g_print ("bodies_all_msgs_per_s: %.0f\n", N_MESSAGES / (bodies_ms / 1000));
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());
  g_print ("initial_sync_cpu_us_per_msg: %.1f\n", cairn_bench_median (initial_cpus) / N_MESSAGES);
  g_print ("limit_cpu_us_per_msg: %.1f\n", cairn_bench_median (limit_cpus) / N_MESSAGES);
  g_clear_object (&bodies);
  g_clear_object (&resource);
  imap_fixture_free (dovecot);
  return 0;
}
