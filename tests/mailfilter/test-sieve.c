/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail filter's Sieve interpreter (agents/mailfilter): a table of
 * scripts and messages with what each does, every error with its
 * position, and hostile scripts that must be refused, never crash. */
#include <check.h>
#include <string.h>

#include "cairn-sieve-script-private.h"
#include "cairn-test-suite.h"

static const char message[] =
  "Return-Path: <bounce-42@lists.example.org>\r\n"
  "Delivered-To: ada@example.com\r\n"
  "From: \"Ada Lovelace\" <Ada@Example.COM>\r\n"
  "To: team@example.com, =?UTF-8?Q?Gr=C3=A9goire?= <greg@sub.example.net>\r\n"
  "Cc: Friends: bob@example.org, carol@example.org;\r\n"
  "Subject: =?UTF-8?Q?Caf=C3=A9?= meeting\r\n"
  " on Friday\r\n"
  "List-Id: GNOME <desktop.gnome.org>\r\n"
  "X-Spam-Score: 7.5\r\n"
  "X-Spam-Score: 0.1\r\n"
  "\r\n"
  "Body: not a header\r\n";

#define SIZE 2048

static const struct
{
  const char *script;
  const char *outcome;
} cases[] = {
  /* Nothing and the implicit keep */
  { "", "keep" },
  { "# only a comment\n/* and another */", "keep" },
  { "keep;", "keep" },
  { "discard;", "discard" },
  { "discard; keep;", "keep" },
  { "stop; discard;", "keep" },
  /* fileinto, :create and repeated deliveries */
  { "require \"fileinto\"; fileinto \"Work\";", "fileinto \"Work\"" },
  { "require [\"fileinto\", \"mailbox\"]; fileinto :create \"Lists/GNOME\";",
    "fileinto :create \"Lists/GNOME\"" },
  { "require \"fileinto\"; fileinto \"A\"; fileinto \"B\"; fileinto \"A\";",
    "fileinto \"A\"; fileinto \"B\"" },
  { "require \"fileinto\"; fileinto \"A\"; keep;", "fileinto \"A\"; keep" },
  { "require \"fileinto\"; fileinto \"A\"; stop; fileinto \"B\";", "fileinto \"A\"" },
  { "require \"fileinto\"; fileinto text:\nMulti\n.\n;", "fileinto \"Multi\r\n\"" },
  /* if, elsif, else */
  { "require \"fileinto\"; if false { fileinto \"A\"; } elsif true { fileinto \"B\"; } "
    "else { fileinto \"C\"; }", "fileinto \"B\"" },
  { "require \"fileinto\"; if false { fileinto \"A\"; } elsif false { fileinto \"B\"; } "
    "else { fileinto \"C\"; }", "fileinto \"C\"" },
  { "if true { discard; }", "discard" },
  { "if true { stop; } discard;", "keep" },
  /* not, allof, anyof */
  { "if not false { discard; }", "discard" },
  { "if allof (true, true) { discard; }", "discard" },
  { "if allof (true, false) { discard; }", "keep" },
  { "if anyof (false, true) { discard; }", "discard" },
  { "if anyof (false, false) { discard; }", "keep" },
  { "if not anyof (false, not true) { discard; }", "discard" },
  /* header: decoded, unfolded, every occurrence, every key */
  { "if header :is \"subject\" \"café meeting on Friday\" { discard; }", "discard" },
  { "if header :contains \"Subject\" \"CAFÉ\" { discard; }", "keep" },
  { "if header :contains \"Subject\" \"MEETING\" { discard; }", "discard" },
  { "if header :comparator \"i;octet\" :contains \"Subject\" \"MEETING\" { discard; }",
    "keep" },
  { "if header :comparator \"i;octet\" :contains \"Subject\" \"meeting\" { discard; }",
    "discard" },
  { "if header :matches \"Subject\" \"caf? *FRIDAY\" { discard; }", "discard" },
  { "if header :matches :comparator \"i;octet\" \"Subject\" \"caf? *FRIDAY\" { discard; }",
    "keep" },
  { "if header :matches \"Subject\" \"*meeting\" { discard; }", "keep" },
  { "if header :matches \"X-Spam-Score\" \"0.?\" { discard; }", "discard" },
  { "if header :is [\"X-None\", \"List-Id\"] [\"x\", \"GNOME <desktop.gnome.org>\"] "
    "{ discard; }", "discard" },
  { "if header :matches \"X-None\" \"*\" { discard; }", "keep" },
  { "if header :matches \"List-Id\" \"*\\\\*\" { discard; }", "keep" },
  { "if header :contains \"Subject\" \"\" { discard; }", "discard" },
  /* address: parts, groups, encoded names */
  { "if address :is \"from\" \"ada@example.com\" { discard; }", "discard" },
  { "if address :comparator \"i;octet\" :is \"from\" \"ada@example.com\" { discard; }",
    "keep" },
  { "if address :localpart :is \"From\" \"ADA\" { discard; }", "discard" },
  { "if address :domain :is \"to\" \"sub.example.net\" { discard; }", "discard" },
  { "if address :all :contains \"cc\" \"carol@\" { discard; }", "discard" },
  { "if address :domain :matches [\"to\", \"cc\"] \"*.org\" { discard; }", "discard" },
  { "if address :is \"from\" \"Ada Lovelace\" { discard; }", "keep" },
  /* envelope, from Return-Path and Delivered-To */
  { "require \"envelope\"; if envelope :is \"from\" \"bounce-42@lists.example.org\" "
    "{ discard; }", "discard" },
  { "require \"envelope\"; if envelope :domain :is \"to\" \"example.com\" { discard; }",
    "discard" },
  { "require \"envelope\"; if envelope :localpart :matches \"from\" \"bounce-*\" "
    "{ discard; }", "discard" },
  /* exists */
  { "if exists \"List-Id\" { discard; }", "discard" },
  { "if exists [\"List-Id\", \"X-None\"] { discard; }", "keep" },
  { "if exists \"Body\" { discard; }", "keep" },
  /* size */
  { "if size :over 1K { discard; }", "discard" },
  { "if size :over 2K { discard; }", "keep" },
  { "if size :under 2049 { discard; }", "discard" },
  { "if size :under 2048 { discard; }", "keep" },
  { "if size :over 1M { discard; }", "keep" },
  /* imap4flags */
  { "require \"imap4flags\"; addflag \"\\\\Seen\";", "keep :flags [\"\\Seen\"]" },
  { "require \"imap4flags\"; addflag [\"\\\\Seen \\\\Flagged\", \"$Work\"]; "
    "removeflag \"\\\\flagged\";", "keep :flags [\"\\Seen\", \"$Work\"]" },
  { "require \"imap4flags\"; addflag \"A\"; setflag \"B\";", "keep :flags [\"B\"]" },
  { "require [\"imap4flags\", \"fileinto\"]; addflag \"A\"; fileinto \"X\"; "
    "fileinto :flags \"\\\\Seen\" \"Y\"; keep :flags \"\";",
    "fileinto \"X\" :flags [\"A\"]; fileinto \"Y\" :flags [\"\\Seen\"]; keep" },
  { "require \"imap4flags\"; addflag \"A\"; discard; addflag \"B\";", "discard" },
  /* hasflag, on the script's flags */
  { "require \"imap4flags\"; addflag \"\\\\Seen $Work\"; if hasflag \"$work\" { discard; }",
    "discard" },
  { "require \"imap4flags\"; if hasflag :matches \"*\" { discard; }", "keep" },
  { "require \"imap4flags\"; addflag \"\\\\Flagged\"; "
    "if hasflag :comparator \"i;octet\" \"\\\\flagged\" { discard; }",
    "keep :flags [\"\\Flagged\"]" },
  { "require \"imap4flags\"; setflag \"A B\"; if hasflag :contains [\"x\", \"y B\"] { discard; }",
    "discard" },
  /* Case of identifiers and tags, comments between tokens */
  { "IF Header :Contains \"subject\" /* c */ \"café\" # x\n { Discard; }", "discard" },
};

/* A second message: no envelope, one plain address, a small size. */
static const char plain_message[] =
  "From: bob@example.org\r\n"
  "To: undisclosed-recipients:;\r\n"
  "Subject: Hello\r\n"
  "MIME-Version: 1.0\r\n"
  "Content-Type: text/plain; charset=utf-8\r\n"
  "\r\n"
  "Hi\r\n";

#define PLAIN_SIZE 80

static const struct
{
  const char *script;
  const char *outcome;
} plain_cases[] = {
  { "require \"envelope\"; if envelope :matches \"from\" \"*\" { discard; }", "keep" },
  { "require \"envelope\"; if not envelope :matches \"to\" \"*\" { discard; }", "discard" },
  { "if exists \"List-Id\" { discard; }", "keep" },
  { "if size :under 1K { discard; }", "discard" },
  { "if address :localpart :is \"from\" \"bob\" { discard; }", "discard" },
  { "if address :all :matches \"to\" \"*\" { discard; }", "keep" },
  { "if header :is \"subject\" \"hello\" { discard; }", "discard" },
  { "if header :contains \"content-type\" \"text/plain\" { discard; }", "discard" },
  { "if exists [\"MIME-Version\", \"Content-Type\"] { discard; }", "discard" },
  { "require \"fileinto\"; if header :contains \"subject\" \"gnome\" { fileinto \"L\"; } "
    "else { fileinto \"Other\"; }", "fileinto \"Other\"" },
};

static const struct
{
  const char *script;
  guint code;
  const char *message;
} errors[] = {
  { "keep", CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 5: expected ';' or '{'" },
  { "keep;\n  discard", CAIRN_SIEVE_ERROR_SYNTAX, "line 2, column 10: expected ';'" },
  { "if true { keep;", CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 16: expected '}'" },
  { "keep;\n}", CAIRN_SIEVE_ERROR_SYNTAX, "line 2, column 1: expected a command" },
  { "fileinto \"a;", CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 10: unterminated string" },
  { "keep;\n/* open", CAIRN_SIEVE_ERROR_SYNTAX, "line 2, column 1: unterminated comment" },
  { "fileinto text:\nabc\n", CAIRN_SIEVE_ERROR_SYNTAX,
    "line 1, column 10: unterminated multi-line string" },
  { "keep; @", CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 7: unexpected character '@'" },
  { "if header :is [\"a\" \"b\"] \"c\" { }", CAIRN_SIEVE_ERROR_SYNTAX,
    "line 1, column 20: expected ',' or ']'" },
  { "if anyof (true false) { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 11: true: takes no arguments" },
  { "if anyof (true, \"x\") { }", CAIRN_SIEVE_ERROR_SYNTAX,
    "line 1, column 17: expected a test" },
  { "if { }", CAIRN_SIEVE_ERROR_INVALID, "line 1, column 1: if: takes one test" },
  { "vacation \"x\";", CAIRN_SIEVE_ERROR_UNSUPPORTED,
    "line 1, column 1: unknown command \"vacation\"" },
  { "if body :contains \"x\" { }", CAIRN_SIEVE_ERROR_UNSUPPORTED,
    "line 1, column 4: unknown test \"body\"" },
  { "require [\"fileinto\", \"vacation\"];", CAIRN_SIEVE_ERROR_UNSUPPORTED,
    "line 1, column 9: require: unknown extension \"vacation\"" },
  { "keep; require \"fileinto\";", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 7: require: must come before every other command" },
  { "fileinto \"x\";", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 1: fileinto: needs require \"fileinto\"" },
  { "require \"fileinto\";\nfileinto :create \"x\";", CAIRN_SIEVE_ERROR_INVALID,
    "line 2, column 1: fileinto: needs require \"mailbox\"" },
  { "addflag \"x\";", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 1: addflag: needs require \"imap4flags\"" },
  { "if hasflag \"x\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: hasflag: needs require \"imap4flags\"" },
  { "require \"imap4flags\"; if hasflag :domain \"x\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "hasflag: unknown tag :domain" },
  { "if envelope \"from\" \"x\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: envelope: needs require \"envelope\"" },
  { "require \"envelope\"; if envelope \"subject\" \"x\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "envelope: unknown envelope part \"subject\"" },
  { "else { }", CAIRN_SIEVE_ERROR_INVALID, "line 1, column 1: else: must follow if or elsif" },
  { "if true { } keep; elsif true { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 19: elsif: must follow if or elsif" },
  { "if header :comparator \"i;unicode\" \"a\" \"b\" { }", CAIRN_SIEVE_ERROR_UNSUPPORTED,
    "line 1, column 23: header: unknown comparator \"i;unicode\"" },
  { "if header :is :contains \"a\" \"b\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 15: header: a second match type :contains" },
  { "if header :over \"a\" \"b\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 11: header: unknown tag :over" },
  { "if header \"a\" { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: header: takes 2 arguments besides tags, not 1" },
  { "if size 10 { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: size: takes :over or :under and a number" },
  { "if size :over 99999999999999999999 { }", CAIRN_SIEVE_ERROR_TOO_LARGE,
    "line 1, column 15: number too large" },
  { "if size :over 99999999999G { }", CAIRN_SIEVE_ERROR_TOO_LARGE,
    "line 1, column 15: number too large" },
  { "require \"fileinto\"; fileinto [\"a\", \"b\"];", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 30: fileinto: argument 1 must be a string" },
  { "require \"fileinto\"; fileinto \"\";", CAIRN_SIEVE_ERROR_INVALID,
    "fileinto: the folder name is empty" },
  { "keep true;", CAIRN_SIEVE_ERROR_INVALID, "line 1, column 1: keep: takes no test" },
  { "discard { }", CAIRN_SIEVE_ERROR_INVALID, "line 1, column 1: discard: takes no block" },
  { "if not (true, false) { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: not: takes one test" },
  { "if allof true { }", CAIRN_SIEVE_ERROR_INVALID,
    "line 1, column 4: allof: takes a list of tests in ( )" },
  { "keep;\n  \xc3\xa9\xc3\xa9 \xff;", CAIRN_SIEVE_ERROR_ENCODING,
    "line 2, column 6: invalid UTF-8" },
};

static void
assert_outcome (const char *script,
                const char *text,
                guint64     size,
                const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnSieveScript) compiled = cairn_sieve_script_new (script, strlen (script), &error);
  g_autoptr(CairnSieveMessage) parsed = cairn_sieve_message_new (text, strlen (text), size);
  g_autoptr(CairnSieveOutcome) outcome = NULL;
  g_autofree char *got = NULL;

  ck_assert_msg (compiled != NULL, "%s: %s", script, error ? error->message : "");
  outcome = cairn_sieve_script_run (compiled, parsed);
  got = cairn_sieve_outcome_to_string (outcome);
  ck_assert_msg (g_str_equal (got, expected), "%s: got %s, expected %s", script, got, expected);
}

START_TEST (test_outcomes)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_outcome (cases[i].script, message, SIZE, cases[i].outcome);
  for (guint i = 0; i < G_N_ELEMENTS (plain_cases); i++)
    assert_outcome (plain_cases[i].script, plain_message, PLAIN_SIZE, plain_cases[i].outcome);
}
END_TEST

START_TEST (test_errors)
{
  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CairnSieveScript) script =
        cairn_sieve_script_new (errors[i].script, strlen (errors[i].script), &error);

      ck_assert_msg (script == NULL, "accepted: %s", errors[i].script);
      ck_assert_msg (g_error_matches (error, CAIRN_SIEVE_ERROR, errors[i].code),
                     "%s: code %d, expected %u (%s)", errors[i].script, error->code,
                     errors[i].code, error->message);
      ck_assert_msg (strstr (error->message, errors[i].message) != NULL,
                     "%s: \"%s\" does not say \"%s\"", errors[i].script, error->message,
                     errors[i].message);
    }
}
END_TEST

/* Refused with a message, for scripts a hostile user could write. */
static void
assert_refused (const char *script,
                gsize       length,
                guint       code,
                const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnSieveScript) compiled = cairn_sieve_script_new (script, length, &error);

  ck_assert (compiled == NULL);
  ck_assert_msg (g_error_matches (error, CAIRN_SIEVE_ERROR, code), "code %d: %s", error->code,
                 error->message);
  ck_assert_msg (strstr (error->message, text) != NULL, "%s", error->message);
}

START_TEST (test_hostile)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) deep_tests = g_string_new ("if ");
  g_autofree char *huge = NULL;
  g_autofree char *huge_script = NULL;
  static const char nul[] = "keep;\n\0discard;";

  /* Deep nesting of blocks and of tests: refused long before the stack
   * ends, at the first level too deep. */
  for (guint i = 0; i < 100000; i++)
    g_string_append (deep, "if true {");
  assert_refused (deep->str, deep->len, CAIRN_SIEVE_ERROR_TOO_LARGE, "line 1, column 580");
  for (guint i = 0; i < 100000; i++)
    g_string_append (deep_tests, "not ");
  g_string_append (deep_tests, "true { }");
  assert_refused (deep_tests->str, deep_tests->len, CAIRN_SIEVE_ERROR_TOO_LARGE, "nested");

  /* A string of 900,000 characters is fine; a script beyond 1 MiB is not. */
  huge = g_strnfill (900000, 'x');
  huge_script = g_strdup_printf ("if header :contains \"subject\" \"%s\" { discard; }", huge);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CairnSieveScript) script =
      cairn_sieve_script_new (huge_script, strlen (huge_script), &error);

    ck_assert_msg (script != NULL, "%s", error ? error->message : "");
  }
  g_free (huge_script);
  huge_script = g_strdup_printf ("\"%s%s", huge, huge);
  assert_refused (huge_script, strlen (huge_script), CAIRN_SIEVE_ERROR_TOO_LARGE, "larger");

  /* Unterminated everything, at the end of the input. */
  assert_refused ("keep; \"", 7, CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 7: unterminated");
  assert_refused ("/*", 2, CAIRN_SIEVE_ERROR_SYNTAX, "unterminated comment");
  assert_refused ("text:", 5, CAIRN_SIEVE_ERROR_SYNTAX, "line break must follow");
  assert_refused ("if header :is \"a\" [", 19, CAIRN_SIEVE_ERROR_SYNTAX, "expected a string");
  assert_refused ("keep; \"\\", 8, CAIRN_SIEVE_ERROR_SYNTAX, "unterminated string");
  assert_refused ("if", 2, CAIRN_SIEVE_ERROR_SYNTAX, "line 1, column 3: expected");
  assert_refused ("if true", 7, CAIRN_SIEVE_ERROR_SYNTAX, "expected ';' or '{'");

  /* NUL bytes and invalid UTF-8, with their positions. */
  assert_refused (nul, sizeof nul - 1, CAIRN_SIEVE_ERROR_ENCODING, "line 2, column 1: NUL");
  assert_refused ("keep; \"\xc3\x28\";", 10, CAIRN_SIEVE_ERROR_ENCODING,
                  "line 1, column 8: invalid UTF-8");
  assert_refused ("\xed\xa0\x80", 3, CAIRN_SIEVE_ERROR_ENCODING, "line 1, column 1");
}
END_TEST

/* Every byte sequence is refused or accepted, never a crash: random
 * mutations of the scripts of the table. */
START_TEST (test_mutations)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (18);

  for (guint round = 0; round < 20000; round++)
    {
      const char *base = cases[g_rand_int_range (rand, 0, G_N_ELEMENTS (cases))].script;
      g_autofree char *script = g_strdup (base);
      gsize length = strlen (script);
      g_autoptr(GError) error = NULL;
      g_autoptr(CairnSieveScript) compiled = NULL;

      if (length == 0)
        continue;
      for (guint n = g_rand_int_range (rand, 1, 4); n > 0; n--)
        script[g_rand_int_range (rand, 0, length)] = (char) g_rand_int_range (rand, 1, 256);
      length = g_rand_boolean (rand) ? length : (gsize) g_rand_int_range (rand, 0, length);
      compiled = cairn_sieve_script_new (script, length, &error);
      ck_assert ((compiled == NULL) == (error != NULL));
      if (compiled != NULL)
        {
          g_autoptr(CairnSieveMessage) parsed =
            cairn_sieve_message_new (message, strlen (message), SIZE);
          g_autoptr(CairnSieveOutcome) outcome = cairn_sieve_script_run (compiled, parsed);

          ck_assert (outcome != NULL);
        }
      else
        ck_assert_msg (g_str_has_prefix (error->message, "line "), "%s", error->message);
    }
}
END_TEST

/* The header of a message without a body, or with no header at all. */
START_TEST (test_odd_messages)
{
  static const char *script =
    "if anyof (exists \"From\", header :contains \"Subject\" \"x\", "
    "address :is \"to\" \"a@b\") { discard; }";
  static const char *messages[] = { "", "From: a@b", "garbage\r\n\r\n", "To: <<<>>>\n\n" };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    assert_outcome (script, messages[i], 0, i == 1 ? "discard" : "keep");
}
END_TEST

static void
setup (void)
{
}

static void
teardown (void)
{
}

int
main (void)
{
  const CairnTestCase suite_cases[] = {
    { "run", test_outcomes },
    { "run", test_odd_messages },
    { "errors", test_errors },
    { "errors", test_hostile },
    { "errors", test_mutations },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("sieve", suite_cases,
                                                     G_N_ELEMENTS (suite_cases), setup,
                                                     teardown, 120));
}
