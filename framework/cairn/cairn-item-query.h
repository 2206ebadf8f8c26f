/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CairnItemSort:
 * @CAIRN_ITEM_SORT_NEWEST_FIRST: by date, newest first; items without a
 *   date last; items of the same date by id, highest first
 * @CAIRN_ITEM_SORT_OLDEST_FIRST: by date, oldest first, the exact
 *   reverse: items without a date first; items of the same date by id,
 *   lowest first
 *
 * The order of the items of a #CairnItemModel.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_ITEM_SORT_NEWEST_FIRST,
  CAIRN_ITEM_SORT_OLDEST_FIRST,
} CairnItemSort;

#define CAIRN_TYPE_ITEM_QUERY (cairn_item_query_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnItemQuery, cairn_item_query, CAIRN, ITEM_QUERY, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnItemQuery *cairn_item_query_new               (void);
CAIRN_AVAILABLE_IN_ALL
guint64         cairn_item_query_get_collection_id (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_collection_id (CairnItemQuery *self,
                                                    guint64         collection_id);
CAIRN_AVAILABLE_IN_ALL
const char     *cairn_item_query_get_mime_type     (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_mime_type     (CairnItemQuery *self,
                                                    const char     *mime_type);
CAIRN_AVAILABLE_IN_ALL
GDateTime      *cairn_item_query_get_date_from     (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_date_from     (CairnItemQuery *self,
                                                    GDateTime      *date);
CAIRN_AVAILABLE_IN_ALL
GDateTime      *cairn_item_query_get_date_to       (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_date_to       (CairnItemQuery *self,
                                                    GDateTime      *date);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_require_flag      (CairnItemQuery *self,
                                                    const char     *flag);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_exclude_flag      (CairnItemQuery *self,
                                                    const char     *flag);
CAIRN_AVAILABLE_IN_ALL
char          **cairn_item_query_get_required_flags (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
char          **cairn_item_query_get_excluded_flags (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
const char     *cairn_item_query_get_search        (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_search        (CairnItemQuery *self,
                                                    const char     *search);
CAIRN_AVAILABLE_IN_ALL
CairnItemSort   cairn_item_query_get_sort          (CairnItemQuery *self);
CAIRN_AVAILABLE_IN_ALL
void            cairn_item_query_set_sort          (CairnItemQuery *self,
                                                    CairnItemSort   sort);

G_END_DECLS
