/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The development TDX attester (src/sim/dev_attester): a PKI kept in a data directory,
 * quotes that verify through the real DCAP path (custos_dcap_collateral_load_dir +
 * custos_dcap_verify) with the claims asked for, persistence across attester objects,
 * refusal of unsafe files, collateral renewal near expiry, isolation between data
 * directories, and concurrent quoting. Each test works in its own temporary directory.
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/dcap.h"
#include "sim/dev_attester.h"

#define DAY INT64_C(86400)
#define N_THREADS 4
#define QUOTES_PER_THREAD 6

/* ---- helpers ---------------------------------------------------------------------- */

struct tmp {
    char dir[64];
};

static void tmp_make(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/cs-dev-attester-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_remove(struct tmp *t)
{
    EXPECT_EQ(nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void path_of(char *out, size_t cap, const struct tmp *t, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s/%s", t->dir, CS_DEV_DIR_NAME, rel);
    if (n < 0 || (size_t)n >= cap) {
        abort();
    }
}

static void attester_freep(struct cs_dev_attester **a)
{
    cs_dev_attester_free(*a);
}

static void collateral_freep(struct custos_dcap_collateral **c)
{
    custos_dcap_collateral_free(*c);
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + 7 * i);
    }
}

/* What became of one quote. */
struct outcome {
    cs_code code;
    char status[32];
    json_t *claims; /* verified claims, NULL otherwise */
};

static void outcome_clear(struct outcome *o)
{
    json_decref(o->claims);
    *o = (struct outcome){ 0 };
}

static struct outcome verify(struct custos_dcap_collateral *c, const uint8_t *q, size_t len,
                             int64_t at)
{
    struct outcome o = { .code = CS_E__COUNT };
    struct custos_verdict *v = NULL;
    o.code = custos_dcap_verify(c, q, len, at, &v).code;
    if (v == NULL) {
        return o;
    }
    const char *status = custos_verdict_tcb_status(v);
    snprintf(o.status, sizeof o.status, "%s", status != NULL ? status : "");
    char *text = NULL;
    if (o.code == CS_OK && cs_ok(custos_verdict_claims_json(v, &text))) {
        o.claims = json_loads(text, 0, NULL);
        EXPECT_STR_EQ(custos_verdict_platform(v), "tdx");
    }
    custos_free(text);
    custos_verdict_free(v);
    return o;
}

static void expect_claim_hex(const struct outcome *o, const char *key, const uint8_t *p,
                             size_t n)
{
    char hex[2 * 64 + 1];
    EXPECT_OK(cs_hex_encode(p, n, hex, sizeof hex));
    EXPECT_STR_EQ(json_string_value(json_object_get(o->claims, key)), hex);
}

/* Quote with o from a, verified against the collateral of dir at `at`. */
static struct outcome quote_and_verify(const struct cs_dev_attester *a,
                                       const struct cs_dev_quote_opts *o, const char *dir,
                                       int64_t at)
{
    struct outcome out = { .code = CS_E__COUNT };
    uint8_t *q = NULL;
    size_t len = 0;
    EXPECT_OK(cs_dev_attester_quote(a, o, &q, &len));
    struct custos_dcap_collateral *c = NULL;
    EXPECT_OK(custos_dcap_collateral_load_dir(dir, NULL, &c));
    if (q != NULL && c != NULL) {
        out = verify(c, q, len, at);
    }
    custos_dcap_collateral_free(c);
    cs_free(q);
    return out;
}

static struct cs_blob read_rel(const struct tmp *t, const char *rel)
{
    char path[256];
    path_of(path, sizeof path, t, rel);
    struct cs_blob b = { 0 };
    EXPECT_OK(cs_file_read(path, 1u << 20, &b));
    return b;
}

static bool same_file(const struct tmp *t, const char *rel, const struct cs_blob *before)
{
    struct cs_blob now = read_rel(t, rel);
    bool same = now.len == before->len && memcmp(now.p, before->p, now.len) == 0;
    cs_blob_clear(&now);
    return same;
}

static struct cs_blob anchor_of(const struct cs_dev_attester *a)
{
    char *pem = NULL;
    size_t len = 0;
    EXPECT_OK(cs_dev_attester_anchor_pem(a, &pem, &len));
    EXPECT_TRUE(pem != NULL && strlen(pem) == len);
    EXPECT_TRUE(pem != NULL && strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) == 0);
    return (struct cs_blob){ (uint8_t *)pem, len };
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    EXPECT_EQ(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_create_quote_verify(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    if (a == NULL) {
        tmp_remove(&t);
        return;
    }
    char want_dir[256];
    path_of(want_dir, sizeof want_dir, &t, "collateral");
    EXPECT_STR_EQ(cs_dev_attester_collateral_dir(a), want_dir);

    /* files and modes as documented */
    char path[256];
    static const char *const keys[] = { "root.key", "pck_ca.key", "pck_leaf.key",
                                        "tcb_signing.key", "attestation.key" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        path_of(path, sizeof path, &t, keys[i]);
        EXPECT_EQ(mode_of(path), 0600);
        struct cs_blob k = read_rel(&t, keys[i]);
        EXPECT_TRUE(k.p != NULL && strstr((const char *)k.p, "BEGIN PRIVATE KEY") != NULL);
        cs_wipe(k.p, k.len);
        cs_blob_clear(&k);
    }
    path_of(path, sizeof path, &t, "");
    EXPECT_EQ(mode_of(path), 0700);
    struct cs_blob anchor = anchor_of(a);
    struct cs_blob on_disk = read_rel(&t, "collateral/trust_anchor.pem");
    EXPECT_TRUE(anchor.len == on_disk.len && memcmp(anchor.p, on_disk.p, anchor.len) == 0);
    EXPECT_TRUE(same_file(&t, "root.pem", &anchor));
    cs_blob_clear(&on_disk);
    cs_blob_clear(&anchor);

    struct cs_dev_quote_opts o = { .mr_td = NULL };
    pattern(o.report_data, sizeof o.report_data, 0x11);
    uint8_t mr_td[48], rtmr2[48], config[48];
    pattern(mr_td, sizeof mr_td, 0x5a);
    pattern(rtmr2, sizeof rtmr2, 0x99);
    pattern(config, sizeof config, 0x3c);
    o.mr_td = mr_td;
    o.rtmr[2] = rtmr2;
    o.mr_config_id = config;
    struct outcome out = quote_and_verify(a, &o, want_dir, now);
    EXPECT_EQ(out.code, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    expect_claim_hex(&out, "report_data", o.report_data, sizeof o.report_data);
    expect_claim_hex(&out, "mr_td", mr_td, sizeof mr_td);
    expect_claim_hex(&out, "rtmr2", rtmr2, sizeof rtmr2);
    expect_claim_hex(&out, "mr_config_id", config, sizeof config);
    const uint8_t zeros[48] = { 0 };
    expect_claim_hex(&out, "rtmr0", zeros, sizeof zeros);
    EXPECT_TRUE(json_is_false(json_object_get(out.claims, "debug")));
    EXPECT_EQ(json_integer_value(json_object_get(out.claims, "quote_version")), 4);
    outcome_clear(&out);

    /* defaults: the documented MRTD, zero RTMRs */
    struct cs_dev_quote_opts dflt = { .debug = false };
    out = quote_and_verify(a, &dflt, want_dir, now);
    EXPECT_EQ(out.code, CS_OK);
    expect_claim_hex(&out, "mr_td", cs_dev_default_mr_td, 48);
    expect_claim_hex(&out, "rtmr3", zeros, sizeof zeros);
    expect_claim_hex(&out, "report_data", dflt.report_data, 64);
    outcome_clear(&out);
    tmp_remove(&t);
}

static void test_debug_and_out_of_date(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    if (a == NULL) {
        tmp_remove(&t);
        return;
    }
    const char *dir = cs_dev_attester_collateral_dir(a);
    struct cs_dev_quote_opts o = { .debug = true };
    struct outcome out = quote_and_verify(a, &o, dir, now);
    EXPECT_EQ(out.code, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_TRUE(json_is_true(json_object_get(out.claims, "debug")));
    outcome_clear(&out);

    o = (struct cs_dev_quote_opts){ .out_of_date = true };
    out = quote_and_verify(a, &o, dir, now);
    EXPECT_EQ(out.code, CS_OK);
    EXPECT_STR_EQ(out.status, "OutOfDate");
    EXPECT_TRUE(json_is_false(json_object_get(out.claims, "debug")));
    outcome_clear(&out);

    o = (struct cs_dev_quote_opts){ .out_of_date = true, .debug = true };
    out = quote_and_verify(a, &o, dir, now);
    EXPECT_EQ(out.code, CS_OK);
    EXPECT_STR_EQ(out.status, "OutOfDate");
    EXPECT_TRUE(json_is_true(json_object_get(out.claims, "debug")));
    outcome_clear(&out);
    tmp_remove(&t);
}

static void test_reopen_same_pki(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    struct cs_blob tcb = read_rel(&t, "collateral/tcb_info.json");
    struct cs_blob chain = read_rel(&t, "pck_chain.pem");
    struct cs_blob key = read_rel(&t, "attestation.key");

    /* a second object, without create, 100 days on: the same keys, anchor and collateral */
    CS_AUTO(attester_freep) struct cs_dev_attester *b = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, false, now + 100 * DAY, &b));
    if (a != NULL && b != NULL) {
        struct cs_blob anchor_a = anchor_of(a);
        struct cs_blob anchor_b = anchor_of(b);
        EXPECT_TRUE(anchor_a.len == anchor_b.len &&
                    memcmp(anchor_a.p, anchor_b.p, anchor_a.len) == 0);
        cs_blob_clear(&anchor_a);
        cs_blob_clear(&anchor_b);
        EXPECT_TRUE(same_file(&t, "collateral/tcb_info.json", &tcb));
        EXPECT_TRUE(same_file(&t, "pck_chain.pem", &chain));
        EXPECT_TRUE(same_file(&t, "attestation.key", &key));
        /* b's quotes verify against the collateral a wrote, and the reverse */
        struct cs_dev_quote_opts o = { .report_data = { 1, 2, 3 } };
        struct outcome out = quote_and_verify(b, &o, cs_dev_attester_collateral_dir(a), now);
        EXPECT_EQ(out.code, CS_OK);
        outcome_clear(&out);
        out = quote_and_verify(a, &o, cs_dev_attester_collateral_dir(b), now + 100 * DAY);
        EXPECT_EQ(out.code, CS_OK);
        outcome_clear(&out);
    }
    cs_wipe(key.p, key.len);
    cs_blob_clear(&key);
    cs_blob_clear(&chain);
    cs_blob_clear(&tcb);
    tmp_remove(&t);
}

static void test_missing_is_not_created(void)
{
    struct tmp t;
    tmp_make(&t);
    struct cs_dev_attester *a = NULL;
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, cs_time_now(), &a), CS_E_NOT_FOUND);
    EXPECT_TRUE(a == NULL);
    char path[256];
    path_of(path, sizeof path, &t, "");
    struct stat st;
    EXPECT_TRUE(stat(path, &st) != 0 && errno == ENOENT); /* nothing made */

    /* an empty dev-attester directory holds no PKI either */
    EXPECT_EQ(mkdir(path, 0700), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, cs_time_now(), &a), CS_E_NOT_FOUND);
    path_of(path, sizeof path, &t, "root.key");
    EXPECT_TRUE(stat(path, &st) != 0 && errno == ENOENT);

    /* a missing data directory */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", t.dir);
    EXPECT_ERR(cs_dev_attester_open(missing, false, cs_time_now(), &a), CS_E_NOT_FOUND);

    EXPECT_ERR(cs_dev_attester_open(NULL, true, 0, &a), CS_E_ARG);
    EXPECT_ERR(cs_dev_attester_open("", true, 0, &a), CS_E_ARG);
    EXPECT_ERR(cs_dev_attester_open(t.dir, true, 0, NULL), CS_E_ARG);
    uint8_t *q = NULL;
    size_t len = 0;
    const struct cs_dev_quote_opts o = { .debug = false };
    EXPECT_ERR(cs_dev_attester_quote(NULL, &o, &q, &len), CS_E_ARG);
    char *pem = NULL;
    EXPECT_ERR(cs_dev_attester_anchor_pem(NULL, &pem, &len), CS_E_ARG);
    EXPECT_TRUE(cs_dev_attester_collateral_dir(NULL) == NULL);
    cs_dev_attester_free(NULL);
    tmp_remove(&t);
}

static void test_unsafe_files_refused(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    cs_dev_attester_free(a);
    a = NULL;
    char path[256];

    /* a key readable by others */
    path_of(path, sizeof path, &t, "root.key");
    EXPECT_EQ(chmod(path, 0644), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_ERR(cs_dev_attester_open(t.dir, true, now, &a), CS_E_IO); /* not replaced either */
    EXPECT_EQ(chmod(path, 0640), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_EQ(chmod(path, 0600), 0);
    EXPECT_OK(cs_dev_attester_open(t.dir, false, now, &a));
    cs_dev_attester_free(a);
    a = NULL;

    /* the directory open to others */
    path_of(path, sizeof path, &t, "");
    EXPECT_EQ(chmod(path, 0750), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_EQ(chmod(path, 0700), 0);

    /* a key behind a symlink, even to a 0600 file */
    char key[256], moved[256];
    path_of(key, sizeof key, &t, "attestation.key");
    snprintf(moved, sizeof moved, "%s/elsewhere.key", t.dir);
    EXPECT_EQ(rename(key, moved), 0);
    EXPECT_EQ(symlink(moved, key), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_TRUE(a == NULL);
    EXPECT_EQ(unlink(key), 0);
    EXPECT_EQ(rename(moved, key), 0);

    /* root.pem writable by others */
    path_of(path, sizeof path, &t, "root.pem");
    EXPECT_EQ(chmod(path, 0666), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_EQ(chmod(path, 0644), 0);

    /* the dev-attester directory itself a symlink */
    char home[256], real[256];
    path_of(home, sizeof home, &t, "");
    home[strlen(home) - 1] = '\0'; /* drop the trailing '/' */
    snprintf(real, sizeof real, "%s/real-home", t.dir);
    EXPECT_EQ(rename(home, real), 0);
    EXPECT_EQ(symlink(real, home), 0);
    EXPECT_ERR(cs_dev_attester_open(t.dir, false, now, &a), CS_E_IO);
    EXPECT_ERR(cs_dev_attester_open(t.dir, true, now, &a), CS_E_IO);
    EXPECT_EQ(unlink(home), 0);
    EXPECT_EQ(rename(real, home), 0);

    EXPECT_OK(cs_dev_attester_open(t.dir, false, now, &a));
    cs_dev_attester_free(a);
    tmp_remove(&t);
}

static void test_damaged_pki(void)
{
    struct tmp ta, tb;
    tmp_make(&ta);
    tmp_make(&tb);
    int64_t now = cs_time_now();
    struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(ta.dir, true, now, &a));
    cs_dev_attester_free(a);
    EXPECT_OK(cs_dev_attester_open(tb.dir, true, now, &a));
    cs_dev_attester_free(a);
    a = NULL;
    char pa[256], pb[256];

    /* B's root certificate in A: not A's root key */
    path_of(pa, sizeof pa, &ta, "root.pem");
    path_of(pb, sizeof pb, &tb, "root.pem");
    struct cs_blob root_a = read_rel(&ta, "root.pem");
    EXPECT_EQ(rename(pb, pa), 0);
    EXPECT_ERR(cs_dev_attester_open(ta.dir, false, now, &a), CS_E_CHAIN);

    /* garbage */
    FILE *f = fopen(pa, "w");
    EXPECT_TRUE(f != NULL);
    if (f != NULL) {
        fputs("not a certificate\n", f);
        fclose(f);
    }
    EXPECT_ERR(cs_dev_attester_open(ta.dir, false, now, &a), CS_E_FORMAT);
    f = fopen(pa, "w");
    if (f != NULL) {
        fwrite(root_a.p, 1, root_a.len, f);
        fclose(f);
    }
    EXPECT_OK(cs_dev_attester_open(ta.dir, false, now, &a));
    cs_dev_attester_free(a);
    a = NULL;

    /* a key missing while root.pem is there: damaged, not "no PKI" */
    path_of(pa, sizeof pa, &ta, "pck_ca.key");
    path_of(pb, sizeof pb, &tb, "pck_ca.key");
    EXPECT_EQ(unlink(pa), 0);
    EXPECT_ERR(cs_dev_attester_open(ta.dir, false, now, &a), CS_E_IO);
    /* B's PCK CA key in A: the chain and collateral made with A's former key no longer
     * verify, so the self-check makes them afresh with the key now on disk */
    EXPECT_EQ(link(pb, pa), 0);
    EXPECT_OK(cs_dev_attester_open(ta.dir, false, now, &a)); /* collateral regenerated */
    if (a != NULL) {
        struct cs_dev_quote_opts o = { .debug = false };
        struct outcome out = quote_and_verify(a, &o, cs_dev_attester_collateral_dir(a), now);
        EXPECT_EQ(out.code, CS_OK);
        outcome_clear(&out);
    }
    cs_dev_attester_free(a);
    cs_blob_clear(&root_a);
    tmp_remove(&ta);
    tmp_remove(&tb);
}

static void test_collateral_renewed_near_expiry(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    struct cs_blob tcb = read_rel(&t, "collateral/tcb_info.json");
    struct cs_blob crl = read_rel(&t, "collateral/pck_crl.der");
    struct cs_blob chain = read_rel(&t, "pck_chain.pem");

    /* 334 days on: 31 days left, still served */
    CS_AUTO(attester_freep) struct cs_dev_attester *b = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, false, now + 334 * DAY, &b));
    EXPECT_TRUE(same_file(&t, "collateral/tcb_info.json", &tcb));

    /* 340 days on: 25 days left, renewed with the same keys and anchor */
    int64_t later = now + 340 * DAY;
    CS_AUTO(attester_freep) struct cs_dev_attester *c = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, false, later, &c));
    EXPECT_TRUE(!same_file(&t, "collateral/tcb_info.json", &tcb));
    EXPECT_TRUE(!same_file(&t, "collateral/pck_crl.der", &crl));
    EXPECT_TRUE(!same_file(&t, "pck_chain.pem", &chain));
    if (a != NULL && c != NULL) {
        struct cs_blob anchor_a = anchor_of(a);
        struct cs_blob anchor_c = anchor_of(c);
        EXPECT_TRUE(anchor_a.len == anchor_c.len &&
                    memcmp(anchor_a.p, anchor_c.p, anchor_a.len) == 0);
        cs_blob_clear(&anchor_a);
        cs_blob_clear(&anchor_c);
        struct cs_dev_quote_opts o = { .report_data = { 9 } };
        struct outcome out = quote_and_verify(c, &o, cs_dev_attester_collateral_dir(c), later);
        EXPECT_EQ(out.code, CS_OK);
        EXPECT_STR_EQ(out.status, "UpToDate");
        outcome_clear(&out);
        /* the new collateral's window: until later + 365 days, not after */
        out = quote_and_verify(c, &o, cs_dev_attester_collateral_dir(c), later + 364 * DAY);
        EXPECT_EQ(out.code, CS_OK);
        outcome_clear(&out);
        out = quote_and_verify(c, &o, cs_dev_attester_collateral_dir(c), later + 366 * DAY);
        EXPECT_EQ(out.code, CS_E_EXPIRED);
        outcome_clear(&out);
    }

    /* a deleted collateral file is put back on the next open */
    char path[256];
    path_of(path, sizeof path, &t, "collateral/qe_identity.json");
    EXPECT_EQ(unlink(path), 0);
    CS_AUTO(attester_freep) struct cs_dev_attester *d = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, false, later, &d));
    struct stat st;
    EXPECT_EQ(stat(path, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644);

    cs_blob_clear(&tcb);
    cs_blob_clear(&crl);
    cs_blob_clear(&chain);
    tmp_remove(&t);
}

static void test_other_data_dir_does_not_verify(void)
{
    struct tmp ta, tb;
    tmp_make(&ta);
    tmp_make(&tb);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    CS_AUTO(attester_freep) struct cs_dev_attester *b = NULL;
    EXPECT_OK(cs_dev_attester_open(ta.dir, true, now, &a));
    EXPECT_OK(cs_dev_attester_open(tb.dir, true, now, &b));
    if (a != NULL && b != NULL) {
        struct cs_dev_quote_opts o = { .debug = false };
        struct outcome out = quote_and_verify(a, &o, cs_dev_attester_collateral_dir(b), now);
        EXPECT_EQ(out.code, CS_E_CHAIN);
        EXPECT_TRUE(out.claims == NULL);
        outcome_clear(&out);
        out = quote_and_verify(b, &o, cs_dev_attester_collateral_dir(a), now);
        EXPECT_EQ(out.code, CS_E_CHAIN);
        outcome_clear(&out);
        struct cs_blob anchor_a = anchor_of(a);
        struct cs_blob anchor_b = anchor_of(b);
        EXPECT_TRUE(anchor_a.len != anchor_b.len ||
                    memcmp(anchor_a.p, anchor_b.p, anchor_a.len) != 0);
        cs_blob_clear(&anchor_a);
        cs_blob_clear(&anchor_b);
    }
    tmp_remove(&ta);
    tmp_remove(&tb);
}

struct worker {
    const struct cs_dev_attester *a;
    struct custos_dcap_collateral *coll;
    int64_t now;
    uint8_t id;
    int verified; /* quotes that verified with this worker's report data */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < QUOTES_PER_THREAD; i++) {
        struct cs_dev_quote_opts o = { .debug = (i & 1) != 0 };
        memset(o.report_data, w->id, sizeof o.report_data);
        o.report_data[63] = (uint8_t)i;
        uint8_t *q = NULL;
        size_t len = 0;
        if (!cs_ok(cs_dev_attester_quote(w->a, &o, &q, &len))) {
            continue;
        }
        struct custos_verdict *v = NULL;
        cs_res r = custos_dcap_verify(w->coll, q, len, w->now, &v);
        char *text = NULL;
        if (cs_ok(r) && cs_ok(custos_verdict_claims_json(v, &text))) {
            json_t *claims = json_loads(text, 0, NULL);
            char hex[129];
            if (cs_ok(cs_hex_encode(o.report_data, 64, hex, sizeof hex)) &&
                strcmp(json_string_value(json_object_get(claims, "report_data")), hex) == 0 &&
                json_is_boolean(json_object_get(claims, "debug")) &&
                json_boolean_value(json_object_get(claims, "debug")) == o.debug) {
                w->verified++;
            }
            json_decref(claims);
        }
        custos_free(text);
        custos_verdict_free(v);
        cs_free(q);
    }
    return NULL;
}

static void test_concurrent_quotes(void)
{
    struct tmp t;
    tmp_make(&t);
    int64_t now = cs_time_now();
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    EXPECT_OK(cs_dev_attester_open(t.dir, true, now, &a));
    CS_AUTO(collateral_freep) struct custos_dcap_collateral *coll = NULL;
    if (a != NULL) {
        EXPECT_OK(custos_dcap_collateral_load_dir(cs_dev_attester_collateral_dir(a), NULL, &coll));
    }
    if (coll == NULL) {
        tmp_remove(&t);
        return;
    }
    pthread_t th[N_THREADS];
    struct worker w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){ .a = a, .coll = coll, .now = now, .id = (uint8_t)(0xa0 + i) };
        EXPECT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        EXPECT_EQ(pthread_join(th[i], NULL), 0);
        EXPECT_EQ(w[i].verified, QUOTES_PER_THREAD);
    }
    tmp_remove(&t);
}

CS_TEST_MAIN(CS_TEST(test_create_quote_verify), CS_TEST(test_debug_and_out_of_date),
             CS_TEST(test_reopen_same_pki), CS_TEST(test_missing_is_not_created),
             CS_TEST(test_unsafe_files_refused), CS_TEST(test_damaged_pki),
             CS_TEST(test_collateral_renewed_near_expiry),
             CS_TEST(test_other_data_dir_does_not_verify), CS_TEST(test_concurrent_quotes))
