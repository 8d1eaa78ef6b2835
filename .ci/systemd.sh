#!/bin/sh
# Install systemd-analyze (Debian's systemd package) for tests/test_service.py when it is
# missing. It only reads contrib/newsarchive.service; no service manager is started.
set -eu
if command -v systemd-analyze >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends systemd
