/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-item.h"

G_BEGIN_DECLS

struct _CairnItem
{
  GObject parent_instance;

  guint64 id;
  guint64 collection_id;
  guint64 size;
  guint64 revision;
  char *mime_type;
  char *remote_id;
  /* Set by cairn_item_set_remote_id(): an item read from the store does
   * not write its remote id back (cairn_transaction_modify_item()). */
  gboolean remote_id_set;
  char *remote_revision;
  char *gid;
  GDateTime *date;            /* NULL when unknown */
  CairnFlags *flags;
  GPtrArray *parts;           /* CairnPart, few per item: searched linearly */
  GHashTable *attributes;     /* name -> GBytes, or NULL value for "remove"; created on demand */
  GPtrArray *tags;            /* CairnTag by id, NULL unless a read loaded them */
};

void _cairn_item_set_revision (CairnItem *self,
                               guint64    revision);

G_END_DECLS
