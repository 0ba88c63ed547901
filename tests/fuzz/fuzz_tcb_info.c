/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_tcb_info_parse + cs_tcb_info_clear (Intel TCB Info v2/v3 documents).
 * Corpus: corpus/tcb_info/.
 *
 * The signature of a TCB Info covers the exact bytes of its "tcbInfo" member, which the
 * parser finds with its own scanner. The invariant that matters most for security: those
 * bytes, parsed on their own, are the same JSON value jansson gave the parser, so what is
 * verified is what is used. Also: counts stay within their ceilings, a failed parse holds
 * no reference, and clearing twice is harmless.
 */
#include <jansson.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "evidence/intel_collateral.h"
#include "fuzz_target.h"

static void check_signed_body(const json_t *root, struct cs_cur body, const uint8_t *data,
                              size_t size)
{
    FUZZ_CHECK(fuzz_is_inside(body, data, size));
    FUZZ_CHECK(body.left >= 2 && body.p[0] == '{' && body.p[body.left - 1] == '}');
    CS_AUTO_JSON *alone = NULL;
    FUZZ_CHECK(cs_ok(cs_json_load(body, CS_COLLATERAL_JSON_MAX, &alone)));
    FUZZ_CHECK(json_equal(alone, json_object_get(root, "tcbInfo")));
}

static void check_parsed(const struct cs_tcb_info *t, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(t->root != NULL);
    check_signed_body(t->root, t->signed_body, data, size);
    FUZZ_CHECK(t->version == 2 || t->version == 3);
    FUZZ_CHECK(!t->is_tdx || (t->version == 3 && t->has_tdx_module));
    FUZZ_CHECK(t->n_levels >= 1 && t->n_levels <= CS_TCB_LEVELS_MAX);
    FUZZ_CHECK(t->n_module_ids <= CS_TDX_MODULE_IDS_MAX);
    for (size_t i = 0; i < t->n_module_ids; i++) {
        const struct cs_tdx_module_identity *mi = &t->module_ids[i];
        FUZZ_CHECK(mi->n_levels >= 1 && mi->n_levels <= CS_MODULE_LEVELS_MAX);
        FUZZ_CHECK(memchr(mi->id, '\0', sizeof mi->id) != NULL);
    }
    for (size_t i = 0; i < t->n_levels; i++) {
        FUZZ_CHECK(t->levels[i].status <= CS_TCB_REVOKED);
        FUZZ_CHECK(t->levels[i].advisory_ids == NULL || json_is_array(t->levels[i].advisory_ids));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) struct cs_tcb_info *t = NULL; /* large: kept off the stack */
    FUZZ_CHECK(cs_ok(cs_alloc(1, sizeof *t, (void **)&t)));
    cs_res r = cs_tcb_info_parse(cs_cur_of(data, size), t);
    if (cs_ok(r)) {
        check_parsed(t, data, size);
    } else {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        FUZZ_CHECK(t->root == NULL);
    }
    cs_tcb_info_clear(t);
    cs_tcb_info_clear(t); /* a second clear does nothing */
    FUZZ_CHECK(t->root == NULL);
    return 0;
}
