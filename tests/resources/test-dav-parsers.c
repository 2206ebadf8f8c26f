/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DAV resource's readers of what a server sends, fed hostile input:
 * multistatus XML (entities, DTDs, wrong roots), hrefs leading out of
 * the account, and calendar objects and vCards that are broken, binary,
 * without UID or more than one. Built from the resource's own sources. */
#include <check.h>
#include <string.h>

#include <cairn/cairn.h>

#include "cairn-dav-client-private.h"
#include "cairn-dav-multistatus-private.h"
#include "cairn-dav-object-private.h"
#include "cairn-test-suite.h"

static GPtrArray *
parse_xml (const char  *text,
           char       **token,
           GError     **error)
{
  g_autoptr(GBytes) body = g_bytes_new (text, strlen (text));

  return cairn_dav_multistatus_parse (body, token, error);
}

START_TEST (test_multistatus)
{
  g_autofree char *token = NULL;
  g_autoptr(GPtrArray) entries = parse_xml (
    "<?xml version=\"1.0\"?>\n<D:multistatus xmlns:D=\"DAV:\" "
    "xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:response><D:href>/a/b.ics</D:href>"
    "<D:propstat><D:prop><D:getetag>\"e1\"</D:getetag><D:getcontentlength>12"
    "</D:getcontentlength><D:getlastmodified>Wed, 02 Dec 2026 06:40:00 GMT</D:getlastmodified>"
    "<C:calendar-data>BEGIN:VCALENDAR\r\nX:1\nEND:VCALENDAR\n"
    "</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
    "<D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 404 Not Found"
    "</D:status></D:propstat></D:response><D:response><D:href>/a/c.ics</D:href>"
    "<D:status>HTTP/1.1 404 Not Found</D:status></D:response><D:response><D:status>HTTP/1.1 "
    "200 OK</D:status></D:response><D:sync-token>tok-2</D:sync-token></D:multistatus>",
    &token, NULL);
  CairnDavEntry *entry;
  const char *expected = "BEGIN:VCALENDAR\r\nX:1\r\nEND:VCALENDAR\r\n";

  ck_assert_ptr_nonnull (entries);
  /* The response without an href is left out. */
  ck_assert_uint_eq (entries->len, 2);
  ck_assert_str_eq (token, "tok-2");
  entry = g_ptr_array_index (entries, 0);
  ck_assert_str_eq (entry->href, "/a/b.ics");
  ck_assert_uint_eq (entry->status, 200);
  ck_assert_str_eq (entry->etag, "\"e1\"");
  ck_assert_int_eq (entry->length, 12);
  ck_assert_str_eq (entry->lastmodified, "Wed, 02 Dec 2026 06:40:00 GMT");
  ck_assert_ptr_null (entry->displayname);
  /* Every line end a CRLF again, as the server had it. */
  ck_assert_uint_eq (g_bytes_get_size (entry->data), strlen (expected));
  ck_assert (memcmp (g_bytes_get_data (entry->data, NULL), expected, strlen (expected)) == 0);
  entry = g_ptr_array_index (entries, 1);
  ck_assert_uint_eq (entry->status, 404);
}
END_TEST

START_TEST (test_multistatus_hostile)
{
  const char *bad[] = {
    "",
    "not xml at all",
    "<html><body>Login</body></html>",
    "<multistatus><response/></multistatus>",            /* no DAV: namespace */
    "<D:multistatus xmlns:D=\"DAV:\"><D:response>",      /* cut short */
    /* An external entity: never read, the document refused. */
    "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
    "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>&x;</D:href></D:response>"
    "</D:multistatus>",
    /* Entities that grow a billion-fold. */
    "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
    "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
    "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>"
    "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>&i;</D:href></D:response>"
    "</D:multistatus>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) entries = parse_xml (bad[i], NULL, &error);

      ck_assert_msg (entries == NULL, "accepted: %s", bad[i]);
      ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT));
    }
}
END_TEST

START_TEST (test_hrefs)
{
  g_autoptr(CairnDavClient) client = cairn_dav_client_new ("https://dav.example.org:8443/dav/",
                                                           "me", NULL, 1024, NULL);
  const char *good[][2] = {
    { "/dav/me/cal/a.ics", "/dav/me/cal/a.ics" },
    { "a.ics", "/dav/me/cal/a.ics" },
    { "https://dav.example.org:8443/dav/me/cal/b%20c.ics", "/dav/me/cal/b%20c.ics" },
    { "HTTPS://DAV.EXAMPLE.ORG:8443/dav/me/cal/d.ics", "/dav/me/cal/d.ics" },
  };
  const char *bad[] = {
    "../other/a.ics", "/dav/me/cal/../../../etc/passwd", "%2e%2e/a.ics", "/dav/%2E%2E/x",
    "./a.ics", "a%2fb.ics", "a%00b.ics", "https://evil.example/dav/me/cal/a.ics",
    "//evil.example/a.ics", "http://dav.example.org:8443/dav/me/cal/a.ics",
    "https://dav.example.org/dav/me/cal/a.ics", "https://me@dav.example.org:8443/x.ics",
    "a.ics?x=1", "a.ics#top", "a\r\nb.ics", "a\\b.ics", "file:///etc/passwd",
  };

  ck_assert_ptr_nonnull (client);
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = cairn_dav_client_resolve (client, "/dav/me/cal/", good[i][0],
                                                        &error);

      ck_assert_msg (path != NULL, "%s: %s", good[i][0], error ? error->message : "");
      ck_assert_str_eq (path, good[i][1]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = cairn_dav_client_resolve (client, "/dav/me/cal/", bad[i], &error);

      ck_assert_msg (path == NULL, "accepted %s as %s", bad[i], path);
      ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT));
    }
}
END_TEST

START_TEST (test_configuration)
{
  const char *bad_urls[] = { "", "not a url", "ftp://example.org/", "file:///tmp", "http://" };

  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CairnDavClient) client = cairn_dav_client_new (bad_urls[i], NULL, NULL, 1024,
                                                               &error);

      ck_assert_msg (client == NULL, "accepted %s", bad_urls[i]);
      ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID));
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CairnDavClient) client = cairn_dav_client_new ("https://h/", NULL, "12:34", 1024,
                                                             &error);

    ck_assert_ptr_null (client);
    ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID));
  }
  {
    g_autoptr(CairnDavClient) client =
      cairn_dav_client_new ("https://h/", NULL,
                            "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
                            "67:89:AB:CD:EF:01:23:45:67:89", 1024, NULL);

    ck_assert_ptr_nonnull (client);
  }
}
END_TEST

static gboolean
parse_object (const char  *mime_type,
              const char  *text,
              gsize        size,
              char       **uid,
              char       **summary,
              GError     **error)
{
  g_autoptr(GBytes) data = g_bytes_new (text, size);
  g_autoptr(GBytes) keys = NULL;

  if (!cairn_dav_object_parse (mime_type, data, uid, &keys, error))
    return FALSE;
  *summary = g_strndup (g_bytes_get_data (keys, NULL), g_bytes_get_size (keys));
  return TRUE;
}

START_TEST (test_objects)
{
  const char *event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\n"
                      "UID:abc\r\nDTSTAMP:20260101T000000Z\r\n"
                      "DTSTART;TZID=Europe/Paris:20260105T090000\r\nRRULE:FREQ=DAILY\r\n"
                      "SUMMARY:Hello\\, world\r\nLOCATION:Here\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  const char *card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Grace\r\n "
                     "Hopper\r\nitem1.EMAIL;TYPE=work:g@example.org\r\nEMAIL:h@example.org\r\n"
                     "END:VCARD\r\n";
  g_autofree char *uid = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(GError) error = NULL;

  ck_assert (parse_object ("text/calendar", event, strlen (event), &uid, &summary, &error));
  ck_assert_str_eq (uid, "abc");
  ck_assert (strstr (summary, "summary=Hello, world") != NULL);
  ck_assert (strstr (summary, "start=20260105T090000;Europe/Paris") != NULL);
  ck_assert (strstr (summary, "recurring=true") != NULL);
  ck_assert (strstr (summary, "location=Here") != NULL);
  g_clear_pointer (&uid, g_free);
  g_clear_pointer (&summary, g_free);
  ck_assert (parse_object ("text/vcard", card, strlen (card), &uid, &summary, &error));
  ck_assert_str_eq (uid, "urn:uuid:1");
  ck_assert (strstr (summary, "name=GraceHopper") != NULL);
  ck_assert (strstr (summary, "emails=g@example.org;h@example.org;") != NULL);
}
END_TEST

/* A hostile object of @text's whole length, NULs inside included. */
#define HOSTILE(type, text) { type, text, sizeof (text) - 1 }

START_TEST (test_objects_hostile)
{
  const struct { const char *type; const char *text; gsize size; } bad[] = {
    HOSTILE ("text/calendar", ""),
    HOSTILE ("text/calendar", "garbage"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
                              "END:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:\r\nEND:VEVENT\r\n"
                              "END:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:notadate\r\n"
                              "END:VEVENT\r\nEND:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\0b\r\nEND:VEVENT\r\n"
                              "END:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:\xff\xfe\r\nEND:VEVENT\r\n"
                              "END:VCALENDAR\r\n"),
    HOSTILE ("text/calendar", "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n"),
    HOSTILE ("text/vcard", "BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n"),
    HOSTILE ("text/vcard", "BEGIN:VCARD\r\nUID:a\r\n"),
    HOSTILE ("text/vcard", "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n"
                           "BEGIN:VCARD\r\nUID:b\r\nEND:VCARD\r\n"),
    HOSTILE ("text/vcard", "junk\r\nBEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n"),
    HOSTILE ("text/vcard", "BEGIN:VCARD\r\nno colon here\r\nUID:a\r\nEND:VCARD\r\n"),
    HOSTILE ("text/vcard", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *uid = NULL;
      g_autofree char *summary = NULL;
      g_autoptr(GError) error = NULL;

      ck_assert_msg (!parse_object (bad[i].type, bad[i].text, bad[i].size, &uid, &summary,
                                    &error), "accepted %u: %s", i, bad[i].text);
      ck_assert (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT));
    }
}
END_TEST

START_TEST (test_set_uid)
{
  const char *event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\n"
                      "UID:abc\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  const char *card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:one\r\nFN:x\r\nEND:VCARD\r\n";
  g_autoptr(GBytes) data = g_bytes_new (event, strlen (event));
  g_autoptr(GBytes) copy = cairn_dav_object_set_uid ("text/calendar", data, "abc-2", NULL);
  g_autoptr(GBytes) summary = NULL;
  g_autofree char *uid = NULL;

  ck_assert (cairn_dav_object_parse ("text/calendar", copy, &uid, &summary, NULL));
  ck_assert_str_eq (uid, "abc-2");
  g_clear_pointer (&uid, g_free);
  g_clear_pointer (&summary, g_bytes_unref);
  g_clear_pointer (&copy, g_bytes_unref);
  g_clear_pointer (&data, g_bytes_unref);
  data = g_bytes_new (card, strlen (card));
  copy = cairn_dav_object_set_uid ("text/vcard", data, "two", NULL);
  ck_assert (cairn_dav_object_parse ("text/vcard", copy, &uid, &summary, NULL));
  ck_assert_str_eq (uid, "two");
  ck_assert_uint_eq (g_bytes_get_size (copy), strlen (card));
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "xml", test_multistatus },
    { "xml", test_multistatus_hostile },
    { "hrefs", test_hrefs },
    { "hrefs", test_configuration },
    { "objects", test_objects },
    { "objects", test_objects_hostile },
    { "objects", test_set_uid },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("dav-parsers", cases, G_N_ELEMENTS (cases),
                                                     NULL, NULL, 60));
}
