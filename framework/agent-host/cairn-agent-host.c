/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairn-agent-host: runs one agent instance whose type is a plugin module.
 * Every failure before the agent runs is one line on stderr and an exit
 * status of its own (see HostExit and docs/architecture.md). */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <gmodule.h>
#include <sqlite3.h>

#include <cairn/cairn.h>

typedef enum
{
  HOST_EXIT_OK = 0,
  HOST_EXIT_USAGE = 1,
  HOST_EXIT_UNKNOWN_INSTANCE = 2,
  HOST_EXIT_UNKNOWN_TYPE = 3,
  HOST_EXIT_BAD_TYPE = 4,
  HOST_EXIT_MODULE = 5,
  HOST_EXIT_ENTRY_POINT = 6,
  HOST_EXIT_INIT = 7,
  HOST_EXIT_RUNTIME = 8,
  HOST_EXIT_CONFIGURATION = 9,
} HostExit;

typedef struct
{
  GMainLoop *loop;
  CairnAgent *agent;
  HostExit status;
} Host;

static const char *instance_id;

static int
fail (HostExit    status,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (HostExit    status,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("cairn-agent-host: %s%s%s\n", instance_id ? instance_id : "",
              instance_id ? ": " : "", message);
  return status;
}

/* Reads an instance's configuration file, and its agent type id. */
static char *
read_instance_file (const char  *path,
                    GKeyFile    *key_file,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *type;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
                   "unknown instance: cannot read %s: %s", path, local_error->message);
      return NULL;
    }
  type = g_key_file_get_string (key_file, "Agent", "Type", NULL);
  if (type == NULL || *type == '\0')
    {
      g_free (type);
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
                   "unknown instance: %s has no Type key in group [Agent]", path);
      return NULL;
    }
  return type;
}

/* Loads the module of @agent_type and returns its agent GType, or
 * G_TYPE_INVALID after printing why. */
static GType
load_module (CairnAgentType *agent_type,
             int            *status)
{
  g_autofree char *path = cairn_agent_type_get_module_path (agent_type);
  g_autoptr(GError) error = NULL;
  CairnAgentModuleInitFunc init;
  const guint *version;
  GModule *module;
  GType type;

  if (path == NULL)
    {
      *status = fail (HOST_EXIT_MODULE, "agent type %s (%s) has no Module; it runs its own "
                      "program (Exec=)", cairn_agent_type_get_id (agent_type),
                      cairn_agent_type_get_path (agent_type));
      return G_TYPE_INVALID;
    }

  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      *status = fail (HOST_EXIT_MODULE, "cannot load module %s of agent type %s: %s", path,
                      cairn_agent_type_get_id (agent_type), g_module_error ());
      return G_TYPE_INVALID;
    }
  if (!g_module_symbol (module, CAIRN_AGENT_MODULE_VERSION_SYMBOL, (gpointer *) &version) ||
      !g_module_symbol (module, CAIRN_AGENT_MODULE_INIT_SYMBOL, (gpointer *) &init))
    {
      *status = fail (HOST_EXIT_ENTRY_POINT, "module %s is not a Cairn agent module: %s", path,
                      g_module_error ());
      g_module_close (module);
      return G_TYPE_INVALID;
    }
  if (version[0] != CAIRN_MAJOR_VERSION || version[1] > CAIRN_MINOR_VERSION)
    {
      *status = fail (HOST_EXIT_ENTRY_POINT, "module %s was built against libcairn %u.%u.%u; "
                      "this host is %s", path, version[0], version[1], version[2],
                      CAIRN_VERSION_S);
      g_module_close (module);
      return G_TYPE_INVALID;
    }
  /* Types registered by the module can never be unregistered. */
  g_module_make_resident (module);

  type = init (&error);
  if (type == G_TYPE_INVALID)
    {
      *status = fail (HOST_EXIT_INIT, "module %s failed to initialise: %s", path,
                      error ? error->message : "no reason given");
      return G_TYPE_INVALID;
    }
  if (!g_type_is_a (type, CAIRN_TYPE_AGENT) || G_TYPE_IS_ABSTRACT (type))
    {
      *status = fail (HOST_EXIT_ENTRY_POINT, "module %s returned type %s, not an "
                      "instantiable subclass of CairnAgent", path, g_type_name (type));
      return G_TYPE_INVALID;
    }
  return type;
}

static gboolean
on_quit_signal (gpointer data)
{
  Host *host = data;

  g_main_loop_quit (host->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hangup (gpointer data)
{
  Host *host = data;
  g_autoptr(GError) error = NULL;

  if (!cairn_agent_reconfigure (host->agent, &error))
    g_printerr ("cairn-agent-host: %s: %s\n", instance_id, error->message);
  return G_SOURCE_CONTINUE;
}

static void
on_quit_requested (CairnAgent *agent,
                   Host       *host)
{
  g_main_loop_quit (host->loop);
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         data)
{
  Host *host = data;

  fail (HOST_EXIT_RUNTIME, "lost or could not own the bus name %s", name);
  host->status = HOST_EXIT_RUNTIME;
  g_main_loop_quit (host->loop);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *store_path = NULL;
  g_autofree char *check_path = NULL;
  g_autoptr(GKeyFile) configuration = g_key_file_new ();
  g_autofree char *configuration_path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *type_id = NULL;
  g_autoptr(CairnAgentType) agent_type = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *bus_name = NULL;
  g_autofree char *id = NULL;
  Host host = { NULL, NULL, HOST_EXIT_OK };
  GType type;
  int status = HOST_EXIT_OK;
  guint owner;
  const GOptionEntry entries[] = {
    { "instance", 'i', 0, G_OPTION_ARG_STRING, &id, "The agent instance to run", "ID" },
    { "store", 's', 0, G_OPTION_ARG_FILENAME, &store_path,
      "The store file (default: $XDG_DATA_HOME/cairn/store.db)", "PATH" },
    { "check-configuration", 0, 0, G_OPTION_ARG_FILENAME, &check_path,
      "Check a configuration file for its agent type, and exit", "PATH" },
    G_OPTION_ENTRY_NULL
  };

  /* SQLite counts the memory it allocates under one lock for the whole
   * process, which the threads of an agent then take turns at (an
   * indexer scan's worker spent about a tenth of its time waiting for
   * it); nothing here reads those counts. It can only be turned off
   * before SQLite's first use, and only by the program, since
   * sqlite3_config() must not run beside other threads using SQLite. */
  sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
  setlocale (LC_ALL, "");
  context = g_option_context_new ("- run one Cairn agent instance");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Exit status: 0 stopped cleanly, 1 usage, 2 unknown instance, 3 unknown agent type,\n"
    "4 malformed .agent file, 5 module missing or not loadable, 6 module without the\n"
    "entry point or built for another libcairn, 7 the agent failed to initialise,\n"
    "8 store or bus failure, 9 (--check-configuration) a key or value the agent type\n"
    "refuses.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (HOST_EXIT_USAGE, "%s", error->message);
  if ((id == NULL) == (check_path == NULL) || argc != 1)
    return fail (HOST_EXIT_USAGE, "usage: cairn-agent-host --instance ID [--store PATH], or "
                 "--check-configuration PATH");
  instance_id = id;

  configuration_path = check_path ? g_strdup (check_path) : cairn_agent_build_config_path (id);
  type_id = read_instance_file (configuration_path, configuration, &error);
  if (type_id == NULL)
    return fail (HOST_EXIT_UNKNOWN_INSTANCE, "%s", error->message);

  agent_type = cairn_agent_type_lookup (type_id, &error);
  if (agent_type == NULL)
    return fail (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND)
                 ? HOST_EXIT_UNKNOWN_TYPE : HOST_EXIT_BAD_TYPE, "%s", error->message);

  type = load_module (agent_type, &status);
  if (type == G_TYPE_INVALID)
    return status;
  /* The control service asks before it writes a configuration; the
   * message is the one the agent would give, for the user. */
  if (check_path != NULL)
    {
      if (cairn_agent_check_configuration (type, configuration, &error))
        return HOST_EXIT_OK;
      g_printerr ("%s\n", error->message);
      return HOST_EXIT_CONFIGURATION;
    }

  if (store_path == NULL)
    {
      g_autofree char *folder = g_build_filename (g_get_user_data_dir (), "cairn", NULL);

      g_mkdir_with_parents (folder, 0700);
      store_path = g_build_filename (folder, "store.db", NULL);
    }
  store = cairn_store_open (store_path, NULL, &error);
  if (store == NULL)
    return fail (HOST_EXIT_RUNTIME, "cannot open the store: %s", error->message);
  cairn_store_set_origin (store, id);

  host.agent = g_initable_new (type, NULL, &error, "id", id, "agent-type", agent_type,
                               "store", store, NULL);
  if (host.agent == NULL)
    return fail (HOST_EXIT_INIT, "the agent failed to initialise: %s", error->message);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL || !cairn_agent_export (host.agent, bus, &error))
    {
      cairn_agent_stop (host.agent);
      g_object_unref (host.agent);
      return fail (HOST_EXIT_RUNTIME, "cannot export the agent on the session bus: %s",
                   error->message);
    }

  host.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (host.agent, "quit-requested", G_CALLBACK (on_quit_requested), &host);
  g_unix_signal_add (SIGTERM, on_quit_signal, &host);
  g_unix_signal_add (SIGINT, on_quit_signal, &host);
  g_unix_signal_add (SIGHUP, on_hangup, &host);
  bus_name = g_strconcat ("org.cairn.Agent.", id, NULL);
  owner = g_bus_own_name_on_connection (bus, bus_name, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                        NULL, on_name_lost, &host, NULL);

  /* Signals are handled between callbacks, so the one running finishes;
   * every processed change was recorded before its callback returned. */
  g_main_loop_run (host.loop);

  g_bus_unown_name (owner);
  cairn_agent_stop (host.agent);
  g_object_unref (host.agent);
  g_dbus_connection_flush_sync (bus, NULL, NULL);
  g_main_loop_unref (host.loop);
  return host.status;
}
