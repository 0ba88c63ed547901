/* SPDX-License-Identifier: Apache-2.0 */
/* custos verify for Intel DCAP (tdx, sgx): collateral directory + quote, or collateral alone. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_result.h"
#include "custos/dcap.h"

int verify_dcap(const struct verify_opts *o)
{
    struct custos_diag diag = { 0 };
    struct custos_dcap_collateral *coll = NULL;
    cs_res r = custos_dcap_collateral_load_dir(o->collateral, &diag, &coll);
    if (!cs_ok(r)) {
        return cli_report_diag(o, &diag, r.code);
    }
    if (o->evidence == NULL) {
        r = custos_dcap_collateral_check(coll, o->at, &diag);
        custos_dcap_collateral_free(coll);
        if (!cs_ok(r)) {
            return cli_report_diag(o, &diag, r.code);
        }
        if (o->is_json) {
            printf("{\"verified\":true,\"platform\":null,\"tcb_status\":null,"
                   "\"advisory_ids\":[],\"claims\":{}}\n");
        } else {
            printf("VERIFIED collateral\n");
        }
        return CLI_OK;
    }
    struct custos_verdict *v = NULL;
    r = custos_dcap_verify(coll, o->evidence, o->evidence_len, o->at, &v);
    custos_dcap_collateral_free(coll);
    if (v == NULL) {
        fprintf(stderr, "custos verify: %s\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    if (cs_ok(r) && o->platform != NULL && strcmp(o->platform, custos_verdict_platform(v)) != 0) {
        fprintf(stderr, "custos verify: evidence is %s, not %s\n", custos_verdict_platform(v),
                o->platform);
        custos_verdict_free(v);
        return CLI_REJECTED;
    }
    int rc = cli_print_verdict(o, v);
    custos_verdict_free(v);
    return rc;
}
