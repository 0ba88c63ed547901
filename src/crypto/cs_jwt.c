/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation-result tokens: compact JWS (RFC 7515 section 7.1) with ES256 (RFC 7518
 * section 3.4: ECDSA P-256 SHA-256, signature R || S, 32 bytes each), claims per RFC
 * 7519, the signing key's JWKS (RFC 7517 section 5) and its RFC 7638 kid.
 *
 * The private key stays in an OpenSSL EVP_PKEY, loaded once: libjose's JWS would need it
 * as a JWK (its "d" in a jansson string that is never wiped) and would rebuild and
 * re-check the EC key on every signature, which costs it about five times the signature.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_buf.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_jose_internal.h"
#include "crypto/cs_ossl.h"

#define JWT_KEY_FILE_MAX (16u * 1024u)
#define ES256_COORD_LEN 32
#define ES256_SIG_LEN 64
#define ES256_SIG_B64_LEN 86          /* CS_B64URL_LEN(64) */
#define JWT_HEADER_MAX 1024           /* bytes of a decoded JOSE header we read */
#define JWT_HEADER_B64_MAX 128        /* our own header, encoded */
/* O_NOFOLLOW: a symbolic link is refused; O_NONBLOCK: a FIFO cannot stall the open (it is
 * then refused as not a regular file); regular files ignore it */
#define KEY_OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

struct cs_jwt_key {
    EVP_PKEY *key;  /* P-256 private key; only read after construction */
    EVP_MD *sha256; /* fetched once: a fetch per signature takes a lock and a lookup */
    json_t *jwk;    /* public JWK: kty, crv, x, y */
    char kid[CS_JWK_THUMBPRINT_B64_LEN];
    char header_b64[JWT_HEADER_B64_MAX]; /* BASE64URL({"alg":"ES256","typ":"JWT","kid":…}) */
    size_t header_b64_len;
};

static void jwt_key_freep(struct cs_jwt_key **p)
{
    cs_jwt_key_free(*p);
    *p = NULL;
}

void cs_jwt_key_free(struct cs_jwt_key *k)
{
    if (k != NULL) {
        EVP_PKEY_free(k->key);
        EVP_MD_free(k->sha256);
        json_decref(k->jwk);
        cs_free(k);
    }
}

const char *cs_jwt_key_kid(const struct cs_jwt_key *k)
{
    return k != NULL ? k->kid : NULL;
}

static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}

static cs_res coord_b64(EVP_PKEY *key, const char *name, char out[CS_B64URL_LEN(32) + 1])
{
    CS_AUTO(bn_freep) BIGNUM *bn = NULL;
    CS_OSSL_ENSURE(EVP_PKEY_get_bn_param(key, name, &bn) == 1, CS_E_CRYPTO);
    uint8_t raw[ES256_COORD_LEN];
    CS_OSSL_ENSURE(BN_bn2binpad(bn, raw, sizeof raw) == (int)sizeof raw, CS_E_CRYPTO);
    return cs_b64url_encode(raw, sizeof raw, out, CS_B64URL_LEN(32) + 1, NULL);
}

/* Takes key (a P-256 private key) into a new cs_jwt_key: public JWK, kid, header. */
static cs_res key_from_pkey(EVP_PKEY **key, struct cs_jwt_key **out)
{
    CS_AUTO(jwt_key_freep) struct cs_jwt_key *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    k->key = CS_MOVE(*key);
    k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    CS_OSSL_ENSURE(k->sha256 != NULL, CS_E_CRYPTO);
    char x[CS_B64URL_LEN(32) + 1];
    char y[CS_B64URL_LEN(32) + 1];
    CS_TRY(coord_b64(k->key, OSSL_PKEY_PARAM_EC_PUB_X, x));
    CS_TRY(coord_b64(k->key, OSSL_PKEY_PARAM_EC_PUB_Y, y));
    k->jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y);
    CS_ENSURE(k->jwk != NULL, CS_E_NOMEM);
    uint8_t thumbprint[CS_JWK_THUMBPRINT_LEN];
    CS_TRY(cs_jose_thumbprint(k->jwk, thumbprint, k->kid));
    char header[JWT_HEADER_B64_MAX];
    int n = snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                     k->kid);
    CS_ENSURE(n > 0 && (size_t)n < sizeof header, CS_E_INTERNAL);
    CS_TRY(cs_b64url_encode((const uint8_t *)header, (size_t)n, k->header_b64,
                            sizeof k->header_b64, &k->header_b64_len));
    *out = CS_MOVE(k);
    return CS_SUCCESS;
}

static cs_res check_p256(EVP_PKEY *key)
{
    CS_ENSURE(EVP_PKEY_is_a(key, "EC"), CS_E_UNSUPPORTED);
    char group[32];
    size_t len = 0;
    CS_OSSL_ENSURE(EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1, CS_E_UNSUPPORTED);
    CS_ENSURE(strcmp(group, SN_X9_62_prime256v1) == 0, CS_E_UNSUPPORTED);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    /* private scalar in range, public point valid, and the two belong together */
    CS_OSSL_ENSURE(EVP_PKEY_check(ctx) == 1, CS_E_FORMAT);
    return CS_SUCCESS;
}

CS_RESULT cs_jwt_key_generate(struct cs_jwt_key **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CS_OSSL_ENSURE(key != NULL, CS_E_CRYPTO);
    return key_from_pkey(&key, out);
}

/* ---- the key file ---- */

static void bio_freep(BIO **p)
{
    BIO_free(*p);
}

static void fd_closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* No passphrase: never prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static cs_res load_pem(const uint8_t *pem, size_t len, EVP_PKEY **out)
{
    CS_ENSURE(len <= JWT_KEY_FILE_MAX, CS_E_TOO_LARGE);
    CS_AUTO(bio_freep) BIO *bio = BIO_new_mem_buf(pem, (int)len);
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    *out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    CS_OSSL_ENSURE(*out != NULL, CS_E_FORMAT);
    return CS_SUCCESS;
}

static cs_res load_fd(int fd, const char *path, struct custos_diag *diag, struct cs_jwt_key **out)
{
    struct stat st;
    CS_ENSURE_WHY(fstat(fd, &st) == 0, CS_E_IO, diag, "%.128s: cannot stat", path);
    CS_ENSURE_WHY(S_ISREG(st.st_mode), CS_E_ARG, diag, "%.128s: not a regular file", path);
    CS_ENSURE_WHY(st.st_uid == geteuid(), CS_E_ARG, diag,
                  "%.128s: owned by uid %u, not by this process (uid %u)", path,
                  (unsigned)st.st_uid, (unsigned)geteuid());
    unsigned mode = (unsigned)st.st_mode & 07777u;
    CS_ENSURE_WHY(mode == 0600u || mode == 0400u, CS_E_ARG, diag,
                  "%.128s: mode %04o; a private key file must be 0600 or 0400", path, mode);
    CS_ENSURE_WHY(st.st_size <= (off_t)JWT_KEY_FILE_MAX, CS_E_TOO_LARGE, diag,
                  "%.128s: larger than %u bytes", path, JWT_KEY_FILE_MAX);
    struct cs_blob pem = { 0 };
    cs_res r = cs_fd_read(fd, JWT_KEY_FILE_MAX, &pem);
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    if (cs_ok(r)) {
        r = load_pem(pem.p, pem.len, &key);
    }
    cs_wipe(pem.p, pem.len);
    cs_blob_clear(&pem);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%.128s: not a PEM private key without passphrase",
                  path);
    r = check_p256(key);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%.128s: not a valid P-256 (ES256) key", path);
    return key_from_pkey(&key, out);
}


static cs_res write_new_key(int fd, EVP_PKEY *key, const char *path)
{
    /* secure-memory BIO: its buffer is cleared when freed */
    CS_AUTO(bio_freep) BIO *bio = BIO_new(BIO_s_secmem());
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1,
                   CS_E_CRYPTO);
    char *pem = NULL;
    long len = BIO_get_mem_data(bio, &pem);
    CS_ENSURE(len > 0 && pem != NULL, CS_E_CRYPTO);
    CS_ENSURE(fchmod(fd, 0600) == 0, CS_E_IO); /* whatever the umask made of it */
    CS_TRY(cs_fd_write_all(fd, pem, (size_t)len));
    CS_ENSURE(fsync(fd) == 0, CS_E_IO);
    return cs_fsync_parent(path);
}

static cs_res create_key(const char *path, struct custos_diag *diag, struct cs_jwt_key **out,
                         bool *is_raced)
{
    *is_raced = false;
    CS_AUTO(fd_closep) int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0 && errno == EEXIST) {
        *is_raced = true; /* made meanwhile by someone else: load it like any other */
        CS_FAIL(CS_E_IO);
    }
    CS_ENSURE_WHY(fd >= 0, CS_E_IO, diag, "%.128s: cannot create: %s", path, strerror(errno));
    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cs_res r = key != NULL ? write_new_key(fd, key, path) : (cs_res){ .code = CS_E_CRYPTO };
    if (!cs_ok(r)) {
        cs_ossl_clear();
        (void)unlink(path); /* never leave a partial key behind */
        CS_ENSURE_WHY(false, r.code, diag, "%.128s: cannot write the new key", path);
    }
    return key_from_pkey(&key, out);
}

CS_RESULT cs_jwt_key_load_why(const char *path, bool create, struct custos_diag *diag,
                              struct cs_jwt_key **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(path != NULL && path[0] != '\0', CS_E_ARG);
    CS_AUTO(fd_closep) int fd = open(path, KEY_OPEN_FLAGS);
    if (fd < 0 && errno == ENOENT && create) {
        bool is_raced = false;
        cs_res r = create_key(path, diag, out, &is_raced);
        if (!is_raced) {
            return r;
        }
        fd = open(path, KEY_OPEN_FLAGS);
    }
    CS_ENSURE_WHY(fd >= 0 || errno != ELOOP, CS_E_ARG, diag, "%.128s: is a symbolic link", path);
    CS_ENSURE_WHY(fd >= 0, CS_E_IO, diag, "%.128s: %s", path, strerror(errno));
    return load_fd(fd, path, diag, out);
}

CS_RESULT cs_jwt_key_load(const char *path, bool create, struct cs_jwt_key **out)
{
    return cs_jwt_key_load_why(path, create, NULL, out);
}

CS_RESULT cs_jwt_key_jwks(const struct cs_jwt_key *k, json_t **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(k != NULL, CS_E_ARG);
    *out = json_pack("{s:[{s:s,s:s,s:O,s:O,s:s,s:s,s:s}]}", "keys", "kty", "EC", "crv", "P-256",
                     "x", json_object_get(k->jwk, "x"), "y", json_object_get(k->jwk, "y"), "kid",
                     k->kid, "alg", "ES256", "use", "sig");
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

/* ---- signing ---- */

static void ecdsa_sig_freep(ECDSA_SIG **p)
{
    ECDSA_SIG_free(*p);
}

/* ES256 over data: SHA-256, ECDSA, then DER (r, s) to the fixed-width R || S of JWS. */
static cs_res es256_sign(const struct cs_jwt_key *k, const char *data, size_t len,
                         uint8_t sig[ES256_SIG_LEN])
{
    uint8_t digest[CS_SHA256_LEN];
    unsigned int digest_len = 0;
    CS_OSSL_ENSURE(EVP_Digest(data, len, digest, &digest_len, k->sha256, NULL) == 1 &&
                       digest_len == sizeof digest,
                   CS_E_CRYPTO);
    CS_AUTO(cs_jose_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL);
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_PKEY_sign_init(ctx) == 1, CS_E_CRYPTO);
    uint8_t der[80]; /* at most 72 for P-256 */
    size_t der_len = sizeof der;
    CS_OSSL_ENSURE(EVP_PKEY_sign(ctx, der, &der_len, digest, sizeof digest) == 1, CS_E_CRYPTO);
    const unsigned char *p = der;
    CS_AUTO(ecdsa_sig_freep) ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    CS_OSSL_ENSURE(s != NULL, CS_E_CRYPTO);
    const BIGNUM *r = NULL;
    const BIGNUM *ss = NULL;
    ECDSA_SIG_get0(s, &r, &ss);
    CS_OSSL_ENSURE(BN_bn2binpad(r, sig, ES256_COORD_LEN) == ES256_COORD_LEN &&
                       BN_bn2binpad(ss, sig + ES256_COORD_LEN, ES256_COORD_LEN) ==
                           ES256_COORD_LEN,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

struct dump {
    struct cs_buf buf;
    cs_code err; /* why the last append failed */
};

static int dump_to_buf(const char *p, size_t n, void *data)
{
    struct dump *d = data;
    cs_res r = cs_buf_append(&d->buf, p, n);
    d->err = r.code;
    return cs_ok(r) ? 0 : -1;
}

static void dump_clearp(struct dump *d)
{
    cs_buf_clear(&d->buf);
}

CS_RESULT cs_jwt_sign(const struct cs_jwt_key *k, const json_t *claims, char **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(k != NULL && json_is_object(claims), CS_E_ARG);
    CS_AUTO(dump_clearp) struct dump d = { .err = CS_OK };
    cs_buf_init(&d.buf, CS_JWT_MAX);
    /* compact, members in the object's own order */
    if (json_dump_callback(claims, dump_to_buf, &d, JSON_COMPACT) != 0) {
        CS_FAIL(d.err != CS_OK ? d.err : CS_E_FORMAT); /* ours, or jansson's refusal */
    }
    const struct cs_buf payload = d.buf;
    size_t payload_b64_len = CS_B64URL_LEN(payload.len);
    size_t signed_len = k->header_b64_len + 1 + payload_b64_len;
    size_t total = signed_len + 1 + ES256_SIG_B64_LEN;
    CS_ENSURE(payload.len < CS_JWT_MAX && total <= CS_JWT_MAX, CS_E_TOO_LARGE);
    CS_AUTO(cs_freep) char *jwt = NULL;
    CS_TRY(cs_alloc(total + 1, 1, (void **)&jwt));
    memcpy(jwt, k->header_b64, k->header_b64_len);
    jwt[k->header_b64_len] = '.';
    CS_TRY(cs_b64url_encode(payload.p, payload.len, jwt + k->header_b64_len + 1,
                            total + 1 - k->header_b64_len - 1, NULL));
    jwt[signed_len] = '.';
    uint8_t sig[ES256_SIG_LEN];
    CS_TRY(es256_sign(k, jwt, signed_len, sig));
    CS_TRY(cs_b64url_encode(sig, sizeof sig, jwt + signed_len + 1, total + 1 - signed_len - 1,
                            NULL));
    *out = CS_MOVE(jwt);
    return CS_SUCCESS;
}

/* ---- verification ---- */

/* The JOSE header (RFC 7515 section 4): alg ES256, our kid, typ JWT; nothing else. */
static cs_res check_header(const struct cs_jwt_key *k, const char *b64, size_t len)
{
    static const char *const names[] = { "alg", "kid", "typ", NULL };
    uint8_t raw[JWT_HEADER_MAX];
    size_t raw_len = 0;
    cs_res r = cs_b64url_decode(b64, len, raw, sizeof raw, &raw_len);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT);
    CS_TRY(r);
    CS_AUTO_JSON *hdr = NULL;
    CS_TRY(cs_json_load(cs_cur_of(raw, raw_len), sizeof raw, &hdr));
    /* RFC 7515 section 4.1.11: crit lists extensions that must be understood; we know none */
    CS_ENSURE(json_object_get(hdr, "crit") == NULL, CS_E_UNSUPPORTED);
    const char *alg = NULL;
    size_t n = 0;
    r = cs_jose_str(hdr, "alg", 16, &alg, &n);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_UNSUPPORTED);
    CS_TRY(r);
    /* RFC 8725 section 3.1: the algorithm is ours to choose, never the token's */
    CS_ENSURE(strcmp(alg, "ES256") == 0, CS_E_UNSUPPORTED);
    CS_ENSURE(cs_jose_only_members(hdr, names), CS_E_FORMAT);
    if (json_object_get(hdr, "typ") != NULL) {
        const char *typ = json_string_value(json_object_get(hdr, "typ"));
        CS_ENSURE(typ != NULL && strcmp(typ, "JWT") == 0, CS_E_FORMAT);
    }
    const char *kid = NULL;
    r = cs_jose_str(hdr, "kid", CS_JOSE_KID_MAX, &kid, &n);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_SIGNATURE);
    CS_TRY(r);
    CS_ENSURE(strcmp(kid, k->kid) == 0, CS_E_SIGNATURE); /* made with another key */
    return CS_SUCCESS;
}

/* An optional NumericDate claim (RFC 7519 section 2); integers only. */
static cs_res get_time(const json_t *claims, const char *name, bool is_required, bool *has,
                       int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    *has = v != NULL;
    if (v == NULL) {
        CS_ENSURE(!is_required, CS_E_FORMAT);
        return CS_SUCCESS;
    }
    CS_ENSURE(json_is_integer(v), CS_E_FORMAT);
    *out = (int64_t)json_integer_value(v);
    return CS_SUCCESS;
}

/* RFC 7519 sections 4.1.4 to 4.1.6, with CS_JWT_LEEWAY seconds for clock skew. */
static cs_res check_times(const json_t *claims, int64_t now)
{
    int64_t exp = 0;
    int64_t nbf = 0;
    int64_t iat = 0;
    bool has = false;
    CS_ENSURE(now > INT64_MIN + CS_JWT_LEEWAY && now < INT64_MAX - CS_JWT_LEEWAY, CS_E_ARG);
    CS_TRY(get_time(claims, "exp", true, &has, &exp));
    CS_ENSURE(now - CS_JWT_LEEWAY <= exp, CS_E_EXPIRED);
    CS_TRY(get_time(claims, "nbf", false, &has, &nbf));
    CS_ENSURE(!has || nbf <= now + CS_JWT_LEEWAY, CS_E_EXPIRED);
    CS_TRY(get_time(claims, "iat", false, &has, &iat));
    CS_ENSURE(!has || iat <= now + CS_JWT_LEEWAY, CS_E_EXPIRED);
    return CS_SUCCESS;
}

CS_RESULT cs_jwt_verify(const struct cs_jwt_key *k, const char *jwt, size_t len, int64_t now,
                        json_t **claims)
{
    CS_ENSURE(claims != NULL, CS_E_ARG);
    *claims = NULL;
    CS_ENSURE(k != NULL && (jwt != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_JWT_MAX, CS_E_TOO_LARGE);
    /* RFC 7515 section 7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(sig) */
    const char *dot1 = len > 0 ? memchr(jwt, '.', len) : NULL;
    CS_ENSURE(dot1 != NULL, CS_E_FORMAT);
    size_t header_len = (size_t)(dot1 - jwt);
    size_t rest = len - header_len - 1;
    const char *payload = dot1 + 1;
    const char *dot2 = rest > 0 ? memchr(payload, '.', rest) : NULL;
    CS_ENSURE(dot2 != NULL, CS_E_FORMAT);
    size_t payload_len = (size_t)(dot2 - payload);
    const char *sig_b64 = dot2 + 1;
    size_t sig_len = rest - payload_len - 1;
    CS_ENSURE(memchr(sig_b64, '.', sig_len) == NULL, CS_E_FORMAT);

    CS_TRY(check_header(k, jwt, header_len));
    uint8_t sig[ES256_SIG_LEN];
    size_t got = 0;
    cs_res r = cs_b64url_decode(sig_b64, sig_len, sig, sizeof sig, &got);
    CS_ENSURE(r.code != CS_E_TOO_LARGE, CS_E_FORMAT);
    CS_TRY(r);
    CS_ENSURE(got == sizeof sig, CS_E_FORMAT);
    /* the signature covers the bytes received, never a re-serialisation */
    size_t signed_len = header_len + 1 + payload_len;
    CS_TRY(cs_ecdsa_verify_rs(k->key, k->sha256, sig, sizeof sig,
                              cs_cur_of((const uint8_t *)jwt, signed_len)));

    size_t raw_len = 0;
    CS_TRY(cs_b64url_check(payload, payload_len, &raw_len));
    CS_AUTO(cs_freep) uint8_t *raw = NULL;
    CS_TRY(cs_alloc(raw_len + 1, 1, (void **)&raw));
    CS_TRY(cs_b64url_decode(payload, payload_len, raw, raw_len, &raw_len));
    CS_AUTO_JSON *obj = NULL;
    CS_TRY(cs_json_load(cs_cur_of(raw, raw_len), CS_JWT_MAX, &obj));
    CS_TRY(check_times(obj, now));
    *claims = CS_MOVE(obj);
    return CS_SUCCESS;
}
