/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Proof of possession of the attested TEE key (docs/state.md): the agent signs a request
 * with the private half of the EC key pair it attested (cs_tee_keypair_generate), as a
 * JWS would (RFC 7518 section 3.4): ES256 for P-256, ES384 for P-384, ES512 for P-521, the
 * signature being the fixed-width R || S, sent base64url without padding. RSA TEE keys
 * cannot sign a proof (CS_E_UNSUPPORTED). This header includes no OpenSSL.
 */
#ifndef CS_CRYPTO_TEE_POP_H
#define CS_CRYPTO_TEE_POP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_TEE_POP_SIG_MAX 132                 /* bytes of R || S (P-521: 2 * 66) */
#define CS_TEE_POP_B64_MAX 177                 /* base64url of 132 bytes (176) and a NUL */
#define CS_TEE_POP_MSG_MAX (64u * 1024u)        /* bytes of a message to sign */

/*
 * Signs msg (1..CS_TEE_POP_MSG_MAX bytes) with the private EC JWK {"kty":"EC","crv",
 * "x","y","d"} and writes the base64url R || S, NUL-terminated, into out (cap bytes;
 * CS_TEE_POP_B64_MAX suffices). The private scalar is checked to match x, y (CS_E_FORMAT
 * otherwise). Errors: CS_E_ARG, CS_E_UNSUPPORTED (not EC, unknown curve), CS_E_FORMAT
 * (malformed JWK), CS_E_TOO_LARGE, CS_E_CRYPTO. out is "" on failure.
 */
CS_RESULT cs_tee_pop_sign(const json_t *private_jwk, const uint8_t *msg, size_t len, char *out,
                          size_t cap);

#endif
