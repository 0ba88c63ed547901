/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos audit verify --url URL --vkey VKEY [--state FILE] [--cacert PEM] [--json]
 *
 * What an auditor runs, trusting nothing the broker says:
 *   1. fetches the signed checkpoint and verifies it under VKEY;
 *   2. with --state: refuses a smaller tree than the one saved, and checks the broker's
 *      consistency proof from the saved (size, root) to the new checkpoint;
 *   3. fetches every entry, recomputes the Merkle root and compares it to the checkpoint;
 *   4. checks every record's schema (src/broker/audit.c), and that every release points
 *      at an earlier attest record with outcome "admitted";
 *   5. saves the new (size, root) in FILE.
 * Exit 0: all good; 1: a check failed (each is printed); 2: usage or I/O.
 *
 * custos audit reverify --url URL --token-file F --index N [--cacert PEM] [--json]
 *
 * Re-runs the verification behind the attest record at index N, at the instant it was
 * recorded, on the evidence and the collateral bundle the broker archived under the
 * digests the record names (both digests are checked here). Needs an admin or auditor
 * token (GET /custos/v1/admin/archive/...). Exit 0 when the outcome is the one recorded,
 * 1 when it differs. The REPORT_DATA binding is not re-checked: the record keeps the TEE
 * key's thumbprint, not the nonce.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/bundle.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "custos/dcap.h"
#include "custos/verdict.h"
#include "cli.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "custos/tlog.h"
#include "net/http_client.h"
#include "tlog/merkle.h"

#define ENTRIES_MAX (1u << 24)
#define H CUSTOS_HASH_LEN

struct audit_opts {
    const char *url;
    const char *vkey;
    const char *state;
    const char *cacert;
    bool is_json;
};

struct tally {
    uint64_t by_type[8];
    uint64_t problems;
    uint64_t development;
};

/* What an admitted attestation record says about who may use it. */
struct admitted {
    char session[40];
    char jti[40];
};

static void audit_usage(FILE *f)
{
    fputs("usage: custos audit verify --url URL --vkey VKEY [--state FILE] [--cacert PEM]"
          " [--json]\n"
          "       custos audit reverify --url URL --token-file F --index N [--cacert PEM]"
          " [--json]\n",
          f);
}

static cs_res get(const struct audit_opts *o, const char *path, struct cs_httpc_resp *resp)
{
    char url[2048];
    int n = snprintf(url, sizeof url, "%s/custos/v1/log/%s", o->url, path);
    CS_ENSURE(n > 0 && (size_t)n < sizeof url, CS_E_ARG);
    struct cs_httpc_req req = { .method = "GET", .url = url, .cacert = o->cacert };
    CS_TRY(cs_httpc_do(&req, resp));
    if (resp->status != 200) {
        cs_buf_clear(&resp->body);
        CS_FAIL(CS_E_IO);
    }
    return CS_SUCCESS;
}

static void problem(struct tally *t, uint64_t index, const char *what)
{
    t->problems++;
    fprintf(stderr, "entry %llu: %s\n", (unsigned long long)index, what);
}

/* {"size": N, "root": "hex"} of the previous run, or size 0 when there is none. */
static cs_res load_state(const char *path, uint64_t *size, uint8_t root[H])
{
    *size = 0;
    struct cs_blob f = { 0 };
    if (path == NULL || access(path, F_OK) != 0) {
        return CS_SUCCESS; /* a first run: nothing saved yet */
    }
    CS_TRY(cs_file_read(path, 4096, &f)); /* present but unreadable: never "no state" */
    CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
    cs_res r = cs_json_load((struct cs_cur){ .p = f.p, .left = f.len }, 4096, &doc);
    cs_blob_clear(&f);
    CS_TRY(r);
    CS_TRY(cs_json_get_uint(doc, "size", UINT64_MAX, size));
    return cs_json_get_hex(doc, "root", root, H);
}

static cs_res save_state(const char *path, uint64_t size, const uint8_t root[H])
{
    char hex[2 * H + 1];
    CS_TRY(cs_hex_encode(root, H, hex, sizeof hex));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    CS_ENSURE(f != NULL, CS_E_IO);
    fprintf(f, "{\"size\":%llu,\"root\":\"%s\"}\n", (unsigned long long)size, hex);
    CS_ENSURE(fclose(f) == 0 && rename(tmp, path) == 0, CS_E_IO);
    return CS_SUCCESS;
}

static int type_slot(const char *type)
{
    static const char *const types[] = { "auth",  "attest", "release", "deny",
                                         "admin", "key",    "state",   "token" };
    for (int i = 0; i < 8; i++) {
        if (strcmp(type, types[i]) == 0) {
            return i;
        }
    }
    return 0;
}

/* Entries: schema, and the attestation behind each release. Leaf hashes into leaves. */
static const char *str_member(const json_t *rec, const char *key)
{
    const char *v = json_string_value(json_object_get(rec, key));
    return v != NULL ? v : "";
}

/* A release must come from the session the attestation admitted, or from its token. */
static bool is_same_requester(const struct admitted *a, const char *session)
{
    if (strncmp(session, "token:", 6) == 0) {
        return a->jti[0] != '\0' && strcmp(session + 6, a->jti) == 0;
    }
    return strcmp(session, a->session) == 0;
}

static cs_res check_entries(const struct audit_opts *o, uint64_t size, uint8_t *leaves,
                            struct admitted *adm, uint8_t *is_admitted, struct tally *t)
{
    for (uint64_t i = 0; i < size; i++) {
        char path[64];
        snprintf(path, sizeof path, "entry/%llu", (unsigned long long)i);
        struct cs_httpc_resp resp;
        CS_TRY(get(o, path, &resp));
        cs_res r = custos_tlog_leaf_hash(resp.body.p, resp.body.len, leaves + i * H);
        json_t *rec = NULL;
        const char *type = NULL;
        cs_res pr = cs_ok(r) ? cs_audit_parse(resp.body.p, resp.body.len, &rec, &type) : r;
        cs_buf_clear(&resp.body);
        CS_TRY(r);
        if (!cs_ok(pr)) {
            problem(t, i, pr.code == CS_E_UNSUPPORTED ? "a record of an unknown type or version"
                                                      : "not a valid record");
            continue;
        }
        t->by_type[type_slot(type)]++;
        t->development += json_is_true(json_object_get(rec, "development"));
        if (strcmp(type, "attest") == 0) {
            is_admitted[i] = strcmp(str_member(rec, "outcome"), "admitted") == 0;
            snprintf(adm[i].session, sizeof adm[i].session, "%s", str_member(rec, "session"));
            snprintf(adm[i].jti, sizeof adm[i].jti, "%s", str_member(rec, "token_jti"));
        } else if (strcmp(type, "release") == 0) {
            json_t *ai = json_object_get(rec, "attest_index");
            json_int_t a = json_is_integer(ai) ? json_integer_value(ai) : -1;
            if (a < 0 || (uint64_t)a >= i) {
                problem(t, i, "release without an earlier attestation record");
            } else if (!is_admitted[a]) {
                problem(t, i, "release under an attestation that was not admitted");
            } else if (!is_same_requester(&adm[a], str_member(rec, "session"))) {
                problem(t, i, "release to another session than the attestation admitted");
            }
        }
        json_decref(rec);
    }
    return CS_SUCCESS;
}

static int audit_verify(const struct audit_opts *o)
{
    struct cs_httpc_resp resp;
    cs_res r = get(o, "checkpoint", &resp);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos audit: cannot fetch the checkpoint from %s\n", o->url);
        return CLI_USAGE;
    }
    const char *keys[] = { o->vkey };
    struct custos_tlog_policy pol = { .log_vkeys = keys, .n_log_vkeys = 1 };
    struct custos_checkpoint cp;
    r = custos_tlog_checkpoint_open(resp.body.p, resp.body.len, &pol, &cp);
    cs_buf_clear(&resp.body);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos audit: the checkpoint does not verify under the key (%s)\n",
                custos_code_name(r.code));
        return CLI_REJECTED;
    }
    if (cp.size > ENTRIES_MAX) {
        fprintf(stderr, "custos audit: %llu entries is more than this command fetches\n",
                (unsigned long long)cp.size);
        return CLI_USAGE;
    }
    struct tally t = { 0 };
    uint64_t old_size = 0;
    uint8_t old_root[H];
    if (!cs_ok(load_state(o->state, &old_size, old_root))) {
        fprintf(stderr, "custos audit: %s is not a state file of ours\n", o->state);
        return CLI_USAGE;
    }
    if (old_size > cp.size) {
        fprintf(stderr, "custos audit: the log shrank from %llu to %llu entries: ROLLBACK\n",
                (unsigned long long)old_size, (unsigned long long)cp.size);
        return CLI_REJECTED;
    }
    if (old_size > 0) {
        char path[96];
        snprintf(path, sizeof path, "proof/consistency?old=%llu&new=%llu",
                 (unsigned long long)old_size, (unsigned long long)cp.size);
        uint8_t proof[CS_MERKLE_PROOF_MAX * H];
        size_t n = 0;
        CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
        r = get(o, path, &resp);
        if (cs_ok(r)) {
            r = cs_json_load((struct cs_cur){ .p = resp.body.p, .left = resp.body.len },
                             1u << 20, &doc);
            cs_buf_clear(&resp.body);
        }
        json_t *arr = NULL;
        if (cs_ok(r)) {
            r = cs_json_get_arr(doc, "proof", CS_MERKLE_PROOF_MAX, &arr);
        }
        for (size_t i = 0; cs_ok(r) && i < json_array_size(arr); i++) {
            const char *hex = json_string_value(json_array_get(arr, i));
            r = hex != NULL ? cs_hex_decode(hex, strlen(hex), proof + i * H, H)
                            : (cs_res){ .code = CS_E_FORMAT };
            n++;
        }
        if (cs_ok(r)) {
            r = custos_tlog_verify_consistency(old_size, cp.size, old_root, cp.root, proof, n);
        }
        if (!cs_ok(r)) {
            fprintf(stderr, "custos audit: no valid consistency proof from the saved tree "
                            "(%llu entries): history was rewritten or the proof is bad\n",
                    (unsigned long long)old_size);
            return CLI_REJECTED;
        }
    }
    CS_AUTO(cs_freep) uint8_t *leaves = NULL;
    CS_AUTO(cs_freep) uint8_t *is_admitted = NULL;
    CS_AUTO(cs_freep) struct admitted *adm = NULL;
    size_t n_alloc = cp.size > 0 ? cp.size : 1;
    r = cs_alloc(n_alloc, H, (void **)&leaves);
    if (cs_ok(r)) {
        r = cs_alloc(n_alloc, 1, (void **)&is_admitted);
    }
    if (cs_ok(r)) {
        r = cs_alloc(n_alloc, sizeof *adm, (void **)&adm);
    }
    if (cs_ok(r)) {
        r = check_entries(o, cp.size, leaves, adm, is_admitted, &t);
    }
    uint8_t root[H];
    if (cs_ok(r)) {
        r = cs_merkle_root(leaves, cp.size, root);
    }
    if (!cs_ok(r)) {
        fprintf(stderr, "custos audit: cannot fetch the entries (%s)\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    if (!cs_ct_equal(root, cp.root, H)) {
        fprintf(stderr, "custos audit: the entries do not hash to the checkpoint's root\n");
        return CLI_REJECTED;
    }
    if (t.problems == 0 && o->state != NULL && !cs_ok(save_state(o->state, cp.size, cp.root))) {
        fprintf(stderr, "custos audit: cannot save %s\n", o->state);
        return CLI_USAGE;
    }
    if (o->is_json) {
        printf("{\"size\":%llu,\"problems\":%llu,\"auth\":%llu,\"attest\":%llu,\"release\":%llu,"
               "\"deny\":%llu,\"admin\":%llu,\"key\":%llu,\"development\":%llu}\n",
               (unsigned long long)cp.size, (unsigned long long)t.problems,
               (unsigned long long)t.by_type[0], (unsigned long long)t.by_type[1],
               (unsigned long long)t.by_type[2], (unsigned long long)t.by_type[3],
               (unsigned long long)t.by_type[4], (unsigned long long)t.by_type[5],
               (unsigned long long)t.development);
    } else {
        printf("%s: %llu entries, root verified, consistent with the saved state (%llu); "
               "%llu attestations, %llu releases, %llu denials, %llu admin changes; "
               "%llu problem(s)\n",
               t.problems == 0 ? "ok" : "FAILED", (unsigned long long)cp.size,
               (unsigned long long)old_size, (unsigned long long)t.by_type[1],
               (unsigned long long)t.by_type[2], (unsigned long long)t.by_type[3],
               (unsigned long long)t.by_type[4], (unsigned long long)t.problems);
        if (t.development > 0) {
            printf("WARNING: %llu record(s) were made under a DEVELOPMENT trust root\n",
                   (unsigned long long)t.development);
        }
    }
    return t.problems == 0 ? CLI_OK : CLI_REJECTED;
}

/* An archived object by kind and hex digest, checked against that digest. */
static cs_res fetch_archived(const struct audit_opts *o, const char *token, const char *kind,
                             const char *hex, struct cs_buf *out)
{
    uint8_t want[32];
    CS_ENSURE(strlen(hex) == 64, CS_E_FORMAT);
    CS_TRY(cs_hex_decode(hex, 64, want, sizeof want));
    char url[2048];
    int n = snprintf(url, sizeof url, "%s/custos/v1/admin/archive/%s/%s", o->url, kind, hex);
    CS_ENSURE(n > 0 && (size_t)n < sizeof url, CS_E_ARG);
    struct cs_httpc_req req = { .method = "GET", .url = url, .bearer = token,
                                .cacert = o->cacert };
    struct cs_httpc_resp resp;
    CS_TRY(cs_httpc_do(&req, &resp));
    uint8_t got[32];
    cs_res r = resp.status == 200 ? cs_sha256((struct cs_cur){ .p = resp.body.p,
                                                               .left = resp.body.len },
                                              got)
                                  : (cs_res){ .code = CS_E_NOT_FOUND };
    if (cs_ok(r) && !cs_ct_equal(got, want, sizeof got)) {
        r = (cs_res){ .code = CS_E_BINDING };
    }
    if (!cs_ok(r)) {
        cs_buf_clear(&resp.body);
        return r;
    }
    *out = resp.body;
    return CS_SUCCESS;
}

static int reverify_fail(const char *what, cs_res r)
{
    fprintf(stderr, "custos audit reverify: %s (%s)\n", what, custos_code_name(r.code));
    return r.code == CS_E_BINDING ? CLI_REJECTED : CLI_USAGE;
}

static int audit_reverify(const struct audit_opts *o, const char *token_file, uint64_t index)
{
    char token[1024] = "";
    struct cs_blob tf = { 0 };
    if (!cs_ok(cs_file_read(token_file, sizeof token - 1, &tf))) {
        fprintf(stderr, "custos audit reverify: cannot read %s\n", token_file);
        return CLI_USAGE;
    }
    size_t tl = tf.len;
    while (tl > 0 && (tf.p[tl - 1] == '\n' || tf.p[tl - 1] == '\r')) {
        tl--;
    }
    memcpy(token, tf.p, tl);
    cs_wipe(tf.p, tf.len);
    cs_blob_clear(&tf);

    char path[64];
    snprintf(path, sizeof path, "entry/%llu", (unsigned long long)index);
    struct cs_httpc_resp resp;
    cs_res r = get(o, path, &resp);
    if (!cs_ok(r)) {
        cs_wipe(token, sizeof token);
        return reverify_fail("cannot fetch the record", r);
    }
    CS_AUTO(cs_json_decrefp) json_t *rec = NULL;
    const char *type = NULL;
    r = cs_audit_parse(resp.body.p, resp.body.len, &rec, &type);
    cs_buf_clear(&resp.body);
    const char *ev_hex = NULL;
    const char *coll_hex = NULL;
    const char *tee = NULL;
    const char *ts = NULL;
    if (cs_ok(r) && strcmp(type, "attest") != 0) {
        r = (cs_res){ .code = CS_E_ARG };
    }
    if (cs_ok(r)) {
        r = cs_json_get_str(rec, "evidence_sha256", 64, &ev_hex, NULL);
    }
    if (cs_ok(r)) {
        r = cs_json_get_str(rec, "collateral_sha256", 64, &coll_hex, NULL);
    }
    if (cs_ok(r)) {
        r = cs_json_get_str(rec, "tee", 16, &tee, NULL);
    }
    if (cs_ok(r)) {
        r = cs_json_get_str(rec, "time", 32, &ts, NULL);
    }
    int64_t at = 0;
    if (cs_ok(r)) {
        r = cs_time_parse(ts, strlen(ts), &at);
    }
    if (!cs_ok(r)) {
        cs_wipe(token, sizeof token);
        return reverify_fail("not an attest record with archived evidence and collateral", r);
    }
    struct cs_buf ev = { 0 };
    struct cs_buf coll = { 0 };
    r = fetch_archived(o, token, "evidence", ev_hex, &ev);
    if (cs_ok(r)) {
        r = fetch_archived(o, token, "collateral", coll_hex, &coll);
    }
    cs_wipe(token, sizeof token);
    if (!cs_ok(r)) {
        cs_buf_clear(&ev);
        cs_buf_clear(&coll);
        return reverify_fail("the archive does not hold what the record names", r);
    }
    char dir[] = "/tmp/custos-reverify-XXXXXX";
    struct custos_dcap_collateral *dc = NULL;
    struct custos_diag diag = { 0 };
    struct custos_verdict *v = NULL;
    bool is_dir = mkdtemp(dir) != NULL;
    r = is_dir ? cs_bundle_extract_dcap(coll.p, coll.len, dir) : (cs_res){ .code = CS_E_IO };
    if (cs_ok(r)) {
        r = custos_dcap_collateral_load_dir(dir, &diag, &dc);
    }
    if (cs_ok(r) || v == NULL) {
        cs_res vr = dc != NULL ? custos_dcap_verify(dc, ev.p, ev.len, at, &v) : r;
        r = v != NULL ? CS_SUCCESS : vr;
    }
    if (is_dir) {
        cs_bundle_remove_dcap(dir);
        rmdir(dir);
    }
    custos_dcap_collateral_free(dc);
    cs_buf_clear(&ev);
    cs_buf_clear(&coll);
    if (!cs_ok(r)) {
        return reverify_fail("cannot re-run the verification", r);
    }
    bool was = json_is_true(json_object_get(rec, "verified"));
    bool now_ok = custos_verdict_is_verified(v);
    char *text = NULL;
    if (o->is_json && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        printf("%s\n", text);
        custos_free(text);
    }
    fprintf(o->is_json ? stderr : stdout,
            "%s: record %llu (%s, %s): recorded verified=%s, re-verified at %s: %s%s%s\n",
            was == now_ok ? "ok" : "MISMATCH", (unsigned long long)index, tee,
            json_string_value(json_object_get(rec, "outcome")), was ? "true" : "false", ts,
            now_ok ? "verified" : custos_code_class(custos_verdict_code(v)),
            now_ok ? "" : ": ", now_ok ? "" : custos_verdict_message(v));
    custos_verdict_free(v);
    return was == now_ok ? CLI_OK : CLI_REJECTED;
}

int cmd_audit(int argc, char **argv)
{
    struct audit_opts o = { 0 };
    if (argc >= 2 && strcmp(argv[1], "reverify") == 0) {
        const char *token_file = NULL;
        uint64_t index = UINT64_MAX;
        for (int i = 2; i < argc; i++) {
            const char *a = argv[i];
            const char *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (strcmp(a, "--json") == 0) {
                o.is_json = true;
                continue;
            }
            if (v == NULL) {
                audit_usage(stderr);
                return CLI_USAGE;
            }
            i++;
            if (strcmp(a, "--url") == 0) {
                o.url = v;
            } else if (strcmp(a, "--token-file") == 0) {
                token_file = v;
            } else if (strcmp(a, "--cacert") == 0) {
                o.cacert = v;
            } else if (strcmp(a, "--index") == 0) {
                char *end = NULL;
                index = strtoull(v, &end, 10);
                if (end == v || *end != '\0' || *v == '-') {
                    index = UINT64_MAX;
                }
            } else {
                audit_usage(stderr);
                return CLI_USAGE;
            }
        }
        if (o.url == NULL || token_file == NULL || index == UINT64_MAX) {
            audit_usage(stderr);
            return CLI_USAGE;
        }
        return audit_reverify(&o, token_file, index);
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        audit_usage(stderr);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--url") == 0 && v != NULL) {
            o.url = argv[++i];
        } else if (strcmp(a, "--vkey") == 0 && v != NULL) {
            o.vkey = argv[++i];
        } else if (strcmp(a, "--state") == 0 && v != NULL) {
            o.state = argv[++i];
        } else if (strcmp(a, "--cacert") == 0 && v != NULL) {
            o.cacert = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o.is_json = true;
        } else {
            audit_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (o.url == NULL || o.vkey == NULL) {
        audit_usage(stderr);
        return CLI_USAGE;
    }
    return audit_verify(&o);
}
