/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The indexer's text extraction (agents/indexer/cairn-indexer-document.c)
 * on its own: HTML reduced to text, and messages, events and contacts
 * that are damaged, truncated or hostile, which must give what can be
 * read and never crash or read past their end. */
#include <check.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-indexer-document-private.h"
#include "cairn-indexer-index-private.h"
#include "cairn-test-suite.h"

static void
setup (void)
{
  g_mime_init ();
}

static void
teardown (void)
{
}

/* Copies @html into a buffer of its exact length, so that a read past its
 * end is caught by the address checks of MALLOC_CHECK_ and valgrind. */
static char *
to_text (const char *html)
{
  gsize length = strlen (html);
  g_autofree char *exact = g_memdup2 (html, length);

  return cairn_indexer_html_to_text (exact, length);
}

static void
assert_text (const char *html,
             const char *expected)
{
  g_autofree char *text = to_text (html);

  ck_assert_msg (g_str_equal (g_strstrip (text), expected), "[%s] gave [%s], not [%s]", html,
                 text, expected);
}

START_TEST (test_html)
{
  assert_text ("<p>Hello&nbsp;<b>world</b></p>", "Hello world");
  assert_text ("<style>p{color:red}</style>caf&eacute; &amp; cr&#232;me &#x41;",
               "café & crème A");
  assert_text ("a<script>if (a < b) x();</script>b", "a b");
  assert_text ("a<!-- <b>hidden</b> -->b", "a b");
  assert_text ("<SCRIPT>x</SCRIPT>visible", "visible");
  /* Hostile: unterminated tags, comments and scripts, bad entities. */
  assert_text ("text <unterminated", "text");
  assert_text ("text <!-- unterminated", "text");
  assert_text ("text <script>unterminated", "text");
  assert_text ("text <style", "text");
  assert_text ("&#0; &#x110000; &#xFFFFFFFFFFFFFFFFFF; &#; &bogus; &amp", "&#0; &#x110000; "
               "&#xFFFFFFFFFFFFFFFFFF; &#; &bogus; &amp");
  assert_text ("&", "&");
  assert_text ("<", "");
  assert_text ("", "");
}
END_TEST

static CairnIndexerDocument *
document_for (const char *mime_type,
              const char *part,
              const char *data,
              gsize       length)
{
  g_autoptr(CairnItem) item = cairn_item_new (mime_type);
  g_autoptr(GBytes) bytes = g_bytes_new (data, length);
  g_autoptr(CairnPart) payload = cairn_part_new_inline (part, bytes);

  cairn_item_set_id (item, 1);
  cairn_item_set_part (item, payload);
  return cairn_indexer_document_new_from_item (item);
}

START_TEST (test_damaged_mail)
{
  static const char truncated[] =
    "From: A <a@example.org>\nSubject: Cut\nContent-Type: multipart/mixed; boundary=x\n\n"
    "--x\nContent-Type: text/plain; charset=x-unknown-charset\n"
    "Content-Transfer-Encoding: base64\n\nSGVsbG8gd29y";
  static const char binary[] = "\0\xff\xfe\0From: \0\n\n\xff";
  g_autoptr(CairnIndexerDocument) cut = NULL;
  g_autoptr(CairnIndexerDocument) garbage = NULL;
  g_autoptr(CairnIndexerDocument) empty = NULL;
  g_autoptr(CairnIndexerDocument) nested = NULL;
  g_autoptr(GString) deep = g_string_new ("Subject: deep\n");

  cut = document_for ("message/rfc822", "RFC822", truncated, strlen (truncated));
  ck_assert_str_eq (cut->subject->str, "Cut");
  ck_assert (g_str_has_prefix (cut->body->str, "Hello wor"));
  ck_assert (cut->complete);

  garbage = document_for ("message/rfc822", "RFC822", binary, sizeof binary - 1);
  ck_assert (g_utf8_validate (garbage->sender->str, -1, NULL));
  ck_assert (g_utf8_validate (garbage->body->str, -1, NULL));

  empty = document_for ("message/rfc822", "RFC822", "", 0);
  ck_assert_str_eq (empty->body->str, "");
  ck_assert (empty->message_id == NULL);

  /* A thousand nested multiparts. */
  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (deep, "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i, i);
  g_string_append (deep, "Content-Type: text/plain\n\ninnermost\n");
  nested = document_for ("message/rfc822", "RFC822", deep->str, deep->len);
  ck_assert_str_eq (nested->subject->str, "deep");
}
END_TEST

START_TEST (test_envelope_only)
{
  static const char envelope[] =
    "From: Zoë <zoe@example.org>\nSubject: Früh\nMessage-ID: <e@example.org>\n"
    "References: <a@example.org> <b@example.org>\nIn-Reply-To: <b@example.org>\n";
  g_autoptr(CairnIndexerDocument) document =
    document_for ("message/rfc822", "ENVELOPE", envelope, strlen (envelope));

  ck_assert (!document->complete);
  ck_assert_str_eq (document->subject->str, "Früh");
  ck_assert_str_eq (document->sender->str, "Zoë <zoe@example.org>");
  ck_assert_str_eq (document->message_id, "e@example.org");
  ck_assert_uint_eq (document->references->len, 3);
}
END_TEST

START_TEST (test_hostile_calendar)
{
  static const char event[] =
    "BEGIN:VEVENT\r\nSUMMARY\r\n:no name\r\nATTENDEE;CN=\"unterminated:mailto:x@example.org\r\n"
    "ORGANIZER;CN=:mailto:\r\nDTSTART:99999999T999999\r\nDESCRIPTION:a\\\r\n"
    " continued\\nline\\\r\n;\r\n\r\n \r\nLOCATION:end\\";
  static const char card[] = "FN:Only a name";
  g_autoptr(CairnIndexerDocument) document =
    document_for ("text/calendar", "DATA", event, strlen (event));
  g_autoptr(CairnIndexerDocument) contact =
    document_for ("text/vcard", "DATA", card, strlen (card));
  g_autoptr(GString) folded = g_string_new ("SUMMARY:x");

  ck_assert_int_eq (document->date, 0);
  ck_assert (strstr (document->body->str, "continued line") != NULL);
  ck_assert (strstr (document->body->str, "end") != NULL);
  ck_assert_str_eq (contact->subject->str, "Only a name");

  /* A line folded 100,000 times. */
  for (guint i = 0; i < 100000; i++)
    g_string_append (folded, "\r\n y");
  g_clear_pointer (&document, cairn_indexer_document_free);
  document = document_for ("text/calendar", "DATA", folded->str, folded->len);
  ck_assert_uint_eq (document->subject->len, 100001);
}
END_TEST

/* Both ways of reading a message: GMime's parser, and the plain way
 * when @allow_plain and the message is plain. */
static CairnIndexerDocument *
extract_message (const char *data,
                 gsize       length,
                 gboolean    allow_plain,
                 gboolean   *plain)
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new (data, length);
  g_autoptr(CairnPart) part = cairn_part_new_inline ("RFC822", bytes);
  g_autoptr(CairnFlags) flags = cairn_flags_new ();

  cairn_item_set_id (item, 1);
  cairn_item_set_part (item, part);
  cairn_flags_add (flags, "\\Seen");
  cairn_item_set_flags (item, flags);
  return cairn_indexer_document_extract (item, allow_plain, plain);
}

static void
assert_same_strings (GPtrArray  *a,
                     GPtrArray  *b,
                     const char *what)
{
  ck_assert_msg (a->len == b->len, "%s: %u against %u", what, a->len, b->len);
  for (guint i = 0; i < a->len; i++)
    ck_assert_str_eq (g_ptr_array_index (a, i), g_ptr_array_index (b, i));
}

/* Reads @data both ways; returns whether the plain way was taken, after
 * checking that it gave exactly what GMime gives. */
static gboolean
check_both_ways (const char *data,
                 gsize       length)
{
  gboolean plain = FALSE, gmime_plain = TRUE;
  g_autoptr(CairnIndexerDocument) fast = extract_message (data, length, TRUE, &plain);
  g_autoptr(CairnIndexerDocument) full = extract_message (data, length, FALSE, &gmime_plain);
  const struct
  {
    const char *name;
    GString *fast, *full;
  } fields[] = {
    { "sender", fast->sender, full->sender },
    { "recipients", fast->recipients, full->recipients },
    { "subject", fast->subject, full->subject },
    { "body", fast->body, full->body },
    { "attachments", fast->attachments, full->attachments },
    { "mime_types", fast->mime_types, full->mime_types },
    { "list_id", fast->list_id, full->list_id },
  };

  ck_assert (!gmime_plain);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    ck_assert_msg (g_string_equal (fields[i].fast, fields[i].full),
                   "%s: [%s] against [%s] in\n%.*s", fields[i].name, fields[i].fast->str,
                   fields[i].full->str, (int) length, data);
  ck_assert_msg (g_strcmp0 (fast->message_id, full->message_id) == 0, "message id: %s against %s",
                 fast->message_id, full->message_id);
  ck_assert_int_eq (fast->date, full->date);
  ck_assert_int_eq (fast->complete, full->complete);
  assert_same_strings (fast->references, full->references, "references");
  assert_same_strings (fast->flags, full->flags, "flags");
  return plain;
}

/* Generated mail: every message takes the plain way, single-part or
 * multipart with an attachment, and gives what GMime gives. */
START_TEST (test_plain_generated)
{
  guint plain = 0, multipart = 0;

  for (guint32 seed = 7; seed <= 8; seed++)
    for (guint n = 0; n < 1500; n++)
      {
        g_autoptr(GBytes) message = cairn_test_maildir_build_message (seed, n);
        gsize length;
        const char *data = g_bytes_get_data (message, &length);
        gboolean is_multipart = strstr (data, "multipart/") != NULL;

        ck_assert (check_both_ways (data, length));
        plain += !is_multipart;
        multipart += is_multipart;
      }
  ck_assert_uint_gt (plain, 2000);
  ck_assert_uint_gt (multipart, 100);
}
END_TEST

/* Plain messages with what the generator never writes. */
static const char * const plain_messages[] = {
  "From: \"Doe, Jane\" <jane@example.org>, bob@example.org\n"
  "To: Team: ann@example.org, Carl <carl@example.org>;\n"
  "Cc: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.org>\n"
  "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus\n =?UTF-8?B?QmVybGlu?=\n"
  "Date: Tue, 4 Mar 2025 10:00:00 +0100\n"
  "Message-ID: <abc@example.org>\n"
  "In-Reply-To: <p@example.org> (the parent)\n"
  "References: <r@example.org>\n <p@example.org>\n"
  "List-Id: Cairn users <users.cairn.example.org>\n"
  "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed\n"
  "Content-Transfer-Encoding: 8bit\n\n"
  "Grüße aus Berlin\n\n-- \nJane\n",
  "Subject: no content type\nX-Other: x\n\nplain ascii\n",
  "Subject: 7bit\nContent-Transfer-Encoding: 7BIT\nContent-Type: TEXT/PLAIN\n\nbody",
  "From: Stra\xdf\x65 <raw@example.org>\nSubject: raw \xe9t\xe9 latin-1\n\nbody \xe9t\xe9\n",
  "Subject: empty body\n\n",
  "Date: not a date\nMessage-ID: not an id\nSubject:\n\nx\n",
  /* A group without a name, after another recipient: no name, no space;
   * and the same fields again, as the plain way keeps them. */
  "To: ann@example.org\nCc: : bob@example.org;\nSubject: group\n\nx\n",
  "To: ann@example.org\nCc: : bob@example.org;\nSubject: group again\n\ny\n",
  /* Multiparts: a preamble and an epilogue, a part without a header,
   * two text parts, file names in either field and in RFC 2231, an
   * inline part of another type, an attachment without a name, the
   * closing delimiter at the very end. */
  ("Subject: mixed\nContent-Type: multipart/mixed; boundary=\"b\"\n\npreamble\n--b\n\n"
   "first text\n\n--b\nContent-Type: text/plain; charset=UTF-8\n"
   "Content-Transfer-Encoding: 7bit\n\nsecond text\n-- \nsig\n--b\n"
   "Content-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
   "JVBERi0=\n--b\nContent-Type: image/png\n"
   "Content-Disposition: attachment; filename*=UTF-8''gr%C3%BC%C3%9Fe.png\n\niVBO\n--b\n"
   "Content-Type: image/gif\nContent-Disposition: inline\n\nR0lG\n--b\n"
   "Content-Type: text/csv\nContent-Disposition: attachment\n\na,b\n--b--\nepilogue\n"),
  ("Subject: mixed at the end\nContent-Type: multipart/mixed; boundary=xy\n\n--xy\n"
   "Content-Type: text/plain\n\nonly part\n--xy--"),
};

START_TEST (test_plain_handmade)
{
  for (guint i = 0; i < G_N_ELEMENTS (plain_messages); i++)
    ck_assert_msg (check_both_ways (plain_messages[i], strlen (plain_messages[i])),
                   "not read the plain way: %s", plain_messages[i]);
}
END_TEST

/* Dates: the plain way reads RFC 5322's own form itself and leaves the
 * rest to GMime; the message is read the plain way either way, and both
 * ways give the same time, which is @time where it is not -1. */
static const struct
{
  const char *date;
  gint64 time;
} plain_dates[] = {
  { "Tue, 4 Mar 2025 10:00:00 +0100", 1741078800 },
  { "tue, 04 MAR 2025 10:00 +0100", 1741078800 },
  { "4 Mar 2025 09:00:00 +0000", 1741078800 },
  { "Tue, 4 Mar 2025 04:00:00 -0500", 1741078800 },
  { "Thu, 29 Feb 2024 23:59:59 -0530", 1709270999 },
  { "Sat, 1 Jan 2000 00:00:00 -0000", 946684800 },
  { "Thu, 1 Jan 1970 01:00:00 +0100", 0 },
  /* Left to GMime. */
  { "Tue,  4 Mar 2025 10:00:00 +0100 (CET)", 1741078800 },
  { "Tue, 4 Mar 25 10:00:00 +0100", 1741078800 },
  { "Tue, 4 Mar 2025 09:00:00 GMT", 1741078800 },
  { "Tuesday, 4 March 2025 10:00:00 +0100", 1741078800 },
  { "Tue, 4 Mar 2025 10:00:00", 1741078800 + 3600 },
  { "Fri, 30 Feb 2024 10:00:00 +0000", -1 },
  { "Tue, 4 Mar 2025 10:00:60 +0000", -1 },
  { "Tue, 4 Mar 2025 24:00:00 +0000", -1 },
  { "Tue, 4 Mar 2025 10:00:00 +2400", -1 },
  { "Tue, 4 Mar 2025 10:00:00 +0160", -1 },
  { "Tue, 4 Mar 2025 10:00:00 +01000", -1 },
  { "Wed, 31 Dec 1969 23:00:00 -0100", -1 },
  { "Xyz, 4 Mar 2025 10:00:00 +0100", -1 },
  { "4 Mar 2025", -1 },
  { "12345", -1 },
};

START_TEST (test_plain_dates)
{
  for (guint i = 0; i < G_N_ELEMENTS (plain_dates); i++)
    {
      g_autofree char *message =
        g_strdup_printf ("Date: %s\nSubject: dated\n\nbody\n", plain_dates[i].date);
      gboolean plain = FALSE;
      g_autoptr(CairnIndexerDocument) document =
        extract_message (message, strlen (message), TRUE, &plain);

      ck_assert_msg (check_both_ways (message, strlen (message)), "not read the plain way: %s",
                     plain_dates[i].date);
      if (plain_dates[i].time != -1)
        ck_assert_msg (document->date == plain_dates[i].time,
                       "%s read as %" G_GINT64_FORMAT " rather than %" G_GINT64_FORMAT,
                       plain_dates[i].date, document->date, plain_dates[i].time);
    }
}
END_TEST

/* @message with FILL replaced by @length bytes of filler. */
static char *
fill_message (const char *message,
              gsize       length)
{
  GString *filled = g_string_new (message);
  g_autofree char *filler = g_strnfill (length, 'x');

  g_string_replace (filled, "FILL", filler, 1);
  return g_string_free (filled, FALSE);
}

/* A field whose parsed value the plain way caches (addresses, types,
 * dispositions) is read the plain way up to 1,024 bytes, and by GMime
 * beyond, so that hostile mail cannot fill the cache: each message is
 * read both ways with the field at the bound and one byte longer. */
START_TEST (test_plain_long_fields)
{
  /* The line of the field, and the message. */
  static const char * const fields[][2] = {
    { "From:", "From: FILL <a@example.org>\nSubject: long sender\n\nbody\n" },
    { "To:", "Subject: long recipient\nTo: FILL <a@example.org>\n\nbody\n" },
    { "Content-Type:", "Content-Type: text/plain; x-note=\"FILL\"\nSubject: long type\n\nbody\n" },
    { "Content-Type: application",
      "Subject: long part type\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: application/pdf; name=\"FILL.pdf\"\n\nJVBERi0=\n--b--\n" },
    { "Content-Disposition:",
      "Subject: long disposition\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: image/png\nContent-Disposition: attachment; filename=\"FILL.png\"\n\n"
      "iVBO\n--b--\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      /* The value, after the colon, without filler. */
      g_autofree char *unfilled = fill_message (fields[i][1], 0);
      const char *value = strchr (strstr (unfilled, fields[i][0]), ':') + 1;
      gsize filler = 1024 - (strchr (value, '\n') - value);

      for (gsize extra = 0; extra <= 1; extra++)
        {
          g_autofree char *message = fill_message (fields[i][1], filler + extra);

          ck_assert_msg (check_both_ways (message, strlen (message)) == (extra == 0),
                         "%s, %zu bytes over the bound: read %s", fields[i][0], extra,
                         extra == 0 ? "by GMime" : "the plain way");
        }
    }

  /* Distinct senders of a kilobyte each: the cache is emptied every 256
   * KiB of them, and what it gives after still matches. */
  for (guint n = 0; n < 600; n++)
    {
      g_autofree char *filler = g_strnfill (1000, 'a' + n % 26);
      g_autofree char *message =
        g_strdup_printf ("From: %u %s <a@example.org>\nSubject: sender %u\n\nbody\n", n, filler,
                         n);

      ck_assert (check_both_ways (message, strlen (message)));
    }
}
END_TEST

/* What GMime must read: encodings, charsets, HTML, attachments, header
 * blocks the plain way could read otherwise than GMime. */
#define MESSAGE(text) { text, sizeof (text) - 1 }

static const struct
{
  const char *data;
  gsize length;
} gmime_messages[] = {
  MESSAGE ("Subject: qp\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n"),
  MESSAGE ("Subject: b64\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"),
  MESSAGE ("Subject: latin\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n"),
  MESSAGE ("Subject: ascii\nContent-Type: text/plain; charset=us-ascii\n\ncafe\n"),
  MESSAGE ("Subject: html\nContent-Type: text/html; charset=utf-8\n\n<p>Hello <b>you</b></p>\n"),
  MESSAGE ("Subject: named\nContent-Type: text/plain; name=notes.txt\n\nnotes\n"),
  MESSAGE ("Subject: attached\nContent-Disposition: attachment\n\nattached\n"),
  MESSAGE ("Subject: inline\nContent-Disposition: inline\n\ninline\n"),
  MESSAGE ("Subject: one\nSubject: two\n\ntwice\n"),
  MESSAGE ("From: a@example.org\nFrom: b@example.org\n\ntwo senders\n"),
  MESSAGE ("Subject: crlf\r\n\r\nbody\r\n"),
  MESSAGE ("Subject: nul\n\nbo\0dy\n"),
  MESSAGE ("From someone@example.org Tue Mar  4 10:00:00 2025\nSubject: mbox\n\nbody\n"),
  MESSAGE ("Subject : blank before the colon\n\nbody\n"),
  MESSAGE ("Subject: no end of the header block\n"),
  MESSAGE (" folded first line\nSubject: x\n\nbody\n"),
  MESSAGE ("not a header\n\nbody\n"),
  MESSAGE ("Subject: multi\nContent-Type: multipart/alternative; boundary=b\n\n--b\n"
           "Content-Type: text/plain\n\nplain\n--b\n"
           "Content-Type: text/html\n\n<b>html</b>\n--b--\n"),
#define MIXED "Subject: mixed\nContent-Type: multipart/mixed; boundary=b\n\n"
  MESSAGE (MIXED "--b \n\nspace after the delimiter\n--b--\n"),
  MESSAGE (MIXED "--b\n\nno closing delimiter\n"),
  MESSAGE (MIXED "--b\n\ntext\n--b--\n--b\n\nafter the end\n--b--\n"),
  MESSAGE (MIXED "--b\n--b\n\nempty part\n--b--\n"),
  MESSAGE (MIXED "--bb\n\nanother boundary\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Type: text/html\n\n<p>html</p>\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Disposition: inline\n\ninline text\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner\n--b--\n"),
  MESSAGE (MIXED "--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nnested\n--c--\n"
           "--b--\n"),
  MESSAGE (MIXED "--b\nnot a header\n\ntext\n--b--\n"),
  MESSAGE ("Subject: digest\nContent-Type: multipart/digest; boundary=b\n\n--b\n\n"
           "Subject: inner\n\ninner\n--b--\n"),
  MESSAGE ("Subject: no boundary\nContent-Type: multipart/mixed\n\n--b\n\ntext\n--b--\n"),
};

START_TEST (test_plain_refused)
{
  for (guint i = 0; i < G_N_ELEMENTS (gmime_messages); i++)
    ck_assert_msg (!check_both_ways (gmime_messages[i].data, gmime_messages[i].length),
                   "read the plain way: %s", gmime_messages[i].data);
}
END_TEST

static CairnIndexerDocument *
raw_mail_document (guint64     id,
                   const char *text)
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(CairnPart) part = cairn_part_new_inline ("RFC822", bytes);

  cairn_item_set_id (item, id);
  cairn_item_set_part (item, part);
  return cairn_indexer_document_new_from_item (item);
}

static CairnIndexerDocument *
mail_document (guint64     id,
               const char *subject,
               const char *date)
{
  g_autofree char *text = g_strdup_printf ("Subject: %s\nDate: %s\n\nbody\n", subject, date);

  return raw_mail_document (id, text);
}

static gboolean
put (CairnIndexerIndex *index,
     guint64            id,
     const char        *subject,
     const char        *day,
     gboolean           is_new)
{
  g_autofree char *date = g_strdup_printf ("%s 10:00:00 +0000", day);
  g_autoptr(GError) error = NULL;
  gboolean ok = cairn_indexer_index_put (index, mail_document (id, subject, date), is_new, &error);

  ck_assert_msg (ok, "%s", error ? error->message : "");
  return ok;
}

/* The subjects in the text table, in the order of its keys. */
static char *
text_subjects (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  GString *subjects = g_string_new (NULL);

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (db, "SELECT subject FROM text ORDER BY rowid", -1, &stmt,
                                        NULL), SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (subjects, "%s%s", subjects->len ? "," : "",
                            sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (subjects, FALSE);
}

/* A new, empty index database in a new folder. */
static CairnIndexerIndex *
new_index (char **folder,
           char **path)
{
  g_autoptr(GError) error = NULL;
  CairnIndexerIndex *index;
  gboolean needs_scan = FALSE;

  *folder = g_dir_make_tmp ("test-indexer-index-XXXXXX", &error);
  ck_assert_ptr_nonnull (*folder);
  *path = g_build_filename (*folder, "index.db", NULL);
  index = cairn_indexer_index_open (*path, &needs_scan, &error);
  ck_assert_ptr_nonnull (index);
  ck_assert (needs_scan);
  return index;
}

/* Removes an index database made in @folder, and @folder. */
static void
remove_index (const char *folder,
              const char *path)
{
  for (guint i = 0; i < 4; i++)
    {
      const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
  g_rmdir (folder);
}

/* The text of a transaction's documents is written at its commit: a
 * document put again or removed in the same transaction leaves its
 * latest text or none, and a rollback leaves nothing of it. */
START_TEST (test_pending_text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autoptr(CairnIndexerIndex) index = new_index (&folder, &path);
  g_autofree char *subjects = NULL;

  ck_assert (cairn_indexer_index_begin (index, &error));
  /* Newest first, as a store may list them. */
  ck_assert (put (index, 1, "third", "Wed, 5 Mar 2025", TRUE));
  ck_assert (put (index, 2, "second", "Tue, 4 Mar 2025", TRUE));
  ck_assert (put (index, 3, "first", "Mon, 3 Mar 2025", TRUE));
  ck_assert (cairn_indexer_index_commit (index, &error));
  subjects = text_subjects (path);
  ck_assert_str_eq (subjects, "first,second,third");

  ck_assert (cairn_indexer_index_begin (index, &error));
  ck_assert (put (index, 2, "again", "Tue, 4 Mar 2025", FALSE));
  ck_assert (put (index, 2, "latest", "Thu, 6 Mar 2025", FALSE));
  ck_assert (put (index, 4, "gone", "Fri, 7 Mar 2025", FALSE));
  ck_assert (cairn_indexer_index_remove (index, 4, &error));
  ck_assert (cairn_indexer_index_remove (index, 3, &error));
  ck_assert (cairn_indexer_index_commit (index, &error));
  g_free (subjects);
  subjects = text_subjects (path);
  ck_assert_str_eq (subjects, "third,latest");

  ck_assert (cairn_indexer_index_begin (index, &error));
  ck_assert (put (index, 5, "rolled back", "Sat, 8 Mar 2025", FALSE));
  cairn_indexer_index_rollback (index);
  ck_assert (cairn_indexer_index_begin (index, &error));
  ck_assert (cairn_indexer_index_commit (index, &error));
  g_free (subjects);
  subjects = text_subjects (path);
  ck_assert_str_eq (subjects, "third,latest");

  g_clear_pointer (&index, cairn_indexer_index_free);
  remove_index (folder, path);
}
END_TEST

static void
put_scratch (CairnIndexerIndex *scratch,
             guint64            id,
             const char        *header)
{
  g_autofree char *text = g_strdup_printf ("Date: Wed, 5 Mar 2025 10:00:00 +0000\n%s\nbody\n",
                                           header);
  g_autoptr(CairnIndexerDocument) document = raw_mail_document (id, text);
  g_autoptr(GError) error = NULL;

  ck_assert_msg (cairn_indexer_index_put_fields (scratch, document, TRUE, &error), "%s",
                 error ? error->message : "");
}

/* A scan's scratch index takes a document's first key unless another
 * document has it (the same second, the same low 24 bits of the id), and
 * merges threads in memory: its end gives each document the thread its
 * own became. */
START_TEST (test_scratch_keys_and_threads)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("test-indexer-index-XXXXXX", &error);
  g_autofree char *path = g_build_filename (folder, "scratch.db", NULL);
  g_autoptr(CairnIndexerIndex) scratch = cairn_indexer_index_open_scratch (path, &error);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autoptr(GString) docs = g_string_new (NULL);

  ck_assert_ptr_nonnull (scratch);
  ck_assert (cairn_indexer_index_begin (scratch, &error));
  /* A reply before its parent, a thread of its own, then the parent,
   * which names the other thread's message and joins both. */
  put_scratch (scratch, 16777217, "Message-ID: <c@example.org>\nReferences: <a@example.org>\n");
  put_scratch (scratch, 1, "Message-ID: <b@example.org>\n");
  put_scratch (scratch, 33554433, "Message-ID: <a@example.org>\nReferences: <b@example.org>\n");
  ck_assert (cairn_indexer_index_finish_scratch (scratch, &error));
  g_clear_pointer (&scratch, cairn_indexer_index_free);

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  ck_assert_int_eq (sqlite3_prepare_v2 (db, "SELECT id, key - (SELECT min (key) FROM docs), "
                                        "thread FROM docs ORDER BY key", -1, &stmt, NULL),
                    SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (docs, "%s%lld:%lld:%lld", docs->len ? "," : "",
                            sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
                            sqlite3_column_int64 (stmt, 2));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  ck_assert_str_eq (docs->str, "16777217:0:1,1:1:1,33554433:2:1");

  cairn_indexer_index_delete_files (path);
  g_rmdir (folder);
}
END_TEST

/* Items of one second (those without a date all have 0) have 2^24 keys
 * of their own: ids 2^16 apart do not take one another's, as they did
 * when every second had 2^16 keys and the 65,537th undated item probed
 * past all of them. */
START_TEST (test_keys_of_undated)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("test-indexer-index-XXXXXX", &error);
  g_autofree char *path = g_build_filename (folder, "scratch.db", NULL);
  g_autoptr(CairnIndexerIndex) scratch = cairn_indexer_index_open_scratch (path, &error);
  const guint64 ids[] = { 65537, 1, 131073, 16777215 };

  ck_assert_ptr_nonnull (scratch);
  ck_assert (cairn_indexer_index_begin (scratch, &error));
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(CairnIndexerDocument) document =
        raw_mail_document (ids[i], "Subject: no date\n\nbody\n");

      ck_assert_int_eq (document->date, 0);
      ck_assert_msg (cairn_indexer_index_put_fields (scratch, document, TRUE, &error), "%s",
                     error ? error->message : "");
      ck_assert_int_eq (document->key, (gint64) ids[i]);
    }
  ck_assert (cairn_indexer_index_finish_scratch (scratch, &error));
  g_clear_pointer (&scratch, cairn_indexer_index_free);
  cairn_indexer_index_delete_files (path);
  g_rmdir (folder);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "html", test_html },
    { "mail", test_damaged_mail },
    { "mail", test_envelope_only },
    { "calendar", test_hostile_calendar },
    { "plain", test_plain_generated },
    { "plain", test_plain_handmade },
    { "plain", test_plain_dates },
    { "plain", test_plain_long_fields },
    { "plain", test_plain_refused },
    { "index", test_pending_text },
    { "index", test_scratch_keys_and_threads },
    { "index", test_keys_of_undated },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("indexer-document", cases,
                                                     G_N_ELEMENTS (cases), setup, teardown, 60));
}
