/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"
#include "cairn-store.h"
#include "cairn-autocleanups.h"
#include "cairn-failed-change-private.h"

G_BEGIN_DECLS

/* Payload files live in "<database>.payloads/<2 hex>/<32 hex>"; the part
 * row keeps the part after the folder. */
#define CAIRN_PAYLOAD_FOLDER_SUFFIX ".payloads"

/* The size of the SHA-256 digest kept with each payload file. */
#define CAIRN_PAYLOAD_DIGEST_SIZE 32

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

CairnCollection *_cairn_store_load_collection (CairnDatabase  *database,
                                               guint64         id,
                                               GError        **error);
char            *_cairn_store_payload_path    (CairnStore     *self,
                                               const char     *name);
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
GPtrArray       *_cairn_store_get_change_range      (CairnStore       *self,
                                                    guint64           revision,
                                                    guint64           last,
                                                    guint             limit,
                                                    GError          **error);
gboolean         _cairn_store_foreach_change_key    (CairnStore          *self,
                                                    guint64              revision,
                                                    guint64              last,
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
gboolean         _cairn_store_delete_failed_changes (CairnDatabase  *database,
                                                     const char     *consumer,
                                                     const guint64  *ids,
                                                     gsize           n_ids,
                                                     GError        **error);
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

G_END_DECLS
