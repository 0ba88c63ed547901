/* SPDX-License-Identifier: Apache-2.0 */
/* The broker's state, shared by its route files (kbs.c, admin.c, logapi.c, routes.c). */
#ifndef CS_BROKER_BROKER_INT_H
#define CS_BROKER_BROKER_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/http.h"
#include "broker/metrics.h"
#include "broker/ratelimit.h"
#include "core/cs_result.h"
#include "tlog/note.h"

struct cs_bstore;
struct cs_keyprov;
struct cs_jwt_key;
struct cs_log;
struct cs_policy;
struct cs_scache;
struct custos_dcap_collateral;
struct custos_snp_collateral;

/* The current policy, parsed once per version and shared by readers (refcounted). */
struct cs_policy_ref {
    struct cs_policy *policy; /* NULL: no policy, nothing is released */
    int64_t version;
    char sha256[65];
    char id[64];
    json_t *refvals;          /* the store's reference values at load time */
    unsigned refs;
};

struct cs_broker {
    struct cs_broker_config cfg;
    struct cs_bstore *store;
    struct cs_keyprov *kek;
    struct cs_jwt_key *token_key;
    struct cs_log *log;
    struct cs_note_signer log_signer;
    char log_vkey[256];
    struct cs_metrics *metrics;
    struct cs_scache *scache;            /* attested sessions in memory (scache.h) */
    struct cs_ratelimit *auth_limit;     /* per client (IPv6: per /64) */
    struct cs_ratelimit *auth_global;    /* all clients together */
    struct cs_ratelimit *resource_limit; /* per session or token */
    pthread_mutex_t reload_mu;           /* one policy reload at a time */
    pthread_mutex_t admin_mu;            /* one admin change at a time (logged first) */
    pthread_mutex_t state_mu;            /* one state version at a time (logged first) */
    pthread_mutex_t expire_mu;
    double next_expire;                  /* monotonic seconds: next purge of old sessions */
    struct custos_dcap_collateral *dcap;
    char dcap_collateral_sha256[65]; /* the archived bundle of the DCAP collateral */
    struct custos_snp_collateral *snp;
    pthread_mutex_t policy_mu;
    struct cs_policy_ref *policy;
    bool is_tls;
    bool is_plain_off_loopback;
    int64_t started;
};

/* Response helpers (routes.c). */
void cs_broker_json(struct cs_http_resp *resp, unsigned status, json_t *body); /* steals body */
/* KBS-style error: {"type": ".../errors/<type>", "detail": detail}; detail is a fixed
 * text chosen by the caller, never client input or a secret. */
void cs_broker_error(struct cs_http_resp *resp, unsigned status, const char *type,
                     const char *detail);

/* The current policy (a reference: release with cs_broker_policy_put). */
struct cs_policy_ref *cs_broker_policy_get(struct cs_broker *b);
void cs_broker_policy_put(struct cs_broker *b, struct cs_policy_ref *p);
/* Reloads the policy and reference values from the store (after an admin change). */
CS_RESULT cs_broker_policy_reload(struct cs_broker *b);

/* Audit append with the broker's development flag; logs (never fails the caller's
 * response silently: returns the store's error). */
CS_RESULT cs_broker_audit(struct cs_broker *b, json_t *rec, uint64_t *index);

/* A resource name: exactly repo/type/tag, segments of [A-Za-z0-9._-], not "." or "..". */
bool cs_broker_is_resource_name(const char *name);
/* The /auth rate limits (per client, IPv6 per /64, and global); also purges expired
 * sessions now and then. */
bool cs_broker_auth_allowed(struct cs_broker *b, const char *peer);
/* The per-session (or per-token) limit of resource requests. */
bool cs_broker_resource_allowed(struct cs_broker *b, const char *who);
/* Monotonic seconds. */
double cs_broker_mono(void);

struct cs_session;
/* The session named by the request's kbs-session-id cookie, unexpired (CS_E_NOT_FOUND). */
CS_RESULT cs_broker_session_of(struct cs_broker *b, const struct cs_http_req *req, int64_t now,
                               struct cs_session *s);

/* Routes. */
void cs_kbs_auth(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp);
void cs_kbs_attest(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp);
void cs_kbs_resource(struct cs_broker *b, const struct cs_http_req *req, const char *name,
                     struct cs_http_resp *resp);
void cs_admin_route(struct cs_broker *b, const struct cs_http_req *req, const char *sub,
                    struct cs_http_resp *resp);
void cs_state_route(struct cs_broker *b, const struct cs_http_req *req, const char *object,
                    struct cs_http_resp *resp);
void cs_token_route(struct cs_broker *b, const struct cs_http_req *req, struct cs_http_resp *resp);
void cs_logapi_route(struct cs_broker *b, const struct cs_http_req *req, const char *sub,
                     struct cs_http_resp *resp);

#endif
