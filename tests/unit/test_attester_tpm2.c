/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kind tpm2 against a software TPM (run by tests/attester/swtpm_run.sh, which passes the
 * TCTI and two persistent handles in the environment; without them the test skips, 77).
 * Asserted: the evidence verifies with custos_tpm_verify, pinned to its own ak_pub, with
 * nonce = cs_attester_tpm_nonce(REPORT_DATA), for the default and a two-bank selection, and
 * with a persistent AK; another REPORT_DATA's nonce is a binding failure and a changed quote
 * byte a signature failure; the primary AK is the same key across opens and no transient
 * object is left in the TPM after free; a non-AK persistent key, an absent handle, a
 * non-persistent handle, malformed PCR selections, an unreachable TPM and a missing AK
 * certificate file are refused with their codes; an AK certificate file is carried as is.
 */
#include <jansson.h>
#include <stdlib.h>
#include <tss2/tss2_esys.h>
#include <unistd.h>
#include <tss2/tss2_tctildr.h>

#include "client/attester.h"
#include "core/cs_b64.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/tpm.h"
#include "custos/verdict.h"

static const char *tcti;

struct blob {
    uint8_t *p;
    size_t len;
};

static struct blob b64_member(json_t *ev, const char *key)
{
    struct blob b = { 0 };
    const char *s = json_string_value(json_object_get(ev, key));
    EXPECT_TRUE(s != NULL);
    if (s == NULL) {
        return b;
    }
    b.p = malloc(strlen(s) + 1);
    EXPECT_OK(cs_b64_decode(s, strlen(s), true, b.p, strlen(s) + 1, &b.len));
    return b;
}

/* custos_tpm_verify of an evidence object, pinned to its own ak_pub; claims on CS_OK. */
static cs_code verify(json_t *ev, const uint8_t nonce[32], bool flip_quote, json_t **claims)
{
    struct blob q = b64_member(ev, "quote");
    struct blob s = b64_member(ev, "signature");
    if (flip_quote && q.len > 10) {
        q.p[q.len - 10] ^= 1;
    }
    char *pcrs = json_dumps(json_object_get(ev, "pcrs"), JSON_COMPACT);
    const char *ak = json_string_value(json_object_get(ev, "ak_pub"));
    EXPECT_TRUE(pcrs != NULL && ak != NULL);
    struct custos_tpm_trust_src src = { .ak_pub = { (const uint8_t *)ak, ak ? strlen(ak) : 0 } };
    struct custos_tpm_trust *t = NULL;
    EXPECT_OK(custos_tpm_trust_new(&src, NULL, &t));
    struct custos_tpm_evidence e = { .quote = { q.p, q.len },
                                     .signature = { s.p, s.len },
                                     .pcrs = { (const uint8_t *)pcrs, pcrs ? strlen(pcrs) : 0 } };
    struct custos_bytes n = { nonce, 32 };
    struct custos_verdict *v = NULL;
    cs_code c = custos_tpm_verify(t, &e, &n, cs_time_now(), &v).code;
    if (claims != NULL) {
        *claims = NULL;
        char *text = NULL;
        if (c == CS_OK && cs_ok(custos_verdict_claims_json(v, &text))) {
            *claims = json_loads(text, 0, NULL);
        }
        custos_free(text);
    }
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    free(pcrs);
    free(q.p);
    free(s.p);
    return c;
}

static struct cs_attester *open_tpm(const char *pcrs, uint32_t handle)
{
    struct cs_attester_opts o = { .kind = "tpm2", .tcti = tcti, .pcrs = pcrs,
                                  .tpm_ak_handle = handle };
    struct cs_attester *a = NULL;
    EXPECT_OK(cs_attester_open(&o, &a));
    return a;
}

static void pattern(uint8_t rd[64], uint8_t seed)
{
    for (size_t i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(seed ^ (i * 5));
    }
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

static void test_quote_verifies(void)
{
    struct cs_attester *a = open_tpm(NULL, 0);
    if (a == NULL) {
        return;
    }
    EXPECT_STR_EQ(cs_attester_tee(a), "tpm");
    EXPECT_STR_EQ(cs_attester_kind(a), "tpm2");
    for (uint8_t seed = 1; seed <= 2; seed++) {
        uint8_t rd[64];
        pattern(rd, seed);
        uint8_t nonce[32];
        EXPECT_OK(cs_attester_tpm_nonce(rd, nonce));
        json_t *ev = NULL;
        EXPECT_OK(cs_attester_evidence(a, rd, &ev));
        if (ev == NULL) {
            continue;
        }
        EXPECT_TRUE(json_object_get(ev, "ak_cert") == NULL);
        json_t *claims = NULL;
        EXPECT_EQ(verify(ev, nonce, false, &claims), CS_OK);
        char want[65];
        hex(nonce, 32, want);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "nonce")), want);
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "ak_trust")), "pinned");
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "sig_alg")), "ecdsa");
        json_t *bank = json_object_get(json_object_get(claims, "pcrs"), "sha256");
        EXPECT_EQ(json_object_size(bank), 8);
        EXPECT_TRUE(json_object_get(bank, "7") != NULL);
        json_decref(claims);

        uint8_t other[64];
        pattern(other, (uint8_t)(seed + 10));
        uint8_t wrong[32];
        EXPECT_OK(cs_attester_tpm_nonce(other, wrong));
        EXPECT_EQ(verify(ev, wrong, false, NULL), CS_E_BINDING);
        EXPECT_EQ(verify(ev, nonce, true, NULL), CS_E_SIGNATURE);
        json_decref(ev);
    }
    cs_attester_free(a);
}

/* Transient objects in the TPM, through a connection of our own. */
static long transient_count(void)
{
    TSS2_TCTI_CONTEXT *tc = NULL;
    ESYS_CONTEXT *ec = NULL;
    if (Tss2_TctiLdr_Initialize(tcti, &tc) != TSS2_RC_SUCCESS ||
        Esys_Initialize(&ec, tc, NULL) != TSS2_RC_SUCCESS) {
        Tss2_TctiLdr_Finalize(&tc);
        return -1;
    }
    TPMI_YES_NO more = 0;
    TPMS_CAPABILITY_DATA *cap = NULL;
    long n = -1;
    if (Esys_GetCapability(ec, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           0x80000000u /* TPM2_TRANSIENT_FIRST: its macro shifts an int */, 64, &more, &cap) == TSS2_RC_SUCCESS) {
        n = (long)cap->data.handles.count;
    }
    Esys_Free(cap);
    Esys_Finalize(&ec);
    Tss2_TctiLdr_Finalize(&tc);
    return n;
}

static void test_ak_stable_and_flushed(void)
{
    uint8_t rd[64];
    pattern(rd, 3);
    char *pems[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        struct cs_attester *a = open_tpm("sha256:0", 0);
        json_t *ev = NULL;
        if (a != NULL) {
            EXPECT_OK(cs_attester_evidence(a, rd, &ev));
        }
        pems[i] = strdup(ev ? json_string_value(json_object_get(ev, "ak_pub")) : "");
        json_decref(ev);
        cs_attester_free(a);
        EXPECT_EQ(transient_count(), 0); /* the primary AK was flushed */
    }
    EXPECT_STR_EQ(pems[0], pems[1]);
    EXPECT_TRUE(strstr(pems[0], "-----BEGIN PUBLIC KEY-----\n") == pems[0]);
    free(pems[0]);
    free(pems[1]);
}

static uint32_t env_handle(const char *name)
{
    const char *s = getenv(name);
    return s != NULL ? (uint32_t)strtoul(s, NULL, 16) : 0;
}

static void test_persistent_ak(void)
{
    uint32_t h = env_handle("CS_TEST_AK_HANDLE");
    uint32_t bad = env_handle("CS_TEST_BAD_HANDLE");
    EXPECT_TRUE(h != 0 && bad != 0);
    struct cs_attester *a = open_tpm("sha256:1,2", h);
    uint8_t rd[64];
    pattern(rd, 4);
    uint8_t nonce[32];
    EXPECT_OK(cs_attester_tpm_nonce(rd, nonce));
    json_t *ev = NULL;
    if (a != NULL) {
        EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    }
    if (ev != NULL) {
        EXPECT_EQ(verify(ev, nonce, false, NULL), CS_OK);
    }
    json_decref(ev);
    cs_attester_free(a);
    EXPECT_EQ(transient_count(), 0);

    struct cs_attester_opts o = { .kind = "tpm2", .tcti = tcti, .tpm_ak_handle = bad };
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_UNSUPPORTED); /* RSA, not a signing key */
    o.tpm_ak_handle = 0x81000020;
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_NOT_FOUND);
    o.tpm_ak_handle = 0x80000001; /* a transient handle */
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_ARG);
    EXPECT_TRUE(a == NULL);
}

static void test_pcr_selection(void)
{
    struct cs_attester *a = open_tpm("sha1:0,16+sha256:16,23", 0);
    uint8_t rd[64];
    pattern(rd, 5);
    uint8_t nonce[32];
    EXPECT_OK(cs_attester_tpm_nonce(rd, nonce));
    json_t *ev = NULL;
    if (a != NULL) {
        EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    }
    json_t *pcrs = json_object_get(ev, "pcrs");
    EXPECT_EQ(json_object_size(pcrs), 2);
    EXPECT_EQ(json_string_length(json_object_get(json_object_get(pcrs, "sha1"), "16")), 40);
    EXPECT_EQ(json_string_length(json_object_get(json_object_get(pcrs, "sha256"), "23")), 64);
    EXPECT_TRUE(json_object_get(json_object_get(pcrs, "sha256"), "0") == NULL);
    json_t *claims = NULL;
    if (ev != NULL) {
        EXPECT_EQ(verify(ev, nonce, false, &claims), CS_OK);
    }
    EXPECT_EQ(json_object_size(json_object_get(claims, "pcrs")), 2);
    json_decref(claims);
    json_decref(ev);
    cs_attester_free(a);

    static const char *const bad[] = { "sha512:0",   "sha256:24", "sha256:",    "sha256:01",
                                       "sha256:0+sha256:1", "sha256:0,", "sha256", "",
                                       "sha256:0+", "sha1:0+sha256:0+sha384:0+sha1:1",
                                       "sha256:1x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cs_attester_opts o = { .kind = "tpm2", .tcti = tcti, .pcrs = bad[i] };
        struct cs_attester *x = NULL;
        cs_code c = cs_attester_open(&o, &x).code;
        if (c != CS_E_ARG) {
            fprintf(stderr, "pcrs \"%s\": got %s\n", bad[i], custos_code_name(c));
        }
        EXPECT_EQ(c, CS_E_ARG);
        cs_attester_free(x);
    }
}

static void test_open_failures_and_cert(void)
{
    struct cs_attester_opts o = { .kind = "tpm2", .tcti = "swtpm:host=127.0.0.1,port=1" };
    struct cs_attester *a = NULL;
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_IO);
    o = (struct cs_attester_opts){ .kind = "tpm2", .tcti = tcti,
                                   .tpm_ak_cert = "/nonexistent/ak.der" };
    EXPECT_ERR(cs_attester_open(&o, &a), CS_E_IO);
    EXPECT_TRUE(a == NULL);

    char path[] = "/tmp/cs-akcert.XXXXXX";
    int fd = mkstemp(path);
    static const uint8_t cert[] = { 0x30, 0x03, 0x02, 0x01, 0x07 }; /* carried, not parsed */
    EXPECT_TRUE(fd >= 0 && write(fd, cert, sizeof cert) == (ssize_t)sizeof cert);
    close(fd);
    o.tpm_ak_cert = path;
    EXPECT_OK(cs_attester_open(&o, &a));
    uint8_t rd[64] = { 0 };
    json_t *ev = NULL;
    if (a != NULL) {
        EXPECT_OK(cs_attester_evidence(a, rd, &ev));
    }
    struct blob b = b64_member(ev, "ak_cert");
    EXPECT_EQ(b.len, sizeof cert);
    if (b.len == sizeof cert) {
        EXPECT_MEM_EQ(b.p, cert, sizeof cert);
    }
    free(b.p);
    json_decref(ev);
    cs_attester_free(a);
    unlink(path);
}

static const struct cs_test_case cases[] = {
    CS_TEST(test_quote_verifies), CS_TEST(test_ak_stable_and_flushed),
    CS_TEST(test_persistent_ak), CS_TEST(test_pcr_selection),
    CS_TEST(test_open_failures_and_cert),
};

int main(void)
{
    tcti = getenv("CS_TEST_TCTI");
    if (tcti == NULL) {
        printf("SKIP: CS_TEST_TCTI is not set (tests/attester/swtpm_run.sh sets it)\n");
        return CS_TEST_SKIP_CODE;
    }
    return cs_test_run(cases, sizeof cases / sizeof cases[0]);
}
