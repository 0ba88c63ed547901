/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reboot and resume (DESIGN.md 3.3, docs/client.md "Reboot and resume"): the client's side
 * of the sealed cache (src/client/cache.h, docs/cache.md). Save after a rehydration, open
 * it offline and serve credentials and state from it, resume (the broker first, the cache
 * only when the broker cannot be reached), and reconcile the versions written offline.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/cache.h"
#include "client/client_int.h"
#include "core/cs_b64.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"

#define POLICY_DOC_MAX (64u * 1024u)
#define PATH_MAX_LEN 4096u

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

void cs_client_cache_drop(struct custos_client *c)
{
    json_decref(c->cache); /* jansson does not wipe (docs/cache.md "Limits") */
    c->cache = NULL;
    cs_cache_provider_free(c->cache_prov);
    c->cache_prov = NULL;
    cs_free(c->cache_path);
    c->cache_path = NULL;
    c->is_offline = false;
}

/* A NULL-terminated list of at most CUSTOS_CACHE_ITEMS_MAX names; *n its length. */
static bool list_ok(const char *const *list, bool is_resource, size_t *n)
{
    *n = 0;
    for (; list != NULL && list[*n] != NULL; (*n)++) {
        if (*n == CUSTOS_CACHE_ITEMS_MAX) {
            return false;
        }
        if (is_resource ? !cs_client_resource_name_ok(list[*n]) : !cs_state_object_ok(list[*n])) {
            return false;
        }
    }
    return true;
}

static cs_res opts_check(const struct custos_cache_opts *o, const char *path, bool is_save,
                         struct custos_diag *diag)
{
    size_t n = 0;
    if (o == NULL || o->provider == NULL || path == NULL || path[0] == '\0'
        || strnlen(path, PATH_MAX_LEN + 1) > PATH_MAX_LEN) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "a cache needs a path and a provider");
    }
    if (strcmp(o->provider, "tpm2") != 0 && strcmp(o->provider, "broker") != 0) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "cache provider: tpm2 or broker");
    }
    if (!list_ok(o->credentials, true, &n) || !list_ok(o->objects, false, &n)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG,
                       "cache: at most %d credentials (REPO/TYPE/TAG) and %d state objects",
                       CUSTOS_CACHE_ITEMS_MAX, CUSTOS_CACHE_ITEMS_MAX);
    }
    if (is_save && (o->max_offline_s < 1 || o->max_offline_s > CS_CACHE_OFFLINE_MAX_S)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "max_offline_s: 1..%d seconds", CS_CACHE_OFFLINE_MAX_S);
    }
    if (o->policy_resource != NULL && !cs_client_resource_name_ok(o->policy_resource)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "the cache policy resource is REPO/TYPE/TAG");
    }
    return CS_SUCCESS;
}

static cs_res ensure_attested(struct custos_client *c, struct custos_diag *diag)
{
    if (!c->has_session) {
        CS_TRY(cs_client_attest_locked(c, diag));
    }
    if (c->identity[0] == '\0') {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "the token names no identity: configure the identity");
    }
    return CS_SUCCESS;
}

/* The key provider of o. broker: attests if needed and fetches the 32-byte cache key. */
static cs_res provider_open(struct custos_client *c, const struct custos_cache_opts *o,
                            struct custos_diag *diag, struct cs_cache_key_provider **out)
{
    if (strcmp(o->provider, "tpm2") == 0) {
        cs_res r = cs_cache_provider_tpm2(o->tcti, o->pcrs, o->nv_index, out);
        if (!cs_ok(r)) {
            CS_CLIENT_FAIL(diag, r.code, "cache: the TPM cannot be used (%s)",
                           custos_code_name(r.code));
        }
        return CS_SUCCESS;
    }
    CS_TRY(ensure_attested(c, diag));
    char name[CUSTOS_RESOURCE_NAME_MAX + 1];
    int n = o->key_resource != NULL ? snprintf(name, sizeof name, "%s", o->key_resource)
                                    : snprintf(name, sizeof name, "default/%s/cache-key",
                                               c->identity);
    if (n <= 0 || (size_t)n >= sizeof name || !cs_client_resource_name_ok(name)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "the cache key's resource name is not usable");
    }
    uint8_t *key = NULL;
    size_t len = 0;
    CS_TRY(cs_client_resource_locked(c, name, diag, &key, &len));
    cs_res r = len == CS_CACHE_KEY_LEN ? cs_cache_provider_broker(key, out)
                                       : (cs_res){ .code = CS_E_FORMAT };
    custos_free_secret(key, len);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code, "the cache key %.128s must be 32 bytes (%s)", name,
                       custos_code_name(r.code));
    }
    return CS_SUCCESS;
}

/* bytes -> a new JSON string of their base64 (the text buffer is wiped). */
static cs_res b64_json(const uint8_t *p, size_t len, json_t **out)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *t = NULL;
    CS_TRY(cs_alloc(1, cap, (void **)&t));
    cs_res r = cs_b64_encode(p, len, t, cap);
    *out = cs_ok(r) ? json_string(t) : NULL;
    cs_free_wipe(t, cap);
    CS_TRY(r);
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

/* a base64 JSON string -> cs_alloc'd bytes (at least one byte allocated). */
static cs_res json_b64(const json_t *s, uint8_t **out, size_t *len)
{
    const char *t = json_string_value(s);
    CS_ENSURE(t != NULL, CS_E_FORMAT);
    size_t n = json_string_length(s);
    size_t cap = n / 4 * 3 + 1;
    CS_TRY(cs_alloc(1, cap, (void **)out));
    cs_res r = cs_b64_decode(t, n, true, *out, cap, len);
    if (!cs_ok(r)) {
        cs_free_wipe(*out, cap);
        *out = NULL;
        *len = 0;
    }
    return r;
}

/*
 * The broker's cache policy (o->policy_resource): {"max_offline_s": N, "credentials": [..]}.
 * *max_s becomes the smaller window; *allowed a new reference to the list.
 */
static cs_res broker_policy(struct custos_client *c, const struct custos_cache_opts *o,
                            struct custos_diag *diag, int64_t *max_s, json_t **allowed)
{
    uint8_t *doc = NULL;
    size_t len = 0;
    CS_TRY(cs_client_resource_locked(c, o->policy_resource, diag, &doc, &len));
    json_t *j = NULL;
    cs_res r = cs_json_load(cs_cur_of(doc, len), POLICY_DOC_MAX, &j);
    custos_free_secret(doc, len);
    uint64_t m = 0;
    json_t *arr = NULL;
    if (cs_ok(r)) {
        r = cs_json_get_uint(j, "max_offline_s", CS_CACHE_OFFLINE_MAX_S, &m);
    }
    if (cs_ok(r)) {
        r = cs_json_get_arr(j, "credentials", 4096, &arr);
    }
    for (size_t i = 0; cs_ok(r) && i < json_array_size(arr); i++) {
        r = json_is_string(json_array_get(arr, i)) ? r : (cs_res){ .code = CS_E_FORMAT };
    }
    if (!cs_ok(r)) {
        json_decref(j);
        CS_CLIENT_FAIL(diag, CS_E_FORMAT,
                       "the cache policy %.128s is not {\"max_offline_s\": N, "
                       "\"credentials\": [names]}",
                       o->policy_resource);
    }
    *max_s = (int64_t)m < *max_s ? (int64_t)m : *max_s;
    *allowed = json_incref(arr);
    json_decref(j);
    if (*max_s < 1) {
        CS_CLIENT_FAIL(diag, CS_E_POLICY, "the broker's cache policy allows no offline time");
    }
    return CS_SUCCESS;
}

static cs_res may_keep(const json_t *allowed, const char *name, struct custos_diag *diag)
{
    if (allowed == NULL) {
        return CS_SUCCESS;
    }
    for (size_t i = 0; i < json_array_size(allowed); i++) {
        const char *s = json_string_value(json_array_get(allowed, i));
        if (s != NULL && strcmp(s, name) == 0) {
            return CS_SUCCESS;
        }
    }
    CS_CLIENT_FAIL(diag, CS_E_POLICY, "the broker's cache policy does not let the cache keep %s",
                   name);
}

static cs_res add_credential(struct custos_client *c, json_t *creds, const char *name,
                             struct custos_diag *diag)
{
    uint8_t *secret = NULL;
    size_t len = 0;
    CS_TRY(cs_client_resource_locked(c, name, diag, &secret, &len));
    json_t *v = NULL;
    cs_res r = b64_json(secret, len, &v);
    custos_free_secret(secret, len);
    CS_TRY(r);
    return cs_json_set_new(creds, name, v);
}

/* {"version", "ciphertext", "log_index"} of a verified read. */
static cs_res state_entry(uint64_t version, const struct cs_state_copy *k, json_t **out)
{
    json_t *ct = NULL;
    CS_TRY(b64_json(k->ciphertext, k->ciphertext_len, &ct));
    *out = json_pack("{s:I, s:o, s:I}", "version", (json_int_t)version, "ciphertext", ct,
                     "log_index", (json_int_t)k->log_index);
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

/* A verified read of object kept for the cache. CS_E_NOT_FOUND when the broker has none. */
static cs_res fetch_copy(struct custos_client *c, const char *object, struct custos_diag *diag,
                         uint64_t *version, struct cs_state_copy *k)
{
    uint8_t *pt = NULL;
    size_t len = 0;
    CS_TRY(cs_client_get_locked(c, object, diag, &pt, &len, version, k));
    custos_free_secret(pt, len);
    return CS_SUCCESS;
}

static const char *cache_error(cs_code code)
{
    switch (code) {
    case CS_E_NOT_FOUND:
        return "there is no cache file";
    case CS_E_SIGNATURE:
        return "the cache is tampered with, or sealed under another key or TPM";
    case CS_E_TCB:
        return "the TPM refuses to unseal: the PCR values changed since the cache was saved";
    case CS_E_CONFLICT:
        return "the cache is not the latest one sealed (TPM NV counter): an older copy";
    case CS_E_BINDING:
        return "the cache belongs to another identity, provider, key, NV index or PCR set";
    case CS_E_EXPIRED:
        return "the cache is older than its offline window (max_offline_s)";
    case CS_E_IO:
        return "the cache or the TPM cannot be read";
    default:
        return "the cache file is malformed";
    }
}

static cs_res adopt(struct custos_client *c, const char *path, json_t *payload,
                    struct cs_cache_key_provider *prov)
{
    char *p = NULL;
    size_t n = strlen(path);
    cs_res r = cs_alloc(1, n + 1, (void **)&p);
    if (!cs_ok(r)) {
        json_decref(payload);
        cs_cache_provider_free(prov);
        return r;
    }
    memcpy(p, path, n + 1);
    bool was_offline = c->is_offline;
    cs_client_cache_drop(c);
    c->cache = payload;
    c->cache_prov = prov;
    c->cache_path = p;
    c->is_offline = was_offline;
    return CS_SUCCESS;
}

static cs_res save_locked(struct custos_client *c, const char *path,
                          const struct custos_cache_opts *o, struct custos_diag *diag)
{
    CS_TRY(opts_check(o, path, true, diag));
    CS_TRY(ensure_attested(c, diag));
    int64_t max_s = o->max_offline_s;
    CS_AUTO_JSON *allowed = NULL;
    if (o->policy_resource != NULL) {
        CS_TRY(broker_policy(c, o, diag, &max_s, &allowed));
    }
    CS_AUTO_JSON *creds = json_object();
    CS_AUTO_JSON *state = json_object();
    CS_AUTO_JSON *highest = json_object();
    CS_ENSURE(creds != NULL && state != NULL && highest != NULL, CS_E_NOMEM);
    for (size_t i = 0; o->credentials != NULL && o->credentials[i] != NULL; i++) {
        CS_TRY(may_keep(allowed, o->credentials[i], diag));
        CS_TRY(add_credential(c, creds, o->credentials[i], diag));
    }
    CS_AUTO(cs_freep) char *checkpoint = NULL;
    if (o->objects != NULL && o->objects[0] != NULL) {
        char name[CUSTOS_RESOURCE_NAME_MAX + 1];
        CS_TRY(cs_client_state_key_name(c, name, sizeof name, diag));
        CS_TRY(may_keep(allowed, name, diag));
        CS_TRY(cs_client_state_key(c, diag));
        json_t *v = NULL;
        CS_TRY(b64_json(c->state_key, sizeof c->state_key, &v));
        CS_TRY(cs_json_set_new(creds, name, v));
    }
    for (size_t i = 0; o->objects != NULL && o->objects[i] != NULL; i++) {
        struct cs_state_copy k = { 0 };
        uint64_t version = 0;
        cs_res r = fetch_copy(c, o->objects[i], diag, &version, &k);
        if (r.code == CS_E_NOT_FOUND) {
            continue; /* nothing on the broker yet: a local write may create it */
        }
        CS_TRY(r);
        json_t *e = NULL;
        r = state_entry(version, &k, &e);
        if (cs_ok(r)) {
            r = cs_json_set_new(state, o->objects[i], e);
        }
        if (cs_ok(r)) {
            r = cs_json_set_new(highest, o->objects[i], json_integer((json_int_t)version));
        }
        if (cs_ok(r)) { /* reads are in order: the last checkpoint is the largest tree */
            cs_free(checkpoint);
            checkpoint = k.checkpoint;
            k.checkpoint = NULL;
        }
        cs_client_state_copy_clear(&k);
        CS_TRY(r);
    }
    json_t *payload = json_pack("{s:s, s:I, s:I, s:s, s:O, s:O, s:O}", "identity", c->identity,
                                "issued_at", (json_int_t)now_s(), "max_offline_s",
                                (json_int_t)max_s, "broker_url", c->url, "credentials", creds,
                                "state", state, "highest_versions", highest);
    CS_ENSURE(payload != NULL, CS_E_NOMEM);
    cs_res r = checkpoint != NULL ? cs_json_set_new(payload, "checkpoint", json_string(checkpoint))
                                  : CS_SUCCESS;
    struct cs_cache_key_provider *prov = NULL;
    if (cs_ok(r)) {
        r = provider_open(c, o, diag, &prov);
        if (!cs_ok(r)) {
            json_decref(payload);
            return r;
        }
        r = cs_cache_save(prov, path, payload);
        if (!cs_ok(r)) {
            cs_cache_provider_free(prov);
            json_decref(payload);
            CS_CLIENT_FAIL(diag, r.code, "cache: cannot seal and write %.256s (%s)", path,
                           custos_code_name(r.code));
        }
    }
    if (!cs_ok(r)) {
        json_decref(payload);
        return r;
    }
    return adopt(c, path, payload, prov);
}

CS_RESULT custos_client_cache_save(struct custos_client *c, const char *path,
                                   const struct custos_cache_opts *o, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    pthread_mutex_lock(&c->mu);
    cs_res r = c->is_offline ? cs_client_fail(diag, CS_E_IO, __FILE__, __LINE__,
                                              "offline: a cache is saved from the broker")
                             : save_locked(c, path, o, diag);
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* Every cached version must be at least the highest this client saw on the broker. */
static cs_res cached_versions_check(struct custos_client *c, const json_t *payload,
                                    struct custos_diag *diag)
{
    const char *obj = NULL;
    json_t *e = NULL;
    json_t *highest = json_object_get(payload, "highest_versions");
    json_object_foreach((json_t *)json_object_get(payload, "state"), obj, e)
    {
        uint64_t v = 0;
        uint64_t base = 0;
        if (!cs_state_object_ok(obj)
            || !cs_ok(cs_json_get_uint(e, "version", CS_STATE_VERSION_MAX, &v))) {
            CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the cache holds a malformed state entry");
        }
        json_t *b = json_object_get(highest, obj);
        if (b != NULL) {
            json_int_t bi = json_integer_value(b);
            base = bi > 0 ? (uint64_t)bi : 0;
        }
        if (base > v) {
            CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the cache's %s is below its own base version",
                           obj);
        }
        uint64_t seen = cs_memory_version(&c->mem, obj);
        if (v < seen) {
            CS_CLIENT_FAIL(diag, CS_E_CONFLICT,
                           "rollback: the cache holds version %" PRIu64 " of %s, this client "
                           "saw %" PRIu64,
                           v, obj, seen);
        }
    }
    return CS_SUCCESS;
}

static cs_res open_locked(struct custos_client *c, const char *path,
                          const struct custos_cache_opts *o, struct custos_diag *diag)
{
    CS_TRY(opts_check(o, path, false, diag));
    if (c->identity_opt == NULL) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "opening a cache needs the identity option");
    }
    struct cs_cache_key_provider *prov = NULL;
    CS_TRY(provider_open(c, o, diag, &prov));
    json_t *payload = NULL;
    cs_res r = cs_cache_open(prov, path, now_s(), c->identity_opt, &payload);
    if (!cs_ok(r)) {
        cs_cache_provider_free(prov);
        CS_CLIENT_FAIL(diag, r.code, "cache %.256s: %s", path, cache_error(r.code));
    }
    r = cached_versions_check(c, payload, diag);
    if (!cs_ok(r)) {
        json_decref(payload);
        cs_cache_provider_free(prov);
        return r;
    }
    CS_TRY(adopt(c, path, payload, prov));
    snprintf(c->identity, sizeof c->identity, "%s", c->identity_opt);
    cs_wipe(c->state_key, sizeof c->state_key);
    c->has_state_key = false; /* from the cache from now on */
    c->is_offline = true;
    return CS_SUCCESS;
}

CS_RESULT custos_client_cache_open(struct custos_client *c, const char *path,
                                   const struct custos_cache_opts *o, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    pthread_mutex_lock(&c->mu);
    cs_res r = open_locked(c, path, o, diag);
    pthread_mutex_unlock(&c->mu);
    return r;
}

CS_RESULT custos_client_resume(struct custos_client *c, const char *path,
                               const struct custos_cache_opts *o, struct custos_diag *diag,
                               enum custos_source *from)
{
    CS_ENSURE(c != NULL && from != NULL, CS_E_ARG);
    *from = CUSTOS_SOURCE_BROKER;
    pthread_mutex_lock(&c->mu);
    cs_res r = cs_client_attest_locked(c, diag);
    if (cs_ok(r)) {
        c->is_offline = false;
    } else {
        cs_client_session_end(c);
    }
    if (r.code == CS_E_IO) { /* unreachable: only then the cache */
        char why[sizeof diag->msg];
        snprintf(why, sizeof why, "%s", diag != NULL ? diag->msg : "");
        if (diag != NULL) {
            *diag = (struct custos_diag){ 0 };
        }
        r = open_locked(c, path, o, diag);
        if (cs_ok(r)) {
            *from = CUSTOS_SOURCE_CACHE;
        } else if (diag != NULL) {
            char cache_why[sizeof diag->msg];
            snprintf(cache_why, sizeof cache_why, "%s", diag->msg);
            *diag = (struct custos_diag){ 0 };
            cs_diag_set(diag, r.code, "the broker cannot be reached (%.90s), and %.150s", why,
                        cache_why);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* ---- offline: served from the cache ---- */

cs_res cs_client_cache_resource(struct custos_client *c, const char *name,
                                struct custos_diag *diag, uint8_t **secret, size_t *len)
{
    json_t *v = json_object_get(json_object_get(c->cache, "credentials"), name);
    if (v == NULL) {
        CS_CLIENT_FAIL(diag, CS_E_NOT_FOUND, "offline: the cache does not hold %.128s", name);
    }
    cs_res r = json_b64(v, secret, len);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "offline: the cached %.128s is not base64", name);
    }
    return CS_SUCCESS;
}

static cs_res cached_entry(struct custos_client *c, const char *object, uint64_t *version,
                           uint64_t *log_index, const json_t **ct)
{
    json_t *e = json_object_get(json_object_get(c->cache, "state"), object);
    *version = 0;
    *log_index = 0;
    *ct = NULL;
    if (e == NULL) {
        CS_FAIL(CS_E_NOT_FOUND);
    }
    CS_TRY(cs_json_get_uint(e, "version", CS_STATE_VERSION_MAX, version));
    CS_TRY(cs_json_get_uint(e, "log_index", INT64_MAX, log_index));
    *ct = json_object_get(e, "ciphertext");
    CS_ENSURE(json_is_string(*ct), CS_E_FORMAT);
    return CS_SUCCESS;
}

static uint64_t cached_base(const struct custos_client *c, const char *object)
{
    json_int_t b = json_integer_value(json_object_get(json_object_get(c->cache,
                                                                      "highest_versions"),
                                                      object));
    return b > 0 ? (uint64_t)b : 0;
}

/* Opens the cached version of object with key (the cache's state key). */
static cs_res cached_open(struct custos_client *c, const uint8_t key[CS_AEAD_KEY_LEN],
                          const char *object, struct custos_diag *diag, uint8_t **pt, size_t *len,
                          uint64_t *version)
{
    uint64_t log_index = 0;
    const json_t *ct = NULL;
    cs_res r = cached_entry(c, object, version, &log_index, &ct);
    if (r.code == CS_E_NOT_FOUND) {
        CS_CLIENT_FAIL(diag, CS_E_NOT_FOUND, "offline: the cache holds no %s", object);
    }
    CS_TRY(r);
    uint8_t *env = NULL;
    size_t env_len = 0;
    r = json_b64(ct, &env, &env_len);
    if (cs_ok(r)) {
        r = cs_state_open(key, c->identity, object, *version, env, env_len, pt, len);
        cs_free(env);
    }
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "offline: version %" PRIu64 " of %s does not open under the state key (%s)",
                       *version, object, custos_code_name(r.code));
    }
    return CS_SUCCESS;
}

cs_res cs_client_cache_state_get(struct custos_client *c, const char *object,
                                 struct custos_diag *diag, uint8_t **pt, size_t *len,
                                 uint64_t *version)
{
    CS_TRY(cs_client_state_key(c, diag));
    uint64_t v = 0;
    CS_TRY(cached_open(c, c->state_key, object, diag, pt, len, &v));
    uint64_t seen = cs_memory_version(&c->mem, object);
    if (v < seen) {
        custos_free_secret(*pt, *len);
        *pt = NULL;
        *len = 0;
        CS_CLIENT_FAIL(diag, CS_E_CONFLICT,
                       "rollback: the cache holds version %" PRIu64 " of %s, this client saw "
                       "%" PRIu64,
                       v, object, seen);
    }
    *version = v;
    return CS_SUCCESS;
}

cs_res cs_client_cache_state_put(struct custos_client *c, const char *object, const uint8_t *pt,
                                 size_t len, uint64_t expected, struct custos_diag *diag,
                                 uint64_t *out)
{
    uint64_t cur = 0;
    uint64_t log_index = 0;
    const json_t *old = NULL;
    cs_res r = cached_entry(c, object, &cur, &log_index, &old);
    if (!cs_ok(r) && r.code != CS_E_NOT_FOUND) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "offline: the cached %s is malformed", object);
    }
    if (expected != cur) {
        CS_CLIENT_FAIL(diag, CS_E_CONFLICT,
                       "offline state put: stale version (If-Match %" PRIu64 ", the cache "
                       "holds %" PRIu64 ")",
                       expected, cur);
    }
    if (cur + 1 >= CS_STATE_VERSION_MAX) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "version out of range");
    }
    CS_TRY(cs_client_state_key(c, diag));
    CS_AUTO(cs_freep) uint8_t *env = NULL;
    size_t env_len = 0;
    CS_TRY(cs_state_seal(c->state_key, c->identity, object, cur + 1, pt, len, &env, &env_len));
    struct cs_state_copy k = { .ciphertext = env, .ciphertext_len = env_len,
                               .log_index = log_index };
    json_t *e = NULL;
    CS_TRY(state_entry(cur + 1, &k, &e));
    json_t *next = json_deep_copy(c->cache);
    json_t *state = json_object_get(next, "state");
    r = next == NULL ? (cs_res){ .code = CS_E_NOMEM } : CS_SUCCESS;
    if (cs_ok(r) && state == NULL) {
        state = json_object();
        r = cs_json_set_new(next, "state", state);
    }
    if (cs_ok(r)) {
        r = cs_json_set_new(state, object, e);
    } else {
        json_decref(e);
    }
    if (!cs_ok(r)) {
        json_decref(next);
        return r;
    }
    r = cs_cache_save(c->cache_prov, c->cache_path, next);
    if (!cs_ok(r)) {
        json_decref(next);
        CS_CLIENT_FAIL(diag, r.code, "offline state put: the cache cannot be sealed again (%s)",
                       custos_code_name(r.code));
    }
    json_decref(c->cache);
    c->cache = next;
    *out = cur + 1;
    return CS_SUCCESS;
}

/* ---- reconcile ---- */

static bool listed(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* The cache's entry for object becomes the broker's verified version (base = version). */
static cs_res settle(json_t *payload, const char *object, uint64_t version,
                     struct cs_state_copy *k)
{
    json_t *e = NULL;
    CS_TRY(state_entry(version, k, &e));
    json_t *state = json_object_get(payload, "state");
    json_t *highest = json_object_get(payload, "highest_versions");
    if (state == NULL) {
        state = json_object();
        CS_TRY(cs_json_set_new(payload, "state", state));
    }
    if (highest == NULL) {
        highest = json_object();
        CS_TRY(cs_json_set_new(payload, "highest_versions", highest));
    }
    cs_res r = cs_json_set_new(state, object, e);
    if (cs_ok(r)) {
        r = cs_json_set_new(highest, object, json_integer((json_int_t)version));
    }
    if (cs_ok(r) && k->checkpoint != NULL) {
        r = cs_json_set_new(payload, "checkpoint", json_string(k->checkpoint));
    }
    return r;
}

/* One object: compare base, cache and broker; push, pull or report a conflict. */
static cs_res reconcile_one(struct custos_client *c, const uint8_t key[CS_AEAD_KEY_LEN],
                            const char *object, json_t *work, struct custos_diag *diag,
                            struct custos_reconcile_item *it)
{
    snprintf(it->object, sizeof it->object, "%s", object);
    it->base = cached_base(c, object);
    uint64_t log_index = 0;
    const json_t *ct = NULL;
    cs_res r = cached_entry(c, object, &it->local, &log_index, &ct);
    if (!cs_ok(r) && r.code != CS_E_NOT_FOUND) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the cached %s is malformed", object);
    }
    struct cs_state_copy k = { 0 };
    r = fetch_copy(c, object, diag, &it->remote, &k);
    if (r.code == CS_E_NOT_FOUND) {
        it->remote = 0;
    } else {
        CS_TRY(r);
    }
    if (it->remote < it->base) {
        cs_client_state_copy_clear(&k);
        CS_CLIENT_FAIL(diag, CS_E_CONFLICT,
                       "rollback: the broker holds version %" PRIu64 " of %s, below the %" PRIu64
                       " the cache was saved with",
                       it->remote, object, it->base);
    }
    bool is_local = it->local > it->base;
    bool is_remote = it->remote > it->base;
    it->now = it->remote;
    it->outcome = is_local && is_remote ? CUSTOS_RECONCILE_CONFLICT
                  : is_local            ? CUSTOS_RECONCILE_PUSHED
                  : is_remote           ? CUSTOS_RECONCILE_PULLED
                                        : CUSTOS_RECONCILE_SAME;
    if (it->outcome == CUSTOS_RECONCILE_PUSHED) {
        cs_client_state_copy_clear(&k);
        uint8_t *pt = NULL;
        size_t len = 0;
        uint64_t v = 0;
        CS_TRY(cached_open(c, key, object, diag, &pt, &len, &v));
        r = cs_client_put_locked(c, object, pt, len, it->base, diag, &it->now);
        custos_free_secret(pt, len);
        if (r.code == CS_E_CONFLICT) { /* written by another agent in between: not ours */
            it->outcome = CUSTOS_RECONCILE_CONFLICT;
            return CS_SUCCESS;
        }
        CS_TRY(r);
        CS_TRY(fetch_copy(c, object, diag, &v, &k));
        it->now = v;
    }
    r = CS_SUCCESS;
    if (it->outcome != CUSTOS_RECONCILE_CONFLICT && k.ciphertext != NULL) {
        r = settle(work, object, it->now, &k);
    }
    cs_client_state_copy_clear(&k);
    return r;
}

/*
 * Saves the cache afresh after a reconciliation: what o says, else what the cache held
 * (its window, its credentials but the state key, its objects).
 */
static cs_res resave(struct custos_client *c, const char *path, const struct custos_cache_opts *o,
                     const char *state_key_name, const char **names, size_t count,
                     struct custos_diag *diag)
{
    struct custos_cache_opts k = *o;
    const char *creds[CUSTOS_CACHE_ITEMS_MAX + 1] = { 0 };
    const char *objs[CUSTOS_CACHE_ITEMS_MAX + 1] = { 0 };
    if (k.max_offline_s == 0) {
        json_int_t m = json_integer_value(json_object_get(c->cache, "max_offline_s"));
        k.max_offline_s = (int64_t)m;
    }
    if (k.credentials == NULL || k.credentials[0] == NULL) {
        size_t n = 0;
        const char *name = NULL;
        json_t *v = NULL;
        json_object_foreach(json_object_get(c->cache, "credentials"), name, v)
        {
            if (strcmp(name, state_key_name) != 0 && n < CUSTOS_CACHE_ITEMS_MAX) {
                creds[n++] = name;
            }
        }
        k.credentials = creds;
    }
    for (size_t i = 0; i < count && i < CUSTOS_CACHE_ITEMS_MAX; i++) {
        objs[i] = names[i];
    }
    k.objects = objs;
    /* the payload names stay valid: save_locked replaces c->cache only at its end */
    json_t *hold = json_incref(c->cache);
    cs_res r = save_locked(c, path, &k, diag);
    json_decref(hold);
    return r;
}

static cs_res reconcile_locked(struct custos_client *c, const char *path,
                               const struct custos_cache_opts *o, struct custos_diag *diag,
                               struct custos_reconcile_item *items, size_t cap, size_t *n)
{
    CS_TRY(opts_check(o, path, false, diag));
    if (c->cache == NULL || strcmp(c->cache_path, path) != 0) {
        CS_TRY(open_locked(c, path, o, diag));
    }
    /* the state key of the cached versions: the broker may have rotated its own since */
    char name[CUSTOS_RESOURCE_NAME_MAX + 1];
    CS_TRY(cs_client_state_key_name(c, name, sizeof name, diag));
    uint8_t key[CS_AEAD_KEY_LEN] = { 0 };
    bool has_key = false;
    if (json_object_get(json_object_get(c->cache, "credentials"), name) != NULL) {
        uint8_t *k = NULL;
        size_t klen = 0;
        CS_TRY(cs_client_cache_resource(c, name, diag, &k, &klen));
        has_key = klen == sizeof key;
        if (has_key) {
            memcpy(key, k, sizeof key);
        }
        custos_free_secret(k, klen);
    }
    cs_res r = cs_client_attest_locked(c, diag); /* afresh: the broker must answer now */
    if (!cs_ok(r)) {
        cs_client_session_end(c);
        cs_wipe(key, sizeof key);
        return r;
    }
    c->is_offline = false;
    json_t *work = json_deep_copy(c->cache);
    if (work == NULL) {
        cs_wipe(key, sizeof key);
        CS_FAIL(CS_E_NOMEM);
    }
    size_t max = json_object_size(json_object_get(c->cache, "state")) + CUSTOS_CACHE_ITEMS_MAX;
    CS_AUTO(cs_freep) const char **names = NULL;
    r = cs_alloc(max, sizeof *names, (void **)&names);
    if (!cs_ok(r)) {
        json_decref(work);
        cs_wipe(key, sizeof key);
        return r;
    }
    size_t count = 0;
    const char *obj = NULL;
    json_t *e = NULL;
    json_object_foreach(json_object_get(c->cache, "state"), obj, e)
    {
        names[count++] = obj;
    }
    for (size_t i = 0; o->objects != NULL && o->objects[i] != NULL; i++) {
        if (!listed(names, count, o->objects[i])) {
            names[count++] = o->objects[i];
        }
    }
    size_t conflicts = 0;
    *n = 0;
    for (size_t i = 0; cs_ok(r) && i < count; i++) {
        struct custos_reconcile_item it = { 0 };
        if (!has_key && cached_base(c, names[i]) != 0) {
            r = cs_client_fail(diag, CS_E_FORMAT, __FILE__, __LINE__,
                               "the cache holds state but not the state key %.128s", name);
            break;
        }
        r = reconcile_one(c, key, names[i], work, diag, &it);
        conflicts += cs_ok(r) && it.outcome == CUSTOS_RECONCILE_CONFLICT ? 1 : 0;
        if (cs_ok(r) && items != NULL && *n < cap) {
            items[(*n)++] = it;
        }
    }
    cs_wipe(key, sizeof key);
    if (cs_ok(r) && conflicts == 0) { /* the cache afresh from the broker */
        r = resave(c, path, o, name, names, count, diag);
        json_decref(work);
        return r;
    }
    if (cs_ok(r)) { /* keep the conflicting local versions; record what was settled */
        r = cs_cache_save(c->cache_prov, path, work);
        if (cs_ok(r)) {
            json_decref(c->cache);
            c->cache = work;
            work = NULL;
            r = cs_client_fail(diag, CS_E_CONFLICT, __FILE__, __LINE__,
                               "%zu object(s) changed both in the cache and on the broker: "
                               "nothing was overwritten",
                               conflicts);
        }
    }
    json_decref(work);
    return r;
}

CS_RESULT custos_client_reconcile(struct custos_client *c, const char *path,
                                  const struct custos_cache_opts *o, struct custos_diag *diag,
                                  struct custos_reconcile_item *items, size_t cap, size_t *n)
{
    CS_ENSURE(c != NULL && n != NULL, CS_E_ARG);
    *n = 0;
    pthread_mutex_lock(&c->mu);
    cs_res r = reconcile_locked(c, path, o, diag, items, cap, n);
    pthread_mutex_unlock(&c->mu);
    return r;
}
