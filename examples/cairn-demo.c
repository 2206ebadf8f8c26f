/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cairn-demo, the program examples/demo.sh runs. `generate` writes a
 * sample maildir; `show` and `mark-read` are a tiny mail client: they read
 * and write the store directly through the public API, as every
 * application does, while the control service and the maildir resource
 * keep the store and the files in step. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include <cairn/cairn.h>
#include <cairn-test/cairn-test.h>

#define N_NEWEST 5
#define FROM_COLUMNS 18
#define SUBJECT_COLUMNS 46
#define ENVELOPE_MAX_SIZE (1024 * 1024)

/* GMime 3.2 declares no cleanup function of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)

static const char *usage =
  "Usage:\n"
  "  cairn-demo generate DIR   write a sample maildir++ tree into DIR\n"
  "  cairn-demo show           the folders with unread/total counts, and the newest\n"
  "                            messages of INBOX\n"
  "  cairn-demo mark-read N    mark the N newest unread messages of INBOX read\n"
  "\n"
  "show and mark-read use the store of cairn-control: $XDG_DATA_HOME/cairn/store.db.\n";

/* A few hundred messages: INBOX, a nested folder and a non-ASCII name. */
static const struct
{
  const char *folder;
  guint n_messages;
} sample[] = {
  { "INBOX", 300 },
  { "Lists", 40 },
  { "Lists/GNOME", 120 },
  { "Sent", 60 },
  { "Entwürfe", 12 },
};

static int
fail (GError *error)
{
  g_printerr ("cairn-demo: %s\n", error->message);
  return EXIT_FAILURE;
}

static int
generate (const char *root)
{
  g_autoptr(CairnTestMaildir) maildir =
    cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  g_autoptr(GError) error = NULL;
  guint total = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sample); i++)
    {
      /* A seed per folder, so that Message-IDs differ between folders. */
      if (!cairn_test_maildir_generate (maildir, sample[i].folder, sample[i].n_messages, i + 1,
                                        &error))
        return fail (error);
      total += sample[i].n_messages;
    }
  g_print ("Wrote %u messages in %u folders to %s (maildir++)\n", total,
           (guint) G_N_ELEMENTS (sample), root);
  return EXIT_SUCCESS;
}

static CairnStore *
open_store (GError **error)
{
  /* Where cairn-control keeps it unless told otherwise. */
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "cairn", "store.db", NULL);

  return cairn_store_open (path, NULL, error);
}

/* Appends @text in exactly @columns terminal columns: cut with an
 * ellipsis, or padded; East Asian wide characters take two columns. */
static void
append_column (GString    *line,
               const char *text,
               guint       columns)
{
  guint width = 0;
  guint used = 0;
  const char *p;

  for (p = text; *p != '\0'; p = g_utf8_next_char (p))
    width += g_unichar_iswide (g_utf8_get_char (p)) ? 2 : 1;
  for (p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      guint char_width = g_unichar_iswide (c) ? 2 : 1;

      if (used + char_width > (width > columns ? columns - 1 : columns))
        break;
      g_string_append_unichar (line, c);
      used += char_width;
    }
  if (width > columns)
    {
      g_string_append (line, "…");
      used++;
    }
  for (; used < columns; used++)
    g_string_append_c (line, ' ');
}

/* Folders */

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  CairnCollection *first = *(CairnCollection **) a;
  CairnCollection *second = *(CairnCollection **) b;
  gboolean first_inbox = g_strcmp0 (cairn_collection_get_remote_id (first), "INBOX") == 0;
  gboolean second_inbox = g_strcmp0 (cairn_collection_get_remote_id (second), "INBOX") == 0;

  /* INBOX first, the rest by name, as mail programs list them. */
  if (first_inbox != second_inbox)
    return first_inbox ? -1 : 1;
  return g_utf8_collate (cairn_collection_get_name (first), cairn_collection_get_name (second));
}

static gboolean
print_folders (CairnStore  *store,
               GPtrArray   *collections,
               guint64      parent_id,
               guint        depth,
               GError     **error)
{
  g_autoptr(GPtrArray) children = g_ptr_array_new ();

  for (guint i = 0; i < collections->len; i++)
    if (cairn_collection_get_parent_id (g_ptr_array_index (collections, i)) == parent_id)
      g_ptr_array_add (children, g_ptr_array_index (collections, i));
  g_ptr_array_sort (children, compare_folders);

  for (guint i = 0; i < children->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (children, i);
      g_autoptr(GString) line = g_string_new ("  ");
      guint64 count = 0;
      guint64 unread = 0;

      if (!cairn_store_get_collection_statistics (store, cairn_collection_get_id (collection),
                                                  &count, &unread, NULL, error))
        return FALSE;
      g_string_append_printf (line, "%*s", (int) depth * 2, "");
      append_column (line, cairn_collection_get_name (collection), 24 - depth * 2);
      g_print ("%s %6" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT "\n", line->str, unread, count);
      if (!print_folders (store, collections, cairn_collection_get_id (collection), depth + 1,
                          error))
        return FALSE;
    }
  return TRUE;
}

static guint64
find_inbox (CairnStore  *store,
            GError     **error)
{
  g_autoptr(GPtrArray) collections = cairn_store_list_collections (store, NULL, error);

  if (collections == NULL)
    return 0;
  for (guint i = 0; i < collections->len; i++)
    if (g_strcmp0 (cairn_collection_get_remote_id (g_ptr_array_index (collections, i)),
                   "INBOX") == 0)
      return cairn_collection_get_id (g_ptr_array_index (collections, i));
  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND,
               "The store has no INBOX yet: is the maildir resource synchronized?");
  return 0;
}

/* Messages */

typedef struct
{
  CairnItem *item;
  GDateTime *date;
  char *from;
  char *subject;
} Message;

static void
message_free (Message *message)
{
  g_clear_object (&message->item);
  g_clear_pointer (&message->date, g_date_time_unref);
  g_free (message->from);
  g_free (message->subject);
  g_free (message);
}

/* Reads what a message list shows from the ENVELOPE part the resource
 * stored: "Name: value" lines, values decoded. An envelope with a long
 * list of recipients may be kept in a payload file: it is read wherever it
 * is, and one that cannot be read shows why in place of the subject. */
static Message *
message_new (CairnItem *item)
{
  Message *message = g_new0 (Message, 1);
  CairnPart *envelope = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  message->item = g_object_ref (item);
  if (envelope == NULL)
    return message;
  data = cairn_part_read_bytes (envelope, ENVELOPE_MAX_SIZE, NULL, &error);
  if (data == NULL)
    {
      message->subject = g_strdup_printf ("(%s)", error->message);
      return message;
    }
  text = g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "Date: "))
        message->date = g_mime_utils_header_decode_date (lines[i] + strlen ("Date: "));
      else if (g_str_has_prefix (lines[i], "Subject: "))
        message->subject = g_strdup (lines[i] + strlen ("Subject: "));
      else if (g_str_has_prefix (lines[i], "From: "))
        {
          const char *value = lines[i] + strlen ("From: ");
          g_autoptr(InternetAddressList) list = internet_address_list_parse (NULL, value);
          InternetAddress *first = list != NULL && internet_address_list_length (list) > 0
                                   ? internet_address_list_get_address (list, 0) : NULL;
          const char *name = first != NULL ? internet_address_get_name (first) : NULL;

          message->from = g_strdup (name != NULL && *name != '\0' ? name : value);
        }
    }
  return message;
}

static gboolean
message_is_unread (const Message *message)
{
  return !cairn_flags_contains (cairn_item_get_flags (message->item), CAIRN_FLAG_SEEN);
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const Message *first = *(Message **) a;
  const Message *second = *(Message **) b;

  if (first->date == NULL || second->date == NULL)
    return (first->date == NULL) - (second->date == NULL);
  return g_date_time_compare (second->date, first->date);
}

/* The messages of INBOX with their envelopes, newest first. */
static GPtrArray *
list_inbox (CairnStore  *store,
            guint64     *inbox_id,
            GError     **error)
{
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(GPtrArray) items = NULL;
  GPtrArray *messages;

  *inbox_id = find_inbox (store, error);
  if (*inbox_id == 0)
    return NULL;
  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  items = cairn_store_list_items (store, *inbox_id, scope, 0, 0, error);
  if (items == NULL)
    return NULL;

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (messages, message_new (g_ptr_array_index (items, i)));
  g_ptr_array_sort (messages, compare_newest_first);
  return messages;
}

static void
print_message (const Message *message)
{
  g_autoptr(GString) line = g_string_new (message_is_unread (message) ? "  * " : "    ");
  g_autoptr(GDateTime) local = message->date ? g_date_time_to_local (message->date) : NULL;
  /* Local time, so that the order shows whatever the senders' zones. */
  g_autofree char *date = local ? g_date_time_format (local, "%Y-%m-%d %H:%M")
                                : g_strdup ("(no date)       ");

  g_string_append_printf (line, "%s  ", date);
  append_column (line, message->from ? message->from : "", FROM_COLUMNS);
  g_string_append (line, "  ");
  append_column (line, message->subject ? message->subject : "", SUBJECT_COLUMNS);
  g_print ("%s\n", g_strchomp (line->str));
}

static gboolean
print_inbox_count (CairnStore  *store,
                   guint64      inbox_id,
                   GError     **error)
{
  guint64 count = 0;
  guint64 unread = 0;

  if (!cairn_store_get_collection_statistics (store, inbox_id, &count, &unread, NULL, error))
    return FALSE;
  g_print ("INBOX in the store: %" G_GUINT64_FORMAT " unread of %" G_GUINT64_FORMAT "\n",
           unread, count);
  return TRUE;
}

static int
show (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) store = open_store (&error);
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  guint64 inbox_id = 0;

  if (store == NULL ||
      (collections = cairn_store_list_collections (store, NULL, &error)) == NULL)
    return fail (error);
  g_print ("%-26s %6s / %s\n", "Folders", "unread", "total");
  if (!print_folders (store, collections, 0, 0, &error))
    return fail (error);

  messages = list_inbox (store, &inbox_id, &error);
  if (messages == NULL)
    return fail (error);
  g_print ("\nNewest in INBOX (* unread):\n");
  for (guint i = 0; i < MIN (N_NEWEST, messages->len); i++)
    print_message (g_ptr_array_index (messages, i));
  return EXIT_SUCCESS;
}

static gboolean
mark_seen (CairnTransaction  *txn,
           gpointer           data,
           GError           **error)
{
  GPtrArray *chosen = data;
  g_autoptr(CairnFlagsDelta) seen = cairn_flags_delta_new ();

  cairn_flags_delta_add (seen, CAIRN_FLAG_SEEN);
  for (guint i = 0; i < chosen->len; i++)
    {
      CairnItem *item = ((Message *) g_ptr_array_index (chosen, i))->item;

      /* A delta, and only if nobody changed the message since we read
       * it: what a client that shows what it marks must do. */
      if (!cairn_transaction_change_flags (txn, cairn_item_get_id (item), seen,
                                           cairn_item_get_revision (item), error))
        return FALSE;
    }
  return TRUE;
}

static int
mark_read (const char *count_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();
  guint64 inbox_id = 0;
  guint64 revision = 0;
  guint64 count = 0;

  if (!g_ascii_string_to_unsigned (count_text, 10, 1, G_MAXUINT, &count, &error))
    return fail (error);
  store = open_store (&error);
  if (store == NULL || (messages = list_inbox (store, &inbox_id, &error)) == NULL)
    return fail (error);
  for (guint i = 0; i < messages->len && chosen->len < count; i++)
    if (message_is_unread (g_ptr_array_index (messages, i)))
      g_ptr_array_add (chosen, g_ptr_array_index (messages, i));

  if (!cairn_store_write_sync (store, mark_seen, chosen, &revision, NULL, &error))
    return fail (error);
  g_print ("Marked %u messages read (store revision %" G_GUINT64_FORMAT "):\n", chosen->len,
           revision);
  for (guint i = 0; i < chosen->len; i++)
    {
      Message *message = g_ptr_array_index (chosen, i);

      /* What the store holds now, not the copy read before the change. */
      cairn_flags_add (cairn_item_get_flags (message->item), CAIRN_FLAG_SEEN);
      print_message (message);
    }
  if (!print_inbox_count (store, inbox_id, &error))
    return fail (error);
  return EXIT_SUCCESS;
}

int
main (int    argc,
      char **argv)
{
  int status;

  /* Names and subjects are UTF-8: print them as the terminal can. */
  setlocale (LC_ALL, "");
  if (argc == 3 && strcmp (argv[1], "generate") == 0)
    return generate (argv[2]);
  if (!(argc == 2 && strcmp (argv[1], "show") == 0) &&
      !(argc == 3 && strcmp (argv[1], "mark-read") == 0))
    {
      g_printerr ("%s", usage);
      return EXIT_FAILURE;
    }

  g_mime_init ();
  status = argc == 2 ? show () : mark_read (argv[2]);
  g_mime_shutdown ();
  return status;
}
