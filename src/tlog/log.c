/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log: appends with group commit, proofs, checkpoints and tiles (see log.h). */
#include "tlog/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_b64.h"
#include "core/cs_mem.h"

#define H CS_MERKLE_HASH_LEN

struct pending {
    struct cs_cur entry;
    size_t group_len; /* on the first of one caller's appends: how many; never split */
    uint64_t index;
    cs_res result;
    bool is_done;
    struct pending *next;
};

struct cs_log {
    struct cs_log_store store;
    pthread_mutex_t store_mu; /* the store connection is used by one thread at a time */
    pthread_mutex_t mu;       /* queue state below */
    pthread_cond_t cv;
    struct pending *head;
    struct pending *tail;
    bool is_committing;
};

CS_RESULT cs_log_open(struct cs_log_store store, struct cs_log **out)
{
    CS_ENSURE(out != NULL && store.ops != NULL, CS_E_ARG);
    *out = NULL;
    struct cs_log *log = NULL;
    cs_res r = cs_alloc(1, sizeof *log, (void **)&log);
    if (!cs_ok(r)) {
        store.ops->close(store.ctx);
        return r;
    }
    log->store = store;
    pthread_mutex_init(&log->store_mu, NULL);
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    *out = log;
    return CS_SUCCESS;
}

void cs_log_close(struct cs_log *log)
{
    if (log == NULL) {
        return;
    }
    log->store.ops->close(log->store.ctx);
    pthread_cond_destroy(&log->cv);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->store_mu);
    cs_free(log);
}

/* ---- writing ------------------------------------------------------------------- */

/*
 * Appends one entry at index n inside the open write transaction: the entry, its leaf
 * hash, and one new perfect-subtree hash per trailing one bit of n (the subtrees that
 * leaf n completes).
 */
static cs_res append_one(struct cs_log *log, uint64_t n, struct cs_cur entry)
{
    const struct cs_log_store_ops *ops = log->store.ops;
    void *ctx = log->store.ctx;
    uint8_t h[H];
    CS_TRY(ops->put_entry(ctx, n, entry));
    CS_TRY(cs_merkle_leaf_hash(entry, h));
    CS_TRY(ops->put_hash(ctx, 0, n, h));
    uint64_t k = n;
    for (unsigned level = 0; (k & 1) == 1; level++) {
        uint8_t left[H];
        CS_TRY(ops->get_hash(ctx, level, k - 1, left));
        CS_TRY(cs_merkle_node_hash(left, h, h));
        k >>= 1;
        CS_TRY(ops->put_hash(ctx, level + 1, k, h));
    }
    return CS_SUCCESS;
}

/* One transaction for a whole batch: all of it is durable, or none of it. */
static cs_res commit_batch(struct cs_log *log, struct pending *batch)
{
    const struct cs_log_store_ops *ops = log->store.ops;
    void *ctx = log->store.ctx;
    pthread_mutex_lock(&log->store_mu);
    cs_res r = ops->begin_write(ctx);
    if (!cs_ok(r)) {
        pthread_mutex_unlock(&log->store_mu);
        return r;
    }
    uint64_t n = 0;
    r = ops->get_size(ctx, &n);
    for (struct pending *p = batch; p != NULL && cs_ok(r); p = p->next) {
        p->index = n;
        r = append_one(log, n, p->entry);
        n++;
    }
    if (cs_ok(r)) {
        r = ops->set_size(ctx, n);
    }
    if (cs_ok(r)) {
        r = ops->commit(ctx);
    }
    if (!cs_ok(r)) {
        ops->rollback(ctx);
    }
    pthread_mutex_unlock(&log->store_mu);
    return r;
}

/*
 * Queues the appends in `mine` (consecutive) and waits until each is done. Whoever finds
 * no commit in progress leads: it takes queued appends, whole callers at a time and up to
 * CS_LOG_BATCH_MAX entries, commits them in one transaction, and wakes everyone; the
 * others wait for their turn. One caller's appends are never split between commits.
 */
static void enqueue_and_wait(struct cs_log *log, struct pending *mine, size_t n)
{
    mine[0].group_len = n;
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < n; i++) {
        if (log->tail != NULL) {
            log->tail->next = &mine[i];
        } else {
            log->head = &mine[i];
        }
        log->tail = &mine[i];
    }
    while (!mine[n - 1].is_done) {
        if (log->is_committing) {
            pthread_cond_wait(&log->cv, &log->mu);
            continue;
        }
        log->is_committing = true;
        /* whole callers' groups only, up to CS_LOG_BATCH_MAX entries (a group alone fits) */
        struct pending *batch = log->head;
        struct pending *last = NULL;
        struct pending *p = log->head;
        size_t count = 0;
        while (p != NULL && (count == 0 || count + p->group_len <= CS_LOG_BATCH_MAX)) {
            size_t g = p->group_len;
            for (size_t i = 0; i < g; i++) {
                last = p;
                p = p->next;
            }
            count += g;
        }
        log->head = p;
        if (log->head == NULL) {
            log->tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&log->mu);
        cs_res r = commit_batch(log, batch);
        pthread_mutex_lock(&log->mu);
        for (struct pending *q = batch; q != NULL;) {
            struct pending *next = q->next; /* q may return and vanish once done is set */
            q->result = r;
            q->is_done = true;
            q = next;
        }
        log->is_committing = false;
        pthread_cond_broadcast(&log->cv);
    }
    pthread_mutex_unlock(&log->mu);
}

CS_RESULT cs_log_append(struct cs_log *log, struct cs_cur entry, uint64_t *index)
{
    CS_ENSURE(log != NULL && index != NULL, CS_E_ARG);
    CS_ENSURE(entry.left > 0, CS_E_TRUNCATED);
    CS_ENSURE(entry.left <= CS_LOG_ENTRY_MAX, CS_E_TOO_LARGE);
    struct pending me = { .entry = entry };
    enqueue_and_wait(log, &me, 1);
    if (cs_ok(me.result)) {
        *index = me.index;
    }
    return me.result;
}

CS_RESULT cs_log_append_many(struct cs_log *log, const struct cs_cur *entries, size_t n,
                             uint64_t *first)
{
    CS_ENSURE(log != NULL && entries != NULL && first != NULL && n > 0, CS_E_ARG);
    CS_ENSURE(n <= CS_LOG_BATCH_MAX, CS_E_TOO_LARGE); /* one commit: consecutive indices */
    for (size_t i = 0; i < n; i++) {
        CS_ENSURE(entries[i].left > 0, CS_E_TRUNCATED);
        CS_ENSURE(entries[i].left <= CS_LOG_ENTRY_MAX, CS_E_TOO_LARGE);
    }
    CS_AUTO(cs_freep) struct pending *mine = NULL;
    CS_TRY(cs_alloc(n, sizeof *mine, (void **)&mine));
    for (size_t i = 0; i < n; i++) {
        mine[i].entry = entries[i];
    }
    enqueue_and_wait(log, mine, n);
    for (size_t i = 0; i < n; i++) {
        CS_TRY(mine[i].result);
        CS_ENSURE(mine[i].index == mine[0].index + i, CS_E_INTERNAL);
    }
    *first = mine[0].index;
    return CS_SUCCESS;
}

/* ---- reading ------------------------------------------------------------------- */

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) {
        k <<= 1;
    }
    return k;
}

/*
 * MTH(D[lo:hi]) for a range of the RFC 9162 recursion (lo is a multiple of the largest
 * power of two that fits): stored perfect subtrees, greedy from the left, folded right
 * to left (FORMATS: "hash of an arbitrary aligned range").
 */
static cs_res range_hash(struct cs_log *log, uint64_t lo, uint64_t hi, uint8_t out[H])
{
    const struct cs_log_store_ops *ops = log->store.ops;
    uint8_t parts[64][H];
    size_t n = 0;
    while (lo < hi) {
        unsigned level = 0;
        while (level < 63 && ((uint64_t)1 << (level + 1)) <= hi - lo &&
               (lo & (((uint64_t)1 << (level + 1)) - 1)) == 0) {
            level++;
        }
        CS_ENSURE(n < 64, CS_E_INTERNAL);
        CS_TRY(ops->get_hash(log->store.ctx, level, lo >> level, parts[n++]));
        lo += (uint64_t)1 << level;
    }
    CS_ENSURE(n > 0, CS_E_INTERNAL);
    memcpy(out, parts[n - 1], H);
    for (size_t i = n - 1; i > 0; i--) {
        CS_TRY(cs_merkle_node_hash(parts[i - 1], out, out));
    }
    return CS_SUCCESS;
}

static cs_res root_of(struct cs_log *log, uint64_t size, uint8_t root[H])
{
    if (size == 0) {
        return cs_merkle_empty_root(root);
    }
    return range_hash(log, 0, size, root);
}

/* PATH(m, D[lo:hi]), RFC 9162 2.1.3.1, appended bottom-up. */
static cs_res path(struct cs_log *log, uint64_t m, uint64_t lo, uint64_t hi, uint8_t *proof,
                   size_t *n)
{
    if (hi - lo == 1) {
        return CS_SUCCESS;
    }
    uint64_t k = split_point(hi - lo);
    CS_ENSURE(*n < CS_MERKLE_PROOF_MAX, CS_E_INTERNAL);
    if (m < lo + k) {
        CS_TRY(path(log, m, lo, lo + k, proof, n));
        CS_TRY(range_hash(log, lo + k, hi, proof + (*n)++ * H));
    } else {
        CS_TRY(path(log, m, lo + k, hi, proof, n));
        CS_TRY(range_hash(log, lo, lo + k, proof + (*n)++ * H));
    }
    return CS_SUCCESS;
}

/* SUBPROOF(m, D[lo:hi], b), RFC 9162 2.1.4.1, with m an absolute size. */
static cs_res subproof(struct cs_log *log, uint64_t m, uint64_t lo, uint64_t hi, bool b,
                       uint8_t *proof, size_t *n)
{
    CS_ENSURE(*n < CS_MERKLE_PROOF_MAX, CS_E_INTERNAL);
    if (m == hi) {
        if (!b) {
            CS_TRY(range_hash(log, lo, hi, proof + (*n)++ * H));
        }
        return CS_SUCCESS;
    }
    uint64_t k = split_point(hi - lo);
    if (m <= lo + k) {
        CS_TRY(subproof(log, m, lo, lo + k, b, proof, n));
        CS_TRY(range_hash(log, lo + k, hi, proof + (*n)++ * H));
    } else {
        CS_TRY(subproof(log, m, lo + k, hi, false, proof, n));
        CS_TRY(range_hash(log, lo, lo + k, proof + (*n)++ * H));
    }
    return CS_SUCCESS;
}

/* Runs fn inside a read snapshot, with size checked against the committed tree. */
struct read_op {
    uint64_t a, b;
    uint8_t *h1, *h2, *proof;
    size_t *n;
    struct cs_blob *entry;
};

enum read_kind { R_SIZE, R_ROOT, R_INCLUSION, R_CONSISTENCY, R_ENTRY };

static cs_res do_read(struct cs_log *log, enum read_kind kind, struct read_op *op,
                      uint64_t *size_out)
{
    const struct cs_log_store_ops *ops = log->store.ops;
    void *ctx = log->store.ctx;
    uint64_t size = 0;
    CS_TRY(ops->get_size(ctx, &size));
    switch (kind) {
    case R_SIZE:
        *size_out = size;
        return CS_SUCCESS;
    case R_ROOT:
        CS_ENSURE(op->a <= size, CS_E_ARG);
        return root_of(log, op->a, op->h1);
    case R_ENTRY:
        CS_ENSURE(op->a < size, CS_E_ARG);
        return ops->get_entry(ctx, op->a, op->entry);
    case R_INCLUSION:
        CS_ENSURE(op->a < op->b && op->b <= size, CS_E_ARG);
        *op->n = 0;
        CS_TRY(ops->get_hash(ctx, 0, op->a, op->h1));
        CS_TRY(root_of(log, op->b, op->h2));
        return path(log, op->a, 0, op->b, op->proof, op->n);
    case R_CONSISTENCY:
        CS_ENSURE(op->a > 0 && op->a <= op->b && op->b <= size, CS_E_ARG);
        *op->n = 0;
        CS_TRY(root_of(log, op->a, op->h1));
        CS_TRY(root_of(log, op->b, op->h2));
        return op->a == op->b ? CS_SUCCESS : subproof(log, op->a, 0, op->b, true, op->proof, op->n);
    default:
        CS_FAIL(CS_E_INTERNAL);
    }
}

static cs_res read_snapshot(struct cs_log *log, enum read_kind kind, struct read_op *op,
                            uint64_t *size_out)
{
    pthread_mutex_lock(&log->store_mu);
    cs_res r = log->store.ops->begin_read(log->store.ctx);
    if (cs_ok(r)) {
        r = do_read(log, kind, op, size_out);
        log->store.ops->end_read(log->store.ctx);
    }
    pthread_mutex_unlock(&log->store_mu);
    return r;
}

CS_RESULT cs_log_size(struct cs_log *log, uint64_t *size)
{
    CS_ENSURE(log != NULL && size != NULL, CS_E_ARG);
    struct read_op op = { 0 };
    return read_snapshot(log, R_SIZE, &op, size);
}

CS_RESULT cs_log_root(struct cs_log *log, uint64_t size, uint8_t root[H])
{
    CS_ENSURE(log != NULL && root != NULL, CS_E_ARG);
    struct read_op op = { .a = size, .h1 = root };
    return read_snapshot(log, R_ROOT, &op, NULL);
}

CS_RESULT cs_log_entry(struct cs_log *log, uint64_t index, struct cs_blob *out)
{
    CS_ENSURE(log != NULL && out != NULL, CS_E_ARG);
    struct read_op op = { .a = index, .entry = out };
    return read_snapshot(log, R_ENTRY, &op, NULL);
}

CS_RESULT cs_log_prove_inclusion(struct cs_log *log, uint64_t index, uint64_t size,
                                 uint8_t leaf[H], uint8_t root[H],
                                 uint8_t proof[CS_MERKLE_PROOF_MAX * H], size_t *n_proof)
{
    CS_ENSURE(log != NULL && leaf != NULL && root != NULL && proof != NULL && n_proof != NULL,
              CS_E_ARG);
    struct read_op op = { .a = index, .b = size, .h1 = leaf, .h2 = root, .proof = proof,
                          .n = n_proof };
    return read_snapshot(log, R_INCLUSION, &op, NULL);
}

CS_RESULT cs_log_prove_consistency(struct cs_log *log, uint64_t old_size, uint64_t new_size,
                                   uint8_t old_root[H], uint8_t new_root[H],
                                   uint8_t proof[CS_MERKLE_PROOF_MAX * H], size_t *n_proof)
{
    CS_ENSURE(log != NULL && old_root != NULL && new_root != NULL && proof != NULL &&
                  n_proof != NULL,
              CS_E_ARG);
    struct read_op op = { .a = old_size, .b = new_size, .h1 = old_root, .h2 = new_root,
                          .proof = proof, .n = n_proof };
    return read_snapshot(log, R_CONSISTENCY, &op, NULL);
}

/* ---- checkpoints --------------------------------------------------------------- */

CS_RESULT cs_log_checkpoint(struct cs_log *log, const struct cs_note_signer *signer, char *out,
                            size_t cap, size_t *len, uint64_t *size)
{
    CS_ENSURE(log != NULL && signer != NULL && out != NULL && len != NULL && size != NULL,
              CS_E_ARG);
    uint8_t root[H];
    uint64_t n = 0;
    /* one snapshot for size and root: the checkpoint covers committed entries only */
    pthread_mutex_lock(&log->store_mu);
    cs_res r = log->store.ops->begin_read(log->store.ctx);
    if (cs_ok(r)) {
        r = log->store.ops->get_size(log->store.ctx, &n);
        if (cs_ok(r)) {
            r = root_of(log, n, root);
        }
        log->store.ops->end_read(log->store.ctx);
    }
    pthread_mutex_unlock(&log->store_mu);
    CS_TRY(r);
    char b64[48];
    CS_TRY(cs_b64_encode(root, sizeof root, b64, sizeof b64));
    char text[CS_NOTE_NAME_MAX + 96];
    int tl = snprintf(text, sizeof text, "%s\n%llu\n%s\n", signer->name, (unsigned long long)n,
                      b64);
    CS_ENSURE(tl > 0 && (size_t)tl < sizeof text, CS_E_TOO_LARGE);
    CS_TRY(cs_note_sign(signer, cs_cur_of((const uint8_t *)text, (size_t)tl), out, cap, len));
    pthread_mutex_lock(&log->store_mu);
    r = log->store.ops->put_checkpoint(log->store.ctx, n, cs_cur_of((const uint8_t *)out, *len));
    pthread_mutex_unlock(&log->store_mu);
    CS_TRY(r);
    *size = n;
    return CS_SUCCESS;
}

/* ---- tiles --------------------------------------------------------------------- */

CS_RESULT cs_tile_index_path(uint64_t n, char *out, size_t cap)
{
    CS_ENSURE(out != NULL && cap >= 32, CS_E_ARG);
    unsigned groups[8];
    size_t g = 0;
    do {
        groups[g++] = (unsigned)(n % 1000);
        n /= 1000;
    } while (n > 0 && g < 8);
    size_t o = 0;
    for (size_t i = g; i > 0; i--) {
        int w = snprintf(out + o, cap - o, "%s%03u%s", i > 1 ? "x" : "", groups[i - 1],
                         i > 1 ? "/" : "");
        CS_ENSURE(w > 0 && (size_t)w < cap - o, CS_E_TOO_LARGE);
        o += (size_t)w;
    }
    return CS_SUCCESS;
}

/* mkdir -p of the parent directories of path (which is under dir). */
static cs_res make_parents(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        CS_ENSURE(rc == 0 || errno == EEXIST, CS_E_IO);
    }
    return CS_SUCCESS;
}

/* Writes bytes to dir/rel through a temporary file renamed into place. */
static cs_res write_file(const char *dir, const char *rel, const uint8_t *p, size_t len)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX + 8];
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    CS_ENSURE(snprintf(tmp, sizeof tmp, "%s.tmp", path) > 0, CS_E_ARG);
    CS_TRY(make_parents(path));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CS_ENSURE(fd >= 0, CS_E_IO);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            CS_FAIL(CS_E_IO);
        }
        off += (size_t)w;
    }
    bool is_ok = fsync(fd) == 0;
    is_ok &= close(fd) == 0;
    is_ok = is_ok && rename(tmp, path) == 0;
    if (!is_ok) {
        unlink(tmp);
    }
    CS_ENSURE(is_ok, CS_E_IO);
    return CS_SUCCESS;
}

/* Name of tile N (with ".p/W" when partial) under prefix. */
static cs_res tile_name(const char *prefix, uint64_t n, unsigned width, char *out, size_t cap)
{
    char idx[40];
    CS_TRY(cs_tile_index_path(n, idx, sizeof idx));
    int w = width == 256 ? snprintf(out, cap, "%s/%s", prefix, idx)
                         : snprintf(out, cap, "%s/%s.p/%u", prefix, idx, width);
    CS_ENSURE(w > 0 && (size_t)w < cap, CS_E_TOO_LARGE);
    return CS_SUCCESS;
}

static cs_res write_level_tile(struct cs_log *log, const char *dir, unsigned L, uint64_t n,
                               unsigned width)
{
    uint8_t buf[256 * H];
    pthread_mutex_lock(&log->store_mu);
    cs_res r = CS_SUCCESS;
    for (unsigned i = 0; i < width && cs_ok(r); i++) {
        r = log->store.ops->get_hash(log->store.ctx, 8 * L, n * 256 + i, buf + (size_t)i * H);
    }
    pthread_mutex_unlock(&log->store_mu);
    CS_TRY(r);
    char prefix[16];
    char rel[96];
    snprintf(prefix, sizeof prefix, "tile/%u", L);
    CS_TRY(tile_name(prefix, n, width, rel, sizeof rel));
    return write_file(dir, rel, buf, (size_t)width * H);
}

static cs_res write_entry_bundle(struct cs_log *log, const char *dir, uint64_t n, unsigned width)
{
    CS_AUTO(cs_freep) uint8_t *buf = NULL;
    CS_TRY(cs_alloc(256, 2 + CS_LOG_ENTRY_MAX, (void **)&buf));
    size_t len = 0;
    for (unsigned i = 0; i < width; i++) {
        struct cs_blob e = { 0 };
        CS_TRY(cs_log_entry(log, n * 256 + i, &e));
        bool is_fit = e.len <= CS_LOG_ENTRY_MAX;
        if (is_fit) {
            buf[len++] = (uint8_t)(e.len >> 8);
            buf[len++] = (uint8_t)e.len;
            memcpy(buf + len, e.p, e.len);
            len += e.len;
        }
        cs_blob_clear(&e);
        CS_ENSURE(is_fit, CS_E_STORE);
    }
    char rel[96];
    CS_TRY(tile_name("tile/entries", n, width, rel, sizeof rel));
    return write_file(dir, rel, buf, len);
}

CS_RESULT cs_log_write_tiles(struct cs_log *log, uint64_t size, struct cs_cur checkpoint,
                             const char *dir)
{
    CS_ENSURE(log != NULL && dir != NULL, CS_E_ARG);
    struct cs_note note;
    CS_TRY(cs_note_parse(checkpoint.p, checkpoint.left, &note));
    struct cs_checkpoint cp;
    CS_TRY(cs_checkpoint_parse(note.text, &cp));
    CS_ENSURE(cp.size == size, CS_E_ARG);
    uint8_t root[H];
    CS_TRY(cs_log_root(log, size, root));
    CS_ENSURE(memcmp(root, cp.root, H) == 0, CS_E_BINDING); /* the note is of this tree */
    CS_ENSURE(mkdir(dir, 0755) == 0 || errno == EEXIST, CS_E_IO);
    for (unsigned L = 0; L < 8 && (size >> (8 * L)) > 0; L++) {
        uint64_t count = size >> (8 * L); /* hashes at tree level 8L */
        for (uint64_t n = 0; n < count / 256; n++) {
            CS_TRY(write_level_tile(log, dir, L, n, 256));
        }
        if (count % 256 != 0) {
            CS_TRY(write_level_tile(log, dir, L, count / 256, (unsigned)(count % 256)));
        }
    }
    for (uint64_t n = 0; n < size / 256; n++) {
        CS_TRY(write_entry_bundle(log, dir, n, 256));
    }
    if (size % 256 != 0) {
        CS_TRY(write_entry_bundle(log, dir, size / 256, (unsigned)(size % 256)));
    }
    return write_file(dir, "checkpoint", checkpoint.p, checkpoint.left);
}
