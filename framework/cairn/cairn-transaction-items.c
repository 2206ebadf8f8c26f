/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-autocleanups.h"
#include "cairn-collection-private.h"
#include "cairn-item-private.h"
#include "cairn-part-private.h"
#include "cairn-payload-files-private.h"
#include "cairn-transaction-private.h"

/* The transaction's operations on items: create, modify with their parts
 * and attributes, flags, move and delete, and what a resource records
 * after replaying a change. */

void
_cairn_item_info_clear (ItemInfo *info)
{
  g_free (info->remote_id);
  g_free (info->mime_type);
  g_free (info->resource);
}

/* The resource of a collection items may be put in. */
const char *
_cairn_transaction_item_resource (CairnTransaction  *self,
                                  guint64            collection_id,
                                  GError           **error)
{
  g_autoptr(CairnCollection) collection = NULL;

  if (self->cached_collection_id == collection_id && collection_id != 0)
    return self->cached_resource;

  collection = _cairn_collection_load (self->database, collection_id, error);
  if (collection == NULL)
    return NULL;
  if (collection->is_virtual)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "Collection %" G_GUINT64_FORMAT " is virtual: items are linked into it, "
                   "not stored in it", collection_id);
      return NULL;
    }

  g_free (self->cached_resource);
  self->cached_resource = g_strdup (collection->resource);
  self->cached_collection_id = collection_id;

  return self->cached_resource;
}

gboolean
_cairn_transaction_load_item_info (CairnTransaction  *self,
                                   guint64            id,
                                   ItemInfo          *info,
                                   GError           **error)
{
  const char *resource;
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (self->database,
                           "SELECT collection_id, revision, remote_id, mime_type, "
                           "  coalesce (remote_collection_id, 0) "
                           "FROM items WHERE id = ?",
                           CAIRN_BINDS (_cairn_bind_int (id)), error);

  if (!_cairn_database_step_found (self->database, stmt, error,
                                   "No item with id %" G_GUINT64_FORMAT, id))
    return FALSE;

  info->collection_id = sqlite3_column_int64 (stmt, 0);
  info->revision = sqlite3_column_int64 (stmt, 1);
  info->remote_id = _cairn_column_dup (stmt, 2);
  info->mime_type = _cairn_column_dup (stmt, 3);
  info->remote_collection_id = sqlite3_column_int64 (stmt, 4);
  resource = _cairn_transaction_item_resource (self, info->collection_id, error);
  info->resource = g_strdup (resource);

  return resource != NULL;
}

/* Logs a change of the item @info describes, filling in what @entry
 * leaves out: its collection, resource, remote id and MIME type. */
gboolean
_cairn_transaction_log_item (CairnTransaction  *self,
                             const ItemInfo    *info,
                             LogEntry          *entry,
                             GError           **error)
{
  entry->kind = CAIRN_ENTITY_ITEM;
  entry->resource = info->resource;
  if (entry->collection_id == 0)
    entry->collection_id = info->collection_id;
  if (entry->remote_id == NULL)
    entry->remote_id = info->remote_id;
  if (entry->mime_type == NULL)
    entry->mime_type = info->mime_type;

  return _cairn_transaction_log (self, entry, error);
}

static char *
part_names (CairnItem *item,
            GPtrArray *extra)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (item->parts->len + 1, NULL, TRUE);

  for (guint i = 0; i < item->parts->len; i++)
    g_ptr_array_add (names, ((CairnPart *) g_ptr_array_index (item->parts, i))->name);
  for (guint i = 0; extra != NULL && i < extra->len; i++)
    g_ptr_array_add (names, g_ptr_array_index (extra, i));

  return _cairn_words_join ((const char * const *) names->pdata);
}

static gboolean
check_item_columns (CairnItem  *item,
                    GError    **error)
{
  return _cairn_transaction_check_word ("MIME type", item->mime_type, error);
}

/* Parts */

/* Writes @prefix and then the rest of @stream to a new payload file,
 * which goes again if the transaction rolls back. */
static char *
write_payload_file (CairnTransaction  *self,
                    const guint8      *prefix,
                    gsize              prefix_length,
                    GInputStream      *stream,
                    goffset           *size,
                    GBytes           **digest,
                    GError           **error)
{
  g_autofree char *path = NULL;
  char *name = _cairn_payload_file_write (self->payload_dir, prefix, prefix_length, stream, size,
                                          digest, &path, error);

  if (path != NULL)
    {
      g_hash_table_add (self->dirty_dirs, g_strdup (self->payload_dir));
      g_hash_table_add (self->dirty_dirs, g_path_get_dirname (path));
      g_ptr_array_add (self->created_files, g_steal_pointer (&path));
    }

  return name;
}

/* The stored part's external file name, if it has one. */
static gboolean
stored_external_path (CairnTransaction  *self,
                      guint64            item_id,
                      const char        *name,
                      char             **path,
                      GError           **error)
{
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (self->database,
                           "SELECT path FROM parts WHERE item_id = ? AND name = ? AND storage = 1",
                           CAIRN_BINDS (_cairn_bind_int (item_id), _cairn_bind_text (name)), error);
  int rc = _cairn_database_step_row (self->database, stmt, error);
  if (rc < 0)
    return FALSE;
  *path = rc == SQLITE_ROW ? _cairn_column_dup (stmt, 0) : NULL;

  return TRUE;
}

static GInputStream *
open_part_source (CairnPart  *part,
                  GError    **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  GFileInputStream *stream;

  if (part->stream != NULL)
    return g_object_ref (part->stream);

  file = g_file_new_for_path (part->path);
  stream = g_file_read (file, NULL, &local_error);
  if (stream == NULL)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                   "Cannot read the payload of part %s: %s", part->name, local_error->message);
      return NULL;
    }

  return G_INPUT_STREAM (stream);
}

/* Stores one part of @item_id. Payloads up to the inline threshold go into
 * the row, larger ones into a payload file. */
static gboolean
store_part (CairnTransaction  *self,
            guint64            item_id,
            CairnPart         *part,
            gboolean           replace,
            GError           **error)
{
  gsize threshold = cairn_store_get_inline_threshold (self->store);
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GBytes) digest = NULL;
  g_autofree char *old_path = NULL;
  g_autofree char *path = NULL;
  CairnPartStorage storage = part->storage;
  goffset size = part->size;

  if (!_cairn_transaction_check_word ("part name", part->name, error))
    return FALSE;
  if (replace && !stored_external_path (self, item_id, part->name, &old_path, error))
    return FALSE;

  switch (part->storage)
    {
    case CAIRN_PART_STORAGE_EXTERNAL:
      {
        g_autoptr(GInputStream) stream = NULL;
        g_autofree guint8 *head = NULL;
        gsize head_length = 0;

        /* An external part read from this very item is already stored. */
        if (part->stream == NULL && old_path != NULL)
          {
            g_autofree char *stored = _cairn_payload_path (self->payload_dir, old_path);

            if (g_strcmp0 (stored, part->path) == 0)
              return TRUE;
          }

        stream = open_part_source (part, error);
        if (stream == NULL)
          return FALSE;

        head = g_malloc (threshold + 1);
        if (!g_input_stream_read_all (stream, head, threshold + 1, &head_length, NULL, NULL))
          {
            g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                         "Cannot read the payload of part %s", part->name);
            return FALSE;
          }

        if (head_length <= threshold)
          {
            storage = CAIRN_PART_STORAGE_INLINE;
            size = head_length;
            data = g_bytes_new_take (g_steal_pointer (&head), head_length);
          }
        else
          {
            path = write_payload_file (self, head, head_length, stream, &size, &digest, error);
            if (path == NULL)
              return FALSE;
          }
        break;
      }
    case CAIRN_PART_STORAGE_INLINE:
      if (part->data == NULL)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                       "The inline part %s carries no data", part->name);
          return FALSE;
        }
      if (g_bytes_get_size (part->data) > threshold)
        {
          gsize length;
          const guint8 *bytes = g_bytes_get_data (part->data, &length);

          storage = CAIRN_PART_STORAGE_EXTERNAL;
          path = write_payload_file (self, bytes, length, NULL, &size, &digest, error);
          if (path == NULL)
            return FALSE;
        }
      else
        data = g_bytes_ref (part->data);
      break;
    case CAIRN_PART_STORAGE_FOREIGN:
      path = g_strdup (part->path);
      break;
    case CAIRN_PART_STORAGE_MISSING:
    default:
      break;
    }

  if (!_cairn_database_run (self->database,
                            replace
                            ? "INSERT INTO parts (item_id, name, storage, size, data, path, "
                              "  checksum) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, name) DO "
                              "UPDATE SET storage = excluded.storage, size = excluded.size, "
                              "data = excluded.data, path = excluded.path, "
                              "checksum = excluded.checksum"
                            : "INSERT INTO parts (item_id, name, storage, size, data, path, "
                              "  checksum) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            CAIRN_BINDS (_cairn_bind_int (item_id), _cairn_bind_text (part->name),
                                         _cairn_bind_int (storage), _cairn_bind_int (MAX (size, 0)),
                                         _cairn_bind_bytes (data), _cairn_bind_text (path),
                                         _cairn_bind_bytes (digest)),
                            error))
    return FALSE;

  if (old_path != NULL)
    g_ptr_array_add (self->replaced_files, _cairn_payload_path (self->payload_dir, old_path));

  return TRUE;
}

/* Items */

/**
 * cairn_transaction_create_item:
 * @self: a #CairnTransaction
 * @item: the item to create, with its collection id, columns, flags, parts
 *   and attributes; its id and revision are set
 * @error: return location for an error
 *
 * Creates an item. Parts made from streams are read now; payloads above
 * the store's inline threshold are written to files beside the database
 * and fsynced before the commit.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_NOT_FOUND for
 *   an unknown collection, %CAIRN_STORE_ERROR_EXISTS for a remote id the
 *   collection already has, %CAIRN_STORE_ERROR_INVALID for a virtual
 *   collection or an invalid MIME type
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_create_item (CairnTransaction  *self,
                               CairnItem         *item,
                               GError           **error)
{
  g_autofree char *parts = NULL;
  const char *resource;
  guint64 id;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_ITEM (item), FALSE);

  if (!_cairn_transaction_check_ready (self, error) || !check_item_columns (item, error))
    return FALSE;

  resource = _cairn_transaction_item_resource (self, item->collection_id, error);
  if (resource == NULL || !_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_transaction_allocate_id (self, CAIRN_ENTITY_ITEM, &id, error))
    return FALSE;

  if (!_cairn_database_run (self->database,
                            "INSERT INTO items (collection_id, mime_type, size, remote_id, "
                            "  remote_revision, gid, revision, id, date) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            CAIRN_BINDS (_cairn_bind_int (item->collection_id),
                                         _cairn_bind_text (item->mime_type),
                                         _cairn_bind_int (item->size),
                                         _cairn_bind_text (item->remote_id),
                                         _cairn_bind_text (item->remote_revision),
                                         _cairn_bind_text (item->gid),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id),
                                         _cairn_bind_date (item->date)),
                            error))
    {
      _cairn_transaction_prefix_error (self, error,
                                       "the collection has an item with this remote id",
                                       "Cannot create item %s in collection %" G_GUINT64_FORMAT,
                                       item->remote_id ? item->remote_id : "", item->collection_id);
      return FALSE;
    }

  for (guint i = 0; i < item->parts->len; i++)
    if (!store_part (self, id, g_ptr_array_index (item->parts, i), FALSE, error))
      return FALSE;

  for (guint i = 0; i < cairn_flags_get_size (item->flags); i++)
    {
      const char *flag = cairn_flags_get_flag (item->flags, i);

      if (!_cairn_database_run (self->database,
                                "INSERT INTO item_flags (item_id, flag) VALUES (?, ?)",
                                CAIRN_BINDS (_cairn_bind_int (id), _cairn_bind_text (flag)), error))
        return FALSE;
    }

  if (!_cairn_transaction_store_attributes (self, item->attributes, id, CAIRN_ITEM_ATTRIBUTE_UPSERT,
                                            CAIRN_ITEM_ATTRIBUTE_DELETE, NULL, error))
    return FALSE;

  parts = part_names (item, NULL);
  if (!_cairn_transaction_log (self, &(LogEntry) {
                                 .operation = CAIRN_CHANGE_ADD,
                                 .kind = CAIRN_ENTITY_ITEM,
                                 .entity_id = id,
                                 .collection_id = item->collection_id,
                                 .resource = resource,
                                 .remote_id = item->remote_id,
                                 .mime_type = item->mime_type,
                                 .parts = parts,
                               }, error))
    return FALSE;

  cairn_item_set_id (item, id);
  _cairn_item_set_revision (item, self->revision);

  return TRUE;
}

/**
 * cairn_transaction_modify_item:
 * @self: a #CairnTransaction
 * @item: the item with its id, its new MIME type, size, remote id, remote
 *   revision and GID, and the parts and attributes to write (attributes set
 *   to %NULL are removed; a missing part drops the stored payload); its
 *   revision is updated. Its remote id is written only if it was set with
 *   cairn_item_set_remote_id(): one it was read with may be stale, since
 *   its resource names an item anew when it replays a move.
 * @unchanged_since: fail with %CAIRN_STORE_ERROR_CONFLICT if the item
 *   changed after this revision; 0 for no condition
 * @error: return location for an error
 *
 * Writes the item's columns and the parts and attributes it carries;
 * parts it does not carry stay as they are. Flags change through
 * cairn_transaction_change_flags() only, the collection through
 * cairn_transaction_move_item(). The change log entry names the parts and
 * attributes (`ATR:name`) written.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_modify_item (CairnTransaction  *self,
                               CairnItem         *item,
                               guint64            unchanged_since,
                               GError           **error)
{
  g_auto(ItemInfo) info = { 0 };
  g_autoptr(GPtrArray) attributes = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *parts = NULL;
  const char *remote_id;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_ITEM (item), FALSE);

  if (!_cairn_transaction_check_ready (self, error) || !check_item_columns (item, error) ||
      !_cairn_transaction_load_item_info (self, item->id, &info, error) ||
      !_cairn_transaction_check_unchanged ("item", item->id, info.revision, unchanged_since,
                                           error) ||
      !_cairn_transaction_ensure_revision (self, error))
    return FALSE;

  remote_id = item->remote_id_set ? item->remote_id : info.remote_id;
  /* A remote id set names the item where it is. */
  if (!_cairn_database_run (self->database,
                            "UPDATE items SET mime_type = ?, size = ?, remote_id = ?, "
                            "  remote_collection_id = CASE WHEN ? THEN NULL "
                            "    ELSE remote_collection_id END, "
                            "  remote_revision = ?, gid = ?, date = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_text (item->mime_type),
                                         _cairn_bind_int (item->size),
                                         _cairn_bind_text (remote_id),
                                         _cairn_bind_int (item->remote_id_set),
                                         _cairn_bind_text (item->remote_revision),
                                         _cairn_bind_text (item->gid),
                                         _cairn_bind_date (item->date),
                                         _cairn_bind_int (self->revision),
                                         _cairn_bind_int (item->id)),
                            error))
    {
      _cairn_transaction_prefix_error (self, error,
                                       "the collection has another item with this remote id",
                                       "Cannot modify item %" G_GUINT64_FORMAT, item->id);
      return FALSE;
    }

  for (guint i = 0; i < item->parts->len; i++)
    if (!store_part (self, item->id, g_ptr_array_index (item->parts, i), TRUE, error))
      return FALSE;

  if (!_cairn_transaction_store_attributes (self, item->attributes, item->id,
                                            CAIRN_ITEM_ATTRIBUTE_UPSERT,
                                            CAIRN_ITEM_ATTRIBUTE_DELETE, attributes, error))
    return FALSE;

  parts = part_names (item, attributes);
  /* The remote id written, even none, not the one it had. */
  if (!_cairn_transaction_log (self, &(LogEntry) {
                                 .operation = CAIRN_CHANGE_MODIFY,
                                 .kind = CAIRN_ENTITY_ITEM,
                                 .entity_id = item->id,
                                 .collection_id = info.collection_id,
                                 .resource = info.resource,
                                 .remote_id = remote_id,
                                 .mime_type = item->mime_type,
                                 .parts = parts,
                               }, error))
    return FALSE;

  item->collection_id = info.collection_id;
  if (!item->remote_id_set && g_strcmp0 (item->remote_id, remote_id) != 0)
    {
      g_free (item->remote_id);
      item->remote_id = g_strdup (remote_id);
    }
  _cairn_item_set_revision (item, self->revision);

  return TRUE;
}

/**
 * cairn_transaction_store_part:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @part: the part to write, replacing the stored part of its name
 * @unchanged_since: fail with %CAIRN_STORE_ERROR_CONFLICT if the item
 *   changed after this revision; 0 for no condition
 * @error: return location for an error
 *
 * Writes one part of an item and nothing else of it, as a resource does
 * with a payload it fetched (a body its cache policy wants): cheaper than
 * cairn_transaction_modify_item(), which writes every column too. The
 * change log entry is a modification naming the part.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_store_part (CairnTransaction  *self,
                              guint64            item_id,
                              CairnPart         *part,
                              guint64            unchanged_since,
                              GError           **error)
{
  g_auto(ItemInfo) info = { 0 };

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (part != NULL, FALSE);

  return _cairn_transaction_check_ready (self, error) &&
         _cairn_transaction_load_item_info (self, item_id, &info, error) &&
         _cairn_transaction_check_unchanged ("item", item_id, info.revision, unchanged_since,
                                             error) &&
         _cairn_transaction_ensure_revision (self, error) &&
         _cairn_database_run (self->database, "UPDATE items SET revision = ? WHERE id = ?",
                              CAIRN_BINDS (_cairn_bind_int (self->revision),
                                           _cairn_bind_int (item_id)),
                              error) &&
         store_part (self, item_id, part, TRUE, error) &&
         _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = CAIRN_CHANGE_MODIFY,
                                        .entity_id = item_id,
                                        .parts = part->name,
                                      }, error);
}

/* Applies one side of a delta and returns the flags that really changed. */
static gboolean
apply_flags (CairnTransaction  *self,
             guint64            item_id,
             const CairnFlags  *flags,
             const char        *sql,
             GPtrArray         *effective,
             GError           **error)
{
  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    {
      const char *flag = cairn_flags_get_flag (flags, i);

      if (!_cairn_database_run (self->database, sql,
                                CAIRN_BINDS (_cairn_bind_int (item_id), _cairn_bind_text (flag)),
                                error))
        return FALSE;
      if (sqlite3_changes (self->database->db) > 0)
        g_ptr_array_add (effective, (gpointer) flag);
    }

  return TRUE;
}

/**
 * cairn_transaction_change_flags:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @delta: the flags to add and to remove
 * @unchanged_since: fail with %CAIRN_STORE_ERROR_CONFLICT if the item
 *   changed after this revision; 0 for no condition
 * @error: return location for an error
 *
 * Changes an item's flags by a delta, so that concurrent changes of other
 * flags survive. Only the effective change is logged: adding a flag the
 * item has, or removing one it has not, changes nothing and logs nothing.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_change_flags (CairnTransaction       *self,
                                guint64                 item_id,
                                const CairnFlagsDelta  *delta,
                                guint64                 unchanged_since,
                                GError                **error)
{
  g_auto(ItemInfo) info = { 0 };
  g_autoptr(GPtrArray) added = g_ptr_array_new_null_terminated (2, NULL, TRUE);
  g_autoptr(GPtrArray) removed = g_ptr_array_new_null_terminated (2, NULL, TRUE);
  g_autofree char *added_words = NULL;
  g_autofree char *removed_words = NULL;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (delta != NULL, FALSE);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_load_item_info (self, item_id, &info, error) ||
      !_cairn_transaction_check_unchanged ("item", item_id, info.revision, unchanged_since,
                                           error) ||
      !apply_flags (self, item_id, cairn_flags_delta_get_added (delta),
                    "INSERT OR IGNORE INTO item_flags (item_id, flag) VALUES (?, ?)",
                    added, error) ||
      !apply_flags (self, item_id, cairn_flags_delta_get_removed (delta),
                    "DELETE FROM item_flags WHERE item_id = ? AND flag = ?",
                    removed, error))
    return FALSE;

  if (added->len == 0 && removed->len == 0)
    return TRUE;

  if (!_cairn_transaction_ensure_revision (self, error) ||
      !_cairn_database_run (self->database, "UPDATE items SET revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (self->revision),
                                         _cairn_bind_int (item_id)),
                            error))
    return FALSE;

  added_words = _cairn_words_join ((const char * const *) added->pdata);
  removed_words = _cairn_words_join ((const char * const *) removed->pdata);
  return _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = CAIRN_CHANGE_FLAGS,
                                        .entity_id = item_id,
                                        .flags_added = added_words,
                                        .flags_removed = removed_words,
                                      }, error);
}

/* The item of a collection that has a remote id, and the collection in
 * which that name names it in the backend. */
typedef struct
{
  guint64 id;
  guint64 remote_collection_id;
} Holder;

static gboolean
take_holder (CairnStatement  *row,
             gpointer         user_data,
             GError         **error)
{
  Holder *holder = user_data;

  holder->id = (guint64) sqlite3_column_int64 (row, 0);
  holder->remote_collection_id = (guint64) sqlite3_column_int64 (row, 1);
  return TRUE;
}

/* The item of @collection_id other than @item_id that has @remote_id;
 * its id is 0 if there is none. */
static gboolean
remote_id_holder (CairnTransaction  *self,
                  guint64            collection_id,
                  const char        *remote_id,
                  guint64            item_id,
                  Holder            *holder,
                  GError           **error)
{
  CairnStatement *query =
    _cairn_database_query (self->database,
                           "SELECT id, coalesce (remote_collection_id, collection_id) FROM items "
                           "WHERE collection_id = ? AND remote_id = ? AND id != ?",
                           CAIRN_BINDS (_cairn_bind_int (collection_id),
                                        _cairn_bind_text (remote_id), _cairn_bind_int (item_id)),
                           error);

  *holder = (Holder) { 0 };
  return _cairn_database_foreach (self->database, query, take_holder, holder, error);
}

typedef struct
{
  guint64 collection_id;
  char *remote_id;
} LeftBehind;

static gboolean
take_left_behind (CairnStatement  *row,
                  gpointer         user_data,
                  GError         **error)
{
  LeftBehind *left = user_data;

  if ((guint64) sqlite3_column_int64 (row, 1) == left->collection_id)
    left->remote_id = _cairn_column_dup (row, 0);
  return TRUE;
}

/* The remote id an item without one had before a move into a collection
 * holding it took it away, if that move left @collection_id: the item is
 * coming back, and its resource may never replay either move, since
 * pending moves that end where they began are never delivered. Only items
 * without a remote id look: the change log has no index by entity. */
static gboolean
remote_id_left_behind (CairnTransaction  *self,
                       guint64            item_id,
                       guint64            collection_id,
                       char             **remote_id,
                       GError           **error)
{
  LeftBehind left = { collection_id, NULL };
  CairnStatement *query =
    _cairn_database_query (self->database,
                           "SELECT remote_id, collection_id FROM change_log "
                           "WHERE entity_kind = ?1 AND entity_id = ?2 AND operation = ?3 "
                           "  AND remote_id IS NOT NULL "
                           "ORDER BY revision DESC, seq DESC LIMIT 1",
                           CAIRN_BINDS (_cairn_bind_int (CAIRN_ENTITY_ITEM),
                                        _cairn_bind_int (item_id),
                                        _cairn_bind_int (CAIRN_CHANGE_MOVE)),
                           error);

  if (!_cairn_database_foreach (self->database, query, take_left_behind, &left, error))
    {
      g_free (left.remote_id);
      return FALSE;
    }
  *remote_id = left.remote_id;
  return TRUE;
}

/* The remote id item @info takes in @collection_id: its own, unless
 * another item there has it; none then (see cairn_transaction_move_item()).
 * *@remote_collection_id is where that name, or the one it keeps none of,
 * names the item in the backend (0: @collection_id, or unknown). */
static gboolean
moved_remote_id (CairnTransaction  *self,
                 guint64            item_id,
                 const ItemInfo    *info,
                 guint64            collection_id,
                 char             **remote_id,
                 guint64           *remote_collection_id,
                 GError           **error)
{
  g_autofree char *candidate = g_strdup (info->remote_id);
  guint64 home = info->remote_collection_id;
  Holder holder = { 0 };

  if (candidate != NULL && home == 0)
    home = info->collection_id;
  *remote_id = NULL;
  *remote_collection_id = home;
  if (candidate == NULL &&
      !remote_id_left_behind (self, item_id, collection_id, &candidate, error))
    return FALSE;
  if (candidate == NULL)
    return TRUE;
  if (!remote_id_holder (self, collection_id, candidate, item_id, &holder, error))
    return FALSE;
  /* The name is the item's own here, while the holder carried it in from
   * another collection and its move is not replayed: the backend has
   * them so. The holder lets it go, knowing where it is its own; its
   * move's change keeps it. */
  if (holder.id != 0 && home == collection_id && holder.remote_collection_id != collection_id)
    {
      if (!_cairn_database_run (self->database, "UPDATE items SET remote_id = NULL WHERE id = ?",
                                CAIRN_BINDS (_cairn_bind_int (holder.id)), error))
        return FALSE;
      holder.id = 0;
    }
  if (holder.id != 0)
    return TRUE;
  *remote_id = g_steal_pointer (&candidate);
  *remote_collection_id = home == collection_id ? 0 : home;
  return TRUE;
}

/**
 * cairn_transaction_move_item:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @collection_id: the destination collection
 * @error: return location for an error
 *
 * Moves an item into another collection, keeping its remote id until its
 * resource replays the move.
 *
 * If the destination holds another item with the same remote id (a
 * backend may keep a copy of a message under the same name in another
 * folder), the moved item is stored there without a remote id; the change
 * log entry of the move keeps the old one, so that the resource replaying
 * the move finds the item where it was, and names the one it has now in
 * cairn_resource_change_replayed(). An item moved back before that replay
 * takes its old remote id again, also from an item that carried the same
 * one in from another collection and whose move is not replayed yet.
 *
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_INVALID for a
 *   virtual destination
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_move_item (CairnTransaction  *self,
                             guint64            item_id,
                             guint64            collection_id,
                             GError           **error)
{
  g_auto(ItemInfo) info = { 0 };
  g_autofree char *remote_id = NULL;
  guint64 remote_collection_id = 0;

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_load_item_info (self, item_id, &info, error) ||
      _cairn_transaction_item_resource (self, collection_id, error) == NULL)
    return FALSE;
  if (info.collection_id == collection_id)
    return TRUE;

  if (!moved_remote_id (self, item_id, &info, collection_id, &remote_id, &remote_collection_id,
                        error) ||
      !_cairn_transaction_ensure_revision (self, error))
    return FALSE;
  if (!_cairn_database_run (self->database,
                            "UPDATE items SET collection_id = ?, revision = ?, remote_id = ?, "
                            "  remote_collection_id = nullif (?, 0) "
                            "WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (collection_id),
                                         _cairn_bind_int (self->revision),
                                         _cairn_bind_text (remote_id),
                                         _cairn_bind_int (remote_collection_id),
                                         _cairn_bind_int (item_id)),
                            error))
    {
      g_prefix_error (error, "Cannot move item %" G_GUINT64_FORMAT " to collection %"
                      G_GUINT64_FORMAT ": ", item_id, collection_id);
      return FALSE;
    }

  return _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = CAIRN_CHANGE_MOVE,
                                        .entity_id = item_id,
                                        .destination_id = collection_id,
                                        .remote_id = info.remote_id != NULL ? info.remote_id
                                                                            : remote_id,
                                      }, error);
}

/**
 * cairn_transaction_delete_item:
 * @self: a #CairnTransaction
 * @item_id: the item
 * @error: return location for an error
 *
 * Deletes an item with its parts, flags, attributes, tags, relations and
 * links. Its payload files are removed after the commit.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_transaction_delete_item (CairnTransaction  *self,
                               guint64            item_id,
                               GError           **error)
{
  g_auto(ItemInfo) info = { 0 };

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_load_item_info (self, item_id, &info, error) ||
      !_cairn_transaction_drop_payloads (self,
                                         "SELECT path FROM parts WHERE item_id = ? AND storage = 1",
                                         item_id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM items WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (item_id)), error))
    return FALSE;

  return _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = CAIRN_CHANGE_REMOVE,
                                        .entity_id = item_id,
                                      }, error);
}

static gboolean
add_flag (CairnStatement  *row,
          gpointer         flags,
          GError         **error)
{
  cairn_flags_add (flags, (const char *) sqlite3_column_text (row, 0));
  return TRUE;
}

/* Gives @item_id exactly the flags @wanted, through the delta from its
 * current ones, so that only real differences are logged. */
gboolean
_cairn_transaction_set_flags (CairnTransaction  *self,
                              guint64            item_id,
                              const CairnFlags  *wanted,
                              GError           **error)
{
  g_autoptr(CairnFlags) current = cairn_flags_new ();
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
  CairnStatement *stmt;

  stmt = _cairn_database_query (self->database, "SELECT flag FROM item_flags WHERE item_id = ?",
                                CAIRN_BINDS (_cairn_bind_int (item_id)), error);
  if (!_cairn_database_foreach (self->database, stmt, add_flag, current, error))
    return FALSE;

  for (guint i = 0; i < cairn_flags_get_size (wanted); i++)
    if (!cairn_flags_contains (current, cairn_flags_get_flag (wanted, i)))
      cairn_flags_delta_add (delta, cairn_flags_get_flag (wanted, i));
  for (guint i = 0; i < cairn_flags_get_size (current); i++)
    if (!cairn_flags_contains (wanted, cairn_flags_get_flag (current, i)))
      cairn_flags_delta_remove (delta, cairn_flags_get_flag (current, i));

  return cairn_flags_delta_is_empty (delta) ||
         cairn_transaction_change_flags (self, item_id, delta, 0, error);
}

/* Records the remote id (when not %NULL) and remote revision a resource's
 * backend gave an item or collection after replaying a change to it. */
gboolean
_cairn_transaction_set_remote_ids (CairnTransaction  *self,
                                   CairnEntityKind    kind,
                                   guint64            id,
                                   guint64            collection_id,
                                   const char        *remote_id,
                                   const char        *remote_revision,
                                   GError           **error)
{
  g_auto(ItemInfo) info = { 0 };
  Holder holder = { 0 };

  if (kind == CAIRN_ENTITY_COLLECTION)
    {
      g_autoptr(CairnCollection) collection = _cairn_collection_load (self->database, id, error);

      if (collection == NULL)
        return FALSE;
      if (remote_id != NULL)
        cairn_collection_set_remote_id (collection, remote_id);
      cairn_collection_set_remote_revision (collection, remote_revision);
      return cairn_transaction_modify_collection (self, collection, 0, error);
    }

  g_return_val_if_fail (kind == CAIRN_ENTITY_ITEM, FALSE);

  if (!_cairn_transaction_check_ready (self, error) ||
      !_cairn_transaction_load_item_info (self, id, &info, error) ||
      !_cairn_transaction_ensure_revision (self, error))
    return FALSE;
  /* Item ids are unique per collection, and an item moved into one keeps
   * its old folder's remote id until its resource replays the move
   * (cairn_transaction_move_item()). A backend that names items per folder
   * (IMAP UIDs) may meanwhile give that name to another item. Named in
   * the collection it is in (@collection_id), the item takes the name
   * from such a holder, which is left without one as a move onto a taken
   * name leaves it (its move's change keeps the old one for the replay);
   * named in a collection it has left since, it keeps no name that an
   * item of its collection has. */
  if (remote_id != NULL && info.collection_id == collection_id &&
      !_cairn_database_run (self->database,
                            "UPDATE items SET remote_id = NULL "
                            "WHERE collection_id = ? AND remote_id = ? AND id != ?",
                            CAIRN_BINDS (_cairn_bind_int (info.collection_id),
                                         _cairn_bind_text (remote_id), _cairn_bind_int (id)),
                            error))
    return FALSE;
  if (remote_id != NULL && info.collection_id != collection_id &&
      !remote_id_holder (self, info.collection_id, remote_id, id, &holder, error))
    return FALSE;
  /* The new name names the item in @collection_id, be it one it has left
   * (and the name taken where it is). */
  if (!_cairn_database_run (self->database,
                            "UPDATE items SET "
                            "  remote_id = CASE WHEN ?1 THEN NULL ELSE coalesce (?2, remote_id) END, "
                            "  remote_collection_id = CASE WHEN ?2 IS NULL THEN remote_collection_id "
                            "    ELSE nullif (?3, collection_id) END, "
                            "  remote_revision = ?4, revision = ?5 WHERE id = ?6",
                            CAIRN_BINDS (_cairn_bind_int (holder.id != 0),
                                         _cairn_bind_text (remote_id),
                                         _cairn_bind_int (collection_id),
                                         _cairn_bind_text (remote_revision),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id)),
                            error))
    {
      _cairn_transaction_prefix_error (self, error,
                                       "the collection has another item with this remote id",
                                       "Cannot set the remote id of item %" G_GUINT64_FORMAT, id);
      return FALSE;
    }

  return _cairn_transaction_log_item (self, &info, &(LogEntry) {
                                        .operation = CAIRN_CHANGE_MODIFY,
                                        .entity_id = id,
                                        .remote_id = remote_id,
                                      }, error);
}

/* Sets the GID a replay gave item @id, without a change of its own: the
 * backend's name of what the item already is. An item removed since has
 * no row left to set. */
gboolean
_cairn_transaction_set_gid (CairnTransaction  *self,
                            guint64            id,
                            const char        *gid,
                            GError           **error)
{
  return _cairn_transaction_check_ready (self, error) &&
         _cairn_database_run (self->database, "UPDATE items SET gid = ? WHERE id = ?",
                              CAIRN_BINDS (_cairn_bind_text (gid), _cairn_bind_int (id)), error);
}

/* Records that a move of item @id into @collection_id was replayed and its
 * backend kept the item's remote id: the id names it there now. Without
 * one, where its old name was is no longer known. */
gboolean
_cairn_transaction_settle_remote_collection (CairnTransaction  *self,
                                             guint64            id,
                                             guint64            collection_id,
                                             GError           **error)
{
  return _cairn_transaction_check_ready (self, error) &&
         _cairn_database_run (self->database,
                              "UPDATE items SET remote_collection_id = CASE "
                              "  WHEN remote_id IS NULL THEN NULL "
                              "  ELSE nullif (?, collection_id) END "
                              "WHERE id = ? AND remote_collection_id IS NOT NULL",
                              CAIRN_BINDS (_cairn_bind_int (collection_id), _cairn_bind_int (id)),
                              error);
}
