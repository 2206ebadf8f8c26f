/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sync merging: a synthetic resource hands 100k mail-like items in
 * batches to an empty store (full_sync_items_per_s), then the same items
 * again, none changed (resync_unchanged_items_per_s). */
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-bench-common.h"

#define N_ITEMS 100000
#define BATCH 1000

#define BENCH_TYPE_RESOURCE (bench_resource_get_type ())
G_DECLARE_FINAL_TYPE (BenchResource, bench_resource, BENCH, RESOURCE, CairnResource)

struct _BenchResource
{
  CairnResource parent_instance;
};

static void bench_resource_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BenchResource, bench_resource, CAIRN_TYPE_RESOURCE,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      bench_resource_observer_init))

static void
retrieve_collections (CairnResource       *resource,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resource, cancellable, callback, user_data);
  GPtrArray *collections = g_ptr_array_new_with_free_func (g_object_unref);
  CairnCollection *inbox = cairn_collection_new (NULL, 0, "Inbox");

  cairn_collection_set_remote_id (inbox, "INBOX");
  g_ptr_array_add (collections, inbox);
  g_task_return_pointer (task, collections, (GDestroyNotify) g_ptr_array_unref);
}

static GPtrArray *
retrieve_collections_finish (CairnResource  *resource,
                             GAsyncResult   *result,
                             GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  CairnItemSync *sync;
  guint next;
} Listing;

static void
listing_free (Listing *listing)
{
  g_object_unref (listing->sync);
  g_free (listing);
}

/* One batch per main loop iteration, as a resource reading a server would. */
static gboolean
hand_batch (gpointer user_data)
{
  GTask *task = user_data;
  Listing *listing = g_task_get_task_data (task);
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < BATCH && listing->next < N_ITEMS; i++, listing->next++)
    {
      CairnItem *item = cairn_item_new ("message/rfc822");
      g_autofree char *remote_id = g_strdup_printf ("%u", listing->next + 1);
      g_autofree char *envelope =
        g_strdup_printf ("(\"Mon, 2 Nov 2026 10:%02u:00 +0000\" \"Message number %u about the "
                         "quarterly numbers\" ((\"Ann Example\" NIL \"ann\" \"example.org\")) "
                         "((\"Bob Example\" NIL \"bob\" \"example.org\")) "
                         "\"<%u@example.org>\")", listing->next % 60, listing->next,
                         listing->next);
      g_autoptr(GBytes) data = g_bytes_new (envelope, strlen (envelope));
      g_autoptr(CairnPart) part = cairn_part_new_inline ("ENVELOPE", data);
      g_autoptr(CairnFlags) flags = cairn_flags_new ();

      if (listing->next % 2 == 0)
        cairn_flags_add (flags, "\\Seen");
      cairn_item_set_remote_id (item, remote_id);
      cairn_item_set_remote_revision (item, "1");
      cairn_item_set_size (item, 4096);
      cairn_item_set_flags (item, flags);
      cairn_item_set_part (item, part);
      g_ptr_array_add (batch, item);
    }

  if (!cairn_item_sync_add_items (listing->sync, batch, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return G_SOURCE_REMOVE;
    }
  if (listing->next < N_ITEMS)
    return G_SOURCE_CONTINUE;
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
retrieve_items (CairnResource       *resource,
                CairnCollection     *collection,
                CairnItemSync       *sync,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  GTask *task = g_task_new (resource, cancellable, callback, user_data);
  Listing *listing = g_new0 (Listing, 1);

  listing->sync = g_object_ref (sync);
  g_task_set_task_data (task, listing, (GDestroyNotify) listing_free);
  g_idle_add (hand_batch, task);
}

static gboolean
retrieve_items_finish (CairnResource  *resource,
                       GAsyncResult   *result,
                       GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
retrieve_item (CairnResource       *resource,
               CairnItem           *item,
               const char * const  *parts,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_task_report_new_error (resource, callback, user_data, retrieve_item, CAIRN_RESOURCE_ERROR,
                           CAIRN_RESOURCE_ERROR_PERMANENT, "The benchmark has no parts to fetch");
}

static CairnItem *
retrieve_item_finish (CairnResource  *resource,
                      GAsyncResult   *result,
                      GError        **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
bench_resource_class_init (BenchResourceClass *klass)
{
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);

  resource_class->retrieve_collections = retrieve_collections;
  resource_class->retrieve_collections_finish = retrieve_collections_finish;
  resource_class->retrieve_items = retrieve_items;
  resource_class->retrieve_items_finish = retrieve_items_finish;
  resource_class->retrieve_item = retrieve_item;
  resource_class->retrieve_item_finish = retrieve_item_finish;
}

/* Nothing is changed locally; the recorder is there as in a real resource. */
static void
bench_resource_observer_init (CairnObserverInterface *iface)
{
}

static void
bench_resource_init (BenchResource *self)
{
}

typedef struct
{
  gboolean done;
  GError *error;
} Wait;

static void
synchronized (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Wait *wait = user_data;

  cairn_resource_synchronize_finish (CAIRN_RESOURCE (source), result, &wait->error);
  wait->done = TRUE;
}

static double
synchronize (CairnResource *resource)
{
  Wait wait = { FALSE, NULL };
  gint64 start = g_get_monotonic_time ();

  cairn_resource_synchronize_async (resource, 0, NULL, synchronized, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.error != NULL)
    g_error ("sync failed: %s", wait.error->message);
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

int
main (void)
{
  g_autofree char *folder = g_dir_make_tmp ("cairn-bench-sync-XXXXXX", NULL);
  g_autofree char *type_path = g_build_filename (folder, "bench.agent", NULL);
  g_autofree char *store_path = g_build_filename (folder, "store.db", NULL);
  g_autoptr(CairnAgentType) agent_type = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  double full, resync;
  guint64 count;

  g_setenv ("XDG_CONFIG_HOME", folder, TRUE);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  if (!g_file_set_contents (type_path,
                            "[Cairn Agent]\nName=Benchmark resource\n"
                            "Module=none\nCapabilities=Resource;NoConfig;\n", -1, &error) ||
      (agent_type = cairn_agent_type_new_from_file (type_path, &error)) == NULL ||
      (store = cairn_store_open (store_path, NULL, &error)) == NULL)
    g_error ("setup: %s", error->message);

  resource = g_initable_new (BENCH_TYPE_RESOURCE, NULL, &error, "id", "bench",
                             "agent-type", agent_type, "store", store, NULL);
  if (resource == NULL)
    g_error ("resource: %s", error->message);

  /* Joins the sync every resource queues at start. */
  full = synchronize (resource);
  resync = synchronize (resource);

  if (!cairn_store_get_collection_statistics (store, 1, &count, NULL, NULL, &error) ||
      count != N_ITEMS)
    g_error ("expected %u items, found %" G_GUINT64_FORMAT, N_ITEMS, count);

  g_print ("full_sync_items: %u\n", N_ITEMS);
  g_print ("full_sync_items_per_s: %.0f\n", N_ITEMS / full);
  g_print ("resync_unchanged_items_per_s: %.0f\n", N_ITEMS / resync);
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());

  cairn_agent_stop (CAIRN_AGENT (resource));
  g_clear_object (&resource);
  g_clear_object (&store);
  command = g_strdup_printf ("rm -rf '%s'", folder);
  return system (command) == 0 ? 0 : 1;
}
