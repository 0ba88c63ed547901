/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the policy engine. The input is a policy document (cs_policy_parse); when
 * it parses, it is evaluated against fixed inputs (a TDX instance, the same in debug mode
 * and an SNP instance without a TCB status), with and without external reference values,
 * over every action and a few resources. Corpus: corpus/policy/ (the docs/examples).
 *
 * Invariants: a rejection is format, too_large, truncated or unsupported with a
 * one-line, printable message that names a path; a parsed policy has an id and counts
 * within the ceilings; a decision that allows has reason "allowed", a rule and an
 * identity, and its identity is admitted; a denial without admission is "not_admitted";
 * decide and explain agree (decision, reason, why, every identity and rule in the trace);
 * evaluating twice gives the same decision; an allowed identity is among the admitted.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz_target.h"
#include "policy/policy.h"

static const char tdx_input[] =
    "{\"platform\": \"tdx\", \"tcb_status\": \"UpToDate\", \"debug\": false,"
    " \"development\": false, \"freshness\": {\"nonce\": true},"
    " \"claims\": {\"platform\": \"tdx\", \"mr_td\": \"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7f"
    "afe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\", \"rtmr1\": \"0084452c01668329d4bc06"
    "acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378\","
    " \"rtmr2\": \"d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d73"
    "30733642e01d48c3132\", \"mr_config_id\": \"0000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000\", \"quote_version\": 4, \"debug\": false,"
    " \"list\": [\"a\", 1, true], \"pcrs\": {\"0\": \"00\"}, \"ratio\": 0.5, \"nothing\": null}}";

static const char snp_input[] =
    "{\"platform\": \"snp\", \"debug\": false, \"development\": true,"
    " \"freshness\": {\"nonce\": false}, \"claims\": {\"measurement\": \"a2f6\", \"vmpl\": 0,"
    " \"product\": \"Milan\", \"reported_tcb_snp\": 8}}";

static const char refvals_text[] =
    "{\"agent-rtmr2\": [\"d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b"
    "70870d7330733642e01d48c3132\"], \"s\": [\"a\", \"a2f6\"], \"revoked-mrtd\": [\"00\"]}";

static const char *const actions[] = { "resource:read", "state:read", "state:write",
                                       "token:issue" };
static const char *const resources[] = { "default/agent/key", "default/dev/secret", "a",
                                         "default/admin/x/y", "audience/api.example.com" };

static json_t *load(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    FUZZ_CHECK(j != NULL);
    return j;
}

static bool is_admitted(const json_t *names, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(names, i, v)
    {
        if (strcmp(json_string_value(v), name) == 0) {
            return true;
        }
    }
    return false;
}

static void check_one(const struct cs_policy *p, const json_t *in, const json_t *rv)
{
    json_t *names = NULL;
    struct cs_policy_decision adm;
    FUZZ_CHECK(cs_ok(cs_policy_admit(p, in, rv, &names, &adm)));
    FUZZ_CHECK(adm.allow == (json_array_size(names) > 0));
    FUZZ_CHECK(json_array_size(names) <= cs_policy_n_identities(p));
    for (size_t a = 0; a < sizeof actions / sizeof actions[0]; a++) {
        for (size_t r = 0; r < sizeof resources / sizeof resources[0]; r++) {
            struct cs_policy_decision d;
            struct cs_policy_decision again;
            FUZZ_CHECK(cs_ok(cs_policy_decide(p, in, rv, actions[a], resources[r], &d)));
            FUZZ_CHECK(cs_ok(cs_policy_decide(p, in, rv, actions[a], resources[r], &again)));
            FUZZ_CHECK(memcmp(&d, &again, sizeof d) == 0);
            FUZZ_CHECK(memchr(d.why, '\0', sizeof d.why) != NULL);
            if (d.allow) {
                FUZZ_CHECK(d.reason == CS_POLICY_ALLOWED);
                FUZZ_CHECK(d.rule[0] != '\0' && d.identity[0] != '\0');
                FUZZ_CHECK(is_admitted(names, d.identity));
            } else {
                FUZZ_CHECK(d.reason != CS_POLICY_ALLOWED);
                FUZZ_CHECK(!d.is_jwe_required);
            }
            FUZZ_CHECK((d.reason == CS_POLICY_NOT_ADMITTED) == !adm.allow);
            FUZZ_CHECK(d.reason != CS_POLICY_DENIED_BY_RULE || d.rule[0] != '\0');
            if (a == 0 && r < 2) { /* the trace is costly: a sample */
                json_t *t = NULL;
                FUZZ_CHECK(cs_ok(cs_policy_explain(p, in, rv, actions[a], resources[r], &t)));
                const json_t *td = json_object_get(t, "decision");
                FUZZ_CHECK(json_is_true(json_object_get(td, "allow")) == d.allow);
                FUZZ_CHECK(strcmp(json_string_value(json_object_get(td, "reason")),
                                  cs_policy_reason_name(d.reason)) == 0);
                FUZZ_CHECK(strcmp(json_string_value(json_object_get(td, "why")), d.why) == 0);
                FUZZ_CHECK(json_array_size(json_object_get(t, "identities")) ==
                           cs_policy_n_identities(p));
                FUZZ_CHECK(json_array_size(json_object_get(t, "rules")) == cs_policy_n_rules(p));
                json_decref(t);
            }
        }
    }
    json_decref(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[CS_POLICY_ERR_MAX];
    struct cs_policy *p = NULL;
    cs_res r = cs_policy_parse((const char *)data, size, &p, err, sizeof err);
    if (!cs_ok(r)) {
        FUZZ_CHECK(p == NULL);
        FUZZ_CHECK(r.code == CS_E_FORMAT || r.code == CS_E_TOO_LARGE ||
                   r.code == CS_E_TRUNCATED || r.code == CS_E_UNSUPPORTED);
        FUZZ_CHECK(strchr(err, ':') != NULL);
        for (const char *c = err; *c != '\0'; c++) {
            FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e);
        }
        return 0;
    }
    FUZZ_CHECK(p != NULL && cs_policy_id(p)[0] != '\0');
    FUZZ_CHECK(cs_policy_n_identities(p) <= CS_POLICY_IDENTITIES_MAX);
    FUZZ_CHECK(cs_policy_n_rules(p) <= CS_POLICY_RULES_MAX);

    json_t *tdx = load(tdx_input);
    json_t *snp = load(snp_input);
    json_t *rv = load(refvals_text);
    check_one(p, tdx, NULL);
    check_one(p, tdx, rv);
    check_one(p, snp, rv);
    FUZZ_CHECK(json_object_set_new(tdx, "debug", json_true()) == 0);
    check_one(p, tdx, rv);
    json_decref(rv);
    json_decref(snp);
    json_decref(tdx);
    cs_policy_free(p);
    return 0;
}
