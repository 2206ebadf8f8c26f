/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-resource.h"

G_BEGIN_DECLS

void _cairn_resource_set_change_log_error (CairnResource *self,
                                           const GError  *error);

G_END_DECLS
