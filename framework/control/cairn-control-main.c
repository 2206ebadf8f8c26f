/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairn-control: one per session bus. It sets everything up, starts the
 * instances and only then owns org.cairn.Control1: owning the name is
 * how D-Bus activation, systemd (Type=dbus) and `cairnctl start` learn
 * that it is ready. A second one finds the name taken and exits 0. */
#include "cairn-control-config.h"

#include <locale.h>
#include <stdlib.h>
#include <glib-unix.h>

#include "cairn-control.h"
#include "cairn-control-bus.h"

typedef enum
{
  CONTROL_EXIT_OK = 0,
  CONTROL_EXIT_USAGE = 1,
  CONTROL_EXIT_STORE = 2,
  CONTROL_EXIT_BUS = 3,
} ControlExit;

typedef struct
{
  GMainLoop *loop;
  CairnControl *control;
  gboolean owned;
  gboolean stopping;
  ControlExit status;
} Service;

static void
shutdown_done (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Service *service = data;

  cairn_control_shutdown_finish (CAIRN_CONTROL (source), result);
  g_main_loop_quit (service->loop);
}

static void
stop_service (Service *service)
{
  if (service->stopping)
    return;
  service->stopping = TRUE;
  cairn_control_shutdown_async (service->control, shutdown_done, service);
}

static gboolean
on_quit_signal (gpointer data)
{
  stop_service (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hangup (gpointer data)
{
  Service *service = data;

  cairn_control_reload_types (service->control);
  return G_SOURCE_CONTINUE;
}

static void
on_shutdown_requested (CairnControl *control,
                       Service      *service)
{
  stop_service (service);
}

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         data)
{
  Service *service = data;

  service->owned = TRUE;
  g_debug ("Ready: %s is owned", name);
}

/* Lost before it was ever owned: another cairn-control got there first
 * (both started at once). Without a bus, there is nothing to serve. */
static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         data)
{
  Service *service = data;

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    {
      g_printerr ("cairn-control: lost the session bus\n");
      service->status = CONTROL_EXIT_BUS;
    }
  else if (!service->owned)
    g_printerr ("cairn-control: already running on this session bus (%s is owned)\n", name);
  else
    {
      g_printerr ("cairn-control: lost the name %s\n", name);
      service->status = CONTROL_EXIT_BUS;
    }
  stop_service (service);
}

static char *
default_agent_host (void)
{
  const char *env = g_getenv ("CAIRN_AGENT_HOST");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (LIBEXECDIR, "cairn-agent-host", NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *store_path = NULL;
  g_autofree char *agent_host = NULL;
  CairnControlTimings timings = { 1000, 60000, 300000, 5, 5000 };
  int maintenance_seconds = 600;
  int backoff = timings.backoff_ms, max_backoff = timings.max_backoff_ms;
  int window = timings.crash_window_ms, max_crashes = timings.max_crashes;
  int grace = timings.grace_ms;
  Service service = { NULL, NULL, FALSE, FALSE, CONTROL_EXIT_OK };
  guint owner;
  const GOptionEntry entries[] = {
    { "store", 's', 0, G_OPTION_ARG_FILENAME, &store_path,
      "The store file (default: $XDG_DATA_HOME/cairn/store.db)", "PATH" },
    { "agent-host", 0, 0, G_OPTION_ARG_FILENAME, &agent_host,
      "The agent host program (default: $CAIRN_AGENT_HOST, else " LIBEXECDIR
      "/cairn-agent-host)", "PATH" },
    { "backoff-ms", 0, 0, G_OPTION_ARG_INT, &backoff,
      "Delay before the first restart of a crashed agent (default 1000)", "MS" },
    { "max-backoff-ms", 0, 0, G_OPTION_ARG_INT, &max_backoff,
      "Longest delay before a restart; the delay doubles up to it (default 60000)", "MS" },
    { "crash-window-ms", 0, 0, G_OPTION_ARG_INT, &window,
      "How long a crash counts (default 300000)", "MS" },
    { "max-crashes", 0, 0, G_OPTION_ARG_INT, &max_crashes,
      "Crashes within the window that make an instance broken (default 5)", "N" },
    { "grace-ms", 0, 0, G_OPTION_ARG_INT, &grace,
      "Time between SIGTERM and SIGKILL when stopping an agent (default 5000)", "MS" },
    { "maintenance-interval", 0, 0, G_OPTION_ARG_INT, &maintenance_seconds,
      "Seconds between store maintenance runs while idle; 0 never (default 600)", "S" },
    G_OPTION_ENTRY_NULL
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- supervise Cairn agents");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Exit status: 0 stopped cleanly or already running, 1 usage, 2 the store cannot be\n"
    "opened, 3 no session bus or the bus name was lost.");
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 1)
    {
      g_printerr ("cairn-control: %s\n", error ? error->message : "unexpected arguments");
      return CONTROL_EXIT_USAGE;
    }
  if (backoff <= 0 || max_backoff < backoff || window <= 0 || max_crashes <= 0 || grace < 0 ||
      maintenance_seconds < 0)
    {
      g_printerr ("cairn-control: timings must be positive, and --max-backoff-ms at least "
                  "--backoff-ms\n");
      return CONTROL_EXIT_USAGE;
    }
  timings = (CairnControlTimings) { backoff, max_backoff, window, max_crashes, grace };

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("cairn-control: no session bus: %s\n", error->message);
      return CONTROL_EXIT_BUS;
    }
  if (cairn_control_name_has_owner (bus))
    {
      g_printerr ("cairn-control: already running on this session bus (%s is owned)\n",
                  CAIRN_CONTROL_NAME);
      return CONTROL_EXIT_OK;
    }
  /* The bus going away must not kill us before the agents are stopped. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);

  if (store_path == NULL)
    {
      g_autofree char *folder = g_build_filename (g_get_user_data_dir (), "cairn", NULL);

      g_mkdir_with_parents (folder, 0700);
      store_path = g_build_filename (folder, "store.db", NULL);
    }
  if (agent_host == NULL)
    agent_host = default_agent_host ();

  service.control = cairn_control_new (bus, store_path, agent_host, &timings,
                                       maintenance_seconds, &error);
  if (service.control == NULL)
    {
      g_printerr ("cairn-control: cannot open the store %s: %s\n", store_path, error->message);
      return CONTROL_EXIT_STORE;
    }

  service.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (service.control, "shutdown-requested", G_CALLBACK (on_shutdown_requested),
                    &service);
  g_unix_signal_add (SIGTERM, on_quit_signal, &service);
  g_unix_signal_add (SIGINT, on_quit_signal, &service);
  g_unix_signal_add (SIGHUP, on_hangup, &service);
  owner = g_bus_own_name_on_connection (bus, CAIRN_CONTROL_NAME,
                                        G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, on_name_acquired,
                                        on_name_lost, &service, NULL);

  g_main_loop_run (service.loop);

  g_bus_unown_name (owner);
  g_dbus_connection_flush_sync (bus, NULL, NULL);
  g_clear_object (&service.control);
  g_main_loop_unref (service.loop);
  return service.status;
}
