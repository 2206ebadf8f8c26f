/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The maildir benchmark: the maildir resource (resources/maildir) syncing
 * one generated folder of 10,000 and one of 100,000 messages into a fresh
 * store, against the physical limit measured in the same run on the same
 * files. The page cache is warm: every file is read once before anything
 * is timed.
 *
 * initial_sync_msgs_per_s_N: messages / time from starting the resource
 *   (in process, on a fresh store) until its first sync is done.
 * limit_msgs_per_s_N: messages / time of the slower of two plain loops:
 *   reading each file's header block (readdir of new/ and cur/; open,
 *   fstat, read until the empty line, close), and writing what the store
 *   keeps of it with plain SQLite (cairn-bench-raw: items row, inline
 *   ENVELOPE, foreign RFC822, flags, change log; 1000 a transaction). The
 *   two loops take turns, a batch of 1000 files each, so that one batch
 *   is all they ever hold; each is timed on its own.
 * ratio_to_limit_N: initial / limit.
 * resync_noop_ms_100k: a full sync of the unchanged 100,000.
 * The 10,000 run is made RUNS_10K times, each in a fresh process on
 * fresh files, and each figure is the median of the runs; the 100,000
 * run is made once.
 * peak_rss_mb: the peak resident set of the process in which the resource
 *   runs, the child process of the larger run. It also covers the limit
 *   loops, which hold one batch: they do not come near the resource. The
 *   messages are generated in a process of their own.
 *
 * Targets: ratio_to_limit >= 0.5, resync_noop_ms_100k <= 1000,
 * peak_rss_mb <= 80. */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-bench-common.h"
#include "cairn-bench-raw.h"

#define INSTANCE "maildir_0"
#define MIME_TYPE "message/rfc822"
#define SEED 7
#define READ_CHUNK 8192
#define WAIT_MS (10 * 60 * 1000)
/* A run of 10,000 takes a third of a second, short enough for the
 * machine's other work to sway one run by a fifth. */
#define RUNS_10K 5

/* The info letters the generator writes, and the flags the resource
 * makes of them. */
static const char info_letters[] = "DFPRST";
static const char * const info_flags[] = {
  CAIRN_FLAG_DRAFT, CAIRN_FLAG_FLAGGED, "$Forwarded", CAIRN_FLAG_ANSWERED, CAIRN_FLAG_SEEN,
  CAIRN_FLAG_DELETED,
};

/* The header fields the resource keeps in the ENVELOPE part. */
static const char * const envelope_fields[] = {
  "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
};

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot %s %s: %s", what,
               path, g_strerror (saved_errno));
  return FALSE;
}

/* Reads every message of @maildir once, so that the page cache holds them
 * before the timed runs, as it does for a mail reader's folder. */
static gboolean
warm_page_cache (const char  *maildir,
                 GError     **error)
{
  const char *subdirectories[] = { "new", "cur" };

  for (guint s = 0; s < G_N_ELEMENTS (subdirectories); s++)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectories[s], NULL);
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);
          g_autofree char *contents = NULL;

          if (!g_file_get_contents (file, &contents, NULL, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* The limit, first loop: a message's header block and what the store
 * keeps of it. */

typedef struct
{
  char *path;
  char *relative_name;          /* "cur/NAME": the remote revision */
  char *uid;                    /* NAME up to its info: the remote id */
  char *gid;
  GString *envelope;
  guint64 size;
  const char *flags[G_N_ELEMENTS (info_flags) + 1];
} Header;

static void
header_clear (Header *header)
{
  g_free (header->path);
  g_free (header->relative_name);
  g_free (header->uid);
  g_free (header->gid);
  if (header->envelope != NULL)
    g_string_free (header->envelope, TRUE);
}

static gboolean
is_envelope_field (const char *name,
                   gsize       length)
{
  for (guint i = 0; i < G_N_ELEMENTS (envelope_fields); i++)
    if (strlen (envelope_fields[i]) == length &&
        g_ascii_strncasecmp (name, envelope_fields[i], length) == 0)
      return TRUE;
  return FALSE;
}

/* The envelope of the plain loop is the envelope fields as they stand in
 * the header, still encoded and folded: about the size of the decoded
 * ENVELOPE the resource builds with GMime, without the parsing. */
static void
extract_envelope (Header     *header,
                  const char *block,
                  gsize       length)
{
  const char *end = block + length;
  gboolean keep = FALSE;

  header->envelope = g_string_sized_new (length);
  for (const char *line = block; line < end; )
    {
      const char *newline = memchr (line, '\n', end - line);
      const char *next = newline ? newline + 1 : end;

      if (*line != ' ' && *line != '\t')
        {
          const char *colon = memchr (line, ':', next - line);

          keep = colon != NULL && is_envelope_field (line, colon - line);
          if (keep && g_ascii_strncasecmp (line, "Message-ID:", strlen ("Message-ID:")) == 0)
            {
              g_autofree char *value = g_strndup (colon + 1, next - colon - 1);

              g_free (header->gid);
              header->gid = g_strdup (g_strstrip (g_strdelimit (value, "<>", ' ')));
            }
        }
      if (keep)
        g_string_append_len (header->envelope, line, next - line);
      line = next;
    }
}

static void
info_to_flags (Header     *header,
               const char *name)
{
  const char *info = strstr (name, ":2,");
  guint n = 0;

  for (guint i = 0; info != NULL && i < G_N_ELEMENTS (info_flags); i++)
    if (strchr (info + 3, info_letters[i]) != NULL)
      header->flags[n++] = info_flags[i];
  header->flags[n] = NULL;
}

/* Reads message @subdirectory/@name into @header, through @block, a
 * buffer kept from one message to the next. */
static gboolean
read_header (const char  *maildir,
             const char  *subdirectory,
             const char  *name,
             GByteArray  *block,
             Header      *header,
             GError     **error)
{
  g_autofree char *relative_name = g_strconcat (subdirectory, "/", name, NULL);
  g_autofree char *path = g_build_filename (maildir, relative_name, NULL);
  int fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  const char *blank = NULL;
  struct stat st;

  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      return set_errno_error (error, saved_errno, "read", path);
    }
  g_byte_array_set_size (block, 0);
  while (blank == NULL)
    {
      guint start = block->len;
      guint from = start > 0 ? start - 1 : 0;
      gssize n;

      g_byte_array_set_size (block, start + READ_CHUNK);
      n = read (fd, block->data + start, READ_CHUNK);
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          return set_errno_error (error, saved_errno, "read", path);
        }
      g_byte_array_set_size (block, start + n);
      if (n == 0)
        break;
      blank = g_strstr_len ((const char *) block->data + from, block->len - from, "\n\n");
    }
  close (fd);

  header->path = g_steal_pointer (&path);
  header->uid = g_strndup (name, strcspn (name, ":"));
  header->relative_name = g_steal_pointer (&relative_name);
  header->size = st.st_size;
  extract_envelope (header, (const char *) block->data,
                    blank ? (gsize) (blank + 1 - (const char *) block->data) : block->len);
  info_to_flags (header, name);
  return TRUE;
}

/* The limit, both loops taking turns. */

typedef struct
{
  CairnBenchRawWriter writer;
  guint64 collection_id;
  GArray *batch;                /* Header */
  guint written;
  gint64 turn;                  /* when the current turn of the read loop began */
  gint64 read_us;
  gint64 write_us;
} Limit;

static void
limit_clear (Limit *limit)
{
  cairn_bench_raw_writer_clear (&limit->writer);
  g_clear_pointer (&limit->batch, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Limit, limit_clear)

/* Ends the read loop's turn and writes its batch in one transaction. */
static gboolean
write_batch (Limit   *limit,
             GError **error)
{
  gint64 start = g_get_monotonic_time ();

  limit->read_us += start - limit->turn;
  if (limit->batch->len > 0)
    {
      if (!cairn_bench_raw_writer_begin (&limit->writer, error))
        return FALSE;
      for (guint i = 0; i < limit->batch->len; i++)
        {
          Header *header = &g_array_index (limit->batch, Header, i);
          CairnBenchRawItem item = {
            .collection_id = limit->collection_id,
            .mime_type = MIME_TYPE,
            .size = header->size,
            .remote_id = header->uid,
            .remote_revision = header->relative_name,
            .gid = header->gid,
            .envelope = header->envelope->str,
            .envelope_length = header->envelope->len,
            .rfc822_path = header->path,
            .flags = header->flags,
          };

          if (!cairn_bench_raw_writer_add (&limit->writer, &item, error))
            return FALSE;
        }
      if (!cairn_bench_raw_writer_commit (&limit->writer, error))
        return FALSE;
    }
  limit->written += limit->batch->len;
  limit->turn = g_get_monotonic_time ();
  limit->write_us += limit->turn - start;
  g_array_set_size (limit->batch, 0);
  return TRUE;
}

static gboolean
read_directory (Limit       *limit,
                const char  *maildir,
                const char  *subdirectory,
                GByteArray  *block,
                GError     **error)
{
  g_autofree char *path = g_build_filename (maildir, subdirectory, NULL);
  DIR *dir = opendir (path);
  struct dirent *entry;

  if (dir == NULL)
    return set_errno_error (error, errno, "list", path);
  while ((entry = readdir (dir)) != NULL)
    {
      Header *header;

      if (entry->d_name[0] == '.')
        continue;
      g_array_set_size (limit->batch, limit->batch->len + 1);
      header = &g_array_index (limit->batch, Header, limit->batch->len - 1);
      if (!read_header (maildir, subdirectory, entry->d_name, block, header, error) ||
          (limit->batch->len == CAIRN_STORE_BATCH_SIZE && !write_batch (limit, error)))
        {
          closedir (dir);
          return FALSE;
        }
    }
  closedir (dir);
  return TRUE;
}

/* The physical limit for the @count messages of @maildir, written to a
 * fresh store at @raw_path: how long each loop took, in seconds. */
static gboolean
measure_limit (const char  *maildir,
               const char  *raw_path,
               guint        count,
               double      *read_s,
               double      *write_s,
               GError     **error)
{
  g_auto(Limit) limit = { .batch = g_array_sized_new (FALSE, TRUE, sizeof (Header),
                                                      CAIRN_STORE_BATCH_SIZE) };
  g_autoptr(GByteArray) block = g_byte_array_sized_new (READ_CHUNK);

  /* Made by the store, then closed: its schema is exactly the store's. */
  {
    g_autoptr(CairnStore) fresh = cairn_bench_open_store_with_folder (raw_path, INSTANCE,
                                                                      &limit.collection_id, error);

    if (fresh == NULL)
      return FALSE;
  }
  g_array_set_clear_func (limit.batch, (GDestroyNotify) header_clear);
  if (!cairn_bench_raw_writer_open (&limit.writer, raw_path, INSTANCE, INSTANCE, error))
    return FALSE;

  limit.turn = g_get_monotonic_time ();
  if (!read_directory (&limit, maildir, "new", block, error) ||
      !read_directory (&limit, maildir, "cur", block, error) ||
      !write_batch (&limit, error))
    return FALSE;
  if (limit.written != count)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The plain loop read %u messages of %u",
                   limit.written, count);
      return FALSE;
    }

  *read_s = limit.read_us / (double) G_USEC_PER_SEC;
  *write_s = limit.write_us / (double) G_USEC_PER_SEC;
  return TRUE;
}

/* One run */

static gboolean
check_stored (CairnTestResource  *resource,
              guint               count,
              GError            **error)
{
  g_autoptr(CairnStore) client = cairn_test_resource_open_client_store (resource, error);
  g_autoptr(CairnCollection) inbox = NULL;
  guint64 stored;

  if (client == NULL)
    return FALSE;
  inbox = cairn_store_find_collection_by_remote_id (client, INSTANCE, "INBOX", error);
  if (inbox == NULL ||
      !cairn_store_get_collection_statistics (client, cairn_collection_get_id (inbox), &stored,
                                              NULL, NULL, error))
    return FALSE;
  if (stored != count)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The resource stored %" G_GUINT64_FORMAT " messages of %u", stored, count);
      return FALSE;
    }
  return TRUE;
}

/* What one run measured, in seconds; resync_s is 0 without a resync. */
typedef struct
{
  double initial_s;
  double limit_s;
  double resync_s;
  double peak_rss_mb;
} Figures;

/* Syncs the @count messages in the maildir @root, measures the limit,
 * and with @resync a sync of the unchanged folder. */
static gboolean
run (const char   *root,
     guint         count,
     gboolean      resync,
     Figures      *figures,
     GError      **error)
{
  const char *config[] = { "path", NULL, "layout", "maildir++", "read-only", "false", NULL };
  g_autoptr(CairnTestEnvironment) environment = NULL;
  g_autoptr(CairnTestMaildir) maildir = cairn_test_maildir_new (root,
                                                                CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
  g_autoptr(CairnTestResource) resource = NULL;
  g_autofree char *inbox = cairn_test_maildir_get_folder_path (maildir, "INBOX");
  g_autofree char *raw_path = NULL;
  double read_s, write_s;
  gint64 start;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, error);
  if (environment == NULL || !warm_page_cache (inbox, error))
    return FALSE;
  raw_path = g_build_filename (cairn_test_environment_get_path (environment), "raw.db", NULL);

  config[1] = root;
  resource = cairn_test_resource_new (environment, "maildir", INSTANCE, config, error);
  if (resource == NULL)
    return FALSE;
  start = g_get_monotonic_time ();
  if (!cairn_test_resource_start (resource, CAIRN_TEST_RESOURCE_IN_PROCESS, G_TYPE_INVALID,
                                  error) ||
      !cairn_test_resource_wait_replayed (resource, WAIT_MS, error))
    return FALSE;
  figures->initial_s = seconds_since (start);
  if (!check_stored (resource, count, error) ||
      !measure_limit (inbox, raw_path, count, &read_s, &write_s, error))
    return FALSE;
  figures->limit_s = MAX (read_s, write_s);

  figures->resync_s = 0;
  if (resync)
    {
      start = g_get_monotonic_time ();
      if (!cairn_test_resource_synchronize_sync (resource, 0, error))
        return FALSE;
      figures->resync_s = seconds_since (start);
    }
  return TRUE;
}

static gboolean
wait_child (pid_t pid,
            guint count)
{
  g_autoptr(GError) error = NULL;
  int status;

  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        g_printerr ("cairn-bench-maildir: Cannot wait for the run of %u: %s\n", count,
                    g_strerror (errno));
        return FALSE;
      }
  if (!g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("cairn-bench-maildir: The run of %u failed: %s\n", count, error->message);
      return FALSE;
    }
  return TRUE;
}

/* Each run is a child process of its own, as a test environment is one
 * per process: GLib keeps the session bus and the user folders it found
 * first. Forked before this process made any thread; the figures come
 * back through a pipe. */
static gboolean
run_in_child (const char *root,
              guint       count,
              gboolean    resync,
              Figures    *figures)
{
  g_autoptr(GError) error = NULL;
  int fds[2];
  gssize n;
  pid_t pid;

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, &error))
    {
      g_printerr ("cairn-bench-maildir: %s\n", error->message);
      return FALSE;
    }
  pid = fork ();
  if (pid < 0)
    {
      g_printerr ("cairn-bench-maildir: Cannot fork: %s\n", g_strerror (errno));
      return FALSE;
    }
  if (pid == 0)
    {
      close (fds[0]);
      if (!run (root, count, resync, figures, &error))
        {
          g_printerr ("cairn-bench-maildir: %s\n", error->message);
          _exit (EXIT_FAILURE);
        }
      figures->peak_rss_mb = cairn_bench_peak_rss_mb ();
      if (write (fds[1], figures, sizeof *figures) != sizeof *figures)
        _exit (EXIT_FAILURE);
      _exit (EXIT_SUCCESS);
    }
  close (fds[1]);
  do
    n = read (fds[0], figures, sizeof *figures);
  while (n < 0 && errno == EINTR);
  close (fds[0]);
  return wait_child (pid, count) && n == sizeof *figures;
}

/* The generator runs in a child process too, so that the runs, forked
 * from this process, do not start with the generator's heap. */
static gboolean
generate_in_child (const char *root,
                   guint       count)
{
  pid_t pid = fork ();

  if (pid < 0)
    {
      g_printerr ("cairn-bench-maildir: Cannot fork: %s\n", g_strerror (errno));
      return FALSE;
    }
  if (pid == 0)
    {
      g_autoptr(CairnTestMaildir) maildir =
        cairn_test_maildir_new (root, CAIRN_TEST_MAILDIR_LAYOUT_MAILDIRPP);
      g_autoptr(GError) error = NULL;

      if (!cairn_test_maildir_generate (maildir, "INBOX", count, SEED, &error))
        {
          g_printerr ("cairn-bench-maildir: %s\n", error->message);
          _exit (EXIT_FAILURE);
        }
      _exit (EXIT_SUCCESS);
    }
  return wait_child (pid, count);
}

static int
remove_entry (const char        *path,
              const struct stat *st,
              int                type,
              struct FTW        *ftw)
{
  return remove (path) == 0 ? 0 : -1;
}

/* Generates @count messages once, runs @runs times on them and prints
 * the medians; raises *@peak_rss_mb to the runs' peak. */
static gboolean
measure (guint        count,
         const char  *suffix,
         guint        runs,
         gboolean     resync,
         double      *peak_rss_mb)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("cairn-bench-maildir-XXXXXX", &error);
  g_autofree char *root = NULL;
  g_autoptr(GArray) initial = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) limit = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ratio = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) resync_ms = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ok = TRUE;

  if (folder == NULL)
    {
      g_printerr ("cairn-bench-maildir: %s\n", error->message);
      return FALSE;
    }
  root = g_build_filename (folder, "Maildir", NULL);
  ok = generate_in_child (root, count);
  for (guint i = 0; ok && i < runs; i++)
    {
      Figures figures;
      double value;

      ok = run_in_child (root, count, resync, &figures);
      if (!ok)
        break;
      value = count / figures.initial_s;
      g_array_append_val (initial, value);
      value = count / figures.limit_s;
      g_array_append_val (limit, value);
      value = figures.limit_s / figures.initial_s;
      g_array_append_val (ratio, value);
      value = figures.resync_s * 1000;
      g_array_append_val (resync_ms, value);
      *peak_rss_mb = MAX (*peak_rss_mb, figures.peak_rss_mb);
    }
  if (folder != NULL)
    nftw (folder, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (!ok)
    return FALSE;
  g_print ("initial_sync_msgs_per_s_%s: %.0f\n", suffix, cairn_bench_median (initial));
  g_print ("limit_msgs_per_s_%s: %.0f\n", suffix, cairn_bench_median (limit));
  g_print ("ratio_to_limit_%s: %.2f\n", suffix, cairn_bench_median (ratio));
  if (resync)
    g_print ("resync_noop_ms_%s: %.1f\n", suffix, cairn_bench_median (resync_ms));
  return TRUE;
}

/* With "10k" or "100k" as argument, only that size runs. */
int
main (int   argc,
      char *argv[])
{
  const char *only = argc > 1 ? argv[1] : NULL;
  double peak_rss_mb = 0;

  g_setenv ("CAIRN_AGENTS_DIR", MAILDIR_AGENT_DIR, TRUE);
  if ((only == NULL || g_str_equal (only, "10k")) && !measure (10000, "10k", RUNS_10K, FALSE, &peak_rss_mb))
    return EXIT_FAILURE;
  if ((only == NULL || g_str_equal (only, "100k")) && !measure (100000, "100k", 1, TRUE, &peak_rss_mb))
    return EXIT_FAILURE;
  g_print ("peak_rss_mb: %.1f\n", peak_rss_mb);
  return EXIT_SUCCESS;
}
