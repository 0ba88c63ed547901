/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM 2.0 quote verification: a TPMS_ATTEST of type quote, its TPMT_SIGNATURE by an
 * attestation key (AK), the PCR values it covers, and the expected nonce.
 *
 * The AK is trusted in one of two ways, chosen when the trust object is made:
 *   - an AK certificate that chains, through configured intermediates, to one configured
 *     root (the trust anchor), valid at the verification instant; or
 *   - an AK public key pinned by the caller (policy), with no certificate at all.
 *
 * Verification is a pure function of (evidence pieces, trust, nonce, instant): no
 * network, no clock, no global state. The trust object is made once and shared by many
 * verifications and threads; it remembers AK certificates whose chain it has verified
 * (bounded; results are identical with or without that memo). See docs/platforms/tpm.md.
 */
#ifndef CUSTOS_TPM_H
#define CUSTOS_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "custos/dcap.h" /* struct custos_bytes */
#include "custos/result.h"
#include "custos/verdict.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/*
 * How AKs are trusted: EITHER trust_anchor (+ optional ca_chain) OR ak_pub, never both.
 * Certificates in PEM (any number of CERTIFICATE blocks for ca_chain) or DER (one).
 */
struct custos_tpm_trust_src {
    struct custos_bytes trust_anchor; /* the root CA certificate: the only trust anchor */
    struct custos_bytes ca_chain;     /* intermediate CA certificates; may be empty */
    struct custos_bytes ak_pub;       /* pinned AK: SubjectPublicKeyInfo, PEM or DER */
};

struct custos_tpm_trust; /* opaque; custos_tpm_trust_free */

/*
 * Parses the trust configuration: decodes the anchor (exactly one certificate, whose
 * self-signature must verify when it is self-issued) and the intermediates (a copy of
 * the anchor among them is dropped), or the pinned key, which must be RSA 2048..4096 or
 * ECDSA P-256/P-384. Validity periods are checked per verification, at its instant.
 * The source buffers need not outlive the call.
 * Codes: CS_E_ARG (neither or both ways given), CS_E_FORMAT/TRUNCATED/TRAILING/TOO_LARGE,
 * CS_E_UNSUPPORTED (pinned key type), CS_E_SIGNATURE (anchor self-signature), CS_E_NOMEM.
 * Ownership: on CS_OK *out is owned by the caller. diag (may be NULL) says why not.
 */
CS_RESULT custos_tpm_trust_new(const struct custos_tpm_trust_src *src, struct custos_diag *diag,
                               struct custos_tpm_trust **out);

void custos_tpm_trust_free(struct custos_tpm_trust *t);

/* The evidence pieces, as tpm2_quote and the case directories give them. */
struct custos_tpm_evidence {
    struct custos_bytes quote;     /* TPMS_ATTEST, exactly the signed bytes (tpm2_quote -m) */
    struct custos_bytes signature; /* TPMT_SIGNATURE (tpm2_quote -s, "tss" format) */
    struct custos_bytes pcrs;      /* pcrs.json: {"<bank>": {"<index>": "<hex>"}} */
    struct custos_bytes ak_cert;   /* AK certificate, DER or PEM: needed with a CA trust,
                                      ignored with a pinned AK */
};

/*
 * Verifies a quote at instant `at` (seconds since the epoch, UTC).
 *
 * nonce: the expected extraData (qualifyingData given to TPM2_Quote); NULL when the
 * caller expects none, in which case extraData is reported as the "nonce" claim but not
 * compared. A non-NULL nonce of length 0 expects an empty extraData.
 *
 * Order of checks: parse quote, signature and PCR values -> AK (pinned, or certificate
 * chain to the anchor, then validity at `at`) -> AK fits the signature scheme -> the
 * signature over the exact quote bytes -> extraData = nonce -> every selected PCR is
 * presented and the digest of the selected values equals pcrDigest.
 * Returns CS_OK when verified, else the code of the first failed check: CS_E_TRUNCATED/
 * TRAILING/FORMAT/TOO_LARGE, CS_E_UNSUPPORTED, CS_E_CHAIN, CS_E_EXPIRED, CS_E_SIGNATURE,
 * CS_E_BINDING. AK certificates are not checked for revocation (no CRL is configured).
 * Ownership: *out receives a verdict in both cases (NULL only on CS_E_ARG/CS_E_NOMEM).
 */
CS_RESULT custos_tpm_verify(struct custos_tpm_trust *t, const struct custos_tpm_evidence *ev,
                            const struct custos_bytes *nonce, int64_t at,
                            struct custos_verdict **out);

struct custos_tpm_dir; /* opaque; custos_tpm_dir_free */

/*
 * Reads a case directory (docs/platforms/tpm.md): signature.bin and pcrs.json, then
 * either ak_pub.pem (a pinned AK: ak_cert, ca_chain and trust_anchor are not read) or
 * ak_cert.der (or .pem), trust_anchor.pem (or .der) and the optional ca_chain.pem, and
 * makes the trust object. CS_E_IO when a required file is missing; otherwise the codes
 * of custos_tpm_trust_new. Ownership: on CS_OK *out is owned by the caller.
 */
CS_RESULT custos_tpm_dir_load(const char *dir, struct custos_diag *diag,
                              struct custos_tpm_dir **out);

/* custos_tpm_verify with the pieces and trust of the directory and the given quote. */
CS_RESULT custos_tpm_dir_verify(struct custos_tpm_dir *d, const uint8_t *quote, size_t len,
                                const struct custos_bytes *nonce, int64_t at,
                                struct custos_verdict **out);

void custos_tpm_dir_free(struct custos_tpm_dir *d);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
