/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy engine's semantics (docs/policy.md): three-valued conditions (a missing
 * claim never matches, not even under not/anyOf), typed comparisons, reference sets from
 * the document and from outside, the required checks of each protection, rules (explicit
 * deny wins, no rule = deny, action and resource wildcards), resource names, the trace,
 * verdict conversion, every example of docs/examples, a decision snapshot, allocation
 * failures and concurrent evaluation of one shared policy.
 *
 * Policies and inputs are written with single quotes for readability; q() turns them
 * into JSON.
 */
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>

#include "core/cs_mem.h"
#include "cs_test.h"
#include "policy/policy.h"

#define HEX_A                                                                              \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"                                     \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B                                                                              \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"                                     \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C                                                                              \
    "cccccccccccccccccccccccccccccccccccccccccccccccc"                                     \
    "cccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D                                                                              \
    "dddddddddddddddddddddddddddddddddddddddddddddddd"                                     \
    "dddddddddddddddddddddddddddddddddddddddddddddddd"

/* Single quotes to double quotes (the texts here contain no apostrophes). */
static char *q(const char *sq)
{
    size_t n = strlen(sq);
    char *s = (char *)tv_dup(sq, n + 1);
    for (size_t i = 0; i < n; i++) {
        s[i] = s[i] == '\'' ? '"' : s[i];
    }
    return s;
}

static json_t *js(const char *sq)
{
    char *s = q(sq);
    json_error_t err;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        fprintf(stderr, "bad test JSON: %s: %s\n", err.text, s);
        abort();
    }
    free(s);
    return j;
}

static struct cs_policy *pol(const char *sq)
{
    char *s = q(sq);
    char err[CS_POLICY_ERR_MAX];
    struct cs_policy *p = NULL;
    cs_res r = cs_policy_parse(s, strlen(s), &p, err, sizeof err);
    if (!cs_ok(r)) {
        fprintf(stderr, "test policy rejected: %s\n", err);
        abort();
    }
    free(s);
    return p;
}

/* A verified, fresh, production, non-debug, UpToDate TDX instance. */
static json_t *tdx_input(void)
{
    return js("{'platform': 'tdx', 'tcb_status': 'UpToDate', 'debug': false,"
              " 'development': false, 'freshness': {'nonce': true},"
              " 'claims': {'platform': 'tdx', 'mr_td': '" HEX_A "', 'rtmr1': '" HEX_B "',"
              "  'quote_version': 4, 'tcb_eval_num': 17, 'ratio': 1.5, 'svn_str': '17',"
              "  'flag': true, 'product_name': 'Milan-B0', 'nothing': null,"
              "  'pcrs': {'0': '" HEX_C "', 'sha256': {'7': '" HEX_D "'}},"
              "  'list': ['x', 'y'], 'obj': {'a': 1}},"
              " 'init_data': {'digest': '" HEX_D "', 'claims': {'role': 'worker'}}}");
}

static void set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, v) != 0) {
        abort();
    }
}

static struct cs_policy_decision decide(const struct cs_policy *p, const json_t *in,
                                        const json_t *refvals, const char *action,
                                        const char *resource)
{
    struct cs_policy_decision d;
    EXPECT_OK(cs_policy_decide(p, in, refvals, action, resource, &d));
    return d;
}

/* ---- conditions ---- */

/* Whether cond (as an identity's match) admits the input. */
static bool holds(const char *cond, const json_t *in, const json_t *refvals)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "{'version': 1, 'id': 't', 'reference_values': {'good': ['" HEX_A "', 'x'],"
             " 'ext': [], 'other': ['" HEX_B "']},"
             " 'identities': [{'name': 'i', 'platforms': ['tdx', 'snp'], 'protects':"
             " ['freshness'], 'match': %s}],"
             " 'rules': [{'id': 'r', 'effect': 'allow', 'identities': ['i'],"
             " 'actions': ['*'], 'resources': ['*']}]}",
             cond);
    struct cs_policy *p = pol(doc);
    struct cs_policy_decision d = decide(p, in, refvals, "resource:read", "a/b");
    cs_policy_free(p);
    return d.allow;
}

enum want { F, T, U }; /* false, true, unknown (neither it nor its negation holds) */

struct cond_case {
    const char *cond;
    enum want want;
};

static const struct cond_case cond_cases[] = {
    /* equals: typed */
    { "{'claim': 'claims.mr_td', 'equals': '" HEX_A "'}", T },
    { "{'claim': 'claims.mr_td', 'equals': '" HEX_B "'}", F },
    { "{'claim': 'claims.quote_version', 'equals': 4}", T },
    { "{'claim': 'claims.quote_version', 'equals': 4.0}", T },
    { "{'claim': 'claims.quote_version', 'equals': '4'}", F },
    { "{'claim': 'claims.svn_str', 'equals': 17}", F },
    { "{'claim': 'claims.svn_str', 'equals': '17'}", T },
    { "{'claim': 'claims.flag', 'equals': true}", T },
    { "{'claim': 'claims.flag', 'equals': false}", F },
    { "{'claim': 'claims.flag', 'equals': 1}", F },
    { "{'claim': 'claims.flag', 'equals': 'true'}", F },
    { "{'claim': 'claims.obj', 'equals': 'x'}", F },
    { "{'claim': 'claims.missing', 'equals': 1}", U },
    { "{'claim': 'claims.nothing', 'equals': 'x'}", U },
    { "{'claim': 'claims.mr_td.deeper', 'equals': 'x'}", U },
    /* in */
    { "{'claim': 'claims.quote_version', 'in': ['x', 4]}", T },
    { "{'claim': 'claims.quote_version', 'in': ['4', 5]}", F },
    { "{'claim': 'claims.missing', 'in': ['4', 5]}", U },
    /* prefix */
    { "{'claim': 'claims.product_name', 'prefix': 'Milan'}", T },
    { "{'claim': 'claims.product_name', 'prefix': 'Milan-B0'}", T },
    { "{'claim': 'claims.product_name', 'prefix': 'Milan-B0-x'}", F },
    { "{'claim': 'claims.product_name', 'prefix': 'Genoa'}", F },
    { "{'claim': 'claims.quote_version', 'prefix': '4'}", U },
    /* gte / lte: numbers only */
    { "{'claim': 'claims.quote_version', 'gte': 4}", T },
    { "{'claim': 'claims.quote_version', 'gte': 5}", F },
    { "{'claim': 'claims.quote_version', 'lte': 4}", T },
    { "{'claim': 'claims.quote_version', 'lte': 3}", F },
    { "{'claim': 'claims.quote_version', 'gte': 3.5}", T },
    { "{'claim': 'claims.ratio', 'gte': 1.5}", T },
    { "{'claim': 'claims.ratio', 'gte': 1.6}", F },
    { "{'claim': 'claims.ratio', 'lte': 2}", T },
    { "{'claim': 'claims.tcb_eval_num', 'gte': -1}", T },
    { "{'claim': 'claims.svn_str', 'gte': 1}", U },
    { "{'claim': 'claims.flag', 'lte': 1}", U },
    { "{'claim': 'claims.missing', 'gte': 0}", U },
    /* in_set (document sets) */
    { "{'claim': 'claims.mr_td', 'in_set': 'good'}", T },
    { "{'claim': 'claims.mr_td', 'in_set': 'other'}", F },
    { "{'claim': 'claims.mr_td', 'in_set': 'ext'}", F },
    { "{'claim': 'claims.quote_version', 'in_set': 'good'}", F },
    { "{'claim': 'claims.missing', 'in_set': 'good'}", U },
    /* paths: nested objects, array indexes, every input root */
    { "{'claim': 'claims.pcrs.0', 'equals': '" HEX_C "'}", T },
    { "{'claim': 'claims.pcrs.sha256.7', 'equals': '" HEX_D "'}", T },
    { "{'claim': 'claims.pcrs.sha256.8', 'equals': '" HEX_D "'}", U },
    { "{'claim': 'claims.list.1', 'equals': 'y'}", T },
    { "{'claim': 'claims.list.01', 'equals': 'y'}", U },
    { "{'claim': 'claims.list.2', 'equals': 'y'}", U },
    { "{'claim': 'platform', 'equals': 'tdx'}", T },
    { "{'claim': 'tcb_status', 'equals': 'UpToDate'}", T },
    { "{'claim': 'debug', 'equals': false}", T },
    { "{'claim': 'development', 'equals': false}", T },
    { "{'claim': 'freshness.nonce', 'equals': true}", T },
    { "{'claim': 'init_data.digest', 'equals': '" HEX_D "'}", T },
    { "{'claim': 'init_data.claims.role', 'in': ['worker', 'lead']}", T },
    /* Kleene composition */
    { "{'allOf': [{'claim': 'claims.flag', 'equals': true}]}", T },
    { "{'allOf': [{'claim': 'claims.flag', 'equals': true},"
      " {'claim': 'claims.quote_version', 'gte': 4}]}", T },
    { "{'allOf': [{'claim': 'claims.flag', 'equals': true},"
      " {'claim': 'claims.missing', 'equals': 1}]}", U },
    { "{'allOf': [{'claim': 'claims.flag', 'equals': false},"
      " {'claim': 'claims.missing', 'equals': 1}]}", F },
    { "{'anyOf': [{'claim': 'claims.flag', 'equals': true},"
      " {'claim': 'claims.missing', 'equals': 1}]}", T },
    { "{'anyOf': [{'claim': 'claims.flag', 'equals': false},"
      " {'claim': 'claims.missing', 'equals': 1}]}", U },
    { "{'anyOf': [{'claim': 'claims.flag', 'equals': false},"
      " {'claim': 'claims.quote_version', 'equals': 5}]}", F },
    { "{'not': {'claim': 'claims.flag', 'equals': false}}", T },
    { "{'not': {'not': {'claim': 'claims.missing', 'equals': 1}}}", U },
    { "{'not': {'anyOf': [{'claim': 'claims.missing', 'equals': 1},"
      " {'claim': 'claims.flag', 'equals': false}]}}", U },
};

static void test_conditions_three_valued(void)
{
    json_t *in = tdx_input();
    for (size_t i = 0; i < sizeof cond_cases / sizeof cond_cases[0]; i++) {
        const struct cond_case *c = &cond_cases[i];
        char neg[2048];
        snprintf(neg, sizeof neg, "{'not': %s}", c->cond);
        bool is_true = holds(c->cond, in, NULL);
        bool is_neg_true = holds(neg, in, NULL);
        enum want got = is_true ? T : (is_neg_true ? F : U);
        if (got != c->want || (is_true && is_neg_true)) {
            fprintf(stderr, "case %zu: %s: got %d, want %d\n", i, c->cond, (int)got,
                    (int)c->want);
            cs_test_failures++;
        }
    }
    json_decref(in);
}

/* The brief's rule, spelt out: absent evidence never satisfies, not even negated. */
static void test_missing_claim_never_matches(void)
{
    json_t *in = tdx_input();
    EXPECT_TRUE(!holds("{'claim': 'claims.rtmr3', 'equals': '" HEX_A "'}", in, NULL));
    EXPECT_TRUE(!holds("{'not': {'claim': 'claims.rtmr3', 'equals': '" HEX_A "'}}", in, NULL));
    EXPECT_TRUE(!holds("{'not': {'claim': 'claims.rtmr3', 'in_set': 'good'}}", in, NULL));
    EXPECT_TRUE(!holds("{'anyOf': [{'claim': 'claims.rtmr3', 'equals': 'x'},"
                       " {'not': {'claim': 'claims.rtmr3', 'equals': 'x'}}]}",
                       in, NULL));
    EXPECT_TRUE(!holds("{'not': {'claim': 'claims.rtmr3', 'gte': 1}}", in, NULL));
    EXPECT_TRUE(!holds("{'not': {'claim': 'claims.rtmr3', 'prefix': 'x'}}", in, NULL));
    /* present, it decides as usual */
    set(json_object_get(in, "claims"), "rtmr3", json_string(HEX_B));
    EXPECT_TRUE(holds("{'not': {'claim': 'claims.rtmr3', 'equals': '" HEX_A "'}}", in, NULL));
    /* null is absent */
    set(json_object_get(in, "claims"), "rtmr3", json_null());
    EXPECT_TRUE(!holds("{'not': {'claim': 'claims.rtmr3', 'equals': '" HEX_A "'}}", in, NULL));
    /* a string with a NUL inside is not the shorter string */
    set(json_object_get(in, "claims"), "rtmr3", json_stringn("x\0y", 3));
    EXPECT_TRUE(!holds("{'claim': 'claims.rtmr3', 'equals': 'x'}", in, NULL));
    EXPECT_TRUE(!holds("{'claim': 'claims.rtmr3', 'in_set': 'good'}", in, NULL));
    json_decref(in);
}

static void test_in_set_external_refvals(void)
{
    json_t *in = tdx_input();
    json_t *rv = js("{'ext': ['" HEX_C "', '" HEX_A "']}");
    json_t *rv_other = js("{'unused': ['" HEX_A "'], 'ext': ['" HEX_C "']}");
    const char *cond = "{'claim': 'claims.mr_td', 'in_set': 'ext'}";
    char err_[CS_POLICY_ERR_MAX];
    EXPECT_TRUE(!holds(cond, in, NULL)); /* declared empty in the document */
    EXPECT_TRUE(holds(cond, in, rv));    /* filled from outside */
    EXPECT_TRUE(!holds(cond, in, rv_other));
    /* outside values add to the document's: both still count */
    EXPECT_TRUE(holds("{'claim': 'claims.mr_td', 'in_set': 'good'}", in, rv_other));
    json_t *rv_good = js("{'good': ['" HEX_B "']}");
    set(json_object_get(in, "claims"), "mr_td", json_string(HEX_B));
    EXPECT_TRUE(holds("{'claim': 'claims.mr_td', 'in_set': 'good'}", in, rv_good));
    EXPECT_TRUE(!holds("{'claim': 'claims.mr_td', 'in_set': 'good'}", in, NULL));
    json_decref(rv_good);

    /* malformed reference values are refused, and the decision denies */
    struct cs_policy *p = pol("{'version': 1, 'id': 't', 'reference_values': {'s': []},"
                              " 'identities': [{'name': 'i', 'platforms': ['tdx'],"
                              " 'protects': ['freshness']}],"
                              " 'rules': [{'id': 'r', 'effect': 'allow', 'identities': ['*'],"
                              " 'actions': ['*'], 'resources': ['*']}]}");
    /* evaluation refuses a non-object and a declared set that is not an array */
    static const char *const bad_shape[] = { "['x']", "{'s': 'x'}", "{'s': {}}" };
    for (size_t i = 0; i < sizeof bad_shape / sizeof bad_shape[0]; i++) {
        json_t *b = js(bad_shape[i]);
        struct cs_policy_decision d;
        EXPECT_ERR(cs_policy_decide(p, in, b, "resource:read", "a/b", &d), CS_E_FORMAT);
        EXPECT_TRUE(!d.allow);
        EXPECT_TRUE(strncmp(d.why, "refvals", 7) == 0);
        json_t *ids = (json_t *)1;
        EXPECT_ERR(cs_policy_admit(p, in, b, &ids, &d), CS_E_FORMAT);
        EXPECT_TRUE(ids == NULL && !d.allow);
        json_t *t = (json_t *)1;
        EXPECT_ERR(cs_policy_explain(p, in, b, "resource:read", "a/b", &t), CS_E_FORMAT);
        EXPECT_TRUE(t == NULL);
        EXPECT_ERR(cs_policy_refvals_check(b, err_, sizeof err_), CS_E_FORMAT);
        json_decref(b);
    }
    /* bad entries: the full check refuses them; evaluation never matches them */
    static const char *const bad_entries[] = {
        "{'s': [1]}", "{'s': ['']}", "{'s': ['ABCDEF']}", "{'s': [null]}", "{'bad name': ['x']}",
    };
    for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++) {
        json_t *b = js(bad_entries[i]);
        EXPECT_ERR(cs_policy_refvals_check(b, err_, sizeof err_), CS_E_FORMAT);
        EXPECT_TRUE(strncmp(err_, "refvals", 7) == 0);
        json_decref(b);
    }
    struct cs_policy *ps = pol("{'version': 1, 'id': 't', 'reference_values': {'s': []},"
                               " 'identities': [{'name': 'i', 'platforms': ['tdx'],"
                               " 'protects': ['freshness'], 'match': {'claim': 'claims.k',"
                               " 'in_set': 's'}}]}");
    static const struct {
        const char *refvals;
        const char *claim;
    } never[] = {
        { "{'s': [1]}", "1" }, { "{'s': [null]}", "" }, { "{'s': ['ABCDEF']}", "abcdef" },
        { "{'s': [true]}", "true" }, { "{'s': [['x']]}", "x" },
    };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        json_t *b = js(never[i].refvals);
        json_t *in2 = js("{'platform': 'tdx', 'tcb_status': 'UpToDate', 'debug': false,"
                         " 'development': false, 'freshness': {'nonce': true}, 'claims': {}}");
        set(json_object_get(in2, "claims"), "k", json_string(never[i].claim));
        struct cs_policy_decision d;
        json_t *ids = NULL;
        EXPECT_OK(cs_policy_admit(ps, in2, b, &ids, &d));
        EXPECT_TRUE(!d.allow);
        json_decref(ids);
        json_decref(in2);
        json_decref(b);
    }
    cs_policy_free(ps);
    /* evaluation reads only the sets the policy declares; the full check reads them all */
    json_t *foreign = js("{'bad name': ['x'], 'other': [1], 's': ['" HEX_A "']}");
    struct cs_policy_decision d = decide(p, in, foreign, "resource:read", "a/b");
    EXPECT_TRUE(d.allow);
    EXPECT_ERR(cs_policy_refvals_check(foreign, err_, sizeof err_), CS_E_FORMAT);
    json_decref(foreign);
    char *err = err_;
    EXPECT_OK(cs_policy_refvals_check(rv, err, sizeof err_));
    EXPECT_OK(cs_policy_refvals_check(NULL, err, sizeof err_));
    json_t *big = json_object();
    json_t *arr = json_array();
    for (int i = 0; i <= CS_POLICY_REFVAL_VALUES_MAX; i++) {
        json_array_append_new(arr, json_string("v"));
    }
    set(big, "s", arr);
    EXPECT_ERR(cs_policy_refvals_check(big, err, sizeof err_), CS_E_TOO_LARGE);
    struct cs_policy_decision d_big; /* evaluation itself has no count ceiling */
    EXPECT_OK(cs_policy_decide(p, in, big, "resource:read", "a/b", &d_big));
    json_decref(big);
    cs_policy_free(p);
    json_decref(rv_other);
    json_decref(rv);
    json_decref(in);
}

/* ---- the required checks ---- */

static const char *const checks_doc =
    "{'version': 1, 'id': 'checks', 'identities': ["
    " {'name': 'strict', 'platforms': ['tdx', 'snp'], 'protects': ['confidentiality']},"
    " {'name': 'fresh', 'platforms': ['tdx', 'snp'], 'protects': ['freshness']},"
    " {'name': 'lax', 'platforms': ['tdx'], 'protects': ['integrity'], 'allow_debug': true,"
    "  'allow_development': true, 'tcb_allowed': ['UpToDate', 'OutOfDate'],"
    "  'match': {'claim': 'claims.mr_td', 'equals': '" HEX_A "'}}],"
    " 'rules': [{'id': 'all', 'effect': 'allow', 'identities': ['*'], 'actions': ['*'],"
    "  'resources': ['*']}]}";

/* Names of the identities that admit in, comma-separated. */
static void admitted(const struct cs_policy *p, const json_t *in, char *out, size_t cap)
{
    json_t *ids = NULL;
    struct cs_policy_decision d;
    out[0] = '\0';
    EXPECT_OK(cs_policy_admit(p, in, NULL, &ids, &d));
    EXPECT_EQ(d.allow, json_array_size(ids) > 0);
    EXPECT_EQ(d.reason, json_array_size(ids) > 0 ? CS_POLICY_ALLOWED : CS_POLICY_NOT_ADMITTED);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i > 0 ? "," : "",
                 json_string_value(v));
    }
    if (json_array_size(ids) > 0) {
        EXPECT_STR_EQ(d.identity, json_string_value(json_array_get(ids, 0)));
    }
    json_decref(ids);
}

static void test_protects_requirements(void)
{
    struct cs_policy *p = pol(checks_doc);
    char got[256];
    json_t *in = tdx_input();
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,fresh,lax");

    /* debug: refused unless allow_debug; a missing flag is refused too */
    set(in, "debug", json_true());
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    json_object_del(in, "debug");
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    set(in, "debug", json_string("false"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    set(in, "debug", json_false());

    /* TCB status: UpToDate by default; OutOfDate only where listed; never Revoked */
    set(in, "tcb_status", json_string("OutOfDate"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    set(in, "tcb_status", json_string("Revoked"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    set(in, "tcb_status", json_string("Brilliant"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    set(in, "tcb_status", json_integer(1));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    json_object_del(in, "tcb_status"); /* TDX always reports one */
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    set(in, "platform", json_string("snp")); /* SNP reports none */
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,fresh");
    set(in, "tcb_status", json_string("SWHardeningNeeded")); /* but if it does, it counts */
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    set(in, "platform", json_string("tdx"));
    set(in, "tcb_status", json_string("UpToDate"));

    /* development roots: refused unless allow_development; missing flag refused */
    set(in, "development", json_true());
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    json_object_del(in, "development");
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "lax");
    set(in, "development", json_false());

    /* freshness: the nonce must have been bound */
    set(in, "freshness", js("{'nonce': false}"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,lax");
    json_object_del(in, "freshness");
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,lax");
    set(in, "freshness", js("{'nonce': 'true'}"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,lax");
    set(in, "freshness", js("{'nonce': true}"));

    /* platform */
    set(in, "platform", json_string("nitro"));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    json_object_del(in, "platform");
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "");
    set(in, "platform", json_string("tdx"));

    /* integrity: the measurement must match */
    set(json_object_get(in, "claims"), "mr_td", json_string(HEX_B));
    admitted(p, in, got, sizeof got);
    EXPECT_STR_EQ(got, "strict,fresh");
    json_decref(in);
    cs_policy_free(p);
}

static void test_not_admitted_why(void)
{
    struct cs_policy *p = pol(checks_doc);
    json_t *in = tdx_input();
    set(in, "debug", json_true());
    set(json_object_get(in, "claims"), "mr_td", json_string(HEX_B));
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "a/b");
    EXPECT_TRUE(!d.allow);
    EXPECT_EQ(d.reason, CS_POLICY_NOT_ADMITTED);
    EXPECT_STR_EQ(d.identity, "");
    EXPECT_STR_EQ(d.rule, "");
    EXPECT_STR_EQ(d.why, "no identity admits the instance: strict: a debug instance "
                         "(allow_debug is false); fresh: a debug instance (allow_debug is "
                         "false); lax: identities[2].match: claims.mr_td not equal");
    EXPECT_TRUE(strstr(d.why, HEX_B) == NULL); /* never a claim value */
    EXPECT_STR_EQ(cs_policy_reason_name(d.reason), "not_admitted");
    json_decref(in);
    cs_policy_free(p);
}

static void test_confidentiality_obligation(void)
{
    struct cs_policy *p = pol(checks_doc);
    json_t *in = tdx_input();
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "a/b");
    EXPECT_TRUE(d.allow && d.is_jwe_required);
    EXPECT_STR_EQ(d.identity, "strict");
    set(in, "debug", json_true()); /* only lax admits: it protects no confidentiality */
    d = decide(p, in, NULL, "resource:read", "a/b");
    EXPECT_TRUE(d.allow && !d.is_jwe_required);
    EXPECT_STR_EQ(d.identity, "lax");
    json_decref(in);
    cs_policy_free(p);
}

/* ---- rules ---- */

static void test_empty_policy_denies(void)
{
    json_t *in = tdx_input();
    static const char *const docs[] = {
        "{'version': 1, 'id': 'empty'}",
        "{'version': 1, 'id': 'empty', 'identities': [], 'rules': []}",
        ("{'version': 1, 'id': 'no-ids', 'rules': [{'id': 'r', 'effect': 'allow',"
         " 'identities': ['*'], 'actions': ['*'], 'resources': ['*']}]}"),
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct cs_policy *p = pol(docs[i]);
        struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "a/b");
        EXPECT_TRUE(!d.allow);
        EXPECT_EQ(d.reason, CS_POLICY_NOT_ADMITTED);
        EXPECT_STR_EQ(d.why, "the policy has no identities");
        json_t *ids = NULL;
        EXPECT_OK(cs_policy_admit(p, in, NULL, &ids, &d));
        EXPECT_EQ(json_array_size(ids), 0);
        EXPECT_TRUE(!d.allow);
        json_decref(ids);
        cs_policy_free(p);
    }
    /* identities but no rules: admitted, and still nothing is allowed */
    struct cs_policy *p = pol("{'version': 1, 'id': 'no-rules', 'identities': [{'name': 'i',"
                              " 'platforms': ['tdx'], 'protects': ['freshness']}]}");
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "a/b");
    EXPECT_TRUE(!d.allow);
    EXPECT_EQ(d.reason, CS_POLICY_NO_RULE);
    EXPECT_STR_EQ(d.identity, "i");
    EXPECT_STR_EQ(cs_policy_reason_name(d.reason), "no_rule");
    cs_policy_free(p);
    json_decref(in);
}

static const char *const rules_doc =
    "{'version': 1, 'id': 'rules', 'reference_values': {'bad': []}, 'identities': ["
    " {'name': 'a', 'platforms': ['tdx'], 'protects': ['freshness']},"
    " {'name': 'b', 'platforms': ['tdx'], 'protects': ['confidentiality']},"
    " {'name': 'z', 'platforms': ['snp'], 'protects': ['freshness']}],"
    " 'rules': ["
    " {'id': 'allow-a', 'effect': 'allow', 'identities': ['a'], 'actions': ['resource:read'],"
    "  'resources': ['default/agent/*', 'default/exact']},"
    " {'id': 'allow-b-state', 'effect': 'allow', 'identities': ['b'],"
    "  'actions': ['state:read', 'state:write'], 'resources': ['agents/b/*'],"
    "  'when': {'claim': 'claims.quote_version', 'gte': 4}},"
    " {'id': 'allow-all-tokens', 'effect': 'allow', 'identities': ['*'], 'actions': ['*'],"
    "  'resources': ['audience/*']},"
    " {'id': 'needs-claim', 'effect': 'allow', 'identities': ['a'], 'actions': ['*'],"
    "  'resources': ['gated/x'], 'when': {'claim': 'claims.rtmr3', 'equals': 'x'}},"
    " {'id': 'deny-secret', 'effect': 'deny', 'identities': ['*'], 'actions': ['*'],"
    "  'resources': ['default/agent/secret', 'audience/evil']},"
    " {'id': 'deny-z', 'effect': 'deny', 'identities': ['z'], 'actions': ['*'],"
    "  'resources': ['*']},"
    " {'id': 'deny-missing', 'effect': 'deny', 'identities': ['*'], 'actions': ['*'],"
    "  'resources': ['*'], 'when': {'claim': 'claims.rtmr3', 'equals': 'x'}},"
    " {'id': 'deny-bad', 'effect': 'deny', 'identities': ['a', 'b'],"
    "  'actions': ['state:write'], 'resources': ['*'],"
    "  'when': {'claim': 'claims.mr_td', 'in_set': 'bad'}}]}";

struct rule_case {
    const char *action;
    const char *resource;
    bool allow;
    enum cs_policy_reason reason;
    const char *rule;
    const char *identity;
};

static const struct rule_case rule_cases[] = {
    { "resource:read", "default/agent/key", true, CS_POLICY_ALLOWED, "allow-a", "a" },
    { "resource:read", "default/agent/x/y", true, CS_POLICY_ALLOWED, "allow-a", "a" },
    { "resource:read", "default/exact", true, CS_POLICY_ALLOWED, "allow-a", "a" },
    { "resource:read", "default/exact/sub", false, CS_POLICY_NO_RULE, "", "a" },
    { "resource:read", "default/agent", false, CS_POLICY_NO_RULE, "", "a" },
    { "resource:read", "default/agentx/y", false, CS_POLICY_NO_RULE, "", "a" },
    { "resource:read", "default/agent.x", false, CS_POLICY_NO_RULE, "", "a" },
    /* explicit deny wins, whatever the order of the rules */
    { "resource:read", "default/agent/secret", false, CS_POLICY_DENIED_BY_RULE, "deny-secret",
      "a" },
    { "token:issue", "audience/evil", false, CS_POLICY_DENIED_BY_RULE, "deny-secret", "a" },
    /* the action must be listed; "*" lists them all */
    { "state:read", "default/agent/key", false, CS_POLICY_NO_RULE, "", "a" },
    { "state:write", "agents/b/state", true, CS_POLICY_ALLOWED, "allow-b-state", "b" },
    { "state:read", "agents/b/state", true, CS_POLICY_ALLOWED, "allow-b-state", "b" },
    { "resource:read", "agents/b/state", false, CS_POLICY_NO_RULE, "", "a" },
    { "token:issue", "audience/x", true, CS_POLICY_ALLOWED, "allow-all-tokens", "a" },
    { "state:write", "audience/x", true, CS_POLICY_ALLOWED, "allow-all-tokens", "a" },
    { "resource:read", "audience/x", true, CS_POLICY_ALLOWED, "allow-all-tokens", "a" },
    { "state:read", "audience/x", true, CS_POLICY_ALLOWED, "allow-all-tokens", "a" },
    /* a `when` on a missing claim: the allow does not apply, nor does the deny */
    { "resource:read", "gated/x", false, CS_POLICY_NO_RULE, "", "a" },
};

static void test_rules_table(void)
{
    struct cs_policy *p = pol(rules_doc);
    json_t *in = tdx_input();
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
        const struct rule_case *c = &rule_cases[i];
        struct cs_policy_decision d = decide(p, in, NULL, c->action, c->resource);
        if (d.allow != c->allow || d.reason != c->reason || strcmp(d.rule, c->rule) != 0 ||
            strcmp(d.identity, c->identity) != 0) {
            fprintf(stderr, "case %zu (%s %s): got %d %s rule '%s' identity '%s' (%s)\n", i,
                    c->action, c->resource, d.allow, cs_policy_reason_name(d.reason), d.rule,
                    d.identity, d.why);
            cs_test_failures++;
        }
    }
    /* the NO_RULE explanation names the allow rule whose condition failed */
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "gated/x");
    EXPECT_STR_EQ(d.why, "no rule allows resource:read on gated/x for the admitted identities "
                         "(a, b); rule needs-claim: rules[3].when: claims.rtmr3 missing");
    /* b's state rule needs quote_version >= 4 */
    set(json_object_get(in, "claims"), "quote_version", json_integer(3));
    d = decide(p, in, NULL, "state:write", "agents/b/state");
    EXPECT_TRUE(!d.allow);
    EXPECT_EQ(d.reason, CS_POLICY_NO_RULE);
    /* a deny naming a non-admitted identity does not apply; once admitted it does */
    json_t *snp = js("{'platform': 'snp', 'debug': false, 'development': false,"
                     " 'freshness': {'nonce': true}, 'claims': {}}");
    d = decide(p, snp, NULL, "token:issue", "audience/x");
    EXPECT_TRUE(!d.allow);
    EXPECT_EQ(d.reason, CS_POLICY_DENIED_BY_RULE);
    EXPECT_STR_EQ(d.rule, "deny-z");
    EXPECT_STR_EQ(d.identity, "z");
    /* the deny with an external set */
    json_t *rv = js("{'bad': ['" HEX_A "']}");
    set(json_object_get(in, "claims"), "quote_version", json_integer(4));
    d = decide(p, in, rv, "state:write", "agents/b/state");
    EXPECT_TRUE(!d.allow);
    EXPECT_STR_EQ(d.rule, "deny-bad");
    EXPECT_STR_EQ(d.identity, "a"); /* the first admitted identity that the rule names */
    d = decide(p, in, rv, "state:read", "agents/b/state");
    EXPECT_TRUE(d.allow);
    json_decref(rv);
    json_decref(snp);
    json_decref(in);
    cs_policy_free(p);
}

static void test_request_arguments(void)
{
    struct cs_policy *p = pol(rules_doc);
    json_t *in = tdx_input();
    struct cs_policy_decision d;
    static const char *const bad_actions[] = { "*", "resource:write", "", "RESOURCE:READ" };
    for (size_t i = 0; i < sizeof bad_actions / sizeof bad_actions[0]; i++) {
        EXPECT_ERR(cs_policy_decide(p, in, NULL, bad_actions[i], "a/b", &d), CS_E_ARG);
        EXPECT_TRUE(!d.allow);
    }
    char long_name[CS_POLICY_RESOURCE_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    static const char *const bad_resources[] = {
        "", "/a", "a/", ("a/" "/b"), ".", "..", "a/./b", "a/../b", "../a", "a/..", "a/*", "*",
        "a b", "a\\b", "a/\xc3\xa9", "a?b", "a#b", "a%2fb",
    };
    for (size_t i = 0; i < sizeof bad_resources / sizeof bad_resources[0]; i++) {
        EXPECT_ERR(cs_policy_decide(p, in, NULL, "resource:read", bad_resources[i], &d),
                   CS_E_FORMAT);
        EXPECT_TRUE(!d.allow);
        EXPECT_TRUE(strncmp(d.why, "invalid resource name", 21) == 0);
    }
    EXPECT_ERR(cs_policy_decide(p, in, NULL, "resource:read", long_name, &d), CS_E_FORMAT);
    long_name[CS_POLICY_RESOURCE_MAX] = '\0'; /* exactly the ceiling is fine */
    EXPECT_OK(cs_policy_decide(p, in, NULL, "resource:read", long_name, &d));
    EXPECT_OK(cs_policy_decide(p, in, NULL, "resource:read", "a.b/c..d/.e/f.", &d));
    EXPECT_OK(cs_policy_decide(p, in, NULL, "resource:read", "A-z_0~9:@+=,/x", &d));
    json_t *not_obj = json_array();
    EXPECT_ERR(cs_policy_decide(p, not_obj, NULL, "resource:read", "a/b", &d), CS_E_ARG);
    EXPECT_ERR(cs_policy_decide(NULL, in, NULL, "resource:read", "a/b", &d), CS_E_ARG);
    EXPECT_ERR(cs_policy_decide(p, in, NULL, NULL, "a/b", &d), CS_E_ARG);
    json_t *ids = (json_t *)1;
    EXPECT_ERR(cs_policy_admit(p, not_obj, NULL, &ids, &d), CS_E_ARG);
    EXPECT_TRUE(ids == NULL);
    json_t *trace = (json_t *)1;
    EXPECT_ERR(cs_policy_explain(p, in, NULL, "nope", "a/b", &trace), CS_E_ARG);
    EXPECT_TRUE(trace == NULL);
    EXPECT_ERR(cs_policy_explain(p, in, NULL, "resource:read", "a/../b", &trace), CS_E_FORMAT);
    json_decref(not_obj);
    json_decref(in);
    cs_policy_free(p);
}

/* ---- explain ---- */

static void test_explain_matches_decide(void)
{
    struct cs_policy *p = pol(rules_doc);
    json_t *in = tdx_input();
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
        const struct rule_case *c = &rule_cases[i];
        json_t *t = NULL;
        EXPECT_OK(cs_policy_explain(p, in, NULL, c->action, c->resource, &t));
        struct cs_policy_decision d = decide(p, in, NULL, c->action, c->resource);
        json_t *td = json_object_get(t, "decision");
        EXPECT_EQ(json_is_true(json_object_get(td, "allow")), d.allow);
        EXPECT_STR_EQ(json_string_value(json_object_get(td, "reason")),
                      cs_policy_reason_name(d.reason));
        EXPECT_STR_EQ(json_string_value(json_object_get(td, "rule")), d.rule);
        EXPECT_STR_EQ(json_string_value(json_object_get(td, "identity")), d.identity);
        EXPECT_STR_EQ(json_string_value(json_object_get(td, "why")), d.why);
        /* every identity and every rule is in the trace, in document order */
        EXPECT_EQ(json_array_size(json_object_get(t, "identities")), 3);
        json_t *rules = json_object_get(t, "rules");
        EXPECT_EQ(json_array_size(rules), 8);
        EXPECT_STR_EQ(json_string_value(json_object_get(json_array_get(rules, 0), "id")),
                      "deny-secret"); /* deny rules are considered first */
        json_decref(t);
    }
    /* a comparison's trace: path, claim, literal, what it saw, the outcome */
    json_t *t = NULL;
    EXPECT_OK(cs_policy_explain(p, in, NULL, "resource:read", "gated/x", &t));
    json_t *rules = json_object_get(t, "rules");
    json_t *gated = json_array_get(rules, 7);
    EXPECT_STR_EQ(json_string_value(json_object_get(gated, "id")), "needs-claim");
    json_t *when = json_object_get(gated, "when");
    EXPECT_STR_EQ(json_string_value(json_object_get(when, "path")), "rules[3].when");
    EXPECT_STR_EQ(json_string_value(json_object_get(when, "claim")), "claims.rtmr3");
    EXPECT_STR_EQ(json_string_value(json_object_get(when, "result")), "unknown");
    EXPECT_STR_EQ(json_string_value(json_object_get(when, "note")), "missing");
    EXPECT_TRUE(json_is_null(json_object_get(when, "actual")));
    EXPECT_STR_EQ(json_string_value(json_object_get(gated, "path")), "rules[3]");
    json_t *b_state = json_array_get(rules, 5);
    EXPECT_STR_EQ(json_string_value(json_object_get(b_state, "id")), "allow-b-state");
    json_t *bw = json_object_get(b_state, "when");
    EXPECT_EQ(json_integer_value(json_object_get(bw, "actual")), 4);
    EXPECT_STR_EQ(json_string_value(json_object_get(bw, "result")), "true");
    json_t *ida = json_array_get(json_object_get(t, "identities"), 0);
    EXPECT_TRUE(json_is_true(json_object_get(ida, "admitted")));
    EXPECT_EQ(json_array_size(json_object_get(ida, "checks")), 5); /* + freshness */
    json_decref(t);

    /* not admitted: the trace still walks every identity and rule */
    set(in, "debug", json_true());
    EXPECT_OK(cs_policy_explain(p, in, NULL, "resource:read", "default/agent/key", &t));
    json_t *td = json_object_get(t, "decision");
    EXPECT_STR_EQ(json_string_value(json_object_get(td, "reason")), "not_admitted");
    EXPECT_EQ(json_array_size(json_object_get(t, "rules")), 8);
    ida = json_array_get(json_object_get(t, "identities"), 0);
    EXPECT_TRUE(json_is_false(json_object_get(ida, "admitted")));
    json_decref(t);
    json_decref(in);
    cs_policy_free(p);
}

static void test_explain_composite_trace(void)
{
    struct cs_policy *p = pol(
        "{'version': 1, 'id': 't', 'identities': [{'name': 'i', 'platforms': ['tdx'],"
        " 'protects': ['freshness'], 'match': {'allOf': [{'claim': 'claims.flag',"
        " 'equals': true}, {'not': {'claim': 'claims.quote_version', 'lte': 3}},"
        " {'anyOf': [{'claim': 'claims.nope', 'equals': 1}, {'claim': 'claims.ratio',"
        " 'gte': 1}]}]}}]}");
    json_t *in = tdx_input();
    json_t *t = NULL;
    EXPECT_OK(cs_policy_explain(p, in, NULL, "state:read", "x", &t));
    json_t *m = json_object_get(json_array_get(json_object_get(t, "identities"), 0), "match");
    EXPECT_STR_EQ(json_string_value(json_object_get(m, "op")), "allOf");
    EXPECT_STR_EQ(json_string_value(json_object_get(m, "result")), "true");
    json_t *kids = json_object_get(m, "conditions");
    EXPECT_EQ(json_array_size(kids), 3);
    json_t *any = json_array_get(kids, 2);
    EXPECT_STR_EQ(json_string_value(json_object_get(any, "path")),
                  "identities[0].match.allOf[2]");
    json_t *any0 = json_array_get(json_object_get(any, "conditions"), 0);
    EXPECT_STR_EQ(json_string_value(json_object_get(any0, "path")),
                  "identities[0].match.allOf[2].anyOf[0]");
    EXPECT_STR_EQ(json_string_value(json_object_get(any0, "result")), "unknown");
    json_t *not = json_array_get(kids, 1);
    EXPECT_STR_EQ(json_string_value(json_object_get(
                      json_array_get(json_object_get(not, "conditions"), 0), "path")),
                  "identities[0].match.allOf[1].not");
    json_decref(t);

    /* the why of a failed match names the deepest responsible part */
    set(json_object_get(in, "claims"), "ratio", json_real(0.5));
    struct cs_policy_decision d = decide(p, in, NULL, "state:read", "x");
    EXPECT_STR_EQ(d.why, "no identity admits the instance: i: identities[0].match.allOf[2]: "
                         "none of 2 alternatives holds");
    set(json_object_get(in, "claims"), "quote_version", json_integer(2));
    d = decide(p, in, NULL, "state:read", "x");
    EXPECT_STR_EQ(d.why, "no identity admits the instance: i: identities[0].match.allOf[1]: "
                         "the negated condition holds");
    json_object_del(json_object_get(in, "claims"), "flag");
    set(json_object_get(in, "claims"), "quote_version", json_integer(4));
    set(json_object_get(in, "claims"), "ratio", json_real(1.5));
    d = decide(p, in, NULL, "state:read", "x");
    EXPECT_STR_EQ(d.why, "no identity admits the instance: i: identities[0].match.allOf[0]: "
                         "claims.flag missing");
    json_decref(in);
    cs_policy_free(p);
}

/* ---- verdicts ---- */

static void test_input_from_verdict(void)
{
    json_t *v = js("{'verified': true, 'platform': 'tdx', 'tcb_status': 'UpToDate',"
                   " 'advisory_ids': [], 'claims': {'mr_td': '" HEX_A "', 'debug': false}}");
    json_t *in = NULL;
    EXPECT_OK(cs_policy_input_from_verdict(v, true, false, &in));
    EXPECT_STR_EQ(json_string_value(json_object_get(in, "platform")), "tdx");
    EXPECT_STR_EQ(json_string_value(json_object_get(in, "tcb_status")), "UpToDate");
    EXPECT_TRUE(json_is_false(json_object_get(in, "debug")));
    EXPECT_TRUE(json_is_false(json_object_get(in, "development")));
    EXPECT_TRUE(json_is_true(json_object_get(json_object_get(in, "freshness"), "nonce")));
    EXPECT_STR_EQ(json_string_value(json_object_get(json_object_get(in, "claims"), "mr_td")),
                  HEX_A);
    json_decref(in);

    /* a null TCB status (SNP) is absent; so is a missing debug claim */
    json_t *snp = js("{'verified': true, 'platform': 'snp', 'tcb_status': null, 'claims': {}}");
    EXPECT_OK(cs_policy_input_from_verdict(snp, false, true, &in));
    EXPECT_TRUE(json_object_get(in, "tcb_status") == NULL);
    EXPECT_TRUE(json_object_get(in, "debug") == NULL);
    EXPECT_TRUE(json_is_true(json_object_get(in, "development")));
    json_decref(in);
    json_decref(snp);

    /* unverified claims never reach policy */
    set(v, "verified", json_false());
    in = (json_t *)1;
    EXPECT_ERR(cs_policy_input_from_verdict(v, true, false, &in), CS_E_POLICY);
    EXPECT_TRUE(in == NULL);
    static const char *const bad[] = {
        "{'platform': 'tdx', 'claims': {}}",
        "{'verified': 'true', 'platform': 'tdx', 'claims': {}}",
        "{'verified': true, 'platform': 'arm-cca', 'claims': {}}",
        "{'verified': true, 'platform': 'tdx'}",
        "{'verified': true, 'claims': {}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = js(bad[i]);
        EXPECT_ERR(cs_policy_input_from_verdict(b, true, false, &in), CS_E_FORMAT);
        json_decref(b);
    }
    json_decref(v);
}

/* ---- docs/examples ---- */

static struct cs_policy *load_policy_file(const char *path)
{
    size_t len = 0;
    unsigned char *text = tv_read(path, &len);
    char err[CS_POLICY_ERR_MAX] = "";
    struct cs_policy *p = NULL;
    cs_res r = cs_policy_parse((const char *)text, len, &p, err, sizeof err);
    if (!cs_ok(r)) {
        fprintf(stderr, "%s: %s\n", path, err);
        cs_test_failures++;
    }
    free(text);
    return p;
}

static json_t *load_json_file(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        abort();
    }
    return j;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json names in dir (at most 64). */
static size_t list_json(const char *dir, char *names[64])
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        abort();
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names[n++] = (char *)tv_dup(e->d_name, len + 1);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    return n;
}

static void test_every_example_parses(void)
{
    char *names[64];
    size_t n = list_json(CS_POLICY_EXAMPLES_DIR, names);
    EXPECT_TRUE(n >= 4);
    bool has_dev = false;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CS_POLICY_EXAMPLES_DIR, names[i]);
        struct cs_policy *p = load_policy_file(path);
        EXPECT_TRUE(p != NULL && cs_policy_n_identities(p) > 0 && cs_policy_n_rules(p) > 0);
        has_dev = has_dev || strcmp(names[i], "policy-dev-tdx.json") == 0;
        cs_policy_free(p);
        free(names[i]);
    }
    EXPECT_TRUE(has_dev);
}

static void test_dev_policy(void)
{
    struct cs_policy *p = load_policy_file(CS_POLICY_EXAMPLES_DIR "/policy-dev-tdx.json");
    json_t *in = load_json_file(CS_POLICY_FIXTURES_DIR "/input-tdx-dev.json");
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "default/dev/secret");
    EXPECT_TRUE(d.allow);
    EXPECT_STR_EQ(d.rule, "dev-secret");
    EXPECT_TRUE(d.is_jwe_required);
    EXPECT_TRUE(!decide(p, in, NULL, "resource:read", "default/dev/other").allow);
    EXPECT_TRUE(!decide(p, in, NULL, "state:write", "default/dev/secret").allow);
    json_t *dbg = load_json_file(CS_POLICY_FIXTURES_DIR "/input-tdx-dev-debug.json");
    d = decide(p, dbg, NULL, "resource:read", "default/dev/secret");
    EXPECT_TRUE(!d.allow);
    EXPECT_EQ(d.reason, CS_POLICY_NOT_ADMITTED);
    EXPECT_TRUE(strstr(d.why, "debug") != NULL);
    set(in, "tcb_status", json_string("OutOfDate"));
    EXPECT_TRUE(!decide(p, in, NULL, "resource:read", "default/dev/secret").allow);
    set(in, "tcb_status", json_string("UpToDate"));
    set(in, "platform", json_string("snp"));
    EXPECT_TRUE(!decide(p, in, NULL, "resource:read", "default/dev/secret").allow);
    json_decref(dbg);
    json_decref(in);
    cs_policy_free(p);
}

static void test_prod_policy(void)
{
    struct cs_policy *p = load_policy_file(CS_POLICY_EXAMPLES_DIR "/policy-prod-tdx.json");
    json_t *in = load_json_file(CS_POLICY_FIXTURES_DIR "/input-tdx-prod.json");
    struct cs_policy_decision d = decide(p, in, NULL, "resource:read", "default/agent/key");
    EXPECT_TRUE(d.allow);
    EXPECT_STR_EQ(d.identity, "agent");
    EXPECT_TRUE(!decide(p, in, NULL, "resource:read", "default/admin/key").allow);
    /* a development root is not enough for production */
    set(in, "development", json_true());
    EXPECT_EQ(decide(p, in, NULL, "resource:read", "default/agent/key").reason,
              CS_POLICY_NOT_ADMITTED);
    set(in, "development", json_false());
    /* a stale nonce */
    set(in, "freshness", js("{'nonce': false}"));
    EXPECT_EQ(decide(p, in, NULL, "resource:read", "default/agent/key").reason,
              CS_POLICY_NOT_ADMITTED);
    set(in, "freshness", js("{'nonce': true}"));
    /* RTMR2 from the broker's reference values instead of the literal */
    set(json_object_get(in, "claims"), "rtmr2", json_string(HEX_C));
    EXPECT_TRUE(!decide(p, in, NULL, "resource:read", "default/agent/key").allow);
    json_t *rv = js("{'agent-rtmr2': ['" HEX_C "']}");
    EXPECT_TRUE(decide(p, in, rv, "resource:read", "default/agent/key").allow);
    json_decref(rv);
    json_decref(in);
    cs_policy_free(p);
}

/*
 * Snapshot: every example against every fixture input over a grid of requests, rendered
 * as JSON and compared with tests/policy/snapshot.json. Any change of a decision shows up
 * as a diff; regenerate deliberately with CS_POLICY_SNAPSHOT_WRITE=<path>.
 */
static void test_decision_snapshot(void)
{
    static const char *const requests[][2] = {
        { "resource:read", "default/dev/secret" },   { "resource:read", "default/agent/key" },
        { "resource:read", "default/admin/key" },    { "resource:read", "default/x" },
        { "state:read", "agents/agent/s" },          { "state:write", "agents/snp-agent/s" },
        { "resource:read", "default/snp-agent/k" },  { "token:issue", "audience/api.example.com" },
        { "state:read", "default/x" },               { "resource:read", "default/root-key" },
    };
    char *pols[64];
    char *inputs[64];
    size_t n_pols = list_json(CS_POLICY_EXAMPLES_DIR, pols);
    size_t n_inputs = list_json(CS_POLICY_FIXTURES_DIR, inputs);
    json_t *snap = json_array();
    for (size_t i = 0; i < n_pols; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CS_POLICY_EXAMPLES_DIR, pols[i]);
        struct cs_policy *p = load_policy_file(path);
        for (size_t k = 0; k < n_inputs && p != NULL; k++) {
            if (strncmp(inputs[k], "input-", 6) != 0) {
                continue;
            }
            snprintf(path, sizeof path, "%s/%s", CS_POLICY_FIXTURES_DIR, inputs[k]);
            json_t *in = load_json_file(path);
            for (size_t r = 0; r < sizeof requests / sizeof requests[0]; r++) {
                struct cs_policy_decision d =
                    decide(p, in, NULL, requests[r][0], requests[r][1]);
                json_array_append_new(
                    snap, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b}", "policy",
                                    pols[i], "input", inputs[k], "action", requests[r][0],
                                    "resource", requests[r][1], "allow", d.allow, "reason",
                                    cs_policy_reason_name(d.reason), "identity", d.identity,
                                    "rule", d.rule, "jwe", d.is_jwe_required));
            }
            json_decref(in);
        }
        cs_policy_free(p);
    }
    for (size_t i = 0; i < n_pols; i++) {
        free(pols[i]);
    }
    for (size_t i = 0; i < n_inputs; i++) {
        free(inputs[i]);
    }
    const char *out = getenv("CS_POLICY_SNAPSHOT_WRITE");
    if (out != NULL) {
        json_dump_file(snap, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    }
    json_t *want = load_json_file(CS_POLICY_FIXTURES_DIR "/snapshot.json");
    EXPECT_EQ(json_array_size(snap), json_array_size(want));
    for (size_t i = 0; i < json_array_size(snap) && i < json_array_size(want); i++) {
        if (!json_equal(json_array_get(snap, i), json_array_get(want, i))) {
            char *a = json_dumps(json_array_get(snap, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
            char *b = json_dumps(json_array_get(want, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
            fprintf(stderr, "snapshot %zu:\n  got  %s\n  want %s\n", i, a, b);
            free(a);
            free(b);
            cs_test_failures++;
        }
    }
    json_decref(want);
    json_decref(snap);
}

/* ---- robustness ---- */

static void test_allocation_failures(void)
{
    size_t len = 0;
    unsigned char *text = tv_read(CS_POLICY_EXAMPLES_DIR "/policy-deny-examples.json", &len);
    bool has_passed = false;
    for (long n = 0; n < 200 && !has_passed; n++) {
        struct cs_policy *p = NULL;
        char err[CS_POLICY_ERR_MAX];
        cs_mem_set_fail_after(n);
        cs_res r = cs_policy_parse((const char *)text, len, &p, err, sizeof err);
        cs_mem_set_fail_after(-1);
        if (cs_ok(r)) {
            has_passed = true;
            EXPECT_TRUE(p != NULL);
        } else {
            EXPECT_EQ(r.code, CS_E_NOMEM);
            EXPECT_TRUE(p == NULL);
        }
        cs_policy_free(p);
    }
    EXPECT_TRUE(has_passed);
    free(text);
}

struct worker {
    const struct cs_policy *p;
    const json_t *in;
    const json_t *rv;
    int allowed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 2000; i++) {
        struct cs_policy_decision d;
        if (cs_ok(cs_policy_decide(w->p, w->in, w->rv, "resource:read", "default/agent/key",
                                   &d)) &&
            d.allow) {
            w->allowed++;
        }
    }
    return NULL;
}

/* One parsed policy, one input, many threads: evaluation only reads. */
static void test_shared_policy_threads(void)
{
    struct cs_policy *p = load_policy_file(CS_POLICY_EXAMPLES_DIR "/policy-prod-tdx.json");
    json_t *in = load_json_file(CS_POLICY_FIXTURES_DIR "/input-tdx-prod.json");
    json_t *rv = js("{'agent-rtmr2': ['" HEX_C "']}");
    struct worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ p, in, rv, 0 };
        EXPECT_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(pthread_join(th[i], NULL), 0);
        EXPECT_EQ(w[i].allowed, 2000);
    }
    json_decref(rv);
    json_decref(in);
    cs_policy_free(p);
}

CS_TEST_MAIN(CS_TEST(test_conditions_three_valued), CS_TEST(test_missing_claim_never_matches),
             CS_TEST(test_in_set_external_refvals), CS_TEST(test_protects_requirements),
             CS_TEST(test_not_admitted_why), CS_TEST(test_confidentiality_obligation),
             CS_TEST(test_empty_policy_denies), CS_TEST(test_rules_table),
             CS_TEST(test_request_arguments), CS_TEST(test_explain_matches_decide),
             CS_TEST(test_explain_composite_trace), CS_TEST(test_input_from_verdict),
             CS_TEST(test_every_example_parses), CS_TEST(test_dev_policy),
             CS_TEST(test_prod_policy), CS_TEST(test_decision_snapshot),
             CS_TEST(test_allocation_failures), CS_TEST(test_shared_policy_threads))
