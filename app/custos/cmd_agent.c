/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos agent: the agent client (include/custos/client.h) from the command line.
 * Each call is a new process and attests afresh: nothing secret is kept on disk, the
 * attestation is the credential. The state file holds only the anti-rollback memory.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "custos/client.h"

struct agent_opts {
    struct custos_client_opts c;
    const char *out;
    const char *file;
    const char *if_match;
    bool is_json;
    const char *pos[4];
    int n_pos;
};

static void agent_usage(FILE *f)
{
    fputs("usage: custos agent --url URL --attester sim|tdx|snp|tpm2 [--data-dir DIR] [--tcti T]\n"
          "         [--cacert PEM | --pin SHA256] --vkey VKEY --state-file F\n"
          "         [--identity ID] [--state-key REPO/TYPE/TAG] [--origin ORIGIN] [--json]\n"
          "         attest\n"
          "       | get RESOURCE [--out F]\n"
          "       | state put OBJECT --file F [--if-match N]\n"
          "       | state get OBJECT [--out F]\n"
          "       | token [AUDIENCE]\n",
          f);
}

static int exit_of(cs_code code)
{
    switch (code) {
    case CS_OK:
        return CLI_OK;
    case CS_E_SIGNATURE:
    case CS_E_POLICY:
    case CS_E_BINDING:
    case CS_E_CONFLICT:
    case CS_E_NOT_FOUND:
    case CS_E_EXPIRED:
        return CLI_REJECTED;
    default:
        return CLI_USAGE;
    }
}

static int fail(const struct agent_opts *o, cs_res r, const struct custos_diag *d)
{
    const char *msg = d->msg[0] != '\0' ? d->msg : custos_code_name(r.code);
    if (o->is_json) {
        json_t *j = json_pack("{s:b, s:s, s:s}", "ok", 0, "code", custos_code_name(r.code),
                              "error", msg);
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(j);
        }
    }
    fprintf(stderr, "custos agent: %s (%s)\n", msg, custos_code_name(r.code));
    return exit_of(r.code);
}

static void print_json(json_t *j)
{
    if (j != NULL) {
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
    }
}

/* A secret to a new file only its owner can read, or to stdout. */
static bool write_secret(const char *path, const uint8_t *p, size_t len)
{
    int fd = path != NULL ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                          : STDOUT_FILENO;
    if (fd < 0) {
        fprintf(stderr, "custos agent: cannot create %s (it must not exist)\n", path);
        return false;
    }
    bool is_ok = true;
    size_t done = 0;
    while (is_ok && done < len) {
        ssize_t n = write(fd, p + done, len - done);
        is_ok = n > 0;
        done += is_ok ? (size_t)n : 0;
    }
    if (fd != STDOUT_FILENO) {
        is_ok &= close(fd) == 0;
    }
    return is_ok;
}

/* Prints what was obtained: raw to --out or stdout, or as JSON (value base64 unless --out). */
static int deliver(const struct agent_opts *o, json_t *meta, const uint8_t *p, size_t len)
{
    if (o->out != NULL && !write_secret(o->out, p, len)) {
        json_decref(meta);
        return CLI_USAGE;
    }
    if (!o->is_json) {
        json_decref(meta);
        return o->out != NULL || write_secret(NULL, p, len) ? CLI_OK : CLI_USAGE;
    }
    json_object_set_new(meta, "ok", json_true());
    json_object_set_new(meta, "bytes", json_integer((json_int_t)len));
    if (o->out != NULL) {
        json_object_set_new(meta, "out", json_string(o->out));
    } else {
        size_t cap = 4 * ((len + 2) / 3) + 1;
        char *b64 = NULL;
        if (!cs_ok(cs_alloc(1, cap, (void **)&b64)) || !cs_ok(cs_b64_encode(p, len, b64, cap))) {
            cs_free(b64);
            json_decref(meta);
            return CLI_USAGE;
        }
        json_object_set_new(meta, "value", json_string(b64));
        cs_free_wipe(b64, cap);
    }
    print_json(meta);
    return CLI_OK;
}

static int run_attest(struct custos_client *c, const struct agent_opts *o)
{
    struct custos_diag d = { 0 };
    cs_res r = custos_client_attest(c, &d);
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    if (o->is_json) {
        print_json(json_pack("{s:b}", "ok", 1));
    } else {
        fputs("attested\n", stdout);
    }
    return CLI_OK;
}

static int run_get(struct custos_client *c, const struct agent_opts *o, const char *name)
{
    struct custos_diag d = { 0 };
    uint8_t *secret = NULL;
    size_t len = 0;
    cs_res r = custos_client_get_resource(c, name, &d, &secret, &len);
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    int rc = deliver(o, json_pack("{s:s}", "resource", name), secret, len);
    custos_free_secret(secret, len);
    return rc;
}

static int run_put(struct custos_client *c, const struct agent_opts *o, const char *object)
{
    uint64_t expected = 0;
    if (o->if_match != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(o->if_match, &end, 10);
        if (o->if_match[0] < '0' || o->if_match[0] > '9' || *end != '\0') {
            agent_usage(stderr);
            return CLI_USAGE;
        }
        expected = v;
    }
    struct cs_blob b = { 0 };
    if (o->file == NULL || !cs_ok(cs_file_read(o->file, CUSTOS_STATE_PLAINTEXT_MAX, &b))) {
        fprintf(stderr, "custos agent: state put needs --file F (at most %u bytes)\n",
                CUSTOS_STATE_PLAINTEXT_MAX);
        return CLI_USAGE;
    }
    struct custos_diag d = { 0 };
    uint64_t version = 0;
    cs_res r = custos_client_state_put(c, object, b.p, b.len, expected, &d, &version);
    cs_wipe(b.p, b.len);
    cs_blob_clear(&b);
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    if (o->is_json) {
        print_json(json_pack("{s:b, s:s, s:I}", "ok", 1, "object", object, "version",
                             (json_int_t)version));
    } else {
        printf("%s version %" PRIu64 "\n", object, version);
    }
    return CLI_OK;
}

static int run_state_get(struct custos_client *c, const struct agent_opts *o, const char *object)
{
    struct custos_diag d = { 0 };
    uint8_t *pt = NULL;
    size_t len = 0;
    uint64_t version = 0;
    cs_res r = custos_client_state_get(c, object, &d, &pt, &len, &version);
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    if (!o->is_json) {
        fprintf(stderr, "custos agent: %s version %" PRIu64 " (verified against the log)\n",
                object, version);
    }
    int rc = deliver(o, json_pack("{s:s, s:I}", "object", object, "version", (json_int_t)version),
                     pt, len);
    custos_free_secret(pt, len);
    return rc;
}

static int run_token(struct custos_client *c, const struct agent_opts *o, const char *audience)
{
    struct custos_diag d = { 0 };
    char *token = NULL;
    cs_res r = custos_client_token(c, audience, &d, &token);
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    if (o->is_json) {
        print_json(json_pack("{s:b, s:s}", "ok", 1, "token", token));
    } else {
        printf("%s\n", token);
    }
    custos_free_secret(token, strlen(token) + 1);
    return CLI_OK;
}

static int dispatch(struct custos_client *c, const struct agent_opts *o)
{
    const char *const *p = o->pos;
    if (o->n_pos == 1 && strcmp(p[0], "attest") == 0) {
        return run_attest(c, o);
    }
    if (o->n_pos == 2 && strcmp(p[0], "get") == 0) {
        return run_get(c, o, p[1]);
    }
    if (o->n_pos == 3 && strcmp(p[0], "state") == 0 && strcmp(p[1], "put") == 0) {
        return run_put(c, o, p[2]);
    }
    if (o->n_pos == 3 && strcmp(p[0], "state") == 0 && strcmp(p[1], "get") == 0) {
        return run_state_get(c, o, p[2]);
    }
    if ((o->n_pos == 1 || o->n_pos == 2) && strcmp(p[0], "token") == 0) {
        return run_token(c, o, o->n_pos == 2 ? p[1] : NULL);
    }
    agent_usage(stderr);
    return CLI_USAGE;
}

static const char **option(struct agent_opts *o, const char *a)
{
    return strcmp(a, "--url") == 0          ? &o->c.url
           : strcmp(a, "--attester") == 0   ? &o->c.attester
           : strcmp(a, "--data-dir") == 0   ? &o->c.data_dir
           : strcmp(a, "--tcti") == 0       ? &o->c.tcti
           : strcmp(a, "--cacert") == 0     ? &o->c.cacert
           : strcmp(a, "--pin") == 0        ? &o->c.pin_sha256
           : strcmp(a, "--vkey") == 0       ? &o->c.log_vkey
           : strcmp(a, "--origin") == 0     ? &o->c.log_origin
           : strcmp(a, "--state-file") == 0 ? &o->c.state_file
           : strcmp(a, "--identity") == 0   ? &o->c.identity
           : strcmp(a, "--state-key") == 0  ? &o->c.state_key
           : strcmp(a, "--out") == 0        ? &o->out
           : strcmp(a, "--file") == 0       ? &o->file
           : strcmp(a, "--if-match") == 0   ? &o->if_match
                                            : NULL;
}

int cmd_agent(int argc, char **argv)
{
    struct agent_opts o = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o.is_json = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            agent_usage(stdout);
            return CLI_OK;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o.n_pos == (int)(sizeof o.pos / sizeof o.pos[0])) {
                agent_usage(stderr);
                return CLI_USAGE;
            }
            o.pos[o.n_pos++] = a;
            continue;
        }
        const char **dst = option(&o, a);
        if (dst == NULL || i + 1 >= argc) {
            agent_usage(stderr);
            return CLI_USAGE;
        }
        *dst = argv[++i];
    }
    if (o.c.url == NULL || o.c.attester == NULL || o.c.log_vkey == NULL
        || o.c.state_file == NULL || o.n_pos == 0
        || (o.c.cacert != NULL && o.c.pin_sha256 != NULL)) {
        agent_usage(stderr);
        return CLI_USAGE;
    }
    struct custos_diag d = { 0 };
    struct custos_client *c = NULL;
    cs_res r = custos_client_new(&o.c, &d, &c);
    if (!cs_ok(r)) {
        fail(&o, r, &d);
        return CLI_USAGE;
    }
    int rc = dispatch(c, &o);
    custos_client_free(c);
    return rc;
}
