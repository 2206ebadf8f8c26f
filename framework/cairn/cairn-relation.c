/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-relation.h"

/**
 * CairnRelation:
 *
 * A typed binary relation between two items, such as a mail and the event
 * it invites to. A relation is identified by its two items and its type.
 *
 * Since: 0.1
 */

struct _CairnRelation
{
  GObject parent_instance;

  guint64 left_id;
  guint64 right_id;
  char *relation_type;
  char *remote_id;
};

G_DEFINE_FINAL_TYPE (CairnRelation, cairn_relation, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LEFT_ID,
  PROP_RIGHT_ID,
  PROP_RELATION_TYPE,
  PROP_REMOTE_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cairn_relation_finalize (GObject *object)
{
  CairnRelation *self = (CairnRelation *) object;

  g_free (self->relation_type);
  g_free (self->remote_id);

  G_OBJECT_CLASS (cairn_relation_parent_class)->finalize (object);
}

static void
cairn_relation_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CairnRelation *self = CAIRN_RELATION (object);

  switch (prop_id)
    {
    case PROP_LEFT_ID:
      g_value_set_uint64 (value, self->left_id);
      break;
    case PROP_RIGHT_ID:
      g_value_set_uint64 (value, self->right_id);
      break;
    case PROP_RELATION_TYPE:
      g_value_set_string (value, self->relation_type);
      break;
    case PROP_REMOTE_ID:
      g_value_set_string (value, self->remote_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_relation_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CairnRelation *self = CAIRN_RELATION (object);

  switch (prop_id)
    {
    case PROP_LEFT_ID:
      self->left_id = g_value_get_uint64 (value);
      break;
    case PROP_RIGHT_ID:
      self->right_id = g_value_get_uint64 (value);
      break;
    case PROP_RELATION_TYPE:
      self->relation_type = g_value_dup_string (value);
      break;
    case PROP_REMOTE_ID:
      cairn_relation_set_remote_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_relation_class_init (CairnRelationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_relation_finalize;
  object_class->get_property = cairn_relation_get_property;
  object_class->set_property = cairn_relation_set_property;

  /**
   * CairnRelation:left-id:
   *
   * The id of the first item.
   *
   * Since: 0.1
   */
  properties[PROP_LEFT_ID] =
    g_param_spec_uint64 ("left-id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnRelation:right-id:
   *
   * The id of the second item.
   *
   * Since: 0.1
   */
  properties[PROP_RIGHT_ID] =
    g_param_spec_uint64 ("right-id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnRelation:relation-type:
   *
   * What the relation means.
   *
   * Since: 0.1
   */
  properties[PROP_RELATION_TYPE] =
    g_param_spec_string ("relation-type", NULL, NULL, CAIRN_RELATION_GENERIC,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnRelation:remote-id:
   *
   * The backend's id of the relation.
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_relation_init (CairnRelation *self)
{
}

/**
 * cairn_relation_new:
 * @left_id: the first item's id
 * @right_id: the second item's id
 * @relation_type: (nullable): what the relation means, or %NULL for
 *   %CAIRN_RELATION_GENERIC
 *
 * Creates a relation of type @relation_type between two items.
 *
 * Returns: (transfer full): a new #CairnRelation, not stored yet
 *
 * Since: 0.1
 */
CairnRelation *
cairn_relation_new (guint64     left_id,
                    guint64     right_id,
                    const char *relation_type)
{
  return g_object_new (CAIRN_TYPE_RELATION,
                       "left-id", left_id,
                       "right-id", right_id,
                       "relation-type", relation_type ? relation_type : CAIRN_RELATION_GENERIC,
                       NULL);
}

/**
 * cairn_relation_get_left_id:
 * @self: a #CairnRelation
 *
 * Gets the id of the relation's first item.
 *
 * Returns: the first item's id
 *
 * Since: 0.1
 */
guint64
cairn_relation_get_left_id (CairnRelation *self)
{
  g_return_val_if_fail (CAIRN_IS_RELATION (self), 0);

  return self->left_id;
}

/**
 * cairn_relation_get_right_id:
 * @self: a #CairnRelation
 *
 * Gets the id of the relation's second item.
 *
 * Returns: the second item's id
 *
 * Since: 0.1
 */
guint64
cairn_relation_get_right_id (CairnRelation *self)
{
  g_return_val_if_fail (CAIRN_IS_RELATION (self), 0);

  return self->right_id;
}

/**
 * cairn_relation_get_relation_type:
 * @self: a #CairnRelation
 *
 * Gets the relation's type, which says what it means.
 *
 * Returns: what the relation means
 *
 * Since: 0.1
 */
const char *
cairn_relation_get_relation_type (CairnRelation *self)
{
  g_return_val_if_fail (CAIRN_IS_RELATION (self), NULL);

  return self->relation_type;
}

/**
 * cairn_relation_get_remote_id:
 * @self: a #CairnRelation
 *
 * Gets the backend's id of the relation.
 *
 * Returns: (nullable): the backend's id of the relation
 *
 * Since: 0.1
 */
const char *
cairn_relation_get_remote_id (CairnRelation *self)
{
  g_return_val_if_fail (CAIRN_IS_RELATION (self), NULL);

  return self->remote_id;
}

/**
 * cairn_relation_set_remote_id:
 * @self: a #CairnRelation
 * @remote_id: (nullable): the backend's id of the relation
 *
 * Sets the backend's id of the relation.
 *
 * Since: 0.1
 */
void
cairn_relation_set_remote_id (CairnRelation *self,
                              const char    *remote_id)
{
  g_return_if_fail (CAIRN_IS_RELATION (self));

  if (g_strcmp0 (self->remote_id, remote_id) == 0)
    return;
  g_free (self->remote_id);
  self->remote_id = g_strdup (remote_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REMOTE_ID]);
}
