/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CairnItemModel and CairnCollectionModel over a store in a private
 * session bus: a model of 100,000 items opens with its first page and
 * loads the others on demand; after 1,000 random writes from another
 * process a model equals a freshly built one, and every items-changed it
 * emitted along the way is replayed on a reference list; a collection
 * model keeps its counts and levels current. */
#include <check.h>
#include <string.h>

#include <cairn/cairn.h>
#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) ? (error)->message : "")

#define LARGE 100000
#define SMALL 2000
#define WRITES 1000
#define PAGE 64

static CairnTestEnvironment *environment;
static CairnStore *store;
static char *self_path;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  assert_no_error (error);
  store = cairn_store_open (cairn_test_environment_get_store_path (environment), NULL, &error);
  assert_no_error (error);
}

static void
teardown (void)
{
  g_clear_object (&store);
  g_clear_object (&environment);
}

typedef struct
{
  const char *resource;
  guint64 parent_id;
  const char *name;
  guint64 id;
} NewCollection;

static gboolean
create_collection (CairnTransaction  *txn,
                   gpointer           data,
                   GError           **error)
{
  NewCollection *spec = data;
  g_autoptr(CairnCollection) collection = cairn_collection_new (spec->resource, spec->parent_id,
                                                                spec->name);

  if (!cairn_transaction_create_collection (txn, collection, error))
    return FALSE;
  spec->id = cairn_collection_get_id (collection);
  return TRUE;
}

static guint64
add_collection (CairnStore *target,
                guint64     parent_id,
                const char *name)
{
  NewCollection spec = { "test_0", parent_id, name, 0 };
  GError *error = NULL;

  ck_assert (cairn_store_write_sync (target, create_collection, &spec, NULL, NULL, &error));
  assert_no_error (error);
  return spec.id;
}

/* @count mails in @collection, every third one read. */
static void
fill (guint64 collection,
      guint   count)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  GError *error = NULL;

  for (guint i = 0; i < count; i++)
    {
      CairnItem *item = cairn_item_new ("message/rfc822");
      g_autofree char *remote_id = g_strdup_printf ("%" G_GUINT64_FORMAT "-%u", collection, i);

      cairn_item_set_collection_id (item, collection);
      cairn_item_set_remote_id (item, remote_id);
      if (i % 3 == 0)
        cairn_flags_add (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);
      g_ptr_array_add (items, item);
    }
  ck_assert (cairn_store_create_items_sync (store, items, NULL, &error));
  assert_no_error (error);
}

static void
iterate_until (gboolean (*done) (gpointer data),
               gpointer   data,
               guint      seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!done (data))
    {
      ck_assert_msg (g_get_monotonic_time () < end, "timed out");
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
is_loaded (gpointer data)
{
  CairnItemModel *model = data;

  return cairn_item_model_is_item_loaded (model, 70000);
}

START_TEST (test_large_opens_with_first_page)
{
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(CairnItem) first = NULL;
  g_autoptr(CairnItem) far = NULL;
  g_autoptr(CairnItem) loaded = NULL;
  guint64 inbox = add_collection (store, 0, "Inbox");
  GError *error = NULL;

  fill (inbox, LARGE);
  model = cairn_item_model_new_sync (store, inbox, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), LARGE);
  ck_assert (g_list_model_get_item_type (G_LIST_MODEL (model)) == CAIRN_TYPE_ITEM);

  /* Open means ids and the first page; the rest is loaded on demand. */
  ck_assert (cairn_item_model_is_item_loaded (model, 0));
  ck_assert (cairn_item_model_is_item_loaded (model, PAGE - 1));
  ck_assert (!cairn_item_model_is_item_loaded (model, PAGE));
  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  ck_assert_str_eq (cairn_item_get_remote_id (first) + strcspn (cairn_item_get_remote_id (first), "-"),
                    "-0");
  ck_assert (cairn_flags_contains (cairn_item_get_flags (first), CAIRN_FLAG_SEEN));

  /* A placeholder with the id, then the real item in its place. */
  far = g_list_model_get_item (G_LIST_MODEL (model), 70000);
  ck_assert_uint_eq (cairn_item_get_id (far), cairn_item_model_get_item_id (model, 70000));
  ck_assert_ptr_null (cairn_item_get_remote_id (far));
  iterate_until (is_loaded, model, 10);
  loaded = g_list_model_get_item (G_LIST_MODEL (model), 70000);
  ck_assert (g_str_has_suffix (cairn_item_get_remote_id (loaded), "-70000"));
  ck_assert_ptr_null (g_list_model_get_item (G_LIST_MODEL (model), LARGE));
  ck_assert_uint_eq (cairn_item_model_get_item_id (model, LARGE), 0);
}
END_TEST

/* A reference list kept only from items-changed: each emission must
 * hold for the model as it is when emitted. */
typedef struct
{
  CairnItemModel *model;
  GArray *ids;
  guint emissions;
  guint position;
} Reference;

static void
on_collections_changed (GListModel *list,
                        guint       position,
                        guint       removed,
                        guint       added,
                        Reference  *reference)
{
  reference->emissions++;
  reference->position = position;
  ck_assert_uint_eq (removed, 0);
  ck_assert_uint_eq (added, 1);
}

static void
check_same (CairnItemModel *model,
            GArray         *ids)
{
  ck_assert_uint_eq (ids->len, g_list_model_get_n_items (G_LIST_MODEL (model)));
  for (guint i = 0; i < ids->len; i++)
    ck_assert_uint_eq (g_array_index (ids, guint64, i), cairn_item_model_get_item_id (model, i));
}

static void
on_items_changed (GListModel *list,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Reference  *reference)
{
  ck_assert_uint_le (position + removed, reference->ids->len);
  g_array_remove_range (reference->ids, position, removed);
  for (guint i = 0; i < added; i++)
    {
      guint64 id = cairn_item_model_get_item_id (reference->model, position + i);

      g_array_insert_val (reference->ids, position + i, id);
    }
  /* Not a reset: only what changed. */
  ck_assert_uint_lt (removed, SMALL);
  check_same (reference->model, reference->ids);
  reference->emissions++;
}

static void
reference_init (Reference      *reference,
                CairnItemModel *model)
{
  reference->model = model;
  reference->ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (model)); i++)
    {
      guint64 id = cairn_item_model_get_item_id (model, i);

      g_array_append_val (reference->ids, id);
    }
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), reference);
}

typedef struct
{
  CairnItemModel *model;
  const char *without_flag;
  gboolean descending;
} Fresh;

static CairnItemModel *
fresh_model (CairnItemModel *like)
{
  GError *error = NULL;
  CairnItemModel *model =
    g_initable_new (CAIRN_TYPE_ITEM_MODEL, NULL, &error, "store", store,
                    "collection-id", cairn_item_model_get_collection_id (like),
                    "without-flag", cairn_item_model_get_without_flag (like),
                    "descending", cairn_item_model_get_descending (like), NULL);

  assert_no_error (error);
  return model;
}

static gboolean
equals_fresh (gpointer data)
{
  CairnItemModel *model = data;
  g_autoptr(CairnItemModel) fresh = fresh_model (model);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (fresh));

  if (n != g_list_model_get_n_items (G_LIST_MODEL (model)))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (cairn_item_model_get_item_id (fresh, i) != cairn_item_model_get_item_id (model, i))
      return FALSE;
  return TRUE;
}

/* Loaded items carry the flags the store has now. */
static void
assert_loaded_current (CairnItemModel *model)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (model)); i++)
    {
      g_autoptr(CairnItem) shown = NULL;
      g_autoptr(CairnItem) stored = NULL;
      GError *error = NULL;

      if (!cairn_item_model_is_item_loaded (model, i))
        continue;
      shown = g_list_model_get_item (G_LIST_MODEL (model), i);
      stored = cairn_store_get_item (store, cairn_item_get_id (shown), NULL, &error);
      assert_no_error (error);
      ck_assert (cairn_flags_contains (cairn_item_get_flags (shown), CAIRN_FLAG_SEEN) ==
                 cairn_flags_contains (cairn_item_get_flags (stored), CAIRN_FLAG_SEEN));
      ck_assert (cairn_flags_contains (cairn_item_get_flags (shown), CAIRN_FLAG_FLAGGED) ==
                 cairn_flags_contains (cairn_item_get_flags (stored), CAIRN_FLAG_FLAGGED));
    }
}

/* The writer, another process: creates, deletes, moves between the two
 * collections and flags at random. */
typedef struct
{
  GRand *rand;
  guint64 collections[2];
  GArray *ids;
} Writer;

static gboolean
random_write (CairnTransaction  *txn,
              gpointer           data,
              GError           **error)
{
  Writer *writer = data;
  guint pick = g_rand_int_range (writer->rand, 0, writer->ids->len);
  guint64 id = g_array_index (writer->ids, guint64, pick);
  guint64 collection = writer->collections[g_rand_int_range (writer->rand, 0, 2)];

  switch (g_rand_int_range (writer->rand, 0, 4))
    {
    case 0:
      {
        g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

        cairn_item_set_collection_id (item, collection);
        if (!cairn_transaction_create_item (txn, item, error))
          return FALSE;
        id = cairn_item_get_id (item);
        g_array_append_val (writer->ids, id);
        return TRUE;
      }
    case 1:
      g_array_remove_index_fast (writer->ids, pick);
      return cairn_transaction_delete_item (txn, id, error);
    case 2:
      return cairn_transaction_move_item (txn, id, collection, error);
    default:
      {
        g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
        const char *flag = g_rand_boolean (writer->rand) ? CAIRN_FLAG_SEEN : CAIRN_FLAG_FLAGGED;

        if (g_rand_boolean (writer->rand))
          cairn_flags_delta_add (delta, flag);
        else
          cairn_flags_delta_remove (delta, flag);
        return cairn_transaction_change_flags (txn, id, delta, 0, error);
      }
    }
}

static gboolean
list_ids (CairnStore  *target,
          guint64      collection,
          GArray      *ids,
          GError     **error)
{
  g_autoptr(GPtrArray) items = cairn_store_list_items (target, collection, NULL, 0, 0, error);

  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      guint64 id = cairn_item_get_id (g_ptr_array_index (items, i));

      g_array_append_val (ids, id);
    }
  return TRUE;
}

static int
write_randomly (const char *path,
                guint64     first,
                guint64     second)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) target = cairn_store_open (path, NULL, &error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GRand) rand = g_rand_new_with_seed (19);
  Writer writer = { rand, { first, second }, ids };

  if (target == NULL || !list_ids (target, first, ids, &error) ||
      !list_ids (target, second, ids, &error))
    {
      g_printerr ("writer: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < WRITES; i++)
    if (!cairn_store_write_sync (target, random_write, &writer, NULL, NULL, &error))
      {
        g_printerr ("writer: %s\n", error->message);
        return 1;
      }
  return 0;
}

static void
child_exited (GPid     pid,
              int      status,
              gpointer data)
{
  *(int *) data = status;
  g_spawn_close_pid (pid);
}

static gboolean
exited (gpointer data)
{
  return *(int *) data != -1;
}

START_TEST (test_follows_another_process)
{
  guint64 inbox = add_collection (store, 0, "Inbox");
  guint64 archive = add_collection (store, 0, "Archive");
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  const char *argv[] = { self_path, "--write", cairn_store_get_path (store), NULL, NULL, NULL };
  g_autoptr(CairnItemModel) all = NULL;
  g_autoptr(CairnItemModel) unread = NULL;
  Reference all_reference = { 0 }, unread_reference = { 0 };
  GError *error = NULL;
  int status = -1;
  GPid pid;

  fill (inbox, SMALL);
  fill (archive, SMALL / 2);
  first = g_strdup_printf ("%" G_GUINT64_FORMAT, inbox);
  second = g_strdup_printf ("%" G_GUINT64_FORMAT, archive);
  argv[3] = first;
  argv[4] = second;

  all = cairn_item_model_new_sync (store, inbox, NULL, &error);
  assert_no_error (error);
  unread = g_initable_new (CAIRN_TYPE_ITEM_MODEL, NULL, &error, "store", store,
                           "collection-id", inbox, "without-flag", CAIRN_FLAG_SEEN,
                           "descending", TRUE, NULL);
  assert_no_error (error);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (unread)), SMALL - SMALL / 3 - 1);
  ck_assert_uint_gt (cairn_item_model_get_item_id (unread, 0),
                     cairn_item_model_get_item_id (unread, 1));
  reference_init (&all_reference, all);
  reference_init (&unread_reference, unread);
  /* Some loaded pages, so that flag changes show in loaded items. */
  for (guint i = 0; i < SMALL; i += 5 * PAGE)
    g_object_unref (g_list_model_get_item (G_LIST_MODEL (all), i));

  ck_assert (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                            &pid, &error));
  assert_no_error (error);
  g_child_watch_add (pid, child_exited, &status);
  iterate_until (exited, &status, 120);
  ck_assert (g_spawn_check_wait_status (status, NULL));

  iterate_until (equals_fresh, all, 20);
  iterate_until (equals_fresh, unread, 20);
  ck_assert_uint_gt (all_reference.emissions, 0);
  ck_assert_uint_gt (unread_reference.emissions, 0);
  check_same (all, all_reference.ids);
  check_same (unread, unread_reference.ids);
  assert_loaded_current (all);

  g_array_unref (all_reference.ids);
  g_array_unref (unread_reference.ids);
}
END_TEST

static void
opened (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  *(CairnItemModel **) data = cairn_item_model_new_finish (result, NULL);
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

typedef struct
{
  guint64 item_id;
  guint64 collection_id;
} Link;

static gboolean
create_virtual (CairnTransaction  *txn,
                gpointer           data,
                GError           **error)
{
  Link *link = data;
  g_autoptr(CairnCollection) saved = cairn_collection_new ("test_0", 0, "Saved search");

  cairn_collection_set_virtual (saved, TRUE);
  if (!cairn_transaction_create_collection (txn, saved, error))
    return FALSE;
  link->collection_id = cairn_collection_get_id (saved);
  return cairn_transaction_link_item (txn, link->collection_id, link->item_id, error);
}

START_TEST (test_async_virtual_and_errors)
{
  g_autoptr(CairnItemModel) model = NULL;
  g_autoptr(CairnItemModel) everything = NULL;
  g_autoptr(GError) error = NULL;
  guint64 inbox = add_collection (store, 0, "Inbox");

  fill (inbox, 10);
  cairn_item_model_new_async (store, inbox, NULL, opened, &model);
  iterate_until (is_set, &model, 10);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 10);
  ck_assert_uint_eq (cairn_item_model_get_collection_id (model), inbox);
  ck_assert_ptr_eq (cairn_item_model_get_store (model), store);
  ck_assert_ptr_null (cairn_item_model_get_mime_type (model));
  ck_assert_ptr_null (cairn_item_model_get_with_flag (model));
  ck_assert (!cairn_item_model_get_descending (model));

  /* The whole store, of one MIME type and flag. */
  everything = g_initable_new (CAIRN_TYPE_ITEM_MODEL, NULL, &error, "store", store,
                               "mime-type", "message/rfc822", "with-flag", CAIRN_FLAG_SEEN,
                               NULL);
  ck_assert_ptr_null (error);
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (everything)), 4);
  ck_assert_str_eq (cairn_item_model_get_with_flag (everything), CAIRN_FLAG_SEEN);
  ck_assert_str_eq (cairn_item_model_get_mime_type (everything), "message/rfc822");

  /* A virtual collection lists its links. */
  {
    g_autoptr(CairnItemModel) saved = NULL;
    Link link = { cairn_item_model_get_item_id (model, 3), 0 };
    GError *local_error = NULL;

    ck_assert (cairn_store_write_sync (store, create_virtual, &link, NULL, NULL, &local_error));
    assert_no_error (local_error);
    saved = cairn_item_model_new_sync (store, link.collection_id, NULL, &local_error);
    assert_no_error (local_error);
    ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (saved)), 1);
    ck_assert_uint_eq (cairn_item_model_get_item_id (saved, 0), link.item_id);
  }

  ck_assert_ptr_null (cairn_item_model_new_sync (store, 999999, NULL, &error));
  ck_assert (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND));
}
END_TEST

static CairnCollectionNode *
node_at (GListModel *model,
         guint       position)
{
  CairnCollectionNode *node = g_list_model_get_item (model, position);

  ck_assert_ptr_nonnull (node);
  g_object_unref (node);
  return node;
}

typedef struct
{
  CairnCollectionNode *node;
  guint64 unread;
} Unread;

static gboolean
has_unread (gpointer data)
{
  Unread *wanted = data;

  return cairn_collection_node_get_unread_count (wanted->node) == wanted->unread;
}

static gboolean
has_n_items (gpointer data)
{
  return g_list_model_get_n_items (data) == 3;
}

static gboolean
mark_all_read (CairnTransaction  *txn,
               gpointer           data,
               GError           **error)
{
  g_autoptr(GPtrArray) items = cairn_store_list_items (store, *(guint64 *) data, NULL, 0, 0,
                                                       error);
  g_autoptr(CairnFlagsDelta) seen = cairn_flags_delta_new ();

  cairn_flags_delta_add (seen, CAIRN_FLAG_SEEN);
  for (guint i = 0; items != NULL && i < items->len; i++)
    if (!cairn_transaction_change_flags (txn, cairn_item_get_id (g_ptr_array_index (items, i)),
                                         seen, 0, error))
      return FALSE;
  return items != NULL;
}

START_TEST (test_collection_model)
{
  guint64 inbox = add_collection (store, 0, "Inbox");
  guint64 lists = add_collection (store, inbox, "Lists");
  guint64 archive = add_collection (store, 0, "Archive");
  g_autoptr(CairnCollectionModel) model = NULL;
  g_autoptr(GListModel) children = NULL;
  g_autoptr(GListModel) again = NULL;
  Reference reference = { 0 };
  CairnCollectionNode *node;
  Unread wanted;
  GError *error = NULL;

  fill (inbox, 6);
  fill (lists, 3);
  {
    NewCollection other = { "other_0", 0, "Elsewhere", 0 };

    ck_assert (cairn_store_write_sync (store, create_collection, &other, NULL, NULL, &error));
  }

  model = cairn_collection_model_new_sync (store, "test_0", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (cairn_collection_model_get_resource (model), "test_0");
  ck_assert (g_list_model_get_item_type (G_LIST_MODEL (model)) == CAIRN_TYPE_COLLECTION_NODE);
  /* Top level by name, one resource only, with counts. */
  ck_assert_uint_eq (g_list_model_get_n_items (G_LIST_MODEL (model)), 2);
  ck_assert_str_eq (cairn_collection_node_get_name (node_at (G_LIST_MODEL (model), 0)),
                    "Archive");
  node = node_at (G_LIST_MODEL (model), 1);
  ck_assert_uint_eq (cairn_collection_node_get_id (node), inbox);
  ck_assert_uint_eq (cairn_collection_node_get_item_count (node), 6);
  ck_assert_uint_eq (cairn_collection_node_get_unread_count (node), 4);
  ck_assert_ptr_null (cairn_collection_model_get_children (
    model, node_at (G_LIST_MODEL (model), 0)));

  /* The child model, one per collection while held. */
  children = cairn_collection_model_get_children (model, node);
  ck_assert_ptr_nonnull (children);
  ck_assert_uint_eq (cairn_collection_model_get_parent_id (CAIRN_COLLECTION_MODEL (children)),
                     inbox);
  ck_assert_uint_eq (g_list_model_get_n_items (children), 1);
  ck_assert_uint_eq (cairn_collection_node_get_item_count (node_at (children, 0)), 3);
  again = cairn_collection_model_get_children (model, node);
  ck_assert_ptr_eq (again, children);

  /* Counts follow the items, in place. */
  wanted = (Unread) { node, 0 };
  ck_assert (cairn_store_write_sync (store, mark_all_read, &inbox, NULL, NULL, &error));
  assert_no_error (error);
  iterate_until (has_unread, &wanted, 10);
  ck_assert_ptr_eq (node_at (G_LIST_MODEL (model), 1), node);

  /* A new top-level collection is inserted at its place by name. */
  g_signal_connect (model, "items-changed", G_CALLBACK (on_collections_changed), &reference);
  reference.emissions = 0;
  add_collection (store, 0, "Drafts");
  iterate_until (has_n_items, model, 10);
  ck_assert_uint_eq (reference.emissions, 1);
  ck_assert_uint_eq (reference.position, 1);
  ck_assert_str_eq (cairn_collection_node_get_name (node_at (G_LIST_MODEL (model), 1)),
                    "Drafts");
  ck_assert_uint_eq (archive, cairn_collection_node_get_id (node_at (G_LIST_MODEL (model), 0)));
}
END_TEST

int
main (int   argc,
      char *argv[])
{
  const CairnTestCase cases[] = {
    { "item-model", test_large_opens_with_first_page },
    { "item-model", test_follows_another_process },
    { "item-model", test_async_virtual_and_errors },
    { "collection-model", test_collection_model },
  };

  if (argc == 5 && g_str_equal (argv[1], "--write"))
    return write_randomly (argv[2], g_ascii_strtoull (argv[3], NULL, 10),
                           g_ascii_strtoull (argv[4], NULL, 10));
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  return cairn_test_suite_run (cairn_test_suite_new ("models", cases, G_N_ELEMENTS (cases),
                                                     setup, teardown, 300));
}
