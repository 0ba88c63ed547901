/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Damage to the real GCE vTPM quotes (../shared P01a..P02c) must be caught, and caught as
 * the right class: every truncation of the quote and of the signature (format), a trailing
 * byte (format), a flipped bit in every byte of the signed TPMS_ATTEST (signature, or
 * format/unsupported where the bit is part of the structure: magic, type, sizes, counts,
 * bank ids), every byte of the signature value (signature), every presented PCR value
 * (binding), the nonce (binding), a flipped byte in each certificate (chain/signature),
 * one second outside the validity window (expired). Also: the AK key pinned instead of
 * certified gives the same verdict, and the trust object is reusable across quotes and
 * threads with identical verdicts.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_time.h"
#include "cs_cases.h"
#include "cs_test.h"
#include "custos/tpm.h"
#include "evidence/tpm_attest.h"

static const char *const case_ids[] = { "P01a", "P01b", "P01c", "P02a", "P02b", "P02c" };
#define N_CASES (sizeof case_ids / sizeof case_ids[0])

enum { F_QUOTE, F_SIG, F_PCRS, F_AK_CERT, F_CA_CHAIN, F_ANCHOR, N_FILES };
static const char *const file_names[N_FILES] = {
    "quote.bin", "signature.bin", "pcrs.json", "ak_cert.der", "ca_chain.pem", "trust_anchor.pem",
};

struct kase {
    const char *id;
    int64_t at, not_before, not_after;
    uint8_t nonce[64];
    size_t nonce_len;
    struct cs_blob f[N_FILES];
};

static void kase_load(const char *id, struct kase *k)
{
    memset(k, 0, sizeof *k);
    k->id = id;
    char dir[4096];
    json_t *cj = cs_case_open(id, dir, sizeof dir);
    cs_case_window(cj, &k->at, &k->not_before, &k->not_after);
    const json_t *n =
        json_object_get(json_object_get(json_object_get(cj, "expect"), "claims"), "nonce");
    k->nonce_len = json_string_length(n) / 2;
    EXPECT_OK(cs_hex_decode(json_string_value(n), json_string_length(n), k->nonce, k->nonce_len));
    json_decref(cj);
    for (size_t i = 0; i < N_FILES; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
        k->f[i].p = tv_read(path, &k->f[i].len);
    }
}

static void kase_clear(struct kase *k)
{
    for (size_t i = 0; i < N_FILES; i++) {
        cs_blob_clear(&k->f[i]);
    }
}

static struct custos_bytes b_of(const struct kase *k, size_t i)
{
    return (struct custos_bytes){ k->f[i].p, k->f[i].len };
}

static cs_code trust_of(const struct kase *k, struct custos_tpm_trust **out)
{
    struct custos_tpm_trust_src src = { .trust_anchor = b_of(k, F_ANCHOR),
                                        .ca_chain = b_of(k, F_CA_CHAIN) };
    return custos_tpm_trust_new(&src, NULL, out).code;
}

/* Verifies the case with some pieces replaced (NULL: the case's own). */
static cs_code verify(struct custos_tpm_trust *t, const struct kase *k, const uint8_t *quote,
                      const uint8_t *sig, const struct custos_bytes *pcrs,
                      const struct custos_bytes *nonce, int64_t at)
{
    struct custos_tpm_evidence ev = {
        .quote = { quote != NULL ? quote : k->f[F_QUOTE].p, k->f[F_QUOTE].len },
        .signature = { sig != NULL ? sig : k->f[F_SIG].p, k->f[F_SIG].len },
        .pcrs = pcrs != NULL ? *pcrs : b_of(k, F_PCRS),
        .ak_cert = b_of(k, F_AK_CERT),
    };
    struct custos_bytes own = { k->nonce, k->nonce_len };
    struct custos_verdict *v = NULL;
    cs_res r = custos_tpm_verify(t, &ev, nonce != NULL ? nonce : &own, at, &v);
    custos_verdict_free(v);
    return r.code;
}

static void test_truncations_and_trailing(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(case_ids[ci], &k);
        struct custos_tpm_trust *t = NULL;
        EXPECT_EQ(trust_of(&k, &t), CS_OK);
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.at), CS_OK);
        for (size_t which = F_QUOTE; which <= F_SIG; which++) {
            struct custos_tpm_evidence ev = {
                .quote = b_of(&k, F_QUOTE),
                .signature = b_of(&k, F_SIG),
                .pcrs = b_of(&k, F_PCRS),
                .ak_cert = b_of(&k, F_AK_CERT),
            };
            struct custos_bytes *piece = which == F_QUOTE ? &ev.quote : &ev.signature;
            size_t len = k.f[which].len;
            for (size_t n = 0; n <= len; n++) {
                /* n < len: the first n bytes; n == len: the whole and one zero byte */
                uint8_t *cut = malloc(len + 1);
                memcpy(cut, k.f[which].p, len);
                cut[len] = 0x00;
                if (n < len) {
                    uint8_t *exact = tv_dup(cut, n); /* exact size: ASan sees over-reads */
                    free(cut);
                    cut = exact;
                }
                *piece = (struct custos_bytes){ cut, n < len ? n : len + 1 };
                struct custos_verdict *v = NULL;
                cs_code got = custos_tpm_verify(t, &ev, NULL, k.at, &v).code;
                cs_code want = n == len ? CS_E_TRAILING : CS_E_TRUNCATED;
                if (got != want) {
                    fprintf(stderr, "%s %s cut at %zu: got %s\n", k.id, file_names[which], n,
                            custos_code_name(got));
                    EXPECT_EQ(got, want);
                }
                EXPECT_STR_EQ(custos_code_class(got), "format");
                custos_verdict_free(v);
                free(cut);
            }
        }
        custos_tpm_trust_free(t);
        kase_clear(&k);
    }
}

/* The offsets of the quote whose bits are structure rather than content. */
static void structural_offsets(const struct cs_tpm_attest *a, const uint8_t *base, bool *is_st)
{
    size_t name = (size_t)(a->qualified_signer.p - base) - 2;
    size_t extra = (size_t)(a->extra_data.p - base) - 2;
    size_t clock = extra + 2 + a->extra_data.left;
    size_t safe = clock + 16;
    size_t count = safe + 1 + 8;
    for (size_t i = 0; i < 6; i++) {
        is_st[i] = true; /* magic, type */
    }
    is_st[name] = is_st[name + 1] = true;
    is_st[extra] = is_st[extra + 1] = true;
    is_st[safe] = true;
    size_t at = count;
    for (size_t i = 0; i < 4; i++) {
        is_st[at++] = true;
    }
    for (uint32_t b = 0; b < a->n_banks; b++) {
        is_st[at] = is_st[at + 1] = is_st[at + 2] = true; /* hashAlg, sizeofSelect */
        at += 3 + a->banks[b].size_of_select;
    }
    is_st[at] = is_st[at + 1] = true; /* pcrDigest size */
}

/* Two cases cover both quote shapes (with and without a nonce) and two PCR banks. */
static const char *const flip_ids[] = { "P01a", "P02c" };

static void test_bit_flips(void)
{
    for (size_t ci = 0; ci < sizeof flip_ids / sizeof flip_ids[0]; ci++) {
        struct kase k;
        kase_load(flip_ids[ci], &k);
        struct custos_tpm_trust *t = NULL;
        EXPECT_EQ(trust_of(&k, &t), CS_OK);
        struct cs_tpm_attest a;
        EXPECT_OK(cs_tpm_attest_parse(k.f[F_QUOTE].p, k.f[F_QUOTE].len, &a));
        bool is_st[CS_TPM_ATTEST_MAX] = { false };
        structural_offsets(&a, k.f[F_QUOTE].p, is_st);
        uint8_t *m = tv_dup(k.f[F_QUOTE].p, k.f[F_QUOTE].len);
        for (size_t off = 0; off < k.f[F_QUOTE].len; off++) {
            uint8_t bit = (uint8_t)(1u << (off % 8));
            m[off] ^= bit;
            cs_code got = verify(t, &k, m, NULL, NULL, NULL, k.at);
            m[off] ^= bit;
            const char *cls = custos_code_class(got);
            bool is_ok = is_st[off] ? got != CS_OK &&
                                          (strcmp(cls, "format") == 0 ||
                                           strcmp(cls, "unsupported") == 0 || got == CS_E_SIGNATURE)
                                    : got == CS_E_SIGNATURE;
            if (!is_ok) {
                fprintf(stderr, "%s quote flip at %zu%s: got %s\n", k.id, off,
                        is_st[off] ? " (structure)" : "", custos_code_name(got));
                EXPECT_TRUE(is_ok);
            }
        }
        free(m);
        /* the signature: scheme and hash ids, TPM2B size, then the value (offset 6..) */
        struct cs_tpm_signature s;
        EXPECT_OK(cs_tpm_signature_parse(k.f[F_SIG].p, k.f[F_SIG].len, &s));
        EXPECT_EQ(s.sig_alg, CS_TPM_ALG_RSASSA);
        m = tv_dup(k.f[F_SIG].p, k.f[F_SIG].len);
        for (size_t off = 0; off < k.f[F_SIG].len; off++) {
            uint8_t bit = (uint8_t)(1u << (off % 8));
            m[off] ^= bit;
            cs_code got = verify(t, &k, NULL, m, NULL, NULL, k.at);
            m[off] ^= bit;
            bool is_ok = off >= 6 ? got == CS_E_SIGNATURE
                                  : got == CS_E_SIGNATURE || got == CS_E_UNSUPPORTED ||
                                        strcmp(custos_code_class(got), "format") == 0;
            if (!is_ok) {
                fprintf(stderr, "%s signature flip at %zu: got %s\n", k.id, off,
                        custos_code_name(got));
                EXPECT_TRUE(is_ok);
            }
        }
        free(m);
        custos_tpm_trust_free(t);
        kase_clear(&k);
    }
}

/* Each selected PCR value changed in pcrs.json (one hex digit), then removed. */
static void test_pcr_values_and_nonce(void)
{
    for (size_t ci = 0; ci < sizeof flip_ids / sizeof flip_ids[0]; ci++) {
        struct kase k;
        kase_load(flip_ids[ci], &k);
        struct custos_tpm_trust *t = NULL;
        EXPECT_EQ(trust_of(&k, &t), CS_OK);
        const char *text = (const char *)k.f[F_PCRS].p;
        size_t changed = 0;
        for (const char *q = strstr(text, "\": \""); q != NULL; q = strstr(q + 1, "\": \"")) {
            char *copy = (char *)tv_dup(text, k.f[F_PCRS].len);
            size_t at = (size_t)(q - text) + 4;
            copy[at] = copy[at] == 'a' ? 'b' : 'a';
            struct custos_bytes pcrs = { (const uint8_t *)copy, k.f[F_PCRS].len };
            cs_code got = verify(t, &k, NULL, NULL, &pcrs, NULL, k.at);
            if (got != CS_E_BINDING) {
                fprintf(stderr, "%s PCR value at %zu changed: got %s\n", k.id, at,
                        custos_code_name(got));
                EXPECT_EQ(got, CS_E_BINDING);
            }
            free(copy);
            changed++;
        }
        EXPECT_EQ(changed, 24); /* the GCE quotes select PCRs 0..23 of one bank */
        /* a selected PCR missing: the last entry of the bank, removed */
        json_t *j = json_loadb(text, k.f[F_PCRS].len, 0, NULL);
        const char *bank = json_object_iter_key(json_object_iter(j));
        EXPECT_EQ(json_object_del(json_object_get(j, bank), "23"), 0);
        char *less = json_dumps(j, JSON_COMPACT);
        struct custos_bytes pcrs = { (const uint8_t *)less, strlen(less) };
        EXPECT_EQ(verify(t, &k, NULL, NULL, &pcrs, NULL, k.at), CS_E_BINDING);
        free(less);
        json_decref(j);

        /* the nonce: another value, one byte more, none at all expected */
        uint8_t other[65];
        memcpy(other, k.nonce, k.nonce_len);
        other[0] = (uint8_t)(k.nonce_len > 0 ? other[0] ^ 1 : 0x90);
        struct custos_bytes wrong = { other, k.nonce_len > 0 ? k.nonce_len : 1 };
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, &wrong, k.at), CS_E_BINDING);
        uint8_t plus[65];
        memcpy(plus, k.nonce, k.nonce_len);
        plus[k.nonce_len] = 0;
        struct custos_bytes longer = { plus, k.nonce_len + 1 };
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, &longer, k.at), CS_E_BINDING);
        struct custos_tpm_evidence ev = {
            .quote = b_of(&k, F_QUOTE),
            .signature = b_of(&k, F_SIG),
            .pcrs = b_of(&k, F_PCRS),
            .ak_cert = b_of(&k, F_AK_CERT),
        };
        struct custos_verdict *v = NULL;
        EXPECT_OK(custos_tpm_verify(t, &ev, NULL, k.at, &v)); /* no nonce expected */
        char *claims = NULL;
        EXPECT_OK(custos_verdict_claims_json(v, &claims));
        EXPECT_TRUE(claims != NULL && strstr(claims, "\"nonce_checked\":false") != NULL);
        custos_free(claims);
        custos_verdict_free(v);
        /* a rejected verdict keeps its claims inside */
        EXPECT_ERR(custos_tpm_verify(t, &ev, &wrong, k.at, &v), CS_E_BINDING);
        claims = NULL;
        EXPECT_ERR(custos_verdict_claims_json(v, &claims), CS_E_POLICY);
        EXPECT_TRUE(claims == NULL && strlen(custos_verdict_message(v)) > 0);
        custos_verdict_free(v);
        custos_tpm_trust_free(t);
        kase_clear(&k);
    }
}

static void test_flipped_certificates(void)
{
    struct kase k;
    kase_load("P01b", &k);
    /* 3 = inside the signature value at the end of each certificate; 300 = the TBS */
    static const size_t where[] = { 3, 300 };
    for (size_t w = 0; w < 2; w++) {
        /* the AK certificate (DER) */
        uint8_t *orig = k.f[F_AK_CERT].p;
        uint8_t *m = tv_dup(orig, k.f[F_AK_CERT].len);
        m[k.f[F_AK_CERT].len - 1 - where[w]] ^= 0x01;
        k.f[F_AK_CERT].p = m;
        struct custos_tpm_trust *t = NULL;
        EXPECT_EQ(trust_of(&k, &t), CS_OK);
        cs_code got = verify(t, &k, NULL, NULL, NULL, NULL, k.at);
        EXPECT_TRUE(got == CS_E_CHAIN || got == CS_E_SIGNATURE);
        custos_tpm_trust_free(t);
        k.f[F_AK_CERT].p = orig;
        free(m);
        /* the intermediate and the root (PEM) */
        for (size_t file = F_CA_CHAIN; file <= F_ANCHOR; file++) {
            orig = k.f[file].p;
            m = tv_dup(orig, k.f[file].len);
            EXPECT_TRUE(cs_case_flip_in_pem_cert(m, k.f[file].len, 0, where[w], true));
            k.f[file].p = m;
            t = NULL;
            got = trust_of(&k, &t);
            if (got == CS_OK) {
                got = verify(t, &k, NULL, NULL, NULL, NULL, k.at);
            }
            if (got != CS_E_CHAIN && got != CS_E_SIGNATURE) {
                fprintf(stderr, "%s byte -%zu flipped: got %s\n", file_names[file], where[w],
                        custos_code_name(got));
                EXPECT_TRUE(got == CS_E_CHAIN || got == CS_E_SIGNATURE);
            }
            custos_tpm_trust_free(t);
            k.f[file].p = orig;
            free(m);
        }
    }
    /* the root as the only certificate of the chain, the intermediate as the anchor */
    struct custos_tpm_trust *t = NULL;
    struct custos_tpm_trust_src src = { .trust_anchor = b_of(&k, F_ANCHOR) };
    EXPECT_OK(custos_tpm_trust_new(&src, NULL, &t));
    EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.at), CS_E_CHAIN); /* missing intermediate */
    custos_tpm_trust_free(t);
    src = (struct custos_tpm_trust_src){ .trust_anchor = b_of(&k, F_CA_CHAIN) };
    EXPECT_ERR(custos_tpm_trust_new(&src, NULL, &t), CS_E_CHAIN); /* not a root */
    kase_clear(&k);
}

static void test_validity_window_edges(void)
{
    for (size_t ci = 0; ci < N_CASES; ci++) {
        struct kase k;
        kase_load(case_ids[ci], &k);
        struct custos_tpm_trust *t = NULL;
        EXPECT_EQ(trust_of(&k, &t), CS_OK);
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.not_before), CS_OK);
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.not_after), CS_OK);
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.not_before - 1), CS_E_EXPIRED);
        EXPECT_EQ(verify(t, &k, NULL, NULL, NULL, NULL, k.not_after + 1), CS_E_EXPIRED);
        custos_tpm_trust_free(t);
        kase_clear(&k);
    }
}

/* The AK's key pinned (PEM from its certificate): same verdict, no certificate needed. */
static void test_pinned_real_ak(void)
{
    struct kase k;
    kase_load("P02c", &k);
    const unsigned char *p = k.f[F_AK_CERT].p;
    X509 *cert = d2i_X509(NULL, &p, (long)k.f[F_AK_CERT].len);
    EXPECT_TRUE(cert != NULL);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, X509_get0_pubkey(cert));
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    struct custos_tpm_trust_src src = { .ak_pub = { (const uint8_t *)pem, (size_t)pem_len } };
    struct custos_tpm_trust *pinned = NULL;
    EXPECT_OK(custos_tpm_trust_new(&src, NULL, &pinned));
    struct custos_tpm_trust *certified = NULL;
    EXPECT_EQ(trust_of(&k, &certified), CS_OK);
    struct custos_tpm_evidence ev = {
        .quote = b_of(&k, F_QUOTE),
        .signature = b_of(&k, F_SIG),
        .pcrs = b_of(&k, F_PCRS),
    };
    struct custos_bytes nonce = { k.nonce, k.nonce_len };
    struct custos_verdict *a = NULL, *b = NULL;
    EXPECT_OK(custos_tpm_verify(pinned, &ev, &nonce, k.not_after + 3600, &a)); /* no window */
    ev.ak_cert = b_of(&k, F_AK_CERT);
    EXPECT_OK(custos_tpm_verify(certified, &ev, &nonce, k.at, &b));
    char *ca = NULL, *cb = NULL;
    EXPECT_OK(custos_verdict_claims_json(a, &ca));
    EXPECT_OK(custos_verdict_claims_json(b, &cb));
    json_t *ja = json_loads(ca, 0, NULL), *jb = json_loads(cb, 0, NULL);
    EXPECT_TRUE(
        json_equal(json_object_get(ja, "ak_fingerprint"), json_object_get(jb, "ak_fingerprint")));
    EXPECT_TRUE(json_equal(json_object_get(ja, "pcrs"), json_object_get(jb, "pcrs")));
    EXPECT_STR_EQ(json_string_value(json_object_get(ja, "ak_trust")), "pinned");
    EXPECT_STR_EQ(json_string_value(json_object_get(jb, "ak_trust")), "certificate");
    json_decref(ja);
    json_decref(jb);
    custos_free(ca);
    custos_free(cb);
    custos_verdict_free(a);
    custos_verdict_free(b);
    /* another RSA key pinned (the intermediate CA's): the signature does not verify */
    BIO *chain_bio = BIO_new_mem_buf(k.f[F_CA_CHAIN].p, (int)k.f[F_CA_CHAIN].len);
    X509 *inter = PEM_read_bio_X509(chain_bio, NULL, NULL, NULL);
    EXPECT_TRUE(inter != NULL && EVP_PKEY_is_a(X509_get0_pubkey(inter), "RSA"));
    BIO *bio2 = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio2, X509_get0_pubkey(inter));
    pem_len = BIO_get_mem_data(bio2, &pem);
    src.ak_pub = (struct custos_bytes){ (const uint8_t *)pem, (size_t)pem_len };
    struct custos_tpm_trust *wrong = NULL;
    EXPECT_OK(custos_tpm_trust_new(&src, NULL, &wrong));
    EXPECT_EQ(verify(wrong, &k, NULL, NULL, NULL, NULL, k.at), CS_E_SIGNATURE);
    custos_tpm_trust_free(wrong);
    BIO_free(bio2);
    X509_free(inter);
    BIO_free(chain_bio);
    custos_tpm_trust_free(pinned);
    custos_tpm_trust_free(certified);
    BIO_free(bio);
    X509_free(cert);
    kase_clear(&k);
}

struct thread_arg {
    struct custos_tpm_trust *t;
    const struct kase *k;
    int failures;
};

static void *verify_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 50; i++) {
        if (verify(a->t, &a->k[i % N_CASES], NULL, NULL, NULL, NULL, a->k[0].at) != CS_OK) {
            a->failures++;
        }
    }
    return NULL;
}

static void test_trust_reuse_and_threads(void)
{
    static struct kase ks[N_CASES];
    for (size_t i = 0; i < N_CASES; i++) {
        kase_load(case_ids[i], &ks[i]);
    }
    struct custos_tpm_trust *t = NULL;
    EXPECT_EQ(trust_of(&ks[0], &t), CS_OK);
    char *first = NULL;
    for (int i = 0; i < 3; i++) { /* cold, then memoised: identical verdicts */
        struct custos_tpm_evidence ev = {
            .quote = b_of(&ks[1], F_QUOTE),
            .signature = b_of(&ks[1], F_SIG),
            .pcrs = b_of(&ks[1], F_PCRS),
            .ak_cert = b_of(&ks[1], F_AK_CERT),
        };
        struct custos_verdict *v = NULL;
        struct custos_bytes nonce = { ks[1].nonce, ks[1].nonce_len };
        EXPECT_OK(custos_tpm_verify(t, &ev, &nonce, ks[1].at, &v));
        cs_case_expect_same_verdict(v, &first);
        custos_verdict_free(v);
    }
    custos_free(first);
    /* the memo does not outlive validity */
    EXPECT_EQ(verify(t, &ks[1], NULL, NULL, NULL, NULL, ks[1].not_after + 1), CS_E_EXPIRED);
    struct thread_arg args[2] = { { t, ks, 0 }, { t, ks, 0 } };
    cs_case_two_threads(verify_many, &args[0], &args[1]);
    EXPECT_EQ(args[0].failures, 0);
    EXPECT_EQ(args[1].failures, 0);
    custos_tpm_trust_free(t);
    for (size_t i = 0; i < N_CASES; i++) {
        kase_clear(&ks[i]);
    }
}

CS_TEST_MAIN(CS_TEST(test_truncations_and_trailing), CS_TEST(test_bit_flips),
             CS_TEST(test_pcr_values_and_nonce), CS_TEST(test_flipped_certificates),
             CS_TEST(test_validity_window_edges), CS_TEST(test_pinned_real_ak),
             CS_TEST(test_trust_reuse_and_threads))
