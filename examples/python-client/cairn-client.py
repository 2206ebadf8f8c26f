#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Cairn client in Python: lists the store's collections, then prints
every change committed to the store, by this process or any other, until
interrupted or, with --count N, after N changes.

    GI_TYPELIB_PATH=... /usr/bin/python3 cairn-client.py [--store PATH]

docs/python.md explains it.
"""

import argparse
import os
import signal
import sys

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, GLib  # noqa: E402


def list_collections(store):
    # Depth first, every parent before its children.
    depth = {0: -1}
    for collection in store.list_collections(None):
        depth[collection.get_id()] = depth[collection.get_parent_id()] + 1
        _, count, unread, _ = store.get_collection_statistics(
            collection.get_id())
        print('{}{} [{}] {}: {} items, {} unread'.format(
            '  ' * depth[collection.get_id()], collection.get_name(),
            collection.get_resource(), collection.get_id(), count, unread))


def watch(store, count):
    """Prints changes as the monitor delivers them. The monitor reads the
    change log itself after each commit; the main loop only waits."""
    loop = GLib.MainLoop()
    monitor = Cairn.Monitor.new(store)
    seen = 0

    def show(text, changes=1):
        nonlocal seen
        print(text, flush=True)
        seen += changes
        if count is not None and seen >= count:
            loop.quit()

    monitor.connect('item-added', lambda monitor, change, item: show(
        'item {} added to collection {}'.format(
            change.get_entity_id(), change.get_collection_id())))
    monitor.connect('item-changed', lambda monitor, change, item, parts: show(
        'item {} changed: {}'.format(change.get_entity_id(),
                                     ' '.join(parts))))
    monitor.connect(
        'items-flags-changed', lambda monitor, changes, added, removed: show(
            'items {} flags added [{}] removed [{}]'.format(
                ' '.join(str(change.get_entity_id()) for change in changes),
                ' '.join(added.to_strv()), ' '.join(removed.to_strv())),
            len(changes)))
    monitor.connect(
        'item-moved', lambda monitor, change, item, source, destination: show(
            'item {} moved from collection {} to {}'.format(
                change.get_entity_id(), source, destination)))
    monitor.connect('item-removed', lambda monitor, change: show(
        'item {} removed'.format(change.get_entity_id())))
    monitor.connect('collection-added', lambda monitor, change: show(
        'collection {} added: {}'.format(change.get_entity_id(),
                                         change.get_name())))
    monitor.connect('collection-changed', lambda monitor, change, parts: show(
        'collection {} changed: {}'.format(change.get_entity_id(),
                                           ' '.join(parts))))
    monitor.connect(
        'collection-moved', lambda monitor, change, source, destination: show(
            'collection {} moved from parent {} to {}'.format(
                change.get_entity_id(), source, destination)))
    monitor.connect('collection-removed', lambda monitor, change: show(
        'collection {} removed'.format(change.get_entity_id())))
    monitor.connect('changes-lost', lambda monitor, revision: show(
        'changes up to revision {} were collected before they could be '
        'read: read the store again'.format(revision)))

    for number in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, loop.quit)
    print('Watching changes', flush=True)
    loop.run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--store', default=os.path.join(
        GLib.get_user_data_dir(), 'cairn', 'store.db'))
    parser.add_argument('--count', type=int,
                        help='exit after this many changes')
    args = parser.parse_args()
    try:
        store = Cairn.Store.open(args.store, None)
        list_collections(store)
        watch(store, args.count)
    except GLib.Error as error:
        print('cairn-client: ' + error.message, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
