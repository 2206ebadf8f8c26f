/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The indexer's text extraction (agents/indexer/cairn-indexer-document.c)
 * on its own: HTML reduced to text, and messages, events and contacts
 * that are damaged, truncated or hostile, which must give what can be
 * read and never crash or read past their end. */
#include <check.h>
#include <string.h>

#include <gmime/gmime.h>

#include "cairn-indexer-document-private.h"
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

int
main (void)
{
  const CairnTestCase cases[] = {
    { "html", test_html },
    { "mail", test_damaged_mail },
    { "mail", test_envelope_only },
    { "calendar", test_hostile_calendar },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("indexer-document", cases,
                                                     G_N_ELEMENTS (cases), setup, teardown, 60));
}
