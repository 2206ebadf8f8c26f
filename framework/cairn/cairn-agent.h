/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gmodule.h>

#include "cairn-agent-type.h"
#include "cairn-change-recorder.h"
#include "cairn-store.h"
#include "cairn-version.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CairnAgentStatus:
 * @CAIRN_AGENT_STATUS_IDLE: waiting for work
 * @CAIRN_AGENT_STATUS_RUNNING: working
 * @CAIRN_AGENT_STATUS_BROKEN: cannot work until something is repaired;
 *   the status message says what
 * @CAIRN_AGENT_STATUS_NOT_CONFIGURED: the configuration is missing or not
 *   valid; the status message says why
 * @CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS: the backend's password is missing
 *   or was refused; the resource waits for a new one (see #CairnSecrets)
 * @CAIRN_AGENT_STATUS_DEGRADED: waiting for work, but part of it keeps
 *   failing: a resource with failed changes, collections it cannot
 *   synchronize, or a change log it cannot read; the status message says
 *   what
 *
 * What an agent is doing.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_AGENT_STATUS_IDLE,
  CAIRN_AGENT_STATUS_RUNNING,
  CAIRN_AGENT_STATUS_BROKEN,
  CAIRN_AGENT_STATUS_NOT_CONFIGURED,
  CAIRN_AGENT_STATUS_NEEDS_CREDENTIALS,
  CAIRN_AGENT_STATUS_DEGRADED,
} CairnAgentStatus;

/**
 * CAIRN_AGENT_MODULE_INIT_SYMBOL:
 *
 * The name of the entry point of an agent module, a
 * #CairnAgentModuleInitFunc. The number is the version of the module
 * interface.
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_MODULE_INIT_SYMBOL "cairn_agent_module_init_1"

/**
 * CAIRN_AGENT_MODULE_VERSION_SYMBOL:
 *
 * The name of the array of three `guint` (major, minor, micro) in an
 * agent module that holds the libcairn version it was built against;
 * CAIRN_AGENT_MODULE_DEFINE_VERSION defines it.
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_MODULE_VERSION_SYMBOL "cairn_agent_module_sdk_version_1"

/**
 * CAIRN_AGENT_MODULE_DEFINE_VERSION:
 *
 * Defines, once per agent module, the symbol named by
 * %CAIRN_AGENT_MODULE_VERSION_SYMBOL. `cairn-agent-host` loads a module
 * only if it was built against the same major and minor version of
 * libcairn as the host, or an older minor version.
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_MODULE_DEFINE_VERSION \
  G_MODULE_EXPORT extern const guint cairn_agent_module_sdk_version_1[3]; \
  G_MODULE_EXPORT const guint cairn_agent_module_sdk_version_1[3] = \
    { CAIRN_MAJOR_VERSION, CAIRN_MINOR_VERSION, CAIRN_MICRO_VERSION }

/**
 * CAIRN_AGENT_MODULE_DEFINE_TYPE:
 * @agent_type: the #GType of the module's agent, a subclass of
 *   #CairnAgent, such as `MY_TYPE_RESOURCE`
 *
 * Defines, once per agent module, everything `cairn-agent-host` looks
 * up: the version symbol of CAIRN_AGENT_MODULE_DEFINE_VERSION and a
 * #CairnAgentModuleInitFunc entry point, exported as
 * %CAIRN_AGENT_MODULE_INIT_SYMBOL, that returns @agent_type. Use it in
 * place of both; write the entry point yourself only when it can fail or
 * has more to register.
 *
 * |[<!-- language="C" -->
 * G_DEFINE_FINAL_TYPE (MyResource, my_resource, CAIRN_TYPE_RESOURCE)
 * ...
 * CAIRN_AGENT_MODULE_DEFINE_TYPE (MY_TYPE_RESOURCE);
 * ]|
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_MODULE_DEFINE_TYPE(agent_type) \
  G_MODULE_EXPORT GType cairn_agent_module_init_1 (GError **error); \
  G_MODULE_EXPORT GType cairn_agent_module_init_1 (GError **error) { return (agent_type); } \
  CAIRN_AGENT_MODULE_DEFINE_VERSION

/**
 * CairnAgentModuleInitFunc:
 * @error: return location for an error
 *
 * The entry point of an agent module, exported as
 * %CAIRN_AGENT_MODULE_INIT_SYMBOL. It registers the module's types and
 * returns the agent's type, a subclass of #CairnAgent. The host makes the
 * module resident, so static types (G_DEFINE_TYPE) are fine.
 *
 * Returns: the agent's #GType, or %G_TYPE_INVALID with @error set
 *
 * Since: 0.1
 */
typedef GType (*CairnAgentModuleInitFunc) (GError **error);

#define CAIRN_TYPE_AGENT (cairn_agent_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (CairnAgent, cairn_agent, CAIRN, AGENT, GObject)

/**
 * CairnAgentClass:
 * @parent_class: the parent class
 * @setup: called once, at the end of initialisation, after the
 *   configuration is loaded and the change recorder created (its scope can
 *   still be set); returning %FALSE makes initialisation fail
 * @quit_requested: class handler of #CairnAgent::quit-requested
 * @dbus_register: exports the subclass's own D-Bus interfaces at
 *   @object_path, beside org.cairn.Agent1; called by cairn_agent_export()
 *   (named as #GApplicationClass's, not `export`, which C++ reserves)
 * @dbus_unregister: withdraws them; called by cairn_agent_stop()
 * @reconfigured: class handler of #CairnAgent::reconfigured
 *
 * The class of agents. An agent subclass implements #CairnObserver to get
 * the changes of the store; its configuration keys are its own writable
 * properties.
 *
 * Since: 0.1
 */
struct _CairnAgentClass
{
  GObjectClass parent_class;

  gboolean (*setup)           (CairnAgent  *self,
                               GError     **error);
  void     (*quit_requested)  (CairnAgent  *self);
  gboolean (*dbus_register)   (CairnAgent       *self,
                               GDBusConnection  *connection,
                               const char       *object_path,
                               GError          **error);
  void     (*dbus_unregister) (CairnAgent  *self);
  void     (*reconfigured)    (CairnAgent  *self);

  /*< private >*/
  gpointer padding[5];
};

CAIRN_AVAILABLE_IN_ALL
char                *cairn_agent_build_config_path      (const char        *id);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_check_configuration    (GType              agent_type,
                                                         GKeyFile          *key_file,
                                                         GError           **error);
CAIRN_AVAILABLE_IN_ALL
const char          *cairn_agent_get_id                 (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
CairnAgentType      *cairn_agent_get_agent_type         (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
CairnStore          *cairn_agent_get_store              (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
CairnChangeRecorder *cairn_agent_get_recorder           (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
CairnAgentStatus     cairn_agent_get_status             (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
const char          *cairn_agent_get_status_message     (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_set_status             (CairnAgent        *self,
                                                         CairnAgentStatus   status,
                                                         const char        *message);
CAIRN_AVAILABLE_IN_ALL
guint                cairn_agent_get_progress           (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
guint64              cairn_agent_get_items_done         (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
guint64              cairn_agent_get_items_known        (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_set_item_progress      (CairnAgent        *self,
                                                         guint              progress,
                                                         guint64            items_done,
                                                         guint64            items_known);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_set_progress           (CairnAgent        *self,
                                                         guint              progress);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_get_online             (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_get_wanted_online      (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_set_wanted_online      (CairnAgent        *self,
                                                         gboolean           online);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_get_network_available  (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_set_temporarily_offline (CairnAgent       *self,
                                                         guint              retry_seconds);
CAIRN_AVAILABLE_IN_ALL
gint64               cairn_agent_get_retry_time         (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_reconfigure            (CairnAgent        *self,
                                                         GError           **error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_request_quit           (CairnAgent        *self);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_agent_export                 (CairnAgent        *self,
                                                         GDBusConnection   *connection,
                                                         GError           **error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_agent_stop                   (CairnAgent        *self);

G_END_DECLS
