/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_qe_identity_parse + cs_qe_identity_clear (Enclave Identity v2, QE and
 * TD_QE). Corpus: corpus/qe_identity/.
 *
 * As for TCB Info: the exact bytes the signature covers ("enclaveIdentity") must parse to
 * the very value the parser used; levels stay within their ceiling; a failed parse holds
 * no reference; clearing twice is harmless.
 */
#include <jansson.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "evidence/intel_collateral.h"
#include "fuzz_target.h"

static void check_parsed(const struct cs_qe_identity *q, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(q->root != NULL);
    FUZZ_CHECK(fuzz_is_inside(q->signed_body, data, size));
    FUZZ_CHECK(q->signed_body.left >= 2 && q->signed_body.p[0] == '{' &&
               q->signed_body.p[q->signed_body.left - 1] == '}');
    CS_AUTO_JSON *alone = NULL;
    FUZZ_CHECK(cs_ok(cs_json_load(q->signed_body, CS_COLLATERAL_JSON_MAX, &alone)));
    FUZZ_CHECK(json_equal(alone, json_object_get(q->root, "enclaveIdentity")));
    FUZZ_CHECK(q->kind == CS_QE_SGX || q->kind == CS_QE_TDX);
    FUZZ_CHECK(q->n_levels >= 1 && q->n_levels <= CS_MODULE_LEVELS_MAX);
    for (size_t i = 0; i < q->n_levels; i++) {
        enum cs_tcb_status s = q->levels[i].status;
        FUZZ_CHECK(s == CS_TCB_UP_TO_DATE || s == CS_TCB_OUT_OF_DATE || s == CS_TCB_REVOKED);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) struct cs_qe_identity *q = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *q, (void **)&q)));
    cs_res r = cs_qe_identity_parse(cs_cur_of(data, size), q);
    if (cs_ok(r)) {
        check_parsed(q, data, size);
    } else {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        FUZZ_CHECK(q->root == NULL);
    }
    cs_qe_identity_clear(q);
    cs_qe_identity_clear(q);
    FUZZ_CHECK(q->root == NULL);
    return 0;
}
