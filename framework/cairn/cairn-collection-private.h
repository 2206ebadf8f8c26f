/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-collection.h"

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

G_END_DECLS
