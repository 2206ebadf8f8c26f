/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CAIRN_DAV_NS "DAV:"
#define CAIRN_CALDAV_NS "urn:ietf:params:xml:ns:caldav"
#define CAIRN_CARDDAV_NS "urn:ietf:params:xml:ns:carddav"
#define CAIRN_CALSERVER_NS "http://calendarserver.org/ns/"
#define CAIRN_APPLE_ICAL_NS "http://apple.com/ns/ical/"

/* One <response> of a multistatus: its href as the server wrote it, its
 * status (that of the response, or 200 when it has properties), and the
 * properties found with status 200. */
typedef struct
{
  char *href;
  guint status;
  char *etag;
  gint64 length;              /* getcontentlength, -1 when not given */
  gboolean collection;
  gboolean calendar;
  gboolean addressbook;
  char *displayname;
  char *color;
  char *description;
  char *ctag;
  char *lastmodified;         /* getlastmodified, an HTTP-date */
  char *sync_token;
  char **components;          /* supported-calendar-component-set */
  char *principal;            /* current-user-principal */
  char **calendar_homes;
  char **addressbook_homes;
  GBytes *data;               /* calendar-data or address-data, with CRLF */
} CairnDavEntry;

void       cairn_dav_entry_free          (CairnDavEntry  *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnDavEntry, cairn_dav_entry_free)

GPtrArray *cairn_dav_multistatus_parse   (GBytes         *body,
                                          char          **sync_token,
                                          GError        **error);

G_END_DECLS
