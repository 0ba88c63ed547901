/* SPDX-License-Identifier: Apache-2.0 */
/* The broker: opening its parts, the route table, policy references, health and metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/blog.h"
#include "broker/bundle.h"
#include "broker/scache.h"
#include "broker/broker_int.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_jose.h"
#include "crypto/cs_keyprov.h"
#include "custos/dcap.h"
#ifdef CS_HAVE_SNP
#include "custos/snp.h"
#endif
#include "policy/policy.h"
#include "store/broker_store.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

/* ---- helpers shared by the routes ----------------------------------------------------- */

double cs_broker_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool cs_broker_is_resource_name(const char *name)
{
    size_t n = strnlen(name, 256);
    if (n == 0 || n > 255) {
        return false;
    }
    unsigned segments = 1;
    size_t seg_len = 0;
    const char *seg = name;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == '\0') {
            if (seg_len == 0 || (seg_len == 1 && seg[0] == '.')
                || (seg_len == 2 && seg[0] == '.' && seg[1] == '.')) {
                return false;
            }
            segments += c == '/';
            seg = name + i + 1;
            seg_len = 0;
            continue;
        }
        bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '.' || c == '_' || c == '-';
        if (!is_ok) {
            return false;
        }
        seg_len++;
    }
    return segments == 3;
}

/* The rate-limit key of a client: its IPv4 address, or the /64 of its IPv6 address. */
static void client_key(const char *peer, char *out, size_t cap)
{
    struct in6_addr a6;
    if (inet_pton(AF_INET6, peer, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
        memset(a6.s6_addr + 8, 0, 8);
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a6, text, sizeof text) != NULL) {
            snprintf(out, cap, "%s/64", text);
            return;
        }
    }
    snprintf(out, cap, "%s", peer);
}

bool cs_broker_auth_allowed(struct cs_broker *b, const char *peer)
{
    double now = cs_broker_mono();
    char key[64];
    client_key(peer, key, sizeof key);
    bool is_ok = cs_ratelimit_take(b->auth_limit, key, now)
                 && cs_ratelimit_take(b->auth_global, "*", now);
    /* every session ever opened would otherwise stay in the store */
    pthread_mutex_lock(&b->expire_mu);
    bool is_due = now >= b->next_expire;
    if (is_due) {
        b->next_expire = now + 30;
    }
    pthread_mutex_unlock(&b->expire_mu);
    if (is_due) {
        uint64_t n = 0;
        if (!cs_ok(cs_bstore_session_expire(b->store, cs_time_now(), &n))) {
            cs_blog(CS_BLOG_WARN, "sessions", "cannot purge expired sessions");
        }
    }
    return is_ok;
}

bool cs_broker_resource_allowed(struct cs_broker *b, const char *who)
{
    return cs_ratelimit_take(b->resource_limit, who, cs_broker_mono());
}

/* ---- responses ----------------------------------------------------------------------- */

void cs_broker_json(struct cs_http_resp *resp, unsigned status, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    cs_buf_clear(&resp->body);
    if (text == NULL || !cs_ok(cs_buf_str(&resp->body, text))) {
        cs_free(text);
        resp->status = 500;
        resp->content_type = NULL;
        return;
    }
    cs_free(text);
    resp->status = status;
    resp->content_type = "application/json";
}

void cs_broker_error(struct cs_http_resp *resp, unsigned status, const char *type,
                     const char *detail)
{
    char uri[128];
    snprintf(uri, sizeof uri, "https://github.com/confidential-containers/kbs/errors/%s", type);
    cs_broker_json(resp, status, json_pack("{s:s, s:s}", "type", uri, "detail", detail));
}

/* ---- policy references ------------------------------------------------------------------ */

static void policy_ref_free(struct cs_policy_ref *p)
{
    cs_policy_free(p->policy);
    json_decref(p->refvals);
    cs_free(p);
}

struct cs_policy_ref *cs_broker_policy_get(struct cs_broker *b)
{
    pthread_mutex_lock(&b->policy_mu);
    struct cs_policy_ref *p = b->policy;
    p->refs++;
    pthread_mutex_unlock(&b->policy_mu);
    return p;
}

void cs_broker_policy_put(struct cs_broker *b, struct cs_policy_ref *p)
{
    pthread_mutex_lock(&b->policy_mu);
    bool is_last = --p->refs == 0;
    pthread_mutex_unlock(&b->policy_mu);
    if (is_last) {
        policy_ref_free(p);
    }
}

static cs_res policy_reload_locked(struct cs_broker *b);

CS_RESULT cs_broker_policy_reload(struct cs_broker *b)
{
    /* one reload at a time: a slow reader of an old version cannot install it over a newer */
    pthread_mutex_lock(&b->reload_mu);
    cs_res r = policy_reload_locked(b);
    pthread_mutex_unlock(&b->reload_mu);
    return r;
}

static cs_res policy_reload_locked(struct cs_broker *b)
{
    struct cs_policy_ref *p = NULL;
    CS_TRY(cs_alloc(1, sizeof *p, (void **)&p));
    p->refs = 1;
    struct cs_blob doc = { 0 };
    uint8_t digest[32];
    cs_res r = cs_bstore_policy_current(b->store, &doc, &p->version, digest);
    if (cs_ok(r)) {
        char err[CS_POLICY_ERR_MAX];
        r = cs_policy_parse((const char *)doc.p, doc.len, &p->policy, err, sizeof err);
        if (!cs_ok(r)) {
            cs_blog(CS_BLOG_ERROR, "policy", "stored policy version %lld does not parse: %s",
                    (long long)p->version, err);
        }
    } else if (r.code == CS_E_NOT_FOUND) {
        r = CS_SUCCESS; /* no policy: nothing is released */
        p->version = 0;
        memset(digest, 0, sizeof digest);
    }
    cs_blob_clear(&doc);
    if (cs_ok(r)) {
        r = cs_hex_encode(digest, sizeof digest, p->sha256, sizeof p->sha256);
        snprintf(p->id, sizeof p->id, "%s", p->policy != NULL ? cs_policy_id(p->policy) : "");
    }
    if (cs_ok(r)) {
        r = cs_bstore_refvals_json(b->store, &p->refvals);
    }
    if (!cs_ok(r)) {
        policy_ref_free(p);
        return r;
    }
    pthread_mutex_lock(&b->policy_mu);
    struct cs_policy_ref *old = b->policy;
    b->policy = p;
    bool is_last = old != NULL && --old->refs == 0;
    pthread_mutex_unlock(&b->policy_mu);
    if (is_last) {
        policy_ref_free(old);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_broker_audit(struct cs_broker *b, json_t *rec, uint64_t *index)
{
    cs_res r = cs_audit_append(b->log, b->cfg.dcap_is_development, cs_time_now(), rec, index);
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "audit", "append failed: %s", custos_code_name(r.code));
        return r;
    }
    cs_metrics_log_size(b->metrics, *index + 1);
    return r;
}

/* ---- opening ----------------------------------------------------------------------------- */

static cs_res make_dir(const char *path)
{
    CS_ENSURE(mkdir(path, 0700) == 0 || errno == EEXIST, CS_E_IO);
    return CS_SUCCESS;
}

/* The checkpoint signer: a C2SP note key (PRIVATE+KEY+...), created when allowed. */
static cs_res load_log_signer(struct cs_broker *b)
{
    struct cs_blob f = { 0 };
    cs_res r = cs_file_read(b->cfg.log_key_file, CS_NOTE_SKEY_MAX, &f);
    if (r.code == CS_E_IO && b->cfg.create_keys && access(b->cfg.log_key_file, F_OK) != 0) {
        char skey[CS_NOTE_SKEY_MAX];
        char vkey[CS_NOTE_VKEY_MAX];
        CS_TRY(cs_note_keygen(b->cfg.log_origin, skey, vkey));
        int fd = open(b->cfg.log_key_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        size_t n = strlen(skey);
        bool is_ok = fd >= 0 && write(fd, skey, n) == (ssize_t)n && fsync(fd) == 0;
        if (fd >= 0) {
            is_ok &= close(fd) == 0;
        }
        cs_wipe(skey, sizeof skey);
        CS_ENSURE(is_ok, CS_E_IO);
        r = cs_file_read(b->cfg.log_key_file, CS_NOTE_SKEY_MAX, &f);
    }
    CS_TRY(r);
    struct stat st;
    bool is_private = stat(b->cfg.log_key_file, &st) == 0 && (st.st_mode & 077) == 0;
    size_t len = f.len;
    while (len > 0 && (f.p[len - 1] == '\n' || f.p[len - 1] == '\r')) {
        len--;
    }
    r = is_private ? cs_note_signer_parse((struct cs_cur){ .p = f.p, .left = len }, &b->log_signer)
                   : (cs_res){ .code = CS_E_ARG };
    cs_wipe(f.p, f.len);
    cs_blob_clear(&f);
    if (!is_private) {
        cs_blog(CS_BLOG_ERROR, "keys", "%s must not be readable by group or others",
                b->cfg.log_key_file);
    }
    CS_TRY(r);
    return cs_note_signer_vkey(&b->log_signer, b->log_vkey, sizeof b->log_vkey);
}

static cs_res load_initial_policy(struct cs_broker *b)
{
    struct cs_blob doc = { 0 };
    int64_t version = 0;
    cs_res r = cs_bstore_policy_current(b->store, &doc, &version, NULL);
    cs_blob_clear(&doc);
    if (r.code != CS_E_NOT_FOUND || b->cfg.policy_file[0] == '\0') {
        return r.code == CS_E_NOT_FOUND ? CS_SUCCESS : r;
    }
    CS_TRY(cs_file_read(b->cfg.policy_file, CS_POLICY_DOC_MAX, &doc));
    char err[CS_POLICY_ERR_MAX];
    struct cs_policy *p = NULL;
    r = cs_policy_parse((const char *)doc.p, doc.len, &p, err, sizeof err);
    uint8_t digest[32];
    char hex[65];
    if (cs_ok(r)) {
        r = cs_sha256((struct cs_cur){ .p = doc.p, .left = doc.len }, digest);
    } else {
        cs_blog(CS_BLOG_ERROR, "policy", "%s: %s", b->cfg.policy_file, err);
    }
    if (cs_ok(r)) {
        r = cs_hex_encode(digest, sizeof digest, hex, sizeof hex);
    }
    uint64_t index = 0;
    if (cs_ok(r)) { /* logged before it applies, like every admin change */
        r = cs_broker_audit(b,
                            json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "type", "admin", "actor",
                                      "custosd", "op", "policy.set", "target", cs_policy_id(p),
                                      "version", (json_int_t)1, "sha256", hex),
                            &index);
    }
    if (cs_ok(r)) {
        r = cs_bstore_policy_put(b->store, doc.p, doc.len, digest, &version);
    }
    cs_policy_free(p);
    cs_blob_clear(&doc);
    return r;
}

/* Archives the DCAP collateral directory as one bundle, named in every attest record. */
static cs_res archive_dcap_collateral(struct cs_broker *b)
{
    struct cs_buf bundle;
    CS_TRY(cs_bundle_dcap(b->cfg.dcap_collateral_dir, &bundle));
    uint8_t digest[32];
    cs_res r = cs_sha256((struct cs_cur){ .p = bundle.p, .left = bundle.len }, digest);
    if (cs_ok(r)) {
        r = cs_bstore_archive_put(b->store, "collateral", digest, bundle.p, bundle.len);
    }
    cs_buf_clear(&bundle);
    CS_TRY(r);
    return cs_hex_encode(digest, sizeof digest, b->dcap_collateral_sha256,
                         sizeof b->dcap_collateral_sha256);
}

static cs_res open_parts(struct cs_broker *b)
{
    const struct cs_broker_config *c = &b->cfg;
    CS_ENSURE(c->n_admin > 0, CS_E_ARG); /* no admin credential: refuse to start */
    CS_TRY(cs_metrics_new(&b->metrics));
    CS_TRY(cs_scache_new(&b->scache));
    CS_TRY(cs_ratelimit_new(c->auth_rate, c->auth_burst, &b->auth_limit));
    CS_TRY(cs_ratelimit_new(c->auth_rate_global, c->auth_burst_global, &b->auth_global));
    CS_TRY(cs_ratelimit_new(c->resource_rate, c->resource_burst, &b->resource_limit));
    if (c->create_keys) {
        char keys[4200];
        snprintf(keys, sizeof keys, "%s/keys", c->data_dir);
        CS_TRY(make_dir(c->data_dir));
        CS_TRY(make_dir(keys));
    }
    CS_TRY(cs_bstore_sqlite_open(c->store_path, &b->store));
    struct custos_diag diag = { 0 };
    /* create only what is missing: a restart of a development broker reuses its keys */
    bool is_new_kek = c->create_keys && access(c->root_key_file, F_OK) != 0;
    cs_res r = cs_keyprov_file_open(c->root_key_file, is_new_kek, &b->kek, &diag);
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "keys", "root key %s: %s", c->root_key_file, diag.msg);
        return r;
    }
    r = cs_jwt_key_load_why(c->token_key_file, c->create_keys, &diag, &b->token_key);
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "keys", "token key %s: %s", c->token_key_file, diag.msg);
        return r;
    }
    CS_TRY(load_log_signer(b));
    struct cs_log_store ls;
    CS_TRY(cs_log_sqlite_open(c->log_path, &ls));
    CS_TRY(cs_log_open(ls, &b->log));
    if (c->dcap_collateral_dir[0] != '\0') {
        r = custos_dcap_collateral_load_dir(c->dcap_collateral_dir, &diag, &b->dcap);
        if (!cs_ok(r)) {
            cs_blog(CS_BLOG_ERROR, "collateral", "%s: %s", c->dcap_collateral_dir, diag.msg);
            return r;
        }
        CS_TRY(archive_dcap_collateral(b));
    }
    if (c->snp_collateral_dir[0] != '\0') {
#ifdef CS_HAVE_SNP
        r = custos_snp_collateral_load_dir(c->snp_collateral_dir, &diag, &b->snp);
        if (!cs_ok(r)) {
            cs_blog(CS_BLOG_ERROR, "collateral", "%s: %s", c->snp_collateral_dir, diag.msg);
            return r;
        }
#else
        cs_blog(CS_BLOG_ERROR, "collateral", "this build has no SEV-SNP support");
        CS_FAIL(CS_E_UNSUPPORTED);
#endif
    }
    CS_TRY(load_initial_policy(b));
    CS_TRY(cs_broker_policy_reload(b));
    uint64_t size = 0;
    CS_TRY(cs_log_size(b->log, &size));
    cs_metrics_log_size(b->metrics, size);
    uint64_t index = 0;
    return cs_broker_audit(
        b,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "key", "event", "startup", "log_vkey",
                  b->log_vkey, "token_kid", cs_jwt_key_kid(b->token_key), "kek_id",
                  b->kek->id_hex, "dcap_root",
                  c->dcap_collateral_dir[0] == '\0' ? "none"
                  : c->dcap_is_development          ? "development"
                                                    : "configured"),
        &index);
}

CS_RESULT cs_broker_open(const struct cs_broker_config *c, struct cs_broker **out)
{
    struct cs_broker *b = NULL;
    CS_TRY(cs_alloc(1, sizeof *b, (void **)&b));
    b->cfg = *c;
    b->started = cs_time_now();
    pthread_mutex_init(&b->policy_mu, NULL);
    pthread_mutex_init(&b->reload_mu, NULL);
    pthread_mutex_init(&b->admin_mu, NULL);
    pthread_mutex_init(&b->state_mu, NULL);
    pthread_mutex_init(&b->expire_mu, NULL);
    cs_res r = open_parts(b);
    if (!cs_ok(r)) {
        cs_broker_close(b);
        return r;
    }
    if (c->dcap_is_development) {
        cs_blog(CS_BLOG_WARN, "trust",
                "DEVELOPMENT TRUST ROOT: TDX evidence is verified against a development PKI; "
                "tokens and log records say development=true. Never use in production.");
    }
    *out = b;
    return CS_SUCCESS;
}

void cs_broker_close(struct cs_broker *b)
{
    if (b == NULL) {
        return;
    }
    if (b->policy != NULL) {
        cs_broker_policy_put(b, b->policy);
    }
    custos_dcap_collateral_free(b->dcap);
#ifdef CS_HAVE_SNP
    custos_snp_collateral_free(b->snp);
#endif
    cs_log_close(b->log);
    cs_note_signer_clear(&b->log_signer);
    cs_jwt_key_free(b->token_key);
    cs_keyprov_free(b->kek);
    cs_bstore_close(b->store);
    cs_ratelimit_free(b->auth_limit);
    cs_ratelimit_free(b->auth_global);
    cs_ratelimit_free(b->resource_limit);
    pthread_mutex_destroy(&b->reload_mu);
    pthread_mutex_destroy(&b->admin_mu);
    pthread_mutex_destroy(&b->state_mu);
    pthread_mutex_destroy(&b->expire_mu);
    cs_metrics_free(b->metrics);
    cs_scache_free(b->scache);
    pthread_mutex_destroy(&b->policy_mu);
    cs_free(b);
}

void cs_broker_set_transport(struct cs_broker *b, bool is_tls, bool is_plain_off_loopback)
{
    b->is_tls = is_tls;
    b->is_plain_off_loopback = is_plain_off_loopback;
}

/* ---- small routes -------------------------------------------------------------------- */

static void healthz(struct cs_broker *b, struct cs_http_resp *resp)
{
    uint64_t size = 0;
    bool is_log_ok = cs_ok(cs_log_size(b->log, &size));
    struct cs_policy_ref *p = cs_broker_policy_get(b);
    json_t *body = json_pack(
        "{s:s, s:s, s:b, s:b, s:b, s:I, s:{s:s, s:I}, s:I}", "status",
        is_log_ok ? "ok" : "degraded", "transport", b->is_tls ? "https" : "http",
        "plain_http_off_loopback", b->is_plain_off_loopback, "development_root",
        b->cfg.dcap_is_development, "policy_loaded", p->policy != NULL, "log_size",
        (json_int_t)size, "policy", "id", p->id, "version", (json_int_t)p->version, "uptime_s",
        (json_int_t)(cs_time_now() - b->started));
    cs_broker_policy_put(b, p);
    cs_broker_json(resp, is_log_ok ? 200 : 503, body);
}

static void metrics(struct cs_broker *b, struct cs_http_resp *resp)
{
    if (!cs_ok(cs_metrics_render(b->metrics, &resp->body))) {
        cs_broker_error(resp, 500, "InternalError", "metrics unavailable");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
}

static void jwks(struct cs_broker *b, struct cs_http_resp *resp)
{
    json_t *keys = NULL;
    if (!cs_ok(cs_jwt_key_jwks(b->token_key, &keys))) {
        cs_broker_error(resp, 500, "InternalError", "keys unavailable");
        return;
    }
    cs_broker_json(resp, 200, keys);
}

static bool starts(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0) {
        return false;
    }
    *rest = s + n;
    return true;
}


static enum cs_route dispatch(struct cs_broker *b, const struct cs_http_req *req,
                              struct cs_http_resp *resp)
{
    const char *m = req->method;
    const char *p = req->path;
    const char *rest = NULL;
    bool is_get = strcmp(m, "GET") == 0;
    bool is_post = strcmp(m, "POST") == 0;
    if (strcmp(p, "/kbs/v0/auth") == 0 && is_post) {
        cs_kbs_auth(b, req, resp);
        return CS_ROUTE_AUTH;
    }
    if (strcmp(p, "/kbs/v0/attest") == 0 && is_post) {
        cs_kbs_attest(b, req, resp);
        return CS_ROUTE_ATTEST;
    }
    if (starts(p, "/kbs/v0/resource/", &rest) && is_get) {
        cs_kbs_resource(b, req, rest, resp);
        return CS_ROUTE_RESOURCE;
    }
    if (starts(p, "/custos/v1/admin/", &rest)) {
        cs_admin_route(b, req, rest, resp);
        return CS_ROUTE_ADMIN;
    }
    if (starts(p, "/custos/v1/state/", &rest)) {
        cs_state_route(b, req, rest, resp);
        return CS_ROUTE_STATE;
    }
    if (strcmp(p, "/custos/v1/token") == 0 && is_post) {
        cs_token_route(b, req, resp);
        return CS_ROUTE_TOKEN;
    }
    if (starts(p, "/custos/v1/log/", &rest) && is_get) {
        cs_logapi_route(b, req, rest, resp);
        return CS_ROUTE_LOG;
    }
    if ((strcmp(p, "/custos/v1/token/jwks") == 0 || strcmp(p, "/.well-known/jwks.json") == 0)
        && is_get) {
        jwks(b, resp);
        return CS_ROUTE_TOKEN;
    }
    if (strcmp(p, "/healthz") == 0 && is_get) {
        healthz(b, resp);
        return CS_ROUTE_HEALTH;
    }
    if (strcmp(p, "/metrics") == 0 && is_get) {
        metrics(b, resp);
        return CS_ROUTE_HEALTH;
    }
    cs_broker_error(resp, 404, "NotFound", "no such route");
    return CS_ROUTE_OTHER;
}

size_t cs_broker_body_limit(void *ctx, const char *method, const char *path)
{
    (void)ctx;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/kbs/v0/auth") == 0) {
        return 4096;
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/kbs/v0/attest") == 0) {
        return CS_HTTP_BODY_MAX;
    }
    if ((strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
        && strncmp(path, "/custos/v1/admin/", 17) == 0) {
        return CS_HTTP_BODY_MAX;
    }
    if (strcmp(method, "PUT") == 0 && strncmp(path, "/custos/v1/state/", 17) == 0) {
        return CS_HTTP_BODY_MAX;
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/custos/v1/token") == 0) {
        return 4096;
    }
    return 0;
}

void cs_broker_handle(void *ctx, const struct cs_http_req *req, struct cs_http_resp *resp)
{
    struct cs_broker *b = ctx;
    double t0 = cs_broker_mono();
    enum cs_route route = dispatch(b, req, resp);
    cs_metrics_request(b->metrics, route, resp->status, cs_broker_mono() - t0);
    if (resp->status >= 500) {
        cs_blog(CS_BLOG_WARN, "request", "%s %s from %s: %u", req->method,
                cs_route_name(route), req->peer, resp->status);
    }
}
