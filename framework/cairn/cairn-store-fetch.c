/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-resource.h"
#include "cairn-store-private.h"

/* Parts on demand: a part the store does not hold is asked of the
 * resource that owns the item over D-Bus, starting the resource through
 * the control service if it is not running. */

#define RETRIEVE_TIMEOUT_MS (5 * 60 * 1000)
#define START_TIMEOUT_S 10

typedef struct
{
  guint64 id;
  CairnFetchScope *scope;
  char *bus_name;        /* org.cairn.Agent.RESOURCE */
  const char *resource;  /* in bus_name */
  GPtrArray *missing;   /* part names, NULL-terminated */
  GDBusConnection *bus;
  gboolean started;
  guint watch;
  guint timeout;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_clear_pointer (&fetch->scope, cairn_fetch_scope_unref);
  g_free (fetch->bus_name);
  g_clear_pointer (&fetch->missing, g_ptr_array_unref);
  g_clear_object (&fetch->bus);
  if (fetch->watch != 0)
    g_bus_unwatch_name (fetch->watch);
  g_clear_handle_id (&fetch->timeout, g_source_remove);
  g_free (fetch);
}

/* The part names @scope asks for that @item lacks. */
static GPtrArray *
missing_parts (CairnItem       *item,
               CairnFetchScope *scope)
{
  GPtrArray *missing = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  const char * const *names = scope != NULL ? cairn_fetch_scope_get_parts (scope) : NULL;
  GPtrArray *parts = cairn_item_get_parts (item);

  if (scope != NULL && cairn_fetch_scope_get_all_parts (scope))
    {
      for (guint i = 0; i < parts->len; i++)
        if (cairn_part_get_storage (g_ptr_array_index (parts, i)) == CAIRN_PART_STORAGE_MISSING)
          g_ptr_array_add (missing, g_strdup (cairn_part_get_name (g_ptr_array_index (parts, i))));
      return missing;
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      CairnPart *part = cairn_item_get_part (item, names[i]);

      if (part == NULL || cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
        g_ptr_array_add (missing, g_strdup (names[i]));
    }
  return missing;
}

static void fetch_retrieve (GTask *task);
static void fetch_start_resource (GTask *task);

static void
fetch_reread (GTask *task)
{
  CairnStore *self = g_task_get_source_object (task);
  Fetch *fetch = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(CairnItem) item = cairn_store_get_item (self, fetch->id, fetch->scope, &error);
  g_autoptr(GPtrArray) missing = NULL;

  if (item == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  missing = missing_parts (item, fetch->scope);
  if (missing->len > 0)
    g_task_return_new_error (task, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_MISSING_PART,
                             "Resource %s did not retrieve part %s of item %" G_GUINT64_FORMAT,
                             fetch->resource,
                             (const char *) g_ptr_array_index (missing, 0), fetch->id);
  else
    g_task_return_pointer (task, g_steal_pointer (&item), g_object_unref);
}

static void
retrieved (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      fetch_reread (task);
      return;
    }
  /* NoReply: it left the bus while the call waited, as one that exits
   * when idle may. */
  if (!fetch->started &&
      (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
       g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
       g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)))
    {
      fetch_start_resource (g_steal_pointer (&task));
      return;
    }
  g_dbus_error_strip_remote_error (error);
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
fetch_retrieve (GTask *task)
{
  Fetch *fetch = g_task_get_task_data (task);
  guint64 id = fetch->id;

  g_dbus_connection_call (fetch->bus, fetch->bus_name, "/org/cairn/Agent", "org.cairn.Resource1",
                          "RetrieveItems",
                          g_variant_new ("(@at^as)",
                                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, &id, 1,
                                                                    sizeof id),
                                         (char **) fetch->missing->pdata),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, RETRIEVE_TIMEOUT_MS,
                          g_task_get_cancellable (task), retrieved, task);
}

static void
resource_appeared (GDBusConnection *connection,
                   const char      *name,
                   const char      *owner,
                   gpointer         user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);

  g_bus_unwatch_name (fetch->watch);
  fetch->watch = 0;
  g_clear_handle_id (&fetch->timeout, g_source_remove);
  fetch_retrieve (task);
}

static gboolean
resource_start_timed_out (gpointer user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);

  fetch->timeout = 0;
  g_bus_unwatch_name (fetch->watch);
  fetch->watch = 0;
  g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_RUNNING,
                           "Resource %s did not start within %d seconds",
                           fetch->resource, START_TIMEOUT_S);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
restarted (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_RUNNING,
                               "Resource %s is not running and the control service cannot "
                               "start it: %s", fetch->resource,
                               error->message);
      return;
    }
  /* The task's reference passes to whichever of the two callbacks fires. */
  fetch->watch = g_bus_watch_name_on_connection (fetch->bus, fetch->bus_name,
                                                 G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                 resource_appeared, NULL, task, NULL);
  fetch->timeout = g_timeout_add_seconds (START_TIMEOUT_S, resource_start_timed_out, task);
  g_steal_pointer (&task);
}

/* The resource is not on the bus: the control service starts it. */
static void
fetch_start_resource (GTask *task)
{
  Fetch *fetch = g_task_get_task_data (task);

  fetch->started = TRUE;
  g_dbus_connection_call (fetch->bus, "org.cairn.Control1", "/org/cairn/Control1",
                          "org.cairn.Control1", "Restart",
                          g_variant_new ("(s)", fetch->resource),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, g_task_get_cancellable (task),
                          restarted, task);
}

static void
fetch_got_bus (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  GError *error = NULL;

  fetch->bus = g_bus_get_finish (result, &error);
  if (fetch->bus == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  fetch_retrieve (task);
}

/**
 * cairn_store_fetch_item_async:
 * @self: a #CairnStore
 * @id: an item id
 * @scope: (nullable): what to load; the parts it names must be stored
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the item
 * @user_data: data for @callback
 *
 * Reads an item like cairn_store_get_item(), and when a part @scope asks
 * for is missing, first asks the resource that owns the item to retrieve
 * it (`org.cairn.Resource1.RetrieveItems` on the session bus). If the
 * resource is not running, the control service is asked to start it.
 * Callers asking for the same parts at once share one retrieval.
 *
 * Since: 0.1
 */
void
cairn_store_fetch_item_async (CairnStore          *self,
                              guint64              id,
                              CairnFetchScope     *scope,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnCollection) collection = NULL;
  GError *error = NULL;
  Fetch *fetch;

  g_return_if_fail (CAIRN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_store_fetch_item_async);
  fetch = g_new0 (Fetch, 1);
  fetch->id = id;
  fetch->scope = scope != NULL ? cairn_fetch_scope_ref (scope) : NULL;
  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_free);

  item = cairn_store_get_item (self, id, scope, &error);
  if (item != NULL)
    fetch->missing = missing_parts (item, scope);
  if (item != NULL && fetch->missing->len > 0)
    collection = cairn_store_get_collection (self, cairn_item_get_collection_id (item), &error);
  if (error != NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (fetch->missing->len == 0)
    {
      g_task_return_pointer (task, g_steal_pointer (&item), g_object_unref);
      return;
    }
  fetch->bus_name = g_strconcat ("org.cairn.Agent.", cairn_collection_get_resource (collection),
                                 NULL);
  fetch->resource = fetch->bus_name + strlen ("org.cairn.Agent.");
  g_bus_get (G_BUS_TYPE_SESSION, cancellable, fetch_got_bus, g_steal_pointer (&task));
}

/**
 * cairn_store_fetch_item_finish:
 * @self: a #CairnStore
 * @result: the result
 * @error: return location for an error
 *
 * Finishes cairn_store_fetch_item_async().
 *
 * Returns: (transfer full): the item with the parts asked for, or %NULL
 *   with @error set: the store's, the resource's (%CAIRN_RESOURCE_ERROR)
 *   or the bus's
 *
 * Since: 0.1
 */
CairnItem *
cairn_store_fetch_item_finish (CairnStore    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
