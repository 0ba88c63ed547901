/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos verify for TPM 2.0 quotes: --evidence is the TPMS_ATTEST (quote.bin), the
 * collateral directory holds signature.bin, pcrs.json and the AK trust (ak_pub.pem, or
 * ak_cert.der + ca_chain.pem + trust_anchor.pem); --nonce HEX is the expected extraData.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_hex.h"
#include "core/cs_result.h"
#include "custos/tpm.h"

#define NONCE_MAX 64 /* CS_TPM_EXTRA_DATA_MAX: no quote can carry a longer nonce */

int verify_tpm(const struct verify_opts *o)
{
    uint8_t nonce_buf[NONCE_MAX];
    struct custos_bytes nonce = { nonce_buf, 0 };
    if (o->nonce_hex != NULL) {
        size_t hex_len = strlen(o->nonce_hex);
        if (hex_len % 2 != 0 || hex_len / 2 > NONCE_MAX ||
            !cs_ok(cs_hex_decode(o->nonce_hex, hex_len, nonce_buf, hex_len / 2))) {
            fprintf(stderr, "custos verify: --nonce: at most %d bytes in hex\n", NONCE_MAX);
            return CLI_USAGE;
        }
        nonce.len = hex_len / 2;
    }
    struct custos_diag diag = { 0 };
    struct custos_tpm_dir *dir = NULL;
    cs_res r = custos_tpm_dir_load(o->collateral, &diag, &dir);
    if (!cs_ok(r)) {
        return cli_report_diag(o, &diag, r.code);
    }
    struct custos_verdict *v = NULL;
    r = custos_tpm_dir_verify(dir, o->evidence, o->evidence_len,
                              o->nonce_hex != NULL ? &nonce : NULL, o->at, &v);
    custos_tpm_dir_free(dir);
    if (v == NULL) {
        fprintf(stderr, "custos verify: %s\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    int rc = cli_print_verdict(o, v);
    custos_verdict_free(v);
    return rc;
}
