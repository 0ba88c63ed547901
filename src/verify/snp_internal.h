/* SPDX-License-Identifier: Apache-2.0 */
/* The SNP collateral object shared by snp_collateral.c and snp_verify.c. */
#ifndef CS_VERIFY_SNP_INTERNAL_H
#define CS_VERIFY_SNP_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>

#include "crypto/cs_x509.h"
#include "crypto/snp_vek.h"
#include "custos/snp.h"
#include "evidence/snp_report.h"

#define CS_SNP_MEMO_MAX 64

/* A VCEK or VLEK whose chain to the anchor verified, remembered by the SHA-256 of its DER. */
struct cs_snp_vek {
    bool is_used;
    uint8_t digest[32];
    EVP_PKEY *key; /* P-384; the memo owns one reference */
    enum cs_snp_signing_key kind;
    struct cs_snp_vek_ext ext;
    struct cs_window window; /* intersection of the VEK's, the ASK's/ASVK's and the ARK's */
};

struct custos_snp_collateral {
    enum cs_snp_product product; /* from the anchor's name */
    X509 *anchor;                /* the ARK */
    X509 *ask;                   /* NULL when ca_chain has none */
    X509 *asvk;                  /* NULL when ca_chain has none */
    bool has_crl;
    struct cs_window crl_window; /* thisUpdate..nextUpdate, checked at each instant */
    X509_STORE *store;           /* the anchor alone: VEK chains (the ASK/ASVK were
                                    checked against the CRL at load) */
    X509 *vek[2];                /* given in the collateral, by signing key; NULL if not */
    uint8_t vek_digest[2][32];
    EVP_MD *sha256; /* fetched once: an implicit fetch per use takes locks */
    EVP_MD *sha384;

    pthread_mutex_t memo_lock;
    size_t memo_next; /* round-robin replacement */
    struct cs_snp_vek memo[CS_SNP_MEMO_MAX];
};

/*
 * The verified VCEK or VLEK whose DER has SHA-256 `digest`: from the memo, or verified now
 * (name, profile, chain through the ASK/ASVK to the anchor, AMD extensions complete for
 * the product) and remembered. The certificate is `cert` when the caller has it decoded,
 * else `der`, decoded only on a memo miss. On CS_OK *out is a copy whose key is a new
 * reference owned by the caller. Returns CS_E_CHAIN, CS_E_REVOKED, CS_E_FORMAT (and the
 * other decoding codes), CS_E_UNSUPPORTED.
 */
CS_RESULT cs_snp_vek_get(struct custos_snp_collateral *c, X509 *cert, struct cs_cur der,
                         const uint8_t digest[32], enum cs_snp_signing_key kind,
                         struct cs_snp_vek *out, struct custos_diag *diag);

/* SHA-256 of bytes with the collateral's fetched digest. */
CS_RESULT cs_snp_sha256(const struct custos_snp_collateral *c, struct cs_cur in, uint8_t out[32]);

#endif
