/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TPM parsers on crafted input, for the edges real quotes do not reach: every
 * ceiling of TPMS_ATTEST and TPMT_SIGNATURE (one over -> format, at it -> accepted), every
 * truncation and a trailing byte, each allowlist (attestation type, PCR bank, signature
 * scheme, signature hash), bank repeats, the PCR bitmap, and pcrs.json's strict shape.
 */
#include "cs_test.h"
#include "evidence/tpm_attest.h"
#include "evidence/tpm_pcrs.h"

/* A tiny big-endian writer for crafted structures. */
struct w {
    uint8_t b[2048];
    size_t n;
};

static void w_u8(struct w *w, unsigned v)
{
    w->b[w->n++] = (uint8_t)v;
}

static void w_u16(struct w *w, unsigned v)
{
    w_u8(w, v >> 8 & 0xff);
    w_u8(w, v & 0xff);
}

static void w_u32(struct w *w, uint32_t v)
{
    w_u16(w, v >> 16);
    w_u16(w, v & 0xffff);
}

static void w_u64(struct w *w, uint64_t v)
{
    w_u32(w, (uint32_t)(v >> 32));
    w_u32(w, (uint32_t)v);
}

static void w_fill(struct w *w, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        w_u8(w, v);
    }
}

static void w_tpm2b(struct w *w, size_t n, uint8_t v)
{
    w_u16(w, (unsigned)n);
    w_fill(w, n, v);
}

/* Knobs of a crafted quote. */
struct q {
    uint32_t magic;
    unsigned type;
    size_t name_len, extra_len, digest_len;
    unsigned safe;
    uint32_t count; /* as written */
    size_t n_banks; /* actually written */
    unsigned alg[4];
    unsigned size_of_select[4];
};

static struct q q_default(void)
{
    return (struct q){
        .magic = CS_TPM_GENERATED_VALUE,
        .type = CS_TPM_ST_ATTEST_QUOTE,
        .name_len = 34,
        .extra_len = 2,
        .digest_len = 32,
        .safe = 1,
        .count = 1,
        .n_banks = 1,
        .alg = { CS_TPM_ALG_SHA256 },
        .size_of_select = { 3 },
    };
}

static void build_quote(const struct q *q, struct w *w)
{
    w->n = 0;
    w_u32(w, q->magic);
    w_u16(w, q->type);
    w_tpm2b(w, q->name_len, 0x11);
    w_tpm2b(w, q->extra_len, 0x90);
    w_u64(w, 0x0000000123456789ull); /* clock */
    w_u32(w, 10);                    /* resetCount */
    w_u32(w, 3);                     /* restartCount */
    w_u8(w, q->safe);
    w_u64(w, 0x2016051100162800ull); /* firmwareVersion */
    w_u32(w, q->count);
    for (size_t i = 0; i < q->n_banks; i++) {
        w_u16(w, q->alg[i]);
        w_u8(w, q->size_of_select[i]);
        for (unsigned j = 0; j < q->size_of_select[i]; j++) {
            w_u8(w, j == 0 ? 0x03 : j == 2 ? 0x01 : 0x00); /* PCRs 0, 1, 16 */
        }
    }
    w_tpm2b(w, q->digest_len, 0xdd);
}

static cs_code parse_q(const struct q *q)
{
    struct w w;
    build_quote(q, &w);
    uint8_t *copy = tv_dup(w.b, w.n);
    struct cs_tpm_attest a;
    cs_code c = cs_tpm_attest_parse(copy, w.n, &a).code;
    free(copy);
    return c;
}

static void test_quote_fields(void)
{
    struct q q = q_default();
    struct w w;
    build_quote(&q, &w);
    struct cs_tpm_attest a;
    EXPECT_OK(cs_tpm_attest_parse(w.b, w.n, &a));
    EXPECT_EQ(a.magic, CS_TPM_GENERATED_VALUE);
    EXPECT_EQ(a.type, CS_TPM_ST_ATTEST_QUOTE);
    EXPECT_EQ(a.qualified_signer.left, 34);
    EXPECT_TRUE(a.qualified_signer.p == w.b + 8);
    EXPECT_EQ(a.extra_data.left, 2);
    EXPECT_EQ(a.extra_data.p[0], 0x90);
    EXPECT_EQ(a.clock, 0x0000000123456789ull);
    EXPECT_EQ(a.reset_count, 10);
    EXPECT_EQ(a.restart_count, 3);
    EXPECT_TRUE(a.is_safe);
    EXPECT_EQ(a.firmware_version, 0x2016051100162800ull);
    EXPECT_EQ(a.n_banks, 1);
    EXPECT_EQ(a.banks[0].hash_alg, CS_TPM_ALG_SHA256);
    EXPECT_EQ(a.banks[0].size_of_select, 3);
    EXPECT_TRUE(cs_tpm_pcr_is_selected(&a.banks[0], 0));
    EXPECT_TRUE(cs_tpm_pcr_is_selected(&a.banks[0], 1));
    EXPECT_TRUE(!cs_tpm_pcr_is_selected(&a.banks[0], 2));
    EXPECT_TRUE(cs_tpm_pcr_is_selected(&a.banks[0], 16));
    EXPECT_TRUE(!cs_tpm_pcr_is_selected(&a.banks[0], 24)); /* past sizeofSelect */
    EXPECT_TRUE(!cs_tpm_pcr_is_selected(&a.banks[0], 1000));
    EXPECT_EQ(a.pcr_digest.left, 32);
    EXPECT_TRUE(a.pcr_digest.p == w.b + w.n - 32);
    EXPECT_TRUE(a.signed_span.p == w.b);
    EXPECT_EQ(a.signed_span.left, w.n);

    /* the smallest quote: empty name, nonce, selection and digest */
    q = (struct q){ .magic = CS_TPM_GENERATED_VALUE, .type = CS_TPM_ST_ATTEST_QUOTE };
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.safe = 0;
    build_quote(&q, &w);
    EXPECT_OK(cs_tpm_attest_parse(w.b, w.n, &a));
    EXPECT_TRUE(!a.is_safe);
    EXPECT_EQ(a.n_banks, 0);
}

static void test_quote_truncations_and_trailing(void)
{
    struct q q = q_default();
    struct w w;
    build_quote(&q, &w);
    struct cs_tpm_attest a;
    for (size_t n = 0; n < w.n; n++) {
        uint8_t *cut = tv_dup(w.b, n);
        EXPECT_ERR(cs_tpm_attest_parse(cut, n, &a), CS_E_TRUNCATED);
        free(cut);
    }
    w.b[w.n] = 0;
    uint8_t *longer = tv_dup(w.b, w.n + 1);
    EXPECT_ERR(cs_tpm_attest_parse(longer, w.n + 1, &a), CS_E_TRAILING);
    free(longer);
    EXPECT_ERR(cs_tpm_attest_parse(NULL, 0, &a), CS_E_TRUNCATED);
    EXPECT_ERR(cs_tpm_attest_parse(w.b, w.n, NULL), CS_E_ARG);
    EXPECT_ERR(cs_tpm_attest_parse(NULL, 1, &a), CS_E_ARG);
    static uint8_t big[CS_TPM_ATTEST_MAX + 1];
    EXPECT_ERR(cs_tpm_attest_parse(big, sizeof big, &a), CS_E_TOO_LARGE);
}

static void test_quote_ceilings_and_allowlists(void)
{
    struct q q = q_default();
    q.magic = 0xff544348;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);
    q = q_default();
    q.type = 0x8017; /* TPM_ST_ATTEST_CERTIFY: a valid attestation, not a quote */
    EXPECT_EQ(parse_q(&q), CS_E_UNSUPPORTED);

    q = q_default();
    q.name_len = CS_TPM_NAME_MAX;
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.name_len = CS_TPM_NAME_MAX + 1;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);
    q = q_default();
    q.extra_len = CS_TPM_EXTRA_DATA_MAX;
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.extra_len = CS_TPM_EXTRA_DATA_MAX + 1;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);
    q = q_default();
    q.digest_len = CS_TPM_DIGEST_MAX;
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.digest_len = CS_TPM_DIGEST_MAX + 1;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);

    q = q_default();
    q.safe = 2; /* TPMI_YES_NO */
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);

    q = q_default();
    q.size_of_select[0] = CS_TPM_PCR_SELECT_MAX;
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.size_of_select[0] = CS_TPM_PCR_SELECT_MAX + 1;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);
    q.size_of_select[0] = 0; /* a bank with nothing selected */
    EXPECT_EQ(parse_q(&q), CS_OK);

    q = q_default();
    q.count = CS_TPM_BANKS_MAX + 1;
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);
    q.count = 2; /* declared 2, written 1: the second bank runs into the digest */
    EXPECT_TRUE(parse_q(&q) != CS_OK);

    q = q_default();
    q.count = 3;
    q.n_banks = 3;
    q.alg[0] = CS_TPM_ALG_SHA1;
    q.alg[1] = CS_TPM_ALG_SHA384;
    q.alg[2] = CS_TPM_ALG_SHA256;
    q.size_of_select[1] = 3;
    q.size_of_select[2] = 3;
    EXPECT_EQ(parse_q(&q), CS_OK);
    q.alg[2] = CS_TPM_ALG_SHA1; /* a bank selected twice */
    EXPECT_EQ(parse_q(&q), CS_E_FORMAT);

    static const unsigned unsupported_banks[] = { 0x000d /* SHA512 */, 0x0012 /* SM3_256 */,
                                                  0x0027 /* SHA3_256 */, 0x0010 /* NULL */ };
    for (size_t i = 0; i < sizeof unsupported_banks / sizeof unsupported_banks[0]; i++) {
        q = q_default();
        q.alg[0] = unsupported_banks[i];
        EXPECT_EQ(parse_q(&q), CS_E_UNSUPPORTED);
    }
}

/* ---- TPMT_SIGNATURE -------------------------------------------------------------- */

static size_t build_sig(struct w *w, unsigned alg, unsigned hash, size_t a_len, size_t b_len)
{
    w->n = 0;
    w_u16(w, alg);
    w_u16(w, hash);
    w_tpm2b(w, a_len, 0x5a);
    if (alg == CS_TPM_ALG_ECDSA) {
        w_tpm2b(w, b_len, 0xa5);
    }
    return w->n;
}

static cs_code parse_sig(unsigned alg, unsigned hash, size_t a_len, size_t b_len)
{
    struct w w;
    build_sig(&w, alg, hash, a_len, b_len);
    uint8_t *copy = tv_dup(w.b, w.n);
    struct cs_tpm_signature s;
    cs_code c = cs_tpm_signature_parse(copy, w.n, &s).code;
    free(copy);
    return c;
}

static void test_signature(void)
{
    struct w w;
    struct cs_tpm_signature s;
    build_sig(&w, CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA256, 256, 0);
    EXPECT_OK(cs_tpm_signature_parse(w.b, w.n, &s));
    EXPECT_EQ(s.sig_alg, CS_TPM_ALG_RSASSA);
    EXPECT_EQ(s.hash_alg, CS_TPM_ALG_SHA256);
    EXPECT_EQ(s.rsa.left, 256);
    EXPECT_TRUE(s.rsa.p == w.b + 6);
    build_sig(&w, CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA384, 48, 47);
    EXPECT_OK(cs_tpm_signature_parse(w.b, w.n, &s));
    EXPECT_EQ(s.ecc_r.left, 48);
    EXPECT_EQ(s.ecc_s.left, 47);
    EXPECT_TRUE(s.ecc_s.p == w.b + 6 + 48 + 2);
    for (size_t n = 0; n < w.n; n++) {
        uint8_t *cut = tv_dup(w.b, n);
        EXPECT_ERR(cs_tpm_signature_parse(cut, n, &s), CS_E_TRUNCATED);
        free(cut);
    }
    w.b[w.n] = 0;
    uint8_t *longer = tv_dup(w.b, w.n + 1);
    EXPECT_ERR(cs_tpm_signature_parse(longer, w.n + 1, &s), CS_E_TRAILING);
    free(longer);
    static uint8_t big[CS_TPM_SIGNATURE_MAX + 1];
    EXPECT_ERR(cs_tpm_signature_parse(big, sizeof big, &s), CS_E_TOO_LARGE);

    EXPECT_EQ(parse_sig(CS_TPM_ALG_RSAPSS, CS_TPM_ALG_SHA384, CS_TPM_RSA_SIG_MAX, 0), CS_OK);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_RSAPSS, CS_TPM_ALG_SHA384, CS_TPM_RSA_SIG_MAX + 1, 0),
              CS_E_FORMAT);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_RSASSA, CS_TPM_ALG_SHA256, 0, 0), CS_E_FORMAT);
    EXPECT_EQ(
        parse_sig(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, CS_TPM_ECC_PARAM_MAX, CS_TPM_ECC_PARAM_MAX),
        CS_OK);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, CS_TPM_ECC_PARAM_MAX + 1, 32),
              CS_E_FORMAT);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, 32, CS_TPM_ECC_PARAM_MAX + 1),
              CS_E_FORMAT);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, 0, 32), CS_E_FORMAT);
    EXPECT_EQ(parse_sig(CS_TPM_ALG_ECDSA, CS_TPM_ALG_SHA256, 32, 0), CS_E_FORMAT);
    /* schemes and hashes outside the allowlist */
    static const unsigned schemes[] = { 0x0010 /* NULL */,      0x0005 /* HMAC */,
                                        0x001a /* ECDAA */,     0x001b /* SM2 */,
                                        0x001c /* ECSCHNORR */, 0x0001 /* RSA */ };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        EXPECT_EQ(parse_sig(schemes[i], CS_TPM_ALG_SHA256, 32, 32), CS_E_UNSUPPORTED);
    }
    static const unsigned hashes[] = { CS_TPM_ALG_SHA1, 0x000d /* SHA512 */, 0x0012 /* SM3 */,
                                       0x0010 /* NULL */ };
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        EXPECT_EQ(parse_sig(CS_TPM_ALG_RSASSA, hashes[i], 256, 0), CS_E_UNSUPPORTED);
        EXPECT_EQ(parse_sig(CS_TPM_ALG_ECDSA, hashes[i], 32, 32), CS_E_UNSUPPORTED);
    }
}

static void test_alg_names(void)
{
    EXPECT_STR_EQ(cs_tpm_alg_name(CS_TPM_ALG_SHA1), "sha1");
    EXPECT_STR_EQ(cs_tpm_alg_name(CS_TPM_ALG_RSAPSS), "rsapss");
    EXPECT_STR_EQ(cs_tpm_alg_name(0x1234), "?");
    EXPECT_EQ(cs_tpm_alg_digest_len(CS_TPM_ALG_SHA384), 48);
    EXPECT_EQ(cs_tpm_alg_digest_len(0x000d), 0);
}

/* ---- pcrs.json ------------------------------------------------------------------- */

static cs_code pcrs(const char *text, struct cs_tpm_pcr_values *pv)
{
    size_t n = strlen(text);
    uint8_t *copy = tv_dup(text, n);
    cs_code c = cs_tpm_pcrs_parse(cs_cur_of(copy, n), pv).code;
    free(copy);
    return c;
}

/* Copies fmt into out with every '@' replaced by sub. */
static void expand(const char *fmt, const char *sub, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *f = fmt; *f != '\0' && n + 1 < cap; f++) {
        if (*f != '@') {
            out[n++] = *f;
            continue;
        }
        for (const char *x = sub; *x != '\0' && n + 1 < cap; x++) {
            out[n++] = *x;
        }
    }
    out[n] = '\0';
}

static void test_pcrs_json(void)
{
    static struct cs_tpm_pcr_values pv;
    EXPECT_EQ(pcrs("{\"sha1\":{\"0\":\"00000000000000000000000000000000000000FF\"},"
                   "\"sha256\":{\"23\":\"" /* 32 bytes */
                   "0101010101010101010101010101010101010101010101010101010101010101\","
                   "\"31\":\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"},"
                   "\"sha384\":{}}",
                   &pv),
              CS_OK);
    EXPECT_EQ(pv.is_present[CS_TPM_BANK_SHA1], 1u);
    EXPECT_EQ(pv.is_present[CS_TPM_BANK_SHA256], (1u << 23) | (1u << 31));
    EXPECT_EQ(pv.is_present[CS_TPM_BANK_SHA384], 0);
    EXPECT_EQ(pv.value[CS_TPM_BANK_SHA1][0][19], 0xff);
    EXPECT_EQ(pv.value[CS_TPM_BANK_SHA256][23][0], 0x01);
    EXPECT_EQ(pcrs("{}", &pv), CS_OK);
    EXPECT_EQ(pv.is_present[CS_TPM_BANK_SHA256], 0);

    static const char zero20[] = "\"0000000000000000000000000000000000000000\"";
    struct {
        const char *fmt;
        cs_code want;
    } bad[] = {
        { "{\"sha512\":{}}", CS_E_UNSUPPORTED },
        { "{\"SHA1\":{}}", CS_E_UNSUPPORTED },
        { "{\"sha1\":{\"01\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"32\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"-1\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"1a\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"100\":@}}", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":\"00\"}}", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":\"000000000000000000000000000000000000000g\"}}", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":\"0x00000000000000000000000000000000000000\"}}", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":0}}", CS_E_FORMAT },
        { "{\"sha1\":[@]}", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":@,\"0\":@}}", CS_E_FORMAT },
        { "[]", CS_E_FORMAT },
        { "{\"sha1\":{\"0\":@}", CS_E_FORMAT },
        { "", CS_E_TRUNCATED },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        expand(bad[i].fmt, zero20, text, sizeof text);
        cs_code got = pcrs(text, &pv);
        if (got != bad[i].want) {
            fprintf(stderr, "pcrs %s: got %s\n", text, custos_code_name(got));
            EXPECT_EQ(got, bad[i].want);
        }
    }
    size_t big_len = CS_TPM_PCRS_JSON_MAX + 1;
    uint8_t *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    EXPECT_ERR(cs_tpm_pcrs_parse(cs_cur_of(big, big_len), &pv), CS_E_TOO_LARGE);
    free(big);

    enum cs_tpm_bank b;
    EXPECT_OK(cs_tpm_bank_of(CS_TPM_ALG_SHA384, &b));
    EXPECT_EQ(b, CS_TPM_BANK_SHA384);
    EXPECT_ERR(cs_tpm_bank_of(0x000d, &b), CS_E_UNSUPPORTED);
}

CS_TEST_MAIN(CS_TEST(test_quote_fields), CS_TEST(test_quote_truncations_and_trailing),
             CS_TEST(test_quote_ceilings_and_allowlists), CS_TEST(test_signature),
             CS_TEST(test_alg_names), CS_TEST(test_pcrs_json))
