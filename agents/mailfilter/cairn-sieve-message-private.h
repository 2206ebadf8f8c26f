/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gmime/gmime.h>

G_BEGIN_DECLS

/* The parts of a message a Sieve script can test: its header, its size
 * and, where the delivery agent recorded it, its envelope. */
typedef struct
{
  GMimeHeaderList *headers;
  guint64 size;
  char *envelope_from;  /* NULL when unknown */
  char *envelope_to;
} CairnSieveMessage;

CairnSieveMessage *cairn_sieve_message_new        (const char        *data,
                                                   gsize              length,
                                                   guint64            size);
CairnSieveMessage *cairn_sieve_message_new_from_stream (GInputStream  *stream,
                                                        guint64        size,
                                                        GCancellable  *cancellable,
                                                        GError       **error);
void               cairn_sieve_message_free       (CairnSieveMessage *message);
GPtrArray         *cairn_sieve_message_get_values (CairnSieveMessage *message,
                                                   const char        *name,
                                                   gboolean           decode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnSieveMessage, cairn_sieve_message_free)

/* GMime 3.2 defines none. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeObject, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)

G_END_DECLS
