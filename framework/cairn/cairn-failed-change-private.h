/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-failed-change.h"

G_BEGIN_DECLS

CairnFailedChange *_cairn_failed_change_new (guint64      id,
                                             CairnChange *change,
                                             const char  *reason,
                                             gint64       failed_at);

G_END_DECLS
