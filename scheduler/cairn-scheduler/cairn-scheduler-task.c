/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cairn-scheduler-enum-types.h"
#include "cairn-scheduler-private.h"

/**
 * CairnSchedulerTask:
 *
 * One piece of work for a resource: what to do (the kind and its subject:
 * a collection, some items and parts, a custom name), which queue it waits
 * in, and, once given to a #CairnScheduler, where it is in its life.
 *
 * Tasks are created with one of the constructors and handed to
 * cairn_scheduler_queue() or cairn_scheduler_queue_async(). Two tasks are
 * equal when they have the same kind, queue and subject; equal tasks are
 * merged while queued. The resource receives the task in its
 * #CairnSchedulerRunFunc and tells how the run ended with
 * cairn_scheduler_task_report().
 *
 * Since: 0.1
 */

enum {
  PROP_0,
  PROP_KIND,
  PROP_QUEUE,
  PROP_COLLECTION_ID,
  PROP_NAME,
  PROP_PARTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CairnSchedulerTask, cairn_scheduler_task, G_TYPE_OBJECT)

static void
cairn_scheduler_task_finalize (GObject *object)
{
  CairnSchedulerTask *self = CAIRN_SCHEDULER_TASK (object);

  g_assert (self->scheduler == NULL);
  g_assert (self->waiters == NULL || self->waiters->len == 0);

  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->item_ids, g_free);
  g_clear_pointer (&self->parts, g_strfreev);

  G_OBJECT_CLASS (cairn_scheduler_task_parent_class)->finalize (object);
}

static void
cairn_scheduler_task_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  CairnSchedulerTask *self = CAIRN_SCHEDULER_TASK (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_enum (value, self->kind);
      break;

    case PROP_QUEUE:
      g_value_set_enum (value, self->queue);
      break;

    case PROP_COLLECTION_ID:
      g_value_set_int64 (value, self->collection_id);
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_PARTS:
      g_value_set_boxed (value, self->parts);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_scheduler_task_class_init (CairnSchedulerTaskClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_scheduler_task_finalize;
  object_class->get_property = cairn_scheduler_task_get_property;

  /**
   * CairnSchedulerTask:kind:
   *
   * What the task does.
   *
   * Since: 0.1
   */
  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL,
                       CAIRN_TYPE_SCHEDULER_TASK_KIND,
                       CAIRN_SCHEDULER_TASK_KIND_CUSTOM,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnSchedulerTask:queue:
   *
   * The queue the task waits in.
   *
   * Since: 0.1
   */
  properties[PROP_QUEUE] =
    g_param_spec_enum ("queue", NULL, NULL,
                       CAIRN_TYPE_SCHEDULER_QUEUE,
                       CAIRN_SCHEDULER_QUEUE_EXPLICIT,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnSchedulerTask:collection-id:
   *
   * The collection a collection sync synchronizes, the target of a custom
   * task, or -1.
   *
   * Since: 0.1
   */
  properties[PROP_COLLECTION_ID] =
    g_param_spec_int64 ("collection-id", NULL, NULL,
                        -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnSchedulerTask:name:
   *
   * The name of a custom task, or %NULL.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CairnSchedulerTask:parts:
   *
   * The parts a fetch retrieves, sorted, or %NULL for other kinds.
   *
   * Since: 0.1
   */
  properties[PROP_PARTS] =
    g_param_spec_boxed ("parts", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_scheduler_task_init (CairnSchedulerTask *self)
{
  self->link.data = self;
  self->collection_id = -1;
  self->retry_time = -1;
}

static CairnSchedulerQueue
queue_for_kind (CairnSchedulerTaskKind kind)
{
  switch (kind)
    {
    case CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY:
      return CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY;

    case CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS:
      return CAIRN_SCHEDULER_QUEUE_USER;

    case CAIRN_SCHEDULER_TASK_KIND_INTERVAL_SYNC:
    case CAIRN_SCHEDULER_TASK_KIND_CACHE_EXPIRY:
      return CAIRN_SCHEDULER_QUEUE_BACKGROUND;

    case CAIRN_SCHEDULER_TASK_KIND_SYNC_ALL:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION_TREE:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_TAGS:
    case CAIRN_SCHEDULER_TASK_KIND_SYNC_RELATIONS:
    case CAIRN_SCHEDULER_TASK_KIND_CUSTOM:
    default:
      return CAIRN_SCHEDULER_QUEUE_EXPLICIT;
    }
}

static guint
mix_hash (guint   hash,
          guint64 value)
{
  return (hash ^ (guint) value ^ (guint) (value >> 32)) * 16777619u;
}

static CairnSchedulerTask *
task_new (CairnSchedulerTaskKind kind,
          CairnSchedulerQueue    queue,
          gint64                 collection_id)
{
  CairnSchedulerTask *self = g_object_new (CAIRN_TYPE_SCHEDULER_TASK, NULL);

  self->kind = kind;
  self->queue = queue;
  self->collection_id = collection_id;
  self->hash = mix_hash (mix_hash (mix_hash (2166136261u, kind), queue), collection_id);

  return self;
}

/**
 * cairn_scheduler_task_new:
 * @kind: a kind without a subject: change replay, sync all, collection tree,
 *   tags, relations, interval sync or cache expiry
 *
 * Creates a task of @kind in the queue that kind belongs to. Collection
 * syncs, fetches and custom tasks have constructors of their own.
 *
 * Returns: (transfer full): a new #CairnSchedulerTask
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_task_new (CairnSchedulerTaskKind kind)
{
  g_return_val_if_fail (kind >= CAIRN_SCHEDULER_TASK_KIND_CHANGE_REPLAY &&
                        kind < CAIRN_SCHEDULER_N_KINDS, NULL);
  g_return_val_if_fail (kind != CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION &&
                        kind != CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS &&
                        kind != CAIRN_SCHEDULER_TASK_KIND_CUSTOM, NULL);

  return task_new (kind, queue_for_kind (kind), -1);
}

/**
 * cairn_scheduler_task_new_sync_collection:
 * @collection_id: the collection to synchronize
 *
 * Creates a task that synchronizes the items of one collection.
 *
 * Returns: (transfer full): a new #CairnSchedulerTask
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_task_new_sync_collection (gint64 collection_id)
{
  g_return_val_if_fail (collection_id >= 0, NULL);

  return task_new (CAIRN_SCHEDULER_TASK_KIND_SYNC_COLLECTION,
                   CAIRN_SCHEDULER_QUEUE_EXPLICIT, collection_id);
}

static gint
compare_ids (gconstpointer a,
             gconstpointer b)
{
  gint64 ia = *(const gint64 *) a;
  gint64 ib = *(const gint64 *) b;

  return ia < ib ? -1 : (ia > ib);
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * cairn_scheduler_task_new_fetch_parts:
 * @item_ids: (array length=n_items): the items whose parts to fetch
 * @n_items: the number of items, at least one
 * @parts: (array zero-terminated=1): the names of the parts to fetch, at least one
 *
 * Creates a task that fetches missing parts of some items, in the user
 * queue. Items and parts are kept sorted without duplicates, so fetches of
 * the same items and parts given in another order are equal.
 *
 * Returns: (transfer full): a new #CairnSchedulerTask
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_task_new_fetch_parts (const gint64       *item_ids,
                                      gsize               n_items,
                                      const char * const *parts)
{
  CairnSchedulerTask *self;
  guint n_unique = 0;
  guint n_parts = 0;
  guint hash;

  g_return_val_if_fail (item_ids != NULL && n_items > 0 && n_items <= G_MAXUINT, NULL);
  g_return_val_if_fail (parts != NULL && parts[0] != NULL, NULL);

  self = task_new (CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS, CAIRN_SCHEDULER_QUEUE_USER, -1);

  self->item_ids = g_memdup2 (item_ids, n_items * sizeof (gint64));
  qsort (self->item_ids, n_items, sizeof (gint64), compare_ids);
  for (gsize i = 0; i < n_items; i++)
    if (n_unique == 0 || self->item_ids[n_unique - 1] != self->item_ids[i])
      self->item_ids[n_unique++] = self->item_ids[i];
  self->n_items = n_unique;

  self->parts = g_strdupv ((char **) parts);
  qsort (self->parts, g_strv_length (self->parts), sizeof (char *), compare_strings);
  for (guint i = 0; self->parts[i] != NULL; i++)
    {
      if (n_parts > 0 && g_str_equal (self->parts[n_parts - 1], self->parts[i]))
        g_free (self->parts[i]);
      else
        self->parts[n_parts++] = self->parts[i];
    }
  self->parts[n_parts] = NULL;

  hash = self->hash;
  for (guint i = 0; i < self->n_items; i++)
    hash = mix_hash (hash, self->item_ids[i]);
  for (guint i = 0; self->parts[i] != NULL; i++)
    hash = mix_hash (hash, g_str_hash (self->parts[i]));
  self->hash = hash;

  return self;
}

/**
 * cairn_scheduler_task_new_custom:
 * @name: what the task does, as the resource names it
 * @queue: the queue the task waits in
 * @target_id: what the task works on, as the resource numbers it, or -1
 *
 * Creates a task the resource defines itself. Custom tasks with the same
 * name, queue and target are equal.
 *
 * Returns: (transfer full): a new #CairnSchedulerTask
 *
 * Since: 0.1
 */
CairnSchedulerTask *
cairn_scheduler_task_new_custom (const char          *name,
                                 CairnSchedulerQueue  queue,
                                 gint64               target_id)
{
  CairnSchedulerTask *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (queue >= CAIRN_SCHEDULER_QUEUE_CHANGE_REPLAY &&
                        queue < CAIRN_SCHEDULER_N_QUEUES, NULL);
  g_return_val_if_fail (target_id >= -1, NULL);

  self = task_new (CAIRN_SCHEDULER_TASK_KIND_CUSTOM, queue, target_id);
  self->name = g_strdup (name);
  self->hash = mix_hash (self->hash, g_str_hash (name));

  return self;
}

guint
_cairn_scheduler_task_hash (gconstpointer task)
{
  return ((const CairnSchedulerTask *) task)->hash;
}

gboolean
_cairn_scheduler_task_equal (gconstpointer a,
                             gconstpointer b)
{
  const CairnSchedulerTask *ta = a;
  const CairnSchedulerTask *tb = b;

  if (ta->hash != tb->hash ||
      ta->kind != tb->kind ||
      ta->queue != tb->queue ||
      ta->collection_id != tb->collection_id ||
      g_strcmp0 (ta->name, tb->name) != 0 ||
      ta->n_items != tb->n_items)
    return FALSE;

  if (ta->n_items > 0 && memcmp (ta->item_ids, tb->item_ids, ta->n_items * sizeof (gint64)) != 0)
    return FALSE;

  if (ta->parts == NULL || tb->parts == NULL)
    return ta->parts == tb->parts;

  return g_strv_equal ((const char * const *) ta->parts, (const char * const *) tb->parts);
}

gboolean
_cairn_scheduler_task_covers (CairnSchedulerTask *running,
                              CairnSchedulerTask *request)
{
  guint i = 0;

  if (running->kind != CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS ||
      request->kind != CAIRN_SCHEDULER_TASK_KIND_FETCH_PARTS)
    return FALSE;

  /* Both lists are sorted: walk them together. */
  for (guint j = 0; j < request->n_items; j++)
    {
      while (i < running->n_items && running->item_ids[i] < request->item_ids[j])
        i++;
      if (i == running->n_items || running->item_ids[i] != request->item_ids[j])
        return FALSE;
    }

  i = 0;
  for (guint j = 0; request->parts[j] != NULL; j++)
    {
      while (running->parts[i] != NULL && strcmp (running->parts[i], request->parts[j]) < 0)
        i++;
      if (running->parts[i] == NULL || !g_str_equal (running->parts[i], request->parts[j]))
        return FALSE;
    }

  return TRUE;
}

/**
 * cairn_scheduler_task_get_kind:
 * @self: a #CairnSchedulerTask
 *
 * Gets what @self does.
 *
 * Returns: the kind of @self
 *
 * Since: 0.1
 */
CairnSchedulerTaskKind
cairn_scheduler_task_get_kind (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), CAIRN_SCHEDULER_TASK_KIND_CUSTOM);

  return self->kind;
}

/**
 * cairn_scheduler_task_get_queue:
 * @self: a #CairnSchedulerTask
 *
 * Gets the queue @self waits in.
 *
 * Returns: the queue of @self
 *
 * Since: 0.1
 */
CairnSchedulerQueue
cairn_scheduler_task_get_queue (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), CAIRN_SCHEDULER_QUEUE_EXPLICIT);

  return self->queue;
}

/**
 * cairn_scheduler_task_get_state:
 * @self: a #CairnSchedulerTask
 *
 * Gets where @self is in its life. The #CairnScheduler::task-started and
 * #CairnScheduler::task-finished signals tell when it starts and ends.
 *
 * Returns: the state of @self
 *
 * Since: 0.1
 */
CairnSchedulerTaskState
cairn_scheduler_task_get_state (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), CAIRN_SCHEDULER_TASK_STATE_NEW);

  return self->state;
}

/**
 * cairn_scheduler_task_get_collection_id:
 * @self: a #CairnSchedulerTask
 *
 * Gets the collection a collection sync synchronizes, or the target of a
 * custom task.
 *
 * Returns: the id, or -1 if @self has none
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_task_get_collection_id (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), -1);

  return self->collection_id;
}

/**
 * cairn_scheduler_task_get_name:
 * @self: a #CairnSchedulerTask
 *
 * Gets the name of a custom task.
 *
 * Returns: (nullable): the name, or %NULL if @self is not a custom task
 *
 * Since: 0.1
 */
const char *
cairn_scheduler_task_get_name (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);

  return self->name;
}

/**
 * cairn_scheduler_task_get_item_ids:
 * @self: a #CairnSchedulerTask
 * @n_items: (out): where to store the number of items
 *
 * Gets the items a fetch retrieves parts of, sorted, without duplicates.
 *
 * Returns: (array length=n_items) (nullable): the item ids, or %NULL if
 *   @self is not a fetch
 *
 * Since: 0.1
 */
const gint64 *
cairn_scheduler_task_get_item_ids (CairnSchedulerTask *self,
                                   gsize              *n_items)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);
  g_return_val_if_fail (n_items != NULL, NULL);

  *n_items = self->n_items;

  return self->item_ids;
}

/**
 * cairn_scheduler_task_get_parts:
 * @self: a #CairnSchedulerTask
 *
 * Gets the parts a fetch retrieves, sorted, without duplicates.
 *
 * Returns: (array zero-terminated=1) (nullable): the part names, or %NULL if
 *   @self is not a fetch
 *
 * Since: 0.1
 */
const char * const *
cairn_scheduler_task_get_parts (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);

  return (const char * const *) self->parts;
}

/**
 * cairn_scheduler_task_get_attempt:
 * @self: a #CairnSchedulerTask
 *
 * Gets how many times @self has been started; deferrals do not count.
 *
 * Returns: the number of attempts so far
 *
 * Since: 0.1
 */
guint
cairn_scheduler_task_get_attempt (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), 0);

  return self->attempt;
}

/**
 * cairn_scheduler_task_get_retry_time:
 * @self: a #CairnSchedulerTask
 *
 * Gets when a task waiting after a transient failure goes back to its
 * queue, in the time of the scheduler's #CairnClock.
 *
 * Returns: the time in microseconds, or -1 if @self is not waiting to retry
 *
 * Since: 0.1
 */
gint64
cairn_scheduler_task_get_retry_time (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), -1);

  return self->state == CAIRN_SCHEDULER_TASK_STATE_WAITING_RETRY ? self->retry_time : -1;
}

/**
 * cairn_scheduler_task_get_n_waiters:
 * @self: a #CairnSchedulerTask
 *
 * Counts the requests that wait for the end of @self (those given with a
 * callback to cairn_scheduler_queue_async(), including the ones merged
 * into @self) and have not been answered yet.
 *
 * Returns: the number of waiters
 *
 * Since: 0.1
 */
guint
cairn_scheduler_task_get_n_waiters (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), 0);

  return self->waiters != NULL ? self->waiters->len : 0;
}

/**
 * cairn_scheduler_task_get_error:
 * @self: a #CairnSchedulerTask
 *
 * Gets why a finished task failed.
 *
 * Returns: (nullable): the error, or %NULL if @self has not finished or
 *   finished well
 *
 * Since: 0.1
 */
const GError *
cairn_scheduler_task_get_error (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);

  return self->error;
}

/**
 * cairn_scheduler_task_get_cancellable:
 * @self: a #CairnSchedulerTask
 *
 * Gets the cancellable of @self, cancelled when the task is cancelled or
 * times out while it runs. The resource passes it to the operations it
 * starts for the task.
 *
 * Returns: (transfer none): a #GCancellable
 *
 * Since: 0.1
 */
GCancellable *
cairn_scheduler_task_get_cancellable (CairnSchedulerTask *self)
{
  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);

  if (self->cancellable == NULL)
    {
      self->cancellable = g_cancellable_new ();
      if (self->cancel_requested || self->abandoned)
        g_cancellable_cancel (self->cancellable);
    }

  return self->cancellable;
}

static const char *
enum_nick (GType type,
           gint  value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value (klass, value);

  return enum_value != NULL ? enum_value->value_nick : "unknown";
}

/**
 * cairn_scheduler_task_describe:
 * @self: a #CairnSchedulerTask
 *
 * Describes @self in one line for logs and status displays, such as
 * `sync-collection 12` or `fetch-parts items=4,9 parts=body`.
 *
 * Returns: (transfer full): the description
 *
 * Since: 0.1
 */
char *
cairn_scheduler_task_describe (CairnSchedulerTask *self)
{
  GString *text;

  g_return_val_if_fail (CAIRN_IS_SCHEDULER_TASK (self), NULL);

  text = g_string_new (enum_nick (CAIRN_TYPE_SCHEDULER_TASK_KIND, self->kind));

  if (self->name != NULL)
    g_string_append_printf (text, " \"%s\" in %s", self->name,
                            enum_nick (CAIRN_TYPE_SCHEDULER_QUEUE, self->queue));
  if (self->collection_id >= 0)
    g_string_append_printf (text, " %" G_GINT64_FORMAT, self->collection_id);
  if (self->n_items > 0)
    {
      g_string_append (text, " items=");
      for (guint i = 0; i < self->n_items && i < 8; i++)
        g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "", self->item_ids[i]);
      if (self->n_items > 8)
        g_string_append_printf (text, ",…(%u in all)", self->n_items);
    }
  if (self->parts != NULL)
    {
      g_autofree char *parts = g_strjoinv (",", self->parts);

      g_string_append_printf (text, " parts=%s", parts);
    }

  return g_string_free (text, FALSE);
}

/**
 * cairn_scheduler_task_report:
 * @self: a running #CairnSchedulerTask
 * @outcome: how the run ended
 * @error: (nullable): why it failed, for the failure outcomes
 *
 * Tells the scheduler how the run of @self ended. The resource calls it
 * exactly once per run, from the scheduler's thread, either from within its
 * #CairnSchedulerRunFunc or later. A report for a run the scheduler already
 * ended (the watchdog fired, or the task was cancelled and finished) is
 * ignored.
 *
 * Since: 0.1
 */
void
cairn_scheduler_task_report (CairnSchedulerTask    *self,
                             CairnSchedulerOutcome  outcome,
                             const GError          *error)
{
  g_return_if_fail (CAIRN_IS_SCHEDULER_TASK (self));
  g_return_if_fail (outcome >= CAIRN_SCHEDULER_OUTCOME_DONE &&
                    outcome <= CAIRN_SCHEDULER_OUTCOME_DEFERRED);

  if (self->state != CAIRN_SCHEDULER_TASK_STATE_RUNNING)
    {
      g_return_if_fail (self->abandoned);
      g_debug ("Ignoring the late report of an abandoned run of task %" G_GUINT64_FORMAT,
               self->serial);
      return;
    }

  _cairn_scheduler_report (self->scheduler, self, outcome, error);
}
