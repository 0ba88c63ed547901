/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JOSE on one core (one thread), each operation against its OpenSSL floor measured in
 * the same run:
 *
 *   cs_jwe_encrypt, EC P-256 (ECDH-ES+A256KW, A256GCM, 64-byte secret)
 *       floor: one ECDH P-256 derive (context and peer set up once, as `openssl speed`)
 *   cs_jwe_encrypt, RSA-3072 (RSA-OAEP-256, A256GCM, 64-byte secret)
 *       floor: one RSA-OAEP-256 encryption of 32 bytes (context set up once)
 *   cs_jwt_sign (ES256, ten claims)
 *       floor: one ECDSA P-256 signature of a SHA-256 digest (context set up once)
 *   cs_jwt_verify of that token
 *       floor: one ECDSA P-256 verification of a digest (context set up once)
 *
 * The operation and its floor alternate in 50 ms slices, so that load elsewhere on the
 * machine weighs on both alike; best of three rounds of --seconds each (default 1).
 * Also, without a floor: an ephemeral P-256 key generation plus derive (what ECDH-ES
 * needs at the least), libjose's own jose_jwe_enc (ECDH-ES+A256KW) and jose_jws_sig
 * (ES256) for comparison, and cs_tee_key_parse of P-256, RSA-3072 and RSA-8192 keys.
 *
 * usage: bench_jose [--seconds S]
 * Exit status 0 when every measurement ran; 1 on an error; 2 on usage.
 */
#include <jansson.h>
#include <jose/jose.h>
#include <jose/openssl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_jose.h"

#include "bench_util.h"

const char *const bench_name = "bench_jose";

#define ROUNDS 3
#define SLICE_S 0.05
#define SECRET_LEN 64
#define NOW 1700000000

/* Best rates of op and floor over ROUNDS rounds of interleaved slices. */
static cs_res measure(bench_op op, void *arg, bench_op floor, void *farg, double seconds,
                      double *op_rate, double *floor_rate)
{
    struct bench_trial t = {
        .op = op, .op_arg = arg, .floor = floor, .floor_arg = farg, .batch = 8, .slice = SLICE_S,
    };
    struct bench_rates best;
    CS_TRY(bench_best_of(&t, ROUNDS, seconds, &best));
    *op_rate = best.op;
    *floor_rate = best.floor;
    return CS_SUCCESS;
}

/* ---- operations ---- */

static const uint8_t secret[SECRET_LEN] = "0123456789abcdef0123456789abcdef"
                                          "0123456789abcdef012345678";

static cs_res op_jwe(void *arg)
{
    char *out = NULL;
    CS_TRY(cs_jwe_encrypt(arg, NULL, secret, sizeof secret, &out));
    cs_free(out);
    return CS_SUCCESS;
}

struct jwt_args {
    struct cs_jwt_key *key;
    json_t *claims;
    char *token;
};

static cs_res op_jwt_sign(void *arg)
{
    struct jwt_args *a = arg;
    char *out = NULL;
    CS_TRY(cs_jwt_sign(a->key, a->claims, &out));
    cs_free(out);
    return CS_SUCCESS;
}

static cs_res op_jwt_verify(void *arg)
{
    struct jwt_args *a = arg;
    json_t *claims = NULL;
    CS_TRY(cs_jwt_verify(a->key, a->token, strlen(a->token), NOW, &claims));
    json_decref(claims);
    return CS_SUCCESS;
}

static cs_res op_parse(void *arg)
{
    struct cs_tee_key *k = NULL;
    CS_TRY(cs_tee_key_parse(arg, &k));
    cs_tee_key_free(k);
    return CS_SUCCESS;
}

static cs_res op_jose_jwe(void *arg)
{
    json_t *jwe = json_pack("{s:{s:s,s:s}}", "protected", "alg", "ECDH-ES+A256KW", "enc",
                            "A256GCM");
    bool ok = jwe != NULL && jose_jwe_enc(NULL, jwe, NULL, arg, secret, sizeof secret);
    json_decref(jwe);
    CS_ENSURE(ok, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_jose_jws(void *arg)
{
    json_t *jws = json_pack("{s:o}", "payload", jose_b64_enc(secret, sizeof secret));
    json_t *sig = json_pack("{s:{s:s,s:s}}", "protected", "alg", "ES256", "typ", "JWT");
    bool ok = jws != NULL && sig != NULL && jose_jws_sig(NULL, jws, sig, arg);
    json_decref(jws);
    json_decref(sig);
    CS_ENSURE(ok, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* ---- floors ---- */

struct floor_ctx {
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *key;
    uint8_t in[64];
    size_t in_len;
    uint8_t sig[80];
    size_t sig_len;
};

static cs_res op_derive(void *arg)
{
    struct floor_ctx *f = arg;
    uint8_t z[32];
    size_t len = sizeof z;
    CS_ENSURE(EVP_PKEY_derive(f->ctx, z, &len) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_keygen_derive(void *arg)
{
    struct floor_ctx *f = arg;
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY_CTX *ctx = eph != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL) : NULL;
    uint8_t z[32];
    size_t len = sizeof z;
    bool ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
              EVP_PKEY_derive_set_peer_ex(ctx, f->key, 0) == 1 &&
              EVP_PKEY_derive(ctx, z, &len) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(eph);
    CS_ENSURE(ok, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_oaep(void *arg)
{
    struct floor_ctx *f = arg;
    uint8_t out[512];
    size_t len = sizeof out;
    CS_ENSURE(EVP_PKEY_encrypt(f->ctx, out, &len, f->in, 32) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_ecdsa_sign(void *arg)
{
    struct floor_ctx *f = arg;
    uint8_t sig[80];
    size_t len = sizeof sig;
    CS_ENSURE(EVP_PKEY_sign(f->ctx, sig, &len, f->in, 32) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res op_ecdsa_verify(void *arg)
{
    struct floor_ctx *f = arg;
    CS_ENSURE(EVP_PKEY_verify(f->ctx, f->sig, f->sig_len, f->in, 32) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static void floor_clear(struct floor_ctx *f)
{
    EVP_PKEY_CTX_free(f->ctx);
    EVP_PKEY_free(f->key);
    *f = (struct floor_ctx){ 0 };
}

static cs_res floor_derive(struct floor_ctx *f)
{
    EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CS_ENSURE(mine != NULL && f->key != NULL, CS_E_CRYPTO);
    f->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    EVP_PKEY_free(mine);
    CS_ENSURE(f->ctx != NULL && EVP_PKEY_derive_init(f->ctx) == 1 &&
                  EVP_PKEY_derive_set_peer(f->ctx, f->key) == 1,
              CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res floor_oaep(struct floor_ctx *f, const json_t *pub)
{
    f->key = jose_openssl_jwk_to_EVP_PKEY(NULL, pub);
    CS_ENSURE(f->key != NULL, CS_E_CRYPTO);
    f->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
    CS_ENSURE(f->ctx != NULL && EVP_PKEY_encrypt_init(f->ctx) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(f->ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_oaep_md_name(f->ctx, "SHA256", NULL) == 1 &&
                  EVP_PKEY_CTX_set_rsa_mgf1_md_name(f->ctx, "SHA256", NULL) == 1,
              CS_E_CRYPTO);
    memset(f->in, 0x5a, 32);
    return CS_SUCCESS;
}

static cs_res floor_ecdsa(struct floor_ctx *f, bool is_sign)
{
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CS_ENSURE(f->key != NULL, CS_E_CRYPTO);
    memset(f->in, 0xa5, 32);
    EVP_PKEY_CTX *s = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
    f->sig_len = sizeof f->sig;
    bool ok = s != NULL && EVP_PKEY_sign_init(s) == 1 &&
              EVP_PKEY_sign(s, f->sig, &f->sig_len, f->in, 32) == 1;
    if (is_sign || !ok) {
        f->ctx = s;
        CS_ENSURE(ok, CS_E_CRYPTO);
        return CS_SUCCESS;
    }
    EVP_PKEY_CTX_free(s);
    f->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
    CS_ENSURE(f->ctx != NULL && EVP_PKEY_verify_init(f->ctx) == 1, CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* ---- main ---- */

static void report(const char *what, double op_rate, const char *floor_name, double floor_rate)
{
    printf("%-44s %9.0f /s  %7.1f us", what, op_rate, 1e6 / op_rate);
    if (floor_name != NULL) {
        printf("   floor (%s) %8.0f /s, ratio %.2f", floor_name, floor_rate,
               op_rate / floor_rate);
    }
    printf("\n");
}

static cs_res tee_key(const char *kind, json_t **priv, json_t **pub, struct cs_tee_key **k)
{
    CS_TRY(cs_tee_keypair_generate(kind, priv, pub));
    return cs_tee_key_parse(*pub, k);
}

static cs_res rsa_pub(int bits, json_t **out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    CS_ENSURE(key != NULL, CS_E_CRYPTO);
    *out = jose_openssl_jwk_from_EVP_PKEY(NULL, key);
    EVP_PKEY_free(key);
    CS_ENSURE(*out != NULL && jose_jwk_pub(NULL, *out), CS_E_CRYPTO);
    return CS_SUCCESS;
}

static void tee_key_freep(struct cs_tee_key **p)
{
    cs_tee_key_free(*p);
}

static void jwt_args_clear(struct jwt_args *a)
{
    cs_free(a->token);
    json_decref(a->claims);
    cs_jwt_key_free(a->key);
}

static cs_res run(double seconds)
{
    CS_AUTO_JSON *ec_priv = NULL;
    CS_AUTO_JSON *ec_pub = NULL;
    CS_AUTO_JSON *rsa_priv = NULL;
    CS_AUTO_JSON *rsa_pub_jwk = NULL;
    CS_AUTO(tee_key_freep) struct cs_tee_key *ec = NULL;
    CS_AUTO(tee_key_freep) struct cs_tee_key *rsa = NULL;
    CS_TRY(tee_key("EC-P256", &ec_priv, &ec_pub, &ec));
    CS_TRY(tee_key("RSA-3072", &rsa_priv, &rsa_pub_jwk, &rsa));
    double a = 0;
    double b = 0;
    CS_AUTO(floor_clear) struct floor_ctx f = { 0 };

    CS_TRY(floor_derive(&f));
    CS_TRY(measure(op_jwe, ec, op_derive, &f, seconds, &a, &b));
    report("cs_jwe_encrypt EC P-256 (ECDH-ES+A256KW)", a, "ECDH P-256 derive", b);
    CS_TRY(measure(op_keygen_derive, &f, NULL, NULL, seconds, &a, &b));
    report("  P-256 keygen + derive (ECDH-ES minimum)", a, NULL, 0);
    CS_TRY(measure(op_jose_jwe, ec_pub, NULL, NULL, seconds, &a, &b));
    report("  libjose jose_jwe_enc ECDH-ES+A256KW", a, NULL, 0);
    floor_clear(&f);

    CS_TRY(floor_oaep(&f, rsa_pub_jwk));
    CS_TRY(measure(op_jwe, rsa, op_oaep, &f, seconds, &a, &b));
    report("cs_jwe_encrypt RSA-3072 (RSA-OAEP-256)", a, "RSA-OAEP-256 encrypt", b);
    floor_clear(&f);

    CS_AUTO(jwt_args_clear) struct jwt_args ja = { NULL, NULL, NULL };
    CS_TRY(cs_jwt_key_generate(&ja.key));
    ja.claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:{s:s},s:s}", "iss", "custos",
                          "sub", "agent-7", "aud", "kbs", "iat", (json_int_t)NOW, "nbf",
                          (json_int_t)NOW, "exp", (json_int_t)NOW + 300, "eat_profile",
                          "tag:github.com,2023:veraison/ear", "ear.status", "affirming",
                          "submods", "tdx", "affirming", "jti", "0123456789abcdef");
    CS_ENSURE(ja.claims != NULL, CS_E_NOMEM);
    CS_TRY(cs_jwt_sign(ja.key, ja.claims, &ja.token));
    CS_TRY(floor_ecdsa(&f, true));
    CS_TRY(measure(op_jwt_sign, &ja, op_ecdsa_sign, &f, seconds, &a, &b));
    report("cs_jwt_sign ES256", a, "ECDSA P-256 sign", b);
    floor_clear(&f);
    CS_TRY(floor_ecdsa(&f, false));
    CS_TRY(measure(op_jwt_verify, &ja, op_ecdsa_verify, &f, seconds, &a, &b));
    report("cs_jwt_verify ES256", a, "ECDSA P-256 verify", b);
    floor_clear(&f);
    CS_AUTO_JSON *es256 = json_pack("{s:s}", "alg", "ES256");
    CS_ENSURE(es256 != NULL && jose_jwk_gen(NULL, es256), CS_E_CRYPTO);
    CS_TRY(measure(op_jose_jws, es256, NULL, NULL, seconds, &a, &b));
    report("  libjose jose_jws_sig ES256", a, NULL, 0);

    CS_TRY(measure(op_parse, ec_pub, NULL, NULL, seconds, &a, &b));
    report("cs_tee_key_parse EC P-256", a, NULL, 0);
    CS_TRY(measure(op_parse, rsa_pub_jwk, NULL, NULL, seconds, &a, &b));
    report("cs_tee_key_parse RSA-3072", a, NULL, 0);
    CS_AUTO_JSON *big = NULL;
    CS_TRY(rsa_pub(8192, &big));
    CS_TRY(measure(op_parse, big, NULL, NULL, seconds, &a, &b));
    report("cs_tee_key_parse RSA-8192", a, NULL, 0);
    return CS_SUCCESS;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc &&
            cs_ok(bench_parse_number(argv[++i], 0.05, 60, &seconds))) {
            continue;
        }
        fprintf(stderr, "usage: bench_jose [--seconds S]\n");
        return 2;
    }
    int cpu = bench_pin_to_this_cpu();
    printf("bench_jose: best of %d x %g s, 1 thread, CPU %d\n", ROUNDS, seconds, cpu);
    cs_res r = run(seconds);
    if (!cs_ok(r)) {
        fprintf(stderr, "bench_jose: failed: %s at %s:%u\n", custos_code_name(r.code),
                r.file ? r.file : "?", r.line);
        return 1;
    }
    return 0;
}
