/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>

#include "cairn-test-environment.h"
#include "cairn-test-private.h"

/**
 * CairnTestEnvironment:
 *
 * A private world for one test: a temporary folder holding `HOME`, the
 * XDG base folders and a store file, and a private session bus, with an
 * optional Secret Service (gnome-keyring) on it.
 *
 * cairn_test_environment_new() creates the folder, points `HOME`,
 * `XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `XDG_CACHE_HOME`, `XDG_RUNTIME_DIR`
 * and `DBUS_SESSION_BUS_ADDRESS` at it and starts the daemons;
 * cairn_test_environment_stop(), or dropping the last reference, stops
 * them by PID, restores the variables and removes the folder. The daemons
 * die with the thread that created the environment even if the test
 * process is killed (`PR_SET_PDEATHSIG`), so create it from the main
 * thread. Their output goes to `log/` in the folder.
 *
 * Because it changes the environment of the process, create it before any
 * other thread runs and before anything asks GLib for the user folders:
 * g_get_user_config_dir() and its siblings, and g_bus_get(), remember what
 * they found the first time. One environment per test process (a Check
 * test in fork mode) is the intended use.
 *
 * Errors are %G_IO_ERROR (a daemon that exits early or does not answer in
 * time), %G_SPAWN_ERROR or %G_FILE_ERROR.
 *
 * Since: 0.1
 */

/* The keyring password; it protects nothing but a test's throwaway data. */
#define KEYRING_PASSWORD "cairn-test"
#define SECRETS_NAME "org.freedesktop.secrets"
#define SECRETS_PATH "/org/freedesktop/secrets"
#define SECRETS_INTERFACE "org.freedesktop.Secret.Service"
/* gnome-keyring's own interface, which takes a password without a prompt. */
#define KEYRING_INTERFACE "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
#define DEFAULT_COLLECTION_PATH "/org/freedesktop/secrets/aliases/default"
#define STARTUP_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define POLL_INTERVAL_US (20 * 1000)
#define STOP_GRACE_US (5 * G_USEC_PER_SEC)

static const char * const variables[] = {
  "HOME",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "XDG_CACHE_HOME",
  "XDG_RUNTIME_DIR",
  "DBUS_SESSION_BUS_ADDRESS",
};

struct _CairnTestEnvironment
{
  GObject parent_instance;

  char *path;
  char *store_path;
  char *bus_address;
  GPid bus_pid;
  GPid keyring_pid;
  /* The environment's own calls. */
  GDBusConnection *connection;
  /* The g_bus_get() connection of the process. */
  GDBusConnection *session_bus;
  /* The values before the environment changed them; NULL when unset. */
  char *saved[G_N_ELEMENTS (variables)];
  gboolean variables_changed;
  gboolean stopped;
};

G_DEFINE_FINAL_TYPE (CairnTestEnvironment, cairn_test_environment, G_TYPE_OBJECT)

static void
cairn_test_environment_dispose (GObject *object)
{
  cairn_test_environment_stop (CAIRN_TEST_ENVIRONMENT (object));

  G_OBJECT_CLASS (cairn_test_environment_parent_class)->dispose (object);
}

static void
cairn_test_environment_finalize (GObject *object)
{
  CairnTestEnvironment *self = CAIRN_TEST_ENVIRONMENT (object);

  g_free (self->path);
  g_free (self->store_path);
  g_free (self->bus_address);

  G_OBJECT_CLASS (cairn_test_environment_parent_class)->finalize (object);
}

static void
cairn_test_environment_class_init (CairnTestEnvironmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_test_environment_dispose;
  object_class->finalize = cairn_test_environment_finalize;
}

static void
cairn_test_environment_init (CairnTestEnvironment *self)
{
}

/* Processes */

static int
open_log (CairnTestEnvironment  *self,
          const char            *program,
          GError               **error)
{
  g_autofree char *name = g_strconcat (program, ".log", NULL);
  g_autofree char *log_path = g_build_filename (self->path, "log", name, NULL);
  int fd = g_open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", log_path, g_strerror (saved_errno));
    }
  return fd;
}

/* Starts @argv with its output in log/PROGRAM.log and a pipe to its
 * standard input or from its standard output, as asked. */
static gboolean
spawn_daemon (CairnTestEnvironment  *self,
              const char * const    *argv,
              int                   *stdin_pipe,
              int                   *stdout_pipe,
              GPid                  *pid,
              GError               **error)
{
  int log_fd = open_log (self, argv[0], error);
  gboolean spawned;

  if (log_fd < 0)
    return FALSE;
  spawned = g_spawn_async_with_pipes_and_fds (NULL, argv, NULL,
                                              G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                              G_SPAWN_CLOEXEC_PIPES,
                                              _cairn_test_die_with_parent,
                                              GINT_TO_POINTER (getpid ()),
                                              -1, stdout_pipe != NULL ? -1 : log_fd, log_fd,
                                              NULL, NULL, 0, pid, stdin_pipe, stdout_pipe, NULL,
                                              error);
  close (log_fd);
  return spawned;
}

/* Reaps @pid if it has exited and clears it, so that it is never signalled
 * after the kernel could reuse it. */
static gboolean
reap_if_exited (GPid *pid)
{
  if (*pid == 0)
    return TRUE;
  if (waitpid (*pid, NULL, WNOHANG) == 0)
    return FALSE;
  g_spawn_close_pid (*pid);
  *pid = 0;
  return TRUE;
}

/* SIGTERM, a grace period, then SIGKILL. */
static void
stop_daemon (GPid *pid)
{
  gint64 deadline = g_get_monotonic_time () + STOP_GRACE_US;

  if (*pid == 0)
    return;
  kill (*pid, SIGTERM);
  while (!reap_if_exited (pid))
    {
      if (g_get_monotonic_time () > deadline)
        {
          kill (*pid, SIGKILL);
          waitpid (*pid, NULL, 0);
          g_spawn_close_pid (*pid);
          *pid = 0;
          return;
        }
      g_usleep (POLL_INTERVAL_US);
    }
}

static gboolean
start_bus (CairnTestEnvironment  *self,
           GError               **error)
{
  g_autofree char *socket = g_build_filename (self->path, "bus", NULL);
  g_autofree char *listen = g_strconcat ("--address=unix:path=", socket, NULL);
  const char * const argv[] = {
    "dbus-daemon", "--session", "--nofork", "--print-address", listen, NULL,
  };
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autofree char *address = NULL;
  int out;

  if (!spawn_daemon (self, argv, NULL, &out, &self->bus_pid, error))
    return FALSE;

  /* The daemon prints its address once it listens. */
  stream = g_unix_input_stream_new (out, TRUE);
  lines = g_data_input_stream_new (stream);
  address = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, error);
  if (address == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "dbus-daemon exited without an address; see %s/log/dbus-daemon.log",
                     self->path);
      return FALSE;
    }
  self->bus_address = g_steal_pointer (&address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", self->bus_address, TRUE);

  self->connection =
    g_dbus_connection_new_for_address_sync (self->bus_address,
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, error);
  if (self->connection == NULL)
    return FALSE;

  /* Everything in this process that uses the session bus (the store's
   * notifications, libsecret) shares this one; by default it would kill
   * the process when stop() takes the bus away. */
  self->session_bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  if (self->session_bus == NULL)
    return FALSE;
  g_dbus_connection_set_exit_on_close (self->session_bus, FALSE);
  if (g_strcmp0 (g_dbus_connection_get_guid (self->session_bus),
                 g_dbus_connection_get_guid (self->connection)) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "This process connected to another session bus before the test "
                   "environment was created");
      return FALSE;
    }
  return TRUE;
}

/* Calls the Secret Service; never starts one through D-Bus activation,
 * which would run a second, locked daemon. */
static GVariant *
call_secrets (CairnTestEnvironment  *self,
              const char            *path,
              const char            *interface,
              const char            *method,
              GVariant              *parameters,
              const char            *reply_type,
              GError               **error)
{
  return g_dbus_connection_call_sync (self->connection, SECRETS_NAME, path, interface, method,
                                      parameters, G_VARIANT_TYPE (reply_type),
                                      G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, error);
}

static gboolean
default_collection_unlocked (CairnTestEnvironment *self)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) locked = NULL;

  reply = call_secrets (self, DEFAULT_COLLECTION_PATH, "org.freedesktop.DBus.Properties", "Get",
                        g_variant_new ("(ss)", "org.freedesktop.Secret.Collection", "Locked"),
                        "(v)", NULL);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(v)", &locked);
  return g_variant_is_of_type (locked, G_VARIANT_TYPE_BOOLEAN) && !g_variant_get_boolean (locked);
}

static gboolean
start_keyring (CairnTestEnvironment  *self,
               GError               **error)
{
  const char * const argv[] = {
    "gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets", NULL,
  };
  gint64 deadline;
  int in;
  gboolean written;

  if (!spawn_daemon (self, argv, &in, NULL, &self->keyring_pid, error))
    return FALSE;

  /* --unlock reads the password up to the end of its standard input, then
   * creates the login keyring with it or unlocks the existing one. */
  written = write (in, KEYRING_PASSWORD, strlen (KEYRING_PASSWORD)) ==
            (gssize) strlen (KEYRING_PASSWORD);
  close (in);
  if (!written)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot pass the password to gnome-keyring-daemon; see %s/log/%s.log",
                   self->path, argv[0]);
      return FALSE;
    }

  /* Clients must not call before the collection is unlocked: until the
   * daemon owns its name, a call would activate another one. */
  deadline = g_get_monotonic_time () + STARTUP_TIMEOUT_US;
  while (!default_collection_unlocked (self))
    {
      if (reap_if_exited (&self->keyring_pid))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "gnome-keyring-daemon exited; see %s/log/%s.log", self->path, argv[0]);
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "gnome-keyring-daemon did not unlock its default collection in time; "
                       "see %s/log/%s.log", self->path, argv[0]);
          return FALSE;
        }
      g_usleep (POLL_INTERVAL_US);
    }
  return TRUE;
}

/* Folders and variables */

static gboolean
make_folder (const char  *path,
             int          mode,
             GError     **error)
{
  if (g_mkdir_with_parents (path, mode) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_folders (CairnTestEnvironment  *self,
              GError               **error)
{
  /* Same order as variables[], up to XDG_RUNTIME_DIR. */
  static const char * const folders[] = { "home", "config", "data", "cache", "runtime" };
  g_autofree char *log = g_build_filename (self->path, "log", NULL);
  g_autofree char *store_folder = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *folder = g_build_filename (self->path, folders[i], NULL);

      /* XDG_RUNTIME_DIR must be 0700 or clients refuse it. */
      if (!make_folder (folder, 0700, error))
        return FALSE;
      g_setenv (variables[i], folder, TRUE);
    }

  self->store_path = g_build_filename (self->path, "data", "cairn", "store.db", NULL);
  store_folder = g_path_get_dirname (self->store_path);
  return make_folder (log, 0700, error) && make_folder (store_folder, 0700, error);
}

static void
save_variables (CairnTestEnvironment *self)
{
  for (gsize i = 0; i < G_N_ELEMENTS (variables); i++)
    self->saved[i] = g_strdup (g_getenv (variables[i]));
  self->variables_changed = TRUE;
}

static void
restore_variables (CairnTestEnvironment *self)
{
  if (!self->variables_changed)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (variables); i++)
    {
      if (self->saved[i] != NULL)
        g_setenv (variables[i], self->saved[i], TRUE);
      else
        g_unsetenv (variables[i]);
      g_clear_pointer (&self->saved[i], g_free);
    }
  self->variables_changed = FALSE;
}

/**
 * cairn_test_environment_new:
 * @flags: what to start besides the bus
 * @error: return location for an error
 *
 * Creates a temporary folder, points `HOME`, `XDG_CONFIG_HOME`,
 * `XDG_DATA_HOME`, `XDG_CACHE_HOME` and `XDG_RUNTIME_DIR` at folders in
 * it and starts a private `dbus-daemon` listening on a socket in it, with
 * `DBUS_SESSION_BUS_ADDRESS` pointing at it. With
 * %CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE it also starts
 * `gnome-keyring-daemon` on that bus and returns once its default
 * collection is unlocked.
 *
 * On failure everything started is stopped again and the environment is
 * as it was.
 *
 * Returns: (transfer full): the environment, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnTestEnvironment *
cairn_test_environment_new (CairnTestEnvironmentFlags   flags,
                            GError                    **error)
{
  g_autoptr(CairnTestEnvironment) self = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CAIRN_TYPE_TEST_ENVIRONMENT, NULL);
  self->path = g_dir_make_tmp ("cairn-test-XXXXXX", error);
  if (self->path == NULL)
    return NULL;

  save_variables (self);
  if (!make_folders (self, error) || !start_bus (self, error))
    return NULL;
  if ((flags & CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE) != 0 && !start_keyring (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * cairn_test_environment_get_path:
 * @self: a #CairnTestEnvironment
 *
 * Gets the environment's temporary folder.
 *
 * Returns: (type filename): the temporary folder
 *
 * Since: 0.1
 */
const char *
cairn_test_environment_get_path (CairnTestEnvironment *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), NULL);

  return self->path;
}

/**
 * cairn_test_environment_get_store_path:
 * @self: a #CairnTestEnvironment
 *
 * Gets the store file the environment's programs use by default.
 *
 * Returns: (type filename): the store file the environment's programs use
 *   by default, `$XDG_DATA_HOME/cairn/store.db`; its folder exists, the
 *   file not until a store is opened
 *
 * Since: 0.1
 */
const char *
cairn_test_environment_get_store_path (CairnTestEnvironment *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), NULL);

  return self->store_path;
}

/**
 * cairn_test_environment_get_bus_address:
 * @self: a #CairnTestEnvironment
 *
 * Gets the address of the environment's private session bus.
 *
 * Returns: the address of the private session bus
 *
 * Since: 0.1
 */
const char *
cairn_test_environment_get_bus_address (CairnTestEnvironment *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), NULL);

  return self->bus_address;
}

/**
 * cairn_test_environment_open_store:
 * @self: a #CairnTestEnvironment
 * @error: return location for an error
 *
 * Opens (and creates) the store at
 * cairn_test_environment_get_store_path().
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnStore *
cairn_test_environment_open_store (CairnTestEnvironment  *self,
                                   GError               **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), NULL);
  g_return_val_if_fail (!self->stopped, NULL);

  return cairn_store_open (self->store_path, NULL, error);
}

static char *
read_default_alias (CairnTestEnvironment  *self,
                    GError               **error)
{
  g_autoptr(GVariant) reply = NULL;
  char *collection;

  reply = call_secrets (self, SECRETS_PATH, SECRETS_INTERFACE, "ReadAlias",
                        g_variant_new ("(s)", "default"), "(o)", error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(o)", &collection);
  return collection;
}

/**
 * cairn_test_environment_lock_secrets:
 * @self: a #CairnTestEnvironment
 * @error: return location for an error
 *
 * Locks the default collection of the Secret Service started with
 * %CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, through its D-Bus `Lock`
 * method, so that tests can see what clients do with a locked keyring.
 *
 * Returns: %TRUE if the collection is locked
 *
 * Since: 0.1
 */
gboolean
cairn_test_environment_lock_secrets (CairnTestEnvironment  *self,
                                     GError               **error)
{
  g_autofree char *collection = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *objects[2] = { NULL, NULL };

  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), FALSE);
  g_return_val_if_fail (self->keyring_pid != 0, FALSE);

  collection = read_default_alias (self, error);
  if (collection == NULL)
    return FALSE;
  objects[0] = collection;
  reply = call_secrets (self, SECRETS_PATH, SECRETS_INTERFACE, "Lock",
                        g_variant_new ("(^ao)", objects), "(aoo)", error);
  if (reply == NULL)
    return FALSE;
  if (default_collection_unlocked (self))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "gnome-keyring-daemon did not lock %s without a prompt", collection);
      return FALSE;
    }
  return TRUE;
}

/**
 * cairn_test_environment_unlock_secrets:
 * @self: a #CairnTestEnvironment
 * @error: return location for an error
 *
 * Unlocks the default collection again after
 * cairn_test_environment_lock_secrets().
 *
 * The standard `Unlock` method of the Secret Service asks for the
 * password through a prompt, which cannot be shown without a display; this
 * passes the password through gnome-keyring's own
 * `UnlockWithMasterPassword` method instead.
 *
 * Returns: %TRUE if the collection is unlocked
 *
 * Since: 0.1
 */
gboolean
cairn_test_environment_unlock_secrets (CairnTestEnvironment  *self,
                                       GError               **error)
{
  g_autofree char *collection = NULL;
  g_autofree char *session = NULL;
  g_autoptr(GVariant) opened = NULL;
  g_autoptr(GVariant) output = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) closed = NULL;
  GVariant *password;

  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self), FALSE);
  g_return_val_if_fail (self->keyring_pid != 0, FALSE);

  collection = read_default_alias (self, error);
  if (collection == NULL)
    return FALSE;

  /* A "plain" session: the password crosses the private bus unencrypted. */
  opened = call_secrets (self, SECRETS_PATH, SECRETS_INTERFACE, "OpenSession",
                         g_variant_new ("(sv)", "plain", g_variant_new_string ("")), "(vo)",
                         error);
  if (opened == NULL)
    return FALSE;
  g_variant_get (opened, "(vo)", &output, &session);

  password = g_variant_new ("(o@ay@ays)", session,
                            g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "", 0, 1),
                            g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, KEYRING_PASSWORD,
                                                       strlen (KEYRING_PASSWORD), 1),
                            "text/plain");
  reply = call_secrets (self, SECRETS_PATH, KEYRING_INTERFACE, "UnlockWithMasterPassword",
                        g_variant_new ("(o@(oayays))", collection, password), "()", error);
  closed = call_secrets (self, session, "org.freedesktop.Secret.Session", "Close", NULL, "()",
                         NULL);
  return reply != NULL;
}

/**
 * cairn_test_environment_stop:
 * @self: a #CairnTestEnvironment
 *
 * Stops the daemons (SIGTERM, then SIGKILL after a few seconds), restores
 * the environment variables and removes the temporary folder with all it
 * holds. Dropping the last reference does the same; calling it again does
 * nothing.
 *
 * Since: 0.1
 */
void
cairn_test_environment_stop (CairnTestEnvironment *self)
{
  g_return_if_fail (CAIRN_IS_TEST_ENVIRONMENT (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;

  if (self->session_bus != NULL)
    g_dbus_connection_close_sync (self->session_bus, NULL, NULL);
  g_clear_object (&self->session_bus);
  if (self->connection != NULL)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  stop_daemon (&self->keyring_pid);
  stop_daemon (&self->bus_pid);
  restore_variables (self);
  if (self->path != NULL)
    _cairn_test_remove_tree (self->path);
}
