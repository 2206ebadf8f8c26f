/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The store benchmark: mail-like items written, listed, flagged and read
 * back from the change log through the public API, compared with plain
 * prepared SQLite statements doing the same work on the same schema in the
 * same run, which is the physical limit.
 *
 * Usage: cairn-bench-store [ITEM-COUNT]   (default 100000)
 *
 * Every measurement runs once, as it comes: nothing is warmed up
 * artificially. The listings vary by about 5% from run to run, too little
 * to need a best of three. Prints `name: value` lines; the raw_ lines are
 * plain SQLite doing the same work in the same run. */

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <glib/gstdio.h>

#include <cairn/cairn.h>

#include "cairn-bench-common.h"
#include "cairn-bench-raw.h"

#define DEFAULT_ITEM_COUNT 100000
#define BATCH_SIZE 1000
#define FLAG_DELTA_COUNT 10000
#define MIME_TYPE "message/rfc822"
#define RESOURCE "cairn_imap_resource_0"

/* Mail data */

static const char * const first_names[] = {
  "Alice", "Bernd", "Chiara", "Dmitri", "Emma", "Farid", "Greta", "Hiroshi",
  "Ines", "Jonas", "Katarzyna", "Lars", "Maite", "Nils", "Olga", "Pedro",
};

static const char * const last_names[] = {
  "Andersson", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Gonzalez",
  "Hoffmann", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak",
};

static const char * const domains[] = {
  "example.org", "mail.example.com", "lists.example.net", "corp.example.de",
  "university.example.edu",
};

static const char * const subjects[] = {
  "Quarterly planning notes and the open questions from Tuesday",
  "Invoice for the hosting contract, due at the end of the month",
  "[cairn-devel] Patch: make the change log collection incremental",
  "Meeting minutes: infrastructure review, action items attached",
  "Your order has shipped and will arrive within three days",
  "Holiday schedule for the support rota, please confirm your slots",
  "Build failure on the nightly runner (nightly job), logs inside",
};

static const char * const weekdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char * const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

typedef struct
{
  char remote_id[16];
  char *gid;
  guint64 size;
  GBytes *envelope;
  const char *flags[4];   /* sorted as CairnFlags keeps them, NULL-terminated */
} Mail;

static void
mail_clear (Mail *mail)
{
  g_clear_pointer (&mail->gid, g_free);
  g_clear_pointer (&mail->envelope, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Mail, mail_clear)

/* A cheap deterministic mix, so every run writes the same mails. */
static guint32
mix (guint32 n)
{
  n ^= n >> 16;
  n *= 0x7feb352d;
  n ^= n >> 15;
  n *= 0x846ca68b;
  n ^= n >> 16;
  return n;
}

/* Fills @mail with the n-th message: an IMAP UID as remote id, its
 * Message-ID as GID, an RFC 822 size and an envelope of about 400 bytes
 * (date, from, reply-to, to, cc, subject, message id, in-reply-to).
 * Flags: \Seen on six mails in seven, \Flagged on one in ten, $label1 on
 * one in six and on every unread, unflagged mail, so each has 1 to 3. */
static void
mail_init (Mail  *mail,
           guint  n)
{
  guint32 h = mix (n + 1);
  const char *from_first = first_names[h % G_N_ELEMENTS (first_names)];
  const char *from_last = last_names[(h >> 4) % G_N_ELEMENTS (last_names)];
  const char *from_domain = domains[(h >> 8) % G_N_ELEMENTS (domains)];
  const char *to_first = first_names[(h >> 12) % G_N_ELEMENTS (first_names)];
  const char *to_last = last_names[(h >> 16) % G_N_ELEMENTS (last_names)];
  const char *to_domain = domains[(h >> 20) % G_N_ELEMENTS (domains)];
  g_autofree char *subject = NULL;
  g_autofree char *reply = NULL;
  char *text;
  gboolean seen = n % 7 != 0;
  gboolean flagged = n % 10 == 3;
  gboolean label = n % 6 == 1 || (!seen && !flagged);
  guint i = 0;

  g_snprintf (mail->remote_id, sizeof mail->remote_id, "%u", n + 1);
  mail->gid = g_strdup_printf ("<%08x.%u.%s@%s>", h, n + 1, from_last, from_domain);
  mail->size = 1800 + h % 120000;

  subject = g_strdup_printf ("%s (#%u)", subjects[(h >> 24) % G_N_ELEMENTS (subjects)], n + 1);

  if (n % 3 != 0)
    reply = g_strdup_printf ("In-Reply-To: <%08x.%u.%s@%s>\r\n", mix (n), n, to_last, to_domain);

  text = g_strdup_printf ("Date: %s, %02u %s 2023 %02u:%02u:%02u +0100\r\n"
                          "From: \"%s %s\" <%s.%s@%s>\r\n"
                          "Reply-To: \"%s %s\" <%s.%s@%s>\r\n"
                          "To: \"%s %s\" <%s.%s@%s>\r\n"
                          "Cc: \"Team\" <team-%u@lists.example.net>\r\n"
                          "Subject: %s%s\r\n"
                          "Message-ID: %s\r\n"
                          "%s",
                          weekdays[n % 7], 1 + h % 28, months[(h >> 5) % 12],
                          h % 24, (h >> 3) % 60, (h >> 9) % 60,
                          from_first, from_last, from_first, from_last, from_domain,
                          from_first, from_last, from_first, from_last, from_domain,
                          to_first, to_last, to_first, to_last, to_domain,
                          h % 97,
                          reply ? "Re: " : "", subject,
                          mail->gid,
                          reply ? reply : "");
  mail->envelope = g_bytes_new_take (text, strlen (text));

  /* "$" sorts before "\", and "\Flagged" before "\Seen". */
  if (label)
    mail->flags[i++] = "$label1";
  if (flagged)
    mail->flags[i++] = CAIRN_FLAG_FLAGGED;
  if (seen)
    mail->flags[i++] = CAIRN_FLAG_SEEN;
  mail->flags[i] = NULL;
}

/* Helpers */

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

static double
elapsed_ms (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* Ingest through the public API */

typedef struct
{
  guint64 collection_id;
  guint first;
  guint count;
  guint64 *ids;
} IngestBatch;

static gboolean
ingest_batch (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  IngestBatch *batch = user_data;

  for (guint n = batch->first; n < batch->first + batch->count; n++)
    {
      g_auto(Mail) mail = { 0 };
      g_autoptr(CairnItem) item = cairn_item_new (MIME_TYPE);
      g_autoptr(CairnPart) envelope = NULL;
      g_autoptr(CairnFlags) flags = NULL;

      mail_init (&mail, n);
      cairn_item_set_collection_id (item, batch->collection_id);
      cairn_item_set_remote_id (item, mail.remote_id);
      cairn_item_set_gid (item, mail.gid);
      cairn_item_set_size (item, mail.size);
      envelope = cairn_part_new_inline (CAIRN_PART_ENVELOPE, mail.envelope);
      cairn_item_set_part (item, envelope);
      flags = cairn_flags_new_from_strv (mail.flags);
      cairn_item_set_flags (item, flags);

      if (!cairn_transaction_create_item (transaction, item, error))
        return FALSE;
      batch->ids[n] = cairn_item_get_id (item);
    }

  return TRUE;
}

static gboolean
ingest_store (CairnStore  *store,
              guint64      collection_id,
              guint        count,
              guint64     *ids,
              GError     **error)
{
  for (guint first = 0; first < count; first += BATCH_SIZE)
    {
      IngestBatch batch = {
        .collection_id = collection_id,
        .first = first,
        .count = MIN (BATCH_SIZE, count - first),
        .ids = ids,
      };

      if (!cairn_store_write_sync (store, ingest_batch, &batch, NULL, NULL, error))
        return FALSE;
    }

  return TRUE;
}

/* Ingest with plain SQLite: the same mails, as rows of the store's
 * schema. */
static gboolean
raw_ingest (const char  *path,
            guint64      collection_id,
            guint        count,
            GError     **error)
{
  g_auto(CairnBenchRawWriter) writer = { 0 };

  if (!cairn_bench_raw_writer_open (&writer, path, RESOURCE, NULL, error))
    return FALSE;

  for (guint first = 0; first < count; first += BATCH_SIZE)
    {
      guint last = MIN (first + BATCH_SIZE, count);

      if (!cairn_bench_raw_writer_begin (&writer, error))
        return FALSE;
      for (guint n = first; n < last; n++)
        {
          g_auto(Mail) mail = { 0 };
          CairnBenchRawItem item = { .collection_id = collection_id, .mime_type = MIME_TYPE };

          mail_init (&mail, n);
          item.size = mail.size;
          item.remote_id = mail.remote_id;
          item.gid = mail.gid;
          item.envelope = g_bytes_get_data (mail.envelope, &item.envelope_length);
          item.flags = mail.flags;
          if (!cairn_bench_raw_writer_add (&writer, &item, error))
            return FALSE;
        }
      if (!cairn_bench_raw_writer_commit (&writer, error))
        return FALSE;
    }

  return TRUE;
}

/* Listing */

typedef struct
{
  guint count;
  guint64 checksum;
  guint64 envelope_bytes;
} ListTally;

static gboolean
tally_item (CairnItem *item,
            gpointer   user_data)
{
  ListTally *tally = user_data;
  CairnPart *envelope = cairn_item_get_part (item, CAIRN_PART_ENVELOPE);
  GBytes *data = envelope ? cairn_part_get_data (envelope) : NULL;
  const guint8 *bytes;
  gsize length = 0;

  if (data == NULL)
    return FALSE;   /* caught by the count check */
  bytes = g_bytes_get_data (data, &length);

  tally->count++;
  tally->envelope_bytes += length;
  tally->checksum += cairn_item_get_id (item) + cairn_item_get_size (item) + length +
                     bytes[length / 2] + strlen (cairn_item_get_remote_id (item)) +
                     strlen (cairn_item_get_gid (item)) +
                     cairn_flags_get_size (cairn_item_get_flags (item)) +
                     (cairn_item_get_mime_type (item) != NULL) +
                     (cairn_item_get_remote_revision (item) != NULL) +
                     cairn_item_get_collection_id (item) + cairn_item_get_revision (item);
  return TRUE;
}

/* What a plain SQLite reader does: one query, values copied out of each
 * row the way a caller that keeps them would. */
static gboolean
raw_list (const char  *path,
          guint64      collection_id,
          ListTally   *tally,
          GError     **error)
{
  static const char sql[] =
    "SELECT i.id, i.collection_id, i.mime_type, i.size, i.remote_id, "
    "  i.remote_revision, i.gid, i.revision, "
    "  (SELECT group_concat (flag, ' ') FROM item_flags WHERE item_id = i.id), "
    "  p.data "
    "FROM items i LEFT JOIN parts p ON p.item_id = i.id AND p.name = ?2 "
    "WHERE i.collection_id = ?1 ORDER BY i.id";
  g_autoptr(sqlite3) db = cairn_bench_raw_open (path, error);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (db == NULL)
    return FALSE;
  stmt = cairn_bench_raw_prepare (db, sql, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, collection_id);
  sqlite3_bind_text (stmt, 2, CAIRN_PART_ENVELOPE, -1, SQLITE_STATIC);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      guint64 id = sqlite3_column_int64 (stmt, 0);
      guint64 size = sqlite3_column_int64 (stmt, 3);
      g_autofree char *mime_type = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      g_autofree char *remote_id = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      g_autofree char *remote_revision = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      g_autofree char *gid = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
      g_auto(GStrv) flags = g_strsplit ((const char *) sqlite3_column_text (stmt, 8), " ", -1);
      g_autoptr(GBytes) data = g_bytes_new (sqlite3_column_blob (stmt, 9),
                                            sqlite3_column_bytes (stmt, 9));
      gsize length;
      const guint8 *bytes = g_bytes_get_data (data, &length);

      tally->count++;
      tally->checksum += id + size + length + bytes[length / 2] + strlen (remote_id) +
                         strlen (gid) + g_strv_length (flags) +
                         (mime_type != NULL) + (remote_revision != NULL) +
                         sqlite3_column_int64 (stmt, 1) + sqlite3_column_int64 (stmt, 7);
    }

  return cairn_bench_sqlite_ok (db, rc, SQLITE_DONE, "Cannot list the items", error);
}

/* Flags */

typedef struct
{
  const guint64 *ids;
  guint count;
  guint stride;
  CairnFlagsDelta *delta;
} FlagBatch;

static gboolean
change_flags (CairnTransaction  *transaction,
              gpointer           user_data,
              GError           **error)
{
  FlagBatch *batch = user_data;

  for (guint i = 0; i < batch->count; i++)
    if (!cairn_transaction_change_flags (transaction, batch->ids[i * batch->stride],
                                         batch->delta, 0, error))
      return FALSE;

  return TRUE;
}

/* Database size after a checkpoint, through a connection of our own so the
 * store is measured as it stands. */
static gboolean
checkpointed_size (const char  *path,
                   gint64      *size,
                   GError     **error)
{
  g_autoptr(sqlite3) db = cairn_bench_raw_open (path, error);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (db == NULL)
    return FALSE;
  stmt = cairn_bench_raw_prepare (db, "PRAGMA wal_checkpoint (TRUNCATE)", error);
  if (stmt == NULL ||
      !cairn_bench_sqlite_ok (db, sqlite3_step (stmt), SQLITE_ROW, "Cannot checkpoint", error))
    return FALSE;
  if (sqlite3_column_int (stmt, 0) != 0)
    g_printerr ("warning: the checkpoint of %s was blocked\n", path);

  *size = file_size (path) + file_size (wal);
  return TRUE;
}

static int
run (guint        count,
     const char  *dir,
     GError     **error)
{
  g_autofree char *store_path = g_build_filename (dir, "store.db", NULL);
  g_autofree char *raw_path = g_build_filename (dir, "raw.db", NULL);
  g_autofree guint64 *ids = g_new0 (guint64, count);
  g_autoptr(CairnStore) store = NULL;
  g_autoptr(CairnFetchScope) scope = NULL;
  g_autoptr(CairnFlagsDelta) delta = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  guint64 collection_id, raw_collection_id;
  ListTally ours = { 0 }, raw = { 0 };
  FlagBatch flag_batch;
  gint64 start, store_size, raw_size;
  double ingest_s, raw_ingest_s, list_ms, raw_list_ms, flags_ms, changes_ms;

  /* The raw baseline gets a fresh database made by the store, then closed. */
  {
    g_autoptr(CairnStore) fresh = cairn_bench_open_store_with_folder (raw_path, RESOURCE,
                                                                      &raw_collection_id, error);

    if (fresh == NULL)
      return EXIT_FAILURE;
  }

  store = cairn_bench_open_store_with_folder (store_path, RESOURCE, &collection_id, error);
  if (store == NULL)
    return EXIT_FAILURE;

  start = g_get_monotonic_time ();
  if (!ingest_store (store, collection_id, count, ids, error))
    return EXIT_FAILURE;
  ingest_s = (g_get_monotonic_time () - start) / 1e6;

  start = g_get_monotonic_time ();
  if (!raw_ingest (raw_path, raw_collection_id, count, error))
    return EXIT_FAILURE;
  raw_ingest_s = (g_get_monotonic_time () - start) / 1e6;

  g_print ("items: %u\n", count);
  g_print ("ingest_items_per_s: %.0f\n", count / ingest_s);
  g_print ("raw_sqlite_items_per_s: %.0f\n", count / raw_ingest_s);
  g_print ("ingest_ratio_to_raw: %.2f\n", raw_ingest_s / ingest_s);

  scope = cairn_fetch_scope_new ();
  cairn_fetch_scope_add_part (scope, CAIRN_PART_ENVELOPE);
  start = g_get_monotonic_time ();
  if (!cairn_store_foreach_item (store, collection_id, scope, tally_item, &ours, NULL, error))
    return EXIT_FAILURE;
  list_ms = elapsed_ms (start);

  start = g_get_monotonic_time ();
  if (!raw_list (store_path, collection_id, &raw, error))
    return EXIT_FAILURE;
  raw_list_ms = elapsed_ms (start);

  if (ours.count != count || raw.count != count || ours.checksum != raw.checksum)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The listings differ: %u items (checksum %" G_GUINT64_FORMAT ") through "
                   "the store, %u (checksum %" G_GUINT64_FORMAT ") with SQLite, %u written",
                   ours.count, ours.checksum, raw.count, raw.checksum, count);
      return EXIT_FAILURE;
    }

  g_print ("envelope_bytes_avg: %.0f\n", (double) ours.envelope_bytes / count);
  g_print ("list_100k_envelopes_ms: %.1f\n", list_ms);
  g_print ("raw_list_100k_ms: %.1f\n", raw_list_ms);
  g_print ("list_ratio_to_raw: %.2f\n", raw_list_ms / list_ms);

  /* Mark as answered and unread: effective on every item, so each logs a
   * change, spread over the whole folder. */
  delta = cairn_flags_delta_new ();
  cairn_flags_delta_add (delta, CAIRN_FLAG_ANSWERED);
  cairn_flags_delta_remove (delta, CAIRN_FLAG_SEEN);
  flag_batch = (FlagBatch) {
    .ids = ids,
    .count = MIN (FLAG_DELTA_COUNT, count),
    .stride = MAX (count / FLAG_DELTA_COUNT, 1),
    .delta = delta,
  };
  start = g_get_monotonic_time ();
  if (!cairn_store_write_sync (store, change_flags, &flag_batch, NULL, NULL, error))
    return EXIT_FAILURE;
  flags_ms = elapsed_ms (start);
  g_print ("flag_delta_10k_ms: %.1f\n", flags_ms);

  start = g_get_monotonic_time ();
  changes = cairn_store_get_changes_since (store, 0, 0, error);
  if (changes == NULL)
    return EXIT_FAILURE;
  changes_ms = elapsed_ms (start);
  g_print ("changes_since_100k_ms: %.1f\n", changes_ms);
  g_print ("changes_since_entries: %u\n", changes->len);
  g_clear_pointer (&changes, g_ptr_array_unref);

  if (!checkpointed_size (store_path, &store_size, error) ||
      !checkpointed_size (raw_path, &raw_size, error))
    return EXIT_FAILURE;
  g_print ("bytes_per_item: %.0f\n", (double) store_size / count);
  g_print ("raw_bytes_per_item: %.0f\n", (double) raw_size / count);

  g_clear_object (&store);
  g_print ("peak_rss_mb: %.1f\n", cairn_bench_peak_rss_mb ());

  return EXIT_SUCCESS;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  guint64 count = DEFAULT_ITEM_COUNT;
  int status;

  if (argc > 2 ||
      (argc == 2 && (!g_ascii_string_to_unsigned (argv[1], 10, 1, G_MAXUINT32, &count, &error))))
    {
      g_printerr ("Usage: %s [ITEM-COUNT]%s%s\n", argv[0], error ? ": " : "",
                  error ? error->message : "");
      return EXIT_FAILURE;
    }

  dir = g_dir_make_tmp ("cairn-bench-store-XXXXXX", &error);
  if (dir == NULL)
    {
      g_printerr ("Cannot make a temporary folder: %s\n", error->message);
      return EXIT_FAILURE;
    }

  status = run (count, dir, &error);
  if (status != EXIT_SUCCESS)
    g_printerr ("cairn-bench-store: %s\n", error ? error->message : "failed");

  remove_tree (dir);
  return status;
}
