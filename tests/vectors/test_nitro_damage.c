/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Damage to real Nitro attestation documents (../shared/testdata/evidence A01, A02, A05,
 * A07) must be caught, and caught as the right class:
 *   - every truncation (format: truncated) and one trailing byte (format: trailing);
 *   - a bit flip in each byte of the signed region outside the certificates (protected
 *     header and payload): signature whenever the damaged document still parses, else
 *     the parser's own code; a flip in each byte of the signature: signature. Each flip
 *     costs an ECDSA P-384 verification, some fifty times slower under valgrind: there
 *     (a memory check, not a coverage run) every seventh byte only;
 *   - a flipped byte in each certificate (leaf and every cabundle entry): chain or
 *     signature at DER-neutral positions (cabundle[0] is compared byte for byte with the
 *     anchor: chain), and never a verified document anywhere;
 *   - one second outside the chain's window and outside each certificate's own validity:
 *     expired; the window's edges themselves verify.
 * Also: the tagged form of a real document, another anchor, the collateral object reused
 * across documents and threads with identical verdicts, and claims of a rejected document
 * that never leave its verdict.
 */
#include <jansson.h>
#include <openssl/x509.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "cs_cases.h"
#include "cs_test.h"
#include "custos/nitro.h"
#include "evidence/nitro_doc.h"

struct kase {
    char dir[4096];
    int64_t at;        /* the case's instant */
    int64_t ok_at;     /* an instant inside the window (the middle) */
    int64_t not_before; /* the window */
    int64_t not_after;
    struct cs_blob doc;
    struct custos_nitro_collateral *c;
};

static void kase_load(const char *id, struct kase *k)
{
    memset(k, 0, sizeof *k);
    json_t *cj = cs_case_open(id, k->dir, sizeof k->dir);
    cs_case_window(cj, &k->at, &k->not_before, &k->not_after);
    char path[8192];
    k->ok_at = k->not_before + (k->not_after - k->not_before) / 2;
    json_decref(cj);
    snprintf(path, sizeof path, "%s/document.cbor", k->dir);
    k->doc.p = tv_read(path, &k->doc.len);
    struct custos_diag d = { 0 };
    if (!cs_ok(custos_nitro_collateral_load_dir(k->dir, &d, &k->c))) {
        fprintf(stderr, "%s: %s\n", id, d.msg);
        abort();
    }
}

static void kase_clear(struct kase *k)
{
    cs_blob_clear(&k->doc);
    custos_nitro_collateral_free(k->c);
    k->c = NULL;
}

static cs_code verify(struct custos_nitro_collateral *c, const uint8_t *p, size_t len, int64_t at)
{
    struct custos_verdict *v = NULL;
    cs_res r = custos_nitro_verify(c, p, len, NULL, 0, at, &v);
    EXPECT_TRUE(v != NULL);
    custos_verdict_free(v);
    return r.code;
}

static size_t offset_of(const struct kase *k, struct cs_cur view)
{
    return (size_t)(view.p - k->doc.p);
}

static const char *const all_cases[] = { "A01", "A02", "A05", "A07" };
#define N_CASES (sizeof all_cases / sizeof all_cases[0])

static void test_every_truncation_and_trailing(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(all_cases[ci], &k);
        for (size_t n = 0; n < k.doc.len; n++) {
            uint8_t *cut = tv_dup(k.doc.p, n);
            cs_code got = verify(k.c, cut, n, k.ok_at);
            free(cut);
            if (got != CS_E_TRUNCATED) {
                fprintf(stderr, "%s cut at %zu: %s\n", all_cases[ci], n, custos_code_name(got));
                EXPECT_EQ(got, CS_E_TRUNCATED);
                break;
            }
        }
        uint8_t *longer = malloc(k.doc.len + 1);
        memcpy(longer, k.doc.p, k.doc.len);
        longer[k.doc.len] = 0;
        EXPECT_EQ(verify(k.c, longer, k.doc.len + 1, k.ok_at), CS_E_TRAILING);
        free(longer);
        kase_clear(&k);
    }
}

static bool inside(size_t off, size_t from, size_t len)
{
    return off >= from && off - from < len;
}

static bool in_a_certificate(const struct kase *k, const struct cs_nitro_doc *d, size_t off)
{
    if (inside(off, offset_of(k, d->certificate), d->certificate.left)) {
        return true;
    }
    for (size_t i = 0; i < d->n_cabundle; i++) {
        if (inside(off, offset_of(k, d->cabundle[i]), d->cabundle[i].left)) {
            return true;
        }
    }
    return false;
}

/* A05: the case with every optional field (public_key, user_data, nonce) filled in. */
static void test_bit_flips_in_signed_region(void)
{
    struct kase k;
    kase_load("A05", &k);
    struct cs_nitro_doc d;
    EXPECT_OK(cs_nitro_doc_parse(k.doc.p, k.doc.len, &d));
    EXPECT_EQ(verify(k.c, k.doc.p, k.doc.len, k.at), CS_OK);
    size_t prot = offset_of(&k, d.protected_hdr);
    size_t pay = offset_of(&k, d.payload);
    uint8_t *m = tv_dup(k.doc.p, k.doc.len);
    size_t n_signature = 0;
    size_t n_parse = 0;
    size_t stride = RUNNING_ON_VALGRIND ? 7 : 1;
    for (size_t off = prot; off < pay + d.payload.left; off += stride) {
        bool is_signed = inside(off, prot, d.protected_hdr.left) ||
                         inside(off, pay, d.payload.left);
        if (!is_signed || in_a_certificate(&k, &d, off)) {
            continue; /* the heads between the items; certificates: next test */
        }
        uint8_t bit = (uint8_t)(1u << (off % 8));
        m[off] ^= bit;
        struct cs_nitro_doc md;
        cs_code parsed = cs_nitro_doc_parse(m, k.doc.len, &md).code;
        cs_code got = verify(k.c, m, k.doc.len, k.at);
        m[off] ^= bit;
        cs_code want = parsed == CS_OK ? CS_E_SIGNATURE : parsed;
        n_signature += got == CS_E_SIGNATURE;
        n_parse += parsed != CS_OK;
        if (got != want) {
            fprintf(stderr, "A05 flip at %zu: got %s, want %s\n", off, custos_code_name(got),
                    custos_code_name(want));
            EXPECT_EQ(got, want);
            break;
        }
    }
    /* the 16 PCRs (768 bytes), module_id, timestamp, public_key, user_data, nonce */
    printf("A05: %zu flips read as signature, %zu as malformed\n", n_signature, n_parse);
    EXPECT_TRUE(n_signature * stride > 850);
    size_t sig = offset_of(&k, d.signature);
    for (size_t off = sig; off < sig + CS_NITRO_SIG_LEN; off += stride) {
        m[off] ^= (uint8_t)(1u << (off % 8));
        EXPECT_EQ(verify(k.c, m, k.doc.len, k.at), CS_E_SIGNATURE);
        m[off] = k.doc.p[off];
    }
    free(m);
    kase_clear(&k);
}

static void test_flipped_certificates(void)
{
    struct kase k;
    kase_load("A01", &k);
    struct cs_nitro_doc d;
    EXPECT_OK(cs_nitro_doc_parse(k.doc.p, k.doc.len, &d));
    uint8_t *m = tv_dup(k.doc.p, k.doc.len);
    for (size_t ci = 0; ci <= d.n_cabundle; ci++) {
        struct cs_cur cert = ci < d.n_cabundle ? d.cabundle[ci] : d.certificate;
        bool is_root = ci == 0;
        size_t from = offset_of(&k, cert);
        /* 20: inside the serial number; len - 3: inside the signature value */
        size_t where[2] = { from + 20, from + cert.left - 3 };
        for (size_t w = 0; w < 2; w++) {
            m[where[w]] ^= 0x01;
            cs_code got = verify(k.c, m, k.doc.len, k.at);
            m[where[w]] ^= 0x01;
            bool is_ok = is_root ? got == CS_E_CHAIN : got == CS_E_CHAIN || got == CS_E_SIGNATURE;
            if (!is_ok) {
                fprintf(stderr, "certificate %zu byte %zu: got %s\n", ci, where[w] - from,
                        custos_code_name(got));
                EXPECT_TRUE(is_ok);
            }
        }
        /* a sample of every other position: never verified, never a caller-bug code */
        for (size_t off = from; off < from + cert.left; off += 61) {
            m[off] ^= (uint8_t)(1u << (off % 8));
            cs_code got = verify(k.c, m, k.doc.len, k.at);
            m[off] = k.doc.p[off];
            bool is_rejected = got == CS_E_CHAIN || got == CS_E_SIGNATURE ||
                               got == CS_E_FORMAT || got == CS_E_TRUNCATED ||
                               got == CS_E_TRAILING || got == CS_E_UNSUPPORTED ||
                               got == CS_E_EXPIRED;
            if (!is_rejected) {
                fprintf(stderr, "certificate %zu byte %zu: got %s\n", ci, off - from,
                        custos_code_name(got));
                EXPECT_TRUE(is_rejected);
            }
        }
    }
    EXPECT_EQ(verify(k.c, m, k.doc.len, k.at), CS_OK); /* the memo kept no damage */
    free(m);
    kase_clear(&k);
}

static X509 *cert_of(struct cs_cur der)
{
    const unsigned char *p = der.p;
    X509 *x = d2i_X509(NULL, &p, (long)der.left);
    if (x == NULL) {
        abort();
    }
    return x;
}

static int64_t epoch_of(const ASN1_TIME *t)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        abort();
    }
    return cs_time_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday,
                              (unsigned)tm.tm_hour, (unsigned)tm.tm_min, (unsigned)tm.tm_sec);
}

static const char *const window_cases[] = { "A01", "A02", "A05" };

static void test_validity_window_edges(void)
{
    for (size_t ci = 0; ci < sizeof window_cases / sizeof window_cases[0]; ci++) {
        struct kase k;
        kase_load(window_cases[ci], &k);
        const uint8_t *p = k.doc.p;
        size_t n = k.doc.len;
        EXPECT_EQ(verify(k.c, p, n, k.not_before), CS_OK);
        EXPECT_EQ(verify(k.c, p, n, k.not_after), CS_OK);
        EXPECT_EQ(verify(k.c, p, n, k.not_before - 1), CS_E_EXPIRED);
        EXPECT_EQ(verify(k.c, p, n, k.not_after + 1), CS_E_EXPIRED);
        struct cs_nitro_doc d;
        EXPECT_OK(cs_nitro_doc_parse(p, n, &d));
        for (size_t i = 0; i <= d.n_cabundle; i++) { /* each certificate's own window */
            X509 *x = cert_of(i < d.n_cabundle ? d.cabundle[i] : d.certificate);
            int64_t nb = epoch_of(X509_get0_notBefore(x));
            int64_t na = epoch_of(X509_get0_notAfter(x));
            EXPECT_TRUE(nb <= k.not_before && na >= k.not_after);
            EXPECT_EQ(verify(k.c, p, n, nb - 1), CS_E_EXPIRED);
            EXPECT_EQ(verify(k.c, p, n, na + 1), CS_E_EXPIRED);
            X509_free(x);
        }
        kase_clear(&k);
    }
}

static void test_tagged_and_other_anchor(void)
{
    struct kase k;
    kase_load("A01", &k);
    uint8_t *tagged = malloc(k.doc.len + 1);
    tagged[0] = 0xd2; /* RFC 9052 §4.2: COSE_Sign1 tag 18 */
    memcpy(tagged + 1, k.doc.p, k.doc.len);
    EXPECT_EQ(verify(k.c, tagged, k.doc.len + 1, k.at), CS_OK);
    free(tagged);
    /* the zonal CA of the document as the only anchor: cabundle[0] is not it */
    struct cs_nitro_doc d;
    EXPECT_OK(cs_nitro_doc_parse(k.doc.p, k.doc.len, &d));
    struct custos_nitro_collateral *other = NULL;
    struct custos_diag diag = { 0 };
    EXPECT_OK(custos_nitro_collateral_new(d.cabundle[1].p, d.cabundle[1].left, &diag, &other));
    EXPECT_EQ(verify(other, k.doc.p, k.doc.len, k.at), CS_E_CHAIN);
    custos_nitro_collateral_free(other);
    /* A05's document under A01's anchor file but at A01's instant: outside its window */
    struct kase k5;
    kase_load("A05", &k5);
    EXPECT_EQ(verify(k.c, k5.doc.p, k5.doc.len, k.at), CS_E_EXPIRED);
    EXPECT_EQ(verify(k.c, k5.doc.p, k5.doc.len, k5.at), CS_OK);
    kase_clear(&k5);
    kase_clear(&k);
}

struct thread_arg {
    struct custos_nitro_collateral *c;
    const struct kase *k;
    int failures;
};

static void *verify_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 10; i++) {
        struct custos_verdict *v = NULL;
        cs_res r = custos_nitro_verify(a->c, a->k->doc.p, a->k->doc.len, NULL, 0, a->k->at, &v);
        a->failures += r.code != CS_OK;
        custos_verdict_free(v);
    }
    return NULL;
}

static void test_collateral_reuse_and_threads(void)
{
    struct kase k;
    kase_load("A05", &k);
    char *first = NULL;
    for (int i = 0; i < 3; i++) { /* cold, then memoised: identical verdicts */
        struct custos_verdict *v = NULL;
        EXPECT_OK(custos_nitro_verify(k.c, k.doc.p, k.doc.len, NULL, 0, k.at, &v));
        cs_case_expect_same_verdict(v, &first);
        custos_verdict_free(v);
    }
    custos_free(first);
    /* the memo does not outlive validity: same chain, an instant after it expires */
    EXPECT_EQ(verify(k.c, k.doc.p, k.doc.len, k.not_after + 1), CS_E_EXPIRED);
    struct thread_arg args[2] = { { k.c, &k, 0 }, { k.c, &k, 0 } };
    cs_case_two_threads(verify_many, &args[0], &args[1]);
    EXPECT_EQ(args[0].failures, 0);
    EXPECT_EQ(args[1].failures, 0);
    kase_clear(&k);
}

static void test_unverified_claims_stay_inside(void)
{
    struct kase k;
    kase_load("A07", &k); /* fails: signature */
    struct custos_verdict *v = NULL;
    EXPECT_ERR(custos_nitro_verify(k.c, k.doc.p, k.doc.len, NULL, 0, k.at, &v), CS_E_SIGNATURE);
    char *text = NULL;
    EXPECT_ERR(custos_verdict_claims_json(v, &text), CS_E_POLICY);
    EXPECT_TRUE(text == NULL);
    EXPECT_TRUE(!custos_verdict_is_verified(v));
    EXPECT_TRUE(strstr(custos_verdict_message(v), "signature") != NULL);
    EXPECT_STR_EQ(custos_verdict_platform(v), "nitro");
    custos_verdict_free(v);
    kase_clear(&k);
}

CS_TEST_MAIN(CS_TEST(test_every_truncation_and_trailing), CS_TEST(test_bit_flips_in_signed_region),
             CS_TEST(test_flipped_certificates), CS_TEST(test_validity_window_edges),
             CS_TEST(test_tagged_and_other_anchor), CS_TEST(test_collateral_reuse_and_threads),
             CS_TEST(test_unverified_claims_stay_inside))
