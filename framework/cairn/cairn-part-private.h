/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-part.h"

G_BEGIN_DECLS

struct _CairnPart
{
  gatomicrefcount ref_count;
  CairnPartStorage storage;
  goffset size;
  char *name;
  GBytes *data;          /* inline payload, when loaded */
  char *path;            /* foreign path, or the external file's path */
  GInputStream *stream;  /* the source of a part made from a stream, until stored */
};

CairnPart *_cairn_part_new (const char       *name,
                            CairnPartStorage  storage,
                            goffset           size,
                            GBytes           *data,
                            char             *path);

G_END_DECLS
