/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key providers: where the root key-encryption key (KEK) lives and how data keys are
 * wrapped under it. An ops table plus a context, so that a PKCS#11 token (the production
 * provider, later) and the development key file (cs_keyprov_file.c) are interchangeable.
 *
 * The KEK never leaves its provider: callers only hand it data encryption keys (DEKs) to
 * wrap or unwrap. Every provider names its KEK with an 8-byte key id, which envelopes
 * carry so that a blob says which KEK it needs (key rotation, clear errors).
 *
 * Thread safety: wrap and unwrap may be called from several threads at once; destroy only
 * when no other call is running.
 */
#ifndef CS_CRYPTO_KEYPROV_H
#define CS_CRYPTO_KEYPROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_mem.h"
#include "core/cs_result.h"

#define CS_KEYPROV_ID_LEN 8
/* Ceiling of a key handed to wrap. */
#define CS_KEYPROV_DEK_MAX 64
/* Ceiling of a wrapped key (RFC 5649 of CS_KEYPROV_DEK_MAX is 72; room for other schemes). */
#define CS_KEYPROV_WRAPPED_MAX 512
/* Size of the development key file: one AES-256 key. */
#define CS_KEYPROV_FILE_KEY_LEN 32

struct cs_keyprov_ops {
    const char *name; /* "file", "pkcs11", ... */
    /*
     * Wraps dek (1..CS_KEYPROV_DEK_MAX bytes) into out (cap bytes); *outlen = wrapped size
     * (at most CS_KEYPROV_WRAPPED_MAX). CS_E_ARG when cap is too small.
     */
    CS_RESULT (*wrap)(void *ctx, const uint8_t *dek, size_t len, uint8_t *out, size_t cap,
                      size_t *outlen);
    /*
     * Unwraps in (len bytes, at most CS_KEYPROV_WRAPPED_MAX) into out (cap bytes).
     * CS_E_SIGNATURE when the integrity check fails (other KEK, damaged bytes); on any
     * failure nothing is written to out and *outlen is 0.
     */
    CS_RESULT (*unwrap)(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t *outlen);
    /* Wipes the KEK (or drops the token session) and frees ctx. */
    void (*destroy)(void *ctx);
};

/* Heap object: made by a provider's open function, freed with cs_keyprov_free. */
struct cs_keyprov {
    const struct cs_keyprov_ops *ops;
    void *ctx;
    uint8_t id[CS_KEYPROV_ID_LEN];           /* names the KEK; public */
    char id_hex[2 * CS_KEYPROV_ID_LEN + 1]; /* the same, lower-case hex */
};

static inline CS_RESULT cs_keyprov_wrap(const struct cs_keyprov *kp, const uint8_t *dek,
                                        size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    CS_ENSURE(kp != NULL && kp->ops != NULL, CS_E_ARG);
    return kp->ops->wrap(kp->ctx, dek, len, out, cap, outlen);
}

static inline CS_RESULT cs_keyprov_unwrap(const struct cs_keyprov *kp, const uint8_t *in,
                                          size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    CS_ENSURE(kp != NULL && kp->ops != NULL, CS_E_ARG);
    return kp->ops->unwrap(kp->ctx, in, len, out, cap, outlen);
}

/* Destroys the provider (wiping its key material) and frees kp. NULL does nothing. */
static inline void cs_keyprov_free(struct cs_keyprov *kp)
{
    if (kp == NULL) {
        return;
    }
    if (kp->ops != NULL) {
        kp->ops->destroy(kp->ctx);
    }
    cs_free(kp);
}

static inline void cs_keyprov_freep(struct cs_keyprov **p)
{
    cs_keyprov_free(*p);
    *p = NULL;
}

/*
 * The development provider: the KEK is CS_KEYPROV_FILE_KEY_LEN random bytes in a file.
 *
 * Opening refuses (CS_E_UNSUPPORTED, with the reason in diag) a path that is a symbolic
 * link, not a regular file, not owned by the effective uid, or whose mode is anything but
 * 0600 or 0400; a file of any other size is CS_E_FORMAT; a missing file CS_E_NOT_FOUND;
 * other I/O failures CS_E_IO.
 * With create, the file must not exist yet (CS_E_CONFLICT otherwise): it is created with
 * O_EXCL and mode 0600, filled from the private DRBG, fsynced (file and directory), then
 * opened as above.
 *
 * The KEK lives in OpenSSL's secure heap (mlocked when the process called
 * CRYPTO_secure_malloc_init; custosd does) and is wiped by cs_keyprov_free. Its id is the
 * first 8 bytes of SHA-256("custos/kek-id/v1" || 0x00 || KEK).
 * Wrapping is AES-256 key wrap with padding (RFC 5649, "AES-256-WRAP-PAD"): deterministic,
 * no nonce to manage, and the mechanism PKCS#11 tokens offer (CKM_AES_KEY_WRAP_KWP), so a
 * token provider will produce the same wrapped form. diag may be NULL.
 * Ownership: on CS_OK *out is the caller's (cs_keyprov_free); NULL on failure.
 */
CS_RESULT cs_keyprov_file_open(const char *path, bool create, struct cs_keyprov **out,
                               struct custos_diag *diag);

#endif
