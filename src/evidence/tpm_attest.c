/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPMS_ATTEST (quote) and TPMT_SIGNATURE parsers. See tpm_attest.h for the sources; the
 * structure names below are those of TCG TPM 2.0 Library Part 2 (rev 1.59).
 */
#include "evidence/tpm_attest.h"

size_t cs_tpm_alg_digest_len(uint16_t alg)
{
    switch (alg) {
    case CS_TPM_ALG_SHA1:
        return 20;
    case CS_TPM_ALG_SHA256:
        return 32;
    case CS_TPM_ALG_SHA384:
        return 48;
    default:
        return 0;
    }
}

const char *cs_tpm_alg_name(uint16_t alg)
{
    switch (alg) {
    case CS_TPM_ALG_SHA1:
        return "sha1";
    case CS_TPM_ALG_SHA256:
        return "sha256";
    case CS_TPM_ALG_SHA384:
        return "sha384";
    case CS_TPM_ALG_RSASSA:
        return "rsassa";
    case CS_TPM_ALG_RSAPSS:
        return "rsapss";
    case CS_TPM_ALG_ECDSA:
        return "ecdsa";
    default:
        return "?";
    }
}

bool cs_tpm_pcr_is_selected(const struct cs_tpm_pcr_bank *b, unsigned index)
{
    if (b == NULL || index >= 8u * b->size_of_select) {
        return false;
    }
    return (((unsigned)b->pcr_select[index / 8u] >> (index % 8u)) & 1u) != 0;
}

/*
 * A TPM2B: UINT16 size, then size octets. The contents become a view; a size over `max`
 * (the buffer size of the TPM2B in Part 2) is malformed even when the bytes are there.
 */
static cs_res tpm2b(struct cs_cur *c, size_t max, struct cs_cur *out)
{
    uint16_t size = 0;
    CS_TRY(cs_cur_u16be(c, &size));
    CS_ENSURE(size <= max, CS_E_FORMAT);
    return cs_cur_view(c, size, out);
}

/*
 * TPMS_PCR_SELECTION: hash (TPMI_ALG_HASH), sizeofSelect (UINT8, at most PCR_SELECT_MAX),
 * pcrSelect[sizeofSelect]. Banks are the ones a PCR value file can name (SHA-1, SHA-256,
 * SHA-384); any other is a valid structure we do not support.
 */
static cs_res pcr_selection(struct cs_cur *c, struct cs_tpm_pcr_bank *b)
{
    CS_TRY(cs_cur_u16be(c, &b->hash_alg));
    CS_TRY(cs_cur_u8(c, &b->size_of_select));
    CS_ENSURE(b->size_of_select <= CS_TPM_PCR_SELECT_MAX, CS_E_FORMAT);
    CS_TRY(cs_cur_copy(c, b->pcr_select, b->size_of_select));
    CS_ENSURE(cs_tpm_alg_digest_len(b->hash_alg) != 0, CS_E_UNSUPPORTED);
    return CS_SUCCESS;
}

/* TPML_PCR_SELECTION: count (UINT32, at most HASH_COUNT), then count selections. */
static cs_res pcr_selection_list(struct cs_cur *c, struct cs_tpm_attest *a)
{
    CS_TRY(cs_cur_u32be(c, &a->n_banks));
    CS_ENSURE(a->n_banks <= CS_TPM_BANKS_MAX, CS_E_FORMAT);
    for (uint32_t i = 0; i < a->n_banks; i++) {
        CS_TRY(pcr_selection(c, &a->banks[i]));
        /* One bank twice would put its PCRs twice into the digest: no TPM selects that way,
         * and PCR values are presented per bank, so it is refused as malformed. */
        for (uint32_t j = 0; j < i; j++) {
            CS_ENSURE(a->banks[j].hash_alg != a->banks[i].hash_alg, CS_E_FORMAT);
        }
    }
    return CS_SUCCESS;
}

CS_RESULT cs_tpm_attest_parse(const uint8_t *buf, size_t len, struct cs_tpm_attest *out)
{
    CS_ENSURE(out != NULL && (buf != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_TPM_ATTEST_MAX, CS_E_TOO_LARGE); /* hard ceiling before any work */
    struct cs_tpm_attest a = { 0 };
    struct cs_cur c = cs_cur_of(buf, len);
    a.signed_span = c;
    /* TPMS_ATTEST.magic: "the indication that this structure was created by a TPM
     * (always TPM_GENERATED_VALUE)" */
    CS_TRY(cs_cur_u32be(&c, &a.magic));
    CS_ENSURE(a.magic == CS_TPM_GENERATED_VALUE, CS_E_FORMAT);
    /* TPMI_ST_ATTEST type: only TPM_ST_ATTEST_QUOTE (attested = TPMS_QUOTE_INFO) */
    CS_TRY(cs_cur_u16be(&c, &a.type));
    CS_ENSURE(a.type == CS_TPM_ST_ATTEST_QUOTE, CS_E_UNSUPPORTED);
    CS_TRY(tpm2b(&c, CS_TPM_NAME_MAX, &a.qualified_signer));
    CS_TRY(tpm2b(&c, CS_TPM_EXTRA_DATA_MAX, &a.extra_data));
    /* TPMS_CLOCK_INFO: clock UINT64, resetCount UINT32, restartCount UINT32, safe TPMI_YES_NO */
    CS_TRY(cs_cur_u64be(&c, &a.clock));
    CS_TRY(cs_cur_u32be(&c, &a.reset_count));
    CS_TRY(cs_cur_u32be(&c, &a.restart_count));
    uint8_t safe = 0;
    CS_TRY(cs_cur_u8(&c, &safe));
    CS_ENSURE(safe <= 1, CS_E_FORMAT); /* TPMI_YES_NO: NO (0) or YES (1) */
    a.is_safe = safe == 1;
    CS_TRY(cs_cur_u64be(&c, &a.firmware_version));
    /* TPMS_QUOTE_INFO: pcrSelect TPML_PCR_SELECTION, pcrDigest TPM2B_DIGEST */
    CS_TRY(pcr_selection_list(&c, &a));
    CS_TRY(tpm2b(&c, CS_TPM_DIGEST_MAX, &a.pcr_digest));
    CS_TRY(cs_cur_end(&c)); /* nothing may follow the structure that was signed */
    *out = a;
    return CS_SUCCESS;
}

CS_RESULT cs_tpm_signature_parse(const uint8_t *buf, size_t len, struct cs_tpm_signature *out)
{
    CS_ENSURE(out != NULL && (buf != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_TPM_SIGNATURE_MAX, CS_E_TOO_LARGE);
    struct cs_tpm_signature s = { 0 };
    struct cs_cur c = cs_cur_of(buf, len);
    /* TPMT_SIGNATURE: sigAlg TPMI_ALG_SIG_SCHEME, then TPMU_SIGNATURE selected by it; every
     * member we accept starts with hash (TPMI_ALG_HASH) */
    CS_TRY(cs_cur_u16be(&c, &s.sig_alg));
    CS_ENSURE(s.sig_alg == CS_TPM_ALG_RSASSA || s.sig_alg == CS_TPM_ALG_RSAPSS ||
                  s.sig_alg == CS_TPM_ALG_ECDSA,
              CS_E_UNSUPPORTED); /* TPM_ALG_NULL, HMAC, ECDAA, SM2, ECSCHNORR, ... */
    CS_TRY(cs_cur_u16be(&c, &s.hash_alg));
    CS_ENSURE(s.hash_alg == CS_TPM_ALG_SHA256 || s.hash_alg == CS_TPM_ALG_SHA384, CS_E_UNSUPPORTED);
    switch (s.sig_alg) {
    case CS_TPM_ALG_RSASSA: /* TPMS_SIGNATURE_RSA: hash, sig TPM2B_PUBLIC_KEY_RSA */
    case CS_TPM_ALG_RSAPSS:
        CS_TRY(tpm2b(&c, CS_TPM_RSA_SIG_MAX, &s.rsa));
        CS_ENSURE(s.rsa.left > 0, CS_E_FORMAT);
        break;
    case CS_TPM_ALG_ECDSA: /* TPMS_SIGNATURE_ECC: hash, signatureR, signatureS */
        CS_TRY(tpm2b(&c, CS_TPM_ECC_PARAM_MAX, &s.ecc_r));
        CS_TRY(tpm2b(&c, CS_TPM_ECC_PARAM_MAX, &s.ecc_s));
        CS_ENSURE(s.ecc_r.left > 0 && s.ecc_s.left > 0, CS_E_FORMAT);
        break;
    default:
        CS_FAIL(CS_E_UNSUPPORTED);
    }
    CS_TRY(cs_cur_end(&c));
    *out = s;
    return CS_SUCCESS;
}
