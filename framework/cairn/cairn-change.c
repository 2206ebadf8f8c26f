/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change-private.h"

G_DEFINE_BOXED_TYPE (CairnChange, cairn_change, cairn_change_ref, cairn_change_unref)

CairnChange *
_cairn_change_new (void)
{
  CairnChange *change = g_slice_new0 (CairnChange);

  g_atomic_ref_count_init (&change->ref_count);

  return change;
}

/* A copy that the monitor may edit while it coalesces changes. */
CairnChange *
_cairn_change_copy (const CairnChange *change)
{
  CairnChange *copy = _cairn_change_new ();

  copy->revision = change->revision;
  copy->operation = change->operation;
  copy->entity_kind = change->entity_kind;
  copy->entity_id = change->entity_id;
  copy->collection_id = change->collection_id;
  copy->destination_id = change->destination_id;
  copy->related_id = change->related_id;
  copy->resource = change->resource;
  copy->origin = change->origin;
  copy->remote_id = g_strdup (change->remote_id);
  copy->mime_type = change->mime_type;
  copy->name = g_strdup (change->name);
  copy->parts = g_strdupv (change->parts);
  if (change->flags_delta != NULL)
    copy->flags_delta = cairn_flags_delta_copy (change->flags_delta);
  if (change->item != NULL)
    copy->item = g_object_ref (change->item);
  if (change->collection != NULL)
    copy->collection = g_object_ref (change->collection);

  return copy;
}

/* The collection as a collection change's entry knows it: id, resource,
 * name, remote id, and its parent after the change. */
CairnCollection *
_cairn_change_to_collection (const CairnChange *change)
{
  CairnCollection *collection = cairn_collection_new (change->resource, 0, change->name);

  cairn_collection_set_id (collection, change->entity_id);
  cairn_collection_set_parent_id (collection, change->operation == CAIRN_CHANGE_MOVE ?
                                              change->destination_id : change->collection_id);
  cairn_collection_set_remote_id (collection, change->remote_id);
  return collection;
}

/**
 * cairn_change_ref:
 * @change: a #CairnChange
 *
 * Takes a reference on @change.
 *
 * Returns: (transfer full): @change
 *
 * Since: 0.1
 */
CairnChange *
cairn_change_ref (CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  g_atomic_ref_count_inc (&change->ref_count);
  return change;
}

/**
 * cairn_change_unref:
 * @change: (transfer full): a #CairnChange
 *
 * Drops a reference to @change.
 *
 * Since: 0.1
 */
void
cairn_change_unref (CairnChange *change)
{
  g_return_if_fail (change != NULL);

  if (!g_atomic_ref_count_dec (&change->ref_count))
    return;

  g_free (change->remote_id);
  g_free (change->name);
  g_strfreev (change->parts);
  g_clear_pointer (&change->flags_delta, cairn_flags_delta_free);
  g_clear_object (&change->item);
  g_clear_object (&change->collection);
  g_slice_free (CairnChange, change);
}

/**
 * cairn_change_get_revision:
 * @change: a #CairnChange
 *
 * Gets the store revision of the write transaction that made the change.
 *
 * Returns: the store revision of the write transaction that made the change
 *
 * Since: 0.1
 */
guint64
cairn_change_get_revision (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->revision;
}

/**
 * cairn_change_get_operation:
 * @change: a #CairnChange
 *
 * Gets what happened to the entity.
 *
 * Returns: what happened
 *
 * Since: 0.1
 */
CairnChangeOperation
cairn_change_get_operation (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->operation;
}

/**
 * cairn_change_get_entity_kind:
 * @change: a #CairnChange
 *
 * Gets what kind of entity changed.
 *
 * Returns: what kind of entity changed
 *
 * Since: 0.1
 */
CairnEntityKind
cairn_change_get_entity_kind (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->entity_kind;
}

/**
 * cairn_change_get_entity_id:
 * @change: a #CairnChange
 *
 * Gets the id of the entity that changed.
 *
 * Returns: the id of the entity that changed; for a relation, the id of
 *   its left item
 *
 * Since: 0.1
 */
guint64
cairn_change_get_entity_id (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->entity_id;
}

/**
 * cairn_change_get_collection_id:
 * @change: a #CairnChange
 *
 * Gets the collection the change concerns: an item's collection, a collection's
 * parent, or the virtual collection of a link.
 *
 * Returns: the collection of an item (its source for a move), the parent
 *   of a collection (its old parent for a move), the virtual collection of
 *   a link, or 0
 *
 * Since: 0.1
 */
guint64
cairn_change_get_collection_id (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->collection_id;
}

/**
 * cairn_change_get_destination_id:
 * @change: a #CairnChange
 *
 * Gets the destination collection of a move.
 *
 * Returns: the destination collection of a move, or 0
 *
 * Since: 0.1
 */
guint64
cairn_change_get_destination_id (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->destination_id;
}

/**
 * cairn_change_get_related_id:
 * @change: a #CairnChange
 *
 * Gets the other entity of a tag or relation change.
 *
 * Returns: the tag of a tag or untag change, the right item of a relation
 *   change, or 0
 *
 * Since: 0.1
 */
guint64
cairn_change_get_related_id (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, 0);

  return change->related_id;
}

/**
 * cairn_change_get_resource:
 * @change: a #CairnChange
 *
 * Gets the resource owning the changed entity.
 *
 * Returns: (nullable): the resource owning the changed entity
 *
 * Since: 0.1
 */
const char *
cairn_change_get_resource (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->resource;
}

/**
 * cairn_change_get_origin:
 * @change: a #CairnChange
 *
 * Gets who wrote the change.
 *
 * Returns: (nullable): who wrote the change (an agent instance id), or
 *   %NULL for a client session
 *
 * Since: 0.1
 */
const char *
cairn_change_get_origin (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->origin;
}

/**
 * cairn_change_get_remote_id:
 * @change: a #CairnChange
 *
 * The remote id the entity had when the change was made, so a resource can
 * replay a removal or a move after the entity is gone.
 *
 * Returns: (nullable): the entity's remote id
 *
 * Since: 0.1
 */
const char *
cairn_change_get_remote_id (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->remote_id;
}

/**
 * cairn_change_get_mime_type:
 * @change: a #CairnChange
 *
 * Gets the MIME type of a changed item.
 *
 * Returns: (nullable): the MIME type of a changed item
 *
 * Since: 0.1
 */
const char *
cairn_change_get_mime_type (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->mime_type;
}

/**
 * cairn_change_get_name:
 * @change: a #CairnChange
 *
 * Gets the name the change carries: a relation's type, a tag's GID or a
 * collection's name.
 *
 * Returns: (nullable): the type of a changed relation, the GID of a changed
 *   tag, the name of a changed collection, or %NULL
 *
 * Since: 0.1
 */
const char *
cairn_change_get_name (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->name;
}

/**
 * cairn_change_get_parts:
 * @change: a #CairnChange
 *
 * Gets the parts and attributes that an addition stored or a modification
 * changed.
 *
 * Returns: (transfer none) (array zero-terminated=1): the parts and
 *   attributes (as `ATR:name`) an addition stored or a modification changed
 *
 * Since: 0.1
 */
const char * const *
cairn_change_get_parts (const CairnChange *change)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (change != NULL, NULL);

  return change->parts != NULL ? (const char * const *) change->parts : none;
}

/**
 * cairn_change_get_flags_delta:
 * @change: a #CairnChange
 *
 * Gets the flags a flags change added and removed.
 *
 * Returns: (transfer none): the flags a flags change added and removed
 *   (effective: only flags that were not set, or were set, before); empty
 *   for other changes
 *
 * Since: 0.1
 */
const CairnFlagsDelta *
cairn_change_get_flags_delta (const CairnChange *change)
{
  static CairnFlagsDelta *none;

  g_return_val_if_fail (change != NULL, NULL);

  if (change->flags_delta != NULL)
    return change->flags_delta;
  if (g_once_init_enter (&none))
    g_once_init_leave (&none, cairn_flags_delta_new ());
  return none;
}

/**
 * cairn_change_get_item:
 * @change: a #CairnChange
 *
 * The item as it was at this change, for item changes delivered by a
 * monitor with a fetch scope (cairn_monitor_set_fetch_scope()): its
 * collection and flags of that change, with every later pending change of
 * the item undone, its parts read with the fetch scope, and the remote id
 * known now. Coalesced changes carry the item as it was after the last
 * change they absorbed.
 *
 * Returns: (transfer none) (nullable): the item, or %NULL for other
 *   changes and without a fetch scope
 *
 * Since: 0.1
 */
CairnItem *
cairn_change_get_item (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->item;
}

/**
 * cairn_change_get_collection:
 * @change: a #CairnChange
 *
 * The collection as it was at this change, for the collection changes a
 * resource replays: its parent and name of that change, its other
 * properties as the store has them, and the remote id known now. A
 * collection removed since is made from what the change log knows of it.
 *
 * Returns: (transfer none) (nullable): the collection, or %NULL for other
 *   changes and outside of a resource's replay
 *
 * Since: 0.1
 */
CairnCollection *
cairn_change_get_collection (const CairnChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);

  return change->collection;
}
