/* SPDX-License-Identifier: Apache-2.0 */
/* The Nitro collateral object shared by nitro_collateral.c and nitro_verify.c. */
#ifndef CS_VERIFY_NITRO_INTERNAL_H
#define CS_VERIFY_NITRO_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>

#include "crypto/cs_x509.h"
#include "custos/nitro.h"
#include "evidence/nitro_doc.h"

#define CS_NITRO_MEMO_MAX 64
#define CS_NITRO_ANCHOR_MAX CS_X509_PEM_MAX

/*
 * A certificate chain verified once: the signatures, CA constraints and issuing order
 * from the document's certificate up to the anchor, and the leaf key's type. Remembered
 * by the SHA-256 of the chain's bytes (see cs_nitro_chain); never its validity, which
 * depends on the instant.
 */
struct cs_nitro_memo {
    bool is_used;
    uint8_t digest[32];
    EVP_PKEY *key;           /* the leaf's EC P-384 public key; owned */
    struct cs_window window; /* intersection of the validity of every certificate */
};

struct custos_nitro_collateral {
    X509 *anchor;
    uint8_t *anchor_der; /* owned: the anchor's DER, that cabundle[0] must equal */
    size_t anchor_der_len;
    X509_STORE *store; /* the anchor alone, no CRLs */
    EVP_MD *sha256;    /* fetched once: an implicit fetch per call takes locks */
    EVP_MD *sha384;

    pthread_mutex_t memo_lock;
    size_t memo_next; /* round-robin replacement */
    struct cs_nitro_memo memo[CS_NITRO_MEMO_MAX];
};

/*
 * The verified chain of document d: from the memo, or verified now and remembered.
 * On CS_OK *key is a new reference owned by the caller and *window the intersection of
 * the validity periods of the leaf, the intermediates and the anchor (not yet compared
 * with any instant). Codes: CS_E_FORMAT/TRAILING/TOO_LARGE (a certificate is not DER),
 * CS_E_CHAIN, CS_E_SIGNATURE (a certificate signature), CS_E_UNSUPPORTED (leaf key not EC
 * P-384), CS_E_NOMEM, CS_E_CRYPTO.
 */
CS_RESULT cs_nitro_chain(struct custos_nitro_collateral *c, const struct cs_nitro_doc *d,
                         EVP_PKEY **key, struct cs_window *window, struct custos_diag *diag);

#endif
