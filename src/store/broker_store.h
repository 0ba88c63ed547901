/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's storage: sessions, resources (secrets, as envelopes), versioned policies,
 * reference values and an archive of evidence and collateral. An ops table with one
 * implementation per engine: SQLite now (broker_sqlite.c), PostgreSQL later; both must
 * pass tests/unit/test_broker_store.c, which sees only this interface.
 *
 * Rules every backend keeps:
 * - Thread safe: every op may be called from many threads at once.
 * - Nothing secret in clear: sessions are keyed by SHA-256 of the session id (the cookie
 *   is a bearer secret and is never stored); resource blobs are envelopes
 *   (crypto/cs_envelope.h) the store cannot open.
 * - Every input is bounded (the *_MAX below): CS_E_TOO_LARGE over a ceiling, CS_E_ARG for
 *   a malformed argument; a rejected call changes nothing.
 * - CS_E_NOT_FOUND: no such object (or it expired); CS_E_CONFLICT: it already exists, a
 *   version is stale, or a single-use value was already used; CS_E_STORE: the engine
 *   failed (I/O, busy beyond the timeout, corrupt file).
 * - Outputs are defined on every path: pointers NULL and counts 0 on failure.
 * - Callbacks run with no engine lock or connection held, so they may call the store.
 *   A callback's failure stops the listing and is returned as is.
 */
#ifndef CS_STORE_BROKER_STORE_H
#define CS_STORE_BROKER_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "core/cs_result.h"

/* Ceilings of every input (bytes unless said otherwise). */
#define CS_BSTORE_NAME_MAX 256              /* resource name "repo/type/tag" */
#define CS_BSTORE_BLOB_MAX (1024u * 1024u)  /* resource blob (an envelope) */
#define CS_BSTORE_POLICY_MAX (1024u * 1024u)
#define CS_BSTORE_REFVAL_SET_MAX 128        /* reference value set name */
#define CS_BSTORE_REFVAL_MAX 1024           /* one reference value */
#define CS_BSTORE_SOURCE_MAX 256            /* where a reference value came from */
#define CS_BSTORE_KIND_MAX 32               /* archive kind, "evidence", "collateral" */
#define CS_BSTORE_ARCHIVE_MAX (4u * 1024u * 1024u)
#define CS_BSTORE_PUBKEY_MAX (16u * 1024u)  /* a session's TEE public key (JWK text) */
#define CS_BSTORE_INPUT_MAX (256u * 1024u)  /* a session's policy input (JSON text) */
#define CS_BSTORE_IDENTITIES_MAX (64u * 1024u)
#define CS_BSTORE_LIST_MAX 100000           /* most sessions one session_list returns */

#define CS_BSTORE_ID_HASH_LEN 32
#define CS_BSTORE_TEE_CAP 16   /* bytes of cs_session.tee, NUL included */
#define CS_BSTORE_NONCE_CAP 64 /* bytes of cs_session.nonce, NUL included */
#define CS_BSTORE_SHA256_LEN 32

enum cs_session_state { CS_SESSION_CHALLENGED = 1, CS_SESSION_ATTESTED = 2 };

/*
 * One session. Caller-owned storage: the heap members belong to the struct and are freed
 * by cs_session_clear, which also resets it (zeroes, attest_index -1); clearing twice is
 * fine.
 */
struct cs_session {
    uint8_t id_hash[CS_BSTORE_ID_HASH_LEN]; /* SHA-256 of the session id */
    char tee[CS_BSTORE_TEE_CAP];            /* "tdx", "snp", ...: printable, NUL-terminated */
    char nonce[CS_BSTORE_NONCE_CAP];        /* base64 of 32 random bytes, as sent */
    int64_t created, expires;               /* unix seconds; expired when now >= expires */
    enum cs_session_state state;
    /* set when attested (NULL / empty / -1 / 0 before): */
    char *tee_pubkey;  /* JWK JSON text */
    char *input;       /* the policy evaluation input JSON text (claims etc.) */
    char *identities;  /* JSON array text of admitted identities */
    char evidence_sha256[65]; /* lower-case hex, or "" */
    int64_t attest_index;     /* audit log index of the attestation record, -1 none */
    int64_t policy_version;   /* 0 none */
};

static inline void cs_session_clear(struct cs_session *s)
{
    if (s == NULL) {
        return;
    }
    cs_free(s->tee_pubkey);
    cs_free(s->input);
    cs_free(s->identities);
    *s = (struct cs_session){ .attest_index = -1 };
}

/* What session_attest records: borrowed NUL-terminated texts. */
struct cs_session_attestation {
    const char *tee_pubkey;      /* non-empty, < CS_BSTORE_PUBKEY_MAX */
    const char *input;           /* non-empty, < CS_BSTORE_INPUT_MAX */
    const char *identities;      /* non-empty, < CS_BSTORE_IDENTITIES_MAX */
    const char *evidence_sha256; /* 64 lower-case hex digits */
    int64_t attest_index;        /* >= -1 */
    int64_t policy_version;      /* >= 0 */
    int64_t expires;             /* new expiry (> now), or 0 to keep the current one */
};

/* A session as the admin listing shows it: no nonce, key, input or identities. */
struct cs_session_summary {
    uint8_t id_hash[CS_BSTORE_ID_HASH_LEN];
    char tee[CS_BSTORE_TEE_CAP];
    int64_t created, expires;
    enum cs_session_state state;
    char evidence_sha256[65];
    int64_t attest_index;
    int64_t policy_version;
};

typedef cs_res (*cs_bstore_session_cb)(void *arg, const struct cs_session_summary *s);
typedef cs_res (*cs_bstore_resource_cb)(void *arg, const char *name, int64_t version);

struct cs_bstore;

struct cs_bstore_ops {
    const char *name; /* "sqlite", "postgresql" */

    /* ---- sessions ---- */
    /*
     * Inserts s, which must be CHALLENGED, with tee_pubkey, input and identities NULL,
     * evidence_sha256 empty, tee and nonce printable ASCII of 1+ bytes, and created <=
     * expires (CS_E_ARG otherwise); attest_index and policy_version are not read (stored
     * as -1 and 0). CS_E_CONFLICT if the id exists.
     */
    CS_RESULT (*session_create)(struct cs_bstore *st, const struct cs_session *s);
    /*
     * The session with this id hash, unless missing or expired at now (CS_E_NOT_FOUND).
     * *out is overwritten, not cleared, at entry: pass a fresh or cleared struct (id_hash
     * may point to out->id_hash). On CS_OK the caller owns its heap members
     * (cs_session_clear); on failure it holds none.
     */
    CS_RESULT (*session_get)(struct cs_bstore *st, const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                             int64_t now, struct cs_session *out);
    /*
     * The single-use step: in one transaction, checks that the session exists and is
     * unexpired at now (else CS_E_NOT_FOUND), is CHALLENGED (else CS_E_CONFLICT) and that
     * its nonce equals nonce, compared in constant time (else CS_E_BINDING), then records
     * a and moves it to ATTESTED. Of several concurrent calls for one session at most one
     * succeeds. A failed call changes nothing.
     */
    CS_RESULT (*session_attest)(struct cs_bstore *st,
                                const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN], const char *nonce,
                                int64_t now, const struct cs_session_attestation *a);
    /*
     * Records the audit-log index of the attestation of an ATTESTED session that was
     * attested with attest_index -1 (the broker consumes the nonce first, then logs the
     * admission). CS_E_CONFLICT when the session is not in that state.
     */
    CS_RESULT (*session_set_index)(struct cs_bstore *st,
                                   const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN], int64_t index);
    /*
     * Accepts a proof-of-possession counter for an ATTESTED, unexpired session: it must be
     * greater than every counter accepted before (CS_E_CONFLICT otherwise: a replay).
     */
    CS_RESULT (*session_pop)(struct cs_bstore *st, const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                             int64_t counter, int64_t now);
    /* ---- attested state (docs/state.md): ciphertext only ---- */
    /* The current version of object: blob (cs_blob_clear), version, its audit log index. */
    CS_RESULT (*state_get)(struct cs_bstore *st, const char *object, struct cs_blob *out,
                           int64_t *version, int64_t *log_index);
    /*
     * Compare-and-swap: stores blob as version expected + 1 when the current version is
     * expected (0: the object must not exist), with the log index of its record.
     * CS_E_CONFLICT when another version is current; nothing changes then.
     */
    CS_RESULT (*state_put)(struct cs_bstore *st, const char *object, int64_t expected,
                           const uint8_t *blob, size_t len, int64_t log_index);
    /* Removes the session (expired or not). CS_E_NOT_FOUND if absent. */
    CS_RESULT (*session_delete)(struct cs_bstore *st,
                                const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN]);
    /*
     * Calls cb for at most limit (1..CS_BSTORE_LIST_MAX) sessions unexpired at now, in
     * id_hash order.
     */
    CS_RESULT (*session_list)(struct cs_bstore *st, int64_t now, size_t limit,
                              cs_bstore_session_cb cb, void *arg);
    /* Removes every session expired at now; *n_removed = how many (may be NULL). */
    CS_RESULT (*session_expire)(struct cs_bstore *st, int64_t now, uint64_t *n_removed);

    /* ---- resources: name "repo/type/tag", each part 1+ printable ASCII bytes but '/' ---- */
    /*
     * Stores blob (1..CS_BSTORE_BLOB_MAX bytes) as the next version of name. Versions start
     * at 1 and increase by one per put, never reused, also across a delete. In: *version
     * is 0 (store the next version, whatever it is) or the exact version the blob was
     * sealed for, which must be the next one (CS_E_CONFLICT otherwise: another writer
     * came first; read resource_version and seal again). Out: the stored version.
     */
    CS_RESULT (*resource_put)(struct cs_bstore *st, const char *name, const uint8_t *blob,
                              size_t len, int64_t *version);
    /* The current blob (*out: cs_blob_clear) and version. CS_E_NOT_FOUND if absent/deleted. */
    CS_RESULT (*resource_get)(struct cs_bstore *st, const char *name, struct cs_blob *out,
                              int64_t *version);
    /* The last version name ever had (deleted included), 0 if never: put seals version + 1. */
    CS_RESULT (*resource_version)(struct cs_bstore *st, const char *name, int64_t *version);
    /* Deletes the blob (the version counter stays). CS_E_NOT_FOUND if absent. */
    CS_RESULT (*resource_delete)(struct cs_bstore *st, const char *name);
    /* Calls cb with the name and version of every present resource, in name order. */
    CS_RESULT (*resource_list)(struct cs_bstore *st, cs_bstore_resource_cb cb, void *arg);

    /* ---- policies: versioned from 1, never overwritten ---- */
    /*
     * Appends bytes (1..CS_BSTORE_POLICY_MAX) with its SHA-256 (computed by the caller;
     * the store keeps it, it does not hash) as the new current version (*version).
     */
    CS_RESULT (*policy_put)(struct cs_bstore *st, const uint8_t *bytes, size_t len,
                            const uint8_t sha256[CS_BSTORE_SHA256_LEN], int64_t *version);
    /*
     * The highest version: bytes (*out: cs_blob_clear), version, and its SHA-256 (sha256
     * may be NULL). CS_E_NOT_FOUND when no policy was ever put.
     */
    CS_RESULT (*policy_current)(struct cs_bstore *st, struct cs_blob *out, int64_t *version,
                                uint8_t sha256[CS_BSTORE_SHA256_LEN]);
    /* One version (>= 1). CS_E_NOT_FOUND if there is no such version. */
    CS_RESULT (*policy_get)(struct cs_bstore *st, int64_t version, struct cs_blob *out,
                            uint8_t sha256[CS_BSTORE_SHA256_LEN]);

    /* ---- reference values ---- */
    /*
     * Adds value to set, noting its source. Idempotent: adding a present value again is
     * CS_OK and keeps the first source. Set names: 1..CS_BSTORE_REFVAL_SET_MAX bytes of
     * [A-Za-z0-9._:/-]; values: 1..CS_BSTORE_REFVAL_MAX bytes of UTF-8 without NUL;
     * source: 0..CS_BSTORE_SOURCE_MAX bytes of UTF-8.
     */
    CS_RESULT (*refval_add)(struct cs_bstore *st, const char *set, const char *value,
                            const char *source);
    /* CS_E_NOT_FOUND if the value is not in the set. */
    CS_RESULT (*refval_remove)(struct cs_bstore *st, const char *set, const char *value);
    /* {"set": ["value", ...], ...}: sets and values sorted by bytes. *out: a new reference. */
    CS_RESULT (*refvals_json)(struct cs_bstore *st, json_t **out);

    /* ---- archive: content-addressed, for re-verification later ---- */
    /*
     * Keeps bytes (1..CS_BSTORE_ARCHIVE_MAX) under (kind, sha256); kind is 1..
     * CS_BSTORE_KIND_MAX bytes of [a-z0-9_-]. Idempotent for the same bytes; other bytes
     * under a present key: CS_E_CONFLICT. The caller computes sha256 (the store does not hash).
     */
    CS_RESULT (*archive_put)(struct cs_bstore *st, const char *kind,
                             const uint8_t sha256[CS_BSTORE_SHA256_LEN], const uint8_t *bytes,
                             size_t len);
    /* *out: cs_blob_clear. CS_E_NOT_FOUND if absent. */
    CS_RESULT (*archive_get)(struct cs_bstore *st, const char *kind,
                             const uint8_t sha256[CS_BSTORE_SHA256_LEN], struct cs_blob *out);

    /* Closes and frees st; nothing else may be running on it. */
    void (*close)(struct cs_bstore *st);
};

/* A backend's handle starts with this struct; the ops table knows the rest. */
struct cs_bstore {
    const struct cs_bstore_ops *ops;
};

/* ---- backends ---- */

struct cs_bstore_sqlite_opts {
    unsigned n_conns; /* connections in the pool, 1..64; 0 = the default (4) */
};

/*
 * Opens (creating when absent) the SQLite database at path, whose directory must exist.
 * New files (database, WAL, shared memory) get mode 0600; an existing database file that
 * is a symbolic link, not owned by the effective uid, or group/world accessible is
 * refused (CS_E_UNSUPPORTED). The schema is created or migrated (PRAGMA user_version); a
 * database of a newer schema than this build knows is refused (CS_E_UNSUPPORTED), a file
 * that is not a custos broker database CS_E_FORMAT. On CS_OK *out is the caller's
 * (cs_bstore_close).
 */
CS_RESULT cs_bstore_sqlite_open(const char *path, struct cs_bstore **out);
CS_RESULT cs_bstore_sqlite_open_with(const char *path, const struct cs_bstore_sqlite_opts *opts,
                                     struct cs_bstore **out);

/* The newest schema version this build writes (PRAGMA user_version). */
#define CS_BSTORE_SQLITE_SCHEMA 2

/* ---- wrappers ---- */

static inline void cs_bstore_close(struct cs_bstore *st)
{
    if (st != NULL) {
        st->ops->close(st);
    }
}

static inline CS_RESULT cs_bstore_session_create(struct cs_bstore *st, const struct cs_session *s)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_create(st, s);
}

static inline CS_RESULT cs_bstore_session_get(struct cs_bstore *st,
                                              const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                                              int64_t now, struct cs_session *out)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_get(st, id_hash, now, out);
}

static inline CS_RESULT cs_bstore_session_attest(struct cs_bstore *st,
                                                 const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                                                 const char *nonce, int64_t now,
                                                 const struct cs_session_attestation *a)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_attest(st, id_hash, nonce, now, a);
}

static inline CS_RESULT cs_bstore_session_set_index(struct cs_bstore *st,
                                                    const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                                                    int64_t index)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_set_index(st, id_hash, index);
}

static inline CS_RESULT cs_bstore_session_pop(struct cs_bstore *st,
                                              const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                                              int64_t counter, int64_t now)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_pop(st, id_hash, counter, now);
}

static inline CS_RESULT cs_bstore_state_get(struct cs_bstore *st, const char *object,
                                            struct cs_blob *out, int64_t *version,
                                            int64_t *log_index)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->state_get(st, object, out, version, log_index);
}

static inline CS_RESULT cs_bstore_state_put(struct cs_bstore *st, const char *object,
                                            int64_t expected, const uint8_t *blob, size_t len,
                                            int64_t log_index)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->state_put(st, object, expected, blob, len, log_index);
}

static inline CS_RESULT cs_bstore_session_delete(struct cs_bstore *st,
                                                 const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN])
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_delete(st, id_hash);
}

static inline CS_RESULT cs_bstore_session_list(struct cs_bstore *st, int64_t now, size_t limit,
                                               cs_bstore_session_cb cb, void *arg)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_list(st, now, limit, cb, arg);
}

static inline CS_RESULT cs_bstore_session_expire(struct cs_bstore *st, int64_t now,
                                                 uint64_t *n_removed)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->session_expire(st, now, n_removed);
}

static inline CS_RESULT cs_bstore_resource_put(struct cs_bstore *st, const char *name,
                                               const uint8_t *blob, size_t len, int64_t *version)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->resource_put(st, name, blob, len, version);
}

static inline CS_RESULT cs_bstore_resource_get(struct cs_bstore *st, const char *name,
                                               struct cs_blob *out, int64_t *version)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->resource_get(st, name, out, version);
}

static inline CS_RESULT cs_bstore_resource_version(struct cs_bstore *st, const char *name,
                                                   int64_t *version)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->resource_version(st, name, version);
}

static inline CS_RESULT cs_bstore_resource_delete(struct cs_bstore *st, const char *name)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->resource_delete(st, name);
}

static inline CS_RESULT cs_bstore_resource_list(struct cs_bstore *st, cs_bstore_resource_cb cb,
                                                void *arg)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->resource_list(st, cb, arg);
}

static inline CS_RESULT cs_bstore_policy_put(struct cs_bstore *st, const uint8_t *bytes,
                                             size_t len,
                                             const uint8_t sha256[CS_BSTORE_SHA256_LEN],
                                             int64_t *version)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->policy_put(st, bytes, len, sha256, version);
}

static inline CS_RESULT cs_bstore_policy_current(struct cs_bstore *st, struct cs_blob *out,
                                                 int64_t *version,
                                                 uint8_t sha256[CS_BSTORE_SHA256_LEN])
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->policy_current(st, out, version, sha256);
}

static inline CS_RESULT cs_bstore_policy_get(struct cs_bstore *st, int64_t version,
                                             struct cs_blob *out,
                                             uint8_t sha256[CS_BSTORE_SHA256_LEN])
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->policy_get(st, version, out, sha256);
}

static inline CS_RESULT cs_bstore_refval_add(struct cs_bstore *st, const char *set,
                                             const char *value, const char *source)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->refval_add(st, set, value, source);
}

static inline CS_RESULT cs_bstore_refval_remove(struct cs_bstore *st, const char *set,
                                                const char *value)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->refval_remove(st, set, value);
}

static inline CS_RESULT cs_bstore_refvals_json(struct cs_bstore *st, json_t **out)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->refvals_json(st, out);
}

static inline CS_RESULT cs_bstore_archive_put(struct cs_bstore *st, const char *kind,
                                              const uint8_t sha256[CS_BSTORE_SHA256_LEN],
                                              const uint8_t *bytes, size_t len)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->archive_put(st, kind, sha256, bytes, len);
}

static inline CS_RESULT cs_bstore_archive_get(struct cs_bstore *st, const char *kind,
                                              const uint8_t sha256[CS_BSTORE_SHA256_LEN],
                                              struct cs_blob *out)
{
    CS_ENSURE(st != NULL, CS_E_ARG);
    return st->ops->archive_get(st, kind, sha256, out);
}

#endif
