/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"
#include "cairn-store.h"
#include "cairn-autocleanups.h"
#include "cairn-failed-change-private.h"
#include "cairn-item-query-private.h"

G_BEGIN_DECLS

/* A change log entry as coalescing plans a range with it. */
typedef struct
{
  guint64 revision;
  guint64 entity_id;
  guint64 related_id;
  guint name_hash;      /* of a relation's type; 0 for other entities */
  CairnEntityKind entity_kind;
} CairnChangeKey;

typedef void (*CairnChangeKeyFunc) (const CairnChangeKey *key,
                                    gpointer              user_data);

struct _CairnStore
{
  GObject parent_instance;

  char *path;
  char *payload_dir;
  char *origin;
  gsize inline_threshold;
  GMainContext *context;

  GMutex writer_lock;
  CairnDatabase *writer;

  GMutex readers_lock;
  GPtrArray *idle_readers;
};

/* Shared by the store's own files: cairn-store.c keeps the connections
 * and hands them out. */

/* A reader connection borrowed from the store's pool. */
typedef struct
{
  CairnStore *store;
  CairnDatabase *database;
} CairnReader;

CairnReader     *_cairn_store_acquire_reader (CairnStore  *self,
                                              GError     **error);
CairnReader     *_cairn_store_begin_read     (CairnStore  *self,
                                              GError     **error);
void             _cairn_reader_free          (CairnReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnReader, _cairn_reader_free)

gpointer         _cairn_store_read_one       (CairnStore        *self,
                                              const char        *sql,
                                              const CairnBind   *binds,
                                              gsize              n_binds,
                                              CairnRowFunc       func,
                                              GError           **error,
                                              const char        *format,
                                              ...) G_GNUC_PRINTF (7, 8);
GPtrArray       *_cairn_store_read_all       (CairnStore        *self,
                                              const char        *sql,
                                              const CairnBind   *binds,
                                              gsize              n_binds,
                                              CairnRowFunc       func,
                                              GDestroyNotify     free_func,
                                              GError           **error);
gboolean         _cairn_store_read_each      (CairnStore        *self,
                                              const char        *sql,
                                              const CairnBind   *binds,
                                              gsize              n_binds,
                                              CairnRowCallback   func,
                                              gpointer           user_data,
                                              GError           **error);
gboolean         _cairn_store_read_count     (CairnStore        *self,
                                              const char        *sql,
                                              const CairnBind   *binds,
                                              gsize              n_binds,
                                              guint64           *count,
                                              GError           **error);
gboolean         _cairn_store_read_revision  (CairnDatabase     *database,
                                              guint64           *revision,
                                              guint64           *log_start,
                                              GError           **error);

/* Cursors, failed changes and garbage collection write under the write
 * lock, but they are not data changes and get no revision. */
typedef gboolean (*CairnStoreLockedFunc) (CairnStore  *self,
                                          gpointer     data,
                                          GError     **error);

gboolean         _cairn_store_run_locked     (CairnStore            *self,
                                              CairnStoreLockedFunc   func,
                                              gpointer               data,
                                              GError               **error);
void             _cairn_store_emit_committed (CairnStore            *self,
                                              guint64                revision);

/* For the rest of the library */
gboolean         _cairn_store_set_recorder_position (CairnStore  *self,
                                                     const char  *name,
                                                     guint64      revision,
                                                     guint64      batch_end,
                                                     guint        delivered,
                                                     GError     **error);
gboolean         _cairn_store_get_recorder_position (CairnStore  *self,
                                                     const char  *name,
                                                     guint64     *revision,
                                                     guint64     *batch_end,
                                                     guint       *delivered,
                                                     GError     **error);
gboolean         _cairn_store_count_changes_since   (CairnStore  *self,
                                                     guint64      revision,
                                                     guint64     *count,
                                                     GError     **error);

gboolean         _cairn_store_count_pending_changes (CairnStore  *self,
                                                     guint64      revision,
                                                     const char  *resource,
                                                     const char  *origin,
                                                     guint64     *count,
                                                     GError     **error);
GHashTable      *_cairn_store_list_pending_entities (CairnStore       *self,
                                                     CairnEntityKind   kind,
                                                     guint64           revision,
                                                     const char       *resource,
                                                     const char       *origin,
                                                     GError          **error);
GHashTable      *_cairn_store_list_leaving_remote_ids (CairnStore  *self,
                                                       guint64      revision,
                                                       const char  *resource,
                                                       const char  *origin,
                                                       guint64      collection_id,
                                                       GError     **error);
GHashTable      *_cairn_store_list_removed_collection_remote_ids (CairnStore  *self,
                                                                  guint64      revision,
                                                                  const char  *resource,
                                                                  const char  *origin,
                                                                  GError     **error);
GPtrArray       *_cairn_store_get_change_range      (CairnStore       *self,
                                                    guint64           revision,
                                                    guint64           last,
                                                    guint             limit,
                                                    const char       *exclude_origin,
                                                    guint64          *read_to,
                                                    GError          **error);
gboolean         _cairn_store_foreach_change_key    (CairnStore          *self,
                                                    guint64              revision,
                                                    guint64              last,
                                                    const char          *exclude_origin,
                                                    CairnChangeKeyFunc   func,
                                                    gpointer             user_data,
                                                    GError             **error);
GPtrArray       *_cairn_store_get_entity_changes    (CairnStore       *self,
                                                    CairnEntityKind   kind,
                                                    guint64           id,
                                                    guint64           revision,
                                                    GError          **error);
CairnFlagsDelta *_cairn_store_get_pending_flags     (CairnStore  *self,
                                                     guint64      item_id,
                                                     guint64      revision,
                                                     const char  *origin,
                                                     GError     **error);
gboolean         _cairn_store_add_failed_changes    (CairnStore  *self,
                                                     const char  *consumer,
                                                     GPtrArray   *changes,
                                                     const char  *reason,
                                                     GError     **error);
GPtrArray       *_cairn_store_list_failed_changes   (CairnStore  *self,
                                                     const char  *consumer,
                                                     GError     **error);
gboolean         _cairn_store_remove_failed_changes (CairnStore     *self,
                                                     const char     *consumer,
                                                     const guint64  *ids,
                                                     gsize           n_ids,
                                                     GError        **error);
typedef void (*CairnItemKeyFunc) (guint64     id,
                                  const char *remote_id,
                                  const char *remote_revision,
                                  const char *gid,
                                  guint64     revision,
                                  gpointer    user_data);

gboolean         _cairn_store_foreach_item_key      (CairnStore        *self,
                                                     guint64            collection_id,
                                                     CairnItemKeyFunc   func,
                                                     gpointer           user_data,
                                                     GError           **error);

/* For the live models (cairn-item-model.c, cairn-collection-model.c):
 * reads in a reader of theirs, so that one snapshot answers each step. */

/* An item's place in a model: @date is G_MININT64 when unknown. */
typedef void (*CairnItemPlaceFunc) (guint64   id,
                                    gint64    date,
                                    gpointer  user_data);

gboolean         _cairn_store_foreach_item_place (CairnReader           *reader,
                                                  const CairnItemFilter *filter,
                                                  CairnItemPlaceFunc     func,
                                                  gpointer               user_data,
                                                  GError               **error);
GPtrArray       *_cairn_store_read_items_by_id   (CairnReader           *reader,
                                                  const CairnItemFilter *filter,
                                                  const char            *ids,
                                                  GError               **error);
GPtrArray       *_cairn_store_read_collections   (CairnReader           *reader,
                                                  const char            *resource,
                                                  const char            *ids,
                                                  GError               **error);

/* A collection's item counts; unread = without \Seen. */
typedef void (*CairnCountsFunc) (guint64   collection_id,
                                 guint64   total,
                                 guint64   unread,
                                 gpointer  user_data);

gboolean         _cairn_store_count_items        (CairnReader           *reader,
                                                  const char            *ids,
                                                  CairnCountsFunc        func,
                                                  gpointer               user_data,
                                                  GError               **error);
char            *_cairn_ids_to_json              (const guint64         *ids,
                                                  guint                  n_ids);
void             _cairn_json_append_string       (GString               *json,
                                                  const char            *value);
int              _cairn_collection_compare_names (CairnCollection       *a,
                                                  CairnCollection       *b);

G_END_DECLS
