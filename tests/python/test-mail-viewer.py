# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/cairn-mail-viewer on a real display server without a screen
(GTK's Broadway backend): it opens the first folder and its newest
message, decoded, follows mail that another program adds to the store,
and quits on SIGTERM. What it shows is read from its debug log."""

import os
import queue
import signal
import socket
import subprocess
import threading
import time
import unittest

import gi
gi.require_version('Cairn', '1')
from gi.repository import Cairn, GLib  # noqa: E402

from privatebus import PrivateSession  # noqa: E402

VIEWER = os.environ['CAIRN_MAIL_VIEWER']
BROADWAYD = os.environ['GTK4_BROADWAYD']


def write(store, function):
    def transaction(transaction, data):
        function(transaction)
        return True
    store.write_sync(transaction, None, None)


def mail(collection, hour, subject, body):
    text = ('From: Ann <ann@example.org>\r\n'
            'To: Bob <bob@example.org>\r\n'
            'Subject: {}\r\n'
            'Message-ID: <{}@example.org>\r\n'
            'Content-Type: text/plain; charset=utf-8\r\n'
            'Content-Transfer-Encoding: quoted-printable\r\n'
            '\r\n{}\r\n').format(subject, hour, body)
    item = Cairn.Item.new('message/rfc822')
    item.set_collection_id(collection.get_id())
    item.set_date(GLib.DateTime.new_from_unix_utc(1700000000 + 3600 * hour))
    item.set_part(Cairn.Part.new_inline(
        'RFC822', GLib.Bytes.new(text.encode('ascii'))))
    return item


def free_display():
    """A Broadway display number whose port (8080 + n) is free."""
    for number in range(40, 90):
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', 8080 + number)) != 0:
                return number
    raise AssertionError('no free Broadway display')


class MailViewerTest(unittest.TestCase):
    def setUp(self):
        self.session = PrivateSession().__enter__()
        self.addCleanup(self.session.__exit__, None, None, None)
        self.path = self.session.path('store.db')
        self.store = Cairn.Store.open(self.path, None)
        self.inbox = Cairn.Collection.new('demo', 0, 'Inbox')
        write(self.store, lambda t: t.create_collection(self.inbox))
        write(self.store, lambda t: t.create_item(
            mail(self.inbox, 1, 'Old news', 'Nothing new.')))
        # An encoded word and quoted-printable UTF-8, decoded for display.
        write(self.store, lambda t: t.create_item(
            mail(self.inbox, 2, '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
                 'Sch=C3=B6ne Gr=C3=BC=C3=9Fe')))

        display = ':{}'.format(free_display())
        runtime = self.session.path('runtime')
        os.mkdir(runtime, 0o700)
        self.broadway = subprocess.Popen(
            [BROADWAYD, '--address', '127.0.0.1', display],
            env=dict(os.environ, XDG_RUNTIME_DIR=runtime),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop, self.broadway)
        # A client started before the server listens finds no display.
        deadline = time.monotonic() + 30
        while not any(name.startswith('broadway')
                      for name in os.listdir(runtime)):
            self.assertLess(time.monotonic(), deadline, 'no Broadway socket')
            self.assertIsNone(self.broadway.poll(), 'Broadway exited')
            time.sleep(0.05)
        env = dict(os.environ, GDK_BACKEND='broadway',
                   BROADWAY_DISPLAY=display, XDG_RUNTIME_DIR=runtime,
                   G_MESSAGES_DEBUG='CairnMailViewer',
                   G_DEBUG='fatal-criticals', GSETTINGS_BACKEND='memory',
                   GTK_A11Y='none')
        self.viewer = subprocess.Popen(
            [VIEWER, '--store', self.path], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        self.log = []
        reader = threading.Thread(target=self.read_log)
        reader.start()
        self.addCleanup(self.viewer.stdout.close)
        self.addCleanup(reader.join)
        self.addCleanup(self.stop, self.viewer)

    def read_log(self):
        # GLib writes debug messages to stdout, warnings to stderr.
        for line in self.viewer.stdout:
            self.lines.put(line.rstrip('\n'))
        self.lines.put(None)

    @staticmethod
    def stop(process):
        if process.poll() is None:
            process.kill()
            process.wait()

    def wait_for(self, text, seconds=30):
        """Waits for a log line that ends with @text."""
        while True:
            try:
                line = self.lines.get(timeout=seconds)
            except queue.Empty:
                raise AssertionError('no "{}" in:\n{}'.format(
                    text, '\n'.join(self.log)))
            if line is None:
                raise AssertionError(
                    'the viewer exited ({}) before "{}":\n{}'.format(
                        self.viewer.wait(), text, '\n'.join(self.log)))
            self.log.append(line)
            if line.endswith(text):
                return

    def test_shows_and_follows(self):
        self.wait_for('Folder Inbox: 2 messages')
        self.wait_for('Showing message: Grüße')

        write(self.store, lambda t: t.create_item(
            mail(self.inbox, 3, 'Newest', 'Hello')))
        self.wait_for('Folder Inbox: 3 messages')

        self.viewer.send_signal(signal.SIGTERM)
        self.assertEqual(self.viewer.wait(timeout=30), 0)
        # Nothing GTK or GLib warned about meanwhile.
        for line in self.lines.queue:
            if line is not None:
                self.log.append(line)
        self.assertEqual([line for line in self.log
                          if 'WARNING' in line or 'CRITICAL' in line], [])


if __name__ == '__main__':
    unittest.main()
