/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The change delivery benchmark.
 *
 * notify_latency_*: a writer process makes single-item write transactions,
 * one at a time; this process's monitor hands each item to an observer.
 * The latency runs from just before cairn_store_write_sync() in the writer
 * to the observer callback here (CLOCK_MONOTONIC is shared by processes;
 * the writer puts its start time in the item's remote id). The writer
 * waits for the callback before the next write, so no write queues behind
 * another. A private dbus-daemon carries the Committed signals.
 *
 * notify_off_bus_latency_*: the same for a writer that is not on the
 * session bus (100 writes): the monitor is woken by its watch on the
 * write-ahead log.
 *
 * recorder_replay_*: a change recorder delivers 100,000 recorded item adds
 * to an observer that implements nothing (so every callback marks its
 * change processed): in batches (the bulk path, one position write per
 * batch of up to 1000), and one by one for a tenth of them (one durable
 * position write per item). changelog_read_items_per_s is the limit in
 * the same run: the same log read with cairn_store_get_changes_since()
 * alone.
 *
 * Usage: cairn-bench-notify [WRITES [RECORDED]]   (default 10000 100000) */

#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-bench-common.h"

#define MIME_TYPE "message/rfc822"
#define RESOURCE "cairn_imap_resource_0"

/* An observer of item adds only; everything else is left to the default. */

#define BENCH_TYPE_OBSERVER (bench_observer_get_type ())
G_DECLARE_FINAL_TYPE (BenchObserver, bench_observer, BENCH, OBSERVER, GObject)

struct _BenchObserver
{
  GObject parent_instance;
  GArray *latencies;
  int ack_fd;
};

static void bench_observer_iface_init (CairnObserverInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BenchObserver, bench_observer, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER, bench_observer_iface_init))

static void
bench_item_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change,
                  CairnItem     *item)
{
  BenchObserver *self = BENCH_OBSERVER (observer);
  gint64 now = g_get_monotonic_time ();
  gint64 started = g_ascii_strtoll (cairn_change_get_remote_id (change), NULL, 10);
  gint64 latency = now - started;

  g_array_append_val (self->latencies, latency);
  if (write (self->ack_fd, "!", 1) != 1)
    g_error ("Cannot wake the writer");
}

static void
bench_observer_iface_init (CairnObserverInterface *iface)
{
  iface->item_added = bench_item_added;
}

static void
bench_observer_finalize (GObject *object)
{
  g_array_unref (BENCH_OBSERVER (object)->latencies);
  G_OBJECT_CLASS (bench_observer_parent_class)->finalize (object);
}

static void
bench_observer_class_init (BenchObserverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bench_observer_finalize;
}

static void
bench_observer_init (BenchObserver *self)
{
  self->latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* The no-op observer of the replay. */

#define BENCH_TYPE_NOOP (bench_noop_get_type ())
G_DECLARE_FINAL_TYPE (BenchNoop, bench_noop, BENCH, NOOP, GObject)

struct _BenchNoop
{
  GObject parent_instance;
};

static void
bench_noop_iface_init (CairnObserverInterface *iface)
{
}

G_DEFINE_TYPE_WITH_CODE (BenchNoop, bench_noop, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER, bench_noop_iface_init))

static void
bench_noop_class_init (BenchNoopClass *klass)
{
}

static void
bench_noop_init (BenchNoop *self)
{
}

/* Helpers */

static void
check (gboolean    ok,
       GError     *error,
       const char *what)
{
  if (!ok)
    g_error ("%s: %s", what, error ? error->message : "failed");
}

static GPid
start_bus (void)
{
  const char *argv[] = { "dbus-daemon", "--session", "--nofork", "--print-address", NULL };
  g_autoptr(GIOChannel) channel = NULL;
  g_autofree char *address = NULL;
  GError *error = NULL;
  GPid pid;
  int out;

  check (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                   G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                   G_SPAWN_STDERR_TO_DEV_NULL,
                                   NULL, NULL, &pid, NULL, &out, NULL, &error),
         error, "Cannot start dbus-daemon");
  channel = g_io_channel_unix_new (out);
  g_io_channel_set_close_on_unref (channel, TRUE);
  check (g_io_channel_read_line (channel, &address, NULL, NULL, &error) == G_IO_STATUS_NORMAL,
         error, "Cannot read the bus address");
  g_strchomp (address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);

  return pid;
}

static gboolean
create_collection_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_collection (txn, data, error);
}

static guint64
make_collection (CairnStore *store)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, 0, "INBOX");
  GError *error = NULL;

  cairn_collection_set_remote_id (collection, "INBOX");
  check (cairn_store_write_sync (store, create_collection_block, collection, NULL, NULL, &error),
         error, "Cannot create a collection");
  return cairn_collection_get_id (collection);
}

static CairnItem *
new_item (guint64     collection_id,
          const char *remote_id)
{
  CairnItem *item = cairn_item_new (MIME_TYPE);

  cairn_item_set_collection_id (item, collection_id);
  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_size (item, 1000);
  return item;
}

static gboolean
create_item_block (CairnTransaction *txn, gpointer data, GError **error)
{
  return cairn_transaction_create_item (txn, data, error);
}

/* The writer process: one item per transaction, each after an ack byte. */
static int
run_writer (const char *path,
            guint       writes)
{
  g_autoptr(CairnStore) store = cairn_store_open (path, NULL, NULL);
  GError *error = NULL;
  char byte;

  if (store == NULL)
    return 2;
  for (guint i = 0; i < writes; i++)
    {
      g_autofree char *started = NULL;
      g_autoptr(CairnItem) item = NULL;

      started = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_monotonic_time ());
      item = new_item (1, started);
      check (cairn_store_write_sync (store, create_item_block, item, NULL, NULL, &error), error,
             "Cannot write an item");
      /* Also after the last write: the observer's acknowledgement must not
       * find the pipe closed. */
      if (read (STDIN_FILENO, &byte, 1) != 1)
        return 3;
    }

  return 0;
}

static int
compare_latency (gconstpointer a,
                 gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static void
bench_latency (const char *dir,
               guint       writes,
               gboolean    off_bus)
{
  const char *name = off_bus ? "notify_off_bus" : "notify";
  g_autofree char *file = g_strconcat (name, ".db", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_auto(GStrv) environment = g_get_environ ();
  g_autofree char *count = g_strdup_printf ("%u", writes);
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnMonitor) monitor = NULL;
  g_autoptr(BenchObserver) observer = g_object_new (BENCH_TYPE_OBSERVER, NULL);
  const char *argv[] = { self_path, "write", path, count, NULL };
  GError *error = NULL;
  GPid writer;
  int status = 0;

  store = cairn_store_open (path, NULL, &error);
  check (store != NULL, error, "Cannot open the store");
  make_collection (store);
  monitor = cairn_monitor_new (store, &error);
  check (monitor != NULL, error, "Cannot create the monitor");
  cairn_monitor_set_observer (monitor, CAIRN_OBSERVER (observer));

  /* Subscribed before the first write. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_usleep (100000);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  if (off_bus)
    environment = g_environ_unsetenv (environment, "DBUS_SESSION_BUS_ADDRESS");
  check (g_spawn_async_with_pipes (NULL, (char **) argv, environment, G_SPAWN_DO_NOT_REAP_CHILD,
                                   NULL, NULL, &writer, &observer->ack_fd, NULL, NULL, &error),
         error, "Cannot start the writer");
  while (observer->latencies->len < writes)
    g_main_context_iteration (NULL, TRUE);
  close (observer->ack_fd);
  waitpid (writer, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("The writer failed with status %d", status);

  g_array_sort (observer->latencies, compare_latency);
  g_print ("%s_writes: %u\n", name, writes);
  g_print ("%s_latency_p50_us: %" G_GINT64_FORMAT "\n", name,
           g_array_index (observer->latencies, gint64, writes / 2));
  g_print ("%s_latency_p99_us: %" G_GINT64_FORMAT "\n", name,
           g_array_index (observer->latencies, gint64, writes * 99 / 100));
  g_print ("%s_latency_max_us: %" G_GINT64_FORMAT "\n", name,
           g_array_index (observer->latencies, gint64, writes - 1));
}

static void
count_added (CairnMonitor *monitor,
             GPtrArray    *changes,
             GPtrArray    *items,
             guint        *count)
{
  *count += changes->len;
}

static void
count_one (CairnMonitor *monitor,
           CairnChange  *change,
           CairnItem    *item,
           guint        *count)
{
  (*count)++;
}

/* Replays @count recorded adds; returns items per second. */
static double
replay (CairnStore *store,
        const char *name,
        gboolean    batch,
        guint       count)
{
  g_autoptr(CairnChangeRecorder) recorder = NULL;
  g_autoptr(BenchNoop) noop = g_object_new (BENCH_TYPE_NOOP, NULL);
  GError *error = NULL;
  guint delivered = 0;
  gint64 start = g_get_monotonic_time ();

  recorder = cairn_change_recorder_new (store, name, &error);
  check (recorder != NULL, error, "Cannot create the recorder");
  cairn_monitor_set_batch (CAIRN_MONITOR (recorder), batch);
  cairn_monitor_set_observer (CAIRN_MONITOR (recorder), CAIRN_OBSERVER (noop));
  g_signal_connect (recorder, "items-added", G_CALLBACK (count_added), &delivered);
  g_signal_connect (recorder, "item-added", G_CALLBACK (count_one), &delivered);
  while (delivered < count)
    g_main_context_iteration (NULL, TRUE);

  return count / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static void
bench_replay (const char *dir,
              guint       recorded)
{
  g_autofree char *path = g_build_filename (dir, "replay.db", NULL);
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(CairnChangeRecorder) batched = NULL;
  g_autoptr(CairnChangeRecorder) single = NULL;
  GError *error = NULL;
  guint64 from = 0, read_count = 0;
  guint64 collection;
  gint64 start;
  double seconds;
  struct stat st;

  store = cairn_store_open (path, NULL, &error);
  check (store != NULL, error, "Cannot open the store");
  collection = make_collection (store);
  check (cairn_store_get_revision (store, &from, &error), error, "Cannot read the revision");
  /* Register both consumers before the changes. */
  batched = cairn_change_recorder_new (store, "batched", &error);
  single = cairn_change_recorder_new (store, "single", &error);
  check (batched != NULL && single != NULL, error, "Cannot create the recorders");
  g_clear_object (&batched);
  g_clear_object (&single);

  for (guint i = 0; i < recorded; i++)
    {
      g_autofree char *remote_id = g_strdup_printf ("%u", i);

      g_ptr_array_add (items, new_item (collection, remote_id));
    }
  check (cairn_store_create_items_sync (store, items, NULL, &error), error,
         "Cannot record the items");

  start = g_get_monotonic_time ();
  while (read_count < recorded)
    {
      g_autoptr(GPtrArray) changes = cairn_store_get_changes_since (store, from, 1000, &error);

      check (changes != NULL && changes->len > 0, error, "Cannot read the change log");
      read_count += changes->len;
      from = cairn_change_get_revision (g_ptr_array_index (changes, changes->len - 1));
    }
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  g_print ("recorded_changes: %u\n", recorded);
  g_print ("changelog_read_items_per_s: %.0f\n", recorded / seconds);
  g_print ("recorder_replay_items_per_s: %.0f\n", replay (store, "batched", TRUE, recorded));
  g_print ("recorder_replay_single_items_per_s: %.0f\n",
           replay (store, "single", FALSE, recorded / 10));
  if (g_stat (path, &st) == 0)
    g_print ("replay_database_mb: %.1f\n", st.st_size / (1024.0 * 1024.0));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  guint writes = 10000, recorded = 100000;
  GError *error = NULL;
  const char *rm[] = { "rm", "-rf", NULL, NULL };
  GPid bus;

  if (argc == 4 && g_str_equal (argv[1], "write"))
    return run_writer (argv[2], atoi (argv[3]));
  if (argc > 1)
    writes = atoi (argv[1]);
  if (argc > 2)
    recorded = atoi (argv[2]);

  dir = g_dir_make_tmp ("cairn-bench-notify-XXXXXX", &error);
  check (dir != NULL, error, "Cannot make a folder");
  bus = start_bus ();

  bench_latency (dir, writes, FALSE);
  bench_latency (dir, 100, TRUE);
  bench_replay (dir, recorded);
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());

  kill (bus, SIGTERM);
  waitpid (bus, NULL, 0);
  rm[2] = dir;
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);

  return 0;
}
