/* SPDX-License-Identifier: Apache-2.0 */
/* Presented PCR values (pcrs.json): see tpm_pcrs.h. */
#include "evidence/tpm_pcrs.h"

#include <string.h>

#include "core/cs_hex.h"
#include "core/cs_json.h"

static const struct {
    const char *name;
    uint16_t alg;
} banks[CS_TPM_N_BANKS] = {
    [CS_TPM_BANK_SHA1] = { "sha1", CS_TPM_ALG_SHA1 },
    [CS_TPM_BANK_SHA256] = { "sha256", CS_TPM_ALG_SHA256 },
    [CS_TPM_BANK_SHA384] = { "sha384", CS_TPM_ALG_SHA384 },
};

CS_RESULT cs_tpm_bank_of(uint16_t hash_alg, enum cs_tpm_bank *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    for (size_t i = 0; i < CS_TPM_N_BANKS; i++) {
        if (banks[i].alg == hash_alg) {
            *out = (enum cs_tpm_bank)i;
            return CS_SUCCESS;
        }
    }
    CS_FAIL(CS_E_UNSUPPORTED);
}

/* A PCR number in canonical decimal: "0".."31", no sign, no leading zero. */
static cs_res pcr_index(const char *key, unsigned *out)
{
    size_t n = strlen(key);
    CS_ENSURE(n == 1 || n == 2, CS_E_FORMAT);
    CS_ENSURE(key[0] >= '0' && key[0] <= '9', CS_E_FORMAT);
    unsigned v = (unsigned)(key[0] - '0');
    if (n == 2) {
        CS_ENSURE(v != 0 && key[1] >= '0' && key[1] <= '9', CS_E_FORMAT);
        v = 10u * v + (unsigned)(key[1] - '0');
    }
    CS_ENSURE(v < CS_TPM_PCRS_PER_BANK, CS_E_FORMAT);
    *out = v;
    return CS_SUCCESS;
}

static cs_res bank_values(json_t *bank, enum cs_tpm_bank b, struct cs_tpm_pcr_values *out)
{
    CS_ENSURE(json_is_object(bank), CS_E_FORMAT);
    size_t dlen = cs_tpm_alg_digest_len(banks[b].alg);
    const char *key = NULL;
    json_t *value = NULL;
    json_object_foreach (bank, key, value) {
        unsigned index = 0;
        CS_TRY(pcr_index(key, &index));
        CS_ENSURE(json_is_string(value), CS_E_FORMAT);
        CS_TRY(cs_hex_decode(json_string_value(value), json_string_length(value),
                             out->value[b][index], dlen));
        out->is_present[b] |= 1u << index; /* json_object rejected duplicate keys */
    }
    return CS_SUCCESS;
}

CS_RESULT cs_tpm_pcrs_parse(struct cs_cur json, struct cs_tpm_pcr_values *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    CS_AUTO_JSON *root = NULL;
    CS_TRY(cs_json_load(json, CS_TPM_PCRS_JSON_MAX, &root));
    const char *key = NULL;
    json_t *bank = NULL;
    json_object_foreach (root, key, bank) {
        size_t b = 0;
        while (b < CS_TPM_N_BANKS && strcmp(banks[b].name, key) != 0) {
            b++;
        }
        CS_ENSURE(b < CS_TPM_N_BANKS, CS_E_UNSUPPORTED);
        CS_TRY(bank_values(bank, (enum cs_tpm_bank)b, out));
    }
    return CS_SUCCESS;
}
