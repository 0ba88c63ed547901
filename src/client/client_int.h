/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the agent client (include/custos/client.h): the state envelope, the
 * anti-rollback memory and the checks of a state read, as pure functions the unit tests
 * drive without a broker. docs/state.md is the protocol; docs/client.md the client.
 */
#ifndef CS_CLIENT_INT_H
#define CS_CLIENT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"
#include "crypto/cs_aead.h"
#include "crypto/cs_kbs_binding.h"
#include "custos/client.h"
#include "custos/tlog.h"

#define CS_STATE_ENVELOPE_VERSION 0x01
#define CS_STATE_ENVELOPE_OVERHEAD (1u + CS_AEAD_OVERHEAD)
#define CS_STATE_ENVELOPE_MAX (1u << 20)       /* the broker's body limit: 1 MiB */
#define CS_STATE_IDENTITY_MAX 256              /* bytes of an identity name */
#define CS_STATE_VERSION_MAX ((uint64_t)1 << 53) /* exact in JSON numbers everywhere */
#define CS_MEMORY_FILE_MAX (1u << 20)          /* bytes of the state file */
#define CS_MEMORY_OBJECTS_MAX 4096             /* objects remembered */
#define CS_STATE_RECORD_MAX (64u * 1024u)      /* an audit record */
#define CS_STATE_PROOF_MAX 64                  /* hashes of an inclusion/consistency proof */

/* A name of docs/state.md: 1..128 bytes of [A-Za-z0-9._-], not "." or "..". */
bool cs_state_object_ok(const char *object);

/*
 * The AES-256-GCM envelope of docs/state.md: 0x01 || nonce || ciphertext || tag, AAD
 * "custos/state/v1" 0x00 identity 0x00 object 0x00 version (decimal ASCII).
 * Seal: on CS_OK *env (cs_alloc'd) and *env_len are the caller's (cs_free).
 * Open: on CS_OK *pt (cs_alloc'd, at least one byte) and *len are the caller's
 * (cs_free_wipe); CS_E_FORMAT for an unknown envelope version, CS_E_TRUNCATED for a short
 * one, CS_E_SIGNATURE when it does not open under this key, identity, object and version.
 */
CS_RESULT cs_state_seal(const uint8_t key[CS_AEAD_KEY_LEN], const char *identity,
                        const char *object, uint64_t version, const uint8_t *pt, size_t len,
                        uint8_t **env, size_t *env_len);
CS_RESULT cs_state_open(const uint8_t key[CS_AEAD_KEY_LEN], const char *identity,
                        const char *object, uint64_t version, const uint8_t *env, size_t env_len,
                        uint8_t **pt, size_t *len);

/* ---- the anti-rollback memory ---- */

struct cs_memory {
    json_t *doc; /* {"v":1,"log_vkey":…,"checkpoint":{"size","root"}|absent,"objects":{…}} */
};

/*
 * Loads path (absent: an empty memory bound to log_vkey). Refuses a file of another log
 * (CS_E_ARG), a malformed one (CS_E_FORMAT), an unreadable one (CS_E_IO), a symbolic
 * link or a file others may write (CS_E_IO). diag says which. cs_memory_clear after.
 */
CS_RESULT cs_memory_load(const char *path, const char *log_vkey, struct custos_diag *diag,
                         struct cs_memory *m);
void cs_memory_clear(struct cs_memory *m);
/* Writes atomically: path.tmp (0600, fsync), rename, fsync of the directory. */
CS_RESULT cs_memory_save(const struct cs_memory *m, const char *path);

/* The last checkpoint saved; *has is false when none. */
CS_RESULT cs_memory_checkpoint(const struct cs_memory *m, bool *has, struct custos_checkpoint *cp);
CS_RESULT cs_memory_set_checkpoint(struct cs_memory *m, const struct custos_checkpoint *cp);
/* The highest version seen of object (0 when never seen). */
uint64_t cs_memory_version(const struct cs_memory *m, const char *object);
/* Raises the highest version seen of object to version (never lowers it). */
CS_RESULT cs_memory_raise(struct cs_memory *m, const char *object, uint64_t version);

/* ---- the checks of a state read (docs/state.md "GET") ---- */

/* What a GET answered, parsed and bounded, not yet trusted. Views into doc. */
struct cs_state_read {
    uint64_t version;
    uint64_t log_index;
    uint8_t *ciphertext; /* cs_alloc'd */
    size_t ciphertext_len;
    const char *record;  /* the log entry bytes */
    size_t record_len;
    uint64_t proof_index;
    uint64_t proof_size;
    uint8_t proof[CS_STATE_PROOF_MAX * CUSTOS_HASH_LEN];
    size_t proof_n;
    const char *checkpoint;
    size_t checkpoint_len;
};

/* Parses the GET answer (object must match). cs_state_read_clear after, on any outcome. */
CS_RESULT cs_state_read_parse(const json_t *doc, const char *object, struct custos_diag *diag,
                              struct cs_state_read *out);
void cs_state_read_clear(struct cs_state_read *r);

/*
 * What a read must prove on its own: the checkpoint opens under policy; the proof's size is
 * the checkpoint's; the record's leaf is included at proof_index == log_index; the record is
 * a state put of this object and version whose ciphertext_sha256 is SHA-256 of the
 * ciphertext. *cp receives the checkpoint. CS_E_BINDING with diag when any fails.
 */
CS_RESULT cs_state_read_verify(const struct cs_state_read *r, const char *object,
                               const struct custos_tlog_policy *policy, struct custos_diag *diag,
                               struct custos_checkpoint *cp);

/* That version is not below the highest seen of object: else CS_E_CONFLICT ("rollback"). */
CS_RESULT cs_state_check_version(const struct cs_memory *m, const char *object, uint64_t version,
                                 struct custos_diag *diag);

/*
 * Whether the new checkpoint extends the saved one: equal sizes need equal roots; a
 * smaller tree is a rollback; a larger one needs the RFC 9162 consistency proof (n
 * hashes) from the saved (size, root) — our own, never the broker's — to the new root.
 * *need_proof is set (and nothing else checked) when a larger tree arrives without a
 * proof (proof == NULL). CS_E_BINDING with diag otherwise.
 */
CS_RESULT cs_state_check_consistency(const struct cs_memory *m, const struct custos_checkpoint *cp,
                                     const uint8_t *proof, size_t n, bool *need_proof,
                                     struct custos_diag *diag);

/* Fills diag (if not NULL) with code and a printf-style message; returns a cs_res of code. */
cs_res cs_client_fail(struct custos_diag *diag, cs_code code, const char *file, uint32_t line,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define CS_CLIENT_FAIL(diag, code, ...)                                                    \
    return cs_client_fail((diag), (code), __FILE__, __LINE__, __VA_ARGS__)

/* ---- the handle (client.c), shared with the cache and resume (client_cache.c) ---- */

#define CS_CLIENT_COOKIE_MAX 512
#define CS_CLIENT_PIN_PREFIX "sha256/" "/" /* libcurl's pin prefix, split so lint sees no comment */

struct cs_attester;
struct cs_httpc_conn;
struct cs_cache_key_provider;

struct custos_client {
    pthread_mutex_t mu; /* everything below */
    char *url;          /* without a trailing '/' */
    const char *path0;  /* the path part of url ("" or "/prefix"), inside url */
    char *cacert;
    char pin[sizeof CS_CLIENT_PIN_PREFIX + 48];
    bool has_pin;
    char *vkey;
    char *origin;
    char *state_file;
    char *identity_opt;
    char *state_key_opt;
    struct cs_attester *attester;
    struct cs_httpc_conn *conn;
    struct cs_memory mem;

    /* the session: one attestation */
    bool has_session;
    char cookie[CS_CLIENT_COOKIE_MAX];
    char nonce[CS_KBS_NONCE_MAX + 1];
    json_t *priv; /* the TEE private JWK */
    uint64_t counter;
    char *token;
    char identity[CS_STATE_IDENTITY_MAX + 1];
    uint8_t state_key[CS_AEAD_KEY_LEN];
    bool has_state_key;
    long last_status; /* of the last HTTP answer: 401 means the session is gone */

    /* the sealed cache (client_cache.c): when is_offline, credentials and state come
       from cache (the opened payload) and local writes are sealed again to cache_path */
    bool is_offline;
    json_t *cache;
    char *cache_path;
    struct cs_cache_key_provider *cache_prov;
};

/* A copy of what a verified state read served, for the cache (cs_client_state_copy_clear). */
struct cs_state_copy {
    uint8_t *ciphertext; /* cs_alloc'd */
    size_t ciphertext_len;
    uint64_t log_index;
    char *checkpoint; /* cs_alloc'd, NUL-terminated */
};
void cs_client_state_copy_clear(struct cs_state_copy *k);

/* Called with c->mu held. */
void cs_client_session_end(struct custos_client *c);
cs_res cs_client_attest_locked(struct custos_client *c, struct custos_diag *diag);
bool cs_client_resource_name_ok(const char *name);
cs_res cs_client_resource_locked(struct custos_client *c, const char *name,
                                 struct custos_diag *diag, uint8_t **secret, size_t *len);
/* The state key's resource name (opts.state_key or default/<identity>/state-key). */
cs_res cs_client_state_key_name(const struct custos_client *c, char *name, size_t cap,
                                struct custos_diag *diag);
cs_res cs_client_state_key(struct custos_client *c, struct custos_diag *diag);
cs_res cs_client_put_locked(struct custos_client *c, const char *object, const uint8_t *pt,
                            size_t len, uint64_t expected, struct custos_diag *diag,
                            uint64_t *out);
/* A verified read; keep (or NULL) receives the ciphertext, log index and checkpoint. */
cs_res cs_client_get_locked(struct custos_client *c, const char *object, struct custos_diag *diag,
                            uint8_t **pt, size_t *len, uint64_t *version,
                            struct cs_state_copy *keep);

/* Offline (client_cache.c), c->mu held, c->is_offline. */
cs_res cs_client_cache_resource(struct custos_client *c, const char *name,
                                struct custos_diag *diag, uint8_t **secret, size_t *len);
cs_res cs_client_cache_state_get(struct custos_client *c, const char *object,
                                 struct custos_diag *diag, uint8_t **pt, size_t *len,
                                 uint64_t *version);
cs_res cs_client_cache_state_put(struct custos_client *c, const char *object, const uint8_t *pt,
                                 size_t len, uint64_t expected, struct custos_diag *diag,
                                 uint64_t *out);
/* Forgets the cache (payload, provider, path). */
void cs_client_cache_drop(struct custos_client *c);

#endif
