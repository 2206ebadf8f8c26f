/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "cairn-payload-files-private.h"
#include "cairn-store-private.h"

/* Keeping the store in shape: garbage collection of the change log and
 * of orphan payload files, the consistency check and its repairs,
 * checkpoints and VACUUM. All of it runs under the write lock. */

/* Garbage collection */

static gboolean
collect_change_log (CairnStore  *self,
                    GError     **error)
{
  g_autoptr(CairnStatement) lowest =
    _cairn_database_prepare (self->writer, "SELECT min (revision) FROM cursors", error);
  guint64 below;

  if (_cairn_database_step_row (self->writer, lowest, error) != SQLITE_ROW)
    return FALSE;
  /* Without any cursor nobody has said what it still needs: keep all. */
  if (sqlite3_column_type (lowest, 0) == SQLITE_NULL)
    return TRUE;
  below = sqlite3_column_int64 (lowest, 0);

  return _cairn_database_run (self->writer, "DELETE FROM change_log WHERE revision <= ?",
                              CAIRN_BINDS (_cairn_bind_int (below)), error) &&
         _cairn_database_run (self->writer,
                              "UPDATE store_state SET log_start = max (log_start, ?)",
                              CAIRN_BINDS (_cairn_bind_int (below)), error);
}

static gboolean
collect_payloads (CairnStore    *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  guint orphans = 0;

  return _cairn_payload_files_find_orphans (self->writer, self->payload_dir, TRUE, &orphans,
                                            cancellable, error);
}

static gboolean
collect_garbage_locked (CairnStore  *self,
                        gpointer     data,
                        GError     **error)
{
  return collect_change_log (self, error) && collect_payloads (self, data, error);
}

/**
 * cairn_store_collect_garbage:
 * @self: a #CairnStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Removes the change log entries at or below every registered cursor
 * (none if there is no cursor), and payload files that no part references,
 * such as those a killed writer left behind.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_collect_garbage (CairnStore    *self,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  return _cairn_store_run_locked (self, collect_garbage_locked, cancellable, error);
}

/* Checks */

/* A reference between tables and what a repair may do about a row whose
 * referenced row is gone. Rows that only describe a missing entity
 * (parts, flags, links...) can go; an item or collection whose parent is
 * gone is user data and is only reported. */
typedef enum
{
  REPAIR_NONE,
  REPAIR_DELETE,
  REPAIR_SET_NULL,
} RepairKind;

/* The SQL is built here because prepared statements are cached by the
 * address of their text. */
#define MISSING(column, parent) \
  " WHERE " column " IS NOT NULL AND " column " NOT IN (SELECT id FROM " parent ")"
#define REFERENCE(table, column, parent, repair) \
  { table, column, parent, repair, \
    "SELECT count (*) FROM " table MISSING (column, parent), \
    "DELETE FROM " table MISSING (column, parent), \
    "UPDATE " table " SET " column " = NULL" MISSING (column, parent) }

static const struct
{
  const char *table;
  const char *column;
  const char *parent;
  RepairKind repair;
  const char *count_sql;
  const char *delete_sql;
  const char *set_null_sql;
} references[] = {
  REFERENCE ("collections", "parent_id", "collections", REPAIR_NONE),
  REFERENCE ("collection_attributes", "collection_id", "collections", REPAIR_DELETE),
  REFERENCE ("items", "collection_id", "collections", REPAIR_NONE),
  REFERENCE ("parts", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_flags", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_attributes", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("tags", "parent_id", "tags", REPAIR_SET_NULL),
  REFERENCE ("tag_remote_ids", "tag_id", "tags", REPAIR_DELETE),
  REFERENCE ("item_tags", "item_id", "items", REPAIR_DELETE),
  REFERENCE ("item_tags", "tag_id", "tags", REPAIR_DELETE),
  REFERENCE ("relations", "left_id", "items", REPAIR_DELETE),
  REFERENCE ("relations", "right_id", "items", REPAIR_DELETE),
  REFERENCE ("collection_links", "collection_id", "collections", REPAIR_DELETE),
  REFERENCE ("collection_links", "item_id", "items", REPAIR_DELETE),
};

typedef struct
{
  CairnStore *store;
  gboolean repair;
  GPtrArray *problems;
  guint remaining;
  GCancellable *cancellable;
} CheckData;

static void
add_problem (CheckData  *check,
             gboolean    repaired,
             const char *format,
             ...) G_GNUC_PRINTF (3, 4);

static void
add_problem (CheckData  *check,
             gboolean    repaired,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (check->problems, g_strconcat (message, repaired ? " (repaired)" : "", NULL));
  if (!repaired)
    check->remaining++;
}

static gboolean
report_integrity (CairnStatement  *row,
                  gpointer         check,
                  GError         **error)
{
  const char *line = (const char *) sqlite3_column_text (row, 0);

  if (g_strcmp0 (line, "ok") != 0)
    add_problem (check, FALSE, "integrity: %s", line);
  return TRUE;
}

static gboolean
check_integrity (CairnStore  *self,
                 CheckData   *check,
                 GError     **error)
{
  return _cairn_database_foreach (self->writer,
                                  _cairn_database_prepare (self->writer, "PRAGMA integrity_check",
                                                           error),
                                  report_integrity, check, error);
}

static gboolean
check_references (CairnStore  *self,
                  CheckData   *check,
                  GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (references); i++)
    {
      g_autoptr(CairnStatement) count = _cairn_database_prepare (self->writer,
                                                                 references[i].count_sql, error);
      const char *repair_sql = NULL;
      gboolean repaired = FALSE;
      gint64 n;

      if (_cairn_database_step_row (self->writer, count, error) != SQLITE_ROW)
        return FALSE;
      n = sqlite3_column_int64 (count, 0);
      if (n == 0)
        continue;

      if (check->repair && references[i].repair == REPAIR_DELETE)
        repair_sql = references[i].delete_sql;
      else if (check->repair && references[i].repair == REPAIR_SET_NULL)
        repair_sql = references[i].set_null_sql;
      if (repair_sql != NULL)
        {
          if (!_cairn_database_exec (self->writer, repair_sql, error))
            return FALSE;
          repaired = TRUE;
        }
      add_problem (check, repaired, "references: %" G_GINT64_FORMAT " rows of %s refer to a "
                   "missing row of %s through %s", n, references[i].table, references[i].parent,
                   references[i].column);
    }
  return TRUE;
}

static gboolean
check_payload_file (CairnStatement  *row,
                    gpointer         user_data,
                    GError         **error)
{
  CheckData *check = user_data;
  g_autofree char *path = _cairn_payload_path (check->store->payload_dir,
                                               (const char *) sqlite3_column_text (row, 3));
  g_autoptr(GBytes) digest = NULL;
  g_autofree char *damage = NULL;

  if (g_cancellable_set_error_if_cancelled (check->cancellable, error))
    return FALSE;
  if (sqlite3_column_type (row, 5) == SQLITE_BLOB)
    digest = g_bytes_new (sqlite3_column_blob (row, 5), sqlite3_column_bytes (row, 5));
  damage = _cairn_payload_file_find_damage (path, sqlite3_column_int64 (row, 4), digest,
                                            check->cancellable);
  if (damage == NULL)
    return TRUE;
  if (check->repair)
    {
      if (!_cairn_database_run (check->store->writer,
                                "UPDATE parts SET storage = 3, path = NULL, checksum = NULL "
                                "WHERE id = ?",
                                CAIRN_BINDS (_cairn_bind_int (sqlite3_column_int64 (row, 0))),
                                error))
        return FALSE;
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Cannot remove the damaged payload %s: %s", path, g_strerror (errno));
    }
  add_problem (check, check->repair, "payloads: part %s of item %" G_GINT64_FORMAT " %s",
               sqlite3_column_text (row, 2), (gint64) sqlite3_column_int64 (row, 1), damage);
  return TRUE;
}

/* A payload file that is gone, unreadable, truncated or changed has lost
 * that part's data; repaired, the part becomes missing, so that its
 * resource retrieves it again, and the damaged file goes. */
static gboolean
check_payload_files (CairnStore  *self,
                     CheckData   *check,
                     GError     **error)
{
  return _cairn_database_foreach (self->writer,
                                  _cairn_database_prepare (self->writer,
                                                           "SELECT id, item_id, name, path, size, "
                                                           "checksum FROM parts WHERE storage = 1",
                                                           error),
                                  check_payload_file, check, error);
}

static gboolean
check_orphan_payloads (CairnStore  *self,
                       CheckData   *check,
                       GError     **error)
{
  guint orphans = 0;

  if (!_cairn_payload_files_find_orphans (self->writer, self->payload_dir, check->repair, &orphans,
                                          check->cancellable, error))
    return FALSE;
  if (orphans > 0)
    add_problem (check, check->repair, "payloads: %u files in %s belong to no part", orphans,
                 self->payload_dir);
  return TRUE;
}

static gboolean
check_locked (CairnStore  *self,
              gpointer     data,
              GError     **error)
{
  CheckData *check = data;

  return check_integrity (self, check, error) &&
         check_references (self, check, error) &&
         check_payload_files (self, check, error) &&
         check_orphan_payloads (self, check, error);
}

/**
 * cairn_store_check_sync:
 * @self: a #CairnStore
 * @repair: whether to repair what can be repaired without losing data
 * @problems: (out) (transfer full) (element-type utf8): the problems
 *   found, one sentence each, ending in ` (repaired)` if repaired
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Checks the store's internal consistency: SQLite's `integrity_check`,
 * rows that refer to rows that are gone, parts whose payload file is
 * gone, unreadable, of another size than written or (for parts written
 * since schema version 4) not matching the SHA-256 digest taken when it
 * was written, and payload files that belong to no part.
 *
 * With @repair, rows that only describe an entity that is gone (its
 * parts, flags, attributes, tags, relations and links) are removed, a
 * part whose file is gone or damaged becomes %CAIRN_PART_STORAGE_MISSING
 * (its resource retrieves it again) and the damaged file is removed, and
 * orphan payload files are removed.
 * Items and collections whose parent is gone, and damage that
 * `integrity_check` reports, are only reported. Repairs are not logged as
 * changes: they remove nothing that a client could still see.
 *
 * Returns: %TRUE if the check ran; @problems may still list problems
 *
 * Since: 0.1
 */
gboolean
cairn_store_check_sync (CairnStore    *self,
                        gboolean       repair,
                        GPtrArray    **problems,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  CheckData check = { self, repair, found, 0, cancellable };

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (problems != NULL, FALSE);

  if (!_cairn_store_run_locked (self, check_locked, &check, error))
    return FALSE;
  *problems = g_steal_pointer (&found);
  return TRUE;
}

/* Compaction */

/**
 * cairn_store_checkpoint_sync:
 * @self: a #CairnStore
 * @error: return location for an error
 *
 * Copies what the write-ahead log holds into the database file, as far
 * as no reader still needs it, and empties the log file if no reader
 * needs any of it, so that a log that grew while a reader held an old
 * snapshot does not stay large. It never waits for readers or writers:
 * a checkpoint that a reader or a writer stops part way is no error, and
 * writers in other processes are not kept waiting by it.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_checkpoint_sync (CairnStore  *self,
                             GError     **error)
{
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_checkpoint (self->writer, error);
  g_mutex_unlock (&self->writer_lock);
  return ok;
}

/**
 * cairn_store_vacuum_sync:
 * @self: a #CairnStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Collects garbage (see cairn_store_collect_garbage()), rebuilds the
 * database file to give back free pages (SQLite's `VACUUM`), and empties
 * the write-ahead log. It writes the whole database: run it rarely, when
 * nothing else is busy.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_store_vacuum_sync (CairnStore    *self,
                         GCancellable  *cancellable,
                         GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  if (!cairn_store_collect_garbage (self, cancellable, error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  /* VACUUM runs outside a transaction, so only the mutex serialises it
   * with this process's writers; SQLite's lock does with the others. */
  g_mutex_lock (&self->writer_lock);
  ok = _cairn_database_exec (self->writer, "VACUUM", error) &&
       _cairn_database_checkpoint (self->writer, error);
  g_mutex_unlock (&self->writer_lock);
  return ok;
}
