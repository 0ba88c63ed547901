/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES-256-GCM seal/open with OpenSSL 3 EVP. The nonce is drawn here, never by callers, so
 * no caller can reuse one by mistake; the tag is checked by EVP_DecryptFinal_ex before a
 * single plaintext byte reaches the caller.
 */
#include "crypto/cs_aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/cs_mem.h"
#include "crypto/cs_ossl.h"

static void cipher_ctx_freep(EVP_CIPHER_CTX **p)
{
    EVP_CIPHER_CTX_free(*p); /* also cleanses the key schedule */
}

/* Feeds the AAD parts; every length was bounded by check_aad. */
static cs_res add_aad(EVP_CIPHER_CTX *ctx, const struct cs_cur *aad, size_t n_aad, bool is_enc)
{
    for (size_t i = 0; i < n_aad; i++) {
        if (aad[i].left == 0) {
            continue;
        }
        int n = 0;
        int rc = is_enc ? EVP_EncryptUpdate(ctx, NULL, &n, aad[i].p, (int)aad[i].left)
                        : EVP_DecryptUpdate(ctx, NULL, &n, aad[i].p, (int)aad[i].left);
        CS_OSSL_ENSURE(rc == 1, CS_E_CRYPTO);
    }
    return CS_SUCCESS;
}

static cs_res check_aad(const struct cs_cur *aad, size_t n_aad)
{
    CS_ENSURE(n_aad <= CS_AEAD_AAD_PARTS_MAX, CS_E_ARG);
    CS_ENSURE(n_aad == 0 || aad != NULL, CS_E_ARG);
    for (size_t i = 0; i < n_aad; i++) {
        CS_ENSURE(aad[i].p != NULL || aad[i].left == 0, CS_E_ARG);
        CS_ENSURE(aad[i].left <= CS_AEAD_PT_MAX, CS_E_TOO_LARGE);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_aead_seal(const uint8_t key[CS_AEAD_KEY_LEN], const struct cs_cur *aad, size_t n_aad,
                       struct cs_cur pt, uint8_t *out, size_t cap, size_t *out_len)
{
    CS_ENSURE(out_len != NULL, CS_E_ARG);
    *out_len = 0;
    CS_ENSURE(key != NULL && out != NULL && (pt.p != NULL || pt.left == 0), CS_E_ARG);
    CS_ENSURE(pt.left <= CS_AEAD_PT_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(cap >= CS_AEAD_OVERHEAD && pt.left <= cap - CS_AEAD_OVERHEAD, CS_E_ARG);
    CS_TRY(check_aad(aad, n_aad));

    uint8_t *nonce = out;
    uint8_t *ct = out + CS_AEAD_NONCE_LEN;
    uint8_t *tag = ct + pt.left;
    CS_OSSL_ENSURE(RAND_bytes(nonce, CS_AEAD_NONCE_LEN) == 1, CS_E_CRYPTO);

    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    /* GCM's default IV length is 96 bits, the one SP 800-38D recommends */
    CS_OSSL_ENSURE(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1, CS_E_CRYPTO);
    CS_TRY(add_aad(ctx, aad, n_aad, true));
    int n = 0;
    if (pt.left > 0) {
        CS_OSSL_ENSURE(EVP_EncryptUpdate(ctx, ct, &n, pt.p, (int)pt.left) == 1 &&
                           (size_t)n == pt.left,
                       CS_E_CRYPTO);
    }
    int fin = 0;
    CS_OSSL_ENSURE(EVP_EncryptFinal_ex(ctx, ct + pt.left, &fin) == 1 && fin == 0, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CS_AEAD_TAG_LEN, tag) == 1,
                   CS_E_CRYPTO);
    *out_len = pt.left + CS_AEAD_OVERHEAD;
    return CS_SUCCESS;
}

/* Cleanup for the scratch plaintext: wiped whether or not it was authenticated. */
struct scratch {
    uint8_t *p;
    size_t len;
};

static void scratch_clear(struct scratch *s)
{
    cs_free_wipe(s->p, s->len);
    s->p = NULL;
}

CS_RESULT cs_aead_open(const uint8_t key[CS_AEAD_KEY_LEN], const struct cs_cur *aad, size_t n_aad,
                       struct cs_cur in, uint8_t *out, size_t cap, size_t *out_len)
{
    CS_ENSURE(out_len != NULL, CS_E_ARG);
    *out_len = 0;
    CS_ENSURE(key != NULL && out != NULL && (in.p != NULL || in.left == 0), CS_E_ARG);
    CS_ENSURE(in.left >= CS_AEAD_OVERHEAD, CS_E_TRUNCATED);
    size_t ct_len = in.left - CS_AEAD_OVERHEAD;
    CS_ENSURE(ct_len <= CS_AEAD_PT_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(ct_len <= cap, CS_E_ARG);
    CS_TRY(check_aad(aad, n_aad));

    struct cs_cur c = in;
    uint8_t nonce[CS_AEAD_NONCE_LEN];
    uint8_t tag[CS_AEAD_TAG_LEN];
    struct cs_cur ct;
    CS_TRY(cs_cur_copy(&c, nonce, sizeof nonce));
    CS_TRY(cs_cur_view(&c, ct_len, &ct));
    CS_TRY(cs_cur_copy(&c, tag, sizeof tag));
    CS_TRY(cs_cur_end(&c));

    CS_AUTO(scratch_clear) struct scratch pt = { NULL, ct_len };
    CS_TRY(cs_alloc(ct_len, 1, (void **)&pt.p));
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1, CS_E_CRYPTO);
    CS_TRY(add_aad(ctx, aad, n_aad, false));
    int n = 0;
    if (ct_len > 0) {
        CS_OSSL_ENSURE(EVP_DecryptUpdate(ctx, pt.p, &n, ct.p, (int)ct_len) == 1 &&
                           (size_t)n == ct_len,
                       CS_E_CRYPTO);
    }
    CS_OSSL_ENSURE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CS_AEAD_TAG_LEN, tag) == 1,
                   CS_E_CRYPTO);
    int fin = 0;
    /* 1: the tag verifies; anything else: the scratch plaintext is wiped by its cleanup */
    CS_OSSL_ENSURE(EVP_DecryptFinal_ex(ctx, pt.p + ct_len, &fin) == 1 && fin == 0,
                   CS_E_SIGNATURE);
    if (ct_len > 0) {
        memcpy(out, pt.p, ct_len);
    }
    *out_len = ct_len;
    return CS_SUCCESS;
}

CS_RESULT cs_aead_random_key(uint8_t *out, size_t n)
{
    CS_ENSURE(out != NULL && n > 0 && n <= 1024, CS_E_ARG);
    CS_OSSL_ENSURE(RAND_priv_bytes(out, (int)n) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}
