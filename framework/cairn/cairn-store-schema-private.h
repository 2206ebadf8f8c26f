/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"

G_BEGIN_DECLS

gboolean _cairn_store_schema_read_version (CairnDatabase  *database,
                                           const char     *path,
                                           int            *version,
                                           GError        **error);
gboolean _cairn_store_schema_migrate      (CairnDatabase  *database,
                                           const char     *path,
                                           GError        **error);

G_END_DECLS
