/* SPDX-License-Identifier: Apache-2.0 */
/* custosd's configuration file: "key value" lines, '#' comments (docs/configuration.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_mem.h"

#define CONFIG_MAX (256u * 1024u)

void cs_broker_config_defaults(struct cs_broker_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->log_origin, sizeof c->log_origin, "custos.local/log");
    c->session_ttl = 300;
    c->token_ttl = 300;
    c->auth_rate = 10;
    c->auth_burst = 20;
    c->auth_rate_global = 2000;
    c->auth_burst_global = 4000;
    c->resource_rate = 20;
    c->resource_burst = 100;
    c->max_connections = 256;
}

static cs_res set_path(char *dst, size_t cap, const char *v)
{
    int n = snprintf(dst, cap, "%s", v);
    CS_ENSURE(n > 0 && (size_t)n < cap, CS_E_TOO_LARGE);
    return CS_SUCCESS;
}

static cs_res parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return CS_SUCCESS;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
        *out = false;
        return CS_SUCCESS;
    }
    CS_FAIL(CS_E_FORMAT);
}

static cs_res parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    CS_ENSURE(errno == 0 && end != v && *end == '\0' && x >= lo && x <= hi, CS_E_FORMAT);
    *out = x;
    return CS_SUCCESS;
}

/* admin_token NAME ROLE SHA256HEX */
static cs_res parse_admin(char *v, struct cs_broker_config *c)
{
    CS_ENSURE(c->n_admin < CS_ADMIN_TOKENS_MAX, CS_E_TOO_LARGE);
    char *save = NULL;
    char *name = strtok_r(v, " \t", &save);
    char *role = strtok_r(NULL, " \t", &save);
    char *hex = strtok_r(NULL, " \t", &save);
    CS_ENSURE(name != NULL && role != NULL && hex != NULL && strtok_r(NULL, " \t", &save) == NULL,
              CS_E_FORMAT);
    struct cs_admin_token *t = &c->admin[c->n_admin];
    CS_TRY(set_path(t->name, sizeof t->name, name));
    if (strcmp(role, "admin") == 0) {
        t->role = CS_ROLE_ADMIN;
    } else if (strcmp(role, "auditor") == 0) {
        t->role = CS_ROLE_AUDITOR;
    } else {
        CS_FAIL(CS_E_FORMAT);
    }
    CS_ENSURE(strlen(hex) == 64, CS_E_FORMAT);
    CS_TRY(cs_hex_decode(hex, 64, t->sha256, sizeof t->sha256));
    c->n_admin++;
    return CS_SUCCESS;
}

static cs_res apply(struct cs_broker_config *c, const char *key, char *v)
{
    int64_t x = 0;
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } paths[] = {
        { "listen", c->listen, sizeof c->listen },
        { "tls_cert", c->tls_cert, sizeof c->tls_cert },
        { "tls_key", c->tls_key, sizeof c->tls_key },
        { "data_dir", c->data_dir, sizeof c->data_dir },
        { "store", c->store_path, sizeof c->store_path },
        { "log_db", c->log_path, sizeof c->log_path },
        { "root_key_file", c->root_key_file, sizeof c->root_key_file },
        { "token_key_file", c->token_key_file, sizeof c->token_key_file },
        { "log_key_file", c->log_key_file, sizeof c->log_key_file },
        { "log_origin", c->log_origin, sizeof c->log_origin },
        { "dcap_collateral_dir", c->dcap_collateral_dir, sizeof c->dcap_collateral_dir },
        { "snp_collateral_dir", c->snp_collateral_dir, sizeof c->snp_collateral_dir },
        { "policy_file", c->policy_file, sizeof c->policy_file },
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (strcmp(key, paths[i].key) == 0) {
            return set_path(paths[i].dst, paths[i].cap, v);
        }
    }
    if (strcmp(key, "allow_plain_http") == 0) {
        return parse_bool(v, &c->allow_plain_http);
    }
    if (strcmp(key, "create_keys") == 0) {
        return parse_bool(v, &c->create_keys);
    }
    if (strcmp(key, "dcap_development_root") == 0) {
        return parse_bool(v, &c->dcap_is_development);
    }
    if (strcmp(key, "admin_token") == 0) {
        return parse_admin(v, c);
    }
    if (strcmp(key, "session_ttl") == 0) {
        CS_TRY(parse_int(v, 2, 3600, &x));
        c->session_ttl = x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "token_ttl") == 0) {
        CS_TRY(parse_int(v, 10, 3600, &x));
        c->token_ttl = x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "auth_rate") == 0) {
        CS_TRY(parse_int(v, 0, 100000, &x));
        c->auth_rate = (double)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "auth_burst") == 0) {
        CS_TRY(parse_int(v, 1, 100000, &x));
        c->auth_burst = (unsigned)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "auth_rate_global") == 0) {
        CS_TRY(parse_int(v, 0, 1000000, &x));
        c->auth_rate_global = (double)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "auth_burst_global") == 0) {
        CS_TRY(parse_int(v, 1, 1000000, &x));
        c->auth_burst_global = (unsigned)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "resource_rate") == 0) {
        CS_TRY(parse_int(v, 0, 100000, &x));
        c->resource_rate = (double)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "resource_burst") == 0) {
        CS_TRY(parse_int(v, 1, 100000, &x));
        c->resource_burst = (unsigned)x;
        return CS_SUCCESS;
    }
    if (strcmp(key, "max_connections") == 0) {
        CS_TRY(parse_int(v, 1, 65536, &x));
        c->max_connections = (unsigned)x;
        return CS_SUCCESS;
    }
    CS_FAIL(CS_E_UNSUPPORTED);
}

CS_RESULT cs_broker_config_load(const char *path, struct cs_broker_config *c, char *err,
                                size_t errlen)
{
    struct cs_blob f = { 0 };
    cs_res r = cs_file_read(path, CONFIG_MAX, &f);
    if (!cs_ok(r)) {
        snprintf(err, errlen, "%s: cannot read", path);
        return r;
    }
    unsigned lineno = 0;
    char *next = (char *)f.p;
    while (next != NULL && *next != '\0') {
        char *line = next;
        char *nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL) {
            *nl = '\0';
        }
        lineno++; /* every line counts, blank ones too: errors name the right line */
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        if (*line == '\0') {
            continue;
        }
        char *v = line + strcspn(line, " \t");
        if (*v != '\0') {
            *v++ = '\0';
            v += strspn(v, " \t");
        }
        if (*v == '\0') {
            snprintf(err, errlen, "%s: line %u: %s needs a value", path, lineno, line);
            cs_blob_clear(&f);
            CS_FAIL(CS_E_FORMAT);
        }
        r = apply(c, line, v);
        if (!cs_ok(r)) {
            snprintf(err, errlen, "%s: line %u: %s: %s", path, lineno, line,
                     r.code == CS_E_UNSUPPORTED ? "unknown key" : "invalid value");
            cs_blob_clear(&f);
            return r;
        }
    }
    cs_blob_clear(&f);
    return CS_SUCCESS;
}

static cs_res default_path(char *dst, size_t cap, const char *dir, const char *rel)
{
    if (dst[0] != '\0') {
        return CS_SUCCESS;
    }
    CS_ENSURE(dir[0] != '\0', CS_E_ARG);
    int n = snprintf(dst, cap, "%s/%s", dir, rel);
    CS_ENSURE(n > 0 && (size_t)n < cap, CS_E_TOO_LARGE);
    return CS_SUCCESS;
}

CS_RESULT cs_broker_config_finish(struct cs_broker_config *c)
{
    CS_TRY(default_path(c->store_path, sizeof c->store_path, c->data_dir, "broker.db"));
    CS_TRY(default_path(c->log_path, sizeof c->log_path, c->data_dir, "log.db"));
    CS_TRY(default_path(c->root_key_file, sizeof c->root_key_file, c->data_dir, "keys/root.key"));
    CS_TRY(default_path(c->token_key_file, sizeof c->token_key_file, c->data_dir,
                        "keys/token.pem"));
    CS_TRY(default_path(c->log_key_file, sizeof c->log_key_file, c->data_dir, "keys/log.key"));
    return CS_SUCCESS;
}
