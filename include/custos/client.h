/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent side of custos: what a workload inside a TEE links to obtain its secrets and
 * keep its state on a custos broker (docs/client.md).
 *
 *   attest      KBS v0.4.0 auth -> a fresh EC P-256 TEE key pair, kept in this process ->
 *               REPORT_DATA binding of the broker's nonce and the public key -> evidence
 *               from the attester -> attest; the session and the token are kept.
 *   resources   released as a JWE to the TEE key, decrypted here; the plaintext is
 *               returned in memory the caller wipes and frees with custos_free_secret.
 *   state       sealed here (AES-256-GCM under the state key, itself a released
 *               resource), written with proof of possession of the TEE key and a
 *               compare-and-swap version; read back only after the audit log proves the
 *               version (checkpoint signature, inclusion, consistency with the last
 *               checkpoint this client saw, no version below the highest it saw).
 *
 * The anti-rollback memory (last checkpoint, highest version per object) lives in a state
 * file written atomically with mode 0600. It holds nothing secret.
 *
 *   reboot and resume   after a rehydration, an optional sealed cache (TPM or broker key)
 *               of the credentials and state the operator lists; on restart the broker
 *               first, the cache only when the broker cannot be reached; reconcile pushes
 *               versions written offline with compare-and-swap and reports conflicts.
 *
 * Thread safety: a handle may be shared by threads; its calls are serialised by a mutex
 * (network I/O included). Every call attests first when the handle has no session.
 */
#ifndef CUSTOS_CLIENT_H
#define CUSTOS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "custos/result.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define CUSTOS_STATE_OBJECT_MAX 128        /* bytes of a state object name */
#define CUSTOS_STATE_PLAINTEXT_MAX (1020u * 1024u) /* the envelope stays within 1 MiB */
#define CUSTOS_RESOURCE_NAME_MAX 256       /* bytes of REPO/TYPE/TAG */

struct custos_client_opts {
    const char *url;        /* broker base URL, e.g. https://kbs.example:8443 (required) */
    const char *cacert;     /* PEM file of CAs for https, or NULL: system store */
    const char *pin_sha256; /* SHA-256 of the broker's SubjectPublicKeyInfo: 64 hex
                               characters or 44 base64, or NULL (see docs/client.md) */
    const char *attester;   /* "sim" (others as the attester module provides them) */
    const char *data_dir;   /* sim: the directory holding dev-attester/ */
    const char *tcti;       /* tpm2: TCTI string, or NULL */
    const char *log_vkey;   /* C2SP verifier key of the broker's audit log (required) */
    const char *log_origin; /* required checkpoint origin, or NULL: the vkey's name */
    const char *state_file; /* anti-rollback memory (required) */
    const char *identity;   /* the identity sealed into state AAD, or NULL: the first
                               identity the broker admitted this instance as */
    const char *state_key;  /* resource name of the state key, or NULL:
                               default/<identity>/state-key */
};

struct custos_client; /* opaque; heap object: custos_client_free */

/*
 * A client for one broker. Reads (or, when absent, starts) the state file: a damaged or
 * unreadable one is refused (CS_E_FORMAT, CS_E_IO), never silently reset. Does no
 * network I/O. Ownership: on CS_OK *out is the caller's; NULL otherwise. diag may be NULL.
 */
CS_RESULT custos_client_new(const struct custos_client_opts *opts, struct custos_diag *diag,
                            struct custos_client **out);
void custos_client_free(struct custos_client *c);

/*
 * Attests afresh (a new TEE key, a new session) and keeps the session and the token.
 * CS_E_POLICY when the broker refuses (403), CS_E_IO when it cannot be reached.
 */
CS_RESULT custos_client_attest(struct custos_client *c, struct custos_diag *diag);

/*
 * The resource REPO/TYPE/TAG, decrypted with the TEE key. On CS_OK *secret (at least one
 * byte allocated) and *len are the caller's: custos_free_secret(*secret, *len).
 * CS_E_POLICY (403), CS_E_NOT_FOUND (404), CS_E_SIGNATURE (the JWE does not decrypt).
 */
CS_RESULT custos_client_get_resource(struct custos_client *c, const char *name,
                                     struct custos_diag *diag, uint8_t **secret, size_t *len);

/* Wipes and frees a secret returned by this library. NULL is fine. */
void custos_free_secret(void *p, size_t len);

/*
 * Seals plaintext (at most CUSTOS_STATE_PLAINTEXT_MAX bytes) as version
 * expected_version + 1 of object and writes it with If-Match: expected_version (0 to
 * create). On CS_OK *new_version receives the version written, also remembered as the
 * highest seen. CS_E_CONFLICT when expected_version is stale (412); CS_E_POLICY (403);
 * CS_E_SIGNATURE when the broker refuses the proof of possession (401).
 */
CS_RESULT custos_client_state_put(struct custos_client *c, const char *object,
                                  const uint8_t *plaintext, size_t len, uint64_t expected_version,
                                  struct custos_diag *diag, uint64_t *new_version);

/*
 * Reads the latest version of object, verifies it against the audit log and opens it.
 * Errors: CS_E_BINDING (a checkpoint, proof or record that does not hold, a log
 * inconsistent with the last checkpoint seen, a ciphertext that does not open),
 * CS_E_CONFLICT (a version below the highest seen: a rolled-back broker), CS_E_NOT_FOUND,
 * CS_E_POLICY; diag says which. On CS_OK *plaintext and *len are the caller's
 * (custos_free_secret) and *version the version read; the state file is updated.
 */
CS_RESULT custos_client_state_get(struct custos_client *c, const char *object,
                                  struct custos_diag *diag, uint8_t **plaintext, size_t *len,
                                  uint64_t *version);

/*
 * A token. audience NULL: the attestation-result token of the current session (a compact
 * JWS, docs/tokens.md). With an audience ([A-Za-z0-9._-]{1,128}): a token the broker issues
 * for that third party (POST /custos/v1/token with proof of possession; policy action
 * token:issue), ES256 with aud, sub and cnf.jwk. Attests first if needed. On CS_OK *token
 * is the caller's (custos_free_secret(*token, strlen(*token) + 1)). CS_E_POLICY (403).
 */
CS_RESULT custos_client_token(struct custos_client *c, const char *audience,
                              struct custos_diag *diag, char **token);

/* ---- the local sealed cache and resume (docs/client.md "Reboot and resume") ---- */

/* Where the handle's credentials and state come from. */
enum custos_source {
    CUSTOS_SOURCE_BROKER = 1, /* attested to the broker: every call goes to it */
    CUSTOS_SOURCE_CACHE = 2,  /* the sealed cache: credentials and state served locally */
};

#define CUSTOS_CACHE_ITEMS_MAX 64 /* credentials, and state objects, a cache keeps */

struct custos_cache_opts {
    const char *provider;     /* "tpm2" or "broker" (required) */
    const char *tcti;         /* tpm2: TCTI string, or NULL: the tctildr default */
    const char *pcrs;         /* tpm2: "<bank>:<n>[,<n>...]", or NULL: "sha256:7" */
    uint32_t nv_index;        /* tpm2: NV counter index, or 0: 0x01637573 */
    const char *key_resource; /* broker: the 32-byte cache key resource, or NULL:
                                 default/<identity>/cache-key */
    /* What the cache may keep, chosen by the operator (NULL-terminated lists, at most
       CUSTOS_CACHE_ITEMS_MAX names each): resources, and state objects (with them the
       state key, itself a resource). */
    const char *const *credentials;
    const char *const *objects;
    int64_t max_offline_s;        /* the operator's offline window, 1..31622400 seconds */
    const char *policy_resource;  /* or NULL. A resource the broker releases, JSON
                                     {"max_offline_s": N, "credentials": ["name", ...]}:
                                     the window is the smaller of both, and every
                                     credential kept (the state key included) must be
                                     listed, else CS_E_POLICY */
};

/*
 * After a successful rehydration: fetches (attesting first if needed) every credential
 * and state object named by o (each state version verified against the log like
 * custos_client_state_get), and writes the sealed cache at path (docs/cache.md) with the
 * last checkpoint, the issue time and the offline window. The handle keeps the cache for
 * later offline writes. Objects the broker does not hold (404) are left out.
 */
CS_RESULT custos_client_cache_save(struct custos_client *c, const char *path,
                                   const struct custos_cache_opts *o, struct custos_diag *diag);

/*
 * Opens the cache at path and serves credentials and state from it from then on:
 * custos_client_get_resource and custos_client_state_get read the cache (no network),
 * custos_client_state_put writes a local version into the cache (sealed again: with tpm2
 * the NV counter advances) for custos_client_reconcile to push later; tokens need the
 * broker. tpm2: no network at all. broker: attests and fetches the cache key first.
 * The state-file memory still applies: a cached version below the highest seen is
 * refused (CS_E_CONFLICT). Needs opts.identity (the payload is bound to it).
 * Codes as cs_cache_open: CS_E_NOT_FOUND, CS_E_SIGNATURE, CS_E_TCB, CS_E_CONFLICT,
 * CS_E_BINDING, CS_E_EXPIRED, CS_E_FORMAT...
 */
CS_RESULT custos_client_cache_open(struct custos_client *c, const char *path,
                                   const struct custos_cache_opts *o, struct custos_diag *diag);

/*
 * Resume after a restart: attests to the broker; when it answers, *from is
 * CUSTOS_SOURCE_BROKER (rehydration). Only when the broker cannot be reached (CS_E_IO:
 * no connection, TLS, 5xx, 429) does it fall back to custos_client_cache_open
 * (*from = CUSTOS_SOURCE_CACHE); a refusal by the broker (403, 401) is returned as is,
 * never bypassed with the cache.
 */
CS_RESULT custos_client_resume(struct custos_client *c, const char *path,
                               const struct custos_cache_opts *o, struct custos_diag *diag,
                               enum custos_source *from);

enum custos_reconcile_outcome {
    CUSTOS_RECONCILE_SAME = 0,     /* neither side changed */
    CUSTOS_RECONCILE_PUSHED = 1,   /* a local version written offline was written back (CAS) */
    CUSTOS_RECONCILE_PULLED = 2,   /* the broker's newer version replaced the cached one */
    CUSTOS_RECONCILE_CONFLICT = 3, /* both changed since the cache was saved: nothing written */
};

struct custos_reconcile_item {
    char object[CUSTOS_STATE_OBJECT_MAX + 1];
    enum custos_reconcile_outcome outcome;
    uint64_t base;   /* the broker's version when the cache was saved (0: none) */
    uint64_t local;  /* the cache's version */
    uint64_t remote; /* the broker's version before reconciling (0: none) */
    uint64_t now;    /* the broker's version after reconciling */
};

/*
 * Reconciles the cache at path with the broker (which must answer: CS_E_IO otherwise),
 * per object of the cache and of o->objects: only the cache changed -> pushed with
 * If-Match: base (a 412 in between makes it a conflict); only the broker changed ->
 * pulled; both -> CONFLICT, reported and left as is on both sides. Without conflicts the
 * cache is then saved afresh from the broker (custos_client_cache_save); with conflicts
 * only the objects settled are updated in it, and the call returns CS_E_CONFLICT. The
 * handle serves from the broker afterwards. items (cap entries) receive one entry per
 * object, *n their number (objects beyond cap are reconciled but not reported).
 */
CS_RESULT custos_client_reconcile(struct custos_client *c, const char *path,
                                  const struct custos_cache_opts *o, struct custos_diag *diag,
                                  struct custos_reconcile_item *items, size_t cap, size_t *n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
