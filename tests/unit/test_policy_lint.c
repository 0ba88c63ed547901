/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy linter: every rejection cs_policy_parse can make, with its code and its exact
 * one-line message ("<json path>: <reason>"), the ceilings (document size, nesting depth,
 * condition count, list sizes), and documents that sit exactly at a limit and pass.
 * Policies are written with single quotes; q() turns them into JSON.
 */
#include <jansson.h>

#include "cs_test.h"
#include "policy/policy.h"

static char *q(const char *sq)
{
    size_t n = strlen(sq);
    char *s = (char *)tv_dup(sq, n + 1);
    for (size_t i = 0; i < n; i++) {
        s[i] = s[i] == '\'' ? '"' : s[i];
    }
    return s;
}

#define ID_OK "{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness']}"
#define RULE_OK                                                                            \
    "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'], 'resources': ['*']}"
#define DOC(ids, rules)                                                                    \
    "{'version': 1, 'id': 'p', 'reference_values': {'s': ['x'], 'e': []}, 'identities': [" \
    ids "], 'rules': [" rules "]}"
#define IDM(match)                                                                         \
    "{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'], 'match': " match "}"
#define IDI(match)                                                                         \
    "{'name': 'i', 'platforms': ['tdx'], 'protects': ['integrity'], 'match': " match "}"
#define WHEN(cond)                                                                         \
    "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"                \
    " 'resources': ['*'], 'when': " cond "}"
#define RES(pattern)                                                                       \
    "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"                \
    " 'resources': [" pattern "]}"
#define HEX48                                                                              \
    "000102030405060708090a0b0c0d0e0f1011121314151617"                                     \
    "18191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"

struct lint_case {
    const char *doc;
    cs_code code;
    const char *err;
};

static const struct lint_case cases[] = {
    /* the document */
    { "[]", CS_E_FORMAT, "policy: not a JSON object" },
    { "{'version': 1, 'id': 'p',}", CS_E_FORMAT,
      "policy: line 1, column 26: string or '}' expected near '}'" },
    { "{'version': 1, 'id': 'p', 'id': 'q'}", CS_E_FORMAT,
      "policy: line 1, column 30: duplicate object key near '\"id\"'" },
    { "{'version': 1, 'id': 'p'} {}", CS_E_FORMAT,
      "policy: line 1, column 27: end of file expected near '{'" },
    { "{'version': 1, 'id': 'p', 'bogus': 1}", CS_E_FORMAT, "bogus: unknown member" },
    { "{'id': 'p'}", CS_E_FORMAT, "policy: missing \"version\"" },
    { "{'version': '1', 'id': 'p'}", CS_E_FORMAT, "version: not an integer" },
    { "{'version': 1.0, 'id': 'p'}", CS_E_FORMAT, "version: not an integer" },
    { "{'version': 2, 'id': 'p'}", CS_E_UNSUPPORTED, "version: only version 1 is supported" },
    { "{'version': 1}", CS_E_FORMAT, "policy: missing \"id\"" },
    { "{'version': 1, 'id': 'has space'}", CS_E_FORMAT,
      "id: not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 bytes)" },
    { "{'version': 1, 'id': '-p'}", CS_E_FORMAT,
      "id: not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 bytes)" },
    { "{'version': 1, 'id': 7}", CS_E_FORMAT, "id: not a string" },
    { "{'version': 1, 'id': 'p', 'description': 7}", CS_E_FORMAT,
      "description: not a string" },
    /* reference values */
    { "{'version': 1, 'id': 'p', 'reference_values': []}", CS_E_FORMAT,
      "reference_values: not an object" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'a b': []}}", CS_E_FORMAT,
      "reference_values.a b: set name is not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 "
      "bytes)" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': 'x'}}", CS_E_FORMAT,
      "reference_values.s: not an array" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': [1]}}", CS_E_FORMAT,
      "reference_values.s[0]: not a string" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': ['x', '']}}", CS_E_FORMAT,
      "reference_values.s[1]: empty value" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': ['00AB']}}", CS_E_FORMAT,
      "reference_values.s[0]: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': ['0xAB']}}", CS_E_FORMAT,
      "reference_values.s[0]: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
    { "{'version': 1, 'id': 'p', 'reference_values': {'s': ['ab', 'cd', 'ab']}}", CS_E_FORMAT,
      "reference_values.s: a value listed twice" },
    /* identities */
    { "{'version': 1, 'id': 'p', 'identities': {}}", CS_E_FORMAT, "identities: not an array" },
    { DOC("7", ""), CS_E_FORMAT, "identities[0]: not an object" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'], 'alow_debug': true}",
          ""),
      CS_E_FORMAT, "identities[0].alow_debug: unknown member" },
    { DOC("{'platforms': ['tdx'], 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0]: missing \"name\"" },
    { DOC("{'name': 'i', 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0]: missing \"platforms\"" },
    { DOC("{'name': 'i', 'platforms': ['tdx']}", ""), CS_E_FORMAT,
      "identities[0]: missing \"protects\"" },
    { DOC("{'name': '*', 'platforms': ['tdx'], 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0].name: not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 bytes)" },
    { DOC(ID_OK ", " ID_OK, ""), CS_E_FORMAT, "identities[1]: identity \"i\" defined twice" },
    { DOC("{'name': 'i', 'platforms': [], 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0].platforms: empty list" },
    { DOC("{'name': 'i', 'platforms': 'tdx', 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0].platforms: not an array" },
    { DOC("{'name': 'i', 'platforms': ['tdx', 'cca'], 'protects': ['freshness']}", ""),
      CS_E_FORMAT, "identities[0].platforms[1]: unknown platform \"cca\"" },
    { DOC("{'name': 'i', 'platforms': ['tdx', 'tdx'], 'protects': ['freshness']}", ""),
      CS_E_FORMAT, "identities[0].platforms[1]: \"tdx\" listed twice" },
    { DOC("{'name': 'i', 'platforms': ['TDX'], 'protects': ['freshness']}", ""), CS_E_FORMAT,
      "identities[0].platforms[0]: unknown platform \"TDX\"" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': []}", ""), CS_E_FORMAT,
      "identities[0].protects: empty list" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['availability']}", ""),
      CS_E_FORMAT, "identities[0].protects[0]: unknown protection \"availability\"" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'],"
          " 'tcb_allowed': ['UpToDate', 'Revoked']}",
          ""),
      CS_E_FORMAT, "identities[0].tcb_allowed[1]: a Revoked TCB can never be allowed" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'],"
          " 'tcb_allowed': ['uptodate']}",
          ""),
      CS_E_FORMAT, "identities[0].tcb_allowed[0]: unknown TCB status \"uptodate\"" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'], 'tcb_allowed': []}",
          ""),
      CS_E_FORMAT, "identities[0].tcb_allowed: empty list" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'], 'allow_debug': 1}",
          ""),
      CS_E_FORMAT, "identities[0].allow_debug: not a boolean" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'],"
          " 'allow_development': 'no'}",
          ""),
      CS_E_FORMAT, "identities[0].allow_development: not a boolean" },
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['freshness'], 'description': 1}",
          ""),
      CS_E_FORMAT, "identities[0].description: not a string" },
    { DOC("{'name': 'i', 'platforms': ['snp', 'tpm'], 'protects': ['confidentiality']}", ""),
      CS_E_FORMAT,
      "identities[0].platforms: tpm does not protect memory from the host: it cannot protect "
      "confidentiality" },
    /* integrity needs a measurement condition */
    { DOC("{'name': 'i', 'platforms': ['tdx'], 'protects': ['integrity']}", ""), CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    { DOC(IDI("{'claim': 'claims.quote_version', 'equals': 4}"), ""), CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    { DOC(IDI("{'claim': 'claims.mr_td', 'prefix': '00'}"), ""), CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    { DOC(IDI("{'not': {'claim': 'claims.mr_td', 'equals': '00'}}"), ""), CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    { DOC(IDI("{'anyOf': [{'claim': 'claims.mr_td', 'equals': '00'},"
              " {'claim': 'debug', 'equals': false}]}"),
          ""),
      CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    { DOC(IDI("{'claim': 'claims.pcrs', 'equals': '00'}"), ""), CS_E_FORMAT,
      "identities[0].match: integrity needs a measurement condition (equals, in or in_set on a "
      "measurement claim, not under not or a partial anyOf)" },
    /* conditions */
    { DOC(IDM("[]"), ""), CS_E_FORMAT, "identities[0].match: a condition must be an object" },
    { DOC(IDM("{}"), ""), CS_E_FORMAT, "identities[0].match: empty condition" },
    { DOC(ID_OK, WHEN("{'allOf': [{'claim': 'debug', 'eq': false}]}")), CS_E_FORMAT,
      "rules[0].when.allOf[0]: unknown operator \"eq\"" },
    { DOC(ID_OK, WHEN("{'allOf': []}")), CS_E_FORMAT, "rules[0].when.allOf: empty list" },
    { DOC(ID_OK, WHEN("{'anyOf': {}}")), CS_E_FORMAT, "rules[0].when.anyOf: not an array" },
    { DOC(ID_OK, WHEN("{'not': []}")), CS_E_FORMAT,
      "rules[0].when.not: a condition must be an object" },
    { DOC(ID_OK, WHEN("{'allOf': [{'claim': 'debug', 'equals': false}], 'claim': 'x'}")),
      CS_E_FORMAT, "rules[0].when: \"allOf\" must be the only member of its condition" },
    { DOC(ID_OK, WHEN("{'claim': 'debug', 'equals': false, 'in': [false]}")), CS_E_FORMAT,
      "rules[0].when: two operators (\"equals\" and \"in\")" },
    { DOC(ID_OK, WHEN("{'equals': false}")), CS_E_FORMAT,
      "rules[0].when: a comparison needs \"claim\"" },
    { DOC(ID_OK, WHEN("{'claim': 'debug'}")), CS_E_FORMAT,
      "rules[0].when: a comparison needs an operator" },
    { DOC(ID_OK, WHEN("{'claim': 1, 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: not a string" },
    { DOC(ID_OK, WHEN("{'claim': '', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: empty claim path" },
    { DOC(ID_OK, WHEN("{'claim': 'claims..x', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: claim path: an empty segment" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.x.', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: claim path: an empty segment" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.x y', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: claim path: a character outside [A-Za-z0-9_-.]" },
    { DOC(ID_OK, WHEN("{'claim': 'claimz.x', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: claim path must start with platform, tcb_status, debug, claims, "
      "freshness, init_data or development" },
    { DOC(ID_OK, WHEN("{'claim': 'mr_td', 'equals': false}")), CS_E_FORMAT,
      "rules[0].when.claim: claim path must start with platform, tcb_status, debug, claims, "
      "freshness, init_data or development" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p', 'equals': 1}")),
      CS_E_TOO_LARGE, "rules[0].when.claim: claim path of more than 16 segments" },
    { DOC(ID_OK, WHEN("{'claim': 'debug', 'equals': null}")), CS_E_FORMAT,
      "rules[0].when.equals: not a string, number or boolean" },
    { DOC(ID_OK, WHEN("{'claim': 'debug', 'equals': {'a': 1}}")), CS_E_FORMAT,
      "rules[0].when.equals: not a string, number or boolean" },
    { DOC(ID_OK, WHEN("{'claim': 'debug', 'equals': [1]}")), CS_E_FORMAT,
      "rules[0].when.equals: not a string, number or boolean" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'equals': '" HEX48 "F'}")), CS_E_FORMAT,
      "rules[0].when.equals: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in': []}")), CS_E_FORMAT,
      "rules[0].when.in: empty list" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in': 'x'}")), CS_E_FORMAT,
      "rules[0].when.in: not an array" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in': ['x', ['y']]}")), CS_E_FORMAT,
      "rules[0].when.in[1]: not a string, number or boolean" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in': ['x', 'DEADBEEF']}")), CS_E_FORMAT,
      "rules[0].when.in[1]: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.product', 'prefix': ''}")), CS_E_FORMAT,
      "rules[0].when.prefix: empty prefix (it would match every string)" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.product', 'prefix': 1}")), CS_E_FORMAT,
      "rules[0].when.prefix: not a string" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.policy', 'prefix': '0x3A'}")), CS_E_FORMAT,
      "rules[0].when.prefix: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.svn', 'gte': '4'}")), CS_E_FORMAT,
      "rules[0].when.gte: not a number" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.svn', 'lte': true}")), CS_E_FORMAT,
      "rules[0].when.lte: not a number" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in_set': 'nope'}")), CS_E_FORMAT,
      "rules[0].when.in_set: unknown reference-value set \"nope\" (declare it in "
      "reference_values)" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.mr_td', 'in_set': ['s']}")), CS_E_FORMAT,
      "rules[0].when.in_set: not a string" },
    /* rules */
    { "{'version': 1, 'id': 'p', 'rules': {}}", CS_E_FORMAT, "rules: not an array" },
    { DOC(ID_OK, "[]"), CS_E_FORMAT, "rules[0]: not an object" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': ['*'], 'priority': 1}"),
      CS_E_FORMAT, "rules[0].priority: unknown member" },
    { DOC(ID_OK, "{'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0]: missing \"id\"" },
    { DOC(ID_OK, "{'id': 'r', 'identities': ['i'], 'actions': ['*'], 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0]: missing \"effect\"" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'actions': ['*'], 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0]: missing \"identities\"" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0]: missing \"actions\"" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*']}"),
      CS_E_FORMAT, "rules[0]: missing \"resources\"" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'permit', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].effect: effect must be \"allow\" or \"deny\"" },
    { DOC(ID_OK, RULE_OK ", " RULE_OK), CS_E_FORMAT, "rules[1]: rule id \"r\" used twice" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['j'], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].identities[0]: unknown identity \"j\"" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i', '*'], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].identities[1]: \"*\" stands for every identity: list it alone" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i', 'i'], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].identities[1]: \"i\" listed twice" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': [], 'actions': ['*'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].identities: empty list" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['read'],"
                 " 'resources': ['*']}"),
      CS_E_FORMAT,
      "rules[0].actions[0]: unknown action \"read\" (resource:read, state:read, state:write, "
      "token:issue or *)" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'],"
                 " 'actions': ['state:read', '*'], 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].actions[1]: \"*\" stands for every action: list it alone" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'],"
                 " 'actions': ['state:read', 'state:read'], 'resources': ['*']}"),
      CS_E_FORMAT, "rules[0].actions[1]: \"state:read\" listed twice" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': []}"),
      CS_E_FORMAT, "rules[0].resources: empty list" },
    { DOC(ID_OK, RES("'default/*/key'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: '*' only as the whole pattern or its last "
      "segment" },
    { DOC(ID_OK, RES("'default/agent*'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: '*' only as the whole pattern or its last "
      "segment" },
    { DOC(ID_OK, RES("'**'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: '*' only as the whole pattern or its last "
      "segment" },
    { DOC(ID_OK, RES("''")), CS_E_FORMAT, "rules[0].resources[0]: resource pattern: empty" },
    { DOC(ID_OK, RES("'default/" "/key'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: an empty segment" },
    { DOC(ID_OK, RES("'/*'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: an empty segment" },
    { DOC(ID_OK, RES("'default/../*'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: a '.' or '..' segment" },
    { DOC(ID_OK, RES("'default/.'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: a '.' or '..' segment" },
    { DOC(ID_OK, RES("'default/a b'")), CS_E_FORMAT,
      "rules[0].resources[0]: resource pattern: a character outside [A-Za-z0-9._~:@+=,-/]" },
    { DOC(ID_OK, RES("7")), CS_E_FORMAT, "rules[0].resources[0]: not a string" },
    { DOC(ID_OK, "{'id': 'r', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': ['*'], 'when': 'always'}"),
      CS_E_FORMAT, "rules[0].when: a condition must be an object" },
    /* clean documents at the edges */
    { "{'version': 1, 'id': 'p'}", CS_OK, "" },
    { DOC(IDI("{'anyOf': [{'claim': 'claims.mr_td', 'in_set': 's'},"
              " {'claim': 'claims.rtmr0', 'in': ['00']}]}"),
          ""),
      CS_OK, "" },
    { DOC(IDI("{'allOf': [{'claim': 'debug', 'equals': false},"
              " {'claim': 'claims.pcrs.sha256.7', 'equals': '00'}]}"),
          ""),
      CS_OK, "" },
    { DOC(IDI("{'claim': 'init_data.digest', 'equals': 'ab'}"), ""), CS_OK, "" },
    { DOC(ID_OK, RES("'*', 'default/*', 'a.b/c..d/.e', 'x'")), CS_OK, "" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.module_id', 'equals': 'BEEF-cafe'}")), CS_OK, "" },
    { DOC(ID_OK, WHEN("{'claim': 'claims.name', 'in': ['A', 'F0', 'ABCDEFG']}")), CS_E_FORMAT,
      "rules[0].when.in[1]: upper-case hex: claims carry lower-case hex, write it in lower "
      "case" },
};

static void test_lint_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *doc = q(cases[i].doc);
        char err[CS_POLICY_ERR_MAX] = "junk";
        struct cs_policy *p = (struct cs_policy *)1;
        cs_res r = cs_policy_parse(doc, strlen(doc), &p, err, sizeof err);
        if (r.code != cases[i].code || strcmp(err, cases[i].err) != 0 ||
            (r.code == CS_OK) != (p != NULL)) {
            fprintf(stderr, "case %zu: %s\n  got  %s \"%s\"\n  want %s \"%s\"\n", i, doc,
                    custos_code_name(r.code), err, custos_code_name(cases[i].code),
                    cases[i].err);
            cs_test_failures++;
        }
        cs_policy_free(p);
        free(doc);
    }
}

/* Parses text of len bytes; returns the code and leaves the message in err. */
static cs_code parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct cs_policy *p = NULL;
    cs_res r = cs_policy_parse(text, len, &p, err, errlen);
    cs_policy_free(p);
    return r.code;
}

static void test_bytes_and_arguments(void)
{
    char err[CS_POLICY_ERR_MAX];
    struct cs_policy *p = NULL;
    EXPECT_EQ(parse("", 0, err, sizeof err), CS_E_TRUNCATED);
    EXPECT_STR_EQ(err, "policy: empty document");
    EXPECT_ERR(cs_policy_parse(NULL, 0, &p, err, sizeof err), CS_E_TRUNCATED);
    EXPECT_ERR(cs_policy_parse(NULL, 1, &p, err, sizeof err), CS_E_ARG);
    EXPECT_ERR(cs_policy_parse("{}", 2, NULL, err, sizeof err), CS_E_ARG);
    /* no room for a message is fine; a short buffer truncates and terminates */
    EXPECT_EQ(parse("{}", 2, NULL, 0), CS_E_FORMAT);
    char tiny[8] = "xxxxxxx";
    EXPECT_EQ(parse("{}", 2, tiny, sizeof tiny), CS_E_FORMAT);
    EXPECT_STR_EQ(tiny, "policy:");
    /* a NUL inside the document, invalid UTF-8, control bytes: refused, message printable */
    static const char nul[] = "{\"version\": 1, \"id\": \"p\"}\0";
    EXPECT_EQ(parse(nul, sizeof nul - 1, err, sizeof err), CS_E_FORMAT);
    static const char bad_utf8[] = "{\"version\": 1, \"id\": \"p\xff\"}";
    EXPECT_EQ(parse(bad_utf8, sizeof bad_utf8 - 1, err, sizeof err), CS_E_FORMAT);
    for (const char *c = err; *c != '\0'; c++) {
        EXPECT_TRUE(*c >= 0x20 && *c <= 0x7e);
    }
    static const char esc_nul[] = "{\"version\": 1, \"id\": \"p\\u0000\"}";
    EXPECT_EQ(parse(esc_nul, sizeof esc_nul - 1, err, sizeof err), CS_E_FORMAT);
    static const char ctl_key[] = "{\"version\": 1, \"id\": \"p\", \"\\u0001x\": 1}";
    EXPECT_EQ(parse(ctl_key, sizeof ctl_key - 1, err, sizeof err), CS_E_FORMAT);
    EXPECT_STR_EQ(err, "?x: unknown member");
    /* the accessors on NULL */
    EXPECT_STR_EQ(cs_policy_id(NULL), "");
    EXPECT_EQ(cs_policy_n_identities(NULL), 0);
    EXPECT_EQ(cs_policy_n_rules(NULL), 0);
    cs_policy_free(NULL);
    EXPECT_STR_EQ(cs_policy_reason_name((enum cs_policy_reason)99), "unknown");
}

/* A growable text for the generated documents. */
struct text {
    char *p;
    size_t len;
    size_t cap;
};

static void add(struct text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL) {
            abort();
        }
    }
    memcpy(t->p + t->len, s, n + 1);
    t->len += n;
}

static cs_code parse_text(struct text *t, char *err, size_t errlen)
{
    char *doc = q(t->p);
    cs_code c = parse(doc, t->len, err, errlen);
    free(doc);
    free(t->p);
    *t = (struct text){ 0 };
    return c;
}

/* A rule whose `when` nests n conditions: n-1 `not`s around one comparison. */
static cs_code nested(unsigned n, char *err, size_t errlen)
{
    struct text t = { 0 };
    add(&t, "{'version': 1, 'id': 'p', 'identities': [" ID_OK "], 'rules': [{'id': 'r',"
            " 'effect': 'allow', 'identities': ['i'], 'actions': ['*'], 'resources': ['*'],"
            " 'when': ");
    for (unsigned i = 1; i < n; i++) {
        add(&t, "{'not': ");
    }
    add(&t, "{'claim': 'debug', 'equals': false}");
    for (unsigned i = 1; i < n; i++) {
        add(&t, "}");
    }
    add(&t, "}]}");
    return parse_text(&t, err, errlen);
}

static void test_depth_limit(void)
{
    char err[CS_POLICY_ERR_MAX];
    EXPECT_EQ(nested(CS_POLICY_DEPTH_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(nested(CS_POLICY_DEPTH_MAX + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules[0].when.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not."
                       "not: conditions nested deeper than 16");
    EXPECT_EQ(nested(2000, err, sizeof err), CS_E_TOO_LARGE);
}

/* n rules each with a `when` of k comparisons in an allOf (k+1 conditions per rule). */
static cs_code many_conditions(size_t n, size_t k, char *err, size_t errlen)
{
    struct text t = { 0 };
    add(&t, "{'version': 1, 'id': 'p', 'identities': [" ID_OK "], 'rules': [");
    for (size_t i = 0; i < n; i++) {
        char head[160];
        snprintf(head, sizeof head,
                 "%s{'id': 'r%zu', 'effect': 'allow', 'identities': ['i'], 'actions': ['*'],"
                 " 'resources': ['*'], 'when': {'allOf': [",
                 i > 0 ? ", " : "", i);
        add(&t, head);
        for (size_t j = 0; j < k; j++) {
            add(&t, j > 0 ? ", {'claim': 'debug', 'equals': false}"
                          : "{'claim': 'debug', 'equals': false}");
        }
        add(&t, "]}}");
    }
    add(&t, "]}");
    return parse_text(&t, err, errlen);
}

static void test_condition_count_limit(void)
{
    char err[CS_POLICY_ERR_MAX];
    /* 4 rules x 1024 = 4096 conditions: exactly the ceiling */
    EXPECT_EQ(many_conditions(4, 1023, err, sizeof err), CS_OK);
    EXPECT_EQ(many_conditions(4, 1024, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules[3].when.allOf[1020]: more than 4096 conditions in the policy");
    EXPECT_EQ(many_conditions(1, 4097, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules[0].when.allOf: more than 4096 elements");
}

/* A document with n identities / n rules / n sets / a set of n values / an `in` of n. */
static cs_code sized(const char *what, size_t n, char *err, size_t errlen)
{
    struct text t = { 0 };
    char item[256];
    add(&t, "{'version': 1, 'id': 'p', ");
    if (strcmp(what, "identities") == 0) {
        add(&t, "'identities': [");
        for (size_t i = 0; i < n; i++) {
            snprintf(item, sizeof item,
                     "%s{'name': 'i%zu', 'platforms': ['tdx'], 'protects': ['freshness']}",
                     i > 0 ? ", " : "", i);
            add(&t, item);
        }
        add(&t, "]}");
    } else if (strcmp(what, "rules") == 0) {
        add(&t, "'identities': [" ID_OK "], 'rules': [");
        for (size_t i = 0; i < n; i++) {
            snprintf(item, sizeof item,
                     "%s{'id': 'r%zu', 'effect': 'deny', 'identities': ['*'], 'actions': ['*'],"
                     " 'resources': ['*']}",
                     i > 0 ? ", " : "", i);
            add(&t, item);
        }
        add(&t, "]}");
    } else if (strcmp(what, "sets") == 0) {
        add(&t, "'reference_values': {");
        for (size_t i = 0; i < n; i++) {
            snprintf(item, sizeof item, "%s's%zu': ['x']", i > 0 ? ", " : "", i);
            add(&t, item);
        }
        add(&t, "}}");
    } else if (strcmp(what, "values") == 0) {
        add(&t, "'reference_values': {'s': [");
        for (size_t i = 0; i < n; i++) {
            snprintf(item, sizeof item, "%s'v%zu'", i > 0 ? ", " : "", i);
            add(&t, item);
        }
        add(&t, "]}}");
    } else {
        add(&t, "'identities': [" ID_OK "], 'rules': [{'id': 'r', 'effect': 'allow',"
                " 'identities': ['i'], 'actions': ['*'], 'resources': ['*'],"
                " 'when': {'claim': 'claims.x', 'in': [");
        for (size_t i = 0; i < n; i++) {
            snprintf(item, sizeof item, "%s%zu", i > 0 ? ", " : "", i);
            add(&t, item);
        }
        add(&t, "]}}]}");
    }
    return parse_text(&t, err, errlen);
}

static void test_list_limits(void)
{
    char err[CS_POLICY_ERR_MAX];
    EXPECT_EQ(sized("identities", CS_POLICY_IDENTITIES_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(sized("identities", CS_POLICY_IDENTITIES_MAX + 1, err, sizeof err),
              CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "identities: more than 256 identities");
    EXPECT_EQ(sized("rules", CS_POLICY_RULES_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(sized("rules", CS_POLICY_RULES_MAX + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules: more than 1024 rules");
    EXPECT_EQ(sized("sets", CS_POLICY_SETS_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(sized("sets", CS_POLICY_SETS_MAX + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "reference_values: more than 256 sets");
    EXPECT_EQ(sized("values", CS_POLICY_SET_VALUES_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(sized("values", CS_POLICY_SET_VALUES_MAX + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "reference_values.s: more than 4096 values");
    EXPECT_EQ(sized("in", CS_POLICY_LIST_MAX, err, sizeof err), CS_OK);
    EXPECT_EQ(sized("in", CS_POLICY_LIST_MAX + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules[0].when.in: more than 256 elements");
}

static void test_string_limits(void)
{
    char err[CS_POLICY_ERR_MAX];
    char doc[4096];
    char s[CS_POLICY_STRING_MAX + 2];
    /* a literal of exactly the ceiling passes, one byte more does not */
    memset(s, 'x', sizeof s - 1);
    s[CS_POLICY_STRING_MAX] = '\0';
    snprintf(doc, sizeof doc, "{'version': 1, 'id': 'p', 'reference_values': {'s': ['%s']}}", s);
    char *d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_OK);
    free(d);
    s[CS_POLICY_STRING_MAX] = 'x';
    s[CS_POLICY_STRING_MAX + 1] = '\0';
    snprintf(doc, sizeof doc, "{'version': 1, 'id': 'p', 'reference_values': {'s': ['%s']}}", s);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "reference_values.s[0]: string longer than 1024 bytes");
    free(d);
    /* names: 63 bytes pass, 64 do not */
    char name[66];
    memset(name, 'n', sizeof name);
    name[CS_POLICY_NAME_MAX] = '\0';
    snprintf(doc, sizeof doc, "{'version': 1, 'id': '%s'}", name);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_OK);
    free(d);
    name[CS_POLICY_NAME_MAX] = 'n';
    name[CS_POLICY_NAME_MAX + 1] = '\0';
    snprintf(doc, sizeof doc, "{'version': 1, 'id': '%s'}", name);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "id: string longer than 63 bytes");
    free(d);
    /* claim paths: 255 bytes pass, 256 do not */
    char path[CS_POLICY_PATH_MAX + 2];
    memcpy(path, "claims.", 7);
    memset(path + 7, 'p', sizeof path - 7);
    path[CS_POLICY_PATH_MAX] = '\0';
    snprintf(doc, sizeof doc, DOC(ID_OK, WHEN("{'claim': '%s', 'equals': 1}")), path);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_OK);
    free(d);
    path[CS_POLICY_PATH_MAX] = 'p';
    path[CS_POLICY_PATH_MAX + 1] = '\0';
    snprintf(doc, sizeof doc, DOC(ID_OK, WHEN("{'claim': '%s', 'equals': 1}")), path);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "rules[0].when.claim: string longer than 255 bytes");
    free(d);
    /* a description of more than 1024 bytes */
    memset(s, 'd', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    snprintf(doc, sizeof doc, "{'version': 1, 'id': 'p', 'description': '%s'}", s);
    d = q(doc);
    EXPECT_EQ(parse(d, strlen(d), err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "description: string longer than 1024 bytes");
    free(d);
}

static void test_document_size_limit(void)
{
    char err[CS_POLICY_ERR_MAX];
    /* exactly 1 MiB of valid JSON (padded with blanks) passes; one byte more does not */
    size_t n = CS_POLICY_DOC_MAX;
    char *doc = malloc(n + 1);
    if (doc == NULL) {
        abort();
    }
    static const char head[] = "{\"version\": 1, \"id\": \"big\"}";
    memset(doc, ' ', n + 1);
    memcpy(doc, head, sizeof head - 1);
    EXPECT_EQ(parse(doc, n, err, sizeof err), CS_OK);
    EXPECT_EQ(parse(doc, n + 1, err, sizeof err), CS_E_TOO_LARGE);
    EXPECT_STR_EQ(err, "policy: larger than 1048576 bytes");
    free(doc);
}

CS_TEST_MAIN(CS_TEST(test_lint_table), CS_TEST(test_bytes_and_arguments),
             CS_TEST(test_depth_limit), CS_TEST(test_condition_count_limit),
             CS_TEST(test_list_limits), CS_TEST(test_string_limits),
             CS_TEST(test_document_size_limit))
