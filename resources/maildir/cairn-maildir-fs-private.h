/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <glib.h>

G_BEGIN_DECLS

/* A file descriptor closed when it goes out of scope: g_auto(CairnMaildirFd). */
typedef int CairnMaildirFd;

void        cairn_maildir_fd_close       (CairnMaildirFd  fd);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (CairnMaildirFd, cairn_maildir_fd_close, -1)

int         cairn_maildir_open_beneath   (const char     *root,
                                          const char     *path,
                                          int             flags,
                                          mode_t          mode);
DIR        *cairn_maildir_opendirat      (int             dir_fd,
                                          const char     *relative);
int         cairn_maildir_statat         (int             dir_fd,
                                          const char     *relative,
                                          struct stat    *st);
int         cairn_maildir_renameat       (int             from_fd,
                                          const char     *from,
                                          int             to_fd,
                                          const char     *to,
                                          gboolean        replace);
int         cairn_maildir_linkat         (int             from_fd,
                                          const char     *from,
                                          int             to_fd,
                                          const char     *to);
int         cairn_maildir_unlinkat       (int             dir_fd,
                                          const char     *relative,
                                          int             flags);
int         cairn_maildir_mkdirat        (int             dir_fd,
                                          const char     *relative,
                                          mode_t          mode);
char       *cairn_maildir_escape         (const char     *text);

G_END_DECLS
