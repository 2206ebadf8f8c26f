/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-collection.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_COLLECTION_NODE (cairn_collection_node_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnCollectionNode, cairn_collection_node, CAIRN, COLLECTION_NODE, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnCollection *cairn_collection_node_get_collection   (CairnCollectionNode *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_collection_node_get_id           (CairnCollectionNode *self);
CAIRN_AVAILABLE_IN_ALL
const char      *cairn_collection_node_get_name         (CairnCollectionNode *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_collection_node_get_item_count   (CairnCollectionNode *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_collection_node_get_unread_count (CairnCollectionNode *self);

G_END_DECLS
