/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

/* Asks the bus which process owns @name. */
static GPid
name_owner_pid (const char *address,
                const char *name)
{
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  guint32 pid = 0;

  connection = g_dbus_connection_new_for_address_sync (address, flags, NULL, NULL, &error);
  assert_no_error (error);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
  assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  ck_assert_uint_gt (pid, 0);
  return (GPid) pid;
}

/* A process is gone when it no longer exists or is a zombie nobody has
 * reaped yet (an orphan's new parent may be slow to). */
static gboolean
process_gone (GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  const char *end;

  if (kill (pid, 0) != 0 && errno == ESRCH)
    return TRUE;
  if (!g_file_get_contents (stat_path, &contents, NULL, NULL))
    return TRUE;
  /* "PID (COMMAND) STATE ...": the command may hold parentheses. */
  end = strrchr (contents, ')');
  return end != NULL && end[1] == ' ' && end[2] == 'Z';
}

static void
assert_gone_soon (GPid pid)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!process_gone (pid))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "process %d is still running", (int) pid);
      g_usleep (20 * 1000);
    }
}

static void
assert_under (const char *variable,
              const char *folder)
{
  const char *value = g_getenv (variable);

  ck_assert_ptr_nonnull (value);
  ck_assert_msg (g_str_has_prefix (value, folder), "%s=%s is not in %s", variable, value, folder);
}

START_TEST (test_start_and_stop)
{
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autofree char *path = NULL;
  g_autofree char *address = NULL;
  GError *error = NULL;
  struct stat info;
  GPid bus_pid;
  GPid keyring_pid;

  g_setenv ("HOME", "/home/before", TRUE);
  g_setenv ("XDG_CONFIG_HOME", "/config/before", TRUE);
  g_unsetenv ("XDG_CACHE_HOME");
  g_unsetenv ("XDG_RUNTIME_DIR");
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", TRUE);

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, &error);
  assert_no_error (error);
  path = g_strdup (cairn_test_environment_get_path (environment));
  address = g_strdup (cairn_test_environment_get_bus_address (environment));
  ck_assert (g_file_test (path, G_FILE_TEST_IS_DIR));

  for (const char * const *v = (const char * const []) { "HOME", "XDG_CONFIG_HOME",
                                                         "XDG_DATA_HOME", "XDG_CACHE_HOME",
                                                         "XDG_RUNTIME_DIR", NULL };
       *v != NULL; v++)
    assert_under (*v, path);
  ck_assert_int_eq (stat (g_getenv ("XDG_RUNTIME_DIR"), &info), 0);
  ck_assert_int_eq (info.st_mode & 0777, 0700);
  ck_assert_str_eq (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), address);
  ck_assert (g_str_has_prefix (address, "unix:path="));

  store = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
  ck_assert (g_str_has_prefix (cairn_test_environment_get_store_path (environment), path));
  ck_assert (g_file_test (cairn_test_environment_get_store_path (environment),
                          G_FILE_TEST_IS_REGULAR));
  g_clear_object (&store);

  ck_assert (cairn_test_environment_lock_secrets (environment, &error));
  assert_no_error (error);
  ck_assert (cairn_test_environment_unlock_secrets (environment, &error));
  assert_no_error (error);

  bus_pid = name_owner_pid (address, "org.freedesktop.DBus");
  keyring_pid = name_owner_pid (address, "org.freedesktop.secrets");

  cairn_test_environment_stop (environment);
  /* Stopped by PID and reaped: nothing is left of them at all. */
  ck_assert (kill (bus_pid, 0) != 0 && errno == ESRCH);
  ck_assert (kill (keyring_pid, 0) != 0 && errno == ESRCH);
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));
  ck_assert_str_eq (g_getenv ("HOME"), "/home/before");
  ck_assert_str_eq (g_getenv ("XDG_CONFIG_HOME"), "/config/before");
  ck_assert_ptr_null (g_getenv ("XDG_CACHE_HOME"));
  ck_assert_ptr_null (g_getenv ("XDG_RUNTIME_DIR"));
  ck_assert_str_eq (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), "unix:path=/nonexistent/bus");

  /* A second stop, and the last unref, do nothing more. */
  cairn_test_environment_stop (environment);
  ck_assert_str_eq (cairn_test_environment_get_path (environment), path);
}
END_TEST

START_TEST (test_daemons_die_with_process)
{
  int fds[2];
  pid_t child;
  char line[4096] = "";
  ssize_t length;
  int bus_pid = 0;
  int keyring_pid = 0;
  char path[4000] = "";
  const char *rm[] = { "rm", "-rf", path, NULL };

  /* A bare fork is safe here: no GLib thread has started in this test. */
  ck_assert_int_eq (pipe (fds), 0);
  child = fork ();
  if (child == 0)
    {
      g_autoptr(CairnTestEnvironment) environment = NULL;
      g_autofree char *report = NULL;
      const char *address;

      close (fds[0]);
      environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, NULL);
      if (environment == NULL)
        _exit (1);
      address = cairn_test_environment_get_bus_address (environment);
      report = g_strdup_printf ("%d %d %s\n",
                                (int) name_owner_pid (address, "org.freedesktop.DBus"),
                                (int) name_owner_pid (address, "org.freedesktop.secrets"),
                                cairn_test_environment_get_path (environment));
      if (write (fds[1], report, strlen (report)) < 0)
        _exit (1);
      pause ();
      _exit (0);
    }
  close (fds[1]);
  length = read (fds[0], line, sizeof line - 1);
  close (fds[0]);
  ck_assert_int_gt (length, 0);
  ck_assert_int_eq (sscanf (line, "%d %d %3999s", &bus_pid, &keyring_pid, path), 3);
  ck_assert (!process_gone (bus_pid));
  ck_assert (!process_gone (keyring_pid));

  /* Killed, the process cannot stop its daemons: the kernel does. */
  ck_assert_int_eq (kill (child, SIGKILL), 0);
  ck_assert_int_eq (waitpid (child, NULL, 0), child);
  assert_gone_soon (bus_pid);
  assert_gone_soon (keyring_pid);

  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}
END_TEST

START_TEST (test_bus_only)
{
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  assert_no_error (error);

  /* The process's own session bus is the private one. */
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  ck_assert (!g_dbus_connection_is_closed (bus));

  /* Stopping takes the bus away without taking the process with it. */
  cairn_test_environment_stop (environment);
  ck_assert (g_dbus_connection_is_closed (bus));
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "environment", test_start_and_stop },
    { "environment", test_daemons_die_with_process },
    { "environment", test_bus_only },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("environment", cases, G_N_ELEMENTS (cases),
                                                     NULL, NULL, 60));
}
