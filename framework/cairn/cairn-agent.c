/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "cairn-agent.h"
#include "cairn-attributes-private.h"
#include "cairn-dbus-agent.h"
#include "cairn-autocleanups.h"
#include "cairn-enum-types.h"
#include "cairn-observer.h"

/**
 * CairnAgent:
 *
 * The base class of agents: one instance of an agent type, usually run by
 * `cairn-agent-host`.
 *
 * An agent is a #GInitable: create it with g_initable_new() and the
 * properties #CairnAgent:id, #CairnAgent:agent-type and #CairnAgent:store.
 * Initialisation loads the configuration, creates the change recorder and
 * calls the class's `setup`.
 *
 * - **Configuration**: the instance's key file
 *   (cairn_agent_build_config_path()), group `[Agent]`; every key but
 *   `Type` names a writable property added by the subclass, and a property
 *   without a key gets its default. Strings, booleans, integers, doubles,
 *   enums (by nick) and string lists (`a;b;`) are understood.
 *   cairn_agent_reconfigure() reads the file again. A file that is
 *   missing (unless the type has `NoConfig`) or not valid leaves every
 *   property as it was and sets the status to
 *   %CAIRN_AGENT_STATUS_NOT_CONFIGURED with the reason.
 * - **Changes**: if the subclass implements #CairnObserver, the agent owns
 *   a #CairnChangeRecorder named after the instance id with itself as the
 *   observer, so replay resumes after the last processed change when the
 *   agent starts again. The recorder holds the agent until
 *   cairn_agent_stop().
 * - **Online**: the agent is online when the user wants it
 *   (cairn_agent_set_wanted_online()), the network is available
 *   (#GNetworkMonitor, only for types with `NeedsNetwork`) and it is not
 *   temporarily offline after an error
 *   (cairn_agent_set_temporarily_offline()). Subclasses watch
 *   #CairnAgent:online.
 * - **D-Bus**: cairn_agent_export() exports `org.cairn.Agent1` at
 *   `/org/cairn/Agent`; the host owns the name `org.cairn.Agent.ID`.
 *
 * Since: 0.1
 */

#define OBJECT_PATH "/org/cairn/Agent"
#define GROUP "Agent"
#define TYPE_KEY "Type"

typedef struct
{
  char *id;
  CairnAgentType *agent_type;
  CairnStore *store;
  CairnChangeRecorder *recorder;
  CairnAgentStatus status;
  char *status_message;
  guint progress;
  guint64 items_done;
  guint64 items_known;
  gboolean online;
  gboolean wanted_online;
  gboolean network_available;
  gint64 retry_time;
  guint retry_source;
  GNetworkMonitor *network_monitor;
  CairnAgent1 *skeleton;
} CairnAgentPrivate;

static void cairn_agent_initable_iface_init (GInitableIface *iface);

G_DEFINE_TYPE_WITH_CODE (CairnAgent, cairn_agent, G_TYPE_OBJECT,
                         G_ADD_PRIVATE (CairnAgent)
                         G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, cairn_agent_initable_iface_init))

enum {
  PROP_0,
  PROP_ID,
  PROP_AGENT_TYPE,
  PROP_STORE,
  PROP_STATUS,
  PROP_STATUS_MESSAGE,
  PROP_PROGRESS,
  PROP_ITEMS_DONE,
  PROP_ITEMS_KNOWN,
  PROP_ONLINE,
  PROP_WANTED_ONLINE,
  PROP_NETWORK_AVAILABLE,
  PROP_RETRY_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  QUIT_REQUESTED,
  RECONFIGURED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * cairn_agent_build_config_path:
 * @id: an agent instance id
 *
 * Builds the path of an agent instance's configuration key file.
 *
 * Returns: (transfer full) (type filename): the instance's configuration
 *   file, `$XDG_CONFIG_HOME/cairn/ID.conf`
 *
 * Since: 0.1
 */
char *
cairn_agent_build_config_path (const char *id)
{
  g_autofree char *filename = NULL;

  g_return_val_if_fail (id != NULL, NULL);

  filename = g_strconcat (id, ".conf", NULL);
  return g_build_filename (g_get_user_config_dir (), "cairn", filename, NULL);
}

static void
update_online (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  gboolean online = priv->wanted_online && priv->network_available && priv->retry_time == 0;

  if (priv->skeleton != NULL)
    {
      cairn_agent1_set_wanted_online (priv->skeleton, priv->wanted_online);
      cairn_agent1_set_network_available (priv->skeleton, priv->network_available);
      cairn_agent1_set_retry_time (priv->skeleton, priv->retry_time);
    }
  if (online == priv->online)
    return;
  priv->online = online;
  if (priv->skeleton != NULL)
    cairn_agent1_set_online (priv->skeleton, online);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLINE]);
}

static void
network_changed (GNetworkMonitor *monitor,
                 GParamSpec      *pspec,
                 CairnAgent      *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  gboolean available = g_network_monitor_get_network_available (monitor);

  if (available == priv->network_available)
    return;
  priv->network_available = available;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK_AVAILABLE]);
  update_online (self);
}

/* Configuration */

static gboolean
is_config_property (GParamSpec *pspec)
{
  return pspec->owner_type != CAIRN_TYPE_AGENT &&
         g_type_is_a (pspec->owner_type, CAIRN_TYPE_AGENT) &&
         (pspec->flags & G_PARAM_WRITABLE) != 0 &&
         (pspec->flags & G_PARAM_CONSTRUCT_ONLY) == 0;
}

static gboolean
parse_value (GKeyFile    *key_file,
             GParamSpec  *pspec,
             GValue      *value,
             GError     **error)
{
  const char *key = pspec->name;
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_autoptr(GError) local_error = NULL;

  g_value_init (value, type);
  if (type == G_TYPE_STRING)
    g_value_take_string (value, g_key_file_get_string (key_file, GROUP, key, &local_error));
  else if (type == G_TYPE_BOOLEAN)
    g_value_set_boolean (value, g_key_file_get_boolean (key_file, GROUP, key, &local_error));
  else if (type == G_TYPE_INT || type == G_TYPE_INT64)
    {
      gint64 number = g_key_file_get_int64 (key_file, GROUP, key, &local_error);

      if (type == G_TYPE_INT64)
        g_value_set_int64 (value, number);
      else if (number >= G_MININT && number <= G_MAXINT)
        g_value_set_int (value, number);
      else
        return FALSE;
    }
  else if (type == G_TYPE_UINT || type == G_TYPE_UINT64)
    {
      guint64 number = g_key_file_get_uint64 (key_file, GROUP, key, &local_error);

      if (type == G_TYPE_UINT64)
        g_value_set_uint64 (value, number);
      else if (number <= G_MAXUINT)
        g_value_set_uint (value, number);
      else
        return FALSE;
    }
  else if (type == G_TYPE_DOUBLE)
    g_value_set_double (value, g_key_file_get_double (key_file, GROUP, key, &local_error));
  else if (type == G_TYPE_STRV)
    g_value_take_boxed (value, g_key_file_get_string_list (key_file, GROUP, key, NULL,
                                                           &local_error));
  else if (G_TYPE_IS_ENUM (type))
    {
      g_autofree char *nick = g_key_file_get_string (key_file, GROUP, key, &local_error);
      g_autoptr(GEnumClass) enum_class = g_type_class_ref (type);
      GEnumValue *enum_value;

      if (nick == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      enum_value = g_enum_get_value_by_nick (enum_class, nick);
      if (enum_value == NULL)
        {
          g_autoptr(GString) nicks = g_string_new (NULL);

          for (guint i = 0; i < enum_class->n_values; i++)
            g_string_append_printf (nicks, "%s%s", i > 0 ? ", " : "",
                                    enum_class->values[i].value_nick);
          g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                       "“%s” is not one of: %s", nick, nicks->str);
          return FALSE;
        }
      g_value_set_enum (value, enum_value->value);
    }
  else
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "property type %s cannot be configured", g_type_name (type));
      return FALSE;
    }

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* Validation that changes the value means it was out of range. */
  return !g_param_value_validate (pspec, value);
}

/* "a, b, c": the configuration keys of @klass in order, for messages. */
static char *
list_config_keys (GObjectClass *klass)
{
  g_autofree GParamSpec **pspecs = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  guint n_pspecs;

  pspecs = g_object_class_list_properties (klass, &n_pspecs);
  for (guint i = 0; i < n_pspecs; i++)
    if (is_config_property (pspecs[i]))
      g_ptr_array_add (names, (gpointer) pspecs[i]->name);
  g_ptr_array_sort (names, _cairn_compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (", ", (char **) names->pdata);
}

/* Checks every key of @key_file against the configuration properties of
 * @klass and parses its value. With @pspecs and @values, fills them with
 * every configuration property and its value, the default where the file
 * has none. */
static gboolean
parse_configuration (GObjectClass  *klass,
                     GKeyFile      *key_file,
                     GPtrArray     *pspecs,
                     GArray        *values,
                     GError       **error)
{
  g_autofree GParamSpec **all = NULL;
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, GROUP, NULL, NULL);
  guint n_all;

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, keys[i]);

      if (g_str_equal (keys[i], TYPE_KEY))
        continue;
      if (pspec == NULL || !is_config_property (pspec) || !g_str_equal (pspec->name, keys[i]))
        {
          g_autofree char *known = list_config_keys (klass);

          g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                       "unknown key %s (the keys are: %s)", keys[i],
                       *known ? known : "none");
          return FALSE;
        }
    }

  all = g_object_class_list_properties (klass, &n_all);
  for (guint i = 0; i < n_all; i++)
    {
      GValue value = G_VALUE_INIT;
      g_autoptr(GError) local_error = NULL;

      if (!is_config_property (all[i]))
        continue;
      if (!g_key_file_has_key (key_file, GROUP, all[i]->name, NULL))
        {
          g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (all[i]));
          g_value_copy (g_param_spec_get_default_value (all[i]), &value);
        }
      else if (!parse_value (key_file, all[i], &value, &local_error))
        {
          if (G_IS_VALUE (&value))
            g_value_unset (&value);
          g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID, "key %s: %s",
                       all[i]->name,
                       local_error != NULL ? local_error->message : "value not valid");
          return FALSE;
        }
      if (pspecs == NULL)
        {
          g_value_unset (&value);
          continue;
        }
      g_ptr_array_add (pspecs, all[i]);
      g_array_append_val (values, value);
    }
  return TRUE;
}

/**
 * cairn_agent_check_configuration:
 * @agent_type: a subclass of #CairnAgent
 * @key_file: a configuration, as an instance's file holds it
 * @error: return location for an error
 *
 * Checks a configuration against the configuration properties of
 * @agent_type without creating an agent: every key must be one of them
 * (or `Type`) and every value valid for it. The control service checks a
 * new or changed configuration this way (through `cairn-agent-host
 * --check-configuration`) before it writes it.
 *
 * Returns: %TRUE if the agent would accept it; else %FALSE with
 *   %CAIRN_AGENT_ERROR_INVALID, whose message names the key and, for an
 *   unknown one, the keys the type has
 *
 * Since: 0.1
 */
gboolean
cairn_agent_check_configuration (GType      agent_type,
                                 GKeyFile  *key_file,
                                 GError   **error)
{
  g_autoptr(GTypeClass) klass = NULL;

  g_return_val_if_fail (g_type_is_a (agent_type, CAIRN_TYPE_AGENT), FALSE);
  g_return_val_if_fail (key_file != NULL, FALSE);

  klass = g_type_class_ref (agent_type);
  return parse_configuration (G_OBJECT_CLASS (klass), key_file, NULL, NULL, error);
}

static gboolean
load_configuration (CairnAgent  *self,
                    GError     **error)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  g_autofree char *path = cairn_agent_build_config_path (priv->id);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) pspecs = g_ptr_array_new ();
  g_autoptr(GArray) values = g_array_new (FALSE, TRUE, sizeof (GValue));

  g_array_set_clear_func (values, (GDestroyNotify) g_value_unset);

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      gboolean optional = (cairn_agent_type_get_capabilities (priv->agent_type) &
                           CAIRN_AGENT_CAPABILITY_NO_CONFIG) != 0;

      if (!optional || !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                       "Configuration of agent %s: %s: %s", priv->id, path,
                       local_error->message);
          return FALSE;
        }
      g_clear_error (&local_error);
    }

  if (!parse_configuration (G_OBJECT_GET_CLASS (self), key_file, pspecs, values, &local_error))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Configuration of agent %s: %s: %s", priv->id, path, local_error->message);
      return FALSE;
    }

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 0; i < pspecs->len; i++)
    g_object_set_property (G_OBJECT (self), ((GParamSpec *) g_ptr_array_index (pspecs, i))->name,
                           &g_array_index (values, GValue, i));
  g_object_thaw_notify (G_OBJECT (self));

  return TRUE;
}

/* D-Bus methods */

static gboolean
handle_set_online (CairnAgent1           *skeleton,
                   GDBusMethodInvocation *invocation,
                   gboolean               online,
                   CairnAgent            *self)
{
  cairn_agent_set_wanted_online (self, online);
  cairn_agent1_complete_set_online (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reconfigure (CairnAgent1           *skeleton,
                    GDBusMethodInvocation *invocation,
                    CairnAgent            *self)
{
  g_autoptr(GError) error = NULL;

  if (cairn_agent_reconfigure (self, &error))
    cairn_agent1_complete_reconfigure (skeleton, invocation);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_quit (CairnAgent1           *skeleton,
             GDBusMethodInvocation *invocation,
             CairnAgent            *self)
{
  cairn_agent1_complete_quit (skeleton, invocation);
  cairn_agent_request_quit (self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GInitable */

static gboolean
cairn_agent_initable_init (GInitable     *initable,
                           GCancellable  *cancellable,
                           GError       **error)
{
  CairnAgent *self = CAIRN_AGENT (initable);
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  CairnAgentClass *klass = CAIRN_AGENT_GET_CLASS (self);
  g_autofree char *bus_name = NULL;
  g_autoptr(GError) config_error = NULL;

  g_return_val_if_fail (priv->id != NULL, FALSE);
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (priv->agent_type), FALSE);
  g_return_val_if_fail (CAIRN_IS_STORE (priv->store), FALSE);

  bus_name = g_strconcat ("org.cairn.Agent.", priv->id, NULL);
  if (strchr (priv->id, '.') != NULL || !g_dbus_is_name (bus_name) ||
      g_dbus_is_unique_name (bus_name))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent instance id “%s” is not valid: use letters, digits, _ and -, "
                   "not starting with a digit", priv->id);
      return FALSE;
    }

  if (!load_configuration (self, &config_error))
    cairn_agent_set_status (self, CAIRN_AGENT_STATUS_NOT_CONFIGURED, config_error->message);

  if (cairn_agent_type_get_capabilities (priv->agent_type) & CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK)
    {
      priv->network_monitor = g_object_ref (g_network_monitor_get_default ());
      g_signal_connect_object (priv->network_monitor, "notify::network-available",
                               G_CALLBACK (network_changed), self, 0);
      priv->network_available = g_network_monitor_get_network_available (priv->network_monitor);
      update_online (self);
    }

  if (CAIRN_IS_OBSERVER (self))
    {
      priv->recorder = cairn_change_recorder_new (priv->store, priv->id, error);
      if (priv->recorder == NULL)
        return FALSE;
      cairn_monitor_set_observer (CAIRN_MONITOR (priv->recorder), CAIRN_OBSERVER (self));
      /* A resource replays the changes of its own collections, and not
       * what it wrote itself while syncing, and writes whole items to its
       * backend; its setup may narrow the fetch scope. */
      if (cairn_agent_type_get_capabilities (priv->agent_type) & CAIRN_AGENT_CAPABILITY_RESOURCE)
        {
          g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

          cairn_fetch_scope_set_all_parts (scope, TRUE);
          cairn_fetch_scope_set_attributes (scope, TRUE);
          cairn_monitor_add_resource (CAIRN_MONITOR (priv->recorder), priv->id);
          /* Tags are not owned by a resource; every other kind of change
           * in its collections is its to replay or to refuse. */
          cairn_monitor_add_entity_kind (CAIRN_MONITOR (priv->recorder), CAIRN_ENTITY_ITEM);
          cairn_monitor_add_entity_kind (CAIRN_MONITOR (priv->recorder), CAIRN_ENTITY_COLLECTION);
          cairn_monitor_add_entity_kind (CAIRN_MONITOR (priv->recorder), CAIRN_ENTITY_RELATION);
          cairn_monitor_set_ignore_own_origin (CAIRN_MONITOR (priv->recorder), TRUE);
          cairn_monitor_set_fetch_scope (CAIRN_MONITOR (priv->recorder), scope);
        }
    }

  if (klass->setup != NULL && !klass->setup (self, error))
    {
      cairn_agent_stop (self);
      return FALSE;
    }
  return TRUE;
}

static void
cairn_agent_initable_iface_init (GInitableIface *iface)
{
  iface->init = cairn_agent_initable_init;
}

/* GObject */

static void
cairn_agent_dispose (GObject *object)
{
  cairn_agent_stop (CAIRN_AGENT (object));

  G_OBJECT_CLASS (cairn_agent_parent_class)->dispose (object);
}

static void
cairn_agent_finalize (GObject *object)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (CAIRN_AGENT (object));

  g_free (priv->id);
  g_clear_object (&priv->agent_type);
  g_clear_object (&priv->store);
  g_free (priv->status_message);

  G_OBJECT_CLASS (cairn_agent_parent_class)->finalize (object);
}

static void
cairn_agent_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (CAIRN_AGENT (object));

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, priv->id);
      break;
    case PROP_AGENT_TYPE:
      g_value_set_object (value, priv->agent_type);
      break;
    case PROP_STORE:
      g_value_set_object (value, priv->store);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, priv->status);
      break;
    case PROP_STATUS_MESSAGE:
      g_value_set_string (value, priv->status_message);
      break;
    case PROP_PROGRESS:
      g_value_set_uint (value, priv->progress);
      break;
    case PROP_ITEMS_DONE:
      g_value_set_uint64 (value, priv->items_done);
      break;
    case PROP_ITEMS_KNOWN:
      g_value_set_uint64 (value, priv->items_known);
      break;
    case PROP_ONLINE:
      g_value_set_boolean (value, priv->online);
      break;
    case PROP_WANTED_ONLINE:
      g_value_set_boolean (value, priv->wanted_online);
      break;
    case PROP_NETWORK_AVAILABLE:
      g_value_set_boolean (value, priv->network_available);
      break;
    case PROP_RETRY_TIME:
      g_value_set_int64 (value, priv->retry_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_agent_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  CairnAgent *self = CAIRN_AGENT (object);
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ID:
      priv->id = g_value_dup_string (value);
      break;
    case PROP_AGENT_TYPE:
      priv->agent_type = g_value_dup_object (value);
      break;
    case PROP_STORE:
      priv->store = g_value_dup_object (value);
      break;
    case PROP_PROGRESS:
      cairn_agent_set_progress (self, g_value_get_uint (value));
      break;
    case PROP_WANTED_ONLINE:
      cairn_agent_set_wanted_online (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/**
 * CairnAgentClass::setup:
 * @self: a #CairnAgent
 * @error: return location for an error
 *
 * Called once, at the end of initialisation, after the configuration is
 * loaded and the change recorder created; the recorder's scope can still
 * be set.
 *
 * Returns: %TRUE on success; %FALSE with @error set makes initialisation
 *   fail
 *
 * Since: 0.1
 */

/**
 * CairnAgentClass::quit_requested:
 * @self: a #CairnAgent
 *
 * Class handler of #CairnAgent::quit-requested.
 *
 * Since: 0.1
 */

/**
 * CairnAgentClass::dbus_register:
 * @self: a #CairnAgent
 * @connection: the bus connection the agent is exported on
 * @object_path: the agent's object path
 * @error: return location for an error
 *
 * Exports the subclass's own D-Bus interfaces at @object_path, beside
 * `org.cairn.Agent1`; called by cairn_agent_export(). Named as
 * #GApplicationClass's, not `export`, which C++ reserves.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */

/**
 * CairnAgentClass::dbus_unregister:
 * @self: a #CairnAgent
 *
 * Withdraws the interfaces #CairnAgentClass.dbus_register exported;
 * called by cairn_agent_stop().
 *
 * Since: 0.1
 */

/**
 * CairnAgentClass::reconfigured:
 * @self: a #CairnAgent
 *
 * Class handler of #CairnAgent::reconfigured.
 *
 * Since: 0.1
 */

static void
cairn_agent_class_init (CairnAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_agent_dispose;
  object_class->finalize = cairn_agent_finalize;
  object_class->get_property = cairn_agent_get_property;
  object_class->set_property = cairn_agent_set_property;

  /**
   * CairnAgent:id:
   *
   * The instance id: letters, digits, `_` and `-`, not starting with a
   * digit, so that `org.cairn.Agent.ID` is a bus name.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:agent-type:
   *
   * The agent's type.
   *
   * Since: 0.1
   */
  properties[PROP_AGENT_TYPE] =
    g_param_spec_object ("agent-type", NULL, NULL, CAIRN_TYPE_AGENT_TYPE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:store:
   *
   * The store the agent works on.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:status:
   *
   * What the agent is doing; set with cairn_agent_set_status().
   *
   * Since: 0.1
   */
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, CAIRN_TYPE_AGENT_STATUS, CAIRN_AGENT_STATUS_IDLE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:status-message:
   *
   * A human readable explanation of the status, or %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_STATUS_MESSAGE] =
    g_param_spec_string ("status-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:progress:
   *
   * The progress of the current work, 0 to 100.
   *
   * Since: 0.1
   */
  properties[PROP_PROGRESS] =
    g_param_spec_uint ("progress", NULL, NULL, 0, 100, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:items-done:
   *
   * How many items the current work has handled, when it counts items (a
   * sync does); 0 otherwise.
   *
   * Since: 0.1
   */
  properties[PROP_ITEMS_DONE] =
    g_param_spec_uint64 ("items-done", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:items-known:
   *
   * How many items the current work knows it has to handle so far; it
   * grows as the work learns of more. 0 when the work does not count
   * items.
   *
   * Since: 0.1
   */
  properties[PROP_ITEMS_KNOWN] =
    g_param_spec_uint64 ("items-known", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:online:
   *
   * Whether the agent is online: #CairnAgent:wanted-online,
   * #CairnAgent:network-available and not temporarily offline.
   *
   * Since: 0.1
   */
  properties[PROP_ONLINE] =
    g_param_spec_boolean ("online", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:wanted-online:
   *
   * The online state the user asked for.
   *
   * Since: 0.1
   */
  properties[PROP_WANTED_ONLINE] =
    g_param_spec_boolean ("wanted-online", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:network-available:
   *
   * Whether the network is available; always %TRUE for types without
   * `NeedsNetwork`.
   *
   * Since: 0.1
   */
  properties[PROP_NETWORK_AVAILABLE] =
    g_param_spec_boolean ("network-available", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnAgent:retry-time:
   *
   * When a temporarily offline agent goes online again, in seconds since
   * the epoch; 0 when it is not temporarily offline.
   *
   * Since: 0.1
   */
  properties[PROP_RETRY_TIME] =
    g_param_spec_int64 ("retry-time", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnAgent::quit-requested:
   * @self: the agent
   *
   * The agent was asked to stop, over D-Bus or with
   * cairn_agent_request_quit(). The host stops the agent and exits.
   *
   * Since: 0.1
   */
  signals[QUIT_REQUESTED] =
    g_signal_new ("quit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CairnAgentClass, quit_requested), NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * CairnAgent::reconfigured:
   * @self: the agent
   *
   * cairn_agent_reconfigure() loaded a changed configuration (the control
   * service calls it when a user changes one); its properties are set.
   * A resource synchronizes again, as what it synchronizes may have
   * changed.
   *
   * Since: 0.1
   */
  signals[RECONFIGURED] =
    g_signal_new ("reconfigured", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CairnAgentClass, reconfigured), NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
cairn_agent_init (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  priv->status = CAIRN_AGENT_STATUS_IDLE;
  priv->online = TRUE;
  priv->wanted_online = TRUE;
  priv->network_available = TRUE;
}

/**
 * cairn_agent_get_id:
 * @self: a #CairnAgent
 *
 * Gets the instance id.
 *
 * Returns: the instance id
 *
 * Since: 0.1
 */
const char *
cairn_agent_get_id (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), NULL);

  return priv->id;
}

/**
 * cairn_agent_get_agent_type:
 * @self: a #CairnAgent
 *
 * Gets the type the agent is an instance of.
 *
 * Returns: (transfer none): the agent's type
 *
 * Since: 0.1
 */
CairnAgentType *
cairn_agent_get_agent_type (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), NULL);

  return priv->agent_type;
}

/**
 * cairn_agent_get_store:
 * @self: a #CairnAgent
 *
 * Gets the store the agent works on.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_agent_get_store (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), NULL);

  return priv->store;
}

/**
 * cairn_agent_get_recorder:
 * @self: a #CairnAgent
 *
 * Gets the agent's change recorder.
 *
 * Returns: (transfer none) (nullable): the agent's change recorder; %NULL
 *   if the agent does not implement #CairnObserver or was stopped
 *
 * Since: 0.1
 */
CairnChangeRecorder *
cairn_agent_get_recorder (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), NULL);

  return priv->recorder;
}

/**
 * cairn_agent_get_status:
 * @self: a #CairnAgent
 *
 * Gets the agent's status.
 *
 * Returns: the status
 *
 * Since: 0.1
 */
CairnAgentStatus
cairn_agent_get_status (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), CAIRN_AGENT_STATUS_BROKEN);

  return priv->status;
}

/**
 * cairn_agent_get_status_message:
 * @self: a #CairnAgent
 *
 * Gets the message that goes with the agent's status.
 *
 * Returns: (nullable): the status message
 *
 * Since: 0.1
 */
const char *
cairn_agent_get_status_message (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), NULL);

  return priv->status_message;
}

/**
 * cairn_agent_set_status:
 * @self: a #CairnAgent
 * @status: the new status
 * @message: (nullable): a human readable explanation
 *
 * Sets the status and its message, and emits `StatusChanged` on D-Bus
 * when either changed.
 *
 * Since: 0.1
 */
void
cairn_agent_set_status (CairnAgent       *self,
                        CairnAgentStatus  status,
                        const char       *message)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  gboolean changed = FALSE;

  g_return_if_fail (CAIRN_IS_AGENT (self));
  g_return_if_fail (status <= CAIRN_AGENT_STATUS_DEGRADED);

  if (status != priv->status)
    {
      priv->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
      changed = TRUE;
    }
  if (g_strcmp0 (message, priv->status_message) != 0)
    {
      g_free (priv->status_message);
      priv->status_message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_MESSAGE]);
      changed = TRUE;
    }
  if (changed && priv->skeleton != NULL)
    {
      cairn_agent1_set_status (priv->skeleton, status);
      cairn_agent1_set_status_message (priv->skeleton, message ? message : "");
      cairn_agent1_emit_status_changed (priv->skeleton, status, message ? message : "");
    }
}

/**
 * cairn_agent_get_progress:
 * @self: a #CairnAgent
 *
 * Gets the progress of the current operation, in percent.
 *
 * Returns: the progress, 0 to 100
 *
 * Since: 0.1
 */
guint
cairn_agent_get_progress (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), 0);

  return priv->progress;
}

/**
 * cairn_agent_get_items_done:
 * @self: a #CairnAgent
 *
 * Gets how many items the current operation has done, as #CairnAgent:items-done
 * says.
 *
 * Returns: #CairnAgent:items-done
 *
 * Since: 0.1
 */
guint64
cairn_agent_get_items_done (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), 0);

  return priv->items_done;
}

/**
 * cairn_agent_get_items_known:
 * @self: a #CairnAgent
 *
 * Gets how many items the current operation knows it has to do, as
 * #CairnAgent:items-known says.
 *
 * Returns: #CairnAgent:items-known
 *
 * Since: 0.1
 */
guint64
cairn_agent_get_items_known (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), 0);

  return priv->items_known;
}

/**
 * cairn_agent_set_progress:
 * @self: a #CairnAgent
 * @progress: the progress, 0 to 100
 *
 * Sets the progress of work that does not count items:
 * cairn_agent_set_item_progress() with no items.
 *
 * Since: 0.1
 */
void
cairn_agent_set_progress (CairnAgent *self,
                          guint       progress)
{
  cairn_agent_set_item_progress (self, progress, 0, 0);
}

/**
 * cairn_agent_set_item_progress:
 * @self: a #CairnAgent
 * @progress: the progress, 0 to 100
 * @items_done: how many items the work has handled
 * @items_known: how many it knows it has to handle so far
 *
 * Sets the progress of the current work and the items it counts, and
 * emits `ProgressChanged` on D-Bus when any of them changed. Users are
 * shown "@items_done of @items_known items": a sync of one large
 * collection moves on item by item, not from 0 to 100 at its end.
 *
 * Since: 0.1
 */
void
cairn_agent_set_item_progress (CairnAgent *self,
                               guint       progress,
                               guint64     items_done,
                               guint64     items_known)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  GObject *object = G_OBJECT (self);

  g_return_if_fail (CAIRN_IS_AGENT (self));
  g_return_if_fail (progress <= 100);
  g_return_if_fail (items_done <= items_known);

  if (progress == priv->progress && items_done == priv->items_done &&
      items_known == priv->items_known)
    return;

  g_object_freeze_notify (object);
  if (progress != priv->progress)
    {
      priv->progress = progress;
      g_object_notify_by_pspec (object, properties[PROP_PROGRESS]);
    }
  if (items_done != priv->items_done)
    {
      priv->items_done = items_done;
      g_object_notify_by_pspec (object, properties[PROP_ITEMS_DONE]);
    }
  if (items_known != priv->items_known)
    {
      priv->items_known = items_known;
      g_object_notify_by_pspec (object, properties[PROP_ITEMS_KNOWN]);
    }
  g_object_thaw_notify (object);

  if (priv->skeleton != NULL)
    {
      cairn_agent1_set_progress (priv->skeleton, progress);
      cairn_agent1_set_items_done (priv->skeleton, items_done);
      cairn_agent1_set_items_known (priv->skeleton, items_known);
      cairn_agent1_emit_progress_changed (priv->skeleton, progress, items_done, items_known);
    }
}

/**
 * cairn_agent_get_online:
 * @self: a #CairnAgent
 *
 * Gets whether the agent is online.
 *
 * Returns: whether the agent is online
 *
 * Since: 0.1
 */
gboolean
cairn_agent_get_online (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), FALSE);

  return priv->online;
}

/**
 * cairn_agent_get_wanted_online:
 * @self: a #CairnAgent
 *
 * Gets the online state the user asked for.
 *
 * Returns: the online state the user asked for
 *
 * Since: 0.1
 */
gboolean
cairn_agent_get_wanted_online (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), FALSE);

  return priv->wanted_online;
}

/**
 * cairn_agent_set_wanted_online:
 * @self: a #CairnAgent
 * @online: the state the user wants
 *
 * Sets the online state the user wants (D-Bus `SetOnline`).
 *
 * Since: 0.1
 */
void
cairn_agent_set_wanted_online (CairnAgent *self,
                               gboolean    online)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_AGENT (self));

  online = !!online;
  if (online == priv->wanted_online)
    return;
  priv->wanted_online = online;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WANTED_ONLINE]);
  update_online (self);
}

/**
 * cairn_agent_get_network_available:
 * @self: a #CairnAgent
 *
 * Gets whether the network the agent needs is available.
 *
 * Returns: whether the network is available, %TRUE for types that do not
 *   need it
 *
 * Since: 0.1
 */
gboolean
cairn_agent_get_network_available (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), FALSE);

  return priv->network_available;
}

static gboolean
retry_due (gpointer data)
{
  CairnAgent *self = data;
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  priv->retry_source = 0;
  cairn_agent_set_temporarily_offline (self, 0);
  return G_SOURCE_REMOVE;
}

/**
 * cairn_agent_set_temporarily_offline:
 * @self: a #CairnAgent
 * @retry_seconds: how long to stay offline; 0 ends a temporary offline
 *   state at once
 *
 * Takes the agent offline for @retry_seconds, typically after a backend
 * error, and sets #CairnAgent:retry-time. When the time is up the agent
 * is online again (if wanted and the network is there).
 *
 * Since: 0.1
 */
void
cairn_agent_set_temporarily_offline (CairnAgent *self,
                                     guint       retry_seconds)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  gint64 retry_time = 0;

  g_return_if_fail (CAIRN_IS_AGENT (self));

  g_clear_handle_id (&priv->retry_source, g_source_remove);
  if (retry_seconds > 0)
    {
      retry_time = g_get_real_time () / G_USEC_PER_SEC + retry_seconds;
      priv->retry_source = g_timeout_add_seconds (retry_seconds, retry_due, self);
    }
  if (retry_time != priv->retry_time)
    {
      priv->retry_time = retry_time;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETRY_TIME]);
    }
  update_online (self);
}

/**
 * cairn_agent_get_retry_time:
 * @self: a #CairnAgent
 *
 * Gets when a temporarily offline agent goes online again.
 *
 * Returns: when a temporarily offline agent goes online again, in seconds
 *   since the epoch, or 0
 *
 * Since: 0.1
 */
gint64
cairn_agent_get_retry_time (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_AGENT (self), 0);

  return priv->retry_time;
}

/**
 * cairn_agent_reconfigure:
 * @self: a #CairnAgent
 * @error: return location for an error
 *
 * Reads the instance's configuration file again and sets the
 * configuration properties, then emits #CairnAgent::reconfigured. If the
 * file is not valid, nothing is set, the status becomes
 * %CAIRN_AGENT_STATUS_NOT_CONFIGURED with the reason, and
 * %CAIRN_AGENT_ERROR_INVALID is returned; a valid file ends a
 * not-configured status.
 *
 * Returns: %TRUE if the configuration was loaded
 *
 * Since: 0.1
 */
gboolean
cairn_agent_reconfigure (CairnAgent  *self,
                         GError     **error)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (CAIRN_IS_AGENT (self), FALSE);

  if (!load_configuration (self, &local_error))
    {
      cairn_agent_set_status (self, CAIRN_AGENT_STATUS_NOT_CONFIGURED, local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (priv->status == CAIRN_AGENT_STATUS_NOT_CONFIGURED)
    cairn_agent_set_status (self, CAIRN_AGENT_STATUS_IDLE, NULL);
  g_signal_emit (self, signals[RECONFIGURED], 0);
  return TRUE;
}

/**
 * cairn_agent_request_quit:
 * @self: a #CairnAgent
 *
 * Asks the agent's host to stop it: emits #CairnAgent::quit-requested
 * (D-Bus `Quit`).
 *
 * Since: 0.1
 */
void
cairn_agent_request_quit (CairnAgent *self)
{
  g_return_if_fail (CAIRN_IS_AGENT (self));

  g_signal_emit (self, signals[QUIT_REQUESTED], 0);
}

/**
 * cairn_agent_export:
 * @self: a #CairnAgent
 * @connection: a connection to the session bus
 * @error: return location for an error
 *
 * Exports `org.cairn.Agent1` at `/org/cairn/Agent` on @connection. The
 * caller owns the bus name `org.cairn.Agent.ID`.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_agent_export (CairnAgent       *self,
                    GDBusConnection  *connection,
                    GError          **error)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);
  CairnAgentClass *klass = CAIRN_AGENT_GET_CLASS (self);
  g_autoptr(CairnAgent1) skeleton = cairn_agent1_skeleton_new ();

  g_return_val_if_fail (CAIRN_IS_AGENT (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (priv->skeleton == NULL, FALSE);

  cairn_agent1_set_id (skeleton, priv->id);
  cairn_agent1_set_type_ (skeleton, cairn_agent_type_get_id (priv->agent_type));
  cairn_agent1_set_status (skeleton, priv->status);
  cairn_agent1_set_status_message (skeleton, priv->status_message ? priv->status_message : "");
  cairn_agent1_set_progress (skeleton, priv->progress);
  cairn_agent1_set_items_done (skeleton, priv->items_done);
  cairn_agent1_set_items_known (skeleton, priv->items_known);
  cairn_agent1_set_online (skeleton, priv->online);
  g_signal_connect_object (skeleton, "handle-set-online", G_CALLBACK (handle_set_online), self,
                           0);
  g_signal_connect_object (skeleton, "handle-reconfigure", G_CALLBACK (handle_reconfigure),
                           self, 0);
  g_signal_connect_object (skeleton, "handle-quit", G_CALLBACK (handle_quit), self, 0);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), connection,
                                         OBJECT_PATH, error))
    return FALSE;
  priv->skeleton = g_steal_pointer (&skeleton);
  update_online (self);
  if (klass->dbus_register != NULL &&
      !klass->dbus_register (self, connection, OBJECT_PATH, error))
    {
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (priv->skeleton));
      g_clear_object (&priv->skeleton);
      return FALSE;
    }
  return TRUE;
}

/**
 * cairn_agent_stop:
 * @self: a #CairnAgent
 *
 * Stops the agent: drops its change recorder (a change being delivered
 * and not yet processed is delivered again next time), unexports it from
 * D-Bus and stops watching the network and the retry timer. A callback
 * running now is not interrupted; call this from the main loop. Calling
 * it again does nothing.
 *
 * Since: 0.1
 */
void
cairn_agent_stop (CairnAgent *self)
{
  CairnAgentPrivate *priv = cairn_agent_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_AGENT (self));

  if (priv->recorder != NULL)
    cairn_monitor_set_observer (CAIRN_MONITOR (priv->recorder), NULL);
  g_clear_object (&priv->recorder);
  if (priv->skeleton != NULL)
    {
      if (CAIRN_AGENT_GET_CLASS (self)->dbus_unregister != NULL)
        CAIRN_AGENT_GET_CLASS (self)->dbus_unregister (self);
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (priv->skeleton));
    }
  g_clear_object (&priv->skeleton);
  if (priv->network_monitor != NULL)
    g_signal_handlers_disconnect_by_data (priv->network_monitor, self);
  g_clear_object (&priv->network_monitor);
  g_clear_handle_id (&priv->retry_source, g_source_remove);
}
