/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custosd: the broker daemon. Options and wiring only (docs/operations.md).
 *   custosd --config FILE
 *   custosd --dev [--config FILE] [--listen ADDR:PORT] [--data-dir DIR] [--ready-file FILE]
 * With both --dev and --config, the file's settings apply over the development defaults.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/blog.h"
#include "broker/broker.h"
#include "broker/http.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_secure_heap.h"
#include "sim/dev_attester.h"

#define PEM_MAX (256u * 1024u)

static void usage(FILE *f)
{
    fputs("usage: custosd --config FILE [--ready-file FILE]\n"
          "       custosd --dev [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]\n"
          "               [--ready-file FILE]\n"
          "  --dev         development broker: SQLite and generated keys in DIR (a new\n"
          "                temporary directory by default), an admin token in DIR/admin.token,\n"
          "                no policy (nothing is released until one is set), and a development\n"
          "                TDX trust root for `custos sim quote`.\n"
          "  --ready-file  write the broker's URL there once it listens\n",
          f);
}

/* DIR/admin.token: 32 random bytes in hex, created once (0600). */
static cs_res dev_admin_token(const char *dir, struct cs_broker_config *c)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/admin.token", dir);
    struct cs_blob f = { 0 };
    if (access(path, F_OK) != 0) {
        uint8_t raw[32];
        char tok[65];
        CS_TRY(cs_random(raw, sizeof raw));
        CS_TRY(cs_hex_encode(raw, sizeof raw, tok, sizeof tok));
        cs_wipe(raw, sizeof raw);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CS_ENSURE(fd >= 0, CS_E_IO);
        bool is_ok = write(fd, tok, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        is_ok &= close(fd) == 0;
        cs_wipe(tok, sizeof tok);
        CS_ENSURE(is_ok, CS_E_IO);
    }
    CS_TRY(cs_file_read(path, 256, &f));
    size_t n = f.len;
    while (n > 0 && (f.p[n - 1] == '\n' || f.p[n - 1] == '\r')) {
        n--;
    }
    CS_ENSURE(c->n_admin < CS_ADMIN_TOKENS_MAX, CS_E_TOO_LARGE);
    struct cs_admin_token *t = &c->admin[c->n_admin];
    cs_res r = cs_sha256((struct cs_cur){ .p = f.p, .left = n }, t->sha256);
    cs_wipe(f.p, f.len);
    cs_blob_clear(&f);
    CS_TRY(r);
    snprintf(t->name, sizeof t->name, "dev-admin");
    t->role = CS_ROLE_ADMIN;
    c->n_admin++;
    return CS_SUCCESS;
}

static cs_res dev_setup(struct cs_broker_config *c)
{
    if (c->data_dir[0] == '\0') {
        char tmpl[] = "/tmp/custosd-dev-XXXXXX";
        CS_ENSURE(mkdtemp(tmpl) != NULL, CS_E_IO);
        snprintf(c->data_dir, sizeof c->data_dir, "%s", tmpl);
    } else {
        CS_ENSURE(mkdir(c->data_dir, 0700) == 0 || errno == EEXIST, CS_E_IO);
    }
    c->create_keys = true;
    CS_TRY(dev_admin_token(c->data_dir, c));
    if (c->dcap_collateral_dir[0] == '\0') { /* a configured collateral directory wins */
        struct cs_dev_attester *a = NULL;
        CS_TRY(cs_dev_attester_open(c->data_dir, true, cs_time_now(), &a));
        snprintf(c->dcap_collateral_dir, sizeof c->dcap_collateral_dir, "%s",
                 cs_dev_attester_collateral_dir(a));
        cs_dev_attester_free(a);
        c->dcap_is_development = true;
    }
    return cs_broker_config_finish(c);
}

static cs_res read_text(const char *path, char **out)
{
    struct cs_blob f = { 0 };
    CS_TRY(cs_file_read(path, PEM_MAX, &f));
    *out = (char *)f.p; /* NUL-terminated by cs_file_read */
    return CS_SUCCESS;
}

static void write_ready(const char *path, const char *url)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return;
    }
    fprintf(f, "%s\n", url);
    if (fclose(f) == 0) {
        (void)rename(tmp, path);
    }
}

int main(int argc, char **argv)
{
    struct cs_broker_config c;
    cs_broker_config_defaults(&c);
    const char *config = NULL;
    const char *listen = NULL;
    const char *data_dir = NULL;
    const char *ready = NULL;
    bool is_dev = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dev") == 0) {
            is_dev = true;
        } else if (strcmp(a, "--config") == 0 && v != NULL) {
            config = v;
            i++;
        } else if (strcmp(a, "--listen") == 0 && v != NULL) {
            listen = v;
            i++;
        } else if (strcmp(a, "--data-dir") == 0 && v != NULL) {
            data_dir = v;
            i++;
        } else if (strcmp(a, "--ready-file") == 0 && v != NULL) {
            ready = v;
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!is_dev && config == NULL) {
        usage(stderr);
        return 2;
    }
    char err[512] = "";
    if (config != NULL && !cs_ok(cs_broker_config_load(config, &c, err, sizeof err))) {
        cs_blog(CS_BLOG_ERROR, "config", "%s", err);
        return 2;
    }
    if (listen != NULL) {
        snprintf(c.listen, sizeof c.listen, "%s", listen);
    }
    if (data_dir != NULL) {
        snprintf(c.data_dir, sizeof c.data_dir, "%s", data_dir);
    }
    cs_res r = is_dev ? dev_setup(&c) : cs_broker_config_finish(&c);
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "config", "cannot prepare %s: %s",
                c.data_dir[0] != '\0' ? c.data_dir : "the data directory",
                custos_code_name(r.code));
        return 2;
    }
    if (c.n_admin == 0) {
        cs_blog(CS_BLOG_ERROR, "config", "no admin_token configured: refusing to start");
        return 2;
    }
    if ((c.tls_cert[0] != '\0') != (c.tls_key[0] != '\0')) {
        cs_blog(CS_BLOG_ERROR, "config", "tls_cert and tls_key go together");
        return 2;
    }
    bool is_tls = c.tls_cert[0] != '\0';
    bool is_loopback = cs_http_is_loopback(c.listen);
    if (!is_tls && !is_loopback && !c.allow_plain_http) {
        cs_blog(CS_BLOG_ERROR, "config",
                "plain HTTP on %s, which is not a loopback address: configure tls_cert and "
                "tls_key, or set allow_plain_http yes",
                c.listen);
        return 2;
    }

    /* the broker's own threads never take these signals: main waits for them below */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* secrets pass through this process (resource plaintexts, request bodies): no core
     * dumps, no ptrace by other processes of the same user */
    struct rlimit no_core = { 0, 0 };
    if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        cs_blog(CS_BLOG_WARN, "start", "cannot disable core dumps");
    }
    if (!cs_ok(cs_secure_heap_init(64u * 1024u))) {
        cs_blog(CS_BLOG_WARN, "keys", "no OpenSSL secure heap: keys stay in ordinary memory");
    }
    struct cs_broker *b = NULL;
    r = cs_broker_open(&c, &b);
    if (!cs_ok(r)) {
        cs_blog(CS_BLOG_ERROR, "start", "cannot open the broker: %s (%s:%u)",
                custos_code_name(r.code), r.file != NULL ? r.file : "", r.line);
        return 1;
    }
    char *cert = NULL;
    char *key = NULL;
    if (is_tls && (!cs_ok(read_text(c.tls_cert, &cert)) || !cs_ok(read_text(c.tls_key, &key)))) {
        cs_blog(CS_BLOG_ERROR, "start", "cannot read tls_cert or tls_key");
        cs_broker_close(b);
        return 1;
    }
    cs_broker_set_transport(b, is_tls, !is_tls && !is_loopback);
    struct cs_http_opts ho = {
        .listen = c.listen,
        .tls_cert_pem = cert,
        .tls_key_pem = key,
        .max_connections = c.max_connections,
        .body_limit = cs_broker_body_limit,
    };
    struct cs_http_server *srv = NULL;
    r = cs_http_start(&ho, cs_broker_handle, b, &srv);
    if (key != NULL) {
        cs_wipe(key, strlen(key)); /* libmicrohttpd keeps its own copy */
    }
    cs_free(key);
    cs_free(cert);
    if (!cs_ok(r)) {
        cs_broker_close(b);
        return 1;
    }
    char url[256];
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(c.listen, ':') - c.listen), c.listen);
    snprintf(url, sizeof url, "%s://%s:%u", is_tls ? "https" : "http", host, cs_http_port(srv));
    cs_blog(CS_BLOG_INFO, "start", "listening on %s%s", url,
            is_tls ? "" : (is_loopback ? " (plain HTTP, loopback only)"
                                       : " (PLAIN HTTP OFF LOOPBACK: allow_plain_http is set)"));
    if (is_dev) {
        fprintf(stderr,
                "\ncustosd --dev: a development broker.\n"
                "  data directory: %s\n"
                "  admin token:    %s/admin.token\n"
                "  no policy is set, so nothing is released. Start from the example:\n"
                "    custos admin --url %s --token-file %s/admin.token policy set "
                "docs/examples/policy-dev-tdx.json\n"
                "    echo -n s3cret > v; custos admin --url %s --token-file %s/admin.token "
                "resource set default/dev/secret --file v\n"
                "  a development TDX quote: custos sim quote --data-dir %s --report-data HEX\n\n",
                c.data_dir, c.data_dir, url, c.data_dir, url, c.data_dir, c.data_dir);
    }
    if (ready != NULL) {
        write_ready(ready, url);
    }
    int sig = 0;
    sigwait(&set, &sig);
    cs_blog(CS_BLOG_INFO, "stop", "signal %d: stopping", sig);
    cs_http_stop(srv);
    cs_broker_close(b);
    return 0;
}
