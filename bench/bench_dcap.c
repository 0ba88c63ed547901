/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of Intel DCAP quote verification on one core (one thread), against its floor.
 *
 *   warm:  custos_dcap_collateral_new once, then custos_dcap_verify + custos_verdict_free
 *          per quote (the PCK chain memo is warm after the first quote): the service case.
 *   floor: what any verifier must pay per quote, measured in the same run: the ECDSA P-256
 *          verification of the quote signature (attestation key, over the signed span) and
 *          of the QE report signature (PCK key, over the 384-byte QE report), each with
 *          its SHA-256, plus SHA-256(attestation key || QE auth data). Keys, DER
 *          signatures, the digest and the verify contexts are prepared outside the timed
 *          loop, so the floor is hashing and curve arithmetic only.
 *   cold:  custos_dcap_collateral_new + custos_dcap_verify + frees per quote: collateral
 *          parsed and its signatures and chains verified every time.
 *
 * Each measurement runs for --seconds (default 1.5), three times; the best run counts.
 * Warm and floor alternate in 50 ms slices within a run, so that load elsewhere on the
 * machine weighs on both alike and their ratio stays meaningful.
 * Then the peak resident set size of the whole run (getrusage ru_maxrss).
 *
 * usage: bench_dcap CASE_DIR [--seconds S]
 * CASE_DIR holds quote.bin, the collateral files that custos_dcap_collateral_load_dir
 * reads, and case.json whose "at" (RFC 3339) is the verification instant. Exit status 0
 * when every measurement ran, whether or not the ratio meets its target; 1 on an error
 * (such as a quote that does not verify: timing a failure would mean nothing); 2 on usage.
 */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ossl.h"
#include "crypto/cs_x509.h"
#include "custos/dcap.h"
#include "evidence/intel_quote.h"

#include "bench_util.h"

const char *const bench_name = "bench_dcap";

#define RATIO_TARGET 0.60
#define ROUNDS 3
#define SLICE_S 0.05 /* warm and floor alternate in slices of this many seconds */
#define FILE_MAX (4u * 1024u * 1024u)
#define N_FILES 7

/* As in custos_dcap_collateral_load_dir: names tried in order; the first three required. */
static const char *const collateral_files[N_FILES][2] = {
    { "tcb_info.json", NULL },
    { "tcb_info_issuer_chain.pem", "tcb_info_issuer_chain.der" },
    { "trust_anchor.pem", "trust_anchor.der" },
    { "qe_identity.json", NULL },
    { "qe_identity_issuer_chain.pem", "qe_identity_issuer_chain.der" },
    { "pck_crl.der", "pck_crl.pem" },
    { "root_ca_crl.der", "root_ca_crl.pem" },
};

/* The case, every file read once before any measurement. owns: the blobs */
struct bench_case {
    struct cs_blob quote;
    struct cs_blob files[N_FILES];         /* in the order of collateral_files */
    struct custos_dcap_collateral_src src; /* borrows: files */
    int64_t at;
};

/* The floor's inputs, prepared once. owns: everything but q; q borrows the case's quote */
struct bench_floor {
    EVP_MD *sha256;
    EVP_MD_CTX *md;
    EVP_PKEY_CTX *att_verify; /* attestation key, EVP_PKEY_verify_init done */
    EVP_PKEY_CTX *pck_verify; /* PCK leaf key, EVP_PKEY_verify_init done */
    unsigned char *quote_sig;
    int quote_sig_len;
    unsigned char *qe_sig;
    int qe_sig_len;
    struct cs_intel_quote q;
};

struct bench_warm {
    struct custos_dcap_collateral *coll;
    const struct bench_case *bc;
};

/* ---- the case --------------------------------------------------------------------- */

static struct custos_bytes bytes_of(const struct cs_blob *b)
{
    return (struct custos_bytes){ b->p, b->len };
}

static cs_res case_load(const char *dir, struct bench_case *bc)
{
    cs_res r = bench_read_in(dir, "quote.bin", FILE_MAX, &bc->quote);
    BENCH_ENSURE(cs_ok(r), r.code, "%s/quote.bin: %s", dir, custos_code_name(r.code));
    for (size_t i = 0; i < N_FILES; i++) {
        r = bench_read_in(dir, collateral_files[i][0], FILE_MAX, &bc->files[i]);
        if (!cs_ok(r) && collateral_files[i][1] != NULL) {
            r = bench_read_in(dir, collateral_files[i][1], FILE_MAX, &bc->files[i]);
        }
        BENCH_ENSURE(cs_ok(r) || i >= 3, r.code, "%s/%s: %s", dir, collateral_files[i][0],
                     custos_code_name(r.code));
    }
    CS_TRY(bench_case_at(dir, &bc->at));
    bc->src = (struct custos_dcap_collateral_src){
        .tcb_info = bytes_of(&bc->files[0]),
        .tcb_info_chain = bytes_of(&bc->files[1]),
        .trust_anchor = bytes_of(&bc->files[2]),
        .qe_identity = bytes_of(&bc->files[3]),
        .qe_identity_chain = bytes_of(&bc->files[4]),
        .pck_crl = bytes_of(&bc->files[5]),
        .root_ca_crl = bytes_of(&bc->files[6]),
    };
    return CS_SUCCESS;
}

static void case_clear(struct bench_case *bc)
{
    cs_blob_clear(&bc->quote);
    for (size_t i = 0; i < N_FILES; i++) {
        cs_blob_clear(&bc->files[i]);
    }
}

/* ---- warm and cold ---------------------------------------------------------------- */

static void verdict_freep(struct custos_verdict **v)
{
    custos_verdict_free(*v);
}

static void collateral_freep(struct custos_dcap_collateral **c)
{
    custos_dcap_collateral_free(*c);
}

static cs_res verify_once(struct custos_dcap_collateral *coll, const struct bench_case *bc)
{
    CS_AUTO(verdict_freep) struct custos_verdict *v = NULL;
    cs_res r = custos_dcap_verify(coll, bc->quote.p, bc->quote.len, bc->at, &v);
    BENCH_ENSURE(cs_ok(r), r.code, "the quote does not verify: %s", custos_verdict_message(v));
    return CS_SUCCESS;
}

static cs_res op_warm(void *arg)
{
    const struct bench_warm *w = arg;
    return verify_once(w->coll, w->bc);
}

static cs_res op_cold(void *arg)
{
    const struct bench_case *bc = arg;
    CS_AUTO(collateral_freep) struct custos_dcap_collateral *coll = NULL;
    struct custos_diag diag = { 0 };
    cs_res r = custos_dcap_collateral_new(&bc->src, &diag, &coll);
    BENCH_ENSURE(cs_ok(r), r.code, "collateral: %s", diag.msg);
    return verify_once(coll, bc);
}

/* ---- floor ------------------------------------------------------------------------ */

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

static cs_res rs_to_der(const uint8_t rs[64], unsigned char **der, int *der_len)
{
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL);
    BIGNUM *s = BN_bin2bn(rs + 32, 32, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        CS_FAIL(CS_E_CRYPTO);
    }
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(sig, der);
    CS_ENSURE(*der_len > 0, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* The attestation key as an EVP_PKEY, made here so that the floor owes nothing to src/. */
static cs_res att_key_import(const uint8_t xy[64], EVP_PKEY **out)
{
    uint8_t point[65] = { 0x04 }; /* SEC 1 uncompressed point */
    memcpy(point + 1, xy, 64);
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int rc = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    CS_ENSURE(rc, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res verify_ctx(EVP_PKEY *key, EVP_PKEY_CTX **out)
{
    *out = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    CS_ENSURE(EVP_PKEY_verify_init(*out) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res floor_init(const struct bench_case *bc, struct bench_floor *f)
{
    CS_TRY(cs_intel_quote_parse(bc->quote.p, bc->quote.len, &f->q));
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *att = NULL;
    CS_TRY(att_key_import(f->q.att_key, &att));
    CS_TRY(verify_ctx(att, &f->att_verify)); /* the context keeps its own reference */
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *chain = NULL;
    CS_TRY(cs_x509_stack_parse(f->q.pck_chain, &chain));
    CS_TRY(verify_ctx(X509_get0_pubkey(sk_X509_value(chain, 0)), &f->pck_verify));
    f->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    f->md = EVP_MD_CTX_new();
    CS_ENSURE(f->sha256 != NULL && f->md != NULL, CS_E_NOMEM);
    CS_TRY(rs_to_der(f->q.quote_sig, &f->quote_sig, &f->quote_sig_len));
    CS_TRY(rs_to_der(f->q.qe_report_sig, &f->qe_sig, &f->qe_sig_len));
    return CS_SUCCESS;
}

static void floor_clear(struct bench_floor *f)
{
    EVP_PKEY_CTX_free(f->att_verify);
    EVP_PKEY_CTX_free(f->pck_verify);
    EVP_MD_free(f->sha256);
    EVP_MD_CTX_free(f->md);
    OPENSSL_free(f->quote_sig);
    OPENSSL_free(f->qe_sig);
}

static cs_res sha256_2(struct bench_floor *f, struct cs_cur a, struct cs_cur b,
                       unsigned char out[32])
{
    unsigned int n = 0;
    CS_ENSURE(EVP_DigestInit_ex(f->md, f->sha256, NULL) == 1, CS_E_CRYPTO);
    CS_ENSURE(EVP_DigestUpdate(f->md, a.p, a.left) == 1, CS_E_CRYPTO);
    CS_ENSURE(EVP_DigestUpdate(f->md, b.p, b.left) == 1, CS_E_CRYPTO);
    CS_ENSURE(EVP_DigestFinal_ex(f->md, out, &n) == 1 && n == 32, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_floor(void *arg)
{
    struct bench_floor *f = arg;
    const struct cs_intel_quote *q = &f->q;
    struct cs_cur none = cs_cur_of(NULL, 0);
    unsigned char h[32];
    CS_TRY(sha256_2(f, q->qe_report_raw, none, h));
    BENCH_ENSURE(EVP_PKEY_verify(f->pck_verify, f->qe_sig, (size_t)f->qe_sig_len, h, 32) == 1,
                 CS_E_SIGNATURE, "floor: QE report signature");
    CS_TRY(sha256_2(f, cs_cur_of(q->att_key, sizeof q->att_key), q->qe_auth_data, h));
    BENCH_ENSURE(memcmp(h, q->qe_report.report_data, 32) == 0, CS_E_BINDING,
                 "floor: QE report data");
    CS_TRY(sha256_2(f, q->signed_span, none, h));
    int rc = EVP_PKEY_verify(f->att_verify, f->quote_sig, (size_t)f->quote_sig_len, h, 32);
    BENCH_ENSURE(rc == 1, CS_E_SIGNATURE, "floor: quote signature");
    return CS_SUCCESS;
}

/* ---- main ------------------------------------------------------------------------- */

static void floor_clearp(struct bench_floor *f)
{
    floor_clear(f);
}

static cs_res run(struct bench_case *bc, double seconds)
{
    struct custos_diag diag = { 0 };
    CS_AUTO(collateral_freep) struct custos_dcap_collateral *coll = NULL;
    cs_res r = custos_dcap_collateral_new(&bc->src, &diag, &coll);
    BENCH_ENSURE(cs_ok(r), r.code, "collateral: %s", diag.msg);
    CS_TRY(verify_once(coll, bc)); /* fills the PCK chain memo */
    CS_AUTO(floor_clearp) struct bench_floor floor = { 0 };
    r = floor_init(bc, &floor);
    BENCH_ENSURE(cs_ok(r), r.code, "floor setup: %s", custos_code_name(r.code));

    /*
     * Each round measures warm and floor for `seconds` each, alternating in slices of
     * SLICE_S, so that both see the same moments of the machine (a burst of load elsewhere
     * slows both, and the ratio holds); then cold for `seconds`. Best of ROUNDS rounds.
     */
    struct bench_warm warm = { coll, bc };
    struct bench_trial trial = {
        .op = op_warm, .op_arg = &warm, .floor = op_floor, .floor_arg = &floor,
        .cold = op_cold, .cold_arg = bc, .batch = 1, .slice = SLICE_S,
    };
    struct bench_rates best;
    CS_TRY(bench_best_of(&trial, ROUNDS, seconds, &best));
    static const struct bench_units units = {
        " q/s", " q/s", "quote", " q/s", "(collateral parsed and chain-verified per quote)",
    };
    return bench_print_rates(&best, RATIO_TARGET, &units);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 0;
    if (!cs_ok(bench_case_args(argc, argv, &dir, &seconds))) {
        fprintf(stderr, "usage: bench_dcap CASE_DIR [--seconds S]\n");
        return 2;
    }
    (void)bench_pin_to_this_cpu();
    struct bench_case bc = { 0 };
    cs_res r = case_load(dir, &bc);
    if (cs_ok(r)) {
        char at[CS_TIME_TEXT_LEN];
        cs_time_text(bc.at, at);
        printf("bench_dcap: %s: %zu-byte quote at %s; best of %d x %g s, 1 thread, CPU %d\n", dir,
               bc.quote.len, at, ROUNDS, seconds, sched_getcpu());
        r = run(&bc, seconds);
    }
    case_clear(&bc);
    return cs_ok(r) ? 0 : 1;
}
