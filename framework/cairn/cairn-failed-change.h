/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-change.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_FAILED_CHANGE (cairn_failed_change_get_type ())

typedef struct _CairnFailedChange CairnFailedChange;

CAIRN_AVAILABLE_IN_ALL
GType              cairn_failed_change_get_type      (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnFailedChange *cairn_failed_change_ref           (CairnFailedChange *self);
CAIRN_AVAILABLE_IN_ALL
void               cairn_failed_change_unref         (CairnFailedChange *self);
CAIRN_AVAILABLE_IN_ALL
guint64            cairn_failed_change_get_id        (CairnFailedChange *self);
CAIRN_AVAILABLE_IN_ALL
CairnChange       *cairn_failed_change_get_change    (CairnFailedChange *self);
CAIRN_AVAILABLE_IN_ALL
const char        *cairn_failed_change_get_reason    (CairnFailedChange *self);
CAIRN_AVAILABLE_IN_ALL
GDateTime         *cairn_failed_change_get_failed_at (CairnFailedChange *self);

G_END_DECLS
