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

/* Binding helpers: 0 ids and NULL strings bind as SQL NULL where the
 * schema wants it. */
#define _cairn_bind_text(stmt, index, value) \
  sqlite3_bind_text ((stmt), (index), (value), -1, SQLITE_STATIC)
#define _cairn_column_dup(stmt, index) \
  g_strdup ((const char *) sqlite3_column_text ((stmt), (index)))

G_END_DECLS
