/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

#include "cairn-indexer-document-private.h"

G_BEGIN_DECLS

/* The indexer's own database beside the store: written by one thread,
 * read by CairnSearch in any process. */
typedef struct _CairnIndexerIndex CairnIndexerIndex;

void               cairn_indexer_document_pack_text  (CairnIndexerDocument  *document);
CairnIndexerText  *cairn_indexer_text_new            (CairnIndexerDocument  *document);
void               cairn_indexer_text_free           (CairnIndexerText      *text);

CairnIndexerIndex *cairn_indexer_index_open          (const char            *path,
                                                      gboolean              *needs_scan,
                                                      GError               **error);
void               cairn_indexer_index_free          (CairnIndexerIndex     *index);
gboolean           cairn_indexer_index_begin         (CairnIndexerIndex     *index,
                                                      GError               **error);
gboolean           cairn_indexer_index_commit        (CairnIndexerIndex     *index,
                                                      GError               **error);
void               cairn_indexer_index_rollback      (CairnIndexerIndex     *index);
CairnIndexerIndex *cairn_indexer_index_open_scratch  (const char            *path,
                                                      GError               **error);
gboolean           cairn_indexer_index_finish_scratch (CairnIndexerIndex    *scratch,
                                                      GError               **error);
void               cairn_indexer_index_delete_files   (const char           *path);
gboolean           cairn_indexer_index_put_fields    (CairnIndexerIndex     *index,
                                                      CairnIndexerDocument  *document,
                                                      gboolean               is_new,
                                                      GError               **error);
void               cairn_indexer_index_put_text      (CairnIndexerIndex     *index,
                                                      CairnIndexerText      *text);
gboolean           cairn_indexer_index_write_text    (CairnIndexerIndex     *index,
                                                      GError               **error);
gboolean           cairn_indexer_index_put           (CairnIndexerIndex     *index,
                                                      CairnIndexerDocument  *document,
                                                      gboolean               is_new,
                                                      GError               **error);
gboolean           cairn_indexer_index_remove        (CairnIndexerIndex     *index,
                                                      guint64                id,
                                                      GError               **error);
gboolean           cairn_indexer_index_move          (CairnIndexerIndex     *index,
                                                      guint64                id,
                                                      guint64                collection_id,
                                                      GError               **error);
gboolean           cairn_indexer_index_change_flags  (CairnIndexerIndex     *index,
                                                      guint64                id,
                                                      const CairnFlags      *added,
                                                      const CairnFlags      *removed,
                                                      GError               **error);
gboolean           cairn_indexer_index_set_tag       (CairnIndexerIndex     *index,
                                                      guint64                tag_id,
                                                      const char            *name,
                                                      const char            *gid,
                                                      GError               **error);
gboolean           cairn_indexer_index_remove_tag    (CairnIndexerIndex     *index,
                                                      guint64                tag_id,
                                                      GError               **error);
gboolean           cairn_indexer_index_tag_item      (CairnIndexerIndex     *index,
                                                      guint64                id,
                                                      guint64                tag_id,
                                                      gboolean               tagged,
                                                      GError               **error);
gboolean           cairn_indexer_index_begin_scan    (CairnIndexerIndex     *index,
                                                      GError               **error);
gboolean           cairn_indexer_index_end_text      (CairnIndexerIndex     *index,
                                                      GError               **error);
gboolean           cairn_indexer_index_end_scan      (CairnIndexerIndex     *index,
                                                      const char            *scratch_path,
                                                      GError               **error);
void               cairn_indexer_index_abort_scan    (CairnIndexerIndex     *index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnIndexerIndex, cairn_indexer_index_free)

G_END_DECLS
