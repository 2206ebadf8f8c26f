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
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)

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

/* The header fields the envelope holds, in its order. */
typedef enum
{
  FIELD_FROM,
  FIELD_TO,
  FIELD_CC,
  FIELD_SUBJECT,
  FIELD_DATE,
  FIELD_MESSAGE_ID,
  FIELD_IN_REPLY_TO,
  FIELD_REFERENCES,
  N_FIELDS
} Field;

static const char * const field_names[N_FIELDS] = {
  "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
};

static gboolean
is_address_field (Field field)
{
  return field == FIELD_FROM || field == FIELD_TO || field == FIELD_CC;
}

static Field
field_of (const char *name,
          gsize       length)
{
  for (Field field = 0; field < N_FIELDS; field++)
    if (strlen (field_names[field]) == length &&
        g_ascii_strncasecmp (field_names[field], name, length) == 0)
      return field;
  return N_FIELDS;
}

/* Splits the header block into the envelope's fields, unfolded. Only the
 * splitting is done here, which is all that a sync of many thousand
 * messages can afford; the values are decoded by GMime. A repeated
 * address field adds its addresses; any other keeps its first value. */
static void
split_fields (const char *block,
              gsize       length,
              GString    *fields[N_FIELDS])
{
  const char *end = block + length;
  Field current = N_FIELDS;

  for (const char *line = block; line < end; )
    {
      const char *eol = memchr (line, '\n', end - line);
      const char *next = eol ? eol + 1 : end;
      const char *colon;

      if (eol == NULL)
        eol = end;
      if (eol > line && eol[-1] == '\r')
        eol--;
      if (line[0] == ' ' || line[0] == '\t')
        {
          if (current != N_FIELDS)
            g_string_append_len (fields[current], line, eol - line);
        }
      else if ((colon = memchr (line, ':', eol - line)) != NULL)
        {
          current = field_of (line, colon - line);
          if (current != N_FIELDS && fields[current] != NULL && !is_address_field (current))
            current = N_FIELDS;
          else if (current != N_FIELDS)
            {
              if (fields[current] == NULL)
                fields[current] = g_string_new (NULL);
              else
                g_string_append (fields[current], ", ");
              g_string_append_len (fields[current], colon + 1, eol - colon - 1);
            }
        }
      else
        current = N_FIELDS;
      line = next;
    }
}

/* RFC 2047 words or raw 8-bit text: only those need GMime's decoders. */
static gboolean
needs_decoding (const char *value)
{
  if (strstr (value, "=?") != NULL)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      return TRUE;
  return FALSE;
}

static char *
decode_value (Field       field,
              const char *value)
{
  g_autoptr(InternetAddressList) addresses = NULL;
  g_autofree char *decoded = NULL;

  if (!needs_decoding (value))
    return g_strdup (value);
  if (is_address_field (field))
    {
      addresses = internet_address_list_parse (NULL, value);
      if (addresses != NULL && internet_address_list_length (addresses) > 0)
        decoded = internet_address_list_to_string (addresses, NULL, FALSE);
    }
  else if (field != FIELD_MESSAGE_ID && field != FIELD_IN_REPLY_TO && field != FIELD_REFERENCES)
    decoded = g_mime_utils_header_decode_text (NULL, value);
  return g_utf8_make_valid (decoded ? decoded : value, -1);
}

/* The envelope part: one line "Name: value" per field present, values
 * made single-line so that the part stays unambiguous. */
static char *
build_envelope (GString *fields[N_FIELDS])
{
  GString *envelope = g_string_new (NULL);

  for (Field field = 0; field < N_FIELDS; field++)
    {
      g_autofree char *value = NULL;
      gsize start;

      if (fields[field] == NULL)
        continue;
      value = decode_value (field, g_strstrip (fields[field]->str));
      if (*value == '\0')
        continue;
      g_string_append_printf (envelope, "%s: ", field_names[field]);
      start = envelope->len;
      g_string_append (envelope, value);
      for (gsize i = start; i < envelope->len; i++)
        if ((guchar) envelope->str[i] < 0x20)
          envelope->str[i] = ' ';
      g_string_append_c (envelope, '\n');
    }
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
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(CairnPart) envelope_part = NULL;
  g_autoptr(CairnPart) rfc822 = NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *envelope = NULL;
  g_autofree char *message_id = NULL;
  g_autoptr(GBytes) envelope_bytes = NULL;
  GString *fields[N_FIELDS] = { NULL };
  struct stat st;
  gsize envelope_length;

  block = read_header_block (path, &st, error);
  if (block == NULL)
    return NULL;
  if (!looks_like_header (block))
    return not_mail (error, path, "it does not start with a header"), NULL;
  split_fields ((const char *) block->data, block->len, fields);
  if (fields[FIELD_FROM] == NULL && fields[FIELD_DATE] == NULL &&
      fields[FIELD_MESSAGE_ID] == NULL && fields[FIELD_SUBJECT] == NULL)
    {
      for (Field field = 0; field < N_FIELDS; field++)
        if (fields[field] != NULL)
          g_string_free (fields[field], TRUE);
      return not_mail (error, path, "it has no From, Date, Message-ID or Subject"), NULL;
    }

  if (fields[FIELD_MESSAGE_ID] != NULL)
    message_id = g_mime_utils_decode_message_id (fields[FIELD_MESSAGE_ID]->str);
  envelope = build_envelope (fields);
  for (Field field = 0; field < N_FIELDS; field++)
    if (fields[field] != NULL)
      g_string_free (fields[field], TRUE);
  uid = cairn_maildir_name_get_uid (name);
  envelope_length = strlen (envelope);
  envelope_bytes = g_bytes_new_take (g_steal_pointer (&envelope), envelope_length);
  envelope_part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, envelope_bytes);
  rfc822 = cairn_part_new_foreign (CAIRN_PART_RFC822, path, st.st_size);
  flags = cairn_maildir_info_to_flags (cairn_maildir_name_get_info (name), keywords);

  item = cairn_item_new (CAIRN_MAILDIR_MIME_TYPE);
  cairn_item_set_remote_id (item, uid);
  cairn_item_set_remote_revision (item, relative_name);
  cairn_item_set_gid (item, message_id && g_utf8_validate (message_id, -1, NULL) ? message_id : NULL);
  cairn_item_set_size (item, st.st_size);
  cairn_item_set_flags (item, flags);
  cairn_item_set_part (item, envelope_part);
  cairn_item_set_part (item, rfc822);
  return g_steal_pointer (&item);
}
