/* SPDX-License-Identifier: Apache-2.0 */
#include "crypto/cs_secure_heap.h"

#include <openssl/crypto.h>

CS_RESULT cs_secure_heap_init(size_t size)
{
    /* 1: a locked, guarded heap; 2: it exists but could not be mlocked (limit) */
    int rc = CRYPTO_secure_malloc_init(size, 64);
    CS_ENSURE(rc != 0, CS_E_CRYPTO);
    return CS_SUCCESS;
}
