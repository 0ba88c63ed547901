/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dcap_forge: mints a DCAP PKI, Intel-shaped collateral and quotes (see dcap_forge.h).
 *
 * Encoders only, the mirror image of src/evidence and src/crypto/sgx_pck.c: every
 * layout below is cited next to the code that writes it, from the same sources the
 * parsers cite (sgx_quote_3/4/5.h, PCS API v4 JSON, PCK Certificate Profile). The SGX
 * extension is written with a small DER writer (definite lengths, minimal INTEGERs)
 * rather than through OpenSSL's generic ASN1_TYPE stacks, which are hard to build
 * without leaks; certificates, CRLs and signatures go through OpenSSL 3 (EVP, X509).
 */
#include "sim/dcap_forge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"

#define DAY INT64_C(86400)
#define SGX_OID_TEXT "1.2.840.113741.1.13.1"
#define JSON_DOC_MAX (256u * 1024u)
#define PEM_MAX (64u * 1024u) /* a key, a certificate or a chain of three */

/* 1.2.840.113741.1.13.1 as DER content octets (X.690 8.19). */
static const uint8_t SGX_OID_DER[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

/* Intel's QE vendor ID (sgx_quote_3.h, QVL INTEL_QE_VENDOR_ID). */
static const uint8_t INTEL_QE_VENDOR[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                             0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
/* MRSIGNER of Intel's TD_QE and of the SGX QE, as published in PCS QE Identities. */
static const uint8_t TD_QE_MRSIGNER[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};
static const uint8_t SGX_QE_MRSIGNER[32] = {
    0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a,
    0x00, 0x56, 0xac, 0x8d, 0xed, 0x70, 0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff,
};
static const uint8_t TDX_FMSPC[6] = { 0xb0, 0xc0, 0x6f, 0x00, 0x00, 0x00 };
static const uint8_t SGX_FMSPC[6] = { 0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00 };

static const char CN_ROOT[] = "Intel SGX Root CA";
static const char CN_PLATFORM_CA[] = "Intel SGX PCK Platform CA";
static const char CN_PROCESSOR_CA[] = "Intel SGX PCK Processor CA";
static const char CN_PCK_LEAF[] = "Intel SGX PCK Certificate";
static const char CN_TCB_SIGNING[] = "Intel SGX TCB Signing";
static const char ORG_OWN_ROOT[] = "custos development PKI, not Intel";

/* Serial numbers: fixed, so that a CRL can name a certificate of any build. */
enum {
    SERIAL_ROOT = 0x1001,
    SERIAL_PCK_CA = 0x1002,
    SERIAL_PCK_LEAF = 0x1003,
    SERIAL_TCB_SIGNING = 0x1004,
    SERIAL_IMPOSTOR_ROOT = 0x1005,
    SERIAL_REVOKED_OTHER_1 = 0x7001, /* real PCK CRLs list dozens of unrelated platforms */
    SERIAL_REVOKED_OTHER_2 = 0x7002,
};

/* ---- OpenSSL cleanups ------------------------------------------------------------- */

static void pkey_ctx_freep(EVP_PKEY_CTX **p)
{
    EVP_PKEY_CTX_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}

static void name_freep(X509_NAME **p)
{
    X509_NAME_free(*p);
}

static void ext_freep(X509_EXTENSION **p)
{
    X509_EXTENSION_free(*p);
}

static void obj_freep(ASN1_OBJECT **p)
{
    ASN1_OBJECT_free(*p);
}

static void octets_freep(ASN1_OCTET_STRING **p)
{
    ASN1_OCTET_STRING_free(*p);
}

static void time_freep(ASN1_TIME **p)
{
    ASN1_TIME_free(*p);
}

static void integer_freep(ASN1_INTEGER **p)
{
    ASN1_INTEGER_free(*p);
}

static void revoked_freep(X509_REVOKED **p)
{
    X509_REVOKED_free(*p);
}

static void bio_freep(BIO **p)
{
    BIO_free(*p);
}

/* ---- a growable byte buffer (cs_alloc) -------------------------------------------- */

/* owns: p. Invariant: cap == 0 or len < cap, so one byte is always free for a NUL. */
struct fbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

static void fbuf_clear(struct fbuf *b)
{
    cs_free(b->p);
    *b = (struct fbuf){ 0 };
}

static cs_res fbuf_reserve(struct fbuf *b, size_t n)
{
    CS_ENSURE(n < SIZE_MAX / 4 && b->len < SIZE_MAX / 4, CS_E_TOO_LARGE);
    if (b->len + n < b->cap) {
        return CS_SUCCESS;
    }
    size_t cap = b->cap == 0 ? 256 : b->cap;
    while (cap <= b->len + n) {
        cap *= 2;
    }
    uint8_t *p = NULL;
    CS_TRY(cs_alloc(cap, 1, (void **)&p));
    if (b->len > 0) {
        memcpy(p, b->p, b->len);
    }
    cs_free(b->p);
    b->p = p;
    b->cap = cap;
    return CS_SUCCESS;
}

static cs_res fbuf_put(struct fbuf *b, const void *data, size_t n)
{
    CS_TRY(fbuf_reserve(b, n));
    if (n > 0) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
    return CS_SUCCESS;
}

static cs_res fbuf_zeros(struct fbuf *b, size_t n)
{
    CS_TRY(fbuf_reserve(b, n));
    memset(b->p + b->len, 0, n);
    b->len += n;
    return CS_SUCCESS;
}

static cs_res fbuf_u8(struct fbuf *b, uint8_t v)
{
    return fbuf_put(b, &v, 1);
}

static cs_res fbuf_u16le(struct fbuf *b, uint16_t v)
{
    const uint8_t le[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return fbuf_put(b, le, sizeof le);
}

static cs_res fbuf_u32le(struct fbuf *b, uint32_t v)
{
    const uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    return fbuf_put(b, le, sizeof le);
}

static cs_res fbuf_str(struct fbuf *b, const char *s)
{
    return fbuf_put(b, s, strlen(s));
}

/* Hands the bytes over as a NUL-terminated blob; b is left empty. */
static cs_res fbuf_to_blob(struct fbuf *b, struct cs_blob *out)
{
    CS_TRY(fbuf_reserve(b, 0));
    b->p[b->len] = 0;
    *out = (struct cs_blob){ b->p, b->len };
    *b = (struct fbuf){ 0 };
    return CS_SUCCESS;
}

/* An owned, NUL-terminated copy of a blob. */
static cs_res blob_dup(const struct cs_blob *in, struct cs_blob *out)
{
    CS_AUTO(fbuf_clear) struct fbuf b = { 0 };
    CS_TRY(fbuf_put(&b, in->p, in->len));
    return fbuf_to_blob(&b, out);
}

/* ---- DER (X.690) for the SGX extension ------------------------------------------- */

enum { DER_INTEGER = 0x02, DER_OCTETS = 0x04, DER_OID = 0x06, DER_ENUM = 0x0a, DER_SEQ = 0x30 };

static cs_res der_tlv(struct fbuf *out, uint8_t tag, const uint8_t *content, size_t n)
{
    CS_ENSURE(n <= 0xffff, CS_E_TOO_LARGE);
    CS_TRY(fbuf_u8(out, tag));
    if (n < 0x80) {
        CS_TRY(fbuf_u8(out, (uint8_t)n)); /* short form */
    } else if (n <= 0xff) {
        CS_TRY(fbuf_u8(out, 0x81));
        CS_TRY(fbuf_u8(out, (uint8_t)n));
    } else {
        CS_TRY(fbuf_u8(out, 0x82));
        CS_TRY(fbuf_u8(out, (uint8_t)(n >> 8)));
        CS_TRY(fbuf_u8(out, (uint8_t)n));
    }
    return fbuf_put(out, content, n);
}

/* A non-negative INTEGER or ENUMERATED in the fewest octets (X.690 8.3.2). */
static cs_res der_uint(struct fbuf *out, uint8_t tag, uint32_t v)
{
    const uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    uint8_t content[5];
    size_t n = 0;
    size_t i = 0;
    while (i < 3 && be[i] == 0) {
        i++;
    }
    if (be[i] & 0x80) {
        content[n++] = 0; /* keep it positive */
    }
    while (i < 4) {
        content[n++] = be[i++];
    }
    return der_tlv(out, tag, content, n);
}

/* SEQUENCE { OBJECT IDENTIFIER 1.2.840.113741.1.13.1.<arcs>, value } (arcs < 128). */
static cs_res der_entry(struct fbuf *out, const uint8_t *arcs, size_t n_arcs,
                        const struct fbuf *value)
{
    uint8_t oid[sizeof SGX_OID_DER + 2];
    CS_ENSURE(n_arcs <= 2, CS_E_ARG);
    memcpy(oid, SGX_OID_DER, sizeof SGX_OID_DER);
    memcpy(oid + sizeof SGX_OID_DER, arcs, n_arcs);
    CS_AUTO(fbuf_clear) struct fbuf seq = { 0 };
    CS_TRY(der_tlv(&seq, DER_OID, oid, sizeof SGX_OID_DER + n_arcs));
    CS_TRY(fbuf_put(&seq, value->p, value->len));
    return der_tlv(out, DER_SEQ, seq.p, seq.len);
}

/*
 * The SGX extension value (PCK Certificate Profile 1.5; FORMATS.md 1.4):
 * SEQUENCE OF SEQUENCE { OID, value } with .1 PPID, .2 TCB (a SEQUENCE of 18 such
 * entries: .2.1-.2.16 component SVNs, .2.17 PCESVN, .2.18 CPUSVN), .3 PCE-ID, .4 FMSPC,
 * .5 SGX type.
 */
static cs_res sgx_ext_der(const struct cs_forge_pck *x, struct fbuf *out)
{
    CS_AUTO(fbuf_clear) struct fbuf entries = { 0 };
    CS_AUTO(fbuf_clear) struct fbuf tcb = { 0 };
    CS_AUTO(fbuf_clear) struct fbuf v = { 0 };

    CS_TRY(der_tlv(&v, DER_OCTETS, x->ppid, sizeof x->ppid));
    CS_TRY(der_entry(&entries, (const uint8_t[]){ 1 }, 1, &v));

    for (uint8_t i = 1; i <= 16; i++) {
        v.len = 0;
        CS_TRY(der_uint(&v, DER_INTEGER, x->comp_svn[i - 1]));
        CS_TRY(der_entry(&tcb, (const uint8_t[]){ 2, i }, 2, &v));
    }
    v.len = 0;
    CS_TRY(der_uint(&v, DER_INTEGER, x->pce_svn));
    CS_TRY(der_entry(&tcb, (const uint8_t[]){ 2, 17 }, 2, &v));
    v.len = 0;
    CS_TRY(der_tlv(&v, DER_OCTETS, x->cpu_svn, sizeof x->cpu_svn));
    CS_TRY(der_entry(&tcb, (const uint8_t[]){ 2, 18 }, 2, &v));
    v.len = 0;
    CS_TRY(der_tlv(&v, DER_SEQ, tcb.p, tcb.len));
    CS_TRY(der_entry(&entries, (const uint8_t[]){ 2 }, 1, &v));

    v.len = 0;
    CS_TRY(der_tlv(&v, DER_OCTETS, x->pce_id, sizeof x->pce_id));
    CS_TRY(der_entry(&entries, (const uint8_t[]){ 3 }, 1, &v));
    v.len = 0;
    CS_TRY(der_tlv(&v, DER_OCTETS, x->fmspc, sizeof x->fmspc));
    CS_TRY(der_entry(&entries, (const uint8_t[]){ 4 }, 1, &v));
    v.len = 0;
    CS_TRY(der_uint(&v, DER_ENUM, x->sgx_type));
    CS_TRY(der_entry(&entries, (const uint8_t[]){ 5 }, 1, &v));

    return der_tlv(out, DER_SEQ, entries.p, entries.len);
}

/* ---- keys and memos --------------------------------------------------------------- */

enum key_id { K_ROOT, K_IMPOSTOR_ROOT, K_PCK_CA, K_PCK_LEAF, K_TCB_SIGNING, K_ATT, K_OTHER, K_N };

#define CN_MAX 64

/*
 * Everything the certificates and CRLs of a case depend on, in a form memcmp can compare
 * (zeroed, then filled field by field, so that padding is zero too).
 */
struct pki_params {
    struct cs_forge_window w[6];
    uint8_t flags[4];
    char cn[3][CN_MAX];
    struct cs_forge_pck pck;
};

#define MEMO_N 4 /* a few: tests alternate between TDX and SGX platforms */

/* The encoded PKI of a recent case, reused for cases with the same params. */
struct pki_memo {
    bool is_set;
    struct pki_params params;
    struct cs_blob pck_chain; /* PEM: leaf, CA, root (the impostor with is_impostor_root) */
    struct cs_blob tcb_chain; /* PEM: TCB Signing, root */
    struct cs_blob anchor;    /* PEM: root */
    struct cs_blob pck_crl;   /* DER */
    struct cs_blob root_crl;  /* DER */
};

/* A recently signed document: the same body and key give the same bytes. */
struct doc_memo {
    const EVP_PKEY *key;
    struct cs_blob text; /* the signed body */
    struct cs_blob doc;  /* {"<key>":body,"signature":"..."} */
};

struct doc_memos {
    struct doc_memo m[MEMO_N];
    size_t next; /* round-robin replacement */
};

/*
 * The keys, plus memos of the recent PKIs and documents built with them: ECDSA
 * signatures are randomised, so without the memos two cases with the same collateral
 * options would carry different bytes, and every test would pay for certificates and
 * for collateral loading again. Not for concurrent use.
 */
struct cs_forge_keys {
    EVP_PKEY *k[K_N];
    X509 *root; /* pinned Root CA certificate, or NULL: each PKI mints its own */
    struct pki_memo pki[MEMO_N];
    size_t pki_next;
    struct doc_memos tcb_info;
    struct doc_memos qe_identity;
};

static void pki_memo_clear(struct pki_memo *m)
{
    cs_blob_clear(&m->pck_chain);
    cs_blob_clear(&m->tcb_chain);
    cs_blob_clear(&m->anchor);
    cs_blob_clear(&m->pck_crl);
    cs_blob_clear(&m->root_crl);
    *m = (struct pki_memo){ 0 };
}

static void doc_memo_clear(struct doc_memo *m)
{
    cs_blob_clear(&m->text);
    cs_blob_clear(&m->doc);
    *m = (struct doc_memo){ 0 };
}

void cs_forge_keys_free(struct cs_forge_keys *k)
{
    if (k == NULL) {
        return;
    }
    for (size_t i = 0; i < K_N; i++) {
        EVP_PKEY_free(k->k[i]);
    }
    X509_free(k->root);
    for (size_t i = 0; i < MEMO_N; i++) {
        pki_memo_clear(&k->pki[i]);
        doc_memo_clear(&k->tcb_info.m[i]);
        doc_memo_clear(&k->qe_identity.m[i]);
    }
    cs_free(k);
}

static void keys_freep(struct cs_forge_keys **p)
{
    cs_forge_keys_free(*p);
}

static cs_res p256_new(EVP_PKEY **out)
{
    CS_AUTO(pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_keygen_init(ctx) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_generate(ctx, out) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_forge_keys_new(struct cs_forge_keys **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(keys_freep) struct cs_forge_keys *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    for (size_t i = 0; i < K_N; i++) {
        CS_TRY(p256_new(&k->k[i]));
    }
    *out = CS_MOVE(k);
    return CS_SUCCESS;
}

/* The public point as X || Y, 32 + 32 bytes big-endian (the quote's attestation key). */
static cs_res p256_xy(EVP_PKEY *key, uint8_t xy[64])
{
    CS_AUTO(bn_freep) BIGNUM *x = NULL;
    CS_AUTO(bn_freep) BIGNUM *y = NULL;
    CS_OSSL_ENSURE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(BN_bn2binpad(x, xy, 32) == 32, CS_E_CRYPTO);
    CS_OSSL_ENSURE(BN_bn2binpad(y, xy + 32, 32) == 32, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* ECDSA P-256 / SHA-256 over data, as the raw r || s (32 + 32 bytes) evidence carries. */
static cs_res sign_rs(EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t rs[64])
{
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1, CS_E_CRYPTO);
    unsigned char der[128];
    size_t der_len = sizeof der;
    CS_OSSL_ENSURE(EVP_DigestSign(ctx, der, &der_len, data, len) == 1, CS_E_CRYPTO);
    CS_ENSURE(der_len <= sizeof der && der_len <= (size_t)LONG_MAX, CS_E_CRYPTO);
    const unsigned char *p = der;
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    CS_OSSL_ENSURE(sig != NULL && p == der + der_len, CS_E_CRYPTO);
    CS_OSSL_ENSURE(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32, CS_E_CRYPTO);
    CS_OSSL_ENSURE(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* ---- certificates and CRLs --------------------------------------------------------- */

/*
 * Subject names as Intel writes them (CN, O, L, ST, C), or, with an organisation of our
 * own (a pinned development root), just CN and O: nothing there may read as Intel's.
 */
static cs_res name_new(const char *cn, const char *org, X509_NAME **out)
{
    static const char *const rest[][2] = {
        { "O", "Intel Corporation" }, { "L", "Santa Clara" }, { "ST", "CA" }, { "C", "US" }
    };
    CS_AUTO(name_freep) X509_NAME *n = X509_NAME_new();
    CS_OSSL_ENSURE(n != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                              -1, 0) == 1,
                   CS_E_CRYPTO);
    if (org != NULL) {
        CS_OSSL_ENSURE(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                                  (const unsigned char *)org, -1, -1, 0) == 1,
                       CS_E_CRYPTO);
        *out = CS_MOVE(n);
        return CS_SUCCESS;
    }
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        CS_OSSL_ENSURE(X509_NAME_add_entry_by_txt(n, rest[i][0], MBSTRING_UTF8,
                                                  (const unsigned char *)rest[i][1], -1, -1,
                                                  0) == 1,
                       CS_E_CRYPTO);
    }
    *out = CS_MOVE(n);
    return CS_SUCCESS;
}

/* Adds one extension written in openssl.cnf syntax ("critical,CA:TRUE", "hash", ...). */
static cs_res cert_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    CS_AUTO(ext_freep) X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    CS_OSSL_ENSURE(e != NULL, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_add_ext(cert, e, -1) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res cert_sgx_ext(X509 *cert, const struct cs_forge_pck *pck)
{
    CS_AUTO(fbuf_clear) struct fbuf der = { 0 };
    CS_TRY(sgx_ext_der(pck, &der));
    CS_AUTO(obj_freep) ASN1_OBJECT *oid = OBJ_txt2obj(SGX_OID_TEXT, 1);
    CS_OSSL_ENSURE(oid != NULL, CS_E_NOMEM);
    CS_AUTO(octets_freep) ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    CS_OSSL_ENSURE(value != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(ASN1_OCTET_STRING_set(value, der.p, (int)der.len) == 1, CS_E_NOMEM);
    CS_AUTO(ext_freep) X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value);
    CS_OSSL_ENSURE(e != NULL, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_add_ext(cert, e, -1) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

struct cert_spec {
    const char *cn;
    const char *org; /* NULL: Intel's organisation, locality, state and country */
    long serial;
    struct cs_forge_window w;
    EVP_PKEY *key;        /* the subject's key (its public half is certified) */
    X509 *issuer;         /* NULL: self-signed with key */
    EVP_PKEY *issuer_key; /* with issuer */
    const char *constraints;
    const char *usage;
    const struct cs_forge_pck *sgx; /* the PCK leaf's SGX extension, or NULL */
};

/* An X.509 v3 certificate shaped like Intel's (Intel SGX PCK Certificate Profile 1.x). */
static cs_res cert_new(const struct cert_spec *s, X509 **out)
{
    *out = NULL;
    CS_AUTO(cs_x509_freep) X509 *x = X509_new();
    CS_OSSL_ENSURE(x != NULL, CS_E_NOMEM);
    CS_AUTO(name_freep) X509_NAME *name = NULL;
    CS_TRY(name_new(s->cn, s->org, &name));
    CS_OSSL_ENSURE(X509_set_version(x, X509_VERSION_3) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(ASN1_INTEGER_set_int64(X509_get_serialNumber(x), s->serial) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_set_subject_name(x, name) == 1, CS_E_CRYPTO);
    const X509_NAME *issuer_name = s->issuer != NULL ? X509_get_subject_name(s->issuer) : name;
    CS_OSSL_ENSURE(X509_set_issuer_name(x, issuer_name) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->w.not_before) != NULL,
                   CS_E_CRYPTO);
    CS_OSSL_ENSURE(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->w.not_after) != NULL,
                   CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_set_pubkey(x, s->key) == 1, CS_E_CRYPTO);
    X509 *issuer = s->issuer != NULL ? s->issuer : x;
    CS_TRY(cert_ext(x, issuer, NID_subject_key_identifier, "hash"));
    CS_TRY(cert_ext(x, issuer, NID_authority_key_identifier, "keyid:always"));
    CS_TRY(cert_ext(x, issuer, NID_basic_constraints, s->constraints));
    CS_TRY(cert_ext(x, issuer, NID_key_usage, s->usage));
    if (s->sgx != NULL) {
        CS_TRY(cert_sgx_ext(x, s->sgx));
    }
    EVP_PKEY *signer = s->issuer != NULL ? s->issuer_key : s->key;
    /* X509_sign returns the signature length: > 0 is success, 0 failure */
    CS_OSSL_ENSURE(X509_sign(x, signer, EVP_sha256()) > 0, CS_E_CRYPTO);
    *out = CS_MOVE(x);
    return CS_SUCCESS;
}

static cs_res asn1_time_new(int64_t t, ASN1_TIME **out)
{
    CS_AUTO(time_freep) ASN1_TIME *a = ASN1_TIME_new();
    CS_OSSL_ENSURE(a != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(ASN1_TIME_set(a, (time_t)t) != NULL, CS_E_CRYPTO);
    *out = CS_MOVE(a);
    return CS_SUCCESS;
}

static cs_res crl_revoke(X509_CRL *crl, long serial, ASN1_TIME *when)
{
    CS_AUTO(revoked_freep) X509_REVOKED *r = X509_REVOKED_new();
    CS_OSSL_ENSURE(r != NULL, CS_E_NOMEM);
    CS_AUTO(integer_freep) ASN1_INTEGER *n = ASN1_INTEGER_new();
    CS_OSSL_ENSURE(n != NULL && ASN1_INTEGER_set_int64(n, serial) == 1, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_REVOKED_set_serialNumber(r, n) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_REVOKED_set_revocationDate(r, when) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_CRL_add0_revoked(crl, r) == 1, CS_E_CRYPTO);
    r = NULL; /* owned by the CRL now */
    return CS_SUCCESS;
}

/* A v2 CRL with CRL number and authority key identifier, as Intel's (RFC 5280 5.1). */
static cs_res crl_new(X509 *issuer, EVP_PKEY *key, struct cs_forge_window w, const long *revoked,
                      size_t n_revoked, X509_CRL **out)
{
    *out = NULL;
    CS_AUTO(cs_x509_crl_freep) X509_CRL *crl = X509_CRL_new();
    CS_OSSL_ENSURE(crl != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) == 1, CS_E_CRYPTO);
    CS_AUTO(time_freep) ASN1_TIME *this_update = NULL;
    CS_AUTO(time_freep) ASN1_TIME *next_update = NULL;
    CS_TRY(asn1_time_new(w.not_before, &this_update));
    CS_TRY(asn1_time_new(w.not_after, &next_update));
    CS_OSSL_ENSURE(X509_CRL_set1_lastUpdate(crl, this_update) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_CRL_set1_nextUpdate(crl, next_update) == 1, CS_E_CRYPTO);
    for (size_t i = 0; i < n_revoked; i++) {
        CS_TRY(crl_revoke(crl, revoked[i], this_update));
    }
    CS_OSSL_ENSURE(X509_CRL_sort(crl) == 1, CS_E_CRYPTO);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    const char keyid[] = "keyid:always";
    const int nid = NID_authority_key_identifier;
    CS_AUTO(ext_freep) X509_EXTENSION *akid = X509V3_EXT_nconf_nid(NULL, &ctx, nid, keyid);
    CS_OSSL_ENSURE(akid != NULL, CS_E_CRYPTO);
    CS_OSSL_ENSURE(X509_CRL_add_ext(crl, akid, -1) == 1, CS_E_CRYPTO);
    CS_AUTO(integer_freep) ASN1_INTEGER *number = ASN1_INTEGER_new();
    CS_OSSL_ENSURE(number != NULL && ASN1_INTEGER_set_int64(number, 1) == 1, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) == 1, CS_E_CRYPTO);
    /* X509_CRL_sign returns the signature length: > 0 is success */
    CS_OSSL_ENSURE(X509_CRL_sign(crl, key, EVP_sha256()) > 0, CS_E_CRYPTO);
    *out = CS_MOVE(crl);
    return CS_SUCCESS;
}

static cs_res pem_append(struct fbuf *out, X509 *cert)
{
    CS_AUTO(bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(PEM_write_bio_X509(bio, cert) == 1, CS_E_CRYPTO);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    CS_OSSL_ENSURE(n > 0 && data != NULL, CS_E_CRYPTO);
    return fbuf_put(out, data, (size_t)n);
}

static cs_res pem_blob(X509 *const *certs, size_t n, struct cs_blob *out)
{
    CS_AUTO(fbuf_clear) struct fbuf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        CS_TRY(pem_append(&b, certs[i]));
    }
    return fbuf_to_blob(&b, out);
}

static cs_res crl_blob(X509_CRL *crl, struct cs_blob *out)
{
    int n = i2d_X509_CRL(crl, NULL);
    CS_OSSL_ENSURE(n > 0, CS_E_CRYPTO);
    CS_AUTO(fbuf_clear) struct fbuf b = { 0 };
    CS_TRY(fbuf_reserve(&b, (size_t)n));
    unsigned char *p = b.p;
    CS_OSSL_ENSURE(i2d_X509_CRL(crl, &p) == n, CS_E_CRYPTO);
    b.len = (size_t)n;
    return fbuf_to_blob(&b, out);
}

/* The whole PKI of one case: certificates, CRLs, and their encodings. */
struct pki {
    X509 *root;
    X509 *impostor_root;
    X509 *pck_ca;
    X509 *pck_leaf;
    X509 *tcb_signing;
    X509_CRL *root_crl;
    X509_CRL *pck_crl;
};

static void pki_clear(struct pki *p)
{
    X509_free(p->root);
    X509_free(p->impostor_root);
    X509_free(p->pck_ca);
    X509_free(p->pck_leaf);
    X509_free(p->tcb_signing);
    X509_CRL_free(p->root_crl);
    X509_CRL_free(p->pck_crl);
    *p = (struct pki){ 0 };
}

static const char *or_default(const char *s, const char *dflt)
{
    return s != NULL ? s : dflt;
}

static const char CA_CONSTRAINTS_ROOT[] = "critical,CA:TRUE,pathlen:1";
static const char CA_USAGE[] = "critical,keyCertSign,cRLSign";

/* The self-signed Root CA of k (Intel's shape). */
static struct cert_spec root_spec(const struct cs_forge_keys *k, const char *cn,
                                  struct cs_forge_window w)
{
    return (struct cert_spec){
        .cn = cn,
        .serial = SERIAL_ROOT,
        .w = w,
        .key = k->k[K_ROOT],
        .constraints = CA_CONSTRAINTS_ROOT,
        .usage = CA_USAGE,
    };
}

static cs_res pki_build(struct cs_forge_keys *k, const struct cs_forge_opts *o, struct pki *p)
{
    static const char ca_constraints[] = "critical,CA:TRUE,pathlen:0";
    static const char leaf_constraints[] = "critical,CA:FALSE";
    static const char leaf_usage[] = "critical,digitalSignature,nonRepudiation";

    const struct cert_spec root = root_spec(k, CN_ROOT, o->root);
    if (k->root != NULL) {
        CS_OSSL_ENSURE(X509_up_ref(k->root) == 1, CS_E_CRYPTO);
        p->root = k->root; /* the pinned anchor */
    } else {
        CS_TRY(cert_new(&root, &p->root));
    }
    struct cert_spec impostor = root; /* same name and window, another key */
    impostor.serial = SERIAL_IMPOSTOR_ROOT;
    impostor.key = k->k[K_IMPOSTOR_ROOT];
    CS_TRY(cert_new(&impostor, &p->impostor_root));

    const char *ca_cn = o->is_processor_ca ? CN_PROCESSOR_CA : CN_PLATFORM_CA;
    const struct cert_spec ca = {
        .cn = or_default(o->pck_ca_cn, ca_cn),
        .serial = SERIAL_PCK_CA,
        .w = o->pck_ca,
        .key = k->k[K_PCK_CA],
        .issuer = o->is_impostor_root ? p->impostor_root : p->root,
        .issuer_key = o->is_impostor_root ? k->k[K_IMPOSTOR_ROOT] : k->k[K_ROOT],
        .constraints = ca_constraints,
        .usage = CA_USAGE,
    };
    CS_TRY(cert_new(&ca, &p->pck_ca));

    const struct cert_spec leaf = {
        .cn = or_default(o->pck_leaf_cn, CN_PCK_LEAF),
        .serial = SERIAL_PCK_LEAF,
        .w = o->pck_leaf,
        .key = k->k[K_PCK_LEAF],
        .issuer = p->pck_ca,
        .issuer_key = k->k[K_PCK_CA],
        .constraints = leaf_constraints,
        .usage = leaf_usage,
        .sgx = &o->pck,
    };
    CS_TRY(cert_new(&leaf, &p->pck_leaf));

    const struct cert_spec tcb = {
        .cn = or_default(o->tcb_signing_cn, CN_TCB_SIGNING),
        .serial = SERIAL_TCB_SIGNING,
        .w = o->tcb_signing,
        .key = k->k[K_TCB_SIGNING],
        .issuer = p->root,
        .issuer_key = k->k[K_ROOT],
        .constraints = leaf_constraints,
        .usage = leaf_usage,
    };
    CS_TRY(cert_new(&tcb, &p->tcb_signing));

    long root_revoked[1] = { SERIAL_PCK_CA };
    CS_TRY(crl_new(p->root, k->k[K_ROOT], o->root_crl, root_revoked, o->is_pck_ca_revoked ? 1 : 0,
                   &p->root_crl));
    long pck_revoked[3] = { SERIAL_REVOKED_OTHER_1, SERIAL_REVOKED_OTHER_2, SERIAL_PCK_LEAF };
    CS_TRY(crl_new(p->pck_ca, k->k[K_PCK_CA], o->pck_crl, pck_revoked,
                   o->is_pck_leaf_revoked ? 3 : 2, &p->pck_crl));
    return CS_SUCCESS;
}

/* ---- JSON collateral (Intel PCS API v4) ------------------------------------------- */

/* Upper-case hex, as PCS writes fmspc, pceId, mrsigner, attributes... */
static cs_res json_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];
    CS_ENSURE(n <= 64, CS_E_ARG);
    CS_TRY(cs_hex_encode(p, n, hex, sizeof hex));
    for (size_t i = 0; hex[i] != '\0'; i++) {
        if (hex[i] >= 'a' && hex[i] <= 'f') {
            hex[i] = (char)(hex[i] - 'a' + 'A');
        }
    }
    return cs_json_set_new(obj, key, json_string(hex));
}

static cs_res json_u32_hex(json_t *obj, const char *key, uint32_t v)
{
    const uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    return json_hex(obj, key, be, sizeof be);
}

static cs_res json_time(json_t *obj, const char *key, int64_t t)
{
    char text[CS_TIME_TEXT_LEN];
    CS_TRY(cs_time_format(t, text));
    return cs_json_set_new(obj, key, json_string(text));
}

static cs_res json_int(json_t *obj, const char *key, json_int_t v)
{
    return cs_json_set_new(obj, key, json_integer(v));
}

/* "tcbDate", "tcbStatus" and, when there are any, "advisoryIDs". */
static cs_res json_level_tail(json_t *lv, int64_t tcb_date, const char *status,
                              const char *const *advisories)
{
    CS_ENSURE(status != NULL, CS_E_ARG);
    CS_TRY(json_time(lv, "tcbDate", tcb_date));
    CS_TRY(cs_json_set_new(lv, "tcbStatus", json_string(status)));
    if (advisories[0] == NULL) {
        return CS_SUCCESS; /* PCS omits the member when there is nothing to say */
    }
    json_t *ids = json_array();
    CS_TRY(cs_json_set_new(lv, "advisoryIDs", ids));
    for (size_t i = 0; i < CS_FORGE_ADVISORIES_MAX && advisories[i] != NULL; i++) {
        CS_ENSURE(json_array_append_new(ids, json_string(advisories[i])) == 0, CS_E_NOMEM);
    }
    return CS_SUCCESS;
}

static cs_res json_isv_levels(json_t *obj, const struct cs_forge_isv_level *levels, size_t n,
                              int64_t tcb_date)
{
    CS_ENSURE(n <= CS_FORGE_LEVELS_MAX, CS_E_ARG);
    json_t *arr = json_array();
    CS_TRY(cs_json_set_new(obj, "tcbLevels", arr));
    for (size_t i = 0; i < n; i++) {
        json_t *lv = json_object();
        CS_ENSURE(lv != NULL && json_array_append_new(arr, lv) == 0, CS_E_NOMEM);
        json_t *tcb = json_object();
        CS_TRY(cs_json_set_new(lv, "tcb", tcb));
        CS_TRY(json_int(tcb, "isvsvn", levels[i].isv_svn));
        CS_TRY(json_level_tail(lv, tcb_date, levels[i].status, levels[i].advisory_ids));
    }
    return CS_SUCCESS;
}

/* v3 components: [{"svn": n}, ...] x 16. */
static cs_res json_components(json_t *tcb, const char *key, const uint8_t svn[16])
{
    json_t *arr = json_array();
    CS_TRY(cs_json_set_new(tcb, key, arr));
    for (size_t i = 0; i < 16; i++) {
        json_t *c = json_object();
        CS_ENSURE(c != NULL && json_array_append_new(arr, c) == 0, CS_E_NOMEM);
        CS_TRY(json_int(c, "svn", svn[i]));
    }
    return CS_SUCCESS;
}

static cs_res json_tcb_level(json_t *arr, const struct cs_forge_opts *o,
                             const struct cs_forge_tcb_level *l, int64_t tcb_date)
{
    json_t *lv = json_object();
    CS_ENSURE(lv != NULL && json_array_append_new(arr, lv) == 0, CS_E_NOMEM);
    json_t *tcb = json_object();
    CS_TRY(cs_json_set_new(lv, "tcb", tcb));
    if (o->tcb_version == 2) {
        for (unsigned i = 0; i < 16; i++) { /* TCB Info V2: sgxtcbcomp01svn .. 16svn */
            char key[24];
            snprintf(key, sizeof key, "sgxtcbcomp%02usvn", i + 1);
            CS_TRY(json_int(tcb, key, l->sgx_svn[i]));
        }
        CS_TRY(json_int(tcb, "pcesvn", l->pce_svn));
    } else {
        CS_TRY(json_components(tcb, "sgxtcbcomponents", l->sgx_svn));
        CS_TRY(json_int(tcb, "pcesvn", l->pce_svn));
        if (o->is_tcb_tdx) {
            CS_TRY(json_components(tcb, "tdxtcbcomponents", l->tdx_svn));
        }
    }
    return json_level_tail(lv, tcb_date, l->status, l->advisory_ids);
}

static cs_res json_tdx_module(json_t *body, const struct cs_forge_opts *o, int64_t tcb_date)
{
    json_t *m = json_object();
    CS_TRY(cs_json_set_new(body, "tdxModule", m));
    CS_TRY(json_hex(m, "mrsigner", o->module_mrsigner, sizeof o->module_mrsigner));
    CS_TRY(json_hex(m, "attributes", o->module_attributes, sizeof o->module_attributes));
    const uint8_t *mask = o->module_attributes_mask;
    CS_TRY(json_hex(m, "attributesMask", mask, sizeof o->module_attributes_mask));
    if (o->n_module_ids == 0) {
        return CS_SUCCESS; /* TDX 1.0-era TCB Info: no identities */
    }
    CS_ENSURE(o->n_module_ids <= CS_FORGE_MODULE_IDS_MAX, CS_E_ARG);
    json_t *ids = json_array();
    CS_TRY(cs_json_set_new(body, "tdxModuleIdentities", ids));
    for (size_t i = 0; i < o->n_module_ids; i++) {
        const struct cs_forge_module_id *mi = &o->module_ids[i];
        json_t *id = json_object();
        CS_ENSURE(id != NULL && json_array_append_new(ids, id) == 0, CS_E_NOMEM);
        CS_TRY(cs_json_set_new(id, "id", json_string(mi->id)));
        CS_TRY(json_hex(id, "mrsigner", mi->mrsigner, sizeof mi->mrsigner));
        CS_TRY(json_hex(id, "attributes", mi->attributes, sizeof mi->attributes));
        CS_TRY(json_hex(id, "attributesMask", mi->attributes_mask, sizeof mi->attributes_mask));
        CS_TRY(json_isv_levels(id, mi->levels, mi->n_levels, tcb_date));
    }
    return CS_SUCCESS;
}

/* The "tcbInfo" body (PCS API v4 "TCB Info V2/V3"), member order as PCS serves it. */
static cs_res tcb_info_body(const struct cs_forge_opts *o, json_t **out)
{
    CS_ENSURE(o->tcb_version == 2 || o->tcb_version == 3, CS_E_ARG);
    CS_ENSURE(o->n_tcb_levels <= CS_FORGE_LEVELS_MAX, CS_E_ARG);
    int64_t tcb_date = o->at - 300 * DAY;
    CS_AUTO_JSON *b = json_object();
    CS_ENSURE(b != NULL, CS_E_NOMEM);
    if (o->tcb_version == 3) {
        CS_TRY(cs_json_set_new(b, "id", json_string(o->is_tcb_tdx ? "TDX" : "SGX")));
    }
    CS_TRY(json_int(b, "version", o->tcb_version));
    CS_TRY(json_time(b, "issueDate", o->tcb_info.not_before));
    CS_TRY(json_time(b, "nextUpdate", o->tcb_info.not_after));
    CS_TRY(json_hex(b, "fmspc", o->tcb_fmspc, sizeof o->tcb_fmspc));
    CS_TRY(json_hex(b, "pceId", o->tcb_pce_id, sizeof o->tcb_pce_id));
    CS_TRY(json_int(b, "tcbType", 0));
    CS_TRY(json_int(b, "tcbEvaluationDataNumber", o->tcb_eval_num));
    if (o->tcb_version == 3 && o->is_tcb_tdx) {
        CS_TRY(json_tdx_module(b, o, tcb_date));
    }
    json_t *levels = json_array();
    CS_TRY(cs_json_set_new(b, "tcbLevels", levels));
    for (size_t i = 0; i < o->n_tcb_levels; i++) {
        CS_TRY(json_tcb_level(levels, o, &o->tcb_levels[i], tcb_date));
    }
    *out = CS_MOVE(b);
    return CS_SUCCESS;
}

/* The "enclaveIdentity" body (PCS API v4 "Enclave Identity V2"). */
static cs_res qe_identity_body(const struct cs_forge_opts *o, json_t **out)
{
    CS_AUTO_JSON *b = json_object();
    CS_ENSURE(b != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(b, "id", json_string(o->is_qe_tdx ? "TD_QE" : "QE")));
    CS_TRY(json_int(b, "version", 2));
    CS_TRY(json_time(b, "issueDate", o->qe_identity.not_before));
    CS_TRY(json_time(b, "nextUpdate", o->qe_identity.not_after));
    CS_TRY(json_int(b, "tcbEvaluationDataNumber", o->tcb_eval_num));
    CS_TRY(json_u32_hex(b, "miscselect", o->qe_miscselect));
    CS_TRY(json_u32_hex(b, "miscselectMask", o->qe_miscselect_mask));
    CS_TRY(json_hex(b, "attributes", o->qe_attributes, sizeof o->qe_attributes));
    CS_TRY(json_hex(b, "attributesMask", o->qe_attributes_mask, sizeof o->qe_attributes_mask));
    CS_TRY(json_hex(b, "mrsigner", o->qe_mrsigner, sizeof o->qe_mrsigner));
    CS_TRY(json_int(b, "isvprodid", o->qe_isv_prod_id));
    CS_TRY(json_isv_levels(b, o->qe_levels, o->n_qe_levels, o->at - 300 * DAY));
    *out = CS_MOVE(b);
    return CS_SUCCESS;
}

/* Compact JSON text of v (no NUL), the exact bytes that will be signed. */
static cs_res json_text(const json_t *v, struct fbuf *out)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = json_dumpb(v, NULL, 0, flags);
    CS_ENSURE(n > 0 && n <= JSON_DOC_MAX, CS_E_NOMEM);
    CS_TRY(fbuf_reserve(out, n));
    CS_ENSURE(json_dumpb(v, (char *)out->p + out->len, n, flags) == n, CS_E_INTERNAL);
    out->len += n;
    return CS_SUCCESS;
}

/*
 * {"<key>":<body>,"signature":"<hex r||s>"}: the signature is over the exact body bytes
 * (FORMATS.md 1.5), so the wrapper is built by concatenation, never re-serialised.
 * The same body signed by the same key as last time gives the same document (memo).
 */
static cs_res signed_doc(struct doc_memos *memos, const char *key, const json_t *body,
                         EVP_PKEY *signer, struct cs_blob *out)
{
    CS_AUTO(fbuf_clear) struct fbuf text = { 0 };
    CS_TRY(json_text(body, &text));
    for (size_t i = 0; i < MEMO_N; i++) {
        const struct doc_memo *m = &memos->m[i];
        if (m->key == signer && m->text.len == text.len &&
            memcmp(m->text.p, text.p, text.len) == 0) {
            return blob_dup(&m->doc, out);
        }
    }
    uint8_t rs[64];
    CS_TRY(sign_rs(signer, text.p, text.len, rs));
    char hex[2 * sizeof rs + 1];
    CS_TRY(cs_hex_encode(rs, sizeof rs, hex, sizeof hex));
    CS_AUTO(fbuf_clear) struct fbuf doc = { 0 };
    CS_TRY(fbuf_str(&doc, "{\""));
    CS_TRY(fbuf_str(&doc, key));
    CS_TRY(fbuf_str(&doc, "\":"));
    CS_TRY(fbuf_put(&doc, text.p, text.len));
    CS_TRY(fbuf_str(&doc, ",\"signature\":\""));
    CS_TRY(fbuf_str(&doc, hex));
    CS_TRY(fbuf_str(&doc, "\"}"));
    CS_TRY(fbuf_to_blob(&doc, out));
    struct doc_memo *memo = &memos->m[memos->next];
    memos->next = (memos->next + 1) % MEMO_N;
    doc_memo_clear(memo);
    if (cs_ok(fbuf_to_blob(&text, &memo->text)) && cs_ok(blob_dup(out, &memo->doc))) {
        memo->key = signer;
    } else {
        doc_memo_clear(memo); /* no memo this time; the document itself is fine */
    }
    return CS_SUCCESS;
}

static EVP_PKEY *pick_key(const struct cs_forge_keys *k, enum cs_forge_key which,
                          enum key_id dflt)
{
    switch (which) {
    case CS_FORGE_KEY_OTHER:
        return k->k[K_OTHER];
    case CS_FORGE_KEY_PCK_LEAF:
        return k->k[K_PCK_LEAF];
    case CS_FORGE_KEY_DEFAULT:
    default:
        return k->k[dflt];
    }
}

/* ---- quotes ----------------------------------------------------------------------- */

/* sgx_report_body_t, 384 bytes (sgx_report.h; FORMATS.md 1.2), reserved bytes zero. */
static cs_res sgx_report_put(struct fbuf *b, const struct cs_sgx_report *r)
{
    size_t start = b->len;
    CS_TRY(fbuf_put(b, r->cpu_svn, sizeof r->cpu_svn));                 /* 0 */
    CS_TRY(fbuf_u32le(b, r->misc_select));                              /* 16 */
    CS_TRY(fbuf_zeros(b, 12));                                          /* 20 */
    CS_TRY(fbuf_put(b, r->isv_ext_prod_id, sizeof r->isv_ext_prod_id)); /* 32 */
    CS_TRY(fbuf_put(b, r->attributes, sizeof r->attributes));           /* 48 */
    CS_TRY(fbuf_put(b, r->mr_enclave, sizeof r->mr_enclave));           /* 64 */
    CS_TRY(fbuf_zeros(b, 32));                                          /* 96 */
    CS_TRY(fbuf_put(b, r->mr_signer, sizeof r->mr_signer));             /* 128 */
    CS_TRY(fbuf_zeros(b, 32));                                          /* 160 */
    CS_TRY(fbuf_put(b, r->config_id, sizeof r->config_id));             /* 192 */
    CS_TRY(fbuf_u16le(b, r->isv_prod_id));                              /* 256 */
    CS_TRY(fbuf_u16le(b, r->isv_svn));                                  /* 258 */
    CS_TRY(fbuf_u16le(b, r->config_svn));                               /* 260 */
    CS_TRY(fbuf_zeros(b, 42));                                          /* 262 */
    CS_TRY(fbuf_put(b, r->isv_family_id, sizeof r->isv_family_id));     /* 304 */
    CS_TRY(fbuf_put(b, r->report_data, sizeof r->report_data));         /* 320 */
    CS_ENSURE(b->len - start == CS_SGX_REPORT_BODY_LEN, CS_E_INTERNAL);
    return CS_SUCCESS;
}

/* sgx_report2_body_t (sgx_quote_4.h), plus the TDX 1.5 tail (sgx_quote_5.h). */
static cs_res tdx_report_put(struct fbuf *b, const struct cs_tdx_report *t, bool is_tdx15)
{
    size_t start = b->len;
    CS_TRY(fbuf_put(b, t->tee_tcb_svn, sizeof t->tee_tcb_svn));         /* 0 */
    CS_TRY(fbuf_put(b, t->mr_seam, sizeof t->mr_seam));                 /* 16 */
    CS_TRY(fbuf_put(b, t->mrsigner_seam, sizeof t->mrsigner_seam));     /* 64 */
    CS_TRY(fbuf_put(b, t->seam_attributes, sizeof t->seam_attributes)); /* 112 */
    CS_TRY(fbuf_put(b, t->td_attributes, sizeof t->td_attributes));     /* 120 */
    CS_TRY(fbuf_put(b, t->xfam, sizeof t->xfam));                       /* 128 */
    CS_TRY(fbuf_put(b, t->mr_td, sizeof t->mr_td));                     /* 136 */
    CS_TRY(fbuf_put(b, t->mr_config_id, sizeof t->mr_config_id));       /* 184 */
    CS_TRY(fbuf_put(b, t->mr_owner, sizeof t->mr_owner));               /* 232 */
    CS_TRY(fbuf_put(b, t->mr_owner_config, sizeof t->mr_owner_config)); /* 280 */
    CS_TRY(fbuf_put(b, t->rtmr, sizeof t->rtmr));                       /* 328 */
    CS_TRY(fbuf_put(b, t->report_data, sizeof t->report_data));         /* 520 */
    if (is_tdx15) {
        CS_TRY(fbuf_put(b, t->tee_tcb_svn2, sizeof t->tee_tcb_svn2)); /* 584 */
        CS_TRY(fbuf_put(b, t->mr_servicetd, sizeof t->mr_servicetd)); /* 600 */
    }
    size_t want = is_tdx15 ? CS_TDX15_BODY_LEN : CS_TDX10_BODY_LEN;
    CS_ENSURE(b->len - start == want, CS_E_INTERNAL);
    return CS_SUCCESS;
}

static bool body_fits_version(uint16_t version, enum cs_intel_body body)
{
    switch (version) {
    case 3:
        return body == CS_INTEL_BODY_SGX;
    case 4:
        return body == CS_INTEL_BODY_SGX || body == CS_INTEL_BODY_TDX10;
    case 5:
        return body == CS_INTEL_BODY_SGX || body == CS_INTEL_BODY_TDX10 ||
               body == CS_INTEL_BODY_TDX15;
    default:
        return false;
    }
}

/* Header (48 bytes, sgx_quote_3.h / sgx_quote_4.h) and body; v5 adds type and size. */
static cs_res quote_signed_part(const struct cs_forge_opts *o, struct fbuf *b)
{
    bool is_tdx = o->body != CS_INTEL_BODY_SGX;
    CS_TRY(fbuf_u16le(b, o->version));
    CS_TRY(fbuf_u16le(b, CS_INTEL_ATT_KEY_ECDSA_P256));
    CS_TRY(fbuf_u32le(b, is_tdx ? CS_INTEL_TEE_TDX : CS_INTEL_TEE_SGX));
    if (o->version == 3) {
        CS_TRY(fbuf_u16le(b, o->qe_report.isv_svn)); /* qe_svn */
        CS_TRY(fbuf_u16le(b, o->pck.pce_svn));       /* pce_svn */
    } else {
        CS_TRY(fbuf_zeros(b, 4)); /* reserved */
    }
    CS_TRY(fbuf_put(b, o->qe_vendor_id, sizeof o->qe_vendor_id));
    CS_TRY(fbuf_put(b, o->user_data, sizeof o->user_data));
    if (o->version == 5) {
        size_t len = o->body == CS_INTEL_BODY_SGX     ? CS_SGX_REPORT_BODY_LEN
                     : o->body == CS_INTEL_BODY_TDX10 ? CS_TDX10_BODY_LEN
                                                      : CS_TDX15_BODY_LEN;
        CS_TRY(fbuf_u16le(b, (uint16_t)o->body));
        CS_TRY(fbuf_u32le(b, (uint32_t)len));
    }
    if (!is_tdx) {
        return sgx_report_put(b, &o->sgx);
    }
    return tdx_report_put(b, &o->tdx, o->body == CS_INTEL_BODY_TDX15);
}

/*
 * QE report, its PCK signature, QE auth data and the type-5 PCK chain
 * (sgx_quote_3.h sgx_ql_ecdsa_sig_data_t tail / the content of type 6 in v4 and v5).
 */
static cs_res quote_qe_part(const struct cs_forge_keys *k, const struct cs_forge_opts *o,
                            const uint8_t att_xy[64], const struct cs_blob *pem, struct fbuf *b)
{
    struct cs_sgx_report qe = o->qe_report;
    /* QuoteVerifier.cpp 4.1.2.4.13: report_data = SHA-256(att key || auth data) || 0^32 */
    memset(qe.report_data, 0, sizeof qe.report_data);
    struct cs_cur auth = cs_cur_of(o->qe_auth, o->qe_auth_len);
    CS_TRY(cs_sha256_2(cs_cur_of(att_xy, 64), auth, qe.report_data));
    for (size_t i = 0; i < sizeof qe.report_data; i++) {
        qe.report_data[i] ^= o->qe_report_data_xor[i];
    }
    size_t report_at = b->len;
    CS_TRY(sgx_report_put(b, &qe));
    uint8_t rs[64];
    CS_TRY(sign_rs(pick_key(k, o->qe_report_key, K_PCK_LEAF), b->p + report_at,
                   CS_SGX_REPORT_BODY_LEN, rs));
    CS_TRY(fbuf_put(b, rs, sizeof rs));
    CS_TRY(fbuf_u16le(b, (uint16_t)o->qe_auth_len));
    CS_TRY(fbuf_put(b, o->qe_auth, o->qe_auth_len));
    CS_TRY(fbuf_u16le(b, o->cert_type_inner));
    CS_TRY(fbuf_u32le(b, (uint32_t)pem->len));
    return fbuf_put(b, pem->p, pem->len);
}

static cs_res quote_build(const struct cs_forge_keys *k, const struct cs_forge_opts *o,
                          const struct cs_blob *pem, struct cs_blob *out)
{
    CS_ENSURE(body_fits_version(o->version, o->body), CS_E_ARG);
    CS_ENSURE(o->qe_auth_len <= CS_FORGE_QE_AUTH_MAX, CS_E_ARG);
    uint8_t att_xy[64];
    CS_TRY(p256_xy(k->k[K_ATT], att_xy));

    CS_AUTO(fbuf_clear) struct fbuf q = { 0 };
    CS_TRY(quote_signed_part(o, &q));
    uint8_t quote_sig[64];
    CS_TRY(sign_rs(pick_key(k, o->quote_key, K_ATT), q.p, q.len, quote_sig));

    CS_AUTO(fbuf_clear) struct fbuf sig = { 0 };
    CS_TRY(fbuf_put(&sig, quote_sig, sizeof quote_sig));
    CS_TRY(fbuf_put(&sig, att_xy, sizeof att_xy));
    if (o->version == 3) {
        CS_TRY(quote_qe_part(k, o, att_xy, pem, &sig));
    } else {
        /* sgx_quote_4.h: certification data type 6 wraps the QE part */
        CS_AUTO(fbuf_clear) struct fbuf qe = { 0 };
        CS_TRY(quote_qe_part(k, o, att_xy, pem, &qe));
        CS_TRY(fbuf_u16le(&sig, o->cert_type_outer));
        CS_TRY(fbuf_u32le(&sig, (uint32_t)qe.len));
        CS_TRY(fbuf_put(&sig, qe.p, qe.len));
    }
    CS_TRY(fbuf_u32le(&q, (uint32_t)sig.len));
    CS_TRY(fbuf_put(&q, sig.p, sig.len));
    CS_TRY(fbuf_reserve(&q, o->trailing_len));
    memset(q.p + q.len, o->trailing_byte, o->trailing_len);
    q.len += o->trailing_len;
    return fbuf_to_blob(&q, out);
}

/* ---- cases ------------------------------------------------------------------------ */

void cs_forge_case_clear(struct cs_forge_case *c)
{
    if (c == NULL) {
        return;
    }
    cs_blob_clear(&c->quote);
    cs_blob_clear(&c->tcb_info);
    cs_blob_clear(&c->tcb_info_chain);
    cs_blob_clear(&c->qe_identity);
    cs_blob_clear(&c->qe_identity_chain);
    cs_blob_clear(&c->pck_crl);
    cs_blob_clear(&c->root_ca_crl);
    cs_blob_clear(&c->trust_anchor);
    cs_blob_clear(&c->pck_chain);
}

static void pki_clearp(struct pki *p)
{
    pki_clear(p);
}

static cs_res cn_param(const char *cn, char out[CN_MAX])
{
    if (cn == NULL) {
        return CS_SUCCESS; /* Intel's name: the empty string stands for it */
    }
    size_t n = strlen(cn);
    CS_ENSURE(n > 0 && n < CN_MAX, CS_E_ARG);
    memcpy(out, cn, n);
    return CS_SUCCESS;
}

static cs_res pki_params_of(const struct cs_forge_opts *o, struct pki_params *p)
{
    memset(p, 0, sizeof *p);
    const struct cs_forge_window w[6] = { o->root,        o->pck_ca,   o->pck_leaf,
                                          o->tcb_signing, o->root_crl, o->pck_crl };
    memcpy(p->w, w, sizeof w);
    p->flags[0] = o->is_processor_ca;
    p->flags[1] = o->is_pck_leaf_revoked;
    p->flags[2] = o->is_pck_ca_revoked;
    p->flags[3] = o->is_impostor_root;
    CS_TRY(cn_param(o->pck_leaf_cn, p->cn[0]));
    CS_TRY(cn_param(o->pck_ca_cn, p->cn[1]));
    CS_TRY(cn_param(o->tcb_signing_cn, p->cn[2]));
    memcpy(p->pck.ppid, o->pck.ppid, sizeof p->pck.ppid);
    memcpy(p->pck.comp_svn, o->pck.comp_svn, sizeof p->pck.comp_svn);
    p->pck.pce_svn = o->pck.pce_svn;
    memcpy(p->pck.cpu_svn, o->pck.cpu_svn, sizeof p->pck.cpu_svn);
    memcpy(p->pck.pce_id, o->pck.pce_id, sizeof p->pck.pce_id);
    memcpy(p->pck.fmspc, o->pck.fmspc, sizeof p->pck.fmspc);
    p->pck.sgx_type = o->pck.sgx_type;
    return CS_SUCCESS;
}

/* The encoded PKI of o: from the memo, or built now and remembered. */
static cs_res pki_get(struct cs_forge_keys *k, const struct cs_forge_opts *o,
                      const struct pki_memo **out)
{
    struct pki_params params;
    CS_TRY(pki_params_of(o, &params));
    for (size_t i = 0; i < MEMO_N; i++) {
        if (k->pki[i].is_set && memcmp(&k->pki[i].params, &params, sizeof params) == 0) {
            *out = &k->pki[i];
            return CS_SUCCESS;
        }
    }
    CS_AUTO(pki_clearp) struct pki p = { 0 };
    CS_TRY(pki_build(k, o, &p));
    CS_AUTO(pki_memo_clear) struct pki_memo m = { .params = params };
    X509 *pck_root = o->is_impostor_root ? p.impostor_root : p.root;
    X509 *const pck_chain[3] = { p.pck_leaf, p.pck_ca, pck_root };
    X509 *const tcb_chain[2] = { p.tcb_signing, p.root };
    CS_TRY(pem_blob(pck_chain, 3, &m.pck_chain));
    CS_TRY(pem_blob(tcb_chain, 2, &m.tcb_chain));
    CS_TRY(pem_blob(&p.root, 1, &m.anchor));
    CS_TRY(crl_blob(p.pck_crl, &m.pck_crl));
    CS_TRY(crl_blob(p.root_crl, &m.root_crl));
    m.is_set = true;
    struct pki_memo *slot = &k->pki[k->pki_next];
    k->pki_next = (k->pki_next + 1) % MEMO_N;
    pki_memo_clear(slot);
    *slot = m;
    m = (struct pki_memo){ 0 }; /* moved */
    *out = slot;
    return CS_SUCCESS;
}

static cs_res case_fill(struct cs_forge_keys *k, const struct cs_forge_opts *o,
                        struct cs_forge_case *c)
{
    const struct pki_memo *pki = NULL;
    CS_TRY(pki_get(k, o, &pki));
    CS_TRY(blob_dup(&pki->pck_chain, &c->pck_chain));
    CS_TRY(blob_dup(&pki->tcb_chain, &c->tcb_info_chain));
    CS_TRY(blob_dup(&pki->tcb_chain, &c->qe_identity_chain));
    CS_TRY(blob_dup(&pki->anchor, &c->trust_anchor));
    CS_TRY(blob_dup(&pki->pck_crl, &c->pck_crl));
    CS_TRY(blob_dup(&pki->root_crl, &c->root_ca_crl));

    CS_AUTO_JSON *tcb = NULL;
    CS_TRY(tcb_info_body(o, &tcb));
    CS_TRY(signed_doc(&k->tcb_info, "tcbInfo", tcb, pick_key(k, o->tcb_info_key, K_TCB_SIGNING),
                      &c->tcb_info));
    CS_AUTO_JSON *qe = NULL;
    CS_TRY(qe_identity_body(o, &qe));
    CS_TRY(signed_doc(&k->qe_identity, "enclaveIdentity", qe,
                      pick_key(k, o->qe_identity_key, K_TCB_SIGNING), &c->qe_identity));

    CS_TRY(quote_build(k, o, &c->pck_chain, &c->quote));
    c->at = o->at;
    c->is_tdx = o->body != CS_INTEL_BODY_SGX;
    return CS_SUCCESS;
}

CS_RESULT cs_forge_case_build(struct cs_forge_keys *k, const struct cs_forge_opts *o,
                              struct cs_forge_case *out)
{
    CS_ENSURE(k != NULL && o != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_forge_case){ 0 };
    cs_res r = case_fill(k, o, out);
    if (!cs_ok(r)) {
        cs_forge_case_clear(out);
    }
    return r;
}

static struct custos_bytes bytes_of(const struct cs_blob *b)
{
    return (struct custos_bytes){ b->p, b->len };
}

struct custos_dcap_collateral_src cs_forge_case_src(const struct cs_forge_case *c)
{
    return (struct custos_dcap_collateral_src){
        .tcb_info = bytes_of(&c->tcb_info),
        .tcb_info_chain = bytes_of(&c->tcb_info_chain),
        .qe_identity = bytes_of(&c->qe_identity),
        .qe_identity_chain = bytes_of(&c->qe_identity_chain),
        .pck_crl = bytes_of(&c->pck_crl),
        .root_ca_crl = bytes_of(&c->root_ca_crl),
        .trust_anchor = bytes_of(&c->trust_anchor),
    };
}

CS_RESULT cs_forge_quote_build(const struct cs_forge_keys *k, const struct cs_forge_opts *o,
                               const struct cs_blob *pck_chain, struct cs_blob *out)
{
    CS_ENSURE(k != NULL && o != NULL && pck_chain != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    CS_ENSURE(pck_chain->p != NULL && pck_chain->len > 0 && pck_chain->len <= PEM_MAX, CS_E_ARG);
    return quote_build(k, o, pck_chain, out);
}

/* ---- keys kept across processes ---------------------------------------------------- */

static const enum key_id ROLE_KEY[CS_FORGE_N_ROLES] = {
    [CS_FORGE_ROLE_ROOT] = K_ROOT,
    [CS_FORGE_ROLE_PCK_CA] = K_PCK_CA,
    [CS_FORGE_ROLE_PCK_LEAF] = K_PCK_LEAF,
    [CS_FORGE_ROLE_TCB_SIGNING] = K_TCB_SIGNING,
    [CS_FORGE_ROLE_ATTESTATION] = K_ATT,
};

CS_RESULT cs_forge_keys_export(const struct cs_forge_keys *k, enum cs_forge_role role,
                               struct cs_blob *out)
{
    CS_ENSURE(k != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    CS_ENSURE((unsigned)role < CS_FORGE_N_ROLES, CS_E_ARG);
    /* a secure-heap memory BIO: OpenSSL cleanses its buffer when it is freed */
    CS_AUTO(bio_freep) BIO *bio = BIO_new(BIO_s_secmem());
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    EVP_PKEY *key = k->k[ROLE_KEY[role]];
    CS_OSSL_ENSURE(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1,
                   CS_E_CRYPTO);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    CS_OSSL_ENSURE(n > 0 && data != NULL && (unsigned long)n <= PEM_MAX, CS_E_CRYPTO);
    uint8_t *p = NULL;
    CS_TRY(cs_alloc((size_t)n + 1, 1, (void **)&p)); /* zeroed: NUL-terminated */
    memcpy(p, data, (size_t)n);
    *out = (struct cs_blob){ p, (size_t)n };
    return CS_SUCCESS;
}

/* A PEM passphrase callback that refuses: our key files are never encrypted, and
 * OpenSSL's default callback would prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* One PEM private key that must be an EC P-256 key. */
static cs_res p256_from_pem(const struct cs_blob *pem, EVP_PKEY **out)
{
    *out = NULL;
    CS_ENSURE(pem->p != NULL && pem->len > 0, CS_E_FORMAT);
    CS_ENSURE(pem->len <= PEM_MAX, CS_E_TOO_LARGE); /* also keeps the cast to int safe */
    CS_AUTO(bio_freep) BIO *bio = BIO_new_mem_buf(pem->p, (int)pem->len);
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_AUTO(cs_evp_pkey_freep)
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    CS_OSSL_ENSURE(key != NULL, CS_E_FORMAT);
    CS_OSSL_ENSURE(EVP_PKEY_is_a(key, "EC") == 1, CS_E_FORMAT);
    char group[32] = { 0 };
    size_t group_len = 0;
    CS_OSSL_ENSURE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                  sizeof group, &group_len) == 1,
                   CS_E_FORMAT);
    CS_ENSURE(strcmp(group, "prime256v1") == 0, CS_E_FORMAT);
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

CS_RESULT cs_forge_keys_import(const struct cs_blob pem[CS_FORGE_N_ROLES],
                               struct cs_forge_keys **out)
{
    CS_ENSURE(pem != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(keys_freep) struct cs_forge_keys *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    for (size_t r = 0; r < CS_FORGE_N_ROLES; r++) {
        CS_TRY(p256_from_pem(&pem[r], &k->k[ROLE_KEY[r]]));
    }
    for (size_t i = 0; i < K_N; i++) {
        if (k->k[i] == NULL) {
            CS_TRY(p256_new(&k->k[i])); /* the spares: never kept */
        }
    }
    *out = CS_MOVE(k);
    return CS_SUCCESS;
}

/* Takes root (owned) as the anchor of every later PKI; forgets the PKIs built before. */
static void root_pin(struct cs_forge_keys *k, X509 *root)
{
    X509_free(k->root);
    k->root = root;
    for (size_t i = 0; i < MEMO_N; i++) {
        pki_memo_clear(&k->pki[i]);
    }
}

CS_RESULT cs_forge_keys_pin_new_root(struct cs_forge_keys *k, const char *cn,
                                     struct cs_forge_window w)
{
    CS_ENSURE(k != NULL, CS_E_ARG);
    CS_ENSURE(cn == NULL || (cn[0] != '\0' && strlen(cn) < CN_MAX), CS_E_ARG);
    struct cert_spec spec = root_spec(k, cn != NULL ? cn : CN_ROOT, w);
    spec.org = cn != NULL ? ORG_OWN_ROOT : NULL;
    CS_AUTO(cs_x509_freep) X509 *root = NULL;
    CS_TRY(cert_new(&spec, &root));
    root_pin(k, CS_MOVE(root));
    return CS_SUCCESS;
}

CS_RESULT cs_forge_keys_pin_root_pem(struct cs_forge_keys *k, const struct cs_blob *pem)
{
    CS_ENSURE(k != NULL && pem != NULL, CS_E_ARG);
    CS_ENSURE(pem->p != NULL && pem->len > 0, CS_E_FORMAT);
    CS_ENSURE(pem->len <= PEM_MAX, CS_E_TOO_LARGE);
    CS_AUTO(bio_freep) BIO *bio = BIO_new_mem_buf(pem->p, (int)pem->len);
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_AUTO(cs_x509_freep) X509 *root = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    CS_OSSL_ENSURE(root != NULL, CS_E_FORMAT);
    char c = 0;
    while (BIO_read(bio, &c, 1) == 1) { /* exactly one certificate: only white space follows */
        CS_ENSURE(c == '\n' || c == '\r' || c == ' ' || c == '\t', CS_E_TRAILING);
    }
    EVP_PKEY *pub = X509_get0_pubkey(root);
    CS_OSSL_ENSURE(pub != NULL, CS_E_FORMAT);
    CS_OSSL_ENSURE(EVP_PKEY_eq(pub, k->k[K_ROOT]) == 1, CS_E_CHAIN);
    switch (X509_verify(root, k->k[K_ROOT])) {
    case 1:
        break;
    case 0:
        cs_ossl_clear();
        CS_FAIL(CS_E_CHAIN);
    default:
        cs_ossl_clear();
        CS_FAIL(CS_E_CRYPTO);
    }
    root_pin(k, CS_MOVE(root));
    return CS_SUCCESS;
}

CS_RESULT cs_forge_keys_root_pem(const struct cs_forge_keys *k, struct cs_blob *out)
{
    CS_ENSURE(k != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    CS_ENSURE(k->root != NULL, CS_E_ARG);
    return pem_blob(&k->root, 1, out);
}

/* ---- defaults --------------------------------------------------------------------- */

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i);
    }
}

static struct cs_forge_window around(int64_t at, int64_t before, int64_t after)
{
    return (struct cs_forge_window){ at - before, at + after };
}

static void isv_level(struct cs_forge_isv_level *l, uint16_t svn, const char *status)
{
    *l = (struct cs_forge_isv_level){ .isv_svn = svn, .status = status };
}

/* Platform levels, highest first: UpToDate, then an OutOfDate one with an advisory. */
static void default_tcb_levels(struct cs_forge_opts *o)
{
    static const uint8_t sgx_hi[16] = { 2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t sgx_lo[16] = { 1, 1, 1, 1, 1, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
    /* indices 0 and 1 are 0 as in every Intel TDX TCB Info (FORMATS.md 1.6) */
    static const uint8_t tdx_hi[16] = { 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t tdx_lo[16] = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    struct cs_forge_tcb_level *hi = &o->tcb_levels[0];
    struct cs_forge_tcb_level *lo = &o->tcb_levels[1];
    *hi = (struct cs_forge_tcb_level){ .pce_svn = 13, .status = "UpToDate" };
    memcpy(hi->sgx_svn, sgx_hi, 16);
    memcpy(hi->tdx_svn, tdx_hi, 16);
    *lo = (struct cs_forge_tcb_level){ .pce_svn = 5,
                                       .status = "OutOfDate",
                                       .advisory_ids = { "INTEL-SA-00837" } };
    memcpy(lo->sgx_svn, sgx_lo, 16);
    memcpy(lo->tdx_svn, tdx_lo, 16);
    o->n_tcb_levels = 2;
    memcpy(o->pck.comp_svn, sgx_hi, 16);
    memcpy(o->pck.cpu_svn, sgx_hi, 16);
    o->pck.pce_svn = 13;
}

/* tdxModule and the identities TDX_03 and TDX_01 (Intel's signer: all zero). */
static void default_tdx_module(struct cs_forge_opts *o)
{
    memset(o->module_attributes_mask, 0xff, sizeof o->module_attributes_mask);
    o->n_module_ids = 2;
    struct cs_forge_module_id *m3 = &o->module_ids[0];
    struct cs_forge_module_id *m1 = &o->module_ids[1];
    *m3 = (struct cs_forge_module_id){ .id = "TDX_03", .n_levels = 1 };
    isv_level(&m3->levels[0], 3, "UpToDate");
    *m1 = (struct cs_forge_module_id){ .id = "TDX_01", .n_levels = 3 };
    isv_level(&m1->levels[0], 4, "UpToDate");
    isv_level(&m1->levels[1], 2, "OutOfDate");
    isv_level(&m1->levels[2], 1, "Revoked");
    memset(m3->attributes_mask, 0xff, sizeof m3->attributes_mask);
    memset(m1->attributes_mask, 0xff, sizeof m1->attributes_mask);
}

/* QE Identity levels {top UpToDate, mid OutOfDate, 1 Revoked} and a QE report to match. */
static void default_qe(struct cs_forge_opts *o)
{
    uint16_t top = o->is_qe_tdx ? 4 : 8;
    uint16_t mid = o->is_qe_tdx ? 2 : 6;
    o->qe_miscselect = 0;
    o->qe_miscselect_mask = 0xffffffffu;
    o->qe_attributes[0] = 0x11; /* INIT | PROVISIONKEY; DEBUG (0x02) must be clear */
    memset(o->qe_attributes_mask, 0xff, 8);
    o->qe_attributes_mask[0] = 0xfb; /* MODE64BIT (0x04) is not compared */
    memcpy(o->qe_mrsigner, o->is_qe_tdx ? TD_QE_MRSIGNER : SGX_QE_MRSIGNER, 32);
    o->qe_isv_prod_id = o->is_qe_tdx ? 2 : 1;
    o->n_qe_levels = 3;
    isv_level(&o->qe_levels[0], top, "UpToDate");
    isv_level(&o->qe_levels[1], mid, "OutOfDate");
    isv_level(&o->qe_levels[2], 1, "Revoked");

    struct cs_sgx_report *r = &o->qe_report;
    *r = (struct cs_sgx_report){ .misc_select = o->qe_miscselect,
                                 .isv_prod_id = o->qe_isv_prod_id,
                                 .isv_svn = top };
    memcpy(r->cpu_svn, o->pck.cpu_svn, sizeof r->cpu_svn);
    memcpy(r->attributes, o->qe_attributes, sizeof r->attributes);
    r->attributes[0] |= 0x04; /* MODE64BIT: set in real QE reports, outside the mask */
    memcpy(r->mr_signer, o->qe_mrsigner, sizeof r->mr_signer);
    pattern(r->mr_enclave, sizeof r->mr_enclave, 0x40);
    o->qe_auth_len = 32;
    pattern(o->qe_auth, o->qe_auth_len, 0);
}

void cs_forge_opts_init(struct cs_forge_opts *o, uint16_t version, enum cs_intel_body body,
                        int64_t at)
{
    bool is_tdx = body != CS_INTEL_BODY_SGX;
    *o = (struct cs_forge_opts){
        .at = at,
        .root = around(at, 3650 * DAY, 7300 * DAY),
        .pck_ca = around(at, 1825 * DAY, 3650 * DAY),
        .pck_leaf = around(at, 365 * DAY, 2190 * DAY),
        .tcb_signing = around(at, 730 * DAY, 2555 * DAY),
        .root_crl = around(at, 30 * DAY, 335 * DAY),
        .pck_crl = around(at, 2 * DAY, 28 * DAY),
        .tcb_version = 3,
        .is_tcb_tdx = is_tdx,
        .tcb_info = around(at, 10 * DAY, 20 * DAY),
        .tcb_eval_num = 17,
        .is_qe_tdx = is_tdx,
        .qe_identity = around(at, 9 * DAY, 21 * DAY),
        .version = version,
        .body = body,
        .cert_type_outer = CS_INTEL_CERT_QE_REPORT,
        .cert_type_inner = CS_INTEL_CERT_PCK_CHAIN,
    };
    pattern(o->pck.ppid, sizeof o->pck.ppid, 0xa0);
    memcpy(o->pck.fmspc, is_tdx ? TDX_FMSPC : SGX_FMSPC, sizeof o->pck.fmspc);
    o->pck.sgx_type = is_tdx ? 1 : 0;
    default_tcb_levels(o);
    memcpy(o->tcb_fmspc, o->pck.fmspc, sizeof o->tcb_fmspc);
    memcpy(o->tcb_pce_id, o->pck.pce_id, sizeof o->tcb_pce_id);
    if (is_tdx) {
        default_tdx_module(o);
    }
    default_qe(o);

    memcpy(o->qe_vendor_id, INTEL_QE_VENDOR, sizeof o->qe_vendor_id);
    pattern(o->user_data, 16, 0xc0); /* v3: QE ID */

    struct cs_tdx_report *t = &o->tdx;
    const uint8_t tee_tcb_svn[16] = { 4, 1, 2 }; /* module SVN 4, major version 1 (TDX_01) */
    memcpy(t->tee_tcb_svn, tee_tcb_svn, sizeof t->tee_tcb_svn);
    pattern(t->mr_seam, sizeof t->mr_seam, 0x10);
    t->td_attributes[3] = 0x10;                         /* SEPT_VE_DISABLE */
    const uint8_t xfam[8] = { 0xe7, 0x02, 0x06, 0x00 }; /* x87 SSE AVX AVX-512 PK AMX */
    memcpy(t->xfam, xfam, sizeof xfam);
    pattern(t->mr_td, sizeof t->mr_td, 0x20);
    for (size_t i = 0; i < 4; i++) {
        pattern(t->rtmr[i], sizeof t->rtmr[i], (uint8_t)(0x30 + 0x10 * i));
    }
    pattern(t->report_data, sizeof t->report_data, 0x80);
    memcpy(t->tee_tcb_svn2, t->tee_tcb_svn, sizeof t->tee_tcb_svn2); /* as TDX 1.5 modules report */

    struct cs_sgx_report *s = &o->sgx;
    memcpy(s->cpu_svn, o->pck.cpu_svn, sizeof s->cpu_svn);
    s->attributes[0] = 0x05; /* INIT | MODE64BIT, not DEBUG */
    s->attributes[8] = 0x03; /* XFRM: x87, SSE */
    pattern(s->mr_enclave, sizeof s->mr_enclave, 0x50);
    pattern(s->mr_signer, sizeof s->mr_signer, 0x60);
    s->isv_prod_id = 1;
    s->isv_svn = 1;
    pattern(s->report_data, sizeof s->report_data, 0x90);
}

/* ---- case directory ---------------------------------------------------------------- */

static cs_res mkdir_p(const char *dir)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        CS_ENSURE(mkdir(path, 0755) == 0 || errno == EEXIST, CS_E_IO);
        *p = '/';
    }
    CS_ENSURE(mkdir(path, 0755) == 0 || errno == EEXIST, CS_E_IO);
    struct stat st;
    CS_ENSURE(stat(path, &st) == 0 && S_ISDIR(st.st_mode), CS_E_IO);
    return CS_SUCCESS;
}

static cs_res write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    CS_ENSURE(fd >= 0, CS_E_IO);
    if (!cs_ok(cs_fd_write_all(fd, p, len))) {
        close(fd);
        CS_FAIL(CS_E_IO);
    }
    CS_ENSURE(close(fd) == 0, CS_E_IO);
    return CS_SUCCESS;
}

static cs_res write_case_json(const struct cs_forge_case *c, const char *dir)
{
    CS_AUTO_JSON *j = json_object();
    CS_ENSURE(j != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(j, "platform", json_string(c->is_tdx ? "tdx" : "sgx")));
    CS_TRY(json_time(j, "at", c->at));
    CS_AUTO(fbuf_clear) struct fbuf text = { 0 };
    CS_TRY(json_text(j, &text));
    CS_TRY(fbuf_str(&text, "\n"));
    return write_file(dir, "case.json", text.p, text.len);
}

CS_RESULT cs_forge_case_write_dir(const struct cs_forge_case *c, const char *dir)
{
    CS_ENSURE(c != NULL && dir != NULL && dir[0] != '\0', CS_E_ARG);
    const struct {
        const char *name;
        const struct cs_blob *blob;
    } files[] = {
        { "quote.bin", &c->quote },
        { "tcb_info.json", &c->tcb_info },
        { "tcb_info_issuer_chain.pem", &c->tcb_info_chain },
        { "qe_identity.json", &c->qe_identity },
        { "qe_identity_issuer_chain.pem", &c->qe_identity_chain },
        { "pck_crl.der", &c->pck_crl },
        { "root_ca_crl.der", &c->root_ca_crl },
        { "trust_anchor.pem", &c->trust_anchor },
    };
    CS_TRY(mkdir_p(dir));
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CS_TRY(write_file(dir, files[i].name, files[i].blob->p, files[i].blob->len));
    }
    return write_case_json(c, dir);
}
