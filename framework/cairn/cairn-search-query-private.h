/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Hostile queries stop here, with an error naming where. */
#define CAIRN_SEARCH_QUERY_MAX_LENGTH 8192
#define CAIRN_SEARCH_QUERY_MAX_DEPTH 64
#define CAIRN_SEARCH_QUERY_MAX_TERMS 256

/* A folder as folder: finds it: its id, name and path from the top. */
typedef struct
{
  guint64 id;
  const char *name;
  const char *path;
} CairnSearchFolder;

/* The condition on the index's `docs d` rows that a query compiles to,
 * with its parameters (GVariants of type s or x) in the order of its ?:
 * in set form (sub-queries evaluated once) and in probe form (for one
 * row at a time), with the same parameters. When the query is text terms
 * and-ed with other conditions, also those apart: @fts, one FTS5 query
 * for them all, and @rest, the others in probe form (NULL if none) with
 * @rest_parameters. */
typedef struct
{
  char *where;
  char *probe;
  GPtrArray *parameters;
  char *fts;
  char *rest;
  GPtrArray *rest_parameters;
} CairnSearchSql;

gboolean _cairn_search_query_compile (const char         *query,
                                      GArray             *folders,
                                      gint64              now,
                                      CairnSearchSql     *sql,
                                      GError            **error);
void     _cairn_search_sql_clear      (CairnSearchSql     *sql);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CairnSearchSql, _cairn_search_sql_clear)

G_END_DECLS
