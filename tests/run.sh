#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds with gcc (and checks the build with
# clang), and runs every test suite and the install test.
set -eu
cd "$(dirname "$0")/.."
. tests/install-dependencies.sh
cairn_install_dependencies

# Warnings stay fatal here and in CI; the project's own default is off so
# that a newer compiler's warnings do not break a distribution's build.
[ -f build/build.ninja ] || meson setup build
meson configure build -Dwerror=true
meson compile -C build

# The library must build warning-free with clang too.
[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang -Dintrospection=disabled
meson configure build-clang -Dwerror=true
meson compile -C build-clang

meson test -C build --print-errorlogs "$@"

# What distributions and resource authors get: the installed tree alone.
tests/install/test-install.sh build
