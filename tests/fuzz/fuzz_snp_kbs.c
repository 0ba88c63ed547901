/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_snp_kbs_parse (the KBS-protocol JSON of an SNP report and its
 * cert_chain) and the parse of the report it re-encodes. Corpus: corpus/snp_kbs/.
 *
 * Invariants beyond "no crash, no leak": a rejection is never CS_E_ARG/CS_E_INTERNAL and
 * leaves no certificates behind; an accepted document keeps at most one certificate of
 * each type, each within CS_SNP_CERT_DER_MAX; the re-encoded report is judged by
 * cs_snp_report_parse like any binary report (with an input verdict), and converting the
 * same bytes twice gives the same report (the converter is a function of its input).
 */
#include <string.h>

#include "core/cs_mem.h"
#include "evidence/snp_kbs.h"
#include "evidence/snp_report.h"
#include "fuzz_target.h"

static void check_certs(const struct cs_snp_kbs *k)
{
    FUZZ_CHECK(k->n_certs <= CS_SNP_KBS_CERTS_MAX);
    for (size_t i = 0; i < k->n_certs; i++) {
        FUZZ_CHECK(k->certs[i].len <= CS_SNP_CERT_DER_MAX);
        FUZZ_CHECK(k->certs[i].type >= CS_SNP_CERT_ARK && k->certs[i].type <= CS_SNP_CERT_VLEK);
        for (size_t j = 0; j < i; j++) {
            FUZZ_CHECK(k->certs[i].type != k->certs[j].type);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) struct cs_snp_kbs *k = NULL;
    CS_AUTO(cs_freep) struct cs_snp_kbs *again = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *k, (void **)&k)));
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *again, (void **)&again)));
    cs_res r = cs_snp_kbs_parse(data, size, k);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        FUZZ_CHECK(k->n_certs == 0);
        return 0;
    }
    check_certs(k);
    struct cs_snp_report rep;
    cs_res pr = cs_snp_report_parse(k->report, sizeof k->report, &rep);
    FUZZ_CHECK(cs_ok(pr) || fuzz_is_input_verdict(pr.code));
    FUZZ_CHECK(cs_ok(cs_snp_kbs_parse(data, size, again)));
    FUZZ_CHECK(memcmp(again->report, k->report, sizeof k->report) == 0);
    FUZZ_CHECK(again->n_certs == k->n_certs);
    return 0;
}
