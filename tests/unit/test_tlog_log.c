/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log on SQLite: roots, inclusion and consistency proofs byte-equal to the
 * reference vectors generated with Go's x/mod sumdb/tlog (../shared/vectors/tlog/generated),
 * checkpoints byte-equal to the reference signer's, tiles byte-equal to the reference tiles,
 * concurrent appends through group commit, restart, bad input, and receipts' proofs.
 */
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_hex.h"
#include "crypto/cs_ecdsa.h"
#include "cs_test.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

#define H CS_MERKLE_HASH_LEN
/*
 * Hashes an inclusion proof at the current size may read from the store: the leaf and one
 * sibling per level below the in-memory levels (8); the right edge and the levels above
 * come from memory.
 */
#define UPPER_READS_MAX 9u

static char tmpdir[256];

static void rm_rf(const char *path);

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0') {
        rm_rf(tmpdir);
        tmpdir[0] = '\0';
    }
}

static void make_tmpdir(void)
{
    if (tmpdir[0] != '\0') {
        return;
    }
    atexit(remove_tmpdir); /* also when a test exits early (skip) */
    /* tmpfs when there is one: fsync is then cheap and the tests stay fast */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/custos-tlog-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL) {
        abort();
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", path);
    }
}

static struct cs_log *open_fresh(const char *name)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    struct cs_log_store st;
    struct cs_log *log = NULL;
    EXPECT_OK(cs_log_sqlite_open(path, &st));
    EXPECT_OK(cs_log_open(st, &log));
    return log;
}

static void append_leaves(struct cs_log *log, uint64_t n)
{
    struct cs_cur batch[256];
    char bufs[256][32];
    uint64_t done = 0;
    while (done < n) {
        size_t k = 0;
        for (; k < 256 && done + k < n; k++) {
            int len = snprintf(bufs[k], sizeof bufs[k], "leaf-%llu", (unsigned long long)(done + k));
            batch[k] = cs_cur_of((const uint8_t *)bufs[k], (size_t)len);
        }
        uint64_t first = 0;
        EXPECT_OK(cs_log_append_many(log, batch, k, &first));
        EXPECT_EQ(first, done);
        done += k;
    }
}

static json_t *load_vector(const char *name)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/vectors/tlog/generated/%s", shared, name);
    return json_load_file(path, 0, NULL);
}

static void hex32(const json_t *s, uint8_t out[H])
{
    const char *t = json_string_value(s);
    if (t == NULL || !cs_ok(cs_hex_decode(t, strlen(t), out, H))) {
        abort();
    }
}

/* Every root, inclusion and consistency proof of a generated vector file. */
static void check_vector_tree(const char *name)
{
    json_t *v = load_vector(name);
    if (v == NULL) {
        printf("SKIP: ../shared/vectors/tlog is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    uint64_t n = (uint64_t)json_integer_value(json_object_get(v, "n"));
    struct cs_log *log = open_fresh(name);
    append_leaves(log, n);
    size_t i;
    const json_t *e;
    uint8_t want[H], got[H], leaf[H], root[H], proof[CS_MERKLE_PROOF_MAX * H];
    json_array_foreach(json_object_get(v, "roots"), i, e)
    {
        hex32(json_object_get(e, "root_hex"), want);
        EXPECT_OK(cs_log_root(log, (uint64_t)json_integer_value(json_object_get(e, "size")), got));
        EXPECT_MEM_EQ(got, want, H);
    }
    int n_inc = 0, n_con = 0;
    json_array_foreach(json_object_get(v, "inclusion_proofs"), i, e)
    {
        size_t np = 0;
        uint64_t idx = (uint64_t)json_integer_value(json_object_get(e, "index"));
        uint64_t size = (uint64_t)json_integer_value(json_object_get(e, "size"));
        EXPECT_OK(cs_log_prove_inclusion(log, idx, size, leaf, root, proof, &np));
        const json_t *pj = json_object_get(e, "proof_hex");
        EXPECT_EQ(np, json_array_size(pj));
        for (size_t k = 0; k < np && k < json_array_size(pj); k++) {
            hex32(json_array_get(pj, k), want);
            EXPECT_MEM_EQ(proof + k * H, want, H);
        }
        hex32(json_object_get(e, "root_hex"), want);
        EXPECT_MEM_EQ(root, want, H);
        EXPECT_OK(cs_merkle_verify_inclusion(idx, size, leaf, proof, np, root));
        n_inc++;
    }
    json_array_foreach(json_object_get(v, "consistency_proofs"), i, e)
    {
        size_t np = 0;
        uint64_t m = (uint64_t)json_integer_value(json_object_get(e, "old_size"));
        uint64_t s = (uint64_t)json_integer_value(json_object_get(e, "new_size"));
        uint8_t r1[H];
        EXPECT_OK(cs_log_prove_consistency(log, m, s, r1, root, proof, &np));
        const json_t *pj = json_object_get(e, "proof_hex");
        EXPECT_EQ(np, json_array_size(pj));
        for (size_t k = 0; k < np && k < json_array_size(pj); k++) {
            hex32(json_array_get(pj, k), want);
            EXPECT_MEM_EQ(proof + k * H, want, H);
        }
        EXPECT_OK(cs_merkle_verify_consistency(m, s, r1, root, proof, np));
        n_con++;
    }
    printf("%s: %d inclusion, %d consistency proofs\n", name, n_inc, n_con);
    EXPECT_TRUE(n_inc > 0 && n_con > 0);

    /* the checkpoint signed with the reference key is byte-identical (Ed25519 is deterministic) */
    const json_t *cp = json_object_get(v, "checkpoint");
    const char *skey = json_string_value(json_object_get(cp, "signer_key"));
    const char *vkey = json_string_value(json_object_get(cp, "verifier_key"));
    struct cs_note_signer s = { 0 };
    EXPECT_OK(cs_note_signer_parse(cs_cur_of((const uint8_t *)skey, strlen(skey)), &s));
    char note[CS_LOG_NOTE_MAX], vk[CS_NOTE_VKEY_MAX];
    size_t len = 0;
    uint64_t size = 0;
    EXPECT_OK(cs_note_signer_vkey(&s, vk, sizeof vk));
    EXPECT_STR_EQ(vk, vkey);
    EXPECT_OK(cs_log_checkpoint(log, &s, note, sizeof note, &len, &size));
    EXPECT_EQ(size, n);
    EXPECT_STR_EQ(note, json_string_value(json_object_get(cp, "signed")));
    cs_note_signer_clear(&s);
    cs_log_close(log);
    json_decref(v);
}

static void test_tree_17_all_proofs(void)
{
    check_vector_tree("tree-17-all-proofs.json");
}

static void test_tree_1000(void)
{
    check_vector_tree("tree-1000.json");
}

static void sha256_file(const char *path, char hex[65])
{
    size_t len = 0;
    unsigned char *p = tv_read(path, &len);
    uint8_t d[32];
    EXPECT_OK(cs_sha256(cs_cur_of(p, len), d));
    EXPECT_OK(cs_hex_encode(d, 32, hex, 65));
    free(p);
}

static void test_tiles_600(void)
{
    json_t *v = load_vector("tree-600-tiles.json");
    if (v == NULL) {
        printf("SKIP: ../shared/vectors/tlog is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    struct cs_log *log = open_fresh("tiles.db");
    append_leaves(log, 600);
    const json_t *cp = json_object_get(v, "checkpoint");
    const char *signed_note = json_string_value(json_object_get(cp, "signed"));
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiles", tmpdir);
    EXPECT_OK(cs_log_write_tiles(log, 600,
                                 cs_cur_of((const uint8_t *)signed_note, strlen(signed_note)), dir));
    size_t i;
    const json_t *t;
    int n = 0;
    json_array_foreach(json_object_get(v, "tiles"), i, t)
    {
        char path[1024], hex[65];
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(t, "path")));
        sha256_file(path, hex);
        EXPECT_STR_EQ(hex, json_string_value(json_object_get(t, "sha256")));
        n++;
    }
    EXPECT_TRUE(n >= 8);
    /* a checkpoint of another tree is refused */
    EXPECT_ERR(cs_log_write_tiles(log, 599,
                                  cs_cur_of((const uint8_t *)signed_note, strlen(signed_note)), dir),
               CS_E_ARG);
    cs_log_close(log);
    json_decref(v);
}

static void test_tile_paths(void)
{
    char p[40];
    EXPECT_OK(cs_tile_index_path(5, p, sizeof p));
    EXPECT_STR_EQ(p, "005");
    EXPECT_OK(cs_tile_index_path(1000, p, sizeof p));
    EXPECT_STR_EQ(p, "x001/000");
    EXPECT_OK(cs_tile_index_path(1234067, p, sizeof p));
    EXPECT_STR_EQ(p, "x001/x234/067");
}

struct writer {
    struct cs_log *log;
    int id;
    int n;
    uint64_t *indices;
    int failures;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "w%d-%d", w->id, i);
        if (!cs_ok(cs_log_append(w->log, cs_cur_of((const uint8_t *)buf, (size_t)len),
                                 &w->indices[i]))) {
            w->failures++;
        }
    }
    return NULL;
}

static void test_group_commit_concurrency(void)
{
    enum { THREADS = 8, PER = 100 };
    struct cs_log *log = open_fresh("concurrent.db");
    static uint64_t idx[THREADS][PER];
    struct writer w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){ log, i, PER, idx[i], 0 };
        EXPECT_EQ(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        EXPECT_EQ(w[i].failures, 0);
    }
    static bool seen[THREADS * PER];
    uint8_t leaves[THREADS * PER * H];
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < PER; j++) {
            uint64_t k = idx[i][j];
            EXPECT_TRUE(k < THREADS * PER && !seen[k]);
            if (k >= THREADS * PER || seen[k]) {
                continue;
            }
            seen[k] = true;
            char buf[32];
            int len = snprintf(buf, sizeof buf, "w%d-%d", i, j);
            struct cs_blob e = { 0 };
            EXPECT_OK(cs_log_entry(log, k, &e)); /* each acknowledged index holds its entry */
            EXPECT_TRUE(e.len == (size_t)len && memcmp(e.p, buf, e.len) == 0);
            cs_blob_clear(&e);
            EXPECT_OK(cs_merkle_leaf_hash(cs_cur_of((const uint8_t *)buf, (size_t)len),
                                          leaves + k * H));
        }
    }
    uint8_t want[H], got[H];
    EXPECT_OK(cs_merkle_root(leaves, THREADS * PER, want));
    EXPECT_OK(cs_log_root(log, THREADS * PER, got));
    EXPECT_MEM_EQ(got, want, H);
    cs_log_close(log);
}

static void test_restart_and_bad_input(void)
{
    struct cs_log *log = open_fresh("restart.db");
    append_leaves(log, 10);
    uint8_t before[H];
    EXPECT_OK(cs_log_root(log, 10, before));
    uint64_t idx = 0;
    static uint8_t big[CS_LOG_ENTRY_MAX + 1];
    EXPECT_ERR(cs_log_append(log, cs_cur_of(big, sizeof big), &idx), CS_E_TOO_LARGE);
    EXPECT_ERR(cs_log_append(log, cs_cur_of(big, 0), &idx), CS_E_TRUNCATED);
    EXPECT_OK(cs_log_append(log, cs_cur_of(big, CS_LOG_ENTRY_MAX), &idx)); /* the maximum fits */
    EXPECT_EQ(idx, 10);
    cs_log_close(log);

    char path[512];
    snprintf(path, sizeof path, "%s/restart.db", tmpdir);
    struct cs_log_store st;
    EXPECT_OK(cs_log_sqlite_open(path, &st));
    EXPECT_OK(cs_log_open(st, &log));
    uint64_t size = 0;
    EXPECT_OK(cs_log_size(log, &size));
    EXPECT_EQ(size, 11);
    uint8_t again[H];
    EXPECT_OK(cs_log_root(log, 10, again));
    EXPECT_MEM_EQ(again, before, H);
    uint8_t leaf[H], root[H], proof[CS_MERKLE_PROOF_MAX * H];
    size_t n = 0;
    EXPECT_ERR(cs_log_prove_inclusion(log, 11, 11, leaf, root, proof, &n), CS_E_ARG);
    EXPECT_ERR(cs_log_prove_inclusion(log, 0, 12, leaf, root, proof, &n), CS_E_ARG);
    EXPECT_ERR(cs_log_prove_consistency(log, 0, 5, leaf, root, proof, &n), CS_E_ARG);
    EXPECT_ERR(cs_log_prove_consistency(log, 6, 5, leaf, root, proof, &n), CS_E_ARG);
    cs_log_close(log);

    /* a file that is not a custos log */
    snprintf(path, sizeof path, "%s/not-a-db", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("this is not sqlite", f);
    fclose(f);
    EXPECT_ERR(cs_log_sqlite_open(path, &st), CS_E_STORE);
}

static void test_keygen_and_sign(void)
{
    char skey[CS_NOTE_SKEY_MAX], vkey[CS_NOTE_VKEY_MAX];
    EXPECT_OK(cs_note_keygen("custos.test/audit", skey, vkey));
    EXPECT_TRUE(strncmp(skey, "PRIVATE+KEY+custos.test/audit+", 30) == 0);
    struct cs_note_signer s = { 0 };
    struct cs_note_vkey k;
    EXPECT_OK(cs_note_signer_parse(cs_cur_of((const uint8_t *)skey, strlen(skey)), &s));
    EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)vkey, strlen(vkey)), &k));
    EXPECT_EQ(k.key_id, s.key_id);
    static const char text[] = "hello\nworld\n";
    char out[512];
    size_t len = 0;
    EXPECT_OK(cs_note_sign(&s, cs_cur_of((const uint8_t *)text, sizeof text - 1), out, sizeof out,
                           &len));
    struct cs_note note;
    bool ok = false;
    EXPECT_OK(cs_note_parse((const uint8_t *)out, len, &note));
    EXPECT_OK(cs_note_verify(&note, &k, 1, &ok, NULL));
    EXPECT_TRUE(ok);
    out[0] ^= 1; /* the text changes: the signature no longer holds */
    EXPECT_OK(cs_note_parse((const uint8_t *)out, len, &note));
    EXPECT_ERR(cs_note_verify(&note, &k, 1, &ok, NULL), CS_E_SIGNATURE);
    cs_note_signer_clear(&s);
    EXPECT_ERR(cs_note_keygen("bad name", skey, vkey), CS_E_FORMAT);
    skey[strlen(skey) - 2] ^= 1; /* key id no longer matches the seed */
    EXPECT_TRUE(!cs_ok(cs_note_signer_parse(cs_cur_of((const uint8_t *)skey, strlen(skey)), &s)));
}

/* ---- caches against trees computed from scratch ------------------------------------ */

/*
 * A store that forwards to the SQLite one and fails on demand, to drive the log's failure
 * paths: before the commit (nothing lands), after it (everything landed, yet the log is
 * told it failed), or at the k-th put_hash inside a batch. Called under the log's store
 * lock, so the knobs need no lock of their own.
 */
struct fault_store {
    struct cs_log_store inner;
    bool fail_commit_before;
    bool fail_commit_after;
    long put_hash_fail_in;       /* > 0: the put_hash this many calls from now fails */
    unsigned long fail_every;    /* > 0: every fail_every-th commit fails (nothing lands) */
    unsigned long n_commits;
    unsigned long n_get_hash;    /* hashes read one by one or in sets */
    unsigned long n_set_reads;   /* get_hash_set calls */
};

#define FS(ctx) ((struct fault_store *)(ctx))
#define FS_FAIL(c) return (cs_res){ .code = (c), .line = __LINE__, .file = __FILE__ }

static cs_res fs_begin_write(void *ctx)
{
    return FS(ctx)->inner.ops->begin_write(FS(ctx)->inner.ctx);
}

static cs_res fs_commit(void *ctx)
{
    struct fault_store *f = ctx;
    f->n_commits++;
    if (f->fail_commit_before || (f->fail_every > 0 && f->n_commits % f->fail_every == 0)) {
        FS_FAIL(CS_E_STORE); /* the log rolls back */
    }
    cs_res r = f->inner.ops->commit(f->inner.ctx);
    if (cs_ok(r) && f->fail_commit_after) {
        FS_FAIL(CS_E_IO); /* durable, but reported as failed */
    }
    return r;
}

static void fs_rollback(void *ctx)
{
    FS(ctx)->inner.ops->rollback(FS(ctx)->inner.ctx);
}

static cs_res fs_begin_read(void *ctx)
{
    return FS(ctx)->inner.ops->begin_read(FS(ctx)->inner.ctx);
}

static void fs_end_read(void *ctx)
{
    FS(ctx)->inner.ops->end_read(FS(ctx)->inner.ctx);
}

static cs_res fs_get_size(void *ctx, uint64_t *size)
{
    return FS(ctx)->inner.ops->get_size(FS(ctx)->inner.ctx, size);
}

static cs_res fs_set_size(void *ctx, uint64_t size)
{
    return FS(ctx)->inner.ops->set_size(FS(ctx)->inner.ctx, size);
}

static cs_res fs_get_hash(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    FS(ctx)->n_get_hash++;
    return FS(ctx)->inner.ops->get_hash(FS(ctx)->inner.ctx, level, index, out);
}

static cs_res fs_get_hashes(void *ctx, unsigned level, uint64_t from, uint64_t n, uint8_t *out)
{
    return FS(ctx)->inner.ops->get_hashes(FS(ctx)->inner.ctx, level, from, n, out);
}

static cs_res fs_get_hash_set(void *ctx, size_t n, const unsigned *levels,
                              const uint64_t *indices, uint8_t *out)
{
    FS(ctx)->n_get_hash += n;
    FS(ctx)->n_set_reads++;
    return FS(ctx)->inner.ops->get_hash_set(FS(ctx)->inner.ctx, n, levels, indices, out);
}

static cs_res fs_put_hash(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
    struct fault_store *f = ctx;
    if (f->put_hash_fail_in > 0 && --f->put_hash_fail_in == 0) {
        FS_FAIL(CS_E_STORE);
    }
    return f->inner.ops->put_hash(f->inner.ctx, level, index, hash);
}

static cs_res fs_get_entry(void *ctx, uint64_t index, struct cs_blob *out)
{
    return FS(ctx)->inner.ops->get_entry(FS(ctx)->inner.ctx, index, out);
}

static cs_res fs_put_entry(void *ctx, uint64_t index, struct cs_cur entry)
{
    return FS(ctx)->inner.ops->put_entry(FS(ctx)->inner.ctx, index, entry);
}

static cs_res fs_put_checkpoint(void *ctx, uint64_t size, struct cs_cur note)
{
    return FS(ctx)->inner.ops->put_checkpoint(FS(ctx)->inner.ctx, size, note);
}

static void fs_close(void *ctx)
{
    FS(ctx)->inner.ops->close(FS(ctx)->inner.ctx);
    free(ctx);
}

static const struct cs_log_store_ops fault_ops = {
    .begin_write = fs_begin_write,
    .commit = fs_commit,
    .rollback = fs_rollback,
    .begin_read = fs_begin_read,
    .end_read = fs_end_read,
    .get_size = fs_get_size,
    .set_size = fs_set_size,
    .get_hash = fs_get_hash,
    .get_hashes = fs_get_hashes,
    .get_hash_set = fs_get_hash_set,
    .put_hash = fs_put_hash,
    .get_entry = fs_get_entry,
    .put_entry = fs_put_entry,
    .put_checkpoint = fs_put_checkpoint,
    .close = fs_close,
};

/* Opens tmpdir/name (kept as it is) behind a fault_store; *f stays valid until the close. */
static struct cs_log *open_faulty(const char *name, struct fault_store **f)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    *f = calloc(1, sizeof **f);
    if (*f == NULL) {
        abort();
    }
    EXPECT_OK(cs_log_sqlite_open(path, &(*f)->inner));
    struct cs_log *log = NULL;
    EXPECT_OK(cs_log_open((struct cs_log_store){ &fault_ops, *f }, &log));
    return log;
}

/* The tree as the test knows it: the leaf hash of every entry that landed, by index. */
struct scratch {
    uint8_t *leaves;
    uint64_t size;
    uint64_t next_id; /* entries are "s<id>", each id used once */
};

static struct cs_cur scratch_entry(uint64_t id, char buf[32])
{
    int len = snprintf(buf, 32, "s%llu", (unsigned long long)id);
    return cs_cur_of((const uint8_t *)buf, (size_t)len);
}

/* The n entries next_id, next_id + 1, ... appended in one call; they land when is_landing. */
static cs_res scratch_append(struct cs_log *log, struct scratch *t, size_t n, bool is_landing)
{
    static char bufs[1024][32];
    static struct cs_cur batch[1024];
    if (n > 1024) {
        abort();
    }
    uint64_t first_id = t->next_id;
    for (size_t i = 0; i < n; i++) {
        batch[i] = scratch_entry(t->next_id++, bufs[i]);
    }
    uint64_t first = 0;
    cs_res r = n == 1 ? cs_log_append(log, batch[0], &first)
                      : cs_log_append_many(log, batch, n, &first);
    if (cs_ok(r)) {
        EXPECT_EQ(first, t->size);
    }
    if (is_landing) {
        t->leaves = realloc(t->leaves, (size_t)(t->size + n) * H);
        if (t->leaves == NULL) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            char buf[32];
            EXPECT_OK(cs_merkle_leaf_hash(scratch_entry(first_id + i, buf),
                                          t->leaves + (t->size + i) * H));
        }
        t->size += n;
    }
    return r;
}

/* Sizes worth checking in a tree of `size`: small ones, around the tile boundaries, random. */
static size_t sample_sizes(uint64_t size, uint64_t *out, uint64_t *seed)
{
    static const uint64_t fixed[] = { 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 511, 512, 513,
                                      767, 768, 1023, 1024, 1025 };
    size_t n = 0;
    out[n++] = size; /* first */
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (fixed[i] <= size) {
            out[n++] = fixed[i];
        }
    }
    for (uint64_t d = 1; d < 3 && d < size; d++) {
        out[n++] = size - d;
    }
    for (int i = 0; i < 6; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        out[n++] = 1 + (*seed >> 33) % size;
    }
    return n;
}

/*
 * Every answer of the log against the tree computed from scratch: size, roots of sampled
 * sizes, inclusion proofs of sampled indices (in the whole tree and in a sampled smaller
 * one), consistency proofs from sampled sizes; each proof must verify against the scratch
 * roots. A wrong cached edge or in-memory level changes a root or a proof hash.
 */
static void check_scratch(struct cs_log *log, const struct scratch *t, const char *when)
{
    static uint64_t seed = 0x5eed;
    uint64_t size = 0;
    EXPECT_OK(cs_log_size(log, &size));
    EXPECT_EQ(size, t->size);
    if (size != t->size || size == 0) {
        return;
    }
    int failures = cs_test_failures;
    uint64_t sizes[40];
    size_t n_sizes = sample_sizes(size, sizes, &seed);
    uint8_t roots[40][H];
    uint8_t got[H], leaf[H], root[H], proof[CS_MERKLE_PROOF_MAX * H];
    for (size_t i = 0; i < n_sizes; i++) {
        EXPECT_OK(cs_merkle_root(t->leaves, sizes[i], roots[i]));
        EXPECT_OK(cs_log_root(log, sizes[i], got));
        EXPECT_MEM_EQ(got, roots[i], H);
    }
    const uint8_t *full = roots[0]; /* sizes[0] == size */
    for (size_t i = 0; i < n_sizes; i++) {
        uint64_t idx = sizes[i] - 1;
        size_t np = 0;
        EXPECT_OK(cs_log_prove_inclusion(log, idx, size, leaf, root, proof, &np));
        EXPECT_MEM_EQ(leaf, t->leaves + idx * H, H);
        EXPECT_MEM_EQ(root, full, H);
        EXPECT_OK(cs_merkle_verify_inclusion(idx, size, t->leaves + idx * H, proof, np, full));
        /* and in the smaller tree sizes[i] */
        EXPECT_OK(cs_log_prove_inclusion(log, idx / 2, sizes[i], leaf, root, proof, &np));
        EXPECT_OK(cs_merkle_verify_inclusion(idx / 2, sizes[i], t->leaves + (idx / 2) * H,
                                             proof, np, roots[i]));
        uint8_t old_root[H];
        EXPECT_OK(cs_log_prove_consistency(log, sizes[i], size, old_root, root, proof, &np));
        EXPECT_MEM_EQ(old_root, roots[i], H);
        EXPECT_MEM_EQ(root, full, H);
        EXPECT_OK(cs_merkle_verify_consistency(sizes[i], size, roots[i], full, proof, np));
    }
    if (cs_test_failures != failures) {
        fprintf(stderr, "  ... %s, size %llu\n", when, (unsigned long long)size);
    }
}

static void test_caches_against_scratch(void)
{
    struct fault_store *f = NULL;
    struct cs_log *log = open_faulty("caches.db", &f);
    struct scratch t = { 0 };
    check_scratch(log, &t, "empty");
    /* growing across the level-8, 9 and 10 boundaries, in batches and singly */
    static const size_t steps[] = { 1, 1, 2, 3, 250, 254, 1, 1, 1, 1, 1, 1, 1, 1, 1, 500, 4, 3 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        EXPECT_OK(scratch_append(log, &t, steps[i], true));
        check_scratch(log, &t, "after appends");
    }
    EXPECT_EQ(t.size, 1027);

    /* the commit fails and nothing lands: the cached edge and levels stay as they were */
    f->fail_commit_before = true;
    EXPECT_ERR(scratch_append(log, &t, 100, false), CS_E_STORE);
    EXPECT_ERR(scratch_append(log, &t, 1, false), CS_E_STORE);
    f->fail_commit_before = false;
    check_scratch(log, &t, "after failed commits");
    EXPECT_OK(scratch_append(log, &t, 300, true)); /* crosses 1280 (level 8) */
    check_scratch(log, &t, "after a failed commit and appends");

    /* a write fails inside a batch that completes level-8 and level-9 subtrees */
    f->put_hash_fail_in = 700;
    EXPECT_ERR(scratch_append(log, &t, 600, false), CS_E_STORE);
    f->put_hash_fail_in = 0;
    check_scratch(log, &t, "after a failed write");
    EXPECT_OK(scratch_append(log, &t, 1, true));
    EXPECT_OK(scratch_append(log, &t, 250, true));
    check_scratch(log, &t, "after a failed write and appends");

    /* the commit lands but reports failure: the next commit finds a bigger tree */
    f->fail_commit_after = true;
    EXPECT_ERR(scratch_append(log, &t, 40, true), CS_E_IO);
    f->fail_commit_after = false;
    check_scratch(log, &t, "after a commit that landed but failed");
    EXPECT_OK(scratch_append(log, &t, 3, true));
    EXPECT_OK(scratch_append(log, &t, 500, true));
    check_scratch(log, &t, "after appends on a commit that landed but failed");

    /* proofs at the current size take the right edge and upper levels from memory */
    uint8_t leaf[H], root[H], proof[CS_MERKLE_PROOF_MAX * H];
    size_t np = 0;
    f->n_get_hash = f->n_set_reads = 0;
    EXPECT_OK(cs_log_prove_inclusion(log, 5, t.size, leaf, root, proof, &np));
    EXPECT_TRUE(f->n_get_hash <= UPPER_READS_MAX && f->n_set_reads == 1);
    printf("inclusion proof at %llu: %lu hashes from the store in %lu read\n",
           (unsigned long long)t.size, f->n_get_hash, f->n_set_reads);
    /* with an older size, the right edge is read too, still in few reads */
    f->n_get_hash = f->n_set_reads = 0;
    EXPECT_OK(cs_log_prove_inclusion(log, 5, t.size - 1, leaf, root, proof, &np));
    EXPECT_TRUE(f->n_set_reads <= (f->n_get_hash + CS_LOG_STORE_SET_MAX - 1) /
                                      CS_LOG_STORE_SET_MAX);
    cs_log_close(log);

    /* reopened: the caches are rebuilt from the store */
    log = open_faulty("caches.db", &f);
    f->n_get_hash = f->n_set_reads = 0;
    EXPECT_OK(cs_log_prove_inclusion(log, t.size - 700, t.size, leaf, root, proof, &np));
    EXPECT_TRUE(f->n_get_hash <= UPPER_READS_MAX); /* loaded at open */
    check_scratch(log, &t, "after reopen");
    EXPECT_OK(scratch_append(log, &t, 260, true));
    check_scratch(log, &t, "after reopen and appends");

    /*
     * A second connection grows the tree: the first one's caches are behind it. First to
     * exactly the size a failed commit of the first one would have made, with other entries:
     * a cache taken from the failed batch would have the right key and the wrong hashes.
     */
    char path[512];
    snprintf(path, sizeof path, "%s/caches.db", tmpdir);
    struct cs_log_store st;
    struct cs_log *other = NULL;
    EXPECT_OK(cs_log_sqlite_open(path, &st));
    EXPECT_OK(cs_log_open(st, &other));
    f->fail_commit_before = true;
    EXPECT_ERR(scratch_append(log, &t, 50, false), CS_E_STORE);
    f->fail_commit_before = false;
    EXPECT_OK(scratch_append(other, &t, 50, true));
    check_scratch(log, &t, "after a failed commit and another connection's of its size");
    EXPECT_OK(scratch_append(other, &t, 700, true));
    check_scratch(log, &t, "after another connection appended");
    EXPECT_OK(scratch_append(log, &t, 5, true));
    check_scratch(log, &t, "after appends on top of another connection's");
    check_scratch(other, &t, "in the other connection");
    EXPECT_OK(scratch_append(other, &t, 1, true));
    check_scratch(other, &t, "in the other connection after appends");
    cs_log_close(other);
    cs_log_close(log);
    free(t.leaves);
}

struct fault_writer {
    struct cs_log *log;
    int id;
    int n_calls;
    int n_ok;
    int n_failed;
    uint64_t first[64]; /* per call: the first index, or UINT64_MAX when it failed */
    int count[64];      /* per call: entries */
};

static void fault_entry(int id, int call, int k, char buf[32], struct cs_cur *out)
{
    int len = snprintf(buf, 32, "f%d-%d-%d", id, call, k);
    *out = cs_cur_of((const uint8_t *)buf, (size_t)len);
}

static void *fault_write(void *arg)
{
    struct fault_writer *w = arg;
    for (int c = 0; c < w->n_calls; c++) {
        char bufs[3][32];
        struct cs_cur e[3];
        w->count[c] = (w->id + c) % 4 == 0 ? 3 : 1;
        for (int k = 0; k < w->count[c]; k++) {
            fault_entry(w->id, c, k, bufs[k], &e[k]);
        }
        uint64_t first = 0;
        cs_res r = w->count[c] == 1 ? cs_log_append(w->log, e[0], &first)
                                    : cs_log_append_many(w->log, e, 3, &first);
        w->first[c] = cs_ok(r) ? first : UINT64_MAX;
        *(cs_ok(r) ? &w->n_ok : &w->n_failed) += 1;
    }
    return NULL;
}

/*
 * Group commit with failing commits: every 3rd commit fails, while 8 threads append singly
 * and in threes. Each caller learns its own commit's result: the log holds exactly the
 * acknowledged entries at their acknowledged indices, and the tree (root, caches) is that
 * of those entries.
 */
static void test_group_commit_failures(void)
{
    enum { THREADS = 8, CALLS = 40 };
    struct fault_store *f = NULL;
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/faults.db", tmpdir);
    unlink(path);
    struct cs_log *log = open_faulty("faults.db", &f);
    f->fail_every = 3;
    static struct fault_writer w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct fault_writer){ .log = log, .id = i, .n_calls = CALLS };
        EXPECT_EQ(pthread_create(&th[i], NULL, fault_write, &w[i]), 0);
    }
    uint64_t acked = 0;
    int n_failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        n_failed += w[i].n_failed;
        for (int c = 0; c < CALLS; c++) {
            acked += w[i].first[c] != UINT64_MAX ? (uint64_t)w[i].count[c] : 0;
        }
    }
    f->fail_every = 0;
    printf("%lu commits, %d calls failed, %llu entries acknowledged\n", f->n_commits, n_failed,
           (unsigned long long)acked);
    EXPECT_TRUE(n_failed > 0 && acked > 0);
    uint64_t size = 0;
    EXPECT_OK(cs_log_size(log, &size));
    EXPECT_EQ(size, acked);
    struct scratch t = { .size = size };
    t.leaves = calloc((size_t)size + 1, H);
    static bool seen[THREADS * CALLS * 3];
    for (int i = 0; i < THREADS; i++) {
        for (int c = 0; c < CALLS; c++) {
            for (int k = 0; k < w[i].count[c] && w[i].first[c] != UINT64_MAX; k++) {
                uint64_t idx = w[i].first[c] + (uint64_t)k;
                EXPECT_TRUE(idx < size && !seen[idx]);
                if (idx >= size || seen[idx]) {
                    continue;
                }
                seen[idx] = true;
                char buf[32];
                struct cs_cur e;
                fault_entry(i, c, k, buf, &e);
                struct cs_blob got = { 0 };
                EXPECT_OK(cs_log_entry(log, idx, &got));
                EXPECT_TRUE(got.len == e.left && memcmp(got.p, e.p, e.left) == 0);
                cs_blob_clear(&got);
                EXPECT_OK(cs_merkle_leaf_hash(e, t.leaves + idx * H));
            }
        }
    }
    check_scratch(log, &t, "after concurrent appends with failing commits");
    t.next_id = 1u << 20;
    EXPECT_OK(scratch_append(log, &t, 10, true));
    check_scratch(log, &t, "after concurrent appends with failing commits, then appends");
    cs_log_close(log);
    free(t.leaves);
}

/* The store's range read: consecutive hashes, and CS_E_STORE for any missing one. */
static void test_store_range_read(void)
{
    struct cs_log *log = open_fresh("range.db");
    append_leaves(log, 40);
    cs_log_close(log);
    char path[512];
    snprintf(path, sizeof path, "%s/range.db", tmpdir);
    struct cs_log_store st;
    EXPECT_OK(cs_log_sqlite_open(path, &st));
    uint8_t one[H], many[40 * H];
    EXPECT_OK(st.ops->get_hashes(st.ctx, 0, 0, 40, many));
    for (uint64_t i = 0; i < 40; i += 13) {
        EXPECT_OK(st.ops->get_hash(st.ctx, 0, i, one));
        EXPECT_MEM_EQ(one, many + i * H, H);
    }
    EXPECT_OK(st.ops->get_hashes(st.ctx, 3, 2, 3, many)); /* level 3: (3, 0..4) exist */
    EXPECT_OK(st.ops->get_hash(st.ctx, 3, 4, one));
    EXPECT_MEM_EQ(one, many + 2 * H, H);
    EXPECT_OK(st.ops->get_hashes(st.ctx, 0, 40, 0, many)); /* nothing asked, nothing read */
    EXPECT_ERR(st.ops->get_hashes(st.ctx, 0, 39, 2, many), CS_E_STORE);  /* 40 is absent */
    EXPECT_ERR(st.ops->get_hashes(st.ctx, 3, 4, 2, many), CS_E_STORE);   /* (3, 5) absent */
    EXPECT_ERR(st.ops->get_hashes(st.ctx, 9, 0, 1, many), CS_E_STORE);
    EXPECT_ERR(st.ops->get_hashes(st.ctx, 0, (uint64_t)INT64_MAX, 2, many), CS_E_ARG);

    /* sets of positions: any order, repeats, up to CS_LOG_STORE_SET_MAX */
    unsigned levels[CS_LOG_STORE_SET_MAX + 1];
    uint64_t idx[CS_LOG_STORE_SET_MAX + 1];
    for (size_t i = 0; i <= CS_LOG_STORE_SET_MAX; i++) {
        levels[i] = (unsigned)(i % 4);
        idx[i] = (i * 7) % (40u >> levels[i]);
    }
    idx[3] = idx[7]; /* positions 3 and 7 repeat one (level 3) hash */
    levels[3] = levels[7];
    EXPECT_OK(st.ops->get_hash_set(st.ctx, CS_LOG_STORE_SET_MAX, levels, idx, many));
    for (size_t i = 0; i < CS_LOG_STORE_SET_MAX; i++) {
        EXPECT_OK(st.ops->get_hash(st.ctx, levels[i], idx[i], one));
        EXPECT_MEM_EQ(one, many + i * H, H);
    }
    EXPECT_OK(st.ops->get_hash_set(st.ctx, 0, NULL, NULL, NULL));
    EXPECT_ERR(st.ops->get_hash_set(st.ctx, CS_LOG_STORE_SET_MAX + 1, levels, idx, many),
               CS_E_ARG);
    idx[5] = 40; /* (1, 40) is absent */
    EXPECT_ERR(st.ops->get_hash_set(st.ctx, 6, levels, idx, many), CS_E_STORE);
    EXPECT_OK(st.ops->get_hash_set(st.ctx, 5, levels, idx, many)); /* no stale binding */
    st.ops->close(st.ctx);
}

static void test_cleanup(void)
{
    remove_tmpdir();
}

CS_TEST_MAIN(CS_TEST(test_tile_paths), CS_TEST(test_keygen_and_sign),
             CS_TEST(test_group_commit_concurrency), CS_TEST(test_restart_and_bad_input),
             CS_TEST(test_tree_17_all_proofs), CS_TEST(test_tree_1000), CS_TEST(test_tiles_600),
             CS_TEST(test_caches_against_scratch), CS_TEST(test_group_commit_failures),
             CS_TEST(test_store_range_read), CS_TEST(test_cleanup))
