/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-search-thread.h"
#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_SEARCH_ERROR:
 *
 * The error domain of searches and of the search index.
 *
 * Since: 0.1
 */
#define CAIRN_SEARCH_ERROR (cairn_search_error_quark ())

/**
 * CairnSearchError:
 * @CAIRN_SEARCH_ERROR_FAILED: reading the index failed
 * @CAIRN_SEARCH_ERROR_INVALID_QUERY: the query is not valid; the message
 *   names the character where it goes wrong
 * @CAIRN_SEARCH_ERROR_NO_INDEX: there is no index yet (no indexer has run
 *   on this store)
 * @CAIRN_SEARCH_ERROR_CORRUPT: the index database is damaged or of another
 *   schema; the indexer rebuilds it when it starts
 * @CAIRN_SEARCH_ERROR_INCONSISTENT: the index and the store disagree
 *
 * Errors of #CAIRN_SEARCH_ERROR.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SEARCH_ERROR_FAILED,
  CAIRN_SEARCH_ERROR_INVALID_QUERY,
  CAIRN_SEARCH_ERROR_NO_INDEX,
  CAIRN_SEARCH_ERROR_CORRUPT,
  CAIRN_SEARCH_ERROR_INCONSISTENT,
} CairnSearchError;

/**
 * CAIRN_SEARCH_QUERY_ATTRIBUTE:
 *
 * The collection attribute that makes a virtual collection a saved
 * search: its value is the query, in UTF-8. The indexer links the items
 * that match into the collection and unlinks those that no longer do.
 *
 * Since: 0.1
 */
#define CAIRN_SEARCH_QUERY_ATTRIBUTE "cairn-search-query"

#define CAIRN_TYPE_SEARCH (cairn_search_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnSearch, cairn_search, CAIRN, SEARCH, GObject)

CAIRN_AVAILABLE_IN_ALL
GQuark       cairn_search_error_quark           (void);

CAIRN_AVAILABLE_IN_ALL
char        *cairn_search_build_index_path      (const char           *store_path);
CAIRN_AVAILABLE_IN_ALL
CairnSearch *cairn_search_new                   (CairnStore           *store);
CAIRN_AVAILABLE_IN_ALL
CairnStore  *cairn_search_get_store             (CairnSearch          *self);

CAIRN_AVAILABLE_IN_ALL
GArray      *cairn_search_run_sync              (CairnSearch          *self,
                                                 const char           *query,
                                                 guint                 offset,
                                                 guint                 limit,
                                                 GCancellable         *cancellable,
                                                 GError              **error);
CAIRN_AVAILABLE_IN_ALL
void         cairn_search_run_async             (CairnSearch          *self,
                                                 const char           *query,
                                                 guint                 offset,
                                                 guint                 limit,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
GArray      *cairn_search_run_finish            (CairnSearch          *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);

CAIRN_AVAILABLE_IN_ALL
GPtrArray   *cairn_search_run_threads_sync      (CairnSearch          *self,
                                                 const char           *query,
                                                 guint                 offset,
                                                 guint                 limit,
                                                 GCancellable         *cancellable,
                                                 GError              **error);
CAIRN_AVAILABLE_IN_ALL
void         cairn_search_run_threads_async     (CairnSearch          *self,
                                                 const char           *query,
                                                 guint                 offset,
                                                 guint                 limit,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
GPtrArray   *cairn_search_run_threads_finish    (CairnSearch          *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);

CAIRN_AVAILABLE_IN_ALL
gboolean     cairn_search_check_sync            (CairnSearch          *self,
                                                 GCancellable         *cancellable,
                                                 GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean     cairn_search_request_rebuild       (CairnSearch          *self,
                                                 GError              **error);

G_END_DECLS
