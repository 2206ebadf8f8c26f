/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-flags.h"
#include "cairn-part-private.h"

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
 * Returns: (transfer none) (nullable): the payload of an inline part, if
 *   loaded
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
