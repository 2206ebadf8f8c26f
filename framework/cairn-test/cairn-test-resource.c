/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gmodule.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestResource:
 *
 * Runs one resource instance inside a #CairnTestEnvironment, the way the
 * control service would, and drives it the way clients do: over D-Bus.
 *
 * The instance's configuration file is written by
 * cairn_test_resource_new(). cairn_test_resource_start() then runs the
 * resource either in the test's own process and main context (its own
 * #CairnStore with the instance id as origin, exported under
 * `org.cairn.Agent.ID`), or as a `cairn-agent-host --instance ID` process
 * that dies with the test and that cairn_test_resource_kill() can kill
 * mid-work. The host is the one named by `CAIRN_AGENT_HOST`, else the
 * installed one; agent types are found as the host finds them
 * (`CAIRN_AGENTS_DIR`, then `$XDG_DATA_DIRS/cairn/agents`).
 *
 * With cairn_test_resource_new_for_control() the instance is created
 * through `org.cairn.Control1` of a #CairnTestControl instead, and runs
 * as the control service runs it (%CAIRN_TEST_RESOURCE_CONTROL): stopping
 * the resource stops the service, killing it kills its agent host, which
 * the service restarts, and the wanted online state is set through the
 * service.
 *
 * Every wait iterates the thread-default main context, so an in-process
 * resource keeps working while the test waits for it.
 *
 * Since: 0.1
 */

#define AGENT_PATH "/org/cairn/Agent"
#define AGENT_INTERFACE "org.cairn.Agent1"
#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define CONTROL_INTERFACE "org.cairn.Control1"

struct _CairnTestResource
{
  GObject parent_instance;

  CairnTestEnvironment *environment;
  char *type_id;
  char *id;
  char *bus_name;
  GDBusConnection *client_bus;

  CairnTestResourceMode mode;
  GType type;
  gboolean running;

  /* In process */
  CairnStore *store;
  CairnAgent *agent;
  GDBusConnection *agent_bus;
  guint owner_id;

  /* Own process */
  GPid pid;
  CairnStore *log_reader;       /* reads the change log for wait_replayed */

  /* Under the control service: its agent host, as last seen */
  CairnTestControl *control;
  GPid host_pid;
};

G_DEFINE_FINAL_TYPE (CairnTestResource, cairn_test_resource, G_TYPE_OBJECT)

static void
cairn_test_resource_dispose (GObject *object)
{
  CairnTestResource *self = CAIRN_TEST_RESOURCE (object);

  cairn_test_resource_stop (self);
  g_clear_object (&self->control);
  g_clear_object (&self->client_bus);
  g_clear_object (&self->log_reader);
  g_clear_object (&self->environment);

  G_OBJECT_CLASS (cairn_test_resource_parent_class)->dispose (object);
}

static void
cairn_test_resource_finalize (GObject *object)
{
  CairnTestResource *self = CAIRN_TEST_RESOURCE (object);

  g_free (self->type_id);
  g_free (self->id);
  g_free (self->bus_name);

  G_OBJECT_CLASS (cairn_test_resource_parent_class)->finalize (object);
}

static void
cairn_test_resource_class_init (CairnTestResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_test_resource_dispose;
  object_class->finalize = cairn_test_resource_finalize;
}

static void
cairn_test_resource_init (CairnTestResource *self)
{
}

static CairnTestResource *
resource_new (CairnTestEnvironment  *environment,
              const char            *type_id,
              const char            *instance_id,
              GError               **error)
{
  g_autoptr(CairnTestResource) self = g_object_new (CAIRN_TYPE_TEST_RESOURCE, NULL);

  self->environment = g_object_ref (environment);
  self->type_id = g_strdup (type_id);
  self->id = g_strdup (instance_id);
  self->bus_name = g_strconcat ("org.cairn.Agent.", instance_id, NULL);
  self->client_bus =
    g_dbus_connection_new_for_address_sync (cairn_test_environment_get_bus_address (environment),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, error);
  if (self->client_bus == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cairn_test_resource_new:
 * @environment: the environment to run in
 * @type_id: the agent type, as its `.agent` file is named
 * @instance_id: the instance id
 * @config: (nullable) (array zero-terminated=1): configuration keys and
 *   values, alternating, for the instance's `[Agent]` group
 * @error: return location for an error
 *
 * Writes the instance's configuration file. Nothing runs until
 * cairn_test_resource_start().
 *
 * Returns: (transfer full): the test resource, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnTestResource *
cairn_test_resource_new (CairnTestEnvironment  *environment,
                         const char            *type_id,
                         const char            *instance_id,
                         const char * const    *config,
                         GError               **error)
{
  g_autoptr(CairnTestResource) self = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *path = NULL;
  g_autofree char *folder = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_ENVIRONMENT (environment), NULL);
  g_return_val_if_fail (type_id != NULL && instance_id != NULL, NULL);

  self = resource_new (environment, type_id, instance_id, error);
  if (self == NULL)
    return NULL;
  g_key_file_set_string (key_file, "Agent", "Type", type_id);
  for (guint i = 0; config != NULL && config[i] != NULL && config[i + 1] != NULL; i += 2)
    g_key_file_set_string (key_file, "Agent", config[i], config[i + 1]);
  path = cairn_agent_build_config_path (instance_id);
  folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0700);
  if (!g_key_file_save_to_file (key_file, path, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cairn_test_resource_new_for_control:
 * @control: the control service to run under
 * @type_id: the agent type, as its `.agent` file is named
 * @config: (nullable) (array zero-terminated=1): configuration keys and
 *   string values, alternating
 * @error: return location for an error
 *
 * Starts @control if it does not run and creates the instance through
 * `org.cairn.Control1.CreateInstance`, which writes its file and starts
 * it. cairn_test_resource_start() with %CAIRN_TEST_RESOURCE_CONTROL then
 * waits until it runs.
 *
 * Returns: (transfer full): the test resource, named as the service named
 *   the instance, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnTestResource *
cairn_test_resource_new_for_control (CairnTestControl    *control,
                                     const char          *type_id,
                                     const char * const  *config,
                                     GError             **error)
{
  g_autoptr(CairnTestResource) self = NULL;
  g_autofree char *id = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_CONTROL (control), NULL);
  g_return_val_if_fail (type_id != NULL, NULL);

  if (!cairn_test_control_start (control, error))
    return NULL;
  id = cairn_test_control_create_instance (control, type_id, config, error);
  if (id == NULL)
    return NULL;
  self = resource_new (cairn_test_control_get_environment (control), type_id, id, error);
  if (self == NULL)
    return NULL;
  self->control = g_object_ref (control);
  self->mode = CAIRN_TEST_RESOURCE_CONTROL;
  return g_steal_pointer (&self);
}

/* Waiting */

typedef gboolean (*Condition) (CairnTestResource *self,
                               GError           **error);

typedef struct
{
  CairnTestResource *self;
  Condition condition;
} Wait;

static gboolean
wait_condition (gpointer   data,
                GError   **error)
{
  Wait *wait = data;

  return wait->condition (wait->self, error);
}

static gboolean
wait_for (CairnTestResource  *self,
          Condition           condition,
          guint               timeout_ms,
          const char         *what,
          GError            **error)
{
  Wait wait = { self, condition };

  if (_cairn_test_wait_for (wait_condition, &wait, timeout_ms, what, error))
    return TRUE;
  g_prefix_error (error, "Resource %s: ", self->id);
  return FALSE;
}

/**
 * cairn_test_resource_call_sync:
 * @self: a #CairnTestResource
 * @interface_name: `org.cairn.Agent1` or `org.cairn.Resource1`
 * @method: the method name
 * @parameters: (nullable): the parameters; floating references are sunk
 * @reply_type: (nullable): the expected reply type
 * @error: return location for an error
 *
 * Calls a method of the resource over D-Bus as a client would, iterating
 * the main context meanwhile, so that an in-process resource can answer.
 *
 * Returns: (transfer full): the reply, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
cairn_test_resource_call_sync (CairnTestResource   *self,
                               const char          *interface_name,
                               const char          *method,
                               GVariant            *parameters,
                               const GVariantType  *reply_type,
                               GError             **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  return _cairn_test_call_sync (self->client_bus, self->bus_name, AGENT_PATH, interface_name,
                                method, parameters, reply_type, error);
}

/* Starting and stopping */

static gboolean
name_has_owner (CairnTestResource  *self,
                GError            **error)
{
  if (self->mode == CAIRN_TEST_RESOURCE_PROCESS && waitpid (self->pid, NULL, WNOHANG) != 0)
    {
      g_spawn_close_pid (self->pid);
      self->pid = 0;
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "cairn-agent-host for %s exited; see its log", self->id);
      return FALSE;
    }
  return _cairn_test_name_has_owner (self->client_bus, self->bus_name, error);
}

/* Loads the agent type's module as cairn-agent-host does. */
static GType
load_type (CairnAgentType  *agent_type,
           GError         **error)
{
  g_autofree char *path = cairn_agent_type_get_module_path (agent_type);
  CairnAgentModuleInitFunc init;
  const guint *version;
  GModule *module;

  if (path == NULL)
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type %s has no Module", cairn_agent_type_get_id (agent_type));
      return G_TYPE_INVALID;
    }
  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL ||
      !g_module_symbol (module, CAIRN_AGENT_MODULE_VERSION_SYMBOL, (gpointer *) &version) ||
      !g_module_symbol (module, CAIRN_AGENT_MODULE_INIT_SYMBOL, (gpointer *) &init))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Cannot load module %s: %s", path, g_module_error ());
      return G_TYPE_INVALID;
    }
  /* Its types can never be unregistered. */
  g_module_make_resident (module);
  return init (error);
}

static gboolean
start_in_process (CairnTestResource  *self,
                  GError            **error)
{
  g_autoptr(CairnAgentType) agent_type = cairn_agent_type_lookup (self->type_id, error);

  if (agent_type == NULL)
    return FALSE;
  if (self->type == G_TYPE_INVALID)
    self->type = load_type (agent_type, error);
  if (self->type == G_TYPE_INVALID)
    return FALSE;

  self->store = cairn_store_open (cairn_test_environment_get_store_path (self->environment), NULL,
                                  error);
  if (self->store == NULL)
    return FALSE;
  cairn_store_set_origin (self->store, self->id);
  self->agent = g_initable_new (self->type, NULL, error, "id", self->id, "agent-type",
                                agent_type, "store", self->store, NULL);
  if (self->agent == NULL)
    return FALSE;
  self->agent_bus =
    g_dbus_connection_new_for_address_sync (cairn_test_environment_get_bus_address (self->environment),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, error);
  if (self->agent_bus == NULL || !cairn_agent_export (self->agent, self->agent_bus, error))
    return FALSE;
  self->owner_id = g_bus_own_name_on_connection (self->agent_bus, self->bus_name,
                                                 G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, NULL, NULL,
                                                 NULL, NULL);
  return TRUE;
}

static gboolean
start_process (CairnTestResource  *self,
               GError            **error)
{
  const char *host = g_getenv ("CAIRN_AGENT_HOST");
  g_autofree char *installed = g_build_filename (CAIRN_LIBEXECDIR, "cairn-agent-host", NULL);
  const char *argv[] = { host ? host : installed, "--instance", self->id, "--store",
                         cairn_test_environment_get_store_path (self->environment), NULL };

  return g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                        _cairn_test_die_with_parent,
                        GINT_TO_POINTER (getpid ()), &self->pid, error);
}

/* The service runs the instance in another host than the one last seen:
 * after a kill, a stop or a restart, the old one may be listed a while. */
static gboolean
host_started (CairnTestResource  *self,
              GError            **error)
{
  g_autofree char *state = NULL;
  g_autofree char *message = NULL;
  GPid pid = 0;

  if (!cairn_test_control_is_running (self->control))
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "cairn-control exited; see %s/log/cairn-control.log",
                   cairn_test_environment_get_path (self->environment));
      return FALSE;
    }
  if (!_cairn_test_control_get_instance (self->control, self->id, &state, &pid, &message, error))
    return FALSE;
  if (g_str_equal (state, "broken"))
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "cairn-control gave up: %s",
                   message);
      return FALSE;
    }
  if (!g_str_equal (state, "running") || pid == 0 || pid == self->host_pid)
    return FALSE;
  self->host_pid = pid;
  return TRUE;
}

/* Starts the service if it does not run; else asks it to restart a
 * running instance if @restart is set; then waits for a new host. */
static gboolean
start_controlled (CairnTestResource  *self,
                  gboolean            restart,
                  GError            **error)
{
  if (!cairn_test_control_is_running (self->control))
    {
      if (!cairn_test_control_start (self->control, error))
        return FALSE;
    }
  else if (self->running && !restart)
    return TRUE;
  else if (self->running)
    {
      g_autoptr(GVariant) reply = NULL;

      reply = cairn_test_control_call_sync (self->control, "Restart",
                                            g_variant_new ("(s)", self->id), NULL, error);
      if (reply == NULL)
        return FALSE;
    }
  self->running = FALSE;
  if (!wait_for (self, host_started, START_TIMEOUT_US / 1000, "its host under cairn-control",
                 error))
    return FALSE;
  self->running = TRUE;
  return TRUE;
}

/**
 * cairn_test_resource_start:
 * @self: a #CairnTestResource
 * @mode: where to run the resource; %CAIRN_TEST_RESOURCE_CONTROL for, and
 *   only for, a resource made by cairn_test_resource_new_for_control()
 * @type: in process, the resource's #GType, or %G_TYPE_INVALID to load the
 *   agent type's module; ignored otherwise
 * @error: return location for an error
 *
 * Starts the resource and returns once its bus name is owned.
 *
 * Under the control service, it starts the service if it does not run
 * (stopped by cairn_test_resource_stop() or ended through its
 * #CairnTestControl), and returns once the service runs the instance in
 * a new host: one started with the service, or after
 * cairn_test_resource_kill() the one the service restarts by itself.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_start (CairnTestResource      *self,
                           CairnTestResourceMode   mode,
                           GType                   type,
                           GError                **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), FALSE);
  g_return_val_if_fail ((self->control != NULL) == (mode == CAIRN_TEST_RESOURCE_CONTROL), FALSE);

  if (self->control != NULL)
    return start_controlled (self, FALSE, error);
  g_return_val_if_fail (!self->running, FALSE);
  self->mode = mode;
  self->type = type;
  self->running = TRUE;
  if (!(mode == CAIRN_TEST_RESOURCE_IN_PROCESS ? start_in_process (self, error)
                                                : start_process (self, error)) ||
      !wait_for (self, name_has_owner, START_TIMEOUT_US / 1000, "its bus name", error))
    {
      cairn_test_resource_stop (self);
      return FALSE;
    }
  return TRUE;
}

/**
 * cairn_test_resource_get_id:
 * @self: a #CairnTestResource
 *
 * Gets the resource's instance id.
 *
 * Returns: the instance id
 *
 * Since: 0.1
 */
const char *
cairn_test_resource_get_id (CairnTestResource *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  return self->id;
}

/**
 * cairn_test_resource_get_mode:
 * @self: a #CairnTestResource
 *
 * Gets where the resource runs, as it was last started.
 *
 * Returns: where the resource runs, as last started
 *
 * Since: 0.1
 */
CairnTestResourceMode
cairn_test_resource_get_mode (CairnTestResource *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), CAIRN_TEST_RESOURCE_IN_PROCESS);

  return self->mode;
}

/**
 * cairn_test_resource_get_pid:
 * @self: a #CairnTestResource
 *
 * Gets the process the resource runs in: its `cairn-agent-host`, or the
 * test's own process for %CAIRN_TEST_RESOURCE_IN_PROCESS, so that a test
 * can look at its threads in `/proc`.
 *
 * Returns: the process id, or 0 if the resource does not run
 *
 * Since: 0.1
 */
GPid
cairn_test_resource_get_pid (CairnTestResource *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), 0);

  if (!self->running)
    return 0;
  switch (self->mode)
    {
    case CAIRN_TEST_RESOURCE_IN_PROCESS:
      return getpid ();
    case CAIRN_TEST_RESOURCE_PROCESS:
      return self->pid;
    case CAIRN_TEST_RESOURCE_CONTROL:
    default:
      return self->host_pid;
    }
}

/**
 * cairn_test_resource_get_control:
 * @self: a #CairnTestResource
 *
 * Gets the control service the resource runs under, if any.
 *
 * Returns: (transfer none) (nullable): the control service it runs
 *   under, or %NULL
 *
 * Since: 0.1
 */
CairnTestControl *
cairn_test_resource_get_control (CairnTestResource *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  return self->control;
}

/**
 * cairn_test_resource_get_resource:
 * @self: a #CairnTestResource
 *
 * Gets the resource object when it runs in the test's process.
 *
 * Returns: (transfer none) (nullable): the resource when it runs in
 *   process, else %NULL
 *
 * Since: 0.1
 */
CairnResource *
cairn_test_resource_get_resource (CairnTestResource *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  return self->agent ? CAIRN_RESOURCE (self->agent) : NULL;
}

/**
 * cairn_test_resource_open_client_store:
 * @self: a #CairnTestResource
 * @error: return location for an error
 *
 * Opens the environment's store without an origin, as an application
 * would: what the test writes there are local changes for the resource
 * to replay.
 *
 * Returns: (transfer full): a new store, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnStore *
cairn_test_resource_open_client_store (CairnTestResource  *self,
                                       GError            **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  return cairn_store_open (cairn_test_environment_get_store_path (self->environment), NULL,
                           error);
}

/**
 * cairn_test_resource_set_online:
 * @self: a #CairnTestResource
 * @online: the wanted state
 * @error: return location for an error
 *
 * Calls `org.cairn.Agent1.SetOnline`; under the control service,
 * `org.cairn.Control1.SetOnline`, which the service applies again
 * whenever it restarts the agent, and forgets when it stops.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_set_online (CairnTestResource  *self,
                                gboolean            online,
                                GError            **error)
{
  g_autoptr(GVariant) reply = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), FALSE);

  if (self->control != NULL)
    reply = cairn_test_control_call_sync (self->control, "SetOnline",
                                          g_variant_new ("(sb)", self->id, online), NULL, error);
  else
    reply = cairn_test_resource_call_sync (self, AGENT_INTERFACE, "SetOnline",
                                           g_variant_new ("(b)", online), NULL, error);
  return reply != NULL;
}

/**
 * cairn_test_resource_synchronize_sync:
 * @self: a #CairnTestResource
 * @collection_id: a collection, or 0 for everything
 * @error: return location for an error
 *
 * Calls `org.cairn.Resource1.Synchronize` and returns when the sync ends.
 *
 * Returns: %TRUE if the sync completed
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_synchronize_sync (CairnTestResource  *self,
                                      guint64             collection_id,
                                      GError            **error)
{
  g_autoptr(GVariant) reply = NULL;

  reply = cairn_test_resource_call_sync (self, CAIRN_RESOURCE_INTERFACE, "Synchronize",
                                         g_variant_new ("(t)", collection_id), NULL, error);
  return reply != NULL;
}

#define LOG_PAGE 256

/* Whether the change log holds a change of the resource's collections,
 * not its own, after the cursor of its recorder: one it has not replayed
 * yet. Another process hears of a commit a moment after it, and until
 * then its PendingChanges property does not count the change. Without a
 * cursor the recorder has not started: the property is all there is. */
static gboolean
has_unreplayed_change (CairnTestResource  *self,
                       gboolean           *unreplayed,
                       GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 revision = 0;

  *unreplayed = FALSE;
  if (self->log_reader == NULL)
    self->log_reader = cairn_store_open (cairn_test_environment_get_store_path (self->environment),
                                         NULL, error);
  if (self->log_reader == NULL)
    return FALSE;
  if (!cairn_store_get_cursor (self->log_reader, self->id, &revision, &local_error))
    {
      if (g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  for (;;)
    {
      g_autoptr(GPtrArray) changes = cairn_store_get_changes_since (self->log_reader, revision,
                                                                    LOG_PAGE, error);

      if (changes == NULL)
        return FALSE;
      if (changes->len == 0)
        return TRUE;
      for (guint i = 0; i < changes->len; i++)
        {
          CairnChange *change = g_ptr_array_index (changes, i);

          if (g_strcmp0 (cairn_change_get_resource (change), self->id) == 0 &&
              g_strcmp0 (cairn_change_get_origin (change), self->id) != 0)
            {
              *unreplayed = TRUE;
              return TRUE;
            }
          revision = cairn_change_get_revision (change);
        }
    }
}

static gboolean
replayed (CairnTestResource  *self,
          GError            **error)
{
  gboolean unreplayed;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) properties = NULL;
  guint64 pending = 0;
  gboolean busy = TRUE;

  /* In process, the resource counts from the store itself, so a change
   * committed a moment ago counts even before the resource was told. */
  if (self->agent != NULL)
    {
      CairnScheduler *scheduler = cairn_resource_get_scheduler (CAIRN_RESOURCE (self->agent));

      if (!cairn_resource_get_pending_changes (CAIRN_RESOURCE (self->agent), &pending, error))
        return FALSE;
      busy = cairn_scheduler_get_running_task (scheduler) != NULL;
      for (guint q = 0; q < 4; q++)
        busy = busy || cairn_scheduler_get_queue_length (scheduler, q) > 0;
      return pending == 0 && !busy;
    }

  /* Asked first: a resource that is gone fails the wait at once. */
  reply = cairn_test_resource_call_sync (self, "org.freedesktop.DBus.Properties", "GetAll",
                                         g_variant_new ("(s)", CAIRN_RESOURCE_INTERFACE),
                                         G_VARIANT_TYPE ("(a{sv})"), error);
  if (reply == NULL)
    return FALSE;
  properties = g_variant_get_child_value (reply, 0);
  g_variant_lookup (properties, "PendingChanges", "t", &pending);
  g_variant_lookup (properties, "Busy", "b", &busy);
  if (pending != 0 || busy)
    return FALSE;
  return has_unreplayed_change (self, &unreplayed, error) && !unreplayed;
}

/**
 * cairn_test_resource_wait_replayed:
 * @self: a #CairnTestResource
 * @timeout_ms: how long to wait at most
 * @error: return location for an error
 *
 * Waits until the resource has no pending change and no task: its
 * `org.cairn.Resource1` properties PendingChanges and Busy (in process,
 * the same asked of the object directly). Out of process, the change log
 * must also hold no change of the resource's collections after the
 * cursor of its recorder, so that a change committed a moment ago counts
 * before the resource has heard of it.
 *
 * Returns: %TRUE once replayed, %FALSE with @error set on timeout
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_wait_replayed (CairnTestResource  *self,
                                   guint               timeout_ms,
                                   GError            **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), FALSE);

  return wait_for (self, replayed, timeout_ms, "the change replay", error);
}

static gboolean
host_gone (CairnTestResource  *self,
           GError            **error)
{
  return _cairn_test_process_gone (self->host_pid);
}

static void
kill_controlled (CairnTestResource *self)
{
  g_autoptr(GError) error = NULL;

  /* A host the service no longer runs may have left its pid to another. */
  if (self->running && cairn_test_control_is_running (self->control))
    {
      kill (self->host_pid, SIGKILL);
      if (!wait_for (self, host_gone, START_TIMEOUT_US / 1000, "its host to die", &error))
        g_warning ("%s", error->message);
    }
  self->running = FALSE;
}

/**
 * cairn_test_resource_kill:
 * @self: a #CairnTestResource
 *
 * Kills the resource's process with SIGKILL, as a crash would, and reaps
 * it. Not for %CAIRN_TEST_RESOURCE_IN_PROCESS. Under the control service,
 * it returns once the host is gone, and the service restarts it after
 * its backoff, as it restarts any crashed agent.
 *
 * Since: 0.1
 */
void
cairn_test_resource_kill (CairnTestResource *self)
{
  g_return_if_fail (CAIRN_IS_TEST_RESOURCE (self));
  g_return_if_fail (self->mode != CAIRN_TEST_RESOURCE_IN_PROCESS);

  if (self->control != NULL)
    {
      kill_controlled (self);
      return;
    }

  if (self->pid != 0)
    {
      kill (self->pid, SIGKILL);
      waitpid (self->pid, NULL, 0);
      g_spawn_close_pid (self->pid);
      self->pid = 0;
    }
  self->running = FALSE;
}

/**
 * cairn_test_resource_restart:
 * @self: a #CairnTestResource
 * @error: return location for an error
 *
 * Stops the resource if it runs and starts it again the same way.
 *
 * Under the control service, a running instance is restarted through
 * `org.cairn.Control1.Restart` (the service stops its host with SIGTERM
 * and starts a new one); otherwise this is cairn_test_resource_start().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_restart (CairnTestResource  *self,
                             GError            **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), FALSE);

  if (self->control != NULL)
    return start_controlled (self, TRUE, error);

  cairn_test_resource_stop (self);
  return cairn_test_resource_start (self, self->mode, self->type, error);
}

/**
 * cairn_test_resource_stop:
 * @self: a #CairnTestResource
 *
 * Stops the resource cleanly: in process, stops and drops the agent; its
 * own process gets SIGTERM and is waited for. Under the control service,
 * which has no call to stop one instance, the service itself is stopped
 * (cairn_test_control_stop()), and its other agents with it.
 *
 * Since: 0.1
 */
void
cairn_test_resource_stop (CairnTestResource *self)
{
  g_return_if_fail (CAIRN_IS_TEST_RESOURCE (self));

  if (self->control != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!cairn_test_control_stop (self->control, &error))
        g_warning ("%s", error->message);
      self->running = FALSE;
      return;
    }

  if (self->owner_id != 0)
    g_bus_unown_name (self->owner_id);
  self->owner_id = 0;
  if (self->agent != NULL)
    cairn_agent_stop (self->agent);
  g_clear_object (&self->agent);
  if (self->agent_bus != NULL)
    g_dbus_connection_close_sync (self->agent_bus, NULL, NULL);
  g_clear_object (&self->agent_bus);
  g_clear_object (&self->store);
  if (self->pid != 0)
    {
      kill (self->pid, SIGTERM);
      waitpid (self->pid, NULL, 0);
      g_spawn_close_pid (self->pid);
      self->pid = 0;
    }
  self->running = FALSE;
}
