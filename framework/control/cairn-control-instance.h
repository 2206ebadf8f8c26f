/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One supervised agent instance of cairn-control: its process, its
 * restarts and what its agent reports on the bus. Private to the control
 * service. */
#pragma once

#include <gio/gio.h>

#include <cairn/cairn.h>

G_BEGIN_DECLS

/* How the supervisor restarts and stops processes; see
 * docs/control.md. */
typedef struct
{
  guint backoff_ms;
  guint max_backoff_ms;
  guint crash_window_ms;
  guint max_crashes;
  guint grace_ms;
} CairnControlTimings;

typedef enum
{
  CAIRN_CONTROL_STATE_STOPPED,
  CAIRN_CONTROL_STATE_STARTING,
  CAIRN_CONTROL_STATE_RUNNING,
  CAIRN_CONTROL_STATE_RESTARTING,
  CAIRN_CONTROL_STATE_BROKEN,
  CAIRN_CONTROL_STATE_IDLE_EXITED,
} CairnControlState;

#define CAIRN_TYPE_CONTROL_INSTANCE (cairn_control_instance_get_type ())
G_DECLARE_FINAL_TYPE (CairnControlInstance, cairn_control_instance, CAIRN, CONTROL_INSTANCE,
                      GObject)

CairnControlInstance *cairn_control_instance_new              (const char                *id,
                                                               const char                *type_id,
                                                               CairnAgentType            *type,
                                                               GDBusConnection           *bus,
                                                               const char                *store_path,
                                                               const char                *agent_host,
                                                               const CairnControlTimings *timings);
const char           *cairn_control_instance_get_id           (CairnControlInstance      *self);
const char           *cairn_control_instance_get_type_id      (CairnControlInstance      *self);
CairnAgentType       *cairn_control_instance_get_agent_type   (CairnControlInstance      *self);
CairnControlState     cairn_control_instance_get_state        (CairnControlInstance      *self);
const char           *cairn_control_instance_get_state_name   (CairnControlInstance      *self);
CairnAgentStatus      cairn_control_instance_get_status       (CairnControlInstance      *self);
char                 *cairn_control_instance_dup_message      (CairnControlInstance      *self);
guint                 cairn_control_instance_get_progress     (CairnControlInstance      *self);
guint64               cairn_control_instance_get_items_done   (CairnControlInstance      *self);
guint64               cairn_control_instance_get_items_known  (CairnControlInstance      *self);
gboolean              cairn_control_instance_get_online       (CairnControlInstance      *self);
GVariant             *cairn_control_instance_get_details      (CairnControlInstance      *self);
GPid                  cairn_control_instance_get_pid          (CairnControlInstance      *self);
void                  cairn_control_instance_set_wanted_online (CairnControlInstance     *self,
                                                               gboolean                   online);
void                  cairn_control_instance_start            (CairnControlInstance      *self);
void                  cairn_control_instance_stop_async       (CairnControlInstance      *self,
                                                               GAsyncReadyCallback        callback,
                                                               gpointer                   data);
void                  cairn_control_instance_stop_finish      (CairnControlInstance      *self,
                                                               GAsyncResult              *result);
void                  cairn_control_instance_restart          (CairnControlInstance      *self);
const char           *cairn_control_instance_get_bus_name     (CairnControlInstance      *self);
void                  cairn_control_instance_wake_async       (CairnControlInstance      *self,
                                                               GAsyncReadyCallback        callback,
                                                               gpointer                   data);
gboolean              cairn_control_instance_wake_finish      (CairnControlInstance      *self,
                                                               GAsyncResult              *result,
                                                               GError                   **error);
void                  cairn_control_instance_hold             (CairnControlInstance      *self);
void                  cairn_control_instance_release          (CairnControlInstance      *self);

G_END_DECLS
