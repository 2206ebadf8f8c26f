/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdio.h>
#include <gmime/gmime.h>

#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

#define SEED 2026
#define N_GENERATED 300

/* The environment only lends its temporary folder, removed at teardown. */
static CairnTestEnvironment *environment;
static char *root;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  assert_no_error (error);
  root = g_build_filename (cairn_test_environment_get_path (environment), "Mail", NULL);
}

static void
teardown (void)
{
  g_clear_pointer (&root, g_free);
  g_clear_object (&environment);
}

static char *
child_path (const char *folder,
            const char *name)
{
  return g_build_filename (folder, name, NULL);
}

static void
assert_is_maildir (const char *path)
{
  for (const char * const *sub = (const char * const []) { "cur", "new", "tmp", NULL };
       *sub != NULL; sub++)
    {
      g_autofree char *subfolder = child_path (path, *sub);

      ck_assert_msg (g_file_test (subfolder, G_FILE_TEST_IS_DIR), "%s is missing", subfolder);
    }
}

static guint
count_files (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint count = 0;

  ck_assert_ptr_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

/* TIME.MusecPpidQn.HOST, with :2,INFO in cur/ (letters sorted, once). */
static void
assert_valid_name (const char *name,
                   gboolean    in_cur)
{
  g_autoptr(GRegex) unique = g_regex_new ("^[0-9]+\\.M[0-9]{6}P[0-9]+Q[0-9]+\\.[^/:]+$", 0, 0,
                                          NULL);
  g_autofree char *base = g_strdup (name);
  char *info = strstr (base, ":2,");

  ck_assert_msg ((info != NULL) == in_cur, "%s has the wrong info for its folder", name);
  if (info != NULL)
    {
      *info = '\0';
      info += 3;
      for (const char *c = info; *c != '\0'; c++)
        {
          ck_assert_msg (strchr ("DFPRST", *c) != NULL, "%s has an unknown flag", name);
          ck_assert_msg (c == info || c[-1] < c[0], "%s has unsorted flags", name);
        }
    }
  ck_assert_msg (g_regex_match (unique, base, 0, NULL), "%s is not a unique name", name);
}

START_TEST (test_maildirpp_layout)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  g_autofree char *inbox = cairn_test_maildir_get_folder_path (maildir, "INBOX");
  g_autofree char *nested = cairn_test_maildir_get_folder_path (maildir, "Lists/GNOME");
  g_autofree char *expected = child_path (root, ".Lists.GNOME");
  g_autofree char *marker = child_path (nested, "maildirfolder");
  g_autofree char *inbox_marker = child_path (inbox, "maildirfolder");
  GError *error = NULL;

  ck_assert_str_eq (inbox, root);
  ck_assert_str_eq (nested, expected);
  ck_assert_str_eq (cairn_test_maildir_get_root (maildir), root);
  ck_assert_int_eq (cairn_test_maildir_get_layout (maildir), CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);

  /* A sub-folder brings INBOX with it: in Maildir++ the root is INBOX. */
  ck_assert (cairn_test_maildir_create_folder (maildir, "Lists/GNOME", &error));
  assert_no_error (error);
  assert_is_maildir (nested);
  assert_is_maildir (inbox);
  ck_assert (g_file_test (marker, G_FILE_TEST_IS_REGULAR));
  ck_assert (!g_file_test (inbox_marker, G_FILE_TEST_EXISTS));

  /* Creating it again is harmless. */
  ck_assert (cairn_test_maildir_create_folder (maildir, "Lists/GNOME", &error));
  assert_no_error (error);
}
END_TEST

/* A folder removed goes with its messages; its parent and INBOX stay. */
START_TEST (test_remove_folder)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  g_autofree char *lists = cairn_test_maildir_get_folder_path (maildir, "Lists");
  g_autofree char *nested = cairn_test_maildir_get_folder_path (maildir, "Lists/GNOME");
  g_autoptr(GBytes) message = cairn_test_maildir_build_message (1, 1);
  g_autofree char *uid = NULL;
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, "Lists", &error));
  ck_assert (cairn_test_maildir_create_folder (maildir, "Lists/GNOME", &error));
  assert_no_error (error);
  uid = cairn_test_maildir_deliver (maildir, "Lists/GNOME", message, "S", &error);
  assert_no_error (error);

  ck_assert (cairn_test_maildir_remove_folder (maildir, "Lists/GNOME", &error));
  assert_no_error (error);
  ck_assert (!g_file_test (nested, G_FILE_TEST_EXISTS));
  assert_is_maildir (lists);
  assert_is_maildir (root);
}
END_TEST

START_TEST (test_fs_layout)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_FS);
  g_autofree char *nested = cairn_test_maildir_get_folder_path (maildir, "Archiv/Grüße");
  g_autofree char *parent = child_path (root, "Archiv");
  g_autofree char *expected = child_path (parent, "Grüße");
  g_autofree char *marker = child_path (nested, "maildirfolder");
  g_autofree char *parent_cur = child_path (parent, "cur");
  g_autofree char *root_cur = child_path (root, "cur");
  GError *error = NULL;

  ck_assert_str_eq (nested, expected);
  ck_assert (cairn_test_maildir_create_folder (maildir, "Archiv/Grüße", &error));
  assert_no_error (error);
  assert_is_maildir (nested);
  ck_assert (!g_file_test (marker, G_FILE_TEST_EXISTS));
  /* Parents are plain directories, and the root is no INBOX until asked. */
  ck_assert (g_file_test (parent, G_FILE_TEST_IS_DIR));
  ck_assert (!g_file_test (parent_cur, G_FILE_TEST_EXISTS));
  ck_assert (!g_file_test (root_cur, G_FILE_TEST_EXISTS));

  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  assert_no_error (error);
  assert_is_maildir (root);
}
END_TEST

START_TEST (test_deliver)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  g_autoptr(GBytes) message = cairn_test_maildir_build_message (SEED, 0);
  g_autofree char *folder = cairn_test_maildir_get_folder_path (maildir, "Sent");
  g_autofree char *new_folder = child_path (folder, "new");
  g_autofree char *tmp_folder = child_path (folder, "tmp");
  g_autofree char *unseen = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *unseen_path = NULL;
  g_autofree char *seen_path = NULL;
  g_autofree char *plain_path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GError *error = NULL;

  ck_assert (cairn_test_maildir_create_folder (maildir, "Sent", &error));
  assert_no_error (error);

  unseen = cairn_test_maildir_deliver (maildir, "Sent", message, NULL, &error);
  assert_no_error (error);
  seen = cairn_test_maildir_deliver (maildir, "Sent", message, "SFSR", &error);
  assert_no_error (error);
  plain = cairn_test_maildir_deliver (maildir, "Sent", message, "", &error);
  assert_no_error (error);
  ck_assert_str_ne (unseen, seen);
  ck_assert_str_ne (seen, plain);
  assert_valid_name (unseen, FALSE);

  unseen_path = g_strdup_printf ("%s/new/%s", folder, unseen);
  seen_path = g_strdup_printf ("%s/cur/%s:2,FRS", folder, seen);
  plain_path = g_strdup_printf ("%s/cur/%s:2,", folder, plain);
  ck_assert (g_file_test (seen_path, G_FILE_TEST_IS_REGULAR));
  ck_assert (g_file_test (plain_path, G_FILE_TEST_IS_REGULAR));
  ck_assert (g_file_get_contents (unseen_path, &contents, &length, &error));
  assert_no_error (error);
  ck_assert_mem_eq (contents, g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  ck_assert_uint_eq (length, g_bytes_get_size (message));
  ck_assert_uint_eq (count_files (new_folder), 1);
  ck_assert_uint_eq (count_files (tmp_folder), 0);

  /* A folder that does not exist is an error, not a crash. */
  ck_assert_ptr_null (cairn_test_maildir_deliver (maildir, "Missing", message, NULL, &error));
  ck_assert (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  g_clear_error (&error);
}
END_TEST

START_TEST (test_generate)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_FS);
  g_autofree char *folder = cairn_test_maildir_get_folder_path (maildir, "Lists/GNOME");
  g_autofree char *new_folder = child_path (folder, "new");
  g_autofree char *cur_folder = child_path (folder, "cur");
  g_autofree char *tmp_folder = child_path (folder, "tmp");
  g_autoptr(GDir) cur = NULL;
  guint n_new;
  guint n_cur = 0;
  guint unread;
  guint flagged = 0;
  guint answered = 0;
  const char *name;
  GError *error = NULL;

  ck_assert (cairn_test_maildir_generate (maildir, "Lists/GNOME", N_GENERATED, SEED, &error));
  assert_no_error (error);

  n_new = count_files (new_folder);
  unread = n_new;
  ck_assert_uint_eq (count_files (tmp_folder), 0);
  cur = g_dir_open (cur_folder, 0, NULL);
  while ((name = g_dir_read_name (cur)) != NULL)
    {
      const char *info = strstr (name, ":2,");

      assert_valid_name (name, TRUE);
      n_cur++;
      unread += strchr (info, 'S') == NULL;
      flagged += strchr (info, 'F') != NULL;
      answered += strchr (info, 'R') != NULL;
    }

  ck_assert_uint_eq (n_new + n_cur, N_GENERATED);
  ck_assert_uint_gt (n_new, 0);
  /* About a third unread, a few flagged and answered. */
  ck_assert_uint_gt (unread, N_GENERATED / 5);
  ck_assert_uint_lt (unread, N_GENERATED / 2);
  ck_assert_uint_gt (flagged, 0);
  ck_assert_uint_gt (answered, 0);
  {
    g_autoptr(GDir) news = g_dir_open (new_folder, 0, NULL);

    while ((name = g_dir_read_name (news)) != NULL)
      assert_valid_name (name, FALSE);
  }
}
END_TEST

static GMimeMessage *
parse (GBytes *bytes)
{
  g_autoptr(GMimeStream) stream =
    g_mime_stream_mem_new_with_buffer (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autoptr(GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  ck_assert_ptr_nonnull (message);
  return message;
}

static char *
decoded_address (InternetAddressList *list)
{
  InternetAddress *address;

  ck_assert_int_eq (internet_address_list_length (list), 1);
  address = internet_address_list_get_address (list, 0);
  return g_strdup_printf ("%s <%s>", internet_address_get_name (address),
                          internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
}

/* What GMime reads is what cairn_test_maildir_get_header() promises. */
static void
assert_headers (GMimeMessage *message,
                guint         n,
                gboolean     *replies)
{
  g_autofree char *subject = cairn_test_maildir_get_header (SEED, n, "subject");
  g_autofree char *from = cairn_test_maildir_get_header (SEED, n, "From");
  g_autofree char *to = cairn_test_maildir_get_header (SEED, n, "To");
  g_autofree char *cc = cairn_test_maildir_get_header (SEED, n, "Cc");
  g_autofree char *id = cairn_test_maildir_get_header (SEED, n, "Message-ID");
  g_autofree char *date = cairn_test_maildir_get_header (SEED, n, "Date");
  g_autofree char *in_reply_to = cairn_test_maildir_get_header (SEED, n, "In-Reply-To");
  g_autofree char *references = cairn_test_maildir_get_header (SEED, n, "References");
  g_autofree char *parsed_from = decoded_address (g_mime_message_get_from (message));
  g_autofree char *parsed_to = decoded_address (g_mime_message_get_to (message));
  g_autofree char *bare_id = g_strndup (id + 1, strlen (id) - 2);
  g_autoptr(GDateTime) expected_date = g_mime_utils_header_decode_date (date);
  InternetAddressList *parsed_cc = g_mime_message_get_cc (message);

  ck_assert_str_eq (g_mime_message_get_subject (message), subject);
  ck_assert_str_eq (parsed_from, from);
  ck_assert_str_eq (parsed_to, to);
  if (cc != NULL)
    {
      g_autofree char *decoded_cc = decoded_address (parsed_cc);

      ck_assert_str_eq (decoded_cc, cc);
    }
  else
    ck_assert_int_eq (internet_address_list_length (parsed_cc), 0);
  ck_assert_str_eq (g_mime_message_get_message_id (message), bare_id);
  ck_assert_ptr_nonnull (expected_date);
  ck_assert (g_date_time_equal (g_mime_message_get_date (message), expected_date));
  ck_assert_str_eq (g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To") ?: "",
                    in_reply_to ?: "");

  if (references != NULL)
    {
      g_auto(GStrv) ids = g_strsplit (references, " ", -1);
      guint length = g_strv_length (ids);
      g_autofree char *root_subject = NULL;
      guint first;

      /* The thread: the parent is the last reference, the root the first,
       * both earlier messages of the same sequence. */
      ck_assert_str_eq (ids[length - 1], in_reply_to);
      ck_assert_int_eq (sscanf (ids[0], "<%u.", &first), 1);
      ck_assert_uint_lt (first, n);
      root_subject = cairn_test_maildir_get_header (SEED, first, "Subject");
      ck_assert_str_eq (subject + strlen ("Re: "), root_subject);
      *replies = TRUE;
    }
}

START_TEST (test_messages)
{
  gboolean replies = FALSE;
  gboolean attachments = FALSE;
  gboolean german = FALSE;
  gboolean japanese = FALSE;
  gint64 last_date = 0;

  g_mime_init ();
  for (guint n = 0; n < N_GENERATED; n++)
    {
      g_autoptr(GBytes) bytes = cairn_test_maildir_build_message (SEED, n);
      g_autoptr(GBytes) again = cairn_test_maildir_build_message (SEED, n);
      g_autoptr(GMimeMessage) message = parse (bytes);
      GMimeObject *body = g_mime_message_get_mime_part (message);
      const char *subject = g_mime_message_get_subject (message);

      ck_assert (g_bytes_equal (bytes, again));
      assert_headers (message, n, &replies);
      german |= strstr (subject, "Grüße") != NULL;
      japanese |= strstr (subject, "日本語") != NULL;
      ck_assert_int_gt (g_date_time_to_unix (g_mime_message_get_date (message)), last_date);
      last_date = g_date_time_to_unix (g_mime_message_get_date (message));

      if (GMIME_IS_MULTIPART (body))
        {
          GMimeObject *attachment = g_mime_multipart_get_part (GMIME_MULTIPART (body), 1);
          g_autoptr(GMimeStream) decoded = g_mime_stream_mem_new ();

          ck_assert (GMIME_IS_PART (attachment));
          ck_assert (g_mime_part_is_attachment (GMIME_PART (attachment)));
          ck_assert_int_gt (g_mime_data_wrapper_write_to_stream (
                              g_mime_part_get_content (GMIME_PART (attachment)), decoded), 0);
          ck_assert_uint_ge (g_mime_stream_length (decoded), 512);
          attachments = TRUE;
        }
    }
  ck_assert (replies);
  ck_assert (attachments);
  ck_assert (german);
  ck_assert (japanese);
  g_mime_shutdown ();
}
END_TEST

START_TEST (test_seeds_differ)
{
  g_autofree char *one = cairn_test_maildir_get_header (1, 5, "Message-ID");
  g_autofree char *two = cairn_test_maildir_get_header (2, 5, "Message-ID");

  ck_assert_str_ne (one, two);
  ck_assert_ptr_null (cairn_test_maildir_get_header (1, 0, "In-Reply-To"));
  ck_assert_ptr_null (cairn_test_maildir_get_header (1, 0, "X-Unknown"));
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "folders", test_maildirpp_layout },
    { "folders", test_fs_layout },
    { "folders", test_remove_folder },
    { "delivery", test_deliver },
    { "delivery", test_generate },
    { "messages", test_messages },
    { "messages", test_seeds_differ },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("maildir-generator", cases,
                                                     G_N_ELEMENTS (cases), setup, teardown, 60));
}
