# SPDX-License-Identifier: LGPL-2.1-or-later
"""CairnItemModel and CairnCollectionModel through gi: both open, list
what the store holds, and follow a write."""

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


def mail(collection, remote_id, hour):
    item = Cairn.Item.new('message/rfc822')
    item.set_collection_id(collection.get_id())
    item.set_remote_id(remote_id)
    item.set_date(GLib.DateTime.new_from_unix_utc(1700000000 + 3600 * hour))
    return item


def run_until(condition, seconds=30):
    expired = []
    source = GLib.timeout_add_seconds(seconds, lambda: expired.append(1))
    context = GLib.MainContext.default()
    while not condition() and not expired:
        context.iteration(True)
    if not expired:
        GLib.source_remove(source)
    if not condition():
        raise AssertionError('timed out')


class PythonModelsTest(unittest.TestCase):
    # One bus for the class: GLib keeps the process's first session bus
    # connection, which a second bus would leave talking to a dead one.
    @classmethod
    def setUpClass(cls):
        cls.session = PrivateSession().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.session.__exit__(None, None, None)

    def setUp(self):
        self.store = Cairn.Store.open(self.session.path(self.id() + '.db'),
                                      None)
        self.inbox = Cairn.Collection.new('demo', 0, 'Inbox')
        write(self.store, lambda t: t.create_collection(self.inbox))
        self.work = Cairn.Collection.new('demo', self.inbox.get_id(), 'Work')
        write(self.store, lambda t: t.create_collection(self.work))
        for hour, name in ((1, 'old'), (3, 'new'), (2, 'middle')):
            write(self.store, lambda t: t.create_item(
                mail(self.inbox, name, hour)))

    def test_item_model(self):
        model = Cairn.ItemModel.new_for_collection(self.store,
                                                   self.inbox.get_id())
        self.assertIsInstance(model, Gio.ListModel)
        run_until(lambda: not model.props.loading)
        self.assertEqual([item.get_remote_id() for item in model],
                         ['new', 'middle', 'old'])

        changes = []
        model.connect('items-changed',
                      lambda m, position, removed, added:
                      changes.append((position, removed, added)))
        write(self.store, lambda t: t.create_item(
            mail(self.inbox, 'newest', 4)))
        run_until(lambda: model.get_n_items() == 4)
        self.assertEqual(changes, [(0, 0, 1)])
        self.assertEqual(model.get_item(0).get_remote_id(), 'newest')

        query = Cairn.ItemQuery.new()
        query.set_collection_id(self.inbox.get_id())
        query.exclude_flag(Cairn.FLAG_SEEN)
        query.set_date_to(GLib.DateTime.new_from_unix_utc(1700000000 + 7200))
        unread = Cairn.ItemModel.new(self.store, query)
        run_until(lambda: not unread.props.loading)
        self.assertEqual([item.get_remote_id() for item in unread],
                         ['old'])

        oldest = Cairn.ItemModel.new(self.store, Cairn.ItemQuery(
            collection_id=self.inbox.get_id(),
            sort=Cairn.ItemSort.OLDEST_FIRST))
        run_until(lambda: not oldest.props.loading)
        self.assertEqual([item.get_remote_id() for item in oldest],
                         ['old', 'middle', 'new', 'newest'])

        # No indexer has run on this store: the search says so.
        errors = []
        found = Cairn.ItemModel.new(self.store, Cairn.ItemQuery(
            search='from:alice'))
        found.connect('read-failed', lambda model, error: errors.append(error))
        run_until(lambda: errors)
        self.assertTrue(errors[0].matches(Cairn.search_error_quark(),
                                          Cairn.SearchError.NO_INDEX))
        self.assertEqual(found.get_n_items(), 0)

    def test_collection_model(self):
        root = Cairn.CollectionModel.new(self.store, None)
        run_until(lambda: not root.props.loading)
        self.assertEqual([c.get_name() for c in root], ['Inbox'])
        self.assertEqual(root.props.item_count, 3)
        self.assertEqual(root.props.unread_count, 3)

        children = root.get_child_model(root.get_item(0))
        self.assertEqual([c.get_name() for c in children], ['Work'])
        self.assertEqual(children.props.item_count, 3)

        counts = []
        root.connect('notify::unread-count', lambda model, pspec:
                     counts.append(model.props.unread_count))
        item = self.store.list_items(self.inbox.get_id(), None, 0, 1)[0]
        delta = Cairn.FlagsDelta.new()
        delta.add(Cairn.FLAG_SEEN)
        write(self.store, lambda t: t.change_flags(item.get_id(), delta, 0))
        run_until(lambda: counts == [2])


if __name__ == '__main__':
    unittest.main()
