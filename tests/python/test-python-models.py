# SPDX-License-Identifier: LGPL-2.1-or-later
"""The live models through GObject introspection, as a Python or GTK
application uses them: Cairn.ItemModel opened both ways and following a
write, and Cairn.CollectionModel with its children and live counts."""

import unittest

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, Gio, GLib  # noqa: E402

from privatebus import PrivateSession  # noqa: E402


def write(store, function):
    def transaction(transaction, data):
        function(transaction)
        return True
    store.write_sync(transaction, None, None)


class PythonModelsTest(unittest.TestCase):
    def setUp(self):
        self.session = PrivateSession().__enter__()
        self.addCleanup(self.session.__exit__, None, None, None)
        self.store = Cairn.Store.open(self.session.path('store.db'), None)
        self.inbox = Cairn.Collection.new('demo', 0, 'Inbox')
        write(self.store, lambda transaction: transaction.create_collection(
            self.inbox))
        self.items = []
        for i in range(100):
            item = Cairn.Item.new('message/rfc822')
            item.set_collection_id(self.inbox.get_id())
            item.set_remote_id(str(i))
            self.items.append(item)
        self.store.create_items_sync(self.items, None)
        seen = Cairn.FlagsDelta.new_from_strv(['\\Seen'], None)

        def mark_odd_read(transaction):
            for item in self.items[1::2]:
                transaction.change_flags(item.get_id(), seen, 0)
        write(self.store, mark_odd_read)

    def run_until(self, condition):
        context = GLib.MainContext.default()
        deadline = GLib.get_monotonic_time() + 10 * 1000000
        while not condition():
            self.assertLess(GLib.get_monotonic_time(), deadline, 'timed out')
            if not context.iteration(False):
                GLib.usleep(1000)

    # One test: the session bus of a process is not replaced between tests.
    def test_item_model(self):
        model = Cairn.ItemModel.new_sync(self.store, self.inbox.get_id(), None)
        self.assertIsInstance(model, Gio.ListModel)
        self.assertEqual(model.get_n_items(), 100)
        self.assertEqual(model.get_item_type(), Cairn.Item.__gtype__)
        self.assertEqual(model.get_item(0).get_remote_id(), '0')
        self.assertEqual([item.get_remote_id() for item in list(model)[:3]],
                         ['0', '1', '2'])

        # A query, newest first: the unread ones.
        unread = Cairn.ItemModel(store=self.store,
                                 collection_id=self.inbox.get_id(),
                                 without_flag='\\Seen', descending=True)
        unread.init(None)
        self.assertEqual(unread.get_n_items(), 50)
        self.assertEqual(unread.get_item(0).get_remote_id(), '98')

        changes = []
        unread.connect('items-changed',
                       lambda m, position, removed, added:
                       changes.append((position, removed, added)))
        write(self.store, lambda transaction: transaction.change_flags(
            self.items[98].get_id(),
            Cairn.FlagsDelta.new_from_strv(['\\Seen'], None), 0))
        self.run_until(lambda: (0, 1, 0) in changes)
        self.assertEqual(unread.get_n_items(), 49)
        self.assertEqual(unread.get_item(0).get_remote_id(), '96')

        # The folder tree, with live counts, as a GtkTreeListModel uses it.
        archive = Cairn.Collection.new('demo', self.inbox.get_id(), 'Archive')
        write(self.store, lambda transaction: transaction.create_collection(
            archive))
        folders = Cairn.CollectionModel.new_sync(self.store, 'demo', None)
        self.assertEqual(folders.get_n_items(), 1)
        node = folders.get_item(0)
        self.assertEqual(node.props.name, 'Inbox')
        self.assertEqual(node.props.item_count, 100)
        self.assertEqual(node.props.unread_count, 49)
        children = folders.get_children(node)
        self.assertEqual([child.props.name for child in children],
                         ['Archive'])
        write(self.store, lambda transaction: transaction.change_flags(
            self.items[96].get_id(),
            Cairn.FlagsDelta.new_from_strv(['\\Seen'], None), 0))
        self.run_until(lambda: node.props.unread_count == 48)

        # Opened in a worker thread.
        results = []
        Cairn.ItemModel.new_async(
            self.store, self.inbox.get_id(), None,
            lambda source, result: results.append(
                Cairn.ItemModel.new_finish(result)))
        self.run_until(lambda: results)
        self.assertEqual(results[0].get_n_items(), 100)


if __name__ == '__main__':
    unittest.main()
