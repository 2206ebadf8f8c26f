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

G_END_DECLS
