/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

/* Runs installed agent types as users get them: each .agent file beside
 * its module in one folder of types, and each instance in its own
 * cairn-agent-host. */

gboolean cairn_agent_fixture_link_type    (const char  *types,
                                           const char  *build_dir,
                                           const char  *agent_file,
                                           const char  *module,
                                           GError     **error);
gboolean cairn_agent_fixture_write_config (const char  *instance,
                                           const char  *contents,
                                           GError     **error);
GPid     cairn_agent_fixture_start_host   (const char  *host,
                                           const char  *instance,
                                           const char  *store_path,
                                           GError     **error);
void     cairn_agent_fixture_stop_host    (GPid         pid,
                                           int          signal);
gboolean cairn_agent_fixture_wait_indexed (CairnSearch *search,
                                           guint        timeout_ms,
                                           GError     **error);
