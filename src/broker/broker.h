/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custosd's service: the KBS v0.4.0 routes, the admin API, the audit log's read side,
 * tokens, /healthz and /metrics, over the storage, key, policy, verifier and log modules.
 * docs/api.md documents the routes, docs/configuration.md the configuration.
 */
#ifndef CS_BROKER_BROKER_H
#define CS_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/http.h"
#include "core/cs_result.h"

#define CS_ADMIN_TOKENS_MAX 16

enum cs_admin_role {
    CS_ROLE_ADMIN = 1,   /* everything under /custos/v1/admin */
    CS_ROLE_AUDITOR = 2, /* read-only admin routes */
};

struct cs_admin_token {
    char name[64];
    enum cs_admin_role role;
    uint8_t sha256[32]; /* SHA-256 of the bearer token; the token itself is never stored */
};

struct cs_broker_config {
    /* network */
    char listen[128];
    char tls_cert[4096];       /* paths */
    char tls_key[4096];
    bool allow_plain_http;     /* HTTP on a non-loopback address */
    /* state and keys */
    char data_dir[4096];
    char store_path[4096];     /* default DATA/broker.db */
    char log_path[4096];       /* default DATA/log.db */
    char root_key_file[4096];  /* default DATA/keys/root.key (file provider, 0600) */
    char token_key_file[4096]; /* default DATA/keys/token.pem */
    char log_key_file[4096];   /* default DATA/keys/log.key (note signer) */
    char log_origin[128];
    bool create_keys;          /* generate missing key files (development) */
    struct cs_admin_token admin[CS_ADMIN_TOKENS_MAX];
    size_t n_admin;
    /* verification */
    char dcap_collateral_dir[4096];
    char snp_collateral_dir[4096];
    bool dcap_is_development;  /* the DCAP anchor is a development root */
    /* policy and lifetimes */
    char policy_file[4096];    /* loaded at start when the store holds no policy */
    int64_t session_ttl;       /* seconds, default 300 */
    int64_t token_ttl;         /* seconds, default 300 */
    double auth_rate;          /* /auth requests per second per client, default 10 */
    unsigned auth_burst;       /* default 20 */
    double auth_rate_global;   /* /auth requests per second, all clients, default 2000 */
    unsigned auth_burst_global; /* default 4000 */
    double resource_rate;      /* resource requests per second per session/token, default 20 */
    unsigned resource_burst;   /* default 100 */
    unsigned max_connections;
};

void cs_broker_config_defaults(struct cs_broker_config *c);
/*
 * Reads a configuration file ("key value" lines, '#' comments; docs/configuration.md)
 * over the current values of c. On failure err names the line and the problem.
 */
CS_RESULT cs_broker_config_load(const char *path, struct cs_broker_config *c, char *err,
                                size_t errlen);
/* Fills the paths left empty from data_dir. */
CS_RESULT cs_broker_config_finish(struct cs_broker_config *c);

struct cs_broker;

CS_RESULT cs_broker_open(const struct cs_broker_config *c, struct cs_broker **out);
void cs_broker_close(struct cs_broker *b);
/* The HTTP handler (ctx = the broker). */
void cs_broker_handle(void *ctx, const struct cs_http_req *req, struct cs_http_resp *resp);
/* The body ceilings per route (cs_http_body_limit): 4 KiB for /kbs/v0/auth, 1 MiB for
 * attestations and admin writes, none for the rest. */
size_t cs_broker_body_limit(void *ctx, const char *method, const char *path);
/* For /healthz: whether the server runs without TLS off loopback. */
void cs_broker_set_transport(struct cs_broker *b, bool is_tls, bool is_plain_off_loopback);

#endif
