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

static void test_cleanup(void)
{
    remove_tmpdir();
}

CS_TEST_MAIN(CS_TEST(test_tile_paths), CS_TEST(test_keygen_and_sign),
             CS_TEST(test_group_commit_concurrency), CS_TEST(test_restart_and_bad_input),
             CS_TEST(test_tree_17_all_proofs), CS_TEST(test_tree_1000), CS_TEST(test_tiles_600),
             CS_TEST(test_cleanup))
