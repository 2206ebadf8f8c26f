/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairnctl: the command line of the control service. Every command talks
 * to org.cairn.Control1 through the generated proxy, except fsck, vacuum,
 * search and index, which open the store (and its search index) themselves. Listings take --json. */
#include "cairn-control-config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include <cairn/cairn.h>

#include "cairn-control-bus.h"
#include "cairn-dbus-control.h"
#include "cairn-sieve-script-private.h"

#define CONTROL_NAME CAIRN_CONTROL_NAME
#define CONTROL_PATH CAIRN_CONTROL_PATH
#define ERROR_PREFIX "org.cairn.Control1.Error."
#define WAIT_MS 30000

typedef enum
{
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_NOT_RUNNING = 2,
  EXIT_NOT_FOUND = 3,
  EXIT_REFUSED = 4,
  EXIT_FAILED = 5,
  EXIT_PROBLEMS = 6,
} CtlExit;

static gboolean opt_json;
static gboolean opt_wait;
static gboolean opt_repair;
static char *opt_store;
static char **opt_unset;
static int opt_count = -1;
static char *opt_output;
static char *opt_save;
static int opt_limit;
static int opt_offset;

static gboolean opt_version;

typedef struct
{
  const char *name;
  const char *arguments;
  const char *summary;
  const char *details;
} Command;

static const Command commands[] = {
  { "start", "", "start the control service and wait until it is ready",
    "The bus starts the service when it can (a D-Bus service file or systemd); otherwise\n"
    "cairnctl starts it as a detached process whose output goes to\n"
    "$XDG_STATE_HOME/cairn/control.log. Every other command except stop, fsck and\n"
    "vacuum has the bus start the service too, when it can." },
  { "stop", "", "stop it and every agent",
    "Asks the service to stop every agent and exit, and waits until it is gone." },
  { "restart", "[ID]", "restart the service, or one instance",
    "Without ID, stops and starts the service; with ID, restarts that instance's process." },
  { "status", "", "every instance: state, status, progress, online, changes",
    "One line per instance; --json gives every field, with the collections that failed\n"
    "to synchronize and the changes waiting to be replayed." },
  { "types", "", "the agent types",
    "The agent types the service found in its .agent files: id, name, capabilities." },
  { "add", "TYPE [KEY=VALUE...]", "create an instance; prints its id",
    "Creates an instance of TYPE with the configuration KEY=VALUE... and starts it. A\n"
    "key the type does not have, or a value it cannot take, is refused with the\n"
    "reason and the type's keys, and no instance is made." },
  { "remove", "ID", "stop an instance and delete its data and configuration", NULL },
  { "config", "ID [KEY=VALUE...]", "show or change a configuration (--unset KEY removes)",
    "Without KEY=VALUE, prints the configuration. A change is checked as `add` checks\n"
    "it, applied to the running instance, and makes a resource synchronize again." },
  { "sync", "ID [COLLECTION]", "synchronize a resource (--wait: until done)",
    "Queues a synchronization of every collection, or of COLLECTION (a collection id).\n"
    "With --wait, waits until it is done and draws its progress on a terminal; a\n"
    "resource that is offline fails at once, as it would not synchronize until online." },
  { "failed", "ID", "the changes a resource could not replay", NULL },
  { "retry", "ID [CHANGE]", "replay its failed changes again, or one of them", NULL },
  { "discard", "ID CHANGE", "forget a failed change: the backend keeps its version", NULL },
  { "online", "ID", "want an instance online", NULL },
  { "offline", "ID", "want an instance offline", NULL },
  { "watch", "", "show status and progress changes as they come",
    "One line per event, with the time: instances added and removed, status and\n"
    "progress (items done of items known, while a sync counts them); on a terminal a\n"
    "progress line is redrawn in place. --json prints one JSON object per event;\n"
    "--count N exits after N events." },
  { "fsck", "", "check the store (--repair fixes what is safe)", NULL },
  { "filter", "check SCRIPT | test SCRIPT ITEM", "check a Sieve script, or try it on a message",
    "check reads SCRIPT as the mail filter agent does and prints the line and column of\n"
    "its first error. test prints what SCRIPT does to ITEM, the id of a message in the\n"
    "store (--store) or a message file: keep, fileinto FOLDER or discard, with the\n"
    "flags each delivery adds. Nothing is changed." },
  { "search", "QUERY...", "search the index (docs/search.md)",
    "Prints the ids of the matching items, newest first, or with --output=threads one\n"
    "line per thread: its id, matched and total messages, date, authors and subject.\n"
    "--limit N and --offset N page through the results; --json prints an array.\n"
    "--save NAME keeps the query as a saved search instead: a virtual collection that\n"
    "the indexer keeps linked to the matching items; prints its id." },
  { "index", "rebuild|check", "rebuild the search index, or check it against the store",
    "rebuild: the indexer builds the index again from the store (restarted if the\n"
    "service runs, else when it next starts). check: exits with 6 if the index lacks\n"
    "items, keeps removed ones or differs in folders or flags, or is damaged." },
  { "vacuum", "", "collect garbage and compact the store", NULL },
  { "help", "[COMMAND]", "this list, or what COMMAND does", NULL },
};

static const Command *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static char *
build_summary (void)
{
  GString *text = g_string_new ("Commands:");

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *usage = g_strjoin (" ", commands[i].name, commands[i].arguments, NULL);

      g_string_append_printf (text, "\n  %-26s %s", usage, commands[i].summary);
    }
  return g_string_free (text, FALSE);
}

static const char *exit_codes =
  "Exit status:\n"
  "  0  success\n"
  "  1  usage: unknown command or option, missing argument\n"
  "  2  the control service is not running, or could not be started or stopped;\n"
  "     or the instance a resource command names is not running\n"
  "  3  no such instance, agent type or failed change\n"
  "  4  refused: an invalid argument or configuration, a second instance of a\n"
  "     Unique type, or sync, failed, retry or discard of an agent that is not\n"
  "     a resource\n"
  "  5  any other failure (the store, the bus, an agent)\n"
  "  6  fsck found problems that remain";

static int
fail (CtlExit     status,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (CtlExit     status,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("cairnctl: %s\n", message);
  return status;
}

/* Maps a D-Bus error of the service to an exit status and prints it. */
static int
fail_with (GError *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);
  CtlExit status = EXIT_FAILED;

  if (g_strcmp0 (name, ERROR_PREFIX "NotFound") == 0)
    status = EXIT_NOT_FOUND;
  else if (g_strcmp0 (name, ERROR_PREFIX "Invalid") == 0 ||
           g_strcmp0 (name, ERROR_PREFIX "Exists") == 0 ||
           g_strcmp0 (name, ERROR_PREFIX "NotResource") == 0)
    status = EXIT_REFUSED;
  else if (g_strcmp0 (name, ERROR_PREFIX "NotRunning") == 0 ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    status = EXIT_NOT_RUNNING;
  g_dbus_error_strip_remote_error (error);
  return fail (status, "%s", error->message);
}

/* JSON */

static void
json_string (GString    *out,
             const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

/* Dictionaries with string keys become objects, other containers arrays. */
static void
json_value (GString  *out,
            GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);

      json_value (out, inner);
    }
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    json_string (out, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
  else if (g_variant_type_is_subtype_of (g_variant_get_type (value), G_VARIANT_TYPE ("a{s*}")))
    {
      GVariantIter iter;
      const char *key;
      GVariant *member;
      gboolean first = TRUE;

      g_string_append_c (out, '{');
      g_variant_iter_init (&iter, value);
      while (g_variant_iter_next (&iter, "{&s@*}", &key, &member))
        {
          if (!first)
            g_string_append_c (out, ',');
          first = FALSE;
          json_string (out, key);
          g_string_append_c (out, ':');
          json_value (out, member);
          g_variant_unref (member);
        }
      g_string_append_c (out, '}');
    }
  else if (g_variant_is_container (value))
    {
      g_string_append_c (out, '[');
      for (gsize i = 0; i < g_variant_n_children (value); i++)
        {
          g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

          if (i > 0)
            g_string_append_c (out, ',');
          json_value (out, child);
        }
      g_string_append_c (out, ']');
    }
  else
    {
      g_autofree char *number = g_variant_print (value, FALSE);

      g_string_append (out, number);
    }
}

/* Adds every member of the a{sv} @dict to @builder. */
static void
add_members (GVariantBuilder *builder,
             GVariant        *dict)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_variant_builder_add (builder, "{sv}", key, value);
      g_variant_unref (value);
    }
}

static void
print_json (GVariant *value)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GVariant) sunk = g_variant_ref_sink (value);

  json_value (out, sunk);
  g_print ("%s\n", out->str);
}

/* The service */

static GDBusConnection *
get_bus (GError **error)
{
  return g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
}

/* Asks the bus to start the service (a D-Bus service file or systemd);
 * returns once the service owns its name. Fails with
 * G_DBUS_ERROR_SERVICE_UNKNOWN when the bus cannot start it. */
static gboolean
activate_service (GDBusConnection  *bus,
                  GError          **error)
{
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "StartServiceByName",
                                       g_variant_new ("(su)", CONTROL_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, WAIT_MS,
                                       NULL, error);
  return reply != NULL;
}

/* Connects to the service, started by the bus if it is not running and
 * the bus can start it. */
static CairnControl1 *
connect_service (int *status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = get_bus (&error);
  CairnControl1 *proxy;

  if (bus == NULL)
    {
      *status = fail (EXIT_NOT_RUNNING, "no session bus: %s", error->message);
      return NULL;
    }
  if (!cairn_control_name_has_owner (bus) && !activate_service (bus, &error))
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN))
        *status = fail (EXIT_NOT_RUNNING, "the control service is not running and the bus "
                        "cannot start it (start it with `cairnctl start`)");
      else
        *status = fail (EXIT_NOT_RUNNING, "cannot start the control service: %s",
                        error->message);
      return NULL;
    }
  proxy = cairn_control1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                         CONTROL_NAME, CONTROL_PATH, NULL, &error);
  if (proxy == NULL)
    *status = fail_with (error);
  else
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), G_MAXINT);
  return proxy;
}

typedef struct
{
  GMainLoop *loop;
  gboolean wanted;
  gboolean reached;
} NameWait;

/* Quits a loop once; the flag says the source is gone. */
typedef struct
{
  GMainLoop *loop;
  guint source;
} Deadline;

static gboolean
deadline_due (gpointer data)
{
  Deadline *deadline = data;

  deadline->source = 0;
  g_main_loop_quit (deadline->loop);
  return G_SOURCE_REMOVE;
}

static void
run_until (GMainLoop *loop,
           guint      timeout_ms)
{
  Deadline deadline = { loop, g_timeout_add (timeout_ms, deadline_due, &deadline) };

  g_main_loop_run (loop);
  g_clear_handle_id (&deadline.source, g_source_remove);
}

static void
name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  NameWait *wait = data;

  if (wait->wanted)
    {
      wait->reached = TRUE;
      g_main_loop_quit (wait->loop);
    }
}

static void
name_vanished (GDBusConnection *bus, const char *name, gpointer data)
{
  NameWait *wait = data;

  if (!wait->wanted)
    {
      wait->reached = TRUE;
      g_main_loop_quit (wait->loop);
    }
}

/* Waits until the service's name is owned (@owned) or not. */
static gboolean
wait_for_name (GDBusConnection *bus,
               gboolean         owned)
{
  NameWait wait = { g_main_loop_new (NULL, FALSE), owned, FALSE };
  guint watch = g_bus_watch_name_on_connection (bus, CONTROL_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                name_appeared, name_vanished, &wait, NULL);

  run_until (wait.loop, WAIT_MS);
  g_bus_unwatch_name (watch);
  g_main_loop_unref (wait.loop);
  return wait.reached;
}

static void
detach (gpointer data)
{
  setsid ();
}

/* Without an activation file the service is started as a detached
 * process whose output goes to $XDG_STATE_HOME/cairn/control.log. */
static gboolean
spawn_service (GError **error)
{
  const char *env = g_getenv ("CAIRN_CONTROL");
  g_autofree char *program = env && *env ? g_strdup (env)
                                         : g_build_filename (LIBEXECDIR, "cairn-control", NULL);
  g_autofree char *folder = g_build_filename (g_get_user_state_dir (), "cairn", NULL);
  g_autofree char *log = g_build_filename (folder, "control.log", NULL);
  const char *argv[] = { program, NULL };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;

  g_mkdir_with_parents (folder, 0700);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, detach, NULL, NULL);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  return process != NULL;
}

static int
cmd_start (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = get_bus (&error);

  if (bus == NULL)
    return fail (EXIT_NOT_RUNNING, "no session bus: %s", error->message);
  if (cairn_control_name_has_owner (bus))
    {
      g_print ("The control service is already running\n");
      return EXIT_OK;
    }
  if (!activate_service (bus, &error))
    {
      if (!g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN))
        return fail (EXIT_NOT_RUNNING, "cannot start the control service: %s", error->message);
      g_clear_error (&error);
      if (!spawn_service (&error))
        return fail (EXIT_NOT_RUNNING, "cannot start the control service: %s", error->message);
      if (!wait_for_name (bus, TRUE))
        return fail (EXIT_NOT_RUNNING, "the control service did not become ready within %d s; "
                     "see %s/cairn/control.log", WAIT_MS / 1000, g_get_user_state_dir ());
    }
  g_print ("The control service is ready\n");
  return EXIT_OK;
}

static int
cmd_stop (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = get_bus (&error);
  g_autoptr(CairnControl1) proxy = NULL;
  int status = EXIT_OK;

  if (bus == NULL)
    return fail (EXIT_NOT_RUNNING, "no session bus: %s", error->message);
  if (!cairn_control_name_has_owner (bus))
    {
      g_print ("The control service is not running\n");
      return EXIT_OK;
    }
  proxy = connect_service (&status);
  if (proxy == NULL)
    return status;
  if (!cairn_control1_call_shutdown_sync (proxy, NULL, &error))
    return fail_with (error);
  if (!wait_for_name (bus, FALSE))
    return fail (EXIT_NOT_RUNNING, "the control service did not stop within %d s",
                 WAIT_MS / 1000);
  g_print ("The control service is stopped\n");
  return EXIT_OK;
}

static const char * const status_names[] = { "idle", "running", "broken", "not configured",
                                              "needs credentials", "degraded" };

static const char *
status_name (guint status)
{
  return status < G_N_ELEMENTS (status_names) ? status_names[status] : "unknown";
}

static char *
queue_text (GVariant *details)
{
  g_autoptr(GVariant) queues = g_variant_lookup_value (details, "queue-lengths",
                                                       G_VARIANT_TYPE ("au"));
  g_autoptr(GString) text = g_string_new (NULL);

  if (queues == NULL)
    return g_strdup ("-");
  for (gsize i = 0; i < g_variant_n_children (queues); i++)
    {
      guint32 length;

      g_variant_get_child (queues, i, "u", &length);
      g_string_append_printf (text, "%s%u", i ? "/" : "", length);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static int
cmd_status (CairnControl1 *proxy)
{
  g_autoptr(GVariant) instances = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantBuilder) json = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  const char *id, *type, *message;
  guint status, progress;
  gboolean online;
  GVariant *details;

  if (!cairn_control1_call_list_instances_sync (proxy, &instances, NULL, &error))
    return fail_with (error);
  if (!opt_json)
    g_print ("%-20s %-12s %-11s %-14s %4s %-7s %7s %-6s %-9s %s\n", "ID", "TYPE", "STATE",
             "STATUS", "PROG", "ONLINE", "PENDING", "FAILED", "QUEUES", "MESSAGE");
  g_variant_iter_init (&iter, instances);
  while (g_variant_iter_next (&iter, "(&s&su&sub@a{sv})", &id, &type, &status, &message,
                              &progress, &online, &details))
    {
      const char *state = "";
      guint64 pending = 0;
      gboolean has_pending = g_variant_lookup (details, "pending-changes", "t", &pending);
      guint32 failed_changes = 0;
      g_autoptr(GVariant) failed_collections =
        g_variant_lookup_value (details, "failed-collections", G_VARIANT_TYPE ("a(tss)"));
      g_autofree char *queues = queue_text (details);

      g_variant_lookup (details, "failed-changes", "u", &failed_changes);

      g_variant_lookup (details, "state", "&s", &state);
      if (opt_json)
        {
          g_auto(GVariantBuilder) row = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

          g_variant_builder_add (&row, "{sv}", "id", g_variant_new_string (id));
          g_variant_builder_add (&row, "{sv}", "type", g_variant_new_string (type));
          g_variant_builder_add (&row, "{sv}", "status",
                                 g_variant_new_string (status_name (status)));
          g_variant_builder_add (&row, "{sv}", "message", g_variant_new_string (message));
          g_variant_builder_add (&row, "{sv}", "progress", g_variant_new_uint32 (progress));
          g_variant_builder_add (&row, "{sv}", "online", g_variant_new_boolean (online));
          add_members (&row, details);
          g_variant_builder_add (&json, "a{sv}", &row);
        }
      else
        {
          g_autofree char *pending_text = has_pending
            ? g_strdup_printf ("%" G_GUINT64_FORMAT, pending) : g_strdup ("-");
          g_autofree char *failed_text = has_pending
            ? g_strdup_printf ("%u/%" G_GSIZE_FORMAT, failed_changes,
                               failed_collections ? g_variant_n_children (failed_collections) : 0)
            : g_strdup ("-");

          g_print ("%-20s %-12s %-11s %-14s %3u%% %-7s %7s %-6s %-9s %s\n", id, type, state,
                   status_name (status), progress, online ? "yes" : "no", pending_text,
                   failed_text, queues, message);
        }
      g_variant_unref (details);
    }
  if (opt_json)
    print_json (g_variant_builder_end (&json));
  return EXIT_OK;
}

static int
cmd_types (CairnControl1 *proxy)
{
  g_autoptr(GVariant) types = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantBuilder) json = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  const char *id, *name, *description;
  GVariant *mime_types, *capabilities;

  if (!cairn_control1_call_list_types_sync (proxy, &types, NULL, &error))
    return fail_with (error);
  if (!opt_json)
    g_print ("%-16s %-24s %-32s %s\n", "TYPE", "NAME", "CAPABILITIES", "DESCRIPTION");
  g_variant_iter_init (&iter, types);
  while (g_variant_iter_next (&iter, "(&s&s&s@as@as)", &id, &name, &description, &mime_types,
                              &capabilities))
    {
      if (opt_json)
        {
          g_auto(GVariantBuilder) row = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

          g_variant_builder_add (&row, "{sv}", "id", g_variant_new_string (id));
          g_variant_builder_add (&row, "{sv}", "name", g_variant_new_string (name));
          g_variant_builder_add (&row, "{sv}", "description", g_variant_new_string (description));
          g_variant_builder_add (&row, "{sv}", "mime-types", mime_types);
          g_variant_builder_add (&row, "{sv}", "capabilities", capabilities);
          g_variant_builder_add (&json, "a{sv}", &row);
        }
      else
        {
          g_autofree const char **list = g_variant_get_strv (capabilities, NULL);
          g_autofree char *joined = g_strjoinv (",", (char **) list);

          g_print ("%-16s %-24s %-32s %s\n", id, name, *joined ? joined : "-", description);
          g_variant_unref (mime_types);
          g_variant_unref (capabilities);
        }
    }
  if (opt_json)
    print_json (g_variant_builder_end (&json));
  return EXIT_OK;
}

/* KEY=VALUE arguments become strings: the agent parses its key file by
 * the type of each property, and text is what a key file holds. */
static gboolean
parse_pairs (char           **args,
             GVariantBuilder *builder)
{
  for (guint i = 0; args[i] != NULL; i++)
    {
      const char *equals = strchr (args[i], '=');
      g_autofree char *key = NULL;

      if (equals == NULL || equals == args[i])
        {
          fail (EXIT_USAGE, "“%s” is not KEY=VALUE", args[i]);
          return FALSE;
        }
      key = g_strndup (args[i], equals - args[i]);
      g_variant_builder_add (builder, "{sv}", key, g_variant_new_string (equals + 1));
    }
  return TRUE;
}

static int
cmd_add (CairnControl1  *proxy,
         char          **args)
{
  g_auto(GVariantBuilder) config = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  if (args[0] == NULL)
    return fail (EXIT_USAGE, "usage: cairnctl add TYPE [KEY=VALUE...]");
  if (!parse_pairs (args + 1, &config))
    return EXIT_USAGE;
  if (!cairn_control1_call_create_instance_sync (proxy, args[0], g_variant_builder_end (&config),
                                                 &id, NULL, &error))
    return fail_with (error);
  if (opt_json)
    print_json (g_variant_new_parsed ("{'id': <%s>}", id));
  else
    g_print ("%s\n", id);
  return EXIT_OK;
}

static int
cmd_config (CairnControl1  *proxy,
            char          **args)
{
  g_auto(GVariantBuilder) set = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  const char *no_keys[] = { NULL };
  g_autoptr(GVariant) config = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *key, *value;

  if (args[0] == NULL)
    return fail (EXIT_USAGE, "usage: cairnctl config ID [KEY=VALUE...] [--unset KEY...]");
  if (args[1] != NULL || opt_unset != NULL)
    {
      if (!parse_pairs (args + 1, &set))
        return EXIT_USAGE;
      if (!cairn_control1_call_configure_sync (proxy, args[0], g_variant_builder_end (&set),
                                               opt_unset ? (const char * const *) opt_unset
                                                         : no_keys, NULL, &error))
        return fail_with (error);
      return EXIT_OK;
    }
  if (!cairn_control1_call_get_configuration_sync (proxy, args[0], &config, NULL, &error))
    return fail_with (error);
  if (opt_json)
    {
      print_json (g_variant_ref (config));
      return EXIT_OK;
    }
  g_variant_iter_init (&iter, config);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    g_print ("%s=%s\n", key, value);
  return EXIT_OK;
}

typedef struct
{
  GMainLoop *loop;
  const char *id;
  GError *error;
  gboolean done;
} SyncWait;

/* "[####    ]  45%  1234 of 40000 items", or without items when the work
 * does not count them. */
static char *
format_progress (guint   progress,
                 guint64 items_done,
                 guint64 items_known)
{
  char bar[31];
  guint filled = MIN (progress, 100) * 30 / 100;

  memset (bar, '#', filled);
  memset (bar + filled, ' ', 30 - filled);
  bar[30] = '\0';
  if (items_known == 0)
    return g_strdup_printf ("[%s] %3u%%", bar, MIN (progress, 100));
  return g_strdup_printf ("[%s] %3u%%  %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " items", bar,
                          MIN (progress, 100), items_done, items_known);
}

static void
draw_progress (guint   progress,
               guint64 items_done,
               guint64 items_known)
{
  g_autofree char *text = format_progress (progress, items_done, items_known);

  /* Back to the line's start, and erase what a longer line left. */
  g_printerr ("\r%s\033[K", text);
}

static void
on_progress (CairnControl1 *proxy,
             const char    *id,
             guint          progress,
             guint64        items_done,
             guint64        items_known,
             SyncWait      *wait)
{
  if (g_str_equal (id, wait->id))
    draw_progress (progress, items_done, items_known);
}

static void
synchronized (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  SyncWait *wait = data;

  cairn_control1_call_synchronize_finish (CAIRN_CONTROL1 (source), result, &wait->error);
  wait->done = TRUE;
  g_main_loop_quit (wait->loop);
}

/* Whether instance @id is running and offline; FALSE with @error if it is
 * unknown. An instance that is starting has not said yet. */
static gboolean
instance_is_offline (CairnControl1  *proxy,
                     const char     *id,
                     gboolean       *offline,
                     GError        **error)
{
  g_autoptr(GVariant) instances = NULL;
  GVariantIter iter;
  const char *instance;
  gboolean online;
  GVariant *details;

  if (!cairn_control1_call_list_instances_sync (proxy, &instances, NULL, error))
    return FALSE;
  g_variant_iter_init (&iter, instances);
  while (g_variant_iter_next (&iter, "(&s&su&sub@a{sv})", &instance, NULL, NULL, NULL, NULL,
                              &online, &details))
    {
      const char *state;
      gboolean found = g_str_equal (instance, id);

      if (found)
        *offline = !online && g_variant_lookup (details, "state", "&s", &state) &&
                   g_str_equal (state, "running");
      g_variant_unref (details);
      if (found)
        return TRUE;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No instance “%s”", id);
  return FALSE;
}

static int
cmd_sync (CairnControl1  *proxy,
          char          **args)
{
  guint64 collection = 0;
  g_autoptr(GError) error = NULL;
  SyncWait wait = { NULL, NULL, NULL, FALSE };
  gboolean bar = opt_wait && isatty (STDERR_FILENO);

  if (args[0] == NULL || (args[1] != NULL && args[2] != NULL))
    return fail (EXIT_USAGE, "usage: cairnctl sync ID [COLLECTION] [--wait]");
  if (args[1] != NULL && !g_ascii_string_to_unsigned (args[1], 10, 0, G_MAXUINT64, &collection,
                                                      &error))
    return fail (EXIT_USAGE, "COLLECTION must be a collection id: %s", error->message);
  /* An offline resource synchronizes only once online: waiting would
   * hang until someone brings it online. */
  if (opt_wait)
    {
      gboolean offline = FALSE;

      if (!instance_is_offline (proxy, args[0], &offline, &error))
        return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ?
               fail (EXIT_NOT_FOUND, "%s", error->message) : fail_with (error);
      if (offline)
        return fail (EXIT_REFUSED, "%s is offline, so it would not synchronize until online; "
                     "bring it online with `cairnctl online %s`, or sync without --wait to "
                     "synchronize when it is", args[0], args[0]);
    }

  wait.loop = g_main_loop_new (NULL, FALSE);
  wait.id = args[0];
  if (bar)
    {
      g_signal_connect (proxy, "instance-progress-changed", G_CALLBACK (on_progress), &wait);
      draw_progress (0, 0, 0);
    }
  cairn_control1_call_synchronize (proxy, args[0], collection, NULL, synchronized, &wait);
  /* Without --wait only the start is waited for: errors such as "not a
   * resource" come at once, and the rest runs in the resource. */
  if (opt_wait)
    g_main_loop_run (wait.loop);
  else
    run_until (wait.loop, 500);
  g_main_loop_unref (wait.loop);
  if (bar)
    g_printerr ("\n");
  if (wait.error != NULL)
    {
      g_autoptr(GError) sync_error = wait.error;

      return fail_with (sync_error);
    }
  g_print (wait.done ? "Synchronized %s\n" : "Synchronizing %s\n", args[0]);
  return EXIT_OK;
}

static const char *
enum_nick (GType       type,
           guint       value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *found = g_enum_get_value (klass, value);

  return found != NULL ? found->value_nick : "unknown";
}

static int
cmd_failed (CairnControl1  *proxy,
            char          **args)
{
  g_autoptr(GVariant) changes = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantBuilder) json = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  guint64 change_id, entity;
  guint32 operation, kind;
  const char *reason;

  if (args[0] == NULL || args[1] != NULL)
    return fail (EXIT_USAGE, "usage: cairnctl failed ID");
  if (!cairn_control1_call_list_failed_changes_sync (proxy, args[0], &changes, NULL, &error))
    return fail_with (error);
  if (!opt_json)
    g_print ("%-8s %-10s %-20s %s\n", "CHANGE", "OPERATION", "ENTITY", "REASON");
  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "(tuut&s)", &change_id, &operation, &kind, &entity,
                              &reason))
    {
      const char *operation_nick = enum_nick (CAIRN_TYPE_CHANGE_OPERATION, operation);
      const char *kind_nick = enum_nick (CAIRN_TYPE_ENTITY_KIND, kind);

      if (opt_json)
        {
          g_auto(GVariantBuilder) row = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

          g_variant_builder_add (&row, "{sv}", "id", g_variant_new_uint64 (change_id));
          g_variant_builder_add (&row, "{sv}", "operation", g_variant_new_string (operation_nick));
          g_variant_builder_add (&row, "{sv}", "entity-kind", g_variant_new_string (kind_nick));
          g_variant_builder_add (&row, "{sv}", "entity", g_variant_new_uint64 (entity));
          g_variant_builder_add (&row, "{sv}", "reason", g_variant_new_string (reason));
          g_variant_builder_add (&json, "a{sv}", &row);
        }
      else
        {
          g_autofree char *entity_text = g_strdup_printf ("%s %" G_GUINT64_FORMAT, kind_nick,
                                                          entity);

          g_print ("%-8" G_GUINT64_FORMAT " %-10s %-20s %s\n", change_id, operation_nick,
                   entity_text, reason);
        }
    }
  if (opt_json)
    print_json (g_variant_builder_end (&json));
  return EXIT_OK;
}

/* Retries or discards the failed changes of a resource: all of them, or
 * the one @args[1] names, which must be one of them. */
static int
cmd_failed_changes (CairnControl1  *proxy,
                    const char     *command,
                    char          **args)
{
  gboolean retry = g_str_equal (command, "retry");
  g_autoptr(GVariant) changes = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GError) error = NULL;
  guint64 wanted = 0;
  GVariantIter iter;
  guint64 change_id;

  if (args[0] == NULL || (args[1] == NULL && !retry) || (args[1] != NULL && args[2] != NULL))
    return fail (EXIT_USAGE, retry ? "usage: cairnctl retry ID [CHANGE]"
                                   : "usage: cairnctl discard ID CHANGE");
  if (args[1] != NULL && !g_ascii_string_to_unsigned (args[1], 10, 1, G_MAXUINT64, &wanted,
                                                      &error))
    return fail (EXIT_USAGE, "CHANGE must be a failed change id: %s", error->message);
  if (!cairn_control1_call_list_failed_changes_sync (proxy, args[0], &changes, NULL, &error))
    return fail_with (error);
  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "(tuuts)", &change_id, NULL, NULL, NULL, NULL))
    if (wanted == 0 || change_id == wanted)
      g_array_append_val (ids, change_id);
  if (wanted != 0 && ids->len == 0)
    return fail (EXIT_NOT_FOUND, "%s has no failed change %" G_GUINT64_FORMAT, args[0], wanted);

  /* An empty list would mean every failed change to the resource. */
  if (ids->len > 0)
    {
      GVariant *list = g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, ids->data, ids->len,
                                                  sizeof (guint64));
      gboolean ok = retry
        ? cairn_control1_call_retry_failed_changes_sync (proxy, args[0], list, NULL, &error)
        : cairn_control1_call_discard_failed_changes_sync (proxy, args[0], list, NULL, &error);

      if (!ok)
        return fail_with (error);
    }
  if (opt_json)
    print_json (g_variant_new_parsed ("{'id': <%s>, %s: <%@at>}", args[0],
                                      retry ? "retried" : "discarded",
                                      g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64,
                                                                 ids->data, ids->len,
                                                                 sizeof (guint64))));
  else
    g_print (retry ? g_dngettext (NULL, "%s: retrying %u failed change\n",
                                  "%s: retrying %u failed changes\n", ids->len)
                   : g_dngettext (NULL, "%s: discarded %u failed change\n",
                                  "%s: discarded %u failed changes\n", ids->len),
             args[0], ids->len);
  return EXIT_OK;
}

/* Whether the last line printed is a progress line still open, to be
 * redrawn by the next progress of its instance (on a terminal only). */
static char *open_progress_id;

/* Prints an event: a JSON object with --json, else @text after the time
 * and the instance; on a terminal, progress redraws its line. */
static void
print_event (const char *kind,
             const char *id,
             GVariant   *fields,
             const char *text)
{
  g_autoptr(GVariant) sunk = g_variant_ref_sink (fields);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M:%S");
  gboolean progress = g_str_equal (kind, "progress") && isatty (STDOUT_FILENO);

  if (opt_json)
    {
      g_auto(GVariantBuilder) row = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

      g_variant_builder_add (&row, "{sv}", "event", g_variant_new_string (kind));
      g_variant_builder_add (&row, "{sv}", "id", g_variant_new_string (id));
      add_members (&row, sunk);
      print_json (g_variant_builder_end (&row));
      fflush (stdout);
      return;
    }

  if (open_progress_id != NULL)
    g_print (progress && g_str_equal (open_progress_id, id) ? "\r\033[K" : "\n");
  g_clear_pointer (&open_progress_id, g_free);
  g_print ("%s %s %s", time, id, text);
  if (progress)
    open_progress_id = g_strdup (id);
  else
    g_print ("\n");
  fflush (stdout);
}

typedef struct
{
  GMainLoop *loop;
  int remaining;
} Watch;

static void
count_event (Watch *watch)
{
  if (watch->remaining > 0 && --watch->remaining == 0)
    g_main_loop_quit (watch->loop);
}

static void
on_added (CairnControl1 *proxy, const char *id, const char *type, Watch *watch)
{
  g_autofree char *text = g_strdup_printf ("added, of type %s", type);

  print_event ("added", id, g_variant_new_parsed ("{'type': <%s>}", type), text);
  count_event (watch);
}

static void
on_removed (CairnControl1 *proxy, const char *id, Watch *watch)
{
  print_event ("removed", id, g_variant_new_parsed ("@a{sv} {}"), "removed");
  count_event (watch);
}

/* "running (running): Synchronizing INBOX" */
static char *
status_text (guint       status,
             const char *state,
             const char *message)
{
  return g_strdup_printf ("%s (%s)%s%s", status_name (status), *state ? state : "-",
                          *message ? ": " : "", message);
}

static void
on_status (CairnControl1 *proxy, const char *id, guint status, const char *message,
           const char *state, Watch *watch)
{
  g_autofree char *text = status_text (status, state, message);

  print_event ("status", id, g_variant_new_parsed ("{'status': <%s>, 'message': <%s>, "
                                                   "'state': <%s>}", status_name (status),
                                                   message, state), text);
  count_event (watch);
}

static void
on_watch_progress (CairnControl1 *proxy, const char *id, guint progress, guint64 items_done,
                   guint64 items_known, Watch *watch)
{
  g_autofree char *text = format_progress (progress, items_done, items_known);

  print_event ("progress", id, g_variant_new_parsed ("{'progress': <%u>, 'items-done': <%t>, "
                                                     "'items-known': <%t>}", progress,
                                                     items_done, items_known), text);
  count_event (watch);
}

static gboolean
on_interrupt (gpointer data)
{
  g_main_loop_quit (((Watch *) data)->loop);
  return G_SOURCE_REMOVE;
}

static void
on_owner_changed (GObject    *proxy,
                  GParamSpec *pspec,
                  Watch      *watch)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));

  if (owner == NULL)
    {
      g_print ("The control service stopped\n");
      g_main_loop_quit (watch->loop);
    }
}

/* Starts with the current state of every instance; that call also
 * makes sure the bus has the signal subscriptions before "watching". */
static int
cmd_watch (CairnControl1 *proxy)
{
  Watch watch = { g_main_loop_new (NULL, FALSE), opt_count };
  g_autoptr(GVariant) instances = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *id, *type, *message, *state;
  guint status, progress;
  gboolean online;
  GVariant *details;

  g_signal_connect (proxy, "instance-added", G_CALLBACK (on_added), &watch);
  g_signal_connect (proxy, "instance-removed", G_CALLBACK (on_removed), &watch);
  g_signal_connect (proxy, "instance-status-changed", G_CALLBACK (on_status), &watch);
  g_signal_connect (proxy, "instance-progress-changed", G_CALLBACK (on_watch_progress), &watch);
  g_signal_connect (proxy, "notify::g-name-owner", G_CALLBACK (on_owner_changed), &watch);
  g_unix_signal_add (SIGINT, on_interrupt, &watch);
  g_unix_signal_add (SIGTERM, on_interrupt, &watch);

  if (!cairn_control1_call_list_instances_sync (proxy, &instances, NULL, &error))
    return fail_with (error);
  g_variant_iter_init (&iter, instances);
  while (g_variant_iter_next (&iter, "(&s&su&sub@a{sv})", &id, &type, &status, &message,
                              &progress, &online, &details))
    {
      g_autofree char *text = NULL;

      if (!g_variant_lookup (details, "state", "&s", &state))
        state = "";
      text = status_text (status, state, message);
      print_event ("status", id, g_variant_new_parsed ("{'status': <%s>, 'message': <%s>, "
                                                       "'state': <%s>, 'progress': <%u>}",
                                                       status_name (status), message, state,
                                                       progress), text);
      g_variant_unref (details);
    }
  if (opt_json)
    g_print ("{\"event\":\"watching\"}\n");
  else
    g_print ("Watching; interrupt to stop\n");
  fflush (stdout);
  g_main_loop_run (watch.loop);
  g_main_loop_unref (watch.loop);
  if (open_progress_id != NULL)
    g_print ("\n");
  g_clear_pointer (&open_progress_id, g_free);
  return EXIT_OK;
}

static int
cmd_simple (CairnControl1 *proxy,
            const char    *command,
            char         **args)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (args[0] == NULL || args[1] != NULL)
    return fail (EXIT_USAGE, "usage: cairnctl %s ID", command);
  if (g_str_equal (command, "remove"))
    ok = cairn_control1_call_remove_instance_sync (proxy, args[0], NULL, &error);
  else if (g_str_equal (command, "restart"))
    ok = cairn_control1_call_restart_sync (proxy, args[0], NULL, &error);
  else
    ok = cairn_control1_call_set_online_sync (proxy, args[0], g_str_equal (command, "online"),
                                              NULL, &error);
  if (!ok)
    return fail_with (error);
  g_print ("%s: %s\n", args[0], g_str_equal (command, "remove") ? "removed"
                               : g_str_equal (command, "restart") ? "restarting"
                               : g_str_equal (command, "online") ? "wanted online"
                               : "wanted offline");
  return EXIT_OK;
}

/* fsck and vacuum work on the store file: the service's if it runs,
 * else --store or the default. */
static char *
store_path (void)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(CairnControl1) proxy = NULL;

  if (opt_store != NULL)
    return g_strdup (opt_store);
  bus = get_bus (NULL);
  if (bus != NULL && cairn_control_name_has_owner (bus))
    proxy = cairn_control1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                           CONTROL_NAME, CONTROL_PATH, NULL, NULL);
  if (proxy != NULL && cairn_control1_get_store_path (proxy) != NULL)
    return g_strdup (cairn_control1_get_store_path (proxy));
  return g_build_filename (g_get_user_data_dir (), "cairn", "store.db", NULL);
}

static CairnStore *
open_store (int *status)
{
  g_autofree char *path = store_path ();
  g_autoptr(GError) error = NULL;
  CairnStore *store;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      *status = fail (EXIT_FAILED, "no store at %s", path);
      return NULL;
    }
  store = cairn_store_open (path, NULL, &error);
  if (store == NULL)
    *status = fail (EXIT_FAILED, "cannot open the store %s: %s", path, error->message);
  return store;
}

static int
cmd_fsck (void)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint remaining = 0;
  int status = EXIT_OK;

  store = open_store (&status);
  if (store == NULL)
    return status;
  if (!cairn_store_check_sync (store, opt_repair, &problems, NULL, &error))
    return fail (EXIT_FAILED, "cannot check %s: %s", cairn_store_get_path (store),
                 error->message);
  for (guint i = 0; i < problems->len; i++)
    if (!g_str_has_suffix (g_ptr_array_index (problems, i), "(repaired)"))
      remaining++;
  g_ptr_array_add (problems, NULL);
  if (opt_json)
    print_json (g_variant_new_parsed ("{'store': <%s>, 'problems': <%^as>, 'remaining': <%u>}",
                                      cairn_store_get_path (store), problems->pdata,
                                      remaining));
  else
    {
      for (guint i = 0; problems->pdata[i] != NULL; i++)
        g_print ("%s\n", (char *) problems->pdata[i]);
      g_print ("%s: %u problems, %u remain\n", cairn_store_get_path (store), problems->len - 1,
               remaining);
    }
  return remaining > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

static goffset
file_size (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);

  return info ? g_file_info_get_size (info) : 0;
}

static int
cmd_vacuum (void)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wal = NULL;
  goffset before, after;
  int status = EXIT_OK;

  store = open_store (&status);
  if (store == NULL)
    return status;
  wal = g_strconcat (cairn_store_get_path (store), "-wal", NULL);
  before = file_size (cairn_store_get_path (store)) + file_size (wal);
  if (!cairn_store_vacuum_sync (store, NULL, &error))
    return fail (EXIT_FAILED, "cannot vacuum %s: %s", cairn_store_get_path (store),
                 error->message);
  after = file_size (cairn_store_get_path (store)) + file_size (wal);
  if (opt_json)
    print_json (g_variant_new_parsed ("{'store': <%s>, 'bytes-before': <%x>, "
                                      "'bytes-after': <%x>}", cairn_store_get_path (store),
                                      (gint64) before, (gint64) after));
  else
    g_print ("%s: %" G_GOFFSET_FORMAT " bytes, %" G_GOFFSET_FORMAT " before\n",
             cairn_store_get_path (store), after, before);
  return EXIT_OK;
}

/* The message to try a script on: an item of the store, by id, or a
 * file. */
static CairnSieveMessage *
open_message (const char *name,
              int        *status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  CairnSieveMessage *message;
  guint64 id, size;

  if (g_ascii_string_to_unsigned (name, 10, 1, G_MAXUINT64, &id, NULL))
    {
      g_autoptr(CairnStore) store = open_store (status);
      g_autoptr(CairnItem) item = NULL;

      if (store == NULL)
        return NULL;
      item = cairn_store_get_item (store, id, NULL, &error);
      if (item != NULL)
        stream = cairn_store_open_part (store, id, CAIRN_PART_RFC822, NULL, &error);
      if (stream == NULL)
        {
          *status = fail (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND)
                          ? EXIT_NOT_FOUND : EXIT_FAILED, "%s", error->message);
          return NULL;
        }
      size = cairn_item_get_size (item);
    }
  else
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (name);
      g_autoptr(GFileInfo) info = NULL;

      stream = G_INPUT_STREAM (g_file_read (file, NULL, &error));
      if (stream != NULL)
        info = g_file_input_stream_query_info (G_FILE_INPUT_STREAM (stream),
                                               G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, &error);
      if (info == NULL)
        {
          *status = fail (EXIT_NOT_FOUND, "%s", error->message);
          return NULL;
        }
      size = g_file_info_get_size (info);
    }
  message = cairn_sieve_message_new_from_stream (stream, size, NULL, &error);
  if (message == NULL)
    *status = fail (EXIT_FAILED, "cannot read %s: %s", name, error->message);
  return message;
}

static int
cmd_filter (char **args)
{
  g_autoptr(CairnSieveScript) script = NULL;
  g_autoptr(CairnSieveMessage) message = NULL;
  g_autoptr(CairnSieveOutcome) outcome = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint n_args = g_strv_length (args);
  int status = EXIT_OK;

  if (!(n_args == 2 && g_str_equal (args[0], "check")) &&
      !(n_args == 3 && g_str_equal (args[0], "test")))
    return fail (EXIT_USAGE, "usage: cairnctl filter check SCRIPT | test SCRIPT ITEM");
  script = cairn_sieve_script_new_from_file (args[1], &error);
  if (script == NULL)
    return fail (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? EXIT_NOT_FOUND
                                                                         : EXIT_REFUSED,
                 "%s", error->message);
  if (n_args == 2)
    {
      g_print ("%s: %u rules, no error\n", args[1], cairn_sieve_script_get_n_rules (script));
      return EXIT_OK;
    }
  message = open_message (args[2], &status);
  if (message == NULL)
    return status;
  outcome = cairn_sieve_script_run (script, message);
  text = cairn_sieve_outcome_to_string (outcome);
  g_print ("%s\n", text);
  return EXIT_OK;
}

static int
print_threads (GPtrArray *threads)
{
  g_autoptr(GVariantBuilder) json = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));

  for (guint i = 0; i < threads->len; i++)
    {
      CairnSearchThread *thread = g_ptr_array_index (threads, i);
      g_autoptr(GDateTime) date =
        g_date_time_new_from_unix_utc (cairn_search_thread_get_newest_date (thread));
      g_autofree char *when = date ? g_date_time_format (date, "%Y-%m-%d") : g_strdup ("-");

      if (opt_json)
        g_variant_builder_add_parsed (json, "{'thread': <%t>, 'subject': <%s>, "
                                      "'authors': <%s>, 'date': <%x>, 'messages': <%u>, "
                                      "'matched': <%u>, 'unread': <%u>}",
                                      cairn_search_thread_get_id (thread),
                                      cairn_search_thread_get_subject (thread),
                                      cairn_search_thread_get_authors (thread),
                                      cairn_search_thread_get_newest_date (thread),
                                      cairn_search_thread_get_n_messages (thread),
                                      cairn_search_thread_get_n_matched (thread),
                                      cairn_search_thread_get_n_unread (thread));
      else
        g_print ("thread:%" G_GUINT64_FORMAT "  [%u/%u] %s  %s; %s\n",
                 cairn_search_thread_get_id (thread), cairn_search_thread_get_n_matched (thread),
                 cairn_search_thread_get_n_messages (thread), when,
                 cairn_search_thread_get_authors (thread),
                 cairn_search_thread_get_subject (thread));
    }
  if (opt_json)
    print_json (g_variant_builder_end (json));
  return EXIT_OK;
}

static gboolean
create_saved_search (CairnTransaction  *transaction,
                     gpointer           data,
                     GError           **error)
{
  const char * const *args = data;
  g_autoptr(CairnCollection) collection = cairn_collection_new ("search", 0, opt_save);
  g_autoptr(GBytes) query = g_bytes_new (args[0], strlen (args[0]));

  cairn_collection_set_virtual (collection, TRUE);
  cairn_collection_set_attribute (collection, CAIRN_SEARCH_QUERY_ATTRIBUTE, query);
  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  g_print ("%" G_GUINT64_FORMAT "\n", cairn_collection_get_id (collection));
  return TRUE;
}

/* The query is checked before it is saved: a saved search that cannot run
 * would stay empty. */
static int
cmd_search (char **args)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnSearch) search = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *query = g_strjoinv (" ", args);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  gboolean as_threads = g_strcmp0 (opt_output, "threads") == 0;
  int status = EXIT_OK;

  if (args[0] == NULL)
    return fail (EXIT_USAGE, "usage: cairnctl search QUERY...");
  if (opt_output != NULL && !as_threads && !g_str_equal (opt_output, "messages"))
    return fail (EXIT_USAGE, "--output is messages or threads, not %s", opt_output);
  if (opt_limit < 0 || opt_offset < 0)
    return fail (EXIT_USAGE, "--limit and --offset count from 0");
  store = open_store (&status);
  if (store == NULL)
    return status;
  search = cairn_search_new (store);
  if (as_threads)
    threads = cairn_search_run_threads_sync (search, query, opt_offset, opt_limit, NULL, &error);
  else
    ids = cairn_search_run_sync (search, query, opt_offset, opt_limit, NULL, &error);
  if (ids == NULL && threads == NULL)
    return fail (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY)
                 ? EXIT_REFUSED : EXIT_FAILED, "%s", error->message);
  if (opt_save != NULL)
    {
      const char *data[] = { query };

      if (!cairn_store_write_sync (store, create_saved_search, data, NULL, NULL, &error))
        return fail (EXIT_FAILED, "cannot save the search %s: %s", opt_save, error->message);
      return EXIT_OK;
    }
  if (threads != NULL)
    return print_threads (threads);
  if (opt_json)
    print_json (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, ids->data, ids->len,
                                           sizeof (guint64)));
  else
    for (guint i = 0; i < ids->len; i++)
      g_print ("%" G_GUINT64_FORMAT "\n", g_array_index (ids, guint64, i));
  return EXIT_OK;
}

/* Restarts the running indexer instances, if the service runs. */
static int
restart_indexers (void)
{
  g_autoptr(GDBusConnection) bus = get_bus (NULL);
  g_autoptr(CairnControl1) proxy = NULL;
  g_autoptr(GVariant) instances = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *id, *type;

  if (bus == NULL || !cairn_control_name_has_owner (bus))
    {
      g_print ("the indexer rebuilds the index when it next starts\n");
      return EXIT_OK;
    }
  proxy = cairn_control1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, CONTROL_NAME,
                                         CONTROL_PATH, NULL, &error);
  if (proxy == NULL || !cairn_control1_call_list_instances_sync (proxy, &instances, NULL, &error))
    return fail_with (error);
  g_variant_iter_init (&iter, instances);
  while (g_variant_iter_next (&iter, "(&s&susuba{sv})", &id, &type, NULL, NULL, NULL, NULL, NULL))
    if (g_str_equal (type, "indexer"))
      {
        if (!cairn_control1_call_restart_sync (proxy, id, NULL, &error))
          return fail_with (error);
        g_print ("%s: rebuilding the index\n", id);
      }
  return EXIT_OK;
}

static int
cmd_index (char **args)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnSearch) search = NULL;
  g_autoptr(GError) error = NULL;
  int status = EXIT_OK;

  if (args[0] == NULL || args[1] != NULL ||
      !(g_str_equal (args[0], "rebuild") || g_str_equal (args[0], "check")))
    return fail (EXIT_USAGE, "usage: cairnctl index rebuild|check");
  store = open_store (&status);
  if (store == NULL)
    return status;
  search = cairn_search_new (store);
  if (g_str_equal (args[0], "rebuild"))
    {
      if (!cairn_search_request_rebuild (search, &error))
        return fail (EXIT_FAILED, "%s", error->message);
      return restart_indexers ();
    }
  if (!cairn_search_check_sync (search, NULL, &error))
    return fail (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INCONSISTENT) ||
                 g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT)
                 ? EXIT_PROBLEMS : EXIT_FAILED, "%s", error->message);
  g_print ("the search index is sound and current\n");
  return EXIT_OK;
}

static int
run_service_command (const char  *command,
                     char       **args)
{
  g_autoptr(CairnControl1) proxy = NULL;
  int status = EXIT_OK;

  proxy = connect_service (&status);
  if (proxy == NULL)
    return status;
  if (g_str_equal (command, "status") && args[0] == NULL)
    return cmd_status (proxy);
  if (g_str_equal (command, "types") && args[0] == NULL)
    return cmd_types (proxy);
  if (g_str_equal (command, "watch") && args[0] == NULL)
    return cmd_watch (proxy);
  if (g_str_equal (command, "add"))
    return cmd_add (proxy, args);
  if (g_str_equal (command, "config"))
    return cmd_config (proxy, args);
  if (g_str_equal (command, "sync"))
    return cmd_sync (proxy, args);
  if (g_str_equal (command, "failed"))
    return cmd_failed (proxy, args);
  if (g_str_equal (command, "retry") || g_str_equal (command, "discard"))
    return cmd_failed_changes (proxy, command, args);
  if (g_str_equal (command, "remove") || g_str_equal (command, "restart") ||
      g_str_equal (command, "online") || g_str_equal (command, "offline"))
    return cmd_simple (proxy, command, args);
  return fail (EXIT_USAGE, "%s takes no arguments", command);
}

static int
cmd_help (GOptionContext *context,
          const char     *name)
{
  const Command *command;

  if (name == NULL)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_print ("%s", help);
      return EXIT_OK;
    }
  command = find_command (name);
  if (command == NULL)
    return fail (EXIT_USAGE, "unknown command: %s; see cairnctl help", name);
  g_print ("Usage: cairnctl %s%s%s\n\n%c%s.\n", command->name, *command->arguments ? " " : "",
           command->arguments, g_ascii_toupper (command->summary[0]), command->summary + 1);
  if (command->details != NULL)
    g_print ("\n%s\n", command->details);
  return EXIT_OK;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = build_summary ();
  const char *command;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print listings as JSON", NULL },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &opt_wait, "sync: wait until done, with progress", NULL },
    { "repair", 0, 0, G_OPTION_ARG_NONE, &opt_repair, "fsck: fix what is safe to fix", NULL },
    { "unset", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_unset, "config: remove KEY", "KEY" },
    { "store", 0, 0, G_OPTION_ARG_FILENAME, &opt_store,
      "fsck, vacuum, filter test, search, index: the store file (default: the service's, or "
      "$XDG_DATA_HOME/cairn/store.db)", "PATH" },
    { "count", 0, 0, G_OPTION_ARG_INT, &opt_count, "watch: exit after N events", "N" },
    { "output", 0, 0, G_OPTION_ARG_STRING, &opt_output, "search: messages or threads", "KIND" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "search: at most N results", "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &opt_offset, "search: skip N results", "N" },
    { "save", 0, 0, G_OPTION_ARG_STRING, &opt_save, "search: save as a saved search", "NAME" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version", NULL },
    G_OPTION_ENTRY_NULL
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("COMMAND [ARGUMENTS...] - control Cairn agents");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, exit_codes);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, "%s", error->message);
  if (opt_version)
    {
      g_print ("cairnctl %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }
  if (argc < 2)
    return fail (EXIT_USAGE, "no command; see cairnctl --help");
  command = argv[1];

  if (g_str_equal (command, "help") && argc <= 3)
    return cmd_help (context, argv[2]);

  if (g_str_equal (command, "start") && argc == 2)
    return cmd_start ();
  if (g_str_equal (command, "stop") && argc == 2)
    return cmd_stop ();
  if (g_str_equal (command, "restart") && argc == 2)
    {
      int status = cmd_stop ();

      return status != EXIT_OK ? status : cmd_start ();
    }
  if (g_str_equal (command, "fsck") && argc == 2)
    return cmd_fsck ();
  if (g_str_equal (command, "vacuum") && argc == 2)
    return cmd_vacuum ();
  if (g_str_equal (command, "filter"))
    return cmd_filter (argv + 2);
  if (g_str_equal (command, "search"))
    return cmd_search (argv + 2);
  if (g_str_equal (command, "index"))
    return cmd_index (argv + 2);
  if (g_strv_contains ((const char * const []) { "status", "types", "watch", "add", "config",
                                                  "sync", "remove", "restart", "online",
                                                  "offline", "failed", "retry", "discard",
                                                  NULL }, command))
    return run_service_command (command, argv + 2);
  return fail (EXIT_USAGE, "unknown command or arguments: %s; see cairnctl --help", command);
}
