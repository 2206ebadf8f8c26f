# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/python-resource under cairn-control: an instance of the Exec=
type python-json syncs the JSON file into the store, and local changes
made through the store are replayed to the file."""

import json
import os
import subprocess
import time
import unittest

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, GLib  # noqa: E402

from privatebus import PrivateSession  # noqa: E402

CAIRNCTL = os.environ['CAIRNCTL']
BACKEND = {
    'Inbox': {'a': {'text': 'alpha', 'flags': ['\\Seen']},
              'b': {'text': 'bravo', 'flags': []}},
    'Work': {'c': {'text': 'charlie', 'flags': []}},
}


def cairnctl(*args):
    return subprocess.run([CAIRNCTL] + list(args), check=True, text=True,
                          stdout=subprocess.PIPE).stdout


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('timed out')
        time.sleep(0.1)


def write(store, function):
    def transaction(transaction, data):
        function(transaction)
        return True
    store.write_sync(transaction, None, None)


class PythonResourceTest(unittest.TestCase):
    def setUp(self):
        self.session = PrivateSession().__enter__()
        self.addCleanup(self.session.__exit__, None, None, None)
        self.backend = self.session.path('notes.json')
        with open(self.backend, 'w') as file:
            json.dump(BACKEND, file)
        cairnctl('start')
        self.addCleanup(self.stop)
        self.id = cairnctl('add', 'python-json',
                           'path=' + self.backend).strip()
        self.synchronize()
        self.store = Cairn.Store.open(os.path.join(
            os.environ['XDG_DATA_HOME'], 'cairn', 'store.db'), None)

    def stop(self):
        cairnctl('stop')
        log = os.path.join(os.environ['XDG_STATE_HOME'], 'cairn', 'log',
                           self.id + '.log')
        if os.path.exists(log):
            with open(log) as file:
                print(file.read())

    def synchronize(self):
        # An instance just added is still starting; sync refuses it with
        # status 2 until it runs.
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run([CAIRNCTL, 'sync', self.id, '--wait'])
            if done.returncode != 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(done.returncode, 0)

    def read_store(self):
        """The store's notes as the backend's JSON shows them."""
        scope = Cairn.FetchScope.new()
        scope.add_part('TEXT')
        notes = {}
        for collection in self.store.list_collections(self.id):
            folder = notes[collection.get_name()] = {}
            for item in self.store.list_items(collection.get_id(), scope,
                                              0, 0):
                text = item.get_part('TEXT').read_bytes(1024, None)
                folder[item.get_remote_id()] = {
                    'text': text.get_data().decode(),
                    'flags': item.get_flags().to_strv()}
        return notes

    def read_backend(self):
        with open(self.backend) as file:
            return json.load(file)

    def find(self, collections, name):
        collection, = [collection for collection in collections
                       if collection.get_name() == name]
        return collection

    def test_sync_and_replay(self):
        self.assertEqual(self.read_store(), BACKEND)

        collections = self.store.list_collections(self.id)
        inbox = self.find(collections, 'Inbox')
        work = self.find(collections, 'Work')
        a = self.store.find_item_by_remote_id(inbox.get_id(), 'a', None)
        b = self.store.find_item_by_remote_id(inbox.get_id(), 'b', None)
        c = self.store.find_item_by_remote_id(work.get_id(), 'c', None)
        new = Cairn.Item.new('text/plain')
        new.set_collection_id(work.get_id())
        new.set_part(Cairn.Part.new_inline('TEXT', GLib.Bytes.new(b'delta')))
        c.set_part(Cairn.Part.new_inline('TEXT', GLib.Bytes.new(b'echo')))

        write(self.store, lambda transaction: transaction.create_item(new))
        write(self.store, lambda transaction: transaction.modify_item(c, 0))
        write(self.store, lambda transaction: transaction.change_flags(
            b.get_id(), Cairn.FlagsDelta.new_from_strv(['\\Flagged'], None),
            0))
        write(self.store, lambda transaction: transaction.move_item(
            a.get_id(), work.get_id()))
        work.set_name('Projects')
        write(self.store, lambda transaction: transaction.modify_collection(
            work, 0))

        new_name = 'item-{}'.format(new.get_id())
        expected = {
            'Inbox': {'b': {'text': 'bravo', 'flags': ['\\Flagged']}},
            'Projects': {'a': {'text': 'alpha', 'flags': ['\\Seen']},
                         'c': {'text': 'echo', 'flags': []},
                         new_name: {'text': 'delta', 'flags': []}},
        }
        wait_for(lambda: self.read_backend() == expected)
        # A header line, and no failed change.
        self.assertEqual(len(cairnctl('failed', self.id).splitlines()), 1)
        # The new note's name went back to the store as its remote id, and
        # a sync finds nothing to change.
        self.synchronize()
        self.assertEqual(self.read_store(), expected)


if __name__ == '__main__':
    unittest.main()
