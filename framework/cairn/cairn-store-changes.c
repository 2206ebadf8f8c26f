/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change-private.h"
#include "cairn-flags-private.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/* The change log as readers see it: changes since a revision, the keys
 * coalescing plans with, durable cursors and recorder positions, what a
 * resource has still to replay, and the changes it failed to replay. The
 * log is written by the transaction (cairn-transaction-log.c). */

static CairnFlagsDelta *
delta_from_columns (const char *added,
                    const char *removed)
{
  CairnFlagsDelta *delta = cairn_flags_delta_new ();
  g_autoptr(CairnFlags) add = NULL;
  g_autoptr(CairnFlags) remove = NULL;

  if (added == NULL && removed == NULL)
    return delta;

  add = _cairn_flags_new_from_string (added);
  remove = _cairn_flags_new_from_string (removed);

  for (guint i = 0; i < cairn_flags_get_size (add); i++)
    cairn_flags_delta_add (delta, cairn_flags_get_flag (add, i));
  for (guint i = 0; i < cairn_flags_get_size (remove); i++)
    cairn_flags_delta_remove (delta, cairn_flags_get_flag (remove, i));

  return delta;
}

/* The change log columns from @first on, in the order of CHANGE_COLUMNS. */
#define CHANGE_COLUMNS "revision, operation, entity_kind, entity_id, collection_id, " \
  "destination_id, related_id, resource, origin, remote_id, mime_type, name, parts, " \
  "flags_added, flags_removed"

static CairnChange *
change_from_columns (CairnStatement *stmt,
                     int             first)
{
  CairnChange *change = _cairn_change_new ();

  change->revision = sqlite3_column_int64 (stmt, first);
  change->operation = sqlite3_column_int (stmt, first + 1);
  change->entity_kind = sqlite3_column_int (stmt, first + 2);
  change->entity_id = sqlite3_column_int64 (stmt, first + 3);
  change->collection_id = sqlite3_column_int64 (stmt, first + 4);
  change->destination_id = sqlite3_column_int64 (stmt, first + 5);
  change->related_id = sqlite3_column_int64 (stmt, first + 6);
  change->resource = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 7));
  change->origin = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 8));
  change->remote_id = _cairn_column_dup (stmt, first + 9);
  change->mime_type = g_intern_string ((const char *) sqlite3_column_text (stmt, first + 10));
  change->name = _cairn_column_dup (stmt, first + 11);
  if (sqlite3_column_type (stmt, first + 12) != SQLITE_NULL)
    change->parts = _cairn_words_split ((const char *) sqlite3_column_text (stmt, first + 12));
  if (sqlite3_column_type (stmt, first + 13) != SQLITE_NULL ||
      sqlite3_column_type (stmt, first + 14) != SQLITE_NULL)
    change->flags_delta = delta_from_columns ((const char *) sqlite3_column_text (stmt, first + 13),
                                              (const char *) sqlite3_column_text (stmt, first + 14));
  return change;
}

/* A CairnRowFunc for CHANGE_COLUMNS. */
static gpointer
change_from_row (CairnStatement  *row,
                 gpointer         user_data,
                 GError         **error)
{
  return change_from_columns (row, 0);
}

/**
 * cairn_store_get_changes_since:
 * @self: a #CairnStore
 * @revision: the last revision the reader has seen
 * @limit: about how many entries to return, or 0 for all; a transaction's
 *   entries are never split, so a few more may come
 * @error: return location for an error
 *
 * Reads the change log after @revision, in order. The entries of one write
 * transaction are returned all together or not at all. If the log was
 * collected past @revision, fails with %CAIRN_STORE_ERROR_EXPIRED: the
 * reader must read the state again.
 *
 * Returns: (transfer container) (element-type CairnChange): the changes,
 *   or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_get_changes_since (CairnStore  *self,
                               guint64      revision,
                               guint        limit,
                               GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return _cairn_store_get_change_range (self, revision, 0, limit, NULL, NULL, error);
}

/* The last revision of a range that ends at @last, 0 for no end. */
#define LOG_END(last) ((last) != 0 ? (gint64) (last) : G_MAXINT64)

/* Starts a read of the change log after @revision in @reader, and fails
 * with CAIRN_STORE_ERROR_EXPIRED if the log was collected past it.
 * *@current gets the revision of the snapshot read. */
static gboolean
begin_change_log_read (CairnStore    *self,
                       CairnReader   *reader,
                       guint64        revision,
                       guint64       *current,
                       GError       **error)
{
  guint64 log_start;

  if (!_cairn_database_run (reader->database, "BEGIN", NULL, 0, error) ||
      !_cairn_store_read_revision (reader->database, current, &log_start, error))
    return FALSE;

  if (revision < log_start)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXPIRED,
                   "The change log of %s starts after revision %" G_GUINT64_FORMAT
                   "; changes since %" G_GUINT64_FORMAT " were collected",
                   self->path, log_start, revision);
      return FALSE;
    }
  return TRUE;
}

/* cairn_store_get_changes_since(), up to revision @last (0 for no end),
 * without the entries written with @exclude_origin (if not %NULL): a
 * monitor that ignores its own origin reads past a sync of its own
 * without making an object of each entry. *@read_to (if not %NULL) gets
 * the revision up to which the log was read: the last entry's, or with
 * no page limit met, the end of the range or of the log. */
GPtrArray *
_cairn_store_get_change_range (CairnStore  *self,
                               guint64      revision,
                               guint64      last,
                               guint        limit,
                               const char  *exclude_origin,
                               guint64     *read_to,
                               GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnStatement) stmt = NULL;
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
  guint64 current;
  gboolean cut = FALSE;
  int rc;

  reader = _cairn_store_acquire_reader (self, error);
  if (reader == NULL || !begin_change_log_read (self, reader, revision, &current, error))
    return NULL;

  stmt = _cairn_database_query (reader->database,
                                "SELECT " CHANGE_COLUMNS " FROM change_log "
                                "WHERE revision > ?1 AND revision <= ?2 "
                                "AND (?3 IS NULL OR origin IS NOT ?3) "
                                "ORDER BY revision, seq",
                                CAIRN_BINDS (_cairn_bind_int (revision),
                                             _cairn_bind_int (LOG_END (last)),
                                             _cairn_bind_text (exclude_origin)),
                                error);

  /* A page ends between two transactions, never inside one. */
  while ((rc = _cairn_database_step_row (reader->database, stmt, error)) == SQLITE_ROW)
    {
      guint64 entry_revision = sqlite3_column_int64 (stmt, 0);

      if (limit > 0 && changes->len >= limit &&
          cairn_change_get_revision (g_ptr_array_index (changes, changes->len - 1)) != entry_revision)
        {
          cut = TRUE;
          break;
        }

      g_ptr_array_add (changes, change_from_columns (stmt, 0));
    }
  if (rc < 0)
    return NULL;

  if (read_to != NULL && cut)
    *read_to = cairn_change_get_revision (g_ptr_array_index (changes, changes->len - 1));
  else if (read_to != NULL)
    *read_to = MAX (revision, last != 0 ? MIN (last, current) : current);
  return g_steal_pointer (&changes);
}

/* Calls @func with what coalescing needs to know of each change log
 * entry after @revision up to @last (0 for no end), in order, without
 * reading the entries themselves: a long backlog is planned in a few
 * bytes per entry. */
typedef struct
{
  CairnChangeKeyFunc func;
  gpointer user_data;
} ChangeKeyVisit;

static gboolean
visit_change_key (CairnStatement  *row,
                  gpointer         user_data,
                  GError         **error)
{
  ChangeKeyVisit *visit = user_data;
  const char *name = (const char *) sqlite3_column_text (row, 4);
  CairnChangeKey key = {
    .revision = sqlite3_column_int64 (row, 0),
    .entity_kind = sqlite3_column_int (row, 1),
    .entity_id = sqlite3_column_int64 (row, 2),
    .related_id = sqlite3_column_int64 (row, 3),
    .name_hash = name != NULL ? g_str_hash (name) : 0,
  };

  visit->func (&key, visit->user_data);
  return TRUE;
}

gboolean
_cairn_store_foreach_change_key (CairnStore          *self,
                                 guint64              revision,
                                 guint64              last,
                                 const char          *exclude_origin,
                                 CairnChangeKeyFunc   func,
                                 gpointer             user_data,
                                 GError             **error)
{
  g_autoptr(CairnReader) reader = NULL;
  ChangeKeyVisit visit = { func, user_data };
  CairnStatement *stmt;
  guint64 current;

  reader = _cairn_store_acquire_reader (self, error);
  if (reader == NULL || !begin_change_log_read (self, reader, revision, &current, error))
    return FALSE;

  stmt = _cairn_database_query (reader->database,
                                "SELECT revision, entity_kind, entity_id, related_id, "
                                "CASE WHEN entity_kind = ?3 THEN name END FROM change_log "
                                "WHERE revision > ?1 AND revision <= ?2 "
                                "AND (?4 IS NULL OR origin IS NOT ?4) "
                                "ORDER BY revision, seq",
                                CAIRN_BINDS (_cairn_bind_int (revision),
                                             _cairn_bind_int (LOG_END (last)),
                                             _cairn_bind_int (CAIRN_ENTITY_RELATION),
                                             _cairn_bind_text (exclude_origin)),
                                error);
  return _cairn_database_foreach (reader->database, stmt, visit_change_key, &visit, error);
}

/* The change log entries of one entity after @revision, in order: what a
 * monitor undoes to see the entity as it was at an earlier change. */
GPtrArray *
_cairn_store_get_entity_changes (CairnStore       *self,
                                 CairnEntityKind   kind,
                                 guint64           id,
                                 guint64           revision,
                                 GError          **error)
{
  return _cairn_store_read_all (self,
                                "SELECT " CHANGE_COLUMNS " FROM change_log "
                                "WHERE revision > ? AND entity_kind = ? AND entity_id = ? "
                                "ORDER BY revision, seq",
                                CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_int (kind),
                                             _cairn_bind_int (id)),
                                change_from_row, (GDestroyNotify) cairn_change_unref, error);
}

/* Cursors */

typedef struct
{
  const char *name;
  guint64 revision;
  guint64 batch_end;
  guint delivered;
} CursorData;

static gboolean
set_cursor (CairnDatabase  *database,
            CursorData     *cursor,
            GError        **error)
{
  guint64 current, log_start;

  if (!_cairn_store_read_revision (database, &current, &log_start, error))
    return FALSE;
  if (cursor->revision > current || cursor->revision < log_start)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Cannot set cursor %s to revision %" G_GUINT64_FORMAT ": the change log "
                   "holds revisions %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   cursor->name, cursor->revision, log_start, current);
      return FALSE;
    }
  if (cursor->batch_end != 0 && (cursor->batch_end <= cursor->revision || cursor->batch_end > current))
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Cannot set cursor %s: its page ends at revision %" G_GUINT64_FORMAT
                   ", outside %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   cursor->name, cursor->batch_end, cursor->revision + 1, current);
      return FALSE;
    }

  return _cairn_database_run (database,
                              "INSERT INTO cursors (name, revision, batch_end, delivered) "
                              "VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, "
                              "  batch_end = excluded.batch_end, delivered = excluded.delivered",
                              CAIRN_BINDS (_cairn_bind_text (cursor->name),
                                           _cairn_bind_int (cursor->revision),
                                           _cairn_bind_int (cursor->batch_end),
                                           _cairn_bind_int (cursor->delivered)),
                              error);
}

static gboolean
set_cursor_locked (CairnStore  *self,
                   gpointer     data,
                   GError     **error)
{
  return set_cursor (self->writer, data, error);
}

/**
 * cairn_store_set_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name, such as an agent instance id
 * @revision: the last revision the consumer has processed
 * @error: return location for an error
 *
 * Stores a durable cursor: the change log is kept from the lowest cursor
 * on. @revision must lie within the log (%CAIRN_STORE_ERROR_INVALID
 * otherwise).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_set_cursor (CairnStore  *self,
                        const char  *name,
                        guint64      revision,
                        GError     **error)
{
  CursorData data = { name, revision, 0, 0 };

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return _cairn_store_run_locked (self, set_cursor_locked, &data, error);
}

/* A change recorder's position: everything up to @revision is processed,
 * and of the page (@revision, @batch_end] the first @delivered coalesced
 * notifications are. One small write. */
gboolean
_cairn_store_set_recorder_position (CairnStore  *self,
                                    const char  *name,
                                    guint64      revision,
                                    guint64      batch_end,
                                    guint        delivered,
                                    GError     **error)
{
  CursorData data = { name, revision, batch_end, delivered };

  return _cairn_store_run_locked (self, set_cursor_locked, &data, error);
}

/* The same, in @transaction: committed with what it writes besides. */
gboolean
_cairn_transaction_set_recorder_position (CairnTransaction  *transaction,
                                          const char        *name,
                                          guint64            revision,
                                          guint64            batch_end,
                                          guint              delivered,
                                          GError           **error)
{
  CursorData data = { name, revision, batch_end, delivered };

  return _cairn_transaction_check_ready (transaction, error) &&
         set_cursor (transaction->database, &data, error);
}

gboolean
_cairn_store_get_recorder_position (CairnStore  *self,
                                    const char  *name,
                                    guint64     *revision,
                                    guint64     *batch_end,
                                    guint       *delivered,
                                    GError     **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_acquire_reader (self, error);
  g_autoptr(CairnStatement) stmt = NULL;

  if (reader == NULL)
    return FALSE;
  stmt = _cairn_database_query (reader->database,
                                "SELECT revision, batch_end, delivered FROM cursors WHERE name = ?",
                                CAIRN_BINDS (_cairn_bind_text (name)), error);
  if (!_cairn_database_step_found (reader->database, stmt, error, "No cursor %s", name))
    return FALSE;

  *revision = sqlite3_column_int64 (stmt, 0);
  if (batch_end)
    *batch_end = sqlite3_column_int64 (stmt, 1);
  if (delivered)
    *delivered = sqlite3_column_int (stmt, 2);
  return TRUE;
}

gboolean
_cairn_store_count_changes_since (CairnStore  *self,
                                  guint64      revision,
                                  guint64     *count,
                                  GError     **error)
{
  return _cairn_store_read_count (self, "SELECT count(*) FROM change_log WHERE revision > ?",
                                  CAIRN_BINDS (_cairn_bind_int (revision)), count, error);
}

/**
 * cairn_store_get_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name
 * @revision: (out): the cursor's revision
 * @error: return location for an error
 *
 * Reads the revision up to which the consumer @name has processed changes.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   there is no such cursor
 *
 * Since: 0.1
 */
gboolean
cairn_store_get_cursor (CairnStore  *self,
                        const char  *name,
                        guint64     *revision,
                        GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (revision != NULL, FALSE);

  return _cairn_store_get_recorder_position (self, name, revision, NULL, NULL, error);
}

static gboolean
remove_cursor_locked (CairnStore  *self,
                      gpointer     data,
                      GError     **error)
{
  if (!_cairn_database_run (self->writer, "DELETE FROM cursors WHERE name = ?",
                            CAIRN_BINDS (_cairn_bind_text (data)), error))
    return FALSE;
  if (sqlite3_changes (self->writer->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No cursor %s", (const char *) data);
      return FALSE;
    }

  return TRUE;
}

/**
 * cairn_store_remove_cursor:
 * @self: a #CairnStore
 * @name: the consumer's name
 * @error: return location for an error
 *
 * Removes a cursor, so the change log it held back can be collected.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   there is no such cursor
 *
 * Since: 0.1
 */
gboolean
cairn_store_remove_cursor (CairnStore  *self,
                           const char  *name,
                           GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return _cairn_store_run_locked (self, remove_cursor_locked, (gpointer) name, error);
}

/* Resources: what is left to replay */

/* The changes of @resource after @revision not written with @origin: what
 * the resource has not replayed yet. */
gboolean
_cairn_store_count_pending_changes (CairnStore  *self,
                                    guint64      revision,
                                    const char  *resource,
                                    const char  *origin,
                                    guint64     *count,
                                    GError     **error)
{
  return _cairn_store_read_count (self,
                                  "SELECT count(*) FROM change_log "
                                  "WHERE revision > ? AND resource = ? AND origin IS NOT ?",
                                  CAIRN_BINDS (_cairn_bind_int (revision),
                                               _cairn_bind_text (resource),
                                               _cairn_bind_text (origin)),
                                  count, error);
}

static gboolean
add_id (CairnStatement  *row,
        gpointer         ids,
        GError         **error)
{
  guint64 id = sqlite3_column_int64 (row, 0);

  g_hash_table_add (ids, g_memdup2 (&id, sizeof id));
  return TRUE;
}

/* The items with a local change after @revision not written with @origin,
 * or with a failed change kept for @resource: a sync leaves them alone.
 * Returns a set of guint64 ids. */
GHashTable *
_cairn_store_list_pending_entities (CairnStore       *self,
                                    CairnEntityKind   kind,
                                    guint64           revision,
                                    const char       *resource,
                                    const char       *origin,
                                    GError          **error)
{
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  if (!_cairn_store_read_each (self,
                               "SELECT entity_id FROM change_log "
                               "WHERE revision > ?1 AND resource = ?2 AND origin IS NOT ?3 "
                               "  AND entity_kind = ?4 "
                               "UNION SELECT entity_id FROM failed_changes "
                               "WHERE consumer = ?2 AND entity_kind = ?4",
                               CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                                            _cairn_bind_text (origin), _cairn_bind_int (kind)),
                               add_id, ids, error))
    return NULL;

  return g_steal_pointer (&ids);
}

static gboolean
add_text (CairnStatement  *row,
          gpointer         set,
          GError         **error)
{
  g_hash_table_add (set, _cairn_column_dup (row, 0));
  return TRUE;
}

/* The remote ids that @sql, a query of one column, selects, as a set. */
static GHashTable *
read_remote_id_set (CairnStore       *self,
                    const char       *sql,
                    const CairnBind  *binds,
                    gsize             n_binds,
                    GError          **error)
{
  g_autoptr(GHashTable) remote_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!_cairn_store_read_each (self, sql, binds, n_binds, add_text, remote_ids, error))
    return NULL;

  return g_steal_pointer (&remote_ids);
}

/* The remote ids of items that local changes after @revision, not yet
 * replayed or failed, move or remove out of @collection_id: the backend
 * still lists them there, and a sync must not take them for new items. */
GHashTable *
_cairn_store_list_leaving_remote_ids (CairnStore  *self,
                                      guint64      revision,
                                      const char  *resource,
                                      const char  *origin,
                                      guint64      collection_id,
                                      GError     **error)
{
  return read_remote_id_set (self,
                             "SELECT remote_id FROM change_log "
                             "WHERE revision > ?1 AND resource = ?2 AND origin IS NOT ?3 "
                             "  AND entity_kind = ?4 AND collection_id = ?5 "
                             "  AND operation IN (?6, ?7) AND remote_id IS NOT NULL "
                             "UNION SELECT remote_id FROM failed_changes "
                             "WHERE consumer = ?2 AND entity_kind = ?4 AND collection_id = ?5 "
                             "  AND operation IN (?6, ?7) AND remote_id IS NOT NULL",
                             CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                                          _cairn_bind_text (origin),
                                          _cairn_bind_int (CAIRN_ENTITY_ITEM),
                                          _cairn_bind_int (collection_id),
                                          _cairn_bind_int (CAIRN_CHANGE_MOVE),
                                          _cairn_bind_int (CAIRN_CHANGE_REMOVE)),
                             error);
}

/* The remote ids of collections that local changes after @revision, not
 * yet replayed or failed, remove: the backend lists them until the
 * replay, and a sync must not take them, or their sub-collections, for
 * new ones. */
GHashTable *
_cairn_store_list_removed_collection_remote_ids (CairnStore  *self,
                                                 guint64      revision,
                                                 const char  *resource,
                                                 const char  *origin,
                                                 GError     **error)
{
  return read_remote_id_set (self,
                             "SELECT remote_id FROM change_log "
                             "WHERE revision > ?1 AND resource = ?2 AND origin IS NOT ?3 "
                             "  AND entity_kind = ?4 AND operation = ?5 "
                             "  AND remote_id IS NOT NULL "
                             "UNION SELECT remote_id FROM failed_changes "
                             "WHERE consumer = ?2 AND entity_kind = ?4 AND operation = ?5 "
                             "  AND remote_id IS NOT NULL",
                             CAIRN_BINDS (_cairn_bind_int (revision), _cairn_bind_text (resource),
                                          _cairn_bind_text (origin),
                                          _cairn_bind_int (CAIRN_ENTITY_COLLECTION),
                                          _cairn_bind_int (CAIRN_CHANGE_REMOVE)),
                             error);
}

static gboolean
merge_flags (CairnStatement  *row,
             gpointer         delta,
             GError         **error)
{
  g_autoptr(CairnFlagsDelta) entry =
    delta_from_columns ((const char *) sqlite3_column_text (row, 0),
                        (const char *) sqlite3_column_text (row, 1));

  cairn_flags_delta_merge (delta, entry);
  return TRUE;
}

/* The flag deltas of @item_id after @revision not written with @origin,
 * merged in order. */
CairnFlagsDelta *
_cairn_store_get_pending_flags (CairnStore  *self,
                                guint64      item_id,
                                guint64      revision,
                                const char  *origin,
                                GError     **error)
{
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (!_cairn_store_read_each (self,
                               "SELECT flags_added, flags_removed FROM change_log "
                               "WHERE revision > ? AND entity_kind = ? AND entity_id = ? "
                               "  AND operation = ? AND origin IS NOT ? "
                               "ORDER BY revision, seq",
                               CAIRN_BINDS (_cairn_bind_int (revision),
                                            _cairn_bind_int (CAIRN_ENTITY_ITEM),
                                            _cairn_bind_int (item_id),
                                            _cairn_bind_int (CAIRN_CHANGE_FLAGS),
                                            _cairn_bind_text (origin)),
                               merge_flags, delta, error))
    return NULL;

  return g_steal_pointer (&delta);
}

/* Failed changes */

typedef struct
{
  const char *consumer;
  GPtrArray *changes;
  const char *reason;
} FailedChangesData;

static gboolean
add_failed_changes_locked (CairnStore  *self,
                           gpointer     user_data,
                           GError     **error)
{
  FailedChangesData *data = user_data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < data->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (data->changes, i);
      g_autofree char *parts = change->parts ? g_strjoinv (" ", change->parts) : NULL;
      g_autofree char *added = NULL;
      g_autofree char *removed = NULL;

      if (change->flags_delta != NULL && !cairn_flags_delta_is_empty (change->flags_delta))
        {
          added = cairn_flags_to_string (cairn_flags_delta_get_added (change->flags_delta));
          removed = cairn_flags_to_string (cairn_flags_delta_get_removed (change->flags_delta));
        }

      if (!_cairn_database_run (self->writer,
                                "INSERT OR IGNORE INTO failed_changes (consumer, reason, "
                                "  failed_at, " CHANGE_COLUMNS ") "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                CAIRN_BINDS (_cairn_bind_text (data->consumer),
                                             _cairn_bind_text (data->reason),
                                             _cairn_bind_int (now),
                                             _cairn_bind_int (change->revision),
                                             _cairn_bind_int (change->operation),
                                             _cairn_bind_int (change->entity_kind),
                                             _cairn_bind_int (change->entity_id),
                                             _cairn_bind_int (change->collection_id),
                                             _cairn_bind_int (change->destination_id),
                                             _cairn_bind_int (change->related_id),
                                             _cairn_bind_text (change->resource),
                                             _cairn_bind_text (change->origin),
                                             _cairn_bind_text (change->remote_id),
                                             _cairn_bind_text (change->mime_type),
                                             _cairn_bind_text (change->name),
                                             _cairn_bind_text (parts),
                                             _cairn_bind_text (added),
                                             _cairn_bind_text (removed)),
                                error))
        return FALSE;
    }
  return TRUE;
}

/* Keeps @changes (CairnChange) as failed for @consumer, with @reason;
 * keeping the same change again changes nothing. */
gboolean
_cairn_store_add_failed_changes (CairnStore  *self,
                                 const char  *consumer,
                                 GPtrArray   *changes,
                                 const char  *reason,
                                 GError     **error)
{
  FailedChangesData data = { consumer, changes, reason };

  return _cairn_store_run_locked (self, add_failed_changes_locked, &data, error);
}

static gpointer
failed_change_from_row (CairnStatement  *row,
                        gpointer         user_data,
                        GError         **error)
{
  g_autoptr(CairnChange) change = change_from_columns (row, 3);

  return _cairn_failed_change_new (sqlite3_column_int64 (row, 0), change,
                                   (const char *) sqlite3_column_text (row, 1),
                                   sqlite3_column_int64 (row, 2));
}

/* Every failed change of @consumer, oldest first. */
GPtrArray *
_cairn_store_list_failed_changes (CairnStore  *self,
                                  const char  *consumer,
                                  GError     **error)
{
  return _cairn_store_read_all (self,
                                "SELECT id, reason, failed_at, " CHANGE_COLUMNS " "
                                "FROM failed_changes WHERE consumer = ? ORDER BY id",
                                CAIRN_BINDS (_cairn_bind_text (consumer)), failed_change_from_row,
                                (GDestroyNotify) cairn_failed_change_unref, error);
}

typedef struct
{
  const char *consumer;
  const guint64 *ids;
  gsize n_ids;
} RemoveFailedData;

static gboolean
remove_failed_changes_locked (CairnStore  *self,
                              gpointer     user_data,
                              GError     **error)
{
  RemoveFailedData *data = user_data;

  return _cairn_failed_changes_delete (self->writer, data->consumer, data->ids,
                                             data->n_ids, error);
}

gboolean
_cairn_store_remove_failed_changes (CairnStore     *self,
                                    const char     *consumer,
                                    const guint64  *ids,
                                    gsize           n_ids,
                                    GError        **error)
{
  RemoveFailedData data = { consumer, ids, n_ids };

  return _cairn_store_run_locked (self, remove_failed_changes_locked, &data, error);
}
