/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"
#include "cairn-store.h"
#include "cairn-autocleanups.h"

G_BEGIN_DECLS

/* Payload files live in "<database>.payloads/<2 hex>/<32 hex>"; the part
 * row keeps the part after the folder. */
#define CAIRN_PAYLOAD_FOLDER_SUFFIX ".payloads"

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

G_END_DECLS
