/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private session bus per test, shared by the agent test suites. */
#pragma once

#include <glib.h>

GPid test_bus_start             (void);
GPid test_bus_start_with_config (const char *config_file);
void test_bus_stop              (GPid        pid);
