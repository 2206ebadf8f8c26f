/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-change.h"

G_BEGIN_DECLS

struct _CairnChange
{
  gatomicrefcount ref_count;
  guint64 revision;
  CairnChangeOperation operation;
  CairnEntityKind entity_kind;
  guint64 entity_id;
  guint64 collection_id;
  guint64 destination_id;
  guint64 related_id;
  /* Interned: a backlog of changes repeats a few of each. */
  const char *resource;
  const char *origin;
  char *remote_id;
  const char *mime_type;
  char *name;
  char **parts;                  /* NULL for none */
  CairnFlagsDelta *flags_delta;  /* NULL for none */
  CairnItem *item;              /* as at the change, set by a monitor with a fetch scope */
  CairnCollection *collection;  /* as at the change, set for a resource's replay */
};

CairnChange *_cairn_change_new  (void);
CairnChange *_cairn_change_copy (const CairnChange *change);
CairnCollection *_cairn_change_to_collection (const CairnChange *change);

G_END_DECLS
