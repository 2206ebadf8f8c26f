/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_TAG (cairn_tag_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTag, cairn_tag, CAIRN, TAG, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTag   *cairn_tag_new           (const char *gid,
                                     const char *name);
CAIRN_AVAILABLE_IN_ALL
guint64     cairn_tag_get_id        (CairnTag   *self);
CAIRN_AVAILABLE_IN_ALL
void        cairn_tag_set_id        (CairnTag   *self,
                                     guint64     id);
CAIRN_AVAILABLE_IN_ALL
const char *cairn_tag_get_gid       (CairnTag   *self);
CAIRN_AVAILABLE_IN_ALL
const char *cairn_tag_get_name      (CairnTag   *self);
CAIRN_AVAILABLE_IN_ALL
void        cairn_tag_set_name      (CairnTag   *self,
                                     const char *name);
CAIRN_AVAILABLE_IN_ALL
const char *cairn_tag_get_tag_type  (CairnTag   *self);
CAIRN_AVAILABLE_IN_ALL
void        cairn_tag_set_tag_type  (CairnTag   *self,
                                     const char *tag_type);
CAIRN_AVAILABLE_IN_ALL
guint64     cairn_tag_get_parent_id (CairnTag   *self);
CAIRN_AVAILABLE_IN_ALL
void        cairn_tag_set_parent_id (CairnTag   *self,
                                     guint64     parent_id);

G_END_DECLS
