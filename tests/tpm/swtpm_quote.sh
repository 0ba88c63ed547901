#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End to end with a real software TPM: starts swtpm on a UNIX socket in a temporary
# directory, makes an EK and four AKs with tpm2-tools (ECDSA P-256, ECDSA P-384, RSASSA and
# RSA-PSS 2048), extends PCR 16, quotes with a fresh nonce, writes each quote as a case
# directory (quote.bin, signature.bin, pcrs.json, and ak_pub.pem, or ak_cert.der +
# ca_chain.pem + trust_anchor.pem from a test CA made here with openssl), verifies it with
# the custos CLI and with the library (test_tpm_check), then tampers with each piece (a
# quote byte, a signature byte, a PCR value, a missing PCR, the nonce, the AK key, the AK
# certificate, the trust anchor, the instant) and checks that each is rejected with the
# right error class by both. swtpm is stopped on every exit path.
#
# usage: swtpm_quote.sh CUSTOS_CLI TPM_CHECK   (CS_KEEP_SWTPM_DIR=1 keeps the directory)
# Exit: 0 all good, 1 a check failed, 77 (skip) when swtpm, tpm2-tools or openssl is missing.
set -eu

# absolute paths: the script works in its temporary directory
custos=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
check=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
for tool in swtpm tpm2_createek tpm2_createak tpm2_pcrextend tpm2_quote tpm2_flushcontext \
    openssl od dd awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (scripts/install-deps.sh installs swtpm and tpm2-tools)"
        exit 77
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/custos-swtpm.XXXXXX")
swtpm_pid=""
cleanup() {
    if [ -n "$swtpm_pid" ]; then
        kill "$swtpm_pid" 2>/dev/null || true
        wait "$swtpm_pid" 2>/dev/null || true
    fi
    [ -n "${CS_KEEP_SWTPM_DIR:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mkdir "$tmp/state"
swtpm socket --tpmstate dir="$tmp/state" --tpm2 \
    --server type=unixio,path="$tmp/tpm.sock" --ctrl type=unixio,path="$tmp/tpm.sock.ctrl" \
    --flags not-need-init,startup-clear >"$tmp/swtpm.log" 2>&1 &
swtpm_pid=$!
i=0
while [ ! -S "$tmp/tpm.sock" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$swtpm_pid" 2>/dev/null; then
        echo "SKIP: swtpm did not start: $(cat "$tmp/swtpm.log")"
        exit 77
    fi
    sleep 0.05
done
# the swtpm TCTI finds the control channel at <path>.ctrl
TPM2TOOLS_TCTI="swtpm:path=$tmp/tpm.sock"
export TPM2TOOLS_TCTI

fail=0
checks=0
bad() {
    echo "FAIL: $*"
    fail=1
}

# ---- the TPM side ------------------------------------------------------------------
cd "$tmp"
tpm2_createek -c ek.ctx -G ecc -u ek.pub >/dev/null
# name key-type scheme hash
make_ak() {
    tpm2_createak -C ek.ctx -c "$1.ctx" -G "$2" -g "$4" -s "$3" -u "$1.pub.pem" -f pem \
        -n "$1.name" >/dev/null
    tpm2_flushcontext -t
}
make_ak ecc256 ecc256 ecdsa sha256
make_ak ecc384 ecc384 ecdsa sha384
make_ak rsassa rsa2048 rsassa sha256
make_ak rsapss rsa2048 rsapss sha256
# PCR 16 (debug PCR, resettable) extended in the SHA-1 and SHA-256 banks
d20=0000000000000000000000000000000000000016
tpm2_pcrextend "16:sha1=$d20,sha256=000000000000000000000000$d20"

nonce=$(openssl rand -hex 16)

# tpm2_quote's YAML "pcrs:" section -> pcrs.json ({"bank": {"index": "hex"}})
pcrs_json() {
    awk '
        /^pcrs:/ { on = 1; printf "{"; next }
        on && /^[^ ]/ { on = 0 }
        on && /^  [a-z0-9]+:[ ]*$/ {
            b = $1; sub(":", "", b)
            printf "%s\"%s\": {", (nb++ ? "}, " : ""), b; ni = 0; next
        }
        on && /^    / {
            idx = $1; sub(":", "", idx); v = $NF; sub("^0x", "", v)
            printf "%s\"%s\": \"%s\"", (ni++ ? ", " : ""), idx, tolower(v)
        }
        END { printf "%s}\n", (nb ? "}" : "") }
    ' "$1"
}

# name ak scheme hash pcr-list: a case directory $tmp/<name>
quote() {
    mkdir "$1"
    # -o makes tpm2_quote read the PCRs with the quote and print them in its YAML
    tpm2_quote -c "$2.ctx" -q "$nonce" -l "$5" -m "$1/quote.bin" -s "$1/signature.bin" \
        -o pcrs.bin -g "$4" --scheme "$3" >"$1/quote.yaml"
    tpm2_flushcontext -t
    pcrs_json "$1/quote.yaml" >"$1/pcrs.json"
}
quote ecc256 ecc256 ecdsa sha256 sha256:0,1,16
quote ecc384 ecc384 ecdsa sha384 sha1:0,7+sha256:16+sha384:16,23
quote rsassa rsassa rsassa sha256 sha256:0,1,16
quote rsapss rsapss rsapss sha256 sha1:16+sha256:0,16
cp ecc256.pub.pem ecc256/ak_pub.pem
cp ecc384.pub.pem ecc384/ak_pub.pem
cp rsapss.pub.pem rsapss/ak_pub.pem

# ---- a test CA for the RSASSA AK: root, intermediate, AK certificate --------------
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >ca.ext
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >ak.ext
ca_root() { # name
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.pem" -subj "/CN=custos swtpm test $1" -days 2 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        2>/dev/null
}
issue() { # name issuer pubkey-or-empty ext serial outform: writes name.pem or name.der
    out="$1.$(printf '%s' "$6" | tr 'A-Z' 'a-z')"
    if [ -n "$3" ]; then
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$1.csr.key" -subj "/CN=custos swtpm test $1" -out "$1.csr" 2>/dev/null
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$5" -days 1 \
            -force_pubkey "$3" -extfile "$4" -outform "$6" -out "$out" 2>/dev/null
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
            -subj "/CN=custos swtpm test $1" -out "$1.csr" 2>/dev/null
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$5" -days 1 \
            -extfile "$4" -outform "$6" -out "$out" 2>/dev/null
    fi
}
ca_root root
issue inter root "" ca.ext 2 PEM
issue akcert inter rsassa.pub.pem ak.ext 3 DER
issue akcert_ecc inter ecc256.pub.pem ak.ext 4 DER
ca_root other
cp akcert.der rsassa/ak_cert.der
cp inter.pem rsassa/ca_chain.pem
cp root.pem rsassa/trust_anchor.pem

# ---- checks ------------------------------------------------------------------------
# expect DIR CLASS NONCE|- [AT]: the CLI (--json) and the library must both say CLASS
expect() {
    dir=$1 want=$2 n=$3
    checks=$((checks + 1))
    set -- verify --evidence "$dir/quote.bin" --collateral "$dir" --json
    [ "$n" = "-" ] || set -- "$@" --nonce "$n"
    [ -z "${at:-}" ] || set -- "$@" --at "$at"
    rc=0
    out=$("$custos" "$@" 2>&1) || rc=$?
    if [ "$want" = ok ]; then
        case "$rc:$out" in
        0:*'"verified":true'*'"platform":"tpm"'*) ;;
        *) bad "$dir (${what:-}): CLI rc=$rc, expected verified: $out" ;;
        esac
    else
        case "$rc:$out" in
        1:*"\"class\":\"$want\""*) ;;
        *) bad "$dir (${what:-}): CLI rc=$rc, expected $want: $out" ;;
        esac
    fi
    if ! "$check" "$dir" "$want" "$n" ${at:+"$at"} >lib.out 2>&1; then
        bad "$dir (${what:-}): library, expected $want: $(cat lib.out)"
    fi
}

# flip FILE OFFSET: xor one byte with 0x01
flip() {
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# tamper CASE WHAT: a copy of the case with one piece damaged, in $tmp/t
tamper() {
    rm -rf t
    cp -r "$1" t
    what=$2
}

for c in ecc256 ecc384 rsassa rsapss; do
    what=genuine
    expect "$c" ok "$nonce"
    what="no nonce expected"
    expect "$c" ok -
    if ! "$custos" verify --evidence "$c/quote.bin" --collateral "$c" --nonce "$nonce" --json |
        grep -q "\"nonce\":\"$nonce\""; then
        bad "$c: the nonce claim is not $nonce"
    fi

    what="another nonce"
    expect "$c" binding "$(openssl rand -hex 16)"
    what="empty nonce expected"
    expect "$c" binding ""

    tamper "$c" "quote byte (clock)"
    flip t/quote.bin 62
    expect t signature "$nonce"
    tamper "$c" "quote byte (pcrDigest)"
    flip t/quote.bin $(($(wc -c <t/quote.bin) - 1))
    expect t signature "$nonce"
    tamper "$c" "signature byte"
    flip t/signature.bin $(($(wc -c <t/signature.bin) - 2))
    expect t signature "$nonce"
    tamper "$c" "PCR 16 value"
    # the first hex digit of PCR 16's value, in every bank
    awk '{
        out = ""; s = $0
        while ((i = index(s, "\"16\": \"")) > 0) {
            d = substr(s, i + 7, 1); out = out substr(s, 1, i + 6) (d == "0" ? "1" : "0")
            s = substr(s, i + 8)
        }
        print out s
    }' "$c/pcrs.json" >t/pcrs.json
    expect t binding "$nonce"
    tamper "$c" "PCR 16 missing"
    awk '{ gsub(/, "16": "[0-9a-f]*"/, ""); gsub(/"16": "[0-9a-f]*", /, "")
           gsub(/"16": "[0-9a-f]*"/, ""); print }' "$c/pcrs.json" >t/pcrs.json
    expect t binding "$nonce"
done

# the AK key replaced (pinned): another AK of the same TPM, of the same and of another type
tamper ecc256 "another ECDSA AK pinned"
cp ecc384.pub.pem t/ak_pub.pem
expect t signature "$nonce"
tamper ecc256 "an RSA AK pinned"
cp rsassa.pub.pem t/ak_pub.pem
expect t signature "$nonce"
tamper rsapss "another RSA AK pinned"
cp rsassa.pub.pem t/ak_pub.pem
expect t signature "$nonce"
# the AK certificate: for another AK, chained to another root, outside its validity
tamper rsassa "AK certificate of another AK"
cp akcert_ecc.der t/ak_cert.der
expect t signature "$nonce"
tamper rsassa "another trust anchor"
cp other.pem t/trust_anchor.pem
expect t chain "$nonce"
tamper rsassa "no intermediate"
rm t/ca_chain.pem
expect t chain "$nonce"
tamper rsassa "AK certificate byte"
flip t/ak_cert.der $(($(wc -c <t/ak_cert.der) - 3))
expect t signature "$nonce"
what="after the AK certificate expires"
at=2099-01-01T00:00:00Z
expect rsassa expired "$nonce"
what="before the AK certificate is valid"
at=2000-01-01T00:00:00Z
expect rsassa expired "$nonce"
at=""

if [ "$fail" != 0 ]; then
    exit 1
fi
echo "swtpm: 4 AKs (ECDSA P-256, P-384, RSASSA, RSA-PSS): $checks checks, each by CLI and library"
