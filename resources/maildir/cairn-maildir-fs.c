/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Confined file operations. Every path the resource opens, renames, links
 * or unlinks is resolved beneath a directory it holds open, one component
 * at a time, never following a symbolic link: a link in a hostile tree,
 * as the folder, as its cur/, new/ or tmp/, or as a message, could
 * otherwise lead anywhere the user can write. libcairn's
 * cairn_file_tree_openat() and cairn_file_tree_open_parent() make that
 * walk; a link met on the way fails with ELOOP, and a path leaving the
 * directory with EXDEV; the callers report both once as skipped. Every
 * function returns -1 (or NULL) with errno set, as the calls it wraps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cairn/cairn.h>

#include "cairn-maildir-fs-private.h"

void
cairn_maildir_fd_close (CairnMaildirFd fd)
{
  int saved_errno = errno;

  close (fd);
  errno = saved_errno;
}

/* Opens @path, an absolute path that lies in @root, beneath @root. The
 * root itself is the user's choice, and may be reached through links. */
int
cairn_maildir_open_beneath (const char *root,
                            const char *path,
                            int         flags,
                            mode_t      mode)
{
  gsize root_length = strlen (root);
  g_auto(CairnMaildirFd) root_fd = -1;

  while (root_length > 1 && root[root_length - 1] == '/')
    root_length--;
  if (strncmp (path, root, root_length) != 0 ||
      (path[root_length] != '\0' && path[root_length] != '/' && root_length > 1))
    {
      errno = EXDEV;
      return -1;
    }
  path += root_length;
  while (*path == '/')
    path++;
  root_fd = open (root, (*path == '\0' ? flags : O_PATH | O_DIRECTORY) | O_CLOEXEC, mode);
  if (root_fd < 0 || *path == '\0')
    return g_steal_fd (&root_fd);
  return cairn_file_tree_openat (root_fd, path, flags, mode);
}

DIR *
cairn_maildir_opendirat (int         dir_fd,
                         const char *relative)
{
  int fd = cairn_file_tree_openat (dir_fd, relative, O_RDONLY | O_DIRECTORY, 0);
  DIR *dir;

  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    cairn_maildir_fd_close (fd);
  return dir;
}

/* The status of @relative itself: a link is described, never followed. */
int
cairn_maildir_statat (int          dir_fd,
                      const char  *relative,
                      struct stat *st)
{
  g_auto(CairnMaildirFd) parent = -1;
  const char *name;

  parent = cairn_file_tree_open_parent (dir_fd, relative, &name);
  if (parent < 0)
    return -1;
  return fstatat (parent, name, st, AT_SYMLINK_NOFOLLOW);
}

/* Renames @from (beneath @from_fd) to @to (beneath @to_fd). Without
 * @replace an existing @to fails with EEXIST, never replaced: it may be
 * another program's message. A link as @from is renamed itself. */
int
cairn_maildir_renameat (int         from_fd,
                        const char *from,
                        int         to_fd,
                        const char *to,
                        gboolean    replace)
{
  g_auto(CairnMaildirFd) from_parent = -1;
  g_auto(CairnMaildirFd) to_parent = -1;
  const char *from_name, *to_name;

  from_parent = cairn_file_tree_open_parent (from_fd, from, &from_name);
  if (from_parent < 0)
    return -1;
  to_parent = cairn_file_tree_open_parent (to_fd, to, &to_name);
  if (to_parent < 0)
    return -1;
  if (replace)
    return renameat (from_parent, from_name, to_parent, to_name);
  if (renameat2 (from_parent, from_name, to_parent, to_name, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* A file system without RENAME_NOREPLACE: link() never replaces. */
  if (linkat (from_parent, from_name, to_parent, to_name, 0) != 0)
    return -1;
  return unlinkat (from_parent, from_name, 0);
}

int
cairn_maildir_linkat (int         from_fd,
                      const char *from,
                      int         to_fd,
                      const char *to)
{
  g_auto(CairnMaildirFd) from_parent = -1;
  g_auto(CairnMaildirFd) to_parent = -1;
  const char *from_name, *to_name;

  from_parent = cairn_file_tree_open_parent (from_fd, from, &from_name);
  if (from_parent < 0)
    return -1;
  to_parent = cairn_file_tree_open_parent (to_fd, to, &to_name);
  if (to_parent < 0)
    return -1;
  return linkat (from_parent, from_name, to_parent, to_name, 0);
}

/* Unlinks @relative itself, or with AT_REMOVEDIR removes the directory. */
int
cairn_maildir_unlinkat (int         dir_fd,
                        const char *relative,
                        int         flags)
{
  g_auto(CairnMaildirFd) parent = -1;
  const char *name;

  parent = cairn_file_tree_open_parent (dir_fd, relative, &name);
  if (parent < 0)
    return -1;
  return unlinkat (parent, name, flags);
}

int
cairn_maildir_mkdirat (int         dir_fd,
                       const char *relative,
                       mode_t      mode)
{
  g_auto(CairnMaildirFd) parent = -1;
  const char *name;

  parent = cairn_file_tree_open_parent (dir_fd, relative, &name);
  if (parent < 0)
    return -1;
  return mkdirat (parent, name, mode);
}

/* A name from disk made safe for one log line: control characters,
 * backslashes and bytes that are not UTF-8 become C escapes, so that a
 * newline in a file name cannot forge a line of its own, while readable
 * names in any script stay readable. */
char *
cairn_maildir_escape (const char *text)
{
  GString *escaped = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (escaped, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (c == '\\')
        g_string_append (escaped, "\\\\");
      else if (c == '\n')
        g_string_append (escaped, "\\n");
      else if (c == '\t')
        g_string_append (escaped, "\\t");
      else if (c == '\r')
        g_string_append (escaped, "\\r");
      else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
        g_string_append_printf (escaped, "\\u%04x", c);
      else
        g_string_append_len (escaped, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (escaped, FALSE);
}
