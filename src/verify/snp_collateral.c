/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SNP collateral: the ARK (trust anchor), the ASK and/or ASVK, the ARK's CRL, and the
 * VCEK/VLEK when they are configured rather than carried by the evidence. The CA part is
 * verified once at load; each VCEK/VLEK when first used, then remembered.
 *
 * Names (AMD 57230 "VCEK Certificate", 58369 for the VLEK, and the KDS cert_chain
 * endpoint): ARK "ARK-<product>", ASK "SEV-<product>", ASVK "SEV-VLEK-<product>", VCEK
 * "SEV-VCEK", VLEK "SEV-VLEK", with <product> Milan, Genoa or Turin.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_mem.h"
#include "crypto/cs_ossl.h"
#include "verify/snp_internal.h"

#define CN_MAX 64

static const char ARK_PREFIX[] = "ARK-";
static const char ASK_PREFIX[] = "SEV-";
static const char ASVK_PREFIX[] = "SEV-VLEK-";
static const char *const VEK_CN[2] = {
    [CS_SNP_KEY_VCEK] = "SEV-VCEK", [CS_SNP_KEY_VLEK] = "SEV-VLEK"
};

void custos_snp_collateral_free(struct custos_snp_collateral *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < CS_SNP_MEMO_MAX; i++) {
        EVP_PKEY_free(c->memo[i].key);
    }
    pthread_mutex_destroy(&c->memo_lock);
    EVP_MD_free(c->sha256);
    EVP_MD_free(c->sha384);
    X509_STORE_free(c->store);
    X509_free(c->vek[0]);
    X509_free(c->vek[1]);
    X509_free(c->asvk);
    X509_free(c->ask);
    X509_free(c->anchor);
    cs_free(c);
}

static void collateral_freep(struct custos_snp_collateral **p)
{
    custos_snp_collateral_free(*p);
}

static void store_freep(X509_STORE **p)
{
    X509_STORE_free(*p);
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

CS_RESULT cs_snp_sha256(const struct custos_snp_collateral *c, struct cs_cur in, uint8_t out[32])
{
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_Digest(in.p, in.left, out, &n, c->sha256, NULL) == 1 && n == 32,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* The anchor: one self-signed ARK of a known product, with the AMD profile. */
static cs_res load_anchor(struct custos_snp_collateral *c, struct custos_bytes src,
                          struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *sk = NULL;
    cs_res r = cs_x509_stack_parse(cs_cur_of(src.p, src.len), &sk);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "trust anchor: cannot decode certificate");
    CS_ENSURE_WHY(sk_X509_num(sk) == 1, CS_E_FORMAT, diag,
                  "trust anchor: expected exactly one certificate");
    c->anchor = sk_X509_shift(sk);
    char cn[CN_MAX];
    r = cs_x509_subject_cn(c->anchor, cn, sizeof cn);
    CS_ENSURE_WHY(cs_ok(r) && has_prefix(cn, ARK_PREFIX), CS_E_CHAIN, diag,
                  "trust anchor is not an AMD ARK (ARK-<product>)");
    const char *name = cn + strlen(ARK_PREFIX);
    r = cs_snp_product_parse(name, strlen(name), &c->product);
    CS_ENSURE_WHY(cs_ok(r), CS_E_UNSUPPORTED, diag, "trust anchor: unknown AMD product '%.32s'",
                  name);
    CS_ENSURE_WHY(cs_ok(cs_snp_cert_profile_check(c->anchor)) &&
                      cs_snp_cert_is_self_signed(c->anchor),
                  CS_E_CHAIN, diag, "trust anchor %s is not a self-signed RSA-PSS/SHA-384 ARK", cn);
    return CS_SUCCESS;
}

/* The ARK's CRL: issued by the anchor, signed by it. */
static cs_res load_crl(struct custos_snp_collateral *c, struct custos_bytes src, X509_CRL **crl,
                       struct custos_diag *diag)
{
    cs_res r = cs_x509_crl_parse(cs_cur_of(src.p, src.len), crl);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "CRL: cannot decode");
    CS_ENSURE_WHY(X509_NAME_cmp(X509_CRL_get_issuer(*crl), X509_get_subject_name(c->anchor)) == 0,
                  CS_E_CHAIN, diag, "CRL is not issued by the trust anchor");
    int rc = X509_CRL_verify(*crl, X509_get0_pubkey(c->anchor));
    if (rc != 1) {
        cs_ossl_clear();
    }
    CS_ENSURE_WHY(rc == 1, CS_E_SIGNATURE, diag, "CRL signature does not verify with the ARK");
    CS_TRY(cs_x509_crl_window(*crl, &c->crl_window));
    c->has_crl = true;
    return CS_SUCCESS;
}

/*
 * One certificate of ca_chain: the anchor again, or this product's ASK or ASVK, which
 * must chain to the anchor (and, with a CRL, not be revoked).
 */
static cs_res load_ca(struct custos_snp_collateral *c, X509_STORE *store, X509 *cert,
                      struct custos_diag *diag)
{
    if (X509_cmp(cert, c->anchor) == 0) {
        return CS_SUCCESS;
    }
    char cn[CN_MAX];
    cs_res r = cs_x509_subject_cn(cert, cn, sizeof cn);
    CS_ENSURE_WHY(cs_ok(r), CS_E_CHAIN, diag, "ca_chain: a certificate has no usable name");
    bool is_asvk = has_prefix(cn, ASVK_PREFIX);
    const char *name = cn + strlen(is_asvk ? ASVK_PREFIX : ASK_PREFIX);
    enum cs_snp_product p = 0;
    CS_ENSURE_WHY(has_prefix(cn, ASK_PREFIX) && cs_ok(cs_snp_product_parse(name, strlen(name), &p)),
                  CS_E_CHAIN, diag, "ca_chain: %.64s is not an AMD ASK or ASVK", cn);
    CS_ENSURE_WHY(p == c->product, CS_E_CHAIN, diag, "ca_chain: %.64s is not for %s", cn,
                  cs_snp_product_name(c->product));
    X509 **slot = is_asvk ? &c->asvk : &c->ask;
    CS_ENSURE_WHY(*slot == NULL, CS_E_FORMAT, diag, "ca_chain: %.64s given twice", cn);
    CS_ENSURE_WHY(cs_ok(cs_snp_cert_profile_check(cert)), CS_E_CHAIN, diag,
                  "ca_chain: %.64s is not an RSA-PSS/SHA-384 v3 certificate", cn);
    struct cs_window w;
    struct custos_diag why = { 0 };
    r = cs_x509_chain_verify(store, cert, NULL, 2, &w, &why);
    /* a CA that does not verify is a chain failure, whatever OpenSSL's reason */
    CS_ENSURE_WHY(cs_ok(r), r.code == CS_E_REVOKED ? CS_E_REVOKED : CS_E_CHAIN, diag,
                  "ca_chain: %.64s does not chain to the ARK: %s", cn, why.msg);
    CS_OSSL_ENSURE(X509_up_ref(cert) == 1, CS_E_CRYPTO);
    *slot = cert;
    return CS_SUCCESS;
}

static cs_res load_ca_chain(struct custos_snp_collateral *c, struct custos_bytes src, X509_CRL *crl,
                            struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *sk = NULL;
    cs_res r = cs_x509_stack_parse(cs_cur_of(src.p, src.len), &sk);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "ca_chain: cannot decode certificates");
    CS_AUTO(store_freep) X509_STORE *store = NULL;
    CS_TRY(cs_x509_store_new(c->anchor, &crl, crl != NULL ? 1 : 0, &store));
    for (int i = 0; i < sk_X509_num(sk); i++) {
        CS_TRY(load_ca(c, store, sk_X509_value(sk, i), diag));
    }
    CS_ENSURE_WHY(c->ask != NULL || c->asvk != NULL, CS_E_CHAIN, diag,
                  "ca_chain holds neither an ASK nor an ASVK");
    return CS_SUCCESS;
}

/* A VCEK/VLEK of the collateral: decoded and fingerprinted now, verified when used. */
static cs_res load_vek(struct custos_snp_collateral *c, struct custos_bytes src,
                       enum cs_snp_signing_key kind, struct custos_diag *diag)
{
    if (src.p == NULL) {
        return CS_SUCCESS;
    }
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *sk = NULL;
    cs_res r = cs_x509_stack_parse(cs_cur_of(src.p, src.len), &sk);
    CS_ENSURE_WHY(cs_ok(r) && sk_X509_num(sk) == 1, cs_ok(r) ? CS_E_FORMAT : r.code, diag,
                  "%s: expected one certificate", kind == CS_SNP_KEY_VCEK ? "VCEK" : "VLEK");
    c->vek[kind] = sk_X509_shift(sk);
    unsigned char *der = NULL;
    int len = i2d_X509(c->vek[kind], &der);
    CS_OSSL_ENSURE(len > 0, CS_E_CRYPTO);
    r = cs_snp_sha256(c, cs_cur_of(der, (size_t)len), c->vek_digest[kind]);
    OPENSSL_free(der);
    return r;
}

CS_RESULT custos_snp_collateral_new(const struct custos_snp_collateral_src *src,
                                    struct custos_diag *diag, struct custos_snp_collateral **out)
{
    CS_ENSURE(src != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(collateral_freep) struct custos_snp_collateral *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    if (pthread_mutex_init(&c->memo_lock, NULL) != 0) {
        cs_free(c);
        c = NULL;
        CS_FAIL(CS_E_NOMEM);
    }
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    CS_OSSL_ENSURE(c->sha256 != NULL && c->sha384 != NULL, CS_E_CRYPTO);
    CS_TRY(load_anchor(c, src->trust_anchor, diag));
    CS_AUTO(cs_x509_crl_freep) X509_CRL *crl = NULL;
    if (src->crl.p != NULL) {
        CS_TRY(load_crl(c, src->crl, &crl, diag));
    }
    CS_TRY(load_ca_chain(c, src->ca_chain, crl, diag));
    CS_TRY(cs_x509_store_new(c->anchor, NULL, 0, &c->store));
    CS_TRY(load_vek(c, src->vcek, CS_SNP_KEY_VCEK, diag));
    CS_TRY(load_vek(c, src->vlek, CS_SNP_KEY_VLEK, diag));
    *out = CS_MOVE(c);
    return CS_SUCCESS;
}

/* The AMD extensions a VEK of this product must have, with this product's hwID size. */
static cs_res vek_ext_check(const struct custos_snp_collateral *c, enum cs_snp_signing_key kind,
                            const struct cs_snp_vek_ext *x, struct custos_diag *diag)
{
    /* productName: "<product>" or "<product>-<stepping>", e.g. "Milan-B0" */
    size_t n = strcspn(x->product_name, "-");
    enum cs_snp_product p = 0;
    CS_ENSURE_WHY(cs_ok(cs_snp_product_parse(x->product_name, n, &p)) && p == c->product,
                  CS_E_CHAIN, diag, "%s productName '%.32s' is not for the %s ARK", VEK_CN[kind],
                  x->product_name, cs_snp_product_name(c->product));
    uint32_t need = (1u << CS_SNP_SPL_BL) | (1u << CS_SNP_SPL_TEE) | (1u << CS_SNP_SPL_SNP) |
                    (1u << CS_SNP_SPL_UCODE);
    if (c->product == CS_SNP_PRODUCT_TURIN) {
        need |= 1u << CS_SNP_SPL_FMC;
    }
    CS_ENSURE_WHY((x->spl_present & need) == need, CS_E_FORMAT, diag,
                  "%s lacks a security patch level extension", VEK_CN[kind]);
    size_t hwid_len = c->product == CS_SNP_PRODUCT_TURIN ? 8 : CS_SNP_HWID_MAX;
    CS_ENSURE_WHY(kind == CS_SNP_KEY_VLEK || x->hwid_len != 0, CS_E_FORMAT, diag,
                  "VCEK has no hwID extension");
    CS_ENSURE_WHY(x->hwid_len == 0 || x->hwid_len == hwid_len, CS_E_FORMAT, diag,
                  "%s hwID has %zu bytes, %s has %zu", VEK_CN[kind], x->hwid_len,
                  cs_snp_product_name(c->product), hwid_len);
    return CS_SUCCESS;
}

/* Verifies a VCEK/VLEK now: name, profile, key, chain, extensions. */
static cs_res vek_verify(struct custos_snp_collateral *c, X509 *cert, enum cs_snp_signing_key kind,
                         struct cs_snp_vek *v, struct custos_diag *diag)
{
    char cn[CN_MAX];
    cs_res r = cs_x509_subject_cn(cert, cn, sizeof cn);
    CS_ENSURE_WHY(cs_ok(r) && strcmp(cn, VEK_CN[kind]) == 0, CS_E_CHAIN, diag,
                  "the report is signed by a %s; the certificate is not one", VEK_CN[kind]);
    CS_ENSURE_WHY(cs_ok(cs_snp_cert_profile_check(cert)), CS_E_CHAIN, diag,
                  "%s is not an RSA-PSS/SHA-384 v3 certificate", cn);
    EVP_PKEY *key = X509_get0_pubkey(cert);
    CS_ENSURE_WHY(cs_snp_key_is_p384(key), CS_E_UNSUPPORTED, diag, "%s key is not ECDSA P-384", cn);
    X509 *ca = kind == CS_SNP_KEY_VCEK ? c->ask : c->asvk;
    CS_ENSURE_WHY(ca != NULL, CS_E_CHAIN, diag, "collateral has no %s for a %s",
                  kind == CS_SNP_KEY_VCEK ? "ASK" : "ASVK", cn);
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *untrusted = sk_X509_new_null();
    CS_OSSL_ENSURE(untrusted != NULL && sk_X509_push(untrusted, ca) > 0, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_up_ref(ca) == 1, CS_E_CRYPTO); /* the stack's reference */
    struct custos_diag why = { 0 };
    r = cs_x509_chain_verify(c->store, cert, untrusted, 3, &v->window, &why);
    /* a VCEK that the ASK did not sign is a chain failure (trustee's classification) */
    CS_ENSURE_WHY(cs_ok(r), r.code == CS_E_REVOKED ? CS_E_REVOKED : CS_E_CHAIN, diag,
                  "%s does not chain through the %s to the ARK: %s", cn,
                  kind == CS_SNP_KEY_VCEK ? "ASK" : "ASVK", why.msg);
    r = cs_snp_vek_ext_parse(cert, &v->ext);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%s: malformed AMD extension", cn);
    CS_TRY(vek_ext_check(c, kind, &v->ext, diag));
    CS_OSSL_ENSURE(EVP_PKEY_up_ref(key) == 1, CS_E_CRYPTO);
    v->key = key;
    v->kind = kind;
    return CS_SUCCESS;
}

CS_RESULT cs_snp_vek_get(struct custos_snp_collateral *c, X509 *cert, struct cs_cur der,
                         const uint8_t digest[32], enum cs_snp_signing_key kind,
                         struct cs_snp_vek *out, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL && digest != NULL && out != NULL, CS_E_ARG);
    out->key = NULL;
    pthread_mutex_lock(&c->memo_lock);
    for (size_t i = 0; i < CS_SNP_MEMO_MAX; i++) {
        const struct cs_snp_vek *m = &c->memo[i];
        if (m->is_used && m->kind == kind && memcmp(m->digest, digest, 32) == 0 &&
            EVP_PKEY_up_ref(m->key) == 1) {
            *out = *m;
            pthread_mutex_unlock(&c->memo_lock);
            return CS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&c->memo_lock);

    CS_AUTO(cs_x509_freep) X509 *parsed = NULL;
    if (cert == NULL) {
        cs_res r = cs_x509_from_der(der, &parsed);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%s certificate: cannot decode", VEK_CN[kind]);
        cert = parsed;
    }
    struct cs_snp_vek fresh = { 0 };
    cs_res r = vek_verify(c, cert, kind, &fresh, diag);
    if (!cs_ok(r)) {
        EVP_PKEY_free(fresh.key);
        return r;
    }
    fresh.is_used = true;
    memcpy(fresh.digest, digest, 32);
    if (EVP_PKEY_up_ref(fresh.key) != 1) {
        EVP_PKEY_free(fresh.key);
        CS_FAIL(CS_E_CRYPTO);
    }
    *out = fresh;

    pthread_mutex_lock(&c->memo_lock);
    struct cs_snp_vek *slot = &c->memo[c->memo_next];
    c->memo_next = (c->memo_next + 1) % CS_SNP_MEMO_MAX;
    EVP_PKEY_free(slot->key);
    *slot = fresh; /* the memo keeps the first reference */
    pthread_mutex_unlock(&c->memo_lock);
    return CS_SUCCESS;
}
