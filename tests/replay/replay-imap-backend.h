/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn-test/cairn-test.h>

G_BEGIN_DECLS

#define REPLAY_TYPE_IMAP_BACKEND (replay_imap_backend_get_type ())
G_DECLARE_FINAL_TYPE (ReplayImapBackend, replay_imap_backend, REPLAY, IMAP_BACKEND, GObject)

ReplayImapBackend *replay_imap_backend_new (guint16     port,
                                            const char *user,
                                            const char *password);

G_END_DECLS
