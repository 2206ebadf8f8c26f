/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The maildir resource (resources/maildir) on generated maildirs, with
 * other processes writing to them: sync, file events, replay of every
 * kind of local change, offline work, a crash mid-replay, and hostile
 * names and files. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-resource-checks.h"
#include "cairn-test-suite.h"

#define ID "maildir_0"
#define WAIT_MS (60 * 1000)
#define MAX_QUEUED_EVENTS "/proc/sys/fs/inotify/max_queued_events"
#define SEED 7

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnStore *client;
static CairnTestMaildir *maildir;
static char *root;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENTS_DIR", MAILDIR_AGENT_DIR, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  root = g_build_filename (cairn_test_environment_get_path (environment), "Maildir", NULL);
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&maildir);
  g_clear_object (&environment);
  g_clear_pointer (&root, g_free);
}

static void
make_maildir (CairnTestMaildirLayout layout)
{
  maildir = cairn_test_maildir_new (root, layout);
}

static void
create_folder (const char *folder)
{
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, folder, &error));
  assert_no_error (error);
}

static void
generate (const char *folder,
          guint       n,
          guint32     seed)
{
  GError *error = NULL;

  ck_assert (cairn_test_maildir_generate (maildir, folder, n, seed, &error));
  assert_no_error (error);
}

static char *
deliver (const char *folder,
         const char *message,
         const char *info)
{
  g_autoptr(GBytes) bytes = g_bytes_new (message, strlen (message));
  GError *error = NULL;
  char *uid = cairn_test_maildir_deliver (maildir, folder, bytes, info, &error);

  assert_no_error (error);
  return uid;
}

static char *
folder_path (const char *folder)
{
  return cairn_test_maildir_get_folder_path (maildir, folder);
}

/* Starts the resource and waits for its first sync. */
static void
start_with (CairnTestResourceMode  mode,
            const char            *layout,
            const char            *read_only)
{
  const char *config[] = { "path", root, "layout", layout, "read-only", read_only, NULL };

  resource = cairn_check_start_resource (environment, "maildir", ID, config, mode, WAIT_MS,
                                         &client);
}

static void
start (void)
{
  start_with (CAIRN_TEST_RESOURCE_IN_PROCESS, "maildir++", "false");
}

static void
wait_replayed (void)
{
  cairn_check_wait_replayed (resource, WAIT_MS);
}

static void
set_online (gboolean online)
{
  cairn_check_set_online (resource, online);
}

static CairnCollection *
find_collection (const char *remote_id)
{
  return cairn_check_find_collection (client, ID, remote_id);
}

static guint64
collection_id (const char *remote_id)
{
  return cairn_check_collection_id (client, ID, remote_id);
}

static void
statistics (const char *remote_id,
            guint64    *count,
            guint64    *unread)
{
  GError *error = NULL;
  guint64 size;

  ck_assert (cairn_store_get_collection_statistics (client, collection_id (remote_id), count,
                                                    unread, &size, &error));
  assert_no_error (error);
}

static guint64
stored_items (const char *remote_id)
{
  guint64 count, unread;

  statistics (remote_id, &count, &unread);
  return count;
}

static CairnItem *
find_item (const char *remote_id,
           const char *uid)
{
  return cairn_check_find_item (client, collection_id (remote_id), uid);
}

/* The names in new/ or cur/ of @folder. */
static GPtrArray *
list_files (const char *folder,
            const char *subdirectory)
{
  g_autofree char *path = folder_path (folder);
  g_autofree char *directory = g_build_filename (path, subdirectory, NULL);
  g_autoptr(GDir) dir = g_dir_open (directory, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

static guint
count_files (const char *folder)
{
  g_autoptr(GPtrArray) new = list_files (folder, "new");
  g_autoptr(GPtrArray) cur = list_files (folder, "cur");

  return new->len + cur->len;
}

/* The file name of message @uid in @folder, as "cur/NAME", or %NULL. */
static char *
find_file (const char *folder,
           const char *uid)
{
  const char *subdirectories[] = { "new", "cur" };
  char *found = NULL;

  for (guint s = 0; s < G_N_ELEMENTS (subdirectories); s++)
    {
      g_autoptr(GPtrArray) names = list_files (folder, subdirectories[s]);

      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);

          if (g_str_has_prefix (name, uid) && (name[strlen (uid)] == '\0' ||
                                               name[strlen (uid)] == ':'))
            {
              ck_assert_msg (found == NULL, "message %s is there twice", uid);
              found = g_strconcat (subdirectories[s], "/", name, NULL);
            }
        }
    }
  return found;
}

typedef gboolean (*Condition) (gconstpointer data);

/* Runs the main loop until @condition holds; returns the milliseconds it
 * took, or fails the test after @timeout_ms. */
static gint64
wait_until (Condition      condition,
            gconstpointer  data,
            guint          timeout_ms)
{
  gint64 start = g_get_monotonic_time ();

  while (!condition (data))
    {
      ck_assert_msg (g_get_monotonic_time () - start < timeout_ms * G_TIME_SPAN_MILLISECOND,
                     "not seen within %u ms", timeout_ms);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  return (g_get_monotonic_time () - start) / G_TIME_SPAN_MILLISECOND;
}

/* Runs a shell script in another process, as another mail program. */
static void
run_writer (const char *script)
{
  const char *argv[] = { "/bin/sh", "-e", "-c", script, NULL };
  g_autofree char *errors = NULL;
  GError *error = NULL;
  int status;

  ck_assert (g_spawn_sync (root, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                           &errors, &status, &error));
  assert_no_error (error);
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "writer failed: %s", errors);
}

static char *
envelope_of (CairnItem *item)
{
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  GBytes *data;

  ck_assert_ptr_nonnull (part);
  data = cairn_part_get_data (part);
  ck_assert_ptr_nonnull (data);
  return g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
}

static char *
read_part (guint64     item_id,
           const char *name)
{
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  GError *error = NULL;

  stream = cairn_store_open_part (client, item_id, name, NULL, &error);
  assert_no_error (error);
  g_output_stream_splice (memory, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  assert_no_error (error);
  return g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (memory)),
                    g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (memory)));
}

#define GRUESSE "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln"

static char *
message_text (const char *message_id,
              const char *subject)
{
  return g_strdup_printf ("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\n"
                          "To: Ana <ana@example.org>\n"
                          "Cc: team@example.org\n"
                          "Subject: %s\n"
                          "Date: Sun, 22 Nov 2026 10:00:00 +0100\n"
                          "Message-ID: <%s>\n"
                          "In-Reply-To: <parent@example.org>\n"
                          "References: <root@example.org> <parent@example.org>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n"
                          "\n"
                          "Hello.\n",
                          subject, message_id);
}

/* Tests */

START_TEST (test_initial_sync)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) GRUESSE, strlen (GRUESSE));
  g_autofree char *subject = g_strdup_printf ("=?UTF-8?B?%s?=", encoded);
  g_autofree char *text = message_text ("one@example.org", subject);
  g_autofree char *uid = NULL;
  g_autofree char *undated_uid = NULL;
  g_autofree char *envelope = NULL;
  g_autofree char *content = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnItem) undated = NULL;
  g_autoptr(CairnCollection) gnome = NULL;
  gint64 delivered = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr(GPtrArray) unseen = NULL;
  guint64 count, unread;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Lists");
  create_folder ("Lists/GNOME");
  generate ("INBOX", 300, SEED);
  generate ("Lists/GNOME", 120, SEED + 1);
  uid = deliver ("Lists", text, "FS");
  undated_uid = deliver ("Lists", "From: a@example.org\nSubject: no date\n\nHi.\n", NULL);
  start ();

  statistics ("INBOX", &count, &unread);
  ck_assert_uint_eq (count, 300);
  ck_assert_uint_eq (count, count_files ("INBOX"));
  ck_assert_uint_eq (stored_items (".Lists.GNOME"), 120);
  ck_assert_uint_eq (stored_items (".Lists"), 2);
  gnome = find_collection (".Lists.GNOME");
  ck_assert_uint_eq (cairn_collection_get_parent_id (gnome), collection_id (".Lists"));
  ck_assert_str_eq (cairn_collection_get_name (gnome), "GNOME");

  /* Unread: everything without S, which new/ never has. */
  unseen = list_files ("INBOX", "new");
  {
    g_autoptr(GPtrArray) cur = list_files ("INBOX", "cur");
    guint n_unseen = unseen->len;

    for (guint i = 0; i < cur->len; i++)
      n_unseen += strchr (strstr (g_ptr_array_index (cur, i), ":2,"), 'S') == NULL;
    ck_assert_uint_eq (unread, n_unseen);
    ck_assert_uint_gt (unread, 0);
    ck_assert_uint_lt (unread, count);
  }

  item = find_item (".Lists", uid);
  ck_assert_ptr_nonnull (item);
  ck_assert_str_eq (cairn_item_get_mime_type (item), "message/rfc822");
  ck_assert_str_eq (cairn_item_get_gid (item), "one@example.org");
  ck_assert_uint_eq (cairn_item_get_size (item), strlen (text));
  ck_assert (cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN));
  ck_assert (cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_FLAGGED));
  ck_assert_uint_eq (cairn_flags_get_size (cairn_item_get_flags (item)), 2);
  envelope = envelope_of (item);
  ck_assert_msg (strstr (envelope, "Subject: " GRUESSE "\n") != NULL, "%s", envelope);
  ck_assert_msg (strstr (envelope, "From: J\xc3\xbcrgen M\xc3\xbcller <juergen@example.org>\n"),
                 "%s", envelope);
  ck_assert (strstr (envelope, "To: Ana <ana@example.org>\n") != NULL);
  ck_assert (strstr (envelope, "Cc: team@example.org\n") != NULL);
  ck_assert (strstr (envelope, "Message-ID: <one@example.org>\n") != NULL);
  ck_assert (strstr (envelope, "In-Reply-To: <parent@example.org>\n") != NULL);
  ck_assert (strstr (envelope, "References: <root@example.org> <parent@example.org>\n") != NULL);
  ck_assert (strstr (envelope, "Date: ") != NULL);
  /* The item's date is the Date field's; without one, the delivery. */
  ck_assert_int_eq (g_date_time_to_unix (cairn_item_get_date (item)), 1795338000);
  undated = find_item (".Lists", undated_uid);
  ck_assert_int_ge (g_date_time_to_unix (cairn_item_get_date (undated)), delivered - 1);
  ck_assert_int_le (g_date_time_to_unix (cairn_item_get_date (undated)),
                    g_get_real_time () / G_USEC_PER_SEC);
  ck_assert_int_eq (cairn_part_get_storage (cairn_item_get_part (item, CAIRN_PART_RFC822)),
                    CAIRN_PART_STORAGE_FOREIGN);
  content = read_part (cairn_item_get_id (item), CAIRN_PART_RFC822);
  ck_assert_str_eq (content, text);
}
END_TEST

START_TEST (test_fs_layout)
{
  g_autoptr(CairnCollection) project = NULL;
  g_autoptr(CairnCollection) deep = NULL;
  g_autofree char *loose = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_FS);
  create_folder ("INBOX");
  create_folder ("Work");
  create_folder ("Work/Project");
  generate ("Work/Project", 10, SEED);
  /* A directory that is not a maildir, holding one. */
  loose = g_build_filename (root, "Archive", "2025", "cur", NULL);
  ck_assert_int_eq (g_mkdir_with_parents (loose, 0700), 0);
  start_with (CAIRN_TEST_RESOURCE_IN_PROCESS, "fs", "false");

  project = find_collection ("Work/Project");
  ck_assert_ptr_nonnull (project);
  ck_assert_uint_eq (cairn_collection_get_parent_id (project), collection_id ("Work"));
  ck_assert_uint_eq (stored_items ("Work/Project"), 10);
  deep = find_collection ("Archive/2025");
  ck_assert_ptr_nonnull (deep);
  ck_assert_uint_eq (cairn_collection_get_parent_id (deep), 0);
  ck_assert_ptr_null (find_collection ("Archive"));
}
END_TEST

typedef struct
{
  const char *folder;
  const char *uid;
  const char *flag;
  guint64 count;
} Expectation;

static gboolean
item_count_is (gconstpointer data)
{
  const Expectation *expected = data;

  return stored_items (expected->folder) == expected->count;
}

static gboolean
item_has_flag (gconstpointer data)
{
  const Expectation *expected = data;
  g_autoptr(CairnItem) item = find_item (expected->folder, expected->uid);

  return item != NULL && cairn_flags_contains (cairn_item_get_flags (item), expected->flag);
}

/* Another program delivers, renames for a flag and deletes while the
 * resource runs: each is in the store within a second. */
START_TEST (test_external_changes)
{
  g_autofree char *text = message_text ("flagged@example.org", "Flag me");
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  g_autofree char *script = NULL;
  g_autofree char *inbox = NULL;
  Expectation expected = { "INBOX", NULL, NULL, 0 };
  gint64 ms;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 50, SEED);
  uid = deliver ("INBOX", text, "");
  start ();
  ck_assert_uint_eq (stored_items ("INBOX"), 51);
  inbox = folder_path ("INBOX");

  /* Delivery: written to tmp/, then moved into new/, as the spec says. */
  script = g_strdup_printf ("cd '%s'; for i in 1 2 3 4 5; do "
                            "printf 'From: x@example.org\\nSubject: %%s\\nMessage-ID: <ext%%s@x>\\n\\nhi\\n' "
                            "$i $i > tmp/ext$i.M1P$$.host; mv tmp/ext$i.M1P$$.host new/; done",
                            inbox);
  run_writer (script);
  expected.count = 56;
  ms = wait_until (item_count_is, &expected, 1000);
  g_print ("delivery seen after %" G_GINT64_FORMAT " ms\n", ms);

  /* A flag set by renaming. */
  file = find_file ("INBOX", uid);
  g_free (script);
  script = g_strdup_printf ("cd '%s'; mv '%s' 'cur/%s:2,FS'", inbox, file, uid);
  run_writer (script);
  expected.uid = uid;
  expected.flag = CAIRN_FLAG_FLAGGED;
  ms = wait_until (item_has_flag, &expected, 1000);
  g_print ("flag seen after %" G_GINT64_FORMAT " ms\n", ms);

  /* A deletion. */
  g_free (script);
  script = g_strdup_printf ("cd '%s'; rm 'cur/%s:2,FS' new/ext1.M1P*", inbox, uid);
  run_writer (script);
  expected.count = 54;
  ms = wait_until (item_count_is, &expected, 1000);
  g_print ("deletion seen after %" G_GINT64_FORMAT " ms\n", ms);
}
END_TEST

/* More events than the kernel queues for the resource: the overflow makes
 * it scan every folder, and nothing is missed. Only root may lower the
 * queue's limit, so the test fills the queue instead, which works for any
 * user: while the resource does not read its events (it runs in this
 * process, whose main loop waits), a message is renamed to and fro until
 * its events outnumber the limit, and the messages delivered after that
 * have no events at all. */
START_TEST (test_event_overflow)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *limit = NULL;
  g_autofree char *names[2] = { NULL, NULL };
  Expectation expected = { "INBOX", NULL, NULL, 10 + 1 + 200 };
  guint64 renames;
  GError *error = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 10, SEED);
  inbox = folder_path ("INBOX");
  names[0] = g_build_filename (inbox, "new", "filler.M1P1.host", NULL);
  names[1] = g_build_filename (inbox, "new", "filler.M1P2.host", NULL);
  ck_assert (g_file_set_contents (names[0], "Subject: filler\n\nb\n", -1, &error));
  assert_no_error (error);
  start ();

  /* Each rename queues two events, IN_MOVED_FROM and IN_MOVED_TO. */
  ck_assert (g_file_get_contents (MAX_QUEUED_EVENTS, &limit, NULL, &error));
  assert_no_error (error);
  renames = g_ascii_strtoull (limit, NULL, 10) / 2 + 1;
  for (guint64 i = 0; i < renames; i++)
    ck_assert_int_eq (g_rename (names[i % 2], names[(i + 1) % 2]), 0);

  script = g_strdup_printf ("cd '%s'; for i in $(seq 1 200); do "
                            "printf 'Subject: o%%s\n\nb\n' $i > tmp/o$i.x; "
                            "mv tmp/o$i.x new/o$i.M3P$$.host; done", inbox);
  run_writer (script);
  wait_until (item_count_is, &expected, 5000);
}
END_TEST

/* A writer delivers and renames while the first sync runs: once it is
 * done and things settled, the store has every message exactly once. */
START_TEST (test_concurrent_writer)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  const char *argv[] = { "/bin/sh", "-e", "-c", NULL, NULL };
  Expectation expected = { "INBOX", NULL, NULL, 2000 + 400 };
  GError *error = NULL;
  GPid pid;
  int status = -1;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 2000, SEED);
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s'; i=0; for f in $(ls new | head -n 300); do "
                            "mv \"new/$f\" \"cur/$f:2,S\"; "
                            "i=$((i+1)); printf 'Subject: c%%s\\n\\nbody\\n' $i > tmp/c$i.x; "
                            "mv tmp/c$i.x new/c$i.M2P$$.host; done; "
                            "for i in $(seq 301 400); do printf 'Subject: c%%s\\n\\nb\\n' $i > tmp/c$i.x; "
                            "mv tmp/c$i.x new/c$i.M2P$$.host; done",
                            inbox);
  argv[3] = script;
  ck_assert (g_spawn_async (root, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                            &pid, &error));
  assert_no_error (error);
  start ();
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  g_spawn_close_pid (pid);
  ck_assert (g_spawn_check_wait_status (status, NULL));

  wait_until (item_count_is, &expected, 5000);
  wait_replayed ();
  ck_assert_uint_eq (stored_items ("INBOX"), count_files ("INBOX"));
}
END_TEST

/* Local changes, written as an application would */

typedef struct
{
  guint64 id;
  guint64 target;
  const char *text;
  const char *flag;
  gboolean add;
  CairnCollection *collection;
} Edit;

/* A message item with the text of @edit as its RFC822 part. */
static CairnItem *
message_item (Edit *edit)
{
  CairnItem *item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new (edit->text, strlen (edit->text));
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, bytes);

  cairn_item_set_size (item, strlen (edit->text));
  cairn_item_set_part (item, part);
  return item;
}

static gboolean
create_message (CairnTransaction  *transaction,
                gpointer           user_data,
                GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnItem) item = message_item (edit);

  cairn_item_set_collection_id (item, edit->target);
  if (edit->flag != NULL)
    cairn_flags_add (cairn_item_get_flags (item), edit->flag);
  if (!cairn_transaction_create_item (transaction, item, error))
    return FALSE;
  edit->id = cairn_item_get_id (item);
  return TRUE;
}

static gboolean
change_flag (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (edit->add)
    cairn_flags_delta_add (delta, edit->flag);
  else
    cairn_flags_delta_remove (delta, edit->flag);
  return cairn_transaction_change_flags (transaction, edit->id, delta, 0, error);
}

static gboolean
edit_message (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnItem) item = message_item (edit);
  g_autoptr(CairnItem) stored = cairn_store_get_item (client, edit->id, NULL, error);

  if (stored == NULL)
    return FALSE;
  cairn_item_set_id (item, edit->id);
  cairn_item_set_remote_id (item, cairn_item_get_remote_id (stored));
  cairn_item_set_remote_revision (item, cairn_item_get_remote_revision (stored));
  return cairn_transaction_modify_item (transaction, item, 0, error);
}

static gboolean
move_message (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_move_item (transaction, edit->id, edit->target, error);
}

static gboolean
delete_message (CairnTransaction  *transaction,
                gpointer           user_data,
                GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_delete_item (transaction, edit->id, error);
}

static gboolean
create_folder_locally (CairnTransaction  *transaction,
                       gpointer           user_data,
                       GError           **error)
{
  Edit *edit = user_data;

  if (!cairn_transaction_create_collection (transaction, edit->collection, error))
    return FALSE;
  edit->id = cairn_collection_get_id (edit->collection);
  return TRUE;
}

static gboolean
rename_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_modify_collection (transaction, edit->collection, 0, error);
}

static gboolean
delete_folder (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_delete_collection (transaction, edit->id, error);
}

static void
local_write (CairnTransactionFunc  func,
             Edit                 *edit)
{
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (client, func, edit, NULL, NULL, &error));
  assert_no_error (error);
}

static guint64
local_create_folder (const char *name,
                     guint64     parent)
{
  const char *mime_types[] = { "message/rfc822", NULL };
  g_autoptr(CairnCollection) collection = cairn_collection_new (ID, parent, name);
  Edit edit = { .collection = collection };

  cairn_collection_set_content_mime_types (collection, mime_types);
  local_write (create_folder_locally, &edit);
  return edit.id;
}

static char *
stored_remote_id (guint64 id)
{
  g_autoptr(CairnItem) item = NULL;
  GError *error = NULL;

  item = cairn_store_get_item (client, id, NULL, &error);
  assert_no_error (error);
  return g_strdup (cairn_item_get_remote_id (item));
}

START_TEST (test_replay_items)
{
  g_autofree char *text = message_text ("created@example.org", "Created here");
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *content = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *other = NULL;
  g_autoptr(CairnItem) item = NULL;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Archive");
  generate ("INBOX", 20, SEED);
  start ();

  /* Create: a new file in new/ (no flags) with the content. */
  edit.target = collection_id ("INBOX");
  edit.text = text;
  local_write (create_message, &edit);
  wait_replayed ();
  uid = stored_remote_id (edit.id);
  ck_assert_ptr_nonnull (uid);
  file = find_file ("INBOX", uid);
  ck_assert_ptr_nonnull (file);
  ck_assert (g_str_has_prefix (file, "new/"));
  other = folder_path ("INBOX");
  path = g_build_filename (other, file, NULL);
  ck_assert (g_file_get_contents (path, &content, NULL, NULL));
  ck_assert_str_eq (content, text);
  ck_assert_uint_eq (count_files ("INBOX"), 21);
  g_clear_pointer (&file, g_free);

  /* Flags: a rename into cur/ with the letters; the RFC822 part follows. */
  edit.flag = CAIRN_FLAG_SEEN;
  edit.add = TRUE;
  local_write (change_flag, &edit);
  edit.flag = CAIRN_FLAG_ANSWERED;
  local_write (change_flag, &edit);
  edit.flag = "$label1";
  local_write (change_flag, &edit);
  wait_replayed ();
  file = find_file ("INBOX", uid);
  ck_assert_msg (g_str_has_suffix (file, ":2,RSa"), "%s", file);
  ck_assert (g_str_has_prefix (file, "cur/"));
  g_clear_pointer (&content, g_free);
  content = read_part (edit.id, CAIRN_PART_RFC822);
  ck_assert_str_eq (content, text);
  {
    g_autofree char *keywords = g_build_filename (other, "dovecot-keywords", NULL);
    g_autofree char *lines = NULL;

    ck_assert (g_file_get_contents (keywords, &lines, NULL, NULL));
    ck_assert_str_eq (lines, "0 $label1\n");
  }
  edit.flag = CAIRN_FLAG_SEEN;
  edit.add = FALSE;
  local_write (change_flag, &edit);
  wait_replayed ();
  g_clear_pointer (&file, g_free);
  file = find_file ("INBOX", uid);
  ck_assert_msg (g_str_has_suffix (file, ":2,Ra"), "%s", file);
  /* The next sync finds nothing to change. */
  item = find_item ("INBOX", uid);
  ck_assert_str_eq (cairn_item_get_remote_revision (item), file);

  /* Move: the same name in the other folder. */
  edit.target = collection_id (".Archive");
  local_write (move_message, &edit);
  wait_replayed ();
  g_clear_pointer (&stored, g_free);
  stored = find_file ("Archive", uid);
  ck_assert_str_eq (stored, file);
  g_clear_pointer (&file, g_free);
  file = find_file ("INBOX", uid);
  ck_assert_ptr_null (file);
  g_clear_pointer (&content, g_free);
  content = read_part (edit.id, CAIRN_PART_RFC822);
  ck_assert_str_eq (content, text);

  /* Delete: unlinked. */
  local_write (delete_message, &edit);
  wait_replayed ();
  file = find_file ("Archive", uid);
  ck_assert_ptr_null (file);
  ck_assert_uint_eq (count_files ("Archive"), 0);
  ck_assert_uint_eq (count_files ("INBOX"), 20);
}
END_TEST

START_TEST (test_replay_folders)
{
  g_autoptr(CairnCollection) renamed = NULL;
  g_autoptr(CairnCollection) child = NULL;
  g_autofree char *created = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *moved_sub = NULL;
  guint64 id, sub_id;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();

  id = local_create_folder ("Projects", 0);
  sub_id = local_create_folder ("Cairn", id);
  wait_replayed ();
  created = g_build_filename (root, ".Projects", "cur", NULL);
  ck_assert (g_file_test (created, G_FILE_TEST_IS_DIR));
  sub = g_build_filename (root, ".Projects.Cairn", "tmp", NULL);
  ck_assert (g_file_test (sub, G_FILE_TEST_IS_DIR));
  generate ("Projects/Cairn", 3, SEED);
  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, NULL));
  ck_assert_uint_eq (stored_items (".Projects.Cairn"), 3);

  /* Rename: the folder and its sub-folder, whose items stay. */
  renamed = cairn_store_get_collection (client, id, NULL);
  cairn_collection_set_name (renamed, "Work");
  edit.collection = renamed;
  local_write (rename_folder, &edit);
  wait_replayed ();
  moved = g_build_filename (root, ".Work", "cur", NULL);
  moved_sub = g_build_filename (root, ".Work.Cairn", "cur", NULL);
  ck_assert (g_file_test (moved, G_FILE_TEST_IS_DIR));
  ck_assert (g_file_test (moved_sub, G_FILE_TEST_IS_DIR));
  ck_assert (!g_file_test (created, G_FILE_TEST_EXISTS));
  child = cairn_store_get_collection (client, sub_id, NULL);
  ck_assert_str_eq (cairn_collection_get_remote_id (child), ".Work.Cairn");
  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, NULL));
  wait_replayed ();
  ck_assert_uint_eq (stored_items (".Work.Cairn"), 3);
  g_clear_object (&child);
  child = cairn_store_get_collection (client, sub_id, NULL);
  ck_assert_ptr_nonnull (child);

  /* Delete: both gone from the disk. */
  edit.id = id;
  local_write (delete_folder, &edit);
  wait_replayed ();
  ck_assert (!g_file_test (moved, G_FILE_TEST_EXISTS));
  ck_assert (!g_file_test (moved_sub, G_FILE_TEST_EXISTS));
}
END_TEST

/* Marked read while offline: nothing renamed until online, then all. */
START_TEST (test_offline)
{
  g_autoptr(GPtrArray) unread = NULL;
  g_autoptr(GPtrArray) uids = g_ptr_array_new_with_free_func (g_free);
  guint64 count, n_unread, inbox;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 100, SEED);
  start ();
  inbox = collection_id ("INBOX");
  unread = list_files ("INBOX", "new");
  ck_assert_uint_ge (unread->len, 10);

  set_online (FALSE);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *uid = g_strndup (g_ptr_array_index (unread, i),
                                        strcspn (g_ptr_array_index (unread, i), ":"));
      g_autoptr(CairnItem) item = find_item ("INBOX", uid);
      Edit edit = { .id = cairn_item_get_id (item), .flag = CAIRN_FLAG_SEEN, .add = TRUE };

      local_write (change_flag, &edit);
      g_ptr_array_add (uids, g_steal_pointer (&uid));
    }
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  for (guint i = 0; i < uids->len; i++)
    {
      g_autofree char *file = find_file ("INBOX", g_ptr_array_index (uids, i));

      ck_assert (g_str_has_prefix (file, "new/"));
    }

  set_online (TRUE);
  wait_replayed ();
  for (guint i = 0; i < uids->len; i++)
    {
      g_autofree char *file = find_file ("INBOX", g_ptr_array_index (uids, i));

      ck_assert_msg (g_str_has_suffix (file, ":2,S") && g_str_has_prefix (file, "cur/"), "%s",
                     file);
    }
  ck_assert (cairn_store_get_collection_statistics (client, inbox, &count, &n_unread, NULL,
                                                    NULL));
  ck_assert_uint_eq (count, 100);
}
END_TEST

static gboolean
some_files_in (gconstpointer data)
{
  const Expectation *expected = data;

  return count_files (expected->folder) >= expected->count;
}


/* Out of process, the resource hears of a local change a moment after
 * its commit: wait_replayed() must count it from the change log all the
 * same, so that each change is in the maildir when it returns. Without
 * that, half of these toggles were checked before their replay. */
START_TEST (test_replay_each_change_waited_for)
{
  g_autofree char *text = message_text ("toggled@example.org", "Toggled");
  g_autofree char *uid = NULL;
  g_autoptr(CairnItem) item = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  uid = deliver ("INBOX", text, NULL);
  start_with (CAIRN_TEST_RESOURCE_PROCESS, "maildir++", "false");
  item = find_item ("INBOX", uid);
  for (guint i = 0; i < 20; i++)
    {
      Edit edit = { .id = cairn_item_get_id (item), .flag = CAIRN_FLAG_FLAGGED, .add = i % 2 == 0 };
      g_autofree char *file = NULL;

      local_write (change_flag, &edit);
      wait_replayed ();
      file = find_file ("INBOX", uid);
      ck_assert_msg (g_str_has_suffix (file, edit.add ? ":2,F" : ":2,"), "change %u: %s", i,
                     file);
    }
}
END_TEST

/* Killed in the middle of replaying 200 creations and 200 flag changes:
 * after the restart, every message is there exactly once. */
START_TEST (test_kill_during_replay)
{
  g_autoptr(GPtrArray) unread = NULL;
  g_autoptr(GArray) created = g_array_new (FALSE, FALSE, sizeof (guint64));
  Expectation partly = { "INBOX", NULL, NULL, 320 };
  guint64 inbox;
  GError *error = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 300, SEED);
  start_with (CAIRN_TEST_RESOURCE_PROCESS, "maildir++", "false");
  inbox = collection_id ("INBOX");
  unread = list_files ("INBOX", "new");

  set_online (FALSE);
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *message_id = g_strdup_printf ("k%u@example.org", i);
      g_autofree char *text = message_text (message_id, "Written while offline");
      Edit edit = { .target = inbox, .text = text, .flag = i % 2 ? CAIRN_FLAG_SEEN : NULL };

      local_write (create_message, &edit);
      g_array_append_val (created, edit.id);
    }
  for (guint i = 0; i < unread->len; i++)
    {
      g_autofree char *uid = g_strndup (g_ptr_array_index (unread, i),
                                        strcspn (g_ptr_array_index (unread, i), ":"));
      g_autoptr(CairnItem) item = find_item ("INBOX", uid);
      Edit edit = { .id = cairn_item_get_id (item), .flag = CAIRN_FLAG_FLAGGED, .add = TRUE };

      local_write (change_flag, &edit);
    }
  set_online (TRUE);
  wait_until (some_files_in, &partly, WAIT_MS);
  cairn_test_resource_kill (resource);
  ck_assert_uint_lt (count_files ("INBOX"), 500);
  ck_assert (cairn_test_resource_restart (resource, &error));
  assert_no_error (error);
  wait_replayed ();

  ck_assert_uint_eq (count_files ("INBOX"), 500);
  ck_assert_uint_eq (stored_items ("INBOX"), 500);
  for (guint i = 0; i < created->len; i++)
    {
      g_autofree char *uid = stored_remote_id (g_array_index (created, guint64, i));
      g_autofree char *file = find_file ("INBOX", uid);

      ck_assert_msg (file != NULL, "created message %u is missing", i);
    }
  for (guint i = 0; i < unread->len; i++)
    {
      g_autofree char *uid = g_strndup (g_ptr_array_index (unread, i),
                                        strcspn (g_ptr_array_index (unread, i), ":"));
      g_autofree char *file = find_file ("INBOX", uid);

      ck_assert_msg (g_str_has_suffix (file, ":2,F"), "%s", file);
    }
}
END_TEST

/* Files another program left that are not messages, or lead elsewhere:
 * reported and skipped, never fatal. */
START_TEST (test_hostile_files)
{
  g_autofree char *inbox = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *script = NULL;
  g_autofree char *good = message_text ("good@example.org", "Good");

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  g_free (deliver ("INBOX", good, "S"));
  inbox = folder_path ("INBOX");
  outside = g_build_filename (cairn_test_environment_get_path (environment), "Elsewhere", NULL);
  ck_assert_int_eq (g_mkdir_with_parents (outside, 0700), 0);
  script = g_strdup_printf ("cd '%s';"
                            "{ printf '\\000\\377'; head -c 3000 /dev/urandom; } > cur/binary:2,S;"
                            ": > new/empty;"
                            "printf 'no header here\\n\\nbody\\n' > new/prose;"
                            "printf 'Subject: nl\\n\\nx\\n' > \"new/$(printf 'bad\\nname')\";"
                            "printf 'Subject: latin1\\n\\nx\\n' > \"new/$(printf 'caf\\351')\";"
                            "ln -s /etc/passwd new/passwd-link;"
                            "mkdir cur/a-directory;"
                            "mkdir -p '%s/cur' '%s/new';"
                            "printf 'Subject: outside\\n\\nx\\n' > '%s/new/secret';"
                            "ln -s '%s' .Escape",
                            inbox, outside, outside, outside, outside);
  run_writer (script);
  start ();

  ck_assert_uint_eq (stored_items ("INBOX"), 1);
  ck_assert_ptr_null (find_collection (".Escape"));
}
END_TEST

static gboolean
retitle_remote_id (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  Edit *edit = user_data;
  g_autoptr(CairnItem) item = cairn_store_get_item (client, edit->id, NULL, error);

  if (item == NULL)
    return FALSE;
  cairn_item_set_remote_id (item, edit->text);
  return cairn_transaction_modify_item (transaction, item, 0, error);
}

static guint
count_failed_changes (void)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) changes = NULL;
  GError *error = NULL;

  reply = cairn_test_resource_call_sync (resource, "org.cairn.Resource1", "ListFailedChanges",
                                         NULL, NULL, &error);
  assert_no_error (error);
  changes = g_variant_get_child_value (reply, 0);
  return g_variant_n_children (changes);
}

/* Names from the store, which any application writes, never reach the
 * disk unchecked. */
START_TEST (test_hostile_names)
{
  g_autofree char *victim = NULL;
  g_autofree char *escaped = NULL;
  const char *bad_names[] = { "..", "a/b", "x.y", ".hidden", "new\nline" };
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 3, SEED);
  victim = g_build_filename (cairn_test_environment_get_path (environment), "victim", NULL);
  ck_assert (g_file_set_contents (victim, "keep me", -1, NULL));
  start ();

  for (guint i = 0; i < G_N_ELEMENTS (bad_names); i++)
    local_create_folder (bad_names[i], 0);
  wait_replayed ();
  ck_assert_uint_eq (count_failed_changes (), G_N_ELEMENTS (bad_names));
  escaped = g_build_filename (cairn_test_environment_get_path (environment), "b", NULL);
  ck_assert (!g_file_test (escaped, G_FILE_TEST_EXISTS));

  /* An item whose remote id was made a path: its removal touches nothing. */
  {
    g_autoptr(GPtrArray) names = list_files ("INBOX", "new");
    g_autoptr(GPtrArray) cur = list_files ("INBOX", "cur");
    const char *name = names->len ? g_ptr_array_index (names, 0) : g_ptr_array_index (cur, 0);
    g_autofree char *uid = g_strndup (name, strcspn (name, ":"));
    g_autoptr(CairnItem) item = find_item ("INBOX", uid);

    edit.id = cairn_item_get_id (item);
    edit.text = "../../victim";
    local_write (retitle_remote_id, &edit);
    local_write (delete_message, &edit);
    wait_replayed ();
  }
  ck_assert (g_file_test (victim, G_FILE_TEST_EXISTS));
  ck_assert_uint_eq (count_files ("INBOX"), 3);
  ck_assert_uint_eq (count_failed_changes (), G_N_ELEMENTS (bad_names) + 1);
}
END_TEST

START_TEST (test_read_only)
{
  Edit edit = { 0 };
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autofree char *uid = NULL;
  g_autoptr(CairnItem) item = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  generate ("INBOX", 10, SEED);
  start_with (CAIRN_TEST_RESOURCE_IN_PROCESS, "maildir++", "true");
  before = list_files ("INBOX", "new");
  ck_assert_uint_gt (before->len, 0);
  uid = g_strdup (g_ptr_array_index (before, 0));
  item = find_item ("INBOX", uid);
  edit.id = cairn_item_get_id (item);
  edit.flag = CAIRN_FLAG_SEEN;
  edit.add = TRUE;
  local_write (change_flag, &edit);
  wait_replayed ();
  after = list_files ("INBOX", "new");
  ck_assert_uint_eq (after->len, before->len);
  ck_assert_uint_eq (count_failed_changes (), 1);
}
END_TEST

/* Marked read and then edited while offline: the flag replay renames the
 * file and stores its new path, but not over the edit waiting for its
 * replay, which writes the new content. */
START_TEST (test_replay_flags_then_edit)
{
  g_autofree char *text = message_text ("first@example.org", "First");
  g_autofree char *edited = message_text ("edited@example.org", "Edited");
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *content = NULL;
  g_autofree char *inbox = NULL;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  edit.target = collection_id ("INBOX");
  edit.text = text;
  local_write (create_message, &edit);
  wait_replayed ();

  set_online (FALSE);
  edit.flag = CAIRN_FLAG_SEEN;
  edit.add = TRUE;
  local_write (change_flag, &edit);
  edit.text = edited;
  local_write (edit_message, &edit);
  set_online (TRUE);
  wait_replayed ();

  ck_assert_uint_eq (count_files ("INBOX"), 1);
  uid = stored_remote_id (edit.id);
  file = find_file ("INBOX", uid);
  ck_assert_msg (file != NULL && g_str_has_suffix (file, ":2,S"), "%s", file);
  inbox = folder_path ("INBOX");
  path = g_build_filename (inbox, file, NULL);
  ck_assert (g_file_get_contents (path, &content, NULL, NULL));
  ck_assert_str_eq (content, edited);
  g_clear_pointer (&content, g_free);
  content = read_part (edit.id, CAIRN_PART_RFC822);
  ck_assert_str_eq (content, edited);
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

static gboolean
has_flag (CairnItem  *item,
          const char *flag)
{
  return item != NULL && cairn_flags_contains (cairn_item_get_flags (item), flag);
}

/* Offline, \Seen on two messages; meanwhile another program moves the
 * first to Archive, under the same name as readers do, and removes the
 * second. The flag follows the first to Archive, where the sync finds it
 * with it; the second stays removed; no change fails. Before, the moved
 * message lost the flag. */
START_TEST (test_replay_flags_follow_moved_message)
{
  g_autofree char *first_text = message_text ("moved@example.org", "Moved");
  g_autofree char *second_text = message_text ("removed@example.org", "Removed");
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *script = NULL;
  g_autofree char *inbox = NULL;
  g_autofree char *archive = NULL;
  g_autofree char *file = NULL;
  g_autoptr(CairnItem) moved = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Archive");
  first = deliver ("INBOX", first_text, "");
  second = deliver ("INBOX", second_text, "");
  start ();
  inbox = folder_path ("INBOX");
  archive = folder_path ("Archive");

  set_online (FALSE);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(CairnItem) item = find_item ("INBOX", i == 0 ? first : second);
      Edit edit = { .id = cairn_item_get_id (item), .flag = CAIRN_FLAG_SEEN, .add = TRUE };

      local_write (change_flag, &edit);
    }
  script = g_strdup_printf ("cd '%s'; mv 'cur/%s:2,' '%s/cur/'; rm 'cur/%s:2,'", inbox, first,
                            archive, second);
  run_writer (script);
  set_online (TRUE);
  wait_replayed ();
  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, NULL));

  file = find_file ("Archive", first);
  ck_assert_msg (file != NULL && g_str_has_prefix (file, "cur/") && g_str_has_suffix (file, ":2,S"),
                 "%s", file);
  ck_assert_uint_eq (count_files ("INBOX"), 0);
  ck_assert_uint_eq (stored_items ("INBOX"), 0);
  moved = find_item (".Archive", first);
  ck_assert_msg (has_flag (moved, CAIRN_FLAG_SEEN), "the moved message lost its flag");
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

/* A maildir with INBOX, holding a message "Edited" of Message-ID
 * <edited@example.org>, and Archive: the resource started, the message
 * edited to @edited offline, the item's id in @edit. Returns the
 * message's unique name. */
static char *
edit_offline (Edit       *edit,
              const char *edited)
{
  g_autofree char *text = message_text ("edited@example.org", "Edited");
  g_autoptr(CairnItem) item = NULL;
  char *uid;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Archive");
  uid = deliver ("INBOX", text, "");
  start ();
  item = find_item ("INBOX", uid);
  edit->id = cairn_item_get_id (item);
  edit->text = edited;
  set_online (FALSE);
  local_write (edit_message, edit);
  return uid;
}

/* Runs @script as another program, then online again, replays and
 * syncs; the edit of edit_offline() then has put @edited in INBOX alone,
 * as the file whose name is returned. */
static char *
assert_edit_replayed (Edit       *edit,
                      const char *script)
{
  g_autofree char *new_uid = NULL;
  g_autofree char *inbox = folder_path ("INBOX");
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *content = NULL;

  run_writer (script);
  set_online (TRUE);
  wait_replayed ();
  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, NULL));
  ck_assert_uint_eq (count_files ("INBOX"), 1);
  new_uid = stored_remote_id (edit->id);
  file = find_file ("INBOX", new_uid);
  ck_assert (file != NULL);
  path = g_build_filename (inbox, file, NULL);
  ck_assert (g_file_get_contents (path, &content, NULL, NULL));
  ck_assert_str_eq (content, edit->text);
  ck_assert_uint_eq (count_failed_changes (), 0);
  return g_steal_pointer (&file);
}

/* Offline, a message edited; meanwhile another program flags it by
 * renaming it. The new content keeps that flag, and the next sync reads
 * it into the store. Before, the flag was lost with the old file. */
START_TEST (test_replay_edit_keeps_other_flags)
{
  g_autofree char *edited = message_text ("edited@example.org", "Edited again");
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  g_autofree char *uid = NULL;
  g_autoptr(CairnItem) stored = NULL;
  Edit edit = { 0 };

  uid = edit_offline (&edit, edited);
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s'; mv 'cur/%s:2,' 'cur/%s:2,F'", inbox, uid, uid);
  file = assert_edit_replayed (&edit, script);
  ck_assert_msg (g_str_has_suffix (file, ":2,F"), "%s", file);
  stored = cairn_store_get_item (client, edit.id, NULL, NULL);
  ck_assert_msg (has_flag (stored, CAIRN_FLAG_FLAGGED), "the store did not read the kept flag");
}
END_TEST

/* Offline, a message edited while another program files it in Archive
 * under the same name, flagged: the new content goes to the inbox, where
 * the item is, with that flag, and the old message goes from Archive.
 * Before, it stayed there beside the new one, and the next sync stored
 * it again. */
START_TEST (test_replay_edit_of_moved_message)
{
  g_autofree char *edited = message_text ("edited@example.org", "Edited again");
  g_autofree char *inbox = NULL;
  g_autofree char *archive = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  g_autofree char *uid = NULL;
  Edit edit = { 0 };

  uid = edit_offline (&edit, edited);
  inbox = folder_path ("INBOX");
  archive = folder_path ("Archive");
  script = g_strdup_printf ("mv '%s/cur/%s:2,' '%s/cur/%s:2,F'", inbox, uid, archive, uid);
  file = assert_edit_replayed (&edit, script);
  ck_assert_msg (g_str_has_suffix (file, ":2,F"), "the flag set in Archive was lost: %s", file);
  ck_assert_uint_eq (count_files ("Archive"), 0);
  ck_assert_uint_eq (stored_items ("INBOX"), 1);
  ck_assert_uint_eq (stored_items (".Archive"), 0);
}
END_TEST

/* Offline, a message moved locally to Dest while another program files it
 * in Archive under the same name: the local move takes it from Archive,
 * and the maildir and the store agree on Dest. Before, it stayed in
 * Archive, where the next sync found it again. */
START_TEST (test_replay_move_follows_moved_message)
{
  g_autofree char *text = message_text ("filed@example.org", "Filed twice");
  g_autofree char *uid = NULL;
  g_autofree char *script = NULL;
  g_autofree char *inbox = NULL;
  g_autofree char *archive = NULL;
  g_autofree char *file = NULL;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Archive");
  create_folder ("Dest");
  uid = deliver ("INBOX", text, "");
  start ();
  inbox = folder_path ("INBOX");
  archive = folder_path ("Archive");
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", uid);

    edit.id = cairn_item_get_id (item);
  }
  edit.target = collection_id (".Dest");

  set_online (FALSE);
  local_write (move_message, &edit);
  script = g_strdup_printf ("cd '%s'; mv 'cur/%s:2,' '%s/cur/'", inbox, uid, archive);
  run_writer (script);
  set_online (TRUE);
  wait_replayed ();
  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, NULL));

  file = find_file ("Dest", uid);
  ck_assert_msg (file != NULL, "the message is not in Dest");
  ck_assert_uint_eq (count_files ("Archive"), 0);
  ck_assert_uint_eq (stored_items (".Dest"), 1);
  ck_assert_uint_eq (stored_items (".Archive"), 0);
  ck_assert_uint_eq (stored_items ("INBOX"), 0);
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

/* The messages of a renamed folder and of its sub-folders are read from
 * their new paths at once, before any sync. */
START_TEST (test_replay_folder_rename_paths)
{
  g_autoptr(CairnCollection) renamed = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  const char *folders[] = { ".Work", ".Work.Cairn" };
  guint64 id;
  Edit edit = { 0 };
  GError *error = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Projects");
  create_folder ("Projects/Cairn");
  generate ("Projects", 2, SEED);
  generate ("Projects/Cairn", 2, SEED + 1);
  start ();
  id = collection_id (".Projects");

  renamed = cairn_store_get_collection (client, id, NULL);
  cairn_collection_set_name (renamed, "Work");
  edit.collection = renamed;
  local_write (rename_folder, &edit);
  wait_replayed ();

  for (guint f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      g_clear_pointer (&items, g_ptr_array_unref);
      items = cairn_store_list_items (client, collection_id (folders[f]), scope, 0, 0, &error);
      assert_no_error (error);
      ck_assert_uint_eq (items->len, 2);
      for (guint i = 0; i < items->len; i++)
        {
          CairnItem *item = g_ptr_array_index (items, i);
          g_autofree char *content = read_part (cairn_item_get_id (item), CAIRN_PART_RFC822);

          ck_assert_uint_eq (strlen (content), cairn_item_get_size (item));
        }
    }
}
END_TEST

/* A sub-folder removed after its parent was renamed, both offline: its
 * removal names it as it was before the rename, and finds it where the
 * rename took it. */
START_TEST (test_replay_rename_then_remove_child)
{
  g_autoptr(CairnCollection) renamed = NULL;
  g_autofree char *moved = g_build_filename (root, ".Work", NULL);
  g_autofree char *child = g_build_filename (root, ".Work.Cairn", NULL);
  guint64 id, child_id;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  id = local_create_folder ("Projects", 0);
  child_id = local_create_folder ("Cairn", id);
  wait_replayed ();

  set_online (FALSE);
  renamed = cairn_store_get_collection (client, id, NULL);
  cairn_collection_set_name (renamed, "Work");
  edit.collection = renamed;
  local_write (rename_folder, &edit);
  edit.id = child_id;
  local_write (delete_folder, &edit);
  set_online (TRUE);
  wait_replayed ();

  ck_assert (g_file_test (moved, G_FILE_TEST_IS_DIR));
  ck_assert (!g_file_test (child, G_FILE_TEST_EXISTS));
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

/* Runs the main loop for @ms milliseconds, so that the resource, in this
 * process, acts on what it was given. */
static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

/* Created, then unmarked and edited while the creation waited for a
 * retry: the creation writes the content stored by then, so the edit's
 * replay finds its message on disk already, under the flags the flag
 * replay gave it, and makes no second file beside it. */
START_TEST (test_replay_create_after_edit)
{
  g_autofree char *text = message_text ("first@example.org", "First");
  g_autofree char *edited = message_text ("edited@example.org", "Edited");
  g_autofree char *away = g_strconcat (root, ".away", NULL);
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  edit.target = collection_id ("INBOX");

  /* The creation fails for a while: the maildir is missing. */
  ck_assert_int_eq (g_rename (root, away), 0);
  edit.text = text;
  edit.flag = CAIRN_FLAG_SEEN;
  local_write (create_message, &edit);
  run_for (300);
  edit.add = FALSE;
  local_write (change_flag, &edit);
  edit.text = edited;
  local_write (edit_message, &edit);
  ck_assert_int_eq (g_rename (away, root), 0);
  wait_replayed ();

  ck_assert_uint_eq (count_files ("INBOX"), 1);
  uid = stored_remote_id (edit.id);
  file = find_file ("INBOX", uid);
  ck_assert_msg (file != NULL && strchr (file, 'S') == NULL, "%s", file);
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

static gboolean
rename_folder_and_move_child (CairnTransaction  *transaction,
                              gpointer           user_data,
                              GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_modify_collection (transaction, edit->collection, 0, error) &&
         cairn_transaction_move_collection (transaction, edit->id, edit->target, error);
}

/* A folder moved out of a folder renamed in the same write, both waiting
 * for a retry while the folder it moved into is removed: the move finds
 * it where the rename took it, not in the parent its removal names, and
 * the removal takes it with its new parent. */
START_TEST (test_replay_move_removed_folder)
{
  g_autoptr(CairnCollection) renamed = NULL;
  g_autofree char *away = g_strconcat (root, ".away", NULL);
  const char *gone[] = { ".Projects", ".Work.Cairn", ".Old", ".Old.Cairn" };
  g_autofree char *work = g_build_filename (root, ".Work", NULL);
  guint64 id, child_id, old_id;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  id = local_create_folder ("Projects", 0);
  child_id = local_create_folder ("Cairn", id);
  old_id = local_create_folder ("Old", 0);
  wait_replayed ();

  /* The rename fails for a while: the maildir is missing. */
  ck_assert_int_eq (g_rename (root, away), 0);
  renamed = cairn_store_get_collection (client, id, NULL);
  cairn_collection_set_name (renamed, "Work");
  edit.collection = renamed;
  edit.id = child_id;
  edit.target = old_id;
  local_write (rename_folder_and_move_child, &edit);
  run_for (300);
  edit.id = old_id;
  local_write (delete_folder, &edit);
  ck_assert_int_eq (g_rename (away, root), 0);
  wait_replayed ();

  ck_assert (g_file_test (work, G_FILE_TEST_IS_DIR));
  for (guint i = 0; i < G_N_ELEMENTS (gone); i++)
    {
      g_autofree char *path = g_build_filename (root, gone[i], NULL);

      ck_assert_msg (!g_file_test (path, G_FILE_TEST_EXISTS), "%s is left", gone[i]);
    }
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

static gboolean
move_folder (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Edit *edit = user_data;

  return cairn_transaction_move_collection (transaction, edit->id, edit->target, error);
}

/* Seed 40 of the maildir replay test: a folder moved, waiting for a
 * retry while a sub-folder is moved out of it and it is removed. Its
 * move, replayed after all, takes the sub-folder along on disk; the
 * store kept the sub-folder's old remote id, so the sub-folder's own
 * move failed and the removal took its message with the folder. */
START_TEST (test_replay_move_removed_folder_with_child)
{
  g_autofree char *text = message_text ("kept@example.org", "Kept");
  g_autofree char *away = g_strconcat (root, ".away", NULL);
  const char *gone[] = { "Parent", "Dest/Parent", "Dest/Parent/Child", "Parent/Child" };
  g_autoptr(CairnCollection) child = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  guint64 parent_id, child_id, dest_id;
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  parent_id = local_create_folder ("Parent", 0);
  child_id = local_create_folder ("Child", parent_id);
  dest_id = local_create_folder ("Dest", 0);
  edit.target = child_id;
  edit.text = text;
  local_write (create_message, &edit);
  wait_replayed ();
  uid = stored_remote_id (edit.id);

  /* The move fails for a while: the maildir is missing. */
  ck_assert_int_eq (g_rename (root, away), 0);
  edit.id = parent_id;
  edit.target = dest_id;
  local_write (move_folder, &edit);
  run_for (300);
  edit.id = child_id;
  edit.target = 0;
  local_write (move_folder, &edit);
  edit.id = parent_id;
  local_write (delete_folder, &edit);
  ck_assert_int_eq (g_rename (away, root), 0);
  wait_replayed ();

  ck_assert_uint_eq (count_failed_changes (), 0);
  child = find_collection (".Child");
  ck_assert_uint_eq (cairn_collection_get_id (child), child_id);
  file = find_file ("Child", uid);
  ck_assert_msg (file != NULL, "message %s is lost", uid);
  for (guint i = 0; i < G_N_ELEMENTS (gone); i++)
    {
      g_autofree char *path = folder_path (gone[i]);

      ck_assert_msg (!g_file_test (path, G_FILE_TEST_EXISTS), "%s is left", gone[i]);
    }
}
END_TEST

typedef struct
{
  guint64 folder;   /* moved into @into */
  guint64 into;
  guint64 top;      /* renamed */
  guint64 message;  /* moved into @away */
  guint64 away;
} MoveOut;

static gboolean
move_rename_and_move_out (CairnTransaction  *transaction,
                          gpointer           user_data,
                          GError           **error)
{
  MoveOut *changes = user_data;
  g_autoptr(CairnCollection) top = cairn_store_get_collection (client, changes->top, error);

  if (top == NULL)
    return FALSE;
  cairn_collection_set_name (top, "Renamed");
  return cairn_transaction_move_collection (transaction, changes->folder, changes->into,
                                            error) &&
         cairn_transaction_modify_collection (transaction, top, 0, error) &&
         cairn_transaction_move_item (transaction, changes->message, changes->away, error);
}

/* Seed 37 of the maildir replay test: a folder moved into a sub-folder,
 * that sub-folder's parent renamed and a message moved out of the moved
 * folder's own sub-folder, the move replayed while the sub-folder is
 * removed. Found through its removal, the moved folder had the parent
 * its move left, although that move was replayed: the message's move
 * looked where the rename had taken nothing, found no file, and the
 * removal took the message with the folders. */
START_TEST (test_replay_move_out_of_folder_moved_then_removed)
{
  g_autofree char *text = message_text ("saved@example.org", "Saved");
  g_autofree char *away = g_strconcat (root, ".away", NULL);
  g_autofree char *uid = NULL;
  g_autofree char *file = NULL;
  g_autofree char *mid = NULL;
  guint64 top_id, mid_id, folder_id, leaf_id, other_id;
  Edit edit = { 0 };
  GError *error = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  start ();
  top_id = local_create_folder ("Top", 0);
  mid_id = local_create_folder ("Mid", top_id);
  folder_id = local_create_folder ("Folder", 0);
  leaf_id = local_create_folder ("Leaf", folder_id);
  other_id = local_create_folder ("Other", 0);
  edit.target = leaf_id;
  edit.text = text;
  local_write (create_message, &edit);
  wait_replayed ();
  uid = stored_remote_id (edit.id);

  /* The folder's move fails for a while: the maildir is missing. */
  ck_assert_int_eq (g_rename (root, away), 0);
  ck_assert (cairn_store_write_sync (client, move_rename_and_move_out,
                                     &(MoveOut) { folder_id, mid_id, top_id, edit.id, other_id },
                                     NULL, NULL, &error));
  assert_no_error (error);
  run_for (300);
  edit.id = mid_id;
  local_write (delete_folder, &edit);
  ck_assert_int_eq (g_rename (away, root), 0);
  wait_replayed ();

  ck_assert_uint_eq (count_failed_changes (), 0);
  file = find_file ("Other", uid);
  ck_assert_msg (file != NULL, "message %s is lost", uid);
  mid = folder_path ("Renamed/Mid");
  ck_assert_msg (!g_file_test (mid, G_FILE_TEST_EXISTS), "%s is left", mid);
}
END_TEST

/* Issue 13: a maildir resource to trust beside Dovecot and hostile trees */

static void
start_configured (const char * const *extra)
{
  g_autoptr(GPtrArray) config = g_ptr_array_new ();
  const char *base[] = { "path", root, "layout", "maildir++", "read-only", "false" };

  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (config, (gpointer) base[i]);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (config, (gpointer) extra[i]);
  g_ptr_array_add (config, NULL);
  resource = cairn_check_start_resource (environment, "maildir", ID,
                                         (const char * const *) config->pdata,
                                         CAIRN_TEST_RESOURCE_IN_PROCESS, WAIT_MS, &client);
}

static void
synchronize (guint64 collection)
{
  GError *error = NULL;

  cairn_test_resource_synchronize_sync (resource, collection, &error);
  g_clear_error (&error);
}

typedef struct
{
  gboolean done;
  GError *error;
} Outcome;

static void
synchronized (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Outcome *outcome = user_data;

  cairn_resource_synchronize_finish (CAIRN_RESOURCE (source), result, &outcome->error);
  outcome->done = TRUE;
}

/* Removed by a client, a folder stays on disk until its removal is
 * replayed. A sync that runs before the resource has read the removal
 * (the file events of its own writes start one) must leave the folder
 * and what is below it alone rather than take them and their mail back
 * as new: the indexer's model test found such a folder back, its
 * messages under new ids. The sync is asked for before the removal is
 * written, so that it runs first. */
START_TEST (test_sync_before_folder_removal_replayed)
{
  const char *removed[] = { ".Old", ".Old.Sub" };
  Edit edit = { 0 };
  Outcome sync = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Old");
  create_folder ("Old/Sub");
  generate ("Old", 3, SEED);
  generate ("Old/Sub", 2, SEED + 1);
  start ();
  edit.id = collection_id (".Old");
  cairn_resource_synchronize_async (cairn_test_resource_get_resource (resource), 0, NULL,
                                    synchronized, &sync);
  local_write (delete_folder, &edit);
  /* Another program's sub-folder, which the removal did not take, is
   * left alone with its parent until the replay. */
  create_folder ("Old/New");
  while (!sync.done)
    g_main_context_iteration (NULL, TRUE);
  assert_no_error (sync.error);
  wait_replayed ();

  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    {
      g_autoptr(CairnCollection) back = find_collection (removed[i]);
      g_autofree char *path = g_build_filename (root, removed[i], NULL);

      ck_assert_msg (back == NULL, "%s came back as collection %" G_GUINT64_FORMAT, removed[i],
                     cairn_collection_get_id (back));
      ck_assert_msg (!g_file_test (path, G_FILE_TEST_EXISTS), "%s is left", removed[i]);
    }
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Names, kinds, sizes and contents of everything under @path. */
static void
checksum_tree (GChecksum  *checksum,
               const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, g_ptr_array_index (names, i), NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;

      g_checksum_update (checksum, (const guchar *) child, -1);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        checksum_tree (checksum, child);
      else if (g_file_get_contents (child, &contents, &length, NULL))
        g_checksum_update (checksum, (const guchar *) contents, length);
    }
}

static char *
tree_checksum (const char *path)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  checksum_tree (checksum, path);
  return g_strdup (g_checksum_get_string (checksum));
}

static gboolean
refuse_outside_item (CairnItem *item,
                     gpointer   user_data)
{
  CairnPart *envelope = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  GBytes *data = envelope ? cairn_part_get_data (envelope) : NULL;
  g_autofree char *text = data ? g_strndup (g_bytes_get_data (data, NULL),
                                            g_bytes_get_size (data)) : NULL;

  ck_assert_msg (g_strcmp0 (cairn_item_get_gid (item), "outside@example.org") != 0,
                 "a message from outside is in the store");
  ck_assert_msg (text == NULL || strstr (text, "Outside") == NULL,
                 "a message from outside is in the store: %s", text);
  return TRUE;
}

static void
assert_nothing_from_outside (void)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) collections = NULL;
  GError *error = NULL;

  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  collections = cairn_store_list_collections (client, ID, &error);
  assert_no_error (error);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);

      ck_assert (cairn_store_foreach_item (client, cairn_collection_get_id (collection), scope,
                                           refuse_outside_item, NULL, NULL, &error));
      assert_no_error (error);
    }
}

static gboolean
has_failed_collection (guint64 id)
{
  CairnResource *agent = cairn_test_resource_get_resource (resource);
  g_autoptr(GArray) failed = cairn_resource_list_failed_collections (agent);

  for (guint i = 0; i < failed->len; i++)
    if (g_array_index (failed, guint64, i) == id)
      return TRUE;
  return FALSE;
}

/* Links in every position lead out of the root: as a folder, as cur/,
 * new/ and tmp/, and as a message. Nothing out there is read, renamed,
 * removed or written, whatever sync and replay do. */
START_TEST (test_confinement)
{
  g_autofree char *outside = g_build_filename (cairn_test_environment_get_path (environment),
                                               "Outside", NULL);
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *good = message_text ("good@example.org", "Good");
  g_autofree char *kept = NULL;
  g_autofree char *in_tmp_link = NULL;
  const char *folders[] = { ".CurLink", ".NewLink", ".TmpLink" };
  Edit edit = { 0 };
  guint64 tmp_link, cur_link, new_link, linked;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  kept = deliver ("INBOX", good, "S");
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    create_folder (folders[i] + 1);
  in_tmp_link = deliver ("TmpLink", good, "S");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("mkdir -p '%1$s/cur' '%1$s/new' '%1$s/tmp';"
                            "for f in cur/outside:2,S new/outside2; do"
                            "  printf 'From: Outside <o@example.org>\\nSubject: Outside\\n"
                            "Message-ID: <outside@example.org>\\n\\nsecret\\n' > \"%1$s/$f\";"
                            "done;"
                            "cd '%2$s';"
                            "ln -s '%1$s' .Linked;"
                            "rm -r .CurLink/cur && ln -s '%1$s/cur' .CurLink/cur;"
                            "rm -r .NewLink/new && ln -s '%1$s/new' .NewLink/new;"
                            "rm -r .TmpLink/tmp && ln -s '%1$s/tmp' .TmpLink/tmp;"
                            "ln -s '%1$s/cur/outside:2,S' 'cur/filelink:2,S';"
                            "ln -s '%1$s/cur' 'cur/dirlink'",
                            outside, inbox);
  run_writer (script);
  before = tree_checksum (outside);
  start ();

  /* Sync: nothing from outside; the folders with a link fail by name. */
  assert_nothing_from_outside ();
  ck_assert_ptr_null (find_collection (".Linked"));
  ck_assert_uint_eq (stored_items ("INBOX"), 1);
  ck_assert_uint_eq (stored_items (".TmpLink"), 1);
  cur_link = collection_id (".CurLink");
  new_link = collection_id (".NewLink");
  tmp_link = collection_id (".TmpLink");
  ck_assert (has_failed_collection (cur_link));
  ck_assert (has_failed_collection (new_link));
  ck_assert (!has_failed_collection (tmp_link));

  /* Flag change, move into each folder with a link, creation there,
   * deletion: every one stays inside or fails. */
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", kept);

    edit.id = cairn_item_get_id (item);
    edit.flag = CAIRN_FLAG_FLAGGED;
    edit.add = TRUE;
    local_write (change_flag, &edit);
    edit.target = cur_link;
    local_write (move_message, &edit);
  }
  {
    g_autoptr(CairnItem) item = find_item (".TmpLink", in_tmp_link);
    Edit other = { .id = cairn_item_get_id (item), .target = new_link };

    local_write (move_message, &other);
    local_write (delete_message, &other);
  }
  for (guint i = 0; i < 3; i++)
    {
      guint64 targets[] = { tmp_link, cur_link, new_link };
      Edit create = { .target = targets[i], .text = good,
                      .flag = i == 1 ? CAIRN_FLAG_SEEN : NULL };

      local_write (create_message, &create);
    }
  linked = local_create_folder ("Linked", 0);
  {
    Edit create = { .target = linked, .text = good };

    wait_replayed ();
    local_write (create_message, &create);
  }
  wait_replayed ();
  synchronize (0);
  wait_replayed ();

  after = tree_checksum (outside);
  ck_assert_str_eq (before, after);
  assert_nothing_from_outside ();
  /* The links themselves are still there: they are not ours to remove. */
  {
    g_autofree char *link = g_build_filename (inbox, "cur", "filelink:2,S", NULL);

    ck_assert (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  }
}
END_TEST

/* A folder whose cur/ is a plain file fails alone, by name, in the
 * status; the others sync and are watched, and it syncs once repaired. */
START_TEST (test_unreadable_folder)
{
  g_autofree char *broken = NULL;
  g_autofree char *script = NULL;
  g_autofree char *message = message_text ("later@example.org", "Later");
  g_autofree char *status = NULL;
  guint64 broken_id;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Broken");
  create_folder ("Other");
  generate ("INBOX", 3, SEED);
  generate ("Broken", 2, SEED + 1);
  generate ("Other", 4, SEED + 2);
  broken = folder_path ("Broken");
  script = g_strdup_printf ("cd '%s' && mv cur cur.away && printf 'not a directory' > cur", broken);
  run_writer (script);
  start ();

  ck_assert_uint_eq (stored_items ("INBOX"), 3);
  ck_assert_uint_eq (stored_items (".Other"), 4);
  broken_id = collection_id (".Broken");
  ck_assert (has_failed_collection (broken_id));
  status = g_strdup (cairn_agent_get_status_message (
                       CAIRN_AGENT (cairn_test_resource_get_resource (resource))));
  ck_assert_msg (status != NULL && strstr (status, "Broken") != NULL, "status: %s", status);
  ck_assert_int_eq (cairn_agent_get_status (
                      CAIRN_AGENT (cairn_test_resource_get_resource (resource))),
                    CAIRN_AGENT_STATUS_DEGRADED);

  /* The others are watched. */
  g_free (deliver ("INBOX", message, NULL));
  g_free (deliver ("Other", message, NULL));
  wait_until (item_count_is, &(Expectation) { .folder = "INBOX", .count = 4 }, WAIT_MS);
  wait_until (item_count_is, &(Expectation) { .folder = ".Other", .count = 5 }, WAIT_MS);

  /* Repaired, it syncs and leaves the status. */
  g_free (script);
  script = g_strdup_printf ("cd '%s' && rm cur && mv cur.away cur", broken);
  run_writer (script);
  synchronize (broken_id);
  ck_assert (!has_failed_collection (broken_id));
  ck_assert_uint_eq (stored_items (".Broken"), 2);
}
END_TEST

static char *
stored_envelope (const char *folder,
                 const char *uid)
{
  g_autoptr(CairnItem) item = find_item (folder, uid);

  ck_assert_msg (item != NULL, "%s is not stored", uid);
  return envelope_of (item);
}

static void
assert_envelope_has (const char *uid,
                     const char *line)
{
  g_autofree char *envelope = stored_envelope ("INBOX", uid);

  ck_assert_msg (strstr (envelope, line) != NULL, "%s: no “%s” in:\n%s", uid, line, envelope);
}

/* Any file that begins with a header block is a message, whatever its
 * line endings, NULs, line lengths and 8-bit text. */
START_TEST (test_reading)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  const char *config[] = { "fallback-charset", "iso-8859-7", NULL };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf (
    "cd '%s/new';"
    "printf 'X-Mailer: none of the usual\\n\\nbody\\n' > noheaders;"
    "printf 'From someone Sat Jan  1 00:00:00 2000\\nSubject: mbox line\\n\\nx\\n' > mbox;"
    "printf 'Subject: CRLF one\\r\\nMessage-ID: <crlf@example.org>\\r\\n\\r\\nbody\\r\\n' > crlf;"
    "printf 'Subject: CR only\\rMessage-ID: <cr@example.org>\\rFrom: a@example.org\\r\\rbody\\r'"
    "  > cr;"
    "printf 'Subject: with\\000nul\\nMessage-ID: <nul@example.org>\\n\\nbody\\000\\n' > nul;"
    "{ printf 'Subject: '; head -c 300000 /dev/zero | tr '\\\\000' x;"
    "  printf '\\nMessage-ID: <long@example.org>\\n\\nbody\\n'; } > long;"
    "printf 'Subject: Gr\\303\\274\\303\\237e\\nContent-Type: text/plain; charset=iso-8859-1\\n\\n'"
    "  > utf8;"
    "printf 'Subject: \\351t\\351\\nContent-Type: text/plain; charset=iso-8859-1\\n\\n' > declared;"
    "printf 'Subject: \\341\\342\\343\\n\\nbody\\n' > fallback",
    inbox);
  run_writer (script);
  start_configured (config);

  ck_assert_uint_eq (stored_items ("INBOX"), 9);
  assert_envelope_has ("mbox", "Subject: mbox line\n");
  assert_envelope_has ("crlf", "Subject: CRLF one\n");
  assert_envelope_has ("cr", "Subject: CR only\n");
  assert_envelope_has ("cr", "From: a@example.org\n");
  assert_envelope_has ("nul", "Message-ID: <nul@example.org>\n");
  assert_envelope_has ("long", "Message-ID: <long@example.org>\n");
  assert_envelope_has ("utf8", "Subject: Gr\xc3\xbc\xc3\x9f" "e\n");
  assert_envelope_has ("declared", "Subject: \xc3\xa9t\xc3\xa9\n");
  /* Greek alpha, beta, gamma: the configured fallback charset. */
  assert_envelope_has ("fallback", "Subject: \xce\xb1\xce\xb2\xce\xb3\n");
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", "cr");

    ck_assert_str_eq (cairn_item_get_gid (item), "cr@example.org");
  }
}
END_TEST

/* Decoded values are cached by raw value: the same encoded words in an
 * address field (no address in them: kept as they are) and in the
 * subject decode each their own way, the second time as the first. */
START_TEST (test_reading_repeated_values)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf (
    "cd '%s/new';"
    "for n in 1 2; do"
    "  printf 'From: =?UTF-8?Q?Ren=C3=A9_Dupont?= <rene@example.org>\n"
    "Subject: =?UTF-8?Q?Ren=C3=A9_Dupont?=\n\nx\n' > plain$n;"
    "  printf 'To: =?UTF-8?Q?Dupont=2C_Ren=C3=A9?=\n"
    "Subject: =?UTF-8?Q?Dupont=2C_Ren=C3=A9?=\n\nx\n' > comma$n;"
    "done",
    inbox);
  run_writer (script);
  start_configured (NULL);

  ck_assert_uint_eq (stored_items ("INBOX"), 4);
  for (guint n = 1; n <= 2; n++)
    {
      g_autofree char *plain = g_strdup_printf ("plain%u", n);
      g_autofree char *comma = g_strdup_printf ("comma%u", n);

      assert_envelope_has (plain, "From: Ren\xc3\xa9 Dupont <rene@example.org>\n");
      assert_envelope_has (plain, "Subject: Ren\xc3\xa9 Dupont\n");
      assert_envelope_has (comma, "To: =?UTF-8?Q?Dupont=2C_Ren=C3=A9?=\n");
      assert_envelope_has (comma, "Subject: Dupont, Ren\xc3\xa9\n");
    }
}
END_TEST

/* A flag change renames the flag letters only: the rest of the info, and
 * letters of other programs, stay. A message created through the store
 * gets its envelope, GID and size when it is written. */
START_TEST (test_rename_and_create_details)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  g_autofree char *text = message_text ("created@example.org", "Created here");
  Edit edit = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s/cur' && printf 'Subject: keep\\n\\nx\\n' > 'keep:2,S,U=12'",
                            inbox);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", "keep");

    edit.id = cairn_item_get_id (item);
  }
  edit.flag = CAIRN_FLAG_FLAGGED;
  edit.add = TRUE;
  local_write (change_flag, &edit);
  wait_replayed ();
  file = find_file ("INBOX", "keep");
  ck_assert_str_eq (file, "cur/keep:2,FS,U=12");

  edit = (Edit) { .target = collection_id ("INBOX"), .text = text, .flag = CAIRN_FLAG_SEEN };
  local_write (create_message, &edit);
  wait_replayed ();
  {
    g_autoptr(CairnItem) item = NULL;
    g_autofree char *envelope = NULL;
    GError *error = NULL;
    g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

    cairn_fetch_scope_set_all_parts (scope, TRUE);
    item = cairn_store_get_item (client, edit.id, scope, &error);
    assert_no_error (error);
    ck_assert_str_eq (cairn_item_get_gid (item), "created@example.org");
    ck_assert_uint_eq (cairn_item_get_size (item), strlen (text));
    envelope = envelope_of (item);
    ck_assert_msg (strstr (envelope, "Subject: Created here\n") != NULL, "%s", envelope);
  }
}
END_TEST

/* Two files with one unique name: the same one is the message on every
 * sync, and nothing changes from one sync to the next. */
START_TEST (test_duplicate_names)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  const char *uids[] = { "dup1", "dup2" };
  const char *kept[] = { "cur/dup1:2,S", "cur/dup2:2,RS" };
  guint64 revisions[2];

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s';"
                            "printf 'Subject: one\\n\\nx\\n' > new/dup1;"
                            "cp new/dup1 cur/dup1:2,S;"
                            "printf 'Subject: two\\n\\nx\\n' > cur/dup2:2,S;"
                            "cp cur/dup2:2,S cur/dup2:2,RS",
                            inbox);
  run_writer (script);
  start ();
  for (guint sync = 0; sync < 3; sync++)
    {
      synchronize (collection_id ("INBOX"));
      ck_assert_uint_eq (stored_items ("INBOX"), 2);
      for (guint i = 0; i < G_N_ELEMENTS (uids); i++)
        {
          g_autoptr(CairnItem) item = find_item ("INBOX", uids[i]);

          ck_assert_str_eq (cairn_item_get_remote_revision (item), kept[i]);
          if (sync > 0)
            ck_assert_uint_eq (cairn_item_get_revision (item), revisions[i]);
          revisions[i] = cairn_item_get_revision (item);
        }
    }
}
END_TEST

static char *
read_folder_file (const char *folder,
                  const char *name)
{
  g_autofree char *directory = folder_path (folder);
  g_autofree char *path = g_build_filename (directory, name, NULL);
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, NULL);
  return contents;
}

/* Keyword letters are per folder, as Dovecot keeps them: a move maps
 * them to the destination's letters, adding the keyword to its file, and
 * $Forwarded is a keyword, not the P that Dovecot ignores. A stale lock
 * of Dovecot's is overridden, and the lock is released. */
START_TEST (test_dovecot_keywords)
{
  g_autofree char *inbox = NULL;
  g_autofree char *other = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  g_autofree char *keywords = NULL;
  g_autofree char *lock = NULL;
  Edit forwarded = { 0 };
  Edit moved = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Other");
  inbox = folder_path ("INBOX");
  other = folder_path ("Other");
  script = g_strdup_printf ("cd '%s';"
                            "printf '0 $Label1\\n1 Junk\\n' > dovecot-keywords;"
                            "printf '0 Junk\\n1 Work\\n' > '%s/dovecot-keywords';"
                            "printf 'Subject: kw\\n\\nx\\n' > cur/kw:2,Sa;"
                            "printf 'Subject: pp\\n\\nx\\n' > cur/pp:2,PS;"
                            "printf '1:elsewhere' > dovecot-uidlist.lock;"
                            "touch -d '1 hour ago' dovecot-uidlist.lock",
                            inbox, other);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) kw = find_item ("INBOX", "kw");
    g_autoptr(CairnItem) pp = find_item ("INBOX", "pp");

    ck_assert (cairn_flags_contains (cairn_item_get_flags (kw), "$Label1"));
    ck_assert (!cairn_flags_contains (cairn_item_get_flags (kw), "Junk"));
    ck_assert (!cairn_flags_contains (cairn_item_get_flags (pp), "$Forwarded"));
    forwarded.id = cairn_item_get_id (pp);
    moved.id = cairn_item_get_id (kw);
  }

  forwarded.flag = "$Forwarded";
  forwarded.add = TRUE;
  local_write (change_flag, &forwarded);
  wait_replayed ();
  file = find_file ("INBOX", "pp");
  ck_assert_str_eq (file, "cur/pp:2,PSc");
  keywords = read_folder_file ("INBOX", "dovecot-keywords");
  ck_assert_str_eq (keywords, "0 $Label1\n1 Junk\n2 $Forwarded\n");
  lock = g_build_filename (inbox, "dovecot-uidlist.lock", NULL);
  ck_assert (!g_file_test (lock, G_FILE_TEST_EXISTS));

  forwarded.add = FALSE;
  local_write (change_flag, &forwarded);
  moved.target = collection_id (".Other");
  local_write (move_message, &moved);
  wait_replayed ();
  g_free (file);
  file = find_file ("INBOX", "pp");
  ck_assert_str_eq (file, "cur/pp:2,PS");
  g_free (file);
  file = find_file ("Other", "kw");
  ck_assert_str_eq (file, "cur/kw:2,Sc");
  g_free (keywords);
  keywords = read_folder_file ("Other", "dovecot-keywords");
  ck_assert_str_eq (keywords, "0 Junk\n1 Work\n2 $Label1\n");
  synchronize (collection_id (".Other"));
  {
    g_autoptr(CairnItem) kw = find_item (".Other", "kw");

    ck_assert (cairn_flags_contains (cairn_item_get_flags (kw), "$Label1"));
    ck_assert (!cairn_flags_contains (cairn_item_get_flags (kw), "Junk"));
  }
}
END_TEST

static CairnItem *
get_item (guint64 id)
{
  GError *error = NULL;
  CairnItem *item = cairn_store_get_item (client, id, NULL, &error);

  assert_no_error (error);
  return item;
}

static void
assert_item_flags (guint64     id,
                   const char *expected)
{
  g_autoptr(CairnItem) item = get_item (id);
  g_autofree char *flags = cairn_flags_to_string (cairn_item_get_flags (item));

  ck_assert_str_eq (flags, expected);
}

/* Another program (Dovecot) gives two messages a keyword, renaming them,
 * while the store has not read the new names; then a local flag change
 * of one and a local move of the other are replayed, renaming them
 * again. The store must still learn the keyword: the sequence behind a
 * failure of the 30-second Dovecot test, where the store recorded the
 * names it gave the files as names it had read. */
START_TEST (test_replay_after_other_rename)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  Edit flagged = { 0 };
  Edit moved = { 0 };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Other");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s';"
                            "printf 'Subject: a\n\nx\n' > cur/a:2,S;"
                            "printf 'Subject: b\n\nx\n' > cur/b:2,S",
                            inbox);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) a = find_item ("INBOX", "a");
    g_autoptr(CairnItem) b = find_item ("INBOX", "b");

    flagged = (Edit) { .id = cairn_item_get_id (a), .flag = CAIRN_FLAG_FLAGGED, .add = TRUE };
    moved = (Edit) { .id = cairn_item_get_id (b), .target = collection_id (".Other") };
  }

  /* Offline, nothing is synchronized or replayed until both happened. */
  set_online (FALSE);
  g_free (script);
  script = g_strdup_printf ("cd '%s';"
                            "printf '0 Work\n' > dovecot-keywords;"
                            "mv cur/a:2,S cur/a:2,Sa;"
                            "mv cur/b:2,S cur/b:2,Sa",
                            inbox);
  run_writer (script);
  local_write (change_flag, &flagged);
  local_write (move_message, &moved);
  set_online (TRUE);
  wait_replayed ();
  file = find_file ("INBOX", "a");
  ck_assert_str_eq (file, "cur/a:2,FSa");
  g_free (file);
  file = find_file ("Other", "b");
  ck_assert_str_eq (file, "cur/b:2,Sa");

  synchronize (collection_id ("INBOX"));
  synchronize (collection_id (".Other"));
  assert_item_flags (flagged.id, "Work \\Flagged \\Seen");
  assert_item_flags (moved.id, "Work \\Seen");
}
END_TEST

/* A message moved into a folder that holds a file of its unique name (a
 * copy Dovecot made keeps the name) is moved, under a name of its own,
 * and the store knows both. One moved there and back before its replay
 * is where it was, under its name. */
START_TEST (test_move_onto_twin)
{
  g_autofree char *inbox = NULL;
  g_autofree char *other = NULL;
  g_autofree char *script = NULL;
  g_autofree char *file = NULL;
  g_autofree char *twin = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *expected = NULL;
  Edit moved = { 0 };
  Edit back = { 0 };
  guint64 copy;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Other");
  inbox = folder_path ("INBOX");
  other = folder_path ("Other");
  script = g_strdup_printf ("cd '%s';"
                            "printf 'Subject: twin\n\nx\n' > cur/twin:2,S;"
                            "printf 'Subject: back\n\nx\n' > cur/back:2,S;"
                            "cp cur/twin:2,S '%s/cur/twin:2,FS';"
                            "cp cur/back:2,S '%s/cur/back:2,S'",
                            inbox, other, other);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", "twin");
    g_autoptr(CairnItem) other_copy = find_item (".Other", "twin");
    g_autoptr(CairnItem) back_item = find_item ("INBOX", "back");

    moved = (Edit) { .id = cairn_item_get_id (item), .target = collection_id (".Other") };
    back = (Edit) { .id = cairn_item_get_id (back_item), .target = collection_id (".Other") };
    copy = cairn_item_get_id (other_copy);
  }

  local_write (move_message, &moved);
  wait_replayed ();
  twin = g_strdup_printf ("twin.cairn%" G_GUINT64_FORMAT, moved.id);
  remote_id = stored_remote_id (moved.id);
  ck_assert_str_eq (remote_id, twin);
  file = find_file ("Other", twin);
  expected = g_strconcat ("cur/", twin, ":2,S", NULL);
  ck_assert_str_eq (file, expected);
  g_free (file);
  file = find_file ("Other", "twin");
  ck_assert_str_eq (file, "cur/twin:2,FS");
  ck_assert_uint_eq (count_files ("INBOX"), 1);
  g_free (remote_id);
  remote_id = stored_remote_id (copy);
  ck_assert_str_eq (remote_id, "twin");
  for (guint sync = 0; sync < 2; sync++)
    {
      synchronize (collection_id (".Other"));
      ck_assert_uint_eq (stored_items (".Other"), 3);
      assert_item_flags (moved.id, "\\Seen");
      assert_item_flags (copy, "\\Flagged \\Seen");
    }

  /* There and back while offline: the resource never sees either move. */
  set_online (FALSE);
  local_write (move_message, &back);
  back.target = collection_id ("INBOX");
  local_write (move_message, &back);
  set_online (TRUE);
  wait_replayed ();
  g_free (remote_id);
  remote_id = stored_remote_id (back.id);
  ck_assert_str_eq (remote_id, "back");
  g_free (file);
  file = find_file ("INBOX", "back");
  ck_assert_str_eq (file, "cur/back:2,S");
  g_free (file);
  file = find_file ("Other", "back");
  ck_assert_str_eq (file, "cur/back:2,S");
  synchronize (collection_id ("INBOX"));
  ck_assert_uint_eq (stored_items ("INBOX"), 1);
  ck_assert_uint_eq (stored_items (".Other"), 3);
}
END_TEST

static void
collect_message (const char     *log_domain,
                 GLogLevelFlags  log_level,
                 const char     *message,
                 gpointer        user_data)
{
  g_ptr_array_add (user_data, g_strdup (message));
}

/* How many of @messages begin with "Skipped " and hold @what. */
static guint
count_skipped (GPtrArray  *messages,
               const char *what)
{
  guint n = 0;

  for (guint i = 0; i < messages->len; i++)
    {
      const char *message = g_ptr_array_index (messages, i);

      if (g_str_has_prefix (message, "Skipped ") && strstr (message, what) != NULL)
        n++;
    }
  return n;
}

/* Every file or folder skipped is logged once, with why, however often
 * it is met again; a name cannot forge a log line. */
START_TEST (test_skipped_logged_once)
{
  g_autofree char *inbox = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *script = NULL;
  g_autofree char *good = message_text ("good@example.org", "Good");
  g_autofree char *later = message_text ("later@example.org", "Later");
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  const char *skipped[] = { "binary", "new/empty", "new/prose", "bad\\nname", "passwd-link",
                            "a-directory", ".Escape", "new/dup" };
  guint handler;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  g_free (deliver ("INBOX", good, "S"));
  inbox = folder_path ("INBOX");
  outside = g_build_filename (cairn_test_environment_get_path (environment), "Elsewhere", NULL);
  ck_assert_int_eq (g_mkdir_with_parents (outside, 0700), 0);
  script = g_strdup_printf ("cd '%s';"
                            "{ printf '\\000\\377'; head -c 3000 /dev/urandom; } > cur/binary:2,S;"
                            ": > new/empty;"
                            "printf 'no header here\\n\\nbody\\n' > new/prose;"
                            "printf 'Subject: nl\\n\\nx\\n' > \"new/$(printf 'bad\\nname')\";"
                            "ln -s /etc/passwd new/passwd-link;"
                            "mkdir cur/a-directory;"
                            "printf 'Subject: dup\\n\\nx\\n' > new/dup;"
                            "cp new/dup cur/dup:2,S;"
                            "ln -s '%s' .Escape",
                            inbox, outside);
  run_writer (script);
  handler = g_log_set_handler ("CairnMaildir", G_LOG_LEVEL_MESSAGE, collect_message, messages);
  start ();
  for (guint sync = 0; sync < 3; sync++)
    {
      synchronize (collection_id ("INBOX"));
      synchronize (0);
    }
  g_free (deliver ("INBOX", later, NULL));
  wait_until (item_count_is, &(Expectation) { .folder = "INBOX", .count = 3 }, WAIT_MS);
  g_log_remove_handler ("CairnMaildir", handler);

  for (guint i = 0; i < G_N_ELEMENTS (skipped); i++)
    ck_assert_msg (count_skipped (messages, skipped[i]) == 1, "%s logged %u times", skipped[i],
                   count_skipped (messages, skipped[i]));
  for (guint i = 0; i < messages->len; i++)
    ck_assert_msg (strchr (g_ptr_array_index (messages, i), '\n') == NULL, "a line is forged: %s",
                   (const char *) g_ptr_array_index (messages, i));
}
END_TEST

/* Dovecot's lock held by a live process is waited for, never taken: the
 * keyword is written once the holder is gone. */
START_TEST (test_live_dovecot_lock)
{
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *lock = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *held = NULL;
  g_autofree char *file = NULL;
  g_autofree char *keywords = NULL;
  const char *argv[] = { "/bin/sleep", "600", NULL };
  GError *error = NULL;
  Edit edit = { 0 };
  gint64 start_time;
  GPid holder;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("cd '%s' && printf 'Subject: kw\\n\\nx\\n' > cur/kw:2,S", inbox);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", "kw");

    edit = (Edit) { .id = cairn_item_get_id (item), .flag = "Work", .add = TRUE };
  }

  ck_assert (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                            &holder, &error));
  assert_no_error (error);
  lock = g_build_filename (inbox, "dovecot-uidlist.lock", NULL);
  owner = g_strdup_printf ("%d:%s", (int) holder, g_get_host_name ());
  ck_assert (g_file_set_contents (lock, owner, -1, NULL));

  /* Two attempts at least, each waiting two seconds for the lock. */
  local_write (change_flag, &edit);
  start_time = g_get_monotonic_time ();
  while (g_get_monotonic_time () - start_time < 5 * G_USEC_PER_SEC)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
  file = find_file ("INBOX", "kw");
  ck_assert_str_eq (file, "cur/kw:2,S");
  ck_assert (g_file_get_contents (lock, &held, NULL, NULL));
  ck_assert_str_eq (held, owner);
  keywords = read_folder_file ("INBOX", "dovecot-keywords");
  ck_assert_ptr_null (keywords);

  /* Gone, the holder holds nothing: the lock is overridden. */
  kill (holder, SIGTERM);
  waitpid (holder, NULL, 0);
  g_spawn_close_pid (holder);
  wait_replayed ();
  g_free (file);
  file = find_file ("INBOX", "kw");
  ck_assert_str_eq (file, "cur/kw:2,Sa");
  keywords = read_folder_file ("INBOX", "dovecot-keywords");
  ck_assert_str_eq (keywords, "0 Work\n");
  ck_assert (!g_file_test (lock, G_FILE_TEST_EXISTS));
}
END_TEST

/* Folder names in Dovecot's modified UTF-7 are shown decoded, and new
 * folders are written so. */
START_TEST (test_folder_names_utf7)
{
  g_autofree char *created = NULL;

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("Gr&APYA3w-e");
  create_folder ("AT&-T");
  start ();
  {
    g_autoptr(CairnCollection) decoded = find_collection (".Gr&APYA3w-e");
    g_autoptr(CairnCollection) ampersand = find_collection (".AT&-T");

    ck_assert_str_eq (cairn_collection_get_name (decoded), "Gr\xc3\xb6\xc3\x9f" "e");
    ck_assert_str_eq (cairn_collection_get_name (ampersand), "AT&T");
  }
  local_create_folder ("Caf\xc3\xa9 \xe2\x82\xac", 0);
  wait_replayed ();
  created = g_build_filename (root, ".Caf&AOk- &IKw-", NULL);
  ck_assert_msg (g_file_test (created, G_FILE_TEST_IS_DIR), "%s is missing", created);
}
END_TEST

/* A flag change that follows a message another program moved finds it
 * only inside the root: moved out through a folder whose cur/ is a link,
 * the message is left alone out there, as a removed one is. */
START_TEST (test_follow_stays_inside)
{
  g_autofree char *outside = g_build_filename (cairn_test_environment_get_path (environment),
                                               "Outside", NULL);
  g_autofree char *text = message_text ("escaped@example.org", "Escaped");
  g_autofree char *uid = NULL;
  g_autofree char *inbox = NULL;
  g_autofree char *script = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  Edit edit = { .flag = CAIRN_FLAG_FLAGGED, .add = TRUE };

  make_maildir (CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  create_folder ("INBOX");
  create_folder ("CurLink");
  uid = deliver ("INBOX", text, "");
  inbox = folder_path ("INBOX");
  script = g_strdup_printf ("mkdir -p '%1$s/cur' '%1$s/new' '%1$s/tmp'; cd '%2$s';"
                            "ln -s '%1$s' .Linked;"
                            "rm -r .CurLink/cur && ln -s '%1$s/cur' .CurLink/cur", outside, inbox);
  run_writer (script);
  start ();
  {
    g_autoptr(CairnItem) item = find_item ("INBOX", uid);
    edit.id = cairn_item_get_id (item);
  }
  set_online (FALSE);
  local_write (change_flag, &edit);
  g_free (script);
  script = g_strdup_printf ("cd '%s'; mv 'cur/%s:2,' .CurLink/cur/", inbox, uid);
  run_writer (script);
  before = tree_checksum (outside);
  set_online (TRUE);
  wait_replayed ();
  synchronize (0);
  after = tree_checksum (outside);
  ck_assert_str_eq (before, after);
  ck_assert_uint_eq (stored_items ("INBOX"), 0);
  ck_assert_uint_eq (count_failed_changes (), 0);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "sync", test_initial_sync },
    { "sync", test_fs_layout },
    { "events", test_external_changes },
    { "events", test_concurrent_writer },
    { "events", test_event_overflow },
    { "replay", test_replay_items },
    { "replay", test_replay_folders },
    { "replay", test_offline },
    { "replay", test_kill_during_replay },
    { "replay", test_sync_before_folder_removal_replayed },
    { "replay", test_replay_each_change_waited_for },
    { "replay", test_read_only },
    { "replay", test_replay_flags_then_edit },
    { "replay", test_replay_flags_follow_moved_message },
    { "replay", test_replay_edit_keeps_other_flags },
    { "replay", test_replay_move_follows_moved_message },
    { "replay", test_replay_edit_of_moved_message },
    { "replay", test_replay_folder_rename_paths },
    { "replay", test_replay_rename_then_remove_child },
    { "replay", test_replay_create_after_edit },
    { "replay", test_replay_move_removed_folder },
    { "replay", test_replay_move_removed_folder_with_child },
    { "replay", test_replay_move_out_of_folder_moved_then_removed },
    { "safety", test_hostile_files },
    { "safety", test_hostile_names },
    { "safety", test_confinement },
    { "safety", test_follow_stays_inside },
    { "safety", test_unreadable_folder },
    { "safety", test_skipped_logged_once },
    { "reading", test_reading },
    { "reading", test_reading_repeated_values },
    { "reading", test_rename_and_create_details },
    { "reading", test_duplicate_names },
    { "dovecot", test_dovecot_keywords },
    { "dovecot", test_folder_names_utf7 },
    { "dovecot", test_replay_after_other_rename },
    { "dovecot", test_move_onto_twin },
    { "dovecot", test_live_dovecot_lock },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("maildir", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 300));
}
