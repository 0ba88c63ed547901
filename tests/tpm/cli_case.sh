#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One shared TPM case through the custos CLI, as an operator would run it:
#   custos verify --evidence DIR/quote.bin --collateral DIR --at AT [--nonce N] --json
# and the outcome compared with the case's expectation (tests/platform-tpm.cmake reads
# them from case.json at configure time).
#
# usage: cli_case.sh CUSTOS_CLI DIR AT VERIFIED(ON|OFF) CLASS|- nonce=HEX|none
set -eu
custos=$1 dir=$2 at=$3 verified=$4 class=$5 nonce=$6
set -- verify --evidence "$dir/quote.bin" --collateral "$dir" --at "$at" --json
case "$nonce" in
nonce=*) set -- "$@" --nonce "${nonce#nonce=}" ;;
*) ;;
esac
rc=0
out=$("$custos" "$@") || rc=$?
echo "$out"
case "$verified" in
ON | TRUE | true | 1)
    [ "$rc" = 0 ] || { echo "FAIL: exit status $rc, expected 0"; exit 1; }
    case "$out" in
    *'"verified":true,"platform":"tpm"'*) ;;
    *) echo "FAIL: not verified as tpm"; exit 1 ;;
    esac
    case "$nonce" in
    nonce=*)
        case "$out" in
        *"\"nonce\":\"${nonce#nonce=}\""*) ;;
        *) echo "FAIL: nonce claim is not ${nonce#nonce=}"; exit 1 ;;
        esac
        ;;
    *) ;;
    esac
    ;;
*)
    [ "$rc" = 1 ] || { echo "FAIL: exit status $rc, expected 1"; exit 1; }
    case "$out" in
    *"\"class\":\"$class\""*) ;;
    *) echo "FAIL: error class is not $class"; exit 1 ;;
    esac
    ;;
esac
