/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the sealed cache: the key provider ops table (BearSSL-style ops + context) that
 * cache.c drives and cache_tpm2.c / cache_broker.c implement. Not for other modules.
 */
#ifndef CS_CLIENT_CACHE_INT_H
#define CS_CLIENT_CACHE_INT_H

#include <stdint.h>

#include "client/cache.h"
#include "core/cs_buf.h"
#include "core/cs_cur.h"
#include "core/cs_result.h"

struct cs_cache_provider_ops {
    uint8_t id; /* enum cs_cache_provider_id, written in the header */
    /*
     * Produces the cache key of a new file in key and appends its key reference (at most
     * CS_CACHE_KEYREF_MAX bytes) to keyref. On failure key is wiped.
     */
    CS_RESULT (*seal)(void *ctx, uint8_t key[CS_CACHE_KEY_LEN], struct cs_buf *keyref);
    /*
     * Recovers the cache key from a key reference read from an unauthenticated file.
     * CS_E_BINDING (not ours), CS_E_SIGNATURE (refused as damaged), CS_E_TCB (PCRs
     * changed), CS_E_FORMAT. On failure key is wiped.
     */
    CS_RESULT (*unseal)(void *ctx, struct cs_cur keyref, uint8_t key[CS_CACHE_KEY_LEN]);
    /* Anti-rollback counter; both NULL when the provider has none (header counter 0). */
    CS_RESULT (*counter_next)(void *ctx, uint64_t *value); /* increment, then read */
    CS_RESULT (*counter_read)(void *ctx, uint64_t *value); /* CS_E_CONFLICT if missing */
    void (*destroy)(void *ctx);
};

struct cs_cache_key_provider {
    const struct cs_cache_provider_ops *ops;
    void *ctx;
};

#endif
