/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

G_BEGIN_DECLS

typedef struct _CairnIndexerText CairnIndexerText;

/* What the index keeps of one item: the text of its FTS5 columns and the
 * fields queries compare exactly. Built from an item alone, in any thread. */
typedef struct
{
  guint64 id;
  guint64 collection_id;
  char *mime_type;
  gint64 date;              /* seconds since the epoch, 0 if unknown */
  char *message_id;         /* without angle brackets, or NULL */
  GPtrArray *references;    /* In-Reply-To then References, message ids */
  GPtrArray *flags;         /* flag names */
  gboolean complete;        /* FALSE: the body was missing, headers only */
  GString *sender;
  GString *recipients;
  GString *subject;
  GString *body;
  GString *attachments;
  GString *mime_types;
  GString *list_id;
  /* The seven strings above in one block, which frees them: see
   * cairn_indexer_document_pack_text(). */
  CairnIndexerText *text;
  GPtrArray *tags;          /* CairnTag: read by a scan alone, else NULL */
  gint64 key;               /* set by cairn_indexer_index_put_fields() */
} CairnIndexerDocument;

CairnIndexerDocument *cairn_indexer_document_new_from_item (CairnItem             *item);
CairnIndexerDocument *cairn_indexer_document_extract       (CairnItem             *item,
                                                            gboolean               allow_plain,
                                                            gboolean              *plain);
void                  cairn_indexer_document_free          (CairnIndexerDocument  *document);
char                 *cairn_indexer_html_to_text           (const char            *html,
                                                            gsize                  length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnIndexerDocument, cairn_indexer_document_free)

G_END_DECLS
