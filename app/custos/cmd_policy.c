/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos policy check FILE
 * custos policy eval --policy P --claims C --action A --resource R [--refvals F]
 *                    [--fresh] [--development] [--json]
 *
 * check: parses and lints a policy document. eval: decides one request against an
 * evaluation input (or a verified verdict of `custos verify --json`, converted) and
 * prints the decision or, with --json, the full trace. Exit status: check 0 ok, 1 lint
 * error; eval 0 allow, 1 deny; both 2 on usage or I/O errors. Wiring only: the engine is
 * src/policy (docs/policy.md).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "policy/policy.h"

#define INPUT_MAX (1024u * 1024u)          /* evaluation input or verdict */
#define REFVALS_MAX (16u * 1024u * 1024u) /* external reference values */

static void usage(FILE *f)
{
    fputs("usage: custos policy check FILE\n"
          "       custos policy eval --policy FILE --claims FILE --action A --resource R\n"
          "                          [--refvals FILE] [--fresh] [--development] [--json]\n"
          "\n"
          "  check            parse and lint a policy; print its id and size\n"
          "  eval             decide one request and say why\n"
          "  --policy FILE    the policy document\n"
          "  --claims FILE    an evaluation input object, or a verified verdict of\n"
          "                   `custos verify --json` (converted); - reads stdin\n"
          "  --action A       resource:read, state:read, state:write or token:issue\n"
          "  --resource R     e.g. default/agent/key\n"
          "  --refvals FILE   extra reference values: {\"<set>\": [\"<value>\", ...]}\n"
          "  --fresh          (verdict only) the evidence bound the broker's nonce\n"
          "  --development    (verdict only) it was verified against a development root\n"
          "  --json           print the full trace as JSON\n"
          "\n"
          "exit status: check 0 ok, 1 rejected; eval 0 allow, 1 deny; 2 usage or I/O error\n",
          f);
}

static void policy_freep(struct cs_policy **p)
{
    cs_policy_free(*p);
}

/* Reads a whole file ("-": stdin) of at most max bytes; prints the failure. */
static bool read_all(const char *path, size_t max, struct cs_blob *out)
{
    cs_res r = strcmp(path, "-") == 0 ? cs_fd_read(STDIN_FILENO, max, out)
                                      : cs_file_read(path, max, out);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos policy: cannot read %s: %s\n", path, custos_code_name(r.code));
        return false;
    }
    return true;
}

/* Loads a JSON object file; prints the failure. */
static bool load_object(const char *path, size_t max, json_t **out)
{
    struct cs_blob b = { 0 };
    if (!read_all(path, max, &b)) {
        return false;
    }
    json_error_t err;
    *out = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, &err);
    cs_blob_clear(&b);
    if (*out == NULL || !json_is_object(*out)) {
        fprintf(stderr, "custos policy: %s: %s\n", path,
                *out == NULL ? "not JSON (or a duplicate key)" : "not a JSON object");
        json_decref(*out);
        *out = NULL;
        return false;
    }
    return true;
}

/* Parses the policy at path; prints the failure. Returns CLI_OK, CLI_REJECTED or CLI_USAGE. */
static int load_policy(const char *path, struct cs_policy **out)
{
    struct cs_blob b = { 0 };
    /* one byte over the ceiling reaches the parser, which then says what the limit is */
    if (!read_all(path, CS_POLICY_DOC_MAX + 1, &b)) {
        return CLI_USAGE;
    }
    char err[CS_POLICY_ERR_MAX];
    cs_res r = cs_policy_parse((const char *)b.p, b.len, out, err, sizeof err);
    cs_blob_clear(&b);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos policy: %s: %s\n", path, err);
        return r.code == CS_E_NOMEM ? CLI_USAGE : CLI_REJECTED;
    }
    return CLI_OK;
}

static int cmd_check(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return CLI_USAGE;
    }
    CS_AUTO(policy_freep) struct cs_policy *p = NULL;
    int rc = load_policy(argv[1], &p);
    if (rc != CLI_OK) {
        return rc;
    }
    printf("policy ok: %s, %zu identities, %zu rules\n", cs_policy_id(p),
           cs_policy_n_identities(p), cs_policy_n_rules(p));
    return CLI_OK;
}

struct eval_opts {
    const char *policy;
    const char *claims;
    const char *action;
    const char *resource;
    const char *refvals;
    bool is_fresh;
    bool is_development;
    bool is_json;
};

static int parse_eval_opts(int argc, char **argv, struct eval_opts *o)
{
    static const struct option longs[] = {
        { "policy", required_argument, NULL, 'p' },  { "claims", required_argument, NULL, 'c' },
        { "action", required_argument, NULL, 'a' },  { "resource", required_argument, NULL, 'r' },
        { "refvals", required_argument, NULL, 'v' }, { "fresh", no_argument, NULL, 'f' },
        { "development", no_argument, NULL, 'd' },   { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    *o = (struct eval_opts){ 0 };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p':
            o->policy = optarg;
            break;
        case 'c':
            o->claims = optarg;
            break;
        case 'a':
            o->action = optarg;
            break;
        case 'r':
            o->resource = optarg;
            break;
        case 'v':
            o->refvals = optarg;
            break;
        case 'f':
            o->is_fresh = true;
            break;
        case 'd':
            o->is_development = true;
            break;
        case 'j':
            o->is_json = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc || o->policy == NULL || o->claims == NULL || o->action == NULL ||
        o->resource == NULL) {
        usage(stderr);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/*
 * The evaluation input: the file itself, or the conversion of a verdict (an object with a
 * "verified" member). Returns CLI_OK, CLI_REJECTED (unverified verdict) or CLI_USAGE.
 */
static int load_input(const struct eval_opts *o, json_t **out)
{
    json_t *j = NULL;
    if (!load_object(o->claims, INPUT_MAX, &j)) {
        return CLI_USAGE;
    }
    if (json_object_get(j, "verified") == NULL) {
        if (o->is_fresh || o->is_development) {
            fprintf(stderr, "custos policy: --fresh and --development apply to a verdict; "
                            "an evaluation input states freshness and development itself\n");
            json_decref(j);
            return CLI_USAGE;
        }
        *out = j;
        return CLI_OK;
    }
    cs_res r = cs_policy_input_from_verdict(j, o->is_fresh, o->is_development, out);
    json_decref(j);
    if (r.code == CS_E_POLICY) {
        printf("DENY %s %s\n  reason    the verdict is not verified: unverified claims never "
               "reach policy\n",
               o->action, o->resource);
        return CLI_REJECTED;
    }
    if (!cs_ok(r)) {
        fprintf(stderr, "custos policy: %s: not a verdict of custos verify (%s)\n", o->claims,
                custos_code_name(r.code));
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void print_decision(const struct eval_opts *o, const struct cs_policy_decision *d)
{
    printf("%s %s %s\n", d->allow ? "ALLOW" : "DENY", o->action, o->resource);
    if (d->identity[0] != '\0') {
        printf("  %-9s %s\n", "identity", d->identity);
    }
    if (d->rule[0] != '\0') {
        printf("  %-9s %s\n", "rule", d->rule);
    }
    printf("  %-9s %s\n", "reason", cs_policy_reason_name(d->reason));
    printf("  %-9s %s\n", "why", d->why);
    if (d->allow && d->is_jwe_required) {
        printf("  %-9s %s\n", "must", "release JWE-wrapped to the TEE key only (confidentiality)");
    }
}

static int cmd_eval(int argc, char **argv)
{
    struct eval_opts o;
    int rc = parse_eval_opts(argc, argv, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    CS_AUTO(policy_freep) struct cs_policy *p = NULL;
    rc = load_policy(o.policy, &p);
    if (rc != CLI_OK) {
        return CLI_USAGE; /* no policy to evaluate: not a decision */
    }
    CS_AUTO_JSON *refvals = NULL;
    if (o.refvals != NULL) {
        if (!load_object(o.refvals, REFVALS_MAX, &refvals)) {
            return CLI_USAGE;
        }
        char err[CS_POLICY_ERR_MAX];
        if (!cs_ok(cs_policy_refvals_check(refvals, err, sizeof err))) {
            fprintf(stderr, "custos policy: %s: %s\n", o.refvals, err);
            return CLI_USAGE;
        }
    }
    CS_AUTO_JSON *input = NULL;
    rc = load_input(&o, &input);
    if (rc != CLI_OK) {
        return rc;
    }
    struct cs_policy_decision d;
    cs_res r = cs_policy_decide(p, input, refvals, o.action, o.resource, &d);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos policy: cannot evaluate: %s%s%s\n",
                r.code == CS_E_ARG ? "unknown action" : custos_code_name(r.code),
                r.code == CS_E_ARG ? "" : ": ", r.code == CS_E_ARG ? "" : d.why);
        return CLI_USAGE;
    }
    if (o.is_json) {
        CS_AUTO_JSON *trace = NULL;
        r = cs_policy_explain(p, input, refvals, o.action, o.resource, &trace);
        if (!cs_ok(r)) {
            fprintf(stderr, "custos policy: cannot explain: %s\n", custos_code_name(r.code));
            return CLI_USAGE;
        }
        json_dumpf(trace, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        print_decision(&o, &d);
    }
    return d.allow ? CLI_OK : CLI_REJECTED;
}

int cmd_policy(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "eval") == 0) {
        return cmd_eval(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    fprintf(stderr, "custos policy: unknown subcommand '%.32s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
