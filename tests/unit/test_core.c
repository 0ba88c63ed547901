/* SPDX-License-Identifier: Apache-2.0 */
/* Core: bounded cursor, hex, RFC 3339 time, JSON helpers and the exact-bytes scanner. */
#include <jansson.h>

#include "core/cs_cur.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "cs_test.h"

static void test_cur_reads_and_bounds(void)
{
    static const uint8_t b[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
    struct cs_cur c = cs_cur_of(b, sizeof b);
    uint16_t v16 = 0;
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    EXPECT_OK(cs_cur_u16le(&c, &v16));
    EXPECT_EQ(v16, 0x0201);
    EXPECT_OK(cs_cur_u16be(&c, &v16));
    EXPECT_EQ(v16, 0x0304);
    EXPECT_OK(cs_cur_u32le(&c, &v32));
    EXPECT_EQ(v32, 0x08070605u);
    EXPECT_EQ(c.left, 1);
    /* a failed read moves nothing */
    EXPECT_ERR(cs_cur_u64le(&c, &v64), CS_E_TRUNCATED);
    EXPECT_EQ(c.left, 1);
    EXPECT_ERR(cs_cur_end(&c), CS_E_TRAILING);
    EXPECT_OK(cs_cur_skip(&c, 1));
    EXPECT_OK(cs_cur_end(&c));
    struct cs_cur d = cs_cur_of(b, sizeof b);
    struct cs_cur sub;
    EXPECT_ERR(cs_cur_view(&d, sizeof b + 1, &sub), CS_E_TRUNCATED);
    EXPECT_ERR(cs_cur_view(&d, SIZE_MAX, &sub), CS_E_TRUNCATED);
    EXPECT_OK(cs_cur_view(&d, 3, &sub));
    EXPECT_EQ(sub.left, 3);
    EXPECT_TRUE(sub.p == b);
    size_t off = 0;
    EXPECT_OK(cs_cur_offset(cs_cur_of(b, sizeof b), d, &off));
    EXPECT_EQ(off, 3);
    EXPECT_OK(cs_cur_find(cs_cur_of(b, sizeof b), "\x05\x06", 2, &off));
    EXPECT_EQ(off, 4);
    EXPECT_ERR(cs_cur_find(cs_cur_of(b, sizeof b), "\x06\x05", 2, &off), CS_E_FORMAT);
    struct cs_cur empty = cs_cur_of(NULL, 0);
    EXPECT_ERR(cs_cur_u8(&empty, &(uint8_t){ 0 }), CS_E_TRUNCATED);
    EXPECT_OK(cs_cur_u64be(&(struct cs_cur){ b, 8 }, &v64));
    EXPECT_EQ(v64, 0x0102030405060708ull);
}

static void test_hex(void)
{
    uint8_t out[3];
    char text[7];
    EXPECT_OK(cs_hex_decode("0aFf10", 6, out, 3));
    EXPECT_MEM_EQ(out, "\x0a\xff\x10", 3);
    EXPECT_OK(cs_hex_encode(out, 3, text, sizeof text));
    EXPECT_STR_EQ(text, "0aff10");
    EXPECT_ERR(cs_hex_decode("0aFf1", 5, out, 3), CS_E_FORMAT);
    EXPECT_ERR(cs_hex_decode("0aFf1g", 6, out, 3), CS_E_FORMAT);
    EXPECT_ERR(cs_hex_decode("0aFf10aa", 8, out, 3), CS_E_FORMAT);
    EXPECT_ERR(cs_hex_encode(out, 3, text, 6), CS_E_ARG);
}

static void test_time(void)
{
    int64_t t = 0;
    char text[CS_TIME_TEXT_LEN];
    EXPECT_OK(cs_time_parse("1970-01-01T00:00:00Z", 20, &t));
    EXPECT_EQ(t, 0);
    EXPECT_OK(cs_time_parse("2025-07-19T10:00:34Z", 20, &t));
    EXPECT_EQ(t, 1752919234);
    EXPECT_OK(cs_time_format(t, text));
    EXPECT_STR_EQ(text, "2025-07-19T10:00:34Z");
    EXPECT_OK(cs_time_parse("2025-07-19T12:00:34.123+02:00", 29, &t));
    EXPECT_EQ(t, 1752919234);
    EXPECT_OK(cs_time_parse("2024-02-29T23:59:59z", 20, &t));
    EXPECT_OK(cs_time_format(t, text));
    EXPECT_STR_EQ(text, "2024-02-29T23:59:59Z");
    EXPECT_OK(cs_time_parse("1969-12-31T23:59:59Z", 20, &t));
    EXPECT_EQ(t, -1);
    EXPECT_OK(cs_time_format(-1, text));
    EXPECT_STR_EQ(text, "1969-12-31T23:59:59Z");
    EXPECT_ERR(cs_time_parse("2023-02-29T00:00:00Z", 20, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-13-01T00:00:00Z", 20, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-01-01T24:00:00Z", 20, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-01-01T00:00:00", 19, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-01-01T00:00:00Zx", 21, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-01-01T00:00:00+0100", 24, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("2023-01-01T00:00:00.Z", 21, &t), CS_E_FORMAT);
    EXPECT_ERR(cs_time_parse("+023-01-01T00:00:00Z", 20, &t), CS_E_FORMAT);
    /* round trip over a spread of instants */
    for (int64_t x = -86400 * 366; x < 86400LL * 365 * 400; x += 86400 * 7 + 3607) {
        int64_t back = 0;
        EXPECT_OK(cs_time_format(x, text));
        EXPECT_OK(cs_time_parse(text, 20, &back));
        if (back != x) {
            EXPECT_EQ(back, x);
            break;
        }
    }
}

static void test_json_member_span(void)
{
    static const char doc[] = " { \"a\" : [1, {\"x\": \"}]\\\"\"}], \"tcbInfo\":{\"k\":\"v\\\\\"} ,"
                              "\"signature\":\"ab\"}\n";
    struct cs_cur d = cs_cur_of((const uint8_t *)doc, sizeof doc - 1);
    json_t *j = NULL;
    EXPECT_OK(cs_json_load(d, 1024, &j));
    struct cs_cur span;
    EXPECT_OK(cs_json_member_span(d, "tcbInfo", &span));
    EXPECT_EQ(span.left, strlen("{\"k\":\"v\\\\\"}"));
    EXPECT_MEM_EQ(span.p, "{\"k\":\"v\\\\\"}", span.left);
    EXPECT_OK(cs_json_member_span(d, "signature", &span));
    EXPECT_MEM_EQ(span.p, "\"ab\"", 4);
    EXPECT_OK(cs_json_member_span(d, "a", &span));
    EXPECT_MEM_EQ(span.p, "[1, {\"x\": \"}]\\\"\"}]", span.left);
    EXPECT_ERR(cs_json_member_span(d, "x", &span), CS_E_FORMAT); /* nested keys are not found */
    json_decref(j);

    /* strict loading: duplicates, trailing garbage, non-objects, size */
    static const char dup[] = "{\"a\":1,\"a\":2}";
    EXPECT_ERR(cs_json_load(cs_cur_of((const uint8_t *)dup, sizeof dup - 1), 1024, &j),
               CS_E_FORMAT);
    static const char trail[] = "{\"a\":1} x";
    EXPECT_ERR(cs_json_load(cs_cur_of((const uint8_t *)trail, sizeof trail - 1), 1024, &j),
               CS_E_FORMAT);
    static const char arr[] = "[1]";
    EXPECT_ERR(cs_json_load(cs_cur_of((const uint8_t *)arr, sizeof arr - 1), 1024, &j),
               CS_E_FORMAT);
    EXPECT_ERR(cs_json_load(cs_cur_of((const uint8_t *)dup, sizeof dup - 1), 4, &j),
               CS_E_TOO_LARGE);
    static const char nul[] = "{\"a\":\"\\u0000\"}";
    EXPECT_ERR(cs_json_load(cs_cur_of((const uint8_t *)nul, sizeof nul - 1), 1024, &j),
               CS_E_FORMAT);
    EXPECT_TRUE(j == NULL);
}

static void test_json_accessors(void)
{
    static const char doc[] = "{\"n\":5,\"neg\":-1,\"s\":\"0aff\",\"t\":\"2025-01-01T00:00:00Z\","
                              "\"o\":{},\"a\":[1,2,3]}";
    json_t *j = NULL;
    EXPECT_OK(cs_json_load(cs_cur_of((const uint8_t *)doc, sizeof doc - 1), 1024, &j));
    uint64_t n = 0;
    EXPECT_OK(cs_json_get_uint(j, "n", 5, &n));
    EXPECT_EQ(n, 5);
    EXPECT_ERR(cs_json_get_uint(j, "n", 4, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_json_get_uint(j, "neg", 4, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_json_get_uint(j, "s", 4, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_json_get_uint(j, "missing", 4, &n), CS_E_FORMAT);
    uint8_t b[2];
    EXPECT_OK(cs_json_get_hex(j, "s", b, 2));
    EXPECT_ERR(cs_json_get_hex(j, "s", b, 1), CS_E_TOO_LARGE);
    int64_t t = 0;
    EXPECT_OK(cs_json_get_time(j, "t", &t));
    EXPECT_EQ(t, 1735689600);
    json_t *o = NULL;
    EXPECT_OK(cs_json_get_obj(j, "o", &o));
    EXPECT_ERR(cs_json_get_obj(j, "a", &o), CS_E_FORMAT);
    EXPECT_OK(cs_json_get_arr(j, "a", 3, &o));
    EXPECT_ERR(cs_json_get_arr(j, "a", 2, &o), CS_E_TOO_LARGE);
    json_decref(j);
}

static void test_alloc_failure_injection(void)
{
    void *p = NULL;
    cs_mem_set_fail_after(1);
    EXPECT_OK(cs_alloc(4, 4, &p));
    cs_free(p);
    EXPECT_ERR(cs_alloc(4, 4, &p), CS_E_NOMEM);
    EXPECT_TRUE(p == NULL);
    cs_mem_set_fail_after(-1);
    EXPECT_ERR(cs_alloc(SIZE_MAX / 2, 4, &p), CS_E_TOO_LARGE);
    EXPECT_OK(cs_alloc(0, 0, &p));
    cs_free(p);
}

static void test_code_names(void)
{
    EXPECT_STR_EQ(custos_code_class(CS_E_TRUNCATED), "format");
    EXPECT_STR_EQ(custos_code_class(CS_E_TOO_LARGE), "format");
    EXPECT_STR_EQ(custos_code_class(CS_E_UNSUPPORTED), "unsupported");
    EXPECT_STR_EQ(custos_code_class(CS_E_BINDING), "binding");
    EXPECT_STR_EQ(custos_code_class((cs_code)999), "internal");
    struct custos_diag d = { 0 };
    cs_diag_set(&d, CS_E_TCB, "first %d", 1);
    cs_diag_set(&d, CS_E_CHAIN, "second");
    EXPECT_EQ(d.code, CS_E_TCB);
    EXPECT_STR_EQ(d.msg, "first 1");
    EXPECT_STR_EQ(custos_code_name(CS_E_NOT_FOUND), "not_found");
    EXPECT_STR_EQ(custos_code_class(CS_E_CONFLICT), "state");
}

static void test_ct_equal(void)
{
    uint8_t a[33] = { 1, 2, 3 };
    uint8_t b[33] = { 1, 2, 3 };
    EXPECT_TRUE(cs_ct_equal(a, b, sizeof a));
    EXPECT_TRUE(cs_ct_equal(a, b, 0));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x80;
        EXPECT_TRUE(!cs_ct_equal(a, b, sizeof a));
        b[i] ^= 0x80;
    }
}

CS_TEST_MAIN(CS_TEST(test_cur_reads_and_bounds), CS_TEST(test_hex), CS_TEST(test_time),
             CS_TEST(test_json_member_span), CS_TEST(test_json_accessors),
             CS_TEST(test_alloc_failure_injection), CS_TEST(test_code_names),
             CS_TEST(test_ct_equal))
