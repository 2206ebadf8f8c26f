/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

#include "cairn-test-control.h"

G_BEGIN_DECLS

GBytes   *_cairn_test_read_part              (CairnStore          *store,
                                              guint64              item_id,
                                              const char          *part);

typedef gboolean (*CairnTestCondition) (gpointer   data,
                                        GError   **error);

gboolean  _cairn_test_wait_for               (CairnTestCondition   condition,
                                              gpointer             data,
                                              guint                timeout_ms,
                                              const char          *what,
                                              GError             **error);
GVariant *_cairn_test_call_sync              (GDBusConnection     *bus,
                                              const char          *bus_name,
                                              const char          *object_path,
                                              const char          *interface_name,
                                              const char          *method,
                                              GVariant            *parameters,
                                              const GVariantType  *reply_type,
                                              GError             **error);
gboolean  _cairn_test_name_has_owner         (GDBusConnection     *bus,
                                              const char          *bus_name,
                                              GError             **error);
gboolean  _cairn_test_process_gone           (GPid                 pid);
void      _cairn_test_die_with_parent        (gpointer             parent_pid);
gboolean  _cairn_test_remove_tree            (const char          *path);

gboolean  _cairn_test_control_get_instance   (CairnTestControl    *self,
                                              const char          *id,
                                              char               **state,
                                              GPid                *pid,
                                              char               **message,
                                              GError             **error);

G_END_DECLS
