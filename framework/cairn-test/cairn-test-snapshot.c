/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestSnapshot:
 *
 * What one side holds — a backend, the store, or the model of a
 * #CairnTestReplay: a tree of folders, named by their path from the top
 * (`A/B`), and items, each with the folder it is in, its name (the
 * backend's file name, the store's remote id; %NULL where unknown), its
 * content and its flags.
 *
 * Items are told apart by their content, so each item of a test should
 * carry something of its own, such as a unique header line.
 * cairn_test_snapshot_compare() says, in words, where two snapshots
 * differ.
 *
 * Since: 0.1
 */

#define MAX_DIFFERENCES 40

typedef struct
{
  char *folder;
  char *name;
  char *flags;
} Entry;

struct _CairnTestSnapshot
{
  GObject parent_instance;

  GHashTable *folders;    /* path -> itself */
  GHashTable *items;      /* GBytes content -> GPtrArray of Entry */
  guint n_items;
};

G_DEFINE_FINAL_TYPE (CairnTestSnapshot, cairn_test_snapshot, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_free (entry->folder);
  g_free (entry->name);
  g_free (entry->flags);
  g_free (entry);
}

static void
cairn_test_snapshot_finalize (GObject *object)
{
  CairnTestSnapshot *self = CAIRN_TEST_SNAPSHOT (object);

  g_hash_table_unref (self->folders);
  g_hash_table_unref (self->items);

  G_OBJECT_CLASS (cairn_test_snapshot_parent_class)->finalize (object);
}

static void
cairn_test_snapshot_class_init (CairnTestSnapshotClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cairn_test_snapshot_finalize;
}

static void
cairn_test_snapshot_init (CairnTestSnapshot *self)
{
  self->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->items = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                       (GDestroyNotify) g_bytes_unref,
                                       (GDestroyNotify) g_ptr_array_unref);
}

/**
 * cairn_test_snapshot_new:
 *
 * Creates an empty snapshot.
 *
 * Returns: (transfer full): an empty snapshot
 *
 * Since: 0.1
 */
CairnTestSnapshot *
cairn_test_snapshot_new (void)
{
  return g_object_new (CAIRN_TYPE_TEST_SNAPSHOT, NULL);
}

/**
 * cairn_test_snapshot_add_folder:
 * @self: a #CairnTestSnapshot
 * @folder: the folder's path from the top, its names joined by `/`
 *
 * Adds a folder; adding it again does nothing.
 *
 * Since: 0.1
 */
void
cairn_test_snapshot_add_folder (CairnTestSnapshot *self,
                                const char        *folder)
{
  g_return_if_fail (CAIRN_IS_TEST_SNAPSHOT (self));
  g_return_if_fail (folder != NULL);

  g_hash_table_add (self->folders, g_strdup (folder));
}

/**
 * cairn_test_snapshot_add_item:
 * @self: a #CairnTestSnapshot
 * @folder: the path of the item's folder
 * @name: (nullable): the item's name, if this side knows one
 * @content: the item's content
 * @flags: (nullable): the item's flags, if this side keeps them
 *
 * Adds an item. Its folder is added too.
 *
 * Since: 0.1
 */
void
cairn_test_snapshot_add_item (CairnTestSnapshot *self,
                              const char        *folder,
                              const char        *name,
                              GBytes            *content,
                              const CairnFlags  *flags)
{
  GPtrArray *entries;
  Entry *entry;

  g_return_if_fail (CAIRN_IS_TEST_SNAPSHOT (self));
  g_return_if_fail (folder != NULL && content != NULL);

  cairn_test_snapshot_add_folder (self, folder);
  entries = g_hash_table_lookup (self->items, content);
  if (entries == NULL)
    {
      entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
      g_hash_table_insert (self->items, g_bytes_ref (content), entries);
    }
  entry = g_new0 (Entry, 1);
  entry->folder = g_strdup (folder);
  entry->name = g_strdup (name);
  entry->flags = flags ? cairn_flags_to_string (flags) : g_strdup ("");
  g_ptr_array_add (entries, entry);
  self->n_items++;
}

/**
 * cairn_test_snapshot_get_n_items:
 * @self: a #CairnTestSnapshot
 *
 * Gets how many items were added to the snapshot.
 *
 * Returns: how many items were added
 *
 * Since: 0.1
 */
guint
cairn_test_snapshot_get_n_items (CairnTestSnapshot *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_SNAPSHOT (self), 0);

  return self->n_items;
}

/**
 * cairn_test_snapshot_has_folder:
 * @self: a #CairnTestSnapshot
 * @folder: a folder path
 *
 * Checks whether @folder was added to the snapshot.
 *
 * Returns: whether @folder was added
 *
 * Since: 0.1
 */
gboolean
cairn_test_snapshot_has_folder (CairnTestSnapshot *self,
                                const char        *folder)
{
  g_return_val_if_fail (CAIRN_IS_TEST_SNAPSHOT (self), FALSE);

  return g_hash_table_contains (self->folders, folder);
}

/**
 * cairn_test_snapshot_count_items:
 * @self: a #CairnTestSnapshot
 * @folder: (nullable): a folder path, or %NULL for any folder
 * @content: an item's content
 *
 * Counts the items with @content in a folder.
 *
 * Returns: how many items with @content are in @folder
 *
 * Since: 0.1
 */
guint
cairn_test_snapshot_count_items (CairnTestSnapshot *self,
                                 const char        *folder,
                                 GBytes            *content)
{
  GPtrArray *entries;
  guint n = 0;

  g_return_val_if_fail (CAIRN_IS_TEST_SNAPSHOT (self), 0);

  entries = g_hash_table_lookup (self->items, content);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      n += folder == NULL || strcmp (entry->folder, folder) == 0;
    }
  return n;
}

/* A short name for an item in a report: its Subject line if it has one,
 * else its first bytes. */
static char *
describe (GBytes *content)
{
  gsize size;
  const char *data = g_bytes_get_data (content, &size);
  const char *subject = size ? g_strstr_len (data, MIN (size, 1024), "Subject: ") : NULL;
  g_autofree char *head = NULL;
  g_autofree char *escaped = NULL;
  gsize skip = 9;

  /* An iCalendar object of the test's says what it is in its SUMMARY. */
  if (subject == NULL && size > 0 && (subject = g_strstr_len (data, size, "\nSUMMARY:")) != NULL)
    skip = 8, subject++;
  if (subject != NULL)
    {
      const char *end = memchr (subject, '\n', data + size - subject);

      head = g_strndup (subject + skip, end ? (gsize) (end - subject - skip) : 60);
    }
  else
    head = size ? g_strndup (data, MIN (size, 60)) : g_strdup ("");
  escaped = g_strescape (head, NULL);
  return g_strdup_printf ("\"%s\" (%" G_GSIZE_FORMAT " bytes)", escaped, size);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Where the copies of one item are, sorted, as one line. */
static char *
places (GPtrArray                *entries,
        CairnTestSnapshotCompare  what)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (what & CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS)
        g_ptr_array_add (lines, g_strdup_printf ("%s [%s]", entry->folder, entry->flags));
      else
        g_ptr_array_add (lines, g_strdup (entry->folder));
    }
  g_ptr_array_sort (lines, compare_strings);
  g_ptr_array_add (lines, NULL);
  if (lines->len == 1)
    return g_strdup ("nowhere");
  return g_strjoinv (", ", (char **) lines->pdata);
}

static void
add_difference (GString    *report,
                guint      *n,
                const char *format,
                ...) G_GNUC_PRINTF (3, 4);

static void
add_difference (GString    *report,
                guint      *n,
                const char *format,
                ...)
{
  va_list args;

  if ((*n)++ >= MAX_DIFFERENCES)
    return;
  va_start (args, format);
  g_string_append (report, "  ");
  g_string_append_vprintf (report, format, args);
  g_string_append_c (report, '\n');
  va_end (args);
}

static void
compare_folders (CairnTestSnapshot *self,
                 const char        *label,
                 CairnTestSnapshot *other,
                 const char        *other_label,
                 GString           *report,
                 guint             *n)
{
  g_autofree const char **folders =
    (const char **) g_hash_table_get_keys_as_array (self->folders, NULL);

  qsort (folders, g_hash_table_size (self->folders), sizeof (char *), compare_strings);
  for (guint i = 0; folders[i] != NULL; i++)
    if (!g_hash_table_contains (other->folders, folders[i]))
      add_difference (report, n, "folder %s: in %s, not in %s", folders[i], label, other_label);
}

/* The names of one item's single copies, where both sides know them. */
static void
compare_names (GBytes      *content,
               GPtrArray   *entries,
               const char  *label,
               GPtrArray   *other_entries,
               const char  *other_label,
               GString     *report,
               guint       *n)
{
  Entry *entry, *other_entry;
  g_autofree char *item = NULL;

  if (entries->len != 1 || other_entries->len != 1)
    return;
  entry = g_ptr_array_index (entries, 0);
  other_entry = g_ptr_array_index (other_entries, 0);
  if (entry->name == NULL || other_entry->name == NULL ||
      strcmp (entry->name, other_entry->name) == 0)
    return;
  item = describe (content);
  add_difference (report, n, "item %s: named %s in %s, %s in %s", item, entry->name, label,
                  other_entry->name, other_label);
}

/**
 * cairn_test_snapshot_compare:
 * @self: a #CairnTestSnapshot
 * @label: what @self is, for the report (`backend`)
 * @other: the snapshot to compare with
 * @other_label: what @other is (`store`)
 * @what: what to compare beyond folders and contents
 *
 * Compares two snapshots: the folders, and for every content, how many
 * items have it and in which folders (and with which flags and names, as
 * @what asks). An item is described by its `Subject:` line if it has one.
 *
 * Returns: (transfer full) (nullable): %NULL if they agree, else one line
 *   per difference (at most 40, then how many more)
 *
 * Since: 0.1
 */
char *
cairn_test_snapshot_compare (CairnTestSnapshot        *self,
                             const char               *label,
                             CairnTestSnapshot        *other,
                             const char               *other_label,
                             CairnTestSnapshotCompare  what)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GHashTable) contents = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  g_autofree gpointer *keys = NULL;
  GHashTableIter iter;
  gpointer key;
  guint n = 0;
  guint n_keys;

  g_return_val_if_fail (CAIRN_IS_TEST_SNAPSHOT (self), NULL);
  g_return_val_if_fail (CAIRN_IS_TEST_SNAPSHOT (other), NULL);

  compare_folders (self, label, other, other_label, report, &n);
  compare_folders (other, other_label, self, label, report, &n);

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (contents, key);
  g_hash_table_iter_init (&iter, other->items);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (contents, key);
  keys = g_hash_table_get_keys_as_array (contents, &n_keys);
  for (guint i = 0; i < n_keys; i++)
    {
      GPtrArray *entries = g_hash_table_lookup (self->items, keys[i]);
      GPtrArray *other_entries = g_hash_table_lookup (other->items, keys[i]);
      g_autofree char *where = places (entries, what);
      g_autofree char *other_where = places (other_entries, what);

      if (strcmp (where, other_where) != 0)
        {
          g_autofree char *item = describe (keys[i]);

          add_difference (report, &n, "item %s: %s in %s, %s in %s", item, where, label,
                          other_where, other_label);
        }
      else if (what & CAIRN_TEST_SNAPSHOT_COMPARE_NAMES)
        compare_names (keys[i], entries, label, other_entries, other_label, report, &n);
    }

  if (n == 0)
    return NULL;
  if (n > MAX_DIFFERENCES)
    g_string_append_printf (report, "  … and %u more differences\n", n - MAX_DIFFERENCES);
  return g_string_free (g_steal_pointer (&report), FALSE);
}

/* Store */

/* The payload of an item's part, whatever its storage; a line saying why
 * in its place if it cannot be read, so that comparisons show it. */
GBytes *
_cairn_test_read_part (CairnStore *store,
                       guint64     item_id,
                       const char *part)
{
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  input = cairn_store_open_part (store, item_id, part, NULL, &error);
  if (input == NULL ||
      g_output_stream_splice (output, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                              &error) < 0)
    {
      g_autofree char *text = g_strdup_printf ("<no %s part: %s>", part, error->message);

      return g_bytes_new_take (g_steal_pointer (&text), strlen (text));
    }
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
}

static const char *
collection_path (GHashTable      *paths,
                 GHashTable      *by_id,
                 CairnCollection *collection)
{
  guint64 id = cairn_collection_get_id (collection);
  guint64 parent_id = cairn_collection_get_parent_id (collection);
  char *path = g_hash_table_lookup (paths, &id);
  CairnCollection *parent;

  if (path != NULL)
    return path;
  parent = g_hash_table_lookup (by_id, &parent_id);
  if (parent == NULL)
    path = g_strdup (cairn_collection_get_name (collection));
  else
    path = g_strconcat (collection_path (paths, by_id, parent), "/",
                        cairn_collection_get_name (collection), NULL);
  g_hash_table_insert (paths, g_memdup2 (&id, sizeof id), path);
  return path;
}

/**
 * cairn_test_snapshot_new_from_store:
 * @store: a store
 * @resource: the resource whose collections to read
 * @part: the part whose payload is an item's content
 * @error: return location for an error
 *
 * Reads what @store holds for @resource: its collections, by the path of
 * their names, and their items, named by remote id, with the payload of
 * @part (inline, payload file or foreign alike) and their flags.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 *
 * Since: 0.1
 */
CairnTestSnapshot *
cairn_test_snapshot_new_from_store (CairnStore  *store,
                                    const char  *resource,
                                    const char  *part,
                                    GError     **error)
{
  g_autoptr(CairnTestSnapshot) self = cairn_test_snapshot_new ();
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(GHashTable) by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                       NULL);
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                       g_free);

  g_return_val_if_fail (CAIRN_IS_STORE (store), NULL);
  g_return_val_if_fail (resource != NULL && part != NULL, NULL);

  collections = cairn_store_list_collections (store, resource, error);
  if (collections == NULL)
    return NULL;
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      guint64 id = cairn_collection_get_id (collection);

      g_hash_table_insert (by_id, g_memdup2 (&id, sizeof id), collection);
    }
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      const char *path = collection_path (paths, by_id, collection);
      guint64 after = 0;

      cairn_test_snapshot_add_folder (self, path);
      for (;;)
        {
          g_autoptr(GPtrArray) items = NULL;

          items = cairn_store_list_items (store, cairn_collection_get_id (collection), NULL,
                                          after, 500, error);
          if (items == NULL)
            return NULL;
          if (items->len == 0)
            break;
          for (guint j = 0; j < items->len; j++)
            {
              CairnItem *item = g_ptr_array_index (items, j);
              g_autoptr(GBytes) content =
                _cairn_test_read_part (store, cairn_item_get_id (item), part);

              cairn_test_snapshot_add_item (self, path, cairn_item_get_remote_id (item), content,
                                            cairn_item_get_flags (item));
              after = cairn_item_get_id (item);
            }
        }
    }
  return g_steal_pointer (&self);
}
