/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Messages of a maildir: file names, the flags in their info, and the
 * envelope read from their header block. Everything here is safe to call
 * from a worker thread. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "cairn-maildir-message-private.h"

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

/* The flag of each info letter, as the maildir specification and Dovecot
 * define them; P ("passed") is the $Forwarded keyword of RFC 5788. */
static const struct
{
  char letter;
  const char *flag;
} info_letters[] = {
  { 'D', CAIRN_FLAG_DRAFT },
  { 'F', CAIRN_FLAG_FLAGGED },
  { 'P', "$Forwarded" },
  { 'R', CAIRN_FLAG_ANSWERED },
  { 'S', CAIRN_FLAG_SEEN },
  { 'T', CAIRN_FLAG_DELETED },
};

/* A header block longer than this is not a mail's. */
#define MAX_HEADER_SIZE (1024 * 1024)
#define READ_CHUNK 8192

#define KEYWORDS_FILE "dovecot-keywords"

void
cairn_maildir_keywords_clear (CairnMaildirKeywords *keywords)
{
  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    g_clear_pointer (&keywords->names[i], g_free);
}

/* Lines are "INDEX NAME"; a missing or broken file means no keywords,
 * whose letters are then kept in file names but not shown as flags. */
void
cairn_maildir_keywords_load (CairnMaildirKeywords *keywords,
                             const char           *maildir)
{
  g_autofree char *path = g_build_filename (maildir, KEYWORDS_FILE, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  cairn_maildir_keywords_clear (keywords);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
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

gboolean
cairn_maildir_keywords_save (CairnMaildirKeywords  *keywords,
                             const char            *maildir,
                             GError               **error)
{
  g_autofree char *path = g_build_filename (maildir, KEYWORDS_FILE, NULL);
  g_autoptr(GString) contents = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;

  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    if (keywords->names[i] != NULL)
      g_string_append_printf (contents, "%u %s\n", i, keywords->names[i]);
  /* Replaced atomically: Dovecot may read it at any moment. */
  if (!g_file_set_contents_full (path, contents->str, contents->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "Cannot write the keywords of %s: %s", maildir, local_error->message);
      return FALSE;
    }
  return TRUE;
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

CairnFlags *
cairn_maildir_info_to_flags (const char           *info,
                             CairnMaildirKeywords *keywords)
{
  CairnFlags *flags = cairn_flags_new ();

  for (const char *p = info; *p != '\0'; p++)
    {
      const char *flag = letter_flag (*p, keywords);

      if (flag != NULL)
        cairn_flags_add (flags, flag);
    }
  return flags;
}

/* The letter of @flag, allocating a keyword letter if needed; 0 if it has
 * none (all 26 keyword letters taken). */
static char
flag_letter (const char           *flag,
             CairnMaildirKeywords *keywords,
             gboolean              allocate,
             gboolean             *keywords_changed)
{
  guint free_index = CAIRN_MAILDIR_N_KEYWORDS;

  for (guint i = 0; i < G_N_ELEMENTS (info_letters); i++)
    if (g_ascii_strcasecmp (info_letters[i].flag, flag) == 0)
      return info_letters[i].letter;
  for (guint i = 0; i < CAIRN_MAILDIR_N_KEYWORDS; i++)
    {
      if (g_strcmp0 (keywords->names[i], flag) == 0)
        return 'a' + i;
      if (keywords->names[i] == NULL && free_index == CAIRN_MAILDIR_N_KEYWORDS)
        free_index = i;
    }
  if (!allocate || free_index == CAIRN_MAILDIR_N_KEYWORDS)
    return 0;
  keywords->names[free_index] = g_strdup (flag);
  *keywords_changed = TRUE;
  return 'a' + free_index;
}

static int
compare_letters (gconstpointer a,
                 gconstpointer b)
{
  return *(const char *) a - *(const char *) b;
}

/* The info with a flag delta applied. Letters this resource does not know
 * are kept: they belong to another program. The result is sorted in
 * ASCII order, as the specification asks. */
char *
cairn_maildir_info_apply (const char           *info,
                          const CairnFlags     *added,
                          const CairnFlags     *removed,
                          CairnMaildirKeywords *keywords,
                          gboolean             *keywords_changed)
{
  g_autoptr(GString) letters = g_string_new (info);

  *keywords_changed = FALSE;
  for (guint i = 0; removed != NULL && i < cairn_flags_get_size (removed); i++)
    {
      char letter = flag_letter (cairn_flags_get_flag (removed, i), keywords, FALSE, NULL);
      const char *at = letter ? strchr (letters->str, letter) : NULL;

      if (at != NULL)
        g_string_erase (letters, at - letters->str, 1);
    }
  for (guint i = 0; added != NULL && i < cairn_flags_get_size (added); i++)
    {
      char letter = flag_letter (cairn_flags_get_flag (added, i), keywords, TRUE,
                                 keywords_changed);

      if (letter != 0 && strchr (letters->str, letter) == NULL)
        g_string_append_c (letters, letter);
      else if (letter == 0)
        g_message ("No maildir letter is left for the keyword %s", cairn_flags_get_flag (added, i));
    }
  qsort (letters->str, letters->len, 1, compare_letters);
  return g_string_free (g_steal_pointer (&letters), FALSE);
}

/* Reading the header block */

static gboolean
set_read_error (GError     **error,
                int          saved_errno,
                const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "Cannot read %s: %s", path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
not_mail (GError     **error,
          const char  *path,
          const char  *why)
{
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
               "%s is not a mail message: %s", path, why);
  return FALSE;
}

/* Where the header block of @data ends (after its empty line), or -1. */
static gssize
header_end (const char *data,
            gsize       length)
{
  for (gsize i = 0; i + 1 < length; i++)
    {
      if (data[i] != '\n')
        continue;
      if (data[i + 1] == '\n')
        return i + 2;
      if (data[i + 1] == '\r' && i + 2 < length && data[i + 2] == '\n')
        return i + 3;
    }
  return -1;
}

/* Reads the header block only: a large attachment is never touched.
 * Opened without following a symbolic link, which could lead anywhere. */
static GByteArray *
read_header_block (const char  *path,
                   struct stat *st,
                   GError     **error)
{
  g_autoptr(GByteArray) block = g_byte_array_new ();
  int fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  gssize end = -1;

  if (fd < 0)
    {
      if (errno == ELOOP)
        not_mail (error, path, "a symbolic link");
      else
        set_read_error (error, errno, path);
      return NULL;
    }
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      not_mail (error, path, "not a regular file");
      return NULL;
    }
  while (end < 0 && block->len < MAX_HEADER_SIZE)
    {
      guint start = block->len;
      guint search_from;
      gssize n;

      g_byte_array_set_size (block, start + READ_CHUNK);
      n = read (fd, block->data + start, READ_CHUNK);
      if (n < 0 && errno == EINTR)
        n = 0;
      else if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          set_read_error (error, saved_errno, path);
          return NULL;
        }
      g_byte_array_set_size (block, start + n);
      if (n == 0)
        break;
      /* Search from two bytes before the chunk: the empty line may span it. */
      search_from = start >= 2 ? start - 2 : 0;
      end = header_end ((const char *) block->data + search_from, block->len - search_from);
      if (end >= 0)
        end += search_from;
    }
  close (fd);
  if (end < 0 && block->len >= MAX_HEADER_SIZE)
    {
      not_mail (error, path, "no end of its header");
      return NULL;
    }
  if (end >= 0)
    g_byte_array_set_size (block, end);
  return g_steal_pointer (&block);
}

/* RFC 5322: a header block starts with a field name of printable ASCII
 * followed by a colon (or an mbox "From " line some programs leave), and
 * holds no NUL. */
static gboolean
looks_like_header (const GByteArray *block)
{
  const guint8 *data = block->data;
  guint i = 0;

  if (block->len == 0 || memchr (data, '\0', block->len) != NULL)
    return FALSE;
  if (block->len > 5 && memcmp (data, "From ", 5) == 0)
    return TRUE;
  while (i < block->len && data[i] > 32 && data[i] < 127 && data[i] != ':')
    i++;
  return i > 0 && i < block->len && data[i] == ':';
}

/* One line "Name: value" of the envelope; values are made single-line so
 * the part stays unambiguous. */
static void
append_field (GString    *envelope,
              const char *name,
              const char *value)
{
  gsize start;

  if (value == NULL || *value == '\0')
    return;
  g_string_append_printf (envelope, "%s: ", name);
  start = envelope->len;
  g_string_append (envelope, value);
  for (gsize i = start; i < envelope->len; i++)
    if ((guchar) envelope->str[i] < 0x20)
      envelope->str[i] = ' ';
  g_string_append_c (envelope, '\n');
}

static void
append_addresses (GString             *envelope,
                  const char          *name,
                  InternetAddressList *list)
{
  g_autofree char *value = NULL;

  if (list == NULL || internet_address_list_length (list) == 0)
    return;
  value = internet_address_list_to_string (list, NULL, FALSE);
  append_field (envelope, name, value);
}

static char *
build_envelope (GMimeMessage *message)
{
  GString *envelope = g_string_new (NULL);
  GMimeObject *object = GMIME_OBJECT (message);
  GDateTime *date = g_mime_message_get_date (message);
  const char *message_id = g_mime_message_get_message_id (message);
  g_autofree char *date_string = date ? g_mime_utils_header_format_date (date) : NULL;
  g_autofree char *bracketed_id = message_id ? g_strdup_printf ("<%s>", message_id) : NULL;

  append_addresses (envelope, "From", g_mime_message_get_from (message));
  append_addresses (envelope, "To", g_mime_message_get_to (message));
  append_addresses (envelope, "Cc", g_mime_message_get_cc (message));
  append_field (envelope, "Subject", g_mime_message_get_subject (message));
  append_field (envelope, "Date", date_string);
  append_field (envelope, "Message-ID", bracketed_id);
  append_field (envelope, "In-Reply-To", g_mime_object_get_header (object, "In-Reply-To"));
  append_field (envelope, "References", g_mime_object_get_header (object, "References"));
  return g_string_free (envelope, FALSE);
}

/* Reads the message @relative_name ("cur/NAME" or "new/NAME") of
 * @maildir into an item with its remote id, remote revision (the relative
 * name: the content of a maildir message never changes, only its name),
 * GID, size, flags, ENVELOPE part and foreign RFC822 part. */
CairnItem *
cairn_maildir_message_read (const char            *maildir,
                            const char            *relative_name,
                            CairnMaildirKeywords  *keywords,
                            GError               **error)
{
  g_autofree char *path = g_build_filename (maildir, relative_name, NULL);
  const char *name = strchr (relative_name, '/') + 1;
  g_autoptr(GByteArray) block = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnPart) envelope_part = NULL;
  g_autoptr(CairnPart) rfc822 = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *envelope = NULL;
  g_autoptr(GBytes) envelope_bytes = NULL;
  GMimeObject *object;
  struct stat st;
  gsize envelope_length;

  block = read_header_block (path, &st, error);
  if (block == NULL)
    return NULL;
  if (!looks_like_header (block))
    return not_mail (error, path, "it does not start with a header"), NULL;

  stream = g_mime_stream_mem_new_with_buffer ((const char *) block->data, block->len);
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    return not_mail (error, path, "its header cannot be parsed"), NULL;
  object = GMIME_OBJECT (message);
  if (g_mime_object_get_header (object, "From") == NULL &&
      g_mime_object_get_header (object, "Date") == NULL &&
      g_mime_object_get_header (object, "Message-ID") == NULL &&
      g_mime_object_get_header (object, "Subject") == NULL)
    return not_mail (error, path, "it has no From, Date, Message-ID or Subject"), NULL;

  uid = cairn_maildir_name_get_uid (name);
  envelope = build_envelope (message);
  envelope_length = strlen (envelope);
  envelope_bytes = g_bytes_new_take (g_steal_pointer (&envelope), envelope_length);
  envelope_part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, envelope_bytes);
  rfc822 = cairn_part_new_foreign (CAIRN_PART_RFC822, path, st.st_size);
  flags = cairn_maildir_info_to_flags (cairn_maildir_name_get_info (name), keywords);

  item = cairn_item_new (CAIRN_MAILDIR_MIME_TYPE);
  cairn_item_set_remote_id (item, uid);
  cairn_item_set_remote_revision (item, relative_name);
  cairn_item_set_gid (item, g_mime_message_get_message_id (message));
  cairn_item_set_size (item, st.st_size);
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, envelope_part);
  cairn_item_set_part (item, rfc822);
  return g_steal_pointer (&item);
}
