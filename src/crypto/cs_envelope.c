/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Envelope encryption: fresh DEK per blob, wrapped by the key provider, AES-256-GCM over
 * the secret with the header and the caller's AAD as associated data. The blob is read
 * with a cs_cur (it comes back from storage, which we do not trust to be intact).
 */
#include "crypto/cs_envelope.h"

#include <openssl/crypto.h>
#include <string.h>

#include "core/cs_cur.h"
#include "core/cs_mem.h"

static void dek_wipe(uint8_t (*p)[CS_KEYPROV_DEK_MAX])
{
    cs_wipe(*p, sizeof *p);
}

/* Cleanup for the plaintext buffer: wiped and freed unless moved out. */
struct secret_buf {
    uint8_t *p;
    size_t len;
};

static void secret_buf_clear(struct secret_buf *b)
{
    cs_free_wipe(b->p, b->len);
    b->p = NULL;
}

CS_RESULT cs_envelope_seal(const struct cs_keyprov *kp, const uint8_t *aad, size_t aad_len,
                           const uint8_t *pt, size_t len, uint8_t **blob, size_t *blob_len)
{
    CS_ENSURE(blob != NULL && blob_len != NULL, CS_E_ARG);
    *blob = NULL;
    *blob_len = 0;
    CS_ENSURE(kp != NULL && (aad != NULL || aad_len == 0) && (pt != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_ENVELOPE_PT_MAX && aad_len <= CS_ENVELOPE_AAD_MAX, CS_E_TOO_LARGE);

    CS_AUTO(dek_wipe) uint8_t dek[CS_KEYPROV_DEK_MAX];
    CS_TRY(cs_aead_random_key(dek, CS_ENVELOPE_DEK_LEN));
    uint8_t wrapped[CS_KEYPROV_WRAPPED_MAX];
    size_t w_len = 0;
    CS_TRY(cs_keyprov_wrap(kp, dek, CS_ENVELOPE_DEK_LEN, wrapped, sizeof wrapped, &w_len));
    CS_ENSURE(w_len >= 1 && w_len <= CS_KEYPROV_WRAPPED_MAX, CS_E_INTERNAL);

    size_t head_len = CS_ENVELOPE_FIXED_LEN + w_len;
    size_t total = head_len + CS_AEAD_OVERHEAD + len;
    CS_AUTO(cs_freep) uint8_t *b = NULL;
    CS_TRY(cs_alloc(total, 1, (void **)&b));
    b[0] = CS_ENVELOPE_VERSION;
    memcpy(b + 1, kp->id, CS_KEYPROV_ID_LEN);
    b[1 + CS_KEYPROV_ID_LEN] = (uint8_t)(w_len >> 8);
    b[2 + CS_KEYPROV_ID_LEN] = (uint8_t)(w_len & 0xff);
    memcpy(b + CS_ENVELOPE_FIXED_LEN, wrapped, w_len);

    const struct cs_cur parts[2] = { cs_cur_of(b, head_len), cs_cur_of(aad, aad_len) };
    size_t sealed = 0;
    CS_TRY(cs_aead_seal(dek, parts, 2, cs_cur_of(pt, len), b + head_len, total - head_len,
                        &sealed));
    CS_ENSURE(sealed == total - head_len, CS_E_INTERNAL);
    *blob = CS_MOVE(b);
    *blob_len = total;
    return CS_SUCCESS;
}

CS_RESULT cs_envelope_open(const struct cs_keyprov *kp, const uint8_t *aad, size_t aad_len,
                           const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *len)
{
    CS_ENSURE(pt != NULL && len != NULL, CS_E_ARG);
    *pt = NULL;
    *len = 0;
    CS_ENSURE(kp != NULL && (aad != NULL || aad_len == 0) && (blob != NULL || blob_len == 0),
              CS_E_ARG);
    CS_ENSURE(aad_len <= CS_ENVELOPE_AAD_MAX && blob_len <= CS_ENVELOPE_MAX, CS_E_TOO_LARGE);

    struct cs_cur c = cs_cur_of(blob, blob_len);
    uint8_t version = 0;
    uint8_t id[CS_KEYPROV_ID_LEN];
    uint16_t w_len = 0;
    struct cs_cur wrapped;
    CS_TRY(cs_cur_u8(&c, &version));
    CS_ENSURE(version == CS_ENVELOPE_VERSION, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_copy(&c, id, sizeof id));
    /* the id is public; constant time anyway, as everywhere in src/crypto */
    CS_ENSURE(CRYPTO_memcmp(id, kp->id, sizeof id) == 0, CS_E_NOT_FOUND);
    CS_TRY(cs_cur_u16be(&c, &w_len));
    CS_ENSURE(w_len >= 1 && w_len <= CS_KEYPROV_WRAPPED_MAX, CS_E_FORMAT);
    CS_TRY(cs_cur_view(&c, w_len, &wrapped));
    struct cs_cur head = cs_cur_of(blob, blob_len - c.left); /* everything before the nonce */
    CS_ENSURE(c.left >= CS_AEAD_OVERHEAD, CS_E_TRUNCATED);

    CS_AUTO(dek_wipe) uint8_t dek[CS_KEYPROV_DEK_MAX];
    size_t dek_len = 0;
    CS_TRY(cs_keyprov_unwrap(kp, wrapped.p, wrapped.left, dek, sizeof dek, &dek_len));
    CS_ENSURE(dek_len == CS_ENVELOPE_DEK_LEN, CS_E_FORMAT);

    size_t pt_len = c.left - CS_AEAD_OVERHEAD;
    CS_AUTO(secret_buf_clear) struct secret_buf out = { NULL, pt_len + 1 };
    CS_TRY(cs_alloc(pt_len + 1, 1, (void **)&out.p));
    const struct cs_cur parts[2] = { head, cs_cur_of(aad, aad_len) };
    size_t n = 0;
    CS_TRY(cs_aead_open(dek, parts, 2, c, out.p, pt_len, &n));
    CS_ENSURE(n == pt_len, CS_E_INTERNAL);
    *pt = CS_MOVE(out.p);
    *len = pt_len;
    return CS_SUCCESS;
}
