/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TEE key of the KBS protocol v0.4.0 (`tee-pubkey`, RFC 7517 JWK) and the flattened
 * JWE (RFC 7516 section 7.2.2) that releases a secret to it.
 *
 * ECDH-ES+A256KW (RFC 7518 section 4.6) key agreement and CEK wrapping are libjose's.
 * RSA-OAEP-256 (RFC 7518 section 4.3: OAEP with SHA-256 and MGF1 with SHA-256) is
 * OpenSSL's: libjose 11 registers it only when EVP_PKEY_CTX_set_rsa_oaep_md is a macro,
 * which it no longer is in OpenSSL 3, so Debian's libjose offers RSA1_5 alone. A256GCM
 * content encryption (RFC 7518 section 5.3) is OpenSSL's too (see a256gcm_seal).
 */
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

#include "core/cs_buf.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_jose_internal.h"
#include "crypto/cs_ossl.h"

enum tee_kind { TEE_EC, TEE_RSA };

struct cs_tee_key {
    enum tee_kind kind;
    json_t *jwk;   /* clean public JWK: kty, crv, x, y or kty, n, e; plus alg (for libjose) */
    EVP_PKEY *key; /* the same key for OpenSSL (RSA-OAEP-256 wraps with it) */
    uint8_t thumbprint[CS_JWK_THUMBPRINT_LEN];
    char thumbprint_b64[CS_JWK_THUMBPRINT_B64_LEN];
};

static void tee_key_freep(struct cs_tee_key **p)
{
    cs_tee_key_free(*p);
    *p = NULL;
}

void cs_tee_key_free(struct cs_tee_key *k)
{
    if (k != NULL) {
        json_decref(k->jwk);
        EVP_PKEY_free(k->key);
        cs_free(k);
    }
}

const char *cs_tee_key_alg(const struct cs_tee_key *k)
{
    if (k == NULL) {
        return NULL;
    }
    return k->kind == TEE_EC ? CS_JWE_ALG_ECDH_ES : CS_JWE_ALG_RSA_OAEP;
}

CS_RESULT cs_tee_key_thumbprint(const struct cs_tee_key *k, uint8_t out[CS_JWK_THUMBPRINT_LEN],
                                char b64[CS_JWK_THUMBPRINT_B64_LEN])
{
    CS_ENSURE(k != NULL, CS_E_ARG);
    if (out != NULL) {
        memcpy(out, k->thumbprint, CS_JWK_THUMBPRINT_LEN);
    }
    if (b64 != NULL) {
        memcpy(b64, k->thumbprint_b64, CS_JWK_THUMBPRINT_B64_LEN);
    }
    return CS_SUCCESS;
}

/* ---- parsing the TEE key ---- */

static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}

static void bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

static void params_freep(OSSL_PARAM **p)
{
    OSSL_PARAM_free(*p);
}

/*
 * kid (any string up to CS_JOSE_KID_MAX) and use ("enc") are tolerated; both are
 * ignored. RFC 7517 section 4.2: "use" values other than "enc" would say the key is
 * not for encryption.
 */
static cs_res check_optional_members(const json_t *jwk)
{
    const char *s = NULL;
    size_t len = 0;
    if (json_object_get(jwk, "kid") != NULL) {
        cs_res r = cs_jose_str(jwk, "kid", CS_JOSE_KID_MAX, &s, &len);
        CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT);
        CS_TRY(r);
    }
    if (json_object_get(jwk, "use") != NULL) {
        const char *use = json_string_value(json_object_get(jwk, "use"));
        CS_ENSURE(use != NULL && strcmp(use, "enc") == 0, CS_E_FORMAT);
    }
    return CS_SUCCESS;
}

/* The EC members of jwk, checked; *pkey the point. Shared with the epk of a JWE. */
static cs_res parse_ec_point(const json_t *jwk, const struct cs_jose_curve **curve,
                             EVP_PKEY **pkey)
{
    const char *crv = NULL;
    size_t len = 0;
    CS_TRY(cs_jose_str(jwk, "crv", 16, &crv, &len));
    const struct cs_jose_curve *c = cs_jose_curve_find(crv);
    CS_ENSURE(c != NULL, CS_E_UNSUPPORTED);
    uint8_t x[CS_JOSE_EC_COORD_MAX];
    uint8_t y[CS_JOSE_EC_COORD_MAX];
    /* RFC 7518 section 6.2.1.2/6.2.1.3: the full coordinate size, even with leading zeros */
    CS_TRY(cs_jose_b64_exact(jwk, "x", x, c->coord_len));
    CS_TRY(cs_jose_b64_exact(jwk, "y", y, c->coord_len));
    CS_TRY(cs_jose_ec_public(c, x, y, pkey));
    *curve = c;
    return CS_SUCCESS;
}

static cs_res parse_ec(const json_t *jwk, struct cs_tee_key *k)
{
    static const char *const allowed[] = { "kty", "crv", "x", "y", "alg", "kid", "use", NULL };
    CS_ENSURE(cs_jose_only_members(jwk, allowed), CS_E_FORMAT);
    const struct cs_jose_curve *c = NULL;
    CS_TRY(parse_ec_point(jwk, &c, &k->key));
    k->kind = TEE_EC;
    k->jwk = json_pack("{s:s,s:s,s:O,s:O,s:s}", "kty", "EC", "crv", c->crv, "x",
                       json_object_get(jwk, "x"), "y", json_object_get(jwk, "y"), "alg",
                       CS_JWE_ALG_ECDH_ES);
    CS_ENSURE(k->jwk != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

/* A big-endian unsigned integer member without leading zero octets (RFC 7518 6.3.1). */
static cs_res rsa_uint(const json_t *jwk, const char *key, uint8_t *buf, size_t cap,
                       size_t *len)
{
    CS_TRY(cs_jose_b64_member(jwk, key, buf, cap, len));
    CS_ENSURE(*len > 0 && buf[0] != 0, CS_E_FORMAT);
    return CS_SUCCESS;
}

static cs_res parse_rsa(const json_t *jwk, struct cs_tee_key *k)
{
    static const char *const allowed[] = { "kty", "n", "e", "alg", "kid", "use", NULL };
    CS_ENSURE(cs_jose_only_members(jwk, allowed), CS_E_FORMAT);
    uint8_t n[CS_JOSE_RSA_BYTES_MAX];
    uint8_t e[CS_JOSE_RSA_E_MAX];
    size_t n_len = 0;
    size_t e_len = 0;
    CS_TRY(rsa_uint(jwk, "n", n, sizeof n, &n_len));
    CS_TRY(rsa_uint(jwk, "e", e, sizeof e, &e_len));
    CS_AUTO(bn_freep) BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    CS_AUTO(bn_freep) BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    CS_OSSL_ENSURE(bn_n != NULL && bn_e != NULL, CS_E_NOMEM);
    int bits = BN_num_bits(bn_n);
    CS_ENSURE(bits >= 8 * CS_JOSE_RSA_BYTES_MIN && bits <= 8 * CS_JOSE_RSA_BYTES_MAX, CS_E_FORMAT);
    CS_ENSURE(BN_is_odd(bn_n), CS_E_FORMAT);
    CS_ENSURE(BN_is_odd(bn_e) && !BN_is_one(bn_e), CS_E_FORMAT);

    CS_AUTO(bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    CS_OSSL_ENSURE(bld != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
                       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1,
                   CS_E_CRYPTO);
    CS_AUTO(params_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    CS_OSSL_ENSURE(params != NULL, CS_E_NOMEM);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata_init(ctx) == 1, CS_E_CRYPTO);
    /* No EVP_PKEY_public_check: its SP 800-56B tests (Miller-Rabin on n among them) take
     * 35 ms for RSA-3072 and 350 ms for RSA-8192, work any client could ask of us. The
     * checks above are the ones that matter: a weak key hurts only its own holder. */
    CS_OSSL_ENSURE(EVP_PKEY_fromdata(ctx, &k->key, EVP_PKEY_PUBLIC_KEY, params) == 1, CS_E_FORMAT);
    k->kind = TEE_RSA;
    k->jwk = json_pack("{s:s,s:O,s:O,s:s}", "kty", "RSA", "n", json_object_get(jwk, "n"), "e",
                       json_object_get(jwk, "e"), "alg", CS_JWE_ALG_RSA_OAEP);
    CS_ENSURE(k->jwk != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

CS_RESULT cs_tee_key_parse(const json_t *jwk, struct cs_tee_key **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(jwk != NULL, CS_E_ARG);
    CS_ENSURE(json_is_object(jwk), CS_E_FORMAT);
    const char *kty = NULL;
    const char *alg = NULL;
    size_t len = 0;
    CS_TRY(cs_jose_str(jwk, "kty", 16, &kty, &len));
    bool is_ec = strcmp(kty, "EC") == 0;
    CS_ENSURE(is_ec || strcmp(kty, "RSA") == 0, CS_E_UNSUPPORTED);
    if (json_object_get(jwk, "alg") != NULL) {
        cs_res r = cs_jose_str(jwk, "alg", 32, &alg, &len);
        CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_UNSUPPORTED);
        CS_TRY(r);
        /* allowlist: RSA1_5 (RFC 7518 section 4.2, Bleichenbacher), RSA-OAEP (SHA-1),
         * plain ECDH-ES and every other alg are refused */
        CS_ENSURE(strcmp(alg, is_ec ? CS_JWE_ALG_ECDH_ES : CS_JWE_ALG_RSA_OAEP) == 0,
                  CS_E_UNSUPPORTED);
    }
    CS_TRY(check_optional_members(jwk));

    CS_AUTO(tee_key_freep) struct cs_tee_key *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    CS_TRY(is_ec ? parse_ec(jwk, k) : parse_rsa(jwk, k));
    CS_TRY(cs_jose_thumbprint(k->jwk, k->thumbprint, k->thumbprint_b64));
    *out = CS_MOVE(k);
    return CS_SUCCESS;
}

/* ---- content encryption: A256GCM (RFC 7518 section 5.3) ---- */

/*
 * AES-256-GCM by OpenSSL in one pass, with a 96-bit IV and a 128-bit tag. libjose's
 * A256GCM hands its output on one byte at a time (210 ms to encrypt 1 MiB, 640 ms to
 * decrypt it, and quadratic under sanitizers), and would need the CEK as a JSON string:
 * libjose wraps the CEK, the content is encrypted here.
 */
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

static void cipher_ctx_freep(EVP_CIPHER_CTX **p)
{
    EVP_CIPHER_CTX_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

/* RFC 7516 section 5.1 steps 14-15: AAD = ASCII(BASE64URL(UTF8(JWE Protected Header))). */
static cs_res a256gcm_seal(const uint8_t key[CS_JOSE_CEK_LEN], const uint8_t iv[GCM_IV_LEN],
                           const char *aad, size_t aad_len, const uint8_t *pt, size_t len,
                           uint8_t *ct, uint8_t tag[GCM_TAG_LEN])
{
    CS_ENSURE(len <= INT_MAX && aad_len <= INT_MAX, CS_E_TOO_LARGE);
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1, CS_E_CRYPTO);
    int n = 0;
    CS_OSSL_ENSURE(EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aad_len) == 1,
                   CS_E_CRYPTO);
    if (len > 0) {
        CS_OSSL_ENSURE(EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) == 1 && (size_t)n == len,
                       CS_E_CRYPTO);
    }
    CS_OSSL_ENSURE(EVP_EncryptFinal_ex(ctx, ct + len, &n) == 1 && n == 0, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, GCM_TAG_LEN, tag) == 1,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

/* Decrypts buf (len bytes) in place. CS_E_SIGNATURE when the tag does not verify: buf then
 * holds unauthenticated bytes, which the caller wipes. */
static cs_res a256gcm_open(const uint8_t key[CS_JOSE_CEK_LEN], const uint8_t iv[GCM_IV_LEN],
                           const char *aad, size_t aad_len, uint8_t *buf, size_t len,
                           const uint8_t tag[GCM_TAG_LEN])
{
    CS_ENSURE(len <= INT_MAX && aad_len <= INT_MAX, CS_E_TOO_LARGE);
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1, CS_E_CRYPTO);
    int n = 0;
    CS_OSSL_ENSURE(EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aad_len) == 1,
                   CS_E_CRYPTO);
    if (len > 0) {
        CS_OSSL_ENSURE(EVP_DecryptUpdate(ctx, buf, &n, buf, (int)len) == 1 && (size_t)n == len,
                       CS_E_CRYPTO);
    }
    uint8_t t[GCM_TAG_LEN];
    memcpy(t, tag, sizeof t);
    CS_OSSL_ENSURE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, GCM_TAG_LEN, t) == 1,
                   CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DecryptFinal_ex(ctx, buf + len, &n) == 1, CS_E_SIGNATURE);
    return CS_SUCCESS;
}

/* ---- encryption ---- */

/* The output text, written into a buffer allocated at its exact final size. */
struct out_buf {
    char *p;
    size_t len;
    size_t cap; /* bytes, the NUL included */
};

static void out_clearp(struct out_buf *o)
{
    cs_free(o->p);
    *o = (struct out_buf){ 0 };
}

static void put(struct out_buf *o, const char *s, size_t n)
{
    /* sizes were added up before allocating; a miss is a bug, caught by the final check */
    if (n < o->cap - o->len) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

static void put_member(struct out_buf *o, const char *name, const char *val, size_t len)
{
    put(o, o->len > 1 ? ",\"" : "\"", o->len > 1 ? 2 : 1);
    put(o, name, strlen(name));
    put(o, "\":\"", 3);
    put(o, val, len);
    put(o, "\"", 1);
}

static cs_res put_member_b64(struct out_buf *o, const char *name, const uint8_t *p, size_t n)
{
    put(o, o->len > 1 ? ",\"" : "\"", o->len > 1 ? 2 : 1);
    put(o, name, strlen(name));
    put(o, "\":\"", 3);
    size_t written = 0;
    CS_TRY(cs_b64url_encode(p, n, o->p + o->len, o->cap - o->len, &written));
    o->len += written;
    put(o, "\"", 1);
    return CS_SUCCESS;
}

/* What goes into the text, in RFC 7516 section 7.2.2's member order. */
struct jwe_fields {
    const char *prot; /* base64url of the protected header */
    size_t prot_len;
    const char *ek; /* base64url of the encrypted key */
    size_t ek_len;
    uint8_t iv[GCM_IV_LEN];
    const uint8_t *ct;
    size_t ct_len;
    uint8_t tag[GCM_TAG_LEN];
};

/* {"protected":…,"encrypted_key":…,"iv":…,"ciphertext":…,"tag":…}: base64url values need
 * no escaping, so the text is written directly, the ciphertext encoded in place. */
static cs_res serialize_flat(const struct jwe_fields *f, char **out)
{
    /* braces, four commas, and "name":"" around each value */
    size_t total = 2 + 4 + (9 + 5 + f->prot_len) + (13 + 5 + f->ek_len) +
                   (2 + 5 + CS_B64URL_LEN(GCM_IV_LEN)) + (10 + 5 + CS_B64URL_LEN(f->ct_len)) +
                   (3 + 5 + CS_B64URL_LEN(GCM_TAG_LEN));
    CS_ENSURE(total <= CS_JWE_MAX, CS_E_TOO_LARGE);
    CS_AUTO(out_clearp) struct out_buf o = { NULL, 0, total + 1 };
    CS_TRY(cs_alloc(o.cap, 1, (void **)&o.p));
    put(&o, "{", 1);
    put_member(&o, "protected", f->prot, f->prot_len);
    put_member(&o, "encrypted_key", f->ek, f->ek_len);
    CS_TRY(put_member_b64(&o, "iv", f->iv, sizeof f->iv));
    CS_TRY(put_member_b64(&o, "ciphertext", f->ct, f->ct_len));
    CS_TRY(put_member_b64(&o, "tag", f->tag, sizeof f->tag));
    put(&o, "}", 1);
    CS_ENSURE(o.len == total, CS_E_INTERNAL);
    o.p[o.len] = '\0';
    *out = CS_MOVE(o.p);
    return CS_SUCCESS;
}

/* RSAES-OAEP (RFC 8017 section 7.1) with SHA-256 and MGF1-SHA-256, as RSA-OAEP-256 wants. */
static cs_res rsa_oaep_ctx(EVP_PKEY *key, bool is_encrypt, EVP_PKEY_CTX **out)
{
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    int rc = is_encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx);
    CS_OSSL_ENSURE(rc == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", NULL) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", NULL) == 1, CS_E_CRYPTO);
    *out = CS_MOVE(ctx);
    return CS_SUCCESS;
}

/* A fresh CEK, and its RSA-OAEP-256 encryption to k as base64url (ek, cap bytes). */
static cs_res wrap_rsa_oaep(const struct cs_tee_key *k, uint8_t cek[CS_JOSE_CEK_LEN], char *ek,
                            size_t cap, size_t *ek_len)
{
    CS_TRY(cs_random(cek, CS_JOSE_CEK_LEN));
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
    CS_TRY(rsa_oaep_ctx(k->key, true, &ctx));
    uint8_t raw[CS_JOSE_RSA_BYTES_MAX];
    size_t raw_len = sizeof raw;
    CS_OSSL_ENSURE(EVP_PKEY_encrypt(ctx, raw, &raw_len, cek, CS_JOSE_CEK_LEN) == 1, CS_E_CRYPTO);
    return cs_b64url_encode(raw, raw_len, ek, cap, ek_len);
}

static void pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

/* An EC coordinate of key as a fixed-width base64url string. */
static cs_res ec_coord(const EVP_PKEY *key, const char *param, size_t width, char *out,
                       size_t cap)
{
    BIGNUM *bn = NULL;
    CS_OSSL_ENSURE(EVP_PKEY_get_bn_param(key, param, &bn) == 1, CS_E_CRYPTO);
    uint8_t raw[CS_JOSE_EC_COORD_MAX];
    int n = width <= sizeof raw ? BN_bn2binpad(bn, raw, (int)width) : -1;
    BN_free(bn);
    CS_OSSL_ENSURE(n == (int)width, CS_E_CRYPTO);
    size_t len = 0;
    return cs_b64url_encode(raw, width, out, cap, &len);
}

/*
 * ECDH-ES+A256KW (RFC 7518 section 4.6) with OpenSSL on the already validated TEE key: an
 * ephemeral key on its curve, Z = ECDH, KEK = Concat KDF SHA-256 (counter 1, Z, AlgorithmID
 * "ECDH-ES+A256KW", empty apu/apv, keydatalen 256), CEK wrapped with AES-256 key wrap
 * (RFC 3394). epk goes in the protected header, where the KBS protocol expects it. libjose
 * did the same three times slower, rebuilding both keys from JSON on every call.
 */
static cs_res wrap_ecdh_es(const struct cs_tee_key *k, json_t *protected,
                           uint8_t cek[CS_JOSE_CEK_LEN], char *ek, size_t cap, size_t *ek_len)
{
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key,
                                                                                     NULL);
    CS_OSSL_ENSURE(kctx != NULL && EVP_PKEY_keygen_init(kctx) == 1, CS_E_CRYPTO);
    CS_AUTO(pkey_freep) EVP_PKEY *eph = NULL;
    CS_OSSL_ENSURE(EVP_PKEY_keygen(kctx, &eph) == 1, CS_E_CRYPTO);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph,
                                                                                     NULL);
    CS_OSSL_ENSURE(dctx != NULL && EVP_PKEY_derive_init(dctx) == 1
                       && EVP_PKEY_derive_set_peer(dctx, k->key) == 1,
                   CS_E_CRYPTO);
    uint8_t z[CS_JOSE_EC_COORD_MAX];
    size_t z_len = sizeof z;
    CS_OSSL_ENSURE(EVP_PKEY_derive(dctx, z, &z_len) == 1, CS_E_CRYPTO);
    static const uint8_t alg_id[] = { 0, 0, 0, 14, 'E', 'C', 'D', 'H', '-', 'E', 'S', '+',
                                      'A', '2', '5', '6', 'K', 'W' };
    static const uint8_t tail[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 }; /* apu, apv, 256 */
    static const uint8_t counter[] = { 0, 0, 0, 1 };
    uint8_t kek[32];
    unsigned int kek_len = 0;
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool is_ok = md != NULL && EVP_DigestInit_ex2(md, EVP_sha256(), NULL) == 1
                 && EVP_DigestUpdate(md, counter, sizeof counter) == 1
                 && EVP_DigestUpdate(md, z, z_len) == 1
                 && EVP_DigestUpdate(md, alg_id, sizeof alg_id) == 1
                 && EVP_DigestUpdate(md, tail, sizeof tail) == 1
                 && EVP_DigestFinal_ex(md, kek, &kek_len) == 1 && kek_len == sizeof kek;
    OPENSSL_cleanse(z, sizeof z);
    if (!is_ok) {
        OPENSSL_cleanse(kek, sizeof kek);
    }
    CS_OSSL_ENSURE(is_ok, CS_E_CRYPTO);
    cs_res r = cs_random(cek, CS_JOSE_CEK_LEN);
    uint8_t wrapped[CS_JOSE_CEK_LEN + 8];
    int n1 = 0;
    int n2 = 0;
    if (cs_ok(r)) {
        CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        is_ok = c != NULL && EVP_EncryptInit_ex2(c, EVP_aes_256_wrap(), kek, NULL, NULL) == 1
                && EVP_EncryptUpdate(c, wrapped, &n1, cek, CS_JOSE_CEK_LEN) == 1
                && EVP_EncryptFinal_ex(c, wrapped + n1, &n2) == 1
                && n1 + n2 == (int)sizeof wrapped;
        r = is_ok ? CS_SUCCESS : (cs_res){ .code = CS_E_CRYPTO };
    }
    OPENSSL_cleanse(kek, sizeof kek);
    if (!cs_ok(r)) {
        cs_ossl_clear();
        return r;
    }
    CS_TRY(cs_b64url_encode(wrapped, sizeof wrapped, ek, cap, ek_len));
    size_t width = (size_t)(EVP_PKEY_get_bits(k->key) + 7) / 8;
    char x[CS_B64URL_LEN(CS_JOSE_EC_COORD_MAX) + 1];
    char y[sizeof x];
    CS_TRY(ec_coord(eph, OSSL_PKEY_PARAM_EC_PUB_X, width, x, sizeof x));
    CS_TRY(ec_coord(eph, OSSL_PKEY_PARAM_EC_PUB_Y, width, y, sizeof y));
    const char *crv = json_string_value(json_object_get(k->jwk, "crv"));
    CS_ENSURE(crv != NULL, CS_E_INTERNAL);
    json_t *epk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", crv, "x", x, "y", y);
    CS_ENSURE(epk != NULL && json_object_set_new(protected, "epk", epk) == 0, CS_E_NOMEM);
    return CS_SUCCESS;
}

static cs_res protected_header(const struct cs_tee_key *k, const json_t *extra, json_t **out)
{
    static const char *const reserved[] = { "alg", "enc", "epk", "zip", "crit", "apu", "apv",
                                            NULL };
    CS_AUTO_JSON *p = json_pack("{s:s,s:s}", "alg", cs_tee_key_alg(k), "enc", CS_JWE_ENC);
    CS_ENSURE(p != NULL, CS_E_NOMEM);
    if (extra != NULL) {
        CS_ENSURE(json_is_object(extra), CS_E_ARG);
        for (size_t i = 0; reserved[i] != NULL; i++) {
            CS_ENSURE(json_object_get(extra, reserved[i]) == NULL, CS_E_ARG);
        }
        CS_ENSURE(json_object_update(p, (json_t *)(uintptr_t)extra) == 0, CS_E_NOMEM);
    }
    *out = CS_MOVE(p);
    return CS_SUCCESS;
}

struct dump {
    struct cs_buf buf;
    cs_code err;
};

static int dump_to_buf(const char *p, size_t n, void *data)
{
    struct dump *d = data;
    cs_res r = cs_buf_append(&d->buf, p, n);
    d->err = r.code;
    return cs_ok(r) ? 0 : -1;
}

/* BASE64URL(UTF8(header)): compact JSON with sorted members. out holds
 * CS_B64URL_LEN(CS_JWE_PROTECTED_MAX) + 1 bytes. */
static cs_res encode_protected(const json_t *header, char *out, size_t cap, size_t *len)
{
    struct dump d = { .err = CS_OK };
    cs_buf_init(&d.buf, CS_JWE_PROTECTED_MAX);
    cs_res r = CS_SUCCESS;
    if (json_dump_callback(header, dump_to_buf, &d, JSON_COMPACT | JSON_SORT_KEYS) != 0) {
        r = (cs_res){ .code = d.err != CS_OK ? d.err : CS_E_ARG, .line = __LINE__,
                      .file = __FILE__ };
    }
    if (cs_ok(r)) {
        r = cs_b64url_encode(d.buf.p, d.buf.len, out, cap, len);
    }
    cs_buf_clear(&d.buf);
    return r;
}

static void cek_wipe(uint8_t (*cek)[CS_JOSE_CEK_LEN])
{
    cs_wipe(*cek, sizeof *cek);
}

CS_RESULT cs_jwe_encrypt(const struct cs_tee_key *k, const json_t *extra_protected,
                         const uint8_t *pt, size_t len, char **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(k != NULL && (pt != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_JWE_PLAINTEXT_MAX, CS_E_TOO_LARGE);
    CS_AUTO_JSON *protected = NULL;
    CS_TRY(protected_header(k, extra_protected, &protected));
    CS_AUTO(cek_wipe) uint8_t cek[CS_JOSE_CEK_LEN] = { 0 };
    struct jwe_fields f = { 0 };
    char ek[CS_B64URL_LEN(CS_JOSE_RSA_BYTES_MAX) + 1];
    if (k->kind == TEE_EC) {
        CS_TRY(wrap_ecdh_es(k, protected, cek, ek, sizeof ek, &f.ek_len));
        f.ek = ek;
    } else {
        CS_TRY(wrap_rsa_oaep(k, cek, ek, sizeof ek, &f.ek_len));
        f.ek = ek;
    }
    char prot[CS_B64URL_LEN(CS_JWE_PROTECTED_MAX) + 1];
    CS_TRY(encode_protected(protected, prot, sizeof prot, &f.prot_len));
    f.prot = prot;
    CS_TRY(cs_random(f.iv, sizeof f.iv)); /* 96 random bits: never twice with one CEK */
    CS_AUTO(cs_freep) uint8_t *ct = NULL;
    CS_TRY(cs_alloc(len + 1, 1, (void **)&ct));
    CS_TRY(a256gcm_seal(cek, f.iv, f.prot, f.prot_len, pt, len, ct, f.tag));
    f.ct = ct;
    f.ct_len = len;
    return serialize_flat(&f, out);
}

/* ---- decryption (the agent's side, and the tests) ---- */

struct jwe_parts {
    json_t *jwe;       /* borrowed */
    json_t *prot;      /* owned: the decoded protected header */
    const char *alg;   /* borrowed from prot */
    const json_t *epk; /* borrowed, may be NULL */
    const char *prot_b64; /* borrowed from jwe: the AAD, as received */
    size_t prot_b64_len;
    const char *ct_b64; /* borrowed from jwe */
    size_t ct_b64_len;
    uint8_t iv[GCM_IV_LEN];
    uint8_t tag[GCM_TAG_LEN];
};

static void parts_clear(struct jwe_parts *p)
{
    json_decref(p->prot);
    *p = (struct jwe_parts){ 0 };
}

/* RFC 7516 section 7.2.2 with the subset of members and algorithms custos speaks. */
static cs_res parse_jwe(json_t *jwe, struct jwe_parts *out)
{
    static const char *const top[] = { "protected", "encrypted_key", "iv", "ciphertext", "tag",
                                       "header", NULL };
    static const char *const hdr_names[] = { "epk", "kid", NULL };
    static const char *const prot_names[] = { "alg", "enc", "epk", "kid", "typ", "cty",
                                              "zip", "crit", NULL };
    CS_ENSURE(cs_jose_only_members(jwe, top), CS_E_FORMAT);
    out->jwe = jwe;

    cs_res r = cs_jose_str(jwe, "protected", CS_B64URL_LEN(CS_JWE_PROTECTED_MAX),
                           &out->prot_b64, &out->prot_b64_len);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT);
    CS_TRY(r);
    uint8_t raw[CS_JWE_PROTECTED_MAX];
    size_t raw_len = 0;
    CS_TRY(cs_b64url_decode(out->prot_b64, out->prot_b64_len, raw, sizeof raw, &raw_len));
    CS_TRY(cs_json_load(cs_cur_of(raw, raw_len), sizeof raw, &out->prot));
    CS_ENSURE(json_object_get(out->prot, "zip") == NULL, CS_E_UNSUPPORTED);
    CS_ENSURE(json_object_get(out->prot, "crit") == NULL, CS_E_UNSUPPORTED);
    CS_ENSURE(cs_jose_only_members(out->prot, prot_names), CS_E_FORMAT);
    const char *enc = NULL;
    size_t len = 0;
    CS_TRY(cs_jose_str(out->prot, "alg", 32, &out->alg, &len));
    CS_TRY(cs_jose_str(out->prot, "enc", 32, &enc, &len));
    CS_ENSURE(strcmp(out->alg, CS_JWE_ALG_ECDH_ES) == 0 ||
                  strcmp(out->alg, CS_JWE_ALG_RSA_OAEP) == 0,
              CS_E_UNSUPPORTED);
    CS_ENSURE(strcmp(enc, CS_JWE_ENC) == 0, CS_E_UNSUPPORTED);

    /* RFC 7516 section 7.2.1: the header parameter names in the headers are disjoint */
    const json_t *hdr = json_object_get(jwe, "header");
    if (hdr != NULL) {
        CS_ENSURE(json_is_object(hdr) && cs_jose_only_members(hdr, hdr_names), CS_E_FORMAT);
        const char *key = NULL;
        json_t *v = NULL;
        json_object_foreach ((json_t *)(uintptr_t)hdr, key, v) {
            CS_ENSURE(json_object_get(out->prot, key) == NULL, CS_E_FORMAT);
        }
    }
    out->epk = json_object_get(out->prot, "epk");
    if (out->epk == NULL) {
        out->epk = json_object_get(hdr, "epk");
    }
    bool is_ec = strcmp(out->alg, CS_JWE_ALG_ECDH_ES) == 0;
    CS_ENSURE(is_ec == (out->epk != NULL), CS_E_FORMAT);

    CS_TRY(cs_jose_b64_exact(jwe, "iv", out->iv, sizeof out->iv));    /* 96-bit IV */
    CS_TRY(cs_jose_b64_exact(jwe, "tag", out->tag, sizeof out->tag)); /* 128-bit tag */
    const char *s = NULL;
    CS_TRY(cs_jose_str(jwe, "encrypted_key", CS_B64URL_LEN(CS_JOSE_RSA_BYTES_MAX), &s, &len));
    CS_TRY(cs_jose_str(jwe, "ciphertext", CS_JWE_MAX, &out->ct_b64, &out->ct_b64_len));
    return CS_SUCCESS;
}

static const char *jwk_kty(const json_t *jwk)
{
    return json_string_value(json_object_get(jwk, "kty"));
}

/* The private EC JWK reduced to what libjose needs, after the checks of the public part. */
static cs_res ec_private(const json_t *jwk, const json_t *epk, json_t **out)
{
    const struct cs_jose_curve *c = NULL;
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *pub = NULL;
    CS_TRY(parse_ec_point(jwk, &c, &pub));
    uint8_t d[CS_JOSE_EC_COORD_MAX];
    cs_res r = cs_jose_b64_exact(jwk, "d", d, c->coord_len);
    cs_wipe(d, sizeof d);
    CS_TRY(r);
    /* the sender's ephemeral key: same checks as a TEE key, and the same curve */
    static const char *const epk_names[] = { "kty", "crv", "x", "y", NULL };
    CS_ENSURE(json_is_object(epk) && cs_jose_only_members(epk, epk_names), CS_E_FORMAT);
    const char *kty = jwk_kty(epk);
    CS_ENSURE(kty != NULL && strcmp(kty, "EC") == 0, CS_E_FORMAT);
    const struct cs_jose_curve *ec = NULL;
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *epk_key = NULL;
    CS_TRY(parse_ec_point(epk, &ec, &epk_key));
    CS_ENSURE(ec == c, CS_E_FORMAT);
    *out = json_pack("{s:s,s:s,s:O,s:O,s:O}", "kty", "EC", "crv", c->crv, "x",
                     json_object_get(jwk, "x"), "y", json_object_get(jwk, "y"), "d",
                     json_object_get(jwk, "d"));
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

static cs_res unwrap_ecdh_es(const json_t *jwk, const struct jwe_parts *parts,
                             uint8_t cek[CS_JOSE_CEK_LEN])
{
    CS_AUTO_JSON *key = NULL;
    CS_TRY(ec_private(jwk, parts->epk, &key));
    /* A256KW of a 256-bit CEK is 40 bytes: refuse anything else before libjose sees it */
    uint8_t ek[CS_JOSE_CEK_LEN + 8];
    CS_TRY(cs_jose_b64_exact(parts->jwe, "encrypted_key", ek, sizeof ek));
    CS_AUTO(cs_jose_cfg_freep) jose_cfg_t *cfg = NULL;
    CS_TRY(cs_jose_cfg_new(&cfg));
    CS_AUTO_JSON *unwrapped = jose_jwe_dec_jwk(cfg, parts->jwe, NULL, key);
    CS_ENSURE(unwrapped != NULL, CS_E_SIGNATURE);
    cs_res r = cs_jose_b64_exact(unwrapped, "k", cek, CS_JOSE_CEK_LEN);
    CS_ENSURE(cs_ok(r), CS_E_SIGNATURE);
    return CS_SUCCESS;
}

static void free_wipe_bn(BIGNUM **p)
{
    BN_clear_free(*p);
}

/* An RSA private key from the JWK members n, e, d, p, q, dp, dq, qi (RFC 7518 6.3.2). */
static cs_res rsa_private(const json_t *jwk, EVP_PKEY **out)
{
    static const char *const names[] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
    static const char *const params_names[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    static const char *const allowed[] = { "kty", "n", "e", "d", "p", "q", "dp", "dq", "qi",
                                           "alg", "kid", "use", NULL };
    CS_ENSURE(cs_jose_only_members(jwk, allowed), CS_E_FORMAT);
    CS_AUTO(bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    CS_OSSL_ENSURE(bld != NULL, CS_E_NOMEM);
    BIGNUM *bn[8] = { NULL };
    uint8_t buf[CS_JOSE_RSA_BYTES_MAX];
    cs_res r = CS_SUCCESS;
    for (size_t i = 0; i < 8 && cs_ok(r); i++) {
        size_t len = 0;
        r = cs_jose_b64_member(jwk, names[i], buf, sizeof buf, &len);
        if (cs_ok(r)) {
            bn[i] = BN_bin2bn(buf, (int)len, NULL);
            if (bn[i] == NULL || OSSL_PARAM_BLD_push_BN(bld, params_names[i], bn[i]) != 1) {
                cs_ossl_clear();
                r = (cs_res){ .code = CS_E_NOMEM, .line = __LINE__, .file = __FILE__ };
            }
        }
    }
    cs_wipe(buf, sizeof buf);
    CS_AUTO(params_freep) OSSL_PARAM *params = cs_ok(r) ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    for (size_t i = 0; i < 8; i++) {
        free_wipe_bn(&bn[i]);
    }
    CS_TRY(r);
    CS_OSSL_ENSURE(params != NULL, CS_E_NOMEM);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata_init(ctx) == 1, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) == 1, CS_E_FORMAT);
    int bits = EVP_PKEY_get_bits(*out);
    if (bits < 8 * CS_JOSE_RSA_BYTES_MIN || bits > 8 * CS_JOSE_RSA_BYTES_MAX) {
        cs_evp_pkey_freep(out);
        CS_FAIL(CS_E_FORMAT);
    }
    return CS_SUCCESS;
}

/*
 * RSA-OAEP-256. RFC 7516 section 11.5: when the CEK does not decrypt, carry on with a
 * random one, so that the failure shows only at the tag, the same way and with the same
 * code as a damaged ciphertext.
 */
static cs_res unwrap_rsa_oaep(const json_t *jwk, const struct jwe_parts *parts,
                              uint8_t cek[CS_JOSE_CEK_LEN])
{
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    CS_TRY(rsa_private(jwk, &key));
    uint8_t ek[CS_JOSE_RSA_BYTES_MAX];
    size_t ek_len = 0;
    CS_TRY(cs_jose_b64_member(parts->jwe, "encrypted_key", ek, sizeof ek, &ek_len));
    CS_ENSURE(ek_len == (size_t)EVP_PKEY_get_size(key), CS_E_FORMAT);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
    CS_TRY(rsa_oaep_ctx(key, false, &ctx));
    CS_TRY(cs_random(cek, CS_JOSE_CEK_LEN));
    uint8_t pt[CS_JOSE_RSA_BYTES_MAX];
    size_t pt_len = sizeof pt;
    int rc = EVP_PKEY_decrypt(ctx, pt, &pt_len, ek, ek_len);
    cs_ossl_clear();
    /* keep the random CEK unless a 256-bit one came out (select without branching) */
    uint8_t mask = (uint8_t)(0u - (unsigned)(rc == 1 && pt_len == CS_JOSE_CEK_LEN));
    for (size_t i = 0; i < CS_JOSE_CEK_LEN; i++) {
        cek[i] = (uint8_t)((pt[i] & mask) | (cek[i] & (uint8_t)~mask));
    }
    cs_wipe(pt, sizeof pt);
    return CS_SUCCESS;
}

static void plaintext_wipe(struct out_buf *b)
{
    if (b->p != NULL) {
        cs_free_wipe(b->p, b->cap);
    }
    *b = (struct out_buf){ 0 };
}

CS_RESULT cs_jwe_decrypt(const json_t *private_jwk, const char *jwe, size_t jwe_len, uint8_t **pt,
                         size_t *len)
{
    CS_ENSURE(pt != NULL && len != NULL, CS_E_ARG);
    *pt = NULL;
    *len = 0;
    CS_ENSURE(private_jwk != NULL && (jwe != NULL || jwe_len == 0), CS_E_ARG);
    CS_ENSURE(json_is_object(private_jwk), CS_E_ARG);
    CS_ENSURE(jwe_len <= CS_JWE_MAX, CS_E_TOO_LARGE);
    CS_AUTO_JSON *obj = NULL;
    CS_TRY(cs_json_load(cs_cur_of((const uint8_t *)jwe, jwe_len), CS_JWE_MAX, &obj));
    CS_AUTO(parts_clear) struct jwe_parts parts = { 0 };
    CS_TRY(parse_jwe(obj, &parts));

    /* the key is the caller's (CS_E_ARG); the JWE is not (CS_E_UNSUPPORTED) */
    const char *kty = jwk_kty(private_jwk);
    CS_ENSURE(kty != NULL && (strcmp(kty, "EC") == 0 || strcmp(kty, "RSA") == 0), CS_E_ARG);
    bool is_ec = strcmp(parts.alg, CS_JWE_ALG_ECDH_ES) == 0;
    CS_ENSURE(strcmp(kty, is_ec ? "EC" : "RSA") == 0, CS_E_UNSUPPORTED);
    const char *key_alg = json_string_value(json_object_get(private_jwk, "alg"));
    CS_ENSURE(key_alg == NULL || strcmp(key_alg, parts.alg) == 0, CS_E_UNSUPPORTED);

    size_t n = 0;
    CS_TRY(cs_b64url_check(parts.ct_b64, parts.ct_b64_len, &n));
    CS_AUTO(cek_wipe) uint8_t cek[CS_JOSE_CEK_LEN] = { 0 };
    if (is_ec) {
        CS_TRY(unwrap_ecdh_es(private_jwk, &parts, cek));
    } else {
        CS_TRY(unwrap_rsa_oaep(private_jwk, &parts, cek));
    }
    /* one buffer: the ciphertext is decoded into it and decrypted in place (GCM keeps
     * lengths); one byte more, so that it is never empty */
    CS_AUTO(plaintext_wipe) struct out_buf buf = { NULL, 0, n + 1 };
    CS_TRY(cs_alloc(buf.cap, 1, (void **)&buf.p));
    size_t got = 0;
    CS_TRY(cs_b64url_decode(parts.ct_b64, parts.ct_b64_len, (uint8_t *)buf.p, n, &got));
    CS_TRY(a256gcm_open(cek, parts.iv, parts.prot_b64, parts.prot_b64_len, (uint8_t *)buf.p, n,
                        parts.tag));
    *len = n;
    *pt = (uint8_t *)CS_MOVE(buf.p);
    return CS_SUCCESS;
}

/* ---- key pairs for agents and tests ---- */

CS_RESULT cs_tee_keypair_generate(const char *kind, json_t **private_jwk, json_t **public_jwk)
{
    CS_ENSURE(private_jwk != NULL && public_jwk != NULL, CS_E_ARG);
    *private_jwk = NULL;
    *public_jwk = NULL;
    CS_ENSURE(kind != NULL, CS_E_ARG);
    CS_AUTO_JSON *priv = NULL;
    const char *alg = CS_JWE_ALG_ECDH_ES;
    if (strcmp(kind, "EC-P256") == 0) {
        priv = json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256");
    } else if (strcmp(kind, "EC-P384") == 0) {
        priv = json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-384");
    } else if (strcmp(kind, "EC-P521") == 0) {
        priv = json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-521");
    } else if (strcmp(kind, "RSA-3072") == 0) {
        priv = json_pack("{s:s,s:i}", "kty", "RSA", "bits", 3072);
        alg = CS_JWE_ALG_RSA_OAEP;
    } else {
        CS_FAIL(CS_E_ARG);
    }
    CS_ENSURE(priv != NULL, CS_E_NOMEM);
    CS_AUTO(cs_jose_cfg_freep) jose_cfg_t *cfg = NULL;
    CS_TRY(cs_jose_cfg_new(&cfg));
    CS_ENSURE(jose_jwk_gen(cfg, priv), CS_E_CRYPTO);
    CS_ENSURE(json_object_set_new(priv, "alg", json_string(alg)) == 0, CS_E_NOMEM);
    (void)json_object_del(priv, "key_ops"); /* not part of the KBS form */
    (void)json_object_del(priv, "use");
    CS_AUTO_JSON *pub = json_deep_copy(priv);
    CS_ENSURE(pub != NULL, CS_E_NOMEM);
    CS_ENSURE(jose_jwk_pub(cfg, pub), CS_E_CRYPTO);
    /* what an agent sends must pass what the broker checks */
    CS_AUTO(tee_key_freep) struct cs_tee_key *check = NULL;
    CS_TRY(cs_tee_key_parse(pub, &check));
    *private_jwk = CS_MOVE(priv);
    *public_jwk = CS_MOVE(pub);
    return CS_SUCCESS;
}

CS_RESULT cs_tee_key_verify(const struct cs_tee_key *k, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len)
{
    CS_ENSURE(k != NULL && (msg != NULL || len == 0) && sig != NULL, CS_E_ARG);
    CS_ENSURE(k->kind == TEE_EC, CS_E_UNSUPPORTED);
    int bits = EVP_PKEY_get_bits(k->key);
    const EVP_MD *md = bits <= 256 ? EVP_sha256() : bits <= 384 ? EVP_sha384() : EVP_sha512();
    size_t half = bits <= 256 ? 32 : bits <= 384 ? 48 : 66;
    CS_ENSURE(sig_len == 2 * half, CS_E_SIGNATURE);
    return cs_ecdsa_verify_rs(k->key, md, sig, sig_len, (struct cs_cur){ .p = msg, .left = len });
}
