/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cairn-test.h"
#include "cairn-test-private.h"

/**
 * CairnTestReplay:
 *
 * The model-based replay test that every resource should pass. It drives
 * a started #CairnTestResource with a seeded random sequence of local
 * changes, written through #CairnStore transactions as an application
 * writes them — items created (some larger than the store's inline
 * threshold), modified, flagged, moved and deleted, folders created,
 * renamed, moved and deleted, several of them in one transaction at
 * times — and interleaves going offline and online, SIGKILL of the
 * resource's process, clean restarts, syncs, and changes another program
 * makes to the backend through the #CairnTestBackend. For a resource that
 * runs under a control service (cairn_test_resource_new_for_control()),
 * it also stops the service with SIGTERM or kills it with SIGKILL, makes
 * local changes and another program's while it is stopped, and starts
 * it again.
 *
 * Beside it runs a model: a plain description of what the store and the
 * backend should hold. At the end the resource goes online, replays
 * everything and synchronizes; then the backend, the store and the model
 * must agree exactly (folders, item contents, flags where the backend
 * keeps them, the backend's names as the store's remote ids), and the
 * resource must have no failed change.
 *
 * Folders the store holds when the run starts are the model's fixed
 * folders: local changes put items in them but never rename, move or
 * delete them, and the backend changes of other programs (adds, edits,
 * flags, removals and moves between them) happen only in them, on items
 * of their own, or in top-level folders other programs create, rename and
 * remove, where local changes put nothing. A quarter of the local transactions begin
 * with a change to such an item, as a user files mail that arrived; from
 * then on only local changes touch it. It is taken only once the store
 * holds it as the other program left it (online, after a sync; offline,
 * only if the store is known to hold it). And back: offline, another
 * program may take a local item of a fixed folder that the backend holds
 * as the store does, flags aside, after a local change of its flags, and
 * move it; the flag change must follow it. Until the next wait for the
 * replay it neither edits that item nor sets its flags, since when the
 * flag change lands is a matter of timing. With
 * %CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED it may instead move such an
 * item to another fixed folder while it is moved or edited locally: the
 * local move must take it from there, the edit must put the new content
 * in the item's folder and remove the old one from there; until the next
 * wait for the replay, no local change moves or removes that item (a move
 * back would cancel its move) or removes a folder holding it. So the
 * outcome is the same whatever the timing of replay and syncs, and a run
 * is a pure function of its seed.
 *
 * On failure the error says the seed (`CAIRN_TEST_SEED=N` replays that
 * run alone, see cairn_test_replay_get_seeds()), the differences and
 * every operation of the run.
 *
 * |[<!-- language="C" -->
 * backend = cairn_test_directory_backend_new (notes, FALSE);
 * replay = cairn_test_replay_new (resource, CAIRN_TEST_BACKEND (backend), "text/plain",
 *                                 "TEXT", CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS);
 * if (!cairn_test_replay_run (replay, seed, 1500, &error))
 *   g_error ("%s", error->message);
 * ]|
 *
 * Since: 0.1
 */

#define WAIT_MS (120 * 1000)
#define SYNC_ATTEMPTS 5
/* Local transactions that begin with a change to an item of another
 * program's. */
#define ADOPT_PERCENT 25
/* Changes of another program's that are to its own folders, and how many
 * of those it keeps at most. */
#define EXTERNAL_FOLDER_PERCENT 10
#define MAX_EXTERNAL_FOLDERS 3
#define SMALL_MAX 3000
#define LARGE_MIN (16 * 1024 + 1)
#define LARGE_MAX (48 * 1024)

static const char * const flag_names[] = {
  CAIRN_FLAG_SEEN, CAIRN_FLAG_FLAGGED, CAIRN_FLAG_ANSWERED, CAIRN_FLAG_DRAFT,
};

typedef struct
{
  guint64 id;             /* the store's; for another program's, one of the model's */
  guint64 parent;
  char *name;
  gboolean fixed;
  gboolean external;      /* another program's: top-level, its items alone */
} Folder;

/* The model's ids of another program's folders, which the store may not
 * hold yet: far above the store's. */
#define EXTERNAL_FOLDER_IDS (G_GUINT64_CONSTANT (1) << 62)

typedef struct
{
  guint uid;
  guint version;
  guint64 id;             /* 0 for an item of another program's */
  guint64 folder;
  GBytes *content;
  CairnFlags *flags;
  char *name;             /* known for items of another program's */
  gboolean stored;        /* another program's: the store has this version */
  gboolean settled;       /* local: the backend has it as the store, flags aside */
  gboolean unreplayed;    /* another program's: a local flag change may follow it still */
  gboolean moved_away;    /* local: another program moved it before its local move or edit
                           * was replayed; until that is, nothing moves or removes it
                           * here, which could cancel the move or be replayed from
                           * where it was */
} Item;

struct _CairnTestReplay
{
  GObject parent_instance;

  CairnTestResource *resource;
  CairnTestBackend *backend;
  char *mime_type;
  char *part;
  CairnTestReplayFeatures features;

  /* One run */
  CairnStore *client;
  GRand *rand;
  guint32 seed;
  GHashTable *folders;    /* id -> Folder */
  GPtrArray *local;       /* Item, created here */
  GPtrArray *external;    /* Item, of another program's */
  guint next_uid;
  guint next_folder;
  guint next_external_folder;
  gboolean online;
  gboolean control_stopped;
  guint step;
  GQueue *log;
};

G_DEFINE_FINAL_TYPE (CairnTestReplay, cairn_test_replay, G_TYPE_OBJECT)

static void
folder_free (Folder *folder)
{
  g_free (folder->name);
  g_free (folder);
}

static void
item_free (Item *item)
{
  g_bytes_unref (item->content);
  cairn_flags_free (item->flags);
  g_free (item->name);
  g_free (item);
}

static void
reset (CairnTestReplay *self)
{
  g_clear_object (&self->client);
  g_clear_pointer (&self->rand, g_rand_free);
  g_clear_pointer (&self->folders, g_hash_table_unref);
  g_clear_pointer (&self->local, g_ptr_array_unref);
  g_clear_pointer (&self->external, g_ptr_array_unref);
  if (self->log != NULL)
    g_queue_free_full (g_steal_pointer (&self->log), g_free);
}

static void
cairn_test_replay_dispose (GObject *object)
{
  CairnTestReplay *self = CAIRN_TEST_REPLAY (object);

  reset (self);
  g_clear_object (&self->resource);
  g_clear_object (&self->backend);

  G_OBJECT_CLASS (cairn_test_replay_parent_class)->dispose (object);
}

static void
cairn_test_replay_finalize (GObject *object)
{
  CairnTestReplay *self = CAIRN_TEST_REPLAY (object);

  g_free (self->mime_type);
  g_free (self->part);

  G_OBJECT_CLASS (cairn_test_replay_parent_class)->finalize (object);
}

static void
cairn_test_replay_class_init (CairnTestReplayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_test_replay_dispose;
  object_class->finalize = cairn_test_replay_finalize;
}

static void
cairn_test_replay_init (CairnTestReplay *self)
{
}

/**
 * cairn_test_replay_new:
 * @resource: the resource under test, started, its first sync done
 * @backend: its backend
 * @mime_type: the MIME type of the items and folders to create
 * @part: the part that holds an item's content (`TEXT`, `RFC822`)
 * @features: what the resource replays
 *
 * Creates a model-based replay test of a running resource and its backend.
 *
 * Returns: (transfer full): a replay test
 *
 * Since: 0.1
 */
CairnTestReplay *
cairn_test_replay_new (CairnTestResource       *resource,
                       CairnTestBackend        *backend,
                       const char              *mime_type,
                       const char              *part,
                       CairnTestReplayFeatures  features)
{
  CairnTestReplay *self;

  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (resource), NULL);
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (backend), NULL);
  g_return_val_if_fail (mime_type != NULL && part != NULL, NULL);

  self = g_object_new (CAIRN_TYPE_TEST_REPLAY, NULL);
  self->resource = g_object_ref (resource);
  self->backend = g_object_ref (backend);
  self->mime_type = g_strdup (mime_type);
  self->part = g_strdup (part);
  self->features = features;
  return self;
}

/* Content */

/**
 * cairn_test_replay_make_content:
 * @seed: the run's seed
 * @item: a number of the item's own
 * @version: how often it was written
 * @size: the size wanted, at least the header's
 *
 * Makes an item's content: a small mail header naming the item and its
 * version (`Subject: item 3 version 2`, and a Message-ID of its own), so
 * that it suits mail and note backends alike and every item can be told
 * apart, then lines of text up to @size bytes.
 *
 * Returns: (transfer full): the content
 *
 * Since: 0.1
 */
GBytes *
cairn_test_replay_make_content (guint32 seed,
                                guint   item,
                                guint   version,
                                gsize   size)
{
  GString *text = g_string_new (NULL);
  gsize header;
  guint line = 0;

  g_string_append_printf (text, "Message-ID: <replay.%u.%u@cairn.test>\n"
                          "Subject: item %u version %u\n\n", seed, item, item, version);
  header = text->len;
  while (text->len < size)
    g_string_append_printf (text, "Line %u of item %u, version %u, seed %u.\n", line++, item,
                            version, seed);
  g_string_truncate (text, MAX (size, header));
  return g_string_free_to_bytes (text);
}

/* An event in the form vobject writes, which is how Radicale stores it:
 * VEVENT properties after UID and DTSTART in alphabetical order, lines
 * folded at 75 octets. Its DESCRIPTION (ASCII, nothing to escape) grows
 * the object to about @size bytes. */
static GBytes *
make_icalendar (const char *uid,
                guint32     seed,
                guint       item,
                guint       version,
                gsize       size)
{
  GString *text = g_string_new (NULL);
  g_autoptr(GString) line = g_string_new ("DESCRIPTION:");
  guint n = 0;

  g_string_append_printf (text, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cairn//Replay//EN\r\n"
                          "BEGIN:VEVENT\r\nUID:%s\r\nDTSTART:20260101T000000Z\r\n", uid);
  do
    g_string_append_printf (line, "%sLine %u of item %u version %u seed %u.", n ? " " : "",
                            n, item, version, seed);
  while (n++, text->len + line->len + 100 < size);
  for (gsize start = 0; start < line->len; )
    {
      gsize chunk = MIN (line->len - start, start == 0 ? 75 : 74);

      if (start > 0)
        g_string_append_c (text, ' ');
      g_string_append_len (text, line->str + start, chunk);
      g_string_append (text, "\r\n");
      start += chunk;
    }
  g_string_append_printf (text, "DTSTAMP:20260101T000000Z\r\nSUMMARY:item %u version %u\r\n"
                          "END:VEVENT\r\nEND:VCALENDAR\r\n", item, version);
  return g_string_free_to_bytes (text);
}

/* The UID of an event, which its next versions keep: a server refuses
 * an object that changes it (RFC 4791, section 5.3.2.1), and a backend's
 * own items have UIDs of their own. */
static char *
icalendar_uid (GBytes *content)
{
  gsize length;
  const char *text = g_bytes_get_data (content, &length);
  const char *start = g_strstr_len (text, length, "\nUID:");
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen ("\nUID:");
  end = start;
  while (end < text + length && *end != '\r' && *end != '\n')
    end++;
  return g_strndup (start, end - start);
}

static gsize
random_size (CairnTestReplay *self)
{
  if (g_rand_int_range (self->rand, 0, 100) < 15)
    return g_rand_int_range (self->rand, LARGE_MIN, LARGE_MAX);
  return g_rand_int_range (self->rand, 100, SMALL_MAX);
}

/* Another version, whose size differs from the last: a backend that
 * tells changes by modification time and size cannot miss it. */
static void
item_new_version (CairnTestReplay *self,
                  Item            *item)
{
  gsize old_size = item->content ? g_bytes_get_size (item->content) : 0;
  gsize size;
  GBytes *content;

  do
    size = random_size (self);
  while (size == old_size);
  if (self->features & CAIRN_TEST_REPLAY_FEATURES_ICALENDAR)
    {
      g_autofree char *uid = item->content ? icalendar_uid (item->content) : NULL;

      if (uid == NULL)
        uid = g_strdup_printf ("replay-%u-%u", self->seed, item->uid);
      content = make_icalendar (uid, self->seed, item->uid, ++item->version, size);
    }
  else
    content = cairn_test_replay_make_content (self->seed, item->uid, ++item->version, size);
  g_clear_pointer (&item->content, g_bytes_unref);
  item->content = content;
  if (self->features & CAIRN_TEST_REPLAY_FEATURES_CRLF)
    {
      gsize length;
      const char *text = g_bytes_get_data (item->content, &length);
      GString *crlf = g_string_sized_new (length + length / 32);

      for (gsize i = 0; i < length; i++)
        {
          if (text[i] == '\n')
            g_string_append_c (crlf, '\r');
          g_string_append_c (crlf, text[i]);
        }
      g_bytes_unref (item->content);
      item->content = g_string_free_to_bytes (crlf);
    }
}

static CairnFlags *
random_flags (CairnTestReplay *self)
{
  CairnFlags *flags = cairn_flags_new ();

  if (!(self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS))
    return flags;
  for (guint i = 0; i < G_N_ELEMENTS (flag_names); i++)
    if (g_rand_int_range (self->rand, 0, 4) == 0)
      cairn_flags_add (flags, flag_names[i]);
  return flags;
}

/* The log of operations */

static void
record (CairnTestReplay *self,
        const char      *format,
        ...) G_GNUC_PRINTF (2, 3);

static void
record (CairnTestReplay *self,
        const char      *format,
        ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_queue_push_tail (self->log, g_strdup_printf ("#%u %s", self->step, text));
  g_debug ("replay %u: #%u %s", self->seed, self->step, text);
}

/* The model */

static char *
folder_path (CairnTestReplay *self,
             guint64          id)
{
  Folder *folder = g_hash_table_lookup (self->folders, &id);
  g_autofree char *parent = NULL;

  g_assert (folder != NULL);
  if (folder->parent == 0 || !g_hash_table_contains (self->folders, &folder->parent))
    return g_strdup (folder->name);
  parent = folder_path (self, folder->parent);
  return g_strconcat (parent, "/", folder->name, NULL);
}

static Folder *
add_folder (CairnTestReplay *self,
            guint64          id,
            guint64          parent,
            const char      *name,
            gboolean         fixed)
{
  Folder *folder = g_new0 (Folder, 1);

  folder->id = id;
  folder->parent = parent;
  folder->name = g_strdup (name);
  folder->fixed = fixed;
  g_hash_table_insert (self->folders, &folder->id, folder);
  return folder;
}

static gboolean
is_inside (CairnTestReplay *self,
           guint64          id,
           guint64          ancestor)
{
  while (id != 0)
    {
      Folder *folder = g_hash_table_lookup (self->folders, &id);

      if (id == ancestor)
        return TRUE;
      id = folder ? folder->parent : 0;
    }
  return FALSE;
}

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  const Folder *x = *(const Folder * const *) a;
  const Folder *y = *(const Folder * const *) b;

  return x->id < y->id ? -1 : x->id > y->id;
}

typedef enum
{
  ANY_FOLDER,     /* one local changes put items in: fixed or own */
  FIXED_FOLDER,
  OWN_FOLDER,     /* one the test created: it may be renamed, moved, deleted */
  EXTERNAL_FOLDER,
  OTHERS_FOLDER,  /* one another program puts items in: fixed or external */
} FolderKind;

static gboolean
is_of_kind (Folder     *folder,
            FolderKind  kind)
{
  switch (kind)
    {
    case ANY_FOLDER:
      return !folder->external;
    case FIXED_FOLDER:
      return folder->fixed;
    case OWN_FOLDER:
      return !folder->fixed && !folder->external;
    case EXTERNAL_FOLDER:
      return folder->external;
    case OTHERS_FOLDER:
      return folder->fixed || folder->external;
    default:
      g_assert_not_reached ();
    }
}

/* The folders of @kind, in id order: hash order is no function of the
 * seed. */
static GPtrArray *
list_folders (CairnTestReplay *self,
              FolderKind       kind)
{
  GPtrArray *folders = g_ptr_array_new ();
  GHashTableIter iter;
  Folder *folder;

  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    if (is_of_kind (folder, kind))
      g_ptr_array_add (folders, folder);
  g_ptr_array_sort (folders, compare_folders);
  return folders;
}

static Folder *
pick_folder (CairnTestReplay *self,
             FolderKind       kind)
{
  g_autoptr(GPtrArray) folders = list_folders (self, kind);

  if (folders->len == 0)
    return NULL;
  return g_ptr_array_index (folders, g_rand_int_range (self->rand, 0, folders->len));
}

static Item *
pick_item (CairnTestReplay *self,
           GPtrArray       *items)
{
  if (items->len == 0)
    return NULL;
  return g_ptr_array_index (items, g_rand_int_range (self->rand, 0, items->len));
}

/* Removes folder @id, the folders inside it and their items. */
static void
remove_folder (CairnTestReplay *self,
               guint64          id)
{
  GPtrArray *lists[] = { self->local, self->external };
  g_autoptr(GArray) doomed = g_array_new (FALSE, FALSE, sizeof (guint64));
  GHashTableIter iter;
  Folder *folder;

  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    if (is_inside (self, folder->id, id))
      g_array_append_val (doomed, folder->id);
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = lists[l]->len; i-- > 0; )
      {
        Item *item = g_ptr_array_index (lists[l], i);

        if (is_inside (self, item->folder, id))
          g_ptr_array_remove_index (lists[l], i);
      }
  for (guint i = 0; i < doomed->len; i++)
    g_hash_table_remove (self->folders, &g_array_index (doomed, guint64, i));
}

static CairnTestSnapshot *
model_snapshot (CairnTestReplay *self)
{
  CairnTestSnapshot *snapshot = cairn_test_snapshot_new ();
  GPtrArray *lists[] = { self->local, self->external };
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->folders);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *path = folder_path (self, *(guint64 *) key);

      cairn_test_snapshot_add_folder (snapshot, path);
    }
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; i < lists[l]->len; i++)
      {
        Item *item = g_ptr_array_index (lists[l], i);
        g_autofree char *path = folder_path (self, item->folder);

        cairn_test_snapshot_add_item (snapshot, path, item->name, item->content, item->flags);
      }
  return snapshot;
}

/* What the store holds at the start is the model's first state. */
static gboolean
bootstrap (CairnTestReplay  *self,
           GError          **error)
{
  const char *id = cairn_test_resource_get_id (self->resource);
  g_autoptr(GPtrArray) collections = NULL;

  collections = cairn_store_list_collections (self->client, id, error);
  if (collections == NULL)
    return FALSE;
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      guint64 after = 0;

      add_folder (self, cairn_collection_get_id (collection),
                  cairn_collection_get_parent_id (collection),
                  cairn_collection_get_name (collection), TRUE);
      for (;;)
        {
          g_autoptr(GPtrArray) items = NULL;

          items = cairn_store_list_items (self->client, cairn_collection_get_id (collection), NULL,
                                          after, 500, error);
          if (items == NULL)
            return FALSE;
          if (items->len == 0)
            break;
          for (guint j = 0; j < items->len; j++)
            {
              CairnItem *stored = g_ptr_array_index (items, j);
              Item *item = g_new0 (Item, 1);

              item->uid = ++self->next_uid;
              item->folder = cairn_collection_get_id (collection);
              item->content = _cairn_test_read_part (self->client, cairn_item_get_id (stored),
                                                     self->part);
              item->flags = cairn_flags_copy (cairn_item_get_flags (stored));
              item->name = g_strdup (cairn_item_get_remote_id (stored));
              item->stored = TRUE;
              g_ptr_array_add (self->external, item);
              after = cairn_item_get_id (stored);
            }
        }
    }
  return TRUE;
}

/* Local changes, in one transaction */

typedef struct
{
  CairnTestReplay *self;
  CairnTransaction *transaction;
  guint n_operations;
  GHashTable *items;        /* id -> CairnItem written in this transaction */
  GHashTable *collections;  /* id -> CairnCollection written in this transaction */
  Item *adopted;            /* for the first change, if any */
  Folder *destination;      /* for preempted_change() */
} Transaction;

/* The item as the transaction sees it: the store cannot show what this
 * transaction wrote, since reads see the last commit. */
static CairnItem *
transaction_item (Transaction  *txn,
                  guint64       id,
                  GError      **error)
{
  CairnItem *item = g_hash_table_lookup (txn->items, &id);

  if (item != NULL)
    return g_object_ref (item);
  item = cairn_store_get_item (txn->self->client, id, NULL, error);
  if (item != NULL)
    g_hash_table_insert (txn->items, g_memdup2 (&id, sizeof id), g_object_ref (item));
  return item;
}

static CairnCollection *
transaction_collection (Transaction  *txn,
                        guint64       id,
                        GError      **error)
{
  CairnCollection *collection = g_hash_table_lookup (txn->collections, &id);

  if (collection != NULL)
    return g_object_ref (collection);
  collection = cairn_store_get_collection (txn->self->client, id, error);
  if (collection != NULL)
    g_hash_table_insert (txn->collections, g_memdup2 (&id, sizeof id),
                         g_object_ref (collection));
  return collection;
}

static void
set_content (CairnItem  *item,
             const char *part_name,
             GBytes     *content)
{
  g_autoptr(CairnPart) part = cairn_part_new_inline (part_name, content);

  cairn_item_set_part (item, part);
  cairn_item_set_size (item, g_bytes_get_size (content));
}

static gboolean
create_item (Transaction  *txn,
             GError      **error)
{
  CairnTestReplay *self = txn->self;
  Folder *folder = pick_folder (self, ANY_FOLDER);
  g_autoptr(CairnItem) created = cairn_item_new (self->mime_type);
  Item *item = g_new0 (Item, 1);

  item->uid = ++self->next_uid;
  item->folder = folder->id;
  item->flags = random_flags (self);
  item_new_version (self, item);
  cairn_item_set_collection_id (created, folder->id);
  cairn_item_set_flags (created, item->flags);
  set_content (created, self->part, item->content);
  if (!cairn_transaction_create_item (txn->transaction, created, error))
    {
      item_free (item);
      return FALSE;
    }
  item->id = cairn_item_get_id (created);
  g_ptr_array_add (self->local, item);
  g_hash_table_insert (txn->items, g_memdup2 (&item->id, sizeof item->id),
                       g_steal_pointer (&created));
  record (self, "create item %u (id %" G_GUINT64_FORMAT ", %" G_GSIZE_FORMAT " bytes) in %s",
          item->uid, item->id, g_bytes_get_size (item->content), folder->name);
  return TRUE;
}

static gboolean
modify_item (Transaction  *txn,
             Item         *item,
             GError      **error)
{
  CairnTestReplay *self = txn->self;
  g_autoptr(CairnItem) stored = transaction_item (txn, item->id, error);

  if (stored == NULL)
    return FALSE;
  item_new_version (self, item);
  item->settled = FALSE;
  set_content (stored, self->part, item->content);
  record (self, "modify item %u (id %" G_GUINT64_FORMAT ") to version %u, %" G_GSIZE_FORMAT
          " bytes", item->uid, item->id, item->version, g_bytes_get_size (item->content));
  return cairn_transaction_modify_item (txn->transaction, stored, 0, error);
}

static gboolean
change_flags (Transaction  *txn,
              Item         *item,
              GError      **error)
{
  CairnTestReplay *self = txn->self;
  g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
  g_autofree char *added = NULL;
  g_autofree char *removed = NULL;
  guint n = g_rand_int_range (self->rand, 1, 3);

  for (guint i = 0; i < n; i++)
    {
      const char *flag = flag_names[g_rand_int_range (self->rand, 0, G_N_ELEMENTS (flag_names))];

      if (cairn_flags_contains (item->flags, flag))
        cairn_flags_delta_remove (delta, flag);
      else
        cairn_flags_delta_add (delta, flag);
    }
  cairn_flags_delta_apply (delta, item->flags);
  added = cairn_flags_to_string (cairn_flags_delta_get_added (delta));
  removed = cairn_flags_to_string (cairn_flags_delta_get_removed (delta));
  record (self, "flags of item %u (id %" G_GUINT64_FORMAT "): +[%s] -[%s]", item->uid, item->id,
          added, removed);
  return cairn_transaction_change_flags (txn->transaction, item->id, delta, 0, error);
}

static gboolean
move_item (Transaction  *txn,
           Item         *item,
           Folder       *to,
           GError      **error)
{
  CairnTestReplay *self = txn->self;
  g_autofree char *from = folder_path (self, item->folder);
  g_autofree char *path = folder_path (self, to->id);

  if (to->id == item->folder)
    return TRUE;
  record (self, "move item %u (id %" G_GUINT64_FORMAT ") from %s to %s", item->uid, item->id,
          from, path);
  item->folder = to->id;
  item->settled = FALSE;
  return cairn_transaction_move_item (txn->transaction, item->id, to->id, error);
}

static gboolean
delete_item (Transaction  *txn,
             Item         *item,
             GError      **error)
{
  CairnTestReplay *self = txn->self;
  guint64 id = item->id;

  record (self, "delete item %u (id %" G_GUINT64_FORMAT ")", item->uid, id);
  g_ptr_array_remove (self->local, item);
  g_hash_table_remove (txn->items, &id);
  return cairn_transaction_delete_item (txn->transaction, id, error);
}

static char *
new_folder_name (CairnTestReplay *self)
{
  return g_strdup_printf ("f%u", ++self->next_folder);
}

static gboolean
create_folder (Transaction  *txn,
               GError      **error)
{
  CairnTestReplay *self = txn->self;
  const char *mime_types[] = { self->mime_type, NULL };
  Folder *parent = NULL;
  g_autofree char *name = new_folder_name (self);
  g_autofree char *where = NULL;
  g_autoptr(CairnCollection) collection = NULL;
  guint64 id;

  if ((self->features & CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS) &&
      g_rand_boolean (self->rand))
    parent = pick_folder (self, OWN_FOLDER);
  collection = cairn_collection_new (cairn_test_resource_get_id (self->resource),
                                     parent ? parent->id : 0, name);
  cairn_collection_set_content_mime_types (collection, mime_types);
  if (!cairn_transaction_create_collection (txn->transaction, collection, error))
    return FALSE;
  id = cairn_collection_get_id (collection);
  add_folder (self, id, parent ? parent->id : 0, name, FALSE);
  g_hash_table_insert (txn->collections, g_memdup2 (&id, sizeof id), g_steal_pointer (&collection));
  where = folder_path (self, id);
  record (self, "create folder %s (id %" G_GUINT64_FORMAT ")", where, id);
  return TRUE;
}

static gboolean
rename_folder (Transaction  *txn,
               Folder       *folder,
               GError      **error)
{
  CairnTestReplay *self = txn->self;
  g_autoptr(CairnCollection) collection = transaction_collection (txn, folder->id, error);
  g_autofree char *old_path = folder_path (self, folder->id);
  g_autofree char *new_path = NULL;

  if (collection == NULL)
    return FALSE;
  g_free (folder->name);
  folder->name = new_folder_name (self);
  new_path = folder_path (self, folder->id);
  record (self, "rename folder %s (id %" G_GUINT64_FORMAT ") to %s", old_path, folder->id,
          new_path);
  cairn_collection_set_name (collection, folder->name);
  return cairn_transaction_modify_collection (txn->transaction, collection, 0, error);
}

static gboolean
move_folder (Transaction  *txn,
             Folder       *folder,
             GError      **error)
{
  CairnTestReplay *self = txn->self;
  Folder *to = g_rand_boolean (self->rand) ? pick_folder (self, OWN_FOLDER) : NULL;
  guint64 parent = to ? to->id : 0;
  g_autofree char *old_path = folder_path (self, folder->id);
  g_autofree char *new_path = NULL;
  g_autoptr(CairnCollection) collection = NULL;

  if (parent == folder->parent || is_inside (self, parent, folder->id))
    return TRUE;
  /* The cached copy must not write the old parent back later. */
  collection = transaction_collection (txn, folder->id, error);
  if (collection == NULL)
    return FALSE;
  cairn_collection_set_parent_id (collection, parent);
  folder->parent = parent;
  new_path = folder_path (self, folder->id);
  record (self, "move folder %s (id %" G_GUINT64_FORMAT ") to %s", old_path, folder->id,
          new_path);
  return cairn_transaction_move_collection (txn->transaction, folder->id, parent, error);
}

static gboolean
delete_folder (Transaction  *txn,
               Folder       *folder,
               GError      **error)
{
  CairnTestReplay *self = txn->self;
  g_autofree char *path = folder_path (self, folder->id);
  guint64 id = folder->id;

  record (self, "delete folder %s (id %" G_GUINT64_FORMAT ")", path, id);
  remove_folder (self, id);
  return cairn_transaction_delete_collection (txn->transaction, id, error);
}

/* Whether folder @id or one inside it holds an item whose removal could
 * be replayed before its move or edit: the store may log one removal for
 * both, from where the item was, and what a resource does with a removal
 * of an item another program filed elsewhere meanwhile is its own
 * choice, which the model does not make. */
static gboolean
holds_moved_away (CairnTestReplay *self,
                  guint64          id)
{
  for (guint i = 0; i < self->local->len; i++)
    {
      Item *item = g_ptr_array_index (self->local, i);

      if (item->moved_away && is_inside (self, item->folder, id))
        return TRUE;
    }
  return FALSE;
}

/* One random local change. */
static gboolean
local_change (Transaction  *txn,
              GError      **error)
{
  CairnTestReplay *self = txn->self;
  gboolean flags = self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS;
  gboolean rename = self->features & CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS;
  gboolean move = self->features & CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS;
  Item *item = g_steal_pointer (&txn->adopted);
  Folder *own = pick_folder (self, OWN_FOLDER);
  guint choice = g_rand_int_range (self->rand, 0, 100);

  if (item == NULL)
    item = pick_item (self, self->local);

  if (item != NULL && choice < 20)
    return modify_item (txn, item, error);
  if (item != NULL && flags && choice < 32)
    return change_flags (txn, item, error);
  if (item != NULL && !item->moved_away && choice >= 32 && choice < 46)
    return move_item (txn, item, pick_folder (self, ANY_FOLDER), error);
  if (item != NULL && !item->moved_away && choice >= 46 && choice < 58)
    return delete_item (txn, item, error);
  if (choice >= 58 && choice < 62)
    return create_folder (txn, error);
  if (own != NULL && rename && choice >= 62 && choice < 64)
    return rename_folder (txn, own, error);
  if (own != NULL && move && choice >= 64 && choice < 66)
    return move_folder (txn, own, error);
  if (own != NULL && choice == 66 && !holds_moved_away (self, own->id))
    return delete_folder (txn, own, error);
  return create_item (txn, error);
}

static gboolean
local_changes (CairnTransaction  *transaction,
               gpointer           user_data,
               GError           **error)
{
  Transaction *txn = user_data;

  txn->transaction = transaction;
  for (guint i = 0; i < txn->n_operations; i++)
    if (!local_change (txn, error))
      return FALSE;
  return TRUE;
}

/* Syncs until a sync succeeds: afterwards the store holds every item of
 * another program's as it is. Outside any write transaction. */
static gboolean
sync_all_stored (CairnTestReplay  *self,
                 GError          **error)
{
  g_autoptr(GError) sync_error = NULL;

  for (guint attempt = 0; attempt < SYNC_ATTEMPTS; attempt++)
    {
      g_clear_error (&sync_error);
      record (self, "synchronize, for another program's items");
      if (cairn_test_resource_synchronize_sync (self->resource, 0, &sync_error))
        {
          for (guint i = 0; i < self->external->len; i++)
            ((Item *) g_ptr_array_index (self->external, i))->stored = TRUE;
          return TRUE;
        }
      record (self, "synchronize failed: %s", sync_error->message);
    }
  g_propagate_prefixed_error (error, g_steal_pointer (&sync_error),
                              "%u syncs in a row failed: ", SYNC_ATTEMPTS);
  return FALSE;
}

/* Mail arrives, and then the user reads, files or deletes it: an item of
 * another program's, once the store holds it as that program left it,
 * becomes one that only local changes touch, under its store id. Online,
 * a sync brings the store up to date first; offline, or with the control
 * service stopped, only an item the store is known to hold is taken, so
 * that what a seed does never depends on timing. Returns %NULL with
 * @error unset when there is no item to take. */
static Item *
adopt_item (CairnTestReplay  *self,
            GError          **error)
{
  Item *item = pick_item (self, self->external);
  gboolean can_sync = self->online && !self->control_stopped;
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autoptr(CairnItem) stored = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autofree char *path = NULL;
  CairnPart *part;
  guint index;

  /* Another program may take its own folders away with what they hold. */
  if (item == NULL || !((Folder *) g_hash_table_lookup (self->folders, &item->folder))->fixed ||
      (!item->stored && !can_sync))
    return NULL;
  if (!item->stored && !sync_all_stored (self, error))
    return NULL;
  path = folder_path (self, item->folder);
  cairn_fetch_scope_add_part (scope, self->part);
  stored = cairn_store_find_item_by_remote_id (self->client, item->folder, item->name, scope,
                                               error);
  if (stored == NULL)
    {
      g_prefix_error (error, "The store lost %s/%s (item %u): ", path, item->name, item->uid);
      return NULL;
    }
  part = cairn_item_get_part (stored, self->part);
  /* A resource may fetch the content later, as IMAP's does. */
  if (part != NULL && cairn_part_get_storage (part) != CAIRN_PART_STORAGE_MISSING)
    content = _cairn_test_read_part (self->client, cairn_item_get_id (stored), self->part);
  if (content != NULL && !g_bytes_equal (content, item->content))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The store holds another content of %s/%s (item %u, %" G_GSIZE_FORMAT
                   " bytes, version %u): %" G_GSIZE_FORMAT " bytes", path, item->name, item->uid,
                   g_bytes_get_size (item->content), item->version, g_bytes_get_size (content));
      return NULL;
    }
  if ((self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS) &&
      !cairn_flags_equal (cairn_item_get_flags (stored), item->flags))
    {
      g_autofree char *expected = cairn_flags_to_string (item->flags);
      g_autofree char *found = cairn_flags_to_string (cairn_item_get_flags (stored));

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The store holds %s/%s (item %u) with flags [%s], not [%s]", path, item->name,
                   item->uid, found, expected);
      return NULL;
    }

  item->id = cairn_item_get_id (stored);
  item->settled = TRUE;
  record (self, "item %u, %s/%s of another program's, is local from now on (id %"
          G_GUINT64_FORMAT ")", item->uid, path, item->name, item->id);
  g_clear_pointer (&item->name, g_free);
  g_ptr_array_find (self->external, item, &index);
  g_ptr_array_add (self->local, g_ptr_array_steal_index (self->external, index));
  return item;
}

static gboolean
local_transaction (CairnTestReplay  *self,
                   GError          **error)
{
  Transaction txn = { self, NULL, 1, NULL, NULL, NULL };
  GError *adopt_error = NULL;
  gboolean ok;

  if (g_rand_int_range (self->rand, 0, 100) < ADOPT_PERCENT)
    {
      txn.adopted = adopt_item (self, &adopt_error);
      if (adopt_error != NULL)
        {
          g_propagate_error (error, adopt_error);
          return FALSE;
        }
    }

  /* Some transactions hold several changes: an edit and a move of one
   * item in one transaction must arrive as both. */
  if (g_rand_int_range (self->rand, 0, 100) < 15)
    txn.n_operations = g_rand_int_range (self->rand, 2, 5);
  txn.items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  txn.collections = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  if (txn.n_operations > 1)
    record (self, "a transaction of %u changes:", txn.n_operations);
  ok = cairn_store_write_sync (self->client, local_changes, &txn, NULL, NULL, error);
  /* The model chose an entity that it holds: no local change removed
   * it, so a sync or the resource did. */
  if (!ok && g_error_matches (*error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND))
    g_prefix_error (error, "The store lost what the model holds: ");
  g_hash_table_unref (txn.items);
  g_hash_table_unref (txn.collections);
  return ok;
}

/* Another program */

/* Another program's own folders: created, renamed and removed at the top
 * level, a few at a time, with only its items in them. */
static gboolean
external_folder_change (CairnTestReplay  *self,
                        GError          **error)
{
  g_autoptr(GPtrArray) folders = list_folders (self, EXTERNAL_FOLDER);
  Folder *folder = pick_folder (self, EXTERNAL_FOLDER);
  guint choice = g_rand_int_range (self->rand, 0, 100);
  g_autofree char *name = NULL;

  if (folder == NULL || (choice < 40 && folders->len < MAX_EXTERNAL_FOLDERS))
    {
      name = g_strdup_printf ("x%u", ++self->next_external_folder);
      record (self, "another program creates folder %s", name);
      if (!cairn_test_backend_add_folder (self->backend, name, error))
        return FALSE;
      folder = add_folder (self, EXTERNAL_FOLDER_IDS + self->next_external_folder, 0, name,
                           FALSE);
      folder->external = TRUE;
      return TRUE;
    }
  if (choice < 70)
    {
      name = g_strdup_printf ("x%u", ++self->next_external_folder);
      record (self, "another program renames folder %s to %s", folder->name, name);
      if (!cairn_test_backend_rename_folder (self->backend, folder->name, name, error))
        return FALSE;
      g_free (folder->name);
      folder->name = g_steal_pointer (&name);
      return TRUE;
    }
  record (self, "another program removes folder %s", folder->name);
  if (!cairn_test_backend_remove_folder (self->backend, folder->name, error))
    return FALSE;
  remove_folder (self, folder->id);
  return TRUE;
}

/* Another program files an item of its own in another of its folders or
 * a fixed one. */
static gboolean
external_move (CairnTestReplay  *self,
               Item             *item,
               GError          **error)
{
  Folder *to = pick_folder (self, OTHERS_FOLDER);
  g_autofree char *from = folder_path (self, item->folder);
  g_autofree char *path = folder_path (self, to->id);
  char *name;

  if (to->id == item->folder)
    return TRUE;
  name = cairn_test_backend_move_item (self->backend, from, item->name, path, error);
  if (name == NULL)
    return FALSE;
  record (self, "another program moves %s/%s (item %u) to %s/%s", from, item->name, item->uid,
          path, name);
  g_free (item->name);
  item->name = name;
  item->folder = to->id;
  item->stored = FALSE;
  return TRUE;
}

/* Another program marks an item of its own, as a mail client marks a
 * message read. */
static gboolean
external_flags (CairnTestReplay  *self,
                Item             *item,
                GError          **error)
{
  g_autoptr(CairnFlags) flags = random_flags (self);
  g_autofree char *path = folder_path (self, item->folder);
  g_autofree char *names = cairn_flags_to_string (flags);

  record (self, "another program sets the flags of %s/%s (item %u) to [%s]", path, item->name,
          item->uid, names);
  if (!cairn_test_backend_set_flags (self->backend, path, item->name, flags, error))
    return FALSE;
  cairn_flags_free (item->flags);
  item->flags = g_steal_pointer (&flags);
  item->stored = FALSE;
  return TRUE;
}

static gboolean
flag_item (CairnTransaction  *transaction,
           gpointer           user_data,
           GError           **error)
{
  Transaction *txn = user_data;

  txn->transaction = transaction;
  return change_flags (txn, txn->adopted, error);
}

/* Moves the item to the destination, or without one edits it. */
static gboolean
preempted_change (CairnTransaction  *transaction,
                  gpointer           user_data,
                  GError           **error)
{
  Transaction *txn = user_data;

  txn->transaction = transaction;
  if (txn->destination != NULL)
    return move_item (txn, txn->adopted, txn->destination, error);
  return modify_item (txn, txn->adopted, error);
}

/* A local item the backend holds as the store does, flags aside, in a
 * fixed folder, whose path the store and the backend agree on; %NULL if
 * there is none. */
static Item *
pick_settled (CairnTestReplay *self)
{
  g_autoptr(GPtrArray) settled = g_ptr_array_new ();

  for (guint i = 0; i < self->local->len; i++)
    {
      Item *candidate = g_ptr_array_index (self->local, i);
      Folder *folder = g_hash_table_lookup (self->folders, &candidate->folder);

      if (candidate->settled && folder->fixed)
        g_ptr_array_add (settled, candidate);
    }
  return pick_item (self, settled);
}

/* Another program moves @item, a local one, to @to; returns its name
 * there. */
static char *
external_move_local (CairnTestReplay  *self,
                     Item             *item,
                     Folder           *to,
                     const char       *why,
                     GError          **error)
{
  g_autoptr(CairnItem) stored = cairn_store_get_item (self->client, item->id, NULL, error);
  g_autofree char *from = NULL;
  g_autofree char *path = NULL;
  char *name;

  if (stored == NULL)
    {
      g_prefix_error (error, "The store lost item %u (id %" G_GUINT64_FORMAT "): ", item->uid,
                      item->id);
      return NULL;
    }
  from = folder_path (self, item->folder);
  path = folder_path (self, to->id);
  name = cairn_test_backend_move_item (self->backend, from, cairn_item_get_remote_id (stored),
                                       path, error);
  if (name != NULL)
    record (self, "another program moves %s/%s (item %u, id %" G_GUINT64_FORMAT ") to %s/%s%s",
            from, cairn_item_get_remote_id (stored), item->uid, item->id, path, name, why);
  return name;
}

/* The user flags a message while offline, and before the flags are
 * replayed another client files it: an item settled in a fixed folder
 * has its flags changed locally, then goes to another program, which
 * moves it. The flag change follows it there, where the next sync finds
 * it as an item of another program's. Offline or with the control
 * service stopped only, so that no replay meets the move half done.
 * Returns %FALSE with @error unset when no item can go. */
static gboolean
external_take_local (CairnTestReplay  *self,
                     GError          **error)
{
  Folder *to;
  Item *item;
  char *name;
  guint index;

  if (self->online && !self->control_stopped)
    return FALSE;
  to = pick_folder (self, OTHERS_FOLDER);
  item = pick_settled (self);
  if (item == NULL || to == NULL || to->id == item->folder)
    return FALSE;
  if (self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS)
    {
      Transaction txn = { self, NULL, 1, NULL, NULL, item };

      if (!cairn_store_write_sync (self->client, flag_item, &txn, NULL, NULL, error))
        return FALSE;
    }
  name = external_move_local (self, item, to, ": it is another program's from now on", error);
  if (name == NULL)
    return FALSE;
  item->id = 0;
  item->name = name;
  item->folder = to->id;
  item->stored = FALSE;
  item->unreplayed = TRUE;
  g_ptr_array_find (self->local, item, &index);
  g_ptr_array_add (self->external, g_ptr_array_steal_index (self->local, index));
  return TRUE;
}

/* With CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED: while offline, another
 * client files a message in a fixed folder, which the other program does
 * not remove with the item meanwhile, and the user files it elsewhere or
 * edits it. The local move takes it from there; the edit puts the new
 * content in the item's folder and removes the old one from there. The
 * item stays the test's. Offline or with the control service stopped
 * only, as for external_take_local(). */
static gboolean
external_preempt (CairnTestReplay  *self,
                  GError          **error)
{
  Item *item = pick_settled (self);
  Folder *to = pick_folder (self, FIXED_FOLDER);
  gboolean edit = g_rand_boolean (self->rand);
  Transaction txn = { self, NULL, 1, NULL, NULL, item,
                      edit ? NULL : pick_folder (self, ANY_FOLDER) };
  g_autofree char *name = NULL;
  gboolean ok;

  if ((self->online && !self->control_stopped) || item == NULL || to == NULL ||
      to->id == item->folder ||
      (!edit && (txn.destination == NULL || txn.destination->id == item->folder)))
    return FALSE;
  /* The other program's move first, from where the backend has it. */
  name = external_move_local (self, item, to, "", error);
  if (name == NULL)
    return FALSE;
  txn.items = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  ok = cairn_store_write_sync (self->client, preempted_change, &txn, NULL, NULL, error);
  g_hash_table_unref (txn.items);
  item->moved_away = ok;
  return ok;
}

static gboolean
external_change (CairnTestReplay  *self,
                 GError          **error)
{
  Item *item;
  guint choice;
  gboolean touchable;
  g_autofree char *path = NULL;
  Folder *folder;

  if (cairn_test_backend_can_change_folders (self->backend) &&
      g_rand_int_range (self->rand, 0, 100) < EXTERNAL_FOLDER_PERCENT)
    return external_folder_change (self, error);
  item = pick_item (self, self->external);
  choice = g_rand_int_range (self->rand, 0, 100);
  /* Its flags as the local change left them once that is replayed, which
   * happens at a time of its own: until then, nothing to change them. */
  touchable = item != NULL && !item->unreplayed;

  if (touchable && choice < 30 && cairn_test_backend_can_edit (self->backend))
    {
      path = folder_path (self, item->folder);
      item_new_version (self, item);
      item->stored = FALSE;
      record (self, "another program edits %s/%s (item %u) to version %u", path, item->name,
              item->uid, item->version);
      return cairn_test_backend_edit_item (self->backend, path, item->name, item->content, error);
    }
  if (item != NULL && choice >= 50 && choice < 70 && cairn_test_backend_can_move (self->backend))
    return external_move (self, item, error);
  if (touchable && choice >= 70 && choice < 85 &&
      (self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS) &&
      cairn_test_backend_can_set_flags (self->backend))
    return external_flags (self, item, error);
  if (item != NULL && choice >= 30 && choice < 50)
    {
      path = folder_path (self, item->folder);
      record (self, "another program removes %s/%s (item %u)", path, item->name, item->uid);
      if (!cairn_test_backend_remove_item (self->backend, path, item->name, error))
        return FALSE;
      g_ptr_array_remove (self->external, item);
      return TRUE;
    }
  if (choice >= 85 && choice < 97 && cairn_test_backend_can_move (self->backend))
    {
      GError *take_error = NULL;
      gboolean preempt = (self->features & CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED) &&
                         g_rand_boolean (self->rand);

      if (preempt ? external_preempt (self, &take_error)
                  : external_take_local (self, &take_error))
        return TRUE;
      if (take_error != NULL)
        {
          g_propagate_error (error, take_error);
          return FALSE;
        }
    }

  folder = pick_folder (self, OTHERS_FOLDER);
  if (folder == NULL)
    return TRUE;
  item = g_new0 (Item, 1);
  item->uid = ++self->next_uid;
  item->folder = folder->id;
  item->flags = random_flags (self);
  item_new_version (self, item);
  path = folder_path (self, item->folder);
  item->name = cairn_test_backend_add_item (self->backend, path, item->content,
                                            (self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS)
                                            ? item->flags : NULL, error);
  if (item->name == NULL)
    {
      item_free (item);
      return FALSE;
    }
  record (self, "another program adds %s/%s (item %u)", path, item->name, item->uid);
  g_ptr_array_add (self->external, item);
  return TRUE;
}

/* The resource */

static gboolean
set_online (CairnTestReplay  *self,
            gboolean          online,
            GError          **error)
{
  self->online = online;
  record (self, "go %s", online ? "online" : "offline");
  return cairn_test_resource_set_online (self->resource, online, error);
}

/* A started resource is online: the model's state is set again. */
static gboolean
restarted (CairnTestReplay  *self,
           GError          **error)
{
  if (!cairn_test_resource_restart (self->resource, error))
    return FALSE;
  return self->online || cairn_test_resource_set_online (self->resource, FALSE, error);
}

/* Under a control service: it is stopped cleanly or killed, and until it
 * starts again, only local changes and another program's happen. */
static gboolean
stop_control (CairnTestReplay  *self,
              gboolean          kill,
              GError          **error)
{
  CairnTestControl *control = cairn_test_resource_get_control (self->resource);

  record (self, "%s cairn-control", kill ? "kill (SIGKILL)" : "stop (SIGTERM)");
  self->control_stopped = TRUE;
  return kill ? cairn_test_control_kill (control, error) : cairn_test_control_stop (control, error);
}

/* It starts the instance again, online: it keeps no wanted state. */
static gboolean
start_control (CairnTestReplay  *self,
               GError          **error)
{
  record (self, "start cairn-control");
  self->control_stopped = FALSE;
  return restarted (self, error);
}

static gboolean
step_control_stopped (CairnTestReplay  *self,
                      guint             choice,
                      GError          **error)
{
  if (choice < 50)
    return external_change (self, error);
  if (choice < 150)
    return start_control (self, error);
  return local_transaction (self, error);
}

static gboolean
step (CairnTestReplay  *self,
      GError          **error)
{
  CairnTestResourceMode mode = cairn_test_resource_get_mode (self->resource);
  gboolean killable = mode != CAIRN_TEST_RESOURCE_IN_PROCESS;
  gboolean controlled = cairn_test_resource_get_control (self->resource) != NULL;
  guint choice = g_rand_int_range (self->rand, 0, 1000);

  self->step++;
  if (self->control_stopped)
    return step_control_stopped (self, choice, error);
  if (choice < 50)
    return external_change (self, error);
  if (choice < 75)
    return set_online (self, !self->online, error);
  if (choice < 100 && !self->online)
    return local_transaction (self, error);
  if (choice < 90)
    {
      g_autoptr(GError) sync_error = NULL;

      record (self, "synchronize");
      /* A sync may fail while local changes move things under it; only
       * the last one counts. */
      if (!cairn_test_resource_synchronize_sync (self->resource, 0, &sync_error))
        record (self, "synchronize failed: %s", sync_error->message);
      return TRUE;
    }
  if (choice < 100)
    {
      record (self, "wait until replayed");
      if (!cairn_test_resource_wait_replayed (self->resource, WAIT_MS, error))
        return FALSE;
      for (guint i = 0; i < self->local->len; i++)
        {
          Item *item = g_ptr_array_index (self->local, i);

          item->settled = TRUE;
          item->moved_away = FALSE;
        }
      for (guint i = 0; i < self->external->len; i++)
        ((Item *) g_ptr_array_index (self->external, i))->unreplayed = FALSE;
      return TRUE;
    }
  if (choice < 110 && killable)
    {
      record (self, "kill the resource (SIGKILL) and start it again");
      cairn_test_resource_kill (self->resource);
      return restarted (self, error);
    }
  if (choice < 120)
    {
      record (self, "stop the resource and start it again");
      return restarted (self, error);
    }
  if (choice < 140 && controlled)
    return stop_control (self, choice >= 135, error);
  return local_transaction (self, error);
}

static gboolean
check_failed_changes (CairnTestResource  *resource,
                      GString            *report,
                      GError            **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) changes = NULL;
  GVariantIter iter;
  guint64 id, entity;
  guint operation, kind;
  const char *reason;

  reply = cairn_test_resource_call_sync (resource, CAIRN_RESOURCE_INTERFACE, "ListFailedChanges",
                                         NULL, G_VARIANT_TYPE ("(a(tuuts))"), error);
  if (reply == NULL)
    return FALSE;
  changes = g_variant_get_child_value (reply, 0);
  if (g_variant_n_children (changes) == 0)
    return TRUE;
  g_string_append_printf (report, "failed changes, none expected:\n");
  g_variant_iter_init (&iter, changes);
  while (g_variant_iter_next (&iter, "(tuut&s)", &id, &operation, &kind, &entity, &reason))
    g_string_append_printf (report, "  change %" G_GUINT64_FORMAT ": operation %u on %s %"
                            G_GUINT64_FORMAT ": %s\n", id, operation,
                            kind == CAIRN_ENTITY_ITEM ? "item" : "collection", entity, reason);
  return TRUE;
}

/* Backend, store and, if given, the model: every pair must agree. */
static gboolean
compare_all (CairnTestResource        *resource,
             CairnTestBackend         *backend,
             CairnTestSnapshot        *model,
             const char               *part,
             CairnTestSnapshotCompare  backend_compare,
             GString                  *report,
             GError                  **error)
{
  g_autoptr(CairnStore) client = NULL;
  g_autoptr(CairnTestSnapshot) stored = NULL;
  g_autoptr(CairnTestSnapshot) backend_snapshot = NULL;
  g_autofree char *backend_store = NULL;
  g_autofree char *model_store = NULL;
  g_autofree char *model_backend = NULL;

  client = cairn_test_resource_open_client_store (resource, error);
  if (client == NULL)
    return FALSE;
  stored = cairn_test_snapshot_new_from_store (client, cairn_test_resource_get_id (resource),
                                               part, error);
  if (stored == NULL)
    return FALSE;
  backend_snapshot = cairn_test_backend_read (backend, error);
  if (backend_snapshot == NULL)
    return FALSE;
  backend_store = cairn_test_snapshot_compare (backend_snapshot, "backend", stored, "store",
                                               backend_compare |
                                               CAIRN_TEST_SNAPSHOT_COMPARE_NAMES);
  if (backend_store != NULL)
    g_string_append_printf (report, "backend and store differ:\n%s", backend_store);
  if (model == NULL)
    return TRUE;
  model_store = cairn_test_snapshot_compare (model, "model", stored, "store",
                                             CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS |
                                             CAIRN_TEST_SNAPSHOT_COMPARE_NAMES);
  if (model_store != NULL)
    g_string_append_printf (report, "model and store differ:\n%s", model_store);
  model_backend = cairn_test_snapshot_compare (model, "model", backend_snapshot, "backend",
                                               backend_compare |
                                               CAIRN_TEST_SNAPSHOT_COMPARE_NAMES);
  if (model_backend != NULL)
    g_string_append_printf (report, "model and backend differ:\n%s", model_backend);
  return TRUE;
}

/* Online, replayed, synchronized, replayed again. */
static gboolean
settle (CairnTestResource  *resource,
        GError            **error)
{
  return cairn_test_resource_set_online (resource, TRUE, error) &&
         cairn_test_resource_wait_replayed (resource, WAIT_MS, error) &&
         cairn_test_resource_synchronize_sync (resource, 0, error) &&
         cairn_test_resource_wait_replayed (resource, WAIT_MS, error);
}

/**
 * cairn_test_replay_check_backend:
 * @resource: a started resource
 * @backend: its backend
 * @part: the part that holds an item's content
 * @what: what to compare beyond folders, contents and names
 * @error: return location for an error
 *
 * Brings @resource online, waits until it replayed every change,
 * synchronizes and waits again; then the backend and the store must agree
 * (folders, item contents, names as remote ids, and what @what adds), and
 * the resource must have no failed change. The check a #CairnTestReplay
 * ends with, without the model, for tests of one sequence.
 *
 * Returns: %TRUE if they agree, else %FALSE with @error saying how not
 *
 * Since: 0.1
 */
gboolean
cairn_test_replay_check_backend (CairnTestResource         *resource,
                                 CairnTestBackend          *backend,
                                 const char                *part,
                                 CairnTestSnapshotCompare   what,
                                 GError                   **error)
{
  g_autoptr(GString) report = g_string_new (NULL);

  g_return_val_if_fail (CAIRN_IS_TEST_RESOURCE (resource), FALSE);
  g_return_val_if_fail (CAIRN_IS_TEST_BACKEND (backend), FALSE);

  if (!settle (resource, error) ||
      !compare_all (resource, backend, NULL, part, what, report, error) ||
      !check_failed_changes (resource, report, error))
    return FALSE;
  if (report->len == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", report->str);
  return FALSE;
}

static gboolean
finish (CairnTestReplay  *self,
        GString          *report,
        GError          **error)
{
  g_autoptr(CairnTestSnapshot) model = model_snapshot (self);
  CairnTestSnapshotCompare what = (self->features & CAIRN_TEST_REPLAY_FEATURES_FLAGS)
                                  ? CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS
                                  : CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT;

  if (self->control_stopped && !start_control (self, error))
    return FALSE;
  self->step++;
  record (self, "go online, wait until replayed, synchronize, compare");
  self->online = TRUE;
  return settle (self->resource, error) &&
         compare_all (self->resource, self->backend, model, self->part, what, report, error) &&
         check_failed_changes (self->resource, report, error);
}

static gboolean
run (CairnTestReplay  *self,
     guint             n_operations,
     GString          *report,
     GError          **error)
{
  self->client = cairn_test_resource_open_client_store (self->resource, error);
  if (self->client == NULL || !bootstrap (self, error))
    return FALSE;
  /* The start must agree already, or nothing after it means much. */
  if (!compare_all (self->resource, self->backend, NULL, self->part,
                    CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT, report, error))
    return FALSE;
  if (report->len > 0)
    {
      g_string_prepend (report, "before the first operation:\n");
      return TRUE;
    }
  while (self->step < n_operations)
    if (!step (self, error))
      return FALSE;
  return finish (self, report, error);
}

/**
 * cairn_test_replay_run:
 * @self: a #CairnTestReplay
 * @seed: the seed of the random sequence
 * @n_operations: how many operations to make
 * @error: return location for an error
 *
 * Runs one sequence, ending with the comparison of backend, store and
 * model, and the check that no change failed. Runs of the same seed make
 * the same operations.
 *
 * Returns: %TRUE if everything agreed; else %FALSE with @error holding the
 *   seed, the differences or the error met, and every operation made
 *
 * Since: 0.1
 */
gboolean
cairn_test_replay_run (CairnTestReplay  *self,
                       guint32           seed,
                       guint             n_operations,
                       GError          **error)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *header = NULL;

  g_return_val_if_fail (CAIRN_IS_TEST_REPLAY (self), FALSE);

  reset (self);
  self->seed = seed;
  self->rand = g_rand_new_with_seed (seed);
  self->folders = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                         (GDestroyNotify) folder_free);
  self->local = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  self->external = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  self->log = g_queue_new ();
  self->next_uid = 0;
  self->next_folder = 0;
  self->next_external_folder = 0;
  self->online = TRUE;
  self->control_stopped = FALSE;
  self->step = 0;

  if (!run (self, n_operations, report, &local_error))
    g_string_append_printf (report, "at operation %u: %s\n", self->step, local_error->message);
  if (report->len == 0)
    return TRUE;

  /* A test may run one resource type both ways, under one instance id. */
  header = g_strdup_printf ("Replay seed %u of %s%s (CAIRN_TEST_SEED=%u replays it):\n", seed,
                            cairn_test_resource_get_id (self->resource),
                            cairn_test_resource_get_control (self->resource) != NULL
                            ? " under cairn-control" : "", seed);
  g_string_prepend (report, header);
  /* All of them: what went wrong may come from any operation before. */
  g_string_append_printf (report, "operations:\n");
  for (GList *l = self->log->head; l != NULL; l = l->next)
    g_string_append_printf (report, "  %s\n", (const char *) l->data);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", report->str);
  return FALSE;
}

/**
 * cairn_test_replay_get_seeds:
 * @defaults: (array length=n_defaults): the seeds to run in CI
 * @n_defaults: their number
 *
 * The seeds to run: the one in `CAIRN_TEST_SEED` if it is set (to replay
 * a failed run), else @defaults.
 *
 * Returns: (transfer full) (element-type guint32): the seeds
 *
 * Since: 0.1
 */
GArray *
cairn_test_replay_get_seeds (const guint32 *defaults,
                             gsize          n_defaults)
{
  GArray *seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
  const char *value = g_getenv ("CAIRN_TEST_SEED");

  if (value != NULL && *value != '\0')
    {
      guint32 seed = strtoul (value, NULL, 10);

      g_array_append_val (seeds, seed);
    }
  else
    g_array_append_vals (seeds, defaults, n_defaults);
  return seeds;
}

/**
 * cairn_test_replay_get_n_operations:
 * @n_default: how many operations a run makes in CI
 *
 * The length of a run: `CAIRN_TEST_REPLAY_OPERATIONS` if it is set, for a
 * longer run by hand, else @n_default.
 *
 * Returns: the number of operations
 *
 * Since: 0.1
 */
guint
cairn_test_replay_get_n_operations (guint n_default)
{
  const char *value = g_getenv ("CAIRN_TEST_REPLAY_OPERATIONS");

  if (value != NULL && *value != '\0')
    return strtoul (value, NULL, 10);
  return n_default;
}
