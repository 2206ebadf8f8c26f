/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model-based replay test (CairnTestReplay) on the test kit's
 * test-files resource, the notes example resource and the maildir
 * resource, each in its own cairn-agent-host so that it can be killed;
 * on test-files again under cairn-control, which the sequences stop and
 * kill as well; on the IMAP resource against a real Dovecot (run as
 * `test-replay imap`, a test of its own); and, where it is built, on the
 * DAV resource against a real Radicale.
 *
 * CI runs the fixed seeds below; CAIRN_TEST_SEED=N runs seed N alone,
 * CK_RUN_CASE=NAME one case, and CAIRN_TEST_REPLAY_OPERATIONS=N makes runs
 * longer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <cairn-test/cairn-test.h>

#include "imap-fixture.h"
#include "replay-imap-backend.h"
#include "replay-maildir-backend.h"
#ifdef DAV_AGENT_DIR
#include "replay-dav-backend.h"
#endif

#define WAIT_MS (60 * 1000)
#define N_OPERATIONS 1200

static const guint32 default_seeds[] = { 1, 2, 3 };

static GArray *seeds;
static guint n_operations;

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnTestBackend *backend;
static char *root;
static ImapFixture *dovecot;
#ifdef DAV_AGENT_DIR
static RadicaleFixture *radicale;
#endif

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) ? (error)->message : "")

static void
setup_environment (CairnTestEnvironmentFlags flags)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (flags, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  g_setenv ("CAIRN_CONTROL", CONTROL, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "backend", NULL);
}

static void
setup (void)
{
  setup_environment (CAIRN_TEST_ENVIRONMENT_NONE);
}

/* The IMAP resource's password needs a Secret Service; Dovecot refuses
 * root as the mail user, so as root this test's process runs as nobody. */
static void
setup_imap (void)
{
  imap_fixture_drop_root ();
  setup_environment (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE);
}

#ifdef DAV_AGENT_DIR
/* The DAV resource's password needs a Secret Service. */
static void
setup_with_secrets (void)
{
  setup_environment (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE);
}
#endif

static void
teardown (void)
{
  g_clear_object (&resource);
  g_clear_object (&backend);
  g_clear_pointer (&dovecot, imap_fixture_free);
#ifdef DAV_AGENT_DIR
  g_clear_pointer (&radicale, radicale_fixture_stop);
#endif
  g_clear_object (&environment);
  g_clear_pointer (&root, g_free);
}

/* A few items of another program's in @folder before the resource starts. */
static void
fill (const char *folder,
      guint       first,
      gboolean    flags)
{
  for (guint i = first; i < first + 3; i++)
    {
      g_autoptr(GBytes) content = cairn_test_replay_make_content (0, i, 1, 200 + 10 * i);
      g_autoptr(CairnFlags) seen = cairn_flags_new ();
      g_autofree char *name = NULL;
      GError *error = NULL;

      cairn_flags_add (seen, CAIRN_FLAG_SEEN);
      name = cairn_test_backend_add_item (backend, folder, content,
                                          flags && i % 2 ? seen : NULL, &error);
      assert_no_error (error);
    }
}

static void
make_directories (void)
{
  const char *folders[] = { "Inbox", "Work" };

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *path = g_build_filename (root, folders[i], NULL);

      ck_assert_int_eq (g_mkdir_with_parents (path, 0700), 0);
    }
}

/* Replays on the resource once it has started. */
static void
replay_started (CairnTestResourceMode    mode,
                const char              *mime_type,
                const char              *part,
                CairnTestReplayFeatures  features,
                guint32                  seed)
{
  g_autoptr(CairnTestReplay) replay = NULL;
  const char *type = cairn_test_resource_get_id (resource);
  GError *error = NULL;

  ck_assert (cairn_test_resource_start (resource, mode, G_TYPE_INVALID, &error));
  assert_no_error (error);
  cairn_test_resource_wait_replayed (resource, WAIT_MS, &error);
  assert_no_error (error);

  replay = cairn_test_replay_new (resource, backend, mime_type, part, features);
  if (!cairn_test_replay_run (replay, seed, n_operations, &error))
    {
      /* Check cuts long messages: the whole report goes to the log. */
      g_printerr ("%s\n", error->message);
      /* test-files and test-files-control run the same instance id: the
       * case, which Check names before this message, tells them apart. */
      ck_abort_msg ("replay seed %u of %s failed (CAIRN_TEST_SEED=%u with CK_RUN_CASE set to "
                    "this case runs it alone); the report is above", seed, type, seed);
    }
}

static void
run (const char              *type,
     const char              *agents_dir,
     const char * const      *config,
     const char              *mime_type,
     const char              *part,
     CairnTestReplayFeatures  features,
     guint32                  seed)
{
  g_autofree char *id = g_strdup_printf ("%s_0", type);
  GError *error = NULL;

  g_setenv ("CAIRN_AGENTS_DIR", agents_dir, TRUE);
  resource = cairn_test_resource_new (environment, type, id, config, &error);
  assert_no_error (error);
  replay_started (CAIRN_TEST_RESOURCE_PROCESS, mime_type, part, features, seed);
}

static void
make_files_backend (void)
{
  make_directories ();
  backend = CAIRN_TEST_BACKEND (cairn_test_directory_backend_new (root, TRUE));
  fill ("Inbox", 1, TRUE);
  fill ("Work", 4, TRUE);
}

#define FILES_FEATURES (CAIRN_TEST_REPLAY_FEATURES_FLAGS | \
                        CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS | \
                        CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS | \
                        CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS | \
                        CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED)

START_TEST (test_files)
{
  const char *config[] = { "path", root, NULL };

  make_files_backend ();
  run ("test-files", FILES_AGENT_DIR, config, "text/plain", "DATA", FILES_FEATURES,
       g_array_index (seeds, guint32, _i));
}
END_TEST

/* The instance is created through cairn-control, which the sequences
 * stop and kill too. Short restart delays, and no giving up on an agent
 * killed again and again. */
START_TEST (test_files_control)
{
  const char *options[] = { "--backoff-ms=50", "--max-backoff-ms=400", "--max-crashes=100000",
                            NULL };
  const char *config[] = { "path", root, NULL };
  g_autoptr(CairnTestControl) control = NULL;
  GError *error = NULL;

  make_files_backend ();
  g_setenv ("CAIRN_AGENTS_DIR", FILES_AGENT_DIR, TRUE);
  control = cairn_test_control_new (environment, options, &error);
  assert_no_error (error);
  resource = cairn_test_resource_new_for_control (control, "test-files", config, &error);
  assert_no_error (error);
  replay_started (CAIRN_TEST_RESOURCE_CONTROL, "text/plain", "DATA", FILES_FEATURES,
                  g_array_index (seeds, guint32, _i));
}
END_TEST

/* The notes resource replays no flags and no folder moves. */
START_TEST (test_notes)
{
  const char *config[] = { "path", root, NULL };

  make_directories ();
  backend = CAIRN_TEST_BACKEND (cairn_test_directory_backend_new (root, FALSE));
  fill ("Inbox", 1, FALSE);
  fill ("Work", 4, FALSE);
  run ("notes", NOTES_AGENT_DIR, config, "text/plain", "TEXT",
       CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS | CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS,
       g_array_index (seeds, guint32, _i));
}
END_TEST

START_TEST (test_maildir)
{
  const char *config[] = { "path", root, "layout", "maildir++", NULL };
  g_autoptr(CairnTestMaildir) maildir = cairn_test_maildir_new (root,
                                                                CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  ck_assert (cairn_test_maildir_create_folder (maildir, "Archive", &error));
  assert_no_error (error);
  backend = CAIRN_TEST_BACKEND (replay_maildir_backend_new (maildir));
  fill ("INBOX", 1, TRUE);
  fill ("Archive", 4, TRUE);
  run ("maildir", MAILDIR_AGENT_DIR, config, "message/rfc822", CAIRN_PART_RFC822,
       CAIRN_TEST_REPLAY_FEATURES_FLAGS | CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS |
       CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS | CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS |
       CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED, g_array_index (seeds, guint32, _i));
}
END_TEST

/* Dovecot over IMAP is slower than a folder of files: shorter runs. */
#define N_IMAP_OPERATIONS 300

/* Another program is another IMAP client. Mail comes back from the server
 * with CRLF line ends: the model writes it so. Bodies are fetched with the
 * sync, so that the store holds every content to compare. */
START_TEST (test_imap)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  const char *config[] = { "host", "127.0.0.1", "port", NULL, "security", "none", "user", "user",
                           "bodies", "all", NULL };
  g_autofree char *port = NULL;
  guint saved = n_operations;
  GError *error = NULL;

  dovecot = imap_fixture_new (cairn_test_environment_get_path (environment));
  imap_fixture_generate (dovecot, "INBOX", 3, 1);
  imap_fixture_generate (dovecot, "Archive", 3, 2);
  imap_fixture_start (dovecot);
  ck_assert (cairn_secrets_store_sync (secrets, "password", "secret", NULL, &error));
  assert_no_error (error);
  port = g_strdup_printf ("%u", dovecot->plain_port);
  config[3] = port;
  backend = CAIRN_TEST_BACKEND (replay_imap_backend_new (dovecot->plain_port, "user", "secret"));
  n_operations = cairn_test_replay_get_n_operations (N_IMAP_OPERATIONS);
  run ("imap", IMAP_AGENT_DIR, config, "message/rfc822", CAIRN_PART_RFC822,
       CAIRN_TEST_REPLAY_FEATURES_FLAGS | CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS |
       CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS | CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS |
       CAIRN_TEST_REPLAY_FEATURES_CRLF | CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED,
       g_array_index (seeds, guint32, _i));
  n_operations = saved;
}
END_TEST

#ifdef DAV_AGENT_DIR
/* Radicale is slower than a folder of files by far: shorter runs. */
#define N_DAV_OPERATIONS 300

/* An event as Radicale writes it back, so that its bytes stay. */
static void
fill_calendar (const char *folder,
               guint       first)
{
  for (guint i = first; i < first + 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                                               "PRODID:-//Cairn//Replay//EN\r\nBEGIN:VEVENT\r\n"
                                               "UID:fill-%u\r\nDTSTART:20260101T000000Z\r\n"
                                               "DTSTAMP:20260101T000000Z\r\nSUMMARY:item %u\r\n"
                                               "END:VEVENT\r\nEND:VCALENDAR\r\n", i, i);
      g_autoptr(GBytes) content = g_bytes_new (text, strlen (text));
      g_autofree char *name = NULL;
      GError *error = NULL;

      name = cairn_test_backend_add_item (backend, folder, content, NULL, &error);
      assert_no_error (error);
    }
}

static void
make_calendar (const char *path,
               const char *name)
{
  g_autofree char *body = g_strdup_printf ("<?xml version=\"1.0\"?><C:mkcalendar "
                                           "xmlns:D=\"DAV:\" "
                                           "xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set>"
                                           "<D:prop><D:displayname>%s</D:displayname></D:prop>"
                                           "</D:set></C:mkcalendar>", name);
  guint status = 0;

  g_bytes_unref (radicale_fixture_http (radicale, "MKCALENDAR", path, body, NULL, NULL, &status,
                                        NULL));
  ck_assert_uint_eq (status, 201);
}

/* Calendars only: no flags, no nesting, no moves of folders. */
START_TEST (test_dav)
{
  g_autofree char *url = NULL;
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("dav_0");
  const char *config[] = { "url", NULL, "user", "replay", NULL };
  guint saved = n_operations;
  GError *error = NULL;

  radicale = radicale_fixture_start (cairn_test_environment_get_path (environment), "replay",
                                     "replay-password", FALSE, &error);
  assert_no_error (error);
  ck_assert (cairn_secrets_store_sync (secrets, "password", "replay-password", NULL, &error));
  assert_no_error (error);
  make_calendar ("/replay/inbox/", "Inbox");
  make_calendar ("/replay/work/", "Work");
  backend = CAIRN_TEST_BACKEND (replay_dav_backend_new (radicale, "/replay/"));
  fill_calendar ("Inbox", 1);
  fill_calendar ("Work", 4);
  url = radicale_fixture_url (radicale, "/");
  config[1] = url;
  n_operations = cairn_test_replay_get_n_operations (N_DAV_OPERATIONS);
  run ("dav", DAV_AGENT_DIR, config, "text/calendar", "ICALENDAR",
       CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS | CAIRN_TEST_REPLAY_FEATURES_ICALENDAR,
       g_array_index (seeds, guint32, _i));
  n_operations = saved;
}
END_TEST
#endif

/* With an argument, the one case of that name (CI runs `imap` as a test
 * of its own, replay-imap); without, every other case. */
int
main (int    argc,
      char **argv)
{
  Suite *suite = suite_create ("replay");
  const struct
  {
    const char *name;
    const TTest *test;
    SFun setup;
  } cases[] = {
    { "test-files", test_files, setup },
    { "test-files-control", test_files_control, setup },
    { "notes", test_notes, setup },
    { "maildir", test_maildir, setup },
    { "imap", test_imap, setup_imap },
#ifdef DAV_AGENT_DIR
    { "dav", test_dav, setup_with_secrets },
#endif
  };
  SRunner *runner;
  int failed;

  seeds = cairn_test_replay_get_seeds (default_seeds, G_N_ELEMENTS (default_seeds));
  n_operations = cairn_test_replay_get_n_operations (N_OPERATIONS);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      TCase *tcase;

      if (argc > 1 ? !g_str_equal (argv[1], cases[i].name) : g_str_equal (cases[i].name, "imap"))
        continue;
      tcase = tcase_create (cases[i].name);

      tcase_add_checked_fixture (tcase, cases[i].setup, teardown);
      /* A longer run by hand wants CK_TIMEOUT_MULTIPLIER as well. */
      tcase_set_timeout (tcase, 300);
      _tcase_add_test (tcase, cases[i].test, 0, 0, 0, seeds->len);
      suite_add_tcase (suite, tcase);
    }
  runner = srunner_create (suite);
  srunner_run_all (runner, CK_NORMAL);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  g_array_unref (seeds);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
