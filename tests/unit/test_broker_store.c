/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker store's conformance suite. Part one sees only the interface
 * (store/broker_store.h): every test gets a fresh, empty store from a backend's open
 * function, so a new backend (PostgreSQL) joins by adding one row to `backends`. SQLite
 * runs twice, with a pool of one connection and with the default pool.
 * Part two is SQLite's own: reopening, the schema version check, file modes, refusing
 * foreign files, and that a secret's plaintext and data key never reach the file.
 * Last, the throughput of one broker round trip (create + attest + get).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cs_mem.h"
#include "crypto/cs_envelope.h"
#include "crypto/cs_keyprov.h"
#include "cs_test.h"
#include "store/broker_store.h"

/* ---- scratch directory ---- */

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
    static char p[4][512];
    static unsigned k;
    char *out = p[k++ % 4];
    snprintf(out, sizeof p[0], "%s/%s", tmp_dir, name);
    return out;
}

static void tmp_begin(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/cs-bstore-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static void tmp_end(void)
{
    static const char *const names[] = { "db", "db-wal", "db-shm", "db-journal", "kek", "link",
                                         "foreign", "foreign-wal", "foreign-shm" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unlink(tmp_path(names[i]));
    }
    if (rmdir(tmp_dir) != 0) {
        fprintf(stderr, "  %s left behind: %s\n", tmp_dir, strerror(errno));
    }
}

/* ---- backends ---- */

struct backend {
    const char *name;
    /* a fresh, empty store; the backend keeps whatever it needs to clean up */
    cs_res (*open)(struct cs_bstore **out);
    void (*cleanup)(void);
};

static cs_res sqlite_open_n(unsigned n, struct cs_bstore **out)
{
    tmp_begin();
    const struct cs_bstore_sqlite_opts opts = { .n_conns = n };
    return cs_bstore_sqlite_open_with(tmp_path("db"), &opts, out);
}

static cs_res sqlite_open_1(struct cs_bstore **out)
{
    return sqlite_open_n(1, out);
}

static cs_res sqlite_open_default(struct cs_bstore **out)
{
    return sqlite_open_n(0, out);
}

static const struct backend backends[] = {
    { "sqlite (1 connection)", sqlite_open_1, tmp_end },
    { "sqlite (pool)", sqlite_open_default, tmp_end },
};

static void run_conformance(void (*fn)(struct cs_bstore *st))
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        struct cs_bstore *st = NULL;
        int before = cs_test_failures;
        EXPECT_OK(backends[i].open(&st));
        if (st != NULL) {
            fn(st);
            cs_bstore_close(st);
        }
        backends[i].cleanup();
        if (cs_test_failures != before) {
            fprintf(stderr, "  ... with backend %s\n", backends[i].name);
        }
    }
}

#define CONFORMANCE(fn)                                                                    \
    static void test_##fn(void)                                                            \
    {                                                                                      \
        run_conformance(fn);                                                               \
    }

/* ---- helpers ---- */

#define T0 1700000000

static void make_id(uint8_t id[CS_BSTORE_ID_HASH_LEN], unsigned k)
{
    memset(id, 0, CS_BSTORE_ID_HASH_LEN);
    /* spread k over the first bytes so that listing order differs from creation order */
    id[0] = (uint8_t)(k * 37u);
    id[1] = (uint8_t)(k >> 8);
    id[2] = (uint8_t)k;
    id[31] = 0x5a;
}

static struct cs_session challenged(unsigned k, int64_t created, int64_t ttl)
{
    struct cs_session s = { .state = CS_SESSION_CHALLENGED, .attest_index = -1 };
    make_id(s.id_hash, k);
    snprintf(s.tee, sizeof s.tee, "tdx");
    snprintf(s.nonce, sizeof s.nonce, "nonce-%u-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", k);
    s.created = created;
    s.expires = created + ttl;
    return s;
}

static const char evid[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static struct cs_session_attestation attestation(int64_t expires)
{
    return (struct cs_session_attestation){
        .tee_pubkey = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x\",\"y\":\"y\"}",
        .input = "{\"tdx\":{\"mrtd\":\"00\"}}",
        .identities = "[\"agent-a\"]",
        .evidence_sha256 = evid,
        .attest_index = 42,
        .policy_version = 3,
        .expires = expires,
    };
}

/* A string of n copies of ch (n < cap). */
static char *fill(char *buf, size_t cap, char ch, size_t n)
{
    if (n >= cap) {
        abort();
    }
    memset(buf, ch, n);
    buf[n] = '\0';
    return buf;
}

/* ---- sessions ---- */

static void sessions_create_get(struct cs_bstore *st)
{
    struct cs_session s = challenged(1, T0, 300);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_CONFLICT);

    struct cs_session g = { 0 };
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0, &g));
    EXPECT_MEM_EQ(g.id_hash, s.id_hash, CS_BSTORE_ID_HASH_LEN);
    EXPECT_STR_EQ(g.tee, "tdx");
    EXPECT_STR_EQ(g.nonce, s.nonce);
    EXPECT_EQ(g.created, T0);
    EXPECT_EQ(g.expires, T0 + 300);
    EXPECT_EQ(g.state, CS_SESSION_CHALLENGED);
    EXPECT_TRUE(g.tee_pubkey == NULL && g.input == NULL && g.identities == NULL);
    EXPECT_STR_EQ(g.evidence_sha256, "");
    EXPECT_EQ(g.attest_index, -1);
    EXPECT_EQ(g.policy_version, 0);
    cs_session_clear(&g);
    cs_session_clear(&g); /* twice is fine */

    /* the id hash may live in the output struct itself */
    struct cs_session in_place = { 0 };
    memcpy(in_place.id_hash, s.id_hash, CS_BSTORE_ID_HASH_LEN);
    EXPECT_OK(cs_bstore_session_get(st, in_place.id_hash, T0, &in_place));
    EXPECT_STR_EQ(in_place.nonce, s.nonce);
    cs_session_clear(&in_place);

    uint8_t other[CS_BSTORE_ID_HASH_LEN];
    make_id(other, 2);
    EXPECT_ERR(cs_bstore_session_get(st, other, T0, &g), CS_E_NOT_FOUND);
    EXPECT_TRUE(g.tee_pubkey == NULL && g.tee[0] == '\0');
    EXPECT_ERR(cs_bstore_session_get(st, NULL, T0, &g), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_get(st, s.id_hash, T0, NULL), CS_E_ARG);
}

static void sessions_create_rejects(struct cs_bstore *st)
{
    struct cs_session ok = challenged(3, T0, 60);
    struct cs_session s = ok;
    s.state = CS_SESSION_ATTESTED;
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    s.tee[0] = '\0';
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    memset(s.tee, 'a', sizeof s.tee); /* no NUL inside the field */
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    s.tee[1] = '\n';
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    memset(s.nonce, 'n', sizeof s.nonce);
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    s.nonce[0] = '\0';
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    s.expires = s.created - 1;
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    char key[] = "{}";
    s.tee_pubkey = key;
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    s = ok;
    snprintf(s.evidence_sha256, sizeof s.evidence_sha256, "%s", evid);
    EXPECT_ERR(cs_bstore_session_create(st, &s), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_create(st, NULL), CS_E_ARG);
    /* nothing was stored by the rejected calls */
    struct cs_session g = { 0 };
    EXPECT_ERR(cs_bstore_session_get(st, ok.id_hash, T0, &g), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_session_create(st, &ok));
}

static void sessions_attest(struct cs_bstore *st)
{
    struct cs_session s = challenged(4, T0, 300);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    struct cs_session_attestation a = attestation(T0 + 3600);

    /* a wrong nonce, a prefix of the right one, and a longer one: refused, nothing changes */
    char wrong[CS_BSTORE_NONCE_CAP];
    snprintf(wrong, sizeof wrong, "%s", s.nonce);
    wrong[3] ^= 1;
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, wrong, T0 + 1, &a), CS_E_BINDING);
    snprintf(wrong, sizeof wrong, "%.*s", (int)strlen(s.nonce) - 1, s.nonce);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, wrong, T0 + 1, &a), CS_E_BINDING);
    size_t nl = strlen(s.nonce); /* the nonce with one more character */
    memcpy(wrong, s.nonce, nl);
    wrong[nl] = 'A';
    wrong[nl + 1] = '\0';
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, wrong, T0 + 1, &a), CS_E_BINDING);
    struct cs_session g = { 0 };
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 1, &g));
    EXPECT_TRUE(g.state == CS_SESSION_CHALLENGED && g.tee_pubkey == NULL);
    cs_session_clear(&g);

    /* bad attestation arguments change nothing either */
    struct cs_session_attestation bad = a;
    bad.evidence_sha256 = "00112233";
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    bad = a;
    bad.evidence_sha256 = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    bad = a;
    bad.expires = T0 + 1; /* not after now */
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    bad = a;
    bad.attest_index = -2;
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    bad = a;
    bad.identities = "";
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    bad = a;
    bad.input = NULL;
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_ARG);
    char *huge = NULL;
    EXPECT_OK(cs_alloc(CS_BSTORE_PUBKEY_MAX + 2, 1, (void **)&huge));
    bad = a;
    bad.tee_pubkey = fill(huge, CS_BSTORE_PUBKEY_MAX + 2, '{', CS_BSTORE_PUBKEY_MAX + 1);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &bad), CS_E_TOO_LARGE);
    cs_free(huge);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, "", T0 + 1, &a), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, NULL, T0 + 1, &a), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, NULL), CS_E_ARG);
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 1, &g));
    EXPECT_TRUE(g.state == CS_SESSION_CHALLENGED);
    cs_session_clear(&g);

    /* the right nonce: attested, fields recorded, new expiry */
    EXPECT_OK(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &a));
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 1000, &g)); /* past the old expiry */
    EXPECT_EQ(g.state, CS_SESSION_ATTESTED);
    EXPECT_STR_EQ(g.tee_pubkey, a.tee_pubkey);
    EXPECT_STR_EQ(g.input, a.input);
    EXPECT_STR_EQ(g.identities, a.identities);
    EXPECT_STR_EQ(g.evidence_sha256, evid);
    EXPECT_EQ(g.attest_index, 42);
    EXPECT_EQ(g.policy_version, 3);
    EXPECT_EQ(g.expires, T0 + 3600);
    EXPECT_STR_EQ(g.nonce, s.nonce);
    cs_session_clear(&g);

    /* single use: the same nonce again is a conflict, and the record stays */
    struct cs_session_attestation again = attestation(0);
    again.attest_index = 7;
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 2, &again), CS_E_CONFLICT);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, wrong, T0 + 2, &again), CS_E_CONFLICT);
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 2, &g));
    EXPECT_EQ(g.attest_index, 42);
    cs_session_clear(&g);

    /* expires = 0 keeps the session's expiry */
    struct cs_session s2 = challenged(5, T0, 300);
    EXPECT_OK(cs_bstore_session_create(st, &s2));
    EXPECT_OK(cs_bstore_session_attest(st, s2.id_hash, s2.nonce, T0 + 1, &again));
    EXPECT_OK(cs_bstore_session_get(st, s2.id_hash, T0 + 1, &g));
    EXPECT_EQ(g.expires, T0 + 300);
    EXPECT_EQ(g.attest_index, 7);
    cs_session_clear(&g);

    /* unknown session */
    uint8_t other[CS_BSTORE_ID_HASH_LEN];
    make_id(other, 99);
    EXPECT_ERR(cs_bstore_session_attest(st, other, s.nonce, T0 + 1, &a), CS_E_NOT_FOUND);
}

static void sessions_expiry(struct cs_bstore *st)
{
    struct cs_session s = challenged(6, T0, 60);
    struct cs_session t = challenged(7, T0, 120);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    EXPECT_OK(cs_bstore_session_create(st, &t));
    struct cs_session g = { 0 };
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 59, &g));
    cs_session_clear(&g);
    /* expired when now >= expires: not found, and too late to attest */
    EXPECT_ERR(cs_bstore_session_get(st, s.id_hash, T0 + 60, &g), CS_E_NOT_FOUND);
    struct cs_session_attestation a = attestation(0);
    EXPECT_ERR(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 60, &a), CS_E_NOT_FOUND);
    uint64_t n = 99;
    EXPECT_OK(cs_bstore_session_expire(st, T0 + 59, &n));
    EXPECT_EQ(n, 0);
    EXPECT_OK(cs_bstore_session_expire(st, T0 + 60, &n));
    EXPECT_EQ(n, 1);
    /* gone for good: even an earlier `now` does not see it */
    EXPECT_ERR(cs_bstore_session_get(st, s.id_hash, T0, &g), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_session_get(st, t.id_hash, T0 + 60, &g));
    cs_session_clear(&g);
    EXPECT_OK(cs_bstore_session_expire(st, T0 + 1000, NULL));
    EXPECT_ERR(cs_bstore_session_get(st, t.id_hash, T0, &g), CS_E_NOT_FOUND);
}

static void sessions_delete(struct cs_bstore *st)
{
    struct cs_session s = challenged(8, T0, 60);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    EXPECT_OK(cs_bstore_session_delete(st, s.id_hash));
    struct cs_session g = { 0 };
    EXPECT_ERR(cs_bstore_session_get(st, s.id_hash, T0, &g), CS_E_NOT_FOUND);
    EXPECT_ERR(cs_bstore_session_delete(st, s.id_hash), CS_E_NOT_FOUND);
    EXPECT_ERR(cs_bstore_session_delete(st, NULL), CS_E_ARG);
    /* an expired session can still be deleted explicitly */
    struct cs_session e = challenged(9, T0 - 100, 10);
    EXPECT_OK(cs_bstore_session_create(st, &e));
    EXPECT_OK(cs_bstore_session_delete(st, e.id_hash));
    /* and a deleted id can be used again */
    EXPECT_OK(cs_bstore_session_create(st, &s));
}

struct list_acc {
    struct cs_bstore *st;
    size_t n;
    size_t stop_at; /* fail with CS_E_INTERNAL at this row (0: never) */
    uint8_t last[CS_BSTORE_ID_HASH_LEN];
    bool is_sorted;
    size_t n_attested;
    bool has_nested_ok;
};

static cs_res list_one(void *arg, const struct cs_session_summary *s)
{
    struct list_acc *acc = arg;
    if (acc->n > 0 && memcmp(acc->last, s->id_hash, CS_BSTORE_ID_HASH_LEN) >= 0) {
        acc->is_sorted = false;
    }
    memcpy(acc->last, s->id_hash, CS_BSTORE_ID_HASH_LEN);
    acc->n++;
    if (s->state == CS_SESSION_ATTESTED) {
        acc->n_attested++;
        if (strcmp(s->evidence_sha256, evid) != 0 || s->attest_index != 42 ||
            s->policy_version != 3) {
            acc->is_sorted = false; /* reuse the flag: any mismatch fails the test */
        }
    }
    if (acc->n == 1) {
        /* no engine lock is held while the callback runs: it may use the store */
        struct cs_session g = { 0 };
        acc->has_nested_ok = cs_ok(cs_bstore_session_get(acc->st, s->id_hash, T0, &g));
        cs_session_clear(&g);
    }
    if (acc->stop_at != 0 && acc->n == acc->stop_at) {
        return (cs_res){ .code = CS_E_INTERNAL };
    }
    return CS_SUCCESS;
}

static void sessions_list(struct cs_bstore *st)
{
    /* 300 live sessions (more than a page of the listing) and 50 expired ones */
    for (unsigned k = 0; k < 350; k++) {
        struct cs_session s = challenged(k, T0, k < 300 ? 600 : 10);
        EXPECT_OK(cs_bstore_session_create(st, &s));
        if (k % 10 == 0) {
            struct cs_session_attestation a = attestation(0);
            EXPECT_OK(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &a));
        }
    }
    struct list_acc acc = { .st = st, .is_sorted = true };
    EXPECT_OK(cs_bstore_session_list(st, T0 + 20, CS_BSTORE_LIST_MAX, list_one, &acc));
    EXPECT_EQ(acc.n, 300);
    EXPECT_EQ(acc.n_attested, 30);
    EXPECT_TRUE(acc.is_sorted);
    EXPECT_TRUE(acc.has_nested_ok);

    acc = (struct list_acc){ .st = st, .is_sorted = true };
    EXPECT_OK(cs_bstore_session_list(st, T0 + 20, 129, list_one, &acc));
    EXPECT_EQ(acc.n, 129);
    EXPECT_TRUE(acc.is_sorted);
    acc = (struct list_acc){ .st = st, .is_sorted = true, .stop_at = 200 };
    EXPECT_ERR(cs_bstore_session_list(st, T0 + 20, 1000, list_one, &acc), CS_E_INTERNAL);
    EXPECT_EQ(acc.n, 200);
    acc = (struct list_acc){ .st = st, .is_sorted = true };
    EXPECT_OK(cs_bstore_session_list(st, T0 + 5, 1000, list_one, &acc)); /* expired ones too */
    EXPECT_EQ(acc.n, 350);
    EXPECT_ERR(cs_bstore_session_list(st, T0, 0, list_one, &acc), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_list(st, T0, CS_BSTORE_LIST_MAX + 1, list_one, &acc), CS_E_ARG);
    EXPECT_ERR(cs_bstore_session_list(st, T0, 10, NULL, &acc), CS_E_ARG);
    uint64_t n = 0;
    EXPECT_OK(cs_bstore_session_expire(st, T0 + 20, &n));
    EXPECT_EQ(n, 50);
}

struct race {
    struct cs_bstore *st;
    pthread_barrier_t *go;
    const struct cs_session *s;
    cs_code got;
};

static void *race_one(void *arg)
{
    struct race *r = arg;
    struct cs_session_attestation a = attestation(0);
    pthread_barrier_wait(r->go);
    r->got = cs_bstore_session_attest(r->st, r->s->id_hash, r->s->nonce, T0 + 1, &a).code;
    return NULL;
}

/* 8 threads attest one session with its nonce at the same moment: exactly one wins. */
static void sessions_attest_race(struct cs_bstore *st)
{
    enum { THREADS = 8, ROUNDS = 10 };
    for (unsigned round = 0; round < ROUNDS; round++) {
        struct cs_session s = challenged(1000 + round, T0, 60);
        EXPECT_OK(cs_bstore_session_create(st, &s));
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, THREADS);
        struct race r[THREADS];
        pthread_t th[THREADS];
        for (size_t i = 0; i < THREADS; i++) {
            r[i] = (struct race){ st, &go, &s, CS_E_INTERNAL };
            EXPECT_EQ(pthread_create(&th[i], NULL, race_one, &r[i]), 0);
        }
        size_t n_ok = 0;
        size_t n_conflict = 0;
        for (size_t i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            n_ok += r[i].got == CS_OK;
            n_conflict += r[i].got == CS_E_CONFLICT;
        }
        pthread_barrier_destroy(&go);
        EXPECT_EQ(n_ok, 1);
        EXPECT_EQ(n_conflict, THREADS - 1);
    }
}

struct mixed {
    struct cs_bstore *st;
    unsigned id;
    size_t n_fail;
};

/* Each thread: its own sessions through the whole cycle, plus puts to one shared resource. */
static void *mixed_one(void *arg)
{
    struct mixed *m = arg;
    for (unsigned i = 0; i < 25; i++) {
        struct cs_session s = challenged(5000 + m->id * 100 + i, T0, 60);
        struct cs_session_attestation a = attestation(0);
        struct cs_session g = { 0 };
        int64_t v = 0;
        uint8_t blob[16];
        memset(blob, (int)m->id, sizeof blob);
        m->n_fail += !cs_ok(cs_bstore_session_create(m->st, &s));
        m->n_fail += !cs_ok(cs_bstore_session_attest(m->st, s.id_hash, s.nonce, T0 + 1, &a));
        m->n_fail += !cs_ok(cs_bstore_session_get(m->st, s.id_hash, T0 + 1, &g));
        m->n_fail += g.state != CS_SESSION_ATTESTED;
        cs_session_clear(&g);
        m->n_fail += !cs_ok(cs_bstore_resource_put(m->st, "shared/key/k", blob, sizeof blob, &v));
    }
    return NULL;
}

static void concurrent_mixed(struct cs_bstore *st)
{
    enum { THREADS = 8 };
    struct mixed m[THREADS];
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        m[i] = (struct mixed){ st, i, 0 };
        EXPECT_EQ(pthread_create(&th[i], NULL, mixed_one, &m[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        EXPECT_EQ(m[i].n_fail, 0);
    }
    int64_t v = 0;
    EXPECT_OK(cs_bstore_resource_version(st, "shared/key/k", &v));
    EXPECT_EQ(v, THREADS * 25); /* every put got its own version */
}

/* Every allocation of session_get failing in turn: CS_E_NOMEM and nothing leaked. */
static void sessions_out_of_memory(struct cs_bstore *st)
{
    struct cs_session s = challenged(11, T0, 60);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    struct cs_session_attestation a = attestation(0);
    EXPECT_OK(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &a));
    size_t n_nomem = 0;
    for (long k = 0; k < 8; k++) {
        struct cs_session g = { 0 };
        cs_mem_set_fail_after(k);
        cs_res r = cs_bstore_session_get(st, s.id_hash, T0 + 1, &g);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) || (r.code == CS_E_NOMEM && g.tee_pubkey == NULL &&
                                 g.input == NULL && g.identities == NULL));
        n_nomem += r.code == CS_E_NOMEM;
        cs_session_clear(&g);
    }
    EXPECT_EQ(n_nomem, 3); /* one per heap member */
}

/* ---- resources ---- */

static void resources_versions(struct cs_bstore *st)
{
    static const uint8_t b1[] = "envelope one";
    static const uint8_t b2[] = "envelope two, longer";
    struct cs_blob out = { 0 };
    int64_t v = 0;
    EXPECT_ERR(cs_bstore_resource_get(st, "default/key/db", &out, &v), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_resource_version(st, "default/key/db", &v));
    EXPECT_EQ(v, 0);

    v = 0;
    EXPECT_OK(cs_bstore_resource_put(st, "default/key/db", b1, sizeof b1, &v));
    EXPECT_EQ(v, 1);
    EXPECT_OK(cs_bstore_resource_get(st, "default/key/db", &out, &v));
    EXPECT_TRUE(out.len == sizeof b1 && memcmp(out.p, b1, sizeof b1) == 0 && v == 1);
    cs_blob_clear(&out);

    /* compare-and-swap: the next version is accepted, a stale or future one is not */
    v = 2;
    EXPECT_OK(cs_bstore_resource_put(st, "default/key/db", b2, sizeof b2, &v));
    EXPECT_EQ(v, 2);
    v = 2;
    EXPECT_ERR(cs_bstore_resource_put(st, "default/key/db", b1, sizeof b1, &v), CS_E_CONFLICT);
    v = 4;
    EXPECT_ERR(cs_bstore_resource_put(st, "default/key/db", b1, sizeof b1, &v), CS_E_CONFLICT);
    EXPECT_OK(cs_bstore_resource_get(st, "default/key/db", &out, &v));
    EXPECT_TRUE(out.len == sizeof b2 && memcmp(out.p, b2, sizeof b2) == 0 && v == 2);
    cs_blob_clear(&out);

    /* delete keeps the counter: a new put continues, never reuses a version */
    EXPECT_OK(cs_bstore_resource_delete(st, "default/key/db"));
    EXPECT_ERR(cs_bstore_resource_get(st, "default/key/db", &out, &v), CS_E_NOT_FOUND);
    EXPECT_TRUE(out.p == NULL && v == 0);
    EXPECT_ERR(cs_bstore_resource_delete(st, "default/key/db"), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_resource_version(st, "default/key/db", &v));
    EXPECT_EQ(v, 2);
    v = 1;
    EXPECT_ERR(cs_bstore_resource_put(st, "default/key/db", b1, sizeof b1, &v), CS_E_CONFLICT);
    v = 3;
    EXPECT_OK(cs_bstore_resource_put(st, "default/key/db", b1, sizeof b1, &v));
    EXPECT_OK(cs_bstore_resource_get(st, "default/key/db", &out, &v));
    EXPECT_EQ(v, 3);
    cs_blob_clear(&out);
    /* names are independent */
    v = 0;
    EXPECT_OK(cs_bstore_resource_put(st, "default/key/db2", b1, sizeof b1, &v));
    EXPECT_EQ(v, 1);
    EXPECT_ERR(cs_bstore_resource_delete(st, "default/key/none"), CS_E_NOT_FOUND);
}

static void resources_rejects(struct cs_bstore *st)
{
    static const uint8_t b[] = "x";
    static const char *const bad[] = { "",       "a",      "a/b",    "a/b/c/d", "a/\x2f/c",
                                       "/a/b",   "a/b/",   "a/b/ c", "a/b/c\n", "a/./c",
                                       "../b/c", "a/b/..", "a/b/\x7f" }; /* \x2f: '/' */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 0;
        cs_res r = cs_bstore_resource_put(st, bad[i], b, sizeof b, &v);
        if (r.code != CS_E_ARG) {
            fprintf(stderr, "  name \"%s\": %s\n", bad[i], custos_code_name(r.code));
            cs_test_failures++;
        }
    }
    char name[CS_BSTORE_NAME_MAX + 2];
    fill(name, sizeof name, 'n', CS_BSTORE_NAME_MAX + 1);
    name[1] = '/';
    name[3] = '/';
    int64_t v = 0;
    EXPECT_ERR(cs_bstore_resource_put(st, name, b, sizeof b, &v), CS_E_TOO_LARGE);
    name[CS_BSTORE_NAME_MAX] = '\0';
    EXPECT_OK(cs_bstore_resource_put(st, name, b, sizeof b, &v)); /* exactly the maximum */
    EXPECT_OK(cs_bstore_resource_put(st, "r-1/t.x/Tag_2", b, sizeof b, &v));

    uint8_t *big = NULL;
    EXPECT_OK(cs_alloc(CS_BSTORE_BLOB_MAX + 1, 1, (void **)&big));
    v = 0;
    EXPECT_ERR(cs_bstore_resource_put(st, "a/b/big", big, CS_BSTORE_BLOB_MAX + 1, &v),
               CS_E_TOO_LARGE);
    big[CS_BSTORE_BLOB_MAX - 1] = 0x77;
    EXPECT_OK(cs_bstore_resource_put(st, "a/b/big", big, CS_BSTORE_BLOB_MAX, &v));
    struct cs_blob out = { 0 };
    EXPECT_OK(cs_bstore_resource_get(st, "a/b/big", &out, &v));
    EXPECT_TRUE(out.len == CS_BSTORE_BLOB_MAX && out.p[CS_BSTORE_BLOB_MAX - 1] == 0x77);
    cs_blob_clear(&out);
    cs_free(big);
    EXPECT_ERR(cs_bstore_resource_put(st, "a/b/c", b, 0, &v), CS_E_ARG);
    EXPECT_ERR(cs_bstore_resource_put(st, "a/b/c", NULL, 1, &v), CS_E_ARG);
    v = -1;
    EXPECT_ERR(cs_bstore_resource_put(st, "a/b/c", b, sizeof b, &v), CS_E_ARG);
    EXPECT_ERR(cs_bstore_resource_put(st, "a/b/c", b, sizeof b, NULL), CS_E_ARG);
    EXPECT_ERR(cs_bstore_resource_get(st, "a/b", &out, &v), CS_E_ARG);
    EXPECT_ERR(cs_bstore_resource_delete(st, "a/b"), CS_E_ARG);
    EXPECT_ERR(cs_bstore_resource_version(st, NULL, &v), CS_E_ARG);
    EXPECT_OK(cs_bstore_resource_version(st, "a/b/c", &v));
    EXPECT_EQ(v, 0); /* none of the rejected puts stored anything */
}

struct res_acc {
    struct cs_bstore *st;
    size_t n;
    char last[CS_BSTORE_NAME_MAX + 1];
    bool is_ok;
    size_t stop_at;
};

static cs_res res_one(void *arg, const char *name, int64_t version)
{
    struct res_acc *acc = arg;
    unsigned k = 0;
    if (acc->n > 0 && strcmp(acc->last, name) >= 0) {
        acc->is_ok = false;
    }
    snprintf(acc->last, sizeof acc->last, "%s", name);
    /* repo/key/NNN has version 1, except every 7th, put twice */
    if (sscanf(name, "repo/key/%u", &k) != 1 || version != (k % 7 == 0 ? 2 : 1) || k % 5 == 0) {
        acc->is_ok = false;
    }
    acc->n++;
    int64_t v = 0;
    acc->is_ok = acc->is_ok && cs_ok(cs_bstore_resource_version(acc->st, name, &v)) &&
                 v == version; /* the callback may call the store */
    if (acc->stop_at != 0 && acc->n == acc->stop_at) {
        return (cs_res){ .code = CS_E_POLICY };
    }
    return CS_SUCCESS;
}

static void resources_list(struct cs_bstore *st)
{
    static const uint8_t b[] = "blob";
    for (unsigned k = 0; k < 300; k++) {
        char name[64];
        snprintf(name, sizeof name, "repo/key/%03u", (k * 7919u) % 300u); /* shuffled */
        int64_t v = 0;
        EXPECT_OK(cs_bstore_resource_put(st, name, b, sizeof b, &v));
    }
    for (unsigned k = 0; k < 300; k++) {
        char name[64];
        snprintf(name, sizeof name, "repo/key/%03u", k);
        int64_t v = 0;
        if (k % 7 == 0) {
            EXPECT_OK(cs_bstore_resource_put(st, name, b, sizeof b, &v));
        }
        if (k % 5 == 0) {
            EXPECT_OK(cs_bstore_resource_delete(st, name));
        }
    }
    struct res_acc acc = { .st = st, .is_ok = true };
    EXPECT_OK(cs_bstore_resource_list(st, res_one, &acc));
    EXPECT_EQ(acc.n, 240);
    EXPECT_TRUE(acc.is_ok);
    acc = (struct res_acc){ .st = st, .is_ok = true, .stop_at = 130 };
    EXPECT_ERR(cs_bstore_resource_list(st, res_one, &acc), CS_E_POLICY);
    EXPECT_EQ(acc.n, 130);
    EXPECT_ERR(cs_bstore_resource_list(st, NULL, NULL), CS_E_ARG);
}

/* ---- policies ---- */

static void policies(struct cs_bstore *st)
{
    struct cs_blob out = { 0 };
    int64_t v = -5;
    uint8_t h[32];
    EXPECT_ERR(cs_bstore_policy_current(st, &out, &v, h), CS_E_NOT_FOUND);
    EXPECT_TRUE(out.p == NULL && v == 0);
    EXPECT_ERR(cs_bstore_policy_get(st, 1, &out, h), CS_E_NOT_FOUND);

    static const uint8_t p1[] = "{\"version\":1}";
    static const uint8_t p2[] = "{\"version\":2,\"rules\":[]}";
    uint8_t h1[32];
    uint8_t h2[32];
    memset(h1, 0x11, sizeof h1);
    memset(h2, 0x22, sizeof h2);
    EXPECT_OK(cs_bstore_policy_put(st, p1, sizeof p1 - 1, h1, &v));
    EXPECT_EQ(v, 1);
    EXPECT_OK(cs_bstore_policy_put(st, p2, sizeof p2 - 1, h2, &v));
    EXPECT_EQ(v, 2);
    EXPECT_OK(cs_bstore_policy_current(st, &out, &v, h));
    EXPECT_TRUE(v == 2 && out.len == sizeof p2 - 1 && memcmp(out.p, p2, out.len) == 0);
    EXPECT_TRUE(out.p[out.len] == '\0'); /* text users may read it as a string */
    EXPECT_MEM_EQ(h, h2, 32);
    cs_blob_clear(&out);
    EXPECT_OK(cs_bstore_policy_current(st, &out, &v, NULL));
    cs_blob_clear(&out);
    EXPECT_OK(cs_bstore_policy_get(st, 1, &out, h));
    EXPECT_TRUE(out.len == sizeof p1 - 1 && memcmp(out.p, p1, out.len) == 0);
    EXPECT_MEM_EQ(h, h1, 32);
    cs_blob_clear(&out);
    EXPECT_ERR(cs_bstore_policy_get(st, 3, &out, h), CS_E_NOT_FOUND);
    EXPECT_ERR(cs_bstore_policy_get(st, 0, &out, h), CS_E_ARG);
    EXPECT_ERR(cs_bstore_policy_get(st, -1, &out, h), CS_E_ARG);

    /* putting the first policy again makes it current as a new version; old ones stay */
    EXPECT_OK(cs_bstore_policy_put(st, p1, sizeof p1 - 1, h1, &v));
    EXPECT_EQ(v, 3);
    EXPECT_OK(cs_bstore_policy_get(st, 2, &out, h));
    EXPECT_TRUE(out.len == sizeof p2 - 1 && memcmp(out.p, p2, out.len) == 0);
    cs_blob_clear(&out);

    uint8_t *big = NULL;
    EXPECT_OK(cs_alloc(CS_BSTORE_POLICY_MAX + 1, 1, (void **)&big));
    EXPECT_ERR(cs_bstore_policy_put(st, big, CS_BSTORE_POLICY_MAX + 1, h1, &v), CS_E_TOO_LARGE);
    EXPECT_OK(cs_bstore_policy_put(st, big, CS_BSTORE_POLICY_MAX, h1, &v));
    EXPECT_EQ(v, 4);
    cs_free(big);
    EXPECT_ERR(cs_bstore_policy_put(st, p1, 0, h1, &v), CS_E_ARG);
    EXPECT_ERR(cs_bstore_policy_put(st, p1, sizeof p1, NULL, &v), CS_E_ARG);
    EXPECT_OK(cs_bstore_policy_current(st, &out, &v, NULL));
    EXPECT_EQ(v, 4);
    cs_blob_clear(&out);
}

/* ---- reference values ---- */

static bool refvals_equal(struct cs_bstore *st, const char *want_text)
{
    json_t *got = NULL;
    if (!cs_ok(cs_bstore_refvals_json(st, &got))) {
        return false;
    }
    json_t *want = json_loads(want_text, 0, NULL);
    /* json_equal ignores member order; arrays are compared in order */
    bool is_eq = want != NULL && json_equal(got, want);
    if (!is_eq) {
        char *s = json_dumps(got, JSON_COMPACT);
        fprintf(stderr, "  refvals: %s, want %s\n", s != NULL ? s : "?", want_text);
        free(s);
    }
    json_decref(want);
    json_decref(got);
    return is_eq;
}

static void refvals(struct cs_bstore *st)
{
    EXPECT_TRUE(refvals_equal(st, "{}"));
    EXPECT_OK(cs_bstore_refval_add(st, "tdx.mrtd", "bb", "provenance:sha256:01"));
    EXPECT_OK(cs_bstore_refval_add(st, "tdx.mrtd", "aa", "admin"));
    EXPECT_OK(cs_bstore_refval_add(st, "snp-measurement", "ff", NULL));
    EXPECT_OK(cs_bstore_refval_add(st, "tdx.mrtd", "bb", "someone else")); /* idempotent */
    EXPECT_OK(cs_bstore_refval_add(st, "tdx.mrtd", "B", "admin")); /* 'B' < 'a' in bytes */
    EXPECT_TRUE(refvals_equal(st, "{\"snp-measurement\":[\"ff\"],\"tdx.mrtd\":[\"B\",\"aa\",\"bb\"]}"));

    EXPECT_OK(cs_bstore_refval_remove(st, "tdx.mrtd", "aa"));
    EXPECT_ERR(cs_bstore_refval_remove(st, "tdx.mrtd", "aa"), CS_E_NOT_FOUND);
    EXPECT_ERR(cs_bstore_refval_remove(st, "nosuchset", "aa"), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_refval_remove(st, "snp-measurement", "ff")); /* the set disappears */
    EXPECT_TRUE(refvals_equal(st, "{\"tdx.mrtd\":[\"B\",\"bb\"]}"));

    /* limits and character sets; none of these change anything */
    char value[CS_BSTORE_REFVAL_MAX + 2];
    EXPECT_ERR(cs_bstore_refval_add(st, "s", fill(value, sizeof value, 'v',
                                                  CS_BSTORE_REFVAL_MAX + 1), "x"),
               CS_E_TOO_LARGE);
    EXPECT_OK(cs_bstore_refval_add(st, "s", fill(value, sizeof value, 'v', CS_BSTORE_REFVAL_MAX),
                                   "x"));
    EXPECT_OK(cs_bstore_refval_remove(st, "s", value));
    char set[CS_BSTORE_REFVAL_SET_MAX + 2];
    EXPECT_ERR(cs_bstore_refval_add(st, fill(set, sizeof set, 's', CS_BSTORE_REFVAL_SET_MAX + 1),
                                    "v", "x"),
               CS_E_TOO_LARGE);
    char source[CS_BSTORE_SOURCE_MAX + 2];
    EXPECT_ERR(cs_bstore_refval_add(st, "s", "v",
                                    fill(source, sizeof source, 'o', CS_BSTORE_SOURCE_MAX + 1)),
               CS_E_TOO_LARGE);
    EXPECT_ERR(cs_bstore_refval_add(st, "with space", "v", "x"), CS_E_ARG);
    EXPECT_ERR(cs_bstore_refval_add(st, "", "v", "x"), CS_E_ARG);
    EXPECT_ERR(cs_bstore_refval_add(st, "s", "", "x"), CS_E_ARG);
    EXPECT_ERR(cs_bstore_refval_add(st, "s", "\xff\xfe", "x"), CS_E_ARG); /* not UTF-8 */
    EXPECT_ERR(cs_bstore_refval_add(st, "s", "v", "\xc3"), CS_E_ARG);
    EXPECT_ERR(cs_bstore_refval_add(st, NULL, "v", "x"), CS_E_ARG);
    EXPECT_OK(cs_bstore_refval_add(st, "s", "caf\xc3\xa9", "x")); /* UTF-8 is fine */
    EXPECT_TRUE(refvals_equal(st, "{\"s\":[\"caf\\u00e9\"],\"tdx.mrtd\":[\"B\",\"bb\"]}"));
    EXPECT_ERR(cs_bstore_refvals_json(st, NULL), CS_E_ARG);
}

/* ---- archive ---- */

static void archive(struct cs_bstore *st)
{
    static const uint8_t ev[] = "a TDX quote, archived";
    static const uint8_t other[] = "something else";
    uint8_t h[32];
    memset(h, 0xab, sizeof h);
    struct cs_blob out = { 0 };
    EXPECT_ERR(cs_bstore_archive_get(st, "evidence", h, &out), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_archive_put(st, "evidence", h, ev, sizeof ev));
    EXPECT_OK(cs_bstore_archive_put(st, "evidence", h, ev, sizeof ev)); /* idempotent */
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence", h, other, sizeof other), CS_E_CONFLICT);
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence", h, ev, sizeof ev - 1), CS_E_CONFLICT);
    EXPECT_OK(cs_bstore_archive_get(st, "evidence", h, &out));
    EXPECT_TRUE(out.len == sizeof ev && memcmp(out.p, ev, sizeof ev) == 0);
    cs_blob_clear(&out);
    /* kinds are separate name spaces */
    EXPECT_ERR(cs_bstore_archive_get(st, "collateral", h, &out), CS_E_NOT_FOUND);
    EXPECT_OK(cs_bstore_archive_put(st, "collateral", h, other, sizeof other));
    EXPECT_OK(cs_bstore_archive_get(st, "collateral", h, &out));
    EXPECT_TRUE(out.len == sizeof other && memcmp(out.p, other, sizeof other) == 0);
    cs_blob_clear(&out);

    EXPECT_ERR(cs_bstore_archive_put(st, "Evidence", h, ev, sizeof ev), CS_E_ARG);
    EXPECT_ERR(cs_bstore_archive_put(st, "", h, ev, sizeof ev), CS_E_ARG);
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence/x", h, ev, sizeof ev), CS_E_ARG);
    char kind[CS_BSTORE_KIND_MAX + 2];
    EXPECT_ERR(cs_bstore_archive_put(st, fill(kind, sizeof kind, 'k', CS_BSTORE_KIND_MAX + 1), h,
                                     ev, sizeof ev),
               CS_E_TOO_LARGE);
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence", NULL, ev, sizeof ev), CS_E_ARG);
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence", h, ev, 0), CS_E_ARG);
    uint8_t *big = NULL;
    EXPECT_OK(cs_alloc(CS_BSTORE_ARCHIVE_MAX + 1, 1, (void **)&big));
    h[0] = 0;
    EXPECT_ERR(cs_bstore_archive_put(st, "evidence", h, big, CS_BSTORE_ARCHIVE_MAX + 1),
               CS_E_TOO_LARGE);
    EXPECT_OK(cs_bstore_archive_put(st, "evidence", h, big, CS_BSTORE_ARCHIVE_MAX));
    cs_free(big);
    EXPECT_ERR(cs_bstore_archive_get(st, "evidence", h, NULL), CS_E_ARG);
}

CONFORMANCE(sessions_create_get)
CONFORMANCE(sessions_create_rejects)
CONFORMANCE(sessions_attest)
CONFORMANCE(sessions_expiry)
CONFORMANCE(sessions_delete)
CONFORMANCE(sessions_list)
CONFORMANCE(sessions_attest_race)
CONFORMANCE(concurrent_mixed)
CONFORMANCE(sessions_out_of_memory)
CONFORMANCE(resources_versions)
CONFORMANCE(resources_rejects)
CONFORMANCE(resources_list)
CONFORMANCE(policies)
CONFORMANCE(refvals)
CONFORMANCE(archive)

/* ---- SQLite only ---- */

static void test_sqlite_reopen_keeps_data(void)
{
    tmp_begin();
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    struct cs_session s = challenged(1, T0, 60);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    struct cs_session_attestation a = attestation(0);
    EXPECT_OK(cs_bstore_session_attest(st, s.id_hash, s.nonce, T0 + 1, &a));
    int64_t v = 0;
    EXPECT_OK(cs_bstore_resource_put(st, "a/b/c", (const uint8_t *)"blob", 4, &v));
    uint8_t h[32] = { 1 };
    EXPECT_OK(cs_bstore_policy_put(st, (const uint8_t *)"{}", 2, h, &v));
    EXPECT_OK(cs_bstore_refval_add(st, "set", "value", "src"));
    EXPECT_OK(cs_bstore_archive_put(st, "evidence", h, (const uint8_t *)"ev", 2));
    cs_bstore_close(st);
    cs_bstore_close(NULL);

    st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    if (st == NULL) {
        tmp_end();
        return;
    }
    struct cs_session g = { 0 };
    EXPECT_OK(cs_bstore_session_get(st, s.id_hash, T0 + 1, &g));
    EXPECT_TRUE(g.state == CS_SESSION_ATTESTED && g.attest_index == 42);
    cs_session_clear(&g);
    struct cs_blob out = { 0 };
    EXPECT_OK(cs_bstore_resource_get(st, "a/b/c", &out, &v));
    EXPECT_TRUE(v == 1 && out.len == 4 && memcmp(out.p, "blob", 4) == 0);
    cs_blob_clear(&out);
    EXPECT_OK(cs_bstore_policy_current(st, &out, &v, NULL));
    EXPECT_TRUE(v == 1 && out.len == 2);
    cs_blob_clear(&out);
    EXPECT_TRUE(refvals_equal(st, "{\"set\":[\"value\"]}"));
    EXPECT_OK(cs_bstore_archive_get(st, "evidence", h, &out));
    EXPECT_TRUE(out.len == 2);
    cs_blob_clear(&out);
    cs_bstore_close(st);
    tmp_end();
}

/* Sets PRAGMA user_version of a closed database directly. */
static void set_user_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    char q[64];
    snprintf(q, sizeof q, "PRAGMA user_version = %d", v);
    EXPECT_TRUE(sqlite3_open(path, &db) == SQLITE_OK);
    EXPECT_TRUE(sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

static void test_sqlite_schema_version(void)
{
    tmp_begin();
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    cs_bstore_close(st);

    sqlite3 *db = NULL;
    EXPECT_TRUE(sqlite3_open(tmp_path("db"), &db) == SQLITE_OK);
    sqlite3_stmt *q = NULL;
    EXPECT_TRUE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK);
    EXPECT_TRUE(sqlite3_step(q) == SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(q, 0), CS_BSTORE_SQLITE_SCHEMA);
    sqlite3_finalize(q);
    sqlite3_close(db);

    /* a database from a newer custos: refused, and left as it was */
    set_user_version(tmp_path("db"), CS_BSTORE_SQLITE_SCHEMA + 1);
    st = (struct cs_bstore *)&st;
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("db"), &st), CS_E_UNSUPPORTED);
    EXPECT_TRUE(st == NULL);
    set_user_version(tmp_path("db"), CS_BSTORE_SQLITE_SCHEMA);
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    cs_bstore_close(st);

    /* somebody else's database (another application, the audit log): not ours */
    EXPECT_TRUE(sqlite3_open(tmp_path("foreign"), &db) == SQLITE_OK);
    EXPECT_TRUE(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    EXPECT_TRUE(chmod(tmp_path("foreign"), 0600) == 0);
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("foreign"), &st), CS_E_FORMAT);
    set_user_version(tmp_path("foreign"), 1);
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("foreign"), &st), CS_E_FORMAT);
    /* not a database at all */
    int fd = open(tmp_path("foreign"), O_WRONLY | O_TRUNC);
    EXPECT_TRUE(fd >= 0 && write(fd, "this is not sqlite, not at all, no.", 35) == 35);
    close(fd);
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("foreign"), &st), CS_E_STORE);
    tmp_end();
}

static void expect_mode_0600(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        fprintf(stderr, "  %s: %s\n", path, strerror(errno));
        cs_test_failures++;
        return;
    }
    if ((st.st_mode & 07777) != 0600) {
        fprintf(stderr, "  %s: mode %04o\n", path, (unsigned)(st.st_mode & 07777));
        cs_test_failures++;
    }
}

static void test_sqlite_files(void)
{
    tmp_begin();
    mode_t old = umask(022); /* SQLite alone would make 0644 files */
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    int64_t v = 0;
    EXPECT_OK(cs_bstore_resource_put(st, "a/b/c", (const uint8_t *)"blob", 4, &v));
    expect_mode_0600(tmp_path("db"));
    expect_mode_0600(tmp_path("db-wal"));
    expect_mode_0600(tmp_path("db-shm"));
    cs_bstore_close(st);
    umask(old);

    /* refused: group/world access, a symbolic link, a missing directory, a directory */
    EXPECT_TRUE(chmod(tmp_path("db"), 0640) == 0);
    st = NULL;
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("db"), &st), CS_E_UNSUPPORTED);
    EXPECT_TRUE(chmod(tmp_path("db"), 0600) == 0);
    EXPECT_TRUE(symlink(tmp_path("db"), tmp_path("link")) == 0);
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_path("link"), &st), CS_E_UNSUPPORTED);
    EXPECT_ERR(cs_bstore_sqlite_open("/nonexistent-dir-cs/db", &st), CS_E_IO);
    EXPECT_ERR(cs_bstore_sqlite_open(tmp_dir, &st), CS_E_IO);
    EXPECT_ERR(cs_bstore_sqlite_open("", &st), CS_E_ARG);
    EXPECT_ERR(cs_bstore_sqlite_open(NULL, &st), CS_E_ARG);
    const struct cs_bstore_sqlite_opts too_many = { .n_conns = 65 };
    EXPECT_ERR(cs_bstore_sqlite_open_with(tmp_path("db"), &too_many, &st), CS_E_ARG);
    EXPECT_TRUE(st == NULL);
    const struct cs_bstore_sqlite_opts most = { .n_conns = 64 };
    EXPECT_OK(cs_bstore_sqlite_open_with(tmp_path("db"), &most, &st));
    cs_bstore_close(st);
    tmp_end();
}

/* Whole-file read of path; *len 0 when it does not exist. */
static uint8_t *slurp(const char *path, size_t *len)
{
    *len = 0;
    struct cs_blob b;
    if (!cs_ok(cs_file_read(path, 256u * 1024u * 1024u, &b))) {
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; hay != NULL && m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* Looks for needle in the database and its WAL; true when found in either. */
static bool in_files(const uint8_t *needle, size_t m)
{
    bool is_found = false;
    static const char *const names[] = { "db", "db-wal" };
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        uint8_t *p = slurp(tmp_path(names[i]), &n);
        is_found = is_found || contains(p, n, needle, m);
        free(p);
    }
    return is_found;
}

/* A secret stored through an envelope: the file holds its ciphertext, never the plaintext
 * or the data key; checked with the database open (WAL) and after close (checkpointed). */
static void test_sqlite_no_plaintext_at_rest(void)
{
    tmp_begin();
    static const uint8_t secret[] = "PLAINTEXT-SECRET: postgres://admin:hunter2@db/prod";
    static const char name[] = "prod/db/password";
    struct cs_keyprov *kp = NULL;
    EXPECT_OK(cs_keyprov_file_open(tmp_path("kek"), true, &kp, NULL));
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open(tmp_path("db"), &st));
    if (kp == NULL || st == NULL) {
        cs_keyprov_free(kp);
        cs_bstore_close(st);
        tmp_end();
        return;
    }
    uint8_t aad[64];
    int aad_len = snprintf((char *)aad, sizeof aad, "custos/resource/v1%c%s%c1", 0, name, 0);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, (size_t)aad_len, secret, sizeof secret - 1, &blob,
                               &blob_len));
    int64_t v = 1;
    EXPECT_OK(cs_bstore_resource_put(st, name, blob, blob_len, &v));

    /* the DEK, recovered the way docs/storage.md describes, to look for it too */
    uint8_t dek[CS_KEYPROV_DEK_MAX];
    size_t dek_len = 0;
    size_t w_len = (size_t)blob[9] << 8 | blob[10];
    EXPECT_OK(cs_keyprov_unwrap(kp, blob + 11, w_len, dek, sizeof dek, &dek_len));
    EXPECT_EQ(dek_len, 32);

    /* the search works: the ciphertext and the name are found */
    const uint8_t *ct = blob + 11 + w_len + 12;
    EXPECT_TRUE(in_files(ct, 16));
    EXPECT_TRUE(in_files((const uint8_t *)name, sizeof name - 1));
    EXPECT_TRUE(!in_files(secret, sizeof secret - 1));
    EXPECT_TRUE(!in_files(secret, 16));
    EXPECT_TRUE(!in_files(dek, dek_len));

    /* replacing the secret: with secure_delete, the old ciphertext leaves the file too */
    uint8_t *blob2 = NULL;
    size_t blob2_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, (size_t)aad_len, secret, 8, &blob2, &blob2_len));
    v = 0;
    EXPECT_OK(cs_bstore_resource_put(st, name, blob2, blob2_len, &v));
    cs_bstore_close(st);
    EXPECT_TRUE(!in_files(secret, sizeof secret - 1));
    EXPECT_TRUE(!in_files(dek, dek_len));
    EXPECT_TRUE(!in_files(ct, 16));
    EXPECT_TRUE(in_files(blob2 + 11 + w_len + 12, 8));

    cs_wipe(dek, sizeof dek);
    cs_free(blob);
    cs_free(blob2);
    cs_keyprov_free(kp);
    tmp_end();
}

/* ---- throughput of one broker round trip ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    struct cs_bstore *st;
    unsigned base;
    unsigned n;
    size_t n_fail;
};

static void *bench_run(void *arg)
{
    struct bench *bn = arg;
    for (unsigned i = 0; i < bn->n; i++) {
        struct cs_session s = challenged(bn->base + i, T0, 60);
        s.id_hash[3] = (uint8_t)(bn->base >> 16); /* distinct across threads */
        s.id_hash[4] = (uint8_t)((bn->base + i) >> 16);
        struct cs_session_attestation a = attestation(0);
        struct cs_session g = { 0 };
        bn->n_fail += !cs_ok(cs_bstore_session_create(bn->st, &s));
        bn->n_fail += !cs_ok(cs_bstore_session_attest(bn->st, s.id_hash, s.nonce, T0 + 1, &a));
        bn->n_fail += !cs_ok(cs_bstore_session_get(bn->st, s.id_hash, T0 + 1, &g));
        cs_session_clear(&g);
    }
    return NULL;
}

/* Round trips per second with `threads` threads over a pool of n_conns connections. */
static double bench_rate(unsigned n_conns, unsigned threads, unsigned per_thread)
{
    tmp_begin();
    const struct cs_bstore_sqlite_opts opts = { .n_conns = n_conns };
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open_with(tmp_path("db"), &opts, &st));
    if (st == NULL) {
        tmp_end();
        return 0;
    }
    struct bench bn[16];
    pthread_t th[16];
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) {
        bn[i] = (struct bench){ st, (i + 1) * 100000u, per_thread, 0 };
        EXPECT_EQ(pthread_create(&th[i], NULL, bench_run, &bn[i]), 0);
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        EXPECT_EQ(bn[i].n_fail, 0);
    }
    double dt = now_s() - t0;
    cs_bstore_close(st);
    tmp_end();
    return (double)threads * per_thread / dt;
}

struct writer {
    struct cs_bstore *st;
    atomic_bool is_done;
    size_t n_puts;
    size_t n_fail;
};

/* Puts 64 KiB resources (synchronous=FULL: one fsync each) until told to stop. */
static void *writer_run(void *arg)
{
    struct writer *w = arg;
    static uint8_t blob[64 * 1024];
    while (!atomic_load(&w->is_done)) {
        int64_t v = 0;
        w->n_fail += !cs_ok(cs_bstore_resource_put(w->st, "bench/blob/w", blob, sizeof blob, &v));
        w->n_puts++;
    }
    return NULL;
}

/*
 * session_get per second on one thread, for half a second, while another thread keeps
 * putting resources; *worst = the slowest get in milliseconds, *puts = puts done meanwhile.
 */
static double reads_beside_writer(unsigned n_conns, double *worst, size_t *puts)
{
    tmp_begin();
    const struct cs_bstore_sqlite_opts opts = { .n_conns = n_conns };
    struct cs_bstore *st = NULL;
    EXPECT_OK(cs_bstore_sqlite_open_with(tmp_path("db"), &opts, &st));
    if (st == NULL) {
        tmp_end();
        return 0;
    }
    struct cs_session s = challenged(1, T0, 60);
    EXPECT_OK(cs_bstore_session_create(st, &s));
    struct writer w = { st, false, 0, 0 };
    pthread_t th;
    EXPECT_EQ(pthread_create(&th, NULL, writer_run, &w), 0);
    size_t n_fail = 0;
    size_t n = 0;
    *worst = 0;
    double t0 = now_s();
    double t = t0;
    while (t - t0 < 0.5) {
        struct cs_session g = { 0 };
        n_fail += !cs_ok(cs_bstore_session_get(st, s.id_hash, T0, &g));
        cs_session_clear(&g);
        double t1 = now_s();
        *worst = t1 - t > *worst ? t1 - t : *worst;
        t = t1;
        n++;
    }
    atomic_store(&w.is_done, true);
    pthread_join(th, NULL);
    *worst *= 1000;
    *puts = w.n_puts;
    EXPECT_EQ(n_fail + w.n_fail, 0);
    cs_bstore_close(st);
    tmp_end();
    return (double)n / (t - t0);
}

/*
 * Prints round trips per second (create + attest + get). CS_BSTORE_BENCH=N sets the
 * round trips per thread (default 200: quick under valgrind); correctness is asserted,
 * speed only reported.
 */
static void test_sqlite_round_trip_rate(void)
{
    const char *env = getenv("CS_BSTORE_BENCH");
    unsigned n = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 200;
    if (n == 0 || n > 90000) {
        n = 200;
    }
    printf("  round trips/s, 1 thread, 1 connection:  %.0f\n", bench_rate(1, 1, n));
    printf("  round trips/s, 1 thread, pool of 4:     %.0f\n", bench_rate(4, 1, n));
    printf("  round trips/s, 8 threads, 1 connection: %.0f\n", bench_rate(1, 8, n / 8 + 1));
    printf("  round trips/s, 8 threads, pool of 4:    %.0f\n", bench_rate(4, 8, n / 8 + 1));
    for (unsigned conns = 1; conns <= 4; conns += 3) {
        double worst = 0;
        size_t puts = 0;
        double rate = reads_beside_writer(conns, &worst, &puts);
        printf("  session_get/s beside a 64 KiB resource writer, %u connection(s): %.0f"
               " (slowest %.1f ms; %zu puts)\n",
               conns, rate, worst, puts);
    }
}

CS_TEST_MAIN(CS_TEST(test_sessions_create_get), CS_TEST(test_sessions_create_rejects),
             CS_TEST(test_sessions_attest), CS_TEST(test_sessions_expiry),
             CS_TEST(test_sessions_delete), CS_TEST(test_sessions_list),
             CS_TEST(test_sessions_attest_race), CS_TEST(test_concurrent_mixed),
             CS_TEST(test_sessions_out_of_memory), CS_TEST(test_resources_versions),
             CS_TEST(test_resources_rejects), CS_TEST(test_resources_list),
             CS_TEST(test_policies), CS_TEST(test_refvals), CS_TEST(test_archive),
             CS_TEST(test_sqlite_reopen_keeps_data), CS_TEST(test_sqlite_schema_version),
             CS_TEST(test_sqlite_files), CS_TEST(test_sqlite_no_plaintext_at_rest),
             CS_TEST(test_sqlite_round_trip_rate))
