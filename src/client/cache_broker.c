/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker key provider of the sealed cache: the cache key is a 32-byte resource the
 * client fetched from the broker after attesting. The key reference is an 8-byte key check
 * value, SHA-256("custos/cache/v1/broker-kcv" 0x00 || key)[0..8), so that a file sealed
 * under another key is reported as such (CS_E_BINDING) rather than as damage. There is no
 * hardware counter: rollback to an older file is bounded by its max_offline_s only.
 */
#include <string.h>

#include "client/cache.h"
#include "client/cache_int.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"

#define BROKER_KCV_LEN 8

struct broker_ctx {
    uint8_t key[CS_CACHE_KEY_LEN];
    uint8_t kcv[BROKER_KCV_LEN];
};

static CS_RESULT broker_kcv(const uint8_t key[CS_CACHE_KEY_LEN], uint8_t kcv[BROKER_KCV_LEN])
{
    static const char label[] = "custos/cache/v1/broker-kcv"; /* the NUL is hashed too */
    uint8_t d[CS_SHA256_LEN];
    CS_TRY(cs_sha256_2(cs_cur_of((const uint8_t *)label, sizeof label),
                       cs_cur_of(key, CS_CACHE_KEY_LEN), d));
    memcpy(kcv, d, BROKER_KCV_LEN);
    return CS_SUCCESS;
}

static CS_RESULT broker_seal(void *ctx, uint8_t key[CS_CACHE_KEY_LEN], struct cs_buf *keyref)
{
    const struct broker_ctx *b = ctx;
    CS_TRY(cs_buf_append(keyref, b->kcv, sizeof b->kcv));
    memcpy(key, b->key, CS_CACHE_KEY_LEN);
    return CS_SUCCESS;
}

static CS_RESULT broker_unseal(void *ctx, struct cs_cur keyref, uint8_t key[CS_CACHE_KEY_LEN])
{
    const struct broker_ctx *b = ctx;
    CS_ENSURE(keyref.left == BROKER_KCV_LEN, CS_E_FORMAT);
    CS_ENSURE(cs_ct_equal(keyref.p, b->kcv, BROKER_KCV_LEN), CS_E_BINDING);
    memcpy(key, b->key, CS_CACHE_KEY_LEN);
    return CS_SUCCESS;
}

static void broker_destroy(void *ctx)
{
    cs_free_wipe(ctx, sizeof(struct broker_ctx));
}

static const struct cs_cache_provider_ops broker_ops = {
    .id = CS_CACHE_PROVIDER_BROKER,
    .seal = broker_seal,
    .unseal = broker_unseal,
    .counter_next = NULL,
    .counter_read = NULL,
    .destroy = broker_destroy,
};

static void broker_ctx_freep(struct broker_ctx **b)
{
    if (*b != NULL) {
        broker_destroy(*b);
    }
}

CS_RESULT cs_cache_provider_broker(const uint8_t key[CS_CACHE_KEY_LEN],
                                   struct cs_cache_key_provider **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(key != NULL, CS_E_ARG);
    void *m = NULL;
    CS_TRY(cs_alloc(1, sizeof(struct broker_ctx), &m));
    CS_AUTO(broker_ctx_freep) struct broker_ctx *b = m;
    memcpy(b->key, key, CS_CACHE_KEY_LEN);
    CS_TRY(broker_kcv(b->key, b->kcv));
    CS_TRY(cs_alloc(1, sizeof(struct cs_cache_key_provider), &m));
    struct cs_cache_key_provider *p = m;
    p->ops = &broker_ops;
    p->ctx = CS_MOVE(b);
    *out = p;
    return CS_SUCCESS;
}
