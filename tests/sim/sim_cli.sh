#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `custos sim` end to end: init, quote (base64 and --out), verification of the quote by
# `custos verify` against DIR/dev-attester/collateral, the refusals (no PKI: exit 2 with
# the message, without creating anything; bad hex: exit 2), another data directory's
# collateral rejecting the quote (exit 1), and kbs-attest, whose REPORT_DATA is checked
# against SHA-384 of the canonical runtime data computed by python3 (when present).
# Usage: sim_cli.sh CUSTOS_BINARY
set -eu
C=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
    want=$1
    shift
    set +e
    "$@" >out 2>err
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "rc $rc (want $want): $*"
}

RD16=00112233445566778899aabbccddeeff
RD=$RD16$RD16$RD16$RD16
MRTD=$(printf 'ab%.0s' $(seq 48))

# no PKI yet: exit 2, say how to make one, create nothing
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$RD"
grep -q "run custosd --dev --data-dir $T/data first, or custos sim init --data-dir $T/data" err ||
    fail "missing PKI message: $(cat err)"
[ ! -e "$T/data" ] || fail "quote created the data directory"
mkdir -m 700 "$T/data"
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$RD"
grep -q "custos sim init --data-dir" err || fail "missing PKI message (empty dir)"
[ ! -e "$T/data/dev-attester" ] || fail "quote created dev-attester"

"$C" sim init --data-dir "$T/data" >init.txt
grep -q "collateral: *$T/data/dev-attester/collateral" init.txt || fail "init output"
[ "$(stat -c %a "$T/data/dev-attester")" = 700 ] || fail "dev-attester mode"
[ "$(stat -c %a "$T/data/dev-attester/attestation.key")" = 600 ] || fail "key mode"
COLL=$T/data/dev-attester/collateral

# base64 on one line, then raw bytes with --out
"$C" sim quote --data-dir "$T/data" --report-data "$RD" --mr-td "$MRTD" --rtmr 3="$MRTD" >q.b64
[ "$(wc -l <q.b64)" = 1 ] || fail "base64 on one line"
base64 -d q.b64 >q.bin
"$C" verify --evidence q.bin --collateral "$COLL" --json >v.json ||
    fail "verify q.bin: $(cat v.json)"
grep -q '"verified": *true' v.json || fail "verified"
grep -q "\"report_data\": *\"$RD\"" v.json || fail "report_data claim"
grep -q "\"mr_td\": *\"$MRTD\"" v.json || fail "mr_td claim"
grep -q "\"rtmr3\": *\"$MRTD\"" v.json || fail "rtmr3 claim"
grep -q '"tcb_status": *"UpToDate"' v.json || fail "UpToDate"
grep -q '"debug": *false' v.json || fail "debug false"

"$C" sim quote --data-dir "$T/data" --report-data "$RD" --debug --out-of-date --out q2.bin
[ -s q2.bin ] || fail "--out wrote nothing"
"$C" verify --evidence q2.bin --collateral "$COLL" --json >v2.json || fail "verify q2.bin"
grep -q '"tcb_status": *"OutOfDate"' v2.json || fail "OutOfDate"
grep -q '"debug": *true' v2.json || fail "debug true"

# bad input: exit 2
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data 0011
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$(printf 'zz%.0s' $(seq 64))"
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$RD" --mr-td abcd
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$RD" --rtmr 4="$MRTD"
expect_rc 2 "$C" sim quote --data-dir "$T/data"
expect_rc 2 "$C" sim quote --report-data "$RD"
expect_rc 2 "$C" sim frobnicate --data-dir "$T/data"
expect_rc 0 "$C" sim --help

# an unsafe key file is refused, with a hint
chmod 644 "$T/data/dev-attester/root.key"
expect_rc 2 "$C" sim quote --data-dir "$T/data" --report-data "$RD"
grep -q "0600" err || fail "mode hint: $(cat err)"
chmod 600 "$T/data/dev-attester/root.key"

# another data directory's collateral does not accept this quote
"$C" sim init --data-dir "$T/other" >/dev/null
expect_rc 1 "$C" verify --evidence q.bin --collateral "$T/other/dev-attester/collateral"

# kbs-attest: the whole attest body, REPORT_DATA bound to nonce and key
NONCE=o1qUjS7VGZBv7wWrl9ayHMvNqT9zUqQbPoYHVJ8nTCk=
cat >jwk.json <<'EOF'
{ "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
  "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
  "kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW" }
EOF
printf 'algorithm = "sha384"\nversion = "0.1.0"\n\n[data]\n"a.txt" = "b"\n' >init.toml
"$C" sim kbs-attest --data-dir "$T/data" --nonce "$NONCE" --tee-pubkey jwk.json \
    --init-data init.toml --mr-config-id "$MRTD" >attest.json
[ "$(wc -l <attest.json)" = 1 ] || fail "attest body on one line"
grep -q '"tee-evidence":{"quote":"[A-Za-z0-9+/=]*","cc_eventlog":null}' attest.json ||
    fail "tee-evidence shape"
grep -q "\"runtime-data\":{\"nonce\":\"$NONCE\",\"tee-pubkey\":{" attest.json || fail "runtime-data"
grep -q '"init-data":{"format":"toml","body":"algorithm = \\"sha384\\"' attest.json ||
    fail "init-data"
expect_rc 2 "$C" sim kbs-attest --data-dir "$T/data" --nonce 'not base64!' --tee-pubkey jwk.json
echo '[1]' >notobj.json
expect_rc 2 "$C" sim kbs-attest --data-dir "$T/data" --nonce "$NONCE" --tee-pubkey notobj.json
expect_rc 2 "$C" sim kbs-attest --data-dir "$T/data" --nonce "$NONCE"
expect_rc 2 "$C" sim kbs-attest --data-dir "$T/nowhere" --nonce "$NONCE" --tee-pubkey jwk.json
grep -q "custos sim init --data-dir" err || fail "kbs-attest missing PKI message"

if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 - attest.json <<'EOF' >check.txt
import base64, hashlib, json, sys
body = json.load(open(sys.argv[1]))
rt = body["runtime-data"]
runtime = {"additional-evidence": "", "nonce": rt["nonce"], "tee-pubkey": rt["tee-pubkey"]}
canon = json.dumps(runtime, sort_keys=True, separators=(",", ":"))
want = hashlib.sha384(canon.encode()).digest() + bytes(16)
quote = base64.b64decode(body["tee-evidence"]["quote"])
# TDX quote v4: 48-byte header, then the TD report; REPORT_DATA at 520, MRCONFIGID at 184
ok = quote[48 + 520:48 + 584] == want and quote[48 + 184:48 + 232] == bytes([0xab]) * 48
print("ok" if ok else "mismatch")
open("quote.bin", "wb").write(quote)
EOF
    [ "$(cat check.txt)" = ok ] || fail "kbs-attest REPORT_DATA/MRCONFIGID"
    "$C" verify --evidence quote.bin --collateral "$COLL" >/dev/null || fail "verify kbs quote"
fi
echo "sim_cli: ok"
