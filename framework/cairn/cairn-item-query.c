/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-enum-types.h"
#include "cairn-flags.h"
#include "cairn-item-query-private.h"
#include "cairn-store-private.h"

/**
 * CairnItemQuery:
 *
 * Which items a #CairnItemModel lists, and in which order: those of one
 * collection (or of every collection), of one MIME type, with some flags
 * set and others unset, dated within a range, that match a full-text
 * search (cairn_item_query_set_search()). Every condition left unset
 * selects everything; conditions combine with "and". The items come
 * newest first unless cairn_item_query_set_sort() says otherwise.
 *
 * A model copies its query when it is made: changing the query afterwards
 * does not change the model.
 *
 * ```c
 * g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
 *
 * cairn_item_query_set_collection_id (query, inbox_id);
 * cairn_item_query_exclude_flag (query, CAIRN_FLAG_SEEN);
 * cairn_item_query_set_search (query, "from:alice subject:report");
 * model = cairn_item_model_new (store, query);
 * ```
 *
 * Since: 0.1
 */

struct _CairnItemQuery
{
  GObject parent_instance;

  guint64 collection_id;
  char *mime_type;
  GDateTime *date_from;
  GDateTime *date_to;
  CairnFlags *required;
  CairnFlags *excluded;
  char *search;
  CairnItemSort sort;
};

G_DEFINE_FINAL_TYPE (CairnItemQuery, cairn_item_query, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_COLLECTION_ID,
  PROP_MIME_TYPE,
  PROP_DATE_FROM,
  PROP_DATE_TO,
  PROP_SEARCH,
  PROP_SORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cairn_item_query_finalize (GObject *object)
{
  CairnItemQuery *self = (CairnItemQuery *) object;

  g_free (self->mime_type);
  g_free (self->search);
  g_clear_pointer (&self->date_from, g_date_time_unref);
  g_clear_pointer (&self->date_to, g_date_time_unref);
  cairn_flags_free (self->required);
  cairn_flags_free (self->excluded);

  G_OBJECT_CLASS (cairn_item_query_parent_class)->finalize (object);
}

static void
cairn_item_query_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CairnItemQuery *self = CAIRN_ITEM_QUERY (object);

  switch (prop_id)
    {
    case PROP_COLLECTION_ID:
      g_value_set_uint64 (value, self->collection_id);
      break;
    case PROP_MIME_TYPE:
      g_value_set_string (value, self->mime_type);
      break;
    case PROP_DATE_FROM:
      g_value_set_boxed (value, self->date_from);
      break;
    case PROP_DATE_TO:
      g_value_set_boxed (value, self->date_to);
      break;
    case PROP_SEARCH:
      g_value_set_string (value, self->search);
      break;
    case PROP_SORT:
      g_value_set_enum (value, self->sort);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_query_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CairnItemQuery *self = CAIRN_ITEM_QUERY (object);

  switch (prop_id)
    {
    case PROP_COLLECTION_ID:
      cairn_item_query_set_collection_id (self, g_value_get_uint64 (value));
      break;
    case PROP_MIME_TYPE:
      cairn_item_query_set_mime_type (self, g_value_get_string (value));
      break;
    case PROP_DATE_FROM:
      cairn_item_query_set_date_from (self, g_value_get_boxed (value));
      break;
    case PROP_DATE_TO:
      cairn_item_query_set_date_to (self, g_value_get_boxed (value));
      break;
    case PROP_SEARCH:
      cairn_item_query_set_search (self, g_value_get_string (value));
      break;
    case PROP_SORT:
      cairn_item_query_set_sort (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_query_class_init (CairnItemQueryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cairn_item_query_finalize;
  object_class->get_property = cairn_item_query_get_property;
  object_class->set_property = cairn_item_query_set_property;

  /**
   * CairnItemQuery:collection-id:
   *
   * The collection whose items are selected (the items linked into it,
   * for a virtual collection), or 0 for the items of every collection.
   *
   * Since: 0.1
   */
  properties[PROP_COLLECTION_ID] =
    g_param_spec_uint64 ("collection-id", NULL, NULL, 0, G_MAXINT64, 0, flags);

  /**
   * CairnItemQuery:mime-type:
   *
   * The MIME type of the selected items, or %NULL for any.
   *
   * Since: 0.1
   */
  properties[PROP_MIME_TYPE] = g_param_spec_string ("mime-type", NULL, NULL, NULL, flags);

  /**
   * CairnItemQuery:date-from:
   *
   * The earliest date of the selected items (included), or %NULL for no
   * limit. With a limit, items without a date are not selected.
   *
   * Since: 0.1
   */
  properties[PROP_DATE_FROM] =
    g_param_spec_boxed ("date-from", NULL, NULL, G_TYPE_DATE_TIME, flags);

  /**
   * CairnItemQuery:date-to:
   *
   * The end of the date range (excluded), or %NULL for no limit. With a
   * limit, items without a date are not selected.
   *
   * Since: 0.1
   */
  properties[PROP_DATE_TO] = g_param_spec_boxed ("date-to", NULL, NULL, G_TYPE_DATE_TIME, flags);

  /**
   * CairnItemQuery:search:
   *
   * A full-text search in the query language of #CairnSearch
   * (docs/search.md) that the selected items must match, or %NULL for
   * none. It needs the indexer agent's search index.
   *
   * Since: 0.1
   */
  properties[PROP_SEARCH] = g_param_spec_string ("search", NULL, NULL, NULL, flags);

  /**
   * CairnItemQuery:sort:
   *
   * The order of the selected items.
   *
   * Since: 0.1
   */
  properties[PROP_SORT] =
    g_param_spec_enum ("sort", NULL, NULL, CAIRN_TYPE_ITEM_SORT, CAIRN_ITEM_SORT_NEWEST_FIRST,
                       flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_item_query_init (CairnItemQuery *self)
{
  self->required = cairn_flags_new ();
  self->excluded = cairn_flags_new ();
}

/**
 * cairn_item_query_new:
 *
 * Creates a query that selects every item.
 *
 * Returns: (transfer full): a new #CairnItemQuery
 *
 * Since: 0.1
 */
CairnItemQuery *
cairn_item_query_new (void)
{
  return g_object_new (CAIRN_TYPE_ITEM_QUERY, NULL);
}

/**
 * cairn_item_query_get_collection_id:
 * @self: a #CairnItemQuery
 *
 * Gets the collection whose items are selected.
 *
 * Returns: the collection id, or 0 for every collection
 *
 * Since: 0.1
 */
guint64
cairn_item_query_get_collection_id (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), 0);

  return self->collection_id;
}

/**
 * cairn_item_query_set_collection_id:
 * @self: a #CairnItemQuery
 * @collection_id: a collection id, or 0 for every collection
 *
 * Selects the items of one collection, or of a virtual collection the
 * items linked into it.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_collection_id (CairnItemQuery *self,
                                    guint64         collection_id)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));

  if (self->collection_id == collection_id)
    return;
  self->collection_id = collection_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLLECTION_ID]);
}

/**
 * cairn_item_query_get_mime_type:
 * @self: a #CairnItemQuery
 *
 * Gets the MIME type of the selected items.
 *
 * Returns: (nullable): the MIME type, or %NULL for any
 *
 * Since: 0.1
 */
const char *
cairn_item_query_get_mime_type (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return self->mime_type;
}

/**
 * cairn_item_query_set_mime_type:
 * @self: a #CairnItemQuery
 * @mime_type: (nullable): a MIME type, or %NULL for any
 *
 * Selects the items of one MIME type.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_mime_type (CairnItemQuery *self,
                                const char     *mime_type)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));

  if (g_strcmp0 (self->mime_type, mime_type) == 0)
    return;
  g_free (self->mime_type);
  self->mime_type = g_strdup (mime_type);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIME_TYPE]);
}

static void
set_date (CairnItemQuery  *self,
          GDateTime      **field,
          GDateTime       *date,
          guint            prop)
{
  if (*field == date || (*field != NULL && date != NULL && g_date_time_equal (*field, date)))
    return;
  g_clear_pointer (field, g_date_time_unref);
  *field = date != NULL ? g_date_time_ref (date) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/**
 * cairn_item_query_get_date_from:
 * @self: a #CairnItemQuery
 *
 * Gets the earliest date of the selected items.
 *
 * Returns: (nullable) (transfer none): the date, or %NULL for no limit
 *
 * Since: 0.1
 */
GDateTime *
cairn_item_query_get_date_from (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return self->date_from;
}

/**
 * cairn_item_query_set_date_from:
 * @self: a #CairnItemQuery
 * @date: (nullable): the earliest date (included), or %NULL for no limit
 *
 * Selects the items dated @date or later.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_date_from (CairnItemQuery *self,
                                GDateTime      *date)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));

  set_date (self, &self->date_from, date, PROP_DATE_FROM);
}

/**
 * cairn_item_query_get_date_to:
 * @self: a #CairnItemQuery
 *
 * Gets the end of the date range of the selected items.
 *
 * Returns: (nullable) (transfer none): the date, or %NULL for no limit
 *
 * Since: 0.1
 */
GDateTime *
cairn_item_query_get_date_to (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return self->date_to;
}

/**
 * cairn_item_query_set_date_to:
 * @self: a #CairnItemQuery
 * @date: (nullable): the end of the range (excluded), or %NULL for no limit
 *
 * Selects the items dated before @date.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_date_to (CairnItemQuery *self,
                              GDateTime      *date)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));

  set_date (self, &self->date_to, date, PROP_DATE_TO);
}

/**
 * cairn_item_query_require_flag:
 * @self: a #CairnItemQuery
 * @flag: a flag, such as %CAIRN_FLAG_FLAGGED
 *
 * Selects only the items that have @flag set, and drops @flag from the
 * excluded flags.
 *
 * Since: 0.1
 */
void
cairn_item_query_require_flag (CairnItemQuery *self,
                               const char     *flag)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));
  g_return_if_fail (cairn_flag_is_valid (flag));

  cairn_flags_remove (self->excluded, flag);
  cairn_flags_add (self->required, flag);
}

/**
 * cairn_item_query_exclude_flag:
 * @self: a #CairnItemQuery
 * @flag: a flag, such as %CAIRN_FLAG_SEEN
 *
 * Selects only the items that do not have @flag set, and drops @flag from
 * the required flags.
 *
 * Since: 0.1
 */
void
cairn_item_query_exclude_flag (CairnItemQuery *self,
                               const char     *flag)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));
  g_return_if_fail (cairn_flag_is_valid (flag));

  cairn_flags_remove (self->required, flag);
  cairn_flags_add (self->excluded, flag);
}

/**
 * cairn_item_query_get_required_flags:
 * @self: a #CairnItemQuery
 *
 * Gets the flags that the selected items must have.
 *
 * Returns: (transfer full) (array zero-terminated=1): the flags, sorted
 *
 * Since: 0.1
 */
char **
cairn_item_query_get_required_flags (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return cairn_flags_to_strv (self->required);
}

/**
 * cairn_item_query_get_excluded_flags:
 * @self: a #CairnItemQuery
 *
 * Gets the flags that the selected items must not have.
 *
 * Returns: (transfer full) (array zero-terminated=1): the flags, sorted
 *
 * Since: 0.1
 */
char **
cairn_item_query_get_excluded_flags (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return cairn_flags_to_strv (self->excluded);
}

/**
 * cairn_item_query_get_search:
 * @self: a #CairnItemQuery
 *
 * Gets the full-text search the selected items must match.
 *
 * Returns: (nullable): the search, or %NULL for none
 *
 * Since: 0.1
 */
const char *
cairn_item_query_get_search (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), NULL);

  return self->search;
}

/**
 * cairn_item_query_set_search:
 * @self: a #CairnItemQuery
 * @search: (nullable): a query in the language of #CairnSearch
 *   (docs/search.md), or %NULL for none
 *
 * Selects only the items that match @search in the indexer agent's
 * search index, as cairn_search_run_sync() finds them. A model runs the
 * search again after every commit and every change of the index, so it
 * follows the index as the indexer updates it. Without an index, or
 * with a query that is not valid, the model stays empty and emits
 * #CairnItemModel::read-failed with the #CAIRN_SEARCH_ERROR.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_search (CairnItemQuery *self,
                             const char     *search)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));

  if (g_strcmp0 (self->search, search) == 0)
    return;
  g_free (self->search);
  self->search = g_strdup (search);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEARCH]);
}

/**
 * cairn_item_query_get_sort:
 * @self: a #CairnItemQuery
 *
 * Gets the order of the selected items.
 *
 * Returns: the order
 *
 * Since: 0.1
 */
CairnItemSort
cairn_item_query_get_sort (CairnItemQuery *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM_QUERY (self), CAIRN_ITEM_SORT_NEWEST_FIRST);

  return self->sort;
}

/**
 * cairn_item_query_set_sort:
 * @self: a #CairnItemQuery
 * @sort: the order
 *
 * Sets the order of the selected items; newest first by default.
 *
 * Since: 0.1
 */
void
cairn_item_query_set_sort (CairnItemQuery *self,
                           CairnItemSort   sort)
{
  g_return_if_fail (CAIRN_IS_ITEM_QUERY (self));
  g_return_if_fail (sort == CAIRN_ITEM_SORT_NEWEST_FIRST ||
                    sort == CAIRN_ITEM_SORT_OLDEST_FIRST);

  if (self->sort == sort)
    return;
  self->sort = sort;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SORT]);
}

/* A JSON array of @flags, or NULL for none. */
static char *
flags_to_json (const CairnFlags *flags)
{
  GString *json;

  if (cairn_flags_get_size (flags) == 0)
    return NULL;

  json = g_string_new ("[");
  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    {
      if (i > 0)
        g_string_append_c (json, ',');
      _cairn_json_append_string (json, cairn_flags_get_flag (flags, i));
    }
  g_string_append_c (json, ']');

  return g_string_free (json, FALSE);
}

CairnItemFilter *
_cairn_item_query_get_filter (CairnItemQuery *self)
{
  CairnItemFilter *filter = g_new0 (CairnItemFilter, 1);

  filter->collection_id = self->collection_id;
  filter->mime_type = g_strdup (self->mime_type);
  filter->has_date_from = self->date_from != NULL;
  if (self->date_from != NULL)
    filter->date_from = g_date_time_to_unix (self->date_from);
  filter->has_date_to = self->date_to != NULL;
  if (self->date_to != NULL)
    filter->date_to = g_date_time_to_unix (self->date_to);
  filter->flags_set = flags_to_json (self->required);
  filter->flags_unset = flags_to_json (self->excluded);
  filter->ascending = self->sort == CAIRN_ITEM_SORT_OLDEST_FIRST;
  filter->search = g_strdup (self->search);

  return filter;
}

void
_cairn_item_filter_free (CairnItemFilter *filter)
{
  g_free (filter->mime_type);
  g_free (filter->flags_set);
  g_free (filter->flags_unset);
  g_free (filter->search);
  g_clear_pointer (&filter->matches, g_array_unref);
  g_free (filter->matches_json);
  g_free (filter);
}

/* Takes @matches, the ids a search matched, sorted. */
void
_cairn_item_filter_set_matches (CairnItemFilter *filter,
                                GArray          *matches)
{
  g_clear_pointer (&filter->matches, g_array_unref);
  g_free (filter->matches_json);
  filter->matches = matches;
  filter->matches_json = _cairn_ids_to_json ((const guint64 *) matches->data, matches->len);
}
