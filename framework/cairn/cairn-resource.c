/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cairn-change-private.h"
#include "cairn-dbus-resource.h"
#include "cairn-enum-types.h"
#include "cairn-item-sync-private.h"
#include "cairn-monitor-private.h"
#include "cairn-resource.h"
#include "cairn-resource-private.h"
#include "cairn-store-private.h"
#include "cairn-transaction-private.h"

/**
 * CairnResource:
 *
 * The base class of resources: agents that own collections and keep them
 * in sync with a backend (a maildir, an IMAP or CalDAV server, a folder of
 * files).
 *
 * A resource implements three asynchronous virtual methods that read the
 * backend — #CairnResourceClass.retrieve_collections, .retrieve_items and
 * .retrieve_item — and the #CairnObserver callbacks that write local
 * changes to it. Everything else is done here:
 *
 * - Every request runs as a task of the resource's #CairnScheduler: local
 *   changes first, then what a client waits for, then requested syncs,
 *   then background syncs. While the resource is offline
 *   (#CairnAgent:online), changes stay recorded and syncs wait; a replay
 *   under way when it goes offline ends with the change being replayed.
 *   On going online every recorded change is replayed before any sync
 *   runs.
 * - Collections and items read from the backend are merged into the store
 *   by remote id (see #CairnItemSync), written with the resource's origin,
 *   so they are not replayed back.
 * - Change replay delivers the recorded changes one at a time. Each
 *   callback ends, at once or later, with cairn_resource_change_replayed(),
 *   cairn_resource_change_failed() or cairn_resource_change_conflicts().
 *   A transient failure is retried with backoff; a permanent one is kept as
 *   a #CairnFailedChange until retried or discarded, and the next change
 *   goes on. Replay must be idempotent: a resource killed after writing to
 *   the backend and before reporting gets the same change again.
 * - A conflict (the backend changed an item that has a local change) is
 *   settled by #CairnResource:conflict-policy.
 * - The resource exports `org.cairn.Resource1` beside `org.cairn.Agent1`.
 *
 * The agent type of a resource has the `Resource` capability.
 *
 * Since: 0.1
 */

/* Changes replayed by one scheduler task before it yields to a new one,
 * so that the watchdog limits each task, not the whole backlog. */
#define REPLAY_TASK_BUDGET 200

/* The origin of the local copy made by the keep-both policy: not the
 * resource's own, so that the copy is replayed as a creation. */
#define CONFLICT_ORIGIN_SUFFIX ":conflict"

typedef enum
{
  OUTCOME_NONE,
  OUTCOME_REPLAYED,
  OUTCOME_FAILED,
  OUTCOME_CONFLICT,
} OutcomeKind;

typedef struct
{
  OutcomeKind kind;
  char *remote_id;
  char *remote_revision;
  char *gid;
  GError *error;
  CairnItem *server_item;
} Outcome;

/* A remote id cairn_resource_relocate_collections() gave in a worker
 * thread, lent to the recorder from the main thread. */
typedef struct
{
  guint64 id;
  char *remote_id;
} DeferredLend;

/* A collection whose last sync failed, retried with backoff. */
typedef struct
{
  CairnResource *self;  /* not a reference: the resource frees its failures */
  guint64 collection_id;  /* 0: listing the collections failed */
  char *name;
  char *reason;
  guint failures;  /* in a row */
  guint timer;  /* of the scheduler's clock, until the retry */
} SyncFailure;

typedef struct
{
  CairnScheduler *scheduler;
  CairnConflictPolicy conflict_policy;
  CairnResource1 *skeleton;
  CairnSecrets *secrets;
  gboolean locked_out;  /* waiting for credentials */

  /* Change replay */
  CairnSchedulerTask *replay_task;
  gboolean replay_queued;
  guint replayed_in_task;
  gboolean recorder_idle;
  gboolean conflict_redelivered;
  Outcome outcome;
  guint outcome_source;
  gboolean awaiting_outcome;  /* a delivered change that the resource has not reported yet */
  GMutex deferred_lock;
  GPtrArray *deferred_lends;  /* of DeferredLend, under deferred_lock */

  /* Published state */
  guint n_failed_changes;
  char *failed_change_reason;  /* of the newest failed change */
  char *change_log_error;

  /* Failed syncs */
  GHashTable *sync_failures;  /* collection id (0: the collection tree) → SyncFailure */
} CairnResourcePrivate;

static void cairn_resource_initable_iface_init (GInitableIface *iface);
static void cairn_resource_observer_iface_init (CairnObserverInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (CairnResource, cairn_resource, CAIRN_TYPE_AGENT,
                                  G_ADD_PRIVATE (CairnResource)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                         cairn_resource_initable_iface_init)
                                  G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                         cairn_resource_observer_iface_init))

static GInitableIface *parent_initable_iface;

enum {
  PROP_0,
  PROP_CONFLICT_POLICY,
  PROP_SYNC_INTERVAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GDBusErrorEntry resource_dbus_errors[] = {
  { CAIRN_RESOURCE_ERROR_TRANSIENT, "org.cairn.Resource.Error.Transient" },
  { CAIRN_RESOURCE_ERROR_PERMANENT, "org.cairn.Resource.Error.Permanent" },
  { CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS, "org.cairn.Resource.Error.NeedsCredentials" },
  { CAIRN_RESOURCE_ERROR_NOT_RUNNING, "org.cairn.Resource.Error.NotRunning" },
  { CAIRN_RESOURCE_ERROR_INVALID, "org.cairn.Resource.Error.Invalid" },
  { CAIRN_RESOURCE_ERROR_NOT_SUPPORTED, "org.cairn.Resource.Error.NotSupported" },
};

static const GDBusErrorEntry scheduler_dbus_errors[] = {
  { CAIRN_SCHEDULER_ERROR_FAILED, "org.cairn.Scheduler.Error.Failed" },
  { CAIRN_SCHEDULER_ERROR_OFFLINE, "org.cairn.Scheduler.Error.Offline" },
  { CAIRN_SCHEDULER_ERROR_TIMED_OUT, "org.cairn.Scheduler.Error.TimedOut" },
};

/**
 * cairn_resource_error_quark:
 *
 * The errors are registered with GDBus as
 * `org.cairn.Resource.Error.Transient` and so on, and the scheduler's as
 * `org.cairn.Scheduler.Error.Offline` and so on, so that they reach D-Bus
 * clients intact.
 *
 * Returns: the #CAIRN_RESOURCE_ERROR quark
 *
 * Since: 0.1
 */
GQuark
cairn_resource_error_quark (void)
{
  static gsize quark = 0;
  static gsize scheduler_registered = 0;

  g_dbus_error_register_error_domain ("cairn-resource-error-quark", &quark, resource_dbus_errors,
                                      G_N_ELEMENTS (resource_dbus_errors));
  if (g_once_init_enter (&scheduler_registered))
    {
      for (guint i = 0; i < G_N_ELEMENTS (scheduler_dbus_errors); i++)
        g_dbus_error_register_error (CAIRN_SCHEDULER_ERROR, scheduler_dbus_errors[i].error_code,
                                     scheduler_dbus_errors[i].dbus_error_name);
      g_once_init_leave (&scheduler_registered, 1);
    }
  return (GQuark) quark;
}

/**
 * cairn_resource_error_from_errno:
 * @err_no: an `errno` value from a failed system call
 *
 * The #CairnResourceError for a system call's failure, as
 * g_io_error_from_errno() gives a #GIOErrorEnum: what may pass by itself
 * (a full disk, a busy or interrupted call, a lack of memory or file
 * descriptors, a network down) is %CAIRN_RESOURCE_ERROR_TRANSIENT and
 * tried again later; anything else is %CAIRN_RESOURCE_ERROR_PERMANENT.
 * For example:
 *
 * |[<!-- language="C" -->
 * if (g_rename (from, to) != 0)
 *   {
 *     int saved_errno = errno;
 *
 *     g_set_error (error, CAIRN_RESOURCE_ERROR,
 *                  cairn_resource_error_from_errno (saved_errno),
 *                  "Cannot rename %s: %s", from, g_strerror (saved_errno));
 *     return FALSE;
 *   }
 * ]|
 *
 * Returns: %CAIRN_RESOURCE_ERROR_TRANSIENT or %CAIRN_RESOURCE_ERROR_PERMANENT
 *
 * Since: 0.1
 */
CairnResourceError
cairn_resource_error_from_errno (int err_no)
{
  switch (err_no)
    {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
    case EINTR:
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ETIMEDOUT:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ECONNREFUSED:
    case ECONNRESET:
      return CAIRN_RESOURCE_ERROR_TRANSIENT;
    default:
      return CAIRN_RESOURCE_ERROR_PERMANENT;
    }
}

/**
 * CairnResourceClass::retrieve_collections:
 * @self: a #CairnResource
 * @cancellable: (nullable): the sync's #GCancellable
 * @callback: (scope async): called when the listing is done
 * @user_data: data for @callback
 *
 * Lists the backend's whole collection tree: every collection has its
 * remote id, and its parent's remote id
 * (cairn_collection_set_parent_remote_id()) or none for a top-level one.
 * The default runs #CairnResourceClass.retrieve_collections_sync in a
 * worker thread.
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_items:
 * @self: a #CairnResource
 * @collection: the collection to list
 * @sync: where the items go, with cairn_item_sync_add_item()
 * @cancellable: (nullable): the sync's #GCancellable
 * @callback: (scope async): called when the listing is done
 * @user_data: data for @callback
 *
 * Hands the items of @collection to @sync, one at a time or in batches,
 * then completes. It is not called for a virtual collection, nor for one
 * without a remote id (never created in the backend yet). Once it completes successfully, the items handed by
 * cairn_item_sync_add_item() and not written yet are written (and a full
 * sync removes what was not listed); when it fails they are dropped.
 * The default runs #CairnResourceClass.retrieve_items_sync in a worker
 * thread.
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_item:
 * @self: a #CairnResource
 * @item: the item, with its remote id
 * @parts: (nullable) (array zero-terminated=1): the parts to read, or %NULL
 *   for every part
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the parts are read
 * @user_data: data for @callback
 *
 * Reads parts of @item from the backend. The default runs
 * #CairnResourceClass.retrieve_item_sync in a worker thread.
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_collections_finish:
 * @self: a #CairnResource
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes #CairnResourceClass.retrieve_collections.
 *
 * Returns: (transfer full) (element-type CairnCollection): the collections
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_items_finish:
 * @self: a #CairnResource
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes #CairnResourceClass.retrieve_items.
 *
 * Returns: %TRUE if the listing completed; only then does a full sync
 *   remove the items it did not list
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_item_finish:
 * @self: a #CairnResource
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes #CairnResourceClass.retrieve_item.
 *
 * Returns: (transfer full): an item with the parts read, the same remote
 *   id, and optionally a new remote revision
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_collections_sync:
 * @self: a #CairnResource
 * @cancellable: (nullable): the sync's #GCancellable
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: (transfer full) (element-type CairnCollection): the collections
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_items_sync:
 * @self: a #CairnResource
 * @collection: the collection to list
 * @sync: where the items go, with cairn_item_sync_add_item()
 * @cancellable: (nullable): the sync's #GCancellable
 * @error: return location for an error
 *
 * Runs in a worker thread. A resource just hands each item to
 * cairn_item_sync_add_item() as it reads it; the base class writes the
 * last batch when the method returns %TRUE.
 *
 * Returns: %TRUE once every item is handed over
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::retrieve_item_sync:
 * @self: a #CairnResource
 * @item: the item as stored, with its remote id
 * @parts: (nullable) (array zero-terminated=1): the parts to read, %NULL for
 *   every part
 * @cancellable: (nullable): the request's #GCancellable
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: (transfer full): an item with the parts read
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_item_added_sync:
 * @self: a #CairnResource
 * @change: the change
 * @item: the item as it was at the change, with the parts of the fetch scope
 * @remote_id: (out) (optional) (nullable) (transfer full): the backend's id
 *   of the new item
 * @remote_revision: (out) (optional) (nullable) (transfer full): its revision
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend has the item
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_item_changed_sync:
 * @self: a #CairnResource
 * @change: the change
 * @item: the item as it was at the change
 * @parts: (array zero-terminated=1): what changed
 * @remote_revision: (out) (optional) (nullable) (transfer full): the
 *   backend's new revision of the item
 * @server_item: (out) (optional) (nullable) (transfer full): the backend's
 *   version when it changed the item too; a conflict, settled by
 *   #CairnResource:conflict-policy
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend has the change or reported a conflict
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_flags_changed_sync:
 * @self: a #CairnResource
 * @change: the change
 * @item: the item as it was at the change, its flags included
 * @added: the flags added
 * @removed: the flags removed
 * @remote_revision: (out) (optional) (nullable) (transfer full): the
 *   backend's new revision of the item
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread, once for each item the delta applies to.
 *
 * Returns: %TRUE if the backend has the flags
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_item_moved_sync:
 * @self: a #CairnResource
 * @change: the change
 * @item: the item as it was at the change
 * @source: the collection it left
 * @destination: the collection it went to
 * @remote_id: (out) (optional) (nullable) (transfer full): its new remote
 *   id, if the move gave it one
 * @remote_revision: (out) (optional) (nullable) (transfer full): its revision
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend has the item in @destination
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_item_removed_sync:
 * @self: a #CairnResource
 * @change: the change, with the remote id (cairn_change_get_remote_id())
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend no longer has the item
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_collection_added_sync:
 * @self: a #CairnResource
 * @change: the change; cairn_change_get_collection() is the collection
 * @remote_id: (out) (optional) (nullable) (transfer full): the backend's id
 *   of the new collection
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend has the collection
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_collection_changed_sync:
 * @self: a #CairnResource
 * @change: the change; cairn_change_get_collection() is the collection
 * @parts: (array zero-terminated=1): what changed
 * @remote_id: (out) (optional) (nullable) (transfer full): its new remote
 *   id, if a rename gave it one
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread. When the class has no
 * #CairnResourceClass.replay_collection_moved_sync, it gets the moves
 * too, with @parts `PARENT`: the collection as at the change carries its
 * new parent. A change or move of a collection without a remote id (its
 * creation never reached the backend) goes to
 * #CairnResourceClass.replay_collection_added_sync instead, when the
 * class has it.
 *
 * Returns: %TRUE if the backend has the change
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_collection_moved_sync:
 * @self: a #CairnResource
 * @change: the change; cairn_change_get_collection() is the collection
 * @source: the parent it left, 0 for the top level
 * @destination: its new parent, 0 for the top level
 * @remote_id: (out) (optional) (nullable) (transfer full): its new remote
 *   id, if the move gave it one
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend has the collection under @destination
 *
 * Since: 0.1
 */

/**
 * CairnResourceClass::replay_collection_removed_sync:
 * @self: a #CairnResource
 * @change: the change, with the remote id (cairn_change_get_remote_id())
 * @cancellable: (nullable): cancelled when the resource stops
 * @error: return location for an error
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE if the backend no longer has the collection
 *
 * Since: 0.1
 */

static CairnChangeRecorder *
get_recorder (CairnResource *self)
{
  return cairn_agent_get_recorder (CAIRN_AGENT (self));
}

static CairnStore *
get_store (CairnResource *self)
{
  return cairn_agent_get_store (CAIRN_AGENT (self));
}

static const char *
get_id (CairnResource *self)
{
  return cairn_agent_get_id (CAIRN_AGENT (self));
}

static void
outcome_clear (Outcome *outcome)
{
  outcome->kind = OUTCOME_NONE;
  g_clear_pointer (&outcome->remote_id, g_free);
  g_clear_pointer (&outcome->remote_revision, g_free);
  g_clear_pointer (&outcome->gid, g_free);
  g_clear_error (&outcome->error);
  g_clear_object (&outcome->server_item);
}

/* Published state */

static void
deferred_lend_free (DeferredLend *lend)
{
  g_free (lend->remote_id);
  g_free (lend);
}

static void
sync_failure_free (SyncFailure *failure)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (failure->self);

  if (failure->timer != 0)
    cairn_clock_remove_timer (cairn_scheduler_get_clock (priv->scheduler), failure->timer);
  g_free (failure->name);
  g_free (failure->reason);
  g_free (failure);
}

static int
compare_failures (gconstpointer a,
                  gconstpointer b)
{
  const SyncFailure *first = *(SyncFailure * const *) a;
  const SyncFailure *second = *(SyncFailure * const *) b;

  return first->collection_id < second->collection_id ? -1
         : first->collection_id > second->collection_id;
}

/* The collections whose last sync failed, by id; the collection tree
 * (id 0) first. */
static GPtrArray *
sorted_failures (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  GPtrArray *failures = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer failure;

  g_hash_table_iter_init (&iter, priv->sync_failures);
  while (g_hash_table_iter_next (&iter, NULL, &failure))
    g_ptr_array_add (failures, failure);
  g_ptr_array_sort (failures, compare_failures);
  return failures;
}

/* What keeps failing, for the status message; NULL if nothing does. */
static char *
describe_problems (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(GPtrArray) failures = sorted_failures (self);
  g_autoptr(GString) text = g_string_new (NULL);

  if (priv->change_log_error != NULL)
    g_string_append_printf (text, "; Cannot read the change log: %s", priv->change_log_error);
  if (priv->n_failed_changes > 0)
    g_string_append_printf (text,
                            g_dngettext (NULL, "; %u local change could not be replayed: %s",
                                         "; %u local changes could not be replayed; the last: %s",
                                         priv->n_failed_changes),
                            priv->n_failed_changes, priv->failed_change_reason);
  if (failures->len > 0)
    {
      SyncFailure *first = g_ptr_array_index (failures, 0);

      if (first->collection_id == 0)
        g_string_append_printf (text, "; Cannot list the collections: %s", first->reason);
      else
        g_string_append_printf (text,
                                g_dngettext (NULL, "; %u collection cannot be synchronized: "
                                             "“%s”: %s",
                                             "; %u collections cannot be synchronized; the "
                                             "first: “%s”: %s", failures->len),
                                failures->len, first->name, first->reason);
    }
  if (text->len == 0)
    return NULL;
  return g_strdup (text->str + 2);
}

/* Shows what keeps failing in the status of a resource that waits for
 * work: degraded with the reasons, or idle. Busy, broken, unconfigured
 * or locked-out states are left alone; their end calls this again. */
static void
update_health (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnAgent *agent = CAIRN_AGENT (self);
  CairnAgentStatus status = cairn_agent_get_status (agent);
  g_autofree char *problems = describe_problems (self);

  if (priv->skeleton != NULL)
    {
      g_autoptr(GPtrArray) failures = sorted_failures (self);
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(tss)"));

      for (guint i = 0; i < failures->len; i++)
        {
          SyncFailure *failure = g_ptr_array_index (failures, i);

          g_variant_builder_add (&builder, "(tss)", failure->collection_id, failure->name,
                                 failure->reason);
        }
      cairn_resource1_set_failed_collections (priv->skeleton, g_variant_builder_end (&builder));
    }
  if (status == CAIRN_AGENT_STATUS_IDLE || status == CAIRN_AGENT_STATUS_DEGRADED)
    cairn_agent_set_status (agent,
                            problems != NULL ? CAIRN_AGENT_STATUS_DEGRADED
                                             : CAIRN_AGENT_STATUS_IDLE,
                            problems);
}

static void
update_failed_count (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) error = NULL;

  failed = _cairn_store_list_failed_changes (get_store (self), get_id (self), &error);
  if (failed == NULL)
    {
      g_warning ("Resource %s cannot read its failed changes: %s", get_id (self), error->message);
      return;
    }
  priv->n_failed_changes = failed->len;
  g_clear_pointer (&priv->failed_change_reason, g_free);
  if (failed->len > 0)
    priv->failed_change_reason =
      g_strdup (cairn_failed_change_get_reason (g_ptr_array_index (failed, failed->len - 1)));
  if (priv->skeleton != NULL)
    cairn_resource1_set_failed_changes (priv->skeleton, failed->len);
  update_health (self);
}

/**
 * _cairn_resource_set_change_log_error:
 * @self: a #CairnResource
 * @error: (nullable): why the change log cannot be read, or %NULL once
 *   it could be read again
 *
 * Shows in the status that the resource cannot read its change log, so
 * that changes waiting behind the damage do not look like "idle, nothing
 * pending".
 */
void
_cairn_resource_set_change_log_error (CairnResource *self,
                                      const GError  *error)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  if (g_strcmp0 (priv->change_log_error, error != NULL ? error->message : NULL) == 0)
    return;
  g_free (priv->change_log_error);
  priv->change_log_error = error != NULL ? g_strdup (error->message) : NULL;
  update_health (self);
}

static void
update_pending_count (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnChangeRecorder *recorder = get_recorder (self);
  g_autoptr(GError) error = NULL;
  guint64 count;

  if (priv->skeleton == NULL)
    return;
  /* Counting reads the log after the recorder's cursor: the same pages
   * replay needs. */
  if (!cairn_resource_get_pending_changes (self, &count, &error))
    {
      _cairn_resource_set_change_log_error (self, error);
      return;
    }
  /* Counting worked; a failed read of the recorder still shows. */
  if (recorder != NULL)
    _cairn_resource_set_change_log_error (self,
                                          cairn_monitor_get_read_error (CAIRN_MONITOR (recorder)));
  cairn_resource1_set_pending_changes (priv->skeleton, count);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (priv->skeleton));
}

static void
update_queues (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  guint32 lengths[4];
  gboolean busy;

  if (priv->skeleton == NULL)
    return;
  for (guint q = 0; q < G_N_ELEMENTS (lengths); q++)
    lengths[q] = cairn_scheduler_get_queue_length (priv->scheduler, q);
  busy = cairn_scheduler_get_running_task (priv->scheduler) != NULL ||
         lengths[0] + lengths[1] + lengths[2] + lengths[3] > 0;
  cairn_resource1_set_queue_lengths (priv->skeleton,
                                     g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, lengths,
                                                                G_N_ELEMENTS (lengths),
                                                                sizeof (guint32)));
  cairn_resource1_set_busy (priv->skeleton, busy);
  /* Sent now rather than from the skeleton's idle: a value that a GetAll
   * read in between and that went back before the idle ran would never be
   * announced, and the control service would wait on it for ever. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (priv->skeleton));
}

static void
set_working (CairnResource *self,
             const char    *message)
{
  CairnAgent *agent = CAIRN_AGENT (self);
  CairnAgentStatus status = cairn_agent_get_status (agent);

  /* Broken, unconfigured or locked-out states are left to whoever fixes them. */
  if (status != CAIRN_AGENT_STATUS_IDLE && status != CAIRN_AGENT_STATUS_RUNNING &&
      status != CAIRN_AGENT_STATUS_DEGRADED)
    return;
  if (message != NULL)
    cairn_agent_set_status (agent, CAIRN_AGENT_STATUS_RUNNING, message);
  else
    {
      cairn_agent_set_status (agent, CAIRN_AGENT_STATUS_IDLE, NULL);
      update_health (self);
    }
}

/* Ends @task with the outcome @error calls for. */
static void
report_task (CairnResource      *self,
             CairnSchedulerTask *task,
             const GError       *error)
{
  CairnSchedulerOutcome outcome = CAIRN_SCHEDULER_OUTCOME_DONE;

  if (error == NULL)
    outcome = CAIRN_SCHEDULER_OUTCOME_DONE;
  else if (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT))
    outcome = CAIRN_SCHEDULER_OUTCOME_FAILED_TRANSIENT;
  else
    outcome = CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT;

  if (g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS))
    cairn_resource_report_bad_credentials (self, error->message);
  cairn_scheduler_task_report (task, outcome, error);
}

/* Change replay */

static void deliver (CairnResource *self);
static guint64 recorder_revision (CairnResource *self);

static void
queue_replay (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnSchedulerTask) task = NULL;

  if (priv->replay_queued)
    return;
  priv->replay_queued = TRUE;
  task = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY);
  cairn_scheduler_queue (priv->scheduler, task);
}

static void
end_replay_task (CairnResource *self,
                 const GError  *error)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnSchedulerTask) task = g_steal_pointer (&priv->replay_task);

  if (task == NULL)
    return;
  set_working (self, NULL);
  report_task (self, task, error);
  update_pending_count (self);
}

static void
on_change_held (CairnMonitor *monitor,
                gpointer      user_data)
{
  CairnResource *self = user_data;
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  priv->recorder_idle = FALSE;
  update_pending_count (self);
  if (priv->replay_task != NULL)
    deliver (self);
  else
    queue_replay (self);
}

static void
on_recorder_caught_up (CairnMonitor *monitor,
                       gpointer      user_data)
{
  CairnResource *self = user_data;
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  priv->recorder_idle = TRUE;
  end_replay_task (self, NULL);
}

static void
on_recorder_read_failed (CairnMonitor  *monitor,
                         const GError  *error,
                         CairnResource *self)
{
  g_autoptr(GError) transient = g_error_new (CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                                             "Cannot read the change log: %s", error->message);

  _cairn_resource_set_change_log_error (self, error);
  /* Tried again after the scheduler's backoff. */
  end_replay_task (self, transient);
}

static gboolean
get_held (CairnResource  *self,
          GPtrArray     **changes,
          GPtrArray     **items)
{
  CairnChangeRecorder *recorder = get_recorder (self);

  return recorder != NULL && _cairn_monitor_get_held (CAIRN_MONITOR (recorder), changes, items);
}

static void keep_failed (CairnResource *self,
                         GPtrArray     *changes,
                         const char    *reason);
static void processed (CairnResource *self);
static void schedule_outcome (CairnResource *self);

static void
deliver (CairnResource *self)
{
  CairnMonitor *recorder = CAIRN_MONITOR (get_recorder (self));
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  GPtrArray *changes, *items;
  g_autoptr(GError) error = NULL;

  /* A delivery that the watchdog gave up on, or a stop interrupted, may
   * still be under way in the backend: the change goes to the resource
   * again only if that one's report says so, never beside it, and a
   * report that came while no task ran ends it now. */
  if (priv->awaiting_outcome)
    return;
  if (priv->outcome.kind != OUTCOME_NONE)
    {
      schedule_outcome (self);
      return;
    }
  set_working (self, "Replaying local changes");
  if (!_cairn_monitor_load_held (recorder, &error))
    {
      if (error != NULL)
        {
          g_prefix_error (&error, "Cannot read a changed item: ");
          end_replay_task (self, &(GError) { CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                                             error->message });
          return;
        }
      /* Every item of it is gone: its removal follows. */
      processed (self);
      return;
    }
  /* Dropping a change the backend never got would lose it silently. */
  if (!_cairn_monitor_held_has_callback (recorder) && get_held (self, &changes, &items))
    {
      keep_failed (self, changes, "Not supported by this resource");
      return;
    }
  priv->awaiting_outcome = TRUE;
  _cairn_monitor_deliver_held (recorder);
}

static void
run_replay (CairnResource      *self,
            CairnSchedulerTask *task)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  GPtrArray *changes, *items;

  priv->replay_queued = FALSE;
  priv->replay_task = g_object_ref (task);
  priv->replayed_in_task = 0;
  /* Changes made while the resource waited coalesce with the held ones;
   * the gate calls back once they are read. */
  if (get_recorder (self) != NULL && _cairn_monitor_refresh (CAIRN_MONITOR (get_recorder (self))))
    return;
  if (get_held (self, &changes, &items))
    deliver (self);
  else if (priv->recorder_idle || get_recorder (self) == NULL)
    end_replay_task (self, NULL);
}

static void
processed (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  priv->conflict_redelivered = FALSE;
  cairn_change_recorder_change_processed (get_recorder (self));
  update_pending_count (self);
  /* A long run lets other tasks in; gone offline, the changes left and
   * those made since wait for the resource to be online again, as the
   * scheduler holds a replay that has not started. Queued before this
   * task ends, so no sync slips in between. */
  if (++priv->replayed_in_task >= REPLAY_TASK_BUDGET ||
      (!cairn_scheduler_get_online (priv->scheduler) &&
       cairn_scheduler_get_offline_policy (priv->scheduler,
                                           CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY) !=
       CAIRN_SCHEDULER_OFFLINE_RUN))
    {
      if (priv->replay_task != NULL)
        {
          queue_replay (self);
          end_replay_task (self, NULL);
        }
    }
}

static void
keep_failed (CairnResource *self,
             GPtrArray     *changes,
             const char    *reason)
{
  g_autoptr(GError) error = NULL;

  if (!_cairn_store_add_failed_changes (get_store (self), get_id (self), changes, reason, &error))
    {
      /* Not processed: the change stays recorded and comes back. */
      g_warning ("Resource %s cannot keep a failed change: %s", get_id (self), error->message);
      end_replay_task (self, error);
      return;
    }
  processed (self);
  update_failed_count (self);
}

typedef struct
{
  CairnChange *change;
  const char *remote_id;
  const char *remote_revision;
  const char *gid;
  guint64 since;  /* the change log entries to lend @remote_id to come after it */
  CairnMonitor *recorder;  /* whose position to advance with them, or NULL */
} RemoteIds;

static gboolean
store_remote_ids (CairnTransaction  *transaction,
                  gpointer           user_data,
                  GError           **error)
{
  RemoteIds *ids = user_data;
  guint64 id = cairn_change_get_entity_id (ids->change);
  /* A moved item's new remote id names it in the destination. */
  guint64 named_in = cairn_change_get_operation (ids->change) == CAIRN_CHANGE_MOVE
                     ? cairn_change_get_destination_id (ids->change)
                     : cairn_change_get_collection_id (ids->change);
  g_autoptr(GError) local_error = NULL;

  /* A move replayed under the same name (maildir): the name is the item's
   * in the destination now. */
  if (ids->remote_id == NULL && ids->remote_revision == NULL)
    {
      if (!_cairn_transaction_settle_remote_collection (transaction, id, named_in, error))
        return FALSE;
    }
  else if (!_cairn_transaction_set_remote_ids (transaction,
                                               cairn_change_get_entity_kind (ids->change), id,
                                               named_in, ids->remote_id, ids->remote_revision,
                                               &local_error))
    {
      /* Removed since: its removal must still find it in the backend. */
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  if (ids->gid != NULL && !_cairn_transaction_set_gid (transaction, id, ids->gid, error))
    return FALSE;
  /* From the start of the range: a merged change has the revision of the
   * last change it took in, and a move made before that but delivered
   * after it must find the entity too. */
  if (ids->remote_id != NULL &&
      !_cairn_transaction_lend_remote_id (transaction,
                                          cairn_change_get_entity_kind (ids->change),
                                          cairn_change_get_entity_id (ids->change),
                                          ids->since, ids->remote_id, error))
    return FALSE;
  /* Killed after a commit of the remote ids alone, the change would come
   * again with the new remote id as if it were the old one (a move's in
   * its source folder). */
  return ids->recorder == NULL ||
         _cairn_monitor_write_processed_position (ids->recorder, transaction, error);
}

static void
apply_replayed (CairnResource *self,
                GPtrArray     *changes,
                Outcome       *outcome)
{
  CairnChange *change = g_ptr_array_index (changes, 0);
  RemoteIds ids = { change, outcome->remote_id, outcome->remote_revision, outcome->gid,
                    MIN (recorder_revision (self), cairn_change_get_revision (change)),
                    CAIRN_MONITOR (get_recorder (self)) };
  CairnEntityKind kind = cairn_change_get_entity_kind (change);
  g_autoptr(GError) error = NULL;

  if (ids.remote_id == NULL && ids.remote_revision == NULL && ids.gid == NULL &&
      (kind != CAIRN_ENTITY_ITEM || cairn_change_get_operation (change) != CAIRN_CHANGE_MOVE))
    {
      processed (self);
      return;
    }
  if (cairn_change_get_operation (change) == CAIRN_CHANGE_REMOVE ||
      (kind != CAIRN_ENTITY_ITEM && kind != CAIRN_ENTITY_COLLECTION))
    {
      processed (self);
      return;
    }
  if (!cairn_store_write_sync (get_store (self), store_remote_ids, &ids, NULL, NULL, &error))
    {
      /* The backend has the change but the store lacks its remote id:
       * replay it again later, which an idempotent resource allows. */
      g_prefix_error (&error, "Cannot store the remote id of a replayed change: ");
      end_replay_task (self, &(GError) { CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                                         error->message });
      return;
    }
  if (ids.remote_id != NULL)
    _cairn_monitor_lend_remote_id (CAIRN_MONITOR (get_recorder (self)), kind,
                                   cairn_change_get_entity_id (change), ids.remote_id);
  processed (self);
}

static void resolve_conflict (CairnResource *self,
                              GPtrArray     *changes,
                              GPtrArray     *items,
                              CairnItem     *server);

static gboolean
apply_outcome (gpointer user_data)
{
  CairnResource *self = user_data;
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  Outcome outcome;
  GPtrArray *changes, *items;

  priv->outcome_source = 0;
  /* The task ended meanwhile: the outcome waits for the next one. */
  if (priv->replay_task == NULL)
    {
      queue_replay (self);
      return G_SOURCE_REMOVE;
    }
  /* Taken first: applying it may deliver again, and get a new one. */
  outcome = priv->outcome;
  memset (&priv->outcome, 0, sizeof priv->outcome);
  if (!get_held (self, &changes, &items))
    {
      outcome_clear (&outcome);
      return G_SOURCE_REMOVE;
    }

  switch (outcome.kind)
    {
    case OUTCOME_REPLAYED:
      apply_replayed (self, changes, &outcome);
      break;
    case OUTCOME_FAILED:
      /* A payload file a later change replaced or removed while the
       * resource read it: delivered again, the change comes with what is
       * stored then, or not at all. */
      if (g_error_matches (outcome.error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO))
        {
          outcome.error->domain = CAIRN_RESOURCE_ERROR;
          outcome.error->code = CAIRN_RESOURCE_ERROR_TRANSIENT;
        }
      if (g_error_matches (outcome.error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT) ||
          g_error_matches (outcome.error, CAIRN_RESOURCE_ERROR,
                           CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS))
        end_replay_task (self, outcome.error);
      else
        keep_failed (self, changes, outcome.error->message);
      break;
    case OUTCOME_CONFLICT:
      resolve_conflict (self, changes, items, outcome.server_item);
      break;
    case OUTCOME_NONE:
    default:
      g_assert_not_reached ();
    }
  outcome_clear (&outcome);
  return G_SOURCE_REMOVE;
}

/* Applied from the main loop: the callback that reported may still use
 * the change it was given. */
static void
schedule_outcome (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  if (priv->outcome_source == 0)
    priv->outcome_source = g_idle_add_full (G_PRIORITY_DEFAULT, apply_outcome,
                                            g_object_ref (self), g_object_unref);
}

/* A report counts for the delivery it ends even when its task ended
 * meanwhile (the watchdog gave up, the resource went offline): the
 * backend may have the change, and the report is about that change,
 * which is still the held one since nothing else was delivered. */
static gboolean
take_outcome (CairnResource *self,
              OutcomeKind    kind)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  GPtrArray *changes, *items;

  if (!priv->awaiting_outcome || priv->outcome.kind != OUTCOME_NONE)
    {
      g_critical ("Resource %s reported a change replay it was not given", get_id (self));
      return FALSE;
    }
  priv->awaiting_outcome = FALSE;
  /* Stopped meanwhile: the change stays recorded and comes again. */
  if (!get_held (self, &changes, &items))
    return FALSE;
  priv->outcome.kind = kind;
  schedule_outcome (self);
  return TRUE;
}

/**
 * cairn_resource_change_replayed:
 * @self: a #CairnResource
 * @remote_id: (nullable): the backend's id of a created, moved or
 *   rewritten item or of a collection, if it has a new one
 * @remote_revision: (nullable): the backend's new revision of it
 *
 * Ends the replay of the change being delivered: the backend has it. The
 * next change is delivered from the main loop.
 *
 * Since: 0.1
 */
void
cairn_resource_change_replayed (CairnResource *self,
                                const char    *remote_id,
                                const char    *remote_revision)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  if (!take_outcome (self, OUTCOME_REPLAYED))
    return;
  priv->outcome.remote_id = g_strdup (remote_id);
  priv->outcome.remote_revision = g_strdup (remote_revision);
}

/**
 * cairn_resource_change_failed:
 * @self: a #CairnResource
 * @error: why; in %CAIRN_RESOURCE_ERROR
 *
 * Ends the replay of the change being delivered with a failure. With
 * %CAIRN_RESOURCE_ERROR_TRANSIENT, or %CAIRN_STORE_ERROR_IO from reading a
 * part that a later change replaced meanwhile, the change is delivered
 * again after a backoff, and nothing else runs meanwhile; after the scheduler's
 * maximum of attempts, or with any other error, the change is kept as a
 * #CairnFailedChange with @error's message and the next change goes on.
 * %CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS also sets the status.
 *
 * Since: 0.1
 */
void
cairn_resource_change_failed (CairnResource *self,
                              const GError  *error)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));
  g_return_if_fail (error != NULL);

  if (!take_outcome (self, OUTCOME_FAILED))
    return;
  priv->outcome.error = g_error_copy (error);
}

/**
 * cairn_resource_change_conflicts:
 * @self: a #CairnResource
 * @server_item: the backend's version of the item: its remote revision,
 *   flags and parts
 *
 * Ends the replay of a change to an item that the backend changed too
 * (its remote revision is not the one the item has), and settles it by
 * #CairnResource:conflict-policy. With keep-local, the change is
 * delivered again, with the item's remote revision set to the backend's,
 * so that the resource writes over it.
 *
 * Since: 0.1
 */
void
cairn_resource_change_conflicts (CairnResource *self,
                                 CairnItem     *server_item)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));
  g_return_if_fail (CAIRN_IS_ITEM (server_item));

  if (!take_outcome (self, OUTCOME_CONFLICT))
    return;
  priv->outcome.server_item = g_object_ref (server_item);
}

/* Conflicts */

typedef struct
{
  CairnResource *self;
  CairnItem *local;
  CairnItem *server;
  CairnFlags *flags;
  gboolean keep_copy;
} Settlement;

static gboolean
settle (CairnTransaction  *transaction,
        gpointer           user_data,
        GError           **error)
{
  Settlement *settlement = user_data;
  const char *own_origin = cairn_transaction_get_origin (transaction);
  g_autofree char *conflict_origin = g_strconcat (get_id (settlement->self),
                                                  CONFLICT_ORIGIN_SUFFIX, NULL);
  guint64 id = cairn_item_get_id (settlement->local);

  if (settlement->keep_copy)
    {
      g_autoptr(CairnItem) copy = cairn_item_new (cairn_item_get_mime_type (settlement->local));
      g_autofree char *origin = g_strdup (own_origin);
      GPtrArray *parts = cairn_item_get_parts (settlement->local);

      cairn_item_set_collection_id (copy, cairn_item_get_collection_id (settlement->local));
      cairn_item_set_gid (copy, cairn_item_get_gid (settlement->local));
      cairn_item_set_date (copy, cairn_item_get_date (settlement->local));
      cairn_item_set_flags (copy, cairn_item_get_flags (settlement->local));
      for (guint i = 0; i < parts->len; i++)
        cairn_item_set_part (copy, g_ptr_array_index (parts, i));
      cairn_transaction_set_origin (transaction, conflict_origin);
      if (!cairn_transaction_create_item (transaction, copy, error))
        return FALSE;
      cairn_transaction_set_origin (transaction, origin);
    }

  cairn_item_set_id (settlement->server, id);
  cairn_item_set_collection_id (settlement->server, cairn_item_get_collection_id (settlement->local));
  if (cairn_item_get_remote_id (settlement->server) == NULL)
    cairn_item_set_remote_id (settlement->server, cairn_item_get_remote_id (settlement->local));
  if (cairn_item_get_mime_type (settlement->server) == NULL)
    cairn_item_set_mime_type (settlement->server, cairn_item_get_mime_type (settlement->local));
  return cairn_transaction_modify_item (transaction, settlement->server, 0, error) &&
         _cairn_transaction_set_flags (transaction, id, settlement->flags, error);
}

static void
resolve_conflict (CairnResource *self,
                  GPtrArray     *changes,
                  GPtrArray     *items,
                  CairnItem     *server)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnChange *change = g_ptr_array_index (changes, 0);
  CairnStore *store = get_store (self);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(CairnItem) local = NULL;
  g_autoptr(CairnFlagsDelta) pending = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autoptr(GError) error = NULL;
  Settlement settlement = { self, NULL, server, NULL, FALSE };

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  cairn_fetch_scope_set_attributes (scope, TRUE);
  local = cairn_store_get_item (store, cairn_change_get_entity_id (change), scope, &error);
  if (local == NULL)
    {
      /* Removed meanwhile: the removal is replayed next. */
      processed (self);
      return;
    }

  if (priv->conflict_policy == CAIRN_CONFLICT_POLICY_KEEP_LOCAL)
    {
      RemoteIds ids = { change, NULL, cairn_item_get_remote_revision (server) };

      if (priv->conflict_redelivered)
        {
          keep_failed (self, changes,
                       "The backend reported a conflict again after the local version "
                       "was chosen");
          return;
        }
      if (!cairn_store_write_sync (store, store_remote_ids, &ids, NULL, NULL, &error))
        {
          end_replay_task (self, error);
          return;
        }
      for (guint i = 0; items != NULL && i < items->len; i++)
        cairn_item_set_remote_revision (g_ptr_array_index (items, i),
                                        cairn_item_get_remote_revision (server));
      /* apply_outcome() took the outcome before calling here, so the
       * resource may report again at once. */
      priv->conflict_redelivered = TRUE;
      deliver (self);
      return;
    }

  /* Flags are merged, never chosen: the backend's, with the local deltas
   * not yet replayed on top; those are replayed afterwards. */
  pending = _cairn_store_get_pending_flags (store, cairn_item_get_id (local),
                                            cairn_change_get_revision (change),
                                            cairn_store_get_origin (store), &error);
  if (pending == NULL)
    {
      end_replay_task (self, error);
      return;
    }
  flags = cairn_flags_copy (cairn_item_get_flags (server));
  cairn_flags_delta_apply (pending, flags);

  settlement.local = local;
  settlement.flags = flags;
  settlement.keep_copy = priv->conflict_policy == CAIRN_CONFLICT_POLICY_KEEP_BOTH;
  if (!cairn_store_write_sync (store, settle, &settlement, NULL, NULL, &error))
    {
      g_prefix_error (&error, "Cannot settle a conflict: ");
      end_replay_task (self, error);
      return;
    }
  processed (self);
}

/* Synchronization */

static void
retry_sync (gpointer user_data)
{
  SyncFailure *failure = user_data;
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (failure->self);
  g_autoptr(CairnSchedulerTask) task = NULL;

  failure->timer = 0;
  /* Offline, the retry waits until the resource is online again. */
  if (!cairn_scheduler_get_online (priv->scheduler))
    return;
  /* Listing the collections again syncs every one, new ones included. */
  task = failure->collection_id == 0
         ? cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL)
         : cairn_scheduler_task_new_sync_collection (failure->collection_id);
  cairn_scheduler_queue (priv->scheduler, task);
  update_queues (failure->self);
}

/* Retries the syncs that failed while the resource was offline. */
static void
retry_waiting_syncs (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  GHashTableIter iter;
  gpointer failure;

  g_hash_table_iter_init (&iter, priv->sync_failures);
  while (g_hash_table_iter_next (&iter, NULL, &failure))
    if (((SyncFailure *) failure)->timer == 0)
      retry_sync (failure);
}

/* Records that syncing @collection (NULL: listing the collections) failed
 * and arms its retry: after twice the scheduler's retry delay, doubling
 * with every failure in a row, at most the scheduler's maximum. */
static void
record_sync_failure (CairnResource   *self,
                     CairnCollection *collection,
                     const GError    *error)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnClock *clock = cairn_scheduler_get_clock (priv->scheduler);
  guint64 id = collection != NULL ? cairn_collection_get_id (collection) : 0;
  SyncFailure *failure = g_hash_table_lookup (priv->sync_failures, &id);
  gint64 delay = cairn_scheduler_get_retry_delay (priv->scheduler);
  gint64 max_delay = cairn_scheduler_get_max_retry_delay (priv->scheduler);

  if (failure == NULL)
    {
      failure = g_new0 (SyncFailure, 1);
      failure->self = self;
      failure->collection_id = id;
      g_hash_table_insert (priv->sync_failures, &failure->collection_id, failure);
    }
  g_free (failure->name);
  failure->name = g_strdup (collection != NULL ? cairn_collection_get_name (collection) : "");
  g_free (failure->reason);
  failure->reason = g_strdup (error->message);
  failure->failures++;
  for (guint i = 0; i < failure->failures && delay < max_delay; i++)
    delay *= 2;
  delay = MIN (delay, max_delay);
  if (failure->timer != 0)
    cairn_clock_remove_timer (clock, failure->timer);
  failure->timer = cairn_clock_add_timer (clock, cairn_clock_get_time (clock) + delay,
                                          retry_sync, failure, NULL);
  update_health (self);
}

static void
clear_sync_failure (CairnResource *self,
                    guint64        collection_id)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  if (g_hash_table_remove (priv->sync_failures, &collection_id))
    update_health (self);
}

/* Forgets the failures of collections that are gone from the store. */
static void
prune_sync_failures (CairnResource *self,
                     GPtrArray     *collections)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                         NULL);
  GHashTableIter iter;
  gpointer key;
  gboolean removed = FALSE;

  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);

      g_hash_table_add (present, g_memdup2 (&(guint64) { cairn_collection_get_id (collection) },
                                            sizeof (guint64)));
    }
  g_hash_table_iter_init (&iter, priv->sync_failures);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (*(guint64 *) key != 0 && !g_hash_table_contains (present, key))
      {
        g_hash_table_iter_remove (&iter);
        removed = TRUE;
      }
  if (removed)
    update_health (self);
}

/* Whether @error ends a whole sync instead of one collection's: a
 * cancelled task, or credentials that every collection would need. */
static gboolean
ends_sync (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS);
}

typedef struct
{
  CairnResource *self;
  CairnSchedulerTask *task;
  gboolean tree;
  GPtrArray *collections;  /* to sync the items of, in order */
  guint next;
  CairnItemSync *sync;
  guint64 items_done;  /* by the collections synced before */
  guint n_failed;
  char *first_failure;  /* "“name”: reason" of the first collection that failed */
  GError *failure;  /* its error */
} SyncJob;

/* Ends the sync of the current collection: its items count as done. */
static void
drop_item_sync (SyncJob *job)
{
  guint64 seen, expected;

  if (job->sync == NULL)
    return;
  _cairn_item_sync_unwatch_progress (job->sync);
  _cairn_item_sync_get_progress (job->sync, &seen, &expected);
  job->items_done += seen;
  g_clear_object (&job->sync);
}

static void
sync_job_free (SyncJob *job)
{
  g_object_unref (job->self);
  g_object_unref (job->task);
  g_clear_pointer (&job->collections, g_ptr_array_unref);
  drop_item_sync (job);
  g_free (job->first_failure);
  g_clear_error (&job->failure);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyncJob, sync_job_free)

static void
sync_job_end (SyncJob      *job,
              const GError *error)
{
  CairnResource *self = job->self;

  drop_item_sync (job);
  cairn_agent_set_item_progress (CAIRN_AGENT (self), error == NULL ? 100 : 0, job->items_done,
                                 job->items_done);
  set_working (self, NULL);
  report_task (self, job->task, error);
  sync_job_free (job);
}

/* Ends a job whose failures were recorded: the task fails for whoever
 * waits for it, without the scheduler's retry, because each failed
 * collection has its own. */
static void
sync_job_end_failed (SyncJob      *job,
                     const GError *error)
{
  cairn_agent_set_item_progress (CAIRN_AGENT (job->self), 100, job->items_done, job->items_done);
  set_working (job->self, NULL);
  cairn_scheduler_task_report (job->task, CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT, error);
  sync_job_free (job);
}

static void
sync_job_finish (SyncJob *job)
{
  g_autoptr(GError) error = NULL;

  if (job->n_failed == 0)
    {
      sync_job_end (job, NULL);
      return;
    }
  error = g_error_new (job->failure->domain, job->failure->code,
                       g_dngettext (NULL, "%u of %u collections could not be synchronized: %s",
                                    "%u of %u collections could not be synchronized; the first: "
                                    "%s", job->n_failed),
                       job->n_failed, job->collections->len, job->first_failure);
  sync_job_end_failed (job, error);
}

/* Where the recorder is now; the store has it a moment later. */
static guint64
recorder_revision (CairnResource *self)
{
  CairnChangeRecorder *recorder = get_recorder (self);

  return recorder != NULL ? _cairn_monitor_get_position (CAIRN_MONITOR (recorder)) : G_MAXUINT64;
}

static void sync_next_collection (SyncJob *job);

/* The collection the job synced last failed: it is recorded and the
 * others go on. */
static void
collection_failed (SyncJob      *job,
                   const GError *error)
{
  CairnCollection *collection = g_ptr_array_index (job->collections, job->next - 1);

  drop_item_sync (job);
  if (ends_sync (error))
    {
      sync_job_end (job, error);
      return;
    }
  record_sync_failure (job->self, collection, error);
  if (job->n_failed++ == 0)
    {
      job->first_failure = g_strdup_printf ("“%s”: %s", cairn_collection_get_name (collection),
                                            error->message);
      job->failure = g_error_copy (error);
    }
  sync_next_collection (job);
}

static void
items_retrieved (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SyncJob *job = user_data;
  CairnResource *self = job->self;
  CairnCollection *collection = g_ptr_array_index (job->collections, job->next - 1);
  g_autoptr(GError) error = NULL;

  if (!CAIRN_RESOURCE_GET_CLASS (self)->retrieve_items_finish (self, result, &error) ||
      !_cairn_item_sync_finish (job->sync, &error))
    {
      collection_failed (job, error);
      return;
    }
  drop_item_sync (job);
  cairn_agent_set_item_progress (CAIRN_AGENT (self), 100 * job->next / job->collections->len,
                                 job->items_done, job->items_done);
  clear_sync_failure (self, cairn_collection_get_id (collection));
  sync_next_collection (job);
}

/* Within a collection, progress moves with its items when the resource
 * said how many to expect. */
static void
items_progressed (CairnItemSync *sync,
                  guint64        seen,
                  guint64        expected,
                  gpointer       user_data)
{
  SyncJob *job = user_data;
  double within = expected > 0 ? (double) MIN (seen, expected) / expected : 0;

  cairn_agent_set_item_progress (CAIRN_AGENT (job->self),
                                 100 * (job->next - 1 + within) / job->collections->len,
                                 job->items_done + seen, job->items_done + MAX (seen, expected));
}

static void
sync_next_collection (SyncJob *job)
{
  CairnResource *self = job->self;
  GCancellable *cancellable = cairn_scheduler_task_get_cancellable (job->task);
  CairnCollection *collection;
  g_autoptr(GMainContext) context = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;

  do
    {
      if (job->next == job->collections->len)
        {
          sync_job_finish (job);
          return;
        }
      collection = g_ptr_array_index (job->collections, job->next++);
    }
  /* Virtual ones hold links, and one without a remote id never reached
   * the backend: neither has anything to list. */
  while (cairn_collection_get_virtual (collection) ||
         cairn_collection_get_remote_id (collection) == NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      sync_job_end (job, error);
      return;
    }
  job->sync = _cairn_item_sync_new (get_store (self), collection, get_id (self),
                                    recorder_revision (self), &error);
  if (job->sync == NULL)
    {
      collection_failed (job, error);
      return;
    }
  context = g_main_context_ref_thread_default ();
  _cairn_item_sync_watch_progress (job->sync, context, items_progressed, job);
  message = g_strdup_printf ("Synchronizing %s", cairn_collection_get_name (collection));
  set_working (self, message);
  CAIRN_RESOURCE_GET_CLASS (self)->retrieve_items (self, collection, job->sync, cancellable,
                                                   items_retrieved, job);
}

typedef struct
{
  CairnResource *self;
  GPtrArray *incoming;
} TreeMerge;

/* Sets on @known each attribute @incoming has with another value; the
 * others stay, as applications may keep attributes of their own there.
 * Returns whether any changed. */
static gboolean
merge_attributes (CairnCollection *known,
                  CairnCollection *incoming)
{
  g_auto(GStrv) names = cairn_collection_list_attributes (incoming);
  gboolean changed = FALSE;

  for (guint i = 0; names[i] != NULL; i++)
    {
      GBytes *value = cairn_collection_get_attribute (incoming, names[i]);
      GBytes *old = cairn_collection_get_attribute (known, names[i]);

      if (old == NULL || !g_bytes_equal (old, value))
        {
          cairn_collection_set_attribute (known, names[i], value);
          changed = TRUE;
        }
    }
  return changed;
}

static gboolean
merge_tree (CairnTransaction  *transaction,
            gpointer           user_data,
            GError           **error)
{
  TreeMerge *merge = user_data;
  const char *resource = get_id (merge->self);
  g_autoptr(GHashTable) pending = NULL;
  g_autoptr(GHashTable) removed_remote_ids = NULL;
  g_autoptr(GHashTable) left_alone = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GHashTable) by_remote_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) resolved = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GPtrArray) waiting = g_ptr_array_copy (merge->incoming, NULL, NULL);
  g_autoptr(GArray) removed = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint before;

  /* The copy must not free what it drops: the incoming array owns it. */
  g_ptr_array_set_free_func (waiting, NULL);
  stored = cairn_store_list_collections (get_store (merge->self), resource, error);
  if (stored == NULL)
    return FALSE;
  /* Collections renamed, moved or removed locally and not replayed yet
   * are where the backend lists them only until the replay. */
  pending = _cairn_store_list_pending_entities (get_store (merge->self), CAIRN_ENTITY_COLLECTION,
                                                recorder_revision (merge->self), resource,
                                                cairn_store_get_origin (get_store (merge->self)),
                                                error);
  if (pending == NULL)
    return FALSE;
  /* Removed locally, they are no longer stored but still on the backend
   * until the removal is replayed: not new ones to take back. */
  removed_remote_ids =
    _cairn_store_list_removed_collection_remote_ids (get_store (merge->self),
                                                     recorder_revision (merge->self), resource,
                                                     cairn_store_get_origin (get_store (merge->self)),
                                                     error);
  if (removed_remote_ids == NULL)
    return FALSE;
  for (guint i = 0; i < stored->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (stored, i);

      if (cairn_collection_get_remote_id (collection) != NULL)
        g_hash_table_insert (by_remote_id, (gpointer) cairn_collection_get_remote_id (collection),
                             collection);
    }

  /* Parents before children, whatever order the backend listed. */
  do
    {
      before = waiting->len;
      for (guint i = 0; i < waiting->len; )
        {
          CairnCollection *incoming = g_ptr_array_index (waiting, i);
          const char *remote_id = cairn_collection_get_remote_id (incoming);
          const char *parent_remote_id = cairn_collection_get_parent_remote_id (incoming);
          guint64 *parent_id = parent_remote_id ? g_hash_table_lookup (resolved, parent_remote_id)
                                                : NULL;
          CairnCollection *known;
          guint64 id;

          if (remote_id != NULL &&
              (g_hash_table_contains (removed_remote_ids, remote_id) ||
               (parent_remote_id != NULL && g_hash_table_contains (left_alone, parent_remote_id))))
            {
              g_hash_table_add (left_alone, (gpointer) remote_id);
              g_ptr_array_remove_index (waiting, i);
              continue;
            }
          if (parent_remote_id != NULL && parent_id == NULL)
            {
              i++;
              continue;
            }
          g_ptr_array_remove_index (waiting, i);

          if (remote_id == NULL || g_hash_table_contains (resolved, remote_id))
            {
              g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                           "Resource %s listed a collection “%s” %s", resource,
                           cairn_collection_get_name (incoming),
                           remote_id == NULL ? "without a remote id" : "twice");
              return FALSE;
            }

          known = g_hash_table_lookup (by_remote_id, remote_id);
          if (known == NULL)
            {
              cairn_collection_set_resource (incoming, resource);
              cairn_collection_set_parent_id (incoming, parent_id ? *parent_id : 0);
              if (!cairn_transaction_create_collection (transaction, incoming, error))
                return FALSE;
              id = cairn_collection_get_id (incoming);
            }
          else if (g_hash_table_contains (pending, &(guint64) { cairn_collection_get_id (known) }))
            {
              id = cairn_collection_get_id (known);
              g_hash_table_remove (by_remote_id, remote_id);
            }
          else
            {
              gboolean attributes_changed = merge_attributes (known, incoming);

              id = cairn_collection_get_id (known);
              g_hash_table_remove (by_remote_id, remote_id);
              if (attributes_changed ||
                  g_strcmp0 (cairn_collection_get_name (known),
                             cairn_collection_get_name (incoming)) != 0 ||
                  g_strcmp0 (cairn_collection_get_remote_revision (known),
                             cairn_collection_get_remote_revision (incoming)) != 0 ||
                  !g_strv_equal ((const char * const *) cairn_collection_get_content_mime_types (known),
                                 (const char * const *) cairn_collection_get_content_mime_types (incoming)))
                {
                  cairn_collection_set_name (known, cairn_collection_get_name (incoming));
                  cairn_collection_set_remote_revision (known,
                                                        cairn_collection_get_remote_revision (incoming));
                  cairn_collection_set_content_mime_types (known,
                                                           cairn_collection_get_content_mime_types (incoming));
                  if (!cairn_transaction_modify_collection (transaction, known, 0, error))
                    return FALSE;
                }
              if (cairn_collection_get_parent_id (known) != (parent_id ? *parent_id : 0) &&
                  !cairn_transaction_move_collection (transaction, id, parent_id ? *parent_id : 0,
                                                      error))
                return FALSE;
            }
          g_hash_table_insert (resolved, (gpointer) remote_id, g_memdup2 (&id, sizeof id));
        }
    }
  while (waiting->len > 0 && waiting->len < before);

  if (waiting->len > 0)
    {
      CairnCollection *orphan = g_ptr_array_index (waiting, 0);

      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                   "Resource %s listed collection “%s” under “%s”, which it did not list",
                   resource, cairn_collection_get_name (orphan),
                   cairn_collection_get_parent_remote_id (orphan));
      return FALSE;
    }

  /* What is left is gone from the backend; deleting a collection deletes
   * its subtree, so only the topmost of those are deleted. */
  for (guint i = 0; i < stored->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (stored, i);
      const char *remote_id = cairn_collection_get_remote_id (collection);
      guint64 id = cairn_collection_get_id (collection);

      if (remote_id != NULL && !cairn_collection_get_virtual (collection) &&
          g_hash_table_lookup (by_remote_id, remote_id) == collection &&
          !g_hash_table_contains (pending, &id))
        g_array_append_val (removed, id);
    }
  for (guint i = 0; i < removed->len; i++)
    {
      g_autoptr(GError) local_error = NULL;

      /* A parent deleted before may have taken this one with it. */
      if (!cairn_transaction_delete_collection (transaction, g_array_index (removed, guint64, i),
                                                &local_error) &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static void
collections_retrieved (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  SyncJob *job = user_data;
  CairnResource *self = job->self;
  g_autoptr(GPtrArray) incoming = NULL;
  g_autoptr(GError) error = NULL;
  TreeMerge merge = { self, NULL };

  incoming = CAIRN_RESOURCE_GET_CLASS (self)->retrieve_collections_finish (self, result, &error);
  merge.incoming = incoming;
  if (incoming == NULL ||
      !cairn_store_write_sync (get_store (self), merge_tree, &merge, NULL, NULL, &error))
    {
      /* A backend whose root is missing is tried again, so that it is
       * picked up when it appears. */
      if (ends_sync (error))
        sync_job_end (job, error);
      else
        {
          record_sync_failure (self, NULL, error);
          g_prefix_error (&error, "Cannot list the collections: ");
          sync_job_end_failed (job, error);
        }
      return;
    }
  clear_sync_failure (self, 0);
  job->collections = cairn_store_list_collections (get_store (self), get_id (self), &error);
  if (job->collections == NULL)
    {
      sync_job_end (job, error);
      return;
    }
  prune_sync_failures (self, job->collections);
  if (!job->tree)
    {
      sync_job_end (job, NULL);
      return;
    }
  sync_next_collection (job);
}

static void
run_sync (CairnResource      *self,
          CairnSchedulerTask *task)
{
  CairnSchedulerTaskKind kind = cairn_scheduler_task_get_kind (task);
  g_autoptr(SyncJob) job = g_new0 (SyncJob, 1);
  g_autoptr(GError) error = NULL;

  job->self = g_object_ref (self);
  job->task = g_object_ref (task);
  job->tree = kind != CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE;

  if (kind == CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION)
    {
      guint64 id = cairn_scheduler_task_get_collection_id (task);
      g_autoptr(CairnCollection) collection = cairn_store_get_collection (get_store (self), id,
                                                                          &error);

      if (collection != NULL && g_strcmp0 (cairn_collection_get_resource (collection),
                                           get_id (self)) != 0)
        g_set_error (&error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                     "Collection %" G_GUINT64_FORMAT " does not belong to resource %s", id,
                     get_id (self));
      if (error != NULL)
        {
          /* A collection deleted since its sync failed needs no retry. */
          if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
            clear_sync_failure (self, id);
          report_task (self, task, error);
          return;
        }
      job->collections = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (job->collections, g_steal_pointer (&collection));
      sync_next_collection (g_steal_pointer (&job));
      return;
    }

  set_working (self, "Synchronizing folders");
  cairn_agent_set_progress (CAIRN_AGENT (self), 0);
  CAIRN_RESOURCE_GET_CLASS (self)->retrieve_collections (self,
                                                         cairn_scheduler_task_get_cancellable (task),
                                                         collections_retrieved,
                                                         g_steal_pointer (&job));
}

/* Parts on demand */

typedef struct
{
  CairnResource *self;
  CairnSchedulerTask *task;
  guint next;
} FetchJob;

static void
fetch_job_end (FetchJob     *job,
               const GError *error)
{
  set_working (job->self, NULL);
  report_task (job->self, job->task, error);
  g_object_unref (job->self);
  g_object_unref (job->task);
  g_free (job);
}

typedef struct
{
  CairnItem *stored;
  CairnItem *fetched;
} PartsWrite;

static gboolean
store_parts (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  PartsWrite *write = user_data;
  GPtrArray *parts = cairn_item_get_parts (write->fetched);

  for (guint i = 0; i < parts->len; i++)
    cairn_item_set_part (write->stored, g_ptr_array_index (parts, i));
  if (cairn_item_get_remote_revision (write->fetched) != NULL)
    cairn_item_set_remote_revision (write->stored, cairn_item_get_remote_revision (write->fetched));
  return cairn_transaction_modify_item (transaction, write->stored, 0, error);
}

static void fetch_next_item (FetchJob *job);

static void
item_retrieved (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  FetchJob *job = user_data;
  CairnResource *self = job->self;
  gsize n_items;
  const gint64 *ids = cairn_scheduler_task_get_item_ids (job->task, &n_items);
  g_autoptr(CairnItem) fetched = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(GError) error = NULL;
  PartsWrite write = { NULL, NULL };

  fetched = CAIRN_RESOURCE_GET_CLASS (self)->retrieve_item_finish (self, result, &error);
  if (fetched != NULL)
    stored = cairn_store_get_item (get_store (self), ids[job->next - 1], NULL, &error);
  write.stored = stored;
  write.fetched = fetched;
  if (stored == NULL ||
      !cairn_store_write_sync (get_store (self), store_parts, &write, NULL, NULL, &error))
    {
      fetch_job_end (job, error);
      return;
    }
  fetch_next_item (job);
}

static void
fetch_next_item (FetchJob *job)
{
  CairnResource *self = job->self;
  gsize n_items;
  const gint64 *ids = cairn_scheduler_task_get_item_ids (job->task, &n_items);
  const char * const *parts = cairn_scheduler_task_get_parts (job->task);
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GError) error = NULL;

  if (job->next == n_items)
    {
      fetch_job_end (job, NULL);
      return;
    }
  item = cairn_store_get_item (get_store (self), ids[job->next++], NULL, &error);
  if (item != NULL)
    collection = cairn_store_get_collection (get_store (self), cairn_item_get_collection_id (item),
                                             &error);
  if (collection != NULL &&
      g_strcmp0 (cairn_collection_get_resource (collection), get_id (self)) != 0)
    g_set_error (&error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                 "Item %" G_GINT64_FORMAT " does not belong to resource %s", ids[job->next - 1],
                 get_id (self));
  if (error != NULL)
    {
      fetch_job_end (job, error);
      return;
    }
  CAIRN_RESOURCE_GET_CLASS (self)->retrieve_item (self, item,
                                                  parts != NULL && parts[0] != NULL ? parts : NULL,
                                                  cairn_scheduler_task_get_cancellable (job->task),
                                                  item_retrieved, job);
}

static void
run_fetch (CairnResource      *self,
           CairnSchedulerTask *task)
{
  FetchJob *job = g_new0 (FetchJob, 1);

  job->self = g_object_ref (self);
  job->task = g_object_ref (task);
  set_working (self, "Retrieving items");
  fetch_next_item (job);
}

/* Change replay in a worker thread: the default #CairnObserver callbacks
 * of every resource, which run the `replay_*_sync` methods. */

typedef enum
{
  REPLAY_ITEM_ADDED,
  REPLAY_ITEM_CHANGED,
  REPLAY_FLAGS_CHANGED,
  REPLAY_ITEM_MOVED,
  REPLAY_ITEM_REMOVED,
  REPLAY_COLLECTION_ADDED,
  REPLAY_COLLECTION_CHANGED,
  REPLAY_COLLECTION_MOVED,
  REPLAY_COLLECTION_REMOVED,
} ReplayKind;

/* What the callback was given, and what the method returns. */
typedef struct
{
  ReplayKind kind;
  GPtrArray *changes;  /* one change, or the changes of a flag delta */
  CairnItem *item;
  char **parts;
  CairnFlags *added;
  CairnFlags *removed;
  guint64 source;
  guint64 destination;
  char *remote_id;
  char *remote_revision;
  char *gid;
  CairnItem *server_item;
} ReplayJob;

static void
replay_job_free (ReplayJob *job)
{
  g_ptr_array_unref (job->changes);
  g_clear_object (&job->item);
  g_strfreev (job->parts);
  g_clear_pointer (&job->added, cairn_flags_free);
  g_clear_pointer (&job->removed, cairn_flags_free);
  g_free (job->remote_id);
  g_free (job->remote_revision);
  g_free (job->gid);
  g_clear_object (&job->server_item);
  g_free (job);
}

static ReplayJob *
replay_job_new (ReplayKind   kind,
                CairnChange *change,
                CairnItem   *item)
{
  ReplayJob *job = g_new0 (ReplayJob, 1);

  job->kind = kind;
  job->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
  if (change != NULL)
    g_ptr_array_add (job->changes, cairn_change_ref (change));
  job->item = item != NULL ? g_object_ref (item) : NULL;
  return job;
}

static gboolean
has_replay_method (CairnResourceClass *klass,
                   ReplayKind          kind)
{
  switch (kind)
    {
    case REPLAY_ITEM_ADDED: return klass->replay_item_added_sync != NULL;
    case REPLAY_ITEM_CHANGED: return klass->replay_item_changed_sync != NULL;
    case REPLAY_FLAGS_CHANGED: return klass->replay_flags_changed_sync != NULL;
    case REPLAY_ITEM_MOVED: return klass->replay_item_moved_sync != NULL;
    case REPLAY_ITEM_REMOVED: return klass->replay_item_removed_sync != NULL;
    case REPLAY_COLLECTION_ADDED: return klass->replay_collection_added_sync != NULL;
    case REPLAY_COLLECTION_CHANGED: return klass->replay_collection_changed_sync != NULL;
    case REPLAY_COLLECTION_MOVED: return klass->replay_collection_moved_sync != NULL;
    case REPLAY_COLLECTION_REMOVED: return klass->replay_collection_removed_sync != NULL;
    default: g_assert_not_reached ();
    }
}

/* Each change of a flag delta in turn: a delta applies as well twice, so
 * a failure part way retries them all. */
static gboolean
replay_flags (CairnResource  *self,
              ReplayJob      *job,
              GCancellable   *cancellable,
              GError        **error)
{
  CairnResourceClass *klass = CAIRN_RESOURCE_GET_CLASS (self);

  for (guint i = 0; i < job->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (job->changes, i);
      g_autofree char *revision = NULL;

      if (!klass->replay_flags_changed_sync (self, change, cairn_change_get_item (change),
                                             job->added, job->removed, &revision, cancellable,
                                             error))
        return FALSE;
      /* The store takes one revision for the whole delivery. */
      if (job->changes->len == 1)
        job->remote_revision = g_steal_pointer (&revision);
    }
  return TRUE;
}

static gboolean
run_replay_method (CairnResource  *self,
                   ReplayJob      *job,
                   GCancellable   *cancellable,
                   GError        **error)
{
  CairnResourceClass *klass = CAIRN_RESOURCE_GET_CLASS (self);
  CairnChange *change = g_ptr_array_index (job->changes, 0);
  const char * const *parts = (const char * const *) job->parts;

  switch (job->kind)
    {
    case REPLAY_ITEM_ADDED:
      return klass->replay_item_added_sync (self, change, job->item, &job->remote_id,
                                            &job->remote_revision, cancellable, error);
    case REPLAY_ITEM_CHANGED:
      return klass->replay_item_changed_sync (self, change, job->item, parts,
                                              &job->remote_revision, &job->server_item,
                                              cancellable, error);
    case REPLAY_FLAGS_CHANGED:
      return replay_flags (self, job, cancellable, error);
    case REPLAY_ITEM_MOVED:
      return klass->replay_item_moved_sync (self, change, job->item, job->source,
                                            job->destination, &job->remote_id,
                                            &job->remote_revision, cancellable, error);
    case REPLAY_ITEM_REMOVED:
      return klass->replay_item_removed_sync (self, change, cancellable, error);
    case REPLAY_COLLECTION_ADDED:
      return klass->replay_collection_added_sync (self, change, &job->remote_id, cancellable,
                                                  error);
    case REPLAY_COLLECTION_CHANGED:
      return klass->replay_collection_changed_sync (self, change, parts, &job->remote_id,
                                                    cancellable, error);
    case REPLAY_COLLECTION_MOVED:
      return klass->replay_collection_moved_sync (self, change, job->source, job->destination,
                                                  &job->remote_id, cancellable, error);
    case REPLAY_COLLECTION_REMOVED:
      return klass->replay_collection_removed_sync (self, change, cancellable, error);
    default:
      g_assert_not_reached ();
    }
}

/* A method that failed without saying why (a binding's mistake) still
 * fails, with a reason. */
static GError *
ensure_error (GError     *error,
              const char *what)
{
  if (error != NULL)
    return error;
  return g_error_new (CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                      "Cannot %s: the resource gave no reason", what);
}

/* The job a worker thread replays, for cairn_resource_replay_set_remote_id()
 * and cairn_resource_replay_set_gid(). */
static GPrivate replay_job_key;

static void
replay_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  gboolean replayed;

  g_private_set (&replay_job_key, task_data);
  replayed = run_replay_method (source, task_data, cancellable, &error);
  g_private_set (&replay_job_key, NULL);
  if (replayed)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, ensure_error (error, "replay a change"));
}

/* Lends the remote ids that cairn_resource_relocate_collections() gave
 * while a change was replayed in a worker thread: the recorder is the
 * main thread's, and they must be lent before the next change. */
static void
lend_deferred (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(GPtrArray) lends = NULL;

  g_mutex_lock (&priv->deferred_lock);
  lends = g_steal_pointer (&priv->deferred_lends);
  g_mutex_unlock (&priv->deferred_lock);
  for (guint i = 0; lends != NULL && i < lends->len; i++)
    {
      DeferredLend *lend = g_ptr_array_index (lends, i);

      _cairn_monitor_lend_remote_id (CAIRN_MONITOR (get_recorder (self)), CAIRN_ENTITY_COLLECTION,
                                     lend->id, lend->remote_id);
    }
}

static void
replayed_in_thread (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  CairnResource *self = CAIRN_RESOURCE (source);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  ReplayJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  lend_deferred (self);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* What the change needs was removed since: its removal follows. */
      if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        cairn_resource_change_replayed (self, NULL, NULL);
      /* A stop: delivered again. */
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cairn_resource_change_failed (self, &(GError) { CAIRN_RESOURCE_ERROR,
                                                        CAIRN_RESOURCE_ERROR_TRANSIENT,
                                                        error->message });
      else
        cairn_resource_change_failed (self, error);
    }
  else if (job->server_item != NULL)
    cairn_resource_change_conflicts (self, job->server_item);
  else
    {
      cairn_resource_change_replayed (self, job->remote_id, job->remote_revision);
      if (priv->outcome.kind == OUTCOME_REPLAYED)
        priv->outcome.gid = g_steal_pointer (&job->gid);
    }
}

/* The two documented stand-ins among the `_sync` methods. A collection
 * changed or moved that has no remote id never reached the backend (its
 * creation failed, or found its parent missing): it is created now, as
 * it was at the change. A move without its method is a change of the
 * part `PARENT`: the collection as at the change has its new parent. */
static void
choose_replay_method (CairnResourceClass *klass,
                      ReplayJob          *job)
{
  CairnChange *change = g_ptr_array_index (job->changes, 0);

  if (job->kind != REPLAY_COLLECTION_CHANGED && job->kind != REPLAY_COLLECTION_MOVED)
    return;
  if (cairn_collection_get_remote_id (cairn_change_get_collection (change)) == NULL &&
      klass->replay_collection_added_sync != NULL)
    job->kind = REPLAY_COLLECTION_ADDED;
  else if (job->kind == REPLAY_COLLECTION_MOVED && klass->replay_collection_moved_sync == NULL &&
           klass->replay_collection_changed_sync != NULL)
    {
      job->kind = REPLAY_COLLECTION_CHANGED;
      g_strfreev (job->parts);
      job->parts = g_strsplit ("PARENT", " ", -1);
    }
}

static void
replay_in_thread (CairnObserver *observer,
                  ReplayJob     *job)
{
  CairnResource *self = CAIRN_RESOURCE (observer);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(GTask) task = NULL;

  choose_replay_method (CAIRN_RESOURCE_GET_CLASS (self), job);
  if (!has_replay_method (CAIRN_RESOURCE_GET_CLASS (self), job->kind) ||
      priv->replay_task == NULL)
    {
      replay_job_free (job);
      cairn_resource_change_failed (self, &(GError) { CAIRN_RESOURCE_ERROR,
                                                      CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
                                                      (char *) "Not supported by this resource" });
      return;
    }
  task = g_task_new (self, cairn_scheduler_task_get_cancellable (priv->replay_task),
                     replayed_in_thread, NULL);
  g_task_set_source_tag (task, replay_in_thread);
  /* What the method answers counts, cancelled or not: the backend may
   * have taken the change before it saw the cancellation. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, (GDestroyNotify) replay_job_free);
  g_task_run_in_thread (task, replay_thread);
}

static void
observe_item_added (CairnObserver *observer,
                    CairnMonitor  *monitor,
                    CairnChange   *change,
                    CairnItem     *item)
{
  replay_in_thread (observer, replay_job_new (REPLAY_ITEM_ADDED, change, item));
}

static void
observe_item_changed (CairnObserver      *observer,
                      CairnMonitor       *monitor,
                      CairnChange        *change,
                      CairnItem          *item,
                      const char * const *parts)
{
  ReplayJob *job = replay_job_new (REPLAY_ITEM_CHANGED, change, item);

  job->parts = g_strdupv ((char **) parts);
  replay_in_thread (observer, job);
}

static void
observe_items_flags_changed (CairnObserver    *observer,
                             CairnMonitor     *monitor,
                             GPtrArray        *changes,
                             const CairnFlags *added,
                             const CairnFlags *removed)
{
  ReplayJob *job = replay_job_new (REPLAY_FLAGS_CHANGED, NULL, NULL);

  for (guint i = 0; i < changes->len; i++)
    g_ptr_array_add (job->changes, cairn_change_ref (g_ptr_array_index (changes, i)));
  job->added = cairn_flags_copy (added);
  job->removed = cairn_flags_copy (removed);
  replay_in_thread (observer, job);
}

static void
observe_item_moved (CairnObserver *observer,
                    CairnMonitor  *monitor,
                    CairnChange   *change,
                    CairnItem     *item,
                    guint64        source,
                    guint64        destination)
{
  ReplayJob *job = replay_job_new (REPLAY_ITEM_MOVED, change, item);

  job->source = source;
  job->destination = destination;
  replay_in_thread (observer, job);
}

static void
observe_item_removed (CairnObserver *observer,
                      CairnMonitor  *monitor,
                      CairnChange   *change)
{
  replay_in_thread (observer, replay_job_new (REPLAY_ITEM_REMOVED, change, NULL));
}

static void
observe_collection_added (CairnObserver *observer,
                          CairnMonitor  *monitor,
                          CairnChange   *change)
{
  replay_in_thread (observer, replay_job_new (REPLAY_COLLECTION_ADDED, change, NULL));
}

static void
observe_collection_changed (CairnObserver      *observer,
                            CairnMonitor       *monitor,
                            CairnChange        *change,
                            const char * const *parts)
{
  ReplayJob *job = replay_job_new (REPLAY_COLLECTION_CHANGED, change, NULL);

  job->parts = g_strdupv ((char **) parts);
  replay_in_thread (observer, job);
}

static void
observe_collection_moved (CairnObserver *observer,
                          CairnMonitor  *monitor,
                          CairnChange   *change,
                          guint64        source,
                          guint64        destination)
{
  ReplayJob *job = replay_job_new (REPLAY_COLLECTION_MOVED, change, NULL);

  job->source = source;
  job->destination = destination;
  replay_in_thread (observer, job);
}

static void
observe_collection_removed (CairnObserver *observer,
                            CairnMonitor  *monitor,
                            CairnChange   *change)
{
  replay_in_thread (observer, replay_job_new (REPLAY_COLLECTION_REMOVED, change, NULL));
}

/* The batch forms stay unset, so that a subclass that implements only the
 * single forms gets them. */
static void
cairn_resource_observer_iface_init (CairnObserverInterface *iface)
{
  iface->item_added = observe_item_added;
  iface->item_changed = observe_item_changed;
  iface->items_flags_changed = observe_items_flags_changed;
  iface->item_moved = observe_item_moved;
  iface->item_removed = observe_item_removed;
  iface->collection_added = observe_collection_added;
  iface->collection_changed = observe_collection_changed;
  iface->collection_moved = observe_collection_moved;
  iface->collection_removed = observe_collection_removed;
}

/* Reading the backend in a worker thread: the default asynchronous
 * methods, which run the `_sync` ones. */

static void
retrieve_collections_thread (GTask        *task,
                             gpointer      source,
                             gpointer      task_data,
                             GCancellable *cancellable)
{
  CairnResource *self = source;
  GError *error = NULL;
  GPtrArray *collections;

  collections = CAIRN_RESOURCE_GET_CLASS (self)->retrieve_collections_sync (self, cancellable,
                                                                            &error);
  if (collections == NULL)
    g_task_return_error (task, ensure_error (error, "list the collections"));
  else
    g_task_return_pointer (task, collections, (GDestroyNotify) g_ptr_array_unref);
}

static void
real_retrieve_collections (CairnResource       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, real_retrieve_collections);
  if (CAIRN_RESOURCE_GET_CLASS (self)->retrieve_collections_sync == NULL)
    g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
                             "Resource %s cannot list collections", get_id (self));
  else
    g_task_run_in_thread (task, retrieve_collections_thread);
}

static GPtrArray *
real_retrieve_collections_finish (CairnResource  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  CairnCollection *collection;
  CairnItemSync *sync;
  CairnItem *item;
  char **parts;
} RetrieveData;

static void
retrieve_data_free (RetrieveData *data)
{
  g_clear_object (&data->collection);
  g_clear_object (&data->sync);
  g_clear_object (&data->item);
  g_strfreev (data->parts);
  g_free (data);
}

static void
retrieve_items_thread (GTask        *task,
                       gpointer      source,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  CairnResource *self = source;
  RetrieveData *data = task_data;
  GError *error = NULL;

  if (CAIRN_RESOURCE_GET_CLASS (self)->retrieve_items_sync (self, data->collection, data->sync,
                                                            cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, ensure_error (error, "list the items"));
}

static void
real_retrieve_items (CairnResource       *self,
                     CairnCollection     *collection,
                     CairnItemSync       *sync,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  RetrieveData *data = g_new0 (RetrieveData, 1);

  g_task_set_source_tag (task, real_retrieve_items);
  data->collection = g_object_ref (collection);
  data->sync = g_object_ref (sync);
  g_task_set_task_data (task, data, (GDestroyNotify) retrieve_data_free);
  if (CAIRN_RESOURCE_GET_CLASS (self)->retrieve_items_sync == NULL)
    g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
                             "Resource %s cannot list items", get_id (self));
  else
    g_task_run_in_thread (task, retrieve_items_thread);
}

static gboolean
real_retrieve_items_finish (CairnResource  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
retrieve_item_thread (GTask        *task,
                      gpointer      source,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  CairnResource *self = source;
  RetrieveData *data = task_data;
  GError *error = NULL;
  CairnItem *item;

  item = CAIRN_RESOURCE_GET_CLASS (self)->retrieve_item_sync (self, data->item,
                                                              (const char * const *) data->parts,
                                                              cancellable, &error);
  if (item == NULL)
    g_task_return_error (task, ensure_error (error, "read an item"));
  else
    g_task_return_pointer (task, item, g_object_unref);
}

static void
real_retrieve_item (CairnResource       *self,
                    CairnItem           *item,
                    const char * const  *parts,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  RetrieveData *data = g_new0 (RetrieveData, 1);

  g_task_set_source_tag (task, real_retrieve_item);
  data->item = g_object_ref (item);
  data->parts = g_strdupv ((char **) parts);
  g_task_set_task_data (task, data, (GDestroyNotify) retrieve_data_free);
  g_task_run_in_thread (task, retrieve_item_thread);
}

static CairnItem *
real_retrieve_item_finish (CairnResource  *self,
                           GAsyncResult   *result,
                           GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* cairn_resource_fetch_parts_async() refuses at once when this fails. */
static gboolean
can_retrieve_item (CairnResourceClass *klass)
{
  return klass->retrieve_item != NULL &&
         (klass->retrieve_item != real_retrieve_item || klass->retrieve_item_sync != NULL);
}

/* Custom tasks */

typedef struct
{
  CairnResource *self;
  CairnSchedulerTask *task;
  gboolean again;
} CustomJob;

static void
custom_job_free (CustomJob *job)
{
  g_object_unref (job->self);
  g_object_unref (job->task);
  g_free (job);
}

static void
custom_thread (GTask        *gtask,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  CustomJob *job = task_data;
  GError *error = NULL;

  if (CAIRN_RESOURCE_GET_CLASS (job->self)->run_task_sync (job->self, job->task, &job->again,
                                                           cancellable, &error))
    g_task_return_boolean (gtask, TRUE);
  else
    g_task_return_error (gtask, ensure_error (error, "run a task"));
}

static void
custom_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CustomJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  set_working (job->self, NULL);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    report_task (job->self, job->task, error);
  else
    cairn_scheduler_task_report (job->task, job->again ? CAIRN_SCHEDULER_OUTCOME_DEFERRED
                                                       : CAIRN_SCHEDULER_OUTCOME_DONE, NULL);
}

static void
run_custom (CairnResource      *self,
            CairnSchedulerTask *task)
{
  g_autoptr(GTask) gtask = NULL;
  CustomJob *job;

  if (CAIRN_RESOURCE_GET_CLASS (self)->run_task_sync == NULL)
    {
      cairn_scheduler_task_report (task, CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT,
                                   &(GError) { CAIRN_RESOURCE_ERROR,
                                               CAIRN_RESOURCE_ERROR_INVALID,
                                               (char *) "The resource does not do this task" });
      return;
    }
  job = g_new0 (CustomJob, 1);
  job->self = g_object_ref (self);
  job->task = g_object_ref (task);
  gtask = g_task_new (self, cairn_scheduler_task_get_cancellable (task), custom_done, NULL);
  g_task_set_source_tag (gtask, run_custom);
  g_task_set_task_data (gtask, job, (GDestroyNotify) custom_job_free);
  set_working (self, cairn_scheduler_task_get_name (task));
  g_task_run_in_thread (gtask, custom_thread);
}

/* The scheduler */

static void
run_task (CairnScheduler     *scheduler,
          CairnSchedulerTask *task,
          gpointer            user_data)
{
  CairnResource *self = user_data;

  switch (cairn_scheduler_task_get_kind (task))
    {
    case CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY:
      run_replay (self, task);
      break;
    case CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS:
      run_fetch (self, task);
      break;
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL:
    case CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION:
      run_sync (self, task);
      break;
    case CAIRN_SCHEDULER_TASK_KIND_CUSTOM:
      run_custom (self, task);
      break;
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS:
    case CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY:
    default:
      cairn_scheduler_task_report (task, CAIRN_SCHEDULER_OUTCOME_FAILED_PERMANENT,
                                   &(GError) { CAIRN_RESOURCE_ERROR,
                                               CAIRN_RESOURCE_ERROR_INVALID,
                                               (char *) "The resource does not do this task" });
      break;
    }
}

static void
on_task_finished (CairnScheduler     *scheduler,
                  CairnSchedulerTask *task,
                  CairnResource      *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  const GError *error = cairn_scheduler_task_get_error (task);
  GPtrArray *changes, *items;

  update_queues (self);
  if (cairn_scheduler_task_get_kind (task) != CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY ||
      error == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (priv->replay_task == task)
    g_clear_object (&priv->replay_task);
  /* A delivery under way queues the replay again when it reports. */
  if (!get_held (self, &changes, &items) || priv->outcome.kind != OUTCOME_NONE ||
      priv->awaiting_outcome)
    return;
  /* A hung backend is tried again; one that kept failing has given up:
   * the change is kept as failed and the next one goes on. */
  if (g_error_matches (error, CAIRN_SCHEDULER_ERROR, CAIRN_SCHEDULER_ERROR_TIMED_OUT) ||
      g_error_matches (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS))
    queue_replay (self);
  else
    keep_failed (self, changes, error->message);
}

static void
on_task_started (CairnScheduler     *scheduler,
                 CairnSchedulerTask *task,
                 CairnResource      *self)
{
  update_queues (self);
}

/* A new path, server or account may hold other data: the next sync
 * compares the store with it. */
static void
on_reconfigured (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnSchedulerTask) task = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL);

  cairn_scheduler_queue (priv->scheduler, task);
}

static void
on_online_changed (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  cairn_scheduler_set_online (priv->scheduler,
                              cairn_agent_get_online (CAIRN_AGENT (self)) && !priv->locked_out);
  if (cairn_scheduler_get_online (priv->scheduler))
    retry_waiting_syncs (self);
}

/* Leaving the needs-credentials status (a reconfiguration, a new
 * password) lets the resource try again. Becoming idle (a valid
 * configuration again) shows what still fails. */
static void
on_status_changed (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnAgentStatus status = cairn_agent_get_status (CAIRN_AGENT (self));

  if (priv->locked_out && status != CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS)
    {
      priv->locked_out = FALSE;
      on_online_changed (self);
    }
  if (status == CAIRN_AGENT_STATUS_IDLE)
    update_health (self);
}

/* org.cairn.Resource1 */

static void
complete_invocation (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_dbus_method_invocation_return_value (invocation, NULL);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
scheduler_task_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (cairn_scheduler_queue_finish (CAIRN_SCHEDULER (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* Queues @scheduler_task (taking it) and answers the caller when it ends. */
static void
request (CairnResource       *self,
         CairnSchedulerTask  *scheduler_task,
         gpointer             source_tag,
         GCancellable        *cancellable,
         GAsyncReadyCallback  callback,
         gpointer             user_data)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnSchedulerTask) owned = scheduler_task;
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  cairn_scheduler_queue_async (priv->scheduler, owned, cancellable, scheduler_task_done, task);
  update_queues (self);
}

static gboolean
request_finish (CairnResource  *self,
                GAsyncResult   *result,
                gpointer        source_tag,
                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
fail_request (CairnResource       *self,
              gpointer             source_tag,
              GAsyncReadyCallback  callback,
              gpointer             user_data,
              const char          *message)
{
  g_task_report_new_error (self, callback, user_data, source_tag, CAIRN_RESOURCE_ERROR,
                           CAIRN_RESOURCE_ERROR_INVALID, "%s", message);
}

static gboolean
handle_synchronize (CairnResource1        *skeleton,
                    GDBusMethodInvocation *invocation,
                    guint64                collection_id,
                    CairnResource         *self)
{
  cairn_resource_synchronize_async (self, collection_id, NULL, complete_invocation,
                                    g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_synchronize_collection_tree (CairnResource1        *skeleton,
                                    GDBusMethodInvocation *invocation,
                                    CairnResource         *self)
{
  cairn_resource_synchronize_collection_tree_async (self, NULL, complete_invocation,
                                                    g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_retrieve_items (CairnResource1        *skeleton,
                       GDBusMethodInvocation *invocation,
                       GVariant              *ids,
                       const char * const    *parts,
                       CairnResource         *self)
{
  gsize n_ids;
  const guint64 *item_ids = g_variant_get_fixed_array (ids, &n_ids, sizeof (guint64));

  for (guint i = 0; parts[i] != NULL; i++)
    if (!cairn_part_name_is_valid (parts[i]))
      {
        g_dbus_method_invocation_return_error (invocation, CAIRN_RESOURCE_ERROR,
                                               CAIRN_RESOURCE_ERROR_INVALID,
                                               "“%s” is not a valid part name", parts[i]);
        return G_DBUS_METHOD_INVOCATION_HANDLED;
      }
  if (n_ids == 0)
    {
      g_dbus_method_invocation_return_error (invocation, CAIRN_RESOURCE_ERROR,
                                             CAIRN_RESOURCE_ERROR_INVALID, "No items given");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  cairn_resource_fetch_parts_async (self, item_ids, n_ids, parts, NULL, complete_invocation,
                                    g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_failed_changes (CairnResource1        *skeleton,
                            GDBusMethodInvocation *invocation,
                            CairnResource         *self)
{
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;

  failed = cairn_resource_list_failed_changes (self, &error);
  if (failed == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tuuts)"));
  for (guint i = 0; i < failed->len; i++)
    {
      CairnFailedChange *entry = g_ptr_array_index (failed, i);
      CairnChange *change = cairn_failed_change_get_change (entry);

      g_variant_builder_add (&builder, "(tuuts)", cairn_failed_change_get_id (entry),
                             cairn_change_get_operation (change),
                             cairn_change_get_entity_kind (change),
                             cairn_change_get_entity_id (change),
                             cairn_failed_change_get_reason (entry));
    }
  cairn_resource1_complete_list_failed_changes (skeleton, invocation,
                                                g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef gboolean (*FailedChangesFunc) (CairnResource  *self,
                                       const guint64  *ids,
                                       gsize           n_ids,
                                       GError        **error);

static void
handle_failed_changes (GDBusMethodInvocation *invocation,
                       GVariant              *ids,
                       CairnResource         *self,
                       FailedChangesFunc      func)
{
  gsize n_ids;
  const guint64 *failed_ids = g_variant_get_fixed_array (ids, &n_ids, sizeof (guint64));
  g_autoptr(GError) error = NULL;

  if (func (self, failed_ids, n_ids, &error))
    g_dbus_method_invocation_return_value (invocation, NULL);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
}

static gboolean
handle_retry_failed_changes (CairnResource1        *skeleton,
                             GDBusMethodInvocation *invocation,
                             GVariant              *ids,
                             CairnResource         *self)
{
  handle_failed_changes (invocation, ids, self, cairn_resource_retry_failed_changes);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_discard_failed_changes (CairnResource1        *skeleton,
                               GDBusMethodInvocation *invocation,
                               GVariant              *ids,
                               CairnResource         *self)
{
  handle_failed_changes (invocation, ids, self, cairn_resource_discard_failed_changes);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
cairn_resource_dbus_register (CairnAgent       *agent,
                              GDBusConnection  *connection,
                              const char       *object_path,
                              GError          **error)
{
  CairnResource *self = CAIRN_RESOURCE (agent);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnResource1) skeleton = cairn_resource1_skeleton_new ();

  g_signal_connect_object (skeleton, "handle-synchronize", G_CALLBACK (handle_synchronize), self,
                           0);
  g_signal_connect_object (skeleton, "handle-synchronize-collection-tree",
                           G_CALLBACK (handle_synchronize_collection_tree), self, 0);
  g_signal_connect_object (skeleton, "handle-retrieve-items", G_CALLBACK (handle_retrieve_items),
                           self, 0);
  g_signal_connect_object (skeleton, "handle-list-failed-changes",
                           G_CALLBACK (handle_list_failed_changes), self, 0);
  g_signal_connect_object (skeleton, "handle-retry-failed-changes",
                           G_CALLBACK (handle_retry_failed_changes), self, 0);
  g_signal_connect_object (skeleton, "handle-discard-failed-changes",
                           G_CALLBACK (handle_discard_failed_changes), self, 0);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), connection,
                                         object_path, error))
    return FALSE;
  priv->skeleton = g_steal_pointer (&skeleton);
  update_queues (self);
  update_pending_count (self);
  update_failed_count (self);
  return TRUE;
}

static void
cairn_resource_dbus_unregister (CairnAgent *agent)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (CAIRN_RESOURCE (agent));

  if (priv->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (priv->skeleton));
  g_clear_object (&priv->skeleton);
}

/* GInitable */

static gboolean
cairn_resource_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  CairnResource *self = CAIRN_RESOURCE (initable);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  CairnAgent *agent = CAIRN_AGENT (self);
  CairnChangeRecorder *recorder;
  g_autoptr(CairnSchedulerTask) initial_sync = NULL;

  if ((cairn_agent_type_get_capabilities (cairn_agent_get_agent_type (agent)) &
       CAIRN_AGENT_CAPABILITY_RESOURCE) == 0)
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_INVALID,
                   "Agent type %s is a resource but its .agent file lacks the Resource "
                   "capability", cairn_agent_type_get_id (cairn_agent_get_agent_type (agent)));
      return FALSE;
    }
  /* The origin tells the resource's own writes from local changes. */
  if (cairn_store_get_origin (cairn_agent_get_store (agent)) == NULL)
    cairn_store_set_origin (cairn_agent_get_store (agent), cairn_agent_get_id (agent));

  if (!parent_initable_iface->init (initable, cancellable, error))
    return FALSE;

  recorder = get_recorder (self);
  if (recorder != NULL)
    {
      _cairn_monitor_set_gate (CAIRN_MONITOR (recorder), on_change_held, on_recorder_caught_up,
                               self);
      g_signal_connect_object (recorder, "read-failed", G_CALLBACK (on_recorder_read_failed),
                               self, 0);
    }
  g_signal_connect (self, "notify::online", G_CALLBACK (on_online_changed), NULL);
  g_signal_connect (self, "notify::status", G_CALLBACK (on_status_changed), NULL);
  g_signal_connect (self, "reconfigured", G_CALLBACK (on_reconfigured), NULL);
  on_online_changed (self);

  /* Changes recorded before a crash or a restart are replayed before the
   * first sync: a sync first would list a note written just before the
   * crash as a new item, beside the local one about to get its remote id. */
  queue_replay (self);
  /* What changed in the backend while the resource was not running. */
  initial_sync = cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL);
  cairn_scheduler_queue (priv->scheduler, initial_sync);
  return TRUE;
}

static void
cairn_resource_initable_iface_init (GInitableIface *iface)
{
  parent_initable_iface = g_type_interface_peek_parent (iface);
  iface->init = cairn_resource_initable_init;
}

/* GObject */

static void
cairn_resource_dispose (GObject *object)
{
  CairnResource *self = CAIRN_RESOURCE (object);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  cairn_agent_stop (CAIRN_AGENT (self));
  g_clear_handle_id (&priv->outcome_source, g_source_remove);
  outcome_clear (&priv->outcome);
  if (priv->scheduler != NULL)
    {
      g_signal_handlers_disconnect_by_data (priv->scheduler, self);
      cairn_scheduler_cancel_all (priv->scheduler);
    }
  g_clear_object (&priv->replay_task);
  g_hash_table_remove_all (priv->sync_failures);

  G_OBJECT_CLASS (cairn_resource_parent_class)->dispose (object);
}

static void
cairn_resource_finalize (GObject *object)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (CAIRN_RESOURCE (object));

  g_hash_table_unref (priv->sync_failures);
  g_clear_pointer (&priv->deferred_lends, g_ptr_array_unref);
  g_mutex_clear (&priv->deferred_lock);
  g_clear_object (&priv->scheduler);
  g_clear_object (&priv->secrets);
  g_free (priv->failed_change_reason);
  g_free (priv->change_log_error);

  G_OBJECT_CLASS (cairn_resource_parent_class)->finalize (object);
}

static void
cairn_resource_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CairnResource *self = CAIRN_RESOURCE (object);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_CONFLICT_POLICY:
      g_value_set_enum (value, cairn_resource_get_conflict_policy (self));
      break;
    case PROP_SYNC_INTERVAL:
      g_value_set_uint (value, cairn_scheduler_get_sync_interval (priv->scheduler) /
                               G_USEC_PER_SEC);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_resource_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CairnResource *self = CAIRN_RESOURCE (object);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_CONFLICT_POLICY:
      cairn_resource_set_conflict_policy (self, g_value_get_enum (value));
      break;
    case PROP_SYNC_INTERVAL:
      if (g_value_get_uint (value) !=
          cairn_scheduler_get_sync_interval (priv->scheduler) / G_USEC_PER_SEC)
        {
          cairn_scheduler_set_sync_interval (priv->scheduler,
                                             (gint64) g_value_get_uint (value) * G_USEC_PER_SEC);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_resource_class_init (CairnResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnAgentClass *agent_class = CAIRN_AGENT_CLASS (klass);

  object_class->dispose = cairn_resource_dispose;
  object_class->finalize = cairn_resource_finalize;
  object_class->get_property = cairn_resource_get_property;
  object_class->set_property = cairn_resource_set_property;
  agent_class->dbus_register = cairn_resource_dbus_register;
  agent_class->dbus_unregister = cairn_resource_dbus_unregister;
  klass->retrieve_collections = real_retrieve_collections;
  klass->retrieve_collections_finish = real_retrieve_collections_finish;
  klass->retrieve_items = real_retrieve_items;
  klass->retrieve_items_finish = real_retrieve_items_finish;
  klass->retrieve_item = real_retrieve_item;
  klass->retrieve_item_finish = real_retrieve_item_finish;

  /**
   * CairnResource:conflict-policy:
   *
   * What to do when the backend changed an item that has a local change
   * not yet replayed. A configuration key: `conflict-policy=keep-both`.
   *
   * Since: 0.1
   */
  properties[PROP_CONFLICT_POLICY] =
    g_param_spec_enum ("conflict-policy", NULL, NULL, CAIRN_TYPE_CONFLICT_POLICY,
                       CAIRN_CONFLICT_POLICY_KEEP_SERVER,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnResource:sync-interval:
   *
   * How often, in seconds, the resource synchronizes every collection
   * without being asked; 0 for never. A configuration key:
   * `sync-interval=600`. The control service reads it too, to start an
   * instance that exited when idle once its sync falls due.
   *
   * Since: 0.1
   */
  properties[PROP_SYNC_INTERVAL] =
    g_param_spec_uint ("sync-interval", NULL, NULL, 0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Registers the D-Bus error names before any error crosses the bus. */
  cairn_resource_error_quark ();
}

static void
cairn_resource_init (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  g_autoptr(CairnClock) clock = cairn_system_clock_new (NULL);

  priv->conflict_policy = CAIRN_CONFLICT_POLICY_KEEP_SERVER;
  g_mutex_init (&priv->deferred_lock);
  priv->scheduler = cairn_scheduler_new (clock);
  priv->sync_failures = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                               (GDestroyNotify) sync_failure_free);
  cairn_scheduler_set_run_func (priv->scheduler, run_task, self, NULL);
  g_signal_connect (priv->scheduler, "task-started", G_CALLBACK (on_task_started), self);
  g_signal_connect (priv->scheduler, "task-finished", G_CALLBACK (on_task_finished), self);
}

/* Public API */

/**
 * cairn_resource_get_scheduler:
 * @self: a #CairnResource
 *
 * Returns the scheduler every request of the resource runs on, to set
 * its offline policies, limits and sync interval.
 *
 * Returns: (transfer none): the scheduler
 *
 * Since: 0.1
 */
CairnScheduler *
cairn_resource_get_scheduler (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);

  return priv->scheduler;
}

/**
 * cairn_resource_get_secrets:
 * @self: a #CairnResource
 *
 * Returns the secrets of this instance, kept by the Secret Service and
 * nowhere else: never in its configuration, the store, logs, argv or the
 * environment.
 *
 * Returns: (transfer none): the instance's secrets
 *
 * Since: 0.1
 */
CairnSecrets *
cairn_resource_get_secrets (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);

  if (priv->secrets == NULL)
    priv->secrets = cairn_secrets_new (get_id (self));
  return priv->secrets;
}

static void
password_looked_up (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CairnResource *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  char *password;

  password = cairn_secrets_lookup_finish (CAIRN_SECRETS (source), result, &error);
  if (password != NULL)
    {
      g_task_return_pointer (task, password, g_free);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_error_matches (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_NOT_FOUND))
    {
      g_clear_error (&error);
      g_set_error (&error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
                   "No password is stored for %s", get_id (self));
    }
  else
    g_prefix_error (&error, "The password of %s cannot be read: ", get_id (self));
  cairn_resource_report_bad_credentials (self, error->message);
  g_task_return_new_error (task, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
                           "%s", error->message);
}

/**
 * cairn_resource_lookup_password_async:
 * @self: a #CairnResource
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the password
 * @user_data: data for @callback
 *
 * Looks up the secret named `password` of this instance. If there is
 * none, or the Secret Service cannot give it, the resource goes into
 * %CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS and the lookup fails with
 * %CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS.
 *
 * Since: 0.1
 */
void
cairn_resource_lookup_password_async (CairnResource       *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_resource_lookup_password_async);
  cairn_secrets_lookup_async (cairn_resource_get_secrets (self), "password", cancellable,
                              password_looked_up, task);
}

/**
 * cairn_resource_lookup_password_finish:
 * @self: a #CairnResource
 * @result: the result
 * @error: return location for an error
 *
 * Finishes cairn_resource_lookup_password_async().
 *
 * Returns: (transfer full): the password; wipe it and free it with
 *   g_free() once used
 *
 * Since: 0.1
 */
char *
cairn_resource_lookup_password_finish (CairnResource  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cairn_resource_get_conflict_policy:
 * @self: a #CairnResource
 *
 * Gets how the resource settles a conflict between a local change and the
 * backend.
 *
 * Returns: how conflicts are settled
 *
 * Since: 0.1
 */
CairnConflictPolicy
cairn_resource_get_conflict_policy (CairnResource *self)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), CAIRN_CONFLICT_POLICY_KEEP_SERVER);

  return priv->conflict_policy;
}

/**
 * cairn_resource_set_conflict_policy:
 * @self: a #CairnResource
 * @policy: how to settle conflicts
 *
 * Sets how the resource settles a conflict between a local change and the
 * backend.
 *
 * Since: 0.1
 */
void
cairn_resource_set_conflict_policy (CairnResource       *self,
                                    CairnConflictPolicy  policy)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  if (priv->conflict_policy == policy)
    return;
  priv->conflict_policy = policy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFLICT_POLICY]);
}

/**
 * cairn_resource_synchronize_async:
 * @self: a #CairnResource
 * @collection_id: one of the resource's collections, or 0 for the
 *   collection tree and every collection
 * @cancellable: (nullable): cancels this request
 * @callback: (scope async) (closure user_data): called when the sync ends
 * @user_data: data for @callback
 *
 * Synchronizes with the backend, after every pending change replay. Equal
 * requests share one sync.
 *
 * Since: 0.1
 */
void
cairn_resource_synchronize_async (CairnResource       *self,
                                  guint64              collection_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  if (collection_id > G_MAXINT64)
    {
      fail_request (self, cairn_resource_synchronize_async, callback, user_data,
                    "No such collection");
      return;
    }
  request (self,
           collection_id == 0
           ? cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL)
           : cairn_scheduler_task_new_sync_collection (collection_id),
           cairn_resource_synchronize_async, cancellable, callback, user_data);
}

/**
 * cairn_resource_synchronize_finish:
 * @self: a #CairnResource
 * @result: the result
 * @error: return location for an error
 *
 * Finishes cairn_resource_synchronize_async().
 *
 * Returns: %TRUE if the sync completed
 *
 * Since: 0.1
 */
gboolean
cairn_resource_synchronize_finish (CairnResource  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  return request_finish (self, result, cairn_resource_synchronize_async, error);
}

/**
 * cairn_resource_synchronize_collection_tree_async:
 * @self: a #CairnResource
 * @cancellable: (nullable): cancels this request
 * @callback: (scope async) (closure user_data): called when the sync ends
 * @user_data: data for @callback
 *
 * Synchronizes the collection tree only.
 *
 * Since: 0.1
 */
void
cairn_resource_synchronize_collection_tree_async (CairnResource       *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data)
{
  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  request (self, cairn_scheduler_task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE),
           cairn_resource_synchronize_collection_tree_async, cancellable, callback, user_data);
}

/**
 * cairn_resource_synchronize_collection_tree_finish:
 * @self: a #CairnResource
 * @result: the result
 * @error: return location for an error
 *
 * Finishes cairn_resource_synchronize_collection_tree_async().
 *
 * Returns: %TRUE if the sync completed
 *
 * Since: 0.1
 */
gboolean
cairn_resource_synchronize_collection_tree_finish (CairnResource  *self,
                                                   GAsyncResult   *result,
                                                   GError        **error)
{
  return request_finish (self, result, cairn_resource_synchronize_collection_tree_async, error);
}

/**
 * cairn_resource_fetch_parts_async:
 * @self: a #CairnResource
 * @item_ids: (array length=n_items): items of the resource's collections
 * @n_items: the number of items
 * @parts: (nullable) (array zero-terminated=1): part names, or %NULL for
 *   every part
 * @cancellable: (nullable): cancels this request
 * @callback: (scope async) (closure user_data): called once the parts are
 *   stored
 * @user_data: data for @callback
 *
 * Reads parts the store lacks from the backend and stores them, before
 * any sync: a client is waiting. Requests that a running one covers join
 * it. This is what `org.cairn.Resource1.RetrieveItems` runs; its name
 * differs from the `retrieve_items` virtual methods, which list a
 * collection, because GObject introspection pairs a method with the
 * virtual method of the same name and would take it for their invoker.
 *
 * Since: 0.1
 */
void
cairn_resource_fetch_parts_async (CairnResource       *self,
                                  const guint64       *item_ids,
                                  gsize                n_items,
                                  const char * const  *parts,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  static const char * const no_parts[] = { NULL };

  g_return_if_fail (CAIRN_IS_RESOURCE (self));
  g_return_if_fail (item_ids != NULL || n_items == 0);

  if (!can_retrieve_item (CAIRN_RESOURCE_GET_CLASS (self)))
    {
      g_task_report_new_error (self, callback, user_data, cairn_resource_fetch_parts_async,
                               CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
                               "Resource %s cannot retrieve single items", get_id (self));
      return;
    }
  for (gsize i = 0; i < n_items; i++)
    if (item_ids[i] == 0 || item_ids[i] > G_MAXINT64)
      {
        fail_request (self, cairn_resource_fetch_parts_async, callback, user_data,
                      "No such item");
        return;
      }
  request (self,
           cairn_scheduler_task_new_fetch_parts ((const gint64 *) item_ids, n_items,
                                                 parts != NULL ? parts : no_parts),
           cairn_resource_fetch_parts_async, cancellable, callback, user_data);
}

/**
 * cairn_resource_fetch_parts_finish:
 * @self: a #CairnResource
 * @result: the result
 * @error: return location for an error
 *
 * Finishes cairn_resource_fetch_parts_async().
 *
 * Returns: %TRUE once the parts are stored
 *
 * Since: 0.1
 */
gboolean
cairn_resource_fetch_parts_finish (CairnResource  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  return request_finish (self, result, cairn_resource_fetch_parts_async, error);
}

/**
 * cairn_resource_replay_is_retry:
 * @self: a #CairnResource
 *
 * For a replay callback: whether an earlier attempt to replay this change
 * may have reached the backend in part or in full, because the resource
 * was killed while replaying it, or the replay failed transiently or met
 * a conflict. Replay must be idempotent; a resource whose writes are not
 * (a maildir names a message by its content) then looks for what the
 * earlier attempt left and removes or reuses it.
 *
 * Returns: whether the change being replayed was delivered before
 *
 * Since: 0.1
 */
gboolean
cairn_resource_replay_is_retry (CairnResource *self)
{
  CairnChangeRecorder *recorder;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), FALSE);

  recorder = get_recorder (self);
  return recorder != NULL && _cairn_monitor_get_held_attempted (CAIRN_MONITOR (recorder));
}

/**
 * cairn_resource_replay_set_remote_id:
 * @self: a #CairnResource
 * @remote_id: the backend's new id of the item
 *
 * For a #CairnResourceClass.replay_item_changed_sync method, in its worker
 * thread: the backend keeps the new content under another id (an IMAP
 * server cannot change a message, so the resource appends a new one and
 * expunges the old). Once the method returns %TRUE, the item takes
 * @remote_id, and the changes after this one are replayed against it,
 * as after a create (cairn_resource_change_replayed() with a remote id,
 * which a resource implementing the observer callbacks itself calls).
 * Called from anywhere else, it does nothing but warn.
 *
 * Since: 0.1
 */
void
cairn_resource_replay_set_remote_id (CairnResource *self,
                                     const char    *remote_id)
{
  ReplayJob *job = g_private_get (&replay_job_key);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));
  g_return_if_fail (remote_id != NULL);

  if (job == NULL || job->kind != REPLAY_ITEM_CHANGED)
    {
      g_critical ("cairn_resource_replay_set_remote_id() called outside "
                  "replay_item_changed_sync");
      return;
    }
  g_free (job->remote_id);
  job->remote_id = g_strdup (remote_id);
}

/**
 * cairn_resource_replay_set_gid:
 * @self: a #CairnResource
 * @gid: the item's GID from now on
 *
 * For a #CairnResourceClass.replay_item_added_sync or
 * #CairnResourceClass.replay_item_changed_sync method, in its worker
 * thread: the backend knows the item under another GID than the store's
 * (an IMAP message's Message-ID, which a new content may change). Once
 * the method returns %TRUE, the item takes @gid with its remote id, in
 * the same transaction, without a change of its own. Called from
 * anywhere else, it does nothing but warn.
 *
 * Since: 0.1
 */
void
cairn_resource_replay_set_gid (CairnResource *self,
                               const char    *gid)
{
  ReplayJob *job = g_private_get (&replay_job_key);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));
  g_return_if_fail (gid != NULL);

  if (job == NULL || (job->kind != REPLAY_ITEM_CHANGED && job->kind != REPLAY_ITEM_ADDED))
    {
      g_critical ("cairn_resource_replay_set_gid() called outside replay_item_added_sync or "
                  "replay_item_changed_sync");
      return;
    }
  g_free (job->gid);
  job->gid = g_strdup (gid);
}

typedef struct
{
  CairnResource *self;
  GArray *ids;
  GPtrArray *remote_ids;  /* the new one of each of @ids */
} Relocation;

static gboolean
relocate_remote_ids (CairnTransaction  *transaction,
                     gpointer           user_data,
                     GError           **error)
{
  Relocation *relocation = user_data;
  guint64 revision = recorder_revision (relocation->self);

  for (guint i = 0; i < relocation->ids->len; i++)
    {
      guint64 id = g_array_index (relocation->ids, guint64, i);
      const char *remote_id = g_ptr_array_index (relocation->remote_ids, i);
      g_autoptr(GError) local_error = NULL;

      if (!_cairn_transaction_set_remote_ids (transaction, CAIRN_ENTITY_COLLECTION, id, 0,
                                              remote_id, NULL, &local_error) &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (!_cairn_transaction_lend_remote_id (transaction, CAIRN_ENTITY_COLLECTION, id,
                                              revision == G_MAXUINT64 ? 0 : revision, remote_id,
                                              error))
        return FALSE;
    }
  return TRUE;
}

/* The resource's collections, and those removed locally whose removal is
 * not replayed yet, as the backend has them. */
static GPtrArray *
list_known_collections (CairnResource  *self,
                        GError        **error)
{
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  guint64 revision = recorder_revision (self);

  collections = cairn_store_list_collections (get_store (self), get_id (self), error);
  if (collections == NULL)
    return NULL;
  pending = cairn_store_get_changes_since (get_store (self), revision == G_MAXUINT64 ? 0 : revision,
                                           0, error);
  if (pending == NULL)
    return NULL;
  for (guint i = 0; i < pending->len; i++)
    {
      CairnChange *change = g_ptr_array_index (pending, i);

      if (cairn_change_get_entity_kind (change) != CAIRN_ENTITY_COLLECTION ||
          cairn_change_get_operation (change) != CAIRN_CHANGE_REMOVE ||
          g_strcmp0 (cairn_change_get_resource (change), get_id (self)) != 0)
        continue;
      g_ptr_array_add (collections, _cairn_change_to_collection (change));
    }
  return g_steal_pointer (&collections);
}

/**
 * cairn_resource_relocate_collections:
 * @self: a #CairnResource
 * @old_prefix: where a replayed rename or move of a collection took it
 *   from, as the start of remote ids, such as a path
 * @new_prefix: where it took it to
 * @error: return location for an error
 *
 * For resources whose remote ids are paths: a collection renamed or moved
 * in the backend takes the collections below it along. Every collection
 * of the resource whose remote id is @old_prefix, a `/` and more, in the
 * store or removed locally and not replayed yet, gets @new_prefix instead,
 * in the store and in its changes not replayed yet, so that they find it
 * where the backend has it. The write has the resource's origin and is
 * not replayed. A `replay_*_sync` method may call it from its worker
 * thread.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_resource_relocate_collections (CairnResource  *self,
                                     const char     *old_prefix,
                                     const char     *new_prefix,
                                     GError        **error)
{
  g_autoptr(GPtrArray) known = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GPtrArray) remote_ids = g_ptr_array_new_with_free_func (g_free);
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  Relocation relocation = { self, ids, remote_ids };
  gsize length;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), FALSE);
  g_return_val_if_fail (old_prefix != NULL && new_prefix != NULL, FALSE);

  known = list_known_collections (self, error);
  if (known == NULL)
    return FALSE;
  length = strlen (old_prefix);
  for (guint i = 0; i < known->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (known, i);
      const char *remote_id = cairn_collection_get_remote_id (collection);
      guint64 id = cairn_collection_get_id (collection);

      if (remote_id == NULL || !g_str_has_prefix (remote_id, old_prefix) ||
          remote_id[length] != '/')
        continue;
      g_array_append_val (ids, id);
      g_ptr_array_add (remote_ids, g_strconcat (new_prefix, remote_id + length, NULL));
    }
  if (ids->len == 0)
    return TRUE;
  if (!cairn_store_write_sync (get_store (self), relocate_remote_ids, &relocation, NULL, NULL,
                               error))
    return FALSE;
  if (g_private_get (&replay_job_key) != NULL)
    {
      g_mutex_lock (&priv->deferred_lock);
      if (priv->deferred_lends == NULL)
        priv->deferred_lends = g_ptr_array_new_with_free_func ((GDestroyNotify) deferred_lend_free);
      for (guint i = 0; i < ids->len; i++)
        {
          DeferredLend *lend = g_new (DeferredLend, 1);

          lend->id = g_array_index (ids, guint64, i);
          lend->remote_id = g_strdup (g_ptr_array_index (remote_ids, i));
          g_ptr_array_add (priv->deferred_lends, lend);
        }
      g_mutex_unlock (&priv->deferred_lock);
      return TRUE;
    }
  for (guint i = 0; i < ids->len; i++)
    _cairn_monitor_lend_remote_id (CAIRN_MONITOR (get_recorder (self)), CAIRN_ENTITY_COLLECTION,
                                   g_array_index (ids, guint64, i),
                                   g_ptr_array_index (remote_ids, i));
  return TRUE;
}

/**
 * cairn_resource_get_collection:
 * @self: a #CairnResource
 * @collection_id: one of the resource's collections
 * @error: return location for an error
 *
 * The collection as the backend knows it, for a replay callback: read
 * from the store, or, for a collection removed locally whose removal is
 * not replayed yet, made from that removal's change log entry (id,
 * parent, name, resource and remote id; the parent is where its first
 * move not replayed yet found it, since that move is still to come or the
 * removal takes its place; moves replayed already do not count). A
 * collection created and
 * removed since can thus still be created in the backend when changes of
 * items made in it are replayed, and an item removed or moved out of a
 * collection removed afterwards is still found where the backend has
 * it.
 *
 * Returns: (transfer full): the collection, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND if neither has it
 *
 * Since: 0.1
 */
CairnCollection *
cairn_resource_get_collection (CairnResource  *self,
                               guint64         collection_id,
                               GError        **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(CairnChange) pending = NULL;
  g_autoptr(GPtrArray) later = NULL;
  g_autoptr(GError) local_error = NULL;
  guint64 chunk_end = G_MAXUINT64;
  gboolean moved = FALSE;
  guint64 moved_from = 0;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  collection = cairn_store_get_collection (get_store (self), collection_id, &local_error);
  if (collection != NULL)
    return g_steal_pointer (&collection);
  if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  later = _cairn_store_get_entity_changes (get_store (self), CAIRN_ENTITY_COLLECTION,
                                           collection_id, recorder_revision (self), error);
  if (later == NULL)
    return NULL;
  /* The backend has it where its first move not replayed yet finds it: a
   * move of the chunk being delivered that is not processed yet, or one
   * that the queued removal took in, or one not read yet. The moves of the
   * chunk that are processed have been replayed. */
  if (get_recorder (self) != NULL)
    {
      CairnMonitor *recorder = CAIRN_MONITOR (get_recorder (self));

      pending = _cairn_monitor_find_pending (recorder, CAIRN_ENTITY_COLLECTION, collection_id,
                                             CAIRN_CHANGE_MOVE);
      if (pending == NULL)
        pending = _cairn_monitor_find_pending (recorder, CAIRN_ENTITY_COLLECTION, collection_id,
                                               CAIRN_CHANGE_REMOVE);
      _cairn_monitor_get_queued (recorder, &chunk_end);
    }
  if (pending != NULL)
    {
      moved = TRUE;
      moved_from = cairn_change_get_collection_id (pending);
    }
  for (guint i = 0; i < later->len; i++)
    {
      CairnChange *change = g_ptr_array_index (later, i);

      if (cairn_change_get_operation (change) == CAIRN_CHANGE_MOVE && !moved &&
          cairn_change_get_revision (change) > chunk_end)
        {
          moved = TRUE;
          moved_from = cairn_change_get_collection_id (change);
        }
      if (cairn_change_get_operation (change) == CAIRN_CHANGE_REMOVE)
        {
          collection = _cairn_change_to_collection (change);
          /* A move not replayed before the removal is never replayed
           * (the removal takes its place): the backend has the collection
           * where that move found it. */
          if (moved)
            cairn_collection_set_parent_id (collection, moved_from);
          return g_steal_pointer (&collection);
        }
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

/**
 * cairn_resource_dup_collection_remote_id:
 * @self: a #CairnResource
 * @collection_id: one of the resource's collections
 * @error: return location for an error
 *
 * The remote id of a collection, for a replay or retrieve method: the
 * collection as cairn_resource_get_collection() finds it, so also one
 * removed locally whose removal is still to come. A collection that has
 * none never reached the backend (its creation was not replayed, or
 * failed): that is %CAIRN_STORE_ERROR_NOT_FOUND, which a replay method
 * returns as it is — the change is then replayed as it stands, since
 * nothing of it is in the backend.
 *
 * Returns: (transfer full): the remote id, or %NULL with
 *   %CAIRN_STORE_ERROR_NOT_FOUND when the collection is unknown or never
 *   reached the backend, or another error
 *
 * Since: 0.1
 */
char *
cairn_resource_dup_collection_remote_id (CairnResource  *self,
                                         guint64         collection_id,
                                         GError        **error)
{
  g_autoptr(CairnCollection) collection = NULL;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  collection = cairn_resource_get_collection (self, collection_id, error);
  if (collection != NULL && cairn_collection_get_remote_id (collection) == NULL)
    g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
                 "Collection %" G_GUINT64_FORMAT " of resource %s never reached the backend",
                 collection_id, get_id (self));
  return collection != NULL ? g_strdup (cairn_collection_get_remote_id (collection)) : NULL;
}

/**
 * cairn_resource_get_pending_changes:
 * @self: a #CairnResource
 * @count: (out): local changes not yet replayed
 * @error: return location for an error
 *
 * Counts the local changes of the resource's collections still to be
 * replayed (the failed ones are not counted).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_resource_get_pending_changes (CairnResource  *self,
                                    guint64        *count,
                                    GError        **error)
{
  GPtrArray *changes, *items;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), FALSE);
  g_return_val_if_fail (count != NULL, FALSE);

  *count = 0;
  if (get_recorder (self) == NULL)
    return TRUE;
  if (!_cairn_store_count_pending_changes (get_store (self), recorder_revision (self),
                                           get_id (self), cairn_store_get_origin (get_store (self)),
                                           count, error))
    return FALSE;
  /* The log after the cursor may end with changes the recorder coalesced
   * away; what it holds is pending whatever the count says. */
  if (*count == 0 && get_held (self, &changes, &items))
    *count = 1;
  return TRUE;
}

/**
 * cairn_resource_list_failed_changes:
 * @self: a #CairnResource
 * @error: return location for an error
 *
 * Lists the changes whose replay failed for good, oldest first.
 *
 * Returns: (transfer container) (element-type CairnFailedChange): the
 *   failed changes, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
cairn_resource_list_failed_changes (CairnResource  *self,
                                    GError        **error)
{
  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);

  return _cairn_store_list_failed_changes (get_store (self), get_id (self), error);
}

typedef struct
{
  const char *consumer;
  const guint64 *ids;
  gsize n_ids;
} Retry;

static gboolean
retry_failed (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  Retry *retry = user_data;

  return _cairn_transaction_retry_failed_changes (transaction, retry->consumer, retry->ids,
                                                  retry->n_ids, error);
}

/**
 * cairn_resource_retry_failed_changes:
 * @self: a #CairnResource
 * @ids: (array length=n_ids) (nullable): failed change ids
 * @n_ids: the number of ids; 0 for every failed change
 * @error: return location for an error
 *
 * Records the failed changes again, after every change recorded so far,
 * so that they are replayed in turn. Unknown ids are ignored.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_resource_retry_failed_changes (CairnResource  *self,
                                     const guint64  *ids,
                                     gsize           n_ids,
                                     GError        **error)
{
  Retry retry = { NULL, ids, n_ids };
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), FALSE);
  g_return_val_if_fail (ids != NULL || n_ids == 0, FALSE);

  /* The changes keep their own origins, so the recorder meets them. */
  retry.consumer = get_id (self);
  ok = cairn_store_write_sync (get_store (self), retry_failed, &retry, NULL, NULL, error);
  update_failed_count (self);
  return ok;
}

/**
 * cairn_resource_discard_failed_changes:
 * @self: a #CairnResource
 * @ids: (array length=n_ids) (nullable): failed change ids
 * @n_ids: the number of ids; 0 for every failed change
 * @error: return location for an error
 *
 * Forgets failed changes: the backend keeps its version, and the next
 * sync brings it back into the store.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
cairn_resource_discard_failed_changes (CairnResource  *self,
                                       const guint64  *ids,
                                       gsize           n_ids,
                                       GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), FALSE);
  g_return_val_if_fail (ids != NULL || n_ids == 0, FALSE);

  ok = _cairn_store_remove_failed_changes (get_store (self), get_id (self), ids, n_ids, error);
  update_failed_count (self);
  return ok;
}

/**
 * cairn_resource_list_failed_collections:
 * @self: a #CairnResource
 *
 * Lists the collections whose last sync failed, by id; 0 stands for the
 * collection tree, when listing the collections failed (for instance
 * because the backend's root folder does not exist yet). Each is retried
 * with backoff, from twice the scheduler's retry delay up to its maximum
 * delay, and a successful sync of it clears it. They are kept in memory
 * only: a restarted resource syncs everything anyway.
 *
 * Returns: (transfer full) (element-type guint64): the collection ids,
 *   ascending
 *
 * Since: 0.1
 */
GArray *
cairn_resource_list_failed_collections (CairnResource *self)
{
  g_autoptr(GPtrArray) failures = NULL;
  GArray *ids;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);

  failures = sorted_failures (self);
  ids = g_array_sized_new (FALSE, FALSE, sizeof (guint64), failures->len);
  for (guint i = 0; i < failures->len; i++)
    g_array_append_val (ids, ((SyncFailure *) g_ptr_array_index (failures, i))->collection_id);
  return ids;
}

/**
 * cairn_resource_dup_sync_failure:
 * @self: a #CairnResource
 * @collection_id: a collection of the resource, or 0 for the collection
 *   tree
 *
 * Gets why the last sync of a collection failed, if it did.
 *
 * Returns: (transfer full) (nullable): why the last sync of the
 *   collection failed, or %NULL if it did not fail
 *
 * Since: 0.1
 */
char *
cairn_resource_dup_sync_failure (CairnResource *self,
                                 guint64        collection_id)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);
  SyncFailure *failure;

  g_return_val_if_fail (CAIRN_IS_RESOURCE (self), NULL);

  failure = g_hash_table_lookup (priv->sync_failures, &collection_id);
  return failure != NULL ? g_strdup (failure->reason) : NULL;
}

/**
 * cairn_resource_report_bad_credentials:
 * @self: a #CairnResource
 * @message: what the backend said, for the user
 *
 * Puts the resource in %CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS and holds
 * its work until the status changes (a reconfiguration, a new password).
 *
 * Since: 0.1
 */
void
cairn_resource_report_bad_credentials (CairnResource *self,
                                       const char    *message)
{
  CairnResourcePrivate *priv = cairn_resource_get_instance_private (self);

  g_return_if_fail (CAIRN_IS_RESOURCE (self));

  priv->locked_out = TRUE;
  cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS, message);
  on_online_changed (self);
}
