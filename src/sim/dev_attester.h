/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The development TDX attester: TDX v4 quotes that verify through the real DCAP path
 * (custos_dcap_verify, unchanged) against a development PKI kept in a data directory,
 * so that `custosd --dev` and `custos sim` work without TDX hardware. For development
 * only: anyone who can read DIR/dev-attester can mint evidence for any measurement, and
 * the broker marks verdicts under this trust root `development: true`
 * (docs/dev-attester.md).
 *
 * Layout of DIR/dev-attester/ (0700; refused when group/other have any access, when it
 * is a symlink or not owned by the effective user):
 *   root.key pck_ca.key pck_leaf.key tcb_signing.key attestation.key
 *                    P-256 private keys, PKCS#8 PEM, 0600 (same refusal rules)
 *   root.pem         the development Root CA certificate: the trust anchor (20 years)
 *   pck_chain.pem    PCK leaf, PCK CA, root: the chain every quote carries
 *   collateral/      tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json,
 *                    qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der,
 *                    trust_anchor.pem: what custos_dcap_collateral_load_dir reads
 *
 * Fixed identities (the forge's TDX defaults): FMSPC B0C06F000000, PCE-ID 0000, Intel's
 * QE vendor ID and TD_QE identity (MRSIGNER, ISVPRODID 2, ISVSVN 4), TDX module TDX_01
 * SVN 4, TEE_TCB_SVN 04 01 02 00.. (UpToDate) or 04 01 01 00.. (OutOfDate).
 */
#ifndef CS_SIM_DEV_ATTESTER_H
#define CS_SIM_DEV_ATTESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_DEV_DIR_NAME "dev-attester"
#define CS_DEV_REPORT_DATA_LEN 64
#define CS_DEV_MEASUREMENT_LEN 48 /* MRTD, RTMRs, MRCONFIGID */
#define CS_DEV_COLLATERAL_DAYS 365    /* collateral valid from now - 1 day to now + 365 days */
#define CS_DEV_COLLATERAL_RENEW_DAYS 30 /* ... and regenerated when closer to expiry */

/*
 * The default MRTD of a quote when none is given: the bytes 0x20, 0x21, ..., 0x4f
 * (hex 202122...4e4f), a value no real TD has.
 */
extern const uint8_t cs_dev_default_mr_td[CS_DEV_MEASUREMENT_LEN];

struct cs_dev_attester; /* opaque; heap object: cs_dev_attester_free */

/*
 * Opens the development attester in DIR/dev-attester/. create=true makes DIR (one level,
 * 0700) and the PKI on first use: fresh P-256 keys (root, PCK CA, PCK leaf, TCB signing,
 * attestation key) written as PEM, and a Root CA certificate valid from now - 1 day for
 * 20 years. The collateral (TCB Info v3 TDX, QE Identity TD_QE, both CRLs, the issuer
 * chains, trust_anchor.pem) and pck_chain.pem are (re)written, with the same keys and
 * root, whenever a quote made now would not verify against them both at `now` and at
 * now + 30 days (missing, damaged, from another PKI, or about to expire); each file is
 * replaced atomically. The TCB Info has two TDX levels: the default TEE_TCB_SVN is
 * UpToDate, a lower one OutOfDate. Concurrent opens of one directory (custosd and the
 * CLI) serialise on a lock of DIR/dev-attester.
 *
 * Ownership: on CS_OK *out is the caller's (cs_dev_attester_free); NULL otherwise.
 * Returns CS_E_NOT_FOUND when create is false and DIR/dev-attester holds no PKI (never
 * creates anything then, apart from refreshing the collateral of an existing PKI),
 * CS_E_IO for file-system failures and for refused files (modes, owner, symlinks),
 * CS_E_FORMAT when a key or root.pem does not parse, CS_E_CHAIN when root.pem is not
 * the root key's certificate, CS_E_INTERNAL when fresh collateral still fails the
 * self-check, CS_E_ARG, CS_E_NOMEM, CS_E_CRYPTO.
 */
CS_RESULT cs_dev_attester_open(const char *dir, bool create, int64_t now,
                               struct cs_dev_attester **out);
void cs_dev_attester_free(struct cs_dev_attester *a);

/* "DIR/dev-attester/collateral": borrowed, lives as long as a. */
const char *cs_dev_attester_collateral_dir(const struct cs_dev_attester *a);

/*
 * The development Root CA certificate (PEM, the bytes of trust_anchor.pem): what custosd
 * marks as a development trust root. Ownership: on CS_OK *pem is a NUL-terminated copy
 * the caller frees with cs_free; *len excludes the NUL.
 */
CS_RESULT cs_dev_attester_anchor_pem(const struct cs_dev_attester *a, char **pem, size_t *len);

struct cs_dev_quote_opts {
    uint8_t report_data[CS_DEV_REPORT_DATA_LEN];
    const uint8_t *mr_td;   /* 48 bytes, or NULL: cs_dev_default_mr_td */
    const uint8_t *rtmr[4]; /* 48 bytes each, or NULL: zeros */
    bool debug;             /* TD_ATTRIBUTES.DEBUG (bit 0) */
    bool out_of_date;       /* TEE_TCB_SVN one lower: verifies with tcb_status OutOfDate */
    const uint8_t *mr_config_id; /* 48 bytes, or NULL: zeros (e.g. an init-data digest) */
};

/*
 * A TDX quote v4 (ECDSA P-256, certification data type 6 wrapping type 5 with
 * pck_chain.pem), signed now by the attestation key; borrows o for the call.
 * Ownership: on CS_OK *quote is the caller's (cs_free), NULL otherwise.
 * Thread-safe: any number of threads may call it at once on one attester (it only reads
 * the attester; OpenSSL 3 allows concurrent signing with one EVP_PKEY).
 * CS_E_ARG, CS_E_NOMEM, CS_E_CRYPTO.
 */
CS_RESULT cs_dev_attester_quote(const struct cs_dev_attester *a, const struct cs_dev_quote_opts *o,
                                uint8_t **quote, size_t *len);

#endif
