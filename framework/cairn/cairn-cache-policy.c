/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-cache-policy.h"

struct _CairnCachePolicy
{
  gboolean inherit;
  int check_interval;
  int cache_timeout;
  gboolean sync_on_demand;
  char **local_parts;
};

G_DEFINE_BOXED_TYPE (CairnCachePolicy, cairn_cache_policy, cairn_cache_policy_copy,
                     cairn_cache_policy_free)

/**
 * cairn_cache_policy_new:
 *
 * Creates a policy that inherits everything from the parent collection.
 * Its own values, used once inheritance is turned off, are: no interval
 * check (-1), payloads cached forever (-1), no sync on demand, and no
 * parts required locally.
 *
 * Returns: (transfer full): a new #CairnCachePolicy
 *
 * Since: 0.1
 */
CairnCachePolicy *
cairn_cache_policy_new (void)
{
  CairnCachePolicy *policy = g_slice_new0 (CairnCachePolicy);

  policy->inherit = TRUE;
  policy->check_interval = -1;
  policy->cache_timeout = -1;
  policy->local_parts = g_new0 (char *, 1);

  return policy;
}

/**
 * cairn_cache_policy_copy:
 * @policy: a #CairnCachePolicy
 *
 * Copies @policy.
 *
 * Returns: (transfer full): a copy of @policy
 *
 * Since: 0.1
 */
CairnCachePolicy *
cairn_cache_policy_copy (const CairnCachePolicy *policy)
{
  CairnCachePolicy *copy;

  g_return_val_if_fail (policy != NULL, NULL);

  copy = g_slice_dup (CairnCachePolicy, policy);
  copy->local_parts = g_strdupv (policy->local_parts);

  return copy;
}

/**
 * cairn_cache_policy_free:
 * @policy: (nullable): a #CairnCachePolicy
 *
 * Frees @policy.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_free (CairnCachePolicy *policy)
{
  if (policy == NULL)
    return;

  g_strfreev (policy->local_parts);
  g_slice_free (CairnCachePolicy, policy);
}

/**
 * cairn_cache_policy_get_inherit:
 * @policy: a #CairnCachePolicy
 *
 * Gets whether the collection uses its parent's policy.
 *
 * Returns: %TRUE if the collection uses its parent's policy
 *
 * Since: 0.1
 */
gboolean
cairn_cache_policy_get_inherit (const CairnCachePolicy *policy)
{
  g_return_val_if_fail (policy != NULL, TRUE);

  return policy->inherit;
}

/**
 * cairn_cache_policy_set_inherit:
 * @policy: a #CairnCachePolicy
 * @inherit: whether to use the parent's policy
 *
 * Sets whether the collection uses its parent's policy.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_set_inherit (CairnCachePolicy *policy,
                                gboolean          inherit)
{
  g_return_if_fail (policy != NULL);

  policy->inherit = !!inherit;
}

/**
 * cairn_cache_policy_get_check_interval:
 * @policy: a #CairnCachePolicy
 *
 * Gets how many minutes pass between background syncs of the collection.
 *
 * Returns: minutes between background syncs of the collection, or -1 for
 *   never
 *
 * Since: 0.1
 */
int
cairn_cache_policy_get_check_interval (const CairnCachePolicy *policy)
{
  g_return_val_if_fail (policy != NULL, -1);

  return policy->check_interval;
}

/**
 * cairn_cache_policy_set_check_interval:
 * @policy: a #CairnCachePolicy
 * @minutes: minutes between background syncs, or -1 for never
 *
 * Sets how many minutes pass between background syncs of the collection.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_set_check_interval (CairnCachePolicy *policy,
                                       int               minutes)
{
  g_return_if_fail (policy != NULL);
  g_return_if_fail (minutes >= -1);

  policy->check_interval = minutes;
}

/**
 * cairn_cache_policy_get_cache_timeout:
 * @policy: a #CairnCachePolicy
 *
 * Gets how many minutes a payload stays cached after its last use.
 *
 * Returns: minutes a payload stays cached after its last use, or -1 for
 *   ever
 *
 * Since: 0.1
 */
int
cairn_cache_policy_get_cache_timeout (const CairnCachePolicy *policy)
{
  g_return_val_if_fail (policy != NULL, -1);

  return policy->cache_timeout;
}

/**
 * cairn_cache_policy_set_cache_timeout:
 * @policy: a #CairnCachePolicy
 * @minutes: minutes a payload stays cached, or -1 for ever
 *
 * Sets how many minutes a payload stays cached after its last use.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_set_cache_timeout (CairnCachePolicy *policy,
                                      int               minutes)
{
  g_return_if_fail (policy != NULL);
  g_return_if_fail (minutes >= -1);

  policy->cache_timeout = minutes;
}

/**
 * cairn_cache_policy_get_sync_on_demand:
 * @policy: a #CairnCachePolicy
 *
 * Gets whether opening the collection in a client syncs it.
 *
 * Returns: %TRUE if opening the collection in a client syncs it
 *
 * Since: 0.1
 */
gboolean
cairn_cache_policy_get_sync_on_demand (const CairnCachePolicy *policy)
{
  g_return_val_if_fail (policy != NULL, FALSE);

  return policy->sync_on_demand;
}

/**
 * cairn_cache_policy_set_sync_on_demand:
 * @policy: a #CairnCachePolicy
 * @sync_on_demand: whether opening the collection syncs it
 *
 * Sets whether opening the collection in a client syncs it.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_set_sync_on_demand (CairnCachePolicy *policy,
                                       gboolean          sync_on_demand)
{
  g_return_if_fail (policy != NULL);

  policy->sync_on_demand = !!sync_on_demand;
}

/**
 * cairn_cache_policy_get_local_parts:
 * @policy: a #CairnCachePolicy
 *
 * Gets the parts always kept locally, whatever the cache timeout.
 *
 * Returns: (transfer none) (array zero-terminated=1): the parts always kept
 *   locally, such as `ENVELOPE`
 *
 * Since: 0.1
 */
const char * const *
cairn_cache_policy_get_local_parts (const CairnCachePolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);

  return (const char * const *) policy->local_parts;
}

/**
 * cairn_cache_policy_set_local_parts:
 * @policy: a #CairnCachePolicy
 * @parts: (array zero-terminated=1) (nullable): valid part names
 *
 * Sets the parts always kept locally, whatever the cache timeout.
 *
 * Since: 0.1
 */
void
cairn_cache_policy_set_local_parts (CairnCachePolicy   *policy,
                                    const char * const *parts)
{
  g_return_if_fail (policy != NULL);

  g_strfreev (policy->local_parts);
  policy->local_parts = parts ? g_strdupv ((char **) parts) : g_new0 (char *, 1);
}

/**
 * cairn_cache_policy_equal:
 * @a: a #CairnCachePolicy
 * @b: a #CairnCachePolicy
 *
 * Compares two cache policies.
 *
 * Returns: %TRUE if both policies are the same
 *
 * Since: 0.1
 */
gboolean
cairn_cache_policy_equal (const CairnCachePolicy *a,
                          const CairnCachePolicy *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return a->inherit == b->inherit &&
         a->check_interval == b->check_interval &&
         a->cache_timeout == b->cache_timeout &&
         a->sync_on_demand == b->sync_on_demand &&
         g_strv_equal ((const char * const *) a->local_parts,
                       (const char * const *) b->local_parts);
}
