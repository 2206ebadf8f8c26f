/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail filter: runs a Sieve script on new mail in the collections it
 * is configured for, through its own change recorder.
 *
 *   [Agent]
 *   Type=mailfilter
 *   script=/home/ada/.config/cairn/filter.sieve
 *   collections=INBOX;
 *
 * Each batch of new mail is read and filtered in a worker thread, and the
 * moves, flag changes, copies and removals the script asks for are one
 * store transaction, which the owning resources replay like any other
 * client's changes. Only then is the batch marked processed. A filter
 * killed between the two finds the batch again on restart; the messages
 * it had filed are no longer as they were when they arrived (their
 * revision moved on), and messages changed since they arrived are left as
 * they are, so none is filtered twice. Mail that arrives read is not new
 * mail, and is left as it is too. */
#include <string.h>

#include <cairn/cairn.h>

#include "cairn-sieve-script-private.h"

#define CAIRN_TYPE_MAILFILTER_AGENT (cairn_mailfilter_agent_get_type ())
G_DECLARE_FINAL_TYPE (CairnMailfilterAgent, cairn_mailfilter_agent, CAIRN, MAILFILTER_AGENT,
                      CairnAgent)

#define MAIL_TYPE "message/rfc822"
#define INBOX "INBOX"
#define MAX_ATTEMPTS 3

struct _CairnMailfilterAgent
{
  CairnAgent parent_instance;

  char *script_path;
  GStrv collections;
  CairnSieveScript *script;  /* NULL: every message is kept as it is */
  guint64 filtered;
};

enum {
  PROP_0,
  PROP_SCRIPT,
  PROP_COLLECTIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_mailfilter_agent_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnMailfilterAgent, cairn_mailfilter_agent, CAIRN_TYPE_AGENT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_mailfilter_agent_observer_init))

/* A script with an error leaves the agent running without a script: mail
 * stays where it arrived rather than meet half a filter. */
static void
load_script (CairnMailfilterAgent *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->script);
  if (self->script_path == NULL || *self->script_path == '\0')
    {
      cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_NOT_CONFIGURED,
                              "No script: set the key script to a Sieve file");
      return;
    }
  self->script = cairn_sieve_script_new_from_file (self->script_path, &error);
  if (self->script == NULL)
    {
      cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_BROKEN, error->message);
      return;
    }
  cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_IDLE, "Ready");
}

/* A key of the tables by id. */
static gpointer
id_key (guint64 id)
{
  return g_memdup2 (&id, sizeof id);
}

/* The collections a resource has, by id, with their paths ("Lists/GNOME")
 * for fileinto. */
typedef struct
{
  GHashTable *by_id;    /* guint64 * -> CairnCollection */
  GHashTable *by_path;  /* path -> CairnCollection */
  CairnCollection *inbox;
} Folders;

static void
folders_free (Folders *folders)
{
  g_hash_table_unref (folders->by_id);
  g_hash_table_unref (folders->by_path);
  g_clear_object (&folders->inbox);
  g_free (folders);
}

static char *
folder_path (Folders         *folders,
             CairnCollection *collection,
             guint            depth)
{
  guint64 parent_id = cairn_collection_get_parent_id (collection);
  CairnCollection *parent = g_hash_table_lookup (folders->by_id, &parent_id);
  g_autofree char *parent_path = NULL;

  /* The depth stops at a loop of parents, which a damaged store has. */
  if (parent == NULL || depth > CAIRN_SIEVE_MAX_DEPTH)
    return g_strdup (cairn_collection_get_name (collection));
  parent_path = folder_path (folders, parent, depth + 1);
  return g_strconcat (parent_path, "/", cairn_collection_get_name (collection), NULL);
}

static gboolean
is_inbox (CairnCollection *collection)
{
  GBytes *role = cairn_collection_get_attribute (collection, "role");

  if (g_ascii_strcasecmp (cairn_collection_get_name (collection), INBOX) == 0)
    return TRUE;
  return role != NULL && g_bytes_get_size (role) == 5 &&
         g_ascii_strncasecmp (g_bytes_get_data (role, NULL), "inbox", 5) == 0;
}

static Folders *
load_folders (CairnStore  *store,
              const char  *resource,
              GError     **error)
{
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (store, resource, error);
  Folders *folders;

  if (collections == NULL)
    return NULL;
  folders = g_new0 (Folders, 1);
  folders->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  folders->by_path = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);

      g_hash_table_insert (folders->by_id, id_key (cairn_collection_get_id (collection)),
                           g_object_ref (collection));
      if (folders->inbox == NULL && is_inbox (collection))
        folders->inbox = g_object_ref (collection);
    }
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);

      g_hash_table_insert (folders->by_path, folder_path (folders, collection, 0),
                           g_object_ref (collection));
    }
  return folders;
}

/* Whether new mail in @collection is filtered: the configured collections
 * by name or path, else the inbox. */
static gboolean
is_filtered (const char * const *configured,
             Folders            *folders,
             CairnCollection    *collection)
{
  g_autofree char *path = NULL;

  if (configured == NULL || configured[0] == NULL)
    return is_inbox (collection);
  path = folder_path (folders, collection, 0);
  for (guint i = 0; configured[i] != NULL; i++)
    if (g_str_equal (configured[i], path) ||
        g_str_equal (configured[i], cairn_collection_get_name (collection)))
      return TRUE;
  return FALSE;
}

/* One message to filter: its id, collection and revision when it was
 * added, and later what the script made of it. */
typedef struct
{
  guint64 id;
  guint64 collection_id;
  guint64 revision;
  CairnItem *item;             /* as it is now */
  CairnSieveOutcome *outcome;
  Folders *folders;            /* borrowed from the job */
} Message;

typedef struct
{
  CairnSieveScript *script;
  GStrv collections;
  GArray *messages;            /* Message */
  GHashTable *folders;         /* resource -> Folders */
  GHashTable *filtered_in;     /* collection id -> its resource's Folders, or NULL */
  CairnFetchScope *scope;      /* the RFC822 part */
  GHashTable *items;           /* id -> CairnItem, as it is now */
  guint filtered;
} Job;

static void
message_clear (gpointer data)
{
  Message *message = data;

  g_clear_object (&message->item);
  g_clear_pointer (&message->outcome, cairn_sieve_outcome_free);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->script);
  g_strfreev (job->collections);
  g_array_unref (job->messages);
  g_hash_table_unref (job->folders);
  g_hash_table_unref (job->filtered_in);
  cairn_fetch_scope_unref (job->scope);
  g_hash_table_unref (job->items);
  g_free (job);
}

/* The folders of the resource of a collection whose new mail is
 * filtered; NULL for other collections, or with @error set. Collections
 * are looked up once a job. */
static Folders *
folders_of (CairnStore  *store,
            Job         *job,
            guint64      collection_id,
            GError     **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GError) local_error = NULL;
  Folders *folders = NULL;
  gpointer known;
  const char *resource;

  if (g_hash_table_lookup_extended (job->filtered_in, &collection_id, NULL, &known))
    return known;
  collection = cairn_store_get_collection (store, collection_id, &local_error);
  if (collection == NULL)
    g_debug ("Collection %" G_GUINT64_FORMAT " is gone: %s", collection_id,
             local_error->message);
  else
    {
      resource = cairn_collection_get_resource (collection);
      folders = g_hash_table_lookup (job->folders, resource);
      if (folders == NULL)
        {
          folders = load_folders (store, resource, error);
          if (folders == NULL)
            return NULL;
          g_hash_table_insert (job->folders, g_strdup (resource), folders);
        }
      if (!is_filtered ((const char * const *) job->collections, folders, collection))
        folders = NULL;
    }
  g_hash_table_insert (job->filtered_in, id_key (collection_id), folders);
  return folders;
}

/* Reads the messages of a batch as they are now, a page of a collection
 * at a time: a resource adds new mail together, so the ids of a batch
 * mostly follow each other. Any other is read alone later. */
static gboolean
prefetch_items (CairnStore  *store,
                Job         *job,
                GError     **error)
{
  g_autoptr(GHashTable) first_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                           g_free);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < job->messages->len; i++)
    {
      Message *message = &g_array_index (job->messages, Message, i);
      guint64 *first = g_hash_table_lookup (first_ids, &message->collection_id);

      if (first == NULL)
        g_hash_table_insert (first_ids, id_key (message->collection_id), id_key (message->id));
      else
        *first = MIN (*first, message->id);
    }
  g_hash_table_iter_init (&iter, first_ids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr(GPtrArray) items = NULL;
      g_autoptr(GError) local_error = NULL;

      if (folders_of (store, job, *(guint64 *) key, error) == NULL)
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          continue;
        }
      items = cairn_store_list_items (store, *(guint64 *) key, job->scope, *(guint64 *) value - 1,
                                      job->messages->len, &local_error);
      if (items == NULL)
        {
          g_debug ("Collection %" G_GUINT64_FORMAT ": %s", *(guint64 *) key,
                   local_error->message);
          continue;
        }
      for (guint i = 0; i < items->len; i++)
        {
          CairnItem *item = g_ptr_array_index (items, i);

          g_hash_table_insert (job->items, id_key (cairn_item_get_id (item)), g_object_ref (item));
        }
    }
  return TRUE;
}

/* Runs the script on one message; FALSE when there is nothing to do. */
static gboolean
filter_message (CairnStore  *store,
                Job         *job,
                Message     *message,
                GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(CairnSieveMessage) parsed = NULL;
  g_autoptr(GInputStream) stream = NULL;
  Folders *folders;
  CairnPart *part;
  CairnSieveTarget *only;

  folders = folders_of (store, job, message->collection_id, error);
  if (folders == NULL)
    return FALSE;

  /* Filtered already (by a filter killed before it could record it), or
   * changed by someone else since it arrived: left as it is. */
  message->item = g_hash_table_lookup (job->items, &message->id);
  if (message->item != NULL)
    g_object_ref (message->item);
  else
    message->item = cairn_store_get_item (store, message->id, job->scope, &local_error);
  if (message->item == NULL || cairn_item_get_revision (message->item) != message->revision ||
      cairn_item_get_collection_id (message->item) != message->collection_id)
    {
      g_debug ("Item %" G_GUINT64_FORMAT " changed since it arrived; not filtered", message->id);
      return FALSE;
    }
  /* Mail read before it reached the store (an existing mailbox's first
   * sync, a copy from another client) is not new mail. */
  if (cairn_flags_contains (cairn_item_get_flags (message->item), CAIRN_FLAG_SEEN))
    return FALSE;

  part = cairn_item_get_part (message->item, CAIRN_PART_RFC822);
  if (part == NULL)
    g_set_error (&local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND, "No part %s",
                 CAIRN_PART_RFC822);
  else
    stream = cairn_part_open_stream (part, NULL, &local_error);
  if (stream != NULL)
    parsed = cairn_sieve_message_new_from_stream (stream, cairn_item_get_size (message->item),
                                                  NULL, &local_error);
  if (parsed == NULL)
    {
      g_debug ("Item %" G_GUINT64_FORMAT " kept: %s", message->id, local_error->message);
      return FALSE;
    }
  message->outcome = cairn_sieve_script_run (job->script, parsed);
  message->folders = folders;

  only = message->outcome->targets->len == 1 ? g_ptr_array_index (message->outcome->targets, 0)
                                             : NULL;
  return only == NULL || only->folder != NULL || only->flags->len > 0;
}

/* The collection of a fileinto, created with :create; NULL when it does
 * not exist (the message is then kept, as RFC 5228 4.1 says). */
static CairnCollection *
resolve_folder (CairnTransaction  *transaction,
                Folders           *folders,
                CairnSieveTarget  *target,
                GError           **error)
{
  CairnCollection *found;
  g_auto(GStrv) names = NULL;
  g_autoptr(GString) path = NULL;
  guint64 parent_id;

  if (g_ascii_strcasecmp (target->folder, INBOX) == 0 && folders->inbox != NULL)
    return g_object_ref (folders->inbox);
  found = g_hash_table_lookup (folders->by_path, target->folder);
  if (found != NULL || !target->create || folders->inbox == NULL)
    return found != NULL ? g_object_ref (found) : NULL;

  /* New folders go beside the inbox, as mail clients put them. */
  names = g_strsplit (target->folder, "/", -1);
  path = g_string_new (NULL);
  parent_id = cairn_collection_get_parent_id (folders->inbox);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_string_append_printf (path, "%s%s", i > 0 ? "/" : "", names[i]);
      found = g_hash_table_lookup (folders->by_path, path->str);
      if (found == NULL)
        {
          g_autoptr(CairnCollection) created =
            cairn_collection_new (cairn_collection_get_resource (folders->inbox), parent_id,
                                  names[i]);

          if (*names[i] == '\0')
            return NULL;
          cairn_collection_set_content_mime_types (
            created, cairn_collection_get_content_mime_types (folders->inbox));
          if (!cairn_transaction_create_collection (transaction, created, error))
            return NULL;
          found = created;
          g_hash_table_insert (folders->by_path, g_strdup (path->str), g_object_ref (created));
          g_hash_table_insert (folders->by_id, id_key (cairn_collection_get_id (created)),
                               g_object_ref (created));
        }
      parent_id = cairn_collection_get_id (found);
    }
  return g_object_ref (found);
}

static CairnFlagsDelta *
flags_to_add (CairnItem *item,
              GPtrArray *flags)
{
  CairnFlagsDelta *delta = cairn_flags_delta_new ();

  for (guint i = 0; i < flags->len; i++)
    {
      const char *flag = g_ptr_array_index (flags, i);

      if (!cairn_flag_is_valid (flag))
        g_debug ("Flag \"%s\" is not a valid IMAP flag; left out", flag);
      else if (!cairn_flags_contains (cairn_item_get_flags (item), flag))
        cairn_flags_delta_add (delta, flag);
    }
  return delta;
}

/* A second delivery is a new item with the same message. */
static gboolean
copy_message (CairnTransaction  *transaction,
              CairnStore        *store,
              CairnItem         *item,
              guint64            collection_id,
              GPtrArray         *flags,
              GError           **error)
{
  g_autoptr(CairnItem) copy = cairn_item_new (MAIL_TYPE);
  g_autoptr(CairnFlagsDelta) delta = flags_to_add (item, flags);
  g_autoptr(CairnFlags) copy_flags = cairn_flags_new ();
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(CairnPart) part = NULL;

  stream = cairn_store_open_part (store, cairn_item_get_id (item), CAIRN_PART_RFC822, NULL, error);
  if (stream == NULL)
    return FALSE;
  part = cairn_part_new_from_stream (CAIRN_PART_RFC822, stream);
  cairn_flags_update (copy_flags, cairn_item_get_flags (item), NULL);
  cairn_flags_update (copy_flags, cairn_flags_delta_get_added (delta), NULL);
  cairn_item_set_collection_id (copy, collection_id);
  cairn_item_set_size (copy, cairn_item_get_size (item));
  cairn_item_set_flags (copy, copy_flags);
  cairn_item_set_part (copy, part);
  return cairn_transaction_create_item (transaction, copy, error);
}

static gboolean
apply_message (CairnTransaction  *transaction,
               CairnStore        *store,
               Message           *message,
               GError           **error)
{
  GPtrArray *targets = message->outcome->targets;
  guint64 current = cairn_item_get_collection_id (message->item);
  g_autoptr(GArray) destinations = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(CairnFlagsDelta) delta = NULL;
  CairnSieveTarget *primary = NULL;
  guint64 primary_id = 0;

  if (targets->len == 0)
    return cairn_transaction_delete_item (transaction, message->id, error);

  for (guint i = 0; i < targets->len; i++)
    {
      CairnSieveTarget *target = g_ptr_array_index (targets, i);
      g_autoptr(CairnCollection) folder = NULL;
      g_autoptr(GError) local_error = NULL;
      guint64 id = current;

      if (target->folder != NULL)
        {
          folder = resolve_folder (transaction, message->folders, target, &local_error);
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (folder == NULL)
            g_debug ("Item %" G_GUINT64_FORMAT ": no folder \"%s\"; kept", message->id,
                     target->folder);
          else
            id = cairn_collection_get_id (folder);
        }
      g_array_append_val (destinations, id);
      /* The message itself goes to the first folder other than its own,
       * and every other delivery, a keep too, is a copy: whenever the
       * filter makes a copy, the message's revision moves on, which tells
       * a filter restarted after a crash that it is done. */
      if (primary == NULL || (primary_id == current && id != current))
        {
          primary = target;
          primary_id = id;
        }
    }

  for (guint i = 0; i < targets->len; i++)
    {
      CairnSieveTarget *target = g_ptr_array_index (targets, i);
      guint64 id = g_array_index (destinations, guint64, i);
      gboolean seen = FALSE;

      for (guint j = 0; j < i && !seen; j++)
        seen = g_array_index (destinations, guint64, j) == id;
      if (target == primary || seen || id == primary_id)
        continue;
      if (!copy_message (transaction, store, message->item, id, target->flags, error))
        return FALSE;
    }

  delta = flags_to_add (message->item, primary->flags);
  if (cairn_flags_get_size (cairn_flags_delta_get_added (delta)) > 0 &&
      !cairn_transaction_change_flags (transaction, message->id, delta, 0, error))
    return FALSE;
  if (primary_id != current &&
      !cairn_transaction_move_item (transaction, message->id, primary_id, error))
    return FALSE;
  return TRUE;
}

typedef struct
{
  CairnStore *store;
  Job *job;
} Apply;

static gboolean
apply_job (CairnTransaction  *transaction,
           gpointer           data,
           GError           **error)
{
  Apply *apply = data;

  for (guint i = 0; i < apply->job->messages->len; i++)
    {
      Message *message = &g_array_index (apply->job->messages, Message, i);

      if (message->outcome != NULL &&
          !apply_message (transaction, apply->store, message, error))
        {
          g_prefix_error (error, "Item %" G_GUINT64_FORMAT ": ", message->id);
          return FALSE;
        }
    }
  return TRUE;
}

static void
filter_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  CairnStore *store = cairn_agent_get_store (CAIRN_AGENT (source_object));
  Job *job = task_data;
  Apply apply = { store, job };
  GError *error = NULL;

  if (!prefetch_items (store, job, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < job->messages->len; i++)
    {
      Message *message = &g_array_index (job->messages, Message, i);

      if (!filter_message (store, job, message, &error))
        {
          g_clear_pointer (&message->outcome, cairn_sieve_outcome_free);
          if (error != NULL)
            {
              g_task_return_error (task, error);
              return;
            }
        }
      else
        job->filtered++;
    }

  /* Folders created by the transaction enter the job's folders: a
   * failed transaction is retried by a new job. */
  if (job->filtered > 0 &&
      !cairn_store_write_sync (store, apply_job, &apply, NULL, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void filter_done (GObject *source, GAsyncResult *result, gpointer data);

static void
start_job (CairnMailfilterAgent *self,
           Job                  *job,
           guint                 attempt)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, filter_done, GUINT_TO_POINTER (attempt));

  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, filter_thread);
}

static Job *
job_new (CairnSieveScript   *script,
         const char * const *collections)
{
  Job *job = g_new0 (Job, 1);

  job->script = g_object_ref (script);
  job->collections = g_strdupv ((char **) collections);
  job->messages = g_array_new (FALSE, TRUE, sizeof (Message));
  g_array_set_clear_func (job->messages, message_clear);
  job->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) folders_free);
  job->filtered_in = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  job->items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  job->scope = cairn_fetch_scope_new ();
  cairn_fetch_scope_add_part (job->scope, CAIRN_PART_RFC822);
  return job;
}

static void
job_add_message (Job     *job,
                 guint64  id,
                 guint64  collection_id,
                 guint64  revision)
{
  Message message = { id, collection_id, revision };

  g_array_append_val (job->messages, message);
}

/* The same messages from the start, as after a restart. */
static Job *
copy_job (Job *job)
{
  Job *copy = job_new (job->script, (const char * const *) job->collections);

  for (guint i = 0; i < job->messages->len; i++)
    {
      Message *message = &g_array_index (job->messages, Message, i);

      job_add_message (copy, message->id, message->collection_id, message->revision);
    }
  return copy;
}

static void
filter_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  CairnMailfilterAgent *self = CAIRN_MAILFILTER_AGENT (source);
  guint attempt = GPOINTER_TO_UINT (data);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* A busy database or a folder that vanished: the batch is filtered
       * again from the start, as after a restart. */
      if (attempt + 1 < MAX_ATTEMPTS)
        {
          g_debug ("Filtering failed, trying again: %s", error->message);
          start_job (self, copy_job (job), attempt + 1);
          return;
        }
      cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_IDLE, error->message);
    }
  else
    {
      self->filtered += job->filtered;
      status = g_strdup_printf ("%" G_GUINT64_FORMAT " messages filtered", self->filtered);
      if (self->script != NULL)
        cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_IDLE, status);
    }
  cairn_change_recorder_change_processed (cairn_agent_get_recorder (CAIRN_AGENT (self)));
}

static void
filter (CairnMailfilterAgent *self,
        CairnMonitor         *monitor,
        GPtrArray            *changes,
        GPtrArray            *items)
{
  Job *job;

  if (self->script == NULL)
    {
      cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
      return;
    }

  job = job_new (self->script, (const char * const *) self->collections);
  for (guint i = 0; i < changes->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);

      job_add_message (job, cairn_item_get_id (item), cairn_item_get_collection_id (item),
                       cairn_item_get_revision (item));
    }
  start_job (self, job, 0);
}

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new ();
  g_autoptr(GPtrArray) items = g_ptr_array_new ();

  g_ptr_array_add (changes, change);
  g_ptr_array_add (items, item);
  filter (CAIRN_MAILFILTER_AGENT (observer), monitor, changes, items);
}

static void
items_added (CairnObserver *observer,
             CairnMonitor  *monitor,
             GPtrArray     *changes,
             GPtrArray     *items)
{
  filter (CAIRN_MAILFILTER_AGENT (observer), monitor, changes, items);
}

static void
cairn_mailfilter_agent_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->items_added = items_added;
}

static gboolean
cairn_mailfilter_agent_setup (CairnAgent  *agent,
                              GError     **error)
{
  CairnMonitor *recorder = CAIRN_MONITOR (cairn_agent_get_recorder (agent));
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  /* New mail only, as it was when it arrived (its revision tells whether
   * it was filtered already); the scope never depends on the
   * configuration, since a recorder's scope must stay the same. */
  cairn_monitor_add_mime_type (recorder, MAIL_TYPE);
  cairn_monitor_add_entity_kind (recorder, CAIRN_ENTITY_ITEM);
  cairn_monitor_set_ignore_own_origin (recorder, TRUE);
  cairn_monitor_set_batch (recorder, TRUE);
  cairn_monitor_set_fetch_scope (recorder, scope);
  load_script (CAIRN_MAILFILTER_AGENT (agent));
  return TRUE;
}

static void
cairn_mailfilter_agent_reconfigured (CairnAgent *agent)
{
  load_script (CAIRN_MAILFILTER_AGENT (agent));
}

static void
cairn_mailfilter_agent_finalize (GObject *object)
{
  CairnMailfilterAgent *self = CAIRN_MAILFILTER_AGENT (object);

  g_free (self->script_path);
  g_strfreev (self->collections);
  g_clear_object (&self->script);

  G_OBJECT_CLASS (cairn_mailfilter_agent_parent_class)->finalize (object);
}

static void
cairn_mailfilter_agent_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CairnMailfilterAgent *self = CAIRN_MAILFILTER_AGENT (object);

  switch (prop_id)
    {
    case PROP_SCRIPT:
      g_value_set_string (value, self->script_path);
      break;
    case PROP_COLLECTIONS:
      g_value_set_boxed (value, self->collections);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_mailfilter_agent_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CairnMailfilterAgent *self = CAIRN_MAILFILTER_AGENT (object);

  switch (prop_id)
    {
    case PROP_SCRIPT:
      if (g_strcmp0 (self->script_path, g_value_get_string (value)) == 0)
        break;
      g_free (self->script_path);
      self->script_path = g_value_dup_string (value);
      g_object_notify_by_pspec (object, properties[PROP_SCRIPT]);
      break;
    case PROP_COLLECTIONS:
      g_strfreev (self->collections);
      self->collections = g_value_dup_boxed (value);
      g_object_notify_by_pspec (object, properties[PROP_COLLECTIONS]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_mailfilter_agent_class_init (CairnMailfilterAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_mailfilter_agent_finalize;
  object_class->get_property = cairn_mailfilter_agent_get_property;
  object_class->set_property = cairn_mailfilter_agent_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_mailfilter_agent_setup;
  CAIRN_AGENT_CLASS (klass)->reconfigured = cairn_mailfilter_agent_reconfigured;

  /* The Sieve script, read at start and on every reconfiguration. */
  properties[PROP_SCRIPT] =
    g_param_spec_string ("script", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Names or paths ("Lists/GNOME") of the collections whose new mail is
   * filtered; empty: every inbox. */
  properties[PROP_COLLECTIONS] =
    g_param_spec_boxed ("collections", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_mailfilter_agent_init (CairnMailfilterAgent *self)
{
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_MAILFILTER_AGENT);
