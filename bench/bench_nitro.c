/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of AWS Nitro Enclaves attestation document verification on one core (one
 * thread), against its floor.
 *
 *   warm:  custos_nitro_collateral_new once, then custos_nitro_verify + custos_verdict_free
 *          per document (the chain memo is warm after the first document): the service
 *          case. Includes parsing, the chain memo lookup (SHA-256 of the certificates),
 *          the validity check, the Sig_structure, the ES384 verification and the claims.
 *   floor: what any verifier must pay per document, measured in the same run: one ECDSA
 *          P-384 verification of the document's signature, with its SHA-384 over the
 *          Sig_structure. The leaf key, the DER signature, the Sig_structure bytes and
 *          the verify context are prepared outside the timed loop, so the floor is hashing
 *          and curve arithmetic only.
 *   cold:  custos_nitro_collateral_new + custos_nitro_verify + frees per document: the
 *          certificate chain decoded and verified every time.
 *
 * Each measurement runs for --seconds (default 1.5), three times; the best run counts.
 * Warm and floor alternate in 50 ms slices within a run, so that load elsewhere on the
 * machine weighs on both alike and their ratio stays meaningful.
 * Then the peak resident set size of the whole run (getrusage ru_maxrss).
 *
 * usage: bench_nitro CASE_DIR [--seconds S]
 * CASE_DIR holds document.cbor, trust_anchor.pem, and case.json whose "at" (RFC 3339) is
 * the verification instant. Exit status 0 when every measurement ran, whether or not the
 * ratio meets its target; 1 on an error (such as a document that does not verify: timing
 * a failure would mean nothing); 2 on usage.
 */
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
#include "custos/nitro.h"
#include "evidence/nitro_doc.h"

#include "bench_util.h"

const char *const bench_name = "bench_nitro";

#define RATIO_TARGET 0.60
#define ROUNDS 3
#define SLICE_S 0.05 /* warm and floor alternate in slices of this many seconds */
#define FILE_MAX (1024u * 1024u)

/* The case, every file read once before any measurement. owns: the blobs */
struct bench_case {
    struct cs_blob doc;
    struct cs_blob anchor;
    int64_t at;
};

/* The floor's inputs, prepared once. owns: everything */
struct bench_floor {
    EVP_MD *sha384;
    EVP_MD_CTX *md;
    EVP_PKEY_CTX *verify; /* the leaf key, EVP_PKEY_verify_init done */
    unsigned char *sig;   /* DER ECDSA-Sig-Value */
    int sig_len;
    uint8_t *tbs; /* the Sig_structure */
    size_t tbs_len;
};

struct bench_warm {
    struct custos_nitro_collateral *coll;
    const struct bench_case *bc;
};

/* ---- the case --------------------------------------------------------------------- */

static cs_res read_in(const char *dir, const char *name, struct cs_blob *out)
{
    cs_res r = bench_read_in(dir, name, FILE_MAX, out);
    BENCH_ENSURE(cs_ok(r), r.code, "%s/%s: %s", dir, name, custos_code_name(r.code));
    return CS_SUCCESS;
}

static cs_res case_load(const char *dir, struct bench_case *bc)
{
    CS_TRY(read_in(dir, "document.cbor", &bc->doc));
    CS_TRY(read_in(dir, "trust_anchor.pem", &bc->anchor));
    return bench_case_at(dir, &bc->at);
}

static void case_clear(struct bench_case *bc)
{
    cs_blob_clear(&bc->doc);
    cs_blob_clear(&bc->anchor);
}

/* ---- warm and cold ---------------------------------------------------------------- */

static void verdict_freep(struct custos_verdict **v)
{
    custos_verdict_free(*v);
}

static void collateral_freep(struct custos_nitro_collateral **c)
{
    custos_nitro_collateral_free(*c);
}

static cs_res collateral_new(const struct bench_case *bc, struct custos_nitro_collateral **out)
{
    struct custos_diag diag = { 0 };
    cs_res r = custos_nitro_collateral_new(bc->anchor.p, bc->anchor.len, &diag, out);
    BENCH_ENSURE(cs_ok(r), r.code, "collateral: %s", diag.msg);
    return CS_SUCCESS;
}

static cs_res verify_once(struct custos_nitro_collateral *coll, const struct bench_case *bc)
{
    CS_AUTO(verdict_freep) struct custos_verdict *v = NULL;
    cs_res r = custos_nitro_verify(coll, bc->doc.p, bc->doc.len, NULL, 0, bc->at, &v);
    BENCH_ENSURE(cs_ok(r), r.code, "the document does not verify: %s",
                 custos_verdict_message(v));
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
    CS_AUTO(collateral_freep) struct custos_nitro_collateral *coll = NULL;
    CS_TRY(collateral_new(bc, &coll));
    return verify_once(coll, bc);
}

/* ---- floor ------------------------------------------------------------------------ */

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

static cs_res rs_to_der(struct cs_cur rs, unsigned char **der, int *der_len)
{
    CS_ENSURE(rs.left == CS_NITRO_SIG_LEN, CS_E_FORMAT);
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs.p, 48, NULL);
    BIGNUM *s = BN_bin2bn(rs.p + 48, 48, NULL);
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

static void x509_freep(X509 **p)
{
    X509_free(*p);
}

/* The leaf key and the Sig_structure, made here from the parsed document. */
static cs_res floor_init(const struct bench_case *bc, struct bench_floor *f)
{
    struct cs_nitro_doc d;
    CS_TRY(cs_nitro_doc_parse(bc->doc.p, bc->doc.len, &d));
    const unsigned char *p = d.certificate.p;
    CS_AUTO(x509_freep) X509 *leaf = d2i_X509(NULL, &p, (long)d.certificate.left);
    CS_ENSURE(leaf != NULL, CS_E_FORMAT);
    f->verify = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(leaf), NULL);
    CS_ENSURE(f->verify != NULL, CS_E_NOMEM);
    CS_ENSURE(EVP_PKEY_verify_init(f->verify) == 1, CS_E_CRYPTO);
    CS_TRY(cs_nitro_sig_structure_len(&d, &f->tbs_len));
    CS_TRY(cs_alloc(f->tbs_len, 1, (void **)&f->tbs));
    size_t len = 0;
    CS_TRY(cs_nitro_sig_structure_encode(&d, f->tbs, f->tbs_len, &len));
    f->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    f->md = EVP_MD_CTX_new();
    CS_ENSURE(f->sha384 != NULL && f->md != NULL, CS_E_NOMEM);
    return rs_to_der(d.signature, &f->sig, &f->sig_len);
}

static void floor_clear(struct bench_floor *f)
{
    EVP_PKEY_CTX_free(f->verify);
    EVP_MD_free(f->sha384);
    EVP_MD_CTX_free(f->md);
    OPENSSL_free(f->sig);
    cs_free(f->tbs);
}

static void floor_clearp(struct bench_floor *f)
{
    floor_clear(f);
}

static cs_res op_floor(void *arg)
{
    struct bench_floor *f = arg;
    unsigned char h[48];
    unsigned int n = 0;
    CS_ENSURE(EVP_DigestInit_ex(f->md, f->sha384, NULL) == 1, CS_E_CRYPTO);
    CS_ENSURE(EVP_DigestUpdate(f->md, f->tbs, f->tbs_len) == 1, CS_E_CRYPTO);
    CS_ENSURE(EVP_DigestFinal_ex(f->md, h, &n) == 1 && n == 48, CS_E_CRYPTO);
    int rc = EVP_PKEY_verify(f->verify, f->sig, (size_t)f->sig_len, h, n);
    BENCH_ENSURE(rc == 1, CS_E_SIGNATURE, "floor: document signature");
    return CS_SUCCESS;
}

/* ---- main ------------------------------------------------------------------------- */

static cs_res run(struct bench_case *bc, double seconds)
{
    CS_AUTO(collateral_freep) struct custos_nitro_collateral *coll = NULL;
    CS_TRY(collateral_new(bc, &coll));
    CS_TRY(verify_once(coll, bc)); /* fills the chain memo */
    CS_AUTO(floor_clearp) struct bench_floor floor = { 0 };
    cs_res r = floor_init(bc, &floor);
    BENCH_ENSURE(cs_ok(r), r.code, "floor setup: %s", custos_code_name(r.code));

    /*
     * Each round measures warm and floor for `seconds` each, alternating in slices of
     * SLICE_S, so that both see the same moments of the machine; then cold for `seconds`.
     * Best of ROUNDS rounds.
     */
    struct bench_warm warm = { coll, bc };
    struct bench_trial trial = {
        .op = op_warm, .op_arg = &warm, .floor = op_floor, .floor_arg = &floor,
        .cold = op_cold, .cold_arg = bc, .batch = 1, .slice = SLICE_S,
    };
    struct bench_rates best;
    CS_TRY(bench_best_of(&trial, ROUNDS, seconds, &best));
    static const struct bench_units units = {
        " doc/s", " doc/s", "doc", " doc/s", "(certificate chain decoded and verified per doc)",
    };
    return bench_print_rates(&best, RATIO_TARGET, &units);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 0;
    if (!cs_ok(bench_case_args(argc, argv, &dir, &seconds))) {
        fprintf(stderr, "usage: bench_nitro CASE_DIR [--seconds S]\n");
        return 2;
    }
    (void)bench_pin_to_this_cpu();
    struct bench_case bc = { 0 };
    cs_res r = case_load(dir, &bc);
    if (cs_ok(r)) {
        char at[CS_TIME_TEXT_LEN];
        cs_time_text(bc.at, at);
        printf("bench_nitro: %s: %zu-byte document at %s; best of %d x %g s, 1 thread, CPU %d\n",
               dir, bc.doc.len, at, ROUNDS, seconds, sched_getcpu());
        r = run(&bc, seconds);
    }
    case_clear(&bc);
    return cs_ok(r) ? 0 : 1;
}
