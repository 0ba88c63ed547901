/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Nitro Enclaves verification: attestation documents (COSE_Sign1, ES384) whose
 * certificate chain, carried in the document, must lead to the configured AWS Nitro
 * Enclaves root. See docs/platforms/nitro.md for the checks, claims and limits.
 *
 * Verification is a pure function of (document, trust anchor, instant, expected nonce):
 * no network, no clock, no global state. The collateral object holds the anchor and
 * remembers certificate chains it has already verified (bounded; results are identical
 * with or without that memo, and validity is checked at every instant). One object serves
 * many documents from several threads at once.
 */
#ifndef CUSTOS_NITRO_H
#define CUSTOS_NITRO_H

#include <stddef.h>
#include <stdint.h>

#include "custos/result.h"
#include "custos/verdict.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct custos_nitro_collateral; /* opaque; custos_nitro_collateral_free */

/*
 * Makes a collateral object from the trust anchor: exactly one certificate, PEM or DER
 * (the AWS Nitro Enclaves Root-G1 for the commercial partitions). Its validity is checked
 * with the rest of each chain, at each verification instant. No system store and no
 * default paths are ever used. The bytes are copied; they need not outlive the call.
 * Ownership: on CS_OK *out is owned by the caller. diag (may be NULL) says why not.
 * Codes: CS_E_FORMAT/TRUNCATED/TRAILING/TOO_LARGE for an unreadable anchor, CS_E_NOMEM.
 */
CS_RESULT custos_nitro_collateral_new(const uint8_t *trust_anchor, size_t len,
                                      struct custos_diag *diag,
                                      struct custos_nitro_collateral **out);

/*
 * Reads a collateral directory: trust_anchor.pem (or trust_anchor.der), PEM or DER
 * whatever the extension. CS_E_IO when it is missing.
 */
CS_RESULT custos_nitro_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                           struct custos_nitro_collateral **out);

/* Frees the object (NULL is fine). No verification may be running on it. */
void custos_nitro_collateral_free(struct custos_nitro_collateral *c);

/*
 * Verifies an attestation document (the raw COSE_Sign1 bytes, tagged or not) at instant
 * `at` (seconds since the epoch, UTC). When nonce is not NULL, the document's nonce must
 * be present and equal to nonce[0..nonce_len) (CS_E_BINDING otherwise); with NULL the
 * nonce is only reported as a claim, for policy to judge.
 *
 * Returns CS_OK when the document verified. Otherwise the code of the first failed check:
 * CS_E_TRUNCATED/TRAILING/FORMAT/TOO_LARGE, CS_E_UNSUPPORTED, CS_E_CHAIN, CS_E_EXPIRED,
 * CS_E_SIGNATURE, CS_E_BINDING. Does NOT judge PCRs, module_id, debug mode or user data:
 * they are claims for policy.
 * Ownership: *out receives a verdict in both cases (NULL only on CS_E_ARG/CS_E_NOMEM).
 */
CS_RESULT custos_nitro_verify(struct custos_nitro_collateral *c, const uint8_t *doc, size_t len,
                              const uint8_t *nonce, size_t nonce_len, int64_t at,
                              struct custos_verdict **out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
