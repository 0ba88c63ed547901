/* SPDX-License-Identifier: Apache-2.0 */
/* Hashes and ECDSA verification over raw r||s signatures (OpenSSL 3 EVP). */
#include "crypto/cs_ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <pthread.h>

#include "crypto/cs_ossl.h"

#define CS_ECDSA_DER_MAX (3 + 2 * (2 + 1 + 66))

void cs_ossl_clear(void)
{
    ERR_clear_error();
}

void cs_evp_pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
    *p = NULL;
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

static void pkey_ctx_freep(EVP_PKEY_CTX **p)
{
    EVP_PKEY_CTX_free(*p);
}

CS_RESULT cs_sha256(struct cs_cur in, uint8_t out[CS_SHA256_LEN])
{
    return cs_sha256_2(in, cs_cur_of(NULL, 0), out);
}

/*
 * SHA-256 fetched once per process: OpenSSL 3 otherwise looks the algorithm up (with locks)
 * on every digest, which dominated Merkle hashing. Set once, then only read; never freed
 * (it lives as long as the default provider).
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

CS_RESULT cs_sha256_2(struct cs_cur a, struct cs_cur b, uint8_t out[CS_SHA256_LEN])
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    pthread_once(&sha256_once, sha256_fetch);
    const EVP_MD *md = sha256_md != NULL ? sha256_md : EVP_sha256();
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_DigestInit_ex(ctx, md, NULL) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, a.p, a.left) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, b.p, b.left) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == CS_SHA256_LEN, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ecdsa_p256_params_new(EVP_PKEY **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_paramgen_init(ctx) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_paramgen(ctx, out) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ecdsa_p256_key_from_xy(EVP_PKEY *params, const uint8_t xy[64], EVP_PKEY **out)
{
    CS_ENSURE(params != NULL && xy != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    uint8_t point[65];
    point[0] = 0x04; /* SEC 1 uncompressed point */
    for (size_t i = 0; i < 64; i++) {
        point[i + 1] = xy[i];
    }
    /* a copy of the parameters (only read, so one template serves every thread) */
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = EVP_PKEY_dup(params);
    CS_OSSL_ENSURE(key != NULL, CS_E_NOMEM);
    /* decodes the point and rejects one that is not on the curve */
    CS_OSSL_ENSURE(EVP_PKEY_set1_encoded_public_key(key, point, sizeof point) == 1, CS_E_FORMAT);
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

/* Appends a DER INTEGER holding the unsigned big-endian number be[0..n). */
static size_t der_uint(const uint8_t *be, size_t n, uint8_t *out)
{
    size_t skip = 0;
    while (skip + 1 < n && be[skip] == 0) {
        skip++; /* minimal encoding: no leading zero octets ... */
    }
    size_t pad = (be[skip] & 0x80) != 0; /* ... except one that keeps the number positive */
    size_t len = n - skip + pad;
    out[0] = 0x02;
    out[1] = (uint8_t)len;
    out[2] = 0x00;
    memcpy(out + 2 + pad, be + skip, n - skip);
    return 2 + len;
}

/* DER-encodes (r, s) for EVP_PKEY_verify: SEQUENCE { INTEGER r, INTEGER s } (RFC 3279). */
static cs_res rs_to_der(const uint8_t *sig, size_t sig_len, uint8_t der[CS_ECDSA_DER_MAX],
                        size_t *der_len)
{
    CS_ENSURE(sig_len > 0 && sig_len % 2 == 0 && sig_len <= 2 * 66, CS_E_ARG);
    size_t half = sig_len / 2;
    uint8_t body[2 * (2 + 1 + 66)];
    size_t n = der_uint(sig, half, body);
    n += der_uint(sig + half, half, body + n);
    size_t hdr = 0;
    der[hdr++] = 0x30;
    if (n >= 0x80) {
        der[hdr++] = 0x81; /* P-521: up to 138 bytes of content */
    }
    der[hdr++] = (uint8_t)n;
    memcpy(der + hdr, body, n);
    *der_len = hdr + n;
    return CS_SUCCESS;
}

CS_RESULT cs_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *sig, size_t sig_len,
                             struct cs_cur data)
{
    CS_ENSURE(key != NULL && md != NULL && sig != NULL, CS_E_ARG);
    CS_ENSURE(EVP_PKEY_is_a(key, "EC"), CS_E_SIGNATURE); /* wrong key type: cannot verify */
    uint8_t der[CS_ECDSA_DER_MAX];
    size_t der_len = 0;
    CS_TRY(rs_to_der(sig, sig_len, der, &der_len));
    /* hash, then verify the digest: EVP_DigestVerifyInit would fetch the digest and the
     * signature algorithm again on every call */
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    CS_OSSL_ENSURE(EVP_Digest(data.p, data.left, digest, &digest_len, md, NULL) == 1,
                   CS_E_CRYPTO);
    CS_AUTO(pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_verify_init(ctx) == 1, CS_E_CRYPTO);
    int rc = EVP_PKEY_verify(ctx, der, der_len, digest, digest_len);
    switch (rc) {
    case 1:
        return CS_SUCCESS;
    case 0:
        cs_ossl_clear();
        CS_FAIL(CS_E_SIGNATURE);
    default:
        cs_ossl_clear();
        CS_FAIL(CS_E_SIGNATURE); /* malformed signature values are a bad signature */
    }
}
