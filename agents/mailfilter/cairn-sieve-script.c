/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Sieve script (RFC 5228) checked and ready to run: the commands the
 * parser read are checked against the commands, tests and extensions the
 * mail filter knows, once, so that running the script on a message does
 * no more than match strings. Extensions: fileinto, envelope, mailbox
 * (fileinto :create) and imap4flags (RFC 5232, with hasflag); the
 * comparators are i;ascii-casemap (the default) and i;octet. */
#include "cairn-sieve-script-private.h"

#include <string.h>

typedef enum
{
  TEST_TRUE,
  TEST_FALSE,
  TEST_NOT,
  TEST_ALLOF,
  TEST_ANYOF,
  TEST_ADDRESS,
  TEST_ENVELOPE,
  TEST_HEADER,
  TEST_EXISTS,
  TEST_SIZE,
  TEST_HASFLAG,
} TestKind;

typedef enum
{
  MATCH_IS,
  MATCH_CONTAINS,
  MATCH_MATCHES,
} MatchType;

typedef enum
{
  PART_ALL,
  PART_LOCALPART,
  PART_DOMAIN,
} AddressPart;

typedef struct _Test Test;
struct _Test
{
  TestKind kind;
  gboolean octet;      /* the i;octet comparator, else i;ascii-casemap */
  MatchType match;
  AddressPart part;
  gboolean over;
  guint64 limit;
  GStrv headers;
  GStrv keys;
  GPtrArray *children; /* Test * */
};

typedef enum
{
  ACTION_IF,
  ACTION_KEEP,
  ACTION_FILEINTO,
  ACTION_DISCARD,
  ACTION_STOP,
  ACTION_ADDFLAG,
  ACTION_SETFLAG,
  ACTION_REMOVEFLAG,
} ActionKind;

typedef struct _Action Action;
struct _Action
{
  ActionKind kind;
  Test *test;          /* if and elsif; NULL for else */
  GPtrArray *block;    /* Action * */
  Action *otherwise;   /* the elsif or else that follows an if */
  char *folder;
  gboolean create;
  GStrv flags;         /* :flags, or the flags of a flag action */
  gboolean has_flags;
};

typedef enum
{
  EXTENSION_FILEINTO = 1 << 0,
  EXTENSION_ENVELOPE = 1 << 1,
  EXTENSION_IMAP4FLAGS = 1 << 2,
  EXTENSION_MAILBOX = 1 << 3,
} Extension;

static const struct
{
  const char *name;
  Extension extension;
} extensions[] = {
  { "fileinto", EXTENSION_FILEINTO },
  { "envelope", EXTENSION_ENVELOPE },
  { "imap4flags", EXTENSION_IMAP4FLAGS },
  { "mailbox", EXTENSION_MAILBOX },
  { "comparator-i;octet", 0 },
  { "comparator-i;ascii-casemap", 0 },
};

struct _CairnSieveScript
{
  GObject parent_instance;

  GPtrArray *actions;  /* Action * */
  guint n_rules;
};

G_DEFINE_FINAL_TYPE (CairnSieveScript, cairn_sieve_script, G_TYPE_OBJECT)

static void
test_free (Test *test)
{
  g_strfreev (test->headers);
  g_strfreev (test->keys);
  g_clear_pointer (&test->children, g_ptr_array_unref);
  g_free (test);
}

static void
action_free (Action *action)
{
  g_clear_pointer (&action->test, test_free);
  g_clear_pointer (&action->block, g_ptr_array_unref);
  g_clear_pointer (&action->otherwise, action_free);
  g_free (action->folder);
  g_strfreev (action->flags);
  g_free (action);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Test, test_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Action, action_free)

/* Checking */

typedef struct
{
  Extension required;
} Checker;

static gboolean
invalid (GError              **error,
         const CairnSieveNode *node,
         const char           *message)
{
  cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_INVALID, node->line, node->column, "%s: %s",
                         node->name, message);
  return FALSE;
}

static gboolean
need (Checker              *checker,
      Extension             extension,
      const char           *name,
      const CairnSieveNode *node,
      GError              **error)
{
  g_autofree char *message = NULL;

  if (checker->required & extension)
    return TRUE;
  message = g_strdup_printf ("needs require \"%s\"", name);
  return invalid (error, node, message);
}

static GStrv
strings_of (const CairnSieveArg *arg)
{
  GStrv strv = g_new0 (char *, arg->strings->len + 1);

  for (guint i = 0; i < arg->strings->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (arg->strings, i));
  return strv;
}

/* The positional arguments left after the tags: kinds spelled as a
 * string of 's' (string list), '1' (a single string) and 'n' (number). */
static gboolean
check_positional (const CairnSieveNode *node,
                  GPtrArray            *positional,
                  const char           *shape,
                  GError              **error)
{
  if (positional->len != strlen (shape))
    {
      g_autofree char *message = g_strdup_printf ("takes %zu argument%s besides tags, not %u",
                                                  strlen (shape), strlen (shape) == 1 ? "" : "s",
                                                  positional->len);
      return invalid (error, node, message);
    }
  for (guint i = 0; i < positional->len; i++)
    {
      const CairnSieveArg *arg = g_ptr_array_index (positional, i);
      gboolean number = shape[i] == 'n';

      if ((arg->kind == CAIRN_SIEVE_ARG_NUMBER) != number ||
          (shape[i] == '1' && (arg->is_list || arg->strings->len != 1)))
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_INVALID, arg->line, arg->column,
                                 "%s: argument %u must be %s", node->name, i + 1,
                                 number ? "a number" : shape[i] == '1' ? "a string"
                                                                      : "a string list");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
tag_error (GError             **error,
           const CairnSieveNode *node,
           const CairnSieveArg  *arg,
           const char           *problem)
{
  cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_INVALID, arg->line, arg->column,
                         "%s: %s :%s", node->name, problem, arg->tag);
  return FALSE;
}

/* The string argument that follows a tag (:comparator, :flags). */
static const CairnSieveArg *
tag_value (const CairnSieveNode  *node,
           guint                 *i,
           gboolean               single,
           GError               **error)
{
  const CairnSieveArg *tag = g_ptr_array_index (node->args, *i);
  const CairnSieveArg *value;

  if (*i + 1 >= node->args->len ||
      (value = g_ptr_array_index (node->args, *i + 1))->kind != CAIRN_SIEVE_ARG_STRINGS ||
      (single && (value->is_list || value->strings->len != 1)))
    {
      tag_error (error, node, tag, single ? "a string must follow" : "a string list must follow");
      return NULL;
    }
  (*i)++;
  return value;
}

static Test *check_test (Checker *checker, const CairnSieveNode *node, GError **error);

/* header, address and envelope: [COMPARATOR] [ADDRESS-PART] [MATCH-TYPE]
 * <header-list> <key-list>; exists: <header-list>; hasflag (RFC 5232):
 * [COMPARATOR] [MATCH-TYPE] <list-of-flags>. */
static gboolean
check_match_test (Checker               *checker,
                  const CairnSieveNode  *node,
                  Test                  *test,
                  GError               **error)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  gboolean has_comparator = FALSE, has_match = FALSE, has_part = FALSE;
  gboolean addresses = test->kind == TEST_ADDRESS || test->kind == TEST_ENVELOPE;

  for (guint i = 0; i < node->args->len; i++)
    {
      const CairnSieveArg *arg = g_ptr_array_index (node->args, i);

      if (arg->kind != CAIRN_SIEVE_ARG_TAG)
        {
          g_ptr_array_add (positional, (gpointer) arg);
          continue;
        }
      if (positional->len > 0)
        return tag_error (error, node, arg, "tags come before the other arguments:");
      if (test->kind == TEST_EXISTS)
        return tag_error (error, node, arg, "unknown tag");

      if (g_str_equal (arg->tag, "comparator"))
        {
          const CairnSieveArg *value = tag_value (node, &i, TRUE, error);
          const char *name;

          if (value == NULL)
            return FALSE;
          if (has_comparator)
            return tag_error (error, node, arg, "twice");
          has_comparator = TRUE;
          name = g_ptr_array_index (value->strings, 0);
          if (g_str_equal (name, "i;octet"))
            test->octet = TRUE;
          else if (!g_str_equal (name, "i;ascii-casemap"))
            {
              cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_UNSUPPORTED, value->line,
                                     value->column, "%s: unknown comparator \"%s\"", node->name,
                                     name);
              return FALSE;
            }
        }
      else if (g_str_equal (arg->tag, "is") || g_str_equal (arg->tag, "contains") ||
               g_str_equal (arg->tag, "matches"))
        {
          if (has_match)
            return tag_error (error, node, arg, "a second match type");
          has_match = TRUE;
          test->match = arg->tag[0] == 'i' ? MATCH_IS
                        : arg->tag[0] == 'c' ? MATCH_CONTAINS : MATCH_MATCHES;
        }
      else if (addresses && (g_str_equal (arg->tag, "all") || g_str_equal (arg->tag, "localpart") ||
                             g_str_equal (arg->tag, "domain")))
        {
          if (has_part)
            return tag_error (error, node, arg, "a second address part");
          has_part = TRUE;
          test->part = arg->tag[0] == 'a' ? PART_ALL
                       : arg->tag[0] == 'l' ? PART_LOCALPART : PART_DOMAIN;
        }
      else
        return tag_error (error, node, arg, "unknown tag");
    }

  if (!check_positional (node, positional,
                         test->kind == TEST_EXISTS || test->kind == TEST_HASFLAG ? "s" : "ss",
                         error))
    return FALSE;
  if (test->kind == TEST_HASFLAG)
    {
      /* Each string holds flags separated by spaces. */
      const CairnSieveArg *flags = g_ptr_array_index (positional, 0);
      g_autoptr(GStrvBuilder) keys = g_strv_builder_new ();

      for (guint i = 0; i < flags->strings->len; i++)
        {
          g_auto(GStrv) names = g_strsplit_set (g_ptr_array_index (flags->strings, i), " \t", -1);

          for (guint j = 0; names[j] != NULL; j++)
            if (*names[j] != '\0')
              g_strv_builder_add (keys, names[j]);
        }
      test->keys = g_strv_builder_end (keys);
      return TRUE;
    }
  test->headers = strings_of (g_ptr_array_index (positional, 0));
  if (test->kind != TEST_EXISTS)
    test->keys = strings_of (g_ptr_array_index (positional, 1));

  if (test->kind == TEST_ENVELOPE)
    for (guint i = 0; test->headers[i] != NULL; i++)
      if (g_ascii_strcasecmp (test->headers[i], "from") != 0 &&
          g_ascii_strcasecmp (test->headers[i], "to") != 0)
        {
          g_autofree char *message =
            g_strdup_printf ("unknown envelope part \"%s\"", test->headers[i]);

          return invalid (error, node, message);
        }
  return TRUE;
}

static Test *
check_test (Checker               *checker,
            const CairnSieveNode  *node,
            GError               **error)
{
  static const struct
  {
    const char *name;
    TestKind kind;
  } kinds[] = {
    { "true", TEST_TRUE }, { "false", TEST_FALSE }, { "not", TEST_NOT },
    { "allof", TEST_ALLOF }, { "anyof", TEST_ANYOF }, { "address", TEST_ADDRESS },
    { "envelope", TEST_ENVELOPE }, { "header", TEST_HEADER }, { "exists", TEST_EXISTS },
    { "size", TEST_SIZE }, { "hasflag", TEST_HASFLAG },
  };
  g_autoptr(Test) test = g_new0 (Test, 1);
  gboolean known = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (kinds) && !known; i++)
    if (g_str_equal (node->name, kinds[i].name))
      {
        test->kind = kinds[i].kind;
        known = TRUE;
      }
  if (!known)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_UNSUPPORTED, node->line, node->column,
                             "unknown test \"%s\"", node->name);
      return NULL;
    }

  switch (test->kind)
    {
    case TEST_TRUE:
    case TEST_FALSE:
      if (node->args->len > 0 || node->tests->len > 0)
        return invalid (error, node, "takes no arguments"), NULL;
      break;
    case TEST_NOT:
    case TEST_ALLOF:
    case TEST_ANYOF:
      if (node->args->len > 0 || node->tests->len == 0 ||
          (test->kind == TEST_NOT ? node->test_list || node->tests->len != 1 : !node->test_list))
        return invalid (error, node, test->kind == TEST_NOT ? "takes one test"
                                                            : "takes a list of tests in ( )"),
               NULL;
      test->children = g_ptr_array_new_with_free_func ((GDestroyNotify) test_free);
      for (guint i = 0; i < node->tests->len; i++)
        {
          Test *child = check_test (checker, g_ptr_array_index (node->tests, i), error);

          if (child == NULL)
            return NULL;
          g_ptr_array_add (test->children, child);
        }
      break;
    case TEST_SIZE:
      {
        const CairnSieveArg *tag = node->args->len == 2 ? g_ptr_array_index (node->args, 0)
                                                        : NULL;
        const CairnSieveArg *limit = node->args->len == 2 ? g_ptr_array_index (node->args, 1)
                                                          : NULL;

        if (tag == NULL || tag->kind != CAIRN_SIEVE_ARG_TAG ||
            limit->kind != CAIRN_SIEVE_ARG_NUMBER ||
            (!g_str_equal (tag->tag, "over") && !g_str_equal (tag->tag, "under")) ||
            node->tests->len > 0)
          return invalid (error, node, "takes :over or :under and a number"), NULL;
        test->over = g_str_equal (tag->tag, "over");
        test->limit = limit->number;
      }
      break;
    case TEST_HASFLAG:
      if (!need (checker, EXTENSION_IMAP4FLAGS, "imap4flags", node, error))
        return NULL;
      G_GNUC_FALLTHROUGH;
    case TEST_ENVELOPE:
      if (test->kind == TEST_ENVELOPE &&
          !need (checker, EXTENSION_ENVELOPE, "envelope", node, error))
        return NULL;
      G_GNUC_FALLTHROUGH;
    case TEST_ADDRESS:
    case TEST_HEADER:
    case TEST_EXISTS:
      if (node->tests->len > 0)
        return invalid (error, node, "takes no test"), NULL;
      if (!check_match_test (checker, node, test, error))
        return NULL;
      break;
    }
  return g_steal_pointer (&test);
}

static gboolean
check_require (Checker              *checker,
               const CairnSieveNode *node,
               GError              **error)
{
  const CairnSieveArg *arg = node->args->len == 1 ? g_ptr_array_index (node->args, 0) : NULL;

  if (arg == NULL || arg->kind != CAIRN_SIEVE_ARG_STRINGS || node->tests->len > 0)
    return invalid (error, node, "takes a string list");
  for (guint i = 0; i < arg->strings->len; i++)
    {
      const char *name = g_ptr_array_index (arg->strings, i);
      gboolean known = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (extensions) && !known; j++)
        if (g_str_equal (name, extensions[j].name))
          {
            checker->required |= extensions[j].extension;
            known = TRUE;
          }
      if (!known)
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_UNSUPPORTED, arg->line, arg->column,
                                 "require: unknown extension \"%s\"", name);
          return FALSE;
        }
    }
  return TRUE;
}

static GPtrArray *check_block (Checker *checker, GPtrArray *nodes, gboolean top,
                               guint *n_rules, GError **error);

/* keep [:flags <list>], fileinto [:create] [:flags <list>] <folder>. */
static gboolean
check_delivery (Checker              *checker,
                const CairnSieveNode *node,
                Action               *action,
                GError              **error)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();

  for (guint i = 0; i < node->args->len; i++)
    {
      const CairnSieveArg *arg = g_ptr_array_index (node->args, i);

      if (arg->kind != CAIRN_SIEVE_ARG_TAG)
        g_ptr_array_add (positional, (gpointer) arg);
      else if (g_str_equal (arg->tag, "flags") && !action->has_flags)
        {
          const CairnSieveArg *value = tag_value (node, &i, FALSE, error);

          if (value == NULL || !need (checker, EXTENSION_IMAP4FLAGS, "imap4flags", node, error))
            return FALSE;
          action->flags = strings_of (value);
          action->has_flags = TRUE;
        }
      else if (g_str_equal (arg->tag, "create") && action->kind == ACTION_FILEINTO &&
               !action->create)
        {
          if (!need (checker, EXTENSION_MAILBOX, "mailbox", node, error))
            return FALSE;
          action->create = TRUE;
        }
      else
        return tag_error (error, node, arg, "unknown or repeated tag");
    }
  if (!check_positional (node, positional, action->kind == ACTION_FILEINTO ? "1" : "", error))
    return FALSE;
  if (action->kind == ACTION_FILEINTO)
    {
      const CairnSieveArg *folder = g_ptr_array_index (positional, 0);

      action->folder = g_strdup (g_ptr_array_index (folder->strings, 0));
      if (*action->folder == '\0')
        return invalid (error, node, "the folder name is empty");
    }
  return TRUE;
}

static Action *
check_action (Checker              *checker,
              const CairnSieveNode *node,
              GError              **error)
{
  static const struct
  {
    const char *name;
    ActionKind kind;
  } kinds[] = {
    { "if", ACTION_IF }, { "keep", ACTION_KEEP }, { "fileinto", ACTION_FILEINTO },
    { "discard", ACTION_DISCARD }, { "stop", ACTION_STOP }, { "addflag", ACTION_ADDFLAG },
    { "setflag", ACTION_SETFLAG }, { "removeflag", ACTION_REMOVEFLAG },
  };
  g_autoptr(Action) action = g_new0 (Action, 1);
  gboolean known = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (kinds) && !known; i++)
    if (g_str_equal (node->name, kinds[i].name))
      {
        action->kind = kinds[i].kind;
        known = TRUE;
      }
  if (g_str_equal (node->name, "require"))
    return invalid (error, node, "must come before every other command"), NULL;
  if (g_str_equal (node->name, "elsif") || g_str_equal (node->name, "else"))
    return invalid (error, node, "must follow if or elsif"), NULL;
  if (!known)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_UNSUPPORTED, node->line, node->column,
                             "unknown command \"%s\"", node->name);
      return NULL;
    }
  if (action->kind != ACTION_IF && node->block != NULL)
    return invalid (error, node, "takes no block"), NULL;
  if (action->kind != ACTION_IF && node->tests->len > 0)
    return invalid (error, node, "takes no test"), NULL;

  switch (action->kind)
    {
    case ACTION_IF:
      /* Filled by check_block, which chains elsif and else. */
      break;
    case ACTION_FILEINTO:
      if (!need (checker, EXTENSION_FILEINTO, "fileinto", node, error))
        return NULL;
      G_GNUC_FALLTHROUGH;
    case ACTION_KEEP:
      if (!check_delivery (checker, node, action, error))
        return NULL;
      break;
    case ACTION_DISCARD:
    case ACTION_STOP:
      if (node->args->len > 0)
        return invalid (error, node, "takes no arguments"), NULL;
      break;
    case ACTION_ADDFLAG:
    case ACTION_SETFLAG:
    case ACTION_REMOVEFLAG:
      {
        g_autoptr(GPtrArray) positional = g_ptr_array_new ();

        if (!need (checker, EXTENSION_IMAP4FLAGS, "imap4flags", node, error))
          return NULL;
        for (guint i = 0; i < node->args->len; i++)
          g_ptr_array_add (positional, g_ptr_array_index (node->args, i));
        if (!check_positional (node, positional, "s", error))
          return NULL;
        action->flags = strings_of (g_ptr_array_index (positional, 0));
      }
      break;
    }
  return g_steal_pointer (&action);
}

/* if, elsif and else: a test (none for else) and a block. */
static Action *
check_conditional (Checker              *checker,
                   const CairnSieveNode *node,
                   guint                *n_rules,
                   GError              **error)
{
  g_autoptr(Action) action = g_new0 (Action, 1);
  gboolean is_else = g_str_equal (node->name, "else");

  action->kind = ACTION_IF;
  if (node->args->len > 0)
    return invalid (error, node, "takes no arguments"), NULL;
  if (is_else ? node->tests->len > 0 : node->tests->len != 1 || node->test_list)
    return invalid (error, node, is_else ? "takes no test" : "takes one test"), NULL;
  if (node->block == NULL)
    return invalid (error, node, "needs a block"), NULL;
  if (!is_else)
    {
      action->test = check_test (checker, g_ptr_array_index (node->tests, 0), error);
      if (action->test == NULL)
        return NULL;
      (*n_rules)++;
    }
  action->block = check_block (checker, node->block, FALSE, n_rules, error);
  if (action->block == NULL)
    return NULL;
  return g_steal_pointer (&action);
}

static GPtrArray *
check_block (Checker    *checker,
             GPtrArray  *nodes,
             gboolean    top,
             guint      *n_rules,
             GError    **error)
{
  g_autoptr(GPtrArray) actions = g_ptr_array_new_with_free_func ((GDestroyNotify) action_free);
  gboolean requires_allowed = top;
  Action *chain = NULL;  /* the last if or elsif, which an elsif or else extends */

  for (guint i = 0; i < nodes->len; i++)
    {
      const CairnSieveNode *node = g_ptr_array_index (nodes, i);
      Action *action;

      if (g_str_equal (node->name, "require") && requires_allowed)
        {
          if (node->block != NULL)
            return invalid (error, node, "takes no block"), NULL;
          if (!check_require (checker, node, error))
            return NULL;
          continue;
        }
      requires_allowed = FALSE;

      if (g_str_equal (node->name, "if") || (chain != NULL &&
                                             (g_str_equal (node->name, "elsif") ||
                                              g_str_equal (node->name, "else"))))
        {
          action = check_conditional (checker, node, n_rules, error);
          if (action == NULL)
            return NULL;
          if (g_str_equal (node->name, "if"))
            {
              g_ptr_array_add (actions, action);
              chain = action;
            }
          else
            {
              chain->otherwise = action;
              chain = g_str_equal (node->name, "else") ? NULL : action;
            }
          continue;
        }

      chain = NULL;
      action = check_action (checker, node, error);
      if (action == NULL)
        return NULL;
      g_ptr_array_add (actions, action);
    }
  return g_steal_pointer (&actions);
}

/* Matching */

/* RFC 5228 2.7.1 :matches: '*' is any sequence, '?' one character and a
 * backslash quotes the next one. Backtracks on the last '*' only, which
 * is enough since '*' matches everything in between. */
static gboolean
glob_match (const char *pattern,
            const char *text,
            gboolean    octet)
{
  const char *star = NULL, *resume = NULL;

  while (*text != '\0')
    {
      if (*pattern == '*')
        {
          star = ++pattern;
          resume = text;
          continue;
        }
      if (*pattern == '?')
        {
          pattern++;
          text = octet ? text + 1 : g_utf8_next_char (text);
          continue;
        }
      if (*pattern != '\0')
        {
          const char *literal = *pattern == '\\' && pattern[1] != '\0' ? pattern + 1 : pattern;

          if (octet ? *literal == *text : g_ascii_tolower (*literal) == g_ascii_tolower (*text))
            {
              pattern = literal + 1;
              text++;
              continue;
            }
        }
      if (star == NULL)
        return FALSE;
      pattern = star;
      resume = octet ? resume + 1 : g_utf8_next_char (resume);
      text = resume;
    }
  while (*pattern == '*')
    pattern++;
  return *pattern == '\0';
}

static gboolean
contains (const char *text,
          const char *key,
          gboolean    octet)
{
  gsize key_length = strlen (key);

  if (octet)
    return strstr (text, key) != NULL;
  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_strncasecmp (p, key, key_length) == 0)
      return TRUE;
  return key_length == 0;
}

static gboolean
match_value (const Test *test,
             const char *value)
{
  for (guint i = 0; test->keys[i] != NULL; i++)
    {
      const char *key = test->keys[i];
      gboolean matched;

      switch (test->match)
        {
        case MATCH_IS:
          matched = test->octet ? g_str_equal (value, key) : g_ascii_strcasecmp (value, key) == 0;
          break;
        case MATCH_CONTAINS:
          matched = contains (value, key, test->octet);
          break;
        case MATCH_MATCHES:
        default:
          matched = glob_match (key, value, test->octet);
          break;
        }
      if (matched)
        return TRUE;
    }
  return FALSE;
}

static gboolean
match_address (const Test *test,
               const char *address)
{
  const char *at = strrchr (address, '@');
  g_autofree char *part = NULL;

  switch (test->part)
    {
    case PART_LOCALPART:
      part = at != NULL ? g_strndup (address, at - address) : g_strdup (address);
      break;
    case PART_DOMAIN:
      part = g_strdup (at != NULL ? at + 1 : "");
      break;
    case PART_ALL:
    default:
      part = g_strdup (address);
      break;
    }
  return match_value (test, part);
}

static gboolean
match_address_list (const Test          *test,
                    InternetAddressList *list)
{
  int length = internet_address_list_length (list);

  for (int i = 0; i < length; i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        {
          InternetAddressGroup *group = INTERNET_ADDRESS_GROUP (address);

          if (match_address_list (test, internet_address_group_get_members (group)))
            return TRUE;
        }
      else if (match_address (test, internet_address_mailbox_get_addr (
                                      INTERNET_ADDRESS_MAILBOX (address))))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  CairnSieveMessage *message;
  GPtrArray *targets;
  GPtrArray *flags;       /* RFC 5232's internal variable */
  gboolean implicit_keep;
  gboolean stopped;
} Run;

static gboolean
run_test (const Test *test,
          Run        *run)
{
  CairnSieveMessage *message = run->message;

  switch (test->kind)
    {
    case TEST_TRUE:
      return TRUE;
    case TEST_FALSE:
      return FALSE;
    case TEST_NOT:
      return !run_test (g_ptr_array_index (test->children, 0), run);
    case TEST_ALLOF:
    case TEST_ANYOF:
      for (guint i = 0; i < test->children->len; i++)
        if (run_test (g_ptr_array_index (test->children, i), run) == (test->kind == TEST_ANYOF))
          return test->kind == TEST_ANYOF;
      return test->kind == TEST_ALLOF;
    case TEST_SIZE:
      return test->over ? message->size > test->limit : message->size < test->limit;
    case TEST_HASFLAG:
      for (guint i = 0; i < run->flags->len; i++)
        if (match_value (test, g_ptr_array_index (run->flags, i)))
          return TRUE;
      return FALSE;
    case TEST_EXISTS:
      for (guint i = 0; test->headers[i] != NULL; i++)
        if (!g_mime_header_list_contains (message->headers, test->headers[i]))
          return FALSE;
      return TRUE;
    case TEST_HEADER:
      for (guint i = 0; test->headers[i] != NULL; i++)
        {
          g_autoptr(GPtrArray) values = cairn_sieve_message_get_values (message, test->headers[i],
                                                                        TRUE);

          for (guint j = 0; j < values->len; j++)
            if (match_value (test, g_ptr_array_index (values, j)))
              return TRUE;
        }
      return FALSE;
    case TEST_ADDRESS:
      for (guint i = 0; test->headers[i] != NULL; i++)
        {
          g_autoptr(GPtrArray) values = cairn_sieve_message_get_values (message, test->headers[i],
                                                                        FALSE);

          for (guint j = 0; j < values->len; j++)
            {
              g_autoptr(InternetAddressList) list =
                internet_address_list_parse (NULL, g_ptr_array_index (values, j));

              if (list != NULL && match_address_list (test, list))
                return TRUE;
            }
        }
      return FALSE;
    case TEST_ENVELOPE:
      for (guint i = 0; test->headers[i] != NULL; i++)
        {
          const char *value = g_ascii_strcasecmp (test->headers[i], "from") == 0
                              ? message->envelope_from : message->envelope_to;

          /* The null sender <> has no parts but :all, whose value is "". */
          if (value != NULL && match_address (test, value))
            return TRUE;
        }
      return FALSE;
    }
  g_return_val_if_reached (FALSE);
}

/* Running */

static void
target_free (CairnSieveTarget *target)
{
  g_free (target->folder);
  g_ptr_array_unref (target->flags);
  g_free (target);
}

static gint
find_flag (GPtrArray  *flags,
           const char *flag)
{
  for (guint i = 0; i < flags->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (flags, i), flag) == 0)
      return (gint) i;
  return -1;
}

/* Flag arguments are lists of strings each holding flags separated by
 * spaces (RFC 5232 3). */
static void
update_flags (GPtrArray   *flags,
              const GStrv  list,
              gboolean     add)
{
  for (guint i = 0; list[i] != NULL; i++)
    {
      g_auto(GStrv) names = g_strsplit_set (list[i], " \t", -1);

      for (guint j = 0; names[j] != NULL; j++)
        {
          gint found;

          if (*names[j] == '\0')
            continue;
          found = find_flag (flags, names[j]);
          if (add && found < 0)
            g_ptr_array_add (flags, g_strdup (names[j]));
          else if (!add && found >= 0)
            g_ptr_array_remove_index (flags, found);
        }
    }
}

static GPtrArray *
copy_flags (GPtrArray *flags)
{
  return g_ptr_array_copy (flags, (GCopyFunc) g_strdup, NULL);
}

/* A folder gets a message once; a second delivery to it updates the
 * flags it gets. */
static void
deliver (Run        *run,
         const char *folder,
         gboolean    create,
         GPtrArray  *flags)
{
  CairnSieveTarget *target = NULL;

  for (guint i = 0; i < run->targets->len && target == NULL; i++)
    {
      CairnSieveTarget *existing = g_ptr_array_index (run->targets, i);

      if (g_strcmp0 (existing->folder, folder) == 0)
        target = existing;
    }
  if (target == NULL)
    {
      target = g_new0 (CairnSieveTarget, 1);
      target->folder = g_strdup (folder);
      g_ptr_array_add (run->targets, target);
    }
  else
    g_ptr_array_unref (target->flags);
  target->create |= create;
  target->flags = flags;
}

static GPtrArray *
delivery_flags (Run          *run,
                const Action *action)
{
  GPtrArray *flags;

  if (!action->has_flags)
    return copy_flags (run->flags);
  flags = g_ptr_array_new_with_free_func (g_free);
  update_flags (flags, action->flags, TRUE);
  return flags;
}

static void
run_actions (Run       *run,
             GPtrArray *actions)
{
  for (guint i = 0; i < actions->len && !run->stopped; i++)
    {
      const Action *action = g_ptr_array_index (actions, i);

      switch (action->kind)
        {
        case ACTION_IF:
          while (action != NULL && action->test != NULL && !run_test (action->test, run))
            action = action->otherwise;
          if (action != NULL)
            run_actions (run, action->block);
          break;
        case ACTION_KEEP:
          deliver (run, NULL, FALSE, delivery_flags (run, action));
          run->implicit_keep = FALSE;
          break;
        case ACTION_FILEINTO:
          deliver (run, action->folder, action->create, delivery_flags (run, action));
          run->implicit_keep = FALSE;
          break;
        case ACTION_DISCARD:
          run->implicit_keep = FALSE;
          break;
        case ACTION_STOP:
          run->stopped = TRUE;
          break;
        case ACTION_SETFLAG:
          g_ptr_array_set_size (run->flags, 0);
          update_flags (run->flags, action->flags, TRUE);
          break;
        case ACTION_ADDFLAG:
        case ACTION_REMOVEFLAG:
          update_flags (run->flags, action->flags, action->kind == ACTION_ADDFLAG);
          break;
        }
    }
}

/**
 * cairn_sieve_script_run:
 * @self: a script
 * @message: the message to filter
 *
 * Runs the script on a message.
 *
 * Returns: (transfer full): where the message goes
 */
CairnSieveOutcome *
cairn_sieve_script_run (CairnSieveScript  *self,
                        CairnSieveMessage *message)
{
  g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func (g_free);
  CairnSieveOutcome *outcome = g_new0 (CairnSieveOutcome, 1);
  Run run = { message, NULL, flags, TRUE, FALSE };

  g_return_val_if_fail (CAIRN_IS_SIEVE_SCRIPT (self), NULL);

  outcome->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  run.targets = outcome->targets;
  run_actions (&run, self->actions);
  if (run.implicit_keep)
    deliver (&run, NULL, FALSE, copy_flags (run.flags));
  return outcome;
}

void
cairn_sieve_outcome_free (CairnSieveOutcome *outcome)
{
  g_ptr_array_unref (outcome->targets);
  g_free (outcome);
}

/**
 * cairn_sieve_outcome_to_string:
 * @outcome: an outcome
 *
 * Describes an outcome in Sieve's words, one action after the other:
 * `keep`, `fileinto :create "Lists/GNOME"`, `discard`, with the flags
 * each delivery sets as `:flags ["\\Seen"]`.
 *
 * Returns: (transfer full): the description
 */
char *
cairn_sieve_outcome_to_string (CairnSieveOutcome *outcome)
{
  g_autoptr(GString) text = g_string_new (NULL);

  if (outcome->targets->len == 0)
    return g_strdup ("discard");
  for (guint i = 0; i < outcome->targets->len; i++)
    {
      CairnSieveTarget *target = g_ptr_array_index (outcome->targets, i);

      if (i > 0)
        g_string_append (text, "; ");
      if (target->folder == NULL)
        g_string_append (text, "keep");
      else
        g_string_append_printf (text, "fileinto%s \"%s\"", target->create ? " :create" : "",
                                target->folder);
      if (target->flags->len > 0)
        {
          g_string_append (text, " :flags [");
          for (guint j = 0; j < target->flags->len; j++)
            g_string_append_printf (text, "%s\"%s\"", j > 0 ? ", " : "",
                                    (char *) g_ptr_array_index (target->flags, j));
          g_string_append_c (text, ']');
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* GObject */

static void
cairn_sieve_script_finalize (GObject *object)
{
  CairnSieveScript *self = CAIRN_SIEVE_SCRIPT (object);

  g_clear_pointer (&self->actions, g_ptr_array_unref);

  G_OBJECT_CLASS (cairn_sieve_script_parent_class)->finalize (object);
}

static void
cairn_sieve_script_class_init (CairnSieveScriptClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_sieve_script_finalize;
}

static void
cairn_sieve_script_init (CairnSieveScript *self)
{
}

/**
 * cairn_sieve_script_new:
 * @text: the script, in UTF-8
 * @length: its length in bytes
 * @error: return location for a #CAIRN_SIEVE_ERROR
 *
 * Parses and checks a script.
 *
 * Returns: (transfer full): the script, or %NULL with @error set to the
 *   first error and its position
 */
CairnSieveScript *
cairn_sieve_script_new (const char  *text,
                        gsize        length,
                        GError     **error)
{
  g_autoptr(CairnSieveScript) self = NULL;
  g_autoptr(GPtrArray) nodes = NULL;
  Checker checker = { 0 };
  guint n_rules = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  nodes = cairn_sieve_parse (text != NULL ? text : "", length, error);
  if (nodes == NULL)
    return NULL;
  self = g_object_new (CAIRN_TYPE_SIEVE_SCRIPT, NULL);
  self->actions = check_block (&checker, nodes, TRUE, &n_rules, error);
  if (self->actions == NULL)
    return NULL;
  self->n_rules = n_rules;
  return g_steal_pointer (&self);
}

/**
 * cairn_sieve_script_new_from_file:
 * @path: the file holding the script
 * @error: return location for a #GFileError or a #CAIRN_SIEVE_ERROR
 *
 * Reads, parses and checks a script. A script's error is prefixed with
 * its path.
 *
 * Returns: (transfer full): the script, or %NULL with @error set
 */
CairnSieveScript *
cairn_sieve_script_new_from_file (const char  *path,
                                  GError     **error)
{
  g_autofree char *text = NULL;
  gsize length;
  CairnSieveScript *self;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  self = cairn_sieve_script_new (text, length, error);
  if (self == NULL)
    g_prefix_error (error, "%s: ", path);
  return self;
}

/**
 * cairn_sieve_script_get_n_rules:
 * @self: a script
 *
 * Counts the rules of a script: its if and elsif tests.
 *
 * Returns: the number of rules
 */
guint
cairn_sieve_script_get_n_rules (CairnSieveScript *self)
{
  g_return_val_if_fail (CAIRN_IS_SIEVE_SCRIPT (self), 0);

  return self->n_rules;
}
