/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-collection.h"
#include "cairn-flags-delta.h"
#include "cairn-item.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CairnEntityKind:
 * @CAIRN_ENTITY_ITEM: an item
 * @CAIRN_ENTITY_COLLECTION: a collection
 * @CAIRN_ENTITY_TAG: a tag
 * @CAIRN_ENTITY_RELATION: a relation between two items
 *
 * What a change log entry is about.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_ENTITY_ITEM = 1,
  CAIRN_ENTITY_COLLECTION,
  CAIRN_ENTITY_TAG,
  CAIRN_ENTITY_RELATION,
} CairnEntityKind;

/**
 * CairnChangeOperation:
 * @CAIRN_CHANGE_ADD: the entity was created
 * @CAIRN_CHANGE_MODIFY: columns, parts or attributes changed; the change's
 *   parts name them (attributes as `ATR:name`)
 * @CAIRN_CHANGE_MOVE: the entity moved from the change's collection to its
 *   destination
 * @CAIRN_CHANGE_REMOVE: the entity was deleted
 * @CAIRN_CHANGE_FLAGS: an item's flags changed by the change's delta
 * @CAIRN_CHANGE_TAG: an item got the tag whose id is the change's related id
 * @CAIRN_CHANGE_UNTAG: an item lost the tag whose id is the change's related id
 * @CAIRN_CHANGE_LINK: an item was linked into the virtual collection
 *   given as the change's collection
 * @CAIRN_CHANGE_UNLINK: an item was unlinked from a virtual collection
 *
 * The kind of a change log entry.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_CHANGE_ADD = 1,
  CAIRN_CHANGE_MODIFY,
  CAIRN_CHANGE_MOVE,
  CAIRN_CHANGE_REMOVE,
  CAIRN_CHANGE_FLAGS,
  CAIRN_CHANGE_TAG,
  CAIRN_CHANGE_UNTAG,
  CAIRN_CHANGE_LINK,
  CAIRN_CHANGE_UNLINK,
} CairnChangeOperation;

#define CAIRN_TYPE_CHANGE (cairn_change_get_type ())

/**
 * CairnChange:
 *
 * One entry of the store's change log: what changed, in which write
 * transaction (its revision), by whom (its origin).
 *
 * Since: 0.1
 */
typedef struct _CairnChange CairnChange;

CAIRN_AVAILABLE_IN_ALL
GType                  cairn_change_get_type           (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnChange           *cairn_change_ref                (CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
void                   cairn_change_unref              (CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
guint64                cairn_change_get_revision       (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
CairnChangeOperation   cairn_change_get_operation      (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
CairnEntityKind        cairn_change_get_entity_kind    (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
guint64                cairn_change_get_entity_id      (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
guint64                cairn_change_get_collection_id  (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
guint64                cairn_change_get_destination_id (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
guint64                cairn_change_get_related_id     (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_change_get_resource       (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_change_get_origin         (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_change_get_remote_id      (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_change_get_mime_type      (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_change_get_name           (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const char * const    *cairn_change_get_parts          (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
const CairnFlagsDelta *cairn_change_get_flags_delta    (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
CairnItem             *cairn_change_get_item           (const CairnChange *change);
CAIRN_AVAILABLE_IN_ALL
CairnCollection       *cairn_change_get_collection     (const CairnChange *change);

G_END_DECLS
