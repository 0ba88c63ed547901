/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of SEV-SNP report verification on one core (one thread), against its floor.
 *
 *   warm:  custos_snp_collateral_load_dir once, then custos_snp_verify + custos_verdict_free
 *          per report (the VCEK chain is verified on the first report and remembered): the
 *          service case, claims and all.
 *   floor: what any verifier must pay per report, measured in the same run: SHA-384 of the
 *          signed 2A0h bytes and one ECDSA P-384 verification with the VCEK/VLEK key, its
 *          verify context and the DER signature prepared outside the timed loop.
 *   cold:  custos_snp_collateral_load_dir + custos_snp_verify + frees per report: files
 *          read, the CA chain and the VCEK chain verified every time.
 *
 * Each measurement runs for --seconds (default 1.5), three times; the best run counts.
 * Warm and floor alternate in 50 ms slices within a run, so that load elsewhere on the
 * machine weighs on both alike and their ratio stays meaningful. Then the peak resident
 * set size of the whole run (getrusage ru_maxrss).
 *
 * usage: bench_snp CASE_DIR [--seconds S]
 * CASE_DIR holds report.bin, the collateral files custos_snp_collateral_load_dir reads,
 * and case.json whose "at" (RFC 3339) is the verification instant. Exit status 0 when
 * every measurement ran, whether or not the ratio meets its target; 1 on an error (such as
 * a report that does not verify: timing a failure would mean nothing); 2 on usage.
 */
#include <limits.h>
#include <openssl/bn.h>
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
#include "custos/snp.h"
#include "evidence/snp_report.h"

#include "bench_util.h"

const char *const bench_name = "bench_snp";

#define RATIO_TARGET 0.60
#define ROUNDS 3
#define SLICE_S 0.05 /* warm and floor alternate in slices of this many seconds */
#define FILE_MAX (1024u * 1024u)

/* The case, read once before any measurement. owns: report */
struct bench_case {
    const char *dir;
    struct cs_blob report;
    int64_t at;
};

/* The floor's inputs, prepared once. owns: everything */
struct bench_floor {
    EVP_MD *sha384;
    EVP_PKEY_CTX *verify; /* the VCEK/VLEK key, EVP_PKEY_verify_init done */
    unsigned char *sig;   /* DER (r, s) */
    int sig_len;
    struct cs_snp_report report; /* borrows: the case's report */
};

struct bench_warm {
    struct custos_snp_collateral *coll;
    const struct bench_case *bc;
};

/* ---- the case --------------------------------------------------------------------- */

static cs_res case_load(const char *dir, struct bench_case *bc)
{
    bc->dir = dir;
    cs_res r = bench_read_in(dir, "report.bin", FILE_MAX, &bc->report);
    BENCH_ENSURE(cs_ok(r), r.code, "%s/report.bin: %s", dir, custos_code_name(r.code));
    return bench_case_at(dir, &bc->at);
}

/* ---- warm and cold ---------------------------------------------------------------- */

static void verdict_freep(struct custos_verdict **v)
{
    custos_verdict_free(*v);
}

static void collateral_freep(struct custos_snp_collateral **c)
{
    custos_snp_collateral_free(*c);
}

static cs_res verify_once(struct custos_snp_collateral *coll, const struct bench_case *bc)
{
    CS_AUTO(verdict_freep) struct custos_verdict *v = NULL;
    cs_res r = custos_snp_verify(coll, bc->report.p, bc->report.len, bc->at, &v);
    BENCH_ENSURE(cs_ok(r), r.code, "the report does not verify: %s", custos_verdict_message(v));
    return CS_SUCCESS;
}

static cs_res op_warm(void *arg)
{
    const struct bench_warm *w = arg;
    return verify_once(w->coll, w->bc);
}

static cs_res collateral_load(const struct bench_case *bc, struct custos_snp_collateral **out)
{
    struct custos_diag diag = { 0 };
    cs_res r = custos_snp_collateral_load_dir(bc->dir, &diag, out);
    BENCH_ENSURE(cs_ok(r), r.code, "collateral: %s", diag.msg);
    return CS_SUCCESS;
}

static cs_res op_cold(void *arg)
{
    const struct bench_case *bc = arg;
    CS_AUTO(collateral_freep) struct custos_snp_collateral *coll = NULL;
    CS_TRY(collateral_load(bc, &coll));
    return verify_once(coll, bc);
}

/* ---- floor ------------------------------------------------------------------------ */

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

/* The VCEK or VLEK of the case directory: the floor owes nothing to src/verify. */
static cs_res vek_key(const struct bench_case *bc, EVP_PKEY **out)
{
    static const char *const names[] = { "vcek.der", "vcek.pem", "vlek.der", "vlek.pem" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX];
        CS_TRY(bench_path_in(bc->dir, names[i], path));
        struct cs_blob b = { 0 };
        if (!cs_ok(cs_file_read(path, FILE_MAX, &b))) {
            continue;
        }
        STACK_OF(X509) *sk = NULL;
        cs_res r = cs_x509_stack_parse(cs_cur_of(b.p, b.len), &sk);
        cs_blob_clear(&b);
        CS_TRY(r);
        *out = X509_get_pubkey(sk_X509_value(sk, 0));
        sk_X509_pop_free(sk, X509_free);
        CS_ENSURE(*out != NULL, CS_E_FORMAT);
        return CS_SUCCESS;
    }
    BENCH_ENSURE(false, CS_E_IO, "%s: no vcek.der or vlek.der", bc->dir);
}

static cs_res floor_init(const struct bench_case *bc, struct bench_floor *f)
{
    CS_TRY(cs_snp_report_parse(bc->report.p, bc->report.len, &f->report));
    uint8_t rs[96];
    CS_TRY(cs_snp_report_sig_rs(&f->report, rs));
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 48, NULL);
    BIGNUM *s = BN_bin2bn(rs + 48, 48, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        CS_FAIL(CS_E_CRYPTO);
    }
    f->sig_len = i2d_ECDSA_SIG(sig, &f->sig);
    CS_ENSURE(f->sig_len > 0, CS_E_CRYPTO);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    CS_TRY(vek_key(bc, &key));
    f->verify = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL); /* keeps its own reference */
    CS_ENSURE(f->verify != NULL && EVP_PKEY_verify_init(f->verify) == 1, CS_E_CRYPTO);
    f->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    CS_ENSURE(f->sha384 != NULL, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static void floor_clearp(struct bench_floor *f)
{
    EVP_PKEY_CTX_free(f->verify);
    EVP_MD_free(f->sha384);
    OPENSSL_free(f->sig);
}

static cs_res op_floor(void *arg)
{
    struct bench_floor *f = arg;
    unsigned char h[48];
    unsigned int n = 0;
    struct cs_cur span = f->report.signed_span;
    CS_ENSURE(EVP_Digest(span.p, span.left, h, &n, f->sha384, NULL) == 1 && n == 48, CS_E_CRYPTO);
    int rc = EVP_PKEY_verify(f->verify, f->sig, (size_t)f->sig_len, h, n);
    BENCH_ENSURE(rc == 1, CS_E_SIGNATURE, "floor: report signature");
    return CS_SUCCESS;
}

/* ---- main ------------------------------------------------------------------------- */

static cs_res run(const struct bench_case *bc, double seconds)
{
    CS_AUTO(collateral_freep) struct custos_snp_collateral *coll = NULL;
    CS_TRY(collateral_load(bc, &coll));
    CS_TRY(verify_once(coll, bc)); /* verifies and remembers the VCEK chain */
    CS_AUTO(floor_clearp) struct bench_floor floor = { 0 };
    cs_res r = floor_init(bc, &floor);
    BENCH_ENSURE(cs_ok(r), r.code, "floor setup: %s", custos_code_name(r.code));

    struct bench_warm warm = { coll, bc };
    struct bench_trial trial = {
        .op = op_warm, .op_arg = &warm, .floor = op_floor, .floor_arg = &floor,
        .cold = op_cold, .cold_arg = (void *)(uintptr_t)bc, .batch = 1, .slice = SLICE_S,
    };
    struct bench_rates best;
    CS_TRY(bench_best_of(&trial, ROUNDS, seconds, &best));
    static const struct bench_units units = {
        " reports/s", "/s", "report", " reports/s",
        "(collateral read and chains verified per report)",
    };
    return bench_print_rates(&best, RATIO_TARGET, &units);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 0;
    if (!cs_ok(bench_case_args(argc, argv, &dir, &seconds))) {
        fprintf(stderr, "usage: bench_snp CASE_DIR [--seconds S]\n");
        return 2;
    }
    (void)bench_pin_to_this_cpu();
    struct bench_case bc = { 0 };
    cs_res r = case_load(dir, &bc);
    if (cs_ok(r)) {
        char at[CS_TIME_TEXT_LEN];
        cs_time_text(bc.at, at);
        printf("bench_snp: %s: %zu-byte report at %s; best of %d x %g s, 1 thread, CPU %d\n", dir,
               bc.report.len, at, ROUNDS, seconds, sched_getcpu());
        r = run(&bc, seconds);
    }
    cs_blob_clear(&bc.report);
    return cs_ok(r) ? 0 : 1;
}
