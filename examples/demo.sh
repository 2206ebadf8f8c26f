#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds, and shows Cairn at work on mail: a
# sample maildir, the control service running a maildir resource on a
# private session bus, the store as an application sees it, messages
# marked read while the resource is offline, and the files it renames
# once it is online again. Everything lives in a temporary folder that is
# removed on exit.
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--in-session" ]; then
  . tests/install-dependencies.sh
  cairn_install_dependencies
  # Quiet unless it fails.
  quietly () { log=$("$@" 2>&1) || { echo "$log"; return 1; }; }
  echo "Building in build/ ..."
  [ -f build/build.ninja ] || quietly meson setup build
  quietly meson compile -C build
  # The session's dbus-daemon complains on stderr when it may not raise
  # its file limit, as in containers; the demo's own stderr goes by fd 3.
  exec dbus-run-session -- "$0" --in-session 3>&2 2>/dev/null
fi

# From here on, inside dbus-run-session: a session bus of our own.
exec 2>&3 3>&-
# Names and subjects are UTF-8 in any script.
case "$(locale charmap 2>/dev/null)" in
  UTF-8) ;;
  *) export LC_ALL=C.UTF-8 ;;
esac
BUILD=$PWD/build
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cairn-demo-XXXXXX")
MAIL=$DEMO/Mail
CONTROL_PID=""

cleanup () {
  if [ -n "$CONTROL_PID" ] && kill -0 "$CONTROL_PID" 2>/dev/null; then
    # SIGTERM stops it like Shutdown: every agent first, then itself.
    kill "$CONTROL_PID" 2>/dev/null || true
    wait "$CONTROL_PID" 2>/dev/null || true
  fi
  rm -rf "$DEMO"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for folder in data config state cache runtime; do
  mkdir -m 0700 "$DEMO/$folder"
done
export XDG_DATA_HOME="$DEMO/data" XDG_CONFIG_HOME="$DEMO/config" XDG_STATE_HOME="$DEMO/state"
export XDG_CACHE_HOME="$DEMO/cache" XDG_RUNTIME_DIR="$DEMO/runtime"
# Agent types and the agent host from the build tree, not installed ones.
export CAIRN_AGENTS_DIR="$BUILD/resources/maildir"
export CAIRN_AGENT_HOST="$BUILD/framework/agent-host/cairn-agent-host"

cairnctl () { "$BUILD/framework/cairnctl/cairnctl" "$@"; }
demo () { "$BUILD/examples/cairn-demo" "$@"; }
if [ -t 1 ]; then
  step () { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step () { printf '\n== %s\n' "$*"; }
fi

give_up () {
  echo "$*" >&2
  tail -n 20 "$DEMO/control.log" "$XDG_STATE_HOME"/cairn/log/*.log >&2 2>/dev/null || true
  exit 1
}

# Runs "$@" every 0.2 s until it succeeds, for at most $1 seconds.
poll () {
  limit=$(( $1 * 5 )); shift
  while ! "$@"; do
    limit=$(( limit - 1 ))
    if [ -n "$CONTROL_PID" ] && ! kill -0 "$CONTROL_PID" 2>/dev/null; then
      give_up "cairn-control exited"
    fi
    if [ "$limit" -le 0 ]; then
      cairnctl status >&2 || true
      give_up "Timed out waiting for: $*"
    fi
    sleep 0.2
  done
}

# The columns of `cairnctl status`: ID TYPE STATE STATUS PROG ONLINE
# PENDING QUEUES MESSAGE.
control_ready () { cairnctl status >/dev/null 2>&1; }
status_line () { cairnctl status 2>/dev/null | awk -v id="$1" '$1 == id'; }
is_running () { status_line "$1" | awk '$3 == "running" { ok = 1 } END { exit !ok }'; }
# Idle: no task queued or running, no change waiting to be replayed.
is_idle () {
  status_line "$1" | awk '$3 == "running" && $4 == "idle" && $7 == "0" && $8 ~ /^0(\/0)*$/ \
                          { ok = 1 } END { exit !ok }'
}
# Idle twice in a row: the files a replay renames make the resource look
# at the folder again a moment later.
is_settled () { is_idle "$1" && sleep 0.3 && is_idle "$1"; }

# Every file of INBOX, as new/NAME or cur/NAME:2,FLAGS.
list_inbox () { (cd "$MAIL" && find new cur -type f) | sort; }

step "A sample maildir"
demo generate "$MAIL"

step "cairn-control on a private session bus, with a maildir resource"
"$BUILD/framework/control/cairn-control" >"$DEMO/control.log" 2>&1 &
CONTROL_PID=$!
poll 30 control_ready
ID=$(cairnctl add maildir path="$MAIL" layout=maildir++)
echo "Added $ID"
poll 30 is_running "$ID"
cairnctl sync "$ID" --wait
poll 60 is_settled "$ID"
cairnctl status

step "The store, read directly through libcairn"
demo show

step "Offline: mark the 5 newest unread messages of INBOX read"
cairnctl offline "$ID"
list_inbox >"$DEMO/before"
demo mark-read 5
list_inbox >"$DEMO/offline"
if cmp -s "$DEMO/before" "$DEMO/offline"; then
  echo "No file renamed: the changes wait in the store's change log."
else
  echo "Files changed while offline!" >&2
  exit 1
fi
cairnctl status

step "Online: the resource replays the changes to the files"
cairnctl online "$ID"
poll 60 is_settled "$ID"
list_inbox >"$DEMO/after"
# Each renamed file: its unique name before ":2," is what stays.
comm -23 "$DEMO/before" "$DEMO/after" | while read -r old; do
  name=${old#*/}
  name=${name%%:2,*}
  new=$(grep -F "/$name" "$DEMO/after")
  printf '  %-48s -> %s\n' "$old" "$new"
done
unread=$(find "$MAIL/new" "$MAIL/cur" -type f ! -name '*:2,*S*' | wc -l)
echo "INBOX on disk: $unread files without the S flag."
