/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <gmodule.h>

#include "cairn-agent-type.h"

/**
 * CairnAgentType:
 *
 * An agent type, read from a key file `TYPE.agent`:
 *
 * ```
 * [Cairn Agent]
 * Name=Logging agent
 * Description=Logs every change
 * Module=cairn-logging-agent
 * MimeTypes=message/rfc822;
 * Capabilities=NoConfig;
 * ```
 *
 * `Name` is required; exactly one of `Module` (a plugin loaded by
 * `cairn-agent-host`: a path, absolute or relative to the `.agent` file, or
 * a module name looked up beside it) and `Exec` (a program) is required;
 * `Capabilities` may list `Resource`, `Unique`, `Autostart`, `NoConfig`
 * and `NeedsNetwork`. The type's id is the file name without `.agent`.
 *
 * Since: 0.1
 */

#define GROUP "Cairn Agent"
#define SUFFIX ".agent"

struct _CairnAgentType
{
  GObject parent_instance;

  char *id;
  char *path;
  char *name;
  char *description;
  char *module;
  char *exec;
  GStrv mime_types;
  CairnAgentCapabilities capabilities;
};

G_DEFINE_FINAL_TYPE (CairnAgentType, cairn_agent_type, G_TYPE_OBJECT)

G_DEFINE_QUARK (cairn-agent-error-quark, cairn_agent_error)

static const struct
{
  const char *name;
  CairnAgentCapabilities value;
} capability_names[] = {
  { "Resource", CAIRN_AGENT_CAPABILITY_RESOURCE },
  { "Unique", CAIRN_AGENT_CAPABILITY_UNIQUE },
  { "Autostart", CAIRN_AGENT_CAPABILITY_AUTOSTART },
  { "NoConfig", CAIRN_AGENT_CAPABILITY_NO_CONFIG },
  { "NeedsNetwork", CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK },
};

static void
cairn_agent_type_finalize (GObject *object)
{
  CairnAgentType *self = CAIRN_AGENT_TYPE (object);

  g_free (self->id);
  g_free (self->path);
  g_free (self->name);
  g_free (self->description);
  g_free (self->module);
  g_free (self->exec);
  g_strfreev (self->mime_types);

  G_OBJECT_CLASS (cairn_agent_type_parent_class)->finalize (object);
}

static void
cairn_agent_type_class_init (CairnAgentTypeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_agent_type_finalize;
}

static void
cairn_agent_type_init (CairnAgentType *self)
{
}

/* An optional non-empty string; a key given empty is an error. */
static gboolean
get_optional (GKeyFile    *key_file,
              const char  *path,
              const char  *key,
              char       **value,
              GError     **error)
{
  if (!g_key_file_has_key (key_file, GROUP, key, NULL))
    return TRUE;

  *value = g_key_file_get_locale_string (key_file, GROUP, key, NULL, NULL);
  if (*value == NULL || **value == '\0')
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: key %s is empty", path, key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_capabilities (CairnAgentType  *self,
                    GKeyFile        *key_file,
                    GError         **error)
{
  g_auto(GStrv) names = g_key_file_get_string_list (key_file, GROUP, "Capabilities", NULL,
                                                    NULL);

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      guint j;

      for (j = 0; j < G_N_ELEMENTS (capability_names); j++)
        if (g_str_equal (names[i], capability_names[j].name))
          break;
      if (j == G_N_ELEMENTS (capability_names))
        {
          g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                       "Agent type file %s: unknown capability “%s”", self->path, names[i]);
          return FALSE;
        }
      self->capabilities |= capability_names[j].value;
    }
  return TRUE;
}

/**
 * cairn_agent_type_new_from_file:
 * @path: (type filename): a file named `TYPE.agent`
 * @error: return location for an error
 *
 * Reads an agent type. A file that cannot be read, or that is not a valid
 * agent type (see #CairnAgentType), gives %CAIRN_AGENT_ERROR_INVALID with
 * a message naming the file and the problem.
 *
 * Returns: (transfer full): the agent type, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnAgentType *
cairn_agent_type_new_from_file (const char  *path,
                                GError     **error)
{
  g_autoptr(CairnAgentType) self = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *basename = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CAIRN_TYPE_AGENT_TYPE, NULL);
  self->path = g_strdup (path);
  basename = g_path_get_basename (path);
  if (!g_str_has_suffix (basename, SUFFIX) || strlen (basename) == strlen (SUFFIX))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: the name must be TYPE" SUFFIX, path);
      return NULL;
    }
  self->id = g_strndup (basename, strlen (basename) - strlen (SUFFIX));

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: %s", path, local_error->message);
      return NULL;
    }
  if (!g_key_file_has_group (key_file, GROUP))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: no [" GROUP "] group", path);
      return NULL;
    }

  if (!g_key_file_has_key (key_file, GROUP, "Name", NULL))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: no Name key", path);
      return NULL;
    }
  if (!get_optional (key_file, path, "Name", &self->name, error) ||
      !get_optional (key_file, path, "Description", &self->description, error) ||
      !get_optional (key_file, path, "Module", &self->module, error) ||
      !get_optional (key_file, path, "Exec", &self->exec, error))
    return NULL;
  if ((self->module == NULL) == (self->exec == NULL))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: exactly one of Module and Exec is needed", path);
      return NULL;
    }

  self->mime_types = g_key_file_get_string_list (key_file, GROUP, "MimeTypes", NULL, NULL);
  if (self->mime_types == NULL)
    self->mime_types = g_new0 (char *, 1);

  if (!parse_capabilities (self, key_file, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * cairn_agent_type_lookup:
 * @id: an agent type id
 * @error: return location for an error
 *
 * Finds the file `ID.agent` in the folder named by the environment
 * variable `CAIRN_AGENTS_DIR` (for tests and uninstalled builds), then in
 * `cairn/agents/` under each of `$XDG_DATA_DIRS`, and reads the first one
 * found. No such file gives %CAIRN_AGENT_ERROR_NOT_FOUND; a file that is
 * not valid gives %CAIRN_AGENT_ERROR_INVALID.
 *
 * Returns: (transfer full): the agent type, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnAgentType *
cairn_agent_type_lookup (const char  *id,
                         GError     **error)
{
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *filename = NULL;
  const char *env = g_getenv ("CAIRN_AGENTS_DIR");
  const char * const *data_dirs = g_get_system_data_dirs ();

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (*id == '\0' || *id == '.' || strchr (id, '/') != NULL)
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
                   "No agent type “%s”: not a valid type id", id);
      return NULL;
    }

  filename = g_strconcat (id, SUFFIX, NULL);
  if (env != NULL && *env != '\0')
    g_ptr_array_add (folders, g_strdup (env));
  for (guint i = 0; data_dirs[i] != NULL; i++)
    g_ptr_array_add (folders, g_build_filename (data_dirs[i], "cairn", "agents", NULL));

  for (guint i = 0; i < folders->len; i++)
    {
      g_autofree char *path = g_build_filename (g_ptr_array_index (folders, i), filename, NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return cairn_agent_type_new_from_file (path, error);
    }

  g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
               "No agent type “%s”: no file %s in $CAIRN_AGENTS_DIR or $XDG_DATA_DIRS/cairn/agents",
               id, filename);
  return NULL;
}

/**
 * cairn_agent_type_get_id:
 * @self: a #CairnAgentType
 *
 * Returns: the type's id, its file name without `.agent`
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_id (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->id;
}

/**
 * cairn_agent_type_get_path:
 * @self: a #CairnAgentType
 *
 * Returns: (type filename): the file the type was read from
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_path (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->path;
}

/**
 * cairn_agent_type_get_name:
 * @self: a #CairnAgentType
 *
 * Returns: the `Name`, translated for the current locale if the file has
 *   a translation
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_name (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->name;
}

/**
 * cairn_agent_type_get_description:
 * @self: a #CairnAgentType
 *
 * Returns: (nullable): the `Description`
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_description (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->description;
}

/**
 * cairn_agent_type_get_module:
 * @self: a #CairnAgentType
 *
 * Returns: (nullable): the `Module` as written in the file, %NULL for an
 *   `Exec` type
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_module (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->module;
}

/**
 * cairn_agent_type_get_module_path:
 * @self: a #CairnAgentType
 *
 * Resolves `Module`: an absolute path is kept, a path with a `/` is taken
 * relative to the folder of the `.agent` file, and a bare name is the
 * platform's module file of that name in that folder (`libNAME.so`).
 *
 * Returns: (transfer full) (nullable) (type filename): the module file to
 *   load, %NULL for an `Exec` type
 *
 * Since: 0.1
 */
char *
cairn_agent_type_get_module_path (CairnAgentType *self)
{
  g_autofree char *folder = NULL;

  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  if (self->module == NULL)
    return NULL;
  if (g_path_is_absolute (self->module))
    return g_strdup (self->module);

  folder = g_path_get_dirname (self->path);
  if (strchr (self->module, '/') != NULL)
    return g_build_filename (folder, self->module, NULL);
  return g_module_build_path (folder, self->module);
}

/**
 * cairn_agent_type_get_exec:
 * @self: a #CairnAgentType
 *
 * Returns: (nullable): the `Exec` command line, %NULL for a `Module` type
 *
 * Since: 0.1
 */
const char *
cairn_agent_type_get_exec (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return self->exec;
}

/**
 * cairn_agent_type_get_mime_types:
 * @self: a #CairnAgentType
 *
 * Returns: (transfer none) (array zero-terminated=1): the `MimeTypes`,
 *   possibly empty
 *
 * Since: 0.1
 */
const char * const *
cairn_agent_type_get_mime_types (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  return (const char * const *) self->mime_types;
}

/**
 * cairn_agent_type_get_capabilities:
 * @self: a #CairnAgentType
 *
 * Returns: the `Capabilities`
 *
 * Since: 0.1
 */
CairnAgentCapabilities
cairn_agent_type_get_capabilities (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), CAIRN_AGENT_CAPABILITY_NONE);

  return self->capabilities;
}
