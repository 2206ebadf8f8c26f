// SPDX-License-Identifier: LGPL-2.1-or-later
// Where gi-docgen's links to other namespaces go: GLib's references
// online, Cairn's own beside this one in $datadir/doc.
baseURLs = [
  ['GLib', 'https://docs.gtk.org/glib/'],
  ['GModule', 'https://docs.gtk.org/gmodule/'],
  ['GObject', 'https://docs.gtk.org/gobject/'],
  ['Gio', 'https://docs.gtk.org/gio/'],
  ['Cairn', '../cairn-1/'],
  ['CairnScheduler', '../cairn-scheduler-1/'],
  ['CairnTest', '../cairn-test-1/'],
]
