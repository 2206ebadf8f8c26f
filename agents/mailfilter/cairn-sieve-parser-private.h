/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * CAIRN_SIEVE_ERROR:
 *
 * The error domain of Sieve scripts (#CairnSieveError). Every message
 * starts with the line and column of the error, both counted from 1:
 * `line 3, column 7: ...`.
 */
#define CAIRN_SIEVE_ERROR (cairn_sieve_error_quark ())

/**
 * CairnSieveError:
 * @CAIRN_SIEVE_ERROR_SYNTAX: not Sieve: an unexpected token, an
 *   unterminated string or comment
 * @CAIRN_SIEVE_ERROR_ENCODING: a NUL byte or invalid UTF-8
 * @CAIRN_SIEVE_ERROR_UNSUPPORTED: a command, test, extension or
 *   comparator the filter does not know
 * @CAIRN_SIEVE_ERROR_INVALID: a known command or test with wrong
 *   arguments, out of place, or used without its `require`
 * @CAIRN_SIEVE_ERROR_TOO_LARGE: beyond the limits of the script's size,
 *   its nesting or a number
 *
 * The errors of a Sieve script that is refused.
 */
typedef enum
{
  CAIRN_SIEVE_ERROR_SYNTAX,
  CAIRN_SIEVE_ERROR_ENCODING,
  CAIRN_SIEVE_ERROR_UNSUPPORTED,
  CAIRN_SIEVE_ERROR_INVALID,
  CAIRN_SIEVE_ERROR_TOO_LARGE,
} CairnSieveError;

GQuark cairn_sieve_error_quark (void);

/* Beyond these a script is refused: they keep a hostile script from
 * exhausting the stack or the memory of the agent. */
#define CAIRN_SIEVE_MAX_SCRIPT_SIZE (1024 * 1024)
#define CAIRN_SIEVE_MAX_DEPTH 64

typedef enum
{
  CAIRN_SIEVE_ARG_STRINGS,
  CAIRN_SIEVE_ARG_NUMBER,
  CAIRN_SIEVE_ARG_TAG,
} CairnSieveArgKind;

typedef struct
{
  CairnSieveArgKind kind;
  guint line;
  guint column;
  GPtrArray *strings;  /* char *, for a string or a string list */
  gboolean is_list;    /* written in brackets */
  guint64 number;
  char *tag;           /* without the colon, lower case */
} CairnSieveArg;

typedef struct _CairnSieveNode CairnSieveNode;

/* A command or a test as written: RFC 5228's generic grammar, before the
 * script knows which commands exist. */
struct _CairnSieveNode
{
  char *name;         /* lower case: identifiers are case-insensitive */
  guint line;
  guint column;
  GPtrArray *args;    /* CairnSieveArg * */
  GPtrArray *tests;   /* CairnSieveNode * */
  gboolean test_list; /* the tests came in parentheses */
  GPtrArray *block;   /* CairnSieveNode *, NULL without a block */
};

void       cairn_sieve_node_free   (CairnSieveNode *node);

GPtrArray *cairn_sieve_parse       (const char      *text,
                                    gsize            length,
                                    GError         **error);

void       cairn_sieve_set_error   (GError         **error,
                                    CairnSieveError  code,
                                    guint            line,
                                    guint            column,
                                    const char      *format,
                                    ...) G_GNUC_PRINTF (5, 6);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnSieveNode, cairn_sieve_node_free)

G_END_DECLS
