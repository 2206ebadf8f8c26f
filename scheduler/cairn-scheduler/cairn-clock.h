/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <glib-object.h>

#include <cairn-scheduler/cairn-scheduler-version-macros.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_CLOCK (cairn_clock_get_type ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (CairnClock, cairn_clock, CAIRN, CLOCK, GObject)

/**
 * CairnClockFunc:
 * @user_data: the data given to cairn_clock_add_timer()
 *
 * Called once when a timer of a #CairnClock expires.
 *
 * Since: 0.1
 */
typedef void (*CairnClockFunc) (gpointer user_data);

/**
 * CairnClockInterface:
 * @get_time: returns the current time in microseconds
 * @add_timer: arranges for a function to be called once at or after a deadline
 * @remove_timer: removes a timer that has not fired yet
 *
 * The time source of a scheduler: every timer the scheduler uses (backoff,
 * watchdog, interval) goes through it, so tests can replace real time with
 * a #CairnFakeClock they advance by hand.
 *
 * Since: 0.1
 */
struct _CairnClockInterface
{
  GTypeInterface parent_iface;

  gint64 (*get_time)     (CairnClock     *clock);
  guint  (*add_timer)    (CairnClock     *clock,
                          gint64          deadline,
                          CairnClockFunc  func,
                          gpointer        user_data,
                          GDestroyNotify  notify);
  void   (*remove_timer) (CairnClock     *clock,
                          guint           timer_id);
};

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64 cairn_clock_get_time     (CairnClock     *clock);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint  cairn_clock_add_timer    (CairnClock     *clock,
                                 gint64          deadline,
                                 CairnClockFunc  func,
                                 gpointer        user_data,
                                 GDestroyNotify  notify);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void   cairn_clock_remove_timer (CairnClock     *clock,
                                 guint           timer_id);

G_END_DECLS
