/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The indexer benchmark: 100,000 generated messages in a maildir, synced
 * into the store by the maildir resource, then indexed from scratch by
 * the indexer agent, each in a cairn-agent-host of its own, as the
 * control service runs them: the host's allocator (mimalloc) and its
 * start count. Prints:
 *
 *   index_msgs_per_s      messages indexed per second, start to complete
 *   fts_limit_msgs_per_s  the same text inserted into a plain FTS5 table
 *                         (its own content and column sizes, the
 *                         indexer's columns and tokenizer) by a plain
 *                         loop, in the settings of the indexer's scan
 *                         (page cache, checkpoints, FTS5's automerge, no
 *                         sync until the log is emptied at the end) but
 *                         transactions of 20,000 (the scan's are
 *                         50,000), in the order of the rowids, timing
 *                         the inserts and commits
 *   ratio_to_limit        the first over the second
 *   query_p50_ms, query_p99_ms  CairnSearch, first page of 50, over 20
 *                         fixed queries run 10 times each
 *   index_bytes_per_msg   the index database over the number of messages
 *   peak_rss_mb           the peak resident memory of the indexer's host
 *   index_cpu_us_per_msg, fts_limit_cpu_us_per_msg  the processor time
 *                         (user and system, all threads) per message of
 *                         both, the first of the indexer's host from its
 *                         start: on a machine shared with other work, the
 *                         wall-clock rates vary with its load, these less
 *
 * An argument sets the number of messages (default 100000). */
#define _GNU_SOURCE

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"

#define SEED 7
#define WAIT_MS (20 * 60 * 1000)
#define LIMIT_BATCH 20000
#define QUERY_RUNS 10
#define PAGE 50

static const char * const queries[] = {
  "report",
  "\"quarterly report\"",
  "from:alice",
  "subject:lunch",
  "body:thursday",
  "flag:unread",
  "flag:flagged and meeting",
  "tag:work",
  "date:2025-03-01..2025-03-31",
  "date:7d..",
  "grüße or gruesse",
  "berlin and not flag:unread",
  "(photos or trip) and flag:seen",
  "mimetype:application/pdf",
  "attachment:pdf",
  "to:bob and subject:agenda",
  "numbers table",
  "plan*",
  "folder:INBOX and office",
  "id:nonexistent@example.org",
};

static gboolean
fail (const char *what,
      GError     *error)
{
  g_printerr ("cairn-bench-indexer: %s: %s\n", what, error ? error->message : "failed");
  return FALSE;
}

static int
remove_entry (const char        *path,
              const struct stat *st,
              int                type,
              struct FTW        *ftw)
{
  return remove (path) == 0 ? 0 : -1;
}

/* In a child process, so that this one does not keep the generator's
 * heap. */
static gboolean
generate_in_child (const char *root,
                   guint       count)
{
  pid_t pid = fork ();
  int status = 0;

  if (pid < 0)
    return fail ("fork", NULL);
  if (pid == 0)
    {
      g_autoptr(CairnTestMaildir) maildir =
        cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
      g_autoptr(GError) error = NULL;

      _exit (cairn_test_maildir_generate (maildir, "INBOX", count, SEED, &error) ? EXIT_SUCCESS
                                                                                 : EXIT_FAILURE);
    }
  return waitpid (pid, &status, 0) == pid && WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
link_agent (const char *agents,
            const char *from_dir,
            const char *name)
{
  g_autofree char *target = g_build_filename (from_dir, name, NULL);
  g_autofree char *link = g_build_filename (agents, name, NULL);

  if (symlink (target, link) != 0)
    g_printerr ("cairn-bench-indexer: symlink %s: %s\n", link, g_strerror (errno));
}

static gboolean
sync_maildir (CairnTestEnvironment *environment,
              const char           *root)
{
  const char *config[] = { "path", root, NULL };
  g_autoptr(CairnTestResource) resource = NULL;
  g_autoptr(GError) error = NULL;

  resource = cairn_test_resource_new (environment, "maildir", "maildir_0", config, &error);
  if (resource == NULL ||
      !cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID, &error) ||
      !cairn_test_resource_synchronize_sync (resource, 0, &error) ||
      !cairn_test_resource_wait_replayed (resource, WAIT_MS, &error))
    return fail ("sync", error);
  cairn_test_resource_stop (resource);
  return TRUE;
}

/* Whether the indexer marked its scan complete. One connection asks
 * every time: opening the index and reading its schema a hundred times a
 * second cost a fifth of the indexer's own processor time, on the same
 * two processors. */
static gboolean
index_complete (sqlite3_stmt *stmt)
{
  gboolean complete = sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 1;

  sqlite3_reset (stmt);
  return complete;
}

static gboolean
run_indexer (CairnTestEnvironment *environment,
             const char           *index_path,
             double               *seconds,
             double               *cpu_seconds,
             double               *peak_rss_mb)
{
  g_autoptr(CairnTestResource) indexer = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start, deadline, cpu_us;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  GPid host;

  start = g_get_monotonic_time ();
  deadline = start + (gint64) WAIT_MS * 1000;
  indexer = cairn_test_resource_new (environment, "indexer", "indexer_0", NULL, &error);
  if (indexer == NULL ||
      !cairn_test_resource_start (indexer, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID, &error))
    return fail ("indexer", error);
  host = cairn_test_resource_get_pid (indexer);
  /* The agent has made the index file by now, and does not replace it. */
  if (sqlite3_open_v2 (index_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (db, "SELECT count(*) FROM meta WHERE key = 'scanned'", -1, &stmt,
                          NULL) != SQLITE_OK)
    ok = fail (sqlite3_errmsg (db), NULL);
  while (ok && !index_complete (stmt))
    {
      if (g_get_monotonic_time () > deadline)
        ok = fail ("indexing took too long", NULL);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (!ok)
    return FALSE;
  *seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  cpu_us = cairn_bench_child_cpu_us (host);
  *cpu_seconds = cpu_us / (double) G_USEC_PER_SEC;
  *peak_rss_mb = cairn_bench_child_peak_rss_mb (host);
  if (cpu_us < 0 || *peak_rss_mb < 0)
    ok = fail ("the processor time or memory of the indexer's host", NULL);
  cairn_test_resource_stop (indexer);
  return ok;
}

static void
free_row (gpointer data)
{
  g_strfreev (data);
}

/* The limit: the text the indexer extracted, inserted again into a plain
 * FTS5 table of the same columns and tokenizer. Rows are read a batch ahead, out of
 * the timing. */
static gboolean
measure_limit (const char *index_path,
               const char *limit_path,
               guint       count,
               double     *msgs_per_s,
               double     *cpu_seconds)
{
  sqlite3 *source = NULL, *target = NULL;
  sqlite3_stmt *read = NULL, *insert = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (free_row);
  gint64 timed = 0, timed_cpu = 0;
  gboolean more = TRUE;
  guint inserted = 0;

  if (sqlite3_open_v2 (index_path, &source, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_open (limit_path, &target) != SQLITE_OK ||
      sqlite3_exec (target, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
                    "PRAGMA cache_size = -32000;"
                    "PRAGMA wal_autocheckpoint = 10000;"
                    "CREATE VIRTUAL TABLE text USING fts5 (sender, recipients, subject, body,"
                    " attachment, mimetype, listid, tokenize = 'unicode61 remove_diacritics 2');"
                    "INSERT INTO text (text, rank) VALUES ('automerge', 16)",
                    NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (source, "SELECT rowid, sender, recipients, subject, body, attachment,"
                          " mimetype, listid FROM text ORDER BY rowid", -1, &read, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (target, "INSERT INTO text (rowid, sender, recipients, subject, body,"
                          " attachment, mimetype, listid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1,
                          &insert, NULL) != SQLITE_OK)
    {
      g_printerr ("cairn-bench-indexer: limit: %s\n", sqlite3_errmsg (target ? target : source));
      return FALSE;
    }
  while (more)
    {
      gint64 start, start_cpu;

      g_ptr_array_set_size (rows, 0);
      while (rows->len < LIMIT_BATCH && (more = sqlite3_step (read) == SQLITE_ROW))
        {
          char **row = g_new0 (char *, 9);

          for (int c = 0; c < 8; c++)
            row[c] = g_strdup ((const char *) sqlite3_column_text (read, c));
          g_ptr_array_add (rows, row);
        }
      start = g_get_monotonic_time ();
      start_cpu = cairn_bench_cpu_us ();
      sqlite3_exec (target, "BEGIN", NULL, NULL, NULL);
      for (guint i = 0; i < rows->len; i++)
        {
          char **row = g_ptr_array_index (rows, i);

          sqlite3_bind_int64 (insert, 1, g_ascii_strtoll (row[0], NULL, 10));
          for (int c = 1; c < 8; c++)
            sqlite3_bind_text (insert, c + 1, row[c], -1, SQLITE_STATIC);
          if (sqlite3_step (insert) != SQLITE_DONE)
            g_printerr ("cairn-bench-indexer: limit insert: %s\n", sqlite3_errmsg (target));
          sqlite3_reset (insert);
        }
      sqlite3_exec (target, "COMMIT", NULL, NULL, NULL);
      timed += g_get_monotonic_time () - start;
      timed_cpu += cairn_bench_cpu_us () - start_cpu;
      inserted += rows->len;
    }
  {
    gint64 start = g_get_monotonic_time (), start_cpu = cairn_bench_cpu_us ();

    sqlite3_exec (target, "PRAGMA synchronous = NORMAL; PRAGMA wal_checkpoint(TRUNCATE)", NULL,
                  NULL, NULL);
    timed += g_get_monotonic_time () - start;
    timed_cpu += cairn_bench_cpu_us () - start_cpu;
  }
  sqlite3_finalize (read);
  sqlite3_finalize (insert);
  sqlite3_close (source);
  sqlite3_close (target);
  if (inserted != count)
    g_printerr ("cairn-bench-indexer: the index holds %u messages, not %u\n", inserted, count);
  *msgs_per_s = inserted / (timed / (double) G_USEC_PER_SEC);
  *cpu_seconds = timed_cpu / (double) G_USEC_PER_SEC;
  return TRUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static gboolean
measure_queries (CairnTestEnvironment *environment,
                 double               *p50,
                 double               *p99)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) store =
    cairn_store_open (cairn_test_environment_get_store_path (environment), NULL, &error);
  g_autoptr(CairnSearch) search = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

  if (store == NULL)
    return fail ("store", error);
  search = cairn_search_new (store);
  for (guint run = 0; run < QUERY_RUNS; run++)
    for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
      {
        gint64 start = g_get_monotonic_time ();
        g_autoptr(GArray) ids = cairn_search_run_sync (search, queries[q], 0, PAGE, NULL, &error);
        double ms = (g_get_monotonic_time () - start) / 1000.0;

        if (ids == NULL)
          return fail (queries[q], error);
        if (run == 0)
          g_printerr ("  %-32s %3u ids %8.2f ms\n", queries[q], ids->len, ms);
        g_array_append_val (times, ms);
      }
  g_array_sort (times, compare_doubles);
  *p50 = g_array_index (times, double, times->len / 2);
  *p99 = g_array_index (times, double, (times->len * 99) / 100);
  return TRUE;
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? st.st_size : 0;
}

int
main (int   argc,
      char *argv[])
{
  guint count = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 100000;
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("cairn-bench-indexer-XXXXXX", &error);
  g_autofree char *root = NULL;
  g_autofree char *agents = NULL;
  g_autofree char *index_path = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *limit_path = NULL;
  g_autoptr(CairnTestEnvironment) environment = NULL;
  double seconds = 0, cpu = 0, peak_rss_mb = 0, limit = 0, limit_cpu = 0, p50 = 0, p99 = 0;
  goffset index_bytes;
  gboolean ok;

  /* As cairn-agent-host, where the indexer runs: the limit and the
   * queries, which run here, take SQLite as the indexer does. */
  sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
  if (folder == NULL)
    return fail ("temporary folder", error), EXIT_FAILURE;
  root = g_build_filename (folder, "Maildir", NULL);
  agents = g_build_filename (folder, "agents", NULL);
  limit_path = g_build_filename (folder, "limit.db", NULL);
  g_mkdir (agents, 0700);
  link_agent (agents, MAILDIR_AGENT_DIR, "maildir.agent");
  link_agent (agents, MAILDIR_AGENT_DIR, "libcairn-maildir-resource.so");
  link_agent (agents, INDEXER_AGENT_DIR, "indexer.agent");
  link_agent (agents, INDEXER_AGENT_DIR, "libcairn-indexer-agent.so");
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);

  ok = generate_in_child (root, count);
  if (ok)
    {
      environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
      ok = environment != NULL || fail ("environment", error);
    }
  if (ok)
    {
      index_path = cairn_search_build_index_path (cairn_test_environment_get_store_path (environment));
      wal = g_strconcat (index_path, "-wal", NULL);
      /* Each timed part starts with nothing left to write back: 330
       * to 420 MB of the mail and the store were still dirty when the
       * indexer started, and the kernel writes such pages out some 30
       * s after they were written, during whichever part runs then. */
      ok = sync_maildir (environment, root) &&
           (sync (), run_indexer (environment, index_path, &seconds, &cpu, &peak_rss_mb)) &&
           measure_queries (environment, &p50, &p99) &&
           (sync (), measure_limit (index_path, limit_path, count, &limit, &limit_cpu));
    }
  index_bytes = index_path ? file_size (index_path) + file_size (wal) : 0;
  g_clear_object (&environment);
  nftw (folder, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (!ok)
    return EXIT_FAILURE;

  g_print ("index_msgs_per_s: %.0f\n", count / seconds);
  g_print ("fts_limit_msgs_per_s: %.0f\n", limit);
  g_print ("ratio_to_limit: %.2f\n", count / seconds / limit);
  g_print ("query_p50_ms: %.2f\n", p50);
  g_print ("query_p99_ms: %.2f\n", p99);
  g_print ("index_bytes_per_msg: %.0f\n", (double) index_bytes / count);
  g_print ("peak_rss_mb: %.1f\n", peak_rss_mb);
  g_print ("index_cpu_us_per_msg: %.0f\n", cpu * G_USEC_PER_SEC / count);
  g_print ("fts_limit_cpu_us_per_msg: %.0f\n", limit_cpu * G_USEC_PER_SEC / count);
  return EXIT_SUCCESS;
}
