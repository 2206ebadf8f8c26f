/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <libsecret/secret.h>

#include "cairn-secrets.h"

/**
 * CairnSecrets:
 *
 * The passwords and tokens of one agent instance, kept in the Secret
 * Service (GNOME Keyring, KeePassXC...) through libsecret.
 *
 * Every secret is an item of the schema `org.cairn.Secret` with the string
 * attributes `instance` (the agent instance id) and `name` (chosen by the
 * agent: `password`, `oauth2-refresh-token`...), stored in the default
 * collection with the label `Cairn: INSTANCE NAME`. Instances never see
 * each other's secrets.
 *
 * Secrets never reach a log, a key file, the store, argv or the
 * environment; libsecret keeps them in non-pageable memory that is wiped
 * when released. Strings returned by cairn_secrets_lookup_sync() are
 * ordinary memory: wipe them when done.
 *
 * #CairnSecrets never shows a prompt: a locked keyring gives
 * %CAIRN_SECRETS_ERROR_UNAVAILABLE at once, so a background agent never
 * waits for a user who is not there. The `_sync` calls block on D-Bus; the
 * `_async` ones run them in a worker thread. A cancelled call fails with
 * %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */

struct _CairnSecrets
{
  GObject parent_instance;

  char *instance;
};

/**
 * cairn_secrets_error_quark:
 *
 * Gets the error domain of the secrets functions.
 *
 * Returns: the #GQuark of %CAIRN_SECRETS_ERROR, whose codes are
 *   #CairnSecretsError
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (cairn-secrets-error-quark, cairn_secrets_error)

G_DEFINE_FINAL_TYPE (CairnSecrets, cairn_secrets, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INSTANCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_COLLECTION_PATH "/org/freedesktop/secrets/aliases/default"

static const SecretSchema schema = {
  "org.cairn.Secret", SECRET_SCHEMA_NONE,
  {
    { "instance", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/* What one call works on; the secret stays in libsecret's wiped memory. */
typedef struct
{
  char *name;
  SecretValue *secret;
} Request;

static void
request_free (Request *request)
{
  g_free (request->name);
  g_clear_pointer (&request->secret, secret_value_unref);
  g_free (request);
}

/* Frees a copy of a secret, wiping it first. */
static void
secret_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static void
cairn_secrets_finalize (GObject *object)
{
  CairnSecrets *self = CAIRN_SECRETS (object);

  g_free (self->instance);

  G_OBJECT_CLASS (cairn_secrets_parent_class)->finalize (object);
}

static void
cairn_secrets_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CairnSecrets *self = CAIRN_SECRETS (object);

  switch (prop_id)
    {
    case PROP_INSTANCE:
      g_value_set_string (value, self->instance);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_secrets_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  CairnSecrets *self = CAIRN_SECRETS (object);

  switch (prop_id)
    {
    case PROP_INSTANCE:
      self->instance = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_secrets_class_init (CairnSecretsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_secrets_finalize;
  object_class->get_property = cairn_secrets_get_property;
  object_class->set_property = cairn_secrets_set_property;

  /**
   * CairnSecrets:instance:
   *
   * The agent instance id the secrets belong to.
   *
   * Since: 0.1
   */
  properties[PROP_INSTANCE] =
    g_param_spec_string ("instance", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_secrets_init (CairnSecrets *self)
{
}

/**
 * cairn_secrets_new:
 * @instance: a non-empty agent instance id
 *
 * Creates the secrets of @instance. Nothing is contacted until the first
 * call.
 *
 * Returns: (transfer full): a new #CairnSecrets
 *
 * Since: 0.1
 */
CairnSecrets *
cairn_secrets_new (const char *instance)
{
  g_return_val_if_fail (instance != NULL && *instance != '\0', NULL);
  g_return_val_if_fail (g_utf8_validate (instance, -1, NULL), NULL);

  return g_object_new (CAIRN_TYPE_SECRETS, "instance", instance, NULL);
}

/**
 * cairn_secrets_get_instance:
 * @self: a #CairnSecrets
 *
 * Gets the agent instance whose secrets these are.
 *
 * Returns: the agent instance id
 *
 * Since: 0.1
 */
const char *
cairn_secrets_get_instance (CairnSecrets *self)
{
  g_return_val_if_fail (CAIRN_IS_SECRETS (self), NULL);

  return self->instance;
}

/* Validation: D-Bus carries only UTF-8 strings (a C string holds no NUL
 * anyway), and an empty name or secret means nothing. */

static gboolean
check_name (CairnSecrets  *self,
            const char    *name,
            GError       **error)
{
  if (*name == '\0' || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID,
                   "A secret name of %s must be non-empty UTF-8", self->instance);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_secret (CairnSecrets  *self,
              const char    *name,
              const char    *secret,
              GError       **error)
{
  if (*secret == '\0' || !g_utf8_validate (secret, -1, NULL))
    {
      g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID,
                   "Secret %s of %s must be non-empty UTF-8", name, self->instance);
      return FALSE;
    }
  return TRUE;
}

/* Errors */

static CairnSecretsError
error_code (const GError *error)
{
  if (error->domain == SECRET_ERROR)
    {
      switch (error->code)
        {
        case SECRET_ERROR_IS_LOCKED:
          return CAIRN_SECRETS_ERROR_UNAVAILABLE;
        case SECRET_ERROR_NO_SUCH_OBJECT:
          return CAIRN_SECRETS_ERROR_NOT_FOUND;
        default:
          return CAIRN_SECRETS_ERROR_FAILED;
        }
    }
  /* No bus, no service on it, or a service that went away. */
  if (error->domain == G_IO_ERROR ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND))
    return CAIRN_SECRETS_ERROR_UNAVAILABLE;
  return CAIRN_SECRETS_ERROR_FAILED;
}

/* Turns a libsecret, GDBus or GIO error into a CAIRN_SECRETS_ERROR,
 * keeping cancellation as G_IO_ERROR_CANCELLED. Takes @local. */
static void
propagate_error (CairnSecrets  *self,
                 const char    *action,
                 const char    *name,
                 GError        *local,
                 GError       **error)
{
  g_autoptr(GError) owned = local;

  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&owned));
      return;
    }
  g_dbus_error_strip_remote_error (local);
  g_set_error (error, CAIRN_SECRETS_ERROR, error_code (local), "Cannot %s secret %s of %s: %s",
               action, name != NULL ? name : "(all)", self->instance, local->message);
}

static SecretService *
get_service (CairnSecrets  *self,
             const char    *action,
             const char    *name,
             GCancellable  *cancellable,
             GError       **error)
{
  GError *local = NULL;
  SecretService *service;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION, cancellable, &local);
  if (service == NULL)
    propagate_error (self, action, name, local, error);
  return service;
}

static void
set_locked_error (CairnSecrets  *self,
                  const char    *action,
                  const char    *name,
                  GError       **error)
{
  g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE,
               "Cannot %s secret %s of %s: the keyring is locked", action,
               name != NULL ? name : "(all)", self->instance);
}

/* Asks the service itself rather than a SecretCollection: a proxy's cached
 * Locked property is only updated in the main context it was made in. */
static gboolean
check_can_store (CairnSecrets   *self,
                        SecretService  *service,
                        const char     *name,
                        GCancellable   *cancellable,
                        GError        **error)
{
  GDBusProxy *proxy = G_DBUS_PROXY (service);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) locked = NULL;
  GError *local = NULL;

  reply = g_dbus_connection_call_sync (g_dbus_proxy_get_connection (proxy),
                                       g_dbus_proxy_get_name (proxy), DEFAULT_COLLECTION_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.freedesktop.Secret.Collection",
                                                      "Locked"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       cancellable, &local);
  if (reply == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      g_dbus_error_strip_remote_error (local);
      g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE,
                   "Cannot store secret %s of %s: no default keyring: %s", name, self->instance,
                   local->message);
      g_error_free (local);
      return FALSE;
    }

  g_variant_get (reply, "(v)", &locked);
  if (!g_variant_is_of_type (locked, G_VARIANT_TYPE_BOOLEAN) || g_variant_get_boolean (locked))
    {
      set_locked_error (self, "store", name, error);
      return FALSE;
    }
  return TRUE;
}

static GHashTable *
build_attributes (CairnSecrets *self,
                  const char   *name)
{
  if (name == NULL)
    return secret_attributes_build (&schema, "instance", self->instance, NULL);
  return secret_attributes_build (&schema, "instance", self->instance, "name", name, NULL);
}

/* The operations, run by the _sync calls and in the worker threads. */

static gboolean
store_value (CairnSecrets  *self,
             const char    *name,
             SecretValue   *secret,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attributes = build_attributes (self, name);
  g_autofree char *label = g_strdup_printf ("Cairn: %s %s", self->instance, name);
  GError *local = NULL;

  service = get_service (self, "store", name, cancellable, error);
  if (service == NULL)
    return FALSE;
  if (!check_can_store (self, service, name, cancellable, error))
    return FALSE;
  if (!secret_service_store_sync (service, &schema, attributes, SECRET_COLLECTION_DEFAULT, label,
                                  secret, cancellable, &local))
    {
      propagate_error (self, "store", name, local, error);
      return FALSE;
    }
  return TRUE;
}

static char *
lookup_value (CairnSecrets  *self,
              const char    *name,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attributes = build_attributes (self, name);
  g_autolist(SecretItem) items = NULL;
  g_autoptr(SecretValue) value = NULL;
  GError *local = NULL;
  const char *text;

  service = get_service (self, "look up", name, cancellable, error);
  if (service == NULL)
    return NULL;

  /* Without SECRET_SEARCH_UNLOCK: locked items are returned, not prompted for. */
  items = secret_service_search_sync (service, &schema, attributes, SECRET_SEARCH_LOAD_SECRETS,
                                      cancellable, &local);
  if (local != NULL)
    {
      propagate_error (self, "look up", name, local, error);
      return NULL;
    }
  if (items == NULL)
    {
      g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_NOT_FOUND,
                   "No secret %s is stored for %s", name, self->instance);
      return NULL;
    }
  if (secret_item_get_locked (items->data))
    {
      set_locked_error (self, "look up", name, error);
      return NULL;
    }

  value = secret_item_get_secret (items->data);
  text = value != NULL ? secret_value_get_text (value) : NULL;
  if (text == NULL)
    {
      g_set_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_FAILED,
                   "Secret %s of %s could not be read as text", name, self->instance);
      return NULL;
    }
  return g_strdup (text);
}

static gboolean
clear_values (CairnSecrets  *self,
              const char    *name,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attributes = build_attributes (self, name);
  g_autolist(SecretItem) items = NULL;
  GError *local = NULL;

  service = get_service (self, "clear", name, cancellable, error);
  if (service == NULL)
    return FALSE;

  items = secret_service_search_sync (service, &schema, attributes, SECRET_SEARCH_ALL,
                                      cancellable, &local);
  if (local != NULL)
    {
      propagate_error (self, "clear", name, local, error);
      return FALSE;
    }

  /* Refuse before deleting anything rather than clear half of them. */
  for (GList *l = items; l != NULL; l = l->next)
    {
      if (secret_item_get_locked (l->data))
        {
          set_locked_error (self, "clear", name, error);
          return FALSE;
        }
    }

  for (GList *l = items; l != NULL; l = l->next)
    {
      if (!secret_item_delete_sync (l->data, cancellable, &local))
        {
          /* Deleted by someone else meanwhile: what we wanted. */
          if (g_error_matches (local, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT))
            {
              g_clear_error (&local);
              continue;
            }
          propagate_error (self, "clear", name, local, error);
          return FALSE;
        }
    }
  return TRUE;
}

static void
request_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Request *request = task_data;
  gpointer tag = g_task_get_source_tag (task);
  GError *error = NULL;
  char *secret;
  gboolean done;

  if (tag == cairn_secrets_lookup_async)
    {
      secret = lookup_value (source_object, request->name, cancellable, &error);
      if (secret != NULL)
        g_task_return_pointer (task, secret, (GDestroyNotify) secret_free);
      else
        g_task_return_error (task, error);
      return;
    }

  if (tag == cairn_secrets_store_async)
    done = store_value (source_object, request->name, request->secret, cancellable, &error);
  else
    done = clear_values (source_object, request->name, cancellable, &error);
  if (done)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Runs the call named by @source_tag in a worker thread, or fails at once
 * with @error. */
static void
run_request (CairnSecrets        *self,
             gpointer             source_tag,
             Request             *request,
             GError              *error,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_run_in_thread (task, request_thread);
}

static gboolean
finish_boolean (CairnSecrets  *self,
                GAsyncResult  *result,
                gpointer       source_tag,
                GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cairn_secrets_store_async:
 * @self: a #CairnSecrets
 * @name: the secret's name: non-empty UTF-8
 * @secret: the secret: non-empty UTF-8
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the secret is stored
 * @user_data: data for @callback
 *
 * Stores @secret under @name in a worker thread, as
 * cairn_secrets_store_sync() does. @secret is copied into libsecret's
 * wiped memory before this returns.
 *
 * Since: 0.1
 */
void
cairn_secrets_store_async (CairnSecrets        *self,
                           const char          *name,
                           const char          *secret,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Request *request;
  GError *error = NULL;

  g_return_if_fail (CAIRN_IS_SECRETS (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (secret != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request = g_new0 (Request, 1);
  request->name = g_strdup (name);
  if (check_name (self, name, &error) && check_secret (self, name, secret, &error))
    request->secret = secret_value_new (secret, -1, "text/plain");
  run_request (self, cairn_secrets_store_async, request, error, cancellable, callback, user_data);
}

/**
 * cairn_secrets_store_finish:
 * @self: a #CairnSecrets
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_secrets_store_async().
 *
 * Returns: %TRUE if the secret was stored
 *
 * Since: 0.1
 */
gboolean
cairn_secrets_store_finish (CairnSecrets  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return finish_boolean (self, result, cairn_secrets_store_async, error);
}

/**
 * cairn_secrets_store_sync:
 * @self: a #CairnSecrets
 * @name: the secret's name: non-empty UTF-8
 * @secret: the secret: non-empty UTF-8
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Stores @secret under @name in the default collection, replacing the
 * secret stored under that name before. An empty or non-UTF-8 name or
 * secret gives %CAIRN_SECRETS_ERROR_INVALID; a locked default collection,
 * or none, %CAIRN_SECRETS_ERROR_UNAVAILABLE.
 *
 * This blocks on D-Bus; see cairn_secrets_store_async().
 *
 * Returns: %TRUE if the secret was stored
 *
 * Since: 0.1
 */
gboolean
cairn_secrets_store_sync (CairnSecrets  *self,
                          const char    *name,
                          const char    *secret,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(SecretValue) value = NULL;

  g_return_val_if_fail (CAIRN_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_name (self, name, error) || !check_secret (self, name, secret, error))
    return FALSE;
  value = secret_value_new (secret, -1, "text/plain");
  return store_value (self, name, value, cancellable, error);
}

/**
 * cairn_secrets_lookup_async:
 * @self: a #CairnSecrets
 * @name: the secret's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the secret is read
 * @user_data: data for @callback
 *
 * Looks up the secret stored under @name in a worker thread, as
 * cairn_secrets_lookup_sync() does.
 *
 * Since: 0.1
 */
void
cairn_secrets_lookup_async (CairnSecrets        *self,
                            const char          *name,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Request *request;
  GError *error = NULL;

  g_return_if_fail (CAIRN_IS_SECRETS (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request = g_new0 (Request, 1);
  request->name = g_strdup (name);
  check_name (self, name, &error);
  run_request (self, cairn_secrets_lookup_async, request, error, cancellable, callback, user_data);
}

/**
 * cairn_secrets_lookup_finish:
 * @self: a #CairnSecrets
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_secrets_lookup_async().
 *
 * Returns: (transfer full): the secret, to be wiped and freed with
 *   g_free(), or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_secrets_lookup_finish (CairnSecrets  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_SECRETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_secrets_lookup_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cairn_secrets_lookup_sync:
 * @self: a #CairnSecrets
 * @name: the secret's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Looks up the secret stored under @name. A name with no secret gives
 * %CAIRN_SECRETS_ERROR_NOT_FOUND; a secret in a locked collection
 * %CAIRN_SECRETS_ERROR_UNAVAILABLE (no prompt is shown).
 *
 * This blocks on D-Bus; see cairn_secrets_lookup_async().
 *
 * Returns: (transfer full): the secret, to be wiped and freed with
 *   g_free(), or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_secrets_lookup_sync (CairnSecrets  *self,
                           const char    *name,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_SECRETS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_name (self, name, error))
    return NULL;
  return lookup_value (self, name, cancellable, error);
}

/**
 * cairn_secrets_clear_async:
 * @self: a #CairnSecrets
 * @name: (nullable): the secret's name, or %NULL for all of them
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the secrets are removed
 * @user_data: data for @callback
 *
 * Removes secrets in a worker thread, as cairn_secrets_clear_sync() does.
 *
 * Since: 0.1
 */
void
cairn_secrets_clear_async (CairnSecrets        *self,
                           const char          *name,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Request *request;
  GError *error = NULL;

  g_return_if_fail (CAIRN_IS_SECRETS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request = g_new0 (Request, 1);
  request->name = g_strdup (name);
  if (name != NULL)
    check_name (self, name, &error);
  run_request (self, cairn_secrets_clear_async, request, error, cancellable, callback, user_data);
}

/**
 * cairn_secrets_clear_finish:
 * @self: a #CairnSecrets
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_secrets_clear_async().
 *
 * Returns: %TRUE if the secrets are gone
 *
 * Since: 0.1
 */
gboolean
cairn_secrets_clear_finish (CairnSecrets  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return finish_boolean (self, result, cairn_secrets_clear_async, error);
}

/**
 * cairn_secrets_clear_sync:
 * @self: a #CairnSecrets
 * @name: (nullable): the secret's name, or %NULL for every secret of the
 *   instance
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Removes the secret stored under @name, or every secret of the instance
 * (when removing an agent instance). Clearing what is not stored succeeds.
 * If any of the secrets is in a locked collection, nothing is removed and
 * the call fails with %CAIRN_SECRETS_ERROR_UNAVAILABLE.
 *
 * This blocks on D-Bus; see cairn_secrets_clear_async().
 *
 * Returns: %TRUE if the secrets are gone
 *
 * Since: 0.1
 */
gboolean
cairn_secrets_clear_sync (CairnSecrets  *self,
                          const char    *name,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_SECRETS (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name != NULL && !check_name (self, name, error))
    return FALSE;
  return clear_values (self, name, cancellable, error);
}
