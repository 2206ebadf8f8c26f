/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The maildir resource, described in docs/maildir.md:
 *
 *   [Agent]
 *   Type=maildir
 *   path=/home/me/Maildir
 *   layout=maildir++
 *   read-only=false
 *   fallback-charset=windows-1252
 *
 * Folders are collections; messages are items whose remote id is the
 * unique part of their file name and whose remote revision is the file
 * name relative to the folder ("cur/NAME:2,S"): a maildir message never
 * changes, only its name does. The RFC822 part is the file itself. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include <cairn/cairn.h>

#include "cairn-maildir-folder-private.h"
#include "cairn-maildir-fs-private.h"
#include "cairn-maildir-message-private.h"

/* How long file events gather before their folders are synchronized:
 * one flag change renames a file in two events, a delivery of many
 * messages makes many. */
#define EVENT_DELAY_MS 50

#define SCAN_BATCH_SIZE (2u * CAIRN_STORE_BATCH_SIZE)
/* The smallest batch handed to an idle store: a commit costs about as
 * much as merging 50 messages. */
#define MIN_BATCH_SIZE 250u

/* Batches a folder scan keeps ready ahead of the store. */
#define SCAN_BATCHES_AHEAD 2

/* How often a write of our own that records where things moved (a folder
 * rename's sub-folders, a renamed message) reads them again when they
 * change locally meanwhile. */
#define RELOCATION_ATTEMPTS 5

/* The charset of raw 8-bit header text that is not UTF-8 and whose
 * message declares none: what mail programs of the Windows world wrote. */
#define DEFAULT_FALLBACK_CHARSET "windows-1252"

#define FOLDER_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | \
                       IN_DONT_FOLLOW)

#define CAIRN_TYPE_MAILDIR_RESOURCE (cairn_maildir_resource_get_type ())
G_DECLARE_FINAL_TYPE (CairnMaildirResource, cairn_maildir_resource, CAIRN, MAILDIR_RESOURCE,
                      CairnResource)

struct _CairnMaildirResource
{
  CairnResource parent_instance;

  char *path;
  CairnMaildirLayout layout;
  gboolean read_only;
  char *fallback_charset;
  char *root;             /* the canonical root, as last resolved */

  int inotify_fd;
  guint inotify_source;
  GHashTable *watches;    /* watch descriptor -> collection id (0: a tree watch) */
  GHashTable *watched;    /* collection ids whose new/ and cur/ are watched */
  GHashTable *dirty;      /* collection ids with file events not yet synchronized */
  gboolean tree_dirty;
  guint flush_source;

  GHashTable *indexes;    /* collection id -> (unique name -> relative file name) */
  GHashTable *reported;   /* files reported as skipped, reported once */
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_LAYOUT,
  PROP_READ_ONLY,
  PROP_FALLBACK_CHARSET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_maildir_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnMaildirResource, cairn_maildir_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_maildir_resource_observer_init))

static CairnStore *
get_store (CairnMaildirResource *self)
{
  return cairn_agent_get_store (CAIRN_AGENT (self));
}

/* The root with every link resolved, against which paths are checked. */
static char *
canonical_root (CairnMaildirResource  *self,
                GError               **error)
{
  char *root = self->path ? realpath (self->path, NULL) : NULL;

  if (root == NULL || !g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_free (root);
      /* Perhaps an unmounted disk: try again later rather than drop
       * every folder. */
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "The maildir %s is missing", self->path ? self->path : "(not configured)");
      return NULL;
    }
  g_free (self->root);
  self->root = g_strdup (root);
  return root;
}

static void
report_skipped (CairnMaildirResource *self,
                GPtrArray            *skipped)
{
  for (guint i = 0; i < skipped->len; i++)
    {
      const char *what = g_ptr_array_index (skipped, i);

      if (!g_hash_table_contains (self->reported, what))
        {
          g_message ("Skipped %s", what);
          g_hash_table_add (self->reported, g_strdup (what));
        }
    }
}

/* File events */

static void
flush_events_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* Offline, or the folder went away: the next event or sync catches up. */
  if (!cairn_resource_synchronize_finish (CAIRN_RESOURCE (source), result, &error))
    g_debug ("Synchronizing after file events: %s", error->message);
}

static gboolean
flush_events (gpointer user_data)
{
  CairnMaildirResource *self = user_data;
  CairnResource *resource = CAIRN_RESOURCE (self);
  GHashTableIter iter;
  gpointer key;

  self->flush_source = 0;
  if (self->tree_dirty)
    cairn_resource_synchronize_async (resource, 0, NULL, flush_events_done, NULL);
  else
    {
      g_hash_table_iter_init (&iter, self->dirty);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        cairn_resource_synchronize_async (resource, *(guint64 *) key, NULL, flush_events_done,
                                          NULL);
    }
  self->tree_dirty = FALSE;
  g_hash_table_remove_all (self->dirty);
  return G_SOURCE_REMOVE;
}

static void
mark_dirty (CairnMaildirResource *self,
            guint64               collection_id)
{
  if (collection_id == 0)
    self->tree_dirty = TRUE;
  else
    g_hash_table_add (self->dirty, g_memdup2 (&collection_id, sizeof collection_id));
  if (self->flush_source == 0)
    self->flush_source = g_timeout_add (EVENT_DELAY_MS, flush_events, self);
}

static void
handle_event (CairnMaildirResource       *self,
              const struct inotify_event *event)
{
  guint64 *collection_id;

  /* Events were lost: nothing but a scan of everything is right. */
  if (event->mask & IN_Q_OVERFLOW)
    {
      g_message ("Too many file events at once; scanning the maildir again");
      mark_dirty (self, 0);
      return;
    }
  collection_id = g_hash_table_lookup (self->watches, GINT_TO_POINTER (event->wd));
  if (collection_id == NULL)
    return;
  if (event->mask & IN_IGNORED)
    {
      /* The directory went away: its folder, or a whole tree. */
      if (*collection_id != 0)
        g_hash_table_remove (self->watched, collection_id);
      g_hash_table_remove (self->watches, GINT_TO_POINTER (event->wd));
      mark_dirty (self, 0);
      return;
    }
  if (*collection_id == 0)
    {
      if (event->mask & IN_ISDIR)
        mark_dirty (self, 0);
    }
  else if (!(event->mask & IN_ISDIR))
    mark_dirty (self, *collection_id);
}

static gboolean
inotify_readable (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  CairnMaildirResource *self = user_data;
  char buffer[16384] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gssize length;

  while ((length = read (fd, buffer, sizeof buffer)) > 0)
    for (char *p = buffer; p < buffer + length; )
      {
        const struct inotify_event *event = (const struct inotify_event *) p;

        handle_event (self, event);
        p += sizeof (struct inotify_event) + event->len;
      }
  return G_SOURCE_CONTINUE;
}

/* inotify rather than GFileMonitor: it reports a queue overflow, after
 * which only a scan of every folder is right. */
/* The directory is opened beneath the root first, and the watch is put
 * on that open directory, so that no link on the way is followed out of
 * the tree. */
static void
add_watch (CairnMaildirResource *self,
           const char           *root,
           const char           *path,
           guint32               mask,
           guint64               collection_id)
{
  g_auto(CairnMaildirFd) fd = -1;
  g_autofree char *proc_path = NULL;
  int wd;

  if (self->inotify_fd < 0)
    return;
  fd = cairn_maildir_open_beneath (root, path, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0)
    {
      proc_path = g_strdup_printf ("/proc/self/fd/%d", fd);
      wd = inotify_add_watch (self->inotify_fd, proc_path, mask & ~IN_DONT_FOLLOW);
      /* Without /proc, the path just checked to hold no link. */
      if (wd < 0 && errno == ENOENT)
        wd = inotify_add_watch (self->inotify_fd, path, mask);
    }
  else
    wd = -1;
  if (wd < 0)
    {
      /* Without a watch the folder still syncs on request and on start;
       * a link or a plain file in place of new/ or cur/ fails its sync,
       * which says so. */
      if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
        {
          g_autofree char *escaped = cairn_maildir_escape (path);

          g_message ("Cannot watch %s: %s", escaped, g_strerror (errno));
        }
      return;
    }
  g_hash_table_insert (self->watches, GINT_TO_POINTER (wd),
                       g_memdup2 (&collection_id, sizeof collection_id));
}

static void
watch_folder (CairnMaildirResource *self,
              guint64               collection_id,
              const char           *root,
              const char           *maildir)
{
  const char *subdirectories[] = { "new", "cur" };

  if (g_hash_table_contains (self->watched, &collection_id))
    return;
  g_hash_table_add (self->watched, g_memdup2 (&collection_id, sizeof collection_id));
  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectories[i], NULL);

      add_watch (self, root, path, FOLDER_EVENTS, collection_id);
    }
  /* Sub-folders appear in the folder itself in the fs layout. */
  if (self->layout == CAIRN_MAILDIR_LAYOUT_FS)
    add_watch (self, root, maildir, FOLDER_EVENTS, 0);
}

/* Reading the backend */

typedef struct
{
  char *root;
  CairnMaildirLayout layout;
  GPtrArray *skipped;
} TreeListing;

static void
tree_listing_free (TreeListing *listing)
{
  g_free (listing->root);
  g_ptr_array_unref (listing->skipped);
  g_free (listing);
}

static void
list_tree_thread (GTask        *task,
                  gpointer      source,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  TreeListing *listing = task_data;

  g_task_return_pointer (task, cairn_maildir_folder_list (listing->root, listing->layout,
                                                          listing->skipped),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
tree_listed (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CairnMaildirResource *self = g_task_get_source_object (task);
  TreeListing *listing = g_task_get_task_data (G_TASK (result));

  report_skipped (self, listing->skipped);
  g_task_return_pointer (task, g_task_propagate_pointer (G_TASK (result), NULL),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
retrieve_collections (CairnResource       *resource,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GTask) listing_task = NULL;
  TreeListing *listing;
  GError *error = NULL;
  char *root;

  g_task_set_source_tag (task, retrieve_collections);
  root = canonical_root (self, &error);
  if (root == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* New folders appear in the root, whatever the layout. */
  if (!g_hash_table_size (self->watches))
    add_watch (self, root, root, FOLDER_EVENTS, 0);
  listing = g_new0 (TreeListing, 1);
  listing->root = root;
  listing->layout = self->layout;
  listing->skipped = g_ptr_array_new_with_free_func (g_free);
  listing_task = g_task_new (resource, cancellable, tree_listed, g_steal_pointer (&task));
  g_task_set_task_data (listing_task, listing, (GDestroyNotify) tree_listing_free);
  g_task_run_in_thread (listing_task, list_tree_thread);
}

static GPtrArray *
retrieve_collections_finish (CairnResource  *resource,
                             GAsyncResult   *result,
                             GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A folder scan: a worker thread lists the folder and reads the headers of
 * the messages the store does not have under their current name, and
 * hands them in batches to the main thread, which merges each while the
 * worker reads the next. */
typedef struct
{
  gatomicrefcount ref_count;
  CairnMaildirResource *self;
  CairnItemSync *sync;
  GMainContext *context;
  char *maildir;
  int folder_fd;
  char *fallback_charset;
  guint64 collection_id;
  GHashTable *stored;       /* unique name -> remote revision, as the scan began; what
                             * the listing meets is taken out */
  GHashTable *met;          /* relative names chosen, one per unique name (met_hash()) */
  GCancellable *cancellable;
  gboolean second_pass;
  GPtrArray *items;         /* the batch being read */
  CairnMaildirKeywords keywords;

  GMutex lock;
  GCond cond;
  gint batches_ahead;        /* also read without the lock by the worker */
  gboolean aborted;
  GError *error;            /* of the main thread's merge */

  GPtrArray *skipped;
  GPtrArray *removed;       /* unique names gone from the folder */
} FolderScan;

static FolderScan *
folder_scan_ref (FolderScan *scan)
{
  g_atomic_ref_count_inc (&scan->ref_count);
  return scan;
}

static void
folder_scan_unref (FolderScan *scan)
{
  if (!g_atomic_ref_count_dec (&scan->ref_count))
    return;
  g_object_unref (scan->self);
  g_object_unref (scan->sync);
  g_main_context_unref (scan->context);
  g_free (scan->maildir);
  if (scan->folder_fd >= 0)
    close (scan->folder_fd);
  g_free (scan->fallback_charset);
  g_clear_pointer (&scan->stored, g_hash_table_unref);
  g_clear_pointer (&scan->met, g_hash_table_unref);
  cairn_maildir_keywords_clear (&scan->keywords);
  g_mutex_clear (&scan->lock);
  g_cond_clear (&scan->cond);
  g_clear_error (&scan->error);
  g_ptr_array_unref (scan->skipped);
  g_clear_pointer (&scan->removed, g_ptr_array_unref);
  g_clear_object (&scan->cancellable);
  g_clear_pointer (&scan->items, g_ptr_array_unref);
  g_free (scan);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FolderScan, folder_scan_unref)

typedef struct
{
  FolderScan *scan;
  GPtrArray *items;
} ScanBatch;

static void
scan_batch_free (ScanBatch *batch)
{
  folder_scan_unref (batch->scan);
  g_ptr_array_unref (batch->items);
  g_free (batch);
}

/* In the main thread. */
static gboolean
merge_batch (gpointer user_data)
{
  ScanBatch *batch = user_data;
  FolderScan *scan = batch->scan;
  g_autoptr(GError) error = NULL;
  gboolean aborted;

  g_mutex_lock (&scan->lock);
  aborted = scan->aborted;
  g_mutex_unlock (&scan->lock);
  if (!aborted && !cairn_item_sync_add_items (scan->sync, batch->items, &error))
    aborted = TRUE;

  g_mutex_lock (&scan->lock);
  if (error != NULL && scan->error == NULL)
    scan->error = g_steal_pointer (&error);
  scan->aborted = aborted;
  g_atomic_int_add (&scan->batches_ahead, -1);
  g_cond_signal (&scan->cond);
  g_mutex_unlock (&scan->lock);
  return G_SOURCE_REMOVE;
}

/* In the worker: hands @items over, waiting while the main thread is
 * behind, so that memory stays bounded. FALSE once the merge failed. */
static gboolean
hand_batch (FolderScan *scan,
            GPtrArray  *items)
{
  ScanBatch *batch;
  gboolean aborted;

  g_mutex_lock (&scan->lock);
  while (scan->batches_ahead >= SCAN_BATCHES_AHEAD && !scan->aborted)
    g_cond_wait (&scan->cond, &scan->lock);
  aborted = scan->aborted;
  if (!aborted)
    g_atomic_int_inc (&scan->batches_ahead);
  g_mutex_unlock (&scan->lock);
  if (aborted)
    return FALSE;

  batch = g_new0 (ScanBatch, 1);
  batch->scan = folder_scan_ref (scan);
  batch->items = g_ptr_array_ref (items);
  g_main_context_invoke_full (scan->context, G_PRIORITY_DEFAULT, merge_batch, batch,
                              (GDestroyNotify) scan_batch_free);
  return TRUE;
}

/* Waits until the main thread merged every batch handed. */
static void
wait_merged (FolderScan *scan)
{
  g_mutex_lock (&scan->lock);
  while (scan->batches_ahead > 0)
    g_cond_wait (&scan->cond, &scan->lock);
  g_mutex_unlock (&scan->lock);
}

/* The names a scan met are a set of relative names ("cur/UID:2,S")
 * hashed and compared by their unique name alone: one string per
 * message, and a lookup by any name of a message finds the name chosen
 * for it. A table from unique name to name took the peak of a first
 * sync of 100,000 messages from 63-68 MB to 75-81 MB. */
static const char *
unique_name_of (const char *relative_name,
                gsize      *length)
{
  const char *slash = strchr (relative_name, '/');
  const char *uid = slash != NULL ? slash + 1 : relative_name;

  *length = strcspn (uid, ":");
  return uid;
}

static guint
met_hash (gconstpointer key)
{
  gsize length;
  const char *uid = unique_name_of (key, &length);
  guint hash = 5381;

  for (gsize i = 0; i < length; i++)
    hash = hash * 33 + (guchar) uid[i];
  return hash;
}

static gboolean
met_equal (gconstpointer a,
           gconstpointer b)
{
  gsize a_length, b_length;
  const char *a_uid = unique_name_of (a, &a_length);
  const char *b_uid = unique_name_of (b, &b_length);

  return a_length == b_length && memcmp (a_uid, b_uid, a_length) == 0;
}

/* Two files with one unique name, another program's doing: the preferred
 * one (cairn_maildir_name_is_preferred()) is the message on every sync,
 * and the other is reported, once. */
static void
report_duplicate (FolderScan *scan,
                  const char *kept,
                  const char *other)
{
  g_autofree char *path = g_build_filename (scan->maildir, other, NULL);
  g_autofree char *escaped_path = cairn_maildir_escape (path);
  g_autofree char *escaped_kept = cairn_maildir_escape (kept);

  if (!scan->second_pass)
    g_ptr_array_add (scan->skipped, g_strdup_printf ("%s: the same unique name as %s, which is "
                                                     "the one kept", escaped_path, escaped_kept));
}

/* Whether the stored name of a message, met under another name, is a
 * file still there and the one to keep of the two. */
static gboolean
stored_name_wins (FolderScan *scan,
                  const char *stored_name,
                  const char *relative_name)
{
  struct stat st;

  return stored_name != NULL && cairn_maildir_name_is_preferred (stored_name, relative_name) &&
         cairn_maildir_statat (scan->folder_fd, stored_name, &st) == 0 && S_ISREG (st.st_mode);
}

/* One message met by the listing: read unless the store has it under
 * this name. Nothing but the batch being read and the names met is held,
 * so a folder of any size costs the memory of one batch. */
static gboolean
scan_message (const char *uid,
              const char *relative_name,
              gpointer    user_data)
{
  FolderScan *scan = user_data;
  g_autoptr(GError) read_error = NULL;
  const char *chosen = g_hash_table_lookup (scan->met, relative_name);
  gpointer stored_revision;
  CairnItem *item;

  if (chosen != NULL)
    {
      if (strcmp (chosen, relative_name) == 0)
        return TRUE;
      if (!cairn_maildir_name_is_preferred (relative_name, chosen))
        {
          report_duplicate (scan, chosen, relative_name);
          return TRUE;
        }
      /* The one read before loses: this one replaces it in the store. */
      report_duplicate (scan, relative_name, chosen);
    }
  else if (g_hash_table_lookup_extended (scan->stored, uid, NULL, &stored_revision))
    {
      /* Shared with the sync, as the table's strings are. */
      g_autoptr(GRefString) revision = stored_revision ? g_ref_string_acquire (stored_revision)
                                                       : NULL;

      g_hash_table_remove (scan->stored, uid);
      if (g_strcmp0 (revision, relative_name) == 0)
        {
          g_hash_table_add (scan->met, g_steal_pointer (&revision));
          return TRUE;
        }
      if (stored_name_wins (scan, revision, relative_name))
        {
          report_duplicate (scan, revision, relative_name);
          g_hash_table_add (scan->met, g_steal_pointer (&revision));
          return TRUE;
        }
    }
  else if (scan->second_pass)
    return TRUE;
  g_hash_table_add (scan->met, g_ref_string_new (relative_name));

  if (g_cancellable_is_cancelled (scan->cancellable))
    return FALSE;
  item = cairn_maildir_message_read (scan->folder_fd, scan->maildir, relative_name,
                                     &scan->keywords, scan->fallback_charset, &read_error);
  if (item == NULL)
    {
      /* Renamed or removed since the listing: its new name has an event
       * of its own. Anything else is not mail we can read. */
      if (!g_error_matches (read_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_ptr_array_add (scan->skipped, g_strdup (read_error->message));
      return TRUE;
    }
  g_ptr_array_add (scan->items, item);
  /* Twice the usual batch: each commit also wakes every monitor of the
   * store, and the first sync of 100,000 messages ran 15% faster so. A
   * smaller one goes as soon as the store has nothing to merge, so that
   * the store never waits and the last batch left after the reading is
   * small. */
  if (scan->items->len < SCAN_BATCH_SIZE &&
      (scan->items->len < MIN_BATCH_SIZE || g_atomic_int_get (&scan->batches_ahead) > 0))
    return TRUE;
  if (!hand_batch (scan, scan->items))
    return FALSE;
  g_ptr_array_unref (scan->items);
  scan->items = g_ptr_array_new_with_free_func (g_object_unref);
  return TRUE;
}

/* The second pass reads only what the first did not meet, and reports
 * no skipped file twice. */
static gboolean
scan_pass (FolderScan  *scan,
           gboolean     second_pass,
           GError     **error)
{
  scan->second_pass = second_pass;
  return cairn_maildir_folder_foreach_message (scan->folder_fd, scan->maildir, scan_message,
                                               scan, second_pass ? NULL : scan->skipped, error);
}

static void
scan_folder_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  FolderScan *scan = task_data;
  GError *error = NULL;
  GHashTableIter iter;
  const char *uid;

  cairn_maildir_keywords_load (&scan->keywords, scan->folder_fd);
  scan->items = g_ptr_array_new_with_free_func (g_object_unref);
  scan->removed = g_ptr_array_new_with_free_func (g_free);
  /* A name can be missed while another program renames it during the
   * listing, so what the first pass did not meet is looked for once more
   * before it counts as removed. */
  if (!scan_pass (scan, FALSE, &error) ||
      (g_hash_table_size (scan->stored) > 0 && !scan_pass (scan, TRUE, &error)))
    {
      wait_merged (scan);
      g_task_return_error (task, error);
      return;
    }
  if (scan->items->len > 0)
    hand_batch (scan, scan->items);
  wait_merged (scan);
  if (g_task_return_error_if_cancelled (task))
    return;

  g_hash_table_iter_init (&iter, scan->stored);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, NULL))
    g_ptr_array_add (scan->removed, g_strdup (uid));
  g_task_return_boolean (task, TRUE);
}

static void
folder_scanned (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CairnMaildirResource *self = g_task_get_source_object (task);
  FolderScan *scan = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  report_skipped (self, scan->skipped);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (scan->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&scan->error));
      return;
    }
  g_ptr_array_add (scan->removed, NULL);
  if (!cairn_item_sync_remove_items (scan->sync, (const char * const *) scan->removed->pdata,
                                     &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Every sync is incremental: the scan compares the folder with what the
 * store holds and hands only the new and renamed messages and the
 * removals. A sync after file events, after an overflow, at start and on
 * request are the same operation. */
static void
retrieve_items (CairnResource       *resource,
                CairnCollection     *collection,
                CairnItemSync       *sync,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  g_autoptr(GTask) scan_task = NULL;
  g_autofree char *root = NULL;
  g_autofree char *maildir = NULL;
  g_autoptr(GHashTable) stored = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  FolderScan *scan;
  GError *error = NULL;

  g_task_set_source_tag (task, retrieve_items);
  root = canonical_root (self, &error);
  if (root != NULL)
    maildir = cairn_maildir_folder_path (root, self->layout,
                                         cairn_collection_get_remote_id (collection), &error);
  /* A folder that cannot be opened, a link for instance, fails alone: the
   * base class reports it by name and tries it again later. */
  if (maildir != NULL)
    folder_fd = cairn_maildir_folder_open (root, maildir, &error);
  if (folder_fd >= 0)
    {
      cairn_item_sync_set_incremental (sync, TRUE);
      stored = cairn_item_sync_dup_remote_revisions (sync, &error);
    }
  if (stored == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Watched before the listing, so nothing written meanwhile is missed. */
  watch_folder (self, cairn_collection_get_id (collection), root, maildir);

  scan = g_new0 (FolderScan, 1);
  g_atomic_ref_count_init (&scan->ref_count);
  scan->self = g_object_ref (self);
  scan->sync = g_object_ref (sync);
  scan->context = g_main_context_ref_thread_default ();
  scan->maildir = g_steal_pointer (&maildir);
  scan->folder_fd = g_steal_fd (&folder_fd);
  scan->fallback_charset = g_strdup (self->fallback_charset);
  scan->met = g_hash_table_new_full (met_hash, met_equal, (GDestroyNotify) g_ref_string_release,
                                     NULL);
  scan->collection_id = cairn_collection_get_id (collection);
  scan->stored = g_steal_pointer (&stored);
  scan->skipped = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&scan->lock);
  g_cond_init (&scan->cond);
  scan->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  /* The change replay's index of the folder may be stale after the scan
   * and costs 15 MB for 100,000 messages: it is listed again when needed. */
  g_hash_table_remove (self->indexes, &scan->collection_id);

  scan_task = g_task_new (resource, cancellable, folder_scanned, g_steal_pointer (&task));
  g_task_set_task_data (scan_task, scan, (GDestroyNotify) folder_scan_unref);
  g_task_run_in_thread (scan_task, scan_folder_thread);
}

static gboolean
retrieve_items_finish (CairnResource  *resource,
                       GAsyncResult   *result,
                       GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Change replay: each callback ends with exactly one of
 * cairn_resource_change_replayed(), _failed() or _conflicts(). The disk
 * is local, so the work is done right here. */

static void
report (CairnResource *resource,
        const GError  *error,
        const char    *remote_id,
        const char    *remote_revision)
{
  if (error != NULL)
    cairn_resource_change_failed (resource, error);
  else
    cairn_resource_change_replayed (resource, remote_id, remote_revision);
}

static gboolean
check_writable (CairnMaildirResource  *self,
                GError               **error)
{
  if (!self->read_only)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "The maildir %s is configured read-only", self->path);
  return FALSE;
}

static char *child_remote_id (CairnMaildirResource  *self,
                              const char            *root,
                              guint64                parent_id,
                              const char            *name,
                              GError               **error);
static char *backend_remote_id (CairnMaildirResource  *self,
                                const char            *root,
                                guint64                id,
                                GError               **error);

/* Whether the maildir has a folder under @remote_id. */
static gboolean
folder_exists (CairnMaildirResource *self,
               const char           *root,
               const char           *remote_id)
{
  g_autofree char *path = cairn_maildir_folder_path (root, self->layout, remote_id, NULL);

  return path != NULL && g_file_test (path, G_FILE_TEST_IS_DIR);
}

/* Where the backend has a folder whose remote id was @remote_id when its
 * parent was @parent_id. A collection removed locally keeps in its
 * removal the remote id it had then, which the replay of a later rename
 * or move of a folder above it made stale: if no folder has that name,
 * it is the folder of that name in its parent, wherever that is now. */
static char *
resolve_remote_id (CairnMaildirResource  *self,
                   const char            *root,
                   guint64                parent_id,
                   const char            *remote_id,
                   GError               **error)
{
  char separator = self->layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP ? '.' : '/';
  g_autofree char *parent = NULL;

  if (remote_id == NULL)
    {
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                   "The folder was never written to the maildir %s", self->path);
      return NULL;
    }
  if (parent_id == 0 || strrchr (remote_id, separator) == NULL ||
      folder_exists (self, root, remote_id))
    return g_strdup (remote_id);
  parent = backend_remote_id (self, root, parent_id, error);
  if (parent == NULL)
    return NULL;
  return cairn_maildir_folder_child_remote_id (self->layout, parent,
                                               strrchr (remote_id, separator) + 1, error);
}

/* Where the backend has the folder of @removed, a collection removed
 * locally, as its removal knows it: its remote id resolved, or else the
 * folder its name at the removal gives in its parent. A replay of its
 * rename killed after the rename on disk, before it reported, left it
 * there, with the old name in the store; the removal, delivered after
 * the rename or with it taken in, names that old one. A folder the store
 * knows as another collection's is never taken for it. */
static char *
removed_folder_remote_id (CairnMaildirResource  *self,
                          const char            *root,
                          CairnCollection       *removed,
                          GError               **error)
{
  guint64 parent_id = cairn_collection_get_parent_id (removed);
  g_autofree char *remote_id = resolve_remote_id (self, root, parent_id,
                                                  cairn_collection_get_remote_id (removed),
                                                  error);
  g_autofree char *renamed = NULL;
  g_autoptr(CairnCollection) other = NULL;
  g_autoptr(GError) local_error = NULL;

  if (remote_id == NULL || folder_exists (self, root, remote_id))
    return g_steal_pointer (&remote_id);
  renamed = child_remote_id (self, root, parent_id, cairn_collection_get_name (removed), NULL);
  if (renamed == NULL || !folder_exists (self, root, renamed))
    return g_steal_pointer (&remote_id);
  other = cairn_store_find_collection_by_remote_id (get_store (self),
                                                    cairn_agent_get_id (CAIRN_AGENT (self)),
                                                    renamed, &local_error);
  if (g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return g_steal_pointer (&renamed);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&remote_id);
}

/* The remote id under which the backend has collection @id now. */
static char *
backend_remote_id (CairnMaildirResource  *self,
                   const char            *root,
                   guint64                id,
                   GError               **error)
{
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(GError) local_error = NULL;

  collection = cairn_store_get_collection (get_store (self), id, &local_error);
  if (collection != NULL)
    return resolve_remote_id (self, root, 0, cairn_collection_get_remote_id (collection), error);
  if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  collection = cairn_resource_get_collection (CAIRN_RESOURCE (self), id, error);
  if (collection == NULL)
    return NULL;
  return removed_folder_remote_id (self, root, collection, error);
}

/* The folder of collection @id, checked, and opened beneath the root
 * into @folder_fd; -1 there without an error if the folder is missing,
 * which a removal or a flag change takes as done by another program. */
static char *
folder_path (CairnMaildirResource  *self,
             guint64                id,
             int                   *folder_fd,
             GError               **error)
{
  g_autofree char *root = canonical_root (self, error);
  g_autofree char *remote_id = NULL;
  g_autofree char *maildir = NULL;

  if (root == NULL || (remote_id = backend_remote_id (self, root, id, error)) == NULL ||
      (maildir = cairn_maildir_folder_path (root, self->layout, remote_id, error)) == NULL)
    return NULL;
  *folder_fd = cairn_maildir_open_beneath (root, maildir, O_RDONLY | O_DIRECTORY, 0);
  if (*folder_fd < 0 && errno != ENOENT)
    return cairn_maildir_set_errno_error (error, errno, "open the folder", maildir), NULL;
  return g_steal_pointer (&maildir);
}

/* The folder of collection @id, which must exist. */
static char *
existing_folder_path (CairnMaildirResource  *self,
                      guint64                id,
                      int                   *folder_fd,
                      GError               **error)
{
  g_autofree char *maildir = folder_path (self, id, folder_fd, error);

  if (maildir != NULL && *folder_fd < 0)
    return cairn_maildir_set_errno_error (error, ENOENT, "open the folder", maildir), NULL;
  return g_steal_pointer (&maildir);
}

static gboolean
check_uid (const char  *uid,
           GError     **error)
{
  if (uid != NULL && cairn_maildir_name_is_safe (uid) && strchr (uid, ':') == NULL)
    return TRUE;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "“%s” is not a valid maildir message name", uid ? uid : "");
  return FALSE;
}

/* The relative file name of message @uid in the folder @folder_fd, or
 * %NULL if it is not there. @hint, the name last stored, is tried first;
 * then the index of the last scan; then the folder is listed again. */
static char *
locate (CairnMaildirResource *self,
        guint64               collection_id,
        int                   folder_fd,
        const char           *maildir,
        const char           *uid,
        const char           *hint)
{
  const char *candidates[2] = { hint, NULL };
  GHashTable *index = g_hash_table_lookup (self->indexes, &collection_id);
  g_autoptr(GHashTable) listing = NULL;

  if (index != NULL)
    candidates[1] = g_hash_table_lookup (index, uid);
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *candidate_uid = NULL;
      struct stat st;

      if (candidates[i] == NULL || strchr (candidates[i], '/') == NULL)
        continue;
      candidate_uid = cairn_maildir_name_get_uid (strchr (candidates[i], '/') + 1);
      if (strcmp (candidate_uid, uid) == 0 &&
          cairn_maildir_statat (folder_fd, candidates[i], &st) == 0 && S_ISREG (st.st_mode))
        return g_strdup (candidates[i]);
    }

  listing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!cairn_maildir_folder_list_messages (folder_fd, maildir, listing, NULL, NULL))
    return NULL;
  g_hash_table_insert (self->indexes, g_memdup2 (&collection_id, sizeof collection_id),
                       g_hash_table_ref (listing));
  return g_strdup (g_hash_table_lookup (listing, uid));
}

static void
index_set (CairnMaildirResource *self,
           guint64               collection_id,
           const char           *uid,
           const char           *relative_name)
{
  GHashTable *index = g_hash_table_lookup (self->indexes, &collection_id);

  if (index == NULL)
    return;
  if (relative_name == NULL)
    g_hash_table_remove (index, uid);
  else
    g_hash_table_insert (index, g_strdup (uid), g_strdup (relative_name));
}

static char *
host_name (void)
{
  g_autoptr(GString) host = g_string_new (g_get_host_name ());

  /* As the specification asks, so that names stay one component. */
  g_string_replace (host, "/", "\\057", 0);
  g_string_replace (host, ":", "\\072", 0);
  return g_string_free (g_steal_pointer (&host), FALSE);
}

static gboolean
fsync_directory (int          folder_fd,
                 const char  *maildir,
                 const char  *subdirectory,
                 GError     **error)
{
  g_auto(CairnMaildirFd) fd = cairn_file_tree_openat (folder_fd, subdirectory,
                                                    O_RDONLY | O_DIRECTORY, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectory, NULL);

      return cairn_maildir_set_errno_error (error, errno, "sync", path);
    }
  return TRUE;
}

/* Writes all of @buffer to @fd; FALSE with errno set. */
static gboolean
write_all (int           fd,
           const guint8 *buffer,
           gsize         length)
{
  for (gsize done = 0; done < length; )
    {
      gssize written = write (fd, buffer + done, length - done);

      if (written < 0 && errno != EINTR)
        return FALSE;
      done += MAX (written, 0);
    }
  return TRUE;
}

/* Copies @input to a new file in tmp/ of the folder @folder_fd and syncs
 * it; its SHA-256 goes to @checksum. Returns the file's name relative to
 * the folder ("tmp/NAME"). */
static char *
write_to_tmp (int            folder_fd,
              const char    *maildir,
              GInputStream  *input,
              GChecksum     *checksum,
              GError       **error)
{
  g_autofree char *host = host_name ();
  gint64 now = g_get_real_time ();
  g_autofree char *relative = g_strdup_printf ("tmp/%" G_GINT64_FORMAT ".M%06dP%d.%s",
                                               now / G_USEC_PER_SEC,
                                               (int) (now % G_USEC_PER_SEC), (int) getpid (),
                                               host);
  g_autofree char *path = g_build_filename (maildir, relative, NULL);
  g_autoptr(GError) read_error = NULL;
  g_auto(CairnMaildirFd) fd = -1;
  guint8 buffer[65536];
  gssize n;

  if (cairn_maildir_mkdirat (folder_fd, "tmp", 0700) != 0 && errno != EEXIST)
    return cairn_maildir_set_errno_error (error, errno, "create the tmp/ of", maildir), NULL;
  fd = cairn_file_tree_openat (folder_fd, relative, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return cairn_maildir_set_errno_error (error, errno, "create", path), NULL;
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &read_error)) > 0)
    {
      g_checksum_update (checksum, buffer, n);
      if (!write_all (fd, buffer, n))
        {
          int saved_errno = errno;

          cairn_maildir_unlinkat (folder_fd, relative, 0);
          return cairn_maildir_set_errno_error (error, saved_errno, "write", path), NULL;
        }
    }
  if (n < 0)
    {
      cairn_maildir_unlinkat (folder_fd, relative, 0);
      g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                   "Cannot read the message to write: %s", read_error->message);
      return NULL;
    }
  if (fsync (fd) != 0)
    {
      int saved_errno = errno;

      cairn_maildir_unlinkat (folder_fd, relative, 0);
      return cairn_maildir_set_errno_error (error, saved_errno, "write", path), NULL;
    }
  return g_steal_pointer (&relative);
}

/* Opens the RFC822 part of @item, the message as it was at the change
 * being replayed, before anything touches the disk. %NULL without an
 * error if it cannot be read because the item is gone from the store:
 * nothing is to be written, and its removal follows. */
static GInputStream *
open_message (CairnMaildirResource  *self,
              CairnItem             *item,
              GError               **error)
{
  CairnPart *part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) store_error = NULL;

  if (part == NULL)
    g_set_error (&local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_MISSING_PART,
                 "The change came without the part %s", CAIRN_PART_RFC822);
  else
    input = cairn_part_open_stream (part, NULL, &local_error);
  /* A later local edit replaced the payload file since: its content is
   * written now, and again by the replay of that edit. */
  if (input == NULL && g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO))
    input = cairn_store_open_part (get_store (self), cairn_item_get_id (item),
                                   CAIRN_PART_RFC822, NULL, NULL);
  if (input != NULL)
    return g_steal_pointer (&input);
  stored = cairn_store_get_item (get_store (self), cairn_item_get_id (item), NULL, &store_error);
  if (stored == NULL && g_error_matches (store_error, CAIRN_STORE_ERROR,
                                         CAIRN_STORE_ERROR_NOT_FOUND))
    return NULL;
  g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
               "Item %" G_GUINT64_FORMAT " has no message to write: %s",
               cairn_item_get_id (item), local_error->message);
  return NULL;
}

/* Writes the message @input of @item into the folder @folder_fd as the
 * specification says: into tmp/, synced, then linked into new/ (no flags)
 * or cur/. The unique name comes from the item id and the content, so a
 * replay repeated after a crash finds the file it linked and makes no
 * second one. When that name is @existing_uid's, the message is on disk
 * already as @existing_name, with flags of its own, and stays the only
 * one. A new content of a message on disk as @replaced_name, in this
 * folder or another, keeps the flags that name has now: another program
 * may have changed them since the last sync, and the local changes of
 * flags reach the message in their turn, replayed in order.
 * @flags_unread is set when those are not the flags of @item. */
static char *
deliver (int            folder_fd,
         const char    *maildir,
         CairnItem     *item,
         GInputStream  *input,
         const char    *existing_uid,
         const char    *existing_name,
         const char    *replaced_name,
         gboolean      *flags_unread,
         GError       **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  CairnMaildirKeywords keywords = { { NULL }, 0 };
  g_autofree char *tmp_name = NULL;
  g_autofree char *host = host_name ();
  g_autofree char *uid = NULL;
  g_autofree char *info = NULL;
  g_autofree char *relative_name = NULL;
  g_autofree char *path = NULL;
  const char *subdirectory;
  gboolean linked;

  tmp_name = write_to_tmp (folder_fd, maildir, input, checksum, error);
  if (tmp_name == NULL)
    return NULL;

  uid = g_strdup_printf ("cairn.I%" G_GUINT64_FORMAT ".%.16s.%s", cairn_item_get_id (item),
                         g_checksum_get_string (checksum), host);
  if (existing_name != NULL && g_strcmp0 (uid, existing_uid) == 0)
    {
      cairn_maildir_unlinkat (folder_fd, tmp_name, 0);
      return g_strdup (existing_name);
    }
  if (!cairn_maildir_keywords_ensure (&keywords, folder_fd, maildir, cairn_item_get_flags (item),
                                      error))
    {
      cairn_maildir_keywords_clear (&keywords);
      cairn_maildir_unlinkat (folder_fd, tmp_name, 0);
      return NULL;
    }
  info = cairn_maildir_info_apply ("", cairn_item_get_flags (item), NULL, &keywords);
  *flags_unread = FALSE;
  if (replaced_name != NULL)
    {
      g_autofree char *kept = cairn_maildir_info_apply (
        cairn_maildir_name_get_info (strchr (replaced_name, '/') + 1), NULL, NULL, &keywords);

      *flags_unread = strcmp (kept, info) != 0;
      g_free (info);
      info = g_steal_pointer (&kept);
    }
  cairn_maildir_keywords_clear (&keywords);
  subdirectory = *info ? "cur" : "new";
  relative_name = *info ? g_strconcat ("cur/", uid, ":2,", info, NULL)
                        : g_strconcat ("new/", uid, NULL);
  path = g_build_filename (maildir, relative_name, NULL);
  if (cairn_maildir_mkdirat (folder_fd, subdirectory, 0700) != 0 && errno != EEXIST)
    {
      int saved_errno = errno;

      cairn_maildir_unlinkat (folder_fd, tmp_name, 0);
      return cairn_maildir_set_errno_error (error, saved_errno, "create", path), NULL;
    }
  /* link() rather than rename(): it never replaces a file of that name. */
  linked = cairn_maildir_linkat (folder_fd, tmp_name, folder_fd, relative_name) == 0 ||
           errno == EEXIST;
  if (!linked)
    cairn_maildir_set_errno_error (error, errno, "deliver", path);
  cairn_maildir_unlinkat (folder_fd, tmp_name, 0);
  if (!linked || !fsync_directory (folder_fd, maildir, subdirectory, error))
    return NULL;
  return g_steal_pointer (&relative_name);
}

/* What a write of our own changes of @stored, whose message is now @path
 * (@relative_name in its folder): its remote revision, and the RFC822
 * part's path unless the store holds a local content not replayed yet. */
static CairnItem *
relocated_item (CairnItem  *stored,
                const char *relative_name,
                const char *path)
{
  CairnItem *item = cairn_item_new (cairn_item_get_mime_type (stored));
  CairnPart *part = cairn_item_get_part (stored, CAIRN_PART_RFC822);

  cairn_item_set_id (item, cairn_item_get_id (stored));
  cairn_item_set_size (item, cairn_item_get_size (stored));
  cairn_item_set_remote_id (item, cairn_item_get_remote_id (stored));
  cairn_item_set_remote_revision (item, relative_name);
  cairn_item_set_gid (item, cairn_item_get_gid (stored));
  cairn_item_set_date (item, cairn_item_get_date (stored));
  if (part == NULL || cairn_part_get_storage (part) == CAIRN_PART_STORAGE_FOREIGN ||
      cairn_part_get_storage (part) == CAIRN_PART_STORAGE_MISSING)
    {
      g_autoptr(CairnPart) moved = cairn_part_new_foreign (CAIRN_PART_RFC822, path,
                                                           cairn_item_get_size (stored));

      cairn_item_set_part (item, moved);
    }
  return item;
}

typedef struct
{
  CairnItem *item;
  guint64 unchanged_since;
} Location;

static gboolean
store_location_write (CairnTransaction  *transaction,
                      gpointer           user_data,
                      GError           **error)
{
  Location *location = user_data;

  return cairn_transaction_modify_item (transaction, location->item, location->unchanged_since,
                                        error);
}

/* Records where a message is now after a rename from @renamed_from, in
 * one write of our own (never replayed to us): the new remote revision
 * and, unless the store holds a local content not replayed yet, the
 * RFC822 part's new path, so that clients reading it never meet a stale
 * path. If the store did not know the message by @renamed_from, another
 * program renamed it before us, changing flags the store has not read:
 * the remote revision is cleared instead, so that the next sync reads
 * the message again rather than take the new name for one it has read.
 * The write is made only if the item did not change meanwhile, and tried
 * again if it did; an item that keeps changing fails the replay with a
 * transient error, so that it is tried again later rather than lost. */
static gboolean
store_location (CairnMaildirResource  *self,
                guint64                item_id,
                const char            *maildir,
                const char            *renamed_from,
                const char            *relative_name,
                GError               **error)
{
  CairnStore *store = get_store (self);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autofree char *path = g_build_filename (maildir, relative_name, NULL);

  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(CairnItem) stored = cairn_store_get_item (store, item_id, scope, error);
      g_autoptr(CairnItem) item = NULL;
      g_autoptr(GError) local_error = NULL;
      Location location;

      if (stored == NULL)
        break;
      item = relocated_item (stored,
                             g_strcmp0 (cairn_item_get_remote_revision (stored),
                                        renamed_from) == 0 ? relative_name : NULL,
                             path);
      location.item = item;
      location.unchanged_since = cairn_item_get_revision (stored);
      if (cairn_store_write_sync (store, store_location_write, &location, NULL, NULL,
                                  &local_error))
        return TRUE;
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }
      if (attempt == RELOCATION_ATTEMPTS - 1)
        {
          g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                       "Item %" G_GUINT64_FORMAT " kept changing: %s", item_id,
                       local_error->message);
          return FALSE;
        }
    }
  /* Gone from the store: its removal follows. */
  return g_error_matches (*error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND) ?
         (g_clear_error (error), TRUE) : FALSE;
}

/* The messages we named after item @item_id (`cairn.IID.`) in the folder
 * @folder_fd, as names relative to it (`cur/…`). */
static GPtrArray *
list_attempts (int     folder_fd,
               guint64 item_id)
{
  static const char * const subdirs[] = { "new", "cur" };
  g_autofree char *prefix = g_strdup_printf ("cairn.I%" G_GUINT64_FORMAT ".", item_id);
  GPtrArray *attempts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      DIR *dir = cairn_maildir_opendirat (folder_fd, subdirs[i]);
      struct dirent *entry;

      while (dir != NULL && (entry = readdir (dir)) != NULL)
        if (g_str_has_prefix (entry->d_name, prefix))
          g_ptr_array_add (attempts, g_build_filename (subdirs[i], entry->d_name, NULL));
      if (dir != NULL)
        closedir (dir);
    }
  return attempts;
}

/* Removes what an interrupted replay of item @item_id may have left in
 * the folder: messages we named after the item, but @keep. A message is
 * named after its content, so a replay repeated with another content or
 * other flags would otherwise leave the first one behind. */
static gboolean
remove_attempts (CairnMaildirResource  *self,
                 guint64                collection_id,
                 int                    folder_fd,
                 const char            *maildir,
                 guint64                item_id,
                 const char            *keep,
                 GError               **error)
{
  g_autoptr(GPtrArray) attempts = list_attempts (folder_fd, item_id);

  for (guint i = 0; i < attempts->len; i++)
    {
      const char *relative_name = g_ptr_array_index (attempts, i);
      g_autofree char *uid = cairn_maildir_name_get_uid (strchr (relative_name, '/') + 1);

      if (g_strcmp0 (uid, keep) == 0)
        continue;
      if (cairn_maildir_unlinkat (folder_fd, relative_name, 0) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;
          g_autofree char *path = g_build_filename (maildir, relative_name, NULL);

          return cairn_maildir_set_errno_error (error, saved_errno, "remove", path);
        }
      index_set (self, collection_id, uid, NULL);
    }
  return TRUE;
}

/* A message written from the store gets what a sync would read from its
 * file: its envelope, GID, size and names, in a write of our own, made
 * only if the item did not change meanwhile (a later change of its
 * content is replayed and read in its turn). Its content stays as the
 * store holds it. */
static void
store_details (CairnMaildirResource *self,
               guint64               item_id,
               int                   folder_fd,
               const char           *maildir,
               const char           *relative_name)
{
  CairnStore *store = get_store (self);
  CairnMaildirKeywords keywords = { { NULL }, 0 };
  g_autoptr(CairnItem) message = NULL;
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(CairnItem) item = NULL;
  g_autoptr(GError) error = NULL;
  Location details;

  cairn_maildir_keywords_load (&keywords, folder_fd);
  message = cairn_maildir_message_read (folder_fd, maildir, relative_name, &keywords,
                                        self->fallback_charset, &error);
  cairn_maildir_keywords_clear (&keywords);
  if (message != NULL)
    stored = cairn_store_get_item (store, item_id, NULL, &error);
  if (stored == NULL)
    {
      /* Not mail we can read, or gone: the message stays as it is. */
      g_debug ("No details for item %" G_GUINT64_FORMAT ": %s", item_id, error->message);
      return;
    }
  item = cairn_item_new (cairn_item_get_mime_type (stored));
  cairn_item_set_id (item, item_id);
  cairn_item_set_size (item, cairn_item_get_size (message));
  cairn_item_set_remote_id (item, cairn_item_get_remote_id (message));
  cairn_item_set_remote_revision (item, relative_name);
  cairn_item_set_gid (item, cairn_item_get_gid (message));
  cairn_item_set_date (item, cairn_item_get_date (message));
  cairn_item_set_part (item, cairn_item_get_part (message, CAIRN_PART_ENVELOPE));
  details.item = item;
  details.unchanged_since = cairn_item_get_revision (stored);
  if (!cairn_store_write_sync (store, store_location_write, &details, NULL, NULL, &error))
    g_debug ("No details for item %" G_GUINT64_FORMAT ": %s", item_id, error->message);
}

static void
item_added (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  guint64 collection_id = cairn_change_get_collection_id (change);
  g_autoptr(GInputStream) input = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *relative_name = NULL;
  g_autofree char *uid = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  gboolean flags_unread = FALSE;

  if (check_writable (self, &error))
    input = open_message (self, item, &error);
  if (input != NULL)
    maildir = existing_folder_path (self, collection_id, &folder_fd, &error);
  if (maildir != NULL &&
      (!cairn_resource_replay_is_retry (CAIRN_RESOURCE (self)) ||
       remove_attempts (self, collection_id, folder_fd, maildir,
                        cairn_change_get_entity_id (change), NULL, &error)))
    relative_name = deliver (folder_fd, maildir, item, input, NULL, NULL, NULL, &flags_unread,
                             &error);
  if (relative_name != NULL)
    {
      uid = cairn_maildir_name_get_uid (strchr (relative_name, '/') + 1);
      index_set (self, collection_id, uid, relative_name);
      store_details (self, cairn_change_get_entity_id (change), folder_fd, maildir,
                     relative_name);
    }
  report (CAIRN_RESOURCE (self), error, uid, relative_name);
}

static gboolean take_from_elsewhere (CairnMaildirResource  *self,
                                     const char            *uid,
                                     int                   *folder_fd,
                                     char                 **maildir,
                                     char                 **current,
                                     GError               **error);

/* A maildir message never changes: a new content is a new message, which
 * replaces the old one. Other changes (attributes, envelope) stay local. */
static void
item_changed (CairnObserver      *observer,
              CairnMonitor       *monitor,
              CairnChange        *change,
              CairnItem          *item,
              const char * const *parts)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  guint64 collection_id = cairn_item_get_collection_id (item);
  const char *old_uid = cairn_item_get_remote_id (item);
  g_autoptr(GInputStream) input = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *relative_name = NULL;
  g_autofree char *old_name = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *elsewhere_maildir = NULL;
  g_autofree char *elsewhere_name = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  g_auto(CairnMaildirFd) elsewhere_fd = -1;
  gboolean flags_unread = FALSE;

  if (parts == NULL || !g_strv_contains (parts, CAIRN_PART_RFC822))
    {
      cairn_resource_change_replayed (CAIRN_RESOURCE (self), NULL, NULL);
      return;
    }
  if (check_writable (self, &error))
    input = open_message (self, item, &error);
  if (input != NULL)
    maildir = existing_folder_path (self, collection_id, &folder_fd, &error);
  if (maildir != NULL && old_uid != NULL && check_uid (old_uid, &error))
    old_name = locate (self, collection_id, folder_fd, maildir, old_uid,
                       cairn_item_get_remote_revision (item));
  /* Not in its folder: another program moved it to another since. The
   * new content goes to the item's folder all the same, with the flags
   * the old message has there, and the old message goes from where it
   * is, so that there is one; looked for before the new one is there,
   * which may be under the same name. */
  if (error == NULL && maildir != NULL && old_name == NULL && old_uid != NULL)
    take_from_elsewhere (self, old_uid, &elsewhere_fd, &elsewhere_maildir, &elsewhere_name,
                         &error);
  /* Its message gone, an edit killed before it reported may have left
   * one under a name the store never learnt. */
  if (error == NULL && maildir != NULL &&
      (old_name == NULL || cairn_resource_replay_is_retry (CAIRN_RESOURCE (self))))
    remove_attempts (self, collection_id, folder_fd, maildir, cairn_item_get_id (item), old_uid,
                     &error);
  if (error == NULL && maildir != NULL)
    relative_name = deliver (folder_fd, maildir, item, input, old_uid, old_name,
                             old_name ? old_name : elsewhere_name, &flags_unread, &error);
  if (relative_name == NULL)
    {
      report (CAIRN_RESOURCE (self), error, NULL, NULL);
      return;
    }
  uid = cairn_maildir_name_get_uid (strchr (relative_name, '/') + 1);
  index_set (self, collection_id, uid, relative_name);
  /* The new file is safe on disk before the old one goes. */
  if (old_name != NULL && g_strcmp0 (old_uid, uid) != 0)
    {
      g_autofree char *old_path = g_build_filename (maildir, old_name, NULL);

      if (cairn_maildir_unlinkat (folder_fd, old_name, 0) != 0 && errno != ENOENT)
        cairn_maildir_set_errno_error (&error, errno, "remove", old_path);
      index_set (self, collection_id, old_uid, NULL);
    }
  if (elsewhere_name != NULL && cairn_maildir_unlinkat (elsewhere_fd, elsewhere_name, 0) != 0 &&
      errno != ENOENT)
    {
      g_autofree char *path = g_build_filename (elsewhere_maildir, elsewhere_name, NULL);

      cairn_maildir_set_errno_error (&error, errno, "remove", path);
    }
  if (error == NULL)
    store_details (self, cairn_item_get_id (item), folder_fd, maildir, relative_name);
  /* Flags the store has not read, kept from the message replaced: no
   * remote revision, so that the next sync reads the message again. */
  report (CAIRN_RESOURCE (self), error, uid, flags_unread ? NULL : relative_name);
}

/* The name in cur/ of message @uid, now @current in the folder @maildir
 * (@folder_fd), with the flags of @added and @removed applied to those
 * its name has now, which another program may have changed; %NULL on
 * error. */
static char *
flagged_name (int                folder_fd,
              const char        *maildir,
              const char        *uid,
              const char        *current,
              const CairnFlags  *added,
              const CairnFlags  *removed,
              GError           **error)
{
  CairnMaildirKeywords keywords = { { NULL }, 0 };
  g_autofree char *info = NULL;

  if (!cairn_maildir_keywords_ensure (&keywords, folder_fd, maildir, added, error))
    {
      cairn_maildir_keywords_clear (&keywords);
      return NULL;
    }
  info = cairn_maildir_info_apply (cairn_maildir_name_get_info (strchr (current, '/') + 1),
                                   added, removed, &keywords);
  cairn_maildir_keywords_clear (&keywords);
  /* A message with flags belongs in cur/, as every reader moves it. */
  return g_strconcat ("cur/", uid, ":2,", info, NULL);
}

/* The error of a rename of @current in @maildir that failed with errno. */
static gboolean
rename_failed (const char  *maildir,
               const char  *current,
               GError     **error)
{
  int saved_errno = errno;
  g_autofree char *from = g_build_filename (maildir, current, NULL);

  return cairn_maildir_set_errno_error (error, saved_errno, "rename", from);
}

/* Where each message of the maildir is, for the flag changes of one
 * delivery that did not find their messages in their folders: listed
 * once, when the first is met. */
typedef struct
{
  char *root;            /* the maildir's, canonical */
  GHashTable *folders;   /* unique name -> the path of its folder */
  GHashTable *names;     /* unique name -> its name in that folder */
} MessageIndex;

static void
message_index_clear (MessageIndex *messages)
{
  g_clear_pointer (&messages->root, g_free);
  g_clear_pointer (&messages->folders, g_hash_table_unref);
  g_clear_pointer (&messages->names, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MessageIndex, message_index_clear)

static gboolean
message_index_load (CairnMaildirResource  *self,
                    MessageIndex          *messages,
                    GError               **error)
{
  g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) folders = NULL;
  const char *root;

  messages->root = canonical_root (self, error);
  root = messages->root;
  if (root == NULL)
    return FALSE;
  messages->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  messages->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  folders = cairn_maildir_folder_list (root, self->layout, skipped);
  for (guint i = 0; i < folders->len; i++)
    {
      const char *remote_id = cairn_collection_get_remote_id (g_ptr_array_index (folders, i));
      g_autofree char *maildir = cairn_maildir_folder_path (root, self->layout, remote_id, NULL);
      g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);
      g_auto(CairnMaildirFd) folder_fd = -1;
      GHashTableIter iter;
      gpointer uid, name;

      /* What cannot be read is what a sync reports. */
      if (maildir == NULL ||
          (folder_fd = cairn_maildir_folder_open (root, maildir, NULL)) < 0 ||
          !cairn_maildir_folder_list_messages (folder_fd, maildir, names, NULL, NULL))
        continue;
      g_hash_table_iter_init (&iter, names);
      while (g_hash_table_iter_next (&iter, &uid, &name))
        {
          g_hash_table_insert (messages->folders, g_strdup (uid), g_strdup (maildir));
          g_hash_table_insert (messages->names, g_strdup (uid), g_strdup (name));
        }
    }
  return TRUE;
}

/* Opens the folder of the maildir that holds message @uid, as @messages
 * (listed when first needed) has it, into @folder_fd; its path and the
 * message's name there, @messages's own, in @maildir and @current.
 * %FALSE without an error when no folder holds it. */
static gboolean
open_elsewhere (CairnMaildirResource  *self,
                MessageIndex          *messages,
                const char            *uid,
                int                   *folder_fd,
                const char           **maildir,
                const char           **current,
                GError               **error)
{
  if (messages->folders == NULL && !message_index_load (self, messages, error))
    return FALSE;
  *maildir = g_hash_table_lookup (messages->folders, uid);
  *current = g_hash_table_lookup (messages->names, uid);
  if (*maildir == NULL)
    return FALSE;
  *folder_fd = cairn_maildir_folder_open (messages->root, *maildir, error);
  return *folder_fd >= 0;
}

/* A message no longer in its folder: another program removed it, or
 * moved it to another folder under the same unique name, as every
 * reader does. There the flags follow it, and the next sync of that
 * folder finds it with them. */
static gboolean
replay_flags_elsewhere (CairnMaildirResource  *self,
                        MessageIndex          *messages,
                        const char            *uid,
                        const CairnFlags      *added,
                        const CairnFlags      *removed,
                        GError               **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *target = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  const char *maildir, *current;

  if (!open_elsewhere (self, messages, uid, &folder_fd, &maildir, &current, &local_error))
    {
      /* Removed: the delta goes nowhere. */
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  target = flagged_name (folder_fd, maildir, uid, current, added, removed, error);
  if (target == NULL)
    return FALSE;
  g_debug ("The flags of %s follow it to %s", uid, maildir);
  if (strcmp (target, current) != 0 &&
      cairn_maildir_renameat (folder_fd, current, folder_fd, target, FALSE) != 0 &&
      errno != ENOENT)
    return rename_failed (maildir, current, error);
  g_hash_table_insert (messages->names, g_strdup (uid), g_steal_pointer (&target));
  return TRUE;
}

/* Renames the message to carry the flags of @added and @removed applied
 * to those its name has now, which another program may have changed. */
static gboolean
replay_flags (CairnMaildirResource  *self,
              MessageIndex          *messages,
              CairnChange           *change,
              const CairnFlags      *added,
              const CairnFlags      *removed,
              GError               **error)
{
  g_autoptr(CairnItem) item = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *current = NULL;
  g_autofree char *target = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  const char *uid;
  guint64 collection_id;

  /* The item where it was at this change: a later move is replayed
   * after it, and carries the renamed file along. */
  item = g_object_ref (cairn_change_get_item (change));
  uid = cairn_item_get_remote_id (item);
  /* Never written to the maildir: its creation will carry the flags. */
  if (uid == NULL)
    return TRUE;
  collection_id = cairn_item_get_collection_id (item);
  if (!check_uid (uid, error) ||
      (maildir = folder_path (self, collection_id, &folder_fd, error)) == NULL)
    return FALSE;

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_clear_pointer (&current, g_free);
      current = locate (self, collection_id, folder_fd, maildir, uid,
                        cairn_item_get_remote_revision (item));
      if (current == NULL)
        return replay_flags_elsewhere (self, messages, uid, added, removed, error);
      g_clear_pointer (&target, g_free);
      target = flagged_name (folder_fd, maildir, uid, current, added, removed, error);
      if (target == NULL)
        return FALSE;
      /* Already so: an attempt that did not report, or another program. */
      if (strcmp (target, current) == 0)
        return TRUE;
      if (cairn_maildir_renameat (folder_fd, current, folder_fd, target, FALSE) == 0)
        {
          index_set (self, collection_id, uid, target);
          return store_location (self, cairn_item_get_id (item), maildir, current, target,
                                 error);
        }
      /* Renamed by another program meanwhile: look again, once. */
      if (errno != ENOENT)
        break;
    }
  return rename_failed (maildir, current, error);
}

static void
items_flags_changed (CairnObserver    *observer,
                     CairnMonitor     *monitor,
                     GPtrArray        *changes,
                     const CairnFlags *added,
                     const CairnFlags *removed)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  g_auto(MessageIndex) messages = { NULL, NULL, NULL };
  g_autoptr(GError) error = NULL;

  if (check_writable (self, &error))
    for (guint i = 0; i < changes->len; i++)
      if (!replay_flags (self, &messages, g_ptr_array_index (changes, i), added, removed,
                         &error))
        break;
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

/* The name of message @current (relative to its folder) in the folder it
 * moves to, as @uid: its keyword letters are those of the same keywords
 * in the destination's dovecot-keywords, added there if needed, since the
 * letters of each folder are its own. */
static char *
moved_name (int          from_fd,
            const char  *from_maildir,
            int          to_fd,
            const char  *to_maildir,
            const char  *current,
            const char  *uid,
            GError     **error)
{
  CairnMaildirKeywords from_keywords = { { NULL }, 0 };
  CairnMaildirKeywords to_keywords = { { NULL }, 0 };
  const char *name = strchr (current, '/') + 1;
  const char *info = strstr (name, ":2,") ? cairn_maildir_name_get_info (name) : NULL;
  g_autoptr(CairnFlags) flags = NULL;
  g_autofree char *remapped = NULL;
  char *moved = NULL;

  if (info == NULL)
    return g_strconcat ("new/", uid, NULL);
  cairn_maildir_keywords_load (&from_keywords, from_fd);
  flags = cairn_maildir_info_to_flags (info, &from_keywords);
  if (cairn_maildir_keywords_ensure (&to_keywords, to_fd, to_maildir, flags, error))
    {
      remapped = cairn_maildir_info_remap (info, &from_keywords, &to_keywords);
      moved = g_strconcat ("cur/", uid, ":2,", remapped, NULL);
    }
  cairn_maildir_keywords_clear (&from_keywords);
  cairn_maildir_keywords_clear (&to_keywords);
  return moved;
}

/* The unique name a message moved into a folder that holds another
 * message of its name takes there (Dovecot's COPY, or a program that
 * copies files, leaves such twins): the item id makes it the same on every
 * attempt. */
static char *
twin_uid (const char *uid,
          guint64     item_id)
{
  return g_strdup_printf ("%s.cairn%" G_GUINT64_FORMAT, uid, item_id);
}

static gboolean
forget_item_write (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  return cairn_transaction_delete_item (transaction, *(guint64 *) user_data, error);
}

/* Removes from the store, in a write of our own, an item whose message is
 * gone and which has no remote id a sync could remove it by. */
static gboolean
forget_item (CairnMaildirResource  *self,
             guint64                item_id,
             GError               **error)
{
  g_autoptr(GError) local_error = NULL;

  if (cairn_store_write_sync (get_store (self), forget_item_write, &item_id, NULL, NULL,
                              &local_error) ||
      g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* The message of item @item_id in the source folder @from_fd when the
 * one its remote id names is gone: an edit killed after it wrote the new
 * message and removed the old one, before the store learnt the new name,
 * left it there under a name of ours. Unless a message of ours for it is
 * in the destination already: an attempt of this move took it there. */
static char *
unreported_edit (guint64 item_id,
                 int     from_fd,
                 int     to_fd)
{
  g_autoptr(GPtrArray) in_source = list_attempts (from_fd, item_id);
  g_autoptr(GPtrArray) in_destination = NULL;

  if (in_source->len != 1)
    return NULL;
  in_destination = list_attempts (to_fd, item_id);
  if (in_destination->len > 0)
    return NULL;
  return g_strdup (g_ptr_array_index (in_source, 0));
}

/* Where message @uid is in the maildir, if anywhere: the folder opened
 * into @folder_fd and its path in @maildir (both replaced), its name
 * there in @current. */
static gboolean
take_from_elsewhere (CairnMaildirResource  *self,
                     const char            *uid,
                     int                   *folder_fd,
                     char                 **maildir,
                     char                 **current,
                     GError               **error)
{
  g_auto(MessageIndex) messages = { NULL, NULL, NULL };
  const char *found, *name;
  int fd = -1;

  if (!open_elsewhere (self, &messages, uid, &fd, &found, &name, error))
    return FALSE;
  cairn_maildir_fd_close (*folder_fd);
  *folder_fd = fd;
  g_free (*maildir);
  *maildir = g_strdup (found);
  *current = g_strdup (name);
  return TRUE;
}

static void
item_moved (CairnObserver *observer,
            CairnMonitor  *monitor,
            CairnChange   *change,
            CairnItem     *item,
            guint64        source,
            guint64        destination)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  const char *uid = cairn_change_get_remote_id (change);
  guint64 item_id = cairn_change_get_entity_id (change);
  g_autofree char *from_maildir = NULL;
  g_autofree char *to_maildir = NULL;
  g_autofree char *current = NULL;
  g_autofree char *target = NULL;
  g_autofree char *twin = NULL;
  g_autofree char *in_destination = NULL;
  g_autofree char *new_uid = NULL;
  g_auto(CairnMaildirFd) from_fd = -1;
  g_auto(CairnMaildirFd) to_fd = -1;
  g_autoptr(GError) error = NULL;
  gboolean store_twin;
  gboolean tell_store;

  /* Never written to the maildir: nothing to move. */
  if (uid == NULL)
    {
      cairn_resource_change_replayed (CAIRN_RESOURCE (self), NULL, NULL);
      return;
    }
  if (check_writable (self, &error) && check_uid (uid, &error) &&
      (from_maildir = folder_path (self, source, &from_fd, &error)) != NULL)
    to_maildir = existing_folder_path (self, destination, &to_fd, &error);
  if (to_maildir == NULL)
    {
      cairn_resource_change_failed (CAIRN_RESOURCE (self), error);
      return;
    }
  twin = twin_uid (uid, item_id);
  /* Without a remote id, the item went into a folder where the store holds
   * another item of its name (cairn_transaction_move_item()): it takes
   * the twin's name there even if that item's file is gone, and the store
   * learns it. */
  store_twin = item != NULL && cairn_item_get_remote_id (item) == NULL;
  current = locate (self, source, from_fd, from_maildir, uid,
                    item ? cairn_item_get_remote_revision (item) : NULL);
  in_destination = locate (self, destination, to_fd, to_maildir, uid, NULL);
  if (current == NULL && in_destination == NULL && !store_twin)
    current = unreported_edit (item_id, from_fd, to_fd);
  /* In neither folder: another program filed it elsewhere since, under
   * the same unique name, and the move takes it from there. */
  if (current == NULL && in_destination == NULL && !store_twin &&
      take_from_elsewhere (self, uid, &from_fd, &from_maildir, &current, &error))
    g_debug ("Moving %s from %s, where another program filed it", uid, from_maildir);
  if (current != NULL)
    {
      g_autofree char *current_uid = cairn_maildir_name_get_uid (strchr (current, '/') + 1);

      new_uid = g_strdup (in_destination != NULL || store_twin ? twin : current_uid);
      target = moved_name (from_fd, from_maildir, to_fd, to_maildir, current, new_uid, &error);
      if (target != NULL &&
          cairn_maildir_renameat (from_fd, current, to_fd, target, FALSE) != 0)
        {
          g_autofree char *from = g_build_filename (from_maildir, current, NULL);

          cairn_maildir_set_errno_error (&error, errno, "move", from);
        }
      index_set (self, source, current_uid, NULL);
    }
  else
    {
      /* Moved by an attempt that did not report, or gone. */
      g_autofree char *moved_twin = locate (self, destination, to_fd, to_maildir, twin, NULL);

      new_uid = g_strdup (moved_twin != NULL ? twin : uid);
      /* A file of its old name there is the other item's. */
      target = moved_twin != NULL ? g_steal_pointer (&moved_twin)
                                  : store_twin ? NULL : g_steal_pointer (&in_destination);
      /* Gone, and no sync can remove an item without a remote id. */
      if (target == NULL && store_twin)
        forget_item (self, item_id, &error);
    }
  if (error == NULL && target != NULL)
    {
      index_set (self, destination, new_uid, target);
      store_location (self, item_id, to_maildir, current, target, &error);
    }
  /* The unique name changes only for a twin: the store learns the new
   * one, and one it holds no remote id for; the remote revision is the
   * new name unless another program renamed the message before us
   * (store_location()). */
  tell_store = target != NULL && (store_twin || strcmp (new_uid, uid) != 0);
  report (CAIRN_RESOURCE (self), error, tell_store ? new_uid : NULL,
          tell_store && item != NULL &&
          g_strcmp0 (cairn_item_get_remote_revision (item), current) == 0 ? target : NULL);
}

static void
item_removed (CairnObserver *observer,
              CairnMonitor  *monitor,
              CairnChange   *change)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  guint64 collection_id = cairn_change_get_collection_id (change);
  const char *uid = cairn_change_get_remote_id (change);
  g_autofree char *maildir = NULL;
  g_autofree char *current = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;

  /* Never reported written: an interrupted creation may have left it. */
  if (uid == NULL)
    {
      /* A folder that never reached the disk holds nothing of it. */
      if (!self->read_only)
        maildir = folder_path (self, collection_id, &folder_fd, NULL);
      if (maildir != NULL)
        remove_attempts (self, collection_id, folder_fd, maildir,
                         cairn_change_get_entity_id (change), NULL, &error);
      report (CAIRN_RESOURCE (self), error, NULL, NULL);
      return;
    }
  if (check_writable (self, &error) && check_uid (uid, &error))
    maildir = folder_path (self, collection_id, &folder_fd, &error);
  if (maildir != NULL)
    current = locate (self, collection_id, folder_fd, maildir, uid, NULL);
  if (current != NULL)
    {
      g_autofree char *path = g_build_filename (maildir, current, NULL);

      if (cairn_maildir_unlinkat (folder_fd, current, 0) != 0 && errno != ENOENT)
        cairn_maildir_set_errno_error (&error, errno, "remove", path);
      else
        index_set (self, collection_id, uid, NULL);
    }
  /* Gone already is what we want; unless an edit killed before it
   * reported replaced it by a message of a name nobody knows. */
  else if (maildir != NULL)
    remove_attempts (self, collection_id, folder_fd, maildir,
                     cairn_change_get_entity_id (change), NULL, &error);
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

/* The remote id of a folder named @name in collection @parent_id (0 for
 * the top level), where the backend has the parent. */
static char *
child_remote_id (CairnMaildirResource  *self,
                 const char            *root,
                 guint64                parent_id,
                 const char            *name,
                 GError               **error)
{
  g_autofree char *parent = NULL;

  if (parent_id != 0 && (parent = backend_remote_id (self, root, parent_id, error)) == NULL)
    return NULL;
  return cairn_maildir_folder_child_remote_id (self->layout, parent, name, error);
}

static void
collection_added (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *root = NULL;
  g_autoptr(GError) error = NULL;

  /* Created with its name and parent of this change, also when renamed,
   * moved or removed locally since: items moved into it, or out of it
   * again, are moved on disk as they were, its later changes follow, and
   * a creation repeated after a crash makes the same folder. */
  if (check_writable (self, &error) && (root = canonical_root (self, &error)) != NULL)
    collection = g_object_ref (cairn_change_get_collection (change));
  if (collection != NULL)
    remote_id = child_remote_id (self, root, cairn_collection_get_parent_id (collection),
                                 cairn_collection_get_name (collection), &error);
  if (remote_id != NULL)
    cairn_maildir_folder_create (root, self->layout, remote_id, &error);
  report (CAIRN_RESOURCE (self), error, remote_id, NULL);
}

/* A folder renamed or moved on disk: the remote ids of its sub-folders,
 * which moved with it, and the paths of the messages in all of them. */
typedef struct
{
  GPtrArray *collections;   /* the sub-folders, with their new remote ids */
  GPtrArray *items;         /* Locations of the messages, with their new paths */
} Relocation;

static void
relocation_clear (Relocation *relocation)
{
  g_clear_pointer (&relocation->collections, g_ptr_array_unref);
  g_clear_pointer (&relocation->items, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Relocation, relocation_clear)

static void
location_free (Location *location)
{
  g_object_unref (location->item);
  g_free (location);
}

typedef struct
{
  GPtrArray *items;
  const char *from;         /* the folder's old path */
  const char *to;           /* and its new one */
} FolderMessages;

static gboolean
collect_message (CairnItem *stored,
                 gpointer   user_data)
{
  FolderMessages *messages = user_data;
  CairnPart *part = cairn_item_get_part (stored, CAIRN_PART_RFC822);
  const char *path = part ? cairn_part_get_path (part) : NULL;
  gsize length = strlen (messages->from);
  g_autofree char *moved = NULL;
  Location *location;

  if (part == NULL || cairn_part_get_storage (part) != CAIRN_PART_STORAGE_FOREIGN ||
      path == NULL || strncmp (path, messages->from, length) != 0 || path[length] != '/')
    return TRUE;
  moved = g_strconcat (messages->to, path + length, NULL);
  location = g_new0 (Location, 1);
  location->item = relocated_item (stored, cairn_item_get_remote_revision (stored), moved);
  location->unchanged_since = cairn_item_get_revision (stored);
  g_ptr_array_add (messages->items, location);
  return TRUE;
}

/* Adds the messages of collection @id whose RFC822 part is in @from to
 * @relocation, with their path in @to. A collection removed locally has
 * none left in the store. */
static gboolean
collect_messages (CairnMaildirResource  *self,
                  Relocation            *relocation,
                  guint64                id,
                  const char            *root,
                  const char            *from,
                  const char            *to,
                  GError               **error)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autofree char *from_path = cairn_maildir_folder_path (root, self->layout, from, error);
  g_autofree char *to_path = NULL;
  FolderMessages messages = { relocation->items, NULL, NULL };
  g_autoptr(GError) local_error = NULL;

  if (from_path == NULL || (to_path = cairn_maildir_folder_path (root, self->layout, to,
                                                                 error)) == NULL)
    return FALSE;
  messages.from = from_path;
  messages.to = to_path;
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  if (cairn_store_foreach_item (get_store (self), id, scope, collect_message, &messages, NULL,
                                &local_error) ||
      g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* What moved on disk with the folder of collection @id, renamed from
 * @from to @to: its sub-folders in Maildir++ and the fs layout alike, and
 * the messages of them all. */
static gboolean
collect_relocation (CairnMaildirResource  *self,
                    Relocation            *relocation,
                    guint64                id,
                    const char            *root,
                    const char            *from,
                    const char            *to,
                    GError               **error)
{
  g_autoptr(GPtrArray) collections = NULL;
  char separator = self->layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP ? '.' : '/';
  gsize length = strlen (from);

  collections = cairn_store_list_collections (get_store (self),
                                              cairn_agent_get_id (CAIRN_AGENT (self)), error);
  if (collections == NULL ||
      !collect_messages (self, relocation, id, root, from, to, error))
    return FALSE;
  relocation->collections = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *descendant = g_ptr_array_index (collections, i);
      const char *remote_id = cairn_collection_get_remote_id (descendant);
      g_autofree char *renamed = NULL;

      if (remote_id == NULL || strncmp (remote_id, from, length) != 0 ||
          remote_id[length] != separator)
        continue;
      renamed = g_strconcat (to, remote_id + length, NULL);
      if (!collect_messages (self, relocation, cairn_collection_get_id (descendant), root,
                             remote_id, renamed, error))
        return FALSE;
      cairn_collection_set_remote_id (descendant, renamed);
      g_ptr_array_add (relocation->collections, g_object_ref (descendant));
    }
  return TRUE;
}

/* In a write of our own, never replayed to us. A message changed or
 * removed meanwhile keeps its path: its own replay stores the new one. A
 * sub-folder changed meanwhile fails the write with a conflict: written
 * as read, it would lose that change, a local rename for instance. One
 * removed meanwhile is left out: its removal finds it through its parent
 * (resolve_remote_id()), and failing the write would leave the store
 * naming paths the rename on disk has taken away. */
static gboolean
relocate_write (CairnTransaction  *transaction,
                gpointer           user_data,
                GError           **error)
{
  Relocation *relocation = user_data;

  for (guint i = 0; i < relocation->collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (relocation->collections, i);
      g_autoptr(GError) local_error = NULL;

      if (cairn_transaction_modify_collection (transaction, collection,
                                               cairn_collection_get_revision (collection),
                                               &local_error) ||
          g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        continue;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  for (guint i = 0; i < relocation->items->len; i++)
    {
      Location *location = g_ptr_array_index (relocation->items, i);
      g_autoptr(GError) local_error = NULL;

      if (cairn_transaction_modify_item (transaction, location->item, location->unchanged_since,
                                         &local_error) ||
          g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT) ||
          g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        continue;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

/* Renames the folder from @from to @to on disk, and stores what moved
 * with it: the remote ids of its sub-folders and the paths of the
 * messages of them all. What is stored is read again when a sub-folder
 * changed locally between the reading and the write. */
static gboolean
rename_folder (CairnMaildirResource  *self,
               guint64                id,
               const char            *root,
               const char            *from,
               const char            *to,
               GError               **error)
{
  for (guint attempt = 0; ; attempt++)
    {
      g_auto(Relocation) relocation = { NULL, NULL };
      g_autoptr(GError) local_error = NULL;

      relocation.items = g_ptr_array_new_with_free_func ((GDestroyNotify) location_free);
      if (!collect_relocation (self, &relocation, id, root, from, to, error) ||
          (attempt == 0 && !cairn_maildir_folder_rename (root, self->layout, from, to, error)))
        return FALSE;
      if (cairn_store_write_sync (get_store (self), relocate_write, &relocation, NULL, NULL,
                                  &local_error))
        return TRUE;
      if (!g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* Renamed on disk already: the replay, tried again, stores it. */
      if (attempt == RELOCATION_ATTEMPTS - 1)
        {
          g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_TRANSIENT,
                       "The sub-folders of %s kept changing: %s", to, local_error->message);
          return FALSE;
        }
    }
}

/* The move of a folder removed locally since: it goes where the move
 * took it, so that its removal, or the replay of items moved out of it
 * before, finds it there. Its name is the one the backend has. It is
 * still in the parent it leaves, not in the one its removal names. */
static char *
move_removed_folder (CairnMaildirResource  *self,
                     const char            *root,
                     CairnChange           *change,
                     GError               **error)
{
  char separator = self->layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP ? '.' : '/';
  g_autofree char *from = resolve_remote_id (self, root, cairn_change_get_collection_id (change),
                                             cairn_change_get_remote_id (change), error);
  g_autofree char *to = NULL;
  const char *name;

  if (from == NULL)
    return NULL;
  name = strrchr (from, separator) ? strrchr (from, separator) + 1 : from;
  to = child_remote_id (self, root, cairn_change_get_destination_id (change), name, error);
  if (to == NULL || (strcmp (from, to) != 0 &&
                     !rename_folder (self, cairn_change_get_entity_id (change), root, from, to,
                                     error)))
    return NULL;
  return g_steal_pointer (&to);
}

/* Whether the folder @from is shown as @to is: the same parent, and a
 * name another program wrote in UTF-8 rather than in modified UTF-7.
 * Such a folder keeps its name on disk when only its other properties
 * change. */
static gboolean
shows_as (CairnMaildirResource *self,
          const char           *from,
          const char           *to)
{
  char separator = self->layout == CAIRN_MAILDIR_LAYOUT_MAILDIRPP ? '.' : '/';
  const char *from_name = strrchr (from, separator);
  const char *to_name = strrchr (to, separator);
  g_autofree char *from_shown = NULL;
  g_autofree char *to_shown = NULL;

  from_name = from_name ? from_name + 1 : from;
  to_name = to_name ? to_name + 1 : to;
  if (from_name - from != to_name - to || strncmp (from, to, from_name - from) != 0)
    return FALSE;
  from_shown = cairn_maildir_folder_display_name (from_name);
  to_shown = cairn_maildir_folder_display_name (to_name);
  return strcmp (from_shown, to_shown) == 0;
}

/* A rename or a move: both give the folder a new remote id. */
static void
relocate_collection (CairnMaildirResource *self,
                     CairnChange          *change)
{
  CairnStore *store = get_store (self);
  CairnCollection *at_change = cairn_change_get_collection (change);
  g_autoptr(CairnCollection) collection = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *root = NULL;
  g_autofree char *from = NULL;
  g_autoptr(GError) error = NULL;

  if (check_writable (self, &error) && (root = canonical_root (self, &error)) != NULL)
    collection = cairn_store_get_collection (store, cairn_change_get_entity_id (change), &error);
  /* Removed since, and renamed: it keeps its name until its removal. */
  if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    {
      g_clear_error (&error);
      if (cairn_change_get_operation (change) == CAIRN_CHANGE_MOVE)
        remote_id = move_removed_folder (self, root, change, &error);
      report (CAIRN_RESOURCE (self), error, remote_id, NULL);
      return;
    }
  /* Where this change put it, as the changes that follow expect: a
   * collection's pending changes are coalesced only into its last one, so
   * each carries a parent and name it really had (and a parent it went
   * into later may not be in the maildir yet). */
  if (collection != NULL)
    remote_id = child_remote_id (self, root, cairn_collection_get_parent_id (at_change),
                                 cairn_collection_get_name (at_change), &error);
  if (remote_id == NULL)
    {
      cairn_resource_change_failed (CAIRN_RESOURCE (self), error);
      return;
    }
  from = resolve_remote_id (self, root, 0, cairn_collection_get_remote_id (collection), &error);
  if (from != NULL && shows_as (self, from, remote_id))
    {
      g_free (remote_id);
      remote_id = g_strdup (from);
    }
  if (from != NULL && strcmp (from, remote_id) != 0)
    rename_folder (self, cairn_collection_get_id (collection), root, from, remote_id, &error);
  report (CAIRN_RESOURCE (self), error, remote_id, NULL);
}

static void
collection_changed (CairnObserver      *observer,
                    CairnMonitor       *monitor,
                    CairnChange        *change,
                    const char * const *parts)
{
  relocate_collection (CAIRN_MAILDIR_RESOURCE (observer), change);
}

static void
collection_moved (CairnObserver *observer,
                  CairnMonitor  *monitor,
                  CairnChange   *change,
                  guint64        source,
                  guint64        destination)
{
  relocate_collection (CAIRN_MAILDIR_RESOURCE (observer), change);
}

static void
collection_removed (CairnObserver *observer,
                    CairnMonitor  *monitor,
                    CairnChange   *change)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (observer);
  g_autofree char *root = NULL;
  g_autofree char *remote_id = NULL;
  g_autoptr(GError) error = NULL;
  guint64 id = cairn_change_get_entity_id (change);

  if (check_writable (self, &error))
    root = canonical_root (self, &error);
  /* Never written to the maildir: nothing to remove. */
  if (root != NULL && cairn_change_get_remote_id (change) != NULL)
    remote_id = removed_folder_remote_id (self, root, cairn_change_get_collection (change),
                                          &error);
  if (remote_id != NULL)
    cairn_maildir_folder_remove (root, self->layout, remote_id, &error);
  g_hash_table_remove (self->indexes, &id);
  report (CAIRN_RESOURCE (self), error, NULL, NULL);
}

static void
cairn_maildir_resource_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->item_changed = item_changed;
  iface->items_flags_changed = items_flags_changed;
  iface->item_moved = item_moved;
  iface->item_removed = item_removed;
  iface->collection_added = collection_added;
  iface->collection_changed = collection_changed;
  iface->collection_moved = collection_moved;
  iface->collection_removed = collection_removed;
}

/* The RFC822 part is the file: nothing is ever missing but the file
 * itself, so one item is read again as a sync reads it. */
static void
retrieve_item (CairnResource       *resource,
               CairnItem           *item,
               const char * const  *parts,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (resource);
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  guint64 collection_id = cairn_item_get_collection_id (item);
  const char *uid = cairn_item_get_remote_id (item);
  CairnMaildirKeywords keywords = { { NULL }, 0 };
  g_autofree char *maildir = NULL;
  g_autofree char *current = NULL;
  g_auto(CairnMaildirFd) folder_fd = -1;
  CairnItem *message = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, retrieve_item);
  if (check_uid (uid, &error))
    maildir = existing_folder_path (self, collection_id, &folder_fd, &error);
  if (maildir != NULL)
    {
      current = locate (self, collection_id, folder_fd, maildir, uid,
                        cairn_item_get_remote_revision (item));
      if (current == NULL)
        g_set_error (&error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                     "The message %s is no longer in %s", uid, maildir);
    }
  if (current != NULL)
    {
      cairn_maildir_keywords_load (&keywords, folder_fd);
      message = cairn_maildir_message_read (folder_fd, maildir, current, &keywords,
                                            self->fallback_charset, &error);
      cairn_maildir_keywords_clear (&keywords);
    }
  if (message == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, message, g_object_unref);
}

static CairnItem *
retrieve_item_finish (CairnResource  *resource,
                      GAsyncResult   *result,
                      GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* GObject */

static gboolean
cairn_maildir_resource_setup (CairnAgent  *agent,
                              GError     **error)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (agent);

  g_mime_init ();
  self->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (self->inotify_fd < 0)
    /* Syncs on request and at start still work. */
    g_message ("Cannot watch the maildir: %s", g_strerror (errno));
  else
    self->inotify_source = g_unix_fd_add (self->inotify_fd, G_IO_IN, inotify_readable, self);
  return TRUE;
}

static void
cairn_maildir_resource_dispose (GObject *object)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (object);

  g_clear_handle_id (&self->inotify_source, g_source_remove);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (self->inotify_fd >= 0)
    {
      close (self->inotify_fd);
      self->inotify_fd = -1;
    }

  G_OBJECT_CLASS (cairn_maildir_resource_parent_class)->dispose (object);
}

static void
cairn_maildir_resource_finalize (GObject *object)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (object);

  g_free (self->path);
  g_free (self->fallback_charset);
  g_free (self->root);
  g_hash_table_unref (self->watches);
  g_hash_table_unref (self->watched);
  g_hash_table_unref (self->dirty);
  g_hash_table_unref (self->indexes);
  g_hash_table_unref (self->reported);

  G_OBJECT_CLASS (cairn_maildir_resource_parent_class)->finalize (object);
}

static void
cairn_maildir_resource_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_LAYOUT:
      g_value_set_enum (value, self->layout);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    case PROP_FALLBACK_CHARSET:
      g_value_set_string (value, self->fallback_charset);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_maildir_resource_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CairnMaildirResource *self = CAIRN_MAILDIR_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      if (g_strcmp0 (self->path, g_value_get_string (value)) == 0)
        break;
      g_free (self->path);
      self->path = g_value_dup_string (value);
      g_object_notify_by_pspec (object, properties[PROP_PATH]);
      break;
    case PROP_LAYOUT:
      if (self->layout == (CairnMaildirLayout) g_value_get_enum (value))
        break;
      self->layout = g_value_get_enum (value);
      g_object_notify_by_pspec (object, properties[PROP_LAYOUT]);
      break;
    case PROP_READ_ONLY:
      if (self->read_only == g_value_get_boolean (value))
        break;
      self->read_only = g_value_get_boolean (value);
      g_object_notify_by_pspec (object, properties[PROP_READ_ONLY]);
      break;
    case PROP_FALLBACK_CHARSET:
      if (g_strcmp0 (self->fallback_charset, g_value_get_string (value)) == 0)
        break;
      g_free (self->fallback_charset);
      self->fallback_charset = g_value_dup_string (value);
      g_object_notify_by_pspec (object, properties[PROP_FALLBACK_CHARSET]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_maildir_resource_class_init (CairnMaildirResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  object_class->dispose = cairn_maildir_resource_dispose;
  object_class->finalize = cairn_maildir_resource_finalize;
  object_class->get_property = cairn_maildir_resource_get_property;
  object_class->set_property = cairn_maildir_resource_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_maildir_resource_setup;
  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;
  resource_class->retrieve_item = retrieve_item;
  resource_class->retrieve_item_finish = retrieve_item_finish;

  /* The configuration key `path`: the root of the maildir tree. */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The configuration key `layout`: `maildir++` or `fs`. */
  properties[PROP_LAYOUT] =
    g_param_spec_enum ("layout", NULL, NULL, CAIRN_TYPE_MAILDIR_LAYOUT,
                       CAIRN_MAILDIR_LAYOUT_MAILDIRPP,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The configuration key `read-only`: local changes are never written. */
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /* The configuration key `fallback-charset`: the charset of raw 8-bit
   * header text that is not UTF-8, when the message declares none. */
  properties[PROP_FALLBACK_CHARSET] =
    g_param_spec_string ("fallback-charset", NULL, NULL, DEFAULT_FALLBACK_CHARSET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_maildir_resource_init (CairnMaildirResource *self)
{
  self->inotify_fd = -1;
  self->fallback_charset = g_strdup (DEFAULT_FALLBACK_CHARSET);
  self->watches = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  self->watched = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->dirty = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->indexes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
  self->reported = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_MAILDIR_RESOURCE);
