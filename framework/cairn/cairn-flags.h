/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_FLAG_SEEN:
 *
 * The IMAP `\Seen` system flag: the item has been read.
 *
 * Since: 0.1
 */
#define CAIRN_FLAG_SEEN "\\Seen"

/**
 * CAIRN_FLAG_FLAGGED:
 *
 * The IMAP `\Flagged` system flag.
 *
 * Since: 0.1
 */
#define CAIRN_FLAG_FLAGGED "\\Flagged"

/**
 * CAIRN_FLAG_ANSWERED:
 *
 * The IMAP `\Answered` system flag.
 *
 * Since: 0.1
 */
#define CAIRN_FLAG_ANSWERED "\\Answered"

/**
 * CAIRN_FLAG_DRAFT:
 *
 * The IMAP `\Draft` system flag.
 *
 * Since: 0.1
 */
#define CAIRN_FLAG_DRAFT "\\Draft"

/**
 * CAIRN_FLAG_DELETED:
 *
 * The IMAP `\Deleted` system flag.
 *
 * Since: 0.1
 */
#define CAIRN_FLAG_DELETED "\\Deleted"

#define CAIRN_TYPE_FLAGS (cairn_flags_get_type ())

/**
 * CairnFlags:
 *
 * A set of flags (`\Seen`, keywords, ...) of an item.
 *
 * A flag is a non-empty UTF-8 string without white space or control
 * characters. The set keeps its flags sorted, so two equal sets list their
 * flags in the same order.
 *
 * Since: 0.1
 */
typedef struct _CairnFlags CairnFlags;

CAIRN_AVAILABLE_IN_ALL
GType               cairn_flags_get_type        (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnFlags         *cairn_flags_new             (void);
CAIRN_AVAILABLE_IN_ALL
CairnFlags         *cairn_flags_new_from_strv   (const char * const *flags);
CAIRN_AVAILABLE_IN_ALL
CairnFlags         *cairn_flags_copy            (const CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
void                cairn_flags_free            (CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flags_add             (CairnFlags *flags,
                                                 const char *flag);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flags_remove          (CairnFlags *flags,
                                                 const char *flag);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flags_update          (CairnFlags       *flags,
                                                 const CairnFlags *added,
                                                 const CairnFlags *removed);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flags_contains        (const CairnFlags *flags,
                                                 const char *flag);
CAIRN_AVAILABLE_IN_ALL
guint               cairn_flags_get_size        (const CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_flags_get_flag        (const CairnFlags *flags,
                                                 guint index_);
CAIRN_AVAILABLE_IN_ALL
char              **cairn_flags_to_strv         (const CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
char               *cairn_flags_to_string       (const CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flags_equal           (const CairnFlags *a,
                                                 const CairnFlags *b);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_flag_is_valid         (const char *flag);

G_END_DECLS
