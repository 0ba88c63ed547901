/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 (RFC 8032, pure) verification over raw 32-byte public keys. */
#ifndef CS_CRYPTO_EDDSA_H
#define CS_CRYPTO_EDDSA_H

#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

#define CS_ED25519_PUB_LEN 32
#define CS_ED25519_SIG_LEN 64

/*
 * Verifies sig over the concatenation prefix || msg (prefix may be empty) with pub.
 * CS_E_SIGNATURE when it does not verify; CS_E_FORMAT for an invalid public key.
 */
CS_RESULT cs_ed25519_verify(const uint8_t pub[CS_ED25519_PUB_LEN],
                            const uint8_t sig[CS_ED25519_SIG_LEN], struct cs_cur prefix,
                            struct cs_cur msg);

/* An Ed25519 private key from its 32-byte RFC 8032 seed. *out owned by the caller. */
CS_RESULT cs_ed25519_from_seed(const uint8_t seed[32], struct evp_pkey_st **out);

/* The 32-byte public key of an Ed25519 key. */
CS_RESULT cs_ed25519_public(struct evp_pkey_st *key, uint8_t pub[CS_ED25519_PUB_LEN]);

/* Signs msg (pure Ed25519). */
CS_RESULT cs_ed25519_sign(struct evp_pkey_st *key, struct cs_cur msg,
                          uint8_t sig[CS_ED25519_SIG_LEN]);

/* n bytes from the operating system's CSPRNG (through OpenSSL's DRBG). */
CS_RESULT cs_random(uint8_t *out, size_t n);

#endif
