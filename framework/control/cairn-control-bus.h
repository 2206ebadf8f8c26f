/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What cairn-control and cairnctl both ask the bus. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CAIRN_CONTROL_NAME "org.cairn.Control1"
#define CAIRN_CONTROL_PATH "/org/cairn/Control1"

gboolean cairn_control_name_has_owner (GDBusConnection *bus);

G_END_DECLS
