/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-collection-node.h"

G_BEGIN_DECLS

CairnCollectionNode *_cairn_collection_node_new    (CairnCollection     *collection,
                                                    guint64              item_count,
                                                    guint64              unread_count);
void                 _cairn_collection_node_update (CairnCollectionNode *self,
                                                    CairnCollection     *collection,
                                                    guint64              item_count,
                                                    guint64              unread_count);

G_END_DECLS
