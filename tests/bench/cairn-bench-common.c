/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cairn-bench-common.h"

static double
read_peak_rss_mb (const char *path)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents (path, &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmHWM:");
  if (line == NULL)
    return -1;

  return g_ascii_strtod (line + strlen ("VmHWM:"), NULL) / 1024.0;
}

/* The peak resident set of this process (VmHWM), in MiB; -1 if the kernel
 * does not tell. */
double
cairn_bench_peak_rss_mb (void)
{
  return read_peak_rss_mb ("/proc/self/status");
}

/* The same for a running child process, such as an agent's host. */
double
cairn_bench_child_peak_rss_mb (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);

  return read_peak_rss_mb (path);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
cairn_bench_median (GArray *values)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, values->len / 2);
}

/* cairn_bench_cpu_us() of a running child process, such as an agent's
 * host, from its /proc/PID/stat: the times of all its threads, the
 * ended ones too, counted in clock ticks. -1 if the kernel does not
 * tell. */
gint64
cairn_bench_child_cpu_us (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return -1;
  /* The name, in parentheses, may hold spaces and parentheses. */
  after_name = strrchr (stat, ')');
  if (after_name == NULL)
    return -1;
  fields = g_strsplit (after_name + 2, " ", 0);
  /* utime and stime: fields 14 and 15, the 12th and 13th after the name. */
  if (g_strv_length (fields) < 13)
    return -1;
  return (g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10)) *
         G_USEC_PER_SEC / sysconf (_SC_CLK_TCK);
}

gint64
cairn_bench_cpu_us (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * G_USEC_PER_SEC +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}
