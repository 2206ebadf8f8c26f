/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-item-sync.h"
#include "cairn-store.h"

G_BEGIN_DECLS

CairnItemSync *_cairn_item_sync_new    (CairnStore       *store,
                                        CairnCollection  *collection,
                                        const char       *resource,
                                        guint64           recorder_revision,
                                        GError          **error);
gboolean       _cairn_item_sync_finish (CairnItemSync    *self,
                                        GError          **error);

G_END_DECLS
