/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn-test/cairn-test.h>

#include "radicale-fixture.h"

G_BEGIN_DECLS

#define REPLAY_TYPE_DAV_BACKEND (replay_dav_backend_get_type ())
G_DECLARE_FINAL_TYPE (ReplayDavBackend, replay_dav_backend, REPLAY, DAV_BACKEND, GObject)

ReplayDavBackend *replay_dav_backend_new (RadicaleFixture *radicale,
                                          const char      *home);

G_END_DECLS
