/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP verification: attestation reports (versions 2, 3 and 5) signed by a VCEK or
 * a VLEK, chained through the ASK or ASVK to the ARK of one product (Milan, Genoa,
 * Turin), which is the configured trust anchor. Also the KBS-protocol evidence of
 * Confidential Containers guests (JSON), which is re-encoded to the binary report first.
 *
 * Verification is a pure function of (evidence, certificates, trust anchor, instant): no
 * network, no clock, no global state. The CA part (ARK, ASK/ASVK, CRL) is parsed and its
 * chain verified once, in custos_snp_collateral_new; the object is then reused for many
 * reports, from several threads at once, and remembers the VCEK/VLEK certificates it has
 * already verified (bounded; results are identical with or without that memo). Checks
 * and claims: docs/platforms/snp.md.
 */
#ifndef CUSTOS_SNP_H
#define CUSTOS_SNP_H

#include <stddef.h>
#include <stdint.h>

#include "custos/dcap.h" /* struct custos_bytes */
#include "custos/result.h"
#include "custos/verdict.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* What SNP reports are checked against; certificates and the CRL in PEM or DER. */
struct custos_snp_collateral_src {
    struct custos_bytes trust_anchor; /* the ARK of one product: the only trust anchor */
    struct custos_bytes ca_chain;     /* the ASK and/or the ASVK, optionally then the ARK */
    struct custos_bytes vcek;         /* optional: the VCEK that signs binary reports */
    struct custos_bytes vlek;         /* optional: the VLEK that signs binary reports */
    struct custos_bytes crl;          /* optional: the ARK's CRL (revoked ASKs/ASVKs) */
};

struct custos_snp_collateral; /* opaque; custos_snp_collateral_free */

/*
 * Parses the collateral and verifies, independent of time: the anchor is one self-signed
 * ARK ("ARK-Milan", "ARK-Genoa" or "ARK-Turin"); every certificate of ca_chain is that
 * product's ASK ("SEV-<product>") or ASVK ("SEV-VLEK-<product>"), each at most once, and
 * chains to the anchor (with the CRL when given: issued and signed by the anchor), or is
 * the anchor itself. A VCEK/VLEK given here is only decoded; it is verified (and
 * remembered) when a report first needs it. Validity periods are checked at each
 * verification instant.
 *
 * The source buffers are copied; they need not outlive the call.
 * Ownership: on CS_OK *out is owned by the caller. diag (may be NULL) says why not.
 * Returns CS_E_FORMAT/TRUNCATED/TRAILING/TOO_LARGE (undecodable), CS_E_UNSUPPORTED (an
 * unknown product), CS_E_CHAIN, CS_E_SIGNATURE (the CRL's), CS_E_REVOKED, CS_E_ARG.
 */
CS_RESULT custos_snp_collateral_new(const struct custos_snp_collateral_src *src,
                                    struct custos_diag *diag, struct custos_snp_collateral **out);

/*
 * Reads a collateral directory: trust_anchor.pem, ca_chain.pem, and optionally vcek.der,
 * vlek.der, crl.der (each file may hold PEM or DER, whatever its extension; the .pem/.der
 * variant of each name is tried too). CS_E_IO when a required file is missing.
 */
CS_RESULT custos_snp_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                         struct custos_snp_collateral **out);

void custos_snp_collateral_free(struct custos_snp_collateral *c);

/*
 * Verifies SNP evidence at instant `at` (seconds since the epoch, UTC): a binary report
 * of exactly 1184 bytes, or KBS JSON evidence (first non-blank byte '{'), whose report
 * is re-encoded to binary and whose cert_chain may carry the VCEK/VLEK (an ASK or ARK in
 * it must be byte-identical to the configured one: evidence never introduces a CA).
 *
 * Returns CS_OK when the evidence verified. Otherwise the code of the first failed check:
 * CS_E_TRUNCATED/TRAILING/FORMAT/TOO_LARGE, CS_E_UNSUPPORTED, CS_E_CHAIN, CS_E_REVOKED,
 * CS_E_EXPIRED, CS_E_SIGNATURE, CS_E_BINDING (hwID != CHIP_ID), CS_E_TCB (an SPL of the
 * certificate != REPORTED_TCB).
 * Ownership: *out receives a verdict in both cases (NULL only on CS_E_ARG/CS_E_NOMEM).
 */
CS_RESULT custos_snp_verify(struct custos_snp_collateral *c, const uint8_t *evidence, size_t len,
                            int64_t at, struct custos_verdict **out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
