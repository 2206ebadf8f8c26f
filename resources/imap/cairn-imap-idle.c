/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Push: a thread with a connection of its own that sits in IDLE
 * (RFC 2177) on one mailbox, and asks for a sync of it whenever the
 * server says anything. A dropped connection is opened again with a
 * growing delay (1 s doubling to 60 s), and the mailbox synced once it
 * is, since mail may have come meanwhile. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <glib-unix.h>

#include "cairn-imap-idle-private.h"

/* RFC 2177: servers may drop a client idle for 30 minutes. */
#define IDLE_RENEW_MS (25 * 60 * 1000)
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

struct _CairnImapIdle
{
  CairnImapSettings *settings;
  char *mailbox;
  GWeakRef owner;
  CairnImapIdleFunc func;
  GMainContext *context;
  GThread *thread;
  int wakeup[2];
  gint stopping;
};

typedef struct
{
  GObject *owner;
  CairnImapIdleFunc func;
  char *mailbox;
  guint32 uidvalidity;
  guint64 highestmodseq;
} Notice;

static gboolean
deliver_notice (gpointer data)
{
  Notice *notice = data;

  notice->func (notice->owner, notice->mailbox, notice->uidvalidity, notice->highestmodseq);
  return G_SOURCE_REMOVE;
}

static void
notice_free (gpointer data)
{
  Notice *notice = data;

  g_object_unref (notice->owner);
  g_free (notice->mailbox);
  g_free (notice);
}

/* @uidvalidity and @highestmodseq: the mailbox's state as SELECT gave
 * it, or 0 when what changed is not known. */
static void
notify (CairnImapIdle *idle,
        guint32        uidvalidity,
        guint64        highestmodseq)
{
  GObject *owner = g_weak_ref_get (&idle->owner);
  Notice *notice;

  if (owner == NULL)
    return;
  notice = g_new0 (Notice, 1);
  notice->owner = owner;
  notice->func = idle->func;
  notice->mailbox = g_strdup (idle->mailbox);
  notice->uidvalidity = uidvalidity;
  notice->highestmodseq = highestmodseq;
  g_main_context_invoke_full (idle->context, G_PRIORITY_DEFAULT, deliver_notice, notice,
                              notice_free);
}

/* Waits for the server or for a stop; FALSE once stopped. */
static gboolean
wait_readable (CairnImapIdle *idle,
               int            fd,
               int            timeout_ms,
               gboolean      *readable)
{
  struct pollfd fds[2] = {
    { .fd = idle->wakeup[0], .events = POLLIN },
    { .fd = fd, .events = POLLIN },
  };
  int n;

  do
    n = poll (fds, fd >= 0 ? 2 : 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  *readable = n > 0 && fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  return !g_atomic_int_get (&idle->stopping);
}

/* One connection's life: FALSE once stopped, TRUE when it broke. */
static gboolean
watch (CairnImapIdle *idle,
       guint         *backoff_ms)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnImapConnection) connection = cairn_imap_connection_open (idle->settings, &error);
  gboolean readable;

  if (connection == NULL || !cairn_imap_connection_select (connection, idle->mailbox, &error))
    {
      g_message ("Cannot watch %s for new mail: %s", idle->mailbox, error->message);
      return TRUE;
    }
  if (!mailimap_has_idle (connection->session))
    {
      g_message ("%s cannot push new mail (no IDLE): it is read at each sync",
                 idle->settings->host);
      *backoff_ms = BACKOFF_MAX_MS;
      return TRUE;
    }
  *backoff_ms = BACKOFF_MIN_MS;
  notify (idle, connection->uidvalidity, connection->condstore ? connection->highestmodseq : 0);
  for (;;)
    {
      int r = mailimap_idle (connection->session);

      if (!cairn_imap_connection_check (connection, r, "wait for new mail in", idle->mailbox,
                                        &error))
        break;
      /* libetpan may have read the server's first words already. */
      readable = connection->session->imap_stream->read_buffer_len > 0;
      if (!readable && !wait_readable (idle, mailimap_idle_get_fd (connection->session),
                                       IDLE_RENEW_MS, &readable))
        {
          mailimap_idle_done (connection->session);
          return FALSE;
        }
      /* The sync may start before the server has answered DONE. */
      if (readable)
        notify (idle, 0, 0);
      r = mailimap_idle_done (connection->session);
      if (!cairn_imap_connection_check (connection, r, "wait for new mail in", idle->mailbox,
                                        &error))
        break;
    }
  g_message ("Stopped watching %s: %s", idle->mailbox, error->message);
  return TRUE;
}

static gpointer
idle_thread (gpointer data)
{
  CairnImapIdle *idle = data;
  guint backoff_ms = BACKOFF_MIN_MS;
  gboolean readable;

  while (watch (idle, &backoff_ms))
    {
      if (!wait_readable (idle, -1, backoff_ms, &readable))
        break;
      backoff_ms = MIN (backoff_ms * 2, BACKOFF_MAX_MS);
    }
  return NULL;
}

CairnImapIdle *
cairn_imap_idle_new (const CairnImapSettings *settings,
                     const char              *mailbox,
                     GObject                 *owner,
                     CairnImapIdleFunc        func)
{
  CairnImapIdle *idle = g_new0 (CairnImapIdle, 1);

  idle->settings = cairn_imap_settings_copy (settings);
  idle->mailbox = g_strdup (mailbox);
  g_weak_ref_init (&idle->owner, owner);
  idle->func = func;
  idle->context = g_main_context_ref_thread_default ();
  if (!g_unix_open_pipe (idle->wakeup, FD_CLOEXEC, NULL))
    g_error ("Cannot make a pipe: %s", g_strerror (errno));
  idle->thread = g_thread_new ("cairn-imap-idle", idle_thread, idle);
  return idle;
}

void
cairn_imap_idle_free (CairnImapIdle *idle)
{
  if (idle == NULL)
    return;
  g_atomic_int_set (&idle->stopping, TRUE);
  while (write (idle->wakeup[1], "x", 1) < 0 && errno == EINTR)
    ;
  g_thread_join (idle->thread);
  close (idle->wakeup[0]);
  close (idle->wakeup[1]);
  cairn_imap_settings_free (idle->settings);
  g_free (idle->mailbox);
  g_weak_ref_clear (&idle->owner);
  g_main_context_unref (idle->context);
  g_free (idle);
}
