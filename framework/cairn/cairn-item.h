/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-flags.h"
#include "cairn-part.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_ITEM (cairn_item_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnItem, cairn_item, CAIRN, ITEM, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnItem        *cairn_item_new                 (const char *mime_type);
CAIRN_AVAILABLE_IN_ALL
guint64           cairn_item_get_id              (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_id              (CairnItem  *self,
                                                  guint64     id);
CAIRN_AVAILABLE_IN_ALL
guint64           cairn_item_get_collection_id   (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_collection_id   (CairnItem  *self,
                                                  guint64     collection_id);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_item_get_mime_type       (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_mime_type       (CairnItem  *self,
                                                  const char *mime_type);
CAIRN_AVAILABLE_IN_ALL
guint64           cairn_item_get_size            (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_size            (CairnItem  *self,
                                                  guint64     size);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_item_get_remote_id       (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_remote_id       (CairnItem  *self,
                                                  const char *remote_id);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_item_get_remote_revision (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_remote_revision (CairnItem  *self,
                                                  const char *remote_revision);
CAIRN_AVAILABLE_IN_ALL
const char       *cairn_item_get_gid             (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_gid             (CairnItem  *self,
                                                  const char *gid);
CAIRN_AVAILABLE_IN_ALL
GDateTime        *cairn_item_get_date            (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_date            (CairnItem  *self,
                                                  GDateTime  *date);
CAIRN_AVAILABLE_IN_ALL
guint64           cairn_item_get_revision        (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
CairnFlags       *cairn_item_get_flags           (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_flags           (CairnItem  *self,
                                                  const CairnFlags *flags);
CAIRN_AVAILABLE_IN_ALL
CairnPart        *cairn_item_get_part            (CairnItem  *self,
                                                  const char *name);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_part            (CairnItem  *self,
                                                  CairnPart  *part);
CAIRN_AVAILABLE_IN_ALL
GPtrArray        *cairn_item_get_parts           (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
GBytes           *cairn_item_get_attribute       (CairnItem  *self,
                                                  const char *name);
CAIRN_AVAILABLE_IN_ALL
void              cairn_item_set_attribute       (CairnItem  *self,
                                                  const char *name,
                                                  GBytes     *value);
CAIRN_AVAILABLE_IN_ALL
char            **cairn_item_list_attributes     (CairnItem  *self);
CAIRN_AVAILABLE_IN_ALL
GPtrArray        *cairn_item_get_tags            (CairnItem  *self);

G_END_DECLS
