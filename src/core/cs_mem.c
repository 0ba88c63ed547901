/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that calls malloc/free. */
#include "core/cs_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_after = -1;

void cs_mem_set_fail_after(long n)
{
    fail_after = n;
}

CS_RESULT cs_alloc(size_t n, size_t size, void **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(size == 0 || n <= SIZE_MAX / size, CS_E_TOO_LARGE);
    if (fail_after == 0) {
        CS_FAIL(CS_E_NOMEM);
    }
    if (fail_after > 0) {
        fail_after--;
    }
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    CS_ENSURE(p != NULL, CS_E_NOMEM);
    *out = p;
    return CS_SUCCESS;
}

void cs_free(void *p)
{
    free(p);
}

void cs_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        explicit_bzero(p, len); /* glibc: never elided */
    }
}

void cs_free_wipe(void *p, size_t len)
{
    cs_wipe(p, len);
    free(p);
}

void cs_freep(void *pp)
{
    void **p = pp;
    free(*p);
    *p = NULL;
}

bool cs_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d |= (uint8_t)(x[i] ^ y[i]);
    }
    return d == 0;
}
