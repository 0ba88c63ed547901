/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_tpm_signature_parse (TPMT_SIGNATURE). Corpus: corpus/tpm_signature/.
 *
 * A parsed signature must have an allowed scheme and hash, non-empty values within their
 * ceilings, views inside the input in field order, and sizes that add up to the input:
 * 4 + 2 + sig (RSA) or 4 + 2 + r + 2 + s (ECDSA) == size.
 */
#include "evidence/tpm_attest.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_tpm_signature s;
    cs_res r = cs_tpm_signature_parse(data, size, &s);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    FUZZ_CHECK(s.hash_alg == CS_TPM_ALG_SHA256 || s.hash_alg == CS_TPM_ALG_SHA384);
    switch (s.sig_alg) {
    case CS_TPM_ALG_RSASSA:
    case CS_TPM_ALG_RSAPSS:
        FUZZ_CHECK(s.rsa.left > 0 && s.rsa.left <= CS_TPM_RSA_SIG_MAX);
        FUZZ_CHECK(s.rsa.p == data + 6 && 6 + s.rsa.left == size);
        FUZZ_CHECK(s.ecc_r.left == 0 && s.ecc_s.left == 0);
        break;
    case CS_TPM_ALG_ECDSA:
        FUZZ_CHECK(s.ecc_r.left > 0 && s.ecc_r.left <= CS_TPM_ECC_PARAM_MAX);
        FUZZ_CHECK(s.ecc_s.left > 0 && s.ecc_s.left <= CS_TPM_ECC_PARAM_MAX);
        FUZZ_CHECK(s.ecc_r.p == data + 6);
        FUZZ_CHECK(s.ecc_s.p == s.ecc_r.p + s.ecc_r.left + 2);
        FUZZ_CHECK(fuzz_is_inside(s.ecc_s, data, size));
        FUZZ_CHECK(6 + s.ecc_r.left + 2 + s.ecc_s.left == size);
        FUZZ_CHECK(s.rsa.left == 0);
        break;
    default:
        FUZZ_CHECK(false);
    }
    return 0;
}
