/* SPDX-License-Identifier: Apache-2.0 */
/* The DCAP collateral object shared by dcap_collateral.c and dcap_verify.c. */
#ifndef CS_VERIFY_DCAP_INTERNAL_H
#define CS_VERIFY_DCAP_INTERNAL_H

#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>

#include "core/cs_file.h"
#include "crypto/cs_x509.h"
#include "crypto/sgx_pck.h"
#include "custos/dcap.h"
#include "evidence/intel_collateral.h"

#define CS_PCK_MEMO_MAX 64
#define CS_DCAP_WINDOWS_MAX 8

/* A PCK chain verified once (chain, CRLs, CA names), remembered by its SHA-256. */
struct cs_pck_memo {
    bool is_used;
    uint8_t digest[32];
    EVP_PKEY *key; /* the PCK leaf's public key; owned */
    struct cs_sgx_pck_ext ext;
    struct cs_window window; /* intersection of the chain's validity periods */
};

struct cs_named_window {
    const char *what;
    struct cs_window w;
};

struct custos_dcap_collateral {
    struct cs_blob tcb_raw; /* owned copies of the signed documents */
    struct cs_blob qe_raw;
    struct cs_tcb_info *tcb; /* views into tcb_raw */
    struct cs_qe_identity *qe; /* NULL when no QE identity was given */
    X509 *anchor;
    X509_CRL *root_crl;
    X509_CRL *pck_crl;   /* NULL when none was given */
    X509_STORE *pck_store; /* anchor + both CRLs; NULL without a PCK CRL */
    size_t n_windows;
    struct cs_named_window windows[CS_DCAP_WINDOWS_MAX];
    int64_t expiry; /* earliest not_after among the windows */

    EVP_PKEY *p256;  /* P-256 parameters that attestation keys are imported into */
    EVP_MD *sha256;  /* fetched once: an implicit fetch per signature takes locks */

    pthread_mutex_t memo_lock;
    size_t memo_next; /* round-robin replacement */
    struct cs_pck_memo memo[CS_PCK_MEMO_MAX];
};

/*
 * The verified PCK chain of a quote: from the memo, or verified now and remembered.
 * On CS_OK *key is a new reference owned by the caller.
 */
CS_RESULT cs_dcap_pck_chain(struct custos_dcap_collateral *c, struct cs_cur pem,
                            EVP_PKEY **key, struct cs_sgx_pck_ext *ext,
                            struct cs_window *window, struct custos_diag *diag);

#endif
