/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-collection-private.h"
#include "cairn-flags-private.h"
#include "cairn-item-private.h"
#include "cairn-part-private.h"
#include "cairn-payload-files-private.h"
#include "cairn-store-private.h"

/* The store's reads: lookups and listings of collections, items, parts,
 * tags and relations. Each is a query for _cairn_store_read_one() and
 * friends, or for _cairn_database_collect() in a reader it holds. */

#define STREAM_PAGE_SIZE 1000

/**
 * cairn_store_get_collection:
 * @self: a #CairnStore
 * @id: a collection id
 * @error: return location for an error
 *
 * Reads a collection, with its attributes.
 *
 * Returns: (transfer full): the collection with its attributes, or %NULL
 *   with %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnCollection *
cairn_store_get_collection (CairnStore  *self,
                            guint64      id,
                            GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = _cairn_store_acquire_reader (self, error);
  if (reader == NULL)
    return NULL;

  return _cairn_collection_load (reader->database, id, error);
}

/**
 * cairn_store_find_collection_by_remote_id:
 * @self: a #CairnStore
 * @resource: the owning resource's instance id
 * @remote_id: the backend's id of the collection
 * @error: return location for an error
 *
 * Looks up a resource's collection by its remote id.
 *
 * Returns: (transfer full): the collection, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnCollection *
cairn_store_find_collection_by_remote_id (CairnStore  *self,
                                          const char  *resource,
                                          const char  *remote_id,
                                          GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  return _cairn_store_read_one (self,
                                "SELECT " CAIRN_COLLECTION_COLUMNS " FROM collections "
                                "WHERE resource = ? AND remote_id = ?",
                                CAIRN_BINDS (_cairn_bind_text (resource),
                                             _cairn_bind_text (remote_id)),
                                _cairn_collection_from_row, error,
                                "No collection with remote id %s in resource %s",
                                remote_id, resource);
}

/* Depth-first, parents before children, siblings by name. */
static void
append_subtree (GPtrArray  *sorted,
                GHashTable *children,
                guint64     parent_id)
{
  GPtrArray *list = g_hash_table_lookup (children, &parent_id);

  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (list, i);

      g_ptr_array_add (sorted, g_object_ref (collection));
      append_subtree (sorted, children, collection->id);
    }
}

/* Siblings by name, then by id. */
int
_cairn_collection_compare_names (CairnCollection *a,
                                 CairnCollection *b)
{
  int cmp = g_utf8_collate (a->name, b->name);

  if (cmp != 0)
    return cmp;
  return a->id < b->id ? -1 : (a->id > b->id ? 1 : 0);
}

static int
compare_collection_names (gconstpointer a,
                          gconstpointer b)
{
  return _cairn_collection_compare_names (*(CairnCollection **) a, *(CairnCollection **) b);
}

/**
 * cairn_store_list_collections:
 * @self: a #CairnStore
 * @resource: (nullable): only the collections of this resource, or %NULL
 *   for all
 * @error: return location for an error
 *
 * Lists the collection tree: depth first, every parent before its
 * children, siblings sorted by name.
 *
 * Returns: (transfer container) (element-type CairnCollection): the
 *   collections, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_collections (CairnStore  *self,
                              const char  *resource,
                              GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) children = NULL;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_int64_hash, g_int64_equal);
  GPtrArray *sorted;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = _cairn_store_begin_read (self, error);
  if (reader == NULL)
    return NULL;

  all = _cairn_database_collect (reader->database,
                                 _cairn_database_query (reader->database,
                                                        "SELECT " CAIRN_COLLECTION_COLUMNS " FROM "
                                                        "collections "
                                                        "WHERE ?1 IS NULL OR resource = ?1",
                                                        CAIRN_BINDS (_cairn_bind_text (resource)),
                                                        error),
                                 _cairn_collection_from_row, reader->database, g_object_unref,
                                 error);
  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++)
    g_hash_table_add (ids, &((CairnCollection *) g_ptr_array_index (all, i))->id);

  children = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                    (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < all->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (all, i);
      /* With a resource filter, a collection whose parent is not listed is
       * a root of the listing. */
      static const guint64 root = 0;
      const guint64 *parent = g_hash_table_contains (ids, &collection->parent_id)
                                ? &collection->parent_id : &root;
      GPtrArray *list = g_hash_table_lookup (children, parent);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (children, (gpointer) parent, list);
        }
      g_ptr_array_add (list, collection);
    }

  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, children);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_sort (value, compare_collection_names);
  }

  sorted = g_ptr_array_new_full (all->len, g_object_unref);
  append_subtree (sorted, children, 0);

  return sorted;
}

/**
 * cairn_store_get_collection_statistics:
 * @self: a #CairnStore
 * @id: a collection id
 * @count: (out) (optional): the number of items
 * @unread: (out) (optional): the number of items without `\Seen`
 * @size: (out) (optional): the sum of the items' sizes
 * @error: return location for an error
 *
 * Counts the items of a collection, or the items linked into a virtual
 * collection.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown collection
 *
 * Since: 0.1
 */
gboolean
cairn_store_get_collection_statistics (CairnStore  *self,
                                       guint64      id,
                                       guint64     *count,
                                       guint64     *unread,
                                       guint64     *size,
                                       GError     **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnStatement) stmt = NULL;
  g_autoptr(CairnCollection) collection = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);

  reader = _cairn_store_begin_read (self, error);
  if (reader == NULL)
    return FALSE;

  collection = _cairn_collection_load (reader->database, id, error);
  if (collection == NULL)
    return FALSE;

  /* Only a count: the index of items by collection answers it without
   * reading the items (the indexer asks for every collection before a
   * scan, and the full query read the whole table). */
  stmt = _cairn_database_query (reader->database,
                                unread == NULL && size == NULL && !collection->is_virtual
                                ? "SELECT count(*) FROM items WHERE collection_id = ?"
                                : collection->is_virtual
                                ? "SELECT count(*), total (i.size), "
                                  "  total (NOT EXISTS (SELECT 1 FROM item_flags f "
                                  "    WHERE f.item_id = i.id AND f.flag = '\\Seen')) "
                                  "FROM collection_links l JOIN items i ON i.id = l.item_id "
                                  "WHERE l.collection_id = ?"
                                : "SELECT count(*), total (i.size), "
                                  "  total (NOT EXISTS (SELECT 1 FROM item_flags f "
                                  "    WHERE f.item_id = i.id AND f.flag = '\\Seen')) "
                                  "FROM items i WHERE i.collection_id = ?",
                                CAIRN_BINDS (_cairn_bind_int (id)), error);
  if (_cairn_database_step_row (reader->database, stmt, error) != SQLITE_ROW)
    return FALSE;

  if (count)
    *count = sqlite3_column_int64 (stmt, 0);
  if (size)
    *size = (guint64) sqlite3_column_double (stmt, 1);
  if (unread)
    *unread = (guint64) sqlite3_column_double (stmt, 2);

  return TRUE;
}

#define ITEM_COLUMNS \
  "i.id, i.collection_id, i.mime_type, i.size, i.remote_id, i.remote_revision, i.gid, " \
  "i.revision, (SELECT group_concat (flag, ' ') FROM item_flags WHERE item_id = i.id), i.date"

/* A CairnRowFunc for ITEM_COLUMNS. */
static gpointer
item_from_row (CairnStatement  *row,
               gpointer         user_data,
               GError         **error)
{
  CairnItem *item = g_object_new (CAIRN_TYPE_ITEM, NULL);
  const char *flags = (const char *) sqlite3_column_text (row, 8);

  item->id = sqlite3_column_int64 (row, 0);
  item->collection_id = sqlite3_column_int64 (row, 1);
  item->mime_type = _cairn_column_dup (row, 2);
  item->size = sqlite3_column_int64 (row, 3);
  item->remote_id = _cairn_column_dup (row, 4);
  item->remote_revision = _cairn_column_dup (row, 5);
  item->gid = _cairn_column_dup (row, 6);
  item->revision = sqlite3_column_int64 (row, 7);
  if (sqlite3_column_type (row, 9) != SQLITE_NULL)
    item->date = g_date_time_new_from_unix_utc (sqlite3_column_int64 (row, 9));
  if (flags != NULL)
    {
      cairn_flags_free (item->flags);
      item->flags = _cairn_flags_new_from_string (flags);
    }

  return item;
}

/* A JSON array of @ids, for json_each(). */
char *
_cairn_ids_to_json (const guint64 *ids,
                    guint          n_ids)
{
  GString *json = g_string_sized_new (n_ids * 8 + 2);

  g_string_append_c (json, '[');
  for (guint i = 0; i < n_ids; i++)
    g_string_append_printf (json, "%s%" G_GUINT64_FORMAT, i > 0 ? "," : "", ids[i]);
  g_string_append_c (json, ']');

  return g_string_free (json, FALSE);
}

/* Appends @value to @json as a JSON string. */
void
_cairn_json_append_string (GString    *json,
                           const char *value)
{
  g_string_append_c (json, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (json, '\\');
      g_string_append_c (json, *p);
    }
  g_string_append_c (json, '"');
}

/* A part from the columns name, storage, size, data, path of a parts row,
 * starting at @first. */
static CairnPart *
part_from_row (CairnStore     *self,
               CairnStatement *stmt,
               int             first)
{
  CairnPartStorage storage = sqlite3_column_int (stmt, first + 1);
  GBytes *data = NULL;
  char *path = NULL;

  if (storage == CAIRN_PART_STORAGE_INLINE)
    data = g_bytes_new (sqlite3_column_blob (stmt, first + 3),
                        sqlite3_column_bytes (stmt, first + 3));
  else if (storage == CAIRN_PART_STORAGE_EXTERNAL)
    path = _cairn_payload_path (self->payload_dir,
                               (const char *) sqlite3_column_text (stmt, first + 4));
  else if (storage == CAIRN_PART_STORAGE_FOREIGN)
    path = _cairn_column_dup (stmt, first + 4);

  return _cairn_part_new ((const char *) sqlite3_column_text (stmt, first), storage,
                          sqlite3_column_int64 (stmt, first + 2), data, path);
}

/* A CairnRowFunc for the columns name, storage, size, data, path of parts. */
static gpointer
part_row (CairnStatement  *row,
          gpointer         store,
          GError         **error)
{
  return part_from_row (store, row, 0);
}

#define TAG_COLUMNS "id, gid, name, type, parent_id"

/* A tag from TAG_COLUMNS, starting at @first. */
static CairnTag *
tag_from_columns (CairnStatement *row,
                  int             first)
{
  CairnTag *tag = cairn_tag_new ((const char *) sqlite3_column_text (row, first + 1),
                                 (const char *) sqlite3_column_text (row, first + 2));

  cairn_tag_set_id (tag, sqlite3_column_int64 (row, first));
  cairn_tag_set_tag_type (tag, (const char *) sqlite3_column_text (row, first + 3));
  cairn_tag_set_parent_id (tag, sqlite3_column_int64 (row, first + 4));

  return tag;
}

/* The items of a batch by id, for the rows of their parts, attributes and
 * tags. */
typedef struct
{
  CairnStore *store;
  GHashTable *by_id;
} PayloadBatch;

static CairnItem *
batch_item (PayloadBatch   *batch,
            CairnStatement *row)
{
  gint64 item_id = sqlite3_column_int64 (row, 0);

  return g_hash_table_lookup (batch->by_id, &item_id);
}

static gboolean
add_item_part (CairnStatement  *row,
               gpointer         batch,
               GError         **error)
{
  g_ptr_array_add (batch_item (batch, row)->parts,
                   part_from_row (((PayloadBatch *) batch)->store, row, 1));
  return TRUE;
}

static gboolean
set_item_attribute (CairnStatement  *row,
                    gpointer         batch,
                    GError         **error)
{
  g_autoptr(GBytes) value = g_bytes_new (sqlite3_column_blob (row, 2),
                                         sqlite3_column_bytes (row, 2));

  cairn_item_set_attribute (batch_item (batch, row), (const char *) sqlite3_column_text (row, 1),
                            value);
  return TRUE;
}

static gboolean
add_item_tag (CairnStatement  *row,
              gpointer         batch,
              GError         **error)
{
  g_ptr_array_add (batch_item (batch, row)->tags, tag_from_columns (row, 1));
  return TRUE;
}

/* Loads the parts, attributes and tags the scope asks for into @items,
 * in one query each for the whole batch. */
static gboolean
load_item_payloads (CairnStore       *self,
                    CairnDatabase    *database,
                    GPtrArray        *items,
                    CairnFetchScope  *scope,
                    GError          **error)
{
  const char * const *names = cairn_fetch_scope_get_parts (scope);
  gboolean all_parts = cairn_fetch_scope_get_all_parts (scope);
  gboolean attributes = cairn_fetch_scope_get_attributes (scope);
  gboolean tags = cairn_fetch_scope_get_tags (scope);
  g_autoptr(GHashTable) by_id = NULL;
  g_autoptr(GString) ids = NULL;
  g_autoptr(GString) wanted = NULL;
  PayloadBatch batch;

  if (items->len == 0 || (!all_parts && names[0] == NULL && !attributes && !tags))
    return TRUE;

  by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  ids = g_string_new ("[");
  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);

      g_hash_table_insert (by_id, &item->id, item);
      if (tags && item->tags == NULL)
        item->tags = g_ptr_array_new_with_free_func (g_object_unref);
      g_string_append_printf (ids, i ? ",%" G_GUINT64_FORMAT : "%" G_GUINT64_FORMAT, item->id);
    }
  g_string_append_c (ids, ']');

  wanted = g_string_new ("[");
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (wanted, ',');
      _cairn_json_append_string (wanted, names[i]);
    }
  g_string_append_c (wanted, ']');

  batch = (PayloadBatch) { self, by_id };
  if ((all_parts || names[0] != NULL) &&
      !_cairn_database_foreach (database,
                                _cairn_database_query (database,
                                                       all_parts
                                                       ? "SELECT item_id, name, storage, size, "
                                                         "  data, path FROM parts "
                                                         "WHERE item_id IN "
                                                         "  (SELECT value FROM json_each (?1))"
                                                       : "SELECT item_id, name, storage, size, "
                                                         "  data, path FROM parts "
                                                         "WHERE item_id IN "
                                                         "  (SELECT value FROM json_each (?1)) "
                                                         "AND name IN "
                                                         "  (SELECT value FROM json_each (?2))",
                                                       CAIRN_BINDS (_cairn_bind_text (ids->str),
                                                                    _cairn_bind_text (wanted->str)),
                                                       error),
                                add_item_part, &batch, error))
    return FALSE;

  if (attributes &&
      !_cairn_database_foreach (database,
                                _cairn_database_query (database,
                                                       "SELECT item_id, name, value "
                                                       "FROM item_attributes WHERE item_id IN "
                                                       "  (SELECT value FROM json_each (?1))",
                                                       CAIRN_BINDS (_cairn_bind_text (ids->str)),
                                                       error),
                                set_item_attribute, &batch, error))
    return FALSE;

  return !tags ||
         _cairn_database_foreach (database,
                                  _cairn_database_query (database,
                                                         "SELECT it.item_id, t.id, t.gid, t.name, "
                                                         "  t.type, t.parent_id "
                                                         "FROM item_tags it "
                                                         "JOIN tags t ON t.id = it.tag_id "
                                                         "WHERE it.item_id IN "
                                                         "  (SELECT value FROM json_each (?1)) "
                                                         "ORDER BY it.item_id, t.id",
                                                         CAIRN_BINDS (_cairn_bind_text (ids->str)),
                                                         error),
                                  add_item_tag, &batch, error);
}

/* Runs a bound item query and loads the scope's payloads. */
static GPtrArray *
load_items (CairnStore       *self,
            CairnDatabase    *database,
            CairnStatement   *stmt,
            CairnFetchScope  *scope,
            GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(CairnFetchScope) default_scope = NULL;

  items = _cairn_database_collect (database, stmt, item_from_row, NULL, g_object_unref, error);
  if (items == NULL)
    return NULL;

  if (scope == NULL)
    scope = default_scope = cairn_fetch_scope_new ();
  if (!load_item_payloads (self, database, items, scope, error))
    return NULL;

  return g_steal_pointer (&items);
}

/* The items of an item query with @binds, read from one snapshot. */
static GPtrArray *
read_items (CairnStore       *self,
            CairnFetchScope  *scope,
            const char       *sql,
            const CairnBind  *binds,
            gsize             n_binds,
            GError          **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_begin_read (self, error);

  if (reader == NULL)
    return NULL;

  return load_items (self, reader->database,
                     _cairn_database_query (reader->database, sql, binds, n_binds, error),
                     scope, error);
}

static CairnItem *
single_item (GPtrArray   *items,
             const char  *what,
             GError     **error)
{
  if (items == NULL)
    return NULL;
  if (items->len == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND, "No item %s", what);
      return NULL;
    }

  return g_object_ref (g_ptr_array_index (items, 0));
}

/**
 * cairn_store_get_item:
 * @self: a #CairnStore
 * @id: an item id
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Reads an item, with what @scope asks for.
 *
 * Returns: (transfer full): the item, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_get_item (CairnStore       *self,
                      guint64           id,
                      CairnFetchScope  *scope,
                      GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  items = read_items (self, scope, "SELECT " ITEM_COLUMNS " FROM items i WHERE i.id = ?",
                      CAIRN_BINDS (_cairn_bind_int (id)), error);
  what = g_strdup_printf ("with id %" G_GUINT64_FORMAT, id);
  return single_item (items, what, error);
}

/**
 * cairn_store_find_item_by_remote_id:
 * @self: a #CairnStore
 * @collection_id: the collection to look in
 * @remote_id: the backend's id of the item
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Looks up an item of a collection by its remote id.
 *
 * Returns: (transfer full): the item, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_find_item_by_remote_id (CairnStore       *self,
                                    guint64           collection_id,
                                    const char       *remote_id,
                                    CairnFetchScope  *scope,
                                    GError          **error)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  items = read_items (self, scope,
                      "SELECT " ITEM_COLUMNS " FROM items i "
                      "WHERE i.collection_id = ? AND i.remote_id = ?",
                      CAIRN_BINDS (_cairn_bind_int (collection_id), _cairn_bind_text (remote_id)),
                      error);
  what = g_strdup_printf ("with remote id %s in collection %" G_GUINT64_FORMAT,
                          remote_id, collection_id);
  return single_item (items, what, error);
}

/**
 * cairn_store_find_items_by_resource_remote_id:
 * @self: a #CairnStore
 * @resource: the owning resource's instance id
 * @remote_id: the backend's id of the item
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Finds the items with @remote_id in any collection of @resource: remote
 * ids are unique per collection only.
 *
 * Returns: (transfer container) (element-type CairnItem): the items,
 *   possibly none, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_find_items_by_resource_remote_id (CairnStore       *self,
                                              const char       *resource,
                                              const char       *remote_id,
                                              CairnFetchScope  *scope,
                                              GError          **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (remote_id != NULL, NULL);

  return read_items (self, scope,
                     "SELECT " ITEM_COLUMNS " FROM collections c "
                     "JOIN items i ON i.collection_id = c.id AND i.remote_id = ?2 "
                     "WHERE c.resource = ?1 ORDER BY i.id",
                     CAIRN_BINDS (_cairn_bind_text (resource), _cairn_bind_text (remote_id)),
                     error);
}

/**
 * cairn_store_find_items_by_gid:
 * @self: a #CairnStore
 * @gid: the id taken from the payload
 * @scope: (nullable): what to load beside columns and flags
 * @error: return location for an error
 *
 * Looks up the items with a GID, in every collection.
 *
 * Returns: (transfer container) (element-type CairnItem): the items with
 *   @gid in any collection, by id, possibly none; %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_find_items_by_gid (CairnStore       *self,
                               const char       *gid,
                               CairnFetchScope  *scope,
                               GError          **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (gid != NULL, NULL);

  return read_items (self, scope,
                     "SELECT " ITEM_COLUMNS " FROM items i WHERE i.gid = ? ORDER BY i.id",
                     CAIRN_BINDS (_cairn_bind_text (gid)), error);
}

/**
 * cairn_store_find_items_missing_part:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @part: a part name, such as %CAIRN_PART_RFC822
 * @since: (nullable): only items dated at or after this time; %NULL for
 *   every item
 * @limit: the most items to return, or 0 for all
 * @error: return location for an error
 *
 * Finds the items of a collection that have @part as a missing part
 * (%CAIRN_PART_STORAGE_MISSING), newest first (by date, then by id), so
 * that a resource fetches by cache policy what is still to be fetched,
 * also after it was stopped halfway. Items without a date come last.
 *
 * Returns: (transfer container) (element-type CairnItem): the items with
 *   their columns and flags, possibly none; %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_find_items_missing_part (CairnStore    *self,
                                     guint64        collection_id,
                                     const char    *part,
                                     GDateTime     *since,
                                     guint          limit,
                                     GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (part != NULL, NULL);

  return read_items (self, NULL,
                     "SELECT " ITEM_COLUMNS " FROM items i "
                     "JOIN parts p ON p.item_id = i.id AND p.name = ?2 AND p.storage = ?3 "
                     "WHERE i.collection_id = ?1 AND (?4 IS NULL OR i.date >= ?4) "
                     "ORDER BY i.date DESC, i.id DESC "
                     "LIMIT ?5",
                     CAIRN_BINDS (_cairn_bind_int (collection_id), _cairn_bind_text (part),
                                  _cairn_bind_int (CAIRN_PART_STORAGE_MISSING),
                                  _cairn_bind_date (since),
                                  _cairn_bind_int (limit > 0 ? (gint64) limit : -1)),
                     error);
}

/* One page of a collection, by id after @after_id. Items linked into a
 * virtual collection are listed like its own. */
static GPtrArray *
list_page (CairnStore       *self,
           CairnDatabase    *database,
           gboolean          is_virtual,
           guint64           collection_id,
           CairnFetchScope  *scope,
           guint64           after_id,
           guint             limit,
           GError          **error)
{
  return load_items (self, database,
                     _cairn_database_query (database,
                                            is_virtual
                                            ? "SELECT " ITEM_COLUMNS " FROM collection_links l "
                                              "JOIN items i ON i.id = l.item_id "
                                              "WHERE l.collection_id = ?1 AND l.item_id > ?2 "
                                              "ORDER BY l.item_id LIMIT ?3"
                                            : "SELECT " ITEM_COLUMNS " FROM items i "
                                              "WHERE i.collection_id = ?1 AND i.id > ?2 "
                                              "ORDER BY i.id LIMIT ?3",
                                            CAIRN_BINDS (_cairn_bind_int (collection_id),
                                                         _cairn_bind_int (after_id),
                                                         _cairn_bind_int (limit ? limit
                                                                                : G_MAXINT64)),
                                            error),
                     scope, error);
}

static gboolean
collection_is_virtual (CairnDatabase  *database,
                       guint64         collection_id,
                       gboolean       *is_virtual,
                       GError        **error)
{
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (database, "SELECT is_virtual FROM collections WHERE id = ?",
                           CAIRN_BINDS (_cairn_bind_int (collection_id)), error);

  if (!_cairn_database_step_found (database, stmt, error,
                                   "No collection with id %" G_GUINT64_FORMAT, collection_id))
    return FALSE;

  *is_virtual = sqlite3_column_int (stmt, 0) != 0;
  return TRUE;
}

/**
 * cairn_store_list_items:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @after_id: list items with ids above this one (0 for the first page)
 * @limit: the page size, or 0 for all
 * @error: return location for an error
 *
 * Lists one page of a collection's items in id order. For the next page,
 * pass the id of the last item as @after_id.
 *
 * Returns: (transfer container) (element-type CairnItem): the items, or
 *   %NULL with @error set (%CAIRN_STORE_ERROR_NOT_FOUND for an unknown
 *   collection)
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_items (CairnStore       *self,
                        guint64           collection_id,
                        CairnFetchScope  *scope,
                        guint64           after_id,
                        guint             limit,
                        GError          **error)
{
  g_autoptr(CairnReader) reader = NULL;
  gboolean is_virtual;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  reader = _cairn_store_begin_read (self, error);
  if (reader == NULL ||
      !collection_is_virtual (reader->database, collection_id, &is_virtual, error))
    return NULL;

  return list_page (self, reader->database, is_virtual, collection_id, scope, after_id, limit,
                    error);
}

typedef struct
{
  guint64 collection_id;
  CairnFetchScope *scope;
  guint64 after_id;
  guint limit;
} ListData;

static void
list_data_free (ListData *data)
{
  g_clear_pointer (&data->scope, cairn_fetch_scope_unref);
  g_free (data);
}

static void
list_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ListData *data = task_data;
  GError *error = NULL;
  GPtrArray *items;

  if (g_task_return_error_if_cancelled (task))
    return;

  items = cairn_store_list_items (source_object, data->collection_id, data->scope,
                                  data->after_id, data->limit, &error);
  if (items == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, items, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * cairn_store_list_items_async:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @after_id: list items with ids above this one
 * @limit: the page size, or 0 for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the page
 * @user_data: data for @callback
 *
 * Lists one page of items in a worker thread, as cairn_store_list_items()
 * does.
 *
 * Since: 0.1
 */
void
cairn_store_list_items_async (CairnStore          *self,
                              guint64              collection_id,
                              CairnFetchScope     *scope,
                              guint64              after_id,
                              guint                limit,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ListData *data;

  g_return_if_fail (CAIRN_IS_STORE (self));

  data = g_new0 (ListData, 1);
  data->collection_id = collection_id;
  data->scope = scope ? cairn_fetch_scope_ref (scope) : NULL;
  data->after_id = after_id;
  data->limit = limit;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_store_list_items_async);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  g_task_run_in_thread (task, list_thread);
}

/**
 * cairn_store_list_items_finish:
 * @self: a #CairnStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_store_list_items_async().
 *
 * Returns: (transfer container) (element-type CairnItem): the page, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_items_finish (CairnStore    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_store_list_items_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* One page of cairn_store_foreach_item() in a read transaction of its
 * own; the first page also finds out whether the collection is virtual. */
static GPtrArray *
read_page (CairnStore       *self,
           gboolean          first,
           gboolean         *is_virtual,
           guint64           collection_id,
           CairnFetchScope  *scope,
           guint64           after_id,
           GError          **error)
{
  g_autoptr(CairnReader) reader = _cairn_store_begin_read (self, error);

  if (reader == NULL ||
      (first && !collection_is_virtual (reader->database, collection_id, is_virtual, error)))
    return NULL;

  return list_page (self, reader->database, *is_virtual, collection_id, scope, after_id,
                    STREAM_PAGE_SIZE, error);
}

/**
 * cairn_store_foreach_item:
 * @self: a #CairnStore
 * @collection_id: a collection id
 * @scope: (nullable): what to load beside columns and flags
 * @func: (scope call): called for each item
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable, checked between pages
 * @error: return location for an error
 *
 * Streams every item of a collection to @func in id order, loading pages
 * of a thousand items at a time: a collection of any size never sits in
 * memory whole. Each page is read in a read transaction of its own, and
 * none is open while @func runs, so a slow consumer never keeps the
 * write-ahead log from being checkpointed. Items written between two
 * pages are seen if their ids come later; no item is visited twice.
 *
 * Returns: %TRUE if every item was visited or @func stopped the listing
 *
 * Since: 0.1
 */
gboolean
cairn_store_foreach_item (CairnStore       *self,
                          guint64           collection_id,
                          CairnFetchScope  *scope,
                          CairnItemFunc     func,
                          gpointer          user_data,
                          GCancellable     *cancellable,
                          GError          **error)
{
  guint64 after_id = 0;
  gboolean is_virtual = FALSE;

  g_return_val_if_fail (CAIRN_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  for (;;)
    {
      g_autoptr(GPtrArray) page = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      page = read_page (self, after_id == 0, &is_virtual, collection_id, scope, after_id, error);
      if (page == NULL)
        return FALSE;

      for (guint i = 0; i < page->len; i++)
        if (!func (g_ptr_array_index (page, i), user_data))
          return TRUE;

      if (page->len < STREAM_PAGE_SIZE)
        return TRUE;
      after_id = cairn_item_get_id (g_ptr_array_index (page, page->len - 1));
    }
}

/**
 * cairn_store_open_part:
 * @self: a #CairnStore
 * @item_id: an item id
 * @name: a part name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the payload of the part @name of item @item_id as it is stored now,
 * whether it is inline, in a file beside the database or in a file of the
 * resource; cairn_part_open_stream() explains the errors. To read the part
 * of an item you already hold (such as the item of a change being
 * replayed), use cairn_part_open_stream() on that part.
 *
 * Returns: (transfer full): a stream of the payload, or %NULL with @error
 *   set
 *
 * Since: 0.1
 */
GInputStream *
cairn_store_open_part (CairnStore    *self,
                       guint64        item_id,
                       const char    *name,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(CairnReader) reader = NULL;
  g_autoptr(CairnPart) part = NULL;
  GInputStream *stream;

  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  reader = _cairn_store_acquire_reader (self, error);
  if (reader == NULL)
    return NULL;

  part = _cairn_database_lookup (reader->database,
                                 _cairn_database_query (reader->database,
                                                        "SELECT name, storage, size, data, path "
                                                        "FROM parts WHERE item_id = ? AND name = ?",
                                                        CAIRN_BINDS (_cairn_bind_int (item_id),
                                                                     _cairn_bind_text (name)),
                                                        error),
                                 part_row, self, error,
                                 "Item %" G_GUINT64_FORMAT " has no part %s", item_id, name);
  if (part == NULL)
    return NULL;
  stream = cairn_part_open_stream (part, cancellable, error);
  if (stream == NULL)
    g_prefix_error (error, "Item %" G_GUINT64_FORMAT ": ", item_id);

  return stream;
}

typedef struct
{
  CairnItemKeyFunc func;
  gpointer user_data;
} ItemKeyVisit;

static gboolean
visit_item_key (CairnStatement  *row,
                gpointer         user_data,
                GError         **error)
{
  ItemKeyVisit *visit = user_data;

  visit->func (sqlite3_column_int64 (row, 0), (const char *) sqlite3_column_text (row, 1),
               (const char *) sqlite3_column_text (row, 2),
               (const char *) sqlite3_column_text (row, 3), sqlite3_column_int64 (row, 4),
               visit->user_data);
  return TRUE;
}

/* What a sync compares: each item of @collection_id with its remote id,
 * remote revision, GID and revision, in id order, from one snapshot. */
gboolean
_cairn_store_foreach_item_key (CairnStore          *self,
                               guint64              collection_id,
                               CairnItemKeyFunc     func,
                               gpointer             user_data,
                               GError             **error)
{
  ItemKeyVisit visit = { func, user_data };

  return _cairn_store_read_each (self,
                                 "SELECT id, remote_id, remote_revision, gid, revision "
                                 "FROM items WHERE collection_id = ? ORDER BY id",
                                 CAIRN_BINDS (_cairn_bind_int (collection_id)), visit_item_key,
                                 &visit, error);
}

/* Live models */

/* The conditions of a CairnItemFilter on the items row `i`, parameters 2
 * to 7 (?7: the ids a search matched); a NULL parameter selects
 * everything. */
#define ITEM_FILTER \
  "(?2 IS NULL OR i.mime_type = ?2) AND (?3 IS NULL OR i.date >= ?3) " \
  "AND (?4 IS NULL OR i.date < ?4) " \
  "AND (?5 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each (?5) j WHERE NOT EXISTS " \
  "  (SELECT 1 FROM item_flags f WHERE f.item_id = i.id AND f.flag = j.value))) " \
  "AND (?6 IS NULL OR NOT EXISTS (SELECT 1 FROM item_flags f WHERE f.item_id = i.id " \
  "  AND f.flag IN (SELECT value FROM json_each (?6)))) " \
  "AND (?7 IS NULL OR i.id IN (SELECT value FROM json_each (?7))) "

/* The items of the JSON array ?8 that the filter selects: those of the
 * collection ?1 unless it is NULL, those linked into the virtual
 * collection ?9 unless it is NULL. SQLite looks each id up. */
#define ITEMS_AMONG \
  "i.id IN (SELECT value FROM json_each (?8)) AND (?1 IS NULL OR i.collection_id = ?1) " \
  "AND (?9 IS NULL OR EXISTS (SELECT 1 FROM collection_links l " \
  "  WHERE l.collection_id = ?9 AND l.item_id = i.id)) AND " ITEM_FILTER

/* The parameters of ITEMS_AMONG, from ?1: ITEM_FILTER's with the search
 * @matches for ?7, then @ids. */
#define ITEMS_AMONG_BINDS(filter, matches, ids) \
  _cairn_bind_id ((filter)->is_virtual ? 0 : (filter)->collection_id), \
  _cairn_bind_text ((filter)->mime_type), \
  bind_filter_date ((filter)->has_date_from, (filter)->date_from), \
  bind_filter_date ((filter)->has_date_to, (filter)->date_to), \
  _cairn_bind_text ((filter)->flags_set), \
  _cairn_bind_text ((filter)->flags_unset), \
  _cairn_bind_text (matches), \
  _cairn_bind_text (ids), \
  _cairn_bind_id ((filter)->is_virtual ? (filter)->collection_id : 0)

/* Newest first, unknown dates last: NULL sorts lowest, as G_MININT64
 * does in the models, and items_collection_date gives this order,
 * walked backwards; oldest first is the exact reverse, walked forwards. */
#define ITEM_ORDER_DESCENDING " ORDER BY i.date DESC, i.id DESC"
#define ITEM_ORDER_ASCENDING " ORDER BY i.date, i.id"

/* The statements of _cairn_store_foreach_item_place() in one order:
 * each text is static, for the statement cache. */
#define PLACE_QUERIES(order) \
  { \
    /* Without conditions, the index alone gives a collection's order. */ \
    "SELECT i.id, i.date FROM items i WHERE i.collection_id = ?1" order, \
    "SELECT i.id, i.date FROM items i WHERE " ITEM_FILTER order, \
    "SELECT i.id, i.date FROM collection_links l JOIN items i ON i.id = l.item_id " \
    "WHERE l.collection_id = ?1 AND " ITEM_FILTER order, \
    "SELECT i.id, i.date FROM items i WHERE i.collection_id = ?1 AND " ITEM_FILTER order, \
    /* A search's matches are fewer than the items: read each one. */ \
    "SELECT i.id, i.date FROM items i WHERE " ITEMS_AMONG order, \
  }

typedef enum
{
  PLACES_PLAIN,
  PLACES_EVERY_COLLECTION,
  PLACES_VIRTUAL,
  PLACES_COLLECTION,
  PLACES_MATCHES,
  N_PLACE_QUERIES
} PlaceQuery;

static const char * const place_queries[2][N_PLACE_QUERIES] = {
  PLACE_QUERIES (ITEM_ORDER_DESCENDING),
  PLACE_QUERIES (ITEM_ORDER_ASCENDING),
};

static CairnBind
bind_filter_date (gboolean has,
                  gint64   date)
{
  return has ? _cairn_bind_int (date) : _cairn_bind_text (NULL);
}

typedef struct
{
  CairnItemPlaceFunc func;
  gpointer user_data;
} PlaceVisit;

static gboolean
visit_place (CairnStatement  *row,
             gpointer         user_data,
             GError         **error)
{
  PlaceVisit *visit = user_data;

  visit->func (sqlite3_column_int64 (row, 0),
               sqlite3_column_type (row, 1) == SQLITE_NULL ? G_MININT64
                                                           : sqlite3_column_int64 (row, 1),
               visit->user_data);
  return TRUE;
}

/* Every item @filter selects, in its order, as id and date. */
gboolean
_cairn_store_foreach_item_place (CairnReader           *reader,
                                 const CairnItemFilter *filter,
                                 CairnItemPlaceFunc     func,
                                 gpointer               user_data,
                                 GError               **error)
{
  PlaceVisit visit = { func, user_data };
  PlaceQuery query;
  gboolean plain = filter->mime_type == NULL && !filter->has_date_from &&
                   !filter->has_date_to && filter->flags_set == NULL &&
                   filter->flags_unset == NULL;
  CairnStatement *statement;

  if (filter->matches_json != NULL)
    query = PLACES_MATCHES;
  else if (plain && filter->collection_id != 0 && !filter->is_virtual)
    query = PLACES_PLAIN;
  else if (filter->collection_id == 0)
    query = PLACES_EVERY_COLLECTION;
  else if (filter->is_virtual)
    query = PLACES_VIRTUAL;
  else
    query = PLACES_COLLECTION;

  if (query == PLACES_MATCHES)
    statement = _cairn_database_query (reader->database,
                                       place_queries[filter->ascending ? 1 : 0][query],
                                       CAIRN_BINDS (ITEMS_AMONG_BINDS (filter, NULL,
                                                                       filter->matches_json)),
                                       error);
  else
    statement = _cairn_database_query (reader->database,
                                       place_queries[filter->ascending ? 1 : 0][query],
                                       CAIRN_BINDS (_cairn_bind_id (filter->collection_id),
                                                    _cairn_bind_text (filter->mime_type),
                                                    bind_filter_date (filter->has_date_from,
                                                                      filter->date_from),
                                                    bind_filter_date (filter->has_date_to,
                                                                      filter->date_to),
                                                    _cairn_bind_text (filter->flags_set),
                                                    _cairn_bind_text (filter->flags_unset)),
                                       error);

  return _cairn_database_foreach (reader->database, statement, visit_place, &visit, error);
}

/* The items of @ids (a JSON array) that @filter selects (all of them
 * with no filter), with their flags, without parts, in no order. */
GPtrArray *
_cairn_store_read_items_by_id (CairnReader           *reader,
                               const CairnItemFilter *filter,
                               const char            *ids,
                               GError               **error)
{
  static const CairnItemFilter everything = { 0 };
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  if (filter == NULL)
    filter = &everything;

  return load_items (reader->store, reader->database,
                     _cairn_database_query (reader->database,
                                            "SELECT " ITEM_COLUMNS " FROM items i WHERE "
                                            ITEMS_AMONG,
                                            CAIRN_BINDS (ITEMS_AMONG_BINDS (filter,
                                                                            filter->matches_json,
                                                                            ids)),
                                            error),
                     scope, error);
}

/* The collections of @resource (all with %NULL), only those of @ids (a
 * JSON array) unless it is %NULL. */
GPtrArray *
_cairn_store_read_collections (CairnReader  *reader,
                               const char   *resource,
                               const char   *ids,
                               GError      **error)
{
  return _cairn_database_collect (reader->database,
                                  _cairn_database_query (reader->database,
                                                         "SELECT " CAIRN_COLLECTION_COLUMNS " FROM "
                                                         "collections WHERE (?1 IS NULL OR resource = ?1) "
                                                         "AND (?2 IS NULL OR id IN "
                                                         "  (SELECT value FROM json_each (?2)))",
                                                         CAIRN_BINDS (_cairn_bind_text (resource),
                                                                      _cairn_bind_text (ids)),
                                                         error),
                                  _cairn_collection_from_row, reader->database, g_object_unref,
                                  error);
}

typedef struct
{
  CairnCountsFunc func;
  gpointer user_data;
} CountsVisit;

static gboolean
visit_counts (CairnStatement  *row,
              gpointer         user_data,
              GError         **error)
{
  CountsVisit *visit = user_data;

  visit->func (sqlite3_column_int64 (row, 0), sqlite3_column_int64 (row, 1),
               (guint64) sqlite3_column_double (row, 2), visit->user_data);
  return TRUE;
}

#define COUNTS_SELECT \
  "SELECT c.id, count (i.id), total (i.id IS NOT NULL AND NOT EXISTS " \
  "  (SELECT 1 FROM item_flags f WHERE f.item_id = i.id AND f.flag = '\\Seen')) "
#define COUNTS_WHERE \
  "(?1 IS NULL OR c.id IN (SELECT value FROM json_each (?1))) GROUP BY c.id "

/* The counts of every collection of @ids (a JSON array; all with
 * %NULL), as cairn_store_get_collection_statistics() counts them. */
gboolean
_cairn_store_count_items (CairnReader      *reader,
                          const char       *ids,
                          CairnCountsFunc   func,
                          gpointer          user_data,
                          GError          **error)
{
  CountsVisit visit = { func, user_data };

  return _cairn_database_foreach (reader->database,
                                  _cairn_database_query (reader->database,
                                                         COUNTS_SELECT "FROM collections c LEFT JOIN items i ON i.collection_id = c.id "
                                                         "WHERE NOT c.is_virtual AND " COUNTS_WHERE
                                                         "UNION ALL "
                                                         COUNTS_SELECT "FROM collections c "
                                                         "LEFT JOIN collection_links l ON l.collection_id = c.id "
                                                         "LEFT JOIN items i ON i.id = l.item_id "
                                                         "WHERE c.is_virtual AND " COUNTS_WHERE,
                                                         CAIRN_BINDS (_cairn_bind_text (ids)),
                                                         error),
                                  visit_counts, &visit, error);
}

/* Tags and relations */

/* A CairnRowFunc for TAG_COLUMNS. */
static gpointer
tag_from_row (CairnStatement  *row,
              gpointer         user_data,
              GError         **error)
{
  return tag_from_columns (row, 0);
}

static gpointer
relation_from_row (CairnStatement  *row,
                   gpointer         user_data,
                   GError         **error)
{
  CairnRelation *relation = cairn_relation_new (sqlite3_column_int64 (row, 0),
                                                sqlite3_column_int64 (row, 1),
                                                (const char *) sqlite3_column_text (row, 2));

  cairn_relation_set_remote_id (relation, (const char *) sqlite3_column_text (row, 3));
  return relation;
}

/**
 * cairn_store_get_tag:
 * @self: a #CairnStore
 * @id: a tag id
 * @error: return location for an error
 *
 * Reads a tag.
 *
 * Returns: (transfer full): the tag, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnTag *
cairn_store_get_tag (CairnStore  *self,
                     guint64      id,
                     GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return _cairn_store_read_one (self, "SELECT " TAG_COLUMNS " FROM tags WHERE id = ?",
                                CAIRN_BINDS (_cairn_bind_int (id)), tag_from_row, error,
                                "No tag with id %" G_GUINT64_FORMAT, id);
}

/**
 * cairn_store_find_tag_by_gid:
 * @self: a #CairnStore
 * @gid: a tag's global id
 * @error: return location for an error
 *
 * Looks up a tag by its GID.
 *
 * Returns: (transfer full): the tag, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
CairnTag *
cairn_store_find_tag_by_gid (CairnStore  *self,
                             const char  *gid,
                             GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (gid != NULL, NULL);

  return _cairn_store_read_one (self, "SELECT " TAG_COLUMNS " FROM tags WHERE gid = ?",
                                CAIRN_BINDS (_cairn_bind_text (gid)), tag_from_row, error,
                                "No tag with GID %s", gid);
}

/**
 * cairn_store_get_tag_remote_id:
 * @self: a #CairnStore
 * @tag_id: a tag id
 * @resource: a resource instance id
 * @error: return location for an error
 *
 * Reads the remote id a resource keeps for a tag.
 *
 * Returns: (transfer full): the remote id @resource keeps for the tag, or
 *   %NULL with %CAIRN_STORE_ERROR_NOT_FOUND
 *
 * Since: 0.1
 */
char *
cairn_store_get_tag_remote_id (CairnStore  *self,
                               guint64      tag_id,
                               const char  *resource,
                               GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);

  return _cairn_store_read_one (self,
                                "SELECT remote_id FROM tag_remote_ids "
                                "WHERE tag_id = ? AND resource = ?",
                                CAIRN_BINDS (_cairn_bind_int (tag_id), _cairn_bind_text (resource)),
                                _cairn_row_dup_text, error,
                                "Resource %s has no remote id for tag %" G_GUINT64_FORMAT,
                                resource, tag_id);
}

/**
 * cairn_store_list_item_tags:
 * @self: a #CairnStore
 * @item_id: an item id
 * @error: return location for an error
 *
 * Lists the tags of an item.
 *
 * Returns: (transfer container) (element-type CairnTag): the item's tags
 *   by id, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_item_tags (CairnStore  *self,
                            guint64      item_id,
                            GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return _cairn_store_read_all (self,
                                "SELECT t.id, t.gid, t.name, t.type, t.parent_id "
                                "FROM item_tags it JOIN tags t ON t.id = it.tag_id "
                                "WHERE it.item_id = ? ORDER BY t.id",
                                CAIRN_BINDS (_cairn_bind_int (item_id)), tag_from_row,
                                g_object_unref, error);
}

/**
 * cairn_store_list_relations:
 * @self: a #CairnStore
 * @item_id: an item id
 * @error: return location for an error
 *
 * Lists the relations an item is in, on either side.
 *
 * Returns: (transfer container) (element-type CairnRelation): the relations
 *   the item is in, on either side, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_store_list_relations (CairnStore  *self,
                            guint64      item_id,
                            GError     **error)
{
  g_return_val_if_fail (CAIRN_IS_STORE (self), NULL);

  return _cairn_store_read_all (self,
                                "SELECT left_id, right_id, type, remote_id FROM relations "
                                "WHERE left_id = ?1 UNION "
                                "SELECT left_id, right_id, type, remote_id FROM relations "
                                "WHERE right_id = ?1",
                                CAIRN_BINDS (_cairn_bind_int (item_id)), relation_from_row,
                                g_object_unref,
                                error);
}
