/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-system-clock.h"

/**
 * CairnSystemClock:
 *
 * The real #CairnClock: g_get_monotonic_time(), and timers that are sources
 * of a #GMainContext.
 *
 * Since: 0.1
 */

struct _CairnSystemClock
{
  GObject       parent_instance;

  GMainContext *context;
  GHashTable   *timers;   /* id → TimerSource, owning a reference */
  guint         last_id;
};

typedef struct
{
  GSource            source;
  CairnSystemClock  *clock;
  guint              id;
  CairnClockFunc     func;
  gpointer           user_data;
  GDestroyNotify     notify;
} TimerSource;

enum {
  PROP_0,
  PROP_MAIN_CONTEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_system_clock_iface_init (CairnClockInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnSystemClock, cairn_system_clock, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_CLOCK,
                                                      cairn_system_clock_iface_init))

static gboolean
timer_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  TimerSource *timer = (TimerSource *) source;

  /* The main loop holds its own reference while dispatching. */
  g_hash_table_remove (timer->clock->timers, GUINT_TO_POINTER (timer->id));
  timer->func (timer->user_data);

  return G_SOURCE_REMOVE;
}

static void
timer_source_finalize (GSource *source)
{
  TimerSource *timer = (TimerSource *) source;

  if (timer->notify != NULL)
    timer->notify (timer->user_data);
}

static GSourceFuncs timer_source_funcs = {
  .dispatch = timer_source_dispatch,
  .finalize = timer_source_finalize,
};

static void
destroy_timer_source (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

static gint64
cairn_system_clock_get_time (CairnClock *clock)
{
  return g_get_monotonic_time ();
}

static guint
cairn_system_clock_add_timer (CairnClock     *clock,
                              gint64          deadline,
                              CairnClockFunc  func,
                              gpointer        user_data,
                              GDestroyNotify  notify)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (clock);
  TimerSource *timer;

  timer = (TimerSource *) g_source_new (&timer_source_funcs, sizeof (TimerSource));
  timer->clock = self;
  timer->func = func;
  timer->user_data = user_data;
  timer->notify = notify;

  do
    timer->id = ++self->last_id;
  while (timer->id == 0 || g_hash_table_contains (self->timers, GUINT_TO_POINTER (timer->id)));

  g_source_set_static_name ((GSource *) timer, "[cairn] clock timer");
  g_source_set_ready_time ((GSource *) timer, MAX (deadline, 0));
  g_hash_table_insert (self->timers, GUINT_TO_POINTER (timer->id), timer);
  g_source_attach ((GSource *) timer, self->context);

  return timer->id;
}

static void
cairn_system_clock_remove_timer (CairnClock *clock,
                                 guint       timer_id)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (clock);

  if (!g_hash_table_remove (self->timers, GUINT_TO_POINTER (timer_id)))
    g_critical ("%s: no pending timer %u", G_STRFUNC, timer_id);
}

static void
cairn_system_clock_iface_init (CairnClockInterface *iface)
{
  iface->get_time = cairn_system_clock_get_time;
  iface->add_timer = cairn_system_clock_add_timer;
  iface->remove_timer = cairn_system_clock_remove_timer;
}

static void
cairn_system_clock_constructed (GObject *object)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (object);

  G_OBJECT_CLASS (cairn_system_clock_parent_class)->constructed (object);

  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
}

static void
cairn_system_clock_dispose (GObject *object)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (object);

  g_hash_table_remove_all (self->timers);

  G_OBJECT_CLASS (cairn_system_clock_parent_class)->dispose (object);
}

static void
cairn_system_clock_finalize (GObject *object)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (object);

  g_clear_pointer (&self->timers, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (cairn_system_clock_parent_class)->finalize (object);
}

static void
cairn_system_clock_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (object);

  switch (prop_id)
    {
    case PROP_MAIN_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_system_clock_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  CairnSystemClock *self = CAIRN_SYSTEM_CLOCK (object);

  switch (prop_id)
    {
    case PROP_MAIN_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_system_clock_class_init (CairnSystemClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cairn_system_clock_constructed;
  object_class->dispose = cairn_system_clock_dispose;
  object_class->finalize = cairn_system_clock_finalize;
  object_class->get_property = cairn_system_clock_get_property;
  object_class->set_property = cairn_system_clock_set_property;

  /**
   * CairnSystemClock:main-context:
   *
   * The context the timers are attached to; the thread-default context of
   * the thread that created the clock unless given.
   *
   * Since: 0.1
   */
  properties[PROP_MAIN_CONTEXT] =
    g_param_spec_boxed ("main-context", NULL, NULL,
                        G_TYPE_MAIN_CONTEXT,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_system_clock_init (CairnSystemClock *self)
{
  self->timers = g_hash_table_new_full (NULL, NULL, NULL, destroy_timer_source);
}

/**
 * cairn_system_clock_new:
 * @context: (nullable): the context to attach timers to, or %NULL for the
 *   thread-default context
 *
 * Creates a clock that reads the monotonic time of the system.
 *
 * Returns: (transfer full): a new #CairnSystemClock
 *
 * Since: 0.1
 */
CairnClock *
cairn_system_clock_new (GMainContext *context)
{
  return g_object_new (CAIRN_TYPE_SYSTEM_CLOCK, "main-context", context, NULL);
}

/**
 * cairn_system_clock_get_main_context:
 * @self: a #CairnSystemClock
 *
 * Gets the context the timers of @self are attached to.
 *
 * Returns: (transfer none): a #GMainContext
 *
 * Since: 0.1
 */
GMainContext *
cairn_system_clock_get_main_context (CairnSystemClock *self)
{
  g_return_val_if_fail (CAIRN_IS_SYSTEM_CLOCK (self), NULL);

  return self->context;
}
