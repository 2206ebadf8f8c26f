/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn-test/cairn-test.h>

G_BEGIN_DECLS

/* A private Dovecot on loopback for the IMAP resource's tests and
 * benchmark: a plain port for other clients and a TLS one with a
 * certificate made for 127.0.0.1, mail in a Maildir++ tree filled before
 * it starts, and a rawlog of every session's commands. */
typedef struct
{
  char *dir;
  char *root;            /* the maildir */
  char *cert_path;
  char *key_path;
  char *rawlog;
  char *config_path;
  guint16 plain_port;
  guint16 tls_port;
  GPid pid;
  CairnTestMaildir *maildir;
  const char *capability;  /* what Dovecot says it offers, or NULL for all */
} ImapFixture;

void         imap_fixture_drop_root       (void);
guint16      imap_fixture_free_port       (void);
gboolean     imap_fixture_port_open       (guint16       port);
ImapFixture *imap_fixture_new             (const char   *dir);
void         imap_fixture_free            (ImapFixture  *fixture);
void         imap_fixture_generate        (ImapFixture  *fixture,
                                           const char   *folder,
                                           guint         n_messages,
                                           guint32       seed);
void         imap_fixture_start           (ImapFixture  *fixture);
void         imap_fixture_stop            (ImapFixture  *fixture);
char        *imap_fixture_run_client      (ImapFixture  *fixture,
                                           const char   *command,
                                           ...) G_GNUC_NULL_TERMINATED;
char        *imap_fixture_dump            (ImapFixture  *fixture);
void         imap_fixture_kick            (ImapFixture  *fixture);
guint        imap_fixture_count_commands  (ImapFixture  *fixture,
                                           const char   *needle);
char        *imap_fixture_fingerprint     (ImapFixture  *fixture);
int          imap_fixture_compare_strings (gconstpointer a,
                                           gconstpointer b);

G_END_DECLS

G_BEGIN_DECLS

/* A TCP proxy on loopback in front of a port, which, while cutting, closes
 * each connection after a random number of bytes (either way), in the
 * middle of a command or an answer. */
typedef struct _ImapProxy ImapProxy;

ImapProxy   *imap_proxy_new               (guint16       target_port,
                                           guint32       seed);
void         imap_proxy_free              (ImapProxy    *proxy);
guint16      imap_proxy_get_port          (ImapProxy    *proxy);
void         imap_proxy_set_cutting       (ImapProxy    *proxy,
                                           gboolean      cutting);
guint        imap_proxy_get_cuts          (ImapProxy    *proxy);

G_END_DECLS
