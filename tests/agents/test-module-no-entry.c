/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A module with the SDK version symbol but without the entry point
 * cairn_agent_module_init_1: cairn-agent-host must refuse it. */
#include <cairn/cairn.h>

CAIRN_AGENT_MODULE_DEFINE_VERSION;

G_MODULE_EXPORT GType cairn_agent_module_init (GError **error);

G_MODULE_EXPORT GType
cairn_agent_module_init (GError **error)
{
  return CAIRN_TYPE_AGENT;
}
