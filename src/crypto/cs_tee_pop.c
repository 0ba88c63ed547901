/* SPDX-License-Identifier: Apache-2.0 */
#include "crypto/cs_tee_pop.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <string.h>

#include "crypto/cs_jose_internal.h"
#include "crypto/cs_ossl.h"

static void bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

static void params_freep(OSSL_PARAM **p)
{
    OSSL_PARAM_free(*p);
}

static void bn_clear_freep(BIGNUM **p)
{
    BN_clear_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

static const char *digest_of(const char *crv)
{
    return strcmp(crv, "P-256") == 0   ? "SHA256"
           : strcmp(crv, "P-384") == 0 ? "SHA384"
           : strcmp(crv, "P-521") == 0 ? "SHA512"
                                       : NULL;
}

/* The key pair of the JWK: the public point, and d, which must be its private scalar. */
static cs_res private_key(const json_t *jwk, const struct cs_jose_curve *c, EVP_PKEY **out)
{
    uint8_t x[CS_JOSE_EC_COORD_MAX];
    uint8_t y[CS_JOSE_EC_COORD_MAX];
    uint8_t d[CS_JOSE_EC_COORD_MAX];
    CS_TRY(cs_jose_b64_exact(jwk, "x", x, c->coord_len));
    CS_TRY(cs_jose_b64_exact(jwk, "y", y, c->coord_len));
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *pub = NULL;
    CS_TRY(cs_jose_ec_public(c, x, y, &pub)); /* the point is on the curve */
    cs_res r = cs_jose_b64_exact(jwk, "d", d, c->coord_len);
    CS_AUTO(bn_clear_freep) BIGNUM *bn = cs_ok(r) ? BN_secure_new() : NULL;
    if (bn != NULL && BN_bin2bn(d, (int)c->coord_len, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    cs_wipe(d, sizeof d);
    CS_TRY(r);
    CS_OSSL_ENSURE(bn != NULL, CS_E_NOMEM);
    uint8_t point[1 + 2 * CS_JOSE_EC_COORD_MAX];
    point[0] = 0x04;
    memcpy(point + 1, x, c->coord_len);
    memcpy(point + 1 + c->coord_len, y, c->coord_len);
    CS_AUTO(bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    CS_OSSL_ENSURE(bld != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->crv, 0) == 1
                       && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                           1 + 2 * c->coord_len) == 1
                       && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) == 1,
                   CS_E_CRYPTO);
    CS_AUTO(params_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    CS_OSSL_ENSURE(params != NULL, CS_E_NOMEM);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata_init(ctx) == 1, CS_E_CRYPTO);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    CS_OSSL_ENSURE(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) == 1, CS_E_FORMAT);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(chk != NULL, CS_E_NOMEM);
    /* d in range and d * G == (x, y): a JWK whose halves disagree signs nothing */
    CS_OSSL_ENSURE(EVP_PKEY_pairwise_check(chk) == 1, CS_E_FORMAT);
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

CS_RESULT cs_tee_pop_sign(const json_t *private_jwk, const uint8_t *msg, size_t len, char *out,
                          size_t cap)
{
    CS_ENSURE(out != NULL && cap > 0, CS_E_ARG);
    out[0] = '\0';
    CS_ENSURE(private_jwk != NULL && json_is_object(private_jwk) && msg != NULL, CS_E_ARG);
    CS_ENSURE(len > 0 && len <= CS_TEE_POP_MSG_MAX, CS_E_TOO_LARGE);
    const char *kty = json_string_value(json_object_get(private_jwk, "kty"));
    const char *crv = json_string_value(json_object_get(private_jwk, "crv"));
    CS_ENSURE(kty != NULL, CS_E_FORMAT);
    CS_ENSURE(strcmp(kty, "EC") == 0 && crv != NULL, CS_E_UNSUPPORTED);
    const struct cs_jose_curve *c = cs_jose_curve_find(crv);
    const char *md = digest_of(crv);
    CS_ENSURE(c != NULL && md != NULL, CS_E_UNSUPPORTED);
    CS_ENSURE(cap >= CS_B64URL_LEN(2 * c->coord_len) + 1, CS_E_ARG);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    CS_TRY(private_key(private_jwk, c, &key));
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(mctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestSignInit_ex(mctx, NULL, md, NULL, NULL, key, NULL) == 1, CS_E_CRYPTO);
    uint8_t der[160]; /* at most 139 for P-521 */
    size_t der_len = sizeof der;
    CS_OSSL_ENSURE(EVP_DigestSign(mctx, der, &der_len, msg, len) == 1, CS_E_CRYPTO);
    const unsigned char *p = der;
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    CS_OSSL_ENSURE(s != NULL, CS_E_CRYPTO);
    const BIGNUM *r = NULL;
    const BIGNUM *ss = NULL;
    ECDSA_SIG_get0(s, &r, &ss);
    uint8_t sig[CS_TEE_POP_SIG_MAX];
    int n = (int)c->coord_len;
    CS_OSSL_ENSURE(BN_bn2binpad(r, sig, n) == n && BN_bn2binpad(ss, sig + n, n) == n, CS_E_CRYPTO);
    return cs_b64url_encode(sig, 2 * c->coord_len, out, cap, NULL);
}
