/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/scache.h"

#include <pthread.h>
#include <string.h>

#include "core/cs_mem.h"
#include "crypto/cs_jose.h"

struct cs_scache {
    pthread_mutex_t mu;
    struct cs_sess *slots[CS_SCACHE_SLOTS];
};

static void sess_free(struct cs_sess *s)
{
    json_decref(s->input);
    cs_tee_key_free(s->key);
    cs_free(s);
}

CS_RESULT cs_scache_new(struct cs_scache **out)
{
    struct cs_scache *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return CS_SUCCESS;
}

void cs_scache_free(struct cs_scache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < CS_SCACHE_SLOTS; i++) {
        if (c->slots[i] != NULL) {
            sess_free(c->slots[i]); /* no reader may be running any more */
        }
    }
    pthread_mutex_destroy(&c->mu);
    cs_free(c);
}

/* id hashes are SHA-256 outputs of random cookies: their bytes are uniform already */
static size_t slot_of(const uint8_t id_hash[32])
{
    return ((size_t)id_hash[0] << 8 | id_hash[1]) % CS_SCACHE_SLOTS;
}

CS_RESULT cs_scache_put(struct cs_scache *c, const uint8_t id_hash[32], int64_t expires,
                        int64_t attest_index, json_t *input, struct cs_tee_key *key)
{
    struct cs_sess *s = NULL;
    cs_res r = cs_alloc(1, sizeof *s, (void **)&s);
    if (!cs_ok(r)) {
        json_decref(input);
        cs_tee_key_free(key);
        return r;
    }
    memcpy(s->id_hash, id_hash, sizeof s->id_hash);
    s->expires = expires;
    s->attest_index = attest_index;
    s->input = input;
    s->key = key;
    s->refs = 1; /* the table's */
    size_t i = slot_of(id_hash);
    pthread_mutex_lock(&c->mu);
    struct cs_sess *old = c->slots[i];
    c->slots[i] = s;
    bool is_last = old != NULL && --old->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (is_last) {
        sess_free(old);
    }
    return CS_SUCCESS;
}

struct cs_sess *cs_scache_get(struct cs_scache *c, const uint8_t id_hash[32], int64_t now)
{
    size_t i = slot_of(id_hash);
    pthread_mutex_lock(&c->mu);
    struct cs_sess *s = c->slots[i];
    if (s != NULL && (!cs_ct_equal(s->id_hash, id_hash, sizeof s->id_hash) || s->expires <= now)) {
        s = NULL;
    }
    if (s != NULL) {
        s->refs++;
    }
    pthread_mutex_unlock(&c->mu);
    return s;
}

void cs_scache_release(struct cs_scache *c, struct cs_sess *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    bool is_last = --s->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (is_last) {
        sess_free(s);
    }
}
