/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-item-query.h"

G_BEGIN_DECLS

/* What a query selects, copied when a model is made from it, so that the
 * model's worker threads read it while the query may change. Dates are
 * unix seconds; the flag lists are JSON arrays for json_each(). */
typedef struct
{
  guint64 collection_id;      /* 0: every collection */
  gboolean is_virtual;        /* set by the model's first read */
  char *mime_type;
  gboolean has_date_from;
  gint64 date_from;
  gboolean has_date_to;
  gint64 date_to;
  char *flags_set;
  char *flags_unset;
  gboolean ascending;         /* CAIRN_ITEM_SORT_OLDEST_FIRST */
  char *search;               /* a CairnSearch query, or NULL */
  /* What the search matched when last run, set by the model's jobs
   * (which run one at a time): the ids sorted, and as a JSON array. */
  GArray *matches;
  char *matches_json;
} CairnItemFilter;

CairnItemFilter *_cairn_item_query_get_filter (CairnItemQuery  *self);
void             _cairn_item_filter_free      (CairnItemFilter *filter);
void             _cairn_item_filter_set_matches (CairnItemFilter *filter,
                                                 GArray          *matches);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnItemFilter, _cairn_item_filter_free)

G_END_DECLS
