/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The physical limit the benchmarks compare the store with: plain prepared
 * SQLite statements on a database with the store's own schema and
 * PRAGMAs, doing the rows the store writes for an item. */

#include <sqlite3.h>

#include <cairn/cairn.h>

/* The PRAGMAs CairnStore sets on each of its connections, so the raw
 * baseline pays the same durability and the same cache. */
#define CAIRN_BENCH_STORE_PRAGMAS \
  "PRAGMA journal_mode = WAL;" \
  "PRAGMA synchronous = FULL;" \
  "PRAGMA foreign_keys = ON;" \
  "PRAGMA temp_store = MEMORY;" \
  "PRAGMA cache_size = -8000;" \
  "PRAGMA trusted_schema = OFF;"

gboolean      cairn_bench_sqlite_ok  (sqlite3     *db,
                                      int          rc,
                                      int          expected,
                                      const char  *what,
                                      GError     **error);
sqlite3      *cairn_bench_raw_open   (const char  *path,
                                      GError     **error);
void          cairn_bench_raw_close  (sqlite3     *db);
sqlite3_stmt *cairn_bench_raw_prepare (sqlite3    *db,
                                       const char *sql,
                                       GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, cairn_bench_raw_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

CairnStore   *cairn_bench_open_store_with_folder (const char  *path,
                                                  const char  *resource,
                                                  guint64     *collection_id,
                                                  GError     **error);

/* One item as the store keeps it: an items row, an inline ENVELOPE part,
 * a foreign RFC822 part if @rfc822_path is set, one row per flag. */
typedef struct
{
  guint64 collection_id;
  const char *mime_type;
  guint64 size;
  const char *remote_id;
  const char *remote_revision;  /* nullable */
  const char *gid;
  gconstpointer envelope;
  gsize envelope_length;
  const char *rfc822_path;      /* nullable */
  const char * const *flags;    /* NULL-terminated */
} CairnBenchRawItem;

/* Writes items in transactions as cairn_store_write_sync() does: each
 * takes the next store revision and logs one change per item. */
typedef struct
{
  sqlite3 *db;
  const char *resource;
  const char *origin;
  guint64 revision;
  guint64 seq;
  sqlite3_stmt *next_revision;
  sqlite3_stmt *item;
  sqlite3_stmt *part;
  sqlite3_stmt *flag;
  sqlite3_stmt *log;
} CairnBenchRawWriter;

gboolean cairn_bench_raw_writer_open   (CairnBenchRawWriter      *self,
                                        const char               *path,
                                        const char               *resource,
                                        const char               *origin,
                                        GError                  **error);
void     cairn_bench_raw_writer_clear  (CairnBenchRawWriter      *self);
gboolean cairn_bench_raw_writer_begin  (CairnBenchRawWriter      *self,
                                        GError                  **error);
gboolean cairn_bench_raw_writer_add    (CairnBenchRawWriter      *self,
                                        const CairnBenchRawItem  *item,
                                        GError                  **error);
gboolean cairn_bench_raw_writer_commit (CairnBenchRawWriter      *self,
                                        GError                  **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CairnBenchRawWriter, cairn_bench_raw_writer_clear)
