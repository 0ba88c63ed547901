#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Interop test of the audit log with Go's golang.org/x/mod/sumdb/note and sumdb/tlog (issue 4):
# builds interop.go offline and runs it against the custos CLI (see interop.go for what it
# checks). Usage: run.sh CUSTOS TLOG_FILL BUILD_DIR
#
# Needs Debian's golang-go and golang-golang-x-mod-dev; without them it prints why and exits 77
# (CTest: skipped). The build is offline, in GOPATH mode over /usr/share/gocode (x/mod v0.7.0
# has no module download to do there: GO111MODULE=off, GOPROXY=off), with its cache under
# BUILD_DIR. Environment: CS_INTEROP_SEED (default 4242), CS_INTEROP_TREES (default 6),
# CS_INTEROP_MAX (largest random tree, default 4000), CS_GOCODE (default /usr/share/gocode).
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: run.sh CUSTOS TLOG_FILL BUILD_DIR" >&2
    exit 2
fi
mkdir -p "$3"
custos=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fill=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
build=$(cd "$3" && pwd) # GOPATH entries must be absolute
here=$(cd "$(dirname "$0")" && pwd)
gocode=${CS_GOCODE:-/usr/share/gocode}

if ! command -v go >/dev/null 2>&1; then
    echo "SKIP: go is not installed (Debian package golang-go)"
    exit 77
fi
for pkg in note tlog; do
    if [ ! -f "$gocode/src/golang.org/x/mod/sumdb/$pkg/$pkg.go" ]; then
        echo "SKIP: $gocode/src/golang.org/x/mod/sumdb/$pkg is missing" \
            "(Debian package golang-golang-x-mod-dev)"
        exit 77
    fi
done

mkdir -p "$build/gopath" "$build/gocache"
GO111MODULE=off
GOPATH="$gocode:$build/gopath"
GOCACHE="$build/gocache"
GOFLAGS=
GOPROXY=off
GOENV=off
GOTOOLCHAIN=local
CGO_ENABLED=0
export GO111MODULE GOPATH GOCACHE GOFLAGS GOPROXY GOENV GOTOOLCHAIN CGO_ENABLED

echo "run.sh: $(go version), x/mod from $gocode"
go vet "$here/interop.go"
go build -o "$build/tlog-interop" "$here/interop.go"

# tmpfs when there is one, as the unit tests do: this test is about formats, not durability
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    work=$(mktemp -d /dev/shm/custos-interop.XXXXXX)
else
    work=$(mktemp -d "$build/work.XXXXXX")
fi
if "$build/tlog-interop" -custos "$custos" -fill "$fill" -work "$work" \
    -seed "${CS_INTEROP_SEED:-4242}" -trees "${CS_INTEROP_TREES:-6}" -max "${CS_INTEROP_MAX:-4000}"; then
    rm -rf "$work"
else
    echo "run.sh: FAILED; the trees are kept in $work" >&2
    exit 1
fi
