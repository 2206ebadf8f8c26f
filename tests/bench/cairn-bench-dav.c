/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The DAV benchmark: the CalDAV resource (resources/dav) syncing one
 * calendar of 1,000 events from a real Radicale on loopback into a fresh
 * store, against the limit measured in the same run on the same server.
 *
 * initial_sync_events_per_s: events / time from starting the resource
 *   (in process, on a fresh state) until its first sync is done,
 *   discovery included; the median of RUNS instances, each syncing into
 *   collections of its own.
 * limit_events_per_s: events / time of a plain libsoup loop sending the
 *   requests the resource's sync sends (one sync-collection REPORT from
 *   no token, then calendar-multigets of 100 hrefs) with the credentials
 *   up front, and reading every answer into nothing: what the server
 *   itself costs. The median of RUNS, each taken right before one of
 *   the resource's runs; Radicale has read every event once before
 *   anything is timed.
 * ratio_to_limit: initial / limit.
 * noop_resync_ms: the median of NOOP_RUNS syncs with nothing changed.
 * noop_limit_ms: the median of NOOP_RUNS plain PROPFINDs of the calendar
 *   home asking what the resource's no-op sync asks (resource types,
 *   names, colours, getlastmodified): its one request, the floor.
 * noop_getctag_ms: the same with getctag instead of getlastmodified,
 *   what the no-op sync asks when the probe is disabled (docs/dav.md):
 *   Radicale computes each calendar's getctag from every event.
 * peak_rss_mb: the peak resident set of this process, which runs the
 *   resource (Radicale runs in a process of its own).
 *
 * Targets: ratio_to_limit >= 0.7, noop_resync_ms <= 50. */

#include <string.h>
#include <libsoup/soup.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"
#include "radicale-fixture.h"

#define USER "bench"
#define PASSWORD "bench-password"
#define CALENDAR "/" USER "/calendar/"
#define N_EVENTS 1000
#define BATCH 100
#define RUNS 5
#define NOOP_RUNS 5
#define WAIT_MS (10 * 60 * 1000)

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* Events written straight into Radicale's storage, as its own PUT would
 * leave them: 1,000 PUTs would take longer than the benchmark. */
static gboolean
write_events (RadicaleFixture  *radicale,
              GError          **error)
{
  g_autofree char *folder = g_build_filename (radicale_fixture_get_storage (radicale),
                                              "collection-root", USER, "calendar", NULL);

  for (guint i = 0; i < N_EVENTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("event-%04u.ics", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *text =
        g_strdup_printf ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cairn//Bench//EN\r\n"
                         "BEGIN:VEVENT\r\nUID:event-%04u\r\nDTSTAMP:20260101T000000Z\r\n"
                         "DTSTART:2026%02u%02uT%02u0000Z\r\nDURATION:PT1H\r\n"
                         "SUMMARY:Meeting number %u about the quarterly figures\r\n"
                         "LOCATION:Room %u\r\nDESCRIPTION:Agenda: figures\\, plans\\, "
                         "questions.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                         i, 1 + i % 12, 1 + i % 28, 8 + i % 10, i, i % 40);

      if (!g_file_set_contents (path, text, -1, error))
        return FALSE;
    }
  return TRUE;
}

static GBytes *
send_request (SoupSession  *session,
              const char   *method,
              const char   *url,
              const char   *authorization,
              const char   *body,
              GError      **error)
{
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                authorization);
  if (g_str_equal (method, "PROPFIND"))
    soup_message_headers_replace (soup_message_get_request_headers (message), "Depth", "1");
  soup_message_set_request_body_from_bytes (message, "application/xml; charset=utf-8", bytes);
  return soup_session_send_and_read (session, message, NULL, error);
}

static char *
authorization (void)
{
  g_autofree char *credentials = g_base64_encode ((const guchar *) USER ":" PASSWORD,
                                                  strlen (USER ":" PASSWORD));

  return g_strconcat ("Basic ", credentials, NULL);
}

/* The floor of a no-op sync: its one request, answered into nothing;
 * @property is what tells whether a calendar changed. */
static gboolean
measure_noop_limit (RadicaleFixture  *radicale,
                    const char       *property,
                    double           *ms,
                    GError          **error)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = radicale_fixture_url (radicale, "/" USER "/");
  g_autofree char *credentials = authorization ();
  g_autofree char *body =
    g_strdup_printf ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<D:propfind xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\" "
                     "xmlns:A=\"urn:ietf:params:xml:ns:carddav\" "
                     "xmlns:S=\"http://calendarserver.org/ns/\" "
                     "xmlns:I=\"http://apple.com/ns/ical/\"><D:prop><D:resourcetype/>"
                     "<D:displayname/><I:calendar-color/><C:calendar-description/>"
                     "<A:addressbook-description/><C:supported-calendar-component-set/>"
                     "<%s/></D:prop></D:propfind>", property);
  g_autoptr(GBytes) answer = NULL;
  gint64 start = g_get_monotonic_time ();

  answer = send_request (session, "PROPFIND", url, credentials, body, error);
  if (answer == NULL)
    return FALSE;
  *ms = seconds_since (start) * 1000;
  return TRUE;
}

/* The limit: the same requests, their answers read into nothing. */
static gboolean
measure_limit (RadicaleFixture  *radicale,
               double           *seconds,
               GError          **error)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = radicale_fixture_url (radicale, CALENDAR);
  g_autofree char *credentials = authorization ();
  g_autoptr(GBytes) listing = NULL;
  gint64 start = g_get_monotonic_time ();

  listing = send_request (session, "REPORT", url, credentials,
                         "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                         "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token/>"
                         "<D:sync-level>1</D:sync-level><D:prop><D:getetag/>"
                         "<D:getcontentlength/></D:prop></D:sync-collection>", error);
  if (listing == NULL)
    return FALSE;
  for (guint first = 0; first < N_EVENTS; first += BATCH)
    {
      g_autoptr(GString) body = g_string_new ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                                              "<C:calendar-multiget xmlns:D=\"DAV:\" "
                                              "xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
                                              "<D:prop><D:getetag/><C:calendar-data/></D:prop>");
      g_autoptr(GBytes) answer = NULL;

      for (guint i = first; i < first + BATCH; i++)
        g_string_append_printf (body, "<D:href>" CALENDAR "event-%04u.ics</D:href>", i);
      g_string_append (body, "</C:calendar-multiget>");
      answer = send_request (session, "REPORT", url, credentials, body->str, error);
      if (answer == NULL)
        return FALSE;
      if (g_bytes_get_size (answer) < BATCH * 200)
        return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                            "The multiget answered %" G_GSIZE_FORMAT " bytes only",
                            g_bytes_get_size (answer)), FALSE;
    }
  *seconds = seconds_since (start);
  return TRUE;
}

/* One initial sync: a new instance of the resource, with a fresh state
 * and collections of its own in the store, started in process until its
 * first sync is done; @resource is left running. */
static gboolean
measure_initial (CairnTestEnvironment  *environment,
                 RadicaleFixture       *radicale,
                 guint                  run,
                 CairnTestResource    **resource,
                 double                *seconds,
                 GError               **error)
{
  g_autofree char *instance = g_strdup_printf ("dav_%u", run);
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new (instance);
  g_autofree char *url = radicale_fixture_url (radicale, "/");
  const char *config[] = { "url", url, "user", USER, "services", "caldav", NULL };
  g_autoptr(CairnStore) client = NULL;
  g_autoptr(CairnCollection) calendar = NULL;
  guint64 count = 0, unread, size;
  gint64 start;

  if (!cairn_secrets_store_sync (secrets, "password", PASSWORD, NULL, error))
    return FALSE;
  *resource = cairn_test_resource_new (environment, "dav", instance, config, error);
  if (*resource == NULL)
    return FALSE;
  start = g_get_monotonic_time ();
  if (!cairn_test_resource_start (*resource, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                  error) ||
      !cairn_test_resource_wait_replayed (*resource, WAIT_MS, error))
    return FALSE;
  *seconds = seconds_since (start);

  client = cairn_test_resource_open_client_store (*resource, error);
  if (client == NULL)
    return FALSE;
  calendar = cairn_store_find_collection_by_remote_id (client, instance, CALENDAR, error);
  if (calendar == NULL ||
      !cairn_store_get_collection_statistics (client, cairn_collection_get_id (calendar), &count,
                                              &unread, &size, error))
    return FALSE;
  if (count != N_EVENTS)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%" G_GUINT64_FORMAT
                        " events stored, not %u", count, N_EVENTS), FALSE;
  return TRUE;
}

static gboolean
run (GError **error)
{
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(RadicaleFixture) radicale = NULL;
  g_autoptr(CairnTestResource) resource = NULL;
  g_autoptr(GArray) limits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) initials = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) noops = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) noop_limits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) noop_getctags = g_array_new (FALSE, FALSE, sizeof (double));
  double seconds, initial_s, limit_s;
  guint status = 0;
  gint64 start;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, error);
  if (environment == NULL)
    return FALSE;
  g_setenv ("CAIRN_AGENTS_DIR", DAV_AGENT_DIR, TRUE);
  radicale = radicale_fixture_start (cairn_test_environment_get_path (environment), USER,
                                     PASSWORD, FALSE, error);
  if (radicale == NULL)
    return FALSE;
  g_bytes_unref (radicale_fixture_http (radicale, "MKCALENDAR", CALENDAR, NULL, NULL, NULL,
                                        &status, NULL));
  if (status != 201)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "MKCALENDAR: %u", status), FALSE;
  if (!write_events (radicale, error))
    return FALSE;

  /* Radicale reads and caches every event on its first listing. */
  if (!measure_limit (radicale, &seconds, error))
    return FALSE;
  /* The limit and the resource in turns, so that both meet the same
   * load of the machine; each instance syncs into a store of its own. */
  for (guint i = 0; i < RUNS; i++)
    {
      if (!measure_limit (radicale, &seconds, error))
        return FALSE;
      g_array_append_val (limits, seconds);
      if (resource != NULL)
        cairn_test_resource_stop (resource);
      g_clear_object (&resource);
      if (!measure_initial (environment, radicale, i, &resource, &seconds, error))
        return FALSE;
      g_array_append_val (initials, seconds);
    }
  initial_s = cairn_bench_median (initials);
  limit_s = cairn_bench_median (limits);

  for (guint i = 0; i < NOOP_RUNS; i++)
    {
      start = g_get_monotonic_time ();
      if (!cairn_test_resource_synchronize_sync (resource, 0, error))
        return FALSE;
      seconds = seconds_since (start) * 1000;
      g_array_append_val (noops, seconds);
      if (!measure_noop_limit (radicale, "D:getlastmodified", &seconds, error))
        return FALSE;
      g_array_append_val (noop_limits, seconds);
      if (!measure_noop_limit (radicale, "S:getctag", &seconds, error))
        return FALSE;
      g_array_append_val (noop_getctags, seconds);
    }

  g_print ("initial_sync_events_per_s: %.0f\n", N_EVENTS / initial_s);
  g_print ("limit_events_per_s: %.0f\n", N_EVENTS / limit_s);
  g_print ("ratio_to_limit: %.2f\n", limit_s / initial_s);
  g_print ("noop_resync_ms: %.1f\n", cairn_bench_median (noops));
  g_print ("noop_limit_ms: %.1f\n", cairn_bench_median (noop_limits));
  g_print ("noop_getctag_ms: %.1f\n", cairn_bench_median (noop_getctags));
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());
  return TRUE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;

  if (!run (&error))
    {
      g_printerr ("cairn-bench-dav: %s\n", error->message);
      return 1;
    }
  return 0;
}
