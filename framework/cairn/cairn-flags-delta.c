/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-flags-delta.h"

struct _CairnFlagsDelta
{
  CairnFlags *added;
  CairnFlags *removed;
};

G_DEFINE_BOXED_TYPE (CairnFlagsDelta, cairn_flags_delta, cairn_flags_delta_copy,
                     cairn_flags_delta_free)

/**
 * cairn_flags_delta_new:
 *
 * Creates an empty delta.
 *
 * Returns: (transfer full): a new #CairnFlagsDelta
 *
 * Since: 0.1
 */
CairnFlagsDelta *
cairn_flags_delta_new (void)
{
  CairnFlagsDelta *delta = g_slice_new (CairnFlagsDelta);

  delta->added = cairn_flags_new ();
  delta->removed = cairn_flags_new ();

  return delta;
}

/**
 * cairn_flags_delta_new_from_strv:
 * @added: (array zero-terminated=1) (nullable): flags to add
 * @removed: (array zero-terminated=1) (nullable): flags to remove
 *
 * Creates a delta adding @added and then removing @removed.
 *
 * Returns: (transfer full): a new #CairnFlagsDelta
 *
 * Since: 0.1
 */
CairnFlagsDelta *
cairn_flags_delta_new_from_strv (const char * const *added,
                                 const char * const *removed)
{
  CairnFlagsDelta *delta = cairn_flags_delta_new ();

  for (guint i = 0; added != NULL && added[i] != NULL; i++)
    cairn_flags_delta_add (delta, added[i]);
  for (guint i = 0; removed != NULL && removed[i] != NULL; i++)
    cairn_flags_delta_remove (delta, removed[i]);

  return delta;
}

/**
 * cairn_flags_delta_copy:
 * @delta: a #CairnFlagsDelta
 *
 * Copies @delta.
 *
 * Returns: (transfer full): a copy of @delta
 *
 * Since: 0.1
 */
CairnFlagsDelta *
cairn_flags_delta_copy (const CairnFlagsDelta *delta)
{
  CairnFlagsDelta *copy;

  g_return_val_if_fail (delta != NULL, NULL);

  copy = g_slice_new (CairnFlagsDelta);
  copy->added = cairn_flags_copy (delta->added);
  copy->removed = cairn_flags_copy (delta->removed);

  return copy;
}

/**
 * cairn_flags_delta_free:
 * @delta: (nullable): a #CairnFlagsDelta
 *
 * Frees @delta.
 *
 * Since: 0.1
 */
void
cairn_flags_delta_free (CairnFlagsDelta *delta)
{
  if (delta == NULL)
    return;

  cairn_flags_free (delta->added);
  cairn_flags_free (delta->removed);
  g_slice_free (CairnFlagsDelta, delta);
}

/**
 * cairn_flags_delta_add:
 * @delta: a #CairnFlagsDelta
 * @flag: a valid flag name
 *
 * Records that @flag is added. If the delta removed @flag, the removal is
 * cancelled instead.
 *
 * Since: 0.1
 */
void
cairn_flags_delta_add (CairnFlagsDelta *delta,
                       const char      *flag)
{
  g_return_if_fail (delta != NULL);
  g_return_if_fail (cairn_flag_is_valid (flag));

  if (!cairn_flags_remove (delta->removed, flag))
    cairn_flags_add (delta->added, flag);
}

/**
 * cairn_flags_delta_remove:
 * @delta: a #CairnFlagsDelta
 * @flag: a valid flag name
 *
 * Records that @flag is removed. If the delta added @flag, the addition is
 * cancelled instead.
 *
 * Since: 0.1
 */
void
cairn_flags_delta_remove (CairnFlagsDelta *delta,
                          const char      *flag)
{
  g_return_if_fail (delta != NULL);
  g_return_if_fail (cairn_flag_is_valid (flag));

  if (!cairn_flags_remove (delta->added, flag))
    cairn_flags_add (delta->removed, flag);
}

/**
 * cairn_flags_delta_get_added:
 * @delta: a #CairnFlagsDelta
 *
 * Gets the flags added.
 *
 * Returns: (transfer none): the flags added
 *
 * Since: 0.1
 */
const CairnFlags *
cairn_flags_delta_get_added (const CairnFlagsDelta *delta)
{
  g_return_val_if_fail (delta != NULL, NULL);

  return delta->added;
}

/**
 * cairn_flags_delta_get_removed:
 * @delta: a #CairnFlagsDelta
 *
 * Gets the flags removed.
 *
 * Returns: (transfer none): the flags removed
 *
 * Since: 0.1
 */
const CairnFlags *
cairn_flags_delta_get_removed (const CairnFlagsDelta *delta)
{
  g_return_val_if_fail (delta != NULL, NULL);

  return delta->removed;
}

/**
 * cairn_flags_delta_is_empty:
 * @delta: a #CairnFlagsDelta
 *
 * Checks whether the delta changes nothing.
 *
 * Returns: %TRUE if the delta neither adds nor removes a flag
 *
 * Since: 0.1
 */
gboolean
cairn_flags_delta_is_empty (const CairnFlagsDelta *delta)
{
  g_return_val_if_fail (delta != NULL, TRUE);

  return cairn_flags_get_size (delta->added) == 0 && cairn_flags_get_size (delta->removed) == 0;
}

/**
 * cairn_flags_delta_merge:
 * @delta: a #CairnFlagsDelta
 * @later: a delta applied after @delta
 *
 * Folds @later into @delta, so that applying @delta alone has the effect
 * of applying both in order: `+\Seen` then `-\Seen` cancel.
 *
 * Since: 0.1
 */
void
cairn_flags_delta_merge (CairnFlagsDelta       *delta,
                         const CairnFlagsDelta *later)
{
  g_return_if_fail (delta != NULL);
  g_return_if_fail (later != NULL);

  for (guint i = 0; i < cairn_flags_get_size (later->added); i++)
    cairn_flags_delta_add (delta, cairn_flags_get_flag (later->added, i));
  for (guint i = 0; i < cairn_flags_get_size (later->removed); i++)
    cairn_flags_delta_remove (delta, cairn_flags_get_flag (later->removed, i));
}

/**
 * cairn_flags_delta_apply:
 * @delta: a #CairnFlagsDelta
 * @flags: the flags to change
 *
 * Adds the added flags to @flags and removes the removed ones.
 *
 * Since: 0.1
 */
void
cairn_flags_delta_apply (const CairnFlagsDelta *delta,
                         CairnFlags            *flags)
{
  g_return_if_fail (delta != NULL);
  g_return_if_fail (flags != NULL);

  cairn_flags_update (flags, delta->added, delta->removed);
}
