/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One account's HTTP side: a SoupSession made in the main thread and
 * used from the resource's worker threads with libsoup's blocking calls
 * (allowed since libsoup 3.2), the account's user and password for Basic
 * and Digest, a pinned certificate, and the rules that keep every href
 * the server sends inside the account's origin. Every body read is
 * capped, so a server cannot make the resource hold what it sends. */
#include <string.h>
#include <libsoup/soup.h>

#include <cairn/cairn.h>

#include "cairn-dav-client-private.h"

#define READ_CHUNK 65536

struct _CairnDavClient
{
  GObject parent_instance;

  SoupSession *session;
  GUri *base;
  char *user;
  char *fingerprint;          /* lower-case hex without colons, or NULL */
  gsize max_object_size;
  GMutex lock;                /* guards password */
  char *password;
};

G_DEFINE_FINAL_TYPE (CairnDavClient, cairn_dav_client, G_TYPE_OBJECT)

void
cairn_dav_response_free (CairnDavResponse *response)
{
  g_clear_pointer (&response->body, g_bytes_unref);
  g_free (response->etag);
  g_free (response->location);
  g_free (response);
}

/* "AB:cd:..." or "abcd..." → "abcd...": people copy fingerprints from
 * browsers and openssl, which write them differently. */
static char *
normalize_fingerprint (const char *text)
{
  GString *hex = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (hex, g_ascii_tolower (*p));
    else if (*p != ':' && !g_ascii_isspace (*p))
      return g_string_free (hex, TRUE), NULL;
  if (hex->len != 64)
    return g_string_free (hex, TRUE), NULL;
  return g_string_free (hex, FALSE);
}

CairnDavClient *
cairn_dav_client_new (const char  *url,
                      const char  *user,
                      const char  *fingerprint,
                      gsize        max_object_size,
                      GError     **error)
{
  g_autoptr(CairnDavClient) self = g_object_new (CAIRN_TYPE_DAV_CLIENT, NULL);
  g_autoptr(GError) local_error = NULL;
  const char *scheme;

  self->base = g_uri_parse (url, G_URI_FLAGS_ENCODED, &local_error);
  if (self->base == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "The key url is not a URL: %s", local_error->message), NULL;
  scheme = g_uri_get_scheme (self->base);
  if ((g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (self->base) == NULL || *g_uri_get_host (self->base) == '\0')
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "The key url must be an http or https URL: %s", url), NULL;
  if (fingerprint != NULL && *fingerprint != '\0' &&
      (self->fingerprint = normalize_fingerprint (fingerprint)) == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "The key fingerprint is not a SHA-256 fingerprint: %s", fingerprint),
           NULL;
  self->user = g_strdup (user);
  self->max_object_size = max_object_size;
  /* No redirects followed by libsoup: each one is checked against the
   * account's origin first (see cairn_dav_client_resolve()). */
  self->session = soup_session_new_with_options ("user-agent", "Cairn/" CAIRN_DAV_VERSION,
                                                 "timeout", 120, "idle-timeout", 60, NULL);
  return g_steal_pointer (&self);
}

void
cairn_dav_client_set_password (CairnDavClient *self,
                               const char     *password)
{
  g_mutex_lock (&self->lock);
  g_free (self->password);
  self->password = g_strdup (password);
  g_mutex_unlock (&self->lock);
}

gboolean
cairn_dav_client_has_password (CairnDavClient *self)
{
  gboolean has;

  g_mutex_lock (&self->lock);
  has = self->password != NULL;
  g_mutex_unlock (&self->lock);
  return has;
}

/* The path of the configured URL, where discovery starts. */
const char *
cairn_dav_client_get_path (CairnDavClient *self)
{
  const char *path = g_uri_get_path (self->base);

  return *path != '\0' ? path : "/";
}

gsize
cairn_dav_client_get_max_object_size (CairnDavClient *self)
{
  return self->max_object_size;
}

static gboolean
has_dot_segment (const char *path)
{
  g_auto(GStrv) segments = g_strsplit (path, "/", -1);

  for (guint i = 0; segments[i] != NULL; i++)
    {
      g_autofree char *plain = g_uri_unescape_string (segments[i], NULL);

      /* An escaped slash or NUL could not be told from the real thing. */
      if (plain == NULL || g_str_equal (plain, ".") || g_str_equal (plain, "..") ||
          strchr (plain, '/') != NULL)
        return TRUE;
    }
  return FALSE;
}

/* @href (absolute, or relative to @base_path) as a path on the account's
 * server. Refused: another scheme, host or port, dot segments (also
 * escaped ones), queries, fragments and control characters: the server
 * may name only its own resources, and only plainly. */
char *
cairn_dav_client_resolve (CairnDavClient  *self,
                          const char      *base_path,
                          const char      *href,
                          GError         **error)
{
  g_autoptr(GUri) base = g_uri_parse_relative (self->base, base_path, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr(GUri) uri = NULL;
  const char *path;

  for (const char *p = href; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '\\')
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "The server named a resource with a control character: %s", href),
             NULL;
  if (base != NULL)
    uri = g_uri_parse_relative (base, href, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The server named a resource that is not a URL: %s", href), NULL;
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), g_uri_get_scheme (self->base)) != 0 ||
      g_ascii_strcasecmp (g_uri_get_host (uri), g_uri_get_host (self->base)) != 0 ||
      g_uri_get_port (uri) != g_uri_get_port (self->base) || g_uri_get_userinfo (uri) != NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The server named a resource outside the account: %s", href), NULL;
  /* The raw href, not the resolved one, whose dots GUri already removed. */
  path = g_uri_get_path (uri);
  if (has_dot_segment (href) || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL || path[0] != '/')
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The server named a resource with a path that is not plain: %s", href),
           NULL;
  return g_strdup (path);
}

static char *
certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return der ? g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len) : NULL;
}

/* Only reached when the system trust store refused the certificate. */
static gboolean
accept_certificate (SoupMessage          *message,
                    GTlsCertificate      *certificate,
                    GTlsCertificateFlags  errors,
                    gpointer              user_data)
{
  CairnDavClient *self = user_data;
  g_autofree char *fingerprint = certificate_fingerprint (certificate);

  g_object_set_data_full (G_OBJECT (message), "cairn-fingerprint", g_strdup (fingerprint), g_free);
  return self->fingerprint != NULL && g_strcmp0 (fingerprint, self->fingerprint) == 0;
}

static gboolean
authenticate (SoupMessage *message,
              SoupAuth    *auth,
              gboolean     retrying,
              gpointer     user_data)
{
  CairnDavClient *self = user_data;

  /* A password refused once is refused again: the 401 goes back. */
  if (retrying || soup_auth_is_for_proxy (auth))
    return FALSE;
  g_mutex_lock (&self->lock);
  if (self->password != NULL)
    soup_auth_authenticate (auth, self->user ? self->user : "", self->password);
  g_mutex_unlock (&self->lock);
  return FALSE;
}

/* libsoup 3.2 sends an empty body when it restarts a message (after a
 * 401, with the credentials): the body is set anew. */
static void
restarted (SoupMessage *message,
           gpointer     user_data)
{
  GBytes *body = g_object_get_data (G_OBJECT (message), "cairn-body");

  if (body != NULL)
    soup_message_set_request_body_from_bytes (message, g_object_get_data (G_OBJECT (message),
                                                                          "cairn-content-type"),
                                              body);
}

static GBytes *
read_body (GInputStream  *stream,
           gsize          max_size,
           const char    *path,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();

  for (;;)
    {
      gsize old_len = body->len;
      gssize n;

      g_byte_array_set_size (body, old_len + READ_CHUNK);
      n = g_input_stream_read (stream, body->data + old_len, READ_CHUNK, cancellable, error);
      if (n < 0)
        return NULL;
      g_byte_array_set_size (body, old_len + n);
      if (n == 0)
        break;
      if (body->len > max_size)
        return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                            "%s: the server sent more than %" G_GSIZE_FORMAT " bytes", path,
                            max_size), NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&body));
}

static void
transport_error (SoupMessage  *message,
                 const char   *host,
                 GError       *cause,
                 GError      **error)
{
  const char *fingerprint = g_object_get_data (G_OBJECT (message), "cairn-fingerprint");

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, cause);
  else if (cause->domain == G_TLS_ERROR)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "The certificate of %s is not trusted (SHA-256 %s): %s; set the key "
                   "fingerprint to accept it", host, fingerprint ? fingerprint : "unknown",
                   cause->message);
      g_error_free (cause);
    }
  else
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "Cannot reach %s: %s", host, cause->message);
      g_error_free (cause);
    }
}

static SoupMessage *
new_message (CairnDavClient  *self,
             const char      *method,
             const char      *path,
             GError         **error)
{
  g_autoptr(GUri) uri = g_uri_parse_relative (self->base, path, G_URI_FLAGS_ENCODED, NULL);
  SoupMessage *message;

  if (uri == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Not a path: %s", path), NULL;
  message = soup_message_new_from_uri (method, uri);
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  g_signal_connect (message, "accept-certificate", G_CALLBACK (accept_certificate), self);
  g_signal_connect (message, "authenticate", G_CALLBACK (authenticate), self);
  return message;
}

/* Sends @message and reads at most @max_size bytes of the answer. */
static CairnDavResponse *
exchange (CairnDavClient  *self,
          SoupMessage     *message,
          const char      *path,
          gsize            max_size,
          GCancellable    *cancellable,
          GError         **error)
{
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(CairnDavResponse) response = g_new0 (CairnDavResponse, 1);
  SoupMessageHeaders *headers;
  GError *local_error = NULL;
  g_autoptr(GDateTime) date = NULL;
  gint64 start = g_get_monotonic_time ();
  goffset length;

  stream = soup_session_send (self->session, message, cancellable, &local_error);
  if (stream == NULL)
    return transport_error (message, g_uri_get_host (self->base), local_error, error), NULL;
  headers = soup_message_get_response_headers (message);
  length = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      length > 0 && (guint64) length > max_size)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "%s: the server's answer of %" G_GINT64_FORMAT " bytes is over the "
                        "limit of %" G_GSIZE_FORMAT, path, (gint64) length, max_size), NULL;
  response->body = read_body (stream, max_size, path, cancellable, error);
  if (response->body == NULL)
    return NULL;
  response->status = soup_message_get_status (message);
  response->etag = g_strdup (soup_message_headers_get_one (headers, "ETag"));
  response->location = g_strdup (soup_message_headers_get_one (headers, "Location"));
  /* The Date is cut to the second and is written after the answer was
   * made, which took at most the whole exchange. */
  date = soup_message_headers_get_one (headers, "Date")
         ? soup_date_time_new_from_http_string (soup_message_headers_get_one (headers, "Date"))
         : NULL;
  if (date != NULL)
    response->answered_after = g_date_time_to_unix (date) -
                               (g_get_monotonic_time () - start + G_USEC_PER_SEC - 1) /
                               G_USEC_PER_SEC;
  return g_steal_pointer (&response);
}

/* Sends one request to @path on the account's server and reads at most
 * @max_size bytes of the answer. An answer with any status is returned;
 * cairn_dav_client_check_status() judges it. Fails only when the server
 * cannot be reached or sends too much. */
CairnDavResponse *
cairn_dav_client_send (CairnDavClient     *self,
                       const char         *method,
                       const char         *path,
                       const char         *depth,
                       const char         *content_type,
                       GBytes             *body,
                       CairnDavCondition   condition,
                       const char         *etag,
                       gsize               max_size,
                       GCancellable       *cancellable,
                       GError            **error)
{
  g_autoptr(SoupMessage) message = new_message (self, method, path, error);
  SoupMessageHeaders *headers;

  if (message == NULL)
    return NULL;
  headers = soup_message_get_request_headers (message);
  if (depth != NULL)
    soup_message_headers_replace (headers, "Depth", depth);
  if (condition == CAIRN_DAV_IF_NONE_MATCH)
    soup_message_headers_replace (headers, "If-None-Match", "*");
  else if (condition == CAIRN_DAV_IF_MATCH)
    soup_message_headers_replace (headers, "If-Match", etag);
  if (body != NULL)
    {
      soup_message_set_request_body_from_bytes (message, content_type, body);
      g_object_set_data_full (G_OBJECT (message), "cairn-body", g_bytes_ref (body),
                              (GDestroyNotify) g_bytes_unref);
      g_object_set_data_full (G_OBJECT (message), "cairn-content-type", g_strdup (content_type),
                              g_free);
      g_signal_connect (message, "restarted", G_CALLBACK (restarted), NULL);
    }
  return exchange (self, message, path, max_size, cancellable, error);
}

/* MOVE (RFC 4918 §9.9) of @from to @to, never over an existing resource:
 * the server moves the bytes, which the resource need not have. */
CairnDavResponse *
cairn_dav_client_move (CairnDavClient  *self,
                       const char      *from,
                       const char      *to,
                       GCancellable    *cancellable,
                       GError         **error)
{
  g_autoptr(SoupMessage) message = new_message (self, "MOVE", from, error);
  g_autoptr(GUri) destination = g_uri_parse_relative (self->base, to, G_URI_FLAGS_ENCODED, NULL);
  g_autofree char *url = destination ? g_uri_to_string (destination) : NULL;
  SoupMessageHeaders *headers;

  if (message == NULL)
    return NULL;
  if (url == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Not a path: %s", to), NULL;
  headers = soup_message_get_request_headers (message);
  soup_message_headers_replace (headers, "Destination", url);
  soup_message_headers_replace (headers, "Overwrite", "F");
  return exchange (self, message, from, 1024 * 1024, cancellable, error);
}

/* Success (2xx) or an error: 401 asks for credentials, a busy or failing
 * server (408, 429, 5xx) is transient, anything else permanent. */
gboolean
cairn_dav_client_check_status (CairnDavResponse  *response,
                               const char        *method,
                               const char        *path,
                               GError           **error)
{
  guint status = response->status;
  CairnResourceError code = CAIRN_RESOURCE_ERROR_PERMANENT;

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    return TRUE;
  if (status == SOUP_STATUS_UNAUTHORIZED)
    code = CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS;
  else if (status == SOUP_STATUS_REQUEST_TIMEOUT || status == 429 || status >= 500)
    code = CAIRN_RESOURCE_ERROR_TRANSIENT;
  g_set_error (error, CAIRN_RESOURCE_ERROR, code, "%s %s: %u %s", method, path, status,
               soup_status_get_phrase (status) ? soup_status_get_phrase (status) : "");
  return FALSE;
}

static void
cairn_dav_client_finalize (GObject *object)
{
  CairnDavClient *self = CAIRN_DAV_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->base, g_uri_unref);
  g_free (self->user);
  g_free (self->fingerprint);
  g_free (self->password);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (cairn_dav_client_parent_class)->finalize (object);
}

static void
cairn_dav_client_class_init (CairnDavClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_dav_client_finalize;
}

static void
cairn_dav_client_init (CairnDavClient *self)
{
  g_mutex_init (&self->lock);
}
