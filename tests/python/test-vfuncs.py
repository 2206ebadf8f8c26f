# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resources and agents written in Python: the virtual methods and
observer callbacks a subclass implements are the ones libcairn calls."""

import os
import time
import unittest

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, Gio, GLib, GObject  # noqa: E402

from privatebus import PrivateSession  # noqa: E402

session = None


def setUpModule():
    global session
    session = PrivateSession().__enter__()
    os.environ['CAIRN_AGENTS_DIR'] = session.path('agents')
    os.mkdir(session.path('agents'))
    for type_id, capabilities in (('py-resource', 'Resource;NoConfig;'),
                                  ('py-agent', 'NoConfig;')):
        with open(session.path('agents', type_id + '.agent'), 'w') as file:
            file.write('[Cairn Agent]\nName={0}\nDescription={0}\n'
                       'Exec=/bin/false\nCapabilities={1}\n'
                       .format(type_id, capabilities))


def tearDownModule():
    session.__exit__(None, None, None)


def iterate_until(condition, seconds=30):
    context = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('timed out')
        context.iteration(False) or time.sleep(0.01)


def text_item(remote_id, text):
    item = Cairn.Item.new('text/plain')
    item.set_remote_id(remote_id)
    item.set_part(Cairn.Part.new_inline('TEXT', GLib.Bytes.new(text)))
    return item


class Resource(Cairn.Resource):
    """Lists one collection with the asynchronous pair, the rest with the
    blocking methods, and records every call."""

    def __init__(self, **properties):
        super().__init__(**properties)
        self.calls = []

    def do_retrieve_collections_sync(self, cancellable):
        self.calls.append('retrieve_collections_sync')
        inbox = Cairn.Collection.new(self.get_id(), 0, 'Inbox')
        inbox.set_remote_id('inbox')
        return [inbox]

    def do_retrieve_items(self, collection, sync, cancellable, callback,
                          data):
        # The callback comes with its data bound: a task takes it alone.
        self.calls.append('retrieve_items')
        task = Gio.Task.new(self, cancellable, callback)
        try:
            sync.add_items([text_item('a', b'alpha')])
            task.return_boolean(True)
        except GLib.Error as error:
            task.return_error(error)

    def do_retrieve_items_finish(self, result):
        self.calls.append('retrieve_items_finish')
        return result.propagate_boolean()

    def do_replay_item_added_sync(self, change, item, cancellable):
        text = item.get_part('TEXT').read_bytes(1024, cancellable)
        self.calls.append(('added', text.get_data()))
        return True, 'new-' + str(item.get_id()), 'rev-1'

    def do_replay_flags_changed_sync(self, change, item, added, removed,
                                     cancellable):
        self.calls.append(('flags', added.to_strv(), removed.to_strv()))
        return True, 'rev-2'

    def do_replay_item_removed_sync(self, change, cancellable):
        self.calls.append(('removed', change.get_remote_id()))
        raise GLib.Error.new_literal(Cairn.resource_error_quark(),
                                     'refused on purpose',
                                     Cairn.ResourceError.PERMANENT)


class Agent(Cairn.Agent, Cairn.Observer):
    def __init__(self, **properties):
        super().__init__(**properties)
        self.calls = []

    def do_item_added(self, monitor, change, item):
        # Without a fetch scope the monitor loads no item.
        self.calls.append(('added', change.get_entity_id()))
        monitor.change_processed()

    def do_items_flags_changed(self, monitor, changes, added, removed):
        self.calls.append(('flags', len(changes), added.to_strv(),
                           removed.to_strv()))
        monitor.change_processed()


def new_agent(cls, type_id, instance_id, store):
    agent = GObject.new(cls, id=instance_id,
                        agent_type=Cairn.AgentType.lookup(type_id),
                        store=store)
    agent.init(None)
    return agent


def write(store, function):
    def transaction(transaction, data):
        function(transaction)
        return True
    return store.write_sync(transaction, None, None)


class VirtualMethodTest(unittest.TestCase):
    def setUp(self):
        self.store = Cairn.Store.open(session.path(self.id() + '.db'), None)

    def synchronize(self, resource):
        done = []
        resource.synchronize_async(
            0, None, lambda source, result: done.append(
                source.synchronize_finish(result)))
        iterate_until(lambda: done)
        self.assertEqual(done, [True])

    def test_resource(self):
        resource = new_agent(Resource, 'py-resource', 'resource', self.store)
        self.synchronize(resource)
        self.assertEqual(resource.calls, ['retrieve_collections_sync',
                                          'retrieve_items',
                                          'retrieve_items_finish'])
        inbox, = self.store.list_collections('resource')
        stored, = self.store.list_items(inbox.get_id(), None, 0, 0)
        self.assertEqual(stored.get_remote_id(), 'a')

        client = Cairn.Store.open(self.store.get_path(), None)
        item = text_item(None, b'bravo')
        item.set_collection_id(inbox.get_id())
        # One change at a time: pending changes of one item are coalesced.
        write(client, lambda transaction: transaction.create_item(item))
        iterate_until(lambda: len(resource.calls) == 4)
        write(client, lambda transaction: transaction.change_flags(
            stored.get_id(),
            Cairn.FlagsDelta.new_from_strv(['\\Seen'], None), 0))
        iterate_until(lambda: len(resource.calls) == 5)
        write(client, lambda transaction: transaction.delete_item(
            stored.get_id()))
        iterate_until(lambda: len(resource.calls) == 6)
        self.assertEqual(resource.calls[3:], [('added', b'bravo'),
                                              ('flags', ['\\Seen'], []),
                                              ('removed', 'a')])
        iterate_until(lambda: self.store.get_item(
            item.get_id(), None).get_remote_id() is not None)
        self.assertEqual(self.store.get_item(item.get_id(), None)
                         .get_remote_id(), 'new-' + str(item.get_id()))
        # The error raised in Python is the failed change's.
        iterate_until(lambda: resource.list_failed_changes())
        failed, = resource.list_failed_changes()
        self.assertIn('refused on purpose', failed.get_reason())
        resource.stop()

    def test_observer(self):
        agent = new_agent(Agent, 'py-agent', 'agent', self.store)
        write(self.store, lambda transaction: transaction.create_collection(
            Cairn.Collection.new('elsewhere', 0, 'Inbox')))
        inbox, = self.store.list_collections('elsewhere')
        item = text_item('x', b'x-ray')
        item.set_collection_id(inbox.get_id())
        write(self.store, lambda transaction: transaction.create_item(item))
        iterate_until(lambda: agent.calls)
        write(self.store, lambda transaction: transaction.change_flags(
            item.get_id(),
            Cairn.FlagsDelta.new_from_strv(['\\Flagged'], None), 0))
        iterate_until(lambda: len(agent.calls) == 2)
        self.assertEqual(agent.calls, [('added', item.get_id()),
                                       ('flags', 1, ['\\Flagged'], [])])
        agent.stop()


if __name__ == '__main__':
    unittest.main()
