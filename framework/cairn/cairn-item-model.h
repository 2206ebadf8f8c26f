/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_ITEM_MODEL (cairn_item_model_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnItemModel, cairn_item_model, CAIRN, ITEM_MODEL, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnItemModel *cairn_item_model_new_sync         (CairnStore          *store,
                                                   guint64              collection_id,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_model_new_async        (CairnStore          *store,
                                                   guint64              collection_id,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
CAIRN_AVAILABLE_IN_ALL
CairnItemModel *cairn_item_model_new_finish       (GAsyncResult        *result,
                                                   GError             **error);
CAIRN_AVAILABLE_IN_ALL
CairnStore     *cairn_item_model_get_store        (CairnItemModel      *self);
CAIRN_AVAILABLE_IN_ALL
guint64         cairn_item_model_get_collection_id (CairnItemModel     *self);
CAIRN_AVAILABLE_IN_ALL
const char     *cairn_item_model_get_mime_type    (CairnItemModel      *self);
CAIRN_AVAILABLE_IN_ALL
const char     *cairn_item_model_get_with_flag    (CairnItemModel      *self);
CAIRN_AVAILABLE_IN_ALL
const char     *cairn_item_model_get_without_flag (CairnItemModel      *self);
CAIRN_AVAILABLE_IN_ALL
gboolean        cairn_item_model_get_descending   (CairnItemModel      *self);
CAIRN_AVAILABLE_IN_ALL
guint64         cairn_item_model_get_item_id      (CairnItemModel      *self,
                                                   guint                position);
CAIRN_AVAILABLE_IN_ALL
gboolean        cairn_item_model_is_item_loaded   (CairnItemModel      *self,
                                                   guint                position);

G_END_DECLS
