/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A cache of attested sessions in memory: what a resource request needs (the policy input
 * and the parsed TEE key), so that the hot path neither reads the store nor parses JSON and
 * keys again. The store stays the source of truth: a miss (another replica, a restart, an
 * eviction) falls back to it. Entries are immutable once made and reference counted; the
 * table is bounded (CS_SCACHE_SLOTS, a new session evicts the one in its slot).
 */
#ifndef CS_BROKER_SCACHE_H
#define CS_BROKER_SCACHE_H

#include <jansson.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_SCACHE_SLOTS 4096u

struct cs_tee_key;

struct cs_sess {
    unsigned refs;                /* owned by the cache's lock */
    uint8_t id_hash[32];
    int64_t expires;
    int64_t attest_index;
    json_t *input;                /* the verified policy input */
    struct cs_tee_key *key;       /* the attested TEE key */
};

struct cs_scache;

CS_RESULT cs_scache_new(struct cs_scache **out);
void cs_scache_free(struct cs_scache *c);
/* Adds a session; takes ownership of input and key (freed with the entry), also on failure. */
CS_RESULT cs_scache_put(struct cs_scache *c, const uint8_t id_hash[32], int64_t expires,
                        int64_t attest_index, json_t *input, struct cs_tee_key *key);
/* The unexpired session with this id hash (a reference: cs_scache_release), or NULL. */
struct cs_sess *cs_scache_get(struct cs_scache *c, const uint8_t id_hash[32], int64_t now);
void cs_scache_release(struct cs_scache *c, struct cs_sess *s);

#endif
