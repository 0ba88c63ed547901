/* SPDX-License-Identifier: Apache-2.0 */
/* custos verify for AWS Nitro Enclaves: collateral directory (trust_anchor.pem) + document. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_hex.h"
#include "core/cs_result.h"
#include "custos/nitro.h"

#define NONCE_MAX 1024 /* the document's nonce holds at most 1024 bytes */

int verify_nitro(const struct verify_opts *o)
{
    uint8_t nonce[NONCE_MAX];
    size_t nonce_len = 0;
    if (o->nonce_hex != NULL) {
        size_t hex_len = strlen(o->nonce_hex);
        if (hex_len % 2 != 0 || hex_len / 2 > sizeof nonce ||
            !cs_ok(cs_hex_decode(o->nonce_hex, hex_len, nonce, hex_len / 2))) {
            fprintf(stderr, "custos verify: --nonce: expected up to %d bytes of hex\n",
                    NONCE_MAX);
            return CLI_USAGE;
        }
        nonce_len = hex_len / 2;
    }
    struct custos_diag diag = { 0 };
    struct custos_nitro_collateral *coll = NULL;
    cs_res r = custos_nitro_collateral_load_dir(o->collateral, &diag, &coll);
    if (!cs_ok(r)) {
        return cli_report_diag(o, &diag, r.code);
    }
    struct custos_verdict *v = NULL;
    r = custos_nitro_verify(coll, o->evidence, o->evidence_len,
                            o->nonce_hex != NULL ? nonce : NULL, nonce_len, o->at, &v);
    custos_nitro_collateral_free(coll);
    if (v == NULL) {
        fprintf(stderr, "custos verify: %s\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    int rc = cli_print_verdict(o, v);
    custos_verdict_free(v);
    return rc;
}
