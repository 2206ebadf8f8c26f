/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-resource-checks.h"

#include "cairn-test-suite.h"

/* Starts @type as instance @id with @config (name, value pairs) and waits
 * for its first sync; @client gets a store of the resource's folder. */
CairnTestResource *
cairn_check_start_resource (CairnTestEnvironment   *environment,
                            const char             *type,
                            const char             *id,
                            const char * const     *config,
                            CairnTestResourceMode   mode,
                            guint                   wait_ms,
                            CairnStore            **client)
{
  g_autoptr(CairnTestResource) resource = NULL;
  GError *error = NULL;

  resource = cairn_test_resource_new (environment, type, id, config, &error);
  assert_no_error (error);
  ck_assert (cairn_test_resource_start (resource, mode, G_TYPE_INVALID, &error));
  assert_no_error (error);
  *client = cairn_test_resource_open_client_store (resource, &error);
  assert_no_error (error);
  cairn_check_wait_replayed (resource, wait_ms);
  return g_steal_pointer (&resource);
}

void
cairn_check_wait_replayed (CairnTestResource *resource,
                           guint              wait_ms)
{
  GError *error = NULL;

  cairn_test_resource_wait_replayed (resource, wait_ms, &error);
  assert_no_error (error);
}

void
cairn_check_synchronize (CairnTestResource *resource)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_synchronize_sync (resource, 0, &error));
  assert_no_error (error);
}

void
cairn_check_set_online (CairnTestResource *resource,
                        gboolean           online)
{
  GError *error = NULL;

  ck_assert (cairn_test_resource_set_online (resource, online, &error));
  assert_no_error (error);
}

/* The collection of @resource_id with @remote_id, or %NULL when there is
 * none. */
CairnCollection *
cairn_check_find_collection (CairnStore *client,
                             const char *resource_id,
                             const char *remote_id)
{
  GError *error = NULL;
  CairnCollection *found = cairn_store_find_collection_by_remote_id (client, resource_id,
                                                                     remote_id, &error);

  if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    g_clear_error (&error);
  assert_no_error (error);
  return found;
}

/* The id of a collection that must exist. */
guint64
cairn_check_collection_id (CairnStore *client,
                           const char *resource_id,
                           const char *remote_id)
{
  g_autoptr(CairnCollection) found = cairn_check_find_collection (client, resource_id, remote_id);

  ck_assert_msg (found != NULL, "no collection %s", remote_id);
  return cairn_collection_get_id (found);
}

/* The item with @remote_id in @collection_id with all its parts, or %NULL
 * when there is none. */
CairnItem *
cairn_check_find_item (CairnStore *client,
                       guint64     collection_id,
                       const char *remote_id)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GError *error = NULL;
  CairnItem *item;

  cairn_fetch_scope_set_all_parts (scope, TRUE);
  item = cairn_store_find_item_by_remote_id (client, collection_id, remote_id, scope, &error);
  if (g_error_matches (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    g_clear_error (&error);
  assert_no_error (error);
  return item;
}
