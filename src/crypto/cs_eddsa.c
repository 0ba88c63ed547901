/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 verification with OpenSSL 3 (one-shot EVP_DigestVerify, as Ed25519 requires). */
#include "crypto/cs_eddsa.h"

#include <openssl/evp.h>
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
