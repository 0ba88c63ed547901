/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the sealed cache file (cs_cache_parse, then cs_cache_open_mem with a
 * broker provider whose key sealed the seeds) and the payload checker
 * (cs_cache_payload_check on the input read as JSON). Corpus: corpus/cache/ (a valid
 * file under the key below, a tpm2 file, payloads).
 *
 * Invariants: the views lie inside the input and tile it (aad then sealed, keyref inside
 * the aad); a rejection is never a caller-bug code; opening succeeds only if the parse
 * did, and an opened payload passes the checker and names identity "fuzz"; the checker
 * never accepts a payload without an identity string.
 */
#include <string.h>

#include "client/cache.h"
#include "core/cs_json.h"
#include "fuzz_target.h"

/* The key of the seeds: bytes 0x00..0x1f. */
static const uint8_t fuzz_key[CS_CACHE_KEY_LEN] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                    22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cs_cache_key_provider *p;
    if (p == NULL && cs_cache_provider_broker(fuzz_key, &p).code != CS_OK) {
        __builtin_trap();
    }
    struct cs_cur in = cs_cur_of(data, size);

    struct cs_cache_header h;
    cs_res parsed = cs_cache_parse(in, &h);
    if (cs_ok(parsed)) {
        FUZZ_CHECK(fuzz_is_inside(h.aad, data, size) && fuzz_is_inside(h.sealed, data, size));
        FUZZ_CHECK(h.aad.p == data && h.aad.left + h.sealed.left == size);
        FUZZ_CHECK(h.sealed.p == data + h.aad.left);
        FUZZ_CHECK(h.keyref.p == data + 20 && h.keyref.left + 24 == h.aad.left);
        FUZZ_CHECK(h.keyref.left <= CS_CACHE_KEYREF_MAX && h.version == CS_CACHE_VERSION);
    } else {
        FUZZ_CHECK(fuzz_is_input_verdict(parsed.code));
    }

    json_t *out = NULL;
    cs_res r = cs_cache_open_mem(p, in, 1750000000, "fuzz", &out);
    if (cs_ok(r)) {
        FUZZ_CHECK(cs_ok(parsed) && out != NULL && cs_ok(cs_cache_payload_check(out)));
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(out, "identity")), "fuzz") == 0);
        json_decref(out);
    } else {
        FUZZ_CHECK(out == NULL && fuzz_is_input_verdict(r.code));
    }

    json_t *j = NULL;
    if (cs_ok(cs_json_load(in, CS_CACHE_PAYLOAD_MAX, &j))) {
        r = cs_cache_payload_check(j);
        if (cs_ok(r)) {
            FUZZ_CHECK(json_is_string(json_object_get(j, "identity")));
            FUZZ_CHECK(json_is_integer(json_object_get(j, "issued_at")));
        } else {
            FUZZ_CHECK(r.code == CS_E_FORMAT);
        }
        json_decref(j);
    }
    return 0;
}
