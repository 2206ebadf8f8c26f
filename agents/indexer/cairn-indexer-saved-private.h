/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_INDEXER_SAVED (cairn_indexer_saved_get_type ())
G_DECLARE_FINAL_TYPE (CairnIndexerSaved, cairn_indexer_saved, CAIRN, INDEXER_SAVED, GObject)

CairnIndexerSaved *cairn_indexer_saved_new          (CairnStore        *store);
void               cairn_indexer_saved_queue_update (CairnIndexerSaved *self);
void               cairn_indexer_saved_free         (CairnIndexerSaved *self);

G_END_DECLS
