/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-transaction-private.h"

/* Writing the change log: every change of a transaction appends entries
 * with the transaction's revision, numbered in order, and the origin it
 * was written with. */

gboolean
_cairn_transaction_log (CairnTransaction  *self,
                        const LogEntry    *entry,
                        GError           **error)
{
  if (!_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_database_run (self->database,
                            "INSERT INTO change_log (revision, seq, operation, entity_kind, "
                            "  entity_id, collection_id, destination_id, related_id, "
                            "  resource, origin, remote_id, mime_type, name, parts, "
                            "  flags_added, flags_removed) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            CAIRN_BINDS (_cairn_bind_int (self->revision),
                                         _cairn_bind_int (self->seq),
                                         _cairn_bind_int (entry->operation),
                                         _cairn_bind_int (entry->kind),
                                         _cairn_bind_int (entry->entity_id),
                                         _cairn_bind_int (entry->collection_id),
                                         _cairn_bind_int (entry->destination_id),
                                         _cairn_bind_int (entry->related_id),
                                         _cairn_bind_text (entry->resource),
                                         _cairn_bind_text (self->origin),
                                         _cairn_bind_text (entry->remote_id),
                                         _cairn_bind_text (entry->mime_type),
                                         _cairn_bind_text (entry->name),
                                         _cairn_bind_text (entry->parts),
                                         _cairn_bind_text (entry->flags_added),
                                         _cairn_bind_text (entry->flags_removed)),
                            error))
    return FALSE;

  self->seq++;
  return TRUE;
}

/* Appends the entries an INSERT ... SELECT into the change log makes,
 * numbered from the next one. @sql takes the revision (?1), the first
 * number (?2), the origin (?3), the item operation and entity kind (?4,
 * ?5), and @id (?6). */
gboolean
_cairn_transaction_log_entries (CairnTransaction      *self,
                                const char            *sql,
                                CairnChangeOperation   operation,
                                guint64                id,
                                GError               **error)
{
  if (!_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_int (self->revision),
                                         _cairn_bind_int (self->seq),
                                         _cairn_bind_text (self->origin),
                                         _cairn_bind_int (operation),
                                         _cairn_bind_int (CAIRN_ENTITY_ITEM),
                                         _cairn_bind_int (id)),
                            error))
    return FALSE;

  self->seq += sqlite3_changes (self->database->db);
  return TRUE;
}

/* Logs a removal for every item of a collection with one statement. */
gboolean
_cairn_transaction_log_item_removals (CairnTransaction  *self,
                                      guint64            collection_id,
                                      GError           **error)
{
  return _cairn_transaction_log_entries (self,
                                         "INSERT INTO change_log (revision, seq, operation, "
                                         "  entity_kind, entity_id, collection_id, resource, "
                                         "  origin, remote_id, mime_type) "
                                         "SELECT ?1, ?2 + row_number () OVER (ORDER BY i.id) - 1, "
                                         "  ?4, ?5, i.id, i.collection_id, c.resource, ?3, "
                                         "  i.remote_id, i.mime_type "
                                         "FROM items i "
                                         "JOIN collections c ON c.id = i.collection_id "
                                         "WHERE i.collection_id = ?6",
                                         CAIRN_CHANGE_REMOVE, collection_id, error);
}

/* Appends the failed changes of @consumer (those of @ids, or all when
 * @n_ids is 0) to the change log again, with their own origins, and
 * forgets them: the consumer's recorder meets them after every change
 * recorded before. */
gboolean
_cairn_transaction_retry_failed_changes (CairnTransaction  *self,
                                         const char        *consumer,
                                         const guint64     *ids,
                                         gsize              n_ids,
                                         GError           **error)
{
  g_autoptr(GString) id_list = g_string_new ("[");

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_ensure_revision (self, error))
    return FALSE;

  for (gsize i = 0; i < n_ids; i++)
    g_string_append_printf (id_list, "%s%" G_GUINT64_FORMAT, i > 0 ? "," : "", ids[i]);
  g_string_append_c (id_list, ']');

  if (!_cairn_database_run (self->database,
                            "INSERT INTO change_log (revision, seq, operation, entity_kind, "
                            "  entity_id, collection_id, destination_id, related_id, "
                            "  resource, origin, remote_id, mime_type, name, parts, "
                            "  flags_added, flags_removed) "
                            "SELECT ?1, ?2 + row_number () OVER (ORDER BY id) - 1, "
                            "  operation, entity_kind, entity_id, collection_id, "
                            "  destination_id, related_id, resource, origin, remote_id, "
                            "  mime_type, name, parts, flags_added, flags_removed "
                            "FROM failed_changes WHERE consumer = ?3 "
                            "  AND (?4 OR id IN (SELECT value FROM json_each (?5))) "
                            "ORDER BY id",
                            CAIRN_BINDS (_cairn_bind_int (self->revision),
                                         _cairn_bind_int (self->seq),
                                         _cairn_bind_text (consumer),
                                         _cairn_bind_int (n_ids == 0),
                                         _cairn_bind_text (id_list->str)),
                            error))
    return FALSE;
  self->seq += sqlite3_changes (self->database->db);

  return _cairn_failed_changes_delete (self->database, consumer, ids, n_ids, error);
}

/* Deletes failed changes of @consumer on @database, inside a write
 * transaction: those of @ids, or all when @n_ids is 0. */
gboolean
_cairn_failed_changes_delete (CairnDatabase  *database,
                              const char     *consumer,
                              const guint64  *ids,
                              gsize           n_ids,
                              GError        **error)
{
  if (n_ids == 0)
    return _cairn_database_run (database, "DELETE FROM failed_changes WHERE consumer = ?",
                                CAIRN_BINDS (_cairn_bind_text (consumer)), error);

  for (gsize i = 0; i < n_ids; i++)
    if (!_cairn_database_run (database, "DELETE FROM failed_changes WHERE consumer = ? AND id = ?",
                              CAIRN_BINDS (_cairn_bind_text (consumer), _cairn_bind_int (ids[i])),
                              error))
      return FALSE;
  return TRUE;
}

/* Lends @remote_id to the entity's change log entries after @revision: the
 * backend gave it when the change at @revision was replayed, and every
 * later change, even a removal logged before the replay, must find the
 * entity under it. The entries keep their revisions: this is what is known
 * of them now, not a new change. */
gboolean
_cairn_transaction_lend_remote_id (CairnTransaction  *self,
                                   CairnEntityKind    kind,
                                   guint64            id,
                                   guint64            revision,
                                   const char        *remote_id,
                                   GError           **error)
{
  return _cairn_transaction_check_ready (self, error) &&
         _cairn_database_run (self->database,
                              "UPDATE change_log SET remote_id = ? "
                              "WHERE revision > ? AND entity_kind = ? AND entity_id = ?",
                              CAIRN_BINDS (_cairn_bind_text (remote_id), _cairn_bind_int (revision),
                                           _cairn_bind_int (kind), _cairn_bind_int (id)),
                              error);
}
