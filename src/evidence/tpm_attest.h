/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM 2.0 quote pieces: TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (what TPM2_Quote signs)
 * and TPMT_SIGNATURE (its signature).
 *
 * Spec: TCG TPM 2.0 Library, Part 2: Structures (rev 1.59): TPM_GENERATED, TPM_ST,
 * TPM2B_NAME, TPM2B_DATA, TPM2B_DIGEST, TPMS_CLOCK_INFO, TPMS_PCR_SELECTION,
 * TPML_PCR_SELECTION, TPMS_QUOTE_INFO, TPMS_ATTEST, TPMS_SIGNATURE_RSA,
 * TPMS_SIGNATURE_ECC, TPMT_SIGNATURE; algorithm identifiers from the TCG Algorithm
 * Registry (TPM_ALG_ID). Every integer is big-endian ("canonical form", Part 1 clause
 * 4.3 / Part 2 clause 4). Field order cross-checked with the tpm2-tss marshalling code
 * (Tss2_MU_TPMS_ATTEST_Unmarshal) and with quotes made by swtpm + tpm2_quote and by the
 * Google Compute Engine vTPM (docs/platforms/tpm.md).
 *
 * The parsers are pure: no allocation, I/O or crypto. Outputs are fixed-size fields plus
 * views into the caller's buffer (borrows: the input buffer).
 */
#ifndef CS_EVIDENCE_TPM_ATTEST_H
#define CS_EVIDENCE_TPM_ATTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

/* Ceilings. A quote over 16 banks of 32 PCRs with the largest fields is 353 bytes. */
#define CS_TPM_ATTEST_MAX 1024u
#define CS_TPM_SIGNATURE_MAX 1024u
/* TPM2B_NAME: buffer[sizeof(TPMU_NAME)], a TPMT_HA of SHA-512 at most (2 + 64). */
#define CS_TPM_NAME_MAX 66u
/* TPM2B_DATA extraData: the nonce. Part 2 allows sizeof(TPMT_HA) (66); no nonce needs more
 * than the largest digest, so custos accepts 64. */
#define CS_TPM_EXTRA_DATA_MAX 64u
/* TPM2B_DIGEST: buffer[sizeof(TPMU_HA)], the largest digest (SHA-512). */
#define CS_TPM_DIGEST_MAX 64u
/* TPML_PCR_SELECTION: count <= HASH_COUNT (16 here, more than any TPM implements). */
#define CS_TPM_BANKS_MAX 16u
/* TPMS_PCR_SELECTION.sizeofSelect <= PCR_SELECT_MAX (4 octets: PCRs 0..31). */
#define CS_TPM_PCR_SELECT_MAX 4u
#define CS_TPM_PCRS_PER_BANK (8u * CS_TPM_PCR_SELECT_MAX)
/* TPM2B_ECC_PARAMETER: MAX_ECC_KEY_BYTES (P-521) / TPM2B_PUBLIC_KEY_RSA: MAX_RSA_KEY_BYTES. */
#define CS_TPM_ECC_PARAM_MAX 66u
#define CS_TPM_RSA_SIG_MAX 512u

/* TPM_GENERATED_VALUE: "\xffTCG" */
#define CS_TPM_GENERATED_VALUE 0xff544347u
/* TPM_ST_ATTEST_QUOTE */
#define CS_TPM_ST_ATTEST_QUOTE 0x8018u

/* TPM_ALG_ID (TCG Algorithm Registry) */
#define CS_TPM_ALG_SHA1 0x0004u
#define CS_TPM_ALG_SHA256 0x000bu
#define CS_TPM_ALG_SHA384 0x000cu
#define CS_TPM_ALG_RSASSA 0x0014u
#define CS_TPM_ALG_RSAPSS 0x0016u
#define CS_TPM_ALG_ECDSA 0x0018u

/* One TPMS_PCR_SELECTION: a bank and a bitmap (bit j of octet i selects PCR 8i + j). */
struct cs_tpm_pcr_bank {
    uint16_t hash_alg; /* SHA-1, SHA-256 or SHA-384 */
    uint8_t size_of_select;
    uint8_t pcr_select[CS_TPM_PCR_SELECT_MAX]; /* octets past size_of_select are zero */
};

/* TPMS_ATTEST with attested = TPMS_QUOTE_INFO. Borrows: the input buffer. */
struct cs_tpm_attest {
    uint32_t magic;
    uint16_t type;
    struct cs_cur qualified_signer; /* TPM2B_NAME contents */
    struct cs_cur extra_data;       /* TPM2B_DATA contents: the nonce */
    uint64_t clock;                 /* TPMS_CLOCK_INFO */
    uint32_t reset_count;
    uint32_t restart_count;
    bool is_safe;
    uint64_t firmware_version;
    uint32_t n_banks; /* TPML_PCR_SELECTION, in the order of the structure */
    struct cs_tpm_pcr_bank banks[CS_TPM_BANKS_MAX];
    struct cs_cur pcr_digest;  /* TPM2B_DIGEST contents */
    struct cs_cur signed_span; /* the whole structure: exactly what the signature covers */
};

/*
 * Parses a TPMS_ATTEST that must be a quote and fill [buf, buf+len) exactly.
 * Codes: CS_E_TOO_LARGE (over CS_TPM_ATTEST_MAX), CS_E_TRUNCATED, CS_E_TRAILING,
 * CS_E_FORMAT (magic, a size over its ceiling, safe not 0/1, a bank selected twice,
 * sizeofSelect over 4), CS_E_UNSUPPORTED (another attestation type, a PCR bank other than
 * SHA-1/256/384). Does NOT check the signature, the nonce or the PCR digest.
 */
CS_RESULT cs_tpm_attest_parse(const uint8_t *buf, size_t len, struct cs_tpm_attest *out);

/* TPMT_SIGNATURE. Borrows: the input buffer. */
struct cs_tpm_signature {
    uint16_t sig_alg;    /* RSASSA, RSAPSS or ECDSA */
    uint16_t hash_alg;   /* SHA-256 or SHA-384 */
    struct cs_cur rsa;   /* RSA: the signature (TPM2B_PUBLIC_KEY_RSA contents) */
    struct cs_cur ecc_r; /* ECDSA: r and s (TPM2B_ECC_PARAMETER contents, big-endian) */
    struct cs_cur ecc_s;
};

/*
 * Parses a TPMT_SIGNATURE that must fill [buf, buf+len) exactly. Codes: CS_E_TOO_LARGE,
 * CS_E_TRUNCATED, CS_E_TRAILING, CS_E_FORMAT (an empty or oversized value),
 * CS_E_UNSUPPORTED (a scheme other than RSASSA, RSAPSS, ECDSA, or a hash other than
 * SHA-256/384). Does NOT verify anything.
 */
CS_RESULT cs_tpm_signature_parse(const uint8_t *buf, size_t len, struct cs_tpm_signature *out);

/* Digest size of a TPM hash algorithm we know (SHA-1/256/384), else 0. */
size_t cs_tpm_alg_digest_len(uint16_t alg);

/* "sha1", "sha256", "sha384", "rsassa", "rsapss", "ecdsa", or "?" (never NULL). */
const char *cs_tpm_alg_name(uint16_t alg);

/* Whether PCR `index` (< CS_TPM_PCRS_PER_BANK) is selected in bank b. */
bool cs_tpm_pcr_is_selected(const struct cs_tpm_pcr_bank *b, unsigned index);

#endif
