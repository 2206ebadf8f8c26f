/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live models over a collection of 100,000 items: the time from
 * cairn_item_model_new_for_collection() to its first page
 * (first_page_ms) and to the order of every item (whole_order_ms),
 * against the plain SQLite read of the same ids and dates
 * (plain_sqlite_keys_ms); the same oldest first (first_page_oldest_ms);
 * the folder tree with its counts (collection_model_ms); a write's way
 * into an open model (update_ms); and in a store of SEARCH_ITEMS, once
 * the indexer agent has indexed it, the first page of a model whose
 * search matches a third of them (first_page_search_ms; the search
 * alone: search_all_ids_ms; the indexer's time: index_s). The store is
 * smaller because the indexer took over ten minutes on 100,000 items
 * without a payload: their index keys (date times 65,536 plus the id's
 * low 16 bits, choose_key() in agents/indexer/cairn-indexer-index.c) all
 * have the date 0 and collide past 65,536 items, each collision probed
 * one key at a time. */
#include <signal.h>
#include <sqlite3.h>

#include <cairn-test/cairn-test.h>

#include "cairn-agent-fixture.h"
#include "cairn-bench-common.h"

#define N_ITEMS 100000
#define RUNS 7
#define SEARCH "flag:unread"
#define SEARCH_ITEMS 10000
#define INDEX_WAIT_MS (10 * 60 * 1000)

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

/* @n mails in @collection_id, of random dates, a third of them unread. */
static void
fill (CairnStore *store,
      guint64     collection_id,
      guint       n,
      GRand      *rand)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      CairnItem *item = cairn_item_new ("message/rfc822");
      g_autofree char *remote_id = g_strdup_printf ("%u", i + 1);
      g_autoptr(GDateTime) date =
        g_date_time_new_from_unix_utc (1700000000 + g_rand_int_range (rand, 0, 40000000));

      cairn_item_set_collection_id (item, collection_id);
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
}

static double
first_page_ms (CairnStore     *store,
               CairnItemQuery *query)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(CairnItemModel) model = cairn_item_model_new (store, query);

  wait_first_page (G_LIST_MODEL (model));
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* The indexer in its own host indexes the store; then models of
 * SEARCH. */
static void
bench_search (CairnTestEnvironment *environment,
              GRand                *rand)
{
  g_autofree char *types = g_build_filename (cairn_test_environment_get_path (environment),
                                             "agents", NULL);
  g_autofree char *path = g_build_filename (cairn_test_environment_get_path (environment),
                                            "search.db", NULL);
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnCollection) inbox = cairn_collection_new ("bench", 0, "Inbox");
  g_autoptr(CairnSearch) search = NULL;
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  GPid indexer;
  gint64 start;

  store = cairn_store_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert (cairn_store_write_sync (store, create_collection, inbox, NULL, NULL, &error));
  fill (store, cairn_collection_get_id (inbox), SEARCH_ITEMS, rand);
  search = cairn_search_new (store);
  g_assert (cairn_agent_fixture_link_type (types, INDEXER_AGENT_DIR, "indexer.agent",
                                           "libcairn-indexer-agent.so", &error));
  g_setenv ("CAIRN_AGENTS_DIR", types, TRUE);
  g_assert (cairn_agent_fixture_write_config ("indexer_0", "[Agent]\nType=indexer\n", &error));
  indexer = cairn_agent_fixture_start_host (AGENT_HOST, "indexer_0",
                                            cairn_store_get_path (store), &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  g_assert (cairn_agent_fixture_wait_indexed (search, INDEX_WAIT_MS, &error));
  g_print ("index_s: %.1f\n", (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  cairn_agent_fixture_stop_host (indexer, SIGTERM);

  cairn_item_query_set_search (query, SEARCH);
  for (guint run = 0; run < RUNS; run++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(GArray) ids = cairn_search_run_sync (search, SEARCH, 0, 0, NULL, &error);
      double ms = (g_get_monotonic_time () - start) / 1000.0;

      g_assert_no_error (error);
      g_assert_cmpuint (ids->len, ==, (SEARCH_ITEMS + 2) / 3);
      g_array_append_val (all, ms);
      ms = first_page_ms (store, query);
      g_array_append_val (first, ms);
    }
  g_print ("search_items: %u\n", SEARCH_ITEMS);
  g_print ("first_page_search_ms: %.1f\n", cairn_bench_median (first));
  g_print ("search_all_ids_ms: %.1f\n", cairn_bench_median (all));
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnStore) store = NULL;
  const char *path;
  g_autoptr(CairnCollection) inbox = cairn_collection_new ("bench", 0, "Inbox");
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) whole = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) tree = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) update = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) oldest = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(CairnItemQuery) oldest_query = cairn_item_query_new ();
  GRand *rand = g_rand_new_with_seed (19);

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  g_assert_no_error (error);
  path = cairn_test_environment_get_store_path (environment);
  store = cairn_store_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert (cairn_store_write_sync (store, create_collection, inbox, NULL, NULL, &error));

  fill (store, cairn_collection_get_id (inbox), N_ITEMS, rand);

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

      cairn_item_query_set_collection_id (oldest_query, cairn_collection_get_id (inbox));
      cairn_item_query_set_sort (oldest_query, CAIRN_ITEM_SORT_OLDEST_FIRST);
      ms = first_page_ms (store, oldest_query);
      g_array_append_val (oldest, ms);
    }

  g_print ("items: %u\n", N_ITEMS);
  g_print ("first_page_ms: %.1f\n", cairn_bench_median (first));
  g_print ("first_page_ms_max: %.1f\n", g_array_index (first, double, first->len - 1));
  g_print ("whole_order_ms: %.1f\n", cairn_bench_median (whole));
  g_print ("plain_sqlite_keys_ms: %.1f\n", cairn_bench_median (plain));
  g_print ("collection_model_ms: %.1f\n", cairn_bench_median (tree));
  g_print ("update_ms: %.1f\n", cairn_bench_median (update));
  g_print ("first_page_oldest_ms: %.1f\n", cairn_bench_median (oldest));
  bench_search (environment, rand);
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());

  g_clear_object (&store);
  g_rand_free (rand);
  return 0;
}
