/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-collection-private.h"
#include "cairn-item-private.h"
#include "cairn-part-private.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/**
 * CairnTransaction:
 *
 * An open write transaction, handed to a #CairnTransactionFunc by
 * cairn_store_write_sync() or cairn_store_write_async().
 *
 * Each call applies its write at once, so later calls see it, and returns
 * %FALSE with a #CairnStoreError if it cannot; the transaction function
 * then usually returns %FALSE too, and nothing of the transaction is kept.
 * The first call that changes something takes the next store revision;
 * every entity the transaction changes gets that revision, and every
 * change is appended to the change log with it.
 *
 * A transaction object is valid only while its function runs.
 *
 * Since: 0.1
 */

#define COPY_CHUNK_SIZE (64 * 1024)

struct _CairnTransaction
{
  GObject parent_instance;

  CairnStore *store;
  CairnDatabase *database;
  char *origin;
  guint64 revision;
  guint64 seq;

  /* The next item and collection ids to give out; 0 until the first
   * creation of the kind reads them. */
  guint64 next_item_id;
  guint64 next_collection_id;

  /* The collection items were last created in, to spare a lookup per item. */
  guint64 cached_collection_id;
  char *cached_resource;

  GPtrArray *created_files;   /* payload files to remove if the transaction rolls back */
  GPtrArray *replaced_files;  /* payload files to remove once the transaction committed */
  GHashTable *dirty_dirs;     /* folders to fsync before the commit */
};

G_DEFINE_FINAL_TYPE (CairnTransaction, cairn_transaction, G_TYPE_OBJECT)

static void
cairn_transaction_finalize (GObject *object)
{
  CairnTransaction *self = (CairnTransaction *) object;

  g_clear_object (&self->store);
  g_free (self->origin);
  g_free (self->cached_resource);
  g_ptr_array_unref (self->created_files);
  g_ptr_array_unref (self->replaced_files);
  g_hash_table_unref (self->dirty_dirs);

  G_OBJECT_CLASS (cairn_transaction_parent_class)->finalize (object);
}

static void
cairn_transaction_class_init (CairnTransactionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_transaction_finalize;
}

static void
cairn_transaction_init (CairnTransaction *self)
{
  self->created_files = g_ptr_array_new_with_free_func (g_free);
  self->replaced_files = g_ptr_array_new_with_free_func (g_free);
  self->dirty_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

CairnTransaction *
_cairn_transaction_new (CairnStore    *store,
                        CairnDatabase *database)
{
  CairnTransaction *self = g_object_new (CAIRN_TYPE_TRANSACTION, NULL);

  self->store = g_object_ref (store);
  self->database = database;
  self->origin = g_strdup (cairn_store_get_origin (store));

  return self;
}

static gboolean
fsync_path (const char  *path,
            GError     **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  int saved_errno;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }

  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
               "Cannot flush the folder %s: %s", path, g_strerror (saved_errno));
  return FALSE;
}

/* Payload files must be durable before the commit that references them. */
/* Records the highest ids this transaction gave out, so that no later
 * transaction gives them again, even once their entities are deleted. */
static gboolean
save_last_ids (CairnTransaction  *self,
               GError           **error)
{
  if (self->next_item_id == 0 && self->next_collection_id == 0)
    return TRUE;

  return _cairn_database_run (self->database,
                              "UPDATE store_state SET "
                              "  last_item_id = max (last_item_id, ?1), "
                              "  last_collection_id = max (last_collection_id, ?2)",
                              CAIRN_BINDS (_cairn_bind_int (self->next_item_id > 0
                                                            ? self->next_item_id - 1 : 0),
                                           _cairn_bind_int (self->next_collection_id > 0
                                                            ? self->next_collection_id - 1 : 0)),
                              error);
}

gboolean
_cairn_transaction_prepare_commit (CairnTransaction  *self,
                                   GError           **error)
{
  GHashTableIter iter;
  gpointer dir;

  if (!save_last_ids (self, error))
    return FALSE;

  g_hash_table_iter_init (&iter, self->dirty_dirs);
  while (g_hash_table_iter_next (&iter, &dir, NULL))
    if (!fsync_path (dir, error))
      return FALSE;

  return TRUE;
}

void
_cairn_transaction_finish (CairnTransaction *self,
                           gboolean          committed)
{
  GPtrArray *garbage = committed ? self->replaced_files : self->created_files;

  /* A file left here by a crash is collected by cairn_store_collect_garbage(). */
  for (guint i = 0; i < garbage->len; i++)
    if (g_unlink (g_ptr_array_index (garbage, i)) != 0 && errno != ENOENT)
      g_warning ("Cannot remove the payload %s: %s",
                 (const char *) g_ptr_array_index (garbage, i), g_strerror (errno));

  self->database = NULL;
}

/**
 * cairn_transaction_get_revision:
 * @self: a #CairnTransaction
 *
 * Returns: the store revision this transaction writes, or 0 if it has not
 *   changed anything yet
 *
 * Since: 0.1
 */
guint64
cairn_transaction_get_revision (CairnTransaction *self)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), 0);

  return self->revision;
}

/**
 * cairn_transaction_get_origin:
 * @self: a #CairnTransaction
 *
 * Returns: (nullable): the origin recorded with this transaction's changes
 *
 * Since: 0.1
 */
const char *
cairn_transaction_get_origin (CairnTransaction *self)
{
  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), NULL);

  return self->origin;
}

/**
 * cairn_transaction_set_origin:
 * @self: a #CairnTransaction
 * @origin: (nullable): an agent instance id, or %NULL for a client session
 *
 * Overrides the store's #CairnStore:origin for the changes this
 * transaction writes from now on.
 *
 * Since: 0.1
 */
void
cairn_transaction_set_origin (CairnTransaction *self,
                              const char       *origin)
{
  g_return_if_fail (CAIRN_IS_TRANSACTION (self));

  g_free (self->origin);
  self->origin = g_strdup (origin);
}

/* Validation */

static gboolean
check_name (const char  *what,
            const char  *name,
            GError     **error)
{
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID, "The %s is empty", what);
      return FALSE;
    }
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "The %s is not valid UTF-8", what);
      return FALSE;
    }

  return TRUE;
}

/* Resource ids, MIME types, part and attribute names: words the store
 * keeps space-separated in some columns. */
static gboolean
check_word (const char  *what,
            const char  *word,
            GError     **error)
{
  if (!cairn_part_name_is_valid (word))
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "The %s \"%s\" is empty, not UTF-8, or has white space or control characters",
                   what, word ? word : "");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_ready (CairnTransaction  *self,
             GError           **error)
{
  if (self->database == NULL)
    {
      g_set_error_literal (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                           "The transaction has ended");
      return FALSE;
    }

  return TRUE;
}

static char *
join_words (const char * const *words)
{
  return g_strjoinv (" ", (char **) words);
}

/* Ids */

/* Gives out the next id of @kind. store_state keeps the highest id ever
 * given out: SQLite's own choice, max (id) + 1, would give a deleted
 * newest entity's id again. It is read at the first creation of the kind
 * and written back once, before the commit; the write lock makes the
 * transaction the only one giving out ids meanwhile. */
static gboolean
allocate_id (CairnTransaction  *self,
             CairnEntityKind    kind,
             guint64           *id,
             GError           **error)
{
  guint64 *next = kind == CAIRN_ENTITY_ITEM ? &self->next_item_id : &self->next_collection_id;

  if (*next == 0)
    {
      g_autoptr(CairnStatement) stmt =
        _cairn_database_prepare (self->database,
                                 kind == CAIRN_ENTITY_ITEM
                                 ? "SELECT max (last_item_id, "
                                   "  (SELECT coalesce (max (id), 0) FROM items)) FROM store_state"
                                 : "SELECT max (last_collection_id, "
                                   "  (SELECT coalesce (max (id), 0) FROM collections)) "
                                   "FROM store_state",
                                 error);

      if (!_cairn_database_step_found (self->database, stmt, error, "The store has no state"))
        return FALSE;
      *next = sqlite3_column_int64 (stmt, 0) + 1;
    }

  *id = (*next)++;
  return TRUE;
}

/* Revision and change log */

static gboolean
ensure_revision (CairnTransaction  *self,
                 GError           **error)
{
  g_autoptr(CairnStatement) stmt = NULL;

  if (self->revision > 0)
    return TRUE;

  stmt = _cairn_database_prepare (self->database,
                                  "UPDATE store_state SET revision = revision + 1 "
                                  "RETURNING revision",
                                  error);
  if (_cairn_database_step_row (self->database, stmt, error) != SQLITE_ROW)
    return FALSE;

  self->revision = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

typedef struct
{
  CairnChangeOperation operation;
  CairnEntityKind kind;
  guint64 entity_id;
  guint64 collection_id;
  guint64 destination_id;
  guint64 related_id;
  const char *resource;
  const char *remote_id;
  const char *mime_type;
  const char *name;
  const char *parts;
  const char *flags_added;
  const char *flags_removed;
} LogEntry;

static gboolean
log_change (CairnTransaction  *self,
            const LogEntry    *entry,
            GError           **error)
{
  if (!ensure_revision (self, error) ||
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
static gboolean
log_entries (CairnTransaction      *self,
             const char            *sql,
             CairnChangeOperation   operation,
             guint64                id,
             GError               **error)
{
  if (!ensure_revision (self, error) ||
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
static gboolean
log_item_removals (CairnTransaction  *self,
                   guint64            collection_id,
                   GError           **error)
{
  return log_entries (self,
                      "INSERT INTO change_log (revision, seq, operation, entity_kind, "
                      "  entity_id, collection_id, resource, origin, remote_id, mime_type) "
                      "SELECT ?1, ?2 + row_number () OVER (ORDER BY i.id) - 1, ?4, ?5, "
                      "  i.id, i.collection_id, c.resource, ?3, i.remote_id, i.mime_type "
                      "FROM items i JOIN collections c ON c.id = i.collection_id "
                      "WHERE i.collection_id = ?6",
                      CAIRN_CHANGE_REMOVE, collection_id, error);
}

/* Payload files */

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          length,
           GError       **error)
{
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CAIRN_STORE_ERROR,
                       saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG
                       ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                       "Cannot write a payload file: %s", g_strerror (saved_errno));
          return FALSE;
        }
      data += written;
      length -= written;
    }

  return TRUE;
}

static gboolean
copy_stream_to_fd (int            fd,
                   GInputStream  *stream,
                   GChecksum     *checksum,
                   goffset       *size,
                   GError       **error)
{
  g_autofree guint8 *buffer = g_malloc (COPY_CHUNK_SIZE);

  for (;;)
    {
      GError *local_error = NULL;
      gssize n = g_input_stream_read (stream, buffer, COPY_CHUNK_SIZE, NULL, &local_error);

      if (n < 0)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                       "Cannot read a part's payload: %s", local_error->message);
          g_error_free (local_error);
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      if (!write_all (fd, buffer, n, error))
        return FALSE;
      g_checksum_update (checksum, buffer, n);
      *size += n;
    }
}

/* Writes @prefix and then the rest of @stream to a new payload file,
 * fsynced; returns its name relative to the payload folder, with its size
 * and SHA-256 digest, which cairn_store_check_sync() compares with it. */
static char *
write_payload_file (CairnTransaction  *self,
                    const guint8      *prefix,
                    gsize              prefix_length,
                    GInputStream      *stream,
                    goffset           *size,
                    GBytes           **digest,
                    GError           **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest_buffer[CAIRN_PAYLOAD_DIGEST_SIZE];
  gsize digest_length = sizeof digest_buffer;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *bucket = g_strndup (uuid, 2);
  g_autofree char *bucket_path = g_build_filename (self->store->payload_dir, bucket, NULL);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  gboolean ok;
  int fd;

  g_strdelimit (uuid, "-", '0');
  name = g_build_filename (bucket, uuid + 2, NULL);
  path = g_build_filename (self->store->payload_dir, name, NULL);

  if (g_mkdir_with_parents (bucket_path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CAIRN_STORE_ERROR,
                   saved_errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot create the payload folder %s: %s", bucket_path,
                   g_strerror (saved_errno));
      return NULL;
    }

  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CAIRN_STORE_ERROR,
                   saved_errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot create the payload file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  g_ptr_array_add (self->created_files, g_strdup (path));
  g_hash_table_add (self->dirty_dirs, g_strdup (self->store->payload_dir));
  g_hash_table_add (self->dirty_dirs, g_steal_pointer (&bucket_path));

  *size = prefix_length;
  g_checksum_update (checksum, prefix, prefix_length);
  ok = write_all (fd, prefix, prefix_length, error) &&
       (stream == NULL || copy_stream_to_fd (fd, stream, checksum, size, error));
  if (ok && fsync (fd) != 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR,
                   errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot flush the payload file %s: %s", path, g_strerror (errno));
      ok = FALSE;
    }
  close (fd);
  if (!ok)
    return NULL;

  g_checksum_get_digest (checksum, digest_buffer, &digest_length);
  *digest = g_bytes_new (digest_buffer, digest_length);
  return g_steal_pointer (&name);
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

  if (!check_word ("part name", part->name, error))
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
            g_autofree char *stored = _cairn_store_payload_path (self->store, old_path);

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
    g_ptr_array_add (self->replaced_files, _cairn_store_payload_path (self->store, old_path));

  return TRUE;
}

/* Writes an entity's attributes: NULL values remove. Appends "ATR:name"
 * for each to @changed. */
static gboolean
store_attributes (CairnTransaction  *self,
                  GHashTable        *attributes,
                  guint64            id,
                  const char        *upsert_sql,
                  const char        *delete_sql,
                  GPtrArray         *changed,
                  GError           **error)
{
  GHashTableIter iter;
  gpointer name, value;

  if (attributes == NULL)
    return TRUE;

  g_hash_table_iter_init (&iter, attributes);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      if (!check_word ("attribute name", name, error) ||
          !_cairn_database_run (self->database, value ? upsert_sql : delete_sql,
                                CAIRN_BINDS (_cairn_bind_int (id), _cairn_bind_text (name),
                                             _cairn_bind_bytes (value)),
                                error))
        return FALSE;

      if (changed)
        g_ptr_array_add (changed, g_strconcat ("ATR:", (const char *) name, NULL));
    }

  return TRUE;
}

#define ITEM_ATTRIBUTE_UPSERT \
  "INSERT INTO item_attributes (item_id, name, value) VALUES (?, ?, ?) " \
  "ON CONFLICT (item_id, name) DO UPDATE SET value = excluded.value"
#define ITEM_ATTRIBUTE_DELETE "DELETE FROM item_attributes WHERE item_id = ? AND name = ?"
#define COLLECTION_ATTRIBUTE_UPSERT \
  "INSERT INTO collection_attributes (collection_id, name, value) VALUES (?, ?, ?) " \
  "ON CONFLICT (collection_id, name) DO UPDATE SET value = excluded.value"
#define COLLECTION_ATTRIBUTE_DELETE \
  "DELETE FROM collection_attributes WHERE collection_id = ? AND name = ?"

static void
set_constraint_error (CairnTransaction  *self,
                      GError           **error,
                      const char        *exists_message,
                      const char        *format,
                      ...) G_GNUC_PRINTF (4, 5);

/* Turns a failed insert into a message that names what collided. */
static void
set_constraint_error (CairnTransaction  *self,
                      GError           **error,
                      const char        *exists_message,
                      const char        *format,
                      ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (error != NULL && *error != NULL &&
      g_error_matches (*error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXISTS))
    {
      g_clear_error (error);
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXISTS, "%s: %s", what,
                   exists_message);
    }
  else
    g_prefix_error (error, "%s: ", what);
}

/* Collections */

static void
forget_cached_collection (CairnTransaction *self)
{
  self->cached_collection_id = 0;
  g_clear_pointer (&self->cached_resource, g_free);
}

static CairnCollection *
load_collection (CairnTransaction  *self,
                 guint64            id,
                 GError           **error)
{
  return _cairn_store_load_collection (self->database, id, error);
}

static gboolean
check_unchanged (const char  *what,
                 guint64      id,
                 guint64      revision,
                 guint64      unchanged_since,
                 GError     **error)
{
  if (unchanged_since > 0 && revision > unchanged_since)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT,
                   "The %s %" G_GUINT64_FORMAT " changed in revision %" G_GUINT64_FORMAT
                   ", after revision %" G_GUINT64_FORMAT, what, id, revision, unchanged_since);
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_mime_types (const char * const  *mime_types,
                  GError             **error)
{
  for (guint i = 0; mime_types[i] != NULL; i++)
    if (!check_word ("MIME type", mime_types[i], error))
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
  g_autofree char *mime_types = join_words ((const char * const *) collection->content_mime_types);
  g_autofree char *local_parts = join_words (cairn_cache_policy_get_local_parts (policy));
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
      set_constraint_error (self, error, "another collection of the resource has this remote id",
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

  if (!check_ready (self, error) ||
      !check_name ("collection name", collection->name, error) ||
      !check_mime_types ((const char * const *) collection->content_mime_types, error))
    return FALSE;

  if (collection->parent_id != 0)
    {
      g_autoptr(CairnCollection) parent = load_collection (self, collection->parent_id, error);

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
  else if (!check_word ("resource id", collection->resource, error))
    return FALSE;

  if (!ensure_revision (self, error) ||
      !allocate_id (self, CAIRN_ENTITY_COLLECTION, &id, error))
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

  if (!store_attributes (self, collection->attributes, collection->id,
                         COLLECTION_ATTRIBUTE_UPSERT, COLLECTION_ATTRIBUTE_DELETE, NULL, error))
    return FALSE;

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_ADD,
                       .kind = CAIRN_ENTITY_COLLECTION,
                       .entity_id = collection->id,
                       .collection_id = collection->parent_id,
                       .resource = collection->resource,
                       .remote_id = collection->remote_id,
                       .name = collection->name,
                     }, error);
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

  if (!check_ready (self, error) ||
      !check_name ("collection name", collection->name, error) ||
      !check_mime_types ((const char * const *) collection->content_mime_types, error))
    return FALSE;

  stored = load_collection (self, collection->id, error);
  if (stored == NULL ||
      !check_unchanged ("collection", stored->id, stored->revision, unchanged_since, error))
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

  if (!store_attributes (self, collection->attributes, collection->id,
                         COLLECTION_ATTRIBUTE_UPSERT, COLLECTION_ATTRIBUTE_DELETE, changed, error))
    return FALSE;
  if (changed->len == 0)
    return TRUE;

  if (!ensure_revision (self, error) ||
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

  parts = join_words ((const char * const *) changed->pdata);
  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_MODIFY,
                       .kind = CAIRN_ENTITY_COLLECTION,
                       .entity_id = collection->id,
                       .collection_id = collection->parent_id,
                       .resource = collection->resource,
                       .remote_id = collection->remote_id,
                       .name = collection->name,
                       .parts = parts,
                     }, error);
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

  if (!check_ready (self, error))
    return FALSE;

  collection = load_collection (self, id, error);
  if (collection == NULL)
    return FALSE;
  if (collection->parent_id == parent_id)
    return TRUE;

  if (parent_id != 0)
    {
      g_autoptr(CairnCollection) parent = load_collection (self, parent_id, error);

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

  if (!ensure_revision (self, error) ||
      !_cairn_database_run (self->database,
                            "UPDATE collections SET parent_id = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_id (parent_id),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id)),
                            error))
    return FALSE;

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_MOVE,
                       .kind = CAIRN_ENTITY_COLLECTION,
                       .entity_id = id,
                       .collection_id = collection->parent_id,
                       .destination_id = parent_id,
                       .resource = collection->resource,
                       .remote_id = collection->remote_id,
                       .name = collection->name,
                     }, error);
}

static gboolean
add_replaced_file (CairnStatement  *row,
                   gpointer         user_data,
                   GError         **error)
{
  CairnTransaction *self = user_data;

  g_ptr_array_add (self->replaced_files,
                   _cairn_store_payload_path (self->store,
                                              (const char *) sqlite3_column_text (row, 0)));
  return TRUE;
}

/* Marks the payload files @sql finds for @id to go once committed. */
static gboolean
collect_external_paths (CairnTransaction  *self,
                        const char        *sql,
                        guint64            id,
                        GError           **error)
{
  return _cairn_database_foreach (self->database,
                                  _cairn_database_query (self->database, sql,
                                                         CAIRN_BINDS (_cairn_bind_int (id)), error),
                                  add_replaced_file, self, error);
}

static gboolean
delete_one_collection (CairnTransaction  *self,
                       guint64            id,
                       GError           **error)
{
  g_autoptr(CairnCollection) collection = load_collection (self, id, error);

  if (collection == NULL ||
      !collect_external_paths (self,
                               "SELECT p.path FROM items i JOIN parts p ON p.item_id = i.id "
                               "WHERE i.collection_id = ? AND p.storage = 1",
                               id, error) ||
      !log_item_removals (self, id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM items WHERE collection_id = ?",
                            CAIRN_BINDS (_cairn_bind_int (id)), error) ||
      !_cairn_database_run (self->database, "DELETE FROM collections WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (id)), error))
    return FALSE;

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_REMOVE,
                       .kind = CAIRN_ENTITY_COLLECTION,
                       .entity_id = id,
                       .collection_id = collection->parent_id,
                       .resource = collection->resource,
                       .remote_id = collection->remote_id,
                       .name = collection->name,
                     }, error);
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

  if (!check_ready (self, error))
    return FALSE;
  forget_cached_collection (self);

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

/* Items */

typedef struct
{
  guint64 collection_id;
  guint64 revision;
  char *remote_id;
  char *mime_type;
  char *resource;
} ItemInfo;

static void
item_info_clear (ItemInfo *info)
{
  g_free (info->remote_id);
  g_free (info->mime_type);
  g_free (info->resource);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ItemInfo, item_info_clear)

/* The resource of a collection items may be put in. */
static const char *
item_collection_resource (CairnTransaction  *self,
                          guint64            collection_id,
                          GError           **error)
{
  g_autoptr(CairnCollection) collection = NULL;

  if (self->cached_collection_id == collection_id && collection_id != 0)
    return self->cached_resource;

  collection = load_collection (self, collection_id, error);
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

static gboolean
load_item_info (CairnTransaction  *self,
                guint64            id,
                ItemInfo          *info,
                GError           **error)
{
  const char *resource;
  g_autoptr(CairnStatement) stmt =
    _cairn_database_query (self->database,
                           "SELECT collection_id, revision, remote_id, mime_type "
                           "FROM items WHERE id = ?",
                           CAIRN_BINDS (_cairn_bind_int (id)), error);

  if (!_cairn_database_step_found (self->database, stmt, error,
                                   "No item with id %" G_GUINT64_FORMAT, id))
    return FALSE;

  info->collection_id = sqlite3_column_int64 (stmt, 0);
  info->revision = sqlite3_column_int64 (stmt, 1);
  info->remote_id = _cairn_column_dup (stmt, 2);
  info->mime_type = _cairn_column_dup (stmt, 3);
  resource = item_collection_resource (self, info->collection_id, error);
  info->resource = g_strdup (resource);

  return resource != NULL;
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

  return join_words ((const char * const *) names->pdata);
}

static gboolean
check_item_columns (CairnItem  *item,
                    GError    **error)
{
  return check_word ("MIME type", item->mime_type, error);
}

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

  if (!check_ready (self, error) || !check_item_columns (item, error))
    return FALSE;

  resource = item_collection_resource (self, item->collection_id, error);
  if (resource == NULL || !ensure_revision (self, error) ||
      !allocate_id (self, CAIRN_ENTITY_ITEM, &id, error))
    return FALSE;

  if (!_cairn_database_run (self->database,
                            "INSERT INTO items (collection_id, mime_type, size, remote_id, "
                            "  remote_revision, gid, revision, id) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            CAIRN_BINDS (_cairn_bind_int (item->collection_id),
                                         _cairn_bind_text (item->mime_type),
                                         _cairn_bind_int (item->size),
                                         _cairn_bind_text (item->remote_id),
                                         _cairn_bind_text (item->remote_revision),
                                         _cairn_bind_text (item->gid),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id)),
                            error))
    {
      set_constraint_error (self, error, "the collection has an item with this remote id",
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

  if (!store_attributes (self, item->attributes, id, ITEM_ATTRIBUTE_UPSERT,
                         ITEM_ATTRIBUTE_DELETE, NULL, error))
    return FALSE;

  parts = part_names (item, NULL);
  if (!log_change (self, &(LogEntry) {
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
 *   revision is updated
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

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (CAIRN_IS_ITEM (item), FALSE);

  if (!check_ready (self, error) || !check_item_columns (item, error) ||
      !load_item_info (self, item->id, &info, error) ||
      !check_unchanged ("item", item->id, info.revision, unchanged_since, error) ||
      !ensure_revision (self, error))
    return FALSE;

  if (!_cairn_database_run (self->database,
                            "UPDATE items SET mime_type = ?, size = ?, remote_id = ?, "
                            "  remote_revision = ?, gid = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_text (item->mime_type),
                                         _cairn_bind_int (item->size),
                                         _cairn_bind_text (item->remote_id),
                                         _cairn_bind_text (item->remote_revision),
                                         _cairn_bind_text (item->gid),
                                         _cairn_bind_int (self->revision),
                                         _cairn_bind_int (item->id)),
                            error))
    {
      set_constraint_error (self, error, "the collection has another item with this remote id",
                            "Cannot modify item %" G_GUINT64_FORMAT, item->id);
      return FALSE;
    }

  for (guint i = 0; i < item->parts->len; i++)
    if (!store_part (self, item->id, g_ptr_array_index (item->parts, i), TRUE, error))
      return FALSE;

  if (!store_attributes (self, item->attributes, item->id, ITEM_ATTRIBUTE_UPSERT,
                         ITEM_ATTRIBUTE_DELETE, attributes, error))
    return FALSE;

  parts = part_names (item, attributes);
  if (!log_change (self, &(LogEntry) {
                     .operation = CAIRN_CHANGE_MODIFY,
                     .kind = CAIRN_ENTITY_ITEM,
                     .entity_id = item->id,
                     .collection_id = info.collection_id,
                     .resource = info.resource,
                     .remote_id = item->remote_id,
                     .mime_type = item->mime_type,
                     .parts = parts,
                   }, error))
    return FALSE;

  item->collection_id = info.collection_id;
  _cairn_item_set_revision (item, self->revision);

  return TRUE;
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

  if (!check_ready (self, error) ||
      !load_item_info (self, item_id, &info, error) ||
      !check_unchanged ("item", item_id, info.revision, unchanged_since, error) ||
      !apply_flags (self, item_id, cairn_flags_delta_get_added (delta),
                    "INSERT OR IGNORE INTO item_flags (item_id, flag) VALUES (?, ?)",
                    added, error) ||
      !apply_flags (self, item_id, cairn_flags_delta_get_removed (delta),
                    "DELETE FROM item_flags WHERE item_id = ? AND flag = ?",
                    removed, error))
    return FALSE;

  if (added->len == 0 && removed->len == 0)
    return TRUE;

  if (!ensure_revision (self, error) ||
      !_cairn_database_run (self->database, "UPDATE items SET revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (self->revision),
                                         _cairn_bind_int (item_id)),
                            error))
    return FALSE;

  added_words = join_words ((const char * const *) added->pdata);
  removed_words = join_words ((const char * const *) removed->pdata);
  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_FLAGS,
                       .kind = CAIRN_ENTITY_ITEM,
                       .entity_id = item_id,
                       .collection_id = info.collection_id,
                       .resource = info.resource,
                       .remote_id = info.remote_id,
                       .mime_type = info.mime_type,
                       .flags_added = added_words,
                       .flags_removed = removed_words,
                     }, error);
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
 * Returns: %TRUE on success; %FALSE with %CAIRN_STORE_ERROR_EXISTS if the
 *   destination has an item with the same remote id,
 *   %CAIRN_STORE_ERROR_INVALID for a virtual destination
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

  g_return_val_if_fail (CAIRN_IS_TRANSACTION (self), FALSE);

  if (!check_ready (self, error) || !load_item_info (self, item_id, &info, error) ||
      item_collection_resource (self, collection_id, error) == NULL)
    return FALSE;
  if (info.collection_id == collection_id)
    return TRUE;

  if (!ensure_revision (self, error))
    return FALSE;
  if (!_cairn_database_run (self->database,
                            "UPDATE items SET collection_id = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (collection_id),
                                         _cairn_bind_int (self->revision),
                                         _cairn_bind_int (item_id)),
                            error))
    {
      set_constraint_error (self, error, "the destination has an item with the same remote id",
                            "Cannot move item %" G_GUINT64_FORMAT " to collection %"
                            G_GUINT64_FORMAT, item_id, collection_id);
      return FALSE;
    }

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_MOVE,
                       .kind = CAIRN_ENTITY_ITEM,
                       .entity_id = item_id,
                       .collection_id = info.collection_id,
                       .destination_id = collection_id,
                       .resource = info.resource,
                       .remote_id = info.remote_id,
                       .mime_type = info.mime_type,
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

  if (!check_ready (self, error) || !load_item_info (self, item_id, &info, error) ||
      !collect_external_paths (self,
                               "SELECT path FROM parts WHERE item_id = ? AND storage = 1",
                               item_id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM items WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (item_id)), error))
    return FALSE;

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_REMOVE,
                       .kind = CAIRN_ENTITY_ITEM,
                       .entity_id = item_id,
                       .collection_id = info.collection_id,
                       .resource = info.resource,
                       .remote_id = info.remote_id,
                       .mime_type = info.mime_type,
                     }, error);
}

/* Tags */

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

  return check_name ("tag name", cairn_tag_get_name (tag), error) &&
         check_word ("tag type", cairn_tag_get_tag_type (tag), error);
}

static gboolean
write_tag_row (CairnTransaction  *self,
               CairnTag          *tag,
               const char        *sql,
               GError           **error)
{
  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_text (cairn_tag_get_gid (tag)),
                                         _cairn_bind_text (cairn_tag_get_name (tag)),
                                         _cairn_bind_text (cairn_tag_get_tag_type (tag)),
                                         _cairn_bind_id (cairn_tag_get_parent_id (tag)),
                                         _cairn_bind_int (cairn_tag_get_id (tag))),
                            error))
    {
      set_constraint_error (self, error, "a tag with this GID exists",
                            "Cannot write tag %s", cairn_tag_get_gid (tag));
      return FALSE;
    }

  return TRUE;
}

/**
 * cairn_transaction_create_tag:
 * @self: a #CairnTransaction
 * @tag: the tag to create; its id is set
 * @error: return location for an error
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

  if (!check_ready (self, error) || !check_tag (tag, error) ||
      !write_tag_row (self, tag,
                      "INSERT INTO tags (gid, name, type, parent_id) VALUES (?1, ?2, ?3, ?4)",
                      error))
    return FALSE;

  cairn_tag_set_id (tag, sqlite3_last_insert_rowid (self->database->db));

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_ADD,
                       .kind = CAIRN_ENTITY_TAG,
                       .entity_id = cairn_tag_get_id (tag),
                       .name = cairn_tag_get_gid (tag),
                     }, error);
}

/**
 * cairn_transaction_modify_tag:
 * @self: a #CairnTransaction
 * @tag: the tag with its id and new name, type and parent
 * @error: return location for an error
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

  if (!check_ready (self, error) || !check_tag (tag, error) ||
      !write_tag_row (self, tag,
                      "UPDATE tags SET name = ?2, type = ?3, parent_id = ?4 "
                      "WHERE id = ?5 AND gid = ?1",
                      error))
    return FALSE;

  if (sqlite3_changes (self->database->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No tag with id %" G_GUINT64_FORMAT " and GID %s",
                   cairn_tag_get_id (tag), cairn_tag_get_gid (tag));
      return FALSE;
    }

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_MODIFY,
                       .kind = CAIRN_ENTITY_TAG,
                       .entity_id = cairn_tag_get_id (tag),
                       .name = cairn_tag_get_gid (tag),
                     }, error);
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

  if (!check_ready (self, error))
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

  if (!log_entries (self,
                    "INSERT INTO change_log (revision, seq, operation, entity_kind, entity_id, "
                    "  collection_id, related_id, resource, origin, remote_id, mime_type) "
                    "SELECT ?1, ?2 + row_number () OVER (ORDER BY i.id) - 1, ?4, ?5, i.id, "
                    "  i.collection_id, ?6, c.resource, ?3, i.remote_id, i.mime_type "
                    "FROM item_tags t JOIN items i ON i.id = t.item_id "
                    "JOIN collections c ON c.id = i.collection_id "
                    "WHERE t.tag_id = ?6",
                    CAIRN_CHANGE_UNTAG, tag_id, error) ||
      !_cairn_database_run (self->database, "DELETE FROM tags WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_int (tag_id)), error))
    return FALSE;

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_REMOVE,
                       .kind = CAIRN_ENTITY_TAG,
                       .entity_id = tag_id,
                       .name = tag_gid,
                     }, error);
}

/**
 * cairn_transaction_set_tag_remote_id:
 * @self: a #CairnTransaction
 * @tag_id: the tag
 * @resource: the resource instance keeping the remote id
 * @remote_id: (nullable): the resource's id for the tag, or %NULL to forget it
 * @error: return location for an error
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

  if (!check_ready (self, error) || !check_word ("resource id", resource, error))
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

  return log_change (self, &(LogEntry) {
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

  if (!check_ready (self, error) || !load_item_info (self, item_id, &info, error))
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

  return log_change (self, &(LogEntry) {
                       .operation = operation,
                       .kind = CAIRN_ENTITY_ITEM,
                       .entity_id = item_id,
                       .collection_id = link ? other_id : info.collection_id,
                       .related_id = link ? 0 : other_id,
                       .resource = info.resource,
                       .remote_id = info.remote_id,
                       .mime_type = info.mime_type,
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
  g_autoptr(CairnCollection) collection = load_collection (self, collection_id, error);

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

  return check_ready (self, error) &&
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

  if (!check_ready (self, error) || !check_word ("relation type", type, error) ||
      !load_item_info (self, left_id, &info, error) ||
      !load_item_info (self, right_id, &right, error))
    return FALSE;

  if (!_cairn_database_run (self->database, sql,
                            CAIRN_BINDS (_cairn_bind_int (left_id), _cairn_bind_int (right_id),
                                         _cairn_bind_text (type),
                                         _cairn_bind_text (remote_id)),
                            error))
    {
      set_constraint_error (self, error, "the relation exists",
                            "Cannot add relation %s between items %" G_GUINT64_FORMAT " and %"
                            G_GUINT64_FORMAT, type, left_id, right_id);
      return FALSE;
    }
  if (sqlite3_changes (self->database->db) == 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                   "No relation %s between items %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                   type, left_id, right_id);
      return FALSE;
    }

  return log_change (self, &(LogEntry) {
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

  if (!check_ready (self, error) || !ensure_revision (self, error))
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

  return _cairn_store_delete_failed_changes (self->database, consumer, ids, n_ids, error);
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
                                   const char        *remote_id,
                                   const char        *remote_revision,
                                   GError           **error)
{
  g_auto(ItemInfo) info = { 0 };

  if (kind == CAIRN_ENTITY_COLLECTION)
    {
      g_autoptr(CairnCollection) collection = load_collection (self, id, error);

      if (collection == NULL)
        return FALSE;
      if (remote_id != NULL)
        cairn_collection_set_remote_id (collection, remote_id);
      cairn_collection_set_remote_revision (collection, remote_revision);
      return cairn_transaction_modify_collection (self, collection, 0, error);
    }

  g_return_val_if_fail (kind == CAIRN_ENTITY_ITEM, FALSE);

  if (!check_ready (self, error) || !load_item_info (self, id, &info, error) ||
      !ensure_revision (self, error))
    return FALSE;
  if (!_cairn_database_run (self->database,
                            "UPDATE items SET remote_id = coalesce (?, remote_id), "
                            "  remote_revision = ?, revision = ? WHERE id = ?",
                            CAIRN_BINDS (_cairn_bind_text (remote_id),
                                         _cairn_bind_text (remote_revision),
                                         _cairn_bind_int (self->revision), _cairn_bind_int (id)),
                            error))
    {
      set_constraint_error (self, error, "the collection has another item with this remote id",
                            "Cannot set the remote id of item %" G_GUINT64_FORMAT, id);
      return FALSE;
    }

  return log_change (self, &(LogEntry) {
                       .operation = CAIRN_CHANGE_MODIFY,
                       .kind = CAIRN_ENTITY_ITEM,
                       .entity_id = id,
                       .collection_id = info.collection_id,
                       .resource = info.resource,
                       .remote_id = remote_id != NULL ? remote_id : info.remote_id,
                       .mime_type = info.mime_type,
                     }, error);
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
  return check_ready (self, error) &&
         _cairn_database_run (self->database,
                              "UPDATE change_log SET remote_id = ? "
                              "WHERE revision > ? AND entity_kind = ? AND entity_id = ?",
                              CAIRN_BINDS (_cairn_bind_text (remote_id), _cairn_bind_int (revision),
                                           _cairn_bind_int (kind), _cairn_bind_int (id)),
                              error);
}
