# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private session bus and temporary XDG folders for the Python tests."""

import os
import shutil
import signal
import subprocess
import tempfile

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _ignore_vanished(function, path, excinfo):
    # A store's last connection, closed by a thread of its own when the
    # store is finalized, removes its -shm and -wal files while the
    # folder goes: a file gone meanwhile is what rmtree wants anyway.
    if not issubclass(excinfo[0], FileNotFoundError):
        raise excinfo[1]


class PrivateSession:
    """Points this process's environment at a temporary home and a bus of
    its own, before anything connects to a bus: GIO's session bus is chosen
    once per process. The bus has no service folder, so nothing is
    activated behind the test's back."""

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix='cairn-python-')
        home = os.path.join(self.folder, 'home')
        os.environ['HOME'] = home
        for name, path in (('XDG_CONFIG_HOME', '.config'),
                           ('XDG_DATA_HOME', '.local/share'),
                           ('XDG_STATE_HOME', '.local/state'),
                           ('XDG_CACHE_HOME', '.cache')):
            os.environ[name] = os.path.join(home, path)
            os.makedirs(os.environ[name])
        config = os.path.join(self.folder, 'bus.conf')
        with open(config, 'w') as file:
            file.write(BUS_CONFIG.format(folder=self.folder))
        self.bus = subprocess.Popen(
            ['dbus-daemon', '--config-file', config, '--nofork',
             '--print-address'],
            stdout=subprocess.PIPE, text=True)
        os.environ['DBUS_SESSION_BUS_ADDRESS'] = \
            self.bus.stdout.readline().strip()
        return self

    def path(self, *names):
        return os.path.join(self.folder, *names)

    def __exit__(self, *exception):
        self.bus.send_signal(signal.SIGTERM)
        self.bus.wait()
        self.bus.stdout.close()
        shutil.rmtree(self.folder, onerror=_ignore_vanished)
