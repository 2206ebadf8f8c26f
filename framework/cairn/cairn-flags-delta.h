/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include "cairn-flags.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_FLAGS_DELTA (cairn_flags_delta_get_type ())

/**
 * CairnFlagsDelta:
 *
 * A change of an item's flags: the flags added and the flags removed.
 *
 * A flag change is always a delta, never a new full state, so concurrent
 * `+\Seen` and `-\Flagged` both survive. A flag is never in both sets:
 * adding a flag that the delta removes cancels the removal, and the other
 * way round.
 *
 * Since: 0.1
 */
typedef struct _CairnFlagsDelta CairnFlagsDelta;

CAIRN_AVAILABLE_IN_ALL
GType             cairn_flags_delta_get_type      (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnFlagsDelta  *cairn_flags_delta_new           (void);
CAIRN_AVAILABLE_IN_ALL
CairnFlagsDelta  *cairn_flags_delta_new_from_strv (const char * const *added,
                                                   const char * const *removed);
CAIRN_AVAILABLE_IN_ALL
CairnFlagsDelta  *cairn_flags_delta_copy          (const CairnFlagsDelta *delta);
CAIRN_AVAILABLE_IN_ALL
void              cairn_flags_delta_free          (CairnFlagsDelta *delta);
CAIRN_AVAILABLE_IN_ALL
void              cairn_flags_delta_add           (CairnFlagsDelta *delta,
                                                   const char      *flag);
CAIRN_AVAILABLE_IN_ALL
void              cairn_flags_delta_remove        (CairnFlagsDelta *delta,
                                                   const char      *flag);
CAIRN_AVAILABLE_IN_ALL
const CairnFlags *cairn_flags_delta_get_added     (const CairnFlagsDelta *delta);
CAIRN_AVAILABLE_IN_ALL
const CairnFlags *cairn_flags_delta_get_removed   (const CairnFlagsDelta *delta);
CAIRN_AVAILABLE_IN_ALL
gboolean          cairn_flags_delta_is_empty      (const CairnFlagsDelta *delta);
CAIRN_AVAILABLE_IN_ALL
void              cairn_flags_delta_merge         (CairnFlagsDelta       *delta,
                                                   const CairnFlagsDelta *later);
CAIRN_AVAILABLE_IN_ALL
void              cairn_flags_delta_apply         (const CairnFlagsDelta *delta,
                                                   CairnFlags            *flags);

G_END_DECLS
