/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <signal.h>
#include <sys/wait.h>

#include "test-bus.h"

/* Starts a dbus-daemon for this test and its children, with the session
 * configuration or the one in @config_file, and points
 * DBUS_SESSION_BUS_ADDRESS at it. */
GPid
test_bus_start_with_config (const char *config_file)
{
  g_autofree char *config = config_file ? g_strconcat ("--config-file=", config_file, NULL)
                                        : g_strdup ("--session");
  const char *argv[] = { "dbus-daemon", config, "--nofork", "--print-address", NULL };
  g_autoptr(GIOChannel) channel = NULL;
  g_autofree char *address = NULL;
  GError *error = NULL;
  GPid pid;
  int out;

  ck_assert_msg (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                           G_SPAWN_STDERR_TO_DEV_NULL,
                                           NULL, NULL, &pid, NULL, &out, NULL, &error),
                 "dbus-daemon: %s", error ? error->message : "");
  channel = g_io_channel_unix_new (out);
  g_io_channel_set_close_on_unref (channel, TRUE);
  ck_assert_int_eq (g_io_channel_read_line (channel, &address, NULL, NULL, &error),
                    G_IO_STATUS_NORMAL);
  g_strchomp (address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  return pid;
}

GPid
test_bus_start (void)
{
  return test_bus_start_with_config (NULL);
}

void
test_bus_stop (GPid pid)
{
  kill (pid, SIGTERM);
  waitpid (pid, NULL, 0);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
}
