/* SPDX-License-Identifier: Apache-2.0 */
/* The TPM trust object shared by tpm_trust.c, tpm_verify.c and tpm_dir.c. */
#ifndef CS_VERIFY_TPM_INTERNAL_H
#define CS_VERIFY_TPM_INTERNAL_H

#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>

#include "core/cs_cur.h"
#include "crypto/cs_x509.h"
#include "crypto/tpm_sig.h"
#include "custos/tpm.h"

#define CS_TPM_AK_MEMO_MAX 64
#define CS_TPM_AK_CERT_MAX CS_X509_PEM_MAX

/* An AK certificate whose chain was verified once, remembered by the SHA-256 of its bytes. */
struct cs_tpm_ak_memo {
    bool is_used;
    uint8_t digest[32];
    EVP_PKEY *key;           /* the certificate's public key; owned */
    uint8_t fingerprint[32]; /* SHA-256 of its SubjectPublicKeyInfo (encoding it is slow) */
    struct cs_window window; /* intersection of the chain's validity periods */
};

struct custos_tpm_trust {
    /* CA mode: anchor + intermediates (store holds the anchor only) */
    X509 *anchor;
    STACK_OF(X509) *intermediates; /* never NULL in CA mode; may be empty */
    X509_STORE *store;
    /* pinned mode */
    EVP_PKEY *pinned;
    uint8_t pinned_fingerprint[32];

    pthread_mutex_t memo_lock;
    size_t memo_next; /* round-robin replacement */
    struct cs_tpm_ak_memo memo[CS_TPM_AK_MEMO_MAX];
};

/* The AK of a verification and how far it is trusted in time. */
struct cs_tpm_ak {
    EVP_PKEY *key; /* a reference owned by the holder (cs_tpm_ak_clear) */
    bool is_pinned;
    uint8_t fingerprint[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
    struct cs_window window; /* the certificate chain's; unbounded when pinned */
};

/*
 * The AK: the pinned key, or the key of ak_cert once its chain to the anchor holds (from
 * the memo, or verified now and remembered). Does NOT check the window against an
 * instant. On CS_OK ak->key is a new reference; clear with cs_tpm_ak_clear.
 * Codes: CS_E_CHAIN (no certificate, no path, key usage), CS_E_SIGNATURE, CS_E_FORMAT...,
 * CS_E_UNSUPPORTED (key type).
 */
CS_RESULT cs_tpm_ak_get(struct custos_tpm_trust *t, struct cs_cur ak_cert, struct cs_tpm_ak *ak,
                        struct custos_diag *diag);

void cs_tpm_ak_clear(struct cs_tpm_ak *ak);

#endif
