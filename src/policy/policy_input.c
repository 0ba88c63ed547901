/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evaluation input built from a verdict object (docs/claims.md): what `custos policy
 * eval` does with the output of `custos verify --json`. Only a verified verdict passes;
 * what the verdict cannot know (whether the broker's nonce was bound, whether the trust
 * root was a development one) is the caller's to say.
 */
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "policy/policy_internal.h"

CS_RESULT cs_policy_input_from_verdict(const json_t *verdict, bool is_fresh, bool is_development,
                                       json_t **out)
{
    CS_ENSURE(out != NULL && verdict != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(json_is_object(verdict), CS_E_FORMAT);
    const json_t *verified = json_object_get(verdict, "verified");
    CS_ENSURE(json_is_boolean(verified), CS_E_FORMAT);
    CS_ENSURE(json_is_true(verified), CS_E_POLICY); /* unverified claims never reach policy */
    const json_t *platform = json_object_get(verdict, "platform");
    CS_ENSURE(json_is_string(platform) && pol_platform_bit(json_string_value(platform)) != 0,
              CS_E_FORMAT);
    const json_t *claims = json_object_get(verdict, "claims");
    CS_ENSURE(json_is_object(claims), CS_E_FORMAT);

    CS_AUTO_JSON *in = json_pack("{s:s, s:o, s:{s:b}, s:b}", "platform",
                                 json_string_value(platform), "claims", json_deep_copy(claims),
                                 "freshness", "nonce", is_fresh, "development", is_development);
    CS_ENSURE(in != NULL, CS_E_NOMEM);
    const json_t *tcb = json_object_get(verdict, "tcb_status");
    if (json_is_string(tcb)) {
        CS_TRY(cs_json_set_new(in, "tcb_status", json_string(json_string_value(tcb))));
    }
    const json_t *debug = json_object_get(claims, "debug");
    if (json_is_boolean(debug)) {
        CS_TRY(cs_json_set_new(in, "debug", json_boolean(json_is_true(debug))));
    }
    *out = CS_MOVE(in);
    return CS_SUCCESS;
}
