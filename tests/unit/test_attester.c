/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attesters of kinds tdx, snp (configfs-tsm against the fake kernel of
 * tests/attester/fake_tsm.c) and sim (the development attester). Asserted: the tdx evidence
 * of both kinds is {"quote", "cc_eventlog": null} whose quote verifies through the real DCAP
 * path with the REPORT_DATA asked for; the snp evidence re-encodes (src/evidence/snp_kbs.c)
 * to exactly the outblob, with the auxblob certificates as cert_chain; privlevel reaches the
 * kernel; a concurrent writer (generation ahead before outblob, or moved after it), a wrong
 * provider, each missing attribute file, an oversized outblob, an outblob for other report
 * data, a symbolic link and malformed certificate tables are refused with their codes; the
 * report entry is removed on every path; and the option checks of cs_attester_open.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/attester.h"
#include "core/cs_b64.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/dcap.h"
#include "custos/verdict.h"
#include "fake_tsm.h"
#include "sim/dev_attester.h"
#ifdef CS_TEST_HAVE_SNP
#include "evidence/snp_kbs.h"
#endif

struct env {
    char dir[64];  /* temporary directory */
    char root[96]; /* DIR/tsm: the fake configfs-tsm report root */
    struct cs_dev_attester *dev;
};

static void env_open(struct env *e)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/cs-attester.XXXXXX");
    if (mkdtemp(e->dir) == NULL) {
        abort();
    }
    snprintf(e->root, sizeof e->root, "%s/tsm", e->dir);
    if (mkdir(e->root, 0700) != 0) {
        abort();
    }
    e->dev = NULL;
    EXPECT_OK(cs_dev_attester_open(e->dir, true, cs_time_now(), &e->dev));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void env_close(struct env *e)
{
    cs_dev_attester_free(e->dev);
    EXPECT_EQ(nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void pattern(uint8_t rd[64], uint8_t seed)
{
    for (size_t i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(seed + i * 3);
    }
}

/* The quote of a tdx evidence object verifies (dev collateral) with report_data = rd. */
static void expect_tdx_verifies(const struct env *e, json_t *ev, const uint8_t rd[64])
{
    EXPECT_EQ(json_object_size(ev), 2);
    EXPECT_TRUE(json_is_null(json_object_get(ev, "cc_eventlog")));
    const char *b64 = json_string_value(json_object_get(ev, "quote"));
    EXPECT_TRUE(b64 != NULL);
    if (b64 == NULL) {
        return;
    }
    size_t cap = strlen(b64);
    uint8_t *q = malloc(cap);
    size_t qlen = 0;
    EXPECT_OK(cs_b64_decode(b64, strlen(b64), true, q, cap, &qlen));
    struct custos_dcap_collateral *c = NULL;
    EXPECT_OK(custos_dcap_collateral_load_dir(cs_dev_attester_collateral_dir(e->dev), NULL, &c));
    struct custos_verdict *v = NULL;
    EXPECT_OK(custos_dcap_verify(c, q, qlen, cs_time_now(), &v));
    char *text = NULL;
    EXPECT_OK(custos_verdict_claims_json(v, &text));
    json_t *claims = text != NULL ? json_loads(text, 0, NULL) : NULL;
    char want[129];
    for (size_t i = 0; i < 64; i++) {
        snprintf(want + 2 * i, 3, "%02x", rd[i]);
    }
    EXPECT_STR_EQ(json_string_value(json_object_get(claims, "report_data")), want);
    json_decref(claims);
    custos_free(text);
    custos_verdict_free(v);
    custos_dcap_collateral_free(c);
    free(q);
}

static struct cs_attester *open_tsm(const struct env *e, const char *kind, struct fake_tsm *f)
{
    struct cs_attester_opts o = { .kind = kind, .tsm_root = e->root };
    struct cs_attester *a = NULL;
    EXPECT_OK(cs_attester_open(&o, &a));
    struct cs_tsm_hook h = fake_tsm_hook(f);
    EXPECT_OK(cs_attester_set_tsm_hook(a, &h));
    return a;
}

static void test_tsm_tdx(void)
{
    struct env e;
    env_open(&e);
    struct fake_tsm f = { .provider = "tdx_guest", .dev = e.dev };
    struct cs_attester *a = open_tsm(&e, "tdx", &f);
    EXPECT_STR_EQ(cs_attester_tee(a), "tdx");
    EXPECT_STR_EQ(cs_attester_kind(a), "tdx");
    for (uint8_t seed = 1; seed <= 2; seed++) { /* two reports from one attester */
        uint8_t rd[64];
        pattern(rd, seed);
        json_t *ev = NULL;
        EXPECT_OK(cs_attester_evidence(a, rd, &ev));
        EXPECT_MEM_EQ(f.inblob, rd, 64);
        if (ev != NULL) {
            expect_tdx_verifies(&e, ev, rd);
        }
        json_decref(ev);
    }
    EXPECT_EQ(f.n_created, 2);
    EXPECT_EQ(f.n_done, 2);
    EXPECT_STR_EQ(f.privlevel, ""); /* not written unless asked */
    EXPECT_EQ(fake_tsm_count_entries(e.root), 0);
    cs_attester_free(a);
    env_close(&e);
}

static void test_sim(void)
{
    struct env e;
    env_open(&e);
    struct cs_attester_opts o = { .kind = "sim", .sim_data_dir = e.dir };
    struct cs_attester *a = NULL;
    EXPECT_OK(cs_attester_open(&o, &a));
    EXPECT_STR_EQ(cs_attester_tee(a), "tdx");
    EXPECT_STR_EQ(cs_attester_kind(a), "sim");
    uint8_t rd[64];
    pattern(rd, 9);
    json_t *ev = NULL;
    EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    if (ev != NULL) {
        expect_tdx_verifies(&e, ev, rd);
    }
    json_decref(ev);
    EXPECT_ERR(cs_attester_evidence(a, NULL, &ev), CS_E_ARG);
    EXPECT_TRUE(ev == NULL);
    cs_attester_free(a);

    /* no PKI in the directory: not created by the attester */
    char empty[128];
    snprintf(empty, sizeof empty, "%s/tsm", e.dir);
    o.sim_data_dir = empty;
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_NOT_FOUND);
    EXPECT_TRUE(a == NULL);
    EXPECT_EQ(fake_tsm_count_entries(empty), 0);
    env_close(&e);
}

/* One evidence call against a fake with faults; returns its code, checks the cleanup. */
static cs_code tsm_fault(struct env *e, const char *kind, struct fake_tsm *f)
{
    struct cs_attester *a = open_tsm(e, kind, f);
    uint8_t rd[64];
    pattern(rd, 5);
    json_t *ev = NULL;
    cs_code c = cs_attester_evidence(a, rd, &ev).code;
    EXPECT_TRUE((c == CS_OK) == (ev != NULL));
    json_decref(ev);
    EXPECT_EQ(fake_tsm_count_entries(e->root), 0); /* removed on every path */
    cs_attester_free(a);
    return c;
}

static void test_tsm_faults(void)
{
    struct env e;
    env_open(&e);
    struct fake_tsm f = { .provider = "tdx_guest", .dev = e.dev, .is_race_before = true };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_CONFLICT);
    f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev, .is_race_after = true };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_CONFLICT);

    /* another TEE's provider: refused before anything is written */
    f = (struct fake_tsm){ .provider = "sev_guest", .dev = e.dev };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_UNSUPPORTED);
    EXPECT_EQ(f.n_written, 0);
    f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev };
    EXPECT_EQ(tsm_fault(&e, "snp", &f), CS_E_UNSUPPORTED);
    f = (struct fake_tsm){ .provider = "tdx_guest_x", .dev = e.dev };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_UNSUPPORTED);

    static const char *const files[] = { "provider", "inblob", "generation", "outblob" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev, .omit = files[i] };
        cs_code c = tsm_fault(&e, "tdx", &f);
        if (c != CS_E_NOT_FOUND) {
            fprintf(stderr, "missing %s: got %s\n", files[i], custos_code_name(c));
        }
        EXPECT_EQ(c, CS_E_NOT_FOUND);
    }

    f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev, .is_oversized = true };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_TOO_LARGE);
    f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev, .is_stale = true };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_BINDING);
    f = (struct fake_tsm){ .provider = "tdx_guest", .dev = e.dev, .is_outblob_symlink = true };
    EXPECT_EQ(tsm_fault(&e, "tdx", &f), CS_E_IO);
    /* an SNP outblob for a tdx attester... and a tdx-sized one for snp */
    f = (struct fake_tsm){ .provider = "sev_guest", .dev = e.dev, .is_stale = true };
    EXPECT_EQ(tsm_fault(&e, "snp", &f), CS_E_BINDING);
    env_close(&e);
}

/* A GHCB certificate table: entries (GUID, offset, length), a zero entry, then the data. */
static size_t cert_table(uint8_t *out, const uint8_t guids[][16], const size_t *lens, size_t n,
                         uint32_t bad_off)
{
    size_t data = (n + 1) * 24;
    size_t off = data;
    memset(out, 0, data);
    for (size_t i = 0; i < n; i++) {
        memcpy(out + 24 * i, guids[i], 16);
        uint32_t o32 = bad_off != 0 ? bad_off : (uint32_t)off;
        uint32_t l32 = (uint32_t)lens[i];
        for (int b = 0; b < 4; b++) {
            out[24 * i + 16 + b] = (uint8_t)(o32 >> (8 * b));
            out[24 * i + 20 + b] = (uint8_t)(l32 >> (8 * b));
        }
        for (size_t k = 0; k < lens[i]; k++) {
            out[off + k] = (uint8_t)(0x30 + i + k);
        }
        off += lens[i];
    }
    return off;
}

static const uint8_t vcek_guid[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t ask_guid[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                      0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
static const uint8_t odd_guid[16] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };

static void test_tsm_snp(void)
{
    struct env e;
    env_open(&e);
    uint8_t aux[1024];
    const uint8_t guids[3][16] = { { 0 }, { 0 }, { 0 } };
    uint8_t(*g)[16] = (uint8_t(*)[16])guids;
    memcpy(g[0], vcek_guid, 16);
    memcpy(g[1], ask_guid, 16);
    memcpy(g[2], odd_guid, 16);
    const size_t lens[3] = { 100, 50, 7 };
    size_t aux_len = cert_table(aux, guids, lens, 3, 0);

    struct fake_tsm f = { .provider = "sev_guest", .aux = aux, .aux_len = aux_len };
    struct cs_attester_opts o = { .kind = "snp", .tsm_root = e.root, .has_privlevel = true,
                                  .privlevel = 2 };
    struct cs_attester *a = NULL;
    EXPECT_OK(cs_attester_open(&o, &a));
    struct cs_tsm_hook h = fake_tsm_hook(&f);
    EXPECT_OK(cs_attester_set_tsm_hook(a, &h));
    EXPECT_STR_EQ(cs_attester_tee(a), "snp");
    uint8_t rd[64];
    pattern(rd, 77);
    json_t *ev = NULL;
    EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    EXPECT_STR_EQ(f.privlevel, "2");
    EXPECT_EQ(fake_tsm_count_entries(e.root), 0);
    json_t *chain = json_object_get(ev, "cert_chain");
    EXPECT_EQ(json_array_size(chain), 3);
    EXPECT_STR_EQ(json_string_value(json_object_get(json_array_get(chain, 0), "cert_type")),
                  "VCEK");
    EXPECT_STR_EQ(json_string_value(json_object_get(json_array_get(chain, 1), "cert_type")),
                  "ASK");
    EXPECT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(json_array_get(chain, 2), "cert_type"), "OTHER")),
                  "01020304-0506-0708-090a-0b0c0d0e0f10");
    EXPECT_EQ(json_array_size(json_object_get(json_array_get(chain, 0), "data")), 100);
    EXPECT_EQ(json_integer_value(
                  json_array_get(json_object_get(json_array_get(chain, 1), "data"), 0)),
              0x31);
#ifdef CS_TEST_HAVE_SNP
    /* the broker's converter gives back exactly the outblob and the certificates */
    char *text = json_dumps(ev, JSON_COMPACT);
    struct cs_snp_kbs *k = malloc(sizeof *k);
    EXPECT_OK(cs_snp_kbs_parse((const uint8_t *)text, strlen(text), k));
    EXPECT_MEM_EQ(k->report, f.report, FAKE_SNP_REPORT_LEN);
    EXPECT_EQ(k->n_certs, 2);
    EXPECT_EQ(k->certs[0].len, 100);
    EXPECT_EQ(k->certs[0].type, CS_SNP_CERT_VCEK);
    EXPECT_MEM_EQ(k->certs[0].der, aux + 4 * 24, 100);
    free(k);
    free(text);
#endif
    json_decref(ev);

    /* no auxblob content: cert_chain null */
    f.aux = NULL;
    f.aux_len = 0;
    EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    EXPECT_TRUE(json_is_null(json_object_get(ev, "cert_chain")));
    json_decref(ev);
    /* a certificate outside auxblob, a table without its end */
    f.aux = aux;
    f.aux_len = cert_table(aux, guids, lens, 1, 5000);
    EXPECT_ERR(cs_attester_evidence(a, rd, &ev), CS_E_FORMAT);
    f.aux_len = cert_table(aux, guids, lens, 3, 0);
    f.aux_len = 3 * 24 + 10; /* the zero entry cut */
    EXPECT_ERR(cs_attester_evidence(a, rd, &ev), CS_E_FORMAT);
    EXPECT_TRUE(ev == NULL);
    EXPECT_EQ(fake_tsm_count_entries(e.root), 0);
    cs_attester_free(a);

    /* the converter alone */
    uint8_t rep[FAKE_SNP_REPORT_LEN] = { 0 };
    EXPECT_ERR(cs_attest_snp_evidence(rep, sizeof rep - 1, NULL, 0, &ev), CS_E_FORMAT);
    rep[0x0F] = 0x80; /* policy above 2^63 - 1: jansson cannot carry it */
    EXPECT_ERR(cs_attest_snp_evidence(rep, sizeof rep, NULL, 0, &ev), CS_E_FORMAT);
    env_close(&e);
}

static void test_open_options(void)
{
    struct env e;
    env_open(&e);
    struct cs_attester *a = NULL;
    struct cs_attester_opts o = { .kind = "sgx", .tsm_root = e.root };
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_ARG);
    EXPECT_ERR(cs_attester_open(NULL, &a), CS_E_ARG);
    o = (struct cs_attester_opts){ .kind = "snp", .tsm_root = e.root, .has_privlevel = true,
                                   .privlevel = 4 };
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_ARG);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none", e.dir);
    o = (struct cs_attester_opts){ .kind = "tdx", .tsm_root = missing };
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_NOT_FOUND);
    o.tsm_root = NULL; /* the default root: no configfs-tsm in the test environment */
    if (access(CS_ATTESTER_TSM_ROOT_DEFAULT, F_OK) != 0) {
        EXPECT_ERR(cs_attester_open(&o, &a), CS_E_NOT_FOUND);
    }
    o = (struct cs_attester_opts){ .kind = "sim" }; /* sim without its directory */
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_ARG);
    EXPECT_TRUE(a == NULL);
    o = (struct cs_attester_opts){ .kind = "tdx", .tsm_root = e.root };
    EXPECT_OK(cs_attester_open(&o, &a));
    struct cs_tsm_hook h = { 0 };
    EXPECT_OK(cs_attester_set_tsm_hook(a, &h));
    cs_attester_free(a);
    o = (struct cs_attester_opts){ .kind = "sim", .sim_data_dir = e.dir };
    EXPECT_OK(cs_attester_open(&o, &a));
    EXPECT_ERR(cs_attester_set_tsm_hook(a, &h), CS_E_ARG); /* not a configfs-tsm kind */
    cs_attester_free(a);
    cs_attester_free(NULL);
    uint8_t rd[64] = { 0 };
    uint8_t n1[32];
    uint8_t n2[32];
    EXPECT_OK(cs_attester_tpm_nonce(rd, n1));
    rd[63] = 1; /* every byte of REPORT_DATA is bound */
    EXPECT_OK(cs_attester_tpm_nonce(rd, n2));
    EXPECT_TRUE(memcmp(n1, n2, 32) != 0);
    /* SHA-256 of 64 zero bytes */
    static const uint8_t want[32] = { 0xf5, 0xa5, 0xfd, 0x42, 0xd1, 0x6a, 0x20, 0x30,
                                      0x27, 0x98, 0xef, 0x6e, 0xd3, 0x09, 0x97, 0x9b,
                                      0x43, 0x00, 0x3d, 0x23, 0x20, 0xd9, 0xf0, 0xe8,
                                      0xea, 0x98, 0x31, 0xa9, 0x27, 0x59, 0xfb, 0x4b };
    EXPECT_MEM_EQ(n1, want, 32);
    env_close(&e);
}

CS_TEST_MAIN(CS_TEST(test_tsm_tdx), CS_TEST(test_sim), CS_TEST(test_tsm_faults),
             CS_TEST(test_tsm_snp), CS_TEST(test_open_options))
