/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

G_BEGIN_DECLS

/* The remote id of the root maildir. */
#define CAIRN_MAILDIR_INBOX "INBOX"

/**
 * CairnMaildirLayout:
 * @CAIRN_MAILDIR_LAYOUT_MAILDIRPP: Maildir++ as Courier and Dovecot keep it:
 *   the root is INBOX, and every other folder is a dot folder in it, `.A`
 *   and its child `.A.B`
 * @CAIRN_MAILDIR_LAYOUT_FS: one directory per folder, `A` and its child
 *   `A/B`; the root is INBOX if it is a maildir itself
 *
 * How the folders of a maildir tree are laid out.
 */
typedef enum
{
  CAIRN_MAILDIR_LAYOUT_MAILDIRPP, /*< nick=maildir++ >*/
  CAIRN_MAILDIR_LAYOUT_FS, /*< nick=fs >*/
} CairnMaildirLayout;

#define CAIRN_TYPE_MAILDIR_LAYOUT (cairn_maildir_layout_get_type ())
GType       cairn_maildir_layout_get_type         (void) G_GNUC_CONST;

char       *cairn_maildir_folder_path             (const char          *root,
                                                   CairnMaildirLayout   layout,
                                                   const char          *remote_id,
                                                   GError             **error);
char       *cairn_maildir_folder_child_remote_id  (CairnMaildirLayout   layout,
                                                   const char          *parent_remote_id,
                                                   const char          *name,
                                                   GError             **error);
char       *cairn_maildir_folder_display_name     (const char          *disk_name);
GPtrArray  *cairn_maildir_folder_list             (const char          *root,
                                                   CairnMaildirLayout   layout,
                                                   GPtrArray           *skipped);
int         cairn_maildir_folder_open             (const char          *root,
                                                   const char          *maildir,
                                                   GError             **error);
typedef gboolean (*CairnMaildirMessageFunc) (const char *uid,
                                             const char *relative_name,
                                             gpointer    user_data);

gboolean    cairn_maildir_folder_foreach_message  (int                      folder_fd,
                                                   const char              *maildir,
                                                   CairnMaildirMessageFunc  func,
                                                   gpointer                 user_data,
                                                   GPtrArray               *skipped,
                                                   GError                 **error);
gboolean    cairn_maildir_folder_list_messages    (int                  folder_fd,
                                                   const char          *maildir,
                                                   GHashTable          *names,
                                                   GPtrArray           *skipped,
                                                   GError             **error);
gboolean    cairn_maildir_name_is_preferred       (const char          *a,
                                                   const char          *b);
gboolean    cairn_maildir_folder_create           (const char          *root,
                                                   CairnMaildirLayout   layout,
                                                   const char          *remote_id,
                                                   GError             **error);
gboolean    cairn_maildir_folder_rename           (const char          *root,
                                                   CairnMaildirLayout   layout,
                                                   const char          *from,
                                                   const char          *to,
                                                   GError             **error);
gboolean    cairn_maildir_folder_remove           (const char          *root,
                                                   CairnMaildirLayout   layout,
                                                   const char          *remote_id,
                                                   GError             **error);
gboolean    cairn_maildir_set_errno_error         (GError             **error,
                                                   int                  saved_errno,
                                                   const char          *what,
                                                   const char          *path);

G_END_DECLS
