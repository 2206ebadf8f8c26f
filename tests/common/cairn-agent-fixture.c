/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-agent-fixture.h"

#define START_TIMEOUT_US (60 * G_USEC_PER_SEC)

static gboolean
link_file (const char  *target,
           const char  *link,
           GError     **error)
{
  int saved_errno;

  if (symlink (target, link) == 0)
    return TRUE;
  saved_errno = errno;
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "Cannot link %s to %s: %s", link, target, g_strerror (saved_errno));
  return FALSE;
}

/* Links the .agent file and the module of a type built in @build_dir
 * into the folder @types, which CAIRN_AGENTS_DIR names: a bare Module=
 * is found beside its .agent file there. */
gboolean
cairn_agent_fixture_link_type (const char  *types,
                               const char  *build_dir,
                               const char  *agent_file,
                               const char  *module,
                               GError     **error)
{
  g_autofree char *agent_target = g_build_filename (build_dir, agent_file, NULL);
  g_autofree char *agent_link = g_build_filename (types, agent_file, NULL);
  g_autofree char *module_target = g_build_filename (build_dir, module, NULL);
  g_autofree char *module_link = g_build_filename (types, module, NULL);

  if (g_mkdir_with_parents (types, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", types, g_strerror (saved_errno));
      return FALSE;
    }
  return link_file (agent_target, agent_link, error) &&
         link_file (module_target, module_link, error);
}

/* Writes an instance's configuration file where the host reads it. */
gboolean
cairn_agent_fixture_write_config (const char  *instance,
                                  const char  *contents,
                                  GError     **error)
{
  g_autofree char *path = cairn_agent_build_config_path (instance);
  g_autofree char *folder = g_path_get_dirname (path);

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", folder, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents (path, contents, -1, error);
}

/* Starts a host for @instance and waits until it owns its bus name,
 * which it does once its recorder exists. The main context is iterated
 * meanwhile, so that services of the caller's answer the agent. */
GPid
cairn_agent_fixture_start_host (const char  *host,
                                const char  *instance,
                                const char  *store_path,
                                GError     **error)
{
  const char *argv[] = { host, "--instance", instance, "--store", store_path, NULL };
  g_autofree char *name = g_strconcat ("org.cairn.Agent.", instance, NULL);
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  gint64 start = g_get_monotonic_time ();
  GPid pid;

  if (bus == NULL ||
      !g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                      error))
    return 0;
  while (g_get_monotonic_time () - start < START_TIMEOUT_US)
    {
      g_autoptr(GVariant) reply = NULL;
      gboolean has_owner = FALSE;

      reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner",
                                           g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
      if (reply == NULL)
        break;
      g_variant_get (reply, "(b)", &has_owner);
      if (has_owner)
        return pid;
      if (waitpid (pid, NULL, WNOHANG) == pid)
        {
          g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "The host of %s exited",
                       instance);
          g_spawn_close_pid (pid);
          return 0;
        }
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  if (error != NULL && *error == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not appear on the bus", name);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  g_spawn_close_pid (pid);
  return 0;
}

/* Sends @signal to a host and reaps it. */
void
cairn_agent_fixture_stop_host (GPid pid,
                               int  signal)
{
  kill (pid, signal);
  waitpid (pid, NULL, 0);
  g_spawn_close_pid (pid);
}

/* Waits until the indexer's index holds exactly what the store holds,
 * iterating the main context meanwhile; FALSE with the last difference
 * after @timeout_ms. */
gboolean
cairn_agent_fixture_wait_indexed (CairnSearch  *search,
                                  guint         timeout_ms,
                                  GError      **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr(GError) last = NULL;

  while (!cairn_search_check_sync (search, NULL, &last))
    {
      if (g_get_monotonic_time () >= deadline)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&last), "Index never current: ");
          return FALSE;
        }
      g_clear_error (&last);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (20 * 1000);
    }
  return TRUE;
}
