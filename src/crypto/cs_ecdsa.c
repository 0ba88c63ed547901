/* SPDX-License-Identifier: Apache-2.0 */
/* Hashes and ECDSA verification over raw r||s signatures (OpenSSL 3 EVP). */
#include "crypto/cs_ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "crypto/cs_ossl.h"

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

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}

static void der_freep(unsigned char **p)
{
    OPENSSL_free(*p);
}

CS_RESULT cs_sha256(struct cs_cur in, uint8_t out[CS_SHA256_LEN])
{
    return cs_sha256_2(in, cs_cur_of(NULL, 0), out);
}

CS_RESULT cs_sha256_2(struct cs_cur a, struct cs_cur b, uint8_t out[CS_SHA256_LEN])
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, a.p, a.left) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestUpdate(ctx, b.p, b.left) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == CS_SHA256_LEN, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ecdsa_p256_key_from_xy(const uint8_t xy[64], EVP_PKEY **out)
{
    CS_ENSURE(xy != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    uint8_t point[65];
    point[0] = 0x04; /* SEC 1 uncompressed point */
    for (size_t i = 0; i < 64; i++) {
        point[i + 1] = xy[i];
    }
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    CS_AUTO(pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata_init(ctx) == 1, CS_E_CRYPTO);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    /* fromdata decodes the point and rejects one that is not on the curve */
    CS_OSSL_ENSURE(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1, CS_E_FORMAT);
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

/* DER-encodes (r, s) for EVP_DigestVerify. */
static cs_res rs_to_der(const uint8_t *sig, size_t sig_len, unsigned char **der, int *der_len)
{
    CS_ENSURE(sig_len > 0 && sig_len % 2 == 0 && sig_len <= 264, CS_E_ARG);
    size_t half = sig_len / 2;
    CS_AUTO(bn_freep) BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    CS_AUTO(bn_freep) BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    CS_OSSL_ENSURE(r != NULL && s != NULL, CS_E_NOMEM);
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *es = ECDSA_SIG_new();
    CS_OSSL_ENSURE(es != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(ECDSA_SIG_set0(es, r, s) == 1, CS_E_CRYPTO);
    r = NULL; /* owned by es now */
    s = NULL;
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(es, der);
    CS_OSSL_ENSURE(*der_len > 0, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *sig, size_t sig_len,
                             struct cs_cur data)
{
    CS_ENSURE(key != NULL && md != NULL && sig != NULL, CS_E_ARG);
    CS_ENSURE(EVP_PKEY_is_a(key, "EC"), CS_E_SIGNATURE); /* wrong key type: cannot verify */
    CS_AUTO(der_freep) unsigned char *der = NULL;
    int der_len = 0;
    CS_TRY(rs_to_der(sig, sig_len, &der, &der_len));
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1, CS_E_CRYPTO);
    int rc = EVP_DigestVerify(ctx, der, (size_t)der_len, data.p, data.left);
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
