/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CalDAV and CardDAV resource (resources/dav) against a real
 * Radicale on loopback: discovery from the root URL, the initial sync
 * of a calendar, a task list and an address book, changes by another
 * client picked up through the sync token, a rejected token, local
 * changes replayed, conflicts under each policy, offline work, a crash
 * in the middle of a replay, a recurring event that round-trips byte for
 * byte, and no-op syncs found by getlastmodified that miss no change. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include <libsoup/soup.h>

#include <cairn-test/cairn-test.h>

#include "cairn-resource-checks.h"
#include "cairn-test-suite.h"
#include "radicale-fixture.h"

#define ID "dav_0"
#define USER "alice"
#define PASSWORD "wonderland"
#define WAIT_MS (60 * 1000)
#define CALENDAR "/" USER "/calendar/"
#define TASKS "/" USER "/tasks/"
#define CONTACTS "/" USER "/contacts/"

static CairnTestEnvironment *environment;
static RadicaleFixture *radicale;
static CairnTestResource *resource;
static CairnStore *client;

static char *
event (const char *uid,
       const char *summary)
{
  return g_strdup_printf ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cairn//Test//EN\r\n"
                          "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
                          "DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n"
                          "SUMMARY:%s\r\nLOCATION:Room 1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                          uid, summary);
}

static char *
task (const char *uid,
      const char *summary)
{
  return g_strdup_printf ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cairn//Test//EN\r\n"
                          "BEGIN:VTODO\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"
                          "DUE:20260110T170000Z\r\nSUMMARY:%s\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
                          uid, summary);
}

static char *
vcard (const char *uid,
       const char *name)
{
  return g_strdup_printf ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\n"
                          "EMAIL;TYPE=work:%s@example.org\r\nEND:VCARD\r\n", uid, name, name,
                          uid);
}

/* The other client: plain HTTP. */
static guint
http (const char *method,
      const char *path,
      const char *body,
      const char *header,
      const char *value)
{
  guint status = 0;
  GBytes *answer = radicale_fixture_http (radicale, method, path, body, header, value, &status,
                                          NULL);

  g_clear_pointer (&answer, g_bytes_unref);
  return status;
}

static void
server_put (const char *path,
            const char *body)
{
  guint status = http ("PUT", path, body, NULL, NULL);

  ck_assert_msg (status == 201 || status == 204, "PUT %s: %u", path, status);
}

/* The server's bytes of @path, or NULL when it has none. */
static GBytes *
server_get (const char *path)
{
  guint status = 0;
  g_autoptr(GBytes) body = radicale_fixture_http (radicale, "GET", path, NULL, NULL, NULL,
                                                  &status, NULL);

  return status == 200 ? g_steal_pointer (&body) : NULL;
}

static gboolean
server_has (const char *path,
            const char *text)
{
  g_autoptr(GBytes) body = server_get (path);

  return body != NULL && g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                       text) != NULL;
}

static guint
server_count (const char *collection)
{
  g_autofree char *folder = g_build_filename (radicale_fixture_get_storage (radicale),
                                              "collection-root", collection, NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += name[0] != '.';
  return n;
}

static void
setup (void)
{
  g_autoptr(CairnSecrets) secrets = NULL;
  g_autofree char *e1 = event ("e1", "Breakfast");
  g_autofree char *e2 = event ("e2", "Lunch");
  g_autofree char *t1 = task ("t1", "Write the report");
  g_autofree char *c1 = vcard ("c1", "Ada Lovelace");
  g_autofree char *c2 = vcard ("c2", "Alan Turing");
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENTS_DIR", DAV_AGENT_DIR, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  radicale = radicale_fixture_start (cairn_test_environment_get_path (environment), USER,
                                     PASSWORD, FALSE, &error);
  ck_assert_msg (radicale != NULL, "radicale: %s", error ? error->message : "");
  secrets = cairn_secrets_new (ID);
  ck_assert (cairn_secrets_store_sync (secrets, "password", PASSWORD, NULL, &error));
  assert_no_error (error);

  ck_assert_uint_eq (http ("MKCALENDAR", CALENDAR, "<?xml version=\"1.0\"?>"
                           "<C:mkcalendar xmlns:D=\"DAV:\" "
                           "xmlns:C=\"urn:ietf:params:xml:ns:caldav\" "
                           "xmlns:I=\"http://apple.com/ns/ical/\"><D:set><D:prop>"
                           "<D:displayname>Calendar</D:displayname>"
                           "<I:calendar-color>#ff0000ff</I:calendar-color>"
                           "<C:supported-calendar-component-set><C:comp name=\"VEVENT\"/>"
                           "</C:supported-calendar-component-set></D:prop></D:set>"
                           "</C:mkcalendar>", NULL, NULL), 201);
  ck_assert_uint_eq (http ("MKCALENDAR", TASKS, "<?xml version=\"1.0\"?>"
                           "<C:mkcalendar xmlns:D=\"DAV:\" "
                           "xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>"
                           "<D:displayname>Tasks</D:displayname>"
                           "<C:supported-calendar-component-set><C:comp name=\"VTODO\"/>"
                           "</C:supported-calendar-component-set></D:prop></D:set>"
                           "</C:mkcalendar>", NULL, NULL), 201);
  ck_assert_uint_eq (http ("MKCOL", CONTACTS, "<?xml version=\"1.0\"?>"
                           "<D:mkcol xmlns:D=\"DAV:\" "
                           "xmlns:A=\"urn:ietf:params:xml:ns:carddav\"><D:set><D:prop>"
                           "<D:resourcetype><D:collection/><A:addressbook/></D:resourcetype>"
                           "<D:displayname>Contacts</D:displayname></D:prop></D:set>"
                           "</D:mkcol>", NULL, NULL), 201);
  server_put (CALENDAR "e1.ics", e1);
  server_put (CALENDAR "e2.ics", e2);
  server_put (TASKS "t1.ics", t1);
  server_put (CONTACTS "c1.vcf", c1);
  server_put (CONTACTS "c2.vcf", c2);
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_pointer (&radicale, radicale_fixture_stop);
  g_clear_object (&environment);
}

/* Starts the resource with one more key when @key is not NULL. */
static void
start_with (CairnTestResourceMode  mode,
            const char            *policy,
            const char            *key,
            const char            *value)
{
  g_autofree char *url = radicale_fixture_url (radicale, "/");
  const char *config[] = { "url", url, "user", USER, "conflict-policy", policy, key, value,
                           NULL };

  resource = cairn_check_start_resource (environment, "dav", ID, config, mode, WAIT_MS, &client);
}

static void
start (CairnTestResourceMode  mode,
       const char            *policy)
{
  start_with (mode, policy, NULL, NULL);
}

static void
wait_replayed (void)
{
  cairn_check_wait_replayed (resource, WAIT_MS);
}

static void
synchronize (void)
{
  cairn_check_synchronize (resource);
}

static void
set_online (gboolean online)
{
  cairn_check_set_online (resource, online);
}

static CairnCollection *
collection (const char *remote_id)
{
  CairnCollection *found = cairn_check_find_collection (client, ID, remote_id);

  ck_assert_msg (found != NULL, "no collection %s", remote_id);
  return found;
}

static guint64
collection_id (const char *remote_id)
{
  return cairn_check_collection_id (client, ID, remote_id);
}

static CairnItem *
find_item (const char *folder,
           const char *remote_id)
{
  return cairn_check_find_item (client, collection_id (folder), remote_id);
}

static GBytes *
part_bytes (CairnItem  *item,
            const char *name)
{
  CairnPart *part = cairn_item_get_part (item, name);
  GError *error = NULL;
  GBytes *data;

  ck_assert_msg (part != NULL, "no part %s", name);
  data = cairn_part_read_bytes (part, G_MAXSIZE, NULL, &error);
  assert_no_error (error);
  return data;
}

static gboolean
stored_has (const char *folder,
            const char *remote_id,
            const char *text)
{
  g_autoptr(CairnItem) item = find_item (folder, remote_id);
  const char *part = g_str_equal (folder, CONTACTS) ? "VCARD" : "ICALENDAR";
  g_autoptr(GBytes) data = item ? part_bytes (item, part) : NULL;

  return data != NULL && g_strstr_len (g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                                       text) != NULL;
}

/* The store holds the server's very bytes. */
static void
assert_same_bytes (const char *folder,
                   const char *remote_id)
{
  g_autoptr(CairnItem) item = find_item (folder, remote_id);
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(GBytes) server = server_get (remote_id);

  ck_assert_msg (item != NULL, "no item %s", remote_id);
  ck_assert_msg (server != NULL, "not on the server: %s", remote_id);
  stored = part_bytes (item, g_str_equal (folder, CONTACTS) ? "VCARD" : "ICALENDAR");
  ck_assert_msg (g_bytes_equal (stored, server), "%s differs:\n%.*s\n---\n%.*s", remote_id,
                 (int) g_bytes_get_size (stored), (const char *) g_bytes_get_data (stored, NULL),
                 (int) g_bytes_get_size (server), (const char *) g_bytes_get_data (server, NULL));
}

static guint64
stored_items (const char *folder)
{
  GError *error = NULL;
  guint64 count = 0, unread, size;

  ck_assert (cairn_store_get_collection_statistics (client, collection_id (folder), &count,
                                                    &unread, &size, &error));
  assert_no_error (error);
  return count;
}

/* Local changes, written as an application would */

typedef struct
{
  guint64 collection;
  const char *data;
  CairnItem *item;
} Edit;

static gboolean
create_object (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(GBytes) bytes = g_bytes_new (edit->data, strlen (edit->data));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("ICALENDAR", bytes);

  edit->item = cairn_item_new ("text/calendar");
  cairn_item_set_collection_id (edit->item, edit->collection);
  cairn_item_set_part (edit->item, part);
  return cairn_transaction_create_item (transaction, edit->item, error);
}

static guint64
local_create (const char *folder,
              const char *data)
{
  Edit edit = { collection_id (folder), data, NULL };
  g_autoptr(CairnItem) item = NULL;
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, create_object, &edit, NULL, NULL, &error));
  assert_no_error (error);
  item = edit.item;
  return cairn_item_get_id (item);
}

static gboolean
modify_object (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(GBytes) bytes = g_bytes_new (edit->data, strlen (edit->data));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("ICALENDAR", bytes);

  cairn_item_set_part (edit->item, part);
  return cairn_transaction_modify_item (transaction, edit->item, 0, error);
}

static gboolean
delete_object (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_delete_item (transaction, cairn_item_get_id (edit->item), error);
}

static void
local_write (CairnTransactionFunc  func,
             const char           *folder,
             const char           *remote_id,
             const char           *data)
{
  g_autoptr(CairnItem) item = find_item (folder, remote_id);
  Edit edit = { 0, data, item };
  GError *error = NULL;

  ck_assert_msg (item != NULL, "no item %s", remote_id);
  ck_assert (cairn_store_write_sync (client, func, &edit, NULL, NULL, &error));
  assert_no_error (error);
}

/* Where the resource writes item @id's object in @folder. */
static char *
object_path (const char *folder,
             guint64     id)
{
  return g_strdup_printf ("%scairn-%" G_GUINT64_FORMAT ".ics", folder, id);
}

static char *
state_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "cairn", "dav", ID ".state", NULL);
}

static char *
read_state (void)
{
  g_autofree char *path = state_path ();
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

/* A key of the resource's state file, NULL when it has none. */
static char *
state_value (const char *group,
             const char *key)
{
  g_autofree char *path = state_path ();
  g_autoptr(GKeyFile) state = g_key_file_new ();

  if (!g_key_file_load_from_file (state, path, G_KEY_FILE_NONE, NULL))
    return NULL;
  return g_key_file_get_string (state, group, key, NULL);
}

static void
set_state_value (const char *group,
                 const char *key,
                 const char *value)
{
  g_autofree char *path = state_path ();
  g_autoptr(GKeyFile) state = g_key_file_new ();

  ck_assert (g_key_file_load_from_file (state, path, G_KEY_FILE_NONE, NULL));
  g_key_file_set_string (state, group, key, value);
  ck_assert (g_key_file_save_to_file (state, path, NULL));
}

/* Tests */

START_TEST (test_initial_sync)
{
  g_autoptr(CairnCollection) calendar = NULL;
  g_autoptr(CairnCollection) tasks = NULL;
  g_autoptr(CairnCollection) contacts = NULL;
  g_autoptr(CairnItem) e1 = NULL;
  g_autoptr(CairnItem) c1 = NULL;
  g_autoptr(GBytes) summary = NULL;
  GBytes *color;
  GBytes *components;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  calendar = collection (CALENDAR);
  tasks = collection (TASKS);
  contacts = collection (CONTACTS);
  ck_assert_str_eq (cairn_collection_get_name (calendar), "Calendar");
  ck_assert_str_eq (cairn_collection_get_name (tasks), "Tasks");
  ck_assert_str_eq (cairn_collection_get_name (contacts), "Contacts");
  ck_assert_str_eq (cairn_collection_get_content_mime_types (calendar)[0], "text/calendar");
  ck_assert_str_eq (cairn_collection_get_content_mime_types (contacts)[0], "text/vcard");
  color = cairn_collection_get_attribute (calendar, "color");
  ck_assert_ptr_nonnull (color);
  ck_assert (g_str_has_prefix (g_bytes_get_data (color, NULL), "#ff0000"));
  components = cairn_collection_get_attribute (tasks, "components");
  ck_assert_ptr_nonnull (components);
  ck_assert_int_eq (g_bytes_get_size (components), 5);
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert_uint_eq (stored_items (TASKS), 1);
  ck_assert_uint_eq (stored_items (CONTACTS), 2);

  e1 = find_item (CALENDAR, CALENDAR "e1.ics");
  ck_assert_ptr_nonnull (e1);
  ck_assert_str_eq (cairn_item_get_gid (e1), "e1");
  ck_assert_ptr_nonnull (cairn_item_get_remote_revision (e1));
  summary = part_bytes (e1, "SUMMARY");
  ck_assert (g_strstr_len (g_bytes_get_data (summary, NULL), g_bytes_get_size (summary),
                           "summary=Breakfast") != NULL);
  ck_assert (g_strstr_len (g_bytes_get_data (summary, NULL), g_bytes_get_size (summary),
                           "location=Room 1") != NULL);
  g_clear_pointer (&summary, g_bytes_unref);
  c1 = find_item (CONTACTS, CONTACTS "c1.vcf");
  ck_assert_ptr_nonnull (c1);
  ck_assert_str_eq (cairn_item_get_gid (c1), "c1");
  summary = part_bytes (c1, "SUMMARY");
  ck_assert (g_strstr_len (g_bytes_get_data (summary, NULL), g_bytes_get_size (summary),
                           "c1@example.org") != NULL);
  assert_same_bytes (CALENDAR, CALENDAR "e1.ics");
  assert_same_bytes (TASKS, TASKS "t1.ics");
  assert_same_bytes (CONTACTS, CONTACTS "c2.vcf");
}
END_TEST

/* Another client adds, edits and removes; the sync token brings it. */
START_TEST (test_remote_changes)
{
  g_autofree char *e3 = event ("e3", "Dinner");
  g_autofree char *e1 = event ("e1", "Late breakfast");
  g_autofree char *state = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  state = read_state ();
  ck_assert_msg (state != NULL && strstr (state, "token=") != NULL, "no sync token kept");
  server_put (CALENDAR "e3.ics", e3);
  server_put (CALENDAR "e1.ics", e1);
  ck_assert_uint_eq (http ("DELETE", CALENDAR "e2.ics", NULL, NULL, NULL), 200);
  synchronize ();
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert (stored_has (CALENDAR, CALENDAR "e3.ics", "Dinner"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Late breakfast"));
  ck_assert_ptr_null (find_item (CALENDAR, CALENDAR "e2.ics"));
  assert_same_bytes (CALENDAR, CALENDAR "e3.ics");
}
END_TEST

/* A token the server does not know: a full listing by ETag instead. */
START_TEST (test_token_rejected)
{
  g_autofree char *path = state_path ();
  g_autofree char *e4 = event ("e4", "Tea");
  g_autofree char *group = NULL;
  g_autofree char *token = NULL;
  g_autoptr(GKeyFile) state = g_key_file_new ();

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  server_put (CALENDAR "e4.ics", e4);
  ck_assert_uint_eq (http ("DELETE", CALENDAR "e1.ics", NULL, NULL, NULL), 200);
  group = g_strdup_printf ("collection-%" G_GUINT64_FORMAT, collection_id (CALENDAR));
  ck_assert (g_key_file_load_from_file (state, path, G_KEY_FILE_NONE, NULL));
  ck_assert (g_key_file_has_key (state, group, "token", NULL));
  g_key_file_set_string (state, group, "token", "http://radicale.org/ns/sync/0000000000000000");
  ck_assert (g_key_file_save_to_file (state, path, NULL));
  synchronize ();
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert (stored_has (CALENDAR, CALENDAR "e4.ics", "Tea"));
  ck_assert_ptr_null (find_item (CALENDAR, CALENDAR "e1.ics"));
  ck_assert (g_key_file_load_from_file (state, path, G_KEY_FILE_NONE, NULL));
  token = g_key_file_get_string (state, group, "token", NULL);
  ck_assert_ptr_nonnull (token);
  ck_assert (strstr (token, "0000000000000000") == NULL);
}
END_TEST

START_TEST (test_local_changes)
{
  g_autofree char *e5 = event ("e5", "Cinema");
  g_autofree char *e1 = event ("e1", "Brunch");
  g_autoptr(CairnItem) created = NULL;
  g_autofree char *path = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  path = object_path (CALENDAR, local_create (CALENDAR, e5));
  local_write (modify_object, CALENDAR, CALENDAR "e1.ics", e1);
  local_write (delete_object, CALENDAR, CALENDAR "e2.ics", NULL);
  wait_replayed ();
  ck_assert (server_has (path, "Cinema"));
  ck_assert (server_has (CALENDAR "e1.ics", "Brunch"));
  ck_assert_ptr_null (server_get (CALENDAR "e2.ics"));
  /* The next sync reads what the server made of our PUT. */
  synchronize ();
  assert_same_bytes (CALENDAR, path);
  created = find_item (CALENDAR, path);
  ck_assert_str_eq (cairn_item_get_gid (created), "e5");
  assert_same_bytes (CALENDAR, CALENDAR "e1.ics");
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert_uint_eq (server_count (CALENDAR), 2);
}
END_TEST

/* Edited here while offline and there: a 412, settled by the policy. */
static void
make_conflict (const char *policy)
{
  g_autofree char *local = event ("e1", "Local breakfast");
  g_autofree char *server = event ("e1", "Server breakfast");

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, policy);
  set_online (FALSE);
  local_write (modify_object, CALENDAR, CALENDAR "e1.ics", local);
  server_put (CALENDAR "e1.ics", server);
  set_online (TRUE);
  wait_replayed ();
  synchronize ();
  wait_replayed ();
  synchronize ();
}

START_TEST (test_conflict_keep_server)
{
  make_conflict ("keep-server");
  ck_assert (server_has (CALENDAR "e1.ics", "Server breakfast"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Server breakfast"));
  ck_assert_uint_eq (server_count (CALENDAR), 2);
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
}
END_TEST

START_TEST (test_conflict_keep_local)
{
  make_conflict ("keep-local");
  ck_assert (server_has (CALENDAR "e1.ics", "Local breakfast"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Local breakfast"));
  ck_assert_uint_eq (server_count (CALENDAR), 2);
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
}
END_TEST

START_TEST (test_conflict_keep_both)
{
  make_conflict ("keep-both");
  ck_assert (server_has (CALENDAR "e1.ics", "Server breakfast"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Server breakfast"));
  /* The local version is a new object, with a UID of its own. */
  ck_assert_uint_eq (server_count (CALENDAR), 3);
  ck_assert_uint_eq (stored_items (CALENDAR), 3);
}
END_TEST

/* Offline changes reach the server before the next sync reads it. */
START_TEST (test_offline)
{
  g_autofree char *e6 = event ("e6", "Offline party");
  g_autofree char *e2 = event ("e2", "Offline lunch");
  g_autofree char *e7 = event ("e7", "Remote meeting");
  g_autofree char *path = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  set_online (FALSE);
  path = object_path (CALENDAR, local_create (CALENDAR, e6));
  local_write (modify_object, CALENDAR, CALENDAR "e2.ics", e2);
  local_write (delete_object, CALENDAR, CALENDAR "e1.ics", NULL);
  server_put (CALENDAR "e7.ics", e7);
  set_online (TRUE);
  wait_replayed ();
  synchronize ();
  ck_assert (server_has (path, "Offline party"));
  ck_assert (server_has (CALENDAR "e2.ics", "Offline lunch"));
  ck_assert_ptr_null (server_get (CALENDAR "e1.ics"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e7.ics", "Remote meeting"));
  ck_assert (stored_has (CALENDAR, CALENDAR "e2.ics", "Offline lunch"));
  ck_assert_uint_eq (stored_items (CALENDAR), 3);
  ck_assert_uint_eq (server_count (CALENDAR), 3);
}
END_TEST

#define N_KILL 30

/* Killed at whatever point the replay reached: on restart nothing is
 * lost and nothing doubled. */
START_TEST (test_kill_mid_replay)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_PROCESS, "keep-server");
  set_online (FALSE);
  for (guint i = 0; i < N_KILL; i++)
    {
      g_autofree char *uid = g_strdup_printf ("k%u", i);
      g_autofree char *data = event (uid, uid);
      guint64 id = local_create (CALENDAR, data);

      g_array_append_val (ids, id);
    }
  set_online (TRUE);
  while (server_count (CALENDAR) < 2 + N_KILL / 3)
    g_usleep (2000);
  cairn_test_resource_kill (resource);
  ck_assert (cairn_test_resource_restart (resource, &error));
  assert_no_error (error);
  wait_replayed ();
  synchronize ();
  ck_assert_uint_eq (server_count (CALENDAR), 2 + N_KILL);
  ck_assert_uint_eq (stored_items (CALENDAR), 2 + N_KILL);
  for (guint i = 0; i < N_KILL; i++)
    {
      g_autofree char *path = object_path (CALENDAR, g_array_index (ids, guint64, i));
      g_autofree char *uid = g_strdup_printf ("SUMMARY:k%u\r", i);

      ck_assert_msg (server_has (path, uid), "%s missing", path);
      ck_assert_msg (stored_has (CALENDAR, path, uid), "%s not stored", path);
    }
}
END_TEST

static guint
server_has_count (GPtrArray  *paths,
                  const char *version)
{
  guint n = 0;

  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *text = g_strdup_printf ("%s of %u\r", version, i);

      n += server_has (g_ptr_array_index (paths, i), text);
    }
  return n;
}

/* Killed while edits are replayed, edited again before it starts: a PUT
 * whose answer the kill lost meets a 412 on its retry, which carries the
 * later edit, and must not be settled as a conflict with itself. */
START_TEST (test_kill_mid_modify)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_PROCESS, "keep-server");
  for (guint i = 0; i < N_KILL; i++)
    {
      g_autofree char *uid = g_strdup_printf ("m%u", i);
      g_autofree char *data = event (uid, "v1");
      char *path = object_path (CALENDAR, local_create (CALENDAR, data));

      g_ptr_array_add (paths, path);
    }
  wait_replayed ();
  set_online (FALSE);
  for (guint i = 0; i < N_KILL; i++)
    {
      g_autofree char *uid = g_strdup_printf ("m%u", i);
      g_autofree char *summary = g_strdup_printf ("v2 of %u", i);
      g_autofree char *data = event (uid, summary);

      local_write (modify_object, CALENDAR, g_ptr_array_index (paths, i), data);
    }
  set_online (TRUE);
  while (server_has_count (paths, "v2") < N_KILL / 3)
    g_usleep (2000);
  cairn_test_resource_kill (resource);
  for (guint i = 0; i < N_KILL; i++)
    {
      g_autofree char *uid = g_strdup_printf ("m%u", i);
      g_autofree char *summary = g_strdup_printf ("v3 of %u", i);
      g_autofree char *data = event (uid, summary);

      local_write (modify_object, CALENDAR, g_ptr_array_index (paths, i), data);
    }
  ck_assert (cairn_test_resource_restart (resource, &error));
  assert_no_error (error);
  wait_replayed ();
  synchronize ();
  for (guint i = 0; i < N_KILL; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *text = g_strdup_printf ("v3 of %u\r", i);

      ck_assert_msg (server_has (path, text), "%s: not the last edit on the server", path);
      ck_assert_msg (stored_has (CALENDAR, path, text), "%s: not the last edit stored", path);
    }
}
END_TEST

typedef struct
{
  CairnCollection *collection;
  const char *name;
} CollectionEdit;

static gboolean
create_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  CollectionEdit *edit = user_data;
  const char *types[] = { "text/calendar", NULL };
  g_autoptr(GBytes) color = g_bytes_new_static ("#00ff00ff", 9);

  edit->collection = cairn_collection_new (ID, 0, edit->name);
  cairn_collection_set_content_mime_types (edit->collection, types);
  cairn_collection_set_attribute (edit->collection, "color", color);
  return cairn_transaction_create_collection (transaction, edit->collection, error);
}

static gboolean
rename_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  CollectionEdit *edit = user_data;

  cairn_collection_set_name (edit->collection, edit->name);
  return cairn_transaction_modify_collection (transaction, edit->collection, 0, error);
}

static gboolean
remove_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  CollectionEdit *edit = user_data;

  return cairn_transaction_delete_collection (transaction,
                                              cairn_collection_get_id (edit->collection), error);
}

/* What the server says of a collection's name and colour; NULL when it
 * has no such collection. */
static char *
server_properties (const char *path)
{
  guint status = 0;
  g_autoptr(GBytes) body = radicale_fixture_http (radicale, "PROPFIND", path,
                                                  "<?xml version=\"1.0\"?><D:propfind "
                                                  "xmlns:D=\"DAV:\" "
                                                  "xmlns:I=\"http://apple.com/ns/ical/\">"
                                                  "<D:prop><D:displayname/><I:calendar-color/>"
                                                  "</D:prop></D:propfind>", "Depth", "0",
                                                  &status, NULL);

  return status == 207 ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body))
                       : NULL;
}

/* Calendars made, renamed and removed here reach the server; a colour
 * set there reaches the store. */
START_TEST (test_collections)
{
  CollectionEdit edit = { NULL, "Holidays" };
  g_autoptr(CairnCollection) calendar = NULL;
  g_autofree char *path = NULL;
  g_autofree char *properties = NULL;
  g_autofree char *e8 = event ("e8", "Beach");
  g_autofree char *e8_path = NULL;
  GBytes *color;
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  ck_assert (cairn_store_write_sync (client, create_collection, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  path = g_strdup_printf ("/" USER "/cairn-%" G_GUINT64_FORMAT "/",
                          cairn_collection_get_id (edit.collection));
  properties = server_properties (path);
  ck_assert_msg (properties && strstr (properties, "Holidays") && strstr (properties, "#00ff00"),
                 "%s", properties);
  e8_path = object_path (path, local_create (path, e8));
  /* As the store has it now, with the remote id the replay gave it. */
  g_object_unref (edit.collection);
  edit.collection = collection (path);
  edit.name = "Vacations";
  ck_assert (cairn_store_write_sync (client, rename_collection, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  g_free (properties);
  properties = server_properties (path);
  ck_assert_msg (properties && strstr (properties, "Vacations"), "%s", properties);
  ck_assert (server_has (e8_path, "Beach"));

  ck_assert_uint_eq (http ("PROPPATCH", CALENDAR, "<?xml version=\"1.0\"?><D:propertyupdate "
                           "xmlns:D=\"DAV:\" xmlns:I=\"http://apple.com/ns/ical/\"><D:set>"
                           "<D:prop><I:calendar-color>#0000ffff</I:calendar-color></D:prop>"
                           "</D:set></D:propertyupdate>", NULL, NULL), 207);
  synchronize ();
  calendar = collection (CALENDAR);
  color = cairn_collection_get_attribute (calendar, "color");
  ck_assert_ptr_nonnull (color);
  ck_assert (g_str_has_prefix (g_bytes_get_data (color, NULL), "#0000ff"));

  ck_assert (cairn_store_write_sync (client, remove_collection, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert_ptr_null (server_properties (path));
  g_object_unref (edit.collection);
}
END_TEST

#define RECURRING \
  "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cairn//Test//EN\r\n" \
  "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" \
  "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n" \
  "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" \
  "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n" \
  "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" \
  "END:VTIMEZONE\r\n" \
  "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\n" \
  "DTSTART;TZID=Europe/Berlin:20260105T090000\r\n" \
  "DTEND;TZID=Europe/Berlin:20260105T093000\r\n" \
  "RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID=Europe/Berlin:20260112T090000\r\n" \
  "SUMMARY:Stand-up \\, with Ümlauts\r\nEND:VEVENT\r\n" \
  "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\n" \
  "RECURRENCE-ID;TZID=Europe/Berlin:20260119T090000\r\n" \
  "DTSTART;TZID=Europe/Berlin:20260119T110000\r\n" \
  "DTEND;TZID=Europe/Berlin:20260119T113000\r\n" \
  "SUMMARY:Stand-up (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

START_TEST (test_recurring_round_trip)
{
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(GBytes) summary = NULL;
  g_autoptr(GBytes) server = NULL;

  server_put (CALENDAR "weekly.ics", RECURRING);
  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  assert_same_bytes (CALENDAR, CALENDAR "weekly.ics");
  item = find_item (CALENDAR, CALENDAR "weekly.ics");
  summary = part_bytes (item, "SUMMARY");
  ck_assert (g_strstr_len (g_bytes_get_data (summary, NULL), -1, "recurring=true") != NULL);
  ck_assert (g_strstr_len (g_bytes_get_data (summary, NULL), -1,
                           "start=20260105T090000;Europe/Berlin") != NULL);
  /* Written back as it is, read again: still the server's bytes. */
  server = server_get (CALENDAR "weekly.ics");
  local_write (modify_object, CALENDAR, CALENDAR "weekly.ics",
               g_strndup (g_bytes_get_data (server, NULL), g_bytes_get_size (server)));
  wait_replayed ();
  synchronize ();

  assert_same_bytes (CALENDAR, CALENDAR "weekly.ics");
  ck_assert_uint_eq (server_count (CALENDAR), 3);
}
END_TEST

/* Radicale over TLS with a self-signed certificate: refused with a
 * message naming its fingerprint, accepted once that is pinned. Nothing
 * else of this process talks to it first: GnuTLS would resume that
 * session without looking at the certificate again. */
START_TEST (test_certificate)
{
  g_autofree char *folder = g_build_filename (cairn_test_environment_get_path (environment), "tls",
                                              NULL);
  g_autoptr(RadicaleFixture) tls = NULL;
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("dav_1");
  g_autoptr(CairnTestResource) pinned = NULL;
  g_autofree char *failure = NULL;
  g_autofree char *url = NULL;
  GError *error = NULL;
  const char *config[] = { "url", NULL, "user", USER, NULL, NULL, NULL };

  tls = radicale_fixture_start (folder, USER, PASSWORD, TRUE, &error);
  ck_assert_msg (tls != NULL, "radicale: %s", error ? error->message : "");
  url = radicale_fixture_url (tls, "/");
  config[1] = url;
  resource = cairn_test_resource_new (environment, "dav", ID, config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert (!cairn_test_resource_synchronize_sync (resource, 0, &error));
  g_clear_error (&error);
  failure = cairn_resource_dup_sync_failure (cairn_test_resource_get_resource (resource), 0);
  ck_assert_ptr_nonnull (failure);
  ck_assert_msg (strstr (failure, "not trusted") != NULL &&
                 strstr (failure, radicale_fixture_get_fingerprint (tls)) != NULL &&
                 strstr (failure, "set the key fingerprint") != NULL, "%s", failure);
  cairn_test_resource_stop (resource);

  ck_assert (cairn_secrets_store_sync (secrets, "password", PASSWORD, NULL, &error));
  assert_no_error (error);
  config[4] = "fingerprint";
  config[5] = radicale_fixture_get_fingerprint (tls);
  pinned = cairn_test_resource_new (environment, "dav", "dav_1", config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (pinned, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  cairn_test_resource_wait_replayed (pinned, WAIT_MS, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_synchronize_sync (pinned, 0, &error));
  assert_no_error (error);
  ck_assert_ptr_null (cairn_resource_dup_sync_failure (cairn_test_resource_get_resource (pinned),
                                                       0));
}
END_TEST

/* Where @server listens, on a free port of the loopback. */
static char *
listen_local (SoupServer *server)
{
  GError *error = NULL;
  GSList *uris;
  char *url;

  ck_assert (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  assert_no_error (error);
  uris = soup_server_get_uris (server);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return url;
}

/* A server that sends what Radicale never would: a stand-in only for
 * what the real one cannot be made to send. */

#define HOSTILE_EVENT(uid, summary) \
  "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\n" uid "DTSTAMP:20260101T000000Z\n" \
  "DTSTART:20260105T090000Z\nSUMMARY:" summary "\nEND:VEVENT\nEND:VCALENDAR\n"

static const char *
hostile_answer (const char *method,
                const char *path,
                const char *depth,
                const char *body)
{
  if (g_str_equal (path, "/") && strstr (body, "current-user-principal"))
    return "<D:response><D:href>/</D:href><D:propstat><D:prop><D:current-user-principal>"
           "<D:href>/u/</D:href></D:current-user-principal></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>";
  if (g_str_equal (path, "/u/") && g_strcmp0 (depth, "0") == 0)
    return "<D:response><D:href>/u/</D:href><D:propstat><D:prop><C:calendar-home-set>"
           "<D:href>/u/</D:href></C:calendar-home-set></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>";
  if (g_str_equal (path, "/u/"))
    return "<D:response><D:href>/u/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/>"
           "</D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
           "</D:response><D:response><D:href>/u/cal/</D:href><D:propstat><D:prop>"
           "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
           "<D:displayname>Hostile</D:displayname></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/plain/</D:href><D:propstat><D:prop>"
           "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
           "<S:getctag>c1</S:getctag></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>http://evil.example/cal/</D:href><D:propstat><D:prop>"
           "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>";
  /* A calendar of a server without sync-collection: its ETags by
   * PROPFIND. */
  if (g_str_equal (path, "/u/plain/") && g_str_equal (method, "PROPFIND"))
    return "<D:response><D:href>/u/plain/</D:href><D:propstat><D:prop><D:resourcetype>"
           "<D:collection/><C:calendar/></D:resourcetype></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/plain/old.ics</D:href><D:propstat><D:prop><D:getetag>o1"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>";
  if (g_str_equal (path, "/u/plain/") && strstr (body, "calendar-multiget"))
    return "<D:response><D:href>/u/plain/old.ics</D:href><D:propstat><D:prop><D:getetag>o1"
           "</D:getetag><C:calendar-data>" HOSTILE_EVENT ("UID:old\n", "Old server")
           "</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
           "</D:response>";
  if (g_str_equal (path, "/u/cal/") && strstr (body, "sync-collection"))
    return "<D:response><D:href>/u/cal/good.ics</D:href><D:propstat><D:prop><D:getetag>g"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/cal/broken.ics</D:href><D:propstat><D:prop><D:getetag>b"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/cal/nouid.ics</D:href><D:propstat><D:prop><D:getetag>n"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/cal/big.ics</D:href><D:propstat><D:prop><D:getetag>l"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>/u/cal/huge.ics</D:href><D:propstat><D:prop><D:getetag>h"
           "</D:getetag><D:getcontentlength>209715200</D:getcontentlength></D:prop>"
           "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>../../etc/passwd</D:href><D:propstat><D:prop><D:getetag>p"
           "</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
           "<D:response><D:href>http://evil.example/u/cal/x.ics</D:href><D:propstat><D:prop>"
           "<D:getetag>x</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
           "</D:response><D:response><D:href>/u/other/y.ics</D:href><D:propstat><D:prop>"
           "<D:getetag>y</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
           "</D:response><D:sync-token>t1</D:sync-token>";
  return NULL;
}

static char *
hostile_multiget (void)
{
  GString *text = g_string_new (NULL);
  g_autofree char *big = g_strnfill (100 * 1024, 'x');
  const char *objects[][2] = {
    { "/u/cal/good.ics", HOSTILE_EVENT ("UID:good\n", "Fine") },
    { "/u/cal/broken.ics", "BEGIN:VCALENDAR\nthis is not iCalendar" },
    { "/u/cal/nouid.ics", HOSTILE_EVENT ("", "No UID") },
    { "/u/cal/extra.ics", HOSTILE_EVENT ("UID:extra\n", "Not asked for") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    g_string_append_printf (text, "<D:response><D:href>%s</D:href><D:propstat><D:prop>"
                            "<D:getetag>e%u</D:getetag><C:calendar-data>%s</C:calendar-data>"
                            "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                            "</D:response>", objects[i][0], i, objects[i][1]);
  g_string_append_printf (text, "<D:response><D:href>/u/cal/big.ics</D:href><D:propstat><D:prop>"
                          "<D:getetag>l</D:getetag><C:calendar-data>"
                          HOSTILE_EVENT ("UID:big\n", "%s") "</C:calendar-data></D:prop>"
                          "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>", big);
  return g_string_free (text, FALSE);
}

static void
hostile_handler (SoupServer        *server,
                 SoupServerMessage *message,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  GPtrArray *requests = user_data;
  SoupMessageBody *request = soup_server_message_get_request_body (message);
  g_autofree char *body = g_strndup (request->data, request->length);
  const char *method = soup_server_message_get_method (message);
  const char *depth = soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                                    "Depth");
  g_autofree char *multiget = g_str_equal (path, "/u/cal/") && strstr (body, "calendar-multiget")
                              ? hostile_multiget () : NULL;
  const char *answer = multiget ? multiget : hostile_answer (method, path, depth, body);
  g_autofree char *xml = NULL;

  g_ptr_array_add (requests, g_strdup_printf ("%s %s", method, path));
  if (answer == NULL && strstr (body, "sync-collection"))
    {
      soup_server_message_set_status (message, 501, NULL);
      return;
    }
  if (answer == NULL)
    {
      soup_server_message_set_status (message, 404, NULL);
      return;
    }
  xml = g_strdup_printf ("<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\" "
                         "xmlns:C=\"urn:ietf:params:xml:ns:caldav\" "
                         "xmlns:S=\"http://calendarserver.org/ns/\">%s</D:multistatus>", answer);
  soup_server_message_set_status (message, 207, NULL);
  soup_server_message_set_response (message, "application/xml", SOUP_MEMORY_COPY, xml,
                                    strlen (xml));
}

/* Broken objects, one without UID, one larger than the limit (said or
 * not), hrefs out of the collection or the account: each reported with
 * its href, none stored, none fetched. Beside it a calendar whose server
 * has no sync-collection (501), synced by PROPFIND of ETags. */
START_TEST (test_bad_server_data)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(CairnCollection) calendar = NULL;
  g_autoptr(CairnItem) good = NULL;
  g_autoptr(CairnItem) old = NULL;
  g_autoptr(CairnCollection) plain = NULL;
  g_autofree char *failure = NULL;
  g_autofree char *url = NULL;
  GError *error = NULL;
  const char *config[] = { "url", NULL, "max-object-size", "65536", NULL };
  const char *reported[] = { "/u/cal/broken.ics: not an iCalendar object",
                             "/u/cal/nouid.ics: an iCalendar object without UID",
                             "/u/cal/big.ics: larger than max-object-size",
                             "/u/cal/huge.ics: larger than max-object-size",
                             "../../etc/passwd", "http://evil.example/u/cal/x.ics",
                             "/u/other/y.ics: outside the collection",
                             "/u/cal/extra.ics: sent without being asked for" };

  soup_server_add_handler (server, NULL, hostile_handler, requests, NULL);
  url = listen_local (server);
  config[1] = url;
  resource = cairn_test_resource_new (environment, "dav", ID, config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
  client = cairn_test_resource_open_client_store (resource, &error);
  assert_no_error (error);
  wait_replayed ();

  calendar = collection ("/u/cal/");
  ck_assert_str_eq (cairn_collection_get_name (calendar), "Hostile");
  ck_assert_uint_eq (stored_items ("/u/cal/"), 1);
  good = find_item ("/u/cal/", "/u/cal/good.ics");
  ck_assert_ptr_nonnull (good);
  ck_assert_str_eq (cairn_item_get_gid (good), "good");
  failure = cairn_resource_dup_sync_failure (cairn_test_resource_get_resource (resource),
                                             cairn_collection_get_id (calendar));
  ck_assert_ptr_nonnull (failure);
  for (guint i = 0; i < G_N_ELEMENTS (reported); i++)
    ck_assert_msg (strstr (failure, reported[i]) != NULL, "not reported: %s in %s", reported[i],
                   failure);
  plain = collection ("/u/plain/");
  ck_assert_ptr_null (cairn_resource_dup_sync_failure (cairn_test_resource_get_resource (resource),
                                                       cairn_collection_get_id (plain)));
  old = find_item ("/u/plain/", "/u/plain/old.ics");
  ck_assert_ptr_nonnull (old);
  ck_assert_str_eq (cairn_item_get_gid (old), "old");
  ck_assert_str_eq (cairn_item_get_remote_revision (old), "o1");
  for (guint i = 0; i < requests->len; i++)
    {
      const char *request = g_ptr_array_index (requests, i);

      ck_assert_msg (strstr (request, "passwd") == NULL && strstr (request, "huge") == NULL &&
                     strstr (request, "other") == NULL && strstr (request, "evil") == NULL,
                     "followed: %s", request);
    }
}
END_TEST

/* HTTP Digest, which Radicale does not offer: a proxy on loopback that
 * asks for Digest (libsoup's own server side of it) in front of Radicale,
 * to which it forwards each request with Basic. */

#define DIGEST_REALM "Cairn Digest"

typedef struct
{
  SoupSession *session;
  guint forwarded;
  /* The method whose next answer the proxy loses: it forwards the
   * request, then answers 502 as a gateway that lost the server. */
  const char *lose_answer_to;
} DigestProxy;

typedef struct
{
  SoupServerMessage *request;
  SoupMessage *forward;
  gboolean answer_lost;
} Forwarding;

static char *
digest_password (SoupAuthDomain    *domain,
                 SoupServerMessage *message,
                 const char        *user,
                 gpointer           user_data)
{
  return g_str_equal (user, USER) ? soup_auth_domain_digest_encode_password (user, DIGEST_REALM,
                                                                             PASSWORD)
                                  : NULL;
}

static void
forwarded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Forwarding *forwarding = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               NULL);
  SoupMessageHeaders *answer = soup_message_get_response_headers (forwarding->forward);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (forwarding->request);
  const char *etag = soup_message_headers_get_one (answer, "ETag");

  soup_server_message_set_status (forwarding->request,
                                  body && !forwarding->answer_lost
                                  ? soup_message_get_status (forwarding->forward) : 502,
                                  NULL);
  if (etag != NULL)
    soup_message_headers_replace (headers, "ETag", etag);
  if (body != NULL)
    soup_server_message_set_response (forwarding->request,
                                      soup_message_headers_get_one (answer, "Content-Type"),
                                      SOUP_MEMORY_COPY, g_bytes_get_data (body, NULL),
                                      g_bytes_get_size (body));
  soup_server_message_unpause (forwarding->request);
  g_object_unref (forwarding->request);
  g_object_unref (forwarding->forward);
  g_free (forwarding);
}

static void
digest_forward (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  static const char * const copied[] = { "Depth", "Content-Type", "If-Match", "If-None-Match" };
  DigestProxy *proxy = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  g_autoptr(GBytes) content = soup_message_body_flatten (body);
  g_autofree char *url = radicale_fixture_url (radicale, path);
  g_autofree char *credentials = g_base64_encode ((const guchar *) USER ":" PASSWORD,
                                                  strlen (USER ":" PASSWORD));
  g_autofree char *authorization = g_strconcat ("Basic ", credentials, NULL);
  Forwarding *forwarding = g_new0 (Forwarding, 1);
  SoupMessageHeaders *forward_headers;

  ck_assert (g_str_has_prefix (soup_message_headers_get_one (headers, "Authorization"),
                               "Digest "));
  forwarding->request = g_object_ref (message);
  forwarding->forward = soup_message_new (soup_server_message_get_method (message), url);
  if (g_strcmp0 (proxy->lose_answer_to, soup_server_message_get_method (message)) == 0)
    {
      forwarding->answer_lost = TRUE;
      proxy->lose_answer_to = NULL;
    }
  forward_headers = soup_message_get_request_headers (forwarding->forward);
  for (guint i = 0; i < G_N_ELEMENTS (copied); i++)
    if (soup_message_headers_get_one (headers, copied[i]) != NULL)
      soup_message_headers_replace (forward_headers, copied[i],
                                    soup_message_headers_get_one (headers, copied[i]));
  soup_message_headers_replace (forward_headers, "Authorization", authorization);
  if (g_bytes_get_size (content) > 0)
    soup_message_set_request_body_from_bytes (forwarding->forward,
                                              soup_message_headers_get_one (headers,
                                                                            "Content-Type"),
                                              content);
  proxy->forwarded++;
  soup_server_message_pause (message);
  soup_session_send_and_read_async (proxy->session, forwarding->forward, G_PRIORITY_DEFAULT,
                                    NULL, forwarded, forwarding);
}

/* Starts the resource, in this process, on a Digest proxy to Radicale
 * that @server runs with @proxy. */
static void
start_behind_proxy (SoupServer  *server,
                    DigestProxy *proxy)
{
  g_autoptr(SoupAuthDomain) domain = soup_auth_domain_digest_new ("realm", DIGEST_REALM, NULL);
  g_autofree char *url = NULL;
  const char *config[] = { "url", NULL, "user", USER, NULL };

  soup_auth_domain_digest_set_auth_callback (domain, digest_password, NULL, NULL);
  soup_auth_domain_add_path (domain, "/");
  soup_server_add_auth_domain (server, domain);
  soup_server_add_handler (server, NULL, digest_forward, proxy, NULL);
  url = listen_local (server);
  config[1] = url;
  resource = cairn_check_start_resource (environment, "dav", ID, config,
                                         CAIRN_TEST_RESOURCE_IN_PROCESS, WAIT_MS, &client);
}

/* Discovery, the initial sync and a replayed create, all through Digest;
 * the proxy refuses anything else. */
START_TEST (test_digest)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  DigestProxy proxy = { soup_session_new (), 0, NULL };
  g_autofree char *e5 = event ("e5", "Cinema");
  g_autofree char *path = NULL;

  start_behind_proxy (server, &proxy);
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert_uint_eq (stored_items (CONTACTS), 2);
  path = object_path (CALENDAR, local_create (CALENDAR, e5));
  wait_replayed ();
  ck_assert (server_has (path, "Cinema"));
  ck_assert_uint_gt (proxy.forwarded, 0);
  g_clear_object (&resource);
  g_object_unref (proxy.session);
}
END_TEST

/* A calendar whose creation reached the server but whose answer was
 * lost is there when the creation is tried again, and Radicale refuses
 * the second MKCALENDAR (409, DAV:resource-must-be-null): the resource
 * takes the calendar as made. It used to keep the creation as failed,
 * with no remote id, so that the calendar's removal never reached the
 * server and a sync brought it back. */
START_TEST (test_mkcalendar_answer_lost)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  DigestProxy proxy = { soup_session_new (), 0, NULL };
  CollectionEdit edit = { NULL, "Trips" };
  g_autoptr(CairnCollection) made = NULL;
  g_autofree char *path = NULL;
  g_autofree char *properties = NULL;
  GError *error = NULL;

  start_behind_proxy (server, &proxy);
  proxy.lose_answer_to = "MKCALENDAR";
  ck_assert (cairn_store_write_sync (client, create_collection, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert_ptr_null (proxy.lose_answer_to);
  path = g_strdup_printf ("/" USER "/cairn-%" G_GUINT64_FORMAT "/",
                          cairn_collection_get_id (edit.collection));
  properties = server_properties (path);
  ck_assert_msg (properties && strstr (properties, "Trips"), "%s", properties);
  made = collection (path);
  ck_assert_uint_eq (cairn_collection_get_id (made), cairn_collection_get_id (edit.collection));

  ck_assert (cairn_store_write_sync (client, remove_collection, &edit, NULL, NULL, &error));
  assert_no_error (error);
  wait_replayed ();
  ck_assert_ptr_null (server_properties (path));
  g_object_unref (edit.collection);
  g_clear_object (&resource);
  g_object_unref (proxy.session);
}
END_TEST

/* The probe: the state group of the calendar. */
static char *
calendar_group (void)
{
  return g_strdup_printf ("collection-%" G_GUINT64_FORMAT, collection_id (CALENDAR));
}

/* A sync long enough after the last change that the calendar's
 * getlastmodified, seen by this sync's listing, is trusted by the next:
 * 2 s older than the listing, whose Date loses up to a second twice. */
static void
settle (void)
{
  g_usleep (3200 * G_TIME_SPAN_MILLISECOND);
  synchronize ();
}

/* A sync that the probe found a no-op sends no sync-collection: the
 * time of the last full check stays as it was set. */
static void
assert_noop_sync (void)
{
  g_autofree char *group = calendar_group ();
  g_autofree char *marker = g_strdup_printf ("%" G_GINT64_FORMAT,
                                             g_get_real_time () / G_USEC_PER_SEC - 10);
  g_autofree char *after = NULL;

  set_state_value (group, "full-check", marker);
  synchronize ();
  after = state_value (group, "full-check");
  ck_assert_str_eq (after, marker);
}

/* Another client's edits in the second of the last sync (also when that
 * sync listed an edit of the same second), a removal and a rename with a
 * new colour are each found, although no-op syncs skip the
 * sync-collection. */
START_TEST (test_probe_changes)
{
  g_autofree char *e1 = event ("e1", "Second breakfast");
  g_autofree char *e1_again = event ("e1", "Third breakfast");
  g_autofree char *group = NULL;
  g_autofree char *lastmodified = NULL;
  g_autoptr(CairnCollection) calendar = NULL;
  GBytes *color;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  settle ();
  group = calendar_group ();
  lastmodified = state_value (group, "lastmodified");
  ck_assert_ptr_nonnull (lastmodified);
  assert_noop_sync ();

  server_put (CALENDAR "e1.ics", e1);
  synchronize ();
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Second breakfast"));
  server_put (CALENDAR "e1.ics", e1_again);
  synchronize ();
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Third breakfast"));

  settle ();
  assert_noop_sync ();
  ck_assert_uint_eq (http ("DELETE", CALENDAR "e2.ics", NULL, NULL, NULL), 200);
  synchronize ();
  ck_assert_ptr_null (find_item (CALENDAR, CALENDAR "e2.ics"));

  settle ();
  assert_noop_sync ();
  ck_assert_uint_eq (http ("PROPPATCH", CALENDAR, "<?xml version=\"1.0\"?><D:propertyupdate "
                           "xmlns:D=\"DAV:\" xmlns:I=\"http://apple.com/ns/ical/\"><D:set>"
                           "<D:prop><D:displayname>Renamed</D:displayname>"
                           "<I:calendar-color>#00ff00ff</I:calendar-color></D:prop>"
                           "</D:set></D:propertyupdate>", NULL, NULL), 207);
  synchronize ();
  calendar = collection (CALENDAR);
  ck_assert_str_eq (cairn_collection_get_name (calendar), "Renamed");
  color = cairn_collection_get_attribute (calendar, "color");
  ck_assert_ptr_nonnull (color);
  ck_assert (g_str_has_prefix (g_bytes_get_data (color, NULL), "#00ff00"));
  ck_assert_ptr_null (state_value ("account", "probe-disabled"));
}
END_TEST

/* A sync of one collection, which no listing of the homes comes before,
 * checks the server: what the last listing said is used once only. */
START_TEST (test_collection_sync)
{
  g_autofree char *e1 = event ("e1", "Early breakfast");
  GError *error = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  settle ();
  server_put (CALENDAR "e1.ics", e1);
  ck_assert (cairn_test_resource_synchronize_sync (resource, collection_id (CALENDAR), &error));
  assert_no_error (error);
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Early breakfast"));
}
END_TEST

/* One object a multiget: the batches the thread fetches ahead, several
 * of them written at once when the store is behind, all arrive. */
START_TEST (test_small_batches)
{
  start_with (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server", "multiget-batch", "1");
  ck_assert_uint_eq (stored_items (CALENDAR), 2);
  ck_assert_uint_eq (stored_items (TASKS), 1);
  ck_assert_uint_eq (stored_items (CONTACTS), 2);
  for (guint i = 0; i < 7; i++)
    {
      g_autofree char *uid = g_strdup_printf ("more-%u", i);
      g_autofree char *path = g_strdup_printf (CALENDAR "%s.ics", uid);
      g_autofree char *text = event (uid, "More");

      server_put (path, text);
    }
  synchronize ();
  ck_assert_uint_eq (stored_items (CALENDAR), 9);
  ck_assert (stored_has (CALENDAR, CALENDAR "more-6.ics", "More"));
  assert_same_bytes (CALENDAR, CALENDAR "more-3.ics");
}
END_TEST

/* @path in Radicale's storage, under the user's collections. */
static char *
storage_path (const char *path)
{
  return g_build_filename (radicale_fixture_get_storage (radicale), "collection-root", path,
                           NULL);
}

/* Another client's edit that a server hides from getlastmodified: the
 * times of the object and of its folder set back to what they were, as
 * a server whose collection time does not follow its members would. */
static void
hidden_put (const char *path,
            const char *body)
{
  g_autofree char *file = storage_path (path);
  g_autofree char *folder = g_path_get_dirname (file);
  struct stat file_before, folder_before;
  struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

  ck_assert_int_eq (g_stat (file, &file_before), 0);
  ck_assert_int_eq (g_stat (folder, &folder_before), 0);
  server_put (path, body);
  times[1] = file_before.st_mtim;
  ck_assert_int_eq (utimensat (AT_FDCWD, file, times, 0), 0);
  times[1] = folder_before.st_mtim;
  ck_assert_int_eq (utimensat (AT_FDCWD, folder, times, 0), 0);
}

/* The periodic full check finds what the probe missed, and the probe is
 * never used again for the account: later hidden edits are found too. */
START_TEST (test_probe_miss)
{
  g_autofree char *e1 = event ("e1", "Brunch");
  g_autofree char *e2 = event ("e2", "Late lunch");
  g_autofree char *group = NULL;
  g_autofree char *reason = NULL;

  start (CAIRN_TEST_RESOURCE_IN_PROCESS, "keep-server");
  settle ();
  group = calendar_group ();
  hidden_put (CALENDAR "e1.ics", e1);
  synchronize ();
  /* The server misled the probe: this sync saw no change. */
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Breakfast"));
  ck_assert_ptr_null (state_value ("account", "probe-disabled"));

  set_state_value (group, "full-check", "1");
  synchronize ();
  ck_assert (stored_has (CALENDAR, CALENDAR "e1.ics", "Brunch"));
  reason = state_value ("account", "probe-disabled");
  ck_assert_msg (reason != NULL && strstr (reason, CALENDAR) != NULL, "probe kept: %s", reason);

  hidden_put (CALENDAR "e2.ics", e2);
  synchronize ();
  ck_assert (stored_has (CALENDAR, CALENDAR "e2.ics", "Late lunch"));
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "sync", test_initial_sync },
    { "sync", test_remote_changes },
    { "sync", test_token_rejected },
    { "sync", test_recurring_round_trip },
    { "sync", test_bad_server_data },
    { "sync", test_certificate },
    { "sync", test_digest },
    { "replay", test_mkcalendar_answer_lost },
    { "sync", test_probe_changes },
    { "sync", test_probe_miss },
    { "sync", test_collection_sync },
    { "sync", test_small_batches },
    { "replay", test_local_changes },
    { "replay", test_offline },
    { "replay", test_kill_mid_replay },
    { "replay", test_kill_mid_modify },
    { "replay", test_collections },
    { "conflicts", test_conflict_keep_server },
    { "conflicts", test_conflict_keep_local },
    { "conflicts", test_conflict_keep_both },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("dav", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 240));
}

