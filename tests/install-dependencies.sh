#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs, with apt-get, the Debian 12 packages Cairn needs to build and
# test, and only those that are missing. Sourced by examples/demo.sh and
# tests/run.sh, so both always agree on the list.

CAIRN_PACKAGES="meson ninja-build pkg-config gcc g++ clang libglib2.0-dev libsqlite3-dev check \
gobject-introspection libgirepository1.0-dev dbus libsecret-1-dev gnome-keyring libgmime-3.0-dev \
dovecot-imapd libetpan-dev glib-networking python3 python3-gi gir1.2-glib-2.0 gi-docgen \
libsoup-3.0-dev libxml2-dev libical-dev radicale openssl libgtk-4-dev libgtk-4-bin libmimalloc-dev"

cairn_install_dependencies () {
  missing=""
  for package in $CAIRN_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing="$missing $package"
    fi
  done
  if [ -n "$missing" ]; then
    echo "Installing:$missing"
    apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    # The package starts a system Dovecot on ports 143 and 993; the tests
    # run their own.
    case "$missing" in
      *dovecot-imapd*) service dovecot stop >/dev/null 2>&1 || true ;;
    esac
  fi
}
