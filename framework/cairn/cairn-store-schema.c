/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-store.h"
#include "cairn-store-schema-private.h"

/* migrations[n] turns a database of version n into version n + 1. A new
 * schema version appends one entry here, never edits an old one, and
 * adds a fixture database of the previous version to tests/store/. */
static const char * const migrations[] = {
  /* 0 -> 1: the first schema. */
  "CREATE TABLE schema_version (version INTEGER NOT NULL);"
  "INSERT INTO schema_version (version) VALUES (0);"

  "CREATE TABLE store_state ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  revision INTEGER NOT NULL,"
  "  log_start INTEGER NOT NULL);"
  "INSERT INTO store_state (id, revision, log_start) VALUES (1, 0, 0);"

  "CREATE TABLE collections ("
  "  id INTEGER PRIMARY KEY,"
  "  parent_id INTEGER REFERENCES collections (id),"
  "  name TEXT NOT NULL,"
  "  resource TEXT NOT NULL,"
  "  remote_id TEXT,"
  "  remote_revision TEXT,"
  "  mime_types TEXT NOT NULL DEFAULT '',"
  "  is_virtual INTEGER NOT NULL DEFAULT 0,"
  "  cache_inherit INTEGER NOT NULL DEFAULT 1,"
  "  cache_check_interval INTEGER NOT NULL DEFAULT -1,"
  "  cache_timeout INTEGER NOT NULL DEFAULT -1,"
  "  cache_sync_on_demand INTEGER NOT NULL DEFAULT 0,"
  "  cache_local_parts TEXT NOT NULL DEFAULT '',"
  "  revision INTEGER NOT NULL);"
  "CREATE INDEX collections_parent ON collections (parent_id);"
  "CREATE UNIQUE INDEX collections_remote_id ON collections (resource, remote_id);"

  "CREATE TABLE collection_attributes ("
  "  collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  value BLOB NOT NULL,"
  "  PRIMARY KEY (collection_id, name)) WITHOUT ROWID;"

  "CREATE TABLE items ("
  "  id INTEGER PRIMARY KEY,"
  "  collection_id INTEGER NOT NULL REFERENCES collections (id),"
  "  mime_type TEXT NOT NULL,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  remote_id TEXT,"
  "  remote_revision TEXT,"
  "  gid TEXT,"
  "  revision INTEGER NOT NULL);"
  "CREATE INDEX items_collection ON items (collection_id);"
  "CREATE UNIQUE INDEX items_remote_id ON items (collection_id, remote_id);"
  "CREATE INDEX items_gid ON items (gid) WHERE gid IS NOT NULL;"

  "CREATE TABLE parts ("
  "  id INTEGER PRIMARY KEY,"
  "  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  storage INTEGER NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  data BLOB,"
  "  path TEXT,"
  "  UNIQUE (item_id, name));"
  "CREATE INDEX parts_external ON parts (path) WHERE storage = 1;"

  "CREATE TABLE item_flags ("
  "  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  flag TEXT NOT NULL,"
  "  PRIMARY KEY (item_id, flag)) WITHOUT ROWID;"

  "CREATE TABLE item_attributes ("
  "  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  value BLOB NOT NULL,"
  "  PRIMARY KEY (item_id, name)) WITHOUT ROWID;"

  "CREATE TABLE tags ("
  "  id INTEGER PRIMARY KEY,"
  "  gid TEXT NOT NULL UNIQUE,"
  "  name TEXT NOT NULL,"
  "  type TEXT NOT NULL,"
  "  parent_id INTEGER REFERENCES tags (id) ON DELETE SET NULL);"
  "CREATE INDEX tags_parent ON tags (parent_id);"

  "CREATE TABLE tag_remote_ids ("
  "  tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,"
  "  resource TEXT NOT NULL,"
  "  remote_id TEXT NOT NULL,"
  "  PRIMARY KEY (tag_id, resource)) WITHOUT ROWID;"

  "CREATE TABLE item_tags ("
  "  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (item_id, tag_id)) WITHOUT ROWID;"
  "CREATE INDEX item_tags_tag ON item_tags (tag_id);"

  "CREATE TABLE relations ("
  "  left_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  right_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  type TEXT NOT NULL,"
  "  remote_id TEXT,"
  "  PRIMARY KEY (left_id, right_id, type)) WITHOUT ROWID;"
  "CREATE INDEX relations_right ON relations (right_id);"

  "CREATE TABLE collection_links ("
  "  collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
  "  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (collection_id, item_id)) WITHOUT ROWID;"
  "CREATE INDEX collection_links_item ON collection_links (item_id);"

  "CREATE TABLE change_log ("
  "  revision INTEGER NOT NULL,"
  "  seq INTEGER NOT NULL,"
  "  operation INTEGER NOT NULL,"
  "  entity_kind INTEGER NOT NULL,"
  "  entity_id INTEGER NOT NULL,"
  "  collection_id INTEGER NOT NULL DEFAULT 0,"
  "  destination_id INTEGER NOT NULL DEFAULT 0,"
  "  related_id INTEGER NOT NULL DEFAULT 0,"
  "  resource TEXT,"
  "  origin TEXT,"
  "  remote_id TEXT,"
  "  mime_type TEXT,"
  "  name TEXT,"
  "  parts TEXT,"
  "  flags_added TEXT,"
  "  flags_removed TEXT,"
  "  PRIMARY KEY (revision, seq)) WITHOUT ROWID;"

  "CREATE TABLE cursors ("
  "  name TEXT PRIMARY KEY,"
  "  revision INTEGER NOT NULL) WITHOUT ROWID;",

  /* 1 -> 2: a change recorder keeps, beside its cursor, the end of the
   * page it is delivering and how many of that page's coalesced
   * notifications were processed, so that it resumes exactly. */
  "ALTER TABLE cursors ADD COLUMN batch_end INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE cursors ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;",

  /* 2 -> 3: a resource keeps the changes its backend refused for good,
   * with the reason, until they are retried or discarded. They are copies
   * of change log entries, since the log is collected below the cursors.
   * The unique key makes recording a failure again after a crash a no-op. */
  "CREATE TABLE failed_changes ("
  "  id INTEGER PRIMARY KEY,"
  "  consumer TEXT NOT NULL,"
  "  reason TEXT NOT NULL,"
  "  failed_at INTEGER NOT NULL,"
  "  revision INTEGER NOT NULL,"
  "  operation INTEGER NOT NULL,"
  "  entity_kind INTEGER NOT NULL,"
  "  entity_id INTEGER NOT NULL,"
  "  collection_id INTEGER NOT NULL DEFAULT 0,"
  "  destination_id INTEGER NOT NULL DEFAULT 0,"
  "  related_id INTEGER NOT NULL DEFAULT 0,"
  "  resource TEXT,"
  "  origin TEXT,"
  "  remote_id TEXT,"
  "  mime_type TEXT,"
  "  name TEXT,"
  "  parts TEXT,"
  "  flags_added TEXT,"
  "  flags_removed TEXT,"
  "  UNIQUE (consumer, revision, operation, entity_kind, entity_id));",

  /* 3 -> 4: item and collection ids are never reused, since agents keep
   * them: store_state keeps the highest id ever given out, which a write
   * transaction reads once and writes back once at its end. SQLite's own
   * choice, max (id) + 1, gives the id of a deleted newest row again. The
   * change log and the failed changes still name ids deleted before this
   * version, so they count too.
   * A payload file's SHA-256 digest is kept with its part, beside its size,
   * so that a check finds a file that was damaged; older parts have none
   * and are checked by size. */
  "ALTER TABLE parts ADD COLUMN checksum BLOB;"
  "ALTER TABLE store_state ADD COLUMN last_item_id INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE store_state ADD COLUMN last_collection_id INTEGER NOT NULL DEFAULT 0;"
  "UPDATE store_state SET"
  "  last_item_id = max ((SELECT coalesce (max (id), 0) FROM items),"
  "                      (SELECT coalesce (max (entity_id), 0) FROM change_log"
  "                       WHERE entity_kind = 1),"
  "                      (SELECT coalesce (max (entity_id), 0) FROM failed_changes"
  "                       WHERE entity_kind = 1)),"
  "  last_collection_id = max ((SELECT coalesce (max (id), 0) FROM collections),"
  "                            (SELECT coalesce (max (entity_id), 0) FROM change_log"
  "                             WHERE entity_kind = 2),"
  "                            (SELECT coalesce (max (entity_id), 0) FROM failed_changes"
  "                             WHERE entity_kind = 2));",

  /* 4 -> 5: an item has a date (unix seconds, NULL when unknown): a
   * message's Date header or delivery time, an event's start. Item
   * models sort and narrow a collection by it, through the index. */
  "ALTER TABLE items ADD COLUMN date INTEGER;"
  "CREATE INDEX items_collection_date ON items (collection_id, date);",

  /* 5 -> 6: an item moved keeps its remote id until its resource replays
   * the move, and the id names it in the collection it left: an item
   * keeps that collection (NULL: its own), and one stored without a
   * remote id the collection where the name its move carried is its own,
   * so that an item coming back there can take the name from one that
   * carried the same name in from elsewhere. Items in transit when
   * migrated seem to be at home, which takes no name from anyone. */
  "ALTER TABLE items ADD COLUMN remote_collection_id INTEGER;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == CAIRN_STORE_SCHEMA_VERSION);

/* Says what failed to be read: a file that is not a store, or one that
 * cannot be read at all (a read-only folder, a full disk, I/O). */
static void
prefix_read_error (GError     **error,
                   const char  *path)
{
  if (error != NULL && g_error_matches (*error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT))
    g_prefix_error (error, "%s is not a Cairn store or is damaged: ", path);
  else
    g_prefix_error (error, "Cannot open store %s: ", path);
}

/* Reads the version without writing anything, so a database of a newer
 * version can be refused untouched. An empty file is version 0. */
gboolean
_cairn_store_schema_read_version (CairnDatabase  *database,
                                  const char     *path,
                                  int            *version,
                                  GError        **error)
{
  g_autoptr(CairnStatement) exists = NULL;
  g_autoptr(CairnStatement) read = NULL;
  int rc;

  exists = _cairn_database_prepare (database,
                                    "SELECT 1 FROM sqlite_master "
                                    "WHERE type = 'table' AND name = 'schema_version'",
                                    error);
  if (exists == NULL)
    {
      prefix_read_error (error, path);
      return FALSE;
    }

  rc = _cairn_database_step_row (database, exists, error);
  if (rc < 0)
    {
      prefix_read_error (error, path);
      return FALSE;
    }
  if (rc == SQLITE_DONE)
    {
      g_autoptr(CairnStatement) any = _cairn_database_prepare (database,
                                                               "SELECT count(*) FROM sqlite_master",
                                                               error);

      if (any == NULL || _cairn_database_step_row (database, any, error) != SQLITE_ROW)
        return FALSE;
      if (sqlite3_column_int (any, 0) != 0)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT,
                       "%s is an SQLite database but not a Cairn store", path);
          return FALSE;
        }
      *version = 0;
      return TRUE;
    }

  read = _cairn_database_prepare (database, "SELECT version FROM schema_version", error);
  if (read == NULL || _cairn_database_step_row (database, read, error) != SQLITE_ROW)
    {
      if (error && *error == NULL)
        g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT,
                     "%s has no schema version", path);
      return FALSE;
    }

  *version = sqlite3_column_int (read, 0);
  return TRUE;
}

static gboolean
check_version (int          version,
               const char  *path,
               GError     **error)
{
  if (version > CAIRN_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NEWER_SCHEMA,
                   "%s has schema version %d, newer than version %d that this Cairn "
                   "understands; it was left untouched", path, version,
                   CAIRN_STORE_SCHEMA_VERSION);
      return FALSE;
    }
  if (version < 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT,
                   "%s has an invalid schema version %d", path, version);
      return FALSE;
    }

  return TRUE;
}

static gboolean
migrate_locked (CairnDatabase  *database,
                const char     *path,
                GError        **error)
{
  g_autoptr(CairnStatement) update = NULL;
  int version;

  if (!_cairn_store_schema_read_version (database, path, &version, error) ||
      !check_version (version, path, error))
    return FALSE;

  for (; version < CAIRN_STORE_SCHEMA_VERSION; version++)
    if (!_cairn_database_exec (database, migrations[version], error))
      {
        g_prefix_error (error, "Cannot migrate %s to schema version %d: ", path, version + 1);
        return FALSE;
      }

  update = _cairn_database_prepare (database, "UPDATE schema_version SET version = ?", error);
  if (update == NULL)
    return FALSE;
  sqlite3_bind_int (update, 1, CAIRN_STORE_SCHEMA_VERSION);

  return _cairn_database_step_done (database, update, error);
}

/* Brings the database to the current version in one write transaction;
 * another process may be migrating at the same moment, so the version is
 * read again under the write lock. */
gboolean
_cairn_store_schema_migrate (CairnDatabase  *database,
                             const char     *path,
                             GError        **error)
{
  int version;

  if (!_cairn_store_schema_read_version (database, path, &version, error) ||
      !check_version (version, path, error))
    return FALSE;
  if (version == CAIRN_STORE_SCHEMA_VERSION)
    return TRUE;

  if (!_cairn_database_exec (database, "BEGIN IMMEDIATE", error))
    return FALSE;

  if (!migrate_locked (database, path, error))
    {
      sqlite3_exec (database->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }

  return _cairn_database_exec (database, "COMMIT", error);
}
