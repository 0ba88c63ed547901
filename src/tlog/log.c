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
#include "core/cs_file.h"
#include "core/cs_mem.h"

#define H CS_MERKLE_HASH_LEN

/*
 * One caller of cs_log_append(_many), waiting on its own condition variable (under
 * cs_log.mu): woken once, when its appends are done or when it is handed the next commit.
 */
struct caller {
    pthread_cond_t cv;
    cs_res result;  /* of the commit that held its appends */
    bool is_done;
    bool is_leader; /* it leads the next commit */
};

struct pending {
    struct cs_cur entry;
    uint8_t leaf[H]; /* its leaf hash, computed by the caller before it queues */
    struct caller *caller;
    size_t group_len; /* on the first of one caller's appends: how many; never split */
    uint64_t index;
    struct pending *next;
};

/*
 * The right edge of a committed tree of `size` leaves (its compact range). For each set bit
 * L of size, node[L] is the perfect subtree hash (L, (size >> L) - 1) and fold[L] the hash of
 * the leaves from that subtree's first one up to size: node[L] folded with the smaller edge
 * nodes to its right. fold[highest bit] is the root. What it holds is a function of the
 * size alone (rows are never rewritten), so the size is its key.
 */
struct edge {
    uint64_t size;
    bool is_valid;
    uint8_t node[64][H];
    uint8_t fold[64][H];
};

/*
 * Tree levels from UPPER_MIN up are held in memory (1/2^UPPER_MIN of the leaves, then half
 * as many per level above: about size/128 hashes, size/4 bytes), so that an inclusion proof
 * in the current tree reads at most UPPER_MIN + 1 hashes from the store (the leaf and its
 * siblings below UPPER_MIN; the right edge is cached too). upper[L - UPPER_MIN] holds the hashes
 * (L, 0) .. (L, count - 1): a prefix of the level, valid for ever.
 */
#define UPPER_MIN 8u
#define UPPER_LEVELS (64u - UPPER_MIN)

struct level_cache {
    uint8_t *h;     /* cap hashes, count of them set */
    uint64_t count;
    uint64_t cap;
};

/*
 * The store reads of one proof or root, gathered in a first pass and made in one go (a
 * store call per CS_LOG_STORE_SET_MAX positions, instead of one per hash); the second
 * pass computes from them. Only a cache: a position it lacks is read on its own.
 */
#define PREFETCH_MAX 64u

struct prefetch {
    bool is_collecting; /* first pass: record positions, hash nothing */
    size_t n;
    unsigned level[PREFETCH_MAX];
    uint64_t index[PREFETCH_MAX];
    uint8_t hash[PREFETCH_MAX][H];
};

struct cs_log {
    struct cs_log_store store;
    pthread_mutex_t store_mu; /* the store connection is used by one thread at a time */
    /* under store_mu: */
    struct cs_merkle_ctx hash;
    struct edge edge; /* of the last tree this connection committed or loaded */
    struct edge next; /* being built by a commit; becomes edge once it is committed */
    struct level_cache upper[UPPER_LEVELS];
    struct prefetch pf;
    pthread_mutex_t mu; /* queue state below */
    struct pending *head;
    struct pending *tail;
    bool is_committing; /* a leader exists (committing, or woken to commit the queue head) */
};

static cs_res cache_load(struct cs_log *log);

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
    r = cs_merkle_ctx_init(&log->hash);
    if (cs_ok(r)) {
        r = cache_load(log);
    }
    if (!cs_ok(r)) {
        cs_log_close(log);
        return r;
    }
    *out = log;
    return CS_SUCCESS;
}

void cs_log_close(struct cs_log *log)
{
    if (log == NULL) {
        return;
    }
    log->store.ops->close(log->store.ctx);
    cs_merkle_ctx_clear(&log->hash);
    for (size_t i = 0; i < UPPER_LEVELS; i++) {
        cs_free(log->upper[i].h);
    }
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->store_mu);
    cs_free(log);
}

/* ---- writing ------------------------------------------------------------------- */

/*
 * A stored hash, from the first that holds it: the in-memory levels, the cached edge, the
 * positions prefetched for this read, the store. Any (level, index) of a committed tree has
 * one value for ever, so a cache of any size may answer. While a read is collecting, a
 * position none of the caches holds is recorded and answered with zeros.
 */
static cs_res node_get(struct cs_log *log, unsigned level, uint64_t index, uint8_t out[H])
{
    if (level >= UPPER_MIN && level < 64 && index < log->upper[level - UPPER_MIN].count) {
        memcpy(out, log->upper[level - UPPER_MIN].h + index * H, H);
        return CS_SUCCESS;
    }
    const struct edge *e = &log->edge;
    if (e->is_valid && level < 64 && ((e->size >> level) & 1) != 0 &&
        index == (e->size >> level) - 1) {
        memcpy(out, e->node[level], H);
        return CS_SUCCESS;
    }
    struct prefetch *pf = &log->pf;
    for (size_t i = 0; i < pf->n; i++) {
        if (pf->level[i] == level && pf->index[i] == index) {
            memcpy(out, pf->hash[i], H); /* zeros while collecting */
            return CS_SUCCESS;
        }
    }
    if (pf->is_collecting) {
        if (pf->n < PREFETCH_MAX) {
            pf->level[pf->n] = level;
            pf->index[pf->n] = index;
            memset(pf->hash[pf->n], 0, H);
            pf->n++;
        }
        memset(out, 0, H);
        return CS_SUCCESS;
    }
    return log->store.ops->get_hash(log->store.ctx, level, index, out);
}

/* The first leaf of the edge node at `level` of a tree of `size` leaves (bit level set). */
static uint64_t edge_start(uint64_t size, unsigned level)
{
    return size & ~((UINT64_C(2) << level) - 1); /* 2 << 63 wraps to 0: start 0 */
}

/* Computes e->fold from e->node: smallest subtree first, each folded under the next. */
static cs_res edge_fold(struct cs_log *log, struct edge *e)
{
    const uint8_t *right = NULL;
    for (unsigned level = 0; level < 64; level++) {
        if (((e->size >> level) & 1) == 0) {
            continue;
        }
        if (right == NULL) {
            memcpy(e->fold[level], e->node[level], H);
        } else {
            CS_TRY(cs_merkle_node_hash_ctx(&log->hash, e->node[level], right, e->fold[level]));
        }
        right = e->fold[level];
    }
    return CS_SUCCESS;
}

/* The edge of the committed tree of `size` leaves, read from the store (or log->edge). */
static cs_res edge_load(struct cs_log *log, uint64_t size, struct edge *e)
{
    e->is_valid = false;
    e->size = size;
    for (unsigned level = 0; level < 64; level++) {
        if (((size >> level) & 1) != 0) {
            CS_TRY(node_get(log, level, (size >> level) - 1, e->node[level]));
        }
    }
    CS_TRY(edge_fold(log, e));
    e->is_valid = true;
    return CS_SUCCESS;
}

/*
 * Appends one entry at index e->size inside the open write transaction: the entry, its leaf
 * hash, and one new perfect-subtree hash per trailing one bit of the index (the subtrees
 * this leaf completes, whose left halves are edge nodes). e->fold is left stale.
 */
static cs_res append_one(struct cs_log *log, struct edge *e, const struct pending *p)
{
    const struct cs_log_store_ops *ops = log->store.ops;
    void *ctx = log->store.ctx;
    uint64_t n = e->size;
    uint8_t h[H];
    memcpy(h, p->leaf, H);
    CS_TRY(ops->put_entry(ctx, n, p->entry));
    CS_TRY(ops->put_hash(ctx, 0, n, h));
    unsigned level = 0;
    for (; ((n >> level) & 1) != 0; level++) {
        CS_TRY(cs_merkle_node_hash_ctx(&log->hash, e->node[level], h, h));
        CS_TRY(ops->put_hash(ctx, level + 1, n >> (level + 1), h));
    }
    memcpy(e->node[level], h, H);
    e->size = n + 1;
    return CS_SUCCESS;
}

/*
 * The batch on top of the committed tree of `size` leaves, into log->next: the cached edge
 * when it is of this size (the store's size is read inside the transaction, so a tree that
 * another connection grew is reloaded), else the edge read from the store.
 */
static cs_res append_batch(struct cs_log *log, uint64_t size, struct pending *batch)
{
    struct edge *e = &log->next;
    if (log->edge.is_valid && log->edge.size == size) {
        memcpy(e, &log->edge, sizeof *e);
    } else {
        CS_TRY(edge_load(log, size, e));
    }
    e->is_valid = false;
    for (struct pending *p = batch; p != NULL; p = p->next) {
        p->index = e->size;
        CS_TRY(append_one(log, e, p));
    }
    CS_TRY(edge_fold(log, e));
    e->is_valid = true;
    return CS_SUCCESS;
}

/*
 * Extends the in-memory levels to the committed tree of `size` leaves: one range read per
 * level that is behind. On failure the levels keep what they had (still valid prefixes).
 */
static cs_res upper_sync(struct cs_log *log, uint64_t size)
{
    for (unsigned level = UPPER_MIN; level < 64 && (size >> level) > 0; level++) {
        struct level_cache *c = &log->upper[level - UPPER_MIN];
        uint64_t want = size >> level;
        if (c->count >= want) {
            continue;
        }
        if (want > c->cap) {
            uint64_t cap = c->cap == 0 ? want : c->cap * 2; /* doubling, as appends grow it */
            cap = cap < want ? want : cap;
            CS_ENSURE(cap <= SIZE_MAX / H, CS_E_TOO_LARGE);
            uint8_t *h = NULL;
            CS_TRY(cs_alloc((size_t)cap, H, (void **)&h));
            if (c->count > 0) {
                memcpy(h, c->h, (size_t)c->count * H);
            }
            cs_free(c->h);
            c->h = h;
            c->cap = cap;
        }
        CS_TRY(log->store.ops->get_hashes(log->store.ctx, level, c->count, want - c->count,
                                          c->h + (size_t)c->count * H));
        c->count = want;
    }
    return CS_SUCCESS;
}

/* The edge and the upper levels of the committed tree, read in one snapshot at open. */
static cs_res cache_load(struct cs_log *log)
{
    const struct cs_log_store_ops *ops = log->store.ops;
    CS_TRY(ops->begin_read(log->store.ctx));
    uint64_t size = 0;
    cs_res r = ops->get_size(log->store.ctx, &size);
    if (cs_ok(r)) {
        r = upper_sync(log, size);
    }
    if (cs_ok(r)) {
        r = edge_load(log, size, &log->edge);
    }
    ops->end_read(log->store.ctx);
    return r;
}

/*
 * One transaction for a whole batch: all of it is durable, or none of it. The cached edge
 * is replaced only once the commit succeeded; after a failure it still describes the tree
 * it was of (a commit that failed but landed shows as a size change next time).
 */
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
    if (cs_ok(r)) {
        r = append_batch(log, n, batch);
    }
    if (cs_ok(r)) {
        r = ops->set_size(ctx, log->next.size);
    }
    if (cs_ok(r)) {
        r = ops->commit(ctx);
    }
    if (cs_ok(r)) {
        memcpy(&log->edge, &log->next, sizeof log->edge);
        /* best effort: a level left behind is read from the store, and synced next time */
        (void)cs_ok(upper_sync(log, log->edge.size));
    } else {
        ops->rollback(ctx);
    }
    pthread_mutex_unlock(&log->store_mu);
    return r;
}

/*
 * The leader's turn (mu held, is_committing set, its own appends first in the queue): takes
 * whole callers' groups from the head, up to CS_LOG_BATCH_MAX entries (a group alone
 * fits), commits them with mu released, then hands the next commit to the caller now at
 * the head, if any, and wakes exactly the callers whose appends it committed.
 */
static void lead(struct cs_log *log)
{
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
    if (log->head != NULL) {
        log->head->caller->is_leader = true; /* first, so that the next commit starts soon */
        pthread_cond_signal(&log->head->caller->cv);
    } else {
        log->is_committing = false;
    }
    /* a caller returns (and its pendings vanish) only after taking mu, which we hold */
    for (struct pending *q = batch; q != NULL; q = q->next) {
        if (q->group_len > 0) {
            q->caller->result = r;
            q->caller->is_done = true;
            pthread_cond_signal(&q->caller->cv);
        }
    }
}

/*
 * Queues the appends in `mine` (consecutive) and waits until they are done; returns the
 * result of the commit that held them. Whoever finds no leader leads; a leader hands the
 * next commit to the caller at the head of the queue, so the queue is empty whenever
 * there is no leader, and a leader's own appends are always in its batch. One caller's
 * appends are never split between commits.
 */
static cs_res enqueue_and_wait(struct cs_log *log, struct pending *mine, size_t n)
{
    struct caller me = { .result = CS_SUCCESS };
    pthread_cond_init(&me.cv, NULL);
    for (size_t i = 0; i < n; i++) {
        mine[i].caller = &me;
        mine[i].group_len = i == 0 ? n : 0;
    }
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < n; i++) {
        if (log->tail != NULL) {
            log->tail->next = &mine[i];
        } else {
            log->head = &mine[i];
        }
        log->tail = &mine[i];
    }
    if (!log->is_committing) {
        log->is_committing = true;
        me.is_leader = true;
    }
    while (!me.is_done && !me.is_leader) {
        pthread_cond_wait(&me.cv, &log->mu);
    }
    if (!me.is_done) {
        lead(log);
    }
    pthread_mutex_unlock(&log->mu);
    pthread_cond_destroy(&me.cv);
    return me.result;
}

static void merkle_ctx_clearp(struct cs_merkle_ctx *c)
{
    cs_merkle_ctx_clear(c);
}

CS_RESULT cs_log_append(struct cs_log *log, struct cs_cur entry, uint64_t *index)
{
    CS_ENSURE(log != NULL && index != NULL, CS_E_ARG);
    CS_ENSURE(entry.left > 0, CS_E_TRUNCATED);
    CS_ENSURE(entry.left <= CS_LOG_ENTRY_MAX, CS_E_TOO_LARGE);
    struct pending me = { .entry = entry };
    CS_TRY(cs_merkle_leaf_hash(entry, me.leaf)); /* here, in parallel with the commit */
    CS_TRY(enqueue_and_wait(log, &me, 1));
    *index = me.index;
    return CS_SUCCESS;
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
    CS_AUTO(merkle_ctx_clearp) struct cs_merkle_ctx hash = { 0 };
    CS_TRY(cs_merkle_ctx_init(&hash));
    for (size_t i = 0; i < n; i++) { /* hashed here, in parallel with the commit */
        mine[i].entry = entries[i];
        CS_TRY(cs_merkle_leaf_hash_ctx(&hash, entries[i], mine[i].leaf));
    }
    CS_TRY(enqueue_and_wait(log, mine, n));
    for (size_t i = 0; i < n; i++) {
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
    const struct edge *e = &log->edge;
    if (e->is_valid && hi == e->size && lo < hi) {
        /* [lo, size) is folded already when lo is where an edge node starts */
        for (unsigned level = 0; level < 64; level++) {
            if (((hi >> level) & 1) != 0 && lo == edge_start(hi, level)) {
                memcpy(out, e->fold[level], H);
                return CS_SUCCESS;
            }
        }
    }
    uint8_t parts[64][H];
    size_t n = 0;
    while (lo < hi) {
        unsigned level = 0;
        while (level < 63 && ((uint64_t)1 << (level + 1)) <= hi - lo &&
               (lo & (((uint64_t)1 << (level + 1)) - 1)) == 0) {
            level++;
        }
        CS_ENSURE(n < 64, CS_E_INTERNAL);
        CS_TRY(node_get(log, level, lo >> level, parts[n++]));
        lo += (uint64_t)1 << level;
    }
    CS_ENSURE(n > 0, CS_E_INTERNAL);
    memcpy(out, parts[n - 1], H);
    if (log->pf.is_collecting) {
        return CS_SUCCESS; /* the positions are what the first pass is for */
    }
    for (size_t i = n - 1; i > 0; i--) {
        CS_TRY(cs_merkle_node_hash_ctx(&log->hash, parts[i - 1], out, out));
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

/* A root or proof of the committed tree of `size` leaves (arguments checked against it). */
static cs_res tree_read(struct cs_log *log, enum read_kind kind, struct read_op *op,
                        uint64_t size)
{
    switch (kind) {
    case R_ROOT:
        CS_ENSURE(op->a <= size, CS_E_ARG);
        return root_of(log, op->a, op->h1);
    case R_INCLUSION:
        CS_ENSURE(op->a < op->b && op->b <= size, CS_E_ARG);
        *op->n = 0;
        CS_TRY(node_get(log, 0, op->a, op->h1));
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

/* Reads the positions the first pass gathered, CS_LOG_STORE_SET_MAX at a time. */
static cs_res prefetch_fill(struct cs_log *log)
{
    struct prefetch *pf = &log->pf;
    for (size_t at = 0; at < pf->n; at += CS_LOG_STORE_SET_MAX) {
        size_t k = pf->n - at < CS_LOG_STORE_SET_MAX ? pf->n - at : CS_LOG_STORE_SET_MAX;
        CS_TRY(log->store.ops->get_hash_set(log->store.ctx, k, pf->level + at, pf->index + at,
                                            pf->hash[at]));
    }
    return CS_SUCCESS;
}

/*
 * tree_read twice: first gathering the store positions it needs (nothing hashed, outputs
 * overwritten after), then, once they are read in one go, for real.
 */
static cs_res tree_read_prefetched(struct cs_log *log, enum read_kind kind, struct read_op *op,
                                   uint64_t size)
{
    struct prefetch *pf = &log->pf;
    pf->n = 0;
    pf->is_collecting = true;
    cs_res r = tree_read(log, kind, op, size);
    pf->is_collecting = false;
    if (cs_ok(r)) {
        r = prefetch_fill(log);
    }
    if (cs_ok(r)) {
        r = tree_read(log, kind, op, size);
    }
    pf->n = 0;
    return r;
}

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
    case R_ENTRY:
        CS_ENSURE(op->a < size, CS_E_ARG);
        return ops->get_entry(ctx, op->a, op->entry);
    case R_ROOT:
    case R_INCLUSION:
    case R_CONSISTENCY:
        return tree_read_prefetched(log, kind, op, size);
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

size_t cs_log_cache_bytes(struct cs_log *log)
{
    if (log == NULL) {
        return 0;
    }
    pthread_mutex_lock(&log->store_mu);
    size_t bytes = sizeof log->edge + sizeof log->next + sizeof log->pf;
    for (size_t i = 0; i < UPPER_LEVELS; i++) {
        bytes += (size_t)log->upper[i].cap * H;
    }
    pthread_mutex_unlock(&log->store_mu);
    return bytes;
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
    if (!cs_ok(cs_fd_write_all(fd, p, len))) {
        close(fd);
        unlink(tmp);
        CS_FAIL(CS_E_IO);
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

CS_RESULT cs_log_tile(struct cs_log *log, unsigned L, uint64_t n, unsigned width,
                      struct cs_buf *out)
{
    CS_ENSURE(log != NULL && out != NULL && L < 8 && width >= 1 && width <= 256, CS_E_ARG);
    CS_ENSURE(n <= (UINT64_MAX >> 8) / 256, CS_E_ARG);
    uint64_t size = 0;
    CS_TRY(cs_log_size(log, &size));
    /* hash k of level 8L exists when (k + 1) << 8L <= size */
    uint64_t last = n * 256 + width; /* one past the last hash of the tile */
    CS_ENSURE(last <= (size >> (8 * L)), CS_E_NOT_FOUND);
    uint8_t buf[256 * H];
    pthread_mutex_lock(&log->store_mu);
    cs_res r = CS_SUCCESS;
    for (unsigned i = 0; i < width && cs_ok(r); i++) {
        r = node_get(log, 8 * L, n * 256 + i, buf + (size_t)i * H);
    }
    pthread_mutex_unlock(&log->store_mu);
    CS_TRY(r);
    return cs_buf_append(out, buf, (size_t)width * H);
}

CS_RESULT cs_log_entry_bundle(struct cs_log *log, uint64_t n, unsigned width, struct cs_buf *out)
{
    CS_ENSURE(log != NULL && out != NULL && width >= 1 && width <= 256, CS_E_ARG);
    CS_ENSURE(n <= UINT64_MAX / 256 - 1, CS_E_ARG);
    uint64_t size = 0;
    CS_TRY(cs_log_size(log, &size));
    CS_ENSURE(n * 256 + width <= size, CS_E_NOT_FOUND);
    for (unsigned i = 0; i < width; i++) {
        struct cs_blob e = { 0 };
        CS_TRY(cs_log_entry(log, n * 256 + i, &e));
        uint8_t len16[2] = { (uint8_t)(e.len >> 8), (uint8_t)e.len };
        cs_res r = e.len <= CS_LOG_ENTRY_MAX ? cs_buf_append(out, len16, 2)
                                             : (cs_res){ .code = CS_E_STORE };
        if (cs_ok(r)) {
            r = cs_buf_append(out, e.p, e.len);
        }
        cs_blob_clear(&e);
        CS_TRY(r);
    }
    return CS_SUCCESS;
}

static cs_res write_level_tile(struct cs_log *log, const char *dir, unsigned L, uint64_t n,
                               unsigned width)
{
    struct cs_buf b;
    cs_buf_init(&b, 256 * H);
    cs_res r = cs_log_tile(log, L, n, width, &b);
    char prefix[16];
    char rel[96];
    snprintf(prefix, sizeof prefix, "tile/%u", L);
    if (cs_ok(r)) {
        r = tile_name(prefix, n, width, rel, sizeof rel);
    }
    if (cs_ok(r)) {
        r = write_file(dir, rel, b.p, b.len);
    }
    cs_buf_clear(&b);
    return r;
}

static cs_res write_entry_bundle(struct cs_log *log, const char *dir, uint64_t n, unsigned width)
{
    struct cs_buf b;
    cs_buf_init(&b, 256 * (2 + (size_t)CS_LOG_ENTRY_MAX));
    cs_res r = cs_log_entry_bundle(log, n, width, &b);
    char rel[96];
    if (cs_ok(r)) {
        r = tile_name("tile/entries", n, width, rel, sizeof rel);
    }
    if (cs_ok(r)) {
        r = write_file(dir, rel, b.p, b.len);
    }
    cs_buf_clear(&b);
    return r;
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
