/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the control suites share: a temporary home, a private session
 * bus, cairn-control started from the build tree, and calls to it. */
#pragma once

#include <gio/gio.h>

extern char *fixture_dir;

void      control_fixture_setup      (void);
void      control_fixture_teardown   (void);
char     *fixture_path               (const char  *first,
                                      const char  *second);
void      fixture_write_file         (const char  *path,
                                      const char  *contents);
GPid      control_start              (const char  *option);
int       control_wait_exit          (GPid         pid);
gboolean  control_has_name           (void);
GVariant *control_call               (const char  *method,
                                      GVariant    *parameters,
                                      const char  *reply_type,
                                      GError     **error);
GVariant *control_find_instance      (const char  *id);
gboolean  fixture_wait_until         (gboolean   (*condition) (gpointer data),
                                      gpointer     data);
gboolean  fixture_process_gone       (GPid         pid);
char     *fixture_create_logging     (const char  *log_file);
