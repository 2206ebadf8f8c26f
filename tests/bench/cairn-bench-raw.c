/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-bench-raw.h"

#define MIME_TYPE "message/rfc822"

gboolean
cairn_bench_sqlite_ok (sqlite3     *db,
                       int          rc,
                       int          expected,
                       const char  *what,
                       GError     **error)
{
  if (rc == expected)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, sqlite3_errmsg (db));
  return FALSE;
}

sqlite3 *
cairn_bench_raw_open (const char  *path,
                      GError     **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

  if (!cairn_bench_sqlite_ok (db, rc, SQLITE_OK, "Cannot open the database", error) ||
      !cairn_bench_sqlite_ok (db, sqlite3_exec (db, CAIRN_BENCH_STORE_PRAGMAS, NULL, NULL, NULL),
                              SQLITE_OK, "Cannot configure the database", error))
    {
      sqlite3_close (db);
      return NULL;
    }

  return db;
}

void
cairn_bench_raw_close (sqlite3 *db)
{
  sqlite3_close (db);
}

sqlite3_stmt *
cairn_bench_raw_prepare (sqlite3     *db,
                         const char  *sql,
                         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (!cairn_bench_sqlite_ok (db, sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                      &stmt, NULL),
                              SQLITE_OK, "Cannot prepare a statement", error))
    return NULL;

  return stmt;
}

typedef struct
{
  const char *resource;
  guint64 id;
} CreateCollection;

static gboolean
create_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  CreateCollection *data = user_data;
  g_autoptr(CairnCollection) collection = cairn_collection_new (data->resource, 0, "INBOX");
  const char * const mime_types[] = { MIME_TYPE, NULL };

  cairn_collection_set_remote_id (collection, "INBOX");
  cairn_collection_set_content_mime_types (collection, mime_types);
  if (!cairn_transaction_create_collection (transaction, collection, error))
    return FALSE;

  data->id = cairn_collection_get_id (collection);
  return TRUE;
}

/* Creates a store at @path, made by CairnStore itself so that its schema
 * is exactly the store's, with one mail folder INBOX of @resource. */
CairnStore *
cairn_bench_open_store_with_folder (const char  *path,
                                    const char  *resource,
                                    guint64     *collection_id,
                                    GError     **error)
{
  g_autoptr(CairnStore) store = cairn_store_open (path, NULL, error);
  CreateCollection data = { resource, 0 };

  if (store == NULL ||
      !cairn_store_write_sync (store, create_collection, &data, NULL, NULL, error))
    return NULL;

  *collection_id = data.id;
  return g_steal_pointer (&store);
}

/* Plain SQLite ingest: the statements cairn_transaction_create_item()
 * runs for such an item and the revision bump of each transaction. */

gboolean
cairn_bench_raw_writer_open (CairnBenchRawWriter  *self,
                             const char           *path,
                             const char           *resource,
                             const char           *origin,
                             GError              **error)
{
  self->db = cairn_bench_raw_open (path, error);
  if (self->db == NULL)
    return FALSE;
  self->resource = resource;
  self->origin = origin;

  self->next_revision = cairn_bench_raw_prepare (self->db,
                                                 "UPDATE store_state SET revision = revision + 1 "
                                                 "RETURNING revision", error);
  self->item = cairn_bench_raw_prepare (self->db,
                                        "INSERT INTO items (collection_id, mime_type, size, "
                                        "  remote_id, remote_revision, gid, revision) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  self->part = cairn_bench_raw_prepare (self->db,
                                        "INSERT INTO parts (item_id, name, storage, size, data, "
                                        "  path) VALUES (?, ?, ?, ?, ?, ?)", error);
  self->flag = cairn_bench_raw_prepare (self->db,
                                        "INSERT INTO item_flags (item_id, flag) VALUES (?, ?)",
                                        error);
  self->log = cairn_bench_raw_prepare (self->db,
                                       "INSERT INTO change_log (revision, seq, operation, "
                                       "  entity_kind, entity_id, collection_id, destination_id, "
                                       "  related_id, resource, origin, remote_id, mime_type, "
                                       "  name, parts, flags_added, flags_removed) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                       error);
  return self->next_revision != NULL && self->item != NULL && self->part != NULL &&
         self->flag != NULL && self->log != NULL;
}

void
cairn_bench_raw_writer_clear (CairnBenchRawWriter *self)
{
  g_clear_pointer (&self->next_revision, sqlite3_finalize);
  g_clear_pointer (&self->item, sqlite3_finalize);
  g_clear_pointer (&self->part, sqlite3_finalize);
  g_clear_pointer (&self->flag, sqlite3_finalize);
  g_clear_pointer (&self->log, sqlite3_finalize);
  g_clear_pointer (&self->db, cairn_bench_raw_close);
}

gboolean
cairn_bench_raw_writer_begin (CairnBenchRawWriter  *self,
                              GError              **error)
{
  if (!cairn_bench_sqlite_ok (self->db, sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL,
                                                      NULL),
                              SQLITE_OK, "Cannot begin", error) ||
      !cairn_bench_sqlite_ok (self->db, sqlite3_step (self->next_revision), SQLITE_ROW,
                              "Cannot take a revision", error))
    return FALSE;
  self->revision = sqlite3_column_int64 (self->next_revision, 0);
  self->seq = 0;
  sqlite3_reset (self->next_revision);
  return TRUE;
}

gboolean
cairn_bench_raw_writer_commit (CairnBenchRawWriter  *self,
                               GError              **error)
{
  return cairn_bench_sqlite_ok (self->db, sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL),
                                SQLITE_OK, "Cannot commit", error);
}

static gboolean
step_done (CairnBenchRawWriter  *self,
           sqlite3_stmt         *stmt,
           const char           *what,
           GError              **error)
{
  if (!cairn_bench_sqlite_ok (self->db, sqlite3_step (stmt), SQLITE_DONE, what, error))
    return FALSE;
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
add_part (CairnBenchRawWriter  *self,
          sqlite3_int64         id,
          const char           *name,
          CairnPartStorage      storage,
          gsize                 size,
          gconstpointer         data,
          const char           *path,
          GError              **error)
{
  sqlite3_bind_int64 (self->part, 1, id);
  sqlite3_bind_text (self->part, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int (self->part, 3, storage);
  sqlite3_bind_int64 (self->part, 4, size);
  if (data != NULL)
    sqlite3_bind_blob64 (self->part, 5, data, size, SQLITE_STATIC);
  else
    sqlite3_bind_null (self->part, 5);
  sqlite3_bind_text (self->part, 6, path, -1, SQLITE_STATIC);
  return step_done (self, self->part, "Cannot insert a part", error);
}

/* Between cairn_bench_raw_writer_begin() and _commit(). */
gboolean
cairn_bench_raw_writer_add (CairnBenchRawWriter      *self,
                            const CairnBenchRawItem  *item,
                            GError                  **error)
{
  sqlite3_stmt *log = self->log;
  sqlite3_int64 id;

  sqlite3_bind_int64 (self->item, 1, item->collection_id);
  sqlite3_bind_text (self->item, 2, item->mime_type, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (self->item, 3, item->size);
  sqlite3_bind_text (self->item, 4, item->remote_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (self->item, 5, item->remote_revision, -1, SQLITE_STATIC);
  sqlite3_bind_text (self->item, 6, item->gid, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (self->item, 7, self->revision);
  if (!step_done (self, self->item, "Cannot insert an item", error))
    return FALSE;
  id = sqlite3_last_insert_rowid (self->db);

  if (!add_part (self, id, CAIRN_PART_ENVELOPE, CAIRN_PART_STORAGE_INLINE,
                 item->envelope_length, item->envelope, NULL, error) ||
      (item->rfc822_path != NULL &&
       !add_part (self, id, CAIRN_PART_RFC822, CAIRN_PART_STORAGE_FOREIGN, item->size, NULL,
                  item->rfc822_path, error)))
    return FALSE;

  for (guint i = 0; item->flags[i] != NULL; i++)
    {
      sqlite3_bind_int64 (self->flag, 1, id);
      sqlite3_bind_text (self->flag, 2, item->flags[i], -1, SQLITE_STATIC);
      if (!step_done (self, self->flag, "Cannot insert a flag", error))
        return FALSE;
    }

  sqlite3_bind_int64 (log, 1, self->revision);
  sqlite3_bind_int64 (log, 2, self->seq++);
  sqlite3_bind_int (log, 3, CAIRN_CHANGE_ADD);
  sqlite3_bind_int (log, 4, CAIRN_ENTITY_ITEM);
  sqlite3_bind_int64 (log, 5, id);
  sqlite3_bind_int64 (log, 6, item->collection_id);
  sqlite3_bind_int64 (log, 7, 0);
  sqlite3_bind_int64 (log, 8, 0);
  sqlite3_bind_text (log, 9, self->resource, -1, SQLITE_STATIC);
  sqlite3_bind_text (log, 10, self->origin, -1, SQLITE_STATIC);
  sqlite3_bind_text (log, 11, item->remote_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (log, 12, item->mime_type, -1, SQLITE_STATIC);
  sqlite3_bind_null (log, 13);
  sqlite3_bind_text (log, 14, item->rfc822_path != NULL
                              ? CAIRN_PART_ENVELOPE " " CAIRN_PART_RFC822 : CAIRN_PART_ENVELOPE,
                     -1, SQLITE_STATIC);
  sqlite3_bind_null (log, 15);
  sqlite3_bind_null (log, 16);
  return step_done (self, log, "Cannot log a change", error);
}
