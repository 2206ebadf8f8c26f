/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-change.h"

G_BEGIN_DECLS

GPtrArray *_cairn_coalesce_changes (GPtrArray *changes);

G_END_DECLS
