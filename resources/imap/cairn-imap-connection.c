/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One IMAP session on libetpan: connect (TLS, STARTTLS or plain on
 * loopback), check the server's certificate, log in, learn what the
 * server can do, and turn libetpan's result codes into CairnResourceError. */
#include <string.h>
#include <gio/gio.h>

#include "cairn-imap-connection-private.h"

/* Seconds a read or write may block before the session counts as lost. */
#define IO_TIMEOUT 60

CairnImapSettings *
cairn_imap_settings_copy (const CairnImapSettings *settings)
{
  CairnImapSettings *copy = g_new0 (CairnImapSettings, 1);

  copy->host = g_strdup (settings->host);
  copy->port = settings->port;
  copy->security = settings->security;
  copy->user = g_strdup (settings->user);
  copy->password = g_strdup (settings->password);
  copy->pinned_sha256 = g_strdup (settings->pinned_sha256);
  copy->ca_file = g_strdup (settings->ca_file);
  return copy;
}

void
cairn_imap_settings_free (CairnImapSettings *settings)
{
  if (settings == NULL)
    return;
  g_free (settings->host);
  g_free (settings->user);
  if (settings->password != NULL)
    memset (settings->password, 0, strlen (settings->password));
  g_free (settings->password);
  g_free (settings->pinned_sha256);
  g_free (settings->ca_file);
  g_free (settings);
}

/* libetpan reads a literal (a message, a header block) in a loop that
 * never ends when the stream reads 0 bytes: a server that closes the
 * connection in the middle of one would spin a thread forever. The
 * stream's driver is wrapped so that the end of the stream is an error,
 * which fails the command (MAILIMAP_ERROR_STREAM). */
typedef struct
{
  mailstream_low_driver driver;    /* first: libetpan sees this */
  mailstream_low_driver *wrapped;
} EofDriver;

static ssize_t
eof_read (mailstream_low *low,
          void           *buffer,
          size_t          count)
{
  EofDriver *driver = (EofDriver *) low->driver;
  ssize_t n = driver->wrapped->mailstream_read (low, buffer, count);

  return n == 0 && count > 0 ? -1 : n;
}

static void
wrap_stream (CairnImapConnection *connection)
{
  mailstream_low *low = connection->session->imap_stream ?
                        mailstream_get_low (connection->session->imap_stream) : NULL;
  EofDriver *driver;

  if (low == NULL || low->driver->mailstream_read == eof_read)
    return;
  driver = g_new0 (EofDriver, 1);
  driver->driver = *low->driver;
  driver->driver.mailstream_read = eof_read;
  driver->wrapped = low->driver;
  low->driver = &driver->driver;
  if (connection->drivers == NULL)
    connection->drivers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (connection->drivers, driver);
}

void
cairn_imap_connection_free (CairnImapConnection *connection)
{
  if (connection == NULL)
    return;
  if (connection->session != NULL)
    {
      if (!connection->broken && connection->session->imap_stream != NULL)
        mailimap_logout (connection->session);
      mailimap_free (connection->session);
    }
  g_clear_pointer (&connection->drivers, g_ptr_array_unref);
  g_free (connection->prefix);
  g_free (connection->selected);
  g_free (connection);
}

/* A libetpan result as a GError. A lost stream, a BYE, an unparsable
 * answer or a protocol error leave the session unusable: it is marked
 * broken and the error is transient, to be tried again on a new
 * connection. A NO or BAD answer to a command is the server's refusal and
 * permanent, with the server's own words. */
gboolean
cairn_imap_connection_check (CairnImapConnection  *connection,
                             int                   result,
                             const char           *what,
                             const char           *mailbox,
                             GError              **error)
{
  const char *said = connection->session->imap_response;
  g_autofree char *where = mailbox ? g_strdup_printf (" “%s”", mailbox) : g_strdup ("");

  switch (result)
    {
    case MAILIMAP_NO_ERROR:
    case MAILIMAP_NO_ERROR_AUTHENTICATED:
    case MAILIMAP_NO_ERROR_NON_AUTHENTICATED:
      return TRUE;
    case MAILIMAP_ERROR_STREAM:
    case MAILIMAP_ERROR_CONNECTION_REFUSED:
    case MAILIMAP_ERROR_FATAL:
    case MAILIMAP_ERROR_PARSE:
    case MAILIMAP_ERROR_PROTOCOL:
    case MAILIMAP_ERROR_BAD_STATE:
    case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
    case MAILIMAP_ERROR_SSL:
    case MAILIMAP_ERROR_MEMORY:
      connection->broken = TRUE;
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "Cannot %s%s: %s", what, where,
                   result == MAILIMAP_ERROR_FATAL ? "the server closed the connection (BYE)" :
                   result == MAILIMAP_ERROR_PARSE ? "the server's answer cannot be parsed" :
                   result == MAILIMAP_ERROR_CONNECTION_REFUSED ? "connection refused" :
                   result == MAILIMAP_ERROR_SSL ? "the TLS handshake failed" :
                   "the connection was lost");
      return FALSE;
    case MAILIMAP_ERROR_LOGIN:
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
                   "The server refused the login: %s", said ? said : "no reason given");
      return FALSE;
    default:
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Cannot %s%s: the server said “%s”", what, where,
                   said ? said : "no");
      return FALSE;
    }
}

gboolean
cairn_imap_host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* "SHA256 AB:CD:..." of a DER certificate, as users compare it. */
char *
cairn_imap_fingerprint (const guint8 *der,
                        gsize         length)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_length = sizeof digest;
  GString *text = g_string_new (NULL);

  g_checksum_update (checksum, der, length);
  g_checksum_get_digest (checksum, digest, &digest_length);
  for (gsize i = 0; i < digest_length; i++)
    g_string_append_printf (text, "%s%02X", i ? ":" : "", digest[i]);
  return g_string_free (text, FALSE);
}

/* Whether a pinned fingerprint names @fingerprint, whatever the case
 * and with or without colons. */
gboolean
cairn_imap_fingerprint_equal (const char *pinned,
                              const char *fingerprint)
{
  const char *a = pinned, *b = fingerprint;

  for (;;)
    {
      while (*a == ':' || *a == ' ')
        a++;
      while (*b == ':')
        b++;
      if (*a == '\0' || *b == '\0')
        return *a == '\0' && *b == '\0';
      if (g_ascii_tolower (*a) != g_ascii_tolower (*b))
        return FALSE;
      a++;
      b++;
    }
}

static char *
describe_flags (GTlsCertificateFlags flags)
{
  static const struct { GTlsCertificateFlags flag; const char *text; } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown issuer" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "issued for another host" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "expired" },
    { G_TLS_CERTIFICATE_REVOKED, "revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "insecure algorithm" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "invalid" },
  };
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (flags & reasons[i].flag)
      g_string_append_printf (text, "%s%s", text->len ? ", " : "", reasons[i].text);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Checks the chain the server sent against the trust store (or the
 * configured CA file), for the configured host; a pinned fingerprint of
 * the server's own certificate is accepted instead. */
static gboolean
verify_certificate (CairnImapConnection      *connection,
                    const CairnImapSettings  *settings,
                    GError                  **error)
{
  carray *chain = mailstream_get_certificate_chain (connection->session->imap_stream);
  g_autoptr(GString) pem = g_string_new (NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *reasons = NULL;
  g_autoptr(GError) local_error = NULL;
  GTlsCertificateFlags flags;

  if (chain == NULL || carray_count (chain) == 0)
    {
      if (chain != NULL)
        mailstream_certificate_chain_free (chain);
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Certificate not trusted: %s sent none", settings->host);
      return FALSE;
    }
  for (guint i = 0; i < carray_count (chain); i++)
    {
      MMAPString *der = carray_get (chain, i);
      g_autofree char *base64 = g_base64_encode ((const guchar *) der->str, der->len);
      gsize length = strlen (base64);

      if (i == 0)
        fingerprint = cairn_imap_fingerprint ((const guint8 *) der->str, der->len);
      g_string_append (pem, "-----BEGIN CERTIFICATE-----\n");
      for (gsize at = 0; at < length; at += 64)
        g_string_append_printf (pem, "%.64s\n", base64 + at);
      g_string_append (pem, "-----END CERTIFICATE-----\n");
    }
  mailstream_certificate_chain_free (chain);

  if (settings->pinned_sha256 != NULL && *settings->pinned_sha256 != '\0')
    {
      if (cairn_imap_fingerprint_equal (settings->pinned_sha256, fingerprint))
        return TRUE;
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Certificate not trusted: %s's certificate is not the one pinned, "
                   "fingerprint SHA256 %s", settings->host, fingerprint);
      return FALSE;
    }

  certificate = g_tls_certificate_new_from_pem (pem->str, pem->len, &local_error);
  if (certificate == NULL)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Certificate not trusted: %s, fingerprint SHA256 %s", local_error->message,
                   fingerprint);
      return FALSE;
    }
  if (settings->ca_file != NULL && *settings->ca_file != '\0')
    database = g_tls_file_database_new (settings->ca_file, &local_error);
  else
    database = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  if (database == NULL)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Certificate not trusted: no trust store (%s), fingerprint SHA256 %s",
                   local_error ? local_error->message : "GIO has no TLS backend", fingerprint);
      return FALSE;
    }
  identity = g_network_address_new (settings->host, settings->port);
  flags = g_tls_database_verify_chain (database, certificate,
                                       G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity,
                                       NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &local_error);
  if (local_error != NULL)
    flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
  if (flags == 0)
    return TRUE;
  reasons = describe_flags (flags);
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "Certificate not trusted: %s (%s), fingerprint SHA256 %s", settings->host,
               reasons, fingerprint);
  return FALSE;
}

static void
set_server_name (struct mailstream_ssl_context *context,
                 void                          *data)
{
  mailstream_ssl_set_server_name (context, data);
}

/* The personal namespace's prefix and delimiter, from NAMESPACE, else
 * from LIST "" "". */
static gboolean
learn_namespace (CairnImapConnection  *connection,
                 GError              **error)
{
  struct mailimap_namespace_data *data = NULL;
  clist *list = NULL;
  int r;

  connection->prefix = g_strdup ("");
  if (mailimap_has_namespace (connection->session))
    {
      r = mailimap_namespace (connection->session, &data);
      if (!cairn_imap_connection_check (connection, r, "read the namespaces", NULL, error))
        return FALSE;
      if (data != NULL && data->ns_personal != NULL && data->ns_personal->ns_data_list != NULL &&
          clist_begin (data->ns_personal->ns_data_list) != NULL)
        {
          struct mailimap_namespace_info *info =
            clist_content (clist_begin (data->ns_personal->ns_data_list));

          g_free (connection->prefix);
          connection->prefix = g_strdup (info->ns_prefix ? info->ns_prefix : "");
          connection->delimiter = info->ns_delimiter;
        }
      mailimap_namespace_data_free (data);
      if (connection->delimiter != 0)
        return TRUE;
    }
  r = mailimap_list (connection->session, "", "", &list);
  if (!cairn_imap_connection_check (connection, r, "read the hierarchy delimiter", NULL, error))
    return FALSE;
  if (list != NULL && clist_begin (list) != NULL)
    connection->delimiter = ((struct mailimap_mailbox_list *) clist_content (clist_begin (list)))
                              ->mb_delimiter;
  if (list != NULL)
    mailimap_list_result_free (list);
  return TRUE;
}

CairnImapConnection *
cairn_imap_connection_open (const CairnImapSettings  *settings,
                            GError                  **error)
{
  g_autoptr(CairnImapConnection) connection = g_new0 (CairnImapConnection, 1);
  struct mailimap_capability_data *capabilities = NULL;
  int r;

  if (settings->host == NULL || *settings->host == '\0' || settings->user == NULL)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                   "The IMAP resource needs a host and a user");
      return NULL;
    }
  if (settings->security == CAIRN_IMAP_SECURITY_NONE &&
      !cairn_imap_host_is_loopback (settings->host))
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                   "security=none sends the password in clear: it is refused for %s, "
                   "which is not a loopback address", settings->host);
      return NULL;
    }

  connection->session = mailimap_new (0, NULL);
  mailimap_set_timeout (connection->session, IO_TIMEOUT);
  if (settings->security == CAIRN_IMAP_SECURITY_TLS)
    r = mailimap_ssl_connect_with_callback (connection->session, settings->host, settings->port,
                                            set_server_name, settings->host);
  else
    r = mailimap_socket_connect (connection->session, settings->host, settings->port);
  if (!cairn_imap_connection_check (connection, r, "connect to", settings->host, error))
    return NULL;
  wrap_stream (connection);
  if (settings->security == CAIRN_IMAP_SECURITY_STARTTLS)
    {
      r = mailimap_socket_starttls_with_callback (connection->session, set_server_name,
                                                  settings->host);
      if (r != MAILIMAP_NO_ERROR)
        {
          connection->broken = TRUE;
          g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                       "%s refused STARTTLS: the password is not sent in clear",
                       settings->host);
          return NULL;
        }
      wrap_stream (connection);
    }
  if (settings->security != CAIRN_IMAP_SECURITY_NONE &&
      !verify_certificate (connection, settings, error))
    {
      connection->broken = TRUE;
      return NULL;
    }

  /* Capabilities change after login (RFC 3501, 6.2.3). Those of the
   * greeting are forgotten, so that a server that sends the new ones in
   * its answer to LOGIN, as Dovecot does, is spared a round trip. */
  g_clear_pointer (&connection->session->imap_connection_info->imap_capability,
                   mailimap_capability_data_free);
  r = mailimap_login (connection->session, settings->user,
                      settings->password ? settings->password : "");
  if (!cairn_imap_connection_check (connection, r, "log in to", settings->host, error))
    return NULL;
  if (connection->session->imap_connection_info->imap_capability == NULL)
    {
      r = mailimap_capability (connection->session, &capabilities);
      if (!cairn_imap_connection_check (connection, r, "read the capabilities of",
                                        settings->host, error))
        return NULL;
      mailimap_capability_data_free (capabilities);
    }

  connection->condstore = mailimap_has_condstore (connection->session);
  connection->qresync = mailimap_has_qresync (connection->session) &&
                        mailimap_has_enable (connection->session);
  connection->uidplus = mailimap_has_uidplus (connection->session);
  connection->move = mailimap_has_extension (connection->session, "MOVE");
  if (connection->qresync)
    {
      struct mailimap_capability_data *wanted = mailimap_capability_data_new (clist_new ());
      struct mailimap_capability_data *enabled = NULL;

      clist_append (wanted->cap_list,
                    mailimap_capability_new (MAILIMAP_CAPABILITY_NAME, NULL, strdup ("QRESYNC")));
      r = mailimap_enable (connection->session, wanted, &enabled);
      mailimap_capability_data_free (wanted);
      if (enabled != NULL)
        mailimap_capability_data_free (enabled);
      if (!cairn_imap_connection_check (connection, r, "enable QRESYNC on", settings->host,
                                        error))
        return NULL;
    }
  if (!learn_namespace (connection, error))
    return NULL;
  return g_steal_pointer (&connection);
}

/* Selects @mailbox unless it is selected already, learning UIDVALIDITY,
 * UIDNEXT and HIGHESTMODSEQ. */
gboolean
cairn_imap_connection_select (CairnImapConnection  *connection,
                              const char           *mailbox,
                              GError              **error)
{
  struct mailimap_selection_info *info;
  guint64 modseq = 0;
  int r;

  if (connection->selected != NULL && strcmp (connection->selected, mailbox) == 0)
    return TRUE;
  g_clear_pointer (&connection->selected, g_free);
  if (connection->condstore)
    r = mailimap_select_condstore (connection->session, mailbox, &modseq);
  else
    r = mailimap_select (connection->session, mailbox);
  if (!cairn_imap_connection_check (connection, r, "open the folder", mailbox, error))
    return FALSE;
  info = connection->session->imap_selection_info;
  connection->selected = g_strdup (mailbox);
  connection->uidvalidity = info ? info->sel_uidvalidity : 0;
  connection->uidnext = info ? info->sel_uidnext : 0;
  connection->exists = info ? info->sel_exists : 0;
  connection->highestmodseq = modseq;
  return TRUE;
}

struct mailimap_set *
cairn_imap_uid_set_new (GArray *uids)
{
  struct mailimap_set *set = mailimap_set_new_empty ();

  for (guint i = 0; i < uids->len; )
    {
      guint32 first = g_array_index (uids, guint32, i);
      guint32 last = first;

      for (i++; i < uids->len; i++)
        {
          guint32 next = g_array_index (uids, guint32, i);

          if (next == last)
            continue;
          if (next != last + 1)
            break;
          last = next;
        }
      mailimap_set_add_interval (set, first, last);
    }
  return set;
}

char *
cairn_imap_uid_set_to_string (struct mailimap_set *set)
{
  GString *text = g_string_new (NULL);

  for (clistiter *cur = clist_begin (set->set_list); cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_set_item *item = clist_content (cur);

      if (text->len > 0)
        g_string_append_c (text, ',');
      if (item->set_first == item->set_last)
        g_string_append_printf (text, "%u", item->set_first);
      else
        g_string_append_printf (text, "%u:%u", item->set_first, item->set_last);
    }
  return g_string_free (text, FALSE);
}

/* The UIDs of a set the server sent (COPYUID, VANISHED), at most @limit
 * of them: a hostile 1:4294967295 must not fill the memory. "*" (0) is
 * not a UID and is skipped. */
GArray *
cairn_imap_uid_set_expand (struct mailimap_set *set,
                           guint                limit)
{
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (clistiter *cur = set ? clist_begin (set->set_list) : NULL; cur != NULL;
       cur = clist_next (cur))
    {
      struct mailimap_set_item *item = clist_content (cur);
      guint32 first = MIN (item->set_first, item->set_last);
      guint32 last = MAX (item->set_first, item->set_last);

      if (first == 0)
        first = 1;
      for (guint64 uid = first; uid <= last && last != 0 && uids->len < limit; uid++)
        g_array_append_val (uids, (guint32) { uid });
    }
  return uids;
}

static struct mailimap_flag *
flag_new (const char *name)
{
  if (g_ascii_strcasecmp (name, CAIRN_FLAG_SEEN) == 0)
    return mailimap_flag_new_seen ();
  if (g_ascii_strcasecmp (name, CAIRN_FLAG_FLAGGED) == 0)
    return mailimap_flag_new_flagged ();
  if (g_ascii_strcasecmp (name, CAIRN_FLAG_ANSWERED) == 0)
    return mailimap_flag_new_answered ();
  if (g_ascii_strcasecmp (name, CAIRN_FLAG_DRAFT) == 0)
    return mailimap_flag_new_draft ();
  if (g_ascii_strcasecmp (name, CAIRN_FLAG_DELETED) == 0)
    return mailimap_flag_new_deleted ();
  return mailimap_flag_new_flag_keyword (strdup (name));
}

/* An IMAP atom holds no space, parenthesis, brace, quote, wildcard or
 * control character, and only a system flag begins with a backslash:
 * other keywords stay local rather than break the command. */
static gboolean
is_keyword (const char *name)
{
  if (*name == '\0' || *name == '\\')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("(){%*\"\\]", *p) != NULL)
      return FALSE;
  return TRUE;
}

struct mailimap_flag_list *
cairn_imap_flag_list_new (const CairnFlags *flags)
{
  struct mailimap_flag_list *list = mailimap_flag_list_new_empty ();

  for (guint i = 0; flags != NULL && i < cairn_flags_get_size (flags); i++)
    {
      const char *name = cairn_flags_get_flag (flags, i);

      if (name[0] == '\\' ? g_ascii_strcasecmp (name, "\\Recent") != 0 &&
                            g_ascii_strcasecmp (name, "\\*") != 0 &&
                            is_keyword (name + 1)
                          : is_keyword (name))
        mailimap_flag_list_add (list, flag_new (name));
    }
  return list;
}

CairnFlags *
cairn_imap_flags_from_fetch (struct mailimap_msg_att_dynamic *dynamic)
{
  CairnFlags *flags = cairn_flags_new ();

  for (clistiter *cur = dynamic && dynamic->att_list ? clist_begin (dynamic->att_list) : NULL;
       cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_flag_fetch *fetched = clist_content (cur);
      struct mailimap_flag *flag = fetched->fl_flag;

      if (fetched->fl_type != MAILIMAP_FLAG_FETCH_OTHER || flag == NULL)
        continue;
      switch (flag->fl_type)
        {
        case MAILIMAP_FLAG_ANSWERED: cairn_flags_add (flags, CAIRN_FLAG_ANSWERED); break;
        case MAILIMAP_FLAG_FLAGGED: cairn_flags_add (flags, CAIRN_FLAG_FLAGGED); break;
        case MAILIMAP_FLAG_DELETED: cairn_flags_add (flags, CAIRN_FLAG_DELETED); break;
        case MAILIMAP_FLAG_SEEN: cairn_flags_add (flags, CAIRN_FLAG_SEEN); break;
        case MAILIMAP_FLAG_DRAFT: cairn_flags_add (flags, CAIRN_FLAG_DRAFT); break;
        case MAILIMAP_FLAG_KEYWORD:
          if (flag->fl_data.fl_keyword != NULL &&
              g_utf8_validate (flag->fl_data.fl_keyword, -1, NULL))
            cairn_flags_add (flags, flag->fl_data.fl_keyword);
          break;
        case MAILIMAP_FLAG_EXTENSION:
          if (flag->fl_data.fl_extension != NULL &&
              g_utf8_validate (flag->fl_data.fl_extension, -1, NULL))
            {
              g_autofree char *name = g_strconcat ("\\", flag->fl_data.fl_extension, NULL);

              cairn_flags_add (flags, name);
            }
          break;
        default:
          break;
        }
    }
  return flags;
}

/* INTERNALDATE as Unix time, 0 for an impossible date; a zone of 25
 * hours or more counts as UTC. Those are what g_date_time_new() and
 * g_time_zone_new_offset() gave, but a GTimeZone and a GDateTime a
 * message were a twentieth of the reader thread's time. */
gint64
cairn_imap_date_time_to_unix (const struct mailimap_date_time *date)
{
  const gint64 unix_epoch_julian = 719163;  /* g_date_get_julian () of 1970-01-01 */
  int zone = ABS (date->dt_zone);
  gint64 offset = (zone / 100) * 3600 + (zone % 100) * 60;
  GDate day;

  if (date->dt_year < 1 || date->dt_year > 9999 || date->dt_month < 1 || date->dt_month > 12 ||
      date->dt_day < 1 || date->dt_day > 31 || date->dt_hour < 0 || date->dt_hour > 23 ||
      date->dt_min < 0 || date->dt_min > 59 || date->dt_sec < 0 || date->dt_sec > 59 ||
      !g_date_valid_dmy (date->dt_day, date->dt_month, date->dt_year))
    return 0;
  if (offset >= 25 * 3600)
    offset = 0;
  g_date_clear (&day, 1);
  g_date_set_dmy (&day, date->dt_day, date->dt_month, date->dt_year);
  return (g_date_get_julian (&day) - unix_epoch_julian) * 86400 + date->dt_hour * 3600 +
         date->dt_min * 60 + date->dt_sec - (date->dt_zone < 0 ? -offset : offset);
}
