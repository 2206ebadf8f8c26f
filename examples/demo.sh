#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds, and runs the demo: a store in a
# temporary folder, filled through the public API with no daemon (the
# embedded default), then the collection tree with counts and the last
# changes.
set -eu
cd "$(dirname "$0")/.."
. tests/install-dependencies.sh
cairn_install_dependencies

[ -f build/build.ninja ] || meson setup build
meson compile -C build cairn-demo
exec build/examples/cairn-demo "$@"
