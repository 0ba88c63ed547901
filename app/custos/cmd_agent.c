/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos agent: the agent client (include/custos/client.h) from the command line.
 * Each call is a new process and attests afresh: nothing secret is kept on disk, the
 * attestation is the credential. The state file holds only the anti-rollback memory.
 * `cache ...` writes, opens, resumes from and reconciles the sealed cache (docs/cache.md):
 * the only secret-bearing file, readable only through the TPM or a broker key.
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
    bool is_cache; /* serving from the sealed cache */
    const char *pos[32];
    int n_pos;
    /* per command of a sequence (CMD + CMD ...): --out, --file, --if-match */
    const char *seg_out[16];
    const char *seg_file[16];
    const char *seg_if[16];
    int seg;
    /* the sealed cache */
    struct custos_cache_opts k;
    const char *cache;
    const char *keep;
    const char *objects;
    const char *max_offline;
    const char *nv_index;
    const char *keep_v[CUSTOS_CACHE_ITEMS_MAX + 1];
    const char *objects_v[CUSTOS_CACHE_ITEMS_MAX + 1];
    char lists[2][4096];
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
          "       | token [AUDIENCE]\n"
          "       | cache save CACHE-OPTS --max-offline SECONDS [--keep R1,R2..]\n"
          "                    [--objects O1,O2..] [--cache-policy REPO/TYPE/TAG]\n"
          "       | cache open CACHE-OPTS [CMD [+ CMD...]]       (serve CMDs from the cache)\n"
          "       | cache resume CACHE-OPTS [CMD [+ CMD...]]     (the broker, else the cache)\n"
          "       | cache reconcile CACHE-OPTS [--objects O1,O2..]\n"
          "  CACHE-OPTS: --cache F --provider tpm2|broker [--cache-tcti T] [--pcrs BANK:N,..]\n"
          "              [--nv-index N] [--key-resource REPO/TYPE/TAG]\n"
          "  CMD: get RESOURCE | state get OBJECT | state put OBJECT --file F [--if-match N]\n",
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
    case CS_E_TCB:
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
        printf("%s version %" PRIu64 "%s\n", object, version,
               o->is_cache ? " (kept in the sealed cache until reconciled)" : "");
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
        fprintf(stderr, "custos agent: %s version %" PRIu64 " (%s)\n", object, version,
                o->is_cache ? "from the sealed cache" : "verified against the log");
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

static int dispatch_one(struct custos_client *c, const struct agent_opts *o,
                        const char *const *p, int n)
{
    if (n == 1 && strcmp(p[0], "attest") == 0) {
        return run_attest(c, o);
    }
    if (n == 2 && strcmp(p[0], "get") == 0) {
        return run_get(c, o, p[1]);
    }
    if (n == 3 && strcmp(p[0], "state") == 0 && strcmp(p[1], "put") == 0) {
        return run_put(c, o, p[2]);
    }
    if (n == 3 && strcmp(p[0], "state") == 0 && strcmp(p[1], "get") == 0) {
        return run_state_get(c, o, p[2]);
    }
    if ((n == 1 || n == 2) && strcmp(p[0], "token") == 0) {
        return run_token(c, o, n == 2 ? p[1] : NULL);
    }
    agent_usage(stderr);
    return CLI_USAGE;
}

/* CMD [+ CMD...] from p[0..n): each in turn, stopping at the first failure. */
static int dispatch_seq(struct custos_client *c, const struct agent_opts *o,
                        const char *const *p, int n)
{
    int start = 0;
    int seg = 0;
    for (int i = 0; i <= n; i++) {
        if (i == n || strcmp(p[i], "+") == 0) {
            if (i == start) {
                agent_usage(stderr);
                return CLI_USAGE;
            }
            struct agent_opts one = *o;
            one.out = o->seg_out[seg];
            one.file = o->seg_file[seg];
            one.if_match = o->seg_if[seg];
            seg++;
            int rc = dispatch_one(c, &one, p + start, i - start);
            if (rc != CLI_OK) {
                return rc;
            }
            start = i + 1;
        }
    }
    return CLI_OK;
}

/* "a,b,c" into v (NULL-terminated; at most CUSTOS_CACHE_ITEMS_MAX), split in buf. */
static bool split_list(const char *in, char *buf, size_t cap, const char **v)
{
    v[0] = NULL;
    if (in == NULL) {
        return true;
    }
    size_t len = strlen(in);
    if (len == 0 || len >= cap) {
        return false;
    }
    memcpy(buf, in, len + 1);
    int n = 0;
    char *s = buf;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (s[0] == '\0' || n == CUSTOS_CACHE_ITEMS_MAX) {
            return false;
        }
        v[n++] = s;
        v[n] = NULL;
        if (comma == NULL) {
            return true;
        }
        s = comma + 1;
    }
}

static bool cache_opts(struct agent_opts *o)
{
    if (o->cache == NULL || o->k.provider == NULL
        || !split_list(o->keep, o->lists[0], sizeof o->lists[0], o->keep_v)
        || !split_list(o->objects, o->lists[1], sizeof o->lists[1], o->objects_v)) {
        return false;
    }
    o->k.credentials = o->keep_v;
    o->k.objects = o->objects_v;
    char *end = NULL;
    if (o->max_offline != NULL) {
        long long v = strtoll(o->max_offline, &end, 10);
        if (o->max_offline[0] < '0' || o->max_offline[0] > '9' || *end != '\0') {
            return false;
        }
        o->k.max_offline_s = (int64_t)v;
    }
    if (o->nv_index != NULL) {
        unsigned long v = strtoul(o->nv_index, &end, 0);
        if (o->nv_index[0] < '0' || o->nv_index[0] > '9' || *end != '\0' || v > UINT32_MAX) {
            return false;
        }
        o->k.nv_index = (uint32_t)v;
    }
    return true;
}

static const char *outcome_name(enum custos_reconcile_outcome x)
{
    return x == CUSTOS_RECONCILE_PUSHED     ? "pushed"
           : x == CUSTOS_RECONCILE_PULLED   ? "pulled"
           : x == CUSTOS_RECONCILE_CONFLICT ? "conflict"
                                            : "unchanged";
}

static int run_reconcile(struct custos_client *c, const struct agent_opts *o)
{
    struct custos_diag d = { 0 };
    struct custos_reconcile_item items[CUSTOS_CACHE_ITEMS_MAX];
    size_t n = 0;
    cs_res r = custos_client_reconcile(c, o->cache, &o->k, &d, items,
                                       sizeof items / sizeof items[0], &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct custos_reconcile_item *it = &items[i];
        if (!o->is_json) {
            printf("%s: %s (when cached: %" PRIu64 "; cache: %" PRIu64 "; broker: %" PRIu64
                   " -> %" PRIu64 ")\n",
                   it->object, outcome_name(it->outcome), it->base, it->local, it->remote,
                   it->now);
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "object",
                                             it->object, "outcome", outcome_name(it->outcome),
                                             "base", (json_int_t)it->base, "local",
                                             (json_int_t)it->local, "remote",
                                             (json_int_t)it->remote, "now", (json_int_t)it->now));
    }
    if (!cs_ok(r)) {
        if (o->is_json && r.code == CS_E_CONFLICT) {
            print_json(json_pack("{s:b, s:s, s:s, s:o}", "ok", 0, "code",
                                 custos_code_name(r.code), "error", d.msg, "objects", arr));
            fprintf(stderr, "custos agent: %s (%s)\n", d.msg, custos_code_name(r.code));
            return exit_of(r.code);
        }
        json_decref(arr);
        return fail(o, r, &d);
    }
    if (o->is_json) {
        print_json(json_pack("{s:b, s:o}", "ok", 1, "objects", arr));
    } else {
        json_decref(arr);
        printf("reconciled; the cache %s is saved afresh from the broker\n", o->cache);
    }
    return CLI_OK;
}

static int run_cache(struct custos_client *c, struct agent_opts *o)
{
    const char *const *p = o->pos;
    if (o->n_pos < 2 || !cache_opts(o)) {
        agent_usage(stderr);
        return CLI_USAGE;
    }
    struct custos_diag d = { 0 };
    const char *verb = p[1];
    if (strcmp(verb, "save") == 0 && o->n_pos == 2) {
        cs_res r = custos_client_cache_save(c, o->cache, &o->k, &d);
        if (!cs_ok(r)) {
            return fail(o, r, &d);
        }
        if (o->is_json) {
            print_json(json_pack("{s:b, s:s}", "ok", 1, "cache", o->cache));
        } else {
            printf("sealed cache %s written (%s)\n", o->cache, o->k.provider);
        }
        return CLI_OK;
    }
    if (strcmp(verb, "reconcile") == 0 && o->n_pos == 2) {
        return run_reconcile(c, o);
    }
    enum custos_source from = CUSTOS_SOURCE_CACHE;
    cs_res r;
    if (strcmp(verb, "open") == 0) {
        r = custos_client_cache_open(c, o->cache, &o->k, &d);
    } else if (strcmp(verb, "resume") == 0) {
        r = custos_client_resume(c, o->cache, &o->k, &d, &from);
    } else {
        agent_usage(stderr);
        return CLI_USAGE;
    }
    if (!cs_ok(r)) {
        return fail(o, r, &d);
    }
    const char *src = from == CUSTOS_SOURCE_BROKER ? "broker" : "cache";
    o->is_cache = from == CUSTOS_SOURCE_CACHE;
    if (o->is_json) {
        print_json(json_pack("{s:b, s:s}", "ok", 1, "source", src));
    } else {
        fprintf(stderr, "custos agent: %s\n",
                from == CUSTOS_SOURCE_BROKER
                    ? "resumed from the broker (attested afresh)"
                    : "serving from the sealed cache (the broker is not used)");
    }
    return o->n_pos > 2 ? dispatch_seq(c, o, p + 2, o->n_pos - 2) : CLI_OK;
}

static int dispatch(struct custos_client *c, struct agent_opts *o)
{
    if (o->n_pos >= 1 && strcmp(o->pos[0], "cache") == 0) {
        return run_cache(c, o);
    }
    return dispatch_one(c, o, o->pos, o->n_pos);
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
           : strcmp(a, "--out") == 0        ? &o->seg_out[o->seg]
           : strcmp(a, "--file") == 0       ? &o->seg_file[o->seg]
           : strcmp(a, "--if-match") == 0   ? &o->seg_if[o->seg]
           : strcmp(a, "--cache") == 0      ? &o->cache
           : strcmp(a, "--provider") == 0   ? &o->k.provider
           : strcmp(a, "--cache-tcti") == 0 ? &o->k.tcti
           : strcmp(a, "--pcrs") == 0       ? &o->k.pcrs
           : strcmp(a, "--nv-index") == 0   ? &o->nv_index
           : strcmp(a, "--key-resource") == 0 ? &o->k.key_resource
           : strcmp(a, "--keep") == 0       ? &o->keep
           : strcmp(a, "--objects") == 0    ? &o->objects
           : strcmp(a, "--max-offline") == 0 ? &o->max_offline
           : strcmp(a, "--cache-policy") == 0 ? &o->k.policy_resource
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
            if (strcmp(a, "+") == 0) {
                if (o.seg + 1 == (int)(sizeof o.seg_out / sizeof o.seg_out[0])) {
                    agent_usage(stderr);
                    return CLI_USAGE;
                }
                o.seg++;
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
    o.out = o.seg_out[0]; /* a single command */
    o.file = o.seg_file[0];
    o.if_match = o.seg_if[0];
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
