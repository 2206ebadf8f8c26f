/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* What every benchmark reports besides its timings. */

double cairn_bench_peak_rss_mb (void);
double cairn_bench_child_peak_rss_mb (GPid pid);

/* Processor time of this process so far, all threads, user and system,
 * in microseconds: on a machine shared with other work it varies far
 * less than the wall-clock time. */
gint64 cairn_bench_cpu_us (void);
gint64 cairn_bench_child_cpu_us (GPid pid);

/* The median of @values (doubles), which it sorts. */
double cairn_bench_median (GArray *values);
