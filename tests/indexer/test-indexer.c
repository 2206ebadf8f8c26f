/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The indexer agent (agents/indexer) and CairnSearch on crafted and
 * generated mail: the maildir resource syncs a real maildir into the
 * store, the indexer runs in cairn-agent-host as the control service
 * runs it, and every query form is checked against the ids it must
 * return; then threads, saved searches, a SIGKILL mid-batch, a damaged
 * index and hostile queries. */
#include <check.h>
#include <sys/wait.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-agent-fixture.h"
#include "cairn-test-suite.h"

#define MAILDIR_ID "maildir_0"
#define INDEXER_ID "indexer_0"
#define WAIT_MS (60 * 1000)
#define POLL_MS 20

static CairnTestEnvironment *environment;
static CairnTestResource *maildir_resource;
static CairnTestResource *indexer;
static CairnStore *store;
static CairnSearch *search;
static CairnTestMaildir *maildir;
static char *root;

/* One folder of agent types for both: the maildir resource and the
 * indexer, each module beside its .agent file. */
static void
link_agent (const char *agents,
            const char *from_dir,
            const char *name)
{
  g_autofree char *target = g_build_filename (from_dir, name, NULL);
  g_autofree char *link = g_build_filename (agents, name, NULL);

  ck_assert_msg (symlink (target, link) == 0, "symlink %s: %s", link, g_strerror (errno));
}

static void
setup (void)
{
  GError *error = NULL;
  g_autofree char *agents = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  agents = g_build_filename (cairn_test_environment_get_path (environment), "agents", NULL);
  g_mkdir (agents, 0700);
  link_agent (agents, MAILDIR_AGENT_DIR, "maildir.agent");
  link_agent (agents, MAILDIR_AGENT_DIR, "libcairn-maildir-resource.so");
  link_agent (agents, INDEXER_AGENT_DIR, "indexer.agent");
  link_agent (agents, INDEXER_AGENT_DIR, "libcairn-indexer-agent.so");
  g_setenv ("CAIRN_AGENTS_DIR", agents, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "Maildir", NULL);
  maildir = cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
}

static void
teardown (void)
{
  g_clear_object (&search);
  g_clear_object (&store);
  g_clear_object (&indexer);
  g_clear_object (&maildir_resource);
  g_clear_object (&maildir);
  g_clear_object (&environment);
  g_clear_pointer (&root, g_free);
}

static char *
deliver (const char *folder,
         const char *message,
         const char *info)
{
  g_autoptr(GBytes) bytes = g_bytes_new (message, strlen (message));
  GError *error = NULL;
  char *uid;

  ck_assert (cairn_test_maildir_create_folder (maildir, folder, &error));
  uid = cairn_test_maildir_deliver (maildir, folder, bytes, info, &error);
  assert_no_error (error);
  return uid;
}

static void
start_maildir (void)
{
  const char *config[] = { "path", root, NULL };
  GError *error = NULL;

  maildir_resource = cairn_test_resource_new (environment, "maildir", MAILDIR_ID, config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (maildir_resource, CAIRN_TEST_RESOURCE_IN_PROCESS,
                                        G_TYPE_INVALID, &error));
  assert_no_error (error);
  cairn_test_resource_wait_replayed (maildir_resource, WAIT_MS, &error);
  assert_no_error (error);
  if (store == NULL)
    {
      store = cairn_test_resource_open_client_store (maildir_resource, &error);
      assert_no_error (error);
      search = cairn_search_new (store);
    }
}

static void
sync_maildir (void)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_synchronize_sync (maildir_resource, 0, &error));
  assert_no_error (error);
}

/* The indexer in its own cairn-agent-host process, as the control
 * service runs it. */
static void
start_indexer (void)
{
  GError *error = NULL;

  if (indexer == NULL)
    {
      indexer = cairn_test_resource_new (environment, "indexer", INDEXER_ID, NULL, &error);
      assert_no_error (error);
    }
  ck_assert (cairn_test_resource_start (indexer, CAIRN_TEST_RESOURCE_PROCESS, G_TYPE_INVALID,
                                        &error));
  assert_no_error (error);
}

/* Waits until the index holds exactly what the store holds. */
static void
wait_indexed (void)
{
  GError *error = NULL;

  ck_assert (cairn_agent_fixture_wait_indexed (search, WAIT_MS, &error));
  assert_no_error (error);
}

static GArray *
run (const char *query)
{
  GError *error = NULL;
  GArray *ids = cairn_search_run_sync (search, query, 0, 0, NULL, &error);

  ck_assert_msg (ids != NULL, "query %s: %s", query, error ? error->message : "");
  return ids;
}

static char *
ids_to_string (GArray *ids)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (text, "%s%" G_GUINT64_FORMAT, i ? " " : "",
                            g_array_index (ids, guint64, i));
  return g_string_free (text, FALSE);
}

/* The ids of the messages with these Message-IDs, newest first as a
 * search returns them, read through id: queries. */
static guint64
id_of (const char *message_id)
{
  g_autofree char *query = g_strdup_printf ("id:%s", message_id);
  g_autoptr(GArray) ids = run (query);

  ck_assert_msg (ids->len == 1, "%s: %u matches", query, ids->len);
  return g_array_index (ids, guint64, 0);
}

/* Asserts that @query finds exactly the messages named, in this order
 * (newest first): a space-separated list of Message-IDs. */
static void
assert_query (const char *query,
              const char *message_ids)
{
  g_auto(GStrv) names = g_strsplit (message_ids, " ", -1);
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) ids = run (query);
  g_autofree char *got = ids_to_string (ids);
  g_autofree char *want = NULL;

  for (guint i = 0; names[i] != NULL; i++)
    if (*names[i] != '\0')
      {
        guint64 id = id_of (names[i]);

        g_array_append_val (expected, id);
      }
  want = ids_to_string (expected);
  ck_assert_msg (g_str_equal (got, want), "query %s: got [%s], want [%s] (%s)", query, got, want,
                 message_ids);
}

static void
assert_invalid (const char *query,
                const char *position)
{
  GError *error = NULL;
  g_autoptr(GArray) ids = cairn_search_run_sync (search, query, 0, 0, NULL, &error);

  ck_assert_msg (ids == NULL, "query %s should fail", query);
  ck_assert_msg (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY),
                 "query %s: %s", query, error->message);
  if (position != NULL)
    ck_assert_msg (strstr (error->message, position) != NULL, "query %s: %s (want %s)", query,
                   error->message, position);
  g_error_free (error);
}

static const char message_report[] =
  "From: Alice Martin <alice@example.org>\n"
  "To: Bob <bob@example.org>\n"
  "Cc: Carol <carol@example.net>\n"
  "Subject: Quarterly report\n"
  "Date: Wed, 15 Jan 2025 10:00:00 +0000\n"
  "Message-ID: <report@example.org>\n"
  "List-Id: Cairn development <cairn-devel.lists.example.org>\n"
  "MIME-Version: 1.0\n"
  "Content-Type: multipart/mixed; boundary=\"b1\"\n"
  "\n"
  "--b1\n"
  "Content-Type: text/plain; charset=us-ascii\n"
  "\n"
  "Here are the budget numbers for the quarter.\n"
  "--b1\n"
  "Content-Type: application/pdf\n"
  "Content-Disposition: attachment; filename=\"summary-2025.pdf\"\n"
  "Content-Transfer-Encoding: base64\n"
  "\n"
  "JVBERi0xLjQKJcOkw7zDtsOfCg==\n"
  "--b1--\n";

static const char message_latin1[] =
  "From: =?UTF-8?Q?Zo=C3=AB_=C3=9Cnicode?= <zoe@example.org>\n"
  "To: bob@example.org\n"
  "Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?=\n"
  "Date: Mon, 10 Feb 2025 09:30:00 +0100\n"
  "Message-ID: <latin1@example.org>\n"
  "MIME-Version: 1.0\n"
  "Content-Type: text/plain; charset=iso-8859-1\n"
  "Content-Transfer-Encoding: quoted-printable\n"
  "\n"
  "Un =E9t=E9 br=FBl=E9 =E0 la plage.\n";

static const char message_html[] =
  "From: News <news@example.com>\n"
  "To: bob@example.org\n"
  "Subject: Newsletter\n"
  "Date: Thu, 20 Mar 2025 12:00:00 +0000\n"
  "Message-ID: <html@example.com>\n"
  "MIME-Version: 1.0\n"
  "Content-Type: text/html; charset=utf-8\n"
  "Content-Transfer-Encoding: base64\n"
  "\n"
  /* <html><head><style>.x{color:red}</style></head><body><p>Hello&nbsp;<b>world</b>,
   * &eacute;l&egrave;ve</p><script>var secret=1;</script><!-- hidden --></body></html> */
  "PGh0bWw+PGhlYWQ+PHN0eWxlPi54e2NvbG9yOnJlZH08L3N0eWxlPjwvaGVhZD48Ym9keT48cD5I\n"
  "ZWxsbyZuYnNwOzxiPndvcmxkPC9iPiwgJmVhY3V0ZTtsJmVncmF2ZTt2ZTwvcD48c2NyaXB0PnZh\n"
  "ciBzZWNyZXQ9MTs8L3NjcmlwdD48IS0tIGhpZGRlbiAtLT48L2JvZHk+PC9odG1sPgo=\n";

static char *
thread_message (const char *id,
                const char *parents,
                int         day)
{
  return g_strdup_printf ("From: Dave <dave@example.org>\n"
                          "To: list@example.org\n"
                          "Subject: %sPlanning the move\n"
                          "Date: Tue, %02d Apr 2025 08:00:00 +0000\n"
                          "Message-ID: <%s>\n"
                          "%s%s%s"
                          "\n"
                          "Thread message %s.\n",
                          parents ? "Re: " : "", day, id,
                          parents ? "References: " : "", parents ? parents : "",
                          parents ? "\n" : "", id);
}

static char *
recent_message (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, -2);
  g_autofree char *date = g_date_time_format (then, "%a, %d %b %Y %H:%M:%S +0000");

  return g_strdup_printf ("From: Eve <eve@example.org>\n"
                          "To: bob@example.org\n"
                          "Subject: Fresh news\n"
                          "Date: %s\n"
                          "Message-ID: <recent@example.org>\n"
                          "\n"
                          "Archived recently.\n", date);
}

/* The crafted corpus: in INBOX a report with an attachment, a Latin-1
 * quoted-printable message, an HTML-only one, a thread delivered child
 * first; in Archive a recent message. */
static void
deliver_corpus (void)
{
  g_autofree char *t3 = thread_message ("t3@example.org", "<t1@example.org> <t2@example.org>", 3);
  g_autofree char *recent = recent_message ();

  g_free (deliver ("INBOX", message_report, "S"));
  g_free (deliver ("INBOX", message_latin1, ""));
  g_free (deliver ("INBOX", message_html, "FS"));
  g_free (deliver ("INBOX", t3, "S"));
  g_free (deliver ("Archive", recent, "S"));
}

static void
start_with_corpus (void)
{
  deliver_corpus ();
  start_maildir ();
  start_indexer ();
  wait_indexed ();
}

static gboolean
write_flags (CairnTransaction  *transaction,
             gpointer           data,
             GError           **error)
{
  const char * const *args = data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
  guint64 id = g_ascii_strtoull (args[0], NULL, 10);

  cairn_flags_delta_add (delta, args[1]);
  return cairn_transaction_change_flags (transaction, id, delta, 0, error);
}

static void
add_flag (guint64     id,
          const char *flag)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, id);
  const char *args[] = { text, flag };
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (store, write_flags, args, NULL, NULL, &error));
  assert_no_error (error);
}

START_TEST (test_query_forms)
{
  start_with_corpus ();

  /* Bare words, phrases, prefixes of words. */
  assert_query ("budget", "report@example.org");
  assert_query ("\"budget numbers\"", "report@example.org");
  assert_query ("\"numbers budget\"", "");
  assert_query ("quart*", "report@example.org");
  /* Fields. */
  assert_query ("from:alice", "report@example.org");
  assert_query ("from:alice@example.org", "report@example.org");
  assert_query ("to:carol", "report@example.org");
  assert_query ("to:bob", "recent@example.org html@example.com latin1@example.org "
                          "report@example.org");
  assert_query ("subject:quarterly", "report@example.org");
  assert_query ("subject:budget", "");
  assert_query ("body:budget", "report@example.org");
  assert_query ("body:quarterly", "");
  assert_query ("id:<report@example.org>", "report@example.org");
  assert_query ("list:cairn-devel", "report@example.org");
  assert_query ("attachment:summary", "report@example.org");
  assert_query ("mimetype:application/pdf", "report@example.org");
  assert_query ("mimetype:text/html", "html@example.com");
  assert_query ("folder:Archive", "recent@example.org");
  assert_query ("folder:archive and from:eve", "recent@example.org");
  /* Flags. */
  assert_query ("flag:unread", "latin1@example.org");
  assert_query ("flag:flagged", "html@example.com");
  assert_query ("flag:seen and subject:newsletter", "html@example.com");
  /* Dates. */
  assert_query ("date:2025-01-01..2025-01-31", "report@example.org");
  assert_query ("date:2025-02", "latin1@example.org");
  assert_query ("date:2025-01-15", "report@example.org");
  assert_query ("date:..2025-01-31", "report@example.org");
  assert_query ("date:7d..", "recent@example.org");
  assert_query ("date:2025-03-20..2025-03-20", "html@example.com");
  /* Boolean operators. */
  assert_query ("budget or newsletter", "html@example.com report@example.org");
  assert_query ("budget OR newsletter", "html@example.com report@example.org");
  assert_query ("to:bob and not flag:unread and not fresh",
                "html@example.com report@example.org");
  assert_query ("(from:alice or from:news) and not mimetype:text/html", "report@example.org");
  /* Non-ASCII and HTML: charsets decoded, diacritics folded both ways. */
  assert_query ("cafe", "latin1@example.org");
  assert_query ("café crème", "latin1@example.org");
  assert_query ("\"ete brule\"", "latin1@example.org");
  assert_query ("from:zoe", "latin1@example.org");
  assert_query ("from:Zoë", "latin1@example.org");
  assert_query ("\"hello world\"", "html@example.com");
  assert_query ("eleve", "html@example.com");
  assert_query ("secret or color or hidden", "");
}
END_TEST

/* Asserts that the matches of @query are in one thread of @n_messages
 * messages; returns its id. */
static guint64
assert_one_thread (const char *query,
                   guint       n_messages)
{
  g_autoptr(GPtrArray) threads = NULL;
  GError *error = NULL;

  threads = cairn_search_run_threads_sync (search, query, 0, 0, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (threads->len, 1);
  ck_assert_uint_eq (cairn_search_thread_get_n_messages (g_ptr_array_index (threads, 0)),
                     n_messages);
  return cairn_search_thread_get_id (g_ptr_array_index (threads, 0));
}

START_TEST (test_paging_and_threads)
{
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) page = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *query = NULL;
  CairnSearchThread *thread;
  GError *error = NULL;

  start_with_corpus ();
  /* t3 was indexed alone; its parents arrive later and join it. */
  t1 = thread_message ("t1@example.org", NULL, 1);
  t2 = thread_message ("t2@example.org", "<t1@example.org>", 2);
  g_free (deliver ("INBOX", t1, ""));
  sync_maildir ();
  g_free (deliver ("INBOX", t2, ""));
  sync_maildir ();
  wait_indexed ();

  threads = cairn_search_run_threads_sync (search, "planning", 0, 0, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (threads->len, 1);
  thread = g_ptr_array_index (threads, 0);
  ck_assert_uint_eq (cairn_search_thread_get_n_messages (thread), 3);
  ck_assert_uint_eq (cairn_search_thread_get_n_matched (thread), 3);
  ck_assert_uint_eq (cairn_search_thread_get_n_unread (thread), 2);
  ck_assert_str_eq (cairn_search_thread_get_subject (thread), "Planning the move");
  ck_assert_str_eq (cairn_search_thread_get_authors (thread), "Dave <dave@example.org>");
  query = g_strdup_printf ("thread:%" G_GUINT64_FORMAT, cairn_search_thread_get_id (thread));
  assert_query (query, "t3@example.org t2@example.org t1@example.org");
  g_clear_pointer (&threads, g_ptr_array_unref);
  /* One match in the thread is enough; the others count as messages. */
  threads = cairn_search_run_threads_sync (search, "id:t2@example.org", 0, 0, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (threads->len, 1);
  ck_assert_uint_eq (cairn_search_thread_get_n_matched (g_ptr_array_index (threads, 0)), 1);
  ck_assert_uint_eq (cairn_search_thread_get_n_messages (g_ptr_array_index (threads, 0)), 3);

  /* Pages, newest first. */
  all = run ("to:bob or to:list");
  ck_assert_uint_eq (all->len, 7);
  page = cairn_search_run_sync (search, "to:bob or to:list", 2, 3, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (page->len, 3);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (g_array_index (page, guint64, i), g_array_index (all, guint64, i + 2));
}
END_TEST

static void
search_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

START_TEST (test_async_and_cancel)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) threads_result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  GError *error = NULL;

  start_with_corpus ();
  cairn_search_run_async (search, "budget", 0, 10, NULL, search_done, &result);
  cairn_search_run_threads_async (search, "budget", 0, 10, NULL, search_done, &threads_result);
  while (result == NULL || threads_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ids = cairn_search_run_finish (search, result, &error);
  assert_no_error (error);
  ck_assert_uint_eq (ids->len, 1);
  ck_assert_uint_eq (g_array_index (ids, guint64, 0), id_of ("report@example.org"));
  threads = cairn_search_run_threads_finish (search, threads_result, &error);
  assert_no_error (error);
  ck_assert_uint_eq (threads->len, 1);
  g_clear_object (&result);
  g_clear_pointer (&ids, g_array_unref);

  g_cancellable_cancel (cancellable);
  cairn_search_run_async (search, "to:bob", 0, 0, cancellable, search_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ids = cairn_search_run_finish (search, result, &error);
  ck_assert (ids == NULL);
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&error);

  /* A syntax error comes back the same way. */
  g_clear_object (&result);
  cairn_search_run_async (search, "(budget", 0, 0, NULL, search_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (cairn_search_run_finish (search, result, &error) == NULL);
  ck_assert (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY));
  g_clear_error (&error);
}
END_TEST

static gboolean
query_matches (gpointer data)
{
  g_autoptr(GArray) ids = cairn_search_run_sync (search, data, 0, 0, NULL, NULL);

  return ids != NULL && ids->len > 0;
}

static void
wait_for_query (const char *query)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  while (!query_matches ((gpointer) query))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "query %s never matched", query);
      g_usleep (POLL_MS * 1000);
    }
}

static gboolean
create_tag (CairnTransaction  *transaction,
            gpointer           data,
            GError           **error)
{
  guint64 *ids = data;
  g_autoptr(CairnTag) tag = cairn_tag_new ("tag-important", "Important");

  return cairn_transaction_create_tag (transaction, tag, error) &&
         cairn_transaction_tag_item (transaction, ids[0], cairn_tag_get_id (tag), error);
}

static gboolean
move_item (CairnTransaction  *transaction,
           gpointer           data,
           GError           **error)
{
  guint64 *ids = data;

  return cairn_transaction_move_item (transaction, ids[0], ids[1], error);
}

static gboolean
remove_item (CairnTransaction  *transaction,
             gpointer           data,
             GError           **error)
{
  return cairn_transaction_delete_item (transaction, *(guint64 *) data, error);
}

/* The nice value of thread @thread of process @pid, and its name; FALSE
 * if the thread ended since it was listed (a scan's threads end with it). */
static gboolean
thread_nice (GPid         pid,
             const char  *thread,
             int         *nice_value,
             char       **name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%s/stat", (int) pid, thread);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  char *open, *close;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  open = strchr (contents, '(');
  close = strrchr (contents, ')');
  ck_assert (open != NULL && close != NULL && close[1] == ' ');
  *name = g_strndup (open + 1, close - open - 1);
  /* From the state, field 3 of proc(5), to the nice value, field 19. */
  fields = g_strsplit (close + 2, " ", 18);
  ck_assert_uint_ge (g_strv_length (fields), 17);
  *nice_value = atoi (fields[16]);
  return TRUE;
}

/* The extractors and the fields thread of a scan run 10 nice levels
 * below the worker: after the scan, the worker is where the host started
 * it and the extractors, which stay, below. */
START_TEST (test_scan_priorities)
{
  g_autoptr(GArray) others = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *folder = NULL;
  g_autoptr(GDir) tasks = NULL;
  const char *thread;
  int host_nice = G_MININT, worker_nice = G_MININT;
  guint lowered = 0;
  GPid pid;

  start_with_corpus ();
  pid = cairn_test_resource_get_pid (indexer);
  ck_assert_int_gt (pid, 0);
  ck_assert_int_ne (pid, getpid ());
  folder = g_strdup_printf ("/proc/%d/task", (int) pid);
  tasks = g_dir_open (folder, 0, NULL);
  ck_assert_ptr_nonnull (tasks);
  while ((thread = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree char *name = NULL;
      int nice_value;

      if (!thread_nice (pid, thread, &nice_value, &name))
        continue;
      if (atoi (thread) == pid)
        host_nice = nice_value;
      else if (g_str_equal (name, "cairn-indexer"))
        worker_nice = nice_value;
      else
        g_array_append_val (others, nice_value);
    }
  ck_assert_int_ne (host_nice, G_MININT);
  ck_assert_int_eq (worker_nice, host_nice);
  for (guint i = 0; i < others->len; i++)
    if (g_array_index (others, int, i) == MIN (host_nice + 10, 19))
      lowered++;
  ck_assert_uint_ge (lowered, 1);
}
END_TEST

/* A removed message's own Message-ID, which only its document had,
 * still leads a later reply to its thread, and the message itself when
 * it comes back. */
START_TEST (test_thread_after_removal)
{
  g_autofree char *t5 = thread_message ("t5@example.org", NULL, 5);
  g_autofree char *t6 = thread_message ("t6@example.org", "<t5@example.org>", 6);
  g_autofree char *t7 = thread_message ("t7@example.org", "<t5@example.org>", 7);
  g_autofree char *query = NULL;
  GError *error = NULL;
  guint64 removed;

  start_with_corpus ();
  /* One after the other: t6 indexed first would record t5 as met. */
  g_free (deliver ("INBOX", t5, ""));
  sync_maildir ();
  wait_indexed ();
  g_free (deliver ("INBOX", t6, ""));
  sync_maildir ();
  wait_indexed ();
  removed = id_of ("t5@example.org");
  ck_assert (cairn_store_write_sync (store, remove_item, &removed, NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("id:t5@example.org", "");
  g_free (deliver ("INBOX", t7, ""));
  sync_maildir ();
  wait_indexed ();
  query = g_strdup_printf ("thread:%" G_GUINT64_FORMAT, assert_one_thread ("id:t6@example.org", 2));
  assert_query (query, "t7@example.org t6@example.org");

  /* The removed message delivered again joins its replies. */
  g_free (deliver ("INBOX", t5, ""));
  sync_maildir ();
  wait_indexed ();
  assert_one_thread ("id:t5@example.org", 3);
}
END_TEST

static guint64
find_collection (const char *name)
{
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (store, NULL, NULL);

  for (guint i = 0; collections != NULL && i < collections->len; i++)
    if (g_str_equal (cairn_collection_get_name (g_ptr_array_index (collections, i)), name))
      return cairn_collection_get_id (g_ptr_array_index (collections, i));
  ck_abort_msg ("no collection %s", name);
  return 0;
}

/* Tags, flags, moves and removals reach the index without a re-read. */
START_TEST (test_follows_changes)
{
  guint64 ids[2];
  GError *error = NULL;

  start_with_corpus ();
  ids[0] = id_of ("latin1@example.org");
  ck_assert (cairn_store_write_sync (store, create_tag, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_for_query ("tag:important");
  assert_query ("tag:important", "latin1@example.org");
  assert_query ("tag:tag-important and cafe", "latin1@example.org");
  assert_query ("tag:other", "");

  add_flag (ids[0], CAIRN_FLAG_SEEN);
  add_flag (ids[0], "$Work");
  wait_indexed ();
  assert_query ("flag:unread", "");
  assert_query ("flag:$work", "latin1@example.org");

  ids[0] = id_of ("report@example.org");
  ids[1] = find_collection ("Archive");
  ck_assert (cairn_store_write_sync (store, move_item, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("folder:Archive", "recent@example.org report@example.org");

  ck_assert (cairn_store_write_sync (store, remove_item, &ids[0], NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("budget", "");
}
END_TEST

static gboolean
create_envelope_item (CairnTransaction  *transaction,
                      gpointer           data,
                      GError           **error)
{
  guint64 *ids = data;
  g_autoptr(CairnCollection) collection = cairn_collection_new ("local", 0, "Cached");
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  const char envelope[] = "From: Frank <frank@example.org>\nSubject: Envelope only\n"
                          "Message-ID: <envelope@example.org>\n";
  g_autoptr(GBytes) head_bytes = g_bytes_new_static (envelope, strlen (envelope));
  g_autoptr(CairnPart) head = cairn_part_new_inline ("ENVELOPE", head_bytes);
  g_autoptr(CairnPart) body = cairn_part_new_missing ("RFC822", 200);

  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  cairn_item_set_collection_id (item, cairn_collection_get_id (collection));
  cairn_item_set_remote_id (item, "envelope-1");
  cairn_item_set_part (item, head);
  cairn_item_set_part (item, body);
  if (!cairn_transaction_create_item (transaction, item, error))
    return FALSE;
  ids[0] = cairn_item_get_id (item);
  return TRUE;
}

static gboolean
modify_body (CairnTransaction  *transaction,
             guint64            id,
             const char        *message,
             GError           **error)
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new_static (message, strlen (message));
  g_autoptr(CairnPart) body = cairn_part_new_inline ("RFC822", bytes);

  cairn_item_set_id (item, id);
  cairn_item_set_part (item, body);
  return cairn_transaction_modify_item (transaction, item, 0, error);
}

static gboolean
add_body (CairnTransaction  *transaction,
          gpointer           data,
          GError           **error)
{
  return modify_body (transaction, *(guint64 *) data,
                      "From: Frank <frank@example.org>\nSubject: Envelope only\n"
                      "Message-ID: <envelope@example.org>\n\nThe body says pineapple.\n", error);
}

static gboolean
replace_body (CairnTransaction  *transaction,
              gpointer           data,
              GError           **error)
{
  return modify_body (transaction, *(guint64 *) data,
                      "From: Frank <frank@example.org>\nSubject: Envelope only\n"
                      "Message-ID: <envelope@example.org>\n\nThe body says mango.\n", error);
}

/* A message whose body is not cached is found by its envelope, and by
 * its body once the body arrives. */
START_TEST (test_missing_body)
{
  guint64 ids[1];
  GError *error = NULL;

  start_with_corpus ();
  ck_assert (cairn_store_write_sync (store, create_envelope_item, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("from:frank and subject:envelope", "envelope@example.org");
  assert_query ("pineapple", "");

  ck_assert (cairn_store_write_sync (store, add_body, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_for_query ("pineapple");
  assert_query ("body:pineapple", "envelope@example.org");

  /* The text is replaced under the same key: the old words go with it. */
  ck_assert (cairn_store_write_sync (store, replace_body, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_for_query ("mango");
  assert_query ("pineapple", "");
  assert_query ("body:mango", "envelope@example.org");
  ck_assert (cairn_search_check_sync (search, NULL, &error));
  assert_no_error (error);

  /* Two changes and a removal in a row, which the indexer may take in
   * one batch: nothing of either text stays. */
  ck_assert (cairn_store_write_sync (store, add_body, ids, NULL, NULL, &error));
  ck_assert (cairn_store_write_sync (store, replace_body, ids, NULL, NULL, &error));
  ck_assert (cairn_store_write_sync (store, remove_item, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("pineapple or mango or frank", "");
}
END_TEST

static gboolean
create_saved_search (CairnTransaction  *transaction,
                     gpointer           data,
                     GError           **error)
{
  guint64 *id = data;
  g_autoptr(CairnCollection) collection = cairn_collection_new ("search", 0, "Flagged mail");
  g_autoptr(GBytes) query = g_bytes_new_static ("flag:flagged", strlen ("flag:flagged"));

  cairn_collection_set_virtual (collection, TRUE);
  cairn_collection_set_attribute (collection, CAIRN_SEARCH_QUERY_ATTRIBUTE, query);
  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  *id = cairn_collection_get_id (collection);
  return TRUE;
}

static guint64
count_members (guint64  collection,
               guint64 *unread)
{
  guint64 count = 0;
  GError *error = NULL;

  ck_assert (cairn_store_get_collection_statistics (store, collection, &count, unread, NULL,
                                                    &error));
  assert_no_error (error);
  return count;
}

static void
wait_members (guint64 collection,
              guint64 count,
              gint64  timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (count_members (collection, NULL) != count)
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "saved search has %" G_GUINT64_FORMAT
                     " members, not %" G_GUINT64_FORMAT, count_members (collection, NULL), count);
      g_usleep (5 * 1000);
    }
}

START_TEST (test_saved_search)
{
  guint64 collection, unread = 0;
  gint64 start;
  GError *error = NULL;

  start_with_corpus ();
  ck_assert (cairn_store_write_sync (store, create_saved_search, &collection, NULL, NULL,
                                     &error));
  assert_no_error (error);
  wait_members (collection, 1, WAIT_MS);

  /* Flagging the unread message links it within a second. */
  start = g_get_monotonic_time ();
  add_flag (id_of ("latin1@example.org"), CAIRN_FLAG_FLAGGED);
  wait_members (collection, 2, 1000);
  g_print ("saved search updated %.0f ms after the flag change\n",
           (g_get_monotonic_time () - start) / 1000.0);
  ck_assert_uint_eq (count_members (collection, &unread), 2);
  ck_assert_uint_eq (unread, 1);
}
END_TEST

/* Appends the rows of @queries over the index to @dump. */
static void
dump_queries (GString            *dump,
              const char * const *queries,
              gsize               n_queries)
{
  g_autofree char *path = cairn_search_build_index_path (cairn_store_get_path (store));
  sqlite3 *db = NULL;

  ck_assert_int_eq (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  for (gsize q = 0; q < n_queries; q++)
    {
      sqlite3_stmt *stmt = NULL;

      ck_assert_int_eq (sqlite3_prepare_v2 (db, queries[q], -1, &stmt, NULL), SQLITE_OK);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          for (int c = 0; c < sqlite3_column_count (stmt); c++)
            g_string_append_printf (dump, "%s|", (const char *) sqlite3_column_text (stmt, c));
          g_string_append_c (dump, '\n');
        }
      sqlite3_finalize (stmt);
    }
  sqlite3_close (db);
}

/* The index's documents, text, flags and tags in a form that two indexes
 * of the same store share whatever order they were written in. */
static char *
dump_index_content (void)
{
  const char * const queries[] = {
    "SELECT id, collection, mime_type, date, message_id, complete FROM docs ORDER BY id",
    ("SELECT rowid, sender, recipients, subject, body, attachment, mimetype, listid "
     "FROM text ORDER BY rowid"),
    "SELECT flag, id FROM flags ORDER BY flag, id",
    "SELECT tag, id FROM item_tags ORDER BY tag, id",
  };
  GString *dump = g_string_new (NULL);

  dump_queries (dump, queries, G_N_ELEMENTS (queries));
  return g_string_free (dump, FALSE);
}

/* The index's content, and its threads as sets of items. */
static char *
dump_index (void)
{
  const char * const threads[] = {
    "SELECT group_concat(id) FROM (SELECT id, thread FROM docs ORDER BY id) GROUP BY thread "
    "ORDER BY min(id)",
  };
  GString *dump = g_string_new (NULL);
  g_autofree char *content = dump_index_content ();

  g_string_append (dump, content);
  dump_queries (dump, threads, G_N_ELEMENTS (threads));
  return g_string_free (dump, FALSE);
}

static void
rebuild (void)
{
  GError *error = NULL;

  cairn_test_resource_stop (indexer);
  ck_assert (cairn_search_request_rebuild (search, &error));
  assert_no_error (error);
  start_indexer ();
  wait_indexed ();
}

/* The integer @sql reads from the index, 0 if it cannot. */
static guint
index_int (const char *sql)
{
  g_autofree char *path = cairn_search_build_index_path (cairn_store_get_path (store));
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint value = 0;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static guint
count_indexed (void)
{
  return index_int ("SELECT count(*) FROM docs");
}

static gboolean
index_complete (void)
{
  return index_int ("SELECT count(*) FROM meta WHERE key = 'scanned'") == 1;
}

/* Killed while it indexes a sync of 3,000 messages, the indexer restarts
 * where it stopped, and the index is what a rebuild makes. */
START_TEST (test_kill_mid_batch)
{
  g_autofree char *after_kill = NULL;
  g_autofree char *after_rebuild = NULL;
  GError *error = NULL;
  guint indexed;

  start_with_corpus ();
  ck_assert (cairn_test_maildir_generate (maildir, "INBOX", 3000, 11, &error));
  assert_no_error (error);
  sync_maildir ();
  while (count_indexed () <= 7)
    g_usleep (1000);
  cairn_test_resource_kill (indexer);
  indexed = count_indexed ();
  g_print ("killed with %u of 3007 messages indexed\n", indexed);
  ck_assert_uint_lt (indexed, 3007);

  /* Changes while it is down, then a restart. */
  add_flag (id_of ("latin1@example.org"), CAIRN_FLAG_FLAGGED);
  start_indexer ();
  wait_indexed ();
  after_kill = dump_index ();
  rebuild ();
  after_rebuild = dump_index ();
  ck_assert_msg (g_str_equal (after_kill, after_rebuild), "index after the kill differs from a "
                 "rebuild");
  assert_query ("budget and list:cairn-devel", "report@example.org");
}
END_TEST

/* The model-based test: random sequences of a client's changes (new
 * mail, its body rewritten, moves, flags, a tag, removals, folders made
 * and deleted with their mail), some applied one at a time, some several
 * to a batch, some while the indexer lies killed, checked against a
 * model of the store. The search must answer as the model says, and the
 * index must equal a rebuild of the same store but for threads: a
 * removed message's ids stay in msgids and keep together what it
 * joined, which a rebuild no longer knows. So the model joins the
 * threads of every message the index met, and those of the messages
 * left for a rebuild. */

#define MODEL_POOL 16           /* the Message-IDs that mail shares */
#define MODEL_FOLDERS 5         /* INBOX, Archive, and folders a run makes */
#define MODEL_OPERATIONS 100

static const char * const model_words[] = {
  "amber", "basil", "cedar", "dune", "ember", "fjord", "grove", "heath",
};

static const char * const model_flags[] = { CAIRN_FLAG_SEEN, CAIRN_FLAG_FLAGGED, "$Work" };
static const char * const model_flag_queries[] = { "flag:seen", "flag:flagged", "flag:$work" };

typedef struct
{
  guint64 id;
  guint message_id;             /* in the pool, or past it: its own alone */
  guint n_parents;
  guint parents[2];             /* in the pool */
  guint words;                  /* bits of model_words in its body */
  guint flags;                  /* bits of model_flags */
  guint day, minute;
  guint folder;                 /* in Model.folders */
  gboolean tagged;
} ModelMail;

typedef struct
{
  guint32 seed;
  GRand *rand;
  GPtrArray *mails;             /* ModelMail */
  guint joined[MODEL_POOL];     /* union-find over the pool, of every mail met */
  guint next_own;
  guint64 folders[MODEL_FOLDERS];       /* 0 where there is none */
  char *folder_names[MODEL_FOLDERS];
  guint n_folders_made;
  CairnTag *tag;
  gboolean killed;              /* the indexer is down */
  guint n_kills;
} Model;

static guint
model_find (guint *joined,
            guint  message_id)
{
  while (joined[message_id] != message_id)
    message_id = joined[message_id];
  return message_id;
}

static void
model_join (guint           *joined,
            const ModelMail *mail)
{
  if (mail->message_id >= MODEL_POOL)
    return;
  for (guint i = 0; i < mail->n_parents; i++)
    joined[model_find (joined, mail->parents[i])] = model_find (joined, mail->message_id);
}

static char *
model_message (const Model     *model,
               const ModelMail *mail)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "From: Model <model@example.org>\nTo: list@example.org\n"
                          "Subject: Model note\nDate: %02u Apr 2025 %02u:%02u:00 +0000\n"
                          "Message-ID: <m%u.s%u@model.example.org>\n",
                          mail->day, mail->minute / 60, mail->minute % 60, mail->message_id,
                          model->seed);
  for (guint i = 0; i < mail->n_parents; i++)
    g_string_append_printf (text, "%s<m%u.s%u@model.example.org>%s", i ? " " : "References: ",
                            mail->parents[i], model->seed, i + 1 == mail->n_parents ? "\n" : "");
  g_string_append_c (text, '\n');
  for (guint w = 0; w < G_N_ELEMENTS (model_words); w++)
    if (mail->words & (1u << w))
      g_string_append_printf (text, "%s ", model_words[w]);
  g_string_append (text, "\n");
  return g_string_free (text, FALSE);
}

typedef struct
{
  guint64 collection;
  guint64 id;
  const char *message;
} ModelWrite;

static gboolean
model_create (CairnTransaction  *transaction,
              gpointer           data,
              GError           **error)
{
  ModelWrite *write = data;
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new (write->message, strlen (write->message));
  g_autoptr(CairnPart) body = cairn_part_new_inline ("RFC822", bytes);

  cairn_item_set_collection_id (item, write->collection);
  cairn_item_set_part (item, body);
  if (!cairn_transaction_create_item (transaction, item, error))
    return FALSE;
  write->id = cairn_item_get_id (item);
  return TRUE;
}

static gboolean
model_rewrite (CairnTransaction  *transaction,
               gpointer           data,
               GError           **error)
{
  ModelWrite *write = data;
  g_autoptr(GBytes) bytes = g_bytes_new (write->message, strlen (write->message));
  g_autoptr(CairnPart) body = cairn_part_new_inline ("RFC822", bytes);

  return cairn_transaction_store_part (transaction, write->id, body, 0, error);
}

typedef struct
{
  guint64 id;
  const char *flag;
  gboolean add;
  CairnTag *tag;
} ModelMark;

static gboolean
model_flag (CairnTransaction  *transaction,
            gpointer           data,
            GError           **error)
{
  ModelMark *mark = data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (mark->add)
    cairn_flags_delta_add (delta, mark->flag);
  else
    cairn_flags_delta_remove (delta, mark->flag);
  return cairn_transaction_change_flags (transaction, mark->id, delta, 0, error);
}

static gboolean
model_create_tag (CairnTransaction  *transaction,
                  gpointer           data,
                  GError           **error)
{
  return cairn_transaction_create_tag (transaction, data, error);
}

static gboolean
model_tag (CairnTransaction  *transaction,
           gpointer           data,
           GError           **error)
{
  ModelMark *mark = data;
  guint64 tag = cairn_tag_get_id (mark->tag);

  return mark->add ? cairn_transaction_tag_item (transaction, mark->id, tag, error)
                   : cairn_transaction_untag_item (transaction, mark->id, tag, error);
}

static void
model_write (CairnTransactionFunc func,
             gpointer            data)
{
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (store, func, data, NULL, NULL, &error));
  assert_no_error (error);
}

static void
model_new_version (Model     *model,
                   ModelMail *mail)
{
  mail->words = g_rand_int_range (model->rand, 1, 1 << G_N_ELEMENTS (model_words));
  mail->day = g_rand_int_range (model->rand, 1, 29);
  mail->minute = g_rand_int_range (model->rand, 0, 24 * 60);
}

/* A folder the mail may go to, other than @avoid. */
static guint
model_pick_folder (Model *model,
                   guint  avoid)
{
  for (;;)
    {
      guint folder = g_rand_int_range (model->rand, 0, MODEL_FOLDERS);

      if (folder != avoid && model->folders[folder] != 0)
        return folder;
    }
}

typedef struct
{
  guint64 parent;
  const char *name;
  guint64 id;
} ModelFolder;

static gboolean
model_create_folder (CairnTransaction  *transaction,
                     gpointer           data,
                     GError           **error)
{
  ModelFolder *folder = data;
  g_autoptr(CairnCollection) collection = cairn_collection_new (MAILDIR_ID, folder->parent,
                                                                folder->name);

  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  folder->id = cairn_collection_get_id (collection);
  return TRUE;
}

static gboolean
model_remove_folder (CairnTransaction  *transaction,
                     gpointer           data,
                     GError           **error)
{
  return cairn_transaction_delete_collection (transaction, *(guint64 *) data, error);
}

/* A new folder beside Archive, when there is room for one. */
static void
model_make_folder (Model *model)
{
  g_autoptr(CairnCollection) archive = NULL;
  ModelFolder folder = { 0 };
  GError *error = NULL;
  guint f = 2;

  while (f < MODEL_FOLDERS && model->folders[f] != 0)
    f++;
  if (f == MODEL_FOLDERS)
    return;
  archive = cairn_store_get_collection (store, model->folders[1], &error);
  assert_no_error (error);
  model->folder_names[f] = g_strdup_printf ("Model%uf%u", model->seed, model->n_folders_made++);
  folder.parent = cairn_collection_get_parent_id (archive);
  folder.name = model->folder_names[f];
  model_write (model_create_folder, &folder);
  model->folders[f] = folder.id;
}

/* Deletes folder @f, if the run made it, with its mail. */
static void
model_delete_folder (Model *model,
                     guint  f)
{
  if (f < 2 || model->folders[f] == 0)
    return;
  model_write (model_remove_folder, &model->folders[f]);
  for (guint i = model->mails->len; i > 0; i--)
    if (((ModelMail *) g_ptr_array_index (model->mails, i - 1))->folder == f)
      g_ptr_array_remove_index_fast (model->mails, i - 1);
  model->folders[f] = 0;
  g_clear_pointer (&model->folder_names[f], g_free);
}

static void
model_restart (Model *model)
{
  if (model->killed)
    start_indexer ();
  model->killed = FALSE;
}

/* Waits until the index holds what the store holds. */
static void
model_wait (Model *model)
{
  model_restart (model);
  wait_indexed ();
}

/* New mail: either sharing the pool's Message-IDs, and then indexed
 * before anything else happens to it, since whether the index met a
 * mail removed later decides which threads its ids keep joined; or with
 * a Message-ID of its own, which joins nothing, so that it may change
 * or go in the batch it came in. */
static void
model_add (Model *model)
{
  ModelMail *mail = g_new0 (ModelMail, 1);
  g_autofree char *message = NULL;
  ModelWrite write = { 0 };
  gboolean alone = g_rand_int_range (model->rand, 0, 4) == 0;

  if (alone)
    mail->message_id = model->next_own++;
  else
    {
      model_restart (model);
      mail->message_id = g_rand_int_range (model->rand, 0, MODEL_POOL);
      /* Mostly one parent: the threads stay many and small. */
      mail->n_parents = (guint[]) { 0, 0, 1, 1, 1, 2 }[g_rand_int_range (model->rand, 0, 6)];
      for (guint i = 0; i < mail->n_parents; i++)
        mail->parents[i] = g_rand_int_range (model->rand, 0, MODEL_POOL);
    }
  mail->folder = model_pick_folder (model, G_MAXUINT);
  model_new_version (model, mail);
  message = model_message (model, mail);
  write.collection = model->folders[mail->folder];
  write.message = message;
  model_write (model_create, &write);
  mail->id = write.id;
  g_ptr_array_add (model->mails, mail);
  if (!alone)
    {
      model_wait (model);
      model_join (model->joined, mail);
    }
}

/* Sometimes the indexer is killed, as a crash would, in whatever batch
 * it applies, and the changes go on without it until it starts again. */
static void
model_crash (Model *model)
{
  if (!model->killed && g_rand_int_range (model->rand, 0, 40) == 0)
    {
      /* At a moment of its own after the last change: before the
       * indexer hears of it, while it writes it, or after. */
      g_usleep (g_rand_int_range (model->rand, 0, 20) * 1000);
      cairn_test_resource_kill (indexer);
      model->killed = TRUE;
      model->n_kills++;
    }
  else if (model->killed && g_rand_int_range (model->rand, 0, 4) == 0)
    model_restart (model);
}

static ModelMail *
model_pick (Model *model)
{
  return g_ptr_array_index (model->mails, g_rand_int_range (model->rand, 0, model->mails->len));
}

static void
model_step (Model *model)
{
  guint choice = g_rand_int_range (model->rand, 0, 100);
  ModelMail *mail;

  if (model->mails->len == 0 || choice < 30)
    {
      model_add (model);
      return;
    }
  mail = model_pick (model);
  if (choice < 42)
    {
      g_autofree char *message = NULL;
      ModelWrite write = { .id = mail->id };

      model_new_version (model, mail);
      message = model_message (model, mail);
      write.message = message;
      model_write (model_rewrite, &write);
    }
  else if (choice < 54)
    {
      guint folder = model_pick_folder (model, mail->folder);
      guint64 ids[2] = { mail->id, model->folders[folder] };

      model_write (move_item, ids);
      mail->folder = folder;
    }
  else if (choice < 70)
    {
      guint flag = g_rand_int_range (model->rand, 0, G_N_ELEMENTS (model_flags));
      ModelMark mark = { mail->id, model_flags[flag], !(mail->flags & (1u << flag)), NULL };

      model_write (model_flag, &mark);
      mail->flags ^= 1u << flag;
    }
  else if (choice < 80)
    {
      ModelMark mark = { mail->id, NULL, !mail->tagged, model->tag };

      model_write (model_tag, &mark);
      mail->tagged = !mail->tagged;
    }
  else if (choice < 95)
    {
      model_write (remove_item, &mail->id);
      g_ptr_array_remove_fast (model->mails, mail);
    }
  else if (choice < 98)
    model_make_folder (model);
  else
    model_delete_folder (model, g_rand_int_range (model->rand, 2, MODEL_FOLDERS));
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return (x > y) - (x < y);
}

/* The ids of the model's mail that @matches, in ascending order. */
static char *
model_expect (Model    *model,
              gboolean (*matches) (const ModelMail *, guint),
              guint     arg)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < model->mails->len; i++)
    {
      ModelMail *mail = g_ptr_array_index (model->mails, i);

      if (matches (mail, arg))
        g_array_append_val (ids, mail->id);
    }
  g_array_sort (ids, compare_ids);
  return ids_to_string (ids);
}

static gboolean
has_word (const ModelMail *mail, guint word)
{
  return (mail->words & (1u << word)) != 0;
}

static gboolean
has_flag (const ModelMail *mail, guint flag)
{
  return (mail->flags & (1u << flag)) != 0;
}

static gboolean
is_tagged (const ModelMail *mail, guint unused)
{
  return mail->tagged;
}

static gboolean
is_in_folder (const ModelMail *mail, guint folder)
{
  return mail->folder == folder;
}

/* The first difference between @query's answer and @want, or NULL. */
static char *
query_differs (const char *query,
               const char *want)
{
  g_autoptr(GArray) ids = run (query);
  g_autofree char *got = NULL;

  g_array_sort (ids, compare_ids);
  got = ids_to_string (ids);
  if (g_str_equal (got, want))
    return NULL;
  return g_strdup_printf ("%s: got [%s], want [%s]", query, got, want);
}

/* Threads, each a line of ids, in the order of their first ids. */
static int
compare_lines (gconstpointer a,
               gconstpointer b)
{
  const char *x = *(const char * const *) a, *y = *(const char * const *) b;
  guint64 first_x = g_ascii_strtoull (x, NULL, 10), first_y = g_ascii_strtoull (y, NULL, 10);

  return (first_x > first_y) - (first_x < first_y);
}

/* Items grouped by thread: a gint64 key -> GArray of guint64 ids. */
static GHashTable *
threads_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                (GDestroyNotify) g_array_unref);
}

static void
threads_add (GHashTable *threads,
             gint64      thread,
             guint64     id)
{
  GArray *ids = g_hash_table_lookup (threads, &thread);

  if (ids == NULL)
    {
      ids = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_hash_table_insert (threads, g_memdup2 (&thread, sizeof thread), ids);
    }
  g_array_append_val (ids, id);
}

/* Each thread's ids in ascending order, the threads by their first. */
static char *
threads_to_string (GHashTable *threads)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, threads);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_array_sort (value, compare_ids);
      g_ptr_array_add (lines, ids_to_string (value));
    }
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv (" | ", (char **) lines->pdata);
}

/* The model's mail grouped in threads, by the message ids @joined joins. */
static char *
model_threads (Model *model,
               guint *joined)
{
  g_autoptr(GHashTable) threads = threads_new ();

  for (guint i = 0; i < model->mails->len; i++)
    {
      ModelMail *mail = g_ptr_array_index (model->mails, i);

      threads_add (threads,
                   mail->message_id < MODEL_POOL ? model_find (joined, mail->message_id)
                                                 : mail->message_id,
                   mail->id);
    }
  return threads_to_string (threads);
}

/* The index's threads of the model's mail, as model_threads() gives
 * them. */
static char *
index_threads (Model *model)
{
  g_autofree char *path = cairn_search_build_index_path (cairn_store_get_path (store));
  g_autoptr(GHashTable) mails = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) threads = threads_new ();
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  for (guint i = 0; i < model->mails->len; i++)
    g_hash_table_add (mails, &((ModelMail *) g_ptr_array_index (model->mails, i))->id);
  ck_assert_int_eq (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (db, "SELECT id, thread FROM docs", -1, &stmt, NULL),
                    SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      guint64 id = sqlite3_column_int64 (stmt, 0);

      if (g_hash_table_contains (mails, &id))
        threads_add (threads, sqlite3_column_int64 (stmt, 1), id);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return threads_to_string (threads);
}

/* What the index answers unlike the model, or NULL; @joined gives the
 * threads it must have. */
static char *
model_differs (Model *model,
               guint *joined)
{
  g_autofree char *tag_query = g_strdup_printf ("from:model and tag:%s",
                                                cairn_tag_get_name (model->tag));
  g_autofree char *want_threads = model_threads (model, joined);
  g_autofree char *threads = index_threads (model);
  char *difference = NULL;

  for (guint w = 0; difference == NULL && w < G_N_ELEMENTS (model_words); w++)
    {
      g_autofree char *query = g_strdup_printf ("body:%s", model_words[w]);
      g_autofree char *want = model_expect (model, has_word, w);

      difference = query_differs (query, want);
    }
  for (guint f = 0; difference == NULL && f < G_N_ELEMENTS (model_flags); f++)
    {
      g_autofree char *query = g_strdup_printf ("from:model and %s", model_flag_queries[f]);
      g_autofree char *want = model_expect (model, has_flag, f);

      difference = query_differs (query, want);
    }
  if (difference == NULL)
    {
      g_autofree char *want = model_expect (model, is_tagged, 0);

      difference = query_differs (tag_query, want);
    }
  for (guint f = 0; difference == NULL && f < MODEL_FOLDERS; f++)
    if (model->folders[f] != 0)
      {
        g_autofree char *query = g_strdup_printf ("from:model and folder:%s",
                                                  model->folder_names[f]);
        g_autofree char *want = model_expect (model, is_in_folder, f);

        difference = query_differs (query, want);
      }
  if (difference == NULL && !g_str_equal (threads, want_threads))
    difference = g_strdup_printf ("threads: got %s, want %s", threads, want_threads);
  return difference;
}

/* Waits until the index answers as the model says. */
static void
model_check (Model *model,
             guint *joined)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  char *difference;

  wait_indexed ();
  while ((difference = model_differs (model, joined)) != NULL)
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "seed %u: %s", model->seed, difference);
      g_free (difference);
      g_usleep (POLL_MS * 1000);
    }
}

static void
model_run (guint32 seed,
           guint   n_operations)
{
  Model model = { .seed = seed, .next_own = MODEL_POOL };
  guint left[MODEL_POOL];
  g_autofree char *tag_gid = g_strdup_printf ("model-%u", seed);
  g_autofree char *after_changes = NULL;
  g_autofree char *after_rebuild = NULL;

  model.rand = g_rand_new_with_seed (seed);
  model.mails = g_ptr_array_new_with_free_func (g_free);
  model.folders[0] = find_collection ("INBOX");
  model.folders[1] = find_collection ("Archive");
  model.folder_names[0] = g_strdup ("INBOX");
  model.folder_names[1] = g_strdup ("Archive");
  model.tag = cairn_tag_new (tag_gid, tag_gid);
  model_write (model_create_tag, model.tag);
  for (guint i = 0; i < MODEL_POOL; i++)
    model.joined[i] = i;
  for (guint step = 0; step < n_operations; step++)
    {
      model_step (&model);
      model_crash (&model);
      if (g_rand_int_range (model.rand, 0, 3) == 0)
        model_wait (&model);
    }
  model_restart (&model);
  g_print ("seed %u: the indexer killed %u times, %u folders made\n", seed, model.n_kills,
           model.n_folders_made);
  model_check (&model, model.joined);

  after_changes = dump_index_content ();
  rebuild ();
  after_rebuild = dump_index_content ();
  ck_assert_msg (g_str_equal (after_changes, after_rebuild),
                 "seed %u: the index differs from a rebuild", seed);
  for (guint i = 0; i < MODEL_POOL; i++)
    left[i] = i;
  for (guint i = 0; i < model.mails->len; i++)
    model_join (left, g_ptr_array_index (model.mails, i));
  model_check (&model, left);

  /* The next seed starts from none of this one's mail. */
  for (guint f = 2; f < MODEL_FOLDERS; f++)
    model_delete_folder (&model, f);
  while (model.mails->len > 0)
    {
      model_write (remove_item, &((ModelMail *) g_ptr_array_index (model.mails, 0))->id);
      g_ptr_array_remove_index_fast (model.mails, 0);
    }
  wait_indexed ();
  for (guint f = 0; f < MODEL_FOLDERS; f++)
    g_free (model.folder_names[f]);
  g_object_unref (model.tag);
  g_ptr_array_unref (model.mails);
  g_rand_free (model.rand);
}

START_TEST (test_model_sequences)
{
  const guint32 default_seeds[] = { 1, 2, 3 };
  g_autoptr(GArray) seeds = cairn_test_replay_get_seeds (default_seeds,
                                                         G_N_ELEMENTS (default_seeds));
  guint n_operations = cairn_test_replay_get_n_operations (MODEL_OPERATIONS);

  start_with_corpus ();
  for (guint i = 0; i < seeds->len; i++)
    {
      g_print ("model run, seed %u, %u operations\n", g_array_index (seeds, guint32, i),
               n_operations);
      model_run (g_array_index (seeds, guint32, i), n_operations);
    }
}
END_TEST

/* Syncs the corpus and 3,000 generated messages into the store, for a
 * scan long enough to be killed in; returns the path of its scratch. */
static char *
sync_scan_corpus (void)
{
  g_autofree char *index_path = NULL;
  GError *error = NULL;

  deliver_corpus ();
  ck_assert (cairn_test_maildir_generate (maildir, "INBOX", 3000, 11, &error));
  assert_no_error (error);
  start_maildir ();
  sync_maildir ();
  index_path = cairn_search_build_index_path (cairn_store_get_path (store));
  return g_strconcat (index_path, "-scan", NULL);
}

/* Waits until the scan is marked complete and its scratch @scratch is
 * gone: the scan removes it just before the commit that copies its
 * fields in and marks the index complete. */
static void
wait_scan_end (const char *scratch,
               gint64      deadline)
{
  while (!index_complete () || g_file_test (scratch, G_FILE_TEST_EXISTS))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "the scan never ended");
      g_usleep (1000);
    }
}

/* Killed during its scan of 3,007 messages, the indexer leaves an
 * incomplete index and the scan's scratch database; at its next start
 * it scans again, the scratch is gone once the index is complete, and
 * the index is what a rebuild makes. */
START_TEST (test_kill_mid_scan)
{
  g_autofree char *scratch = sync_scan_corpus ();
  g_autofree char *after_kill = NULL;
  g_autofree char *after_rebuild = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  start_indexer ();
  while (!g_file_test (scratch, G_FILE_TEST_EXISTS))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "no scan started");
      g_usleep (1000);
    }
  cairn_test_resource_kill (indexer);
  /* The scratch goes just before the fields it holds show in the index,
   * at the scan's end; killed after that, which the scan's length makes
   * rare, the indexer leaves nothing to recover from. */
  if (!g_file_test (scratch, G_FILE_TEST_EXISTS))
    g_print ("the scan reached its end before the kill\n");
  else
    ck_assert (!index_complete ());

  start_indexer ();
  wait_indexed ();
  wait_scan_end (scratch, deadline);
  /* FTS5 merges as often as by default again after the scan. */
  ck_assert_uint_eq (index_int ("SELECT v FROM text_config WHERE k = 'automerge'"), 4);
  assert_query ("budget and list:cairn-devel", "report@example.org");
  after_kill = dump_index ();
  rebuild ();
  after_rebuild = dump_index ();
  ck_assert_msg (g_str_equal (after_kill, after_rebuild), "index after the killed scan differs "
                 "from a rebuild");
}
END_TEST

/* Starts the indexer on an empty index and kills it as its scan ends:
 * once the scratch is gone, before the commit that copies its fields in
 * and marks the index complete, or, with @after_mark, once that mark
 * shows, while the log is emptied. */
static void
kill_at_scan_end (const char *scratch,
                  gboolean    after_mark)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;

  start_indexer ();
  while (!g_file_test (scratch, G_FILE_TEST_EXISTS))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "no scan started");
      g_usleep (200);
    }
  while (after_mark ? !index_complete () : g_file_test (scratch, G_FILE_TEST_EXISTS))
    {
      ck_assert_msg (g_get_monotonic_time () < deadline, "the scan never ended");
      g_usleep (200);
    }
  cairn_test_resource_kill (indexer);
  start_indexer ();
  wait_indexed ();
  wait_scan_end (scratch, deadline);
}

/* Killed as its scan ends, before or after the mark, the indexer
 * restarted holds what a rebuild makes: never a complete mark without
 * the fields, nor a scratch that outlives it. */
START_TEST (test_kill_at_scan_end)
{
  g_autofree char *scratch = sync_scan_corpus ();
  GError *error = NULL;

  for (guint after_mark = FALSE; after_mark <= TRUE; after_mark++)
    {
      g_autofree char *after_kill = NULL;
      g_autofree char *after_rebuild = NULL;

      if (after_mark)
        {
          cairn_test_resource_stop (indexer);
          ck_assert (cairn_search_request_rebuild (search, &error));
          assert_no_error (error);
        }
      kill_at_scan_end (scratch, after_mark);
      after_kill = dump_index ();
      rebuild ();
      after_rebuild = dump_index ();
      ck_assert_msg (g_str_equal (after_kill, after_rebuild), "index after the scan killed at "
                     "its end (%s the mark) differs from a rebuild",
                     after_mark ? "after" : "before");
    }
}
END_TEST

/* A scan writes an item's fields, tags and message ids apart from its
 * text and copies them in at its end: a rebuilt index knows the tags,
 * and a parent arriving later joins the thread of a reply the scan
 * indexed. */
START_TEST (test_rebuild_keeps_tags_and_threads)
{
  g_autofree char *t1 = thread_message ("t1@example.org", NULL, 1);
  g_autofree char *t8 = thread_message ("t8@example.org", "<t3@example.org>", 8);
  GError *error = NULL;
  guint64 ids[1];

  start_with_corpus ();
  ids[0] = id_of ("latin1@example.org");
  ck_assert (cairn_store_write_sync (store, create_tag, ids, NULL, NULL, &error));
  assert_no_error (error);
  wait_for_query ("tag:important");
  rebuild ();
  assert_query ("tag:important", "latin1@example.org");
  assert_query ("id:t3@example.org and flag:seen", "t3@example.org");

  g_free (deliver ("INBOX", t1, ""));
  sync_maildir ();
  wait_indexed ();
  assert_one_thread ("planning", 2);

  /* A reply to a message the scan indexed, found by its own id. */
  g_free (deliver ("INBOX", t8, ""));
  sync_maildir ();
  wait_indexed ();
  assert_one_thread ("planning", 3);
}
END_TEST

/* A damaged index is reported to searches and rebuilt by the indexer. */
START_TEST (test_corrupt_index)
{
  g_autofree char *path = NULL;
  g_autofree char *garbage = g_strnfill (8192, 'x');
  g_autoptr(GArray) ids = NULL;
  GError *error = NULL;

  start_with_corpus ();
  cairn_test_resource_stop (indexer);
  path = cairn_search_build_index_path (cairn_store_get_path (store));
  g_clear_object (&search);
  for (const char *suffix = ""; suffix != NULL; suffix = *suffix ? NULL : "-wal")
    {
      g_autofree char *file = g_strconcat (path, suffix, NULL);

      g_unlink (file);
    }
  ck_assert (g_file_set_contents (path, garbage, -1, &error));
  assert_no_error (error);

  search = cairn_search_new (store);
  ids = cairn_search_run_sync (search, "budget", 0, 0, NULL, &error);
  ck_assert (ids == NULL);
  ck_assert_msg (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT), "%s",
                 error->message);
  g_clear_error (&error);
  ck_assert (!cairn_search_check_sync (search, NULL, &error));
  ck_assert (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT));
  g_clear_error (&error);

  start_indexer ();
  wait_indexed ();
  assert_query ("budget", "report@example.org");
}
END_TEST

/* Before any indexer ran: a clear error, not an empty result. */
START_TEST (test_no_index)
{
  GError *error = NULL;
  g_autoptr(GArray) ids = NULL;

  start_maildir ();
  ids = cairn_search_run_sync (search, "budget", 0, 0, NULL, &error);
  ck_assert (ids == NULL);
  ck_assert (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_NO_INDEX));
  g_clear_error (&error);
  ck_assert (cairn_search_request_rebuild (search, &error));
  assert_no_error (error);
}
END_TEST

/* The index has a folder of its own, out of the store's, which every
 * CairnMonitor watches; the files of the index beside the store, where
 * it was before, are removed. */
START_TEST (test_index_folder)
{
  const char *suffixes[] = { "", "-wal", "-scan" };
  g_autofree char *path = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *store_folder = NULL;
  g_autofree char *expected_folder = NULL;
  g_autofree char *former = NULL;
  GError *error = NULL;

  deliver_corpus ();
  start_maildir ();
  former = g_strconcat (cairn_store_get_path (store), ".index", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (former, suffixes[i], NULL);

      ck_assert (g_file_set_contents (file, "an index of before", -1, &error));
      assert_no_error (error);
    }
  start_indexer ();
  wait_indexed ();
  assert_query ("budget", "report@example.org");

  path = cairn_search_build_index_path (cairn_store_get_path (store));
  folder = g_path_get_dirname (path);
  store_folder = g_path_get_dirname (cairn_store_get_path (store));
  expected_folder = g_strconcat (cairn_store_get_path (store), ".search", NULL);
  ck_assert_str_ne (folder, store_folder);
  ck_assert_str_eq (folder, expected_folder);
  ck_assert (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (former, suffixes[i], NULL);

      ck_assert_msg (!g_file_test (file, G_FILE_TEST_EXISTS), "%s is left", file);
    }
}
END_TEST

/* A file where the index's folder goes: the indexer does not start,
 * says why and leaves the file as it was; once the file is gone, it
 * starts and indexes the store. */
START_TEST (test_index_folder_taken)
{
  g_autofree char *taken = NULL;
  g_autofree char *contents = NULL;
  GError *error = NULL;

  deliver_corpus ();
  start_maildir ();
  taken = g_strconcat (cairn_store_get_path (store), ".search", NULL);
  ck_assert (g_file_set_contents (taken, "not a folder", -1, &error));
  assert_no_error (error);
  indexer = cairn_test_resource_new (environment, "indexer", INDEXER_ID, NULL, &error);
  assert_no_error (error);
  ck_assert (!cairn_test_resource_start (indexer, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                         &error));
  ck_assert_msg (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY) ||
                 g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS),
                 "%s", error ? error->message : "no error");
  ck_assert_msg (strstr (error->message, taken) != NULL, "%s", error->message);
  g_clear_error (&error);
  ck_assert (g_file_get_contents (taken, &contents, NULL, &error));
  assert_no_error (error);
  ck_assert_str_eq (contents, "not a folder");

  ck_assert (g_unlink (taken) == 0);
  g_clear_object (&indexer);
  start_indexer ();
  wait_indexed ();
  assert_query ("budget", "report@example.org");
}
END_TEST

/* An index that misses a change is found out by the check. */
START_TEST (test_check_finds_differences)
{
  GError *error = NULL;
  guint64 id;

  start_with_corpus ();
  cairn_test_resource_stop (indexer);
  id = id_of ("html@example.com");
  add_flag (id, "$Later");
  ck_assert (!cairn_search_check_sync (search, NULL, &error));
  ck_assert (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INCONSISTENT));
  ck_assert_msg (strstr (error->message, "other flags for 1") != NULL, "%s", error->message);
  g_clear_error (&error);
  start_indexer ();
  wait_indexed ();
}
END_TEST

START_TEST (test_hostile_queries)
{
  g_autofree char *deep = NULL;
  g_autofree char *long_query = g_strnfill (8 * 1024 + 1, 'a');
  g_autoptr(GString) many = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  static const char alphabet[] = "ab \"():*-.NEAR^{}';\\éOR";

  start_with_corpus ();
  assert_invalid ("", "character 1");
  assert_invalid ("   ", "character 1: the query is empty");
  assert_invalid ("\"budget", "character 1: unbalanced quote");
  assert_invalid ("budget \"numbers", "character 8");
  assert_invalid ("(budget or report", "character 1");
  assert_invalid ("budget)", "character 7");
  assert_invalid ("frm:alice", "character 1: unknown prefix");
  assert_invalid ("café from:", "character 6");
  assert_invalid ("budget and", "character 11");
  assert_invalid ("or budget", "character 1");
  assert_invalid ("not", "character 4");
  assert_invalid ("date:yesterday..soon", "is not a date");
  assert_invalid ("date:2025-13-01", "is not a date");
  assert_invalid ("thread:abc", "not a thread id");
  assert_invalid ("\"*\"", "no word");
  assert_invalid ("budget \xff", "not valid UTF-8");
  deep = g_strnfill (100, '(');
  assert_invalid (deep, "nested");
  assert_invalid (long_query, "longer than");
  for (guint i = 0; i < 300; i++)
    g_string_append (many, "word ");
  assert_invalid (many->str, "more than 256 terms");

  /* FTS5 and SQL syntax is only text. */
  assert_query ("NEAR(budget numbers)", "");
  assert_query ("\"budget\" NEAR \"numbers\"", "");
  assert_query ("budget*", "report@example.org");
  assert_query ("\"budget\"\" OR \"\"x\"", "");
  assert_query ("\"'; DROP TABLE docs; --\"", "");
  assert_invalid ("'; DROP TABLE docs; --", "character 1");
  assert_query ("subject:\"quarterly\" AND body:{budget}", "report@example.org");
  assert_query ("budget", "report@example.org");

  /* Random text: a result or a query error, nothing else. */
  for (guint n = 0; n < 2000; n++)
    {
      g_autoptr(GString) query = g_string_new (NULL);
      guint length = g_rand_int_range (rand, 1, 40);
      g_autoptr(GArray) ids = NULL;
      GError *error = NULL;

      for (guint i = 0; i < length; i++)
        g_string_append_c (query, alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)]);
      if (!g_utf8_validate (query->str, -1, NULL))
        continue;
      ids = cairn_search_run_sync (search, query->str, 0, 0, NULL, &error);
      ck_assert_msg (ids != NULL ||
                     g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY),
                     "query [%s]: %s", query->str, error->message);
      g_clear_error (&error);
    }
}
END_TEST

/* Events, tasks and contacts from their iCalendar and vCard payloads. */
static gboolean
create_pim_items (CairnTransaction  *transaction,
                  gpointer           data,
                  GError           **error)
{
  static const char event[] =
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:event-1@example.org\r\n"
    "SUMMARY:Design review\r\nLOCATION:Room Zürich\r\nDESCRIPTION:Bring the\r\n  mock-ups\\, please\r\n"
    "DTSTART:20250505T090000Z\r\nORGANIZER;CN=Grace Hopper:mailto:grace@example.org\r\n"
    "ATTENDEE;CN=\"Heidi\":mailto:heidi@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  static const char contact[] =
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ivan Petrov\r\nN:Petrov;Ivan;;;\r\n"
    "EMAIL;TYPE=work:ivan@example.com\r\nTEL:+33 1 23 45 67 89\r\nORG:Acme Corp\r\nEND:VCARD\r\n";
  const char *types[] = { "text/calendar", "text/vcard" };
  const char *payloads[] = { event, contact };
  g_autoptr(CairnCollection) collection = cairn_collection_new ("local", 0, "PIM");

  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(CairnItem) item = cairn_item_new (types[i]);
      g_autoptr(GBytes) bytes = g_bytes_new_static (payloads[i], strlen (payloads[i]));
      g_autoptr(CairnPart) part = cairn_part_new_inline ("DATA", bytes);
      g_autofree char *remote_id = g_strdup_printf ("pim-%u", i);

      cairn_item_set_collection_id (item, cairn_collection_get_id (collection));
      cairn_item_set_remote_id (item, remote_id);
      cairn_item_set_part (item, part);
      if (!cairn_transaction_create_item (transaction, item, error))
        return FALSE;
    }
  return TRUE;
}

START_TEST (test_events_and_contacts)
{
  g_autoptr(GArray) ids = NULL;
  GError *error = NULL;

  start_with_corpus ();
  ck_assert (cairn_store_write_sync (store, create_pim_items, NULL, NULL, NULL, &error));
  assert_no_error (error);
  wait_indexed ();
  assert_query ("subject:design and zurich", "event-1@example.org");
  assert_query ("mock-ups", "event-1@example.org");
  assert_query ("from:grace and to:heidi", "event-1@example.org");
  assert_query ("date:2025-05-05", "event-1@example.org");
  assert_query ("mimetype:text/calendar", "event-1@example.org");
  ids = run ("petrov and acme and to:ivan@example.com and 23");
  ck_assert_uint_eq (ids->len, 1);
}
END_TEST

/* Runs cairnctl on the test's store; returns its exit status and output. */
static int
cairnctl (char       **output,
          const char  *first,
          ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *store_option = g_strdup_printf ("--store=%s", cairn_store_get_path (store));
  g_autofree char *errors = NULL;
  GError *error = NULL;
  int status = 0;
  va_list args;

  g_ptr_array_add (argv, (char *) CAIRNCTL);
  g_ptr_array_add (argv, store_option);
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  ck_assert (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, output,
                           &errors, &status, &error));
  assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

START_TEST (test_cairnctl)
{
  g_autofree char *expected = NULL;
  g_autofree char *output = NULL;
  g_autofree char *saved = NULL;
  g_auto(GStrv) lines = NULL;
  guint64 collection;

  start_with_corpus ();
  expected = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", id_of ("report@example.org"));
  ck_assert_int_eq (cairnctl (&output, "search", "budget", "and", "from:alice", NULL), 0);
  ck_assert_str_eq (output, expected);
  g_clear_pointer (&output, g_free);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("[%" G_GUINT64_FORMAT "]\n", id_of ("report@example.org"));
  ck_assert_int_eq (cairnctl (&output, "--json", "search", "budget", NULL), 0);
  ck_assert_str_eq (output, expected);
  g_clear_pointer (&output, g_free);
  ck_assert_int_eq (cairnctl (&output, "--output=threads", "search", "planning", NULL), 0);
  ck_assert_msg (g_str_has_prefix (output, "thread:") &&
                 strstr (output, "[1/1] 2025-04-03  Dave <dave@example.org>; Re: Planning the "
                         "move\n") != NULL, "%s", output);
  g_clear_pointer (&output, g_free);
  ck_assert_int_eq (cairnctl (&output, "--json", "--output=threads", "search", "planning", NULL),
                    0);
  ck_assert_msg (strstr (output, "\"messages\":1") != NULL, "%s", output);
  g_clear_pointer (&output, g_free);
  ck_assert_int_eq (cairnctl (&output, "--limit=2", "--offset=1", "search", "to:bob", NULL), 0);
  lines = g_strsplit (output, "\n", -1);
  ck_assert_uint_eq (g_strv_length (lines), 3);
  g_clear_pointer (&output, g_free);
  ck_assert_int_eq (cairnctl (&output, "search", "(budget", NULL), 4);
  ck_assert_int_eq (cairnctl (&output, "search", NULL), 1);
  g_clear_pointer (&output, g_free);

  ck_assert_int_eq (cairnctl (&saved, "--save=Flagged", "search", "flag:flagged", NULL), 0);
  collection = g_ascii_strtoull (saved, NULL, 10);
  wait_members (collection, 1, WAIT_MS);
  ck_assert_int_eq (cairnctl (&output, "index", "check", NULL), 0);
  g_clear_pointer (&output, g_free);

  /* Without the service, the indexer rebuilds when it next starts. */
  ck_assert_int_eq (cairnctl (&output, "index", "rebuild", NULL), 0);
  g_clear_pointer (&output, g_free);
  cairn_test_resource_stop (indexer);
  start_indexer ();
  wait_indexed ();
  cairn_test_resource_stop (indexer);
  add_flag (id_of ("report@example.org"), "$Late");
  ck_assert_int_eq (cairnctl (&output, "index", "check", NULL), 6);
  ck_assert_int_eq (cairnctl (&output, "index", "verify", NULL), 1);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "queries", test_query_forms },
    { "queries", test_paging_and_threads },
    { "queries", test_async_and_cancel },
    { "queries", test_hostile_queries },
    { "changes", test_follows_changes },
    { "changes", test_thread_after_removal },
    { "changes", test_missing_body },
    { "changes", test_events_and_contacts },
    { "changes", test_saved_search },
    { "changes", test_model_sequences },
    { "recovery", test_kill_mid_batch },
    { "recovery", test_kill_mid_scan },
    { "recovery", test_kill_at_scan_end },
    { "recovery", test_scan_priorities },
    { "recovery", test_rebuild_keeps_tags_and_threads },
    { "recovery", test_corrupt_index },
    { "recovery", test_no_index },
    { "recovery", test_index_folder },
    { "recovery", test_index_folder_taken },
    { "recovery", test_check_finds_differences },
    { "cairnctl", test_cairnctl },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("indexer", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 300));
}
