/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestMaildir:
 *
 * Writes real Maildir folders for tests, benchmarks and demos, as a mail
 * delivery agent would: each message is written to `tmp/` under a unique
 * name `TIME.MusecPpidQn.HOST`, flushed, then linked into `new/` (not yet
 * seen by a mail reader) or `cur/` with its info `:2,` and its flag
 * letters in ASCII order (`D` draft, `F` flagged, `P` passed, `R`
 * replied, `S` seen, `T` trashed).
 *
 * Folders are named with `/` between levels whatever the layout, and
 * `INBOX` is the root; names are written to disk as given (UTF-8), as
 * Dovecot does with its `UTF-8` option, not in IMAP's modified UTF-7.
 *
 * cairn_test_maildir_build_message() makes realistic messages out of a
 * seed and a number alone, so that a test can ask
 * cairn_test_maildir_get_header() what any message it generated says;
 * cairn_test_maildir_generate() fills a folder with many of them.
 *
 * Errors are %G_FILE_ERROR, naming the path that failed.
 *
 * Since: 0.1
 */

/* What cairn_test_maildir_generate() dates its first message, in seconds
 * since the epoch (Monday 3 March 2025, 08:00 UTC), and how far apart
 * messages are at most: message n is always older than message n + 1. */
#define FIRST_DATE G_GINT64_CONSTANT (1740988800)
#define DATE_STEP 600
/* Thread replies point to one of this many messages before them. */
#define REPLY_WINDOW 12
/* References keeps the thread root and this many latest ancestors, as
 * RFC 5322 section 3.6.4 suggests trimming long chains. */
#define MAX_REFERENCES 10
/* Raw bytes per RFC 2047 encoded-word, so that a folded header line stays
 * within 78 columns: 39 bytes are 52 characters in base64, and a
 * quoted-printable word costs at most 3 characters per byte. */
#define B_WORD_BYTES 39
#define Q_WORD_CHARS 50

enum
{
  PROP_0,
  PROP_ROOT,
  PROP_LAYOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _CairnTestMaildir
{
  GObject parent_instance;

  char *root;
  CairnTestMaildirLayout layout;
  /* The host part of unique names, with '/' and ':' escaped. */
  char *host;
};

G_DEFINE_FINAL_TYPE (CairnTestMaildir, cairn_test_maildir, G_TYPE_OBJECT)

/* The Q part of unique names: deliveries made by this process. */
static guint deliveries;

static void
cairn_test_maildir_finalize (GObject *object)
{
  CairnTestMaildir *self = CAIRN_TEST_MAILDIR (object);

  g_free (self->root);
  g_free (self->host);

  G_OBJECT_CLASS (cairn_test_maildir_parent_class)->finalize (object);
}

static void
cairn_test_maildir_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CairnTestMaildir *self = CAIRN_TEST_MAILDIR (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      g_value_set_string (value, self->root);
      break;
    case PROP_LAYOUT:
      g_value_set_enum (value, self->layout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_test_maildir_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  CairnTestMaildir *self = CAIRN_TEST_MAILDIR (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      self->root = g_value_dup_string (value);
      break;
    case PROP_LAYOUT:
      self->layout = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_test_maildir_class_init (CairnTestMaildirClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_test_maildir_finalize;
  object_class->get_property = cairn_test_maildir_get_property;
  object_class->set_property = cairn_test_maildir_set_property;

  /**
   * CairnTestMaildir:root: (type filename)
   *
   * The folder holding the whole tree; with both layouts it is also the
   * maildir of INBOX.
   *
   * Since: 0.1
   */
  properties[PROP_ROOT] =
    g_param_spec_string ("root", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CairnTestMaildir:layout:
   *
   * How folders are laid out below #CairnTestMaildir:root.
   *
   * Since: 0.1
   */
  properties[PROP_LAYOUT] =
    g_param_spec_enum ("layout", NULL, NULL, CAIRN_TYPE_TEST_MAILDIR_LAYOUT,
                       CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_test_maildir_init (CairnTestMaildir *self)
{
  GString *host = g_string_new (g_get_host_name ());

  /* The Maildir specification's escapes: '/' and ':' would break the
   * path and the info separator. */
  g_string_replace (host, "/", "\\057", 0);
  g_string_replace (host, ":", "\\072", 0);
  self->host = g_string_free (host, FALSE);
}

/**
 * cairn_test_maildir_new:
 * @root: (type filename): the folder to write the tree in; it is created
 *   when the first folder is
 * @layout: how to lay folders out
 *
 * Creates a writer of maildirs below @root.
 *
 * Returns: (transfer full): a writer of maildirs below @root
 *
 * Since: 0.1
 */
CairnTestMaildir *
cairn_test_maildir_new (const char             *root,
                        CairnTestMaildirLayout  layout)
{
  g_return_val_if_fail (root != NULL, NULL);

  return g_object_new (CAIRN_TYPE_TEST_MAILDIR, "root", root, "layout", layout, NULL);
}

/**
 * cairn_test_maildir_get_root:
 * @self: a #CairnTestMaildir
 *
 * Gets the folder holding the whole tree.
 *
 * Returns: (type filename): #CairnTestMaildir:root
 *
 * Since: 0.1
 */
const char *
cairn_test_maildir_get_root (CairnTestMaildir *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), NULL);

  return self->root;
}

/**
 * cairn_test_maildir_get_layout:
 * @self: a #CairnTestMaildir
 *
 * Gets how folders are laid out on disk.
 *
 * Returns: #CairnTestMaildir:layout
 *
 * Since: 0.1
 */
CairnTestMaildirLayout
cairn_test_maildir_get_layout (CairnTestMaildir *self)
{
  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);

  return self->layout;
}

/* Levels must be non-empty and neither "." nor ".."; Maildir++ joins them
 * with dots, so they cannot hold one there. */
static gboolean
folder_is_valid (CairnTestMaildir *self,
                 const char       *folder)
{
  g_auto(GStrv) levels = g_strsplit (folder, "/", -1);

  for (guint i = 0; levels[i] != NULL; i++)
    if (levels[i][0] == '\0' || strcmp (levels[i], ".") == 0 || strcmp (levels[i], "..") == 0 ||
        (self->layout == CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP && strchr (levels[i], '.') != NULL))
      return FALSE;
  return TRUE;
}

/**
 * cairn_test_maildir_get_folder_path:
 * @self: a #CairnTestMaildir
 * @folder: a folder name, levels separated by `/`; `INBOX` is the root
 *
 * Tells where @folder is on disk: `Lists/GNOME` is `ROOT/.Lists.GNOME`
 * in Maildir++ and `ROOT/Lists/GNOME` in the fs layout.
 *
 * Returns: (transfer full) (type filename): the maildir of @folder, which
 *   holds its `cur`, `new` and `tmp`
 *
 * Since: 0.1
 */
char *
cairn_test_maildir_get_folder_path (CairnTestMaildir *self,
                                    const char       *folder)
{
  g_autofree char *dotted = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), NULL);
  g_return_val_if_fail (folder != NULL && folder_is_valid (self, folder), NULL);

  if (strcmp (folder, "INBOX") == 0)
    return g_strdup (self->root);
  if (self->layout == CAIRN_TEST_MAILDIR_LAYOUT_FS)
    return g_build_filename (self->root, folder, NULL);

  dotted = g_strconcat (".", folder, NULL);
  g_strdelimit (dotted, "/", '.');
  return g_build_filename (self->root, dotted, NULL);
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "Cannot %s %s: %s",
               what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
make_maildir (const char  *path,
              GError     **error)
{
  static const char * const subfolders[] = { "cur", "new", "tmp" };

  for (gsize i = 0; i < G_N_ELEMENTS (subfolders); i++)
    {
      g_autofree char *subfolder = g_build_filename (path, subfolders[i], NULL);

      if (g_mkdir_with_parents (subfolder, 0700) != 0)
        return set_errno_error (error, errno, "create", subfolder);
    }
  return TRUE;
}

/**
 * cairn_test_maildir_create_folder:
 * @self: a #CairnTestMaildir
 * @folder: a folder name, levels separated by `/`; `INBOX` is the root
 * @error: return location for an error
 *
 * Creates the maildir of @folder, with its `cur`, `new` and `tmp`, unless
 * it exists. In Maildir++ the root is INBOX and always exists, so it is
 * created too, and sub-folders get the empty `maildirfolder` file that
 * tells delivery agents they are one. In the fs layout, missing parent
 * levels are created as plain directories, not maildirs.
 *
 * Returns: %TRUE if the folder exists
 *
 * Since: 0.1
 */
gboolean
cairn_test_maildir_create_folder (CairnTestMaildir  *self,
                                  const char        *folder,
                                  GError           **error)
{
  g_autofree char *path = NULL;
  g_autofree char *marker = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), FALSE);
  g_return_val_if_fail (folder != NULL && folder_is_valid (self, folder), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = cairn_test_maildir_get_folder_path (self, folder);
  if (!make_maildir (path, error))
    return FALSE;
  if (self->layout != CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP || strcmp (folder, "INBOX") == 0)
    return TRUE;

  if (!make_maildir (self->root, error))
    return FALSE;
  marker = g_build_filename (path, "maildirfolder", NULL);
  return g_file_set_contents (marker, "", 0, error);
}

/**
 * cairn_test_maildir_remove_folder:
 * @self: a #CairnTestMaildir
 * @folder: a folder name, levels separated by `/`, not `INBOX`
 * @error: return location for an error
 *
 * Removes the maildir of @folder with its messages, as a mail client
 * deletes a folder. In Maildir++ its sub-folders stay, as they are
 * folders of their own there.
 *
 * Returns: %TRUE if the folder is gone
 *
 * Since: 0.1
 */
gboolean
cairn_test_maildir_remove_folder (CairnTestMaildir  *self,
                                  const char        *folder,
                                  GError           **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), FALSE);
  g_return_val_if_fail (folder != NULL && folder_is_valid (self, folder), FALSE);
  g_return_val_if_fail (strcmp (folder, "INBOX") != 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = cairn_test_maildir_get_folder_path (self, folder);
  if (!_cairn_test_remove_tree (path))
    return g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "Cannot remove %s", path),
           FALSE;
  return TRUE;
}

static int
compare_letters (gconstpointer a,
                 gconstpointer b)
{
  return *(const char *) a - *(const char *) b;
}

/* The info letters in ASCII order without repeats, as the specification
 * asks of `:2,` infos. */
static char *
sort_info (const char *info)
{
  char *sorted = g_strdup (info);
  gsize length = strlen (sorted);
  gsize kept = 0;

  qsort (sorted, length, 1, compare_letters);
  for (gsize i = 0; i < length; i++)
    if (kept == 0 || sorted[kept - 1] != sorted[i])
      sorted[kept++] = sorted[i];
  sorted[kept] = '\0';
  return sorted;
}

static gboolean
info_is_valid (const char *info)
{
  for (const char *c = info; *c != '\0'; c++)
    if (!g_ascii_isalpha (*c))
      return FALSE;
  return TRUE;
}

/* Writes @message to tmp/ under a new unique name, then links it into new/
 * (@info NULL) or cur/ and removes the tmp/ name: readers only ever see
 * whole messages. Returns the unique name. */
static char *
deliver_to (CairnTestMaildir  *self,
            const char        *maildir,
            GBytes            *message,
            const char        *info,
            gboolean           durable,
            GError           **error)
{
  gint64 now = g_get_real_time ();
  guint delivery = (guint) g_atomic_int_add (&deliveries, 1) + 1;
  g_autofree char *name =
    g_strdup_printf ("%" G_GINT64_FORMAT ".M%06dP%dQ%u.%s", now / G_USEC_PER_SEC,
                     (int) (now % G_USEC_PER_SEC), (int) getpid (), delivery, self->host);
  g_autofree char *temporary = g_build_filename (maildir, "tmp", name, NULL);
  g_autofree char *final_name = info != NULL ? g_strconcat (name, ":2,", info, NULL) : NULL;
  g_autofree char *destination =
    g_build_filename (maildir, info != NULL ? "cur" : "new", info != NULL ? final_name : name,
                      NULL);
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  if (!g_file_set_contents_full (temporary, data, length,
                                 durable ? G_FILE_SET_CONTENTS_DURABLE : G_FILE_SET_CONTENTS_NONE,
                                 0600, error))
    {
      g_unlink (temporary);
      return NULL;
    }
  /* link() rather than rename(): it never replaces a message that holds
   * the same name. */
  if (link (temporary, destination) != 0)
    {
      set_errno_error (error, errno, "deliver to", destination);
      g_unlink (temporary);
      return NULL;
    }
  g_unlink (temporary);
  return g_steal_pointer (&name);
}

/**
 * cairn_test_maildir_deliver:
 * @self: a #CairnTestMaildir
 * @folder: an existing folder, levels separated by `/`; `INBOX` is the root
 * @message: the whole message
 * @info: (nullable): %NULL to deliver to `new/`, else the flag letters of
 *   the message (any order; "" for none) to deliver to `cur/` with this info
 * @error: return location for an error
 *
 * Delivers @message as the Maildir specification says: written to `tmp/`,
 * flushed to disk with fsync(), then linked to `new/NAME` or
 * `cur/NAME:2,INFO`.
 *
 * Returns: (transfer full): the unique part of the file name, which a
 *   maildir resource keeps as remote id, or %NULL with @error set
 *
 * Since: 0.1
 */
char *
cairn_test_maildir_deliver (CairnTestMaildir  *self,
                            const char        *folder,
                            GBytes            *message,
                            const char        *info,
                            GError           **error)
{
  g_autofree char *maildir = NULL;
  g_autofree char *sorted = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), NULL);
  g_return_val_if_fail (folder != NULL && folder_is_valid (self, folder), NULL);
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (info == NULL || info_is_valid (info), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  maildir = cairn_test_maildir_get_folder_path (self, folder);
  sorted = info != NULL ? sort_info (info) : NULL;
  return deliver_to (self, maildir, message, sorted, TRUE, error);
}

/* Messages */

/* splitmix64: a tiny generator whose whole state is one number, so that
 * every message, and every choice about it, has a stream of its own. */
typedef struct
{
  guint64 state;
} Random;

/* What a stream is for: the same message's streams must not repeat each
 * other. */
typedef enum
{
  STREAM_HEADERS = 1,
  STREAM_BODY,
  STREAM_FLAGS,
} Stream;

static guint64
random_next (Random *random)
{
  guint64 z = (random->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static Random
random_for (guint32 seed,
            guint   n,
            Stream  stream)
{
  Random random = { ((guint64) seed << 32 | n) ^ ((guint64) stream << 61) };

  random_next (&random);
  return random;
}

static guint
random_below (Random *random,
              guint   bound)
{
  return (guint) (random_next (random) % bound);
}

typedef struct
{
  const char *name;
  const char *address;
  int utc_offset_minutes;
} Person;

static const Person people[] = {
  { "Alice Martin", "alice.martin@example.org", 0 },
  { "Jürgen Groß", "juergen.gross@example.de", 60 },
  { "山田太郎", "taro.yamada@example.jp", 540 },
  { "Zoë Dupré", "zoe.dupre@example.fr", 60 },
  { "Bob Okafor", "bob@example.com", -300 },
  { "Åsa Lindström", "asa.lindstrom@example.se", 60 },
  { "Carlos Núñez", "carlos@example.mx", -360 },
  { "Priya Raman", "priya.raman@example.in", 330 },
  { "Олег Петров", "oleg@example.ru", 180 },
  { "GNOME Discourse", "noreply@discourse.example.org", 0 },
};

/* Whoever the folder belongs to. */
static const Person owner = { "Sam Reader", "sam@example.org", 0 };

static const char * const topics[] = {
  "Quarterly report",
  "Lunch on Friday?",
  "Grüße aus Berlin",
  "日本語のテスト",
  "Draft agenda for the planning meeting",
  "Photos from the trip",
  "Café menu for the offsite",
  "[gnome-devel] Release notes for 48.1",
  "Your order has shipped",
  "Réunion de lundi",
  "Build failure on main",
  "Weekend hike ⛰",
  "Budget 2026",
  "Ответ на вопрос",
};

static const char * const sentences[] = {
  "Thanks for sending this over so quickly.",
  "I had a look and most of it seems fine to me.",
  "Could we move the meeting to Thursday afternoon?",
  "The numbers in the second table do not add up yet.",
  "Schöne Grüße an alle im Büro.",
  "I will be out of the office until Monday.",
  "Let me know if you need anything else from me.",
  "Attached is the latest version, with your comments addressed.",
  "The build passes again since this morning.",
  "On se voit à la réunion, alors.",
  "See you there!",
  "来週また連絡します。",
};

typedef struct
{
  const char *filename;
  const char *mime_type;
} Attachment;

static const Attachment attachments[] = {
  { "report.pdf", "application/pdf" },
  { "photo.jpg", "image/jpeg" },
  { "budget.ods", "application/vnd.oasis.opendocument.spreadsheet" },
};

static const char * const weekdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char * const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Every choice about message n, made from the seed and n alone. */
typedef struct
{
  guint n;
  const Person *from;
  const Person *cc;
  /* The messages this one replies to, oldest first, and the thread's
   * first message; no parent when it starts a thread. */
  GArray *ancestors;
  guint root;
  gint64 time;
  guint topic;
} Message;

static void
message_clear (Message *message)
{
  g_clear_pointer (&message->ancestors, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Message, message_clear)

/* About two messages in five answer one of the few before them. */
static gboolean
message_parent (guint32  seed,
                guint    n,
                guint   *parent)
{
  Random random = random_for (seed, n, STREAM_HEADERS);

  if (n == 0 || random_below (&random, 5) >= 2)
    return FALSE;
  *parent = n - 1 - random_below (&random, MIN (n, REPLY_WINDOW));
  return TRUE;
}

static void
message_init (Message *message,
              guint32  seed,
              guint    n)
{
  Random random = random_for (seed, n, STREAM_HEADERS);
  guint ancestor = n;

  /* Drawn after message_parent()'s two draws, from the same stream. */
  random_next (&random);
  random_next (&random);

  message->n = n;
  message->ancestors = g_array_new (FALSE, FALSE, sizeof (guint));
  while (message_parent (seed, ancestor, &ancestor))
    g_array_prepend_val (message->ancestors, ancestor);
  message->root = message->ancestors->len > 0 ? g_array_index (message->ancestors, guint, 0) : n;

  message->from = &people[random_below (&random, G_N_ELEMENTS (people))];
  message->cc = random_below (&random, 4) == 0 ?
                &people[random_below (&random, G_N_ELEMENTS (people))] : NULL;
  if (message->cc == message->from)
    message->cc = NULL;
  message->time = FIRST_DATE + (gint64) n * DATE_STEP + random_below (&random, DATE_STEP);

  /* The topic of a reply is its thread's. */
  if (message->root == n)
    message->topic = random_below (&random, G_N_ELEMENTS (topics));
  else
    {
      g_auto(Message) root = { 0 };

      message_init (&root, seed, message->root);
      message->topic = root.topic;
    }
}

static char *
message_id (guint32 seed,
            guint   n)
{
  return g_strdup_printf ("<%u.%08x@cairn-test.example.org>", n, seed);
}

static char *
format_address (const Person *person)
{
  return g_strdup_printf ("%s <%s>", person->name, person->address);
}

/* RFC 5322 date in the sender's time zone, with English names whatever
 * the locale. */
static char *
format_date (const Message *message)
{
  g_autoptr(GTimeZone) zone = g_time_zone_new_offset (message->from->utc_offset_minutes * 60);
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (message->time);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (utc, zone);
  int offset = message->from->utc_offset_minutes;

  return g_strdup_printf ("%s, %02d %s %d %02d:%02d:%02d %c%02d%02d",
                          weekdays[g_date_time_get_day_of_week (local) - 1],
                          g_date_time_get_day_of_month (local),
                          months[g_date_time_get_month (local) - 1],
                          g_date_time_get_year (local), g_date_time_get_hour (local),
                          g_date_time_get_minute (local), g_date_time_get_second (local),
                          offset < 0 ? '-' : '+', ABS (offset) / 60, ABS (offset) % 60);
}

static char *
format_references (guint32        seed,
                   const Message *message)
{
  GArray *ancestors = message->ancestors;
  g_autoptr(GString) references = g_string_new (NULL);
  guint first_kept = ancestors->len > MAX_REFERENCES ? ancestors->len - MAX_REFERENCES + 1 : 1;

  for (guint i = 0; i < ancestors->len; i++)
    if (i == 0 || i >= first_kept)
      {
        g_autofree char *id = message_id (seed, g_array_index (ancestors, guint, i));

        g_string_append_printf (references, "%s%s", references->len > 0 ? " " : "", id);
      }
  return g_string_free (g_steal_pointer (&references), FALSE);
}

static gboolean
is_ascii (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isprint (*c))
      return FALSE;
  return TRUE;
}

/* What a byte costs in the Q encoding of RFC 2047, section 4.2, kept to
 * the characters it allows in a phrase (5.3) so that one encoding suits
 * display names and subjects alike. */
static gsize
q_cost (guchar byte)
{
  return g_ascii_isalnum (byte) || byte == ' ' ? 1 : 3;
}

/* Appends @text to a header, as RFC 2047 encoded-words (folded onto
 * continuation lines) when it is not plain ASCII: Q when it is mostly
 * ASCII and stays readable, B otherwise. */
static void
append_encoded (GString    *header,
                const char *text)
{
  gsize non_ascii = 0;
  gboolean q;

  if (is_ascii (text))
    {
      g_string_append (header, text);
      return;
    }
  for (const char *c = text; *c != '\0'; c++)
    non_ascii += (guchar) *c >= 0x80;
  q = non_ascii * 3 < strlen (text);

  for (const char *start = text; *start != '\0';)
    {
      const char *end = start;
      gsize cost = 0;

      /* Whole characters only: a word must decode to valid UTF-8 alone. */
      while (*end != '\0')
        {
          const char *next = g_utf8_next_char (end);
          gsize char_cost = 0;

          for (const char *c = end; c < next; c++)
            char_cost += q ? q_cost (*c) : 1;
          if (cost + char_cost > (q ? Q_WORD_CHARS : B_WORD_BYTES))
            break;
          cost += char_cost;
          end = next;
        }

      if (start != text)
        g_string_append (header, "\n ");
      if (q)
        {
          g_string_append (header, "=?UTF-8?Q?");
          for (const char *c = start; c < end; c++)
            if (*c == ' ')
              g_string_append_c (header, '_');
            else if (q_cost (*c) == 1)
              g_string_append_c (header, *c);
            else
              g_string_append_printf (header, "=%02X", (guchar) *c);
        }
      else
        {
          g_autofree char *base64 = g_base64_encode ((const guchar *) start, end - start);

          g_string_append_printf (header, "=?UTF-8?B?%s", base64);
        }
      g_string_append (header, "?=");
      start = end;
    }
}

static void
append_address (GString      *header,
                const Person *person)
{
  append_encoded (header, person->name);
  g_string_append_printf (header, " <%s>", person->address);
}

static void
append_body_text (GString *message,
                  Random  *random,
                  guint    n_lines)
{
  for (guint i = 0; i < n_lines; i++)
    g_string_append_printf (message, "%s\n",
                            sentences[random_below (random, G_N_ELEMENTS (sentences))]);
}

static void
append_attachment (GString *message,
                   Random  *random,
                   guint32  seed,
                   guint    n)
{
  const Attachment *attachment = &attachments[random_below (random, G_N_ELEMENTS (attachments))];
  gsize size = 512 + random_below (random, 2560);
  g_autofree guchar *content = g_malloc (size);
  g_autofree char *base64 = NULL;
  gsize length;

  for (gsize i = 0; i < size; i++)
    content[i] = (guchar) random_next (random);
  base64 = g_base64_encode (content, size);
  length = strlen (base64);

  g_string_append_printf (message,
                          "--=_cairn_%08x_%u\n"
                          "Content-Type: %s; name=\"%s\"\n"
                          "Content-Disposition: attachment; filename=\"%s\"\n"
                          "Content-Transfer-Encoding: base64\n\n",
                          seed, n, attachment->mime_type, attachment->filename,
                          attachment->filename);
  /* 76 characters a line, as RFC 2045 section 6.8 requires. */
  for (gsize i = 0; i < length; i += 76)
    {
      g_string_append_len (message, base64 + i, MIN (76, length - i));
      g_string_append_c (message, '\n');
    }
}

/**
 * cairn_test_maildir_build_message:
 * @seed: the seed of the sequence
 * @n: the number of the message in the sequence, from 0
 *
 * Builds message @n of the sequence @seed: an RFC 5322 message with
 * From, To, sometimes Cc, Subject, Date and Message-ID; about two in five
 * reply to one of the few messages before them in the sequence
 * (In-Reply-To, References, and the thread's subject after `Re: `), about
 * one in six is `multipart/mixed` with a base64 attachment, and names and
 * subjects may be in any script, as RFC 2047 encoded-words. Lines end
 * with LF, as files in a maildir do. Message @n is always newer (Date)
 * than message @n - 1.
 *
 * The same @seed and @n always give the same bytes, and different seeds
 * different Message-IDs, so give each folder a seed of its own.
 *
 * Returns: (transfer full): the message
 *
 * Since: 0.1
 */
GBytes *
cairn_test_maildir_build_message (guint32 seed,
                                  guint   n)
{
  g_auto(Message) message = { 0 };
  Random random = random_for (seed, n, STREAM_BODY);
  GString *text = g_string_sized_new (4096);
  g_autofree char *date = NULL;
  g_autofree char *id = message_id (seed, n);
  gboolean multipart = random_below (&random, 6) == 0;

  message_init (&message, seed, n);
  date = format_date (&message);

  g_string_append_printf (text, "Date: %s\nFrom: ", date);
  append_address (text, message.from);
  g_string_append (text, "\nTo: ");
  append_address (text, &owner);
  if (message.cc != NULL)
    {
      g_string_append (text, "\nCc: ");
      append_address (text, message.cc);
    }
  g_string_append_printf (text, "\nSubject: %s", message.root != n ? "Re: " : "");
  append_encoded (text, topics[message.topic]);
  g_string_append_printf (text, "\nMessage-ID: %s\n", id);
  if (message.ancestors->len > 0)
    {
      g_autofree char *parent =
        message_id (seed, g_array_index (message.ancestors, guint, message.ancestors->len - 1));
      g_autofree char *references = format_references (seed, &message);

      g_string_append_printf (text, "In-Reply-To: %s\nReferences: %s\n", parent, references);
    }
  g_string_append (text, "MIME-Version: 1.0\n");
  if (multipart)
    g_string_append_printf (text,
                            "Content-Type: multipart/mixed; boundary=\"=_cairn_%08x_%u\"\n\n"
                            "This is a multi-part message in MIME format.\n\n"
                            "--=_cairn_%08x_%u\n",
                            seed, n, seed, n);
  g_string_append (text, "Content-Type: text/plain; charset=utf-8\n"
                         "Content-Transfer-Encoding: 8bit\n\n");

  g_string_append (text, "Hello,\n\n");
  append_body_text (text, &random, 2 + random_below (&random, 4));
  g_string_append_printf (text, "\n-- \n%s\n", message.from->name);

  if (multipart)
    {
      g_string_append (text, "\n");
      append_attachment (text, &random, seed, n);
      g_string_append_printf (text, "--=_cairn_%08x_%u--\n", seed, n);
    }

  return g_string_free_to_bytes (text);
}

/**
 * cairn_test_maildir_get_header:
 * @seed: the seed of the sequence
 * @n: the number of the message in the sequence, from 0
 * @name: a header name, in any case: `From`, `To`, `Cc`, `Subject`,
 *   `Date`, `Message-ID`, `In-Reply-To` or `References`
 *
 * Tells what header @name of cairn_test_maildir_build_message() (@seed,
 * @n) says, decoded: encoded-words as UTF-8 text, addresses as
 * `Name <address>`, Message-IDs with their angle brackets, References
 * separated by single spaces, no folding.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL if the message
 *   has no such header
 *
 * Since: 0.1
 */
char *
cairn_test_maildir_get_header (guint32     seed,
                               guint       n,
                               const char *name)
{
  g_auto(Message) message = { 0 };

  g_return_val_if_fail (name != NULL, NULL);

  message_init (&message, seed, n);
  if (g_ascii_strcasecmp (name, "From") == 0)
    return format_address (message.from);
  if (g_ascii_strcasecmp (name, "To") == 0)
    return format_address (&owner);
  if (g_ascii_strcasecmp (name, "Cc") == 0)
    return message.cc != NULL ? format_address (message.cc) : NULL;
  if (g_ascii_strcasecmp (name, "Subject") == 0)
    return g_strconcat (message.root != n ? "Re: " : "", topics[message.topic], NULL);
  if (g_ascii_strcasecmp (name, "Date") == 0)
    return format_date (&message);
  if (g_ascii_strcasecmp (name, "Message-ID") == 0)
    return message_id (seed, n);
  if (message.ancestors->len == 0)
    return NULL;
  if (g_ascii_strcasecmp (name, "In-Reply-To") == 0)
    return message_id (seed, g_array_index (message.ancestors, guint,
                                            message.ancestors->len - 1));
  if (g_ascii_strcasecmp (name, "References") == 0)
    return format_references (seed, &message);
  return NULL;
}

/* The flags of message n of n_messages, as a mail reader leaves them:
 * about a third unread, more of them among the newest; most unread ones
 * still in new/; some flagged, answered or forwarded, a few deleted but
 * not yet expunged. NULL means new/. */
static const char *
generated_info (guint32 seed,
                guint   n,
                guint   n_messages)
{
  static const char * const seen_infos[] = {
    "S", "S", "S", "S", "S", "S", "S", "S", "S", "S", "S", "S",
    "RS", "RS", "RS", "FS", "FS", "PS", "FRS", "ST",
  };
  Random random = random_for (seed, n, STREAM_FLAGS);
  guint unread_percent = 15 + (guint) (40 * (guint64) n / n_messages);

  if (random_below (&random, 100) >= unread_percent)
    return seen_infos[random_below (&random, G_N_ELEMENTS (seen_infos))];
  switch (random_below (&random, 8))
    {
    case 0:
      return "";
    case 1:
      return "F";
    default:
      return NULL;
    }
}

/**
 * cairn_test_maildir_generate:
 * @self: a #CairnTestMaildir
 * @folder: a folder name, levels separated by `/`; `INBOX` is the root
 * @n_messages: how many messages to deliver
 * @seed: the sequence of cairn_test_maildir_build_message() to deliver,
 *   from message 0
 * @error: return location for an error
 *
 * Creates @folder if needed and delivers @n_messages messages to it, with
 * the flags a mail reader would have left: about a third unread (more of
 * them among the newest), most of those in `new/`, the rest in `cur/`,
 * some of them flagged (`F`), answered (`R`), forwarded (`P`) or deleted
 * (`T`).
 *
 * Unlike cairn_test_maildir_deliver() it does not flush each message to
 * disk: it writes many thousands for tests and benchmarks, which make
 * them again after a crash, and fsync() would take most of the time.
 *
 * Returns: %TRUE if all were delivered
 *
 * Since: 0.1
 */
gboolean
cairn_test_maildir_generate (CairnTestMaildir  *self,
                             const char        *folder,
                             guint              n_messages,
                             guint32            seed,
                             GError           **error)
{
  g_autofree char *maildir = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_MAILDIR (self), FALSE);
  g_return_val_if_fail (folder != NULL && folder_is_valid (self, folder), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!cairn_test_maildir_create_folder (self, folder, error))
    return FALSE;
  maildir = cairn_test_maildir_get_folder_path (self, folder);

  for (guint n = 0; n < n_messages; n++)
    {
      g_autoptr(GBytes) message = cairn_test_maildir_build_message (seed, n);
      g_autofree char *name =
        deliver_to (self, maildir, message, generated_info (seed, n, n_messages), FALSE, error);

      if (name == NULL)
        return FALSE;
    }
  return TRUE;
}
