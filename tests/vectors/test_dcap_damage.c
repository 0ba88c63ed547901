/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Damage to real evidence and collateral must be caught, and caught as the right class:
 * a flipped bit anywhere in a signed span (signature), a flipped byte in each certificate
 * of the PCK chain and of the collateral issuer chain (chain/signature), collateral one
 * second outside the validity window (expired), a pretty-printed TCB Info or QE Identity
 * (signature: the signature covers the bytes as served). Also: the collateral object is
 * reusable across quotes and threads with identical verdicts.
 */
#include <jansson.h>
#include <openssl/evp.h>

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "cs_cases.h"
#include "cs_test.h"
#include "custos/dcap.h"
#include "evidence/intel_quote.h"

struct kase {
    char dir[4096];
    int64_t at;
    int64_t not_before;
    int64_t not_after;
    struct cs_blob quote;
    struct cs_blob files[7]; /* tcb, tcb chain, qe, qe chain, pck crl, root crl, anchor */
};

static const char *const coll_names[7] = {
    "tcb_info.json", "tcb_info_issuer_chain.pem", "qe_identity.json",
    "qe_identity_issuer_chain.pem", "pck_crl.der", "root_ca_crl.der", "trust_anchor.pem",
};

static void kase_load(const char *id, struct kase *k)
{
    memset(k, 0, sizeof *k);
    json_t *cj = cs_case_open(id, k->dir, sizeof k->dir);
    cs_case_window(cj, &k->at, &k->not_before, &k->not_after);
    char path[8192];
    json_decref(cj);
    snprintf(path, sizeof path, "%s/quote.bin", k->dir);
    k->quote.p = tv_read(path, &k->quote.len);
    for (size_t i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s", k->dir, coll_names[i]);
        k->files[i].p = tv_read(path, &k->files[i].len);
    }
}

static void kase_clear(struct kase *k)
{
    cs_blob_clear(&k->quote);
    for (size_t i = 0; i < 7; i++) {
        cs_blob_clear(&k->files[i]);
    }
}

static struct custos_bytes b_of(const struct cs_blob *b)
{
    return (struct custos_bytes){ b->p, b->len };
}

static cs_code collateral(const struct kase *k, struct custos_dcap_collateral **out)
{
    struct custos_dcap_collateral_src src = {
        b_of(&k->files[0]), b_of(&k->files[1]), b_of(&k->files[2]), b_of(&k->files[3]),
        b_of(&k->files[4]), b_of(&k->files[5]), b_of(&k->files[6]),
    };
    struct custos_diag d = { 0 };
    return custos_dcap_collateral_new(&src, &d, out).code;
}

static cs_code verify(struct custos_dcap_collateral *c, const uint8_t *q, size_t len, int64_t at)
{
    struct custos_verdict *v = NULL;
    cs_res r = custos_dcap_verify(c, q, len, at, &v);
    custos_verdict_free(v);
    return r.code;
}

static const char *const signature_cases[] = { "T01", "T06", "S01" }; /* v4, v5, v3 */

static void test_bit_flips_in_signed_spans(void)
{
    for (size_t ci = 0; ci < sizeof signature_cases / sizeof signature_cases[0]; ci++) {
        struct kase k;
        kase_load(signature_cases[ci], &k);
        struct custos_dcap_collateral *c = NULL;
        EXPECT_EQ(collateral(&k, &c), CS_OK);
        struct cs_intel_quote q;
        EXPECT_OK(cs_intel_quote_parse(k.quote.p, k.quote.len, &q));
        EXPECT_EQ(verify(c, k.quote.p, k.quote.len, k.at), CS_OK);
        size_t qe_off = (size_t)(q.qe_report_raw.p - k.quote.p);
        size_t qe_sig_off = qe_off + CS_SGX_REPORT_BODY_LEN;
        size_t sig_off = (size_t)(q.sig_data.p - k.quote.p);
        struct {
            size_t from, to;
            cs_code want;
        } spans[] = {
            { 12, q.signed_span.left, CS_E_SIGNATURE }, /* header after the type fields + body */
            { sig_off, sig_off + 64, CS_E_SIGNATURE },   /* quote signature r||s */
            { sig_off + 64, sig_off + 128, CS_E_BINDING }, /* attestation key: bound by hash */
            { qe_off, qe_off + CS_SGX_REPORT_BODY_LEN, CS_E_SIGNATURE }, /* QE report */
            { qe_sig_off, qe_sig_off + 64, CS_E_SIGNATURE },             /* its signature */
        };
        uint8_t *m = tv_dup(k.quote.p, k.quote.len);
        for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++) {
            for (size_t off = spans[s].from; off < spans[s].to; off++) {
                if (q.version == 5 && off >= 48 && off < 54) {
                    continue; /* v5 body type and size: parse errors, tested elsewhere */
                }
                uint8_t bit = (uint8_t)(1u << (off % 8));
                m[off] ^= bit;
                cs_code got = verify(c, m, k.quote.len, k.at);
                m[off] ^= bit;
                /* a flip that makes the attestation key an invalid point is a signature
                 * failure before the binding is checked: both are a rejection */
                bool is_ok = got == spans[s].want ||
                             (spans[s].want == CS_E_BINDING && got == CS_E_SIGNATURE);
                if (!is_ok) {
                    fprintf(stderr, "%s: flip at %zu: got %s\n", signature_cases[ci], off,
                            custos_code_name(got));
                    EXPECT_EQ(got, spans[s].want);
                    break;
                }
            }
        }
        free(m);
        custos_dcap_collateral_free(c);
        kase_clear(&k);
    }
}

static void test_flipped_certificates(void)
{
    struct kase k;
    kase_load("T01", &k);
    struct custos_dcap_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    struct cs_intel_quote q;
    EXPECT_OK(cs_intel_quote_parse(k.quote.p, k.quote.len, &q));
    size_t chain_off = (size_t)(q.pck_chain.p - k.quote.p);
    /* 3 = inside the ECDSA signature value at the end of each certificate; 200 = the TBS */
    static const size_t where[] = { 3, 200 };
    for (size_t cert = 0; cert < 3; cert++) {
        for (size_t w = 0; w < 2; w++) {
            uint8_t *m = tv_dup(k.quote.p, k.quote.len);
            EXPECT_TRUE(
                cs_case_flip_in_pem_cert(m + chain_off, q.pck_chain.left, cert, where[w], true));
            cs_code got = verify(c, m, k.quote.len, k.at);
            if (got != CS_E_CHAIN && got != CS_E_SIGNATURE) {
                fprintf(stderr, "PCK chain cert %zu byte -%zu: got %s\n", cert, where[w],
                        custos_code_name(got));
                EXPECT_TRUE(got == CS_E_CHAIN || got == CS_E_SIGNATURE);
            }
            free(m);
        }
    }
    custos_dcap_collateral_free(c);
    /* the collateral issuer chains: TCB Signing and root, in each file */
    for (size_t file = 1; file <= 3; file += 2) {
        for (size_t cert = 0; cert < 2; cert++) {
            uint8_t *orig = k.files[file].p;
            uint8_t *m = tv_dup(orig, k.files[file].len);
            EXPECT_TRUE(cs_case_flip_in_pem_cert(m, k.files[file].len, cert, 3, true));
            k.files[file].p = m;
            struct custos_dcap_collateral *bad = NULL;
            cs_code got = collateral(&k, &bad);
            EXPECT_TRUE(got == CS_E_CHAIN || got == CS_E_SIGNATURE);
            custos_dcap_collateral_free(bad);
            k.files[file].p = orig;
            free(m);
        }
    }
    kase_clear(&k);
}

static const char *const window_cases[] = { "T01", "T03", "T06", "T08", "T10",
                                            "T11", "S01", "S03" };

static void test_validity_window_edges(void)
{
    for (size_t ci = 0; ci < sizeof window_cases / sizeof window_cases[0]; ci++) {
        struct kase k;
        kase_load(window_cases[ci], &k);
        struct custos_dcap_collateral *c = NULL;
        EXPECT_EQ(collateral(&k, &c), CS_OK);
        const uint8_t *q = k.quote.p;
        EXPECT_EQ(verify(c, q, k.quote.len, k.not_before), CS_OK);
        EXPECT_EQ(verify(c, q, k.quote.len, k.not_after), CS_OK);
        EXPECT_EQ(verify(c, q, k.quote.len, k.not_before - 1), CS_E_EXPIRED);
        EXPECT_EQ(verify(c, q, k.quote.len, k.not_after + 1), CS_E_EXPIRED);
        struct custos_diag d = { 0 };
        EXPECT_ERR(custos_dcap_collateral_check(c, k.not_after + 1, &d), CS_E_EXPIRED);
        EXPECT_TRUE(strstr(d.msg, "expired") != NULL || strstr(d.msg, "not valid") != NULL);
        custos_dcap_collateral_free(c);
        kase_clear(&k);
    }
}

/* Re-serialises the body of a signed document with indentation, signature unchanged. */
static void pretty_doc(struct cs_blob *b, const char *key)
{
    json_t *root = json_loadb((const char *)b->p, b->len, 0, NULL);
    EXPECT_TRUE(root != NULL);
    char *body = json_dumps(json_object_get(root, key), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    const char *sig = json_string_value(json_object_get(root, "signature"));
    size_t cap = strlen(body) + strlen(sig) + 64;
    char *out = malloc(cap);
    int n = snprintf(out, cap, "{\"%s\":%s,\"signature\":\"%s\"}", key, body, sig);
    cs_blob_clear(b);
    b->p = (uint8_t *)out;
    b->len = (size_t)n;
    free(body);
    json_decref(root);
}

static void test_pretty_printed_collateral(void)
{
    struct kase k;
    kase_load("T01", &k);
    pretty_doc(&k.files[0], "tcbInfo");
    struct custos_dcap_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_E_SIGNATURE);
    kase_clear(&k);
    kase_load("S01", &k);
    pretty_doc(&k.files[2], "enclaveIdentity");
    EXPECT_EQ(collateral(&k, &c), CS_E_SIGNATURE);
    kase_clear(&k);
}

struct thread_arg {
    struct custos_dcap_collateral *c;
    const struct kase *k;
    int failures;
};

static void *verify_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 50; i++) {
        if (verify(a->c, a->k->quote.p, a->k->quote.len, a->k->at) != CS_OK) {
            a->failures++;
        }
    }
    return NULL;
}

static void test_collateral_reuse_and_threads(void)
{
    struct kase k;
    kase_load("T10", &k);
    struct custos_dcap_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    char *first = NULL;
    for (int i = 0; i < 3; i++) { /* cold, then memoised: identical verdicts */
        struct custos_verdict *v = NULL;
        EXPECT_OK(custos_dcap_verify(c, k.quote.p, k.quote.len, k.at, &v));
        cs_case_expect_same_verdict(v, &first);
        custos_verdict_free(v);
    }
    custos_free(first);
    /* the memo does not outlive validity: same chain, instant after it expires */
    EXPECT_EQ(verify(c, k.quote.p, k.quote.len, k.not_after + 1), CS_E_EXPIRED);
    struct thread_arg args[2] = { { c, &k, 0 }, { c, &k, 0 } };
    cs_case_two_threads(verify_many, &args[0], &args[1]);
    EXPECT_EQ(args[0].failures, 0);
    EXPECT_EQ(args[1].failures, 0);
    custos_dcap_collateral_free(c);
    kase_clear(&k);
}

static void test_unverified_claims_stay_inside(void)
{
    struct kase k;
    kase_load("T02", &k); /* fails: tcb */
    struct custos_dcap_collateral *c = NULL;
    EXPECT_EQ(collateral(&k, &c), CS_OK);
    struct custos_verdict *v = NULL;
    EXPECT_ERR(custos_dcap_verify(c, k.quote.p, k.quote.len, k.at, &v), CS_E_TCB);
    char *text = NULL;
    EXPECT_ERR(custos_verdict_claims_json(v, &text), CS_E_POLICY);
    EXPECT_TRUE(text == NULL);
    EXPECT_TRUE(!custos_verdict_is_verified(v));
    EXPECT_TRUE(strlen(custos_verdict_message(v)) > 0);
    custos_verdict_free(v);
    custos_dcap_collateral_free(c);
    kase_clear(&k);
}

CS_TEST_MAIN(CS_TEST(test_bit_flips_in_signed_spans), CS_TEST(test_flipped_certificates),
             CS_TEST(test_validity_window_edges), CS_TEST(test_pretty_printed_collateral),
             CS_TEST(test_collateral_reuse_and_threads), CS_TEST(test_unverified_claims_stay_inside))
