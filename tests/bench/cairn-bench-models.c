/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live models over a collection of 100,000 items: the time from
 * cairn_item_model_new_for_collection() to its first page
 * (first_page_ms) and to the order of every item (whole_order_ms),
 * against the plain SQLite read of the same ids and dates
 * (plain_sqlite_keys_ms); the folder tree with its counts
 * (collection_model_ms); and a write's way into an open model
 * (update_ms). */
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"

#define N_ITEMS 100000
#define RUNS 7

static gboolean
create_collection (CairnTransaction  *transaction,
                   gpointer           user_data,
                   GError           **error)
{
  return cairn_transaction_create_collection (transaction, user_data, error);
}

typedef struct
{
  guint64 id;
  gboolean add;
} Flip;

static gboolean
flip_flagged (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  Flip *flip = user_data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (flip->add)
    cairn_flags_delta_add (delta, CAIRN_FLAG_FLAGGED);
  else
    cairn_flags_delta_remove (delta, CAIRN_FLAG_FLAGGED);
  return cairn_transaction_change_flags (transaction, flip->id, delta, 0, error);
}

static void
wait_first_page (GListModel *model)
{
  while (g_list_model_get_n_items (model) == 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_loaded (GObject *model)
{
  gboolean loading = TRUE;

  for (;;)
    {
      g_object_get (model, "loading", &loading, NULL);
      if (!loading)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
}

static double
plain_keys_ms (const char *path,
               guint64     collection_id)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 start = g_get_monotonic_time ();
  guint64 sum = 0;

  g_assert (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
  g_assert (sqlite3_prepare_v2 (db, "SELECT id, date FROM items WHERE collection_id = ? "
                                    "ORDER BY date DESC, id DESC", -1, &stmt, NULL) == SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) collection_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    sum += sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert (sum > 0);

  return (g_get_monotonic_time () - start) / 1000.0;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnStore) store = NULL;
  const char *path;
  g_autoptr(CairnCollection) inbox = cairn_collection_new ("bench", 0, "Inbox");
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) whole = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) tree = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) update = g_array_new (FALSE, FALSE, sizeof (double));
  GRand *rand = g_rand_new_with_seed (19);

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  g_assert_no_error (error);
  path = cairn_test_environment_get_store_path (environment);
  store = cairn_store_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert (cairn_store_write_sync (store, create_collection, inbox, NULL, NULL, &error));

  for (guint i = 0; i < N_ITEMS; i++)
    {
      CairnItem *item = cairn_item_new ("message/rfc822");
      g_autofree char *remote_id = g_strdup_printf ("%u", i + 1);
      g_autoptr(GDateTime) date =
        g_date_time_new_from_unix_utc (1700000000 + g_rand_int_range (rand, 0, 40000000));

      cairn_item_set_collection_id (item, cairn_collection_get_id (inbox));
      cairn_item_set_remote_id (item, remote_id);
      cairn_item_set_date (item, date);
      if (i % 3 != 0)
        {
          g_autoptr(CairnFlags) flags = cairn_flags_new ();

          cairn_flags_add (flags, CAIRN_FLAG_SEEN);
          cairn_item_set_flags (item, flags);
        }
      g_ptr_array_add (items, item);
    }
  g_assert (cairn_store_create_items_sync (store, items, NULL, &error));
  g_ptr_array_set_size (items, 0);

  for (guint run = 0; run < RUNS; run++)
    {
      g_autoptr(CairnItemModel) model = NULL;
      g_autoptr(CairnCollectionModel) collections = NULL;
      g_autoptr(CairnItem) top = NULL;
      gint64 start = g_get_monotonic_time ();
      guint64 revision;
      Flip flip;
      double ms;

      model = cairn_item_model_new_for_collection (store, cairn_collection_get_id (inbox));
      wait_first_page (G_LIST_MODEL (model));
      ms = (g_get_monotonic_time () - start) / 1000.0;
      g_array_append_val (first, ms);
      top = g_list_model_get_item (G_LIST_MODEL (model), 0);
      g_assert_nonnull (cairn_item_get_remote_id (top));
      wait_loaded (G_OBJECT (model));
      ms = (g_get_monotonic_time () - start) / 1000.0;
      g_array_append_val (whole, ms);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, N_ITEMS);

      ms = plain_keys_ms (path, cairn_collection_get_id (inbox));
      g_array_append_val (plain, ms);

      start = g_get_monotonic_time ();
      collections = cairn_collection_model_new (store, NULL);
      wait_loaded (G_OBJECT (collections));
      ms = (g_get_monotonic_time () - start) / 1000.0;
      g_array_append_val (tree, ms);

      /* A flag change of the newest item, replaced in place. */
      flip.id = cairn_item_get_id (top);
      flip.add = run % 2 == 0;
      start = g_get_monotonic_time ();
      g_assert (cairn_store_write_sync (store, flip_flagged, &flip, &revision, NULL, &error));
      while (cairn_item_model_get_revision (model) < revision)
        g_main_context_iteration (NULL, TRUE);
      ms = (g_get_monotonic_time () - start) / 1000.0;
      g_array_append_val (update, ms);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, N_ITEMS);
    }

  g_print ("items: %u\n", N_ITEMS);
  g_print ("first_page_ms: %.1f\n", cairn_bench_median (first));
  g_print ("first_page_ms_max: %.1f\n", g_array_index (first, double, first->len - 1));
  g_print ("whole_order_ms: %.1f\n", cairn_bench_median (whole));
  g_print ("plain_sqlite_keys_ms: %.1f\n", cairn_bench_median (plain));
  g_print ("collection_model_ms: %.1f\n", cairn_bench_median (tree));
  g_print ("update_ms: %.1f\n", cairn_bench_median (update));
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());

  g_clear_object (&store);
  g_rand_free (rand);
  return 0;
}
