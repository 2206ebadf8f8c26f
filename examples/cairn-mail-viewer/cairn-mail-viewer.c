/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mail viewer over the live models: the folder tree (a GtkTreeListModel
 * over CairnCollectionModel, with unread counts), the messages of the
 * selected folder (CairnItemModel, newest first) and the text of the
 * selected message, read in a worker thread. Everything follows the
 * store as resources and other programs change it. */
#include <gtk/gtk.h>

#include <cairn/cairn.h>

/* Messages above this size are shown cut. */
#define MAX_TEXT (1024 * 1024)

typedef struct
{
  CairnStore *store;
  CairnCollectionModel *folders;
  GtkSingleSelection *messages;
  GtkTextBuffer *text;
  GCancellable *reading;
} Viewer;

/* A part being read for the text view. */
typedef struct
{
  Viewer *viewer;
  CairnPart *part;
} Reading;

static GListModel *
create_child_model (gpointer item,
                    gpointer user_data)
{
  return G_LIST_MODEL (cairn_collection_model_get_child_model (user_data, item));
}

/* Folders */

static void
show_folder_label (CairnCollectionModel *children,
                   GParamSpec           *pspec,
                   GtkLabel             *label)
{
  const char *name = g_object_get_data (G_OBJECT (label), "name");
  guint64 unread = cairn_collection_model_get_unread_count (children);
  g_autofree char *text = unread > 0
                            ? g_strdup_printf ("%s (%" G_GUINT64_FORMAT ")", name, unread)
                            : g_strdup (name);

  gtk_label_set_text (label, text);
}

static void
setup_folder (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  user_data)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), label);
  gtk_list_item_set_child (list_item, expander);
}

static void
bind_folder (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  user_data)
{
  Viewer *viewer = user_data;
  GtkTreeListRow *row = gtk_list_item_get_item (list_item);
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  GtkWidget *label = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  CairnCollection *collection = gtk_tree_list_row_get_item (row);
  CairnCollectionModel *children =
    cairn_collection_model_get_child_model (viewer->folders, collection);

  gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (expander), row);
  g_object_set_data_full (G_OBJECT (label), "name",
                          g_strdup (cairn_collection_get_name (collection)), g_free);
  /* The label keeps the child model, whose counts it shows. */
  g_object_set_data_full (G_OBJECT (label), "children", children, g_object_unref);
  g_signal_connect_object (children, "notify::unread-count", G_CALLBACK (show_folder_label),
                           label, 0);
  show_folder_label (children, NULL, GTK_LABEL (label));
  g_object_unref (collection);
}

static void
unbind_folder (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  user_data)
{
  GtkWidget *expander = gtk_list_item_get_child (list_item);
  GtkWidget *label = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  GObject *children = g_object_get_data (G_OBJECT (label), "children");

  if (children != NULL)
    g_signal_handlers_disconnect_by_data (children, label);
  g_object_set_data (G_OBJECT (label), "children", NULL);
}

static void
on_folder_selected (GtkSingleSelection *selection,
                    GParamSpec         *pspec,
                    Viewer             *viewer)
{
  GtkTreeListRow *row = gtk_single_selection_get_selected_item (selection);
  g_autoptr(CairnCollection) collection = NULL;
  g_autoptr(CairnItemModel) items = NULL;

  if (row == NULL)
    return;
  collection = gtk_tree_list_row_get_item (row);
  items = cairn_item_model_new_for_collection (viewer->store,
                                               cairn_collection_get_id (collection));
  gtk_single_selection_set_model (viewer->messages, G_LIST_MODEL (items));
}

/* Messages */

static void
setup_message (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (list_item, label);
}

static void
bind_message (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  user_data)
{
  CairnItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  GDateTime *date = cairn_item_get_date (item);
  CairnFlags *flags = cairn_item_get_flags (item);
  g_autofree char *when = date != NULL ? g_date_time_format (date, "%Y-%m-%d %H:%M")
                                       : g_strdup ("—");
  g_autofree char *text = NULL;

  /* A placeholder holds only the id and date until its page is read. */
  text = g_strdup_printf ("%s %s  %s",
                          flags != NULL && !cairn_flags_contains (flags, CAIRN_FLAG_SEEN) &&
                          cairn_item_get_mime_type (item) != NULL ? "●" : " ",
                          when,
                          cairn_item_get_gid (item) != NULL ? cairn_item_get_gid (item)
                          : cairn_item_get_remote_id (item) != NULL
                          ? cairn_item_get_remote_id (item) : "…");
  gtk_label_set_text (GTK_LABEL (label), text);
}

static void
show_text (Viewer     *viewer,
           const char *text,
           gsize       length)
{
  g_autofree char *valid = g_utf8_make_valid (text, length);

  gtk_text_buffer_set_text (viewer->text, valid, -1);
}

static void
part_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Reading *reading = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = cairn_part_read_bytes_finish (reading->part, result, &error);

  if (bytes != NULL)
    show_text (reading->viewer, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_text (reading->viewer, error->message, -1);
  cairn_part_unref (reading->part);
  g_free (reading);
}

static void
item_fetched (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Viewer *viewer = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnItem) item = cairn_store_fetch_item_finish (CAIRN_STORE (source), result,
                                                             &error);
  CairnPart *part;
  Reading *reading;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (item == NULL)
    {
      show_text (viewer, error->message, -1);
      return;
    }
  part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  if (part == NULL)
    {
      show_text (viewer, "", 0);
      return;
    }
  reading = g_new (Reading, 1);
  reading->viewer = viewer;
  reading->part = cairn_part_ref (part);
  cairn_part_read_bytes_async (part, MAX_TEXT, viewer->reading, part_read, reading);
}

static void
on_message_selected (GtkSingleSelection *selection,
                     GParamSpec         *pspec,
                     Viewer             *viewer)
{
  CairnItem *item = gtk_single_selection_get_selected_item (selection);
  g_autoptr(CairnFetchScope) scope = NULL;

  g_cancellable_cancel (viewer->reading);
  g_clear_object (&viewer->reading);
  if (item == NULL)
    {
      show_text (viewer, "", 0);
      return;
    }
  viewer->reading = g_cancellable_new ();
  scope = cairn_fetch_scope_new ();
  cairn_fetch_scope_add_part (scope, CAIRN_PART_RFC822);
  cairn_store_fetch_item_async (viewer->store, cairn_item_get_id (item), scope, viewer->reading,
                                item_fetched, viewer);
}

/* The window */

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *window = gtk_scrolled_window_new ();

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (window), child);
  return window;
}

static GtkWidget *
list_view (GtkSelectionModel *model,
           GCallback          setup,
           GCallback          bind,
           GCallback          unbind,
           Viewer            *viewer)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", setup, viewer);
  g_signal_connect (factory, "bind", bind, viewer);
  if (unbind != NULL)
    g_signal_connect (factory, "unbind", unbind, viewer);
  return gtk_list_view_new (model, factory);
}

static void
activate (GtkApplication *application,
          Viewer         *viewer)
{
  GtkWidget *window = gtk_application_window_new (application);
  GtkWidget *outer = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *inner = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *text = gtk_text_view_new ();
  GtkTreeListModel *tree;
  GtkSingleSelection *folders;

  tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (viewer->folders)), FALSE, TRUE,
                                  create_child_model, g_object_ref (viewer->folders),
                                  g_object_unref);
  folders = gtk_single_selection_new (G_LIST_MODEL (tree));
  gtk_single_selection_set_autoselect (folders, FALSE);
  gtk_single_selection_set_selected (folders, GTK_INVALID_LIST_POSITION);
  g_signal_connect (folders, "notify::selected-item", G_CALLBACK (on_folder_selected), viewer);

  viewer->messages = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (viewer->messages, FALSE);
  g_signal_connect (viewer->messages, "notify::selected-item", G_CALLBACK (on_message_selected),
                    viewer);

  gtk_text_view_set_editable (GTK_TEXT_VIEW (text), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (text), TRUE);
  viewer->text = gtk_text_view_get_buffer (GTK_TEXT_VIEW (text));

  gtk_paned_set_start_child (GTK_PANED (outer),
                             scrolled (list_view (GTK_SELECTION_MODEL (folders),
                                                  G_CALLBACK (setup_folder),
                                                  G_CALLBACK (bind_folder),
                                                  G_CALLBACK (unbind_folder), viewer)));
  gtk_paned_set_end_child (GTK_PANED (outer), inner);
  gtk_paned_set_position (GTK_PANED (outer), 220);
  gtk_paned_set_start_child (GTK_PANED (inner),
                             scrolled (list_view (GTK_SELECTION_MODEL (viewer->messages),
                                                  G_CALLBACK (setup_message),
                                                  G_CALLBACK (bind_message), NULL, viewer)));
  gtk_paned_set_end_child (GTK_PANED (inner), scrolled (text));
  gtk_paned_set_position (GTK_PANED (inner), 420);

  gtk_window_set_title (GTK_WINDOW (window), "Cairn mail viewer");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  gtk_window_set_child (GTK_WINDOW (window), outer);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GtkApplication) application = NULL;
  g_autofree char *path = NULL;
  const char *resource = NULL;
  Viewer viewer = { 0 };
  int status;

  /* [--store PATH] [--resource ID], before GTK's own options. */
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (g_str_equal (argv[i], "--store"))
        path = g_strdup (argv[i + 1]);
      else if (g_str_equal (argv[i], "--resource"))
        resource = argv[i + 1];
      else
        break;
      argv[i] = argv[i + 1] = NULL;
    }
  if (path == NULL)
    path = g_build_filename (g_get_user_data_dir (), "cairn", "store.db", NULL);

  viewer.store = cairn_store_open (path, NULL, &error);
  if (viewer.store == NULL)
    {
      g_printerr ("cairn-mail-viewer: %s\n", error->message);
      return 1;
    }
  viewer.folders = cairn_collection_model_new (viewer.store, resource);

  application = gtk_application_new ("org.cairn.MailViewer", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (application, "activate", G_CALLBACK (activate), &viewer);
  status = g_application_run (G_APPLICATION (application), 1, argv);

  g_cancellable_cancel (viewer.reading);
  g_clear_object (&viewer.reading);
  g_clear_object (&viewer.messages);
  g_clear_object (&viewer.folders);
  g_clear_object (&viewer.store);
  return status;
}
