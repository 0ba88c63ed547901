/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_tpm_attest_parse (TPMS_ATTEST quotes). Corpus: corpus/tpm_attest/.
 *
 * Besides "never crash, never read outside the input", a parsed quote must satisfy:
 *   - the signed span is the whole input, and every view lies inside it, in field order;
 *   - the sizes add up: 6 + (2 + name) + (2 + extra) + 17 + 8 + 4 + sum(3 + sizeofSelect)
 *     + (2 + digest) == size, each within its ceiling;
 *   - banks are distinct, of the allowed hashes, sizeofSelect <= 4, octets past it zero;
 *   - an exact-size copy parses to the same fields.
 */
#include <string.h>

#include "core/cs_mem.h"
#include "evidence/tpm_attest.h"
#include "fuzz_target.h"

static void check_layout(const struct cs_tpm_attest *a, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(a->signed_span.p == data && a->signed_span.left == size);
    FUZZ_CHECK(fuzz_is_inside(a->qualified_signer, data, size));
    FUZZ_CHECK(fuzz_is_inside(a->extra_data, data, size));
    FUZZ_CHECK(fuzz_is_inside(a->pcr_digest, data, size));
    FUZZ_CHECK(a->qualified_signer.p == data + 8);
    FUZZ_CHECK(a->extra_data.p == a->qualified_signer.p + a->qualified_signer.left + 2);
    FUZZ_CHECK(a->qualified_signer.left <= CS_TPM_NAME_MAX);
    FUZZ_CHECK(a->extra_data.left <= CS_TPM_EXTRA_DATA_MAX);
    FUZZ_CHECK(a->pcr_digest.left <= CS_TPM_DIGEST_MAX);
    size_t total = 6 + 2 + a->qualified_signer.left + 2 + a->extra_data.left + 17 + 8 + 4 + 2 +
                   a->pcr_digest.left;
    FUZZ_CHECK(a->n_banks <= CS_TPM_BANKS_MAX);
    for (uint32_t i = 0; i < a->n_banks; i++) {
        const struct cs_tpm_pcr_bank *b = &a->banks[i];
        FUZZ_CHECK(cs_tpm_alg_digest_len(b->hash_alg) != 0);
        FUZZ_CHECK(b->size_of_select <= CS_TPM_PCR_SELECT_MAX);
        for (size_t j = b->size_of_select; j < CS_TPM_PCR_SELECT_MAX; j++) {
            FUZZ_CHECK(b->pcr_select[j] == 0);
        }
        for (uint32_t k = 0; k < i; k++) {
            FUZZ_CHECK(a->banks[k].hash_alg != b->hash_alg);
        }
        total += 3 + b->size_of_select;
    }
    FUZZ_CHECK(total == size);
    FUZZ_CHECK(a->pcr_digest.p + a->pcr_digest.left == data + size);
    FUZZ_CHECK(a->magic == CS_TPM_GENERATED_VALUE && a->type == CS_TPM_ST_ATTEST_QUOTE);
}

static void check_exact_copy(const struct cs_tpm_attest *a, const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) uint8_t *copy = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(size, 1, (void **)&copy)));
    memcpy(copy, data, size);
    struct cs_tpm_attest again;
    FUZZ_CHECK(cs_ok(cs_tpm_attest_parse(copy, size, &again)));
    FUZZ_CHECK(again.clock == a->clock && again.firmware_version == a->firmware_version);
    FUZZ_CHECK(again.reset_count == a->reset_count && again.restart_count == a->restart_count);
    FUZZ_CHECK(again.is_safe == a->is_safe && again.n_banks == a->n_banks);
    FUZZ_CHECK(memcmp(again.banks, a->banks, sizeof a->banks) == 0);
    FUZZ_CHECK(again.extra_data.left == a->extra_data.left);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_tpm_attest a;
    cs_res r = cs_tpm_attest_parse(data, size, &a);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    check_layout(&a, data, size);
    check_exact_copy(&a, data, size);
    return 0;
}
