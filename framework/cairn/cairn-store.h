/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-change.h"
#include "cairn-collection.h"
#include "cairn-fetch-scope.h"
#include "cairn-item.h"
#include "cairn-relation.h"
#include "cairn-tag.h"
#include "cairn-transaction.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_STORE_ERROR:
 *
 * The error domain of the store.
 *
 * Since: 0.1
 */
#define CAIRN_STORE_ERROR (cairn_store_error_quark ())

/**
 * CairnStoreError:
 * @CAIRN_STORE_ERROR_FAILED: an unexpected store failure
 * @CAIRN_STORE_ERROR_NOT_FOUND: no entity with that id, remote id or name
 * @CAIRN_STORE_ERROR_EXISTS: the entity would duplicate one that exists
 *   (a remote id within one collection, a tag GID, a relation)
 * @CAIRN_STORE_ERROR_CONFLICT: a conditional modification found the entity
 *   changed after the given revision
 * @CAIRN_STORE_ERROR_INVALID: the request is not valid (empty or non-UTF-8
 *   name, a move into its own subtree, items in a virtual collection)
 * @CAIRN_STORE_ERROR_CORRUPT: the database file is not a store or is damaged,
 *   or a payload file does not have the size the store recorded for it
 * @CAIRN_STORE_ERROR_NEWER_SCHEMA: the database was made by a newer version
 *   of Cairn; it was not touched
 * @CAIRN_STORE_ERROR_READ_ONLY: the database or its folder cannot be written
 * @CAIRN_STORE_ERROR_NO_SPACE: the disk is full
 * @CAIRN_STORE_ERROR_BUSY: another process held the database for too long
 * @CAIRN_STORE_ERROR_IO: reading or writing a file failed
 * @CAIRN_STORE_ERROR_MISSING_PART: the part's payload is not stored and must
 *   be retrieved by its resource
 * @CAIRN_STORE_ERROR_EXPIRED: the change log no longer holds changes that
 *   old; the reader must read the state again
 * @CAIRN_STORE_ERROR_TOO_LARGE: a payload is larger than the caller would
 *   load into memory; read it as a stream instead
 *
 * Errors of the store.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_STORE_ERROR_FAILED,
  CAIRN_STORE_ERROR_NOT_FOUND,
  CAIRN_STORE_ERROR_EXISTS,
  CAIRN_STORE_ERROR_CONFLICT,
  CAIRN_STORE_ERROR_INVALID,
  CAIRN_STORE_ERROR_CORRUPT,
  CAIRN_STORE_ERROR_NEWER_SCHEMA,
  CAIRN_STORE_ERROR_READ_ONLY,
  CAIRN_STORE_ERROR_NO_SPACE,
  CAIRN_STORE_ERROR_BUSY,
  CAIRN_STORE_ERROR_IO,
  CAIRN_STORE_ERROR_MISSING_PART,
  CAIRN_STORE_ERROR_EXPIRED,
  CAIRN_STORE_ERROR_TOO_LARGE,
} CairnStoreError;

/**
 * CAIRN_STORE_SCHEMA_VERSION:
 *
 * The database schema version this libcairn writes.
 *
 * Since: 0.1
 */
#define CAIRN_STORE_SCHEMA_VERSION 6

/**
 * CAIRN_STORE_BATCH_SIZE:
 *
 * How many items the convenience batch calls write per transaction, so
 * that a writer in another process never waits long.
 *
 * Since: 0.1
 */
#define CAIRN_STORE_BATCH_SIZE 1000

/**
 * CAIRN_STORE_OBJECT_PATH:
 *
 * The object path at which every writing process broadcasts the
 * `org.cairn.Store1.Committed` signal on the session bus.
 *
 * Since: 0.1
 */
#define CAIRN_STORE_OBJECT_PATH "/org/cairn/Store"

/**
 * CAIRN_STORE_INTERFACE:
 *
 * The D-Bus interface of commit notifications.
 *
 * Since: 0.1
 */
#define CAIRN_STORE_INTERFACE "org.cairn.Store1"

#define CAIRN_TYPE_STORE (cairn_store_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnStore, cairn_store, CAIRN, STORE, GObject)

/**
 * CairnItemFunc:
 * @item: an item
 * @user_data: the data passed with the function
 *
 * Called for each item of a streamed listing.
 *
 * Returns: %TRUE to go on, %FALSE to stop
 *
 * Since: 0.1
 */
typedef gboolean (*CairnItemFunc) (CairnItem *item,
                                   gpointer   user_data);

CAIRN_AVAILABLE_IN_ALL
GQuark           cairn_store_error_quark                  (void);

CAIRN_AVAILABLE_IN_ALL
CairnStore      *cairn_store_open                         (const char           *path,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_open_async                   (const char           *path,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
CairnStore      *cairn_store_open_finish                  (GAsyncResult         *result,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
const char      *cairn_store_get_path                     (CairnStore           *self);
CAIRN_AVAILABLE_IN_ALL
const char      *cairn_store_get_origin                   (CairnStore           *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_set_origin                   (CairnStore           *self,
                                                           const char           *origin);
CAIRN_AVAILABLE_IN_ALL
gsize            cairn_store_get_inline_threshold         (CairnStore           *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_set_inline_threshold         (CairnStore           *self,
                                                           gsize                 threshold);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_get_revision                 (CairnStore           *self,
                                                           guint64              *revision,
                                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_write_sync                   (CairnStore           *self,
                                                           CairnTransactionFunc  func,
                                                           gpointer              user_data,
                                                           guint64              *revision,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_write_async                  (CairnStore           *self,
                                                           CairnTransactionFunc  func,
                                                           gpointer              user_data,
                                                           GDestroyNotify        user_data_free,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              callback_data);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_write_finish                 (CairnStore           *self,
                                                           GAsyncResult         *result,
                                                           guint64              *revision,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_create_items_sync            (CairnStore           *self,
                                                           GPtrArray            *items,
                                                           GCancellable         *cancellable,
                                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
CairnCollection *cairn_store_get_collection               (CairnStore           *self,
                                                           guint64               id,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
CairnCollection *cairn_store_find_collection_by_remote_id (CairnStore           *self,
                                                           const char           *resource,
                                                           const char           *remote_id,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_list_collections             (CairnStore           *self,
                                                           const char           *resource,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_get_collection_statistics    (CairnStore           *self,
                                                           guint64               id,
                                                           guint64              *count,
                                                           guint64              *unread,
                                                           guint64              *size,
                                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
CairnItem       *cairn_store_get_item                     (CairnStore           *self,
                                                           guint64               id,
                                                           CairnFetchScope      *scope,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
CairnItem       *cairn_store_find_item_by_remote_id       (CairnStore           *self,
                                                           guint64               collection_id,
                                                           const char           *remote_id,
                                                           CairnFetchScope      *scope,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_find_items_by_resource_remote_id (CairnStore       *self,
                                                           const char           *resource,
                                                           const char           *remote_id,
                                                           CairnFetchScope      *scope,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_find_items_by_gid            (CairnStore           *self,
                                                           const char           *gid,
                                                           CairnFetchScope      *scope,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_find_items_missing_part      (CairnStore           *self,
                                                           guint64               collection_id,
                                                           const char           *part,
                                                           GDateTime            *since,
                                                           guint                 limit,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_list_items                   (CairnStore           *self,
                                                           guint64               collection_id,
                                                           CairnFetchScope      *scope,
                                                           guint64               after_id,
                                                           guint                 limit,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_list_items_async             (CairnStore           *self,
                                                           guint64               collection_id,
                                                           CairnFetchScope      *scope,
                                                           guint64               after_id,
                                                           guint                 limit,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_list_items_finish            (CairnStore           *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_foreach_item                 (CairnStore           *self,
                                                           guint64               collection_id,
                                                           CairnFetchScope      *scope,
                                                           CairnItemFunc         func,
                                                           gpointer              user_data,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
void             cairn_store_fetch_item_async             (CairnStore           *self,
                                                           guint64               id,
                                                           CairnFetchScope      *scope,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
CairnItem       *cairn_store_fetch_item_finish            (CairnStore           *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GInputStream    *cairn_store_open_part                    (CairnStore           *self,
                                                           guint64               item_id,
                                                           const char           *name,
                                                           GCancellable         *cancellable,
                                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
CairnTag        *cairn_store_get_tag                      (CairnStore           *self,
                                                           guint64               id,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
CairnTag        *cairn_store_find_tag_by_gid              (CairnStore           *self,
                                                           const char           *gid,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
char            *cairn_store_get_tag_remote_id            (CairnStore           *self,
                                                           guint64               tag_id,
                                                           const char           *resource,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_list_item_tags               (CairnStore           *self,
                                                           guint64               item_id,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_list_relations               (CairnStore           *self,
                                                           guint64               item_id,
                                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
GPtrArray       *cairn_store_get_changes_since            (CairnStore           *self,
                                                           guint64               revision,
                                                           guint                 limit,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_set_cursor                   (CairnStore           *self,
                                                           const char           *name,
                                                           guint64               revision,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_get_cursor                   (CairnStore           *self,
                                                           const char           *name,
                                                           guint64              *revision,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_remove_cursor                (CairnStore           *self,
                                                           const char           *name,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_collect_garbage              (CairnStore           *self,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_check_sync                   (CairnStore           *self,
                                                           gboolean              repair,
                                                           GPtrArray           **problems,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_checkpoint_sync              (CairnStore           *self,
                                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_store_vacuum_sync                  (CairnStore           *self,
                                                           GCancellable         *cancellable,
                                                           GError              **error);

G_END_DECLS
