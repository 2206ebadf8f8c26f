/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-collection-private.h"
#include "cairn-transaction-private.h"

/* The transaction's operations on collections: create, modify, move and
 * delete with their subtrees. */

static gboolean
log_collection (CairnTransaction      *self,
                CairnChangeOperation   operation,
                CairnCollection       *collection,
                guint64                destination_id,
                const char            *parts,
                GError               **error)
{
  return _cairn_transaction_log (self, &(LogEntry) {
                                   .operation = operation,
                                   .kind = CAIRN_ENTITY_COLLECTION,
                                   .entity_id = collection->id,
                                   .collection_id = collection->parent_id,
                                   .destination_id = destination_id,
                                   .resource = collection->resource,
                                   .remote_id = collection->remote_id,
                                   .name = collection->name,
                                   .parts = parts,
                                 }, error);
}

/* What a collection must be to be written. */
static gboolean
check_collection (CairnTransaction  *self,
                  CairnCollection   *collection,
                  GError           **error)
{
  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_check_name ("collection name", collection->name, error))
    return FALSE;

  for (guint i = 0; collection->content_mime_types[i] != NULL; i++)
    if (!_cairn_transaction_check_word ("MIME type", collection->content_mime_types[i], error))
      return FALSE;

  return TRUE;
}

static gboolean
write_collection_row (CairnTransaction  *self,
                      CairnCollection   *collection,
                      const char        *sql,
                      GError           **error)
{
  CairnCachePolicy *policy = collection->cache_policy;
  const char * const *content_mime_types = (const char * const *) collection->content_mime_types;
  g_autofree char *mime_types = _cairn_words_join (content_mime_types);
  g_autofree char *local_parts = _cairn_words_join (cairn_cache_policy_get_local_parts (policy));
  int check_interval = cairn_cache_policy_get_check_interval (policy);
  int cache_timeout = cairn_cache_policy_get_cache_timeout (policy);
  gboolean sync_on_demand = cairn_cache_policy_get_sync_on_demand (policy);

  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_text (collection->name),
                                         _cairn_bind_text (collection->remote_id),
                                         _cairn_bind_text (collection->remote_revision),
                                         _cairn_bind_text (mime_types),
                                         _cairn_bind_int (cairn_cache_policy_get_inherit (policy)),
                                         _cairn_bind_int (check_interval),
                                         _cairn_bind_int (cache_timeout),
                                         _cairn_bind_int (sync_on_demand),
                                         _cairn_bind_text (local_parts),
                                         _cairn_bind_int (self->revision),
                                         _cairn_bind_id (collection->parent_id),
                                         _cairn_bind_text (collection->resource),
                                         _cairn_bind_int (collection->is_virtual),
                                         _cairn_bind_int (collection->id)),
                            error))
    {
      _cairn_transaction_prefix_error (self, error,
                                       "another collection of the resource has this remote id",
                                       "Cannot write collection \"%s\"", collection->name);
      return FALSE;
    }

  return TRUE;
}

/**
 * cairn_transaction_create_collection:
 * @self: a #CairnTransaction
 * @collection: the collection to create; its id and revision are set
 * @error: return location for an error
 *
 * Creates a collection under its parent (or at the top with parent id 0).
 * A collection below another belongs to the parent's resource; a
 * top-level one must name its resource.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown parent, %CAIRN_STORE_ERROR_INVALID for an empty or
 *   non-UTF-8 name or a resource other than the parent's,
 *   %CAIRN_STORE_ERROR_EXISTS for a remote id the resource already has
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_create_collection (CairnTransaction  *self,
                                     CairnCollection   *collection,
                                     GError           **error)
{
  guint64 given_id, id;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_COLLECTION (collection), FALSE);

  if (!check_collection (self, collection, error))
    return FALSE;

  if (collection->parent_id != 0)
    {
      g_autoptr(CairnCollection) parent = _cairn_collection_load (self->database,
                                                                  collection->parent_id, error);

      if (parent == NULL)
        {
          g_prefix_error (error, "Cannot create collection \"%s\": ", collection->name);
          return FALSE;
        }
      if (collection->resource != NULL && strcmp (collection->resource, parent->resource) != 0)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                       "Cannot create collection \"%s\" of resource %s below collection %"
                       G_GUINT64_FORMAT " of resource %s", collection->name,
                       collection->resource, parent->id, parent->resource);
          return FALSE;
        }
      cairn_collection_set_resource (collection, parent->resource);
    }
  else if (!_cairn_transaction_check_word ("resource id", collection->resource, error))
    return FALSE;

  if (!_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_transaction_allocate_id (self, CAIRN_ENTITY_COLLECTION, &id, error))
    return FALSE;

  given_id = collection->id;
  cairn_collection_set_id (collection, id);
  if (!write_collection_row (self, collection,
                             "INSERT INTO collections (name, remote_id, remote_revision, "
                             "  mime_types, cache_inherit, cache_check_interval, cache_timeout, "
                             "  cache_sync_on_demand, cache_local_parts, revision, parent_id, "
                             "  resource, is_virtual, id) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                             error))
    {
      cairn_collection_set_id (collection, given_id);
      return FALSE;
    }

  _cairn_collection_set_revision (collection, self->revision);

  if (!_cairn_transaction_store_attributes (self, collection->attributes, collection->id,
                                            CAIRN_COLLECTION_ATTRIBUTE_UPSERT,
                                            CAIRN_COLLECTION_ATTRIBUTE_DELETE, NULL, error))
    return FALSE;

  return log_collection (self, CAIRN_CHANGE_ADD, collection, 0, NULL, error);
}

/**
 * cairn_transaction_modify_collection:
 * @self: a #CairnTransaction
 * @collection: the collection with its new name, remote id, remote
 *   revision, content MIME types, cache policy and attributes (those set to
 *   %NULL are removed); its revision is updated
 * @unchanged_since: fail with %CAIRN_STORE_ERROR_CONFLICT if the collection
 *   changed after this revision; 0 for no condition
 * @error: return location for an error
 *
 * Writes what differs from the stored collection and logs one change
 * naming the fields that changed (`NAME`, `REMOTEID`, `REMOTEREVISION`,
 * `MIMETYPES`, `CACHEPOLICY`, `ATR:name`). The parent changes through
 * cairn_transaction_move_collection(); resource and virtual-ness never.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_modify_collection (CairnTransaction  *self,
                                     CairnCollection   *collection,
                                     guint64            unchanged_since,
                                     GError           **error)
{
  g_autoptr(CairnCollection) stored = NULL;
  g_autoptr(GPtrArray) changed = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  g_autofree char *parts = NULL;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_COLLECTION (collection), FALSE);

  if (!check_collection (self, collection, error))
    return FALSE;

  stored = _cairn_collection_load (self->database, collection->id, error);
  if (stored == NULL ||
      !_cairn_transaction_check_unchanged ("collection", stored->id, stored->revision,
                                           unchanged_since, error))
    return FALSE;

  if (g_strcmp0 (stored->name, collection->name) != 0)
    g_ptr_array_add (changed, g_strdup ("NAME"));
  if (g_strcmp0 (stored->remote_id, collection->remote_id) != 0)
    g_ptr_array_add (changed, g_strdup ("REMOTEID"));
  if (g_strcmp0 (stored->remote_revision, collection->remote_revision) != 0)
    g_ptr_array_add (changed, g_strdup ("REMOTEREVISION"));
  if (!g_strv_equal ((const char * const *) stored->content_mime_types,
                     (const char * const *) collection->content_mime_types))
    g_ptr_array_add (changed, g_strdup ("MIMETYPES"));
  if (!cairn_cache_policy_equal (stored->cache_policy, collection->cache_policy))
    g_ptr_array_add (changed, g_strdup ("CACHEPOLICY"));

  if (!_cairn_transaction_store_attributes (self, collection->attributes, collection->id,
                                            CAIRN_COLLECTION_ATTRIBUTE_UPSERT,
                                            CAIRN_COLLECTION_ATTRIBUTE_DELETE, changed, error))
    return FALSE;
  if (changed->len == 0)
    return TRUE;

  if (!_cairn_transaction_ensure_revision (self, error) ||
      !write_collection_row (self, collection,
                             "UPDATE collections SET name = ?1, remote_id = ?2, "
                             "  remote_revision = ?3, mime_types = ?4, cache_inherit = ?5, "
                             "  cache_check_interval = ?6, cache_timeout = ?7, "
                             "  cache_sync_on_demand = ?8, cache_local_parts = ?9, "
                             "  revision = ?10 "
                             "WHERE id = ?14",
                             error))
    return FALSE;
  /* Parent, resource and virtual-ness stay as stored. */
  cairn_collection_set_parent_id (collection, stored->parent_id);
  cairn_collection_set_resource (collection, stored->resource);
  cairn_collection_set_virtual (collection, stored->is_virtual);
  _cairn_collection_set_revision (collection, self->revision);

  parts = _cairn_words_join ((const char * const *) changed->pdata);
  return log_collection (self, CAIRN_CHANGE_MODIFY, collection, 0, parts, error);
}

static gboolean
is_in_subtree (CairnTransaction  *self,
               guint64            root,
               guint64            candidate,
               gboolean          *inside,
               GError           **error)
{
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (self->database,
                           "WITH RECURSIVE ancestors (id) AS ("
                           "  SELECT ?1 UNION "
                           "  SELECT c.parent_id FROM collections c "
                           "  JOIN ancestors a ON c.id = a.id WHERE c.parent_id IS NOT NULL) "
                           "SELECT 1 FROM ancestors WHERE id = ?2",
                           CAIRN_BINDS (_cairn_bind_int (candidate), _cairn_bind_int (root)),
                           error);
  int rc = _cairn_database_step_row (self->database, stmt, error);
  if (rc < 0)
    return FALSE;
  *inside = rc == SQLITE_ROW;

  return TRUE;
}

/**
 * cairn_transaction_move_collection:
 * @self: a #CairnTransaction
 * @id: the collection to move
 * @parent_id: its new parent, or 0 for the top level
 * @error: return location for an error
 *
 * Moves a collection with its subtree. A collection cannot move into its
 * own subtree, nor into another resource's tree
 * (%CAIRN_STORE_ERROR_INVALID).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_move_collection (CairnTransaction  *self,
                                   guint64            id,
                                   guint64            parent_id,
                                   GError           **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  gboolean inside;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error))
    return FALSE;

  collection = _cairn_collection_load (self->database, id, error);
  if (collection == NULL)
    return FALSE;
  if (collection->parent_id == parent_id)
    return TRUE;

  if (parent_id != 0)
    {
      g_autoptr(CairnCollection) parent = _cairn_collection_load (self->database, parent_id, error);

      if (parent == NULL)
        return FALSE;
      if (strcmp (parent->resource, collection->resource) != 0)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                       "Cannot move collection %" G_GUINT64_FORMAT " of resource %s into "
                       "collection %" G_GUINT64_FORMAT " of resource %s",
                       id, collection->resource, parent_id, parent->resource);
          return FALSE;
        }
      if (!is_in_subtree (self, id, parent_id, &inside, error))
        return FALSE;
      if (inside)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                       "Cannot move collection %" G_GUINT64_FORMAT " into its own subtree "
                       "(collection %" G_GUINT64_FORMAT ")", id, parent_id);
          return FALSE;
        }
    }

  if (!_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_database_run (self->database,
                            "UPDATE collections SET parent_id = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_id (parent_id),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id)),
                            error))
    return FALSE;

  return log_collection (self, CAIRN_CHANGE_MOVE, collection, parent_id, NULL, error);
}

static gboolean
delete_one_collection (CairnTransaction  *self,
                       guint64            id,
                       GError           **error)
{
  g_autoptr(CairnCollection) collection = _cairn_collection_load (self->database, id, error);

  if (collection == NULL ||
      !_cairn_transaction_drop_payloads (self,
                                         "SELECT p.path FROM items i "
                                         "JOIN parts p ON p.item_id = i.id "
                                         "WHERE i.collection_id = ? AND p.storage = 1",
                                         id, error) ||
      !_cairn_transaction_log_item_removals (self, id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM items WHERE collection_id = ?",
                            CAIRN_BINDS (_cairn_bind_int (id)), error) ||
      !_cairn_database_run (self->database, "DELETE FROM collections WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (id)), error))
    return FALSE;

  return log_collection (self, CAIRN_CHANGE_REMOVE, collection, 0, NULL, error);
}

static gboolean
append_id (CairnStatement  *row,
           gpointer         ids,
           GError         **error)
{
  guint64 id = sqlite3_column_int64 (row, 0);

  g_array_append_val (ids, id);
  return TRUE;
}

/**
 * cairn_transaction_delete_collection:
 * @self: a #CairnTransaction
 * @id: the collection to delete
 * @error: return location for an error
 *
 * Deletes a collection, its subtree and all their items. The change log
 * gets a removal for every item and every collection, deepest first.
 * Links of other items into deleted virtual collections go with them.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_delete_collection (CairnTransaction  *self,
                                     guint64            id,
                                     GError           **error)
{
  g_autoptr(GArray) subtree = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error))
    return FALSE;
  _cairn_transaction_forget_cached_collection (self);

  if (!_cairn_database_foreach (self->database,
                                _cairn_database_query (self->database,
                                                       "WITH RECURSIVE subtree (id, depth) AS ("
                                                       "  SELECT id, 0 FROM collections "
                                                       "  WHERE id = ?1 UNION ALL "
                                                       "  SELECT c.id, s.depth + 1 "
                                                       "  FROM collections c "
                                                       "  JOIN subtree s ON c.parent_id = s.id) "
                                                       "SELECT id FROM subtree "
                                                       "ORDER BY depth DESC, id",
                                                       CAIRN_BINDS (_cairn_bind_int (id)), error),
                                append_id, subtree, error))
    return FALSE;

  if (subtree->len == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No collection with id %" G_GUINT64_FORMAT, id);
      return FALSE;
    }

  for (guint i = 0; i < subtree->len; i++)
    if (!delete_one_collection (self, g_array_index (subtree, guint64, i), error))
      return FALSE;

  return TRUE;
}
