/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The development key provider: a 32-byte KEK in a file the effective user alone can
 * read, kept in OpenSSL's secure heap while open, wrapping with AES-256-WRAP-PAD
 * (RFC 5649). Production keys belong in a PKCS#11 token; this provider exists so that a
 * developer can run the broker without one, and it is strict about the file so that it
 * cannot quietly become the production setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_hex.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "crypto/cs_keyprov.h"
#include "crypto/cs_ossl.h"

#define KEK_ID_PREFIX "custos/kek-id/v1" /* followed by one 0x00 byte in the hash input */
#define PATH_MAX_LEN 4096

struct file_kp {
    uint8_t *kek; /* CS_KEYPROV_FILE_KEY_LEN bytes in the secure heap */
};

static void cipher_ctx_freep(EVP_CIPHER_CTX **p)
{
    EVP_CIPHER_CTX_free(*p);
}

static void closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

static void file_kp_destroy(void *ctx)
{
    struct file_kp *k = ctx;
    if (k == NULL) {
        return;
    }
    OPENSSL_secure_clear_free(k->kek, CS_KEYPROV_FILE_KEY_LEN);
    cs_free(k);
}

static void file_kp_freep(struct file_kp **p)
{
    file_kp_destroy(*p);
    *p = NULL;
}

/* A cipher context keyed with the KEK for RFC 5649 wrap (enc) or unwrap (!enc). */
static cs_res kwp_ctx(const struct file_kp *k, bool is_enc, EVP_CIPHER_CTX **out)
{
    *out = NULL;
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    /* OpenSSL refuses wrap modes unless the caller says it knows what they are */
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    CS_OSSL_ENSURE(EVP_CipherInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, k->kek, NULL,
                                     is_enc ? 1 : 0) == 1,
                   CS_E_CRYPTO);
    *out = CS_MOVE(ctx);
    return CS_SUCCESS;
}

static cs_res file_kp_wrap(void *ctx, const uint8_t *dek, size_t len, uint8_t *out, size_t cap,
                           size_t *outlen)
{
    CS_ENSURE(outlen != NULL, CS_E_ARG);
    *outlen = 0;
    CS_ENSURE(ctx != NULL && dek != NULL && out != NULL, CS_E_ARG);
    CS_ENSURE(len >= 1 && len <= CS_KEYPROV_DEK_MAX, CS_E_ARG);
    size_t want = (len + 7) / 8 * 8 + 8; /* RFC 5649 section 4.1: padded to 64 bits, + AIV */
    CS_ENSURE(cap >= want, CS_E_ARG);
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *c = NULL;
    CS_TRY(kwp_ctx(ctx, true, &c));
    int n = 0;
    int fin = 0;
    CS_OSSL_ENSURE(EVP_EncryptUpdate(c, out, &n, dek, (int)len) == 1 && (size_t)n == want,
                   CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_EncryptFinal_ex(c, out + n, &fin) == 1 && fin == 0, CS_E_CRYPTO);
    *outlen = want;
    return CS_SUCCESS;
}

static void wrapped_wipe(uint8_t (*p)[CS_KEYPROV_WRAPPED_MAX])
{
    cs_wipe(*p, sizeof *p);
}

static cs_res file_kp_unwrap(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                             size_t *outlen)
{
    CS_ENSURE(outlen != NULL, CS_E_ARG);
    *outlen = 0;
    CS_ENSURE(ctx != NULL && in != NULL && out != NULL, CS_E_ARG);
    CS_ENSURE(len <= CS_KEYPROV_WRAPPED_MAX, CS_E_TOO_LARGE);
    /* RFC 5649 section 4.2: n >= 2 semiblocks of 64 bits */
    CS_ENSURE(len >= 16 && len % 8 == 0, CS_E_FORMAT);
    CS_AUTO(wrapped_wipe) uint8_t scratch[CS_KEYPROV_WRAPPED_MAX];
    CS_AUTO(cipher_ctx_freep) EVP_CIPHER_CTX *c = NULL;
    CS_TRY(kwp_ctx(ctx, false, &c));
    int n = 0;
    int fin = 0;
    /* 0 here is the RFC 5649 integrity check failing: other KEK or damaged bytes */
    CS_OSSL_ENSURE(EVP_DecryptUpdate(c, scratch, &n, in, (int)len) == 1, CS_E_SIGNATURE);
    CS_OSSL_ENSURE(n >= 1 && (size_t)n <= len - 8, CS_E_CRYPTO);
    CS_OSSL_ENSURE(EVP_DecryptFinal_ex(c, scratch + n, &fin) == 1 && fin == 0, CS_E_SIGNATURE);
    CS_ENSURE((size_t)n <= cap, CS_E_ARG);
    memcpy(out, scratch, (size_t)n);
    *outlen = (size_t)n;
    return CS_SUCCESS;
}

static const struct cs_keyprov_ops file_ops = {
    .name = "file",
    .wrap = file_kp_wrap,
    .unwrap = file_kp_unwrap,
    .destroy = file_kp_destroy,
};

static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}

/* The public name of a KEK: a domain-separated hash, so it says nothing else about the key. */
static cs_res kek_id(const uint8_t *kek, uint8_t id[CS_KEYPROV_ID_LEN])
{
    static const uint8_t prefix[] = KEK_ID_PREFIX; /* includes the terminating 0x00 */
    uint8_t h[32];
    unsigned int h_len = 0;
    CS_AUTO(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    CS_OSSL_ENSURE(md != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                       EVP_DigestUpdate(md, prefix, sizeof prefix) == 1 &&
                       EVP_DigestUpdate(md, kek, CS_KEYPROV_FILE_KEY_LEN) == 1 &&
                       EVP_DigestFinal_ex(md, h, &h_len) == 1 && h_len == sizeof h,
                   CS_E_CRYPTO);
    memcpy(id, h, CS_KEYPROV_ID_LEN);
    return CS_SUCCESS;
}

static void key_wipe(uint8_t (*p)[CS_KEYPROV_FILE_KEY_LEN])
{
    cs_wipe(*p, sizeof *p);
}


static cs_res fill_new_key_file(int fd, const char *path)
{
    CS_AUTO(key_wipe) uint8_t key[CS_KEYPROV_FILE_KEY_LEN];
    /* the umask may only remove bits from 0600; set it exactly, whatever the umask was */
    CS_ENSURE(fchmod(fd, 0600) == 0, CS_E_IO);
    CS_OSSL_ENSURE(RAND_priv_bytes(key, sizeof key) == 1, CS_E_CRYPTO);
    CS_TRY(cs_fd_write_all(fd, key, sizeof key));
    CS_ENSURE(fsync(fd) == 0, CS_E_IO);
    CS_TRY(cs_fsync_parent(path));
    return CS_SUCCESS;
}

static cs_res create_key_file(const char *path, struct custos_diag *diag)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    CS_ENSURE_WHY(fd >= 0 || errno != EEXIST, CS_E_CONFLICT, diag,
                  "key file already exists; refusing to overwrite it");
    CS_ENSURE_WHY(fd >= 0, CS_E_IO, diag, "cannot create key file: %s", strerror(errno));
    cs_res r = fill_new_key_file(fd, path);
    close(fd);
    if (!cs_ok(r)) {
        unlink(path); /* a half-written key file must not be found by the next open */
        cs_diag_set(diag, r.code, "cannot write key file");
    }
    return r;
}

/* Reads exactly CS_KEYPROV_FILE_KEY_LEN bytes, then insists on end of file. */
static cs_res read_key(int fd, uint8_t *kek, struct custos_diag *diag)
{
    size_t got = 0;
    while (got < CS_KEYPROV_FILE_KEY_LEN) {
        ssize_t n = read(fd, kek + got, CS_KEYPROV_FILE_KEY_LEN - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        CS_ENSURE_WHY(n >= 0, CS_E_IO, diag, "cannot read key file: %s", strerror(errno));
        CS_ENSURE_WHY(n > 0, CS_E_FORMAT, diag, "key file is shorter than %d bytes",
                      CS_KEYPROV_FILE_KEY_LEN);
        got += (size_t)n;
    }
    uint8_t extra = 0;
    ssize_t n = read(fd, &extra, 1);
    CS_ENSURE_WHY(n == 0, CS_E_FORMAT, diag, "key file is longer than %d bytes",
                  CS_KEYPROV_FILE_KEY_LEN);
    return CS_SUCCESS;
}

static cs_res check_file(int fd, struct custos_diag *diag)
{
    struct stat st;
    CS_ENSURE_WHY(fstat(fd, &st) == 0, CS_E_IO, diag, "cannot stat key file: %s",
                  strerror(errno));
    CS_ENSURE_WHY(S_ISREG(st.st_mode), CS_E_UNSUPPORTED, diag, "key file is not a regular file");
    CS_ENSURE_WHY(st.st_uid == geteuid(), CS_E_UNSUPPORTED, diag,
                  "key file is owned by uid %u, not by the effective uid %u",
                  (unsigned)st.st_uid, (unsigned)geteuid());
    unsigned mode = (unsigned)(st.st_mode & 07777);
    CS_ENSURE_WHY(mode == 0600 || mode == 0400, CS_E_UNSUPPORTED, diag,
                  "key file has mode %04o; only 0600 or 0400 are accepted", mode);
    CS_ENSURE_WHY(st.st_size == CS_KEYPROV_FILE_KEY_LEN, CS_E_FORMAT, diag,
                  "key file has %lld bytes; a key file holds exactly %d", (long long)st.st_size,
                  CS_KEYPROV_FILE_KEY_LEN);
    return CS_SUCCESS;
}

CS_RESULT cs_keyprov_file_open(const char *path, bool create, struct cs_keyprov **out,
                               struct custos_diag *diag)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(path != NULL && path[0] != '\0' && strnlen(path, PATH_MAX_LEN) < PATH_MAX_LEN,
              CS_E_ARG);
    if (create) {
        CS_TRY(create_key_file(path, diag));
    }
    /* O_NOFOLLOW: a symbolic link as the last component fails with ELOOP; O_NONBLOCK: a FIFO
     * planted at the path cannot block the open */
    CS_AUTO(closep) int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        CS_ENSURE_WHY(e != ELOOP, CS_E_UNSUPPORTED, diag,
                      "key file is a symbolic link; give the real path");
        CS_ENSURE_WHY(e != ENOENT, CS_E_NOT_FOUND, diag, "key file does not exist");
        cs_diag_set(diag, CS_E_IO, "cannot open key file: %s", strerror(e));
        CS_FAIL(CS_E_IO);
    }
    CS_TRY(check_file(fd, diag));

    CS_AUTO(file_kp_freep) struct file_kp *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    k->kek = OPENSSL_secure_zalloc(CS_KEYPROV_FILE_KEY_LEN);
    CS_ENSURE(k->kek != NULL, CS_E_NOMEM);
    CS_TRY(read_key(fd, k->kek, diag));

    struct cs_keyprov *kp = NULL;
    CS_TRY(cs_alloc(1, sizeof *kp, (void **)&kp));
    CS_AUTO(cs_keyprov_freep) struct cs_keyprov *owned = kp;
    CS_TRY(kek_id(k->kek, owned->id));
    CS_TRY(cs_hex_encode(owned->id, sizeof owned->id, owned->id_hex, sizeof owned->id_hex));
    owned->ops = &file_ops;
    owned->ctx = CS_MOVE(k);
    *out = CS_MOVE(owned);
    return CS_SUCCESS;
}
