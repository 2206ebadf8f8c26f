/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"
#include "cairn-store.h"
#include "cairn-transaction.h"

G_BEGIN_DECLS

CairnTransaction *_cairn_transaction_new            (CairnStore        *store,
                                                     CairnDatabase     *database);
gboolean          _cairn_transaction_prepare_commit (CairnTransaction  *self,
                                                     GError           **error);
void              _cairn_transaction_finish         (CairnTransaction  *self,
                                                     gboolean           committed);
gboolean          _cairn_transaction_retry_failed_changes (CairnTransaction  *self,
                                                           const char        *consumer,
                                                           const guint64     *ids,
                                                           gsize              n_ids,
                                                           GError           **error);
gboolean          _cairn_transaction_set_remote_ids (CairnTransaction  *self,
                                                     CairnEntityKind    kind,
                                                     guint64            id,
                                                     const char        *remote_id,
                                                     const char        *remote_revision,
                                                     GError           **error);
gboolean          _cairn_transaction_set_flags      (CairnTransaction  *self,
                                                     guint64            item_id,
                                                     const CairnFlags  *wanted,
                                                     GError           **error);
gboolean          _cairn_transaction_lend_remote_id (CairnTransaction  *self,
                                                     CairnEntityKind    kind,
                                                     guint64            id,
                                                     guint64            revision,
                                                     const char        *remote_id,
                                                     GError           **error);

G_END_DECLS
