/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"
#include "cairn-store.h"
#include "cairn-transaction.h"

G_BEGIN_DECLS

/* For the store and the rest of the library */

CairnTransaction *_cairn_transaction_new            (CairnStore        *store,
                                                     CairnDatabase     *database,
                                                     const char        *payload_dir);
gboolean          _cairn_transaction_prepare_commit (CairnTransaction  *self,
                                                     GError           **error);
void              _cairn_transaction_finish         (CairnTransaction  *self,
                                                     gboolean           committed);
gboolean          _cairn_transaction_retry_failed_changes (CairnTransaction  *self,
                                                           const char        *consumer,
                                                           const guint64     *ids,
                                                           gsize              n_ids,
                                                           GError           **error);
gboolean          _cairn_transaction_set_remote_ids (CairnTransaction  *self,
                                                     CairnEntityKind    kind,
                                                     guint64            id,
                                                     guint64            collection_id,
                                                     const char        *remote_id,
                                                     const char        *remote_revision,
                                                     GError           **error);
gboolean          _cairn_transaction_settle_remote_collection (CairnTransaction  *self,
                                                               guint64            id,
                                                               guint64            collection_id,
                                                               GError           **error);
gboolean          _cairn_transaction_set_gid        (CairnTransaction  *self,
                                                     guint64            id,
                                                     const char        *gid,
                                                     GError           **error);
gboolean          _cairn_transaction_set_flags      (CairnTransaction  *self,
                                                     guint64            item_id,
                                                     const CairnFlags  *wanted,
                                                     GError           **error);
gboolean          _cairn_transaction_lend_remote_id (CairnTransaction  *self,
                                                     CairnEntityKind    kind,
                                                     guint64            id,
                                                     guint64            revision,
                                                     const char        *remote_id,
                                                     GError           **error);
gboolean          _cairn_transaction_set_recorder_position (CairnTransaction  *self,
                                                            const char        *name,
                                                            guint64            revision,
                                                            guint64            batch_end,
                                                            guint              delivered,
                                                            GError           **error);
gboolean          _cairn_failed_changes_delete      (CairnDatabase     *database,
                                                     const char        *consumer,
                                                     const guint64     *ids,
                                                     gsize              n_ids,
                                                     GError           **error);

/* Shared by the transaction's own files */

struct _CairnTransaction
{
  GObject parent_instance;

  CairnStore *store;
  CairnDatabase *database;
  char *payload_dir;
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

/* One change log entry; the transaction adds its revision, sequence
 * number and origin. */
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

/* What changes of an item log about it. */
typedef struct
{
  guint64 collection_id;
  guint64 revision;
  char *remote_id;
  /* Where its remote id, or without one the name its last move carried,
   * names it in the backend; 0: where it is, or unknown without one. */
  guint64 remote_collection_id;
  char *mime_type;
  char *resource;
} ItemInfo;

void _cairn_item_info_clear (ItemInfo *info);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ItemInfo, _cairn_item_info_clear)

#define CAIRN_ITEM_ATTRIBUTE_UPSERT \
  "INSERT INTO item_attributes (item_id, name, value) VALUES (?, ?, ?) " \
  "ON CONFLICT (item_id, name) DO UPDATE SET value = excluded.value"
#define CAIRN_ITEM_ATTRIBUTE_DELETE "DELETE FROM item_attributes WHERE item_id = ? AND name = ?"
#define CAIRN_COLLECTION_ATTRIBUTE_UPSERT \
  "INSERT INTO collection_attributes (collection_id, name, value) VALUES (?, ?, ?) " \
  "ON CONFLICT (collection_id, name) DO UPDATE SET value = excluded.value"
#define CAIRN_COLLECTION_ATTRIBUTE_DELETE \
  "DELETE FROM collection_attributes WHERE collection_id = ? AND name = ?"

gboolean    _cairn_transaction_check_name      (const char         *what,
                                                const char         *name,
                                                GError            **error);
gboolean    _cairn_transaction_check_word      (const char         *what,
                                                const char         *word,
                                                GError            **error);
gboolean    _cairn_transaction_check_ready     (CairnTransaction   *self,
                                                GError            **error);
gboolean    _cairn_transaction_check_unchanged (const char         *what,
                                                guint64             id,
                                                guint64             revision,
                                                guint64             unchanged_since,
                                                GError            **error);
gboolean    _cairn_transaction_allocate_id     (CairnTransaction   *self,
                                                CairnEntityKind     kind,
                                                guint64            *id,
                                                GError            **error);
gboolean    _cairn_transaction_ensure_revision (CairnTransaction   *self,
                                                GError            **error);
gboolean    _cairn_transaction_store_attributes (CairnTransaction  *self,
                                                 GHashTable        *attributes,
                                                 guint64            id,
                                                 const char        *upsert_sql,
                                                 const char        *delete_sql,
                                                 GPtrArray         *changed,
                                                 GError           **error);
void        _cairn_transaction_prefix_error (CairnTransaction  *self,
                                             GError           **error,
                                             const char        *exists_message,
                                             const char        *format,
                                             ...) G_GNUC_PRINTF (4, 5);
gboolean    _cairn_transaction_drop_payloads   (CairnTransaction   *self,
                                                const char         *sql,
                                                guint64             id,
                                                GError            **error);
void        _cairn_transaction_forget_cached_collection (CairnTransaction *self);

gboolean    _cairn_transaction_log      (CairnTransaction   *self,
                                                const LogEntry     *entry,
                                                GError            **error);
gboolean    _cairn_transaction_log_entries     (CairnTransaction      *self,
                                                const char            *sql,
                                                CairnChangeOperation   operation,
                                                guint64                id,
                                                GError               **error);
gboolean    _cairn_transaction_log_item_removals (CairnTransaction  *self,
                                                  guint64            collection_id,
                                                  GError           **error);

const char *_cairn_transaction_item_resource   (CairnTransaction   *self,
                                                guint64             collection_id,
                                                GError            **error);
gboolean    _cairn_transaction_load_item_info  (CairnTransaction   *self,
                                                guint64             id,
                                                ItemInfo           *info,
                                                GError            **error);
gboolean    _cairn_transaction_log_item        (CairnTransaction   *self,
                                                const ItemInfo     *info,
                                                LogEntry           *entry,
                                                GError            **error);

G_END_DECLS
