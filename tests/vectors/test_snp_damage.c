/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Damage to the real SNP evidence and certificates of ../shared must be caught, and as
 * the right class: every truncation of a report (truncated) and one extra byte
 * (trailing); a flipped bit in each byte of the signed region (signature, or the parse
 * error when the flip breaks a checked field: both are asserted to agree with the
 * parser); a flipped byte in R/S (signature) and in the signature's reserved tail
 * (format); a flipped byte in each certificate - VCEK/VLEK, ASK/ASVK, ARK (chain); one
 * second outside the validity window (expired), on both edges; evidence against another
 * case's collateral (chain or signature). Also: the collateral object is reusable across
 * reports and threads with identical verdicts, its memo does not outlive validity, and
 * unverified claims never leave the verdict.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "cs_cases.h"
#include "cs_test.h"
#include "custos/snp.h"
#include "evidence/snp_report.h"

struct kase {
    char id[16];
    int64_t at;
    int64_t not_before;
    int64_t not_after;
    bool is_vlek;
    struct cs_blob report;
    struct cs_blob anchor;
    struct cs_blob chain;
    struct cs_blob vek;
};

static const char *const all_cases[] = { "N01", "N02", "N03", "N04", "N08" };
#define N_CASES (sizeof all_cases / sizeof all_cases[0])

static void kase_load(const char *id, struct kase *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", id);
    char dir[4096];
    json_t *cj = cs_case_open(id, dir, sizeof dir);
    cs_case_window(cj, &k->at, &k->not_before, &k->not_after);
    char path[8192];
    json_decref(cj);
    snprintf(path, sizeof path, "%s/report.bin", dir);
    k->report.p = tv_read(path, &k->report.len);
    snprintf(path, sizeof path, "%s/trust_anchor.pem", dir);
    k->anchor.p = tv_read(path, &k->anchor.len);
    snprintf(path, sizeof path, "%s/ca_chain.pem", dir);
    k->chain.p = tv_read(path, &k->chain.len);
    snprintf(path, sizeof path, "%s/vcek.der", dir);
    if (access(path, R_OK) != 0) {
        snprintf(path, sizeof path, "%s/vlek.der", dir);
        k->is_vlek = true;
    }
    k->vek.p = tv_read(path, &k->vek.len);
}

static void kase_clear(struct kase *k)
{
    cs_blob_clear(&k->report);
    cs_blob_clear(&k->anchor);
    cs_blob_clear(&k->chain);
    cs_blob_clear(&k->vek);
}

static cs_code collateral(const struct kase *k, struct custos_snp_collateral **out)
{
    struct custos_bytes vek = { k->vek.p, k->vek.len };
    struct custos_snp_collateral_src src = {
        .trust_anchor = { k->anchor.p, k->anchor.len },
        .ca_chain = { k->chain.p, k->chain.len },
        .vcek = k->is_vlek ? (struct custos_bytes){ 0 } : vek,
        .vlek = k->is_vlek ? vek : (struct custos_bytes){ 0 },
    };
    struct custos_diag d = { 0 };
    *out = NULL;
    return custos_snp_collateral_new(&src, &d, out).code;
}

static cs_code verify(struct custos_snp_collateral *c, const uint8_t *ev, size_t len, int64_t at)
{
    uint8_t *copy = tv_dup(ev, len); /* exact size: ASan sees over-reads */
    struct custos_verdict *v = NULL;
    cs_res r = custos_snp_verify(c, copy, len, at, &v);
    EXPECT_TRUE(v != NULL && custos_verdict_code(v) == r.code);
    custos_verdict_free(v);
    free(copy);
    return r.code;
}

static cs_code parse_code(const uint8_t *p, size_t len)
{
    struct cs_snp_report r;
    return cs_snp_report_parse(p, len, &r).code;
}

static void test_truncations_and_trailing(void)
{
    struct kase k;
    kase_load("N08", &k);
    struct custos_snp_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    for (size_t n = 0; n < k.report.len; n++) {
        cs_code got = verify(c, k.report.p, n, k.at);
        if (got != CS_E_TRUNCATED) {
            fprintf(stderr, "truncated to %zu: %s\n", n, custos_code_name(got));
            EXPECT_EQ(got, CS_E_TRUNCATED);
            break;
        }
    }
    uint8_t *longer = calloc(1, k.report.len + 1);
    memcpy(longer, k.report.p, k.report.len);
    EXPECT_EQ(verify(c, longer, k.report.len + 1, k.at), CS_E_TRAILING);
    free(longer);
    EXPECT_EQ(verify(c, k.report.p, k.report.len, k.at), CS_OK);
    custos_snp_collateral_free(c);
    kase_clear(&k);
}

/*
 * One bit flipped in bytes [from, to) with a stride: a flip the parser rejects must be
 * rejected with the parser's code; any other must be a signature failure.
 */
static size_t flips(struct custos_snp_collateral *c, const struct kase *k, size_t from, size_t to,
                    size_t stride, cs_code want)
{
    uint8_t *m = tv_dup(k->report.p, k->report.len);
    size_t n_want = 0;
    for (size_t off = from; off < to; off += stride) {
        uint8_t bit = (uint8_t)(1u << (off % 8));
        m[off] ^= bit;
        cs_code parsed = parse_code(m, k->report.len);
        cs_code got = verify(c, m, k->report.len, k->at);
        m[off] ^= bit;
        cs_code expect = parsed == CS_OK ? want : parsed;
        n_want += got == want;
        if (got != expect) {
            fprintf(stderr, "%s: flip at %#zx: got %s, want %s\n", k->id, off,
                    custos_code_name(got), custos_code_name(expect));
            EXPECT_EQ(got, expect);
            break;
        }
    }
    free(m);
    return n_want;
}

static void test_bit_flips(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(all_cases[ci], &k);
        struct custos_snp_collateral *c = NULL;
        EXPECT_EQ(collateral(&k, &c), CS_OK);
        EXPECT_EQ(verify(c, k.report.p, k.report.len, k.at), CS_OK);
        /* every byte of the signed region for the v5 report, every 31st for the others
         * (each flip costs one P-384 verification, and this runs under valgrind too) */
        size_t stride = strcmp(k.id, "N08") == 0 ? 1 : 31;
        size_t n_sig = flips(c, &k, 0, CS_SNP_SIGNED_LEN, stride, CS_E_SIGNATURE);
        /* most flips must reach the signature check: only the reserved and allowlisted
         * fields make the parser reject them first (about 30% of the signed bytes) */
        size_t n_flips = (CS_SNP_SIGNED_LEN + stride - 1) / stride;
        printf("%s: %zu of %zu flips in the signed region reached the signature\n", k.id, n_sig,
               n_flips);
        EXPECT_TRUE(n_sig * 10 >= n_flips * 6);
        size_t r = CS_SNP_SIGNED_LEN;
        size_t s = r + CS_SNP_SIG_FIELD_LEN;
        flips(c, &k, r, r + CS_SNP_SIG_FIELD_LEN, 8, CS_E_SIGNATURE); /* R and its excess */
        flips(c, &k, s, s + CS_SNP_SIG_FIELD_LEN, 8, CS_E_SIGNATURE); /* S and its excess */
        flips(c, &k, s + CS_SNP_SIG_FIELD_LEN, CS_SNP_REPORT_LEN, 29, CS_E_FORMAT); /* tail */
        custos_snp_collateral_free(c);
        kase_clear(&k);
    }
}

/* The offset of the first occurrence of needle in the DER, or 0. */
static size_t find(const struct cs_blob *b, const char *needle)
{
    const uint8_t *hit = memmem(b->p, b->len, needle, strlen(needle));
    return hit == NULL ? 0 : (size_t)(hit - b->p);
}

static void expect_chain_failure(const char *what, cs_code got)
{
    if (got != CS_E_CHAIN) {
        fprintf(stderr, "%s: got %s\n", what, custos_code_name(got));
        EXPECT_EQ(got, CS_E_CHAIN);
    }
}

static void test_flipped_certificates(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(all_cases[ci], &k);
        /* the VCEK/VLEK: its signature value, and a letter of its subject ("Santa Clara") */
        size_t at_name = find(&k.vek, "Santa Clara");
        EXPECT_TRUE(at_name > 0);
        const size_t offsets[] = { k.vek.len - 3, at_name + 2 };
        for (size_t i = 0; i < 2; i++) {
            uint8_t *orig = k.vek.p;
            k.vek.p = tv_dup(orig, k.vek.len);
            k.vek.p[offsets[i]] ^= 0x01;
            struct custos_snp_collateral *c = NULL;
            EXPECT_EQ(collateral(&k, &c), CS_OK); /* decoded only: verified when used */
            expect_chain_failure(k.id, verify(c, k.report.p, k.report.len, k.at));
            custos_snp_collateral_free(c);
            free(k.vek.p);
            k.vek.p = orig;
        }
        /* the ASK/ASVK and the ARK copy in ca_chain, and the anchor: at load time */
        struct cs_blob *pems[] = { &k.chain, &k.chain, &k.anchor };
        const size_t nth[] = { 0, 1, 0 };
        for (size_t i = 0; i < 3; i++) {
            for (int where = 0; where < 2; where++) {
                uint8_t *orig = pems[i]->p;
                pems[i]->p = tv_dup(orig, pems[i]->len);
                EXPECT_TRUE(cs_case_flip_in_pem_cert(pems[i]->p, pems[i]->len, nth[i],
                                                     where == 0 ? 3 : 60, where == 0));
                struct custos_snp_collateral *c = NULL;
                expect_chain_failure(k.id, collateral(&k, &c));
                custos_snp_collateral_free(c);
                free(pems[i]->p);
                pems[i]->p = orig;
            }
        }
        kase_clear(&k);
    }
}

static void test_validity_window_edges(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(all_cases[ci], &k);
        struct custos_snp_collateral *c = NULL;
        EXPECT_EQ(collateral(&k, &c), CS_OK);
        const uint8_t *r = k.report.p;
        size_t n = k.report.len;
        EXPECT_EQ(verify(c, r, n, k.not_before), CS_OK);
        EXPECT_EQ(verify(c, r, n, k.not_after), CS_OK);
        EXPECT_EQ(verify(c, r, n, k.not_before - 1), CS_E_EXPIRED);
        EXPECT_EQ(verify(c, r, n, k.not_after + 1), CS_E_EXPIRED);
        custos_snp_collateral_free(c);
        kase_clear(&k);
    }
}

static void test_other_cases_collateral(void)
{
    struct kase vcek;
    struct kase vlek;
    kase_load("N02", &vcek);
    kase_load("N03", &vlek);
    struct custos_snp_collateral *cv = NULL;
    struct custos_snp_collateral *cl = NULL;
    EXPECT_EQ(collateral(&vcek, &cv), CS_OK);
    EXPECT_EQ(collateral(&vlek, &cl), CS_OK);
    /* a VLEK report where only a VCEK and the ASK are configured, and vice versa */
    EXPECT_EQ(verify(cv, vlek.report.p, vlek.report.len, vlek.at), CS_E_CHAIN);
    EXPECT_EQ(verify(cl, vcek.report.p, vcek.report.len, vcek.at), CS_E_CHAIN);
    /* another chip's VCEK: its key did not sign the report */
    struct kase n04;
    kase_load("N04", &n04);
    EXPECT_EQ(verify(cv, n04.report.p, n04.report.len, vcek.at), CS_E_SIGNATURE);
    custos_snp_collateral_free(cv);
    custos_snp_collateral_free(cl);
    kase_clear(&vcek);
    kase_clear(&vlek);
    kase_clear(&n04);
}

struct thread_arg {
    struct custos_snp_collateral *c;
    const struct kase *k;
    int failures;
};

static void *verify_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 5; i++) {
        if (verify(a->c, a->k->report.p, a->k->report.len, a->k->at) != CS_OK) {
            a->failures++;
        }
    }
    return NULL;
}

/* Two threads on a fresh collateral: both may verify the VCEK chain and fill the memo. */
static void threads_on(struct custos_snp_collateral *c, const struct kase *k)
{
    struct thread_arg args[2] = { { c, k, 0 }, { c, k, 0 } };
    cs_case_two_threads(verify_many, &args[0], &args[1]);
    EXPECT_EQ(args[0].failures, 0);
    EXPECT_EQ(args[1].failures, 0);
}

static void test_collateral_reuse_and_threads(void)
{
    struct kase k;
    kase_load("N03", &k);
    struct custos_snp_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    threads_on(c, &k); /* cold: the threads race to the first verification */
    custos_snp_collateral_free(c);
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    char *first = NULL;
    for (int i = 0; i < 3; i++) { /* cold, then memoised: identical verdicts */
        struct custos_verdict *v = NULL;
        EXPECT_OK(custos_snp_verify(c, k.report.p, k.report.len, k.at, &v));
        cs_case_expect_same_verdict(v, &first);
        custos_verdict_free(v);
    }
    custos_free(first);
    /* the memo does not outlive validity */
    EXPECT_EQ(verify(c, k.report.p, k.report.len, k.not_after + 1), CS_E_EXPIRED);
    threads_on(c, &k); /* warm */
    custos_snp_collateral_free(c);
    kase_clear(&k);
}

static void test_unverified_claims_stay_inside(void)
{
    struct kase k;
    kase_load("N02", &k);
    struct custos_snp_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    k.report.p[0x90] ^= 0x01; /* measurement */
    struct custos_verdict *v = NULL;
    EXPECT_ERR(custos_snp_verify(c, k.report.p, k.report.len, k.at, &v), CS_E_SIGNATURE);
    char *text = NULL;
    EXPECT_ERR(custos_verdict_claims_json(v, &text), CS_E_POLICY);
    EXPECT_TRUE(text == NULL);
    EXPECT_TRUE(!custos_verdict_is_verified(v));
    EXPECT_TRUE(strstr(custos_verdict_message(v), "signature") != NULL);
    custos_verdict_free(v);
    custos_snp_collateral_free(c);
    kase_clear(&k);
}

CS_TEST_MAIN(CS_TEST(test_truncations_and_trailing), CS_TEST(test_bit_flips),
             CS_TEST(test_flipped_certificates), CS_TEST(test_validity_window_edges),
             CS_TEST(test_other_cases_collateral), CS_TEST(test_collateral_reuse_and_threads),
             CS_TEST(test_unverified_claims_stay_inside))
