/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel quote parser: real quotes from ../shared (every TDX/SGX case), every truncation,
 * trailing bytes, and crafted damage to each length and type field.
 */
#include <dirent.h>
#include <stdint.h>

#include "cs_test.h"
#include "evidence/intel_quote.h"

struct real_quote {
    const char *id;
    uint16_t version;
    enum cs_intel_body body;
    size_t trailing;
};

/* Facts from each case's SOURCE.txt / notes (file sizes, padding, versions). */
static const struct real_quote reals[] = {
    { "T01", 4, CS_INTEL_BODY_TDX10, 70 },  { "T02", 5, CS_INTEL_BODY_TDX15, 0 },
    { "T03", 4, CS_INTEL_BODY_TDX10, 70 },  { "T06", 5, CS_INTEL_BODY_TDX15, 0 },
    { "T07", 4, CS_INTEL_BODY_TDX10, 39 },  { "T08", 4, CS_INTEL_BODY_TDX10, 0 },
    { "T10", 4, CS_INTEL_BODY_TDX10, 3065 }, { "T11", 4, CS_INTEL_BODY_TDX10, 0 },
    { "T23", 5, CS_INTEL_BODY_TDX15, 0 },   { "S01", 3, CS_INTEL_BODY_SGX, 0 },
    { "S03", 3, CS_INTEL_BODY_SGX, 0 },
};

static unsigned char *load_quote(const char *id, size_t *len)
{
    const char *shared = tv_shared_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/testdata/evidence/%s/quote.bin", shared, id);
    return tv_read(path, len);
}

static void test_real_quotes_parse(void)
{
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        size_t len = 0;
        unsigned char *buf = load_quote(reals[i].id, &len);
        struct cs_intel_quote q;
        EXPECT_OK(cs_intel_quote_parse(buf, len, &q));
        EXPECT_EQ(q.version, reals[i].version);
        EXPECT_EQ(q.body_type, reals[i].body);
        EXPECT_EQ(q.trailing_len, reals[i].trailing);
        EXPECT_EQ(q.quote_len + q.trailing_len, len);
        EXPECT_EQ(q.signed_span.left + 4 + q.sig_data.left, q.quote_len);
        EXPECT_EQ(q.qe_auth_data.left, 32);
        EXPECT_TRUE(q.pck_chain.left > 3000);
        /* report_data sits where FORMATS.md says: 568 (v4), 574 (v5), 368 (v3) */
        size_t off = cs_intel_quote_report_data_offset(&q);
        const uint8_t *rd = q.body_type == CS_INTEL_BODY_SGX ? q.sgx.report_data
                                                             : q.tdx.report_data;
        EXPECT_EQ(off, q.version == 3 ? 368 : q.version == 4 ? 568 : 574);
        EXPECT_MEM_EQ(buf + off, rd, 64);
        free(buf);
    }
}

static void test_every_truncation(void)
{
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i += 4) { /* v4, v5, v3 samples */
        size_t len = 0;
        unsigned char *buf = load_quote(reals[i].id, &len);
        struct cs_intel_quote q;
        EXPECT_OK(cs_intel_quote_parse(buf, len, &q));
        size_t quote_len = q.quote_len;
        for (size_t n = 0; n < quote_len; n++) {
            unsigned char *cut = tv_dup(buf, n); /* exact-size copy: ASan sees over-reads */
            cs_res r = cs_intel_quote_parse(cut, n, &q);
            free(cut);
            if (r.code != CS_E_TRUNCATED) {
                EXPECT_ERR(r, CS_E_TRUNCATED);
                fprintf(stderr, "  %s truncated to %zu\n", reals[i].id, n);
                break;
            }
        }
        /* at and after the declared end: accepted, the rest counted as trailing */
        for (size_t n = quote_len; n <= len; n++) {
            unsigned char *cut = tv_dup(buf, n);
            EXPECT_OK(cs_intel_quote_parse(cut, n, &q));
            EXPECT_EQ(q.trailing_len, n - quote_len);
            free(cut);
        }
        free(buf);
    }
}

/* Offsets inside a v4 quote (sgx_quote_4.h): sig len at 632, sig data at 636. */
#define V4_SIG_LEN 632
#define V4_CERT6_TYPE (636 + 128)
#define V4_CERT6_SIZE (V4_CERT6_TYPE + 2)
#define V4_QE_AUTH_LEN (V4_CERT6_SIZE + 4 + 384 + 64)

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static cs_code parse_mutated(const unsigned char *buf, size_t len, size_t off,
                             const void *bytes, size_t n)
{
    unsigned char *m = tv_dup(buf, len);
    memcpy(m + off, bytes, n);
    struct cs_intel_quote q;
    cs_res r = cs_intel_quote_parse(m, len, &q);
    free(m);
    return r.code;
}

static void test_crafted_field_damage(void)
{
    size_t len = 0;
    unsigned char *buf = load_quote("T08", &len); /* v4, no padding */
    struct cs_intel_quote q;
    EXPECT_OK(cs_intel_quote_parse(buf, len, &q));
    unsigned char b[4];

    put_u16(b, 6);
    EXPECT_EQ(parse_mutated(buf, len, 0, b, 2), CS_E_UNSUPPORTED); /* version */
    put_u16(b, 2);
    EXPECT_EQ(parse_mutated(buf, len, 0, b, 2), CS_E_UNSUPPORTED);
    put_u16(b, 3);
    EXPECT_EQ(parse_mutated(buf, len, 2, b, 2), CS_E_UNSUPPORTED); /* att key type P-384 */
    put_u32(b, 0x80);
    EXPECT_EQ(parse_mutated(buf, len, 4, b, 4), CS_E_UNSUPPORTED); /* tee type */

    uint32_t sig_len = get_u32(buf + V4_SIG_LEN);
    put_u32(b, sig_len + 1);
    EXPECT_EQ(parse_mutated(buf, len, V4_SIG_LEN, b, 4), CS_E_TRUNCATED);
    put_u32(b, UINT32_MAX);
    EXPECT_EQ(parse_mutated(buf, len, V4_SIG_LEN, b, 4), CS_E_TRUNCATED);
    put_u32(b, sig_len - 1); /* the type-6 data then overruns the shorter signature data */
    EXPECT_EQ(parse_mutated(buf, len, V4_SIG_LEN, b, 4), CS_E_TRUNCATED);

    put_u16(b, 5);
    EXPECT_EQ(parse_mutated(buf, len, V4_CERT6_TYPE, b, 2), CS_E_UNSUPPORTED);
    put_u16(b, 4);
    EXPECT_EQ(parse_mutated(buf, len, V4_CERT6_TYPE, b, 2), CS_E_UNSUPPORTED);
    uint32_t c6 = get_u32(buf + V4_CERT6_SIZE);
    put_u32(b, c6 - 1); /* type 6 ends early: one byte of signature data is left over */
    EXPECT_EQ(parse_mutated(buf, len, V4_CERT6_SIZE, b, 4), CS_E_TRAILING);
    put_u32(b, c6 + 1);
    EXPECT_EQ(parse_mutated(buf, len, V4_CERT6_SIZE, b, 4), CS_E_TRUNCATED);
    put_u16(b, 0xffff);
    EXPECT_EQ(parse_mutated(buf, len, V4_QE_AUTH_LEN, b, 2), CS_E_TOO_LARGE);
    put_u16(b, 33); /* everything after shifts by one byte: some check must catch it */
    EXPECT_TRUE(parse_mutated(buf, len, V4_QE_AUTH_LEN, b, 2) != CS_OK);

    /* inner certification data type 5 -> 4 (PCK_CLEARTEXT needs the PCS): unsupported */
    size_t inner = V4_QE_AUTH_LEN + 2 + 32;
    put_u16(b, 4);
    EXPECT_EQ(parse_mutated(buf, len, inner, b, 2), CS_E_UNSUPPORTED);
    /* inner size one larger than what the type-6 block holds */
    uint32_t c5 = get_u32(buf + inner + 2);
    put_u32(b, c5 + 1);
    EXPECT_EQ(parse_mutated(buf, len, inner + 2, b, 4), CS_E_TRUNCATED);

    /* lengthen the signature data by one byte: one byte left inside type 6 -> trailing */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    put_u32(longer + V4_SIG_LEN, sig_len + 1);
    put_u32(longer + V4_CERT6_SIZE, c6 + 1);
    EXPECT_ERR(cs_intel_quote_parse(longer, len + 1, &q), CS_E_TRAILING);
    free(longer);

    EXPECT_ERR(cs_intel_quote_parse(buf, CS_INTEL_QUOTE_MAX + 1, &q), CS_E_TOO_LARGE);
    EXPECT_ERR(cs_intel_quote_parse(NULL, 0, &q), CS_E_TRUNCATED);
    EXPECT_ERR(cs_intel_quote_parse(NULL, 5, &q), CS_E_ARG);
    free(buf);
}

static void test_v5_body_fields(void)
{
    size_t len = 0;
    unsigned char *buf = load_quote("T06", &len); /* v5, body type 3 */
    struct cs_intel_quote q;
    EXPECT_OK(cs_intel_quote_parse(buf, len, &q));
    EXPECT_TRUE(q.tdx.has_tdx15);
    unsigned char b[4];
    put_u16(b, 4);
    EXPECT_EQ(parse_mutated(buf, len, 48, b, 2), CS_E_UNSUPPORTED); /* body type */
    put_u16(b, 1);
    EXPECT_EQ(parse_mutated(buf, len, 48, b, 2), CS_E_FORMAT); /* SGX body with TDX tee */
    put_u16(b, 2);
    EXPECT_EQ(parse_mutated(buf, len, 48, b, 2), CS_E_FORMAT); /* size 648 is not TDX 1.0 */
    put_u32(b, 649);
    EXPECT_EQ(parse_mutated(buf, len, 50, b, 4), CS_E_FORMAT);
    free(buf);
}

static void test_sgx_report_parse_exact(void)
{
    uint8_t raw[CS_SGX_REPORT_BODY_LEN];
    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (uint8_t)i;
    }
    struct cs_sgx_report r;
    EXPECT_OK(cs_sgx_report_parse(cs_cur_of(raw, sizeof raw), &r));
    EXPECT_EQ(r.isv_prod_id, 0x0100);
    EXPECT_EQ(r.isv_svn, 0x0302);
    EXPECT_EQ(r.misc_select, 0x13121110u);
    EXPECT_EQ(r.report_data[0], 320 & 0xff);
    EXPECT_EQ(r.mr_signer[0], 128);
    EXPECT_ERR(cs_sgx_report_parse(cs_cur_of(raw, sizeof raw - 1), &r), CS_E_TRUNCATED);
}

static void skip_without_shared(void)
{
    if (tv_shared_dir() == NULL) {
        printf("SKIP: ../shared/testdata/evidence is absent; real-quote tests need it\n");
        exit(CS_TEST_SKIP_CODE);
    }
}

static void test_requires_shared(void)
{
    skip_without_shared();
}

CS_TEST_MAIN(CS_TEST(test_sgx_report_parse_exact), CS_TEST(test_requires_shared),
             CS_TEST(test_real_quotes_parse), CS_TEST(test_every_truncation),
             CS_TEST(test_crafted_field_damage), CS_TEST(test_v5_body_fields))
