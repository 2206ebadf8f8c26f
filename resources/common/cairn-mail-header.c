/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the mail resources (maildir, IMAP) share, so that both store a
 * message's ENVELOPE part in one format and folder names alike. */
#include <string.h>
#include <gmime/gmime.h>

#include "cairn-mail-header-private.h"

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeContentType, g_object_unref)

/* The block with every line ending made LF and every NUL a space, which
 * is all the splitting below needs to know. Most mail needs neither. */
void
cairn_mail_header_normalize (GByteArray *block)
{
  gboolean has_nul;
  guint8 *end, *out, *cr;
  gsize n_out = 0;

  /* An empty array may have no data at all, which memchr() must not get. */
  if (block->len == 0)
    return;
  has_nul = memchr (block->data, '\0', block->len) != NULL;
  end = block->data + block->len;
  cr = memchr (block->data, '\r', block->len);
  if (cr == NULL && !has_nul)
    return;
  /* Without NULs (IMAP's CRLF lines), the runs between CRs move whole. */
  if (!has_nul)
    {
      out = cr;
      while (cr != NULL)
        {
          guint8 *next;

          if (cr + 1 < end && cr[1] == '\n')
            cr++;
          *out++ = '\n';
          next = memchr (cr + 1, '\r', end - cr - 1);
          memmove (out, cr + 1, (next ? next : end) - cr - 1);
          out += (next ? next : end) - cr - 1;
          cr = next;
        }
      g_byte_array_set_size (block, out - block->data);
      return;
    }
  for (gsize i = 0; i < block->len; i++)
    {
      guint8 c = block->data[i];

      if (c == '\r')
        {
          if (i + 1 < block->len && block->data[i + 1] == '\n')
            i++;
          c = '\n';
        }
      else if (c == '\0')
        c = ' ';
      block->data[n_out++] = c;
    }
  g_byte_array_set_size (block, n_out);
}

/* RFC 5322: a header block starts with a field, a name of printable ASCII
 * then a colon (the obsolete syntax allows blanks before it); an mbox
 * "From " line that some programs leave may come first. Which fields
 * follow does not matter: Dovecot lists any such file. */
gboolean
cairn_mail_header_looks_like (const GByteArray *block)
{
  const guint8 *data = block->data;
  gsize length = block->len;
  gsize i = 0;

  if ((length > 5 && memcmp (data, "From ", 5) == 0) ||
      (length > 6 && memcmp (data, ">From ", 6) == 0))
    {
      const guint8 *eol = memchr (data, '\n', length);

      if (eol == NULL)
        return FALSE;
      data = eol + 1;
      length -= data - block->data;
    }
  while (i < length && data[i] > 32 && data[i] < 127 && data[i] != ':')
    i++;
  if (i == 0)
    return FALSE;
  while (i < length && (data[i] == ' ' || data[i] == '\t'))
    i++;
  return i < length && data[i] == ':';
}

/* The header fields the envelope holds, in its order, then those that
 * only help to decode them. */
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
  N_ENVELOPE_FIELDS,
  FIELD_CONTENT_TYPE = N_ENVELOPE_FIELDS,
  N_FIELDS
} Field;

static const char * const field_names[N_FIELDS] = {
  "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
  "Content-Type",
};

static gboolean
is_address_field (Field field)
{
  return field == FIELD_FROM || field == FIELD_TO || field == FIELD_CC;
}

/* Message ids are kept as they are, only made UTF-8. */
static gboolean
is_message_id_field (Field field)
{
  return field == FIELD_MESSAGE_ID || field == FIELD_IN_REPLY_TO || field == FIELD_REFERENCES;
}

static Field
field_of (const char *name,
          gsize       length)
{
  while (length > 0 && (name[length - 1] == ' ' || name[length - 1] == '\t'))
    length--;
  for (Field field = 0; field < N_FIELDS; field++)
    if (strlen (field_names[field]) == length &&
        g_ascii_strncasecmp (field_names[field], name, length) == 0)
      return field;
  return N_FIELDS;
}

/* Splits the header block, its lines ending in LF, into the fields,
 * unfolded. Only the splitting is done here, which is all that a sync of
 * many thousand messages can afford; the values are decoded by GMime. A
 * repeated address field adds its addresses; any other keeps its first
 * value. */
static void
split_fields (const char *block,
              gsize       length,
              GString    *buffers[N_FIELDS],
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
                fields[current] = g_string_truncate (buffers[current], 0);
              else
                g_string_append_len (fields[current], ", ", 2);
              g_string_append_len (fields[current], colon + 1, eol - colon - 1);
            }
        }
      else
        current = N_FIELDS;
      line = next;
    }
}

static gboolean
has_8bit (const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      return TRUE;
  return FALSE;
}

/* RFC 2047 words or raw 8-bit text: only those need decoding. */
static gboolean
needs_decoding (const char *value)
{
  return strstr (value, "=?") != NULL || has_8bit (value);
}

/* The charset the Content-Type field declares, if any. */
static char *
declared_charset (GString *content_type)
{
  g_autoptr(GMimeContentType) type = NULL;
  const char *charset;

  if (content_type == NULL)
    return NULL;
  type = g_mime_content_type_parse (NULL, content_type->str);
  charset = type ? g_mime_content_type_get_parameter (type, "charset") : NULL;
  return charset ? g_strdup (charset) : NULL;
}

/* Raw 8-bit text as UTF-8: as it is when it is valid UTF-8, else in the
 * charset that @content_type declares, else in the fallback charset; what
 * none of them can convert keeps its valid parts. The Content-Type field
 * is parsed only then, as most mail never needs it. */
static char *
raw_to_utf8 (const char *value,
             GString    *content_type,
             const char *fallback_charset)
{
  g_autofree char *charset = NULL;
  const char *charsets[2];

  if (g_utf8_validate (value, -1, NULL))
    return g_strdup (value);
  charset = declared_charset (content_type);
  charsets[0] = charset;
  charsets[1] = fallback_charset;
  for (guint i = 0; i < G_N_ELEMENTS (charsets); i++)
    {
      char *converted;

      if (charsets[i] == NULL || g_ascii_strcasecmp (charsets[i], "utf-8") == 0 ||
          g_ascii_strcasecmp (charsets[i], "us-ascii") == 0)
        continue;
      converted = g_convert (value, -1, "UTF-8", charsets[i], NULL, NULL, NULL);
      if (converted != NULL)
        return converted;
    }
  return g_utf8_make_valid (value, -1);
}

static char *
decode_uncached (Field       field,
                 const char *value,
                 GString    *content_type,
                 const char *fallback_charset)
{
  g_autoptr(InternetAddressList) addresses = NULL;
  g_autofree char *utf8 = NULL;
  g_autofree char *decoded = NULL;

  utf8 = raw_to_utf8 (value, content_type, fallback_charset);
  if (is_address_field (field))
    {
      addresses = internet_address_list_parse (NULL, utf8);
      if (addresses != NULL && internet_address_list_length (addresses) > 0)
        decoded = internet_address_list_to_string (addresses, NULL, FALSE);
    }
  else if (!is_message_id_field (field))
    decoded = g_mime_utils_header_decode_text (NULL, utf8);
  return g_utf8_make_valid (decoded ? decoded : utf8, -1);
}

/* Decoded values by raw value, for address fields and for text ones,
 * per thread: mail repeats its correspondents and subjects, and decoding
 * them was a third of reading a message. Only values in ASCII are kept,
 * whose decoding depends on nothing but the value, and only short ones:
 * names and subjects repeat, and 4,096 hostile values of a megabyte each
 * would have been kept too. The cache is emptied when it is full. */
#define DECODE_CACHE_SIZE 4096
#define DECODE_CACHE_MAX_VALUE 256

typedef struct
{
  GHashTable *values[2];
} DecodeCache;

static void
decode_cache_free (gpointer data)
{
  DecodeCache *cache = data;

  for (guint i = 0; i < G_N_ELEMENTS (cache->values); i++)
    g_hash_table_unref (cache->values[i]);
  g_free (cache);
}

static GPrivate decode_cache = G_PRIVATE_INIT (decode_cache_free);

static GHashTable *
decode_cache_for (Field field)
{
  DecodeCache *cache = g_private_get (&decode_cache);

  if (cache == NULL)
    {
      cache = g_new (DecodeCache, 1);
      for (guint i = 0; i < G_N_ELEMENTS (cache->values); i++)
        cache->values[i] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_private_set (&decode_cache, cache);
    }
  return cache->values[is_address_field (field) ? 0 : 1];
}

/* The value decoded: @value itself when it needs no decoding, as most
 * do not, else a copy that @decoded gets to free. */
static const char *
decode_value (Field        field,
              const char  *value,
              GString     *content_type,
              const char  *fallback_charset,
              char       **decoded)
{
  GHashTable *cache;
  const char *cached;

  if (!needs_decoding (value))
    return value;
  if (has_8bit (value) || is_message_id_field (field) ||
      strlen (value) > DECODE_CACHE_MAX_VALUE)
    return *decoded = decode_uncached (field, value, content_type, fallback_charset);

  cache = decode_cache_for (field);
  cached = g_hash_table_lookup (cache, value);
  if (cached != NULL)
    return *decoded = g_strdup (cached);
  *decoded = decode_uncached (field, value, content_type, fallback_charset);
  if (g_hash_table_size (cache) >= DECODE_CACHE_SIZE)
    g_hash_table_remove_all (cache);
  g_hash_table_insert (cache, g_strdup (value), g_strdup (*decoded));
  return *decoded;
}

/* The envelope part: one line "Name: value" per field present, values
 * made single-line so that the part stays unambiguous. */
static char *
build_envelope (GString    *fields[N_FIELDS],
                GString    *envelope,
                const char *fallback_charset)
{
  g_string_truncate (envelope, 0);
  for (Field field = 0; field < N_ENVELOPE_FIELDS; field++)
    {
      g_autofree char *decoded = NULL;
      const char *value;
      gsize start;

      if (fields[field] == NULL)
        continue;
      value = decode_value (field, g_strstrip (fields[field]->str), fields[FIELD_CONTENT_TYPE],
                            fallback_charset, &decoded);
      if (*value == '\0')
        continue;
      g_string_append (envelope, field_names[field]);
      g_string_append_len (envelope, ": ", 2);
      start = envelope->len;
      g_string_append (envelope, value);
      for (gsize i = start; i < envelope->len; i++)
        if ((guchar) envelope->str[i] < 0x20)
          envelope->str[i] = ' ';
      g_string_append_c (envelope, '\n');
    }
  return g_strndup (envelope->str, envelope->len);
}

/* The buffers a thread reads header blocks with, kept from one block to
 * the next: making them anew for every message was a fifth of the IMAP
 * sync's converter thread, much of it in malloc. One that a long block
 * grew past SCRATCH_MAX_KEPT bytes is let go after use. */
#define SCRATCH_MAX_KEPT 65536

typedef struct
{
  GString *fields[N_FIELDS];
  GString *envelope;
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *scratch = data;

  for (Field field = 0; field < N_FIELDS; field++)
    g_string_free (scratch->fields[field], TRUE);
  g_string_free (scratch->envelope, TRUE);
  g_free (scratch);
}

static GPrivate scratch_buffers = G_PRIVATE_INIT (scratch_free);

static Scratch *
scratch_get (void)
{
  Scratch *scratch = g_private_get (&scratch_buffers);

  if (scratch == NULL)
    {
      scratch = g_new (Scratch, 1);
      for (Field field = 0; field < N_FIELDS; field++)
        scratch->fields[field] = g_string_new (NULL);
      scratch->envelope = g_string_new (NULL);
      g_private_set (&scratch_buffers, scratch);
    }
  return scratch;
}

static void
scratch_trim (GString **buffer)
{
  if ((*buffer)->allocated_len > SCRATCH_MAX_KEPT)
    {
      g_string_free (*buffer, TRUE);
      *buffer = g_string_new (NULL);
    }
}

/* Reads the header block @block (normalized in place) into the text of
 * the ENVELOPE part; @message_id gets the Message-ID without angle
 * brackets, or NULL. */
char *
cairn_mail_header_read_envelope (GByteArray  *block,
                                 const char  *fallback_charset,
                                 char       **message_id)
{
  GString *fields[N_FIELDS] = { NULL };
  Scratch *scratch = scratch_get ();
  char *envelope;

  cairn_mail_header_normalize (block);
  split_fields ((const char *) block->data, block->len, scratch->fields, fields);
  *message_id = fields[FIELD_MESSAGE_ID] != NULL ?
                g_mime_utils_decode_message_id (fields[FIELD_MESSAGE_ID]->str) : NULL;
  envelope = build_envelope (fields, scratch->envelope, fallback_charset);
  for (Field field = 0; field < N_FIELDS; field++)
    scratch_trim (&scratch->fields[field]);
  scratch_trim (&scratch->envelope);
  return envelope;
}

/* The date of the Date field of the text of an ENVELOPE part, or NULL
 * when it has none that parses. */
GDateTime *
cairn_mail_header_envelope_date (const char *envelope)
{
  const char *line = envelope;
  g_autofree char *value = NULL;

  while (line != NULL && !g_str_has_prefix (line, "Date: "))
    {
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  if (line == NULL)
    return NULL;
  line += strlen ("Date: ");
  value = g_strndup (line, strcspn (line, "\n"));
  return g_mime_utils_header_decode_date (value);
}

/* Dovecot's modified UTF-7 (RFC 3501, 5.1.3): printable ASCII stands for
 * itself, "&-" for "&", and "&...-" holds UTF-16 in base64 with "," for
 * "/" and no padding. NULL if @name is not in that form, a raw UTF-8 name
 * that another program wrote for instance. */
char *
cairn_mail_mutf7_decode (const char *name)
{
  g_autoptr(GString) decoded = g_string_new (NULL);
  const char *p = name;

  while (*p != '\0')
    {
      const char *end;
      g_autoptr(GString) base64 = NULL;
      g_autofree guchar *utf16 = NULL;
      gsize length;

      if ((guchar) *p < 0x20 || (guchar) *p > 0x7e)
        return NULL;
      if (*p != '&')
        {
          g_string_append_c (decoded, *p++);
          continue;
        }
      end = strchr (p, '-');
      if (end == NULL)
        return NULL;
      if (end == p + 1)
        {
          g_string_append_c (decoded, '&');
          p = end + 1;
          continue;
        }
      base64 = g_string_new_len (p + 1, end - p - 1);
      for (gsize i = 0; i < base64->len; i++)
        {
          if (base64->str[i] == ',')
            base64->str[i] = '/';
          else if (!g_ascii_isalnum (base64->str[i]) && base64->str[i] != '+')
            return NULL;
        }
      while (base64->len % 4 != 0)
        g_string_append_c (base64, '=');
      utf16 = g_base64_decode (base64->str, &length);
      if (length == 0 || length % 2 != 0)
        return NULL;
      for (gsize i = 0; i < length; i += 2)
        {
          gunichar c = (utf16[i] << 8) | utf16[i + 1];

          if (c >= 0xd800 && c < 0xdc00)
            {
              gunichar low;

              if (i + 3 >= length)
                return NULL;
              low = (utf16[i + 2] << 8) | utf16[i + 3];
              if (low < 0xdc00 || low >= 0xe000)
                return NULL;
              c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
              i += 2;
            }
          else if (c >= 0xdc00 && c < 0xe000)
            return NULL;
          /* Printable ASCII must not be encoded: such a name is not one
           * Dovecot wrote, and would not round-trip. */
          if (c >= 0x20 && c <= 0x7e)
            return NULL;
          g_string_append_unichar (decoded, c);
        }
      p = end + 1;
    }
  return g_string_free (g_steal_pointer (&decoded), FALSE);
}

char *
cairn_mail_mutf7_encode (const char *name)
{
  GString *encoded = g_string_new (NULL);
  const char *p = name;

  while (*p != '\0')
    {
      g_autoptr(GByteArray) utf16 = NULL;
      g_autofree char *base64 = NULL;

      if ((guchar) *p >= 0x20 && (guchar) *p <= 0x7e)
        {
          g_string_append (encoded, *p == '&' ? "&-" : (char[]) { *p, '\0' });
          p++;
          continue;
        }
      utf16 = g_byte_array_new ();
      while (*p != '\0' && !((guchar) *p >= 0x20 && (guchar) *p <= 0x7e))
        {
          gunichar c = g_utf8_get_char (p);

          if (c >= 0x10000)
            {
              gunichar high = 0xd800 + ((c - 0x10000) >> 10);
              gunichar low = 0xdc00 + ((c - 0x10000) & 0x3ff);

              g_byte_array_append (utf16, (guint8[]) { high >> 8, high & 0xff,
                                                       low >> 8, low & 0xff }, 4);
            }
          else
            g_byte_array_append (utf16, (guint8[]) { c >> 8, c & 0xff }, 2);
          p = g_utf8_next_char (p);
        }
      base64 = g_base64_encode (utf16->data, utf16->len);
      g_string_append_c (encoded, '&');
      for (const char *b = base64; *b != '\0' && *b != '='; b++)
        g_string_append_c (encoded, *b == '/' ? ',' : *b);
      g_string_append_c (encoded, '-');
    }
  return g_string_free (encoded, FALSE);
}

