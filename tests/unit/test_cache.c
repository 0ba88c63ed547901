/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sealed cache with the broker key provider (no TPM needed): round trip, the file's
 * mode and atomic write, every truncation and every single-byte flip refused, expiry,
 * identity, wrong key, malformed envelopes and payloads, each with its own error code.
 * The tpm2 provider is tested against swtpm in test_cache_tpm2.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cache.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "cs_test.h"

#define T_NOW 1750000000
#define T_AGE 3600

static const uint8_t key_a[CS_CACHE_KEY_LEN] = { 0xa1, 0xa2, 0xa3, 0xa4, 0x05, 0x06 };
static const uint8_t key_b[CS_CACHE_KEY_LEN] = { 0xb1, 0xb2, 0xb3, 0xb4, 0x05, 0x06 };

static char g_dir[64];

static const char *tpath(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static json_t *payload_new(const char *identity, long long issued_at, long long max_offline)
{
    json_error_t err;
    json_t *j = json_pack_ex(&err, 0,
                             "{s:s, s:I, s:I, s:s, s:{s:s}, s:{s:{s:I, s:s, s:I}}, s:s, s:{s:I}}",
                             "identity", identity, "issued_at", (json_int_t)issued_at,
                             "max_offline_s", (json_int_t)max_offline, "broker_url",
                             "https://broker.example:8443", "credentials", "default/db/password",
                             "c2VjcmV0LXBhc3N3b3Jk", "state", "config", "version",
                             (json_int_t)3, "ciphertext", "AQIDBA==", "log_index",
                             (json_int_t)812, "checkpoint",
                             "custos.example/log\n990\nAAAA\n\n\xe2\x80\x94 k sig\n",
                             "highest_versions", "config", (json_int_t)3);
    if (j == NULL) {
        fprintf(stderr, "json_pack: %s\n", err.text);
        abort();
    }
    return j;
}

static struct cs_cache_key_provider *broker(const uint8_t *key)
{
    struct cs_cache_key_provider *p = NULL;
    cs_res r = cs_cache_provider_broker(key, &p);
    if (r.code != CS_OK) {
        abort();
    }
    return p;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    struct cs_blob b = { 0 };
    cs_res r = cs_file_read(path, CS_CACHE_FILE_MAX, &b);
    if (r.code != CS_OK) {
        abort();
    }
    uint8_t *p = tv_dup(b.p, b.len);
    *len = b.len;
    cs_blob_clear(&b);
    return p;
}

static void test_round_trip(void)
{
    struct cs_cache_key_provider *p = broker(key_a);
    json_t *in = payload_new("default/agent-1", T_NOW, T_AGE);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("rt.cache"));
    EXPECT_OK(cs_cache_save(p, path, in));

    struct stat st;
    EXPECT_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW + 10, "default/agent-1", &out));
    EXPECT_TRUE(out != NULL && json_equal(in, out));

    /* The payload is not in the clear on disk. */
    size_t len = 0;
    uint8_t *file = read_all(path, &len);
    EXPECT_TRUE(memmem(file, len, "c2VjcmV0LXBhc3N3b3Jk", 20) == NULL);
    EXPECT_TRUE(memmem(file, len, "agent-1", 7) == NULL);
    EXPECT_MEM_EQ(file, "CSTC\x01\x00\x02\x00", 8);
    free(file);

    /* Overwrite: the new content replaces the old, no temporary file is left behind. */
    json_t *in2 = payload_new("default/agent-1", T_NOW + 5, T_AGE);
    EXPECT_OK(cs_cache_save(p, path, in2));
    json_decref(out);
    out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW + 10, "default/agent-1", &out));
    EXPECT_TRUE(out != NULL && json_equal(in2, out));

    json_decref(out);
    json_decref(in);
    json_decref(in2);
    cs_cache_provider_free(p);
}

static void test_not_found_and_args(void)
{
    struct cs_cache_key_provider *p = broker(key_a);
    json_t *out = (json_t *)1;
    EXPECT_ERR(cs_cache_open(p, tpath("missing.cache"), T_NOW, "x", &out), CS_E_NOT_FOUND);
    EXPECT_TRUE(out == NULL);
    EXPECT_ERR(cs_cache_open(p, g_dir, T_NOW, "x", &out), CS_E_IO); /* a directory */
    EXPECT_ERR(cs_cache_open(p, tpath("rt.cache"), T_NOW, NULL, &out), CS_E_ARG);
    EXPECT_ERR(cs_cache_save(NULL, tpath("x"), NULL), CS_E_ARG);
    json_t *in = payload_new("i", T_NOW, T_AGE);
    EXPECT_ERR(cs_cache_save(p, tpath("no/such/dir/x"), in), CS_E_IO);
    struct cs_cache_key_provider *q = NULL;
    EXPECT_ERR(cs_cache_provider_broker(NULL, &q), CS_E_ARG);
    EXPECT_TRUE(q == NULL);
    cs_cache_provider_free(NULL);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_expiry_and_identity(void)
{
    struct cs_cache_key_provider *p = broker(key_a);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("exp.cache"));
    json_t *in = payload_new("default/agent-1", T_NOW, T_AGE);
    EXPECT_OK(cs_cache_save(p, path, in));
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW + T_AGE, "default/agent-1", &out)); /* last second */
    json_decref(out);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW + T_AGE + 1, "default/agent-1", &out), CS_E_EXPIRED);
    EXPECT_TRUE(out == NULL);
    /* issued in the future beyond the skew: the clock went back, or the file is forged */
    EXPECT_OK(cs_cache_open(p, path, T_NOW - CS_CACHE_SKEW_S, "default/agent-1", &out));
    json_decref(out);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW - CS_CACHE_SKEW_S - 1, "default/agent-1", &out),
               CS_E_EXPIRED);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "default/agent-2", &out), CS_E_BINDING);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "default/agent-", &out), CS_E_BINDING);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "default/agent-11", &out), CS_E_BINDING);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "", &out), CS_E_BINDING);
    EXPECT_TRUE(out == NULL);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_wrong_key(void)
{
    struct cs_cache_key_provider *a = broker(key_a);
    struct cs_cache_key_provider *b = broker(key_b);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("key.cache"));
    json_t *in = payload_new("i", T_NOW, T_AGE);
    EXPECT_OK(cs_cache_save(a, path, in));
    json_t *out = NULL;
    EXPECT_ERR(cs_cache_open(b, path, T_NOW, "i", &out), CS_E_BINDING);
    EXPECT_TRUE(out == NULL);

    /* Same key check value forged into another key's file: the AEAD still refuses it. */
    size_t len = 0;
    uint8_t *file = read_all(path, &len);
    uint8_t kcv_a[8];
    memcpy(kcv_a, file + 20, 8);
    EXPECT_OK(cs_cache_save(b, path, in));
    free(file);
    file = read_all(path, &len);
    memcpy(file + 20, kcv_a, 8);
    EXPECT_ERR(cs_cache_open_mem(a, cs_cur_of(file, len), T_NOW, "i", &out), CS_E_SIGNATURE);
    free(file);
    json_decref(in);
    cs_cache_provider_free(a);
    cs_cache_provider_free(b);
}

static bool is_malformed(cs_code c)
{
    return c == CS_E_TRUNCATED || c == CS_E_TRAILING || c == CS_E_FORMAT || c == CS_E_TOO_LARGE;
}

static void test_every_truncation_and_flip(void)
{
    struct cs_cache_key_provider *p = broker(key_a);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("dmg.cache"));
    json_t *in = payload_new("i", T_NOW, T_AGE);
    EXPECT_OK(cs_cache_save(p, path, in));
    size_t len = 0;
    uint8_t *file = read_all(path, &len);
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open_mem(p, cs_cur_of(file, len), T_NOW, "i", &out));
    json_decref(out);
    out = NULL;

    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = tv_dup(file, n);
        cs_res r = cs_cache_open_mem(p, cs_cur_of(cut, n), T_NOW, "i", &out);
        /* Short of the sealed length: truncated; a cut inside a length field gives the
         * same; never OK. */
        EXPECT_ERR(r, CS_E_TRUNCATED);
        EXPECT_TRUE(out == NULL);
        free(cut);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, file, len);
    longer[len] = 0;
    EXPECT_ERR(cs_cache_open_mem(p, cs_cur_of(longer, len + 1), T_NOW, "i", &out), CS_E_TRAILING);
    free(longer);

    /* Byte map: 0-3 magic, 4-5 version, 6 provider, 7 reserved, 8-15 counter, 16-19 keyref
     * length, 20-27 key check value, 28-31 sealed length, 32.. nonce, ciphertext, tag. */
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            file[i] ^= (uint8_t)(1u << bit);
            cs_res r = cs_cache_open_mem(p, cs_cur_of(file, len), T_NOW, "i", &out);
            cs_code want;
            if (i < 4) {
                want = CS_E_FORMAT; /* magic */
            } else if (i < 6) {
                want = CS_E_UNSUPPORTED; /* version */
            } else if (i < 8) {
                want = CS_E_FORMAT; /* unknown provider, reserved byte */
            } else if (i < 16) {
                want = CS_E_SIGNATURE; /* the counter is authenticated */
            } else if (i < 20 || (i >= 28 && i < 32)) {
                want = is_malformed(r.code) ? r.code : CS_E_FORMAT; /* a length */
            } else if (i < 28) {
                want = CS_E_BINDING; /* key check value */
            } else {
                want = CS_E_SIGNATURE; /* nonce, ciphertext, tag */
            }
            if (r.code != want) {
                fprintf(stderr, "byte %zu bit %u: got %s want %s\n", i, bit,
                        custos_code_name(r.code), custos_code_name(want));
            }
            EXPECT_ERR(r, want);
            EXPECT_TRUE(out == NULL);
            file[i] ^= (uint8_t)(1u << bit);
        }
    }
    EXPECT_OK(cs_cache_open_mem(p, cs_cur_of(file, len), T_NOW, "i", &out));
    json_decref(out);
    free(file);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_parse(void)
{
    struct cs_cache_header h;
    uint8_t f[32 + 28] = "CSTC\x01\x00\x02\x00" "\x07\x00\x00\x00\x00\x00\x00\x00"
                         "\x08\x00\x00\x00" "KCVKCVKC" "\x1c\x00\x00\x00";
    EXPECT_OK(cs_cache_parse(cs_cur_of(f, sizeof f), &h));
    EXPECT_EQ(h.version, 1);
    EXPECT_EQ(h.provider, CS_CACHE_PROVIDER_BROKER);
    EXPECT_EQ(h.counter, 7);
    EXPECT_EQ(h.keyref.left, 8);
    EXPECT_TRUE(h.keyref.p == f + 20);
    EXPECT_EQ(h.aad.left, 32);
    EXPECT_EQ(h.sealed.left, 28);
    f[7] = 1; /* reserved */
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, sizeof f), &h), CS_E_FORMAT);
    f[7] = 0;
    f[6] = 9; /* unknown provider */
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, sizeof f), &h), CS_E_FORMAT);
    f[6] = 2;
    f[28] = 27; /* sealed part shorter than nonce + tag */
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, 32 + 27), &h), CS_E_FORMAT);
    f[28] = 28;
    f[17] = 0x10; /* keyref length 4104 > CS_CACHE_KEYREF_MAX */
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, sizeof f), &h), CS_E_TOO_LARGE);
    f[17] = 0;
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, CS_CACHE_FILE_MAX + 1u), &h), CS_E_TOO_LARGE);
    EXPECT_ERR(cs_cache_parse(cs_cur_of(f, sizeof f), NULL), CS_E_ARG);
}

static void test_payload_check(void)
{
    json_t *ok = payload_new("i", T_NOW, T_AGE);
    EXPECT_OK(cs_cache_payload_check(ok));
    json_t *min = json_pack("{s:s, s:I, s:I}", "identity", "i", "issued_at", (json_int_t)1,
                            "max_offline_s", (json_int_t)0);
    EXPECT_OK(cs_cache_payload_check(min));
    static const char *bad[] = {
        "[]",
        "{\"issued_at\": 1, \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"issued_at\": 1}",
        "{\"identity\": \"\", \"issued_at\": 1, \"max_offline_s\": 1}",
        "{\"identity\": 5, \"issued_at\": 1, \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"issued_at\": -1, \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 31622401}",
        "{\"identity\": \"i\", \"issued_at\": 4102444801, \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"issued_at\": 1.5, \"max_offline_s\": 1}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"extra\": 1}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"credentials\": []}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"credentials\": {\"a\": 1}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"credentials\": {\"\": \"\"}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"state\": {\"o\": {}}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"state\": {\"o\": "
        "{\"version\": 1, \"ciphertext\": \"\", \"log_index\": -1}}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"state\": {\"o\": "
        "{\"version\": 1, \"ciphertext\": \"\", \"log_index\": 1, \"x\": 1}}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"highest_versions\": "
        "{\"o\": \"1\"}}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"checkpoint\": \"\"}",
        "{\"identity\": \"i\", \"issued_at\": 1, \"max_offline_s\": 1, \"broker_url\": 1}",
        "{\"identity\": \"a\\u0000b\", \"issued_at\": 1, \"max_offline_s\": 1}",
    };
    struct cs_cache_key_provider *p = broker(key_a);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        EXPECT_TRUE(j != NULL);
        cs_res r = cs_cache_payload_check(j);
        if (r.code != CS_E_FORMAT) {
            fprintf(stderr, "bad[%zu] accepted\n", i);
        }
        EXPECT_ERR(r, CS_E_FORMAT);
        EXPECT_ERR(cs_cache_save(p, tpath("bad.cache"), j), CS_E_FORMAT);
        json_decref(j);
    }
    struct stat st;
    EXPECT_TRUE(stat(tpath("bad.cache"), &st) != 0); /* nothing written */
    EXPECT_ERR(cs_cache_payload_check(NULL), CS_E_FORMAT);
    cs_cache_provider_free(p);
    json_decref(ok);
    json_decref(min);
}

static void test_alloc_failures(void)
{
    struct cs_cache_key_provider *p = broker(key_a);
    json_t *in = payload_new("i", T_NOW, T_AGE);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("oom.cache"));
    EXPECT_OK(cs_cache_save(p, path, in));
    /* Every allocation of open fails in turn: a clean error, never a crash or a leak. */
    for (long n = 0; n < 64; n++) {
        json_t *out = NULL;
        cs_mem_set_fail_after(n);
        cs_res r = cs_cache_open(p, path, T_NOW, "i", &out);
        cs_mem_set_fail_after(-1);
        if (r.code == CS_OK) {
            EXPECT_TRUE(out != NULL && n > 0); /* some allocations were made to fail */
            json_decref(out);
            break;
        }
        EXPECT_ERR(r, CS_E_NOMEM);
        EXPECT_TRUE(out == NULL);
    }
    for (long n = 0; n < 64; n++) {
        cs_mem_set_fail_after(n);
        cs_res r = cs_cache_save(p, path, in);
        cs_mem_set_fail_after(-1);
        if (r.code == CS_OK) {
            EXPECT_TRUE(n > 0);
            break;
        }
        EXPECT_ERR(r, CS_E_NOMEM);
    }
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW, "i", &out));
    json_decref(out);
    json_decref(in);
    cs_cache_provider_free(p);
}

/* Files sealed by tests/fuzz/corpus (Python, from docs/cache.md alone) open here. */
static void test_independent_files(void)
{
    uint8_t key[CS_CACHE_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)i;
    }
    struct cs_cache_key_provider *p = broker(key);
    static const struct {
        const char *name;
        cs_code want;
    } cases[] = {
        { "broker-full", CS_OK },
        { "broker-min", CS_OK },
        { "broker-other-identity", CS_E_BINDING },
        { "broker-expired", CS_E_EXPIRED },
        { "tpm2-shape", CS_E_BINDING },
        { "payload-full.json", CS_E_FORMAT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CS_CACHE_CORPUS, cases[i].name);
        json_t *out = NULL;
        cs_res r = cs_cache_open(p, path, 1750000000, "fuzz", &out);
        if (r.code != cases[i].want) {
            fprintf(stderr, "%s: %s\n", cases[i].name, custos_code_name(r.code));
        }
        EXPECT_ERR(r, cases[i].want);
        EXPECT_TRUE((out != NULL) == (cases[i].want == CS_OK));
        if (i == 0 && out != NULL) {
            const json_t *st = json_object_get(json_object_get(out, "state"), "config");
            EXPECT_EQ(json_integer_value(json_object_get(st, "log_index")), 812);
        }
        json_decref(out);
    }
    cs_cache_provider_free(p);
}

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", "/tmp/cs-cache-test.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        abort();
    }
}

static void teardown(void)
{
    static const char *names[] = { "rt.cache", "exp.cache", "key.cache", "dmg.cache",
                                   "oom.cache", "bad.cache" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unlink(tpath(names[i]));
    }
    EXPECT_TRUE(rmdir(g_dir) == 0); /* fails if a temporary file was left behind */
}

CS_TEST_MAIN(CS_TEST(setup), CS_TEST(test_round_trip), CS_TEST(test_not_found_and_args),
             CS_TEST(test_expiry_and_identity), CS_TEST(test_wrong_key),
             CS_TEST(test_every_truncation_and_flip), CS_TEST(test_parse),
             CS_TEST(test_payload_check), CS_TEST(test_alloc_failures), CS_TEST(test_independent_files),
             CS_TEST(teardown))
