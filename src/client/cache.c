/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sealed cache envelope (docs/cache.md): parsing, payload shape, sealing under the
 * provider's cache key, the atomic write, and the ordered checks of cs_cache_open. The
 * key providers live in cache_tpm2.c and cache_broker.c.
 *
 * Order of the checks on open: the header is parsed (pure), the provider recovers the key
 * from the unauthenticated key reference (the TPM checks the integrity of its own blob),
 * the AEAD tag then authenticates every header byte and the payload, and only authentic
 * values are compared with the NV counter, the expected identity and the clock. So a
 * flipped counter byte reads as tampering (CS_E_SIGNATURE), while an authentic older file
 * reads as a replay (CS_E_CONFLICT).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cache.h"
#include "client/cache_int.h"
#include "core/cs_buf.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_aead.h"

/* magic 4, version 2, provider 1, reserved 1, counter 8, keyref length 4 */
#define CACHE_FIXED_LEN 20u
/* Ceilings inside the payload. */
#define CACHE_IDENTITY_MAX 256u
#define CACHE_NAME_MAX 256u
#define CACHE_URL_MAX 2048u
#define CACHE_CHECKPOINT_MAX (64u * 1024u)
#define CACHE_ENTRIES_MAX 4096u

/* Secret heap bytes: wiped and freed by the cleanup. */
struct secret_bytes {
    uint8_t *p;
    size_t len;
};

static void secret_bytes_clear(struct secret_bytes *s)
{
    cs_free_wipe(s->p, s->len);
    s->p = NULL;
    s->len = 0;
}

static void key_wipe(uint8_t (*k)[CS_CACHE_KEY_LEN])
{
    cs_wipe(*k, sizeof *k);
}

static void buf_clearp(struct cs_buf *b)
{
    cs_buf_clear(b);
}

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

static void fd_closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* ---- envelope ------------------------------------------------------------------------- */

CS_RESULT cs_cache_parse(struct cs_cur file, struct cs_cache_header *h)
{
    CS_ENSURE(h != NULL, CS_E_ARG);
    *h = (struct cs_cache_header){ 0 };
    CS_ENSURE(file.left <= CS_CACHE_FILE_MAX, CS_E_TOO_LARGE);
    struct cs_cur all = file;
    uint8_t magic[4];
    CS_TRY(cs_cur_copy(&file, magic, sizeof magic));
    CS_ENSURE(memcmp(magic, CS_CACHE_MAGIC, sizeof magic) == 0, CS_E_FORMAT);
    CS_TRY(cs_cur_u16le(&file, &h->version));
    CS_ENSURE(h->version == CS_CACHE_VERSION, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_u8(&file, &h->provider));
    switch (h->provider) {
    case CS_CACHE_PROVIDER_TPM2:
    case CS_CACHE_PROVIDER_BROKER:
        break;
    default:
        CS_FAIL(CS_E_FORMAT);
    }
    uint8_t reserved = 0;
    CS_TRY(cs_cur_u8(&file, &reserved));
    CS_ENSURE(reserved == 0, CS_E_FORMAT);
    CS_TRY(cs_cur_u64le(&file, &h->counter));
    uint32_t keyref_len = 0;
    CS_TRY(cs_cur_u32le(&file, &keyref_len));
    CS_ENSURE(keyref_len <= CS_CACHE_KEYREF_MAX, CS_E_TOO_LARGE);
    CS_TRY(cs_cur_view(&file, keyref_len, &h->keyref));
    uint32_t sealed_len = 0;
    CS_TRY(cs_cur_u32le(&file, &sealed_len));
    CS_ENSURE(sealed_len >= CS_AEAD_OVERHEAD, CS_E_FORMAT);
    h->aad = cs_cur_of(all.p, all.left - file.left);
    CS_TRY(cs_cur_view(&file, sealed_len, &h->sealed));
    CS_TRY(cs_cur_end(&file));
    return CS_SUCCESS;
}

/* ---- payload -------------------------------------------------------------------------- */

static CS_RESULT check_str(const json_t *v, size_t min, size_t max)
{
    CS_ENSURE(json_is_string(v), CS_E_FORMAT);
    size_t n = json_string_length(v);
    CS_ENSURE(n >= min && n <= max, CS_E_FORMAT);
    CS_ENSURE(strlen(json_string_value(v)) == n, CS_E_FORMAT); /* no NUL inside */
    return CS_SUCCESS;
}

static CS_RESULT check_int(const json_t *v, json_int_t max)
{
    CS_ENSURE(json_is_integer(v), CS_E_FORMAT);
    json_int_t i = json_integer_value(v);
    CS_ENSURE(i >= 0 && i <= max, CS_E_FORMAT);
    return CS_SUCCESS;
}

/* An object of at most CACHE_ENTRIES_MAX members with names of 1..CACHE_NAME_MAX bytes. */
static CS_RESULT check_map(const json_t *v)
{
    CS_ENSURE(json_is_object(v), CS_E_FORMAT);
    CS_ENSURE(json_object_size(v) <= CACHE_ENTRIES_MAX, CS_E_FORMAT);
    const char *k = NULL;
    json_t *e = NULL;
    json_object_foreach((json_t *)(uintptr_t)v, k, e)
    {
        size_t n = strlen(k);
        CS_ENSURE(n >= 1 && n <= CACHE_NAME_MAX, CS_E_FORMAT);
    }
    return CS_SUCCESS;
}

static CS_RESULT check_state_entry(const json_t *v)
{
    CS_ENSURE(json_is_object(v) && json_object_size(v) == 3, CS_E_FORMAT);
    CS_TRY(check_int(json_object_get(v, "version"), INT64_MAX));
    CS_TRY(check_str(json_object_get(v, "ciphertext"), 0, CS_CACHE_PAYLOAD_MAX));
    CS_TRY(check_int(json_object_get(v, "log_index"), INT64_MAX));
    return CS_SUCCESS;
}

static CS_RESULT check_member(const char *k, const json_t *v)
{
    const char *name = NULL;
    json_t *e = NULL;
    if (strcmp(k, "identity") == 0) {
        return check_str(v, 1, CACHE_IDENTITY_MAX);
    }
    if (strcmp(k, "issued_at") == 0) {
        return check_int(v, CS_CACHE_TIME_MAX);
    }
    if (strcmp(k, "max_offline_s") == 0) {
        return check_int(v, CS_CACHE_OFFLINE_MAX_S);
    }
    if (strcmp(k, "broker_url") == 0) {
        return check_str(v, 1, CACHE_URL_MAX);
    }
    if (strcmp(k, "checkpoint") == 0) {
        return check_str(v, 1, CACHE_CHECKPOINT_MAX);
    }
    if (strcmp(k, "credentials") == 0) {
        CS_TRY(check_map(v));
        json_object_foreach((json_t *)(uintptr_t)v, name, e)
        {
            CS_TRY(check_str(e, 0, CS_CACHE_PAYLOAD_MAX));
        }
        return CS_SUCCESS;
    }
    if (strcmp(k, "state") == 0) {
        CS_TRY(check_map(v));
        json_object_foreach((json_t *)(uintptr_t)v, name, e)
        {
            CS_TRY(check_state_entry(e));
        }
        return CS_SUCCESS;
    }
    if (strcmp(k, "highest_versions") == 0) {
        CS_TRY(check_map(v));
        json_object_foreach((json_t *)(uintptr_t)v, name, e)
        {
            CS_TRY(check_int(e, INT64_MAX));
        }
        return CS_SUCCESS;
    }
    CS_FAIL(CS_E_FORMAT); /* unknown member */
}

CS_RESULT cs_cache_payload_check(const json_t *payload)
{
    CS_ENSURE(json_is_object(payload), CS_E_FORMAT);
    CS_ENSURE(json_object_get(payload, "identity") != NULL, CS_E_FORMAT);
    CS_ENSURE(json_object_get(payload, "issued_at") != NULL, CS_E_FORMAT);
    CS_ENSURE(json_object_get(payload, "max_offline_s") != NULL, CS_E_FORMAT);
    const char *k = NULL;
    json_t *v = NULL;
    json_object_foreach((json_t *)(uintptr_t)payload, k, v)
    {
        CS_TRY(check_member(k, v));
    }
    return CS_SUCCESS;
}

/* ---- save ----------------------------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Compact JSON with sorted keys into a wiped-on-free buffer. */
static CS_RESULT payload_dump(const json_t *payload, struct secret_bytes *out)
{
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
    size_t n = json_dumpb(payload, NULL, 0, flags);
    CS_ENSURE(n > 0, CS_E_NOMEM);
    CS_ENSURE(n <= CS_CACHE_PAYLOAD_MAX, CS_E_TOO_LARGE);
    void *p = NULL;
    CS_TRY(cs_alloc(n, 1, &p));
    out->p = p;
    out->len = n;
    CS_ENSURE(json_dumpb(payload, (char *)out->p, n, flags) == n, CS_E_INTERNAL);
    return CS_SUCCESS;
}

/* The directory part of path ("." if none) into dir (cap bytes). */
static CS_RESULT dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        CS_ENSURE(cap >= 2, CS_E_ARG);
        dir[0] = '.';
        dir[1] = '\0';
        return CS_SUCCESS;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) {
        n = 1; /* "/file": the root */
    }
    CS_ENSURE(n < cap, CS_E_ARG);
    memcpy(dir, path, n);
    dir[n] = '\0';
    return CS_SUCCESS;
}

/* A temporary file that is removed unless it was renamed into place. */
struct tmp_file {
    int fd;
    bool is_placed;
    char path[PATH_MAX];
};

static void tmp_file_clear(struct tmp_file *t)
{
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    if (!t->is_placed && t->path[0] != '\0') {
        unlink(t->path);
    }
}


static CS_RESULT write_atomic(const char *path, const uint8_t *p, size_t n)
{
    size_t plen = strnlen(path, PATH_MAX);
    CS_ENSURE(plen > 0 && plen + 8 < PATH_MAX, CS_E_ARG);
    char dir[PATH_MAX];
    CS_TRY(dir_of(path, dir, sizeof dir));
    CS_AUTO(tmp_file_clear) struct tmp_file t = { .fd = -1 };
    int m = snprintf(t.path, sizeof t.path, "%s.XXXXXX", path);
    CS_ENSURE(m > 0 && (size_t)m < sizeof t.path, CS_E_ARG);
    t.fd = mkostemp(t.path, O_CLOEXEC);
    if (t.fd < 0) {
        t.path[0] = '\0';
        CS_FAIL(CS_E_IO);
    }
    CS_ENSURE(fchmod(t.fd, S_IRUSR | S_IWUSR) == 0, CS_E_IO);
    CS_TRY(cs_fd_write_all(t.fd, p, n));
    CS_ENSURE(fsync(t.fd) == 0, CS_E_IO);
    int fd = t.fd;
    t.fd = -1;
    CS_ENSURE(close(fd) == 0, CS_E_IO);
    CS_ENSURE(rename(t.path, path) == 0, CS_E_IO);
    t.is_placed = true;
    CS_AUTO(fd_closep) int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CS_ENSURE(dfd >= 0 && fsync(dfd) == 0, CS_E_IO);
    return CS_SUCCESS;
}

CS_RESULT cs_cache_save(struct cs_cache_key_provider *p, const char *path, const json_t *payload)
{
    CS_ENSURE(p != NULL && p->ops != NULL && path != NULL, CS_E_ARG);
    CS_TRY(cs_cache_payload_check(payload));
    CS_AUTO(secret_bytes_clear) struct secret_bytes pt = { 0 };
    CS_TRY(payload_dump(payload, &pt));

    /* The key first, then the counter: a failure to seal must not invalidate the old file. */
    CS_AUTO(key_wipe) uint8_t key[CS_CACHE_KEY_LEN] = { 0 };
    CS_AUTO(buf_clearp) struct cs_buf keyref;
    cs_buf_init(&keyref, CS_CACHE_KEYREF_MAX);
    CS_TRY(p->ops->seal(p->ctx, key, &keyref));
    CS_ENSURE(keyref.len <= CS_CACHE_KEYREF_MAX, CS_E_INTERNAL);
    uint64_t counter = 0;
    if (p->ops->counter_next != NULL) {
        CS_TRY(p->ops->counter_next(p->ctx, &counter));
    }

    size_t sealed_len = pt.len + CS_AEAD_OVERHEAD;
    size_t aad_len = CACHE_FIXED_LEN + keyref.len + 4;
    size_t total = aad_len + sealed_len;
    CS_ENSURE(total <= CS_CACHE_FILE_MAX, CS_E_TOO_LARGE);
    CS_AUTO(secret_bytes_clear) struct secret_bytes file = { 0 };
    void *fp = NULL;
    CS_TRY(cs_alloc(total, 1, &fp));
    file.p = fp;
    file.len = total;
    uint8_t *w = file.p;
    memcpy(w, CS_CACHE_MAGIC, 4);
    put_le(w + 4, CS_CACHE_VERSION, 2);
    w[6] = p->ops->id;
    w[7] = 0;
    put_le(w + 8, counter, 8);
    put_le(w + 16, keyref.len, 4);
    if (keyref.len > 0) {
        memcpy(w + CACHE_FIXED_LEN, keyref.p, keyref.len);
    }
    put_le(w + CACHE_FIXED_LEN + keyref.len, sealed_len, 4);
    struct cs_cur aad = cs_cur_of(file.p, aad_len);
    size_t out_len = 0;
    CS_TRY(cs_aead_seal(key, &aad, 1, cs_cur_of(pt.p, pt.len), file.p + aad_len, sealed_len,
                        &out_len));
    CS_ENSURE(out_len == sealed_len, CS_E_INTERNAL);
    return write_atomic(path, file.p, file.len);
}

/* ---- open ----------------------------------------------------------------------------- */

static CS_RESULT check_fresh(const json_t *j, const char *expect_identity, int64_t now)
{
    const json_t *id = json_object_get(j, "identity");
    const char *want = expect_identity;
    size_t want_len = strnlen(want, CACHE_IDENTITY_MAX + 1);
    CS_ENSURE(json_string_length(id) == want_len &&
                  memcmp(json_string_value(id), want, want_len) == 0,
              CS_E_BINDING);
    int64_t issued = (int64_t)json_integer_value(json_object_get(j, "issued_at"));
    int64_t age = (int64_t)json_integer_value(json_object_get(j, "max_offline_s"));
    /* Both are bounded by cs_cache_payload_check, so the sums cannot overflow. */
    CS_ENSURE(now >= 0 && now <= CS_CACHE_TIME_MAX, CS_E_ARG);
    CS_ENSURE(issued <= now + CS_CACHE_SKEW_S, CS_E_EXPIRED);
    CS_ENSURE(issued + age >= now, CS_E_EXPIRED);
    return CS_SUCCESS;
}

CS_RESULT cs_cache_open_mem(struct cs_cache_key_provider *p, struct cs_cur file, int64_t now,
                            const char *expect_identity, json_t **payload)
{
    CS_ENSURE(payload != NULL, CS_E_ARG);
    *payload = NULL;
    CS_ENSURE(p != NULL && p->ops != NULL && expect_identity != NULL, CS_E_ARG);
    struct cs_cache_header h;
    CS_TRY(cs_cache_parse(file, &h));
    CS_ENSURE(h.provider == p->ops->id, CS_E_BINDING);

    CS_AUTO(key_wipe) uint8_t key[CS_CACHE_KEY_LEN] = { 0 };
    CS_TRY(p->ops->unseal(p->ctx, h.keyref, key));
    size_t cap = h.sealed.left - CS_AEAD_OVERHEAD;
    CS_AUTO(secret_bytes_clear) struct secret_bytes pt = { 0 };
    void *pp = NULL;
    CS_TRY(cs_alloc(cap + 1, 1, &pp)); /* + 1: never a zero-size allocation */
    pt.p = pp;
    pt.len = cap + 1;
    size_t pt_len = 0;
    CS_TRY(cs_aead_open(key, &h.aad, 1, h.sealed, pt.p, pt.len, &pt_len));
    key_wipe(&key);

    /* Authentic from here on. */
    if (p->ops->counter_read != NULL) {
        uint64_t current = 0;
        CS_TRY(p->ops->counter_read(p->ctx, &current));
        CS_ENSURE(current == h.counter, CS_E_CONFLICT);
    } else {
        CS_ENSURE(h.counter == 0, CS_E_FORMAT);
    }
    CS_AUTO_JSON *j = NULL;
    cs_res r = cs_json_load(cs_cur_of(pt.p, pt_len), CS_CACHE_PAYLOAD_MAX, &j);
    CS_ENSURE(r.code == CS_OK, CS_E_FORMAT);
    CS_TRY(cs_cache_payload_check(j));
    CS_TRY(check_fresh(j, expect_identity, now));
    *payload = CS_MOVE(j);
    return CS_SUCCESS;
}

CS_RESULT cs_cache_open(struct cs_cache_key_provider *p, const char *path, int64_t now,
                        const char *expect_identity, json_t **payload)
{
    CS_ENSURE(payload != NULL, CS_E_ARG);
    *payload = NULL;
    CS_ENSURE(path != NULL, CS_E_ARG);
    CS_AUTO(fd_closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
    CS_ENSURE(fd >= 0 || errno != ENOENT, CS_E_NOT_FOUND);
    CS_ENSURE(fd >= 0, CS_E_IO);
    struct stat st;
    CS_ENSURE(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), CS_E_IO);
    CS_AUTO(blob_clearp) struct cs_blob b = { 0 };
    CS_TRY(cs_fd_read(fd, CS_CACHE_FILE_MAX, &b));
    return cs_cache_open_mem(p, cs_cur_of(b.p, b.len), now, expect_identity, payload);
}

void cs_cache_provider_free(struct cs_cache_key_provider *p)
{
    if (p == NULL) {
        return;
    }
    if (p->ops != NULL && p->ops->destroy != NULL) {
        p->ops->destroy(p->ctx);
    }
    cs_free(p);
}
