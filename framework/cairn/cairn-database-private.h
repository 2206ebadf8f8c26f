/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sqlite3.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* One SQLite connection with its cache of prepared statements. A
 * connection is used by one thread at a time; CairnStore hands them out. */
typedef struct _CairnDatabase CairnDatabase;

/* The size, in bytes, that the WAL is cut back to when it is restarted. */
#define CAIRN_DATABASE_JOURNAL_SIZE_LIMIT 8388608

struct _CairnDatabase
{
  sqlite3 *db;
  GHashTable *statements;   /* static SQL text (by address) -> sqlite3_stmt */
};

/* Statements come back from the cache reset when released, so a
 * g_autoptr(CairnStatement) can never leave a read transaction open. */
typedef sqlite3_stmt CairnStatement;

CairnDatabase  *_cairn_database_open        (const char     *path,
                                             gboolean        create,
                                             GError        **error);
gboolean        _cairn_database_configure   (CairnDatabase  *database,
                                             GError        **error);
gboolean        _cairn_database_checkpoint  (CairnDatabase  *database,
                                             GError        **error);
void            _cairn_database_close       (CairnDatabase  *database);
CairnStatement *_cairn_database_prepare     (CairnDatabase  *database,
                                             const char     *sql,
                                             GError        **error);
gboolean        _cairn_database_exec        (CairnDatabase  *database,
                                             const char     *sql,
                                             GError        **error);
gboolean        _cairn_database_step_done   (CairnDatabase  *database,
                                             CairnStatement *statement,
                                             GError        **error);
int             _cairn_database_step_row    (CairnDatabase  *database,
                                             CairnStatement *statement,
                                             GError        **error);
gboolean        _cairn_database_step_found  (CairnDatabase  *database,
                                             CairnStatement *statement,
                                             GError        **error,
                                             const char     *format,
                                             ...) G_GNUC_PRINTF (4, 5);
void            _cairn_database_set_error   (CairnDatabase  *database,
                                             int             rc,
                                             GError        **error,
                                             const char     *format,
                                             ...) G_GNUC_PRINTF (4, 5);
void            _cairn_statement_release    (CairnStatement *statement);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnStatement, _cairn_statement_release)

#define _cairn_column_dup(stmt, index) \
  g_strdup ((const char *) sqlite3_column_text ((stmt), (index)))

/* One value for a query parameter; _cairn_database_query() binds them in
 * order from parameter 1. Made by the functions below, which give the
 * compiler the value's type to check. Text and bytes are bound without a
 * copy, so they must live as long as the statement is stepped. */
typedef struct
{
  int type;              /* SQLITE_INTEGER, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL */
  gint64 integer;
  gconstpointer data;
  gsize size;
} CairnBind;

static inline CairnBind
_cairn_bind_int (gint64 value)
{
  return (CairnBind) { SQLITE_INTEGER, value, NULL, 0 };
}

/* An optional reference to another row: 0 binds SQL NULL. */
static inline CairnBind
_cairn_bind_id (guint64 id)
{
  return (CairnBind) { id != 0 ? SQLITE_INTEGER : SQLITE_NULL, (gint64) id, NULL, 0 };
}

/* A date as unix seconds; NULL binds SQL NULL. */
static inline CairnBind
_cairn_bind_date (GDateTime *date)
{
  return (CairnBind) { date != NULL ? SQLITE_INTEGER : SQLITE_NULL,
                       date != NULL ? g_date_time_to_unix (date) : 0, NULL, 0 };
}

/* NULL binds SQL NULL. */
static inline CairnBind
_cairn_bind_text (const char *text)
{
  return (CairnBind) { text != NULL ? SQLITE_TEXT : SQLITE_NULL, 0, text, 0 };
}

/* NULL binds SQL NULL; empty bytes an empty blob, not NULL. */
static inline CairnBind
_cairn_bind_bytes (GBytes *bytes)
{
  gsize size = 0;
  gconstpointer data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;

  return (CairnBind) { bytes != NULL ? SQLITE_BLOB : SQLITE_NULL, 0, data ? data : "", size };
}

/* Builds the object of one result row, or returns NULL with @error set. */
typedef gpointer (*CairnRowFunc)     (CairnStatement  *row,
                                      gpointer         user_data,
                                      GError         **error);
/* Takes in one result row; returns FALSE with @error set to stop. */
typedef gboolean (*CairnRowCallback) (CairnStatement  *row,
                                      gpointer         user_data,
                                      GError         **error);

/* The parameters of a query, as the two arguments binds and n_binds:
 * CAIRN_BINDS (_cairn_bind_int (id), _cairn_bind_text (name)). */
#define CAIRN_BINDS(...) \
  (const CairnBind[]) { __VA_ARGS__ }, G_N_ELEMENTS (((const CairnBind[]) { __VA_ARGS__ }))

/* Prepares @sql (static text: the statement cache goes by its address)
 * and binds @binds, leaving out those past the statement's last
 * parameter. Returns NULL with @error set; the step, lookup,
 * collect and foreach functions take that NULL and fail with the error,
 * so a query needs no check of its own. */
CairnStatement *_cairn_database_query       (CairnDatabase     *database,
                                             const char        *sql,
                                             const CairnBind   *binds,
                                             gsize              n_binds,
                                             GError           **error);
/* A write: the query stepped once and released. */
gboolean        _cairn_database_run         (CairnDatabase     *database,
                                             const char        *sql,
                                             const CairnBind   *binds,
                                             gsize              n_binds,
                                             GError           **error);
/* The lookup, collect and foreach functions step a statement from
 * _cairn_database_query() to its end and release it. */
gpointer        _cairn_database_lookup      (CairnDatabase     *database,
                                             CairnStatement    *statement,
                                             CairnRowFunc       func,
                                             gpointer           user_data,
                                             GError           **error,
                                             const char        *format,
                                             ...) G_GNUC_PRINTF (6, 7);
GPtrArray      *_cairn_database_collect     (CairnDatabase     *database,
                                             CairnStatement    *statement,
                                             CairnRowFunc       func,
                                             gpointer           user_data,
                                             GDestroyNotify     free_func,
                                             GError           **error);
gboolean        _cairn_database_foreach     (CairnDatabase     *database,
                                             CairnStatement    *statement,
                                             CairnRowCallback   func,
                                             gpointer           user_data,
                                             GError           **error);
gpointer        _cairn_row_dup_text         (CairnStatement    *row,
                                             gpointer           user_data,
                                             GError           **error);

char          **_cairn_words_split          (const char        *joined);
char           *_cairn_words_join           (const char * const *words);

G_END_DECLS
