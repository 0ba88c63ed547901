/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * tpm is verified at its instant with the nonce its case.json publishes
 * (expect.claims.nonce), and the verdict, error class (or one of error_class_alt), debug
 * flag and published claims are compared with case.json, including its variants (byte
 * mutations of any file, other instants). Each case runs twice: through the pieces API
 * (custos_tpm_trust_new + custos_tpm_verify) and through the directory loader the CLI
 * uses, with identical verdicts. Expectations are read from the files, never copied here.
 */
#include <jansson.h>

#include "core/cs_hex.h"
#include "cs_cases.h"
#include "cs_test.h"
#include "custos/tpm.h"

enum { F_QUOTE, F_SIG, F_PCRS, F_AK_CERT, F_CA_CHAIN, F_ANCHOR, F_AK_PUB, N_FILES };
static const char *const file_names[N_FILES] = {
    [F_QUOTE] = "quote.bin",     [F_SIG] = "signature.bin",     [F_PCRS] = "pcrs.json",
    [F_AK_CERT] = "ak_cert.der", [F_CA_CHAIN] = "ca_chain.pem", [F_ANCHOR] = "trust_anchor.pem",
    [F_AK_PUB] = "ak_pub.pem",
};

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when the trust failed */
};

static struct outcome run(const struct cs_case_files *cf, const struct custos_bytes *nonce,
                          int64_t at)
{
    struct custos_tpm_trust_src src = { 0 };
    if (cf->f[F_AK_PUB].p != NULL) {
        src.ak_pub = cs_case_bytes(cf, F_AK_PUB);
    } else {
        src.trust_anchor = cs_case_bytes(cf, F_ANCHOR);
        src.ca_chain = cs_case_bytes(cf, F_CA_CHAIN);
    }
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_tpm_trust *t = NULL;
    cs_res r = custos_tpm_trust_new(&src, &diag, &t);
    if (!cs_ok(r)) {
        o.code = r.code;
        return o;
    }
    struct custos_tpm_evidence ev = {
        .quote = cs_case_bytes(cf, F_QUOTE),
        .signature = cs_case_bytes(cf, F_SIG),
        .pcrs = cs_case_bytes(cf, F_PCRS),
        .ak_cert = cs_case_bytes(cf, F_AK_CERT),
    };
    struct custos_verdict *v = NULL;
    r = custos_tpm_verify(t, &ev, nonce, at, &v);
    o.code = r.code;
    o.verdict = cs_case_verdict_json(v);
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    return o;
}

/* The same case through the directory loader (unmutated files only). */
static struct outcome run_dir(const char *dir, const struct cs_case_files *cf,
                              const struct custos_bytes *nonce, int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_tpm_dir *d = NULL;
    cs_res r = custos_tpm_dir_load(dir, &diag, &d);
    if (!cs_ok(r)) {
        o.code = r.code;
        return o;
    }
    struct custos_verdict *v = NULL;
    r = custos_tpm_dir_verify(d, cf->f[F_QUOTE].p, cf->f[F_QUOTE].len, nonce, at, &v);
    o.code = r.code;
    o.verdict = cs_case_verdict_json(v);
    custos_verdict_free(v);
    custos_tpm_dir_free(d);
    return o;
}

static void check(const char *id, const char *what, const json_t *expect, struct outcome o)
{
    char label[128];
    snprintf(label, sizeof label, "%s %s", id, what);
    if (!cs_case_check_code(label, expect, o.code) || o.verdict == NULL) {
        return;
    }
    EXPECT_STR_EQ(json_string_value(json_object_get(o.verdict, "platform")), "tpm");
    cs_case_check_claims(label, expect, o.verdict, false);
}

/* The nonce a case publishes (expect.claims.nonce), decoded; false when it has none. */
static bool expected_nonce(const json_t *expect, uint8_t buf[64], struct custos_bytes *out)
{
    const json_t *n = json_object_get(json_object_get(expect, "claims"), "nonce");
    if (!json_is_string(n)) {
        return false;
    }
    size_t len = json_string_length(n);
    EXPECT_TRUE(len % 2 == 0 && len / 2 <= 64);
    EXPECT_OK(cs_hex_decode(json_string_value(n), len, buf, len / 2));
    *out = (struct custos_bytes){ buf, len / 2 };
    return true;
}

struct case_ctx {
    const char *id;
    const struct custos_bytes *nonce; /* the case's, or NULL */
};

/* A variant: with the nonce it publishes, else the case's. */
static void run_variant(const struct cs_case_files *cf, const char *desc, const json_t *expect,
                        int64_t at, void *ctx)
{
    const struct case_ctx *cc = ctx;
    uint8_t vbuf[64];
    struct custos_bytes vnonce;
    bool has_vnonce = expected_nonce(expect, vbuf, &vnonce);
    struct outcome vo = run(cf, has_vnonce ? &vnonce : cc->nonce, at);
    check(cc->id, desc, expect, vo);
    json_decref(vo.verdict);
}

static int run_case(const char *dir, const char *id, const json_t *cj, void *ctx)
{
    (void)ctx;
    int64_t at = cs_case_instant(cj, 0);
    const json_t *expect = json_object_get(cj, "expect");
    uint8_t nbuf[64];
    struct custos_bytes nonce;
    bool has_nonce = expected_nonce(expect, nbuf, &nonce);
    struct cs_case_files cf;
    cs_case_files_load(dir, file_names, N_FILES, &cf);
    struct outcome o = run(&cf, has_nonce ? &nonce : NULL, at);
    check(id, "", expect, o);
    struct outcome od = run_dir(dir, &cf, has_nonce ? &nonce : NULL, at);
    EXPECT_EQ(od.code, o.code);
    EXPECT_TRUE(json_equal(od.verdict, o.verdict));
    json_decref(od.verdict);
    json_decref(o.verdict);
    cs_case_files_clear(&cf);

    struct case_ctx cc = { id, has_nonce ? &nonce : NULL };
    (void)cs_case_each_variant(dir, cj, at, file_names, N_FILES, run_variant, &cc);
    return 1;
}

static void test_every_tpm_case(void)
{
    static const char *const platforms[] = { "tpm", NULL };
    int ran = cs_case_walk(platforms, run_case, NULL);
    printf("%d TPM cases checked\n", ran);
    EXPECT_TRUE(ran >= 6); /* the folder holds 6 GCE vTPM cases today */
}

CS_TEST_MAIN(CS_TEST(test_every_tpm_case))
