/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-collection.h"
#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_COLLECTION_MODEL (cairn_collection_model_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnCollectionModel, cairn_collection_model, CAIRN, COLLECTION_MODEL,
                      GObject)

CAIRN_AVAILABLE_IN_ALL
CairnCollectionModel *cairn_collection_model_new             (CairnStore           *store,
                                                              const char           *resource);
CAIRN_AVAILABLE_IN_ALL
CairnCollectionModel *cairn_collection_model_get_child_model (CairnCollectionModel *self,
                                                              CairnCollection      *collection);
CAIRN_AVAILABLE_IN_ALL
CairnStore           *cairn_collection_model_get_store       (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
const char           *cairn_collection_model_get_resource    (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64               cairn_collection_model_get_parent_id   (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64               cairn_collection_model_get_item_count  (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64               cairn_collection_model_get_unread_count (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_collection_model_get_loading     (CairnCollectionModel *self);
CAIRN_AVAILABLE_IN_ALL
guint64               cairn_collection_model_get_revision    (CairnCollectionModel *self);

G_END_DECLS
