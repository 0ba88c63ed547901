/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * snp is verified at its instant, and the verdict, error class (or one of its
 * error_class_alt), debug flag, product and published claims are compared with its
 * case.json, including its variants (byte mutations and other instants). Expectations are
 * read from the files, never copied into this code. Each case is verified twice: through
 * custos_snp_collateral_load_dir (the CLI's path) and through custos_snp_collateral_new
 * with the files in memory (mutations apply there).
 */
#include <jansson.h>

#include "cs_cases.h"
#include "cs_test.h"
#include "custos/snp.h"

enum { F_REPORT, F_ANCHOR, F_CHAIN, F_VCEK, F_VLEK, F_CRL_DER, F_CRL_PEM, N_FILES };
static const char *const file_names[N_FILES] = {
    [F_REPORT] = "report.bin", [F_ANCHOR] = "trust_anchor.pem", [F_CHAIN] = "ca_chain.pem",
    [F_VCEK] = "vcek.der",     [F_VLEK] = "vlek.der",           [F_CRL_DER] = "crl.der",
    [F_CRL_PEM] = "crl.pem",
};

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when the collateral failed */
};

static struct outcome verify_with(struct custos_snp_collateral *c, const struct cs_blob *report,
                                  int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_verdict *v = NULL;
    cs_res r = custos_snp_verify(c, report->p, report->len, at, &v);
    o.code = r.code;
    o.verdict = cs_case_verdict_json(v);
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    EXPECT_STR_EQ(custos_verdict_platform(v), "snp");
    custos_verdict_free(v);
    return o;
}

static struct outcome run(const struct cs_case_files *cf, int64_t at)
{
    struct custos_snp_collateral_src src = {
        .trust_anchor = cs_case_bytes(cf, F_ANCHOR),
        .ca_chain = cs_case_bytes(cf, F_CHAIN),
        .vcek = cs_case_bytes(cf, F_VCEK),
        .vlek = cs_case_bytes(cf, F_VLEK),
        .crl = cs_case_bytes(cf, cf->f[F_CRL_DER].p != NULL ? F_CRL_DER : F_CRL_PEM),
    };
    struct custos_diag diag = { 0 };
    struct custos_snp_collateral *c = NULL;
    cs_res r = custos_snp_collateral_new(&src, &diag, &c);
    if (!cs_ok(r)) {
        EXPECT_TRUE(diag.msg[0] != '\0');
        return (struct outcome){ r.code, NULL };
    }
    struct outcome o = verify_with(c, &cf->f[F_REPORT], at);
    custos_snp_collateral_free(c);
    return o;
}

static void check(const char *id, const char *what, const json_t *expect, const char *product,
                  struct outcome o)
{
    char label[160];
    snprintf(label, sizeof label, "%s %s", id, what);
    if (!cs_case_check_code(label, expect, o.code) || o.verdict == NULL) {
        return;
    }
    const json_t *claims = json_object_get(o.verdict, "claims");
    if (o.code == CS_OK && product != NULL) {
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "product")), product);
    }
    cs_case_check_claims(label, expect, o.verdict, false);
}

/* The CLI's path: custos_snp_collateral_load_dir on the directory itself. */
static void check_load_dir(const char *dir, const char *id, const json_t *expect, int64_t at,
                           const struct cs_case_files *cf)
{
    struct custos_diag diag = { 0 };
    struct custos_snp_collateral *c = NULL;
    cs_res r = custos_snp_collateral_load_dir(dir, &diag, &c);
    if (!cs_ok(r)) {
        check(id, "(load_dir)", expect, NULL, (struct outcome){ r.code, NULL });
        return;
    }
    struct outcome o = verify_with(c, &cf->f[F_REPORT], at);
    check(id, "(load_dir)", expect, NULL, o);
    json_decref(o.verdict);
    custos_snp_collateral_free(c);
}

struct case_ctx {
    const char *id;
    const char *product;
};

static void run_variant(const struct cs_case_files *cf, const char *desc, const json_t *expect,
                        int64_t at, void *ctx)
{
    const struct case_ctx *cc = ctx;
    struct outcome o = run(cf, at);
    check(cc->id, desc, expect, cc->product, o);
    json_decref(o.verdict);
}

static int run_case(const char *dir, const char *id, const json_t *cj, void *ctx)
{
    (void)ctx;
    struct case_ctx cc = { id, json_string_value(json_object_get(cj, "product")) };
    int64_t at = cs_case_instant(cj, 0);
    struct cs_case_files cf;
    cs_case_files_load(dir, file_names, N_FILES, &cf);
    EXPECT_TRUE(cf.f[F_REPORT].p != NULL);
    run_variant(&cf, "", json_object_get(cj, "expect"), at, &cc);
    check_load_dir(dir, id, json_object_get(cj, "expect"), at, &cf);
    cs_case_files_clear(&cf);
    (void)cs_case_each_variant(dir, cj, at, file_names, N_FILES, run_variant, &cc);
    return 1;
}

static void test_every_snp_case(void)
{
    static const char *const platforms[] = { "snp", NULL };
    int ran = cs_case_walk(platforms, run_case, NULL);
    printf("%d SNP cases checked\n", ran);
    EXPECT_TRUE(ran >= 5); /* the folder holds 5 SNP cases today */
}

CS_TEST_MAIN(CS_TEST(test_every_snp_case))
