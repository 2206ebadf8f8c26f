# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/python-client against a store with a few items: it lists the
collections, then prints the changes another process commits."""

import os
import subprocess
import sys
import unittest

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, GLib  # noqa: E402

from privatebus import PrivateSession  # noqa: E402

CLIENT = os.path.join(os.path.dirname(__file__), '..', '..', 'examples',
                      'python-client', 'cairn-client.py')


def write(store, function):
    def transaction(transaction, data):
        function(transaction)
        return True
    store.write_sync(transaction, None, None)


def text_item(collection, remote_id):
    item = Cairn.Item.new('text/plain')
    item.set_collection_id(collection.get_id())
    item.set_remote_id(remote_id)
    item.set_part(Cairn.Part.new_inline('TEXT', GLib.Bytes.new(b'text')))
    return item


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.session = PrivateSession().__enter__()
        self.addCleanup(self.session.__exit__, None, None, None)
        self.path = self.session.path('store.db')
        self.store = Cairn.Store.open(self.path, None)
        self.inbox = Cairn.Collection.new('demo', 0, 'Inbox')
        write(self.store, lambda transaction: transaction.create_collection(
            self.inbox))
        self.old = Cairn.Collection.new('demo', self.inbox.get_id(), 'Old')
        write(self.store, lambda transaction: transaction.create_collection(
            self.old))
        self.a = text_item(self.inbox, 'a')
        self.b = text_item(self.inbox, 'b')
        write(self.store, lambda transaction: transaction.create_item(self.a))
        write(self.store, lambda transaction: transaction.create_item(self.b))

    def test_list_and_watch(self):
        client = subprocess.Popen(
            [sys.executable, CLIENT, '--store', self.path, '--count', '3'],
            stdout=subprocess.PIPE, text=True)
        lines = []
        # Changes committed before it watches would not be shown.
        while not lines or lines[-1] != 'Watching changes':
            line = client.stdout.readline()
            self.assertNotEqual(line, '', 'the client exited early')
            lines.append(line.rstrip('\n'))
        self.assertEqual(lines, [
            'Inbox [demo] {}: 2 items, 2 unread'.format(self.inbox.get_id()),
            '  Old [demo] {}: 0 items, 0 unread'.format(self.old.get_id()),
            'Watching changes'])

        c = text_item(self.old, 'c')
        write(self.store, lambda transaction: transaction.create_item(c))
        write(self.store, lambda transaction: transaction.change_flags(
            self.a.get_id(),
            Cairn.FlagsDelta.new_from_strv(['\\Seen'], None), 0))
        write(self.store, lambda transaction: transaction.delete_item(
            self.b.get_id()))
        output, _ = client.communicate(timeout=60)
        self.assertEqual(client.returncode, 0)
        self.assertEqual(output.splitlines(), [
            'item {} added to collection {}'.format(c.get_id(),
                                                    self.old.get_id()),
            'items {} flags added [\\Seen] removed []'.format(
                self.a.get_id()),
            'item {} removed'.format(self.b.get_id())])


if __name__ == '__main__':
    unittest.main()
