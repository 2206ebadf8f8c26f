/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairn-mail-viewer: a GTK 4 mail reader over a Cairn store, in three
 * panes: the folder tree with unread counts (CairnCollectionModel in a
 * GtkTreeListModel), the messages of the selected folder, newest first
 * (CairnItemModel), and the selected message (its RFC822 part, fetched
 * through the store, which starts the resource if the part is missing).
 * Everything follows the store live, whoever writes it.
 *
 * Usage: cairn-mail-viewer [--store PATH] [--resource ID] */
#include <gtk/gtk.h>

#include <cairn/cairn.h>

#define MESSAGE_MAX_SIZE (4 * 1024 * 1024)

typedef struct
{
  CairnStore *store;
  CairnCollectionModel *folders;
  GtkListView *messages;
  GtkTextBuffer *text;
  GCancellable *reading;
} Viewer;

/* One read of a message: the part is needed to finish it. */
typedef struct
{
  Viewer *viewer;
  CairnPart *part;
} Read;

static char *store_path;
static char *resource;

/* The folder tree */

static GListModel *
create_children (gpointer item,
                 gpointer folders)
{
  return cairn_collection_model_get_children (folders, item);
}

static void
folder_setup (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  data)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), label);
  gtk_list_item_set_child (list_item, expander);
}

static void
show_counts (CairnCollectionNode *node,
             GParamSpec          *pspec,
             GtkLabel            *label)
{
  g_autofree char *text = NULL;
  guint64 unread = cairn_collection_node_get_unread_count (node);

  if (unread > 0)
    text = g_markup_printf_escaped ("<b>%s (%" G_GUINT64_FORMAT ")</b>",
                                    cairn_collection_node_get_name (node), unread);
  else
    text = g_markup_escape_text (cairn_collection_node_get_name (node), -1);
  gtk_label_set_markup (label, text);
}

static void
folder_bind (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  data)
{
  GtkTreeListRow *row = gtk_list_item_get_item (list_item);
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  GtkWidget *label = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  CairnCollectionNode *node = gtk_tree_list_row_get_item (row);

  gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (expander), row);
  show_counts (node, NULL, GTK_LABEL (label));
  /* Live: the row follows the node's counts and name. */
  g_signal_connect_object (node, "notify", G_CALLBACK (show_counts), label, 0);
  g_object_set_data_full (G_OBJECT (list_item), "node", node, g_object_unref);
}

static void
folder_unbind (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  data)
{
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  GtkWidget *label = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  CairnCollectionNode *node = g_object_get_data (G_OBJECT (list_item), "node");

  if (node != NULL)
    g_signal_handlers_disconnect_by_func (node, show_counts, label);
  g_object_set_data (G_OBJECT (list_item), "node", NULL);
}

/* The message list */

/* The value of header @name in an ENVELOPE part's "Name: value" lines. */
static char *
envelope_field (CairnItem  *item,
                const char *name)
{
  CairnPart *envelope = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  GBytes *data = envelope != NULL ? cairn_part_get_data (envelope) : NULL;
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strconcat (name, ": ", NULL);
  g_auto(GStrv) lines = NULL;

  if (data == NULL)
    return NULL;
  text = g_utf8_make_valid (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  return NULL;
}

static void
message_setup (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (list_item, label);
}

static void
message_bind (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  data)
{
  CairnItem *item = gtk_list_item_get_item (list_item);
  g_autofree char *from = envelope_field (item, "From");
  g_autofree char *subject = envelope_field (item, "Subject");
  g_autofree char *text = NULL;
  gboolean unread = !cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);

  /* A placeholder until its page is loaded: the model replaces it. */
  text = g_markup_printf_escaped (unread ? "<b>%s — %s</b>" : "%s — %s",
                                  from ? from : "…", subject ? subject : "…");
  gtk_label_set_markup (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
}

/* The message */

static void
message_read (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Read *read = data;
  Viewer *viewer = read->viewer;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = cairn_part_read_bytes_finish (read->part, result, &error);
  g_autofree char *text = NULL;

  cairn_part_unref (read->part);
  g_free (read);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (bytes == NULL)
    text = g_strdup_printf ("Cannot read the message: %s", error->message);
  else
    text = g_utf8_make_valid (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  gtk_text_buffer_set_text (viewer->text, text, -1);
}

static void
message_fetched (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Viewer *viewer = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnItem) item = cairn_store_fetch_item_finish (CAIRN_STORE (source), result,
                                                             &error);
  CairnPart *part;
  Read *read;
  g_autofree char *text = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  part = item != NULL ? cairn_item_get_part (item, CAIRN_PART_RFC822) : NULL;
  if (part == NULL)
    {
      text = g_strdup_printf ("Cannot fetch the message: %s",
                              error ? error->message : "it has no RFC822 part");
      gtk_text_buffer_set_text (viewer->text, text, -1);
      return;
    }
  read = g_new0 (Read, 1);
  read->viewer = viewer;
  read->part = cairn_part_ref (part);
  cairn_part_read_bytes_async (part, MESSAGE_MAX_SIZE, viewer->reading, message_read, read);
}

static void
message_selected (GtkSingleSelection *selection,
                  GParamSpec         *pspec,
                  Viewer             *viewer)
{
  CairnItem *item = gtk_single_selection_get_selected_item (selection);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();

  g_cancellable_cancel (viewer->reading);
  g_clear_object (&viewer->reading);
  gtk_text_buffer_set_text (viewer->text, "", -1);
  if (item == NULL)
    return;
  viewer->reading = g_cancellable_new ();
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  cairn_store_fetch_item_async (viewer->store, cairn_item_get_id (item), scope, viewer->reading,
                                message_fetched, viewer);
}

static void
messages_opened (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Viewer *viewer = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) model = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result,
                                                          &error);
  GtkSingleSelection *selection;

  if (model == NULL)
    {
      gtk_text_buffer_set_text (viewer->text, error->message, -1);
      return;
    }
  selection = gtk_single_selection_new (G_LIST_MODEL (g_steal_pointer (&model)));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect (selection, "notify::selected", G_CALLBACK (message_selected), viewer);
  gtk_list_view_set_model (viewer->messages, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);
}

static void
folder_selected (GtkSingleSelection *selection,
                 GParamSpec         *pspec,
                 Viewer             *viewer)
{
  GtkTreeListRow *row = gtk_single_selection_get_selected_item (selection);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  CairnCollectionNode *node;

  if (row == NULL)
    return;
  node = gtk_tree_list_row_get_item (row);
  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  g_async_initable_new_async (CAIRN_TYPE_ITEM_MODEL, G_PRIORITY_DEFAULT, NULL, messages_opened,
                              viewer, "store", viewer->store,
                              "collection-id", cairn_collection_node_get_id (node),
                              "descending", TRUE, "fetch-scope", scope, NULL);
  g_object_unref (node);
}

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *window = gtk_scrolled_window_new ();

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (window), child);
  return window;
}

static GtkWidget *
folder_tree (Viewer *viewer)
{
  GtkTreeListModel *tree =
    gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (viewer->folders)), FALSE, TRUE,
                             create_children, viewer->folders, NULL);
  GtkSingleSelection *selection = gtk_single_selection_new (G_LIST_MODEL (tree));
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect (factory, "setup", G_CALLBACK (folder_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (folder_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (folder_unbind), NULL);
  g_signal_connect (selection, "notify::selected", G_CALLBACK (folder_selected), viewer);
  return gtk_list_view_new (GTK_SELECTION_MODEL (selection), factory);
}

static void
activate (GtkApplication *application,
          Viewer         *viewer)
{
  GtkWidget *window = gtk_application_window_new (application);
  GtkWidget *outer = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *inner = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkWidget *text = gtk_text_view_new ();
  g_autoptr(GError) error = NULL;

  if (store_path == NULL)
    store_path = g_build_filename (g_get_user_data_dir (), "cairn", "store.db", NULL);
  viewer->store = cairn_store_open (store_path, NULL, &error);
  if (viewer->store != NULL)
    viewer->folders = cairn_collection_model_new_sync (viewer->store, resource, NULL, &error);
  if (viewer->folders == NULL)
    {
      g_printerr ("cairn-mail-viewer: %s\n", error->message);
      g_application_quit (G_APPLICATION (application));
      return;
    }

  g_signal_connect (factory, "setup", G_CALLBACK (message_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (message_bind), NULL);
  viewer->messages = GTK_LIST_VIEW (gtk_list_view_new (NULL, factory));
  gtk_text_view_set_editable (GTK_TEXT_VIEW (text), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (text), TRUE);
  viewer->text = gtk_text_view_get_buffer (GTK_TEXT_VIEW (text));

  gtk_paned_set_start_child (GTK_PANED (outer), scrolled (folder_tree (viewer)));
  gtk_paned_set_end_child (GTK_PANED (outer), inner);
  gtk_paned_set_position (GTK_PANED (outer), 220);
  gtk_paned_set_start_child (GTK_PANED (inner), scrolled (GTK_WIDGET (viewer->messages)));
  gtk_paned_set_end_child (GTK_PANED (inner), scrolled (text));
  gtk_paned_set_position (GTK_PANED (inner), 420);
  gtk_window_set_title (GTK_WINDOW (window), "Cairn mail viewer");
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 700);
  gtk_window_set_child (GTK_WINDOW (window), outer);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  const GOptionEntry entries[] = {
    { "store", 's', 0, G_OPTION_ARG_FILENAME, &store_path,
      "The store file (default: $XDG_DATA_HOME/cairn/store.db)", "PATH" },
    { "resource", 'r', 0, G_OPTION_ARG_STRING, &resource,
      "Only the folders of this resource instance", "ID" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GtkApplication) application =
    gtk_application_new ("org.cairn.MailViewer", G_APPLICATION_NON_UNIQUE);
  Viewer viewer = { NULL };
  int status;

  g_application_add_main_option_entries (G_APPLICATION (application), entries);
  g_signal_connect (application, "activate", G_CALLBACK (activate), &viewer);
  status = g_application_run (G_APPLICATION (application), argc, argv);

  g_cancellable_cancel (viewer.reading);
  g_clear_object (&viewer.reading);
  g_clear_object (&viewer.folders);
  g_clear_object (&viewer.store);
  return status;
}
