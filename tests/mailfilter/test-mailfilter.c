/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail filter agent (agents/mailfilter) in its own cairn-agent-host
 * beside a real maildir resource: new mail filed, flagged and discarded
 * on disk, a script with an error, and 10,000 messages filed across a
 * SIGKILL of the filter, each moved exactly once. */
#include <check.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-agent-fixture.h"
#include "cairn-test-suite.h"

#define RESOURCE "maildir_0"
#define FILTER "mailfilter_0"
#define WAIT_MS (120 * 1000)
#define LONG_WAIT_MS (400 * 1000)

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnTestMaildir *maildir;
static CairnStore *client;
static char *root;
static GPid filter_pid;

static void
setup (void)
{
  GError *error = NULL;
  g_autofree char *agents = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  agents = g_build_filename (cairn_test_environment_get_path (environment), "agents", NULL);
  ck_assert (cairn_agent_fixture_link_type (agents, MAILDIR_AGENT_DIR, "maildir.agent",
                                            "libcairn-maildir-resource.so", &error));
  ck_assert (cairn_agent_fixture_link_type (agents, MAILFILTER_AGENT_DIR, "mailfilter.agent",
                                            "libcairn-mailfilter-agent.so", &error));
  assert_no_error (error);
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "Maildir", NULL);
  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
}

static void
stop_filter (int signal)
{
  if (filter_pid == 0)
    return;
  cairn_agent_fixture_stop_host (filter_pid, signal);
  filter_pid = 0;
}

static void
teardown (void)
{
  stop_filter (SIGTERM);
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&maildir);
  g_clear_object (&environment);
  g_clear_pointer (&root, g_free);
}

static void
start_resource (void)
{
  const char *config[] = { "path", root, "layout", "maildir++", NULL };
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  assert_no_error (error);
  resource = cairn_test_resource_new (environment, "maildir", RESOURCE, config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  client = cairn_test_resource_open_client_store (resource, &error);
  assert_no_error (error);
  cairn_test_resource_wait_replayed (resource, WAIT_MS, &error);
  assert_no_error (error);
}

static void
create_folder (const char *folder)
{
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, folder, &error));
  assert_no_error (error);
}

static void
synchronize (void)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, &error));
  assert_no_error (error);
  cairn_test_resource_wait_replayed (resource, WAIT_MS, &error);
  assert_no_error (error);
}

/* The script, and the instance's configuration with @keys besides. */
static void
write_script_with (const char *script,
                   const char *keys)
{
  g_autofree char *path = g_build_filename (cairn_test_environment_get_path (environment),
                                            "filter.sieve", NULL);
  g_autofree char *config = g_strdup_printf ("[Agent]\nType=mailfilter\nscript=%s\n%s", path,
                                             keys);
  GError *error = NULL;

  ck_assert (g_file_set_contents (path, script, -1, &error));
  ck_assert (cairn_agent_fixture_write_config (FILTER, config, &error));
  assert_no_error (error);
}

static void
write_script (const char *script)
{
  write_script_with (script, "");
}

static GVariant *
filter_property (const char *name)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;
  GVariant *value;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Agent." FILTER, "/org/cairn/Agent",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.cairn.Agent1", name),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
call_filter (const char *method)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Agent." FILTER, "/org/cairn/Agent",
                                       "org.cairn.Agent1", method, NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  assert_no_error (error);
}

static void
start_filter (void)
{
  const char *store = cairn_test_environment_get_store_path (environment);
  GError *error = NULL;

  filter_pid = cairn_agent_fixture_start_host (AGENT_HOST, FILTER, store, &error);
  assert_no_error (error);
}

static char *
message (guint       n,
         const char *from,
         const char *subject,
         const char *extra)
{
  return g_strdup_printf ("From: %s\r\nTo: ada@example.com\r\nSubject: %s\r\n"
                          "Message-ID: <%u@test.example>\r\n%s\r\nBody %u\r\n",
                          from, subject, n, extra, n);
}

static void
deliver_to (const char *folder,
            const char *text,
            const char *info)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autofree char *uid = NULL;
  GError *error = NULL;

  uid = cairn_test_maildir_deliver (maildir, folder, bytes, info, &error);
  assert_no_error (error);
}

static void
deliver (const char *text)
{
  deliver_to ("INBOX", text, NULL);
}

/* The names of the messages in a folder, in new/ and cur/. */
static GPtrArray *
list_files (const char *folder)
{
  g_autofree char *path = cairn_test_maildir_get_folder_path (maildir, folder);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *sub = g_build_filename (path, i == 0 ? "new" : "cur", NULL);
      g_autoptr(GDir) dir = g_dir_open (sub, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (files, g_strdup (name));
    }
  return files;
}

static guint
count_files (const char *folder)
{
  g_autoptr(GPtrArray) files = list_files (folder);

  return files->len;
}

/* Waits until the folders have these many messages on disk. */
static void
wait_files_for (const char * const *folders,
                const guint        *expected,
                guint               timeout_ms)
{
  g_autoptr(GString) counts = g_string_new (NULL);

  for (guint round = 0; round < timeout_ms / 50; round++)
    {
      gboolean done = TRUE;

      g_string_truncate (counts, 0);
      for (guint i = 0; folders[i] != NULL; i++)
        {
          guint n = count_files (folders[i]);

          g_string_append_printf (counts, " %s=%u", folders[i], n);
          done = done && n == expected[i];
        }
      if (done)
        return;
      g_usleep (50 * 1000);
    }
  ck_abort_msg ("files on disk:%s", counts->str);
}

static void
wait_files (const char * const *folders,
            const guint        *expected)
{
  wait_files_for (folders, expected, WAIT_MS);
}

static guint64
stored_items (const char *name)
{
  g_autoptr(GPtrArray) collections = NULL;
  GError *error = NULL;

  collections = cairn_store_list_collections (client, RESOURCE, &error);
  assert_no_error (error);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      guint64 count, unread, size;

      if (!g_str_equal (cairn_collection_get_name (collection), name))
        continue;
      ck_assert (cairn_store_get_collection_statistics (client,
                                                        cairn_collection_get_id (collection),
                                                        &count, &unread, &size, &error));
      assert_no_error (error);
      return count;
    }
  return 0;
}

START_TEST (test_filter_on_disk)
{
  static const char script[] =
    "require [\"fileinto\", \"mailbox\", \"imap4flags\", \"envelope\"];\n"
    "if header :contains \"subject\" \"[gnome]\" {\n"
    "  fileinto \"Lists\";\n"
    "} elsif address :domain :is \"from\" \"spam.example\" {\n"
    "  discard;\n"
    "} elsif header :matches \"subject\" \"Invoice *\" {\n"
    "  fileinto :create \"Archive\";\n"
    "  addflag \"\\\\Flagged\";\n"
    "  keep;\n"
    "} elsif envelope :is \"from\" \"boss@example.com\" {\n"
    "  addflag \"\\\\Flagged\";\n"
    "}\n";
  const char *folders[] = { "INBOX", "Lists", "Archive", NULL };
  const guint expected[] = { 4, 2, 1 };
  g_autofree char *gnome1 = message (1, "dev@gnome.org", "[gnome] release", "");
  g_autofree char *gnome2 = message (2, "dev@gnome.org", "Re: [GNOME] release", "");
  g_autofree char *spam = message (3, "win@spam.example", "You won", "");
  g_autofree char *invoice = message (4, "shop@example.com", "Invoice 42", "");
  g_autofree char *boss = message (5, "Boss <boss@example.com>", "Now",
                                   "Return-Path: <boss@example.com>\r\n");
  g_autofree char *plain = message (6, "friend@example.com", "Hello", "");
  g_autofree char *read = message (7, "dev@gnome.org", "[gnome] read already", "");
  g_autoptr(GPtrArray) inbox = NULL;
  guint flagged = 0;

  create_folder ("Lists");
  start_resource ();
  write_script (script);
  start_filter ();

  deliver (gnome1);
  deliver (gnome2);
  deliver (spam);
  deliver (invoice);
  deliver (boss);
  deliver (plain);
  deliver_to ("INBOX", read, "S");
  synchronize ();
  wait_files (folders, expected);

  /* The invoice kept a copy in INBOX and went to Archive (created);
   * both the invoice and the boss's mail are flagged in INBOX. Mail read
   * already is not new: it stays. */
  for (guint round = 0; round < WAIT_MS / 50 && flagged < 2; round++)
    {
      g_clear_pointer (&inbox, g_ptr_array_unref);
      inbox = list_files ("INBOX");
      flagged = 0;
      for (guint i = 0; i < inbox->len; i++)
        if (g_str_has_suffix (g_ptr_array_index (inbox, i), "F"))
          flagged++;
      if (flagged < 2)
        g_usleep (50 * 1000);
    }
  ck_assert_uint_eq (flagged, 2);
  ck_assert_uint_eq (stored_items ("INBOX"), 4);
  ck_assert_uint_eq (stored_items ("Lists"), 2);
  ck_assert_uint_eq (stored_items ("Archive"), 1);

  /* Mail the filter filed once is not filed again when it restarts. */
  stop_filter (SIGTERM);
  start_filter ();
  synchronize ();
  g_usleep (500 * 1000);
  wait_files (folders, expected);
}
END_TEST

START_TEST (test_script_error)
{
  g_autofree char *text = message (1, "dev@gnome.org", "[gnome] release", "");
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) status_message = NULL;
  const char *folders[] = { "INBOX", NULL };
  const guint expected[] = { 1 };

  start_resource ();
  write_script ("require \"fileinto\";\nif header :contains \"subject\" \"x\" {\n"
                "  fileinto \"Lists\"\n}\n");
  start_filter ();
  status = filter_property ("Status");
  status_message = filter_property ("StatusMessage");
  ck_assert_uint_eq (g_variant_get_uint32 (status), CAIRN_AGENT_STATUS_BROKEN);
  ck_assert_msg (strstr (g_variant_get_string (status_message, NULL),
                         "filter.sieve: line 4, column 1: expected ';'") != NULL,
                 "%s", g_variant_get_string (status_message, NULL));

  /* It keeps running and leaves mail where it is. */
  deliver (text);
  synchronize ();
  g_usleep (500 * 1000);
  wait_files (folders, expected);
  ck_assert_int_eq (waitpid (filter_pid, NULL, WNOHANG), 0);

  /* A script mended and reconfigured is read again: new mail is
   * discarded, what came before stays. */
  write_script ("if header :contains \"subject\" \"[gnome]\" {\n  discard;\n}\n");
  call_filter ("Reconfigure");
  g_clear_pointer (&status, g_variant_unref);
  g_clear_pointer (&status_message, g_variant_unref);
  status = filter_property ("Status");
  status_message = filter_property ("StatusMessage");
  ck_assert_uint_eq (g_variant_get_uint32 (status), CAIRN_AGENT_STATUS_IDLE);
  ck_assert_str_eq (g_variant_get_string (status_message, NULL), "Ready");
  deliver (text);
  synchronize ();
  g_usleep (500 * 1000);
  wait_files (folders, expected);
  ck_assert_uint_eq (stored_items ("INBOX"), 1);
}
END_TEST

static const char file_all[] = "require \"fileinto\"; fileinto \"Filed\";";

/* The key collections names the collections filtered, instead of INBOX. */
START_TEST (test_collections_key)
{
  g_autofree char *first = message (1, "a@example.com", "One", "");
  g_autofree char *second = message (2, "a@example.com", "Two", "");
  g_autofree char *third = message (3, "a@example.com", "Three", "");
  const char *folders[] = { "INBOX", "Incoming", "Lists/Other", "Filed", NULL };
  const guint expected[] = { 1, 0, 0, 2 };

  create_folder ("Incoming");
  create_folder ("Lists");
  create_folder ("Lists/Other");
  create_folder ("Filed");
  start_resource ();
  write_script_with (file_all, "collections=Incoming;Lists/Other;\n");
  start_filter ();
  deliver (first);
  deliver_to ("Incoming", second, NULL);
  deliver_to ("Lists/Other", third, NULL);
  synchronize ();
  wait_files (folders, expected);
}
END_TEST

static gboolean
set_inbox_role (CairnTransaction *txn,
                gpointer          data,
                GError          **error)
{
  g_autoptr(CairnCollection) other =
    cairn_store_find_collection_by_remote_id (client, RESOURCE, ".Other", error);
  g_autoptr(GBytes) role = g_bytes_new_static ("inbox", 5);

  if (other == NULL)
    return FALSE;
  cairn_collection_set_attribute (other, "role", role);
  return cairn_transaction_modify_collection (txn, other, 0, error);
}

/* By default, a collection with the role inbox is filtered as INBOX is. */
START_TEST (test_inbox_role)
{
  g_autofree char *first = message (1, "a@example.com", "One", "");
  g_autofree char *second = message (2, "a@example.com", "Two", "");
  g_autofree char *third = message (3, "a@example.com", "Three", "");
  const char *folders[] = { "INBOX", "Other", "Plain", "Filed", NULL };
  const guint expected[] = { 0, 0, 1, 2 };
  GError *error = NULL;

  create_folder ("Other");
  create_folder ("Plain");
  create_folder ("Filed");
  start_resource ();
  ck_assert (cairn_store_write_sync (client, set_inbox_role, NULL, NULL, NULL, &error));
  assert_no_error (error);
  write_script (file_all);
  start_filter ();
  deliver (first);
  deliver_to ("Other", second, NULL);
  deliver_to ("Plain", third, NULL);
  synchronize ();
  wait_files (folders, expected);
}
END_TEST

#define N_FOLDERS 10

static guint64
count_filed (char **names)
{
  guint64 filed = 0;

  for (guint i = 0; i < N_FOLDERS; i++)
    filed += stored_items (names[i]);
  return filed;
}

/* A script that files @n messages into ten folders (and keeps a copy of
 * each in INBOX with @keep), killed twice in the middle: in the end,
 * each message was filed once, and copied once. */
static void
kill_mid_filter (guint    n,
                 gboolean keep)
{
  g_autoptr(GString) script = g_string_new ("require \"fileinto\";\n");
  const char *folders[N_FOLDERS + 2] = { "INBOX" };
  guint expected[N_FOLDERS + 1] = { keep ? n : 0 };
  g_auto(GStrv) names = g_new0 (char *, N_FOLDERS + 1);
  guint64 filed = 0;
  guint kills = 0;

  for (guint i = 0; i < N_FOLDERS; i++)
    {
      names[i] = g_strdup_printf ("F%u", i);
      folders[i + 1] = names[i];
      expected[i + 1] = n / N_FOLDERS;
      create_folder (names[i]);
      g_string_append_printf (script,
                              "%sif header :is \"X-Bucket\" \"%u\" { fileinto \"F%u\";%s }\n",
                              i > 0 ? "els" : "", i, i, keep ? " keep;" : "");
    }
  start_resource ();
  write_script (script->str);

  /* The filter records where it starts, then is stopped while the mail
   * arrives. */
  start_filter ();
  stop_filter (SIGKILL);
  for (guint m = 0; m < n; m++)
    {
      g_autofree char *bucket = g_strdup_printf ("X-Bucket: %u\r\n", m % N_FOLDERS);
      g_autofree char *text = message (m, "list@example.org", "numbered", bucket);

      deliver (text);
    }
  synchronize ();
  ck_assert_uint_eq (stored_items ("INBOX"), n);

  /* Killed as soon as it has filed some, and again, then left to finish. */
  start_filter ();
  while (kills < 2 && filed < n)
    {
      guint64 now = count_filed (names);

      if (now > filed)
        {
          stop_filter (SIGKILL);
          kills++;
          filed = now;
          start_filter ();
        }
      else
        g_usleep (5 * 1000);
    }

  /* The filter's work, then the resource's, which renames thousands of
   * files and takes long beside the other suites. */
  for (guint round = 0; round < LONG_WAIT_MS / 50 && count_filed (names) < n; round++)
    g_usleep (50 * 1000);
  g_usleep (500 * 1000);
  ck_assert_uint_eq (stored_items ("INBOX"), keep ? n : 0);
  for (guint i = 0; i < N_FOLDERS; i++)
    ck_assert_uint_eq (stored_items (names[i]), n / N_FOLDERS);
  wait_files_for (folders, expected, LONG_WAIT_MS);
  /* Each in its own bucket. */
  for (guint i = 0; i < N_FOLDERS; i++)
    {
      g_autoptr(GPtrArray) files = list_files (names[i]);
      g_autofree char *path = cairn_test_maildir_get_folder_path (maildir, names[i]);
      g_autofree char *bucket = g_strdup_printf ("X-Bucket: %u\r\n", i);

      for (guint j = 0; j < files->len; j += 97)
        {
          g_autofree char *contents = NULL;
          g_autofree char *file = NULL;

          file = g_build_filename (path, "cur", g_ptr_array_index (files, j), NULL);
          if (!g_file_test (file, G_FILE_TEST_EXISTS))
            {
              g_free (file);
              file = g_build_filename (path, "new", g_ptr_array_index (files, j), NULL);
            }
          ck_assert (g_file_get_contents (file, &contents, NULL, NULL));
          ck_assert (strstr (contents, bucket) != NULL);
        }
    }
}

START_TEST (test_kill_mid_filter)
{
  kill_mid_filter (10000, FALSE);
}
END_TEST

/* A copy is made once too: the message moves whenever one is made. */
START_TEST (test_kill_mid_filter_copies)
{
  kill_mid_filter (2000, TRUE);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "filter", test_filter_on_disk },
    { "filter", test_script_error },
    { "filter", test_collections_key },
    { "filter", test_inbox_role },
    { "crash", test_kill_mid_filter },
    { "crash", test_kill_mid_filter_copies },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("mailfilter", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 900));
}
