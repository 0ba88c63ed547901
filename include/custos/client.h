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

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
