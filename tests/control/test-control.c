/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairn-control in a private session bus: readiness, one per bus, the
 * logging agent supervised (restart after SIGKILL, broken after a crash
 * loop, agents that exit at once), the D-Bus API and its errors, removal,
 * stop without orphans, agents dying with a killed service, Autostart and
 * D-Bus activation. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairn/cairn.h>

#include "cairn-test-suite.h"
#include "control-fixture.h"

typedef struct
{
  const char *id;
  const char *state;
  GPid not_pid;
} Expected;

static const char *
details_string (GVariant   *row,
                const char *key)
{
  g_autoptr(GVariant) details = g_variant_get_child_value (row, 6);
  const char *value = NULL;

  g_variant_lookup (details, key, "&s", &value);
  return value;
}

static gint32
details_int (GVariant   *row,
             const char *key)
{
  g_autoptr(GVariant) details = g_variant_get_child_value (row, 6);
  g_autoptr(GVariant) value = g_variant_lookup_value (details, key, NULL);

  if (value == NULL)
    return -1;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (value);
  return (gint32) g_variant_get_uint32 (value);
}

/* The instance is in the state, with a process other than not_pid. */
static gboolean
instance_in_state (gpointer data)
{
  Expected *expected = data;
  g_autoptr(GVariant) row = control_find_instance (expected->id);

  return row != NULL && g_str_equal (details_string (row, "state"), expected->state) &&
         details_int (row, "pid") != expected->not_pid;
}

static GPid
wait_running (const char *id,
              GPid        not_pid)
{
  Expected expected = { id, "running", not_pid };
  g_autoptr(GVariant) row = NULL;

  ck_assert_msg (fixture_wait_until (instance_in_state, &expected), "%s is not running", id);
  row = control_find_instance (id);
  return details_int (row, "pid");
}

static char *
read_text (const char *path)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

typedef struct
{
  const char *path;
  const char *text;
} FileText;

static gboolean
file_contains (gpointer data)
{
  FileText *file = data;
  g_autofree char *contents = read_text (file->path);

  return strstr (contents, file->text) != NULL;
}

static gboolean
create_collection (CairnTransaction *txn, gpointer data, GError **error)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (data, 0, "Inbox");
  g_autoptr(CairnCollection) child = NULL;

  if (!cairn_transaction_create_collection (txn, collection, error))
    return FALSE;
  child = cairn_collection_new (data, cairn_collection_get_id (collection), "Lists");
  return cairn_transaction_create_collection (txn, child, error);
}

static CairnStore *
open_store (void)
{
  g_autofree char *path = fixture_path ("share", "cairn/store.db");
  GError *error = NULL;
  CairnStore *store = cairn_store_open (path, NULL, &error);

  assert_no_error (error);
  return store;
}

static void
assert_call_fails (const char *method,
                   GVariant   *parameters,
                   const char *error_name,
                   const char *text)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *remote = NULL;

  reply = control_call (method, parameters, NULL, &error);
  ck_assert_msg (reply == NULL, "%s succeeded", method);
  remote = g_dbus_error_get_remote_error (error);
  ck_assert_msg (g_strcmp0 (remote, error_name) == 0, "%s: %s: %s", method, remote,
                 error->message);
  if (text != NULL)
    ck_assert_msg (strstr (error->message, text) != NULL, "%s: %s", method, error->message);
}

START_TEST (test_start_run_and_second)
{
  g_autofree char *log = fixture_path ("agent.log", NULL);
  g_autofree char *id = NULL;
  g_autofree char *err = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GVariant) types = NULL;
  g_autoptr(GVariant) row = NULL;
  const char *argv[] = { CONTROL, NULL };
  FileText expected = { log, "collection-added 1 parent 0" };
  GError *error = NULL;
  int status;
  GPid control;

  control = control_start (NULL);
  types = control_call ("ListTypes", NULL, "(a(sssasas))", &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_variant_n_children (g_variant_get_child_value (types, 0)), 1);

  id = fixture_create_logging (log);
  ck_assert_str_eq (id, "logging_0");
  wait_running (id, 0);
  row = control_find_instance (id);
  ck_assert_uint_eq (g_variant_get_uint32 (g_variant_get_child_value (row, 2)),
                     CAIRN_AGENT_STATUS_IDLE);

  /* The agent runs: a change in the store reaches its log. */
  store = open_store ();
  ck_assert (cairn_store_write_sync (store, create_collection, (gpointer) "maildir_0", NULL,
                                     NULL, &error));
  ck_assert (fixture_wait_until (file_contains, &expected));

  /* A second service says so and exits 0. */
  ck_assert (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                           NULL, &err, &status, &error));
  ck_assert (g_spawn_check_wait_status (status, NULL));
  ck_assert_msg (strstr (err, "already running") != NULL, "%s", err);

  g_variant_unref (control_call ("Shutdown", NULL, NULL, &error));
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

START_TEST (test_sigkill_restarts)
{
  g_autofree char *id = NULL;
  g_autoptr(GVariant) row = NULL;
  GPid control, agent, again;

  control = control_start (NULL);
  id = fixture_create_logging (NULL);
  agent = wait_running (id, 0);
  ck_assert_int_gt (agent, 0);

  ck_assert_int_eq (kill (agent, SIGKILL), 0);
  again = wait_running (id, agent);
  ck_assert_int_ne (again, agent);
  row = control_find_instance (id);
  ck_assert_int_eq (details_int (row, "crashes"), 1);
  ck_assert_int_eq (details_int (row, "restarts"), 1);

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
  ck_assert (fixture_process_gone (again));
}
END_TEST

START_TEST (test_crash_loop_broken)
{
  g_autofree char *id = NULL;
  g_autofree char *log = fixture_path ("agent.log", NULL);
  g_autoptr(GVariant) row = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_auto(GVariantBuilder) set = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  const char *unset[] = { NULL };
  Expected broken = { NULL, "broken", -1 };
  const char *message;
  GError *error = NULL;
  GPid control;

  control = control_start ("--max-crashes=3");
  /* The logging agent cannot open this log, so its host exits with
   * status 7 at every start. */
  id = fixture_create_logging ("/nonexistent/folder/agent.log");
  broken.id = id;
  ck_assert (fixture_wait_until (instance_in_state, &broken));
  row = control_find_instance (id);
  ck_assert_uint_eq (g_variant_get_uint32 (g_variant_get_child_value (row, 2)),
                     CAIRN_AGENT_STATUS_BROKEN);
  g_variant_get_child (row, 3, "&s", &message);
  ck_assert_msg (strstr (message, "crashed 3 times") != NULL, "%s", message);
  ck_assert_msg (strstr (message, "exited with status 7") != NULL, "%s", message);
  ck_assert_msg (strstr (message, "Cannot open log file /nonexistent/folder/agent.log") != NULL,
                 "%s", message);
  ck_assert_int_eq (details_int (row, "pid"), 0);

  /* It stays broken until restarted by hand, here after a repair. */
  g_variant_builder_add (&set, "{sv}", "log-file", g_variant_new_string (log));
  reply = control_call ("Configure", g_variant_new ("(sa{sv}^as)", id, &set, unset), NULL,
                        &error);
  assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = control_call ("Restart", g_variant_new ("(s)", id), NULL, &error);
  assert_no_error (error);
  wait_running (id, 0);
  g_clear_pointer (&row, g_variant_unref);
  row = control_find_instance (id);
  ck_assert_int_eq (details_int (row, "crashes"), 0);

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

/* Agents whose process exits at once, often before the service looks at
 * it: every start is a crash, the instances end broken, and the service
 * lives on. It read the process id of a process already reaped, and
 * crashed: in every run of this test, and in about one run of
 * test-cairnctl in ten (its `add ghost`) on a loaded machine. */
#define N_INSTANT 20

START_TEST (test_instant_exits)
{
  g_autofree char *type = fixture_path ("agents", "instant.agent");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  Expected broken = { NULL, "broken", -1 };
  GPid control;

  fixture_write_file (type, "[Cairn Agent]\nName=Instant\nExec=/bin/true\n"
                            "Capabilities=NoConfig;\n");
  control = control_start ("--max-crashes=3");
  for (guint i = 0; i < N_INSTANT; i++)
    {
      g_auto(GVariantBuilder) config = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
      g_autoptr(GVariant) reply = NULL;
      GError *error = NULL;
      char *id;

      reply = control_call ("CreateInstance", g_variant_new ("(sa{sv})", "instant", &config),
                            "(s)", &error);
      assert_no_error (error);
      g_variant_get (reply, "(s)", &id);
      g_ptr_array_add (ids, id);
    }
  for (guint i = 0; i < ids->len; i++)
    {
      broken.id = g_ptr_array_index (ids, i);
      ck_assert_msg (fixture_wait_until (instance_in_state, &broken), "%s is not broken",
                     broken.id);
    }

  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

START_TEST (test_stop_leaves_no_process)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  GPid control, agents[2];

  control = control_start (NULL);
  first = fixture_create_logging (NULL);
  second = fixture_create_logging (NULL);
  ck_assert_str_eq (second, "logging_1");
  agents[0] = wait_running (first, 0);
  agents[1] = wait_running (second, 0);

  reply = control_call ("Shutdown", NULL, NULL, &error);
  assert_no_error (error);
  ck_assert_int_eq (control_wait_exit (control), 0);
  ck_assert (fixture_process_gone (control));
  ck_assert (fixture_process_gone (agents[0]));
  ck_assert (fixture_process_gone (agents[1]));
  ck_assert (!control_has_name ());

  /* Started again, it runs the instances it has. */
  control = control_start (NULL);
  agents[0] = wait_running (first, 0);
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
  ck_assert (fixture_process_gone (agents[0]));
}
END_TEST

static gboolean
process_gone (gpointer data)
{
  return fixture_process_gone (GPOINTER_TO_INT (data));
}

START_TEST (test_agents_die_with_killed_service)
{
  g_autofree char *id = NULL;
  GPid control, agent;

  control = control_start (NULL);
  id = fixture_create_logging (NULL);
  agent = wait_running (id, 0);

  ck_assert_int_eq (kill (control, SIGKILL), 0);
  waitpid (control, NULL, 0);
  ck_assert_msg (fixture_wait_until (process_gone, GINT_TO_POINTER (agent)),
                 "agent %d outlived cairn-control", agent);
}
END_TEST

typedef struct
{
  GPtrArray *signals;
} Recorder;

static void
record_signal (GDBusConnection *connection, const char *sender, const char *path,
               const char *interface, const char *member, GVariant *parameters, gpointer data)
{
  Recorder *recorder = data;

  g_autofree char *printed = g_variant_print (parameters, FALSE);

  g_ptr_array_add (recorder->signals, g_strdup_printf ("%s %s", member, printed));
}

static gboolean
instance_offline (gpointer data)
{
  g_autoptr(GVariant) row = control_find_instance (data);
  gboolean online;

  g_variant_get_child (row, 5, "b", &online);
  return !online;
}

typedef struct
{
  Recorder *recorder;
  const char *prefix;
} WantedSignal;

static gboolean
has_signal (gpointer data)
{
  WantedSignal *wanted = data;

  for (guint i = 0; i < wanted->recorder->signals->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (wanted->recorder->signals, i), wanted->prefix))
      return TRUE;
  return FALSE;
}

START_TEST (test_api_configure_online_remove)
{
  g_autoptr(GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autofree char *id = NULL;
  g_autofree char *log = fixture_path ("agent.log", NULL);
  g_autofree char *other_log = fixture_path ("other.log", NULL);
  g_autofree char *conf = fixture_path ("config", "cairn/logging_0.conf");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) collections = NULL;
  g_auto(GVariantBuilder) good = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto(GVariantBuilder) bad = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  const char *unset[] = { NULL };
  const char *value;
  Recorder recorder = { g_ptr_array_new_with_free_func (g_free) };
  WantedSignal added = { &recorder, "InstanceAdded ('logging_0', 'logging')" };
  WantedSignal removed = { &recorder, "InstanceRemoved ('logging_0',)" };
  GError *error = NULL;
  guint subscription;
  GPid control, agent;

  subscription = g_dbus_connection_signal_subscribe (connection, NULL, "org.cairn.Control1",
                                                     NULL, "/org/cairn/Control1", NULL,
                                                     G_DBUS_SIGNAL_FLAGS_NONE, record_signal,
                                                     &recorder, NULL);
  control = control_start (NULL);
  id = fixture_create_logging (log);
  agent = wait_running (id, 0);
  ck_assert (fixture_wait_until (has_signal, &added));

  /* A key the agent does not know is refused by the agent; the file is
   * put back as it was. */
  before = read_text (conf);
  g_variant_builder_add (&bad, "{sv}", "log-level", g_variant_new_int32 (3));
  assert_call_fails ("Configure", g_variant_new ("(sa{sv}^as)", id, &bad, unset),
                     "org.cairn.Control1.Error.Invalid", "unknown key log-level");
  after = read_text (conf);
  ck_assert_str_eq (before, after);

  g_variant_builder_add (&good, "{sv}", "log-file", g_variant_new_string (other_log));
  reply = control_call ("Configure", g_variant_new ("(sa{sv}^as)", id, &good, unset), NULL,
                        &error);
  assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = control_call ("GetConfiguration", g_variant_new ("(s)", id), "(a{ss})", &error);
  assert_no_error (error);
  ck_assert (g_variant_lookup (g_variant_get_child_value (reply, 0), "log-file", "&s", &value));
  ck_assert_str_eq (value, other_log);
  g_clear_pointer (&reply, g_variant_unref);

  reply = control_call ("SetOnline", g_variant_new ("(sb)", id, FALSE), NULL, &error);
  assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  ck_assert (fixture_wait_until (instance_offline, (gpointer) id));

  assert_call_fails ("Synchronize", g_variant_new ("(st)", id, (guint64) 0),
                     "org.cairn.Control1.Error.NotResource", "is not a resource");

  /* Removal stops it and deletes its collections, cursor and file. */
  store = open_store ();
  ck_assert (cairn_store_write_sync (store, create_collection, (gpointer) id, NULL, NULL,
                                     &error));
  ck_assert (cairn_store_write_sync (store, create_collection, (gpointer) "other_0", NULL, NULL,
                                     &error));
  reply = control_call ("RemoveInstance", g_variant_new ("(s)", id), NULL, &error);
  assert_no_error (error);
  ck_assert (fixture_process_gone (agent));
  ck_assert (!g_file_test (conf, G_FILE_TEST_EXISTS));
  collections = cairn_store_list_collections (store, id, &error);
  ck_assert_uint_eq (collections->len, 0);
  g_clear_pointer (&collections, g_ptr_array_unref);
  collections = cairn_store_list_collections (store, "other_0", &error);
  ck_assert_uint_eq (collections->len, 2);
  ck_assert_ptr_null (control_find_instance (id));
  ck_assert (fixture_wait_until (has_signal, &removed));
  assert_call_fails ("RemoveInstance", g_variant_new ("(s)", id),
                     "org.cairn.Control1.Error.NotFound", "No instance “logging_0”");

  g_dbus_connection_signal_unsubscribe (connection, subscription);
  g_ptr_array_unref (recorder.signals);
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

typedef struct
{
  guint pending;
  guint succeeded;
  guint refused;
  GString *unexpected;
} ConfigureCalls;

static void
configure_replied (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  ConfigureCalls *calls = data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *remote = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  calls->pending--;
  if (reply != NULL)
    {
      calls->succeeded++;
      return;
    }
  remote = g_dbus_error_get_remote_error (error);
  if (g_strcmp0 (remote, "org.cairn.Control1.Error.Invalid") == 0 &&
      strstr (error->message, "unknown key") != NULL)
    calls->refused++;
  else
    g_string_append_printf (calls->unexpected, "%s: %s\n", remote, error->message);
}

static gboolean
configure_calls_done (gpointer data)
{
  return ((ConfigureCalls *) data)->pending == 0;
}

/* Twenty Configure calls in flight at once, half of them with a key the
 * agent refuses: each is answered for itself, and the file ends as the
 * last accepted call left it, which the agent has read. */
START_TEST (test_configure_race)
{
  g_autoptr(GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autofree char *conf = fixture_path ("config", "cairn/logging_0.conf");
  g_autofree char *last_log = fixture_path ("log-19", NULL);
  g_autofree char *id = NULL;
  g_autofree char *value = NULL;
  g_auto(GStrv) keys = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) status_value = NULL;
  g_autoptr(GVariant) row = NULL;
  g_autoptr(GVariant) row_status = NULL;
  ConfigureCalls calls = { 0, 0, 0, g_string_new (NULL) };
  GError *error = NULL;
  GPid control;

  control = control_start (NULL);
  id = fixture_create_logging (NULL);
  wait_running (id, 0);

  for (guint i = 0; i < 20; i++)
    {
      g_auto(GVariantBuilder) set = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
      g_autofree char *log = g_strdup_printf ("%s/log-%u", fixture_dir, i);
      g_autofree char *bogus = g_strdup_printf ("bogus-%u", i);
      const char *no_keys[] = { NULL };
      const char *log_file[] = { "log-file", NULL };

      /* Odd calls are valid: every fourth removes log-file, the others
       * set it; even ones add a key the agent does not know. */
      if (i % 4 != 1)
        g_variant_builder_add (&set, "{sv}", "log-file", g_variant_new_string (log));
      if (i % 2 == 0)
        g_variant_builder_add (&set, "{sv}", bogus, g_variant_new_int32 (i));
      g_dbus_connection_call (connection, "org.cairn.Control1", "/org/cairn/Control1",
                              "org.cairn.Control1", "Configure",
                              g_variant_new ("(sa{sv}^as)", id, &set,
                                             i % 4 == 1 ? log_file : no_keys),
                              NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, 30000, NULL,
                              configure_replied, &calls);
      calls.pending++;
    }
  ck_assert (fixture_wait_until (configure_calls_done, &calls));
  ck_assert_msg (calls.unexpected->len == 0, "%s", calls.unexpected->str);
  ck_assert_uint_eq (calls.succeeded, 10);
  ck_assert_uint_eq (calls.refused, 10);

  ck_assert (g_key_file_load_from_file (key_file, conf, G_KEY_FILE_NONE, &error));
  keys = g_key_file_get_keys (key_file, "Agent", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_strv_length (keys), 2);
  value = g_key_file_get_string (key_file, "Agent", "log-file", &error);
  assert_no_error (error);
  ck_assert_str_eq (value, last_log);

  /* The agent read that file last: it is configured. */
  status = g_dbus_connection_call_sync (connection, "org.cairn.Agent.logging_0",
                                        "/org/cairn/Agent", "org.freedesktop.DBus.Properties",
                                        "Get",
                                        g_variant_new ("(ss)", "org.cairn.Agent1", "Status"),
                                        G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                        &error);
  assert_no_error (error);
  g_variant_get (status, "(v)", &status_value);
  ck_assert_uint_eq (g_variant_get_uint32 (status_value), CAIRN_AGENT_STATUS_IDLE);
  row = control_find_instance (id);
  row_status = g_variant_get_child_value (row, 2);
  ck_assert_uint_eq (g_variant_get_uint32 (row_status), CAIRN_AGENT_STATUS_IDLE);

  g_string_free (calls.unexpected, TRUE);
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

START_TEST (test_autostart_and_unique)
{
  g_autofree char *type = NULL;
  g_autofree char *path = fixture_path ("agents", "indexer.agent");
  g_auto(GVariantBuilder) none = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  GPid control;

  type = g_strdup_printf ("[Cairn Agent]\nName=Indexer\nModule=%s/libcairn-logging-agent.so\n"
                          "Capabilities=NoConfig;Autostart;Unique;\n", LOGGING_AGENT_DIR);
  fixture_write_file (path, type);
  control = control_start (NULL);
  wait_running ("indexer_0", 0);
  assert_call_fails ("CreateInstance", g_variant_new ("(sa{sv})", "indexer", &none),
                     "org.cairn.Control1.Error.Exists", "Unique");
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

START_TEST (test_dbus_activation)
{
  g_autoptr(GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  ck_assert (!control_has_name ());
  reply = g_dbus_connection_call_sync (connection, "org.cairn.Control1", "/org/cairn/Control1",
                                       "org.cairn.Control1", "ListInstances", NULL,
                                       G_VARIANT_TYPE ("(a(ssusuba{sv}))"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
  assert_no_error (error);
  ck_assert (control_has_name ());
}
END_TEST

/* Junk calls: every method gets wrong types, unknown ids, huge strings
 * and bad configurations; each call must fail and the service must stay. */

static const char * const methods[] = {
  "ListTypes", "ListInstances", "CreateInstance", "RemoveInstance", "GetConfiguration",
  "Configure", "SetOnline", "Synchronize", "ListFailedChanges", "RetryFailedChanges",
  "DiscardFailedChanges", "Restart", "Shutdown",
};

static char *
junk_string (GRand *rand)
{
  static const char * const pieces[] = {
    "", "a", "logging", "logging_", "Type", "-x", "a b", "ä", "../../etc", "/", ".", "0abc",
    "org.cairn", "\xe2\x80\xae", "%s%n", "key=value", "\t", "'", "\"", ";", "[Agent]",
  };
  guint choice = g_rand_int_range (rand, 0, 4);

  if (choice == 0)
    {
      gsize length = g_rand_int_range (rand, 1, 2 * 1024 * 1024);
      char *huge = g_malloc (length + 1);

      memset (huge, 'a' + g_rand_int_range (rand, 0, 26), length);
      huge[length] = '\0';
      return huge;
    }
  if (choice == 1)
    return g_strdup_printf ("nonexistent_%u", g_rand_int (rand));
  return g_strconcat (pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))],
                      pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))], NULL);
}

static GVariant *
junk_value (GRand *rand,
            guint  depth)
{
  switch (g_rand_int_range (rand, 0, depth > 2 ? 8 : 11))
    {
    case 0: return g_variant_new_take_string (junk_string (rand));
    case 1: return g_variant_new_boolean (g_rand_boolean (rand));
    case 2: return g_variant_new_int64 ((gint64) ((guint64) g_rand_int (rand) << 32 |
                                                    g_rand_int (rand)));
    case 3: return g_variant_new_double (g_rand_boolean (rand) ? NAN : INFINITY);
    case 4: return g_variant_new_byte (g_rand_int (rand));
    case 5: return g_variant_new_object_path ("/a/b");
    case 6: return g_variant_new_signature ("a{sv}");
    case 7: return g_variant_new_uint64 (g_rand_int (rand));
    case 8: return g_variant_new_variant (junk_value (rand, depth + 1));
    case 9:
      {
        GVariant *children[2] = { junk_value (rand, depth + 1), junk_value (rand, depth + 1) };

        return g_variant_new_tuple (children, 2);
      }
    default:
      {
        g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ai"));

        for (gint i = 0; i < g_rand_int_range (rand, 0, 100); i++)
          g_variant_builder_add (&builder, "i", g_rand_int (rand));
        return g_variant_builder_end (&builder);
      }
    }
}

/* A configuration that is always refused: at least one bad key or value. */
static GVariant *
junk_configuration (GRand *rand)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  guint n = g_rand_int_range (rand, 0, 4);
  static const char * const bad_keys[] = { "Type", "", "a b", "ä", "-x", "x=y", "[g]" };

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = junk_string (rand);

      g_variant_builder_add (&builder, "{sv}", key, junk_value (rand, 0));
    }
  if (g_rand_boolean (rand))
    g_variant_builder_add (&builder, "{sv}",
                           bad_keys[g_rand_int_range (rand, 0, G_N_ELEMENTS (bad_keys))],
                           junk_value (rand, 0));
  else
    g_variant_builder_add (&builder, "{sv}", "log-file",
                           g_rand_boolean (rand) ? g_variant_new_double (NAN)
                                                 : g_variant_new_object_path ("/x"));
  return g_variant_builder_end (&builder);
}

static GVariant *
junk_parameters (GRand      *rand,
                 const char *method)
{
  g_autofree char *id = junk_string (rand);
  const char *no_keys[] = { NULL };

  /* Half of the calls have the wrong signature altogether. */
  if (g_rand_boolean (rand))
    {
      GVariant *children[3];
      guint n = g_rand_int_range (rand, 0, 4);

      for (guint i = 0; i < n; i++)
        children[i] = junk_value (rand, 0);
      if (n == 0 && (g_str_equal (method, "ListTypes") || g_str_equal (method, "ListInstances") ||
                     g_str_equal (method, "Shutdown")))
        children[n++] = g_variant_new_uint32 (1);
      return g_variant_new_tuple (children, n);
    }
  if (g_str_equal (method, "CreateInstance"))
    return g_variant_new ("(s@a{sv})", g_rand_boolean (rand) ? id : "logging",
                          junk_configuration (rand));
  if (g_str_equal (method, "Configure"))
    return g_variant_new ("(s@a{sv}^as)", g_rand_boolean (rand) ? id : "logging_0",
                          junk_configuration (rand), no_keys);
  if (g_str_equal (method, "SetOnline"))
    return g_variant_new ("(sb)", id, g_rand_boolean (rand));
  if (g_str_equal (method, "Synchronize"))
    return g_variant_new ("(st)", g_rand_boolean (rand) ? id : "logging_0",
                          (guint64) g_rand_int (rand));
  if (g_str_equal (method, "RetryFailedChanges") || g_str_equal (method, "DiscardFailedChanges"))
    return g_variant_new ("(s@at)", g_rand_boolean (rand) ? id : "logging_0",
                          g_variant_new_array (G_VARIANT_TYPE_UINT64, NULL, 0));
  if (g_str_equal (method, "ListTypes") || g_str_equal (method, "ListInstances") ||
      g_str_equal (method, "Shutdown"))
    return g_variant_new ("(s)", id);
  return g_variant_new ("(s)", g_str_equal (method, "ListFailedChanges") &&
                               g_rand_boolean (rand) ? "logging_0" : id);
}

START_TEST (test_junk_calls)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  g_autofree char *id = NULL;
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  GPid control;
  guint calls = 0;

  control = control_start (NULL);
  id = fixture_create_logging (NULL);
  wait_running (id, 0);

  for (guint round = 0; round < 40; round++)
    for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
      {
        GVariant *parameters = junk_parameters (rand, methods[m]);
        g_autofree char *shown = g_variant_print (parameters, TRUE);
        g_autoptr(GVariant) result = NULL;

        if (strlen (shown) > 200)
          shown[200] = '\0';
        result = control_call (methods[m], parameters, NULL, &error);
        ck_assert_msg (result == NULL, "%s%s was accepted", methods[m], shown);
        ck_assert_msg (error->message[0] != '\0', "%s: empty error", methods[m]);
        g_clear_error (&error);
        calls++;
        ck_assert_int_eq (waitpid (control, NULL, WNOHANG), 0);
      }
  ck_assert_uint_eq (calls, 40 * G_N_ELEMENTS (methods));

  /* Still there and unharmed. */
  reply = control_call ("ListInstances", NULL, "(a(ssusuba{sv}))", &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_variant_n_children (g_variant_get_child_value (reply, 0)), 1);
  wait_running (id, 0);
  kill (control, SIGTERM);
  ck_assert_int_eq (control_wait_exit (control), 0);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "service", test_start_run_and_second },
    { "service", test_dbus_activation },
    { "service", test_autostart_and_unique },
    { "supervision", test_sigkill_restarts },
    { "supervision", test_crash_loop_broken },
    { "supervision", test_instant_exits },
    { "supervision", test_stop_leaves_no_process },
    { "supervision", test_agents_die_with_killed_service },
    { "api", test_api_configure_online_remove },
    { "api", test_configure_race },
    { "api", test_junk_calls },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("control", cases, G_N_ELEMENTS (cases),
                                                     control_fixture_setup,
                                                     control_fixture_teardown, 120));
}
