#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds with gcc (and checks the build with
# clang), and runs every test suite and the install test. Run as root, it
# runs them all a second time as an unprivileged user ($CAIRN_TEST_USER,
# default nobody), as distributions' build machines do.
set -eu
cd "$(dirname "$0")/.."
. tests/install-dependencies.sh
cairn_install_dependencies

# Warnings stay fatal here and in CI; the project's own default is off so
# that a newer compiler's warnings do not break a distribution's build.
# The API reference is built too, and the suite docs checks that every
# public symbol is documented; distributions opt in, so it is off there.
# An existing build is set up again, which learns options added since.
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build -Dwerror=true -Ddocumentation=true
else
  meson setup build -Dwerror=true -Ddocumentation=true
fi
meson compile -C build

# The library must build warning-free with clang too.
[ -f build-clang/build.ninja ] || CC=clang CXX=clang++ meson setup build-clang -Dintrospection=disabled
meson configure build-clang -Dwerror=true
meson compile -C build-clang

meson test -C build --print-errorlogs "$@"

# What distributions and resource authors get: the installed tree alone.
tests/install/test-install.sh build

[ "$(id -u)" = 0 ] || exit 0

# The unprivileged run gets a copy of the sources, which the checkout's
# folder may not let it read, and a folder of its own for the build and
# its home. The copy keeps modification times, so the build there stays
# incremental; the folder is one per checkout, since the build of another
# checkout's copy may be newer than this one's sources.
user=${CAIRN_TEST_USER:-nobody}
checkout=$(pwd | cksum | cut -d' ' -f1)
work=${CAIRN_UNPRIVILEGED_DIR:-/var/tmp/cairn-unprivileged-$user-$checkout}
mkdir -p "$work"
rm -rf "$work/src"
mkdir "$work/src"
tar -C . --exclude=./.git --exclude='./build*' -cf - . | tar -C "$work/src" -xf -
mkdir -p "$work/build" "$work/home" "$work/runtime"
chown "$user:" "$work/build" "$work/home" "$work/runtime"
chmod 700 "$work/runtime"
echo "Running the tests again as $user in $work"
# shellcheck disable=SC2016
runuser -u "$user" -- env -i PATH="$PATH" LANG="${LANG:-C.UTF-8}" HOME="$work/home" \
  XDG_RUNTIME_DIR="$work/runtime" sh -eu -c '
    cd "$1/src"
    shift
    if [ -f ../build/build.ninja ]; then
      meson setup --reconfigure ../build --werror -Ddocumentation=true
    else
      meson setup ../build --werror -Ddocumentation=true
    fi
    meson compile -C ../build
    meson test -C ../build --print-errorlogs "$@"
    tests/install/test-install.sh ../build
  ' sh "$work" "$@"
