/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fills a store through the public API and prints the collection tree with
 * counts and the last changes: what an application sees of Cairn with no
 * daemon running (the embedded default). */
#include <stdlib.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#define RESOURCE "demo_0"
#define MAILS_PER_FOLDER 100

static const char *senders[] = {
  "Ana Núñez <ana@example.org>", "Bjørn Ødegård <bjorn@example.net>",
  "李雷 <li.lei@example.cn>", "GNOME Discourse <noreply@discourse.gnome.org>",
};

static const char *subjects[] = {
  "Quarterly report", "Re: lunch on Friday?", "Über die Konferenz",
  "[gnome] Release notes draft", "Invitation: planning meeting", "Photos from the trip",
};

typedef struct
{
  guint64 inbox, lists, sent, archive, calendar, unread;
  GRand *rand;
  GPtrArray *first;   /* the first inbox mails, which the user reads */
} Demo;

static guint64
create_collection (CairnTransaction  *txn,
                   guint64            parent,
                   const char        *name,
                   const char        *mime_type,
                   GError           **error)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new (RESOURCE, parent, name);
  const char *mime_types[] = { mime_type, NULL };

  cairn_collection_set_remote_id (collection, name);
  cairn_collection_set_content_mime_types (collection, mime_types);
  if (!cairn_transaction_create_collection (txn, collection, error))
    return 0;

  return cairn_collection_get_id (collection);
}

static gboolean
create_tree (CairnTransaction  *txn,
             gpointer           data,
             GError           **error)
{
  Demo *demo = data;
  g_autoptr(CairnCollection) unread = cairn_collection_new ("search", 0, "Unread");

  if ((demo->inbox = create_collection (txn, 0, "Inbox", "message/rfc822", error)) == 0 ||
      (demo->lists = create_collection (txn, demo->inbox, "Lists", "message/rfc822", error)) == 0 ||
      (demo->sent = create_collection (txn, 0, "Sent", "message/rfc822", error)) == 0 ||
      (demo->archive = create_collection (txn, 0, "Archive", "message/rfc822", error)) == 0 ||
      (demo->calendar = create_collection (txn, 0, "Calendar", "text/calendar", error)) == 0)
    return FALSE;

  cairn_collection_set_virtual (unread, TRUE);
  if (!cairn_transaction_create_collection (txn, unread, error))
    return FALSE;
  demo->unread = cairn_collection_get_id (unread);

  return TRUE;
}

static CairnItem *
make_mail (Demo    *demo,
           guint64  collection_id,
           guint    n)
{
  const char *from = senders[g_rand_int_range (demo->rand, 0, G_N_ELEMENTS (senders))];
  const char *subject = subjects[g_rand_int_range (demo->rand, 0, G_N_ELEMENTS (subjects))];
  g_autofree char *message_id = g_strdup_printf ("<%" G_GUINT64_FORMAT ".%u@demo.example>",
                                                 collection_id, n);
  g_autofree char *envelope = g_strdup_printf ("From: %s\nTo: you@example.org\nSubject: %s\n"
                                               "Date: Sun, %u Nov 2026 10:%02u:00 +0000\n"
                                               "Message-ID: %s\n",
                                               from, subject, 1 + n % 22, n % 60, message_id);
  g_autoptr(GBytes) data = g_bytes_new_take (g_steal_pointer (&envelope), strlen (envelope));
  g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_ENVELOPE, data);
  g_autofree char *remote_id = g_strdup_printf ("%u", n + 1);
  CairnItem *item = cairn_item_new ("message/rfc822");

  cairn_item_set_collection_id (item, collection_id);
  cairn_item_set_remote_id (item, remote_id);
  cairn_item_set_gid (item, message_id);
  cairn_item_set_size (item, g_rand_int_range (demo->rand, 2000, 80000));
  cairn_item_set_part (item, part);
  if (g_rand_int_range (demo->rand, 0, 3) > 0)
    cairn_flags_add (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);
  if (g_rand_int_range (demo->rand, 0, 10) == 0)
    cairn_flags_add (cairn_item_get_flags (item), CAIRN_FLAG_FLAGGED);

  return item;
}

static gboolean
fill_mail (CairnTransaction  *txn,
           gpointer           data,
           GError           **error)
{
  Demo *demo = data;
  guint64 folders[] = { demo->inbox, demo->lists, demo->sent };

  for (guint f = 0; f < G_N_ELEMENTS (folders); f++)
    for (guint n = 0; n < MAILS_PER_FOLDER; n++)
      {
        g_autoptr(CairnItem) item = make_mail (demo, folders[f], n);

        if (!cairn_transaction_create_item (txn, item, error))
          return FALSE;
        if (!cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN) &&
            !cairn_transaction_link_item (txn, demo->unread, cairn_item_get_id (item), error))
          return FALSE;
      }

  return TRUE;
}

/* What a user does next: read three mails of the inbox, archive one. */
static gboolean
read_and_archive (CairnTransaction  *txn,
                  gpointer           data,
                  GError           **error)
{
  Demo *demo = data;
  GPtrArray *first = demo->first;
  g_autoptr(CairnFlagsDelta) seen = cairn_flags_delta_new ();

  cairn_flags_delta_add (seen, CAIRN_FLAG_SEEN);
  for (guint i = 0; i + 1 < first->len; i++)
    if (!cairn_transaction_change_flags (txn, cairn_item_get_id (g_ptr_array_index (first, i)),
                                         seen, 0, error))
      return FALSE;

  return cairn_transaction_move_item (txn,
                                      cairn_item_get_id (g_ptr_array_index (first, first->len - 1)),
                                      demo->archive, error);
}

static void
print_tree (CairnStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tree = cairn_store_list_collections (store, NULL, &error);
  g_autoptr(GHashTable) depth = g_hash_table_new (g_direct_hash, g_direct_equal);

  if (tree == NULL)
    g_error ("Cannot list collections: %s", error->message);

  g_print ("Collections (unread / total):\n");
  for (guint i = 0; i < tree->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (tree, i);
      guint64 parent = cairn_collection_get_parent_id (collection);
      guint level = GPOINTER_TO_UINT (g_hash_table_lookup (depth, GSIZE_TO_POINTER (parent)));
      guint64 count = 0, unread = 0;

      g_hash_table_insert (depth, GSIZE_TO_POINTER (cairn_collection_get_id (collection)),
                           GUINT_TO_POINTER (level + 1));
      if (!cairn_store_get_collection_statistics (store, cairn_collection_get_id (collection),
                                                  &count, &unread, NULL, &error))
        g_error ("Cannot count: %s", error->message);
      g_print ("  %*s%-*s %4" G_GUINT64_FORMAT " / %-4" G_GUINT64_FORMAT " [%s%s]\n",
               (int) level * 2, "", 28 - (int) level * 2, cairn_collection_get_name (collection),
               unread, count, cairn_collection_get_resource (collection),
               cairn_collection_get_virtual (collection) ? ", virtual" : "");
    }
}

static const char *
operation_name (CairnChangeOperation operation)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (CAIRN_TYPE_CHANGE_OPERATION);

  return g_enum_get_value (klass, operation)->value_nick;
}

static void
print_changes (CairnStore *store)
{
  g_autoptr(GError) error = NULL;
  guint64 revision = 0;
  g_autoptr(GPtrArray) changes = NULL;

  if (!cairn_store_get_revision (store, &revision, &error))
    g_error ("Cannot read the revision: %s", error->message);
  changes = cairn_store_get_changes_since (store, revision > 2 ? revision - 2 : 0, 0, &error);
  if (changes == NULL)
    g_error ("Cannot read changes: %s", error->message);

  g_print ("\nStore revision %" G_GUINT64_FORMAT ", %u changes in the last two; the newest:\n",
           revision, changes->len);
  for (guint i = changes->len > 8 ? changes->len - 8 : 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);
      g_autofree char *added = cairn_flags_to_string (
        cairn_flags_delta_get_added (cairn_change_get_flags_delta (change)));

      g_print ("  r%-4" G_GUINT64_FORMAT " %-6s item %-4" G_GUINT64_FORMAT
               " in collection %" G_GUINT64_FORMAT "%s%s\n",
               cairn_change_get_revision (change), operation_name (cairn_change_get_operation (change)),
               cairn_change_get_entity_id (change), cairn_change_get_collection_id (change),
               *added ? "  +" : "", added);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) first = NULL;
  Demo demo = { 0 };

  if (argc > 2)
    {
      g_printerr ("Usage: %s [STORE-FILE]\n", argv[0]);
      return EXIT_FAILURE;
    }
  if (argc == 2)
    path = g_strdup (argv[1]);
  else
    {
      folder = g_dir_make_tmp ("cairn-demo-XXXXXX", &error);
      if (folder == NULL)
        g_error ("Cannot make a folder: %s", error->message);
      path = g_build_filename (folder, "store.db", NULL);
    }

  store = cairn_store_open (path, NULL, &error);
  if (store == NULL)
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }
  g_print ("Store: %s\n\n", path);

  demo.rand = g_rand_new_with_seed (2026);
  if (!cairn_store_write_sync (store, create_tree, &demo, NULL, NULL, &error) ||
      !cairn_store_write_sync (store, fill_mail, &demo, NULL, NULL, &error))
    {
      g_printerr ("Cannot fill the store: %s\n", error->message);
      return EXIT_FAILURE;
    }

  first = cairn_store_list_items (store, demo.inbox, NULL, 0, 4, &error);
  if (first == NULL)
    g_error ("Cannot list the inbox: %s", error->message);
  demo.first = first;
  if (!cairn_store_write_sync (store, read_and_archive, &demo, NULL, NULL, &error))
    {
      g_printerr ("Cannot change the store: %s\n", error->message);
      return EXIT_FAILURE;
    }

  print_tree (store);
  print_changes (store);
  g_rand_free (demo.rand);

  return EXIT_SUCCESS;
}
