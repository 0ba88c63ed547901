/* SPDX-License-Identifier: Apache-2.0 */
/* Attestation keys and RSA / ECDSA signatures of TPM quotes (OpenSSL 3 EVP); see tpm_sig.h. */
#include "crypto/tpm_sig.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"

/* TPM_ALG_ID values (TCG Algorithm Registry), as in evidence/tpm_attest.h */
#define ALG_SHA1 0x0004u
#define ALG_SHA256 0x000bu
#define ALG_SHA384 0x000cu

static void bio_freep(BIO **p)
{
    BIO_free(*p);
}

static void ossl_freep(unsigned char **p)
{
    OPENSSL_free(*p);
}

static void ossl_charp_freep(char **p)
{
    OPENSSL_free(*p);
}

static void pkey_ctx_freep(EVP_PKEY_CTX **p)
{
    EVP_PKEY_CTX_free(*p);
}

static const EVP_MD *md_of(uint16_t alg)
{
    switch (alg) {
    case ALG_SHA1:
        return EVP_sha1();
    case ALG_SHA256:
        return EVP_sha256();
    case ALG_SHA384:
        return EVP_sha384();
    default:
        return NULL;
    }
}

static bool only_ws(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* d2i_PUBKEY over exactly der: a SubjectPublicKeyInfo and nothing after it. */
static cs_res spki_from_der(struct cs_cur der, EVP_PKEY **out)
{
    CS_ENSURE(der.left > 0, CS_E_TRUNCATED);
    const unsigned char *p = der.p;
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)der.left);
    CS_OSSL_ENSURE(key != NULL, CS_E_FORMAT);
    CS_OSSL_ENSURE(p == der.p + der.left, CS_E_TRAILING);
    cs_ossl_clear();
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

CS_RESULT cs_tpm_pubkey_parse(struct cs_cur in, EVP_PKEY **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(in.left > 0, CS_E_TRUNCATED);
    CS_ENSURE(in.left <= CS_TPM_PUBKEY_MAX, CS_E_TOO_LARGE); /* also keeps the casts safe */
    static const char begin[] = "-----BEGIN ";
    size_t off = 0;
    if (!cs_ok(cs_cur_find(in, begin, sizeof begin - 1, &off)) || !only_ws(in.p, off)) {
        return spki_from_der(in, out);
    }
    CS_AUTO(bio_freep) BIO *bio = BIO_new_mem_buf(in.p, (int)in.left);
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_AUTO(ossl_charp_freep) char *name = NULL;
    CS_AUTO(ossl_charp_freep) char *header = NULL;
    CS_AUTO(ossl_freep) unsigned char *der = NULL;
    long der_len = 0;
    CS_OSSL_ENSURE(PEM_read_bio(bio, &name, &header, &der, &der_len) == 1, CS_E_FORMAT);
    CS_ENSURE(strcmp(name, "PUBLIC KEY") == 0 && header[0] == '\0' && der_len > 0, CS_E_FORMAT);
    /* only white space may follow the one block */
    char rest[64];
    int n = 0;
    while ((n = BIO_read(bio, rest, (int)sizeof rest)) > 0) {
        CS_ENSURE(only_ws((const uint8_t *)rest, (size_t)n), CS_E_TRAILING);
    }
    cs_ossl_clear();
    return spki_from_der(cs_cur_of(der, (size_t)der_len), out);
}

CS_RESULT cs_tpm_key_kind(const EVP_PKEY *key, enum cs_tpm_key_kind *out)
{
    CS_ENSURE(key != NULL && out != NULL, CS_E_ARG);
    if (EVP_PKEY_is_a(key, "RSA")) {
        int bits = EVP_PKEY_get_bits(key);
        CS_ENSURE(bits >= CS_TPM_RSA_BITS_MIN && bits <= CS_TPM_RSA_BITS_MAX, CS_E_UNSUPPORTED);
        *out = CS_TPM_KEY_RSA;
        return CS_SUCCESS;
    }
    CS_ENSURE(EVP_PKEY_is_a(key, "EC"), CS_E_UNSUPPORTED);
    char group[32] = { 0 };
    size_t glen = 0;
    CS_OSSL_ENSURE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                  sizeof group, &glen) == 1,
                   CS_E_UNSUPPORTED); /* explicit curve parameters: not a named curve */
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
        *out = CS_TPM_KEY_P256;
    } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
        *out = CS_TPM_KEY_P384;
    } else {
        CS_FAIL(CS_E_UNSUPPORTED);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_tpm_key_fingerprint(const EVP_PKEY *key, uint8_t out[32])
{
    CS_ENSURE(key != NULL && out != NULL, CS_E_ARG);
    CS_AUTO(ossl_freep) unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    CS_OSSL_ENSURE(n > 0 && der != NULL, CS_E_CRYPTO);
    return cs_sha256(cs_cur_of(der, (size_t)n), out);
}

CS_RESULT cs_tpm_hash(uint16_t alg, struct cs_cur data, uint8_t out[CS_TPM_HASH_MAX],
                      size_t *out_len)
{
    CS_ENSURE(out != NULL && out_len != NULL, CS_E_ARG);
    const EVP_MD *md = md_of(alg);
    CS_ENSURE(md != NULL, CS_E_UNSUPPORTED);
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_Digest(data.p, data.left, out, &n, md, NULL) == 1, CS_E_CRYPTO);
    CS_ENSURE(n <= CS_TPM_HASH_MAX, CS_E_INTERNAL);
    *out_len = n;
    return CS_SUCCESS;
}

/* 1 -> OK, 0 -> SIGNATURE, and a malformed value (< 0) is a bad signature too. */
static cs_res verify_result(int rc)
{
    switch (rc) {
    case 1:
        return CS_SUCCESS;
    case 0:
        cs_ossl_clear();
        CS_FAIL(CS_E_SIGNATURE);
    default:
        cs_ossl_clear();
        CS_FAIL(CS_E_SIGNATURE);
    }
}

CS_RESULT cs_tpm_rsa_verify(EVP_PKEY *key, uint16_t alg, bool is_pss, struct cs_cur sig,
                            struct cs_cur data)
{
    CS_ENSURE(key != NULL, CS_E_ARG);
    const EVP_MD *md = md_of(alg);
    CS_ENSURE(md != NULL, CS_E_UNSUPPORTED);
    CS_ENSURE(EVP_PKEY_is_a(key, "RSA"), CS_E_SIGNATURE); /* wrong key type: cannot verify */
    /* RFC 8017 8.2.2 step 1: the signature has exactly the modulus length */
    CS_ENSURE(EVP_PKEY_get_size(key) > 0 && sig.left == (size_t)EVP_PKEY_get_size(key),
              CS_E_SIGNATURE);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    CS_OSSL_ENSURE(EVP_Digest(data.p, data.left, digest, &digest_len, md, NULL) == 1, CS_E_CRYPTO);
    CS_AUTO(pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_verify_init(ctx) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_signature_md(ctx, md) == 1, CS_E_CRYPTO);
    if (is_pss) {
        CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1, CS_E_CRYPTO);
        CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1, CS_E_CRYPTO);
        CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) == 1,
                       CS_E_CRYPTO);
    } else {
        CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1, CS_E_CRYPTO);
    }
    return verify_result(EVP_PKEY_verify(ctx, sig.p, sig.left, digest, digest_len));
}

CS_RESULT cs_tpm_ecdsa_verify(EVP_PKEY *key, uint16_t alg, struct cs_cur r, struct cs_cur s,
                              struct cs_cur data)
{
    CS_ENSURE(key != NULL, CS_E_ARG);
    const EVP_MD *md = md_of(alg);
    CS_ENSURE(md != NULL, CS_E_UNSUPPORTED);
    enum cs_tpm_key_kind kind = 0;
    cs_res k = cs_tpm_key_kind(key, &kind);
    CS_ENSURE(cs_ok(k) && (kind == CS_TPM_KEY_P256 || kind == CS_TPM_KEY_P384), CS_E_SIGNATURE);
    size_t half = kind == CS_TPM_KEY_P256 ? 32 : 48;
    CS_ENSURE(r.left > 0 && r.left <= half && s.left > 0 && s.left <= half, CS_E_SIGNATURE);
    uint8_t rs[2 * 48] = { 0 };
    CS_TRY(cs_cur_copy_all(r, rs + (half - r.left), r.left));
    CS_TRY(cs_cur_copy_all(s, rs + half + (half - s.left), s.left));
    return cs_ecdsa_verify_rs(key, md, rs, 2 * half, data);
}
