/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 (RFC 8032, pure) verification over raw 32-byte public keys. */
#ifndef CS_CRYPTO_EDDSA_H
#define CS_CRYPTO_EDDSA_H

#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_ED25519_PUB_LEN 32
#define CS_ED25519_SIG_LEN 64

/*
 * Verifies sig over the concatenation prefix || msg (prefix may be empty) with pub.
 * CS_E_SIGNATURE when it does not verify; CS_E_FORMAT for an invalid public key.
 */
CS_RESULT cs_ed25519_verify(const uint8_t pub[CS_ED25519_PUB_LEN],
                            const uint8_t sig[CS_ED25519_SIG_LEN], struct cs_cur prefix,
                            struct cs_cur msg);

#endif
