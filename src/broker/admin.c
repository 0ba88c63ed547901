/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API under /custos/v1/admin/ (docs/api.md). Bearer tokens are checked against
 * the SHA-256 hashes of the configuration, in constant time; role "auditor" may only read.
 * Every change is an "admin" audit record; secret values never appear in one (not even
 * their digest, which would let anyone test guesses of a low-entropy secret).
 */
#include <string.h>
#include <strings.h>

#include "broker/blog.h"
#include "broker/broker_int.h"
#include "broker/secrets.h"
#include "core/cs_hex.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_envelope.h"
#include "policy/policy.h"
#include "store/broker_store.h"

#define REFVALS_BODY_MAX (1024u * 1024u)
#define SESSIONS_LIST_MAX 1000

static const struct cs_admin_token *authenticate(struct cs_broker *b,
                                                 const struct cs_http_req *req)
{
    const char *h = req->authorization;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    const char *tok = h + 7;
    size_t n = strnlen(tok, 513);
    uint8_t digest[32];
    if (n == 0 || n > 512
        || !cs_ok(cs_sha256((struct cs_cur){ .p = (const uint8_t *)tok, .left = n }, digest))) {
        return NULL;
    }
    const struct cs_admin_token *found = NULL;
    for (size_t i = 0; i < b->cfg.n_admin; i++) { /* no early exit: time independent of which */
        if (cs_ct_equal(digest, b->cfg.admin[i].sha256, sizeof digest) && found == NULL) {
            found = &b->cfg.admin[i];
        }
    }
    return found;
}

/*
 * Admin changes are logged BEFORE they are applied, one at a time (admin_mu): a record of
 * a change that then fails is followed by an "outcome": "failed" record, while a change
 * that no record announces cannot exist.
 */
static cs_res log_admin(struct cs_broker *b, const struct cs_admin_token *who, const char *op,
                        const char *target, json_t *extra, uint64_t *index)
{
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "admin", "actor", who->name, "op",
                            op, "target", target);
    if (rec != NULL && extra != NULL) {
        json_object_update(rec, extra);
    }
    json_decref(extra);
    return cs_broker_audit(b, rec, index);
}

static void admin_failed(struct cs_broker *b, const struct cs_admin_token *who, const char *op,
                         const char *target, uint64_t announced, struct cs_http_resp *resp,
                         const char *detail)
{
    uint64_t index = 0;
    (void)cs_ok(log_admin(b, who, op, target,
                          json_pack("{s:s, s:I}", "outcome", "failed", "announced",
                                    (json_int_t)announced),
                          &index));
    cs_broker_error(resp, 500, "InternalError", detail);
}

static void admin_done(struct cs_http_resp *resp, uint64_t index, json_t *body)
{
    json_object_set_new(body, "log_index", json_integer((json_int_t)index));
    cs_broker_json(resp, 200, body);
}

static void resource_set(struct cs_broker *b, const struct cs_admin_token *who, const char *name,
                         const struct cs_http_req *req, struct cs_http_resp *resp)
{
    if (req->body_len == 0 || req->body_len > CS_ENVELOPE_PT_MAX) {
        cs_broker_error(resp, req->body_len == 0 ? 400 : 413, "InvalidRequest",
                        "resource value must be 1 byte to 1 MiB");
        return;
    }
    int64_t version = 0;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    cs_res r = cs_bstore_resource_version(b->store, name, &version);
    version++;
    if (cs_ok(r)) {
        r = cs_resource_seal(b->kek, name, version, req->body, req->body_len, &blob, &blob_len);
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = log_admin(b, who, "resource.set", name,
                      json_pack("{s:I}", "version", (json_int_t)version), &index);
        if (!cs_ok(r)) {
            cs_free(blob);
            cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
            return;
        }
        int64_t stored = version; /* exactly the version sealed for and announced */
        r = cs_bstore_resource_put(b->store, name, blob, blob_len, &stored);
        cs_free(blob);
        if (!cs_ok(r)) {
            admin_failed(b, who, "resource.set", name, index, resp, "cannot store the resource");
            return;
        }
    }
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "cannot store the resource");
        return;
    }
    admin_done(resp, index, json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)version));
}

static void resource_delete(struct cs_broker *b, const struct cs_admin_token *who,
                            const char *name, struct cs_http_resp *resp)
{
    int64_t version = 0;
    struct cs_blob blob = { 0 };
    cs_res r = cs_bstore_resource_get(b->store, name, &blob, &version);
    cs_blob_clear(&blob);
    if (r.code == CS_E_NOT_FOUND) {
        cs_broker_error(resp, 404, "ResourceNotFound", "no such resource");
        return;
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = log_admin(b, who, "resource.delete", name,
                      json_pack("{s:I}", "version", (json_int_t)version), &index);
    }
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "cannot delete the resource");
        return;
    }
    r = cs_bstore_resource_delete(b->store, name);
    if (!cs_ok(r)) {
        admin_failed(b, who, "resource.delete", name, index, resp, "cannot delete the resource");
        return;
    }
    admin_done(resp, index, json_pack("{s:s}", "name", name));
}

static cs_res list_one(void *arg, const char *name, int64_t version)
{
    json_t *arr = arg;
    json_t *o = json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)version);
    CS_ENSURE(o != NULL && json_array_append_new(arr, o) == 0, CS_E_NOMEM);
    return CS_SUCCESS;
}

static void resource_list(struct cs_broker *b, struct cs_http_resp *resp)
{
    json_t *arr = json_array();
    if (arr == NULL || !cs_ok(cs_bstore_resource_list(b->store, list_one, arr))) {
        json_decref(arr);
        cs_broker_error(resp, 500, "InternalError", "cannot list resources");
        return;
    }
    cs_broker_json(resp, 200, json_pack("{s:o}", "resources", arr));
}

static void policy_set(struct cs_broker *b, const struct cs_admin_token *who,
                       const struct cs_http_req *req, struct cs_http_resp *resp)
{
    char err[CS_POLICY_ERR_MAX] = "";
    struct cs_policy *p = NULL;
    cs_res r = cs_policy_parse((const char *)req->body, req->body_len, &p, err, sizeof err);
    if (!cs_ok(r)) {
        /* the admin wrote it: the lint message is theirs to see */
        cs_broker_json(resp, r.code == CS_E_TOO_LARGE ? 413 : 400,
                       json_pack("{s:s, s:s}", "type",
                                 "https://github.com/confidential-containers/kbs/errors/"
                                 "InvalidPolicy",
                                 "detail", err));
        return;
    }
    char id[64];
    snprintf(id, sizeof id, "%s", cs_policy_id(p));
    cs_policy_free(p);
    uint8_t digest[32];
    char hex[65];
    struct cs_blob cur = { 0 };
    int64_t version = 0;
    r = cs_bstore_policy_current(b->store, &cur, &version, NULL);
    cs_blob_clear(&cur);
    if (r.code == CS_E_NOT_FOUND) {
        r = CS_SUCCESS;
    }
    version++; /* admin changes are serialised: this is the version the store assigns */
    if (cs_ok(r)) {
        r = cs_sha256((struct cs_cur){ .p = req->body, .left = req->body_len }, digest);
    }
    if (cs_ok(r)) {
        r = cs_hex_encode(digest, sizeof digest, hex, sizeof hex);
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = log_admin(b, who, "policy.set", id,
                      json_pack("{s:I, s:s}", "version", (json_int_t)version, "sha256", hex),
                      &index);
    }
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
        return;
    }
    int64_t stored = 0;
    r = cs_bstore_policy_put(b->store, req->body, req->body_len, digest, &stored);
    if (cs_ok(r) && stored != version) {
        r = (cs_res){ .code = CS_E_CONFLICT }; /* another broker on the same store */
    }
    if (cs_ok(r)) {
        r = cs_broker_policy_reload(b);
    }
    if (!cs_ok(r)) {
        admin_failed(b, who, "policy.set", id, index, resp, "cannot store the policy");
        return;
    }
    admin_done(resp, index,
               json_pack("{s:s, s:I, s:s}", "id", id, "version", (json_int_t)version, "sha256",
                         hex));
}

static void policy_get(struct cs_broker *b, struct cs_http_resp *resp)
{
    struct cs_blob doc = { 0 };
    int64_t version = 0;
    cs_res r = cs_bstore_policy_current(b->store, &doc, &version, NULL);
    if (r.code == CS_E_NOT_FOUND) {
        cs_broker_error(resp, 404, "NotFound", "no policy is set: nothing is released");
        return;
    }
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    if (!cs_ok(r) || !cs_ok(cs_buf_append(&resp->body, doc.p, doc.len))
        || !cs_ok(cs_http_resp_header(resp, "X-Custos-Policy-Version", v))) {
        cs_blob_clear(&doc);
        cs_broker_error(resp, 500, "InternalError", "cannot read the policy");
        return;
    }
    cs_blob_clear(&doc);
    resp->status = 200;
    resp->content_type = "application/json";
}

/* POST refvals {"set","values":[...],"source"?} (add) or refvals/remove {"set","values"}. */
static void refvals_change(struct cs_broker *b, const struct cs_admin_token *who, bool is_add,
                           const struct cs_http_req *req, struct cs_http_resp *resp)
{
    CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
    const char *set = NULL;
    const char *source = "admin";
    json_t *values = NULL;
    cs_res r = cs_json_load((struct cs_cur){ .p = req->body, .left = req->body_len },
                            REFVALS_BODY_MAX, &doc);
    if (cs_ok(r)) {
        r = cs_json_get_str(doc, "set", CS_BSTORE_REFVAL_SET_MAX, &set, NULL);
    }
    if (cs_ok(r)) {
        r = cs_json_get_arr(doc, "values", 4096, &values);
    }
    if (cs_ok(r) && json_object_get(doc, "source") != NULL) {
        r = cs_json_get_str(doc, "source", CS_BSTORE_SOURCE_MAX, &source, NULL);
    }
    size_t i = 0;
    json_t *v = NULL;
    json_array_foreach(values, i, v)
    {
        if (!cs_ok(r)) {
            break;
        }
        r = json_is_string(v) ? CS_SUCCESS : (cs_res){ .code = CS_E_FORMAT };
    }
    char err[CS_POLICY_ERR_MAX] = "";
    if (cs_ok(r) && is_add) {
        /* the policy engine's own shape check: lower-case hex, lengths, set names */
        json_t *one = json_pack("{s:O}", set, values);
        r = one != NULL ? cs_policy_refvals_check(one, err, sizeof err)
                        : (cs_res){ .code = CS_E_NOMEM };
        json_decref(one);
    }
    if (!cs_ok(r)) {
        cs_broker_json(resp, 400,
                       json_pack("{s:s, s:s}", "type",
                                 "https://github.com/confidential-containers/kbs/errors/"
                                 "InvalidRequest",
                                 "detail",
                                 err[0] != '\0' ? err
                                               : "expected {\"set\": name, \"values\": "
                                                 "[strings], \"source\"?}"));
        return;
    }
    /* the record names the values by digest and count: thousands of SHA-384 values would
     * not fit one log entry, and the digest pins them all */
    struct cs_buf jcs;
    cs_buf_init(&jcs, REFVALS_BODY_MAX);
    uint8_t digest[32];
    char hex[65];
    r = cs_jcs_encode(values, &jcs);
    if (cs_ok(r)) {
        r = cs_sha256((struct cs_cur){ .p = jcs.p, .left = jcs.len }, digest);
    }
    cs_buf_clear(&jcs);
    if (cs_ok(r)) {
        r = cs_hex_encode(digest, sizeof digest, hex, sizeof hex);
    }
    uint64_t index = 0;
    const char *op = is_add ? "refvals.add" : "refvals.remove";
    if (cs_ok(r)) {
        r = log_admin(b, who, op, set,
                      json_pack("{s:I, s:s}", "count", (json_int_t)json_array_size(values),
                                "values_sha256", hex),
                      &index);
    }
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "audit log unavailable");
        return;
    }
    json_array_foreach(values, i, v)
    {
        r = is_add ? cs_bstore_refval_add(b->store, set, json_string_value(v), source)
                   : cs_bstore_refval_remove(b->store, set, json_string_value(v));
        if (!cs_ok(r) && !(r.code == CS_E_NOT_FOUND && !is_add)) {
            break;
        }
        r = CS_SUCCESS;
    }
    if (cs_ok(r)) {
        r = cs_broker_policy_reload(b);
    }
    if (!cs_ok(r)) {
        admin_failed(b, who, op, set, index, resp, "cannot change the reference values");
        return;
    }
    admin_done(resp, index,
               json_pack("{s:s, s:I}", "set", set, "count", (json_int_t)json_array_size(values)));
}

static void refvals_get(struct cs_broker *b, struct cs_http_resp *resp)
{
    json_t *all = NULL;
    if (!cs_ok(cs_bstore_refvals_json(b->store, &all))) {
        cs_broker_error(resp, 500, "InternalError", "cannot read reference values");
        return;
    }
    cs_broker_json(resp, 200, all);
}

static cs_res session_one(void *arg, const struct cs_session_summary *s)
{
    json_t *arr = arg;
    char ref[33];
    CS_TRY(cs_hex_encode(s->id_hash, 16, ref, sizeof ref));
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "session", ref, "tee", s->tee,
                          "state", s->state == CS_SESSION_ATTESTED ? "attested" : "challenged",
                          "created", (json_int_t)s->created, "expires", (json_int_t)s->expires,
                          "attest_index", (json_int_t)s->attest_index);
    CS_ENSURE(o != NULL && json_array_append_new(arr, o) == 0, CS_E_NOMEM);
    return CS_SUCCESS;
}

static void sessions_list(struct cs_broker *b, struct cs_http_resp *resp)
{
    json_t *arr = json_array();
    if (arr == NULL
        || !cs_ok(cs_bstore_session_list(b->store, cs_time_now(), SESSIONS_LIST_MAX, session_one,
                                         arr))) {
        json_decref(arr);
        cs_broker_error(resp, 500, "InternalError", "cannot list sessions");
        return;
    }
    cs_broker_json(resp, 200, json_pack("{s:o}", "sessions", arr));
}

/* GET archive/<kind>/<sha256 hex>: archived evidence or collateral (for re-verification). */
static void archive_get(struct cs_broker *b, const char *rest, struct cs_http_resp *resp)
{
    const char *slash = strchr(rest, '/');
    char kind[32];
    uint8_t digest[32];
    size_t klen = slash != NULL ? (size_t)(slash - rest) : 0;
    if (klen == 0 || klen >= sizeof kind || strlen(slash + 1) != 64
        || !cs_ok(cs_hex_decode(slash + 1, 64, digest, sizeof digest))) {
        cs_broker_error(resp, 400, "InvalidRequest", "archive/<kind>/<sha256>");
        return;
    }
    memcpy(kind, rest, klen);
    kind[klen] = '\0';
    struct cs_blob blob = { 0 };
    cs_res r = cs_bstore_archive_get(b->store, kind, digest, &blob);
    if (!cs_ok(r)) {
        cs_broker_error(resp, r.code == CS_E_NOT_FOUND || r.code == CS_E_ARG ? 404 : 500,
                        "NotFound", "no such archived object");
        return;
    }
    r = cs_buf_append(&resp->body, blob.p, blob.len);
    cs_blob_clear(&blob);
    if (!cs_ok(r)) {
        cs_broker_error(resp, 500, "InternalError", "cannot read the archive");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/octet-stream";
}

static void admin_write(struct cs_broker *b, const struct cs_admin_token *who,
                        const struct cs_http_req *req, const char *sub,
                        struct cs_http_resp *resp)
{
    bool is_put = strcmp(req->method, "PUT") == 0;
    bool is_post = strcmp(req->method, "POST") == 0;
    if (strncmp(sub, "resource/", 9) == 0) {
        const char *name = sub + 9;
        if (!cs_broker_is_resource_name(name)) {
            cs_broker_error(resp, 400, "InvalidRequest", "resource names are repo/type/tag");
        } else if (is_put) {
            resource_set(b, who, name, req, resp);
        } else if (strcmp(req->method, "DELETE") == 0) {
            resource_delete(b, who, name, resp);
        } else {
            cs_broker_error(resp, 405, "InvalidRequest", "method not allowed");
        }
    } else if (strcmp(sub, "policy") == 0 && is_put) {
        policy_set(b, who, req, resp);
    } else if (strcmp(sub, "refvals") == 0 && is_post) {
        refvals_change(b, who, true, req, resp);
    } else if (strcmp(sub, "refvals/remove") == 0 && is_post) {
        refvals_change(b, who, false, req, resp);
    } else {
        cs_broker_error(resp, 404, "NotFound", "no such admin route");
    }
}

static void admin_read(struct cs_broker *b, const char *sub, struct cs_http_resp *resp)
{
    if (strcmp(sub, "resources") == 0) {
        resource_list(b, resp);
    } else if (strcmp(sub, "policy") == 0) {
        policy_get(b, resp);
    } else if (strcmp(sub, "refvals") == 0) {
        refvals_get(b, resp);
    } else if (strcmp(sub, "sessions") == 0) {
        sessions_list(b, resp);
    } else if (strncmp(sub, "archive/", 8) == 0) {
        archive_get(b, sub + 8, resp);
    } else {
        cs_broker_error(resp, 404, "NotFound", "no such admin route");
    }
}

void cs_admin_route(struct cs_broker *b, const struct cs_http_req *req, const char *sub,
                    struct cs_http_resp *resp)
{
    const struct cs_admin_token *who = authenticate(b, req);
    if (who == NULL) {
        cs_metrics_denial(b->metrics, "admin_unauthenticated");
        cs_blog(CS_BLOG_WARN, "admin", "unauthenticated admin request from %s", req->peer);
        cs_broker_error(resp, 401, "UnAuthenticated", "admin credential required");
        return;
    }
    if (strcmp(req->method, "GET") == 0) {
        admin_read(b, sub, resp);
        return;
    }
    if (who->role != CS_ROLE_ADMIN) {
        cs_metrics_denial(b->metrics, "admin_forbidden");
        cs_broker_error(resp, 403, "Forbidden", "this credential may only read");
        return;
    }
    pthread_mutex_lock(&b->admin_mu); /* admin changes one at a time: see log_admin */
    admin_write(b, who, req, sub, resp);
    pthread_mutex_unlock(&b->admin_mu);
}
