/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent client (include/custos/client.h, docs/client.md): a KBS session with a TEE key
 * that never leaves this process, resources, attested state with proof of possession, and
 * the checks that make a rolled-back or forked broker visible.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "client/attester.h"
#include "client/client_int.h"
#include "core/cs_b64.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_jose.h"
#include "crypto/cs_kbs_binding.h"
#include "crypto/cs_tee_pop.h"
#include "net/http_client.h"

#define URL_MAX 2048
#define ANSWER_JSON_MAX (CS_STATE_ENVELOPE_MAX / 3u * 4u + 256u * 1024u)

static char *dup_or_null(const char *s, cs_res *r)
{
    if (s == NULL || !cs_ok(*r)) {
        return NULL;
    }
    size_t n = strnlen(s, URL_MAX + 1);
    if (n > URL_MAX) {
        *r = (cs_res){ .code = CS_E_TOO_LARGE, .line = __LINE__, .file = __FILE__ };
        return NULL;
    }
    char *p = NULL;
    *r = cs_alloc(1, n + 1, (void **)&p);
    if (p != NULL) {
        memcpy(p, s, n + 1);
    }
    return p;
}

/* ---- the session ---- */

void cs_client_session_end(struct custos_client *c)
{
    json_decref(c->priv); /* jansson does not wipe: the key lived only as long as the session */
    c->priv = NULL;
    custos_free_secret(c->token, c->token != NULL ? strlen(c->token) + 1 : 0);
    c->token = NULL;
    cs_wipe(c->state_key, sizeof c->state_key);
    cs_wipe(c->cookie, sizeof c->cookie);
    c->has_state_key = false;
    c->has_session = false;
    c->counter = 0;
}

void custos_free_secret(void *p, size_t len)
{
    if (p != NULL) {
        cs_free_wipe(p, len);
    }
}

void custos_client_free(struct custos_client *c)
{
    if (c == NULL) {
        return;
    }
    cs_client_session_end(c);
    cs_client_cache_drop(c);
    cs_attester_free(c->attester);
    cs_httpc_conn_free(c->conn);
    cs_memory_clear(&c->mem);
    cs_free(c->url);
    cs_free(c->cacert);
    cs_free(c->vkey);
    cs_free(c->origin);
    cs_free(c->state_file);
    cs_free(c->identity_opt);
    cs_free(c->state_key_opt);
    pthread_mutex_destroy(&c->mu);
    cs_free(c);
}

/* A pin: 64 hex digits or 44 characters of base64, both of a 32-byte SHA-256. */
static cs_res pin_make(const char *in, char *out, size_t cap)
{
    uint8_t h[32];
    size_t n = strlen(in);
    size_t got = 0;
    if (n == 64) {
        CS_TRY(cs_hex_decode(in, n, h, sizeof h));
    } else {
        CS_ENSURE(n == 44, CS_E_FORMAT);
        CS_TRY(cs_b64_decode(in, n, true, h, sizeof h, &got));
        CS_ENSURE(got == sizeof h, CS_E_FORMAT);
    }
    char b64[48];
    CS_TRY(cs_b64_encode(h, sizeof h, b64, sizeof b64));
    int w = snprintf(out, cap, CS_CLIENT_PIN_PREFIX "%s", b64);
    CS_ENSURE(w > 0 && (size_t)w < cap, CS_E_INTERNAL);
    return CS_SUCCESS;
}

CS_RESULT custos_client_new(const struct custos_client_opts *o, struct custos_diag *diag,
                            struct custos_client **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    if (o == NULL || o->url == NULL || o->log_vkey == NULL || o->state_file == NULL
        || o->attester == NULL) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "url, attester, log_vkey and state_file are required");
    }
    if (strncmp(o->url, "https://", 8) != 0 && strncmp(o->url, "http://", 7) != 0) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "the broker URL must be http:// or https://");
    }
    if (o->identity != NULL
        && (o->identity[0] == '\0' || strnlen(o->identity, CS_STATE_IDENTITY_MAX + 1)
                                          > CS_STATE_IDENTITY_MAX)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "identity: 1..%d bytes", CS_STATE_IDENTITY_MAX);
    }
    struct custos_client *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        cs_free(c);
        CS_FAIL(CS_E_NOMEM);
    }
    cs_res r = CS_SUCCESS;
    c->url = dup_or_null(o->url, &r);
    c->cacert = dup_or_null(o->cacert, &r);
    c->vkey = dup_or_null(o->log_vkey, &r);
    c->origin = dup_or_null(o->log_origin, &r);
    c->state_file = dup_or_null(o->state_file, &r);
    c->identity_opt = dup_or_null(o->identity, &r);
    c->state_key_opt = dup_or_null(o->state_key, &r);
    if (cs_ok(r)) {
        size_t n = strlen(c->url);
        while (n > 0 && c->url[n - 1] == '/') {
            c->url[--n] = '\0';
        }
        const char *host = strstr(c->url, "://") + 3;
        const char *slash = strchr(host, '/');
        c->path0 = slash != NULL ? slash : c->url + n;
    }
    if (cs_ok(r) && o->pin_sha256 != NULL) {
        r = pin_make(o->pin_sha256, c->pin, sizeof c->pin);
        c->has_pin = cs_ok(r);
        if (!cs_ok(r)) {
            custos_client_free(c);
            CS_CLIENT_FAIL(diag, CS_E_ARG,
                           "pin: the SHA-256 of the SPKI as 64 hex digits or 44 base64");
        }
    }
    if (cs_ok(r)) {
        r = cs_memory_load(c->state_file, c->vkey, diag, &c->mem);
    }
    if (cs_ok(r)) {
        r = cs_httpc_conn_new(&c->conn);
    }
    if (cs_ok(r)) {
        struct cs_attester_opts ao = { .kind = o->attester, .tcti = o->tcti,
                                       .sim_data_dir = o->data_dir };
        r = cs_attester_open(&ao, &c->attester);
        if (!cs_ok(r)) {
            custos_client_free(c);
            CS_CLIENT_FAIL(diag, r.code, "cannot open the %.16s attester (%s)", o->attester,
                           custos_code_name(r.code));
        }
    }
    if (!cs_ok(r)) {
        custos_client_free(c);
        return r;
    }
    *out = c;
    return CS_SUCCESS;
}

/* ---- HTTP ---- */

static cs_res http(struct custos_client *c, const char *method, const char *path,
                   const char *ctype, const uint8_t *body, size_t len,
                   const char *const *headers, struct custos_diag *diag,
                   struct cs_httpc_resp *resp)
{
    char url[URL_MAX + 512];
    int n = snprintf(url, sizeof url, "%s%s", c->url, path);
    CS_ENSURE(n > 0 && (size_t)n < sizeof url, CS_E_TOO_LARGE);
    struct cs_httpc_req req = { .method = method, .url = url, .content_type = ctype,
                                .body = body, .body_len = len, .cacert = c->cacert,
                                .pin = c->has_pin ? c->pin : NULL, .headers = headers,
                                .conn = c->conn,
                                .cookie = c->cookie[0] != '\0' ? c->cookie : NULL };
    cs_res r = cs_httpc_do(&req, resp);
    c->last_status = cs_ok(r) ? resp->status : 0;
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code, "cannot reach the broker for %s %.100s (%s)", method, path,
                       custos_code_name(r.code));
    }
    return CS_SUCCESS;
}

/* The code of an HTTP refusal, with what the broker said (escaped, capped) in diag. */
static cs_res refused(struct custos_diag *diag, const char *what, struct cs_httpc_resp *resp)
{
    cs_code code = resp->status == 401   ? CS_E_SIGNATURE
                   : resp->status == 403 ? CS_E_POLICY
                   : resp->status == 404 ? CS_E_NOT_FOUND
                   : resp->status == 412 ? CS_E_CONFLICT
                   : resp->status == 413 ? CS_E_TOO_LARGE
                   : resp->status == 429 ? CS_E_IO /* rate limited: try again later */
                   : resp->status < 500  ? CS_E_ARG
                                         : CS_E_IO;
    char said[129];
    size_t n = 0;
    for (size_t i = 0; i < resp->body.len && n + 1 < sizeof said; i++) {
        uint8_t ch = resp->body.p[i];
        said[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    said[n] = '\0';
    long status = resp->status;
    cs_buf_clear(&resp->body);
    CS_CLIENT_FAIL(diag, code, "%s: HTTP %ld %s", what, status, said);
}

static cs_res answer_json(struct custos_diag *diag, const char *what, struct cs_httpc_resp *resp,
                          size_t max, json_t **out)
{
    cs_res r = cs_json_load(cs_cur_of(resp->body.p, resp->body.len), max, out);
    cs_buf_clear(&resp->body);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "%s: the broker's answer is not a JSON object", what);
    }
    return CS_SUCCESS;
}

/* ---- attestation ---- */

/* base64url (no padding) to bytes, through the standard alphabet. */
static cs_res b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    CS_ENSURE(len <= CS_JWT_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(len % 4 != 1, CS_E_FORMAT);
    char *t = NULL;
    CS_TRY(cs_alloc(1, len + 4, (void **)&t));
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '+' || ch == '/' || ch == '=') {
            cs_free(t);
            CS_FAIL(CS_E_FORMAT);
        }
        t[k++] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    while (k % 4 != 0) {
        t[k++] = '=';
    }
    cs_res r = cs_b64_decode(t, k, true, out, cap, n);
    cs_free(t);
    return r;
}

/*
 * The identity the broker admitted this instance as: custos.identities[0] of the token's
 * claims. Read without verifying the signature: only the AAD of this client's own state
 * depends on it, and a wrong one makes the state unreadable, not readable by others.
 */
static cs_res identity_of(const char *jwt, char *out, size_t cap)
{
    const char *p1 = strchr(jwt, '.');
    const char *p2 = p1 != NULL ? strchr(p1 + 1, '.') : NULL;
    CS_ENSURE(p2 != NULL, CS_E_FORMAT);
    size_t len = (size_t)(p2 - p1 - 1);
    uint8_t *buf = NULL;
    CS_TRY(cs_alloc(1, len + 3, (void **)&buf));
    size_t n = 0;
    cs_res r = b64url_decode(p1 + 1, len, buf, len + 3, &n);
    json_t *claims = NULL;
    if (cs_ok(r)) {
        r = cs_json_load(cs_cur_of(buf, n), CS_JWT_MAX, &claims);
    }
    cs_free(buf);
    CS_TRY(r);
    json_t *ids = json_object_get(json_object_get(claims, "custos"), "identities");
    const char *id = json_string_value(json_array_get(ids, 0));
    if (id == NULL || id[0] == '\0' || strlen(id) >= cap) {
        json_decref(claims);
        CS_FAIL(CS_E_FORMAT);
    }
    snprintf(out, cap, "%s", id);
    json_decref(claims);
    return CS_SUCCESS;
}

static cs_res auth(struct custos_client *c, struct custos_diag *diag)
{
    CS_AUTO(cs_json_decrefp) json_t *req = json_pack("{s:s, s:s, s:{}}", "version", "0.4.0",
                                                     "tee", cs_attester_tee(c->attester),
                                                     "extra-params");
    CS_ENSURE(req != NULL, CS_E_NOMEM);
    CS_AUTO(cs_freep) char *text = json_dumps(req, JSON_COMPACT);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "POST", "/kbs/v0/auth", "application/json", (const uint8_t *)text,
                strlen(text), NULL, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, "auth", &resp);
    }
    if (strncmp(resp.set_cookie, "kbs-session-id=", 15) != 0) {
        cs_buf_clear(&resp.body);
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "auth: no kbs-session-id cookie");
    }
    snprintf(c->cookie, sizeof c->cookie, "%s", resp.set_cookie);
    CS_AUTO(cs_json_decrefp) json_t *challenge = NULL;
    CS_TRY(answer_json(diag, "auth", &resp, 4096, &challenge));
    const char *nonce = NULL;
    size_t len = 0;
    if (!cs_ok(cs_json_get_str(challenge, "nonce", CS_KBS_NONCE_MAX, &nonce, &len)) || len == 0) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "auth: the challenge has no nonce");
    }
    memcpy(c->nonce, nonce, len + 1);
    return CS_SUCCESS;
}

cs_res cs_client_attest_locked(struct custos_client *c, struct custos_diag *diag)
{
    cs_client_session_end(c);
    CS_TRY(auth(c, diag));
    CS_AUTO(cs_json_decrefp) json_t *pub = NULL;
    CS_TRY(cs_tee_keypair_generate("EC-P256", &c->priv, &pub));
    uint8_t report_data[CS_KBS_REPORT_DATA_LEN];
    CS_TRY(cs_kbs_report_data(c->nonce, pub, NULL, report_data));
    CS_AUTO(cs_json_decrefp) json_t *evidence = NULL;
    cs_res r = cs_attester_evidence(c->attester, report_data, &evidence);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code, "the %s attester made no evidence (%s)",
                       cs_attester_kind(c->attester), custos_code_name(r.code));
    }
    CS_AUTO(cs_json_decrefp) json_t *body = json_pack(
        "{s:{s:s, s:O}, s:O}", "runtime-data", "nonce", c->nonce, "tee-pubkey", pub,
        "tee-evidence", evidence);
    CS_ENSURE(body != NULL, CS_E_NOMEM);
    CS_AUTO(cs_freep) char *text = json_dumps(body, JSON_COMPACT);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "POST", "/kbs/v0/attest", "application/json", (const uint8_t *)text,
                strlen(text), NULL, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, "attest", &resp);
    }
    CS_AUTO(cs_json_decrefp) json_t *ans = NULL;
    CS_TRY(answer_json(diag, "attest", &resp, CS_JWT_MAX + 1024, &ans));
    const char *token = NULL;
    size_t len = 0;
    if (!cs_ok(cs_json_get_str(ans, "token", CS_JWT_MAX, &token, &len))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "attest: no token in the answer");
    }
    CS_TRY(cs_alloc(1, len + 1, (void **)&c->token));
    memcpy(c->token, token, len + 1);
    if (c->identity_opt != NULL) {
        snprintf(c->identity, sizeof c->identity, "%s", c->identity_opt);
    } else if (!cs_ok(identity_of(c->token, c->identity, sizeof c->identity))) {
        c->identity[0] = '\0'; /* state then needs the identity option */
    }
    c->has_session = true;
    return CS_SUCCESS;
}

static cs_res ensure_session(struct custos_client *c, struct custos_diag *diag)
{
    return c->has_session ? CS_SUCCESS : cs_client_attest_locked(c, diag);
}

CS_RESULT custos_client_attest(struct custos_client *c, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    pthread_mutex_lock(&c->mu);
    cs_res r = cs_client_attest_locked(c, diag);
    if (!cs_ok(r)) {
        cs_client_session_end(c);
    } else {
        c->is_offline = false; /* from now on, the broker */
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* ---- resources ---- */

bool cs_client_resource_name_ok(const char *name)
{
    size_t n = strnlen(name, CUSTOS_RESOURCE_NAME_MAX + 1);
    return n > 0 && n <= CUSTOS_RESOURCE_NAME_MAX
           && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/")
                  == n
           && strstr(name, "..") == NULL && name[0] != '/';
}

static cs_res resource_once(struct custos_client *c, const char *name, struct custos_diag *diag,
                            uint8_t **secret, size_t *len)
{
    char path[CUSTOS_RESOURCE_NAME_MAX + 64];
    int n = snprintf(path, sizeof path, "%s/kbs/v0/resource/%s", c->path0, name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_TOO_LARGE);
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "GET", path + strlen(c->path0), NULL, NULL, 0, NULL, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, "resource", &resp);
    }
    cs_res r = resp.body.len <= CS_JWE_MAX
                   ? cs_jwe_decrypt(c->priv, (const char *)resp.body.p, resp.body.len, secret, len)
                   : (cs_res){ .code = CS_E_TOO_LARGE };
    cs_buf_clear(&resp.body);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code,
                       "resource %.128s: the JWE does not decrypt with the TEE key (%s)", name,
                       custos_code_name(r.code));
    }
    return CS_SUCCESS;
}

/* Whether a failed call is worth one more try in a fresh session: the broker said 401. */
static bool session_gone(const struct custos_client *c, cs_res r)
{
    return !cs_ok(r) && c->last_status == 401;
}

cs_res cs_client_resource_locked(struct custos_client *c, const char *name,
                                 struct custos_diag *diag, uint8_t **secret, size_t *len)
{
    CS_TRY(ensure_session(c, diag));
    return resource_once(c, name, diag, secret, len);
}

CS_RESULT custos_client_get_resource(struct custos_client *c, const char *name,
                                     struct custos_diag *diag, uint8_t **secret, size_t *len)
{
    CS_ENSURE(secret != NULL && len != NULL, CS_E_ARG);
    *secret = NULL;
    *len = 0;
    CS_ENSURE(c != NULL && name != NULL, CS_E_ARG);
    if (!cs_client_resource_name_ok(name)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "a resource name is REPO/TYPE/TAG of [A-Za-z0-9._-]");
    }
    pthread_mutex_lock(&c->mu);
    if (c->is_offline) {
        cs_res r = cs_client_cache_resource(c, name, diag, secret, len);
        pthread_mutex_unlock(&c->mu);
        return r;
    }
    cs_res r = cs_client_resource_locked(c, name, diag, secret, len);
    if (session_gone(c, r)) { /* the session expired: attest afresh, once */
        cs_client_session_end(c);
        r = cs_client_resource_locked(c, name, diag, secret, len);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* ---- state ---- */

cs_res cs_client_state_key_name(const struct custos_client *c, char *name, size_t cap,
                                struct custos_diag *diag)
{
    if (c->identity[0] == '\0') {
        CS_CLIENT_FAIL(diag, CS_E_ARG,
                       "the token names no identity: configure the state identity");
    }
    int n = c->state_key_opt != NULL ? snprintf(name, cap, "%s", c->state_key_opt)
                                     : snprintf(name, cap, "default/%s/state-key", c->identity);
    if (n <= 0 || (size_t)n >= cap || !cs_client_resource_name_ok(name)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "the state key's resource name is not usable");
    }
    return CS_SUCCESS;
}

/* The state key: from the broker, or from the cache when offline. */
cs_res cs_client_state_key(struct custos_client *c, struct custos_diag *diag)
{
    if (c->has_state_key) {
        return CS_SUCCESS;
    }
    char name[CUSTOS_RESOURCE_NAME_MAX + 1];
    CS_TRY(cs_client_state_key_name(c, name, sizeof name, diag));
    uint8_t *key = NULL;
    size_t len = 0;
    CS_TRY(c->is_offline ? cs_client_cache_resource(c, name, diag, &key, &len)
                         : cs_client_resource_locked(c, name, diag, &key, &len));
    if (len != CS_AEAD_KEY_LEN) {
        custos_free_secret(key, len);
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state key %.128s is %zu bytes, not 32", name, len);
    }
    memcpy(c->state_key, key, CS_AEAD_KEY_LEN);
    custos_free_secret(key, len);
    c->has_state_key = true;
    return CS_SUCCESS;
}

/* custos-pop-v1\n<METHOD>\n<PATH>\n<hex SHA-256 of body>\n<session nonce>\n<counter>\n */
static cs_res pop_headers(struct custos_client *c, const char *method, const char *path,
                          const uint8_t *body, size_t len, char counter_h[64],
                          char pop_h[sizeof "Custos-PoP: " + CS_TEE_POP_B64_MAX])
{
    uint8_t digest[32];
    char hex[65];
    CS_TRY(cs_sha256(cs_cur_of(body, len), digest));
    CS_TRY(cs_hex_encode(digest, sizeof digest, hex, sizeof hex));
    CS_ENSURE(c->counter < UINT64_MAX, CS_E_INTERNAL);
    c->counter++;
    char msg[CS_KBS_NONCE_MAX + 512];
    int n = snprintf(msg, sizeof msg, "custos-pop-v1\n%s\n%s\n%s\n%s\n%" PRIu64 "\n", method, path,
                     hex, c->nonce, c->counter);
    CS_ENSURE(n > 0 && (size_t)n < sizeof msg, CS_E_TOO_LARGE);
    char sig[CS_TEE_POP_B64_MAX];
    CS_TRY(cs_tee_pop_sign(c->priv, (const uint8_t *)msg, (size_t)n, sig, sizeof sig));
    snprintf(counter_h, 64, "Custos-PoP-Counter: %" PRIu64, c->counter);
    snprintf(pop_h, sizeof "Custos-PoP: " + CS_TEE_POP_B64_MAX, "Custos-PoP: %s", sig);
    return CS_SUCCESS;
}

cs_res cs_client_put_locked(struct custos_client *c, const char *object, const uint8_t *pt,
                            size_t len, uint64_t expected, struct custos_diag *diag,
                            uint64_t *out)
{
    CS_TRY(ensure_session(c, diag));
    CS_TRY(cs_client_state_key(c, diag));
    CS_AUTO(cs_freep) uint8_t *env = NULL;
    size_t env_len = 0;
    CS_TRY(cs_state_seal(c->state_key, c->identity, object, expected + 1, pt, len, &env,
                         &env_len));
    char path[CUSTOS_STATE_OBJECT_MAX + URL_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/custos/v1/state/%s", c->path0, object);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_TOO_LARGE);
    char if_match[48];
    snprintf(if_match, sizeof if_match, "If-Match: %" PRIu64, expected);
    char counter_h[64];
    char pop_h[sizeof "Custos-PoP: " + CS_TEE_POP_B64_MAX];
    CS_TRY(pop_headers(c, "PUT", path, env, env_len, counter_h, pop_h));
    const char *const headers[] = { if_match, counter_h, pop_h, NULL };
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "PUT", path + strlen(c->path0), "application/octet-stream", env, env_len,
                headers, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, resp.status == 412 ? "state put: stale version (If-Match)"
                                                : "state put",
                       &resp);
    }
    CS_AUTO(cs_json_decrefp) json_t *ans = NULL;
    CS_TRY(answer_json(diag, "state put", &resp, 4096, &ans));
    uint64_t version = 0;
    if (!cs_ok(cs_json_get_uint(ans, "version", CS_STATE_VERSION_MAX, &version))
        || version != expected + 1) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "state put: the broker answered another version than %" PRIu64,
                       expected + 1);
    }
    CS_TRY(cs_memory_raise(&c->mem, object, version));
    cs_res r = cs_memory_save(&c->mem, c->state_file);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code, "state put: version %" PRIu64 " written, but the state "
                                     "file cannot be saved", version);
    }
    *out = version;
    return CS_SUCCESS;
}

CS_RESULT custos_client_state_put(struct custos_client *c, const char *object,
                                  const uint8_t *plaintext, size_t len, uint64_t expected_version,
                                  struct custos_diag *diag, uint64_t *new_version)
{
    CS_ENSURE(new_version != NULL, CS_E_ARG);
    *new_version = 0;
    CS_ENSURE(c != NULL && (plaintext != NULL || len == 0), CS_E_ARG);
    if (!cs_state_object_ok(object)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "an object name is 1..128 bytes of [A-Za-z0-9._-]");
    }
    if (len > CUSTOS_STATE_PLAINTEXT_MAX) {
        CS_CLIENT_FAIL(diag, CS_E_TOO_LARGE, "state is at most %u bytes",
                       CUSTOS_STATE_PLAINTEXT_MAX);
    }
    if (expected_version >= CS_STATE_VERSION_MAX) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "version out of range");
    }
    pthread_mutex_lock(&c->mu);
    if (c->is_offline) {
        cs_res r = cs_client_cache_state_put(c, object, plaintext, len, expected_version, diag,
                                             new_version);
        pthread_mutex_unlock(&c->mu);
        return r;
    }
    cs_res r = cs_client_put_locked(c, object, plaintext, len, expected_version, diag, new_version);
    if (session_gone(c, r)) {
        cs_client_session_end(c);
        r = cs_client_put_locked(c, object, plaintext, len, expected_version, diag, new_version);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* GET /custos/v1/log/proof/consistency?old=M&new=N: the hashes only; roots are ours. */
static cs_res consistency_proof(struct custos_client *c, uint64_t old_size, uint64_t new_size,
                                struct custos_diag *diag, uint8_t *proof, size_t *n)
{
    char path[128];
    snprintf(path, sizeof path, "/custos/v1/log/proof/consistency?old=%" PRIu64 "&new=%" PRIu64,
             old_size, new_size);
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "GET", path, NULL, NULL, 0, NULL, diag, &resp));
    if (resp.status != 200) {
        cs_res r = refused(diag, "consistency proof", &resp);
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the broker cannot prove its log of %" PRIu64 " entries extends the "
                       "one of %" PRIu64 " this client saw (%s)",
                       new_size, old_size, custos_code_name(r.code));
    }
    CS_AUTO(cs_json_decrefp) json_t *ans = NULL;
    CS_TRY(answer_json(diag, "consistency proof", &resp, 64 * 1024, &ans));
    uint64_t o = 0;
    uint64_t nw = 0;
    json_t *arr = NULL;
    if (!cs_ok(cs_json_get_uint(ans, "old", INT64_MAX, &o))
        || !cs_ok(cs_json_get_uint(ans, "new", INT64_MAX, &nw)) || o != old_size
        || nw != new_size || !cs_ok(cs_json_get_arr(ans, "proof", CS_STATE_PROOF_MAX, &arr))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the consistency proof is malformed");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL || !cs_ok(cs_hex_decode(s, strlen(s), proof + i * CUSTOS_HASH_LEN,
                                              CUSTOS_HASH_LEN))) {
            CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the consistency proof is malformed");
        }
    }
    *n = json_array_size(arr);
    return CS_SUCCESS;
}

static cs_res verify_read(struct custos_client *c, const char *object,
                          const struct cs_state_read *rd, struct custos_diag *diag,
                          struct custos_checkpoint *cp)
{
    const char *keys[] = { c->vkey };
    struct custos_tlog_policy pol = { .log_vkeys = keys, .n_log_vkeys = 1,
                                      .origin = c->origin };
    CS_TRY(cs_state_read_verify(rd, object, &pol, diag, cp));
    bool need = false;
    CS_TRY(cs_state_check_consistency(&c->mem, cp, NULL, 0, &need, diag));
    if (need) {
        bool has = false;
        struct custos_checkpoint old;
        CS_TRY(cs_memory_checkpoint(&c->mem, &has, &old));
        uint8_t proof[CS_STATE_PROOF_MAX * CUSTOS_HASH_LEN];
        size_t n = 0;
        CS_TRY(consistency_proof(c, old.size, cp->size, diag, proof, &n));
        CS_TRY(cs_state_check_consistency(&c->mem, cp, proof, n, &need, diag));
    }
    /* last: a rolled-back log explains itself better than the stale version it serves */
    return cs_state_check_version(&c->mem, object, rd->version, diag);
}

void cs_client_state_copy_clear(struct cs_state_copy *k)
{
    cs_free(k->ciphertext);
    cs_free(k->checkpoint);
    *k = (struct cs_state_copy){ 0 };
}

cs_res cs_client_get_locked(struct custos_client *c, const char *object, struct custos_diag *diag,
                            uint8_t **pt, size_t *len, uint64_t *version,
                            struct cs_state_copy *keep)
{
    CS_TRY(ensure_session(c, diag));
    CS_TRY(cs_client_state_key(c, diag));
    char path[CUSTOS_STATE_OBJECT_MAX + 32];
    snprintf(path, sizeof path, "/custos/v1/state/%s", object);
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "GET", path, NULL, NULL, 0, NULL, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, "state get", &resp);
    }
    CS_AUTO(cs_json_decrefp) json_t *ans = NULL;
    CS_TRY(answer_json(diag, "state get", &resp, ANSWER_JSON_MAX, &ans));
    struct cs_state_read rd;
    cs_res r = cs_state_read_parse(ans, object, diag, &rd);
    struct custos_checkpoint cp;
    if (cs_ok(r)) {
        r = verify_read(c, object, &rd, diag, &cp);
    }
    if (cs_ok(r)) {
        r = cs_state_open(c->state_key, c->identity, object, rd.version, rd.ciphertext,
                          rd.ciphertext_len, pt, len);
        if (!cs_ok(r)) {
            r = cs_client_fail(diag, CS_E_BINDING, __FILE__, __LINE__,
                               "version %" PRIu64 " of %s does not open under the state key "
                               "for identity %s (%s)",
                               rd.version, object, c->identity, custos_code_name(r.code));
        }
    }
    if (cs_ok(r) && keep != NULL) {
        r = cs_alloc(1, rd.checkpoint_len + 1, (void **)&keep->checkpoint);
        if (cs_ok(r)) {
            memcpy(keep->checkpoint, rd.checkpoint, rd.checkpoint_len);
            keep->ciphertext = rd.ciphertext; /* moved */
            keep->ciphertext_len = rd.ciphertext_len;
            keep->log_index = rd.log_index;
            rd.ciphertext = NULL;
        } else {
            custos_free_secret(*pt, *len);
            *pt = NULL;
            *len = 0;
        }
    }
    uint64_t v = rd.version;
    cs_state_read_clear(&rd);
    CS_TRY(r);
    r = cs_memory_raise(&c->mem, object, v);
    if (cs_ok(r)) {
        r = cs_memory_set_checkpoint(&c->mem, &cp);
    }
    if (cs_ok(r)) {
        r = cs_memory_save(&c->mem, c->state_file);
    }
    if (!cs_ok(r)) {
        custos_free_secret(*pt, *len);
        *pt = NULL;
        *len = 0;
        if (keep != NULL) {
            cs_client_state_copy_clear(keep);
        }
        CS_CLIENT_FAIL(diag, r.code, "the state file cannot be saved");
    }
    *version = v;
    return CS_SUCCESS;
}

CS_RESULT custos_client_state_get(struct custos_client *c, const char *object,
                                  struct custos_diag *diag, uint8_t **plaintext, size_t *len,
                                  uint64_t *version)
{
    CS_ENSURE(plaintext != NULL && len != NULL && version != NULL, CS_E_ARG);
    *plaintext = NULL;
    *len = 0;
    *version = 0;
    CS_ENSURE(c != NULL, CS_E_ARG);
    if (!cs_state_object_ok(object)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "an object name is 1..128 bytes of [A-Za-z0-9._-]");
    }
    pthread_mutex_lock(&c->mu);
    if (c->is_offline) {
        cs_res r = cs_client_cache_state_get(c, object, diag, plaintext, len, version);
        pthread_mutex_unlock(&c->mu);
        return r;
    }
    cs_res r = cs_client_get_locked(c, object, diag, plaintext, len, version, NULL);
    if (session_gone(c, r)) {
        cs_client_session_end(c);
        r = cs_client_get_locked(c, object, diag, plaintext, len, version, NULL);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* ---- tokens ---- */

/* POST /custos/v1/token {"audience": NAME} with proof of possession (docs/state.md). */
static cs_res token_locked(struct custos_client *c, const char *audience,
                           struct custos_diag *diag, char **token)
{
    CS_TRY(ensure_session(c, diag));
    if (audience == NULL) {
        size_t n = strlen(c->token);
        CS_TRY(cs_alloc(1, n + 1, (void **)token));
        memcpy(*token, c->token, n + 1);
        return CS_SUCCESS;
    }
    CS_AUTO(cs_json_decrefp) json_t *req = json_pack("{s:s}", "audience", audience);
    CS_ENSURE(req != NULL, CS_E_NOMEM);
    CS_AUTO(cs_freep) char *text = json_dumps(req, JSON_COMPACT);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    char path[URL_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/custos/v1/token", c->path0);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_TOO_LARGE);
    char counter_h[64];
    char pop_h[sizeof "Custos-PoP: " + CS_TEE_POP_B64_MAX];
    CS_TRY(pop_headers(c, "POST", path, (const uint8_t *)text, strlen(text), counter_h, pop_h));
    const char *const headers[] = { counter_h, pop_h, NULL };
    struct cs_httpc_resp resp;
    CS_TRY(http(c, "POST", path + strlen(c->path0), "application/json", (const uint8_t *)text,
                strlen(text), headers, diag, &resp));
    if (resp.status != 200) {
        return refused(diag, "token", &resp);
    }
    CS_AUTO(cs_json_decrefp) json_t *ans = NULL;
    CS_TRY(answer_json(diag, "token", &resp, CS_JWT_MAX + 1024, &ans));
    const char *tok = NULL;
    size_t len = 0;
    if (!cs_ok(cs_json_get_str(ans, "token", CS_JWT_MAX, &tok, &len))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "token: no token in the answer");
    }
    CS_TRY(cs_alloc(1, len + 1, (void **)token));
    memcpy(*token, tok, len + 1);
    return CS_SUCCESS;
}

CS_RESULT custos_client_token(struct custos_client *c, const char *audience,
                              struct custos_diag *diag, char **token)
{
    CS_ENSURE(token != NULL, CS_E_ARG);
    *token = NULL;
    CS_ENSURE(c != NULL, CS_E_ARG);
    if (audience != NULL && !cs_state_object_ok(audience)) {
        CS_CLIENT_FAIL(diag, CS_E_ARG, "an audience is 1..128 bytes of [A-Za-z0-9._-]");
    }
    pthread_mutex_lock(&c->mu);
    if (c->is_offline) {
        pthread_mutex_unlock(&c->mu);
        CS_CLIENT_FAIL(diag, CS_E_IO, "offline (serving from the cache): a token needs the broker");
    }
    cs_res r = token_locked(c, audience, diag, token);
    if (session_gone(c, r)) {
        cs_client_session_end(c);
        r = token_locked(c, audience, diag, token);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}
