#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The install test: stages `meson install --destdir` of a build folder,
# then uses only the staged tree, as a distribution's packages and a
# resource author would. `cairnctl types` lists the installed maildir
# resource and the standard agents, and the staged mail filter files a
# message the staged maildir resource syncs; the notes example is built
# out of tree through pkg-config with its standalone meson.build and
# installed into the stage; the staged cairn-control runs it in a private
# session bus, the staged cairnctl adds and syncs an instance, and a
# client built against the stage reads the notes back from the store.
# The installed headers must compile as C++ too.
#
# usage: tests/install/test-install.sh [BUILD]   (default: build)
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)

# An instance just added is still starting, and sync refuses it with
# status 2 until it runs.
sync_instance () {
  tries=0
  while :; do
    status=0
    cairnctl sync "$1" --wait 2> "$work/sync.err" || status=$?
    if [ "$status" != 2 ] || [ "$tries" = 100 ]; then
      cat "$work/sync.err" >&2
      return "$status"
    fi
    tries=$((tries + 1))
    sleep 0.1
  done
}

# Runs a command until it succeeds, for at most 30 seconds.
wait_for () {
  what=$1
  shift
  tries=0
  until "$@" > /dev/null; do
    [ "$tries" = 300 ] && fail "timed out waiting for $what"
    tries=$((tries + 1))
    sleep 0.1
  done
}

in_session () {
  cairnctl start
  cairnctl types > "$work/types"
  cat "$work/types"
  grep -q '^maildir ' "$work/types" || fail "cairnctl types does not list maildir"
  grep -q '^notes ' "$work/types" || fail "cairnctl types does not list notes"
  if [ -f "$work/dav-expected" ]; then
    grep -q '^dav ' "$work/types" || fail "cairnctl types does not list dav"
  fi
  grep -q '^mailfilter ' "$work/types" || fail "cairnctl types does not list mailfilter"
  grep -q '^notifier ' "$work/types" || fail "cairnctl types does not list notifier"

  # The standard mail filter, whose recorder starts before the mail below
  # arrives; it says Ready once it has read its script.
  cairnctl filter check "$work/filter.sieve" || fail "cairnctl filter check refused the script"
  filter=$(cairnctl add mailfilter "script=$work/filter.sieve")
  wait_for "the mail filter to start" sh -c "cairnctl status | grep '^$filter .*Ready'"
  grep -q '^indexer ' "$work/types" || fail "cairnctl types does not list indexer"

  id=$(cairnctl add notes "path=$work/notes")
  sync_instance "$id"
  "$work/client" "$XDG_DATA_HOME/cairn/store.db" "$id" TEXT > "$work/notes.out"
  printf '%s\n' 'Inbox/a.txt: alpha' 'Inbox/b.txt: bravo' 'Old/c.txt: charlie' \
    'Work/d.txt: delta' > "$work/notes.expected"
  diff -u "$work/notes.expected" "$work/notes.out" || fail "the notes read back differ"

  # The standard resource loads from the module folder, not from beside
  # its .agent file.
  id=$(cairnctl add maildir "path=$work/Mail")
  sync_instance "$id"
  "$work/client" "$XDG_DATA_HOME/cairn/store.db" "$id" RFC822 > "$work/mail.out"
  grep -q '^INBOX/1\.host: Subject: installed' "$work/mail.out" ||
    fail "the message read back differs: $(cat "$work/mail.out")"

  # New mail the filter files into a folder it creates, which the maildir
  # resource makes on disk.
  printf 'Subject: filter me\n\nbody\n' > "$work/Mail/new/2.host"
  sync_instance "$id"
  wait_for "the mail filter to file the new message" \
    sh -c "ls '$work/Mail/.Filed/new' '$work/Mail/.Filed/cur' 2> /dev/null | grep -q '^2\.host'"
  # The indexer, an Autostart type, runs by itself and indexes the message.
  tries=0
  until cairnctl search subject:installed > "$work/search.out" 2> /dev/null &&
      [ -s "$work/search.out" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || fail "cairnctl search never found the message"
    sleep 0.1
  done
  # The indexer takes in the last changes (the filed message's move) a
  # moment after the search finds the message; then the check holds.
  tries=0
  until cairnctl index check 2> "$work/check.err"; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || fail "cairnctl index check: $(cat "$work/check.err")"
    sleep 0.1
  done
  cairnctl stop
}

fail () {
  echo "test-install: $*" >&2
  exit 1
}

if [ "${1:-}" = --in-session ]; then
  work=$2
  in_session
  exit 0
fi

build=$(cd "${1:-$src/build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage

meson install -C "$build" --destdir "$stage" --no-rebuild --quiet

# The staged .pc files name the real prefix; a copy names the stage's.
pc=$(find "$stage" -name cairn-1.pc)
[ -n "$pc" ] || fail "no cairn-1.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir "$work/pkgconfig"
for file in "$(dirname "$pc")"/*.pc; do
  sed "s|^prefix=.*|prefix=$stage$prefix|" "$file" > "$work/pkgconfig/$(basename "$file")"
done
export PKG_CONFIG_PATH="$work/pkgconfig"

# The notes the man pages name, and the API references when the build
# makes them, each a Devhelp book in a folder of its name beside them.
doc=$(pkg-config --variable=datadir cairn-1)/doc
[ -f "$doc/cairn-1/architecture.md" ] || fail "the notes are not in $doc/cairn-1"
documentation=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "documentation"][0])')
if [ "$documentation" = True ]; then
  for book in cairn-1 cairn-scheduler-1 cairn-test-1; do
    [ -f "$doc/$book/index.html" ] && [ -f "$doc/$book/$book.devhelp2" ] ||
      fail "no API reference in $doc/$book"
  done
  [ -f "$doc/cairn-1/architecture.html" ] || fail "the notes are not pages of the reference"
fi
pkg-config --variable=moduledir cairn-1 | grep -q '/cairn-1/modules$' || fail "no moduledir"
pkg-config --variable=agentdir cairn-1 | grep -q '/cairn/agents$' || fail "no agentdir"
# The CalDAV and CardDAV resource, when the build has it (a feature).
if [ -f "$build/resources/dav/dav.agent" ]; then
  [ -f "$(pkg-config --variable=moduledir cairn-1)/libcairn-dav-resource.so" ] ||
    fail "the DAV resource's module is not installed"
  [ -f "$(pkg-config --variable=agentdir cairn-1)/dav.agent" ] || fail "dav.agent not installed"
  touch "$work/dav-expected"
fi

# The notes resource, out of tree, into the same prefix, as a package.
meson setup "$work/notes-build" "$src/examples/notes-resource/standalone" \
  --prefix="$prefix" --werror > "$work/notes-setup.log" ||
  { cat "$work/notes-setup.log"; fail "meson setup of the standalone notes resource"; }
meson compile -C "$work/notes-build" > "$work/notes-compile.log" ||
  { cat "$work/notes-compile.log"; fail "meson compile of the standalone notes resource"; }
meson install -C "$work/notes-build" --destdir "$stage" --no-rebuild --quiet
[ -f "$(pkg-config --variable=agentdir cairn-1)/notes.agent" ] || fail "notes.agent not staged"

# shellcheck disable=SC2046
${CC:-cc} -Wall -Wextra -Werror -o "$work/client" "$src/tests/install/cairn-install-client.c" \
  $(pkg-config --cflags --libs cairn-1)
# The installed headers, generated ones included, as C++.
# shellcheck disable=SC2046
${CXX:-c++} -Wall -Wextra -Wpedantic -Werror -fsyntax-only "$src/tests/cxx/test-cxx-headers.cpp" \
  $(pkg-config --cflags cairn-1 cairn-scheduler-1 cairn-test-1)

mkdir -p "$work/notes/Inbox/Old" "$work/notes/Work" "$work/Mail/cur" "$work/Mail/new" \
  "$work/Mail/tmp" "$work/home"
printf alpha > "$work/notes/Inbox/a.txt"
printf bravo > "$work/notes/Inbox/b.txt"
printf charlie > "$work/notes/Inbox/Old/c.txt"
printf delta > "$work/notes/Work/d.txt"
printf 'Subject: installed\n\nbody\n' > "$work/Mail/new/1.host"
cat > "$work/filter.sieve" <<'SIEVE'
require ["fileinto", "mailbox"];
if header :is "subject" "filter me" {
  fileinto :create "Filed";
}
SIEVE

# Only the stage: its programs, libraries, types and modules, and a home
# of its own. The private bus has no activation files, so cairnctl start
# spawns $CAIRN_CONTROL.
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$work</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
libexec=$(dirname "$(find "$stage" -name cairn-control -type f)")
unset CAIRN_AGENTS_DIR
export PATH="$stage$prefix/bin:$PATH"
export LD_LIBRARY_PATH="$(pkg-config --variable=libdir cairn-1)"
export XDG_DATA_DIRS="$(pkg-config --variable=datadir cairn-1)"
export CAIRN_MODULE_DIR="$(pkg-config --variable=moduledir cairn-1)"
export CAIRN_CONTROL="$libexec/cairn-control"
export CAIRN_AGENT_HOST="$libexec/cairn-agent-host"
export HOME="$work/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share"
export XDG_STATE_HOME="$HOME/.local/state" XDG_CACHE_HOME="$HOME/.cache"
[ "$(command -v cairnctl)" = "$stage$prefix/bin/cairnctl" ] || fail "cairnctl is not the staged one"

dbus-run-session --config-file="$work/bus.conf" -- "$0" --in-session "$work" ||
  { cat "$XDG_STATE_HOME/cairn/control.log" 2>/dev/null || true; fail "the staged tree failed"; }
echo "test-install: OK"
