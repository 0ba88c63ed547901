/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS v0.4.0 routes (docs/api.md):
 *   POST /kbs/v0/auth      {"version","tee","extra-params"} -> {"nonce","extra-params"} + cookie
 *   POST /kbs/v0/attest    {"runtime-data":{"nonce","tee-pubkey"},"tee-evidence",...} -> {"token"}
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag>  -> flattened JWE to the attested TEE key
 * Every decision is appended to the audit log before the response leaves.
 */
#include <string.h>
#include <strings.h>

#include "broker/audit.h"
#include "broker/blog.h"
#include "broker/broker_int.h"
#include "broker/evidence.h"
#include "broker/scache.h"
#include "broker/secrets.h"
#include "broker/token.h"
#include "core/cs_b64.h"
#include "core/cs_hex.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_envelope.h"
#include "crypto/cs_jose.h"
#include "policy/policy.h"
#include "store/broker_store.h"

#define AUTH_BODY_MAX 4096u
#define ATTEST_BODY_MAX (1024u * 1024u)
#define SESSION_ID_LEN 32   /* random bytes of the cookie value */
#define NONCE_LEN 32        /* random bytes of the nonce */
#define COOKIE_NAME "kbs-session-id"

/* The cookie value is a bearer secret: the store and the log only ever see its SHA-256. */
static cs_res session_hash(const char *id, uint8_t out[32])
{
    size_t n = strlen(id);
    CS_ENSURE(n == 43, CS_E_NOT_FOUND); /* base64url of 32 bytes, no padding */
    return cs_sha256((struct cs_cur){ .p = (const uint8_t *)id, .left = n }, out);
}

/* The name by which records refer to a session: hex of the first 16 bytes of its hash. */
static void session_ref(const uint8_t hash[32], char out[33])
{
    (void)cs_ok(cs_hex_encode(hash, 16, out, 33)); /* cannot fail: sizes fixed */
}

static cs_res b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
    CS_TRY(cs_b64_encode(p, n, out, cap));
    size_t len = strlen(out);
    for (size_t i = 0; i < len; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    while (len > 0 && out[len - 1] == '=') {
        out[--len] = '\0';
    }
    return CS_SUCCESS;
}

static const char *tee_platform(const char *tee)
{
    static const char *const known[] = { "tdx", "sgx", "snp" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(tee, known[i]) == 0) {
            return known[i];
        }
    }
    return NULL;
}

static void set_cookie(struct cs_broker *b, struct cs_http_resp *resp, const char *id)
{
    snprintf(resp->set_cookie, sizeof resp->set_cookie,
             COOKIE_NAME "=%s; Path=/kbs; Max-Age=%lld; HttpOnly; SameSite=Strict%s", id,
             (long long)b->cfg.session_ttl, b->is_tls ? "; Secure" : "");
}

/* ---- POST /kbs/v0/auth ------------------------------------------------------------ */

static cs_res parse_auth(const struct cs_http_req *req, const char **tee, json_t **doc)
{
    CS_ENSURE(req->body_len <= AUTH_BODY_MAX, CS_E_TOO_LARGE);
    CS_TRY(cs_json_load((struct cs_cur){ .p = req->body, .left = req->body_len }, AUTH_BODY_MAX,
                        doc));
    const char *version = NULL;
    CS_TRY(cs_json_get_str(*doc, "version", 16, &version, NULL));
    /* 0.4.x: the attestation body carries runtime-data (older versions do not) */
    CS_ENSURE(strncmp(version, "0.4.", 4) == 0, CS_E_UNSUPPORTED);
    const char *t = NULL;
    CS_TRY(cs_json_get_str(*doc, "tee", 16, &t, NULL));
    *tee = tee_platform(t);
    CS_ENSURE(*tee != NULL, CS_E_UNSUPPORTED);
    return CS_SUCCESS;
}

void cs_kbs_auth(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp)
{
    if (!cs_broker_auth_allowed(b, req->peer)) {
        cs_metrics_denial(b->metrics, "rate_limited");
        cs_broker_error(resp, 429, "TooManyRequests", "too many authentication requests");
        return;
    }
    CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
    const char *tee = NULL;
    cs_res r = parse_auth(req, &tee, &doc);
    if (!cs_ok(r)) {
        cs_broker_error(resp, r.code == CS_E_TOO_LARGE ? 413 : 400, "InvalidRequest",
                        r.code == CS_E_UNSUPPORTED   ? "unsupported protocol version or tee"
                        : r.code == CS_E_TOO_LARGE ? "request body too large"
                                                   : "malformed request");
        return;
    }

    uint8_t raw[SESSION_ID_LEN + NONCE_LEN];
    char id[64];
    struct cs_session s = { 0 };
    int64_t now = cs_time_now();
    r = cs_random(raw, sizeof raw);
    if (cs_ok(r)) {
        r = b64url(raw, SESSION_ID_LEN, id, sizeof id);
    }
    if (cs_ok(r)) {
        r = cs_b64_encode(raw + SESSION_ID_LEN, NONCE_LEN, s.nonce, sizeof s.nonce);
    }
    cs_wipe(raw, sizeof raw);
    if (cs_ok(r)) {
        r = session_hash(id, s.id_hash);
    }
    if (cs_ok(r)) {
        snprintf(s.tee, sizeof s.tee, "%s", tee);
        s.created = now;
        s.expires = now + b->cfg.session_ttl;
        s.state = CS_SESSION_CHALLENGED;
        s.attest_index = -1;
        r = cs_bstore_session_create(b->store, &s);
    }
    char ref[33] = "";
    if (cs_ok(r)) {
        session_ref(s.id_hash, ref);
        uint64_t index = 0;
        r = cs_broker_audit(b,
                            json_pack("{s:s, s:s, s:s, s:s}", "type", "auth", "session", ref,
                                      "tee", tee, "outcome", "challenge"),
                            &index);
    }
    if (!cs_ok(r)) {
        cs_wipe(id, sizeof id);
        cs_broker_error(resp, 500, "InternalError", "cannot open a session");
        return;
    }
    set_cookie(b, resp, id);
    cs_wipe(id, sizeof id);
    cs_broker_json(resp, 200, json_pack("{s:s, s:s}", "nonce", s.nonce, "extra-params", ""));
}

/* ---- session lookup --------------------------------------------------------------- */

/* The session named by the request's cookie, unexpired. */
CS_RESULT cs_broker_session_of(struct cs_broker *b, const struct cs_http_req *req, int64_t now,
                               struct cs_session *s)
{
    char id[64];
    CS_TRY(cs_http_cookie(req->cookie, COOKIE_NAME, id, sizeof id));
    cs_res r = session_hash(id, s->id_hash);
    cs_wipe(id, sizeof id);
    CS_TRY(r);
    return cs_bstore_session_get(b->store, s->id_hash, now, s);
}

/* ---- POST /kbs/v0/attest ---------------------------------------------------------- */

struct attest {
    json_t *doc;            /* the request body */
    const char *nonce;      /* runtime-data.nonce (borrowed from doc) */
    json_t *tee_pubkey;     /* runtime-data.tee-pubkey (borrowed) */
    struct cs_tee_key *key;
    char thumb[44];
    struct cs_evidence ev;  /* the verification outcome */
    json_t *input;          /* the policy input */
    json_t *identities;
    char why_class[32];     /* the class of the first failure, for the record and the body */
    char jti[33];           /* the token's id, named in the admitted record */
};

static void attest_clear(struct attest *a)
{
    json_decref(a->doc);
    cs_tee_key_free(a->key);
    cs_evidence_clear(&a->ev);
    json_decref(a->input);
    json_decref(a->identities);
}

/* Request shape, nonce and TEE key; the failure maps to a status and a fixed detail. */
static cs_res attest_parse(const struct cs_http_req *req, const struct cs_session *s,
                           struct attest *a, unsigned *status, const char **detail)
{
    *status = 400;
    *detail = "malformed attestation request";
    if (req->body_len > ATTEST_BODY_MAX) {
        *status = 413;
        *detail = "attestation request too large";
        CS_FAIL(CS_E_TOO_LARGE);
    }
    CS_TRY(cs_json_load((struct cs_cur){ .p = req->body, .left = req->body_len },
                        ATTEST_BODY_MAX, &a->doc));
    json_t *rd = NULL;
    CS_TRY(cs_json_get_obj(a->doc, "runtime-data", &rd));
    CS_TRY(cs_json_get_str(rd, "nonce", 128, &a->nonce, NULL));
    CS_TRY(cs_json_get_obj(rd, "tee-pubkey", &a->tee_pubkey));
    CS_ENSURE(json_object_get(a->doc, "tee-evidence") != NULL, CS_E_FORMAT);
    *status = 401;
    *detail = "nonce does not belong to this session";
    size_t n = strlen(a->nonce);
    CS_ENSURE(n == strlen(s->nonce) && cs_ct_equal(a->nonce, s->nonce, n), CS_E_BINDING);
    *status = 400;
    *detail = "unsupported or malformed tee-pubkey";
    CS_TRY(cs_tee_key_parse(a->tee_pubkey, &a->key));
    uint8_t raw[32];
    CS_TRY(cs_tee_key_thumbprint(a->key, raw, a->thumb));
    return CS_SUCCESS;
}

static json_t *policy_json(const struct cs_policy_ref *p)
{
    return json_pack("{s:s, s:I, s:s}", "id", p->id, "version", (json_int_t)p->version, "sha256",
                     p->sha256);
}

/* The attest record: what was presented, what it proved, what policy made of it. */
static json_t *attest_record(const struct cs_broker *b, const char *ref,
                             const struct cs_session *s, const struct attest *a,
                             const struct cs_policy_ref *p, const char *outcome)
{
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type", "attest", "session", ref,
                            "tee", s->tee, "outcome", outcome, "evidence_sha256",
                            a->ev.evidence_sha256, "policy", policy_json(p));
    if (rec == NULL) {
        return NULL;
    }
    json_object_set_new(rec, "verified", json_boolean(a->ev.is_verified));
    if (a->why_class[0] != '\0') {
        json_object_set_new(rec, "reason", json_string(a->why_class));
    }
    if (a->ev.claims_sha256[0] != '\0') {
        json_object_set_new(rec, "claims_sha256", json_string(a->ev.claims_sha256));
    }
    if (a->ev.tcb_status[0] != '\0') {
        json_object_set_new(rec, "tcb_status", json_string(a->ev.tcb_status));
    }
    if (a->thumb[0] != '\0') {
        json_object_set_new(rec, "tee_key", json_string(a->thumb));
    }
    if (a->jti[0] != '\0') {
        json_object_set_new(rec, "token_jti", json_string(a->jti));
    }
    if (a->identities != NULL) {
        json_object_set(rec, "identities", a->identities);
    }
    bool is_dcap = strcmp(s->tee, "tdx") == 0 || strcmp(s->tee, "sgx") == 0;
    if (is_dcap && b->dcap_collateral_sha256[0] != '\0') {
        json_object_set_new(rec, "collateral_sha256", json_string(b->dcap_collateral_sha256));
    }
    return rec;
}

static void attest_fail(struct cs_broker *b, const char *ref, const struct cs_session *s,
                        struct attest *a, const struct cs_policy_ref *p, const char *outcome,
                        unsigned status, const char *type, const char *detail,
                        struct cs_http_resp *resp)
{
    /* a failed attempt burns the session: its nonce can never be tried again */
    (void)cs_ok(cs_bstore_session_delete(b->store, s->id_hash));
    cs_res r = CS_SUCCESS;
    if (a->ev.is_verified && a->ev.evidence != NULL) {
        /* genuine evidence that policy refused: kept for re-verification like admitted ones
         * (evidence that does not verify is not archived: anyone could fill the archive) */
        r = cs_bstore_archive_put(b->store, "evidence", a->ev.evidence_digest, a->ev.evidence,
                                  a->ev.evidence_len);
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = cs_broker_audit(b, attest_record(b, ref, s, a, p, outcome), &index);
    }
    cs_metrics_denial(b->metrics, outcome);
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
        return;
    }
    cs_broker_error(resp, status, type, detail);
}

void cs_kbs_attest(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp)
{
    int64_t now = cs_time_now();
    struct cs_session s = { 0 };
    if (!cs_ok(cs_broker_session_of(b, req, now, &s))) {
        cs_broker_error(resp, 401, "UnAuthenticated", "missing or expired session");
        return;
    }
    char ref[33];
    session_ref(s.id_hash, ref);
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    struct attest a = { 0 };
    unsigned status = 400;
    const char *detail = NULL;
    /* declared before the first goto: cleanup variables must be initialised on every path */
    struct cs_policy_decision d = { 0 };
    uint64_t index = 0;
    struct cs_session_attestation at = { 0 };
    CS_AUTO(cs_freep) char *pub = NULL;
    CS_AUTO(cs_freep) char *input = NULL;
    CS_AUTO(cs_freep) char *ids = NULL;
    CS_AUTO(cs_freep) char *token = NULL;

    if (s.state != CS_SESSION_CHALLENGED) {
        /* logged, but the attested session stays: a replay must not log its owner out */
        (void)cs_ok(cs_broker_audit(b, attest_record(b, ref, &s, &a, p, "replayed"), &index));
        cs_metrics_denial(b->metrics, "replayed");
        cs_broker_error(resp, 401, "UnAuthenticated", "session already attested");
        goto out;
    }
    cs_res r = attest_parse(req, &s, &a, &status, &detail);
    if (!cs_ok(r)) {
        snprintf(a.why_class, sizeof a.why_class, "%s", custos_code_class(r.code));
        attest_fail(b, ref, &s, &a, p, "rejected", status,
                    status == 401 ? "AttestationFailed" : "InvalidRequest", detail, resp);
        goto out;
    }

    /* verify the evidence and its binding to this nonce and this TEE key */
    r = cs_evidence_verify(b, s.tee, a.doc, a.nonce, a.tee_pubkey, now, &a.ev);
    if (!cs_ok(r) || !a.ev.is_verified) {
        snprintf(a.why_class, sizeof a.why_class, "%s",
                 custos_code_class(cs_ok(r) ? a.ev.code : r.code));
        cs_metrics_verdict(b->metrics, s.tee, a.why_class);
        attest_fail(b, ref, &s, &a, p, "rejected", cs_ok(r) || r.code != CS_E_FORMAT ? 401 : 400,
                    "AttestationFailed", "evidence rejected", resp);
        goto out;
    }
    cs_metrics_verdict(b->metrics, s.tee,
                       a.ev.tcb_status[0] != '\0' ? a.ev.tcb_status : "verified");

    /* admission */
    r = cs_evidence_input(&a.ev, b->cfg.dcap_is_development, &a.input);
    if (cs_ok(r) && p->policy != NULL) {
        r = cs_policy_admit(p->policy, a.input, p->refvals, &a.identities, &d);
    }
    if (!cs_ok(r) || p->policy == NULL || !d.allow) {
        snprintf(a.why_class, sizeof a.why_class, "%s",
                 p->policy == NULL ? "no_policy" : cs_policy_reason_name(d.reason));
        attest_fail(b, ref, &s, &a, p, "denied", 403, "PolicyDeny", "not admitted by policy",
                    resp);
        goto out;
    }

    /*
     * Consume the nonce first (the store's atomic step: of concurrent attests with this
     * nonce exactly one gets here), then log the admission, then bind the session to that
     * record. A session whose record could not be logged has no index and releases nothing.
     */
    r = cs_bstore_archive_put(b->store, "evidence", a.ev.evidence_digest, a.ev.evidence,
                              a.ev.evidence_len);
    if (cs_ok(r)) {
        pub = json_dumps(a.tee_pubkey, JSON_COMPACT | JSON_SORT_KEYS);
        input = json_dumps(a.input, JSON_COMPACT | JSON_SORT_KEYS);
        ids = json_dumps(a.identities, JSON_COMPACT);
        r = pub != NULL && input != NULL && ids != NULL ? CS_SUCCESS
                                                        : (cs_res){ .code = CS_E_NOMEM };
    }
    if (cs_ok(r)) {
        at.tee_pubkey = pub;
        at.input = input;
        at.identities = ids;
        at.evidence_sha256 = a.ev.evidence_sha256;
        at.attest_index = -1;
        at.policy_version = p->version;
        at.expires = now + b->cfg.token_ttl; /* an attested session lives as long as a token */
        r = cs_bstore_session_attest(b->store, s.id_hash, a.nonce, now, &at);
        if (r.code == CS_E_CONFLICT || r.code == CS_E_NOT_FOUND || r.code == CS_E_BINDING) {
            /* a concurrent attest with the same nonce won; the winner's session stays */
            snprintf(a.why_class, sizeof a.why_class, "nonce_used");
            (void)cs_ok(cs_broker_audit(b, attest_record(b, ref, &s, &a, p, "replayed"),
                                        &index));
            cs_broker_error(resp, 401, "UnAuthenticated", "nonce already used");
            goto out;
        }
    }
    uint8_t jti_raw[16];
    if (cs_ok(r)) {
        r = cs_random(jti_raw, sizeof jti_raw);
    }
    if (cs_ok(r)) {
        r = cs_hex_encode(jti_raw, sizeof jti_raw, a.jti, sizeof a.jti);
    }
    if (cs_ok(r)) {
        r = cs_broker_audit(b, attest_record(b, ref, &s, &a, p, "admitted"), &index);
    }
    if (cs_ok(r)) {
        r = cs_bstore_session_set_index(b->store, s.id_hash, (int64_t)index);
    }
    if (cs_ok(r)) {
        struct cs_token_subject ts = {
            .jti = a.jti,
            .platform = s.tee,
            .tcb_status = a.ev.tcb_status,
            .is_debug = a.ev.is_debug,
            .is_development = b->cfg.dcap_is_development,
            .input = a.input,
            .identities = a.identities,
            .tee_pubkey = a.tee_pubkey,
            .attest_index = (int64_t)index,
            .policy_id = p->id,
            .policy_version = p->version,
            .policy_sha256 = p->sha256,
        };
        r = cs_token_issue(b->token_key, &ts, now, b->cfg.token_ttl, &token);
    }
    if (!cs_ok(r)) {
        (void)cs_ok(cs_bstore_session_delete(b->store, s.id_hash));
        cs_blog(CS_BLOG_ERROR, "attest", "cannot complete an admitted attestation: %s",
                custos_code_name(r.code));
        cs_broker_error(resp, 500, "InternalError", "cannot complete the attestation");
        goto out;
    }
    /* the hot path of resource requests: no store read, no JSON or key parsing */
    (void)cs_ok(cs_scache_put(b->scache, s.id_hash, at.expires, (int64_t)index,
                              json_incref(a.input), CS_MOVE(a.key)));
    char idx[24];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)index);
    (void)cs_ok(cs_http_resp_header(resp, "X-Custos-Log-Index", idx));
    cs_broker_json(resp, 200, json_pack("{s:s}", "token", token));
out:
    attest_clear(&a);
    cs_session_clear(&s);
    cs_broker_policy_put(b, p);
}

/* ---- GET /kbs/v0/resource/<repo>/<type>/<tag> --------------------------------------- */

/* Who asks: from the session cookie, or from a token (passport mode). */
struct requester {
    char ref[48];       /* session reference, or "token:<jti>" */
    json_t *input;
    json_t *tee_pubkey; /* when the session came from the store or a token */
    struct cs_sess *sess; /* when it came from the cache: holds the parsed key */
    int64_t attest_index;
};

static void requester_clear(struct cs_broker *b, struct requester *q)
{
    json_decref(q->input);
    json_decref(q->tee_pubkey);
    cs_scache_release(b->scache, q->sess);
}

static cs_res load_json_text(const char *text, json_t **out)
{
    CS_ENSURE(text != NULL, CS_E_NOT_FOUND);
    return cs_json_load((struct cs_cur){ .p = (const uint8_t *)text, .left = strlen(text) },
                        ATTEST_BODY_MAX, out);
}

static cs_res requester_from_request(struct cs_broker *b, const struct cs_http_req *req,
                                     int64_t now, struct requester *q)
{
    if (req->authorization != NULL && strncasecmp(req->authorization, "Bearer ", 7) == 0) {
        const char *jwt = req->authorization + 7;
        return cs_token_accept(b->token_key, jwt, now, q->ref, sizeof q->ref, &q->input,
                               &q->tee_pubkey, &q->attest_index);
    }
    char id[64];
    uint8_t id_hash[32];
    CS_TRY(cs_http_cookie(req->cookie, COOKIE_NAME, id, sizeof id));
    cs_res hr = session_hash(id, id_hash);
    cs_wipe(id, sizeof id);
    CS_TRY(hr);
    q->sess = cs_scache_get(b->scache, id_hash, now);
    if (q->sess != NULL) {
        session_ref(id_hash, q->ref);
        q->attest_index = q->sess->attest_index;
        q->input = json_incref(q->sess->input);
        return CS_SUCCESS;
    }
    struct cs_session s = { 0 };
    cs_res r = cs_broker_session_of(b, req, now, &s);
    if (cs_ok(r) && (s.state != CS_SESSION_ATTESTED || s.attest_index < 0)) {
        r = (cs_res){ .code = CS_E_NOT_FOUND };
    }
    if (cs_ok(r)) {
        session_ref(s.id_hash, q->ref);
        q->attest_index = s.attest_index;
        r = load_json_text(s.input, &q->input);
    }
    if (cs_ok(r)) {
        r = load_json_text(s.tee_pubkey, &q->tee_pubkey);
    }
    cs_session_clear(&s);
    return r;
}

static void deny(struct cs_broker *b, const struct requester *q, const struct cs_policy_ref *p,
                 const char *resource, const char *reason, const char *rule,
                 struct cs_http_resp *resp)
{
    uint64_t index = 0;
    cs_res r = cs_broker_audit(b,
                               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "type",
                                         "deny", "session", q->ref, "action", "resource:read",
                                         "resource", resource, "reason", reason, "rule", rule,
                                         "attest_index", (json_int_t)q->attest_index, "policy",
                                         policy_json(p)),
                               &index);
    cs_metrics_denial(b->metrics, reason);
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
        return;
    }
    if (strcmp(reason, "not_found") == 0) {
        cs_broker_error(resp, 404, "ResourceNotFound", "no such resource");
        return;
    }
    /* one body for every denial: nothing tells which rule or condition failed */
    cs_broker_error(resp, 403, "PolicyDeny", "denied by policy");
}

static cs_res release(struct cs_broker *b, const struct requester *q,
                      const struct cs_policy_ref *p, const char *name,
                      const struct cs_policy_decision *d, struct cs_http_resp *resp)
{
    struct cs_blob blob = { 0 };
    int64_t version = 0;
    CS_TRY(cs_bstore_resource_get(b->store, name, &blob, &version));
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    cs_res ro = cs_resource_open(b->kek, name, version, blob.p, blob.len, &pt, &pt_len);
    cs_blob_clear(&blob);
    CS_TRY(ro);
    struct cs_tee_key *parsed = NULL;
    cs_res r = q->sess != NULL ? CS_SUCCESS : cs_tee_key_parse(q->tee_pubkey, &parsed);
    const struct cs_tee_key *key = q->sess != NULL ? q->sess->key : parsed;
    uint8_t thumb_raw[32];
    char thumb[44] = "";
    if (cs_ok(r)) {
        r = cs_tee_key_thumbprint(key, thumb_raw, thumb);
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = cs_broker_audit(b,
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:o}", "type",
                                      "release", "session", q->ref, "resource", name,
                                      "resource_version", (json_int_t)version, "attest_index",
                                      (json_int_t)q->attest_index, "identity", d->identity,
                                      "rule", d->rule, "tee_key", thumb, "policy",
                                      policy_json(p)),
                            &index);
    }
    CS_AUTO(cs_freep) char *jwe = NULL;
    if (cs_ok(r)) {
        r = cs_jwe_encrypt(key, NULL, pt, pt_len, &jwe);
    }
    cs_free_wipe(pt, pt_len);
    cs_tee_key_free(parsed);
    CS_TRY(r);
    char idx[24];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)index);
    CS_TRY(cs_http_resp_header(resp, "X-Custos-Log-Index", idx));
    resp->status = 200;
    resp->content_type = "application/json";
    cs_metrics_release(b->metrics);
    return cs_buf_str(&resp->body, jwe);
}

void cs_kbs_resource(struct cs_broker *b, const struct cs_http_req *req, const char *name,
                     struct cs_http_resp *resp)
{
    int64_t now = cs_time_now();
    struct requester q = { .attest_index = -1 };
    if (!cs_ok(requester_from_request(b, req, now, &q))) {
        requester_clear(b, &q);
        cs_broker_error(resp, 401, "UnAuthenticated", "missing or expired session or token");
        return;
    }
    if (!cs_broker_resource_allowed(b, q.ref)) {
        requester_clear(b, &q);
        cs_metrics_denial(b->metrics, "rate_limited");
        cs_broker_error(resp, 429, "TooManyRequests", "too many resource requests");
        return;
    }
    if (!cs_broker_is_resource_name(name)) {
        requester_clear(b, &q);
        cs_broker_error(resp, 400, "InvalidRequest", "resource names are repo/type/tag");
        return;
    }
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    struct cs_policy_decision d = { 0 };
    cs_res r = p->policy != NULL ? cs_policy_decide(p->policy, q.input, p->refvals,
                                                    "resource:read", name, &d)
                                 : (cs_res){ .code = CS_E_POLICY };
    if (!cs_ok(r) || !d.allow) {
        /* a failure to evaluate (malformed reference values) denies like a rule would */
        const char *reason = p->policy == NULL ? "no_policy"
                             : !cs_ok(r)        ? "policy_error"
                                                : cs_policy_reason_name(d.reason);
        deny(b, &q, p, name, reason, d.rule, resp);
    } else {
        r = release(b, &q, p, name, &d, resp);
        if (r.code == CS_E_NOT_FOUND) {
            cs_http_resp_clear(resp);
            deny(b, &q, p, name, "not_found", d.rule, resp);
        } else if (!cs_ok(r)) {
            cs_blog(CS_BLOG_ERROR, "release", "release failed: %s", custos_code_name(r.code));
            cs_http_resp_clear(resp);
            cs_broker_error(resp, 500, "InternalError", "cannot release the resource");
        }
    }
    requester_clear(b, &q);
    cs_broker_policy_put(b, p);
}
