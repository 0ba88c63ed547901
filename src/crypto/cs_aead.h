/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES-256-GCM (NIST SP 800-38D) over EVP, in the one shape custos uses everywhere:
 * a fresh random 96-bit nonce per message, a 128-bit tag, and the sealed form
 * nonce || ciphertext || tag. Opening fails closed: on any failure nothing is written to
 * the caller's output buffer (decryption goes to a scratch buffer that is wiped).
 *
 * Random nonces: with one key, at most 2^32 messages (SP 800-38D 8.3). The envelope
 * (cs_envelope.h) uses each data key for exactly one message, far below that.
 */
#ifndef CS_CRYPTO_AEAD_H
#define CS_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_AEAD_KEY_LEN 32
#define CS_AEAD_NONCE_LEN 12
#define CS_AEAD_TAG_LEN 16
#define CS_AEAD_OVERHEAD (CS_AEAD_NONCE_LEN + CS_AEAD_TAG_LEN)
/* Ceiling of a plaintext and of each AAD part (also keeps EVP's int lengths safe). */
#define CS_AEAD_PT_MAX (64u * 1024u * 1024u)
/* Ceiling of the number of AAD parts. */
#define CS_AEAD_AAD_PARTS_MAX 8

/*
 * Seals pt under key: writes nonce || ciphertext || tag (pt.left + CS_AEAD_OVERHEAD bytes)
 * into out (cap bytes), and that length into *out_len. The associated data is the
 * concatenation of the n_aad parts aad[0..n_aad) (n_aad may be 0, aad then may be NULL).
 * out must not overlap pt. Borrowed: everything.
 * Codes: CS_E_ARG (NULL, n_aad > CS_AEAD_AAD_PARTS_MAX, cap too small), CS_E_TOO_LARGE
 * (pt or an AAD part over CS_AEAD_PT_MAX), CS_E_CRYPTO. On failure *out_len is 0 and out
 * holds nothing meaningful.
 */
CS_RESULT cs_aead_seal(const uint8_t key[CS_AEAD_KEY_LEN], const struct cs_cur *aad, size_t n_aad,
                       struct cs_cur pt, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Opens in = nonce || ciphertext || tag sealed under key with the same AAD parts, writing
 * the plaintext (in.left - CS_AEAD_OVERHEAD bytes) into out (cap bytes) and its length
 * into *out_len. Codes: CS_E_TRUNCATED (in shorter than the overhead), CS_E_ARG (cap too
 * small, NULL), CS_E_TOO_LARGE, CS_E_SIGNATURE (tag mismatch: wrong key, AAD, nonce,
 * ciphertext or tag), CS_E_NOMEM, CS_E_CRYPTO. On failure out is untouched and *out_len is 0.
 */
CS_RESULT cs_aead_open(const uint8_t key[CS_AEAD_KEY_LEN], const struct cs_cur *aad, size_t n_aad,
                       struct cs_cur in, uint8_t *out, size_t cap, size_t *out_len);

/* n bytes from OpenSSL's private DRBG (RAND_priv_bytes): for keys, never published. */
CS_RESULT cs_aead_random_key(uint8_t *out, size_t n);

#endif
