/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every fuzz target in tests/fuzz shares: the libFuzzer entry point (built either
 * with -fsanitize=fuzzer or with replay_main.c), and FUZZ_CHECK, which states an
 * invariant. A broken invariant prints where and traps, so libFuzzer records a crash
 * input and the replay test fails, exactly as for a sanitizer report.
 */
#ifndef CS_FUZZ_TARGET_H
#define CS_FUZZ_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cs_cur.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);   \
            __builtin_trap();                                                              \
        }                                                                                  \
    } while (0)

/* Whether the view lies inside [data, data + size). Subtracts only, so it cannot overflow. */
static inline bool fuzz_is_inside(struct cs_cur view, const uint8_t *data, size_t size)
{
    uintptr_t base = (uintptr_t)data;
    uintptr_t at = (uintptr_t)view.p;
    return at >= base && at - base <= size && view.left <= size - (at - base);
}

/* Hostile input may be rejected, but never with a code that means "caller bug". */
static inline bool fuzz_is_input_verdict(cs_code code)
{
    return code != CS_E_ARG && code != CS_E_INTERNAL && code < CS_E__COUNT;
}

#endif
