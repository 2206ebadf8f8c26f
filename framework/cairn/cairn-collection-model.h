/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-collection-node.h"
#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_COLLECTION_MODEL (cairn_collection_model_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnCollectionModel, cairn_collection_model, CAIRN, COLLECTION_MODEL,
                      GObject)

CAIRN_AVAILABLE_IN_ALL
CairnCollectionModel *cairn_collection_model_new_sync      (CairnStore           *store,
                                                            const char           *resource,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
CAIRN_AVAILABLE_IN_ALL
void                  cairn_collection_model_new_async     (CairnStore           *store,
                                                            const char           *resource,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
CairnCollectionModel *cairn_collection_model_new_finish    (GAsyncResult         *result,
                                                            GError              **error);
CAIRN_AVAILABLE_IN_ALL
CairnStore           *cairn_collection_model_get_store     (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
const char           *cairn_collection_model_get_resource  (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64               cairn_collection_model_get_parent_id (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
GListModel           *cairn_collection_model_get_children  (CairnCollectionModel *self,
                                                            CairnCollectionNode  *node);

G_END_DECLS
