/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos verify --evidence FILE --collateral DIR [--platform tdx|sgx] [--at RFC3339] [--json]
 *
 * Without --evidence, checks the collateral alone at the instant.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_file.h"
#include "core/cs_time.h"
#include "custos/dcap.h"

#define EVIDENCE_MAX (1024u * 1024u)

static void usage(FILE *f)
{
    fputs("usage: custos verify --evidence FILE --collateral DIR [--platform tdx|sgx]\n"
          "                     [--at RFC3339] [--json]\n"
          "\n"
          "  --evidence FILE   quote bytes (omit to check the collateral alone)\n"
          "  --collateral DIR  tcb_info.json, qe_identity.json, *_issuer_chain.pem,\n"
          "                    pck_crl.der, root_ca_crl.der, trust_anchor.pem\n"
          "  --platform P      expect this platform (tdx or sgx); default: from the quote\n"
          "  --at T            verification instant (RFC 3339); default: now\n"
          "  --json            print one JSON object instead of a summary\n"
          "\n"
          "exit status: 0 verified, 1 rejected, 2 usage or I/O error\n",
          f);
}

struct opts {
    const char *evidence;
    const char *collateral;
    const char *platform;
    int64_t at;
    bool is_json;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        { "evidence", required_argument, NULL, 'e' }, { "collateral", required_argument, NULL, 'c' },
        { "platform", required_argument, NULL, 'p' }, { "at", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },           { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (struct opts){ .at = cs_time_now() };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'e':
            o->evidence = optarg;
            break;
        case 'c':
            o->collateral = optarg;
            break;
        case 'p':
            o->platform = optarg;
            break;
        case 't':
            if (!cs_ok(cs_time_parse(optarg, strlen(optarg), &o->at))) {
                fprintf(stderr, "custos verify: --at: not an RFC 3339 timestamp\n");
                return CLI_USAGE;
            }
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
    if (optind != argc || o->collateral == NULL) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (o->platform != NULL && strcmp(o->platform, "tdx") != 0 && strcmp(o->platform, "sgx") != 0) {
        fprintf(stderr, "custos verify: --platform must be tdx or sgx\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Prints a failure that happened before any evidence was examined. */
static int report_diag(const struct opts *o, const struct custos_diag *d, cs_code code)
{
    const char *msg = d->msg[0] != '\0' ? d->msg : custos_code_name(code);
    if (code == CS_E_IO || code == CS_E_ARG || code == CS_E_NOMEM) {
        fprintf(stderr, "custos verify: %s\n", msg);
        return CLI_USAGE;
    }
    if (o->is_json) {
        json_t *j = json_pack("{s:b,s:n,s:n,s:[],s:{},s:{s:s,s:s,s:s}}", "verified", 0, "platform",
                              "tcb_status", "advisory_ids", "claims", "error", "class",
                              custos_code_class(code), "code", custos_code_name(code), "message",
                              msg);
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(j);
        }
    } else {
        printf("REJECTED (%s): %s\n", custos_code_class(code), msg);
    }
    return CLI_REJECTED;
}

static void print_hex_claim(const json_t *claims, const char *key)
{
    const char *s = json_string_value(json_object_get(claims, key));
    if (s != NULL) {
        printf("  %-16s %s\n", key, s);
    }
}

static void print_summary(const struct custos_verdict *v)
{
    bool is_ok = custos_verdict_is_verified(v);
    char *text = NULL;
    if (!cs_ok(custos_verdict_to_json(v, 0, &text))) {
        return;
    }
    json_t *j = json_loads(text, 0, NULL);
    custos_free(text);
    if (j == NULL) {
        return;
    }
    const json_t *claims = json_object_get(j, "claims");
    if (is_ok) {
        printf("VERIFIED %s\n", custos_verdict_platform(v));
    } else {
        printf("REJECTED (%s): %s\n", custos_code_class(custos_verdict_code(v)),
               custos_verdict_message(v));
    }
    const char *status = custos_verdict_tcb_status(v);
    if (status != NULL) {
        printf("  %-16s %s\n", "tcb_status", status);
        const json_t *adv = json_object_get(j, "advisory_ids");
        size_t i;
        const json_t *id;
        printf("  %-16s", "advisory_ids");
        json_array_foreach(adv, i, id)
        {
            printf(" %s", json_string_value(id));
        }
        printf("%s\n", json_array_size(adv) == 0 ? " (none)" : "");
    }
    const json_t *dbg = json_object_get(claims, "debug");
    if (dbg != NULL) {
        printf("  %-16s %s\n", "debug", json_is_true(dbg) ? "true" : "false");
    }
    static const char *keys[] = { "mr_td",   "rtmr0",       "rtmr1",       "rtmr2",
                                  "rtmr3",   "mr_enclave",  "mr_signer",   "report_data",
                                  "fmspc",   "collateral_expiry", "evidence_sha256" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        print_hex_claim(claims, keys[k]);
    }
    json_decref(j);
}

int cmd_verify(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    struct custos_diag diag = { 0 };
    struct custos_dcap_collateral *coll = NULL;
    cs_res r = custos_dcap_collateral_load_dir(o.collateral, &diag, &coll);
    if (!cs_ok(r)) {
        return report_diag(&o, &diag, r.code);
    }
    if (o.evidence == NULL) {
        r = custos_dcap_collateral_check(coll, o.at, &diag);
        custos_dcap_collateral_free(coll);
        if (!cs_ok(r)) {
            return report_diag(&o, &diag, r.code);
        }
        if (o.is_json) {
            printf("{\"verified\":true,\"platform\":null,\"tcb_status\":null,"
                   "\"advisory_ids\":[],\"claims\":{}}\n");
        } else {
            printf("VERIFIED collateral\n");
        }
        return CLI_OK;
    }
    struct cs_blob ev = { 0 };
    r = cs_file_read(o.evidence, EVIDENCE_MAX, &ev);
    if (!cs_ok(r)) {
        custos_dcap_collateral_free(coll);
        fprintf(stderr, "custos verify: cannot read %s: %s\n", o.evidence, custos_code_name(r.code));
        return CLI_USAGE;
    }
    struct custos_verdict *v = NULL;
    r = custos_dcap_verify(coll, ev.p, ev.len, o.at, &v);
    cs_blob_clear(&ev);
    custos_dcap_collateral_free(coll);
    if (v == NULL) {
        fprintf(stderr, "custos verify: %s\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    if (cs_ok(r) && o.platform != NULL && strcmp(o.platform, custos_verdict_platform(v)) != 0) {
        fprintf(stderr, "custos verify: evidence is %s, not %s\n", custos_verdict_platform(v),
                o.platform);
        custos_verdict_free(v);
        return CLI_REJECTED;
    }
    if (o.is_json) {
        char *text = NULL;
        if (cs_ok(custos_verdict_to_json(v, 0, &text))) {
            printf("%s\n", text);
            custos_free(text);
        }
    } else {
        print_summary(v);
    }
    rc = custos_verdict_is_verified(v) ? CLI_OK : CLI_REJECTED;
    custos_verdict_free(v);
    return rc;
}
