/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestControl:
 *
 * Runs the control service, `cairn-control`, inside a
 * #CairnTestEnvironment as a session would, and ends it the two ways a
 * session's service ends: cleanly with SIGTERM (cairn_test_control_stop())
 * or with SIGKILL (cairn_test_control_kill()). Both return once the
 * service's agents are gone too, so that a service started again finds
 * their bus names free.
 *
 * The program is the one named by `CAIRN_CONTROL`, else the installed
 * one. The test starts it itself rather than through D-Bus activation,
 * so that it holds its process: with `--store` set to the environment's
 * store, the options given to cairn_test_control_new(), `XDG_STATE_HOME`
 * set to the environment's `state/` folder (the agents' output goes to
 * `state/cairn/log/ID.log`), its own output in `log/cairn-control.log`,
 * and `PR_SET_PDEATHSIG`, so that it dies with the test and its agents
 * with it. It finds agent types and the agent host as in a session
 * (`CAIRN_AGENTS_DIR`, `CAIRN_AGENT_HOST`) and keeps instances in the
 * environment's `config/cairn/`, where a service started again finds
 * them.
 *
 * A #CairnTestResource made with cairn_test_resource_new_for_control()
 * runs a resource under it.
 *
 * Since: 0.1
 */

#define CONTROL_NAME "org.cairn.Control1"
#define CONTROL_PATH "/org/cairn/Control1"
#define AGENT_NAME_PREFIX "org.cairn.Agent."
#define START_TIMEOUT_MS (10 * 1000)
#define STOP_TIMEOUT_MS (30 * 1000)

struct _CairnTestControl
{
  GObject parent_instance;

  CairnTestEnvironment *environment;
  GStrv options;
  GDBusConnection *bus;
  GPid pid;
  int status;             /* the wait status of the last exit */
};

G_DEFINE_FINAL_TYPE (CairnTestControl, cairn_test_control, G_TYPE_OBJECT)

static void
cairn_test_control_dispose (GObject *object)
{
  CairnTestControl *self = CAIRN_TEST_CONTROL (object);
  g_autoptr(GError) error = NULL;

  if (!cairn_test_control_stop (self, &error))
    g_warning ("Cannot stop cairn-control: %s", error->message);
  g_clear_object (&self->bus);
  g_clear_object (&self->environment);

  G_OBJECT_CLASS (cairn_test_control_parent_class)->dispose (object);
}

static void
cairn_test_control_finalize (GObject *object)
{
  CairnTestControl *self = CAIRN_TEST_CONTROL (object);

  g_strfreev (self->options);

  G_OBJECT_CLASS (cairn_test_control_parent_class)->finalize (object);
}

static void
cairn_test_control_class_init (CairnTestControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_test_control_dispose;
  object_class->finalize = cairn_test_control_finalize;
}

static void
cairn_test_control_init (CairnTestControl *self)
{
}

/**
 * cairn_test_control_new:
 * @environment: the environment to run in
 * @options: (nullable) (array zero-terminated=1): more options for
 *   `cairn-control`, such as `--backoff-ms=50`
 * @error: return location for an error
 *
 * Prepares the control service of @environment. Nothing runs until
 * cairn_test_control_start().
 *
 * Returns: (transfer full): the control service, or %NULL with @error set
 *   if the environment's bus cannot be reached
 *
 * Since: 0.1
 */
CairnTestControl *
cairn_test_control_new (CairnTestEnvironment  *environment,
                        const char * const    *options,
                        GError               **error)
{
  g_autoptr(CairnTestControl) self = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (environment), NULL);

  self = g_object_new (CAIRN_TYPE_TEST_CONTROL, NULL);
  self->environment = g_object_ref (environment);
  self->options = g_strdupv ((char **) options);
  self->bus =
    g_dbus_connection_new_for_address_sync (cairn_test_environment_get_bus_address (environment),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, error);
  if (self->bus == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cairn_test_control_get_environment:
 * @self: a #CairnTestControl
 *
 * Gets the test environment the control service runs in.
 *
 * Returns: (transfer none): the environment it runs in
 *
 * Since: 0.1
 */
CairnTestEnvironment *
cairn_test_control_get_environment (CairnTestControl *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), NULL);

  return self->environment;
}

/* Reaps the service if it has exited, keeping its wait status. */
static gboolean
reap_if_exited (CairnTestControl *self)
{
  if (self->pid == 0)
    return TRUE;
  if (waitpid (self->pid, &self->status, WNOHANG) == 0)
    return FALSE;
  g_spawn_close_pid (self->pid);
  self->pid = 0;
  return TRUE;
}

/**
 * cairn_test_control_is_running:
 * @self: a #CairnTestControl
 *
 * Checks whether the control service's process runs.
 *
 * Returns: whether the service's process runs
 *
 * Since: 0.1
 */
gboolean
cairn_test_control_is_running (CairnTestControl *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), FALSE);

  return !reap_if_exited (self);
}

static char *
log_path (CairnTestControl *self)
{
  return g_build_filename (cairn_test_environment_get_path (self->environment), "log",
                           "cairn-control.log", NULL);
}

static gboolean
set_exit_error (CairnTestControl  *self,
                GError           **error)
{
  g_autofree char *log = log_path (self);

  g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "cairn-control %s %d; see %s",
               WIFEXITED (self->status) ? "exited with status" : "died of signal",
               WIFEXITED (self->status) ? WEXITSTATUS (self->status) : WTERMSIG (self->status),
               log);
  return FALSE;
}

/* Ready means owning its name: it opened the store and started every
 * instance before asking for it. */
static gboolean
ready (gpointer   data,
       GError   **error)
{
  CairnTestControl *self = data;

  if (reap_if_exited (self))
    return set_exit_error (self, error);
  return _cairn_test_name_has_owner (self->bus, CONTROL_NAME, error);
}

static gboolean
spawn (CairnTestControl  *self,
       GError           **error)
{
  const char *program = g_getenv ("CAIRN_CONTROL");
  g_autofree char *installed = g_build_filename (CAIRN_LIBEXECDIR, "cairn-control", NULL);
  g_autofree char *state = g_build_filename (cairn_test_environment_get_path (self->environment),
                                             "state", NULL);
  g_autofree char *log = log_path (self);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "XDG_STATE_HOME", state, TRUE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  gboolean spawned;
  int log_fd;

  g_ptr_array_add (argv, (char *) (program != NULL && *program != '\0' ? program : installed));
  g_ptr_array_add (argv, (char *) "--store");
  g_ptr_array_add (argv, (char *) cairn_test_environment_get_store_path (self->environment));
  for (guint i = 0; self->options != NULL && self->options[i] != NULL; i++)
    g_ptr_array_add (argv, self->options[i]);
  g_ptr_array_add (argv, NULL);

  log_fd = g_open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", log, g_strerror (saved_errno));
      return FALSE;
    }
  spawned = g_spawn_async_with_pipes_and_fds (NULL, (const char * const *) argv->pdata,
                                              (const char * const *) envp,
                                              G_SPAWN_DO_NOT_REAP_CHILD,
                                              _cairn_test_die_with_parent,
                                              GINT_TO_POINTER (getpid ()), -1, log_fd, log_fd,
                                              NULL, NULL, 0, &self->pid, NULL, NULL, NULL, error);
  close (log_fd);
  return spawned;
}

/**
 * cairn_test_control_start:
 * @self: a #CairnTestControl
 * @error: return location for an error
 *
 * Starts the service unless it runs, and returns once it owns
 * `org.cairn.Control1`: it has started the instances it keeps by then,
 * though their agents may not be on the bus yet.
 *
 * Returns: %TRUE once the service is ready, else %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_test_control_start (CairnTestControl  *self,
                          GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), FALSE);

  if (cairn_test_control_is_running (self))
    return TRUE;
  if (!spawn (self, error))
    return FALSE;
  if (_cairn_test_wait_for (ready, self, START_TIMEOUT_MS, "cairn-control to own " CONTROL_NAME,
                            error))
    return TRUE;
  cairn_test_control_kill (self, NULL);
  return FALSE;
}

typedef struct
{
  char *id;
  char *state;            /* `running`, `restarting`, `broken`... */
  GPid pid;               /* 0 if none */
  char *message;
} Instance;

static void
instance_clear (Instance *instance)
{
  g_free (instance->id);
  g_free (instance->state);
  g_free (instance->message);
}

/* The instances as `org.cairn.Control1.ListInstances` gives them. */
static GArray *
list_instances (CairnTestControl  *self,
                GError           **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) rows = NULL;
  GArray *instances;

  reply = cairn_test_control_call_sync (self, "ListInstances", NULL,
                                        G_VARIANT_TYPE ("(a(ssusuba{sv}))"), error);
  if (reply == NULL)
    return NULL;
  rows = g_variant_get_child_value (reply, 0);
  instances = g_array_new (FALSE, TRUE, sizeof (Instance));
  g_array_set_clear_func (instances, (GDestroyNotify) instance_clear);
  for (gsize i = 0; i < g_variant_n_children (rows); i++)
    {
      g_autoptr(GVariant) row = g_variant_get_child_value (rows, i);
      g_autoptr(GVariant) details = g_variant_get_child_value (row, 6);
      Instance instance = { NULL, NULL, 0, NULL };
      gint32 pid = 0;

      g_variant_get_child (row, 0, "s", &instance.id);
      g_variant_get_child (row, 3, "s", &instance.message);
      if (!g_variant_lookup (details, "state", "s", &instance.state))
        instance.state = g_strdup ("");
      g_variant_lookup (details, "pid", "i", &pid);
      instance.pid = pid;
      g_array_append_val (instances, instance);
    }
  return instances;
}

typedef struct
{
  CairnTestControl *self;
  GArray *pids;
  GPtrArray *names;
} Agents;

static void
agents_clear (Agents *agents)
{
  g_clear_pointer (&agents->pids, g_array_unref);
  g_clear_pointer (&agents->names, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Agents, agents_clear)

/* The processes and bus names of the service's agents, as it knows
 * them; none if it does not answer. */
static void
list_agents (CairnTestControl *self,
             Agents           *agents)
{
  g_autoptr(GArray) instances = NULL;
  g_autoptr(GError) error = NULL;

  agents->self = self;
  agents->pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  agents->names = g_ptr_array_new_with_free_func (g_free);
  instances = list_instances (self, &error);
  if (instances == NULL)
    {
      g_debug ("cairn-control does not list its agents: %s", error->message);
      return;
    }
  for (guint i = 0; i < instances->len; i++)
    {
      Instance *instance = &g_array_index (instances, Instance, i);

      g_ptr_array_add (agents->names, g_strconcat (AGENT_NAME_PREFIX, instance->id, NULL));
      if (instance->pid > 0)
        g_array_append_val (agents->pids, instance->pid);
    }
}

/* Fails on a bus error; else whether @name has an owner. */
static gboolean
name_owned (CairnTestControl  *self,
            const char        *name,
            GError           **error)
{
  GError *local_error = NULL;
  gboolean owned = _cairn_test_name_has_owner (self->bus, name, &local_error);

  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return owned || local_error != NULL;
}

static gboolean
agents_gone (gpointer   data,
             GError   **error)
{
  Agents *agents = data;

  for (guint i = 0; i < agents->pids->len; i++)
    if (!_cairn_test_process_gone (g_array_index (agents->pids, GPid, i)))
      return FALSE;
  for (guint i = 0; i < agents->names->len; i++)
    if (name_owned (agents->self, g_ptr_array_index (agents->names, i), error))
      return FALSE;
  return !name_owned (agents->self, CONTROL_NAME, error);
}

static gboolean
exited (gpointer   data,
        GError   **error)
{
  return reap_if_exited (data);
}

/* Ends the service with @signal_number and waits until it and its agents
 * are gone; a service that does not end in time is killed. */
static gboolean
end (CairnTestControl  *self,
     int                signal_number,
     GError           **error)
{
  g_auto(Agents) agents = { NULL, NULL, NULL };

  if (!cairn_test_control_is_running (self))
    return TRUE;
  list_agents (self, &agents);
  kill (self->pid, signal_number);
  if (!_cairn_test_wait_for (exited, self, STOP_TIMEOUT_MS, "cairn-control to end", error))
    {
      kill (self->pid, SIGKILL);
      waitpid (self->pid, NULL, 0);
      g_spawn_close_pid (self->pid);
      self->pid = 0;
      return FALSE;
    }
  if (signal_number == SIGTERM && (!WIFEXITED (self->status) || WEXITSTATUS (self->status) != 0))
    return set_exit_error (self, error);
  return _cairn_test_wait_for (agents_gone, &agents, STOP_TIMEOUT_MS,
                               "the agents of cairn-control to end", error);
}

/**
 * cairn_test_control_stop:
 * @self: a #CairnTestControl
 * @error: return location for an error
 *
 * Stops the service as a session's end does, with SIGTERM: it stops its
 * agents (SIGTERM, then SIGKILL after its grace period) and exits. Returns
 * once it exited and its agents' processes and bus names, and its own
 * name, are gone. Does nothing if it does not run.
 *
 * Returns: %TRUE if it stopped with status 0, else %FALSE with @error set
 *   (it is killed if it did not stop within 30 s)
 *
 * Since: 0.1
 */
gboolean
cairn_test_control_stop (CairnTestControl  *self,
                         GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), FALSE);

  return end (self, SIGTERM, error);
}

/**
 * cairn_test_control_kill:
 * @self: a #CairnTestControl
 * @error: return location for an error
 *
 * Kills the service with SIGKILL, as a crash of the session would; its
 * agents die with it (`PR_SET_PDEATHSIG`). Returns once their processes
 * and bus names are gone. Does nothing if it does not run.
 *
 * Returns: %TRUE once they are gone, else %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
cairn_test_control_kill (CairnTestControl  *self,
                         GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), FALSE);

  return end (self, SIGKILL, error);
}

/**
 * cairn_test_control_call_sync:
 * @self: a #CairnTestControl
 * @method: a method of `org.cairn.Control1`
 * @parameters: (nullable): the parameters; floating references are sunk
 * @reply_type: (nullable): the expected reply type
 * @error: return location for an error
 *
 * Calls a method of the service, without activating it, iterating the
 * thread-default main context meanwhile.
 *
 * Returns: (transfer full): the reply, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
cairn_test_control_call_sync (CairnTestControl    *self,
                              const char          *method,
                              GVariant            *parameters,
                              const GVariantType  *reply_type,
                              GError             **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), NULL);
  g_return_val_if_fail (method != NULL, NULL);

  return _cairn_test_call_sync (self->bus, CONTROL_NAME, CONTROL_PATH, CONTROL_NAME, method,
                                parameters, reply_type, error);
}

/**
 * cairn_test_control_create_instance:
 * @self: a #CairnTestControl
 * @type_id: the agent type
 * @config: (nullable) (array zero-terminated=1): configuration keys and
 *   string values, alternating
 * @error: return location for an error
 *
 * Creates an instance through `org.cairn.Control1.CreateInstance`, as
 * `cairnctl add` does: the service writes its file and starts it.
 *
 * Returns: (transfer full): the new instance's id, or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_test_control_create_instance (CairnTestControl    *self,
                                    const char          *type_id,
                                    const char * const  *config,
                                    GError             **error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) reply = NULL;
  char *id = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (self), NULL);
  g_return_val_if_fail (type_id != NULL, NULL);

  for (guint i = 0; config != NULL && config[i] != NULL && config[i + 1] != NULL; i += 2)
    g_variant_builder_add (&builder, "{sv}", config[i], g_variant_new_string (config[i + 1]));
  reply = cairn_test_control_call_sync (self, "CreateInstance",
                                        g_variant_new ("(sa{sv})", type_id, &builder),
                                        G_VARIANT_TYPE ("(s)"), error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &id);
  return id;
}

/* What the service says of instance @id: its state, the process id, 0
 * if none, and its status message. */
gboolean
_cairn_test_control_get_instance (CairnTestControl  *self,
                                  const char        *id,
                                  char             **state,
                                  GPid              *pid,
                                  char             **message,
                                  GError           **error)
{
  g_autoptr(GArray) instances = list_instances (self, error);

  for (guint i = 0; instances != NULL && i < instances->len; i++)
    {
      Instance *instance = &g_array_index (instances, Instance, i);

      if (!g_str_equal (instance->id, id))
        continue;
      *state = g_strdup (instance->state);
      *pid = instance->pid;
      *message = g_strdup (instance->message);
      return TRUE;
    }
  if (instances != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "cairn-control has no instance %s", id);
  return FALSE;
}
