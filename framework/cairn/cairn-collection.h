/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-cache-policy.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_COLLECTION (cairn_collection_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnCollection, cairn_collection, CAIRN, COLLECTION, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnCollection    *cairn_collection_new                    (const char *resource,
                                                             guint64     parent_id,
                                                             const char *name);
CAIRN_AVAILABLE_IN_ALL
guint64             cairn_collection_get_id                 (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_id                 (CairnCollection *self,
                                                             guint64          id);
CAIRN_AVAILABLE_IN_ALL
guint64             cairn_collection_get_parent_id          (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_parent_id          (CairnCollection *self,
                                                             guint64          parent_id);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_collection_get_name               (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_name               (CairnCollection *self,
                                                             const char      *name);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_collection_get_resource           (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_resource           (CairnCollection *self,
                                                             const char      *resource);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_collection_get_remote_id          (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_remote_id          (CairnCollection *self,
                                                             const char      *remote_id);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_collection_get_remote_revision    (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_remote_revision    (CairnCollection *self,
                                                             const char      *remote_revision);
CAIRN_AVAILABLE_IN_ALL
const char         *cairn_collection_get_parent_remote_id   (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_parent_remote_id   (CairnCollection *self,
                                                             const char      *parent_remote_id);
CAIRN_AVAILABLE_IN_ALL
const char * const *cairn_collection_get_content_mime_types (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_content_mime_types (CairnCollection    *self,
                                                             const char * const *mime_types);
CAIRN_AVAILABLE_IN_ALL
gboolean            cairn_collection_get_virtual            (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_virtual            (CairnCollection *self,
                                                             gboolean         is_virtual);
CAIRN_AVAILABLE_IN_ALL
CairnCachePolicy   *cairn_collection_get_cache_policy       (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_cache_policy       (CairnCollection        *self,
                                                             const CairnCachePolicy *policy);
CAIRN_AVAILABLE_IN_ALL
guint64             cairn_collection_get_revision           (CairnCollection *self);
CAIRN_AVAILABLE_IN_ALL
GBytes             *cairn_collection_get_attribute          (CairnCollection *self,
                                                             const char      *name);
CAIRN_AVAILABLE_IN_ALL
void                cairn_collection_set_attribute          (CairnCollection *self,
                                                             const char      *name,
                                                             GBytes          *value);
CAIRN_AVAILABLE_IN_ALL
char              **cairn_collection_list_attributes        (CairnCollection *self);

G_END_DECLS
