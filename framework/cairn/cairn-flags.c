/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-flags.h"
#include "cairn-flags-private.h"

/* Flags are interned: an item list of 100k items carries a handful of
 * distinct flags, and interned strings compare by pointer. */
struct _CairnFlags
{
  GPtrArray *flags;
};

G_DEFINE_BOXED_TYPE (CairnFlags, cairn_flags, cairn_flags_copy, cairn_flags_free)

/**
 * cairn_flag_is_valid:
 * @flag: (nullable): a flag name
 *
 * Checks that @flag can be stored: a non-empty UTF-8 string without white
 * space or control characters.
 *
 * Returns: %TRUE if @flag is a valid flag
 *
 * Since: 0.1
 */
gboolean
cairn_flag_is_valid (const char *flag)
{
  const char *p;

  if (flag == NULL || *flag == '\0')
    return FALSE;

  /* Nearly every name is printable ASCII; only the rest needs Unicode rules. */
  for (p = flag; *p > 0x20 && *p < 0x7f; p++)
    ;
  if (*p == '\0')
    return TRUE;

  if (!g_utf8_validate (flag, -1, NULL))
    return FALSE;

  for (p = flag; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        return FALSE;
    }

  return TRUE;
}

/**
 * cairn_flags_new:
 *
 * Creates an empty set of flags.
 *
 * Returns: (transfer full): a new #CairnFlags
 *
 * Since: 0.1
 */
CairnFlags *
cairn_flags_new (void)
{
  CairnFlags *flags = g_slice_new (CairnFlags);

  flags->flags = g_ptr_array_new ();

  return flags;
}

/**
 * cairn_flags_new_from_strv:
 * @flags: (array zero-terminated=1) (nullable): flag names
 *
 * Creates a set holding the valid flags of @flags; invalid ones are skipped
 * with a critical warning.
 *
 * Returns: (transfer full): a new #CairnFlags
 *
 * Since: 0.1
 */
CairnFlags *
cairn_flags_new_from_strv (const char * const *flags)
{
  CairnFlags *set = cairn_flags_new ();

  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    cairn_flags_add (set, flags[i]);

  return set;
}

/**
 * cairn_flags_copy:
 * @flags: a #CairnFlags
 *
 * Copies @flags.
 *
 * Returns: (transfer full): a copy of @flags
 *
 * Since: 0.1
 */
CairnFlags *
cairn_flags_copy (const CairnFlags *flags)
{
  CairnFlags *copy;

  g_return_val_if_fail (flags != NULL, NULL);

  copy = g_slice_new (CairnFlags);
  copy->flags = g_ptr_array_copy (flags->flags, NULL, NULL);

  return copy;
}

/**
 * cairn_flags_free:
 * @flags: (nullable): a #CairnFlags
 *
 * Frees @flags.
 *
 * Since: 0.1
 */
void
cairn_flags_free (CairnFlags *flags)
{
  if (flags == NULL)
    return;

  g_ptr_array_unref (flags->flags);
  g_slice_free (CairnFlags, flags);
}

/* Binary search over the sorted array; returns the index where @flag is or
 * would be inserted. */
static guint
cairn_flags_search (const CairnFlags *flags,
                    const char       *flag,
                    gboolean         *found)
{
  guint lo = 0, hi = flags->flags->len;

  *found = FALSE;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      int cmp = strcmp (g_ptr_array_index (flags->flags, mid), flag);

      if (cmp == 0)
        {
          *found = TRUE;
          return mid;
        }
      if (cmp < 0)
        lo = mid + 1;
      else
        hi = mid;
    }

  return lo;
}

/**
 * cairn_flags_add:
 * @flags: a #CairnFlags
 * @flag: a valid flag name, see cairn_flag_is_valid()
 *
 * Adds @flag to the set.
 *
 * Returns: %TRUE if @flag was not in the set before
 *
 * Since: 0.1
 */
gboolean
cairn_flags_add (CairnFlags *flags,
                 const char *flag)
{
  gboolean found;
  guint index_;

  g_return_val_if_fail (flags != NULL, FALSE);
  g_return_val_if_fail (cairn_flag_is_valid (flag), FALSE);

  index_ = cairn_flags_search (flags, flag, &found);
  if (found)
    return FALSE;

  g_ptr_array_insert (flags->flags, index_, (gpointer) g_intern_string (flag));
  return TRUE;
}

/**
 * cairn_flags_remove:
 * @flags: a #CairnFlags
 * @flag: a flag name
 *
 * Removes @flag from the set.
 *
 * Returns: %TRUE if @flag was in the set
 *
 * Since: 0.1
 */
gboolean
cairn_flags_remove (CairnFlags *flags,
                    const char *flag)
{
  gboolean found;
  guint index_;

  g_return_val_if_fail (flags != NULL, FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);

  index_ = cairn_flags_search (flags, flag, &found);
  if (found)
    g_ptr_array_remove_index (flags->flags, index_);

  return found;
}

/**
 * cairn_flags_update:
 * @flags: a #CairnFlags
 * @added: (nullable): flags to add
 * @removed: (nullable): flags to remove
 *
 * Applies a flag change as a replay method gets it (the added set and
 * the removed set) to @flags: a delta, never a new full state, so that
 * applying it twice gives the same.
 *
 * Returns: %TRUE if @flags changed
 *
 * Since: 0.1
 */
gboolean
cairn_flags_update (CairnFlags       *flags,
                    const CairnFlags *added,
                    const CairnFlags *removed)
{
  gboolean changed = FALSE;

  g_return_val_if_fail (flags != NULL, FALSE);

  for (guint i = 0; added != NULL && i < added->flags->len; i++)
    changed |= cairn_flags_add (flags, g_ptr_array_index (added->flags, i));
  for (guint i = 0; removed != NULL && i < removed->flags->len; i++)
    changed |= cairn_flags_remove (flags, g_ptr_array_index (removed->flags, i));
  return changed;
}

/**
 * cairn_flags_contains:
 * @flags: a #CairnFlags
 * @flag: a flag name
 *
 * Checks whether @flag is in the set.
 *
 * Returns: %TRUE if @flag is in the set
 *
 * Since: 0.1
 */
gboolean
cairn_flags_contains (const CairnFlags *flags,
                      const char       *flag)
{
  gboolean found;

  g_return_val_if_fail (flags != NULL, FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);

  cairn_flags_search (flags, flag, &found);
  return found;
}

/**
 * cairn_flags_get_size:
 * @flags: a #CairnFlags
 *
 * Gets the number of flags in the set.
 *
 * Returns: the number of flags in the set
 *
 * Since: 0.1
 */
guint
cairn_flags_get_size (const CairnFlags *flags)
{
  g_return_val_if_fail (flags != NULL, 0);

  return flags->flags->len;
}

/**
 * cairn_flags_get_flag:
 * @flags: a #CairnFlags
 * @index_: an index below cairn_flags_get_size()
 *
 * Gets one flag of the set, by its index in sorted order.
 *
 * Returns: the flag at @index_ in sorted order
 *
 * Since: 0.1
 */
const char *
cairn_flags_get_flag (const CairnFlags *flags,
                      guint             index_)
{
  g_return_val_if_fail (flags != NULL, NULL);
  g_return_val_if_fail (index_ < flags->flags->len, NULL);

  return g_ptr_array_index (flags->flags, index_);
}

/**
 * cairn_flags_to_strv:
 * @flags: a #CairnFlags
 *
 * Lists the flags of the set.
 *
 * Returns: (transfer full) (array zero-terminated=1): the flags, sorted
 *
 * Since: 0.1
 */
char **
cairn_flags_to_strv (const CairnFlags *flags)
{
  char **strv;

  g_return_val_if_fail (flags != NULL, NULL);

  strv = g_new (char *, flags->flags->len + 1);
  for (guint i = 0; i < flags->flags->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (flags->flags, i));
  strv[flags->flags->len] = NULL;

  return strv;
}

/**
 * cairn_flags_to_string:
 * @flags: a #CairnFlags
 *
 * Formats the set as one string.
 *
 * Returns: (transfer full): the flags separated by single spaces, sorted;
 *   an empty string for an empty set
 *
 * Since: 0.1
 */
char *
cairn_flags_to_string (const CairnFlags *flags)
{
  GString *s;

  g_return_val_if_fail (flags != NULL, NULL);

  s = g_string_new (NULL);
  for (guint i = 0; i < flags->flags->len; i++)
    {
      if (i > 0)
        g_string_append_c (s, ' ');
      g_string_append (s, g_ptr_array_index (flags->flags, i));
    }

  return g_string_free (s, FALSE);
}

/**
 * cairn_flags_equal:
 * @a: a #CairnFlags
 * @b: a #CairnFlags
 *
 * Compares two flag sets.
 *
 * Returns: %TRUE if both sets hold the same flags
 *
 * Since: 0.1
 */
gboolean
cairn_flags_equal (const CairnFlags *a,
                   const CairnFlags *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a->flags->len != b->flags->len)
    return FALSE;

  for (guint i = 0; i < a->flags->len; i++)
    if (g_ptr_array_index (a->flags, i) != g_ptr_array_index (b->flags, i))
      return FALSE;

  return TRUE;
}

/* Parses the space-separated form the store keeps in its columns. Names in
 * the store were validated on the way in, so they are appended unchecked. */
CairnFlags *
_cairn_flags_new_from_string (const char *joined)
{
  CairnFlags *flags = cairn_flags_new ();
  const char *start = joined;

  while (start != NULL && *start != '\0')
    {
      const char *end = strchr (start, ' ');
      gsize len = end ? (gsize) (end - start) : strlen (start);
      g_autofree char *flag = g_strndup (start, len);
      gboolean found;
      guint index_ = cairn_flags_search (flags, flag, &found);

      if (!found && len > 0)
        g_ptr_array_insert (flags->flags, index_, (gpointer) g_intern_string (flag));
      start = end ? end + 1 : NULL;
    }

  return flags;
}
