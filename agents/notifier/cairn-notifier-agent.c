/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The new-mail notifier: announces new unread mail through the
 * freedesktop notification service (org.freedesktop.Notifications), one
 * notification for a burst, with the sender and subject of the newest.
 *
 *   [Agent]
 *   Type=notifier
 *   delay=2000
 *   do-not-disturb=false
 *
 * A burst ends when no mail came for `delay` milliseconds (or ten times
 * that after it began). Only then is the mail read again: what a filter
 * discarded, marked read or took out of the store since is not
 * announced. Silent are: mail of a collection the notifier saw created
 * until its resource's first sync is over (an initial sync), mail of a
 * resource that is offline, everything while the notifier is offline or
 * do-not-disturb is set. A burst lives in memory only: a notification is
 * worth nothing after a restart. */
#include <cairn/cairn.h>

#include "cairn-sieve-message-private.h"

#define CAIRN_TYPE_NOTIFIER_AGENT (cairn_notifier_agent_get_type ())
G_DECLARE_FINAL_TYPE (CairnNotifierAgent, cairn_notifier_agent, CAIRN, NOTIFIER_AGENT,
                      CairnAgent)

#define MAIL_TYPE "message/rfc822"
#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH "/org/freedesktop/Notifications"
#define AGENT_PATH "/org/cairn/Agent"
#define AGENT_NAME_PREFIX "org.cairn.Agent."
#define MAX_BURST_FACTOR 10
#define DBUS_TIMEOUT_MS 5000

struct _CairnNotifierAgent
{
  CairnAgent parent_instance;

  guint delay;
  gboolean do_not_disturb;

  GDBusProxy *notifications;
  GArray *burst;               /* guint64 item ids */
  GHashTable *initial;         /* collection ids in their first sync */
  guint timeout_id;
  gint64 burst_start;
  guint32 last_id;             /* replaced by the next notification */
  GCancellable *cancellable;
};

enum {
  PROP_0,
  PROP_DELAY,
  PROP_DO_NOT_DISTURB,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_notifier_agent_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnNotifierAgent, cairn_notifier_agent, CAIRN_TYPE_AGENT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_notifier_agent_observer_init))

/* What one burst announces, gathered in a worker thread. */
typedef struct
{
  GArray *items;               /* guint64 */
  GArray *initial;             /* guint64: collections in their first sync */
  guint count;
  char *sender;
  char *subject;
  GArray *settled;             /* guint64: initial collections whose sync is over */
} Burst;

static void
burst_free (Burst *burst)
{
  g_array_unref (burst->items);
  g_array_unref (burst->initial);
  g_array_unref (burst->settled);
  g_free (burst->sender);
  g_free (burst->subject);
  g_free (burst);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Burst, burst_free)

/* A property of a running agent (the owner of a collection), NULL when it
 * does not run or does not say. */
static GVariant *
agent_property (GDBusConnection *bus,
                const char      *agent,
                const char      *interface,
                const char      *name)
{
  g_autofree char *bus_name = g_strconcat (AGENT_NAME_PREFIX, agent, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value = NULL;

  reply = g_dbus_connection_call_sync (bus, bus_name, AGENT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", interface, name),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       DBUS_TIMEOUT_MS, NULL, &error);
  if (reply == NULL)
    {
      g_debug ("%s of %s: %s", name, agent, error->message);
      return NULL;
    }
  g_variant_get (reply, "(v)", &value);
  return value;
}

static gboolean
agent_flag (GDBusConnection *bus,
            const char      *agent,
            const char      *interface,
            const char      *name,
            gboolean         fallback)
{
  g_autoptr(GVariant) value = agent_property (bus, agent, interface, name);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return fallback;
  return g_variant_get_boolean (value);
}

/* The name of the first sender, else its address. */
static char *
sender_of (CairnSieveMessage *message)
{
  g_autoptr(GPtrArray) values = cairn_sieve_message_get_values (message, "From", FALSE);
  g_autoptr(InternetAddressList) list = NULL;
  InternetAddress *address;

  if (values->len == 0)
    return NULL;
  list = internet_address_list_parse (NULL, g_ptr_array_index (values, 0));
  if (list == NULL || internet_address_list_length (list) == 0)
    return g_strdup (g_ptr_array_index (values, 0));
  address = internet_address_list_get_address (list, 0);
  if (internet_address_get_name (address) != NULL && *internet_address_get_name (address) != '\0')
    return g_strdup (internet_address_get_name (address));
  if (INTERNET_ADDRESS_IS_MAILBOX (address))
    return g_strdup (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
  return internet_address_to_string (address, NULL, FALSE);
}

/* Keeps the sender and subject of @item if it is the newest so far: the
 * latest Date, mail without one counting as the oldest. */
static void
read_newest (CairnStore  *store,
             CairnItem   *item,
             Burst       *burst,
             GDateTime  **newest)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(CairnSieveMessage) message = NULL;
  g_autoptr(GPtrArray) subjects = NULL;
  g_autoptr(GPtrArray) dates = NULL;
  g_autoptr(GDateTime) date = NULL;

  stream = cairn_store_open_part (store, cairn_item_get_id (item), CAIRN_PART_RFC822, NULL,
                                  &error);
  if (stream != NULL)
    message = cairn_sieve_message_new_from_stream (stream, cairn_item_get_size (item), NULL,
                                                   &error);
  if (message == NULL)
    {
      g_debug ("Item %" G_GUINT64_FORMAT ": %s", cairn_item_get_id (item), error->message);
      return;
    }
  dates = cairn_sieve_message_get_values (message, "Date", FALSE);
  date = dates->len > 0 ? g_mime_utils_header_decode_date (g_ptr_array_index (dates, 0)) : NULL;
  if (date == NULL)
    date = g_date_time_new_from_unix_utc (0);
  if (*newest != NULL && g_date_time_compare (date, *newest) < 0)
    return;
  g_clear_pointer (newest, g_date_time_unref);
  *newest = g_steal_pointer (&date);
  subjects = cairn_sieve_message_get_values (message, "Subject", TRUE);
  g_free (burst->sender);
  g_free (burst->subject);
  burst->sender = sender_of (message);
  burst->subject = subjects->len > 0 ? g_strdup (g_ptr_array_index (subjects, 0)) : NULL;
}

/* Reads the burst's mail as it is now, and the state of its resources. */
static void
gather_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  CairnStore *store = cairn_agent_get_store (CAIRN_AGENT (source_object));
  Burst *burst = task_data;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, cancellable, NULL);
  g_autoptr(GHashTable) offline = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) silent = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDateTime) newest = NULL;

  for (guint i = 0; i < burst->items->len; i++)
    {
      guint64 id = g_array_index (burst->items, guint64, i);
      g_autoptr(CairnItem) item = cairn_store_get_item (store, id, NULL, NULL);
      guint64 collection_id;
      gpointer known;

      if (item == NULL || cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN) ||
          cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_DELETED))
        continue;
      /* Each collection's resource is asked once a burst. */
      collection_id = cairn_item_get_collection_id (item);
      if (!g_hash_table_lookup_extended (silent, &collection_id, NULL, &known))
        {
          g_autoptr(CairnCollection) collection =
            cairn_store_get_collection (store, collection_id, NULL);
          const char *resource = collection ? cairn_collection_get_resource (collection) : NULL;

          if (resource == NULL)
            known = GINT_TO_POINTER (TRUE);
          else if (!g_hash_table_lookup_extended (offline, resource, NULL, &known))
            {
              known = GINT_TO_POINTER (bus != NULL && !agent_flag (bus, resource,
                                                                   "org.cairn.Agent1", "Online",
                                                                   TRUE));
              g_hash_table_insert (offline, g_strdup (resource), known);
            }
          g_hash_table_insert (silent, g_memdup2 (&collection_id, sizeof collection_id), known);
        }
      if (GPOINTER_TO_INT (known))
        continue;
      burst->count++;
      read_newest (store, item, burst, &newest);
    }

  /* A first sync is over once its resource has nothing more to do. */
  for (guint i = 0; i < burst->initial->len; i++)
    {
      guint64 id = g_array_index (burst->initial, guint64, i);
      g_autoptr(CairnCollection) collection = cairn_store_get_collection (store, id, NULL);
      const char *resource;
      gpointer known;

      if (collection == NULL)
        {
          g_array_append_val (burst->settled, id);
          continue;
        }
      resource = cairn_collection_get_resource (collection);
      if (!g_hash_table_lookup_extended (busy, resource, NULL, &known))
        {
          known = GINT_TO_POINTER (bus != NULL && agent_flag (bus, resource,
                                                              "org.cairn.Resource1", "Busy",
                                                              FALSE));
          g_hash_table_insert (busy, g_strdup (resource), known);
        }
      if (!GPOINTER_TO_INT (known))
        g_array_append_val (burst->settled, id);
    }
  g_task_return_boolean (task, TRUE);
}

static void
notified (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(CairnNotifierAgent) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);

  if (reply == NULL)
    {
      g_debug ("No notification: %s", error->message);
      return;
    }
  g_variant_get (reply, "(u)", &self->last_id);
}

static void
announce (CairnNotifierAgent *self,
          Burst              *burst)
{
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;
  GVariantBuilder hints;

  if (burst->count == 1)
    summary = g_strdup_printf ("New message from %s", burst->sender ? burst->sender : "unknown");
  else
    summary = g_strdup_printf ("%u new messages", burst->count);
  body = burst->count == 1 ? g_strdup (burst->subject ? burst->subject : "")
                           : g_strdup_printf ("%s: %s", burst->sender ? burst->sender : "unknown",
                                              burst->subject ? burst->subject : "");
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "category", g_variant_new_string ("email.arrived"));
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (1));
  /* Notify (app_name, replaces_id, app_icon, summary, body, actions,
   * hints, expire_timeout): one notification replaces the last. */
  g_dbus_proxy_call (self->notifications, "Notify",
                     g_variant_new ("(susss@asa{sv}i)", "Cairn", self->last_id, "mail-unread",
                                    summary, body, g_variant_new_strv (NULL, 0), &hints, -1),
                     G_DBUS_CALL_FLAGS_NONE, DBUS_TIMEOUT_MS, self->cancellable, notified,
                     g_object_ref (self));
}

static void
gathered (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (source);
  Burst *burst = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;
  for (guint i = 0; i < burst->settled->len; i++)
    g_hash_table_remove (self->initial, &g_array_index (burst->settled, guint64, i));
  if (burst->count > 0 && self->notifications != NULL && !self->do_not_disturb &&
      cairn_agent_get_online (CAIRN_AGENT (self)))
    announce (self, burst);
}

static gboolean
burst_over (gpointer data)
{
  CairnNotifierAgent *self = data;
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, gathered, NULL);
  Burst *burst = g_new0 (Burst, 1);
  GHashTableIter iter;
  gpointer key;

  self->timeout_id = 0;
  burst->items = g_steal_pointer (&self->burst);
  self->burst = g_array_new (FALSE, FALSE, sizeof (guint64));
  burst->initial = g_array_new (FALSE, FALSE, sizeof (guint64));
  burst->settled = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_hash_table_iter_init (&iter, self->initial);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_array_append_val (burst->initial, *(guint64 *) key);

  g_task_set_source_tag (task, burst_over);
  g_task_set_task_data (task, burst, (GDestroyNotify) burst_free);
  g_task_run_in_thread (task, gather_thread);
  return G_SOURCE_REMOVE;
}

/* Each new item pushes the end of the burst back, up to ten delays after
 * it began, so that a long stream of mail is announced now and then. */
static void
extend_burst (CairnNotifierAgent *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->timeout_id == 0)
    self->burst_start = now;
  else if (now - self->burst_start >= (gint64) self->delay * MAX_BURST_FACTOR * 1000)
    return;
  else
    g_source_remove (self->timeout_id);
  self->timeout_id = g_timeout_add (self->delay, burst_over, self);
}

static void
add_items (CairnNotifierAgent *self,
           GPtrArray          *changes)
{
  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);
      guint64 id = cairn_change_get_entity_id (change);
      guint64 collection = cairn_change_get_collection_id (change);

      if (g_strcmp0 (cairn_change_get_mime_type (change), MAIL_TYPE) != 0 ||
          g_hash_table_contains (self->initial, &collection))
        continue;
      g_array_append_val (self->burst, id);
    }
  /* Mail of a collection in its first sync keeps the burst going too:
   * the sync ends with the burst. */
  extend_burst (self);
}

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new ();

  g_ptr_array_add (changes, change);
  add_items (CAIRN_NOTIFIER_AGENT (observer), changes);
  cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
}

static void
items_added (CairnObserver *observer,
             CairnMonitor  *monitor,
             GPtrArray     *changes,
             GPtrArray     *items)
{
  add_items (CAIRN_NOTIFIER_AGENT (observer), changes);
  cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
}

static void
collection_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (observer);
  guint64 id = cairn_change_get_entity_id (change);

  g_hash_table_add (self->initial, g_memdup2 (&id, sizeof id));
  extend_burst (self);
  cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
}

static void
cairn_notifier_agent_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->items_added = items_added;
  iface->collection_added = collection_added;
}

static gboolean
cairn_notifier_agent_setup (CairnAgent  *agent,
                            GError     **error)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (agent);
  CairnMonitor *recorder = CAIRN_MONITOR (cairn_agent_get_recorder (agent));
  g_autoptr(GError) local_error = NULL;

  /* Items and collections of every MIME type: a MIME type in the scope
   * would leave collections out. */
  cairn_monitor_add_entity_kind (recorder, CAIRN_ENTITY_ITEM);
  cairn_monitor_add_entity_kind (recorder, CAIRN_ENTITY_COLLECTION);
  cairn_monitor_set_batch (recorder, TRUE);

  /* No notification service now is no reason to stop: one may come. */
  self->notifications =
    g_dbus_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION,
                                   G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                   G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                   NULL, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH,
                                   NOTIFICATIONS_NAME, NULL, &local_error);
  if (self->notifications == NULL)
    cairn_agent_set_status (agent, CAIRN_AGENT_STATUS_IDLE, local_error->message);
  return TRUE;
}

static void
cairn_notifier_agent_dispose (GObject *object)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_object (&self->notifications);

  G_OBJECT_CLASS (cairn_notifier_agent_parent_class)->dispose (object);
}

static void
cairn_notifier_agent_finalize (GObject *object)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (object);

  g_array_unref (self->burst);
  g_hash_table_unref (self->initial);
  g_object_unref (self->cancellable);

  G_OBJECT_CLASS (cairn_notifier_agent_parent_class)->finalize (object);
}

static void
cairn_notifier_agent_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (object);

  switch (prop_id)
    {
    case PROP_DELAY:
      g_value_set_uint (value, self->delay);
      break;
    case PROP_DO_NOT_DISTURB:
      g_value_set_boolean (value, self->do_not_disturb);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_notifier_agent_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  CairnNotifierAgent *self = CAIRN_NOTIFIER_AGENT (object);

  switch (prop_id)
    {
    case PROP_DELAY:
      if (self->delay == g_value_get_uint (value))
        break;
      self->delay = g_value_get_uint (value);
      g_object_notify_by_pspec (object, properties[PROP_DELAY]);
      break;
    case PROP_DO_NOT_DISTURB:
      if (self->do_not_disturb == g_value_get_boolean (value))
        break;
      self->do_not_disturb = g_value_get_boolean (value);
      g_object_notify_by_pspec (object, properties[PROP_DO_NOT_DISTURB]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_notifier_agent_class_init (CairnNotifierAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_notifier_agent_dispose;
  object_class->finalize = cairn_notifier_agent_finalize;
  object_class->get_property = cairn_notifier_agent_get_property;
  object_class->set_property = cairn_notifier_agent_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_notifier_agent_setup;

  /* Milliseconds without new mail that end a burst. */
  properties[PROP_DELAY] =
    g_param_spec_uint ("delay", NULL, NULL, 10, 60000, 2000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Announce nothing. */
  properties[PROP_DO_NOT_DISTURB] =
    g_param_spec_boolean ("do-not-disturb", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_notifier_agent_init (CairnNotifierAgent *self)
{
  self->delay = 2000;
  self->burst = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->initial = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_NOTIFIER_AGENT);
