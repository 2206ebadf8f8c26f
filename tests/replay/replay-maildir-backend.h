/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn-test/cairn-test.h>

G_BEGIN_DECLS

#define REPLAY_TYPE_MAILDIR_BACKEND (replay_maildir_backend_get_type ())
G_DECLARE_FINAL_TYPE (ReplayMaildirBackend, replay_maildir_backend, REPLAY, MAILDIR_BACKEND,
                      GObject)

ReplayMaildirBackend *replay_maildir_backend_new (CairnTestMaildir *maildir);

G_END_DECLS
