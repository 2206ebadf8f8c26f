/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The callers have called g_mime_init(). */

void      cairn_mail_header_normalize     (GByteArray        *block);
gboolean  cairn_mail_header_looks_like    (const GByteArray  *block);
char     *cairn_mail_header_read_envelope (GByteArray        *block,
                                           const char        *fallback_charset,
                                           char             **message_id);
GDateTime *cairn_mail_header_envelope_date (const char       *envelope);

char     *cairn_mail_mutf7_decode         (const char        *name);
char     *cairn_mail_mutf7_encode         (const char        *name);

G_END_DECLS
