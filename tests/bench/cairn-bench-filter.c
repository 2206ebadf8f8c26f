/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The mail filter benchmark: the mail filter agent (agents/mailfilter),
 * in its own cairn-agent-host as it runs for users, filing 10,000 new
 * messages of a store's INBOX into 20 folders with a script of 20 rules
 * (header :contains, address :domain, header :matches and allof/exists
 * in turn; message N matches rule N % 20, so half the rules are tried on
 * average). The messages are files the store points at, as a maildir
 * resource's are, with a header of about 1.5 KB; the page cache is warm.
 *
 * filter_msgs_per_s: messages / time from starting the agent, whose
 *   recorder was created before the mail arrived, until INBOX is empty.
 * script_msgs_per_s: the limit of the filter's own work, measured in the
 *   same run: a plain loop reading each file's header, parsing it with
 *   GMime and running the script, with no store.
 * ratio_to_limit: filter / script.
 * peak_rss_mb: the peak resident set of the agent's process.
 *
 * Target: filter_msgs_per_s >= 5000. */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-agent-fixture.h"
#include "cairn-bench-common.h"
#include "cairn-sieve-script-private.h"

#define INSTANCE "mailfilter_0"
#define RESOURCE "bench"
#define N_MESSAGES 10000
#define N_RULES 20
#define BATCH 1000
#define WAIT_US (10 * 60 * G_USEC_PER_SEC)

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static char *
build_script (void)
{
  GString *script = g_string_new ("require [\"fileinto\", \"imap4flags\"];\n");

  for (guint i = 0; i < N_RULES; i++)
    {
      g_string_append (script, i == 0 ? "if " : "elsif ");
      switch (i % 4)
        {
        case 0:
          g_string_append_printf (script, "header :contains \"subject\" \"[topic-%u]\"", i);
          break;
        case 1:
          g_string_append_printf (script, "address :domain :is \"from\" \"domain-%u.example\"", i);
          break;
        case 2:
          g_string_append_printf (script, "header :matches \"List-Id\" \"*<list-%u.*>\"", i);
          break;
        default:
          g_string_append_printf (script, "allof (exists \"X-Bucket\", "
                                  "header :is \"X-Bucket\" \"%u\")", i);
          break;
        }
      g_string_append_printf (script, " {\n  fileinto \"Folder-%u\";\n  addflag \"$Filed\";\n}\n",
                              i);
    }
  return g_string_free (script, FALSE);
}

static char *
build_message (guint n)
{
  guint bucket = n % N_RULES;
  GString *text = g_string_new (NULL);

  for (guint hop = 0; hop < 3; hop++)
    g_string_append_printf (text, "Received: from relay%u.example.net (relay%u.example.net "
                            "[192.0.2.%u])\r\n\tby mx.example.com with ESMTPS id %08x%u\r\n"
                            "\tfor <ada@example.com>; Tue, 1 Dec 2026 10:%02u:00 +0000\r\n",
                            hop, hop, hop + 1, n, hop, n % 60);
  g_string_append_printf (text,
                          "From: \"Sender %u\" <user%u@domain-%u.example>\r\n"
                          "To: Ada <ada@example.com>, team@example.com\r\n"
                          "Subject: Message %u about [topic-%u] and more\r\n"
                          "Date: Tue, 1 Dec 2026 10:%02u:00 +0000\r\n"
                          "Message-ID: <%u.bench@domain-%u.example>\r\n"
                          "List-Id: Bench list <list-%u.example.org>\r\n"
                          "X-Bucket: %u\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\n",
                          n, n, bucket, n, bucket, n % 60, n, bucket, bucket, bucket);
  for (guint line = 0; line < 16; line++)
    g_string_append (text, "The body of a benchmark message, which the filter never reads.\r\n");
  return g_string_free (text, FALSE);
}

typedef struct
{
  const char *folder;
  guint first;
  guint64 inbox;
} Batch;

static gboolean
add_batch (CairnTransaction  *transaction,
           gpointer           data,
           GError           **error)
{
  Batch *batch = data;

  for (guint n = batch->first; n < batch->first + BATCH && n < N_MESSAGES; n++)
    {
      g_autofree char *name = g_strdup_printf ("%u", n);
      g_autofree char *path = g_build_filename (batch->folder, name, NULL);
      g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
      g_autoptr(CairnPart) part = NULL;
      GStatBuf st;

      if (g_stat (path, &st) != 0)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "No message %s", path);
          return FALSE;
        }
      part = cairn_part_new_foreign (CAIRN_PART_RFC822, path, st.st_size);
      cairn_item_set_collection_id (item, batch->inbox);
      cairn_item_set_remote_id (item, name);
      cairn_item_set_size (item, st.st_size);
      cairn_item_set_part (item, part);
      if (!cairn_transaction_create_item (transaction, item, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_folders (CairnTransaction  *transaction,
             gpointer           data,
             GError           **error)
{
  guint64 *inbox = data;

  for (guint i = 0; i <= N_RULES; i++)
    {
      g_autofree char *name = i == N_RULES ? g_strdup ("INBOX") : g_strdup_printf ("Folder-%u", i);
      g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, 0, name);
      const char *types[] = { "message/rfc822", NULL };

      cairn_collection_set_remote_id (collection, name);
      cairn_collection_set_content_mime_types (collection, types);
      if (!cairn_transaction_create_collection (transaction, collection, error))
        return FALSE;
      *inbox = cairn_collection_get_id (collection);
    }
  return TRUE;
}

/* The plain loop: header, GMime, script, for every file. */
static double
measure_script (const char        *folder,
                CairnSieveScript  *script,
                GError           **error)
{
  gint64 start = g_get_monotonic_time ();

  for (guint n = 0; n < N_MESSAGES; n++)
    {
      g_autofree char *name = g_strdup_printf ("%u", n);
      g_autoptr(GFile) file = g_file_new_build_filename (folder, name, NULL);
      g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, error);
      g_autoptr(CairnSieveMessage) message = NULL;
      g_autoptr(CairnSieveOutcome) outcome = NULL;

      if (stream == NULL)
        return -1;
      message = cairn_sieve_message_new_from_stream (G_INPUT_STREAM (stream), 2048, NULL, error);
      if (message == NULL)
        return -1;
      outcome = cairn_sieve_script_run (script, message);
      if (outcome->targets->len != 1)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Message %u is not filed once", n);
          return -1;
        }
    }
  return N_MESSAGES / seconds_since (start);
}

static gboolean
run (GError **error)
{
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnSieveScript) script = NULL;
  g_autofree char *text = build_script ();
  g_autofree char *folder = NULL;
  g_autofree char *script_path = NULL;
  g_autofree char *config = NULL;
  guint64 inbox = 0, count = N_MESSAGES, unread, size;
  double script_rate, filter_rate, peak;
  gint64 start;
  GPid pid;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, error);
  if (environment == NULL)
    return FALSE;
  folder = g_build_filename (cairn_test_environment_get_path (environment), "mail", NULL);
  script_path = g_build_filename (cairn_test_environment_get_path (environment), "filter.sieve",
                                  NULL);
  config = g_strdup_printf ("[Agent]\nType=mailfilter\nscript=%s\n", script_path);
  if (g_mkdir_with_parents (folder, 0700) != 0 ||
      !g_file_set_contents (script_path, text, -1, error) ||
      !cairn_agent_fixture_write_config (INSTANCE, config, error))
    return FALSE;
  for (guint n = 0; n < N_MESSAGES; n++)
    {
      g_autofree char *name = g_strdup_printf ("%u", n);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *message = build_message (n);

      if (!g_file_set_contents (path, message, -1, error))
        return FALSE;
    }

  script = cairn_sieve_script_new (text, strlen (text), error);
  if (script == NULL)
    return FALSE;
  /* Once to warm the page cache, once timed. */
  if (measure_script (folder, script, error) < 0)
    return FALSE;
  script_rate = measure_script (folder, script, error);
  if (script_rate < 0)
    return FALSE;

  store = cairn_test_environment_open_store (environment, error);
  if (store == NULL || !cairn_store_write_sync (store, add_folders, &inbox, NULL, NULL, error))
    return FALSE;
  /* The filter's recorder starts before the mail arrives. */
  pid = cairn_agent_fixture_start_host (AGENT_HOST, INSTANCE,
                                        cairn_test_environment_get_store_path (environment),
                                        error);
  if (pid == 0)
    return FALSE;
  cairn_agent_fixture_stop_host (pid, SIGTERM);
  for (guint first = 0; first < N_MESSAGES; first += BATCH)
    {
      Batch batch = { folder, first, inbox };

      if (!cairn_store_write_sync (store, add_batch, &batch, NULL, NULL, error))
        return FALSE;
    }

  start = g_get_monotonic_time ();
  pid = cairn_agent_fixture_start_host (AGENT_HOST, INSTANCE,
                                        cairn_test_environment_get_store_path (environment),
                                        error);
  if (pid == 0)
    return FALSE;
  /* Counting INBOX takes a share of the CPU the agent runs on: every
   * 20 ms is often enough to measure to a percent. */
  while (count > 0 && g_get_monotonic_time () - start < WAIT_US)
    {
      if (!cairn_store_get_collection_statistics (store, inbox, &count, &unread, &size, error))
        return FALSE;
      if (count > 0)
        g_usleep (20 * 1000);
    }
  filter_rate = N_MESSAGES / seconds_since (start);
  peak = cairn_bench_child_peak_rss_mb (pid);
  cairn_agent_fixture_stop_host (pid, SIGTERM);
  if (count > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%" G_GUINT64_FORMAT
                   " messages were not filtered", count);
      return FALSE;
    }

  g_print ("rules: %u\n", cairn_sieve_script_get_n_rules (script));
  g_print ("messages: %u\n", N_MESSAGES);
  g_print ("filter_msgs_per_s: %.0f\n", filter_rate);
  g_print ("script_msgs_per_s: %.0f\n", script_rate);
  g_print ("ratio_to_limit: %.2f\n", filter_rate / script_rate);
  g_print ("peak_rss_mb: %.1f\n", peak);
  return TRUE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;

  g_setenv ("CAIRN_AGENTS_DIR", MAILFILTER_AGENT_DIR, TRUE);
  if (!run (&error))
    {
      g_printerr ("cairn-bench-filter: %s\n", error->message);
      return 1;
    }
  return 0;
}
