/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-collection.h"
#include "cairn-database-private.h"

G_BEGIN_DECLS

struct _CairnCollection
{
  GObject parent_instance;

  guint64 id;
  guint64 parent_id;
  guint64 revision;
  char *name;
  char *resource;
  char *remote_id;
  char *remote_revision;
  char *parent_remote_id;
  char **content_mime_types;
  gboolean is_virtual;
  CairnCachePolicy *cache_policy;
  GHashTable *attributes;     /* name -> GBytes, NULL value for "remove"; created on demand */
};

void _cairn_collection_set_revision (CairnCollection *self,
                                     guint64          revision);

/* The columns of a collections row that _cairn_collection_from_row()
 * reads, as the store's reads and the transaction's checks select them. */
#define CAIRN_COLLECTION_COLUMNS \
  "id, parent_id, name, resource, remote_id, remote_revision, mime_types, is_virtual, " \
  "cache_inherit, cache_check_interval, cache_timeout, cache_sync_on_demand, " \
  "cache_local_parts, revision"

gpointer         _cairn_collection_from_row (CairnStatement  *row,
                                             gpointer         database,
                                             GError         **error);
CairnCollection *_cairn_collection_load     (CairnDatabase   *database,
                                             guint64          id,
                                             GError         **error);

G_END_DECLS
