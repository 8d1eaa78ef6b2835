#!/bin/sh
# Install Debian's postgresql for the cluster tests (tests/test_cluster.py) when initdb is
# missing. The tests start their own server: initdb into a temporary folder, listening on
# 127.0.0.1 only (tests/pgserver.py); no system service is used.
set -eu
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql
