/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent client without a broker: the state envelope (layout, AAD binding), the
 * anti-rollback memory (atomic file, refusals), the checks of a state read against a real
 * signed log (checkpoint, inclusion, record, consistency, version), and the PoP signer.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_int.h"
#include "core/cs_b64.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_jose.h"
#include "crypto/cs_tee_pop.h"
#include "cs_test.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"
#include "tlog/note.h"

static const uint8_t KEY[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static char tmpdir[256];

static void make_tmpdir(void)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/cs-client-test-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
}

/* ---- names and the envelope ---- */

static void test_object_names(void)
{
    EXPECT_TRUE(cs_state_object_ok("agent.cfg"));
    EXPECT_TRUE(cs_state_object_ok("a-b_c.D9"));
    EXPECT_TRUE(!cs_state_object_ok(""));
    EXPECT_TRUE(!cs_state_object_ok("."));
    EXPECT_TRUE(!cs_state_object_ok(".."));
    EXPECT_TRUE(!cs_state_object_ok("a/b"));
    EXPECT_TRUE(!cs_state_object_ok("a b"));
    EXPECT_TRUE(!cs_state_object_ok(NULL));
    char n[130];
    memset(n, 'x', 128);
    n[128] = '\0';
    EXPECT_TRUE(cs_state_object_ok(n));
    n[128] = 'x';
    n[129] = '\0';
    EXPECT_TRUE(!cs_state_object_ok(n));
}

static void test_envelope_round_trip(void)
{
    static const uint8_t pt[] = "the agent's state";
    uint8_t *env = NULL;
    size_t env_len = 0;
    EXPECT_OK(cs_state_seal(KEY, "agent", "obj", 7, pt, sizeof pt, &env, &env_len));
    EXPECT_EQ(env_len, 1 + 12 + sizeof pt + 16); /* 0x01 || nonce || ct || tag */
    EXPECT_EQ(env[0], 0x01);
    uint8_t *out = NULL;
    size_t len = 0;
    EXPECT_OK(cs_state_open(KEY, "agent", "obj", 7, env, env_len, &out, &len));
    EXPECT_EQ(len, sizeof pt);
    if (out != NULL) {
        EXPECT_MEM_EQ(out, pt, sizeof pt);
    }
    cs_free_wipe(out, len);
    /* two seals of the same input differ (fresh nonce) */
    uint8_t *env2 = NULL;
    size_t env2_len = 0;
    EXPECT_OK(cs_state_seal(KEY, "agent", "obj", 7, pt, sizeof pt, &env2, &env2_len));
    EXPECT_TRUE(env2_len == env_len && memcmp(env, env2, env_len) != 0);
    cs_free(env2);
    /* an empty state */
    EXPECT_OK(cs_state_seal(KEY, "agent", "obj", 1, NULL, 0, &env2, &env2_len));
    EXPECT_EQ(env2_len, 29);
    EXPECT_OK(cs_state_open(KEY, "agent", "obj", 1, env2, env2_len, &out, &len));
    EXPECT_EQ(len, 0);
    cs_free_wipe(out, 1);
    cs_free(env2);
    cs_free(env);
}

/* The AAD is identity 0 object 0 version: moving a blob anywhere else fails to open. */
static void test_envelope_binding(void)
{
    static const uint8_t pt[] = "v";
    uint8_t *env = NULL;
    size_t env_len = 0;
    EXPECT_OK(cs_state_seal(KEY, "agent", "obj", 3, pt, sizeof pt, &env, &env_len));
    uint8_t *out = NULL;
    size_t len = 0;
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 2, env, env_len, &out, &len), CS_E_SIGNATURE);
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 30, env, env_len, &out, &len), CS_E_SIGNATURE);
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj2", 3, env, env_len, &out, &len), CS_E_SIGNATURE);
    EXPECT_ERR(cs_state_open(KEY, "agent2", "obj", 3, env, env_len, &out, &len), CS_E_SIGNATURE);
    /* the separators matter: ("agen", "tobj") is not ("agent", "obj") */
    EXPECT_ERR(cs_state_open(KEY, "agen", "tobj", 3, env, env_len, &out, &len), CS_E_SIGNATURE);
    uint8_t other[32];
    memcpy(other, KEY, sizeof other);
    other[0] ^= 1;
    EXPECT_ERR(cs_state_open(other, "agent", "obj", 3, env, env_len, &out, &len), CS_E_SIGNATURE);
    for (size_t i = 1; i < env_len; i++) {
        env[i] ^= 0x01;
        EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 3, env, env_len, &out, &len),
                   CS_E_SIGNATURE);
        env[i] ^= 0x01;
    }
    env[0] = 0x02;
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 3, env, env_len, &out, &len), CS_E_FORMAT);
    env[0] = 0x01;
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 3, env, 28, &out, &len), CS_E_TRUNCATED);
    EXPECT_ERR(cs_state_open(KEY, "agent", "obj", 3, env, env_len - 1, &out, &len),
               CS_E_SIGNATURE);
    EXPECT_TRUE(out == NULL && len == 0);
    EXPECT_OK(cs_state_open(KEY, "agent", "obj", 3, env, env_len, &out, &len));
    cs_free_wipe(out, len);
    cs_free(env);
    /* arguments */
    EXPECT_ERR(cs_state_seal(KEY, "agent", "obj", 0, pt, 1, &env, &env_len), CS_E_ARG);
    EXPECT_ERR(cs_state_seal(KEY, "", "obj", 1, pt, 1, &env, &env_len), CS_E_ARG);
    EXPECT_ERR(cs_state_seal(KEY, "agent", "../x", 1, pt, 1, &env, &env_len), CS_E_ARG);
    EXPECT_ERR(cs_state_seal(KEY, "agent", "obj", 1, pt, CUSTOS_STATE_PLAINTEXT_MAX + 1, &env,
                             &env_len),
               CS_E_TOO_LARGE);
    EXPECT_TRUE(env == NULL);
}

/* ---- the memory ---- */

static void test_memory_file(void)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/mem.json", tmpdir);
    unlink(path);
    struct cs_memory m = { 0 };
    struct custos_diag d = { 0 };
    EXPECT_OK(cs_memory_load(path, "vkey-a", &d, &m));
    EXPECT_EQ(cs_memory_version(&m, "obj"), 0);
    bool has = true;
    struct custos_checkpoint cp;
    EXPECT_OK(cs_memory_checkpoint(&m, &has, &cp));
    EXPECT_TRUE(!has);
    EXPECT_OK(cs_memory_raise(&m, "obj", 5));
    EXPECT_OK(cs_memory_raise(&m, "obj", 3)); /* never lowers */
    EXPECT_EQ(cs_memory_version(&m, "obj"), 5);
    struct custos_checkpoint set = { .size = 42 };
    memset(set.root, 0xab, sizeof set.root);
    EXPECT_OK(cs_memory_set_checkpoint(&m, &set));
    EXPECT_OK(cs_memory_save(&m, path));
    cs_memory_clear(&m);
    struct stat st;
    EXPECT_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    EXPECT_TRUE(access(tmp, F_OK) != 0); /* renamed into place */

    EXPECT_OK(cs_memory_load(path, "vkey-a", &d, &m));
    EXPECT_EQ(cs_memory_version(&m, "obj"), 5);
    EXPECT_OK(cs_memory_checkpoint(&m, &has, &cp));
    EXPECT_TRUE(has && cp.size == 42 && memcmp(cp.root, set.root, 32) == 0);
    cs_memory_clear(&m);

    /* another log's file is refused, and says so */
    EXPECT_ERR(cs_memory_load(path, "vkey-b", &d, &m), CS_E_ARG);
    EXPECT_TRUE(strstr(d.msg, "another log") != NULL);
    EXPECT_TRUE(m.doc == NULL);

    /* a symbolic link, a world-writable file, damaged contents */
    char link_path[600];
    snprintf(link_path, sizeof link_path, "%s/link.json", tmpdir);
    unlink(link_path);
    EXPECT_TRUE(symlink(path, link_path) == 0);
    EXPECT_ERR(cs_memory_load(link_path, "vkey-a", &d, &m), CS_E_IO);
    unlink(link_path);
    EXPECT_TRUE(chmod(path, 0666) == 0);
    EXPECT_ERR(cs_memory_load(path, "vkey-a", &d, &m), CS_E_IO);
    EXPECT_TRUE(chmod(path, 0600) == 0);
    static const char *const bad[] = {
        "not json",
        "{\"v\":2,\"log_vkey\":\"vkey-a\",\"objects\":{}}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\"}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\",\"objects\":{\"a/b\":1}}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\",\"objects\":{\"a\":0}}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\",\"objects\":{\"a\":\"1\"}}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\",\"objects\":{},\"checkpoint\":{\"size\":1}}",
        "{\"v\":1,\"log_vkey\":\"vkey-a\",\"objects\":{},\"checkpoint\":{\"size\":0,"
        "\"root\":\"0000000000000000000000000000000000000000000000000000000000000000\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        EXPECT_TRUE(f != NULL);
        if (f != NULL) {
            fputs(bad[i], f);
            fclose(f);
        }
        EXPECT_ERR(cs_memory_load(path, "vkey-a", &d, &m), CS_E_FORMAT);
        EXPECT_TRUE(m.doc == NULL);
    }
    unlink(path);
}

/* ---- reads against a real signed log ---- */

struct fixture {
    struct cs_log *log;
    struct cs_note_signer signer;
    char vkey[CS_NOTE_VKEY_MAX];
    uint8_t ct[64];
    size_t ct_len;
    uint64_t index; /* of the state record */
};

static void record_for(const char *object, uint64_t version, const uint8_t *ct, size_t ct_len,
                       char *out, size_t cap)
{
    uint8_t h[32];
    char hex[65];
    EXPECT_OK(cs_sha256(cs_cur_of(ct, ct_len), h));
    EXPECT_OK(cs_hex_encode(h, sizeof h, hex, sizeof hex));
    snprintf(out, cap,
             "{\"ciphertext_sha256\":\"%s\",\"object\":\"%s\",\"op\":\"put\",\"type\":\"state\","
             "\"v\":1,\"version\":%llu}",
             hex, object, (unsigned long long)version);
}

static void append_text(struct cs_log *log, const char *s, uint64_t *index)
{
    EXPECT_OK(cs_log_append(log, cs_cur_of((const uint8_t *)s, strlen(s)), index));
}

static void fixture_open(struct fixture *f, const char *name)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    struct cs_log_store st;
    EXPECT_OK(cs_log_sqlite_open(path, &st));
    EXPECT_OK(cs_log_open(st, &f->log));
    char skey[CS_NOTE_SKEY_MAX];
    EXPECT_OK(cs_note_keygen("custos.test/log", skey, f->vkey));
    EXPECT_OK(cs_note_signer_parse(cs_cur_of((const uint8_t *)skey, strlen(skey)), &f->signer));
    cs_wipe(skey, sizeof skey);
    for (size_t i = 0; i < sizeof f->ct; i++) {
        f->ct[i] = (uint8_t)(i * 7);
    }
    f->ct_len = sizeof f->ct;
    uint64_t ix = 0;
    for (int i = 0; i < 5; i++) {
        append_text(f->log, "{\"type\":\"auth\"}", &ix);
    }
    char rec[512];
    record_for("obj", 3, f->ct, f->ct_len, rec, sizeof rec);
    append_text(f->log, rec, &f->index);
    for (int i = 0; i < 4; i++) {
        append_text(f->log, "{\"type\":\"attest\"}", &ix);
    }
}

static void fixture_close(struct fixture *f)
{
    cs_note_signer_clear(&f->signer);
    cs_log_close(f->log);
}

/* The broker's GET answer for the record at index, as JSON (a new reference). */
static json_t *answer(struct fixture *f, uint64_t index, uint64_t version, const uint8_t *ct,
                      size_t ct_len)
{
    char note[CS_LOG_NOTE_MAX];
    size_t note_len = 0;
    uint64_t size = 0;
    EXPECT_OK(cs_log_checkpoint(f->log, &f->signer, note, sizeof note, &note_len, &size));
    struct cs_blob rec = { 0 };
    EXPECT_OK(cs_log_entry(f->log, index, &rec));
    uint8_t leaf[32];
    uint8_t root[32];
    uint8_t proof[CS_MERKLE_PROOF_MAX * 32];
    size_t n = 0;
    EXPECT_OK(cs_log_prove_inclusion(f->log, index, size, leaf, root, proof, &n));
    json_t *hashes = json_array();
    for (size_t i = 0; i < n; i++) {
        char hex[65];
        EXPECT_OK(cs_hex_encode(proof + 32 * i, 32, hex, sizeof hex));
        json_array_append_new(hashes, json_string(hex));
    }
    char b64[256];
    EXPECT_OK(cs_b64_encode(ct, ct_len, b64, sizeof b64));
    json_t *doc = json_pack("{s:s, s:I, s:s, s:I, s:s#, s:{s:I, s:I, s:o}, s:s#}", "object", "obj",
                            "version", (json_int_t)version, "ciphertext", b64, "log_index",
                            (json_int_t)index, "record", (const char *)rec.p, rec.len, "proof",
                            "index", (json_int_t)index, "size", (json_int_t)size, "hashes",
                            hashes, "checkpoint", note, note_len);
    cs_blob_clear(&rec);
    EXPECT_TRUE(doc != NULL);
    return doc;
}

static cs_code verify_doc(struct fixture *f, json_t *doc, const char *vkey, struct custos_diag *d,
                          struct custos_checkpoint *cp)
{
    const char *keys[] = { vkey };
    struct custos_tlog_policy pol = { .log_vkeys = keys, .n_log_vkeys = 1 };
    struct cs_state_read rd;
    cs_res r = cs_state_read_parse(doc, "obj", d, &rd);
    if (cs_ok(r)) {
        r = cs_state_read_verify(&rd, "obj", &pol, d, cp);
    }
    cs_state_read_clear(&rd);
    (void)f;
    return r.code;
}

static void test_read_verify(void)
{
    struct fixture f = { 0 };
    fixture_open(&f, "read.db");
    struct custos_diag d = { 0 };
    struct custos_checkpoint cp;
    json_t *doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_OK);
    EXPECT_EQ(cp.size, 10);
    json_decref(doc);

    /* the broker serves another version than its record */
    doc = answer(&f, f.index, 2, f.ct, f.ct_len);
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "version 3") != NULL);
    json_decref(doc);
    /* another ciphertext than the recorded one */
    uint8_t ct2[64];
    memcpy(ct2, f.ct, sizeof ct2);
    ct2[10] ^= 1;
    doc = answer(&f, f.index, 3, ct2, sizeof ct2);
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "ciphertext") != NULL);
    json_decref(doc);
    /* a record that is not a state put (the index of another entry) */
    doc = answer(&f, 2, 3, f.ct, f.ct_len);
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    json_decref(doc);
    /* a tampered inclusion proof */
    doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    json_t *hs = json_object_get(json_object_get(doc, "proof"), "hashes");
    char flipped[65];
    snprintf(flipped, sizeof flipped, "%s", json_string_value(json_array_get(hs, 0)));
    flipped[0] = flipped[0] == '0' ? '1' : '0';
    json_array_set_new(hs, 0, json_string(flipped));
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "not in the signed log") != NULL);
    json_decref(doc);
    /* a proof for another tree size than the checkpoint's */
    doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    json_object_set_new(json_object_get(doc, "proof"), "size", json_integer(9));
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    json_decref(doc);
    /* a record that is someone else's (edited bytes: no longer the logged leaf) */
    doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    char rec[512];
    record_for("obj", 4, f.ct, f.ct_len, rec, sizeof rec);
    json_object_set_new(doc, "record", json_string(rec));
    json_object_set_new(doc, "version", json_integer(4));
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    json_decref(doc);
    /* a checkpoint under another key */
    char skey[CS_NOTE_SKEY_MAX];
    char vkey2[CS_NOTE_VKEY_MAX];
    EXPECT_OK(cs_note_keygen("custos.test/log", skey, vkey2));
    doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    EXPECT_EQ(verify_doc(&f, doc, vkey2, &d, &cp), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "checkpoint") != NULL);
    json_decref(doc);
    /* malformed answers */
    doc = answer(&f, f.index, 3, f.ct, f.ct_len);
    json_object_set_new(doc, "object", json_string("other"));
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_BINDING);
    json_object_set_new(doc, "object", json_string("obj"));
    json_object_set_new(doc, "ciphertext", json_string("not base64!"));
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_FORMAT);
    json_object_del(doc, "checkpoint");
    EXPECT_EQ(verify_doc(&f, doc, f.vkey, &d, &cp), CS_E_FORMAT);
    json_decref(doc);
    fixture_close(&f);
}

static void test_version_and_consistency(void)
{
    struct fixture f = { 0 };
    fixture_open(&f, "cons.db");
    struct cs_memory m = { 0 };
    struct custos_diag d = { 0 };
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/none.json", tmpdir);
    EXPECT_OK(cs_memory_load(path, f.vkey, &d, &m));

    /* versions: equal or above the highest seen pass, below is a rollback */
    EXPECT_OK(cs_memory_raise(&m, "obj", 3));
    EXPECT_OK(cs_state_check_version(&m, "obj", 3, &d));
    EXPECT_OK(cs_state_check_version(&m, "obj", 4, &d));
    EXPECT_ERR(cs_state_check_version(&m, "obj", 2, &d), CS_E_CONFLICT);
    EXPECT_TRUE(strstr(d.msg, "rollback") != NULL);
    EXPECT_OK(cs_state_check_version(&m, "other", 1, &d));

    /* first contact: nothing to be consistent with */
    struct custos_checkpoint old = { .size = 10 };
    EXPECT_OK(cs_log_root(f.log, 10, old.root));
    bool need = true;
    EXPECT_OK(cs_state_check_consistency(&m, &old, NULL, 0, &need, &d));
    EXPECT_TRUE(!need);
    EXPECT_OK(cs_memory_set_checkpoint(&m, &old));

    /* the same tree */
    EXPECT_OK(cs_state_check_consistency(&m, &old, NULL, 0, &need, &d));
    EXPECT_TRUE(!need);
    /* same size, another root: a fork */
    struct custos_checkpoint fork = old;
    fork.root[0] ^= 1;
    EXPECT_ERR(cs_state_check_consistency(&m, &fork, NULL, 0, &need, &d), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "fork") != NULL);
    /* a smaller tree */
    struct custos_checkpoint small = { .size = 6 };
    EXPECT_OK(cs_log_root(f.log, 6, small.root));
    EXPECT_ERR(cs_state_check_consistency(&m, &small, NULL, 0, &need, &d), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "shrank") != NULL);

    /* a larger tree: needs a proof, which must lead from our root to the new one */
    uint64_t ix = 0;
    for (int i = 0; i < 7; i++) {
        append_text(f.log, "{\"type\":\"auth\"}", &ix);
    }
    struct custos_checkpoint big = { .size = 17 };
    uint8_t r_old[32];
    uint8_t proof[CS_MERKLE_PROOF_MAX * 32];
    size_t n = 0;
    EXPECT_OK(cs_log_prove_consistency(f.log, 10, 17, r_old, big.root, proof, &n));
    EXPECT_OK(cs_state_check_consistency(&m, &big, NULL, 0, &need, &d));
    EXPECT_TRUE(need);
    EXPECT_OK(cs_state_check_consistency(&m, &big, proof, n, &need, &d));
    proof[5] ^= 1;
    EXPECT_ERR(cs_state_check_consistency(&m, &big, proof, n, &need, &d), CS_E_BINDING);
    EXPECT_TRUE(strstr(d.msg, "not an extension") != NULL);
    proof[5] ^= 1;
    /* a root we never saw as the old one: the proof, valid for the real tree, fails */
    struct custos_checkpoint forged = old;
    forged.root[31] ^= 1;
    EXPECT_OK(cs_memory_set_checkpoint(&m, &forged));
    EXPECT_ERR(cs_state_check_consistency(&m, &big, proof, n, &need, &d), CS_E_BINDING);
    cs_memory_clear(&m);
    fixture_close(&f);
}

/* ---- the PoP signer ---- */

static void test_pop_sign(void)
{
    static const char *const kinds[] = { "EC-P256", "EC-P384", "EC-P521" };
    static const uint8_t msg[] = "custos-pop-v1\nPUT\n/custos/v1/state/o\n...\n";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *priv = NULL;
        json_t *pub = NULL;
        EXPECT_OK(cs_tee_keypair_generate(kinds[i], &priv, &pub));
        char sig[CS_TEE_POP_B64_MAX];
        EXPECT_OK(cs_tee_pop_sign(priv, msg, sizeof msg, sig, sizeof sig));
        /* base64url R || S, no padding: 64, 96 or 132 bytes */
        size_t want = i == 0 ? 86 : i == 1 ? 128 : 176;
        EXPECT_EQ(strlen(sig), want);
        EXPECT_TRUE(strpbrk(sig, "+/=") == NULL);
        /* decode through the standard alphabet and verify as the broker does */
        char b64[200];
        size_t k = 0;
        for (; sig[k] != '\0'; k++) {
            b64[k] = sig[k] == '-' ? '+' : sig[k] == '_' ? '/' : sig[k];
        }
        while (k % 4 != 0) {
            b64[k++] = '=';
        }
        uint8_t raw[CS_TEE_POP_SIG_MAX];
        size_t raw_len = 0;
        EXPECT_OK(cs_b64_decode(b64, k, true, raw, sizeof raw, &raw_len));
        struct cs_tee_key *key = NULL;
        EXPECT_OK(cs_tee_key_parse(pub, &key));
        EXPECT_OK(cs_tee_key_verify(key, msg, sizeof msg, raw, raw_len));
        EXPECT_ERR(cs_tee_key_verify(key, msg, sizeof msg - 1, raw, raw_len), CS_E_SIGNATURE);
        cs_tee_key_free(key);
        /* a JWK whose d is not the private half of x, y */
        json_t *other = NULL;
        json_t *other_pub = NULL;
        EXPECT_OK(cs_tee_keypair_generate(kinds[i], &other, &other_pub));
        json_object_set(priv, "d", json_object_get(other, "d"));
        EXPECT_ERR(cs_tee_pop_sign(priv, msg, sizeof msg, sig, sizeof sig), CS_E_FORMAT);
        EXPECT_STR_EQ(sig, "");
        json_decref(other);
        json_decref(other_pub);
        json_decref(priv);
        json_decref(pub);
    }
    json_t *priv = NULL;
    json_t *pub = NULL;
    EXPECT_OK(cs_tee_keypair_generate("RSA-3072", &priv, &pub));
    char sig[CS_TEE_POP_B64_MAX];
    EXPECT_ERR(cs_tee_pop_sign(priv, msg, sizeof msg, sig, sizeof sig), CS_E_UNSUPPORTED);
    EXPECT_ERR(cs_tee_pop_sign(pub, msg, 0, sig, sizeof sig), CS_E_TOO_LARGE);
    json_decref(priv);
    json_decref(pub);
}

/* ---- the public API without a broker ---- */

static void test_client_new_refusals(void)
{
    struct custos_client *c = NULL;
    struct custos_diag d = { 0 };
    struct custos_client_opts o = { .url = "ftp://x", .attester = "sim", .log_vkey = "k",
                                    .state_file = "/nonexistent/s" };
    EXPECT_ERR(custos_client_new(&o, &d, &c), CS_E_ARG);
    EXPECT_TRUE(c == NULL && strstr(d.msg, "http") != NULL);
    o.url = "http://127.0.0.1:9";
    o.log_vkey = NULL;
    EXPECT_ERR(custos_client_new(&o, &d, &c), CS_E_ARG);
    o.log_vkey = "k";
    o.pin_sha256 = "abcd";
    EXPECT_ERR(custos_client_new(&o, &d, &c), CS_E_ARG);
    EXPECT_TRUE(strstr(d.msg, "pin") != NULL);
    o.pin_sha256 = NULL;
    o.attester = "nonesuch";
    EXPECT_TRUE(!cs_ok(custos_client_new(&o, &d, &c)));
    EXPECT_TRUE(c == NULL);
    custos_client_free(NULL);
    custos_free_secret(NULL, 0);
}

static void cleanup(void)
{
    if (tmpdir[0] != '\0') {
        char p[600];
        static const char *const names[] = { "mem.json", "read.db", "cons.db", "none.json" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
            unlink(p);
            snprintf(p, sizeof p, "%s/%s-wal", tmpdir, names[i]);
            unlink(p);
            snprintf(p, sizeof p, "%s/%s-shm", tmpdir, names[i]);
            unlink(p);
        }
        rmdir(tmpdir);
    }
}

static void test_zz_cleanup(void)
{
    cleanup();
    EXPECT_TRUE(access(tmpdir, F_OK) != 0);
}

CS_TEST_MAIN(CS_TEST(test_object_names), CS_TEST(test_envelope_round_trip),
             CS_TEST(test_envelope_binding), CS_TEST(test_memory_file), CS_TEST(test_read_verify),
             CS_TEST(test_version_and_consistency), CS_TEST(test_pop_sign),
             CS_TEST(test_client_new_refusals), CS_TEST(test_zz_cleanup))
