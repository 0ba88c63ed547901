/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * tdx or sgx is verified at its instant, and the verdict, TCB status, advisories, error
 * class, debug flag and published claims are compared with its case.json, including its
 * variants (byte mutations and other instants). Expectations are read from the files,
 * never copied into this code.
 */
#include <jansson.h>

#include "cs_cases.h"
#include "cs_test.h"
#include "custos/dcap.h"

static const char *const file_names[] = {
    "quote.bin",   "tcb_info.json",   "tcb_info_issuer_chain.pem", "qe_identity.json",
    "qe_identity_issuer_chain.pem", "pck_crl.der", "root_ca_crl.der", "trust_anchor.pem",
};
#define N_FILES (sizeof file_names / sizeof file_names[0])

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when collateral failed */
};

static struct outcome run(const struct cs_case_files *cf, int64_t at)
{
    struct custos_dcap_collateral_src src = {
        .tcb_info = cs_case_bytes(cf, 1), .tcb_info_chain = cs_case_bytes(cf, 2),
        .qe_identity = cs_case_bytes(cf, 3), .qe_identity_chain = cs_case_bytes(cf, 4),
        .pck_crl = cs_case_bytes(cf, 5), .root_ca_crl = cs_case_bytes(cf, 6),
        .trust_anchor = cs_case_bytes(cf, 7),
    };
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_dcap_collateral *c = NULL;
    cs_res r = custos_dcap_collateral_new(&src, &diag, &c);
    if (!cs_ok(r)) {
        o.code = r.code;
        return o;
    }
    if (cf->f[0].p == NULL) { /* collateral-only case */
        o.code = custos_dcap_collateral_check(c, at, &diag).code;
        custos_dcap_collateral_free(c);
        return o;
    }
    struct custos_verdict *v = NULL;
    r = custos_dcap_verify(c, cf->f[0].p, cf->f[0].len, at, &v);
    o.code = r.code;
    o.verdict = cs_case_verdict_json(v);
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    custos_verdict_free(v);
    custos_dcap_collateral_free(c);
    return o;
}

static bool same_set(const json_t *a, const json_t *b)
{
    if (json_array_size(a) != json_array_size(b)) {
        return false;
    }
    size_t i, j;
    const json_t *x, *y;
    json_array_foreach(a, i, x)
    {
        bool is_found = false;
        json_array_foreach(b, j, y)
        {
            is_found |= json_equal(x, y);
        }
        if (!is_found) {
            return false;
        }
    }
    return true;
}

static void check(const char *id, const char *what, const json_t *expect, struct outcome o)
{
    char label[64];
    snprintf(label, sizeof label, "%s %s", id, what);
    if (!cs_case_check_code(label, expect, o.code) || o.verdict == NULL) {
        return;
    }
    const json_t *status = json_object_get(expect, "tcb_status");
    if (status != NULL) {
        EXPECT_STR_EQ(json_string_value(json_object_get(o.verdict, "tcb_status")),
                      json_string_value(status));
    }
    const json_t *adv = json_object_get(expect, "advisory_ids");
    if (adv != NULL) {
        EXPECT_TRUE(same_set(adv, json_object_get(o.verdict, "advisory_ids")));
    }
    cs_case_check_claims(label, expect, o.verdict, false);
}

static void run_variant(const struct cs_case_files *cf, const char *desc, const json_t *expect,
                        int64_t at, void *ctx)
{
    struct outcome o = run(cf, at);
    check(ctx, desc, expect, o);
    json_decref(o.verdict);
}

static int run_case(const char *dir, const char *id, const json_t *cj, void *ctx)
{
    (void)ctx;
    int64_t at = cs_case_instant(cj, 0);
    struct cs_case_files cf;
    cs_case_files_load(dir, file_names, N_FILES, &cf);
    run_variant(&cf, "", json_object_get(cj, "expect"), at, (void *)(uintptr_t)id);
    cs_case_files_clear(&cf);
    (void)cs_case_each_variant(dir, cj, at, file_names, N_FILES, run_variant,
                               (void *)(uintptr_t)id);
    return 1;
}

static void test_every_intel_case(void)
{
    static const char *const platforms[] = { "tdx", "sgx", NULL };
    int ran = cs_case_walk(platforms, run_case, NULL);
    printf("%d Intel cases checked\n", ran);
    EXPECT_TRUE(ran >= 12); /* the folder holds 10 TDX + 2 SGX cases today */
}

CS_TEST_MAIN(CS_TEST(test_every_intel_case))
