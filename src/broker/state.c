/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attested state write-back (docs/state.md):
 *   PUT /custos/v1/state/<object>   ciphertext, If-Match, proof of possession of the TEE key
 *   GET /custos/v1/state/<object>   ciphertext + its audit record, inclusion proof, checkpoint
 *   POST /custos/v1/token           an audience-scoped token, with proof of possession
 * The broker never sees plaintext state: the client seals it with a state key that policy
 * released to it. Every version is logged before it is stored, under one mutex per broker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/blog.h"
#include "broker/broker_int.h"
#include "core/cs_b64.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_jose.h"
#include "policy/policy.h"
#include "store/broker_store.h"
#include "tlog/log.h"

#define H CS_MERKLE_HASH_LEN
#define POP_SIG_MAX 132 /* P-521: 2 x 66 */

/* An attested session, from the cookie, with what state routes need. */
struct caller {
    struct cs_session s;
    char ref[33];
    json_t *input;
    struct cs_tee_key *key;
    char thumb[44];
};

static void caller_clear(struct caller *c)
{
    cs_session_clear(&c->s);
    json_decref(c->input);
    cs_tee_key_free(c->key);
}

static bool is_object_name(const char *o)
{
    size_t n = strnlen(o, 129);
    if (n == 0 || n > 128 || strcmp(o, ".") == 0 || strcmp(o, "..") == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = o[i];
        bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '.' || c == '_' || c == '-';
        if (!is_ok) {
            return false;
        }
    }
    return true;
}

static cs_res load_caller(struct cs_broker *b, const struct cs_http_req *req, int64_t now,
                          struct caller *c)
{
    CS_TRY(cs_broker_session_of(b, req, now, &c->s));
    CS_ENSURE(c->s.state == CS_SESSION_ATTESTED && c->s.attest_index >= 0, CS_E_NOT_FOUND);
    CS_ENSURE(c->s.input != NULL && c->s.tee_pubkey != NULL, CS_E_STORE);
    (void)cs_ok(cs_hex_encode(c->s.id_hash, 16, c->ref, sizeof c->ref));
    CS_TRY(cs_json_load((struct cs_cur){ .p = (const uint8_t *)c->s.input,
                                         .left = strlen(c->s.input) },
                        1u << 20, &c->input));
    CS_AUTO(cs_json_decrefp) json_t *jwk = NULL;
    CS_TRY(cs_json_load((struct cs_cur){ .p = (const uint8_t *)c->s.tee_pubkey,
                                         .left = strlen(c->s.tee_pubkey) },
                        CS_TEE_JWK_MAX, &jwk));
    CS_TRY(cs_tee_key_parse(jwk, &c->key));
    uint8_t raw[32];
    return cs_tee_key_thumbprint(c->key, raw, c->thumb);
}

/*
 * The proof of possession: Custos-PoP-Counter and Custos-PoP (base64url R || S) over
 * "custos-pop-v1\n" METHOD "\n" PATH "\n" hex(SHA-256(body)) "\n" nonce "\n" counter "\n",
 * by the attested TEE key, with a counter above every one accepted in this session.
 */
static cs_res check_pop(struct cs_broker *b, const struct cs_http_req *req, struct caller *c,
                        int64_t now, int64_t *counter_out)
{
    const char *ctr = cs_http_header(req, "Custos-PoP-Counter");
    const char *sig64 = cs_http_header(req, "Custos-PoP");
    CS_ENSURE(ctr != NULL && sig64 != NULL, CS_E_SIGNATURE);
    char *end = NULL;
    errno = 0;
    long long counter = strtoll(ctr, &end, 10);
    CS_ENSURE(errno == 0 && end != ctr && *end == '\0' && counter > 0, CS_E_SIGNATURE);
    uint8_t digest[32];
    char hex[65];
    CS_TRY(cs_sha256((struct cs_cur){ .p = req->body, .left = req->body_len }, digest));
    CS_TRY(cs_hex_encode(digest, sizeof digest, hex, sizeof hex));
    char msg[2048];
    int n = snprintf(msg, sizeof msg, "custos-pop-v1\n%s\n%s\n%s\n%s\n%lld\n", req->method,
                     req->path, hex, c->s.nonce, counter);
    CS_ENSURE(n > 0 && (size_t)n < sizeof msg, CS_E_TOO_LARGE);
    /* base64url without padding -> bytes */
    char b64[4 * (POP_SIG_MAX / 3 + 2) + 4];
    size_t slen = strnlen(sig64, sizeof b64);
    CS_ENSURE(slen > 0 && slen < sizeof b64 - 3, CS_E_SIGNATURE);
    for (size_t i = 0; i < slen; i++) {
        char ch = sig64[i];
        CS_ENSURE(ch != '+' && ch != '/' && ch != '=', CS_E_SIGNATURE);
        b64[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    while (slen % 4 != 0) {
        b64[slen++] = '=';
    }
    uint8_t sig[POP_SIG_MAX];
    size_t sig_len = 0;
    CS_TRY(cs_b64_decode(b64, slen, true, sig, sizeof sig, &sig_len));
    CS_TRY(cs_tee_key_verify(c->key, (const uint8_t *)msg, (size_t)n, sig, sig_len));
    /* after the signature: only the key's holder can spend a counter */
    CS_TRY(cs_bstore_session_pop(b->store, c->s.id_hash, counter, now));
    *counter_out = counter;
    return CS_SUCCESS;
}

static json_t *policy_of(const struct cs_policy_ref *p)
{
    return json_pack("{s:s, s:I, s:s}", "id", p->id, "version", (json_int_t)p->version, "sha256",
                     p->sha256);
}

static bool allowed(struct cs_broker *b, const struct cs_policy_ref *p, const json_t *input,
                    const char *action, const char *object, struct cs_policy_decision *d)
{
    (void)b;
    return p->policy != NULL
           && cs_ok(cs_policy_decide(p->policy, input, p->refvals, action, object, d)) && d->allow;
}

static void deny_state(struct cs_broker *b, const struct caller *c, const struct cs_policy_ref *p,
                       const char *action, const char *object, const char *reason,
                       struct cs_http_resp *resp)
{
    uint64_t index = 0;
    cs_res r = cs_broker_audit(b,
                               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "type",
                                         "deny", "session", c->ref, "action", action, "resource",
                                         object, "reason", reason, "rule", "", "attest_index",
                                         (json_int_t)c->s.attest_index, "policy", policy_of(p)),
                               &index);
    cs_metrics_denial(b->metrics, reason);
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
    } else if (strcmp(reason, "not_found") == 0) {
        cs_broker_error(resp, 404, "NotFound", "no such state object");
    } else {
        cs_broker_error(resp, 403, "PolicyDeny", "denied by policy");
    }
}

static void state_put(struct cs_broker *b, const struct cs_http_req *req, const char *object,
                      struct caller *c, struct cs_http_resp *resp)
{
    int64_t now = cs_time_now();
    const char *im = cs_http_header(req, "If-Match");
    if (im == NULL) {
        cs_broker_error(resp, 428, "InvalidRequest", "If-Match: <version> is required");
        return;
    }
    char *end = NULL;
    errno = 0;
    long long expected = strtoll(im[0] == '"' ? im + 1 : im, &end, 10);
    if (errno != 0 || expected < 0 || (*end != '\0' && strcmp(end, "\"") != 0)) {
        cs_broker_error(resp, 400, "InvalidRequest", "If-Match must be a version number");
        return;
    }
    if (req->body_len == 0) {
        cs_broker_error(resp, 400, "InvalidRequest", "empty state");
        return;
    }
    int64_t counter = 0;
    cs_res r = check_pop(b, req, c, now, &counter);
    if (!cs_ok(r)) {
        cs_metrics_denial(b->metrics, "pop");
        cs_broker_error(resp, 401, "UnAuthenticated",
                        r.code == CS_E_UNSUPPORTED ? "state writes need an EC TEE key"
                                                   : "invalid proof of possession");
        return;
    }
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    struct cs_policy_decision d = { 0 };
    if (!allowed(b, p, c->input, "state:write", object, &d)) {
        deny_state(b, c, p, "state:write", object,
                   p->policy == NULL ? "no_policy" : cs_policy_reason_name(d.reason), resp);
        cs_broker_policy_put(b, p);
        return;
    }
    uint8_t digest[32];
    char hex[65];
    (void)cs_ok(cs_sha256((struct cs_cur){ .p = req->body, .left = req->body_len }, digest));
    (void)cs_ok(cs_hex_encode(digest, sizeof digest, hex, sizeof hex));

    pthread_mutex_lock(&b->state_mu); /* check, log, store: one version at a time */
    struct cs_blob cur = { 0 };
    int64_t version = 0;
    int64_t cur_index = 0;
    r = cs_bstore_state_get(b->store, object, &cur, &version, &cur_index);
    cs_blob_clear(&cur);
    if (r.code == CS_E_NOT_FOUND) {
        version = 0;
        r = CS_SUCCESS;
    }
    uint64_t index = 0;
    bool is_stale = cs_ok(r) && version != expected;
    if (cs_ok(r) && !is_stale) {
        r = cs_broker_audit(
            b,
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:o}", "type",
                      "state", "op", "put", "session", c->ref, "object", object, "version",
                      (json_int_t)(expected + 1), "ciphertext_sha256", hex, "evidence_sha256",
                      c->s.evidence_sha256, "tee_key", c->thumb, "attest_index",
                      (json_int_t)c->s.attest_index, "pop_counter", (json_int_t)counter,
                      "identity", d.identity, "policy", policy_of(p)),
            &index);
        if (cs_ok(r)) {
            r = cs_bstore_state_put(b->store, object, expected, req->body, req->body_len,
                                    (int64_t)index);
        }
    }
    pthread_mutex_unlock(&b->state_mu);
    cs_broker_policy_put(b, p);
    if (is_stale) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)version);
        (void)cs_ok(cs_http_resp_header(resp, "X-Custos-Version", v));
        cs_broker_error(resp, 412, "PreconditionFailed", "the object is at another version");
        return;
    }
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "state", "put failed: %s", custos_code_name(r.code));
        cs_broker_error(resp, 500, "InternalError", "cannot store the state");
        return;
    }
    cs_broker_json(resp, 200,
                   json_pack("{s:s, s:I, s:I}", "object", object, "version",
                             (json_int_t)(expected + 1), "log_index", (json_int_t)index));
}

static json_t *hex_array(const uint8_t *proof, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char hex[2 * H + 1];
        if (!cs_ok(cs_hex_encode(proof + i * H, H, hex, sizeof hex))
            || json_array_append_new(arr, json_string(hex)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static cs_res b64_of(const uint8_t *p, size_t n, char **out)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    CS_TRY(cs_alloc(1, cap, (void **)out));
    return cs_b64_encode(p, n, *out, cap);
}

static void state_get(struct cs_broker *b, const char *object, struct caller *c,
                      struct cs_http_resp *resp)
{
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    struct cs_policy_decision d = { 0 };
    if (!allowed(b, p, c->input, "state:read", object, &d)) {
        deny_state(b, c, p, "state:read", object,
                   p->policy == NULL ? "no_policy" : cs_policy_reason_name(d.reason), resp);
        cs_broker_policy_put(b, p);
        return;
    }
    cs_broker_policy_put(b, p);
    struct cs_blob blob = { 0 };
    int64_t version = 0;
    int64_t index = 0;
    cs_res r = cs_bstore_state_get(b->store, object, &blob, &version, &index);
    if (r.code == CS_E_NOT_FOUND) {
        cs_broker_error(resp, 404, "NotFound", "no such state object");
        return;
    }
    char note[CS_LOG_NOTE_MAX];
    size_t note_len = 0;
    uint64_t size = 0;
    struct cs_blob rec = { 0 };
    uint8_t leaf[H];
    uint8_t root[H];
    uint8_t proof[CS_MERKLE_PROOF_MAX * H];
    size_t n_proof = 0;
    CS_AUTO(cs_freep) char *ct64 = NULL;
    if (cs_ok(r)) {
        r = cs_log_checkpoint(b->log, &b->log_signer, note, sizeof note, &note_len, &size);
    }
    if (cs_ok(r)) {
        r = cs_log_entry(b->log, (uint64_t)index, &rec);
    }
    if (cs_ok(r)) {
        r = cs_log_prove_inclusion(b->log, (uint64_t)index, size, leaf, root, proof, &n_proof);
    }
    if (cs_ok(r)) {
        r = b64_of(blob.p, blob.len, &ct64);
    }
    json_t *body = NULL;
    if (cs_ok(r)) {
        body = json_pack("{s:s, s:I, s:s, s:I, s:s#, s:{s:I, s:I, s:o}, s:s#}", "object", object,
                         "version", (json_int_t)version, "ciphertext", ct64, "log_index",
                         (json_int_t)index, "record", (const char *)rec.p, rec.len, "proof",
                         "index", (json_int_t)index, "size", (json_int_t)size, "hashes",
                         hex_array(proof, n_proof), "checkpoint", note, note_len);
    }
    cs_blob_clear(&blob);
    cs_blob_clear(&rec);
    if (body == NULL) {
        cs_broker_error(resp, 500, "InternalError", "cannot read the state");
        return;
    }
    cs_broker_json(resp, 200, body);
}

void cs_state_route(struct cs_broker *b, const struct cs_http_req *req, const char *object,
                    struct cs_http_resp *resp)
{
    bool is_put = strcmp(req->method, "PUT") == 0;
    if (!is_put && strcmp(req->method, "GET") != 0) {
        cs_broker_error(resp, 405, "InvalidRequest", "method not allowed");
        return;
    }
    struct caller c = { 0 };
    if (!cs_ok(load_caller(b, req, cs_time_now(), &c))) {
        caller_clear(&c);
        cs_broker_error(resp, 401, "UnAuthenticated", "an attested session is required");
        return;
    }
    if (!cs_broker_resource_allowed(b, c.ref)) {
        caller_clear(&c);
        cs_broker_error(resp, 429, "TooManyRequests", "too many requests");
        return;
    }
    if (!is_object_name(object)) {
        caller_clear(&c);
        cs_broker_error(resp, 400, "InvalidRequest", "object names are [A-Za-z0-9._-]{1,128}");
        return;
    }
    if (is_put) {
        state_put(b, req, object, &c, resp);
    } else {
        state_get(b, object, &c, resp);
    }
    caller_clear(&c);
}

/* POST /custos/v1/token {"audience": NAME}: a token for a third party (DESIGN 3.4). */
void cs_token_route(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp)
{
    int64_t now = cs_time_now();
    struct caller c = { 0 };
    CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
    const char *aud = NULL;
    int64_t counter = 0;
    cs_res r = load_caller(b, req, now, &c);
    if (!cs_ok(r)) {
        caller_clear(&c);
        cs_broker_error(resp, 401, "UnAuthenticated", "an attested session is required");
        return;
    }
    r = cs_json_load((struct cs_cur){ .p = req->body, .left = req->body_len }, 4096, &doc);
    if (cs_ok(r)) {
        r = cs_json_get_str(doc, "audience", 128, &aud, NULL);
    }
    if (!cs_ok(r) || !is_object_name(aud)) {
        caller_clear(&c);
        cs_broker_error(resp, 400, "InvalidRequest", "expected {\"audience\": name}");
        return;
    }
    if (!cs_ok(check_pop(b, req, &c, now, &counter))) {
        caller_clear(&c);
        cs_broker_error(resp, 401, "UnAuthenticated", "invalid proof of possession");
        return;
    }
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    struct cs_policy_decision d = { 0 };
    if (!allowed(b, p, c.input, "token:issue", aud, &d)) {
        deny_state(b, &c, p, "token:issue", aud,
                   p->policy == NULL ? "no_policy" : cs_policy_reason_name(d.reason), resp);
        cs_broker_policy_put(b, p);
        caller_clear(&c);
        return;
    }
    uint8_t raw[16];
    char jti[33] = "";
    uint64_t index = 0;
    r = cs_random(raw, sizeof raw);
    if (cs_ok(r)) {
        r = cs_hex_encode(raw, sizeof raw, jti, sizeof jti);
    }
    if (cs_ok(r)) {
        r = cs_broker_audit(b,
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o}", "type", "token",
                                      "session", c.ref, "audience", aud, "jti", jti, "identity",
                                      d.identity, "attest_index", (json_int_t)c.s.attest_index,
                                      "tee_key", c.thumb, "policy", policy_of(p)),
                            &index);
    }
    cs_broker_policy_put(b, p);
    CS_AUTO(cs_json_decrefp) json_t *jwk = NULL;
    CS_AUTO(cs_freep) char *tok = NULL;
    if (cs_ok(r)) {
        r = cs_json_load((struct cs_cur){ .p = (const uint8_t *)c.s.tee_pubkey,
                                          .left = strlen(c.s.tee_pubkey) },
                         CS_TEE_JWK_MAX, &jwk);
    }
    if (cs_ok(r)) {
        CS_AUTO(cs_json_decrefp) json_t *claims = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:{s:O}, s:{s:I, s:I, s:b}}", "iss", "custos",
            "aud", aud, "sub", d.identity, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
            (json_int_t)(now + b->cfg.token_ttl), "jti", jti, "cnf", "jwk", jwk, "custos",
            "attest_index", (json_int_t)c.s.attest_index, "log_index", (json_int_t)index,
            "development", b->cfg.dcap_is_development);
        r = claims != NULL ? cs_jwt_sign(b->token_key, claims, &tok)
                           : (cs_res){ .code = CS_E_NOMEM };
    }
    caller_clear(&c);
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "cannot issue the token");
        return;
    }
    cs_broker_json(resp, 200,
                   json_pack("{s:s, s:I}", "token", tok, "log_index", (json_int_t)index));
}
