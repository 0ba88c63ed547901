/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos sim: the development TDX attester from the command line (docs/dev-attester.md).
 *
 *   init --data-dir DIR                 makes DIR/dev-attester (what custosd --dev does)
 *   quote --data-dir DIR --report-data HEX [measurements] [--out FILE]
 *                                       a TDX v4 quote: base64 on one line, or raw to FILE
 *   kbs-attest --data-dir DIR --nonce B64 --tee-pubkey JWKFILE [measurements]
 *              [--init-data FILE [--init-data-format toml|json]]
 *                                       the body of a KBS POST /kbs/v0/attest
 *
 * measurements: [--mr-td HEX] [--rtmr N=HEX]... [--mr-config-id HEX] [--debug]
 * [--out-of-date]. quote and kbs-attest never create a PKI: without one they exit 2 and
 * say how to make it. For development only: these quotes prove nothing about hardware.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_kbs_binding.h"
#include "sim/dev_attester.h"

#define JWK_FILE_MAX (64u * 1024u)
#define INIT_DATA_MAX (256u * 1024u)
#define M CS_DEV_MEASUREMENT_LEN

struct sim_opts {
    const char *data_dir, *report_data, *mr_td, *mr_config_id, *out;
    const char *nonce, *tee_pubkey, *init_data, *init_data_format;
    const char *rtmr[4];
    bool is_debug, is_out_of_date;
};

static void usage(FILE *f)
{
    fputs("usage: custos sim init --data-dir DIR\n"
          "       custos sim quote --data-dir DIR --report-data HEX [MEASUREMENTS] [--out FILE]\n"
          "       custos sim kbs-attest --data-dir DIR --nonce B64 --tee-pubkey JWKFILE\n"
          "                             [MEASUREMENTS] [--init-data FILE\n"
          "                             [--init-data-format toml|json]]\n"
          "\n"
          "MEASUREMENTS: [--mr-td HEX] [--rtmr N=HEX]... [--mr-config-id HEX] [--debug]\n"
          "              [--out-of-date]\n"
          "\n"
          "  --data-dir DIR        the data directory (the attester lives in DIR/dev-attester)\n"
          "  --report-data HEX     REPORT_DATA, 64 bytes (128 hex digits)\n"
          "  --mr-td HEX           MRTD, 48 bytes (default: 202122...4e4f)\n"
          "  --rtmr N=HEX          RTMR N (0-3), 48 bytes (default: zeros)\n"
          "  --mr-config-id HEX    MRCONFIGID, 48 bytes (default: zeros)\n"
          "  --debug               set TD_ATTRIBUTES.DEBUG\n"
          "  --out-of-date         a lower TEE_TCB_SVN: verifies with tcb_status OutOfDate\n"
          "  --out FILE            write the raw quote to FILE instead of base64 to stdout\n"
          "  --nonce B64           the nonce of the KBS challenge\n"
          "  --tee-pubkey FILE     the TEE public key, a JWK (JSON object)\n"
          "  --init-data FILE      plaintext init-data, sent as {\"format\",\"body\"}\n"
          "  --init-data-format F  toml or json (default: json for *.json, else toml)\n"
          "\n"
          "For development only: the quotes verify against DIR/dev-attester/collateral,\n"
          "never against Intel's root. Exit status: 0 success, 2 usage or I/O error.\n",
          f);
}

/* CLI_OK, CLI_USAGE, or -1 after --help. */
static int parse_opts(int argc, char **argv, struct sim_opts *o)
{
    enum {
        O_DATA_DIR = 256,
        O_REPORT_DATA,
        O_MR_TD,
        O_RTMR,
        O_MR_CONFIG_ID,
        O_DEBUG,
        O_OUT_OF_DATE,
        O_OUT,
        O_NONCE,
        O_TEE_PUBKEY,
        O_INIT_DATA,
        O_INIT_DATA_FORMAT,
    };
    static const struct option longs[] = {
        { "data-dir", required_argument, NULL, O_DATA_DIR },
        { "report-data", required_argument, NULL, O_REPORT_DATA },
        { "mr-td", required_argument, NULL, O_MR_TD },
        { "rtmr", required_argument, NULL, O_RTMR },
        { "mr-config-id", required_argument, NULL, O_MR_CONFIG_ID },
        { "debug", no_argument, NULL, O_DEBUG },
        { "out-of-date", no_argument, NULL, O_OUT_OF_DATE },
        { "out", required_argument, NULL, O_OUT },
        { "nonce", required_argument, NULL, O_NONCE },
        { "tee-pubkey", required_argument, NULL, O_TEE_PUBKEY },
        { "init-data", required_argument, NULL, O_INIT_DATA },
        { "init-data-format", required_argument, NULL, O_INIT_DATA_FORMAT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case O_DATA_DIR: o->data_dir = optarg; break;
        case O_REPORT_DATA: o->report_data = optarg; break;
        case O_MR_TD: o->mr_td = optarg; break;
        case O_MR_CONFIG_ID: o->mr_config_id = optarg; break;
        case O_DEBUG: o->is_debug = true; break;
        case O_OUT_OF_DATE: o->is_out_of_date = true; break;
        case O_OUT: o->out = optarg; break;
        case O_NONCE: o->nonce = optarg; break;
        case O_TEE_PUBKEY: o->tee_pubkey = optarg; break;
        case O_INIT_DATA: o->init_data = optarg; break;
        case O_INIT_DATA_FORMAT: o->init_data_format = optarg; break;
        case O_RTMR:
            if (optarg[0] < '0' || optarg[0] > '3' || optarg[1] != '=') {
                fprintf(stderr, "custos sim: --rtmr takes N=HEX with N in 0..3\n");
                return CLI_USAGE;
            }
            o->rtmr[optarg[0] - '0'] = optarg + 2;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (o->data_dir == NULL || o->data_dir[0] == '\0') {
        fprintf(stderr, "custos sim: --data-dir DIR is required\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Decodes exactly n bytes of hex for option `name`; prints why not. */
static bool hex_arg(const char *name, const char *hex, uint8_t *out, size_t n)
{
    if (cs_ok(cs_hex_decode(hex, strlen(hex), out, n))) {
        return true;
    }
    fprintf(stderr, "custos sim: --%s must be %zu bytes as %zu hex digits\n", name, n, 2 * n);
    return false;
}

/* The decoded measurements of a quote (report data apart). */
struct measurements {
    uint8_t mr_td[M], rtmr[4][M], mr_config_id[M];
};

/* Fills q from o, pointing into m. false (after a message) on a bad value. */
static bool quote_opts_of(const struct sim_opts *o, struct measurements *m,
                          struct cs_dev_quote_opts *q)
{
    static const char *const rtmr_names[4] = { "rtmr 0=", "rtmr 1=", "rtmr 2=", "rtmr 3=" };
    *q = (struct cs_dev_quote_opts){ .debug = o->is_debug, .out_of_date = o->is_out_of_date };
    if (o->mr_td != NULL) {
        if (!hex_arg("mr-td", o->mr_td, m->mr_td, M)) {
            return false;
        }
        q->mr_td = m->mr_td;
    }
    for (size_t i = 0; i < 4; i++) {
        if (o->rtmr[i] == NULL) {
            continue;
        }
        if (!hex_arg(rtmr_names[i], o->rtmr[i], m->rtmr[i], M)) {
            return false;
        }
        q->rtmr[i] = m->rtmr[i];
    }
    if (o->mr_config_id != NULL) {
        if (!hex_arg("mr-config-id", o->mr_config_id, m->mr_config_id, M)) {
            return false;
        }
        q->mr_config_id = m->mr_config_id;
    }
    return true;
}

static int fail(const char *what, cs_res r)
{
    fprintf(stderr, "custos sim: %s: %s (%s:%u)\n", what, custos_code_name(r.code),
            r.file != NULL ? r.file : "?", r.line);
    return CLI_USAGE;
}

/* Opens DIR/dev-attester; prints what to do when it is missing or refused. */
static int open_attester(const char *dir, bool create, struct cs_dev_attester **a)
{
    cs_res r = cs_dev_attester_open(dir, create, cs_time_now(), a);
    if (cs_ok(r)) {
        return CLI_OK;
    }
    if (r.code == CS_E_NOT_FOUND) {
        fprintf(stderr,
                "custos sim: no development attester in %.200s/" CS_DEV_DIR_NAME "\n"
                "run custosd --dev --data-dir %.200s first, or custos sim init --data-dir %.200s\n",
                dir, dir, dir);
        return CLI_USAGE;
    }
    fprintf(stderr, "custos sim: cannot open the development attester in %.200s/" CS_DEV_DIR_NAME
                    ": %s (%s:%u)\n",
            dir, custos_code_name(r.code), r.file != NULL ? r.file : "?", r.line);
    if (r.code == CS_E_IO) {
        fputs("(the directory must be yours with mode 0700, its key files yours with mode 0600,\n"
              " and none of them a symlink)\n",
              stderr);
    }
    return CLI_USAGE;
}

static void attester_freep(struct cs_dev_attester **a)
{
    cs_dev_attester_free(*a);
}

static int sim_init(const struct sim_opts *o)
{
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    int rc = open_attester(o->data_dir, true, &a);
    if (rc != CLI_OK) {
        return rc;
    }
    printf("development attester: %s/" CS_DEV_DIR_NAME "\n"
           "trust anchor:         %s/" CS_DEV_DIR_NAME "/root.pem (development only)\n"
           "collateral:           %s\n",
           o->data_dir, o->data_dir, cs_dev_attester_collateral_dir(a));
    return CLI_OK;
}

/* A quote for q from the attester in o->data_dir. */
static int make_quote(const struct sim_opts *o, const struct cs_dev_quote_opts *q,
                      uint8_t **quote, size_t *len)
{
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    int rc = open_attester(o->data_dir, false, &a);
    if (rc != CLI_OK) {
        return rc;
    }
    cs_res r = cs_dev_attester_quote(a, q, quote, len);
    return cs_ok(r) ? CLI_OK : fail("quote", r);
}

/* Standard base64 of p as a NUL-terminated string (cs_free). */
static cs_res b64_of(const uint8_t *p, size_t len, char **out)
{
    *out = NULL;
    CS_ENSURE(len < SIZE_MAX / 2, CS_E_TOO_LARGE);
    size_t cap = (len + 2) / 3 * 4 + 1;
    CS_AUTO(cs_freep) char *text = NULL;
    CS_TRY(cs_alloc(cap, 1, (void **)&text));
    CS_TRY(cs_b64_encode(p, len, text, cap));
    *out = CS_MOVE(text);
    return CS_SUCCESS;
}

static cs_res write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    CS_ENSURE(fd >= 0, CS_E_IO);
    if (!cs_ok(cs_fd_write_all(fd, p, len))) {
        close(fd);
        CS_FAIL(CS_E_IO);
    }
    CS_ENSURE(close(fd) == 0, CS_E_IO);
    return CS_SUCCESS;
}

static int sim_quote(const struct sim_opts *o)
{
    if (o->report_data == NULL) {
        fprintf(stderr, "custos sim: quote needs --report-data HEX\n");
        return CLI_USAGE;
    }
    struct measurements m;
    struct cs_dev_quote_opts q;
    if (!quote_opts_of(o, &m, &q) ||
        !hex_arg("report-data", o->report_data, q.report_data, sizeof q.report_data)) {
        return CLI_USAGE;
    }
    CS_AUTO(cs_freep) uint8_t *quote = NULL;
    size_t len = 0;
    int rc = make_quote(o, &q, &quote, &len);
    if (rc != CLI_OK) {
        return rc;
    }
    if (o->out != NULL) {
        cs_res r = write_file(o->out, quote, len);
        return cs_ok(r) ? CLI_OK : fail(o->out, r);
    }
    CS_AUTO(cs_freep) char *text = NULL;
    cs_res r = b64_of(quote, len, &text);
    if (!cs_ok(r)) {
        return fail("base64", r);
    }
    printf("%s\n", text);
    return CLI_OK;
}

/* The JWK file: one JSON object (duplicate members refused). */
static cs_res load_jwk(const char *path, json_t **out)
{
    *out = NULL;
    CS_AUTO(cs_blob_clear) struct cs_blob b = { 0 };
    CS_TRY(cs_file_read(path, JWK_FILE_MAX, &b));
    return cs_json_load(cs_cur_of(b.p, b.len), JWK_FILE_MAX, out);
}

/* {"format": F, "body": <the file's text>}: KBS init-data, plaintext. */
static int init_data_of(const struct sim_opts *o, json_t **out)
{
    *out = NULL;
    const char *format = o->init_data_format;
    if (format == NULL) {
        size_t n = strlen(o->init_data);
        format = n >= 5 && strcmp(o->init_data + n - 5, ".json") == 0 ? "json" : "toml";
    }
    if (strcmp(format, "toml") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "custos sim: --init-data-format must be toml or json\n");
        return CLI_USAGE;
    }
    CS_AUTO(cs_blob_clear) struct cs_blob b = { 0 };
    cs_res r = cs_file_read(o->init_data, INIT_DATA_MAX, &b);
    if (!cs_ok(r)) {
        return fail(o->init_data, r);
    }
    /* text only: json_stringn refuses invalid UTF-8, and a NUL would not survive a body */
    json_t *body = memchr(b.p, 0, b.len) == NULL ? json_stringn((const char *)b.p, b.len) : NULL;
    if (body == NULL) {
        fprintf(stderr, "custos sim: %.200s: init-data must be UTF-8 text\n", o->init_data);
        return CLI_USAGE;
    }
    CS_AUTO_JSON *init = json_object();
    if (init == NULL || !cs_ok(cs_json_set_new(init, "format", json_string(format))) ||
        !cs_ok(cs_json_set_new(init, "body", body))) {
        return fail("init-data", (cs_res){ .code = CS_E_NOMEM });
    }
    *out = CS_MOVE(init);
    return CLI_OK;
}

/* The attest body, members in the protocol's order. Takes the references it is given. */
static cs_res attest_body(json_t *init, const char *nonce, json_t *jwk, const char *quote_b64,
                          json_t **out)
{
    *out = NULL;
    CS_AUTO_JSON *body = json_object();
    CS_AUTO_JSON *runtime = json_object();
    CS_AUTO_JSON *evidence = json_object();
    CS_ENSURE(body != NULL && runtime != NULL && evidence != NULL, CS_E_NOMEM);
    if (init != NULL) {
        CS_TRY(cs_json_set_new(body, "init-data", json_incref(init)));
    }
    CS_TRY(cs_json_set_new(runtime, "nonce", json_string(nonce)));
    CS_TRY(cs_json_set_new(runtime, "tee-pubkey", json_incref(jwk)));
    CS_TRY(cs_json_set_new(body, "runtime-data", CS_MOVE(runtime)));
    CS_TRY(cs_json_set_new(evidence, "quote", json_string(quote_b64)));
    CS_TRY(cs_json_set_new(evidence, "cc_eventlog", json_null()));
    CS_TRY(cs_json_set_new(body, "tee-evidence", CS_MOVE(evidence)));
    *out = CS_MOVE(body);
    return CS_SUCCESS;
}

static int sim_kbs_attest(const struct sim_opts *o)
{
    if (o->nonce == NULL || o->tee_pubkey == NULL || o->report_data != NULL || o->out != NULL) {
        fprintf(stderr, "custos sim: kbs-attest needs --nonce and --tee-pubkey (and computes "
                        "REPORT_DATA itself)\n");
        return CLI_USAGE;
    }
    size_t nonce_len = strlen(o->nonce);
    uint8_t scratch[CS_B64_DECODED_MAX(CS_KBS_NONCE_MAX)];
    size_t scratch_len = 0;
    if (nonce_len == 0 || nonce_len > CS_KBS_NONCE_MAX ||
        !cs_ok(cs_b64_decode(o->nonce, nonce_len, false, scratch, sizeof scratch, &scratch_len))) {
        fprintf(stderr, "custos sim: --nonce must be the challenge's base64 nonce\n");
        return CLI_USAGE;
    }
    struct measurements m;
    struct cs_dev_quote_opts q;
    if (!quote_opts_of(o, &m, &q)) {
        return CLI_USAGE;
    }
    CS_AUTO_JSON *jwk = NULL;
    cs_res r = load_jwk(o->tee_pubkey, &jwk);
    if (!cs_ok(r)) {
        return fail("--tee-pubkey (a JWK: one JSON object)", r);
    }
    CS_AUTO_JSON *init = NULL;
    if (o->init_data != NULL) {
        int rc = init_data_of(o, &init);
        if (rc != CLI_OK) {
            return rc;
        }
    }
    r = cs_kbs_report_data(o->nonce, jwk, NULL, q.report_data);
    if (!cs_ok(r)) {
        return fail("REPORT_DATA of the runtime data", r);
    }
    CS_AUTO(cs_freep) uint8_t *quote = NULL;
    size_t len = 0;
    int rc = make_quote(o, &q, &quote, &len);
    if (rc != CLI_OK) {
        return rc;
    }
    CS_AUTO(cs_freep) char *quote_b64 = NULL;
    CS_AUTO_JSON *body = NULL;
    r = b64_of(quote, len, &quote_b64);
    if (cs_ok(r)) {
        r = attest_body(init, o->nonce, jwk, quote_b64, &body);
    }
    if (!cs_ok(r)) {
        return fail("attest body", r);
    }
    if (json_dumpf(body, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
        putchar('\n') == EOF) {
        return fail("stdout", (cs_res){ .code = CS_E_IO });
    }
    return CLI_OK;
}

int cmd_sim(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    struct sim_opts o;
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (strcmp(verb, "init") == 0) {
        return sim_init(&o);
    }
    if (strcmp(verb, "quote") == 0) {
        return sim_quote(&o);
    }
    if (strcmp(verb, "kbs-attest") == 0) {
        return sim_kbs_attest(&o);
    }
    fprintf(stderr, "custos sim: unknown command '%.64s'\n", verb);
    usage(stderr);
    return CLI_USAGE;
}
