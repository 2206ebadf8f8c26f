/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CAIRN_DAV_CALENDAR_TYPE "text/calendar"
#define CAIRN_DAV_VCARD_TYPE "text/vcard"

/* The part names of a DAV item: the server's bytes, and a small summary
 * for lists (a key file, group [Summary]). */
#define CAIRN_DAV_PART_ICALENDAR "ICALENDAR"
#define CAIRN_DAV_PART_VCARD "VCARD"
#define CAIRN_DAV_PART_SUMMARY "SUMMARY"

gboolean cairn_dav_object_parse (const char  *mime_type,
                                 GBytes      *data,
                                 char       **uid,
                                 GBytes     **summary,
                                 GError     **error);

GBytes  *cairn_dav_object_set_uid (const char  *mime_type,
                                   GBytes      *data,
                                   const char  *uid,
                                   GError     **error);

G_END_DECLS
