#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds everything and runs the whole test suite, as CI does:
#   1. installs the Debian packages (scripts/install-deps.sh),
#   2. ASan+UBSan build (warnings as errors) and its test run,
#   3. lint (layering, banned calls, exported ABI), the unit, vector and PKI tests under valgrind,
#   4. a short libFuzzer run of every fuzz target (clang),
#   5. the plain build (warnings as errors) and its test run, ending with CTest's summary.
# Environment: CS_FUZZ_SECONDS (per target, default 10; 0 skips), CS_SKIP_DEPS=1.
set -eu
cd "$(dirname "$0")/.."
[ "${CS_SKIP_DEPS:-0}" = 1 ] || ./scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== ASan+UBSan build and tests"
cmake -S . -B build-asan -DCS_WERROR=ON -DCS_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== plain build"
cmake -S . -B build -DCS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== lint (layers, banned calls, exported symbols)"
./scripts/lint.sh build/libcustos.so

echo "== valgrind"
# two at a time; the heaviest (test-PKI and damage suites of every platform) also run under
# ASan+UBSan above, so valgrind covers the unit, vector and case tests plus DCAP's
# (test_jose too is left to ASan+UBSan: its RSA key generations take minutes under valgrind)
vg_tests="test_core test_jcs test_intel_quote test_evidence_cases test_tlog_vectors
test_tlog_notes test_tlog_log test_dcap_damage test_dcap_pki test_tpm_attest test_tpm_cases
test_tpm_damage test_tpm_verify test_snp_report test_snp_cases test_snp_kbs test_nitro
test_nitro_cases test_policy test_policy_lint test_broker_store test_envelope test_dev_attester
test_kbs_binding test_broker_units test_attester test_cache test_client"
for t in $vg_tests; do
    find build/tests -name "$t" -type f -perm -u+x | head -n 1
done | xargs -r -P 2 -I{} sh -c 'valgrind --quiet --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite "{}" >/dev/null && echo "valgrind: $(basename {}) clean"'

secs=${CS_FUZZ_SECONDS:-10}
if [ "$secs" -gt 0 ] && [ -x scripts/fuzz.sh ]; then
    echo "== fuzz ($secs s per target)"
    ./scripts/fuzz.sh "$secs"
fi

echo "== tests"
cd build && ctest --output-on-failure -j"$jobs"
