/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-attributes-private.h"
#include "cairn-collection-private.h"

/**
 * CairnCollection:
 *
 * A folder, a calendar or an address book: a node of the collection tree
 * owned by one resource.
 *
 * A top-level collection has the parent id 0. A virtual collection holds
 * no items of its own; items are linked into it (saved searches). The name
 * must be non-empty UTF-8; the remote id and remote revision are opaque
 * byte strings stored verbatim.
 *
 * Since: 0.1
 */

G_DEFINE_FINAL_TYPE (CairnCollection, cairn_collection, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_PARENT_ID,
  PROP_NAME,
  PROP_RESOURCE,
  PROP_REMOTE_ID,
  PROP_REMOTE_REVISION,
  PROP_PARENT_REMOTE_ID,
  PROP_CONTENT_MIME_TYPES,
  PROP_VIRTUAL,
  PROP_CACHE_POLICY,
  PROP_REVISION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cairn_collection_finalize (GObject *object)
{
  CairnCollection *self = (CairnCollection *) object;

  g_free (self->name);
  g_free (self->resource);
  g_free (self->remote_id);
  g_free (self->remote_revision);
  g_free (self->parent_remote_id);
  g_strfreev (self->content_mime_types);
  g_clear_pointer (&self->cache_policy, cairn_cache_policy_free);
  g_clear_pointer (&self->attributes, g_hash_table_unref);

  G_OBJECT_CLASS (cairn_collection_parent_class)->finalize (object);
}

static void
cairn_collection_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CairnCollection *self = CAIRN_COLLECTION (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, self->id);
      break;
    case PROP_PARENT_ID:
      g_value_set_uint64 (value, self->parent_id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_RESOURCE:
      g_value_set_string (value, self->resource);
      break;
    case PROP_REMOTE_ID:
      g_value_set_string (value, self->remote_id);
      break;
    case PROP_REMOTE_REVISION:
      g_value_set_string (value, self->remote_revision);
      break;
    case PROP_PARENT_REMOTE_ID:
      g_value_set_string (value, self->parent_remote_id);
      break;
    case PROP_CONTENT_MIME_TYPES:
      g_value_set_boxed (value, self->content_mime_types);
      break;
    case PROP_VIRTUAL:
      g_value_set_boolean (value, self->is_virtual);
      break;
    case PROP_CACHE_POLICY:
      g_value_set_boxed (value, self->cache_policy);
      break;
    case PROP_REVISION:
      g_value_set_uint64 (value, self->revision);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_collection_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CairnCollection *self = CAIRN_COLLECTION (object);

  switch (prop_id)
    {
    case PROP_ID:
      cairn_collection_set_id (self, g_value_get_uint64 (value));
      break;
    case PROP_PARENT_ID:
      cairn_collection_set_parent_id (self, g_value_get_uint64 (value));
      break;
    case PROP_NAME:
      cairn_collection_set_name (self, g_value_get_string (value));
      break;
    case PROP_RESOURCE:
      cairn_collection_set_resource (self, g_value_get_string (value));
      break;
    case PROP_REMOTE_ID:
      cairn_collection_set_remote_id (self, g_value_get_string (value));
      break;
    case PROP_REMOTE_REVISION:
      cairn_collection_set_remote_revision (self, g_value_get_string (value));
      break;
    case PROP_PARENT_REMOTE_ID:
      cairn_collection_set_parent_remote_id (self, g_value_get_string (value));
      break;
    case PROP_CONTENT_MIME_TYPES:
      cairn_collection_set_content_mime_types (self, g_value_get_boxed (value));
      break;
    case PROP_VIRTUAL:
      cairn_collection_set_virtual (self, g_value_get_boolean (value));
      break;
    case PROP_CACHE_POLICY:
      cairn_collection_set_cache_policy (self, g_value_get_boxed (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_collection_class_init (CairnCollectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_collection_finalize;
  object_class->get_property = cairn_collection_get_property;
  object_class->set_property = cairn_collection_set_property;

  /**
   * CairnCollection:id:
   *
   * The store's id of the collection, or 0 for one not stored yet.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:parent-id:
   *
   * The id of the parent collection, or 0 at the top of the tree.
   *
   * Since: 0.1
   */
  properties[PROP_PARENT_ID] =
    g_param_spec_uint64 ("parent-id", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:name:
   *
   * The display name: non-empty UTF-8.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:resource:
   *
   * The id of the resource instance owning the collection.
   *
   * Since: 0.1
   */
  properties[PROP_RESOURCE] =
    g_param_spec_string ("resource", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:remote-id:
   *
   * The backend's id of the collection.
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:remote-revision:
   *
   * The backend's version of the collection (CTag, sync token,
   * HIGHESTMODSEQ).
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_REVISION] =
    g_param_spec_string ("remote-revision", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:parent-remote-id:
   *
   * The remote id of the parent collection, set by a resource handing
   * its collection tree to the store; %NULL for a top-level collection.
   * The store keeps the parent by #CairnCollection:parent-id instead, so
   * collections read from the store have none.
   *
   * Since: 0.1
   */
  properties[PROP_PARENT_REMOTE_ID] =
    g_param_spec_string ("parent-remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:content-mime-types:
   *
   * The MIME types of the items the collection may hold.
   *
   * Since: 0.1
   */
  properties[PROP_CONTENT_MIME_TYPES] =
    g_param_spec_boxed ("content-mime-types", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:virtual:
   *
   * Whether the collection only links items of other collections.
   *
   * Since: 0.1
   */
  properties[PROP_VIRTUAL] =
    g_param_spec_boolean ("virtual", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:cache-policy:
   *
   * How the collection's items are kept and refreshed.
   *
   * Since: 0.1
   */
  properties[PROP_CACHE_POLICY] =
    g_param_spec_boxed ("cache-policy", NULL, NULL, CAIRN_TYPE_CACHE_POLICY,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnCollection:revision:
   *
   * The store revision of the collection's last change.
   *
   * Since: 0.1
   */
  properties[PROP_REVISION] =
    g_param_spec_uint64 ("revision", NULL, NULL, 0, G_MAXINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_collection_init (CairnCollection *self)
{
  self->content_mime_types = g_new0 (char *, 1);
  self->cache_policy = cairn_cache_policy_new ();
}

/**
 * cairn_collection_new:
 * @resource: the id of the owning resource instance
 * @parent_id: the parent collection's id, or 0 for a top-level one
 * @name: the display name
 *
 * Creates a collection that is not stored yet.
 *
 * Returns: (transfer full): a new #CairnCollection
 *
 * Since: 0.1
 */
CairnCollection *
cairn_collection_new (const char *resource,
                      guint64     parent_id,
                      const char *name)
{
  return g_object_new (CAIRN_TYPE_COLLECTION,
                       "resource", resource,
                       "parent-id", parent_id,
                       "name", name,
                       NULL);
}

/**
 * cairn_collection_get_id:
 * @self: a #CairnCollection
 *
 * Gets the collection's id.
 *
 * Returns: the collection's id, or 0 if it is not stored yet
 *
 * Since: 0.1
 */
guint64
cairn_collection_get_id (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), 0);

  return self->id;
}

/**
 * cairn_collection_set_id:
 * @self: a #CairnCollection
 * @id: a stored collection's id
 *
 * Points the object at a stored collection, to modify it without reading
 * it first.
 *
 * Since: 0.1
 */
void
cairn_collection_set_id (CairnCollection *self,
                         guint64          id)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

/**
 * cairn_collection_get_parent_id:
 * @self: a #CairnCollection
 *
 * Gets the parent's id.
 *
 * Returns: the parent's id, or 0 for a top-level collection
 *
 * Since: 0.1
 */
guint64
cairn_collection_get_parent_id (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), 0);

  return self->parent_id;
}

/**
 * cairn_collection_set_parent_id:
 * @self: a #CairnCollection
 * @parent_id: the parent of a collection to create, or 0
 *
 * A stored collection changes its parent through
 * cairn_transaction_move_collection() only.
 *
 * Since: 0.1
 */
void
cairn_collection_set_parent_id (CairnCollection *self,
                                guint64          parent_id)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  if (self->parent_id == parent_id)
    return;
  self->parent_id = parent_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARENT_ID]);
}

static void
cairn_collection_replace_string (CairnCollection  *self,
                                 char            **field,
                                 const char       *value,
                                 guint             prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/**
 * cairn_collection_get_name:
 * @self: a #CairnCollection
 *
 * Gets the display name.
 *
 * Returns: (nullable): the display name
 *
 * Since: 0.1
 */
const char *
cairn_collection_get_name (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->name;
}

/**
 * cairn_collection_set_name:
 * @self: a #CairnCollection
 * @name: (nullable): the display name
 *
 * Sets the display name.
 *
 * Since: 0.1
 */
void
cairn_collection_set_name (CairnCollection *self,
                           const char      *name)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  cairn_collection_replace_string (self, &self->name, name, PROP_NAME);
}

/**
 * cairn_collection_get_resource:
 * @self: a #CairnCollection
 *
 * Gets the id of the resource instance owning the collection.
 *
 * Returns: (nullable): the id of the owning resource instance
 *
 * Since: 0.1
 */
const char *
cairn_collection_get_resource (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->resource;
}

/**
 * cairn_collection_set_resource:
 * @self: a #CairnCollection
 * @resource: (nullable): the id of the owning resource instance
 *
 * Sets the owner of a top-level collection to create; collections below it
 * always belong to their parent's resource.
 *
 * Since: 0.1
 */
void
cairn_collection_set_resource (CairnCollection *self,
                               const char      *resource)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  cairn_collection_replace_string (self, &self->resource, resource, PROP_RESOURCE);
}

/**
 * cairn_collection_get_remote_id:
 * @self: a #CairnCollection
 *
 * Gets the backend's id of the collection.
 *
 * Returns: (nullable): the backend's id of the collection
 *
 * Since: 0.1
 */
const char *
cairn_collection_get_remote_id (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->remote_id;
}

/**
 * cairn_collection_set_remote_id:
 * @self: a #CairnCollection
 * @remote_id: (nullable): the backend's id of the collection
 *
 * Sets the backend's id of the collection.
 *
 * Since: 0.1
 */
void
cairn_collection_set_remote_id (CairnCollection *self,
                                const char      *remote_id)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  cairn_collection_replace_string (self, &self->remote_id, remote_id, PROP_REMOTE_ID);
}

/**
 * cairn_collection_get_remote_revision:
 * @self: a #CairnCollection
 *
 * Gets the backend's version of the collection.
 *
 * Returns: (nullable): the backend's version of the collection
 *
 * Since: 0.1
 */
const char *
cairn_collection_get_remote_revision (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->remote_revision;
}

/**
 * cairn_collection_set_remote_revision:
 * @self: a #CairnCollection
 * @remote_revision: (nullable): the backend's version of the collection
 *
 * Sets the backend's version of the collection.
 *
 * Since: 0.1
 */
void
cairn_collection_set_remote_revision (CairnCollection *self,
                                      const char      *remote_revision)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  cairn_collection_replace_string (self, &self->remote_revision, remote_revision,
                                   PROP_REMOTE_REVISION);
}

/**
 * cairn_collection_get_parent_remote_id:
 * @self: a #CairnCollection
 *
 * Gets the remote id of the parent collection.
 *
 * Returns: (nullable): the remote id of the parent collection, as a
 *   resource handed it
 *
 * Since: 0.1
 */
const char *
cairn_collection_get_parent_remote_id (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->parent_remote_id;
}

/**
 * cairn_collection_set_parent_remote_id:
 * @self: a #CairnCollection
 * @parent_remote_id: (nullable): the remote id of the parent collection,
 *   or %NULL for a top-level collection
 *
 * Sets the remote id of the parent collection.
 *
 * Since: 0.1
 */
void
cairn_collection_set_parent_remote_id (CairnCollection *self,
                                       const char      *parent_remote_id)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  cairn_collection_replace_string (self, &self->parent_remote_id, parent_remote_id,
                                   PROP_PARENT_REMOTE_ID);
}

/**
 * cairn_collection_get_content_mime_types:
 * @self: a #CairnCollection
 *
 * Gets the MIME types of the items the collection may hold.
 *
 * Returns: (transfer none) (array zero-terminated=1): the MIME types of the
 *   items the collection may hold
 *
 * Since: 0.1
 */
const char * const *
cairn_collection_get_content_mime_types (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return (const char * const *) self->content_mime_types;
}

/**
 * cairn_collection_set_content_mime_types:
 * @self: a #CairnCollection
 * @mime_types: (array zero-terminated=1) (nullable): MIME types
 *
 * Sets the MIME types of the items the collection may hold.
 *
 * Since: 0.1
 */
void
cairn_collection_set_content_mime_types (CairnCollection    *self,
                                         const char * const *mime_types)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  if (mime_types != NULL &&
      g_strv_equal (mime_types, (const char * const *) self->content_mime_types))
    return;

  g_strfreev (self->content_mime_types);
  self->content_mime_types = mime_types ? g_strdupv ((char **) mime_types) : g_new0 (char *, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_MIME_TYPES]);
}

/**
 * cairn_collection_get_virtual:
 * @self: a #CairnCollection
 *
 * Gets whether the collection is virtual: it links items that live in other
 * collections.
 *
 * Returns: %TRUE for a virtual collection
 *
 * Since: 0.1
 */
gboolean
cairn_collection_get_virtual (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), FALSE);

  return self->is_virtual;
}

/**
 * cairn_collection_set_virtual:
 * @self: a #CairnCollection
 * @is_virtual: whether a collection to create is virtual
 *
 * Sets whether the collection is virtual.
 *
 * Since: 0.1
 */
void
cairn_collection_set_virtual (CairnCollection *self,
                              gboolean         is_virtual)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));

  is_virtual = !!is_virtual;
  if (self->is_virtual == is_virtual)
    return;
  self->is_virtual = is_virtual;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIRTUAL]);
}

/**
 * cairn_collection_get_cache_policy:
 * @self: a #CairnCollection
 *
 * Gets the collection's cache policy.
 *
 * Returns: (transfer none): the collection's cache policy, which the caller
 *   may change in place
 *
 * Since: 0.1
 */
CairnCachePolicy *
cairn_collection_get_cache_policy (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return self->cache_policy;
}

/**
 * cairn_collection_set_cache_policy:
 * @self: a #CairnCollection
 * @policy: the new cache policy
 *
 * Sets the collection's cache policy.
 *
 * Since: 0.1
 */
void
cairn_collection_set_cache_policy (CairnCollection        *self,
                                   const CairnCachePolicy *policy)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));
  g_return_if_fail (policy != NULL);

  if (cairn_cache_policy_equal (policy, self->cache_policy))
    return;
  cairn_cache_policy_free (self->cache_policy);
  self->cache_policy = cairn_cache_policy_copy (policy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CACHE_POLICY]);
}

/**
 * cairn_collection_get_revision:
 * @self: a #CairnCollection
 *
 * Gets the store revision of the collection's last change.
 *
 * Returns: the store revision of the collection's last change
 *
 * Since: 0.1
 */
guint64
cairn_collection_get_revision (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), 0);

  return self->revision;
}

void
_cairn_collection_set_revision (CairnCollection *self,
                                guint64          revision)
{
  if (self->revision == revision)
    return;
  self->revision = revision;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
}

/**
 * cairn_collection_get_attribute:
 * @self: a #CairnCollection
 * @name: an attribute name
 *
 * Looks up one of the collection's attributes.
 *
 * Returns: (transfer none) (nullable): the attribute's value
 *
 * Since: 0.1
 */
GBytes *
cairn_collection_get_attribute (CairnCollection *self,
                                const char      *name)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->attributes ? g_hash_table_lookup (self->attributes, name) : NULL;
}

/**
 * cairn_collection_set_attribute:
 * @self: a #CairnCollection
 * @name: a valid attribute name (see cairn_part_name_is_valid())
 * @value: (nullable): the value, or %NULL to remove the attribute
 *
 * Sets or removes one of the collection's attributes.
 *
 * Since: 0.1
 */
void
cairn_collection_set_attribute (CairnCollection *self,
                                const char      *name,
                                GBytes          *value)
{
  g_return_if_fail (CAIRN_IS_COLLECTION (self));
  g_return_if_fail (name != NULL);

  _cairn_attributes_set (&self->attributes, name, value);
}

/**
 * cairn_collection_list_attributes:
 * @self: a #CairnCollection
 *
 * Lists the names of the collection's attributes.
 *
 * Returns: (transfer full) (array zero-terminated=1): the attribute names
 *   the collection carries, sorted
 *
 * Since: 0.1
 */
char **
cairn_collection_list_attributes (CairnCollection *self)
{
  g_return_val_if_fail (CAIRN_IS_COLLECTION (self), NULL);

  return _cairn_attributes_list (self->attributes);
}

/* The collections row */

static gboolean
set_collection_attribute (CairnStatement  *row,
                          gpointer         collection,
                          GError         **error)
{
  g_autoptr(GBytes) value = g_bytes_new (sqlite3_column_blob (row, 1),
                                         sqlite3_column_bytes (row, 1));

  cairn_collection_set_attribute (collection, (const char *) sqlite3_column_text (row, 0), value);
  return TRUE;
}

/* A CairnRowFunc for CAIRN_COLLECTION_COLUMNS; @database reads the attributes. */
gpointer
_cairn_collection_from_row (CairnStatement  *row,
                            gpointer         database,
                            GError         **error)
{
  g_autoptr(CairnCollection) collection = g_object_new (CAIRN_TYPE_COLLECTION, NULL);
  CairnCachePolicy *policy = collection->cache_policy;
  g_auto(GStrv) local_parts = _cairn_words_split ((const char *) sqlite3_column_text (row, 12));
  CairnStatement *attributes;

  collection->id = sqlite3_column_int64 (row, 0);
  collection->parent_id = sqlite3_column_int64 (row, 1);
  collection->name = _cairn_column_dup (row, 2);
  collection->resource = _cairn_column_dup (row, 3);
  collection->remote_id = _cairn_column_dup (row, 4);
  collection->remote_revision = _cairn_column_dup (row, 5);
  g_strfreev (collection->content_mime_types);
  collection->content_mime_types = _cairn_words_split ((const char *) sqlite3_column_text (row, 6));
  collection->is_virtual = sqlite3_column_int (row, 7) != 0;
  cairn_cache_policy_set_inherit (policy, sqlite3_column_int (row, 8));
  cairn_cache_policy_set_check_interval (policy, MAX (-1, sqlite3_column_int (row, 9)));
  cairn_cache_policy_set_cache_timeout (policy, MAX (-1, sqlite3_column_int (row, 10)));
  cairn_cache_policy_set_sync_on_demand (policy, sqlite3_column_int (row, 11));
  cairn_cache_policy_set_local_parts (policy, (const char * const *) local_parts);
  collection->revision = sqlite3_column_int64 (row, 13);

  attributes = _cairn_database_query (database,
                                      "SELECT name, value FROM collection_attributes "
                                      "WHERE collection_id = ?",
                                      CAIRN_BINDS (_cairn_bind_int (collection->id)), error);
  if (!_cairn_database_foreach (database, attributes, set_collection_attribute, collection, error))
    return NULL;

  return g_steal_pointer (&collection);
}

CairnCollection *
_cairn_collection_load (CairnDatabase  *database,
                        guint64         id,
                        GError        **error)
{
  return _cairn_database_lookup (database,
                                 _cairn_database_query (database,
                                                        "SELECT " CAIRN_COLLECTION_COLUMNS " FROM "
                                                        "collections WHERE id = ?",
                                                        CAIRN_BINDS (_cairn_bind_int (id)), error),
                                 _cairn_collection_from_row, database, error,
                                 "No collection with id %" G_GUINT64_FORMAT, id);
}
