/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Envelope encryption of secrets at rest: a fresh 256-bit data key (DEK) per secret
 * encrypts it with AES-256-GCM; the DEK is wrapped by the root KEK of a key provider
 * (cs_keyprov.h) and stored beside the ciphertext. The broker's store only ever sees the
 * sealed blob. Format, byte by byte, in docs/storage.md:
 *
 *   version (1) = 0x01 | KEK id (8) | wrapped DEK length (2, big-endian) | wrapped DEK |
 *   nonce (12) | ciphertext | tag (16)
 *
 * The GCM associated data is header || caller AAD, where header is every byte before the
 * nonce: so each header field is authenticated, and the caller's AAD (for a resource,
 * "custos/resource/v1\0" + name + version) binds the blob to where it belongs. The header
 * is self-delimiting, so the concatenation is unambiguous.
 */
#ifndef CS_CRYPTO_ENVELOPE_H
#define CS_CRYPTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"
#include "crypto/cs_aead.h"
#include "crypto/cs_keyprov.h"

#define CS_ENVELOPE_VERSION 0x01
#define CS_ENVELOPE_DEK_LEN 32
/* version + KEK id + wrapped length */
#define CS_ENVELOPE_FIXED_LEN (1 + CS_KEYPROV_ID_LEN + 2)
/* Ceilings: plaintext (so that a sealed blob always fits the store's 1 MiB blob limit),
 * caller AAD, and whole blob. */
#define CS_ENVELOPE_PT_MAX (1024u * 1024u - 1024u)
#define CS_ENVELOPE_AAD_MAX (64u * 1024u)
#define CS_ENVELOPE_MAX                                                                    \
    (CS_ENVELOPE_FIXED_LEN + CS_KEYPROV_WRAPPED_MAX + CS_AEAD_OVERHEAD + CS_ENVELOPE_PT_MAX)

/*
 * Seals pt (len bytes, at most CS_ENVELOPE_PT_MAX) under a fresh DEK wrapped by kp, with
 * the caller's AAD (aad_len bytes, at most CS_ENVELOPE_AAD_MAX; may be empty). The DEK is
 * wiped before return. Ownership: on CS_OK *blob (cs_alloc'd, *blob_len bytes) is the
 * caller's, to cs_free; NULL on failure. Codes: CS_E_ARG, CS_E_TOO_LARGE, CS_E_NOMEM,
 * CS_E_CRYPTO, or what kp's wrap returns.
 */
CS_RESULT cs_envelope_seal(const struct cs_keyprov *kp, const uint8_t *aad, size_t aad_len,
                           const uint8_t *pt, size_t len, uint8_t **blob, size_t *blob_len);

/*
 * Opens a blob made by cs_envelope_seal with the same KEK and AAD. Ownership: on CS_OK
 * *pt (cs_alloc'd, *len bytes followed by one 0x00 byte not counted in *len) is the
 * caller's, who wipes it: cs_free_wipe(*pt, *len). On failure *pt is NULL, *len is 0 and
 * no plaintext byte was released.
 * Codes: CS_E_TOO_LARGE (blob over CS_ENVELOPE_MAX), CS_E_TRUNCATED, CS_E_FORMAT (a wrapped
 * DEK of impossible size, or one that does not unwrap to 32 bytes), CS_E_UNSUPPORTED
 * (version), CS_E_NOT_FOUND (the blob names another KEK than kp's), CS_E_SIGNATURE (the
 * wrapped DEK or the GCM tag does not verify: damaged blob, other AAD), CS_E_NOMEM,
 * CS_E_CRYPTO. Does NOT check that the caller's AAD is the right one: it only proves that
 * the blob was sealed with exactly this AAD.
 */
CS_RESULT cs_envelope_open(const struct cs_keyprov *kp, const uint8_t *aad, size_t aad_len,
                           const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *len);

#endif
