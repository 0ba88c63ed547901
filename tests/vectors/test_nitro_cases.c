/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * nitro is verified at its instant (document.cbor against trust_anchor.pem, loaded the
 * way `custos verify --collateral DIR` loads it), and the verdict, error class (or one of
 * error_class_alt), debug flag and published claims are compared with its case.json,
 * including every variant (byte mutations and other instants). Expectations are read from
 * the files, never copied into this code. A claim given as an object (pcrs) is compared
 * entry by entry: case.json lists some PCRs, the verdict all of them.
 */
#include <jansson.h>

#include "cs_cases.h"
#include "cs_test.h"
#include "custos/nitro.h"

/* The only file a nitro variant can name besides the anchor (a collateral failure). */
static const char *const doc_file[] = { "document.cbor" };

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when collateral failed */
};

static struct outcome run(const char *dir, const struct cs_blob *doc, int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_nitro_collateral *c = NULL;
    cs_res r = custos_nitro_collateral_load_dir(dir, &diag, &c);
    if (!cs_ok(r)) {
        fprintf(stderr, "%s: collateral: %s\n", dir, diag.msg);
        o.code = r.code;
        return o;
    }
    struct custos_verdict *v = NULL;
    r = custos_nitro_verify(c, doc->p, doc->len, NULL, 0, at, &v);
    o.code = r.code;
    o.verdict = cs_case_verdict_json(v);
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    char *claims = NULL; /* unverified claims never leave the verdict */
    EXPECT_ERR(custos_verdict_claims_json(v, &claims), r.code == CS_OK ? CS_OK : CS_E_POLICY);
    custos_free(claims);
    custos_verdict_free(v);
    custos_nitro_collateral_free(c);
    return o;
}

static void check(const char *id, const char *what, const json_t *expect, struct outcome o)
{
    char label[96];
    snprintf(label, sizeof label, "%s %s", id, what);
    if (!cs_case_check_code(label, expect, o.code)) {
        return;
    }
    EXPECT_TRUE(o.verdict != NULL);
    if (o.verdict == NULL) {
        return;
    }
    if (o.code == CS_OK) {
        EXPECT_STR_EQ(json_string_value(json_object_get(o.verdict, "platform")), "nitro");
    }
    cs_case_check_claims(label, expect, o.verdict, true);
}

struct case_ctx {
    const char *dir;
    const char *id;
};

static void run_variant(const struct cs_case_files *cf, const char *desc, const json_t *expect,
                        int64_t at, void *ctx)
{
    const struct case_ctx *cc = ctx;
    EXPECT_TRUE(cf->f[0].p != NULL);
    struct outcome o = run(cc->dir, &cf->f[0], at);
    check(cc->id, desc, expect, o);
    json_decref(o.verdict);
}

static int run_case(const char *dir, const char *id, const json_t *cj, void *ctx)
{
    int *n_variants = ctx;
    struct case_ctx cc = { dir, id };
    int64_t at = cs_case_instant(cj, 0);
    struct cs_case_files cf;
    cs_case_files_load(dir, doc_file, 1, &cf);
    run_variant(&cf, "", json_object_get(cj, "expect"), at, &cc);
    cs_case_files_clear(&cf);
    *n_variants += cs_case_each_variant(dir, cj, at, doc_file, 1, run_variant, &cc);
    return 1;
}

static void test_every_nitro_case(void)
{
    static const char *const platforms[] = { "nitro", NULL };
    int n_variants = 0;
    int ran = cs_case_walk(platforms, run_case, &n_variants);
    printf("%d Nitro cases and %d variants checked\n", ran, n_variants);
    EXPECT_TRUE(ran >= 4); /* the folder holds A01, A02, A05 and A07 today */
}

CS_TEST_MAIN(CS_TEST(test_every_nitro_case))
