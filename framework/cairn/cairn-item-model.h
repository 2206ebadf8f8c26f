/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-item-query.h"
#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_ITEM_MODEL (cairn_item_model_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnItemModel, cairn_item_model, CAIRN, ITEM_MODEL, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnItemModel *cairn_item_model_new                (CairnStore     *store,
                                                     CairnItemQuery *query);
CAIRN_AVAILABLE_IN_ALL
CairnItemModel *cairn_item_model_new_for_collection (CairnStore     *store,
                                                     guint64         collection_id);
CAIRN_AVAILABLE_IN_ALL
CairnStore     *cairn_item_model_get_store          (CairnItemModel *self);
CAIRN_AVAILABLE_IN_ALL
gboolean        cairn_item_model_get_loading        (CairnItemModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64         cairn_item_model_get_revision       (CairnItemModel *self);
CAIRN_AVAILABLE_IN_ALL
gboolean        cairn_item_model_find               (CairnItemModel *self,
                                                     guint64         item_id,
                                                     guint          *position);

G_END_DECLS
