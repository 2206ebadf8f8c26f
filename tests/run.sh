#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds with gcc (and checks the build with
# clang), and runs every test suite.
set -eu
cd "$(dirname "$0")/.."
. tests/install-dependencies.sh
cairn_install_dependencies

[ -f build/build.ninja ] || meson setup build
meson compile -C build

# The library must build warning-free with clang too.
[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang -Dintrospection=disabled
meson compile -C build-clang

meson test -C build --print-errorlogs "$@"

# What distributions and resource authors get: the installed tree alone.
tests/install/test-install.sh build
