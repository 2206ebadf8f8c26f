/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cairn-monitor.h"
#include "cairn-observer.h"

/**
 * CairnObserver:
 *
 * The callbacks an agent implements to react to changes in the store,
 * set on a #CairnMonitor or a #CairnChangeRecorder with
 * cairn_monitor_set_observer().
 *
 * Every callback is optional: one that is not implemented marks the
 * change processed, so a recorder goes on with the next change. An
 * implemented callback of a recorder's observer must call
 * cairn_change_recorder_change_processed() once it is done, at once or
 * later; until then the recorder delivers nothing else.
 *
 * Since: 0.1
 */

G_DEFINE_INTERFACE (CairnObserver, cairn_observer, G_TYPE_OBJECT)

static void
cairn_observer_default_init (CairnObserverInterface *iface)
{
}

/**
 * CairnObserverInterface::items_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes
 * @items: (element-type CairnItem): their items, in the same order
 *
 * Batch form of #CairnObserverInterface.item_added.
 */

/**
 * CairnObserverInterface::items_flags_changed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes, one an item; each
 *   item is cairn_change_get_item() when the monitor has a fetch scope
 * @added: the flags added to every item
 * @removed: the flags removed from every item
 *
 * The flags of one or more items changed by the same delta.
 */

/**
 * CairnObserverInterface::items_moved:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes
 * @source: the collection the items left
 * @destination: the collection they went to
 *
 * Batch form of #CairnObserverInterface.item_moved.
 */

/**
 * CairnObserverInterface::items_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes
 *
 * Batch form of #CairnObserverInterface.item_removed.
 */
