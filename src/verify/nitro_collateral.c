/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Nitro collateral: the configured AWS Nitro Enclaves root, the directory loader, and the
 * chain of each document (certificate <- cabundle[n-1] <- ... <- cabundle[0] = anchor),
 * verified once and remembered by the digest of its bytes.
 *
 * Chain rules: aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.2.3 (CA bundle
 * order "[ROOT_CERT, INTERM_1, ..., INTERM_N]", chain "[TARGET_CERT, INTERM_N, ...,
 * ROOT_CERT]", validity of every certificate including the root, basic constraints, key
 * usage). OpenSSL checks signatures, CA constraints and path lengths with a store that
 * holds our anchor alone; the issuing order and the root's identity are checked here.
 */
#include <limits.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "crypto/cs_ossl.h"
#include "verify/nitro_internal.h"

#define GROUP_NAME_MAX 32

void custos_nitro_collateral_free(struct custos_nitro_collateral *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < CS_NITRO_MEMO_MAX; i++) {
        EVP_PKEY_free(c->memo[i].key);
    }
    pthread_mutex_destroy(&c->memo_lock);
    EVP_MD_free(c->sha256);
    EVP_MD_free(c->sha384);
    X509_STORE_free(c->store);
    X509_free(c->anchor);
    cs_free(c->anchor_der);
    cs_free(c);
}

static void collateral_freep(struct custos_nitro_collateral **p)
{
    custos_nitro_collateral_free(*p);
}

/* The anchor: exactly one certificate, kept both decoded and as its DER bytes. */
static cs_res load_anchor(struct custos_nitro_collateral *c, struct cs_cur in,
                          struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *anchors = NULL;
    cs_res r = cs_x509_stack_parse(in, &anchors);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "trust anchor: cannot decode certificate");
    CS_ENSURE_WHY(sk_X509_num(anchors) == 1, CS_E_FORMAT, diag,
                  "trust anchor: expected exactly one certificate");
    c->anchor = sk_X509_shift(anchors);
    int n = i2d_X509(c->anchor, NULL);
    CS_OSSL_ENSURE(n > 0 && (unsigned)n <= CS_X509_DER_MAX, CS_E_FORMAT);
    CS_TRY(cs_alloc((size_t)n, 1, (void **)&c->anchor_der));
    unsigned char *w = c->anchor_der;
    CS_OSSL_ENSURE(i2d_X509(c->anchor, &w) == n, CS_E_CRYPTO);
    c->anchor_der_len = (size_t)n;
    return CS_SUCCESS;
}

CS_RESULT custos_nitro_collateral_new(const uint8_t *trust_anchor, size_t len,
                                      struct custos_diag *diag,
                                      struct custos_nitro_collateral **out)
{
    CS_ENSURE(out != NULL && (trust_anchor != NULL || len == 0), CS_E_ARG);
    *out = NULL;
    CS_ENSURE_WHY(len <= CS_NITRO_ANCHOR_MAX, CS_E_TOO_LARGE, diag,
                  "trust anchor: over %u bytes", (unsigned)CS_NITRO_ANCHOR_MAX);
    CS_AUTO(collateral_freep) struct custos_nitro_collateral *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    if (pthread_mutex_init(&c->memo_lock, NULL) != 0) {
        cs_free(c);
        c = NULL;
        CS_FAIL(CS_E_NOMEM);
    }
    CS_TRY(load_anchor(c, cs_cur_of(trust_anchor, len), diag));
    CS_TRY(cs_x509_store_new(c->anchor, NULL, 0, &c->store));
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    CS_OSSL_ENSURE(c->sha256 != NULL && c->sha384 != NULL, CS_E_CRYPTO);
    *out = CS_MOVE(c);
    return CS_SUCCESS;
}

CS_RESULT custos_nitro_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                           struct custos_nitro_collateral **out)
{
    CS_ENSURE(dir != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    static const char *const names[] = { "trust_anchor.pem", "trust_anchor.der" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
        struct cs_blob b = { 0 };
        cs_res r = cs_file_read(path, CS_NITRO_ANCHOR_MAX, &b);
        if (r.code == CS_E_IO) {
            continue; /* try the next name */
        }
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%s: %s", names[i], custos_code_name(r.code));
        r = custos_nitro_collateral_new(b.p, b.len, diag, out);
        cs_blob_clear(&b);
        return r;
    }
    CS_ENSURE_WHY(false, CS_E_IO, diag, "collateral file trust_anchor.pem missing in %s", dir);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

static cs_res digest_u32(EVP_MD_CTX *ctx, size_t v)
{
    uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, be, sizeof be) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/*
 * The memo key: SHA-256 over the count, then each certificate's length and bytes
 * (cabundle in order, then the leaf). The lengths make the encoding unambiguous, so two
 * different chains cannot share a key by moving bytes from one certificate to the next.
 */
static cs_res chain_digest(const struct custos_nitro_collateral *c, const struct cs_nitro_doc *d,
                           uint8_t out[32])
{
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestInit_ex(ctx, c->sha256, NULL) == 1, CS_E_CRYPTO);
    CS_TRY(digest_u32(ctx, d->n_cabundle));
    for (size_t i = 0; i <= d->n_cabundle; i++) {
        struct cs_cur der = i < d->n_cabundle ? d->cabundle[i] : d->certificate;
        CS_TRY(digest_u32(ctx, der.left));
        CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, der.p, der.left) == 1, CS_E_CRYPTO);
    }
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* The leaf signs the document: RFC 9053 §2.1 ES384 needs an EC P-384 key. */
static cs_res leaf_key(X509 *leaf, EVP_PKEY **out, struct custos_diag *diag)
{
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    cs_ossl_clear();
    char group[GROUP_NAME_MAX] = "";
    size_t group_len = 0;
    bool is_p384 = key != NULL && EVP_PKEY_is_a(key, "EC") &&
                   EVP_PKEY_get_group_name(key, group, sizeof group, &group_len) == 1 &&
                   strcmp(group, "secp384r1") == 0;
    cs_ossl_clear();
    CS_ENSURE_WHY(is_p384, CS_E_UNSUPPORTED, diag, "leaf certificate key is not EC P-384");
    /* RFC 5280 §4.2.1.3: when key usage is present it must allow digitalSignature */
    bool has_ku = (X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0;
    CS_ENSURE_WHY(!has_ku || (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) != 0, CS_E_CHAIN,
                  diag, "leaf certificate key usage does not allow digital signatures");
    CS_OSSL_ENSURE(EVP_PKEY_up_ref(key) == 1, CS_E_CRYPTO);
    *out = key;
    return CS_SUCCESS;
}

/*
 * Whether issuer's subject, key identifier and key usage fit subject's issuer (RFC 5280
 * §6.1.3-4 name chaining); signatures are checked with the whole chain.
 */
static bool is_issued_by(X509 *subject, X509 *issuer)
{
    bool is_ok = X509_check_issued(issuer, subject) == X509_V_OK;
    cs_ossl_clear(); /* leave the error queue as we found it */
    return is_ok;
}

/* Decodes, orders and verifies the chain of d; fills m's key and window. */
static cs_res chain_verify(struct custos_nitro_collateral *c, const struct cs_nitro_doc *d,
                           struct cs_nitro_memo *m, struct custos_diag *diag)
{
    size_t n = d->n_cabundle;
    CS_ENSURE(n >= 1 && n <= CS_NITRO_CABUNDLE_MAX, CS_E_ARG); /* the parser's guarantee */
    CS_AUTO(cs_x509_freep) X509 *leaf = NULL;
    cs_res r = cs_x509_from_der(d->certificate, &leaf);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "certificate: not a DER X.509 certificate");
    /* §3.2.3: cabundle[0] is the root; it must be our anchor, byte for byte */
    const struct cs_cur root = d->cabundle[0];
    CS_ENSURE_WHY(root.left == c->anchor_der_len &&
                      memcmp(root.p, c->anchor_der, c->anchor_der_len) == 0,
                  CS_E_CHAIN, diag, "cabundle[0] is not the configured trust anchor");
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *inter = sk_X509_new_null();
    CS_OSSL_ENSURE(inter != NULL, CS_E_NOMEM);
    X509 *issuer = c->anchor;
    for (size_t i = 1; i < n; i++) {
        CS_AUTO(cs_x509_freep) X509 *cert = NULL;
        r = cs_x509_from_der(d->cabundle[i], &cert);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "cabundle[%zu]: not a DER X.509 certificate", i);
        CS_ENSURE_WHY(is_issued_by(cert, issuer), CS_E_CHAIN, diag,
                      "cabundle[%zu] is not issued by cabundle[%zu]", i, i - 1);
        CS_OSSL_ENSURE(sk_X509_push(inter, cert) > 0, CS_E_NOMEM);
        issuer = CS_MOVE(cert); /* the stack owns it now */
    }
    CS_ENSURE_WHY(is_issued_by(leaf, issuer), CS_E_CHAIN, diag,
                  "certificate is not issued by cabundle[%zu]", n - 1);
    /* leaf, the n - 1 intermediates, the anchor: no other path is accepted */
    CS_TRY(cs_x509_chain_verify(c->store, leaf, inter, (int)n + 1, &m->window, diag));
    return leaf_key(leaf, &m->key, diag);
}

CS_RESULT cs_nitro_chain(struct custos_nitro_collateral *c, const struct cs_nitro_doc *d,
                         EVP_PKEY **key, struct cs_window *window, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL && d != NULL && key != NULL && window != NULL, CS_E_ARG);
    *key = NULL;
    uint8_t digest[32];
    CS_TRY(chain_digest(c, d, digest));

    pthread_mutex_lock(&c->memo_lock);
    for (size_t i = 0; i < CS_NITRO_MEMO_MAX; i++) {
        struct cs_nitro_memo *m = &c->memo[i];
        if (m->is_used && memcmp(m->digest, digest, sizeof digest) == 0 &&
            EVP_PKEY_up_ref(m->key) == 1) {
            *key = m->key;
            *window = m->window;
            pthread_mutex_unlock(&c->memo_lock);
            return CS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&c->memo_lock);

    /* verified outside the lock: two threads may both verify a new chain, which is harmless */
    struct cs_nitro_memo fresh = { 0 };
    cs_res r = chain_verify(c, d, &fresh, diag);
    if (!cs_ok(r)) {
        EVP_PKEY_free(fresh.key);
        return r;
    }
    if (EVP_PKEY_up_ref(fresh.key) != 1) {
        EVP_PKEY_free(fresh.key);
        CS_FAIL(CS_E_CRYPTO);
    }
    fresh.is_used = true;
    memcpy(fresh.digest, digest, sizeof digest);
    *key = fresh.key;
    *window = fresh.window;

    pthread_mutex_lock(&c->memo_lock);
    struct cs_nitro_memo *slot = &c->memo[c->memo_next];
    c->memo_next = (c->memo_next + 1) % CS_NITRO_MEMO_MAX;
    EVP_PKEY_free(slot->key);
    *slot = fresh; /* the memo keeps the first reference */
    pthread_mutex_unlock(&c->memo_lock);
    return CS_SUCCESS;
}
