/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the test kit's classes share: polled waits that keep the main
 * context running, D-Bus calls made the same way, processes, and the
 * removal of a folder with what it holds. */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

#define POLL_INTERVAL_MS 10

static gboolean
tick_done (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default main context until @condition holds,
 * fails or @timeout_ms passes; polled, since what it waits on has no
 * signal of its own. */
gboolean
_cairn_test_wait_for (CairnTestCondition   condition,
                      gpointer             data,
                      guint                timeout_ms,
                      const char          *what,
                      GError             **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GMainContext *context = g_main_context_get_thread_default ();

  for (;;)
    {
      g_autoptr(GSource) tick = NULL;
      GError *local_error = NULL;

      if (condition (data, &local_error))
        return TRUE;
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out waiting for %s", what);
          return FALSE;
        }
      /* Wakes the iteration below even when nothing else happens. */
      tick = g_timeout_source_new (POLL_INTERVAL_MS);
      g_source_set_callback (tick, tick_done, NULL, NULL);
      g_source_attach (tick, context);
      g_main_context_iteration (context, TRUE);
      g_source_destroy (tick);
    }
}

typedef struct
{
  GVariant *reply;
  GError *error;
  gboolean done;
} Call;

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Call *call = user_data;

  call->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &call->error);
  call->done = TRUE;
}

#define CALL_TIMEOUT_MS (120 * 1000)

/* Calls without auto-start, iterating the thread-default main context
 * meanwhile, so that a resource running in this process can answer. */
GVariant *
_cairn_test_call_sync (GDBusConnection     *bus,
                       const char          *bus_name,
                       const char          *object_path,
                       const char          *interface_name,
                       const char          *method,
                       GVariant            *parameters,
                       const GVariantType  *reply_type,
                       GError             **error)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Call call = { NULL, NULL, FALSE };

  g_dbus_connection_call (bus, bus_name, object_path, interface_name, method, parameters,
                          reply_type, G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS, NULL,
                          call_done, &call);
  while (!call.done)
    g_main_context_iteration (context, TRUE);
  if (call.error != NULL)
    g_propagate_error (error, call.error);
  return call.reply;
}

gboolean
_cairn_test_name_has_owner (GDBusConnection  *bus,
                            const char       *bus_name,
                            GError          **error)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", bus_name), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Gone means no process, or a zombie: it holds no lock, file or bus
 * name any more. A child of this process (a subreaper adopts orphans) is
 * reaped first; for any other, waitpid() fails harmlessly. */
gboolean
_cairn_test_process_gone (GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *end;

  waitpid (pid, NULL, WNOHANG);
  if (kill (pid, 0) == -1 && errno == ESRCH)
    return TRUE;
  /* The state follows the command name, which ends with the last ')'. */
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;
  end = strrchr (stat, ')');
  return end != NULL && (end[2] == 'Z' || end[2] == 'X');
}

/* Runs in the child between fork and exec: only async-signal-safe calls.
 * The child dies with the test, even when the test is killed. */
void
_cairn_test_die_with_parent (gpointer parent_pid)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have died before prctl() took effect. */
  if (getppid () != GPOINTER_TO_INT (parent_pid))
    _exit (1);
}

static int
remove_entry (const char        *path,
              const struct stat *info,
              int                type,
              struct FTW        *ftw)
{
  /* Go on after a failure: remove as much as possible. */
  remove (path);
  return 0;
}

/* Removes @path and everything below it, links not followed; returns
 * whether it is gone. */
gboolean
_cairn_test_remove_tree (const char *path)
{
  nftw (path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return !g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);
}
