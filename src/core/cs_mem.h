/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Heap memory and wiping. All heap memory goes through cs_alloc/cs_free so that tests
 * can make allocations fail in turn (see cs_mem_set_fail_after). Secret bytes on the
 * stack or heap are wiped with cs_wipe, which the compiler cannot elide.
 */
#ifndef CS_CORE_MEM_H
#define CS_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cs_result.h"

#define CS_AUTO(fn) __attribute__((cleanup(fn)))
#define CS_MOVE(p)                                                                         \
    __extension__({                                                                        \
        __typeof__(p) cs_m_ = (p);                                                         \
        (p) = NULL;                                                                        \
        cs_m_;                                                                             \
    })

/* Zero-initialised allocation of n * size bytes, overflow-checked. */
CS_RESULT cs_alloc(size_t n, size_t size, void **out);
void cs_free(void *p);
/* Wipes then frees a buffer of len bytes. */
void cs_free_wipe(void *p, size_t len);
void cs_wipe(void *p, size_t len);

/* Constant-time equality of two n-byte buffers (time depends on n only). */
bool cs_ct_equal(const void *a, const void *b, size_t n);

/* Cleanup helper for CS_AUTO on a plain heap pointer. */
void cs_freep(void *pp);

/*
 * Test hook: after n more successful allocations, every allocation fails with
 * CS_E_NOMEM; a negative n disables the failure. Per thread.
 */
void cs_mem_set_fail_after(long n);

#endif
