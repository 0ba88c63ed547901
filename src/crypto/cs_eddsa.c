/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 verification with OpenSSL 3 (one-shot EVP_DigestVerify, as Ed25519 requires). */
#include "crypto/cs_eddsa.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/cs_mem.h"
#include "crypto/cs_ossl.h"

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

CS_RESULT cs_ed25519_verify(const uint8_t pub[CS_ED25519_PUB_LEN],
                            const uint8_t sig[CS_ED25519_SIG_LEN], struct cs_cur prefix,
                            struct cs_cur msg)
{
    CS_ENSURE(pub != NULL && sig != NULL, CS_E_ARG);
    CS_ENSURE(prefix.left <= SIZE_MAX - msg.left, CS_E_TOO_LARGE);
    CS_AUTO(cs_evp_pkey_freep)
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CS_ED25519_PUB_LEN);
    CS_OSSL_ENSURE(key != NULL, CS_E_FORMAT);
    /* Ed25519 hashes the message twice, so it cannot stream: join prefix and message. */
    CS_AUTO(cs_freep) uint8_t *joined = NULL;
    const uint8_t *m = msg.p;
    size_t m_len = msg.left;
    if (prefix.left > 0) {
        CS_TRY(cs_alloc(prefix.left + msg.left, 1, (void **)&joined));
        memcpy(joined, prefix.p, prefix.left);
        memcpy(joined + prefix.left, msg.p, msg.left);
        m = joined;
        m_len = prefix.left + msg.left;
    }
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1, CS_E_CRYPTO);
    int rc = EVP_DigestVerify(ctx, sig, CS_ED25519_SIG_LEN, m, m_len);
    switch (rc) {
    case 1:
        return CS_SUCCESS;
    case 0:
        cs_ossl_clear();
        CS_FAIL(CS_E_SIGNATURE);
    default:
        cs_ossl_clear();
        CS_FAIL(CS_E_CRYPTO);
    }
}

CS_RESULT cs_ed25519_from_seed(const uint8_t seed[32], EVP_PKEY **out)
{
    CS_ENSURE(seed != NULL && out != NULL, CS_E_ARG);
    *out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    CS_OSSL_ENSURE(*out != NULL, CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ed25519_public(EVP_PKEY *key, uint8_t pub[CS_ED25519_PUB_LEN])
{
    CS_ENSURE(key != NULL && pub != NULL, CS_E_ARG);
    size_t len = CS_ED25519_PUB_LEN;
    CS_OSSL_ENSURE(EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == CS_ED25519_PUB_LEN,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_ed25519_sign(EVP_PKEY *key, struct cs_cur msg, uint8_t sig[CS_ED25519_SIG_LEN])
{
    CS_ENSURE(key != NULL && sig != NULL, CS_E_ARG);
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1, CS_E_CRYPTO);
    size_t len = CS_ED25519_SIG_LEN;
    CS_OSSL_ENSURE(EVP_DigestSign(ctx, sig, &len, msg.p, msg.left) == 1 &&
                       len == CS_ED25519_SIG_LEN,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_random(uint8_t *out, size_t n)
{
    CS_ENSURE(out != NULL && n <= INT32_MAX, CS_E_ARG);
    CS_OSSL_ENSURE(RAND_bytes(out, (int)n) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}
