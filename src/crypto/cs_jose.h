/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JOSE for the broker: the TEE key of the KBS protocol (v0.4.0 `tee-pubkey`, a public
 * JWK), secrets released to it as a flattened JWE (RFC 7516 section 7.2.2), and the ES256
 * attestation-result tokens (RFC 7519) with their JWKS.
 *
 * Who does what. libjose: ECDH-ES+A256KW key agreement and CEK wrapping (RFC 7518
 * section 4.6), JWK generation, RFC 7638 thumbprints, base64url. OpenSSL: RSA-OAEP-256
 * (RFC 7518 section 4.3), which Debian's libjose built against OpenSSL 3 does not offer;
 * the A256GCM content encryption, which libjose does one byte at a time (about 5 MB/s);
 * and ES256, on an EVP_PKEY loaded once, so that the token key never leaves OpenSSL
 * (libjose would need it as a JWK, a JSON string on the plain heap, converted and
 * re-checked on every signature).
 *
 * Formats and limits: docs/formats-jose.md. This header includes neither OpenSSL nor
 * libjose, so any layer may use it.
 */
#ifndef CS_CRYPTO_JOSE_H
#define CS_CRYPTO_JOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_TEE_JWK_MAX (16u * 1024u)    /* bytes of a tee-pubkey JSON text */
#define CS_JWE_PLAINTEXT_MAX (1u << 20) /* bytes of a released secret */
#define CS_JWE_MAX (CS_JWE_PLAINTEXT_MAX / 3u * 4u + 64u * 1024u) /* bytes of a JWE text */
#define CS_JWE_PROTECTED_MAX 4096u      /* bytes of a JWE protected header (JSON) */
#define CS_JWT_MAX (64u * 1024u)        /* bytes of a compact JWT */
#define CS_JWT_LEEWAY 60                /* seconds allowed on exp, nbf and iat */
#define CS_JWK_THUMBPRINT_LEN 32        /* SHA-256 */
#define CS_JWK_THUMBPRINT_B64_LEN 44    /* 43 base64url characters and a NUL */

#define CS_JWE_ALG_ECDH_ES "ECDH-ES+A256KW"
#define CS_JWE_ALG_RSA_OAEP "RSA-OAEP-256"
#define CS_JWE_ENC "A256GCM"

/* ---- the TEE key ---- */

/* A parsed, validated public JWK: heap object, cs_tee_key_free. Immutable once parsed. */
struct cs_tee_key;

/*
 * Parses and validates a KBS tee-pubkey JWK (only read). Accepted forms:
 *   {"kty":"EC","crv":"P-256"|"P-384"|"P-521","alg":"ECDH-ES+A256KW","x":…,"y":…}
 *   {"kty":"RSA","alg":"RSA-OAEP-256","n":…,"e":…}
 * "alg" may be absent (EC: ECDH-ES+A256KW; RSA: RSA-OAEP-256); "kid" (a string) and
 * "use" ("enc") are allowed and ignored. Base64url must be canonical and unpadded. EC
 * coordinates must have exactly the curve's length and the point must be on the curve;
 * RSA moduli must be 2048..8192 bits without a leading zero octet, and e odd, > 1, at
 * most 64 bits.
 * Errors: CS_E_UNSUPPORTED for a refused alg (RSA1_5, RSA-OAEP, ECDH-ES, anything else),
 * an unknown kty or crv; CS_E_FORMAT for anything malformed: a missing or mistyped
 * member, any other member (private ones such as d, p, q, dp, dq, qi, oth, k included),
 * a bad point or modulus; CS_E_TOO_LARGE when a member is longer than any accepted key
 * could make it. Ownership: on CS_OK *out is the caller's; NULL otherwise.
 */
CS_RESULT cs_tee_key_parse(const json_t *jwk, struct cs_tee_key **out);
void cs_tee_key_free(struct cs_tee_key *k);

/* CS_JWE_ALG_ECDH_ES or CS_JWE_ALG_RSA_OAEP (static storage). */
const char *cs_tee_key_alg(const struct cs_tee_key *k);

/*
 * The RFC 7638 SHA-256 thumbprint of the key (computed at parse time), and its
 * base64url form (43 characters and a NUL). Either output may be NULL.
 */
CS_RESULT cs_tee_key_thumbprint(const struct cs_tee_key *k, uint8_t out[CS_JWK_THUMBPRINT_LEN],
                                char b64[CS_JWK_THUMBPRINT_B64_LEN]);

/*
 * Proof of possession (docs/state.md): verifies a JWS-style raw R || S ECDSA signature by
 * the TEE key over msg — ES256 for P-256, ES384 for P-384, ES512 for P-521 (the hash goes
 * with the curve). RSA TEE keys cannot sign here: CS_E_UNSUPPORTED. CS_E_SIGNATURE when the
 * signature does not verify or has the wrong length.
 */
CS_RESULT cs_tee_key_verify(const struct cs_tee_key *k, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len);

/*
 * Encrypts pt (len <= CS_JWE_PLAINTEXT_MAX) to k as a flattened JWE JSON text
 *   {"protected":…,"encrypted_key":…,"iv":…,"ciphertext":…,"tag":…}
 * with enc A256GCM and AAD = ASCII(BASE64URL(UTF8(protected header))). The protected
 * header holds alg, enc and, for ECDH-ES+A256KW, epk (no apu/apv), plus the members of
 * extra_protected (may be NULL; e.g. "kid"), which may not name alg, enc, epk, zip,
 * crit, apu or apv (CS_E_ARG); the header is at most CS_JWE_PROTECTED_MAX bytes. A fresh
 * CEK and IV every call. Thread-safe, also on a key shared by threads. Ownership: on
 * CS_OK *out is a NUL-terminated string the caller frees with cs_free; NULL otherwise.
 * CS_E_TOO_LARGE for a plaintext over the limit.
 */
CS_RESULT cs_jwe_encrypt(const struct cs_tee_key *k, const json_t *extra_protected,
                         const uint8_t *pt, size_t len, char **out);

/*
 * Decrypts a flattened JWE JSON text (jwe_len <= CS_JWE_MAX) with a private JWK (as made
 * by cs_tee_keypair_generate). Only alg ECDH-ES+A256KW or RSA-OAEP-256 with enc A256GCM
 * in the protected header are accepted (else CS_E_UNSUPPORTED, also for zip and crit);
 * the members allowed are protected, encrypted_key, iv, ciphertext, tag and a
 * per-recipient "header" that may carry only epk and kid (where jwcrypto puts epk). The
 * alg must suit the key (CS_E_ARG otherwise).
 * Errors: CS_E_FORMAT for a malformed JWE; CS_E_SIGNATURE when the key does not unwrap
 * the CEK or the tag does not verify (one code for both, so the two cannot be told
 * apart). Ownership: on CS_OK *pt is cs_alloc'd (at least one byte, even for an empty
 * plaintext) and the caller wipes and frees it (cs_free_wipe(*pt, *len)); NULL
 * otherwise. No partial plaintext is ever returned.
 */
CS_RESULT cs_jwe_decrypt(const json_t *private_jwk, const char *jwe, size_t jwe_len, uint8_t **pt,
                         size_t *len);

/*
 * Makes a fresh TEE key pair, as an agent does: kind "EC-P256", "EC-P384", "EC-P521" or
 * "RSA-3072" (CS_E_ARG otherwise). *public_jwk is in the tee-pubkey form above (with
 * alg); *private_jwk is the same plus the private members. Both are the caller's on
 * CS_OK, NULL otherwise. The private JWK is a jansson object: its strings are not wiped
 * when freed, so keep it short-lived.
 */
CS_RESULT cs_tee_keypair_generate(const char *kind, json_t **private_jwk, json_t **public_jwk);

/* ---- attestation-result tokens (JWT, ES256) ---- */

/* An ES256 signing key: heap object, cs_jwt_key_free. Immutable; threads may share it. */
struct cs_jwt_key;

/*
 * Loads a P-256 private key from a PEM file (PKCS#8 or SEC1 "EC PRIVATE KEY", no
 * passphrase, at most 16 KiB). The file must be a regular file (symbolic links are not
 * followed) owned by the effective user with mode 0600 or 0400; anything else is refused
 * with CS_E_ARG and, in diag, the reason. When the file is absent and create is true, a
 * new key is generated and written there as PKCS#8 PEM (mode 0600, O_EXCL, fsync of the
 * file and of its directory). Errors: CS_E_IO (missing and !create, unreadable,
 * unwritable), CS_E_FORMAT (not a PEM private key), CS_E_UNSUPPORTED (not P-256).
 * Ownership: on CS_OK *out is the caller's; NULL otherwise. diag may be NULL.
 */
CS_RESULT cs_jwt_key_load_why(const char *path, bool create, struct custos_diag *diag,
                              struct cs_jwt_key **out);
/* cs_jwt_key_load_why without the reason. */
CS_RESULT cs_jwt_key_load(const char *path, bool create, struct cs_jwt_key **out);

/* A fresh key in memory only (tests, benchmarks). */
CS_RESULT cs_jwt_key_generate(struct cs_jwt_key **out);
void cs_jwt_key_free(struct cs_jwt_key *k);

/* The key id: the RFC 7638 thumbprint of the public key, base64url (43 characters). */
const char *cs_jwt_key_kid(const struct cs_jwt_key *k);

/*
 * The public key set {"keys":[{"kty":"EC","crv":"P-256","x":…,"y":…,"kid":…,
 * "alg":"ES256","use":"sig"}]}. *out is a new reference on CS_OK, NULL otherwise.
 */
CS_RESULT cs_jwt_key_jwks(const struct cs_jwt_key *k, json_t **out);

/*
 * A compact JWS over claims (a JSON object, serialised compactly in its own member
 * order) with the protected header {"alg":"ES256","typ":"JWT","kid":…}. Does NOT add or
 * check any claim. Thread-safe on a shared key. Ownership: on CS_OK *out is a
 * NUL-terminated string the caller frees with cs_free. CS_E_TOO_LARGE when the token
 * would exceed CS_JWT_MAX.
 */
CS_RESULT cs_jwt_sign(const struct cs_jwt_key *k, const json_t *claims, char **out);

/*
 * Verifies a compact JWS of len <= CS_JWT_MAX bytes made with k: exactly three
 * base64url parts; the header may hold only alg (must be "ES256"), kid (must be k's) and
 * typ (must be "JWT"); the signature is 64 bytes r || s over the received bytes. Then
 * the claims: an object whose exp (required), nbf and iat (optional) are integers, with
 * now <= exp + CS_JWT_LEEWAY, nbf <= now + CS_JWT_LEEWAY and iat <= now + CS_JWT_LEEWAY.
 * Errors: CS_E_TOO_LARGE; CS_E_FORMAT (shape, base64url, JSON, header members, claim
 * types, missing exp); CS_E_UNSUPPORTED (alg other than ES256, "none" and HS256
 * included; crit); CS_E_SIGNATURE (another kid, or the signature does not verify);
 * CS_E_EXPIRED (expired, not yet valid, issued in the future). The claims are read only
 * after the signature verified. Ownership: on CS_OK *claims is a new reference; NULL
 * otherwise. Thread-safe on a shared key.
 */
CS_RESULT cs_jwt_verify(const struct cs_jwt_key *k, const char *jwt, size_t len, int64_t now,
                        json_t **claims);

#endif
