/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control service: it discovers agent types, keeps the instances of
 * $XDG_CONFIG_HOME/cairn/ID.conf under supervision, and answers
 * org.cairn.Control1. It reads .agent files only and never loads a
 * plugin. Every argument that comes over D-Bus is checked here and
 * refused with a D-Bus error that says what is wrong. */
#include "cairn-control-config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cairn-control.h"
#include "cairn-dbus-control.h"

#define AGENT_PATH "/org/cairn/Agent"
#define ERROR_PREFIX "org.cairn.Control1.Error."
#define CONFIG_GROUP "Agent"
#define MAX_KEYS 256
#define MAX_VALUE_BYTES (64 * 1024)
#define MAX_LIST_LENGTH 1024
#define MAX_SHOWN_CHARS 60

struct _CairnControl
{
  GObject parent_instance;

  GDBusConnection *bus;
  CairnStore *store;
  char *store_path;
  char *agent_host;
  CairnControlTimings timings;
  CairnControl1 *skeleton;

  GHashTable *types;
  GHashTable *instances;
  GHashTable *removing;
  GHashTable *configuring;  /* instance id → GQueue of Configure calls, the head running */

  guint busy;
  guint maintenance_source;
  guint committed_subscription;
  GHashTable *checked;      /* idle-exited instance id → revision its log was read to */
  gboolean checking;
  gboolean check_again;
  gboolean maintenance_running;
  gboolean shutting_down;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (CairnControl, cairn_control, G_TYPE_OBJECT)

/* Errors */

static void
return_error (GDBusMethodInvocation *invocation,
              const char            *name,
              const char            *format,
              ...) G_GNUC_PRINTF (3, 4);

static void
return_error (GDBusMethodInvocation *invocation,
              const char            *name,
              const char            *format,
              ...)
{
  g_autofree char *error_name = g_strconcat (ERROR_PREFIX, name, NULL);
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_dbus_method_invocation_return_dbus_error (invocation, error_name, message);
}

/* Passes an agent's D-Bus error on with its own name. */
static void
return_remote_error (GDBusMethodInvocation *invocation,
                     GError                *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);

  if (name == NULL)
    {
      return_error (invocation, "Failed", "%s", error->message);
      return;
    }
  g_dbus_error_strip_remote_error (error);
  g_dbus_method_invocation_return_dbus_error (invocation, name, error->message);
}

/* Strings from the bus are valid UTF-8 but may be huge: error messages
 * show the start of them. */
static char *
shorten (const char *text)
{
  if (g_utf8_strlen (text, MAX_SHOWN_CHARS + 1) <= MAX_SHOWN_CHARS)
    return g_strdup (text);
  {
    g_autofree char *start = g_utf8_substring (text, 0, MAX_SHOWN_CHARS);

    return g_strconcat (start, "…", NULL);
  }
}

/* Identifiers */

/* Instance ids name a file and a bus name element: letters, digits, _
 * and -, not starting with a digit or -. */
static gboolean
is_valid_id (const char *id)
{
  gsize length = strlen (id);

  if (length == 0 || length > 200 || g_ascii_isdigit (id[0]) || id[0] == '-')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '_' && id[i] != '-')
      return FALSE;
  return TRUE;
}

static gboolean
is_valid_key (const char *key)
{
  gsize length = strlen (key);

  if (length == 0 || length > 64 || key[0] == '-')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (key[i]) && key[i] != '_' && key[i] != '-')
      return FALSE;
  return TRUE;
}

static CairnControlInstance *
lookup_instance (CairnControl          *self,
                 GDBusMethodInvocation *invocation,
                 const char            *id)
{
  CairnControlInstance *instance = g_hash_table_lookup (self->instances, id);

  if (instance == NULL || g_hash_table_contains (self->removing, id))
    {
      g_autofree char *shown = shorten (id);

      return_error (invocation, "NotFound", "No instance “%s”", shown);
      return NULL;
    }
  return instance;
}

/* Agent types */

/* The agent search path of libcairn, first one of an id wins. */
void
cairn_control_reload_types (CairnControl *self)
{
  GList *types = cairn_agent_type_get_all ();

  g_hash_table_remove_all (self->types);
  for (GList *l = types; l != NULL; l = l->next)
    g_hash_table_insert (self->types, g_strdup (cairn_agent_type_get_id (l->data)), l->data);
  g_list_free (types);
}

/* The nicks of the registered flags type: resource, unique, autostart,
 * no-config, needs-network. */
static GVariant *
capabilities_to_variant (CairnAgentCapabilities capabilities)
{
  g_autoptr(GFlagsClass) flags = g_type_class_ref (CAIRN_TYPE_AGENT_CAPABILITIES);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;

  for (guint i = 0; i < flags->n_values; i++)
    if (flags->values[i].value != 0 && (capabilities & flags->values[i].value))
      g_strv_builder_add (names, flags->values[i].value_nick);
  list = g_strv_builder_end (names);
  return g_variant_new_strv ((const char * const *) list, -1);
}

/* Instances */

static void
on_status_changed (CairnControlInstance *instance,
                   CairnControl         *self)
{
  g_autofree char *message = cairn_control_instance_dup_message (instance);

  cairn_control1_emit_instance_status_changed (self->skeleton,
                                               cairn_control_instance_get_id (instance),
                                               cairn_control_instance_get_status (instance),
                                               message,
                                               cairn_control_instance_get_state_name (instance));
}

static void
on_progress_changed (CairnControlInstance *instance,
                     CairnControl         *self)
{
  cairn_control1_emit_instance_progress_changed (self->skeleton,
                                                 cairn_control_instance_get_id (instance),
                                                 cairn_control_instance_get_progress (instance),
                                                 cairn_control_instance_get_items_done (instance),
                                                 cairn_control_instance_get_items_known (instance));
}

/* Start on demand: changes to replay */

typedef struct
{
  char *id;
  guint64 from;     /* the revision to read the log after */
  guint64 read_to;  /* filled in by the thread */
  gboolean wake;    /* likewise */
} PendingCheck;

static void
pending_check_free (PendingCheck *check)
{
  g_free (check->id);
  g_free (check);
}

/* Whether the log after check->from holds a change the instance would
 * replay: one in its collections not written by itself (as its recorder
 * sees them, see CairnAgent). Tags belong to no resource. */
static gboolean
has_change_to_replay (CairnStore    *store,
                      PendingCheck  *check,
                      GCancellable  *cancellable,
                      GError       **error)
{
  guint64 revision = check->from;

  while (!g_cancellable_is_cancelled (cancellable))
    {
      g_autoptr(GPtrArray) changes = cairn_store_get_changes_since (store, revision, 256, error);

      if (changes == NULL)
        return FALSE;
      if (changes->len == 0)
        break;
      for (guint i = 0; i < changes->len; i++)
        {
          CairnChange *change = g_ptr_array_index (changes, i);

          revision = cairn_change_get_revision (change);
          if (cairn_change_get_entity_kind (change) != CAIRN_ENTITY_TAG &&
              g_strcmp0 (cairn_change_get_resource (change), check->id) == 0 &&
              g_strcmp0 (cairn_change_get_origin (change), check->id) != 0)
            {
              check->wake = TRUE;
              return TRUE;
            }
        }
    }
  check->read_to = revision;
  return TRUE;
}

static void
check_thread (GTask        *task,
              gpointer      source,
              gpointer      data,
              GCancellable *cancellable)
{
  CairnControl *self = source;
  GPtrArray *checks = data;

  for (guint i = 0; i < checks->len; i++)
    {
      PendingCheck *check = g_ptr_array_index (checks, i);
      g_autoptr(GError) error = NULL;

      check->read_to = check->from;
      if (check->from == 0 &&
          !cairn_store_get_cursor (self->store, check->id, &check->from, &error))
        {
          /* No cursor: the instance has never replayed anything, and its
           * recorder starts at the current revision when it runs. */
          if (!g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
            check->wake = TRUE;
          continue;
        }
      /* A log that cannot be read (collected past the cursor, for one)
       * is for the resource to deal with. */
      if (!has_change_to_replay (self->store, check, cancellable, &error))
        check->wake = TRUE;
    }
  g_task_return_boolean (task, TRUE);
}

static void check_pending_changes (CairnControl *self);

static void
wake_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!cairn_control_instance_wake_finish (CAIRN_CONTROL_INSTANCE (source), result, &error))
    g_debug ("%s", error->message);
}

static void
checked (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  CairnControl *self = CAIRN_CONTROL (source);
  GPtrArray *checks = g_task_get_task_data (G_TASK (result));

  self->checking = FALSE;
  if (g_task_had_error (G_TASK (result)) || self->shutting_down)
    return;
  for (guint i = 0; i < checks->len; i++)
    {
      PendingCheck *check = g_ptr_array_index (checks, i);
      CairnControlInstance *instance = g_hash_table_lookup (self->instances, check->id);

      if (instance == NULL ||
          cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_IDLE_EXITED)
        continue;
      if (check->wake)
        {
          g_hash_table_remove (self->checked, check->id);
          cairn_control_instance_wake_async (instance, wake_done, NULL);
        }
      else
        g_hash_table_insert (self->checked, g_strdup (check->id),
                             g_memdup2 (&check->read_to, sizeof check->read_to));
    }
  if (self->check_again)
    check_pending_changes (self);
}

/* Reads, in a worker thread, the change log after what was read last
 * for each idle-exited instance, and starts those that have something
 * to replay. One read at a time; commits during a read ask for another. */
static void
check_pending_changes (CairnControl *self)
{
  g_autoptr(GPtrArray) checks = NULL;
  g_autoptr(GTask) task = NULL;
  GHashTableIter iter;
  gpointer id, instance;

  if (self->checking)
    {
      self->check_again = TRUE;
      return;
    }
  self->check_again = FALSE;
  checks = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_check_free);
  g_hash_table_iter_init (&iter, self->instances);
  while (g_hash_table_iter_next (&iter, &id, &instance))
    {
      PendingCheck *check;
      guint64 *read_to;

      if (cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_IDLE_EXITED)
        continue;
      check = g_new0 (PendingCheck, 1);
      check->id = g_strdup (id);
      read_to = g_hash_table_lookup (self->checked, id);
      check->from = read_to != NULL ? *read_to : 0;
      g_ptr_array_add (checks, check);
    }
  if (checks->len == 0 || self->shutting_down)
    return;
  self->checking = TRUE;
  task = g_task_new (self, self->cancellable, checked, NULL);
  g_task_set_source_tag (task, check_pending_changes);
  g_task_set_task_data (task, g_steal_pointer (&checks), (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, check_thread);
}

/* Any process that commits says so on the bus (org.cairn.Store1). */
static void
on_committed (GDBusConnection *connection,
              const char      *sender,
              const char      *path,
              const char      *interface,
              const char      *member,
              GVariant        *parameters,
              gpointer         data)
{
  check_pending_changes (data);
}

/* Changes may have come while it was exiting; its log is read from its
 * cursor again. */
static void
on_idle_exited (CairnControlInstance *instance,
                CairnControl         *self)
{
  g_hash_table_remove (self->checked, cairn_control_instance_get_id (instance));
  check_pending_changes (self);
}

static CairnControlInstance *
add_instance (CairnControl *self,
              const char   *id,
              const char   *type_id)
{
  CairnControlInstance *instance =
    cairn_control_instance_new (id, type_id, g_hash_table_lookup (self->types, type_id),
                                self->bus, self->store_path, self->agent_host, &self->timings);

  g_signal_connect_object (instance, "status-changed", G_CALLBACK (on_status_changed), self, 0);
  g_signal_connect_object (instance, "progress-changed", G_CALLBACK (on_progress_changed), self,
                           0);
  g_signal_connect_object (instance, "idle-exited", G_CALLBACK (on_idle_exited), self, 0);
  g_hash_table_insert (self->instances, g_strdup (id), instance);
  return instance;
}

static char *
config_folder (void)
{
  return g_build_filename (g_get_user_config_dir (), "cairn", NULL);
}

static void
load_instances (CairnControl *self)
{
  g_autofree char *folder = config_folder ();
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autoptr(GKeyFile) key_file = g_key_file_new ();
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *id = NULL;
      g_autofree char *type_id = NULL;

      if (!g_str_has_suffix (name, ".conf"))
        continue;
      id = g_strndup (name, strlen (name) - strlen (".conf"));
      if (!is_valid_id (id))
        {
          g_warning ("Ignoring %s: “%s” is not an instance id", path, id);
          continue;
        }
      if (g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, NULL))
        type_id = g_key_file_get_string (key_file, CONFIG_GROUP, "Type", NULL);
      if (type_id == NULL || *type_id == '\0')
        {
          g_warning ("Ignoring %s: no Type in group [" CONFIG_GROUP "]", path);
          continue;
        }
      add_instance (self, id, type_id);
    }
}

static gboolean
type_has_instance (CairnControl *self,
                   const char   *type_id)
{
  GHashTableIter iter;
  gpointer instance;

  g_hash_table_iter_init (&iter, self->instances);
  while (g_hash_table_iter_next (&iter, NULL, &instance))
    if (g_str_equal (cairn_control_instance_get_type_id (instance), type_id))
      return TRUE;
  return FALSE;
}

/* TYPE_N with the first free N; the type id is made a valid id. */
static char *
new_instance_id (CairnControl *self,
                 const char   *type_id)
{
  g_autofree char *base = g_strdup (type_id);

  g_strcanon (base, G_CSET_A_2_Z G_CSET_a_2_z G_CSET_DIGITS "_-", '_');
  if (!is_valid_id (base))
    {
      g_autofree char *prefixed = g_strconcat ("agent_", base, NULL);

      g_free (base);
      base = g_steal_pointer (&prefixed);
    }
  for (guint n = 0;; n++)
    {
      g_autofree char *id = g_strdup_printf ("%s_%u", base, n);
      g_autofree char *path = cairn_agent_build_config_path (id);

      if (!g_hash_table_contains (self->instances, id) && !g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&id);
    }
}

static gboolean
write_key_file (GKeyFile    *key_file,
                const char  *id,
                GError     **error)
{
  g_autofree char *folder = config_folder ();
  g_autofree char *path = cairn_agent_build_config_path (id);
  g_autofree char *contents = g_key_file_to_data (key_file, NULL, NULL);

  g_mkdir_with_parents (folder, 0700);
  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                   error);
}

/* Checking a configuration before it is written: cairn-agent-host loads
 * the type's module and checks every key and value against the agent's
 * properties, as the agent would when it reads the file, so that `add`
 * and `config` refuse what the agent would refuse, with its reason. Types
 * that run their own program (Exec=) check the file when they read it. */

/* cairn-agent-host's exit status for a configuration its agent refuses. */
#define HOST_EXIT_CONFIGURATION 9

typedef struct
{
  char *path;
  GSubprocess *process;
} Check;

static void
check_free (Check *check)
{
  if (check->path != NULL)
    g_unlink (check->path);
  g_free (check->path);
  g_clear_object (&check->process);
  g_free (check);
}

static void
configuration_checked (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Check *check = g_task_get_task_data (task);
  g_autofree char *refusal = NULL;
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (check->process, result, NULL, &refusal, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* A type whose module does not load is shown broken when its instance
   * starts, as it would be after an upgrade that broke it. */
  if (!g_subprocess_get_if_exited (check->process) ||
      g_subprocess_get_exit_status (check->process) != HOST_EXIT_CONFIGURATION)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_return_new_error (task, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID, "%s",
                           g_strstrip (refusal ? refusal : g_strdup ("")));
}

static void
check_configuration_async (CairnControl        *self,
                           CairnAgentType      *type,
                           GKeyFile            *key_file,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, callback, user_data);
  g_autofree char *contents = g_key_file_to_data (key_file, NULL, NULL);
  g_autofree char *module = cairn_agent_type_get_module_path (type);
  Check *check = g_new0 (Check, 1);
  GError *error = NULL;
  int fd;

  g_task_set_task_data (task, check, (GDestroyNotify) check_free);
  if (module == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  fd = g_file_open_tmp ("cairn-configuration-XXXXXX.conf", &check->path, &error);
  if (fd < 0 || !g_close (fd, &error) ||
      !g_file_set_contents_full (check->path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600,
                                 &error))
    {
      g_task_return_error (task, error);
      return;
    }
  check->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                     G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, self->agent_host,
                                     "--check-configuration", check->path, NULL);
  if (check->process == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_subprocess_communicate_utf8_async (check->process, NULL, self->cancellable,
                                       configuration_checked, g_steal_pointer (&task));
}

static gboolean
check_configuration_finish (CairnControl  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Configuration values: what a CairnAgent can parse from its key file. */
static gboolean
set_value (GKeyFile    *key_file,
           const char  *key,
           GVariant    *value,
           GError     **error)
{
  g_autofree char *shown = shorten (key);

  if (!is_valid_key (key))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a configuration key: use letters, digits, - and _", shown);
      return FALSE;
    }
  if (g_str_equal (key, "Type"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the key Type is the instance's agent type and cannot be configured");
      return FALSE;
    }

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_STRING:
      if (g_variant_get_size (value) > MAX_VALUE_BYTES)
        break;
      g_key_file_set_string (key_file, CONFIG_GROUP, key, g_variant_get_string (value, NULL));
      return TRUE;
    case G_VARIANT_CLASS_BOOLEAN:
      g_key_file_set_boolean (key_file, CONFIG_GROUP, key, g_variant_get_boolean (value));
      return TRUE;
    case G_VARIANT_CLASS_BYTE:
    case G_VARIANT_CLASS_INT16:
    case G_VARIANT_CLASS_UINT16:
    case G_VARIANT_CLASS_INT32:
    case G_VARIANT_CLASS_UINT32:
    case G_VARIANT_CLASS_INT64:
    case G_VARIANT_CLASS_UINT64:
      {
        g_autofree char *text = g_variant_print (value, FALSE);

        g_key_file_set_value (key_file, CONFIG_GROUP, key, text);
        return TRUE;
      }
    case G_VARIANT_CLASS_DOUBLE:
      if (!isfinite (g_variant_get_double (value)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "key %s: %g is not a number that can be configured", shown,
                       g_variant_get_double (value));
          return FALSE;
        }
      g_key_file_set_double (key_file, CONFIG_GROUP, key, g_variant_get_double (value));
      return TRUE;
    case G_VARIANT_CLASS_ARRAY:
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY) &&
          g_variant_n_children (value) <= MAX_LIST_LENGTH &&
          g_variant_get_size (value) <= MAX_VALUE_BYTES)
        {
          g_autofree const char **list = g_variant_get_strv (value, NULL);

          g_key_file_set_string_list (key_file, CONFIG_GROUP, key, list,
                                      g_variant_n_children (value));
          return TRUE;
        }
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        break;
      G_GNUC_FALLTHROUGH;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "key %s: a value of D-Bus type %s cannot be configured; use a string, "
                   "boolean, integer, double or string array", shown,
                   g_variant_get_type_string (value));
      return FALSE;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "key %s: the value is too long (at most %u bytes, %u strings)", shown,
               MAX_VALUE_BYTES, MAX_LIST_LENGTH);
  return FALSE;
}

static gboolean
set_values (GKeyFile    *key_file,
            GVariant    *values,
            GError     **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (g_variant_n_children (values) > MAX_KEYS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%" G_GSIZE_FORMAT " keys given; an instance has at most %u",
                   g_variant_n_children (values), MAX_KEYS);
      return FALSE;
    }
  g_variant_iter_init (&iter, values);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      gboolean ok = set_value (key_file, key, value, error);

      g_variant_unref (value);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* D-Bus methods */

static gboolean
refuse_while_shutting_down (CairnControl          *self,
                            GDBusMethodInvocation *invocation)
{
  if (!self->shutting_down)
    return FALSE;
  return_error (invocation, "Failed", "The control service is shutting down");
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static gboolean
handle_list_types (CairnControl1         *skeleton,
                   GDBusMethodInvocation *invocation,
                   CairnControl          *self)
{
  g_autoptr(GPtrArray) ids = NULL;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sssasas)"));

  cairn_control_reload_types (self);
  ids = sorted_keys (self->types);
  for (guint i = 0; i < ids->len; i++)
    {
      CairnAgentType *type = g_hash_table_lookup (self->types, g_ptr_array_index (ids, i));
      const char *description = cairn_agent_type_get_description (type);

      g_variant_builder_add (&builder, "(sss^as@as)", cairn_agent_type_get_id (type),
                             cairn_agent_type_get_name (type), description ? description : "",
                             cairn_agent_type_get_mime_types (type),
                             capabilities_to_variant (cairn_agent_type_get_capabilities (type)));
    }
  cairn_control1_complete_list_types (skeleton, invocation, g_variant_builder_end (&builder));
  return TRUE;
}

static gboolean
handle_list_instances (CairnControl1         *skeleton,
                       GDBusMethodInvocation *invocation,
                       CairnControl          *self)
{
  g_autoptr(GPtrArray) ids = sorted_keys (self->instances);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(ssusuba{sv})"));

  for (guint i = 0; i < ids->len; i++)
    {
      CairnControlInstance *instance = g_hash_table_lookup (self->instances,
                                                            g_ptr_array_index (ids, i));
      g_autofree char *message = cairn_control_instance_dup_message (instance);

      if (g_hash_table_contains (self->removing, g_ptr_array_index (ids, i)))
        continue;
      g_variant_builder_add (&builder, "(ssusub@a{sv})", cairn_control_instance_get_id (instance),
                             cairn_control_instance_get_type_id (instance),
                             cairn_control_instance_get_status (instance), message,
                             cairn_control_instance_get_progress (instance),
                             cairn_control_instance_get_online (instance),
                             cairn_control_instance_get_details (instance));
    }
  cairn_control1_complete_list_instances (skeleton, invocation,
                                          g_variant_builder_end (&builder));
  return TRUE;
}

typedef struct
{
  GDBusMethodInvocation *invocation;
  char *type_id;
  GKeyFile *key_file;
} Creation;

static void
creation_free (Creation *creation)
{
  g_object_unref (creation->invocation);
  g_free (creation->type_id);
  g_key_file_unref (creation->key_file);
  g_free (creation);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Creation, creation_free)

static void
creation_checked (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CairnControl *self = CAIRN_CONTROL (source);
  g_autoptr(Creation) creation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  CairnControlInstance *instance;

  if (!check_configuration_finish (self, result, &error))
    {
      return_error (creation->invocation,
                    g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID)
                    ? "Invalid" : "Failed",
                    "Cannot create an instance of %s: %s", creation->type_id, error->message);
      return;
    }
  if (refuse_while_shutting_down (self, creation->invocation))
    return;
  id = new_instance_id (self, creation->type_id);
  if (!write_key_file (creation->key_file, id, &error))
    {
      return_error (creation->invocation, "Failed", "Cannot write the configuration of %s: %s",
                    id, error->message);
      return;
    }

  instance = add_instance (self, id, creation->type_id);
  cairn_control_instance_start (instance);
  cairn_control1_emit_instance_added (self->skeleton, id, creation->type_id);
  cairn_control1_complete_create_instance (self->skeleton, creation->invocation, id);
}

static gboolean
handle_create_instance (CairnControl1         *skeleton,
                        GDBusMethodInvocation *invocation,
                        const char            *type_id,
                        GVariant              *configuration,
                        CairnControl          *self)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *shown = shorten (type_id);
  CairnAgentType *type;
  Creation *creation;

  if (refuse_while_shutting_down (self, invocation))
    return TRUE;
  type = g_hash_table_lookup (self->types, type_id);
  if (type == NULL)
    {
      cairn_control_reload_types (self);
      type = g_hash_table_lookup (self->types, type_id);
    }
  if (type == NULL)
    {
      return_error (invocation, "NotFound", "No agent type “%s”", shown);
      return TRUE;
    }
  if ((cairn_agent_type_get_capabilities (type) & CAIRN_AGENT_CAPABILITY_UNIQUE) &&
      type_has_instance (self, type_id))
    {
      return_error (invocation, "Exists", "Agent type %s is Unique and has an instance already",
                    type_id);
      return TRUE;
    }

  g_key_file_set_string (key_file, CONFIG_GROUP, "Type", type_id);
  if (!set_values (key_file, configuration, &error))
    {
      return_error (invocation, "Invalid", "Cannot create an instance of %s: %s", type_id,
                    error->message);
      return TRUE;
    }

  creation = g_new0 (Creation, 1);
  creation->invocation = g_object_ref (invocation);
  creation->type_id = g_strdup (type_id);
  creation->key_file = g_key_file_ref (key_file);
  check_configuration_async (self, type, key_file, creation_checked, creation);
  return TRUE;
}

/* Removal: stop, then delete the store's data, the cursor and the file. */

typedef struct
{
  CairnControl *self;
  CairnControlInstance *instance;
  GDBusMethodInvocation *invocation;
  GPtrArray *collections;
} Removal;

static void
removal_free (Removal *removal)
{
  g_object_unref (removal->self);
  g_object_unref (removal->instance);
  g_object_unref (removal->invocation);
  g_clear_pointer (&removal->collections, g_ptr_array_unref);
  g_free (removal);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Removal, removal_free)

/* Deepest first: the list has every parent before its children, and a
 * deleted collection takes its subtree along. */
static gboolean
delete_collections (CairnTransaction  *transaction,
                    gpointer           data,
                    GError           **error)
{
  GPtrArray *collections = data;

  for (guint i = collections->len; i > 0; i--)
    if (!cairn_transaction_delete_collection (transaction,
                                              cairn_collection_get_id (collections->pdata[i - 1]),
                                              error))
      return FALSE;
  return TRUE;
}

/* A session without a Secret Service has no secrets to clear. */
static void
secrets_cleared (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autofree char *id = data;
  g_autoptr(GError) error = NULL;

  if (!cairn_secrets_clear_finish (CAIRN_SECRETS (source), result, &error))
    g_message ("The secrets of removed instance %s were not cleared: %s", id, error->message);
}

static void
finish_removal (Removal *removal)
{
  CairnControl *self = removal->self;
  const char *id = cairn_control_instance_get_id (removal->instance);
  g_autofree char *path = cairn_agent_build_config_path (id);
  g_autoptr(GError) error = NULL;
  g_autofree char *removed_id = g_strdup (id);
  g_autoptr(CairnSecrets) secrets = NULL;

  if (!cairn_store_remove_cursor (self->store, id, &error) &&
      !g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    g_warning ("Cannot remove the change cursor of %s: %s", id, error->message);
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      return_error (removal->invocation, "Failed", "Cannot remove %s: %s", path,
                    g_strerror (errno));
      g_hash_table_remove (self->removing, id);
      return;
    }
  g_hash_table_remove (self->removing, removed_id);
  g_hash_table_remove (self->instances, removed_id);
  secrets = cairn_secrets_new (removed_id);
  cairn_secrets_clear_async (secrets, NULL, NULL, secrets_cleared, g_strdup (removed_id));
  cairn_control1_emit_instance_removed (self->skeleton, removed_id);
  cairn_control1_complete_remove_instance (self->skeleton, removal->invocation);
}

static void
collections_deleted (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_autoptr(Removal) removal = data;
  g_autoptr(GError) error = NULL;

  removal->self->busy--;
  if (!cairn_store_write_finish (CAIRN_STORE (source), result, NULL, &error))
    {
      const char *id = cairn_control_instance_get_id (removal->instance);

      return_error (removal->invocation, "Failed", "Cannot delete the collections of %s: %s",
                    id, error->message);
      g_hash_table_remove (removal->self->removing, id);
      return;
    }
  finish_removal (removal);
}

static void
removal_stopped (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(Removal) removal = data;
  g_autoptr(GError) error = NULL;
  CairnControl *self = removal->self;
  const char *id = cairn_control_instance_get_id (removal->instance);
  GPtrArray *collections;

  cairn_control_instance_stop_finish (removal->instance, result);
  removal->collections = cairn_store_list_collections (self->store, id, &error);
  if (removal->collections == NULL)
    {
      return_error (removal->invocation, "Failed", "Cannot list the collections of %s: %s", id,
                    error->message);
      g_hash_table_remove (self->removing, id);
      return;
    }
  if (removal->collections->len == 0)
    {
      finish_removal (removal);
      return;
    }
  self->busy++;
  collections = removal->collections;
  cairn_store_write_async (self->store, delete_collections, collections, NULL, NULL,
                           collections_deleted, g_steal_pointer (&removal));
}

static gboolean
handle_remove_instance (CairnControl1         *skeleton,
                        GDBusMethodInvocation *invocation,
                        const char            *id,
                        CairnControl          *self)
{
  CairnControlInstance *instance;
  Removal *removal;

  if (refuse_while_shutting_down (self, invocation))
    return TRUE;
  instance = lookup_instance (self, invocation, id);
  if (instance == NULL)
    return TRUE;

  g_hash_table_add (self->removing, g_strdup (id));
  removal = g_new0 (Removal, 1);
  removal->self = g_object_ref (self);
  removal->instance = g_object_ref (instance);
  removal->invocation = g_object_ref (invocation);
  cairn_control_instance_stop_async (instance, removal_stopped, removal);
  return TRUE;
}

static GKeyFile *
load_key_file (GDBusMethodInvocation *invocation,
               const char            *id,
               char                 **contents)
{
  g_autofree char *path = cairn_agent_build_config_path (id);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  gsize length;

  if (!g_file_get_contents (path, contents, &length, &error) ||
      !g_key_file_load_from_data (key_file, *contents, length, G_KEY_FILE_KEEP_COMMENTS, &error))
    {
      return_error (invocation, "Failed", "Cannot read the configuration of %s: %s", id,
                    error->message);
      return NULL;
    }
  return g_steal_pointer (&key_file);
}

static gboolean
handle_get_configuration (CairnControl1         *skeleton,
                          GDBusMethodInvocation *invocation,
                          const char            *id,
                          CairnControl          *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  g_autoptr(GKeyFile) key_file = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) keys = NULL;

  if (lookup_instance (self, invocation, id) == NULL)
    return TRUE;
  key_file = load_key_file (invocation, id, &contents);
  if (key_file == NULL)
    return TRUE;
  keys = g_key_file_get_keys (key_file, CONFIG_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_value (key_file, CONFIG_GROUP, keys[i], NULL);

      if (!g_str_equal (keys[i], "Type") && value != NULL && g_utf8_validate (value, -1, NULL))
        g_variant_builder_add (&builder, "{ss}", keys[i], value);
    }
  cairn_control1_complete_get_configuration (skeleton, invocation,
                                             g_variant_builder_end (&builder));
  return TRUE;
}

/* Configure calls on one instance run one after another, in the order
 * they came: each reads the file, writes it, has a running agent read it
 * and, if the agent refuses, puts the previous file back and has the
 * agent read that again before the next call starts. Interleaved, one
 * call would take another's refused file for the previous one, or an
 * agent would read a file while another call rewrites it. */
typedef struct
{
  CairnControl *self;
  char *id;
  GDBusMethodInvocation *invocation;
  GVariant *set;
  GStrv unset;
  CairnControlInstance *instance;
  GKeyFile *key_file;
  char *previous;
  char *refusal;
} Reconfiguration;

static void
reconfiguration_free (Reconfiguration *reconfiguration)
{
  g_object_unref (reconfiguration->self);
  g_free (reconfiguration->id);
  g_object_unref (reconfiguration->invocation);
  g_variant_unref (reconfiguration->set);
  g_strfreev (reconfiguration->unset);
  g_clear_object (&reconfiguration->instance);
  g_clear_pointer (&reconfiguration->key_file, g_key_file_unref);
  g_free (reconfiguration->previous);
  g_free (reconfiguration->refusal);
  g_free (reconfiguration);
}

static void
call_agent (CairnControl         *self,
            CairnControlInstance *instance,
            const char           *interface,
            const char           *method,
            GVariant             *parameters,
            int                   timeout_ms,
            GAsyncReadyCallback   callback,
            gpointer              data)
{
  g_dbus_connection_call (self->bus, cairn_control_instance_get_bus_name (instance), AGENT_PATH,
                          interface, method, parameters, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          timeout_ms, self->cancellable, callback, data);
}

static void configure_start (Reconfiguration *reconfiguration);
static void configure_checked (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data);

/* Ends the call at the head of its instance's queue, which must have been
 * answered, and starts the next one. */
static void
configure_done (Reconfiguration *reconfiguration)
{
  CairnControl *self = reconfiguration->self;
  GQueue *queue = g_hash_table_lookup (self->configuring, reconfiguration->id);

  g_assert (g_queue_peek_head (queue) == reconfiguration);
  g_queue_pop_head (queue);
  if (g_queue_is_empty (queue))
    g_hash_table_remove (self->configuring, reconfiguration->id);
  else
    configure_start (g_queue_peek_head (queue));
  reconfiguration_free (reconfiguration);
}

static void
restored (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  Reconfiguration *reconfiguration = data;
  g_autoptr(GVariant) reply = NULL;

  /* The previous file was valid; if the agent is gone, it reads it when
   * it starts again. */
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  return_error (reconfiguration->invocation, "Invalid", "Instance %s refused the "
                "configuration: %s", reconfiguration->id, reconfiguration->refusal);
  configure_done (reconfiguration);
}

static void
reconfigured (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Reconfiguration *reconfiguration = data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cairn_agent_build_config_path (reconfiguration->id);

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      cairn_control1_complete_configure (reconfiguration->self->skeleton,
                                         reconfiguration->invocation);
      configure_done (reconfiguration);
      return;
    }

  /* The agent refused the file: put the previous one back and let the
   * agent read that again, so nothing changed. */
  g_dbus_error_strip_remote_error (error);
  reconfiguration->refusal = g_strdup (error->message);
  g_file_set_contents_full (path, reconfiguration->previous, -1,
                            G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
  call_agent (reconfiguration->self, reconfiguration->instance, "org.cairn.Agent1",
              "Reconfigure", NULL, -1, restored, reconfiguration);
}

static void
configure_start (Reconfiguration *reconfiguration)
{
  CairnControl *self = reconfiguration->self;
  GDBusMethodInvocation *invocation = reconfiguration->invocation;
  const char *id = reconfiguration->id;
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(GError) error = NULL;
  CairnControlInstance *instance;
  CairnAgentType *type;

  /* The instance may have been removed while this call waited. */
  instance = lookup_instance (self, invocation, id);
  if (instance == NULL)
    {
      configure_done (reconfiguration);
      return;
    }
  reconfiguration->instance = g_object_ref (instance);
  key_file = load_key_file (invocation, id, &reconfiguration->previous);
  if (key_file == NULL)
    {
      configure_done (reconfiguration);
      return;
    }
  if (!set_values (key_file, reconfiguration->set, &error))
    {
      return_error (invocation, "Invalid", "Cannot configure %s: %s", id, error->message);
      configure_done (reconfiguration);
      return;
    }
  for (guint i = 0; reconfiguration->unset[i] != NULL; i++)
    {
      const char *key = reconfiguration->unset[i];
      g_autofree char *shown = shorten (key);

      if (!is_valid_key (key) || g_str_equal (key, "Type"))
        {
          return_error (invocation, "Invalid", "Cannot configure %s: “%s” is not a key that "
                        "can be removed", id, shown);
          configure_done (reconfiguration);
          return;
        }
      g_key_file_remove_key (key_file, CONFIG_GROUP, key, NULL);
    }

  reconfiguration->key_file = g_key_file_ref (key_file);
  type = g_hash_table_lookup (self->types, cairn_control_instance_get_type_id (instance));
  if (type == NULL)
    {
      configure_checked (G_OBJECT (self), NULL, reconfiguration);
      return;
    }
  check_configuration_async (self, type, key_file, configure_checked, reconfiguration);
}

/* @result is NULL when the type is gone: the agent checks the file. */
static void
configure_checked (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Reconfiguration *reconfiguration = user_data;
  CairnControl *self = reconfiguration->self;
  GDBusMethodInvocation *invocation = reconfiguration->invocation;
  CairnControlInstance *instance = reconfiguration->instance;
  const char *id = reconfiguration->id;
  g_autoptr(GError) error = NULL;

  if (result != NULL && !check_configuration_finish (self, result, &error))
    {
      return_error (invocation,
                    g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID)
                    ? "Invalid" : "Failed",
                    "Cannot configure %s: %s", id, error->message);
      configure_done (reconfiguration);
      return;
    }
  if (!write_key_file (reconfiguration->key_file, id, &error))
    {
      return_error (invocation, "Failed", "Cannot write the configuration of %s: %s", id,
                    error->message);
      configure_done (reconfiguration);
      return;
    }

  /* A process that is not running reads the file when it starts. */
  if (cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_RUNNING)
    {
      cairn_control1_complete_configure (self->skeleton, invocation);
      configure_done (reconfiguration);
      return;
    }
  call_agent (self, instance, "org.cairn.Agent1", "Reconfigure", NULL, -1, reconfigured,
              reconfiguration);
}

static gboolean
handle_configure (CairnControl1         *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char            *id,
                  GVariant              *set,
                  const char * const    *unset,
                  CairnControl          *self)
{
  Reconfiguration *reconfiguration;
  GQueue *queue;

  if (refuse_while_shutting_down (self, invocation) ||
      lookup_instance (self, invocation, id) == NULL)
    return TRUE;
  reconfiguration = g_new0 (Reconfiguration, 1);
  reconfiguration->self = g_object_ref (self);
  reconfiguration->id = g_strdup (id);
  reconfiguration->invocation = g_object_ref (invocation);
  reconfiguration->set = g_variant_ref (set);
  reconfiguration->unset = g_strdupv ((char **) unset);

  queue = g_hash_table_lookup (self->configuring, id);
  if (queue == NULL)
    {
      queue = g_queue_new ();
      g_hash_table_insert (self->configuring, g_strdup (id), queue);
    }
  g_queue_push_tail (queue, reconfiguration);
  if (g_queue_get_length (queue) == 1)
    configure_start (reconfiguration);
  return TRUE;
}

/* Calls forwarded to an agent return its answer to the caller. */

typedef struct
{
  CairnControl *self;
  CairnControlInstance *instance;
  GDBusMethodInvocation *invocation;
  gboolean synchronize;
  gboolean resource;
  const char *interface;
  const char *method;
  GVariant *parameters;
} Forward;

static void
forward_free (Forward *forward)
{
  g_object_unref (forward->self);
  g_object_unref (forward->instance);
  g_object_unref (forward->invocation);
  g_clear_pointer (&forward->parameters, g_variant_unref);
  g_free (forward);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Forward, forward_free)

static gboolean
is_missing_interface (GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
}

static void
forwarded (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Forward) forward = data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (forward->synchronize)
    forward->self->busy--;
  cairn_control_instance_release (forward->instance);
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    g_dbus_method_invocation_return_value (forward->invocation, g_steal_pointer (&reply));
  else if (forward->resource && is_missing_interface (error))
    return_error (forward->invocation, "NotResource", "Instance %s is not a resource: it does "
                  "not export org.cairn.Resource1",
                  cairn_control_instance_get_id (forward->instance));
  else
    return_remote_error (forward->invocation, error);
}

static void
forward_woken (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Forward *forward = data;
  g_autoptr(GError) error = NULL;

  if (!cairn_control_instance_wake_finish (forward->instance, result, &error))
    {
      if (forward->synchronize)
        forward->self->busy--;
      cairn_control_instance_release (forward->instance);
      return_error (forward->invocation, "NotRunning", "%s", error->message);
      forward_free (forward);
      return;
    }
  /* A synchronization takes as long as the backend needs. */
  call_agent (forward->self, forward->instance, forward->interface, forward->method,
              g_steal_pointer (&forward->parameters), forward->synchronize ? G_MAXINT : -1,
              forwarded, forward);
}

/* Calls a method of the instance's agent and answers @invocation with
 * its reply. @interface and @method outlive @invocation. */
static void
forward_call (CairnControl          *self,
              CairnControlInstance  *instance,
              GDBusMethodInvocation *invocation,
              const char            *interface,
              const char            *method,
              GVariant              *parameters)
{
  Forward *forward = g_new0 (Forward, 1);

  forward->self = g_object_ref (self);
  forward->instance = g_object_ref (instance);
  forward->invocation = g_object_ref (invocation);
  forward->synchronize = g_str_equal (method, "Synchronize");
  forward->resource = g_str_equal (interface, "org.cairn.Resource1");
  forward->interface = interface;
  forward->method = method;
  forward->parameters = parameters != NULL ? g_variant_ref_sink (parameters) : NULL;
  if (forward->synchronize)
    self->busy++;
  /* The caller waits: the instance stays up until the reply, and one
   * that exited when idle is started first. */
  cairn_control_instance_hold (instance);
  cairn_control_instance_wake_async (instance, forward_woken, forward);
}

static gboolean
handle_set_online (CairnControl1         *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char            *id,
                   gboolean               online,
                   CairnControl          *self)
{
  CairnControlInstance *instance = lookup_instance (self, invocation, id);

  if (instance == NULL)
    return TRUE;
  cairn_control_instance_set_wanted_online (instance, online);
  if (cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_RUNNING)
    {
      cairn_control1_complete_set_online (skeleton, invocation);
      return TRUE;
    }
  forward_call (self, instance, invocation, "org.cairn.Agent1", "SetOnline",
                g_variant_new ("(b)", online));
  return TRUE;
}

/* The instance @id if it is a running or idle-exited resource;
 * otherwise @invocation is answered with the reason. */
static CairnControlInstance *
lookup_running_resource (CairnControl          *self,
                         GDBusMethodInvocation *invocation,
                         const char            *id)
{
  CairnControlInstance *instance = lookup_instance (self, invocation, id);
  CairnAgentType *type;

  if (instance == NULL)
    return NULL;
  type = cairn_control_instance_get_agent_type (instance);
  if (type == NULL ||
      !(cairn_agent_type_get_capabilities (type) & CAIRN_AGENT_CAPABILITY_RESOURCE))
    {
      return_error (invocation, "NotResource", "Instance %s is not a resource: its type %s "
                    "does not have the Resource capability", id,
                    cairn_control_instance_get_type_id (instance));
      return NULL;
    }
  /* An idle-exited one is started by forward_call(). */
  if (cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_RUNNING &&
      cairn_control_instance_get_state (instance) != CAIRN_CONTROL_STATE_IDLE_EXITED)
    {
      return_error (invocation, "NotRunning", "Instance %s is not running (%s)", id,
                    cairn_control_instance_get_state_name (instance));
      return NULL;
    }
  return instance;
}

static gboolean
handle_synchronize (CairnControl1         *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char            *id,
                    guint64                collection,
                    CairnControl          *self)
{
  CairnControlInstance *instance = lookup_running_resource (self, invocation, id);

  if (instance != NULL)
    forward_call (self, instance, invocation, "org.cairn.Resource1", "Synchronize",
                  g_variant_new ("(t)", collection));
  return TRUE;
}

static gboolean
handle_list_failed_changes (CairnControl1         *skeleton,
                            GDBusMethodInvocation *invocation,
                            const char            *id,
                            CairnControl          *self)
{
  CairnControlInstance *instance = lookup_running_resource (self, invocation, id);

  if (instance != NULL)
    forward_call (self, instance, invocation, "org.cairn.Resource1", "ListFailedChanges",
                  NULL);
  return TRUE;
}

/* Retry and discard take the same arguments and forward them alike. */
static gboolean
forward_failed_changes (GDBusMethodInvocation *invocation,
                        const char            *id,
                        GVariant              *changes,
                        CairnControl          *self)
{
  CairnControlInstance *instance = lookup_running_resource (self, invocation, id);

  if (instance != NULL)
    forward_call (self, instance, invocation, "org.cairn.Resource1",
                  g_dbus_method_invocation_get_method_name (invocation),
                  g_variant_new_tuple (&changes, 1));
  return TRUE;
}

static gboolean
handle_retry_failed_changes (CairnControl1         *skeleton,
                             GDBusMethodInvocation *invocation,
                             const char            *id,
                             GVariant              *changes,
                             CairnControl          *self)
{
  return forward_failed_changes (invocation, id, changes, self);
}

static gboolean
handle_discard_failed_changes (CairnControl1         *skeleton,
                               GDBusMethodInvocation *invocation,
                               const char            *id,
                               GVariant              *changes,
                               CairnControl          *self)
{
  return forward_failed_changes (invocation, id, changes, self);
}

static gboolean
handle_restart (CairnControl1         *skeleton,
                GDBusMethodInvocation *invocation,
                const char            *id,
                CairnControl          *self)
{
  CairnControlInstance *instance;

  if (refuse_while_shutting_down (self, invocation))
    return TRUE;
  instance = lookup_instance (self, invocation, id);
  if (instance == NULL)
    return TRUE;
  /* Clients ask this of a resource that is not on the bus (parts on
   * demand): one that exited when idle is only started. */
  if (cairn_control_instance_get_state (instance) == CAIRN_CONTROL_STATE_IDLE_EXITED)
    cairn_control_instance_wake_async (instance, wake_done, NULL);
  else
    cairn_control_instance_restart (instance);
  cairn_control1_complete_restart (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_shutdown (CairnControl1         *skeleton,
                 GDBusMethodInvocation *invocation,
                 CairnControl          *self)
{
  cairn_control1_complete_shutdown (skeleton, invocation);
  g_signal_emit_by_name (self, "shutdown-requested");
  return TRUE;
}

/* Maintenance while idle */

static void
maintain_thread (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  CairnControl *self = source;
  g_autoptr(GError) error = NULL;

  if (!cairn_store_collect_garbage (self->store, cancellable, &error) ||
      !cairn_store_checkpoint_sync (self->store, &error))
    g_warning ("Store maintenance failed: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
maintained (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  CAIRN_CONTROL (source)->maintenance_running = FALSE;
}

static gboolean
maintain (gpointer data)
{
  CairnControl *self = data;
  g_autoptr(GTask) task = NULL;

  if (self->busy > 0 || self->maintenance_running || self->shutting_down)
    return G_SOURCE_CONTINUE;
  self->maintenance_running = TRUE;
  task = g_task_new (self, self->cancellable, maintained, NULL);
  g_task_set_source_tag (task, maintain);
  g_task_run_in_thread (task, maintain_thread);
  return G_SOURCE_CONTINUE;
}

/* Shutdown */

static void
instance_stopped (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GTask) task = data;
  guint *pending = g_task_get_task_data (task);

  cairn_control_instance_stop_finish (CAIRN_CONTROL_INSTANCE (source), result);
  if (--(*pending) == 0)
    g_task_return_boolean (task, TRUE);
}

void
cairn_control_shutdown_async (CairnControl        *self,
                              GAsyncReadyCallback  callback,
                              gpointer             data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, data);
  GHashTableIter iter;
  gpointer instance;
  guint *pending = g_new (guint, 1);

  g_task_set_source_tag (task, cairn_control_shutdown_async);
  self->shutting_down = TRUE;
  g_clear_handle_id (&self->maintenance_source, g_source_remove);

  /* One more than the instances, so that stops completing at once do
   * not finish the task before the loop is done. */
  *pending = 1;
  g_task_set_task_data (task, pending, g_free);
  g_hash_table_iter_init (&iter, self->instances);
  while (g_hash_table_iter_next (&iter, NULL, &instance))
    {
      (*pending)++;
      cairn_control_instance_stop_async (instance, instance_stopped, g_object_ref (task));
    }
  if (--(*pending) == 0)
    g_task_return_boolean (task, TRUE);
}

void
cairn_control_shutdown_finish (CairnControl *self,
                               GAsyncResult *result)
{
  g_return_if_fail (g_task_is_valid (result, self));

  g_task_propagate_boolean (G_TASK (result), NULL);
}

/* GObject */

static void
cairn_control_dispose (GObject *object)
{
  CairnControl *self = CAIRN_CONTROL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->maintenance_source, g_source_remove);
  if (self->committed_subscription != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->bus, self->committed_subscription);
      self->committed_subscription = 0;
    }
  if (self->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->skeleton);
  g_clear_pointer (&self->instances, g_hash_table_unref);

  G_OBJECT_CLASS (cairn_control_parent_class)->dispose (object);
}

static void
cairn_control_finalize (GObject *object)
{
  CairnControl *self = CAIRN_CONTROL (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_free (self->store_path);
  g_free (self->agent_host);
  g_hash_table_unref (self->types);
  g_hash_table_unref (self->removing);
  g_hash_table_unref (self->configuring);
  g_hash_table_unref (self->checked);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (cairn_control_parent_class)->finalize (object);
}

static void
cairn_control_class_init (CairnControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_control_dispose;
  object_class->finalize = cairn_control_finalize;

  g_signal_new ("shutdown-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                NULL, NULL, G_TYPE_NONE, 0);
}

static void
cairn_control_init (CairnControl *self)
{
  self->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->instances = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->configuring = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_queue_free);
  self->checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->cancellable = g_cancellable_new ();
}

/* Creates an instance of every Autostart type that has none. */
static void
create_autostart_instances (CairnControl *self)
{
  g_autoptr(GPtrArray) ids = sorted_keys (self->types);

  for (guint i = 0; i < ids->len; i++)
    {
      const char *type_id = g_ptr_array_index (ids, i);
      CairnAgentType *type = g_hash_table_lookup (self->types, type_id);
      g_autoptr(GKeyFile) key_file = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *id = NULL;

      if (!(cairn_agent_type_get_capabilities (type) & CAIRN_AGENT_CAPABILITY_AUTOSTART) ||
          type_has_instance (self, type_id))
        continue;
      key_file = g_key_file_new ();
      g_key_file_set_string (key_file, CONFIG_GROUP, "Type", type_id);
      id = new_instance_id (self, type_id);
      if (!write_key_file (key_file, id, &error))
        {
          g_warning ("Cannot create an instance of the Autostart type %s: %s", type_id,
                     error->message);
          continue;
        }
      add_instance (self, id, type_id);
    }
}

CairnControl *
cairn_control_new (GDBusConnection            *bus,
                   const char                 *store_path,
                   const char                 *agent_host,
                   const CairnControlTimings  *timings,
                   guint                       maintenance_seconds,
                   GError                    **error)
{
  g_autoptr(CairnControl) self = g_object_new (CAIRN_TYPE_CONTROL, NULL);
  GHashTableIter iter;
  gpointer instance;

  self->bus = g_object_ref (bus);
  self->store_path = g_strdup (store_path);
  self->agent_host = g_strdup (agent_host);
  self->timings = *timings;

  self->store = cairn_store_open (store_path, NULL, error);
  if (self->store == NULL)
    return NULL;

  cairn_control_reload_types (self);
  load_instances (self);
  create_autostart_instances (self);

  self->skeleton = cairn_control1_skeleton_new ();
  cairn_control1_set_version (self->skeleton, PACKAGE_VERSION);
  cairn_control1_set_store_path (self->skeleton, store_path);
  g_signal_connect_object (self->skeleton, "handle-list-types", G_CALLBACK (handle_list_types),
                           self, 0);
  g_signal_connect_object (self->skeleton, "handle-list-instances",
                           G_CALLBACK (handle_list_instances), self, 0);
  g_signal_connect_object (self->skeleton, "handle-create-instance",
                           G_CALLBACK (handle_create_instance), self, 0);
  g_signal_connect_object (self->skeleton, "handle-remove-instance",
                           G_CALLBACK (handle_remove_instance), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-configuration",
                           G_CALLBACK (handle_get_configuration), self, 0);
  g_signal_connect_object (self->skeleton, "handle-configure", G_CALLBACK (handle_configure),
                           self, 0);
  g_signal_connect_object (self->skeleton, "handle-set-online", G_CALLBACK (handle_set_online),
                           self, 0);
  g_signal_connect_object (self->skeleton, "handle-synchronize",
                           G_CALLBACK (handle_synchronize), self, 0);
  g_signal_connect_object (self->skeleton, "handle-list-failed-changes",
                           G_CALLBACK (handle_list_failed_changes), self, 0);
  g_signal_connect_object (self->skeleton, "handle-retry-failed-changes",
                           G_CALLBACK (handle_retry_failed_changes), self, 0);
  g_signal_connect_object (self->skeleton, "handle-discard-failed-changes",
                           G_CALLBACK (handle_discard_failed_changes), self, 0);
  g_signal_connect_object (self->skeleton, "handle-restart", G_CALLBACK (handle_restart), self,
                           0);
  g_signal_connect_object (self->skeleton, "handle-shutdown", G_CALLBACK (handle_shutdown), self,
                           0);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), bus,
                                         CAIRN_CONTROL_PATH, error))
    return NULL;

  self->committed_subscription =
    g_dbus_connection_signal_subscribe (bus, NULL, CAIRN_STORE_INTERFACE, "Committed",
                                        CAIRN_STORE_OBJECT_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_committed, self, NULL);
  g_hash_table_iter_init (&iter, self->instances);
  while (g_hash_table_iter_next (&iter, NULL, &instance))
    cairn_control_instance_start (instance);

  if (maintenance_seconds > 0)
    self->maintenance_source = g_timeout_add_seconds (maintenance_seconds, maintain, self);
  return g_steal_pointer (&self);
}
