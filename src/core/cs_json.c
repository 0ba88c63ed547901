/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers over jansson, and the exact-bytes member scanner. */
#include "core/cs_json.h"

#include <string.h>

#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"

#define CS_JSON_HEX_MAX 256 /* bytes; claims hold at most 64 */

void cs_json_decrefp(json_t **p)
{
    json_decref(*p);
    *p = NULL;
}

CS_RESULT cs_json_load(struct cs_cur in, size_t max, json_t **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(in.left <= max, CS_E_TOO_LARGE);
    CS_ENSURE(in.left > 0, CS_E_TRUNCATED);
    json_error_t err;
    json_t *j = json_loadb((const char *)in.p, in.left, JSON_REJECT_DUPLICATES, &err);
    CS_ENSURE(j != NULL, CS_E_FORMAT);
    if (!json_is_object(j)) {
        json_decref(j);
        CS_FAIL(CS_E_FORMAT);
    }
    *out = j;
    return CS_SUCCESS;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(struct cs_cur *c)
{
    while (c->left > 0 && is_ws(c->p[0])) {
        c->p++;
        c->left--;
    }
}

/* Skips a string starting at its opening quote; *raw is its content without quotes. */
static cs_res skip_string(struct cs_cur *c, struct cs_cur *raw)
{
    CS_ENSURE(c->left > 0 && c->p[0] == '"', CS_E_FORMAT);
    struct cs_cur start = *c;
    size_t i = 1;
    while (i < c->left && c->p[i] != '"') {
        i += c->p[i] == '\\' ? 2 : 1;
    }
    CS_ENSURE(i < c->left, CS_E_FORMAT);
    if (raw != NULL) {
        *raw = (struct cs_cur){ start.p + 1, i - 1 };
    }
    return cs_cur_skip(c, i + 1);
}

static cs_res skip_value(struct cs_cur *c)
{
    CS_ENSURE(c->left > 0, CS_E_FORMAT);
    if (c->p[0] == '"') {
        return skip_string(c, NULL);
    }
    if (c->p[0] != '{' && c->p[0] != '[') {
        while (c->left > 0 && !is_ws(c->p[0]) && c->p[0] != ',' && c->p[0] != '}' &&
               c->p[0] != ']') {
            CS_TRY(cs_cur_skip(c, 1));
        }
        return CS_SUCCESS;
    }
    size_t depth = 0;
    do {
        CS_ENSURE(c->left > 0, CS_E_FORMAT);
        uint8_t b = c->p[0];
        if (b == '"') {
            CS_TRY(skip_string(c, NULL));
            continue;
        }
        if (b == '{' || b == '[') {
            depth++;
        } else if (b == '}' || b == ']') {
            CS_ENSURE(depth > 0, CS_E_FORMAT);
            depth--;
        }
        CS_TRY(cs_cur_skip(c, 1));
    } while (depth > 0);
    return CS_SUCCESS;
}

CS_RESULT cs_json_member_span(struct cs_cur doc, const char *key, struct cs_cur *value)
{
    CS_ENSURE(key != NULL && value != NULL, CS_E_ARG);
    size_t key_len = strlen(key);
    struct cs_cur c = doc;
    skip_ws(&c);
    CS_ENSURE(c.left > 0 && c.p[0] == '{', CS_E_FORMAT);
    CS_TRY(cs_cur_skip(&c, 1));
    for (;;) {
        skip_ws(&c);
        CS_ENSURE(c.left > 0 && c.p[0] != '}', CS_E_FORMAT); /* not found */
        struct cs_cur k;
        CS_TRY(skip_string(&c, &k));
        skip_ws(&c);
        CS_ENSURE(c.left > 0 && c.p[0] == ':', CS_E_FORMAT);
        CS_TRY(cs_cur_skip(&c, 1));
        skip_ws(&c);
        struct cs_cur start = c;
        CS_TRY(skip_value(&c));
        if (k.left == key_len && memcmp(k.p, key, key_len) == 0) {
            *value = (struct cs_cur){ start.p, start.left - c.left };
            return CS_SUCCESS;
        }
        skip_ws(&c);
        CS_ENSURE(c.left > 0 && c.p[0] == ',', CS_E_FORMAT);
        CS_TRY(cs_cur_skip(&c, 1));
    }
}

CS_RESULT cs_json_get_obj(const json_t *obj, const char *key, json_t **out)
{
    CS_ENSURE(out != NULL && key != NULL, CS_E_ARG);
    json_t *v = json_object_get(obj, key);
    CS_ENSURE(json_is_object(v), CS_E_FORMAT);
    *out = v;
    return CS_SUCCESS;
}

CS_RESULT cs_json_get_arr(const json_t *obj, const char *key, size_t max_n, json_t **out)
{
    CS_ENSURE(out != NULL && key != NULL, CS_E_ARG);
    json_t *v = json_object_get(obj, key);
    CS_ENSURE(json_is_array(v), CS_E_FORMAT);
    CS_ENSURE(json_array_size(v) <= max_n, CS_E_TOO_LARGE);
    *out = v;
    return CS_SUCCESS;
}

CS_RESULT cs_json_get_str(const json_t *obj, const char *key, size_t max_len, const char **s,
                          size_t *len)
{
    CS_ENSURE(s != NULL && key != NULL, CS_E_ARG);
    json_t *v = json_object_get(obj, key);
    CS_ENSURE(json_is_string(v), CS_E_FORMAT);
    size_t n = json_string_length(v);
    CS_ENSURE(n <= max_len, CS_E_TOO_LARGE);
    *s = json_string_value(v);
    if (len != NULL) {
        *len = n;
    }
    return CS_SUCCESS;
}

CS_RESULT cs_json_get_uint(const json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
    CS_ENSURE(out != NULL && key != NULL, CS_E_ARG);
    json_t *v = json_object_get(obj, key);
    CS_ENSURE(json_is_integer(v), CS_E_FORMAT);
    json_int_t i = json_integer_value(v);
    CS_ENSURE(i >= 0 && (uint64_t)i <= max, CS_E_FORMAT);
    *out = (uint64_t)i;
    return CS_SUCCESS;
}

CS_RESULT cs_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
    const char *s = NULL;
    size_t len = 0;
    CS_TRY(cs_json_get_str(obj, key, 2 * n, &s, &len));
    return cs_hex_decode(s, len, out, n);
}

CS_RESULT cs_json_get_time(const json_t *obj, const char *key, int64_t *out)
{
    const char *s = NULL;
    size_t len = 0;
    CS_TRY(cs_json_get_str(obj, key, 64, &s, &len));
    return cs_time_parse(s, len, out);
}

CS_RESULT cs_json_set_new(json_t *obj, const char *key, json_t *value)
{
    CS_ENSURE(value != NULL, CS_E_NOMEM);
    CS_ENSURE(json_object_set_new(obj, key, value) == 0, CS_E_NOMEM);
    return CS_SUCCESS;
}

CS_RESULT cs_json_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    CS_ENSURE(n <= CS_JSON_HEX_MAX, CS_E_ARG);
    char hex[2 * CS_JSON_HEX_MAX + 1]; /* on the stack: no heap round trip per claim */
    CS_TRY(cs_hex_encode(p, n, hex, sizeof hex));
    /* lower-case hex is ASCII, so jansson's UTF-8 validation can be skipped */
    return cs_json_set_new(obj, key, json_stringn_nocheck(hex, 2 * n));
}
