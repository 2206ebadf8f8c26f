/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "radicale-fixture.h"

struct _RadicaleFixture
{
  GPid pid;
  guint16 port;
  char *storage;
  char *authorization;
  char *fingerprint;          /* of the self-signed certificate, with tls */
  SoupSession *session;
};

/* A port free a moment ago; Radicale takes it at once. */
static guint16
free_port (GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, address, TRUE, error) ||
      (bound = g_socket_get_local_address (socket, error)) == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
listening (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection =
    g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);

  return connection != NULL;
}

/* A self-signed certificate for 127.0.0.1, made with openssl, and the
 * SHA-256 of its DER form. */
static gboolean
make_certificate (RadicaleFixture  *self,
                  const char       *root,
                  GString          *config,
                  GError          **error)
{
  g_autofree char *certificate = g_build_filename (root, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (root, "key.pem", NULL);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", certificate, NULL };
  g_autoptr(GTlsCertificate) parsed = NULL;
  g_autoptr(GByteArray) der = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                     NULL, &status, error) ||
      !g_spawn_check_wait_status (status, error) ||
      (parsed = g_tls_certificate_new_from_file (certificate, error)) == NULL)
    return FALSE;
  g_object_get (parsed, "certificate", &der, NULL);
  self->fingerprint = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
  g_string_append_printf (config, "ssl = True\ncertificate = %s\nkey = %s\n", certificate, key);
  return TRUE;
}

/* The test's own client trusts the test's own server. */
static gboolean
accept_certificate (SoupMessage          *message,
                    GTlsCertificate      *certificate,
                    GTlsCertificateFlags  errors,
                    gpointer              user_data)
{
  return TRUE;
}

RadicaleFixture *
radicale_fixture_start (const char  *folder,
                        const char  *user,
                        const char  *password,
                        gboolean     tls,
                        GError     **error)
{
  RadicaleFixture *self = g_new0 (RadicaleFixture, 1);
  g_autofree char *root = g_build_filename (folder, "radicale", NULL);
  g_autofree char *config = g_build_filename (root, "config", NULL);
  g_autofree char *users = g_build_filename (root, "users", NULL);
  g_autoptr(GString) config_text = g_string_new (NULL);
  g_autofree char *users_text = g_strdup_printf ("%s:%s\n", user, password);
  g_autofree char *credentials = g_strdup_printf ("%s:%s", user, password);
  g_autofree char *encoded = g_base64_encode ((const guchar *) credentials, strlen (credentials));
  const char *argv[] = { "/usr/bin/python3", "-m", "radicale", "--config", config, NULL };

  self->storage = g_build_filename (root, "collections", NULL);
  self->authorization = g_strdup_printf ("Basic %s", encoded);
  self->session = soup_session_new ();
  if ((self->port = free_port (error)) == 0 || g_mkdir_with_parents (root, 0700) != 0)
    return radicale_fixture_stop (self), NULL;
  /* No delay after a refused login: a test's server. */
  g_string_append_printf (config_text, "[server]\nhosts = 127.0.0.1:%u\n", self->port);
  if (tls && !make_certificate (self, root, config_text, error))
    return radicale_fixture_stop (self), NULL;
  g_string_append_printf (config_text, "[auth]\ntype = htpasswd\nhtpasswd_filename = %s\n"
                                 "htpasswd_encryption = plain\ndelay = 0\n"
                                 "[rights]\ntype = owner_only\n"
                                 "[storage]\nfilesystem_folder = %s\n"
                                 "[web]\ntype = none\n[logging]\nlevel = warning\n",
                                 users, self->storage);
  if (!g_file_set_contents (config, config_text->str, -1, error) ||
      !g_file_set_contents (users, users_text, -1, error) ||
      !g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                      &self->pid, error))
    return radicale_fixture_stop (self), NULL;
  for (guint i = 0; i < 300 && !listening (self->port); i++)
    {
      /* Gone already: a bad configuration, said on stderr. */
      if (waitpid (self->pid, NULL, WNOHANG) == self->pid)
        {
          self->pid = 0;
          break;
        }
      g_usleep (50000);
    }
  if (self->pid == 0 || !listening (self->port))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Radicale did not start on port %u",
                   self->port);
      return radicale_fixture_stop (self), NULL;
    }
  return self;
}

void
radicale_fixture_stop (RadicaleFixture *self)
{
  if (self->pid > 0)
    {
      kill (self->pid, SIGTERM);
      waitpid (self->pid, NULL, 0);
      g_spawn_close_pid (self->pid);
    }
  g_clear_object (&self->session);
  g_free (self->storage);
  g_free (self->authorization);
  g_free (self->fingerprint);
  g_free (self);
}

char *
radicale_fixture_url (RadicaleFixture *self,
                      const char      *path)
{
  return g_strdup_printf ("%s://127.0.0.1:%u%s", self->fingerprint ? "https" : "http", self->port,
                          path);
}

/* The SHA-256 of the server's certificate, NULL without TLS. */
const char *
radicale_fixture_get_fingerprint (RadicaleFixture *self)
{
  return self->fingerprint;
}

const char *
radicale_fixture_get_storage (RadicaleFixture *self)
{
  return self->storage;
}

/* One request as another client would send it, with the user's Basic
 * credentials; the body of the answer, or NULL when it cannot be sent. */
GBytes *
radicale_fixture_http (RadicaleFixture  *self,
                       const char       *method,
                       const char       *path,
                       const char       *body,
                       const char       *header,
                       const char       *value,
                       guint            *status,
                       char            **etag)
{
  g_autofree char *url = radicale_fixture_url (self, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  GBytes *answer;

  g_signal_connect (message, "accept-certificate", G_CALLBACK (accept_certificate), NULL);
  soup_message_headers_replace (headers, "Authorization", self->authorization);
  if (header != NULL)
    soup_message_headers_replace (headers, header, value);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      const char *type = g_str_has_prefix (body, "BEGIN:VCARD") ? "text/vcard; charset=utf-8"
                         : g_str_has_prefix (body, "BEGIN:VCALENDAR")
                         ? "text/calendar; charset=utf-8" : "application/xml; charset=utf-8";

      soup_message_set_request_body_from_bytes (message, type, bytes);
    }
  answer = soup_session_send_and_read (self->session, message, NULL, NULL);
  if (status != NULL)
    *status = soup_message_get_status (message);
  if (etag != NULL)
    *etag = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message),
                                                    "ETag"));
  return answer;
}
