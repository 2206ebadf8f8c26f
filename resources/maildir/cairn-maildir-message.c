/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Messages of a maildir: file names, the flags in their info, and the
 * envelope read from their header block. Everything here is safe to call
 * from a worker thread. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-mail-header-private.h"
#include "cairn-maildir-folder-private.h"
#include "cairn-maildir-fs-private.h"
#include "cairn-maildir-message-private.h"

/* The flag of each info letter, as Dovecot reads them. Dovecot ignores the
 * specification's P ("passed") and keeps $Forwarded as a keyword like any
 * other, with a letter of dovecot-keywords: P is then a letter of another
 * program's, kept on a rename and shown as no flag, as IMAP shows it. */
static const struct
{
  char letter;
  const char *flag;
} info_letters[] = {
  { 'D', CAIRN_FLAG_DRAFT },
  { 'F', CAIRN_FLAG_FLAGGED },
  { 'R', CAIRN_FLAG_ANSWERED },
  { 'S', CAIRN_FLAG_SEEN },
  { 'T', CAIRN_FLAG_DELETED },
};

/* A header block longer than this is not a mail's. */
#define MAX_HEADER_SIZE (1024 * 1024)
#define READ_CHUNK 8192

#define KEYWORDS_FILE "dovecot-keywords"
/* Dovecot changes dovecot-keywords only while it holds the dotlock of the
 * folder's dovecot-uidlist (its maildir-keywords.c says so), and removes
 * dovecot-keywords.lock before each write: the uidlist lock is the one to
 * take. A lock older than Dovecot's stale timeout, two minutes, is
 * overridden, as Dovecot does. */
#define UIDLIST_LOCK_FILE "dovecot-uidlist.lock"
#define LOCK_STALE_SECONDS (2 * 60)
#define LOCK_WAIT_MS 2000

void
cairn_maildir_keywords_clear (CairnMaildirKeywords *keywords)
{
  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    g_clear_pointer (&keywords->names[i], g_free);
}

/* Lines are "INDEX NAME"; a missing or broken file means no keywords,
 * whose letters are then kept in file names but not shown as flags. The
 * file's modification time is kept: Dovecot reads the file again only
 * when it grows. */
void
cairn_maildir_keywords_load (CairnMaildirKeywords *keywords,
                             int                   folder_fd)
{
  g_auto(CairnMaildirFd) fd = -1;
  g_autoptr(GString) contents = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  struct stat st;
  char buffer[4096];
  gssize n;

  cairn_maildir_keywords_clear (keywords);
  keywords->mtime = 0;
  keywords->inode = 0;
  keywords->mtime_nsec = 0;
  fd = cairn_file_tree_openat (folder_fd, KEYWORDS_FILE, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    return;
  keywords->mtime = st.st_mtime;
  keywords->inode = st.st_ino;
  keywords->mtime_nsec = st.st_mtim.tv_nsec;
  while ((n = read (fd, buffer, sizeof buffer)) > 0 && contents->len < MAX_HEADER_SIZE)
    g_string_append_len (contents, buffer, n);
  lines = g_strsplit (contents->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *end = NULL;
      guint64 index = g_ascii_strtoull (lines[i], &end, 10);

      if (end == lines[i] || *end != ' ' || index >= CAIRN_MAILDIR_N_KEYWORDS ||
          !cairn_flag_is_valid (end + 1))
        continue;
      g_free (keywords->names[index]);
      keywords->names[index] = g_strdup (end + 1);
    }
}

static gboolean
lock_is_stale (int folder_fd)
{
  g_auto(CairnMaildirFd) fd = -1;
  char buffer[256];
  struct stat st;
  gssize n;
  char *colon;

  fd = cairn_file_tree_openat (folder_fd, UIDLIST_LOCK_FILE, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    return FALSE;
  if (g_get_real_time () / G_USEC_PER_SEC > st.st_mtime + LOCK_STALE_SECONDS)
    return TRUE;
  /* "PID:HOST": a process of this host that is gone holds nothing. */
  n = read (fd, buffer, sizeof buffer - 1);
  if (n <= 0)
    return FALSE;
  buffer[n] = '\0';
  colon = strchr (buffer, ':');
  if (colon == NULL || strcmp (colon + 1, g_get_host_name ()) != 0)
    return FALSE;
  *colon = '\0';
  return kill ((pid_t) g_ascii_strtoll (buffer, NULL, 10), 0) != 0 && errno == ESRCH;
}

/* Takes Dovecot's lock of the folder, waiting a little while another
 * holds it; a lock still held then is a transient error. */
gboolean
cairn_maildir_keywords_lock (int          folder_fd,
                             const char  *maildir,
                             GError     **error)
{
  gint64 deadline = g_get_monotonic_time () + LOCK_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  g_autofree char *owner = g_strdup_printf ("%d:%s", (int) getpid (), g_get_host_name ());

  for (;;)
    {
      int fd = cairn_file_tree_openat (folder_fd, UIDLIST_LOCK_FILE,
                                     O_WRONLY | O_CREAT | O_EXCL, 0644);

      if (fd >= 0)
        {
          gboolean written = write (fd, owner, strlen (owner)) == (gssize) strlen (owner);

          close (fd);
          if (written)
            return TRUE;
          cairn_maildir_keywords_unlock (folder_fd);
          return cairn_maildir_set_errno_error (error, EIO, "lock the keywords of", maildir);
        }
      if (errno != EEXIST)
        return cairn_maildir_set_errno_error (error, errno, "lock the keywords of", maildir);
      if (lock_is_stale (folder_fd))
        {
          g_message ("Overriding a stale lock of %s", maildir);
          cairn_maildir_keywords_unlock (folder_fd);
          continue;
        }
      if (g_get_monotonic_time () > deadline)
        return cairn_maildir_set_errno_error (error, EAGAIN, "lock the keywords of", maildir);
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
}

void
cairn_maildir_keywords_unlock (int folder_fd)
{
  cairn_maildir_unlinkat (folder_fd, UIDLIST_LOCK_FILE, 0);
}

/* Writes @contents to the new file @fd, with a modification time later
 * than @mtime: Dovecot reads dovecot-keywords again only when its time
 * grows, in whole seconds. FALSE with errno set. */
static gboolean
write_keywords_file (int         fd,
                     GString    *contents,
                     time_t      mtime,
                     time_t     *new_mtime)
{
  struct stat st;

  if (write (fd, contents->str, contents->len) != (gssize) contents->len || fstat (fd, &st) != 0)
    return FALSE;
  *new_mtime = st.st_mtime;
  if (st.st_mtime <= mtime)
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { mtime + 1, 0 } };

      if (futimens (fd, times) != 0)
        return FALSE;
      *new_mtime = mtime + 1;
    }
  return fsync (fd) == 0;
}

/* Replaces dovecot-keywords atomically; the caller holds the lock. */
static gboolean
keywords_save (CairnMaildirKeywords  *keywords,
               int                    folder_fd,
               const char            *maildir,
               GError               **error)
{
  g_autofree char *tmp = g_strdup_printf (KEYWORDS_FILE ".cairn.%d", (int) getpid ());
  g_autoptr(GString) contents = g_string_new (NULL);
  g_auto(CairnMaildirFd) fd = -1;
  time_t mtime = 0;
  int saved_errno;

  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    if (keywords->names[i] != NULL)
      g_string_append_printf (contents, "%u %s\n", i, keywords->names[i]);
  cairn_maildir_unlinkat (folder_fd, tmp, 0);
  fd = cairn_file_tree_openat (folder_fd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0 && write_keywords_file (fd, contents, keywords->mtime, &mtime) &&
      cairn_maildir_renameat (folder_fd, tmp, folder_fd, KEYWORDS_FILE, TRUE) == 0)
    {
      keywords->mtime = mtime;
      return TRUE;
    }
  saved_errno = errno;
  cairn_maildir_unlinkat (folder_fd, tmp, 0);
  return cairn_maildir_set_errno_error (error, saved_errno, "write the keywords of", maildir);
}

static gint
keyword_index (CairnMaildirKeywords *keywords,
               const char           *flag)
{
  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    if (g_strcmp0 (keywords->names[i], flag) == 0)
      return i;
  return -1;
}

static gboolean
is_keyword (const char *flag)
{
  return flag[0] != '\\';
}

/* Loads the keywords of the folder and gives each keyword of @flags that
 * has no letter there the first free one, under Dovecot's lock, reading
 * the file again once locked: Dovecot may have added keywords meanwhile.
 * A keyword for which no letter is left stays local, and is logged. */
gboolean
cairn_maildir_keywords_ensure (CairnMaildirKeywords  *keywords,
                               int                    folder_fd,
                               const char            *maildir,
                               const CairnFlags      *flags,
                               GError               **error)
{
  gboolean missing = FALSE;
  gboolean changed = FALSE;
  gboolean saved;

  cairn_maildir_keywords_load (keywords, folder_fd);
  for (guint i = 0; flags != NULL && i < cairn_flags_get_size (flags); i++)
    {
      const char *flag = cairn_flags_get_flag (flags, i);

      if (is_keyword (flag) && keyword_index (keywords, flag) < 0)
        missing = TRUE;
    }
  if (!missing)
    return TRUE;
  if (!cairn_maildir_keywords_lock (folder_fd, maildir, error))
    return FALSE;
  cairn_maildir_keywords_load (keywords, folder_fd);
  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    {
      const char *flag = cairn_flags_get_flag (flags, i);
      gint free_index;

      if (!is_keyword (flag) || keyword_index (keywords, flag) >= 0)
        continue;
      free_index = keyword_index (keywords, NULL);
      if (free_index < 0)
        {
          g_autofree char *escaped = cairn_maildir_escape (maildir);

          g_message ("No maildir letter is left in %s for the keyword %s", escaped, flag);
          continue;
        }
      keywords->names[free_index] = g_strdup (flag);
      changed = TRUE;
    }
  saved = !changed || keywords_save (keywords, folder_fd, maildir, error);
  cairn_maildir_keywords_unlock (folder_fd);
  return saved;
}

/* The unique part of a file name: everything before the ":2," info (or
 * any other ':' suffix of the specification's experimental forms). */
char *
cairn_maildir_name_get_uid (const char *name)
{
  const char *colon = strchr (name, ':');

  return colon ? g_strndup (name, colon - name) : g_strdup (name);
}

const char *
cairn_maildir_name_get_info (const char *name)
{
  const char *info = strstr (name, ":2,");

  return info ? info + 3 : "";
}

/* Names end up in the store and on D-Bus: they must be UTF-8, without
 * control characters, and not hidden (the specification's readers skip
 * dot files; our own temporary files are in tmp/ anyway). */
gboolean
cairn_maildir_name_is_safe (const char *name)
{
  if (name[0] == '\0' || name[0] == '.' || name[0] == ':' || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '/')
      return FALSE;
  return TRUE;
}

static const char *
letter_flag (char                  letter,
             CairnMaildirKeywords *keywords)
{
  if (letter >= 'a' && letter <= 'z')
    return keywords->names[letter - 'a'];
  for (guint i = 0; i < G_N_ELEMENTS (info_letters); i++)
    if (info_letters[i].letter == letter)
      return info_letters[i].flag;
  return NULL;
}

/* The flag letters of an info end at its first comma: what follows, such
 * as ",U=12", is another program's and is kept as it is. */
static gsize
letters_length (const char *info)
{
  return strcspn (info, ",");
}

CairnFlags *
cairn_maildir_info_to_flags (const char           *info,
                             CairnMaildirKeywords *keywords)
{
  CairnFlags *flags = cairn_flags_new ();
  gsize length = letters_length (info);

  for (gsize i = 0; i < length; i++)
    {
      const char *flag = letter_flag (info[i], keywords);

      if (flag != NULL)
        cairn_flags_add (flags, flag);
    }
  return flags;
}

/* The letter of @flag; 0 if it has none (a keyword without a letter). */
static char
flag_letter (const char           *flag,
             CairnMaildirKeywords *keywords)
{
  gint index;

  for (guint i = 0; i < G_N_ELEMENTS (info_letters); i++)
    if (g_ascii_strcasecmp (info_letters[i].flag, flag) == 0)
      return info_letters[i].letter;
  if (!is_keyword (flag))
    return 0;
  index = keyword_index (keywords, flag);
  return index < 0 ? 0 : 'a' + index;
}

static int
compare_letters (gconstpointer a,
                 gconstpointer b)
{
  return *(const char *) a - *(const char *) b;
}

/* The letters sorted in ASCII order, as the specification asks, followed
 * by the rest of the info unchanged. */
static char *
finish_info (GString    *letters,
             const char *info)
{
  qsort (letters->str, letters->len, 1, compare_letters);
  g_string_append (letters, info + letters_length (info));
  return g_string_free (letters, FALSE);
}

/* The info with a flag delta applied. Letters this resource does not know
 * are kept: they belong to another program. The keywords added must have
 * their letters already (cairn_maildir_keywords_ensure()). */
char *
cairn_maildir_info_apply (const char           *info,
                          const CairnFlags     *added,
                          const CairnFlags     *removed,
                          CairnMaildirKeywords *keywords)
{
  GString *letters = g_string_new_len (info, letters_length (info));

  for (guint i = 0; removed != NULL && i < cairn_flags_get_size (removed); i++)
    {
      char letter = flag_letter (cairn_flags_get_flag (removed, i), keywords);
      const char *at = letter ? strchr (letters->str, letter) : NULL;

      if (at != NULL)
        g_string_erase (letters, at - letters->str, 1);
    }
  for (guint i = 0; added != NULL && i < cairn_flags_get_size (added); i++)
    {
      char letter = flag_letter (cairn_flags_get_flag (added, i), keywords);

      if (letter != 0 && strchr (letters->str, letter) == NULL)
        g_string_append_c (letters, letter);
    }
  return finish_info (letters, info);
}

/* The info of a message moving from a folder with the keywords @from to
 * one with @to: each keyword letter becomes the letter of the same
 * keyword there (which cairn_maildir_keywords_ensure() gave it), and a
 * letter that names no keyword is dropped, as it would name another one
 * there. */
char *
cairn_maildir_info_remap (const char           *info,
                          CairnMaildirKeywords *from,
                          CairnMaildirKeywords *to)
{
  GString *letters = g_string_new (NULL);
  gsize length = letters_length (info);

  for (gsize i = 0; i < length; i++)
    {
      const char *keyword;
      char letter;

      if (info[i] < 'a' || info[i] > 'z')
        {
          g_string_append_c (letters, info[i]);
          continue;
        }
      keyword = from->names[info[i] - 'a'];
      letter = keyword ? flag_letter (keyword, to) : 0;
      if (letter != 0 && strchr (letters->str, letter) == NULL)
        g_string_append_c (letters, letter);
    }
  return finish_info (letters, info);
}

/* Reading the header block */

static gboolean
set_read_error (GError     **error,
                int          saved_errno,
                const char  *path)
{
  g_autofree char *escaped = cairn_maildir_escape (path);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "Cannot read %s: %s", escaped, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
not_mail (GError     **error,
          const char  *path,
          const char  *why)
{
  g_autofree char *escaped = cairn_maildir_escape (path);

  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
               "%s is not a mail message: %s", escaped, why);
  return FALSE;
}

/* Finds where the header block ends, after its empty line, whatever ends
 * its lines: LF, CRLF, or CR alone as old Mac mail has it. The search
 * goes on from @scanned, where the last call stopped, so that a long
 * header is read once; a CR at the very end waits for the next byte. */
static gssize
header_end (const guint8 *data,
            gsize         length,
            gsize        *scanned,
            gboolean     *line_start)
{
  gsize i = *scanned;

  while (i < length)
    {
      gsize eol = 0;

      if (data[i] == '\n')
        eol = 1;
      else if (data[i] == '\r')
        {
          if (i + 1 == length)
            break;
          eol = data[i + 1] == '\n' ? 2 : 1;
        }
      if (eol == 0)
        {
          *line_start = FALSE;
          i++;
          continue;
        }
      if (*line_start)
        return i + eol;
      *line_start = TRUE;
      i += eol;
    }
  *scanned = i;
  return -1;
}

/* Reads the header block only: a large attachment is never touched. A
 * header block with no end within MAX_HEADER_SIZE is cut there. Opened
 * beneath the folder, without following a symbolic link, which could
 * lead anywhere. */
static GByteArray *
read_header_block (int          folder_fd,
                   const char  *relative_name,
                   const char  *path,
                   struct stat *st,
                   GError     **error)
{
  g_autoptr(GByteArray) block = g_byte_array_new ();
  g_auto(CairnMaildirFd) fd = -1;
  gsize scanned = 0;
  gboolean line_start = TRUE;
  gssize end = -1;

  fd = cairn_file_tree_openat (folder_fd, relative_name, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      if (errno == ELOOP)
        not_mail (error, path, "a symbolic link, not followed");
      else
        set_read_error (error, errno, path);
      return NULL;
    }
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      not_mail (error, path, "not a regular file");
      return NULL;
    }
  while (end < 0 && block->len < MAX_HEADER_SIZE)
    {
      guint start = block->len;
      gssize n;

      g_byte_array_set_size (block, start + READ_CHUNK);
      n = read (fd, block->data + start, READ_CHUNK);
      if (n < 0 && errno == EINTR)
        n = 0;
      else if (n < 0)
        {
          set_read_error (error, errno, path);
          return NULL;
        }
      g_byte_array_set_size (block, start + n);
      if (n == 0)
        break;
      end = header_end (block->data, block->len, &scanned, &line_start);
    }
  if (end >= 0)
    g_byte_array_set_size (block, end);
  else if (block->len > MAX_HEADER_SIZE)
    g_byte_array_set_size (block, MAX_HEADER_SIZE);
  return g_steal_pointer (&block);
}


/* Whether @info has a keyword letter that @keywords do not name. */
static gboolean
has_unknown_keyword (const char           *info,
                     CairnMaildirKeywords *keywords)
{
  gsize length = letters_length (info);

  for (gsize i = 0; i < length; i++)
    if (info[i] >= 'a' && info[i] <= 'z' && keywords->names[info[i] - 'a'] == NULL)
      return TRUE;
  return FALSE;
}

/* Reads @keywords again if dovecot-keywords was replaced since they were
 * read. */
static void
keywords_refresh (CairnMaildirKeywords *keywords,
                  int                   folder_fd)
{
  struct stat st;

  if (cairn_maildir_statat (folder_fd, KEYWORDS_FILE, &st) != 0 ||
      (st.st_ino == keywords->inode && st.st_mtime == keywords->mtime &&
       st.st_mtim.tv_nsec == keywords->mtime_nsec))
    return;
  cairn_maildir_keywords_load (keywords, folder_fd);
}

/* Makes @keywords name the letters of @info if dovecot-keywords does by
 * now. A message met with a letter that names nothing was renamed after
 * the file was read, during a long scan, or is being renamed by Dovecot,
 * which gives messages letters of new keywords first and writes
 * dovecot-keywords at the end, all under its lock of the folder: the lock
 * is waited for, a little. Without the keyword its flags would lack it,
 * and since the name is the remote revision, no later sync would read it
 * again. A letter that names nothing in the file as it is now costs a
 * stat(). */
static void
keywords_resolve (CairnMaildirKeywords *keywords,
                  int                   folder_fd,
                  const char           *info)
{
  gint64 deadline = g_get_monotonic_time () + LOCK_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  struct stat st;

  if (!has_unknown_keyword (info, keywords))
    return;
  keywords_refresh (keywords, folder_fd);
  if (!has_unknown_keyword (info, keywords))
    return;
  while (cairn_maildir_statat (folder_fd, UIDLIST_LOCK_FILE, &st) == 0 &&
         !lock_is_stale (folder_fd) && g_get_monotonic_time () < deadline)
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
  keywords_refresh (keywords, folder_fd);
}

/* Reads the message @relative_name ("cur/NAME" or "new/NAME") of the
 * folder @folder_fd, whose path is @maildir, into an item with its remote
 * id, remote revision (the relative name: the content of a maildir
 * message never changes, only its name), GID, size, flags, ENVELOPE part
 * and foreign RFC822 part. Raw 8-bit header text that is not UTF-8 is
 * read in the message's charset, else in @fallback_charset. */
CairnItem *
cairn_maildir_message_read (int                    folder_fd,
                            const char            *maildir,
                            const char            *relative_name,
                            CairnMaildirKeywords  *keywords,
                            const char            *fallback_charset,
                            GError               **error)
{
  g_autofree char *path = g_build_filename (maildir, relative_name, NULL);
  const char *name = strchr (relative_name, '/') + 1;
  g_autoptr(GByteArray) block = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnPart) envelope_part = NULL;
  g_autoptr(CairnPart) rfc822 = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *envelope = NULL;
  g_autofree char *message_id = NULL;
  g_autoptr(GBytes) envelope_bytes = NULL;
  g_autoptr(GDateTime) date = NULL;
  struct stat st;
  gsize envelope_length;

  block = read_header_block (folder_fd, relative_name, path, &st, error);
  if (block == NULL)
    return NULL;
  if (!cairn_mail_header_looks_like (block))
    return not_mail (error, path, block->len == 0 ? "empty" : "it does not start with a header"),
           NULL;
  envelope = cairn_mail_header_read_envelope (block, fallback_charset, &message_id);
  /* Without a Date field, the delivery: the file's time. */
  date = cairn_mail_header_envelope_date (envelope);
  if (date == NULL)
    date = g_date_time_new_from_unix_utc (st.st_mtime);
  uid = cairn_maildir_name_get_uid (name);
  envelope_length = strlen (envelope);
  envelope_bytes = g_bytes_new_take (g_steal_pointer (&envelope), envelope_length);
  envelope_part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, envelope_bytes);
  rfc822 = cairn_part_new_foreign (CAIRN_PART_RFC822, path, st.st_size);
  keywords_resolve (keywords, folder_fd, cairn_maildir_name_get_info (name));
  flags = cairn_maildir_info_to_flags (cairn_maildir_name_get_info (name), keywords);

  item = cairn_item_new (CAIRN_MAILDIR_MIME_TYPE);
  cairn_item_set_remote_id (item, uid);
  cairn_item_set_remote_revision (item, relative_name);
  cairn_item_set_gid (item, message_id && g_utf8_validate (message_id, -1, NULL) ? message_id : NULL);
  cairn_item_set_size (item, st.st_size);
  cairn_item_set_date (item, date);
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, envelope_part);
  cairn_item_set_part (item, rfc822);
  return g_steal_pointer (&item);
}
