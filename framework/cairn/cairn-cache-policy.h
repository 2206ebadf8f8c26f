/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_CACHE_POLICY (cairn_cache_policy_get_type ())

/**
 * CairnCachePolicy:
 *
 * How a collection's items are kept: whether the policy is inherited from
 * the parent, how often the resource checks the collection, how long
 * payloads stay cached, whether opening the collection syncs it, and which
 * parts are always kept locally.
 *
 * Since: 0.1
 */
typedef struct _CairnCachePolicy CairnCachePolicy;

CAIRN_AVAILABLE_IN_ALL
GType               cairn_cache_policy_get_type               (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnCachePolicy   *cairn_cache_policy_new                    (void);
CAIRN_AVAILABLE_IN_ALL
CairnCachePolicy   *cairn_cache_policy_copy                   (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_free                   (CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_cache_policy_get_inherit            (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_set_inherit            (CairnCachePolicy *policy,
                                                               gboolean          inherit);
CAIRN_AVAILABLE_IN_ALL
int                 cairn_cache_policy_get_check_interval     (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_set_check_interval     (CairnCachePolicy *policy,
                                                               int               minutes);
CAIRN_AVAILABLE_IN_ALL
int                 cairn_cache_policy_get_cache_timeout      (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_set_cache_timeout      (CairnCachePolicy *policy,
                                                               int               minutes);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_cache_policy_get_sync_on_demand     (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_set_sync_on_demand     (CairnCachePolicy *policy,
                                                               gboolean          sync_on_demand);
CAIRN_AVAILABLE_IN_ALL
const char * const *cairn_cache_policy_get_local_parts        (const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
void                cairn_cache_policy_set_local_parts        (CairnCachePolicy   *policy,
                                                               const char * const *parts);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_cache_policy_equal                  (const CairnCachePolicy *a,
                                                               const CairnCachePolicy *b);

G_END_DECLS
