/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The control service benchmark, in a private dbus-daemon with five
 * instances of the logging agent.
 *
 * start_to_ready_ms: from spawning cairn-control to its owning
 * org.cairn.Control1 (ready: store migrated, every instance spawned),
 * the median of RUNS starts. start_to_agents_running_ms: until all five
 * agents own their bus names. spawn_limit_ms is the limit in the same
 * run: spawning and reaping /bin/true.
 *
 * control_rss_mb and agent_host_rss_mb (the largest of the five) are
 * VmRSS from /proc once all agents run.
 *
 * Then three maildir resources (IdleExit=1, 50 messages each) under a
 * new service: idle_stack_rss_mb is the VmRSS of the service and of
 * every agent process left once all three have exited when idle (target
 * <= 12). wake_to_replayed_ms, the median of RUNS: from committing a
 * \Seen flag on a message of an idle-exited resource until its file is
 * renamed in the maildir (target <= 300).
 *
 * Usage: cairn-bench-control [RUNS]   (default 5) */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include <cairn/cairn.h>
#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"

#define INSTANCES 5
#define IDLE_INSTANCES 3
#define IDLE_MESSAGES 50

static char *tmpdir;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static double
rss_mb (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  line = strstr (contents, "VmRSS:");
  return line ? g_ascii_strtod (line + strlen ("VmRSS:"), NULL) / 1024.0 : 0;
}

static GPid
start_bus (void)
{
  const char *argv[] = { "dbus-daemon", "--session", "--nofork", "--print-address", NULL };
  g_autoptr(GIOChannel) channel = NULL;
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;
  GPid pid;
  int out;

  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                 G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, NULL, &out, NULL,
                                 &error))
    g_error ("dbus-daemon: %s", error->message);
  channel = g_io_channel_unix_new (out);
  g_io_channel_set_close_on_unref (channel, TRUE);
  if (g_io_channel_read_line (channel, &address, NULL, NULL, &error) != G_IO_STATUS_NORMAL)
    g_error ("dbus-daemon gave no address");
  g_strchomp (address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  return pid;
}

typedef struct
{
  GMainLoop *loop;
  guint owned;
  guint wanted;
} NameCount;

static void
name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  NameCount *count = data;

  if (++count->owned == count->wanted)
    g_main_loop_quit (count->loop);
}

static gboolean
too_long (gpointer data)
{
  g_error ("cairn-control or its agents did not start within 30 s");
  return G_SOURCE_REMOVE;
}

/* Waits until every name in @names is owned. */
static void
wait_names (GDBusConnection    *bus,
            const char * const *names)
{
  NameCount count = { g_main_loop_new (NULL, FALSE), 0, g_strv_length ((char **) names) };
  g_autoptr(GArray) watches = g_array_new (FALSE, FALSE, sizeof (guint));
  guint timeout = g_timeout_add_seconds (30, too_long, NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      guint watch = g_bus_watch_name_on_connection (bus, names[i], G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                    name_appeared, NULL, &count, NULL);

      g_array_append_val (watches, watch);
    }
  g_main_loop_run (count.loop);
  for (guint i = 0; i < watches->len; i++)
    g_bus_unwatch_name (g_array_index (watches, guint, i));
  g_source_remove (timeout);
  g_main_loop_unref (count.loop);
}

static double
spawn_limit_ms (void)
{
  const char *argv[] = { "/bin/true", NULL };
  double started = now_ms ();

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL);
  return now_ms () - started;
}

static GPid
agent_pid (GDBusConnection *bus,
           const char      *name)
{
  g_autoptr(GVariant) reply = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &pid);
  return (GPid) pid;
}

/* Whether every idle_N instance is idle-exited. */
static gboolean
all_idle_exited (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) list = NULL;
  guint exited = 0;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Control1", "/org/cairn/Control1",
                                       "org.cairn.Control1", "ListInstances", NULL,
                                       G_VARIANT_TYPE ("(a(ssusuba{sv}))"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL);
  if (reply == NULL)
    return FALSE;
  list = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr(GVariant) row = g_variant_get_child_value (list, i);
      g_autoptr(GVariant) details = g_variant_get_child_value (row, 6);
      const char *state = "";

      g_variant_lookup (details, "state", "&s", &state);
      exited += g_str_equal (state, "idle-exited");
    }
  return exited == IDLE_INSTANCES;
}

static void
wait_idle_exited (GDBusConnection *bus)
{
  for (guint i = 0; i < 3000; i++)
    {
      if (all_idle_exited (bus))
        return;
      g_usleep (10 * 1000);
    }
  g_error ("the maildir resources did not exit when idle within 30 s");
}

/* The VmRSS of @pid and of its children (the agent processes). */
static double
stack_rss_mb (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
  g_autofree char *children = NULL;
  g_auto(GStrv) pids = NULL;
  double total = rss_mb (pid);

  if (g_file_get_contents (path, &children, NULL, NULL))
    pids = g_strsplit (g_strstrip (children), " ", -1);
  for (guint i = 0; pids != NULL && pids[i] != NULL; i++)
    if (*pids[i] != '\0')
      total += rss_mb ((GPid) atoi (pids[i]));
  return total;
}

static gboolean
mark_seen (CairnTransaction  *txn,
           gpointer           data,
           GError           **error)
{
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  cairn_flags_delta_add (delta, CAIRN_FLAG_SEEN);
  return cairn_transaction_change_flags (txn, cairn_item_get_id (data), delta, 0, error);
}

/* The unread messages of instance @id, with their RFC822 part. */
static GPtrArray *
unread_messages (CairnStore *store,
                 const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (store, id, &error);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GPtrArray *unread = g_ptr_array_new_with_free_func (g_object_unref);

  if (collections == NULL)
    g_error ("%s", error->message);
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  for (guint i = 0; i < collections->len; i++)
    {
      guint64 collection = cairn_collection_get_id (g_ptr_array_index (collections, i));
      g_autoptr(GPtrArray) items = cairn_store_list_items (store, collection, scope, 0, 0,
                                                           &error);

      if (items == NULL)
        g_error ("%s", error->message);
      for (guint j = 0; j < items->len; j++)
        if (!cairn_flags_contains (cairn_item_get_flags (g_ptr_array_index (items, j)),
                                   CAIRN_FLAG_SEEN))
          g_ptr_array_add (unread, g_object_ref (g_ptr_array_index (items, j)));
    }
  return unread;
}

/* The message's file now says it was seen. */
static void
check_replayed (CairnStore *store,
                guint64     id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(CairnItem) item = NULL;
  const char *path, *info;

  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  for (guint i = 0; i < 1000; i++, g_usleep (10 * 1000))
    {
      g_clear_object (&item);
      item = cairn_store_get_item (store, id, scope, &error);
      if (item == NULL)
        g_error ("%s", error->message);
      path = cairn_part_get_path (cairn_item_get_part (item, CAIRN_PART_RFC822));
      info = strstr (path, ":2,");
      if (info != NULL && strchr (info, 'S') != NULL && g_file_test (path, G_FILE_TEST_EXISTS))
        return;
    }
  g_error ("message %" G_GUINT64_FORMAT " was not renamed to say it was seen", id);
}

/* Three idle-exited maildir resources: their memory, and how long a
 * commit takes to reach the maildir of one of them. */
static void
bench_idle (GDBusConnection *bus,
            guint            runs)
{
  g_autofree char *config = g_build_filename (tmpdir, "idle-config", NULL);
  g_autofree char *instances = g_build_filename (config, "cairn", NULL);
  g_autofree char *agents = g_build_filename (tmpdir, "idle-agents", NULL);
  g_autofree char *type_path = g_build_filename (agents, "maildir.agent", NULL);
  g_autofree char *type = NULL;
  g_autofree char *store_path = g_build_filename (tmpdir, "idle.db", NULL);
  g_autoptr(GArray) wakes = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) unread = NULL;
  g_autoptr(GError) error = NULL;
  const char *control_argv[] = { CONTROL, "--store", store_path, NULL };
  double idle_rss;
  GPid control;
  int status;

  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_mkdir_with_parents (instances, 0700);
  g_mkdir_with_parents (agents, 0700);
  type = g_strdup_printf ("[Cairn Agent]\nName=Maildir\nModule=%s/libcairn-maildir-resource.so\n"
                          "Capabilities=Resource;\nIdleExit=1\n", MAILDIR_AGENT_DIR);
  if (!g_file_set_contents (type_path, type, -1, &error))
    g_error ("%s", error->message);
  for (guint i = 0; i < IDLE_INSTANCES; i++)
    {
      g_autofree char *root = g_strdup_printf ("%s/mail_%u", tmpdir, i);
      g_autofree char *conf = g_strdup_printf ("[Agent]\nType=maildir\npath=%s\n", root);
      g_autofree char *name = g_strdup_printf ("idle_%u.conf", i);
      g_autofree char *path = g_build_filename (instances, name, NULL);
      g_autoptr(CairnTestMaildir) maildir =
        cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);

      if (!cairn_test_maildir_generate (maildir, "INBOX", IDLE_MESSAGES, i + 1, &error) ||
          !g_file_set_contents (path, conf, -1, &error))
        g_error ("%s", error->message);
    }

  if (!g_spawn_async (NULL, (char **) control_argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                      NULL, &control, &error))
    g_error ("cairn-control: %s", error->message);
  wait_idle_exited (bus);
  idle_rss = stack_rss_mb (control);

  store = cairn_store_open (store_path, NULL, &error);
  if (store == NULL)
    g_error ("%s", error->message);
  unread = unread_messages (store, "idle_0");
  for (guint run = 0; run < runs && run < unread->len; run++)
    {
      CairnItem *item = g_ptr_array_index (unread, run);
      const char *path = cairn_part_get_path (cairn_item_get_part (item, CAIRN_PART_RFC822));
      double started, value;

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        g_error ("%s is not where the store says", path);
      wait_idle_exited (bus);
      started = now_ms ();
      if (!cairn_store_write_sync (store, mark_seen, item, NULL, NULL, &error))
        g_error ("%s", error->message);
      /* Replayed: the file has been renamed to carry the flag. */
      while (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          if (now_ms () - started > 30000)
            g_error ("the change to %s was not replayed within 30 s", path);
          g_usleep (500);
        }
      value = now_ms () - started;
      g_array_append_val (wakes, value);
      check_replayed (store, cairn_item_get_id (item));
    }

  kill (control, SIGTERM);
  waitpid (control, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("cairn-control did not stop cleanly: %d", status);

  g_print ("idle_instances: %u\n", IDLE_INSTANCES);
  g_print ("idle_stack_rss_mb: %.1f\n", idle_rss);
  g_print ("wake_to_replayed_ms: %.1f\n", cairn_bench_median (wakes));
}

int
main (int   argc,
      char *argv[])
{
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 5;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GArray) ready = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) running = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) limits = g_array_new (FALSE, FALSE, sizeof (double));
  const char *control_name[] = { "org.cairn.Control1", NULL };
  char *agent_names[INSTANCES + 1] = { NULL };
  const char *rm_argv[] = { "rm", "-rf", NULL, NULL };
  double control_rss = 0, agent_rss = 0;
  GPid bus_pid;

  tmpdir = g_dir_make_tmp ("cairn-bench-control-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CONFIG_HOME", tmpdir, TRUE);
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("XDG_STATE_HOME", tmpdir, TRUE);
  g_setenv ("CAIRN_AGENTS_DIR", LOGGING_AGENT_DIR, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);

  for (guint i = 0; i < INSTANCES; i++)
    {
      g_autofree char *folder = g_build_filename (tmpdir, "cairn", NULL);
      g_autofree char *name = g_strdup_printf ("log_%u.conf", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *log = g_strdup_printf ("%s/log_%u.log", tmpdir, i);
      g_autofree char *contents = g_strdup_printf ("[Agent]\nType=logging\nlog-file=%s\n", log);

      g_mkdir_with_parents (folder, 0700);
      if (!g_file_set_contents (path, contents, -1, &error))
        g_error ("%s", error->message);
      agent_names[i] = g_strdup_printf ("org.cairn.Agent.log_%u", i);
    }

  bus_pid = start_bus ();
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);

  for (guint run = 0; run < runs; run++)
    {
      const char *control_argv[] = { CONTROL, NULL };
      double started, value;
      GPid control;
      int status;

      started = now_ms ();
      if (!g_spawn_async (NULL, (char **) control_argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                          NULL, &control, &error))
        g_error ("cairn-control: %s", error->message);
      wait_names (bus, control_name);
      value = now_ms () - started;
      g_array_append_val (ready, value);
      wait_names (bus, (const char * const *) agent_names);
      value = now_ms () - started;
      g_array_append_val (running, value);
      value = spawn_limit_ms ();
      g_array_append_val (limits, value);

      /* Memory once everything runs, from the first run. */
      if (run == 0)
        {
          control_rss = rss_mb (control);
          for (guint i = 0; i < INSTANCES; i++)
            agent_rss = MAX (agent_rss, rss_mb (agent_pid (bus, agent_names[i])));
        }

      kill (control, SIGTERM);
      waitpid (control, &status, 0);
      if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        g_error ("cairn-control did not stop cleanly: %d", status);
    }

  g_print ("instances: %u\n", INSTANCES);
  g_print ("runs: %u\n", runs);
  g_print ("start_to_ready_ms: %.1f\n", cairn_bench_median (ready));
  g_print ("start_to_agents_running_ms: %.1f\n", cairn_bench_median (running));
  g_print ("spawn_limit_ms: %.2f\n", cairn_bench_median (limits));
  g_print ("control_rss_mb: %.1f\n", control_rss);
  g_print ("agent_host_rss_mb: %.1f\n", agent_rss);

  bench_idle (bus, runs);

  for (guint i = 0; i < INSTANCES; i++)
    g_free (agent_names[i]);
  g_clear_object (&bus);
  kill (bus_pid, SIGTERM);
  waitpid (bus_pid, NULL, 0);
  rm_argv[2] = tmpdir;
  g_spawn_sync (NULL, (char **) rm_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_free (tmpdir);
  return EXIT_SUCCESS;
}
