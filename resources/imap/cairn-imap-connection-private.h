/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libetpan/libetpan.h>
#include <cairn/cairn.h>

G_BEGIN_DECLS

typedef enum
{
  CAIRN_IMAP_SECURITY_TLS,
  CAIRN_IMAP_SECURITY_STARTTLS,
  CAIRN_IMAP_SECURITY_NONE,
} CairnImapSecurity;

/* What a connection needs; copied by the resource for each worker. */
typedef struct
{
  char *host;
  guint16 port;
  CairnImapSecurity security;
  char *user;
  char *password;
  char *pinned_sha256;  /* hex, colons allowed; NULL for none */
  char *ca_file;        /* NULL: the system trust store */
} CairnImapSettings;

CairnImapSettings *cairn_imap_settings_copy (const CairnImapSettings *settings);
void               cairn_imap_settings_free (CairnImapSettings       *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnImapSettings, cairn_imap_settings_free)

/* One logged-in IMAP session, used by one thread at a time. */
typedef struct
{
  mailimap *session;
  char delimiter;        /* of the personal namespace; 0 if flat */
  char *prefix;          /* of the personal namespace, "" if none */
  char *selected;        /* the mailbox selected, or NULL */
  guint32 uidvalidity;
  guint32 uidnext;
  guint32 exists;
  guint64 highestmodseq;
  gboolean condstore;
  gboolean qresync;
  gboolean uidplus;
  gboolean move;
  gboolean broken;       /* the stream failed: open a new connection */
  GPtrArray *drivers;    /* the stream drivers wrapped, freed last */
} CairnImapConnection;

CairnImapConnection *cairn_imap_connection_open    (const CairnImapSettings  *settings,
                                                    GError                  **error);
void                 cairn_imap_connection_free    (CairnImapConnection      *connection);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnImapConnection, cairn_imap_connection_free)

gboolean             cairn_imap_connection_check   (CairnImapConnection      *connection,
                                                    int                       result,
                                                    const char               *what,
                                                    const char               *mailbox,
                                                    GError                  **error);
gboolean             cairn_imap_connection_select  (CairnImapConnection      *connection,
                                                    const char               *mailbox,
                                                    GError                  **error);

char                *cairn_imap_fingerprint        (const guint8             *der,
                                                    gsize                     length);
gboolean             cairn_imap_fingerprint_equal  (const char               *pinned,
                                                    const char               *fingerprint);
gboolean             cairn_imap_host_is_loopback   (const char               *host);

/* Sorted UIDs as an IMAP set of ranges: 1:500,700. */
struct mailimap_set *cairn_imap_uid_set_new        (GArray                   *uids);
char                *cairn_imap_uid_set_to_string  (struct mailimap_set      *set);
GArray              *cairn_imap_uid_set_expand     (struct mailimap_set      *set,
                                                    guint                     limit);

struct mailimap_flag_list *cairn_imap_flag_list_new (const CairnFlags        *flags);
CairnFlags          *cairn_imap_flags_from_fetch   (struct mailimap_msg_att_dynamic *dynamic);
gint64               cairn_imap_date_time_to_unix  (const struct mailimap_date_time *date);

G_END_DECLS
