/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel DCAP verification against our own test PKI (src/sim/dcap_forge).
 *
 * Real Intel quotes and collateral take only the branches of Intel's production data:
 * every TCB level UpToDate, no revoked PCK, no expiring window. Here each test forges a
 * case that differs from a verifying default in exactly one respect and checks, through
 * the public API only (custos_dcap_collateral_new + custos_dcap_verify, the verdict
 * code, TCB status, advisory IDs and claims), that verification stops at the check that
 * respect is about, with the code that check documents. Keys are generated once per run.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/dcap.h"
#include "sim/dcap_forge.h"

#define AT CS_FORGE_AT_DEFAULT

/* ---- helpers ---------------------------------------------------------------------- */

static struct cs_forge_keys *g_keys;

static void keys_free_at_exit(void)
{
    cs_forge_keys_free(g_keys);
    g_keys = NULL;
}

/* The one PKI of this run: key generation is the only slow step, so it happens once. */
static struct cs_forge_keys *keys(void)
{
    if (g_keys == NULL) {
        cs_res r = cs_forge_keys_new(&g_keys);
        if (!cs_ok(r)) {
            fprintf(stderr, "cannot generate the test PKI keys: %s\n", custos_code_name(r.code));
            abort();
        }
        atexit(keys_free_at_exit);
    }
    return g_keys;
}

static void opts(struct cs_forge_opts *o, uint16_t version, enum cs_intel_body body)
{
    cs_forge_opts_init(o, version, body, AT);
}

static void tdx(struct cs_forge_opts *o)
{
    opts(o, 4, CS_INTEL_BODY_TDX10);
}

static void sgx(struct cs_forge_opts *o)
{
    opts(o, 3, CS_INTEL_BODY_SGX);
}

/* What became of one forged case. */
struct outcome {
    cs_code load;    /* custos_dcap_collateral_new */
    cs_code verify;  /* custos_dcap_verify; CS_E__COUNT when not reached */
    char status[48]; /* custos_verdict_tcb_status, "" when NULL */
    json_t *json;    /* custos_verdict_to_json, parsed; NULL when not reached */
};

static void outcome_clear(struct outcome *out)
{
    json_decref(out->json);
    out->json = NULL;
}

static const json_t *claims_of(const struct outcome *out)
{
    return json_object_get(out->json, "claims");
}

static const char *message_of(const struct outcome *out)
{
    const char *m =
        json_string_value(json_object_get(json_object_get(out->json, "error"), "message"));
    return m != NULL ? m : "";
}

static void verify_into(struct custos_dcap_collateral *coll, const struct cs_blob *quote,
                        int64_t at, struct outcome *out)
{
    struct custos_verdict *v = NULL;
    cs_res r = custos_dcap_verify(coll, quote->p, quote->len, at, &v);
    out->verify = r.code;
    out->status[0] = '\0';
    json_decref(out->json);
    out->json = NULL;
    EXPECT_TRUE(v != NULL);
    if (v == NULL) {
        return;
    }
    EXPECT_EQ(custos_verdict_code(v), r.code);
    EXPECT_EQ(custos_verdict_is_verified(v), r.code == CS_OK);
    const char *status = custos_verdict_tcb_status(v);
    snprintf(out->status, sizeof out->status, "%s", status != NULL ? status : "");
    char *text = NULL;
    EXPECT_OK(custos_verdict_to_json(v, 0, &text));
    if (text != NULL) {
        out->json = json_loads(text, 0, NULL);
        EXPECT_TRUE(out->json != NULL);
        custos_free(text);
    }
    char *claims = NULL;
    /* unverified claims never leave the verdict */
    EXPECT_ERR(custos_verdict_claims_json(v, &claims), r.code == CS_OK ? CS_OK : CS_E_POLICY);
    custos_free(claims);
    custos_verdict_free(v);
}

static void case_clearp(struct cs_forge_case *c)
{
    cs_forge_case_clear(c);
}

/*
 * The collateral of recent cases, reused by later cases with byte-identical collateral
 * (the forge memoises its PKI and documents, so most tests, which change the quote only,
 * share a few): loading is the costly step, in OpenSSL 3.0 most of all. Results are the
 * same with a fresh collateral object (the API's PCK memo is invisible by contract).
 */
#define N_PARTS 7
#define N_MEMO 4
struct collateral_memo {
    struct cs_blob parts[N_PARTS]; /* owned copies (tv_dup) */
    struct custos_dcap_collateral *coll;
};
static struct collateral_memo g_memo[N_MEMO];
static size_t g_memo_next;

static void src_parts(const struct custos_dcap_collateral_src *s, struct custos_bytes out[N_PARTS])
{
    const struct custos_bytes parts[N_PARTS] = { s->tcb_info,    s->tcb_info_chain,
                                                 s->qe_identity, s->qe_identity_chain,
                                                 s->pck_crl,     s->root_ca_crl,
                                                 s->trust_anchor };
    memcpy(out, parts, sizeof parts);
}

static void memo_clear(struct collateral_memo *m)
{
    custos_dcap_collateral_free(m->coll);
    m->coll = NULL;
    for (size_t i = 0; i < N_PARTS; i++) {
        free(m->parts[i].p);
        m->parts[i] = (struct cs_blob){ NULL, 0 };
    }
}

static void memo_clear_all(void)
{
    for (size_t i = 0; i < N_MEMO; i++) {
        memo_clear(&g_memo[i]);
    }
}

static struct custos_dcap_collateral *memo_find(const struct custos_dcap_collateral_src *src)
{
    struct custos_bytes parts[N_PARTS];
    src_parts(src, parts);
    for (size_t m = 0; m < N_MEMO; m++) {
        bool is_same = g_memo[m].coll != NULL;
        for (size_t i = 0; i < N_PARTS && is_same; i++) {
            is_same = parts[i].len == g_memo[m].parts[i].len &&
                      memcmp(parts[i].p, g_memo[m].parts[i].p, parts[i].len) == 0;
        }
        if (is_same) {
            return g_memo[m].coll;
        }
    }
    return NULL;
}

/* Keeps coll (ownership moves to the memo) as the collateral of src. */
static void memo_add(const struct custos_dcap_collateral_src *src,
                     struct custos_dcap_collateral *coll)
{
    static bool is_registered;
    if (!is_registered) {
        atexit(memo_clear_all);
        is_registered = true;
    }
    struct collateral_memo *m = &g_memo[g_memo_next];
    g_memo_next = (g_memo_next + 1) % N_MEMO;
    memo_clear(m);
    struct custos_bytes parts[N_PARTS];
    src_parts(src, parts);
    for (size_t i = 0; i < N_PARTS; i++) {
        m->parts[i] = (struct cs_blob){ tv_dup(parts[i].p, parts[i].len), parts[i].len };
    }
    m->coll = coll;
}

/* Forges the case of o, loads its collateral (or reuses it) and verifies at `at`. */
static void run_at(const struct cs_forge_opts *o, int64_t at, struct outcome *out)
{
    *out = (struct outcome){ .load = CS_E__COUNT, .verify = CS_E__COUNT };
    CS_AUTO(case_clearp) struct cs_forge_case c = { 0 };
    cs_res r = cs_forge_case_build(keys(), o, &c);
    if (!cs_ok(r)) {
        CS_T_FAIL_("forging the case: %s (%s:%u)", custos_code_name(r.code), r.file, r.line);
        return;
    }
    struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
    struct custos_dcap_collateral *known = memo_find(&src);
    if (known != NULL) {
        out->load = CS_OK;
        verify_into(known, &c.quote, at, out);
        return;
    }
    struct custos_dcap_collateral *coll = NULL;
    struct custos_diag diag = { 0 };
    out->load = custos_dcap_collateral_new(&src, &diag, &coll).code;
    if (out->load != CS_OK) {
        EXPECT_TRUE(coll == NULL);
        EXPECT_EQ(diag.code, out->load);
        return;
    }
    verify_into(coll, &c.quote, at, out);
    memo_add(&src, coll);
}

/* Expects the collateral to load and the quote to end with `want` and TCB status
 * `status` (NULL: not checked; "": no status reached). `what` names the case. */
static void expect_verify(const char *what, const struct cs_forge_opts *o, cs_code want,
                          const char *status)
{
    struct outcome out;
    run_at(o, o->at, &out);
    bool is_ok = out.load == CS_OK && out.verify == want &&
                 (status == NULL || strcmp(out.status, status) == 0);
    if (!is_ok) {
        CS_T_FAIL_("%s: load %s, verify %s (want %s), status \"%s\" (want \"%s\"): %s", what,
                   custos_code_name(out.load), custos_code_name(out.verify), custos_code_name(want),
                   out.status, status != NULL ? status : "*", message_of(&out));
    }
    outcome_clear(&out);
}

/* Expects custos_dcap_collateral_new itself to reject the collateral with `want`. */
static void expect_load_fails(const char *what, const struct cs_forge_opts *o, cs_code want)
{
    struct outcome out;
    run_at(o, o->at, &out);
    if (out.load != want) {
        CS_T_FAIL_("%s: load %s, want %s", what, custos_code_name(out.load),
                   custos_code_name(want));
    }
    outcome_clear(&out);
}

static void expect_claim_hex(const struct outcome *out, const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 128 + 1];
    EXPECT_TRUE(n <= 128);
    EXPECT_OK(cs_hex_encode(p, n, hex, sizeof hex));
    EXPECT_STR_EQ(json_string_value(json_object_get(claims_of(out), key)), hex);
}

static void expect_advisories(const struct outcome *out, const char *const *want, size_t n)
{
    const json_t *top = json_object_get(out->json, "advisory_ids");
    const json_t *in_claims = json_object_get(claims_of(out), "advisory_ids");
    EXPECT_TRUE(json_is_array(top));
    EXPECT_EQ(json_array_size(top), n);
    EXPECT_TRUE(json_equal(top, in_claims));
    for (size_t i = 0; i < n && i < json_array_size(top); i++) {
        EXPECT_STR_EQ(json_string_value(json_array_get(top, i)), want[i]);
    }
}

/* ---- quotes that verify ----------------------------------------------------------- */

static void test_default_tdx_v4_verifies(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.load, CS_OK);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_STR_EQ(json_string_value(json_object_get(out.json, "platform")), "tdx");
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "quote_version")), 4);
    EXPECT_TRUE(json_is_false(json_object_get(claims_of(&out), "debug")));
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "trailing_bytes")), 0);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "qe_svn")), 4);
    expect_claim_hex(&out, "report_data", o.tdx.report_data, sizeof o.tdx.report_data);
    expect_claim_hex(&out, "mr_td", o.tdx.mr_td, sizeof o.tdx.mr_td);
    expect_claim_hex(&out, "rtmr3", o.tdx.rtmr[3], sizeof o.tdx.rtmr[3]);
    expect_claim_hex(&out, "td_attributes", o.tdx.td_attributes, sizeof o.tdx.td_attributes);
    expect_claim_hex(&out, "tee_tcb_svn", o.tdx.tee_tcb_svn, sizeof o.tdx.tee_tcb_svn);
    expect_claim_hex(&out, "fmspc", o.pck.fmspc, sizeof o.pck.fmspc);
    expect_claim_hex(&out, "pceid", o.pck.pce_id, sizeof o.pck.pce_id);
    expect_claim_hex(&out, "cpusvn", o.pck.cpu_svn, sizeof o.pck.cpu_svn);
    expect_claim_hex(&out, "ppid", o.pck.ppid, sizeof o.pck.ppid);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "pcesvn")), o.pck.pce_svn);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "tcb_eval_num")), 17);
    EXPECT_TRUE(json_object_get(claims_of(&out), "tee_tcb_svn2") == NULL); /* TDX 1.0 body */
    /* the earliest expiry of the default windows is the TCB Info nextUpdate, at + 20 d */
    char expiry[CS_TIME_TEXT_LEN];
    EXPECT_OK(cs_time_format(AT + 20 * 86400, expiry));
    EXPECT_STR_EQ(json_string_value(json_object_get(claims_of(&out), "collateral_expiry")), expiry);
    expect_advisories(&out, NULL, 0);
    outcome_clear(&out);
}

static void test_default_tdx_v5_verifies(void)
{
    struct cs_forge_opts o;
    opts(&o, 5, CS_INTEL_BODY_TDX15);
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "quote_version")), 5);
    expect_claim_hex(&out, "tee_tcb_svn2", o.tdx.tee_tcb_svn2, sizeof o.tdx.tee_tcb_svn2);
    expect_claim_hex(&out, "mr_servicetd", o.tdx.mr_servicetd, sizeof o.tdx.mr_servicetd);
    expect_claim_hex(&out, "report_data", o.tdx.report_data, sizeof o.tdx.report_data);
    outcome_clear(&out);

    opts(&o, 5, CS_INTEL_BODY_TDX10);
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_STR_EQ(json_string_value(json_object_get(out.json, "platform")), "tdx");
    EXPECT_TRUE(json_object_get(claims_of(&out), "tee_tcb_svn2") == NULL);
    outcome_clear(&out);
}

static void test_default_sgx_v3_verifies(void)
{
    struct cs_forge_opts o;
    sgx(&o);
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.load, CS_OK);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_STR_EQ(json_string_value(json_object_get(out.json, "platform")), "sgx");
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "quote_version")), 3);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "qe_svn")), 8);
    EXPECT_TRUE(json_is_false(json_object_get(claims_of(&out), "debug")));
    expect_claim_hex(&out, "mr_enclave", o.sgx.mr_enclave, sizeof o.sgx.mr_enclave);
    expect_claim_hex(&out, "mr_signer", o.sgx.mr_signer, sizeof o.sgx.mr_signer);
    expect_claim_hex(&out, "report_data", o.sgx.report_data, sizeof o.sgx.report_data);
    expect_claim_hex(&out, "fmspc", o.pck.fmspc, sizeof o.pck.fmspc);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "isv_prod_id")), 1);
    outcome_clear(&out);
}

static void test_sgx_body_in_v4_and_v5_verifies(void)
{
    struct cs_forge_opts o;
    const uint16_t versions[2] = { 4, 5 };
    for (size_t i = 0; i < 2; i++) {
        opts(&o, versions[i], CS_INTEL_BODY_SGX); /* tee_type 0; v5 body type 1 */
        struct outcome out;
        run_at(&o, AT, &out);
        EXPECT_EQ(out.verify, CS_OK);
        EXPECT_STR_EQ(out.status, "UpToDate");
        EXPECT_STR_EQ(json_string_value(json_object_get(out.json, "platform")), "sgx");
        EXPECT_EQ(json_integer_value(json_object_get(claims_of(&out), "quote_version")),
                  versions[i]);
        expect_claim_hex(&out, "report_data", o.sgx.report_data, sizeof o.sgx.report_data);
        outcome_clear(&out);
    }
}

static void test_tcb_info_v2_sgx(void)
{
    struct cs_forge_opts o;
    sgx(&o);
    o.tcb_version = 2; /* sgxtcbcomp01svn..16svn, no id */
    expect_verify("TCB Info v2, SGX v3 quote", &o, CS_OK, "UpToDate");
    o.pck.pce_svn = 12; /* below the UpToDate level: the v2 OutOfDate level applies */
    expect_verify("TCB Info v2, lower PCESVN", &o, CS_OK, "OutOfDate");

    opts(&o, 4, CS_INTEL_BODY_SGX);
    o.tcb_version = 2;
    expect_verify("TCB Info v2, SGX body in v4", &o, CS_OK, "UpToDate");

    tdx(&o);
    o.tcb_version = 2;
    o.is_tcb_tdx = false; /* v2 has no id and no TDX levels: never for a TD */
    expect_verify("TCB Info v2 with a TDX quote", &o, CS_E_TCB, "");
}

static void test_processor_ca_verifies(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.is_processor_ca = true;
    expect_verify("PCK issued by the Processor CA", &o, CS_OK, "UpToDate");
    sgx(&o);
    o.is_processor_ca = true;
    expect_verify("SGX PCK issued by the Processor CA", &o, CS_OK, "UpToDate");
}

static void test_debug_attribute_is_a_claim(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tdx.td_attributes[0] |= 0x01; /* TD_ATTRIBUTES.DEBUG: policy's business, not TCB's */
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "UpToDate");
    EXPECT_TRUE(json_is_true(json_object_get(claims_of(&out), "debug")));
    outcome_clear(&out);

    sgx(&o);
    o.sgx.attributes[0] |= 0x02; /* SGX ATTRIBUTES.DEBUG */
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_TRUE(json_is_true(json_object_get(claims_of(&out), "debug")));
    outcome_clear(&out);
}

static void test_trailing_bytes_are_reported(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    struct outcome plain;
    run_at(&o, AT, &plain);
    EXPECT_EQ(plain.verify, CS_OK);

    o.trailing_len = 70; /* a guest buffer's zero padding, as in T01 */
    struct outcome padded;
    run_at(&o, AT, &padded);
    EXPECT_EQ(padded.verify, CS_OK);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&padded), "trailing_bytes")), 70);

    o.trailing_len = 39; /* non-zero bytes, as go-tdx-guest's tdx_prod_quote_SPR_E4.dat */
    o.trailing_byte = 'x';
    struct outcome junk;
    run_at(&o, AT, &junk);
    EXPECT_EQ(junk.verify, CS_OK);
    EXPECT_EQ(json_integer_value(json_object_get(claims_of(&junk), "trailing_bytes")), 39);
    outcome_clear(&plain);
    outcome_clear(&padded);
    outcome_clear(&junk);

    /* the evidence digest covers the quote only: the same for a quote with padding */
    struct cs_forge_case c;
    EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
    struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
    struct custos_dcap_collateral *coll = NULL;
    EXPECT_OK(custos_dcap_collateral_new(&src, NULL, &coll));
    if (coll != NULL) {
        struct outcome a = { 0 };
        struct outcome b = { 0 };
        verify_into(coll, &c.quote, AT, &a);
        struct cs_blob shorter = { c.quote.p, c.quote.len - o.trailing_len };
        verify_into(coll, &shorter, AT, &b);
        EXPECT_EQ(a.verify, CS_OK);
        EXPECT_EQ(b.verify, CS_OK);
        EXPECT_TRUE(json_equal(json_object_get(claims_of(&a), "evidence_sha256"),
                               json_object_get(claims_of(&b), "evidence_sha256")));
        outcome_clear(&a);
        outcome_clear(&b);
    }
    custos_dcap_collateral_free(coll);
    cs_forge_case_clear(&c);
}

/* ---- revocation and TCB status ---------------------------------------------------- */

static void test_revoked_pck(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.is_pck_leaf_revoked = true;
    expect_verify("PCK leaf on the PCK CRL", &o, CS_E_REVOKED, "");
    sgx(&o);
    o.is_pck_leaf_revoked = true;
    expect_verify("SGX PCK leaf on the PCK CRL", &o, CS_E_REVOKED, "");
    tdx(&o);
    o.is_pck_ca_revoked = true;
    expect_verify("PCK CA on the Root CA CRL", &o, CS_E_REVOKED, "");
}

static void test_platform_level_revoked(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tcb_levels[0].status = "Revoked";
    expect_verify("TDX platform level Revoked", &o, CS_E_REVOKED, "Revoked");
    sgx(&o);
    o.tcb_levels[0].status = "Revoked";
    expect_verify("SGX platform level Revoked", &o, CS_E_REVOKED, "Revoked");
}

/* The platform level is the first (highest) whose every SVN the platform meets. */
static void test_platform_level_selection(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tdx.tee_tcb_svn[2] = 1; /* below the UpToDate level's TDX component 2 */
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "OutOfDate");
    const char *const sa837[] = { "INTEL-SA-00837" };
    expect_advisories(&out, sa837, 1);
    outcome_clear(&out);

    tdx(&o);
    o.pck.comp_svn[4] = 2; /* SGX component 5 below the UpToDate level's 3 */
    expect_verify("lower SGX component", &o, CS_OK, "OutOfDate");
    tdx(&o);
    o.pck.pce_svn = 12;
    expect_verify("lower PCESVN", &o, CS_OK, "OutOfDate");
    sgx(&o);
    o.pck.comp_svn[7] = 4;
    expect_verify("SGX: lower SGX component", &o, CS_OK, "OutOfDate");
    tdx(&o);
    o.tdx.tee_tcb_svn[1] = 0; /* TDX 1.0: components 0 and 1 are compared, module too */
    o.tdx.tee_tcb_svn[0] = 0;
    expect_verify("TDX 1.0 module: no identity, levels from index 0", &o, CS_OK, "UpToDate");
}

static void test_no_matching_level(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    memset(o.pck.comp_svn, 0, sizeof o.pck.comp_svn);
    expect_verify("SGX components below every level", &o, CS_E_TCB, "");
    tdx(&o);
    o.pck.pce_svn = 4;
    expect_verify("PCESVN below every level", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.tee_tcb_svn[2] = 0;
    expect_verify("TDX component below every level", &o, CS_E_TCB, "");
    sgx(&o);
    o.pck.comp_svn[0] = 0;
    expect_verify("SGX: component below every level", &o, CS_E_TCB, "");
}

/*
 * Intel QVL TdxModuleCheck.cpp convergeTcbStatusWithTdxModuleStatus and
 * QuoteVerifier.cpp convergeTcbStatusWithQeTcbStatus, written out independently of
 * src/verify: an OutOfDate module or QE lowers UpToDate/SWHardeningNeeded to OutOfDate
 * and the two Configuration statuses to OutOfDateConfigurationNeeded; Revoked wins.
 */
static const char *intel_converge(const char *platform, const char *other)
{
    if (strcmp(other, "Revoked") == 0) {
        return "Revoked";
    }
    if (strcmp(other, "OutOfDate") != 0) {
        return platform;
    }
    if (strcmp(platform, "UpToDate") == 0 || strcmp(platform, "SWHardeningNeeded") == 0) {
        return "OutOfDate";
    }
    if (strcmp(platform, "ConfigurationNeeded") == 0 ||
        strcmp(platform, "ConfigurationAndSWHardeningNeeded") == 0) {
        return "OutOfDateConfigurationNeeded";
    }
    return platform;
}

static void test_status_convergence(void)
{
    static const char *const platform[] = {
        "UpToDate",
        "SWHardeningNeeded",
        "ConfigurationNeeded",
        "OutOfDate",
        "OutOfDateConfigurationNeeded",
        "ConfigurationAndSWHardeningNeeded",
        "Revoked",
    };
    /* SVNs that select the UpToDate, OutOfDate and Revoked levels of the defaults */
    static const struct {
        const char *status;
        uint8_t module_svn; /* TDX_01 levels 4, 2, 1 */
        uint16_t qe_svn;    /* TD_QE levels 4, 2, 1 */
    } other[] = { { "UpToDate", 4, 4 }, { "OutOfDate", 3, 3 }, { "Revoked", 1, 1 } };

    for (size_t p = 0; p < sizeof platform / sizeof platform[0]; p++) {
        for (size_t m = 0; m < 3; m++) {
            for (size_t q = 0; q < 3; q++) {
                struct cs_forge_opts o;
                tdx(&o);
                o.tcb_levels[0].status = platform[p];
                o.tdx.tee_tcb_svn[0] = other[m].module_svn;
                o.qe_report.isv_svn = other[q].qe_svn;
                const char *want =
                    intel_converge(intel_converge(platform[p], other[m].status), other[q].status);
                char what[160];
                snprintf(what, sizeof what, "platform %s, module %s, QE %s", platform[p],
                         other[m].status, other[q].status);
                cs_code code = strcmp(want, "Revoked") == 0 ? CS_E_REVOKED : CS_OK;
                expect_verify(what, &o, code, want);
            }
        }
    }

    /* SGX: platform and QE only */
    for (size_t p = 0; p < sizeof platform / sizeof platform[0]; p++) {
        struct cs_forge_opts o;
        sgx(&o);
        o.tcb_levels[0].status = platform[p];
        o.qe_report.isv_svn = 7; /* QE levels 8, 6, 1: the OutOfDate one */
        const char *want = intel_converge(platform[p], "OutOfDate");
        char what[160];
        snprintf(what, sizeof what, "SGX platform %s, QE OutOfDate", platform[p]);
        expect_verify(what, &o, strcmp(want, "Revoked") == 0 ? CS_E_REVOKED : CS_OK, want);
    }
}

static void test_advisories_are_a_deduplicated_union(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    struct cs_forge_tcb_level *pl = &o.tcb_levels[0];
    struct cs_forge_isv_level *ml = &o.module_ids[1].levels[0]; /* TDX_01, SVN 4 */
    struct cs_forge_isv_level *ql = &o.qe_levels[0];
    EXPECT_STR_EQ(o.module_ids[1].id, "TDX_01");
    pl->status = "SWHardeningNeeded";
    pl->advisory_ids[0] = "INTEL-SA-00001";
    pl->advisory_ids[1] = "INTEL-SA-00002";
    ml->advisory_ids[0] = "INTEL-SA-00002";
    ml->advisory_ids[1] = "INTEL-SA-00003";
    ql->advisory_ids[0] = "INTEL-SA-00003";
    ql->advisory_ids[1] = "INTEL-SA-00004";
    ql->advisory_ids[2] = "INTEL-SA-00001";
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    EXPECT_STR_EQ(out.status, "SWHardeningNeeded");
    const char *const all[] = { "INTEL-SA-00001", "INTEL-SA-00002", "INTEL-SA-00003",
                                "INTEL-SA-00004" };
    expect_advisories(&out, all, 4);
    outcome_clear(&out);

    sgx(&o);
    o.tcb_levels[0].advisory_ids[0] = "INTEL-SA-00615";
    o.qe_levels[0].advisory_ids[0] = "INTEL-SA-00615";
    o.qe_levels[0].advisory_ids[1] = "INTEL-SA-00657";
    run_at(&o, AT, &out);
    EXPECT_EQ(out.verify, CS_OK);
    const char *const sgx_all[] = { "INTEL-SA-00615", "INTEL-SA-00657" };
    expect_advisories(&out, sgx_all, 2);
    outcome_clear(&out);
}

/* ---- TDX module ------------------------------------------------------------------- */

static void test_tdx_module_identity(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tdx.tee_tcb_svn[1] = 5; /* TDX_05: not in the TCB Info */
    expect_verify("module TDX_05 has no identity", &o, CS_E_TCB, "");
    opts(&o, 5, CS_INTEL_BODY_TDX15);
    o.n_module_ids = 0;
    expect_verify("TDX 1.5 quote, TCB Info without identities", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.tee_tcb_svn[0] = 0; /* TDX_01 levels are 4, 2, 1 */
    expect_verify("module SVN below every TDX_01 level", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.tee_tcb_svn[1] = 3; /* TDX_03, one UpToDate level at SVN 3 */
    o.tdx.tee_tcb_svn[0] = 3;
    expect_verify("module TDX_03", &o, CS_OK, "UpToDate");
    o.tdx.tee_tcb_svn[0] = 2;
    expect_verify("module TDX_03 below its level", &o, CS_E_TCB, "");
}

static void test_seam_checks(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tdx.mrsigner_seam[47] = 1;
    expect_verify("MRSIGNER_SEAM is not Intel's", &o, CS_E_TCB, "");
    tdx(&o);
    o.module_ids[1].mrsigner[0] = 0xaa; /* TDX_01 names another signer */
    expect_verify("MRSIGNER_SEAM differs from the TDX_01 identity", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.tee_tcb_svn[1] = 0; /* TDX 1.0: judged against tdxModule */
    o.tdx.mrsigner_seam[0] = 1;
    expect_verify("TDX 1.0: MRSIGNER_SEAM differs from tdxModule", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.seam_attributes[0] = 1;
    expect_verify("SEAM_ATTRIBUTES not zero", &o, CS_E_TCB, "");
    tdx(&o);
    o.tdx.seam_attributes[7] = 0x80;
    o.module_ids[1].attributes_mask[7] = 0; /* even where the identity does not look */
    expect_verify("SEAM_ATTRIBUTES not zero outside the mask", &o, CS_E_TCB, "");
}

/* ---- the TCB Info and QE Identity must be for this platform ----------------------- */

static void test_collateral_for_another_platform(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.tcb_fmspc[5] = 0x01;
    expect_verify("TCB Info for another FMSPC", &o, CS_E_TCB, "");
    tdx(&o);
    o.tcb_pce_id[1] = 0x01;
    expect_verify("TCB Info for another PCE-ID", &o, CS_E_TCB, "");
    sgx(&o);
    o.pck.fmspc[0] = 0x30;
    expect_verify("SGX: PCK of another FMSPC", &o, CS_E_TCB, "");
    tdx(&o);
    o.is_tcb_tdx = false; /* an SGX TCB Info (no tdxModule) */
    expect_verify("SGX TCB Info with a TDX quote", &o, CS_E_TCB, "");
    sgx(&o);
    o.is_tcb_tdx = true;
    expect_verify("TDX TCB Info with an SGX quote", &o, CS_E_TCB, "");
    tdx(&o);
    o.is_qe_tdx = false; /* id "QE" */
    expect_verify("SGX QE Identity with a TDX quote", &o, CS_E_BINDING, "");
    sgx(&o);
    o.is_qe_tdx = true;
    expect_verify("TD_QE Identity with an SGX quote", &o, CS_E_BINDING, "");
}

/* ---- quote structure -------------------------------------------------------------- */

static void test_qe_vendor(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.qe_vendor_id[15] ^= 1;
    expect_verify("QE vendor is not Intel", &o, CS_E_UNSUPPORTED, "");
    sgx(&o);
    memset(o.qe_vendor_id, 0, sizeof o.qe_vendor_id);
    expect_verify("SGX: zero QE vendor", &o, CS_E_UNSUPPORTED, "");
}

static void test_certification_data_types(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.cert_type_outer = CS_INTEL_CERT_PCK_CHAIN; /* v4 must wrap in type 6 */
    expect_verify("v4 outer type 5", &o, CS_E_UNSUPPORTED, "");
    tdx(&o);
    o.cert_type_outer = 7;
    expect_verify("v4 outer type 7", &o, CS_E_UNSUPPORTED, "");
    tdx(&o);
    o.cert_type_inner = 4; /* PCK_CLEARTEXT: would need the PCK from PCS */
    expect_verify("v4 inner type 4", &o, CS_E_UNSUPPORTED, "");
    opts(&o, 5, CS_INTEL_BODY_TDX15);
    o.cert_type_inner = CS_INTEL_CERT_QE_REPORT;
    expect_verify("v5 inner type 6", &o, CS_E_UNSUPPORTED, "");
    sgx(&o);
    o.cert_type_inner = CS_INTEL_CERT_QE_REPORT;
    expect_verify("v3 type 6", &o, CS_E_UNSUPPORTED, "");
    sgx(&o);
    o.cert_type_inner = 3; /* PPID_RSA3072_ENCRYPTED */
    expect_verify("v3 type 3", &o, CS_E_UNSUPPORTED, "");
}

/* ---- QE report binding and identity ---------------------------------------------- */

static void test_qe_report_binding(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.qe_report_data_xor[0] = 1;
    expect_verify("QE report data is not the hash", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report_data_xor[63] = 1;
    expect_verify("QE report data bytes 32..63 not zero", &o, CS_E_BINDING, "");
    sgx(&o);
    o.qe_report_data_xor[31] = 0x80;
    expect_verify("SGX: QE report data is not the hash", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_auth_len = 0; /* empty auth data is legal: the hash binds the key alone */
    expect_verify("empty QE auth data", &o, CS_OK, "UpToDate");
}

static void test_qe_identity_match(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.qe_report.mr_signer[0] ^= 1;
    expect_verify("QE MRSIGNER", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report.isv_prod_id = 1;
    expect_verify("QE ISVPRODID", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report.attributes[0] |= 0x02; /* a DEBUG QE */
    expect_verify("QE ATTRIBUTES", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report.misc_select = 1;
    expect_verify("QE MISCSELECT", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report.attributes[8] = 0xff; /* outside attributesMask: not compared */
    expect_verify("QE ATTRIBUTES outside the mask", &o, CS_OK, "UpToDate");
    sgx(&o);
    o.qe_report.mr_signer[31] ^= 0x80;
    expect_verify("SGX QE MRSIGNER", &o, CS_E_BINDING, "");
    tdx(&o);
    o.qe_report.isv_svn = 0; /* TD_QE levels are 4, 2, 1 */
    expect_verify("QE ISVSVN below every level", &o, CS_E_TCB, "");
}

/* ---- signatures and chains --------------------------------------------------------- */

static void test_signatures(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.quote_key = CS_FORGE_KEY_OTHER;
    expect_verify("quote signed by another key", &o, CS_E_SIGNATURE, "");
    tdx(&o);
    o.qe_report_key = CS_FORGE_KEY_OTHER;
    expect_verify("QE report signed by another key", &o, CS_E_SIGNATURE, "");
    sgx(&o);
    o.quote_key = CS_FORGE_KEY_OTHER;
    expect_verify("SGX quote signed by another key", &o, CS_E_SIGNATURE, "");
    opts(&o, 5, CS_INTEL_BODY_TDX15);
    o.qe_report_key = CS_FORGE_KEY_OTHER;
    expect_verify("v5 QE report signed by another key", &o, CS_E_SIGNATURE, "");

    tdx(&o);
    o.tcb_info_key = CS_FORGE_KEY_PCK_LEAF;
    expect_load_fails("TCB Info signed by the PCK leaf key", &o, CS_E_SIGNATURE);
    tdx(&o);
    o.tcb_info_key = CS_FORGE_KEY_OTHER;
    expect_load_fails("TCB Info signed by another key", &o, CS_E_SIGNATURE);
    tdx(&o);
    o.qe_identity_key = CS_FORGE_KEY_PCK_LEAF;
    expect_load_fails("QE Identity signed by the PCK leaf key", &o, CS_E_SIGNATURE);
}

/* A bit flip anywhere in the signed span (header + body) breaks the quote signature. */
static void test_signed_span_bit_flips(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    struct cs_forge_case c;
    EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
    struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
    struct custos_dcap_collateral *coll = NULL;
    EXPECT_OK(custos_dcap_collateral_new(&src, NULL, &coll));
    /* user_data (header), mr_td, report_data: bytes no earlier check looks at */
    const size_t offsets[] = { 28, 48 + 136, 48 + 520, 48 + 583 };
    for (size_t i = 0; coll != NULL && i < sizeof offsets / sizeof offsets[0]; i++) {
        c.quote.p[offsets[i]] ^= 0x01;
        struct outcome out = { 0 };
        verify_into(coll, &c.quote, AT, &out);
        EXPECT_EQ(out.verify, CS_E_SIGNATURE);
        outcome_clear(&out);
        c.quote.p[offsets[i]] ^= 0x01;
    }
    struct outcome out = { 0 };
    if (coll != NULL) {
        verify_into(coll, &c.quote, AT, &out); /* restored: verifies again (memo too) */
    }
    EXPECT_EQ(out.verify, CS_OK);
    outcome_clear(&out);
    custos_dcap_collateral_free(coll);
    cs_forge_case_clear(&c);
}

static void test_chains(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    o.is_impostor_root = true; /* PCK CA under another "Intel SGX Root CA" */
    struct outcome out;
    run_at(&o, AT, &out);
    EXPECT_EQ(out.load, CS_OK);
    EXPECT_TRUE(out.verify == CS_E_CHAIN || out.verify == CS_E_SIGNATURE);
    outcome_clear(&out);

    tdx(&o);
    o.pck_leaf_cn = "Intel SGX PCK Certificate X";
    expect_verify("PCK leaf with another name", &o, CS_E_CHAIN, "");
    tdx(&o);
    o.pck_ca_cn = "Intel SGX PCK Test CA";
    expect_verify("PCK CA with another name", &o, CS_E_CHAIN, "");
    tdx(&o);
    o.tcb_signing_cn = "Intel SGX TCB Signing 2";
    expect_load_fails("TCB signer with another name", &o, CS_E_CHAIN);
}

/* Collateral without one of the optional pieces loads, but cannot verify quotes. */
static void test_incomplete_collateral(void)
{
    struct cs_forge_opts o;
    tdx(&o);
    struct cs_forge_case c;
    EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
    for (int which = 0; which < 3; which++) {
        struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
        if (which == 0) {
            src.pck_crl = (struct custos_bytes){ NULL, 0 };
        } else if (which == 1) {
            src.root_ca_crl = (struct custos_bytes){ NULL, 0 };
        } else {
            src.qe_identity = (struct custos_bytes){ NULL, 0 };
            src.qe_identity_chain = (struct custos_bytes){ NULL, 0 };
        }
        struct custos_dcap_collateral *coll = NULL;
        EXPECT_OK(custos_dcap_collateral_new(&src, NULL, &coll));
        if (coll == NULL) {
            continue;
        }
        EXPECT_OK(custos_dcap_collateral_check(coll, AT, NULL));
        struct outcome out = { 0 };
        verify_into(coll, &c.quote, AT, &out);
        if (which < 2) {
            EXPECT_EQ(out.verify, CS_E_CHAIN);
        } else {
            /* rejected; the code (CS_E_ARG today, a caller's error) is not pinned here */
            EXPECT_TRUE(out.verify != CS_OK);
        }
        outcome_clear(&out);
        custos_dcap_collateral_free(coll);
    }
    cs_forge_case_clear(&c);
}

/* ---- validity windows ------------------------------------------------------------- */

/*
 * Each window in turn shrinks to [at - 100 s, at + 100 s] while the others stay wide:
 * one second outside either edge is CS_E_EXPIRED, exactly on the edge verifies (every
 * window is inclusive at both ends).
 */
static void test_validity_windows(void)
{
    static const char *const names[] = { "Root CA",  "PCK CA",      "PCK leaf",    "TCB Signing",
                                         "TCB Info", "QE Identity", "Root CA CRL", "PCK CRL" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct cs_forge_opts o;
        tdx(&o);
        struct cs_forge_window *w[] = { &o.root,     &o.pck_ca,      &o.pck_leaf, &o.tcb_signing,
                                        &o.tcb_info, &o.qe_identity, &o.root_crl, &o.pck_crl };
        *w[i] = (struct cs_forge_window){ AT - 100, AT + 100 };
        struct cs_forge_case c;
        EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
        struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
        struct custos_dcap_collateral *coll = NULL;
        EXPECT_OK(custos_dcap_collateral_new(&src, NULL, &coll)); /* time-independent */
        const struct {
            int64_t at;
            cs_code want;
        } probes[] = { { AT - 101, CS_E_EXPIRED },
                       { AT - 100, CS_OK },
                       { AT, CS_OK },
                       { AT + 100, CS_OK },
                       { AT + 101, CS_E_EXPIRED } };
        for (size_t p = 0; coll != NULL && p < sizeof probes / sizeof probes[0]; p++) {
            struct outcome out = { 0 };
            verify_into(coll, &c.quote, probes[p].at, &out);
            if (out.verify != probes[p].want) {
                CS_T_FAIL_("%s window, at %+lld s: %s, want %s: %s", names[i],
                           (long long)(probes[p].at - AT), custos_code_name(out.verify),
                           custos_code_name(probes[p].want), message_of(&out));
            }
            outcome_clear(&out);
        }
        custos_dcap_collateral_free(coll);
        cs_forge_case_clear(&c);
    }
}

/* ---- the case directory (custos-testpki) ------------------------------------------ */

#define DIR_MAX 1024

/* dir/name into path (PATH_CAP bytes; dir is at most DIR_MAX, names are short). */
#define PATH_CAP (DIR_MAX + 64)
static void path_in(char path[PATH_CAP], const char *dir, const char *name)
{
    int n = snprintf(path, PATH_CAP, "%s/%s", dir, name);
    EXPECT_TRUE(n > 0 && n < PATH_CAP);
}

static void remove_case_dir(const char *dir)
{
    static const char *const names[] = { "quote.bin",
                                         "tcb_info.json",
                                         "tcb_info_issuer_chain.pem",
                                         "qe_identity.json",
                                         "qe_identity_issuer_chain.pem",
                                         "pck_crl.der",
                                         "root_ca_crl.der",
                                         "trust_anchor.pem",
                                         "case.json" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_CAP];
        path_in(path, dir, names[i]);
        EXPECT_TRUE(unlink(path) == 0);
    }
    EXPECT_TRUE(rmdir(dir) == 0);
}

static void test_case_directory(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[DIR_MAX];
    int n_dir = snprintf(dir, sizeof dir, "%s/cs-testpki-XXXXXX",
                         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (n_dir <= 0 || (size_t)n_dir >= sizeof dir || mkdtemp(dir) == NULL) {
        CS_T_FAIL_("cannot make a temporary directory under %s", tmp != NULL ? tmp : "/tmp");
        return;
    }

    const uint16_t versions[] = { 3, 4, 5 };
    const enum cs_intel_body bodies[] = { CS_INTEL_BODY_SGX, CS_INTEL_BODY_TDX10,
                                          CS_INTEL_BODY_TDX15 };
    for (size_t i = 0; i < 3; i++) {
        struct cs_forge_opts o;
        opts(&o, versions[i], bodies[i]);
        struct cs_forge_case c;
        EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
        EXPECT_OK(cs_forge_case_write_dir(&c, dir));
        cs_forge_case_clear(&c);

        char path[PATH_CAP];
        path_in(path, dir, "case.json");
        json_t *cj = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
        EXPECT_TRUE(cj != NULL);
        const char *at_text = json_string_value(json_object_get(cj, "at"));
        int64_t at = 0;
        EXPECT_TRUE(at_text != NULL && cs_ok(cs_time_parse(at_text, strlen(at_text), &at)));
        EXPECT_EQ(at, AT);
        EXPECT_STR_EQ(json_string_value(json_object_get(cj, "platform")), i == 0 ? "sgx" : "tdx");
        json_decref(cj);

        struct custos_dcap_collateral *coll = NULL;
        EXPECT_OK(custos_dcap_collateral_load_dir(dir, NULL, &coll));
        size_t len = 0;
        path_in(path, dir, "quote.bin");
        unsigned char *quote = tv_read(path, &len);
        struct outcome out = { 0 };
        if (coll != NULL) {
            verify_into(coll, &(struct cs_blob){ quote, len }, at, &out);
        }
        EXPECT_EQ(out.verify, CS_OK);
        EXPECT_STR_EQ(out.status, "UpToDate");
        outcome_clear(&out);
        free(quote);
        custos_dcap_collateral_free(coll);
    }

    /* reading the directory under allocation failure: CS_E_NOMEM, never a crash */
    bool is_done = false;
    for (long n = 0; n < 200 && !is_done; n++) {
        struct custos_dcap_collateral *coll = NULL;
        cs_mem_set_fail_after(n);
        cs_res r = custos_dcap_collateral_load_dir(dir, NULL, &coll);
        cs_mem_set_fail_after(-1);
        is_done = cs_ok(r);
        if (!is_done) {
            EXPECT_EQ(r.code, CS_E_NOMEM);
            EXPECT_TRUE(coll == NULL);
        }
        custos_dcap_collateral_free(coll);
    }
    EXPECT_TRUE(is_done);
    remove_case_dir(dir);
}

/* ---- allocation failures ------------------------------------------------------------ */

/* Every allocation of collateral_new and verify fails in turn: CS_E_NOMEM, no leak. */
static void test_allocation_failures(void)
{
    const enum cs_intel_body bodies[] = { CS_INTEL_BODY_TDX10, CS_INTEL_BODY_SGX };
    const uint16_t versions[] = { 4, 3 };
    for (size_t i = 0; i < 2; i++) {
        struct cs_forge_opts o;
        opts(&o, versions[i], bodies[i]);
        struct cs_forge_case c;
        EXPECT_OK(cs_forge_case_build(keys(), &o, &c));
        struct custos_dcap_collateral_src src = cs_forge_case_src(&c);
        bool is_done = false;
        long n = 0;
        for (; n < 500 && !is_done; n++) {
            struct custos_dcap_collateral *coll = NULL;
            struct custos_verdict *v = NULL;
            cs_mem_set_fail_after(n);
            cs_res r = custos_dcap_collateral_new(&src, NULL, &coll);
            if (cs_ok(r)) {
                r = custos_dcap_verify(coll, c.quote.p, c.quote.len, AT, &v);
            } else {
                EXPECT_TRUE(coll == NULL);
            }
            cs_mem_set_fail_after(-1);
            is_done = cs_ok(r);
            if (is_done) {
                EXPECT_STR_EQ(custos_verdict_tcb_status(v), "UpToDate");
            } else if (r.code != CS_E_NOMEM) {
                CS_T_FAIL_("allocation %ld failing: %s, want nomem (%s:%u)", n,
                           custos_code_name(r.code), r.file != NULL ? r.file : "?", r.line);
            }
            custos_verdict_free(v);
            custos_dcap_collateral_free(coll);
        }
        EXPECT_TRUE(is_done);
        EXPECT_TRUE(n > 1); /* at least one allocation was made to fail */
        cs_forge_case_clear(&c);
    }
}

CS_TEST_MAIN(CS_TEST(test_default_tdx_v4_verifies), CS_TEST(test_default_tdx_v5_verifies),
             CS_TEST(test_default_sgx_v3_verifies), CS_TEST(test_sgx_body_in_v4_and_v5_verifies),
             CS_TEST(test_tcb_info_v2_sgx), CS_TEST(test_processor_ca_verifies),
             CS_TEST(test_debug_attribute_is_a_claim), CS_TEST(test_trailing_bytes_are_reported),
             CS_TEST(test_revoked_pck), CS_TEST(test_platform_level_revoked),
             CS_TEST(test_platform_level_selection), CS_TEST(test_no_matching_level),
             CS_TEST(test_status_convergence), CS_TEST(test_advisories_are_a_deduplicated_union),
             CS_TEST(test_tdx_module_identity), CS_TEST(test_seam_checks),
             CS_TEST(test_collateral_for_another_platform), CS_TEST(test_qe_vendor),
             CS_TEST(test_certification_data_types), CS_TEST(test_qe_report_binding),
             CS_TEST(test_qe_identity_match), CS_TEST(test_signatures),
             CS_TEST(test_signed_span_bit_flips), CS_TEST(test_chains),
             CS_TEST(test_incomplete_collateral), CS_TEST(test_validity_windows),
             CS_TEST(test_case_directory), CS_TEST(test_allocation_failures))
