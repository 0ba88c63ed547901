/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_tpm_pcrs_parse (pcrs.json). Corpus: corpus/tpm_pcrs/.
 *
 * A parsed table must round-trip: written back as canonical JSON (lower-case hex, the
 * bank's digest size) and parsed again, it is the same table. So what a verifier hashes is
 * exactly what the document said, whatever its spelling (case of hex digits, order, space).
 */
#include <stdio.h>
#include <string.h>

#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "evidence/tpm_pcrs.h"
#include "fuzz_target.h"

static const uint16_t bank_alg[CS_TPM_N_BANKS] = { CS_TPM_ALG_SHA1, CS_TPM_ALG_SHA256,
                                                   CS_TPM_ALG_SHA384 };

/* Canonical JSON of a table into out (cap bytes); returns its length. */
static size_t write_table(const struct cs_tpm_pcr_values *pv, char *out, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, cap - n, "{");
    for (size_t b = 0; b < CS_TPM_N_BANKS; b++) {
        size_t dlen = cs_tpm_alg_digest_len(bank_alg[b]);
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":{", b ? "," : "",
                              cs_tpm_alg_name(bank_alg[b]));
        bool is_first = true;
        for (unsigned i = 0; i < CS_TPM_PCRS_PER_BANK; i++) {
            if ((pv->is_present[b] >> i & 1u) == 0) {
                continue;
            }
            char hex[2 * 48 + 1];
            FUZZ_CHECK(cs_ok(cs_hex_encode(pv->value[b][i], dlen, hex, sizeof hex)));
            n += (size_t)snprintf(out + n, cap - n, "%s\"%u\":\"%s\"", is_first ? "" : ",", i, hex);
            is_first = false;
        }
        n += (size_t)snprintf(out + n, cap - n, "}");
    }
    n += (size_t)snprintf(out + n, cap - n, "}");
    FUZZ_CHECK(n < cap);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) struct cs_tpm_pcr_values *pv = NULL;
    CS_AUTO(cs_freep) struct cs_tpm_pcr_values *again = NULL;
    CS_AUTO(cs_freep) char *text = NULL;
    size_t cap = 3 * (16 + CS_TPM_PCRS_PER_BANK * (8 + 2 * 48));
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *pv, (void **)&pv)));
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *again, (void **)&again)));
    FUZZ_CHECK(cs_ok(cs_alloc(cap, 1, (void **)&text)));
    cs_res r = cs_tpm_pcrs_parse(cs_cur_of(data, size), pv);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    size_t n = write_table(pv, text, cap);
    FUZZ_CHECK(cs_ok(cs_tpm_pcrs_parse(cs_cur_of((const uint8_t *)text, n), again)));
    for (size_t b = 0; b < CS_TPM_N_BANKS; b++) {
        FUZZ_CHECK(again->is_present[b] == pv->is_present[b]);
        size_t dlen = cs_tpm_alg_digest_len(bank_alg[b]);
        for (unsigned i = 0; i < CS_TPM_PCRS_PER_BANK; i++) {
            if (pv->is_present[b] >> i & 1u) {
                FUZZ_CHECK(memcmp(again->value[b][i], pv->value[b][i], dlen) == 0);
            }
        }
    }
    return 0;
}
