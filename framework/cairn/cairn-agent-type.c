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
 * `cairn-agent-host`: an absolute path, or a module name or relative path
 * resolved against the type's module folder, see
 * cairn_agent_type_get_module_path()) and `Exec` (a program) is required;
 * `Capabilities` may list `Resource`, `Unique`, `Autostart`, `NoConfig`
 * and `NeedsNetwork`. `IdleExit=SECONDS` asks the control service to stop an
 * instance that has had nothing to do for that long and to start it again
 * on demand (see cairn_agent_type_get_idle_exit()). The type's id is the
 * file name without `.agent`.
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
  char *module_dir;
  char *name;
  char *description;
  char *module;
  char *exec;
  GStrv mime_types;
  CairnAgentCapabilities capabilities;
  guint idle_exit;
};

G_DEFINE_FINAL_TYPE (CairnAgentType, cairn_agent_type, G_TYPE_OBJECT)

/**
 * cairn_agent_error_quark:
 *
 * Gets the error domain of agents and agent types.
 *
 * Returns: the #GQuark of %CAIRN_AGENT_ERROR, whose codes are #CairnAgentError
 *
 * Since: 0.1
 */
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
  g_free (self->module_dir);
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

/* A network resource holds a connection and memory for nothing while
 * idle, so it exits when idle unless its file says IdleExit=0. */
static gboolean
parse_idle_exit (CairnAgentType  *self,
                 GKeyFile        *key_file,
                 GError         **error)
{
  g_autofree char *text = g_key_file_get_string (key_file, GROUP, "IdleExit", NULL);
  const CairnAgentCapabilities network_resource =
    CAIRN_AGENT_CAPABILITY_RESOURCE | CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK;
  guint64 seconds;

  if (text == NULL)
    {
      if ((self->capabilities & network_resource) == network_resource)
        self->idle_exit = CAIRN_AGENT_TYPE_DEFAULT_IDLE_EXIT;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &seconds, NULL))
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type file %s: IdleExit “%s” is not a number of seconds", self->path,
                   text);
      return FALSE;
    }
  self->idle_exit = seconds;
  return TRUE;
}

/* @module_dir: where a relative Module= is resolved, %NULL for beside
 * the file. */
static CairnAgentType *
load (const char  *path,
      const char  *module_dir,
      GError     **error)
{
  g_autoptr(CairnAgentType) self = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *basename = NULL;

  self = g_object_new (CAIRN_TYPE_AGENT_TYPE, NULL);
  self->path = g_strdup (path);
  self->module_dir = module_dir != NULL ? g_strdup (module_dir) : g_path_get_dirname (path);
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

  if (!parse_capabilities (self, key_file, error) || !parse_idle_exit (self, key_file, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * cairn_agent_type_new_from_file:
 * @path: (type filename): a file named `TYPE.agent`
 * @error: return location for an error
 *
 * Reads an agent type from a file outside the agent search path (see
 * cairn_agent_type_lookup()), as tests and uninstalled builds keep them:
 * a relative `Module` is resolved against the file's own folder. A file
 * that cannot be read, or that is not a valid agent type (see
 * #CairnAgentType), gives %CAIRN_AGENT_ERROR_INVALID with a message naming
 * the file and the problem.
 *
 * Returns: (transfer full): the agent type, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnAgentType *
cairn_agent_type_new_from_file (const char  *path,
                                GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return load (path, NULL, error);
}

/* The agent search path, first folder first. Each folder has the module
 * folder its relative Module= keys are resolved against, as libpeas pairs
 * a data folder with a module folder: installed types keep their modules
 * under $libdir, never under $datadir; a type of the user's own, or one
 * named by $CAIRN_AGENTS_DIR (a build folder), keeps its module beside
 * its .agent file, as libpeas applications do with their user plugins. */
typedef struct
{
  char *agents;
  char *modules;  /* NULL: beside the .agent file */
} SearchFolder;

static void
search_folder_free (gpointer data)
{
  SearchFolder *folder = data;

  g_free (folder->agents);
  g_free (folder->modules);
  g_free (folder);
}

static void
add_search_folder (GPtrArray  *folders,
                   char       *agents,
                   const char *modules)
{
  SearchFolder *folder;

  for (guint i = 0; i < folders->len; i++)
    if (g_str_equal (((SearchFolder *) g_ptr_array_index (folders, i))->agents, agents))
      {
        g_free (agents);
        return;
      }
  folder = g_new0 (SearchFolder, 1);
  folder->agents = agents;
  folder->modules = g_strdup (modules);
  g_ptr_array_add (folders, folder);
}

static GPtrArray *
search_path (void)
{
  GPtrArray *folders = g_ptr_array_new_with_free_func (search_folder_free);
  const char *agents_env = g_getenv ("CAIRN_AGENTS_DIR");
  const char *modules_env = g_getenv ("CAIRN_MODULE_DIR");
  const char *modules = modules_env != NULL && *modules_env != '\0' ? modules_env
                                                                    : CAIRN_MODULEDIR;
  const char * const *data_dirs = g_get_system_data_dirs ();

  if (agents_env != NULL && *agents_env != '\0')
    add_search_folder (folders, g_strdup (agents_env), NULL);
  add_search_folder (folders, g_build_filename (g_get_user_data_dir (), "cairn", "agents", NULL),
                     NULL);
  for (guint i = 0; data_dirs[i] != NULL; i++)
    add_search_folder (folders, g_build_filename (data_dirs[i], "cairn", "agents", NULL),
                       modules);
  add_search_folder (folders, g_strdup (CAIRN_AGENTDIR), modules);
  return folders;
}

/**
 * cairn_agent_type_lookup:
 * @id: an agent type id
 * @error: return location for an error
 *
 * Finds the file `ID.agent` along the agent search path and reads the
 * first one found. The folders, in order:
 *
 * - `$CAIRN_AGENTS_DIR`, for tests and uninstalled builds;
 * - `$XDG_DATA_HOME/cairn/agents`, the user's own types;
 * - `cairn/agents` under each of `$XDG_DATA_DIRS`;
 * - the agent folder of Cairn's installation (the `agentdir` variable of
 *   `cairn-1.pc`).
 *
 * A relative `Module` of a type from the first two is resolved against
 * the folder of its `.agent` file, and of the others against the module
 * folder: `$CAIRN_MODULE_DIR` if set, else the `moduledir` of
 * `cairn-1.pc`. No such file gives %CAIRN_AGENT_ERROR_NOT_FOUND; a file
 * that is not valid gives %CAIRN_AGENT_ERROR_INVALID.
 *
 * Returns: (transfer full): the agent type, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnAgentType *
cairn_agent_type_lookup (const char  *id,
                         GError     **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autofree char *filename = NULL;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (*id == '\0' || *id == '.' || strchr (id, '/') != NULL)
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
                   "No agent type “%s”: not a valid type id", id);
      return NULL;
    }

  filename = g_strconcat (id, SUFFIX, NULL);
  folders = search_path ();
  for (guint i = 0; i < folders->len; i++)
    {
      SearchFolder *folder = g_ptr_array_index (folders, i);
      g_autofree char *path = g_build_filename (folder->agents, filename, NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return load (path, folder->modules, error);
    }

  g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
               "No agent type “%s”: no file %s in the agent search path "
               "($CAIRN_AGENTS_DIR, $XDG_DATA_HOME, $XDG_DATA_DIRS, %s)",
               id, filename, CAIRN_AGENTDIR);
  return NULL;
}

/**
 * cairn_agent_type_get_all:
 *
 * Reads every agent type along the search path of
 * cairn_agent_type_lookup(); of two files with the same id the first one
 * found wins. A file that is not a valid agent type is left out with a
 * warning naming the file and the problem.
 *
 * Returns: (transfer full) (element-type CairnAgentType): the agent
 *   types, in no particular order
 *
 * Since: 0.1
 */
GList *
cairn_agent_type_get_all (void)
{
  g_autoptr(GPtrArray) folders = search_path ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GList *types = NULL;

  for (guint i = 0; i < folders->len; i++)
    {
      SearchFolder *folder = g_ptr_array_index (folders, i);
      g_autoptr(GDir) dir = g_dir_open (folder->agents, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = NULL;
          g_autoptr(GError) error = NULL;
          CairnAgentType *type;

          if (!g_str_has_suffix (name, SUFFIX) || g_hash_table_contains (seen, name))
            continue;
          g_hash_table_add (seen, g_strdup (name));
          path = g_build_filename (folder->agents, name, NULL);
          type = load (path, folder->modules, &error);
          if (type == NULL)
            {
              g_warning ("Ignoring an agent type: %s", error->message);
              continue;
            }
          types = g_list_prepend (types, type);
        }
    }
  return types;
}

/**
 * cairn_agent_type_get_id:
 * @self: a #CairnAgentType
 *
 * Gets the type's id.
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
 * Gets the file the type was read from.
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
 * Gets the type's display name, its `Name`.
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
 * Gets the type's `Description`.
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
 * Gets the `Module` of a type run from a plugin module, as the file writes it.
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
 * relative to the type's module folder, and a bare name is the platform's
 * module file of that name in that folder (`libNAME.so`). The module
 * folder is the one cairn_agent_type_lookup() pairs with the folder the
 * type was found in; for a type read by cairn_agent_type_new_from_file()
 * it is the folder of the `.agent` file.
 *
 * Returns: (transfer full) (nullable) (type filename): the module file to
 *   load, %NULL for an `Exec` type
 *
 * Since: 0.1
 */
char *
cairn_agent_type_get_module_path (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), NULL);

  if (self->module == NULL)
    return NULL;
  if (g_path_is_absolute (self->module))
    return g_strdup (self->module);
  if (strchr (self->module, '/') != NULL)
    return g_build_filename (self->module_dir, self->module, NULL);
  return g_module_build_path (self->module_dir, self->module);
}

/**
 * cairn_agent_type_get_exec:
 * @self: a #CairnAgentType
 *
 * Gets the `Exec` command line of a type run as its own program.
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
 * Gets the MIME types the type handles, its `MimeTypes`.
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
 * Gets the capabilities the `.agent` file lists in `Capabilities`.
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

/**
 * cairn_agent_type_get_idle_exit:
 * @self: a #CairnAgentType
 *
 * Gets how long an instance of the type may stay idle before the control
 * service stops it: no queued task, no pending change and no client
 * waiting for that many seconds. Such an instance is started again on
 * demand (a change to replay, a due interval sync, a client asking for a
 * missing part, an explicit sync). The value is the file's `IdleExit`;
 * without that key it is %CAIRN_AGENT_TYPE_DEFAULT_IDLE_EXIT for a
 * resource that needs the network and 0 otherwise.
 *
 * Returns: the idle time in seconds, 0 if instances never exit when idle
 *
 * Since: 0.1
 */
guint
cairn_agent_type_get_idle_exit (CairnAgentType *self)
{
  g_return_val_if_fail (CAIRN_IS_AGENT_TYPE (self), 0);

  return self->idle_exit;
}
