/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-change.h"
#include "cairn-flags.h"
#include "cairn-item.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

typedef struct _CairnMonitor CairnMonitor;

#define CAIRN_TYPE_OBSERVER (cairn_observer_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (CairnObserver, cairn_observer, CAIRN, OBSERVER, GObject)

/**
 * CairnObserverInterface:
 * @item_added: an item was added; @item is loaded when the monitor has a
 *   fetch scope
 * @item_changed: an item's columns, parts or attributes changed; @parts
 *   names them (attributes as `ATR:name`)
 * @items_flags_changed: the flags of one or more items changed by the same
 *   delta
 * @item_moved: an item moved from @source to @destination
 * @item_removed: an item was removed
 * @items_added: batch form of @item_added, used when the monitor batches
 * @items_moved: batch form of @item_moved, for items with the same source
 *   and destination
 * @items_removed: batch form of @item_removed
 * @collection_added: a collection was added
 * @collection_changed: a collection changed; @parts names what changed
 * @collection_moved: a collection moved from parent @source to @destination
 * @collection_removed: a collection was removed
 * @tag_added: a tag was added
 * @tag_changed: a tag changed
 * @tag_removed: a tag was removed
 * @item_tags_changed: an item got (%CAIRN_CHANGE_TAG) or lost
 *   (%CAIRN_CHANGE_UNTAG) the tag whose id is the change's related id
 * @relation_added: a relation was added
 * @relation_removed: a relation was removed
 *
 * The callbacks an agent implements to react to changes. A monitor calls
 * them, after its signals, for the observer set with
 * cairn_monitor_set_observer(). A callback left %NULL marks the change
 * processed, so a #CairnChangeRecorder moves on to the next change.
 * Implemented callbacks call cairn_change_recorder_change_processed()
 * themselves when they are done, possibly later.
 *
 * Since: 0.1
 */
struct _CairnObserverInterface
{
  GTypeInterface g_iface;

  void (*item_added)          (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change,
                               CairnItem         *item);
  void (*item_changed)        (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change,
                               CairnItem         *item,
                               const char *const *parts);
  void (*items_flags_changed) (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               GPtrArray         *changes,
                               const CairnFlags  *added,
                               const CairnFlags  *removed);
  void (*item_moved)          (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change,
                               CairnItem         *item,
                               guint64            source,
                               guint64            destination);
  void (*item_removed)        (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*items_added)         (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               GPtrArray         *changes,
                               GPtrArray         *items);
  void (*items_moved)         (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               GPtrArray         *changes,
                               guint64            source,
                               guint64            destination);
  void (*items_removed)       (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               GPtrArray         *changes);
  void (*collection_added)    (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*collection_changed)  (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change,
                               const char *const *parts);
  void (*collection_moved)    (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change,
                               guint64            source,
                               guint64            destination);
  void (*collection_removed)  (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*tag_added)           (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*tag_changed)         (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*tag_removed)         (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*item_tags_changed)   (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*relation_added)      (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);
  void (*relation_removed)    (CairnObserver     *self,
                               CairnMonitor      *monitor,
                               CairnChange       *change);

  /*< private >*/
  gpointer padding[8];
};

G_END_DECLS
