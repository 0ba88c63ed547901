/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keys and envelopes: AES-256-GCM helpers, the development key-file provider (what it
 * refuses and how it creates), and the envelope format (round trip, every bit flip, every
 * truncation, other AAD, other KEK, and the byte layout of docs/storage.md rebuilt here
 * with plain EVP calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_mem.h"
#include "crypto/cs_aead.h"
#include "crypto/cs_envelope.h"
#include "crypto/cs_keyprov.h"
#include "cs_test.h"
#include "store/broker_store.h"

/* ---- a scratch directory per test ---- */

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
    static char p[4][512]; /* a few at once: symlink(tmp_path(a), tmp_path(b)) */
    static unsigned k;
    char *out = p[k++ % 4];
    snprintf(out, sizeof p[0], "%s/%s", tmp_dir, name);
    return out;
}

static void tmp_begin(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/cs-envelope-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static void tmp_end(void)
{
    static const char *const names[] = { "kek", "kek2", "link", "short", "long", "open",
                                         "ro", "dir", "other" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = tmp_path(names[i]);
        if (unlink(p) != 0 && errno == EISDIR) {
            rmdir(p);
        }
        rmdir(p);
    }
    rmdir(tmp_dir);
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n || fchmod(fd, mode) != 0) {
        perror(path);
        abort();
    }
    close(fd);
}

static struct cs_keyprov *new_kek(const char *name)
{
    struct cs_keyprov *kp = NULL;
    EXPECT_OK(cs_keyprov_file_open(tmp_path(name), true, &kp, NULL));
    if (kp == NULL) {
        abort();
    }
    return kp;
}

/* ---- AES-256-GCM ---- */

static void test_aead_round_trip_and_fail_closed(void)
{
    uint8_t key[CS_AEAD_KEY_LEN];
    uint8_t key2[CS_AEAD_KEY_LEN];
    EXPECT_OK(cs_aead_random_key(key, sizeof key));
    EXPECT_OK(cs_aead_random_key(key2, sizeof key2));
    static const uint8_t msg[] = "attack at dawn, bring the keys";
    const struct cs_cur aad[2] = { cs_cur_of((const uint8_t *)"head", 4),
                                   cs_cur_of((const uint8_t *)"tail", 4) };
    uint8_t sealed[sizeof msg + CS_AEAD_OVERHEAD];
    size_t n = 0;
    EXPECT_ERR(cs_aead_seal(key, aad, 2, cs_cur_of(msg, sizeof msg), sealed, sizeof sealed - 1,
                            &n),
               CS_E_ARG);
    EXPECT_OK(cs_aead_seal(key, aad, 2, cs_cur_of(msg, sizeof msg), sealed, sizeof sealed, &n));
    EXPECT_EQ(n, sizeof sealed);
    uint8_t out[sizeof msg];
    size_t m = 0;
    EXPECT_OK(cs_aead_open(key, aad, 2, cs_cur_of(sealed, n), out, sizeof out, &m));
    EXPECT_EQ(m, sizeof msg);
    EXPECT_MEM_EQ(out, msg, sizeof msg);

    /* AAD parts are concatenated: the same bytes split differently open too */
    const struct cs_cur joined = cs_cur_of((const uint8_t *)"headtail", 8);
    EXPECT_OK(cs_aead_open(key, &joined, 1, cs_cur_of(sealed, n), out, sizeof out, &m));

    /* each failure leaves the caller's buffer as it was */
    uint8_t guard[sizeof msg];
    memset(guard, 0xA5, sizeof guard);
    memcpy(out, guard, sizeof out);
    EXPECT_ERR(cs_aead_open(key2, aad, 2, cs_cur_of(sealed, n), out, sizeof out, &m),
               CS_E_SIGNATURE);
    EXPECT_EQ(m, 0);
    EXPECT_ERR(cs_aead_open(key, aad, 1, cs_cur_of(sealed, n), out, sizeof out, &m),
               CS_E_SIGNATURE);
    for (size_t i = 0; i < n; i++) {
        sealed[i] ^= 0x01;
        EXPECT_ERR(cs_aead_open(key, aad, 2, cs_cur_of(sealed, n), out, sizeof out, &m),
                   CS_E_SIGNATURE);
        sealed[i] ^= 0x01;
    }
    EXPECT_MEM_EQ(out, guard, sizeof out);
    EXPECT_ERR(cs_aead_open(key, aad, 2, cs_cur_of(sealed, CS_AEAD_OVERHEAD - 1), out,
                            sizeof out, &m),
               CS_E_TRUNCATED);
    EXPECT_ERR(cs_aead_open(key, aad, 2, cs_cur_of(sealed, n), out, sizeof out - 1, &m),
               CS_E_ARG);

    /* empty plaintext and no AAD */
    uint8_t empty_sealed[CS_AEAD_OVERHEAD];
    EXPECT_OK(cs_aead_seal(key, NULL, 0, cs_cur_of(NULL, 0), empty_sealed, sizeof empty_sealed,
                           &n));
    EXPECT_EQ(n, CS_AEAD_OVERHEAD);
    EXPECT_OK(cs_aead_open(key, NULL, 0, cs_cur_of(empty_sealed, n), out, 0, &m));
    EXPECT_EQ(m, 0);
    /* two seals of one message differ (fresh nonce each time) */
    uint8_t again[sizeof empty_sealed];
    EXPECT_OK(cs_aead_seal(key, NULL, 0, cs_cur_of(NULL, 0), again, sizeof again, &n));
    EXPECT_TRUE(memcmp(again, empty_sealed, CS_AEAD_NONCE_LEN) != 0);
    struct cs_cur many[CS_AEAD_AAD_PARTS_MAX + 1];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        many[i] = cs_cur_of(NULL, 0);
    }
    EXPECT_ERR(cs_aead_seal(key, many, CS_AEAD_AAD_PARTS_MAX + 1, cs_cur_of(NULL, 0), again,
                            sizeof again, &n),
               CS_E_ARG);
    cs_wipe(key, sizeof key);
    cs_wipe(key2, sizeof key2);
}

/* ---- the key file provider ---- */

static void test_keyprov_file_create(void)
{
    tmp_begin();
    mode_t old = umask(022);
    struct cs_keyprov *kp = NULL;
    struct custos_diag diag = { 0 };
    EXPECT_OK(cs_keyprov_file_open(tmp_path("kek"), true, &kp, &diag));
    umask(old);
    struct stat st;
    EXPECT_TRUE(lstat(tmp_path("kek"), &st) == 0);
    EXPECT_EQ(st.st_mode & 07777, 0600);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, CS_KEYPROV_FILE_KEY_LEN);
    EXPECT_TRUE(kp != NULL && strlen(kp->id_hex) == 2 * CS_KEYPROV_ID_LEN);
    EXPECT_STR_EQ(kp->ops->name, "file");

    /* creating again refuses to overwrite; opening gives the same KEK (same id) */
    struct cs_keyprov *again = NULL;
    EXPECT_ERR(cs_keyprov_file_open(tmp_path("kek"), true, &again, &diag), CS_E_CONFLICT);
    EXPECT_TRUE(again == NULL && strstr(diag.msg, "exists") != NULL);
    EXPECT_OK(cs_keyprov_file_open(tmp_path("kek"), false, &again, NULL));
    EXPECT_TRUE(again != NULL && memcmp(again->id, kp->id, CS_KEYPROV_ID_LEN) == 0);

    /* a second key has another id */
    struct cs_keyprov *other = new_kek("kek2");
    EXPECT_TRUE(memcmp(other->id, kp->id, CS_KEYPROV_ID_LEN) != 0);

    /* the id is the documented hash: SHA-256("custos/kek-id/v1" || 0x00 || KEK)[0..8) */
    uint8_t kek[CS_KEYPROV_FILE_KEY_LEN];
    int fd = open(tmp_path("kek"), O_RDONLY);
    EXPECT_TRUE(fd >= 0 && read(fd, kek, sizeof kek) == (ssize_t)sizeof kek);
    close(fd);
    uint8_t in[17 + CS_KEYPROV_FILE_KEY_LEN];
    memcpy(in, "custos/kek-id/v1", 17);
    memcpy(in + 17, kek, sizeof kek);
    uint8_t h[32];
    EXPECT_TRUE(EVP_Digest(in, sizeof in, h, NULL, EVP_sha256(), NULL) == 1);
    EXPECT_MEM_EQ(h, kp->id, CS_KEYPROV_ID_LEN);
    cs_wipe(kek, sizeof kek);
    cs_wipe(in, sizeof in);

    cs_keyprov_free(kp);
    cs_keyprov_free(again);
    cs_keyprov_free(other);
    cs_keyprov_free(NULL);
    tmp_end();
}

static void expect_refused(const char *name, cs_code want, const char *why)
{
    struct cs_keyprov *kp = (struct cs_keyprov *)&kp; /* not NULL: the open must reset it */
    struct custos_diag diag = { 0 };
    EXPECT_ERR(cs_keyprov_file_open(tmp_path(name), false, &kp, &diag), want);
    EXPECT_TRUE(kp == NULL);
    if (strstr(diag.msg, why) == NULL) {
        fprintf(stderr, "  %s: diag \"%s\" lacks \"%s\"\n", name, diag.msg, why);
        cs_test_failures++;
    }
}

static void test_keyprov_file_refuses(void)
{
    tmp_begin();
    uint8_t key[CS_KEYPROV_FILE_KEY_LEN + 1];
    memset(key, 0x42, sizeof key);

    write_file(tmp_path("open"), key, CS_KEYPROV_FILE_KEY_LEN, 0644);
    expect_refused("open", CS_E_UNSUPPORTED, "mode 0644");
    EXPECT_TRUE(chmod(tmp_path("open"), 0640) == 0);
    expect_refused("open", CS_E_UNSUPPORTED, "mode 0640");
    EXPECT_TRUE(chmod(tmp_path("open"), 0700) == 0);
    expect_refused("open", CS_E_UNSUPPORTED, "mode 0700");

    write_file(tmp_path("ro"), key, CS_KEYPROV_FILE_KEY_LEN, 0400);
    struct cs_keyprov *kp = NULL;
    EXPECT_OK(cs_keyprov_file_open(tmp_path("ro"), false, &kp, NULL)); /* 0400 is fine */
    EXPECT_TRUE(symlink(tmp_path("ro"), tmp_path("link")) == 0);
    expect_refused("link", CS_E_UNSUPPORTED, "symbolic link");

    write_file(tmp_path("short"), key, CS_KEYPROV_FILE_KEY_LEN - 1, 0600);
    expect_refused("short", CS_E_FORMAT, "31 bytes");
    write_file(tmp_path("long"), key, CS_KEYPROV_FILE_KEY_LEN + 1, 0600);
    expect_refused("long", CS_E_FORMAT, "33 bytes");
    EXPECT_TRUE(mkdir(tmp_path("dir"), 0700) == 0);
    expect_refused("dir", CS_E_UNSUPPORTED, "not a regular file");
    expect_refused("missing", CS_E_NOT_FOUND, "does not exist");

    /* owned by someone else: only root can make such a file */
    if (geteuid() == 0) {
        write_file(tmp_path("other"), key, CS_KEYPROV_FILE_KEY_LEN, 0600);
        EXPECT_TRUE(chown(tmp_path("other"), 65534, 65534) == 0);
        expect_refused("other", CS_E_UNSUPPORTED, "owned by uid 65534");
    } else {
        printf("  (owner check not exercised: not running as root)\n");
    }
    struct cs_keyprov *none = NULL;
    EXPECT_ERR(cs_keyprov_file_open("", false, &none, NULL), CS_E_ARG);
    EXPECT_ERR(cs_keyprov_file_open(NULL, false, &none, NULL), CS_E_ARG);
    EXPECT_ERR(cs_keyprov_file_open(tmp_path("x"), false, NULL, NULL), CS_E_ARG);
    /* create in a missing directory */
    struct custos_diag diag = { 0 };
    EXPECT_ERR(cs_keyprov_file_open("/nonexistent-dir-cs/kek", true, &none, &diag), CS_E_IO);
    cs_keyprov_free(kp);
    tmp_end();
}

static void test_keyprov_wrap(void)
{
    tmp_begin();
    struct cs_keyprov *a = new_kek("kek");
    struct cs_keyprov *b = new_kek("kek2");
    uint8_t dek[32];
    memset(dek, 0x5c, sizeof dek);
    uint8_t w[CS_KEYPROV_WRAPPED_MAX];
    size_t w_len = 0;
    EXPECT_ERR(cs_keyprov_wrap(a, dek, sizeof dek, w, 39, &w_len), CS_E_ARG);
    EXPECT_OK(cs_keyprov_wrap(a, dek, sizeof dek, w, sizeof w, &w_len));
    EXPECT_EQ(w_len, 40); /* RFC 5649: 32 bytes + 8-byte AIV block */
    /* deterministic: the same DEK wraps to the same bytes */
    uint8_t w2[CS_KEYPROV_WRAPPED_MAX];
    size_t w2_len = 0;
    EXPECT_OK(cs_keyprov_wrap(a, dek, sizeof dek, w2, sizeof w2, &w2_len));
    EXPECT_TRUE(w2_len == w_len && memcmp(w, w2, w_len) == 0);

    uint8_t out[CS_KEYPROV_DEK_MAX];
    size_t n = 0;
    EXPECT_OK(cs_keyprov_unwrap(a, w, w_len, out, sizeof out, &n));
    EXPECT_EQ(n, sizeof dek);
    EXPECT_MEM_EQ(out, dek, sizeof dek);
    memset(out, 0xEE, sizeof out);
    EXPECT_ERR(cs_keyprov_unwrap(b, w, w_len, out, sizeof out, &n), CS_E_SIGNATURE);
    EXPECT_EQ(n, 0);
    for (size_t i = 0; i < w_len * 8; i++) {
        w[i / 8] ^= (uint8_t)(1u << (i % 8));
        EXPECT_ERR(cs_keyprov_unwrap(a, w, w_len, out, sizeof out, &n), CS_E_SIGNATURE);
        w[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < sizeof out; i++) {
        EXPECT_EQ(out[i], 0xEE); /* nothing written on failure */
    }
    EXPECT_ERR(cs_keyprov_unwrap(a, w, w_len - 1, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_keyprov_unwrap(a, w, 8, out, sizeof out, &n), CS_E_FORMAT);
    EXPECT_ERR(cs_keyprov_unwrap(a, w, CS_KEYPROV_WRAPPED_MAX + 8, out, sizeof out, &n),
               CS_E_TOO_LARGE);
    EXPECT_ERR(cs_keyprov_unwrap(a, w, w_len, out, 31, &n), CS_E_ARG);
    EXPECT_ERR(cs_keyprov_wrap(a, dek, 0, w, sizeof w, &w_len), CS_E_ARG);
    EXPECT_ERR(cs_keyprov_wrap(a, dek, CS_KEYPROV_DEK_MAX + 1, w, sizeof w, &w_len), CS_E_ARG);
    /* odd sizes pad (RFC 5649 is for any length) */
    EXPECT_OK(cs_keyprov_wrap(a, dek, 5, w, sizeof w, &w_len));
    EXPECT_EQ(w_len, 16);
    EXPECT_OK(cs_keyprov_unwrap(a, w, w_len, out, sizeof out, &n));
    EXPECT_EQ(n, 5);
    cs_keyprov_free(a);
    cs_keyprov_free(b);
    tmp_end();
}

/* ---- envelopes ---- */

static const uint8_t secret[] = "correct horse battery staple: the database password";
static const uint8_t aad[] = "custos/resource/v1\0default/key/db\0\0\0\0\0\0\0\0\x01";

static void test_envelope_round_trip(void)
{
    tmp_begin();
    struct cs_keyprov *kp = new_kek("kek");
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &blob, &blob_len));
    EXPECT_EQ(blob_len, CS_ENVELOPE_FIXED_LEN + 40 + CS_AEAD_OVERHEAD + sizeof secret);
    uint8_t *pt = NULL;
    size_t len = 0;
    EXPECT_OK(cs_envelope_open(kp, aad, sizeof aad, blob, blob_len, &pt, &len));
    EXPECT_EQ(len, sizeof secret);
    EXPECT_TRUE(pt != NULL && memcmp(pt, secret, sizeof secret) == 0 && pt[len] == 0);
    cs_free_wipe(pt, len);

    /* two seals of one secret share nothing but the header's first 9 bytes */
    uint8_t *blob2 = NULL;
    size_t blob2_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &blob2, &blob2_len));
    EXPECT_TRUE(blob2_len == blob_len && memcmp(blob, blob2, 9) == 0 &&
                memcmp(blob + 11, blob2 + 11, 40) != 0);
    cs_free(blob2);

    /* empty secret, empty AAD */
    EXPECT_OK(cs_envelope_seal(kp, NULL, 0, NULL, 0, &blob2, &blob2_len));
    EXPECT_OK(cs_envelope_open(kp, NULL, 0, blob2, blob2_len, &pt, &len));
    EXPECT_TRUE(len == 0 && pt != NULL);
    cs_free_wipe(pt, len);
    cs_free(blob2);

    /* the largest secret seals into a blob the store accepts */
    uint8_t *big = NULL;
    EXPECT_OK(cs_alloc(CS_ENVELOPE_PT_MAX + 1, 1, (void **)&big));
    EXPECT_ERR(cs_envelope_seal(kp, aad, sizeof aad, big, CS_ENVELOPE_PT_MAX + 1, &blob2,
                                &blob2_len),
               CS_E_TOO_LARGE);
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, big, CS_ENVELOPE_PT_MAX, &blob2, &blob2_len));
    EXPECT_TRUE(blob2_len <= CS_BSTORE_BLOB_MAX);
    EXPECT_OK(cs_envelope_open(kp, aad, sizeof aad, blob2, blob2_len, &pt, &len));
    EXPECT_EQ(len, CS_ENVELOPE_PT_MAX);
    cs_free_wipe(pt, len);
    cs_free(blob2);
    cs_free(big);
    EXPECT_TRUE(CS_ENVELOPE_MAX <= CS_BSTORE_BLOB_MAX);
    cs_free(blob);
    cs_keyprov_free(kp);
    tmp_end();
}

/* Every failure: code as given (or any failure when want is CS_OK), and nothing released. */
static void expect_open_fails(const struct cs_keyprov *kp, const uint8_t *a, size_t a_len,
                              const uint8_t *blob, size_t blob_len, cs_code want, size_t where)
{
    uint8_t *pt = (uint8_t *)&pt;
    size_t len = 99;
    cs_res r = cs_envelope_open(kp, a, a_len, blob, blob_len, &pt, &len);
    if (r.code == CS_OK || (want != CS_OK && r.code != want) || pt != NULL || len != 0) {
        fprintf(stderr, "  open at %zu: got %s (want %s)\n", where, custos_code_name(r.code),
                want == CS_OK ? "any failure" : custos_code_name(want));
        cs_test_failures++;
        if (r.code == CS_OK) {
            cs_free_wipe(pt, len);
        }
    }
}

static void test_envelope_damage(void)
{
    tmp_begin();
    struct cs_keyprov *kp = new_kek("kek");
    struct cs_keyprov *other = new_kek("kek2");
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &blob, &blob_len));

    /* every single-bit flip, with the code each region gives */
    size_t head = CS_ENVELOPE_FIXED_LEN + 40;
    for (size_t bit = 0; bit < blob_len * 8; bit++) {
        size_t i = bit / 8;
        blob[i] ^= (uint8_t)(1u << (bit % 8));
        cs_code want = i == 0                 ? CS_E_UNSUPPORTED
                       : i < 9                ? CS_E_NOT_FOUND
                       : i < 11               ? CS_OK /* length: format, truncated or signature */
                       : i < head             ? CS_E_SIGNATURE /* wrapped DEK */
                                              : CS_E_SIGNATURE; /* nonce, ciphertext, tag */
        expect_open_fails(kp, aad, sizeof aad, blob, blob_len, want, bit);
        blob[i] ^= (uint8_t)(1u << (bit % 8));
    }
    /* every truncation, on exact-size copies so that ASan sees any over-read */
    for (size_t n = 0; n < blob_len; n++) {
        uint8_t *cut = tv_dup(blob, n);
        expect_open_fails(kp, aad, sizeof aad, cut, n, CS_OK, n);
        free(cut);
    }
    /* one trailing byte moves the tag: the tag check fails */
    uint8_t *longer = NULL;
    EXPECT_OK(cs_alloc(blob_len + 1, 1, (void **)&longer));
    memcpy(longer, blob, blob_len);
    expect_open_fails(kp, aad, sizeof aad, longer, blob_len + 1, CS_E_SIGNATURE, blob_len);
    cs_free(longer);

    /* other AAD: one byte off, shorter, longer, none */
    uint8_t a2[sizeof aad];
    memcpy(a2, aad, sizeof aad);
    a2[sizeof aad - 1] ^= 0x03; /* version 1 -> 2 */
    expect_open_fails(kp, a2, sizeof a2, blob, blob_len, CS_E_SIGNATURE, 0);
    expect_open_fails(kp, aad, sizeof aad - 1, blob, blob_len, CS_E_SIGNATURE, 0);
    expect_open_fails(kp, NULL, 0, blob, blob_len, CS_E_SIGNATURE, 0);

    /* other KEK: named by the id, and refused; with the id forged, the unwrap fails */
    expect_open_fails(other, aad, sizeof aad, blob, blob_len, CS_E_NOT_FOUND, 0);
    memcpy(blob + 1, other->id, CS_KEYPROV_ID_LEN);
    expect_open_fails(other, aad, sizeof aad, blob, blob_len, CS_E_SIGNATURE, 0);
    memcpy(blob + 1, kp->id, CS_KEYPROV_ID_LEN);
    uint8_t *pt = NULL;
    size_t len = 0;
    EXPECT_OK(cs_envelope_open(kp, aad, sizeof aad, blob, blob_len, &pt, &len));
    cs_free_wipe(pt, len);

    /* lengths: a wrapped DEK of 0 bytes, and one over the ceiling */
    blob[9] = 0;
    blob[10] = 0;
    expect_open_fails(kp, aad, sizeof aad, blob, blob_len, CS_E_FORMAT, 9);
    blob[9] = 0xff;
    blob[10] = 0xff;
    expect_open_fails(kp, aad, sizeof aad, blob, blob_len, CS_E_FORMAT, 9);
    EXPECT_ERR(cs_envelope_open(kp, aad, sizeof aad, blob, CS_ENVELOPE_MAX + 1, &pt, &len),
               CS_E_TOO_LARGE);
    EXPECT_ERR(cs_envelope_open(kp, aad, CS_ENVELOPE_AAD_MAX + 1, blob, blob_len, &pt, &len),
               CS_E_TOO_LARGE);
    EXPECT_ERR(cs_envelope_open(NULL, aad, sizeof aad, blob, blob_len, &pt, &len), CS_E_ARG);
    cs_free(blob);
    cs_keyprov_free(kp);
    cs_keyprov_free(other);
    tmp_end();
}

/*
 * The layout of docs/storage.md, rebuilt with plain EVP calls: unwrap the DEK with the
 * provider, then AES-256-GCM-decrypt with AAD = header || caller AAD.
 */
static void test_envelope_layout(void)
{
    tmp_begin();
    struct cs_keyprov *kp = new_kek("kek");
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &blob, &blob_len));
    EXPECT_EQ(blob[0], 0x01);
    EXPECT_MEM_EQ(blob + 1, kp->id, CS_KEYPROV_ID_LEN);
    size_t w_len = (size_t)blob[9] << 8 | blob[10];
    EXPECT_EQ(w_len, 40);
    uint8_t dek[CS_KEYPROV_DEK_MAX];
    size_t dek_len = 0;
    EXPECT_OK(cs_keyprov_unwrap(kp, blob + 11, w_len, dek, sizeof dek, &dek_len));
    EXPECT_EQ(dek_len, 32);
    const uint8_t *nonce = blob + 11 + w_len;
    const uint8_t *ct = nonce + 12;
    size_t ct_len = blob_len - 11 - w_len - 12 - 16;
    const uint8_t *tag = ct + ct_len;
    EXPECT_EQ(ct_len, sizeof secret);

    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t pt[sizeof secret];
    int n = 0;
    int fin = 0;
    uint8_t tag_copy[16];
    memcpy(tag_copy, tag, 16);
    EXPECT_TRUE(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, dek, nonce) == 1);
    EXPECT_TRUE(EVP_DecryptUpdate(c, NULL, &n, blob, (int)(11 + w_len)) == 1);
    EXPECT_TRUE(EVP_DecryptUpdate(c, NULL, &n, aad, (int)sizeof aad) == 1);
    EXPECT_TRUE(EVP_DecryptUpdate(c, pt, &n, ct, (int)ct_len) == 1);
    EXPECT_TRUE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag_copy) == 1);
    EXPECT_TRUE(EVP_DecryptFinal_ex(c, pt + n, &fin) == 1);
    EXPECT_MEM_EQ(pt, secret, sizeof secret);
    EVP_CIPHER_CTX_free(c);
    cs_wipe(dek, sizeof dek);
    cs_wipe(pt, sizeof pt);
    cs_free(blob);
    cs_keyprov_free(kp);
    tmp_end();
}

/* Every allocation failing in turn: a clean CS_E_NOMEM, nothing leaked (valgrind/ASan). */
static void test_envelope_out_of_memory(void)
{
    tmp_begin();
    struct cs_keyprov *kp = new_kek("kek");
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    EXPECT_OK(cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &blob, &blob_len));
    size_t failures = 0;
    for (long k = 0; k < 16; k++) {
        uint8_t *b2 = NULL;
        size_t b2_len = 0;
        uint8_t *pt = NULL;
        size_t len = 0;
        cs_mem_set_fail_after(k);
        cs_res r1 = cs_envelope_seal(kp, aad, sizeof aad, secret, sizeof secret, &b2, &b2_len);
        cs_mem_set_fail_after(k);
        cs_res r2 = cs_envelope_open(kp, aad, sizeof aad, blob, blob_len, &pt, &len);
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r1) || (r1.code == CS_E_NOMEM && b2 == NULL));
        EXPECT_TRUE(cs_ok(r2) || (r2.code == CS_E_NOMEM && pt == NULL));
        failures += !cs_ok(r1) + !cs_ok(r2);
        cs_free(b2);
        cs_free_wipe(pt, len);
    }
    EXPECT_TRUE(failures >= 2); /* each of seal and open allocates at least once */
    cs_free(blob);
    cs_keyprov_free(kp);
    tmp_end();
}

CS_TEST_MAIN(CS_TEST(test_aead_round_trip_and_fail_closed), CS_TEST(test_keyprov_file_create),
             CS_TEST(test_keyprov_file_refuses), CS_TEST(test_keyprov_wrap),
             CS_TEST(test_envelope_round_trip), CS_TEST(test_envelope_damage),
             CS_TEST(test_envelope_layout), CS_TEST(test_envelope_out_of_memory))
