/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-search-thread.h"

struct _CairnSearchThread
{
  gatomicrefcount ref_count;
  guint64 id;
  char *subject;
  char *authors;
  gint64 newest_date;
  guint n_messages;
  guint n_matched;
  guint n_unread;
};

G_DEFINE_BOXED_TYPE (CairnSearchThread, cairn_search_thread, cairn_search_thread_ref,
                     cairn_search_thread_unref)

/**
 * cairn_search_thread_new:
 * @id: the thread id, as `thread:` names it
 * @subject: the subject of its oldest message
 * @authors: the senders of its messages, separated by commas
 * @newest_date: the date of its newest message, in seconds since the epoch
 * @n_messages: how many messages it has
 * @n_matched: how many of them the search matched
 * @n_unread: how many of them are not seen
 *
 * Creates a thread summary, as cairn_search_run_threads_sync() returns.
 *
 * Returns: (transfer full): a new #CairnSearchThread
 *
 * Since: 0.1
 */
CairnSearchThread *
cairn_search_thread_new (guint64     id,
                         const char *subject,
                         const char *authors,
                         gint64      newest_date,
                         guint       n_messages,
                         guint       n_matched,
                         guint       n_unread)
{
  CairnSearchThread *thread = g_new0 (CairnSearchThread, 1);

  g_atomic_ref_count_init (&thread->ref_count);
  thread->id = id;
  thread->subject = g_strdup (subject ? subject : "");
  thread->authors = g_strdup (authors ? authors : "");
  thread->newest_date = newest_date;
  thread->n_messages = n_messages;
  thread->n_matched = n_matched;
  thread->n_unread = n_unread;
  return thread;
}

/**
 * cairn_search_thread_ref:
 * @thread: a #CairnSearchThread
 *
 * Takes a reference on @thread.
 *
 * Returns: (transfer full): @thread
 *
 * Since: 0.1
 */
CairnSearchThread *
cairn_search_thread_ref (CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, NULL);

  g_atomic_ref_count_inc (&thread->ref_count);
  return thread;
}

/**
 * cairn_search_thread_unref:
 * @thread: (transfer full): a #CairnSearchThread
 *
 * Drops a reference to @thread.
 *
 * Since: 0.1
 */
void
cairn_search_thread_unref (CairnSearchThread *thread)
{
  g_return_if_fail (thread != NULL);

  if (!g_atomic_ref_count_dec (&thread->ref_count))
    return;
  g_free (thread->subject);
  g_free (thread->authors);
  g_free (thread);
}

/**
 * cairn_search_thread_get_id:
 * @thread: a #CairnSearchThread
 *
 * Gets the thread id, which `thread:ID` in a query names.
 *
 * Returns: the thread id
 *
 * Since: 0.1
 */
guint64
cairn_search_thread_get_id (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, 0);

  return thread->id;
}

/**
 * cairn_search_thread_get_subject:
 * @thread: a #CairnSearchThread
 *
 * Gets the subject of the thread's oldest message.
 *
 * Returns: the subject, empty if it has none
 *
 * Since: 0.1
 */
const char *
cairn_search_thread_get_subject (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, NULL);

  return thread->subject;
}

/**
 * cairn_search_thread_get_authors:
 * @thread: a #CairnSearchThread
 *
 * Gets the senders of the thread's messages, each once, separated by
 * commas.
 *
 * Returns: the authors
 *
 * Since: 0.1
 */
const char *
cairn_search_thread_get_authors (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, NULL);

  return thread->authors;
}

/**
 * cairn_search_thread_get_newest_date:
 * @thread: a #CairnSearchThread
 *
 * Gets the date of the thread's newest message.
 *
 * Returns: seconds since the epoch, 0 if no message has a date
 *
 * Since: 0.1
 */
gint64
cairn_search_thread_get_newest_date (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, 0);

  return thread->newest_date;
}

/**
 * cairn_search_thread_get_n_messages:
 * @thread: a #CairnSearchThread
 *
 * Gets how many messages the thread has, matched or not.
 *
 * Returns: the number of messages
 *
 * Since: 0.1
 */
guint
cairn_search_thread_get_n_messages (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, 0);

  return thread->n_messages;
}

/**
 * cairn_search_thread_get_n_matched:
 * @thread: a #CairnSearchThread
 *
 * Gets how many of the thread's messages the search matched.
 *
 * Returns: the number of matched messages, at least 1
 *
 * Since: 0.1
 */
guint
cairn_search_thread_get_n_matched (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, 0);

  return thread->n_matched;
}

/**
 * cairn_search_thread_get_n_unread:
 * @thread: a #CairnSearchThread
 *
 * Gets how many of the thread's messages have no `\Seen` flag.
 *
 * Returns: the number of unread messages
 *
 * Since: 0.1
 */
guint
cairn_search_thread_get_n_unread (const CairnSearchThread *thread)
{
  g_return_val_if_fail (thread != NULL, 0);

  return thread->n_unread;
}
