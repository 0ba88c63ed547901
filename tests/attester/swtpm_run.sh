#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the tpm2 attester test against a fresh software TPM: starts swtpm in TCP socket mode
# on a free port pair (P, P+1) with its state in a temporary directory, makes two persistent
# keys with tpm2-tools (an ECC P-256 restricted signing key at 0x81000010: a valid AK; an RSA
# restricted decryption key at 0x81000011: not an AK), then runs TEST with
#   CS_TEST_TCTI=swtpm:host=127.0.0.1,port=P  CS_TEST_AK_HANDLE=0x81000010
#   CS_TEST_BAD_HANDLE=0x81000011
# swtpm is stopped on every exit path.
# usage: swtpm_run.sh TEST   Exit: TEST's status; 77 (skip) when swtpm or tpm2-tools is missing.
set -eu
test_bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in swtpm swtpm_ioctl tpm2_createprimary tpm2_evictcontrol tpm2_flushcontext; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (scripts/install-deps.sh installs swtpm and tpm2-tools)"
        exit 77
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/custos-attester-swtpm.XXXXXX")
swtpm_pid=""
cleanup() {
    if [ -n "$swtpm_pid" ]; then
        kill "$swtpm_pid" 2>/dev/null || true
        wait "$swtpm_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# a free port pair: try random ones until swtpm stays up and answers on its control port
port=""
for try in 1 2 3 4 5 6 7 8 9 10; do
    p=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 30000 ))
    rm -rf "$tmp/state"
    mkdir "$tmp/state"
    swtpm socket --tpm2 --server type=tcp,port=$p,bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 \
        --flags not-need-init,startup-clear --tpmstate dir="$tmp/state" \
        >"$tmp/swtpm.log" 2>&1 &
    swtpm_pid=$!
    i=0
    while [ "$i" -lt 50 ] && kill -0 "$swtpm_pid" 2>/dev/null; do
        if swtpm_ioctl --tcp 127.0.0.1:$((p + 1)) -g >/dev/null 2>&1; then
            port=$p
            break
        fi
        i=$((i + 1))
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$swtpm_pid" 2>/dev/null || true
    wait "$swtpm_pid" 2>/dev/null || true
    swtpm_pid=""
done
if [ -z "$port" ]; then
    echo "SKIP: swtpm did not start: $(cat "$tmp/swtpm.log")"
    exit 77
fi

TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
export TPM2TOOLS_TCTI
cd "$tmp"
tpm2_createprimary -Q -C o -G ecc256:ecdsa-sha256:null -c ak.ctx \
    -a "restricted|sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth"
tpm2_evictcontrol -Q -C o -c ak.ctx 0x81000010
tpm2_flushcontext -t
tpm2_createprimary -Q -C o -G rsa2048 -c srk.ctx
tpm2_evictcontrol -Q -C o -c srk.ctx 0x81000011
tpm2_flushcontext -t

CS_TEST_TCTI=$TPM2TOOLS_TCTI CS_TEST_AK_HANDLE=0x81000010 CS_TEST_BAD_HANDLE=0x81000011 \
    "$test_bin"
