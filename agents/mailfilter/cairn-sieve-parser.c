/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lexer and parser of RFC 5228's generic grammar (section 8): a
 * script is a list of commands, each an identifier, arguments, tests and
 * either a semicolon or a block. Which commands exist is the script's
 * business (cairn-sieve-script.c); this file only refuses what is not
 * Sieve at all, with the position of the first offending character. */
#include "cairn-sieve-parser-private.h"

#include <string.h>

G_DEFINE_QUARK (cairn-sieve-error-quark, cairn_sieve_error)

typedef enum
{
  TOKEN_EOF,
  TOKEN_IDENTIFIER,
  TOKEN_TAG,
  TOKEN_NUMBER,
  TOKEN_STRING,
  TOKEN_LEFT_BRACKET,
  TOKEN_RIGHT_BRACKET,
  TOKEN_LEFT_PAREN,
  TOKEN_RIGHT_PAREN,
  TOKEN_LEFT_BRACE,
  TOKEN_RIGHT_BRACE,
  TOKEN_COMMA,
  TOKEN_SEMICOLON,
} TokenKind;

typedef struct
{
  TokenKind kind;
  guint line;
  guint column;
  char *text;      /* identifier, tag or string value */
  guint64 number;
} Token;

typedef struct
{
  const char *p;
  const char *end;
  guint line;
  guint column;
  Token token;     /* the current token, read ahead */
  guint depth;
} Parser;

void
cairn_sieve_set_error (GError     **error,
                       CairnSieveError code,
                       guint        line,
                       guint        column,
                       const char  *format,
                       ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CAIRN_SIEVE_ERROR, code, "line %u, column %u: %s", line, column, message);
}

static void
arg_free (gpointer data)
{
  CairnSieveArg *arg = data;

  g_clear_pointer (&arg->strings, g_ptr_array_unref);
  g_free (arg->tag);
  g_free (arg);
}

void
cairn_sieve_node_free (CairnSieveNode *node)
{
  g_free (node->name);
  g_clear_pointer (&node->args, g_ptr_array_unref);
  g_clear_pointer (&node->tests, g_ptr_array_unref);
  g_clear_pointer (&node->block, g_ptr_array_unref);
  g_free (node);
}

/* Moves one byte on; columns count characters, not bytes. */
static void
advance (Parser *parser)
{
  if (*parser->p == '\n')
    {
      parser->line++;
      parser->column = 1;
    }
  else if (((guchar) *parser->p & 0xc0) != 0x80)
    parser->column++;
  parser->p++;
}

static gboolean
at (Parser     *parser,
    const char *text)
{
  gsize length = strlen (text);

  return (gsize) (parser->end - parser->p) >= length && memcmp (parser->p, text, length) == 0;
}

static gboolean
skip_blanks (Parser  *parser,
             GError **error)
{
  while (parser->p < parser->end)
    {
      if (*parser->p == ' ' || *parser->p == '\t' || *parser->p == '\r' || *parser->p == '\n')
        advance (parser);
      else if (*parser->p == '#')
        {
          while (parser->p < parser->end && *parser->p != '\n')
            advance (parser);
        }
      else if (at (parser, "/*"))
        {
          guint line = parser->line, column = parser->column;

          advance (parser);
          advance (parser);
          while (parser->p < parser->end && !at (parser, "*/"))
            advance (parser);
          if (parser->p == parser->end)
            {
              cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, line, column,
                                     "unterminated comment");
              return FALSE;
            }
          advance (parser);
          advance (parser);
        }
      else
        break;
    }
  return TRUE;
}

static gboolean
is_identifier_start (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
is_identifier_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static char *
read_identifier (Parser *parser)
{
  const char *start = parser->p;

  while (parser->p < parser->end && is_identifier_char (*parser->p))
    advance (parser);
  return g_ascii_strdown (start, parser->p - start);
}

static gboolean
read_quoted (Parser  *parser,
             GError **error)
{
  g_autoptr(GString) value = g_string_new (NULL);

  advance (parser);
  while (parser->p < parser->end && *parser->p != '"')
    {
      /* RFC 5228 2.4.2: a backslash quotes the next character, and an
       * unknown escape is the character itself. */
      if (*parser->p == '\\' && parser->p + 1 < parser->end)
        advance (parser);
      g_string_append_c (value, *parser->p);
      advance (parser);
    }
  if (parser->p == parser->end)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                             parser->token.column, "unterminated string");
      return FALSE;
    }
  advance (parser);
  parser->token.text = g_string_free (g_steal_pointer (&value), FALSE);
  return TRUE;
}

/* "text:" then the rest of the line, then lines up to one holding a
 * single dot; a line starting with two dots loses one (dot-stuffing). */
static gboolean
read_multiline (Parser  *parser,
                GError **error)
{
  g_autoptr(GString) value = g_string_new (NULL);

  while (parser->p < parser->end && (*parser->p == ' ' || *parser->p == '\t'))
    advance (parser);
  if (parser->p < parser->end && *parser->p == '#')
    while (parser->p < parser->end && *parser->p != '\n')
      advance (parser);
  if (parser->p < parser->end && *parser->p == '\r')
    advance (parser);
  if (parser->p == parser->end || *parser->p != '\n')
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->line, parser->column,
                             "a line break must follow \"text:\"");
      return FALSE;
    }
  advance (parser);

  for (;;)
    {
      const char *line = parser->p;
      gsize length;

      while (parser->p < parser->end && *parser->p != '\n')
        advance (parser);
      if (parser->p == parser->end)
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                                 parser->token.column, "unterminated multi-line string");
          return FALSE;
        }
      length = parser->p - line;
      if (length > 0 && line[length - 1] == '\r')
        length--;
      advance (parser);
      if (length == 1 && line[0] == '.')
        break;
      if (length > 1 && line[0] == '.' && line[1] == '.')
        {
          line++;
          length--;
        }
      g_string_append_len (value, line, length);
      g_string_append (value, "\r\n");
    }
  parser->token.text = g_string_free (g_steal_pointer (&value), FALSE);
  return TRUE;
}

static gboolean
read_number (Parser  *parser,
             GError **error)
{
  guint64 number = 0;

  while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
    {
      if (number > (G_MAXUINT64 - 9) / 10)
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_TOO_LARGE, parser->token.line,
                                 parser->token.column, "number too large");
          return FALSE;
        }
      number = number * 10 + (guint64) (*parser->p - '0');
      advance (parser);
    }
  if (parser->p < parser->end && strchr ("KkMmGg", *parser->p) != NULL)
    {
      guint shift = g_ascii_tolower (*parser->p) == 'k' ? 10
                    : g_ascii_tolower (*parser->p) == 'm' ? 20 : 30;

      if (number > (G_MAXUINT64 >> shift))
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_TOO_LARGE, parser->token.line,
                                 parser->token.column, "number too large");
          return FALSE;
        }
      number <<= shift;
      advance (parser);
    }
  parser->token.number = number;
  return TRUE;
}

static const struct
{
  char c;
  TokenKind kind;
} punctuation[] = {
  { '[', TOKEN_LEFT_BRACKET }, { ']', TOKEN_RIGHT_BRACKET },
  { '(', TOKEN_LEFT_PAREN }, { ')', TOKEN_RIGHT_PAREN },
  { '{', TOKEN_LEFT_BRACE }, { '}', TOKEN_RIGHT_BRACE },
  { ',', TOKEN_COMMA }, { ';', TOKEN_SEMICOLON },
};

/* Reads the next token into parser->token. */
static gboolean
next_token (Parser  *parser,
            GError **error)
{
  g_clear_pointer (&parser->token.text, g_free);
  if (!skip_blanks (parser, error))
    return FALSE;

  parser->token.line = parser->line;
  parser->token.column = parser->column;
  if (parser->p == parser->end)
    {
      parser->token.kind = TOKEN_EOF;
      return TRUE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (punctuation); i++)
    if (*parser->p == punctuation[i].c)
      {
        parser->token.kind = punctuation[i].kind;
        advance (parser);
        return TRUE;
      }

  if (*parser->p == '"')
    {
      parser->token.kind = TOKEN_STRING;
      return read_quoted (parser, error);
    }
  if (g_ascii_isdigit (*parser->p))
    {
      parser->token.kind = TOKEN_NUMBER;
      return read_number (parser, error);
    }
  if (*parser->p == ':' && parser->p + 1 < parser->end && is_identifier_start (parser->p[1]))
    {
      advance (parser);
      parser->token.kind = TOKEN_TAG;
      parser->token.text = read_identifier (parser);
      return TRUE;
    }
  if (is_identifier_start (*parser->p))
    {
      parser->token.text = read_identifier (parser);
      if (g_str_equal (parser->token.text, "text") && parser->p < parser->end &&
          *parser->p == ':')
        {
          advance (parser);
          g_clear_pointer (&parser->token.text, g_free);
          parser->token.kind = TOKEN_STRING;
          return read_multiline (parser, error);
        }
      parser->token.kind = TOKEN_IDENTIFIER;
      return TRUE;
    }

  cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->line, parser->column,
                         "unexpected character '%c'", *parser->p);
  return FALSE;
}

static gboolean
expect (Parser     *parser,
        TokenKind   kind,
        const char *what,
        GError    **error)
{
  if (parser->token.kind != kind)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                             parser->token.column, "expected %s", what);
      return FALSE;
    }
  return next_token (parser, error);
}

static gboolean
enter (Parser  *parser,
       GError **error)
{
  if (++parser->depth > CAIRN_SIEVE_MAX_DEPTH)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_TOO_LARGE, parser->token.line,
                             parser->token.column, "nested more than %u deep",
                             CAIRN_SIEVE_MAX_DEPTH);
      return FALSE;
    }
  return TRUE;
}

static CairnSieveArg *
parse_string_list (Parser  *parser,
                   GError **error)
{
  CairnSieveArg *arg = g_new0 (CairnSieveArg, 1);

  arg->kind = CAIRN_SIEVE_ARG_STRINGS;
  arg->line = parser->token.line;
  arg->column = parser->token.column;
  arg->strings = g_ptr_array_new_with_free_func (g_free);

  if (parser->token.kind == TOKEN_STRING)
    {
      g_ptr_array_add (arg->strings, g_steal_pointer (&parser->token.text));
      if (next_token (parser, error))
        return arg;
      arg_free (arg);
      return NULL;
    }

  arg->is_list = TRUE;
  if (!next_token (parser, error))
    {
      arg_free (arg);
      return NULL;
    }
  for (;;)
    {
      if (parser->token.kind != TOKEN_STRING)
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                                 parser->token.column, "expected a string in the list");
          arg_free (arg);
          return NULL;
        }
      g_ptr_array_add (arg->strings, g_steal_pointer (&parser->token.text));
      if (!next_token (parser, error))
        {
          arg_free (arg);
          return NULL;
        }
      if (parser->token.kind == TOKEN_RIGHT_BRACKET)
        break;
      if (!expect (parser, TOKEN_COMMA, "',' or ']'", error))
        {
          arg_free (arg);
          return NULL;
        }
    }
  if (!next_token (parser, error))
    {
      arg_free (arg);
      return NULL;
    }
  return arg;
}

static CairnSieveNode *parse_test (Parser *parser, GError **error);

/* arguments = *argument [ test / test-list ] */
static gboolean
parse_arguments (Parser          *parser,
                 CairnSieveNode  *node,
                 GError         **error)
{
  gboolean more = TRUE;

  while (more)
    {
      CairnSieveArg *arg;

      switch (parser->token.kind)
        {
        case TOKEN_STRING:
        case TOKEN_LEFT_BRACKET:
          arg = parse_string_list (parser, error);
          if (arg == NULL)
            return FALSE;
          g_ptr_array_add (node->args, arg);
          break;
        case TOKEN_NUMBER:
        case TOKEN_TAG:
          arg = g_new0 (CairnSieveArg, 1);
          arg->kind = parser->token.kind == TOKEN_NUMBER ? CAIRN_SIEVE_ARG_NUMBER
                                                         : CAIRN_SIEVE_ARG_TAG;
          arg->line = parser->token.line;
          arg->column = parser->token.column;
          arg->number = parser->token.number;
          arg->tag = g_steal_pointer (&parser->token.text);
          g_ptr_array_add (node->args, arg);
          if (!next_token (parser, error))
            return FALSE;
          break;
        default:
          more = FALSE;
        }
    }

  if (parser->token.kind == TOKEN_IDENTIFIER)
    {
      CairnSieveNode *test = parse_test (parser, error);

      if (test == NULL)
        return FALSE;
      g_ptr_array_add (node->tests, test);
    }
  else if (parser->token.kind == TOKEN_LEFT_PAREN)
    {
      node->test_list = TRUE;
      if (!enter (parser, error) || !next_token (parser, error))
        return FALSE;
      for (;;)
        {
          CairnSieveNode *test = parse_test (parser, error);

          if (test == NULL)
            return FALSE;
          g_ptr_array_add (node->tests, test);
          if (parser->token.kind == TOKEN_RIGHT_PAREN)
            break;
          if (!expect (parser, TOKEN_COMMA, "',' or ')'", error))
            return FALSE;
        }
      parser->depth--;
      return next_token (parser, error);
    }
  return TRUE;
}

static CairnSieveNode *
new_node (Parser *parser)
{
  CairnSieveNode *node = g_new0 (CairnSieveNode, 1);

  node->name = g_steal_pointer (&parser->token.text);
  node->line = parser->token.line;
  node->column = parser->token.column;
  node->args = g_ptr_array_new_with_free_func (arg_free);
  node->tests = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_sieve_node_free);
  return node;
}

static CairnSieveNode *
parse_test (Parser  *parser,
            GError **error)
{
  g_autoptr(CairnSieveNode) node = NULL;

  if (parser->token.kind != TOKEN_IDENTIFIER)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                             parser->token.column, "expected a test");
      return NULL;
    }
  if (!enter (parser, error))
    return NULL;
  node = new_node (parser);
  if (!next_token (parser, error) || !parse_arguments (parser, node, error))
    return NULL;
  parser->depth--;
  return g_steal_pointer (&node);
}

static GPtrArray *parse_commands (Parser *parser, TokenKind end, GError **error);

/* command = identifier arguments (";" / block) */
static CairnSieveNode *
parse_command (Parser  *parser,
               GError **error)
{
  g_autoptr(CairnSieveNode) node = NULL;

  if (parser->token.kind != TOKEN_IDENTIFIER)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                             parser->token.column, "expected a command");
      return NULL;
    }
  node = new_node (parser);
  if (!next_token (parser, error) || !parse_arguments (parser, node, error))
    return NULL;

  if (parser->token.kind == TOKEN_SEMICOLON)
    return next_token (parser, error) ? g_steal_pointer (&node) : NULL;
  if (parser->token.kind != TOKEN_LEFT_BRACE)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                             parser->token.column, "expected ';' or '{' after \"%s\"",
                             node->name);
      return NULL;
    }
  if (!enter (parser, error) || !next_token (parser, error))
    return NULL;
  node->block = parse_commands (parser, TOKEN_RIGHT_BRACE, error);
  if (node->block == NULL)
    return NULL;
  parser->depth--;
  return next_token (parser, error) ? g_steal_pointer (&node) : NULL;
}

static GPtrArray *
parse_commands (Parser     *parser,
                TokenKind   end,
                GError    **error)
{
  g_autoptr(GPtrArray) commands =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_sieve_node_free);

  while (parser->token.kind != end)
    {
      CairnSieveNode *command;

      if (parser->token.kind == TOKEN_EOF)
        {
          cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_SYNTAX, parser->token.line,
                                 parser->token.column, "expected '}' before the end");
          return NULL;
        }
      command = parse_command (parser, error);
      if (command == NULL)
        return NULL;
      g_ptr_array_add (commands, command);
    }
  return g_steal_pointer (&commands);
}

/* Finds the line and column of a byte offset, to report bad bytes. */
static void
locate (const char *text,
        const char *position,
        guint      *line,
        guint      *column)
{
  Parser parser = { .p = text, .end = position, .line = 1, .column = 1 };

  while (parser.p < parser.end)
    advance (&parser);
  *line = parser.line;
  *column = parser.column;
}

/**
 * cairn_sieve_parse:
 * @text: the script
 * @length: its length in bytes
 * @error: return location for a #CAIRN_SIEVE_ERROR
 *
 * Parses a script into its commands, as written.
 *
 * Returns: (transfer full) (element-type CairnSieveNode): the commands,
 *   or %NULL with @error set
 */
GPtrArray *
cairn_sieve_parse (const char  *text,
                   gsize        length,
                   GError     **error)
{
  Parser parser = { .p = text, .end = text + length, .line = 1, .column = 1 };
  const char *nul = memchr (text, '\0', length);
  const char *invalid = NULL;
  guint line, column;
  GPtrArray *commands;

  if (length > CAIRN_SIEVE_MAX_SCRIPT_SIZE)
    {
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_TOO_LARGE, 1, 1,
                             "the script is larger than %u bytes", CAIRN_SIEVE_MAX_SCRIPT_SIZE);
      return NULL;
    }
  if (nul != NULL)
    {
      locate (text, nul, &line, &column);
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_ENCODING, line, column, "NUL byte");
      return NULL;
    }
  if (!g_utf8_validate (text, length, &invalid))
    {
      locate (text, invalid, &line, &column);
      cairn_sieve_set_error (error, CAIRN_SIEVE_ERROR_ENCODING, line, column, "invalid UTF-8");
      return NULL;
    }

  if (!next_token (&parser, error))
    return NULL;
  commands = parse_commands (&parser, TOKEN_EOF, error);
  g_free (parser.token.text);
  return commands;
}
