/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log on SQLite. Prepared statements with bound parameters only; numbered
 * migrations in `schema_version`; WAL with synchronous=FULL, so COMMIT returns once the
 * write-ahead log is on disk; BEGIN IMMEDIATE for writers so that two processes appending
 * to one file serialise instead of failing half-way.
 */
#include "store/log_sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_mem.h"

enum stmt {
    S_BEGIN_WRITE,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_GET_SIZE,
    S_SET_SIZE,
    S_GET_HASH,
    S_GET_HASHES,
    S_GET_HASH_SET,
    S_PUT_HASH,
    S_GET_ENTRY,
    S_PUT_ENTRY,
    S_PUT_CHECKPOINT,
    S__COUNT
};

static const char *const sql[S__COUNT] = {
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN DEFERRED",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_GET_SIZE] = "SELECT size FROM tree WHERE id = 1",
    [S_SET_SIZE] = "UPDATE tree SET size = ?1 WHERE id = 1",
    [S_GET_HASH] = "SELECT hash FROM hashes WHERE level = ?1 AND idx = ?2",
    [S_GET_HASHES] = "SELECT idx, hash FROM hashes WHERE level = ?1 AND idx >= ?2 AND idx < ?3"
                      " ORDER BY idx",
    [S_GET_HASH_SET] =
        "SELECT v.column3, h.hash FROM (VALUES "
        "(?1, ?2, 0), (?3, ?4, 1), (?5, ?6, 2), (?7, ?8, 3), (?9, ?10, 4), "
        "(?11, ?12, 5), (?13, ?14, 6), (?15, ?16, 7), (?17, ?18, 8), "
        "(?19, ?20, 9), (?21, ?22, 10), (?23, ?24, 11), (?25, ?26, 12), "
        "(?27, ?28, 13), (?29, ?30, 14), (?31, ?32, 15)"
        ") AS v CROSS JOIN hashes h ON h.level = v.column1 AND h.idx = v.column2",
    [S_PUT_HASH] = "INSERT INTO hashes (level, idx, hash) VALUES (?1, ?2, ?3)",
    [S_GET_ENTRY] = "SELECT data FROM entries WHERE idx = ?1",
    [S_PUT_ENTRY] = "INSERT INTO entries (idx, data) VALUES (?1, ?2)",
    [S_PUT_CHECKPOINT] = "INSERT OR IGNORE INTO checkpoints (size, note) VALUES (?1, ?2)",
};

/* Numbered migrations: migration i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE tree (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);"
    "INSERT INTO tree (id, size) VALUES (1, 0);"
    "CREATE TABLE entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE hashes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) WITHOUT ROWID;"
    "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);",
};

struct sq {
    sqlite3 *db;
    sqlite3_stmt *st[S__COUNT];
};

static void sq_close(void *ctx)
{
    struct sq *s = ctx;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < S__COUNT; i++) {
        sqlite3_finalize(s->st[i]);
    }
    sqlite3_close_v2(s->db);
    cs_free(s);
}

/* Runs a prepared statement that returns no row. */
static cs_res exec(struct sq *s, enum stmt which)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    CS_ENSURE(rc == SQLITE_DONE, CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res sq_begin_write(void *ctx)
{
    return exec(ctx, S_BEGIN_WRITE);
}

static cs_res sq_begin_read(void *ctx)
{
    return exec(ctx, S_BEGIN_READ);
}

static cs_res sq_commit(void *ctx)
{
    return exec(ctx, S_COMMIT);
}

static void sq_rollback(void *ctx)
{
    (void)cs_ok(exec(ctx, S_ROLLBACK));
}

static void sq_end_read(void *ctx)
{
    (void)cs_ok(exec(ctx, S_COMMIT));
}

static cs_res sq_get_size(void *ctx, uint64_t *size)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_GET_SIZE];
    int rc = sqlite3_step(st);
    sqlite3_int64 v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    CS_ENSURE(rc == SQLITE_ROW && v >= 0, CS_E_STORE);
    *size = (uint64_t)v;
    return CS_SUCCESS;
}

static cs_res sq_set_size(void *ctx, uint64_t size)
{
    struct sq *s = ctx;
    CS_ENSURE(size <= INT64_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int64(s->st[S_SET_SIZE], 1, (sqlite3_int64)size) == SQLITE_OK,
              CS_E_STORE);
    return exec(s, S_SET_SIZE);
}

static cs_res sq_get_hash(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_GET_HASH];
    CS_ENSURE(index <= INT64_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int(st, 1, (int)level) == SQLITE_OK &&
                  sqlite3_bind_int64(st, 2, (sqlite3_int64)index) == SQLITE_OK,
              CS_E_STORE);
    int rc = sqlite3_step(st);
    bool is_ok = rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32;
    if (is_ok) {
        memcpy(out, sqlite3_column_blob(st, 0), 32);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    CS_ENSURE(is_ok, CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res sq_get_hashes(void *ctx, unsigned level, uint64_t from, uint64_t n, uint8_t *out)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_GET_HASHES];
    CS_ENSURE(out != NULL || n == 0, CS_E_ARG);
    CS_ENSURE(from <= INT64_MAX && n <= (uint64_t)INT64_MAX - from, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int(st, 1, (int)level) == SQLITE_OK &&
                  sqlite3_bind_int64(st, 2, (sqlite3_int64)from) == SQLITE_OK &&
                  sqlite3_bind_int64(st, 3, (sqlite3_int64)(from + n)) == SQLITE_OK,
              CS_E_STORE);
    /* rows come in index order; each must be the next index, with a 32-byte hash */
    uint64_t got = 0;
    int rc = SQLITE_ROW;
    bool is_ok = true;
    while (is_ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        is_ok = got < n && sqlite3_column_int64(st, 0) == (sqlite3_int64)(from + got) &&
                sqlite3_column_bytes(st, 1) == 32;
        if (is_ok) {
            memcpy(out + got * 32, sqlite3_column_blob(st, 1), 32);
            got++;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    CS_ENSURE(is_ok && rc == SQLITE_DONE && got == n, CS_E_STORE);
    return CS_SUCCESS;
}

_Static_assert(CS_LOG_STORE_SET_MAX == 16, "S_GET_HASH_SET lists 16 positions");

/*
 * One statement for up to CS_LOG_STORE_SET_MAX positions: a VALUES list of (level, index,
 * position) joined with the primary key (CROSS JOIN keeps the list as the outer loop, so
 * each position is one key lookup); unused slots are NULL and match nothing.
 */
static cs_res sq_get_hash_set(void *ctx, size_t n, const unsigned *levels,
                              const uint64_t *indices, uint8_t *out)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_GET_HASH_SET];
    CS_ENSURE(n <= CS_LOG_STORE_SET_MAX && (n == 0 || (levels != NULL && indices != NULL &&
                                                          out != NULL)),
              CS_E_ARG);
    bool is_ok = true;
    for (size_t i = 0; i < n && is_ok; i++) {
        is_ok = indices[i] <= INT64_MAX &&
                sqlite3_bind_int(st, (int)(2 * i + 1), (int)levels[i]) == SQLITE_OK &&
                sqlite3_bind_int64(st, (int)(2 * i + 2), (sqlite3_int64)indices[i]) == SQLITE_OK;
    }
    uint32_t seen = 0; /* one bit per position */
    size_t got = 0;
    int rc = SQLITE_DONE;
    while (is_ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 pos = sqlite3_column_int64(st, 0);
        is_ok = pos >= 0 && (size_t)pos < n && (seen & (UINT32_C(1) << pos)) == 0 &&
                sqlite3_column_bytes(st, 1) == 32;
        if (is_ok) {
            memcpy(out + (size_t)pos * 32, sqlite3_column_blob(st, 1), 32);
            seen |= UINT32_C(1) << pos;
            got++;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* unused slots back to NULL */
    CS_ENSURE(is_ok && rc == SQLITE_DONE && got == n, CS_E_STORE);
    return CS_SUCCESS;
}

static cs_res sq_put_hash(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_PUT_HASH];
    CS_ENSURE(index <= INT64_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int(st, 1, (int)level) == SQLITE_OK &&
                  sqlite3_bind_int64(st, 2, (sqlite3_int64)index) == SQLITE_OK &&
                  sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC) == SQLITE_OK,
              CS_E_STORE);
    return exec(s, S_PUT_HASH);
}

static cs_res sq_get_entry(void *ctx, uint64_t index, struct cs_blob *out)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_GET_ENTRY];
    *out = (struct cs_blob){ 0 };
    CS_ENSURE(index <= INT64_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int64(st, 1, (sqlite3_int64)index) == SQLITE_OK, CS_E_STORE);
    int rc = sqlite3_step(st);
    cs_res r = CS_SUCCESS;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        uint8_t *p = NULL;
        r = cs_alloc((size_t)n + 1, 1, (void **)&p);
        if (cs_ok(r) && n > 0) {
            memcpy(p, sqlite3_column_blob(st, 0), (size_t)n);
        }
        *out = (struct cs_blob){ p, (size_t)n };
    } else {
        r = (cs_res){ .code = CS_E_STORE, .line = __LINE__, .file = __FILE__ };
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static cs_res sq_put_entry(void *ctx, uint64_t index, struct cs_cur entry)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_PUT_ENTRY];
    CS_ENSURE(index <= INT64_MAX && entry.left <= INT32_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int64(st, 1, (sqlite3_int64)index) == SQLITE_OK &&
                  sqlite3_bind_blob(st, 2, entry.p, (int)entry.left, SQLITE_STATIC) == SQLITE_OK,
              CS_E_STORE);
    return exec(s, S_PUT_ENTRY);
}

static cs_res sq_put_checkpoint(void *ctx, uint64_t size, struct cs_cur note)
{
    struct sq *s = ctx;
    sqlite3_stmt *st = s->st[S_PUT_CHECKPOINT];
    CS_ENSURE(size <= INT64_MAX && note.left <= INT32_MAX, CS_E_ARG);
    CS_ENSURE(sqlite3_bind_int64(st, 1, (sqlite3_int64)size) == SQLITE_OK &&
                  sqlite3_bind_blob(st, 2, note.p, (int)note.left, SQLITE_STATIC) == SQLITE_OK,
              CS_E_STORE);
    return exec(s, S_PUT_CHECKPOINT);
}

static const struct cs_log_store_ops sqlite_ops = {
    .begin_write = sq_begin_write,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .begin_read = sq_begin_read,
    .end_read = sq_end_read,
    .get_size = sq_get_size,
    .set_size = sq_set_size,
    .get_hash = sq_get_hash,
    .get_hashes = sq_get_hashes,
    .get_hash_set = sq_get_hash_set,
    .put_hash = sq_put_hash,
    .get_entry = sq_get_entry,
    .put_entry = sq_put_entry,
    .put_checkpoint = sq_put_checkpoint,
    .close = sq_close,
};

static cs_res migrate(sqlite3 *db)
{
    /* literal statements only: nothing from outside reaches sqlite3_exec */
    CS_ENSURE(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    CS_ENSURE(sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (v INTEGER NOT NULL)",
                           NULL, NULL, NULL) == SQLITE_OK,
              CS_E_STORE);
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db, "SELECT v FROM schema_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            version = sqlite3_column_int(st, 0);
        } else {
            version = -1; /* no row yet: a new database */
        }
    }
    sqlite3_finalize(st);
    int n = (int)(sizeof migrations / sizeof migrations[0]);
    bool is_ok = version >= -1 && version <= n;
    if (is_ok && version == -1) {
        is_ok = sqlite3_exec(db, "INSERT INTO schema_version (v) VALUES (0)", NULL, NULL, NULL) ==
                SQLITE_OK;
        version = 0;
    }
    for (int v = version; is_ok && v < n; v++) {
        is_ok = sqlite3_exec(db, migrations[v], NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_stmt *up = NULL;
        is_ok = is_ok && sqlite3_prepare_v2(db, "UPDATE schema_version SET v = ?1", -1, &up,
                                            NULL) == SQLITE_OK;
        is_ok = is_ok && sqlite3_bind_int(up, 1, v + 1) == SQLITE_OK &&
                sqlite3_step(up) == SQLITE_DONE;
        sqlite3_finalize(up);
    }
    if (!is_ok) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        CS_FAIL(CS_E_STORE);
    }
    CS_ENSURE(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, CS_E_STORE);
    return CS_SUCCESS;
}

CS_RESULT cs_log_sqlite_open(const char *path, struct cs_log_store *out)
{
    CS_ENSURE(path != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_log_store){ 0 };
    /* create the file 0600 ourselves: SQLite would use the umask */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CS_ENSURE(fd >= 0, CS_E_IO);
    close(fd);
    struct sq *s = NULL;
    CS_TRY(cs_alloc(1, sizeof *s, (void **)&s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    cs_res r = CS_SUCCESS;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        r = (cs_res){ .code = CS_E_STORE, .line = __LINE__, .file = __FILE__ };
    }
    /* WAL + FULL: a COMMIT is durable when it returns; busy writers wait instead of failing */
    static const char *const pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                       "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
    if (cs_ok(r) && sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        r = (cs_res){ .code = CS_E_STORE, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r)) {
        r = migrate(s->db);
    }
    for (size_t i = 0; i < S__COUNT && cs_ok(r); i++) {
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            r = (cs_res){ .code = CS_E_STORE, .line = __LINE__, .file = __FILE__ };
        }
    }
    if (!cs_ok(r)) {
        sq_close(s);
        return r;
    }
    *out = (struct cs_log_store){ &sqlite_ops, s };
    return CS_SUCCESS;
}
