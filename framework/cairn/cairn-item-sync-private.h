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

typedef void (*CairnItemSyncProgressFunc) (CairnItemSync *self,
                                           guint64        n_seen,
                                           guint64        n_expected,
                                           gpointer       user_data);

void           _cairn_item_sync_watch_progress (CairnItemSync             *self,
                                                GMainContext              *context,
                                                CairnItemSyncProgressFunc  func,
                                                gpointer                   user_data);
void           _cairn_item_sync_unwatch_progress (CairnItemSync           *self);
void           _cairn_item_sync_get_progress     (CairnItemSync           *self,
                                                  guint64                 *n_seen,
                                                  guint64                 *n_expected);

G_END_DECLS
