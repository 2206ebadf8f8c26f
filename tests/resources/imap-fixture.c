/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* accept4() */
#define _GNU_SOURCE
#include <grp.h>
#include <poll.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "imap-fixture.h"

/* Dovecot's mail user must own the mail, and refuses root: as root, the
 * whole program runs as nobody. */
void
imap_fixture_drop_root (void)
{
  struct passwd *nobody;

  if (getuid () != 0)
    return;
  nobody = getpwnam ("nobody");
  g_assert (nobody != NULL);
  g_assert (setgroups (0, NULL) == 0 && setgid (nobody->pw_gid) == 0 &&
            setuid (nobody->pw_uid) == 0);
  g_setenv ("HOME", "/tmp", TRUE);
  g_setenv ("USER", "nobody", TRUE);
}

guint16
imap_fixture_free_port (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert (bind (fd, (struct sockaddr *) &address, sizeof address) == 0);
  g_assert (getsockname (fd, (struct sockaddr *) &address, &length) == 0);
  close (fd);
  return ntohs (address.sin_port);
}

gboolean
imap_fixture_port_open (guint16 port)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  gboolean open;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  open = connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
  close (fd);
  return open;
}

static char *
run (const char * const *argv)
{
  g_autofree char *out = NULL;
  g_autofree char *errors = NULL;
  GError *error = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errors,
                     &status, &error))
    g_error ("Cannot run %s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s failed: %s", argv[0], argv[1], errors);
  return g_steal_pointer (&out);
}

static void
make_certificate (ImapFixture *fixture)
{
  const char *argv[] = {
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-keyout", fixture->key_path, "-out", fixture->cert_path, "-days", "2",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", NULL
  };

  g_free (run (argv));
}

ImapFixture *
imap_fixture_new (const char *dir)
{
  ImapFixture *fixture = g_new0 (ImapFixture, 1);

  fixture->dir = g_build_filename (dir, "dovecot", NULL);
  fixture->root = g_build_filename (dir, "Maildir", NULL);
  fixture->cert_path = g_build_filename (fixture->dir, "cert.pem", NULL);
  fixture->key_path = g_build_filename (fixture->dir, "key.pem", NULL);
  fixture->rawlog = g_build_filename (fixture->dir, "rawlog", NULL);
  fixture->config_path = g_build_filename (fixture->dir, "dovecot.conf", NULL);
  g_assert (g_mkdir_with_parents (fixture->rawlog, 0700) == 0);
  g_assert (g_mkdir_with_parents (fixture->root, 0700) == 0);
  fixture->plain_port = imap_fixture_free_port ();
  do
    fixture->tls_port = imap_fixture_free_port ();
  while (fixture->tls_port == fixture->plain_port);
  fixture->maildir = cairn_test_maildir_new (fixture->root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  make_certificate (fixture);
  return fixture;
}

void
imap_fixture_stop (ImapFixture *fixture)
{
  if (fixture->pid <= 0)
    return;
  kill (fixture->pid, SIGTERM);
  waitpid (fixture->pid, NULL, 0);
  fixture->pid = 0;
}

void
imap_fixture_free (ImapFixture *fixture)
{
  imap_fixture_stop (fixture);
  g_clear_object (&fixture->maildir);
  g_free (fixture->dir);
  g_free (fixture->root);
  g_free (fixture->cert_path);
  g_free (fixture->key_path);
  g_free (fixture->rawlog);
  g_free (fixture->config_path);
  g_free (fixture);
}

void
imap_fixture_generate (ImapFixture *fixture,
                       const char  *folder,
                       guint        n_messages,
                       guint32      seed)
{
  GError *error = NULL;

  if (!cairn_test_maildir_generate (fixture->maildir, folder, n_messages, seed, &error))
    g_error ("Cannot generate %s: %s", folder, error->message);
}

void
imap_fixture_start (ImapFixture *fixture)
{
  g_autofree char *config = NULL;
  g_autofree char *user = g_strdup (g_get_user_name ());
  g_autofree char *group = g_strdup (getgrgid (getgid ())->gr_name);
  const char *argv[] = { "dovecot", "-F", "-c", fixture->config_path, NULL };
  GError *error = NULL;

  config = g_strdup_printf (
    "protocols = imap\n"
    "base_dir = %1$s/run\n"
    "state_dir = %1$s/state\n"
    "log_path = %1$s/dovecot.log\n"
    "listen = 127.0.0.1\n"
    "ssl = yes\n"
    "ssl_cert = <%8$s\n"
    "ssl_key = <%9$s\n"
    "disable_plaintext_auth = no\n"
    "auth_mechanisms = plain login\n"
    "default_internal_user = %2$s\n"
    "default_internal_group = %3$s\n"
    "default_login_user = %2$s\n"
    "mail_uid = %2$s\n"
    "mail_gid = %3$s\n"
    "first_valid_uid = %4$u\n"
    "last_valid_uid = %4$u\n"
    "mail_location = maildir:%5$s\n"
    "rawlog_dir = %1$s/rawlog\n"
    "namespace inbox {\n  inbox = yes\n  separator = .\n"
    "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
    "  mailbox Drafts {\n    special_use = \\Drafts\n  }\n"
    "  mailbox Trash {\n    special_use = \\Trash\n  }\n"
    "  mailbox Junk {\n    special_use = \\Junk\n  }\n"
    "  mailbox Archive {\n    special_use = \\Archive\n  }\n}\n"
    "passdb {\n  driver = static\n  args = password=secret\n}\n"
    "userdb {\n  driver = static\n  args = uid=%4$u gid=%6$u home=%1$s/home allow_all_users=yes\n}\n"
    "service imap-login {\n  chroot =\n"
    "  inet_listener imap {\n    port = %7$u\n  }\n"
    "  inet_listener imaps {\n    port = %10$u\n    ssl = yes\n  }\n}\n"
    "service anvil {\n  chroot =\n}\n"
    "%11$s%12$s%13$s",
    fixture->dir, user, group, (guint) getuid (), fixture->root, (guint) getgid (),
    (guint) fixture->plain_port, fixture->cert_path, fixture->key_path,
    (guint) fixture->tls_port, fixture->capability ? "imap_capability = " : "",
    fixture->capability ? fixture->capability : "", fixture->capability ? "\n" : "");
  g_assert (g_file_set_contents (fixture->config_path, config, -1, NULL));
  if (!g_spawn_async (NULL, (char **) argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                      &fixture->pid, &error))
    g_error ("Cannot start Dovecot: %s", error->message);
  for (guint i = 0; i < 500 && !(imap_fixture_port_open (fixture->plain_port) &&
                                 imap_fixture_port_open (fixture->tls_port)); i++)
    g_usleep (20 * G_TIME_SPAN_MILLISECOND);
  if (!imap_fixture_port_open (fixture->plain_port) || !imap_fixture_port_open (fixture->tls_port))
    g_error ("Dovecot does not listen on %u and %u", fixture->plain_port, fixture->tls_port);
}

char *
imap_fixture_run_client (ImapFixture *fixture,
                         const char  *command,
                         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, g_strdup ("/usr/bin/python3"));
  g_ptr_array_add (argv, g_strdup (OTHER_CLIENT));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup_printf ("%u", fixture->plain_port));
  va_start (args, command);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run ((const char * const *) argv->pdata);
}

/* Dovecot says BYE to every session and closes it. */
void
imap_fixture_kick (ImapFixture *fixture)
{
  const char *argv[] = { "doveadm", "-c", fixture->config_path, "kick", "user", NULL };

  g_free (run (argv));
}

char *
imap_fixture_dump (ImapFixture *fixture)
{
  return imap_fixture_run_client (fixture, "dump", NULL);
}

/* Lines that hold @needle in the commands of every session so far. */
guint
imap_fixture_count_commands (ImapFixture *fixture,
                             const char  *needle)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->rawlog, 0, NULL);
  const char *name;
  guint count = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->rawlog, name, NULL);
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_str_has_suffix (name, ".in") || !g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (*lines[i] != '\0' && strstr (lines[i], needle) != NULL)
          count++;
    }
  return count;
}

/* The SHA-256 fingerprint of the server's certificate, as openssl
 * prints it: AB:CD:... */
char *
imap_fixture_fingerprint (ImapFixture *fixture)
{
  const char *argv[] = { "openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                         fixture->cert_path, NULL };
  g_autofree char *out = run (argv);
  const char *equals = strchr (out, '=');

  g_assert (equals != NULL);
  return g_strstrip (g_strdup (equals + 1));
}

int
imap_fixture_compare_strings (gconstpointer a,
                              gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

struct _ImapProxy
{
  guint16 target_port;
  guint16 port;
  int listen_fd;
  int wakeup[2];
  GThread *thread;
  GMutex lock;
  GRand *rng;
  GPtrArray *links;     /* GThread of each connection */
  gint cutting;
  gint cuts;
  gint stopping;
};

typedef struct
{
  ImapProxy *proxy;
  int client;
  int server;
  gint64 budget;        /* bytes before the cut; < 0 without a cut */
} Link;

static int
connect_loopback (guint16 port)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         length)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n <= 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return TRUE;
}

static gpointer
link_thread (gpointer data)
{
  Link *link = data;
  guint8 buffer[16384];

  for (;;)
    {
      struct pollfd fds[3] = {
        { .fd = link->client, .events = POLLIN },
        { .fd = link->server, .events = POLLIN },
        { .fd = link->proxy->wakeup[0], .events = POLLIN },
      };

      if (poll (fds, 3, -1) < 0 || fds[2].revents != 0)
        break;
      for (guint i = 0; i < 2; i++)
        {
          ssize_t n;

          if (fds[i].revents == 0)
            continue;
          n = read (fds[i].fd, buffer, sizeof buffer);
          if (n <= 0)
            goto done;
          if (link->budget >= 0 && g_atomic_int_get (&link->proxy->cutting) &&
              n >= link->budget)
            {
              write_all (i == 0 ? link->server : link->client, buffer, link->budget);
              g_atomic_int_inc (&link->proxy->cuts);
              goto done;
            }
          if (link->budget >= 0)
            link->budget -= n;
          if (!write_all (i == 0 ? link->server : link->client, buffer, n))
            goto done;
        }
    }
done:
  close (link->client);
  close (link->server);
  g_free (link);
  return NULL;
}

static gpointer
accept_thread (gpointer data)
{
  ImapProxy *proxy = data;

  for (;;)
    {
      struct pollfd fds[2] = {
        { .fd = proxy->listen_fd, .events = POLLIN },
        { .fd = proxy->wakeup[0], .events = POLLIN },
      };
      Link *link;
      int client;

      if (poll (fds, 2, -1) < 0 || fds[1].revents != 0)
        break;
      client = accept4 (proxy->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (client < 0)
        continue;
      link = g_new0 (Link, 1);
      link->proxy = proxy;
      link->client = client;
      link->server = connect_loopback (proxy->target_port);
      if (link->server < 0)
        {
          close (client);
          g_free (link);
          continue;
        }
      g_mutex_lock (&proxy->lock);
      link->budget = g_rand_int_range (proxy->rng, 1, 100000);
      g_ptr_array_add (proxy->links, g_thread_new ("imap-proxy-link", link_thread, link));
      g_mutex_unlock (&proxy->lock);
    }
  return NULL;
}

ImapProxy *
imap_proxy_new (guint16 target_port,
                guint32 seed)
{
  ImapProxy *proxy = g_new0 (ImapProxy, 1);
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;

  proxy->target_port = target_port;
  proxy->rng = g_rand_new_with_seed (seed);
  proxy->links = g_ptr_array_new ();
  g_mutex_init (&proxy->lock);
  g_assert (g_unix_open_pipe (proxy->wakeup, FD_CLOEXEC, NULL));
  proxy->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert (bind (proxy->listen_fd, (struct sockaddr *) &address, sizeof address) == 0);
  g_assert (listen (proxy->listen_fd, 16) == 0);
  g_assert (getsockname (proxy->listen_fd, (struct sockaddr *) &address, &length) == 0);
  proxy->port = ntohs (address.sin_port);
  proxy->thread = g_thread_new ("imap-proxy", accept_thread, proxy);
  return proxy;
}

void
imap_proxy_free (ImapProxy *proxy)
{
  g_assert (write (proxy->wakeup[1], "x", 1) == 1);
  g_thread_join (proxy->thread);
  for (guint i = 0; i < proxy->links->len; i++)
    g_thread_join (g_ptr_array_index (proxy->links, i));
  g_ptr_array_unref (proxy->links);
  close (proxy->listen_fd);
  close (proxy->wakeup[0]);
  close (proxy->wakeup[1]);
  g_rand_free (proxy->rng);
  g_mutex_clear (&proxy->lock);
  g_free (proxy);
}

guint16
imap_proxy_get_port (ImapProxy *proxy)
{
  return proxy->port;
}

void
imap_proxy_set_cutting (ImapProxy *proxy,
                        gboolean   cutting)
{
  g_atomic_int_set (&proxy->cutting, cutting);
}

guint
imap_proxy_get_cuts (ImapProxy *proxy)
{
  return g_atomic_int_get (&proxy->cuts);
}
