/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The index database, schema SCHEMA_VERSION (docs/search.md has the tables
 * CairnSearch reads). Its own file beside the store, in WAL mode so that
 * searches read while the indexer writes, and written only here: a store
 * write never waits for indexing. A database that cannot be read, has
 * another schema version, was asked to be rebuilt or was never filled
 * completely is emptied and reported as needing a full scan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cairn-indexer-index-private.h"

#define SCHEMA_VERSION 6
#define BUSY_TIMEOUT_MS 10000

enum {
  STMT_DOC_THREAD,
  STMT_DOC_KEY,
  STMT_KEY_OWNER,
  STMT_MSGID_THREAD,
  STMT_MERGE_DOCS,
  STMT_MERGE_MSGIDS,
  STMT_PUT_MSGID,
  STMT_KEEP_MSGID,
  STMT_PUT_DOC,
  STMT_DELETE_TEXT,
  STMT_DELETE_DOC_TEXT,
  STMT_PUT_DOC_TEXT,
  STMT_PUT_TEXT,
  STMT_DELETE_DOC,
  STMT_DELETE_FLAGS,
  STMT_DELETE_ITEM_TAGS,
  STMT_PUT_FLAG,
  STMT_DELETE_FLAG,
  STMT_MOVE,
  STMT_PUT_TAG,
  STMT_DELETE_TAG,
  STMT_DELETE_TAG_ITEMS,
  STMT_TAG_ITEM,
  STMT_UNTAG_ITEM,
  N_STMTS
};

static const char * const statements[N_STMTS] = {
  [STMT_DOC_THREAD] = "SELECT thread FROM docs WHERE id = ?",
  [STMT_DOC_KEY] = "SELECT key FROM docs WHERE id = ?",
  [STMT_KEY_OWNER] = "SELECT id FROM docs WHERE key = ?",
  [STMT_MSGID_THREAD] = ("SELECT thread FROM docs WHERE message_id = ?1 "
                         "UNION ALL SELECT thread FROM msgids WHERE message_id = ?1 LIMIT 1"),
  [STMT_MERGE_DOCS] = "UPDATE docs SET thread = ?1 WHERE thread = ?2",
  [STMT_MERGE_MSGIDS] = "UPDATE msgids SET thread = ?1 WHERE thread = ?2",
  [STMT_PUT_MSGID] = "INSERT OR IGNORE INTO msgids (message_id, thread) VALUES (?, ?)",
  [STMT_KEEP_MSGID] = ("INSERT OR IGNORE INTO msgids (message_id, thread) "
                       "SELECT message_id, thread FROM docs "
                       "WHERE id = ?1 AND message_id IS NOT NULL AND message_id IS NOT ?2"),
  [STMT_PUT_DOC] = ("INSERT INTO docs (id, collection, mime_type, date, thread, "
                    "message_id, complete, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
  [STMT_DELETE_TEXT] = "DELETE FROM text WHERE rowid = ?",
  [STMT_DELETE_DOC_TEXT] = "DELETE FROM doc_text WHERE id = ?",
  [STMT_PUT_DOC_TEXT] = ("INSERT INTO doc_text (id, key, sender, recipients, subject, body, "
                         "attachment, mimetype, listid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
  [STMT_PUT_TEXT] = ("INSERT INTO text (rowid, sender, recipients, subject, body, attachment, "
                     "mimetype, listid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
  [STMT_DELETE_DOC] = "DELETE FROM docs WHERE id = ?",
  [STMT_DELETE_FLAGS] = "DELETE FROM flags WHERE id = ?",
  [STMT_DELETE_ITEM_TAGS] = "DELETE FROM item_tags WHERE id = ?",
  [STMT_PUT_FLAG] = "INSERT OR IGNORE INTO flags (flag, id) VALUES (?, ?)",
  [STMT_DELETE_FLAG] = "DELETE FROM flags WHERE flag = ? AND id = ?",
  [STMT_MOVE] = "UPDATE docs SET collection = ? WHERE id = ?",
  [STMT_PUT_TAG] = "INSERT OR REPLACE INTO tags (tag, name, gid) VALUES (?, ?, ?)",
  [STMT_DELETE_TAG] = "DELETE FROM tags WHERE tag = ?",
  [STMT_DELETE_TAG_ITEMS] = "DELETE FROM item_tags WHERE tag = ?",
  [STMT_TAG_ITEM] = "INSERT OR IGNORE INTO item_tags (tag, id) VALUES (?, ?)",
  [STMT_UNTAG_ITEM] = "DELETE FROM item_tags WHERE tag = ? AND id = ?",
};

/* Every table and index, but the indexes of docs by thread and by
 * message id and of msgids by thread: SCHEMA_LATE_INDEXES. */
#define SCHEMA_TABLES \
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;" \
  "CREATE TABLE docs (id INTEGER PRIMARY KEY, collection INTEGER NOT NULL," \
  " mime_type TEXT NOT NULL, date INTEGER NOT NULL, thread INTEGER NOT NULL," \
  " message_id TEXT, complete INTEGER NOT NULL, key INTEGER NOT NULL UNIQUE);" \
  /* IMAP keywords are case-insensitive (RFC 3501 section 2.3.2). */ \
  "CREATE TABLE flags (flag TEXT NOT NULL COLLATE NOCASE, id INTEGER NOT NULL," \
  " PRIMARY KEY (flag, id))" \
  " WITHOUT ROWID;" \
  "CREATE INDEX flags_id ON flags (id);" \
  "CREATE TABLE tags (tag INTEGER PRIMARY KEY, name TEXT, gid TEXT);" \
  "CREATE TABLE item_tags (tag INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (tag, id))" \
  " WITHOUT ROWID;" \
  "CREATE INDEX item_tags_id ON item_tags (id);" \
  /* Message ids that no document has: referenced only, or of documents \
   * removed or replaced since. A document's own is in docs. */ \
  "CREATE TABLE msgids (message_id TEXT PRIMARY KEY, thread INTEGER NOT NULL) WITHOUT ROWID;" \
  /* The text FTS5 indexes, kept here rather than in FTS5's own table, \
   * whose rowid would be the key: the order of the dates, not the \
   * store's, in which a scan writes, so that each row went to a page \
   * anywhere in that table (a third more processor time and writes for \
   * FTS5 on 100,000 messages). Here a scan appends, by item id, and only \
   * the small index of keys, which FTS5 reads the text by, takes rows \
   * anywhere. No column sizes: nothing ranks by them. A thread's \
   * summary reads its subject and senders here too, which docs does not \
   * keep twice. */ \
  "CREATE TABLE doc_text (id INTEGER PRIMARY KEY, key INTEGER NOT NULL UNIQUE, sender," \
  " recipients, subject, body, attachment, mimetype, listid);" \
  "CREATE VIRTUAL TABLE text USING fts5 (sender, recipients, subject, body, attachment," \
  " mimetype, listid, tokenize = 'unicode61 remove_diacritics 2', content = 'doc_text'," \
  " content_rowid = 'key', columnsize = 0);"

#define SCHEMA_LATE_INDEXES \
  "CREATE INDEX docs_thread ON docs (thread);" \
  "CREATE INDEX msgids_thread ON msgids (thread);" \
  "CREATE INDEX docs_message_id ON docs (message_id);"

static const char schema[] = SCHEMA_TABLES SCHEMA_LATE_INDEXES;

/* A scratch index (cairn_indexer_index_open_scratch()) makes the
 * SCHEMA_LATE_INDEXES at its end (cairn_indexer_index_finish_scratch()):
 * keeping them up to date while a scan merged threads, and while it
 * wrote the message ids in their order, which is not the threads', cost
 * more than making them once, and the fields thread makes them while the
 * worker writes the last text. Its tables and indexes are then those of
 * the index, as the copy needs them to take them as they are. */
static const char scratch_schema[] = SCHEMA_TABLES;

struct _CairnIndexerIndex
{
  sqlite3 *db;
  sqlite3_stmt *stmts[N_STMTS];
  char *path;
  /* The text of the documents put in this transaction, by key, written
   * at the commit in the order of the keys: FTS5 writes out what it
   * holds in memory whenever a rowid is lower than the last one, so
   * that text written in the store's order, which is not the dates',
   * took a segment of its own nearly every message. */
  GHashTable *pending;      /* its key -> CairnIndexerText */
  /* A scratch index's (cairn_indexer_index_open_scratch()) message ids
   * and merged threads, NULL in the index. */
  GHashTable *scan_msgids;  /* message id -> ScanMsgid */
  GHashTable *scan_merged;  /* gint64 * thread -> gint64 * the thread it joined */
  /* Copies a scan's last text back to the database while its fields are
   * finished and copied in (cairn_indexer_index_end_text()). */
  GThread *checkpoint;
};

/* Returns whether a checkpoint ran and synced the database
 * (checkpoint_in_thread()). */
static gboolean
join_checkpoint (CairnIndexerIndex *index)
{
  return index->checkpoint != NULL &&
         GPOINTER_TO_INT (g_thread_join (g_steal_pointer (&index->checkpoint)));
}

typedef struct
{
  gint64 thread;
  gboolean own;                 /* a document's own, not written to msgids */
  char message_id[];
} ScanMsgid;

static gboolean
set_error (CairnIndexerIndex  *index,
           const char         *what,
           GError            **error)
{
  int code = sqlite3_errcode (index->db);

  g_set_error (error, CAIRN_SEARCH_ERROR,
               code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? CAIRN_SEARCH_ERROR_CORRUPT
                                                               : CAIRN_SEARCH_ERROR_FAILED,
               "Cannot %s in the index %s: %s", what, index->path, sqlite3_errmsg (index->db));
  return FALSE;
}

static gboolean
exec (CairnIndexerIndex  *index,
      const char         *sql,
      GError            **error)
{
  if (sqlite3_exec (index->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_error (index, "run a statement", error);
  return TRUE;
}

static gboolean
step_done (CairnIndexerIndex  *index,
           int                 stmt,
           GError            **error)
{
  sqlite3_stmt *s = index->stmts[stmt];
  int rc = sqlite3_step (s);

  sqlite3_reset (s);
  sqlite3_clear_bindings (s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return set_error (index, "write", error);
  return TRUE;
}

void
cairn_indexer_index_free (CairnIndexerIndex *index)
{
  join_checkpoint (index);
  for (guint i = 0; i < N_STMTS; i++)
    sqlite3_finalize (index->stmts[i]);
  g_clear_pointer (&index->pending, g_hash_table_unref);
  g_clear_pointer (&index->scan_msgids, g_hash_table_unref);
  g_clear_pointer (&index->scan_merged, g_hash_table_unref);
  sqlite3_close (index->db);
  g_free (index->path);
  g_free (index);
}

/* Reads one integer; -1 if there is no row or it fails. */
static gint64
query_int (CairnIndexerIndex *index,
           const char        *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_prepare_v2 (index->db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* Whether the file holds a complete index this code can use: readable,
 * our schema, filled by a whole scan, no rebuild asked for. */
static gboolean
is_usable (CairnIndexerIndex *index)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (query_int (index, "PRAGMA user_version") != SCHEMA_VERSION ||
      query_int (index, "SELECT count(*) FROM meta WHERE key = 'scanned'") != 1 ||
      query_int (index, "SELECT count(*) FROM meta WHERE key = 'rebuild'") != 0)
    return FALSE;
  if (sqlite3_prepare_v2 (index->db, "PRAGMA quick_check", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  sqlite3_finalize (stmt);
  return ok;
}

/* Removes a database's files: itself, its log, its shared memory and
 * its journal. */
void
cairn_indexer_index_delete_files (const char *path)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      if (g_unlink (file) != 0 && errno != ENOENT)
        g_warning ("Cannot remove %s: %s", file, g_strerror (errno));
    }
}

static gboolean
prepare_statements (CairnIndexerIndex  *index,
                    GError            **error)
{
  for (guint i = 0; i < N_STMTS; i++)
    if (sqlite3_prepare_v3 (index->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &index->stmts[i], NULL) != SQLITE_OK)
      return set_error (index, "prepare a statement", error);
  return TRUE;
}

static gboolean
open_database (CairnIndexerIndex  *index,
               GError            **error)
{
  if (sqlite3_open_v2 (index->path, &index->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    return set_error (index, "open", error);
  sqlite3_busy_timeout (index->db, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes (index->db, 0);
  return TRUE;
}

/**
 * cairn_indexer_index_open:
 * @path: the index database
 * @needs_scan: (out): set to whether the index is empty and must be filled
 *   by a scan of the whole store
 * @error: return location for a #GError
 *
 * Opens the index, and replaces it by an empty one when it is unusable:
 * corrupt, of another schema, asked to be rebuilt (cairn_search_request_rebuild())
 * or left by an interrupted scan.
 *
 * Returns: (transfer full): the index, or %NULL
 */
CairnIndexerIndex *
cairn_indexer_index_open (const char  *path,
                          gboolean    *needs_scan,
                          GError     **error)
{
  g_autoptr(CairnIndexerIndex) index = g_new0 (CairnIndexerIndex, 1);

  index->path = g_strdup (path);
  index->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  *needs_scan = FALSE;
  if (!open_database (index, error))
    return NULL;
  if (!is_usable (index))
    {
      if (query_int (index, "PRAGMA user_version") > 0)
        g_message ("The index %s is rebuilt", path);
      sqlite3_close (index->db);
      index->db = NULL;
      cairn_indexer_index_delete_files (path);
      if (!open_database (index, error) ||
          !exec (index, "PRAGMA journal_mode = WAL", error) ||
          !exec (index, "BEGIN", error) || !exec (index, schema, error) ||
          !exec (index, "PRAGMA user_version = " G_STRINGIFY (SCHEMA_VERSION), error) ||
          !exec (index, "COMMIT", error))
        return NULL;
      *needs_scan = TRUE;
    }
  /* The index can always be rebuilt from the store: a power cut may lose
   * its last transactions, which the recorder then delivers again. */
  if (!exec (index, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32000", error) ||
      !prepare_statements (index, error))
    return NULL;
  return g_steal_pointer (&index);
}

/**
 * cairn_indexer_index_open_scratch:
 * @path: a file beside the index, replaced if it exists
 * @error: return location for a #GError
 *
 * Creates a scratch index for a scan (cairn_indexer_index_begin_scan()):
 * the fields of the documents are written there by a thread of their
 * own while the index's thread writes their text, and copied into the
 * index at the end (cairn_indexer_index_end_scan()). Nothing of it needs
 * to survive a crash, which restarts the scan: it has no journal and is
 * never synced. Message ids and threads are kept in memory until
 * cairn_indexer_index_finish_scratch().
 *
 * Returns: (transfer full): the scratch index, or %NULL
 */
CairnIndexerIndex *
cairn_indexer_index_open_scratch (const char  *path,
                                  GError     **error)
{
  g_autoptr(CairnIndexerIndex) index = g_new0 (CairnIndexerIndex, 1);

  index->path = g_strdup (path);
  index->pending = g_hash_table_new (g_int64_hash, g_int64_equal);
  /* A message id is random text: writing them as they come touched
   * nearly every page of their table in every transaction, which cost
   * more than the text itself; they are written at the end, in order. */
  index->scan_msgids = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  index->scan_merged = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  cairn_indexer_index_delete_files (path);
  /* The late indexes are made at the scan's end, when the other stages
   * are done: SQLite may sort their keys in two threads ("threads"),
   * which took the index of message ids from 0.09 to 0.12 s down to
   * 0.07 to 0.09 s on 100,000 messages. */
  if (!open_database (index, error) ||
      !exec (index, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                    "PRAGMA cache_size = -8000; PRAGMA threads = 2", error) ||
      !exec (index, scratch_schema, error) ||
      !prepare_statements (index, error))
    return NULL;
  return g_steal_pointer (&index);
}

gboolean
cairn_indexer_index_begin (CairnIndexerIndex  *index,
                           GError            **error)
{
  return exec (index, "BEGIN IMMEDIATE", error);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  gint64 x = **(const gint64 * const *) a, y = **(const gint64 * const *) b;

  return (x > y) - (x < y);
}

/* The keys of @table, in the order of @compare. */
static gpointer *
sorted_keys (GHashTable *table,
             int       (*compare) (const void *, const void *),
             guint      *n_keys)
{
  gpointer *keys = g_hash_table_get_keys_as_array (table, n_keys);

  qsort (keys, *n_keys, sizeof *keys, compare);
  return keys;
}

/* The columns of the text table, in their order. */
enum
{
  TEXT_SENDER,
  TEXT_RECIPIENTS,
  TEXT_SUBJECT,
  TEXT_BODY,
  TEXT_ATTACHMENTS,
  TEXT_MIME_TYPES,
  TEXT_LIST_ID,
  N_TEXT_COLUMNS
};

/* The text of a document in one block, which is all that a transaction
 * keeps of it until its commit: a scan holds many. */
struct _CairnIndexerText
{
  guint64 id;
  gint64 key;
  gsize lengths[N_TEXT_COLUMNS];
  char data[];                  /* the columns one after another */
};

/**
 * cairn_indexer_document_pack_text:
 * @document: a document, packed or not
 *
 * Copies the text of @document's columns into one block and frees its
 * strings, which leaves them %NULL. An extractor does it, in parallel
 * with the others, rather than the one thread that writes the fields.
 */
void
cairn_indexer_document_pack_text (CairnIndexerDocument *document)
{
  GString **columns[N_TEXT_COLUMNS] = {
    &document->sender, &document->recipients, &document->subject, &document->body,
    &document->attachments, &document->mime_types, &document->list_id,
  };
  CairnIndexerText *text;
  gsize size = 0;
  char *p;

  if (document->text != NULL)
    return;
  for (guint i = 0; i < N_TEXT_COLUMNS; i++)
    size += (*columns[i])->len;
  text = g_malloc (sizeof *text + size);
  text->key = 0;
  p = text->data;
  for (guint i = 0; i < N_TEXT_COLUMNS; i++)
    {
      memcpy (p, (*columns[i])->str, (*columns[i])->len);
      text->lengths[i] = (*columns[i])->len;
      p += (*columns[i])->len;
      g_string_free (g_steal_pointer (columns[i]), TRUE);
    }
  document->text = text;
}

/**
 * cairn_indexer_text_new:
 * @document: (transfer full): a document whose fields are written
 *
 * Returns: (transfer full): the text of @document, under its key
 */
CairnIndexerText *
cairn_indexer_text_new (CairnIndexerDocument *document)
{
  CairnIndexerText *text;

  cairn_indexer_document_pack_text (document);
  text = g_steal_pointer (&document->text);
  text->id = document->id;
  text->key = document->key;
  cairn_indexer_document_free (document);
  return text;
}

void
cairn_indexer_text_free (CairnIndexerText *text)
{
  g_free (text);
}

/**
 * cairn_indexer_index_write_text:
 * @index: the index, in a transaction
 * @error: return location for a #GError
 *
 * Writes the text queued since the last write, in the order of the
 * keys, and frees each text once written: a scan's fields thread
 * meanwhile fills the next, which takes the memory freed, and freeing
 * them all after the last put both in memory at once. A commit writes
 * what is queued first.
 *
 * Returns: whether it was written
 */
gboolean
cairn_indexer_index_write_text (CairnIndexerIndex  *index,
                                GError            **error)
{
  sqlite3_stmt *doc_text = index->stmts[STMT_PUT_DOC_TEXT];
  sqlite3_stmt *text = index->stmts[STMT_PUT_TEXT];
  guint n_texts;
  g_autofree gpointer *texts = sorted_keys (index->pending, compare_keys, &n_texts);
  gboolean ok = TRUE;

  for (guint i = 0; i < n_texts; i++)
    texts[i] = g_hash_table_lookup (index->pending, texts[i]);
  g_hash_table_steal_all (index->pending);
  for (guint i = 0; i < n_texts; i++)
    {
      CairnIndexerText *pending = texts[i];
      const char *p = pending->data;

      if (ok)
        {
          sqlite3_bind_int64 (doc_text, 1, (gint64) pending->id);
          sqlite3_bind_int64 (doc_text, 2, pending->key);
          sqlite3_bind_int64 (text, 1, pending->key);
          for (guint c = 0; c < N_TEXT_COLUMNS; c++)
            {
              sqlite3_bind_text (doc_text, c + 3, p, pending->lengths[c], SQLITE_STATIC);
              sqlite3_bind_text (text, c + 2, p, pending->lengths[c], SQLITE_STATIC);
              p += pending->lengths[c];
            }
          ok = step_done (index, STMT_PUT_DOC_TEXT, error) &&
               step_done (index, STMT_PUT_TEXT, error);
        }
      cairn_indexer_text_free (pending);
    }
  return ok;
}

/* Writes the text of the documents put since the begin, then commits. */
gboolean
cairn_indexer_index_commit (CairnIndexerIndex  *index,
                            GError            **error)
{
  return cairn_indexer_index_write_text (index, error) && exec (index, "COMMIT", error);
}

void
cairn_indexer_index_rollback (CairnIndexerIndex *index)
{
  g_hash_table_remove_all (index->pending);
  if (!sqlite3_get_autocommit (index->db))
    sqlite3_exec (index->db, "ROLLBACK", NULL, NULL, NULL);
}

/* A scan writes the whole index in large transactions: the log is
 * copied back to the database every SCAN_CHECKPOINT pages instead of
 * every 1,000, so that a page is copied once for several transactions;
 * at the end the log is emptied, so that it takes no room afterwards. */
#define SCAN_CHECKPOINT 10000
/* What a scan's end, or its failure, puts back for the changes after. */
#define DEFAULT_LOG "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 1000;"

/* FTS5 merges the segments of a level of its index once it holds
 * "automerge" of them, 4 by default. A scan lets them grow to 16, the
 * bound of FTS5's crisis merges: merging less often cost the worker an
 * eighth less on 100,000 messages, and the queries of the benchmark
 * stayed below a millisecond on the index of more segments. The default
 * comes back at the scan's end, for the changes that follow. */
#define SCAN_AUTOMERGE "INSERT INTO text (text, rank) VALUES ('automerge', 16);"
#define DEFAULT_AUTOMERGE "INSERT INTO text (text, rank) VALUES ('automerge', 4);"

/* Until a scan ends, the index is not marked complete and is emptied
 * when the indexer starts again, so its transactions need not reach the
 * disk: nothing is synced until its end. */
gboolean
cairn_indexer_index_begin_scan (CairnIndexerIndex  *index,
                                GError            **error)
{
  return exec (index, "PRAGMA synchronous = OFF; "
                      "PRAGMA wal_autocheckpoint = " G_STRINGIFY (SCAN_CHECKPOINT) "; "
                      SCAN_AUTOMERGE, error);
}

/* The thread @thread became, following its merges. */
static gint64
scan_thread (CairnIndexerIndex *index,
             gint64             thread)
{
  const gint64 *into;

  while ((into = g_hash_table_lookup (index->scan_merged, &thread)) != NULL)
    thread = *into;
  return thread;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
is_own_msgid (gpointer key,
              gpointer value,
              gpointer user_data)
{
  return ((ScanMsgid *) value)->own;
}

/* Writes the message ids a scan kept but the documents' own, in the
 * order of the table's key, which appends every row. The own ones are
 * dropped first rather than sorted with the others: on most mail they
 * are nearly all. */
static gboolean
write_scan_msgids (CairnIndexerIndex  *index,
                   GError            **error)
{
  sqlite3_stmt *put = index->stmts[STMT_PUT_MSGID];
  guint n_ids;
  g_autofree gpointer *ids = NULL;

  g_hash_table_foreach_remove (index->scan_msgids, is_own_msgid, NULL);
  ids = sorted_keys (index->scan_msgids, compare_strings, &n_ids);
  for (guint i = 0; i < n_ids; i++)
    {
      ScanMsgid *entry = g_hash_table_lookup (index->scan_msgids, ids[i]);

      sqlite3_bind_text (put, 1, entry->message_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (put, 2, scan_thread (index, entry->thread));
      if (!step_done (index, STMT_PUT_MSGID, error))
        return FALSE;
    }
  return TRUE;
}

/* Moves the documents of the threads a scan merged into the threads
 * these became: a scan merges threads in memory alone. */
static gboolean
write_scan_merges (CairnIndexerIndex  *index,
                   GError            **error)
{
  sqlite3_stmt *merge = index->stmts[STMT_MERGE_DOCS];
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, index->scan_merged);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      sqlite3_bind_int64 (merge, 1, scan_thread (index, *(gint64 *) key));
      sqlite3_bind_int64 (merge, 2, *(gint64 *) key);
      if (!step_done (index, STMT_MERGE_DOCS, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * cairn_indexer_index_finish_scratch:
 * @scratch: a scratch index, in a transaction
 * @error: return location for a #GError
 *
 * Writes what @scratch kept in memory and commits; it takes no document
 * after.
 *
 * Returns: whether it is written
 */
gboolean
cairn_indexer_index_finish_scratch (CairnIndexerIndex  *scratch,
                                    GError            **error)
{
  return write_scan_msgids (scratch, error) &&
         exec (scratch, SCHEMA_LATE_INDEXES, error) &&
         write_scan_merges (scratch, error) &&
         exec (scratch, "COMMIT", error);
}

/* The scratch's tables have the same definitions and indexes as the
 * index's, which are empty: SQLite copies such a table's records and
 * those of its indexes as they are, without building anything again. */
static const char copy_scratch[] =
  "INSERT INTO main.docs SELECT * FROM scratch.docs;"
  "INSERT INTO main.flags SELECT * FROM scratch.flags;"
  "INSERT INTO main.tags SELECT * FROM scratch.tags;"
  "INSERT INTO main.item_tags SELECT * FROM scratch.item_tags;"
  "INSERT INTO main.msgids SELECT * FROM scratch.msgids;";

/* Brings the database file of @db to the disk through SQLite's own
 * descriptor: closing another descriptor of it would drop every POSIX
 * lock the process holds on the file, the other connections' too. */
static gboolean
sync_database (sqlite3  *db,
               GError  **error)
{
  sqlite3_file *file = NULL;
  int rc = sqlite3_file_control (db, "main", SQLITE_FCNTL_FILE_POINTER, &file);

  if (rc == SQLITE_OK && (file == NULL || file->pMethods == NULL))
    rc = SQLITE_MISUSE;
  if (rc == SQLITE_OK)
    rc = file->pMethods->xSync (file, SQLITE_SYNC_NORMAL);
  if (rc == SQLITE_OK)
    return TRUE;
  g_set_error (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_FAILED,
               "Cannot bring the index %s to the disk: %s", sqlite3_db_filename (db, "main"),
               sqlite3_errstr (rc));
  return FALSE;
}

/* Copies the log back to the database (a checkpoint) on a connection of
 * its own, which sees the log once it has read the database, then syncs
 * the database, which the scan's earlier checkpoints wrote without a
 * sync. A failed checkpoint leaves the pages in the log, for the next.
 * Returns whether the database is synced. */
static gpointer
checkpoint_in_thread (gpointer data)
{
  const char *path = data;
  sqlite3 *db = NULL;
  gboolean synced = FALSE;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK &&
      sqlite3_exec (db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) == SQLITE_OK)
    {
      sqlite3_wal_checkpoint_v2 (db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      synced = sync_database (db, NULL);
    }
  sqlite3_close (db);
  return GINT_TO_POINTER (synced);
}

/**
 * cairn_indexer_index_end_text:
 * @index: the index, in the scan's last transaction, its last text put
 * @error: return location for a #GError
 *
 * Commits the scan's last text, and copies its log back to the database
 * (a checkpoint) in another thread, while the fields thread finishes the
 * scratch index and cairn_indexer_index_end_scan() copies it in: done by
 * the worker after the copy, the checkpoint took 0.1 to 0.17 s on
 * 100,000 messages, the other processors idle.
 *
 * Returns: whether the text is committed
 */
gboolean
cairn_indexer_index_end_text (CairnIndexerIndex  *index,
                              GError            **error)
{
  if (!exec (index, "PRAGMA wal_autocheckpoint = 0", error) ||
      !cairn_indexer_index_commit (index, error))
    return FALSE;
  index->checkpoint = g_thread_new ("cairn-indexer-log", checkpoint_in_thread, index->path);
  return TRUE;
}

/**
 * cairn_indexer_index_end_scan:
 * @index: the index, its last text committed (cairn_indexer_index_end_text())
 * @scratch_path: the scan's scratch index, finished
 * @error: return location for a #GError
 *
 * Completes a scan: copies the fields from the scratch index, removes
 * it, and marks the index complete in the same transaction, whose commit
 * comes once the database is synced and syncs the log, so that a
 * complete index is never one whose earlier transactions a power cut
 * lost. The log is emptied after: emptied before the mark, as it was,
 * the copy went through it twice and the database was synced twice
 * while the other processors idled (0.06 s on 100,000 messages).
 *
 * Returns: whether the index is complete
 */
gboolean
cairn_indexer_index_end_scan (CairnIndexerIndex  *index,
                              const char         *scratch_path,
                              GError            **error)
{
  char *attach = sqlite3_mprintf ("ATTACH %Q AS scratch", scratch_path);
  gboolean ok = exec (index, attach, error) &&
                exec (index, "PRAGMA synchronous = FULL", error) &&
                cairn_indexer_index_begin (index, error) && exec (index, copy_scratch, error);

  sqlite3_free (attach);
  /* Before the fields show: a reader that finds them finds no scratch
   * left, even if the indexer is killed at once. It stays readable
   * until it is detached. */
  cairn_indexer_index_delete_files (scratch_path);
  /* Nothing is written to the database from the checkpoint on
   * (wal_autocheckpoint is 0): what it did not copy, the log holds. */
  if (!join_checkpoint (index) && ok)
    ok = sync_database (index->db, error);
  ok = ok &&
       exec (index, DEFAULT_AUTOMERGE
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('scanned', '1')", error) &&
       cairn_indexer_index_commit (index, error);
  if (!sqlite3_get_autocommit (index->db))
    cairn_indexer_index_rollback (index);
  sqlite3_exec (index->db, "DETACH scratch", NULL, NULL, NULL);
  if (!ok)
    return FALSE;
  /* Searches read the index from the mark on: the log is emptied only
   * if none reads it, without waiting, which a search that writes (a
   * check) would otherwise hold up while it waits for this writer. A
   * failure leaves the log to the next checkpoint. */
  exec (index, DEFAULT_LOG, NULL);
  sqlite3_busy_timeout (index->db, 0);
  sqlite3_exec (index->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  sqlite3_busy_timeout (index->db, BUSY_TIMEOUT_MS);
  return TRUE;
}

/* After a failed scan, whose transaction is rolled back: the index stays
 * incomplete and is emptied at the next start. */
void
cairn_indexer_index_abort_scan (CairnIndexerIndex *index)
{
  join_checkpoint (index);
  exec (index, DEFAULT_LOG DEFAULT_AUTOMERGE, NULL);
}

static void
add_thread (GArray  *threads,
            gint64   thread)
{
  for (guint i = 0; i < threads->len; i++)
    if (g_array_index (threads, gint64, i) == thread)
      return;
  g_array_append_val (threads, thread);
}

/* Adds the thread of a document id or message id to @threads; returns
 * whether it has one. */
static gboolean
find_thread (CairnIndexerIndex *index,
             int                stmt,
             const char        *text,
             gint64             id,
             GArray            *threads)
{
  sqlite3_stmt *s = index->stmts[stmt];
  gboolean found = FALSE;

  if (text != NULL)
    sqlite3_bind_text (s, 1, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64 (s, 1, id);
  if (sqlite3_step (s) == SQLITE_ROW)
    {
      add_thread (threads, sqlite3_column_int64 (s, 0));
      found = TRUE;
    }
  sqlite3_reset (s);
  sqlite3_clear_bindings (s);
  return found;
}

/* Adds the thread of a message id to @threads; returns whether it has
 * one. */
static gboolean
find_msgid_thread (CairnIndexerIndex *index,
                   const char        *message_id,
                   GArray            *threads)
{
  ScanMsgid *entry;

  if (index->scan_msgids == NULL)
    return find_thread (index, STMT_MSGID_THREAD, message_id, 0, threads);
  entry = g_hash_table_lookup (index->scan_msgids, message_id);
  if (entry != NULL)
    add_thread (threads, scan_thread (index, entry->thread));
  return entry != NULL;
}

static void
keep_scan_msgid (CairnIndexerIndex *index,
                 const char        *message_id,
                 gint64             thread,
                 gboolean           own)
{
  gsize size = strlen (message_id) + 1;
  ScanMsgid *entry = g_hash_table_lookup (index->scan_msgids, message_id);

  if (entry == NULL)
    {
      entry = g_malloc (sizeof *entry + size);
      entry->thread = thread;
      entry->own = FALSE;
      memcpy (entry->message_id, message_id, size);
      g_hash_table_insert (index->scan_msgids, entry->message_id, entry);
    }
  entry->own |= own;
}

/* A message joins every thread that one of its own, parent or ancestor
 * message ids is known in; several such threads become one, the oldest.
 * Ids of messages not indexed yet are recorded in msgids, so that a
 * message arriving before its parent is found by the parent later; its
 * own is in docs. Ids known already follow their thread's merge; only
 * new ones are written. */
static gboolean
assign_thread (CairnIndexerIndex     *index,
               CairnIndexerDocument  *document,
               gboolean               is_new,
               gint64                *thread,
               GError               **error)
{
  g_autoptr(GArray) threads = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) new_ids = g_ptr_array_new ();

  if (document->message_id != NULL)
    g_ptr_array_add (ids, document->message_id);
  for (guint i = 0; i < document->references->len; i++)
    g_ptr_array_add (ids, g_ptr_array_index (document->references, i));
  if (!is_new)
    find_thread (index, STMT_DOC_THREAD, NULL, document->id, threads);
  for (guint i = 0; i < ids->len; i++)
    if (!find_msgid_thread (index, g_ptr_array_index (ids, i), threads))
      g_ptr_array_add (new_ids, g_ptr_array_index (ids, i));

  *thread = (gint64) document->id;
  for (guint i = 0; i < threads->len; i++)
    *thread = MIN (*thread, g_array_index (threads, gint64, i));
  for (guint i = 0; i < threads->len; i++)
    {
      gint64 other = g_array_index (threads, gint64, i);

      if (other == *thread)
        continue;
      if (index->scan_merged != NULL)
        {
          g_hash_table_insert (index->scan_merged, g_memdup2 (&other, sizeof other),
                               g_memdup2 (thread, sizeof *thread));
          continue;
        }
      for (int stmt = STMT_MERGE_DOCS; stmt <= STMT_MERGE_MSGIDS; stmt++)
        {
          sqlite3_bind_int64 (index->stmts[stmt], 1, *thread);
          sqlite3_bind_int64 (index->stmts[stmt], 2, other);
          if (!step_done (index, stmt, error))
            return FALSE;
        }
    }
  if (index->scan_msgids != NULL)
    {
      for (guint i = 0; i < new_ids->len; i++)
        keep_scan_msgid (index, g_ptr_array_index (new_ids, i), *thread, FALSE);
      /* In the hash table still, for the documents that follow. */
      if (document->message_id != NULL)
        keep_scan_msgid (index, document->message_id, *thread, TRUE);
      return TRUE;
    }
  for (guint i = 0; i < new_ids->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (new_ids, i), document->message_id) == 0)
        continue;
      sqlite3_bind_text (index->stmts[STMT_PUT_MSGID], 1, g_ptr_array_index (new_ids, i), -1,
                         SQLITE_STATIC);
      sqlite3_bind_int64 (index->stmts[STMT_PUT_MSGID], 2, *thread);
      if (!step_done (index, STMT_PUT_MSGID, error))
        return FALSE;
    }
  return TRUE;
}

/* Before the docs row of @id goes: keeps its message id in msgids, if
 * it is not @message_id, the one its replacement has, so that a message
 * referring to it later still joins its thread. */
static gboolean
keep_msgid (CairnIndexerIndex  *index,
            guint64             id,
            const char         *message_id,
            GError            **error)
{
  sqlite3_stmt *keep = index->stmts[STMT_KEEP_MSGID];

  sqlite3_bind_int64 (keep, 1, (gint64) id);
  if (message_id != NULL)
    sqlite3_bind_text (keep, 2, message_id, -1, SQLITE_STATIC);
  return step_done (index, STMT_KEEP_MSGID, error);
}

static gboolean
delete_rows (CairnIndexerIndex  *index,
             int                 stmt,
             guint64             id,
             GError            **error)
{
  sqlite3_bind_int64 (index->stmts[stmt], 1, (gint64) id);
  return step_done (index, stmt, error);
}

static gboolean
put_flag (CairnIndexerIndex  *index,
          int                 stmt,
          const char         *flag,
          guint64             id,
          GError            **error)
{
  sqlite3_bind_text (index->stmts[stmt], 1, flag, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (index->stmts[stmt], 2, (gint64) id);
  return step_done (index, stmt, error);
}

/* The first column of @stmt's row for @value, if there is a row. */
static gboolean
lookup_int (CairnIndexerIndex *index,
            int                stmt,
            gint64             value,
            gint64            *result)
{
  sqlite3_stmt *s = index->stmts[stmt];
  gboolean found;

  sqlite3_bind_int64 (s, 1, value);
  found = sqlite3_step (s) == SQLITE_ROW;
  if (found)
    *result = sqlite3_column_int64 (s, 0);
  sqlite3_reset (s);
  sqlite3_clear_bindings (s);
  return found;
}

/* The key is the FTS5 rowid, in the order of the dates, so that a search
 * walks a term's matches newest first and stops once a page is full:
 * seconds (within 2^38, 8,700 years either way) times 2^24 plus the low
 * 24 bits of the id, or the next free value when another item has it.
 * Items of one second share 2^24 keys: with 2^16 (schema 2), the 65,537th
 * item without a date (contacts, payloads not fetched) probed past every
 * key before it, and a scan of 100,000 never ended. CairnSearch's date
 * ranges (framework/cairn/cairn-search-query.c) read the same layout. */
static gint64
first_key (CairnIndexerDocument *document)
{
  const gint64 bound = G_GINT64_CONSTANT (1) << 38;

  return CLAMP (document->date, -bound, bound) * (G_GINT64_CONSTANT (1) << 24) +
         (gint64) (document->id & 0xFFFFFF);
}

static gint64
choose_key (CairnIndexerIndex    *index,
            CairnIndexerDocument *document)
{
  gint64 key = first_key (document);
  gint64 owner;

  while (lookup_int (index, STMT_KEY_OWNER, key, &owner) && owner != (gint64) document->id)
    key++;
  return key;
}

static gboolean
delete_text (CairnIndexerIndex  *index,
             guint64             id,
             GError            **error)
{
  gint64 key;

  if (!lookup_int (index, STMT_DOC_KEY, (gint64) id, &key))
    return TRUE;
  /* Put in this transaction: its text is not written yet. */
  if (g_hash_table_remove (index->pending, &key))
    return TRUE;
  /* FTS5 reads the words to take out of its index from doc_text: the
   * row goes after. */
  sqlite3_bind_int64 (index->stmts[STMT_DELETE_TEXT], 1, key);
  return step_done (index, STMT_DELETE_TEXT, error) &&
         delete_rows (index, STMT_DELETE_DOC_TEXT, id, error);
}

/* Inserts the docs row of @document; returns SQLite's code. */
static int
insert_doc (CairnIndexerIndex    *index,
            CairnIndexerDocument *document,
            gint64                thread,
            gint64                key)
{
  sqlite3_stmt *doc = index->stmts[STMT_PUT_DOC];
  int rc;

  sqlite3_bind_int64 (doc, 1, (gint64) document->id);
  sqlite3_bind_int64 (doc, 2, (gint64) document->collection_id);
  sqlite3_bind_text (doc, 3, document->mime_type ? document->mime_type : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (doc, 4, document->date);
  sqlite3_bind_int64 (doc, 5, thread);
  if (document->message_id != NULL)
    sqlite3_bind_text (doc, 6, document->message_id, -1, SQLITE_STATIC);
  sqlite3_bind_int (doc, 7, document->complete);
  sqlite3_bind_int64 (doc, 8, key);
  rc = sqlite3_step (doc);
  sqlite3_reset (doc);
  sqlite3_clear_bindings (doc);
  return rc;
}

/**
 * cairn_indexer_index_put_fields:
 * @index: the index
 * @document: what to index of an item
 * @is_new: whether the index cannot hold the item yet (a scan of an
 *   empty index), which spares looking for what to replace
 * @error: return location for a #GError
 *
 * Adds or replaces the item's document but its text: its fields, flags
 * and thread, and sets its key, which its text is written under (by
 * cairn_indexer_index_put_text()). Its tags stay: they change by their
 * own callbacks.
 *
 * Returns: whether it was written (in the current transaction)
 */
gboolean
cairn_indexer_index_put_fields (CairnIndexerIndex     *index,
                                CairnIndexerDocument  *document,
                                gboolean               is_new,
                                GError               **error)
{
  gint64 thread, key;
  int rc = SQLITE_CONSTRAINT;

  /* Not INSERT OR REPLACE: a statement that may replace rows opens a
   * statement savepoint, and FTS5 writes out the text it holds in memory
   * at every savepoint. */
  if (!assign_thread (index, document, is_new, &thread, error) ||
      (!is_new && (!delete_text (index, document->id, error) ||
                   !keep_msgid (index, document->id, document->message_id, error) ||
                   !delete_rows (index, STMT_DELETE_DOC, document->id, error) ||
                   !delete_rows (index, STMT_DELETE_FLAGS, document->id, error))))
    return FALSE;
  /* A new document tries its first key at once: the unique index of keys
   * refuses a key taken, which is rare, and looking first cost a search
   * of that index for every document. */
  if (is_new)
    {
      key = first_key (document);
      rc = insert_doc (index, document, thread, key);
    }
  if (rc == SQLITE_CONSTRAINT)
    {
      key = choose_key (index, document);
      rc = insert_doc (index, document, thread, key);
    }
  if (rc != SQLITE_DONE)
    return set_error (index, "write", error);
  for (guint i = 0; i < document->flags->len; i++)
    if (!put_flag (index, STMT_PUT_FLAG, g_ptr_array_index (document->flags, i), document->id,
                   error))
      return FALSE;
  document->key = key;
  return TRUE;
}

/**
 * cairn_indexer_index_put_text:
 * @index: the index
 * @text: (transfer full): the text of a document whose fields are written
 *
 * Queues @text for cairn_indexer_index_commit(), which writes it.
 */
void
cairn_indexer_index_put_text (CairnIndexerIndex *index,
                              CairnIndexerText  *text)
{
  g_hash_table_replace (index->pending, &text->key, text);
}

/**
 * cairn_indexer_index_put:
 * @index: the index
 * @document: (transfer full): what to index of an item
 * @is_new: as for cairn_indexer_index_put_fields()
 * @error: return location for a #GError
 *
 * Adds or replaces the item's document: cairn_indexer_index_put_fields()
 * and cairn_indexer_index_put_text().
 *
 * Returns: whether it was written (in the current transaction)
 */
gboolean
cairn_indexer_index_put (CairnIndexerIndex     *index,
                         CairnIndexerDocument  *document,
                         gboolean               is_new,
                         GError               **error)
{
  if (!cairn_indexer_index_put_fields (index, document, is_new, error))
    {
      cairn_indexer_document_free (document);
      return FALSE;
    }
  cairn_indexer_index_put_text (index, cairn_indexer_text_new (document));
  return TRUE;
}

gboolean
cairn_indexer_index_remove (CairnIndexerIndex  *index,
                            guint64             id,
                            GError            **error)
{
  return delete_text (index, id, error) &&
         keep_msgid (index, id, NULL, error) &&
         delete_rows (index, STMT_DELETE_DOC, id, error) &&
         delete_rows (index, STMT_DELETE_FLAGS, id, error) &&
         delete_rows (index, STMT_DELETE_ITEM_TAGS, id, error);
}

gboolean
cairn_indexer_index_move (CairnIndexerIndex  *index,
                          guint64             id,
                          guint64             collection_id,
                          GError            **error)
{
  sqlite3_bind_int64 (index->stmts[STMT_MOVE], 1, (gint64) collection_id);
  sqlite3_bind_int64 (index->stmts[STMT_MOVE], 2, (gint64) id);
  return step_done (index, STMT_MOVE, error);
}

/* A flag change touches the flags table alone: no body is read again. */
gboolean
cairn_indexer_index_change_flags (CairnIndexerIndex  *index,
                                  guint64             id,
                                  const CairnFlags   *added,
                                  const CairnFlags   *removed,
                                  GError            **error)
{
  for (guint i = 0; added != NULL && i < cairn_flags_get_size (added); i++)
    if (!put_flag (index, STMT_PUT_FLAG, cairn_flags_get_flag (added, i), id, error))
      return FALSE;
  for (guint i = 0; removed != NULL && i < cairn_flags_get_size (removed); i++)
    if (!put_flag (index, STMT_DELETE_FLAG, cairn_flags_get_flag (removed, i), id, error))
      return FALSE;
  return TRUE;
}

gboolean
cairn_indexer_index_set_tag (CairnIndexerIndex  *index,
                             guint64             tag_id,
                             const char         *name,
                             const char         *gid,
                             GError            **error)
{
  sqlite3_stmt *stmt = index->stmts[STMT_PUT_TAG];

  sqlite3_bind_int64 (stmt, 1, (gint64) tag_id);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, gid, -1, SQLITE_STATIC);
  return step_done (index, STMT_PUT_TAG, error);
}

gboolean
cairn_indexer_index_remove_tag (CairnIndexerIndex  *index,
                                guint64             tag_id,
                                GError            **error)
{
  return delete_rows (index, STMT_DELETE_TAG, tag_id, error) &&
         delete_rows (index, STMT_DELETE_TAG_ITEMS, tag_id, error);
}

gboolean
cairn_indexer_index_tag_item (CairnIndexerIndex  *index,
                              guint64             id,
                              guint64             tag_id,
                              gboolean            tagged,
                              GError            **error)
{
  int stmt = tagged ? STMT_TAG_ITEM : STMT_UNTAG_ITEM;

  sqlite3_bind_int64 (index->stmts[stmt], 1, (gint64) tag_id);
  sqlite3_bind_int64 (index->stmts[stmt], 2, (gint64) id);
  return step_done (index, stmt, error);
}
