/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP signed-note and tlog-checkpoint vectors from ../shared/vectors/tlog (signed-notes.json
 * and generated/signed-notes-generated.json): each note is opened with exactly its
 * verifier keys and, when marked, parsed as a checkpoint; the outcome, the number of keys
 * that verified and the origin must match. Plus base64 and key-format unit checks.
 */
#include <jansson.h>

#include "core/cs_b64.h"
#include "cs_test.h"
#include "tlog/note.h"

/* Opens the note of vector v; *origin_ok tells whether the checkpoint origin matched. */
static bool open_note(const json_t *v, size_t *n_ok, bool *origin_ok)
{
    struct cs_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    const char *b64 = json_string_value(json_object_get(v, "note_b64"));
    size_t cap = CS_B64_DECODED_MAX(strlen(b64));
    uint8_t *buf = malloc(cap + 1);
    size_t len = 0;
    bool is_ok = cs_ok(cs_b64_decode(b64, strlen(b64), false, buf, cap, &len));
    EXPECT_TRUE(is_ok);
    const json_t *vkeys = json_object_get(v, "vkeys");
    size_t n_keys = json_array_size(vkeys);
    struct cs_note_vkey *keys = calloc(n_keys + 1, sizeof *keys);
    bool *key_ok = calloc(n_keys + 1, sizeof *key_ok);
    for (size_t i = 0; i < n_keys && is_ok; i++) {
        const char *k = json_string_value(json_array_get(vkeys, i));
        is_ok = cs_ok(cs_note_vkey_parse(cs_cur_of((const uint8_t *)k, strlen(k)), &keys[i]));
    }
    struct cs_note *note = malloc(sizeof *note);
    is_ok = is_ok && cs_ok(cs_note_parse(buf, len, note)) &&
            cs_ok(cs_note_verify(note, keys, n_keys, key_ok, NULL));
    if (is_ok && json_is_true(json_object_get(v, "as_checkpoint"))) {
        is_ok = cs_ok(cs_checkpoint_parse(note->text, &cp));
    }
    const char *origin = json_string_value(json_object_get(v, "want_origin"));
    *origin_ok = origin == NULL || (cp.origin.left == strlen(origin) &&
                                    memcmp(cp.origin.p, origin, cp.origin.left) == 0);
    *n_ok = 0;
    for (size_t i = 0; i < n_keys; i++) {
        *n_ok += key_ok[i];
    }
    free(note);
    free(key_ok);
    free(keys);
    free(buf);
    return is_ok;
}

static int run_file(const char *path)
{
    json_t *doc = json_load_file(path, 0, NULL);
    EXPECT_TRUE(doc != NULL);
    size_t i;
    const json_t *v;
    int n = 0;
    json_array_foreach(json_object_get(doc, "vectors"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        bool want = json_is_true(json_object_get(v, "want_ok"));
        size_t n_ok = 0;
        bool origin_ok = false;
        bool got = open_note(v, &n_ok, &origin_ok);
        if (got != want) {
            fprintf(stderr, "%s: want %s, got %s\n", name, want ? "ok" : "reject",
                    got ? "ok" : "reject");
            EXPECT_TRUE(got == want);
            continue;
        }
        const json_t *nv = json_object_get(v, "want_verified_sigs");
        if (got && nv != NULL) {
            EXPECT_EQ(n_ok, json_integer_value(nv));
        }
        if (got) {
            EXPECT_TRUE(origin_ok);
        }
        n++;
    }
    json_decref(doc);
    return n;
}

static void test_signed_note_vectors(void)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        printf("SKIP: ../shared/vectors/tlog is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/vectors/tlog/signed-notes.json", shared);
    int n = run_file(path);
    snprintf(path, sizeof path, "%s/vectors/tlog/generated/signed-notes-generated.json", shared);
    n += run_file(path);
    printf("%d note vectors\n", n);
    EXPECT_TRUE(n >= 50);
}

static void test_b64(void)
{
    uint8_t out[8];
    size_t n = 0;
    char text[16];
    EXPECT_OK(cs_b64_decode("AQID", 4, true, out, sizeof out, &n));
    EXPECT_EQ(n, 3);
    EXPECT_OK(cs_b64_decode("AQI=", 4, true, out, sizeof out, &n));
    EXPECT_EQ(n, 2);
    EXPECT_OK(cs_b64_decode("AQ==", 4, true, out, sizeof out, &n));
    EXPECT_EQ(n, 1);
    EXPECT_ERR(cs_b64_decode("AR==", 4, true, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_OK(cs_b64_decode("AR==", 4, false, out, sizeof out, &n)); /* Go's leniency */
    EXPECT_ERR(cs_b64_decode("AQI", 3, false, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_b64_decode("A=I=", 4, false, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_b64_decode("AQ-_", 4, false, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_b64_decode("AQIDBAUG", 8, false, out, 5, &n), CS_E_TOO_LARGE);
    EXPECT_OK(cs_b64_encode((const uint8_t *)"\x01\x02", 2, text, sizeof text));
    EXPECT_STR_EQ(text, "AQI=");
}

static void test_vkey_formats(void)
{
    static const char good[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    struct cs_note_vkey k;
    EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)good, sizeof good - 1), &k));
    EXPECT_EQ(k.key_id, 0xc74f20a3u);
    EXPECT_EQ(k.alg, CS_NOTE_ALG_ED25519);
    static const char bad_id[] = "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    EXPECT_ERR(cs_note_vkey_parse(cs_cur_of((const uint8_t *)bad_id, sizeof bad_id - 1), &k),
               CS_E_FORMAT);
    static const char no_name[] = "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    EXPECT_ERR(cs_note_vkey_parse(cs_cur_of((const uint8_t *)no_name, sizeof no_name - 1), &k),
               CS_E_FORMAT);
    static const char short_key[] = "PeterNeumann+c74f20a3+ARpc";
    EXPECT_ERR(cs_note_vkey_parse(cs_cur_of((const uint8_t *)short_key, sizeof short_key - 1), &k),
               CS_E_FORMAT);
}

/* The real CT log checkpoint with three witness cosignatures, under N-of-M policies. */
static void test_witness_quorum(void)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        printf("SKIP: ../shared/vectors/tlog is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/vectors/tlog/signed-notes.json", shared);
    json_t *doc = json_load_file(path, 0, NULL);
    const json_t *v = NULL;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(doc, "vectors"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "name")),
                   "arche2025h1-log-plus-3-witness-cosignatures") == 0) {
            v = x;
        }
    }
    EXPECT_TRUE(v != NULL);
    if (v == NULL) {
        json_decref(doc);
        return;
    }
    const char *b64 = json_string_value(json_object_get(v, "note_b64"));
    static uint8_t buf[8192];
    size_t len = 0;
    EXPECT_OK(cs_b64_decode(b64, strlen(b64), false, buf, sizeof buf, &len));
    const json_t *vk = json_object_get(v, "vkeys");
    struct cs_note_vkey log_key;
    struct cs_note_vkey wit[4];
    const char *k0 = json_string_value(json_array_get(vk, 0));
    EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)k0, strlen(k0)), &log_key));
    for (size_t k = 1; k < 4; k++) {
        const char *t = json_string_value(json_array_get(vk, k));
        EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)t, strlen(t)), &wit[k - 1]));
    }
    static struct cs_note note;
    struct cs_checkpoint cp;
    size_t n = 0;
    struct cs_checkpoint_policy pol = { &log_key, 1, wit, 3, 3, NULL };
    EXPECT_OK(cs_checkpoint_open(buf, len, &pol, &note, &cp, &n));
    EXPECT_EQ(n, 3);
    EXPECT_EQ(cp.size, 1432088532ull);
    pol.origin = "arche2025h1.staging.ct.transparency.dev";
    EXPECT_OK(cs_checkpoint_open(buf, len, &pol, &note, &cp, &n));
    pol.origin = "another.log.example";
    EXPECT_ERR(cs_checkpoint_open(buf, len, &pol, &note, &cp, &n), CS_E_BINDING);
    pol.origin = NULL;
    wit[3] = wit[0]; /* the same witness twice counts once: 3 distinct of 4 listed */
    pol.n_witnesses = 4;
    pol.quorum = 4;
    EXPECT_ERR(cs_checkpoint_open(buf, len, &pol, &note, &cp, &n), CS_E_SIGNATURE);
    EXPECT_EQ(n, 3);
    /* witnesses alone, without a signature by the log's key, are not enough */
    char skey[CS_NOTE_SKEY_MAX], vkey[CS_NOTE_VKEY_MAX];
    struct cs_note_vkey other_log;
    EXPECT_OK(cs_note_keygen("arche2025h1.staging.ct.transparency.dev", skey, vkey));
    EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)vkey, strlen(vkey)), &other_log));
    struct cs_checkpoint_policy only_wit = { &other_log, 1, wit, 3, 2, NULL };
    EXPECT_ERR(cs_checkpoint_open(buf, len, &only_wit, &note, &cp, &n), CS_E_SIGNATURE);
    json_decref(doc);
}

CS_TEST_MAIN(CS_TEST(test_b64), CS_TEST(test_vkey_formats), CS_TEST(test_signed_note_vectors),
             CS_TEST(test_witness_quorum))
