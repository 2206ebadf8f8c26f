/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-collection-node-private.h"

/**
 * CairnCollectionNode:
 *
 * One collection in a #CairnCollectionModel, with live counts: the model
 * keeps #CairnCollectionNode:name, #CairnCollectionNode:item-count and
 * #CairnCollectionNode:unread-count current and notifies their changes,
 * so that a GTK row can bind to them. Its sub-collections are the model
 * cairn_collection_model_get_children() gives for it.
 *
 * Since: 0.1
 */

struct _CairnCollectionNode
{
  GObject parent_instance;

  CairnCollection *collection;
  guint64 item_count;
  guint64 unread_count;
};

enum {
  PROP_0,
  PROP_COLLECTION,
  PROP_ID,
  PROP_NAME,
  PROP_ITEM_COUNT,
  PROP_UNREAD_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CairnCollectionNode, cairn_collection_node, G_TYPE_OBJECT)

static void
cairn_collection_node_finalize (GObject *object)
{
  CairnCollectionNode *self = CAIRN_COLLECTION_NODE (object);

  g_clear_object (&self->collection);

  G_OBJECT_CLASS (cairn_collection_node_parent_class)->finalize (object);
}

static void
cairn_collection_node_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CairnCollectionNode *self = CAIRN_COLLECTION_NODE (object);

  switch (prop_id)
    {
    case PROP_COLLECTION:
      g_value_set_object (value, self->collection);
      break;
    case PROP_ID:
      g_value_set_uint64 (value, cairn_collection_node_get_id (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, cairn_collection_node_get_name (self));
      break;
    case PROP_ITEM_COUNT:
      g_value_set_uint64 (value, self->item_count);
      break;
    case PROP_UNREAD_COUNT:
      g_value_set_uint64 (value, self->unread_count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_collection_node_class_init (CairnCollectionNodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = cairn_collection_node_finalize;
  object_class->get_property = cairn_collection_node_get_property;

  /**
   * CairnCollectionNode:collection:
   *
   * The collection as last read from the store.
   *
   * Since: 0.1
   */
  properties[PROP_COLLECTION] =
    g_param_spec_object ("collection", NULL, NULL, CAIRN_TYPE_COLLECTION, flags);

  /**
   * CairnCollectionNode:id:
   *
   * The collection's id.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  /**
   * CairnCollectionNode:name:
   *
   * The collection's name.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, flags);

  /**
   * CairnCollectionNode:item-count:
   *
   * How many items the collection holds (or links, if virtual).
   *
   * Since: 0.1
   */
  properties[PROP_ITEM_COUNT] =
    g_param_spec_uint64 ("item-count", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  /**
   * CairnCollectionNode:unread-count:
   *
   * How many of its items lack `\Seen`.
   *
   * Since: 0.1
   */
  properties[PROP_UNREAD_COUNT] =
    g_param_spec_uint64 ("unread-count", NULL, NULL, 0, G_MAXUINT64, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_collection_node_init (CairnCollectionNode *self)
{
}

CairnCollectionNode *
_cairn_collection_node_new (CairnCollection *collection,
                            guint64          item_count,
                            guint64          unread_count)
{
  CairnCollectionNode *self = g_object_new (CAIRN_TYPE_COLLECTION_NODE, NULL);

  self->collection = g_object_ref (collection);
  self->item_count = item_count;
  self->unread_count = unread_count;
  return self;
}

/* Takes what a new read found, and notifies what changed. */
void
_cairn_collection_node_update (CairnCollectionNode *self,
                               CairnCollection     *collection,
                               guint64              item_count,
                               guint64              unread_count)
{
  gboolean renamed = g_strcmp0 (cairn_collection_get_name (self->collection),
                                cairn_collection_get_name (collection)) != 0;

  g_object_freeze_notify (G_OBJECT (self));
  g_set_object (&self->collection, collection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLLECTION]);
  if (renamed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  if (item_count != self->item_count)
    {
      self->item_count = item_count;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ITEM_COUNT]);
    }
  if (unread_count != self->unread_count)
    {
      self->unread_count = unread_count;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNREAD_COUNT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * cairn_collection_node_get_collection:
 * @self: a #CairnCollectionNode
 *
 * Gets #CairnCollectionNode:collection.
 *
 * Returns: (transfer none): the collection
 *
 * Since: 0.1
 */
CairnCollection *
cairn_collection_node_get_collection (CairnCollectionNode *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (self), NULL);

  return self->collection;
}

/**
 * cairn_collection_node_get_id:
 * @self: a #CairnCollectionNode
 *
 * Gets #CairnCollectionNode:id.
 *
 * Returns: the collection's id
 *
 * Since: 0.1
 */
guint64
cairn_collection_node_get_id (CairnCollectionNode *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (self), 0);

  return cairn_collection_get_id (self->collection);
}

/**
 * cairn_collection_node_get_name:
 * @self: a #CairnCollectionNode
 *
 * Gets #CairnCollectionNode:name.
 *
 * Returns: the collection's name
 *
 * Since: 0.1
 */
const char *
cairn_collection_node_get_name (CairnCollectionNode *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (self), NULL);

  return cairn_collection_get_name (self->collection);
}

/**
 * cairn_collection_node_get_item_count:
 * @self: a #CairnCollectionNode
 *
 * Gets #CairnCollectionNode:item-count.
 *
 * Returns: the number of items
 *
 * Since: 0.1
 */
guint64
cairn_collection_node_get_item_count (CairnCollectionNode *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (self), 0);

  return self->item_count;
}

/**
 * cairn_collection_node_get_unread_count:
 * @self: a #CairnCollectionNode
 *
 * Gets #CairnCollectionNode:unread-count.
 *
 * Returns: the number of items without `\Seen`
 *
 * Since: 0.1
 */
guint64
cairn_collection_node_get_unread_count (CairnCollectionNode *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION_NODE (self), 0);

  return self->unread_count;
}
