/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hashes and ECDSA verification of the raw r||s signatures that TEE evidence carries.
 */
#ifndef CS_CRYPTO_ECDSA_H
#define CS_CRYPTO_ECDSA_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_SHA256_LEN 32
#define CS_SHA384_LEN 48

CS_RESULT cs_sha256(struct cs_cur in, uint8_t out[CS_SHA256_LEN]);
/* SHA-256 over the concatenation a || b. */
CS_RESULT cs_sha256_2(struct cs_cur a, struct cs_cur b, uint8_t out[CS_SHA256_LEN]);

/*
 * The P-256 domain parameters as a key without a point: a template made once (the DCAP
 * collateral holds one) that cs_ecdsa_p256_key_from_xy copies, since building the curve
 * group costs several times more than copying it. On CS_OK *out is owned by the caller.
 */
CS_RESULT cs_ecdsa_p256_params_new(EVP_PKEY **out);

/*
 * Imports an uncompressed P-256 public point given as X || Y (64 bytes, big-endian) into
 * a copy of params (from cs_ecdsa_p256_params_new; only read, so threads may share it).
 * CS_E_FORMAT when the point is not on the curve. On CS_OK *out is owned by the caller.
 */
CS_RESULT cs_ecdsa_p256_key_from_xy(EVP_PKEY *params, const uint8_t xy[64], EVP_PKEY **out);

/*
 * Verifies an ECDSA signature given as r || s (each half sig_len/2 bytes, big-endian)
 * over data with the given digest (SHA-256 for P-256). CS_E_SIGNATURE when it does not
 * verify, CS_E_CRYPTO when OpenSSL fails. Does NOT check what the key is trusted for.
 */
CS_RESULT cs_ecdsa_verify_rs(EVP_PKEY *key, const EVP_MD *md, const uint8_t *sig, size_t sig_len,
                             struct cs_cur data);

#endif
