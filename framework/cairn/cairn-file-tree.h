/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <sys/types.h>
#include <gio/gio.h>

#include "cairn-flags.h"
#include "cairn-item.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_FILE_TREE (cairn_file_tree_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnFileTree, cairn_file_tree, CAIRN, FILE_TREE, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnFileTree *cairn_file_tree_new            (const char     *root);
CAIRN_AVAILABLE_IN_ALL
const char    *cairn_file_tree_get_root       (CairnFileTree  *self);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_check_name     (const char     *name,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
char         **cairn_file_tree_list           (CairnFileTree  *self,
                                               const char     *path,
                                               GFileType       type,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray     *cairn_file_tree_list_collections (CairnFileTree       *self,
                                                 const char * const  *mime_types,
                                                 GError             **error);
CAIRN_AVAILABLE_IN_ALL
char          *cairn_file_tree_get_revision   (CairnFileTree  *self,
                                               const char     *path,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
GBytes        *cairn_file_tree_read           (CairnFileTree  *self,
                                               const char     *path,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_write          (CairnFileTree  *self,
                                               const char     *path,
                                               GBytes         *contents,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
CairnFlags    *cairn_file_tree_read_flags     (CairnFileTree  *self,
                                               const char     *path,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_write_flags    (CairnFileTree     *self,
                                               const char        *path,
                                               const CairnFlags  *flags,
                                               GError           **error);
CAIRN_AVAILABLE_IN_ALL
CairnItem     *cairn_file_tree_read_item      (CairnFileTree  *self,
                                               const char     *path,
                                               const char     *mime_type,
                                               const char     *part_name,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
char          *cairn_file_tree_write_item     (CairnFileTree  *self,
                                               const char     *path,
                                               CairnItem      *item,
                                               const char     *part_name,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_make_directory (CairnFileTree  *self,
                                               const char     *path,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_rename         (CairnFileTree  *self,
                                               const char     *from,
                                               const char     *to,
                                               GError        **error);
CAIRN_AVAILABLE_IN_ALL
gboolean       cairn_file_tree_remove         (CairnFileTree  *self,
                                               const char     *path,
                                               GError        **error);

CAIRN_AVAILABLE_IN_ALL
int            cairn_file_tree_openat         (int             dir_fd,
                                               const char     *path,
                                               int             flags,
                                               mode_t          mode);
CAIRN_AVAILABLE_IN_ALL
int            cairn_file_tree_open_parent    (int             dir_fd,
                                               const char     *path,
                                               const char    **name);

G_END_DECLS
