/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-collection.h"
#include "cairn-item.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_ITEM_SYNC (cairn_item_sync_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnItemSync, cairn_item_sync, CAIRN, ITEM_SYNC, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnCollection *cairn_item_sync_get_collection     (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_item_sync_get_incremental    (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_item_sync_set_incremental    (CairnItemSync      *self,
                                                     gboolean            incremental);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_item_sync_get_merge_by_gid   (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_item_sync_set_merge_by_gid   (CairnItemSync      *self,
                                                     gboolean            merge_by_gid);
CAIRN_AVAILABLE_IN_ALL
GHashTable      *cairn_item_sync_dup_remote_revisions (CairnItemSync  *self,
                                                       GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_item_sync_add_item           (CairnItemSync      *self,
                                                     CairnItem          *item,
                                                     GError            **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_item_sync_add_items          (CairnItemSync      *self,
                                                     GPtrArray          *items,
                                                     GError            **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_item_sync_remove_items       (CairnItemSync      *self,
                                                     const char * const *remote_ids,
                                                     GError            **error);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_item_sync_get_n_created      (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_item_sync_get_n_modified     (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_item_sync_get_n_unchanged    (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_item_sync_get_n_removed      (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_item_sync_get_n_kept_local   (CairnItemSync      *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_item_sync_set_expected_items (CairnItemSync      *self,
                                                     guint64             n_items);

G_END_DECLS
