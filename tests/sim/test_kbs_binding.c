/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS runtime-data binding (src/crypto/cs_kbs_binding): REPORT_DATA equals a value
 * computed independently, does not depend on member order or white space, changes with
 * every input, and bad inputs are refused with the documented codes.
 *
 * The expected digests were computed once, outside custos, with
 *   /usr/bin/python3 -c 'import json,hashlib; print(hashlib.sha384(json.dumps(
 *     {"additional-evidence": ADD, "nonce": NONCE, "tee-pubkey": JWK},
 *     sort_keys=True, separators=(",",":")).encode()).hexdigest())'
 * which for ASCII-only input is exactly RFC 8785 (members sorted, no white space).
 */
#include <jansson.h>
#include <string.h>

#include "core/cs_hex.h"
#include "cs_test.h"
#include "crypto/cs_kbs_binding.h"

static const char NONCE[] = "o1qUjS7VGZBv7wWrl9ayHMvNqT9zUqQbPoYHVJ8nTCk=";
static const char JWK[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\","
                          "\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\","
                          "\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\"}";
/* the same key, members in another order, with white space */
static const char JWK_REORDERED[] = "{ \"y\" : \"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\",\n"
                                    "  \"x\" : \"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\",\n"
                                    "  \"alg\": \"ES256\", \"crv\": \"P-256\", \"kty\": \"EC\" }";
/* additional-evidence "" */
static const char WANT[] = "03ccb5d402bc765b501413df7002b7cf2fb791daf4b0a71983b356b085b9892a"
                           "7ba52672bf98f569fd957dc44bb78cfd";
/* additional-evidence "{}" */
static const char WANT_ADDITIONAL[] = "4dd7b810d21e71d5777790270b585ef3ec576aa6a187ec5d7146989dd"
                                      "ed211771fd4c2016de21b77b92f35f9b4f19ad6";

static json_t *load(const char *text)
{
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    EXPECT_TRUE(j != NULL);
    return j;
}

static void expect_report_data(const uint8_t rd[64], const char *want_hex)
{
    uint8_t want[48];
    EXPECT_OK(cs_hex_decode(want_hex, strlen(want_hex), want, sizeof want));
    EXPECT_MEM_EQ(rd, want, sizeof want);
    static const uint8_t zeros[16] = { 0 };
    EXPECT_MEM_EQ(rd + 48, zeros, sizeof zeros); /* zero-padded to 64 bytes */
}

static void test_known_value(void)
{
    json_t *jwk = load(JWK);
    uint8_t rd[CS_KBS_REPORT_DATA_LEN];
    EXPECT_OK(cs_kbs_report_data(NONCE, jwk, NULL, rd));
    expect_report_data(rd, WANT);
    EXPECT_OK(cs_kbs_report_data(NONCE, jwk, "", rd)); /* NULL means "" */
    expect_report_data(rd, WANT);
    EXPECT_OK(cs_kbs_report_data(NONCE, jwk, "{}", rd));
    expect_report_data(rd, WANT_ADDITIONAL);
    EXPECT_EQ(jwk->refcount, 1); /* borrowed, not kept */
    json_decref(jwk);
}

static void test_order_does_not_matter(void)
{
    json_t *a = load(JWK);
    json_t *b = load(JWK_REORDERED);
    uint8_t ra[64], rb[64];
    EXPECT_OK(cs_kbs_report_data(NONCE, a, NULL, ra));
    EXPECT_OK(cs_kbs_report_data(NONCE, b, NULL, rb));
    EXPECT_MEM_EQ(ra, rb, sizeof ra);
    expect_report_data(rb, WANT);
    json_decref(a);
    json_decref(b);
}

static void test_every_input_counts(void)
{
    json_t *jwk = load(JWK);
    uint8_t base[64], other[64];
    EXPECT_OK(cs_kbs_report_data(NONCE, jwk, NULL, base));

    EXPECT_OK(cs_kbs_report_data("o1qUjS7VGZBv7wWrl9ayHMvNqT9zUqQbPoYHVJ8nTCg=", jwk, NULL, other));
    EXPECT_TRUE(memcmp(base, other, 48) != 0);

    json_t *changed = json_deep_copy(jwk);
    EXPECT_EQ(json_object_set_new(changed, "alg", json_string("ECDH-ES+A256KW")), 0);
    EXPECT_OK(cs_kbs_report_data(NONCE, changed, NULL, other));
    EXPECT_TRUE(memcmp(base, other, 48) != 0);
    json_decref(changed);

    json_t *rsa = load("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":\"AQAB\",\"e\":\"AQAB\"}");
    EXPECT_OK(cs_kbs_report_data(NONCE, rsa, NULL, other));
    EXPECT_TRUE(memcmp(base, other, 48) != 0);
    json_decref(rsa);
    json_decref(jwk);
}

static void test_refusals(void)
{
    json_t *jwk = load(JWK);
    uint8_t rd[64];
    memset(rd, 0xee, sizeof rd);
    static const uint8_t zeros[64] = { 0 };
    EXPECT_ERR(cs_kbs_report_data(NULL, jwk, NULL, rd), CS_E_ARG);
    EXPECT_MEM_EQ(rd, zeros, sizeof rd); /* out is zeroed on failure */
    EXPECT_ERR(cs_kbs_report_data(NONCE, NULL, NULL, rd), CS_E_ARG);
    EXPECT_ERR(cs_kbs_report_data(NONCE, jwk, NULL, NULL), CS_E_ARG);
    EXPECT_ERR(cs_kbs_report_data("", jwk, NULL, rd), CS_E_FORMAT);
    EXPECT_ERR(cs_kbs_report_data("\xff\xfe", jwk, NULL, rd), CS_E_FORMAT); /* not UTF-8 */
    EXPECT_ERR(cs_kbs_report_data(NONCE, jwk, "\xc3", rd), CS_E_FORMAT);
    json_t *arr = load("[1,2]");
    EXPECT_ERR(cs_kbs_report_data(NONCE, arr, NULL, rd), CS_E_FORMAT);
    json_decref(arr);
    json_t *huge = load("{\"kty\":\"EC\",\"n\":9007199254740993}"); /* 2^53 + 1 */
    EXPECT_ERR(cs_kbs_report_data(NONCE, huge, NULL, rd), CS_E_UNSUPPORTED);
    json_decref(huge);
    char big[CS_KBS_NONCE_MAX + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    EXPECT_ERR(cs_kbs_report_data(big, jwk, NULL, rd), CS_E_TOO_LARGE);
    big[CS_KBS_NONCE_MAX] = '\0'; /* exactly the maximum */
    EXPECT_OK(cs_kbs_report_data(big, jwk, NULL, rd));
    EXPECT_MEM_EQ(rd + 48, zeros, 16);
    json_decref(jwk);
}

CS_TEST_MAIN(CS_TEST(test_known_value), CS_TEST(test_order_does_not_matter),
             CS_TEST(test_every_input_counts), CS_TEST(test_refusals))
