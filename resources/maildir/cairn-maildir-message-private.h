/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn/cairn.h>

G_BEGIN_DECLS

#define CAIRN_MAILDIR_MIME_TYPE "message/rfc822"

/* Dovecot's dovecot-keywords file: the keyword of each lowercase info
 * letter, 'a' being index 0. */
#define CAIRN_MAILDIR_N_KEYWORDS 26

typedef struct
{
  char *names[CAIRN_MAILDIR_N_KEYWORDS];
} CairnMaildirKeywords;

void        cairn_maildir_keywords_clear    (CairnMaildirKeywords  *keywords);
void        cairn_maildir_keywords_load     (CairnMaildirKeywords  *keywords,
                                             const char            *maildir);
gboolean    cairn_maildir_keywords_save     (CairnMaildirKeywords  *keywords,
                                             const char            *maildir,
                                             GError               **error);

char       *cairn_maildir_name_get_uid      (const char            *name);
const char *cairn_maildir_name_get_info     (const char            *name);
gboolean    cairn_maildir_name_is_safe      (const char            *name);

CairnFlags *cairn_maildir_info_to_flags     (const char            *info,
                                             CairnMaildirKeywords  *keywords);
char       *cairn_maildir_info_apply        (const char            *info,
                                             const CairnFlags      *added,
                                             const CairnFlags      *removed,
                                             CairnMaildirKeywords  *keywords,
                                             gboolean              *keywords_changed);

CairnItem  *cairn_maildir_message_read      (const char            *maildir,
                                             const char            *relative_name,
                                             CairnMaildirKeywords  *keywords,
                                             GError               **error);

G_END_DECLS
