#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) in build-fuzz and
# runs each for the given number of seconds (default 60). Exit status 1 when any target
# crashes, leaks, times out or breaks an invariant; the inputs that did so are left in
# build-fuzz/artifacts/<target>/ (reproduce with: build-fuzz/tests/fuzz/fuzz_<target> FILE).
#
# Corpus of each target: build-fuzz/corpus/<target>/ (the working corpus, which grows run
# after run and is never committed), seeded with the real quotes and collateral of
# ../shared/testdata/evidence when that folder exists, plus the committed seeds in
# tests/fuzz/corpus/<target>/ (read only). Keep a crash input as a regression by copying it
# into tests/fuzz/corpus/<target>/: the replay tests then run it in the normal suite.
#
# usage: scripts/fuzz.sh [seconds-per-target]      env: CC (default clang), FUZZ_TARGETS
set -eu

secs="${1:-60}"
case "$secs" in
'' | *[!0-9]*)
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
shared="${CS_SHARED_DIR:-$root/../shared}"
evidence="$shared/testdata/evidence"
CC="${CC:-clang}" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCS_FUZZ=ON -DCS_SANITIZE=address,undefined -DCS_SHARED_DIR="$shared" >/dev/null
# every target of tests/fuzz (fuzz_<name>.c), unless FUZZ_TARGETS names some
all_targets=$(cd "$root/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' | tr '\n' ' ')
targets="${FUZZ_TARGETS:-$all_targets}"
bins=""
for t in $targets; do
    bins="$bins fuzz_$t"
done
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $bins

# Real inputs seeding target $1, as in tests/fuzz/CMakeLists.txt (none without ../shared);
# a platform may list its patterns in tests/fuzz/seeds-<target>.txt (one glob per line).
shared_seeds() {
    [ -d "$evidence" ] || return 0
    if [ -f "$root/tests/fuzz/seeds-$1.txt" ]; then
        while read -r pat; do
            # shellcheck disable=SC2086
            [ -n "$pat" ] && ls $evidence/$pat
        done <"$root/tests/fuzz/seeds-$1.txt" 2>/dev/null || true
        return 0
    fi
    case "$1" in
    intel_quote | dcap_verify) ls "$evidence"/*/quote.bin ;;
    tcb_info) ls "$evidence"/*/tcb_info.json ;;
    qe_identity) ls "$evidence"/*/qe_identity.json ;;
    x509) ls "$evidence"/*/*.pem "$evidence"/*/*.der ;;
    *) ;;
    esac 2>/dev/null || true
}

# Longest input worth trying: a little above the largest real input of each kind.
max_len() {
    case "$1" in
    intel_quote | dcap_verify) echo 12288 ;;
    tcb_info) echo 16384 ;;
    qe_identity) echo 4096 ;;
    x509) echo 8192 ;;
    note) echo 16384 ;;
    merkle_proof) echo 2200 ;;
    tpm_attest | tpm_signature) echo 1100 ;;
    tpm_pcrs) echo 8192 ;;
    tpm_verify) echo 4096 ;;
    snp_report) echo 2048 ;;
    nitro_doc | nitro_verify) echo 16640 ;; # CS_NITRO_DOC_MAX
    snp_kbs | snp_verify) echo 32768 ;; # KBS JSON with a cert_chain: about 25 KiB
    *) echo 16384 ;;
    esac
}

failed=""
for t in $targets; do
    corpus="$build/corpus/$t"
    artifacts="$build/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    for f in $(shared_seeds "$t"); do
        # name the copy after its case: T01-quote.bin
        cp -f "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    dict=""
    if [ -f "$root/tests/fuzz/dict/$t.dict" ]; then
        dict="-dict=$root/tests/fuzz/dict/$t.dict"
    fi
    echo "fuzz: $t for ${secs}s"
    # shellcheck disable=SC2086
    if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="$(max_len "$t")" \
        -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" $dict "$corpus" "$root/tests/fuzz/corpus/$t" \
        >"$build/fuzz-$t.log" 2>&1; then
        failed="$failed $t"
        tail -n 60 "$build/fuzz-$t.log"
        echo "fuzz: $t FAILED; inputs in $artifacts/, log in $build/fuzz-$t.log"
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' \
        "$build/fuzz-$t.log" | sed "s/^/fuzz: $t: /"
done

if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
echo "fuzz: all targets ran ${secs}s without a finding"
