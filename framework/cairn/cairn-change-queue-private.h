/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-change.h"
#include "cairn-store-private.h"

G_BEGIN_DECLS

GPtrArray *_cairn_coalesce_changes (GPtrArray *changes);

typedef struct _CairnChunkPlan CairnChunkPlan;

CairnChunkPlan *_cairn_chunk_plan_new    (guint64               start);
void            _cairn_chunk_plan_add    (const CairnChangeKey *key,
                                          gpointer              plan);
GArray         *_cairn_chunk_plan_finish (CairnChunkPlan       *plan,
                                          guint                 min_length);
void            _cairn_chunk_plan_free   (CairnChunkPlan       *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnChunkPlan, _cairn_chunk_plan_free)

G_END_DECLS
