/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-change-private.h"
#include "cairn-change-queue-private.h"
#include "cairn-autocleanups.h"

/* Coalescing of pending changes per entity, in log order:
 *
 * - an add absorbs every later change of its entity (a move changes the
 *   add's collection, unless the destination is created after the add; a
 *   modify adds its parts), and add then remove leaves nothing, unless
 *   the entity is a collection that changes which stay were made in (see
 *   drop_unused_collections());
 * - a remove replaces the entity's pending changes, and keeps the source
 *   of a pending move, where the backend still has the entity; a
 *   collection with a pending move keeps its changes (queue_remove());
 * - modifies merge (parts united), flag deltas merge and vanish when they
 *   cancel, moves chain and vanish when they come back (the changes made
 *   between two chained moves then belong to where the chain ends), a tag
 *   and an untag of the same tag cancel, a relation added then removed
 *   cancels.
 *
 * A merged change keeps the position of the entity's first pending change
 * of its kind, and its remote id (the name there, before a move between
 * them), and takes the revision of the last one it absorbed. A move
 * into a collection created after the entity's last pending move does not
 * chain: it stays a move of its own, in its place. */

typedef struct
{
  GPtrArray *slots;     /* CairnChange, NULL once dropped */
  GHashTable *entities; /* Entity, key and value */
  GArray *created_removed; /* ids of collections added and removed, in removal order */
} Queue;

/* An entity with pending changes: a relation is its two items and type.
 * The type points into a change of the coalesced array, which outlives
 * the queue. */
typedef struct
{
  CairnEntityKind kind;
  guint64 id;
  guint64 related_id;
  const char *name;
  GArray *indices;      /* its slots */
} Entity;

static guint
entity_hash (gconstpointer key)
{
  const Entity *entity = key;

  return g_int64_hash (&entity->id) ^ (entity->kind * 31) ^
         (entity->kind == CAIRN_ENTITY_RELATION ?
          g_int64_hash (&entity->related_id) ^ g_str_hash (entity->name ? entity->name : "") : 0);
}

static gboolean
entity_equal (gconstpointer a,
              gconstpointer b)
{
  const Entity *x = a, *y = b;

  return x->kind == y->kind && x->id == y->id &&
         (x->kind != CAIRN_ENTITY_RELATION ||
          (x->related_id == y->related_id && g_strcmp0 (x->name, y->name) == 0));
}

static void
entity_free (Entity *entity)
{
  g_array_unref (entity->indices);
  g_free (entity);
}

static GArray *
find_entity (Queue           *queue,
             CairnEntityKind  kind,
             guint64          id,
             guint64          related_id,
             const char      *name)
{
  Entity key = { kind, id, related_id, name, NULL };
  Entity *entity = g_hash_table_lookup (queue->entities, &key);

  return entity != NULL ? entity->indices : NULL;
}

static guint
append_slot (Queue       *queue,
             GArray      *indices,
             CairnChange *change)
{
  guint index = queue->slots->len;

  g_ptr_array_add (queue->slots, cairn_change_ref (change));
  g_array_append_val (indices, index);
  return index;
}

/* Returns the index in @indices of the entity's first slot with
 * @operation, or -1. */
static int
find_slot (Queue                *queue,
           GArray               *indices,
           CairnChangeOperation  operation)
{
  for (guint i = 0; i < indices->len; i++)
    {
      CairnChange *slot = g_ptr_array_index (queue->slots, g_array_index (indices, guint, i));

      if (slot->operation == operation)
        return i;
    }

  return -1;
}

/* The same for the entity's last slot with @operation: an entity can have
 * several pending moves (see chain_move()), and a new one chains with the
 * last. */
static int
find_last_slot (Queue                *queue,
                GArray               *indices,
                CairnChangeOperation  operation)
{
  for (guint i = indices->len; i > 0; i--)
    {
      CairnChange *slot = g_ptr_array_index (queue->slots, g_array_index (indices, guint, i - 1));

      if (slot->operation == operation)
        return i - 1;
    }

  return -1;
}

static void
drop_slot (Queue  *queue,
           GArray *indices,
           guint   i)
{
  guint index = g_array_index (indices, guint, i);

  g_clear_pointer (&g_ptr_array_index (queue->slots, index), cairn_change_unref);
  g_array_remove_index (indices, i);
}

/* The slot's change, copied first so that it can be edited. */
static CairnChange *
edit_slot (Queue  *queue,
           GArray *indices,
           guint   i,
           guint64 revision)
{
  gpointer *slot = &g_ptr_array_index (queue->slots, g_array_index (indices, guint, i));
  CairnChange *copy = _cairn_change_copy (*slot);

  cairn_change_unref (*slot);
  *slot = copy;
  copy->revision = revision;
  return copy;
}

static void
replace_string (char       **field,
                const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

static void
unite_parts (CairnChange       *change,
             const CairnChange *later)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char * const *parts = cairn_change_get_parts (change);
  const char * const *later_parts = cairn_change_get_parts (later);

  g_strv_builder_addv (builder, (const char **) parts);
  for (guint i = 0; later_parts[i] != NULL; i++)
    if (!g_strv_contains (parts, later_parts[i]))
      g_strv_builder_add (builder, later_parts[i]);

  g_strfreev (change->parts);
  change->parts = g_strv_builder_end (builder);
  /* Delivered in the place of @change, the merged change names the
   * entity as it was named there: after a move between the two, the
   * later name is the destination's, or none. */
  if (change->remote_id == NULL)
    replace_string (&change->remote_id, later->remote_id);
  /* A collection's entries carry its name of that change. */
  if (change->entity_kind == CAIRN_ENTITY_COLLECTION)
    replace_string (&change->name, later->name);
}

static void
remove_entity (Queue  *queue,
               GArray *indices)
{
  while (indices->len > 0)
    drop_slot (queue, indices, 0);
}

static void
queue_remove (Queue       *queue,
              GArray      *indices,
              CairnChange *change)
{
  int add = find_slot (queue, indices, CAIRN_CHANGE_ADD);
  int move;
  g_autoptr(CairnChange) removal = NULL;

  if (add >= 0)
    {
      /* A relation removed and added again is two changes; anything else
       * added and removed while pending never reaches the observer, but a
       * collection only once the whole range shows that nothing that
       * stays was made in it. */
      if (change->entity_kind == CAIRN_ENTITY_RELATION)
        drop_slot (queue, indices, add);
      else if (change->entity_kind == CAIRN_ENTITY_COLLECTION)
        {
          append_slot (queue, indices, change);
          g_array_append_val (queue->created_removed, change->entity_id);
        }
      else
        remove_entity (queue, indices);
      return;
    }

  move = find_slot (queue, indices, CAIRN_CHANGE_MOVE);
  /* A collection keeps its pending changes: in the backend it stays in
   * its old parent until its move, and a removal of that parent coming
   * between would take it with what was moved out of it since. */
  if (move >= 0 && change->entity_kind == CAIRN_ENTITY_COLLECTION)
    {
      append_slot (queue, indices, change);
      return;
    }
  removal = _cairn_change_copy (change);
  if (move >= 0)
    {
      CairnChange *first = g_ptr_array_index (queue->slots, g_array_index (indices, guint, move));

      removal->collection_id = first->collection_id;
      replace_string (&removal->remote_id, first->remote_id);
    }
  remove_entity (queue, indices);
  append_slot (queue, indices, removal);
}

/* Whether collection @id is created by a pending change that comes after
 * slot @slot: an add or move placed at @slot cannot be put in it. */
static gboolean
created_after (Queue   *queue,
               guint64  id,
               guint    slot)
{
  GArray *indices = find_entity (queue, CAIRN_ENTITY_COLLECTION, id, 0, NULL);
  int add = indices != NULL ? find_slot (queue, indices, CAIRN_CHANGE_ADD) : -1;

  return add >= 0 && g_array_index (indices, guint, add) > slot;
}

/* Moves chain into one, in the place of the move at @same, unless the new
 * destination is created after that place. Then the new move stays a move
 * of its own, in its place: the earlier one cannot wait for it either,
 * since changes in between may remove its source, or a collection above
 * it, and with it what the backend still has there. */
static void
chain_move (Queue       *queue,
            GArray      *indices,
            guint        same,
            CairnChange *change)
{
  CairnChange *merged;

  if (created_after (queue, change->destination_id, g_array_index (indices, guint, same)))
    {
      append_slot (queue, indices, change);
      return;
    }

  merged = edit_slot (queue, indices, same, change->revision);
  merged->destination_id = change->destination_id;
  if (change->entity_kind == CAIRN_ENTITY_COLLECTION)
    replace_string (&merged->name, change->name);
  /* The entity's changes made between the two moves come after the
   * chained one, where it ends: a resource whose names are per folder
   * (IMAP UIDs) replays them there, and names the entity there in what
   * it reports. */
  for (guint i = same + 1; i < indices->len; i++)
    {
      CairnChange *between = g_ptr_array_index (queue->slots, g_array_index (indices, guint, i));

      edit_slot (queue, indices, i, between->revision)->collection_id = merged->destination_id;
    }
  if (merged->collection_id == merged->destination_id)
    drop_slot (queue, indices, same);
}

/* An add absorbs its entity's later changes: the item or collection is
 * created with its last content and flags. A move is absorbed too, unless
 * its destination is created after the add; then it stays a move, after
 * that creation. */
static void
queue_into_add (Queue       *queue,
                GArray      *indices,
                guint        add,
                CairnChange *change)
{
  int move;

  if (change->operation == CAIRN_CHANGE_MODIFY)
    {
      unite_parts (edit_slot (queue, indices, add, change->revision), change);
      return;
    }
  if (change->entity_kind == CAIRN_ENTITY_COLLECTION)
    replace_string (&edit_slot (queue, indices, add, change->revision)->name, change->name);
  if (change->operation != CAIRN_CHANGE_MOVE)
    return;

  move = find_last_slot (queue, indices, CAIRN_CHANGE_MOVE);
  if (move >= 0)
    chain_move (queue, indices, move, change);
  else if (created_after (queue, change->destination_id, g_array_index (indices, guint, add)))
    append_slot (queue, indices, change);
  else
    edit_slot (queue, indices, add, change->revision)->collection_id = change->destination_id;
}

static void
queue_change (Queue       *queue,
              GArray      *indices,
              CairnChange *change)
{
  int add, same, later_slot;

  if (change->operation == CAIRN_CHANGE_REMOVE)
    {
      queue_remove (queue, indices, change);
      return;
    }
  if (change->entity_kind == CAIRN_ENTITY_RELATION)
    {
      append_slot (queue, indices, change);
      return;
    }

  /* A collection's changes carry its parent and name of their time, which
   * is where a resource puts it when it replays them. Taken into an earlier
   * slot of its, across a slot of another kind of change of it, a change
   * would be delivered with a later state before that slot, which would
   * then take the collection back to its earlier parent or name. */
  later_slot = change->entity_kind == CAIRN_ENTITY_COLLECTION ? (int) indices->len - 1 : -1;
  add = find_slot (queue, indices, CAIRN_CHANGE_ADD);
  if (add >= 0 && (later_slot < 0 || add == later_slot))
    {
      queue_into_add (queue, indices, add, change);
      return;
    }

  if (change->operation == CAIRN_CHANGE_TAG || change->operation == CAIRN_CHANGE_UNTAG)
    {
      CairnChangeOperation opposite = change->operation == CAIRN_CHANGE_TAG ?
                                      CAIRN_CHANGE_UNTAG : CAIRN_CHANGE_TAG;

      for (guint i = 0; i < indices->len; i++)
        {
          CairnChange *slot = g_ptr_array_index (queue->slots, g_array_index (indices, guint, i));

          if (slot->operation == opposite && slot->related_id == change->related_id)
            {
              drop_slot (queue, indices, i);
              return;
            }
        }
      append_slot (queue, indices, change);
      return;
    }

  same = find_last_slot (queue, indices, change->operation);
  if (same < 0 || (later_slot >= 0 && same != later_slot))
    {
      append_slot (queue, indices, change);
      return;
    }

  switch (change->operation)
    {
    case CAIRN_CHANGE_MODIFY:
      unite_parts (edit_slot (queue, indices, same, change->revision), change);
      break;

    case CAIRN_CHANGE_FLAGS:
      {
        CairnChange *merged = edit_slot (queue, indices, same, change->revision);

        cairn_flags_delta_merge (merged->flags_delta, change->flags_delta);
        if (cairn_flags_delta_is_empty (merged->flags_delta))
          drop_slot (queue, indices, same);
      }
      break;

    case CAIRN_CHANGE_MOVE:
      chain_move (queue, indices, same, change);
      break;

    default:
      append_slot (queue, indices, change);
      break;
    }
}

/* Counts @delta uses of the collections that @change was made in: those
 * an add creates its entity in, and both ends of a move. */
static void
use_collections (GHashTable        *uses,
                 const CairnChange *change,
                 int                delta)
{
  guint64 ids[] = { change->collection_id, change->destination_id };
  guint n = change->operation == CAIRN_CHANGE_MOVE ? 2 :
            change->operation == CAIRN_CHANGE_ADD ? 1 : 0;

  if (change->entity_kind == CAIRN_ENTITY_RELATION)
    return;
  for (guint i = 0; i < n; i++)
    {
      int count = GPOINTER_TO_INT (g_hash_table_lookup (uses, &ids[i]));

      g_hash_table_insert (uses, g_memdup2 (&ids[i], sizeof ids[i]),
                           GINT_TO_POINTER (count + delta));
    }
}

/* A collection added and removed while pending never reaches the
 * observer, with its changes, unless a change that stays was made in
 * it: an entity moved into it and on into a collection created after
 * that move, or created in it and moved so (chain_move(),
 * queue_into_add()). The entity's changes need it in the backend between
 * the two, so it is then created and removed in its places. A subtree is
 * removed deepest first, so a collection's sub-collections are decided
 * before it. */
static void
drop_unused_collections (Queue *queue)
{
  g_autoptr(GHashTable) uses = NULL;

  if (queue->created_removed->len == 0)
    return;
  uses = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < queue->slots->len; i++)
    if (g_ptr_array_index (queue->slots, i) != NULL)
      use_collections (uses, g_ptr_array_index (queue->slots, i), 1);
  for (guint i = 0; i < queue->created_removed->len; i++)
    {
      guint64 id = g_array_index (queue->created_removed, guint64, i);
      GArray *indices = find_entity (queue, CAIRN_ENTITY_COLLECTION, id, 0, NULL);

      if (GPOINTER_TO_INT (g_hash_table_lookup (uses, &id)) > 0)
        continue;
      for (guint j = 0; j < indices->len; j++)
        use_collections (uses, g_ptr_array_index (queue->slots, g_array_index (indices, guint, j)),
                         -1);
      remove_entity (queue, indices);
    }
}

/* Returns the changes of @changes, in log order, coalesced per entity. */
GPtrArray *
_cairn_coalesce_changes (GPtrArray *changes)
{
  Queue queue;
  GPtrArray *result = g_ptr_array_new_full (changes->len, (GDestroyNotify) cairn_change_unref);

  queue.slots = g_ptr_array_new_full (changes->len, NULL);
  queue.entities = g_hash_table_new_full (entity_hash, entity_equal,
                                          (GDestroyNotify) entity_free, NULL);
  queue.created_removed = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < changes->len; i++)
    {
      CairnChange *change = g_ptr_array_index (changes, i);
      gboolean relation = change->entity_kind == CAIRN_ENTITY_RELATION;
      GArray *indices = find_entity (&queue, change->entity_kind, change->entity_id,
                                     relation ? change->related_id : 0,
                                     relation ? change->name : NULL);

      if (indices == NULL)
        {
          Entity *entity = g_new (Entity, 1);

          entity->kind = change->entity_kind;
          entity->id = change->entity_id;
          entity->related_id = relation ? change->related_id : 0;
          entity->name = relation ? change->name : NULL;
          entity->indices = indices = g_array_new (FALSE, FALSE, sizeof (guint));
          g_hash_table_add (queue.entities, entity);
        }

      queue_change (&queue, indices, change);
    }
  drop_unused_collections (&queue);

  for (guint i = 0; i < queue.slots->len; i++)
    if (g_ptr_array_index (queue.slots, i) != NULL)
      g_ptr_array_add (result, g_ptr_array_index (queue.slots, i));

  g_ptr_array_unref (queue.slots);
  g_hash_table_unref (queue.entities);
  g_array_unref (queue.created_removed);

  return result;
}

/* Planning chunks
 *
 * Coalescing looks at other entities in two places: whether a move's
 * destination is created after an earlier pending change of the moved
 * entity (created_after()), and whether a change that stays was made in
 * a collection added and removed (drop_unused_collections()). That
 * creation lies within the moved entity's own changes, and that change
 * between the collection's addition and removal, so a chunk that holds
 * every change of each of its entities holds both entities with all
 * their changes. Chunks that share no entity therefore coalesce alone as
 * they do in one range.
 *
 * A plan keeps 8 bytes per change log entry: a 32-bit hash of its entity
 * and its revision as an offset from the range's start. Two entities that
 * share a hash only make a chunk longer than it must be. */

typedef struct
{
  guint32 identity;
  guint32 offset;
} PlannedChange;

struct _CairnChunkPlan
{
  guint64 start;
  guint64 last_revision;
  gboolean too_long;  /* offsets do not fit: one chunk */
  GArray *changes;    /* PlannedChange, in log order */
};

static guint32
entity_identity (CairnEntityKind kind,
                 guint64         id,
                 guint64         related_id,
                 guint           name_hash)
{
  guint64 value = id * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) + kind;

  if (kind == CAIRN_ENTITY_RELATION)
    value ^= related_id * G_GUINT64_CONSTANT (0xC2B2AE3D27D4EB4F) ^ name_hash;
  return (guint32) (value >> 32) ^ (guint32) value;
}

static int
compare_planned (gconstpointer a,
                 gconstpointer b)
{
  const PlannedChange *x = a, *y = b;

  if (x->identity != y->identity)
    return x->identity < y->identity ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The offset of the last change of @identity in @last (sorted, one entry
 * per identity), or 0. */
static guint32
find_last_change (GArray  *last,
                  guint32  identity)
{
  guint low = 0, high = last->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      const PlannedChange *entry = &g_array_index (last, PlannedChange, middle);

      if (entry->identity == identity)
        return entry->offset;
      if (entry->identity < identity)
        low = middle + 1;
      else
        high = middle;
    }
  return 0;
}

/* A plan of the chunks of the change log range after @start: feed it every
 * entry of the range in log order (_cairn_store_foreach_change_key() calls
 * _cairn_chunk_plan_add()), then call _cairn_chunk_plan_finish(). */
CairnChunkPlan *
_cairn_chunk_plan_new (guint64 start)
{
  CairnChunkPlan *plan = g_new0 (CairnChunkPlan, 1);

  plan->start = start;
  plan->changes = g_array_new (FALSE, FALSE, sizeof (PlannedChange));
  return plan;
}

void
_cairn_chunk_plan_free (CairnChunkPlan *plan)
{
  g_array_unref (plan->changes);
  g_free (plan);
}

void
_cairn_chunk_plan_add (const CairnChangeKey *key,
                       gpointer              user_data)
{
  CairnChunkPlan *plan = user_data;
  PlannedChange change = {
    entity_identity (key->entity_kind, key->entity_id, key->related_id, key->name_hash),
    (guint32) (key->revision - plan->start)
  };

  plan->too_long |= key->revision - plan->start > G_MAXUINT32;
  plan->last_revision = key->revision;
  g_array_append_val (plan->changes, change);
}

/* Returns the revisions at which the planned range can be cut into chunks
 * of at least @min_length entries that share no entity. The last cut is
 * the range's last revision; an empty range has none. */
GArray *
_cairn_chunk_plan_finish (CairnChunkPlan *plan,
                          guint           min_length)
{
  GArray *changes = plan->changes;
  g_autoptr(GArray) last = NULL;
  GArray *cuts = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint32 horizon = 0;
  guint length = 0, kept = 0;

  if (changes->len == 0)
    return cuts;
  if (plan->too_long)
    min_length = G_MAXUINT;

  last = g_array_sized_new (FALSE, FALSE, sizeof (PlannedChange), changes->len);
  g_array_append_vals (last, changes->data, changes->len);
  g_array_sort (last, compare_planned);
  for (guint i = 0; i < last->len; i++)
    if (i + 1 == last->len ||
        g_array_index (last, PlannedChange, i + 1).identity !=
        g_array_index (last, PlannedChange, i).identity)
      g_array_index (last, PlannedChange, kept++) = g_array_index (last, PlannedChange, i);
  g_array_set_size (last, kept);

  for (guint i = 0; i < changes->len; i++)
    {
      const PlannedChange *change = &g_array_index (changes, PlannedChange, i);

      horizon = MAX (horizon, find_last_change (last, change->identity));
      length++;
      /* A transaction's entries are never split. */
      if (i + 1 < changes->len &&
          g_array_index (changes, PlannedChange, i + 1).offset != change->offset &&
          change->offset >= horizon && length >= min_length)
        {
          guint64 revision = plan->start + change->offset;

          g_array_append_val (cuts, revision);
          length = 0;
        }
    }
  g_array_append_val (cuts, plan->last_revision);

  return cuts;
}
