/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JOSE: the TEE key (accepted forms and every refusal), JWE round trips for every key
 * kind, damage to each JWE member, the AAD binding of the protected header, RFC 7638
 * thumbprints, ES256 tokens (sign, verify, and the attacks a verifier must refuse), the
 * token key file rules, and allocation failures. Cross-checks against libjose itself
 * (decrypting our JWE, verifying our JWS) and an independent OpenSSL signer.
 */
#include <errno.h>
#include <jansson.h>
#include <jose/jose.h>
#include <jose/openssl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_mem.h"
#include "crypto/cs_jose.h"
#include "cs_test.h"

#define NOW 1700000000

static const char *const kinds[] = { "EC-P256", "EC-P384", "EC-P521", "RSA-3072" };

/* ---- helpers ---- */

static json_t *load_json(const char *text)
{
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        abort();
    }
    return j;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s == NULL) {
        abort();
    }
    return s;
}

/* base64url without padding; out must hold 4 * ceil(n / 3) + 1 bytes */
static void b64url(const void *p, size_t n, char *out, size_t cap)
{
    size_t len = jose_b64_enc_buf(p, n, out, cap);
    if (len == SIZE_MAX || len >= cap) {
        abort();
    }
    out[len] = '\0';
}

/* Decodes a base64url JSON member into a malloc'd buffer. */
static unsigned char *b64_member(const json_t *obj, const char *key, size_t *len)
{
    const json_t *v = json_object_get(obj, key);
    size_t n = jose_b64_dec(v, NULL, 0);
    if (n == SIZE_MAX) {
        abort();
    }
    unsigned char *p = malloc(n + 1);
    if (p == NULL || jose_b64_dec(v, p, n) != n) {
        abort();
    }
    *len = n;
    return p;
}

static void set_b64_member(json_t *obj, const char *key, const unsigned char *p, size_t n)
{
    json_object_set_new(obj, key, jose_b64_enc(p, n));
}

static struct cs_tee_key *parse_ok(const json_t *jwk)
{
    struct cs_tee_key *k = NULL;
    EXPECT_OK(cs_tee_key_parse(jwk, &k));
    return k;
}

static cs_code parse_code(const char *text)
{
    json_t *j = load_json(text);
    struct cs_tee_key *k = NULL;
    cs_res r = cs_tee_key_parse(j, &k);
    if (cs_ok(r) && k == NULL) {
        CS_T_FAIL_("%s", "parse said OK without a key");
    }
    if (!cs_ok(r) && k != NULL) {
        CS_T_FAIL_("%s", "parse failed but returned a key");
    }
    cs_tee_key_free(k);
    json_decref(j);
    return r.code;
}

/* A copy of jwk with member key set to the string value (or removed when value is NULL). */
static cs_code parse_with(const json_t *jwk, const char *key, const char *value)
{
    json_t *j = json_deep_copy(jwk);
    if (value == NULL) {
        json_object_del(j, key);
    } else {
        json_object_set_new(j, key, json_string(value));
    }
    struct cs_tee_key *k = NULL;
    cs_res r = cs_tee_key_parse(j, &k);
    cs_tee_key_free(k);
    json_decref(j);
    return r.code;
}

static void fresh_keypair(const char *kind, json_t **priv, json_t **pub)
{
    EXPECT_OK(cs_tee_keypair_generate(kind, priv, pub));
    if (*priv == NULL || *pub == NULL) {
        abort();
    }
}

/* One key pair per kind for the whole run (RSA-3072 generation takes a while, and far
 * longer under valgrind); new references each call. Released by test_release_keys. */
static json_t *cached[4][2];

static void keypair(const char *kind, json_t **priv, json_t **pub)
{
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(kind, kinds[i]) == 0) {
            if (cached[i][0] == NULL) {
                fresh_keypair(kind, &cached[i][0], &cached[i][1]);
            }
            *priv = json_incref(cached[i][0]);
            *pub = json_incref(cached[i][1]);
            return;
        }
    }
    abort();
}

static void test_release_keys(void)
{
    for (size_t i = 0; i < 4; i++) {
        json_decref(cached[i][0]);
        json_decref(cached[i][1]);
        cached[i][0] = cached[i][1] = NULL;
    }
}

static char *encrypt_str(const json_t *pub, const json_t *extra, const char *text)
{
    struct cs_tee_key *k = parse_ok(pub);
    char *jwe = NULL;
    EXPECT_OK(cs_jwe_encrypt(k, extra, (const uint8_t *)text, strlen(text), &jwe));
    cs_tee_key_free(k);
    if (jwe == NULL) {
        abort();
    }
    return jwe;
}

static cs_code decrypt_code(const json_t *priv, const char *jwe, const char *want)
{
    uint8_t *pt = NULL;
    size_t len = 0;
    cs_res r = cs_jwe_decrypt(priv, jwe, strlen(jwe), &pt, &len);
    if (cs_ok(r)) {
        if (want != NULL && (len != strlen(want) || memcmp(pt, want, len) != 0)) {
            CS_T_FAIL_("plaintext differs: %.*s", (int)len, (const char *)pt);
        }
        cs_free_wipe(pt, len);
    } else if (pt != NULL || len != 0) {
        CS_T_FAIL_("%s", "failed decryption left output behind");
    }
    return r.code;
}

/* The JWE text with one edit applied to its JSON form. */
typedef void (*jwe_edit)(json_t *jwe, const void *arg);

static cs_code decrypt_edited(const json_t *priv, const char *jwe, jwe_edit edit,
                              const void *arg)
{
    json_t *obj = load_json(jwe);
    edit(obj, arg);
    char *text = dump(obj);
    cs_code c = decrypt_code(priv, text, NULL);
    free(text);
    json_decref(obj);
    return c;
}

static void flip_member(json_t *jwe, const void *arg)
{
    const char *key = arg;
    size_t n = 0;
    unsigned char *p = b64_member(jwe, key, &n);
    if (n == 0) {
        abort();
    }
    p[n / 2] ^= 0x01;
    set_b64_member(jwe, key, p, n);
    free(p);
}

struct member_value {
    const char *key;
    json_t *value; /* borrowed */
};

static void set_member(json_t *jwe, const void *arg)
{
    const struct member_value *mv = arg;
    if (mv->value == NULL) {
        json_object_del(jwe, mv->key);
    } else {
        json_object_set(jwe, mv->key, mv->value);
    }
}

/* Replaces the protected header with the JSON text given (re-encoded). */
static void set_protected(json_t *jwe, const void *arg)
{
    const char *text = arg;
    json_object_set_new(jwe, "protected", jose_b64_enc(text, strlen(text)));
}

static json_t *protected_of(const char *jwe)
{
    json_t *obj = load_json(jwe);
    json_t *p = jose_b64_dec_load(json_object_get(obj, "protected"));
    json_decref(obj);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* ---- the TEE key ---- */

static void test_tee_key_accepts_kbs_forms(void)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *priv = NULL;
        json_t *pub = NULL;
        keypair(kinds[i], &priv, &pub);
        bool is_ec = kinds[i][0] == 'E';
        /* the public form is exactly the KBS tee-pubkey */
        EXPECT_EQ(json_object_size(pub), is_ec ? 5 : 4);
        EXPECT_TRUE(json_object_get(pub, "d") == NULL);
        EXPECT_TRUE(json_object_get(priv, "d") != NULL);
        struct cs_tee_key *k = parse_ok(pub);
        EXPECT_STR_EQ(cs_tee_key_alg(k), is_ec ? "ECDH-ES+A256KW" : "RSA-OAEP-256");
        uint8_t thp[32];
        char b64[44];
        EXPECT_OK(cs_tee_key_thumbprint(k, thp, b64));
        EXPECT_EQ(strlen(b64), 43);
        /* alg absent: the default for the key type */
        EXPECT_EQ(parse_with(pub, "alg", NULL), CS_OK);
        /* kid and use=enc are tolerated, and the thumbprint ignores them */
        json_t *more = json_deep_copy(pub);
        json_object_set_new(more, "kid", json_string("agent-1"));
        json_object_set_new(more, "use", json_string("enc"));
        struct cs_tee_key *k2 = parse_ok(more);
        char b64_2[44];
        EXPECT_OK(cs_tee_key_thumbprint(k2, NULL, b64_2));
        EXPECT_STR_EQ(b64, b64_2);
        cs_tee_key_free(k2);
        json_decref(more);
        /* the private JWK is refused as a tee-pubkey */
        char *priv_text = dump(priv);
        EXPECT_EQ(parse_code(priv_text), CS_E_FORMAT);
        free(priv_text);
        cs_tee_key_free(k);
        json_decref(priv);
        json_decref(pub);
    }
}

static void test_tee_key_refuses_algs_and_types(void)
{
    json_t *priv = NULL;
    json_t *ec = NULL;
    keypair("EC-P256", &priv, &ec);
    json_decref(priv);
    json_t *rsa = NULL;
    keypair("RSA-3072", &priv, &rsa);
    json_decref(priv);

    EXPECT_EQ(parse_with(rsa, "alg", "RSA1_5"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(rsa, "alg", "RSA-OAEP"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(rsa, "alg", "RS256"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(rsa, "alg", "ECDH-ES+A256KW"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "alg", "ECDH-ES"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "alg", "ECDH-ES+A128KW"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "alg", "RSA-OAEP-256"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "alg", "dir"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "alg", ""), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "kty", "OKP"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "kty", "oct"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "kty", NULL), CS_E_FORMAT);
    EXPECT_EQ(parse_with(ec, "crv", "P-192"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "crv", "secp256k1"), CS_E_UNSUPPORTED);
    EXPECT_EQ(parse_with(ec, "crv", NULL), CS_E_FORMAT);
    /* a P-256 point is not a P-384 point: coordinate length is checked per curve */
    EXPECT_EQ(parse_with(ec, "crv", "P-384"), CS_E_FORMAT);

    /* private members, unknown members, URLs and certificates: refused */
    static const char *const ec_extra[] = { "d", "k", "oth", "x5c", "x5u", "jku", "key_ops",
                                            "ext", "crit" };
    for (size_t i = 0; i < sizeof ec_extra / sizeof ec_extra[0]; i++) {
        EXPECT_EQ(parse_with(ec, ec_extra[i], "AQAB"), CS_E_FORMAT);
    }
    static const char *const rsa_private[] = { "d", "p", "q", "dp", "dq", "qi", "oth" };
    for (size_t i = 0; i < sizeof rsa_private / sizeof rsa_private[0]; i++) {
        EXPECT_EQ(parse_with(rsa, rsa_private[i], "AQAB"), CS_E_FORMAT);
    }
    EXPECT_EQ(parse_with(ec, "use", "sig"), CS_E_FORMAT);
    char kid[300];
    memset(kid, 'a', sizeof kid - 1);
    kid[sizeof kid - 1] = '\0';
    EXPECT_EQ(parse_with(ec, "kid", kid), CS_E_FORMAT);
    kid[256] = '\0';
    EXPECT_EQ(parse_with(ec, "kid", kid), CS_OK);

    /* wrong JSON types */
    EXPECT_EQ(parse_code("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1,\"y\":2}"), CS_E_FORMAT);
    EXPECT_EQ(parse_code("{\"kty\":[\"EC\"]}"), CS_E_FORMAT);
    EXPECT_EQ(parse_code("{}"), CS_E_FORMAT);
    json_t *arr = json_array();
    struct cs_tee_key *k = NULL;
    EXPECT_ERR(cs_tee_key_parse(arr, &k), CS_E_FORMAT);
    EXPECT_TRUE(k == NULL);
    json_decref(arr);
    EXPECT_ERR(cs_tee_key_parse(NULL, &k), CS_E_ARG);
    json_t *alg_num = json_deep_copy(ec);
    json_object_set_new(alg_num, "alg", json_integer(1));
    EXPECT_ERR(cs_tee_key_parse(alg_num, &k), CS_E_FORMAT);
    json_decref(alg_num);
    /* a NUL inside a member */
    json_t *nul = json_deep_copy(ec);
    json_object_set_new(nul, "crv", json_stringn("P-256\0x", 7));
    EXPECT_ERR(cs_tee_key_parse(nul, &k), CS_E_FORMAT);
    json_decref(nul);
    json_decref(ec);
    json_decref(rsa);
}

static void edit_coord(const json_t *jwk, const char *key, size_t keep, int delta,
                       unsigned char flip, cs_code want)
{
    size_t n = 0;
    unsigned char *p = b64_member(jwk, key, &n);
    unsigned char buf[80] = { 0 };
    size_t len = keep == 0 ? n : keep;
    memcpy(buf, p, n < len ? n : len);
    len = (size_t)((long)len + delta);
    buf[len - 1] ^= flip;
    json_t *j = json_deep_copy(jwk);
    set_b64_member(j, key, buf, len);
    struct cs_tee_key *k = NULL;
    cs_res r = cs_tee_key_parse(j, &k);
    if (r.code != want) {
        CS_T_FAIL_("%s edited (len %zu, flip %u): got %s", key, len, flip,
                   custos_code_name(r.code));
    }
    cs_tee_key_free(k);
    json_decref(j);
    free(p);
}

static void test_tee_key_refuses_bad_points(void)
{
    for (size_t i = 0; i < 3; i++) {
        json_t *priv = NULL;
        json_t *pub = NULL;
        keypair(kinds[i], &priv, &pub);
        size_t n = 0;
        free(b64_member(pub, "x", &n));
        /* off the curve: the last bit of y flipped */
        edit_coord(pub, "y", 0, 0, 0x01, CS_E_FORMAT);
        edit_coord(pub, "x", 0, 0, 0x80, CS_E_FORMAT);
        /* short and long coordinates (RFC 7518 6.2.1.2: the full length, always) */
        edit_coord(pub, "x", n - 1, 0, 0, CS_E_FORMAT);
        edit_coord(pub, "y", n, 1, 0, CS_E_FORMAT);
        edit_coord(pub, "x", n, 0, 0, CS_OK);
        /* the origin (0, 0) is on no curve */
        unsigned char zero[66] = { 0 };
        json_t *j = json_deep_copy(pub);
        set_b64_member(j, "x", zero, n);
        set_b64_member(j, "y", zero, n);
        struct cs_tee_key *k = NULL;
        EXPECT_ERR(cs_tee_key_parse(j, &k), CS_E_FORMAT);
        json_decref(j);
        /* base64url must be canonical and unpadded */
        const char *x = json_string_value(json_object_get(pub, "x"));
        size_t xl = strlen(x);
        char buf[128];
        snprintf(buf, sizeof buf, "%s=", x);
        EXPECT_EQ(parse_with(pub, "x", buf), CS_E_FORMAT);
        snprintf(buf, sizeof buf, "%s", x);
        buf[0] = buf[0] == '+' ? '/' : '+';
        EXPECT_EQ(parse_with(pub, "x", buf), CS_E_FORMAT);
        if (xl % 4 != 0) { /* unused low bits set in the last character */
            snprintf(buf, sizeof buf, "%s", x);
            const char *alpha = JOSE_B64_MAP;
            size_t pos = (size_t)(strchr(alpha, buf[xl - 1]) - alpha);
            buf[xl - 1] = alpha[pos | 1];
            EXPECT_EQ(parse_with(pub, "x", buf), CS_E_FORMAT);
        }
        json_decref(priv);
        json_decref(pub);
    }
}

static json_t *rsa_jwk(int bits, unsigned e)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (key == NULL) {
        abort();
    }
    json_t *jwk = jose_openssl_jwk_from_EVP_PKEY(NULL, key);
    EVP_PKEY_free(key);
    if (jwk == NULL || !jose_jwk_pub(NULL, jwk)) {
        abort();
    }
    if (e != 0) {
        unsigned char eb[4] = { (unsigned char)(e >> 24), (unsigned char)(e >> 16),
                                (unsigned char)(e >> 8), (unsigned char)e };
        size_t off = 0;
        while (off < 3 && eb[off] == 0) {
            off++;
        }
        set_b64_member(jwk, "e", eb + off, 4 - off);
    }
    return jwk;
}

static void test_tee_key_refuses_bad_rsa(void)
{
    json_t *small = rsa_jwk(1024, 0);
    EXPECT_EQ(parse_with(small, "alg", "RSA-OAEP-256"), CS_E_FORMAT);
    json_decref(small);
    json_t *almost = rsa_jwk(2040, 0);
    EXPECT_EQ(parse_with(almost, "alg", NULL), CS_E_FORMAT);
    json_decref(almost);
    json_t *ok = rsa_jwk(2048, 0);
    EXPECT_EQ(parse_with(ok, "alg", NULL), CS_OK);
    /* e even, e = 1, e = 3 (odd and > 1: accepted) */
    json_t *j = json_deep_copy(ok);
    set_b64_member(j, "e", (const unsigned char *)"\x01\x00\x00", 3);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    set_b64_member(j, "e", (const unsigned char *)"\x01", 1);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    set_b64_member(j, "e", (const unsigned char *)"\x03", 1);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_OK);
    /* leading zero octets in e or n (RFC 7518 6.3.1.1) */
    set_b64_member(j, "e", (const unsigned char *)"\x00\x01\x00\x01", 4);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    set_b64_member(j, "e", (const unsigned char *)"\x01\x00\x00\x00\x00\x00\x00\x00\x01", 9);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    json_decref(j);
    size_t n = 0;
    unsigned char *mod = b64_member(ok, "n", &n);
    unsigned char big[1100] = { 0 };
    memcpy(big + 1, mod, n);
    j = json_deep_copy(ok);
    set_b64_member(j, "n", big, n + 1);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    /* an even modulus */
    memcpy(big, mod, n);
    big[n - 1] &= 0xfe;
    set_b64_member(j, "n", big, n);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    /* more than 8192 bits */
    memset(big, 0xff, sizeof big);
    set_b64_member(j, "n", big, 1025);
    EXPECT_EQ(parse_with(j, "alg", NULL), CS_E_FORMAT);
    json_decref(j);
    free(mod);
    json_decref(ok);
}

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
static void test_thumbprint_rfc7638(void)
{
    json_t *jwk = load_json("{\"kty\":\"RSA\",\"n\":\""
                            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z"
                            "wu1RK7aPFFxuhDR1"
                            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl9"
                            "3lqt7_RN5w6Cf0h4"
                            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQ"
                            "vRL5hajrn1n91CbO"
                            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBni"
                            "Iqbw0Ls1jF44-csF"
                            "Cur-kEgU8awapJzKnqDKgw"
                            "\",\"e\":\"AQAB\",\"alg\":\"RSA-OAEP-256\",\"kid\":\"2011-04-29\"}");
    struct cs_tee_key *k = parse_ok(jwk);
    uint8_t raw[32];
    char b64[44];
    EXPECT_OK(cs_tee_key_thumbprint(k, raw, b64));
    EXPECT_STR_EQ(b64, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    /* the raw form is what the base64url form encodes (RFC 7638 section 3.1 bytes) */
    static const uint8_t want[32] = { 55,  54,  203, 177, 120, 124, 184, 48,  156, 119, 238,
                                      140, 55,  5,   197, 225, 111, 251, 158, 133, 151, 21,
                                      144, 31,  30,  76,  89,  177, 17,  130, 245, 123 };
    EXPECT_MEM_EQ(raw, want, 32);
    cs_tee_key_free(k);
    json_decref(jwk);
}

/* ---- JWE ---- */

static void test_jwe_round_trips(void)
{
    static const char *const texts[] = { "", "s", "a secret: {\"password\":\"hunter2\"}" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *priv = NULL;
        json_t *pub = NULL;
        keypair(kinds[i], &priv, &pub);
        bool is_ec = kinds[i][0] == 'E';
        json_t *extra = load_json("{\"kid\":\"resource-1\"}");
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            char *jwe = encrypt_str(pub, extra, texts[t]);
            /* RFC 7516 7.2.2 flattened: exactly these members, in this order */
            EXPECT_TRUE(strncmp(jwe, "{\"protected\":\"", 14) == 0);
            json_t *obj = load_json(jwe);
            EXPECT_EQ(json_object_size(obj), 5);
            static const char *const members[] = { "protected", "encrypted_key", "iv",
                                                   "ciphertext", "tag" };
            for (size_t m = 0; m < 5; m++) {
                EXPECT_TRUE(json_is_string(json_object_get(obj, members[m])));
            }
            size_t n = 0;
            free(b64_member(obj, "iv", &n));
            EXPECT_EQ(n, 12);
            free(b64_member(obj, "tag", &n));
            EXPECT_EQ(n, 16);
            free(b64_member(obj, "encrypted_key", &n));
            EXPECT_EQ(n, is_ec ? 40 : 384);
            free(b64_member(obj, "ciphertext", &n));
            EXPECT_EQ(n, strlen(texts[t]));
            json_t *prot = protected_of(jwe);
            EXPECT_STR_EQ(json_string_value(json_object_get(prot, "alg")),
                          is_ec ? "ECDH-ES+A256KW" : "RSA-OAEP-256");
            EXPECT_STR_EQ(json_string_value(json_object_get(prot, "enc")), "A256GCM");
            EXPECT_STR_EQ(json_string_value(json_object_get(prot, "kid")), "resource-1");
            json_t *epk = json_object_get(prot, "epk");
            EXPECT_EQ(epk != NULL, is_ec);
            EXPECT_EQ(json_object_size(prot), is_ec ? 4 : 3);
            if (epk != NULL) {
                EXPECT_TRUE(json_equal(json_object_get(epk, "crv"), json_object_get(pub, "crv")));
                EXPECT_TRUE(json_object_get(epk, "d") == NULL);
            }
            json_decref(prot);
            EXPECT_EQ(decrypt_code(priv, jwe, texts[t]), CS_OK);
            if (is_ec && texts[t][0] != '\0') { /* and libjose itself agrees (it returns
                                                   * NULL for an empty plaintext) */
                size_t len = 0;
                void *pt = jose_jwe_dec(NULL, obj, NULL, priv, &len);
                EXPECT_TRUE(pt != NULL && len == strlen(texts[t]) &&
                            memcmp(pt, texts[t], len) == 0);
                free(pt);
            }
            json_decref(obj);
            free(jwe);
        }
        /* another key of the same kind cannot decrypt */
        json_t *priv2 = NULL;
        json_t *pub2 = NULL;
        fresh_keypair(kinds[i], &priv2, &pub2);
        char *jwe = encrypt_str(pub, NULL, "x");
        EXPECT_EQ(decrypt_code(priv2, jwe, NULL), CS_E_SIGNATURE);
        /* two encryptions of one plaintext share nothing */
        char *again = encrypt_str(pub, NULL, "x");
        EXPECT_TRUE(strcmp(jwe, again) != 0);
        free(again);
        free(jwe);
        json_decref(priv2);
        json_decref(pub2);
        json_decref(extra);
        json_decref(priv);
        json_decref(pub);
    }
}

static void test_jwe_large_plaintext(void)
{
    json_t *priv = NULL;
    json_t *pub = NULL;
    keypair("EC-P256", &priv, &pub);
    struct cs_tee_key *k = parse_ok(pub);
    size_t n = CS_JWE_PLAINTEXT_MAX;
    uint8_t *big = malloc(n + 1);
    for (size_t i = 0; i <= n; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    char *jwe = NULL;
    EXPECT_OK(cs_jwe_encrypt(k, NULL, big, n, &jwe));
    uint8_t *pt = NULL;
    size_t len = 0;
    EXPECT_OK(cs_jwe_decrypt(priv, jwe, strlen(jwe), &pt, &len));
    EXPECT_TRUE(len == n && memcmp(pt, big, n) == 0);
    cs_free_wipe(pt, len);
    cs_free(jwe);
    EXPECT_ERR(cs_jwe_encrypt(k, NULL, big, n + 1, &jwe), CS_E_TOO_LARGE);
    EXPECT_TRUE(jwe == NULL);
    free(big);
    cs_tee_key_free(k);
    json_decref(priv);
    json_decref(pub);
}

static void test_jwe_damage_fails(void)
{
    static const char *const damaged[] = { "encrypted_key", "iv", "ciphertext", "tag" };
    const char *two[] = { "EC-P256", "RSA-3072" };
    for (size_t i = 0; i < 2; i++) {
        json_t *priv = NULL;
        json_t *pub = NULL;
        keypair(two[i], &priv, &pub);
        json_t *extra = load_json("{\"kid\":\"k1\"}");
        char *jwe = encrypt_str(pub, extra, "the secret");
        EXPECT_EQ(decrypt_code(priv, jwe, "the secret"), CS_OK);
        for (size_t m = 0; m < sizeof damaged / sizeof damaged[0]; m++) {
            cs_code c = decrypt_edited(priv, jwe, flip_member, damaged[m]);
            if (c != CS_E_SIGNATURE) {
                CS_T_FAIL_("%s %s flipped: got %s", two[i], damaged[m], custos_code_name(c));
            }
        }
        /* a flipped byte of the protected header: refused either way */
        cs_code c = decrypt_edited(priv, jwe, flip_member, "protected");
        EXPECT_TRUE(c == CS_E_SIGNATURE || c == CS_E_FORMAT);

        /* the AAD is the protected header: a well-formed header that differs only in kid
         * (which neither key unwrapping nor anything else reads) fails at the tag */
        json_t *prot = protected_of(jwe);
        json_object_set_new(prot, "kid", json_string("k2"));
        char *text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_SIGNATURE);
        free(text);
        /* the same header re-serialised with other white space: other AAD bytes */
        json_object_set_new(prot, "kid", json_string("k1"));
        text = json_dumps(prot, JSON_INDENT(1));
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_SIGNATURE);
        free(text);
        /* refused header contents */
        json_object_set_new(prot, "zip", json_string("DEF"));
        text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_UNSUPPORTED);
        free(text);
        json_object_del(prot, "zip");
        json_object_set_new(prot, "crit", json_pack("[s]", "exp"));
        text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_UNSUPPORTED);
        free(text);
        json_object_del(prot, "crit");
        json_object_set_new(prot, "enc", json_string("A128GCM"));
        text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_UNSUPPORTED);
        free(text);
        json_object_set_new(prot, "enc", json_string("A256GCM"));
        json_object_set_new(prot, "alg", json_string("RSA1_5"));
        text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_UNSUPPORTED);
        free(text);
        json_object_del(prot, "alg");
        text = dump(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, text), CS_E_FORMAT);
        free(text);
        json_decref(prot);
        EXPECT_EQ(decrypt_edited(priv, jwe, set_protected, "not json"), CS_E_FORMAT);

        /* members missing, extra, or of the wrong type */
        static const char *const members[] = { "protected", "encrypted_key", "iv", "ciphertext",
                                               "tag" };
        for (size_t m = 0; m < 5; m++) {
            struct member_value mv = { members[m], NULL };
            EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
            json_t *num = json_integer(1);
            mv.value = num;
            EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
            json_decref(num);
        }
        json_t *val = json_string("AAAA");
        static const char *const extras[] = { "aad", "unprotected", "recipients", "x" };
        for (size_t m = 0; m < 4; m++) {
            struct member_value mv = { extras[m], val };
            EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
        }
        /* a truncated tag or IV, and base64url that is not canonical */
        json_t *short_tag = json_string("AAAAAAAAAAAAAAAAAAAA");
        struct member_value mv = { "tag", short_tag };
        EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
        mv.key = "iv";
        EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
        json_decref(short_tag);
        json_t *pad = json_string("AAAA=");
        mv = (struct member_value){ "ciphertext", pad };
        EXPECT_EQ(decrypt_edited(priv, jwe, set_member, &mv), CS_E_FORMAT);
        json_decref(pad);
        json_decref(val);
        /* truncated text, trailing bytes, duplicate members */
        EXPECT_EQ(decrypt_code(priv, "", NULL), CS_E_TRUNCATED);
        char cut[64];
        snprintf(cut, sizeof cut, "%.40s", jwe);
        EXPECT_EQ(decrypt_code(priv, cut, NULL), CS_E_FORMAT);
        size_t jl = strlen(jwe);
        char *longer = malloc(jl + 3);
        snprintf(longer, jl + 3, "%s{}", jwe);
        EXPECT_EQ(decrypt_code(priv, longer, NULL), CS_E_FORMAT);
        snprintf(longer, jl + 3, "%s", jwe);
        longer[jl - 1] = ',';
        char *dup = malloc(jl + 32);
        snprintf(dup, jl + 32, "%s\"tag\":\"AAAA\"}", longer);
        EXPECT_EQ(decrypt_code(priv, dup, NULL), CS_E_FORMAT);
        free(dup);
        free(longer);
        free(jwe);
        json_decref(extra);
        json_decref(priv);
        json_decref(pub);
    }
}

static void test_jwe_wrong_key_kinds(void)
{
    json_t *ec_priv = NULL;
    json_t *ec_pub = NULL;
    keypair("EC-P256", &ec_priv, &ec_pub);
    json_t *ec384_priv = NULL;
    json_t *ec384_pub = NULL;
    keypair("EC-P384", &ec384_priv, &ec384_pub);
    json_t *rsa_priv = NULL;
    json_t *rsa_pub = NULL;
    keypair("RSA-3072", &rsa_priv, &rsa_pub);
    char *ec_jwe = encrypt_str(ec_pub, NULL, "x");
    char *rsa_jwe = encrypt_str(rsa_pub, NULL, "x");
    EXPECT_EQ(decrypt_code(rsa_priv, ec_jwe, NULL), CS_E_UNSUPPORTED);
    EXPECT_EQ(decrypt_code(ec_priv, rsa_jwe, NULL), CS_E_UNSUPPORTED);
    /* epk on another curve than the key */
    EXPECT_EQ(decrypt_code(ec384_priv, ec_jwe, NULL), CS_E_FORMAT);
    /* the caller's key is not a key */
    json_t *junk = load_json("{\"kty\":\"oct\",\"k\":\"AAAA\"}");
    EXPECT_EQ(decrypt_code(junk, ec_jwe, NULL), CS_E_ARG);
    json_decref(junk);
    /* an epk off the curve */
    json_t *prot = protected_of(ec_jwe);
    json_t *epk = json_object_get(prot, "epk");
    size_t n = 0;
    unsigned char *y = b64_member(epk, "y", &n);
    y[n - 1] ^= 1;
    set_b64_member(epk, "y", y, n);
    free(y);
    char *text = dump(prot);
    EXPECT_EQ(decrypt_edited(ec_priv, ec_jwe, set_protected, text), CS_E_FORMAT);
    free(text);
    json_decref(prot);
    /* reserved names cannot come in through extra_protected */
    struct cs_tee_key *k = parse_ok(ec_pub);
    static const char *const reserved[] = { "alg", "enc", "epk", "zip", "crit", "apu", "apv" };
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        json_t *extra = json_pack("{s:s}", reserved[i], "x");
        char *out = NULL;
        EXPECT_ERR(cs_jwe_encrypt(k, extra, (const uint8_t *)"x", 1, &out), CS_E_ARG);
        EXPECT_TRUE(out == NULL);
        json_decref(extra);
    }
    cs_tee_key_free(k);
    free(ec_jwe);
    free(rsa_jwe);
    json_decref(ec_priv);
    json_decref(ec_pub);
    json_decref(ec384_priv);
    json_decref(ec384_pub);
    json_decref(rsa_priv);
    json_decref(rsa_pub);
}

/* libjose's own output files epk in the per-recipient header (jwcrypto does too). */
static void test_jwe_epk_in_recipient_header(void)
{
    json_t *priv = NULL;
    json_t *pub = NULL;
    keypair("EC-P521", &priv, &pub);
    json_t *jwe = json_pack("{s:{s:s,s:s}}", "protected", "alg", "ECDH-ES+A256KW", "enc",
                            "A256GCM");
    EXPECT_TRUE(jose_jwe_enc(NULL, jwe, NULL, pub, "from libjose", 12));
    EXPECT_TRUE(json_object_get(json_object_get(jwe, "header"), "epk") != NULL);
    char *text = dump(jwe);
    EXPECT_EQ(decrypt_code(priv, text, "from libjose"), CS_OK);
    free(text);
    /* epk in both headers: RFC 7516 7.2.1 wants them disjoint */
    json_t *prot = jose_b64_dec_load(json_object_get(jwe, "protected"));
    json_object_set(prot, "epk", json_object_get(json_object_get(jwe, "header"), "epk"));
    json_object_set_new(jwe, "protected", jose_b64_enc_dump(prot));
    text = dump(jwe);
    EXPECT_EQ(decrypt_code(priv, text, NULL), CS_E_FORMAT);
    free(text);
    /* nothing but epk and kid in that header */
    json_object_set_new(json_object_get(jwe, "header"), "alg", json_string("RSA1_5"));
    text = dump(jwe);
    EXPECT_EQ(decrypt_code(priv, text, NULL), CS_E_FORMAT);
    free(text);
    json_decref(prot);
    json_decref(jwe);
    json_decref(priv);
    json_decref(pub);
}

static void test_keypair_kinds(void)
{
    json_t *priv = NULL;
    json_t *pub = NULL;
    EXPECT_ERR(cs_tee_keypair_generate("RSA-2048", &priv, &pub), CS_E_ARG);
    EXPECT_ERR(cs_tee_keypair_generate("P-256", &priv, &pub), CS_E_ARG);
    EXPECT_ERR(cs_tee_keypair_generate(NULL, &priv, &pub), CS_E_ARG);
    EXPECT_TRUE(priv == NULL && pub == NULL);
    keypair("RSA-3072", &priv, &pub);
    static const char *const rsa_priv[] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
    for (size_t i = 0; i < 8; i++) {
        EXPECT_TRUE(json_is_string(json_object_get(priv, rsa_priv[i])));
    }
    EXPECT_STR_EQ(json_string_value(json_object_get(pub, "alg")), "RSA-OAEP-256");
    size_t n = 0;
    free(b64_member(pub, "n", &n));
    EXPECT_EQ(n, 384);
    json_decref(priv);
    json_decref(pub);
}

/* ---- tokens ---- */

static struct cs_jwt_key *jwt_key(void)
{
    struct cs_jwt_key *k = NULL;
    EXPECT_OK(cs_jwt_key_generate(&k));
    if (k == NULL) {
        abort();
    }
    return k;
}

static char *sign_claims(const struct cs_jwt_key *k, const char *claims)
{
    json_t *c = load_json(claims);
    char *jwt = NULL;
    EXPECT_OK(cs_jwt_sign(k, c, &jwt));
    json_decref(c);
    if (jwt == NULL) {
        abort();
    }
    return jwt;
}

static cs_code verify_code(const struct cs_jwt_key *k, const char *jwt, int64_t now)
{
    json_t *claims = NULL;
    cs_res r = cs_jwt_verify(k, jwt, strlen(jwt), now, &claims);
    EXPECT_EQ(cs_ok(r), claims != NULL);
    json_decref(claims);
    return r.code;
}

/* An independent ES256 signer (OpenSSL directly) for headers cs_jwt_sign never makes. */
static char *es256_token(EVP_PKEY *key, const char *header, const char *payload)
{
    char h[512];
    char p[512];
    b64url(header, strlen(header), h, sizeof h);
    b64url(payload, strlen(payload), p, sizeof p);
    char *out = malloc(1200);
    int n = snprintf(out, 1200, "%s.%s", h, p);
    unsigned char der[80];
    size_t der_len = sizeof der;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, (unsigned char *)out, (size_t)n) != 1) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    const unsigned char *dp = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
    unsigned char rs[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
    ECDSA_SIG_free(sig);
    char s[100];
    b64url(rs, 64, s, sizeof s);
    snprintf(out + n, 1200 - (size_t)n, ".%s", s);
    return out;
}

static void test_jwt_sign_verify(void)
{
    struct cs_jwt_key *k = jwt_key();
    const char *claims = "{\"iss\":\"custos\",\"exp\":1700000300,\"iat\":1700000000,"
                         "\"nbf\":1700000000,\"ear.status\":\"affirming\",\"z\":[1,2],\"a\":{}}";
    char *jwt = sign_claims(k, claims);
    json_t *got = NULL;
    EXPECT_OK(cs_jwt_verify(k, jwt, strlen(jwt), NOW, &got));
    json_t *want = load_json(claims);
    EXPECT_TRUE(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    /* the header, exactly; the claims serialised as given (member order kept) */
    char *dot = strchr(jwt, '.');
    char hdr[200];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             cs_jwt_key_kid(k));
    json_t *hv = json_stringn(jwt, (size_t)(dot - jwt));
    size_t hl = jose_b64_dec(hv, NULL, 0);
    char hraw[200] = { 0 };
    jose_b64_dec(hv, hraw, sizeof hraw);
    EXPECT_EQ(hl, strlen(hdr));
    EXPECT_STR_EQ(hraw, hdr);
    json_decref(hv);
    char *dot2 = strchr(dot + 1, '.');
    json_t *pv = json_stringn(dot + 1, (size_t)(dot2 - dot - 1));
    char praw[300] = { 0 };
    jose_b64_dec(pv, praw, sizeof praw);
    EXPECT_STR_EQ(praw, claims);
    json_decref(pv);
    EXPECT_EQ(strlen(dot2 + 1), 86);

    /* libjose verifies it with the JWKS key */
    json_t *jwks = NULL;
    EXPECT_OK(cs_jwt_key_jwks(k, &jwks));
    json_t *key = json_array_get(json_object_get(jwks, "keys"), 0);
    EXPECT_EQ(json_object_size(key), 7);
    EXPECT_STR_EQ(json_string_value(json_object_get(key, "kid")), cs_jwt_key_kid(k));
    EXPECT_STR_EQ(json_string_value(json_object_get(key, "alg")), "ES256");
    EXPECT_STR_EQ(json_string_value(json_object_get(key, "use")), "sig");
    EXPECT_STR_EQ(json_string_value(json_object_get(key, "crv")), "P-256");
    json_t *flat = json_pack("{s:s%,s:s%,s:s}", "protected", jwt, (size_t)(dot - jwt), "payload",
                             dot + 1, (size_t)(dot2 - dot - 1), "signature", dot2 + 1);
    EXPECT_TRUE(jose_jws_ver(NULL, flat, NULL, key, false));
    /* the kid is the key's RFC 7638 thumbprint */
    json_t *thp = jose_jwk_thp(NULL, key, "S256");
    EXPECT_STR_EQ(json_string_value(thp), cs_jwt_key_kid(k));
    json_decref(thp);
    json_decref(flat);
    json_decref(jwks);

    /* claims must be an object */
    json_t *arr = json_array();
    char *out = NULL;
    EXPECT_ERR(cs_jwt_sign(k, arr, &out), CS_E_ARG);
    json_decref(arr);
    cs_free(jwt);
    cs_jwt_key_free(k);
}

static void test_jwt_attacks_fail(void)
{
    struct cs_jwt_key *k = jwt_key();
    struct cs_jwt_key *other = jwt_key();
    char *jwt = sign_claims(k, "{\"sub\":\"a\",\"exp\":1700000300}");
    EXPECT_EQ(verify_code(k, jwt, NOW), CS_OK);
    /* wrong key */
    EXPECT_EQ(verify_code(other, jwt, NOW), CS_E_SIGNATURE);
    /* our header and payload with another key's signature */
    char *forged = sign_claims(other, "{\"sub\":\"a\",\"exp\":1700000300}");
    char *mix = malloc(strlen(jwt) + 100);
    snprintf(mix, strlen(jwt) + 100, "%.*s%s", (int)(strrchr(jwt, '.') - jwt), jwt,
             strrchr(forged, '.'));
    EXPECT_EQ(verify_code(k, mix, NOW), CS_E_SIGNATURE);
    free(mix);
    cs_free(forged);

    char hdr[200];
    char h64[300];
    char p64[300];
    char tok[1200];
    const char *payload = "{\"sub\":\"admin\",\"exp\":1700000300}";
    b64url(payload, strlen(payload), p64, sizeof p64);
    /* alg none (RFC 8725 2.1) */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             cs_jwt_key_kid(k));
    b64url(hdr, strlen(hdr), h64, sizeof h64);
    snprintf(tok, sizeof tok, "%s.%s.", h64, p64);
    EXPECT_EQ(verify_code(k, tok, NOW), CS_E_UNSUPPORTED);
    /* alg HS256 keyed with the public JWK (key confusion, RFC 8725 2.1) */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             cs_jwt_key_kid(k));
    b64url(hdr, strlen(hdr), h64, sizeof h64);
    int n = snprintf(tok, sizeof tok, "%s.%s", h64, p64);
    json_t *jwks = NULL;
    EXPECT_OK(cs_jwt_key_jwks(k, &jwks));
    char *secret = dump(json_array_get(json_object_get(jwks, "keys"), 0));
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)tok, (size_t)n, mac,
         &mac_len);
    free(secret);
    json_decref(jwks);
    char m64[64];
    b64url(mac, mac_len, m64, sizeof m64);
    snprintf(tok + n, sizeof tok - (size_t)n, ".%s", m64);
    EXPECT_EQ(verify_code(k, tok, NOW), CS_E_UNSUPPORTED);
    /* altered payload, original signature */
    char *alt = malloc(strlen(jwt) + 100);
    const char *dot = strchr(jwt, '.');
    snprintf(alt, strlen(jwt) + 100, "%.*s.%s%s", (int)(dot - jwt), jwt, p64,
             strrchr(jwt, '.'));
    EXPECT_EQ(verify_code(k, alt, NOW), CS_E_SIGNATURE);
    /* one bit of the signature */
    snprintf(alt, strlen(jwt) + 100, "%s", jwt);
    char *last = strrchr(alt, '.') + 5;
    *last = *last == 'A' ? 'B' : 'A';
    EXPECT_EQ(verify_code(k, alt, NOW), CS_E_SIGNATURE);
    /* the signature cut short, or longer */
    snprintf(alt, strlen(jwt) + 100, "%s", jwt);
    alt[strlen(alt) - 2] = '\0';
    EXPECT_EQ(verify_code(k, alt, NOW), CS_E_FORMAT);
    snprintf(alt, strlen(jwt) + 100, "%sAAAA", jwt);
    EXPECT_EQ(verify_code(k, alt, NOW), CS_E_FORMAT);
    /* shapes */
    EXPECT_EQ(verify_code(k, "", NOW), CS_E_FORMAT);
    EXPECT_EQ(verify_code(k, "a.b", NOW), CS_E_FORMAT);
    snprintf(alt, strlen(jwt) + 100, "%s.AAAA", jwt);
    EXPECT_EQ(verify_code(k, alt, NOW), CS_E_FORMAT);
    free(alt);
    char *huge = malloc(CS_JWT_MAX + 2);
    memset(huge, 'A', CS_JWT_MAX + 1);
    huge[CS_JWT_MAX + 1] = '\0';
    EXPECT_EQ(verify_code(k, huge, NOW), CS_E_TOO_LARGE);
    free(huge);
    cs_free(jwt);
    cs_jwt_key_free(k);
    cs_jwt_key_free(other);
}

static void test_jwt_times(void)
{
    struct cs_jwt_key *k = jwt_key();
    struct {
        const char *claims;
        cs_code want;
    } cases[] = {
        { "{\"exp\":1700000000}", CS_OK },
        { "{\"exp\":1699999940}", CS_OK },           /* expired 60 s ago: within leeway */
        { "{\"exp\":1699999939}", CS_E_EXPIRED },    /* 61 s ago */
        { "{\"exp\":1,\"iat\":0}", CS_E_EXPIRED },
        { "{\"exp\":1700000300,\"nbf\":1700000060}", CS_OK },
        { "{\"exp\":1700000300,\"nbf\":1700000061}", CS_E_EXPIRED }, /* not yet valid */
        { "{\"exp\":1700000300,\"iat\":1700000060}", CS_OK },
        { "{\"exp\":1700000300,\"iat\":1700000061}", CS_E_EXPIRED }, /* from the future */
        { "{\"sub\":\"no exp\"}", CS_E_FORMAT },
        { "{\"exp\":\"1700000300\"}", CS_E_FORMAT },
        { "{\"exp\":1700000300.5}", CS_E_FORMAT },
        { "{\"exp\":1700000300,\"nbf\":null}", CS_E_FORMAT },
        { "{\"exp\":9223372036854775807}", CS_OK },
        { "{\"exp\":1700000300,\"nbf\":-9223372036854775807}", CS_OK },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *jwt = sign_claims(k, cases[i].claims);
        cs_code c = verify_code(k, jwt, NOW);
        if (c != cases[i].want) {
            CS_T_FAIL_("%s: got %s, want %s", cases[i].claims, custos_code_name(c),
                       custos_code_name(cases[i].want));
        }
        cs_free(jwt);
    }
    cs_jwt_key_free(k);
}

/* Headers cs_jwt_sign never makes, signed properly with the key itself (from its file). */
static void test_jwt_headers(void)
{
    char dir[] = "/tmp/cs-jose-XXXXXX";
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/token.pem", dir);
    struct cs_jwt_key *k = NULL;
    EXPECT_OK(cs_jwt_key_load(path, true, &k));
    FILE *f = fopen(path, "r");
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    EXPECT_TRUE(key != NULL);
    const char *kid = cs_jwt_key_kid(k);
    const char *payload = "{\"exp\":1700000300}";
    char hdr[256];
    struct {
        const char *pre; /* the header is pre + kid + post */
        const char *post;
        cs_code want;
    } cases[] = {
        { "{\"alg\":\"ES256\",\"kid\":\"", "\"}", CS_OK },
        { "{\"kid\":\"", "\",\"typ\":\"JWT\",\"alg\":\"ES256\"}", CS_OK },
        { "{\"alg\":\"ES256\",\"typ\":\"JOSE\",\"kid\":\"", "\"}", CS_E_FORMAT },
        { "{\"alg\":\"ES256\",\"kid\":\"", "\",\"jku\":\"https://evil\"}", CS_E_FORMAT },
        { "{\"alg\":\"ES256\",\"kid\":\"", "\",\"crit\":[\"exp\"]}", CS_E_UNSUPPORTED },
        { "{\"alg\":\"ES384\",\"kid\":\"", "\"}", CS_E_UNSUPPORTED },
        { "{\"alg\":\"ES256\",\"kid\":\"x", "\"}", CS_E_SIGNATURE }, /* wrong kid, good sig */
        { "{\"alg\":\"ES256\",\"x\":\"", "\"}", CS_E_FORMAT },       /* no kid */
        { "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"", "\"}", CS_E_FORMAT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(hdr, sizeof hdr, "%s%s%s", cases[i].pre, kid, cases[i].post);
        char *tok = es256_token(key, hdr, payload);
        cs_code c = verify_code(k, tok, NOW);
        if (c != cases[i].want) {
            CS_T_FAIL_("%s: got %s, want %s", hdr, custos_code_name(c),
                       custos_code_name(cases[i].want));
        }
        free(tok);
    }
    /* claims that are not an object */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
    char *tok = es256_token(key, hdr, "[1700000300]");
    EXPECT_EQ(verify_code(k, tok, NOW), CS_E_FORMAT);
    free(tok);
    EVP_PKEY_free(key);
    cs_jwt_key_free(k);
    unlink(path);
    rmdir(dir);
}

struct thread_arg {
    const struct cs_jwt_key *k;
    int failures;
};

static void *sign_verify_loop(void *p)
{
    struct thread_arg *a = p;
    json_t *claims = json_pack("{s:s,s:I}", "sub", "thread", "exp", (json_int_t)NOW + 100);
    for (int i = 0; i < 200; i++) {
        char *jwt = NULL;
        json_t *got = NULL;
        if (!cs_ok(cs_jwt_sign(a->k, claims, &jwt)) ||
            !cs_ok(cs_jwt_verify(a->k, jwt, strlen(jwt), NOW, &got))) {
            a->failures++;
        }
        json_decref(got);
        cs_free(jwt);
    }
    json_decref(claims);
    return NULL;
}

struct jwe_thread_arg {
    const struct cs_tee_key *k;
    const json_t *priv;
    int failures;
};

static void *encrypt_loop(void *p)
{
    struct jwe_thread_arg *a = p;
    for (int i = 0; i < 25; i++) {
        char *jwe = NULL;
        uint8_t *pt = NULL;
        size_t len = 0;
        if (!cs_ok(cs_jwe_encrypt(a->k, NULL, (const uint8_t *)"shared", 6, &jwe)) ||
            !cs_ok(cs_jwe_decrypt(a->priv, jwe, strlen(jwe), &pt, &len)) || len != 6 ||
            memcmp(pt, "shared", 6) != 0) {
            a->failures++;
        }
        cs_free_wipe(pt, len);
        cs_free(jwe);
    }
    return NULL;
}

/* One token key and one TEE key, each shared by four threads. */
static void test_shared_keys_threads(void)
{
    struct cs_jwt_key *k = jwt_key();
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){ k, 0 };
        EXPECT_EQ(pthread_create(&t[i], NULL, sign_verify_loop, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        EXPECT_EQ(args[i].failures, 0);
    }
    cs_jwt_key_free(k);
    json_t *priv = NULL;
    json_t *pub = NULL;
    keypair("EC-P256", &priv, &pub);
    struct cs_tee_key *tk = parse_ok(pub);
    struct jwe_thread_arg jargs[4];
    for (int i = 0; i < 4; i++) {
        jargs[i] = (struct jwe_thread_arg){ tk, priv, 0 };
        EXPECT_EQ(pthread_create(&t[i], NULL, encrypt_loop, &jargs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        EXPECT_EQ(jargs[i].failures, 0);
    }
    cs_tee_key_free(tk);
    json_decref(priv);
    json_decref(pub);
}

/* ---- the token key file ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_jwt_key_file_rules(void)
{
    char dir[] = "/tmp/cs-jose-XXXXXX";
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    char path[256];
    char other[256];
    snprintf(path, sizeof path, "%s/token.pem", dir);
    snprintf(other, sizeof other, "%s/other.pem", dir);
    struct cs_jwt_key *k = NULL;
    struct custos_diag diag = { 0 };
    /* absent: CS_E_IO unless create */
    EXPECT_ERR(cs_jwt_key_load_why(path, false, &diag, &k), CS_E_IO);
    EXPECT_TRUE(k == NULL);
    mode_t old = umask(0);
    EXPECT_OK(cs_jwt_key_load(path, true, &k));
    umask(old);
    struct stat st;
    EXPECT_EQ(stat(path, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600);
    char kid[64];
    snprintf(kid, sizeof kid, "%s", cs_jwt_key_kid(k));
    cs_jwt_key_free(k);
    /* present: loaded, with or without create, the same key */
    EXPECT_OK(cs_jwt_key_load(path, true, &k));
    EXPECT_STR_EQ(cs_jwt_key_kid(k), kid);
    cs_jwt_key_free(k);
    chmod(path, 0400);
    EXPECT_OK(cs_jwt_key_load(path, false, &k));
    EXPECT_STR_EQ(cs_jwt_key_kid(k), kid);
    cs_jwt_key_free(k);
    k = NULL;
    /* group or world access, execute bits: refused with a reason */
    static const mode_t bad[] = { 0644, 0640, 0604, 0700, 0660, 0200, 04600 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chmod(path, bad[i]);
        diag = (struct custos_diag){ 0 };
        EXPECT_ERR(cs_jwt_key_load_why(path, true, &diag, &k), CS_E_ARG);
        EXPECT_TRUE(k == NULL && strstr(diag.msg, "mode") != NULL);
    }
    chmod(path, 0600);
    /* another owner (needs root to arrange) */
    if (geteuid() == 0) {
        EXPECT_EQ(chown(path, 65534, 65534), 0);
        diag = (struct custos_diag){ 0 };
        EXPECT_ERR(cs_jwt_key_load_why(path, false, &diag, &k), CS_E_ARG);
        EXPECT_TRUE(strstr(diag.msg, "owned by uid 65534") != NULL);
        EXPECT_EQ(chown(path, 0, 0), 0);
    }
    /* a symbolic link to a good key, a directory, a FIFO */
    EXPECT_EQ(symlink(path, other), 0);
    diag = (struct custos_diag){ 0 };
    EXPECT_ERR(cs_jwt_key_load_why(other, true, &diag, &k), CS_E_ARG);
    EXPECT_TRUE(strstr(diag.msg, "symbolic link") != NULL);
    unlink(other);
    diag = (struct custos_diag){ 0 };
    EXPECT_ERR(cs_jwt_key_load_why(dir, false, &diag, &k), CS_E_ARG);
    EXPECT_TRUE(strstr(diag.msg, "regular file") != NULL);
    EXPECT_EQ(mkfifo(other, 0600), 0); /* must not block waiting for a writer */
    diag = (struct custos_diag){ 0 };
    EXPECT_ERR(cs_jwt_key_load_why(other, true, &diag, &k), CS_E_ARG);
    EXPECT_TRUE(strstr(diag.msg, "regular file") != NULL);
    unlink(other);
    /* not PEM; a P-384 key; an RSA key; an encrypted key */
    write_file(other, "hello\n", 0600);
    EXPECT_ERR(cs_jwt_key_load(other, false, &k), CS_E_FORMAT);
    static const char *const foreign[] = { "EC:P-384", "RSA:2048" };
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *key = i == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")
                               : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        unlink(other);
        FILE *f = fopen(other, "w");
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
        fclose(f);
        chmod(other, 0600);
        cs_res r = cs_jwt_key_load(other, false, &k);
        if (r.code != CS_E_UNSUPPORTED) {
            CS_T_FAIL_("%s key: got %s", foreign[i], custos_code_name(r.code));
        }
        if (i == 0) {
            unlink(other);
            f = fopen(other, "w");
            unsigned char pass[] = "passphrase";
            PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(), pass, (int)sizeof pass - 1, NULL, NULL);
            fclose(f);
            chmod(other, 0600);
            EXPECT_ERR(cs_jwt_key_load(other, false, &k), CS_E_FORMAT);
        }
        EVP_PKEY_free(key);
    }
    /* SEC1 ("EC PRIVATE KEY") P-256 is accepted too */
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unlink(other);
    BIO *sec1 = BIO_new_file(other, "w");
    EXPECT_EQ(PEM_write_bio_PrivateKey_traditional(sec1, p256, NULL, NULL, 0, NULL, NULL), 1);
    BIO_free(sec1);
    chmod(other, 0600);
    EXPECT_OK(cs_jwt_key_load(other, false, &k));
    cs_jwt_key_free(k);
    k = NULL;
    EVP_PKEY_free(p256);
    /* a directory that does not exist: cannot create */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir.pem", dir);
    EXPECT_ERR(cs_jwt_key_load(missing, true, &k), CS_E_IO);
    EXPECT_ERR(cs_jwt_key_load("", true, &k), CS_E_ARG);
    unlink(other);
    unlink(path);
    rmdir(dir);
}

/* ---- allocation failures: every failure is clean, and nothing leaks ---- */

static void test_allocation_failures(void)
{
    json_t *priv = NULL;
    json_t *pub = NULL;
    keypair("RSA-3072", &priv, &pub);
    json_t *ec_priv = NULL;
    json_t *ec_pub = NULL;
    keypair("EC-P256", &ec_priv, &ec_pub);
    char *rsa_jwe = encrypt_str(pub, NULL, "payload");
    struct cs_jwt_key *k = jwt_key();
    char *jwt = sign_claims(k, "{\"exp\":1700000300}");
    json_t *claims = load_json("{\"exp\":1700000300}");
    for (long n = 0; n < 8; n++) {
        cs_mem_set_fail_after(n);
        struct cs_tee_key *tk = NULL;
        cs_res r = cs_tee_key_parse(pub, &tk);
        EXPECT_TRUE(cs_ok(r) ? tk != NULL : (tk == NULL && r.code == CS_E_NOMEM));
        char *out = NULL;
        if (tk != NULL) {
            cs_mem_set_fail_after(n);
            r = cs_jwe_encrypt(tk, NULL, (const uint8_t *)"x", 1, &out);
            if (cs_ok(r) ? out == NULL : (out != NULL || r.code != CS_E_NOMEM)) {
                CS_T_FAIL_("encrypt, allocation %ld fails: %s at %s:%u", n,
                           custos_code_name(r.code), r.file, r.line);
            }
        }
        cs_mem_set_fail_after(-1);
        cs_free(out);
        cs_tee_key_free(tk);
        uint8_t *pt = NULL;
        size_t len = 0;
        cs_mem_set_fail_after(n);
        r = cs_jwe_decrypt(priv, rsa_jwe, strlen(rsa_jwe), &pt, &len);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) ? pt != NULL : (pt == NULL && r.code == CS_E_NOMEM));
        cs_free_wipe(pt, len);
        out = NULL;
        cs_mem_set_fail_after(n);
        r = cs_jwt_sign(k, claims, &out);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) ? out != NULL : (out == NULL && r.code == CS_E_NOMEM));
        cs_free(out);
        json_t *got = NULL;
        cs_mem_set_fail_after(n);
        r = cs_jwt_verify(k, jwt, strlen(jwt), NOW, &got);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) ? got != NULL : (got == NULL && r.code == CS_E_NOMEM));
        json_decref(got);
        struct cs_jwt_key *k2 = NULL;
        cs_mem_set_fail_after(n);
        r = cs_jwt_key_generate(&k2);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) ? k2 != NULL : (k2 == NULL && r.code == CS_E_NOMEM));
        cs_jwt_key_free(k2);
    }
    json_decref(claims);
    cs_free(jwt);
    cs_jwt_key_free(k);
    free(rsa_jwe);
    json_decref(priv);
    json_decref(pub);
    json_decref(ec_priv);
    json_decref(ec_pub);
}

CS_TEST_MAIN(CS_TEST(test_tee_key_accepts_kbs_forms), CS_TEST(test_tee_key_refuses_algs_and_types),
             CS_TEST(test_tee_key_refuses_bad_points), CS_TEST(test_tee_key_refuses_bad_rsa),
             CS_TEST(test_thumbprint_rfc7638), CS_TEST(test_jwe_round_trips),
             CS_TEST(test_jwe_large_plaintext), CS_TEST(test_jwe_damage_fails),
             CS_TEST(test_jwe_wrong_key_kinds), CS_TEST(test_jwe_epk_in_recipient_header),
             CS_TEST(test_keypair_kinds), CS_TEST(test_jwt_sign_verify),
             CS_TEST(test_jwt_attacks_fail), CS_TEST(test_jwt_times), CS_TEST(test_jwt_headers),
             CS_TEST(test_shared_keys_threads), CS_TEST(test_jwt_key_file_rules),
             CS_TEST(test_allocation_failures), CS_TEST(test_release_keys))
