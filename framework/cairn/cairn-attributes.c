/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "cairn-attributes-private.h"

void
_cairn_attributes_set (GHashTable **attributes,
                       const char  *name,
                       GBytes      *value)
{
  if (*attributes == NULL)
    *attributes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_bytes_unref);

  g_hash_table_replace (*attributes, g_strdup (name), value ? g_bytes_ref (value) : NULL);
}

int
_cairn_compare_names (const void *a,
                      const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
_cairn_attributes_list (GHashTable *attributes)
{
  g_autofree gpointer *keys = NULL;
  char **names;
  guint n = 0;

  if (attributes == NULL)
    return g_new0 (char *, 1);

  keys = g_hash_table_get_keys_as_array (attributes, &n);
  names = g_new (char *, n + 1);
  for (guint i = 0; i < n; i++)
    names[i] = g_strdup (keys[i]);
  names[n] = NULL;
  qsort (names, n, sizeof (char *), _cairn_compare_names);

  return names;
}
