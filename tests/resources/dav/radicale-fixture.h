/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A real Radicale (Debian's package) on 127.0.0.1, with its storage,
 * configuration and users in a folder of the test's, stopped by its PID;
 * and a plain HTTP client standing for another program on the server. */
typedef struct _RadicaleFixture RadicaleFixture;

RadicaleFixture *radicale_fixture_start  (const char       *folder,
                                          const char       *user,
                                          const char       *password,
                                          gboolean          tls,
                                          GError          **error);
void             radicale_fixture_stop   (RadicaleFixture  *self);
char            *radicale_fixture_url    (RadicaleFixture  *self,
                                          const char       *path);
const char      *radicale_fixture_get_storage (RadicaleFixture *self);
const char      *radicale_fixture_get_fingerprint (RadicaleFixture *self);
GBytes          *radicale_fixture_http   (RadicaleFixture  *self,
                                          const char       *method,
                                          const char       *path,
                                          const char       *body,
                                          const char       *header,
                                          const char       *value,
                                          guint            *status,
                                          char            **etag);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RadicaleFixture, radicale_fixture_stop)

G_END_DECLS
