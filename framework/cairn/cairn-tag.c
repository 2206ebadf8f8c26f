/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-tag.h"

/**
 * CairnTag:
 *
 * A unary relation on items: a label such as "important" or a category.
 *
 * The GID identifies the tag across resources and never changes; the name
 * is what people see. The type says what kind of tag it is (`PLAIN` by
 * default). Each resource may keep its own remote id for the tag, see
 * cairn_transaction_set_tag_remote_id().
 *
 * Since: 0.1
 */

struct _CairnTag
{
  GObject parent_instance;

  guint64 id;
  guint64 parent_id;
  char *gid;
  char *name;
  char *tag_type;
};

G_DEFINE_FINAL_TYPE (CairnTag, cairn_tag, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_GID,
  PROP_NAME,
  PROP_TAG_TYPE,
  PROP_PARENT_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cairn_tag_finalize (GObject *object)
{
  CairnTag *self = (CairnTag *) object;

  g_free (self->gid);
  g_free (self->name);
  g_free (self->tag_type);

  G_OBJECT_CLASS (cairn_tag_parent_class)->finalize (object);
}

static void
cairn_tag_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  CairnTag *self = CAIRN_TAG (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, self->id);
      break;
    case PROP_GID:
      g_value_set_string (value, self->gid);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_TAG_TYPE:
      g_value_set_string (value, self->tag_type);
      break;
    case PROP_PARENT_ID:
      g_value_set_uint64 (value, self->parent_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_tag_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  CairnTag *self = CAIRN_TAG (object);

  switch (prop_id)
    {
    case PROP_ID:
      cairn_tag_set_id (self, g_value_get_uint64 (value));
      break;
    case PROP_GID:
      self->gid = g_value_dup_string (value);
      break;
    case PROP_NAME:
      cairn_tag_set_name (self, g_value_get_string (value));
      break;
    case PROP_TAG_TYPE:
      cairn_tag_set_tag_type (self, g_value_get_string (value));
      break;
    case PROP_PARENT_ID:
      cairn_tag_set_parent_id (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_tag_class_init (CairnTagClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_tag_finalize;
  object_class->get_property = cairn_tag_get_property;
  object_class->set_property = cairn_tag_set_property;

  /**
   * CairnTag:id:
   *
   * The store's id of the tag, or 0 for one not stored yet.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnTag:gid:
   *
   * The global id of the tag, unique in the store.
   *
   * Since: 0.1
   */
  properties[PROP_GID] =
    g_param_spec_string ("gid", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnTag:name:
   *
   * The display name: non-empty UTF-8.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnTag:tag-type:
   *
   * What kind of tag this is.
   *
   * Since: 0.1
   */
  properties[PROP_TAG_TYPE] =
    g_param_spec_string ("tag-type", NULL, NULL, "PLAIN",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnTag:parent-id:
   *
   * The parent tag's id, or 0.
   *
   * Since: 0.1
   */
  properties[PROP_PARENT_ID] =
    g_param_spec_uint64 ("parent-id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_tag_init (CairnTag *self)
{
  self->tag_type = g_strdup ("PLAIN");
}

/**
 * cairn_tag_new:
 * @gid: the tag's global id
 * @name: the display name
 *
 * Creates a tag, to be stored with cairn_transaction_create_tag().
 *
 * Returns: (transfer full): a new #CairnTag, not stored yet
 *
 * Since: 0.1
 */
CairnTag *
cairn_tag_new (const char *gid,
               const char *name)
{
  return g_object_new (CAIRN_TYPE_TAG, "gid", gid, "name", name, NULL);
}

/**
 * cairn_tag_get_id:
 * @self: a #CairnTag
 *
 * Gets the tag's id.
 *
 * Returns: the tag's id, or 0 if it is not stored yet
 *
 * Since: 0.1
 */
guint64
cairn_tag_get_id (CairnTag *self)
{
  g_return_val_if_fail (CAIRN_IS_TAG (self), 0);

  return self->id;
}

/**
 * cairn_tag_set_id:
 * @self: a #CairnTag
 * @id: a stored tag's id
 *
 * Sets the tag's id, to name a stored tag.
 *
 * Since: 0.1
 */
void
cairn_tag_set_id (CairnTag *self,
                  guint64   id)
{
  g_return_if_fail (CAIRN_IS_TAG (self));

  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

/**
 * cairn_tag_get_gid:
 * @self: a #CairnTag
 *
 * Gets the tag's GID, its global id.
 *
 * Returns: (nullable): the tag's global id
 *
 * Since: 0.1
 */
const char *
cairn_tag_get_gid (CairnTag *self)
{
  g_return_val_if_fail (CAIRN_IS_TAG (self), NULL);

  return self->gid;
}

/**
 * cairn_tag_get_name:
 * @self: a #CairnTag
 *
 * Gets the display name.
 *
 * Returns: (nullable): the display name
 *
 * Since: 0.1
 */
const char *
cairn_tag_get_name (CairnTag *self)
{
  g_return_val_if_fail (CAIRN_IS_TAG (self), NULL);

  return self->name;
}

/**
 * cairn_tag_set_name:
 * @self: a #CairnTag
 * @name: (nullable): the display name
 *
 * Sets the display name.
 *
 * Since: 0.1
 */
void
cairn_tag_set_name (CairnTag   *self,
                    const char *name)
{
  g_return_if_fail (CAIRN_IS_TAG (self));

  if (g_strcmp0 (self->name, name) == 0)
    return;
  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

/**
 * cairn_tag_get_tag_type:
 * @self: a #CairnTag
 *
 * Gets the kind of tag.
 *
 * Returns: the kind of tag
 *
 * Since: 0.1
 */
const char *
cairn_tag_get_tag_type (CairnTag *self)
{
  g_return_val_if_fail (CAIRN_IS_TAG (self), NULL);

  return self->tag_type;
}

/**
 * cairn_tag_set_tag_type:
 * @self: a #CairnTag
 * @tag_type: the kind of tag
 *
 * Sets the kind of tag.
 *
 * Since: 0.1
 */
void
cairn_tag_set_tag_type (CairnTag   *self,
                        const char *tag_type)
{
  g_return_if_fail (CAIRN_IS_TAG (self));
  g_return_if_fail (tag_type != NULL);

  if (g_strcmp0 (self->tag_type, tag_type) == 0)
    return;
  g_free (self->tag_type);
  self->tag_type = g_strdup (tag_type);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TAG_TYPE]);
}

/**
 * cairn_tag_get_parent_id:
 * @self: a #CairnTag
 *
 * Gets the parent tag's id.
 *
 * Returns: the parent tag's id, or 0
 *
 * Since: 0.1
 */
guint64
cairn_tag_get_parent_id (CairnTag *self)
{
  g_return_val_if_fail (CAIRN_IS_TAG (self), 0);

  return self->parent_id;
}

/**
 * cairn_tag_set_parent_id:
 * @self: a #CairnTag
 * @parent_id: the parent tag's id, or 0
 *
 * Sets the parent tag's id, 0 for none.
 *
 * Since: 0.1
 */
void
cairn_tag_set_parent_id (CairnTag *self,
                         guint64   parent_id)
{
  g_return_if_fail (CAIRN_IS_TAG (self));

  if (self->parent_id == parent_id)
    return;
  self->parent_id = parent_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARENT_ID]);
}
