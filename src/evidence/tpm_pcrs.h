/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Presented PCR values (pcrs.json): {"<bank>": {"<index>": "<hex>", ...}, ...} with bank
 * "sha1", "sha256" or "sha384", index a decimal PCR number 0..31 without leading zeros,
 * and the value the bank's digest size in hex (either case). This is the form of the
 * shared test cases (go-tpm-tools Quote.pcrs) and of `tpm2_quote` output once converted.
 *
 * The values are NOT authenticated here: they count only once the quote's pcrDigest,
 * which the TPM signed, is recomputed from them (src/verify/tpm_verify.c).
 *
 * Parsing uses jansson (so it allocates) over at most CS_TPM_PCRS_JSON_MAX bytes; the
 * result is a fixed-size table. Duplicate keys are rejected.
 */
#ifndef CS_EVIDENCE_TPM_PCRS_H
#define CS_EVIDENCE_TPM_PCRS_H

#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"
#include "evidence/tpm_attest.h"

#define CS_TPM_PCRS_JSON_MAX (64u * 1024u)

enum cs_tpm_bank {
    CS_TPM_BANK_SHA1 = 0,
    CS_TPM_BANK_SHA256,
    CS_TPM_BANK_SHA384,
    CS_TPM_N_BANKS,
};

struct cs_tpm_pcr_values {
    uint32_t is_present[CS_TPM_N_BANKS]; /* bit i: PCR i of the bank was given */
    uint8_t value[CS_TPM_N_BANKS][CS_TPM_PCRS_PER_BANK][48]; /* the first digest-size bytes */
};

/*
 * Parses pcrs.json. Codes: CS_E_TOO_LARGE, CS_E_TRUNCATED (empty), CS_E_FORMAT (not an
 * object of objects of strings, an index that is not 0..31 in canonical decimal, a value
 * of the wrong length or not hex), CS_E_UNSUPPORTED (a bank name other than the three).
 */
CS_RESULT cs_tpm_pcrs_parse(struct cs_cur json, struct cs_tpm_pcr_values *out);

/* The bank of a TPM hash algorithm (SHA-1/256/384). CS_E_UNSUPPORTED for any other. */
CS_RESULT cs_tpm_bank_of(uint16_t hash_alg, enum cs_tpm_bank *out);

#endif
