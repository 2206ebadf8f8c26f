/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <glib/gstdio.h>

#include "cairn-database-private.h"
#include "cairn-store.h"

#define BUSY_TIMEOUT_MS 10000

/* A write failing with less room than this left is taken for a full disk. */
#define SPACE_MARGIN (1024 * 1024)

static CairnStoreError
error_code_for (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return CAIRN_STORE_ERROR_NOT_FOUND;
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CAIRN_STORE_ERROR_EXISTS;
      return CAIRN_STORE_ERROR_INVALID;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return CAIRN_STORE_ERROR_CORRUPT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return CAIRN_STORE_ERROR_READ_ONLY;
    case SQLITE_FULL:
      return CAIRN_STORE_ERROR_NO_SPACE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return CAIRN_STORE_ERROR_BUSY;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return CAIRN_STORE_ERROR_IO;
    default:
      return CAIRN_STORE_ERROR_FAILED;
    }
}

/* SQLite reports a damaged page as a full disk in some places (VACUUM
 * copying a damaged table, for one), so a full disk is believed only if
 * the database reads as sound. This reads every page, but only on the way
 * to an error. Returns SQLite's first complaint, or NULL. */
static char *
find_damage (sqlite3 *db)
{
  sqlite3_stmt *check = NULL;
  char *damage = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check (1)", -1, &check, NULL) != SQLITE_OK)
    return g_strdup (sqlite3_errmsg (db));

  rc = sqlite3_step (check);
  if (rc == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (check, 0), "ok") != 0)
    damage = g_strdelimit (g_strdup ((const char *) sqlite3_column_text (check, 0)), "\n", ' ');
  else if (rc != SQLITE_ROW)
    damage = g_strdup (sqlite3_errmsg (db));
  sqlite3_finalize (check);

  return damage;
}

static gboolean
reaches_size_limit (const char *path,
                    rlim_t      limit)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 && (guint64) st.st_size + SPACE_MARGIN >= limit;
}

/* SQLite reports a write that a file size limit stopped (EFBIG) as an I/O
 * error, and its errno is gone by then, so a failed write is checked
 * against the free space and the limit. */
static gboolean
is_out_of_space (sqlite3 *db)
{
  const char *path = sqlite3_db_filename (db, "main");
  g_autofree char *wal = NULL;
  struct statvfs fs;
  struct rlimit limit;

  if (path == NULL || *path == '\0')
    return FALSE;
  if (statvfs (path, &fs) == 0 && (guint64) fs.f_bavail * fs.f_frsize < SPACE_MARGIN)
    return TRUE;
  if (getrlimit (RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return FALSE;
  wal = g_strconcat (path, "-wal", NULL);

  return reaches_size_limit (path, limit.rlim_cur) || reaches_size_limit (wal, limit.rlim_cur);
}

/* Whether a file that SQLite could not write or create fails because of
 * the permissions of the database, its folder, or the files beside it. */
static gboolean
is_read_only (sqlite3 *db)
{
  const char *path = sqlite3_db_filename (db, "main");
  g_autofree char *folder = NULL;

  if (path == NULL || *path == '\0')
    return FALSE;
  folder = g_path_get_dirname (path);

  return g_access (folder, W_OK) != 0 || g_access (path, W_OK) != 0;
}

void
_cairn_database_set_error (CairnDatabase *database,
                           int            rc,
                           GError       **error,
                           const char    *format,
                           ...)
{
  sqlite3 *db = database != NULL ? database->db : NULL;
  g_autofree char *what = NULL;
  g_autofree char *message = g_strdup (db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  CairnStoreError code = error_code_for (rc);
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (db != NULL && code == CAIRN_STORE_ERROR_NO_SPACE)
    {
      g_autofree char *damage = find_damage (db);

      if (damage != NULL)
        {
          code = CAIRN_STORE_ERROR_CORRUPT;
          g_free (message);
          message = g_strdup_printf ("the store is damaged (%s)", damage);
        }
    }
  else if (db != NULL && code == CAIRN_STORE_ERROR_IO && is_out_of_space (db))
    {
      code = CAIRN_STORE_ERROR_NO_SPACE;
      g_free (message);
      message = g_strdup_printf ("the disk is full or a file size limit is reached (%s)",
                                 sqlite3_errstr (rc));
    }
  else if (db != NULL && (code == CAIRN_STORE_ERROR_READ_ONLY ||
                          (code == CAIRN_STORE_ERROR_IO && is_read_only (db))))
    {
      g_autofree char *folder = g_path_get_dirname (sqlite3_db_filename (db, "main"));

      code = CAIRN_STORE_ERROR_READ_ONLY;
      g_free (message);
      message = g_strdup_printf ("the store or its folder %s is read-only; a store needs to "
                                 "write its -wal and -shm files beside the database (%s)",
                                 folder, sqlite3_errstr (rc));
    }

  g_set_error (error, CAIRN_STORE_ERROR, code, "%s: %s", what, message);
}

CairnDatabase *
_cairn_database_open (const char  *path,
                      gboolean     create,
                      GError     **error)
{
  g_autofree CairnDatabase *database = g_new0 (CairnDatabase, 1);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc;

  if (create)
    flags |= SQLITE_OPEN_CREATE;

  rc = sqlite3_open_v2 (path, &database->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      _cairn_database_set_error (database, rc, error, "Cannot open store %s", path);
      sqlite3_close (database->db);
      return NULL;
    }

  sqlite3_extended_result_codes (database->db, 1);
  sqlite3_busy_timeout (database->db, BUSY_TIMEOUT_MS);
  database->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                (GDestroyNotify) sqlite3_finalize);

  return g_steal_pointer (&database);
}

/* Settings that SQLite keeps per connection: every connection the store
 * opens goes through here, after the schema version was checked. The WAL
 * grows past its automatic checkpoints while a reader holds an old
 * snapshot; journal_size_limit truncates it back to
 * CAIRN_DATABASE_JOURNAL_SIZE_LIMIT when a writer starts it again. */
gboolean
_cairn_database_configure (CairnDatabase  *database,
                           GError        **error)
{
  return _cairn_database_exec (database,
                               "PRAGMA journal_mode = WAL;"
                               "PRAGMA journal_size_limit = "
                               G_STRINGIFY (CAIRN_DATABASE_JOURNAL_SIZE_LIMIT) ";"
                               "PRAGMA synchronous = FULL;"
                               "PRAGMA foreign_keys = ON;"
                               "PRAGMA temp_store = MEMORY;"
                               "PRAGMA cache_size = -8000;"
                               "PRAGMA trusted_schema = OFF;",
                               error);
}

/* Copies the WAL into the database as far as readers allow, then empties
 * it if no reader still needs it. It never waits: the passive pass takes
 * no lock that writers need, and the truncating pass gives up at once
 * when a writer or a reader of an old snapshot is there, so writers are
 * held up for no longer than copying the last few frames, and a
 * checkpoint that a reader stops is no error. */
gboolean
_cairn_database_checkpoint (CairnDatabase  *database,
                            GError        **error)
{
  int rc = sqlite3_wal_checkpoint_v2 (database->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

  if (rc == SQLITE_OK)
    {
      sqlite3_busy_timeout (database->db, 0);
      rc = sqlite3_wal_checkpoint_v2 (database->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
      sqlite3_busy_timeout (database->db, BUSY_TIMEOUT_MS);
    }
  if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    return TRUE;

  _cairn_database_set_error (database, rc, error, "Cannot checkpoint the write-ahead log");
  return FALSE;
}

void
_cairn_database_close (CairnDatabase *database)
{
  if (database == NULL)
    return;

  g_hash_table_unref (database->statements);
  sqlite3_close_v2 (database->db);
  g_free (database);
}

CairnStatement *
_cairn_database_prepare (CairnDatabase  *database,
                         const char     *sql,
                         GError        **error)
{
  sqlite3_stmt *statement = g_hash_table_lookup (database->statements, sql);
  int rc;

  if (statement != NULL)
    return statement;

  rc = sqlite3_prepare_v3 (database->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL);
  if (rc != SQLITE_OK)
    {
      _cairn_database_set_error (database, rc, error, "Cannot prepare a store query");
      return NULL;
    }

  g_hash_table_insert (database->statements, (gpointer) sql, statement);
  return statement;
}

void
_cairn_statement_release (CairnStatement *statement)
{
  sqlite3_reset (statement);
  sqlite3_clear_bindings (statement);
}

gboolean
_cairn_database_exec (CairnDatabase  *database,
                      const char     *sql,
                      GError        **error)
{
  int rc = sqlite3_exec (database->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      _cairn_database_set_error (database, rc, error, "Store command failed");
      return FALSE;
    }

  return TRUE;
}

gboolean
_cairn_database_step_done (CairnDatabase   *database,
                           CairnStatement  *statement,
                           GError         **error)
{
  int rc;

  if (statement == NULL)
    return FALSE;

  rc = sqlite3_step (statement);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _cairn_database_set_error (database, rc, error, "Store write failed");
      return FALSE;
    }

  return TRUE;
}

/* Returns SQLITE_ROW, SQLITE_DONE, or -1 with @error set. */
int
_cairn_database_step_row (CairnDatabase   *database,
                          CairnStatement  *statement,
                          GError         **error)
{
  int rc;

  if (statement == NULL)
    return -1;

  rc = sqlite3_step (statement);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;

  _cairn_database_set_error (database, rc, error, "Store read failed");
  return -1;
}

/* Steps to the first row of a lookup; no row is CAIRN_STORE_ERROR_NOT_FOUND
 * with the formatted message. */
static gboolean step_found_valist (CairnDatabase   *database,
                                   CairnStatement  *statement,
                                   GError         **error,
                                   const char      *format,
                                   va_list          args) G_GNUC_PRINTF (4, 0);

static gboolean
step_found_valist (CairnDatabase   *database,
                   CairnStatement  *statement,
                   GError         **error,
                   const char      *format,
                   va_list          args)
{
  int rc = _cairn_database_step_row (database, statement, error);

  if (rc == SQLITE_DONE)
    {
      g_autofree char *message = g_strdup_vprintf (format, args);

      g_set_error_literal (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND, message);
    }

  return rc == SQLITE_ROW;
}

gboolean
_cairn_database_step_found (CairnDatabase   *database,
                            CairnStatement  *statement,
                            GError         **error,
                            const char      *format,
                            ...)
{
  va_list args;
  gboolean found;

  va_start (args, format);
  found = step_found_valist (database, statement, error, format, args);
  va_end (args);

  return found;
}

CairnStatement *
_cairn_database_query (CairnDatabase    *database,
                       const char       *sql,
                       const CairnBind  *binds,
                       gsize             n_binds,
                       GError          **error)
{
  CairnStatement *statement = _cairn_database_prepare (database, sql, error);

  if (statement == NULL)
    return NULL;

  /* Values past the statement's last parameter are left out, so that one
   * list serves the variants of a statement: an upsert and a delete, an
   * insert and an update. */
  n_binds = MIN (n_binds, (gsize) sqlite3_bind_parameter_count (statement));
  for (gsize i = 0; i < n_binds; i++)
    {
      const CairnBind *bind = &binds[i];
      int index = (int) i + 1;
      int rc;

      switch (bind->type)
        {
        case SQLITE_INTEGER:
          rc = sqlite3_bind_int64 (statement, index, bind->integer);
          break;
        case SQLITE_TEXT:
          rc = sqlite3_bind_text (statement, index, bind->data, -1, SQLITE_STATIC);
          break;
        case SQLITE_BLOB:
          rc = sqlite3_bind_blob64 (statement, index, bind->data, bind->size, SQLITE_STATIC);
          break;
        default:
          rc = sqlite3_bind_null (statement, index);
          break;
        }
      if (rc != SQLITE_OK)
        {
          _cairn_database_set_error (database, rc, error,
                                     "Cannot bind parameter %d of a store query", index);
          _cairn_statement_release (statement);
          return NULL;
        }
    }

  return statement;
}

gboolean
_cairn_database_run (CairnDatabase    *database,
                     const char       *sql,
                     const CairnBind  *binds,
                     gsize             n_binds,
                     GError          **error)
{
  g_autoptr(CairnStatement) statement = _cairn_database_query (database, sql, binds, n_binds,
                                                               error);

  return _cairn_database_step_done (database, statement, error);
}

/* The object of the first row of @statement; no row is
 * CAIRN_STORE_ERROR_NOT_FOUND with the formatted message. */
gpointer
_cairn_database_lookup (CairnDatabase   *database,
                        CairnStatement  *statement,
                        CairnRowFunc     func,
                        gpointer         user_data,
                        GError         **error,
                        const char      *format,
                        ...)
{
  g_autoptr(CairnStatement) row = statement;
  va_list args;
  gboolean found;

  va_start (args, format);
  found = step_found_valist (database, row, error, format, args);
  va_end (args);

  return found ? func (row, user_data, error) : NULL;
}

gboolean
_cairn_database_foreach (CairnDatabase     *database,
                         CairnStatement    *statement,
                         CairnRowCallback   func,
                         gpointer           user_data,
                         GError           **error)
{
  g_autoptr(CairnStatement) row = statement;
  int rc;

  while ((rc = _cairn_database_step_row (database, row, error)) == SQLITE_ROW)
    if (!func (row, user_data, error))
      return FALSE;

  return rc == SQLITE_DONE;
}

typedef struct
{
  CairnRowFunc func;
  gpointer user_data;
  GPtrArray *objects;
} Collect;

static gboolean
collect_row (CairnStatement  *row,
             gpointer         user_data,
             GError         **error)
{
  Collect *collect = user_data;
  gpointer object = collect->func (row, collect->user_data, error);

  if (object == NULL)
    return FALSE;
  g_ptr_array_add (collect->objects, object);
  return TRUE;
}

/* The objects of every row of @statement, in order. */
GPtrArray *
_cairn_database_collect (CairnDatabase   *database,
                         CairnStatement  *statement,
                         CairnRowFunc     func,
                         gpointer         user_data,
                         GDestroyNotify   free_func,
                         GError         **error)
{
  g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func (free_func);
  Collect collect = { func, user_data, objects };

  if (!_cairn_database_foreach (database, statement, collect_row, &collect, error))
    return NULL;

  return g_steal_pointer (&objects);
}

/* A CairnRowFunc for the first column, as text; the column must not be
 * NULL. */
gpointer
_cairn_row_dup_text (CairnStatement  *row,
                     gpointer         user_data,
                     GError         **error)
{
  return _cairn_column_dup (row, 0);
}

/* Columns of the schema such as MIME types and part names keep a list of
 * words separated by spaces; NULL or empty is no word. */
char **
_cairn_words_split (const char *joined)
{
  if (joined == NULL || *joined == '\0')
    return g_new0 (char *, 1);

  return g_strsplit (joined, " ", -1);
}

char *
_cairn_words_join (const char * const *words)
{
  return g_strjoinv (" ", (char **) words);
}
