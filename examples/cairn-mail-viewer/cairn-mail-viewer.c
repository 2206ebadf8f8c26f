/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mail viewer over the live models: the folder tree (a GtkTreeListModel
 * over CairnCollectionModel, with unread counts), the messages of the
 * selected folder (CairnItemModel, newest first) and the headers and
 * text of the selected message, read and decoded (GMime) in a worker
 * thread. Everything follows the store as resources and other programs
 * change it. */
#include <glib-unix.h>
#include <gmime/gmime.h>
#include <gtk/gtk.h>

#include <cairn/cairn.h>

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

/* A larger message is not shown. */
#define MAX_MESSAGE (32 * 1024 * 1024)

typedef struct
{
  CairnStore *store;
  CairnCollectionModel *folders;
  GtkSingleSelection *messages;
  GtkTextBuffer *text;
  GCancellable *reading;
  char *folder_name;  /* of the folder whose messages are listed */
} Viewer;

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

/* What the folder shows, for G_MESSAGES_DEBUG=CairnMailViewer (and the
 * viewer's test). */
static void
log_folder (Viewer         *viewer,
            CairnItemModel *items)
{
  if (!cairn_item_model_get_loading (items))
    g_debug ("Folder %s: %u messages", viewer->folder_name,
             g_list_model_get_n_items (G_LIST_MODEL (items)));
}

static void
on_folder_loading (CairnItemModel *items,
                   GParamSpec     *pspec,
                   Viewer         *viewer)
{
  log_folder (viewer, items);
}

static void
on_folder_changed (CairnItemModel *items,
                   guint           position,
                   guint           removed,
                   guint           added,
                   Viewer         *viewer)
{
  log_folder (viewer, items);
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
  g_free (viewer->folder_name);
  viewer->folder_name = g_strdup (cairn_collection_get_name (collection));
  g_signal_connect (items, "notify::loading", G_CALLBACK (on_folder_loading), viewer);
  g_signal_connect (items, "items-changed", G_CALLBACK (on_folder_changed), viewer);
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
           const char *text)
{
  gtk_text_buffer_set_text (viewer->text, text, -1);
}

static void
add_header (GString     *text,
            const char  *name,
            const char  *value)
{
  if (value != NULL)
    g_string_append_printf (text, "%s: %s\n", name, value);
}

static void
add_addresses (GString             *text,
               const char          *name,
               InternetAddressList *addresses)
{
  g_autofree char *value = NULL;

  if (addresses == NULL || internet_address_list_length (addresses) == 0)
    return;
  value = internet_address_list_to_string (addresses, NULL, FALSE);
  add_header (text, name, value);
}

/* The headers a reader wants and the text of the message's body, decoded
 * to UTF-8; parsed in a worker thread, since a message may be large. */
static char *
render_message (GBytes  *bytes,
                char   **subject)
{
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autofree char *date = NULL;
  GString *text = g_string_new (NULL);
  GMimeObject *body;

  stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (bytes, NULL),
                                              g_bytes_get_size (bytes));
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (g_bytes_get_data (bytes, NULL),
                                                  g_bytes_get_size (bytes));

      *subject = NULL;
      g_string_append (text, valid);
      return g_string_free (text, FALSE);
    }

  *subject = g_strdup (g_mime_message_get_subject (message));
  if (g_mime_message_get_date (message) != NULL)
    date = g_date_time_format (g_mime_message_get_date (message), "%a, %d %b %Y %H:%M %z");
  add_addresses (text, "From", g_mime_message_get_from (message));
  add_addresses (text, "To", g_mime_message_get_to (message));
  add_addresses (text, "Cc", g_mime_message_get_cc (message));
  add_header (text, "Date", date);
  add_header (text, "Subject", *subject);
  g_string_append_c (text, '\n');

  body = g_mime_message_get_body (message);
  if (GMIME_IS_TEXT_PART (body))
    {
      g_autofree char *content = g_mime_text_part_get_text (GMIME_TEXT_PART (body));

      if (content != NULL)
        {
          g_autofree char *valid = g_utf8_make_valid (content, -1);

          g_string_append (text, valid);
        }
    }
  else
    g_string_append (text, "(This message has no text to show.)");
  return g_string_free (text, FALSE);
}

typedef struct
{
  char *text;
  char *subject;
} Rendered;

static void
rendered_free (Rendered *rendered)
{
  g_free (rendered->text);
  g_free (rendered->subject);
  g_free (rendered);
}

static void
read_message_thread (GTask        *task,
                     gpointer      source,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = cairn_part_read_bytes (task_data, MAX_MESSAGE, cancellable, &error);
  Rendered *rendered;

  if (bytes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  rendered = g_new0 (Rendered, 1);
  rendered->text = render_message (bytes, &rendered->subject);
  g_task_return_pointer (task, rendered, (GDestroyNotify) rendered_free);
}

static void
message_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Viewer *viewer = user_data;
  g_autoptr(GError) error = NULL;
  Rendered *rendered = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (rendered == NULL)
    {
      show_text (viewer, error->message);
      return;
    }
  g_debug ("Showing message: %s", rendered->subject != NULL ? rendered->subject : "");
  show_text (viewer, rendered->text);
  rendered_free (rendered);
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
  g_autoptr(GTask) task = NULL;
  CairnPart *part;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (item == NULL)
    {
      show_text (viewer, error->message);
      return;
    }
  part = cairn_item_get_part (item, CAIRN_PART_RFC822);
  if (part == NULL)
    {
      show_text (viewer, "");
      return;
    }
  task = g_task_new (NULL, viewer->reading, message_read, viewer);
  g_task_set_task_data (task, cairn_part_ref (part), (GDestroyNotify) cairn_part_unref);
  g_task_run_in_thread (task, read_message_thread);
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
      show_text (viewer, "");
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
  /* The first folder and its newest message are shown at once. */
  folders = gtk_single_selection_new (G_LIST_MODEL (tree));
  g_signal_connect (folders, "notify::selected-item", G_CALLBACK (on_folder_selected), viewer);

  viewer->messages = gtk_single_selection_new (NULL);
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

static gboolean
quit_on_signal (gpointer user_data)
{
  g_application_quit (user_data);
  return G_SOURCE_CONTINUE;
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

  /* Never shut down: when the window closes, a worker thread may still be
   * parsing a message, and the process ends right after anyway. */
  g_mime_init ();
  application = gtk_application_new ("org.cairn.MailViewer", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (application, "activate", G_CALLBACK (activate), &viewer);
  /* Stopped by the session or a test like any window closed. */
  g_unix_signal_add (SIGTERM, quit_on_signal, application);
  status = g_application_run (G_APPLICATION (application), 1, argv);

  g_cancellable_cancel (viewer.reading);
  g_clear_object (&viewer.reading);
  g_clear_object (&viewer.messages);
  g_clear_object (&viewer.folders);
  g_clear_object (&viewer.store);
  g_free (viewer.folder_name);
  return status;
}
