/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos verify --evidence FILE --collateral DIR [--platform P] [--at RFC3339] [--nonce HEX]
 *               [--json]
 *
 * Reads the evidence, finds its platform (given, or detected when unambiguous), and hands
 * it to that platform's verifier; also the shared printing of verdicts. Without
 * --evidence, checks Intel collateral alone at the instant.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_file.h"
#include "core/cs_time.h"

#define EVIDENCE_MAX (1024u * 1024u)

static void usage(FILE *f)
{
    fputs("usage: custos verify --evidence FILE --collateral DIR [--platform P]\n"
          "                     [--at RFC3339] [--nonce HEX] [--json]\n"
          "\n"
          "  --evidence FILE   the evidence (omit to check Intel collateral alone)\n"
          "  --collateral DIR  what the evidence is checked against (docs/formats.md)\n"
          "  --platform P      tdx, sgx"
#ifdef CS_HAVE_SNP
          ", snp"
#endif
#ifdef CS_HAVE_NITRO
          ", nitro"
#endif
#ifdef CS_HAVE_TPM
          ", tpm"
#endif
          "; default: detected from the evidence\n"
          "  --at T            verification instant (RFC 3339); default: now\n"
          "  --nonce HEX       expected nonce (TPM extraData), when the platform has one\n"
          "  --json            print one JSON object instead of a summary\n"
          "\n"
          "exit status: 0 verified, 1 rejected, 2 usage or I/O error\n",
          f);
}

struct platform {
    const char *name;
    int (*verify)(const struct verify_opts *o);
};

static const struct platform platforms[] = {
    { "tdx", verify_dcap },
    { "sgx", verify_dcap },
#ifdef CS_HAVE_SNP
    { "snp", verify_snp },
#endif
#ifdef CS_HAVE_NITRO
    { "nitro", verify_nitro },
#endif
#ifdef CS_HAVE_TPM
    { "tpm", verify_tpm },
#endif
};

static const struct platform *platform_named(const char *name)
{
    for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++) {
        if (strcmp(platforms[i].name, name) == 0) {
            return &platforms[i];
        }
    }
    return NULL;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The platform the evidence's first bytes announce, or NULL when they are ambiguous:
 * Intel quote (u16 version 3..5, u16 key type 2), SEV-SNP report (1184 bytes, version
 * 2, 3 or 5), Nitro COSE_Sign1 (CBOR array of 4, tagged or not), TPMS_ATTEST (magic
 * "\xffTCG"), or the JSON evidence of the KBS protocol for SNP.
 */
static const char *detect(const uint8_t *p, size_t len)
{
    const char *found = NULL;
    int n = 0;
    if (len >= 48 && p[0] >= 3 && p[0] <= 5 && p[1] == 0 && p[2] == 2 && p[3] == 0) {
        found = le32(p + 4) == 0x81 ? "tdx" : "sgx";
        n++;
    }
    if (len == 1184 && (le32(p) == 2 || le32(p) == 3 || le32(p) == 5)) {
        found = "snp";
        n++;
    }
    if (len >= 1 && (p[0] == 0x84 || p[0] == 0xd2)) {
        found = "nitro";
        n++;
    }
    if (len >= 4 && p[0] == 0xff && p[1] == 'T' && p[2] == 'C' && p[3] == 'G') {
        found = "tpm";
        n++;
    }
    if (len >= 1 && p[0] == '{') {
        found = "snp";
        n++;
    }
    return n == 1 ? found : NULL;
}

static int parse_opts(int argc, char **argv, struct verify_opts *o)
{
    static const struct option longs[] = {
        { "evidence", required_argument, NULL, 'e' }, { "collateral", required_argument, NULL, 'c' },
        { "platform", required_argument, NULL, 'p' }, { "at", required_argument, NULL, 't' },
        { "nonce", required_argument, NULL, 'n' },    { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    *o = (struct verify_opts){ .at = cs_time_now() };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'e':
            o->evidence_path = optarg;
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
        case 'n':
            o->nonce_hex = optarg;
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
    if (o->platform != NULL && platform_named(o->platform) == NULL) {
        fprintf(stderr, "custos verify: unknown platform '%.32s'\n", o->platform);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cmd_verify(int argc, char **argv)
{
    struct verify_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.evidence_path == NULL) {
        if (o.platform != NULL && strcmp(o.platform, "tdx") != 0 && strcmp(o.platform, "sgx") != 0) {
            fprintf(stderr, "custos verify: --evidence is required for %s\n", o.platform);
            return CLI_USAGE;
        }
        return verify_dcap(&o); /* Intel collateral alone */
    }
    struct cs_blob ev = { 0 };
    cs_res r = cs_file_read(o.evidence_path, EVIDENCE_MAX, &ev);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos verify: cannot read %s: %s\n", o.evidence_path,
                custos_code_name(r.code));
        return CLI_USAGE;
    }
    o.evidence = ev.p;
    o.evidence_len = ev.len;
    if (o.platform == NULL) {
        o.platform = detect(ev.p, ev.len);
    }
    const struct platform *pf = o.platform != NULL ? platform_named(o.platform) : NULL;
    if (pf == NULL) {
        fprintf(stderr, "custos verify: cannot tell the platform of %s; use --platform\n",
                o.evidence_path);
        cs_blob_clear(&ev);
        return CLI_USAGE;
    }
    rc = pf->verify(&o);
    cs_blob_clear(&ev);
    return rc;
}

int cli_report_diag(const struct verify_opts *o, const struct custos_diag *d, cs_code code)
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

static void print_claim(const json_t *claims, const char *key)
{
    const json_t *v = json_object_get(claims, key);
    if (json_is_string(v)) {
        printf("  %-17s %s\n", key, json_string_value(v));
    } else if (json_is_integer(v)) {
        printf("  %-17s %lld\n", key, (long long)json_integer_value(v));
    }
}

static void print_summary(const struct custos_verdict *v)
{
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
    if (custos_verdict_is_verified(v)) {
        printf("VERIFIED %s\n", custos_verdict_platform(v));
    } else {
        printf("REJECTED (%s): %s\n", custos_code_class(custos_verdict_code(v)),
               custos_verdict_message(v));
    }
    const char *status = custos_verdict_tcb_status(v);
    if (status != NULL) {
        printf("  %-17s %s\n", "tcb_status", status);
        const json_t *adv = json_object_get(j, "advisory_ids");
        size_t i;
        const json_t *id;
        printf("  %-17s", "advisory_ids");
        json_array_foreach(adv, i, id)
        {
            printf(" %s", json_string_value(id));
        }
        printf("%s\n", json_array_size(adv) == 0 ? " (none)" : "");
    }
    const json_t *dbg = json_object_get(claims, "debug");
    if (dbg != NULL) {
        printf("  %-17s %s\n", "debug", json_is_true(dbg) ? "true" : "false");
    }
    static const char *keys[] = { "mr_td",         "rtmr0",       "rtmr1",     "rtmr2",
                                  "rtmr3",         "mr_enclave",  "mr_signer", "measurement",
                                  "module_id",     "report_data", "nonce",     "fmspc",
                                  "collateral_expiry", "evidence_sha256" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        print_claim(claims, keys[k]);
    }
    json_decref(j);
}

int cli_print_verdict(const struct verify_opts *o, const struct custos_verdict *v)
{
    if (o->is_json) {
        char *text = NULL;
        if (cs_ok(custos_verdict_to_json(v, 0, &text))) {
            printf("%s\n", text);
            custos_free(text);
        }
    } else {
        print_summary(v);
    }
    return custos_verdict_is_verified(v) ? CLI_OK : CLI_REJECTED;
}
