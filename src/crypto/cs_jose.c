/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the JWE and JWT code: quiet libjose configurations, strict
 * base64url, JWK member readers, EC points from JWK coordinates, RFC 7638 thumbprints.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <string.h>

#include "crypto/cs_jose_internal.h"
#include "crypto/cs_ossl.h"

static void quiet(void *misc, const char *file, int line, uint64_t err, const char *fmt,
                  va_list ap)
{
    (void)misc;
    (void)file;
    (void)line;
    (void)err;
    (void)fmt;
    (void)ap;
}

CS_RESULT cs_jose_cfg_new(jose_cfg_t **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = jose_cfg();
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    jose_cfg_set_err_func(*out, quiet, NULL);
    return CS_SUCCESS;
}

void cs_jose_cfg_freep(jose_cfg_t **p)
{
    if (*p != NULL) {
        jose_cfg_decref(*p);
        *p = NULL;
    }
}

void cs_jose_pkey_ctx_freep(EVP_PKEY_CTX **p)
{
    EVP_PKEY_CTX_free(*p);
    *p = NULL;
}

static int b64url_sym(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

CS_RESULT cs_b64url_check(const char *s, size_t len, size_t *out_len)
{
    CS_ENSURE((s != NULL || len == 0) && out_len != NULL, CS_E_ARG);
    *out_len = 0;
    CS_ENSURE(len % 4 != 1, CS_E_FORMAT); /* one character cannot hold a whole byte */
    int last = 0;
    for (size_t i = 0; i < len; i++) {
        last = b64url_sym(s[i]);
        CS_ENSURE(last >= 0, CS_E_FORMAT);
    }
    /* RFC 4648 section 3.5: the pad bits of the last character must be zero */
    if (len % 4 == 2) {
        CS_ENSURE((last & 0x0f) == 0, CS_E_FORMAT);
    } else if (len % 4 == 3) {
        CS_ENSURE((last & 0x03) == 0, CS_E_FORMAT);
    }
    *out_len = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    return CS_SUCCESS;
}

CS_RESULT cs_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    CS_ENSURE(out_len != NULL && (out != NULL || cap == 0), CS_E_ARG);
    size_t n = 0;
    CS_TRY(cs_b64url_check(s, len, &n));
    CS_ENSURE(n <= cap, CS_E_TOO_LARGE);
    if (n > 0) {
        CS_ENSURE(jose_b64_dec_buf(s, len, out, cap) == n, CS_E_FORMAT);
    }
    *out_len = n;
    return CS_SUCCESS;
}

CS_RESULT cs_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    CS_ENSURE((in != NULL || len == 0) && out != NULL, CS_E_ARG);
    CS_ENSURE(len <= SIZE_MAX / 2, CS_E_TOO_LARGE);
    size_t n = CS_B64URL_LEN(len);
    CS_ENSURE(n < cap, CS_E_TOO_LARGE);
    if (n > 0) {
        CS_ENSURE(jose_b64_enc_buf(in, len, out, cap) == n, CS_E_INTERNAL);
    }
    out[n] = '\0';
    if (out_len != NULL) {
        *out_len = n;
    }
    return CS_SUCCESS;
}

CS_RESULT cs_jose_str(const json_t *obj, const char *key, size_t max, const char **s, size_t *len)
{
    CS_ENSURE(key != NULL && s != NULL && len != NULL, CS_E_ARG);
    *s = NULL;
    *len = 0;
    const json_t *v = json_object_get(obj, key);
    CS_ENSURE(json_is_string(v), CS_E_FORMAT);
    size_t n = json_string_length(v);
    CS_ENSURE(n <= max, CS_E_TOO_LARGE);
    const char *p = json_string_value(v);
    CS_ENSURE(strlen(p) == n, CS_E_FORMAT); /* a NUL inside would cut the value short */
    *s = p;
    *len = n;
    return CS_SUCCESS;
}

CS_RESULT cs_jose_b64_member(const json_t *obj, const char *key, uint8_t *out, size_t cap,
                             size_t *out_len)
{
    CS_ENSURE(out_len != NULL, CS_E_ARG);
    *out_len = 0;
    const char *s = NULL;
    size_t len = 0;
    cs_res r = cs_jose_str(obj, key, CS_B64URL_LEN(cap), &s, &len);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT); /* longer than any accepted value */
    CS_TRY(r);
    r = cs_b64url_decode(s, len, out, cap, out_len);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT);
    return r;
}

CS_RESULT cs_jose_b64_exact(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
    size_t got = 0;
    CS_TRY(cs_jose_b64_member(obj, key, out, n, &got));
    CS_ENSURE(got == n, CS_E_FORMAT);
    return CS_SUCCESS;
}

bool cs_jose_only_members(const json_t *obj, const char *const *names)
{
    const char *key = NULL;
    json_t *v = NULL;
    /* jansson's iteration takes a non-const object; it does not modify it */
    json_t *o = (json_t *)(uintptr_t)obj;
    json_object_foreach (o, key, v) {
        bool known = false;
        for (size_t i = 0; names[i] != NULL && !known; i++) {
            known = strcmp(key, names[i]) == 0;
        }
        if (!known) {
            return false;
        }
    }
    return true;
}

static const struct cs_jose_curve curves[] = {
    { "P-256", 32 },
    { "P-384", 48 },
    { "P-521", 66 },
};

const struct cs_jose_curve *cs_jose_curve_find(const char *crv)
{
    for (size_t i = 0; crv != NULL && i < sizeof curves / sizeof curves[0]; i++) {
        if (strcmp(crv, curves[i].crv) == 0) {
            return &curves[i];
        }
    }
    return NULL;
}

static void bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

static void params_freep(OSSL_PARAM **p)
{
    OSSL_PARAM_free(*p);
}

CS_RESULT cs_jose_ec_public(const struct cs_jose_curve *c, const uint8_t *x, const uint8_t *y,
                            EVP_PKEY **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(c != NULL && x != NULL && y != NULL, CS_E_ARG);
    CS_ENSURE(c->coord_len <= CS_JOSE_EC_COORD_MAX, CS_E_ARG);
    /* SEC 1 section 2.3.3 uncompressed point: 0x04 || X || Y */
    uint8_t point[1 + 2 * CS_JOSE_EC_COORD_MAX];
    point[0] = 0x04;
    memcpy(point + 1, x, c->coord_len);
    memcpy(point + 1 + c->coord_len, y, c->coord_len);
    CS_AUTO(bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    CS_OSSL_ENSURE(bld != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->crv, 0) ==
                       1,
                   CS_E_CRYPTO);
    CS_OSSL_ENSURE(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                    1 + 2 * c->coord_len) == 1,
                   CS_E_CRYPTO);
    CS_AUTO(params_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    CS_OSSL_ENSURE(params != NULL, CS_E_NOMEM);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_fromdata_init(ctx) == 1, CS_E_CRYPTO);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    /* OpenSSL decodes the point with EC_POINT_oct2point, which refuses points off the curve */
    CS_OSSL_ENSURE(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1, CS_E_FORMAT);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(chk != NULL, CS_E_NOMEM);
    /* on the curve and not the point at infinity; the three curves have cofactor 1, so
     * that also puts the point in the prime-order group (NIST SP 800-56A 5.6.2.3.4) */
    CS_OSSL_ENSURE(EVP_PKEY_public_check_quick(chk) == 1, CS_E_FORMAT);
    *out = CS_MOVE(key);
    return CS_SUCCESS;
}

CS_RESULT cs_jose_thumbprint(const json_t *jwk, uint8_t out[CS_JWK_THUMBPRINT_LEN],
                             char b64[CS_JWK_THUMBPRINT_B64_LEN])
{
    CS_ENSURE(jwk != NULL && out != NULL && b64 != NULL, CS_E_ARG);
    CS_AUTO(cs_jose_cfg_freep) jose_cfg_t *cfg = NULL;
    CS_TRY(cs_jose_cfg_new(&cfg));
    /* RFC 7638 section 3: SHA-256 over the required members, sorted, without white space */
    CS_ENSURE(jose_jwk_thp_buf(cfg, jwk, "S256", out, CS_JWK_THUMBPRINT_LEN) ==
                  CS_JWK_THUMBPRINT_LEN,
              CS_E_CRYPTO);
    return cs_b64url_encode(out, CS_JWK_THUMBPRINT_LEN, b64, CS_JWK_THUMBPRINT_B64_LEN, NULL);
}
