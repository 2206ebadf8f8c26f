/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client of the install test, built against the staged installation
 * with `pkg-config --cflags --libs cairn-1` as an application would be:
 * it prints one line `COLLECTION/REMOTE-ID: PAYLOAD` for every item of a
 * resource, sorted, so that the test compares them with what it wrote. */
#include <stdlib.h>
#include <cairn/cairn.h>

static int
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
add_lines (CairnStore       *store,
           CairnCollection  *collection,
           CairnFetchScope  *scope,
           const char       *part_name,
           GPtrArray        *lines,
           GError          **error)
{
  g_autoptr(GPtrArray) items = cairn_store_list_items (store,
                                                       cairn_collection_get_id (collection),
                                                       scope, 0, 0, error);

  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      CairnItem *item = g_ptr_array_index (items, i);
      CairnPart *part = cairn_item_get_part (item, part_name);
      g_autoptr(GBytes) bytes = NULL;
      gsize size;
      const char *data;

      if (part == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Item %" G_GUINT64_FORMAT
                       " has no part %s", cairn_item_get_id (item), part_name);
          return FALSE;
        }
      bytes = cairn_part_read_bytes (part, G_MAXSIZE, NULL, error);
      if (bytes == NULL)
        return FALSE;
      data = g_bytes_get_data (bytes, &size);
      g_ptr_array_add (lines, g_strdup_printf ("%s/%s: %.*s",
                                               cairn_collection_get_name (collection),
                                               cairn_item_get_remote_id (item), (int) size,
                                               data));
    }
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (argc != 4)
    {
      g_printerr ("usage: %s STORE RESOURCE PART\n", argv[0]);
      return EXIT_FAILURE;
    }
  cairn_fetch_scope_add_part (scope, argv[3]);
  store = cairn_store_open (argv[1], NULL, &error);
  if (store != NULL)
    collections = cairn_store_list_collections (store, argv[2], &error);
  for (guint i = 0; collections != NULL && i < collections->len && error == NULL; i++)
    add_lines (store, g_ptr_array_index (collections, i), scope, argv[3], lines, &error);
  if (error != NULL)
    {
      g_printerr ("%s: %s\n", argv[0], error->message);
      return EXIT_FAILURE;
    }
  g_ptr_array_sort (lines, compare_lines);
  for (guint i = 0; i < lines->len; i++)
    g_print ("%s\n", (const char *) g_ptr_array_index (lines, i));
  return EXIT_SUCCESS;
}
