/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For O_NOATIME. */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cairn-flags.h"
#include "cairn-part-private.h"
#include "cairn-store.h"

G_DEFINE_BOXED_TYPE (CairnPart, cairn_part, cairn_part_ref, cairn_part_unref)

/**
 * cairn_part_name_is_valid:
 * @name: (nullable): a part name
 *
 * Part names follow the rules of flags: non-empty UTF-8 without white
 * space or control characters (`RFC822`, `ENVELOPE`, `ATR:x`...).
 *
 * Returns: %TRUE if @name can name a part or an attribute
 *
 * Since: 0.1
 */
gboolean
cairn_part_name_is_valid (const char *name)
{
  return cairn_flag_is_valid (name);
}

CairnPart *
_cairn_part_new (const char       *name,
                 CairnPartStorage  storage,
                 goffset           size,
                 GBytes           *data,
                 char             *path)
{
  CairnPart *part = g_slice_new0 (CairnPart);

  g_atomic_ref_count_init (&part->ref_count);
  part->name = g_strdup (name);
  part->storage = storage;
  part->size = size;
  part->data = data;
  part->path = path;

  return part;
}

/**
 * cairn_part_new_inline:
 * @name: a valid part name
 * @data: the payload
 *
 * Creates a part holding @data. The store keeps it in the database if it is
 * small and moves it to a file beside the database otherwise.
 *
 * Returns: (transfer full): a new #CairnPart
 *
 * Since: 0.1
 */
CairnPart *
cairn_part_new_inline (const char *name,
                       GBytes     *data)
{
  g_return_val_if_fail (cairn_part_name_is_valid (name), NULL);
  g_return_val_if_fail (data != NULL, NULL);

  return _cairn_part_new (name, CAIRN_PART_STORAGE_INLINE, g_bytes_get_size (data),
                          g_bytes_ref (data), NULL);
}

/**
 * cairn_part_new_from_stream:
 * @name: a valid part name
 * @stream: the payload
 *
 * Creates a part whose payload is read from @stream when the part is
 * stored, in bounded chunks: parts of hundreds of megabytes are never held
 * in memory. Small payloads end up inline, large ones in a file beside the
 * database. The size is known once the part is stored.
 *
 * Returns: (transfer full): a new #CairnPart
 *
 * Since: 0.1
 */
CairnPart *
cairn_part_new_from_stream (const char   *name,
                            GInputStream *stream)
{
  CairnPart *part;

  g_return_val_if_fail (cairn_part_name_is_valid (name), NULL);
  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);

  part = _cairn_part_new (name, CAIRN_PART_STORAGE_EXTERNAL, -1, NULL, NULL);
  part->stream = g_object_ref (stream);

  return part;
}

/**
 * cairn_part_new_foreign:
 * @name: a valid part name
 * @path: (type filename): absolute path of a file the resource owns
 * @size: the payload size in bytes
 *
 * Creates a part whose payload stays in a file owned by the resource, such
 * as a maildir message, so that it is never copied. The store reads it
 * lazily and never writes or deletes it.
 *
 * Returns: (transfer full): a new #CairnPart
 *
 * Since: 0.1
 */
CairnPart *
cairn_part_new_foreign (const char *name,
                        const char *path,
                        goffset     size)
{
  g_return_val_if_fail (cairn_part_name_is_valid (name), NULL);
  g_return_val_if_fail (path != NULL && g_path_is_absolute (path), NULL);
  g_return_val_if_fail (size >= 0, NULL);

  return _cairn_part_new (name, CAIRN_PART_STORAGE_FOREIGN, size, NULL, g_strdup (path));
}

/**
 * cairn_part_new_missing:
 * @name: a valid part name
 * @size: the payload size in bytes, if known, or 0
 *
 * Creates a part whose payload is not stored: the cache policy keeps only
 * envelopes, say. Reading it asks the owning resource to retrieve it.
 * Storing a missing part over a stored one drops the stored payload.
 *
 * Returns: (transfer full): a new #CairnPart
 *
 * Since: 0.1
 */
CairnPart *
cairn_part_new_missing (const char *name,
                        goffset     size)
{
  g_return_val_if_fail (cairn_part_name_is_valid (name), NULL);
  g_return_val_if_fail (size >= 0, NULL);

  return _cairn_part_new (name, CAIRN_PART_STORAGE_MISSING, size, NULL, NULL);
}

/**
 * cairn_part_ref:
 * @part: a #CairnPart
 *
 * Takes a reference on @part.
 *
 * Returns: (transfer full): @part
 *
 * Since: 0.1
 */
CairnPart *
cairn_part_ref (CairnPart *part)
{
  g_return_val_if_fail (part != NULL, NULL);

  g_atomic_ref_count_inc (&part->ref_count);
  return part;
}

/**
 * cairn_part_unref:
 * @part: (transfer full): a #CairnPart
 *
 * Drops a reference to @part.
 *
 * Since: 0.1
 */
void
cairn_part_unref (CairnPart *part)
{
  g_return_if_fail (part != NULL);

  if (!g_atomic_ref_count_dec (&part->ref_count))
    return;

  g_free (part->name);
  g_clear_pointer (&part->data, g_bytes_unref);
  g_free (part->path);
  g_clear_object (&part->stream);
  g_slice_free (CairnPart, part);
}

/**
 * cairn_part_get_name:
 * @part: a #CairnPart
 *
 * Gets the part's name.
 *
 * Returns: the part's name
 *
 * Since: 0.1
 */
const char *
cairn_part_get_name (const CairnPart *part)
{
  g_return_val_if_fail (part != NULL, NULL);

  return part->name;
}

/**
 * cairn_part_get_storage:
 * @part: a #CairnPart
 *
 * Gets where the part's payload lives.
 *
 * Returns: where the payload lives
 *
 * Since: 0.1
 */
CairnPartStorage
cairn_part_get_storage (const CairnPart *part)
{
  g_return_val_if_fail (part != NULL, CAIRN_PART_STORAGE_MISSING);

  return part->storage;
}

/**
 * cairn_part_get_size:
 * @part: a #CairnPart
 *
 * Gets the payload's size in bytes.
 *
 * Returns: the payload size in bytes, or -1 for a part made from a stream
 *   that is not stored yet
 *
 * Since: 0.1
 */
goffset
cairn_part_get_size (const CairnPart *part)
{
  g_return_val_if_fail (part != NULL, -1);

  return part->size;
}

/**
 * cairn_part_get_data:
 * @part: a #CairnPart
 *
 * Returns only what the part holds in memory: the payload of an inline
 * part, and %NULL for every other storage kind. To read a payload wherever
 * it lives, use cairn_part_read_bytes() or cairn_part_open_stream().
 *
 * Returns: (transfer none) (nullable): the payload of an inline part
 *
 * Since: 0.1
 */
GBytes *
cairn_part_get_data (const CairnPart *part)
{
  g_return_val_if_fail (part != NULL, NULL);

  return part->data;
}

/**
 * cairn_part_get_path:
 * @part: a #CairnPart
 *
 * Gets the file that holds the payload of a foreign or external part.
 *
 * Returns: (type filename) (transfer none) (nullable): the file holding the
 *   payload of a foreign or external part
 *
 * Since: 0.1
 */
const char *
cairn_part_get_path (const CairnPart *part)
{
  g_return_val_if_fail (part != NULL, NULL);

  return part->path;
}

/* Reading payloads */

/* The storage kinds that have no payload to read give an error. */
static gboolean
check_readable (CairnPart  *part,
                GError    **error)
{
  if (part->storage == CAIRN_PART_STORAGE_MISSING)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_MISSING_PART,
                   "The part %s is not stored; its resource has to retrieve it", part->name);
      return FALSE;
    }
  if (part->stream != NULL)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_INVALID,
                   "The part %s has no payload to read: it is not stored yet", part->name);
      return FALSE;
    }

  return TRUE;
}

/* A cancellation stays one; any other failure to read a file is an I/O
 * error of the store that names the part and the file. */
static void
propagate_read_error (CairnPart  *part,
                      GError     *local_error,
                      GError    **error)
{
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, local_error);
      return;
    }
  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
               "Cannot read the part %s from %s: %s", part->name, part->path,
               local_error->message);
  g_error_free (local_error);
}

/* An external file is the store's own: one whose length is not the one
 * recorded was truncated or replaced, and is refused. */
static gboolean
check_file_size (CairnPart  *part,
                 goffset     size,
                 GError    **error)
{
  if (part->storage != CAIRN_PART_STORAGE_EXTERNAL || size == part->size)
    return TRUE;

  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_CORRUPT,
               "The payload file %s of part %s has %" G_GOFFSET_FORMAT " bytes instead of %"
               G_GOFFSET_FORMAT, part->path, part->name, size, part->size);
  return FALSE;
}

/* Opens the file of an external or foreign part and sets @size to its
 * length, checked by check_file_size(). */
static GFileInputStream *
open_payload_file (CairnPart     *part,
                   goffset       *size,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (part->path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;

  stream = g_file_read (file, cancellable, &local_error);
  if (stream != NULL)
    info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable,
                                           &local_error);
  if (info == NULL)
    {
      propagate_read_error (part, g_steal_pointer (&local_error), error);
      return NULL;
    }

  *size = g_file_info_get_size (info);
  if (!check_file_size (part, *size, error))
    return NULL;

  return g_steal_pointer (&stream);
}

/**
 * cairn_part_open_stream:
 * @part: a #CairnPart read from the store, or made by
 *   cairn_part_new_inline() or cairn_part_new_foreign()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens the payload of @part for reading, wherever it lives: in the
 * database (inline), in a file beside the database (external) or in a file
 * of the resource (foreign). This is the way to read a payload of any size;
 * cairn_part_get_data() only returns inline payloads.
 *
 * A part that is not stored gives %CAIRN_STORE_ERROR_MISSING_PART; a file
 * that cannot be opened gives %CAIRN_STORE_ERROR_IO, and an external file
 * whose size is not the one recorded gives %CAIRN_STORE_ERROR_CORRUPT.
 * A part made by cairn_part_new_from_stream() has nothing to read until it
 * is stored (%CAIRN_STORE_ERROR_INVALID).
 *
 * The part reads the payload it describes: a part of an item delivered
 * for an old change names the payload of that change, which the store may
 * have replaced since (%CAIRN_STORE_ERROR_IO then).
 *
 * Returns: (transfer full): a stream of the payload, or %NULL with @error
 *   set
 *
 * Since: 0.1
 */
GInputStream *
cairn_part_open_stream (CairnPart     *part,
                        GCancellable  *cancellable,
                        GError       **error)
{
  goffset size;

  g_return_val_if_fail (part != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_readable (part, error))
    return NULL;
  if (part->storage == CAIRN_PART_STORAGE_INLINE)
    return g_memory_input_stream_new_from_bytes (part->data);

  return G_INPUT_STREAM (open_payload_file (part, &size, cancellable, error));
}

static gboolean
check_max_size (CairnPart  *part,
                goffset     size,
                gsize       max_size,
                GError    **error)
{
  if ((guint64) size <= max_size)
    return TRUE;

  g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_TOO_LARGE,
               "The part %s has %" G_GOFFSET_FORMAT " bytes, more than %" G_GSIZE_FORMAT
               " to load at once", part->name, size, max_size);
  return FALSE;
}

/* A failure of @code on the file of @part, whose descriptor @fd (or -1)
 * is closed. */
static GBytes *
fail_payload_file_with (CairnPart   *part,
                        int          fd,
                        GIOErrorEnum code,
                        const char  *message,
                        GError     **error)
{
  if (fd >= 0)
    close (fd);
  propagate_read_error (part, g_error_new_literal (G_IO_ERROR, code, message), error);
  return NULL;
}

/* A failed system call on the file of @part, whose descriptor @fd (or
 * -1) is closed. */
static GBytes *
fail_payload_file (CairnPart  *part,
                   int         fd,
                   GError    **error)
{
  int saved_errno = errno;

  return fail_payload_file_with (part, fd, g_io_error_from_errno (saved_errno),
                                 g_strerror (saved_errno), error);
}

/* Opens a payload file to read without writing its access time where
 * the kernel lets the caller, the file's owner: on the first read of a
 * new mail, the file system otherwise writes the inode (the access time
 * of "relatime" mounts), a sixth of an indexer's time reading mail.
 * Without blocking: a named pipe put in the file's place would make
 * open() wait for a writer; regular files ignore it. */
static int
open_without_access_time (const char *path)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOATIME, 0);

  if (fd >= 0 || errno != EPERM)
    return fd;
  return g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
}

/* The largest buffer a payload file's recorded length opens with; it
 * grows as the file goes on. */
#define PAYLOAD_BUFFER_START (16 * 1024 * 1024)

/* Stats the file of a foreign part found of another length than
 * recorded: changed since, or no regular file at all (a device would
 * never end, a named pipe ends at once). Closes @fd on a failure. */
static gboolean
stat_regular_file (CairnPart    *part,
                   int           fd,
                   struct stat  *st,
                   GError      **error)
{
  if (fstat (fd, st) != 0)
    fail_payload_file (part, fd, error);
  else if (!S_ISREG (st->st_mode))
    fail_payload_file_with (part, fd, G_IO_ERROR_NOT_REGULAR_FILE, "Not a regular file", error);
  else
    return TRUE;
  return FALSE;
}

/* The length of @part's file, for an error: the recorded one if a stat
 * fails. */
static goffset
file_size (CairnPart *part,
           int        fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 ? st.st_size : part->size;
}

/* Loads the file of an external or foreign part with plain system calls:
 * for the few kilobytes of a mail, a GFile, its stream and a GFileInfo
 * cost as much as the reading itself, and the indexer reads every mail.
 * It reads the recorded length and one byte more, so that a file of that
 * length is read by one call and its end found by the next, without a
 * stat, which was a sixteenth of the indexer's reading. An external
 * file must have that length; a foreign one, which other programs own,
 * may have changed since: one found longer is stat()ed, and read to its
 * end if it is a regular file. */
static GBytes *
load_payload_file (CairnPart     *part,
                   gsize          max_size,
                   GCancellable  *cancellable,
                   GError       **error)
{
  gboolean external = part->storage == CAIRN_PART_STORAGE_EXTERNAL;
  gsize recorded = part->size > 0 ? (gsize) MIN ((guint64) part->size, G_MAXSIZE - 1) : 0;
  /* The most read: of an external file a byte more than recorded, which
   * tells a longer file; of a foreign one a byte more than @max_size,
   * which tells it is exceeded. */
  gsize most = external ? recorded + 1 : max_size == G_MAXSIZE ? max_size : max_size + 1;
  /* Within a bound: a damaged store may record any length. */
  gsize wanted = MIN (MIN (recorded, PAYLOAD_BUFFER_START) + 1, most);
  g_autofree guint8 *data = NULL;
  gboolean stated = FALSE;
  struct stat st;
  gsize length = 0;
  int fd;

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      (external && !check_max_size (part, part->size, max_size, error)))
    return NULL;
  fd = open_without_access_time (part->path);
  if (fd < 0)
    return fail_payload_file (part, fd, error);

  data = g_malloc (wanted);
  for (;;)
    {
      gssize n;

      if (length == wanted)
        {
          if (wanted == most)
            break;
          /* A foreign file longer than recorded is read to its end as it
           * is now. */
          if (!external && !stated)
            {
              stated = TRUE;
              if (!stat_regular_file (part, fd, &st, error))
                return NULL;
              most = MIN (most, MAX ((gsize) st.st_size, length) + 1);
              continue;
            }
          wanted = most - wanted > wanted ? wanted * 2 : most;
          data = g_realloc (data, wanted);
        }
      n = read (fd, data + length, wanted - length);
      if (n < 0 && errno == EINTR)
        continue;
      /* EISDIR for a folder, which open() takes and g_file_read() refuses. */
      if (n < 0)
        return fail_payload_file (part, fd, error);
      if (n == 0)
        {
          /* A foreign file shorter than recorded is taken as it is. */
          if (!external && !stated && length != recorded &&
              !stat_regular_file (part, fd, &st, error))
            return NULL;
          break;
        }
      length += n;
    }
  if ((external && length != (gsize) part->size &&
       !check_file_size (part, file_size (part, fd), error)) ||
      !check_max_size (part, length > max_size ? file_size (part, fd) : (goffset) length,
                       max_size, error))
    {
      close (fd);
      return NULL;
    }
  close (fd);
  if (external && length != (gsize) part->size)
    {
      g_set_error (error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_IO,
                   "The file %s of part %s ended after %" G_GSIZE_FORMAT " of %"
                   G_GOFFSET_FORMAT " bytes", part->path, part->name, length, part->size);
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&data), length);
}

/**
 * cairn_part_read_bytes:
 * @part: a #CairnPart read from the store, or made by
 *   cairn_part_new_inline() or cairn_part_new_foreign()
 * @max_size: the largest payload to load, in bytes (%G_MAXSIZE for any)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Loads the whole payload of @part into memory, wherever it lives, as
 * cairn_part_open_stream() reads it. A payload larger than @max_size is not
 * read and gives %CAIRN_STORE_ERROR_TOO_LARGE: read it with
 * cairn_part_open_stream() instead. The other errors are those of
 * cairn_part_open_stream(); a file that ends before its recorded size gives
 * %CAIRN_STORE_ERROR_IO. An empty payload gives empty bytes, never %NULL.
 *
 * The file is read in the calling thread; see
 * cairn_part_read_bytes_async() for the main loop. Its access time stays
 * as it was when the calling process owns the file (`O_NOATIME`).
 *
 * Returns: (transfer full): the payload, or %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
cairn_part_read_bytes (CairnPart     *part,
                       gsize          max_size,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_return_val_if_fail (part != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_readable (part, error))
    return NULL;
  if (part->storage == CAIRN_PART_STORAGE_INLINE)
    return check_max_size (part, g_bytes_get_size (part->data), max_size, error)
           ? g_bytes_ref (part->data) : NULL;

  return load_payload_file (part, max_size, cancellable, error);
}

typedef struct
{
  CairnPart *part;
  gsize max_size;
} ReadBytes;

static void
read_bytes_free (ReadBytes *read)
{
  cairn_part_unref (read->part);
  g_free (read);
}

static void
read_bytes_thread (GTask        *task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  ReadBytes *read = task_data;
  GError *error = NULL;
  GBytes *bytes = cairn_part_read_bytes (read->part, read->max_size, cancellable, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/**
 * cairn_part_read_bytes_async:
 * @part: a #CairnPart read from the store, or made by
 *   cairn_part_new_inline() or cairn_part_new_foreign()
 * @max_size: the largest payload to load, in bytes (%G_MAXSIZE for any)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the payload
 * @user_data: data for @callback
 *
 * Loads the payload of @part in a worker thread, as
 * cairn_part_read_bytes() does.
 *
 * Since: 0.1
 */
void
cairn_part_read_bytes_async (CairnPart           *part,
                             gsize                max_size,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadBytes *read;

  g_return_if_fail (part != NULL);

  read = g_new0 (ReadBytes, 1);
  read->part = cairn_part_ref (part);
  read->max_size = max_size;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cairn_part_read_bytes_async);
  g_task_set_task_data (task, read, (GDestroyNotify) read_bytes_free);
  g_task_run_in_thread (task, read_bytes_thread);
}

/**
 * cairn_part_read_bytes_finish:
 * @part: the #CairnPart passed to cairn_part_read_bytes_async()
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes cairn_part_read_bytes_async().
 *
 * Returns: (transfer full): the payload, or %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
cairn_part_read_bytes_finish (CairnPart     *part,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (part != NULL, NULL);
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cairn_part_read_bytes_async,
                        NULL);
  g_return_val_if_fail (((ReadBytes *) g_task_get_task_data (G_TASK (result)))->part == part, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
