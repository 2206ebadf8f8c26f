/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_SCHEDULER_H_INSIDE__) && !defined (CAIRN_SCHEDULER_COMPILATION)
# error "Only <cairn-scheduler/cairn-scheduler.h> can be included directly."
#endif

#include <glib.h>

#ifndef _CAIRN_SCHEDULER_EXTERN
# define _CAIRN_SCHEDULER_EXTERN __attribute__ ((visibility ("default"))) extern
#endif

/**
 * CAIRN_SCHEDULER_AVAILABLE_IN_ALL:
 *
 * Marks a symbol exported by the scheduler library since its first version.
 *
 * Since: 0.1
 */
#define CAIRN_SCHEDULER_AVAILABLE_IN_ALL _CAIRN_SCHEDULER_EXTERN
