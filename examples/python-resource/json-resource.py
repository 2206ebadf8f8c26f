#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Cairn resource written in Python: notes kept in one JSON file.

The file maps collection names to notes, each note a text and its flags:

    {"Inbox": {"a": {"text": "alpha", "flags": ["\\\\Seen"]}}, "Work": {}}

Collection names are the collections' remote ids, note names the items'.
cairn-control runs this program for every instance of the type
`python-json` (see python-json.agent.in), as it runs cairn-agent-host for
a module, with `--instance ID --store PATH`. Configuration, in
$XDG_CONFIG_HOME/cairn/ID.conf:

    [Agent]
    Type=python-json
    path=/home/me/notes.json

docs/python.md explains it.
"""

import argparse
import hashlib
import json
import os
import signal
import sys

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, Gio, GLib, GObject  # noqa: E402

MIME_TYPE = 'text/plain'
PART = 'TEXT'
MAX_NOTE_SIZE = 1024 * 1024


def resource_error(code, message):
    return GLib.Error.new_literal(Cairn.resource_error_quark(), message,
                                  code)


def revision(note):
    """The remote revision: a digest of text and flags, so that a sync
    sees a note another program edited."""
    data = json.dumps(note, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def make_item(name, note):
    item = Cairn.Item.new(MIME_TYPE)
    item.set_remote_id(name)
    item.set_remote_revision(revision(note))
    item.set_flags(Cairn.Flags.new_from_strv(note['flags']))
    item.set_part(Cairn.Part.new_inline(
        PART, GLib.Bytes.new(note['text'].encode())))
    return item


def read_text(item, cancellable):
    # Read before touching the file: a part that cannot be read fails the
    # change instead of writing an empty note.
    data = item.get_part(PART).read_bytes(MAX_NOTE_SIZE, cancellable)
    return data.get_data().decode(errors='replace')


class JsonResource(Cairn.Resource):
    """Every method runs in a worker thread of the base class, one at a
    time, so the file is never read and written concurrently. A method
    reports failure by raising GLib.Error: CAIRN_RESOURCE_ERROR_TRANSIENT
    is tried again later, anything else becomes a failed change."""

    path = GObject.Property(type=str, nick='Path',
                            blurb='The JSON file the notes are kept in')

    def load(self):
        if not self.path:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 'No path configured')
        try:
            with open(self.path, encoding='utf-8') as file:
                return json.load(file)
        except FileNotFoundError:
            # Perhaps on a disk not mounted yet: try again later, as the
            # notes resource does for its folder.
            raise resource_error(Cairn.ResourceError.TRANSIENT,
                                 '{}: no such file'.format(self.path))
        except OSError as error:
            raise resource_error(Cairn.resource_error_from_errno(error.errno),
                                 '{}: {}'.format(self.path, error.strerror))
        except ValueError as error:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 '{}: {}'.format(self.path, error))

    def save(self, data):
        # A crash leaves the old file or the new one, never half of one.
        temporary = self.path + '.tmp'
        try:
            with open(temporary, 'w', encoding='utf-8') as file:
                json.dump(data, file, indent=2, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            raise resource_error(Cairn.resource_error_from_errno(error.errno),
                                 '{}: {}'.format(self.path, error.strerror))

    def folder(self, data, collection_id):
        """The notes of a collection, looked up by its remote id."""
        name = self.get_collection(collection_id).get_remote_id()
        if name not in data:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 'No collection “{}” in {}'.format(
                                     name, self.path))
        return data[name]

    def note(self, data, item):
        notes = self.folder(data, item.get_collection_id())
        if item.get_remote_id() not in notes:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 'No note “{}” in {}'.format(
                                     item.get_remote_id(), self.path))
        return notes[item.get_remote_id()]

    # Reading the backend

    def do_retrieve_collections_sync(self, cancellable):
        collections = []
        for name in self.load():
            collection = Cairn.Collection.new(self.get_id(), 0, name)
            collection.set_remote_id(name)
            collection.set_content_mime_types([MIME_TYPE])
            collections.append(collection)
        return collections

    def do_retrieve_items_sync(self, collection, sync, cancellable):
        notes = self.load().get(collection.get_remote_id(), {})
        sync.set_expected_items(len(notes))
        sync.add_items([make_item(name, note) for name, note in notes.items()])
        return True

    # Replaying local changes

    def do_replay_item_added_sync(self, change, item, cancellable):
        text = read_text(item, cancellable)
        data = self.load()
        # Named after the item id, so that a retry writes the same note.
        name = 'item-{}'.format(item.get_id())
        note = {'text': text, 'flags': item.get_flags().to_strv()}
        self.folder(data, item.get_collection_id())[name] = note
        self.save(data)
        return True, name, revision(note)

    def do_replay_item_changed_sync(self, change, item, parts, cancellable):
        text = read_text(item, cancellable)
        data = self.load()
        note = self.note(data, item)
        if revision(note) != item.get_remote_revision():
            # Edited here and in the file: the conflict policy chooses.
            return True, None, make_item(item.get_remote_id(), note)
        note['text'] = text
        self.save(data)
        return True, revision(note), None

    def do_replay_flags_changed_sync(self, change, item, added, removed,
                                     cancellable):
        data = self.load()
        note = self.note(data, item)
        # The delta, never the item's whole set: concurrent edits of other
        # flags survive, and applying it twice gives the same.
        flags = set(note['flags']) | set(added.to_strv())
        note['flags'] = sorted(flags - set(removed.to_strv()))
        self.save(data)
        return True, revision(note)

    def do_replay_item_moved_sync(self, change, item, source, destination,
                                  cancellable):
        data = self.load()
        name = change.get_remote_id()
        source_notes = self.folder(data, source)
        destination_notes = self.folder(data, destination)
        if name not in source_notes and name in destination_notes:
            # An earlier attempt moved it already.
            return True, name, revision(destination_notes[name])
        if name not in source_notes:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 'No note “{}” in {}'.format(name, self.path))
        note = source_notes.pop(name)
        if name in destination_notes:
            name = 'item-{}'.format(item.get_id())
        destination_notes[name] = note
        self.save(data)
        return True, name, revision(note)

    def do_replay_item_removed_sync(self, change, cancellable):
        data = self.load()
        notes = self.folder(data, change.get_collection_id())
        if notes.pop(change.get_remote_id(), None) is not None:
            self.save(data)
        return True

    def do_replay_collection_added_sync(self, change, cancellable):
        collection = change.get_collection()
        if collection.get_parent_id() != 0:
            raise resource_error(Cairn.ResourceError.PERMANENT,
                                 'The file has no nested collections')
        data = self.load()
        data.setdefault(collection.get_name(), {})
        self.save(data)
        return True, collection.get_name()

    def do_replay_collection_changed_sync(self, change, parts, cancellable):
        collection = change.get_collection()
        old, new = collection.get_remote_id(), collection.get_name()
        data = self.load()
        if old != new and old in data:
            if new in data:
                raise resource_error(Cairn.ResourceError.PERMANENT,
                                     'A collection “{}” exists'.format(new))
            data[new] = data.pop(old)
            self.save(data)
        return True, new

    def do_replay_collection_removed_sync(self, change, cancellable):
        data = self.load()
        if data.pop(change.get_collection().get_remote_id(), None) is not None:
            self.save(data)
        return True


def fail(status, message):
    print('json-resource: {}'.format(message), file=sys.stderr)
    return status


def main():
    """What cairn-agent-host does for a module, with its exit statuses
    (2: unknown instance, 3: unknown type, 8: store or bus failure)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--instance', required=True)
    parser.add_argument('--store', required=True)
    args = parser.parse_args()

    configuration = GLib.KeyFile()
    try:
        configuration.load_from_file(
            Cairn.Agent.build_config_path(args.instance),
            GLib.KeyFileFlags.NONE)
        type_id = configuration.get_string('Agent', 'Type')
    except GLib.Error as error:
        return fail(2, 'unknown instance: ' + error.message)
    try:
        agent_type = Cairn.AgentType.lookup(type_id)
    except GLib.Error as error:
        return fail(3, error.message)

    try:
        store = Cairn.Store.open(args.store, None)
        store.set_origin(args.instance)
        resource = GObject.new(JsonResource, id=args.instance,
                               agent_type=agent_type, store=store)
        resource.init(None)
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        resource.export(bus)
    except GLib.Error as error:
        return fail(8, error.message)

    loop = GLib.MainLoop()
    status = 0

    def name_lost(connection, name):
        nonlocal status
        status = fail(8, 'lost or could not own the bus name ' + name)
        loop.quit()

    def reconfigure():
        try:
            resource.reconfigure()
        except GLib.Error as error:
            print('json-resource: ' + error.message, file=sys.stderr)
        return GLib.SOURCE_CONTINUE

    resource.connect('quit-requested', lambda resource: loop.quit())
    for number in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number,
                             lambda: loop.quit() or GLib.SOURCE_CONTINUE)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGHUP, reconfigure)
    owner = Gio.bus_own_name_on_connection(
        bus, 'org.cairn.Agent.' + args.instance,
        Gio.BusNameOwnerFlags.DO_NOT_QUEUE, None, name_lost)

    # Signals are handled between callbacks, so a change being replayed
    # finishes; the recorder keeps everything not yet replayed.
    loop.run()

    Gio.bus_unown_name(owner)
    resource.stop()
    bus.flush_sync(None)
    return status


if __name__ == '__main__':
    sys.exit(main())
