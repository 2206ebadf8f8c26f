/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include "cairn-cache-policy.h"
#include "cairn-change.h"
#include "cairn-failed-change.h"
#include "cairn-fetch-scope.h"
#include "cairn-flags.h"
#include "cairn-flags-delta.h"
#include "cairn-part.h"
#include "cairn-search-thread.h"

#ifndef __GI_SCANNER__
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnCachePolicy, cairn_cache_policy_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnChange, cairn_change_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnFailedChange, cairn_failed_change_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnFetchScope, cairn_fetch_scope_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnFlags, cairn_flags_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnFlagsDelta, cairn_flags_delta_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnPart, cairn_part_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnSearchThread, cairn_search_thread_unref)
#endif
