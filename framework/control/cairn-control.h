/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control service: agent types, instances and org.cairn.Control1.
 * Private to cairn-control. */
#pragma once

#include <gio/gio.h>

#include "cairn-control-bus.h"
#include "cairn-control-instance.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_CONTROL (cairn_control_get_type ())
G_DECLARE_FINAL_TYPE (CairnControl, cairn_control, CAIRN, CONTROL, GObject)

CairnControl *cairn_control_new             (GDBusConnection            *bus,
                                             const char                 *store_path,
                                             const char                 *agent_host,
                                             const CairnControlTimings  *timings,
                                             guint                       maintenance_seconds,
                                             GError                    **error);
void          cairn_control_reload_types    (CairnControl               *self);
void          cairn_control_shutdown_async  (CairnControl               *self,
                                             GAsyncReadyCallback         callback,
                                             gpointer                    data);
void          cairn_control_shutdown_finish (CairnControl               *self,
                                             GAsyncResult               *result);

G_END_DECLS
