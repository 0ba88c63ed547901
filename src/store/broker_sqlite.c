/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's store on SQLite (the contract is in broker_store.h; the why in
 * docs/storage.md).
 *
 * Concurrency: a small pool of connections (SQLite's multi-thread mode: one thread per
 * connection at a time), WAL so that readers never wait for the writer, and an in-process
 * writer mutex so that this process's writers queue on a mutex instead of sleeping in
 * SQLite's busy handler; busy_timeout covers writers of other processes. The writer mutex
 * is always taken before a connection, never after, so writers cannot deadlock on the pool.
 *
 * Durability: resources, policies and reference values (what an operator writes) are on
 * disk when the call returns (synchronous=FULL: the WAL is fsynced at each commit).
 * Sessions and the archive (one or more writes per client request) use synchronous=NORMAL:
 * a commit survives a crash of the process at once (it is in the OS's page cache), and a
 * power failure or kernel crash only from the next WAL sync (the next FULL commit or
 * checkpoint). A session lost that way makes its client authenticate again; one that
 * falls back from ATTESTED to CHALLENGED can only be attested again by the holder of its
 * cookie. One fsync per round trip would cap the broker at the disk's fsync rate
 * (measured in docs/storage.md).
 *
 * SQL: every statement is prepared once per connection with bound parameters; the only
 * sqlite3_exec calls take string literals (pragmas, migrations, transactions).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "store/broker_store.h"

#define APPLICATION_ID 1668510818 /* "cstb" big-endian: a custos broker database */
#define BUSY_TIMEOUT_MS 10000
#define DEFAULT_CONNS 4
#define MAX_CONNS 64
#define LIST_CHUNK 128 /* rows fetched per connection lease while listing */
#define PATH_MAX_LEN 4096

enum stmt {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SES_INSERT,
    S_SES_GET,
    S_SES_ATT_READ,
    S_SES_ATT_WRITE,
    S_SES_DELETE,
    S_SES_SET_INDEX,
    S_SES_LIST,
    S_SES_EXPIRE,
    S_RES_VERSION,
    S_RES_UPSERT,
    S_RES_GET,
    S_STATE_GET,
    S_STATE_INSERT,
    S_STATE_UPDATE,
    S_SES_POP,
    S_RES_DELETE,
    S_RES_LIST,
    S_POL_INSERT,
    S_POL_CURRENT,
    S_POL_GET,
    S_RV_ADD,
    S_RV_REMOVE,
    S_RV_ALL,
    S_AR_PUT,
    S_AR_GET,
    S__COUNT
};

static const char *const sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SES_INSERT] = "INSERT INTO sessions (id_hash, tee, nonce, created, expires, state)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, 1)",
    [S_SES_GET] = "SELECT tee, nonce, created, expires, state, tee_pubkey, input, identities,"
                  " evidence_sha256, attest_index, policy_version"
                  " FROM sessions WHERE id_hash = ?1 AND expires > ?2",
    [S_SES_ATT_READ] = "SELECT nonce, state, expires FROM sessions WHERE id_hash = ?1",
    [S_SES_ATT_WRITE] = "UPDATE sessions SET state = 2, tee_pubkey = ?2, input = ?3,"
                        " identities = ?4, evidence_sha256 = ?5, attest_index = ?6,"
                        " policy_version = ?7, expires = ?8"
                        " WHERE id_hash = ?1 AND state = 1",
    [S_SES_DELETE] = "DELETE FROM sessions WHERE id_hash = ?1",
    [S_STATE_GET] = "SELECT version, blob, log_index FROM state WHERE object = ?1",
    [S_STATE_INSERT] = "INSERT INTO state (object, version, blob, log_index)"
                       " VALUES (?1, 1, ?2, ?3) ON CONFLICT (object) DO NOTHING",
    [S_STATE_UPDATE] = "UPDATE state SET version = version + 1, blob = ?3, log_index = ?4"
                       " WHERE object = ?1 AND version = ?2",
    [S_SES_POP] = "UPDATE sessions SET pop_counter = ?2"
                  " WHERE id_hash = ?1 AND state = 2 AND pop_counter < ?2 AND expires > ?3",
    [S_SES_SET_INDEX] = "UPDATE sessions SET attest_index = ?2"
                        " WHERE id_hash = ?1 AND state = 2 AND attest_index = -1",
    [S_SES_LIST] = "SELECT id_hash, tee, created, expires, state, evidence_sha256,"
                   " attest_index, policy_version FROM sessions"
                   " WHERE expires > ?1 AND id_hash > ?2 ORDER BY id_hash LIMIT ?3",
    [S_SES_EXPIRE] = "DELETE FROM sessions WHERE expires <= ?1",
    [S_RES_VERSION] = "SELECT version FROM resources WHERE name = ?1",
    [S_RES_UPSERT] = "INSERT INTO resources (name, version, blob) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (name) DO UPDATE SET version = excluded.version,"
                     " blob = excluded.blob",
    [S_RES_GET] = "SELECT version, blob FROM resources WHERE name = ?1 AND blob IS NOT NULL",
    [S_RES_DELETE] = "UPDATE resources SET blob = NULL WHERE name = ?1 AND blob IS NOT NULL",
    [S_RES_LIST] = "SELECT name, version FROM resources WHERE blob IS NOT NULL AND name > ?1"
                   " ORDER BY name LIMIT ?2",
    [S_POL_INSERT] = "INSERT INTO policies (version, sha256, bytes)"
                     " SELECT coalesce(max(version), 0) + 1, ?1, ?2 FROM policies"
                     " RETURNING version",
    [S_POL_CURRENT] = "SELECT version, sha256, bytes FROM policies ORDER BY version DESC LIMIT 1",
    [S_POL_GET] = "SELECT version, sha256, bytes FROM policies WHERE version = ?1",
    [S_RV_ADD] = "INSERT INTO refvals (set_name, value, source) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT DO NOTHING",
    [S_RV_REMOVE] = "DELETE FROM refvals WHERE set_name = ?1 AND value = ?2",
    [S_RV_ALL] = "SELECT set_name, value FROM refvals ORDER BY set_name, value",
    [S_AR_PUT] = "INSERT INTO archive (kind, sha256, bytes) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT DO NOTHING",
    [S_AR_GET] = "SELECT bytes FROM archive WHERE kind = ?1 AND sha256 = ?2",
};

/*
 * Numbered migrations: migrations[i] brings the schema from user_version i to i + 1 and
 * ends by setting it, inside the one transaction that migrate() opens.
 */
static const char *const migrations[] = {
    "PRAGMA application_id = 1668510818;"
    "CREATE TABLE sessions ("
    " id_hash BLOB NOT NULL UNIQUE CHECK (length(id_hash) = 32),"
    " tee TEXT NOT NULL, nonce TEXT NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " state INTEGER NOT NULL CHECK (state IN (1, 2)),"
    " tee_pubkey TEXT, input TEXT, identities TEXT,"
    " evidence_sha256 TEXT NOT NULL DEFAULT '',"
    " attest_index INTEGER NOT NULL DEFAULT -1,"
    " policy_version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_by_expiry ON sessions (expires);"
    "CREATE TABLE resources (name TEXT NOT NULL UNIQUE,"
    " version INTEGER NOT NULL CHECK (version >= 1), blob BLOB);"
    "CREATE TABLE policies (version INTEGER PRIMARY KEY CHECK (version >= 1),"
    " sha256 BLOB NOT NULL CHECK (length(sha256) = 32), bytes BLOB NOT NULL);"
    "CREATE TRIGGER policies_no_update BEFORE UPDATE ON policies"
    " BEGIN SELECT raise(ABORT, 'policies are never overwritten'); END;"
    "CREATE TRIGGER policies_no_delete BEFORE DELETE ON policies"
    " BEGIN SELECT raise(ABORT, 'policies are never deleted'); END;"
    "CREATE TABLE refvals (set_name TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL,"
    " UNIQUE (set_name, value));"
    "CREATE TABLE archive (kind TEXT NOT NULL,"
    " sha256 BLOB NOT NULL CHECK (length(sha256) = 32), bytes BLOB NOT NULL,"
    " UNIQUE (kind, sha256));"
    "CREATE TRIGGER archive_no_update BEFORE UPDATE ON archive"
    " BEGIN SELECT raise(ABORT, 'archived bytes are never overwritten'); END;"
    "PRAGMA user_version = 1;",
    /* 2: attested state write-back (docs/state.md) and proof-of-possession counters */
    "CREATE TABLE state (object TEXT NOT NULL UNIQUE, version INTEGER NOT NULL"
    " CHECK (version >= 1), blob BLOB NOT NULL, log_index INTEGER NOT NULL);"
    "ALTER TABLE sessions ADD COLUMN pop_counter INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == CS_BSTORE_SQLITE_SCHEMA,
               "one migration per schema version");

enum sync_level { SYNC_UNSET, SYNC_NORMAL, SYNC_FULL };

struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[S__COUNT];
    enum sync_level sync; /* what PRAGMA synchronous is set to on db */
    bool is_busy;         /* leased; guarded by bsq.mu */
};

struct bsq {
    struct cs_bstore base; /* first: callers hold &base */
    pthread_mutex_t mu;    /* guards conns[].is_busy */
    pthread_cond_t cv;     /* signalled when a connection is returned */
    pthread_mutex_t write_mu; /* one writer at a time in this process; taken before mu */
    size_t n_conns;
    struct conn *conns;
};

static struct bsq *bsq_of(struct cs_bstore *st)
{
    return (struct bsq *)st; /* base is the first member */
}

/* ---- connection leases ---- */

struct lease {
    struct bsq *b;
    struct conn *c;
    bool has_write_mu;
};

static void conn_release(struct bsq *b, struct conn *c)
{
    pthread_mutex_lock(&b->mu);
    c->is_busy = false;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static struct conn *conn_acquire(struct bsq *b)
{
    pthread_mutex_lock(&b->mu);
    for (;;) {
        for (size_t i = 0; i < b->n_conns; i++) {
            if (!b->conns[i].is_busy) {
                b->conns[i].is_busy = true;
                pthread_mutex_unlock(&b->mu);
                return &b->conns[i];
            }
        }
        pthread_cond_wait(&b->cv, &b->mu);
    }
}

/* Cleanup of a lease: undoes an open transaction, returns the connection, drops the lock. */
static void lease_end(struct lease *l)
{
    if (l->c != NULL) {
        if (sqlite3_get_autocommit(l->c->db) == 0) {
            sqlite3_stmt *rb = l->c->st[S_ROLLBACK];
            (void)sqlite3_step(rb);
            sqlite3_reset(rb);
        }
        conn_release(l->b, l->c);
    }
    if (l->has_write_mu) {
        pthread_mutex_unlock(&l->b->write_mu);
    }
    *l = (struct lease){ 0 };
}

static void stmt_resetp(sqlite3_stmt **p)
{
    if (*p != NULL) {
        sqlite3_reset(*p);
        sqlite3_clear_bindings(*p); /* no pointer to a caller's buffer outlives the call */
    }
}

/* Runs a prepared statement that returns no row. */
static cs_res exec_stmt(struct conn *c, enum stmt which)
{
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = c->st[which];
    CS_ENSURE(sqlite3_step(st) == SQLITE_DONE, CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res set_sync(struct conn *c, enum sync_level want)
{
    if (c->sync == want) {
        return CS_SUCCESS;
    }
    const char *pragma = want == SYNC_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    CS_ENSURE(sqlite3_exec(c->db, pragma, NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    c->sync = want;
    return CS_SUCCESS;
}

static cs_res lease_read(struct bsq *b, struct lease *l)
{
    *l = (struct lease){ .b = b };
    l->c = conn_acquire(b);
    return CS_SUCCESS;
}

/* A writer's lease; with is_tx, inside BEGIN IMMEDIATE (the write lock taken up front). */
static cs_res lease_write(struct bsq *b, enum sync_level sync, bool is_tx, struct lease *l)
{
    *l = (struct lease){ .b = b };
    pthread_mutex_lock(&b->write_mu);
    l->has_write_mu = true;
    l->c = conn_acquire(b);
    CS_TRY(set_sync(l->c, sync));
    if (is_tx) {
        CS_TRY(exec_stmt(l->c, S_BEGIN));
    }
    return CS_SUCCESS;
}

static cs_res lease_commit(struct lease *l)
{
    return exec_stmt(l->c, S_COMMIT);
}

/* ---- binding, stepping, reading ---- */

static cs_res bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    CS_ENSURE(n <= INT32_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(sqlite3_bind_blob(st, i, n == 0 ? "" : p, (int)n, SQLITE_STATIC) == SQLITE_OK,
              CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res bind_text(sqlite3_stmt *st, int i, const char *s, size_t n)
{
    CS_ENSURE(n <= INT32_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC) == SQLITE_OK, CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    CS_ENSURE(sqlite3_bind_int64(st, i, (sqlite3_int64)v) == SQLITE_OK, CS_E_STORE);
    return CS_SUCCESS;
}

/* Steps a statement that returns no row; a constraint violation is CS_E_CONFLICT. */
static cs_res step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    CS_ENSURE((rc & 0xff) != SQLITE_CONSTRAINT, CS_E_CONFLICT); /* extended codes are on */
    CS_ENSURE(rc == SQLITE_DONE, CS_E_STORE);
    return CS_SUCCESS;
}

/* Steps once: *has_row tells a row from the end. */
static cs_res step_row(sqlite3_stmt *st, bool *has_row)
{
    int rc = sqlite3_step(st);
    *has_row = rc == SQLITE_ROW;
    CS_ENSURE(rc == SQLITE_ROW || rc == SQLITE_DONE, CS_E_STORE);
    return CS_SUCCESS;
}

/* Copies a text column into a fixed array; a value that does not fit means a damaged file. */
static cs_res col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    CS_ENSURE(t != NULL && n >= 0 && (size_t)n < cap, CS_E_STORE);
    memcpy(dst, t, (size_t)n);
    dst[n] = '\0';
    return CS_SUCCESS;
}

/* A heap copy of a text column (NULL for SQL NULL), at most max bytes. */
static cs_res col_strdup(sqlite3_stmt *st, int i, size_t max, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        return CS_SUCCESS;
    }
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    CS_ENSURE(t != NULL && n >= 0 && (size_t)n <= max, CS_E_STORE);
    char *s = NULL;
    CS_TRY(cs_alloc((size_t)n + 1, 1, (void **)&s));
    memcpy(s, t, (size_t)n);
    *out = s;
    return CS_SUCCESS;
}

/* A blob column into a cs_blob (NUL-terminated one past len), at most max bytes. */
static cs_res col_blob(sqlite3_stmt *st, int i, size_t max, struct cs_blob *out)
{
    *out = (struct cs_blob){ 0 };
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    CS_ENSURE(n >= 0 && (size_t)n <= max && (p != NULL || n == 0), CS_E_STORE);
    uint8_t *q = NULL;
    CS_TRY(cs_alloc((size_t)n + 1, 1, (void **)&q));
    if (n > 0) {
        memcpy(q, p, (size_t)n);
    }
    *out = (struct cs_blob){ q, (size_t)n };
    return CS_SUCCESS;
}

static cs_res col_sha256(sqlite3_stmt *st, int i, uint8_t out[CS_BSTORE_SHA256_LEN])
{
    const void *p = sqlite3_column_blob(st, i);
    CS_ENSURE(p != NULL && sqlite3_column_bytes(st, i) == CS_BSTORE_SHA256_LEN, CS_E_STORE);
    memcpy(out, p, CS_BSTORE_SHA256_LEN);
    return CS_SUCCESS;
}

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

/* ---- input checks ---- */

/* Constant-time equality: the nonce decides whether a session may attest. */
static bool ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d = (uint8_t)(d | (a[i] ^ b[i]));
    }
    return d == 0;
}

/* A NUL-terminated string of 1..max bytes; *len its length. */
static cs_res check_str(const char *s, size_t max, size_t *len)
{
    CS_ENSURE(s != NULL, CS_E_ARG);
    size_t n = strnlen(s, max + 1);
    CS_ENSURE(n <= max, CS_E_TOO_LARGE);
    CS_ENSURE(n > 0, CS_E_ARG);
    *len = n;
    return CS_SUCCESS;
}

static bool is_graph(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x21 || ch > 0x7e) {
            return false;
        }
    }
    return true;
}

/* A fixed char array that must hold a NUL-terminated printable string of 1+ bytes. */
static cs_res check_field(const char *f, size_t cap)
{
    const char *nul = memchr(f, '\0', cap);
    CS_ENSURE(nul != NULL && nul != f && is_graph(f, (size_t)(nul - f)), CS_E_ARG);
    return CS_SUCCESS;
}

static bool is_utf8(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n); /* NULL unless s is valid UTF-8 */
    bool is_ok = j != NULL;
    json_decref(j);
    return is_ok;
}

static cs_res check_hex64(const char *s)
{
    CS_ENSURE(s != NULL && strnlen(s, 65) == 64, CS_E_ARG);
    for (size_t i = 0; i < 64; i++) {
        CS_ENSURE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'), CS_E_ARG);
    }
    return CS_SUCCESS;
}

/* "repo/type/tag": three parts of printable ASCII other than '/', none "." or "..". */
static cs_res check_name(const char *name, size_t *len)
{
    CS_TRY(check_str(name, CS_BSTORE_NAME_MAX, len));
    size_t parts = 0;
    size_t start = 0;
    for (size_t i = 0; i <= *len; i++) {
        if (i < *len && name[i] != '/') {
            CS_ENSURE(is_graph(name + i, 1), CS_E_ARG);
            continue;
        }
        size_t n = i - start;
        CS_ENSURE(n > 0, CS_E_ARG);
        CS_ENSURE(!(n == 1 && name[start] == '.') && !(n == 2 && name[start] == '.' &&
                                                          name[start + 1] == '.'),
                  CS_E_ARG);
        parts++;
        start = i + 1;
    }
    CS_ENSURE(parts == 3, CS_E_ARG);
    return CS_SUCCESS;
}

/* A state object name: one segment of 1..128 bytes of [A-Za-z0-9._-], not "." or "..". */
static cs_res check_object(const char *name, size_t *len)
{
    CS_TRY(check_str(name, 128, len));
    CS_ENSURE(*len > 0, CS_E_ARG);
    for (size_t i = 0; i < *len; i++) {
        char c = name[i];
        bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '.' || c == '_' || c == '-';
        CS_ENSURE(is_ok, CS_E_ARG);
    }
    CS_ENSURE(strcmp(name, ".") != 0 && strcmp(name, "..") != 0, CS_E_ARG);
    return CS_SUCCESS;
}

static cs_res check_charset(const char *s, size_t max, const char *extra, size_t *len)
{
    CS_TRY(check_str(s, max, len));
    for (size_t i = 0; i < *len; i++) {
        char ch = s[i];
        bool is_ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                     (ch != '\0' && strchr(extra, ch) != NULL);
        CS_ENSURE(is_ok, CS_E_ARG);
    }
    return CS_SUCCESS;
}

static cs_res check_set(const char *set, size_t *len)
{
    return check_charset(set, CS_BSTORE_REFVAL_SET_MAX,
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ._:/-", len);
}

static cs_res check_kind(const char *kind, size_t *len)
{
    return check_charset(kind, CS_BSTORE_KIND_MAX, "_-", len);
}

static cs_res check_value(const char *value, size_t *len)
{
    CS_TRY(check_str(value, CS_BSTORE_REFVAL_MAX, len));
    CS_ENSURE(is_utf8(value, *len), CS_E_ARG);
    return CS_SUCCESS;
}

/* ---- sessions ---- */

static cs_res sq_session_create(struct cs_bstore *stp, const struct cs_session *s)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(s != NULL, CS_E_ARG);
    CS_ENSURE(s->state == CS_SESSION_CHALLENGED, CS_E_ARG);
    CS_ENSURE(s->tee_pubkey == NULL && s->input == NULL && s->identities == NULL &&
                  s->evidence_sha256[0] == '\0',
              CS_E_ARG);
    CS_TRY(check_field(s->tee, sizeof s->tee));
    CS_TRY(check_field(s->nonce, sizeof s->nonce));
    CS_ENSURE(s->created <= s->expires, CS_E_ARG);

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_INSERT];
    CS_TRY(bind_blob(st, 1, s->id_hash, sizeof s->id_hash));
    CS_TRY(bind_text(st, 2, s->tee, strlen(s->tee)));
    CS_TRY(bind_text(st, 3, s->nonce, strlen(s->nonce)));
    CS_TRY(bind_i64(st, 4, s->created));
    CS_TRY(bind_i64(st, 5, s->expires));
    return step_done(st);
}

static void session_clearp(struct cs_session *s)
{
    cs_session_clear(s);
}

static cs_res sq_session_get(struct cs_bstore *stp, const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                             int64_t now, struct cs_session *out)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL && id_hash != NULL, CS_E_ARG);
    uint8_t id[CS_BSTORE_ID_HASH_LEN]; /* id_hash may point into *out */
    memcpy(id, id_hash, sizeof id);
    *out = (struct cs_session){ .attest_index = -1 };

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_GET];
    CS_TRY(bind_blob(st, 1, id, sizeof id));
    CS_TRY(bind_i64(st, 2, now));
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    CS_ENSURE(has_row, CS_E_NOT_FOUND);

    CS_AUTO(session_clearp) struct cs_session s = { .attest_index = -1 };
    memcpy(s.id_hash, id, sizeof s.id_hash);
    CS_TRY(col_copy(st, 0, s.tee, sizeof s.tee));
    CS_TRY(col_copy(st, 1, s.nonce, sizeof s.nonce));
    s.created = sqlite3_column_int64(st, 2);
    s.expires = sqlite3_column_int64(st, 3);
    int state = sqlite3_column_int(st, 4);
    CS_ENSURE(state == CS_SESSION_CHALLENGED || state == CS_SESSION_ATTESTED, CS_E_STORE);
    s.state = (enum cs_session_state)state;
    CS_TRY(col_strdup(st, 5, CS_BSTORE_PUBKEY_MAX, &s.tee_pubkey));
    CS_TRY(col_strdup(st, 6, CS_BSTORE_INPUT_MAX, &s.input));
    CS_TRY(col_strdup(st, 7, CS_BSTORE_IDENTITIES_MAX, &s.identities));
    CS_TRY(col_copy(st, 8, s.evidence_sha256, sizeof s.evidence_sha256));
    s.attest_index = sqlite3_column_int64(st, 9);
    s.policy_version = sqlite3_column_int64(st, 10);
    *out = s;
    s = (struct cs_session){ 0 }; /* moved: the cleanup now frees nothing */
    return CS_SUCCESS;
}

static cs_res check_attestation(const struct cs_session_attestation *a, int64_t now,
                                 size_t len[3])
{
    CS_ENSURE(a != NULL, CS_E_ARG);
    CS_TRY(check_str(a->tee_pubkey, CS_BSTORE_PUBKEY_MAX, &len[0]));
    CS_TRY(check_str(a->input, CS_BSTORE_INPUT_MAX, &len[1]));
    CS_TRY(check_str(a->identities, CS_BSTORE_IDENTITIES_MAX, &len[2]));
    CS_TRY(check_hex64(a->evidence_sha256));
    CS_ENSURE(a->attest_index >= -1 && a->policy_version >= 0, CS_E_ARG);
    CS_ENSURE(a->expires == 0 || a->expires > now, CS_E_ARG);
    return CS_SUCCESS;
}

static cs_res sq_session_attest(struct cs_bstore *stp,
                                const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN], const char *nonce,
                                int64_t now, const struct cs_session_attestation *a)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(id_hash != NULL && nonce != NULL, CS_E_ARG);
    size_t nonce_len = strnlen(nonce, CS_BSTORE_NONCE_CAP);
    CS_ENSURE(nonce_len > 0 && nonce_len < CS_BSTORE_NONCE_CAP, CS_E_ARG);
    size_t len[3];
    CS_TRY(check_attestation(a, now, len));

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, true, &l));
    {
        CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_ATT_READ];
        CS_TRY(bind_blob(st, 1, id_hash, CS_BSTORE_ID_HASH_LEN));
        bool has_row = false;
        CS_TRY(step_row(st, &has_row));
        CS_ENSURE(has_row && sqlite3_column_int64(st, 2) > now, CS_E_NOT_FOUND);
        /* both nonces zero-padded to the field size, compared in full */
        uint8_t want[CS_BSTORE_NONCE_CAP] = { 0 };
        uint8_t got[sizeof want] = { 0 };
        CS_TRY(col_copy(st, 0, (char *)want, sizeof want));
        memcpy(got, nonce, nonce_len);
        bool is_nonce_ok = ct_eq(want, got, sizeof want);
        CS_ENSURE(sqlite3_column_int(st, 1) == CS_SESSION_CHALLENGED, CS_E_CONFLICT);
        CS_ENSURE(is_nonce_ok, CS_E_BINDING);
        int64_t expires = a->expires != 0 ? a->expires : sqlite3_column_int64(st, 2);
        CS_AUTO(stmt_resetp) sqlite3_stmt *upd = l.c->st[S_SES_ATT_WRITE];
        CS_TRY(bind_blob(upd, 1, id_hash, CS_BSTORE_ID_HASH_LEN));
        CS_TRY(bind_text(upd, 2, a->tee_pubkey, len[0]));
        CS_TRY(bind_text(upd, 3, a->input, len[1]));
        CS_TRY(bind_text(upd, 4, a->identities, len[2]));
        CS_TRY(bind_text(upd, 5, a->evidence_sha256, 64));
        CS_TRY(bind_i64(upd, 6, a->attest_index));
        CS_TRY(bind_i64(upd, 7, a->policy_version));
        CS_TRY(bind_i64(upd, 8, expires));
        CS_TRY(step_done(upd));
        /* the WHERE state = 1 guard again: within the write lock this is always one row */
        CS_ENSURE(sqlite3_changes(l.c->db) == 1, CS_E_CONFLICT);
    }
    return lease_commit(&l);
}

static cs_res sq_session_delete(struct cs_bstore *stp,
                                const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN])
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(id_hash != NULL, CS_E_ARG);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_DELETE];
    CS_TRY(bind_blob(st, 1, id_hash, CS_BSTORE_ID_HASH_LEN));
    CS_TRY(step_done(st));
    CS_ENSURE(sqlite3_changes(l.c->db) > 0, CS_E_NOT_FOUND);
    return CS_SUCCESS;
}

static cs_res sq_session_set_index(struct cs_bstore *stp,
                                   const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN], int64_t index)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(id_hash != NULL && index >= 0, CS_E_ARG);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_SET_INDEX];
    CS_TRY(bind_blob(st, 1, id_hash, CS_BSTORE_ID_HASH_LEN));
    CS_TRY(bind_i64(st, 2, index));
    CS_TRY(step_done(st));
    CS_ENSURE(sqlite3_changes(l.c->db) == 1, CS_E_CONFLICT);
    return CS_SUCCESS;
}

static cs_res sq_session_pop(struct cs_bstore *stp, const uint8_t id_hash[CS_BSTORE_ID_HASH_LEN],
                             int64_t counter, int64_t now)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(id_hash != NULL && counter > 0, CS_E_ARG);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_POP];
    CS_TRY(bind_blob(st, 1, id_hash, CS_BSTORE_ID_HASH_LEN));
    CS_TRY(bind_i64(st, 2, counter));
    CS_TRY(bind_i64(st, 3, now));
    CS_TRY(step_done(st));
    CS_ENSURE(sqlite3_changes(l.c->db) == 1, CS_E_CONFLICT);
    return CS_SUCCESS;
}

/* One page of the session listing: the sessions after `after` (a_len 0: from the start). */
static cs_res session_page(struct bsq *b, int64_t now, const uint8_t *after, size_t a_len,
                           size_t want, struct cs_session_summary *rows, size_t *n)
{
    *n = 0;
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_LIST];
    CS_TRY(bind_i64(st, 1, now));
    CS_TRY(bind_blob(st, 2, after, a_len));
    CS_TRY(bind_i64(st, 3, (int64_t)want));
    for (;;) {
        bool has_row = false;
        CS_TRY(step_row(st, &has_row));
        if (!has_row) {
            break;
        }
        CS_ENSURE(*n < want, CS_E_STORE);
        struct cs_session_summary *r = &rows[*n];
        *r = (struct cs_session_summary){ 0 };
        const void *id = sqlite3_column_blob(st, 0);
        CS_ENSURE(id != NULL && sqlite3_column_bytes(st, 0) == CS_BSTORE_ID_HASH_LEN, CS_E_STORE);
        memcpy(r->id_hash, id, CS_BSTORE_ID_HASH_LEN);
        CS_TRY(col_copy(st, 1, r->tee, sizeof r->tee));
        r->created = sqlite3_column_int64(st, 2);
        r->expires = sqlite3_column_int64(st, 3);
        int state = sqlite3_column_int(st, 4);
        CS_ENSURE(state == CS_SESSION_CHALLENGED || state == CS_SESSION_ATTESTED, CS_E_STORE);
        r->state = (enum cs_session_state)state;
        CS_TRY(col_copy(st, 5, r->evidence_sha256, sizeof r->evidence_sha256));
        r->attest_index = sqlite3_column_int64(st, 6);
        r->policy_version = sqlite3_column_int64(st, 7);
        (*n)++;
    }
    return CS_SUCCESS;
}

static cs_res sq_session_list(struct cs_bstore *stp, int64_t now, size_t limit,
                              cs_bstore_session_cb cb, void *arg)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(cb != NULL, CS_E_ARG);
    CS_ENSURE(limit >= 1 && limit <= CS_BSTORE_LIST_MAX, CS_E_ARG);
    CS_AUTO(cs_freep) struct cs_session_summary *rows = NULL;
    CS_TRY(cs_alloc(LIST_CHUNK, sizeof *rows, (void **)&rows));
    uint8_t after[CS_BSTORE_ID_HASH_LEN] = { 0 };
    size_t a_len = 0; /* the empty blob sorts before every id hash */
    size_t done = 0;
    while (done < limit) {
        size_t want = limit - done < LIST_CHUNK ? limit - done : LIST_CHUNK;
        size_t n = 0;
        CS_TRY(session_page(b, now, after, a_len, want, rows, &n));
        for (size_t i = 0; i < n; i++) {
            CS_TRY(cb(arg, &rows[i])); /* no connection held: cb may use the store */
        }
        done += n;
        if (n < want) {
            break;
        }
        memcpy(after, rows[n - 1].id_hash, sizeof after);
        a_len = sizeof after;
    }
    return CS_SUCCESS;
}

static cs_res sq_session_expire(struct cs_bstore *stp, int64_t now, uint64_t *n_removed)
{
    struct bsq *b = bsq_of(stp);
    if (n_removed != NULL) {
        *n_removed = 0;
    }
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_SES_EXPIRE];
    CS_TRY(bind_i64(st, 1, now));
    CS_TRY(step_done(st));
    if (n_removed != NULL) {
        *n_removed = (uint64_t)sqlite3_changes64(l.c->db);
    }
    return CS_SUCCESS;
}

/* ---- resources ---- */

/* The version counter of name (0 if it never existed), on the leased connection. */
static cs_res resource_counter(struct conn *c, const char *name, size_t name_len, int64_t *v)
{
    *v = 0;
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = c->st[S_RES_VERSION];
    CS_TRY(bind_text(st, 1, name, name_len));
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    if (has_row) {
        *v = sqlite3_column_int64(st, 0);
        CS_ENSURE(*v >= 1, CS_E_STORE);
    }
    return CS_SUCCESS;
}

static cs_res sq_resource_put(struct cs_bstore *stp, const char *name, const uint8_t *blob,
                              size_t len, int64_t *version)
{
    struct bsq *b = bsq_of(stp);
    size_t name_len = 0;
    CS_TRY(check_name(name, &name_len));
    CS_ENSURE(blob != NULL && version != NULL && *version >= 0, CS_E_ARG);
    CS_ENSURE(len <= CS_BSTORE_BLOB_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(len > 0, CS_E_ARG);

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, true, &l));
    int64_t last = 0;
    CS_TRY(resource_counter(l.c, name, name_len, &last));
    CS_ENSURE(last < INT64_MAX, CS_E_STORE);
    int64_t next = last + 1;
    CS_ENSURE(*version == 0 || *version == next, CS_E_CONFLICT);
    {
        CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RES_UPSERT];
        CS_TRY(bind_text(st, 1, name, name_len));
        CS_TRY(bind_i64(st, 2, next));
        CS_TRY(bind_blob(st, 3, blob, len));
        CS_TRY(step_done(st));
    }
    CS_TRY(lease_commit(&l));
    *version = next;
    return CS_SUCCESS;
}

static cs_res sq_state_get(struct cs_bstore *stp, const char *object, struct cs_blob *out,
                           int64_t *version, int64_t *log_index)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL && version != NULL && log_index != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    size_t len = 0;
    CS_TRY(check_object(object, &len));
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_STATE_GET];
    CS_TRY(bind_text(st, 1, object, len));
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    CS_ENSURE(has_row, CS_E_NOT_FOUND);
    *version = sqlite3_column_int64(st, 0);
    *log_index = sqlite3_column_int64(st, 2);
    CS_ENSURE(*version >= 1, CS_E_STORE);
    return col_blob(st, 1, CS_BSTORE_BLOB_MAX, out);
}

static cs_res sq_state_put(struct cs_bstore *stp, const char *object, int64_t expected,
                           const uint8_t *blob, size_t blen, int64_t log_index)
{
    struct bsq *b = bsq_of(stp);
    size_t len = 0;
    CS_TRY(check_object(object, &len));
    CS_ENSURE(blob != NULL && blen > 0 && expected >= 0 && log_index >= 0, CS_E_ARG);
    CS_ENSURE(blen <= CS_BSTORE_BLOB_MAX, CS_E_TOO_LARGE);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, true, &l));
    {
        CS_AUTO(stmt_resetp) sqlite3_stmt *st =
            l.c->st[expected == 0 ? S_STATE_INSERT : S_STATE_UPDATE];
        CS_TRY(bind_text(st, 1, object, len));
        if (expected == 0) {
            CS_TRY(bind_blob(st, 2, blob, blen));
            CS_TRY(bind_i64(st, 3, log_index));
        } else {
            CS_TRY(bind_i64(st, 2, expected));
            CS_TRY(bind_blob(st, 3, blob, blen));
            CS_TRY(bind_i64(st, 4, log_index));
        }
        CS_TRY(step_done(st));
        /* compare-and-swap: nothing changed when another version is current */
        CS_ENSURE(sqlite3_changes(l.c->db) == 1, CS_E_CONFLICT);
    }
    return lease_commit(&l);
}

static cs_res sq_resource_get(struct cs_bstore *stp, const char *name, struct cs_blob *out,
                              int64_t *version)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL && version != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    *version = 0;
    size_t name_len = 0;
    CS_TRY(check_name(name, &name_len));

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RES_GET];
    CS_TRY(bind_text(st, 1, name, name_len));
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    CS_ENSURE(has_row, CS_E_NOT_FOUND);
    int64_t v = sqlite3_column_int64(st, 0);
    CS_ENSURE(v >= 1, CS_E_STORE);
    CS_TRY(col_blob(st, 1, CS_BSTORE_BLOB_MAX, out));
    *version = v;
    return CS_SUCCESS;
}

static cs_res sq_resource_version(struct cs_bstore *stp, const char *name, int64_t *version)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(version != NULL, CS_E_ARG);
    *version = 0;
    size_t name_len = 0;
    CS_TRY(check_name(name, &name_len));
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    return resource_counter(l.c, name, name_len, version);
}

static cs_res sq_resource_delete(struct cs_bstore *stp, const char *name)
{
    struct bsq *b = bsq_of(stp);
    size_t name_len = 0;
    CS_TRY(check_name(name, &name_len));
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RES_DELETE];
    CS_TRY(bind_text(st, 1, name, name_len));
    CS_TRY(step_done(st));
    CS_ENSURE(sqlite3_changes(l.c->db) > 0, CS_E_NOT_FOUND);
    return CS_SUCCESS;
}

struct res_row {
    char name[CS_BSTORE_NAME_MAX + 1];
    int64_t version;
};

static cs_res resource_page(struct bsq *b, const char *after, size_t want, struct res_row *rows,
                            size_t *n)
{
    *n = 0;
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RES_LIST];
    CS_TRY(bind_text(st, 1, after, strlen(after)));
    CS_TRY(bind_i64(st, 2, (int64_t)want));
    for (;;) {
        bool has_row = false;
        CS_TRY(step_row(st, &has_row));
        if (!has_row) {
            break;
        }
        CS_ENSURE(*n < want, CS_E_STORE);
        CS_TRY(col_copy(st, 0, rows[*n].name, sizeof rows[*n].name));
        rows[*n].version = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    return CS_SUCCESS;
}

static cs_res sq_resource_list(struct cs_bstore *stp, cs_bstore_resource_cb cb, void *arg)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(cb != NULL, CS_E_ARG);
    CS_AUTO(cs_freep) struct res_row *rows = NULL;
    CS_TRY(cs_alloc(LIST_CHUNK, sizeof *rows, (void **)&rows));
    char after[CS_BSTORE_NAME_MAX + 1] = ""; /* "" sorts before every name */
    for (;;) {
        size_t n = 0;
        CS_TRY(resource_page(b, after, LIST_CHUNK, rows, &n));
        for (size_t i = 0; i < n; i++) {
            CS_TRY(cb(arg, rows[i].name, rows[i].version));
        }
        if (n < LIST_CHUNK) {
            break;
        }
        memcpy(after, rows[n - 1].name, sizeof after);
    }
    return CS_SUCCESS;
}

/* ---- policies ---- */

static cs_res sq_policy_put(struct cs_bstore *stp, const uint8_t *bytes, size_t len,
                            const uint8_t sha256[CS_BSTORE_SHA256_LEN], int64_t *version)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(version != NULL, CS_E_ARG);
    *version = 0;
    CS_ENSURE(bytes != NULL && sha256 != NULL, CS_E_ARG);
    CS_ENSURE(len <= CS_BSTORE_POLICY_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(len > 0, CS_E_ARG);

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, true, &l));
    int64_t v = 0;
    {
        CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_POL_INSERT];
        CS_TRY(bind_blob(st, 1, sha256, CS_BSTORE_SHA256_LEN));
        CS_TRY(bind_blob(st, 2, bytes, len));
        bool has_row = false;
        CS_TRY(step_row(st, &has_row));
        CS_ENSURE(has_row, CS_E_STORE);
        v = sqlite3_column_int64(st, 0);
        CS_TRY(step_done(st)); /* RETURNING: run the statement to its end */
    }
    CS_ENSURE(v >= 1, CS_E_STORE);
    CS_TRY(lease_commit(&l));
    *version = v;
    return CS_SUCCESS;
}

/* Reads (version, sha256, bytes) from the current row of a policy query. */
static cs_res policy_row(sqlite3_stmt *st, struct cs_blob *out, int64_t *version,
                         uint8_t sha256[CS_BSTORE_SHA256_LEN])
{
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    CS_ENSURE(has_row, CS_E_NOT_FOUND);
    int64_t v = sqlite3_column_int64(st, 0);
    CS_ENSURE(v >= 1, CS_E_STORE);
    uint8_t h[CS_BSTORE_SHA256_LEN];
    CS_TRY(col_sha256(st, 1, h));
    CS_AUTO(blob_clearp) struct cs_blob bytes = { 0 };
    CS_TRY(col_blob(st, 2, CS_BSTORE_POLICY_MAX, &bytes));
    if (sha256 != NULL) {
        memcpy(sha256, h, sizeof h);
    }
    if (version != NULL) {
        *version = v;
    }
    *out = bytes;
    bytes = (struct cs_blob){ 0 };
    return CS_SUCCESS;
}

static cs_res sq_policy_current(struct cs_bstore *stp, struct cs_blob *out, int64_t *version,
                                uint8_t sha256[CS_BSTORE_SHA256_LEN])
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL && version != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    *version = 0;
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_POL_CURRENT];
    return policy_row(st, out, version, sha256);
}

static cs_res sq_policy_get(struct cs_bstore *stp, int64_t version, struct cs_blob *out,
                            uint8_t sha256[CS_BSTORE_SHA256_LEN])
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    CS_ENSURE(version >= 1, CS_E_ARG);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_POL_GET];
    CS_TRY(bind_i64(st, 1, version));
    return policy_row(st, out, NULL, sha256);
}

/* ---- reference values ---- */

static cs_res sq_refval_add(struct cs_bstore *stp, const char *set, const char *value,
                            const char *source)
{
    struct bsq *b = bsq_of(stp);
    size_t set_len = 0;
    size_t value_len = 0;
    CS_TRY(check_set(set, &set_len));
    CS_TRY(check_value(value, &value_len));
    const char *src = source != NULL ? source : "";
    size_t src_len = strnlen(src, CS_BSTORE_SOURCE_MAX + 1);
    CS_ENSURE(src_len <= CS_BSTORE_SOURCE_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(is_utf8(src, src_len), CS_E_ARG);

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RV_ADD];
    CS_TRY(bind_text(st, 1, set, set_len));
    CS_TRY(bind_text(st, 2, value, value_len));
    CS_TRY(bind_text(st, 3, src, src_len));
    return step_done(st);
}

static cs_res sq_refval_remove(struct cs_bstore *stp, const char *set, const char *value)
{
    struct bsq *b = bsq_of(stp);
    size_t set_len = 0;
    size_t value_len = 0;
    CS_TRY(check_set(set, &set_len));
    CS_TRY(check_value(value, &value_len));
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_FULL, false, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RV_REMOVE];
    CS_TRY(bind_text(st, 1, set, set_len));
    CS_TRY(bind_text(st, 2, value, value_len));
    CS_TRY(step_done(st));
    CS_ENSURE(sqlite3_changes(l.c->db) > 0, CS_E_NOT_FOUND);
    return CS_SUCCESS;
}

static cs_res sq_refvals_json(struct cs_bstore *stp, json_t **out)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO_JSON *all = json_object();
    CS_ENSURE(all != NULL, CS_E_NOMEM);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_RV_ALL];
    json_t *arr = NULL; /* borrowed from `all`: the array of the current set */
    char set[CS_BSTORE_REFVAL_SET_MAX + 1] = "";
    for (;;) {
        bool has_row = false;
        CS_TRY(step_row(st, &has_row));
        if (!has_row) {
            break;
        }
        const char *name = (const char *)sqlite3_column_text(st, 0);
        CS_ENSURE(name != NULL && sqlite3_column_bytes(st, 0) <= CS_BSTORE_REFVAL_SET_MAX,
                  CS_E_STORE);
        if (arr == NULL || strcmp(name, set) != 0) {
            CS_TRY(col_copy(st, 0, set, sizeof set));
            arr = json_array();
            CS_ENSURE(arr != NULL, CS_E_NOMEM);
            CS_ENSURE(json_object_set_new(all, set, arr) == 0, CS_E_STORE);
        }
        const char *v = (const char *)sqlite3_column_text(st, 1);
        int v_len = sqlite3_column_bytes(st, 1);
        CS_ENSURE(v != NULL && v_len > 0 && v_len <= CS_BSTORE_REFVAL_MAX, CS_E_STORE);
        /* NULL from jansson: not UTF-8, which the store never writes (damaged file) */
        CS_ENSURE(json_array_append_new(arr, json_stringn(v, (size_t)v_len)) == 0, CS_E_STORE);
    }
    *out = CS_MOVE(all);
    return CS_SUCCESS;
}

/* ---- archive ---- */

static cs_res archive_read(struct conn *c, const char *kind, size_t kind_len,
                           const uint8_t sha256[CS_BSTORE_SHA256_LEN], struct cs_blob *out)
{
    CS_AUTO(stmt_resetp) sqlite3_stmt *st = c->st[S_AR_GET];
    CS_TRY(bind_text(st, 1, kind, kind_len));
    CS_TRY(bind_blob(st, 2, sha256, CS_BSTORE_SHA256_LEN));
    bool has_row = false;
    CS_TRY(step_row(st, &has_row));
    CS_ENSURE(has_row, CS_E_NOT_FOUND);
    return col_blob(st, 0, CS_BSTORE_ARCHIVE_MAX, out);
}

static cs_res sq_archive_put(struct cs_bstore *stp, const char *kind,
                             const uint8_t sha256[CS_BSTORE_SHA256_LEN], const uint8_t *bytes,
                             size_t len)
{
    struct bsq *b = bsq_of(stp);
    size_t kind_len = 0;
    CS_TRY(check_kind(kind, &kind_len));
    CS_ENSURE(sha256 != NULL && bytes != NULL, CS_E_ARG);
    CS_ENSURE(len <= CS_BSTORE_ARCHIVE_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(len > 0, CS_E_ARG);

    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_write(b, SYNC_NORMAL, false, &l));
    {
        CS_AUTO(stmt_resetp) sqlite3_stmt *st = l.c->st[S_AR_PUT];
        CS_TRY(bind_text(st, 1, kind, kind_len));
        CS_TRY(bind_blob(st, 2, sha256, CS_BSTORE_SHA256_LEN));
        CS_TRY(bind_blob(st, 3, bytes, len));
        CS_TRY(step_done(st));
    }
    if (sqlite3_changes(l.c->db) > 0) {
        return CS_SUCCESS;
    }
    /* already there: the same bytes make the put idempotent; other bytes are a lie about
     * the digest by one of the two writers */
    CS_AUTO(blob_clearp) struct cs_blob have = { 0 };
    CS_TRY(archive_read(l.c, kind, kind_len, sha256, &have));
    CS_ENSURE(have.len == len && memcmp(have.p, bytes, len) == 0, CS_E_CONFLICT);
    return CS_SUCCESS;
}

static cs_res sq_archive_get(struct cs_bstore *stp, const char *kind,
                             const uint8_t sha256[CS_BSTORE_SHA256_LEN], struct cs_blob *out)
{
    struct bsq *b = bsq_of(stp);
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    size_t kind_len = 0;
    CS_TRY(check_kind(kind, &kind_len));
    CS_ENSURE(sha256 != NULL, CS_E_ARG);
    CS_AUTO(lease_end) struct lease l = { 0 };
    CS_TRY(lease_read(b, &l));
    return archive_read(l.c, kind, kind_len, sha256, out);
}

/* ---- open / close ---- */

static void conn_close(struct conn *c)
{
    for (size_t i = 0; i < S__COUNT; i++) {
        sqlite3_finalize(c->st[i]);
        c->st[i] = NULL;
    }
    sqlite3_close_v2(c->db); /* NULL is a no-op */
    c->db = NULL;
}

static void sq_close(struct cs_bstore *stp)
{
    struct bsq *b = bsq_of(stp);
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; b->conns != NULL && i < b->n_conns; i++) {
        conn_close(&b->conns[i]);
    }
    cs_free(b->conns);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->write_mu);
    cs_free(b);
}

static void bsq_closep(struct bsq **p)
{
    if (*p != NULL) {
        sq_close(&(*p)->base);
    }
}

static const struct cs_bstore_ops sqlite_ops = {
    .name = "sqlite",
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_attest = sq_session_attest,
    .session_delete = sq_session_delete,
    .session_set_index = sq_session_set_index,
    .session_pop = sq_session_pop,
    .state_get = sq_state_get,
    .state_put = sq_state_put,
    .session_list = sq_session_list,
    .session_expire = sq_session_expire,
    .resource_put = sq_resource_put,
    .resource_get = sq_resource_get,
    .resource_version = sq_resource_version,
    .resource_delete = sq_resource_delete,
    .resource_list = sq_resource_list,
    .policy_put = sq_policy_put,
    .policy_current = sq_policy_current,
    .policy_get = sq_policy_get,
    .refval_add = sq_refval_add,
    .refval_remove = sq_refval_remove,
    .refvals_json = sq_refvals_json,
    .archive_put = sq_archive_put,
    .archive_get = sq_archive_get,
    .close = sq_close,
};

static void stmt_finalizep(sqlite3_stmt **p)
{
    sqlite3_finalize(*p);
}

/* Runs a one-column integer query given as a literal. */
static cs_res query_int(sqlite3 *db, const char *q, int64_t *out)
{
    CS_AUTO(stmt_finalizep) sqlite3_stmt *st = NULL;
    CS_ENSURE(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, CS_E_STORE);
    CS_ENSURE(sqlite3_step(st) == SQLITE_ROW, CS_E_STORE);
    *out = sqlite3_column_int64(st, 0);
    return CS_SUCCESS;
}

static cs_res migrate_locked(sqlite3 *db)
{
    int64_t version = 0;
    int64_t app_id = 0;
    int64_t n_objects = 0;
    CS_TRY(query_int(db, "PRAGMA user_version", &version));
    CS_TRY(query_int(db, "PRAGMA application_id", &app_id));
    CS_ENSURE(version >= 0, CS_E_FORMAT);
    CS_ENSURE(version <= CS_BSTORE_SQLITE_SCHEMA, CS_E_UNSUPPORTED); /* from a newer custos */
    if (version == 0) {
        /* version 0 must be an empty file: anything else is some other database */
        CS_TRY(query_int(db, "SELECT count(*) FROM sqlite_schema", &n_objects));
        CS_ENSURE(n_objects == 0 && (app_id == 0 || app_id == APPLICATION_ID), CS_E_FORMAT);
    } else {
        CS_ENSURE(app_id == APPLICATION_ID, CS_E_FORMAT);
    }
    for (int64_t v = version; v < CS_BSTORE_SQLITE_SCHEMA; v++) {
        CS_ENSURE(sqlite3_exec(db, migrations[v], NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    }
    return CS_SUCCESS;
}

static cs_res migrate(sqlite3 *db)
{
    CS_ENSURE(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    cs_res r = migrate_locked(db);
    if (!cs_ok(r)) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    CS_ENSURE(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    return CS_SUCCESS;
}

/* WAL is a property of the file (it persists): set once, checked, before any other use. */
static cs_res set_wal(sqlite3 *db)
{
    CS_AUTO(stmt_finalizep) sqlite3_stmt *wal = NULL;
    CS_ENSURE(sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &wal, NULL) == SQLITE_OK,
              CS_E_STORE);
    CS_ENSURE(sqlite3_step(wal) == SQLITE_ROW, CS_E_STORE);
    const char *mode = (const char *)sqlite3_column_text(wal, 0);
    CS_ENSURE(mode != NULL && strcmp(mode, "wal") == 0, CS_E_STORE);
    return CS_SUCCESS; /* the statement is finalized here, before migrate() begins */
}

static cs_res conn_open(const char *path, bool is_first, struct conn *c)
{
    /* the file exists (we made it): no CREATE; NOFOLLOW: never through a symbolic link */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    CS_ENSURE(sqlite3_open_v2(path, &c->db, flags, NULL) == SQLITE_OK, CS_E_STORE);
    sqlite3_extended_result_codes(c->db, 1);
    /* DEFENSIVE: no writable_schema or other ways to corrupt the file through SQL */
    CS_ENSURE(sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) == SQLITE_OK,
              CS_E_STORE);
    CS_ENSURE(sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS) == SQLITE_OK, CS_E_STORE);
    /* secure_delete: deleted rows (old ciphertexts, sessions) are overwritten with zeros */
    CS_ENSURE(sqlite3_exec(c->db,
                           "PRAGMA trusted_schema=OFF; PRAGMA secure_delete=ON;"
                           " PRAGMA synchronous=FULL;",
                           NULL, NULL, NULL) == SQLITE_OK,
              CS_E_STORE);
    c->sync = SYNC_FULL;
    if (is_first) {
        CS_TRY(set_wal(c->db));
        CS_TRY(migrate(c->db));
    }
    for (size_t i = 0; i < S__COUNT; i++) {
        CS_ENSURE(sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
                                     NULL) == SQLITE_OK,
                  CS_E_STORE);
    }
    return CS_SUCCESS;
}

static void fd_closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* Creates the file 0600 ourselves (SQLite would apply the umask) and checks an old one. */
static cs_res prepare_file(const char *path)
{
    CS_AUTO(fd_closep) int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    CS_ENSURE(fd >= 0 || errno != ELOOP, CS_E_UNSUPPORTED);
    CS_ENSURE(fd >= 0, CS_E_IO);
    struct stat st;
    CS_ENSURE(fstat(fd, &st) == 0, CS_E_IO);
    CS_ENSURE(S_ISREG(st.st_mode), CS_E_UNSUPPORTED);
    CS_ENSURE(st.st_uid == geteuid(), CS_E_UNSUPPORTED);
    CS_ENSURE((st.st_mode & 077) == 0, CS_E_UNSUPPORTED);
    return CS_SUCCESS;
}

CS_RESULT cs_bstore_sqlite_open_with(const char *path, const struct cs_bstore_sqlite_opts *opts,
                                     struct cs_bstore **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(path != NULL && path[0] != '\0' && strnlen(path, PATH_MAX_LEN) < PATH_MAX_LEN,
              CS_E_ARG);
    size_t n_conns = opts != NULL && opts->n_conns != 0 ? opts->n_conns : DEFAULT_CONNS;
    CS_ENSURE(n_conns <= MAX_CONNS, CS_E_ARG);
    CS_ENSURE(sqlite3_threadsafe() != 0, CS_E_UNSUPPORTED);
    CS_TRY(prepare_file(path));

    struct bsq *raw = NULL;
    CS_TRY(cs_alloc(1, sizeof *raw, (void **)&raw));
    raw->base.ops = &sqlite_ops;
    pthread_mutex_init(&raw->mu, NULL);
    pthread_cond_init(&raw->cv, NULL);
    pthread_mutex_init(&raw->write_mu, NULL);
    CS_AUTO(bsq_closep) struct bsq *b = raw;
    CS_TRY(cs_alloc(n_conns, sizeof *b->conns, (void **)&b->conns));
    b->n_conns = n_conns;
    for (size_t i = 0; i < n_conns; i++) {
        CS_TRY(conn_open(path, i == 0, &b->conns[i]));
    }
    *out = &CS_MOVE(b)->base;
    return CS_SUCCESS;
}

CS_RESULT cs_bstore_sqlite_open(const char *path, struct cs_bstore **out)
{
    return cs_bstore_sqlite_open_with(path, NULL, out);
}
