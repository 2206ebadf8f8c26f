/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "cairn-payload-files-private.h"
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

G_DEFINE_FINAL_TYPE (CairnTransaction, cairn_transaction, G_TYPE_OBJECT)

static void
cairn_transaction_finalize (GObject *object)
{
  CairnTransaction *self = (CairnTransaction *) object;

  g_clear_object (&self->store);
  g_free (self->origin);
  g_free (self->payload_dir);
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
                        CairnDatabase *database,
                        const char    *payload_dir)
{
  CairnTransaction *self = g_object_new (CAIRN_TYPE_TRANSACTION, NULL);

  self->store = g_object_ref (store);
  self->database = database;
  self->payload_dir = g_strdup (payload_dir);
  self->origin = g_strdup (cairn_store_get_origin (store));

  return self;
}

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

/* Payload files must be durable before the commit that references them. */
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
    if (!_cairn_payload_folder_sync (dir, error))
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
 * Gets the store revision the transaction writes.
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
 * Gets the origin the transaction records with its changes.
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

gboolean
_cairn_transaction_check_name (const char  *what,
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
gboolean
_cairn_transaction_check_word (const char  *what,
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

gboolean
_cairn_transaction_check_ready (CairnTransaction  *self,
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

gboolean
_cairn_transaction_check_unchanged (const char  *what,
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

/* Ids */

/* Gives out the next id of @kind. store_state keeps the highest id ever
 * given out: SQLite's own choice, max (id) + 1, would give a deleted
 * newest entity's id again. It is read at the first creation of the kind
 * and written back once, before the commit; the write lock makes the
 * transaction the only one giving out ids meanwhile. */
gboolean
_cairn_transaction_allocate_id (CairnTransaction  *self,
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

gboolean
_cairn_transaction_ensure_revision (CairnTransaction  *self,
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

/* Rows shared by the entities */

/* Writes an entity's attributes: NULL values remove. Appends "ATR:name"
 * for each to @changed. */
gboolean
_cairn_transaction_store_attributes (CairnTransaction  *self,
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
      if (!_cairn_transaction_check_word ("attribute name", name, error) ||
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

/* Turns a failed insert into a message that names what collided. */
void
_cairn_transaction_prefix_error (CairnTransaction  *self,
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

static gboolean
add_replaced_file (CairnStatement  *row,
                   gpointer         user_data,
                   GError         **error)
{
  CairnTransaction *self = user_data;

  g_ptr_array_add (self->replaced_files,
                   _cairn_payload_path (self->payload_dir,
                                        (const char *) sqlite3_column_text (row, 0)));
  return TRUE;
}

/* Marks the payload files @sql finds for @id to go once committed. */
gboolean
_cairn_transaction_drop_payloads (CairnTransaction  *self,
                                  const char        *sql,
                                  guint64            id,
                                  GError           **error)
{
  return _cairn_database_foreach (self->database,
                                  _cairn_database_query (self->database, sql,
                                                         CAIRN_BINDS (_cairn_bind_int (id)), error),
                                  add_replaced_file, self, error);
}

void
_cairn_transaction_forget_cached_collection (CairnTransaction *self)
{
  self->cached_collection_id = 0;
  g_clear_pointer (&self->cached_resource, g_free);
}
