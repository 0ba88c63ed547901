/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos-testpki --out DIR [--version 3|4|5] [--at RFC3339]
 *
 * Writes one self-made DCAP case directory (the layout of testdata/evidence/T01:
 * quote.bin, collateral files, trust_anchor.pem, case.json) from a fresh test PKI, for
 * running `custos verify` and the benchmarks where the shared Intel fixtures are absent.
 * The quote is TDX for versions 4 (TD report 1.0) and 5 (body type 3, TDX 1.5), SGX for
 * version 3, and verifies UpToDate at the instant in case.json: --at, or now by default,
 * so that `custos verify` without --at accepts it too (every window spans at least a day
 * either side). Prints nothing on success; exit status 2 with a message on any error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "sim/dcap_forge.h"

#define EXIT_ERROR 2

static void usage(FILE *f)
{
    fputs("usage: custos-testpki --out DIR [--version 3|4|5] [--at RFC3339]\n"
          "\n"
          "  --out DIR      case directory to write (created if missing)\n"
          "  --version N    quote version: 4 (TDX, default), 5 (TDX 1.5) or 3 (SGX)\n"
          "  --at T         instant inside every validity window (default: now)\n",
          f);
}

static void keys_freep(struct cs_forge_keys **p)
{
    cs_forge_keys_free(*p);
}

static void case_clearp(struct cs_forge_case *c)
{
    cs_forge_case_clear(c);
}

static int fail(const char *what, cs_res r)
{
    fprintf(stderr, "custos-testpki: %s: %s (%s:%u)\n", what, custos_code_name(r.code),
            r.file != NULL ? r.file : "?", r.line);
    return EXIT_ERROR;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "out", required_argument, NULL, 'o' },
        { "version", required_argument, NULL, 'v' },
        { "at", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL;
    uint16_t version = 4;
    int64_t at = cs_time_now();
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 'v':
            if (strcmp(optarg, "3") != 0 && strcmp(optarg, "4") != 0 && strcmp(optarg, "5") != 0) {
                fprintf(stderr, "custos-testpki: --version must be 3, 4 or 5\n");
                return EXIT_ERROR;
            }
            version = (uint16_t)(optarg[0] - '0');
            break;
        case 't':
            if (!cs_ok(cs_time_parse(optarg, strlen(optarg), &at))) {
                fprintf(stderr, "custos-testpki: --at: not an RFC 3339 timestamp\n");
                return EXIT_ERROR;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (optind != argc || out == NULL || out[0] == '\0') {
        usage(stderr);
        return EXIT_ERROR;
    }

    enum cs_intel_body body = version == 3   ? CS_INTEL_BODY_SGX
                              : version == 4 ? CS_INTEL_BODY_TDX10
                                             : CS_INTEL_BODY_TDX15;
    struct cs_forge_opts opts;
    cs_forge_opts_init(&opts, version, body, at);
    CS_AUTO(keys_freep) struct cs_forge_keys *keys = NULL;
    cs_res r = cs_forge_keys_new(&keys);
    if (!cs_ok(r)) {
        return fail("generating keys", r);
    }
    CS_AUTO(case_clearp) struct cs_forge_case c = { 0 };
    r = cs_forge_case_build(keys, &opts, &c);
    if (!cs_ok(r)) {
        return fail("building the case", r);
    }
    r = cs_forge_case_write_dir(&c, out);
    if (!cs_ok(r)) {
        return fail(out, r);
    }
    return 0;
}
