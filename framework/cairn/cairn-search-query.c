/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The search query language (docs/search.md), parsed by recursive descent
 * into a tree and compiled into an SQL condition on the index. User text
 * never becomes SQL or FTS5 syntax: every value is a bound parameter, and
 * text for FTS5 is one quoted string per term with its quotes doubled.
 * Sub-trees made only of text terms joined by and/or compile to a single
 * FTS5 MATCH, which FTS5 evaluates far faster than one per term. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cairn-search.h"
#include "cairn-search-query-private.h"

typedef enum
{
  TOKEN_END,
  TOKEN_OPEN,
  TOKEN_CLOSE,
  TOKEN_AND,
  TOKEN_OR,
  TOKEN_NOT,
  TOKEN_TERM,
} TokenKind;

typedef struct
{
  TokenKind kind;
  gsize position;       /* byte offset in the query */
  char *prefix;         /* "from", ... or NULL for bare text */
  char *value;
  gboolean star;        /* a bare word ending in '*': a prefix search */
} Token;

typedef enum
{
  NODE_AND,
  NODE_OR,
  NODE_NOT,
  NODE_TEXT,            /* an FTS5 term */
  NODE_SQL,             /* a condition on docs d */
} NodeKind;

typedef struct _Node Node;
struct _Node
{
  NodeKind kind;
  Node *left;
  Node *right;
  char *text;           /* NODE_TEXT: the FTS5 phrase, quoted; NODE_SQL: the condition */
  char *probe;          /* NODE_SQL: the condition for one row, or NULL: the same */
  GPtrArray *parameters; /* NODE_SQL */
};

typedef struct
{
  const char *query;
  const char *p;
  Token token;
  guint depth;
  guint terms;
  GArray *folders;
  gint64 now;
  GError **error;
} Parser;

static void
node_free (Node *node)
{
  if (node == NULL)
    return;
  node_free (node->left);
  node_free (node->right);
  g_free (node->text);
  g_free (node->probe);
  if (node->parameters != NULL)
    g_ptr_array_unref (node->parameters);
  g_free (node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Node, node_free)

static void
token_clear (Token *token)
{
  g_clear_pointer (&token->prefix, g_free);
  g_clear_pointer (&token->value, g_free);
  token->star = FALSE;
}

static gboolean
fail_at (Parser     *parser,
         gsize       position,
         const char *format,
         ...) G_GNUC_PRINTF (3, 4);

/* Errors name the character (counted from 1) where the problem is. */
static gboolean
fail_at (Parser     *parser,
         gsize       position,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (parser->error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY,
               "Invalid query at character %ld: %s",
               g_utf8_pointer_to_offset (parser->query, parser->query + position) + 1, message);
  return FALSE;
}

static const char * const prefixes[] = {
  "from", "to", "subject", "body", "attachment", "mimetype", "list", "id", "thread", "tag",
  "flag", "folder", "date",
};

static gboolean
is_word_end (char c)
{
  return c == '\0' || c == '(' || c == ')' || c == '"' || g_ascii_isspace (c);
}

/* A "quoted phrase" starting at parser->p; "" inside stands for ". */
static char *
read_phrase (Parser *parser)
{
  GString *value = g_string_new (NULL);
  gsize start = parser->p - parser->query;

  parser->p++;
  for (;;)
    {
      if (*parser->p == '\0')
        {
          g_string_free (value, TRUE);
          fail_at (parser, start, "unbalanced quote");
          return NULL;
        }
      if (*parser->p == '"')
        {
          if (parser->p[1] != '"')
            break;
          parser->p++;
        }
      g_string_append_c (value, *parser->p++);
    }
  parser->p++;
  return g_string_free (value, FALSE);
}

static gboolean
next_token (Parser *parser)
{
  Token *token = &parser->token;
  const char *start;

  token_clear (token);
  while (g_ascii_isspace (*parser->p))
    parser->p++;
  token->position = parser->p - parser->query;
  switch (*parser->p)
    {
    case '\0':
      token->kind = TOKEN_END;
      return TRUE;
    case '(':
      token->kind = TOKEN_OPEN;
      parser->p++;
      return TRUE;
    case ')':
      token->kind = TOKEN_CLOSE;
      parser->p++;
      return TRUE;
    case '"':
      token->kind = TOKEN_TERM;
      token->value = read_phrase (parser);
      return token->value != NULL;
    default:
      break;
    }

  start = parser->p;
  while (!is_word_end (*parser->p) && *parser->p != ':')
    parser->p++;
  token->kind = TOKEN_TERM;
  if (*parser->p == ':')
    {
      token->prefix = g_ascii_strdown (start, parser->p - start);
      if (!g_strv_contains (prefixes, token->prefix))
        return fail_at (parser, token->position, "unknown prefix “%s:”", token->prefix);
      parser->p++;
      if (*parser->p == '"')
        {
          token->value = read_phrase (parser);
          return token->value != NULL;
        }
      start = parser->p;
      while (!is_word_end (*parser->p))
        parser->p++;
      if (parser->p == start)
        return fail_at (parser, token->position, "“%s:” needs a value", token->prefix);
      token->value = g_strndup (start, parser->p - start);
      return TRUE;
    }
  while (!is_word_end (*parser->p))
    parser->p++;
  token->value = g_strndup (start, parser->p - start);
  if (g_ascii_strcasecmp (token->value, "and") == 0)
    token->kind = TOKEN_AND;
  else if (g_ascii_strcasecmp (token->value, "or") == 0)
    token->kind = TOKEN_OR;
  else if (g_ascii_strcasecmp (token->value, "not") == 0)
    token->kind = TOKEN_NOT;
  else if (g_str_has_suffix (token->value, "*"))
    {
      token->star = TRUE;
      token->value[strlen (token->value) - 1] = '\0';
    }
  return TRUE;
}

static Node *
node_new (NodeKind  kind,
          Node     *left,
          Node     *right)
{
  Node *node = g_new0 (Node, 1);

  node->kind = kind;
  node->left = left;
  node->right = right;
  return node;
}

static Node *
sql_node (GPtrArray  *parameters,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static Node *
sql_node (GPtrArray  *parameters,
          const char *format,
          ...)
{
  Node *node = node_new (NODE_SQL, NULL, NULL);
  va_list args;

  va_start (args, format);
  node->text = g_strdup_vprintf (format, args);
  va_end (args);
  node->parameters = parameters ? parameters
                                : g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  return node;
}

static GPtrArray *
parameters_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

/* A text term: one FTS5 string, in double quotes with its own doubled, so
 * that nothing in it (NEAR, ^, *, a column name, a quote) is FTS5 syntax. */
static Node *
text_node (Parser     *parser,
           const char *column,
           const char *value,
           gboolean    star)
{
  GString *text = g_string_new (NULL);
  gboolean has_word = FALSE;
  Node *node;

  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_isalnum (g_utf8_get_char (p)))
      has_word = TRUE;
  if (!has_word)
    {
      g_string_free (text, TRUE);
      fail_at (parser, parser->token.position, "“%s” has no word to search for", value);
      return NULL;
    }
  if (column != NULL)
    g_string_append_printf (text, "%s : ", column);
  g_string_append_c (text, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (text, '"');
      g_string_append_c (text, *p);
    }
  g_string_append_c (text, '"');
  if (star)
    g_string_append (text, " *");
  node = node_new (NODE_TEXT, NULL, NULL);
  node->text = g_string_free (text, FALSE);
  return node;
}

/* Dates: YYYY, YYYY-MM, YYYY-MM-DD (UTC), today, yesterday, or an age
 * N followed by h, d, w, m or y. Sets the start and end (exclusive) of
 * the period it names. */
static gboolean
parse_date (Parser     *parser,
            const char *text,
            gint64     *start,
            gint64     *end)
{
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (parser->now);
  g_autoptr(GDateTime) day = NULL;
  g_autoptr(GDateTime) first = NULL;
  g_autoptr(GDateTime) last = NULL;
  int year = 0, month = 0, mday = 0, consumed = 0;
  char *number_end;
  guint64 count;

  if (g_ascii_strcasecmp (text, "today") == 0 || g_ascii_strcasecmp (text, "yesterday") == 0)
    {
      day = g_date_time_new_utc (g_date_time_get_year (now), g_date_time_get_month (now),
                                 g_date_time_get_day_of_month (now), 0, 0, 0);
      first = g_date_time_add_days (day, g_ascii_strcasecmp (text, "today") == 0 ? 0 : -1);
      last = g_date_time_add_days (first, 1);
    }
  else if (g_ascii_isdigit (*text) &&
           (count = g_ascii_strtoull (text, &number_end, 10)) <= 100000 &&
           number_end[0] != '\0' && number_end[1] == '\0' && strchr ("hdwmy", *number_end))
    {
      static const gint64 unit_seconds[] = { 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400 };

      *start = parser->now - (gint64) count * unit_seconds[strchr ("hdwmy", *number_end) - "hdwmy"];
      *end = parser->now + 1;
      return TRUE;
    }
  else if ((sscanf (text, "%4d-%2d-%2d%n", &year, &month, &mday, &consumed) == 3 ||
            sscanf (text, "%4d-%2d%n", &year, &month, &consumed) == 2 ||
            sscanf (text, "%4d%n", &year, &consumed) == 1) &&
           (gsize) consumed == strlen (text) && year >= 1 && year <= 9998)
    {
      first = g_date_time_new_utc (year, month ? month : 1, mday ? mday : 1, 0, 0, 0);
      if (first != NULL)
        last = mday ? g_date_time_add_days (first, 1)
                    : month ? g_date_time_add_months (first, 1) : g_date_time_add_years (first, 1);
    }
  if (first == NULL || last == NULL)
    return fail_at (parser, parser->token.position, "“%s” is not a date", text);
  *start = g_date_time_to_unix (first);
  *end = g_date_time_to_unix (last);
  return TRUE;
}

/* date:PERIOD, date:FROM..TO, date:FROM.. or date:..TO, both ends
 * included. */
static gboolean
parse_date_range (Parser     *parser,
                  const char *value,
                  gint64     *start,
                  gint64     *end)
{
  const char *dots = strstr (value, "..");
  g_autofree char *from = NULL;
  gint64 unused;

  *start = G_MININT64;
  *end = G_MAXINT64;
  if (dots == NULL)
    return parse_date (parser, value, start, end);
  from = g_strndup (value, dots - value);
  return (*from == '\0' || parse_date (parser, from, start, &unused)) &&
         (dots[2] == '\0' || parse_date (parser, dots + 2, &unused, end));
}

/* A date range is a range of keys, which order items as their dates do
 * and are the seconds times 2^24 plus a number below 2^24
 * (agents/indexer/cairn-indexer-index.c): walking it needs no sort. */
static gint64
date_to_key (gint64 date)
{
  const gint64 bound = G_GINT64_CONSTANT (1) << 38;

  if (date <= -bound)
    return G_MININT64;
  if (date >= bound)
    return G_MAXINT64;
  return date * (G_GINT64_CONSTANT (1) << 24);
}

static Node *
date_node (Parser     *parser,
           const char *value)
{
  GPtrArray *parameters;
  gint64 start, end;

  if (!parse_date_range (parser, value, &start, &end))
    return NULL;
  parameters = parameters_new ();
  g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_int64 (date_to_key (start))));
  g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_int64 (date_to_key (end))));
  return sql_node (parameters, "(d.key >= ? AND d.key < ?)");
}

static Node *
flag_node (const char *value)
{
  static const struct
  {
    const char *name;
    const char *flag;
  } names[] = {
    { "seen", CAIRN_FLAG_SEEN }, { "read", CAIRN_FLAG_SEEN },
    { "flagged", CAIRN_FLAG_FLAGGED }, { "answered", CAIRN_FLAG_ANSWERED },
    { "replied", CAIRN_FLAG_ANSWERED }, { "draft", CAIRN_FLAG_DRAFT },
    { "deleted", CAIRN_FLAG_DELETED }, { "forwarded", "$Forwarded" },
  };
  GPtrArray *parameters = parameters_new ();
  const char *flag = value;
  gboolean negate = g_ascii_strcasecmp (value, "unread") == 0;
  Node *node;

  if (negate)
    flag = CAIRN_FLAG_SEEN;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (value, names[i].name) == 0)
      flag = names[i].flag;

  g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_string (flag)));
  node = sql_node (parameters, "d.id %sIN (SELECT id FROM flags WHERE flag = ?)",
                   negate ? "NOT " : "");
  node->probe = g_strdup_printf ("%sEXISTS (SELECT 1 FROM flags f WHERE f.flag = ? AND "
                                 "f.id = d.id)", negate ? "NOT " : "");
  return node;
}

/* folder: names a collection by its name or its path from the top
 * ("Lists/cairn"), case-insensitively; the ids are ours, not user text. */
static Node *
folder_node (Parser     *parser,
             const char *value)
{
  g_autoptr(GString) ids = g_string_new (NULL);
  g_autofree char *wanted = g_utf8_casefold (value, -1);

  for (guint i = 0; parser->folders != NULL && i < parser->folders->len; i++)
    {
      CairnSearchFolder *folder = &g_array_index (parser->folders, CairnSearchFolder, i);
      g_autofree char *name = g_utf8_casefold (folder->name, -1);
      g_autofree char *path = g_utf8_casefold (folder->path, -1);

      if (g_str_equal (name, wanted) || g_str_equal (path, wanted))
        g_string_append_printf (ids, "%s%" G_GUINT64_FORMAT, ids->len ? "," : "", folder->id);
    }
  return sql_node (NULL, "d.collection IN (%s)", ids->str);
}

static Node *
term_node (Parser *parser)
{
  Token *token = &parser->token;
  const char *prefix = token->prefix;
  const char *value = token->value;
  GPtrArray *parameters;
  Node *node;

  if (!g_utf8_validate (value, -1, NULL))
    {
      fail_at (parser, token->position, "the text is not valid UTF-8");
      return NULL;
    }
  if (prefix == NULL)
    return text_node (parser, NULL, value, token->star);
  if (g_str_equal (prefix, "from"))
    return text_node (parser, "sender", value, FALSE);
  if (g_str_equal (prefix, "to"))
    return text_node (parser, "recipients", value, FALSE);
  if (g_str_equal (prefix, "subject") || g_str_equal (prefix, "body"))
    return text_node (parser, prefix, value, FALSE);
  if (g_str_equal (prefix, "attachment"))
    return text_node (parser, "attachment", value, FALSE);
  if (g_str_equal (prefix, "mimetype"))
    return text_node (parser, "mimetype", value, FALSE);
  if (g_str_equal (prefix, "list"))
    return text_node (parser, "listid", value, FALSE);
  if (g_str_equal (prefix, "date"))
    return date_node (parser, value);
  if (g_str_equal (prefix, "flag"))
    return flag_node (value);
  if (g_str_equal (prefix, "folder"))
    return folder_node (parser, value);

  parameters = parameters_new ();
  if (g_str_equal (prefix, "thread"))
    {
      guint64 thread;

      if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXINT64, &thread, NULL))
        {
          g_ptr_array_unref (parameters);
          fail_at (parser, token->position, "“%s” is not a thread id", value);
          return NULL;
        }
      g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_int64 ((gint64) thread)));
      return sql_node (parameters, "d.thread = ?");
    }
  if (g_str_equal (prefix, "id"))
    {
      g_autofree char *id = g_strdup (value);

      /* id:<a@b> and id:a@b both name message id a@b. */
      if (*id == '<' && g_str_has_suffix (id, ">"))
        {
          id[strlen (id) - 1] = '\0';
          memmove (id, id + 1, strlen (id));
        }
      g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_string (id)));
      return sql_node (parameters, "d.message_id = ?");
    }
  /* tag: */
  g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_string (value)));
  g_ptr_array_add (parameters, g_variant_ref_sink (g_variant_new_string (value)));
  node = sql_node (parameters, "d.id IN (SELECT i.id FROM item_tags i JOIN tags t ON t.tag = i.tag"
                   " WHERE t.name = ? COLLATE NOCASE OR t.gid = ?)");
  node->probe = g_strdup ("EXISTS (SELECT 1 FROM item_tags i JOIN tags t ON t.tag = i.tag"
                          " WHERE (t.name = ? COLLATE NOCASE OR t.gid = ?) AND i.id = d.id)");
  return node;
}

static Node *parse_or (Parser *parser);

static Node *
parse_unary (Parser *parser)
{
  Token *token = &parser->token;
  gsize position = token->position;
  g_autoptr(Node) inner = NULL;

  if (++parser->depth > CAIRN_SEARCH_QUERY_MAX_DEPTH)
    {
      fail_at (parser, position, "nested more than %d deep", CAIRN_SEARCH_QUERY_MAX_DEPTH);
      return NULL;
    }
  switch (token->kind)
    {
    case TOKEN_NOT:
      if (!next_token (parser) || (inner = parse_unary (parser)) == NULL)
        return NULL;
      parser->depth--;
      return node_new (NODE_NOT, g_steal_pointer (&inner), NULL);
    case TOKEN_OPEN:
      if (!next_token (parser) || (inner = parse_or (parser)) == NULL)
        return NULL;
      if (token->kind != TOKEN_CLOSE)
        {
          fail_at (parser, position, "this parenthesis is not closed");
          return NULL;
        }
      if (!next_token (parser))
        return NULL;
      parser->depth--;
      return g_steal_pointer (&inner);
    case TOKEN_TERM:
      if (++parser->terms > CAIRN_SEARCH_QUERY_MAX_TERMS)
        {
          fail_at (parser, position, "more than %d terms", CAIRN_SEARCH_QUERY_MAX_TERMS);
          return NULL;
        }
      inner = term_node (parser);
      if (inner == NULL || !next_token (parser))
        return NULL;
      parser->depth--;
      return g_steal_pointer (&inner);
    case TOKEN_CLOSE:
      fail_at (parser, position, "this parenthesis closes nothing");
      return NULL;
    case TOKEN_END:
      fail_at (parser, position, "a term is missing at the end");
      return NULL;
    case TOKEN_AND:
    case TOKEN_OR:
    default:
      fail_at (parser, position, "a term is missing before “%s”", token->value);
      return NULL;
    }
}

/* Terms side by side are joined by and, as by an explicit and. */
static Node *
parse_and (Parser *parser)
{
  g_autoptr(Node) node = parse_unary (parser);

  while (node != NULL)
    {
      Node *right;

      if (parser->token.kind == TOKEN_AND)
        {
          if (!next_token (parser))
            return NULL;
        }
      else if (parser->token.kind != TOKEN_TERM && parser->token.kind != TOKEN_NOT &&
               parser->token.kind != TOKEN_OPEN)
        break;
      right = parse_unary (parser);
      if (right == NULL)
        return NULL;
      node = node_new (NODE_AND, g_steal_pointer (&node), right);
    }
  return g_steal_pointer (&node);
}

static Node *
parse_or (Parser *parser)
{
  g_autoptr(Node) node = parse_and (parser);

  while (node != NULL && parser->token.kind == TOKEN_OR)
    {
      Node *right;

      if (!next_token (parser) || (right = parse_and (parser)) == NULL)
        return NULL;
      node = node_new (NODE_OR, g_steal_pointer (&node), right);
    }
  return g_steal_pointer (&node);
}

static gboolean
is_text_only (Node *node)
{
  switch (node->kind)
    {
    case NODE_TEXT:
      return TRUE;
    case NODE_AND:
    case NODE_OR:
      return is_text_only (node->left) && is_text_only (node->right);
    case NODE_NOT:
    case NODE_SQL:
    default:
      return FALSE;
    }
}

static void
append_fts (GString *fts,
            Node    *node)
{
  if (node->kind == NODE_TEXT)
    {
      g_string_append (fts, node->text);
      return;
    }
  g_string_append_c (fts, '(');
  append_fts (fts, node->left);
  g_string_append (fts, node->kind == NODE_AND ? " AND " : " OR ");
  append_fts (fts, node->right);
  g_string_append_c (fts, ')');
}

/* Appends the condition of @node: in set form, each sub-query evaluated
 * once for all rows, or with @probe, flags and tags tested for one row d
 * at a time (fast when few rows are looked at). Parameters are added in the order of their ?
 * when @parameters is not NULL; both forms have the same order. */
static void
append_sql (GString   *sql,
            GPtrArray *parameters,
            gboolean   probe,
            Node      *node)
{
  if (is_text_only (node))
    {
      GString *fts = g_string_new (NULL);

      /* In both forms: an FTS5 MATCH for one row costs as much as
       * parsing the query and opening its terms again. */
      append_fts (fts, node);
      g_string_append (sql, "d.key IN (SELECT rowid FROM text WHERE text MATCH ?)");
      if (parameters != NULL)
        g_ptr_array_add (parameters,
                         g_variant_ref_sink (g_variant_new_take_string (g_string_free (fts,
                                                                                      FALSE))));
      else
        g_string_free (fts, TRUE);
      return;
    }
  switch (node->kind)
    {
    case NODE_SQL:
      g_string_append (sql, probe && node->probe ? node->probe : node->text);
      for (guint i = 0; parameters != NULL && i < node->parameters->len; i++)
        g_ptr_array_add (parameters, g_variant_ref (g_ptr_array_index (node->parameters, i)));
      break;
    case NODE_NOT:
      g_string_append (sql, "NOT (");
      append_sql (sql, parameters, probe, node->left);
      g_string_append_c (sql, ')');
      break;
    case NODE_AND:
    case NODE_OR:
    case NODE_TEXT:
    default:
      g_string_append_c (sql, '(');
      append_sql (sql, parameters, probe, node->left);
      g_string_append (sql, node->kind == NODE_AND ? " AND " : " OR ");
      append_sql (sql, parameters, probe, node->right);
      g_string_append_c (sql, ')');
      break;
    }
}

static void
collect_conjuncts (Node      *node,
                   GPtrArray *conjuncts)
{
  if (node->kind == NODE_AND && !is_text_only (node))
    {
      collect_conjuncts (node->left, conjuncts);
      collect_conjuncts (node->right, conjuncts);
    }
  else
    g_ptr_array_add (conjuncts, node);
}

/* Sets @sql's fts and rest when the query and-s text with the rest. */
static void
split_text (CairnSearchSql *sql,
            Node           *root)
{
  g_autoptr(GPtrArray) conjuncts = g_ptr_array_new ();
  g_autoptr(GString) fts = g_string_new (NULL);
  g_autoptr(GString) rest = g_string_new (NULL);

  collect_conjuncts (root, conjuncts);
  sql->rest_parameters = parameters_new ();
  for (guint i = 0; i < conjuncts->len; i++)
    {
      Node *node = g_ptr_array_index (conjuncts, i);

      if (is_text_only (node))
        {
          g_string_append (fts, fts->len ? " AND " : "");
          append_fts (fts, node);
        }
      else
        {
          g_string_append (rest, rest->len ? " AND " : "");
          append_sql (rest, sql->rest_parameters, TRUE, node);
        }
    }
  if (fts->len == 0)
    return;
  sql->fts = g_string_free (g_steal_pointer (&fts), FALSE);
  if (rest->len > 0)
    sql->rest = g_string_free (g_steal_pointer (&rest), FALSE);
}

void
_cairn_search_sql_clear (CairnSearchSql *sql)
{
  g_clear_pointer (&sql->where, g_free);
  g_clear_pointer (&sql->probe, g_free);
  g_clear_pointer (&sql->parameters, g_ptr_array_unref);
  g_clear_pointer (&sql->fts, g_free);
  g_clear_pointer (&sql->rest, g_free);
  g_clear_pointer (&sql->rest_parameters, g_ptr_array_unref);
}

/*
 * _cairn_search_query_compile:
 * @query: a query (docs/search.md), any bytes
 * @folders: (element-type CairnSearchFolder) (nullable): the collections
 *   folder: can name
 * @now: the time relative dates count from, in seconds since the epoch
 * @sql: (out caller-allocates): the condition in both forms and its
 *   parameters
 * @error: return location for a #GError
 *
 * Returns: %FALSE with %CAIRN_SEARCH_ERROR_INVALID_QUERY naming the
 *   character where the query goes wrong
 */
gboolean
_cairn_search_query_compile (const char      *query,
                             GArray          *folders,
                             gint64           now,
                             CairnSearchSql  *sql,
                             GError         **error)
{
  Parser parser = { .query = query, .p = query, .folders = folders, .now = now, .error = error };
  g_autoptr(Node) root = NULL;
  const char *invalid;
  GString *where;

  memset (sql, 0, sizeof *sql);
  if (strlen (query) > CAIRN_SEARCH_QUERY_MAX_LENGTH)
    return fail_at (&parser, CAIRN_SEARCH_QUERY_MAX_LENGTH, "the query is longer than %d bytes",
                    CAIRN_SEARCH_QUERY_MAX_LENGTH);
  if (!g_utf8_validate (query, -1, &invalid))
    {
      g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY,
                   "Invalid query at byte %ld: not valid UTF-8", (long) (invalid - query) + 1);
      return FALSE;
    }
  if (next_token (&parser))
    {
      if (parser.token.kind == TOKEN_END)
        fail_at (&parser, 0, "the query is empty");
      else if ((root = parse_or (&parser)) != NULL && parser.token.kind != TOKEN_END)
        {
          fail_at (&parser, parser.token.position,
                   parser.token.kind == TOKEN_CLOSE ? "this parenthesis closes nothing"
                                                    : "unexpected text");
          g_clear_pointer (&root, node_free);
        }
    }
  token_clear (&parser.token);
  if (root == NULL)
    return FALSE;

  where = g_string_new (NULL);
  sql->parameters = parameters_new ();
  append_sql (where, sql->parameters, FALSE, root);
  sql->where = g_string_free (where, FALSE);
  where = g_string_new (NULL);
  append_sql (where, NULL, TRUE, root);
  sql->probe = g_string_free (where, FALSE);
  split_text (sql, root);
  return TRUE;
}
