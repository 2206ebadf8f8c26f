/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-clock.h"

/**
 * CairnClock:
 *
 * A source of monotonic time and one-shot timers, in microseconds.
 *
 * #CairnSystemClock is the real one; #CairnFakeClock is the one tests
 * advance by hand.
 *
 * Since: 0.1
 */

G_DEFINE_INTERFACE (CairnClock, cairn_clock, G_TYPE_OBJECT)

static void
cairn_clock_default_init (CairnClockInterface *iface)
{
}

/**
 * cairn_clock_get_time:
 * @clock: a #CairnClock
 *
 * Gets the current time of @clock. It never goes backwards; its origin is
 * unspecified.
 *
 * Returns: the time in microseconds
 *
 * Since: 0.1
 */
gint64
cairn_clock_get_time (CairnClock *clock)
{
  g_return_val_if_fail (CAIRN_IS_CLOCK (clock), 0);

  return CAIRN_CLOCK_GET_IFACE (clock)->get_time (clock);
}

/**
 * cairn_clock_add_timer:
 * @clock: a #CairnClock
 * @deadline: when to call @func, in the time of @clock, in microseconds
 * @func: (scope notified) (closure user_data) (destroy notify): the function to call
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data once the timer has fired or been removed
 *
 * Calls @func once, at or after @deadline. A deadline in the past fires as
 * soon as the clock gets the chance.
 *
 * Returns: the id of the timer, for cairn_clock_remove_timer(); never 0
 *
 * Since: 0.1
 */
guint
cairn_clock_add_timer (CairnClock     *clock,
                       gint64          deadline,
                       CairnClockFunc  func,
                       gpointer        user_data,
                       GDestroyNotify  notify)
{
  g_return_val_if_fail (CAIRN_IS_CLOCK (clock), 0);
  g_return_val_if_fail (func != NULL, 0);

  return CAIRN_CLOCK_GET_IFACE (clock)->add_timer (clock, deadline, func, user_data, notify);
}

/**
 * cairn_clock_remove_timer:
 * @clock: a #CairnClock
 * @timer_id: the id of a timer of @clock that has not fired yet
 *
 * Removes a pending timer; its function will not be called.
 *
 * Since: 0.1
 */
void
cairn_clock_remove_timer (CairnClock *clock,
                          guint       timer_id)
{
  g_return_if_fail (CAIRN_IS_CLOCK (clock));
  g_return_if_fail (timer_id != 0);

  CAIRN_CLOCK_GET_IFACE (clock)->remove_timer (clock, timer_id);
}
