/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The new-mail notifier (agents/notifier) in its own cairn-agent-host
 * beside a real maildir resource, against a notification service of the
 * test's own on the private bus: a burst of 100 messages is one
 * notification, an initial sync none, do-not-disturb none, an offline
 * resource or notifier none. The service is the one stand-in of these
 * suites: the real ones need a desktop session. */
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
#define NOTIFIER "notifier_0"
#define WAIT_MS (60 * 1000)
/* The notifier's delay; a burst is announced this long after its end. */
#define DELAY_MS 500
/* Long enough to see that no notification comes. */
#define QUIET_MS (DELAY_MS * 6)

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnTestMaildir *maildir;
static CairnStore *client;
static GDBusConnection *bus;
static char *root;
static GPid notifier_pid;
static guint registration_id;
static GPtrArray *notifications;  /* "summary\nbody" */

static const char service_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Notifications'>"
  "    <method name='Notify'>"
  "      <arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='as' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "      <arg type='u' direction='out'/>"
  "    </method>"
  "    <method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "    <method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "    <method name='GetServerInformation'>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
handle_call (GDBusConnection       *connection,
             const char            *sender,
             const char            *object_path,
             const char            *interface_name,
             const char            *method_name,
             GVariant              *parameters,
             GDBusMethodInvocation *invocation,
             gpointer               data)
{
  if (g_str_equal (method_name, "Notify"))
    {
      const char *summary, *body;

      g_variant_get (parameters, "(&su&s&s&s@as@a{sv}i)", NULL, NULL, NULL, &summary, &body,
                     NULL, NULL, NULL);
      g_ptr_array_add (notifications, g_strconcat (summary, "\n", body, NULL));
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u)", notifications->len));
    }
  else if (g_str_equal (method_name, "GetCapabilities"))
    {
      const char *capabilities[] = { "body", NULL };

      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(^as)", capabilities));
    }
  else if (g_str_equal (method_name, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "test", "Cairn", "1", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
start_service (void)
{
  static const GDBusInterfaceVTable vtable = { handle_call };
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (service_xml, NULL);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  assert_no_error (error);
  registration_id = g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications",
                                                       node->interfaces[0], &vtable, NULL, NULL,
                                                       &error);
  assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications", 4),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  assert_no_error (error);
}

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
  ck_assert (cairn_agent_fixture_link_type (agents, NOTIFIER_AGENT_DIR, "notifier.agent",
                                            "libcairn-notifier-agent.so", &error));
  assert_no_error (error);
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "Maildir", NULL);
  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  assert_no_error (error);
  notifications = g_ptr_array_new_with_free_func (g_free);
  start_service ();
}

static void
stop_notifier (void)
{
  if (notifier_pid == 0)
    return;
  cairn_agent_fixture_stop_host (notifier_pid, SIGTERM);
  notifier_pid = 0;
}

static void
teardown (void)
{
  stop_notifier ();
  if (registration_id != 0)
    g_dbus_connection_unregister_object (bus, registration_id);
  registration_id = 0;
  g_clear_object (&bus);
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&maildir);
  g_clear_object (&environment);
  g_clear_pointer (&notifications, g_ptr_array_unref);
  g_clear_pointer (&root, g_free);
}

static void
start_resource (void)
{
  const char *config[] = { "path", root, "layout", "maildir++", NULL };
  GError *error = NULL;

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
synchronize (void)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, &error));
  assert_no_error (error);
  cairn_test_resource_wait_replayed (resource, WAIT_MS, &error);
  assert_no_error (error);
}

static void
write_config (gboolean do_not_disturb)
{
  g_autofree char *config = g_strdup_printf ("[Agent]\nType=notifier\ndelay=%u\n"
                                             "do-not-disturb=%s\n", DELAY_MS,
                                             do_not_disturb ? "true" : "false");
  GError *error = NULL;

  ck_assert (cairn_agent_fixture_write_config (NOTIFIER, config, &error));
  assert_no_error (error);
}

/* Runs the test's main context, where the service answers, for @ms. */
static void
iterate (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5 * 1000);
    }
}

/* The service answers while the host starts. */
static void
start_notifier (void)
{
  const char *store = cairn_test_environment_get_store_path (environment);
  GError *error = NULL;

  notifier_pid = cairn_agent_fixture_start_host (AGENT_HOST, NOTIFIER, store, &error);
  assert_no_error (error);
}

static char *
message (guint n)
{
  return g_strdup_printf ("From: \"Sender %u\" <s%u@example.com>\r\nTo: ada@example.com\r\n"
                          "Subject: Message %u\r\nDate: Tue, 1 Dec 2026 %02u:%02u:00 +0000\r\n"
                          "Message-ID: <%u@test.example>\r\n\r\nBody %u\r\n",
                          n, n, n, n / 60, n % 60, n, n);
}

static void
deliver (guint n)
{
  g_autofree char *text = message (n);
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autofree char *uid = NULL;
  GError *error = NULL;

  uid = cairn_test_maildir_deliver (maildir, "INBOX", bytes, NULL, &error);
  assert_no_error (error);
}

/* 100 new messages delivered at once, the 99th the newest by date. */
static void
deliver_burst (void)
{
  for (guint n = 0; n < 100; n++)
    deliver (n == 99 ? 1000 : n);
  synchronize ();
}

/* Waits for @expected notifications, then a while longer for more. */
static void
assert_notifications (guint expected)
{
  for (guint i = 0; i < WAIT_MS / 50 && notifications->len < expected; i++)
    iterate (50);
  iterate (QUIET_MS);
  ck_assert_msg (notifications->len == expected, "%u notifications, not %u: %s",
                 notifications->len, expected,
                 notifications->len > 0 ? (char *) g_ptr_array_index (notifications, 0) : "");
}

START_TEST (test_burst)
{
  GError *error = NULL;

  /* An initial sync of 300 unread messages, with the notifier running
   * from before the resource's collections exist. */
  ck_assert (cairn_test_maildir_generate (maildir, "INBOX", 300, 5, &error));
  assert_no_error (error);
  write_config (FALSE);
  start_notifier ();
  start_resource ();
  assert_notifications (0);

  /* A burst of 100 is one notification with the newest message. */
  deliver_burst ();
  assert_notifications (1);
  ck_assert_str_eq (g_ptr_array_index (notifications, 0),
                    "100 new messages\nSender 1000: Message 1000");

  /* One message alone, once it is over. */
  deliver (2000);
  synchronize ();
  assert_notifications (2);
  ck_assert_str_eq (g_ptr_array_index (notifications, 1),
                    "New message from Sender 2000\nMessage 2000");
}
END_TEST

START_TEST (test_do_not_disturb)
{
  write_config (TRUE);
  start_resource ();
  start_notifier ();
  deliver_burst ();
  assert_notifications (0);
}
END_TEST

static gboolean
add_unread (CairnTransaction *txn,
            gpointer          data,
            GError          **error)
{
  g_autoptr(CairnCollection) inbox =
    cairn_store_find_collection_by_remote_id (client, RESOURCE, "INBOX", error);

  if (inbox == NULL)
    return FALSE;
  for (guint n = 0; n < 5; n++)
    {
      g_autofree char *text = message (GPOINTER_TO_UINT (data) + n);
      g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
      g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, bytes);
      g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

      cairn_item_set_collection_id (item, cairn_collection_get_id (inbox));
      cairn_item_set_size (item, g_bytes_get_size (bytes));
      cairn_item_set_part (item, part);
      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

static void
set_notifier_online (gboolean online)
{
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.cairn.Agent." NOTIFIER, "/org/cairn/Agent",
                                       "org.cairn.Agent1", "SetOnline",
                                       g_variant_new ("(b)", online), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  assert_no_error (error);
}

START_TEST (test_offline)
{
  GError *error = NULL;

  write_config (FALSE);
  start_resource ();
  start_notifier ();

  /* Mail another client adds while the resource is offline. */
  ck_assert (cairn_test_resource_set_online (resource, FALSE, &error));
  assert_no_error (error);
  ck_assert (cairn_store_write_sync (client, add_unread, GUINT_TO_POINTER (100), NULL, NULL,
                                     &error));
  assert_no_error (error);
  assert_notifications (0);

  /* The notifier itself offline. */
  ck_assert (cairn_test_resource_set_online (resource, TRUE, &error));
  assert_no_error (error);
  set_notifier_online (FALSE);
  ck_assert (cairn_store_write_sync (client, add_unread, GUINT_TO_POINTER (200), NULL, NULL,
                                     &error));
  assert_no_error (error);
  assert_notifications (0);

  /* Both online. */
  set_notifier_online (TRUE);
  ck_assert (cairn_store_write_sync (client, add_unread, GUINT_TO_POINTER (300), NULL, NULL,
                                     &error));
  assert_no_error (error);
  assert_notifications (1);
  ck_assert_str_eq (g_ptr_array_index (notifications, 0),
                    "5 new messages\nSender 304: Message 304");
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "notifier", test_burst },
    { "notifier", test_do_not_disturb },
    { "notifier", test_offline },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("notifier", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 300));
}
