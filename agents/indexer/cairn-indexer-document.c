/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text the indexer keeps of an item, taken from its parts: a mail
 * through GMime (headers, body decoded to UTF-8 text, attachment names),
 * events, tasks and contacts through a line parser of iCalendar and vCard
 * (RFC 5545, RFC 6350), which is all the index needs of them. */
#define _GNU_SOURCE

#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "cairn-indexer-document-private.h"
#include "cairn-indexer-index-private.h"

/* A hostile or huge message must not take the indexer's memory: the text
 * beyond these sizes is not searchable. */
#define MAX_MESSAGE_SIZE (64 * 1024 * 1024)
#define MAX_BODY_TEXT (1024 * 1024)
#define MAX_PAYLOAD_SIZE (4 * 1024 * 1024)

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFilter, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeContentType, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeContentDisposition, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)

static void
free_string (GString *string)
{
  g_string_free (string, TRUE);
}

void
cairn_indexer_document_free (CairnIndexerDocument *document)
{
  g_free (document->mime_type);
  g_free (document->message_id);
  g_ptr_array_unref (document->references);
  g_ptr_array_unref (document->flags);
  /* Packed (cairn_indexer_document_pack_text()), the strings are gone. */
  g_clear_pointer (&document->sender, free_string);
  g_clear_pointer (&document->recipients, free_string);
  g_clear_pointer (&document->subject, free_string);
  g_clear_pointer (&document->body, free_string);
  g_clear_pointer (&document->attachments, free_string);
  g_clear_pointer (&document->mime_types, free_string);
  g_clear_pointer (&document->list_id, free_string);
  g_clear_pointer (&document->text, cairn_indexer_text_free);
  g_clear_pointer (&document->tags, g_ptr_array_unref);
  g_free (document);
}

static void
append_text (GString    *string,
             const char *text,
             gssize      length)
{
  if (text == NULL)
    return;
  if (length < 0)
    length = strlen (text);
  if (length == 0)
    return;
  if (string->len > 0)
    g_string_append_c (string, ' ');
  /* FTS5 and SQLite expect UTF-8; whatever a part held, the index gets it. */
  if (g_utf8_validate_len (text, length, NULL))
    g_string_append_len (string, text, length);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (text, length);

      g_string_append (string, valid);
    }
}

static const struct
{
  const char *name;
  const char *text;
} entities[] = {
  { "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
  { "nbsp", " " }, { "eacute", "é" }, { "egrave", "è" }, { "ecirc", "ê" }, { "agrave", "à" },
  { "acirc", "â" }, { "auml", "ä" }, { "ouml", "ö" }, { "uuml", "ü" }, { "szlig", "ß" },
  { "ccedil", "ç" }, { "ntilde", "ñ" }, { "oacute", "ó" }, { "aacute", "á" }, { "iacute", "í" },
  { "uacute", "ú" }, { "Eacute", "É" }, { "Auml", "Ä" }, { "Ouml", "Ö" }, { "Uuml", "Ü" },
};

/* Appends the character of the entity at @p (after its '&') and returns
 * where the text goes on, or NULL if it is no entity we know. */
static const char *
append_entity (GString    *text,
               const char *p,
               const char *end)
{
  const char *semicolon = memchr (p, ';', MIN (end - p, 12));

  if (semicolon == NULL || semicolon == p)
    return NULL;
  if (*p == '#')
    {
      g_autofree char *number = g_strndup (p + 1, semicolon - p - 1);
      gboolean hex = *number == 'x' || *number == 'X';
      char *number_end;
      guint64 code = g_ascii_strtoull (hex ? number + 1 : number, &number_end, hex ? 16 : 10);

      if (*number_end != '\0' || !g_unichar_validate ((gunichar) code) || code == 0 ||
          code > 0x10FFFF)
        return NULL;
      g_string_append_unichar (text, (gunichar) code);
      return semicolon + 1;
    }
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    if (strlen (entities[i].name) == (gsize) (semicolon - p) &&
        strncmp (p, entities[i].name, semicolon - p) == 0)
      {
        g_string_append (text, entities[i].text);
        return semicolon + 1;
      }
  return NULL;
}

/* Text where a tag was: a space, so that words on both sides stay apart. */
static void
append_space (GString *text)
{
  if (text->len > 0 && text->str[text->len - 1] != ' ')
    g_string_append_c (text, ' ');
}

/**
 * cairn_indexer_html_to_text:
 * @html: HTML, any bytes
 * @length: its length
 *
 * Reduces HTML to the words a reader sees: tags, comments and the content
 * of script and style elements removed, common entities decoded. Never
 * reads past @length, whatever the markup.
 *
 * Returns: (transfer full): the text
 */
char *
cairn_indexer_html_to_text (const char *html,
                            gsize       length)
{
  GString *text = g_string_sized_new (length / 2);
  const char *p = html;
  const char *end = html + length;

  while (p < end)
    {
      if (*p == '<')
        {
          const char *close;

          if (end - p >= 4 && strncmp (p, "<!--", 4) == 0)
            {
              const char *comment_end = g_strstr_len (p + 4, end - p - 4, "-->");

              p = comment_end ? comment_end + 3 : end;
              append_space (text);
              continue;
            }
          close = memchr (p, '>', end - p);
          if (close == NULL)
            break;
          if (end - p >= 7 && (g_ascii_strncasecmp (p, "<script", 7) == 0 ||
                               g_ascii_strncasecmp (p, "<style", 6) == 0))
            {
              const char *name = g_ascii_strncasecmp (p, "<script", 7) == 0 ? "</script" : "</style";
              gsize name_length = strlen (name);
              const char *q = close + 1;

              close = end - 1;
              for (; q + name_length <= end; q++)
                if (*q == '<' && g_ascii_strncasecmp (q, name, name_length) == 0)
                  {
                    const char *gt = memchr (q, '>', end - q);

                    close = gt ? gt : end - 1;
                    break;
                  }
            }
          p = close + 1;
          append_space (text);
        }
      else if (*p == '&')
        {
          const char *next = append_entity (text, p + 1, end);

          if (next == NULL)
            g_string_append_c (text, *p++);
          else
            p = next;
        }
      else if (g_ascii_isspace (*p))
        {
          append_space (text);
          p++;
        }
      else
        g_string_append_c (text, *p++);
    }
  return g_string_free (text, FALSE);
}

static CairnIndexerDocument *
document_new (CairnItem *item)
{
  CairnIndexerDocument *document = g_new0 (CairnIndexerDocument, 1);
  CairnFlags *flags = cairn_item_get_flags (item);

  document->id = cairn_item_get_id (item);
  document->collection_id = cairn_item_get_collection_id (item);
  document->mime_type = g_strdup (cairn_item_get_mime_type (item));
  document->references = g_ptr_array_new_with_free_func (g_free);
  document->flags = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; flags != NULL && i < cairn_flags_get_size (flags); i++)
    g_ptr_array_add (document->flags, g_strdup (cairn_flags_get_flag (flags, i)));
  document->sender = g_string_new (NULL);
  document->recipients = g_string_new (NULL);
  document->subject = g_string_new (NULL);
  document->body = g_string_new (NULL);
  document->attachments = g_string_new (NULL);
  document->mime_types = g_string_new (NULL);
  document->list_id = g_string_new (NULL);
  append_text (document->mime_types, document->mime_type, -1);
  return document;
}

/* Mail. */

/* "Name <address>" for each mailbox, group members included. Not
 * internet_address_list_to_string(): it converts every domain through
 * IDNA, which cost more than the rest of a message's indexing. */
static void
append_addresses (GString             *string,
                  InternetAddressList *list)
{
  for (int i = 0; list != NULL && i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);
      const char *name = internet_address_get_name (address);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        {
          append_text (string, name, -1);
          append_addresses (string, internet_address_group_get_members (
                                      INTERNET_ADDRESS_GROUP (address)));
        }
      else if (name != NULL && *name != '\0')
        {
          g_autofree char *text =
            g_strdup_printf ("%s <%s>", name,
                             internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));

          append_text (string, text, -1);
        }
      else
        append_text (string,
                     internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)), -1);
    }
}

static void
add_references (CairnIndexerDocument *document,
                const char           *header)
{
  GMimeReferences *references;

  if (header == NULL)
    return;
  references = g_mime_references_parse (NULL, header);
  if (references == NULL)
    return;
  for (int i = 0; i < g_mime_references_length (references); i++)
    g_ptr_array_add (document->references,
                     g_strdup (g_mime_references_get_message_id (references, i)));
  g_mime_references_free (references);
}

static void
set_message_id (CairnIndexerDocument *document,
                const char           *message_id)
{
  if (message_id != NULL && *message_id != '\0' && g_utf8_validate (message_id, -1, NULL))
    document->message_id = g_strdup (message_id);
}

static void
set_date (CairnIndexerDocument *document,
          GDateTime            *date)
{
  if (date != NULL)
    document->date = g_date_time_to_unix (date);
}

/* The decoded text of a text part, in UTF-8: transfer encoding undone by
 * the data wrapper, charset converted by a filter. */
static GByteArray *
decode_text_part (GMimePart *part)
{
  GMimeDataWrapper *content = g_mime_part_get_content (part);
  const char *charset =
    g_mime_content_type_get_parameter (g_mime_object_get_content_type (GMIME_OBJECT (part)),
                                       "charset");
  g_autoptr(GMimeStream) memory = g_mime_stream_mem_new ();
  g_autoptr(GMimeStream) filtered = g_mime_stream_filter_new (memory);
  GByteArray *bytes;

  if (content == NULL)
    return NULL;
  if (charset != NULL && g_ascii_strcasecmp (g_mime_charset_canon_name (charset), "UTF-8") != 0)
    {
      g_autoptr(GMimeFilter) filter = g_mime_filter_charset_new (charset, "UTF-8");

      /* An unknown charset leaves the bytes as they are; append_text
       * makes them valid UTF-8. */
      if (filter != NULL)
        g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), filter);
    }
  if (g_mime_data_wrapper_write_to_stream (content, filtered) < 0 ||
      g_mime_stream_flush (filtered) < 0)
    return NULL;
  bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (memory));
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (memory), FALSE);
  return bytes;
}

/* An HTML alternative is left out when the same multipart/alternative
 * has a plain text one: it says the same. */
static gboolean
has_plain_alternative (GMimeObject *parent)
{
  GMimeMultipart *multipart;

  if (parent == NULL || !GMIME_IS_MULTIPART (parent) ||
      !g_mime_content_type_is_type (g_mime_object_get_content_type (parent), "multipart",
                                    "alternative"))
    return FALSE;
  multipart = GMIME_MULTIPART (parent);
  for (int i = 0; i < g_mime_multipart_get_count (multipart); i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (multipart, i);

      if (g_mime_content_type_is_type (g_mime_object_get_content_type (child), "text", "plain"))
        return TRUE;
    }
  return FALSE;
}

static void
add_mime_part (GMimeObject *parent,
               GMimeObject *object,
               gpointer     data)
{
  CairnIndexerDocument *document = data;
  GMimeContentType *type = g_mime_object_get_content_type (object);
  g_autofree char *mime_type = type ? g_mime_content_type_get_mime_type (type) : NULL;
  g_autoptr(GByteArray) bytes = NULL;
  const char *filename;
  gboolean html;

  append_text (document->mime_types, mime_type, -1);
  if (!GMIME_IS_PART (object))
    return;
  filename = g_mime_part_get_filename (GMIME_PART (object));
  append_text (document->attachments, filename, -1);
  if (filename != NULL || g_mime_part_is_attachment (GMIME_PART (object)))
    return;
  html = g_mime_content_type_is_type (type, "text", "html");
  if (!(html || g_mime_content_type_is_type (type, "text", "plain")) ||
      document->body->len >= MAX_BODY_TEXT || (html && has_plain_alternative (parent)))
    return;
  bytes = decode_text_part (GMIME_PART (object));
  if (bytes == NULL)
    return;
  if (html)
    {
      g_autofree char *text = cairn_indexer_html_to_text ((const char *) bytes->data, bytes->len);

      append_text (document->body, text, MIN (strlen (text), MAX_BODY_TEXT));
    }
  else
    append_text (document->body, (const char *) bytes->data, MIN (bytes->len, MAX_BODY_TEXT));
}

/* Reads a whole message, or an ENVELOPE part (a header block: its values
 * are decoded already), into @document. */
static void
add_message (CairnIndexerDocument *document,
             GBytes               *bytes,
             gboolean              body)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  GMimeObject *object;

  /* An empty GBytes has no data pointer, which GMime refuses. */
  if (size == 0)
    return;
  stream = g_mime_stream_mem_new_with_buffer (data, size);
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    return;
  object = GMIME_OBJECT (message);
  append_addresses (document->sender, g_mime_message_get_from (message));
  append_addresses (document->recipients, g_mime_message_get_to (message));
  append_addresses (document->recipients, g_mime_message_get_cc (message));
  append_text (document->subject, g_mime_message_get_subject (message), -1);
  append_text (document->list_id, g_mime_object_get_header (object, "List-Id"), -1);
  set_message_id (document, g_mime_message_get_message_id (message));
  add_references (document, g_mime_object_get_header (object, "In-Reply-To"));
  add_references (document, g_mime_object_get_header (object, "References"));
  set_date (document, g_mime_message_get_date (message));
  if (body)
    g_mime_message_foreach (message, add_mime_part, document);
}

/* The plain way: most mail is one text/plain part in UTF-8 or ASCII,
 * neither encoded nor an attachment, and building GMime's objects for it
 * cost more than the rest of its indexing. Such a message has its
 * header fields split here and decoded by the same GMime functions its
 * parser calls, and its body taken as it is, which is what GMime gives;
 * any other message, and any header block this strict reading has a
 * doubt about, takes add_message(). */

typedef enum
{
  PLAIN_FROM,
  PLAIN_TO,
  PLAIN_CC,
  PLAIN_SUBJECT,
  PLAIN_DATE,
  PLAIN_MESSAGE_ID,
  PLAIN_IN_REPLY_TO,
  PLAIN_REFERENCES,
  PLAIN_LIST_ID,
  PLAIN_CONTENT_TYPE,
  PLAIN_ENCODING,
  PLAIN_DISPOSITION,
  N_PLAIN_FIELDS
} PlainField;

/* With their lengths, as every line of every header block is looked up,
 * and whether what is parsed of their values is cached (plain_cache_get()). */
#define PLAIN_FIELD(name, cached) { name, sizeof (name) - 1, cached }

static const struct
{
  const char *name;
  gsize length;
  gboolean cached;
} plain_fields[N_PLAIN_FIELDS] = {
  PLAIN_FIELD ("From", TRUE), PLAIN_FIELD ("To", TRUE), PLAIN_FIELD ("Cc", TRUE),
  PLAIN_FIELD ("Subject", FALSE), PLAIN_FIELD ("Date", FALSE),
  PLAIN_FIELD ("Message-ID", FALSE), PLAIN_FIELD ("In-Reply-To", FALSE),
  PLAIN_FIELD ("References", FALSE), PLAIN_FIELD ("List-Id", FALSE),
  PLAIN_FIELD ("Content-Type", TRUE), PLAIN_FIELD ("Content-Transfer-Encoding", FALSE),
  PLAIN_FIELD ("Content-Disposition", TRUE),
};

/* The longest value of a cached field a plain reading takes; mail with a
 * longer one goes to GMime, so that hostile mail cannot fill the cache
 * with its values. */
#define PLAIN_CACHE_MAX_VALUE 1024

/* The raw values of the fields, as GMime keeps them: all after the
 * colon, folding included. */
typedef struct
{
  char *values[N_PLAIN_FIELDS];
} PlainHeader;

static void
plain_header_clear (PlainHeader *header)
{
  for (guint i = 0; i < N_PLAIN_FIELDS; i++)
    g_free (header->values[i]);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PlainHeader, plain_header_clear)

static PlainField
plain_field_of (const char *name,
                gsize       length)
{
  for (PlainField field = 0; field < N_PLAIN_FIELDS; field++)
    if (plain_fields[field].length == length &&
        g_ascii_strncasecmp (plain_fields[field].name, name, length) == 0)
      return field;
  return N_PLAIN_FIELDS;
}

/* Splits the header block, and returns where the body starts, or NULL
 * when the block is not one this reading is sure to read as GMime does:
 * a line that is no field ("From " lines, blanks before the colon,
 * control characters in a name), a field it reads given twice (GMime
 * keeps the last of some, the first of others), no blank line at its
 * end; nor when a cached field is longer than PLAIN_CACHE_MAX_VALUE.
 * Lines end in LF: the caller refuses any CR. */
static const char *
split_plain_header (const char  *data,
                    gsize        size,
                    PlainHeader *header)
{
  const char *end = data + size;
  PlainField current = N_PLAIN_FIELDS;
  /* The value of the field read, folded lines included: one slice of
   * @data, copied once its last line is known. */
  const char *value = NULL, *value_end = NULL;

  for (const char *line = data; line < end; )
    {
      const char *eol = memchr (line, '\n', end - line);
      const char *name_end = line;

      if (eol == NULL)
        break;
      if (line[0] == ' ' || line[0] == '\t')
        {
          if (line == data)
            break;
          value_end = eol;
          line = eol + 1;
          continue;
        }
      if (value != NULL)
        {
          if (plain_fields[current].cached && value_end - value > PLAIN_CACHE_MAX_VALUE)
            break;
          header->values[current] = g_strndup (value, value_end - value);
        }
      value = NULL;
      if (eol == line)
        return eol + 1;
      while (name_end < eol && *name_end > ' ' && *name_end < 127 && *name_end != ':')
        name_end++;
      if (name_end == line || name_end == eol || *name_end != ':')
        break;
      current = plain_field_of (line, name_end - line);
      if (current != N_PLAIN_FIELDS)
        {
          if (header->values[current] != NULL)
            break;
          value = name_end + 1;
          value_end = eol;
        }
      line = eol + 1;
    }
  return NULL;
}

/* What a plain reading parsed of a field's value, per thread: the same
 * From, To and Content-Type come back message after message, and parsing
 * one builds and destroys GMime objects, which cost more than the rest of
 * the plain reading. What is kept of a value depends on that value alone.
 * At most PLAIN_CACHE_SIZE values of each kind, or PLAIN_CACHE_BYTES of
 * their raw text, forgotten all at once. */
#define PLAIN_CACHE_SIZE 4096
#define PLAIN_CACHE_BYTES (256 * 1024)

typedef enum
{
  PLAIN_CACHE_ADDRESSES,     /* raw value -> what append_addresses() appends */
  PLAIN_CACHE_BODY_TYPES,    /* raw Content-Type -> the type of a plain body, "" if none */
  PLAIN_CACHE_PART_TYPES,    /* raw Content-Type of a multipart's part -> PartField */
  PLAIN_CACHE_DISPOSITIONS,  /* raw Content-Disposition of a part -> PartField */
  N_PLAIN_CACHES
} PlainCacheKind;

typedef struct
{
  GHashTable *values;  /* made at the first use of its kind */
  gsize bytes;         /* the raw values' */
} PlainCache;

static void
plain_cache_free (gpointer data)
{
  PlainCache *caches = data;

  for (guint i = 0; i < N_PLAIN_CACHES; i++)
    g_clear_pointer (&caches[i].values, g_hash_table_unref);
  g_free (caches);
}

static GPrivate plain_cache_key = G_PRIVATE_INIT (plain_cache_free);

/* The value kept for @raw in the thread's cache of @kind, made by @parse
 * if there is none; @free_value frees such values. */
static gpointer
plain_cache_get (PlainCacheKind   kind,
                 const char      *raw,
                 gpointer       (*parse) (const char *raw),
                 GDestroyNotify   free_value)
{
  PlainCache *caches = g_private_get (&plain_cache_key);
  PlainCache *cache;
  gsize length;
  gpointer value;

  if (caches == NULL)
    {
      caches = g_new0 (PlainCache, N_PLAIN_CACHES);
      g_private_set (&plain_cache_key, caches);
    }
  cache = &caches[kind];
  if (cache->values == NULL)
    cache->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_value);
  value = g_hash_table_lookup (cache->values, raw);
  if (value != NULL)
    return value;
  length = strlen (raw);
  if (g_hash_table_size (cache->values) >= PLAIN_CACHE_SIZE ||
      cache->bytes + length > PLAIN_CACHE_BYTES)
    {
      g_hash_table_remove_all (cache->values);
      cache->bytes = 0;
    }
  value = parse (raw);
  g_hash_table_insert (cache->values, g_strdup (raw), value);
  cache->bytes += length;
  return value;
}

/* The type of a text/plain body of Content-Type @raw without a file
 * name, in UTF-8 or no charset, or "": the checks of add_mime_part()
 * and decode_text_part(). */
static gpointer
parse_plain_type (const char *raw)
{
  g_autoptr(GMimeContentType) type = g_mime_content_type_parse (NULL, raw);
  const char *charset = g_mime_content_type_get_parameter (type, "charset");

  if (!g_mime_content_type_is_type (type, "text", "plain") ||
      g_mime_content_type_get_parameter (type, "name") != NULL ||
      (charset != NULL && g_ascii_strcasecmp (g_mime_charset_canon_name (charset), "UTF-8") != 0))
    return g_strdup ("");
  return g_mime_content_type_get_mime_type (type);
}

/* Whether the body is taken as it is: text/plain (the default) without a
 * file name, in UTF-8 or no charset, in no transfer encoding, not an
 * attachment; sets @mime_type to its type. */
static gboolean
is_plain_body (PlainHeader  *header,
               const char  **mime_type)
{
  if (header->values[PLAIN_DISPOSITION] != NULL)
    return FALSE;
  if (header->values[PLAIN_ENCODING] != NULL)
    switch (g_mime_content_encoding_from_string (header->values[PLAIN_ENCODING]))
      {
      case GMIME_CONTENT_ENCODING_DEFAULT:
      case GMIME_CONTENT_ENCODING_7BIT:
      case GMIME_CONTENT_ENCODING_8BIT:
      case GMIME_CONTENT_ENCODING_BINARY:
        break;
      default:
        return FALSE;
      }
  *mime_type = header->values[PLAIN_CONTENT_TYPE] != NULL
                 ? plain_cache_get (PLAIN_CACHE_BODY_TYPES, header->values[PLAIN_CONTENT_TYPE],
                                    parse_plain_type, g_free)
                 : "text/plain";
  return **mime_type != '\0';
}

/* Whether GMime's decoding leaves @text as it is: seven-bit text without
 * the start of an encoded word (RFC 2047). */
static gboolean
is_decoded (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p >= 0x80 || (p[0] == '=' && p[1] == '?'))
      return FALSE;
  return TRUE;
}

/* The decoded value of a field, as g_mime_header_get_value() gives it.
 * Most values need no decoding, and GMime's decoder cost a tenth of the
 * plain reading even then. */
static char *
plain_value (PlainHeader *header,
             PlainField   field)
{
  g_autofree char *unfolded = NULL;

  if (header->values[field] == NULL)
    return NULL;
  unfolded = g_mime_utils_header_unfold (header->values[field]);
  if (is_decoded (unfolded))
    return g_steal_pointer (&unfolded);
  return g_mime_utils_header_decode_text (NULL, unfolded);
}

static gpointer
parse_addresses (const char *raw)
{
  g_autoptr(InternetAddressList) list = internet_address_list_parse (NULL, raw);
  GString *text = g_string_new (NULL);

  append_addresses (text, list);
  return g_string_free (text, FALSE);
}

/* What append_addresses() appends for the field, which is the same
 * appended to an empty string or, after a space, to any other. */
static void
append_plain_addresses (GString     *string,
                        PlainHeader *header,
                        PlainField   field)
{
  if (header->values[field] != NULL)
    append_text (string,
                 plain_cache_get (PLAIN_CACHE_ADDRESSES, header->values[field], parse_addresses,
                                  g_free),
                 -1);
}

/* Reads @min_digits to @max_digits decimal digits at *@p into @value. */
static gboolean
read_digits (const char **p,
             guint        min_digits,
             guint        max_digits,
             int         *value)
{
  guint n = 0;

  *value = 0;
  while (n < max_digits && g_ascii_isdigit ((*p)[n]))
    *value = *value * 10 + g_ascii_digit_value ((*p)[n++]);
  *p += n;
  return n >= min_digits;
}

/* Whether @text starts with the first three letters of one of @names,
 * in any case, and then @separator; sets @index to which. */
static gboolean
read_name (const char         **text,
           const char * const  *names,
           guint                n_names,
           char                 separator,
           int                 *index)
{
  for (guint i = 0; i < n_names; i++)
    if (g_ascii_strncasecmp (*text, names[i], 3) == 0 && (*text)[3] == separator)
      {
        *index = i;
        *text += 4;
        return TRUE;
      }
  return FALSE;
}

/* The Julian day (g_date_get_julian()) of 1 January 1970. */
#define UNIX_EPOCH_JULIAN 719163

/* Reads a Date of RFC 5322's form, "[Day, ]DD Mon YYYY HH:MM[:SS] +ZZZZ"
 * with single spaces and a year from 1970, into seconds since the epoch:
 * what g_mime_utils_header_decode_date() gives for it, without the
 * GDateTime and GTimeZone it makes for each message (a sixteenth of the
 * extraction of plain mail). Anything else, obsolete forms, comments and
 * dates that do not exist included, is left to GMime. */
static gboolean
read_plain_date (const char *text,
                 gint64     *date)
{
  static const char * const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char * const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  const char *p = text;
  int weekday, day, month, year, hour, minute, second = 0, zone, sign;
  GDate civil;

  if (g_ascii_isalpha (*p) && !(read_name (&p, days, G_N_ELEMENTS (days), ',', &weekday) &&
                                *p++ == ' '))
    return FALSE;
  if (!read_digits (&p, 1, 2, &day) || *p++ != ' ' ||
      !read_name (&p, months, G_N_ELEMENTS (months), ' ', &month) ||
      !read_digits (&p, 4, 4, &year) || *p++ != ' ' ||
      !read_digits (&p, 2, 2, &hour) || *p++ != ':' || !read_digits (&p, 2, 2, &minute))
    return FALSE;
  if (*p == ':' && (p++, !read_digits (&p, 2, 2, &second)))
    return FALSE;
  if (*p++ != ' ' || (*p != '+' && *p != '-'))
    return FALSE;
  sign = *p++ == '-' ? -1 : 1;
  if (!read_digits (&p, 4, 4, &zone) || *p != '\0')
    return FALSE;
  month++;
  if (year < 1970 || !g_date_valid_dmy (day, month, year) || hour > 23 || minute > 59 ||
      second > 59 || zone / 100 > 23 || zone % 100 > 59)
    return FALSE;

  g_date_clear (&civil, 1);
  g_date_set_dmy (&civil, day, month, year);
  *date = ((gint64) g_date_get_julian (&civil) - UNIX_EPOCH_JULIAN) * 24 * 3600 +
          hour * 3600 + minute * 60 + second - sign * (zone / 100 * 3600 + zone % 100 * 60);
  return TRUE;
}

/* Where the plain way appends what it reads of a message's content:
 * the document's own strings, put back as they were if the message
 * turns out not to be plain, which spares copying the text once more. */
typedef struct
{
  GString *mime_types;
  GString *attachments;
  GString *body;
} PlainContent;

/* What read_plain_part() needs of a part's Content-Type. */
typedef enum
{
  PART_PLAIN,      /* text/plain */
  PART_HTML,       /* text/html */
  PART_CONTAINER,  /* multipart or message: left to GMime */
  PART_OTHER,
} PartKind;

/* What read_plain_part() needs of a part's Content-Type (kind, type,
 * name parameter) or Content-Disposition (attachment, filename in
 * @name). */
typedef struct
{
  PartKind kind;
  gboolean attachment;
  char *mime_type;
  char *name;  /* or NULL */
} PartField;

static void
part_field_free (gpointer data)
{
  PartField *field = data;

  g_free (field->mime_type);
  g_free (field->name);
  g_free (field);
}

static gpointer
parse_part_type (const char *raw)
{
  g_autoptr(GMimeContentType) parsed = g_mime_content_type_parse (NULL, raw);
  PartField *type = g_new0 (PartField, 1);

  if (g_mime_content_type_is_type (parsed, "multipart", "*") ||
      g_mime_content_type_is_type (parsed, "message", "*"))
    type->kind = PART_CONTAINER;
  else if (g_mime_content_type_is_type (parsed, "text", "html"))
    type->kind = PART_HTML;
  else if (g_mime_content_type_is_type (parsed, "text", "plain"))
    type->kind = PART_PLAIN;
  else
    type->kind = PART_OTHER;
  type->mime_type = g_mime_content_type_get_mime_type (parsed);
  type->name = g_strdup (g_mime_content_type_get_parameter (parsed, "name"));
  return type;
}

static gpointer
parse_part_disposition (const char *raw)
{
  g_autoptr(GMimeContentDisposition) parsed = g_mime_content_disposition_parse (NULL, raw);
  PartField *disposition = g_new0 (PartField, 1);

  disposition->attachment = g_mime_content_disposition_is_attachment (parsed);
  disposition->name = g_strdup (g_mime_content_disposition_get_parameter (parsed, "filename"));
  return disposition;
}

/* Reads one part of a plain multipart, from @start to @end, the newline
 * before the next delimiter, which belongs to the delimiter: what
 * add_mime_part() takes of it. A part whose content is not text (a file
 * name, an attachment, another type) gives its type and file name, and
 * its content is never decoded; a text part must be a plain body. */
static gboolean
read_plain_part (const char   *start,
                 const char   *end,
                 PlainContent *content)
{
  static const PartField text_plain = { PART_PLAIN, FALSE, (char *) "text/plain", NULL };
  g_auto(PlainHeader) header = { { NULL } };
  const char *body = split_plain_header (start, end - start, &header);
  const PartField *type = &text_plain;
  const PartField *disposition = NULL;
  const char *filename = NULL;
  const char *plain_type;

  if (body == NULL || body >= end - 1)
    return FALSE;
  if (header.values[PLAIN_CONTENT_TYPE] != NULL)
    type = plain_cache_get (PLAIN_CACHE_PART_TYPES, header.values[PLAIN_CONTENT_TYPE],
                            parse_part_type, part_field_free);
  if (type->kind == PART_CONTAINER)
    return FALSE;
  if (header.values[PLAIN_DISPOSITION] != NULL)
    {
      disposition = plain_cache_get (PLAIN_CACHE_DISPOSITIONS, header.values[PLAIN_DISPOSITION],
                                     parse_part_disposition, part_field_free);
      filename = disposition->name;
    }
  if (filename == NULL)
    filename = type->name;
  append_text (content->mime_types, type->mime_type, -1);
  append_text (content->attachments, filename, -1);
  if (filename != NULL || (disposition != NULL && disposition->attachment))
    return TRUE;
  if (type->kind == PART_HTML)
    return FALSE;
  if (type->kind != PART_PLAIN)
    return TRUE;
  if (!is_plain_body (&header, &plain_type))
    return FALSE;
  if (content->body->len < MAX_BODY_TEXT)
    append_text (content->body, body, MIN ((gsize) (end - 1 - body), MAX_BODY_TEXT));
  return TRUE;
}

/* A multipart/mixed message is plain when each of its parts is
 * (read_plain_part()): mail with attachments is common, and GMime's
 * objects for it cost several times those of a single part. The
 * delimiters must stand alone on their lines and the last one must
 * close the multipart; anything else, nested multiparts included, is
 * left to GMime. */
static gboolean
read_plain_multipart (PlainHeader  *header,
                      const char   *body,
                      const char   *end,
                      PlainContent *content)
{
  g_autoptr(GMimeContentType) type = NULL;
  g_autofree char *mime_type = NULL;
  g_autofree char *delimiter = NULL;
  const char *boundary;
  const char *part = NULL;
  gsize length;

  if (header->values[PLAIN_CONTENT_TYPE] == NULL || header->values[PLAIN_ENCODING] != NULL ||
      header->values[PLAIN_DISPOSITION] != NULL)
    return FALSE;
  type = g_mime_content_type_parse (NULL, header->values[PLAIN_CONTENT_TYPE]);
  boundary = g_mime_content_type_get_parameter (type, "boundary");
  if (!g_mime_content_type_is_type (type, "multipart", "mixed") || boundary == NULL ||
      *boundary == '\0')
    return FALSE;
  mime_type = g_mime_content_type_get_mime_type (type);
  append_text (content->mime_types, mime_type, -1);
  delimiter = g_strconcat ("\n--", boundary, NULL);
  length = strlen (delimiter);
  /* The header block ends with a newline, so the first delimiter may
   * open the body. */
  for (const char *p = body - 1;;)
    {
      const char *found = memmem (p, end - p, delimiter, length);
      const char *after;

      if (found == NULL || (part != NULL && !read_plain_part (part, found + 1, content)))
        return FALSE;
      after = found + length;
      if (end - after >= 2 && strncmp (after, "--", 2) == 0 &&
          (end - after == 2 || after[2] == '\n'))
        return part != NULL && memmem (after, end - after, delimiter, length) == NULL;
      if (after == end || *after != '\n')
        return FALSE;
      part = after + 1;
      p = after;
    }
}

/* Whether GMime reads the type of Content-Type @raw as multipart. The
 * value names its multipart's boundary, which is new in every message:
 * the cache of body types would only fill with them. */
static gboolean
is_multipart_type (const char *raw)
{
  if (raw == NULL)
    return FALSE;
  while (g_ascii_isspace (*raw))
    raw++;
  return g_ascii_strncasecmp (raw, "multipart/", strlen ("multipart/")) == 0;
}

/* Reads @body, the content of a message of @header, if the message is
 * plain: a single plain body, or a plain multipart. */
static gboolean
read_plain_content (PlainHeader  *header,
                    const char   *body,
                    const char   *end,
                    PlainContent *content)
{
  const char *mime_type;

  if (is_multipart_type (header->values[PLAIN_CONTENT_TYPE]) ||
      !is_plain_body (header, &mime_type))
    return read_plain_multipart (header, body, end, content);
  append_text (content->mime_types, mime_type, -1);
  append_text (content->body, body, MIN ((gsize) (end - body), MAX_BODY_TEXT));
  return TRUE;
}

/* Reads @bytes into @document if it is a plain message; returns whether
 * it was. */
static gboolean
add_plain_message (CairnIndexerDocument *document,
                   GBytes               *bytes)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_auto(PlainHeader) header = { { NULL } };
  PlainContent content = { document->mime_types, document->attachments, document->body };
  gsize mime_types_length = document->mime_types->len;
  gsize attachments_length = document->attachments->len;
  gsize body_length = document->body->len;
  g_autofree char *subject = NULL;
  g_autofree char *list_id = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *decoded_id = NULL;
  g_autofree char *in_reply_to = NULL;
  g_autofree char *references = NULL;
  g_autofree char *date = NULL;
  g_autoptr(GDateTime) parsed_date = NULL;
  const char *body;

  if (size == 0 || memchr (data, '\r', size) != NULL || memchr (data, '\0', size) != NULL)
    return FALSE;
  body = split_plain_header (data, size, &header);
  if (body == NULL || !read_plain_content (&header, body, data + size, &content))
    {
      g_string_truncate (document->mime_types, mime_types_length);
      g_string_truncate (document->attachments, attachments_length);
      g_string_truncate (document->body, body_length);
      return FALSE;
    }

  append_plain_addresses (document->sender, &header, PLAIN_FROM);
  append_plain_addresses (document->recipients, &header, PLAIN_TO);
  append_plain_addresses (document->recipients, &header, PLAIN_CC);
  subject = plain_value (&header, PLAIN_SUBJECT);
  append_text (document->subject, subject, -1);
  list_id = plain_value (&header, PLAIN_LIST_ID);
  append_text (document->list_id, list_id, -1);
  message_id = plain_value (&header, PLAIN_MESSAGE_ID);
  decoded_id = message_id ? g_mime_utils_decode_message_id (message_id) : NULL;
  set_message_id (document, decoded_id);
  in_reply_to = plain_value (&header, PLAIN_IN_REPLY_TO);
  add_references (document, in_reply_to);
  references = plain_value (&header, PLAIN_REFERENCES);
  add_references (document, references);
  date = plain_value (&header, PLAIN_DATE);
  if (date != NULL && !read_plain_date (date, &document->date))
    {
      parsed_date = g_mime_utils_header_decode_date (date);
      set_date (document, parsed_date);
    }
  return TRUE;
}

static GBytes *
read_part (CairnItem  *item,
           const char *name,
           gsize       max_size)
{
  CairnPart *part = cairn_item_get_part (item, name);
  g_autoptr(GError) error = NULL;
  GBytes *bytes;

  if (part == NULL || cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
    return NULL;
  bytes = cairn_part_read_bytes (part, max_size, NULL, &error);
  /* A file a resource removed since is indexed as far as the store knows
   * it; its removal or change follows. */
  if (bytes == NULL)
    g_debug ("Cannot read part %s of item %" G_GUINT64_FORMAT ": %s", name,
             cairn_item_get_id (item), error->message);
  return bytes;
}

static void
add_mail (CairnIndexerDocument *document,
          CairnItem            *item,
          gboolean              allow_plain,
          gboolean             *plain)
{
  g_autoptr(GBytes) message = read_part (item, "RFC822", MAX_MESSAGE_SIZE);
  g_autoptr(GBytes) envelope = NULL;
  g_autoptr(GByteArray) block = NULL;

  if (message != NULL)
    {
      *plain = allow_plain && add_plain_message (document, message);
      if (!*plain)
        add_message (document, message, TRUE);
      document->complete = TRUE;
      return;
    }
  envelope = read_part (item, "ENVELOPE", MAX_PAYLOAD_SIZE);
  if (envelope == NULL)
    return;
  /* A header block, ended by its blank line. */
  block = g_byte_array_new ();
  g_byte_array_append (block, g_bytes_get_data (envelope, NULL), g_bytes_get_size (envelope));
  g_byte_array_append (block, (const guint8 *) "\n\n", 2);
  g_clear_pointer (&envelope, g_bytes_unref);
  envelope = g_byte_array_free_to_bytes (g_steal_pointer (&block));
  add_message (document, envelope, FALSE);
}

/* iCalendar and vCard: content lines, folded by a leading space or tab. */

static char *
unescape_value (const char *value)
{
  GString *text = g_string_sized_new (strlen (value));

  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          p++;
          g_string_append_c (text, *p == 'n' || *p == 'N' ? ' ' : *p);
        }
      else if (*p == ';')
        g_string_append_c (text, ' ');
      else
        g_string_append_c (text, *p);
    }
  return g_string_free (text, FALSE);
}

/* The CN parameter of @params, or NULL. */
static char *
common_name (const char *params)
{
  const char *cn = params ? strstr (params, ";CN=") : NULL;
  gsize length;

  if (cn == NULL)
    return NULL;
  cn += 4;
  if (*cn == '"')
    {
      const char *quote = strchr (cn + 1, '"');

      return quote ? g_strndup (cn + 1, quote - cn - 1) : NULL;
    }
  length = strcspn (cn, ";:");
  return g_strndup (cn, length);
}

static gint64
parse_ical_date (const char *value)
{
  int year, month, day, hour = 0, minute = 0, second = 0;
  g_autoptr(GDateTime) date = NULL;

  if (sscanf (value, "%4d%2d%2dT%2d%2d%2d", &year, &month, &day, &hour, &minute, &second) < 3)
    return 0;
  date = g_date_time_new_utc (year, month, day, hour, minute, second);
  return date ? g_date_time_to_unix (date) : 0;
}

static void
add_content_line (CairnIndexerDocument *document,
                  const char           *line)
{
  gsize name_length = strcspn (line, ";:");
  const char *colon = strchr (line + name_length, ':');
  /* Property names are case-insensitive; a group prefix (item1.EMAIL) is
   * left out. */
  const char *dot = memchr (line, '.', name_length);
  const char *start = dot ? dot + 1 : line;
  g_autofree char *name = g_ascii_strup (start, line + name_length - start);
  g_autofree char *params = NULL;
  g_autofree char *value = NULL;

  if (colon == NULL)
    return;
  params = g_strndup (line + name_length, colon - line - name_length);
  value = unescape_value (colon + 1);
  if (g_str_equal (name, "SUMMARY") || g_str_equal (name, "FN") || g_str_equal (name, "N") ||
      g_str_equal (name, "NICKNAME"))
    append_text (document->subject, value, -1);
  else if (g_str_equal (name, "LOCATION") || g_str_equal (name, "DESCRIPTION") ||
           g_str_equal (name, "ORG") || g_str_equal (name, "TITLE") ||
           g_str_equal (name, "NOTE") || g_str_equal (name, "TEL") ||
           g_str_equal (name, "CATEGORIES") || g_str_equal (name, "ADR"))
    append_text (document->body, value, -1);
  else if (g_str_equal (name, "ORGANIZER") || g_str_equal (name, "ATTENDEE") ||
           g_str_equal (name, "EMAIL"))
    {
      g_autofree char *cn = common_name (params);
      GString *field = g_str_equal (name, "ORGANIZER") ? document->sender : document->recipients;

      append_text (field, cn, -1);
      append_text (field, g_ascii_strncasecmp (value, "mailto:", 7) == 0 ? value + 7 : value, -1);
    }
  else if ((g_str_equal (name, "DTSTART") || g_str_equal (name, "DUE")) && document->date == 0)
    document->date = parse_ical_date (value);
  else if (g_str_equal (name, "UID") && document->message_id == NULL)
    document->message_id = g_utf8_make_valid (value, -1);
}

static void
add_content_lines (CairnIndexerDocument *document,
                   GBytes               *payload)
{
  gsize size;
  const char *data = g_bytes_get_data (payload, &size);
  g_autoptr(GString) line = g_string_new (NULL);
  const char *end = data + size;

  for (const char *p = data; p < end; )
    {
      const char *newline = memchr (p, '\n', end - p);
      const char *next = newline ? newline + 1 : end;
      gsize length = (newline ? newline : end) - p;

      if (length > 0 && p[length - 1] == '\r')
        length--;
      if (length > 0 && (*p == ' ' || *p == '\t'))
        g_string_append_len (line, p + 1, length - 1);
      else
        {
          if (line->len > 0)
            add_content_line (document, line->str);
          g_string_truncate (line, 0);
          g_string_append_len (line, p, length);
        }
      p = next;
    }
  if (line->len > 0)
    add_content_line (document, line->str);
}

/* The first part that holds data: events, tasks and contacts have one. */
static GBytes *
read_payload (CairnItem *item)
{
  GPtrArray *parts = cairn_item_get_parts (item);

  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      CairnPart *part = g_ptr_array_index (parts, i);
      GBytes *bytes;

      if (cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
        continue;
      bytes = read_part (item, cairn_part_get_name (part), MAX_PAYLOAD_SIZE);
      if (bytes != NULL)
        return bytes;
    }
  return NULL;
}

/**
 * cairn_indexer_document_new_from_item:
 * @item: an item with its parts
 *
 * Extracts what the index keeps of @item. Anything a part lacks or gets
 * wrong is left out, never an error: the index holds what can be read.
 *
 * Returns: (transfer full): the document
 */
CairnIndexerDocument *
cairn_indexer_document_new_from_item (CairnItem *item)
{
  return cairn_indexer_document_extract (item, TRUE, NULL);
}

/**
 * cairn_indexer_document_extract:
 * @item: an item with its parts
 * @allow_plain: whether a plain message may be read without GMime's
 *   parser (add_plain_message())
 * @plain: (out) (optional): set to whether it was
 *
 * cairn_indexer_document_new_from_item(), for tests that compare both
 * ways of reading a message.
 *
 * Returns: (transfer full): the document
 */
CairnIndexerDocument *
cairn_indexer_document_extract (CairnItem *item,
                                gboolean   allow_plain,
                                gboolean  *plain)
{
  CairnIndexerDocument *document = document_new (item);
  const char *mime_type = document->mime_type ? document->mime_type : "";
  gboolean took_plain = FALSE;

  if (plain != NULL)
    *plain = FALSE;
  if (g_str_has_prefix (mime_type, "message/"))
    {
      add_mail (document, item, allow_plain, &took_plain);
      if (plain != NULL)
        *plain = took_plain;
    }
  else
    {
      g_autoptr(GBytes) payload = read_payload (item);

      document->complete = TRUE;
      if (payload == NULL)
        return document;
      if (g_str_equal (mime_type, "text/calendar") || g_str_equal (mime_type, "text/vcard") ||
          g_str_equal (mime_type, "text/x-vcard") || g_str_equal (mime_type, "text/directory") ||
          g_str_has_prefix (mime_type, "application/x-vnd.akonadi.calendar"))
        add_content_lines (document, payload);
      else if (g_str_has_prefix (mime_type, "text/"))
        append_text (document->body, g_bytes_get_data (payload, NULL),
                     MIN (g_bytes_get_size (payload), MAX_BODY_TEXT));
    }
  return document;
}
