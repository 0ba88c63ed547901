/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tpm2 provider of the sealed cache against a real software TPM: the test starts
 * swtpm itself on a UNIX socket in a temporary directory (exit 77, skip, when swtpm is not
 * installed) and stops it at the end. Round trip; every single-byte flip refused;
 * an older copy refused by the NV counter after a newer save; a missing counter refused;
 * expiry and identity; a PCR extend on the policy PCR makes the TPM refuse to unseal;
 * a provider configured with another NV index or PCR selection, or a file of the broker
 * provider, is refused; bad configurations and an unreachable TPM are reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "client/cache.h"
#include "core/cs_file.h"
#include "cs_test.h"

extern char **environ;

#define T_NOW 1750000000
#define T_AGE 3600
#define T_NV 0x01637573u

static char g_dir[64];
static char g_tcti[256];
static pid_t g_swtpm = -1;

static const char *tpath(const char *name)
{
    static char p[160];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static json_t *payload_new(const char *identity, long long issued_at)
{
    json_t *j = json_pack("{s:s, s:I, s:I, s:{s:s}, s:{s:I}}", "identity", identity,
                          "issued_at", (json_int_t)issued_at, "max_offline_s",
                          (json_int_t)T_AGE, "credentials", "default/db/password",
                          "c2VjcmV0LXBhc3N3b3Jk", "highest_versions", "config", (json_int_t)3);
    if (j == NULL) {
        abort();
    }
    return j;
}

static struct cs_cache_key_provider *tpm(const char *pcrs, uint32_t nv)
{
    struct cs_cache_key_provider *p = NULL;
    cs_res r = cs_cache_provider_tpm2(g_tcti, pcrs, nv, &p);
    if (r.code != CS_OK) {
        fprintf(stderr, "cs_cache_provider_tpm2: %s at %s:%u\n", custos_code_name(r.code),
                r.file, r.line);
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

/* A direct ESAPI connection, for what an attacker or the platform does to the TPM. */
struct raw_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
};

static struct raw_tpm raw_open(void)
{
    struct raw_tpm t = { 0 };
    if (Tss2_TctiLdr_Initialize(g_tcti, &t.tcti) != TSS2_RC_SUCCESS ||
        Esys_Initialize(&t.esys, t.tcti, NULL) != TSS2_RC_SUCCESS) {
        abort();
    }
    return t;
}

static void raw_close(struct raw_tpm *t)
{
    Esys_Finalize(&t->esys);
    Tss2_TctiLdr_Finalize(&t->tcti);
}

static void pcr_extend(unsigned pcr)
{
    struct raw_tpm t = raw_open();
    TPML_DIGEST_VALUES d = { .count = 1 };
    d.digests[0].hashAlg = TPM2_ALG_SHA256;
    memset(d.digests[0].digest.sha256, 0x5a, TPM2_SHA256_DIGEST_SIZE);
    EXPECT_EQ(Esys_PCR_Extend(t.esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &d),
              TSS2_RC_SUCCESS);
    raw_close(&t);
}

static void nv_undefine(uint32_t index)
{
    struct raw_tpm t = raw_open();
    ESYS_TR nv = ESYS_TR_NONE;
    EXPECT_EQ(Esys_TR_FromTPMPublic(t.esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &nv),
              TSS2_RC_SUCCESS);
    EXPECT_EQ(Esys_NV_UndefineSpace(t.esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
                                    ESYS_TR_NONE, ESYS_TR_NONE),
              TSS2_RC_SUCCESS);
    raw_close(&t);
}

static uint64_t header_counter(const char *path)
{
    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    struct cs_cache_header h;
    uint64_t c = 0;
    if (cs_cache_parse(cs_cur_of(f, len), &h).code == CS_OK) {
        c = h.counter;
    }
    free(f);
    return c;
}

/* ---- swtpm ----------------------------------------------------------------------------- */

static void start_swtpm(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", "/tmp/cs-cache-tpm.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        abort();
    }
    char state[96], server[256], ctrl[256], sock[160];
    char a_swtpm[] = "swtpm", a_socket[] = "socket", a_tpm2[] = "--tpm2", a_server[] = "--server",
         a_ctrl[] = "--ctrl", a_flags[] = "--flags", a_fv[] = "not-need-init,startup-clear",
         a_state[] = "--tpmstate";
    snprintf(state, sizeof state, "dir=%s", g_dir);
    snprintf(sock, sizeof sock, "%s/tpm.sock", g_dir);
    snprintf(server, sizeof server, "type=unixio,path=%s", sock);
    snprintf(ctrl, sizeof ctrl, "type=unixio,path=%s.ctrl", sock);
    snprintf(g_tcti, sizeof g_tcti, "swtpm:path=%s", sock);
    char *argv[] = { a_swtpm, a_socket, a_tpm2,  a_server, server, a_ctrl,
                     ctrl,    a_flags,  a_fv,    a_state,  state,  NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&g_swtpm, "swtpm", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        printf("SKIP: cannot start swtpm (%s); scripts/install-deps.sh installs it\n",
               strerror(rc));
        rmdir(g_dir);
        exit(CS_TEST_SKIP_CODE);
    }
    struct stat st;
    for (int i = 0; i < 200; i++) {
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
            return;
        }
        int status = 0;
        if (waitpid(g_swtpm, &status, WNOHANG) == g_swtpm) {
            printf("SKIP: swtpm exited at start\n");
            exit(CS_TEST_SKIP_CODE);
        }
        nanosleep(&(struct timespec){ .tv_nsec = 25 * 1000 * 1000 }, NULL);
    }
    printf("SKIP: swtpm did not open its socket\n");
    kill(g_swtpm, SIGTERM);
    exit(CS_TEST_SKIP_CODE);
}

static void stop_swtpm(void)
{
    if (g_swtpm > 0) {
        kill(g_swtpm, SIGTERM);
        waitpid(g_swtpm, NULL, 0);
        g_swtpm = -1;
    }
    static const char *names[] = { "rt.cache", "dmg.cache", "old.cache", "pcr.cache",
                                   "broker.cache", "tpm.sock", "tpm.sock.ctrl", "tpm2-00.permall",
                                   ".lock" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unlink(tpath(names[i]));
    }
    EXPECT_TRUE(rmdir(g_dir) == 0); /* fails if a temporary cache file was left behind */
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_round_trip(void)
{
    struct cs_cache_key_provider *p = tpm(NULL, 0);
    json_t *in = payload_new("default/agent-1", T_NOW);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("rt.cache"));
    EXPECT_OK(cs_cache_save(p, path, in));
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW + 1, "default/agent-1", &out));
    EXPECT_TRUE(out != NULL && json_equal(in, out));
    json_decref(out);

    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    struct cs_cache_header h;
    EXPECT_OK(cs_cache_parse(cs_cur_of(f, len), &h));
    EXPECT_EQ(h.provider, CS_CACHE_PROVIDER_TPM2);
    EXPECT_TRUE(h.counter > 0);
    /* keyref: NV index, bank sha256 (0x000b), mask of PCR 7 */
    EXPECT_MEM_EQ(h.keyref.p, "\x73\x75\x63\x01\x0b\x00\x80\x00\x00\x00", 10);
    EXPECT_TRUE(memmem(f, len, "c2VjcmV0LXBhc3N3b3Jk", 20) == NULL);
    free(f);

    /* A second save increments the counter by one. */
    uint64_t c1 = header_counter(path);
    EXPECT_OK(cs_cache_save(p, path, in));
    EXPECT_EQ(header_counter(path), c1 + 1);
    EXPECT_OK(cs_cache_open(p, path, T_NOW + 1, "default/agent-1", &out));
    json_decref(out);

    /* A second provider (another process after a reboot) opens it as well. */
    struct cs_cache_key_provider *p2 = tpm("sha256:7", T_NV);
    EXPECT_OK(cs_cache_open(p2, path, T_NOW + 1, "default/agent-1", &out));
    json_decref(out);
    cs_cache_provider_free(p2);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_expiry_identity(void)
{
    struct cs_cache_key_provider *p = tpm(NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("rt.cache"));
    json_t *in = payload_new("default/agent-1", T_NOW);
    EXPECT_OK(cs_cache_save(p, path, in));
    json_t *out = NULL;
    EXPECT_ERR(cs_cache_open(p, path, T_NOW + T_AGE + 1, "default/agent-1", &out),
               CS_E_EXPIRED);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "default/agent-2", &out), CS_E_BINDING);
    EXPECT_TRUE(out == NULL);
    json_decref(in);
    cs_cache_provider_free(p);
}

static bool is_malformed(cs_code c)
{
    return c == CS_E_TRUNCATED || c == CS_E_TRAILING || c == CS_E_FORMAT || c == CS_E_TOO_LARGE;
}

static void test_every_flip(void)
{
    struct cs_cache_key_provider *p = tpm(NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("dmg.cache"));
    json_t *in = payload_new("i", T_NOW);
    EXPECT_OK(cs_cache_save(p, path, in));
    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    struct cs_cache_header h;
    EXPECT_OK(cs_cache_parse(cs_cur_of(f, len), &h));
    size_t keyref_end = 20 + h.keyref.left;
    size_t counts[CS_E__COUNT] = { 0 };
    json_t *out = NULL;
    for (size_t i = 0; i < len; i++) {
        f[i] ^= 0x01;
        cs_res r = cs_cache_open_mem(p, cs_cur_of(f, len), T_NOW, "i", &out);
        f[i] ^= 0x01;
        EXPECT_TRUE(r.code != CS_OK && out == NULL);
        counts[r.code < CS_E__COUNT ? r.code : 0]++;
        bool is_ok;
        if (i < 8) {
            is_ok = r.code == CS_E_FORMAT || r.code == CS_E_UNSUPPORTED;
        } else if (i < 16) {
            is_ok = r.code == CS_E_SIGNATURE; /* counter: authenticated */
        } else if (i < 20 || (i >= keyref_end && i < keyref_end + 4)) {
            is_ok = is_malformed(r.code); /* a length field */
        } else if (i < 30) {
            is_ok = r.code == CS_E_BINDING; /* NV index, PCR bank, PCR mask */
        } else if (i < keyref_end) {
            /* sealed blobs: the TPM refuses to load them, or they no longer parse */
            is_ok = r.code == CS_E_SIGNATURE || is_malformed(r.code);
        } else {
            is_ok = r.code == CS_E_SIGNATURE; /* nonce, ciphertext, tag */
        }
        if (!is_ok) {
            fprintf(stderr, "byte %zu: %s\n", i, custos_code_name(r.code));
        }
        EXPECT_TRUE(is_ok);
    }
    printf("  %zu flips:", len);
    for (int c = 0; c < CS_E__COUNT; c++) {
        if (counts[c] != 0) {
            printf(" %s=%zu", custos_code_name((cs_code)c), counts[c]);
        }
    }
    printf("\n");
    EXPECT_OK(cs_cache_open_mem(p, cs_cur_of(f, len), T_NOW, "i", &out));
    json_decref(out);
    free(f);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_replay_older_copy(void)
{
    struct cs_cache_key_provider *p = tpm(NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("rt.cache"));
    json_t *in = payload_new("i", T_NOW);
    EXPECT_OK(cs_cache_save(p, path, in));
    size_t old_len = 0;
    uint8_t *old = read_all(path, &old_len);
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open_mem(p, cs_cur_of(old, old_len), T_NOW, "i", &out));
    json_decref(out);

    EXPECT_OK(cs_cache_save(p, path, in));
    EXPECT_ERR(cs_cache_open_mem(p, cs_cur_of(old, old_len), T_NOW, "i", &out), CS_E_CONFLICT);
    EXPECT_TRUE(out == NULL);
    /* the older file put back in place is refused too */
    FILE *w = fopen(tpath("old.cache"), "wb");
    EXPECT_TRUE(w != NULL && fwrite(old, 1, old_len, w) == old_len);
    fclose(w);
    EXPECT_ERR(cs_cache_open(p, tpath("old.cache"), T_NOW, "i", &out), CS_E_CONFLICT);
    EXPECT_OK(cs_cache_open(p, path, T_NOW, "i", &out));
    json_decref(out);

    /* The counter removed: refused; the next save defines it again with a higher value. */
    uint64_t before = header_counter(path);
    nv_undefine(T_NV);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "i", &out), CS_E_CONFLICT);
    EXPECT_OK(cs_cache_save(p, path, in));
    EXPECT_TRUE(header_counter(path) > before);
    EXPECT_OK(cs_cache_open(p, path, T_NOW, "i", &out));
    json_decref(out);
    EXPECT_ERR(cs_cache_open_mem(p, cs_cur_of(old, old_len), T_NOW, "i", &out), CS_E_CONFLICT);
    free(old);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_pcr_extend(void)
{
    struct cs_cache_key_provider *p = tpm("sha256:7,16", T_NV);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("pcr.cache"));
    json_t *in = payload_new("i", T_NOW);
    EXPECT_OK(cs_cache_save(p, path, in));
    json_t *out = NULL;
    EXPECT_OK(cs_cache_open(p, path, T_NOW, "i", &out));
    json_decref(out);
    pcr_extend(16);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "i", &out), CS_E_TCB);
    EXPECT_TRUE(out == NULL);
    /* A save under the new measurements works again. */
    EXPECT_OK(cs_cache_save(p, path, in));
    EXPECT_OK(cs_cache_open(p, path, T_NOW, "i", &out));
    json_decref(out);
    pcr_extend(7);
    EXPECT_ERR(cs_cache_open(p, path, T_NOW, "i", &out), CS_E_TCB);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_other_configuration(void)
{
    struct cs_cache_key_provider *p = tpm(NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "%s", tpath("rt.cache"));
    json_t *in = payload_new("i", T_NOW);
    EXPECT_OK(cs_cache_save(p, path, in));
    json_t *out = NULL;
    struct cs_cache_key_provider *other_nv = tpm(NULL, T_NV + 1);
    EXPECT_ERR(cs_cache_open(other_nv, path, T_NOW, "i", &out), CS_E_BINDING);
    struct cs_cache_key_provider *other_pcrs = tpm("sha256:0,7", 0);
    EXPECT_ERR(cs_cache_open(other_pcrs, path, T_NOW, "i", &out), CS_E_BINDING);
    struct cs_cache_key_provider *other_bank = tpm("sha1:7", 0);
    EXPECT_ERR(cs_cache_open(other_bank, path, T_NOW, "i", &out), CS_E_BINDING);

    /* A file of the broker provider is not opened by the TPM and vice versa. */
    static const uint8_t key[CS_CACHE_KEY_LEN] = { 1, 2, 3 };
    struct cs_cache_key_provider *b = NULL;
    EXPECT_OK(cs_cache_provider_broker(key, &b));
    EXPECT_OK(cs_cache_save(b, tpath("broker.cache"), in));
    EXPECT_ERR(cs_cache_open(p, tpath("broker.cache"), T_NOW, "i", &out), CS_E_BINDING);
    EXPECT_ERR(cs_cache_open(b, path, T_NOW, "i", &out), CS_E_BINDING);
    EXPECT_TRUE(out == NULL);
    cs_cache_provider_free(b);
    cs_cache_provider_free(other_nv);
    cs_cache_provider_free(other_pcrs);
    cs_cache_provider_free(other_bank);
    json_decref(in);
    cs_cache_provider_free(p);
}

static void test_bad_configuration(void)
{
    struct cs_cache_key_provider *p = NULL;
    static const char *bad_pcrs[] = { "sha512:7", "sha256:24", "sha256:", "sha256", "sha256:7,",
                                      "sha256:7;8", "sha256:007", ":7", "" };
    for (size_t i = 0; i < sizeof bad_pcrs / sizeof bad_pcrs[0]; i++) {
        EXPECT_ERR(cs_cache_provider_tpm2(g_tcti, bad_pcrs[i], 0, &p), CS_E_ARG);
        EXPECT_TRUE(p == NULL);
    }
    EXPECT_ERR(cs_cache_provider_tpm2(g_tcti, NULL, 0x01800000u, &p), CS_E_ARG);
    EXPECT_ERR(cs_cache_provider_tpm2(g_tcti, NULL, 0x81000001u, &p), CS_E_ARG);
    char gone[200];
    snprintf(gone, sizeof gone, "swtpm:path=%s/no-such.sock", g_dir);
    EXPECT_ERR(cs_cache_provider_tpm2(gone, NULL, 0, &p), CS_E_IO);
    EXPECT_TRUE(p == NULL);
}

CS_TEST_MAIN(CS_TEST(start_swtpm), CS_TEST(test_round_trip), CS_TEST(test_expiry_identity),
             CS_TEST(test_every_flip), CS_TEST(test_replay_older_copy), CS_TEST(test_pcr_extend),
             CS_TEST(test_other_configuration), CS_TEST(test_bad_configuration),
             CS_TEST(stop_swtpm))
