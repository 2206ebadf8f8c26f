/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The live models over a collection of 100,000 items, in a private bus.
 *
 * item_model_first_page_ms: from cairn_item_model_new_async() to its
 * callback, when the model has every id and its first page of items
 * (target < 50), the median of RUNS opens; item_model_first_page_sync_ms
 * the same with cairn_item_model_new_sync(). first_page_limit_ms is the
 * limit in the same run: cairn_store_list_items() of one page, the
 * store's cheapest read of the items a list first shows.
 * item_model_follow_ms: from a commit that adds an item to the model's
 * items-changed for it.
 *
 * Usage: cairn-bench-models [RUNS]   (default 5) */

#include <stdlib.h>

#include <cairn/cairn.h>
#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"

#define ITEMS 100000
#define PAGE 64

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static gboolean
create_inbox (CairnTransaction  *txn,
              gpointer           data,
              GError           **error)
{
  g_autoptr(CairnCollection) inbox = cairn_collection_new ("bench_0", 0, "Inbox");

  if (!cairn_transaction_create_collection (txn, inbox, error))
    return FALSE;
  *(guint64 *) data = cairn_collection_get_id (inbox);
  return TRUE;
}

static gboolean
add_one (CairnTransaction  *txn,
         gpointer           data,
         GError           **error)
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

  cairn_item_set_collection_id (item, *(guint64 *) data);
  return cairn_transaction_create_item (txn, item, error);
}

static void
opened (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  g_autoptr(GError) error = NULL;

  *(CairnItemModel **) data = cairn_item_model_new_finish (result, &error);
  if (error != NULL)
    g_error ("%s", error->message);
}

static void
changed (GListModel *model,
         guint       position,
         guint       removed,
         guint       added,
         gpointer    data)
{
  *(gboolean *) data = TRUE;
}

int
main (int   argc,
      char *argv[])
{
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 5;
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) async_opens = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) sync_opens = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) limits = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) follows = g_array_new (FALSE, FALSE, sizeof (double));
  guint64 inbox = 0;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  if (environment == NULL)
    g_error ("%s", error->message);
  store = cairn_store_open (cairn_test_environment_get_store_path (environment), NULL, &error);
  if (store == NULL || !cairn_store_write_sync (store, create_inbox, &inbox, NULL, NULL, &error))
    g_error ("%s", error->message);
  for (guint i = 0; i < ITEMS; i++)
    {
      CairnItem *item = cairn_item_new ("message/rfc822");

      cairn_item_set_collection_id (item, inbox);
      g_ptr_array_add (items, item);
    }
  if (!cairn_store_create_items_sync (store, items, NULL, &error))
    g_error ("%s", error->message);

  for (guint run = 0; run < runs; run++)
    {
      g_autoptr(CairnItemModel) model = NULL;
      g_autoptr(CairnItemModel) sync_model = NULL;
      g_autoptr(GPtrArray) page = NULL;
      gboolean seen = FALSE;
      double started, value;

      started = now_ms ();
      cairn_item_model_new_async (store, inbox, NULL, opened, &model);
      while (model == NULL)
        g_main_context_iteration (NULL, TRUE);
      value = now_ms () - started;
      g_array_append_val (async_opens, value);
      if (g_list_model_get_n_items (G_LIST_MODEL (model)) < ITEMS ||
          !cairn_item_model_is_item_loaded (model, PAGE - 1))
        g_error ("the model opened without its first page");

      started = now_ms ();
      sync_model = cairn_item_model_new_sync (store, inbox, NULL, &error);
      if (sync_model == NULL)
        g_error ("%s", error->message);
      value = now_ms () - started;
      g_array_append_val (sync_opens, value);

      started = now_ms ();
      page = cairn_store_list_items (store, inbox, NULL, 0, PAGE, &error);
      if (page == NULL)
        g_error ("%s", error->message);
      value = now_ms () - started;
      g_array_append_val (limits, value);

      g_signal_connect (model, "items-changed", G_CALLBACK (changed), &seen);
      started = now_ms ();
      if (!cairn_store_write_sync (store, add_one, &inbox, NULL, NULL, &error))
        g_error ("%s", error->message);
      while (!seen)
        g_main_context_iteration (NULL, TRUE);
      value = now_ms () - started;
      g_array_append_val (follows, value);
    }

  g_print ("items: %u\n", ITEMS);
  g_print ("runs: %u\n", runs);
  g_print ("item_model_first_page_ms: %.1f\n", cairn_bench_median (async_opens));
  g_print ("item_model_first_page_sync_ms: %.1f\n", cairn_bench_median (sync_opens));
  g_print ("first_page_limit_ms: %.2f\n", cairn_bench_median (limits));
  g_print ("item_model_follow_ms: %.1f\n", cairn_bench_median (follows));
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());
  return EXIT_SUCCESS;
}
