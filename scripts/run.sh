#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds custos and runs its main job on embedded defaults:
#   1. `custos verify` on a real Intel TDX quote from ../shared/testdata/evidence/T01 when
#      that folder sits beside the project, otherwise on a quote and collateral made by the
#      project's own test PKI;
#   2. a development broker (`custosd --dev` on loopback, in a temporary directory): the
#      starter policy and a secret through the admin API, one guest round trip (KBS auth,
#      a development TDX quote bound to the nonce and a fresh TEE key, attest, the secret
#      as a JWE decrypted inside the "guest"), then `custos audit verify` of its log.
set -eu
cd "$(dirname "$0")/.."
[ "${CS_SKIP_DEPS:-0}" = 1 ] || ./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

case_dir=../shared/testdata/evidence/T01
if [ -f "$case_dir/quote.bin" ]; then
    echo "custos verify: real TDX v4 quote ($case_dir)"
else
    case_dir=build/demo-case
    rm -rf "$case_dir"
    build/tests/support/custos-testpki --out "$case_dir" --version 4
    echo "custos verify: TDX v4 quote from the project's test PKI ($case_dir; ../shared is absent)"
fi
at=$(sed -n 's/.*"at": *"\([^"]*\)".*/\1/p' "$case_dir/case.json" | head -n 1)
(set -x; build/custos verify --evidence "$case_dir/quote.bin" --collateral "$case_dir" --at "$at")

echo
echo "custosd --dev: one KBS round trip and an audit of the log"
dir=$(mktemp -d /tmp/custos-run-XXXXXX)
build/custosd --dev --listen 127.0.0.1:0 --data-dir "$dir/data" --ready-file "$dir/url" \
    2>"$dir/custosd.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
i=0
while [ ! -s "$dir/url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(cat "$dir/url")
admin="build/custos admin --url $url --token-file $dir/data/admin.token"
head -c 24 /dev/urandom | base64 >"$dir/secret"
set -x
$admin policy set docs/examples/policy-dev-tdx.json
$admin resource set default/dev/secret --file "$dir/secret"
build/custos fetch --url "$url" --resource default/dev/secret --attester sim \
    --data-dir "$dir/data" --out "$dir/released"
cmp "$dir/secret" "$dir/released"
vkey=$(curl -s "$url/custos/v1/log/entry/0" | sed 's/.*"log_vkey":"\([^"]*\)".*/\1/')
build/custos audit verify --url "$url" --vkey "$vkey"
set +x
echo
sh scripts/demo.sh build
