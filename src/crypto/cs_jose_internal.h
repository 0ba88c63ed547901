/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What cs_jwe.c and cs_jwt.c share (src/crypto only): a libjose configuration that keeps
 * quiet, strict base64url (RFC 7515 section 2: no padding, canonical), JWK member
 * readers, the curve table, EVP_PKEY builders from JWK members, and RFC 7638 thumbprints.
 */
#ifndef CS_CRYPTO_JOSE_INTERNAL_H
#define CS_CRYPTO_JOSE_INTERNAL_H

#include <jansson.h>
#include <jose/jose.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"
#include "crypto/cs_jose.h"

#define CS_JOSE_EC_COORD_MAX 66    /* P-521 */
#define CS_JOSE_RSA_BYTES_MIN 256  /* 2048 bits */
#define CS_JOSE_RSA_BYTES_MAX 1024 /* 8192 bits */
#define CS_JOSE_RSA_E_MAX 8        /* bytes: e < 2^64 */
#define CS_JOSE_CEK_LEN 32         /* A256GCM */
#define CS_JOSE_KID_MAX 256        /* characters of a "kid" we accept */

/* Characters of the base64url (unpadded) form of n bytes. */
#define CS_B64URL_LEN(n) (((n) / 3u) * 4u + ((n) % 3u == 0 ? 0u : (n) % 3u + 1u))

/*
 * A libjose configuration whose error callback stays silent (the default one prints to
 * stderr, on hostile input too). One per call: libjose counts its references without
 * atomics, so a configuration is never shared between threads.
 */
CS_RESULT cs_jose_cfg_new(jose_cfg_t **out);
void cs_jose_cfg_freep(jose_cfg_t **p);

/* Checks unpadded base64url as cs_b64url_decode does; *out_len: the bytes it holds. */
CS_RESULT cs_b64url_check(const char *s, size_t len, size_t *out_len);

/*
 * Decodes unpadded base64url (alphabet A-Z a-z 0-9 - _) into out (cap bytes). The unused
 * low bits of the last character must be zero, so every byte string has one encoding.
 * CS_E_FORMAT on any other character or shape; CS_E_TOO_LARGE when cap is too small.
 */
CS_RESULT cs_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Encodes into out (cap >= CS_B64URL_LEN(len) + 1), NUL-terminated; *out_len may be NULL. */
CS_RESULT cs_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len);

/* obj[key] as a string of at most max bytes without NUL (CS_E_FORMAT, CS_E_TOO_LARGE). */
CS_RESULT cs_jose_str(const json_t *obj, const char *key, size_t max, const char **s,
                      size_t *len);

/* obj[key] as canonical base64url of exactly n bytes (CS_E_FORMAT otherwise). */
CS_RESULT cs_jose_b64_exact(const json_t *obj, const char *key, uint8_t *out, size_t n);

/* obj[key] as canonical base64url of at most cap bytes. */
CS_RESULT cs_jose_b64_member(const json_t *obj, const char *key, uint8_t *out, size_t cap,
                             size_t *out_len);

/* Whether every member name of obj is in the NULL-terminated list names. */
bool cs_jose_only_members(const json_t *obj, const char *const *names);

struct cs_jose_curve {
    const char *crv;  /* JWK "crv", also an OpenSSL group name */
    size_t coord_len; /* bytes of x, y and d */
};

/* The curve named crv (P-256, P-384, P-521), or NULL. */
const struct cs_jose_curve *cs_jose_curve_find(const char *crv);

/*
 * An EC public key from its affine coordinates (big-endian, coord_len bytes each).
 * CS_E_FORMAT when the point is not on the curve. On CS_OK *out is the caller's.
 */
CS_RESULT cs_jose_ec_public(const struct cs_jose_curve *c, const uint8_t *x, const uint8_t *y,
                            EVP_PKEY **out);

/* RFC 7638 SHA-256 thumbprint of a public (or private) JWK, raw and base64url. */
CS_RESULT cs_jose_thumbprint(const json_t *jwk, uint8_t out[CS_JWK_THUMBPRINT_LEN],
                             char b64[CS_JWK_THUMBPRINT_B64_LEN]);

void cs_jose_pkey_ctx_freep(EVP_PKEY_CTX **p);

#endif
