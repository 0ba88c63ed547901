/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's parser of the broker's state answers (GET /custos/v1/state/<object>): from the
 * agent's side the broker is untrusted. cs_state_read_parse then cs_state_read_verify under a
 * fixed log key: whatever the bytes, no crash, nothing held after a failure, and nothing
 * verifies (the fuzzer cannot sign a checkpoint with the key below).
 */
#include <string.h>

#include "client/client_int.h"
#include "core/cs_json.h"
#include "fuzz_target.h"

static const char *const vkey =
    "custos.local/log+2cef6c63+Af4UFw6iTdpsjyYgQFyH1uZTgFSmgNBwyqFVPcE0BlbI";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    if (!cs_ok(cs_json_load((struct cs_cur){ .p = data, .left = size }, 1u << 20, &doc))) {
        return 0;
    }
    struct cs_state_read r;
    memset(&r, 0, sizeof r);
    struct custos_diag diag = { 0 };
    if (cs_ok(cs_state_read_parse(doc, "agent.cfg", &diag, &r))) {
        const char *keys[] = { vkey };
        struct custos_tlog_policy pol = { .log_vkeys = keys, .n_log_vkeys = 1 };
        struct custos_checkpoint cp;
        FUZZ_CHECK(!cs_ok(cs_state_read_verify(&r, "agent.cfg", &pol, &diag, &cp)));
    }
    cs_state_read_clear(&r);
    json_decref(doc);
    return 0;
}
