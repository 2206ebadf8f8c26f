/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control-fixture.h"
#include "test-bus.h"

#define WAIT_STEP_US (10 * 1000)
#define WAIT_STEPS 1000

char *fixture_dir;
static GPid bus_pid;
static GDBusConnection *connection;

static GDBusConnection *bus (void);

char *
fixture_path (const char *first,
              const char *second)
{
  return g_build_filename (fixture_dir, first, second, NULL);
}

void
fixture_write_file (const char *path,
                    const char *contents)
{
  g_autofree char *parent = g_path_get_dirname (path);
  GError *error = NULL;

  ck_assert_int_eq (g_mkdir_with_parents (parent, 0700), 0);
  ck_assert_msg (g_file_set_contents (path, contents, -1, &error), "%s",
                 error ? error->message : "");
}

/* A bus whose service folder has cairn-control, so that a call to
 * org.cairn.Control1 activates it. */
static void
start_bus (void)
{
  g_autofree char *config = fixture_path ("bus.conf", NULL);
  g_autofree char *services = fixture_path ("services", NULL);
  g_autofree char *service = fixture_path ("services", "org.cairn.Control1.service");
  g_autofree char *contents = NULL;
  g_autofree char *service_contents = NULL;

  contents = g_strdup_printf (
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:dir=%s</listen>\n"
    "  <servicedir>%s</servicedir>\n"
    "  <policy context=\"default\">\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "</busconfig>\n", fixture_dir, services);
  fixture_write_file (config, contents);
  service_contents = g_strdup_printf ("[D-BUS Service]\nName=org.cairn.Control1\n"
                                      "Exec=%s --backoff-ms=50 --grace-ms=2000\n", CONTROL);
  fixture_write_file (service, service_contents);

  bus_pid = test_bus_start_with_config (config);
}

void
control_fixture_setup (void)
{
  GError *error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *data = NULL;
  g_autofree char *state = NULL;
  g_autofree char *agents = NULL;
  g_autofree char *type = NULL;

  fixture_dir = g_dir_make_tmp ("cairn-test-control-XXXXXX", &error);
  ck_assert_ptr_nonnull (fixture_dir);
  config = fixture_path ("config", NULL);
  data = fixture_path ("share", NULL);
  state = fixture_path ("state", NULL);
  agents = fixture_path ("agents", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_DATA_DIRS", data, TRUE);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  g_setenv ("CAIRN_CONTROL", CONTROL, TRUE);

  /* The logging agent's type, its module given by absolute path so that
   * more types can sit beside it. */
  type = g_strdup_printf ("[Cairn Agent]\nName=Logging agent\nDescription=Logs changes\n"
                          "Module=%s/libcairn-logging-agent.so\nCapabilities=NoConfig;\n",
                          LOGGING_AGENT_DIR);
  g_free (agents);
  agents = fixture_path ("agents", "logging.agent");
  fixture_write_file (agents, type);

  /* Agents orphaned by a killed cairn-control come to this process, so
   * that it can see them end and reap them. */
  ck_assert_int_eq (prctl (PR_SET_CHILD_SUBREAPER, 1), 0);
  start_bus ();
}

void
control_fixture_teardown (void)
{
  const char *argv[] = { "rm", "-rf", fixture_dir, NULL };

  /* An activated service is the bus's child: stop it through the bus. */
  if (control_has_name ())
    {
      g_autoptr(GVariant) reply = control_call ("Shutdown", NULL, NULL, NULL);

      ck_assert_ptr_nonnull (reply);
      for (guint i = 0; i < WAIT_STEPS && control_has_name (); i++)
        g_usleep (WAIT_STEP_US);
    }
  g_clear_object (&connection);
  test_bus_stop (bus_pid);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_clear_pointer (&fixture_dir, g_free);
}

static GDBusConnection *
bus (void)
{
  GError *error = NULL;

  if (connection == NULL)
    connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  ck_assert_msg (connection != NULL, "bus: %s", error ? error->message : "");
  return connection;
}

gboolean
control_has_name (void)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus (), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", "org.cairn.Control1"),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Calls without activating the service: a test that wants activation
 * calls g_dbus_connection_call_sync itself. */
GVariant *
control_call (const char  *method,
              GVariant    *parameters,
              const char  *reply_type,
              GError     **error)
{
  return g_dbus_connection_call_sync (bus (), "org.cairn.Control1", "/org/cairn/Control1",
                                      "org.cairn.Control1", method, parameters,
                                      reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                      G_DBUS_CALL_FLAGS_NO_AUTO_START, 30000, NULL, error);
}

/* Starts cairn-control with short restart delays and @option if not
 * NULL, and returns once it owns its name, that is once it is ready. */
GPid
control_start (const char *option)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GError *error = NULL;
  GPid pid;

  g_ptr_array_add (argv, (char *) CONTROL);
  g_ptr_array_add (argv, (char *) "--backoff-ms=50");
  g_ptr_array_add (argv, (char *) "--grace-ms=2000");
  if (option != NULL)
    g_ptr_array_add (argv, (char *) option);
  g_ptr_array_add (argv, NULL);

  ck_assert_msg (g_spawn_async (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, &error), "spawn: %s",
                 error ? error->message : "");
  for (guint i = 0; i < WAIT_STEPS; i++)
    {
      if (control_has_name ())
        return pid;
      ck_assert_int_eq (waitpid (pid, NULL, WNOHANG), 0);
      g_usleep (WAIT_STEP_US);
    }
  ck_abort_msg ("cairn-control did not become ready");
  return 0;
}

int
control_wait_exit (GPid pid)
{
  int status = 0;

  for (guint i = 0; i < WAIT_STEPS; i++)
    {
      pid_t done = waitpid (pid, &status, WNOHANG);

      ck_assert_int_ne (done, -1);
      if (done == pid)
        {
          ck_assert_msg (WIFEXITED (status), "cairn-control died: %d", status);
          return WEXITSTATUS (status);
        }
      g_usleep (WAIT_STEP_US);
    }
  kill (pid, SIGKILL);
  ck_abort_msg ("cairn-control did not exit");
  return -1;
}

/* The row of ListInstances for @id, or NULL. */
GVariant *
control_find_instance (const char *id)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) list = NULL;
  GError *error = NULL;

  reply = control_call ("ListInstances", NULL, "(a(ssusuba{sv}))", &error);
  ck_assert_msg (reply != NULL, "ListInstances: %s", error ? error->message : "");
  list = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr(GVariant) row = g_variant_get_child_value (list, i);
      const char *row_id;

      g_variant_get_child (row, 0, "&s", &row_id);
      if (g_str_equal (row_id, id))
        return g_steal_pointer (&row);
    }
  return NULL;
}

/* Polls @condition, running the main context in between, for up to ten
 * seconds. */
gboolean
fixture_wait_until (gboolean (*condition) (gpointer data),
                    gpointer   data)
{
  for (guint i = 0; i < WAIT_STEPS; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (condition (data))
        return TRUE;
      g_usleep (WAIT_STEP_US);
    }
  return FALSE;
}

/* Gone means no process and no zombie: a child of this process (the
 * subreaper) is reaped first. */
gboolean
fixture_process_gone (GPid pid)
{
  waitpid (pid, NULL, WNOHANG);
  return kill (pid, 0) == -1 && errno == ESRCH;
}

char *
fixture_create_logging (const char *log_file)
{
  g_auto(GVariantBuilder) config = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  char *id;

  if (log_file != NULL)
    g_variant_builder_add (&config, "{sv}", "log-file", g_variant_new_string (log_file));
  reply = control_call ("CreateInstance", g_variant_new ("(sa{sv})", "logging", &config), "(s)",
                        &error);
  ck_assert_msg (reply != NULL, "CreateInstance: %s", error ? error->message : "");
  g_variant_get (reply, "(s)", &id);
  return id;
}
