/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-payload-files-private.h"
#include "cairn-store.h"

/* Payloads above the inline threshold live in files beside the database,
 * one folder of them per store: written by transactions before their
 * commit, checked and collected by the store's maintenance. */

#define COPY_CHUNK_SIZE (64 * 1024)

char *
_cairn_payload_path (const char *folder,
                     const char *name)
{
  return g_build_filename (folder, name, NULL);
}

gboolean
_cairn_payload_folder_sync (const char  *path,
                            GError     **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  int saved_errno;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }

  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
               "Cannot flush the folder %s: %s", path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          length,
           GError       **error)
{
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CAIRN_STORE_ERROR,
                       saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG
                       ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                       "Cannot write a payload file: %s", g_strerror (saved_errno));
          return FALSE;
        }
      data += written;
      length -= written;
    }

  return TRUE;
}

static gboolean
copy_stream_to_fd (int            fd,
                   GInputStream  *stream,
                   GChecksum     *checksum,
                   goffset       *size,
                   GError       **error)
{
  g_autofree guint8 *buffer = g_malloc (COPY_CHUNK_SIZE);

  for (;;)
    {
      GError *local_error = NULL;
      gssize n = g_input_stream_read (stream, buffer, COPY_CHUNK_SIZE, NULL, &local_error);

      if (n < 0)
        {
          g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                       "Cannot read a part's payload: %s", local_error->message);
          g_error_free (local_error);
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      if (!write_all (fd, buffer, n, error))
        return FALSE;
      g_checksum_update (checksum, buffer, n);
      *size += n;
    }
}

/* Writes @prefix and then the rest of @stream to a new payload file in
 * @folder, fsynced; returns its name relative to the folder, with its size
 * and SHA-256 digest, which cairn_store_check_sync() compares with it.
 * @path is set to the new file's path as soon as it exists, even if
 * writing it fails then, so that the caller can remove it. */
char *
_cairn_payload_file_write (const char    *folder,
                           const guint8  *prefix,
                           gsize          prefix_length,
                           GInputStream  *stream,
                           goffset       *size,
                           GBytes       **digest,
                           char         **path,
                           GError       **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest_buffer[CAIRN_PAYLOAD_DIGEST_SIZE];
  gsize digest_length = sizeof digest_buffer;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *bucket = g_strndup (uuid, 2);
  g_autofree char *bucket_path = g_build_filename (folder, bucket, NULL);
  g_autofree char *name = NULL;
  g_autofree char *file_path = NULL;
  gboolean ok;
  int fd;

  g_strdelimit (uuid, "-", '0');
  name = g_build_filename (bucket, uuid + 2, NULL);
  file_path = g_build_filename (folder, name, NULL);

  if (g_mkdir_with_parents (bucket_path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CAIRN_STORE_ERROR,
                   saved_errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot create the payload folder %s: %s", bucket_path,
                   g_strerror (saved_errno));
      return NULL;
    }

  fd = open (file_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CAIRN_STORE_ERROR,
                   saved_errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot create the payload file %s: %s", file_path, g_strerror (saved_errno));
      return NULL;
    }
  *path = g_strdup (file_path);

  *size = prefix_length;
  g_checksum_update (checksum, prefix, prefix_length);
  ok = write_all (fd, prefix, prefix_length, error) &&
       (stream == NULL || copy_stream_to_fd (fd, stream, checksum, size, error));
  if (ok && fsync (fd) != 0)
    {
      g_set_error (error, CAIRN_STORE_ERROR,
                   errno == ENOSPC ? CAIRN_STORE_ERROR_NO_SPACE : CAIRN_STORE_ERROR_IO,
                   "Cannot flush the payload file %s: %s", file_path, g_strerror (errno));
      ok = FALSE;
    }
  close (fd);
  if (!ok)
    return NULL;

  g_checksum_get_digest (checksum, digest_buffer, &digest_length);
  *digest = g_bytes_new (digest_buffer, digest_length);
  return g_steal_pointer (&name);
}

/* Why the payload file at @path does not hold what was written there:
 * gone, unreadable, of another size than @size, or not matching @digest
 * (a SHA-256 digest; NULL for parts written before digests were kept).
 * Returns NULL for a sound file. */
char *
_cairn_payload_file_find_damage (const char    *path,
                                 goffset        size,
                                 GBytes        *digest,
                                 GCancellable  *cancellable)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree guint8 *buffer = NULL;
  guint8 found[CAIRN_PAYLOAD_DIGEST_SIZE];
  gsize found_length = sizeof found;
  goffset actual;
  gssize n;

  stream = g_file_read (file, cancellable, &local_error);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return g_strdup_printf ("has no file %s", path);
  if (stream != NULL)
    info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable,
                                           &local_error);
  if (info == NULL)
    return g_strdup_printf ("cannot read its file %s: %s", path, local_error->message);

  actual = g_file_info_get_size (info);
  if (actual != size)
    return g_strdup_printf ("has a file %s of %" G_GOFFSET_FORMAT " bytes, not %"
                            G_GOFFSET_FORMAT, path, actual, size);
  if (digest == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  buffer = g_malloc (64 * 1024);
  while ((n = g_input_stream_read (G_INPUT_STREAM (stream), buffer, 64 * 1024, cancellable,
                                   &local_error)) > 0)
    g_checksum_update (checksum, buffer, n);
  if (n < 0)
    return g_strdup_printf ("cannot read its file %s: %s", path, local_error->message);

  g_checksum_get_digest (checksum, found, &found_length);
  if (found_length != g_bytes_get_size (digest) ||
      memcmp (found, g_bytes_get_data (digest, NULL), found_length) != 0)
    return g_strdup_printf ("has a file %s that does not match its SHA-256 digest", path);

  return NULL;
}

/* Payload files nobody references are what a crashed or rolled back
 * transaction left behind. The caller holds the write lock on @database,
 * so no other writer, in this process or another, has uncommitted files.
 * Counts them in @orphans, and removes them if @remove. */
gboolean
_cairn_payload_files_find_orphans (CairnDatabase  *database,
                                   const char     *folder,
                                   gboolean        remove,
                                   guint          *orphans,
                                   GCancellable   *cancellable,
                                   GError        **error)
{
  g_autoptr(GDir) top = NULL;
  const char *bucket;

  top = g_dir_open (folder, 0, NULL);
  if (top == NULL)
    return TRUE;

  while ((bucket = g_dir_read_name (top)) != NULL)
    {
      g_autofree char *bucket_path = g_build_filename (folder, bucket, NULL);
      g_autoptr(GDir) dir = g_dir_open (bucket_path, 0, NULL);
      const char *file;

      if (dir == NULL)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      while ((file = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *name = g_build_filename (bucket, file, NULL);
          g_autofree char *path = NULL;
          g_autoptr(CairnStatement) exists =
            _cairn_database_query (database,
                                   "SELECT 1 FROM parts WHERE storage = 1 AND path = ?",
                                   CAIRN_BINDS (_cairn_bind_text (name)), error);
          int rc = _cairn_database_step_row (database, exists, error);

          if (rc < 0)
            return FALSE;
          if (rc != SQLITE_DONE)
            continue;
          (*orphans)++;
          if (!remove)
            continue;
          path = g_build_filename (bucket_path, file, NULL);
          if (g_unlink (path) != 0 && errno != ENOENT)
            g_warning ("Cannot remove the orphan payload %s: %s", path, g_strerror (errno));
        }
    }

  return TRUE;
}
