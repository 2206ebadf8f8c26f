/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gmodule.h>

#include "cairn-test.h"

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
 * Every wait iterates the thread-default main context, so an in-process
 * resource keeps working while the test waits for it.
 *
 * Since: 0.1
 */

#define AGENT_PATH "/org/cairn/Agent"
#define AGENT_INTERFACE "org.cairn.Agent1"
#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define CALL_TIMEOUT_MS (120 * 1000)
#define POLL_INTERVAL_MS 10

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
};

G_DEFINE_FINAL_TYPE (CairnTestResource, cairn_test_resource, G_TYPE_OBJECT)

static void
cairn_test_resource_dispose (GObject *object)
{
  CairnTestResource *self = CAIRN_TEST_RESOURCE (object);

  cairn_test_resource_stop (self);
  g_clear_object (&self->client_bus);
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

  self = g_object_new (CAIRN_TYPE_TEST_RESOURCE, NULL);
  self->environment = g_object_ref (environment);
  self->type_id = g_strdup (type_id);
  self->id = g_strdup (instance_id);
  self->bus_name = g_strconcat ("org.cairn.Agent.", instance_id, NULL);

  g_key_file_set_string (key_file, "Agent", "Type", type_id);
  for (guint i = 0; config != NULL && config[i] != NULL && config[i + 1] != NULL; i += 2)
    g_key_file_set_string (key_file, "Agent", config[i], config[i + 1]);
  path = cairn_agent_build_config_path (instance_id);
  folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0700);
  if (!g_key_file_save_to_file (key_file, path, error))
    return NULL;

  self->client_bus =
    g_dbus_connection_new_for_address_sync (cairn_test_environment_get_bus_address (environment),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, error);
  if (self->client_bus == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/* Waiting */

typedef gboolean (*Condition) (CairnTestResource *self,
                               gpointer           data,
                               GError           **error);

static gboolean
tick_done (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until @condition holds, fails or @timeout_ms
 * passes; polled, since what it waits on has no signal of its own. */
static gboolean
wait_for (CairnTestResource  *self,
          Condition           condition,
          gpointer            data,
          guint               timeout_ms,
          const char         *what,
          GError            **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GMainContext *context = g_main_context_get_thread_default ();

  for (;;)
    {
      g_autoptr(GSource) tick = NULL;
      GError *local_error = NULL;

      if (condition (self, data, &local_error))
        return TRUE;
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "Resource %s: timed out waiting for %s", self->id, what);
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
  GMainContext *context = g_main_context_get_thread_default ();
  Call call = { NULL, NULL, FALSE };

  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), NULL);

  g_dbus_connection_call (self->client_bus, self->bus_name, AGENT_PATH, interface_name, method,
                          parameters, reply_type, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          CALL_TIMEOUT_MS, NULL, call_done, &call);
  while (!call.done)
    g_main_context_iteration (context, TRUE);
  if (call.error != NULL)
    g_propagate_error (error, call.error);
  return call.reply;
}

/* Starting and stopping */

static gboolean
name_has_owner (CairnTestResource  *self,
                gpointer            data,
                GError            **error)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  if (self->mode == CAIRN_TEST_RESOURCE_PROCESS && waitpid (self->pid, NULL, WNOHANG) != 0)
    {
      g_spawn_close_pid (self->pid);
      self->pid = 0;
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "cairn-agent-host for %s exited; see its log", self->id);
      return FALSE;
    }
  reply = g_dbus_connection_call_sync (self->client_bus, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", g_variant_new ("(s)", self->bus_name),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       error);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
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

/* Runs in the child between fork and exec: the host dies with the test. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != GPOINTER_TO_INT (user_data))
    _exit (1);
}

static gboolean
start_process (CairnTestResource  *self,
               GError            **error)
{
  const char *host = g_getenv ("CAIRN_AGENT_HOST");
  g_autofree char *installed = g_build_filename (CAIRN_LIBEXECDIR, "cairn-agent-host", NULL);
  const char *argv[] = { host ? host : installed, "--instance", self->id, "--store",
                         cairn_test_environment_get_store_path (self->environment), NULL };

  return g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
                        GINT_TO_POINTER (getpid ()), &self->pid, error);
}

/**
 * cairn_test_resource_start:
 * @self: a #CairnTestResource
 * @mode: where to run the resource
 * @type: in process, the resource's #GType, or %G_TYPE_INVALID to load the
 *   agent type's module; ignored for %CAIRN_TEST_RESOURCE_PROCESS
 * @error: return location for an error
 *
 * Starts the resource and returns once its bus name is owned.
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
  g_return_val_if_fail (!self->running, FALSE);

  self->mode = mode;
  self->type = type;
  self->running = TRUE;
  if (!(mode == CAIRN_TEST_RESOURCE_IN_PROCESS ? start_in_process (self, error)
                                                : start_process (self, error)) ||
      !wait_for (self, name_has_owner, NULL, START_TIMEOUT_US / 1000, "its bus name", error))
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
 * cairn_test_resource_get_resource:
 * @self: a #CairnTestResource
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
 * Calls `org.cairn.Agent1.SetOnline`.
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

static gboolean
replayed (CairnTestResource  *self,
          gpointer            data,
          GError            **error)
{
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

  reply = cairn_test_resource_call_sync (self, "org.freedesktop.DBus.Properties", "GetAll",
                                         g_variant_new ("(s)", CAIRN_RESOURCE_INTERFACE),
                                         G_VARIANT_TYPE ("(a{sv})"), error);
  if (reply == NULL)
    return FALSE;
  properties = g_variant_get_child_value (reply, 0);
  g_variant_lookup (properties, "PendingChanges", "t", &pending);
  g_variant_lookup (properties, "Busy", "b", &busy);
  return pending == 0 && !busy;
}

/**
 * cairn_test_resource_wait_replayed:
 * @self: a #CairnTestResource
 * @timeout_ms: how long to wait at most
 * @error: return location for an error
 *
 * Waits until the resource has no pending change and no task: its
 * `org.cairn.Resource1` properties PendingChanges and Busy (in process,
 * the same asked of the object directly).
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

  return wait_for (self, replayed, NULL, timeout_ms, "the change replay", error);
}

/**
 * cairn_test_resource_kill:
 * @self: a #CairnTestResource
 *
 * Kills the resource's process with SIGKILL, as a crash would, and reaps
 * it. Only for %CAIRN_TEST_RESOURCE_PROCESS.
 *
 * Since: 0.1
 */
void
cairn_test_resource_kill (CairnTestResource *self)
{
  g_return_if_fail (CAIRN_IS_TEST_RESOURCE (self));
  g_return_if_fail (self->mode == CAIRN_TEST_RESOURCE_PROCESS);

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
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_test_resource_restart (CairnTestResource  *self,
                             GError            **error)
{
  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (self), FALSE);

  cairn_test_resource_stop (self);
  return cairn_test_resource_start (self, self->mode, self->type, error);
}

/**
 * cairn_test_resource_stop:
 * @self: a #CairnTestResource
 *
 * Stops the resource cleanly: in process, stops and drops the agent; its
 * own process gets SIGTERM and is waited for.
 *
 * Since: 0.1
 */
void
cairn_test_resource_stop (CairnTestResource *self)
{
  g_return_if_fail (CAIRN_IS_TEST_RESOURCE (self));

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
