/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-database-private.h"

G_BEGIN_DECLS

/* Payload files live in "<database>.payloads/<2 hex>/<32 hex>"; the part
 * row keeps the part after the folder. */
#define CAIRN_PAYLOAD_FOLDER_SUFFIX ".payloads"

/* The size of the SHA-256 digest kept with each payload file. */
#define CAIRN_PAYLOAD_DIGEST_SIZE 32

char     *_cairn_payload_path               (const char     *folder,
                                             const char     *name);
char     *_cairn_payload_file_write         (const char     *folder,
                                             const guint8   *prefix,
                                             gsize           prefix_length,
                                             GInputStream   *stream,
                                             goffset        *size,
                                             GBytes        **digest,
                                             char          **path,
                                             GError        **error);
gboolean  _cairn_payload_folder_sync        (const char     *path,
                                             GError        **error);
char     *_cairn_payload_file_find_damage   (const char     *path,
                                             goffset         size,
                                             GBytes         *digest,
                                             GCancellable   *cancellable);
gboolean  _cairn_payload_files_find_orphans (CairnDatabase  *database,
                                             const char     *folder,
                                             gboolean        remove,
                                             guint          *orphans,
                                             GCancellable   *cancellable,
                                             GError        **error);

G_END_DECLS
