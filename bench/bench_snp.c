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
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ossl.h"
#include "crypto/cs_x509.h"
#include "custos/snp.h"
#include "evidence/snp_report.h"

#define RATIO_TARGET 0.60
#define ROUNDS 3
#define SLICE_S 0.05 /* warm and floor alternate in slices of this many seconds */
#define FILE_MAX (1024u * 1024u)

/* Prints why, once, where the failure is raised (this tool's only log). */
#define BENCH_ENSURE(cond, c, ...)                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "bench_snp: " __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                                   \
            CS_FAIL(c);                                                                            \
        }                                                                                          \
    } while (0)

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

struct bench_tally {
    unsigned long n;
    double seconds;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs op for at least `seconds` (at least once), adding to *t. */
static cs_res run_for(cs_res (*op)(void *), void *arg, double seconds, struct bench_tally *t)
{
    double start = now_s();
    double elapsed = 0;
    do {
        CS_TRY(op(arg));
        t->n++;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    t->seconds += elapsed;
    return CS_SUCCESS;
}

static double rate_of(struct bench_tally t)
{
    return (double)t.n / t.seconds;
}

/* ---- the case --------------------------------------------------------------------- */

static cs_res path_in(const char *dir, const char *name, char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && n < PATH_MAX, CS_E_ARG);
    return CS_SUCCESS;
}

static cs_res case_load(const char *dir, struct bench_case *bc)
{
    char path[PATH_MAX];
    bc->dir = dir;
    CS_TRY(path_in(dir, "report.bin", path));
    cs_res r = cs_file_read(path, FILE_MAX, &bc->report);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: %s", path, custos_code_name(r.code));
    CS_TRY(path_in(dir, "case.json", path));
    json_error_t err;
    CS_AUTO_JSON *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    BENCH_ENSURE(root != NULL, CS_E_IO, "%s: %s", path, err.text);
    const char *text = json_string_value(json_object_get(root, "at"));
    BENCH_ENSURE(text != NULL && cs_ok(cs_time_parse(text, strlen(text), &bc->at)), CS_E_FORMAT,
                 "%s: no RFC 3339 \"at\"", path);
    return CS_SUCCESS;
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
        CS_TRY(path_in(bc->dir, names[i], path));
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

static void pin_to_this_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* best effort: one thread either way */
}

static cs_res parse_args(int argc, char **argv, const char **dir, double *seconds)
{
    *seconds = 1.5;
    *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            *seconds = strtod(argv[++i], &end);
            CS_ENSURE(errno == 0 && end != argv[i] && *end == '\0', CS_E_ARG);
            CS_ENSURE(*seconds >= 0.05 && *seconds <= 60.0, CS_E_ARG);
        } else {
            CS_ENSURE(*dir == NULL && argv[i][0] != '-', CS_E_ARG);
            *dir = argv[i];
        }
    }
    CS_ENSURE(*dir != NULL, CS_E_ARG);
    return CS_SUCCESS;
}

static cs_res run(const struct bench_case *bc, double seconds)
{
    CS_AUTO(collateral_freep) struct custos_snp_collateral *coll = NULL;
    CS_TRY(collateral_load(bc, &coll));
    CS_TRY(verify_once(coll, bc)); /* verifies and remembers the VCEK chain */
    CS_AUTO(floor_clearp) struct bench_floor floor = { 0 };
    cs_res r = floor_init(bc, &floor);
    BENCH_ENSURE(cs_ok(r), r.code, "floor setup: %s", custos_code_name(r.code));

    struct bench_warm warm = { coll, bc };
    double warm_rate = 0;
    double floor_rate = 0;
    double cold_rate = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct bench_tally w = { 0 };
        struct bench_tally f = { 0 };
        struct bench_tally c = { 0 };
        while (w.seconds < seconds) {
            CS_TRY(run_for(op_warm, &warm, SLICE_S, &w));
            CS_TRY(run_for(op_floor, &floor, SLICE_S, &f));
        }
        CS_TRY(run_for(op_cold, (void *)(uintptr_t)bc, seconds, &c));
        warm_rate = rate_of(w) > warm_rate ? rate_of(w) : warm_rate;
        floor_rate = rate_of(f) > floor_rate ? rate_of(f) : floor_rate;
        cold_rate = rate_of(c) > cold_rate ? rate_of(c) : cold_rate;
    }

    struct rusage ru;
    CS_ENSURE(getrusage(RUSAGE_SELF, &ru) == 0, CS_E_IO);
    double ratio = warm_rate / floor_rate;
    printf("warm: %.0f reports/s, floor: %.0f/s, ratio %.2f (target >= %.2f) %s\n", warm_rate,
           floor_rate, ratio, RATIO_TARGET, ratio >= RATIO_TARGET ? "PASS" : "FAIL");
    printf("warm: %.1f us/report; floor: %.1f us/report\n", 1e6 / warm_rate, 1e6 / floor_rate);
    printf("cold: %.0f reports/s, %.1f us/report (collateral read and chains verified per "
           "report)\n",
           cold_rate, 1e6 / cold_rate);
    printf("peak RSS: %.1f MiB (ru_maxrss, whole run)\n", (double)ru.ru_maxrss / 1024.0);
    return CS_SUCCESS;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 0;
    if (!cs_ok(parse_args(argc, argv, &dir, &seconds))) {
        fprintf(stderr, "usage: bench_snp CASE_DIR [--seconds S]\n");
        return 2;
    }
    pin_to_this_cpu();
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
