/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 8785 (JCS): the RFC's own examples, its sorting example, and ECMAScript numbers. */
#include <jansson.h>
#include <math.h>

#include "core/cs_jcs.h"
#include "cs_test.h"

static void expect_jcs(const char *in, const char *want)
{
    json_error_t err;
    json_t *v = json_loads(in, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    EXPECT_TRUE(v != NULL);
    struct cs_buf b;
    cs_buf_init(&b, 1 << 20);
    EXPECT_OK(cs_jcs_encode(v, &b));
    EXPECT_STR_EQ(b.p != NULL ? (const char *)b.p : "", want);
    cs_buf_clear(&b);
    json_decref(v);
}

static void expect_number(double d, const char *want)
{
    json_t *v = json_real(d);
    struct cs_buf b;
    cs_buf_init(&b, 64);
    EXPECT_OK(cs_jcs_encode(v, &b));
    EXPECT_STR_EQ((const char *)b.p, want);
    cs_buf_clear(&b);
    json_decref(v);
}

static void test_rfc8785_example(void)
{
    /* RFC 8785 section 3.2.2 */
    expect_jcs("{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
               " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
               " \"literals\": [null, true, false]}",
               "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
               "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

static void test_rfc8785_sorting(void)
{
    /* RFC 8785 section 3.2.3: sorted by UTF-16 code units */
    expect_jcs("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Dalet\","
               " \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji\", \"\\u0080\": \"Control\","
               " \"\\u00f6\": \"o\"}",
               "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
               "\"\xc3\xb6\":\"o\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji\","
               "\"\xef\xac\xb3\":\"Dalet\"}");
}

static void test_numbers(void)
{
    expect_number(1e21, "1e+21");
    expect_number(1e20, "100000000000000000000");
    expect_number(1e-7, "1e-7");
    expect_number(0.000001, "0.000001");
    expect_number(-0.0, "0");
    expect_number(5e-324, "5e-324");
    expect_number(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_number(9007199254740992.0, "9007199254740992");
    expect_number(1.2345678901234568e20, "123456789012345680000");
    expect_number(-1.5, "-1.5");
    expect_number(0.1 + 0.2, "0.30000000000000004");
    expect_jcs("[1, -12, 0, 4096]", "[1,-12,0,4096]");
    json_t *big = json_integer(9007199254740993LL);
    struct cs_buf b;
    cs_buf_init(&b, 64);
    EXPECT_ERR(cs_jcs_encode(big, &b), CS_E_UNSUPPORTED);
    json_decref(big);
    json_t *nan = json_real(NAN); /* jansson refuses NaN: NULL */
    EXPECT_TRUE(nan == NULL);
    cs_buf_clear(&b);
}

static void test_kbs_binding_shape(void)
{
    /* the object the KBS protocol hashes for REPORT_DATA: keys in canonical order */
    expect_jcs("{\"tee-pubkey\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\"},"
               "\"nonce\":\"n\",\"additional-evidence\":\"\"}",
               "{\"additional-evidence\":\"\",\"nonce\":\"n\",\"tee-pubkey\":{\"crv\":\"P-256\","
               "\"kty\":\"EC\",\"x\":\"a\",\"y\":\"b\"}}");
}

static void test_limits(void)
{
    struct cs_buf b;
    cs_buf_init(&b, 4);
    json_t *v = json_string("too long");
    EXPECT_ERR(cs_jcs_encode(v, &b), CS_E_TOO_LARGE);
    json_decref(v);
    cs_buf_clear(&b);
    /* nesting beyond the ceiling */
    json_t *deep = json_array();
    json_t *cur = deep;
    for (int i = 0; i < CS_JCS_DEPTH_MAX + 2; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    cs_buf_init(&b, 1 << 16);
    EXPECT_ERR(cs_jcs_encode(deep, &b), CS_E_FORMAT);
    cs_buf_clear(&b);
    json_decref(deep);
}

CS_TEST_MAIN(CS_TEST(test_rfc8785_example), CS_TEST(test_rfc8785_sorting), CS_TEST(test_numbers),
             CS_TEST(test_kbs_binding_shape), CS_TEST(test_limits))
