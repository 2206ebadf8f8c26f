/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_SEARCH_THREAD (cairn_search_thread_get_type ())

/**
 * CairnSearchThread:
 *
 * A thread that a search found: the messages that reply to each other,
 * as their Message-ID, In-Reply-To and References fields tell.
 *
 * Since: 0.1
 */
typedef struct _CairnSearchThread CairnSearchThread;

CAIRN_AVAILABLE_IN_ALL
GType              cairn_search_thread_get_type        (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnSearchThread *cairn_search_thread_new             (guint64            id,
                                                        const char        *subject,
                                                        const char        *authors,
                                                        gint64             newest_date,
                                                        guint              n_messages,
                                                        guint              n_matched,
                                                        guint              n_unread);
CAIRN_AVAILABLE_IN_ALL
CairnSearchThread *cairn_search_thread_ref             (CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
void               cairn_search_thread_unref           (CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
guint64            cairn_search_thread_get_id          (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
const char        *cairn_search_thread_get_subject     (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
const char        *cairn_search_thread_get_authors     (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
gint64             cairn_search_thread_get_newest_date (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
guint              cairn_search_thread_get_n_messages  (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
guint              cairn_search_thread_get_n_matched   (const CairnSearchThread *thread);
CAIRN_AVAILABLE_IN_ALL
guint              cairn_search_thread_get_n_unread    (const CairnSearchThread *thread);

G_END_DECLS
