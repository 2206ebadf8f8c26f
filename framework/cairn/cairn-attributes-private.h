/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Items and collections keep attributes in a table name -> GBytes that is
 * created on first use; a NULL value asks the store to remove the
 * attribute. */
void    _cairn_attributes_set  (GHashTable **attributes,
                                const char  *name,
                                GBytes      *value);
char  **_cairn_attributes_list (GHashTable  *attributes);

/* The order of two strings, for qsort() and g_ptr_array_sort() of names. */
int     _cairn_compare_names   (const void  *a,
                                const void  *b);

G_END_DECLS
