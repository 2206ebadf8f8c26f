/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

G_BEGIN_DECLS

/**
 * CairnTestMaildirLayout:
 * @CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP: Maildir++ (Courier, Dovecot): the
 *   root is INBOX, folder `A/B` is the maildir `ROOT/.A.B`
 * @CAIRN_TEST_MAILDIR_LAYOUT_FS: one directory per folder: `A/B` is the
 *   maildir `ROOT/A/B`, and INBOX the root itself
 *
 * How a #CairnTestMaildir lays its folders out on disk. The value nicks are
 * `maildirpp` and `fs`: introspection names members after their nicks,
 * which must be identifiers, so the first is not the maildir resource's
 * `maildir++`.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP, /*< nick=maildirpp >*/
  CAIRN_TEST_MAILDIR_LAYOUT_FS,        /*< nick=fs >*/
} CairnTestMaildirLayout;

#define CAIRN_TYPE_TEST_MAILDIR (cairn_test_maildir_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestMaildir, cairn_test_maildir, CAIRN, TEST_MAILDIR, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestMaildir      *cairn_test_maildir_new             (const char              *root,
                                                           CairnTestMaildirLayout   layout);
CAIRN_AVAILABLE_IN_ALL
const char            *cairn_test_maildir_get_root        (CairnTestMaildir        *self);
CAIRN_AVAILABLE_IN_ALL
CairnTestMaildirLayout cairn_test_maildir_get_layout      (CairnTestMaildir        *self);
CAIRN_AVAILABLE_IN_ALL
char                  *cairn_test_maildir_get_folder_path (CairnTestMaildir        *self,
                                                           const char              *folder);
CAIRN_AVAILABLE_IN_ALL
gboolean               cairn_test_maildir_create_folder   (CairnTestMaildir        *self,
                                                           const char              *folder,
                                                           GError                 **error);
CAIRN_AVAILABLE_IN_ALL
gboolean               cairn_test_maildir_remove_folder   (CairnTestMaildir        *self,
                                                           const char              *folder,
                                                           GError                 **error);
CAIRN_AVAILABLE_IN_ALL
char                  *cairn_test_maildir_deliver         (CairnTestMaildir        *self,
                                                           const char              *folder,
                                                           GBytes                  *message,
                                                           const char              *info,
                                                           GError                 **error);
CAIRN_AVAILABLE_IN_ALL
gboolean               cairn_test_maildir_generate        (CairnTestMaildir        *self,
                                                           const char              *folder,
                                                           guint                    n_messages,
                                                           guint32                  seed,
                                                           GError                 **error);

CAIRN_AVAILABLE_IN_ALL
GBytes                *cairn_test_maildir_build_message   (guint32                  seed,
                                                           guint                    n);
CAIRN_AVAILABLE_IN_ALL
char                  *cairn_test_maildir_get_header      (guint32                  seed,
                                                           guint                    n,
                                                           const char              *name);

G_END_DECLS
