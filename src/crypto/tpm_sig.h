/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crypto a TPM quote needs beyond cs_ecdsa and cs_x509: attestation keys given as a
 * SubjectPublicKeyInfo, their SHA-256 fingerprint, the hashes of TPM algorithm ids, RSA
 * signatures (RSASSA-PKCS1-v1_5 and RSASSA-PSS) and ECDSA signatures whose r and s come
 * as variable-length big-endian integers (TPM2B_ECC_PARAMETER).
 */
#ifndef CS_CRYPTO_TPM_SIG_H
#define CS_CRYPTO_TPM_SIG_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_TPM_PUBKEY_MAX (16u * 1024u)
#define CS_TPM_HASH_MAX 48 /* the largest digest we compute (SHA-384) */
#define CS_TPM_RSA_BITS_MIN 2048
#define CS_TPM_RSA_BITS_MAX 4096

/* What kind of attestation key a public key is; anything else is unsupported. */
enum cs_tpm_key_kind {
    CS_TPM_KEY_RSA = 1, /* rsaEncryption, 2048..4096 bits */
    CS_TPM_KEY_P256,
    CS_TPM_KEY_P384,
};

/*
 * Decodes a public key from PEM ("PUBLIC KEY", one block, only white space around it) or
 * DER SubjectPublicKeyInfo filling `in` exactly. CS_E_FORMAT / CS_E_TRAILING /
 * CS_E_TOO_LARGE on bad input. Ownership: on CS_OK *out is owned by the caller.
 * Does NOT check the kind of key (cs_tpm_key_kind does).
 */
CS_RESULT cs_tpm_pubkey_parse(struct cs_cur in, EVP_PKEY **out);

/* The kind of key; CS_E_UNSUPPORTED for other types, curves or RSA sizes. */
CS_RESULT cs_tpm_key_kind(const EVP_PKEY *key, enum cs_tpm_key_kind *out);

/* SHA-256 of the DER SubjectPublicKeyInfo of key. */
CS_RESULT cs_tpm_key_fingerprint(const EVP_PKEY *key, uint8_t out[32]);

/*
 * Hashes data with a TPM hash algorithm (TPM_ALG_SHA1 / SHA256 / SHA384 ids).
 * CS_E_UNSUPPORTED for another id. *out_len receives the digest size.
 */
CS_RESULT cs_tpm_hash(uint16_t alg, struct cs_cur data, uint8_t out[CS_TPM_HASH_MAX],
                      size_t *out_len);

/*
 * Verifies an RSA signature over data with the TPM hash `alg`: PKCS#1 v1.5 (RSASSA) or,
 * when is_pss, RSASSA-PSS with MGF1 of the same hash and the salt length read from the
 * signature (TPMs use the digest size; TPM 2.0 parts before rev 1.16 used the largest).
 * The signature must be exactly the modulus size. CS_E_SIGNATURE when it does not verify
 * or the key is not RSA, CS_E_CRYPTO when OpenSSL fails.
 */
CS_RESULT cs_tpm_rsa_verify(EVP_PKEY *key, uint16_t alg, bool is_pss, struct cs_cur sig,
                            struct cs_cur data);

/*
 * Verifies an ECDSA signature (r, s: unsigned big-endian, at most the curve size each;
 * shorter values are left-padded as TPMs may strip leading zeros) over data with the TPM
 * hash `alg`, through cs_ecdsa_verify_rs. CS_E_SIGNATURE when it does not verify, the
 * key is not P-256/P-384, or r or s is longer than the curve size.
 */
CS_RESULT cs_tpm_ecdsa_verify(EVP_PKEY *key, uint16_t alg, struct cs_cur r, struct cs_cur s,
                              struct cs_cur data);

#endif
