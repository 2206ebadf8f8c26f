/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <glib-object.h>

#include <cairn-scheduler/cairn-clock.h>

G_BEGIN_DECLS

#define CAIRN_TYPE_SYSTEM_CLOCK (cairn_system_clock_get_type ())

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnSystemClock, cairn_system_clock, CAIRN, SYSTEM_CLOCK, GObject)

CAIRN_SCHEDULER_AVAILABLE_IN_ALL
CairnClock   *cairn_system_clock_new              (GMainContext     *context);
CAIRN_SCHEDULER_AVAILABLE_IN_ALL
GMainContext *cairn_system_clock_get_main_context (CairnSystemClock *self);

G_END_DECLS
