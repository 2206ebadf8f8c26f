/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A module whose entry point fails: cairn-agent-host must report the
 * error and exit with its init status. */
#include <cairn/cairn.h>

CAIRN_AGENT_MODULE_DEFINE_VERSION;

G_MODULE_EXPORT GType cairn_agent_module_init_1 (GError **error);

G_MODULE_EXPORT GType
cairn_agent_module_init_1 (GError **error)
{
  g_set_error_literal (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_FAILED,
                       "the test module refuses to start");
  return G_TYPE_INVALID;
}
