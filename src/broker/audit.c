/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/audit.h"

#include <string.h>

#include "core/cs_buf.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "tlog/log.h"

CS_RESULT cs_audit_append(struct cs_log *log, bool is_development, int64_t now, json_t *rec,
                          uint64_t *index)
{
    CS_AUTO(cs_json_decrefp) json_t *r = rec;
    CS_ENSURE(r != NULL && json_is_object(r), CS_E_ARG);
    char ts[CS_TIME_TEXT_LEN];
    CS_TRY(cs_time_format(now, ts));
    CS_TRY(cs_json_set_new(r, "v", json_integer(1)));
    CS_TRY(cs_json_set_new(r, "time", json_string(ts)));
    if (is_development) {
        CS_TRY(cs_json_set_new(r, "development", json_true()));
    }
    struct cs_buf b;
    cs_buf_init(&b, CS_LOG_ENTRY_MAX);
    cs_res res = cs_jcs_encode(r, &b);
    if (cs_ok(res)) {
        res = cs_log_append(log, (struct cs_cur){ .p = b.p, .left = b.len }, index);
    }
    cs_buf_clear(&b);
    return res;
}

/* Members each record type must carry (beyond v, type, time). */
static const struct {
    const char *type;
    const char *members[7];
} schema[] = {
    { "auth", { "session", "tee", "outcome", NULL } },
    { "attest", { "session", "tee", "outcome", "evidence_sha256", "policy", NULL } },
    { "release", { "session", "resource", "resource_version", "attest_index", "identity", NULL } },
    { "deny", { "action", "resource", "reason", NULL } },
    { "admin", { "actor", "op", "target", NULL } },
    { "key", { "event", NULL } },
    { "state", { "session", "op", "object", "version", "ciphertext_sha256", NULL } },
    { "token", { "session", "audience", "jti", "attest_index", NULL } },
};

CS_RESULT cs_audit_parse(const uint8_t *entry, size_t len, json_t **rec, const char **type)
{
    CS_AUTO(cs_json_decrefp) json_t *r = NULL;
    CS_TRY(cs_json_load((struct cs_cur){ .p = entry, .left = len }, CS_LOG_ENTRY_MAX, &r));
    CS_ENSURE(json_is_object(r), CS_E_FORMAT);
    /* canonical: re-encoding gives the same bytes */
    struct cs_buf b;
    cs_buf_init(&b, CS_LOG_ENTRY_MAX);
    cs_res res = cs_jcs_encode(r, &b);
    bool is_canonical = cs_ok(res) && b.len == len && memcmp(b.p, entry, len) == 0;
    cs_buf_clear(&b);
    CS_TRY(res);
    CS_ENSURE(is_canonical, CS_E_FORMAT);
    json_t *v = json_object_get(r, "v");
    CS_ENSURE(json_is_integer(v) && json_integer_value(v) == 1, CS_E_UNSUPPORTED);
    const char *t = NULL;
    const char *ts = NULL;
    CS_TRY(cs_json_get_str(r, "type", 32, &t, NULL));
    CS_TRY(cs_json_get_str(r, "time", CS_TIME_TEXT_LEN, &ts, NULL));
    int64_t when = 0;
    CS_TRY(cs_time_parse(ts, strlen(ts), &when));
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
        if (strcmp(schema[i].type, t) != 0) {
            continue;
        }
        for (size_t m = 0; schema[i].members[m] != NULL; m++) {
            CS_ENSURE(json_object_get(r, schema[i].members[m]) != NULL, CS_E_FORMAT);
        }
        *type = t;
        *rec = CS_MOVE(r);
        return CS_SUCCESS;
    }
    CS_FAIL(CS_E_UNSUPPORTED);
}
