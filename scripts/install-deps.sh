#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages custos needs to build, test, fuzz and benchmark.
# Idempotent; runs as root (or through sudo when it is available).
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libfuzzer-14-dev llvm
libssl-dev openssl libjansson-dev libcmocka-dev valgrind
libcbor-dev libtss2-dev tpm2-tools swtpm swtpm-tools libsqlite3-dev sqlite3 golang-go golang-golang-x-mod-dev
libmicrohttpd-dev libjose-dev libcurl4-openssl-dev python3-jwcrypto curl"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    $SUDO apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
else
    echo "install-deps: all packages present"
fi
