/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel DCAP verification: SGX v3 and TDX v4/v5 ECDSA quotes against Intel collateral.
 *
 * Verification is a pure function of (quote, collateral, trust anchor, instant): no
 * network, no clock, no global state. Collateral is parsed and its signatures and
 * chains verified once, in custos_dcap_collateral_new; the object is then reused for
 * many quotes, from several threads at once, and remembers PCK chains it has already
 * verified (bounded; results are identical with or without that memo).
 */
#ifndef CUSTOS_DCAP_H
#define CUSTOS_DCAP_H

#include <stddef.h>
#include <stdint.h>

#include "custos/result.h"
#include "custos/verdict.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct custos_bytes {
    const uint8_t *p;
    size_t len;
};

/* The pieces of Intel collateral; certificates and CRLs in PEM or DER. */
struct custos_dcap_collateral_src {
    struct custos_bytes tcb_info;          /* PCS body {"tcbInfo":..., "signature":...} */
    struct custos_bytes tcb_info_chain;    /* TCB Signing cert (+ root) */
    struct custos_bytes qe_identity;       /* PCS body {"enclaveIdentity":..., ...}; optional */
    struct custos_bytes qe_identity_chain; /* TCB Signing cert (+ root); with qe_identity */
    struct custos_bytes pck_crl;           /* CRL of the PCK Platform or Processor CA; optional */
    struct custos_bytes root_ca_crl;       /* Intel SGX Root CA CRL; optional */
    struct custos_bytes trust_anchor;      /* Intel SGX Root CA: the only trust anchor */
};

struct custos_dcap_collateral; /* opaque; custos_dcap_collateral_free */

/*
 * Parses the collateral and verifies, independent of time: TCB Info and QE Identity
 * signatures over their exact signed bytes, their issuer chains to the anchor with the
 * Root CA CRL, and the PCK CRL's signature chain. Validity periods are recorded and
 * checked at each verification instant. A collateral set without qe_identity, pck_crl or
 * root_ca_crl can only check itself (custos_dcap_collateral_check): quotes need all three
 * and are otherwise rejected with CS_E_CHAIN. Without root_ca_crl the TCB Signing
 * certificate is not checked for revocation.
 *
 * The source buffers are copied; they need not outlive the call.
 * Ownership: on CS_OK *out is owned by the caller. diag (may be NULL) says why not.
 */
CS_RESULT custos_dcap_collateral_new(const struct custos_dcap_collateral_src *src,
                                     struct custos_diag *diag,
                                     struct custos_dcap_collateral **out);

/*
 * Reads a collateral directory: tcb_info.json, tcb_info_issuer_chain.pem,
 * qe_identity.json, qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der,
 * trust_anchor.pem (each certificate or CRL file may hold PEM or DER, whatever its
 * extension; .der/.pem variants of each name are tried). CS_E_IO when a required file
 * is missing.
 */
CS_RESULT custos_dcap_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                          struct custos_dcap_collateral **out);

void custos_dcap_collateral_free(struct custos_dcap_collateral *c);

/* Whether every piece of the collateral is within its validity period at `at`. */
CS_RESULT custos_dcap_collateral_check(const struct custos_dcap_collateral *c, int64_t at,
                                       struct custos_diag *diag);

/*
 * Verifies a quote at instant `at` (seconds since the epoch, UTC). Bytes after the
 * quote's declared end are ignored (reported as claims.trailing_bytes).
 *
 * Returns CS_OK when the quote verified. Otherwise the code of the first failed check:
 * CS_E_TRUNCATED/TRAILING/FORMAT/TOO_LARGE, CS_E_UNSUPPORTED, CS_E_SIGNATURE,
 * CS_E_CHAIN, CS_E_EXPIRED, CS_E_REVOKED, CS_E_TCB, CS_E_BINDING.
 * Ownership: *out receives a verdict in both cases (NULL only on CS_E_ARG/CS_E_NOMEM).
 */
CS_RESULT custos_dcap_verify(struct custos_dcap_collateral *c, const uint8_t *quote,
                             size_t len, int64_t at, struct custos_verdict **out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
