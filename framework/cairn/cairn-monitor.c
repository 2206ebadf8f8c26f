/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change-private.h"
#include "cairn-change-queue-private.h"
#include "cairn-monitor-private.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/**
 * CairnMonitor:
 *
 * Tells what changes in the store: one signal per kind of change, and the
 * callbacks of a #CairnObserver.
 *
 * A monitor keeps the revision up to which it has read the change log.
 * When a write transaction commits, in this process
 * (#CairnStore::committed) or in another one (the `org.cairn.Store1`
 * `Committed` signal on the session bus), it reads every change after
 * that revision itself, in a worker thread, so a missed or merged signal
 * only delays delivery and the main loop never waits for the database.
 *
 * The scope decides which changes are delivered. With nothing added,
 * every change is. Item, relation and collection changes are delivered
 * when any of the added collections (the item's collection, a move's
 * source or destination, a collection's parent), items, resources or MIME
 * types (items only) matches; tag changes are always delivered. Entity
 * kinds, when some are added, restrict delivery to those kinds, and
 * #CairnMonitor:ignore-own-origin drops the changes written with the
 * store's own origin. Links into virtual collections are not delivered.
 *
 * All the pending changes are coalesced per entity before delivery:
 * an add then a modify is one add, an add then a remove is nothing, flag
 * deltas merge, moves chain. With #CairnMonitor:batch set, consecutive
 * item adds, removals, moves between the same collections and equal flag
 * changes are delivered together through the batch signals.
 *
 * With a fetch scope (cairn_monitor_set_fetch_scope()) the item of every
 * item add, modify, move and flag change is read with that scope as it was
 * at that change (cairn_change_get_item()) and handed to the signals that
 * carry an item. A change whose item was removed before it could be read
 * is not delivered (the removal follows), but for a move, which carries
 * what it knows of the item: id, MIME type, destination and remote id.
 *
 * If the changes after the monitor's revision were collected before it
 * could read them, #CairnMonitor::changes-lost tells it.
 *
 * Since: 0.1
 */

#define MAX_BATCH 1000

enum {
  PROP_0,
  PROP_STORE,
  PROP_BATCH,
  PROP_BATCH_FLAGS,
  PROP_IGNORE_OWN_ORIGIN,
  N_PROPS
};

enum {
  ITEM_ADDED,
  ITEM_CHANGED,
  ITEMS_FLAGS_CHANGED,
  ITEM_MOVED,
  ITEM_REMOVED,
  ITEMS_ADDED,
  ITEMS_MOVED,
  ITEMS_REMOVED,
  COLLECTION_ADDED,
  COLLECTION_CHANGED,
  COLLECTION_MOVED,
  COLLECTION_REMOVED,
  TAG_ADDED,
  TAG_CHANGED,
  TAG_REMOVED,
  ITEM_TAGS_CHANGED,
  RELATION_ADDED,
  RELATION_REMOVED,
  CHANGES_LOST,
  READ_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* One delivery: a signal and its changes (one unless batched). With a
 * fetch scope, @later holds for each change the entity's changes
 * delivered after it, which loading the item undoes, and @loaded says
 * whether the items were read. */
typedef struct
{
  guint signal;
  GPtrArray *changes;
  GPtrArray *items;
  GPtrArray *later;
  gboolean loaded;
} Notification;

/* What the monitor delivers; a read works on a copy of it. */
typedef struct
{
  GArray *collections;
  GHashTable *items;
  GPtrArray *resources;
  GPtrArray *mime_types;
  guint kinds;
  gboolean ignore_own_origin;
} Scope;

typedef struct
{
  CairnStore *store;
  GMainContext *context;
  GCancellable *cancellable;
  gulong committed_id;
  GDBusConnection *bus;
  guint subscription;
  GFileMonitor *wal_monitor;
  GSource *wal_recheck;
  GSource *position_write;  /* a recorder's deferred position write */

  Scope *scope;
  CairnFetchScope *fetch_scope;
  gboolean batch;
  gboolean batch_flags;

  CairnObserver *observer;

  guint64 revision;
  gboolean reading;
  gboolean loading;
  gboolean dirty;
  GError *read_error;

  GQueue queue;
  GArray *cuts;  /* where the chunks of the range being read end */
  CairnRecording *recording;
  guint chunk_length;  /* notifications of the chunk being delivered */
  gboolean waiting;
  gboolean dispatching;
  GSource *dispatch_source;

  CairnMonitorGateFunc gate;
  CairnMonitorGateFunc caught_up;
  gpointer gate_data;
  CairnMonitorGateFunc read_func;
  gpointer read_data;
  Notification *held;
  gboolean held_delivered;
  gboolean held_attempted;  /* an earlier delivery of it may have had effects */
  gboolean resumed;         /* started in a fixed range: its next change was in flight */
  gboolean range_fixed;     /* the range's end is written */
  GHashTable *lent;  /* remote ids lent during the range: "kind:id" -> remote id */
} CairnMonitorPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (CairnMonitor, cairn_monitor, G_TYPE_OBJECT)

static void read_changes (CairnMonitor *self);

static void
notification_free (Notification *notification)
{
  g_ptr_array_unref (notification->changes);
  g_clear_pointer (&notification->items, g_ptr_array_unref);
  g_clear_pointer (&notification->later, g_ptr_array_unref);
  g_free (notification);
}

void
_cairn_recording_free (CairnRecording *recording)
{
  g_free (recording->name);
  g_free (recording);
}

static Scope *
scope_new (void)
{
  Scope *scope = g_new0 (Scope, 1);

  scope->collections = g_array_new (FALSE, FALSE, sizeof (guint64));
  scope->items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  scope->resources = g_ptr_array_new_with_free_func (g_free);
  scope->mime_types = g_ptr_array_new_with_free_func (g_free);
  return scope;
}

static void
scope_free (Scope *scope)
{
  g_array_unref (scope->collections);
  g_hash_table_unref (scope->items);
  g_ptr_array_unref (scope->resources);
  g_ptr_array_unref (scope->mime_types);
  g_free (scope);
}

static Scope *
scope_copy (const Scope *scope)
{
  Scope *copy = scope_new ();
  GHashTableIter iter;
  gpointer id;

  g_array_append_vals (copy->collections, scope->collections->data, scope->collections->len);
  g_hash_table_iter_init (&iter, scope->items);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    g_hash_table_add (copy->items, g_memdup2 (id, sizeof (guint64)));
  for (guint i = 0; i < scope->resources->len; i++)
    g_ptr_array_add (copy->resources, g_strdup (g_ptr_array_index (scope->resources, i)));
  for (guint i = 0; i < scope->mime_types->len; i++)
    g_ptr_array_add (copy->mime_types, g_strdup (g_ptr_array_index (scope->mime_types, i)));
  copy->kinds = scope->kinds;
  copy->ignore_own_origin = scope->ignore_own_origin;
  return copy;
}

static void
item_unref (gpointer item)
{
  if (item != NULL)
    g_object_unref (item);
}

static void
later_unref (gpointer later)
{
  if (later != NULL)
    g_ptr_array_unref (later);
}

static gboolean persist_position (CairnMonitorPrivate *priv);

static void
cairn_monitor_dispose (GObject *object)
{
  CairnMonitor *self = CAIRN_MONITOR (object);
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_cancellable_cancel (priv->cancellable);
  if (priv->subscription != 0)
    g_dbus_connection_signal_unsubscribe (priv->bus, priv->subscription);
  priv->subscription = 0;
  g_clear_object (&priv->bus);
  g_clear_signal_handler (&priv->committed_id, priv->store);
  if (priv->wal_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (priv->wal_monitor, self);
      g_file_monitor_cancel (priv->wal_monitor);
    }
  g_clear_object (&priv->wal_monitor);
  if (priv->wal_recheck != NULL)
    g_source_destroy (priv->wal_recheck);
  g_clear_pointer (&priv->wal_recheck, g_source_unref);
  if (priv->dispatch_source != NULL)
    g_source_destroy (priv->dispatch_source);
  g_clear_pointer (&priv->dispatch_source, g_source_unref);
  if (priv->position_write != NULL)
    persist_position (priv);
  g_queue_clear_full (&priv->queue, (GDestroyNotify) notification_free);
  g_clear_pointer (&priv->held, notification_free);
  g_clear_object (&priv->observer);

  G_OBJECT_CLASS (cairn_monitor_parent_class)->dispose (object);
}

static void
cairn_monitor_finalize (GObject *object)
{
  CairnMonitor *self = CAIRN_MONITOR (object);
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_clear_object (&priv->store);
  g_clear_object (&priv->cancellable);
  g_clear_pointer (&priv->context, g_main_context_unref);
  scope_free (priv->scope);
  g_clear_pointer (&priv->fetch_scope, cairn_fetch_scope_unref);
  g_clear_pointer (&priv->recording, _cairn_recording_free);
  g_clear_pointer (&priv->lent, g_hash_table_unref);
  g_clear_pointer (&priv->cuts, g_array_unref);
  g_clear_error (&priv->read_error);

  G_OBJECT_CLASS (cairn_monitor_parent_class)->finalize (object);
}

static void
cairn_monitor_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CairnMonitor *self = CAIRN_MONITOR (object);
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, priv->store);
      break;
    case PROP_BATCH:
      g_value_set_boolean (value, cairn_monitor_get_batch (self));
      break;
    case PROP_BATCH_FLAGS:
      g_value_set_boolean (value, cairn_monitor_get_batch_flags (self));
      break;
    case PROP_IGNORE_OWN_ORIGIN:
      g_value_set_boolean (value, cairn_monitor_get_ignore_own_origin (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_monitor_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  CairnMonitor *self = CAIRN_MONITOR (object);
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STORE:
      priv->store = g_value_dup_object (value);
      break;
    case PROP_BATCH:
      cairn_monitor_set_batch (self, g_value_get_boolean (value));
      break;
    case PROP_BATCH_FLAGS:
      cairn_monitor_set_batch_flags (self, g_value_get_boolean (value));
      break;
    case PROP_IGNORE_OWN_ORIGIN:
      cairn_monitor_set_ignore_own_origin (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static guint
new_signal (GObjectClass *klass,
            const char   *name,
            guint         n_params,
            ...)
{
  va_list args;
  guint id;

  va_start (args, n_params);
  id = g_signal_new_valist (name, G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, NULL, NULL, NULL,
                            NULL, G_TYPE_NONE, n_params, args);
  va_end (args);

  return id;
}

static void
cairn_monitor_class_init (CairnMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType change = CAIRN_TYPE_CHANGE | G_SIGNAL_TYPE_STATIC_SCOPE;
  GType item = CAIRN_TYPE_ITEM;
  GType array = G_TYPE_PTR_ARRAY | G_SIGNAL_TYPE_STATIC_SCOPE;
  GType flags = CAIRN_TYPE_FLAGS | G_SIGNAL_TYPE_STATIC_SCOPE;
  GType strv = G_TYPE_STRV | G_SIGNAL_TYPE_STATIC_SCOPE;

  object_class->dispose = cairn_monitor_dispose;
  object_class->finalize = cairn_monitor_finalize;
  object_class->get_property = cairn_monitor_get_property;
  object_class->set_property = cairn_monitor_set_property;

  /**
   * CairnMonitor:store:
   *
   * The store whose changes the monitor delivers.
   *
   * Since: 0.1
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CAIRN_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnMonitor:batch:
   *
   * Whether consecutive item adds, removals, moves and equal flag changes
   * are delivered together through the batch signals.
   *
   * Since: 0.1
   */
  properties[PROP_BATCH] =
    g_param_spec_boolean ("batch", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnMonitor:batch-flags:
   *
   * Whether consecutive equal flag changes are delivered together through
   * #CairnObserverInterface.items_flags_changed, while adds, removals and
   * moves keep their single forms (implied by #CairnMonitor:batch). A
   * resource whose backend applies one delta to many items in one
   * command (IMAP's UID STORE) asks for it.
   *
   * Since: 0.1
   */
  properties[PROP_BATCH_FLAGS] =
    g_param_spec_boolean ("batch-flags", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnMonitor:ignore-own-origin:
   *
   * Whether changes written with the store's own origin
   * (#CairnStore:origin, when set) are left out, so that a resource does
   * not see its own sync writes.
   *
   * Since: 0.1
   */
  properties[PROP_IGNORE_OWN_ORIGIN] =
    g_param_spec_boolean ("ignore-own-origin", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CairnMonitor::item-added:
   * @self: the monitor
   * @change: the change
   * @item: (nullable): the item read with the fetch scope, or %NULL
   *
   * An item was added.
   *
   * Since: 0.1
   */
  signals[ITEM_ADDED] = new_signal (object_class, "item-added", 2, change, item);

  /**
   * CairnMonitor::item-changed:
   * @self: the monitor
   * @change: the change
   * @item: (nullable): the item read with the fetch scope, or %NULL
   * @parts: the names of the changed parts and attributes (`ATR:name`)
   *
   * An item's columns, parts or attributes changed.
   *
   * Since: 0.1
   */
  signals[ITEM_CHANGED] = new_signal (object_class, "item-changed", 3, change, item, strv);

  /**
   * CairnMonitor::items-flags-changed:
   * @self: the monitor
   * @changes: (element-type CairnChange): the changes, one per item
   * @added: the flags added to every item
   * @removed: the flags removed from every item
   *
   * The flags of one or more items changed by the same delta.
   *
   * Since: 0.1
   */
  signals[ITEMS_FLAGS_CHANGED] = new_signal (object_class, "items-flags-changed", 3, array, flags,
                                             flags);

  /**
   * CairnMonitor::item-moved:
   * @self: the monitor
   * @change: the change
   * @item: (nullable): the item read with the fetch scope, or %NULL
   * @source: the collection the item left
   * @destination: the collection the item is in now
   *
   * An item moved to another collection.
   *
   * Since: 0.1
   */
  signals[ITEM_MOVED] = new_signal (object_class, "item-moved", 4, change, item, G_TYPE_UINT64,
                                    G_TYPE_UINT64);

  /**
   * CairnMonitor::item-removed:
   * @self: the monitor
   * @change: the change; its collection and remote id say where the
   *   item was
   *
   * An item was removed.
   *
   * Since: 0.1
   */
  signals[ITEM_REMOVED] = new_signal (object_class, "item-removed", 1, change);

  /**
   * CairnMonitor::items-added:
   * @self: the monitor
   * @changes: (element-type CairnChange): the changes
   * @items: (nullable) (element-type CairnItem): the items read with the
   *   fetch scope, in the order of @changes, or %NULL without a fetch scope
   *
   * Several items were added (batch form of #CairnMonitor::item-added).
   *
   * Since: 0.1
   */
  signals[ITEMS_ADDED] = new_signal (object_class, "items-added", 2, array, array);

  /**
   * CairnMonitor::items-moved:
   * @self: the monitor
   * @changes: (element-type CairnChange): the changes
   * @source: the collection the items left
   * @destination: the collection the items are in now
   *
   * Several items moved between the same two collections.
   *
   * Since: 0.1
   */
  signals[ITEMS_MOVED] = new_signal (object_class, "items-moved", 3, array, G_TYPE_UINT64,
                                     G_TYPE_UINT64);

  /**
   * CairnMonitor::items-removed:
   * @self: the monitor
   * @changes: (element-type CairnChange): the changes
   *
   * Several items were removed.
   *
   * Since: 0.1
   */
  signals[ITEMS_REMOVED] = new_signal (object_class, "items-removed", 1, array);

  /**
   * CairnMonitor::collection-added:
   * @self: the monitor
   * @change: the change; its collection id is the parent
   *
   * A collection was added.
   *
   * Since: 0.1
   */
  signals[COLLECTION_ADDED] = new_signal (object_class, "collection-added", 1, change);

  /**
   * CairnMonitor::collection-changed:
   * @self: the monitor
   * @change: the change
   * @parts: what changed
   *
   * A collection changed.
   *
   * Since: 0.1
   */
  signals[COLLECTION_CHANGED] = new_signal (object_class, "collection-changed", 2, change, strv);

  /**
   * CairnMonitor::collection-moved:
   * @self: the monitor
   * @change: the change
   * @source: the former parent, 0 for the top
   * @destination: the new parent, 0 for the top
   *
   * A collection moved.
   *
   * Since: 0.1
   */
  signals[COLLECTION_MOVED] = new_signal (object_class, "collection-moved", 3, change,
                                          G_TYPE_UINT64, G_TYPE_UINT64);

  /**
   * CairnMonitor::collection-removed:
   * @self: the monitor
   * @change: the change
   *
   * A collection was removed.
   *
   * Since: 0.1
   */
  signals[COLLECTION_REMOVED] = new_signal (object_class, "collection-removed", 1, change);

  /**
   * CairnMonitor::tag-added:
   * @self: the monitor
   * @change: the change; its name is the tag's GID
   *
   * A tag was added.
   *
   * Since: 0.1
   */
  signals[TAG_ADDED] = new_signal (object_class, "tag-added", 1, change);

  /**
   * CairnMonitor::tag-changed:
   * @self: the monitor
   * @change: the change
   *
   * A tag, or a resource's remote id for it, changed.
   *
   * Since: 0.1
   */
  signals[TAG_CHANGED] = new_signal (object_class, "tag-changed", 1, change);

  /**
   * CairnMonitor::tag-removed:
   * @self: the monitor
   * @change: the change
   *
   * A tag was removed.
   *
   * Since: 0.1
   */
  signals[TAG_REMOVED] = new_signal (object_class, "tag-removed", 1, change);

  /**
   * CairnMonitor::item-tags-changed:
   * @self: the monitor
   * @change: the change: %CAIRN_CHANGE_TAG or %CAIRN_CHANGE_UNTAG, the tag
   *   id as its related id
   *
   * An item got or lost a tag.
   *
   * Since: 0.1
   */
  signals[ITEM_TAGS_CHANGED] = new_signal (object_class, "item-tags-changed", 1, change);

  /**
   * CairnMonitor::relation-added:
   * @self: the monitor
   * @change: the change: the left item as entity id, the right one as
   *   related id, the type as name
   *
   * A relation was added.
   *
   * Since: 0.1
   */
  signals[RELATION_ADDED] = new_signal (object_class, "relation-added", 1, change);

  /**
   * CairnMonitor::relation-removed:
   * @self: the monitor
   * @change: the change
   *
   * A relation was removed.
   *
   * Since: 0.1
   */
  signals[RELATION_REMOVED] = new_signal (object_class, "relation-removed", 1, change);

  /**
   * CairnMonitor::changes-lost:
   * @self: the monitor
   * @revision: the revision the monitor resumes after
   *
   * The changes after the monitor's revision were collected from the
   * change log before the monitor read them (cairn_store_collect_garbage()
   * runs while no cursor holds them): they cannot be delivered. Read the
   * state you keep again, as of @revision; delivery goes on with the
   * changes after it. A change recorder never loses changes: its cursor
   * holds the log.
   *
   * Since: 0.1
   */
  signals[CHANGES_LOST] = new_signal (object_class, "changes-lost", 1, G_TYPE_UINT64);

  /**
   * CairnMonitor::read-failed:
   * @self: the monitor
   * @error: why
   *
   * The change log or an item could not be read (a damaged database, a
   * full disk). Nothing is skipped: the monitor reads again at the next
   * commit, and cairn_monitor_get_read_error() tells the error until a
   * read succeeds.
   *
   * Since: 0.1
   */
  signals[READ_FAILED] = new_signal (object_class, "read-failed", 1,
                                     G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
cairn_monitor_init (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  priv->context = g_main_context_ref_thread_default ();
  priv->cancellable = g_cancellable_new ();
  priv->scope = scope_new ();
  priv->lent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&priv->queue);
}

/* Scope */

static gboolean
has_id (GArray  *ids,
        guint64  id)
{
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index (ids, guint64, i) == id)
      return TRUE;

  return FALSE;
}

static gboolean
has_string (GPtrArray  *strings,
            const char *string)
{
  if (string == NULL)
    return FALSE;
  for (guint i = 0; i < strings->len; i++)
    if (g_str_equal (g_ptr_array_index (strings, i), string))
      return TRUE;

  return FALSE;
}

static gboolean
in_scope (const Scope       *scope,
          const CairnChange *change,
          const char        *own_origin)
{
  CairnEntityKind kind = cairn_change_get_entity_kind (change);
  CairnChangeOperation operation = cairn_change_get_operation (change);
  guint64 entity_id = cairn_change_get_entity_id (change);

  if (operation == CAIRN_CHANGE_LINK || operation == CAIRN_CHANGE_UNLINK)
    return FALSE;
  if (scope->ignore_own_origin && own_origin != NULL &&
      g_strcmp0 (cairn_change_get_origin (change), own_origin) == 0)
    return FALSE;
  if (scope->kinds != 0 && (scope->kinds & (1u << kind)) == 0)
    return FALSE;
  if (kind == CAIRN_ENTITY_TAG)
    return TRUE;
  if (scope->collections->len == 0 && g_hash_table_size (scope->items) == 0 &&
      scope->resources->len == 0 && scope->mime_types->len == 0)
    return TRUE;

  if (has_id (scope->collections, cairn_change_get_collection_id (change)) ||
      (operation == CAIRN_CHANGE_MOVE &&
       has_id (scope->collections, cairn_change_get_destination_id (change))) ||
      has_string (scope->resources, cairn_change_get_resource (change)))
    return TRUE;
  if (kind == CAIRN_ENTITY_COLLECTION)
    return has_id (scope->collections, entity_id);
  if (g_hash_table_contains (scope->items, &entity_id))
    return TRUE;
  if (kind == CAIRN_ENTITY_RELATION)
    {
      guint64 right = cairn_change_get_related_id (change);

      return g_hash_table_contains (scope->items, &right);
    }

  return has_string (scope->mime_types, cairn_change_get_mime_type (change));
}

/* Reading */

/* Changes one read coalesces at least, unless the range is shorter: a
 * long range is read in chunks that share no entity (see
 * _cairn_chunk_plan_finish()), never held in memory at once. */
#define CHUNK_LENGTH 1000

/* Notifications whose items one read loads at most; the rest are loaded
 * when delivery reaches them, so that a long backlog is never held in
 * memory with its payloads. */
#define LOAD_AHEAD 256

/* How long a recorder's position over changes out of its scope stays
 * unwritten (defer_position()). */
#define POSITION_WRITE_DELAY_MS 1000

/* How long one dispatch may deliver before it lets the main loop run. */
#define DISPATCH_BUDGET_US (10 * 1000)

typedef struct
{
  CairnStore *store;
  Scope *scope;
  char *own_origin;
  CairnFetchScope *fetch_scope;
  gboolean batch;
  gboolean batch_flags;
  gboolean defer_items;
  guint64 from;
  guint64 bound;
  GArray *cuts;
} ReadData;

typedef struct
{
  guint64 start;     /* where the chunk read begins */
  guint64 to;        /* and ends */
  guint64 range_end;
  GArray *cuts;      /* of the rest of the range, or NULL */
  GPtrArray *notifications;
} ReadResult;

static ReadData *
read_data_new (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  ReadData *data = g_new0 (ReadData, 1);

  data->store = g_object_ref (priv->store);
  data->scope = scope_copy (priv->scope);
  data->own_origin = g_strdup (cairn_store_get_origin (priv->store));
  data->batch = priv->batch;
  data->batch_flags = priv->batch || priv->batch_flags;
  /* A gate may hold a notification for long (offline): its items are read
   * when it is delivered (_cairn_monitor_load_held()). */
  data->defer_items = priv->gate != NULL;
  if (priv->fetch_scope != NULL)
    data->fetch_scope = cairn_fetch_scope_ref (priv->fetch_scope);
  return data;
}

static void
read_data_free (ReadData *data)
{
  g_object_unref (data->store);
  scope_free (data->scope);
  g_free (data->own_origin);
  g_clear_pointer (&data->fetch_scope, cairn_fetch_scope_unref);
  g_clear_pointer (&data->cuts, g_array_unref);
  g_free (data);
}

static void
read_result_free (ReadResult *result)
{
  g_ptr_array_unref (result->notifications);
  g_clear_pointer (&result->cuts, g_array_unref);
  g_free (result);
}

static guint
signal_for (const CairnChange *change,
            gboolean           batch)
{
  switch (cairn_change_get_entity_kind (change))
    {
    case CAIRN_ENTITY_ITEM:
      switch (cairn_change_get_operation (change))
        {
        case CAIRN_CHANGE_ADD:
          return batch ? ITEMS_ADDED : ITEM_ADDED;
        case CAIRN_CHANGE_MODIFY:
          return ITEM_CHANGED;
        case CAIRN_CHANGE_FLAGS:
          return ITEMS_FLAGS_CHANGED;
        case CAIRN_CHANGE_MOVE:
          return batch ? ITEMS_MOVED : ITEM_MOVED;
        case CAIRN_CHANGE_REMOVE:
          return batch ? ITEMS_REMOVED : ITEM_REMOVED;
        default:
          return ITEM_TAGS_CHANGED;
        }
    case CAIRN_ENTITY_COLLECTION:
      switch (cairn_change_get_operation (change))
        {
        case CAIRN_CHANGE_ADD:
          return COLLECTION_ADDED;
        case CAIRN_CHANGE_MODIFY:
          return COLLECTION_CHANGED;
        case CAIRN_CHANGE_MOVE:
          return COLLECTION_MOVED;
        default:
          return COLLECTION_REMOVED;
        }
    case CAIRN_ENTITY_TAG:
      switch (cairn_change_get_operation (change))
        {
        case CAIRN_CHANGE_ADD:
          return TAG_ADDED;
        case CAIRN_CHANGE_REMOVE:
          return TAG_REMOVED;
        default:
          return TAG_CHANGED;
        }
    case CAIRN_ENTITY_RELATION:
    default:
      return cairn_change_get_operation (change) == CAIRN_CHANGE_ADD ?
             RELATION_ADDED : RELATION_REMOVED;
    }
}

/* Whether @change can join the batch notification that ends with @last. */
static gboolean
joins_batch (const Notification *notification,
             const CairnChange  *change,
             gboolean            batch,
             gboolean            batch_flags)
{
  const CairnChange *last;

  if (notification->changes->len >= MAX_BATCH ||
      notification->signal != signal_for (change, batch))
    return FALSE;

  last = g_ptr_array_index (notification->changes, notification->changes->len - 1);
  switch (notification->signal)
    {
    case ITEMS_ADDED:
    case ITEMS_REMOVED:
      return TRUE;
    case ITEMS_MOVED:
      return cairn_change_get_collection_id (last) == cairn_change_get_collection_id (change) &&
             cairn_change_get_destination_id (last) == cairn_change_get_destination_id (change);
    case ITEMS_FLAGS_CHANGED:
      return batch_flags &&
             cairn_flags_equal (cairn_flags_delta_get_added (cairn_change_get_flags_delta (last)),
                                cairn_flags_delta_get_added (cairn_change_get_flags_delta (change))) &&
             cairn_flags_equal (cairn_flags_delta_get_removed (cairn_change_get_flags_delta (last)),
                                cairn_flags_delta_get_removed (cairn_change_get_flags_delta (change)));
    default:
      return FALSE;
    }
}

static gboolean
carries_item (guint signal)
{
  return signal == ITEM_ADDED || signal == ITEMS_ADDED || signal == ITEM_CHANGED ||
         signal == ITEM_MOVED || signal == ITEMS_MOVED || signal == ITEMS_FLAGS_CHANGED;
}

/* Takes @change back out of @item: a move returns it to its source, a
 * flag change is reversed (the log holds effective changes only, so the
 * reversal is exact). Content cannot be taken back; it needs not be,
 * because modifies of one entity are delivered as one, with the last
 * content. */
static void
undo_change (CairnItem         *item,
             const CairnChange *change)
{
  const CairnFlagsDelta *delta = cairn_change_get_flags_delta (change);
  CairnFlags *flags = cairn_item_get_flags (item);
  const CairnFlags *added, *removed;

  if (cairn_change_get_operation (change) == CAIRN_CHANGE_MOVE)
    {
      cairn_item_set_collection_id (item, cairn_change_get_collection_id (change));
      return;
    }
  if (cairn_change_get_operation (change) != CAIRN_CHANGE_FLAGS || delta == NULL)
    return;

  added = cairn_flags_delta_get_added (delta);
  removed = cairn_flags_delta_get_removed (delta);
  for (guint i = 0; i < cairn_flags_get_size (added); i++)
    cairn_flags_remove (flags, cairn_flags_get_flag (added, i));
  for (guint i = 0; i < cairn_flags_get_size (removed); i++)
    cairn_flags_add (flags, cairn_flags_get_flag (removed, i));
}

/* Reads the item of @change as it was at that change: the item now, with
 * the later changes of the range (@later) and those after it (from the
 * log) undone. Sets *@item to %NULL when the item is gone: its removal
 * follows. A gone item's move is still delivered, with what the change
 * knows of the item (no parts, no flags), so that the removal finds it
 * where the move put it, also when an attempt before a crash moved it
 * already. */
static gboolean
load_item_at_change (ReadData     *data,
                     guint64       range_end,
                     CairnChange  *change,
                     GPtrArray    *later,
                     CairnItem   **item,
                     GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(CairnItem) now = NULL;

  now = cairn_store_get_item (data->store, change->entity_id, data->fetch_scope, &local_error);
  if (now == NULL)
    {
      *item = NULL;
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* Never replayed, so not in the backend: nothing to move. */
      if (change->operation == CAIRN_CHANGE_MOVE && change->remote_id != NULL)
        {
          *item = cairn_item_new (change->mime_type);
          cairn_item_set_id (*item, change->entity_id);
          cairn_item_set_collection_id (*item, change->destination_id);
          cairn_item_set_remote_id (*item, change->remote_id);
        }
      return TRUE;
    }

  if (cairn_item_get_revision (now) > range_end)
    {
      g_autoptr(GPtrArray) beyond = _cairn_store_get_entity_changes (data->store,
                                                                     CAIRN_ENTITY_ITEM,
                                                                     change->entity_id,
                                                                     range_end, error);

      if (beyond == NULL)
        return FALSE;
      for (guint i = beyond->len; i > 0; i--)
        if (in_scope (data->scope, g_ptr_array_index (beyond, i - 1), data->own_origin))
          undo_change (now, g_ptr_array_index (beyond, i - 1));
    }
  for (guint i = later != NULL ? later->len : 0; i > 0; i--)
    undo_change (now, g_ptr_array_index (later, i - 1));

  /* The remote id known now: a create replayed since lends it. */
  if (cairn_item_get_remote_id (now) != NULL)
    {
      g_free (change->remote_id);
      change->remote_id = g_strdup (cairn_item_get_remote_id (now));
    }
  *item = g_steal_pointer (&now);
  return TRUE;
}

/* Reads the items of @n. Changes whose item is gone are dropped; a
 * notification left without changes is processed without being
 * delivered. */
static gboolean
load_notification (ReadData      *data,
                   guint64        range_end,
                   Notification  *n,
                   GError       **error)
{
  g_clear_pointer (&n->items, g_ptr_array_unref);
  n->items = g_ptr_array_new_full (n->changes->len, item_unref);
  for (guint j = 0; j < n->changes->len; )
    {
      CairnChange *change = g_ptr_array_index (n->changes, j);
      CairnItem *item;

      if (!load_item_at_change (data, range_end, change, g_ptr_array_index (n->later, j),
                                &item, error))
        return FALSE;
      if (item == NULL)
        {
          g_ptr_array_remove_index (n->changes, j);
          g_ptr_array_remove_index (n->later, j);
          continue;
        }
      g_set_object (&change->item, item);
      g_ptr_array_add (n->items, item);
      j++;
    }
  n->loaded = TRUE;
  return TRUE;
}

/* Loads the items of up to LOAD_AHEAD of @notifications from @start. */
static gboolean
load_notifications (ReadData   *data,
                    guint64     range_end,
                    GPtrArray  *notifications,
                    guint       start,
                    GError    **error)
{
  for (guint i = start; i < notifications->len && i < start + LOAD_AHEAD; i++)
    {
      Notification *n = g_ptr_array_index (notifications, i);

      if (!n->loaded && !load_notification (data, range_end, n, error))
        return FALSE;
    }

  return TRUE;
}

/* For each item change, the changes of its entity delivered after it. */
static GHashTable *
index_later_changes (GPtrArray *coalesced)
{
  GHashTable *later = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GHashTable) following = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                           (GDestroyNotify) g_ptr_array_unref);

  for (guint i = coalesced->len; i > 0; i--)
    {
      CairnChange *change = g_ptr_array_index (coalesced, i - 1);
      GPtrArray *after, *with;

      if (change->entity_kind != CAIRN_ENTITY_ITEM)
        continue;
      after = g_hash_table_lookup (following, &change->entity_id);
      with = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
      g_ptr_array_add (with, cairn_change_ref (change));
      if (after != NULL)
        {
          g_hash_table_insert (later, change, g_ptr_array_ref (after));
          for (guint j = 0; j < after->len; j++)
            g_ptr_array_add (with, cairn_change_ref (g_ptr_array_index (after, j)));
        }
      g_hash_table_replace (following, &change->entity_id, with);
    }

  return later;
}

/* Coalesces @changes, one chunk of the range, into notifications. */
static GPtrArray *
notify_chunk (ReadData  *data,
              GPtrArray *changes)
{
  g_autoptr(GPtrArray) selected = g_ptr_array_new_full (changes->len,
                                                        (GDestroyNotify) cairn_change_unref);
  g_autoptr(GPtrArray) coalesced = NULL;
  g_autoptr(GHashTable) later = NULL;
  GPtrArray *notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) notification_free);
  Notification *current = NULL;

  for (guint i = 0; i < changes->len; i++)
    if (in_scope (data->scope, g_ptr_array_index (changes, i), data->own_origin))
      g_ptr_array_add (selected, cairn_change_ref (g_ptr_array_index (changes, i)));

  coalesced = _cairn_coalesce_changes (selected);
  if (data->fetch_scope != NULL)
    later = index_later_changes (coalesced);
  for (guint i = 0; i < coalesced->len; i++)
    {
      CairnChange *change = g_ptr_array_index (coalesced, i);

      if (current == NULL || !joins_batch (current, change, data->batch, data->batch_flags))
        {
          current = g_new0 (Notification, 1);
          current->signal = signal_for (change, data->batch);
          current->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
          current->later = g_ptr_array_new_with_free_func (later_unref);
          current->loaded = data->fetch_scope == NULL || data->defer_items ||
                            !carries_item (current->signal);
          g_ptr_array_add (notifications, current);
        }
      g_ptr_array_add (current->changes, cairn_change_ref (change));
      if (later != NULL && g_hash_table_lookup (later, change) != NULL)
        g_ptr_array_add (current->later, g_ptr_array_ref (g_hash_table_lookup (later, change)));
      else
        g_ptr_array_add (current->later, NULL);
    }

  return notifications;
}

/* The origin whose entries a read leaves out in the store: those that
 * would not be in scope (in_scope()) whatever else they are. */
static const char *
excluded_origin (ReadData *data)
{
  return data->scope->ignore_own_origin ? data->own_origin : NULL;
}

/* Plans the chunks of the range after @data->from, up to @data->bound or
 * the log's end. A range of one chunk is read at once; *@first gets its
 * changes. */
static GArray *
plan_range (ReadData   *data,
            GPtrArray **first,
            GError    **error)
{
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(CairnChunkPlan) plan = NULL;
  GArray *cuts;
  guint64 end, read_to;

  changes = _cairn_store_get_change_range (data->store, data->from, data->bound,
                                           CHUNK_LENGTH, excluded_origin (data), &read_to,
                                           error);
  if (changes == NULL)
    return NULL;
  /* A recorder's range ends where it was fixed, entries there or not. */
  end = data->bound != 0 ? data->bound : data->from;
  if (changes->len < CHUNK_LENGTH)
    {
      /* What was left out was read through too. */
      if (data->bound == 0)
        end = read_to;
      cuts = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_array_append_val (cuts, end);
      *first = g_steal_pointer (&changes);
      return cuts;
    }

  plan = _cairn_chunk_plan_new (data->from);
  if (!_cairn_store_foreach_change_key (data->store, data->from, data->bound,
                                        excluded_origin (data), _cairn_chunk_plan_add, plan,
                                        error))
    return NULL;
  cuts = _cairn_chunk_plan_finish (plan, CHUNK_LENGTH);
  if (cuts->len == 0 || g_array_index (cuts, guint64, cuts->len - 1) < end)
    g_array_append_val (cuts, end);
  return cuts;
}

/* Reads and coalesces the first chunk of the range that notifies anything
 * (chunks without changes in scope are read through). */
static void
read_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ReadData *data = task_data;
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GArray) cuts = NULL;
  g_autoptr(GError) error = NULL;
  ReadResult *result;
  guint next = 0;

  cuts = data->cuts != NULL ? g_array_ref (data->cuts) : plan_range (data, &changes, &error);
  if (cuts == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  result = g_new0 (ReadResult, 1);
  result->start = result->to = data->from;
  result->range_end = g_array_index (cuts, guint64, cuts->len - 1);
  while (next < cuts->len && g_array_index (cuts, guint64, next) <= data->from)
    next++;

  for (; next < cuts->len; next++)
    {
      g_clear_pointer (&result->notifications, g_ptr_array_unref);
      result->start = result->to;
      result->to = g_array_index (cuts, guint64, next);
      if (changes == NULL)
        changes = _cairn_store_get_change_range (data->store, result->start, result->to, 0,
                                                 excluded_origin (data), NULL, &error);
      if (changes == NULL)
        {
          read_result_free (result);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      result->notifications = notify_chunk (data, changes);
      g_clear_pointer (&changes, g_ptr_array_unref);
      if (result->notifications->len > 0)
        break;
    }
  if (result->notifications == NULL)
    result->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) notification_free);
  if (result->to < result->range_end)
    result->cuts = g_steal_pointer (&cuts);

  if (data->fetch_scope != NULL && !data->defer_items &&
      !load_notifications (data, result->to, result->notifications, 0, &error))
    {
      read_result_free (result);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, result, (GDestroyNotify) read_result_free);
}

static gboolean
persist_position (CairnMonitorPrivate *priv)
{
  CairnRecording *recording = priv->recording;
  g_autoptr(GError) error = NULL;

  if (priv->position_write != NULL)
    g_source_destroy (priv->position_write);
  g_clear_pointer (&priv->position_write, g_source_unref);

  if (_cairn_store_set_recorder_position (priv->store, recording->name, recording->revision,
                                          recording->batch_end, recording->delivered, &error))
    return TRUE;

  g_warning ("Cannot save the position of change recorder %s: %s", recording->name,
             error->message);
  return FALSE;
}

/* Everything up to the returned revision is processed by the recorder
 * @self: its position as it is now, which the store may get up to
 * POSITION_WRITE_DELAY_MS later (defer_position()). */
guint64
_cairn_monitor_get_position (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (priv->recording != NULL, 0);
  return priv->recording->revision;
}

static gboolean
write_deferred_position (gpointer user_data)
{
  persist_position (user_data);
  return G_SOURCE_REMOVE;
}

/* A recorder that read only changes it has nothing to deliver for (a
 * resource's own sync, for one) writes its position a moment later, once
 * for many such reads: written at each, it cost a durable write per
 * commit of the sync, on the thread that commits. Lost in a crash, the
 * same changes are read through again. */
static void
defer_position (CairnMonitorPrivate *priv)
{
  if (priv->position_write != NULL)
    return;
  priv->position_write = g_timeout_source_new (POSITION_WRITE_DELAY_MS);
  g_source_set_callback (priv->position_write, write_deferred_position, priv, NULL);
  g_source_attach (priv->position_write, priv->context);
}

static void dispatch (CairnMonitor *self);
static void schedule_dispatch (CairnMonitor *self);

/* Drops the monitor's weak reference of a read or load; returns the
 * monitor, or %NULL if the task was cancelled (the monitor is gone). */
static CairnMonitor *
task_monitor (gpointer  user_data,
              GError   *error)
{
  GWeakRef *weak = user_data;
  CairnMonitor *self = g_weak_ref_get (weak);

  g_weak_ref_clear (weak);
  g_free (weak);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_object (&self);
      return NULL;
    }
  /* Not cancelled, so not disposed. */
  g_assert (self != NULL);
  return self;
}

static void
read_done (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  ReadResult *result = g_task_propagate_pointer (G_TASK (res), &error);
  g_autoptr(CairnMonitor) self = task_monitor (user_data, error);
  CairnMonitorPrivate *priv;
  CairnRecording *recording;

  if (self == NULL)
    return;
  priv = cairn_monitor_get_instance_private (self);
  recording = priv->recording;

  priv->reading = FALSE;
  if (result == NULL)
    {
      /* A plain monitor goes on from now and tells its users to read the
       * state again; a recorder must not skip and keeps its cursor for the
       * agent to resynchronise. */
      if (recording == NULL &&
          g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_EXPIRED) &&
          cairn_store_get_revision (priv->store, &priv->revision, NULL))
        {
          g_clear_pointer (&priv->cuts, g_array_unref);
          g_signal_emit (self, signals[CHANGES_LOST], 0, priv->revision);
          if (priv->read_func != NULL)
            priv->read_func (self, priv->read_data);
          return;
        }
      g_clear_error (&priv->read_error);
      priv->read_error = g_error_copy (error);
      g_signal_emit (self, signals[READ_FAILED], 0, error);
      return;
    }

  g_clear_error (&priv->read_error);
  priv->revision = result->to;
  if (priv->read_func != NULL)
    priv->read_func (self, priv->read_data);
  g_clear_pointer (&priv->cuts, g_array_unref);
  priv->cuts = g_steal_pointer (&result->cuts);
  /* The rest of the range is read when this chunk is delivered. */
  if (priv->cuts != NULL)
    priv->dirty = TRUE;
  if (recording != NULL && result->notifications->len <= recording->delivered)
    {
      /* Nothing in scope: what was read is processed at once. */
      guint64 range_end = priv->cuts != NULL ? result->range_end : 0;

      if (recording->revision != result->to || recording->batch_end != range_end)
        {
          recording->revision = result->to;
          recording->batch_end = range_end;
          recording->delivered = 0;
          defer_position (priv);
        }
    }
  else if (recording != NULL)
    {
      /* Chunks read through had nothing in scope. */
      if (recording->revision != result->start)
        {
          recording->revision = result->start;
          recording->delivered = 0;
        }
      recording->batch_end = result->range_end;
      priv->chunk_length = result->notifications->len;
      g_ptr_array_remove_range (result->notifications, 0, recording->delivered);
    }

  g_ptr_array_set_free_func (result->notifications, NULL);
  for (guint i = 0; i < result->notifications->len; i++)
    g_queue_push_tail (&priv->queue, g_ptr_array_index (result->notifications, i));
  read_result_free (result);

  dispatch (self);
}

static gpointer
weak_ref_new (CairnMonitor *self)
{
  GWeakRef *weak = g_new (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  return weak;
}

static void
read_changes (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  g_autoptr(GTask) task = NULL;
  ReadData *data;

  if (priv->reading || priv->loading || !g_queue_is_empty (&priv->queue) || priv->waiting)
    {
      priv->dirty = TRUE;
      return;
    }

  priv->reading = TRUE;
  priv->dirty = FALSE;

  data = read_data_new (self);
  data->from = priv->recording ? priv->recording->revision : priv->revision;
  data->bound = priv->recording ? priv->recording->batch_end : 0;
  if (priv->cuts != NULL)
    data->cuts = g_array_ref (priv->cuts);

  /* The read does not keep the monitor alive: dropping the monitor
   * stops delivery at once. */
  task = g_task_new (NULL, priv->cancellable, read_done, weak_ref_new (self));
  g_task_set_source_tag (task, read_changes);
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
  g_task_run_in_thread (task, read_thread);
}

/* Loading the items of the next notifications */

typedef struct
{
  ReadData *read;
  guint64 range_end;
  GPtrArray *notifications;
} LoadData;

static void
load_data_free (LoadData *data)
{
  read_data_free (data->read);
  g_ptr_array_unref (data->notifications);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;

  if (load_notifications (data->read, data->range_end, data->notifications, 0, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
apply_lent_remote_ids (CairnMonitorPrivate *priv,
                       Notification        *n);

static void
load_done (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  LoadData *data = g_task_get_task_data (G_TASK (res));
  gboolean loaded = g_task_propagate_boolean (G_TASK (res), &error);
  g_autoptr(CairnMonitor) self = task_monitor (user_data, error);
  CairnMonitorPrivate *priv;

  if (self == NULL)
    return;
  priv = cairn_monitor_get_instance_private (self);
  priv->loading = FALSE;

  /* Back to the head of the queue, in order, loaded or not. */
  for (guint i = data->notifications->len; i > 0; i--)
    {
      Notification *n = g_ptr_array_steal_index (data->notifications, i - 1);

      apply_lent_remote_ids (priv, n);
      g_queue_push_head (&priv->queue, n);
    }
  if (!loaded)
    {
      g_clear_error (&priv->read_error);
      priv->read_error = g_error_copy (error);
      g_signal_emit (self, signals[READ_FAILED], 0, error);
      return;
    }
  dispatch (self);
}

/* Takes the next notifications off the queue while their items are read
 * in a worker thread. */
static void
load_more (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  g_autoptr(GTask) task = NULL;
  LoadData *data = g_new0 (LoadData, 1);

  data->read = read_data_new (self);
  data->range_end = priv->revision;
  data->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) notification_free);
  while (data->notifications->len < LOAD_AHEAD && !g_queue_is_empty (&priv->queue))
    g_ptr_array_add (data->notifications, g_queue_pop_head (&priv->queue));

  priv->loading = TRUE;
  task = g_task_new (NULL, priv->cancellable, load_done, weak_ref_new (self));
  g_task_set_source_tag (task, load_more);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

/* Delivery */

static void
call_observer (CairnMonitor *self,
               Notification *n)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnObserverInterface *iface = CAIRN_OBSERVER_GET_IFACE (priv->observer);
  CairnObserver *o = priv->observer;
  CairnChange *change = g_ptr_array_index (n->changes, 0);
  CairnItem *item = n->items ? g_ptr_array_index (n->items, 0) : NULL;
  const char * const *parts = cairn_change_get_parts (change);
  guint64 source = cairn_change_get_collection_id (change);
  guint64 destination = cairn_change_get_destination_id (change);
  const CairnFlagsDelta *delta = cairn_change_get_flags_delta (change);

#define CALL(vfunc, ...) \
  G_STMT_START { \
    if (iface->vfunc != NULL) \
      iface->vfunc (o, self, __VA_ARGS__); \
    else \
      _cairn_monitor_processed (self); \
  } G_STMT_END

  switch (n->signal)
    {
    case ITEM_ADDED: CALL (item_added, change, item); break;
    case ITEM_CHANGED: CALL (item_changed, change, item, parts); break;
    case ITEMS_FLAGS_CHANGED:
      CALL (items_flags_changed, n->changes, cairn_flags_delta_get_added (delta),
            cairn_flags_delta_get_removed (delta));
      break;
    case ITEM_MOVED: CALL (item_moved, change, item, source, destination); break;
    case ITEM_REMOVED: CALL (item_removed, change); break;
    case ITEMS_ADDED: CALL (items_added, n->changes, n->items); break;
    case ITEMS_MOVED: CALL (items_moved, n->changes, source, destination); break;
    case ITEMS_REMOVED: CALL (items_removed, n->changes); break;
    case COLLECTION_ADDED: CALL (collection_added, change); break;
    case COLLECTION_CHANGED: CALL (collection_changed, change, parts); break;
    case COLLECTION_MOVED: CALL (collection_moved, change, source, destination); break;
    case COLLECTION_REMOVED: CALL (collection_removed, change); break;
    case TAG_ADDED: CALL (tag_added, change); break;
    case TAG_CHANGED: CALL (tag_changed, change); break;
    case TAG_REMOVED: CALL (tag_removed, change); break;
    case ITEM_TAGS_CHANGED: CALL (item_tags_changed, change); break;
    case RELATION_ADDED: CALL (relation_added, change); break;
    case RELATION_REMOVED: CALL (relation_removed, change); break;
    default: g_assert_not_reached ();
    }

#undef CALL
}

/* Before a recorder's observer sees the first change of a range, the
 * range's end is written: an observer killed while it acts on that change
 * gets it again from the same range, not coalesced with later changes (an
 * add whose backend copy may exist must not vanish with a later remove). */
static void
fix_range (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  if (priv->recording == NULL || priv->range_fixed)
    return;
  priv->range_fixed = persist_position (priv);
}

/* Returns whether the gate holds @n. */
static gboolean
emit_notification (CairnMonitor *self,
                   Notification *n)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnChange *change = g_ptr_array_index (n->changes, 0);
  CairnItem *item = n->items ? g_ptr_array_index (n->items, 0) : NULL;
  guint id = signals[n->signal];
  const CairnFlagsDelta *delta = cairn_change_get_flags_delta (change);

  switch (n->signal)
    {
    case ITEM_ADDED:
      g_signal_emit (self, id, 0, change, item);
      break;
    case ITEM_CHANGED:
      g_signal_emit (self, id, 0, change, item, cairn_change_get_parts (change));
      break;
    case ITEMS_FLAGS_CHANGED:
      g_signal_emit (self, id, 0, n->changes, cairn_flags_delta_get_added (delta),
                     cairn_flags_delta_get_removed (delta));
      break;
    case ITEM_MOVED:
      g_signal_emit (self, id, 0, change, item, cairn_change_get_collection_id (change),
                     cairn_change_get_destination_id (change));
      break;
    case ITEMS_ADDED:
      g_signal_emit (self, id, 0, n->changes, n->items);
      break;
    case ITEMS_MOVED:
      g_signal_emit (self, id, 0, n->changes, cairn_change_get_collection_id (change),
                     cairn_change_get_destination_id (change));
      break;
    case ITEMS_REMOVED:
      g_signal_emit (self, id, 0, n->changes);
      break;
    case COLLECTION_CHANGED:
      g_signal_emit (self, id, 0, change, cairn_change_get_parts (change));
      break;
    case COLLECTION_MOVED:
      g_signal_emit (self, id, 0, change, cairn_change_get_collection_id (change),
                     cairn_change_get_destination_id (change));
      break;
    default:
      g_signal_emit (self, id, 0, change);
      break;
    }

  if (priv->observer == NULL)
    return FALSE;
  if (priv->gate != NULL)
    {
      priv->held = n;
      priv->held_delivered = FALSE;
      priv->held_attempted = priv->resumed;
      priv->resumed = FALSE;
      priv->gate (self, priv->gate_data);
      return TRUE;
    }
  fix_range (self);
  call_observer (self, n);
  return FALSE;
}

static void
dispatch (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  gint64 start = g_get_monotonic_time ();
  Notification *n;

  /* A handler may drop the last reference to the monitor. */
  g_object_ref (self);
  priv->dispatching = TRUE;
  while (!priv->waiting && !priv->loading && (n = g_queue_peek_head (&priv->queue)) != NULL)
    {
      if (!n->loaded)
        {
          load_more (self);
          break;
        }
      /* Observers that process at once must not hold the main loop for a
       * whole range: the rest goes on from an idle. */
      if (g_get_monotonic_time () - start > DISPATCH_BUDGET_US)
        {
          schedule_dispatch (self);
          break;
        }
      g_queue_pop_head (&priv->queue);
      priv->waiting = priv->recording != NULL;
      /* Every item of it is gone: its removal follows. */
      if (n->changes->len == 0)
        {
          notification_free (n);
          _cairn_monitor_processed (self);
          continue;
        }
      if (!emit_notification (self, n))
        notification_free (n);
    }
  priv->dispatching = FALSE;

  if (!priv->waiting && !priv->loading && priv->dirty &&
      !g_cancellable_is_cancelled (priv->cancellable))
    read_changes (self);
  if (!priv->waiting && !priv->reading && !priv->loading && g_queue_is_empty (&priv->queue) &&
      priv->caught_up != NULL)
    priv->caught_up (self, priv->gate_data);
  g_object_unref (self);
}

static gboolean
dispatch_idle (gpointer user_data)
{
  CairnMonitor *self = user_data;
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_clear_pointer (&priv->dispatch_source, g_source_unref);
  dispatch (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_dispatch (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  if (priv->dispatch_source != NULL)
    return;
  priv->dispatch_source = g_idle_source_new ();
  g_source_set_callback (priv->dispatch_source, dispatch_idle, self, NULL);
  g_source_set_static_name (priv->dispatch_source, "[cairn] monitor dispatch");
  g_source_attach (priv->dispatch_source, priv->context);
}

/* The position of the recorder once the notification being delivered is
 * processed: past the chunk at its last notification, past the range at
 * its last chunk. */
static void
position_after_processed (CairnMonitorPrivate *priv,
                          guint64             *revision,
                          guint64             *batch_end,
                          guint               *delivered)
{
  CairnRecording *recording = priv->recording;

  *revision = recording->revision;
  *batch_end = recording->batch_end;
  *delivered = recording->delivered + 1;
  if (*delivered < priv->chunk_length)
    return;
  *revision = priv->revision;
  if (priv->revision >= recording->batch_end)
    *batch_end = 0;
  *delivered = 0;
}

/* Writes in @transaction the position the recorder @self will have once
 * the notification it delivers is processed, so that what the delivery
 * wrote to the store and its being processed commit together (a resource's
 * new remote id, for one: a crash between two writes would deliver again
 * a change whose effects the store already shows). */
gboolean
_cairn_monitor_write_processed_position (CairnMonitor      *self,
                                         CairnTransaction  *transaction,
                                         GError           **error)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  guint64 revision, batch_end;
  guint delivered;

  g_return_val_if_fail (priv->recording != NULL && priv->waiting, FALSE);

  position_after_processed (priv, &revision, &batch_end, &delivered);
  return _cairn_transaction_set_recorder_position (transaction, priv->recording->name, revision,
                                                   batch_end, delivered, error);
}

/* Called by a recorder's change_processed(), and by an observer's
 * default callbacks; a plain monitor does not wait. */
void
_cairn_monitor_processed (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnRecording *recording = priv->recording;

  if (recording == NULL)
    return;
  g_return_if_fail (priv->waiting);

  g_clear_pointer (&priv->held, notification_free);
  position_after_processed (priv, &recording->revision, &recording->batch_end,
                            &recording->delivered);
  if (recording->delivered == 0)
    {
      if (recording->batch_end == 0)
        g_hash_table_remove_all (priv->lent);
      priv->chunk_length = 0;
      priv->dirty = TRUE;
    }
  priv->range_fixed = recording->batch_end != 0;
  persist_position (priv);
  priv->waiting = FALSE;

  if (!priv->dispatching)
    schedule_dispatch (self);
}

/* A gate takes each notification of a recorder before its observer does;
 * the observer gets it from _cairn_monitor_deliver_held(), as often as
 * needed, until it is processed. @caught_up is called whenever the
 * monitor has nothing left to deliver. */
void
_cairn_monitor_set_gate (CairnMonitor         *self,
                         CairnMonitorGateFunc  gate,
                         CairnMonitorGateFunc  caught_up,
                         gpointer              user_data)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  priv->gate = gate;
  priv->caught_up = caught_up;
  priv->gate_data = user_data;
}

/* @read is called after each read of the change log, whatever it found
 * in scope: the live models read the log themselves, links into virtual
 * collections too, and take the monitor for its wake-ups only. */
void
_cairn_monitor_set_read_func (CairnMonitor         *self,
                              CairnMonitorGateFunc  read,
                              gpointer              user_data)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  priv->read_func = read;
  priv->read_data = user_data;
}

gboolean
_cairn_monitor_get_held (CairnMonitor  *self,
                         GPtrArray    **changes,
                         GPtrArray    **items)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  if (priv->held == NULL)
    return FALSE;
  *changes = priv->held->changes;
  *items = priv->held->items;
  return TRUE;
}

void
_cairn_monitor_deliver_held (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (priv->held != NULL);

  priv->held_attempted |= priv->held_delivered;
  priv->held_delivered = TRUE;
  fix_range (self);
  call_observer (self, priv->held);
}

/* Gives each collection change of @n its collection as it was at that
 * change: a collection's change log entries carry its parent and name of
 * the change; the rest, and the remote id known now, come from the store,
 * or from the change for a collection removed since. */
static gboolean
load_collections (CairnMonitorPrivate  *priv,
                  Notification         *n,
                  GError              **error)
{
  for (guint i = 0; i < n->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (n->changes, i);
      g_autoptr(GError) local_error = NULL;
      g_autoptr(CairnCollection) collection = NULL;

      collection = cairn_store_get_collection (priv->store, change->entity_id, &local_error);
      if (collection == NULL)
        {
          if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          collection = _cairn_change_to_collection (change);
        }
      else
        {
          cairn_collection_set_parent_id (collection, change->operation == CAIRN_CHANGE_MOVE ?
                                                      change->destination_id :
                                                      change->collection_id);
          if (change->name != NULL)
            cairn_collection_set_name (collection, change->name);
        }
      g_set_object (&change->collection, collection);
    }
  return TRUE;
}

/* Reads the held notification's items as they were at their changes,
 * now rather than when the range was read: a resource may hold it for
 * long. Returns %FALSE without @error set if every item is gone since:
 * the notification is to be processed without delivery, its removals
 * follow. */
gboolean
_cairn_monitor_load_held (CairnMonitor  *self,
                          GError       **error)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  ReadData *data;
  gboolean loaded;

  g_return_val_if_fail (priv->held != NULL, FALSE);

  if (cairn_change_get_entity_kind (g_ptr_array_index (priv->held->changes, 0)) ==
      CAIRN_ENTITY_COLLECTION)
    return load_collections (priv, priv->held, error);
  if (priv->fetch_scope == NULL || !carries_item (priv->held->signal))
    return TRUE;
  data = read_data_new (self);
  loaded = load_notification (data, priv->revision, priv->held, error);
  read_data_free (data);
  if (loaded)
    apply_lent_remote_ids (priv, priv->held);
  return loaded && priv->held->changes->len > 0;
}

/* Whether an earlier delivery of the held notification may have had
 * effects: it was delivered before, or it is the first of a range the
 * recorder resumed after a crash. */
gboolean
_cairn_monitor_get_held_attempted (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  return priv->held != NULL && priv->held_attempted;
}

/* Whether the held notification has an observer callback: a resource
 * refuses the changes it has none for instead of dropping them. */
gboolean
_cairn_monitor_held_has_callback (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnObserverInterface *iface;

  g_return_val_if_fail (priv->held != NULL && priv->observer != NULL, FALSE);

  iface = CAIRN_OBSERVER_GET_IFACE (priv->observer);
  switch (priv->held->signal)
    {
    case ITEM_ADDED: return iface->item_added != NULL;
    case ITEM_CHANGED: return iface->item_changed != NULL;
    case ITEMS_FLAGS_CHANGED: return iface->items_flags_changed != NULL;
    case ITEM_MOVED: return iface->item_moved != NULL;
    case ITEM_REMOVED: return iface->item_removed != NULL;
    case ITEMS_ADDED: return iface->items_added != NULL;
    case ITEMS_MOVED: return iface->items_moved != NULL;
    case ITEMS_REMOVED: return iface->items_removed != NULL;
    case COLLECTION_ADDED: return iface->collection_added != NULL;
    case COLLECTION_CHANGED: return iface->collection_changed != NULL;
    case COLLECTION_MOVED: return iface->collection_moved != NULL;
    case COLLECTION_REMOVED: return iface->collection_removed != NULL;
    case TAG_ADDED: return iface->tag_added != NULL;
    case TAG_CHANGED: return iface->tag_changed != NULL;
    case TAG_REMOVED: return iface->tag_removed != NULL;
    case ITEM_TAGS_CHANGED: return iface->item_tags_changed != NULL;
    case RELATION_ADDED: return iface->relation_added != NULL;
    case RELATION_REMOVED: return iface->relation_removed != NULL;
    default: g_assert_not_reached ();
    }
}

/* Reads again after a failed read. Reads the recorder's range again,
 * with the changes committed since, when nothing of it has reached the
 * observer yet: coalescing then spans those too (an item created and
 * removed while offline is nothing). Returns whether a read started; the
 * gate is called again after it. */
gboolean
_cairn_monitor_refresh (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  /* The last read failed: try it again. */
  if (priv->read_error != NULL && !priv->reading && !priv->loading && !priv->dispatching)
    {
      priv->dirty = TRUE;
      if (!g_queue_is_empty (&priv->queue))
        {
          schedule_dispatch (self);
          return TRUE;
        }
      if (!priv->waiting)
        {
          read_changes (self);
          return TRUE;
        }
    }

  if (priv->recording == NULL || !priv->dirty || priv->reading || priv->loading ||
      priv->dispatching || priv->range_fixed)
    return FALSE;

  g_clear_pointer (&priv->held, notification_free);
  g_queue_clear_full (&priv->queue, (GDestroyNotify) notification_free);
  g_clear_pointer (&priv->cuts, g_array_unref);
  priv->recording->batch_end = 0;
  priv->chunk_length = 0;
  priv->waiting = FALSE;
  read_changes (self);
  return TRUE;
}

static char *
lent_key (CairnEntityKind kind,
          guint64         id)
{
  return g_strdup_printf ("%d:%" G_GUINT64_FORMAT, kind, id);
}

static void
lend_to_notification (Notification    *n,
                      CairnEntityKind  kind,
                      guint64          id,
                      const char      *remote_id)
{
  for (guint i = 0; i < n->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (n->changes, i);

      if (change->entity_kind != kind || change->entity_id != id)
        continue;
      g_free (change->remote_id);
      change->remote_id = g_strdup (remote_id);
      if (change->item != NULL)
        cairn_item_set_remote_id (change->item, remote_id);
    }
}

static void
apply_lent_remote_ids (CairnMonitorPrivate *priv,
                       Notification        *n)
{
  for (guint i = 0; i < n->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (n->changes, i);
      g_autofree char *key = lent_key (change->entity_kind, change->entity_id);
      const char *remote_id = g_hash_table_lookup (priv->lent, key);

      if (remote_id != NULL)
        lend_to_notification (n, change->entity_kind, change->entity_id, remote_id);
    }
}

/* The backend gave entity @id the remote id @remote_id when one of its
 * changes was replayed: the notifications still to come carry it. */
void
_cairn_monitor_lend_remote_id (CairnMonitor    *self,
                               CairnEntityKind  kind,
                               guint64          id,
                               const char      *remote_id)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_hash_table_replace (priv->lent, lent_key (kind, id), g_strdup (remote_id));
  if (priv->held != NULL)
    lend_to_notification (priv->held, kind, id, remote_id);
  for (GList *l = priv->queue.head; l != NULL; l = l->next)
    lend_to_notification (l->data, kind, id, remote_id);
}

static CairnChange *
find_change (Notification         *n,
             CairnEntityKind       kind,
             guint64               id,
             CairnChangeOperation  operation)
{
  for (guint i = 0; i < n->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (n->changes, i);

      if (change->operation == operation && change->entity_kind == kind &&
          change->entity_id == id)
        return change;
    }
  return NULL;
}

/* The first change of entity @id with @operation among the notifications
 * of the chunk being delivered that are not processed yet, the held one
 * included, as coalesced; or %NULL. */
CairnChange *
_cairn_monitor_find_pending (CairnMonitor         *self,
                             CairnEntityKind       kind,
                             guint64               id,
                             CairnChangeOperation  operation)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnChange *change = priv->held != NULL ? find_change (priv->held, kind, id, operation) : NULL;

  for (GList *l = priv->queue.head; change == NULL && l != NULL; l = l->next)
    change = find_change (l->data, kind, id, operation);
  return change != NULL ? cairn_change_ref (change) : NULL;
}

/* Notifications of the chunk being delivered not yet processed, and the
 * revision where the chunk ends (the position when there is none). */
guint
_cairn_monitor_get_queued (CairnMonitor *self,
                           guint64      *chunk_end)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  CairnRecording *recording = priv->recording;

  if (recording->batch_end == 0 || priv->chunk_length == 0)
    {
      *chunk_end = recording->revision;
      return 0;
    }

  *chunk_end = priv->revision;
  return priv->chunk_length - recording->delivered;
}

/* Waking up */

static void
on_store_committed (CairnStore   *store,
                    guint64       revision,
                    CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  if (revision > priv->revision)
    read_changes (self);
}

static void
on_bus_committed (GDBusConnection *connection,
                  const char      *sender,
                  const char      *path,
                  const char      *interface,
                  const char      *name,
                  GVariant        *parameters,
                  gpointer         user_data)
{
  CairnMonitor *self = user_data;
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  guint64 revision;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(t)")))
    return;
  g_variant_get (parameters, "(t)", &revision);
  if (revision > priv->revision)
    read_changes (self);
}

/* A commit changes the write-ahead log. Its watch wakes the monitor for
 * writers that are not on this session bus (another session, a sandbox,
 * a tool without D-Bus), which send no Committed signal it hears. The
 * log changes before the commit is visible, and rate-limited events of
 * the watch come together: a read a little later sees a commit that the
 * read at the event did not. */
#define WAL_RECHECK_MS 150

static gboolean
recheck_wal (gpointer user_data)
{
  CairnMonitor *self = user_data;
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_clear_pointer (&priv->wal_recheck, g_source_unref);
  read_changes (self);
  return G_SOURCE_REMOVE;
}

static void
on_wal_changed (GFileMonitor      *monitor,
                GFile             *file,
                GFile             *other,
                GFileMonitorEvent  event,
                CairnMonitor      *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  read_changes (self);
  if (priv->wal_recheck != NULL)
    return;
  priv->wal_recheck = g_timeout_source_new (WAL_RECHECK_MS);
  g_source_set_callback (priv->wal_recheck, recheck_wal, self, NULL);
  g_source_set_static_name (priv->wal_recheck, "[cairn] monitor log recheck");
  g_source_attach (priv->wal_recheck, priv->context);
}

static void
watch_wal (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);
  g_autofree char *path = g_strconcat (cairn_store_get_path (priv->store), "-wal", NULL);
  g_autoptr(GFile) wal = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;

  priv->wal_monitor = g_file_monitor_file (wal, G_FILE_MONITOR_NONE, priv->cancellable, &error);
  if (priv->wal_monitor == NULL)
    {
      g_warning ("Commits of processes off the session bus are seen only at the next other "
                 "commit: cannot watch %s: %s", path, error->message);
      return;
    }
  /* Every change as it comes: a rate-limited change can come late. */
  g_file_monitor_set_rate_limit (priv->wal_monitor, 0);
  g_signal_connect (priv->wal_monitor, "changed", G_CALLBACK (on_wal_changed), self);
}

static void
got_bus (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (res, &error);
  CairnMonitor *self;
  CairnMonitorPrivate *priv;

  if (bus == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Changes of other processes are seen only at the next local commit: %s",
                   error->message);
      return;
    }

  /* Not cancelled, so the monitor is alive. */
  self = user_data;
  priv = cairn_monitor_get_instance_private (self);
  priv->bus = bus;
  priv->subscription = g_dbus_connection_signal_subscribe (bus, NULL, CAIRN_STORE_INTERFACE,
                                                           "Committed", CAIRN_STORE_OBJECT_PATH,
                                                           NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                           on_bus_committed, self, NULL);
  /* Commits made before the subscription. */
  read_changes (self);
}

void
_cairn_monitor_start (CairnMonitor   *self,
                      guint64         revision,
                      CairnRecording *recording)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  priv->revision = revision;
  priv->recording = recording;
  priv->range_fixed = recording != NULL && recording->batch_end != 0;
  priv->resumed = priv->range_fixed;
  priv->committed_id = g_signal_connect (priv->store, "committed",
                                         G_CALLBACK (on_store_committed), self);
  watch_wal (self);
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
    g_bus_get (G_BUS_TYPE_SESSION, priv->cancellable, got_bus, self);
  /* A recorder reads what is pending from the main loop, after its
   * creator has set the scope and the observer. */
  if (recording != NULL)
    {
      priv->dirty = TRUE;
      schedule_dispatch (self);
    }
}

/**
 * cairn_monitor_new:
 * @store: a #CairnStore
 * @error: return location for an error
 *
 * Creates a monitor of @store that delivers the changes committed after
 * now, in the thread-default main context of the caller. Set its scope
 * before returning to the main loop.
 *
 * Returns: (transfer full): the monitor, or %NULL if the store's revision
 *   could not be read
 *
 * Since: 0.1
 */
CairnMonitor *
cairn_monitor_new (CairnStore  *store,
                   GError     **error)
{
  g_autoptr(CairnMonitor) self = NULL;
  guint64 revision;

  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!cairn_store_get_revision (store, &revision, error))
    return NULL;

  self = g_object_new (CAIRN_TYPE_MONITOR, "store", store, NULL);
  _cairn_monitor_start (self, revision, NULL);

  return g_steal_pointer (&self);
}

/**
 * cairn_monitor_get_store:
 * @self: a #CairnMonitor
 *
 * Gets the store the monitor watches.
 *
 * Returns: (transfer none): the store
 *
 * Since: 0.1
 */
CairnStore *
cairn_monitor_get_store (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), NULL);

  return priv->store;
}

/**
 * cairn_monitor_get_revision:
 * @self: a #CairnMonitor
 *
 * Gets the revision up to which the monitor has read the change log.
 *
 * Returns: the revision up to which the monitor has read the change log
 *
 * Since: 0.1
 */
guint64
cairn_monitor_get_revision (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), 0);

  return priv->revision;
}

/**
 * cairn_monitor_add_collection:
 * @self: a #CairnMonitor
 * @collection_id: a collection
 *
 * Adds @collection_id to the scope: changes of its items, of itself and of
 * its direct children are delivered.
 *
 * Since: 0.1
 */
void
cairn_monitor_add_collection (CairnMonitor *self,
                              guint64       collection_id)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  if (!has_id (priv->scope->collections, collection_id))
    g_array_append_val (priv->scope->collections, collection_id);
}

/**
 * cairn_monitor_add_item:
 * @self: a #CairnMonitor
 * @item_id: an item
 *
 * Adds @item_id to the scope: its changes and relations are delivered.
 *
 * Since: 0.1
 */
void
cairn_monitor_add_item (CairnMonitor *self,
                        guint64       item_id)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  g_hash_table_add (priv->scope->items, g_memdup2 (&item_id, sizeof item_id));
}

static void
add_string (GPtrArray  *strings,
            const char *string)
{
  if (!has_string (strings, string))
    g_ptr_array_add (strings, g_strdup (string));
}

/**
 * cairn_monitor_add_resource:
 * @self: a #CairnMonitor
 * @resource: a resource instance id
 *
 * Adds @resource to the scope: changes in its collections are delivered.
 *
 * Since: 0.1
 */
void
cairn_monitor_add_resource (CairnMonitor *self,
                            const char   *resource)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));
  g_return_if_fail (resource != NULL);

  add_string (priv->scope->resources, resource);
}

/**
 * cairn_monitor_add_mime_type:
 * @self: a #CairnMonitor
 * @mime_type: a MIME type
 *
 * Adds @mime_type to the scope: changes of items of that type are
 * delivered.
 *
 * Since: 0.1
 */
void
cairn_monitor_add_mime_type (CairnMonitor *self,
                             const char   *mime_type)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));
  g_return_if_fail (mime_type != NULL);

  add_string (priv->scope->mime_types, mime_type);
}

/**
 * cairn_monitor_add_entity_kind:
 * @self: a #CairnMonitor
 * @kind: a kind of entity
 *
 * Restricts delivery to changes of the added kinds of entity.
 *
 * Since: 0.1
 */
void
cairn_monitor_add_entity_kind (CairnMonitor    *self,
                               CairnEntityKind  kind)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));
  g_return_if_fail (kind >= CAIRN_ENTITY_ITEM && kind <= CAIRN_ENTITY_RELATION);

  priv->scope->kinds |= 1u << kind;
}

/**
 * cairn_monitor_set_ignore_own_origin:
 * @self: a #CairnMonitor
 * @ignore: whether to leave out the store's own changes
 *
 * Sets #CairnMonitor:ignore-own-origin.
 *
 * Since: 0.1
 */
void
cairn_monitor_set_ignore_own_origin (CairnMonitor *self,
                                     gboolean      ignore)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  ignore = !!ignore;
  if (priv->scope->ignore_own_origin == ignore)
    return;
  priv->scope->ignore_own_origin = ignore;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IGNORE_OWN_ORIGIN]);
}

/**
 * cairn_monitor_get_ignore_own_origin:
 * @self: a #CairnMonitor
 *
 * Gets whether the store's own changes are left out.
 *
 * Returns: whether the store's own changes are left out
 *
 * Since: 0.1
 */
gboolean
cairn_monitor_get_ignore_own_origin (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), FALSE);

  return priv->scope->ignore_own_origin;
}

/**
 * cairn_monitor_set_fetch_scope:
 * @self: a #CairnMonitor
 * @scope: (nullable): what to read with each added, changed or moved item,
 *   or %NULL to read nothing
 *
 * With a fetch scope, the item signals carry the item read with it.
 *
 * Since: 0.1
 */
void
cairn_monitor_set_fetch_scope (CairnMonitor    *self,
                               CairnFetchScope *scope)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  if (scope != NULL)
    cairn_fetch_scope_ref (scope);
  g_clear_pointer (&priv->fetch_scope, cairn_fetch_scope_unref);
  priv->fetch_scope = scope;
}

/**
 * cairn_monitor_get_fetch_scope:
 * @self: a #CairnMonitor
 *
 * Gets what the monitor loads of the items it reports.
 *
 * Returns: (transfer none) (nullable): the fetch scope
 *
 * Since: 0.1
 */
CairnFetchScope *
cairn_monitor_get_fetch_scope (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), NULL);

  return priv->fetch_scope;
}

/**
 * cairn_monitor_set_batch:
 * @self: a #CairnMonitor
 * @batch: whether to deliver item changes in batches
 *
 * Sets #CairnMonitor:batch.
 *
 * Since: 0.1
 */
void
cairn_monitor_set_batch (CairnMonitor *self,
                         gboolean      batch)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  batch = !!batch;
  if (priv->batch == batch)
    return;
  priv->batch = batch;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH]);
}

/**
 * cairn_monitor_get_batch:
 * @self: a #CairnMonitor
 *
 * Gets whether item changes are delivered in batches.
 *
 * Returns: whether item changes are delivered in batches
 *
 * Since: 0.1
 */
gboolean
cairn_monitor_get_batch (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), FALSE);

  return priv->batch;
}

/**
 * cairn_monitor_set_batch_flags:
 * @self: a #CairnMonitor
 * @batch_flags: whether to deliver equal flag changes together
 *
 * Sets #CairnMonitor:batch-flags.
 *
 * Since: 0.1
 */
void
cairn_monitor_set_batch_flags (CairnMonitor *self,
                               gboolean      batch_flags)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));

  batch_flags = !!batch_flags;
  if (priv->batch_flags == batch_flags)
    return;
  priv->batch_flags = batch_flags;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_FLAGS]);
}

/**
 * cairn_monitor_get_batch_flags:
 * @self: a #CairnMonitor
 *
 * Gets whether equal flag changes are delivered together.
 *
 * Returns: whether equal flag changes are delivered together
 *
 * Since: 0.1
 */
gboolean
cairn_monitor_get_batch_flags (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), FALSE);

  return priv->batch_flags;
}

/**
 * cairn_monitor_set_observer:
 * @self: a #CairnMonitor
 * @observer: (nullable): the observer whose callbacks are called after
 *   the signals
 *
 * Sets the observer of the monitor.
 *
 * Since: 0.1
 */
void
cairn_monitor_set_observer (CairnMonitor  *self,
                            CairnObserver *observer)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_MONITOR (self));
  g_return_if_fail (observer == NULL || CAIRN_IS_OBSERVER (observer));

  g_set_object (&priv->observer, observer);
}

/**
 * cairn_monitor_get_observer:
 * @self: a #CairnMonitor
 *
 * Gets the observer the monitor delivers changes to.
 *
 * Returns: (transfer none) (nullable): the observer
 *
 * Since: 0.1
 */
CairnObserver *
cairn_monitor_get_observer (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), NULL);

  return priv->observer;
}

/**
 * cairn_monitor_get_read_error:
 * @self: a #CairnMonitor
 *
 * Gets why the last read of the change log failed, if it did.
 *
 * Returns: (transfer none) (nullable): why the last read of the change log
 *   failed, or %NULL if it succeeded (see #CairnMonitor::read-failed)
 *
 * Since: 0.1
 */
const GError *
cairn_monitor_get_read_error (CairnMonitor *self)
{
  CairnMonitorPrivate *priv = cairn_monitor_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_MONITOR (self), NULL);

  return priv->read_error;
}
