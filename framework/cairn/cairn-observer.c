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
 * CairnObserverInterface::item_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 * @item: (nullable): the item, loaded when the monitor has a fetch scope
 *
 * An item was added.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::item_changed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 * @item: (nullable): the item, loaded when the monitor has a fetch scope
 * @parts: (array zero-terminated=1): what changed: parts, and attributes
 *   as `ATR:name`
 *
 * An item's columns, parts or attributes changed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::item_moved:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 * @item: (nullable): the item, loaded when the monitor has a fetch scope
 * @source: the collection the item left
 * @destination: the collection it went to
 *
 * An item moved from one collection to another.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::item_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * An item was removed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::collection_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A collection was added.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::collection_changed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 * @parts: (array zero-terminated=1): what changed
 *
 * A collection changed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::collection_moved:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 * @source: the parent the collection left
 * @destination: its new parent
 *
 * A collection moved from one parent to another.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::collection_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A collection was removed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::tag_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A tag was added.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::tag_changed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A tag changed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::tag_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A tag was removed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::item_tags_changed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * An item got (%CAIRN_CHANGE_TAG) or lost (%CAIRN_CHANGE_UNTAG) the tag
 * whose id is the change's related id.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::relation_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A relation was added.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::relation_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @change: the change
 *
 * A relation was removed.
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::items_added:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes
 * @items: (element-type CairnItem): their items, in the same order
 *
 * Batch form of #CairnObserverInterface.item_added.
 *
 * Since: 0.1
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
 *
 * Since: 0.1
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
 *
 * Since: 0.1
 */

/**
 * CairnObserverInterface::items_removed:
 * @self: a #CairnObserver
 * @monitor: the monitor delivering
 * @changes: (element-type CairnChange): the changes
 *
 * Batch form of #CairnObserverInterface.item_removed.
 *
 * Since: 0.1
 */
