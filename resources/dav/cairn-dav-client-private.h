/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The answer to one request: its status, body, ETag and Location, and
 * the earliest time (server clock, Unix seconds) at which the server
 * can have begun to answer: its Date less the whole exchange, rounded
 * up; 0 without a Date. */
typedef struct
{
  guint status;
  GBytes *body;
  char *etag;
  char *location;
  gint64 answered_after;
} CairnDavResponse;

void cairn_dav_response_free (CairnDavResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnDavResponse, cairn_dav_response_free)

/* A request's preconditions (RFC 7232). */
typedef enum
{
  CAIRN_DAV_IF_ANY,
  CAIRN_DAV_IF_NONE_MATCH,   /* If-None-Match: *, create only */
  CAIRN_DAV_IF_MATCH,        /* If-Match: ETAG, overwrite only that version */
} CairnDavCondition;

#define CAIRN_TYPE_DAV_CLIENT (cairn_dav_client_get_type ())
G_DECLARE_FINAL_TYPE (CairnDavClient, cairn_dav_client, CAIRN, DAV_CLIENT, GObject)

CairnDavClient   *cairn_dav_client_new            (const char        *url,
                                                   const char        *user,
                                                   const char        *fingerprint,
                                                   gsize              max_object_size,
                                                   GError           **error);
void              cairn_dav_client_set_password   (CairnDavClient    *self,
                                                   const char        *password);
gboolean          cairn_dav_client_has_password   (CairnDavClient    *self);
const char       *cairn_dav_client_get_path       (CairnDavClient    *self);
gsize             cairn_dav_client_get_max_object_size (CairnDavClient *self);
char             *cairn_dav_client_resolve        (CairnDavClient    *self,
                                                   const char        *base_path,
                                                   const char        *href,
                                                   GError           **error);
CairnDavResponse *cairn_dav_client_send           (CairnDavClient    *self,
                                                   const char        *method,
                                                   const char        *path,
                                                   const char        *depth,
                                                   const char        *content_type,
                                                   GBytes            *body,
                                                   CairnDavCondition  condition,
                                                   const char        *etag,
                                                   gsize              max_size,
                                                   GCancellable      *cancellable,
                                                   GError           **error);
CairnDavResponse *cairn_dav_client_move           (CairnDavClient    *self,
                                                   const char        *from,
                                                   const char        *to,
                                                   GCancellable      *cancellable,
                                                   GError           **error);
gboolean          cairn_dav_client_check_status   (CairnDavResponse  *response,
                                                   const char        *method,
                                                   const char        *path,
                                                   GError           **error);

G_END_DECLS
