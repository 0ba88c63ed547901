/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM quote verification on quotes forged at test time with OpenSSL (keys, CA and AK
 * certificates made here, never committed), for what the real GCE quotes cannot reach:
 * every signature scheme and curve (ECDSA P-256/P-384, RSASSA and RSA-PSS with both salt
 * conventions, SHA-256/384), stripped ECDSA integers, key/scheme mismatches, unsupported
 * keys, AK certificate rules (key usage, validity, missing/extra intermediates, wrong
 * anchor), several PCR banks, every PCR binding rule, nonce rules, argument checks, and
 * allocation failures.
 */
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "core/cs_mem.h"
#include "cs_test.h"
#include "custos/tpm.h"
#include "evidence/tpm_attest.h"

#define AT 1900000000 /* 2030-03-17: every forged certificate is valid around it */
#define DAY 86400

/* ---- keys and certificates ------------------------------------------------------- */

/*
 * RSA key generation is slow (about 20 s under valgrind), so the one RSA signing key is
 * made once per run, with three primes (quicker to find; the public key is an ordinary
 * 2048-bit RSA key). Other RSA keys only verify, so they are public keys built from a
 * random odd modulus: no private key needed, nothing generated.
 */
static EVP_PKEY *rsa_signer;

static void rsa_signer_free(void)
{
    EVP_PKEY_free(rsa_signer);
}

static EVP_PKEY *rsa_key(void)
{
    if (rsa_signer == NULL) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_primes(ctx, 3) != 1 ||
            EVP_PKEY_keygen(ctx, &rsa_signer) != 1) {
            abort();
        }
        EVP_PKEY_CTX_free(ctx);
        atexit(rsa_signer_free);
    }
    if (EVP_PKEY_up_ref(rsa_signer) != 1) {
        abort();
    }
    return rsa_signer;
}

/* A public RSA key of `bits` bits with a random odd modulus and e = 65537. */
static EVP_PKEY *rsa_public(int bits)
{
    uint8_t n[512];
    size_t len = (size_t)bits / 8;
    if (RAND_bytes(n, (int)len) != 1) {
        abort();
    }
    n[0] |= 0x80;
    n[len - 1] |= 0x01;
    BIGNUM *bn = BN_bin2bn(n, (int)len, NULL);
    BIGNUM *e = BN_new();
    BN_set_word(e, 65537);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        abort();
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(e);
    return k;
}

static EVP_PKEY *gen_key(const char *kind)
{
    EVP_PKEY *k = NULL;
    if (strcmp(kind, "RSA2048") == 0) {
        k = rsa_key();
    } else if (strcmp(kind, "RSA1024") == 0) {
        k = rsa_public(1024);
    } else if (strcmp(kind, "ED25519") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    } else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
    }
    if (k == NULL) {
        abort();
    }
    return k;
}

struct pki {
    EVP_PKEY *root_key, *int_key;
    X509 *root, *inter;
};

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || X509_add_ext(cert, ext, -1) != 1) {
        abort();
    }
    X509_EXTENSION_free(ext);
}

/* A certificate for key, issued by (issuer, issuer_key) or self-signed when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       bool is_ca, const char *key_usage, int64_t nb, int64_t na)
{
    static long serial = 1;
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : name);
    ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na);
    X509_set_pubkey(c, key);
    X509 *iss = issuer != NULL ? issuer : c;
    add_ext(c, iss, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (key_usage != NULL) {
        add_ext(c, iss, NID_key_usage, key_usage);
    }
    add_ext(c, iss, NID_subject_key_identifier, "hash");
    if (X509_sign(c, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0) {
        abort();
    }
    return c;
}

static struct pki pki_new(void)
{
    struct pki p;
    p.root_key = gen_key("P-384");
    p.int_key = gen_key("P-256");
    p.root = make_cert(p.root_key, "Test TPM Root", NULL, NULL, true, "critical,keyCertSign",
                       AT - 100 * DAY, AT + 100 * DAY);
    p.inter = make_cert(p.int_key, "Test TPM AK CA", p.root, p.root_key, true,
                        "critical,keyCertSign", AT - 50 * DAY, AT + 50 * DAY);
    return p;
}

static void pki_free(struct pki *p)
{
    X509_free(p->root);
    X509_free(p->inter);
    EVP_PKEY_free(p->root_key);
    EVP_PKEY_free(p->int_key);
}

/* PEM of certificates (or DER of one) / of a public key, into a malloc'd buffer. */
struct buf {
    uint8_t *p;
    size_t len;
};

static struct buf bio_take(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    struct buf out = { tv_dup(data, (size_t)n), (size_t)n };
    BIO_free(b);
    return out;
}

static struct buf pem_certs(X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, a);
    if (b != NULL) {
        PEM_write_bio_X509(bio, b);
    }
    return bio_take(bio);
}

static struct buf der_cert(X509 *c)
{
    BIO *bio = BIO_new(BIO_s_mem());
    i2d_X509_bio(bio, c);
    return bio_take(bio);
}

static struct buf pem_pub(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    return bio_take(bio);
}

static struct custos_bytes cb(struct buf b)
{
    return (struct custos_bytes){ b.p, b.len };
}

/* ---- forged quotes --------------------------------------------------------------- */

struct bank_sel {
    unsigned alg;
    uint32_t mask; /* bit i selects PCR i */
    unsigned size_of_select;
};

struct spec {
    unsigned scheme; /* RSASSA, RSAPSS, ECDSA */
    unsigned hash;   /* signature hash */
    int pss_salt;    /* RSA_PSS_SALTLEN_DIGEST or _MAX */
    uint8_t nonce[64];
    size_t nonce_len;
    size_t n_banks;
    struct bank_sel banks[3];
    unsigned digest_alg; /* 0: the signature hash */
    bool is_rs_stripped; /* ECDSA r and s without leading zero octets */
};

static struct spec spec_default(unsigned scheme, unsigned hash)
{
    struct spec s = { .scheme = scheme,
                      .hash = hash,
                      .pss_salt = RSA_PSS_SALTLEN_DIGEST,
                      .nonce = { 0x0b, 0xad, 0xc0, 0xde },
                      .nonce_len = 4,
                      .n_banks = 1 };
    s.banks[0] = (struct bank_sel){ CS_TPM_ALG_SHA256, (1u << 0) | (1u << 1) | (1u << 16), 3 };
    return s;
}

struct forged {
    uint8_t quote[1024];
    size_t quote_len;
    uint8_t sig[1024];
    size_t sig_len;
    char pcrs[16384];
    size_t pcrs_len;
};

static const EVP_MD *md_of(unsigned alg)
{
    return alg == CS_TPM_ALG_SHA1     ? EVP_sha1()
           : alg == CS_TPM_ALG_SHA256 ? EVP_sha256()
                                      : EVP_sha384();
}

static const char *bank_name(unsigned alg)
{
    return alg == CS_TPM_ALG_SHA1 ? "sha1" : alg == CS_TPM_ALG_SHA256 ? "sha256" : "sha384";
}

/* The value of PCR idx in a bank: deterministic, distinct per bank and index. */
static void pcr_value(unsigned alg, unsigned idx, uint8_t out[48])
{
    for (unsigned j = 0; j < 48; j++) {
        out[j] = (uint8_t)(idx * 7 + alg * 3 + j);
    }
}

static void put(uint8_t *b, size_t *n, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        b[(*n)++] = (uint8_t)(v >> (8 * (width - 1 - i)));
    }
}

/* Every PCR 0..23 of every bank of the spec, plus the selected ones, as pcrs.json. */
static void write_pcrs(const struct spec *s, struct forged *f)
{
    size_t n = 0;
    n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "{");
    for (size_t b = 0; b < s->n_banks; b++) {
        unsigned alg = s->banks[b].alg;
        size_t dl = (size_t)EVP_MD_get_size(md_of(alg));
        n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "%s\"%s\":{", b ? "," : "",
                              bank_name(alg));
        for (unsigned idx = 0; idx < 32; idx++) {
            if (idx >= 24 && !(s->banks[b].mask >> idx & 1u)) {
                continue;
            }
            uint8_t v[48];
            pcr_value(alg, idx, v);
            n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "%s\"%u\":\"", idx ? "," : "",
                                  idx);
            for (size_t j = 0; j < dl; j++) {
                n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "%02x", v[j]);
            }
            n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "\"");
        }
        n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "}");
    }
    n += (size_t)snprintf(f->pcrs + n, sizeof f->pcrs - n, "}");
    f->pcrs_len = n;
}

static void build_quote(const struct spec *s, struct forged *f)
{
    uint8_t *q = f->quote;
    size_t n = 0;
    put(q, &n, CS_TPM_GENERATED_VALUE, 4);
    put(q, &n, CS_TPM_ST_ATTEST_QUOTE, 2);
    put(q, &n, 34, 2); /* qualifiedSigner: a SHA-256 name */
    put(q, &n, CS_TPM_ALG_SHA256, 2);
    for (int i = 0; i < 32; i++) {
        q[n++] = (uint8_t)(0x40 + i);
    }
    put(q, &n, s->nonce_len, 2);
    memcpy(q + n, s->nonce, s->nonce_len);
    n += s->nonce_len;
    put(q, &n, 123456789, 8); /* clock */
    put(q, &n, 7, 4);         /* resetCount */
    put(q, &n, 2, 4);         /* restartCount */
    put(q, &n, 1, 1);         /* safe */
    put(q, &n, 0x0001000200030004ull, 8);
    put(q, &n, s->n_banks, 4);
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned dalg = s->digest_alg != 0 ? s->digest_alg : s->hash;
    EVP_DigestInit_ex(h, md_of(dalg), NULL);
    for (size_t b = 0; b < s->n_banks; b++) {
        const struct bank_sel *bs = &s->banks[b];
        put(q, &n, bs->alg, 2);
        put(q, &n, bs->size_of_select, 1);
        for (unsigned i = 0; i < bs->size_of_select; i++) {
            q[n++] = (uint8_t)(bs->mask >> (8 * i));
        }
        for (unsigned idx = 0; idx < 8 * bs->size_of_select; idx++) {
            if (bs->mask >> idx & 1u) {
                uint8_t v[48];
                pcr_value(bs->alg, idx, v);
                EVP_DigestUpdate(h, v, (size_t)EVP_MD_get_size(md_of(bs->alg)));
            }
        }
    }
    unsigned int dl = 0;
    uint8_t digest[64];
    EVP_DigestFinal_ex(h, digest, &dl);
    EVP_MD_CTX_free(h);
    put(q, &n, dl, 2);
    memcpy(q + n, digest, dl);
    n += dl;
    f->quote_len = n;
}

/* TPMT_SIGNATURE over f->quote by key. */
static void sign(EVP_PKEY *key, const struct spec *s, struct forged *f)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (EVP_DigestSignInit(ctx, &pctx, md_of(s->hash), NULL, key) != 1) {
        abort();
    }
    if (s->scheme == CS_TPM_ALG_RSAPSS) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, s->pss_salt);
    }
    uint8_t raw[1024];
    size_t raw_len = sizeof raw;
    if (EVP_DigestSign(ctx, raw, &raw_len, f->quote, f->quote_len) != 1) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    size_t n = 0;
    put(f->sig, &n, s->scheme, 2);
    put(f->sig, &n, s->hash, 2);
    if (s->scheme != CS_TPM_ALG_ECDSA) {
        put(f->sig, &n, raw_len, 2);
        memcpy(f->sig + n, raw, raw_len);
        f->sig_len = n + raw_len;
        return;
    }
    const unsigned char *p = raw;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)raw_len);
    int half = (EVP_PKEY_get_bits(key) + 7) / 8;
    const BIGNUM *bn[2] = { ECDSA_SIG_get0_r(es), ECDSA_SIG_get0_s(es) };
    for (int i = 0; i < 2; i++) {
        int len = s->is_rs_stripped ? BN_num_bytes(bn[i]) : half;
        put(f->sig, &n, (uint64_t)len, 2);
        BN_bn2binpad(bn[i], f->sig + n, len);
        n += (size_t)len;
    }
    ECDSA_SIG_free(es);
    f->sig_len = n;
}

static void forge(EVP_PKEY *key, const struct spec *s, struct forged *f)
{
    build_quote(s, f);
    sign(key, s, f);
    write_pcrs(s, f);
}

/* ---- running ------------------------------------------------------------------- */

struct trust_in {
    struct buf anchor, chain, pin;
};

static cs_code verify_with(const struct custos_tpm_trust_src *src, const struct forged *f,
                           struct custos_bytes ak_cert, const struct custos_bytes *nonce,
                           int64_t at, json_t **claims)
{
    struct custos_diag d = { 0 };
    struct custos_tpm_trust *t = NULL;
    cs_res r = custos_tpm_trust_new(src, &d, &t);
    if (!cs_ok(r)) {
        return r.code;
    }
    struct custos_tpm_evidence ev = {
        .quote = { f->quote, f->quote_len },
        .signature = { f->sig, f->sig_len },
        .pcrs = { (const uint8_t *)f->pcrs, f->pcrs_len },
        .ak_cert = ak_cert,
    };
    struct custos_verdict *v = NULL;
    r = custos_tpm_verify(t, &ev, nonce, at, &v);
    EXPECT_TRUE(v != NULL || r.code == CS_E_NOMEM);
    if (v != NULL) {
        EXPECT_EQ(custos_verdict_code(v), r.code);
    }
    if (claims != NULL) {
        char *text = NULL;
        *claims = NULL;
        if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
            json_t *j = json_loads(text, 0, NULL);
            *claims = json_incref(json_object_get(j, "claims"));
            json_decref(j);
            custos_free(text);
        }
    }
    if (r.code != CS_OK && getenv("CS_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "  %s\n", custos_verdict_message(v));
    }
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    return r.code;
}

static cs_code verify_pinned(EVP_PKEY *ak, const struct forged *f, const struct custos_bytes *nonce,
                             json_t **claims)
{
    struct buf pin = pem_pub(ak);
    struct custos_tpm_trust_src src = { .ak_pub = cb(pin) };
    cs_code c = verify_with(&src, f, (struct custos_bytes){ 0 }, nonce, AT, claims);
    free(pin.p);
    return c;
}

/* AK certificate by the intermediate; trust = root + intermediate. */
static cs_code verify_cert(const struct pki *p, EVP_PKEY *ak, const struct forged *f,
                           const struct custos_bytes *nonce, int64_t at, json_t **claims)
{
    X509 *leaf = make_cert(ak, "", p->inter, p->int_key, false, "critical,digitalSignature",
                           AT - 10 * DAY, AT + 10 * DAY);
    struct buf der = der_cert(leaf);
    struct buf anchor = pem_certs(p->root, NULL);
    struct buf chain = pem_certs(p->inter, NULL);
    struct custos_tpm_trust_src src = { .trust_anchor = cb(anchor), .ca_chain = cb(chain) };
    cs_code c = verify_with(&src, f, cb(der), nonce, at, claims);
    free(der.p);
    free(anchor.p);
    free(chain.p);
    X509_free(leaf);
    return c;
}

static struct custos_bytes nonce_of(const struct spec *s)
{
    return (struct custos_bytes){ s->nonce, s->nonce_len };
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_every_scheme_verifies(void)
{
    struct pki p = pki_new();
    struct {
        const char *key;
        unsigned scheme, hash;
        int salt;
    } combos[] = {
        { "P-256", CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, 0 },
        { "P-256", CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA384, 0 },
        { "P-384", CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA384, 0 },
        { "P-384", CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, 0 },
        { "RSA2048", CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA256, 0 },
        { "RSA2048", CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA384, 0 },
        { "RSA2048", CS_TPM_ALG_RSAPSS, CS_TPM_ALG_SHA256, RSA_PSS_SALTLEN_DIGEST },
        { "RSA2048", CS_TPM_ALG_RSAPSS, CS_TPM_ALG_SHA384, RSA_PSS_SALTLEN_MAX },
    };
    for (size_t i = 0; i < sizeof combos / sizeof combos[0]; i++) {
        EVP_PKEY *ak = gen_key(combos[i].key);
        struct spec s = spec_default(combos[i].scheme, combos[i].hash);
        s.pss_salt = combos[i].salt;
        struct forged f;
        forge(ak, &s, &f);
        struct custos_bytes nonce = nonce_of(&s);
        json_t *claims = NULL;
        EXPECT_EQ(verify_pinned(ak, &f, &nonce, &claims), CS_OK);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "ak_trust")), "pinned");
        EXPECT_TRUE(json_object_get(claims, "collateral_expiry") == NULL);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "sig_alg")),
                      cs_tpm_alg_name((uint16_t)combos[i].scheme));
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "hash_alg")),
                      cs_tpm_alg_name((uint16_t)combos[i].hash));
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "nonce")), "0badc0de");
        EXPECT_TRUE(json_is_true(json_object_get(claims, "nonce_checked")));
        EXPECT_TRUE(json_is_false(json_object_get(claims, "debug")));
        EXPECT_EQ(json_integer_value(json_object_get(claims, "clock")), 123456789);
        EXPECT_EQ(json_integer_value(json_object_get(claims, "reset_count")), 7);
        EXPECT_EQ(json_integer_value(json_object_get(claims, "restart_count")), 2);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "firmware_version")),
                      "0x0001000200030004");
        /* the fingerprint is SHA-256 of the SubjectPublicKeyInfo DER */
        unsigned char *der = NULL;
        int der_len = i2d_PUBKEY(ak, &der);
        uint8_t fp[32];
        char hex[65];
        SHA256(der, (size_t)der_len, fp);
        for (int j = 0; j < 32; j++) {
            snprintf(hex + 2 * j, 3, "%02x", fp[j]);
        }
        OPENSSL_free(der);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "ak_fingerprint")), hex);
        const json_t *pcrs = json_object_get(claims, "pcrs");
        EXPECT_EQ(json_object_size(pcrs), 1);
        EXPECT_EQ(json_object_size(json_object_get(pcrs, "sha256")), 3); /* 0, 1, 16 only */
        EXPECT_TRUE(json_object_get(json_object_get(pcrs, "sha256"), "16") != NULL);
        json_decref(claims);

        EXPECT_EQ(verify_cert(&p, ak, &f, &nonce, AT, &claims), CS_OK);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "ak_trust")), "certificate");
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "ak_fingerprint")), hex);
        EXPECT_TRUE(json_is_string(json_object_get(claims, "collateral_expiry")));
        json_decref(claims);
        EVP_PKEY_free(ak);
    }
    pki_free(&p);
}

static void test_signature_must_fit_the_ak(void)
{
    EVP_PKEY *rsa = gen_key("RSA2048");
    EVP_PKEY *rsa2 = rsa_public(2048);
    EVP_PKEY *p256 = gen_key("P-256");
    EVP_PKEY *p384 = gen_key("P-384");
    struct forged f;
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    struct custos_bytes nonce = nonce_of(&s);
    forge(p256, &s, &f);
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_E_SIGNATURE);  /* ECDSA sig, RSA AK */
    EXPECT_EQ(verify_pinned(p384, &f, &nonce, NULL), CS_E_SIGNATURE); /* another curve */
    forge(p384, &s, &f); /* 48-byte r and s cannot come from a P-256 key */
    EXPECT_EQ(verify_pinned(p256, &f, &nonce, NULL), CS_E_SIGNATURE);
    s = spec_default(CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA256);
    forge(rsa, &s, &f);
    EXPECT_EQ(verify_pinned(p256, &f, &nonce, NULL), CS_E_SIGNATURE); /* RSA sig, EC AK */
    EXPECT_EQ(verify_pinned(rsa2, &f, &nonce, NULL), CS_E_SIGNATURE); /* another RSA key */
    f.sig[1] = CS_TPM_ALG_RSAPSS; /* PKCS#1 v1.5 signature labelled PSS */
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_E_SIGNATURE);
    f.sig[1] = CS_TPM_ALG_RSASSA;
    f.sig[3] = CS_TPM_ALG_SHA384; /* labelled with the other hash */
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_E_SIGNATURE);
    f.sig[3] = CS_TPM_ALG_SHA256;
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_OK);
    /* a signature one byte short of the modulus */
    f.sig[4] = 0x00; /* TPM2B size 256 -> 255 */
    f.sig[5] = 0xff;
    f.sig_len--;
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_E_SIGNATURE);
    s = spec_default(CS_TPM_ALG_RSAPSS, CS_TPM_ALG_SHA256);
    forge(rsa, &s, &f);
    f.sig[1] = CS_TPM_ALG_RSASSA; /* PSS signature labelled PKCS#1 v1.5 */
    EXPECT_EQ(verify_pinned(rsa, &f, &nonce, NULL), CS_E_SIGNATURE);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
}

/* TPMs may strip leading zero octets of r and s: such a signature verifies; a longer one not. */
static void test_ecdsa_integer_lengths(void)
{
    EVP_PKEY *ak = gen_key("P-256");
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    s.is_rs_stripped = true;
    struct forged f;
    bool is_short = false;
    for (int i = 0; i < 4096 && !is_short; i++) {
        s.nonce[4] = (uint8_t)i;
        s.nonce[5] = (uint8_t)(i >> 8);
        s.nonce_len = 6;
        forge(ak, &s, &f);
        is_short = f.sig_len < 4 + 2 * (2 + 32);
    }
    EXPECT_TRUE(is_short);
    struct custos_bytes nonce = nonce_of(&s);
    EXPECT_EQ(verify_pinned(ak, &f, &nonce, NULL), CS_OK);

    s.is_rs_stripped = false;
    forge(ak, &s, &f);
    /* r padded to 33 octets: longer than the curve, refused even though the value is equal */
    uint8_t longer[1024];
    size_t n = 0;
    memcpy(longer, f.sig, 4);
    n = 4;
    longer[n++] = 0;
    longer[n++] = 33;
    longer[n++] = 0;
    memcpy(longer + n, f.sig + 6, f.sig_len - 6);
    n += f.sig_len - 6;
    memcpy(f.sig, longer, n);
    f.sig_len = n;
    EXPECT_EQ(verify_pinned(ak, &f, &nonce, NULL), CS_E_SIGNATURE);
    EVP_PKEY_free(ak);
}

static void test_unsupported_keys(void)
{
    static const char *kinds[] = { "RSA1024", "P-521", "ED25519", "secp256k1" };
    struct pki p = pki_new();
    struct forged f;
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    EVP_PKEY *ok = gen_key("P-256");
    forge(ok, &s, &f);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        EVP_PKEY *k = gen_key(kinds[i]);
        struct buf pin = pem_pub(k);
        struct custos_tpm_trust_src src = { .ak_pub = cb(pin) };
        struct custos_tpm_trust *t = NULL;
        struct custos_diag d = { 0 };
        EXPECT_ERR(custos_tpm_trust_new(&src, &d, &t), CS_E_UNSUPPORTED);
        EXPECT_TRUE(t == NULL && d.code == CS_E_UNSUPPORTED && d.msg[0] != '\0');
        free(pin.p);
        EXPECT_EQ(verify_cert(&p, k, &f, NULL, AT, NULL), CS_E_UNSUPPORTED);
        EVP_PKEY_free(k);
    }
    EVP_PKEY_free(ok);
    pki_free(&p);
}

static void test_pinned_key_forms(void)
{
    EVP_PKEY *ak = gen_key("P-256");
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    struct forged f;
    forge(ak, &s, &f);
    struct custos_bytes nonce = nonce_of(&s);
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(ak, &der);
    struct custos_tpm_trust_src src = { .ak_pub = { der, (size_t)der_len } };
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_OK);
    src.ak_pub.len--; /* cut DER */
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_FORMAT);
    OPENSSL_free(der);

    struct buf pem = pem_pub(ak);
    char text[2048];
    snprintf(text, sizeof text, "\n \t\n%.*s\n\n", (int)pem.len, (const char *)pem.p);
    src.ak_pub = (struct custos_bytes){ (const uint8_t *)text, strlen(text) };
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_OK);
    snprintf(text, sizeof text, "%.*sjunk\n", (int)pem.len, (const char *)pem.p);
    src.ak_pub.len = strlen(text);
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_TRAILING);
    snprintf(text, sizeof text, "x%.*s", (int)pem.len, (const char *)pem.p);
    src.ak_pub.len = strlen(text);
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_FORMAT);
    snprintf(text, sizeof text, "%.*s%.*s", (int)pem.len, (const char *)pem.p, (int)pem.len,
             (const char *)pem.p);
    src.ak_pub.len = strlen(text);
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_TRAILING);
    /* a certificate is not a public key */
    struct pki p = pki_new();
    struct buf cert = pem_certs(p.root, NULL);
    src.ak_pub = cb(cert);
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_FORMAT);
    free(cert.p);
    pki_free(&p);
    free(pem.p);
    EVP_PKEY_free(ak);
}

static void test_ak_certificate_rules(void)
{
    struct pki p = pki_new();
    EVP_PKEY *ak = gen_key("RSA2048");
    struct spec s = spec_default(CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA256);
    struct forged f;
    forge(ak, &s, &f);
    struct custos_bytes nonce = nonce_of(&s);
    struct buf anchor = pem_certs(p.root, NULL);
    struct buf chain = pem_certs(p.inter, NULL);
    struct custos_tpm_trust_src src = { .trust_anchor = cb(anchor), .ca_chain = cb(chain) };

    struct {
        const char *what;
        const char *ku;
        int64_t nb, na;
        cs_code want;
    } leaves[] = {
        { "no key usage", NULL, AT - DAY, AT + DAY, CS_OK },
        { "digitalSignature", "critical,digitalSignature,keyEncipherment", AT - DAY, AT + DAY,
          CS_OK },
        { "keyCertSign only", "critical,keyCertSign", AT - DAY, AT + DAY, CS_E_CHAIN },
        { "expired", "critical,digitalSignature", AT - 2 * DAY, AT - 1, CS_E_EXPIRED },
        { "not yet valid", "critical,digitalSignature", AT + 1, AT + DAY, CS_E_EXPIRED },
        { "valid exactly at", "critical,digitalSignature", AT, AT, CS_OK },
    };
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        X509 *leaf = make_cert(ak, "AK", p.inter, p.int_key, false, leaves[i].ku, leaves[i].nb,
                               leaves[i].na);
        struct buf der = der_cert(leaf);
        cs_code got = verify_with(&src, &f, cb(der), &nonce, AT, NULL);
        if (got != leaves[i].want) {
            fprintf(stderr, "AK certificate %s: got %s\n", leaves[i].what, custos_code_name(got));
            EXPECT_EQ(got, leaves[i].want);
        }
        struct buf pem = pem_certs(leaf, NULL); /* PEM works as well as DER */
        EXPECT_EQ(verify_with(&src, &f, cb(pem), &nonce, AT, NULL), leaves[i].want);
        free(pem.p);
        free(der.p);
        X509_free(leaf);
    }

    X509 *leaf = make_cert(ak, "AK", p.inter, p.int_key, false, NULL, AT - DAY, AT + DAY);
    struct buf der = der_cert(leaf);
    /* the window is the intersection of leaf, intermediate and root */
    EXPECT_EQ(verify_with(&src, &f, cb(der), &nonce, AT + DAY, NULL), CS_OK);
    EXPECT_EQ(verify_with(&src, &f, cb(der), &nonce, AT + DAY + 1, NULL), CS_E_EXPIRED);
    /* no AK certificate with a CA trust */
    EXPECT_EQ(verify_with(&src, &f, (struct custos_bytes){ 0 }, &nonce, AT, NULL), CS_E_CHAIN);
    /* two certificates where one AK certificate belongs */
    struct buf two = pem_certs(leaf, p.inter);
    EXPECT_EQ(verify_with(&src, &f, cb(two), &nonce, AT, NULL), CS_E_FORMAT);
    free(two.p);
    /* missing intermediate */
    struct custos_tpm_trust_src no_int = { .trust_anchor = cb(anchor) };
    EXPECT_EQ(verify_with(&no_int, &f, cb(der), &nonce, AT, NULL), CS_E_CHAIN);
    /* an extra, unused intermediate */
    EVP_PKEY *other_key = gen_key("P-256");
    X509 *other = make_cert(other_key, "Other CA", p.root, p.root_key, true, "critical,keyCertSign",
                            AT - DAY, AT + DAY);
    struct buf extra = pem_certs(p.inter, other);
    struct custos_tpm_trust_src extra_src = { .trust_anchor = cb(anchor), .ca_chain = cb(extra) };
    EXPECT_EQ(verify_with(&extra_src, &f, cb(der), &nonce, AT, NULL), CS_E_CHAIN);
    free(extra.p);
    /* a copy of the anchor among the intermediates is dropped */
    struct buf with_root = pem_certs(p.inter, p.root);
    struct custos_tpm_trust_src root_src = { .trust_anchor = cb(anchor),
                                             .ca_chain = cb(with_root) };
    EXPECT_EQ(verify_with(&root_src, &f, cb(der), &nonce, AT, NULL), CS_OK);
    free(with_root.p);
    /* an AK certificate issued by a CA outside the configured chain */
    X509 *stray = make_cert(ak, "AK", other, other_key, false, NULL, AT - DAY, AT + DAY);
    struct buf stray_der = der_cert(stray);
    EXPECT_EQ(verify_with(&src, &f, cb(stray_der), &nonce, AT, NULL), CS_E_CHAIN);
    free(stray_der.p);
    X509_free(stray);
    /* another root */
    struct pki q = pki_new();
    struct buf other_anchor = pem_certs(q.root, NULL);
    struct custos_tpm_trust_src wrong = { .trust_anchor = cb(other_anchor), .ca_chain = cb(chain) };
    cs_code got = verify_with(&wrong, &f, cb(der), &nonce, AT, NULL); /* same root name */
    EXPECT_TRUE(got == CS_E_CHAIN || got == CS_E_SIGNATURE);
    free(other_anchor.p);
    pki_free(&q);
    /* the intermediate is not a root: refused as an anchor */
    struct buf int_anchor = pem_certs(p.inter, NULL);
    struct custos_tpm_trust_src int_src = { .trust_anchor = cb(int_anchor) };
    struct custos_tpm_trust *t = NULL;
    struct custos_diag d = { 0 };
    EXPECT_ERR(custos_tpm_trust_new(&int_src, &d, &t), CS_E_CHAIN);
    free(int_anchor.p);
    /* two anchors */
    struct buf two_roots = pem_certs(p.root, p.root);
    struct custos_tpm_trust_src two_src = { .trust_anchor = cb(two_roots) };
    EXPECT_ERR(custos_tpm_trust_new(&two_src, NULL, &t), CS_E_FORMAT);
    free(two_roots.p);
    /* the ways of trust are exclusive */
    struct buf pin = pem_pub(ak);
    struct custos_tpm_trust_src both = { .trust_anchor = cb(anchor), .ak_pub = cb(pin) };
    EXPECT_ERR(custos_tpm_trust_new(&both, NULL, &t), CS_E_ARG);
    struct custos_tpm_trust_src none = { 0 };
    EXPECT_ERR(custos_tpm_trust_new(&none, NULL, &t), CS_E_ARG);
    struct custos_tpm_trust_src chain_only = { .ak_pub = cb(pin), .ca_chain = cb(chain) };
    EXPECT_ERR(custos_tpm_trust_new(&chain_only, NULL, &t), CS_E_ARG);
    EXPECT_TRUE(t == NULL);
    /* with a pinned AK, a certificate that comes along is not consulted */
    struct custos_tpm_trust_src pinned = { .ak_pub = cb(pin) };
    EXPECT_EQ(verify_with(&pinned, &f, cb(stray_der), &nonce, AT, NULL), CS_OK);
    free(pin.p);

    X509_free(other);
    EVP_PKEY_free(other_key);
    free(der.p);
    X509_free(leaf);
    free(anchor.p);
    free(chain.p);
    EVP_PKEY_free(ak);
    pki_free(&p);
}

static cs_code pcr_case(EVP_PKEY *ak, const struct spec *s, void (*edit)(struct forged *))
{
    struct forged f;
    forge(ak, s, &f);
    if (edit != NULL) {
        edit(&f);
    }
    struct custos_bytes nonce = nonce_of(s);
    return verify_pinned(ak, &f, &nonce, NULL);
}

/* Removes the "16" entry of pcrs.json. */
static void drop_pcr16(struct forged *f)
{
    char *at = strstr(f->pcrs, ",\"16\":\"");
    EXPECT_TRUE(at != NULL);
    char *end = strchr(at + 7, '"');
    memmove(at, end + 1, strlen(end + 1) + 1);
    f->pcrs_len = strlen(f->pcrs);
}

/* Changes one hex digit of the value of PCR 1. */
static void change_pcr1(struct forged *f)
{
    char *at = strstr(f->pcrs, "\"1\":\"");
    EXPECT_TRUE(at != NULL);
    at[5] = at[5] == '0' ? '1' : '0';
}

static void test_pcr_binding(void)
{
    EVP_PKEY *ak = gen_key("P-256");
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    EXPECT_EQ(pcr_case(ak, &s, NULL), CS_OK);
    EXPECT_EQ(pcr_case(ak, &s, drop_pcr16), CS_E_BINDING);
    EXPECT_EQ(pcr_case(ak, &s, change_pcr1), CS_E_BINDING);

    /* three banks, in a non-sorted order, PCR 31 with a 4-octet selection */
    s.n_banks = 3;
    s.banks[0] = (struct bank_sel){ CS_TPM_ALG_SHA384, 1u << 23, 3 };
    s.banks[1] = (struct bank_sel){ CS_TPM_ALG_SHA1, (1u << 0) | (1u << 7) | (1u << 31), 4 };
    s.banks[2] = (struct bank_sel){ CS_TPM_ALG_SHA256, (1u << 1) | (1u << 16), 3 };
    struct forged f;
    forge(ak, &s, &f);
    struct custos_bytes nonce = nonce_of(&s);
    json_t *claims = NULL;
    EXPECT_EQ(verify_pinned(ak, &f, &nonce, &claims), CS_OK);
    json_t *pcrs = json_object_get(claims, "pcrs");
    EXPECT_EQ(json_object_size(pcrs), 3);
    EXPECT_EQ(json_object_size(json_object_get(pcrs, "sha1")), 3);
    EXPECT_EQ(json_object_size(json_object_get(pcrs, "sha256")), 2);
    EXPECT_EQ(json_object_size(json_object_get(pcrs, "sha384")), 1);
    EXPECT_EQ(json_string_length(json_object_get(json_object_get(pcrs, "sha1"), "31")), 40);
    EXPECT_TRUE(json_object_get(json_object_get(pcrs, "sha256"), "0") == NULL); /* unselected */
    /* selection order is kept: sha384 first */
    EXPECT_STR_EQ(json_object_iter_key(json_object_iter(pcrs)), "sha384");
    json_decref(claims);
    /* the digest over the same values in another bank order does not match */
    struct spec swapped = s;
    swapped.banks[0] = s.banks[1];
    swapped.banks[1] = s.banks[0];
    forge(ak, &swapped, &f);
    uint8_t digest[64];
    memcpy(digest, f.quote + f.quote_len - 32, 32);
    forge(ak, &s, &f);
    memcpy(f.quote + f.quote_len - 32, digest, 32);
    sign(ak, &s, &f); /* re-signed: only the binding is wrong */
    EXPECT_EQ(verify_pinned(ak, &f, &nonce, NULL), CS_E_BINDING);

    /* pcrDigest must be a digest of the signature's hash */
    s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    s.digest_alg = CS_TPM_ALG_SHA1;
    EXPECT_EQ(pcr_case(ak, &s, NULL), CS_E_BINDING);
    s.digest_alg = CS_TPM_ALG_SHA384;
    EXPECT_EQ(pcr_case(ak, &s, NULL), CS_E_BINDING);
    /* no PCR selected at all: the digest of nothing */
    s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA384);
    s.n_banks = 0;
    EXPECT_EQ(pcr_case(ak, &s, NULL), CS_OK);
    s.n_banks = 1;
    s.banks[0] = (struct bank_sel){ CS_TPM_ALG_SHA256, 0, 3 };
    EXPECT_EQ(pcr_case(ak, &s, NULL), CS_OK);
    EVP_PKEY_free(ak);
}

static void test_nonce_rules(void)
{
    EVP_PKEY *ak = gen_key("P-384");
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA384);
    s.nonce_len = 64;
    memset(s.nonce, 0x5c, 64);
    struct forged f;
    forge(ak, &s, &f);
    struct custos_bytes nonce = nonce_of(&s);
    EXPECT_EQ(verify_pinned(ak, &f, &nonce, NULL), CS_OK);
    json_t *claims = NULL;
    EXPECT_EQ(verify_pinned(ak, &f, NULL, &claims), CS_OK); /* nothing expected */
    EXPECT_TRUE(json_is_false(json_object_get(claims, "nonce_checked")));
    EXPECT_EQ(json_string_length(json_object_get(claims, "nonce")), 128);
    json_decref(claims);
    uint8_t other[64];
    memcpy(other, s.nonce, 64);
    other[63] ^= 1;
    struct custos_bytes wrong = { other, 64 };
    EXPECT_EQ(verify_pinned(ak, &f, &wrong, NULL), CS_E_BINDING);
    wrong.len = 63;
    EXPECT_EQ(verify_pinned(ak, &f, &wrong, NULL), CS_E_BINDING);
    struct custos_bytes empty = { NULL, 0 };
    EXPECT_EQ(verify_pinned(ak, &f, &empty, NULL), CS_E_BINDING);
    s.nonce_len = 0;
    forge(ak, &s, &f);
    EXPECT_EQ(verify_pinned(ak, &f, &empty, &claims), CS_OK);
    EXPECT_STR_EQ(json_string_value(json_object_get(claims, "nonce")), "");
    json_decref(claims);
    EXPECT_EQ(verify_pinned(ak, &f, &wrong, NULL), CS_E_BINDING);
    EVP_PKEY_free(ak);
}

static void test_arguments(void)
{
    EVP_PKEY *ak = gen_key("P-256");
    struct buf pin = pem_pub(ak);
    struct custos_tpm_trust_src src = { .ak_pub = cb(pin) };
    struct custos_tpm_trust *t = NULL;
    EXPECT_ERR(custos_tpm_trust_new(NULL, NULL, &t), CS_E_ARG);
    EXPECT_ERR(custos_tpm_trust_new(&src, NULL, NULL), CS_E_ARG);
    EXPECT_OK(custos_tpm_trust_new(&src, NULL, &t));
    struct custos_tpm_evidence ev = { 0 };
    struct custos_verdict *v = NULL;
    EXPECT_ERR(custos_tpm_verify(NULL, &ev, NULL, AT, &v), CS_E_ARG);
    EXPECT_TRUE(v == NULL);
    EXPECT_ERR(custos_tpm_verify(t, NULL, NULL, AT, &v), CS_E_ARG);
    EXPECT_ERR(custos_tpm_verify(t, &ev, NULL, AT, NULL), CS_E_ARG);
    ev.quote.len = 5; /* length without bytes */
    EXPECT_ERR(custos_tpm_verify(t, &ev, NULL, AT, &v), CS_E_ARG);
    ev.quote.len = 0;
    EXPECT_ERR(custos_tpm_verify(t, &ev, NULL, AT, &v), CS_E_TRUNCATED); /* empty evidence */
    EXPECT_TRUE(v != NULL && !custos_verdict_is_verified(v));
    EXPECT_STR_EQ(custos_verdict_platform(v), "");
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    custos_tpm_trust_free(NULL);
    custos_tpm_dir_free(NULL);
    struct custos_tpm_dir *d = NULL;
    struct custos_diag diag = { 0 };
    EXPECT_ERR(custos_tpm_dir_load("/nonexistent-custos-dir", &diag, &d), CS_E_IO);
    EXPECT_TRUE(d == NULL && strstr(diag.msg, "signature.bin") != NULL);
    EXPECT_ERR(custos_tpm_dir_verify(NULL, NULL, 0, NULL, AT, &v), CS_E_ARG);
    free(pin.p);
    EVP_PKEY_free(ak);
}

/* Every allocation through cs_alloc fails in turn: never a crash or leak, only NOMEM. */
static void test_allocation_failures(void)
{
    struct pki p = pki_new();
    EVP_PKEY *ak = gen_key("P-256");
    struct spec s = spec_default(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256);
    struct forged f;
    forge(ak, &s, &f);
    struct custos_bytes nonce = nonce_of(&s);
    bool is_done = false;
    for (long n = 0; n < 64 && !is_done; n++) {
        cs_mem_set_fail_after(n);
        cs_code got = verify_cert(&p, ak, &f, &nonce, AT, NULL);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(got == CS_OK || got == CS_E_NOMEM);
        is_done = got == CS_OK;
    }
    EXPECT_TRUE(is_done);
    EVP_PKEY_free(ak);
    pki_free(&p);
}

CS_TEST_MAIN(CS_TEST(test_every_scheme_verifies), CS_TEST(test_signature_must_fit_the_ak),
             CS_TEST(test_ecdsa_integer_lengths), CS_TEST(test_unsupported_keys),
             CS_TEST(test_pinned_key_forms), CS_TEST(test_ak_certificate_rules),
             CS_TEST(test_pcr_binding), CS_TEST(test_nonce_rules), CS_TEST(test_arguments),
             CS_TEST(test_allocation_failures))
