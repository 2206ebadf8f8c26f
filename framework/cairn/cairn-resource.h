/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <cairn-scheduler/cairn-scheduler.h>

#include "cairn-agent.h"
#include "cairn-item-sync.h"
#include "cairn-observer.h"
#include "cairn-secrets.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_RESOURCE_ERROR:
 *
 * The error domain a resource reports its backend's failures in.
 *
 * Since: 0.1
 */
#define CAIRN_RESOURCE_ERROR (cairn_resource_error_quark ())

/**
 * CairnResourceError:
 * @CAIRN_RESOURCE_ERROR_TRANSIENT: the backend cannot be reached or is busy;
 *   the work is tried again later
 * @CAIRN_RESOURCE_ERROR_PERMANENT: the backend refused the work; trying
 *   again will not help. A change replay failing so is kept as a failed
 *   change.
 * @CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS: the password is missing or wrong
 * @CAIRN_RESOURCE_ERROR_NOT_RUNNING: a client asked a resource that is not
 *   running
 * @CAIRN_RESOURCE_ERROR_INVALID: a request names something the resource does
 *   not own
 * @CAIRN_RESOURCE_ERROR_NOT_SUPPORTED: the resource cannot do this: it has
 *   no callback for a kind of change, or cannot retrieve single items
 *
 * Errors of resources.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_RESOURCE_ERROR_TRANSIENT,
  CAIRN_RESOURCE_ERROR_PERMANENT,
  CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
  CAIRN_RESOURCE_ERROR_NOT_RUNNING,
  CAIRN_RESOURCE_ERROR_INVALID,
  CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
} CairnResourceError;

/**
 * CairnConflictPolicy:
 * @CAIRN_CONFLICT_POLICY_KEEP_SERVER: the backend's version replaces the
 *   local one
 * @CAIRN_CONFLICT_POLICY_KEEP_LOCAL: the local version is written over the
 *   backend's
 * @CAIRN_CONFLICT_POLICY_KEEP_BOTH: the backend's version replaces the local
 *   one, and the local version becomes a new item, replayed as a creation
 *
 * What a resource does when the backend changed an item that has a local
 * change not yet replayed. Flags are never chosen: the local flag deltas
 * are applied on top of the backend's flags under every policy.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_CONFLICT_POLICY_KEEP_SERVER, /*< nick=keep-server >*/
  CAIRN_CONFLICT_POLICY_KEEP_LOCAL, /*< nick=keep-local >*/
  CAIRN_CONFLICT_POLICY_KEEP_BOTH, /*< nick=keep-both >*/
} CairnConflictPolicy;

/**
 * CAIRN_RESOURCE_INTERFACE:
 *
 * The name of the D-Bus interface a #CairnResource exports beside
 * `org.cairn.Agent1`, on the same object and bus name.
 *
 * Since: 0.1
 */
#define CAIRN_RESOURCE_INTERFACE "org.cairn.Resource1"

#define CAIRN_TYPE_RESOURCE (cairn_resource_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (CairnResource, cairn_resource, CAIRN, RESOURCE, CairnAgent)

/**
 * CairnResourceClass:
 * @parent_class: the parent class
 * @retrieve_collections: lists the backend's whole collection tree; every
 *   collection has its remote id, and its parent's remote id
 *   (cairn_collection_set_parent_remote_id()) or none for a top-level one.
 *   A stored collection takes the listed one's name, remote revision,
 *   content MIME types and the attributes it has.
 *   The default runs @retrieve_collections_sync in a worker thread.
 * @retrieve_collections_finish: returns the collections
 * @retrieve_items: hands the items of @collection to @sync with
 *   cairn_item_sync_add_item() or cairn_item_sync_add_items(), then
 *   completes; the items added one by one and not written yet are written
 *   when it completes successfully, and dropped when it fails. The default
 *   runs @retrieve_items_sync in a worker thread.
 * @retrieve_items_finish: returns whether the listing completed; only then
 *   does a full sync remove the items it did not list
 * @retrieve_item: reads @parts (every part when %NULL) of @item from the
 *   backend. The default runs @retrieve_item_sync in a worker thread.
 * @retrieve_item_finish: returns an item with the parts read, the same
 *   remote id, and optionally a new remote revision
 * @retrieve_collections_sync: the blocking form of @retrieve_collections,
 *   run in a worker thread
 * @retrieve_items_sync: the blocking form of @retrieve_items, run in a
 *   worker thread; it may call cairn_item_sync_add_item() from there
 * @retrieve_item_sync: the blocking form of @retrieve_item, run in a
 *   worker thread
 * @replay_item_added_sync: writes a new item to the backend
 * @replay_item_changed_sync: writes an item's new content over the
 *   backend's, or hands the backend's version back when it changed too
 * @replay_flags_changed_sync: adds and removes flags of one item
 * @replay_item_moved_sync: moves an item from collection @source to
 *   @destination
 * @replay_item_removed_sync: removes an item
 * @replay_collection_added_sync: creates a collection
 * @replay_collection_changed_sync: renames or otherwise changes a
 *   collection; also moves it when @replay_collection_moved_sync is
 *   %NULL
 * @replay_collection_moved_sync: moves a collection from parent @source to
 *   @destination
 * @replay_collection_removed_sync: removes a collection with its items
 * @run_task_sync: runs a custom task (cairn_scheduler_task_new_custom())
 *   that the resource queued on its scheduler (cairn_resource_get_scheduler()),
 *   in a worker thread: work of its own, such as fetching parts by cache
 *   policy in the background queue. Returns %TRUE when the task is done;
 *   setting @again asks for it to run again after the tasks queued
 *   meanwhile (%CAIRN_SCHEDULER_OUTCOME_DEFERRED), so that a long task
 *   runs in slices and never keeps a change replay or a client waiting for
 *   long. An error ends it as the errors of syncs do
 *   (%CAIRN_RESOURCE_ERROR_TRANSIENT is tried again later). Without it, a
 *   custom task fails.
 *
 * The virtual methods a resource implements.
 *
 * Each backend operation has two forms, as #GInputStream's read has: an
 * asynchronous pair for backends driven from the main loop (an IMAP or
 * DAV connection), and a blocking `_sync` method that the default
 * asynchronous pair runs in a worker thread with g_task_run_in_thread(),
 * for backends whose library or system calls block (files, a blocking
 * protocol library). Implement one form of each.
 *
 * Change replay is the #CairnObserver interface, which #CairnResource
 * implements: its callbacks run the `replay_*_sync` methods in a worker
 * thread, one change at a time, and report what they return, even when
 * cancelled meanwhile (the backend may have the change): returning
 * %TRUE reports cairn_resource_change_replayed() with the remote id and
 * revision set; an item set in `server_item` reports
 * cairn_resource_change_conflicts(); an error reports
 * cairn_resource_change_failed(), except that %CAIRN_STORE_ERROR_NOT_FOUND
 * (what the change needs was removed from the store since; its removal
 * follows) is replayed as it stands and %CAIRN_STORE_ERROR_IO (a part's
 * payload file replaced meanwhile) is transient. A change without its
 * method fails with %CAIRN_RESOURCE_ERROR_NOT_SUPPORTED, with two stand-ins:
 * a collection move without @replay_collection_moved_sync goes to
 * @replay_collection_changed_sync (parts `PARENT`), and a collection
 * change or move whose collection has no remote id (its creation never
 * reached the backend) goes to @replay_collection_added_sync. A resource that
 * replays asynchronously implements the #CairnObserver callbacks itself
 * instead, and ends each with cairn_resource_change_replayed(),
 * cairn_resource_change_failed() or cairn_resource_change_conflicts().
 *
 * Since: 0.1
 */
struct _CairnResourceClass
{
  CairnAgentClass parent_class;

  void        (*retrieve_collections)        (CairnResource        *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
  GPtrArray  *(*retrieve_collections_finish) (CairnResource        *self,
                                              GAsyncResult         *result,
                                              GError              **error);
  void        (*retrieve_items)              (CairnResource        *self,
                                              CairnCollection      *collection,
                                              CairnItemSync        *sync,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
  gboolean    (*retrieve_items_finish)       (CairnResource        *self,
                                              GAsyncResult         *result,
                                              GError              **error);
  void        (*retrieve_item)               (CairnResource        *self,
                                              CairnItem            *item,
                                              const char * const   *parts,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
  CairnItem  *(*retrieve_item_finish)        (CairnResource        *self,
                                              GAsyncResult         *result,
                                              GError              **error);

  GPtrArray  *(*retrieve_collections_sync)   (CairnResource        *self,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*retrieve_items_sync)         (CairnResource        *self,
                                              CairnCollection      *collection,
                                              CairnItemSync        *sync,
                                              GCancellable         *cancellable,
                                              GError              **error);
  CairnItem  *(*retrieve_item_sync)          (CairnResource        *self,
                                              CairnItem            *item,
                                              const char * const   *parts,
                                              GCancellable         *cancellable,
                                              GError              **error);

  gboolean    (*replay_item_added_sync)      (CairnResource        *self,
                                              CairnChange          *change,
                                              CairnItem            *item,
                                              char                **remote_id,
                                              char                **remote_revision,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_item_changed_sync)    (CairnResource        *self,
                                              CairnChange          *change,
                                              CairnItem            *item,
                                              const char * const   *parts,
                                              char                **remote_revision,
                                              CairnItem           **server_item,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_flags_changed_sync)   (CairnResource        *self,
                                              CairnChange          *change,
                                              CairnItem            *item,
                                              const CairnFlags     *added,
                                              const CairnFlags     *removed,
                                              char                **remote_revision,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_item_moved_sync)      (CairnResource        *self,
                                              CairnChange          *change,
                                              CairnItem            *item,
                                              guint64               source,
                                              guint64               destination,
                                              char                **remote_id,
                                              char                **remote_revision,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_item_removed_sync)    (CairnResource        *self,
                                              CairnChange          *change,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_collection_added_sync)
                                             (CairnResource        *self,
                                              CairnChange          *change,
                                              char                **remote_id,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_collection_changed_sync)
                                             (CairnResource        *self,
                                              CairnChange          *change,
                                              const char * const   *parts,
                                              char                **remote_id,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_collection_moved_sync)
                                             (CairnResource        *self,
                                              CairnChange          *change,
                                              guint64               source,
                                              guint64               destination,
                                              char                **remote_id,
                                              GCancellable         *cancellable,
                                              GError              **error);
  gboolean    (*replay_collection_removed_sync)
                                             (CairnResource        *self,
                                              CairnChange          *change,
                                              GCancellable         *cancellable,
                                              GError              **error);

  gboolean    (*run_task_sync)               (CairnResource        *self,
                                              CairnSchedulerTask   *task,
                                              gboolean             *again,
                                              GCancellable         *cancellable,
                                              GError              **error);

  /*< private >*/
  gpointer padding[7];
};

CAIRN_AVAILABLE_IN_ALL
GQuark               cairn_resource_error_quark              (void);
CAIRN_AVAILABLE_IN_ALL
CairnResourceError   cairn_resource_error_from_errno         (int                   err_no);

CAIRN_AVAILABLE_IN_ALL
CairnScheduler      *cairn_resource_get_scheduler            (CairnResource        *self);
CAIRN_AVAILABLE_IN_ALL
CairnSecrets        *cairn_resource_get_secrets              (CairnResource        *self);
CAIRN_AVAILABLE_IN_ALL
CairnConflictPolicy  cairn_resource_get_conflict_policy      (CairnResource        *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_set_conflict_policy      (CairnResource        *self,
                                                              CairnConflictPolicy   policy);

CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_synchronize_async        (CairnResource        *self,
                                                              guint64               collection_id,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_synchronize_finish       (CairnResource        *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_synchronize_collection_tree_async
                                                             (CairnResource        *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_synchronize_collection_tree_finish
                                                             (CairnResource        *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_fetch_parts_async        (CairnResource        *self,
                                                              const guint64        *item_ids,
                                                              gsize                 n_items,
                                                              const char * const   *parts,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_fetch_parts_finish       (CairnResource        *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_change_replayed          (CairnResource        *self,
                                                              const char           *remote_id,
                                                              const char           *remote_revision);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_change_failed            (CairnResource        *self,
                                                              const GError         *error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_change_conflicts         (CairnResource        *self,
                                                              CairnItem            *server_item);

CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_get_pending_changes      (CairnResource        *self,
                                                              guint64              *count,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
GPtrArray           *cairn_resource_list_failed_changes      (CairnResource        *self,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_retry_failed_changes     (CairnResource        *self,
                                                              const guint64        *ids,
                                                              gsize                 n_ids,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_discard_failed_changes   (CairnResource        *self,
                                                              const guint64        *ids,
                                                              gsize                 n_ids,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
GArray              *cairn_resource_list_failed_collections  (CairnResource        *self);
CAIRN_AVAILABLE_IN_ALL
char                *cairn_resource_dup_sync_failure         (CairnResource        *self,
                                                              guint64               collection_id);

CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_lookup_password_async    (CairnResource        *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
char                *cairn_resource_lookup_password_finish   (CairnResource        *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_report_bad_credentials   (CairnResource        *self,
                                                              const char           *message);

CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_replay_set_remote_id     (CairnResource        *self,
                                                              const char           *remote_id);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_resource_replay_set_gid           (CairnResource        *self,
                                                              const char           *gid);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_replay_is_retry          (CairnResource        *self);
CAIRN_AVAILABLE_IN_ALL
CairnCollection     *cairn_resource_get_collection           (CairnResource        *self,
                                                              guint64               collection_id,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
char                *cairn_resource_dup_collection_remote_id (CairnResource     *self,
                                                              guint64            collection_id,
                                                              GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_resource_relocate_collections     (CairnResource        *self,
                                                              const char           *old_prefix,
                                                              const char           *new_prefix,
                                                              GError              **error);

G_END_DECLS
