/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-collection-private.h"
#include "cairn-transaction-private.h"

/* The transaction's operations on tags, on items' tags and links into
 * virtual collections, and on relations between items. */

static gboolean
log_tag (CairnTransaction      *self,
         CairnChangeOperation   operation,
         guint64                id,
         const char            *gid,
         GError               **error)
{
  return _cairn_transaction_log (self, &(LogEntry) {
                                   .operation = operation,
                                   .kind = CAIRN_ENTITY_TAG,
                                   .entity_id = id,
                                   .name = gid,
                                 }, error);
}

static gboolean
check_tag (CairnTag  *tag,
           GError   **error)
{
  const char *gid = cairn_tag_get_gid (tag);

  if (gid == NULL || *gid == '\0')
    {
      g_set_error_literal (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                           "The tag has no GID");
      return FALSE;
    }

  return _cairn_transaction_check_name ("tag name", cairn_tag_get_name (tag), error) &&
         _cairn_transaction_check_word ("tag type", cairn_tag_get_tag_type (tag), error);
}

/* Creates (@operation CAIRN_CHANGE_ADD) or modifies a tag with @sql,
 * which takes the GID, name, type, parent and id as ?1 to ?5. */
static gboolean
write_tag (CairnTransaction      *self,
           CairnTag              *tag,
           const char            *sql,
           CairnChangeOperation   operation,
           GError               **error)
{
  if (!_cairn_transaction_check_ready (self, error) || !check_tag (tag, error))
    return FALSE;

  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_text (cairn_tag_get_gid (tag)),
                                         _cairn_bind_text (cairn_tag_get_name (tag)),
                                         _cairn_bind_text (cairn_tag_get_tag_type (tag)),
                                         _cairn_bind_id (cairn_tag_get_parent_id (tag)),
                                         _cairn_bind_int (cairn_tag_get_id (tag))),
                            error))
    {
      _cairn_transaction_prefix_error (self, error, "a tag with this GID exists",
                                       "Cannot write tag %s", cairn_tag_get_gid (tag));
      return FALSE;
    }

  if (operation == CAIRN_CHANGE_ADD)
    cairn_tag_set_id (tag, sqlite3_last_insert_rowid (self->database->db));
  else if (sqlite3_changes (self->database->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No tag with id %" G_GUINT64_FORMAT " and GID %s",
                   cairn_tag_get_id (tag), cairn_tag_get_gid (tag));
      return FALSE;
    }

  return log_tag (self, operation, cairn_tag_get_id (tag), cairn_tag_get_gid (tag), error);
}

/**
 * cairn_transaction_create_tag:
 * @self: a #CairnTransaction
 * @tag: the tag to create; its id is set
 * @error: return location for an error
 *
 * Stores a new tag and sets its id.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_EXISTS for a
 *   GID in use, %CAIRN_STORE_ERROR_NOT_FOUND for an unknown parent
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_create_tag (CairnTransaction  *self,
                              CairnTag          *tag,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_TAG (tag), FALSE);

  return write_tag (self, tag,
                    "INSERT INTO tags (gid, name, type, parent_id) VALUES (?1, ?2, ?3, ?4)",
                    CAIRN_CHANGE_ADD, error);
}

/**
 * cairn_transaction_modify_tag:
 * @self: a #CairnTransaction
 * @tag: the tag with its id and new name, type and parent
 * @error: return location for an error
 *
 * Writes a stored tag's name, type and parent.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown tag
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_modify_tag (CairnTransaction  *self,
                              CairnTag          *tag,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_TAG (tag), FALSE);

  return write_tag (self, tag,
                    "UPDATE tags SET name = ?2, type = ?3, parent_id = ?4 "
                    "WHERE id = ?5 AND gid = ?1",
                    CAIRN_CHANGE_MODIFY, error);
}

/**
 * cairn_transaction_delete_tag:
 * @self: a #CairnTransaction
 * @tag_id: the tag
 * @error: return location for an error
 *
 * Deletes a tag; every item that had it gets an untag change. Child tags
 * become top-level tags.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_delete_tag (CairnTransaction  *self,
                              guint64            tag_id,
                              GError           **error)
{
  g_autofree char *tag_gid = NULL;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error))
    return FALSE;

  tag_gid = _cairn_database_lookup (self->database,
                                    _cairn_database_query (self->database,
                                                           "SELECT gid FROM tags WHERE id = ?",
                                                           CAIRN_BINDS (_cairn_bind_int (tag_id)),
                                                           error),
                                    _cairn_row_dup_text, NULL, error,
                                    "No tag with id %" G_GUINT64_FORMAT, tag_id);
  if (tag_gid == NULL)
    return FALSE;

  if (!_cairn_transaction_log_entries (self,
                                       "INSERT INTO change_log (revision, seq, operation, "
                                       "  entity_kind, entity_id, collection_id, related_id, "
                                       "  resource, origin, remote_id, mime_type) "
                                       "SELECT ?1, ?2 + row_number () OVER (ORDER BY i.id) - 1, "
                                       "  ?4, ?5, i.id, i.collection_id, ?6, c.resource, ?3, "
                                       "  i.remote_id, i.mime_type "
                                       "FROM item_tags t JOIN items i ON i.id = t.item_id "
                                       "JOIN collections c ON c.id = i.collection_id "
                                       "WHERE t.tag_id = ?6",
                                       CAIRN_CHANGE_UNTAG, tag_id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM tags WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (tag_id)), error))
    return FALSE;

  return log_tag (self, CAIRN_CHANGE_REMOVE, tag_id, tag_gid, error);
}

/**
 * cairn_transaction_set_tag_remote_id:
 * @self: a #CairnTransaction
 * @tag_id: the tag
 * @resource: the resource instance keeping the remote id
 * @remote_id: (nullable): the resource's id for the tag, or %NULL to forget it
 * @error: return location for an error
 *
 * Sets or forgets the remote id a resource keeps for a tag.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_set_tag_remote_id (CairnTransaction  *self,
                                     guint64            tag_id,
                                     const char        *resource,
                                     const char        *remote_id,
                                     GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_check_word ("resource id", resource, error))
    return FALSE;

  if (!_cairn_database_run (self->database,
                            remote_id
                            ? "INSERT INTO tag_remote_ids (tag_id, resource, remote_id) "
                              "VALUES (?1, ?2, ?3) ON CONFLICT (tag_id, resource) "
                              "DO UPDATE SET remote_id = excluded.remote_id"
                            : "DELETE FROM tag_remote_ids WHERE tag_id = ?1 AND resource = ?2",
                            CAIRN_BINDS (_cairn_bind_int (tag_id), _cairn_bind_text (resource),
                                         _cairn_bind_text (remote_id)),
                            error))
    {
      g_prefix_error (error, "Cannot set the remote id of tag %" G_GUINT64_FORMAT ": ", tag_id);
      return FALSE;
    }

  return _cairn_transaction_log (self, &(LogEntry) {
                                   .operation = CAIRN_CHANGE_MODIFY,
                                   .kind = CAIRN_ENTITY_TAG,
                                   .entity_id = tag_id,
                                   .resource = resource,
                                   .remote_id = remote_id,
                                   .parts = "REMOTEID",
                                 }, error);
}

/* Tagging, relations and links share one shape: check the item, run one
 * statement, log when it changed a row. */
static gboolean
change_item_membership (CairnTransaction      *self,
                        guint64                item_id,
                        guint64                other_id,
                        const char            *sql,
                        CairnChangeOperation   operation,
                        gboolean               link,
                        gboolean               must_change,
                        GError               **error)
{
  g_auto(ItemInfo) info = { 0 };

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_load_item_info (self, item_id, &info, error))
    return FALSE;

  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_int (item_id), _cairn_bind_int (other_id)),
                            error))
    {
      g_prefix_error (error, "Cannot change item %" G_GUINT64_FORMAT ": ", item_id);
      return FALSE;
    }

  if (sqlite3_changes (self->database->db) == 0)
    {
      if (must_change)
        g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                     "Item %" G_GUINT64_FORMAT " is not in %s %" G_GUINT64_FORMAT,
                     item_id, link ? "collection" : "tag", other_id);
      return !must_change;
    }

  return _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = operation,
                                        .entity_id = item_id,
                                        .collection_id = link ? other_id : 0,
                                        .related_id = link ? 0 : other_id,
                                      }, error);
}

/**
 * cairn_transaction_tag_item:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @tag_id: the tag
 * @error: return location for an error
 *
 * Gives an item a tag; tagging it again changes nothing.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown item or tag
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_tag_item (CairnTransaction  *self,
                            guint64            item_id,
                            guint64            tag_id,
                            GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  return change_item_membership (self, item_id, tag_id,
                                 "INSERT OR IGNORE INTO item_tags (item_id, tag_id) VALUES (?, ?)",
                                 CAIRN_CHANGE_TAG, FALSE, FALSE, error);
}

/**
 * cairn_transaction_untag_item:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @tag_id: the tag
 * @error: return location for an error
 *
 * Takes a tag off an item.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   the item does not have the tag
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_untag_item (CairnTransaction  *self,
                              guint64            item_id,
                              guint64            tag_id,
                              GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  return change_item_membership (self, item_id, tag_id,
                                 "DELETE FROM item_tags WHERE item_id = ? AND tag_id = ?",
                                 CAIRN_CHANGE_UNTAG, FALSE, TRUE, error);
}

static gboolean
check_virtual_collection (CairnTransaction  *self,
                          guint64            collection_id,
                          GError           **error)
{
  g_autoptr(CairnCollection) collection = _cairn_collection_load (self->database, collection_id,
                                                                  error);

  if (collection == NULL)
    return FALSE;
  if (!collection->is_virtual)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Collection %" G_GUINT64_FORMAT " is not virtual: items cannot be linked "
                   "into it", collection_id);
      return FALSE;
    }

  return TRUE;
}

/**
 * cairn_transaction_link_item:
 * @self: a #CairnTransaction
 * @collection_id: a virtual collection
 * @item_id: the item to link into it
 * @error: return location for an error
 *
 * Links an item into a virtual collection; linking it again changes
 * nothing.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_INVALID if the
 *   collection is not virtual
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_link_item (CairnTransaction  *self,
                             guint64            collection_id,
                             guint64            item_id,
                             GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  return _cairn_transaction_check_ready (self, error) &&
         check_virtual_collection (self, collection_id, error) &&
         change_item_membership (self, item_id, collection_id,
                                 "INSERT OR IGNORE INTO collection_links (item_id, collection_id) "
                                 "VALUES (?, ?)",
                                 CAIRN_CHANGE_LINK, TRUE, FALSE, error);
}

/**
 * cairn_transaction_unlink_item:
 * @self: a #CairnTransaction
 * @collection_id: a virtual collection
 * @item_id: the linked item
 * @error: return location for an error
 *
 * Removes an item's link from a virtual collection.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   the item is not linked there
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_unlink_item (CairnTransaction  *self,
                               guint64            collection_id,
                               guint64            item_id,
                               GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  return change_item_membership (self, item_id, collection_id,
                                 "DELETE FROM collection_links WHERE item_id = ? "
                                 "AND collection_id = ?",
                                 CAIRN_CHANGE_UNLINK, TRUE, TRUE, error);
}

static gboolean
write_relation (CairnTransaction      *self,
                CairnRelation         *relation,
                const char            *sql,
                CairnChangeOperation   operation,
                GError               **error)
{
  g_auto(ItemInfo) info = { 0 };
  g_auto(ItemInfo) right = { 0 };
  guint64 left_id = cairn_relation_get_left_id (relation);
  guint64 right_id = cairn_relation_get_right_id (relation);
  const char *type = cairn_relation_get_relation_type (relation);
  const char *remote_id = cairn_relation_get_remote_id (relation);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_check_word ("relation type", type, error) ||
      !_cairn_transaction_load_item_info (self, left_id, &info, error) ||
      !_cairn_transaction_load_item_info (self, right_id, &right, error))
    return FALSE;

  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_int (left_id), _cairn_bind_int (right_id),
                                         _cairn_bind_text (type),
                                         _cairn_bind_text (remote_id)),
                            error))
    {
      _cairn_transaction_prefix_error (self, error, "the relation exists",
                                       "Cannot add relation %s between items %" G_GUINT64_FORMAT
                                       " and %" G_GUINT64_FORMAT, type, left_id, right_id);
      return FALSE;
    }
  if (sqlite3_changes (self->database->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No relation %s between items %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                   type, left_id, right_id);
      return FALSE;
    }

  return _cairn_transaction_log (self, &(LogEntry) {
                                   .operation = operation,
                                   .kind = CAIRN_ENTITY_RELATION,
                                   .entity_id = left_id,
                                   .collection_id = info.collection_id,
                                   .related_id = right_id,
                                   .resource = info.resource,
                                   .remote_id = remote_id,
                                   .name = type,
                                 }, error);
}

/**
 * cairn_transaction_add_relation:
 * @self: a #CairnTransaction
 * @relation: the relation
 * @error: return location for an error
 *
 * Stores a relation between two items.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_EXISTS if the
 *   two items already have a relation of that type,
 *   %CAIRN_STORE_ERROR_NOT_FOUND for an unknown item
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_add_relation (CairnTransaction  *self,
                                CairnRelation     *relation,
                                GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_RELATION (relation), FALSE);

  return write_relation (self, relation,
                         "INSERT INTO relations (left_id, right_id, type, remote_id) "
                         "VALUES (?, ?, ?, ?)",
                         CAIRN_CHANGE_ADD, error);
}

/**
 * cairn_transaction_remove_relation:
 * @self: a #CairnTransaction
 * @relation: the relation
 * @error: return location for an error
 *
 * Removes a relation between two items.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND if
 *   there is no such relation
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_remove_relation (CairnTransaction  *self,
                                   CairnRelation     *relation,
                                   GError           **error)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_RELATION (relation), FALSE);

  return write_relation (self, relation,
                         "DELETE FROM relations WHERE left_id = ?1 AND right_id = ?2 "
                         "AND type = ?3 AND (?4 IS NULL OR ?4 IS remote_id)",
                         CAIRN_CHANGE_REMOVE, error);
}
