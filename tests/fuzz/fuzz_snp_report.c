/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_snp_report_parse and its helpers (SEV-SNP attestation report v2/v3/v5).
 * Corpus: corpus/snp_report/ (crafted reports), plus the real reports of ../shared.
 *
 * Besides "never crash, never read outside the input", a parsed report must satisfy:
 *   - the input is exactly 1184 bytes and the signed span is its first 2A0h bytes;
 *   - the version, signature algorithm and signing key are in their allowlists, and the
 *     version-dependent parts (CPUID, mitigation vectors) are present exactly when the
 *     version defines them;
 *   - R and S convert (or are rejected as a signature failure, never anything else), and
 *     the conversion is the byte reversal of the first 48 bytes;
 *   - an exact-size copy parses identically.
 * A rejection is never CS_E_ARG or CS_E_INTERNAL (codes for caller bugs).
 */
#include <string.h>

#include "core/cs_mem.h"
#include "evidence/snp_report.h"
#include "fuzz_target.h"

static void check_fields(const struct cs_snp_report *r, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(size == CS_SNP_REPORT_LEN);
    FUZZ_CHECK(r->signed_span.p == data && r->signed_span.left == CS_SNP_SIGNED_LEN);
    FUZZ_CHECK(fuzz_is_inside(r->signed_span, data, size));
    FUZZ_CHECK(r->version == 2 || r->version == 3 || r->version == 5);
    FUZZ_CHECK(r->sig_algo == CS_SNP_SIG_ALGO_ECDSA_P384_SHA384);
    FUZZ_CHECK(r->signing_key == CS_SNP_KEY_VCEK || r->signing_key == CS_SNP_KEY_VLEK);
    FUZZ_CHECK(r->has_cpuid == (r->version >= 3));
    FUZZ_CHECK(r->has_mit_vectors == (r->version >= 5));
    FUZZ_CHECK((r->policy & CS_SNP_POLICY_RESERVED_ONE) != 0 && r->vmpl <= 3);
    FUZZ_CHECK((r->key_info & (CS_SNP_KEYINFO_RESERVED | CS_SNP_KEYINFO_MASK_CHIP_KEY)) == 0);
    FUZZ_CHECK(memcmp(r->report_data, data + 0x50, 64) == 0);
    FUZZ_CHECK(memcmp(r->chip_id, data + 0x1A0, 64) == 0);
    FUZZ_CHECK(memcmp(r->sig_r, data + 0x2A0, 72) == 0);
}

static void check_signature(const struct cs_snp_report *r)
{
    uint8_t rs[2 * CS_SNP_SIG_SCALAR_LEN];
    cs_res res = cs_snp_report_sig_rs(r, rs);
    FUZZ_CHECK(res.code == CS_OK || res.code == CS_E_SIGNATURE);
    if (res.code == CS_OK) {
        for (size_t i = 0; i < CS_SNP_SIG_SCALAR_LEN; i++) {
            FUZZ_CHECK(rs[i] == r->sig_r[CS_SNP_SIG_SCALAR_LEN - 1 - i]);
            FUZZ_CHECK(rs[CS_SNP_SIG_SCALAR_LEN + i] == r->sig_s[CS_SNP_SIG_SCALAR_LEN - 1 - i]);
        }
    }
    static const enum cs_snp_product products[] = { CS_SNP_PRODUCT_MILAN, CS_SNP_PRODUCT_GENOA,
                                                    CS_SNP_PRODUCT_TURIN };
    for (size_t i = 0; i < 3; i++) {
        struct cs_snp_tcb_parts t;
        cs_snp_tcb_split(r->reported_tcb, products[i], &t);
        FUZZ_CHECK(t.microcode == r->reported_tcb[7]);
        FUZZ_CHECK(t.has_fmc == (products[i] == CS_SNP_PRODUCT_TURIN));
    }
}

static void check_copy(const struct cs_snp_report *r, const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) uint8_t *copy = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(size, 1, (void **)&copy)));
    memcpy(copy, data, size);
    struct cs_snp_report again;
    FUZZ_CHECK(cs_ok(cs_snp_report_parse(copy, size, &again)));
    FUZZ_CHECK(again.version == r->version && again.policy == r->policy &&
               again.key_info == r->key_info && again.platform_info == r->platform_info);
    FUZZ_CHECK(again.launch_mit_vector == r->launch_mit_vector &&
               again.current_mit_vector == r->current_mit_vector);
    FUZZ_CHECK(memcmp(again.measurement, r->measurement, sizeof r->measurement) == 0);
    FUZZ_CHECK(memcmp(again.launch_tcb, r->launch_tcb, sizeof r->launch_tcb) == 0);
    FUZZ_CHECK(memcmp(again.sig_s, r->sig_s, sizeof r->sig_s) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_snp_report r;
    cs_res res = cs_snp_report_parse(data, size, &r);
    if (!cs_ok(res)) {
        FUZZ_CHECK(fuzz_is_input_verdict(res.code));
        return 0;
    }
    check_fields(&r, data, size);
    check_signature(&r);
    check_copy(&r, data, size);
    return 0;
}
