/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Agent types (.agent files), CairnAgent's configuration and online
 * state, and cairn-agent-host: the example logging agent run in a private
 * session bus, and every way the host refuses to start. */
#define _GNU_SOURCE

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairn-test/cairn-test.h>

#define RESOURCE "maildir_0"

static char *tmpdir;
static char *db_path;
static CairnTestEnvironment *environment;

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) ? (error)->message : "")

/* Fixtures: XDG folders and CAIRN_AGENTS_DIR in a temporary folder; the
 * host tests run in a CairnTestEnvironment for its private session bus. */

static void
write_file (const char *folder,
            const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (tmpdir, folder, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  GError *error = NULL;

  ck_assert_int_eq (g_mkdir_with_parents (parent, 0700), 0);
  ck_assert_msg (g_file_set_contents (path, contents, -1, &error), "%s",
                 error ? error->message : "");
}

static char *
tmp_path (const char *first,
          const char *second)
{
  return g_build_filename (tmpdir, first, second, NULL);
}

static void
setup (void)
{
  GError *error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *data = NULL;
  g_autofree char *agents = NULL;

  tmpdir = g_dir_make_tmp ("cairn-test-agent-XXXXXX", &error);
  ck_assert_ptr_nonnull (tmpdir);
  db_path = g_build_filename (tmpdir, "store.db", NULL);
  config = tmp_path ("config", NULL);
  data = tmp_path ("share", NULL);
  agents = tmp_path ("agents", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_DATA_DIRS", data, TRUE);
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
}

static void
teardown (void)
{
  const char *argv[] = { "rm", "-rf", tmpdir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&db_path, g_free);
}

/* The environment comes first so that the folders of setup () win. */
static void
setup_bus (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  setup ();
}

static void
teardown_bus (void)
{
  teardown ();
  g_clear_object (&environment);
}

/* Agent types */

START_TEST (test_type_valid)
{
  g_autofree char *path = tmp_path ("agents", "imap.agent");
  g_autofree char *module = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(CairnAgentType) type = NULL;
  const char * const *mime_types;
  GError *error = NULL;

  write_file ("agents", "imap.agent",
              "[Cairn Agent]\nName=IMAP\nName[de]=IMAP-Konto\nDescription=Mail on a server\n"
              "Module=cairn-imap\nMimeTypes=message/rfc822;inode/directory;\n"
              "Capabilities=Resource;NeedsNetwork;Unique;\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_agent_type_get_id (type), "imap");
  ck_assert_str_eq (cairn_agent_type_get_path (type), path);
  ck_assert_str_eq (cairn_agent_type_get_name (type), "IMAP");
  ck_assert_str_eq (cairn_agent_type_get_description (type), "Mail on a server");
  ck_assert_str_eq (cairn_agent_type_get_module (type), "cairn-imap");
  ck_assert_ptr_null (cairn_agent_type_get_exec (type));
  mime_types = cairn_agent_type_get_mime_types (type);
  ck_assert_uint_eq (g_strv_length ((char **) mime_types), 2);
  ck_assert_str_eq (mime_types[0], "message/rfc822");
  ck_assert_str_eq (mime_types[1], "inode/directory");
  ck_assert_int_eq (cairn_agent_type_get_capabilities (type),
                    CAIRN_AGENT_CAPABILITY_RESOURCE | CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK |
                    CAIRN_AGENT_CAPABILITY_UNIQUE);
  /* A network resource exits when idle unless its file says otherwise. */
  ck_assert_uint_eq (cairn_agent_type_get_idle_exit (type), CAIRN_AGENT_TYPE_DEFAULT_IDLE_EXIT);
  module = cairn_agent_type_get_module_path (type);
  expected = tmp_path ("agents", "libcairn-imap.so");
  ck_assert_str_eq (module, expected);
  g_clear_object (&type);
  g_clear_pointer (&module, g_free);
  g_clear_pointer (&expected, g_free);

  /* A path with a folder is relative to the .agent file; an absolute
   * path is kept; an Exec type has no module. */
  write_file ("agents", "imap.agent", "[Cairn Agent]\nName=IMAP\nModule=lib/imap.so\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  module = cairn_agent_type_get_module_path (type);
  expected = tmp_path ("agents", "lib/imap.so");
  ck_assert_str_eq (module, expected);
  ck_assert_int_eq (cairn_agent_type_get_capabilities (type), CAIRN_AGENT_CAPABILITY_NONE);
  ck_assert_uint_eq (g_strv_length ((char **) cairn_agent_type_get_mime_types (type)), 0);
  ck_assert_uint_eq (cairn_agent_type_get_idle_exit (type), 0);
  g_clear_object (&type);
  g_clear_pointer (&module, g_free);

  write_file ("agents", "imap.agent", "[Cairn Agent]\nName=IMAP\nModule=x\nIdleExit=45\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_agent_type_get_idle_exit (type), 45);
  g_clear_object (&type);

  write_file ("agents", "imap.agent", "[Cairn Agent]\nName=IMAP\nModule=x\n"
              "Capabilities=Resource;NeedsNetwork;\nIdleExit=0\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  ck_assert_uint_eq (cairn_agent_type_get_idle_exit (type), 0);
  g_clear_object (&type);

  write_file ("agents", "imap.agent", "[Cairn Agent]\nName=IMAP\nModule=/opt/imap.so\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  module = cairn_agent_type_get_module_path (type);
  ck_assert_str_eq (module, "/opt/imap.so");
  g_clear_object (&type);

  write_file ("agents", "imap.agent", "[Cairn Agent]\nName=IMAP\nExec=cairn-imap-agent --x\n");
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_agent_type_get_exec (type), "cairn-imap-agent --x");
  ck_assert_ptr_null (cairn_agent_type_get_module_path (type));
}
END_TEST

START_TEST (test_type_malformed)
{
  static const struct
  {
    const char *contents;
    const char *message;
  } cases[] = {
    { "Name=X\nModule=x\n", "Key file does not start with a group" },
    { "[Agent]\nName=X\nModule=x\n", "no [Cairn Agent] group" },
    { "[Cairn Agent]\nModule=x\n", "no Name key" },
    { "[Cairn Agent]\nName=\nModule=x\n", "key Name is empty" },
    { "[Cairn Agent]\nName=X\n", "exactly one of Module and Exec" },
    { "[Cairn Agent]\nName=X\nModule=x\nExec=y\n", "exactly one of Module and Exec" },
    { "[Cairn Agent]\nName=X\nModule=\n", "key Module is empty" },
    { "[Cairn Agent]\nName=X\nModule=x\nCapabilities=Resource;Flying;\n",
      "unknown capability “Flying”" },
    { "[Cairn Agent]\nName=X\nModule=x\nIdleExit=soon\n",
      "IdleExit “soon” is not a number of seconds" },
    { "[Cairn Agent]\nName=X\nModule=x\nIdleExit=-5\n",
      "IdleExit “-5” is not a number of seconds" },
  };
  g_autofree char *path = tmp_path ("agents", "bad.agent");
  g_autofree char *unsuffixed = tmp_path ("agents", "bad.conf");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CairnAgentType) type = NULL;
      g_autoptr(GError) error = NULL;

      write_file ("agents", "bad.agent", cases[i].contents);
      type = cairn_agent_type_new_from_file (path, &error);
      ck_assert_msg (type == NULL, "case %u was accepted", i);
      ck_assert_msg (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID),
                     "case %u: %s", i, error->message);
      ck_assert_msg (strstr (error->message, path) != NULL, "case %u: %s", i, error->message);
      ck_assert_msg (strstr (error->message, cases[i].message) != NULL, "case %u: %s", i,
                     error->message);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autofree char *missing = tmp_path ("agents", "missing.agent");

    write_file ("agents", "bad.conf", "[Cairn Agent]\nName=X\nModule=x\n");
    ck_assert_ptr_null (cairn_agent_type_new_from_file (unsuffixed, &error));
    ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID));
    g_clear_error (&error);
    ck_assert_ptr_null (cairn_agent_type_new_from_file (missing, &error));
    ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID));
  }
}
END_TEST

START_TEST (test_type_lookup)
{
  g_autoptr(CairnAgentType) type = NULL;
  g_autoptr(GError) error = NULL;

  /* CAIRN_AGENTS_DIR comes before $XDG_DATA_DIRS/cairn/agents. */
  write_file ("share/cairn/agents", "both.agent", "[Cairn Agent]\nName=Data\nModule=x\n");
  write_file ("agents", "both.agent", "[Cairn Agent]\nName=Env\nModule=x\n");
  write_file ("share/cairn/agents", "data.agent", "[Cairn Agent]\nName=Data only\nExec=x\n");

  type = cairn_agent_type_lookup ("both", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_agent_type_get_name (type), "Env");
  g_clear_object (&type);

  type = cairn_agent_type_lookup ("data", &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_agent_type_get_name (type), "Data only");
  g_clear_object (&type);

  type = cairn_agent_type_lookup ("nothing", &error);
  ck_assert_ptr_null (type);
  ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND));
  ck_assert_ptr_nonnull (strstr (error->message, "nothing.agent"));
  g_clear_error (&error);

  ck_assert_ptr_null (cairn_agent_type_lookup ("../agents/both", &error));
  ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND));
}
END_TEST

static void
assert_module_path (const char *id,
                    const char *expected)
{
  g_autoptr(CairnAgentType) type = NULL;
  g_autofree char *module = NULL;
  g_autoptr(GError) error = NULL;

  type = cairn_agent_type_lookup (id, &error);
  assert_no_error (error);
  module = cairn_agent_type_get_module_path (type);
  ck_assert_str_eq (module, expected);
}

/* Installed types find their modules in the module folder, never beside
 * them under $datadir; the user's own types and those of
 * CAIRN_AGENTS_DIR keep theirs beside the .agent file. */
START_TEST (test_type_module_folders)
{
  g_autofree char *user = tmp_path ("home", NULL);
  g_autofree char *modules = tmp_path ("lib", "modules");
  g_autofree char *system = g_build_filename (modules, "libcairn-system.so", NULL);
  g_autofree char *nested = g_build_filename (modules, "sub", "nested.so", NULL);
  g_autofree char *mine = g_build_filename (user, "cairn", "agents", "libmine.so", NULL);
  g_autofree char *built = tmp_path ("agents", "libbuilt.so");
  g_autofree char *installed = g_build_filename (CAIRN_MODULEDIR, "libcairn-system.so", NULL);

  g_setenv ("XDG_DATA_HOME", user, TRUE);
  g_setenv ("CAIRN_MODULE_DIR", modules, TRUE);
  write_file ("share/cairn/agents", "system.agent",
              "[Cairn Agent]\nName=System\nModule=cairn-system\n");
  write_file ("share/cairn/agents", "nested.agent",
              "[Cairn Agent]\nName=Nested\nModule=sub/nested.so\n");
  write_file ("home/cairn/agents", "mine.agent", "[Cairn Agent]\nName=Mine\nModule=mine\n");
  write_file ("agents", "built.agent", "[Cairn Agent]\nName=Built\nModule=built\n");

  assert_module_path ("system", system);
  assert_module_path ("nested", nested);
  assert_module_path ("mine", mine);
  assert_module_path ("built", built);

  /* Without CAIRN_MODULE_DIR, the module folder of the installation. */
  g_unsetenv ("CAIRN_MODULE_DIR");
  assert_module_path ("system", installed);
}
END_TEST

/* The user's folder comes before $XDG_DATA_DIRS; the first file of an id
 * wins even when it is not valid, as it does for a lookup by id. */
START_TEST (test_type_get_all)
{
  g_autofree char *user = tmp_path ("home", NULL);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GList *types;

  g_setenv ("XDG_DATA_HOME", user, TRUE);
  write_file ("agents", "env.agent", "[Cairn Agent]\nName=Env\nModule=x\n");
  write_file ("home/cairn/agents", "both.agent", "[Cairn Agent]\nName=User\nModule=x\n");
  write_file ("share/cairn/agents", "both.agent", "[Cairn Agent]\nName=System\nModule=x\n");
  write_file ("share/cairn/agents", "data.agent", "[Cairn Agent]\nName=Data\nExec=x\n");
  write_file ("home/cairn/agents", "broken.agent", "[Cairn Agent]\nName=Broken\n");
  write_file ("share/cairn/agents", "broken.agent", "[Cairn Agent]\nName=Fine\nExec=x\n");
  write_file ("share/cairn/agents", "README", "not an agent type");

  types = cairn_agent_type_get_all ();
  for (GList *l = types; l != NULL; l = l->next)
    g_hash_table_insert (names, g_strdup (cairn_agent_type_get_id (l->data)),
                         g_strdup (cairn_agent_type_get_name (l->data)));
  g_list_free_full (types, g_object_unref);

  ck_assert_uint_eq (g_hash_table_size (names), 3);
  ck_assert_str_eq (g_hash_table_lookup (names, "env"), "Env");
  ck_assert_str_eq (g_hash_table_lookup (names, "both"), "User");
  ck_assert_str_eq (g_hash_table_lookup (names, "data"), "Data");
}
END_TEST

/* Configuration: an agent with one property of each supported type; its
 * setup fails when its name is "fail". */

#define TEST_TYPE_CONFIG_AGENT (test_config_agent_get_type ())
G_DECLARE_FINAL_TYPE (TestConfigAgent, test_config_agent, TEST, CONFIG_AGENT, CairnAgent)

struct _TestConfigAgent
{
  CairnAgent parent_instance;
  char *name;
  int count;
  guint64 limit;
  gboolean verbose;
  double ratio;
  CairnAgentStatus mode;
  GStrv folders;
};

enum {
  CONFIG_PROP_0,
  CONFIG_PROP_NAME,
  CONFIG_PROP_COUNT,
  CONFIG_PROP_LIMIT,
  CONFIG_PROP_VERBOSE,
  CONFIG_PROP_RATIO,
  CONFIG_PROP_MODE,
  CONFIG_PROP_FOLDERS,
};

G_DEFINE_FINAL_TYPE (TestConfigAgent, test_config_agent, CAIRN_TYPE_AGENT)

static void
config_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TestConfigAgent *self = TEST_CONFIG_AGENT (object);

  switch (prop_id)
    {
    case CONFIG_PROP_NAME: g_value_set_string (value, self->name); break;
    case CONFIG_PROP_COUNT: g_value_set_int (value, self->count); break;
    case CONFIG_PROP_LIMIT: g_value_set_uint64 (value, self->limit); break;
    case CONFIG_PROP_VERBOSE: g_value_set_boolean (value, self->verbose); break;
    case CONFIG_PROP_RATIO: g_value_set_double (value, self->ratio); break;
    case CONFIG_PROP_MODE: g_value_set_enum (value, self->mode); break;
    case CONFIG_PROP_FOLDERS: g_value_set_boxed (value, self->folders); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
config_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TestConfigAgent *self = TEST_CONFIG_AGENT (object);

  switch (prop_id)
    {
    case CONFIG_PROP_NAME: g_free (self->name); self->name = g_value_dup_string (value); break;
    case CONFIG_PROP_COUNT: self->count = g_value_get_int (value); break;
    case CONFIG_PROP_LIMIT: self->limit = g_value_get_uint64 (value); break;
    case CONFIG_PROP_VERBOSE: self->verbose = g_value_get_boolean (value); break;
    case CONFIG_PROP_RATIO: self->ratio = g_value_get_double (value); break;
    case CONFIG_PROP_MODE: self->mode = g_value_get_enum (value); break;
    case CONFIG_PROP_FOLDERS:
      g_strfreev (self->folders);
      self->folders = g_value_dup_boxed (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
config_setup (CairnAgent *agent, GError **error)
{
  if (g_strcmp0 (TEST_CONFIG_AGENT (agent)->name, "fail") == 0)
    {
      g_set_error_literal (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_FAILED, "told to fail");
      return FALSE;
    }
  return TRUE;
}

static void
config_finalize (GObject *object)
{
  TestConfigAgent *self = TEST_CONFIG_AGENT (object);

  g_free (self->name);
  g_strfreev (self->folders);
  G_OBJECT_CLASS (test_config_agent_parent_class)->finalize (object);
}

static void
test_config_agent_class_init (TestConfigAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = config_get_property;
  object_class->set_property = config_set_property;
  object_class->finalize = config_finalize;
  CAIRN_AGENT_CLASS (klass)->setup = config_setup;

  g_object_class_install_property (object_class, CONFIG_PROP_NAME,
    g_param_spec_string ("name", NULL, NULL, "unnamed", flags));
  g_object_class_install_property (object_class, CONFIG_PROP_COUNT,
    g_param_spec_int ("count", NULL, NULL, 0, 10, 1, flags));
  g_object_class_install_property (object_class, CONFIG_PROP_LIMIT,
    g_param_spec_uint64 ("limit", NULL, NULL, 0, G_MAXUINT64, 7, flags));
  g_object_class_install_property (object_class, CONFIG_PROP_VERBOSE,
    g_param_spec_boolean ("verbose", NULL, NULL, FALSE, flags));
  g_object_class_install_property (object_class, CONFIG_PROP_RATIO,
    g_param_spec_double ("ratio", NULL, NULL, 0, 1, 0.5, flags));
  g_object_class_install_property (object_class, CONFIG_PROP_MODE,
    g_param_spec_enum ("mode", NULL, NULL, CAIRN_TYPE_AGENT_STATUS, CAIRN_AGENT_STATUS_IDLE,
                       flags));
  g_object_class_install_property (object_class, CONFIG_PROP_FOLDERS,
    g_param_spec_boxed ("folders", NULL, NULL, G_TYPE_STRV, flags));
}

static void
test_config_agent_init (TestConfigAgent *self)
{
  self->name = g_strdup ("unnamed");
  self->count = 1;
  self->limit = 7;
  self->ratio = 0.5;
}

static CairnAgentType *
config_agent_type (const char *capabilities)
{
  g_autofree char *contents = g_strdup_printf ("[Cairn Agent]\nName=Config\nModule=x\n"
                                               "Capabilities=%s\n", capabilities);
  g_autofree char *path = tmp_path ("agents", "config.agent");
  GError *error = NULL;
  CairnAgentType *type;

  write_file ("agents", "config.agent", contents);
  type = cairn_agent_type_new_from_file (path, &error);
  assert_no_error (error);
  return type;
}

static TestConfigAgent *
new_config_agent (CairnAgentType  *type,
                  CairnStore      *store,
                  GError         **error)
{
  return g_initable_new (TEST_TYPE_CONFIG_AGENT, NULL, error, "id", "config_0",
                         "agent-type", type, "store", store, NULL);
}

START_TEST (test_config_loading)
{
  g_autoptr(CairnAgentType) type = config_agent_type ("");
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(TestConfigAgent) agent = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cairn_agent_build_config_path ("config_0");
  g_autofree char *expected = tmp_path ("config", "cairn/config_0.conf");

  ck_assert_str_eq (path, expected);
  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);

  write_file ("config/cairn", "config_0.conf",
              "[Agent]\nType=config\nname=Inbox\ncount=3\nlimit=18446744073709551615\n"
              "verbose=true\nratio=0.25\nmode=not-configured\nfolders=a;b c;\n");
  agent = new_config_agent (type, store, &error);
  assert_no_error (error);
  ck_assert_str_eq (agent->name, "Inbox");
  ck_assert_int_eq (agent->count, 3);
  ck_assert (agent->limit == G_MAXUINT64);
  ck_assert (agent->verbose);
  ck_assert (agent->ratio == 0.25);
  ck_assert_int_eq (agent->mode, CAIRN_AGENT_STATUS_NOT_CONFIGURED);
  ck_assert_uint_eq (g_strv_length (agent->folders), 2);
  ck_assert_str_eq (agent->folders[1], "b c");
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (agent)), CAIRN_AGENT_STATUS_IDLE);
  ck_assert_str_eq (cairn_agent_get_id (CAIRN_AGENT (agent)), "config_0");
  /* No observer, no recorder. */
  ck_assert_ptr_null (cairn_agent_get_recorder (CAIRN_AGENT (agent)));

  /* Reconfigure: changed keys are set, removed keys go back to the
   * defaults. */
  write_file ("config/cairn", "config_0.conf", "[Agent]\nType=config\ncount=4\n");
  ck_assert (cairn_agent_reconfigure (CAIRN_AGENT (agent), &error));
  assert_no_error (error);
  ck_assert_int_eq (agent->count, 4);
  ck_assert_str_eq (agent->name, "unnamed");
  ck_assert (agent->limit == 7);
  ck_assert (!agent->verbose);
  ck_assert_ptr_null (agent->folders);

  /* Values that do not parse or are out of range, unknown keys and keys
   * of the base class set nothing and leave the agent not configured. */
  {
    const char *bad[] = {
      "[Agent]\nname=Other\ncount=many\n",
      "[Agent]\nname=Other\ncount=11\n",
      "[Agent]\nname=Other\ncount=-1\n",
      "[Agent]\nname=Other\nratio=2\n",
      "[Agent]\nname=Other\nverbose=perhaps\n",
      "[Agent]\nname=Other\nmode=sleeping\n",
      "[Agent]\nname=Other\ncolour=blue\n",
      "[Agent]\nname=Other\nprogress=50\n",
      "[Agent]\nname=Other\nid=other\n",
      "[Agent\n",
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        write_file ("config/cairn", "config_0.conf", bad[i]);
        ck_assert_msg (!cairn_agent_reconfigure (CAIRN_AGENT (agent), &error),
                       "case %u was accepted", i);
        ck_assert_msg (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID),
                       "case %u: %s", i, error->message);
        ck_assert_ptr_nonnull (strstr (error->message, path));
        ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (agent)),
                          CAIRN_AGENT_STATUS_NOT_CONFIGURED);
        ck_assert_str_eq (cairn_agent_get_status_message (CAIRN_AGENT (agent)), error->message);
        ck_assert_str_eq (agent->name, "unnamed");
        ck_assert_int_eq (agent->count, 4);
        g_clear_error (&error);
      }
  }

  /* A valid file ends the not-configured status. */
  write_file ("config/cairn", "config_0.conf", "[Agent]\nname=Fixed\n");
  ck_assert (cairn_agent_reconfigure (CAIRN_AGENT (agent), &error));
  ck_assert_str_eq (agent->name, "Fixed");
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (agent)), CAIRN_AGENT_STATUS_IDLE);
  ck_assert_ptr_null (cairn_agent_get_status_message (CAIRN_AGENT (agent)));
}
END_TEST

START_TEST (test_config_missing_and_setup_failure)
{
  g_autoptr(CairnAgentType) type = config_agent_type ("");
  g_autoptr(CairnAgentType) no_config = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(TestConfigAgent) agent = NULL;
  g_autoptr(GError) error = NULL;

  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);

  /* Without a file the agent starts, not configured, unless its type has
   * NoConfig. */
  agent = new_config_agent (type, store, &error);
  assert_no_error (error);
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (agent)),
                    CAIRN_AGENT_STATUS_NOT_CONFIGURED);
  ck_assert_ptr_nonnull (strstr (cairn_agent_get_status_message (CAIRN_AGENT (agent)),
                                 "config_0.conf"));
  g_clear_object (&agent);

  no_config = config_agent_type ("NoConfig;");
  agent = new_config_agent (no_config, store, &error);
  assert_no_error (error);
  ck_assert_int_eq (cairn_agent_get_status (CAIRN_AGENT (agent)), CAIRN_AGENT_STATUS_IDLE);
  g_clear_object (&agent);

  /* A failing setup fails initialisation. */
  write_file ("config/cairn", "config_0.conf", "[Agent]\nname=fail\n");
  agent = new_config_agent (type, store, &error);
  ck_assert_ptr_null (agent);
  ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_FAILED));
  ck_assert_str_eq (error->message, "told to fail");
  g_clear_error (&error);

  /* An id that cannot be part of a bus name is refused. */
  agent = g_initable_new (TEST_TYPE_CONFIG_AGENT, NULL, &error, "id", "0.bad",
                          "agent-type", type, "store", store, NULL);
  ck_assert_ptr_null (agent);
  ck_assert (g_error_matches (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID));
}
END_TEST

static gboolean
timed_out (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

START_TEST (test_online_state)
{
  g_autoptr(CairnAgentType) type = config_agent_type ("NoConfig;");
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(TestConfigAgent) agent = NULL;
  g_autoptr(GError) error = NULL;
  CairnAgent *base;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean expired = FALSE;
  guint timeout;

  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);
  agent = new_config_agent (type, store, &error);
  assert_no_error (error);
  base = CAIRN_AGENT (agent);

  ck_assert (cairn_agent_get_online (base));
  ck_assert (cairn_agent_get_network_available (base));
  cairn_agent_set_wanted_online (base, FALSE);
  ck_assert (!cairn_agent_get_online (base));
  ck_assert (!cairn_agent_get_wanted_online (base));
  cairn_agent_set_wanted_online (base, TRUE);
  ck_assert (cairn_agent_get_online (base));

  /* Temporarily offline until the retry time, then online again. */
  cairn_agent_set_temporarily_offline (base, 1);
  ck_assert (!cairn_agent_get_online (base));
  ck_assert (cairn_agent_get_retry_time (base) >= now + 1);
  ck_assert (cairn_agent_get_retry_time (base) <= now + 3);
  timeout = g_timeout_add_seconds (5, timed_out, &expired);
  while (!cairn_agent_get_online (base) && !expired)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (!expired);
  g_source_remove (timeout);
  ck_assert_int_eq (cairn_agent_get_retry_time (base), 0);

  /* Progress and status. */
  cairn_agent_set_progress (base, 40);
  ck_assert_uint_eq (cairn_agent_get_progress (base), 40);
  cairn_agent_set_status (base, CAIRN_AGENT_STATUS_RUNNING, "Syncing");
  ck_assert_int_eq (cairn_agent_get_status (base), CAIRN_AGENT_STATUS_RUNNING);
  ck_assert_str_eq (cairn_agent_get_status_message (base), "Syncing");
}
END_TEST

/* The host */

typedef struct
{
  int status;
  char *err;
} HostResult;

static void
host_result_clear (HostResult *result)
{
  g_free (result->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HostResult, host_result_clear)

static void
run_host_sync (const char *instance,
               HostResult *result)
{
  const char *argv[] = { AGENT_HOST, "--instance", instance, "--store", db_path, NULL };
  GError *error = NULL;

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &result->err, &result->status, &error),
                 "spawn: %s", error ? error->message : "");
}

static void
assert_host_fails (const char *instance,
                   int         exit_status,
                   const char *message)
{
  g_auto(HostResult) result = { 0, NULL };

  run_host_sync (instance, &result);
  ck_assert_msg (WIFEXITED (result.status), "host died: %d", result.status);
  ck_assert_msg (WEXITSTATUS (result.status) == exit_status, "exit %d, expected %d: %s",
                 WEXITSTATUS (result.status), exit_status, result.err);
  ck_assert_msg (strstr (result.err, message) != NULL, "stderr lacks “%s”: %s", message,
                 result.err);
  ck_assert_msg (g_str_has_prefix (result.err, "cairn-agent-host: "), "%s", result.err);
}

START_TEST (test_host_unknown_instance)
{
  assert_host_fails ("nobody_0", 2, "unknown instance");
  write_file ("config/cairn", "untyped_0.conf", "[Agent]\nlog-file=x\n");
  assert_host_fails ("untyped_0", 2, "no Type key");
}
END_TEST

START_TEST (test_host_unknown_type)
{
  write_file ("config/cairn", "ghost_0.conf", "[Agent]\nType=ghost\n");
  assert_host_fails ("ghost_0", 3, "No agent type");
  assert_host_fails ("ghost_0", 3, "no file ghost.agent");
}
END_TEST

START_TEST (test_host_bad_key_file)
{
  write_file ("agents", "bad.agent", "[Cairn Agent]\nModule=x\n");
  write_file ("config/cairn", "bad_0.conf", "[Agent]\nType=bad\n");
  assert_host_fails ("bad_0", 4, "bad.agent: no Name key");
  write_file ("agents", "bad.agent", "not a key file\n");
  assert_host_fails ("bad_0", 4, "bad.agent");
}
END_TEST

START_TEST (test_host_missing_module)
{
  write_file ("agents", "gone.agent", "[Cairn Agent]\nName=Gone\nModule=cairn-gone\n");
  write_file ("config/cairn", "gone_0.conf", "[Agent]\nType=gone\n");
  assert_host_fails ("gone_0", 5, "cannot load module");
  assert_host_fails ("gone_0", 5, "libcairn-gone.so");

  write_file ("agents", "gone.agent", "[Cairn Agent]\nName=Gone\nExec=cairn-gone\n");
  assert_host_fails ("gone_0", 5, "has no Module");
}
END_TEST

START_TEST (test_host_wrong_entry_point)
{
  write_file ("agents", "noentry.agent",
              "[Cairn Agent]\nName=No entry\nModule=" TEST_MODULE_DIR
              "/libtest-module-no-entry.so\n");
  write_file ("config/cairn", "noentry_0.conf", "[Agent]\nType=noentry\n");
  assert_host_fails ("noentry_0", 6, "is not a Cairn agent module");
  assert_host_fails ("noentry_0", 6, "cairn_agent_module_init_1");
}
END_TEST

/* CAIRN_AGENT_MODULE_DEFINE_TYPE, as the logging agent uses it, exports
 * both symbols the host looks up: the SDK version and the entry point
 * returning the agent's type. */
START_TEST (test_module_define_type)
{
  g_autofree char *path = g_build_filename (LOGGING_AGENT_DIR, "libcairn-logging-agent.so",
                                            NULL);
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  CairnAgentModuleInitFunc init = NULL;
  const guint *version = NULL;
  GError *error = NULL;
  GType type;

  ck_assert_msg (module != NULL, "%s", g_module_error ());
  ck_assert (g_module_symbol (module, CAIRN_AGENT_MODULE_VERSION_SYMBOL, (gpointer *) &version));
  ck_assert_uint_eq (version[0], CAIRN_MAJOR_VERSION);
  ck_assert_uint_eq (version[1], CAIRN_MINOR_VERSION);
  ck_assert_uint_eq (version[2], CAIRN_MICRO_VERSION);
  ck_assert (g_module_symbol (module, CAIRN_AGENT_MODULE_INIT_SYMBOL, (gpointer *) &init));
  type = init (&error);
  assert_no_error (error);
  ck_assert (g_type_is_a (type, CAIRN_TYPE_AGENT));
  ck_assert_str_eq (g_type_name (type), "CairnLoggingAgent");
  g_module_make_resident (module);
}
END_TEST

START_TEST (test_host_failing_init)
{
  /* The module's entry point fails. */
  write_file ("agents", "failing.agent",
              "[Cairn Agent]\nName=Failing\nModule=" TEST_MODULE_DIR
              "/libtest-module-failing-init.so\n");
  write_file ("config/cairn", "failing_0.conf", "[Agent]\nType=failing\n");
  assert_host_fails ("failing_0", 7, "the test module refuses to start");

  /* The agent's setup fails: the logging agent cannot open its log. */
  g_setenv ("CAIRN_AGENTS_DIR", LOGGING_AGENT_DIR, TRUE);
  write_file ("config/cairn", "log_0.conf",
              "[Agent]\nType=logging\nlog-file=/nonexistent/folder/log\n");
  assert_host_fails ("log_0", 7, "Cannot open log file /nonexistent/folder/log");
}
END_TEST

/* The logging agent, hosted */

static GPid
start_host (const char *instance)
{
  const char *argv[] = { AGENT_HOST, "--instance", instance, "--store", db_path, NULL };
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *name = g_strconcat ("org.cairn.Agent.", instance, NULL);
  GError *error = NULL;
  GPid pid;

  ck_assert_msg (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, &error), "spawn: %s", error ? error->message : "");

  /* The agent owns its name once its recorder exists. */
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(GVariant) reply = NULL;
      gboolean has_owner = FALSE;

      reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner",
                                           g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      assert_no_error (error);
      g_variant_get (reply, "(b)", &has_owner);
      if (has_owner)
        return pid;
      ck_assert_int_eq (waitpid (pid, NULL, WNOHANG), 0);
      g_usleep (20 * 1000);
    }
  ck_abort_msg ("%s did not appear on the bus", name);
  return 0;
}

static int
wait_host (GPid pid)
{
  int status = 0;

  for (guint i = 0; i < 500; i++)
    {
      pid_t done = waitpid (pid, &status, WNOHANG);

      ck_assert_int_ne (done, -1);
      if (done == pid)
        {
          ck_assert_msg (WIFEXITED (status), "host died: %d", status);
          return WEXITSTATUS (status);
        }
      g_usleep (20 * 1000);
    }
  kill (pid, SIGKILL);
  ck_abort_msg ("the host did not exit");
  return -1;
}

static char *
read_log (void)
{
  g_autofree char *path = tmp_path ("agent.log", NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

/* Waits until the agent's log is @expected, and a little longer to see
 * that nothing more comes. */
static void
assert_log (const char *expected)
{
  g_autofree char *log = NULL;

  for (guint i = 0; i < 500; i++)
    {
      g_free (log);
      log = read_log ();
      if (g_str_equal (log, expected))
        break;
      g_usleep (20 * 1000);
    }
  g_usleep (200 * 1000);
  g_free (log);
  log = read_log ();
  ck_assert_str_eq (log, expected);
}

static gboolean
create_collection (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, 0, "Inbox");

  return cairn_transaction_create_collection (txn, collection, error);
}

static gboolean
create_item (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

  cairn_item_set_collection_id (item, 1);
  cairn_item_set_remote_id (item, data);
  return cairn_transaction_create_item (txn, item, error);
}

static void
write_with (CairnStore           *store,
            CairnTransactionFunc  func,
            const char           *data)
{
  GError *error = NULL;

  ck_assert_msg (cairn_store_write_sync (store, func, (gpointer) data, NULL, NULL, &error),
                 "write: %s", error ? error->message : "");
}

static void
write_logging_instance (void)
{
  g_autofree char *log = tmp_path ("agent.log", NULL);
  g_autofree char *conf = g_strdup_printf ("[Agent]\nType=logging\nlog-file=%s\n", log);

  g_setenv ("CAIRN_AGENTS_DIR", LOGGING_AGENT_DIR, TRUE);
  write_file ("config/cairn", "log_0.conf", conf);
}

static GVariant *
get_agent_property (GDBusConnection *bus,
                    const char      *property)
{
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  GVariant *value;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Agent.log_0", "/org/cairn/Agent",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.cairn.Agent1", property),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
call_agent (GDBusConnection *bus,
            const char      *method,
            GVariant        *parameters)
{
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Agent.log_0", "/org/cairn/Agent",
                                       "org.cairn.Agent1", method, parameters, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  assert_no_error (error);
}

START_TEST (test_host_runs_logging_agent)
{
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) value = NULL;
  GError *error = NULL;
  GPid host;

  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);
  write_logging_instance ();
  host = start_host ("log_0");

  write_with (store, create_collection, NULL);
  write_with (store, create_item, "mail-1");
  assert_log ("collection-added 1 parent 0\nitem-added 1 collection 1 remote-id mail-1\n");

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  value = get_agent_property (bus, "Id");
  ck_assert_str_eq (g_variant_get_string (value, NULL), "log_0");
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "Type");
  ck_assert_str_eq (g_variant_get_string (value, NULL), "logging");
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "Status");
  ck_assert_uint_eq (g_variant_get_uint32 (value), CAIRN_AGENT_STATUS_IDLE);
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "Progress");
  ck_assert_uint_eq (g_variant_get_uint32 (value), 0);
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "RetryTime");
  ck_assert_int_eq (g_variant_get_int64 (value), 0);
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "Online");
  ck_assert (g_variant_get_boolean (value));
  g_clear_pointer (&value, g_variant_unref);

  call_agent (bus, "SetOnline", g_variant_new ("(b)", FALSE));
  value = get_agent_property (bus, "Online");
  ck_assert (!g_variant_get_boolean (value));
  g_clear_pointer (&value, g_variant_unref);
  value = get_agent_property (bus, "WantedOnline");
  ck_assert (!g_variant_get_boolean (value));
  g_clear_pointer (&value, g_variant_unref);

  /* A configuration that is not valid makes Reconfigure fail and the
   * agent not configured. */
  write_file ("config/cairn", "log_0.conf", "[Agent]\nType=logging\nlog-level=3\n");
  ck_assert_ptr_null (g_dbus_connection_call_sync (bus, "org.cairn.Agent.log_0",
                                                   "/org/cairn/Agent", "org.cairn.Agent1",
                                                   "Reconfigure", NULL, NULL,
                                                   G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  ck_assert_ptr_nonnull (error);
  ck_assert_ptr_nonnull (strstr (error->message, "unknown key log-level"));
  g_clear_error (&error);
  value = get_agent_property (bus, "Status");
  ck_assert_uint_eq (g_variant_get_uint32 (value), CAIRN_AGENT_STATUS_NOT_CONFIGURED);
  g_clear_pointer (&value, g_variant_unref);

  call_agent (bus, "Quit", NULL);
  ck_assert_int_eq (wait_host (host), 0);
}
END_TEST

/* The host's allocator is mimalloc where it is built with it. Nothing
 * calls it by name, so a linker that drops unused libraries
 * (--as-needed) would leave it out without a word. */
START_TEST (test_host_allocator)
{
  g_autofree char *maps_path = NULL;
  g_autofree char *maps = NULL;
  GError *error = NULL;
  GPid host;

  write_logging_instance ();
  host = start_host ("log_0");
  maps_path = g_strdup_printf ("/proc/%d/maps", (int) host);
  ck_assert (g_file_get_contents (maps_path, &maps, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (strstr (maps, "/libmimalloc.so") != NULL, HOST_HAS_MIMALLOC);
  kill (host, SIGTERM);
  ck_assert_int_eq (wait_host (host), 0);
}
END_TEST

START_TEST (test_host_sigterm_and_resume)
{
  g_autoptr(CairnStore) store = NULL;
  GError *error = NULL;
  GPid host;

  store = cairn_store_open (db_path, NULL, &error);
  assert_no_error (error);
  write_logging_instance ();
  host = start_host ("log_0");

  write_with (store, create_collection, NULL);
  write_with (store, create_item, "mail-1");
  assert_log ("collection-added 1 parent 0\nitem-added 1 collection 1 remote-id mail-1\n");
  ck_assert_int_eq (kill (host, SIGTERM), 0);
  ck_assert_int_eq (wait_host (host), 0);

  /* Changes made while the agent is stopped are delivered when it starts
   * again, and nothing it had processed is delivered twice. */
  write_with (store, create_item, "mail-2");
  write_with (store, create_item, "mail-3");
  host = start_host ("log_0");
  assert_log ("collection-added 1 parent 0\nitem-added 1 collection 1 remote-id mail-1\n"
              "item-added 2 collection 1 remote-id mail-2\n"
              "item-added 3 collection 1 remote-id mail-3\n");
  ck_assert_int_eq (kill (host, SIGTERM), 0);
  ck_assert_int_eq (wait_host (host), 0);
}
END_TEST

static Suite *
agent_suite (void)
{
  Suite *suite = suite_create ("agent");
  TCase *types = tcase_create ("types");
  TCase *config = tcase_create ("config");
  TCase *errors = tcase_create ("host-errors");
  TCase *host = tcase_create ("host");

  tcase_add_checked_fixture (types, setup, teardown);
  tcase_add_test (types, test_type_valid);
  tcase_add_test (types, test_type_malformed);
  tcase_add_test (types, test_type_lookup);
  tcase_add_test (types, test_type_module_folders);
  tcase_add_test (types, test_type_get_all);
  suite_add_tcase (suite, types);

  tcase_add_checked_fixture (config, setup, teardown);
  tcase_add_test (config, test_config_loading);
  tcase_add_test (config, test_config_missing_and_setup_failure);
  tcase_add_test (config, test_online_state);
  suite_add_tcase (suite, config);

  tcase_add_checked_fixture (errors, setup, teardown);
  tcase_add_test (errors, test_host_unknown_instance);
  tcase_add_test (errors, test_host_unknown_type);
  tcase_add_test (errors, test_host_bad_key_file);
  tcase_add_test (errors, test_host_missing_module);
  tcase_add_test (errors, test_host_wrong_entry_point);
  tcase_add_test (errors, test_host_failing_init);
  tcase_add_test (errors, test_module_define_type);
  suite_add_tcase (suite, errors);

  tcase_add_checked_fixture (host, setup_bus, teardown_bus);
  tcase_set_timeout (host, 60);
  tcase_add_test (host, test_host_runs_logging_agent);
  tcase_add_test (host, test_host_allocator);
  tcase_add_test (host, test_host_sigterm_and_resume);
  suite_add_tcase (suite, host);

  return suite;
}

int
main (void)
{
  SRunner *runner = srunner_create (agent_suite ());
  int failed;

  srunner_run_all (runner, CK_NORMAL);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);

  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
