#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The `custos log` CLI end to end: keygen, append (file and stdin), checkpoint, proofs in
# both forms, verification of each (and rejection of damaged ones, with exit 1), receipts,
# tiles, and usage errors (exit 2). Usage: log_cli.sh CUSTOS_BINARY
set -eu
C=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { want=$1; shift; set +e; "$@" >/dev/null 2>&1; rc=$?; set -e; [ "$rc" = "$want" ] || fail "rc $rc (want $want): $*"; }

"$C" log keygen --name custos.test/cli >keys
head -n 1 keys >skey
chmod 600 skey
V=$(sed -n 2p keys)
case "$(head -n 1 keys)" in PRIVATE+KEY+custos.test/cli+*) ;; *) fail "signer key format" ;; esac
case "$V" in custos.test/cli+????????+*) ;; *) fail "verifier key format" ;; esac

i=0
while [ $i -lt 40 ]; do
    printf 'entry-%d' $i >e
    idx=$("$C" log append --db log.db --entry e)
    [ "$idx" = "$i" ] || fail "append returned $idx for $i"
    i=$((i + 1))
done
[ "$(printf 'from-stdin' | "$C" log append --db log.db)" = 40 ] || fail "append from stdin"

"$C" log checkpoint --db log.db --key skey >cp
[ "$(sed -n 2p cp)" = 41 ] || fail "checkpoint size"
"$C" log verify checkpoint --vkey "$V" --origin custos.test/cli <cp | grep -q '^OK' || fail "verify cp"
sed 's/^41$/42/' cp >bad
expect_rc 1 "$C" log verify checkpoint --vkey "$V" <bad
"$C" log keygen --name custos.test/cli | sed -n 2p >other
expect_rc 1 "$C" log verify checkpoint --vkey "$(cat other)" <cp
expect_rc 1 "$C" log verify checkpoint --vkey "$V" --origin someone.else <cp
expect_rc 2 "$C" log verify checkpoint --vkey "not a key" <cp

"$C" log prove inclusion --db log.db --index 7 --json >inc.json
"$C" log verify inclusion --json inc.json | grep -q '^OK' || fail "verify inclusion"
sed 's/"index":7/"index":8/' inc.json >inc-bad.json
expect_rc 1 "$C" log verify inclusion --json inc-bad.json
"$C" log prove consistency --db log.db --old 13 --new 41 --json >con.json
"$C" log verify consistency --json <con.json | grep -q '^OK' || fail "verify consistency"
sed 's/"old_size":13/"old_size":12/' con.json >con-bad.json
expect_rc 1 "$C" log verify consistency --json con-bad.json
[ "$("$C" log prove inclusion --db log.db --index 7 | wc -l)" -ge 5 ] || fail "b64 proof lines"

"$C" log prove inclusion --db log.db --index 7 --checkpoint cp >receipt
head -n 1 receipt | grep -qx 'c2sp.org/tlog-proof@v1' || fail "receipt header"
printf 'entry-7' >e7
printf 'entry-8' >e8
"$C" log verify receipt --vkey "$V" --entry e7 <receipt | grep -q 'OK index 7' || fail "receipt"
expect_rc 1 "$C" log verify receipt --vkey "$V" --entry e8 <receipt

"$C" log tiles --db log.db --out tiles --checkpoint cp >/dev/null
[ -f tiles/checkpoint ] && [ -f tiles/tile/0/000.p/41 ] && [ -f tiles/tile/entries/000.p/41 ] ||
    fail "tiles layout"
[ "$(wc -c <tiles/tile/0/000.p/41)" = $((41 * 32)) ] || fail "tile width"

expect_rc 2 "$C" log append --db log.db --entry /nonexistent
expect_rc 2 "$C" log prove inclusion --db log.db
expect_rc 2 "$C" log frobnicate
head -c 65536 /dev/zero >big
expect_rc 1 "$C" log append --db log.db --entry big
echo "log_cli: ok"
