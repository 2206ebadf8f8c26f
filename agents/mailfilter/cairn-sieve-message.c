/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-sieve-message-private.h"

#include <string.h>

/* The header of a message ends within this many bytes, or is cut there. */
#define MAX_HEADER_SIZE (256 * 1024)

/* The header block alone: a script never looks at the body, and parsing
 * it would cost most of the time of a filter. */
static gsize
header_length (const char *data,
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
  return length;
}

/* Joins folded lines, as RFC 5322 unfolding does, and trims the value. */
static char *
unfold (const char *raw)
{
  GString *value = g_string_sized_new (strlen (raw));

  for (const char *p = raw; *p != '\0'; p++)
    if (*p != '\r' && *p != '\n')
      g_string_append_c (value, *p);
  return g_strstrip (g_string_free (value, FALSE));
}

static char *
first_value (CairnSieveMessage *message,
             const char        *name)
{
  g_autoptr(GPtrArray) values = cairn_sieve_message_get_values (message, name, FALSE);
  char *value;

  if (values->len == 0)
    return NULL;
  value = g_strdup (g_ptr_array_index (values, 0));
  /* Return-Path is an angle address; <> is the null sender. */
  if (*value == '<')
    {
      char *close = strchr (value, '>');

      if (close != NULL)
        *close = '\0';
      memmove (value, value + 1, strlen (value));
    }
  return value;
}

/**
 * cairn_sieve_message_new:
 * @data: the message, or its header block at least
 * @length: the length of @data
 * @size: the size of the whole message
 *
 * Parses a message's header with GMime. The envelope is what the
 * delivery agent recorded in the header: `Return-Path` for the sender,
 * `Delivered-To` (else `X-Original-To`) for the recipient.
 *
 * Returns: (transfer full): the message
 */
CairnSieveMessage *
cairn_sieve_message_new (const char *data,
                         gsize       length,
                         guint64     size)
{
  static gsize initialized = 0;
  CairnSieveMessage *message = g_new0 (CairnSieveMessage, 1);
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeObject) parsed = NULL;

  if (g_once_init_enter (&initialized))
    {
      g_mime_init ();
      g_once_init_leave (&initialized, 1);
    }

  stream = g_mime_stream_mem_new_with_buffer (data, header_length (data, length));
  parser = g_mime_parser_new_with_stream (stream);
  /* As one entity, not a message: a message would give its Content-*
   * fields to its body part, where a script's header tests miss them,
   * and takes longer to build. */
  parsed = g_mime_parser_construct_part (parser, NULL);
  message->headers = parsed != NULL
                     ? g_object_ref (g_mime_object_get_header_list (parsed))
                     : g_mime_header_list_new (NULL);
  message->size = size;
  message->envelope_from = first_value (message, "Return-Path");
  message->envelope_to = first_value (message, "Delivered-To");
  if (message->envelope_to == NULL)
    message->envelope_to = first_value (message, "X-Original-To");
  return message;
}

/**
 * cairn_sieve_message_new_from_stream:
 * @stream: the message
 * @size: the size of the whole message
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Reads a message's header from @stream, and no more, and parses it as
 * cairn_sieve_message_new() does.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
CairnSieveMessage *
cairn_sieve_message_new_from_stream (GInputStream  *stream,
                                     guint64        size,
                                     GCancellable  *cancellable,
                                     GError       **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[8192];

  while (data->len < MAX_HEADER_SIZE && header_length ((char *) data->data, data->len) == data->len)
    {
      gssize n = g_input_stream_read (stream, buffer, sizeof buffer, cancellable, error);

      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      g_byte_array_append (data, buffer, n);
    }
  return cairn_sieve_message_new ((char *) data->data, data->len, size);
}

void
cairn_sieve_message_free (CairnSieveMessage *message)
{
  g_clear_object (&message->headers);
  g_free (message->envelope_from);
  g_free (message->envelope_to);
  g_free (message);
}

/**
 * cairn_sieve_message_get_values:
 * @message: a message
 * @name: a header name, in any case
 * @decode: whether to decode RFC 2047 encoded words
 *
 * Gets the unfolded values of every header named @name, in order.
 *
 * Returns: (transfer full) (element-type utf8): the values
 */
GPtrArray *
cairn_sieve_message_get_values (CairnSieveMessage *message,
                                const char        *name,
                                gboolean           decode)
{
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);
  int count = g_mime_header_list_get_count (message->headers);

  for (int i = 0; i < count; i++)
    {
      GMimeHeader *header = g_mime_header_list_get_header_at (message->headers, i);
      const char *raw = g_mime_header_get_raw_value (header);
      g_autofree char *value = NULL;

      if (g_ascii_strcasecmp (g_mime_header_get_name (header), name) != 0 || raw == NULL)
        continue;
      value = unfold (raw);
      if (decode)
        {
          char *decoded = g_mime_utils_header_decode_text (NULL, value);

          g_free (value);
          value = decoded;
        }
      g_ptr_array_add (values, g_steal_pointer (&value));
    }
  return values;
}
