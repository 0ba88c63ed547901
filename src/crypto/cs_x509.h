/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X.509 certificates and CRLs: strict decoding (PEM or DER), validity windows, and chain
 * verification against an explicit trust anchor with CRLs. Verification time is never
 * read from the system clock: chains are verified without time checks and every
 * validity period is returned as a window that the caller compares with its instant.
 */
#ifndef CS_CRYPTO_X509_H
#define CS_CRYPTO_X509_H

#include <openssl/x509.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_X509_DER_MAX (16u * 1024u)
#define CS_X509_PEM_MAX (64u * 1024u)
#define CS_X509_CHAIN_MAX 8
#define CS_CRL_DER_MAX (1024u * 1024u) /* PCK CRLs list revoked platforms: tens of KiB */

/* A validity period [not_before, not_after], seconds since the epoch. */
struct cs_window {
    int64_t not_before;
    int64_t not_after;
};

/* Decodes one DER certificate that must fill der exactly. *out owned by caller on CS_OK. */
CS_RESULT cs_x509_from_der(struct cs_cur der, X509 **out);

/*
 * Decodes certificates from PEM text (one or more CERTIFICATE blocks separated only by
 * white space) or from one DER certificate. At most CS_X509_CHAIN_MAX certificates.
 * Order is preserved. *out owned by caller on CS_OK.
 */
CS_RESULT cs_x509_stack_parse(struct cs_cur in, STACK_OF(X509) **out);

/* Decodes one CRL given as PEM (one X509 CRL block) or DER. */
CS_RESULT cs_x509_crl_parse(struct cs_cur in, X509_CRL **out);

/* The validity window of a certificate / the thisUpdate..nextUpdate of a CRL. */
CS_RESULT cs_x509_window(const X509 *cert, struct cs_window *w);
CS_RESULT cs_x509_crl_window(const X509_CRL *crl, struct cs_window *w);

/* Narrows w to its intersection with other. */
void cs_window_narrow(struct cs_window *w, struct cs_window other);

/* Writes the first commonName of the subject (NUL-terminated, truncated to cap). */
CS_RESULT cs_x509_subject_cn(const X509 *cert, char *out, size_t cap);

/*
 * Builds a trust store holding exactly one anchor and the given CRLs (may be NULL),
 * with CRL checking on every certificate below the anchor when crls is not NULL.
 * Never loads default paths. *out owned by the caller on CS_OK.
 */
CS_RESULT cs_x509_store_new(X509 *anchor, X509_CRL *const *crls, size_t n_crls,
                            X509_STORE **out);

/*
 * Verifies that leaf chains to the store's anchor through the untrusted certificates
 * (may be NULL), checking signatures, CA constraints and CRLs, but not validity times.
 * The built chain must have exactly want_len certificates (leaf .. anchor).
 * On CS_OK, *window is the intersection of the validity of every certificate in it.
 * Returns CS_E_REVOKED, CS_E_SIGNATURE (a certificate or CRL signature fails), or
 * CS_E_CHAIN (no path, wrong length, missing CRL, constraint failure).
 */
CS_RESULT cs_x509_chain_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted,
                               int want_len, struct cs_window *window, struct custos_diag *diag);

#endif
