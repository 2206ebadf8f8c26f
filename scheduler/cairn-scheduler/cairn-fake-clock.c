/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-fake-clock.h"

/**
 * CairnFakeClock:
 *
 * A #CairnClock whose time only moves when told to, for tests.
 *
 * Timers fire from within cairn_fake_clock_advance() and
 * cairn_fake_clock_set_time(), in the order of their deadlines (timers with
 * the same deadline in the order they were added), and the clock reads each
 * timer's deadline while its function runs, so a timer added from a timer
 * function is relative to the moment it fired.
 *
 * Since: 0.1
 */

struct _CairnFakeClock
{
  GObject  parent_instance;

  gint64   now;
  GQueue   timers;    /* FakeTimer, sorted by deadline then id */
  guint    last_id;
};

typedef struct
{
  guint          id;
  gint64         deadline;
  CairnClockFunc func;
  gpointer       user_data;
  GDestroyNotify notify;
} FakeTimer;

static void cairn_fake_clock_iface_init (CairnClockInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnFakeClock, cairn_fake_clock, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_CLOCK,
                                                      cairn_fake_clock_iface_init))

static void
fake_timer_free (FakeTimer *timer)
{
  if (timer->notify != NULL)
    timer->notify (timer->user_data);
  g_free (timer);
}

static gint
fake_timer_compare (gconstpointer a,
                    gconstpointer b,
                    gpointer      user_data)
{
  const FakeTimer *ta = a;
  const FakeTimer *tb = b;

  if (ta->deadline != tb->deadline)
    return ta->deadline < tb->deadline ? -1 : 1;

  return ta->id < tb->id ? -1 : (ta->id > tb->id);
}

static gint64
cairn_fake_clock_get_time (CairnClock *clock)
{
  return CAIRN_FAKE_CLOCK (clock)->now;
}

static guint
cairn_fake_clock_add_timer (CairnClock     *clock,
                            gint64          deadline,
                            CairnClockFunc  func,
                            gpointer        user_data,
                            GDestroyNotify  notify)
{
  CairnFakeClock *self = CAIRN_FAKE_CLOCK (clock);
  FakeTimer *timer = g_new0 (FakeTimer, 1);

  timer->id = ++self->last_id;
  timer->deadline = deadline;
  timer->func = func;
  timer->user_data = user_data;
  timer->notify = notify;
  g_queue_insert_sorted (&self->timers, timer, fake_timer_compare, NULL);

  return timer->id;
}

static void
cairn_fake_clock_remove_timer (CairnClock *clock,
                               guint       timer_id)
{
  CairnFakeClock *self = CAIRN_FAKE_CLOCK (clock);

  for (GList *l = self->timers.head; l != NULL; l = l->next)
    {
      FakeTimer *timer = l->data;

      if (timer->id == timer_id)
        {
          g_queue_delete_link (&self->timers, l);
          fake_timer_free (timer);
          return;
        }
    }

  g_critical ("%s: no pending timer %u", G_STRFUNC, timer_id);
}

static void
cairn_fake_clock_iface_init (CairnClockInterface *iface)
{
  iface->get_time = cairn_fake_clock_get_time;
  iface->add_timer = cairn_fake_clock_add_timer;
  iface->remove_timer = cairn_fake_clock_remove_timer;
}

static void
cairn_fake_clock_dispose (GObject *object)
{
  CairnFakeClock *self = CAIRN_FAKE_CLOCK (object);

  g_queue_clear_full (&self->timers, (GDestroyNotify) fake_timer_free);

  G_OBJECT_CLASS (cairn_fake_clock_parent_class)->dispose (object);
}

static void
cairn_fake_clock_class_init (CairnFakeClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_fake_clock_dispose;
}

static void
cairn_fake_clock_init (CairnFakeClock *self)
{
  g_queue_init (&self->timers);
}

/**
 * cairn_fake_clock_new:
 * @start: the initial time, in microseconds
 *
 * Creates a clock that stands still at @start until advanced.
 *
 * Returns: (transfer full): a new #CairnFakeClock
 *
 * Since: 0.1
 */
CairnClock *
cairn_fake_clock_new (gint64 start)
{
  CairnFakeClock *self = g_object_new (CAIRN_TYPE_FAKE_CLOCK, NULL);

  self->now = start;

  return CAIRN_CLOCK (self);
}

/**
 * cairn_fake_clock_set_time:
 * @self: a #CairnFakeClock
 * @time: the new time, not before the current one
 *
 * Moves the clock to @time, firing every timer whose deadline is at or
 * before @time, including timers those timers add.
 *
 * Since: 0.1
 */
void
cairn_fake_clock_set_time (CairnFakeClock *self,
                           gint64          time)
{
  g_return_if_fail (CAIRN_IS_FAKE_CLOCK (self));
  g_return_if_fail (time >= self->now);

  g_object_ref (self);

  while (self->timers.head != NULL)
    {
      FakeTimer *timer = self->timers.head->data;

      if (timer->deadline > time)
        break;

      g_queue_pop_head (&self->timers);
      self->now = MAX (self->now, timer->deadline);
      timer->func (timer->user_data);
      fake_timer_free (timer);
    }

  self->now = time;

  g_object_unref (self);
}

/**
 * cairn_fake_clock_advance:
 * @self: a #CairnFakeClock
 * @usec: how far to move, in microseconds, not negative
 *
 * Moves the clock forward by @usec; see cairn_fake_clock_set_time().
 *
 * Since: 0.1
 */
void
cairn_fake_clock_advance (CairnFakeClock *self,
                          gint64          usec)
{
  g_return_if_fail (CAIRN_IS_FAKE_CLOCK (self));
  g_return_if_fail (usec >= 0);

  cairn_fake_clock_set_time (self, self->now + usec);
}

/**
 * cairn_fake_clock_get_next_deadline:
 * @self: a #CairnFakeClock
 *
 * Gets the deadline of the timer that fires next.
 *
 * Returns: the deadline in microseconds, or -1 if no timer is pending
 *
 * Since: 0.1
 */
gint64
cairn_fake_clock_get_next_deadline (CairnFakeClock *self)
{
  g_return_val_if_fail (CAIRN_IS_FAKE_CLOCK (self), -1);

  if (self->timers.head == NULL)
    return -1;

  return ((FakeTimer *) self->timers.head->data)->deadline;
}

/**
 * cairn_fake_clock_get_n_timers:
 * @self: a #CairnFakeClock
 *
 * Counts the timers that have not fired yet.
 *
 * Returns: the number of pending timers
 *
 * Since: 0.1
 */
guint
cairn_fake_clock_get_n_timers (CairnFakeClock *self)
{
  g_return_val_if_fail (CAIRN_IS_FAKE_CLOCK (self), 0);

  return self->timers.length;
}
