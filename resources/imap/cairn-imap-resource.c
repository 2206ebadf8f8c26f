/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMAP resource: folders, messages and flags of one IMAP account,
 * kept in the store and written back, on libetpan. Every backend call
 * blocks, so each runs in a worker thread of the base class (or, for
 * flag deltas, of this class) on one shared connection, which the
 * scheduler's one-task-at-a-time rule keeps to one user; a lock guards it
 * anyway against the replay of flags. Push comes from IDLE threads with
 * connections of their own (cairn-imap-idle.c). See docs/imap.md. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "cairn-imap-connection-private.h"
#include "cairn-imap-idle-private.h"
#include "cairn-mail-header-private.h"

#define MIME_TYPE "message/rfc822"
#define INBOX "INBOX"
/* The remote id separates folder levels with '/', whatever the server's
 * delimiter is, so that cairn_resource_relocate_collections() takes the
 * sub-folders of a renamed folder along. */
#define REMOTE_SEPARATOR '/'

#define ATTR_ROLE "role"
#define ATTR_NOSELECT "imap-noselect"
#define ATTR_UIDVALIDITY "imap-uidvalidity"
#define ATTR_HIGHESTMODSEQ "imap-highestmodseq"

/* Messages per FETCH when reading headers: one store batch. */
#define FETCH_BATCH 1000
/* Messages per FETCH when reading whole bodies. */
#define BODY_BATCH 100
/* The largest message the resource appends: a part's payload is read
 * into memory for APPEND. */
#define MAX_APPEND_SIZE (256 * 1024 * 1024)
/* What is read of a message to find its Message-ID: its header, or the
 * start of one that is longer. */
#define MAX_HEADER_READ (64 * 1024)
#define FALLBACK_CHARSET "windows-1252"

static const char * const header_fields[] = {
  "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
  "Content-Type",
};

typedef enum
{
  BODIES_NONE,
  BODIES_RECENT,
  BODIES_ALL,
} BodiesPolicy;

#define CAIRN_TYPE_IMAP_RESOURCE (cairn_imap_resource_get_type ())
G_DECLARE_FINAL_TYPE (CairnImapResource, cairn_imap_resource, CAIRN, IMAP_RESOURCE,
                      CairnResource)

struct _CairnImapResource
{
  CairnResource parent_instance;

  char *host;
  guint port;
  char *security;
  char *user;
  char *pinned_certificate;
  char *ca_file;
  char *bodies;
  char *idle_folders;

  /* Guards what follows: the connection and the password. Methods hold
   * it through a GMutexLocker marked G_GNUC_UNUSED, since clang counts
   * no cleanup as a use. */
  GMutex lock;
  CairnImapConnection *connection;
  gint64 last_used;
  char *password;
  /* Remote ids of the folders synced since the resource started. */
  GHashTable *synced;

  GHashTable *idles;   /* remote id → CairnImapIdle of the watched folders */
  char *attempt_path;  /* see note_attempt() */
  /* The server's hierarchy delimiter once known, for the main thread,
   * which never waits for the lock. */
  gint delimiter;
  GMainContext *context;
};

enum {
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_SECURITY,
  PROP_USER,
  PROP_PINNED_CERTIFICATE,
  PROP_CA_FILE,
  PROP_BODIES,
  PROP_IDLE_FOLDERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_imap_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnImapResource, cairn_imap_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_imap_resource_observer_init))

static CairnStore *
get_store (CairnImapResource *self)
{
  return cairn_agent_get_store (CAIRN_AGENT (self));
}

static const char *
get_id (CairnImapResource *self)
{
  return cairn_agent_get_id (CAIRN_AGENT (self));
}

/* Settings and connection */

static gboolean
parse_security (const char         *text,
                CairnImapSecurity  *security,
                GError            **error)
{
  if (text == NULL || g_str_equal (text, "tls"))
    *security = CAIRN_IMAP_SECURITY_TLS;
  else if (g_str_equal (text, "starttls"))
    *security = CAIRN_IMAP_SECURITY_STARTTLS;
  else if (g_str_equal (text, "none"))
    *security = CAIRN_IMAP_SECURITY_NONE;
  else
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "security must be tls, starttls or none, not “%s”", text), FALSE;
  return TRUE;
}

/* The settings of a new connection; with the lock held. The password is
 * read from the Secret Service once. */
static CairnImapSettings *
make_settings (CairnImapResource  *self,
               GError            **error)
{
  g_autoptr(CairnImapSettings) settings = g_new0 (CairnImapSettings, 1);
  g_autoptr(GError) local_error = NULL;

  if (!parse_security (self->security, &settings->security, error))
    return NULL;
  if (self->password == NULL)
    {
      self->password = cairn_secrets_lookup_sync (cairn_resource_get_secrets (CAIRN_RESOURCE (self)),
                                                  "password", NULL, &local_error);
      if (self->password == NULL)
        {
          g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
                       "The password of %s cannot be read: %s", get_id (self),
                       local_error->message);
          return NULL;
        }
    }
  settings->host = g_strdup (self->host);
  settings->port = self->port != 0 ? self->port :
                   settings->security == CAIRN_IMAP_SECURITY_TLS ? 993 : 143;
  settings->user = g_strdup (self->user);
  settings->password = g_strdup (self->password);
  settings->pinned_sha256 = g_strdup (self->pinned_certificate);
  settings->ca_file = g_strdup (self->ca_file);
  return g_steal_pointer (&settings);
}

/* A connection unused for this long is checked with NOOP before use: the
 * server may have dropped it meanwhile, and a task should not fail for
 * that. */
#define CHECK_AFTER_US (2 * G_USEC_PER_SEC)

/* Whether the server said something to a connection between commands:
 * outside IDLE only a BYE or the end of the stream, which a NOOP meets. */
static gboolean
has_unread (CairnImapConnection *connection)
{
  mailstream *stream = connection->session->imap_stream;
  struct pollfd fd = { .events = POLLIN };

  if (stream == NULL)
    return TRUE;
  fd.fd = mailstream_low_get_fd (mailstream_get_low (stream));
  return stream->read_buffer_len > 0 || (fd.fd >= 0 && poll (&fd, 1, 0) > 0);
}

/* The open connection, opened again if it broke; with the lock held. */
static CairnImapConnection *
acquire (CairnImapResource  *self,
         GError            **error)
{
  g_autoptr(CairnImapSettings) settings = NULL;
  gint64 now = g_get_monotonic_time ();
  gint64 last_used = self->last_used;

  self->last_used = now;
  if (self->connection != NULL && !self->connection->broken &&
      (now - last_used > CHECK_AFTER_US || has_unread (self->connection)) &&
      mailimap_noop (self->connection->session) != MAILIMAP_NO_ERROR)
    self->connection->broken = TRUE;
  if (self->connection != NULL && !self->connection->broken)
    return self->connection;
  g_clear_pointer (&self->connection, cairn_imap_connection_free);
  settings = make_settings (self, error);
  if (settings == NULL)
    return NULL;
  self->connection = cairn_imap_connection_open (settings, error);
  if (self->connection != NULL)
    g_atomic_int_set (&self->delimiter, self->connection->delimiter);
  return self->connection;
}

/* A remote id ("Lists/GNOME") as the server's mailbox name. */
static char *
mailbox_of (CairnImapConnection *connection,
            const char          *remote_id)
{
  char *mailbox = g_strdup (remote_id);

  if (connection->delimiter != 0)
    g_strdelimit (mailbox, (char[]) { REMOTE_SEPARATOR, '\0' }, connection->delimiter);
  return mailbox;
}

/* A mailbox name as a remote id; NULL for one that cannot be told from
 * a path (a '/' in a name on a server whose delimiter is another). */
static char *
remote_id_of (char        delimiter,
              const char *mailbox)
{
  char *remote_id;

  if (delimiter != REMOTE_SEPARATOR && strchr (mailbox, REMOTE_SEPARATOR) != NULL)
    return NULL;
  remote_id = g_strdup (mailbox);
  if (delimiter != 0)
    g_strdelimit (remote_id, (char[]) { delimiter, '\0' }, REMOTE_SEPARATOR);
  return remote_id;
}

static guint32
parse_uid (const char *text)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT32, &value, NULL))
    return 0;
  return value;
}

static guint64
get_number_attribute (CairnCollection *collection,
                      const char      *name)
{
  GBytes *bytes = cairn_collection_get_attribute (collection, name);
  g_autofree char *text = NULL;
  guint64 value = 0;

  if (bytes == NULL)
    return 0;
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &value, NULL);
  return value;
}

static void
set_number_attribute (CairnCollection *collection,
                      const char      *name,
                      guint64          value)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  cairn_collection_set_attribute (collection, name, bytes);
}

/* Folders */

static const struct
{
  const char *flag;
  const char *role;
} special_uses[] = {
  { "Sent", "sent" },
  { "Drafts", "drafts" },
  { "Trash", "trash" },
  { "Junk", "junk" },
  { "Archive", "archive" },
};

static gboolean
has_oflag (struct mailimap_mailbox_list *list,
           int                           type,
           const char                   *extension)
{
  if (list->mb_flag == NULL || list->mb_flag->mbf_oflags == NULL)
    return FALSE;
  for (clistiter *cur = clist_begin (list->mb_flag->mbf_oflags); cur; cur = clist_next (cur))
    {
      struct mailimap_mbx_list_oflag *oflag = clist_content (cur);

      if (oflag->of_type != type)
        continue;
      if (extension == NULL)
        return TRUE;
      if (oflag->of_flag_ext != NULL &&
          g_ascii_strcasecmp (oflag->of_flag_ext + (oflag->of_flag_ext[0] == '\\'),
                              extension) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_noselect (struct mailimap_mailbox_list *list)
{
  return (list->mb_flag != NULL && list->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
          list->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT) ||
         has_oflag (list, MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT, "NonExistent");
}

/* The name shown: the last level, decoded from modified UTF-7; a name
 * that is not in that form is shown as valid UTF-8. */
static char *
display_name (const char *remote_id)
{
  const char *last = strrchr (remote_id, REMOTE_SEPARATOR);
  const char *raw = last ? last + 1 : remote_id;
  char *decoded = cairn_mail_mutf7_decode (raw);

  return decoded ? decoded : g_utf8_make_valid (raw, -1);
}

static CairnCollection *
collection_from_list (CairnImapResource            *self,
                      struct mailimap_mailbox_list *list,
                      const char                   *remote_id,
                      GHashTable                   *listed)
{
  static const char * const mime_types[] = { MIME_TYPE, "inode/directory", NULL };
  g_autofree char *name = display_name (remote_id);
  g_autofree char *parent = g_strdup (remote_id);
  CairnCollection *collection = cairn_collection_new (get_id (self), 0, name);
  const char *role = NULL;
  char *cut;

  cairn_collection_set_remote_id (collection, remote_id);
  cairn_collection_set_content_mime_types (collection, mime_types);
  /* The nearest listed folder above is the parent. */
  while ((cut = strrchr (parent, REMOTE_SEPARATOR)) != NULL)
    {
      *cut = '\0';
      if (g_hash_table_contains (listed, parent))
        {
          cairn_collection_set_parent_remote_id (collection, parent);
          break;
        }
    }
  if (g_ascii_strcasecmp (remote_id, INBOX) == 0)
    role = "inbox";
  for (guint i = 0; role == NULL && i < G_N_ELEMENTS (special_uses); i++)
    if (has_oflag (list, MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT, special_uses[i].flag))
      role = special_uses[i].role;
  if (role != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (role, strlen (role));

      cairn_collection_set_attribute (collection, ATTR_ROLE, bytes);
    }
  if (is_noselect (list))
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static ("1", 1);

      cairn_collection_set_attribute (collection, ATTR_NOSELECT, bytes);
    }
  return collection;
}

static GPtrArray *
retrieve_collections_sync (CairnResource  *resource,
                           GCancellable   *cancellable,
                           GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) collections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) lists = g_ptr_array_new ();
  CairnImapConnection *connection = acquire (self, error);
  clist *result = NULL;
  int r;

  if (connection == NULL)
    return NULL;
  r = mailimap_list (connection->session, "", "*", &result);
  if (!cairn_imap_connection_check (connection, r, "list the folders of", self->host, error))
    return NULL;

  for (clistiter *cur = clist_begin (result); cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_mailbox_list *list = clist_content (cur);
      g_autofree char *remote_id = NULL;

      if (list->mb_name == NULL || *list->mb_name == '\0' ||
          has_oflag (list, MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT, "NonExistent"))
        continue;
      remote_id = remote_id_of (list->mb_delimiter, list->mb_name);
      if (remote_id == NULL || g_hash_table_contains (listed, remote_id))
        {
          g_message ("Skipped folder %s: its name cannot be told from a path", list->mb_name);
          continue;
        }
      g_ptr_array_add (lists, list);
      g_hash_table_add (listed, g_steal_pointer (&remote_id));
    }
  for (guint i = 0; i < lists->len; i++)
    {
      struct mailimap_mailbox_list *list = g_ptr_array_index (lists, i);
      g_autofree char *remote_id = remote_id_of (list->mb_delimiter, list->mb_name);

      g_ptr_array_add (collections, collection_from_list (self, list, remote_id, listed));
    }
  mailimap_list_result_free (result);
  return g_steal_pointer (&collections);
}

/* Messages */

typedef struct
{
  guint32 uid;
  guint64 modseq;
  CairnFlags *flags;
  gint64 size;
  gint64 internal_date;   /* Unix time; 0 if not fetched */
  GByteArray *header;
  GBytes *body;
} Fetched;

static void
fetched_free (Fetched *fetched)
{
  g_clear_pointer (&fetched->flags, cairn_flags_free);
  g_clear_pointer (&fetched->header, g_byte_array_unref);
  g_clear_pointer (&fetched->body, g_bytes_unref);
  g_free (fetched);
}

typedef enum
{
  FETCH_FLAGS = 1 << 0,
  FETCH_HEADER = 1 << 1,
  FETCH_GID = 1 << 3,
  FETCH_BODY = 1 << 2,
} FetchWhat;

static void
read_static (Fetched                        *fetched,
             struct mailimap_msg_att_static *att)
{
  switch (att->att_type)
    {
    case MAILIMAP_MSG_ATT_UID:
      fetched->uid = att->att_data.att_uid;
      break;
    case MAILIMAP_MSG_ATT_RFC822_SIZE:
      fetched->size = att->att_data.att_rfc822_size;
      break;
    case MAILIMAP_MSG_ATT_INTERNALDATE:
      if (att->att_data.att_internal_date != NULL)
        fetched->internal_date = cairn_imap_date_time_to_unix (att->att_data.att_internal_date);
      break;
    case MAILIMAP_MSG_ATT_BODY_SECTION:
      {
        struct mailimap_msg_att_body_section *section = att->att_data.att_body_section;
        const char *data = section && section->sec_body_part ? section->sec_body_part : "";
        gsize length = section && section->sec_body_part ? section->sec_length : 0;

        if (section == NULL)
          break;
        if (section->sec_section == NULL || section->sec_section->sec_spec == NULL)
          {
            g_clear_pointer (&fetched->body, g_bytes_unref);
            fetched->body = g_bytes_new (data, length);
          }
        else
          {
            g_clear_pointer (&fetched->header, g_byte_array_unref);
            fetched->header = g_byte_array_sized_new (length);
            g_byte_array_append (fetched->header, (const guint8 *) data, length);
          }
      }
      break;
    default:
      break;
    }
}

static Fetched *
read_msg_att (struct mailimap_msg_att *att)
{
  Fetched *fetched = g_new0 (Fetched, 1);

  fetched->size = -1;
  for (clistiter *cur = clist_begin (att->att_list); cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_msg_att_item *item = clist_content (cur);

      if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC)
        {
          g_clear_pointer (&fetched->flags, cairn_flags_free);
          fetched->flags = cairn_imap_flags_from_fetch (item->att_data.att_dyn);
        }
      else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC && item->att_data.att_static)
        read_static (fetched, item->att_data.att_static);
      else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION &&
               item->att_data.att_extension_data != NULL &&
               item->att_data.att_extension_data->ext_extension == &mailimap_extension_condstore &&
               item->att_data.att_extension_data->ext_type == MAILIMAP_CONDSTORE_TYPE_FETCH_DATA &&
               item->att_data.att_extension_data->ext_data != NULL)
        {
          struct mailimap_condstore_fetch_mod_resp *mod = item->att_data.att_extension_data->ext_data;

          fetched->modseq = mod->cs_modseq_value;
        }
    }
  return fetched;
}

static struct mailimap_fetch_type *
fetch_type_new (CairnImapConnection *connection,
                FetchWhat            what)
{
  struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty ();

  mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_uid ());
  if (what & FETCH_FLAGS)
    {
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_flags ());
      if (connection->condstore)
        mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_modseq ());
    }
  if (what & FETCH_HEADER)
    {
      clist *names = clist_new ();

      for (guint i = 0; i < G_N_ELEMENTS (header_fields); i++)
        clist_append (names, strdup (header_fields[i]));
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_rfc822_size ());
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_internaldate ());
      mailimap_fetch_type_new_fetch_att_list_add (
        type, mailimap_fetch_att_new_body_peek_section (
                mailimap_section_new_header_fields (mailimap_header_list_new (names))));
    }
  if (what & FETCH_GID)
    {
      clist *names = clist_new ();

      clist_append (names, strdup ("Message-ID"));
      mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_rfc822_size ());
      mailimap_fetch_type_new_fetch_att_list_add (
        type, mailimap_fetch_att_new_body_peek_section (
                mailimap_section_new_header_fields (mailimap_header_list_new (names))));
    }
  if (what & FETCH_BODY)
    mailimap_fetch_type_new_fetch_att_list_add (
      type, mailimap_fetch_att_new_body_peek_section (mailimap_section_new (NULL)));
  return type;
}

/* FETCH (by UID, or by sequence number) into Fetched records; the
 * answers without a UID (unsolicited ones of other sessions' changes)
 * are left out. With @changedsince, only what changed since that MODSEQ,
 * and with QRESYNC what vanished in @vanished. */
static GPtrArray *
fetch (CairnImapConnection  *connection,
       struct mailimap_set  *set,
       gboolean              by_uid,
       FetchWhat             what,
       guint64               changedsince,
       struct mailimap_set **vanished,
       GError              **error)
{
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func ((GDestroyNotify) fetched_free);
  struct mailimap_fetch_type *type = fetch_type_new (connection, what);
  struct mailimap_qresync_vanished *qresync_vanished = NULL;
  clist *result = NULL;
  int r;

  if (changedsince != 0 && vanished != NULL)
    r = mailimap_uid_fetch_qresync (connection->session, set, type, changedsince, &result,
                                    &qresync_vanished);
  else if (changedsince != 0)
    r = mailimap_uid_fetch_changedsince (connection->session, set, type, changedsince, &result);
  else if (by_uid)
    r = mailimap_uid_fetch (connection->session, set, type, &result);
  else
    r = mailimap_fetch (connection->session, set, type, &result);
  mailimap_fetch_type_free (type);
  if (!cairn_imap_connection_check (connection, r, "read the messages of", connection->selected,
                                    error))
    return NULL;
  for (clistiter *cur = result ? clist_begin (result) : NULL; cur != NULL; cur = clist_next (cur))
    {
      Fetched *one = read_msg_att (clist_content (cur));

      if (one->uid == 0)
        fetched_free (one);
      else
        g_ptr_array_add (fetched, one);
    }
  if (result != NULL)
    mailimap_fetch_list_free (result);
  if (vanished != NULL)
    {
      *vanished = NULL;
      if (qresync_vanished != NULL)
        {
          /* A copy: libetpan frees the set with the answer. */
          *vanished = mailimap_set_new_empty ();
          for (clistiter *cur = qresync_vanished->qr_known_uids ?
                                clist_begin (qresync_vanished->qr_known_uids->set_list) : NULL;
               cur != NULL; cur = clist_next (cur))
            {
              struct mailimap_set_item *item = clist_content (cur);

              mailimap_set_add_interval (*vanished, item->set_first, item->set_last);
            }
          mailimap_qresync_vanished_free (qresync_vanished);
        }
    }
  return g_steal_pointer (&fetched);
}

/* @number in decimal in @buffer: printf's machinery, for the remote id
 * and the revision of every message, was a tenth of converting them. */
static const char *
format_number (guint64 number,
               char    buffer[static 21])
{
  char *p = buffer + 20;

  *p = '\0';
  do
    *--p = '0' + number % 10;
  while ((number /= 10) != 0);
  return p;
}

/* An item's remote revision: its MODSEQ with CONDSTORE, else its flags,
 * after the size of its message on the server ("SIZE STATE") when that
 * was read. A local edit changes the item's size but not that one, by
 * which a message another client moved is found (add_message_keys()). */
static char *
revision_of (CairnImapConnection *connection,
             Fetched             *fetched)
{
  char size_buffer[21];
  char buffer[21];
  g_autofree char *flags = NULL;
  const char *state;

  if (connection->condstore && fetched->modseq != 0)
    state = format_number (fetched->modseq, buffer);
  else
    state = flags = fetched->flags ? cairn_flags_to_string (fetched->flags) : g_strdup ("");
  if (fetched->size < 0)
    return g_strdup (state);
  return g_strconcat (format_number (fetched->size, size_buffer), " ", state, NULL);
}

/* The length of the size that starts @revision with its space, 0 if it
 * has none (a listing of flags alone, or a store of older releases). */
static gsize
revision_size_length (const char *revision)
{
  gsize length = 0;

  while (g_ascii_isdigit (revision[length]))
    length++;
  return length > 0 && revision[length] == ' ' ? length + 1 : 0;
}

/* Whether the revisions @a and @b say the same of their message's
 * flags, whether or not either has its size. */
static gboolean
same_state (const char *a,
            const char *b)
{
  return g_str_equal (a + revision_size_length (a), b + revision_size_length (b));
}

/* The size of @item's message on the server at its last sync, -1 if
 * its remote revision does not say. */
static gint64
revision_size (CairnItem *item)
{
  const char *revision = cairn_item_get_remote_revision (item);

  if (revision == NULL || revision_size_length (revision) == 0)
    return -1;
  return g_ascii_strtoll (revision, NULL, 10);
}

/* The item as the store keeps it: ENVELOPE from the header fields, in
 * the maildir resource's format, unless only the Message-ID was read (a
 * message whose flags changed keeps its stored ENVELOPE); RFC822 the body
 * if it was read, else missing for a new message, else left out so that
 * a body stored already stays. */
static CairnItem *
item_from_fetched (CairnImapConnection *connection,
                   Fetched             *fetched,
                   gboolean             is_new,
                   gboolean             with_envelope)
{
  g_autoptr(CairnItem) item = cairn_item_new (MIME_TYPE);
  char remote_id_buffer[21];
  const char *remote_id = format_number (fetched->uid, remote_id_buffer);
  g_autofree char *revision = revision_of (connection, fetched);
  g_autofree char *message_id = NULL;
  g_autofree char *envelope = NULL;
  g_autoptr(GByteArray) header = fetched->header ? g_byte_array_ref (fetched->header)
                                                 : g_byte_array_new ();
  g_autoptr(GBytes) envelope_bytes = NULL;
  g_autoptr(CairnPart) envelope_part = NULL;
  g_autoptr(CairnPart) rfc822 = NULL;
  g_autoptr(GDateTime) date = NULL;
  gsize length;

  envelope = cairn_mail_header_read_envelope (header, FALLBACK_CHARSET, &message_id);
  date = fetched->internal_date != 0 ? g_date_time_new_from_unix_utc (fetched->internal_date)
                                     : cairn_mail_header_envelope_date (envelope);
  length = strlen (envelope);
  envelope_bytes = g_bytes_new_take (g_steal_pointer (&envelope), length);
  envelope_part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, envelope_bytes);

  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_remote_revision (item, revision);
  cairn_item_set_gid (item, message_id && g_utf8_validate (message_id, -1, NULL) ? message_id
                                                                              : NULL);
  cairn_item_set_date (item, date);
  cairn_item_set_size (item, fetched->size >= 0 ? (guint64) fetched->size :
                             fetched->body ? g_bytes_get_size (fetched->body) : 0);
  if (fetched->flags != NULL)
    cairn_item_set_flags (item, fetched->flags);
  if (with_envelope)
    cairn_item_set_part (item, envelope_part);
  if (fetched->body != NULL)
    rfc822 = cairn_part_new_inline (CAIRN_PART_RFC822, fetched->body);
  else if (is_new)
    rfc822 = cairn_part_new_missing (CAIRN_PART_RFC822, MAX (fetched->size, 0));
  if (rfc822 != NULL)
    cairn_item_set_part (item, rfc822);
  return g_steal_pointer (&item);
}

static gboolean
parse_bodies_policy (const char    *text,
                     BodiesPolicy  *policy,
                     guint64       *days)
{
  *days = 0;
  if (text == NULL || g_str_equal (text, "none"))
    *policy = BODIES_NONE;
  else if (g_str_equal (text, "all"))
    *policy = BODIES_ALL;
  else if (g_str_has_prefix (text, "recent:") &&
           g_ascii_string_to_unsigned (text + 7, 10, 1, 36500, days, NULL))
    *policy = BODIES_RECENT;
  else
    return FALSE;
  return TRUE;
}

static int
compare_uids (gconstpointer a,
              gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/* Reading and storing overlap: a reader thread fetches batches, a
 * converter thread makes items of them, and the sync's thread merges them
 * into the store, at most READ_AHEAD batches ahead in all. The reader
 * sends its next FETCH while the last batch is still being made into
 * items, so that the server never waits for that. The first batches are
 * smaller, so that the store starts merging while the server still
 * sends, and so are the last (each at most half of what is left), so
 * that little is left to merge once the server has sent everything: after
 * a last FETCH of 1,000 the store merged for 5 to 25 ms more, after
 * halves for 4 to 7 ms. The sync's thread, the slowest, hands each batch
 * it stored back to the converter thread to be freed: freeing a thousand
 * items took it a millisecond or more, longer still as the memory is of
 * the converter thread's malloc arena, whose lock the two threads then
 * took turns at. */
#define READ_AHEAD 3

static const guint batch_sizes[] = { 250, 500, FETCH_BATCH };

typedef struct _Reader Reader;

struct _Reader
{
  CairnImapResource *self;
  CairnImapConnection *connection;
  GArray *uids;
  guint32 count;
  FetchWhat what;
  guint max_batch;
  gint64 deadline;        /* no FETCH after this monotonic time; 0 for none */
  GCancellable *cancellable;
  /* In the converter thread: what the batch (given) is handed on as; it
   * reads only what the connection learned at login. */
  GPtrArray *(*convert) (Reader *reader, GPtrArray *fetched);
  GHashTable *known;      /* for convert */
  GAsyncQueue *fetched;   /* Work for the converter thread; an empty batch ends */
  GAsyncQueue *batches;   /* GPtrArray converted; an empty one ends */
  GAsyncQueue *slots;     /* a token for each batch that may be read ahead */
  gint stop;
  gboolean stopped_at_deadline;
  GError *error;
};

/* What the converter thread is handed: a batch as fetched, to convert,
 * or one that is stored, to free. */
typedef struct
{
  GPtrArray *batch;
  gboolean stored;
} Work;

static void
hand_to_converter (Reader    *reader,
                   GPtrArray *batch,
                   gboolean   stored)
{
  Work *work = g_new (Work, 1);

  work->batch = batch;
  work->stored = stored;
  g_async_queue_push (reader->fetched, work);
}

static GPtrArray *
read_batch (Reader  *reader,
            guint    start,
            guint    n,
            GError **error)
{
  g_autoptr(GPtrArray) batch = NULL;
  struct mailimap_set *set;

  if (reader->uids != NULL)
    {
      g_autoptr(GArray) part = g_array_new (FALSE, FALSE, sizeof (guint32));

      g_array_append_vals (part, &g_array_index (reader->uids, guint32, start), n);
      g_array_sort (part, compare_uids);
      set = cairn_imap_uid_set_new (part);
    }
  else
    set = mailimap_set_new_interval (start + 1, start + n);
  batch = fetch (reader->connection, set, reader->uids != NULL, reader->what, 0, NULL, error);
  mailimap_set_free (set);
  return g_steal_pointer (&batch);
}

static gpointer
reader_thread (gpointer data)
{
  Reader *reader = data;
  guint total = reader->uids ? reader->uids->len : reader->count;
  guint size = 0;

  for (guint start = 0; start < total; )
    {
      guint left = total - start;
      guint n = MIN (MIN (batch_sizes[MIN (size, G_N_ELEMENTS (batch_sizes) - 1)],
                          reader->max_batch), MAX (left / 2, MIN (batch_sizes[0], left)));
      GPtrArray *batch;

      g_async_queue_pop (reader->slots);
      if (g_atomic_int_get (&reader->stop) ||
          g_cancellable_set_error_if_cancelled (reader->cancellable, &reader->error))
        break;
      if (reader->deadline != 0 && start > 0 && g_get_monotonic_time () > reader->deadline)
        {
          reader->stopped_at_deadline = TRUE;
          break;
        }
      batch = read_batch (reader, start, n, &reader->error);
      if (batch == NULL)
        break;
      hand_to_converter (reader, batch, FALSE);
      start += n;
      size++;
    }
  hand_to_converter (reader, g_ptr_array_new (), FALSE);
  return NULL;
}

/* Converts until the reader's end, then frees until the sync's thread
 * says it stored the last batch. */
static gpointer
converter_thread (gpointer data)
{
  Reader *reader = data;

  for (;;)
    {
      g_autofree Work *work = g_async_queue_pop (reader->fetched);

      if (work->stored && work->batch == NULL)
        break;
      if (work->stored)
        g_ptr_array_unref (work->batch);
      else if (work->batch->len > 0)
        g_async_queue_push (reader->batches, reader->convert (reader, work->batch));
      else
        g_async_queue_push (reader->batches, work->batch);
    }
  return NULL;
}

/* Reads what @reader names in its thread, and hands each batch to
 * @store in this one. */
static gboolean
read_all (Reader     *reader,
          gboolean  (*store) (GPtrArray *batch, gpointer user_data, GError **error),
          gpointer    user_data,
          GError    **error)
{
  g_autoptr(GError) write_error = NULL;
  GThread *thread, *converter;
  GPtrArray *batch;

  reader->fetched = g_async_queue_new ();
  reader->batches = g_async_queue_new ();
  reader->slots = g_async_queue_new ();
  for (guint i = 0; i < READ_AHEAD; i++)
    g_async_queue_push (reader->slots, GINT_TO_POINTER (1));
  thread = g_thread_new ("cairn-imap-reader", reader_thread, reader);
  converter = g_thread_new ("cairn-imap-items", converter_thread, reader);
  while ((batch = g_async_queue_pop (reader->batches))->len > 0)
    {
      if (write_error == NULL && !store (batch, user_data, &write_error))
        g_atomic_int_set (&reader->stop, TRUE);
      hand_to_converter (reader, batch, TRUE);
      g_async_queue_push (reader->slots, GINT_TO_POINTER (1));
    }
  g_ptr_array_unref (batch);
  hand_to_converter (reader, NULL, TRUE);
  g_thread_join (thread);
  g_thread_join (converter);
  g_async_queue_unref (reader->fetched);
  g_async_queue_unref (reader->batches);
  g_async_queue_unref (reader->slots);
#ifdef __GLIBC__
  /* The batches were made and freed in the pipeline's threads, whose
   * malloc arenas glibc keeps at their largest: a sync of 10,000
   * messages then held memory it no longer used until the process ended
   * (cairn-bench-imap's peak: 76-82 MB in three runs, 60-72 MB in seven
   * with this). */
  malloc_trim (0);
#endif
  if (write_error != NULL)
    {
      g_clear_error (&reader->error);
      g_propagate_error (error, g_steal_pointer (&write_error));
      return FALSE;
    }
  if (reader->error != NULL)
    {
      g_propagate_error (error, reader->error);
      return FALSE;
    }
  return TRUE;
}

/* The items of a batch of messages, made in the reader thread. */
static GPtrArray *
items_of (Reader    *reader,
          GPtrArray *batch)
{
  GPtrArray *items = g_ptr_array_new_full (batch->len, g_object_unref);

  for (guint i = 0; i < batch->len; i++)
    {
      Fetched *fetched = g_ptr_array_index (batch, i);
      char remote_id[21];
      gboolean is_new = !g_hash_table_contains (reader->known,
                                                format_number (fetched->uid, remote_id));

      g_ptr_array_add (items, item_from_fetched (reader->connection, fetched, is_new,
                                                 (reader->what & FETCH_HEADER) != 0));
    }
  g_ptr_array_unref (batch);
  return items;
}

static gboolean
add_items (GPtrArray  *items,
           gpointer    sync,
           GError    **error)
{
  return cairn_item_sync_add_items (sync, items, error);
}

/* Reads the messages @uids (or, if NULL, the sequence numbers 1 to
 * @count) with their flags and @what (their headers, or only their
 * Message-ID) and hands them to @sync. */
static gboolean
fetch_into_sync (CairnImapResource    *self,
                 CairnImapConnection  *connection,
                 GArray               *uids,
                 guint32               count,
                 FetchWhat             what,
                 GHashTable           *known,
                 CairnItemSync        *sync,
                 GCancellable         *cancellable,
                 GError              **error)
{
  Reader reader = { self, connection, uids, count, FETCH_FLAGS | what, FETCH_BATCH, 0,
                    cancellable, items_of, known };

  return read_all (&reader, add_items, sync, error);
}

typedef struct
{
  guint64 collection_id;
  guint32 uidvalidity;
  guint64 highestmodseq;
} FolderState;

static gboolean
write_state (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  CairnCollection *collection = user_data;

  return cairn_transaction_modify_collection (transaction, collection,
                                              cairn_collection_get_revision (collection), error);
}

/* Writes the sync state of @collection. A local change of the collection
 * meanwhile wins; the next sync then reads a little more again. */
static gboolean
write_folder_state (CairnImapResource  *self,
                    CairnCollection    *collection,
                    GError            **error)
{
  g_autoptr(GError) local_error = NULL;

  if (cairn_store_write_sync (get_store (self), write_state, collection, NULL, NULL, &local_error) ||
      g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* Keeps UIDVALIDITY and HIGHESTMODSEQ in the collection once everything
 * they cover is stored. */
static gboolean
save_state (CairnImapResource  *self,
            const FolderState  *state,
            GError            **error)
{
  g_autoptr(CairnCollection) collection = NULL;

  collection = cairn_store_get_collection (get_store (self), state->collection_id, error);
  if (collection == NULL)
    return FALSE;
  if (get_number_attribute (collection, ATTR_UIDVALIDITY) == state->uidvalidity &&
      get_number_attribute (collection, ATTR_HIGHESTMODSEQ) == state->highestmodseq)
    return TRUE;
  set_number_attribute (collection, ATTR_UIDVALIDITY, state->uidvalidity);
  set_number_attribute (collection, ATTR_HIGHESTMODSEQ, state->highestmodseq);
  return write_folder_state (self, collection, error);
}

/* An item of @collection_id has UID 0: a local move found its message
 * nowhere on the server. Its next sync lists every message of the
 * folder, which the item is not among, so that it goes: a listing of
 * what changed since the stored MODSEQ names no UID 0, and an unchanged
 * folder is not listed at all. */
static gboolean
forget_modseq (CairnImapResource  *self,
               guint64             collection_id,
               GError            **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GError) local_error = NULL;

  collection = cairn_store_get_collection (get_store (self), collection_id, &local_error);
  /* Removed since, with the item. */
  if (g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return TRUE;
  if (collection == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  set_number_attribute (collection, ATTR_HIGHESTMODSEQ, 0);
  return write_folder_state (self, collection, error);
}

static gboolean
uid_in_set (struct mailimap_set *set,
            guint32              uid)
{
  for (clistiter *cur = set ? clist_begin (set->set_list) : NULL; cur; cur = clist_next (cur))
    {
      struct mailimap_set_item *item = clist_content (cur);
      guint32 first = MIN (item->set_first, item->set_last);
      guint32 last = MAX (item->set_first, item->set_last);

      /* 0 stands for "*", the largest UID. */
      if (uid >= first && (uid <= last || item->set_first == 0 || item->set_last == 0))
        return TRUE;
    }
  return FALSE;
}

static gboolean
remove_uids (CairnItemSync  *sync,
             GPtrArray      *remote_ids,
             GError        **error)
{
  if (remote_ids->len == 0)
    return TRUE;
  g_ptr_array_add (remote_ids, NULL);
  return cairn_item_sync_remove_items (sync, (const char * const *) remote_ids->pdata, error);
}

static gboolean remap_after_uidvalidity_change (CairnImapResource    *self,
                                                CairnImapConnection  *connection,
                                                CairnCollection      *collection,
                                                GError              **error);

static gboolean
sync_folder (CairnImapResource    *self,
             CairnImapConnection  *connection,
             CairnCollection      *collection,
             CairnItemSync        *sync,
             GCancellable         *cancellable,
             GError              **error)
{
  guint64 stored_validity = get_number_attribute (collection, ATTR_UIDVALIDITY);
  guint64 stored_modseq = get_number_attribute (collection, ATTR_HIGHESTMODSEQ);
  g_autofree char *mailbox = mailbox_of (connection, cairn_collection_get_remote_id (collection));
  g_autoptr(GHashTable) known = NULL;
  g_autoptr(GArray) wanted = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) nothing = g_ptr_array_new ();
  FolderState state = { cairn_collection_get_id (collection), 0, 0 };

  /* Selected again, for UIDNEXT and HIGHESTMODSEQ as they are now. */
  g_clear_pointer (&connection->selected, g_free);
  if (!cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  state.uidvalidity = connection->uidvalidity;
  state.highestmodseq = connection->highestmodseq;
  cairn_item_sync_set_incremental (sync, TRUE);

  if (stored_validity != 0 && stored_validity != connection->uidvalidity)
    {
      g_message ("The UIDVALIDITY of %s changed from %" G_GUINT64_FORMAT " to %u: "
                 "its messages are matched again", mailbox, stored_validity,
                 connection->uidvalidity);
      if (!remap_after_uidvalidity_change (self, connection, collection, error))
        return FALSE;
      cairn_item_sync_set_incremental (sync, FALSE);
      stored_modseq = 0;
    }
  if (connection->condstore && stored_modseq != 0 &&
      connection->highestmodseq == stored_modseq)
    return TRUE;

  known = cairn_item_sync_dup_remote_revisions (sync, error);
  if (known == NULL)
    return FALSE;

  if (g_hash_table_size (known) == 0 && cairn_item_sync_get_incremental (sync))
    {
      /* A first sync: every message, by sequence number, in one pass. */
      cairn_item_sync_set_expected_items (sync, connection->exists);
      if (!fetch_into_sync (self, connection, NULL, connection->exists, FETCH_HEADER, known, sync,
                            cancellable, error))
        return FALSE;
    }
  else
    {
      struct mailimap_set *all = mailimap_set_new_interval (1, 0);
      struct mailimap_set *vanished = NULL;
      gboolean changes_only = connection->qresync && stored_modseq != 0;
      g_autoptr(GPtrArray) listing = NULL;
      g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
      GHashTableIter iter;
      const char *remote_id;
      const char *revision;

      /* What changed since the stored MODSEQ comes with its size and
       * Message-ID, which its item needs, rather than in FETCHes of its
       * own; a listing of every message reads only their flags. */
      listing = fetch (connection, all, TRUE, changes_only ? FETCH_FLAGS | FETCH_GID : FETCH_FLAGS,
                       changes_only ? stored_modseq : 0, changes_only ? &vanished : NULL, error);
      mailimap_set_free (all);
      if (listing == NULL)
        return FALSE;
      for (guint i = 0; i < listing->len; i++)
        {
          Fetched *fetched = g_ptr_array_index (listing, i);
          g_autofree char *key = g_strdup_printf ("%u", fetched->uid);
          g_autofree char *now = revision_of (connection, fetched);
          const char *stored = g_hash_table_lookup (known, key);

          g_hash_table_add (seen, GUINT_TO_POINTER (fetched->uid));
          if (!g_hash_table_contains (known, key))
            g_array_append_val (wanted, fetched->uid);
          else if (stored != NULL && same_state (stored, now))
            continue;
          else if (changes_only)
            {
              g_autoptr(CairnItem) item = item_from_fetched (connection, fetched, FALSE, FALSE);

              if (!cairn_item_sync_add_item (sync, item, error))
                return FALSE;
            }
          else
            g_array_append_val (changed, fetched->uid);
        }
      g_hash_table_iter_init (&iter, known);
      while (g_hash_table_iter_next (&iter, (gpointer *) &remote_id, (gpointer *) &revision))
        {
          guint32 uid = parse_uid (remote_id);

          if (changes_only ? uid != 0 && uid_in_set (vanished, uid)
                           : !g_hash_table_contains (seen, GUINT_TO_POINTER (uid)))
            g_ptr_array_add (removed, g_strdup (remote_id));
        }
      if (vanished != NULL)
        mailimap_set_free (vanished);
      /* New messages with their headers; known ones whose flags changed
       * with their size and Message-ID only. */
      g_array_sort (wanted, compare_uids);
      g_array_sort (changed, compare_uids);
      if (!fetch_into_sync (self, connection, wanted, 0, FETCH_HEADER, known, sync, cancellable,
                            error) ||
          !fetch_into_sync (self, connection, changed, 0, FETCH_GID, known, sync, cancellable,
                            error))
        return FALSE;
      if (cairn_item_sync_get_incremental (sync) && !remove_uids (sync, removed, error))
        return FALSE;
    }
  /* What is handed is stored before the state that says so. */
  if (!cairn_item_sync_get_incremental (sync))
    return TRUE;
  return cairn_item_sync_add_items (sync, nothing, error) && save_state (self, &state, error);
}

/* The background task that fetches the bodies of a folder by cache
 * policy, queued after each sync of the folder. */
#define BODIES_TASK "Fetching message bodies"

typedef struct
{
  CairnResource *resource;
  guint64 collection_id;
  gboolean bodies;   /* the bodies task rather than a sync */
} SyncRequest;

static gboolean
run_sync_request (gpointer data)
{
  SyncRequest *request = data;
  g_autoptr(CairnSchedulerTask) task = NULL;

  if (!request->bodies)
    {
      cairn_resource_synchronize_async (request->resource, request->collection_id, NULL, NULL,
                                        NULL);
      return G_SOURCE_REMOVE;
    }
  task = cairn_scheduler_task_new_custom (BODIES_TASK, CAIRN_SCHEDULER_QUEUE_BACKGROUND,
                                          (gint64) request->collection_id);
  cairn_scheduler_queue (cairn_resource_get_scheduler (request->resource), task);
  return G_SOURCE_REMOVE;
}

static void
sync_request_free (gpointer data)
{
  SyncRequest *request = data;

  g_object_unref (request->resource);
  g_free (request);
}

/* Asks for a sync of a folder, or with @bodies for the fetch of its
 * bodies, from any thread: the scheduler is the main thread's. */
static void
request_sync (CairnImapResource *self,
              guint64            collection_id,
              gboolean           bodies)
{
  SyncRequest *request = g_new0 (SyncRequest, 1);

  request->resource = g_object_ref (CAIRN_RESOURCE (self));
  request->collection_id = collection_id;
  request->bodies = bodies;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, run_sync_request, request,
                              sync_request_free);
}

static gboolean settle_attempt (CairnImapResource    *self,
                                CairnImapConnection  *connection,
                                guint64               item_id,
                                GError              **error);

static gboolean
retrieve_items_sync (CairnResource    *resource,
                     CairnCollection  *collection,
                     CairnItemSync    *sync,
                     GCancellable     *cancellable,
                     GError          **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  g_autoptr(GMutexLocker) locker = NULL;
  CairnImapConnection *connection;
  gint64 start = g_get_monotonic_time ();
  BodiesPolicy policy;
  guint64 days;
  gboolean ok;

  if (cairn_collection_get_attribute (collection, ATTR_NOSELECT) != NULL)
    {
      cairn_item_sync_set_incremental (sync, TRUE);
      return TRUE;
    }
  locker = g_mutex_locker_new (&self->lock);
  connection = acquire (self, error);
  ok = connection != NULL && settle_attempt (self, connection, 0, error) &&
       sync_folder (self, connection, collection, sync, cancellable, error);
  if (ok)
    g_hash_table_add (self->synced, g_strdup (cairn_collection_get_remote_id (collection)));
  /* Once the envelopes are stored, the bodies the cache policy wants,
   * after the syncs of every other folder and below any replay or
   * client request. */
  if (ok && parse_bodies_policy (self->bodies, &policy, &days) && policy != BODIES_NONE)
    request_sync (self, cairn_collection_get_id (collection), TRUE);
  g_debug ("Synced %s in %" G_GINT64_FORMAT " ms", cairn_collection_get_remote_id (collection),
           (g_get_monotonic_time () - start) / 1000);
  return ok;
}

/* The folder of an item or a change, as the server names it. */
static char *
dup_mailbox (CairnImapResource    *self,
             CairnImapConnection  *connection,
             guint64               collection_id,
             GError              **error)
{
  g_autofree char *remote_id = cairn_resource_dup_collection_remote_id (CAIRN_RESOURCE (self),
                                                                       collection_id, error);

  return remote_id ? mailbox_of (connection, remote_id) : NULL;
}

static CairnItem *
retrieve_item_sync (CairnResource       *resource,
                    CairnItem           *item,
                    const char * const  *parts,
                    GCancellable        *cancellable,
                    GError             **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  guint32 uid = parse_uid (cairn_item_get_remote_id (item));
  g_autofree char *mailbox = NULL;
  g_autoptr(GPtrArray) fetched = NULL;
  g_autoptr(CairnItem) result = NULL;
  struct mailimap_set *set;

  if (connection == NULL)
    return NULL;
  if (uid == 0)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Item %" G_GUINT64_FORMAT " is not on the server yet",
                   cairn_item_get_id (item));
      return NULL;
    }
  mailbox = dup_mailbox (self, connection, cairn_item_get_collection_id (item), error);
  if (mailbox == NULL || !cairn_imap_connection_select (connection, mailbox, error))
    return NULL;
  set = mailimap_set_new_single (uid);
  fetched = fetch (connection, set, TRUE, FETCH_FLAGS | FETCH_HEADER | FETCH_BODY, 0, NULL,
                   error);
  mailimap_set_free (set);
  if (fetched == NULL)
    return NULL;
  if (fetched->len == 0 || ((Fetched *) g_ptr_array_index (fetched, 0))->body == NULL)
    {
      /* Gone before its body was read: the next sync removes it. */
      request_sync (self, cairn_item_get_collection_id (item), FALSE);
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "Message %u vanished from “%s” before its body was read", uid, mailbox);
      return NULL;
    }
  result = item_from_fetched (connection, g_ptr_array_index (fetched, 0), FALSE, TRUE);
  cairn_item_set_id (result, cairn_item_get_id (item));
  cairn_item_set_collection_id (result, cairn_item_get_collection_id (item));
  return g_steal_pointer (&result);
}

/* Bodies by cache policy: a background task per folder, queued after
 * each sync of it, fetches the bodies its items miss, newest first,
 * BODY_BATCH a FETCH and a store write, read by a reader thread while the
 * batch before is stored, so that a task stopped anywhere (killed,
 * offline, cancelled) loses at most the batches read and not stored yet
 * (READ_AHEAD + 1), and the next one fetches only what is still missing.
 * It runs in slices of about BODY_SLICE_US and then lets the tasks
 * queued meanwhile go first. */
#define BODY_SLICE_US (G_USEC_PER_SEC / 2)
/* Items looked at per slice, newest first. */
#define BODY_SLICE_ITEMS 1000

typedef struct
{
  CairnStore *store;
  GHashTable *by_uid;   /* UID → CairnItem as stored */
  GPtrArray *bodies;    /* the batch being written: Fetched */
} BodiesWrite;

static gboolean
write_bodies (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  BodiesWrite *write = user_data;

  for (guint i = 0; i < write->bodies->len; i++)
    {
      Fetched *fetched = g_ptr_array_index (write->bodies, i);
      CairnItem *item = g_hash_table_lookup (write->by_uid, GUINT_TO_POINTER (fetched->uid));
      g_autoptr(CairnPart) part = NULL;
      g_autoptr(GError) local_error = NULL;

      if (item == NULL || fetched->body == NULL)
        continue;
      part = cairn_part_new_inline (CAIRN_PART_RFC822, fetched->body);
      /* An item changed since it was read (moved, edited, flagged) is
       * left for the next run, which reads it again. */
      if (!cairn_transaction_store_part (transaction, cairn_item_get_id (item), part,
                                         cairn_item_get_revision (item), &local_error) &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
store_bodies (GPtrArray  *bodies,
              gpointer    user_data,
              GError    **error)
{
  BodiesWrite *write = user_data;

  write->bodies = bodies;
  return cairn_store_write_sync (write->store, write_bodies, write, NULL, NULL, error);
}

/* Bodies are stored as they were read. */
static GPtrArray *
as_fetched (Reader    *reader,
            GPtrArray *batch)
{
  return batch;
}

static gboolean
run_task_sync (CairnResource       *resource,
               CairnSchedulerTask  *task,
               gboolean            *again,
               GCancellable        *cancellable,
               GError             **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  guint64 collection_id = (guint64) cairn_scheduler_task_get_collection_id (task);
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GDateTime) since = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GHashTable) by_uid = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *mailbox = NULL;
  CairnImapConnection *connection;
  gint64 start = g_get_monotonic_time ();
  BodiesPolicy policy;
  guint64 days;
  Reader reader = { self, NULL, uids, 0, FETCH_BODY, BODY_BATCH, start + BODY_SLICE_US,
                    cancellable, as_fetched };
  BodiesWrite write = { get_store (self), by_uid, NULL };

  *again = FALSE;
  if (g_strcmp0 (cairn_scheduler_task_get_name (task), BODIES_TASK) != 0)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                   "The IMAP resource has no task “%s”", cairn_scheduler_task_get_name (task));
      return FALSE;
    }
  if (!parse_bodies_policy (self->bodies, &policy, &days) || policy == BODIES_NONE)
    return TRUE;
  collection = cairn_store_get_collection (get_store (self), collection_id, &local_error);
  if (collection == NULL)
    {
      /* A folder removed since: nothing to fetch. */
      if (g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (policy == BODIES_RECENT)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

      since = g_date_time_add_days (now, -(gint) days);
    }
  items = cairn_store_find_items_missing_part (get_store (self), collection_id,
                                               CAIRN_PART_RFC822, since, BODY_SLICE_ITEMS,
                                               error);
  if (items == NULL)
    return FALSE;
  if (items->len == 0)
    return TRUE;

  locker = g_mutex_locker_new (&self->lock);
  connection = acquire (self, error);
  if (connection == NULL)
    return FALSE;
  mailbox = mailbox_of (connection, cairn_collection_get_remote_id (collection));
  if (!cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);
      guint32 uid = parse_uid (cairn_item_get_remote_id (item));

      if (uid == 0)
        continue;
      g_array_append_val (uids, uid);
      g_hash_table_insert (by_uid, GUINT_TO_POINTER (uid), item);
    }
  reader.connection = connection;
  if (!read_all (&reader, store_bodies, &write, error))
    return FALSE;
  /* Stopped for the tasks queued meanwhile, or as many as a slice looks
   * at: there may be more. */
  *again = reader.stopped_at_deadline || items->len == BODY_SLICE_ITEMS;
  return TRUE;
}

/* UIDVALIDITY changed: every stored UID of the folder is stale. The
 * stored messages are matched to the server's by Message-ID, else by size
 * and envelope (date, sender, subject), and given their new UIDs, so that
 * the full sync that follows neither duplicates them nor loses a local
 * change not replayed yet. */
typedef struct
{
  GHashTable *by_gid;        /* GID → CairnItem */
  GHashTable *by_shape;      /* "size envelope" → CairnItem */
  GPtrArray *items;
} StoredIndex;

static char *
shape_of (guint64  size,
          GBytes  *envelope)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT " %.*s", size,
                          envelope ? (int) g_bytes_get_size (envelope) : 0,
                          envelope ? (const char *) g_bytes_get_data (envelope, NULL) : "");
}

static gboolean
index_item (CairnItem *item,
            gpointer   user_data)
{
  StoredIndex *index = user_data;
  CairnPart *envelope = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  GBytes *bytes = envelope ? cairn_part_get_data (envelope) : NULL;

  g_ptr_array_add (index->items, g_object_ref (item));
  if (cairn_item_get_gid (item) != NULL)
    g_hash_table_insert (index->by_gid, g_strdup (cairn_item_get_gid (item)), item);
  g_hash_table_insert (index->by_shape, shape_of (cairn_item_get_size (item), bytes), item);
  return TRUE;
}

typedef struct
{
  GPtrArray *items;       /* with their new remote ids */
} Remap;

static gboolean
write_remap (CairnTransaction  *transaction,
             gpointer           user_data,
             GError           **error)
{
  Remap *remap = user_data;

  for (guint i = 0; i < remap->items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (remap->items, i);
      g_autoptr(GError) local_error = NULL;

      /* Only if unchanged since read; else the sync keeps it as local. */
      if (!cairn_transaction_modify_item (transaction, item, cairn_item_get_revision (item),
                                          &local_error) &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
remap_after_uidvalidity_change (CairnImapResource    *self,
                                CairnImapConnection  *connection,
                                CairnCollection      *collection,
                                GError              **error)
{
  StoredIndex index = {
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    g_ptr_array_new_with_free_func (g_object_unref),
  };
  g_autoptr(GPtrArray) remapped = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) server = NULL;
  struct mailimap_set *all = mailimap_set_new_interval (1, 0);
  gboolean ok = FALSE;

  server = fetch (connection, all, TRUE, FETCH_FLAGS | FETCH_HEADER, 0, NULL, error);
  mailimap_set_free (all);
  if (server != NULL &&
      cairn_store_foreach_item (get_store (self), cairn_collection_get_id (collection), NULL,
                                index_item, &index, NULL, error))
    {
      for (guint i = 0; i < server->len; i++)
        {
          Fetched *fetched = g_ptr_array_index (server, i);
          g_autoptr(CairnItem) fresh = item_from_fetched (connection, fetched, FALSE, TRUE);
          CairnPart *envelope = cairn_item_get_part (fresh, CAIRN_PART_ENVELOPE);
          g_autofree char *shape = shape_of (cairn_item_get_size (fresh),
                                             cairn_part_get_data (envelope));
          CairnItem *stored = NULL;
          g_autofree char *remote_id = g_strdup_printf ("%u", fetched->uid);

          if (cairn_item_get_gid (fresh) != NULL)
            stored = g_hash_table_lookup (index.by_gid, cairn_item_get_gid (fresh));
          if (stored == NULL)
            stored = g_hash_table_lookup (index.by_shape, shape);
          if (stored == NULL)
            continue;
          g_hash_table_remove (index.by_shape, shape);
          if (cairn_item_get_gid (stored) != NULL)
            g_hash_table_remove (index.by_gid, cairn_item_get_gid (stored));
          cairn_item_set_remote_id (stored, remote_id);
          cairn_item_set_remote_revision (stored, NULL);
          g_ptr_array_add (remapped, g_object_ref (stored));
        }
      ok = cairn_store_write_sync (get_store (self), write_remap, &(Remap) { remapped }, NULL,
                                   NULL, error);
    }
  g_hash_table_unref (index.by_gid);
  g_hash_table_unref (index.by_shape);
  g_ptr_array_unref (index.items);
  return ok;
}

/* Change replay */

/* The UIDs, sorted, of the selected folder's messages with any of the
 * @n_gids Message-IDs @gids, in one SEARCH; a Message-ID with control
 * characters, which the search could not carry, matches nothing. */
static GArray *
search_message_ids (CairnImapConnection  *connection,
                    const char * const   *gids,
                    guint                 n_gids,
                    GError              **error)
{
  struct mailimap_search_key *key = NULL;
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  clist *result = NULL;
  int r;

  for (guint i = 0; i < n_gids; i++)
    {
      g_autofree char *value = g_strdup_printf ("<%s>", gids[i]);
      struct mailimap_search_key *header;
      const char *p;

      for (p = gids[i]; *p != '\0' && (guchar) *p >= 0x20 && *p != 0x7f; p++)
        ;
      if (*p != '\0')
        continue;
      header = mailimap_search_key_new_header (strdup ("Message-ID"), strdup (value));
      key = key ? mailimap_search_key_new_or (key, header) : header;
    }
  if (key == NULL)
    return uids;
  r = mailimap_uid_search (connection->session, NULL, key, &result);
  mailimap_search_key_free (key);
  if (!cairn_imap_connection_check (connection, r, "search", connection->selected, error))
    {
      g_array_unref (uids);
      return NULL;
    }
  for (clistiter *cur = result ? clist_begin (result) : NULL; cur; cur = clist_next (cur))
    g_array_append_val (uids, *(guint32 *) clist_content (cur));
  if (result != NULL)
    mailimap_search_result_free (result);
  g_array_sort (uids, compare_uids);
  return uids;
}

static GArray *
search_message_id (CairnImapConnection  *connection,
                   const char           *gid,
                   GError              **error)
{
  return search_message_ids (connection, &gid, 1, error);
}

/* What names a message across folders: its Message-ID and its size, so
 * that a copy of another size under the same Message-ID (the one a
 * mailing list sent back of a message in Sent) is not taken for it. */
static char *
message_key (const char *gid,
             gint64      size)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT " %s", size, gid);
}

/* The size the server gives @item's message, which IMAP counts with
 * every line ending in CRLF (RFC 3501's RFC822.SIZE): a message written
 * here may end its lines with LF alone, and its item has the size of
 * that. -1 if its content is not here to count. */
static gint64
server_size (CairnItem *item)
{
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  gsize length;
  gint64 size;

  if (part == NULL || cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
    return -1;
  bytes = cairn_part_read_bytes (part, MAX_APPEND_SIZE, NULL, NULL);
  if (bytes == NULL)
    return -1;
  data = g_bytes_get_data (bytes, &length);
  size = length;
  for (const char *p = data; (p = memchr (p, '\n', length - (p - data))) != NULL; p++)
    if (p == data || p[-1] != '\r')
      size++;
  return size;
}

/* Adds to @wanted the message_key() of the message of @item, which has
 * the Message-ID @gid, under its size, under the size the server may
 * give its content, and under the size the server gave it at the last
 * sync, which a local edit not replayed yet leaves the message. */
static void
add_message_keys (GHashTable *wanted,
                  const char *gid,
                  CairnItem  *item)
{
  gint64 sizes[] = { cairn_item_get_size (item), server_size (item), revision_size (item) };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    if (sizes[i] >= 0)
      g_hash_table_add (wanted, message_key (gid, sizes[i]));
}

/* Those of @uids, messages of the selected folder, whose Message-ID and
 * size are keys of @wanted (message_key()). */
static GArray *
matching_uids (CairnImapConnection  *connection,
               GArray               *uids,
               GHashTable           *wanted,
               GError              **error)
{
  struct mailimap_set *set = cairn_imap_uid_set_new (uids);
  g_autoptr(GPtrArray) fetched = fetch (connection, set, TRUE, FETCH_GID, 0, NULL, error);
  GArray *matching;

  mailimap_set_free (set);
  if (fetched == NULL)
    return NULL;
  matching = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < fetched->len; i++)
    {
      Fetched *one = g_ptr_array_index (fetched, i);
      g_autofree char *gid = NULL;
      g_autofree char *key = NULL;

      if (one->header != NULL)
        g_free (cairn_mail_header_read_envelope (one->header, FALLBACK_CHARSET, &gid));
      if (gid == NULL)
        continue;
      key = message_key (gid, one->size);
      if (g_hash_table_contains (wanted, key))
        g_array_append_val (matching, one->uid);
    }
  return matching;
}

typedef gboolean (*FolderFunc) (CairnImapConnection  *connection,
                                const char           *mailbox,
                                gpointer              user_data,
                                gboolean             *done,
                                GError              **error);

/* Selects every selectable folder of the server but @except afresh, so
 * that messages just put there are seen, and calls @func in each until it
 * sets its @done; a folder removed since the LIST, or refused, is passed
 * over. */
static gboolean
foreach_folder (CairnImapResource    *self,
                CairnImapConnection  *connection,
                const char           *except,
                FolderFunc            func,
                gpointer              user_data,
                GError              **error)
{
  clist *folders = NULL;
  gboolean ok, done = FALSE;
  int r;

  r = mailimap_list (connection->session, "", "*", &folders);
  ok = cairn_imap_connection_check (connection, r, "list the folders of", self->host, error);
  for (clistiter *cur = ok ? clist_begin (folders) : NULL; ok && !done && cur;
       cur = clist_next (cur))
    {
      struct mailimap_mailbox_list *folder = clist_content (cur);
      g_autoptr(GError) local_error = NULL;

      if (folder->mb_name == NULL || is_noselect (folder) ||
          g_strcmp0 (folder->mb_name, except) == 0)
        continue;
      g_clear_pointer (&connection->selected, g_free);
      if (!cairn_imap_connection_select (connection, folder->mb_name, &local_error))
        {
          if (g_error_matches (local_error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT))
            continue;
          g_propagate_error (error, g_steal_pointer (&local_error));
          ok = FALSE;
          break;
        }
      ok = func (connection, folder->mb_name, user_data, &done, error);
    }
  if (folders != NULL)
    mailimap_list_result_free (folders);
  return ok;
}

/* The newest message of @mailbox with Message-ID @gid in @uid, 0 if
 * none (or no @gid); selected afresh, so that a message just added is
 * seen. */
static gboolean
find_in_folder (CairnImapConnection  *connection,
                const char           *mailbox,
                const char           *gid,
                guint32              *uid,
                GError              **error)
{
  g_autoptr(GArray) uids = NULL;

  *uid = 0;
  if (gid == NULL)
    return TRUE;
  g_clear_pointer (&connection->selected, g_free);
  if (!cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  uids = search_message_id (connection, gid, error);
  if (uids == NULL)
    return FALSE;
  if (uids->len > 0)
    *uid = g_array_index (uids, guint32, uids->len - 1);
  return TRUE;
}

/* Selects the folder @collection_id names, as a replay does before it
 * touches messages. If its UIDVALIDITY is not the one stored, the stored
 * UIDs are stale: the folder's messages are matched again first
 * (remap_after_uidvalidity_change()), @remapped is set, and the caller
 * reads the UIDs of its messages from the store again, so that a change
 * made before the server renumbered them lands on the right ones. */
static gboolean
select_for_replay (CairnImapResource    *self,
                   CairnImapConnection  *connection,
                   guint64               collection_id,
                   const char           *mailbox,
                   gboolean             *remapped,
                   GError              **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  FolderState state = { collection_id, 0, 0 };
  guint64 stored;

  *remapped = FALSE;
  if (!cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  collection = cairn_resource_get_collection (CAIRN_RESOURCE (self), collection_id, error);
  if (collection == NULL)
    return FALSE;
  stored = get_number_attribute (collection, ATTR_UIDVALIDITY);
  if (stored == 0 || stored == connection->uidvalidity)
    return TRUE;
  g_message ("The UIDVALIDITY of %s changed from %" G_GUINT64_FORMAT " to %u before a replay: "
             "its messages are matched again", mailbox, stored, connection->uidvalidity);
  if (!remap_after_uidvalidity_change (self, connection, collection, error))
    return FALSE;
  /* HIGHESTMODSEQ 0: the next sync compares every message. */
  state.uidvalidity = connection->uidvalidity;
  *remapped = TRUE;
  return save_state (self, &state, error);
}

/* The UID in @mailbox (the folder of @collection_id) of the item of
 * @change: lent by the change; after a remap, read from the store, or
 * for an item that has left the folder since, found by its Message-ID;
 * 0 if none. */
static gboolean
uid_of_change (CairnImapResource    *self,
               CairnImapConnection  *connection,
               CairnChange          *change,
               guint64               collection_id,
               const char           *mailbox,
               gboolean              remapped,
               guint32              *uid,
               GError              **error)
{
  g_autoptr(CairnItem) item = NULL;
  CairnItem *then = cairn_change_get_item (change);

  *uid = parse_uid (cairn_change_get_remote_id (change));
  if (!remapped)
    return TRUE;
  item = cairn_store_get_item (get_store (self), cairn_change_get_entity_id (change), NULL, NULL);
  if (item != NULL && cairn_item_get_collection_id (item) == collection_id)
    {
      *uid = parse_uid (cairn_item_get_remote_id (item));
      return TRUE;
    }
  *uid = 0;
  return then == NULL || find_in_folder (connection, mailbox, cairn_item_get_gid (then), uid,
                                         error);
}

static gboolean clear_attempts (CairnImapResource    *self,
                                CairnImapConnection  *connection,
                                guint64               collection_id,
                                const char           *mailbox,
                                const char           *gid,
                                guint32               uid,
                                GBytes               *bytes,
                                guint32              *reused,
                                GError              **error);

static gboolean mailbox_exists (CairnImapConnection  *connection,
                                const char           *mailbox,
                                gboolean             *exists,
                                GError              **error);

/* The Message-ID that finds @item's message on the server once @bytes,
 * its content, are uploaded: the one in their header; else its GID, else
 * NULL. Not the GID first: that is the Message-ID of the content the
 * server has now, and an edit may give the message another. */
static char *
dup_gid (CairnItem *item,
         GBytes    *bytes)
{
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  const char *end = g_strstr_len (data, length, "\n\r\n");
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autofree char *envelope = NULL;
  char *message_id = NULL;

  if (end == NULL)
    end = g_strstr_len (data, length, "\n\n");
  g_byte_array_append (header, (const guint8 *) data, end ? (gsize) (end - data) + 1 : length);
  envelope = cairn_mail_header_read_envelope (header, FALLBACK_CHARSET, &message_id);
  if (message_id != NULL && !g_utf8_validate (message_id, -1, NULL))
    g_clear_pointer (&message_id, g_free);
  return message_id != NULL ? message_id : g_strdup (cairn_item_get_gid (item));
}

/* The Message-ID of the message of an item whose content is not read:
 * its GID, the one the message had when a sync stored it, else the one
 * in the header of its RFC822 part; NULL if it has neither (a move of an
 * item removed since comes without parts). Not the part first: a local
 * edit not replayed yet is not on the server. */
static char *
dup_item_gid (CairnItem    *item,
              GCancellable *cancellable)
{
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GBytes) head = NULL;

  if (cairn_item_get_gid (item) != NULL)
    return g_strdup (cairn_item_get_gid (item));
  if (part != NULL && cairn_part_get_storage (part) != CAIRN_PART_STORAGE_MISSING)
    stream = cairn_part_open_stream (part, cancellable, NULL);
  if (stream != NULL)
    head = g_input_stream_read_bytes (stream, MAX_HEADER_READ, cancellable, NULL);
  return head != NULL ? dup_gid (item, head) : NULL;
}

/* The message an APPEND or MOVE is about to put in a folder, noted first
 * in a file of the instance's: killed before the framework records the
 * outcome, the resource may never be given the change again, since a
 * change whose item is removed meanwhile is dropped, and the item's
 * removal then knows no UID of it (or, for a move, only the old one, and
 * the item without its parts, so no Message-ID either). Written without
 * fsync: it outlives a killed process, not a power cut. */
static void
note_attempt (CairnImapResource *self,
              guint64            item_id,
              guint64            collection_id,
              const char        *mailbox,
              const char        *gid)
{
  g_autoptr(GKeyFile) attempt = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_path_get_dirname (self->attempt_path);
  g_autofree char *data = NULL;
  gsize length;

  if (gid == NULL)
    return;
  g_key_file_set_uint64 (attempt, "Attempt", "item", item_id);
  g_key_file_set_uint64 (attempt, "Attempt", "collection", collection_id);
  g_key_file_set_string (attempt, "Attempt", "mailbox", mailbox);
  g_key_file_set_string (attempt, "Attempt", "message-id", gid);
  data = g_key_file_to_data (attempt, &length, NULL);
  /* Without flags, GLib (2.74) writes over the old note in place and does
   * not truncate it: the end of a longer one would stay, and the note
   * would no longer parse. The old one is settled already. */
  g_unlink (self->attempt_path);
  if (g_mkdir_with_parents (folder, 0700) != 0 ||
      !g_file_set_contents_full (self->attempt_path, data, length, G_FILE_SET_CONTENTS_NONE,
                                 0600, &error))
    g_warning ("Cannot note an upload in %s: %s", self->attempt_path,
               error ? error->message : g_strerror (errno));
}

/* Whether the noted attempt is one of @item_id's into @collection_id;
 * sets @message_id, if given, to the Message-ID it noted. */
static gboolean
attempt_noted (CairnImapResource  *self,
               guint64             item_id,
               guint64             collection_id,
               char              **message_id)
{
  g_autoptr(GKeyFile) attempt = g_key_file_new ();

  if (!g_key_file_load_from_file (attempt, self->attempt_path, G_KEY_FILE_NONE, NULL) ||
      g_key_file_get_uint64 (attempt, "Attempt", "item", NULL) != item_id ||
      g_key_file_get_uint64 (attempt, "Attempt", "collection", NULL) != collection_id)
    return FALSE;
  if (message_id != NULL)
    *message_id = g_key_file_get_string (attempt, "Attempt", "message-id", NULL);
  return TRUE;
}

/* Settles the noted attempt before a replay of a change of @item_id (0
 * for a sync): if its item is gone from the store, what it put on the
 * server is expunged, unless an item has it; once a change of another
 * item comes, the attempt's outcome is recorded and the note goes. */
static gboolean
settle_attempt (CairnImapResource    *self,
                CairnImapConnection  *connection,
                guint64               item_id,
                GError              **error)
{
  g_autoptr(GKeyFile) attempt = g_key_file_new ();
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *mailbox = NULL;
  g_autofree char *gid = NULL;
  guint64 noted, collection_id;
  gboolean exists;
  guint32 reused;

  if (!g_key_file_load_from_file (attempt, self->attempt_path, G_KEY_FILE_NONE, NULL))
    return TRUE;
  noted = g_key_file_get_uint64 (attempt, "Attempt", "item", NULL);
  collection_id = g_key_file_get_uint64 (attempt, "Attempt", "collection", NULL);
  mailbox = g_key_file_get_string (attempt, "Attempt", "mailbox", NULL);
  gid = g_key_file_get_string (attempt, "Attempt", "message-id", NULL);
  item = cairn_store_get_item (get_store (self), noted, NULL, &local_error);
  if (item == NULL && !g_error_matches (local_error, CAIRN_STORE_ERROR,
                                        CAIRN_STORE_ERROR_NOT_FOUND))
    return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
  if (item != NULL && noted == item_id)
    return TRUE;
  if (item == NULL && mailbox != NULL && gid != NULL)
    {
      g_debug ("Item %" G_GUINT64_FORMAT " is gone: what its last upload made in %s goes",
               noted, mailbox);
      /* A folder removed since took the message with it. */
      if (!mailbox_exists (connection, mailbox, &exists, error))
        return FALSE;
      if (exists && !clear_attempts (self, connection, collection_id, mailbox, gid, 0, NULL,
                                     &reused, error))
        return FALSE;
    }
  g_unlink (self->attempt_path);
  return TRUE;
}

static gboolean
replay_item_added_sync (CairnResource  *resource,
                        CairnChange    *change,
                        CairnItem      *item,
                        char          **remote_id,
                        char          **remote_revision,
                        GCancellable   *cancellable,
                        GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  CairnImapConnection *connection;
  g_autofree char *mailbox = NULL;
  g_autofree char *gid = NULL;
  struct mailimap_flag_list *flags;
  guint32 validity = 0, uid = 0;
  int r;

  if (part == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Item %" G_GUINT64_FORMAT " has no RFC822 part to upload",
                        cairn_item_get_id (item)), FALSE;
  /* Read before the server is touched: a part that cannot be read fails
   * the change instead of sending an empty message. */
  bytes = cairn_part_read_bytes (part, MAX_APPEND_SIZE, cancellable, error);
  if (bytes == NULL)
    return FALSE;
  gid = dup_gid (item, bytes);

  locker = g_mutex_locker_new (&self->lock);
  connection = acquire (self, error);
  if (connection == NULL || !settle_attempt (self, connection, cairn_item_get_id (item), error))
    return FALSE;
  mailbox = dup_mailbox (self, connection, cairn_item_get_collection_id (item), error);
  if (mailbox == NULL)
    return FALSE;
  /* An earlier attempt may have reached the server. */
  if (cairn_resource_replay_is_retry (resource) &&
      !clear_attempts (self, connection, cairn_item_get_collection_id (item), mailbox, gid, 0,
                       bytes, &uid, error))
    return FALSE;
  if (uid == 0)
    {
      note_attempt (self, cairn_item_get_id (item), cairn_item_get_collection_id (item), mailbox,
                    gid);
      flags = cairn_imap_flag_list_new (cairn_item_get_flags (item));
      if (connection->uidplus)
        r = mailimap_uidplus_append (connection->session, mailbox, flags, NULL,
                                     g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                     &validity, &uid);
      else
        r = mailimap_append (connection->session, mailbox, flags, NULL,
                             g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      mailimap_flag_list_free (flags);
      if (!cairn_imap_connection_check (connection, r, "upload a message to", mailbox, error))
        return FALSE;
    }
  /* No APPENDUID: found by its Message-ID. */
  if (uid == 0 && !find_in_folder (connection, mailbox, gid, &uid, error))
    return FALSE;
  /* Without a UID the next sync finds the message as a new one. */
  if (uid != 0)
    *remote_id = g_strdup_printf ("%u", uid);
  g_debug ("Created item %" G_GUINT64_FORMAT " in %s: UID %u", cairn_item_get_id (item), mailbox,
           uid);
  return TRUE;
}

static gboolean
store_flags (CairnImapConnection  *connection,
             struct mailimap_set  *set,
             const CairnFlags     *flags,
             gboolean              add,
             GError              **error)
{
  struct mailimap_flag_list *list = cairn_imap_flag_list_new (flags);
  struct mailimap_store_att_flags *att;
  int r;

  if (clist_count (list->fl_list) == 0)
    {
      mailimap_flag_list_free (list);
      return TRUE;
    }
  att = add ? mailimap_store_att_flags_new_add_flags_silent (list)
            : mailimap_store_att_flags_new_remove_flags_silent (list);
  r = mailimap_uid_store (connection->session, set, att);
  mailimap_store_att_flags_free (att);
  return cairn_imap_connection_check (connection, r, "change the flags in",
                                      connection->selected, error);
}

static const struct
{
  int type;
  const char *name;
} system_flag_names[] = {
  { MAILIMAP_FLAG_ANSWERED, "\\Answered" },
  { MAILIMAP_FLAG_FLAGGED, "\\Flagged" },
  { MAILIMAP_FLAG_DELETED, "\\Deleted" },
  { MAILIMAP_FLAG_SEEN, "\\Seen" },
  { MAILIMAP_FLAG_DRAFT, "\\Draft" },
};

/* With CONDSTORE: UID STORE (UNCHANGEDSINCE @since) of a delta; the
 * UIDs of the messages changed on the server since then, which the server
 * left alone, in @modified (MODIFIED response code). */
static gboolean
store_flags_unchanged_since (CairnImapConnection  *connection,
                             struct mailimap_set  *set,
                             guint64               since,
                             const CairnFlags     *flags,
                             gboolean              add,
                             GArray               *modified,
                             GError              **error)
{
  struct mailimap_flag_list *list = cairn_imap_flag_list_new (flags);
  g_autoptr(GString) command = NULL;
  g_autofree char *uids = NULL;
  clist *extensions;
  int r;

  if (clist_count (list->fl_list) == 0)
    {
      mailimap_flag_list_free (list);
      return TRUE;
    }
  uids = cairn_imap_uid_set_to_string (set);
  command = g_string_new (NULL);
  g_string_append_printf (command, "UID STORE %s (UNCHANGEDSINCE %" G_GUINT64_FORMAT ") %cFLAGS.SILENT (",
                          uids, since, add ? '+' : '-');
  for (clistiter *cur = clist_begin (list->fl_list); cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_flag *flag = clist_content (cur);

      if (command->str[command->len - 1] != '(')
        g_string_append_c (command, ' ');
      for (guint i = 0; i < G_N_ELEMENTS (system_flag_names); i++)
        if (flag->fl_type == system_flag_names[i].type)
          g_string_append (command, system_flag_names[i].name);
      if (flag->fl_type == MAILIMAP_FLAG_KEYWORD)
        g_string_append (command, flag->fl_data.fl_keyword);
      else if (flag->fl_type == MAILIMAP_FLAG_EXTENSION)
        g_string_append_printf (command, "\\%s", flag->fl_data.fl_extension);
    }
  g_string_append_c (command, ')');
  mailimap_flag_list_free (list);
  /* libetpan 1.9's mailimap_uid_store_unchangedsince() leaves out the
   * space before the modifier, which servers refuse. */
  r = mailimap_custom_command (connection->session, command->str);
  if (!cairn_imap_connection_check (connection, r, "change the flags in", connection->selected,
                                    error))
    return FALSE;
  extensions = connection->session->imap_response_info ?
               connection->session->imap_response_info->rsp_extension_list : NULL;
  for (clistiter *cur = extensions ? clist_begin (extensions) : NULL; cur; cur = clist_next (cur))
    {
      struct mailimap_extension_data *data = clist_content (cur);
      struct mailimap_condstore_resptextcode *code = data->ext_data;

      if (data->ext_extension == &mailimap_extension_condstore &&
          data->ext_type == MAILIMAP_CONDSTORE_TYPE_RESP_TEXT_CODE && code != NULL &&
          code->cs_type == MAILIMAP_CONDSTORE_RESPTEXTCODE_MODIFIED &&
          code->cs_data.cs_modified_set != NULL)
        {
          g_autoptr(GArray) uids = cairn_imap_uid_set_expand (code->cs_data.cs_modified_set,
                                                              FETCH_BATCH);

          g_array_append_vals (modified, uids->data, uids->len);
        }
    }
  return TRUE;
}

/* Expunges @uid of the selected folder, and only it when UIDPLUS allows. */
static gboolean
expunge_uid (CairnImapConnection  *connection,
             guint32               uid,
             GError              **error)
{
  struct mailimap_set *set = mailimap_set_new_single (uid);
  g_autoptr(CairnFlags) deleted = cairn_flags_new ();
  gboolean ok;
  int r;

  cairn_flags_add (deleted, CAIRN_FLAG_DELETED);
  ok = store_flags (connection, set, deleted, TRUE, error);
  if (ok)
    {
      r = connection->uidplus ? mailimap_uid_expunge (connection->session, set)
                              : mailimap_expunge (connection->session);
      ok = cairn_imap_connection_check (connection, r, "remove a message from",
                                        connection->selected, error);
    }
  mailimap_set_free (set);
  return ok;
}

/* Whether @uid is in the selected folder; if *@gid is NULL, its
 * Message-ID there, if it has one. */
static gboolean
uid_exists (CairnImapConnection  *connection,
            guint32               uid,
            gboolean             *exists,
            char                **gid,
            GError              **error)
{
  struct mailimap_set *set = mailimap_set_new_single (uid);
  g_autoptr(GPtrArray) fetched = fetch (connection, set, TRUE, *gid ? 0 : FETCH_GID, 0, NULL,
                                        error);
  Fetched *one;

  mailimap_set_free (set);
  *exists = fetched != NULL && fetched->len > 0;
  if (!*exists || *gid != NULL)
    return fetched != NULL;
  one = g_ptr_array_index (fetched, 0);
  /* Only the Message-ID of the envelope is wanted. */
  if (one->header != NULL)
    g_free (cairn_mail_header_read_envelope (one->header, FALLBACK_CHARSET, gid));
  if (*gid != NULL && !g_utf8_validate (*gid, -1, NULL))
    g_clear_pointer (gid, g_free);
  return TRUE;
}

/* A folder selected before this replay (not @fresh) sees what other
 * sessions removed since only once the server has told it, at a command
 * such as NOOP. */
static gboolean
catch_up (CairnImapConnection  *connection,
          gboolean              fresh,
          GError              **error)
{
  return fresh || cairn_imap_connection_check (connection, mailimap_noop (connection->session),
                                               "read the news of", connection->selected, error);
}

/* MOVE of message @uid of the selected folder to @to, or without MOVE a
 * COPY, whose expunge is the caller's; @new_uid gets its UID there when
 * the server says it (COPYUID), else 0. */
static gboolean
move_uid (CairnImapConnection  *connection,
          guint32               uid,
          const char           *to,
          guint32              *new_uid,
          GError              **error)
{
  struct mailimap_set *set = mailimap_set_new_single (uid);
  struct mailimap_set *source_set = NULL, *dest_set = NULL;
  guint32 validity = 0;
  int r;

  *new_uid = 0;
  if (connection->move)
    r = connection->uidplus ?
        mailimap_uidplus_uid_move (connection->session, set, to, &validity, &source_set,
                                   &dest_set) :
        mailimap_uid_move (connection->session, set, to);
  else
    r = connection->uidplus ?
        mailimap_uidplus_uid_copy (connection->session, set, to, &validity, &source_set,
                                   &dest_set) :
        mailimap_uid_copy (connection->session, set, to);
  mailimap_set_free (set);
  if (!cairn_imap_connection_check (connection, r, "move a message to", to, error))
    return FALSE;
  if (dest_set != NULL)
    {
      g_autoptr(GArray) uids = cairn_imap_uid_set_expand (dest_set, 1);

      if (uids->len == 1)
        *new_uid = g_array_index (uids, guint32, 0);
      mailimap_set_free (dest_set);
    }
  if (source_set != NULL)
    mailimap_set_free (source_set);
  return TRUE;
}

/* The messages with a Message-ID across folders, of any size or of
 * sizes asked for: when there is one, it is the message of an item whose
 * size a local edit changed, which is not on the server yet. */
typedef struct
{
  guint n_found;
  char *mailbox;        /* where the first is */
  guint32 uid;
} Sole;

static void
sole_add (Sole       *sole,
          const char *mailbox,
          GArray     *found)
{
  if (sole->n_found == 0 && found->len > 0)
    {
      sole->mailbox = g_strdup (mailbox);
      sole->uid = g_array_index (found, guint32, 0);
    }
  sole->n_found += found->len;
}

/* The messages of the selected folder with the Message-ID @gid in
 * @found, and in @matching those of them whose message_key() is one of
 * @wanted (%NULL when @wanted is). */
static gboolean
search_in_folder (CairnImapConnection  *connection,
                  const char           *gid,
                  GHashTable           *wanted,
                  GArray              **found,
                  GArray              **matching,
                  GError              **error)
{
  *matching = NULL;
  *found = search_message_id (connection, gid, error);
  if (*found == NULL)
    return FALSE;
  if (wanted == NULL)
    return TRUE;
  *matching = (*found)->len > 0 ? matching_uids (connection, *found, wanted, error)
                                : g_array_new (FALSE, FALSE, sizeof (guint32));
  return *matching != NULL;
}

typedef struct
{
  const char *gid;
  GHashTable *wanted;   /* message_key() of the message, NULL for any size */
  Sole sole;
} SoleSearch;

static gboolean
find_sole (CairnImapConnection  *connection,
           const char           *mailbox,
           gpointer              user_data,
           gboolean             *done,
           GError              **error)
{
  SoleSearch *search = user_data;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) matching = NULL;

  if (!search_in_folder (connection, search->gid, search->wanted, &found, &matching, error))
    return FALSE;
  sole_add (&search->sole, mailbox, search->wanted ? matching : found);
  *done = search->sole.n_found > 1;
  return TRUE;
}

typedef struct
{
  CairnImapResource *self;
  guint64 item_id;
  guint64 destination;
  const char *to;
  const char *gid;
  GHashTable *wanted;   /* its message_key() */
  guint32 new_uid;
  gboolean taken;
  Sole sole;
} MovedElsewhere;

/* Moves message @uid of @mailbox, the selected folder, to the
 * destination of @moved. */
static gboolean
take_to_destination (CairnImapConnection  *connection,
                     const char           *mailbox,
                     guint32               uid,
                     MovedElsewhere       *moved,
                     GError              **error)
{
  g_debug ("Item %" G_GUINT64_FORMAT " is in %s now, UID %u: moved from there", moved->item_id,
           mailbox, uid);
  moved->taken = TRUE;
  note_attempt (moved->self, moved->item_id, moved->destination, moved->to, moved->gid);
  return move_uid (connection, uid, moved->to, &moved->new_uid, error) &&
         (connection->move || expunge_uid (connection, uid, error)) &&
         (moved->new_uid != 0 ||
          find_in_folder (connection, moved->to, moved->gid, &moved->new_uid, error));
}

/* A message that a local move is to take from a folder another client
 * filed it in since: moved to the move's destination from @mailbox if it
 * is there, which ends the search. */
static gboolean
move_from_elsewhere (CairnImapConnection  *connection,
                     const char           *mailbox,
                     gpointer              user_data,
                     gboolean             *done,
                     GError              **error)
{
  MovedElsewhere *moved = user_data;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) uids = NULL;

  if (!search_in_folder (connection, moved->gid, moved->wanted, &found, &uids, error))
    return FALSE;
  sole_add (&moved->sole, mailbox, found);
  if (uids->len == 0)
    return TRUE;
  *done = TRUE;
  return take_to_destination (connection, mailbox, g_array_index (uids, guint32, uids->len - 1),
                              moved, error);
}

static gboolean
replay_item_moved_sync (CairnResource  *resource,
                        CairnChange    *change,
                        CairnItem      *item,
                        guint64         source,
                        guint64         destination,
                        char          **remote_id,
                        char          **remote_revision,
                        GCancellable   *cancellable,
                        GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  guint32 uid = parse_uid (cairn_change_get_remote_id (change));
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *gid = NULL;
  guint32 new_uid = 0;
  gboolean exists, fresh, remapped;

  if (connection == NULL || !settle_attempt (self, connection, cairn_item_get_id (item), error))
    return FALSE;
  /* Never on the server: nothing to move. */
  if (uid == 0)
    return TRUE;
  from = dup_mailbox (self, connection, source, error);
  to = from ? dup_mailbox (self, connection, destination, error) : NULL;
  fresh = to != NULL && g_strcmp0 (connection->selected, from) != 0;
  if (to == NULL || !select_for_replay (self, connection, source, from, &remapped, error) ||
      !catch_up (connection, fresh, error))
    return FALSE;
  if (remapped &&
      (!uid_of_change (self, connection, change, source, from, TRUE, &uid, error) ||
       !cairn_imap_connection_select (connection, from, error)))
    return FALSE;
  if (uid == 0)
    return TRUE;
  /* The Message-ID of the message as the server has it, for the note of
   * the attempt: the item's content may be a local edit not replayed yet,
   * and a move of an item removed since comes without content. Moved by
   * an earlier attempt, the message is found by the Message-ID that
   * attempt noted. */
  if (!uid_exists (connection, uid, &exists, &gid, error))
    return FALSE;
  if (!exists && (!attempt_noted (self, cairn_item_get_id (item), destination, &gid) ||
                  gid == NULL))
    gid = dup_item_gid (item, cancellable);

  /* Without MOVE, an attempt stopped between its COPY and the EXPUNGE
   * left the copy in the destination: a second COPY would make two, the
   * second with the \Deleted that the first attempt set. */
  if (exists && !connection->move &&
      attempt_noted (self, cairn_item_get_id (item), destination, NULL) &&
      (!find_in_folder (connection, to, gid, &new_uid, error) ||
       !cairn_imap_connection_select (connection, from, error)))
    return FALSE;
  if (exists && new_uid == 0)
    {
      note_attempt (self, cairn_item_get_id (item), destination, to, gid);
      if (!move_uid (connection, uid, to, &new_uid, error))
        return FALSE;
    }
  if (exists && !connection->move && !expunge_uid (connection, uid, error))
    return FALSE;
  /* No COPYUID, or moved by an earlier attempt: found by Message-ID. */
  if (new_uid == 0 && !find_in_folder (connection, to, gid, &new_uid, error))
    return FALSE;
  /* Not in the destination, gone from the source before the MOVE or
   * while it was sent: another client filed it elsewhere, from where the
   * local move takes it. */
  if (new_uid == 0 && gid != NULL)
    {
      g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            NULL);
      MovedElsewhere moved = { self, cairn_item_get_id (item), destination, to, gid, wanted };
      gboolean ok;

      add_message_keys (wanted, gid, item);
      ok = foreach_folder (self, connection, to, move_from_elsewhere, &moved, error);
      /* None of the item's size, which a local edit not replayed yet
       * changed, and the remote revision does not give the size of the
       * last sync (written here, or moved, since): the message is taken
       * if it is the only one on the server with its Message-ID, which a
       * copy of another size (a mailing list's) leaves in doubt. With
       * that size, none has it: the message is gone. */
      if (ok && !moved.taken && moved.sole.n_found == 1 && revision_size (item) < 0)
        {
          g_clear_pointer (&connection->selected, g_free);
          ok = cairn_imap_connection_select (connection, moved.sole.mailbox, error) &&
               take_to_destination (connection, moved.sole.mailbox, moved.sole.uid, &moved,
                                    error);
        }
      g_free (moved.sole.mailbox);
      if (!ok)
        return FALSE;
      new_uid = moved.new_uid;
    }
  /* Not found there either ("0"): the old UID must not name another
   * message of the destination in the changes that follow. */
  if (new_uid == 0 && !forget_modseq (self, destination, error))
    return FALSE;
  *remote_id = g_strdup_printf ("%u", new_uid);
  g_debug ("Moved item %" G_GUINT64_FORMAT " from %s UID %u%s to %s: UID %u",
           cairn_item_get_id (item), from, uid, exists ? "" : " (gone)", to, new_uid);
  return TRUE;
}

static gboolean
replay_item_removed_sync (CairnResource  *resource,
                          CairnChange    *change,
                          GCancellable   *cancellable,
                          GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  guint64 collection_id = cairn_change_get_collection_id (change);
  guint32 uid = parse_uid (cairn_change_get_remote_id (change));
  g_autofree char *mailbox = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean remapped, exists = TRUE;

  if (connection == NULL ||
      !settle_attempt (self, connection, cairn_change_get_entity_id (change), error))
    return FALSE;
  if (uid == 0)
    return TRUE;
  mailbox = dup_mailbox (self, connection, collection_id, error);
  if (mailbox == NULL)
    return FALSE;
  if (!select_for_replay (self, connection, collection_id, mailbox, &remapped, &local_error))
    {
      /* The message went with its folder: a removal that took in a move
       * out of a folder removed since comes after the folder's removal. */
      if (g_error_matches (local_error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT) &&
          !mailbox_exists (connection, mailbox, &exists, error))
        return FALSE;
      if (!exists)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* Removed locally, the item is gone from the store: after a remap its
   * new UID is unknown, and the full sync that follows brings the
   * message back rather than expunge the wrong one. */
  if (remapped)
    return TRUE;
  g_debug ("Removing item %" G_GUINT64_FORMAT " from %s: UID %u",
           cairn_change_get_entity_id (change), mailbox, uid);
  return expunge_uid (connection, uid, error);
}

/* Content changes: an IMAP message never changes, so a new content is a
 * new message, as IMAP clients write an edited draft. */

/* The flags the message @uid of the selected folder has on the server,
 * NULL if it is gone. */
static gboolean
server_flags (CairnImapConnection  *connection,
              guint32               uid,
              CairnFlags          **flags,
              GError              **error)
{
  struct mailimap_set *set = mailimap_set_new_single (uid);
  g_autoptr(GPtrArray) fetched = fetch (connection, set, TRUE, FETCH_FLAGS, 0, NULL, error);

  mailimap_set_free (set);
  *flags = NULL;
  if (fetched == NULL)
    return FALSE;
  for (guint i = 0; i < fetched->len; i++)
    {
      Fetched *one = g_ptr_array_index (fetched, i);

      if (one->uid == uid)
        *flags = one->flags ? cairn_flags_copy (one->flags) : cairn_flags_new ();
    }
  return TRUE;
}

/* An earlier attempt of this change may have appended its message and
 * then stopped, possibly with an older content (a create delivered again
 * takes in the edits made since). The messages of @mailbox (the folder
 * @collection_id) with Message-ID @gid above @uid that no item of the
 * folder has are those attempts: one with the content @bytes, if given,
 * is taken as @reused, the others are expunged, so that the folder never
 * holds the content twice nor an old one. */
static gboolean
clear_attempts (CairnImapResource    *self,
                CairnImapConnection  *connection,
                guint64               collection_id,
                const char           *mailbox,
                const char           *gid,
                guint32               uid,
                GBytes               *bytes,
                guint32              *reused,
                GError              **error)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GArray) uids = NULL;

  *reused = 0;
  if (gid == NULL)
    return TRUE;
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  /* Selected afresh, so that a message just added is seen. */
  g_clear_pointer (&connection->selected, g_free);
  if (!cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  uids = search_message_id (connection, gid, error);
  if (uids == NULL)
    return FALSE;
  for (guint i = 0; i < uids->len; i++)
    {
      guint32 found = g_array_index (uids, guint32, i);
      g_autofree char *remote_id = g_strdup_printf ("%u", found);
      g_autoptr(CairnItem) known = NULL;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) body = NULL;
      struct mailimap_set *set;

      if (found <= uid)
        continue;
      known = cairn_store_find_item_by_remote_id (get_store (self), collection_id, remote_id,
                                                  scope, &local_error);
      if (known == NULL &&
          !g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* An item that has this UID and another Message-ID was moved here
       * locally and keeps its old folder's UID until its move is
       * replayed: the message is not its. */
      if (known != NULL)
        {
          g_autofree char *known_gid = dup_item_gid (known, NULL);

          if (known_gid == NULL || g_str_equal (known_gid, gid))
            continue;
        }
      set = mailimap_set_new_single (found);
      body = fetch (connection, set, TRUE, FETCH_BODY, 0, NULL, error);
      mailimap_set_free (set);
      if (body == NULL)
        return FALSE;
      if (*reused == 0 && bytes != NULL && body->len == 1 &&
          ((Fetched *) g_ptr_array_index (body, 0))->body != NULL &&
          g_bytes_equal (((Fetched *) g_ptr_array_index (body, 0))->body, bytes))
        *reused = found;
      else
        {
          g_debug ("Expunging UID %u of %s, an earlier attempt", found, mailbox);
          if (!expunge_uid (connection, found, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* Expunges the message a local edit replaced: @uid of the selected
 * folder if it is @in_folder, else the one of @sole. */
static gboolean
expunge_replaced (CairnImapConnection  *connection,
                  guint32               uid,
                  gboolean              in_folder,
                  Sole                 *sole,
                  GError              **error)
{
  if (in_folder)
    return expunge_uid (connection, uid, error);
  if (sole->n_found != 1)
    return TRUE;
  g_debug ("The message replaced is in %s now, UID %u: expunged there", sole->mailbox, sole->uid);
  g_clear_pointer (&connection->selected, g_free);
  return cairn_imap_connection_select (connection, sole->mailbox, error) &&
         expunge_uid (connection, sole->uid, error);
}

/* APPENDs @bytes, whose Message-ID is @gid, to the folder of @item with
 * the flags the old message has on the server now (those another client
 * set survive; a local delta before this change was replayed before it),
 * then expunges the old message. An old message another client moved to
 * another folder meanwhile is found there, as the only message on the
 * server with the Message-ID of @item (and the size of the last sync,
 * when its remote revision gives it), and expunged there: the new one
 * takes its flags, and there is one. The new UID in @new_uid, 0 if the
 * server names none and the message cannot be found by its Message-ID. */
static gboolean
replace_message (CairnImapResource  *self,
                 CairnChange        *change,
                 CairnItem          *item,
                 GBytes             *bytes,
                 const char         *gid,
                 guint32            *new_uid,
                 GError            **error)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  guint64 collection_id = cairn_item_get_collection_id (item);
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *mailbox = NULL;
  g_autofree char *old_gid = NULL;
  SoleSearch search = { NULL, NULL, { 0, NULL, 0 } };
  g_autoptr(GHashTable) wanted = NULL;
  g_autofree char *sole_mailbox = NULL;
  struct mailimap_flag_list *list;
  guint32 uid, validity = 0;
  gboolean remapped, in_folder;
  int r;

  *new_uid = 0;
  if (connection == NULL || !settle_attempt (self, connection, cairn_item_get_id (item), error))
    return FALSE;
  mailbox = dup_mailbox (self, connection, collection_id, error);
  if (mailbox == NULL ||
      !select_for_replay (self, connection, collection_id, mailbox, &remapped, error) ||
      !uid_of_change (self, connection, change, collection_id, mailbox, remapped, &uid, error) ||
      (remapped && !cairn_imap_connection_select (connection, mailbox, error)))
    return FALSE;
  if (uid != 0 && !server_flags (connection, uid, &flags, error))
    return FALSE;
  in_folder = flags != NULL;
  if (uid != 0 && !in_folder)
    {
      old_gid = dup_item_gid (item, NULL);
      search.gid = old_gid;
      /* Of the size of the last sync, when the remote revision says:
       * another message with the Message-ID (a mailing list's copy) is
       * not the one replaced. */
      if (old_gid != NULL && revision_size (item) >= 0)
        {
          wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_add (wanted, message_key (old_gid, revision_size (item)));
          search.wanted = wanted;
        }
      if (old_gid != NULL && !foreach_folder (self, connection, mailbox, find_sole, &search, error))
        return FALSE;
      sole_mailbox = search.sole.mailbox;
      g_clear_pointer (&connection->selected, g_free);
      if ((search.sole.n_found == 1 &&
           (!cairn_imap_connection_select (connection, sole_mailbox, error) ||
            !server_flags (connection, search.sole.uid, &flags, error))) ||
          !cairn_imap_connection_select (connection, mailbox, error))
        return FALSE;
    }
  /* An earlier attempt stopped between marking the old message \Deleted
   * and expunging it: the new one must not take that mark over, unless
   * the item has it too. */
  if (flags != NULL && !cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_DELETED))
    cairn_flags_remove (flags, CAIRN_FLAG_DELETED);
  if (cairn_resource_replay_is_retry (CAIRN_RESOURCE (self)) &&
      !clear_attempts (self, connection, collection_id, mailbox, gid, uid, bytes, new_uid,
                       error))
    return FALSE;
  if (*new_uid != 0)
    return expunge_replaced (connection, uid, in_folder, &search.sole, error);

  note_attempt (self, cairn_item_get_id (item), collection_id, mailbox, gid);
  list = cairn_imap_flag_list_new (flags ? flags : cairn_item_get_flags (item));
  if (connection->uidplus)
    r = mailimap_uidplus_append (connection->session, mailbox, list, NULL,
                                 g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 &validity, new_uid);
  else
    r = mailimap_append (connection->session, mailbox, list, NULL,
                         g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  mailimap_flag_list_free (list);
  if (!cairn_imap_connection_check (connection, r, "upload a message to", mailbox, error))
    return FALSE;
  /* No APPENDUID: the newest message with its Message-ID is the one just
   * appended. find_in_folder() selects the folder again. */
  if (*new_uid == 0 && !find_in_folder (connection, mailbox, gid, new_uid, error))
    return FALSE;
  /* The new message is on the server before the old one goes. */
  g_debug ("Rewrote item %" G_GUINT64_FORMAT " in %s: UID %u%s, now %u", cairn_item_get_id (item),
           mailbox, uid, in_folder ? "" : " (gone)", *new_uid);
  return expunge_replaced (connection, uid, in_folder, &search.sole, error);
}

/* Other parts (ENVELOPE, attributes) are the store's own. */
static gboolean
replay_item_changed_sync (CairnResource       *resource,
                          CairnChange         *change,
                          CairnItem           *item,
                          const char * const  *parts,
                          char               **remote_revision,
                          CairnItem          **server_item,
                          GCancellable        *cancellable,
                          GError             **error)
{
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *gid = NULL;
  guint32 uid = 0;

  if (parts == NULL || !g_strv_contains (parts, CAIRN_PART_RFC822))
    return TRUE;
  if (part == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Item %" G_GUINT64_FORMAT " has no RFC822 part to upload",
                        cairn_item_get_id (item)), FALSE;
  /* Read before the server is touched, as for a create. */
  bytes = cairn_part_read_bytes (part, MAX_APPEND_SIZE, cancellable, error);
  if (bytes == NULL)
    return FALSE;
  gid = dup_gid (item, bytes);
  if (!replace_message (CAIRN_IMAP_RESOURCE (resource), change, item, bytes, gid, &uid, error))
    return FALSE;
  /* Without a UID the next sync finds the message as a new one. */
  if (uid != 0)
    {
      remote_id = g_strdup_printf ("%u", uid);
      cairn_resource_replay_set_remote_id (resource, remote_id);
    }
  /* The message's Message-ID may be another than the one it replaces. */
  if (gid != NULL)
    cairn_resource_replay_set_gid (resource, gid);
  return TRUE;
}

/* Flag deltas: one UID STORE per folder for all the items of a delivery
 * (up to 1,000 items with the same delta), their UIDs as ranges. */
typedef struct
{
  GPtrArray *changes;
  CairnFlags *added;
  CairnFlags *removed;
} FlagsJob;

static void
flags_job_free (FlagsJob *job)
{
  g_ptr_array_unref (job->changes);
  cairn_flags_free (job->added);
  cairn_flags_free (job->removed);
  g_free (job);
}

/* The delta of @job stored on @set unconditionally. */
static gboolean
store_delta (CairnImapConnection  *connection,
             struct mailimap_set  *set,
             FlagsJob             *job,
             GError              **error)
{
  return (job->added == NULL || store_flags (connection, set, job->added, TRUE, error)) &&
         (job->removed == NULL || store_flags (connection, set, job->removed, FALSE, error));
}

/* A delta stored only on the messages unchanged since the folder's last
 * sync (@since, its HIGHESTMODSEQ then); those another client changed
 * meanwhile are read again (their flags and MODSEQ) and get the delta on
 * top of that change, conditional on what was read, a few times, then
 * unconditionally: a delta names only its own flags, so the other
 * client's change is kept either way. */
static gboolean
replay_unchanged_since (CairnImapConnection  *connection,
                        struct mailimap_set  *set,
                        guint64               since,
                        FlagsJob             *job,
                        GError              **error)
{
  g_autoptr(GArray) modified = g_array_new (FALSE, FALSE, sizeof (guint32));
  struct mailimap_set *again = NULL;
  gboolean ok;

  ok = (job->added == NULL ||
        store_flags_unchanged_since (connection, set, since, job->added, TRUE, modified,
                                     error)) &&
       (job->removed == NULL ||
        store_flags_unchanged_since (connection, set, since, job->removed, FALSE, modified,
                                     error));
  for (guint round = 0; ok && modified->len > 0; round++)
    {
      g_autoptr(GPtrArray) fetched = NULL;
      guint64 newest = 0;

      g_array_sort (modified, compare_uids);
      g_clear_pointer (&again, mailimap_set_free);
      again = cairn_imap_uid_set_new (modified);
      g_array_set_size (modified, 0);
      if (round == 3)
        {
          ok = store_delta (connection, again, job, error);
          break;
        }
      fetched = fetch (connection, again, TRUE, FETCH_FLAGS, 0, NULL, error);
      ok = fetched != NULL;
      /* Named but expunged by another client meanwhile: the caller
       * follows those. */
      if (!ok || fetched->len == 0)
        break;
      for (guint i = 0; i < fetched->len; i++)
        newest = MAX (newest, ((Fetched *) g_ptr_array_index (fetched, i))->modseq);
      g_debug ("%u messages changed on the server since MODSEQ %" G_GUINT64_FORMAT
               ": the delta goes on top, unchanged since %" G_GUINT64_FORMAT,
               fetched->len, since, newest);
      /* No MODSEQ to be conditional on. */
      if (newest == 0)
        {
          ok = store_delta (connection, again, job, error);
          break;
        }
      ok = (job->added == NULL ||
            store_flags_unchanged_since (connection, again, newest, job->added, TRUE, modified,
                                         error)) &&
           (job->removed == NULL ||
            store_flags_unchanged_since (connection, again, newest, job->removed, FALSE,
                                         modified, error));
    }
  g_clear_pointer (&again, mailimap_set_free);
  return ok;
}

/* Takes out of @uids (sorted) those whose messages are no longer in
 * the selected folder: another client moved or removed them since the
 * last sync. The Message-IDs of their items (@items_by_uid) go to @gids,
 * and their message_key() to @wanted. */
static gboolean
take_vanished (CairnImapConnection  *connection,
               GArray               *uids,
               GHashTable           *items_by_uid,
               GPtrArray            *gids,
               GHashTable           *wanted,
               GError              **error)
{
  struct mailimap_search_key *key;
  g_autoptr(GHashTable) present = g_hash_table_new (NULL, NULL);
  clist *result = NULL;
  guint kept = 0;
  int r;

  if (!catch_up (connection, FALSE, error))
    return FALSE;
  key = mailimap_search_key_new_uid (cairn_imap_uid_set_new (uids));
  r = mailimap_uid_search (connection->session, NULL, key, &result);
  mailimap_search_key_free (key);
  if (!cairn_imap_connection_check (connection, r, "search", connection->selected, error))
    return FALSE;
  for (clistiter *cur = result ? clist_begin (result) : NULL; cur; cur = clist_next (cur))
    g_hash_table_add (present, GUINT_TO_POINTER (*(guint32 *) clist_content (cur)));
  if (result != NULL)
    mailimap_search_result_free (result);
  for (guint i = 0; i < uids->len; i++)
    {
      guint32 uid = g_array_index (uids, guint32, i);
      CairnItem *then;

      if (g_hash_table_contains (present, GUINT_TO_POINTER (uid)))
        g_array_index (uids, guint32, kept++) = uid;
      else if ((then = g_hash_table_lookup (items_by_uid, GUINT_TO_POINTER (uid))) != NULL)
        {
          char *gid = dup_item_gid (then, NULL);

          if (gid == NULL)
            continue;
          add_message_keys (wanted, gid, then);
          g_ptr_array_add (gids, gid);
        }
    }
  g_array_set_size (uids, kept);
  return TRUE;
}

/* Message-IDs searched for at once, in one SEARCH of ORs. */
#define FOLLOW_CHUNK 32

typedef struct
{
  FlagsJob *job;
  GPtrArray *gids;
  GHashTable *wanted;   /* message_key() of each */
} Followed;

/* The delta of a flags job for messages another client took out of
 * their folder since the last sync: it goes to the messages with their
 * Message-IDs in @mailbox. */
static gboolean
store_delta_by_gids (CairnImapConnection  *connection,
                     const char           *mailbox,
                     gpointer              user_data,
                     gboolean             *done,
                     GError              **error)
{
  Followed *followed = user_data;
  FlagsJob *job = followed->job;
  GPtrArray *gids = followed->gids;

  for (guint i = 0; i < gids->len; i += FOLLOW_CHUNK)
    {
      g_autoptr(GArray) found = search_message_ids (connection,
                                                   (const char * const *) gids->pdata + i,
                                                   MIN (FOLLOW_CHUNK, gids->len - i), error);
      g_autoptr(GArray) uids = NULL;
      struct mailimap_set *set;
      gboolean ok;

      if (found == NULL)
        return FALSE;
      if (found->len == 0)
        continue;
      uids = matching_uids (connection, found, followed->wanted, error);
      if (uids == NULL)
        return FALSE;
      if (uids->len == 0)
        continue;
      g_debug ("Flags of %u messages moved to %s by another client", uids->len, mailbox);
      set = cairn_imap_uid_set_new (uids);
      ok = store_delta (connection, set, job, error);
      mailimap_set_free (set);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* The delta of @job for messages another client took out of their
 * folder since the last sync (@gids, their Message-IDs, and @wanted, the
 * message_key() of each): it goes to those messages wherever they are on
 * the server now, where the next sync finds them with it. A message
 * removed meanwhile takes it nowhere. */
static gboolean
follow_moved (CairnImapResource    *self,
              CairnImapConnection  *connection,
              GPtrArray            *gids,
              GHashTable           *wanted,
              FlagsJob             *job,
              GError              **error)
{
  Followed followed = { job, gids, wanted };

  return foreach_folder (self, connection, NULL, store_delta_by_gids, &followed, error);
}

static gboolean
replay_flags_in_folder (CairnImapResource    *self,
                        CairnImapConnection  *connection,
                        guint64               collection_id,
                        GPtrArray            *changes,
                        FlagsJob             *job,
                        GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *mailbox = dup_mailbox (self, connection, collection_id, &local_error);
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GHashTable) items_by_uid = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) vanished = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(CairnCollection) collection = NULL;
  struct mailimap_set *set;
  gboolean remapped;
  guint64 since;
  gboolean ok;
  gint64 start;

  /* A folder that never reached the server holds none of them. */
  if (mailbox == NULL)
    {
      if (g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!select_for_replay (self, connection, collection_id, mailbox, &remapped, error))
    return FALSE;
  collection = cairn_resource_get_collection (CAIRN_RESOURCE (self), collection_id, error);
  if (collection == NULL)
    return FALSE;
  since = get_number_attribute (collection, ATTR_HIGHESTMODSEQ);
  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);
      CairnItem *then = cairn_change_get_item (change);
      guint32 uid;

      if (!uid_of_change (self, connection, change, collection_id, mailbox, remapped, &uid,
                          error))
        return FALSE;
      if (uid == 0)
        continue;
      g_array_append_val (uids, uid);
      if (then != NULL)
        g_hash_table_insert (items_by_uid, GUINT_TO_POINTER (uid), then);
    }
  if (remapped && !cairn_imap_connection_select (connection, mailbox, error))
    return FALSE;
  if (uids->len == 0)
    return TRUE;
  g_array_sort (uids, compare_uids);
  start = g_get_monotonic_time ();
  set = cairn_imap_uid_set_new (uids);
  if (connection->condstore && since != 0)
    ok = replay_unchanged_since (connection, set, since, job, error);
  else
    ok = store_delta (connection, set, job, error);
  mailimap_set_free (set);
  /* Asked after the STORE, so that a message another client takes away
   * at any time is followed: before it, the STORE missed it; after, the
   * flags went along, and storing them again changes nothing. */
  ok = ok && take_vanished (connection, uids, items_by_uid, vanished, wanted, error);
  g_debug ("Flags of %u messages in %s: %" G_GINT64_FORMAT " ms", uids->len, mailbox,
           (g_get_monotonic_time () - start) / 1000);
  return ok && (vanished->len == 0 ||
                follow_moved (self, connection, vanished, wanted, job, error));
}

static void
flags_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CairnImapResource *self = source;
  FlagsJob *job = task_data;
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection;
  GHashTableIter iter;
  guint64 *collection_id;
  GPtrArray *changes;
  GError *error = NULL;

  for (guint i = 0; i < job->changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (job->changes, i);
      CairnItem *item = cairn_change_get_item (change);
      guint64 id = item ? cairn_item_get_collection_id (item)
                        : cairn_change_get_collection_id (change);

      /* Not on the server yet: its creation carries its flags. */
      if (parse_uid (cairn_change_get_remote_id (change)) == 0)
        continue;
      changes = g_hash_table_lookup (folders, &id);
      if (changes == NULL)
        {
          changes = g_ptr_array_new ();
          g_hash_table_insert (folders, g_memdup2 (&id, sizeof id), changes);
        }
      g_ptr_array_add (changes, change);
    }
  connection = acquire (self, &error);
  g_hash_table_iter_init (&iter, folders);
  while (connection != NULL && error == NULL &&
         g_hash_table_iter_next (&iter, (gpointer *) &collection_id, (gpointer *) &changes))
    replay_flags_in_folder (self, connection, *collection_id, changes, job, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
flags_replayed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    cairn_resource_change_replayed (CAIRN_RESOURCE (source), NULL, NULL);
  else
    cairn_resource_change_failed (CAIRN_RESOURCE (source), error);
}

static void
items_flags_changed (CairnObserver    *observer,
                     CairnMonitor     *monitor,
                     GPtrArray        *changes,
                     const CairnFlags *added,
                     const CairnFlags *removed)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (observer);
  g_autoptr(GTask) task = g_task_new (self, NULL, flags_replayed, NULL);
  FlagsJob *job = g_new0 (FlagsJob, 1);

  job->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cairn_change_unref);
  for (guint i = 0; i < changes->len; i++)
    g_ptr_array_add (job->changes, cairn_change_ref (g_ptr_array_index (changes, i)));
  job->added = added && cairn_flags_get_size (added) ? cairn_flags_copy (added) : NULL;
  job->removed = removed && cairn_flags_get_size (removed) ? cairn_flags_copy (removed) : NULL;
  g_task_set_source_tag (task, items_flags_changed);
  g_task_set_task_data (task, job, (GDestroyNotify) flags_job_free);
  g_task_run_in_thread (task, flags_thread);
}

static void
cairn_imap_resource_observer_init (CairnObserverInterface *iface)
{
  /* The other callbacks stay the base class's, which run the
   * replay_*_sync methods in a worker thread. */
  iface->items_flags_changed = items_flags_changed;
}

/* Folder changes */

/* The server's name for a folder named @name under @parent_id. */
static char *
child_mailbox (CairnImapResource    *self,
               CairnImapConnection  *connection,
               guint64               parent_id,
               const char           *name,
               GError              **error)
{
  g_autofree char *encoded = NULL;
  g_autofree char *parent = NULL;

  if (name == NULL || *name == '\0' || strchr (name, REMOTE_SEPARATOR) != NULL ||
      (connection->delimiter != 0 && strchr (name, connection->delimiter) != NULL) ||
      !g_utf8_validate (name, -1, NULL))
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "“%s” cannot be an IMAP folder name: empty, or with a hierarchy "
                        "delimiter", name ? name : ""), NULL;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "A folder name cannot hold control characters"), NULL;
  encoded = cairn_mail_mutf7_encode (name);
  if (parent_id == 0)
    return g_strconcat (connection->prefix, encoded, NULL);
  parent = dup_mailbox (self, connection, parent_id, error);
  if (parent == NULL)
    return NULL;
  return g_strdup_printf ("%s%c%s", parent, connection->delimiter, encoded);
}

/* Whether the server's last answer carried response code @code (RFC
 * 5530), which libetpan keeps as an atom. */
static gboolean
answered_code (CairnImapConnection *connection,
               const char          *code)
{
  return connection->session->imap_response_info != NULL &&
         g_strcmp0 (connection->session->imap_response_info->rsp_atom, code) == 0;
}

static gboolean
mailbox_exists (CairnImapConnection  *connection,
                const char           *mailbox,
                gboolean             *exists,
                GError              **error)
{
  clist *result = NULL;
  int r = mailimap_list (connection->session, "", mailbox, &result);

  if (!cairn_imap_connection_check (connection, r, "look for", mailbox, error))
    return FALSE;
  *exists = result != NULL && clist_count (result) > 0;
  if (result != NULL)
    mailimap_list_result_free (result);
  return TRUE;
}

static gboolean
replay_collection_added_sync (CairnResource  *resource,
                              CairnChange    *change,
                              char          **remote_id,
                              GCancellable   *cancellable,
                              GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  CairnCollection *collection = cairn_change_get_collection (change);
  g_autofree char *mailbox = NULL;
  gboolean exists;
  int r;

  if (connection == NULL)
    return FALSE;
  mailbox = child_mailbox (self, connection, cairn_collection_get_parent_id (collection),
                           cairn_collection_get_name (collection), error);
  if (mailbox == NULL || !mailbox_exists (connection, mailbox, &exists, error))
    return FALSE;
  /* Made by an earlier attempt, or by another client: it is the one. */
  if (!exists)
    {
      r = mailimap_create (connection->session, mailbox);
      /* Dovecot's LIST may miss a mailbox that CREATE then finds (seen in
       * the replay test): the ALREADYEXISTS code (RFC 5530) says so. */
      if (r == MAILIMAP_ERROR_CREATE && answered_code (connection, "ALREADYEXISTS"))
        r = MAILIMAP_NO_ERROR;
      if (!cairn_imap_connection_check (connection, r, "create the folder", mailbox, error))
        return FALSE;
    }
  *remote_id = remote_id_of (connection->delimiter, mailbox);
  return TRUE;
}

static gboolean
replay_collection_changed_sync (CairnResource       *resource,
                                CairnChange         *change,
                                const char * const  *parts,
                                char               **remote_id,
                                GCancellable        *cancellable,
                                GError             **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  g_autoptr(GMutexLocker) locker = NULL;
  CairnImapConnection *connection;
  CairnCollection *collection = cairn_change_get_collection (change);
  const char *old_remote_id = cairn_collection_get_remote_id (collection);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *new_remote_id = NULL;
  gboolean from_exists, to_exists;
  int r;

  if (parts == NULL || !(g_strv_contains (parts, "NAME") || g_strv_contains (parts, "PARENT")))
    return TRUE;
  locker = g_mutex_locker_new (&self->lock);
  connection = acquire (self, error);
  if (connection == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (old_remote_id, INBOX) == 0)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The inbox cannot be renamed or moved"), FALSE;
  from = mailbox_of (connection, old_remote_id);
  to = child_mailbox (self, connection, cairn_collection_get_parent_id (collection),
                      cairn_collection_get_name (collection), error);
  if (to == NULL)
    return FALSE;
  if (g_str_equal (from, to))
    return TRUE;
  g_clear_pointer (&connection->selected, g_free);
  if (!mailbox_exists (connection, from, &from_exists, error) ||
      !mailbox_exists (connection, to, &to_exists, error))
    return FALSE;
  /* Renamed by an earlier attempt already. */
  if (from_exists || !to_exists)
    {
      r = mailimap_rename (connection->session, from, to);
      if (!cairn_imap_connection_check (connection, r, "rename the folder", from, error))
        return FALSE;
    }
  new_remote_id = remote_id_of (connection->delimiter, to);
  *remote_id = g_strdup (new_remote_id);
  return cairn_resource_relocate_collections (resource, old_remote_id, new_remote_id, error);
}

static int
compare_longest_first (gconstpointer a,
                       gconstpointer b)
{
  return (int) strlen (*(const char * const *) b) - (int) strlen (*(const char * const *) a);
}

static gboolean
replay_collection_removed_sync (CairnResource  *resource,
                                CairnChange    *change,
                                GCancellable   *cancellable,
                                GError        **error)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (resource);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  CairnImapConnection *connection = acquire (self, error);
  const char *remote_id = cairn_change_get_remote_id (change);
  g_autofree char *mailbox = NULL;
  g_autofree char *pattern = NULL;
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);
  clist *result = NULL;
  int r;

  if (connection == NULL)
    return FALSE;
  if (remote_id == NULL)
    return TRUE;
  mailbox = mailbox_of (connection, remote_id);
  g_clear_pointer (&connection->selected, g_free);
  /* The folder and the folders below it, the deepest first. */
  r = mailimap_list (connection->session, "", mailbox, &result);
  if (!cairn_imap_connection_check (connection, r, "look for", mailbox, error))
    return FALSE;
  if (result != NULL && clist_count (result) > 0)
    g_ptr_array_add (doomed, g_strdup (mailbox));
  if (result != NULL)
    mailimap_list_result_free (result);
  if (connection->delimiter != 0)
    {
      pattern = g_strdup_printf ("%s%c*", mailbox, connection->delimiter);
      r = mailimap_list (connection->session, "", pattern, &result);
      if (!cairn_imap_connection_check (connection, r, "look for", pattern, error))
        return FALSE;
      for (clistiter *cur = result ? clist_begin (result) : NULL; cur; cur = clist_next (cur))
        g_ptr_array_add (doomed, g_strdup (((struct mailimap_mailbox_list *)
                                            clist_content (cur))->mb_name));
      if (result != NULL)
        mailimap_list_result_free (result);
    }
  g_ptr_array_sort (doomed, compare_longest_first);
  for (guint i = 0; i < doomed->len; i++)
    {
      r = mailimap_delete (connection->session, g_ptr_array_index (doomed, i));
      /* Gone since LIST showed it, as Dovecot answered in replay seed
       * 411 (an earlier attempt's DELETE that a stop or kill cut short
       * may still have been running there): gone is what is wanted. */
      if (r == MAILIMAP_ERROR_DELETE && answered_code (connection, "NONEXISTENT"))
        r = MAILIMAP_NO_ERROR;
      if (!cairn_imap_connection_check (connection, r, "delete the folder",
                                        g_ptr_array_index (doomed, i), error))
        return FALSE;
    }
  return TRUE;
}

/* Push */

static void
mailbox_changed (GObject    *owner,
                 const char *mailbox,
                 guint32     uidvalidity,
                 guint64     highestmodseq)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (owner);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;

  remote_id = remote_id_of (g_atomic_int_get (&self->delimiter), mailbox);
  if (remote_id == NULL)
    return;
  collection = cairn_store_find_collection_by_remote_id (get_store (self), get_id (self),
                                                         remote_id, NULL);
  /* A watch that starts finds the folder as its last sync left it,
   * usually: then there is nothing to read. */
  if (collection == NULL ||
      (highestmodseq != 0 &&
       get_number_attribute (collection, ATTR_UIDVALIDITY) == uidvalidity &&
       get_number_attribute (collection, ATTR_HIGHESTMODSEQ) == highestmodseq))
    return;
  cairn_resource_synchronize_async (CAIRN_RESOURCE (self), cairn_collection_get_id (collection),
                                    NULL, NULL, NULL);
}

static void
stop_idle (CairnImapResource *self)
{
  g_hash_table_remove_all (self->idles);
}

static void
watch_folder (CairnImapResource       *self,
              const CairnImapSettings *settings,
              const char              *remote_id)
{
  g_autofree char *mailbox = g_strdup (remote_id);
  char delimiter = g_atomic_int_get (&self->delimiter);

  if (g_hash_table_contains (self->idles, remote_id) ||
      !g_hash_table_contains (self->synced, remote_id))
    return;
  if (delimiter != 0)
    g_strdelimit (mailbox, (char[]) { REMOTE_SEPARATOR, '\0' }, delimiter);
  g_hash_table_insert (self->idles, g_strdup (remote_id),
                       cairn_imap_idle_new (settings, mailbox, G_OBJECT (self), mailbox_changed));
}

/* Starts watching the inbox and the folders of idle-folders, each once
 * it was synced: a session in IDLE on a folder that another session is
 * reading for the first time makes Dovecot scan the folder again at each
 * change of its cache, which took half the speed of a first sync. The
 * watch's first look asks for a sync of its folder, which covers the
 * time before it. In the main thread, which never waits for the lock:
 * a task that holds it has not finished, and the next one that finishes
 * calls again. */
static void
start_idle (CairnImapResource *self)
{
  g_autoptr(CairnImapSettings) settings = NULL;
  g_auto(GStrv) folders = NULL;

  if (!cairn_agent_get_online (CAIRN_AGENT (self)) || !g_mutex_trylock (&self->lock))
    return;
  settings = self->password ? make_settings (self, NULL) : NULL;
  if (settings != NULL)
    {
      watch_folder (self, settings, INBOX);
      folders = g_strsplit (self->idle_folders ? self->idle_folders : "", ",", -1);
      for (guint i = 0; folders[i] != NULL; i++)
        {
          g_strstrip (folders[i]);
          if (*folders[i] != '\0' && g_ascii_strcasecmp (folders[i], INBOX) != 0)
            watch_folder (self, settings, folders[i]);
        }
    }
  g_mutex_unlock (&self->lock);
}

static void
task_finished (CairnImapResource  *self,
               CairnSchedulerTask *task)
{
  start_idle (self);
}

static void
online_changed (CairnImapResource *self)
{
  if (cairn_agent_get_online (CAIRN_AGENT (self)))
    {
      start_idle (self);
      return;
    }
  /* The task connection stays: no task runs offline, and one that broke
   * meanwhile is opened again when needed. */
  stop_idle (self);
}

static gboolean
cairn_imap_resource_setup (CairnAgent  *agent,
                           GError     **error)
{
  BodiesPolicy policy;
  guint64 days;
  CairnImapSecurity security;
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (agent);
  g_autofree char *name = NULL;

  g_mime_init ();
  if (!parse_security (self->security, &security, error))
    return FALSE;
  if (!parse_bodies_policy (self->bodies, &policy, &days))
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "bodies must be none, all or recent:DAYS, not “%s”", self->bodies),
           FALSE;
  name = g_strconcat (cairn_agent_get_id (agent), ".attempt", NULL);
  g_free (self->attempt_path);
  self->attempt_path = g_build_filename (g_get_user_data_dir (), "cairn", "imap", name, NULL);
  /* Flag deltas of many items arrive together, for one UID STORE each. */
  cairn_monitor_set_batch_flags (CAIRN_MONITOR (cairn_agent_get_recorder (agent)), TRUE);
  g_signal_connect_swapped (agent, "notify::online", G_CALLBACK (online_changed), agent);
  g_signal_connect_object (cairn_resource_get_scheduler (CAIRN_RESOURCE (agent)), "task-finished",
                           G_CALLBACK (task_finished), agent, G_CONNECT_SWAPPED);
  return TRUE;
}

static void
cairn_imap_resource_dispose (GObject *object)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (object);

  stop_idle (self);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->connection, cairn_imap_connection_free);
  g_mutex_unlock (&self->lock);
  G_OBJECT_CLASS (cairn_imap_resource_parent_class)->dispose (object);
}

static void
cairn_imap_resource_finalize (GObject *object)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (object);

  g_free (self->host);
  g_free (self->security);
  g_free (self->user);
  g_free (self->pinned_certificate);
  g_free (self->ca_file);
  g_free (self->bodies);
  g_free (self->idle_folders);
  g_free (self->attempt_path);
  g_hash_table_unref (self->idles);
  g_hash_table_unref (self->synced);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_mutex_clear (&self->lock);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (cairn_imap_resource_parent_class)->finalize (object);
}

static char **
string_field (CairnImapResource *self,
              guint              prop_id)
{
  switch (prop_id)
    {
    case PROP_HOST: return &self->host;
    case PROP_SECURITY: return &self->security;
    case PROP_USER: return &self->user;
    case PROP_PINNED_CERTIFICATE: return &self->pinned_certificate;
    case PROP_CA_FILE: return &self->ca_file;
    case PROP_BODIES: return &self->bodies;
    case PROP_IDLE_FOLDERS: return &self->idle_folders;
    default: return NULL;
    }
}

static void
cairn_imap_resource_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (object);
  char **field = string_field (self, prop_id);

  if (field != NULL)
    g_value_set_string (value, *field);
  else if (prop_id == PROP_PORT)
    g_value_set_uint (value, self->port);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cairn_imap_resource_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  CairnImapResource *self = CAIRN_IMAP_RESOURCE (object);
  char **field = string_field (self, prop_id);

  g_mutex_lock (&self->lock);
  if (field != NULL && g_strcmp0 (*field, g_value_get_string (value)) != 0)
    {
      g_free (*field);
      *field = g_value_dup_string (value);
      g_mutex_unlock (&self->lock);
      g_object_notify_by_pspec (object, pspec);
      return;
    }
  if (prop_id == PROP_PORT && self->port != g_value_get_uint (value))
    {
      self->port = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      g_object_notify_by_pspec (object, pspec);
      return;
    }
  g_mutex_unlock (&self->lock);
  if (field == NULL && prop_id != PROP_PORT)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static GParamSpec *
string_property (const char *name,
                 const char *default_value)
{
  return g_param_spec_string (name, NULL, NULL, default_value,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                              G_PARAM_STATIC_STRINGS);
}

static void
cairn_imap_resource_class_init (CairnImapResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->dispose = cairn_imap_resource_dispose;
  object_class->finalize = cairn_imap_resource_finalize;
  object_class->get_property = cairn_imap_resource_get_property;
  object_class->set_property = cairn_imap_resource_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_imap_resource_setup;
  resource_class->retrieve_collections_sync = retrieve_collections_sync;
  resource_class->retrieve_items_sync = retrieve_items_sync;
  resource_class->run_task_sync = run_task_sync;
  resource_class->retrieve_item_sync = retrieve_item_sync;
  resource_class->replay_item_added_sync = replay_item_added_sync;
  resource_class->replay_item_changed_sync = replay_item_changed_sync;
  resource_class->replay_item_moved_sync = replay_item_moved_sync;
  resource_class->replay_item_removed_sync = replay_item_removed_sync;
  resource_class->replay_collection_added_sync = replay_collection_added_sync;
  resource_class->replay_collection_changed_sync = replay_collection_changed_sync;
  resource_class->replay_collection_removed_sync = replay_collection_removed_sync;

  /* The configuration keys; docs/imap.md describes them. */
  properties[PROP_HOST] = string_property ("host", NULL);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECURITY] = string_property ("security", "tls");
  properties[PROP_USER] = string_property ("user", NULL);
  properties[PROP_PINNED_CERTIFICATE] = string_property ("pinned-certificate", NULL);
  properties[PROP_CA_FILE] = string_property ("ca-file", NULL);
  properties[PROP_BODIES] = string_property ("bodies", "none");
  properties[PROP_IDLE_FOLDERS] = string_property ("idle-folders", NULL);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_imap_resource_init (CairnImapResource *self)
{
  g_mutex_init (&self->lock);
  self->synced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->idles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) cairn_imap_idle_free);
  self->context = g_main_context_ref_thread_default ();
  self->security = g_strdup ("tls");
  self->bodies = g_strdup ("none");
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_IMAP_RESOURCE);
