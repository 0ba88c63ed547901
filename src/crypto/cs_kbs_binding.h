/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS runtime-data binding: what a TEE puts in REPORT_DATA so that its evidence is
 * bound to the broker's nonce and to the TEE's ephemeral public key (KBS attestation
 * protocol, `runtime-data` of POST /kbs/v0/attest, as Trustee's TDX/SNP verifiers hash
 * it). One function, shared by the attester side (custos sim kbs-attest, the client) and
 * the broker, which must compute exactly the same bytes.
 */
#ifndef CS_CRYPTO_KBS_BINDING_H
#define CS_CRYPTO_KBS_BINDING_H

#include <jansson.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_KBS_REPORT_DATA_LEN 64
#define CS_KBS_NONCE_MAX 1024       /* bytes of the nonce string */
#define CS_KBS_CANONICAL_MAX 65536u /* bytes of the canonical runtime-data JSON */

/*
 * REPORT_DATA = SHA-384(JCS({"additional-evidence": additional, "nonce": nonce,
 * "tee-pubkey": tee_pubkey})) || 0^16: RFC 8785 canonical JSON, so the member order
 * (of the object and inside the JWK) and the white space of the request do not matter.
 *
 * nonce: the challenge's nonce string as sent (not decoded); UTF-8, 1..CS_KBS_NONCE_MAX
 * bytes. tee_pubkey: the JWK object exactly as received (only read; jansson iteration
 * is not const). additional: the additional-evidence string, NULL for "" (no additional
 * evidence). Does NOT check that the JWK is a usable key: that is the JWE layer's job.
 * CS_E_ARG for NULL out/nonce/tee_pubkey; CS_E_FORMAT when tee_pubkey is not an object or
 * a string is not UTF-8; CS_E_TOO_LARGE; CS_E_UNSUPPORTED for numbers JCS cannot
 * represent; CS_E_NOMEM, CS_E_CRYPTO. out is zeroed on failure.
 */
CS_RESULT cs_kbs_report_data(const char *nonce, json_t *tee_pubkey, const char *additional,
                             uint8_t out[CS_KBS_REPORT_DATA_LEN]);

/*
 * The digest of a KBS init-data body as the platform binds it: TDX MRCONFIGID = SHA-384 of
 * the body (48 bytes); SNP HOST_DATA = SHA-256 of the body (32 bytes). *len receives 48 or
 * 32; CS_E_UNSUPPORTED for other platforms.
 */
CS_RESULT cs_kbs_init_data_digest(const char *platform, const uint8_t *body, size_t n,
                                  uint8_t out[48], size_t *len);

#endif
