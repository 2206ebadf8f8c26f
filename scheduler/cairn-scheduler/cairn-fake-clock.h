/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <glib-object.h>

#include <cairn-scheduler/cairn-clock.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_FAKE_CLOCK (cairn_fake_clock_get_type ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnFakeClock, cairn_fake_clock, CAIRN, FAKE_CLOCK, GObject)

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnClock *cairn_fake_clock_new               (gint64          start);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void        cairn_fake_clock_advance           (CairnFakeClock *self,
                                                gint64          usec);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
void        cairn_fake_clock_set_time          (CairnFakeClock *self,
                                                gint64          time);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
gint64      cairn_fake_clock_get_next_deadline (CairnFakeClock *self);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
guint       cairn_fake_clock_get_n_timers      (CairnFakeClock *self);

G_END_DECLS
