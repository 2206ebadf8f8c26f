/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* What every benchmark reports besides its timings. */

double cairn_bench_peak_rss_mb (void);
double cairn_bench_child_peak_rss_mb (GPid pid);

/* The median of @values (doubles), which it sorts. */
double cairn_bench_median (GArray *values);
