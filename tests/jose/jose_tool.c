/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of the jwcrypto interop test (tests/jose/interop.py): each command runs one
 * cs_jose operation on files and prints the result on stdout. On failure it prints
 * "error: <code name>" on stderr and exits 1; usage errors exit 2.
 *
 *   jose_tool keygen KIND PRIVATE_OUT PUBLIC_OUT   (KIND: EC-P256 EC-P384 EC-P521 RSA-3072)
 *   jose_tool encrypt PUBLIC_JWK PLAINTEXT [KID]   -> flattened JWE
 *   jose_tool decrypt PRIVATE_JWK JWE              -> plaintext bytes
 *   jose_tool thumbprint PUBLIC_JWK                -> RFC 7638 thumbprint, base64url
 *   jose_tool jwt-sign KEY_PEM CLAIMS              -> compact JWT (the key is made if absent)
 *   jose_tool jwks KEY_PEM                         -> JWKS
 *   jose_tool jwt-verify KEY_PEM JWT NOW           -> the claims
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_jose.h"

static int fail(cs_res r)
{
    fprintf(stderr, "error: %s (%s:%u)\n", custos_code_name(r.code), r.file ? r.file : "?",
            r.line);
    return 1;
}

static cs_res read_file(const char *path, struct cs_blob *out)
{
    return cs_file_read(path, CS_JWE_MAX, out);
}

static cs_res read_json(const char *path, json_t **out)
{
    struct cs_blob b = { 0 };
    CS_TRY(read_file(path, &b));
    cs_res r = cs_json_load(cs_cur_of(b.p, b.len), CS_JWE_MAX, out);
    cs_blob_clear(&b);
    return r;
}

static cs_res write_json(const char *path, const json_t *j)
{
    CS_ENSURE(json_dump_file(j, path, JSON_COMPACT) == 0, CS_E_IO);
    return CS_SUCCESS;
}

static int cmd_keygen(char **argv)
{
    json_t *priv = NULL;
    json_t *pub = NULL;
    cs_res r = cs_tee_keypair_generate(argv[0], &priv, &pub);
    if (cs_ok(r)) {
        r = write_json(argv[1], priv);
    }
    if (cs_ok(r)) {
        r = write_json(argv[2], pub);
    }
    json_decref(priv);
    json_decref(pub);
    return cs_ok(r) ? 0 : fail(r);
}

static cs_res encrypt(char **argv, int argc)
{
    CS_AUTO_JSON *jwk = NULL;
    CS_TRY(read_json(argv[0], &jwk));
    struct cs_tee_key *k = NULL;
    CS_TRY(cs_tee_key_parse(jwk, &k));
    struct cs_blob pt = { 0 };
    cs_res r = read_file(argv[1], &pt);
    json_t *extra = argc > 2 ? json_pack("{s:s}", "kid", argv[2]) : NULL;
    char *jwe = NULL;
    if (cs_ok(r)) {
        r = cs_jwe_encrypt(k, extra, pt.p, pt.len, &jwe);
    }
    if (cs_ok(r)) {
        printf("%s\n", jwe);
    }
    cs_free(jwe);
    json_decref(extra);
    cs_blob_clear(&pt);
    cs_tee_key_free(k);
    return r;
}

static cs_res decrypt(char **argv)
{
    CS_AUTO_JSON *jwk = NULL;
    CS_TRY(read_json(argv[0], &jwk));
    struct cs_blob jwe = { 0 };
    CS_TRY(read_file(argv[1], &jwe));
    size_t len = jwe.len;
    while (len > 0 && (jwe.p[len - 1] == '\n' || jwe.p[len - 1] == '\r')) {
        len--;
    }
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    cs_res r = cs_jwe_decrypt(jwk, (const char *)jwe.p, len, &pt, &pt_len);
    cs_blob_clear(&jwe);
    CS_TRY(r);
    fwrite(pt, 1, pt_len, stdout);
    cs_free_wipe(pt, pt_len);
    return CS_SUCCESS;
}

static cs_res thumbprint(char **argv)
{
    CS_AUTO_JSON *jwk = NULL;
    CS_TRY(read_json(argv[0], &jwk));
    struct cs_tee_key *k = NULL;
    CS_TRY(cs_tee_key_parse(jwk, &k));
    char b64[CS_JWK_THUMBPRINT_B64_LEN];
    cs_res r = cs_tee_key_thumbprint(k, NULL, b64);
    if (cs_ok(r)) {
        printf("%s\n", b64);
    }
    cs_tee_key_free(k);
    return r;
}

static cs_res jwt_sign(char **argv)
{
    struct custos_diag diag = { 0 };
    struct cs_jwt_key *k = NULL;
    cs_res r = cs_jwt_key_load_why(argv[0], true, &diag, &k);
    if (!cs_ok(r)) {
        fprintf(stderr, "%s\n", diag.msg);
        return r;
    }
    json_t *claims = NULL;
    r = read_json(argv[1], &claims);
    char *jwt = NULL;
    if (cs_ok(r)) {
        r = cs_jwt_sign(k, claims, &jwt);
    }
    if (cs_ok(r)) {
        printf("%s\n", jwt);
    }
    cs_free(jwt);
    json_decref(claims);
    cs_jwt_key_free(k);
    return r;
}

static cs_res jwks(char **argv)
{
    struct cs_jwt_key *k = NULL;
    CS_TRY(cs_jwt_key_load(argv[0], false, &k));
    json_t *set = NULL;
    cs_res r = cs_jwt_key_jwks(k, &set);
    if (cs_ok(r)) {
        json_dumpf(set, stdout, JSON_COMPACT);
        printf("\n");
    }
    json_decref(set);
    cs_jwt_key_free(k);
    return r;
}

static cs_res jwt_verify(char **argv)
{
    struct cs_jwt_key *k = NULL;
    CS_TRY(cs_jwt_key_load(argv[0], false, &k));
    struct cs_blob jwt = { 0 };
    cs_res r = read_file(argv[1], &jwt);
    size_t len = jwt.len;
    while (len > 0 && (jwt.p[len - 1] == '\n' || jwt.p[len - 1] == '\r')) {
        len--;
    }
    char *end = NULL;
    int64_t now = strtoll(argv[2], &end, 10);
    json_t *claims = NULL;
    if (cs_ok(r)) {
        r = end != argv[2] && *end == '\0'
                ? cs_jwt_verify(k, (const char *)jwt.p, len, now, &claims)
                : (cs_res){ .code = CS_E_ARG };
    }
    if (cs_ok(r)) {
        json_dumpf(claims, stdout, JSON_COMPACT);
        printf("\n");
    }
    json_decref(claims);
    cs_blob_clear(&jwt);
    cs_jwt_key_free(k);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: see the head of tests/jose/jose_tool.c\n");
        return 2;
    }
    const char *cmd = argv[1];
    char **args = argv + 2;
    int n = argc - 2;
    cs_res r = CS_SUCCESS;
    if (strcmp(cmd, "keygen") == 0 && n == 3) {
        return cmd_keygen(args);
    } else if (strcmp(cmd, "encrypt") == 0 && (n == 2 || n == 3)) {
        r = encrypt(args, n);
    } else if (strcmp(cmd, "decrypt") == 0 && n == 2) {
        r = decrypt(args);
    } else if (strcmp(cmd, "thumbprint") == 0 && n == 1) {
        r = thumbprint(args);
    } else if (strcmp(cmd, "jwt-sign") == 0 && n == 2) {
        r = jwt_sign(args);
    } else if (strcmp(cmd, "jwks") == 0 && n == 1) {
        r = jwks(args);
    } else if (strcmp(cmd, "jwt-verify") == 0 && n == 3) {
        r = jwt_verify(args);
    } else {
        fprintf(stderr, "usage: see the head of tests/jose/jose_tool.c\n");
        return 2;
    }
    return cs_ok(r) ? 0 : fail(r);
}
