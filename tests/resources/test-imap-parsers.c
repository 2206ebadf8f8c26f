/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the IMAP resource makes of hostile input from the server and the
 * store, without a server: UID sets, fingerprints, flag names, hosts,
 * modified UTF-7 folder names, header blocks and dates. */
#include <check.h>
#include <string.h>
#include <gmime/gmime.h>

#include "cairn-imap-connection-private.h"
#include "cairn-mail-header-private.h"
#include "cairn-test-suite.h"

static void
setup (void)
{
}

static void
teardown (void)
{
}

START_TEST (test_uid_sets)
{
  guint32 sorted[] = { 1, 2, 3, 5, 5, 7, 8 };
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  struct mailimap_set *set;
  g_autofree char *text = NULL;
  g_autoptr(GArray) expanded = NULL;

  g_array_append_vals (uids, sorted, G_N_ELEMENTS (sorted));
  set = cairn_imap_uid_set_new (uids);
  text = cairn_imap_uid_set_to_string (set);
  ck_assert_str_eq (text, "1:3,5,7:8");
  mailimap_set_free (set);

  /* A server's 1:4294967295 is cut at the limit, "*" is no UID. */
  set = mailimap_set_new_interval (1, G_MAXUINT32);
  mailimap_set_add_interval (set, 0, 0);
  expanded = cairn_imap_uid_set_expand (set, 10);
  ck_assert_uint_eq (expanded->len, 10);
  ck_assert_uint_eq (g_array_index (expanded, guint32, 9), 10);
  mailimap_set_free (set);
  g_clear_pointer (&expanded, g_array_unref);
  expanded = cairn_imap_uid_set_expand (NULL, 10);
  ck_assert_uint_eq (expanded->len, 0);
}
END_TEST

START_TEST (test_fingerprints)
{
  const guint8 der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
  g_autofree char *fingerprint = cairn_imap_fingerprint (der, sizeof der);

  ck_assert_uint_eq (strlen (fingerprint), 32 * 3 - 1);
  ck_assert (cairn_imap_fingerprint_equal (fingerprint, fingerprint));
  {
    g_autofree char *lower = g_ascii_strdown (fingerprint, -1);
    g_autoptr(GString) bare = g_string_new (NULL);

    for (const char *p = fingerprint; *p != '\0'; p++)
      if (*p != ':')
        g_string_append_c (bare, *p);
    ck_assert (cairn_imap_fingerprint_equal (lower, fingerprint));
    ck_assert (cairn_imap_fingerprint_equal (bare->str, fingerprint));
    g_string_truncate (bare, bare->len - 1);
    ck_assert (!cairn_imap_fingerprint_equal (bare->str, fingerprint));
  }
  ck_assert (!cairn_imap_fingerprint_equal ("", fingerprint));
  ck_assert (!cairn_imap_fingerprint_equal ("zz", "ZZ:00"));
}
END_TEST

START_TEST (test_flag_names)
{
  const char *names[] = { CAIRN_FLAG_SEEN, "$Label1", "x(y", "q\"uote", "\\Recent", "\\*",
                          "\\Bogus(", "caf\xc3\xa9", "per%cent", NULL };
  g_autoptr(CairnFlags) flags = cairn_flags_new_from_strv (names);
  struct mailimap_flag_list *list = cairn_imap_flag_list_new (flags);

  /* Only \Seen and $Label1 are atoms IMAP can carry. */
  ck_assert_int_eq (clist_count (list->fl_list), 2);
  mailimap_flag_list_free (list);
}
END_TEST

START_TEST (test_loopback)
{
  ck_assert (cairn_imap_host_is_loopback ("127.0.0.1"));
  ck_assert (cairn_imap_host_is_loopback ("127.3.2.1"));
  ck_assert (cairn_imap_host_is_loopback ("::1"));
  ck_assert (cairn_imap_host_is_loopback ("localhost"));
  ck_assert (!cairn_imap_host_is_loopback ("127.0.0.1.example.org"));
  ck_assert (!cairn_imap_host_is_loopback ("localhost.example.org"));
  ck_assert (!cairn_imap_host_is_loopback ("10.0.0.1"));
  ck_assert (!cairn_imap_host_is_loopback (""));
}
END_TEST

START_TEST (test_folder_names)
{
  const char *refused[] = { "&", "&AGE-", "&2D0-", "&A?-", "&AP", "caf\xc3\xa9", "a\tb", NULL };
  g_autoptr(GString) long_name = g_string_new (NULL);
  g_autofree char *decoded = NULL;

  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autofree char *name = cairn_mail_mutf7_decode (refused[i]);

      ck_assert_msg (name == NULL, "%s decoded as %s", refused[i], name);
    }
  decoded = cairn_mail_mutf7_decode ("Gr&APwA3w-e &- &2D3eAA-");
  ck_assert_str_eq (decoded, "Gr\u00fc\u00dfe & \U0001F600");
  for (guint i = 0; i < 10000; i++)
    g_string_append (long_name, "&APw-");
  g_clear_pointer (&decoded, g_free);
  decoded = cairn_mail_mutf7_decode (long_name->str);
  ck_assert (decoded != NULL && g_utf8_validate (decoded, -1, NULL));
}
END_TEST

START_TEST (test_header_blocks)
{
  static const char with_nul[] = "Subject: a\0b\r\nFrom: \xff\xfe <x@y>\r\n\r\n";
  const char *blocks[] = {
    "",
    "no colon at all\n\n",
    with_nul,
    "Subject: =?utf-8?B?////?= =?bogus?Q?x?=\n\n",
    "From: ((((((((((\nTo: <<<<@@@@>>>>\n",
    " folded first\nSubject: x\n",
  };
  g_autoptr(GString) huge = g_string_new ("Subject: ");

  for (guint i = 0; i < 100000; i++)
    g_string_append (huge, "\n x");
  for (guint i = 0; i <= G_N_ELEMENTS (blocks); i++)
    {
      const char *data = i < G_N_ELEMENTS (blocks) ? blocks[i] : huge->str;
      gsize length = i == 2 ? sizeof with_nul - 1 : strlen (data);
      g_autoptr(GByteArray) block = g_byte_array_new ();
      g_autofree char *envelope = NULL;
      g_autofree char *message_id = NULL;

      g_byte_array_append (block, (const guint8 *) data, length);
      envelope = cairn_mail_header_read_envelope (block, "windows-1252", &message_id);
      ck_assert (envelope != NULL && g_utf8_validate (envelope, -1, NULL));
      for (const char *line = envelope; *line != '\0'; line = strchr (line, '\n') + 1)
        ck_assert_msg (strchr (line, '\n') != NULL && strchr (line, ':') < strchr (line, '\n'),
                       "a line without its field: %s", envelope);
    }
}
END_TEST

START_TEST (test_header_normalize)
{
  static const char crlf[] = "Subject: a\r\n b\rFrom: c\r\n\r\n";
  static const char with_nul[] = "Subject: a\0b\r\n\r";
  g_autoptr(GByteArray) block = g_byte_array_new ();

  g_byte_array_append (block, (const guint8 *) crlf, sizeof crlf - 1);
  cairn_mail_header_normalize (block);
  ck_assert_mem_eq (block->data, "Subject: a\n b\nFrom: c\n\n", block->len);
  ck_assert_uint_eq (block->len, strlen ("Subject: a\n b\nFrom: c\n\n"));

  g_byte_array_set_size (block, 0);
  g_byte_array_append (block, (const guint8 *) with_nul, sizeof with_nul - 1);
  cairn_mail_header_normalize (block);
  ck_assert_mem_eq (block->data, "Subject: a b\n\n", block->len);
  ck_assert_uint_eq (block->len, strlen ("Subject: a b\n\n"));
}
END_TEST

static char *
read_envelope (const char *text)
{
  g_autoptr(GByteArray) block = g_byte_array_new ();
  g_autofree char *message_id = NULL;

  g_byte_array_append (block, (const guint8 *) text, strlen (text));
  return cairn_mail_header_read_envelope (block, "windows-1252", &message_id);
}

/* A thread reads one block after another with the same buffers: nothing
 * of a block, long or short, shows in the next. */
START_TEST (test_header_blocks_in_turn)
{
  g_autoptr(GString) huge = g_string_new ("Subject: ");
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append (huge, "\n x");
  g_string_append (huge, "\nTo: a@example.org\n\n");
  first = read_envelope (huge->str);
  ck_assert_uint_eq (strlen (first), strlen ("Subject: \nTo: a@example.org\n") + 2 * 100000 - 1);
  second = read_envelope ("From: b@example.org\r\nCc: c@example.org\r\nCc: d@example.org\r\n"
                          "Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\n");
  ck_assert_str_eq (second, "From: b@example.org\nCc: c@example.org,  d@example.org\n"
                            "Subject: caf\u00e9\n");
  third = read_envelope ("Subject: short\n folded\n\n");
  ck_assert_str_eq (third, "Subject: short folded\n");
}
END_TEST

/* INTERNALDATE as GLib's GDateTime read it: impossible dates are 0, a
 * zone of 25 hours or more is UTC, and minutes past 59 carry. */
START_TEST (test_internal_dates)
{
  const struct
  {
    struct mailimap_date_time date;
    gint64 expected;
  } dates[] = {
    { { 3, 12, 2026, 10, 11, 12, 200 }, 1796285472 },
    { { 1, 1, 1970, 0, 0, 0, 0 }, 0 },
    { { 31, 12, 1969, 19, 0, 0, -500 }, 0 },
    { { 29, 2, 2024, 23, 59, 59, -1130 }, 1709292599 },
    { { 1, 3, 1900, 0, 0, 0, 0 }, -2203891200 },
    { { 1, 1, 2000, 0, 0, 0, 70 }, 946680600 },
    { { 1, 1, 2000, 0, 0, 0, 2459 }, 946594860 },
    { { 1, 1, 2000, 0, 0, 0, 2500 }, 946684800 },
    { { 29, 2, 2023, 0, 0, 0, 0 }, 0 },
    { { 31, 4, 2023, 0, 0, 0, 0 }, 0 },
    { { 1, 13, 2023, 0, 0, 0, 0 }, 0 },
    { { 1, 1, 2023, 24, 0, 0, 0 }, 0 },
    { { 1, 1, 2023, 0, 60, 0, 0 }, 0 },
    { { 1, 1, 2023, 0, 0, 60, 0 }, 0 },
    { { 1, 1, 0, 0, 0, 0, 0 }, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (dates); i++)
    {
      struct mailimap_date_time date = dates[i].date;

      ck_assert_msg (cairn_imap_date_time_to_unix (&date) == dates[i].expected,
                     "date %u: %" G_GINT64_FORMAT, i, cairn_imap_date_time_to_unix (&date));
    }
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "uid-sets", test_uid_sets },
    { "fingerprints", test_fingerprints },
    { "flag-names", test_flag_names },
    { "loopback", test_loopback },
    { "folder-names", test_folder_names },
    { "header-blocks", test_header_blocks },
    { "header-normalize", test_header_normalize },
    { "header-blocks-in-turn", test_header_blocks_in_turn },
    { "internal-dates", test_internal_dates },
  };

  g_mime_init ();
  return cairn_test_suite_run (cairn_test_suite_new ("imap-parsers", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 60));
}
