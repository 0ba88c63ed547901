#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static checks CI runs before building:
#   - layering: #include "..." may only point down (core -> evidence|crypto -> verify -> app),
#   - OpenSSL only in src/crypto and src/verify (verify uses EVP_PKEY handles it is given),
#   - libjose (<jose/*>) only in src/crypto,
#   - banned functions, // comments, raw malloc/free outside cs_mem.c, memcmp in src/crypto,
#   - every source file starts with an SPDX line,
#   - the exported symbols of libcustos equal include/custos/symbols.txt (when built).
set -eu
cd "$(dirname "$0")/.."
fail=0
say() { printf 'lint: %s\n' "$*"; fail=1; }

allowed_for() {
    case "$1" in
    src/core/*) echo "core custos" ;;
    src/evidence/*) echo "core evidence custos" ;;
    src/crypto/*) echo "core crypto custos" ;;
    src/verify/*) echo "core evidence crypto verify custos" ;;
    src/tlog/*) echo "core crypto store tlog custos" ;;
    src/store/*) echo "core store custos" ;;
    src/policy/*) echo "core policy custos" ;;
    src/net/*) echo "core net custos" ;;
    src/client/*) echo "core crypto tlog net sim client custos" ;;
    src/sim/*) echo "core evidence crypto verify sim custos" ;;
    src/broker/*) echo "core crypto store tlog verify policy broker custos" ;;
    app/*) echo "core crypto store tlog verify policy sim broker net client custos cli.h" ;;
    *) echo "" ;;
    esac
}

for f in $(find src app -name '*.[ch]' | sort); do
    allowed=$(allowed_for "$f")
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        top=${inc%%/*}
        ok=0
        for a in $allowed; do
            [ "$top" = "$a" ] && ok=1
        done
        [ "$ok" = 1 ] || say "$f includes \"$inc\" (an upward or sideways dependency)"
    done
    case "$f" in
    src/crypto/* | src/verify/* | src/tlog/* | src/sim/*) ;;
    *) grep -q '#include <openssl/' "$f" && say "$f includes OpenSSL outside src/crypto" ;;
    esac
    case "$f" in
    src/crypto/*) ;;
    *) grep -q '#include <jose/' "$f" && say "$f includes libjose outside src/crypto" ;;
    esac
    head -n 1 "$f" | grep -q 'SPDX-License-Identifier' || say "$f lacks an SPDX line"
done

for f in $(find src app tests bench -name '*.[ch]' | sort); do
    grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|alloca|system|popen)\s*\(' "$f" |
        grep -v 'snprintf\|vsnprintf' | sed "s|^|lint: $f: banned call: |" | grep . && fail=1
    grep -nE '(^|[^:"])//' "$f" | grep -v 'https\?://' | sed "s|^|lint: $f: // comment: |" | grep . &&
        fail=1
done
for f in $(find src app -name '*.c' ! -name cs_mem.c | sort); do
    grep -nE '\b(malloc|calloc|realloc)\s*\(|[^_]\bfree\s*\(' "$f" |
        sed "s|^|lint: $f: raw allocation (use cs_alloc/cs_free): |" | grep . && fail=1
done
grep -nE '\bmemcmp\s*\(' src/crypto/*.c | sed 's|^|lint: memcmp in src/crypto: |' | grep . && fail=1

lib=${1:-build/libcustos.so}
if [ -f "$lib" ]; then
    nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort -u >/tmp/cs-syms.$$
    if ! diff -u include/custos/symbols.txt /tmp/cs-syms.$$; then
        say "exported symbols differ from include/custos/symbols.txt"
    fi
    rm -f /tmp/cs-syms.$$
fi

[ "$fail" = 0 ] && echo "lint: ok"
exit "$fail"
