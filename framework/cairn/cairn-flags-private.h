/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-flags.h"

G_BEGIN_DECLS

CairnFlags *_cairn_flags_new_from_string (const char *joined);

G_END_DECLS
