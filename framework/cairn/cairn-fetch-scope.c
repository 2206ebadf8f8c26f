/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-fetch-scope.h"
#include "cairn-part.h"

struct _CairnFetchScope
{
  gatomicrefcount ref_count;
  GPtrArray *parts;
  gboolean all_parts;
  gboolean attributes;
  gboolean tags;
};

G_DEFINE_BOXED_TYPE (CairnFetchScope, cairn_fetch_scope, cairn_fetch_scope_ref,
                     cairn_fetch_scope_unref)

/**
 * cairn_fetch_scope_new:
 *
 * Creates a scope that loads no parts, no attributes and no tags.
 *
 * Returns: (transfer full): a new #CairnFetchScope
 *
 * Since: 0.1
 */
CairnFetchScope *
cairn_fetch_scope_new (void)
{
  CairnFetchScope *scope = g_slice_new0 (CairnFetchScope);

  g_atomic_ref_count_init (&scope->ref_count);
  scope->parts = g_ptr_array_new_null_terminated (2, g_free, TRUE);

  return scope;
}

/**
 * cairn_fetch_scope_ref:
 * @scope: a #CairnFetchScope
 *
 * Takes a reference on @scope.
 *
 * Returns: (transfer full): @scope
 *
 * Since: 0.1
 */
CairnFetchScope *
cairn_fetch_scope_ref (CairnFetchScope *scope)
{
  g_return_val_if_fail (scope != NULL, NULL);

  g_atomic_ref_count_inc (&scope->ref_count);
  return scope;
}

/**
 * cairn_fetch_scope_unref:
 * @scope: (transfer full): a #CairnFetchScope
 *
 * Drops a reference to @scope.
 *
 * Since: 0.1
 */
void
cairn_fetch_scope_unref (CairnFetchScope *scope)
{
  g_return_if_fail (scope != NULL);

  if (!g_atomic_ref_count_dec (&scope->ref_count))
    return;

  g_ptr_array_unref (scope->parts);
  g_slice_free (CairnFetchScope, scope);
}

/**
 * cairn_fetch_scope_add_part:
 * @scope: a #CairnFetchScope
 * @name: a valid part name
 *
 * Asks for the part @name of each item, with its data if it is inline.
 *
 * Since: 0.1
 */
void
cairn_fetch_scope_add_part (CairnFetchScope *scope,
                            const char      *name)
{
  g_return_if_fail (scope != NULL);
  g_return_if_fail (cairn_part_name_is_valid (name));

  if (!g_strv_contains ((const char * const *) scope->parts->pdata, name))
    g_ptr_array_add (scope->parts, g_strdup (name));
}

/**
 * cairn_fetch_scope_get_parts:
 * @scope: a #CairnFetchScope
 *
 * Gets the names of the parts to load.
 *
 * Returns: (transfer none) (array zero-terminated=1): the part names asked
 *   for
 *
 * Since: 0.1
 */
const char * const *
cairn_fetch_scope_get_parts (const CairnFetchScope *scope)
{
  g_return_val_if_fail (scope != NULL, NULL);

  return (const char * const *) scope->parts->pdata;
}

/**
 * cairn_fetch_scope_set_all_parts:
 * @scope: a #CairnFetchScope
 * @all_parts: whether to load every part
 *
 * Sets whether every part is loaded.
 *
 * Since: 0.1
 */
void
cairn_fetch_scope_set_all_parts (CairnFetchScope *scope,
                                 gboolean         all_parts)
{
  g_return_if_fail (scope != NULL);

  scope->all_parts = !!all_parts;
}

/**
 * cairn_fetch_scope_get_all_parts:
 * @scope: a #CairnFetchScope
 *
 * Gets whether every part is loaded.
 *
 * Returns: %TRUE if every part is loaded
 *
 * Since: 0.1
 */
gboolean
cairn_fetch_scope_get_all_parts (const CairnFetchScope *scope)
{
  g_return_val_if_fail (scope != NULL, FALSE);

  return scope->all_parts;
}

/**
 * cairn_fetch_scope_set_attributes:
 * @scope: a #CairnFetchScope
 * @attributes: whether to load each item's attributes
 *
 * Sets whether attributes are loaded.
 *
 * Since: 0.1
 */
void
cairn_fetch_scope_set_attributes (CairnFetchScope *scope,
                                  gboolean         attributes)
{
  g_return_if_fail (scope != NULL);

  scope->attributes = !!attributes;
}

/**
 * cairn_fetch_scope_get_attributes:
 * @scope: a #CairnFetchScope
 *
 * Gets whether attributes are loaded.
 *
 * Returns: %TRUE if attributes are loaded
 *
 * Since: 0.1
 */
gboolean
cairn_fetch_scope_get_attributes (const CairnFetchScope *scope)
{
  g_return_val_if_fail (scope != NULL, FALSE);

  return scope->attributes;
}

/**
 * cairn_fetch_scope_set_tags:
 * @scope: a #CairnFetchScope
 * @tags: whether to load each item's tags (cairn_item_get_tags())
 *
 * Sets whether tags are loaded: for a page of items, in one query, where
 * cairn_store_list_item_tags() takes one an item.
 *
 * Since: 0.1
 */
void
cairn_fetch_scope_set_tags (CairnFetchScope *scope,
                            gboolean         tags)
{
  g_return_if_fail (scope != NULL);

  scope->tags = !!tags;
}

/**
 * cairn_fetch_scope_get_tags:
 * @scope: a #CairnFetchScope
 *
 * Gets whether tags are loaded.
 *
 * Returns: %TRUE if tags are loaded
 *
 * Since: 0.1
 */
gboolean
cairn_fetch_scope_get_tags (const CairnFetchScope *scope)
{
  g_return_val_if_fail (scope != NULL, FALSE);

  return scope->tags;
}
