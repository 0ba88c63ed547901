/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP certificates: the versioned endorsement keys (VCEK, VLEK) and their CA
 * profile (ARK, ASK, ASVK).
 *
 * Spec: AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
 * Specification" (publication 57230), section "VCEK Certificate" (X.509 extensions under
 * 1.3.6.1.4.1.3704.1) and AMD "Versioned Loaded Endorsement Key (VLEK) Certificate"
 * (publication 58369). Extension arcs cross-checked with google/go-sev-guest kds/kds.go
 * L46-63 and against every VCEK/VLEK under ../shared (FORMATS.md section 2):
 *
 *   .1 structVersion INTEGER     .2 productName IA5String ("Milan-B0", "Genoa", "Turin")
 *   .3.1 blSPL  .3.2 teeSPL  .3.3 snpSPL  .3.4-.3.7 reserved SPLs  .3.8 ucodeSPL
 *   .3.9 fmcSPL (Turin)  - each an INTEGER 0..255
 *   .4 hwID (VCEK): the chip id, 64 bytes (8 on Turin), either raw or as an OCTET STRING
 *   .5 cspId (VLEK) IA5String
 *
 * Each extension's value is the DER of that type, except the hwID, which real Milan and
 * Genoa VCEKs carry as the raw bytes with no OCTET STRING around them; both forms are
 * accepted, each exactly (raw: 8 or 64 bytes; wrapped: an OCTET STRING of 8 or 64 bytes
 * filling the value).
 */
#ifndef CS_CRYPTO_SNP_VEK_H
#define CS_CRYPTO_SNP_VEK_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_SNP_HWID_MAX 64
#define CS_SNP_PRODUCT_NAME_MAX 32
#define CS_SNP_CSP_ID_MAX 128
#define CS_SNP_SPL_MAX 9 /* arcs .3.1 .. .3.9 */

struct cs_snp_vek_ext {
    bool has_struct_version;
    long struct_version;
    char product_name[CS_SNP_PRODUCT_NAME_MAX]; /* NUL-terminated; "" when absent */
    uint32_t spl_present;                       /* bit a set when arc .3.a is present */
    uint8_t spl[CS_SNP_SPL_MAX + 1];            /* spl[a] for arc .3.a */
    size_t hwid_len;                            /* 0 when absent, else 8 or 64 */
    uint8_t hwid[CS_SNP_HWID_MAX];
    char csp_id[CS_SNP_CSP_ID_MAX]; /* NUL-terminated; "" when absent */
};

#define CS_SNP_SPL_BL 1
#define CS_SNP_SPL_TEE 2
#define CS_SNP_SPL_SNP 3
#define CS_SNP_SPL_UCODE 8
#define CS_SNP_SPL_FMC 9

/*
 * Reads the AMD extensions of a VCEK or VLEK. Each may appear at most once and must have
 * its exact encoding; unknown arcs under 1.3.6.1.4.1.3704.1 are ignored.
 * Returns CS_E_FORMAT. Does NOT check which extensions a VCEK or VLEK must have, nor any
 * value against a report.
 */
CS_RESULT cs_snp_vek_ext_parse(const X509 *cert, struct cs_snp_vek_ext *out);

/*
 * The certificate profile every AMD SNP certificate (ARK, ASK, ASVK, VCEK, VLEK) has:
 * X.509 v3, a serial number that is not negative (AMD issues VCEKs and VLEKs with serial
 * 0, which RFC 5280 forbids; that is the one deviation accepted), and an RSASSA-PSS
 * signature with SHA-384. CS_E_CHAIN otherwise.
 */
CS_RESULT cs_snp_cert_profile_check(X509 *cert);

/* Whether the public key is ECDSA on P-384 (secp384r1), the only VCEK/VLEK key type. */
bool cs_snp_key_is_p384(EVP_PKEY *key);

/* Whether the self-signed certificate's signature verifies with its own key. */
bool cs_snp_cert_is_self_signed(X509 *cert);

#endif
