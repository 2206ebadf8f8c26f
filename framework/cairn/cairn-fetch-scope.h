/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_FETCH_SCOPE (cairn_fetch_scope_get_type ())

/**
 * CairnFetchScope:
 *
 * What a read loads with each item beside its columns and flags, which
 * are always loaded: which parts (with their inline data), whether its
 * attributes, and whether its tags.
 *
 * A new scope loads no parts, no attributes and no tags.
 *
 * Since: 0.1
 */
typedef struct _CairnFetchScope CairnFetchScope;

CAIRN_AVAILABLE_IN_ALL
GType               cairn_fetch_scope_get_type           (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnFetchScope    *cairn_fetch_scope_new                (void);
CAIRN_AVAILABLE_IN_ALL
CairnFetchScope    *cairn_fetch_scope_ref                (CairnFetchScope *scope);
CAIRN_AVAILABLE_IN_ALL
void                cairn_fetch_scope_unref              (CairnFetchScope *scope);
CAIRN_AVAILABLE_IN_ALL
void                cairn_fetch_scope_add_part           (CairnFetchScope *scope,
                                                          const char      *name);
CAIRN_AVAILABLE_IN_ALL
const char * const *cairn_fetch_scope_get_parts          (const CairnFetchScope *scope);
CAIRN_AVAILABLE_IN_ALL
void                cairn_fetch_scope_set_all_parts      (CairnFetchScope *scope,
                                                          gboolean         all_parts);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_fetch_scope_get_all_parts      (const CairnFetchScope *scope);
CAIRN_AVAILABLE_IN_ALL
void                cairn_fetch_scope_set_attributes     (CairnFetchScope *scope,
                                                          gboolean         attributes);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_fetch_scope_get_attributes     (const CairnFetchScope *scope);
CAIRN_AVAILABLE_IN_ALL
void                cairn_fetch_scope_set_tags           (CairnFetchScope *scope,
                                                          gboolean         tags);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_fetch_scope_get_tags           (const CairnFetchScope *scope);

G_END_DECLS
