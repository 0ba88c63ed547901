#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds custos and runs its main job on embedded defaults: `custos verify` on a real
# Intel TDX quote from ../shared/testdata/evidence/T01 when that folder sits beside the
# project, otherwise on a quote and collateral made by the project's own test PKI.
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
set -x
build/custos verify --evidence "$case_dir/quote.bin" --collateral "$case_dir" --at "$at"
