/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_PART_RFC822:
 *
 * The name of the part holding a whole mail message.
 *
 * Since: 0.1
 */
#define CAIRN_PART_RFC822 "RFC822"

/**
 * CAIRN_PART_ENVELOPE:
 *
 * The name of the part holding a mail's envelope (from, to, subject, date,
 * message id...).
 *
 * Since: 0.1
 */
#define CAIRN_PART_ENVELOPE "ENVELOPE"

/**
 * CAIRN_PART_HEAD:
 *
 * The name of the part holding a mail's header block.
 *
 * Since: 0.1
 */
#define CAIRN_PART_HEAD "HEAD"

/**
 * CairnPartStorage:
 * @CAIRN_PART_STORAGE_INLINE: the payload is stored in the database
 * @CAIRN_PART_STORAGE_EXTERNAL: the payload is a file the store keeps beside the database
 * @CAIRN_PART_STORAGE_FOREIGN: the payload is a file the owning resource keeps (a maildir message)
 * @CAIRN_PART_STORAGE_MISSING: the payload is not stored (cache policy); it has to be retrieved
 *
 * Where the payload of a part lives.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_PART_STORAGE_INLINE,
  CAIRN_PART_STORAGE_EXTERNAL,
  CAIRN_PART_STORAGE_FOREIGN,
  CAIRN_PART_STORAGE_MISSING,
} CairnPartStorage;

#define CAIRN_TYPE_PART (cairn_part_get_type ())

/**
 * CairnPart:
 *
 * A named payload part of an item, such as `RFC822` or `ENVELOPE`.
 *
 * A part is immutable once created. Parts read from the store carry their
 * data only if they are inline; a payload in a file (external or foreign)
 * is read with cairn_part_open_stream() or cairn_part_read_bytes(), which
 * read every storage kind alike.
 *
 * Since: 0.1
 */
typedef struct _CairnPart CairnPart;

CAIRN_AVAILABLE_IN_ALL
GType             cairn_part_get_type        (void) G_GNUC_CONST;
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_part_new_inline      (const char   *name,
                                              GBytes       *data);
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_part_new_from_stream (const char   *name,
                                              GInputStream *stream);
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_part_new_foreign     (const char   *name,
                                              const char   *path,
                                              goffset       size);
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_part_new_missing     (const char   *name,
                                              goffset       size);
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_part_ref             (CairnPart    *part);
CAIRN_AVAILABLE_IN_ALL
void              cairn_part_unref           (CairnPart    *part);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_part_get_name        (const CairnPart *part);
CAIRN_AVAILABLE_IN_ALL
CairnPartStorage  cairn_part_get_storage     (const CairnPart *part);
CAIRN_AVAILABLE_IN_ALL
goffset           cairn_part_get_size        (const CairnPart *part);
CAIRN_AVAILABLE_IN_ALL
GBytes           *cairn_part_get_data        (const CairnPart *part);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_part_get_path        (const CairnPart *part);
CAIRN_AVAILABLE_IN_ALL
gboolean          cairn_part_name_is_valid   (const char   *name);

CAIRN_AVAILABLE_IN_ALL
GInputStream     *cairn_part_open_stream      (CairnPart            *part,
                                               GCancellable         *cancellable,
                                               GError              **error);
CAIRN_AVAILABLE_IN_ALL
GBytes           *cairn_part_read_bytes       (CairnPart            *part,
                                               gsize                 max_size,
                                               GCancellable         *cancellable,
                                               GError              **error);
CAIRN_AVAILABLE_IN_ALL
void              cairn_part_read_bytes_async (CairnPart            *part,
                                               gsize                 max_size,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
GBytes           *cairn_part_read_bytes_finish (CairnPart           *part,
                                                GAsyncResult        *result,
                                                GError             **error);

G_END_DECLS
