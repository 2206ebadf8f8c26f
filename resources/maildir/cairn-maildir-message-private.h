/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <cairn/cairn.h>

G_BEGIN_DECLS

#define CAIRN_MAILDIR_MIME_TYPE "message/rfc822"

/* Dovecot's dovecot-keywords file: the keyword of each lowercase info
 * letter, 'a' being index 0. */
#define CAIRN_MAILDIR_N_KEYWORDS 26

typedef struct
{
  char *names[CAIRN_MAILDIR_N_KEYWORDS];
  time_t mtime;     /* of the file as read */
  /* Which version of the file was read: Dovecot and we replace it by a
   * rename, often within one second. */
  ino_t inode;
  long mtime_nsec;
} CairnMaildirKeywords;

void        cairn_maildir_keywords_clear    (CairnMaildirKeywords  *keywords);
void        cairn_maildir_keywords_load     (CairnMaildirKeywords  *keywords,
                                             int                    folder_fd);
gboolean    cairn_maildir_keywords_ensure   (CairnMaildirKeywords  *keywords,
                                             int                    folder_fd,
                                             const char            *maildir,
                                             const CairnFlags      *flags,
                                             GError               **error);
gboolean    cairn_maildir_keywords_lock     (int                    folder_fd,
                                             const char            *maildir,
                                             GError               **error);
void        cairn_maildir_keywords_unlock   (int                    folder_fd);

char       *cairn_maildir_name_get_uid      (const char            *name);
const char *cairn_maildir_name_get_info     (const char            *name);
gboolean    cairn_maildir_name_is_safe      (const char            *name);

CairnFlags *cairn_maildir_info_to_flags     (const char            *info,
                                             CairnMaildirKeywords  *keywords);
char       *cairn_maildir_info_apply        (const char            *info,
                                             const CairnFlags      *added,
                                             const CairnFlags      *removed,
                                             CairnMaildirKeywords  *keywords);
char       *cairn_maildir_info_remap        (const char            *info,
                                             CairnMaildirKeywords  *from,
                                             CairnMaildirKeywords  *to);

CairnItem  *cairn_maildir_message_read      (int                    folder_fd,
                                             const char            *maildir,
                                             const char            *relative_name,
                                             CairnMaildirKeywords  *keywords,
                                             const char            *fallback_charset,
                                             GError               **error);

G_END_DECLS
