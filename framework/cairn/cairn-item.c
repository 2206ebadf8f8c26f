/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-attributes-private.h"
#include "cairn-item-private.h"
#include "cairn-part-private.h"

/**
 * CairnItem:
 *
 * One piece of data: a mail, an event, a contact.
 *
 * An item read from the store carries its columns, and its flags, parts
 * and attributes as far as the #CairnFetchScope of the read asked for them.
 * To create or modify an item, fill one and hand it to
 * cairn_transaction_create_item() or cairn_transaction_modify_item().
 *
 * The remote id is the backend's id for the item (IMAP UID, maildir file
 * name, CalDAV href), the remote revision its version there (ETag,
 * MODSEQ), the GID an id taken from the payload (Message-ID, iCalendar
 * UID). These three are opaque byte strings (without NUL) and are stored
 * verbatim.
 *
 * The date is what the item is sorted by in a date view: a message's
 * `Date` header (or its delivery time), an event's start.
 *
 * Since: 0.1
 */

G_DEFINE_FINAL_TYPE (CairnItem, cairn_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_COLLECTION_ID,
  PROP_MIME_TYPE,
  PROP_SIZE,
  PROP_REMOTE_ID,
  PROP_REMOTE_REVISION,
  PROP_GID,
  PROP_DATE,
  PROP_REVISION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cairn_item_finalize (GObject *object)
{
  CairnItem *self = (CairnItem *) object;

  g_free (self->mime_type);
  g_free (self->remote_id);
  g_free (self->remote_revision);
  g_free (self->gid);
  g_clear_pointer (&self->date, g_date_time_unref);
  g_clear_pointer (&self->flags, cairn_flags_free);
  g_clear_pointer (&self->parts, g_ptr_array_unref);
  g_clear_pointer (&self->attributes, g_hash_table_unref);
  g_clear_pointer (&self->tags, g_ptr_array_unref);

  G_OBJECT_CLASS (cairn_item_parent_class)->finalize (object);
}

static void
cairn_item_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  CairnItem *self = CAIRN_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, self->id);
      break;
    case PROP_COLLECTION_ID:
      g_value_set_uint64 (value, self->collection_id);
      break;
    case PROP_MIME_TYPE:
      g_value_set_string (value, self->mime_type);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_REMOTE_ID:
      g_value_set_string (value, self->remote_id);
      break;
    case PROP_REMOTE_REVISION:
      g_value_set_string (value, self->remote_revision);
      break;
    case PROP_GID:
      g_value_set_string (value, self->gid);
      break;
    case PROP_DATE:
      g_value_set_boxed (value, self->date);
      break;
    case PROP_REVISION:
      g_value_set_uint64 (value, self->revision);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  CairnItem *self = CAIRN_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      cairn_item_set_id (self, g_value_get_uint64 (value));
      break;
    case PROP_COLLECTION_ID:
      cairn_item_set_collection_id (self, g_value_get_uint64 (value));
      break;
    case PROP_MIME_TYPE:
      cairn_item_set_mime_type (self, g_value_get_string (value));
      break;
    case PROP_SIZE:
      cairn_item_set_size (self, g_value_get_uint64 (value));
      break;
    case PROP_REMOTE_ID:
      cairn_item_set_remote_id (self, g_value_get_string (value));
      break;
    case PROP_REMOTE_REVISION:
      cairn_item_set_remote_revision (self, g_value_get_string (value));
      break;
    case PROP_GID:
      cairn_item_set_gid (self, g_value_get_string (value));
      break;
    case PROP_DATE:
      cairn_item_set_date (self, g_value_get_boxed (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_item_class_init (CairnItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_item_finalize;
  object_class->get_property = cairn_item_get_property;
  object_class->set_property = cairn_item_set_property;

  /**
   * CairnItem:id:
   *
   * The store's id of the item, or 0 for an item not stored yet.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:collection-id:
   *
   * The id of the collection the item is in.
   *
   * Since: 0.1
   */
  properties[PROP_COLLECTION_ID] =
    g_param_spec_uint64 ("collection-id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:mime-type:
   *
   * The MIME type of the payload, such as `message/rfc822`.
   *
   * Since: 0.1
   */
  properties[PROP_MIME_TYPE] =
    g_param_spec_string ("mime-type", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:size:
   *
   * The size of the whole payload in bytes, as the backend reports it.
   *
   * Since: 0.1
   */
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:remote-id:
   *
   * The backend's id of the item, unique within its collection.
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:remote-revision:
   *
   * The backend's version of the item (ETag, MODSEQ).
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_REVISION] =
    g_param_spec_string ("remote-revision", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:gid:
   *
   * The id taken from the payload (Message-ID, iCalendar UID).
   *
   * Since: 0.1
   */
  properties[PROP_GID] =
    g_param_spec_string ("gid", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:date:
   *
   * The item's date, kept to the second: a message's `Date` header or its
   * delivery time, an event's start; %NULL when unknown.
   *
   * Since: 0.1
   */
  properties[PROP_DATE] =
    g_param_spec_boxed ("date", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnItem:revision:
   *
   * The store revision of the item's last change.
   *
   * Since: 0.1
   */
  properties[PROP_REVISION] =
    g_param_spec_uint64 ("revision", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_item_init (CairnItem *self)
{
  self->flags = cairn_flags_new ();
  self->parts = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_part_unref);
}

/**
 * cairn_item_new:
 * @mime_type: the MIME type of the payload
 *
 * Creates an item that is not stored yet.
 *
 * Returns: (transfer full): a new #CairnItem
 *
 * Since: 0.1
 */
CairnItem *
cairn_item_new (const char *mime_type)
{
  return g_object_new (CAIRN_TYPE_ITEM, "mime-type", mime_type, NULL);
}

/**
 * cairn_item_get_id:
 * @self: a #CairnItem
 *
 * Gets the item's id.
 *
 * Returns: the item's id, or 0 if it is not stored yet
 *
 * Since: 0.1
 */
guint64
cairn_item_get_id (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), 0);

  return self->id;
}

/**
 * cairn_item_set_id:
 * @self: a #CairnItem
 * @id: a stored item's id
 *
 * Points the object at a stored item, to modify it without reading it.
 *
 * Since: 0.1
 */
void
cairn_item_set_id (CairnItem *self,
                   guint64    id)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

/**
 * cairn_item_get_collection_id:
 * @self: a #CairnItem
 *
 * Gets the id of the item's collection.
 *
 * Returns: the id of the item's collection
 *
 * Since: 0.1
 */
guint64
cairn_item_get_collection_id (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), 0);

  return self->collection_id;
}

/**
 * cairn_item_set_collection_id:
 * @self: a #CairnItem
 * @collection_id: the collection to create the item in
 *
 * Sets the collection of an item to create. A stored item changes its
 * collection through cairn_transaction_move_item() only.
 *
 * Since: 0.1
 */
void
cairn_item_set_collection_id (CairnItem *self,
                              guint64    collection_id)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  if (self->collection_id == collection_id)
    return;
  self->collection_id = collection_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLLECTION_ID]);
}

/* Setters for the string properties share one shape. */
static void
cairn_item_replace_string (CairnItem  *self,
                           char      **field,
                           const char *value,
                           guint       prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/**
 * cairn_item_get_mime_type:
 * @self: a #CairnItem
 *
 * Gets the payload's MIME type.
 *
 * Returns: (nullable): the payload's MIME type
 *
 * Since: 0.1
 */
const char *
cairn_item_get_mime_type (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->mime_type;
}

/**
 * cairn_item_set_mime_type:
 * @self: a #CairnItem
 * @mime_type: (nullable): the payload's MIME type
 *
 * Sets the payload's MIME type.
 *
 * Since: 0.1
 */
void
cairn_item_set_mime_type (CairnItem  *self,
                          const char *mime_type)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  cairn_item_replace_string (self, &self->mime_type, mime_type, PROP_MIME_TYPE);
}

/**
 * cairn_item_get_size:
 * @self: a #CairnItem
 *
 * Gets the size of the payload in bytes.
 *
 * Returns: the size of the payload in bytes
 *
 * Since: 0.1
 */
guint64
cairn_item_get_size (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), 0);

  return self->size;
}

/**
 * cairn_item_set_size:
 * @self: a #CairnItem
 * @size: the size of the payload in bytes
 *
 * Sets the size of the payload in bytes.
 *
 * Since: 0.1
 */
void
cairn_item_set_size (CairnItem *self,
                     guint64    size)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  if (self->size == size)
    return;
  self->size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIZE]);
}

/**
 * cairn_item_get_remote_id:
 * @self: a #CairnItem
 *
 * Gets the backend's id of the item.
 *
 * Returns: (nullable): the backend's id of the item
 *
 * Since: 0.1
 */
const char *
cairn_item_get_remote_id (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->remote_id;
}

/**
 * cairn_item_set_remote_id:
 * @self: a #CairnItem
 * @remote_id: (nullable): the backend's id of the item
 *
 * Sets the backend's id of the item. cairn_transaction_modify_item()
 * writes the remote id of an item only once it is set so, not the one
 * the item was read with.
 *
 * Since: 0.1
 */
void
cairn_item_set_remote_id (CairnItem  *self,
                          const char *remote_id)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  self->remote_id_set = TRUE;
  cairn_item_replace_string (self, &self->remote_id, remote_id, PROP_REMOTE_ID);
}

/**
 * cairn_item_get_remote_revision:
 * @self: a #CairnItem
 *
 * Gets the backend's version of the item.
 *
 * Returns: (nullable): the backend's version of the item
 *
 * Since: 0.1
 */
const char *
cairn_item_get_remote_revision (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->remote_revision;
}

/**
 * cairn_item_set_remote_revision:
 * @self: a #CairnItem
 * @remote_revision: (nullable): the backend's version of the item
 *
 * Sets the backend's version of the item.
 *
 * Since: 0.1
 */
void
cairn_item_set_remote_revision (CairnItem  *self,
                                const char *remote_revision)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  cairn_item_replace_string (self, &self->remote_revision, remote_revision,
                             PROP_REMOTE_REVISION);
}

/**
 * cairn_item_get_gid:
 * @self: a #CairnItem
 *
 * Gets the item's GID, the id taken from its payload (a Message-ID, an
 * iCalendar UID).
 *
 * Returns: (nullable): the id taken from the payload
 *
 * Since: 0.1
 */
const char *
cairn_item_get_gid (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->gid;
}

/**
 * cairn_item_set_gid:
 * @self: a #CairnItem
 * @gid: (nullable): the id taken from the payload
 *
 * Sets the item's GID, the id taken from its payload.
 *
 * Since: 0.1
 */
void
cairn_item_set_gid (CairnItem  *self,
                    const char *gid)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  cairn_item_replace_string (self, &self->gid, gid, PROP_GID);
}

/**
 * cairn_item_get_date:
 * @self: a #CairnItem
 *
 * Gets the item's date: a message's `Date` header or its delivery time,
 * an event's start.
 *
 * Returns: (nullable) (transfer none): the date, or %NULL when unknown
 *
 * Since: 0.1
 */
GDateTime *
cairn_item_get_date (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->date;
}

/**
 * cairn_item_set_date:
 * @self: a #CairnItem
 * @date: (nullable): the date, or %NULL when unknown
 *
 * Sets the item's date. The store keeps it to the second, as unix time.
 *
 * Since: 0.1
 */
void
cairn_item_set_date (CairnItem *self,
                     GDateTime *date)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));

  if (self->date == date ||
      (self->date != NULL && date != NULL && g_date_time_equal (self->date, date)))
    return;
  g_clear_pointer (&self->date, g_date_time_unref);
  if (date != NULL)
    self->date = g_date_time_ref (date);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATE]);
}

/**
 * cairn_item_get_revision:
 * @self: a #CairnItem
 *
 * Gets the store revision of the item's last change.
 *
 * Returns: the store revision of the item's last change
 *
 * Since: 0.1
 */
guint64
cairn_item_get_revision (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), 0);

  return self->revision;
}

void
_cairn_item_set_revision (CairnItem *self,
                          guint64    revision)
{
  if (self->revision == revision)
    return;
  self->revision = revision;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
}

/**
 * cairn_item_get_flags:
 * @self: a #CairnItem
 *
 * The flags of the item. An item to create is stored with these flags; a
 * stored item changes its flags only through deltas
 * (cairn_transaction_change_flags()).
 *
 * Returns: (transfer none): the item's flags, which the caller may change
 *   in place
 *
 * Since: 0.1
 */
CairnFlags *
cairn_item_get_flags (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->flags;
}

/**
 * cairn_item_set_flags:
 * @self: a #CairnItem
 * @flags: the new flags
 *
 * Replaces the item's flags with @flags.
 *
 * Since: 0.1
 */
void
cairn_item_set_flags (CairnItem        *self,
                      const CairnFlags *flags)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));
  g_return_if_fail (flags != NULL);

  cairn_flags_free (self->flags);
  self->flags = cairn_flags_copy (flags);
}

/**
 * cairn_item_get_part:
 * @self: a #CairnItem
 * @name: a part name
 *
 * Looks up the part called @name among those the item carries.
 *
 * Returns: (transfer none) (nullable): the part called @name, if the item
 *   carries it
 *
 * Since: 0.1
 */
CairnPart *
cairn_item_get_part (CairnItem  *self,
                     const char *name)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->parts->len; i++)
    {
      CairnPart *part = g_ptr_array_index (self->parts, i);

      if (strcmp (part->name, name) == 0)
        return part;
    }

  return NULL;
}

/**
 * cairn_item_set_part:
 * @self: a #CairnItem
 * @part: a part
 *
 * Adds @part to the item, replacing a part of the same name. When the
 * item is created or modified, each part it carries is stored.
 *
 * Since: 0.1
 */
void
cairn_item_set_part (CairnItem *self,
                     CairnPart *part)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));
  g_return_if_fail (part != NULL);

  for (guint i = 0; i < self->parts->len; i++)
    {
      CairnPart *old = g_ptr_array_index (self->parts, i);

      if (strcmp (old->name, part->name) == 0)
        {
          self->parts->pdata[i] = cairn_part_ref (part);
          cairn_part_unref (old);
          return;
        }
    }

  g_ptr_array_add (self->parts, cairn_part_ref (part));
}

/**
 * cairn_item_get_parts:
 * @self: a #CairnItem
 *
 * Gets the parts the item carries.
 *
 * Returns: (transfer none) (element-type CairnPart): the parts the item
 *   carries
 *
 * Since: 0.1
 */
GPtrArray *
cairn_item_get_parts (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->parts;
}

/**
 * cairn_item_get_attribute:
 * @self: a #CairnItem
 * @name: an attribute name
 *
 * Looks up one of the item's attributes.
 *
 * Returns: (transfer none) (nullable): the attribute's value, if the item
 *   carries it
 *
 * Since: 0.1
 */
GBytes *
cairn_item_get_attribute (CairnItem  *self,
                          const char *name)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->attributes ? g_hash_table_lookup (self->attributes, name) : NULL;
}

/**
 * cairn_item_set_attribute:
 * @self: a #CairnItem
 * @name: a valid attribute name (see cairn_part_name_is_valid())
 * @value: (nullable): the value, or %NULL to remove the attribute
 *
 * Sets an attribute. When the item is modified, attributes set to %NULL
 * are removed from the store and the others are written.
 *
 * Since: 0.1
 */
void
cairn_item_set_attribute (CairnItem  *self,
                          const char *name,
                          GBytes     *value)
{
  g_return_if_fail (CAIRN_IS_ITEM (self));
  g_return_if_fail (cairn_part_name_is_valid (name));

  _cairn_attributes_set (&self->attributes, name, value);
}

/**
 * cairn_item_list_attributes:
 * @self: a #CairnItem
 *
 * Lists the names of the item's attributes.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   attributes the item carries, sorted, including those set to %NULL
 *
 * Since: 0.1
 */
char **
cairn_item_list_attributes (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return _cairn_attributes_list (self->attributes);
}

/**
 * cairn_item_get_tags:
 * @self: a #CairnItem
 *
 * Gets the item's tags, as the read that made it found them when its
 * scope asked for them (cairn_fetch_scope_set_tags()).
 *
 * Returns: (transfer none) (nullable) (element-type CairnTag): the item's
 *   tags by id, or %NULL if they were not loaded
 *
 * Since: 0.1
 */
GPtrArray *
cairn_item_get_tags (CairnItem *self)
{
  g_return_val_if_fail (CAIRN_IS_ITEM (self), NULL);

  return self->tags;
}
