/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

G_BEGIN_DECLS

GBytes *_cairn_test_read_part (CairnStore *store,
                               guint64     item_id,
                               const char *part);

G_END_DECLS
