/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define __CAIRN_H_INSIDE__

#include "cairn-version-macros.h"
#include "cairn-version.h"
#include "cairn-enum-types.h"
#include "cairn-agent.h"
#include "cairn-agent-type.h"
#include "cairn-cache-policy.h"
#include "cairn-change.h"
#include "cairn-change-recorder.h"
#include "cairn-collection.h"
#include "cairn-collection-model.h"
#include "cairn-failed-change.h"
#include "cairn-fetch-scope.h"
#include "cairn-file-tree.h"
#include "cairn-flags.h"
#include "cairn-flags-delta.h"
#include "cairn-item.h"
#include "cairn-item-model.h"
#include "cairn-item-query.h"
#include "cairn-item-sync.h"
#include "cairn-monitor.h"
#include "cairn-observer.h"
#include "cairn-part.h"
#include "cairn-relation.h"
#include "cairn-resource.h"
#include "cairn-search.h"
#include "cairn-search-thread.h"
#include "cairn-secrets.h"
#include "cairn-store.h"
#include "cairn-tag.h"
#include "cairn-transaction.h"
#include "cairn-autocleanups.h"

#undef __CAIRN_H_INSIDE__
