/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live models: CairnItemModel over a collection, a query and a
 * virtual collection, in both orders, with a full-text search that the
 * real indexer agent answers, and CairnCollectionModel with its counts.
 * The random tests let another process (this program run again with the
 * mode `write`) make 1,000 random writes through its own store while
 * every items-changed emission is applied to a reference list and
 * compared with the model; at the end each model must equal a fresh
 * one. */
#include <check.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-agent-fixture.h"
#include "cairn-test-suite.h"

#define MIME_MAIL "message/rfc822"
#define MIME_NOTE "text/plain"
#define RESOURCE "models_0"
#define OTHER_RESOURCE "other_0"
#define RANDOM_WRITES 1000
#define INDEXER "indexer_0"
#define WAIT_MS (60 * 1000)

static CairnTestEnvironment *environment;
static CairnStore *store;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  store = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
}

static void
teardown (void)
{
  g_clear_object (&store);
  g_clear_object (&environment);
}

/* Writes */

typedef struct
{
  GRand *rand;
  CairnStore *store;
  guint64 collections[3];
  guint64 virtual_id;
  GArray *items;          /* ids the writer created or found */
  GArray *folders;        /* collections the writer may change */
} Writer;

static gboolean
create_collection_block (CairnTransaction  *txn,
                         gpointer           data,
                         GError           **error)
{
  return cairn_transaction_create_collection (txn, data, error);
}

static guint64
make_collection (CairnStore *target,
                 const char *resource,
                 guint64     parent,
                 const char *name,
                 gboolean    is_virtual)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (resource, parent, name);
  GError *error = NULL;

  cairn_collection_set_virtual (collection, is_virtual);
  ck_assert (cairn_store_write_sync (target, create_collection_block, collection, NULL, NULL,
                                     &error));
  assert_no_error (error);
  return cairn_collection_get_id (collection);
}

static CairnItem *
new_item (GRand   *rand,
          guint64  collection_id)
{
  CairnItem *item = cairn_item_new (g_rand_int_range (rand, 0, 4) == 0 ? MIME_NOTE : MIME_MAIL);
  g_autoptr(CairnFlags) flags = cairn_flags_new ();

  cairn_item_set_collection_id (item, collection_id);
  /* Few distinct dates, so that equal dates are ordered by id. */
  if (g_rand_int_range (rand, 0, 8) != 0)
    {
      g_autoptr(GDateTime) date =
        g_date_time_new_from_unix_utc (1700000000 + 3600 * g_rand_int_range (rand, 0, 40));

      cairn_item_set_date (item, date);
    }
  if (g_rand_boolean (rand))
    cairn_flags_add (flags, CAIRN_FLAG_SEEN);
  if (g_rand_int_range (rand, 0, 3) == 0)
    cairn_flags_add (flags, CAIRN_FLAG_FLAGGED);
  cairn_item_set_flags (item, flags);

  return item;
}

static guint64
random_id (Writer *writer,
           GArray *ids)
{
  return g_array_index (ids, guint64, g_rand_int_range (writer->rand, 0, ids->len));
}

/* One random change; FALSE with @error when the store refuses it. */
static gboolean
random_item_change (CairnTransaction  *txn,
                    Writer            *writer,
                    GError           **error)
{
  guint op = g_rand_int_range (writer->rand, 0, 10);
  guint64 collection = writer->collections[g_rand_int_range (writer->rand, 0, 3)];
  guint64 id;

  if (writer->items->len < 5 || op < 3)
    {
      g_autoptr(CairnItem) item = new_item (writer->rand, collection);

      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
      id = cairn_item_get_id (item);
      g_array_append_val (writer->items, id);
      return TRUE;
    }

  id = random_id (writer, writer->items);
  switch (op)
    {
    case 3:
      for (guint i = 0; i < writer->items->len; i++)
        if (g_array_index (writer->items, guint64, i) == id)
          {
            g_array_remove_index_fast (writer->items, i);
            break;
          }
      return cairn_transaction_delete_item (txn, id, error);
    case 4:
    case 5:
      {
        g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
        const char *flag = g_rand_boolean (writer->rand) ? CAIRN_FLAG_SEEN : CAIRN_FLAG_FLAGGED;

        if (g_rand_boolean (writer->rand))
          cairn_flags_delta_add (delta, flag);
        else
          cairn_flags_delta_remove (delta, flag);
        return cairn_transaction_change_flags (txn, id, delta, 0, error);
      }
    case 6:
      return cairn_transaction_move_item (txn, id, collection, error);
    case 7:
      {
        g_autoptr(CairnItem) item = cairn_store_get_item (writer->store, id, NULL, error);
        g_autoptr(GDateTime) date = NULL;

        if (item == NULL)
          return FALSE;
        if (g_rand_int_range (writer->rand, 0, 6) != 0)
          date = g_date_time_new_from_unix_utc (1700000000 +
                                                3600 * g_rand_int_range (writer->rand, 0, 40));
        cairn_item_set_date (item, date);
        return cairn_transaction_modify_item (txn, item, 0, error);
      }
    case 8:
      return cairn_transaction_link_item (txn, writer->virtual_id, id, error);
    default:
      return cairn_transaction_unlink_item (txn, writer->virtual_id, id, error);
    }
}

static gboolean
random_folder_change (CairnTransaction  *txn,
                      Writer            *writer,
                      GError           **error)
{
  guint op = g_rand_int_range (writer->rand, 0, 6);
  guint64 id;

  if (writer->folders->len < 3 || op == 0)
    {
      guint64 parent = g_rand_boolean (writer->rand) || writer->folders->len == 0
                         ? 0 : random_id (writer, writer->folders);
      g_autofree char *name = g_strdup_printf ("F%u", g_rand_int_range (writer->rand, 0, 50));
      g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, parent, name);

      if (!cairn_transaction_create_collection (txn, collection, error))
        return FALSE;
      id = cairn_collection_get_id (collection);
      g_array_append_val (writer->folders, id);
      return TRUE;
    }

  id = random_id (writer, writer->folders);
  switch (op)
    {
    case 1:
      {
        g_autoptr(CairnCollection) collection = cairn_store_get_collection (writer->store, id,
                                                                            error);
        g_autofree char *name = NULL;

        if (collection == NULL)
          return FALSE;
        name = g_strdup_printf ("F%u", g_rand_int_range (writer->rand, 0, 50));
        cairn_collection_set_name (collection, name);
        return cairn_transaction_modify_collection (txn, collection, 0, error);
      }
    case 2:
      return cairn_transaction_move_collection (txn, id,
                                                g_rand_boolean (writer->rand)
                                                ? 0 : random_id (writer, writer->folders),
                                                error);
    case 3:
      if (writer->folders->len < 6)
        return TRUE;
      for (guint i = 0; i < writer->folders->len; i++)
        if (g_array_index (writer->folders, guint64, i) == id)
          {
            g_array_remove_index_fast (writer->folders, i);
            break;
          }
      return cairn_transaction_delete_collection (txn, id, error);
    default:
      {
        g_autoptr(CairnItem) item = new_item (writer->rand, id);

        return cairn_transaction_create_item (txn, item, error);
      }
    }
}

typedef struct
{
  Writer *writer;
  gboolean folders;
} Batch;

/* One to four changes in one transaction. */
static gboolean
random_batch (CairnTransaction  *txn,
              gpointer           data,
              GError           **error)
{
  Batch *batch = data;
  guint n = g_rand_int_range (batch->writer->rand, 1, 5);

  for (guint i = 0; i < n; i++)
    if (!(batch->folders ? random_folder_change (txn, batch->writer, error)
                         : random_item_change (txn, batch->writer, error)))
      return FALSE;
  return TRUE;
}

static void
add_id (guint64  id,
        GArray  *ids)
{
  g_array_append_val (ids, id);
}

/* Child: RANDOM_WRITES random transactions on the store at @path. */
static int
run_writer (const char *path,
            const char *kind,
            const char *seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) own = cairn_store_open (path, NULL, &error);
  g_autoptr(GPtrArray) collections = NULL;
  Writer writer = { 0 };
  Batch batch = { &writer, g_str_equal (kind, "folders") };
  guint done = 0;

  if (own == NULL)
    g_error ("open: %s", error->message);
  writer.rand = g_rand_new_with_seed (g_ascii_strtoull (seed, NULL, 10));
  writer.store = own;
  writer.items = g_array_new (FALSE, FALSE, sizeof (guint64));
  writer.folders = g_array_new (FALSE, FALSE, sizeof (guint64));

  /* The collections the test made, by name. */
  collections = cairn_store_list_collections (own, NULL, &error);
  if (collections == NULL)
    g_error ("collections: %s", error->message);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      const char *name = cairn_collection_get_name (collection);
      guint64 id = cairn_collection_get_id (collection);

      if (name[0] == 'C' && name[1] >= '0' && name[1] <= '2')
        writer.collections[name[1] - '0'] = id;
      else if (g_str_equal (name, "V"))
        writer.virtual_id = id;
      else if (g_str_equal (cairn_collection_get_resource (collection), RESOURCE))
        g_array_append_val (writer.folders, id);
    }
  for (guint c = 0; c < 3; c++)
    {
      g_autoptr(GPtrArray) items = NULL;

      /* The folders' writer has none of them. */
      if (writer.collections[c] == 0)
        continue;
      items = cairn_store_list_items (own, writer.collections[c], NULL, 0, 0, &error);
      if (items == NULL)
        g_error ("items: %s", error->message);
      for (guint i = 0; i < items->len; i++)
        add_id (cairn_item_get_id (g_ptr_array_index (items, i)), writer.items);
    }

  while (done < RANDOM_WRITES)
    {
      g_autoptr(GArray) items = g_array_copy (writer.items);
      g_autoptr(GArray) folders = g_array_copy (writer.folders);

      g_clear_error (&error);
      if (cairn_store_write_sync (own, random_batch, &batch, NULL, NULL, &error))
        {
          done++;
          continue;
        }
      /* A refused change (a move into its own subtree, a link already
       * there) rolls the transaction back: forget what it created. */
      if (!g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID) &&
          !g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
        g_error ("write: %s", error->message);
      g_array_unref (writer.items);
      writer.items = g_steal_pointer (&items);
      g_array_unref (writer.folders);
      writer.folders = g_steal_pointer (&folders);
    }

  g_array_unref (writer.items);
  g_array_unref (writer.folders);
  g_rand_free (writer.rand);
  return 0;
}

static GPid
spawn_writer (const char *kind,
              guint       seed)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *seed_text = g_strdup_printf ("%u", seed);
  const char *argv[] = { self, "write", cairn_test_environment_get_store_path (environment),
                         kind, seed_text, NULL };
  GError *error = NULL;
  GPid pid;

  ck_assert_msg (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error),
                 "spawn: %s", error ? error->message : "");
  return pid;
}

static gboolean
child_exited (GPid pid)
{
  int status = 0;
  pid_t done = waitpid (pid, &status, WNOHANG);

  if (done == 0)
    return FALSE;
  ck_assert_int_eq (done, pid);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0, "writer failed: %d", status);
  return TRUE;
}

/* Waiting */

static gboolean
timed_out (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static guint64
model_revision (GObject *model)
{
  guint64 revision = 0;

  g_object_get (model, "revision", &revision, NULL);
  return revision;
}

/* Runs the main loop until @model is loaded and shows the store's
 * current revision. */
static void
wait_caught_up (GObject *model)
{
  GError *error = NULL;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (60, timed_out, &expired);
  guint64 revision = 0;
  gboolean loading = TRUE;

  ck_assert (cairn_store_get_revision (store, &revision, &error));
  for (;;)
    {
      g_object_get (model, "loading", &loading, NULL);
      if ((!loading && model_revision (model) >= revision) || expired)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  ck_assert_msg (!expired, "model at revision %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                 model_revision (model), revision);
  g_source_remove (timeout);
}

/* Item models */

static guint64
id_of (gpointer object)
{
  return CAIRN_IS_ITEM (object) ? cairn_item_get_id (object) : cairn_collection_get_id (object);
}

static GArray *
object_ids (GListModel *model)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GObject) object = g_list_model_get_item (model, i);
      guint64 id = id_of (object);

      g_array_append_val (ids, id);
    }
  return ids;
}

static void
assert_same_ids (GArray     *a,
                 GArray     *b,
                 const char *what)
{
  ck_assert_msg (a->len == b->len, "%s: %u ids, expected %u", what, a->len, b->len);
  for (guint i = 0; i < a->len; i++)
    ck_assert_msg (g_array_index (a, guint64, i) == g_array_index (b, guint64, i),
                   "%s: at %u id %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, what, i,
                   g_array_index (a, guint64, i), g_array_index (b, guint64, i));
}

/* A model with a reference list that every items-changed emission is
 * applied to and checked against. */
typedef struct
{
  GListModel *model;
  GArray *reference;
  guint emissions;
  const char *name;
} Checked;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Checked    *checked)
{
  g_autoptr(GArray) now = NULL;

  ck_assert_msg (position + removed <= checked->reference->len,
                 "%s: removal %u+%u past %u", checked->name, position, removed,
                 checked->reference->len);
  g_array_remove_range (checked->reference, position, removed);
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(GObject) object = g_list_model_get_item (model, position + i);
      guint64 id;

      ck_assert_msg (object != NULL, "%s: no item at %u", checked->name, position + i);
      id = id_of (object);
      g_array_insert_val (checked->reference, position + i, id);
    }
  checked->emissions++;
  now = object_ids (model);
  assert_same_ids (checked->reference, now, checked->name);
}

static Checked *
checked_new (gpointer    model,
             const char *name)
{
  Checked *checked = g_new0 (Checked, 1);

  checked->model = g_object_ref (model);
  checked->reference = object_ids (model);
  checked->name = name;
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), checked);
  return checked;
}

static void
checked_free (Checked *checked)
{
  g_signal_handlers_disconnect_by_data (checked->model, checked);
  g_object_unref (checked->model);
  g_array_unref (checked->reference);
  g_free (checked);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Checked, checked_free)

static gint64
date_key (CairnItem *item)
{
  GDateTime *date = cairn_item_get_date (item);

  return date != NULL ? g_date_time_to_unix (date) : G_MININT64;
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  CairnItem *x = *(CairnItem **) a;
  CairnItem *y = *(CairnItem **) b;
  gint64 dx = date_key (x);
  gint64 dy = date_key (y);

  if (dx != dy)
    return dx > dy ? -1 : 1;
  return cairn_item_get_id (x) > cairn_item_get_id (y) ? -1 : 1;
}

/* What a model of @collection_id must hold, from the store's own
 * listing, newest first or in reverse. */
static GArray *
expected_ids_sorted (guint64  collection_id,
                     gboolean ascending)
{
  GError *error = NULL;
  g_autoptr(GPtrArray) items = cairn_store_list_items (store, collection_id, NULL, 0, 0, &error);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  assert_no_error (error);
  g_ptr_array_sort (items, compare_newest_first);
  for (guint i = 0; i < items->len; i++)
    add_id (cairn_item_get_id (g_ptr_array_index (items, ascending ? items->len - 1 - i : i)),
            ids);
  return ids;
}

static GArray *
expected_ids (guint64 collection_id)
{
  return expected_ids_sorted (collection_id, FALSE);
}

typedef struct
{
  guint n;
  guint64 collection_id;
  GRand *rand;
} Fill;

static gboolean
fill_block (CairnTransaction  *txn,
            gpointer           data,
            GError           **error)
{
  Fill *fill = data;

  for (guint i = 0; i < fill->n; i++)
    {
      g_autoptr(CairnItem) item = new_item (fill->rand, fill->collection_id);

      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
    }
  return TRUE;
}

static void
fill_collection (guint64  collection_id,
                 guint    n,
                 GRand   *rand)
{
  Fill fill = { n, collection_id, rand };
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (store, fill_block, &fill, NULL, NULL, &error));
  assert_no_error (error);
}

/* Opens with the first page read, lists every item newest first, reads
 * the other pages on demand and replaces their placeholders in place. */
START_TEST (test_item_model_open)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  guint64 inbox = make_collection (store, RESOURCE, 0, "C0", FALSE);
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(GArray) expected = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(Checked) checked = NULL;
  Checked *opening;
  g_autoptr(CairnItem) first = NULL;
  g_autoptr(CairnItem) late = NULL;
  g_autoptr(CairnItem) loaded = NULL;
  guint position = 0;

  fill_collection (inbox, 250, rand);
  expected = expected_ids (inbox);

  model = cairn_item_model_new_for_collection (store, inbox);
  ck_assert (cairn_item_model_get_loading (model));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 0);
  opening = checked_new (model, "opening");
  wait_caught_up (G_OBJECT (model));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 250);
  /* The first page came first, then the rest after it. */
  ck_assert_uint_eq (opening->emissions, 2);
  g_clear_pointer (&opening, checked_free);

  /* The first page is read with the order; the rest are placeholders. */
  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  ck_assert_ptr_nonnull (cairn_item_get_mime_type (first));
  checked = checked_new (model, "collection");
  late = g_list_model_get_item (G_LIST_MODEL (model), 200);
  ck_assert_ptr_null (cairn_item_get_mime_type (late));
  for (;;)
    {
      loaded = g_list_model_get_item (G_LIST_MODEL (model), 200);
      if (cairn_item_get_mime_type (loaded) != NULL)
        break;
      g_clear_object (&loaded);
      g_main_context_iteration (NULL, TRUE);
    }
  ck_assert_uint_gt (checked->emissions, 0);
  ck_assert_uint_eq (cairn_item_get_id (loaded), cairn_item_get_id (late));
  ck_assert_ptr_nonnull (cairn_item_get_mime_type (loaded));
  ck_assert (cairn_item_model_find (model, cairn_item_get_id (late), &position));
  ck_assert_uint_eq (position, 200);
  ck_assert (!cairn_item_model_find (model, 999999, NULL));

  ids = object_ids (G_LIST_MODEL (model));
  assert_same_ids (ids, expected, "open");
}
END_TEST

static void
on_read_failed (CairnItemModel *model,
                GError         *error,
                GError        **copy)
{
  g_clear_error (copy);
  *copy = g_error_copy (error);
}

/* A collection that does not exist: the model says so, stays empty and
 * loading. */
START_TEST (test_item_model_unknown_collection)
{
  g_autoptr(CairnItemModel) model = cairn_item_model_new_for_collection (store, 4242);
  g_autoptr(GError) failure = NULL;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (30, timed_out, &expired);

  g_signal_connect (model, "read-failed", G_CALLBACK (on_read_failed), &failure);
  while (failure == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (!expired);
  g_source_remove (timeout);
  ck_assert (g_error_matches (failure, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND));
  ck_assert (cairn_item_model_get_loading (model));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 0);
}
END_TEST

static gboolean
delete_collection_block (CairnTransaction  *txn,
                         gpointer           data,
                         GError           **error)
{
  return cairn_transaction_delete_collection (txn, *(guint64 *) data, error);
}

/* The collection a model shows is removed, with its items, while the
 * model is open: it empties itself through items-changed. */
START_TEST (test_item_model_collection_removed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  guint64 doomed = make_collection (store, RESOURCE, 0, "Doomed", FALSE);
  g_autoptr(CairnItemModel) model = cairn_item_model_new_for_collection (store, doomed);
  g_autoptr(Checked) checked = NULL;
  GError *error = NULL;

  fill_collection (doomed, 120, rand);
  wait_caught_up (G_OBJECT (model));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 120);
  checked = checked_new (model, "removed");
  ck_assert (cairn_store_write_sync (store, delete_collection_block, &doomed, NULL, NULL, &error));
  assert_no_error (error);
  wait_caught_up (G_OBJECT (model));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 0);
  ck_assert_uint_gt (checked->emissions, 0);
}
END_TEST

static gboolean
link_block (CairnTransaction  *txn,
            gpointer           data,
            GError           **error)
{
  guint64 *ids = data;

  return cairn_transaction_link_item (txn, ids[0], ids[1], error);
}

/* A query selects by MIME type, flags and date; a virtual collection by
 * its links. */
START_TEST (test_item_model_query)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  guint64 a = make_collection (store, RESOURCE, 0, "C0", FALSE);
  guint64 b = make_collection (store, RESOURCE, 0, "C1", FALSE);
  guint64 saved = make_collection (store, RESOURCE, 0, "V", TRUE);
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(GDateTime) from = g_date_time_new_from_unix_utc (1700000000 + 3600 * 10);
  g_autoptr(GDateTime) to = g_date_time_new_from_unix_utc (1700000000 + 3600 * 30);
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(CairnItemModel) linked = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) required = NULL;
  GError *error = NULL;

  fill_collection (a, 120, rand);
  fill_collection (b, 120, rand);
  for (guint c = 0; c < 2; c++)
    {
      g_autoptr(GPtrArray) items = cairn_store_list_items (store, c == 0 ? a : b, NULL, 0, 0,
                                                           &error);

      assert_no_error (error);
      for (guint i = 0; i < items->len; i++)
        g_ptr_array_add (all, g_object_ref (g_ptr_array_index (items, i)));
    }
  g_ptr_array_sort (all, compare_newest_first);
  for (guint i = 0; i < all->len; i++)
    {
      CairnItem *item = g_ptr_array_index (all, i);
      CairnFlags *flags = cairn_item_get_flags (item);
      gint64 date = date_key (item);

      if (g_str_equal (cairn_item_get_mime_type (item), MIME_MAIL) &&
          cairn_flags_contains (flags, CAIRN_FLAG_FLAGGED) &&
          !cairn_flags_contains (flags, CAIRN_FLAG_SEEN) &&
          date >= g_date_time_to_unix (from) && date < g_date_time_to_unix (to))
        add_id (cairn_item_get_id (item), expected);
    }
  ck_assert_uint_gt (expected->len, 3);

  cairn_item_query_set_mime_type (query, MIME_MAIL);
  cairn_item_query_require_flag (query, CAIRN_FLAG_FLAGGED);
  cairn_item_query_exclude_flag (query, CAIRN_FLAG_SEEN);
  cairn_item_query_set_date_from (query, from);
  cairn_item_query_set_date_to (query, to);
  required = cairn_item_query_get_required_flags (query);
  ck_assert_str_eq (required[0], CAIRN_FLAG_FLAGGED);
  model = cairn_item_model_new (store, query);
  wait_caught_up (G_OBJECT (model));
  ids = object_ids (G_LIST_MODEL (model));
  assert_same_ids (ids, expected, "query");

  /* Linked items, in date order. */
  for (guint i = 0; i < 3; i++)
    {
      guint64 link[2] = { saved, g_array_index (expected, guint64, expected->len - 1 - i) };

      ck_assert (cairn_store_write_sync (store, link_block, link, NULL, NULL, &error));
    }
  linked = cairn_item_model_new_for_collection (store, saved);
  wait_caught_up (G_OBJECT (linked));
  g_clear_pointer (&ids, g_array_unref);
  ids = object_ids (G_LIST_MODEL (linked));
  g_array_remove_range (expected, 0, expected->len - 3);
  assert_same_ids (ids, expected, "virtual");
}
END_TEST

static gboolean
redate_block (CairnTransaction  *txn,
              gpointer           data,
              GError           **error)
{
  GArray *ids = data;

  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(CairnItem) item = cairn_store_get_item (store, g_array_index (ids, guint64, i),
                                                        NULL, error);
      g_autoptr(GDateTime) date = NULL;

      if (item == NULL)
        return FALSE;
      /* Every other one loses its date, which sends it to the top. */
      if (i % 2 == 0)
        date = g_date_time_new_from_unix_utc (1700000000 + 3600 * (i % 40));
      cairn_item_set_date (item, date);
      if (!cairn_transaction_modify_item (txn, item, 0, error))
        return FALSE;
    }
  return TRUE;
}

/* Oldest first: items without a date first, equal dates by id, lowest
 * first; pages read on demand, and changes land at their positions. */
START_TEST (test_item_model_oldest_first)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  guint64 inbox = make_collection (store, RESOURCE, 0, "C0", FALSE);
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(GArray) expected = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) redated = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(Checked) checked = NULL;
  GError *error = NULL;

  fill_collection (inbox, 250, rand);
  cairn_item_query_set_collection_id (query, inbox);
  cairn_item_query_set_sort (query, CAIRN_ITEM_SORT_OLDEST_FIRST);
  ck_assert_int_eq (cairn_item_query_get_sort (query), CAIRN_ITEM_SORT_OLDEST_FIRST);
  model = cairn_item_model_new (store, query);
  wait_caught_up (G_OBJECT (model));
  expected = expected_ids_sorted (inbox, TRUE);
  ids = object_ids (G_LIST_MODEL (model));
  assert_same_ids (ids, expected, "oldest first");

  checked = checked_new (model, "oldest first");
  fill_collection (inbox, 30, rand);
  for (guint i = 0; i < 20; i++)
    g_array_append_val (redated, g_array_index (expected, guint64, i * 10));
  ck_assert (cairn_store_write_sync (store, redate_block, redated, NULL, NULL, &error));
  assert_no_error (error);
  wait_caught_up (G_OBJECT (model));
  g_clear_pointer (&expected, g_array_unref);
  g_clear_pointer (&ids, g_array_unref);
  expected = expected_ids_sorted (inbox, TRUE);
  ids = object_ids (G_LIST_MODEL (model));
  assert_same_ids (ids, expected, "oldest first, after changes");
  ck_assert_uint_ge (checked->emissions, 30);
}
END_TEST

static void
assert_equals_fresh (CairnItemModel *model,
                     CairnItemQuery *query,
                     const char     *what)
{
  g_autoptr(CairnItemModel) fresh = cairn_item_model_new (store, query);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) fresh_ids = NULL;

  wait_caught_up (G_OBJECT (model));
  wait_caught_up (G_OBJECT (fresh));
  ck_assert_uint_eq (cairn_item_model_get_revision (model), cairn_item_model_get_revision (fresh));
  ids = object_ids (G_LIST_MODEL (model));
  fresh_ids = object_ids (G_LIST_MODEL (fresh));
  assert_same_ids (ids, fresh_ids, what);
}

/* 1,000 random writes from another process: every emission is exact and
 * each model ends equal to a fresh one. The test asks for random items
 * meanwhile, so that page loads run between updates. */
START_TEST (test_item_model_follows_other_process)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (100 + _i);
  guint64 c0 = make_collection (store, RESOURCE, 0, "C0", FALSE);
  guint64 c1 = make_collection (store, RESOURCE, 0, "C1", FALSE);
  guint64 saved;
  g_autoptr(CairnItemQuery) in_c0 = cairn_item_query_new ();
  g_autoptr(CairnItemQuery) unread = cairn_item_query_new ();
  g_autoptr(CairnItemQuery) linked = cairn_item_query_new ();
  g_autoptr(CairnItemQuery) oldest = cairn_item_query_new ();
  g_autoptr(CairnItemModel) m0 = NULL;
  g_autoptr(CairnItemModel) m1 = NULL;
  g_autoptr(CairnItemModel) m2 = NULL;
  g_autoptr(CairnItemModel) m3 = NULL;
  g_autoptr(Checked) k0 = NULL;
  g_autoptr(Checked) k1 = NULL;
  g_autoptr(Checked) k2 = NULL;
  g_autoptr(Checked) k3 = NULL;
  GListModel *picks[3];
  GPid writer;

  make_collection (store, RESOURCE, 0, "C2", FALSE);
  saved = make_collection (store, RESOURCE, 0, "V", TRUE);
  fill_collection (c0, 150, rand);
  fill_collection (c1, 150, rand);

  cairn_item_query_set_collection_id (in_c0, c0);
  cairn_item_query_exclude_flag (unread, CAIRN_FLAG_SEEN);
  cairn_item_query_set_mime_type (unread, MIME_MAIL);
  cairn_item_query_set_collection_id (linked, saved);
  cairn_item_query_set_collection_id (oldest, c1);
  cairn_item_query_set_sort (oldest, CAIRN_ITEM_SORT_OLDEST_FIRST);
  m0 = cairn_item_model_new (store, in_c0);
  m1 = cairn_item_model_new (store, unread);
  m2 = cairn_item_model_new (store, linked);
  m3 = cairn_item_model_new (store, oldest);
  wait_caught_up (G_OBJECT (m0));
  wait_caught_up (G_OBJECT (m1));
  wait_caught_up (G_OBJECT (m2));
  wait_caught_up (G_OBJECT (m3));
  k0 = checked_new (m0, "collection");
  k1 = checked_new (m1, "query");
  k2 = checked_new (m2, "virtual");
  k3 = checked_new (m3, "oldest first");
  picks[0] = G_LIST_MODEL (m0);
  picks[1] = G_LIST_MODEL (m1);
  picks[2] = G_LIST_MODEL (m3);

  writer = spawn_writer ("items", 1000 + _i);
  while (!child_exited (writer))
    {
      GListModel *pick = picks[g_rand_int_range (rand, 0, 3)];
      guint n = g_list_model_get_n_items (pick);

      if (n > 0)
        g_object_unref (g_list_model_get_item (pick, g_rand_int_range (rand, 0, n)));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }

  assert_equals_fresh (m0, in_c0, "collection");
  assert_equals_fresh (m1, unread, "query");
  assert_equals_fresh (m2, linked, "virtual");
  assert_equals_fresh (m3, oldest, "oldest first");
  {
    g_autoptr(GArray) expected = expected_ids (c0);
    g_autoptr(GArray) ids = object_ids (G_LIST_MODEL (m0));
    g_autoptr(GArray) expected_oldest = expected_ids_sorted (c1, TRUE);
    g_autoptr(GArray) ids_oldest = object_ids (G_LIST_MODEL (m3));

    assert_same_ids (ids, expected, "store listing");
    assert_same_ids (ids_oldest, expected_oldest, "store listing, oldest first");
  }
  ck_assert_uint_gt (k0->emissions + k1->emissions + k2->emissions, 100);
  ck_assert_uint_gt (k3->emissions, 30);
}
END_TEST

/* Full-text search: the indexer agent in its own host, as the control
 * service runs it, keeps the index that the models search. */

static GPid indexer_pid;

static void
setup_indexer (void)
{
  GError *error = NULL;
  g_autofree char *types = NULL;

  setup ();
  types = g_build_filename (cairn_test_environment_get_path (environment), "agents", NULL);
  ck_assert (cairn_agent_fixture_link_type (types, INDEXER_AGENT_DIR, "indexer.agent",
                                            "libcairn-indexer-agent.so", &error));
  assert_no_error (error);
  g_setenv ("CAIRN_AGENTS_DIR", types, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  ck_assert (cairn_agent_fixture_write_config (INDEXER, "[Agent]\nType=indexer\n", &error));
  assert_no_error (error);
}

static void
teardown_indexer (void)
{
  if (indexer_pid != 0)
    cairn_agent_fixture_stop_host (indexer_pid, SIGTERM);
  indexer_pid = 0;
  teardown ();
}

static void
start_indexer (void)
{
  GError *error = NULL;

  indexer_pid = cairn_agent_fixture_start_host (AGENT_HOST, INDEXER,
                                                cairn_test_environment_get_store_path (environment),
                                                &error);
  assert_no_error (error);
}

static void
wait_indexed (void)
{
  g_autoptr(CairnSearch) search = cairn_search_new (store);
  GError *error = NULL;

  ck_assert (cairn_agent_fixture_wait_indexed (search, WAIT_MS, &error));
  assert_no_error (error);
}

/* A mail as the test knows it, to tell what each model must list. */
typedef struct
{
  guint64 id;
  gint64 date;
  gboolean matches;     /* from alice, about a report */
  gboolean seen;
  gboolean flagged;
  gboolean deleted;
} Mail;

typedef struct
{
  guint64 collection_id;
  GArray *mails;        /* Mail */
  guint first;          /* the first of them to create */
} Mailing;

static gboolean
deliver_block (CairnTransaction  *txn,
               gpointer           data,
               GError           **error)
{
  Mailing *mailing = data;

  for (guint i = mailing->first; i < mailing->mails->len; i++)
    {
      Mail *mail = &g_array_index (mailing->mails, Mail, i);
      g_autoptr(CairnItem) item = cairn_item_new (MIME_MAIL);
      g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (mail->date);
      g_autofree char *header_date = g_date_time_format (date, "%d %b %Y %H:%M:%S +0000");
      g_autofree char *text =
        g_strdup_printf ("From: %s\r\nTo: Ada <ada@example.com>\r\nSubject: %s %u\r\n"
                         "Date: %s\r\nMessage-ID: <m%u@example.com>\r\n\r\nHello.\r\n",
                         mail->matches || i % 2 == 0 ? "Alice <alice@example.org>"
                                                     : "Bob <bob@example.org>",
                         mail->matches || i % 2 == 1 ? "Quarterly report" : "Lunch", i,
                         header_date, i);
      g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
      g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, bytes);
      g_autoptr(CairnFlags) flags = cairn_flags_new ();

      cairn_item_set_collection_id (item, mailing->collection_id);
      cairn_item_set_date (item, date);
      cairn_item_set_part (item, part);
      if (mail->seen)
        cairn_flags_add (flags, CAIRN_FLAG_SEEN);
      cairn_item_set_flags (item, flags);
      if (!cairn_transaction_create_item (txn, item, error))
        return FALSE;
      mail->id = cairn_item_get_id (item);
    }
  return TRUE;
}

/* Creates the mails of @mailing from @first on. */
static void
deliver (Mailing *mailing,
         guint    first)
{
  GError *error = NULL;

  mailing->first = first;
  ck_assert (cairn_store_write_sync (store, deliver_block, mailing, NULL, NULL, &error));
  assert_no_error (error);
}

static void
add_mail (Mailing  *mailing,
          gint64    date,
          gboolean  matches,
          gboolean  seen)
{
  Mail mail = { 0, date, matches, seen, FALSE, FALSE };

  g_array_append_val (mailing->mails, mail);
}

/* What the models of SEARCH with \Seen excluded must list. */
static GArray *
expected_matches (Mailing  *mailing,
                  gboolean  ascending)
{
  g_autoptr(GArray) mails = g_array_copy (mailing->mails);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < mails->len; i++)
    {
      Mail *mail = &g_array_index (mails, Mail, ascending ? mails->len - 1 - i : i);

      if (mail->matches && !mail->seen && !mail->flagged && !mail->deleted)
        add_id (mail->id, ids);
    }
  return ids;
}

/* Newest first, as the models are by default. */
static int
compare_mails (gconstpointer a,
               gconstpointer b)
{
  const Mail *x = a;
  const Mail *y = b;

  if (x->date != y->date)
    return x->date > y->date ? -1 : 1;
  return x->id > y->id ? -1 : 1;
}

static gboolean
same_ids (GArray *a,
          GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (guint64)) == 0;
}

/* Runs the main loop until @model lists exactly what @mailing says. */
static void
wait_listing (CairnItemModel *model,
              Mailing        *mailing,
              gboolean        ascending,
              const char     *what)
{
  g_autoptr(GArray) expected = NULL;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (60, timed_out, &expired);

  g_array_sort (mailing->mails, compare_mails);
  expected = expected_matches (mailing, ascending);
  for (;;)
    {
      g_autoptr(GArray) ids = object_ids (G_LIST_MODEL (model));

      if (same_ids (ids, expected) || expired)
        {
          assert_same_ids (ids, expected, what);
          break;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (timeout);
}

static Mail *
find_mail (Mailing *mailing,
           guint64  id)
{
  for (guint i = 0; i < mailing->mails->len; i++)
    if (g_array_index (mailing->mails, Mail, i).id == id)
      return &g_array_index (mailing->mails, Mail, i);
  ck_abort_msg ("no mail %" G_GUINT64_FORMAT, id);
  return NULL;
}

static gboolean
flag_block (CairnTransaction  *txn,
            gpointer           data,
            GError           **error)
{
  const char **args = data;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();

  if (args[2] != NULL)
    cairn_flags_delta_add (delta, args[1]);
  else
    cairn_flags_delta_remove (delta, args[1]);
  return cairn_transaction_change_flags (txn, *(guint64 *) args[0], delta, 0, error);
}

static void
change_flag (guint64     id,
             const char *flag,
             gboolean    set)
{
  const char *args[] = { (const char *) &id, flag, set ? "" : NULL };
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (store, flag_block, args, NULL, NULL, &error));
  assert_no_error (error);
}

static gboolean
delete_item_block (CairnTransaction  *txn,
                   gpointer           data,
                   GError           **error)
{
  return cairn_transaction_delete_item (txn, *(guint64 *) data, error);
}

/* The index, not the store, knows the sender, the subject and (for the
 * search) the flag \Flagged; the store knows \Seen. */
#define SEARCH "from:alice and subject:report and not flag:flagged"

/* A model of a search and \Seen excluded, newest and oldest first, over
 * the real indexer: it lists the matches, then follows flag changes
 * (in the store's condition and in the search's), a new match and a
 * removal, at exact positions, once the indexer has caught up. */
START_TEST (test_item_model_search)
{
  guint64 inbox = make_collection (store, RESOURCE, 0, "C0", FALSE);
  Mailing mailing = { inbox, NULL, 0 };
  g_autoptr(GArray) mails = g_array_new (FALSE, FALSE, sizeof (Mail));
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(CairnItemQuery) oldest = cairn_item_query_new ();
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(CairnItemModel) ascending = NULL;
  g_autoptr(Checked) checked = NULL;
  g_autoptr(Checked) checked_ascending = NULL;
  guint64 victim;
  GError *error = NULL;

  mailing.mails = mails;
  /* Equal dates among them, ordered by id. */
  for (guint i = 0; i < 24; i++)
    add_mail (&mailing, 1700000000 + 3600 * (i % 7), i % 3 != 2, i == 4);
  deliver (&mailing, 0);
  start_indexer ();
  wait_indexed ();

  cairn_item_query_set_search (query, SEARCH);
  ck_assert_str_eq (cairn_item_query_get_search (query), SEARCH);
  cairn_item_query_exclude_flag (query, CAIRN_FLAG_SEEN);
  g_object_set (oldest, "search", SEARCH, "sort", CAIRN_ITEM_SORT_OLDEST_FIRST, NULL);
  cairn_item_query_exclude_flag (oldest, CAIRN_FLAG_SEEN);
  model = cairn_item_model_new (store, query);
  ascending = cairn_item_model_new (store, oldest);
  wait_caught_up (G_OBJECT (model));
  wait_listing (model, &mailing, FALSE, "search");
  wait_listing (ascending, &mailing, TRUE, "search, oldest first");
  ck_assert_uint_gt (g_list_model_get_n_items (G_LIST_MODEL (model)), 10);
  checked = checked_new (model, "search");
  checked_ascending = checked_new (ascending, "search, oldest first");

  /* \Seen: the store's condition. */
  {
    g_autoptr(GArray) now = expected_matches (&mailing, FALSE);

    victim = g_array_index (now, guint64, 3);
  }
  change_flag (victim, CAIRN_FLAG_SEEN, TRUE);
  find_mail (&mailing, victim)->seen = TRUE;
  wait_listing (model, &mailing, FALSE, "seen");
  wait_listing (ascending, &mailing, TRUE, "seen, oldest first");

  /* \Flagged: the search's condition, which changes once the indexer
   * has indexed the change, after the commit. */
  {
    g_autoptr(GArray) now = expected_matches (&mailing, FALSE);

    victim = g_array_index (now, guint64, 1);
  }
  change_flag (victim, CAIRN_FLAG_FLAGGED, TRUE);
  find_mail (&mailing, victim)->flagged = TRUE;
  wait_indexed ();
  wait_listing (model, &mailing, FALSE, "flagged");
  wait_listing (ascending, &mailing, TRUE, "flagged, oldest first");
  change_flag (victim, CAIRN_FLAG_FLAGGED, FALSE);
  find_mail (&mailing, victim)->flagged = FALSE;
  wait_indexed ();
  wait_listing (model, &mailing, FALSE, "unflagged");
  wait_listing (ascending, &mailing, TRUE, "unflagged, oldest first");

  /* New mail: a match the index knows only after the commit. */
  add_mail (&mailing, 1700000000 + 3600 * 3, TRUE, FALSE);
  add_mail (&mailing, 1700000000 + 3600 * 5, FALSE, FALSE);
  deliver (&mailing, mailing.mails->len - 2);
  wait_indexed ();
  wait_listing (model, &mailing, FALSE, "delivered");
  wait_listing (ascending, &mailing, TRUE, "delivered, oldest first");

  /* A removal. */
  {
    g_autoptr(GArray) now = expected_matches (&mailing, FALSE);

    victim = g_array_index (now, guint64, 0);
  }
  ck_assert (cairn_store_write_sync (store, delete_item_block, &victim, NULL, NULL, &error));
  assert_no_error (error);
  find_mail (&mailing, victim)->deleted = TRUE;
  wait_indexed ();
  wait_listing (model, &mailing, FALSE, "deleted");
  wait_listing (ascending, &mailing, TRUE, "deleted, oldest first");

  ck_assert_uint_ge (checked->emissions, 5);
  ck_assert_uint_ge (checked_ascending->emissions, 5);
  assert_equals_fresh (model, query, "search");
  assert_equals_fresh (ascending, oldest, "search, oldest first");
}
END_TEST

/* Waits for the next read-failed of @model, which @failure receives. */
static void
wait_failure (GError **failure)
{
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (60, timed_out, &expired);

  while (*failure == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (!expired);
  g_source_remove (timeout);
}

/* Runs the main loop until the model whose read-failed sets @failure
 * has emitted none for a second, each with @code. */
static void
wait_quiet (GError **failure,
            int      code)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint64 quiet = g_get_monotonic_time ();

  while (g_get_monotonic_time () - quiet < G_USEC_PER_SEC)
    {
      ck_assert (g_get_monotonic_time () < deadline);
      if (*failure != NULL)
        {
          ck_assert (g_error_matches (*failure, CAIRN_SEARCH_ERROR, code));
          g_clear_error (failure);
          quiet = g_get_monotonic_time ();
        }
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
}

/* Moves the index files of the store from the folder @from to the
 * folder @to; the database itself last, as an indexer makes it. */
static void
move_index (const char *from,
            const char *to)
{
  g_autofree char *index = cairn_search_build_index_path (cairn_test_environment_get_store_path (environment));
  g_autofree char *name = g_path_get_basename (index);
  const char *suffixes[] = { "-shm", "-wal", "" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (name, suffixes[i], NULL);
      g_autofree char *source = g_build_filename (from, file, NULL);
      g_autofree char *target = g_build_filename (to, file, NULL);

      if (g_file_test (source, G_FILE_TEST_EXISTS))
        ck_assert_msg (g_rename (source, target) == 0, "rename %s", source);
    }
}

/* No index yet, not even its folder: the model says so and stays
 * empty, then lists the matches as soon as the index appears, with no
 * commit to wake it. It makes the folder, so that its monitors watch the
 * folder from the start rather than poll for it. */
START_TEST (test_item_model_search_no_index)
{
  g_autofree char *index = cairn_search_build_index_path (cairn_test_environment_get_store_path (environment));
  g_autofree char *folder = g_path_get_dirname (index);
  g_autofree char *aside = g_strconcat (folder, ".aside", NULL);
  guint64 inbox = make_collection (store, RESOURCE, 0, "C0", FALSE);
  Mailing mailing = { inbox, NULL, 0 };
  g_autoptr(GArray) mails = g_array_new (FALSE, FALSE, sizeof (Mail));
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(GError) failure = NULL;

  mailing.mails = mails;
  for (guint i = 0; i < 6; i++)
    add_mail (&mailing, 1700000000 + 3600 * i, i % 2 == 0, FALSE);
  deliver (&mailing, 0);
  /* An index made, then put aside while the indexer is stopped. */
  start_indexer ();
  wait_indexed ();
  cairn_agent_fixture_stop_host (indexer_pid, SIGTERM);
  indexer_pid = 0;
  ck_assert (g_mkdir (aside, 0700) == 0);
  move_index (folder, aside);
  ck_assert_msg (g_rmdir (folder) == 0, "%s is not empty", folder);

  cairn_item_query_set_search (query, SEARCH);
  model = cairn_item_model_new (store, query);
  ck_assert (g_file_test (folder, G_FILE_TEST_IS_DIR));
  g_signal_connect (model, "read-failed", G_CALLBACK (on_read_failed), &failure);
  wait_failure (&failure);
  ck_assert_msg (g_error_matches (failure, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_NO_INDEX),
                 "%s", failure->message);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 0);
  /* The model's monitor has read the log and stopped waking it: the
   * index's files alone tell it that the index is back. */
  wait_quiet (&failure, CAIRN_SEARCH_ERROR_NO_INDEX);

  move_index (aside, folder);
  wait_listing (model, &mailing, FALSE, "index made");
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 3);
}
END_TEST

/* A query that is not valid: the model says so after every commit and
 * stays empty. */
START_TEST (test_item_model_search_invalid)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  guint64 inbox = make_collection (store, RESOURCE, 0, "C0", FALSE);
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(GError) failure = NULL;

  fill_collection (inbox, 10, rand);
  cairn_item_query_set_search (query, "subject:\"report");
  model = cairn_item_model_new (store, query);
  g_signal_connect (model, "read-failed", G_CALLBACK (on_read_failed), &failure);
  wait_failure (&failure);
  ck_assert_msg (g_error_matches (failure, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY),
                 "%s", failure->message);
  g_clear_error (&failure);
  fill_collection (inbox, 1, rand);
  wait_failure (&failure);
  ck_assert (g_error_matches (failure, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_INVALID_QUERY));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 0);
}
END_TEST

/* Runs the main loop until *@count is not 0. */
static void
wait_count (guint *count)
{
  gboolean expired = FALSE;
  guint timeout = g_timeout_add_seconds (60, timed_out, &expired);

  while (*count == 0 && !expired)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_msg (!expired, "no search");
  g_source_remove (timeout);
}

static void
count_failure (CairnItemModel *model,
               GError         *error,
               guint          *count)
{
  ck_assert_msg (g_error_matches (error, CAIRN_SEARCH_ERROR, CAIRN_SEARCH_ERROR_CORRUPT), "%s",
                 error->message);
  (*count)++;
}


/* The index written again and again (here a damaged one, so that every
 * search the model runs shows as a read-failed): the model notices and
 * runs one search per 100 ms at most, however many changes there were.
 * Timers never fire early, so the bound holds on any machine. (GLib's
 * inotify backend delivers busy files' events in batches too.) */
START_TEST (test_item_model_search_settles)
{
  g_autofree char *index = cairn_search_build_index_path (cairn_test_environment_get_store_path (environment));
  g_autofree char *folder = g_path_get_dirname (index);
  g_autoptr(CairnItemQuery) query = cairn_item_query_new ();
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(GError) failure = NULL;
  GError *error = NULL;
  guint failures = 0;
  guint writes = 0;
  gint64 start;
  gint64 elapsed_ms;

  ck_assert (g_mkdir_with_parents (folder, 0700) == 0);
  ck_assert (g_file_set_contents (index, "not a database", -1, &error));
  assert_no_error (error);
  cairn_item_query_set_search (query, "report");
  model = cairn_item_model_new (store, query);
  g_signal_connect (model, "read-failed", G_CALLBACK (on_read_failed), &failure);
  wait_failure (&failure);
  /* Woken by the index's files alone from here on. */
  wait_quiet (&failure, CAIRN_SEARCH_ERROR_CORRUPT);
  g_signal_handlers_disconnect_by_data (model, &failure);
  g_signal_connect (model, "read-failed", G_CALLBACK (count_failure), &failures);

  /* Many writes, however slowly a loaded machine lets them come. */
  start = g_get_monotonic_time ();
  while (writes < 60 || g_get_monotonic_time () - start < 500 * 1000)
    {
      g_autofree char *text = g_strdup_printf ("not a database %u", writes++);

      ck_assert (g_file_set_contents (index, text, -1, &error));
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
  /* The changes of the last writes, then the search they cause. */
  wait_count (&failures);
  {
    gint64 settled = g_get_monotonic_time () + 300 * 1000;

    while (g_get_monotonic_time () < settled)
      {
        while (g_main_context_iteration (NULL, FALSE))
          ;
        g_usleep (1000);
      }
  }
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  ck_assert_msg (failures <= elapsed_ms / 100 + 1, "%u searches for %u writes in %" G_GINT64_FORMAT
                 " ms", failures, writes, elapsed_ms);
}
END_TEST

/* Collection models */

/* Every model of the tree below @model, with a checked reference list
 * each, the child models got for every collection as it appears. */
typedef struct
{
  CairnCollectionModel *root;
  GHashTable *checked;        /* parent id -> Checked */
} Forest;

static void watch_children (Forest *forest, CairnCollectionModel *model);

static void
on_tree_changed (GListModel *model,
                 guint       position,
                 guint       removed,
                 guint       added,
                 Forest     *forest)
{
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(CairnCollection) collection = g_list_model_get_item (model, position + i);
      g_autoptr(CairnCollectionModel) child =
        cairn_collection_model_get_child_model (forest->root, collection);

      watch_children (forest, child);
    }
}

static void
watch_children (Forest               *forest,
                CairnCollectionModel *model)
{
  guint64 parent = cairn_collection_model_get_parent_id (model);

  if (g_hash_table_contains (forest->checked, &parent))
    return;
  g_hash_table_insert (forest->checked, g_memdup2 (&parent, sizeof parent),
                       checked_new (model, "collections"));
  g_signal_connect_after (model, "items-changed", G_CALLBACK (on_tree_changed), forest);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (model)); i++)
    {
      g_autoptr(CairnCollection) collection = g_list_model_get_item (G_LIST_MODEL (model), i);
      g_autoptr(CairnCollectionModel) child =
        cairn_collection_model_get_child_model (forest->root, collection);

      watch_children (forest, child);
    }
}

static void
forest_free (Forest *forest)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, forest->checked);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_signal_handlers_disconnect_by_data (((Checked *) value)->model, forest);
  g_hash_table_unref (forest->checked);
  g_object_unref (forest->root);
  g_free (forest);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Forest, forest_free)

static Forest *
forest_new (CairnCollectionModel *root)
{
  Forest *forest = g_new0 (Forest, 1);

  forest->root = g_object_ref (root);
  forest->checked = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                           (GDestroyNotify) checked_free);
  watch_children (forest, root);
  return forest;
}

/* The tree as the store lists it: each model's ids and counts. */
static void
assert_tree_matches_store (CairnCollectionModel *root,
                           const char           *resource)
{
  GError *error = NULL;
  g_autoptr(GPtrArray) listed = cairn_store_list_collections (store, resource, &error);
  g_autoptr(GHashTable) children = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                          (GDestroyNotify) g_array_unref);
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                         NULL);
  guint64 total = 0;
  guint64 unread = 0;

  assert_no_error (error);
  for (guint i = 0; i < listed->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (listed, i);
      guint64 id = cairn_collection_get_id (collection);

      g_hash_table_add (present, g_memdup2 (&id, sizeof id));
    }
  /* Depth first with siblings by name: each parent's children in order. */
  for (guint i = 0; i < listed->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (listed, i);
      guint64 parent = cairn_collection_get_parent_id (collection);
      guint64 id = cairn_collection_get_id (collection);
      GArray *list;

      if (!g_hash_table_contains (present, &parent))
        parent = 0;
      list = g_hash_table_lookup (children, &parent);
      if (list == NULL)
        {
          list = g_array_new (FALSE, FALSE, sizeof (guint64));
          g_hash_table_insert (children, g_memdup2 (&parent, sizeof parent), list);
        }
      g_array_append_val (list, id);
    }

  {
    g_autoptr(GArray) top = object_ids (G_LIST_MODEL (root));
    GArray *want = g_hash_table_lookup (children, &(guint64) { 0 });
    g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (guint64));

    assert_same_ids (top, want != NULL ? want : none, "top");
  }
  for (guint i = 0; i < listed->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (listed, i);
      guint64 id = cairn_collection_get_id (collection);
      g_autoptr(CairnCollectionModel) child = cairn_collection_model_get_child_model (root,
                                                                                      collection);
      g_autoptr(GArray) ids = object_ids (G_LIST_MODEL (child));
      GArray *want = g_hash_table_lookup (children, &id);
      g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (guint64));
      guint64 count = 0;
      guint64 not_seen = 0;

      assert_same_ids (ids, want != NULL ? want : none, cairn_collection_get_name (collection));
      ck_assert (cairn_store_get_collection_statistics (store, id, &count, &not_seen, NULL,
                                                        &error));
      ck_assert_uint_eq (cairn_collection_model_get_item_count (child), count);
      ck_assert_uint_eq (cairn_collection_model_get_unread_count (child), not_seen);
      if (!cairn_collection_get_virtual (collection))
        {
          total += count;
          unread += not_seen;
        }
    }
  ck_assert_uint_eq (cairn_collection_model_get_item_count (root), total);
  ck_assert_uint_eq (cairn_collection_model_get_unread_count (root), unread);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           guint      *count)
{
  (*count)++;
}

/* The tree, a resource's part of it, and counts that notify. */
START_TEST (test_collection_model_open)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  guint64 inbox = make_collection (store, RESOURCE, 0, "Inbox", FALSE);
  guint64 work = make_collection (store, RESOURCE, inbox, "Work", FALSE);
  g_autoptr(CairnCollectionModel) root = NULL;
  g_autoptr(CairnCollectionModel) own = NULL;
  g_autoptr(CairnCollectionModel) of_inbox = NULL;
  g_autoptr(CairnCollection) first = NULL;
  g_autoptr(CairnCollection) inbox_collection = NULL;
  guint notified = 0;
  GError *error = NULL;

  make_collection (store, RESOURCE, 0, "Archive", FALSE);
  make_collection (store, OTHER_RESOURCE, 0, "Elsewhere", FALSE);
  make_collection (store, RESOURCE, 0, "V", TRUE);
  fill_collection (inbox, 30, rand);
  fill_collection (work, 20, rand);

  root = cairn_collection_model_new (store, NULL);
  own = cairn_collection_model_new (store, RESOURCE);
  wait_caught_up (G_OBJECT (root));
  wait_caught_up (G_OBJECT (own));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (root)), 4);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (own)), 3);
  first = g_list_model_get_item (G_LIST_MODEL (root), 0);
  ck_assert_str_eq (cairn_collection_get_name (first), "Archive");
  assert_tree_matches_store (root, NULL);
  assert_tree_matches_store (own, RESOURCE);
  ck_assert_uint_eq (cairn_collection_model_get_item_count (own), 50);

  inbox_collection = g_list_model_get_item (G_LIST_MODEL (own), 1);
  of_inbox = cairn_collection_model_get_child_model (own, inbox_collection);
  {
    g_autoptr(CairnCollectionModel) again =
      cairn_collection_model_get_child_model (own, inbox_collection);

    ck_assert_ptr_eq (again, of_inbox);
  }
  ck_assert_uint_eq (cairn_collection_model_get_parent_id (of_inbox), inbox);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (of_inbox)), 1);
  ck_assert_uint_eq (cairn_collection_model_get_item_count (of_inbox), 30);

  g_signal_connect (of_inbox, "notify::item-count", G_CALLBACK (on_notify), &notified);
  fill_collection (inbox, 5, rand);
  wait_caught_up (G_OBJECT (of_inbox));
  ck_assert_uint_eq (notified, 1);
  ck_assert_uint_eq (cairn_collection_model_get_item_count (of_inbox), 35);
  assert_tree_matches_store (own, RESOURCE);
  assert_no_error (error);
}
END_TEST

typedef struct
{
  guint64 id;
  const char *name;
  CairnCollection *parent;
} Reshape;

static gboolean
rename_block (CairnTransaction  *txn,
              gpointer           data,
              GError           **error)
{
  Reshape *reshape = data;
  g_autoptr(CairnCollection) collection = cairn_store_get_collection (store, reshape->id, error);

  if (collection == NULL)
    return FALSE;
  cairn_collection_set_name (collection, reshape->name);
  return cairn_transaction_modify_collection (txn, collection, 0, error);
}

static gboolean
adopt_block (CairnTransaction  *txn,
             gpointer           data,
             GError           **error)
{
  Reshape *reshape = data;

  return cairn_transaction_create_collection (txn, reshape->parent, error) &&
         cairn_transaction_move_collection (txn, reshape->id,
                                            cairn_collection_get_id (reshape->parent), error);
}

/* One read takes a rename of a collection, then the creation of a new
 * parent and the move under it: the collection goes under the parent,
 * although the batch names it first. */
START_TEST (test_collection_model_batch_order)
{
  guint64 child = make_collection (store, RESOURCE, 0, "B", FALSE);
  g_autoptr(CairnCollectionModel) root = NULL;
  g_autoptr(Forest) forest = NULL;
  g_autoptr(CairnCollection) parent = cairn_collection_new (RESOURCE, 0, "A");
  Reshape reshape = { child, "C", parent };
  GError *error = NULL;

  root = cairn_collection_model_new (store, NULL);
  wait_caught_up (G_OBJECT (root));
  forest = forest_new (root);
  ck_assert (cairn_store_write_sync (store, rename_block, &reshape, NULL, NULL, &error));
  ck_assert (cairn_store_write_sync (store, adopt_block, &reshape, NULL, NULL, &error));
  assert_no_error (error);
  wait_caught_up (G_OBJECT (root));
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (root)), 1);
  assert_tree_matches_store (root, NULL);
}
END_TEST

START_TEST (test_collection_model_follows_other_process)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (200 + _i);
  g_autoptr(CairnCollectionModel) root = NULL;
  g_autoptr(CairnCollectionModel) own = NULL;
  g_autoptr(Forest) forest = NULL;
  g_autoptr(Forest) own_forest = NULL;
  guint64 top = make_collection (store, RESOURCE, 0, "F1", FALSE);
  GPid writer;

  make_collection (store, RESOURCE, top, "F2", FALSE);
  make_collection (store, RESOURCE, 0, "F3", FALSE);
  make_collection (store, OTHER_RESOURCE, 0, "F4", FALSE);
  fill_collection (top, 40, rand);

  root = cairn_collection_model_new (store, NULL);
  own = cairn_collection_model_new (store, RESOURCE);
  wait_caught_up (G_OBJECT (root));
  wait_caught_up (G_OBJECT (own));
  forest = forest_new (root);
  own_forest = forest_new (own);

  writer = spawn_writer ("folders", 2000 + _i);
  while (!child_exited (writer))
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  wait_caught_up (G_OBJECT (root));
  wait_caught_up (G_OBJECT (own));
  assert_tree_matches_store (root, NULL);
  assert_tree_matches_store (own, RESOURCE);
  ck_assert_uint_gt (g_hash_table_size (forest->checked), 5);

  {
    g_autoptr(CairnCollectionModel) fresh = cairn_collection_model_new (store, NULL);

    wait_caught_up (G_OBJECT (fresh));
    ck_assert_uint_eq (cairn_collection_model_get_revision (fresh),
                       cairn_collection_model_get_revision (root));
    assert_tree_matches_store (fresh, NULL);
  }
}
END_TEST

int
main (int   argc,
      char *argv[])
{
  /* Counted, not written down: a count too small drops rows silently. */
  const CairnTestCase cases[] = {
    { "items", test_item_model_open },
    { "items", test_item_model_query },
    { "items", test_item_model_unknown_collection },
    { "items", test_item_model_collection_removed },
    { "items", test_item_model_oldest_first },
    { "collections", test_collection_model_open },
    { "collections", test_collection_model_batch_order },
  };
  Suite *suite;
  TCase *random;
  TCase *search;

  if (argc == 5 && g_str_equal (argv[1], "write"))
    return run_writer (argv[2], argv[3], argv[4]);

  suite = cairn_test_suite_new ("models", cases, G_N_ELEMENTS (cases), setup, teardown, 120);
  random = tcase_create ("random");
  tcase_add_checked_fixture (random, setup, teardown);
  tcase_set_timeout (random, 300);
  tcase_add_loop_test (random, test_item_model_follows_other_process, 0, 2);
  tcase_add_loop_test (random, test_collection_model_follows_other_process, 0, 2);
  suite_add_tcase (suite, random);
  search = tcase_create ("search");
  tcase_add_checked_fixture (search, setup_indexer, teardown_indexer);
  tcase_set_timeout (search, 300);
  tcase_add_test (search, test_item_model_search);
  tcase_add_test (search, test_item_model_search_no_index);
  tcase_add_test (search, test_item_model_search_invalid);
  tcase_add_test (search, test_item_model_search_settles);
  suite_add_tcase (suite, search);

  return cairn_test_suite_run (suite);
}
