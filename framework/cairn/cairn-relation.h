/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_RELATION_GENERIC:
 *
 * The type of a relation with no more specific meaning.
 *
 * Since: 0.1
 */
#define CAIRN_RELATION_GENERIC "GENERIC"

#define CAIRN_TYPE_RELATION (cairn_relation_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnRelation, cairn_relation, CAIRN, RELATION, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnRelation *cairn_relation_new                (guint64        left_id,
                                                  guint64        right_id,
                                                  const char    *relation_type);
CAIRN_AVAILABLE_IN_ALL
guint64        cairn_relation_get_left_id        (CairnRelation *self);
CAIRN_AVAILABLE_IN_ALL
guint64        cairn_relation_get_right_id       (CairnRelation *self);
CAIRN_AVAILABLE_IN_ALL
const char    *cairn_relation_get_relation_type  (CairnRelation *self);
CAIRN_AVAILABLE_IN_ALL
const char    *cairn_relation_get_remote_id      (CairnRelation *self);
CAIRN_AVAILABLE_IN_ALL
void           cairn_relation_set_remote_id      (CairnRelation *self,
                                                  const char    *remote_id);

G_END_DECLS
