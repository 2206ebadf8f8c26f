/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_AGENT_ERROR:
 *
 * The error domain of agent types, agent instances and their modules.
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_ERROR (cairn_agent_error_quark ())

/**
 * CairnAgentError:
 * @CAIRN_AGENT_ERROR_NOT_FOUND: no agent type or instance of that id
 * @CAIRN_AGENT_ERROR_INVALID: a `.agent` file or an instance's
 *   configuration file is not valid
 * @CAIRN_AGENT_ERROR_FAILED: an agent failed to start
 *
 * Errors of agent types and agents.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_AGENT_ERROR_NOT_FOUND,
  CAIRN_AGENT_ERROR_INVALID,
  CAIRN_AGENT_ERROR_FAILED,
} CairnAgentError;

/**
 * CairnAgentCapabilities:
 * @CAIRN_AGENT_CAPABILITY_NONE: no capability
 * @CAIRN_AGENT_CAPABILITY_RESOURCE: the agent is a resource: it owns
 *   collections and syncs them with a backend
 * @CAIRN_AGENT_CAPABILITY_UNIQUE: at most one instance of the type
 * @CAIRN_AGENT_CAPABILITY_AUTOSTART: an instance is created and started
 *   without being asked
 * @CAIRN_AGENT_CAPABILITY_NO_CONFIG: the type has nothing to configure
 * @CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK: the agent is offline while the
 *   network is not available
 *
 * The `Capabilities` of an agent type.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/
{
  CAIRN_AGENT_CAPABILITY_NONE = 0,
  CAIRN_AGENT_CAPABILITY_RESOURCE = 1 << 0,
  CAIRN_AGENT_CAPABILITY_UNIQUE = 1 << 1,
  CAIRN_AGENT_CAPABILITY_AUTOSTART = 1 << 2,
  CAIRN_AGENT_CAPABILITY_NO_CONFIG = 1 << 3,
  CAIRN_AGENT_CAPABILITY_NEEDS_NETWORK = 1 << 4,
} CairnAgentCapabilities;

/**
 * CAIRN_AGENT_TYPE_DEFAULT_IDLE_EXIT:
 *
 * The idle time, in seconds, after which an instance of a resource type
 * that needs the network exits when its `.agent` file has no `IdleExit`.
 *
 * Since: 0.1
 */
#define CAIRN_AGENT_TYPE_DEFAULT_IDLE_EXIT 300

#define CAIRN_TYPE_AGENT_TYPE (cairn_agent_type_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnAgentType, cairn_agent_type, CAIRN, AGENT_TYPE, GObject)

CAIRN_AVAILABLE_IN_ALL
GQuark                  cairn_agent_error_quark            (void);

CAIRN_AVAILABLE_IN_ALL
CairnAgentType         *cairn_agent_type_new_from_file     (const char      *path,
                                                            GError         **error);
CAIRN_AVAILABLE_IN_ALL
CairnAgentType         *cairn_agent_type_lookup            (const char      *id,
                                                            GError         **error);
CAIRN_AVAILABLE_IN_ALL
GList                  *cairn_agent_type_get_all           (void);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_id            (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_path          (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_name          (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_description   (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_module        (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
char                   *cairn_agent_type_get_module_path   (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char             *cairn_agent_type_get_exec          (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
const char * const     *cairn_agent_type_get_mime_types    (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
CairnAgentCapabilities  cairn_agent_type_get_capabilities  (CairnAgentType  *self);
CAIRN_AVAILABLE_IN_ALL
guint                   cairn_agent_type_get_idle_exit     (CairnAgentType  *self);

G_END_DECLS
