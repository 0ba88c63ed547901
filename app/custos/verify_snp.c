/* SPDX-License-Identifier: Apache-2.0 */
/* custos verify for AMD SEV-SNP: collateral directory + report (binary or KBS JSON). */
#include <stdio.h>

#include "cli.h"
#include "core/cs_result.h"
#include "custos/snp.h"

int verify_snp(const struct verify_opts *o)
{
    if (o->evidence == NULL) {
        fprintf(stderr, "custos verify: --evidence is required for snp\n");
        return CLI_USAGE;
    }
    if (o->nonce_hex != NULL) {
        /* never ignore a check that was asked for: SNP binds data through REPORT_DATA,
         * which the verdict carries as claims.report_data for policy to compare */
        fprintf(stderr, "custos verify: --nonce is not supported for snp; compare "
                        "claims.report_data\n");
        return CLI_USAGE;
    }
    struct custos_diag diag = { 0 };
    struct custos_snp_collateral *coll = NULL;
    cs_res r = custos_snp_collateral_load_dir(o->collateral, &diag, &coll);
    if (!cs_ok(r)) {
        return cli_report_diag(o, &diag, r.code);
    }
    struct custos_verdict *v = NULL;
    r = custos_snp_verify(coll, o->evidence, o->evidence_len, o->at, &v);
    custos_snp_collateral_free(coll);
    if (v == NULL) {
        fprintf(stderr, "custos verify: %s\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    int rc = cli_print_verdict(o, v);
    custos_verdict_free(v);
    return rc;
}
