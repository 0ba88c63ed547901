/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log (src/tlog) against its floors, each measured in the same run.
 *
 *   appends: durable cs_log_append on a fresh SQLite log in --dir from 1 and 64 threads
 *            (group commit): appends/s and per-append latency. The floor is the disk:
 *            write(4 KiB) in place + fdatasync (what an SQLite WAL commit calls), and
 *            + fsync, on a file beside the log. Appends run in slices of APPEND_SLICE_S
 *            between which the writers block and the disk is probed for PROBE_SLICE_S, so
 *            that both see the same moments of a disk that other work shares. A writer has
 *            one append in flight, so W writers can never exceed W x the sync rate; that
 *            ceiling is printed too. Every acknowledged append must be in the log.
 *   proofs:  a log of 10^6 (and, with --big, 10^7) entries built with cs_log_append_many in
 *            batches of CS_LOG_BATCH_MAX (timed, wall and on-CPU), reopened (the time to
 *            open, which loads the log's caches, and their memory are printed), its roots
 *            checked against bench-roots.json, then cs_log_prove_inclusion (size = the whole tree)
 *            and cs_log_prove_consistency (new size = the whole tree) at random indices and
 *            old sizes: median and p99 of the wall-clock latency and of the calling thread's
 *            CPU time (the code's cost without the time it waited for a CPU), and the first
 *            call (cold caches). One proof in 16 is verified (untimed).
 *   hashing: 10^6 leaves of the bench-roots.json definition through cs_merkle_leaf_hashes
 *            (batches of LEAF_GROUP leaves, one SHA-256 context per batch) and
 *            cs_merkle_root, against the floor: SHA-256(0x00 || leaf) of the same bytes
 *            with one EVP_Digest call per leaf (SHA-256 fetched once). The tighter floor of
 *            a reused EVP_MD_CTX is printed beside it. Leaf hashing runs in chunks of 2^16
 *            leaves that alternate with both floors over the same chunk, so that load
 *            elsewhere on the machine weighs on all three alike. Best of ROUNDS rounds.
 *            The roots of every prefix size listed in bench-roots.json are compared, for
 *            the tree and for the floor's leaf hashes.
 *   peak RSS of the whole run (getrusage ru_maxrss).
 *
 * Leaf i (bench-roots.json): 128 bytes, byte j = 7j mod 256, then bytes 0..7 = i as a
 * big-endian uint64; every entry written here is such a leaf.
 *
 * usage: bench_tlog [--dir DIR] [--roots FILE] [--seconds S] [--big] [--keep]
 *                   [--only appends,proofs,hash]
 *   --dir      where the logs and the fsync probe go; must be the disk to measure (tmpfs
 *              is reported). Default: ./bench-tlog. Created when missing.
 *   --roots    bench-roots.json; when missing or absent the root checks are skipped and the
 *              output says so.
 *   --seconds  time per latency or rate measurement (default 2).
 *   --big      also build and measure the 10^7-entry log (4 to 10 minutes, 2.3 GB).
 *   --keep     keep the proof logs in DIR and reuse one that already holds its size.
 * Exit status 0 when every measurement ran, whether or not it meets its target; 1 on an
 * error (a wrong root, a proof that does not verify, a lost append); 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"
#include "tlog/merkle.h"

#include "bench_util.h"

const char *const bench_name = "bench_tlog";

#define H CS_MERKLE_HASH_LEN
#define LEAF_LEN 128u               /* bench-roots.json "leaf_size" */
#define N_HASH 1000000u             /* leaves hashed; bench-roots.json has this root */
#define N_SMALL UINT64_C(1000000)   /* proof log, always */
#define N_BIG UINT64_C(10000000)    /* proof log, --big */
#define APPEND_TARGET 50000.0       /* durable appends/s with 64 writers */
#define PROOF_TARGET_US 100.0       /* inclusion proof median at 10^7 entries */
#define HASH_RATIO_TARGET 0.70      /* tree leaves/s over floor leaves/s */
#define ROUNDS 3
#define CHUNK 65536u                /* leaves per alternation slice when hashing */
#define LEAF_GROUP 1024u            /* leaves per cs_merkle_leaf_hashes call */
#define WRITERS_MAX 64u
#define LAT_CAP 16384u              /* latency samples kept per writer */
#define PROOF_SAMPLES_MAX 1000000u
#define PROOF_SAMPLES_MIN 200u
#define PROBE_LEN 4096u             /* one page, as a small WAL commit writes */
#define APPEND_SLICE_S 0.25         /* appends and disk probe alternate in these slices */
#define PROBE_SLICE_S 0.1
#define ROOTS_MAX 64u
#define ROOTS_FILE_MAX (1024u * 1024u)

struct bench_opts {
    const char *dir;
    const char *roots_path;
    double seconds;
    bool is_big;
    bool is_keep;
    bool do_appends;
    bool do_proofs;
    bool do_hash;
};

/* The reference roots of bench-roots.json, sorted as in the file. */
struct ref_roots {
    size_t n_roots;
    uint64_t size[ROOTS_MAX];
    uint8_t root[ROOTS_MAX][H];
    bool is_loaded;
};

/* Leaf i of the bench-roots.json definition. */
static void leaf_of(uint64_t i, uint8_t out[LEAF_LEN])
{
    for (unsigned j = 8; j < LEAF_LEN; j++) {
        out[j] = (uint8_t)(7u * j);
    }
    for (unsigned j = 0; j < 8; j++) {
        out[j] = (uint8_t)(i >> (56 - 8 * j));
    }
}

/* Only bytes 0..7 differ between leaves: rewrite them in a buffer leaf_of filled. */
static void leaf_set_index(uint64_t i, uint8_t leaf[LEAF_LEN])
{
    for (unsigned j = 0; j < 8; j++) {
        leaf[j] = (uint8_t)(i >> (56 - 8 * j));
    }
}

/* splitmix64: a deterministic sequence of random indices, the same in every run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Sorts v and returns its median and 99th percentile (nearest rank). */
static void percentiles(double *v, size_t n, double *p50, double *p99)
{
    bench_sort(v, n);
    *p50 = v[n / 2];
    *p99 = bench_nearest_rank(v, n, 99);
}

static void hex_of(const uint8_t h[H], char out[2 * H + 1])
{
    if (!cs_ok(cs_hex_encode(h, H, out, 2 * H + 1))) {
        out[0] = '\0';
    }
}

/* Removes an SQLite database and its WAL and shared-memory files. */
static void db_remove(const char *path)
{
    char side[PATH_MAX + 8];
    (void)unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    (void)unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    (void)unlink(side);
}

static void log_closep(struct cs_log **log)
{
    cs_log_close(*log);
}

static cs_res log_open(const char *path, struct cs_log **out)
{
    struct cs_log_store store;
    cs_res r = cs_log_sqlite_open(path, &store);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: %s", path, custos_code_name(r.code));
    return cs_log_open(store, out);
}

/* ---- reference roots -------------------------------------------------------------- */

static cs_res roots_load(const char *path, struct ref_roots *ref)
{
    *ref = (struct ref_roots){ 0 };
    if (path == NULL || access(path, R_OK) != 0) {
        return CS_SUCCESS; /* not loaded: the checks say they were skipped */
    }
    struct cs_blob file = { 0 };
    cs_res r = cs_file_read(path, ROOTS_FILE_MAX, &file);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: cannot read", path);
    CS_AUTO_JSON *doc = NULL;
    r = cs_json_load(cs_cur_of(file.p, file.len), ROOTS_FILE_MAX, &doc);
    cs_blob_clear(&file);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: not a JSON object", path);
    uint64_t leaf_size = 0;
    json_t *roots = NULL;
    r = cs_json_get_uint(doc, "leaf_size", UINT32_MAX, &leaf_size);
    BENCH_ENSURE(cs_ok(r) && leaf_size == LEAF_LEN, CS_E_FORMAT, "%s: leaf_size is not %u",
                 path, LEAF_LEN);
    r = cs_json_get_arr(doc, "roots", ROOTS_MAX, &roots);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: no \"roots\" (at most %u)", path, ROOTS_MAX);
    for (size_t i = 0; i < json_array_size(roots); i++) {
        json_t *e = json_array_get(roots, i);
        r = cs_json_get_uint(e, "n", UINT64_MAX >> 1, &ref->size[i]);
        if (cs_ok(r)) {
            r = cs_json_get_hex(e, "root_hex", ref->root[i], H);
        }
        BENCH_ENSURE(cs_ok(r), r.code, "%s: roots[%zu] needs n and root_hex", path, i);
    }
    ref->n_roots = json_array_size(roots);
    ref->is_loaded = true;
    return CS_SUCCESS;
}

/* The reference root of a tree of size n, or NULL when the file has none. */
static const uint8_t *roots_find(const struct ref_roots *ref, uint64_t n)
{
    for (size_t i = 0; i < ref->n_roots; i++) {
        if (ref->size[i] == n) {
            return ref->root[i];
        }
    }
    return NULL;
}

/* ---- disk floor ------------------------------------------------------------------- */

/* Syncs per second of each kind, accumulated over the probe slices of one run. */
struct disk_floor {
    unsigned long n_fdatasync;
    double t_fdatasync;
    unsigned long n_fsync;
    double t_fsync;
};

/* Rewrites one page in place and syncs it, for `seconds`, adding to *n and *t. */
static cs_res probe_syncs(int fd, bool is_data_only, double seconds, unsigned long *n, double *t)
{
    uint8_t page[PROBE_LEN];
    memset(page, 0xa5, sizeof page);
    double start = bench_now_s();
    double elapsed = 0;
    do {
        page[0] = (uint8_t)*n;
        CS_ENSURE(pwrite(fd, page, sizeof page, 0) == (ssize_t)sizeof page, CS_E_IO);
        CS_ENSURE((is_data_only ? fdatasync(fd) : fsync(fd)) == 0, CS_E_IO);
        (*n)++;
        elapsed = bench_now_s() - start;
    } while (elapsed < seconds);
    *t += elapsed;
    return CS_SUCCESS;
}

/* One probe slice: fdatasync (what an SQLite WAL commit calls) then fsync, half each. */
static cs_res probe_slice(int fd, struct disk_floor *f)
{
    CS_TRY(probe_syncs(fd, true, PROBE_SLICE_S / 2, &f->n_fdatasync, &f->t_fdatasync));
    return probe_syncs(fd, false, PROBE_SLICE_S / 2, &f->n_fsync, &f->t_fsync);
}

/* ---- appends ------------------------------------------------------------------------ */

enum phase { PHASE_PAUSE, PHASE_RUN, PHASE_STOP };

/*
 * What the writers share with the thread that directs them. Paused writers block (no
 * polling): on a VM a thread that spins keeps its vCPU awake, which makes every sync
 * return sooner, and the floor must see the disk as the blocked appenders see it. The
 * running path is lock-free, so that the writers return to cs_log_append at once.
 */
struct control {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* phase changed, or busy fell to 0 while not running */
    atomic_int phase;
    atomic_uint busy;  /* writers inside cs_log_append */
};

struct writer {
    pthread_t thread;
    struct cs_log *log;
    struct control *ctl;
    uint64_t id;
    unsigned long n;   /* acknowledged appends */
    double *lat_us;    /* LAT_CAP samples; owned by the run */
    size_t n_lat;
    cs_res r;
};

static void control_signal(struct control *ctl)
{
    pthread_mutex_lock(&ctl->mu);
    pthread_cond_broadcast(&ctl->cv);
    pthread_mutex_unlock(&ctl->mu);
}

/* Leaves the busy count; the last one out tells a director that waits for the pause. */
static void writer_leave(struct control *ctl)
{
    if (atomic_fetch_sub(&ctl->busy, 1) == 1 && atomic_load(&ctl->phase) != PHASE_RUN) {
        control_signal(ctl);
    }
}

/* Blocks while paused; false when told to stop, else the writer is counted busy. */
static bool writer_may_go(struct control *ctl)
{
    for (;;) {
        int phase = atomic_load(&ctl->phase);
        if (phase == PHASE_STOP) {
            return false;
        }
        if (phase == PHASE_RUN) {
            atomic_fetch_add(&ctl->busy, 1);
            if (atomic_load(&ctl->phase) == PHASE_RUN) {
                return true;
            }
            writer_leave(ctl); /* paused in between: do not start */
            continue;
        }
        pthread_mutex_lock(&ctl->mu);
        while (atomic_load(&ctl->phase) == PHASE_PAUSE) {
            pthread_cond_wait(&ctl->cv, &ctl->mu);
        }
        pthread_mutex_unlock(&ctl->mu);
    }
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    uint8_t leaf[LEAF_LEN];
    leaf_of(0, leaf);
    while (writer_may_go(w->ctl)) {
        leaf_set_index((w->id << 40) | w->n, leaf);
        uint64_t index = 0;
        double t0 = bench_now_s();
        w->r = cs_log_append(w->log, cs_cur_of(leaf, sizeof leaf), &index);
        double t1 = bench_now_s();
        writer_leave(w->ctl);
        if (!cs_ok(w->r)) {
            break;
        }
        if (w->n_lat < LAT_CAP) {
            w->lat_us[w->n_lat++] = (t1 - t0) * 1e6;
        }
        w->n++;
    }
    return NULL;
}

/* Sets the phase; a pause returns once the appends in flight have completed. */
static void control_set(struct control *ctl, enum phase phase)
{
    pthread_mutex_lock(&ctl->mu);
    atomic_store(&ctl->phase, phase);
    pthread_cond_broadcast(&ctl->cv);
    while (phase != PHASE_RUN && atomic_load(&ctl->busy) != 0) {
        pthread_cond_wait(&ctl->cv, &ctl->mu);
    }
    pthread_mutex_unlock(&ctl->mu);
}

struct append_result {
    double rate;
    double p50_us;
    double p99_us;
    unsigned long n;
    double cpu_us;         /* CPU time of all threads per append */
    double fdatasync_rate; /* the floor, probed between the append slices */
    double fsync_rate;
};

/*
 * Appends in slices of APPEND_SLICE_S, between which the writers pause and the disk is
 * probed for PROBE_SLICE_S, until the appends have had `seconds`: the floor and the
 * appends see the same moments of a disk that other work shares.
 */
static cs_res append_slices(struct control *ctl, int probe_fd, double seconds,
                            double *append_s, double *append_cpu_s, struct disk_floor *floor)
{
    while (*append_s < seconds) {
        double t0 = bench_now_s();
        double c0 = bench_process_cpu_s();
        control_set(ctl, PHASE_RUN);
        struct timespec ts = { 0, (long)(APPEND_SLICE_S * 1e9) };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        control_set(ctl, PHASE_PAUSE);
        *append_s += bench_now_s() - t0;
        *append_cpu_s += bench_process_cpu_s() - c0;
        CS_TRY(probe_slice(probe_fd, floor));
    }
    return CS_SUCCESS;
}

static cs_res append_run(struct cs_log *log, int probe_fd, unsigned n_writers, double seconds,
                         double *lat, struct append_result *out)
{
    struct writer w[WRITERS_MAX];
    struct control ctl;
    pthread_mutex_init(&ctl.mu, NULL);
    pthread_cond_init(&ctl.cv, NULL);
    atomic_init(&ctl.phase, PHASE_PAUSE);
    atomic_init(&ctl.busy, 0);
    unsigned started = 0;
    for (; started < n_writers; started++) {
        w[started] = (struct writer){ .log = log, .ctl = &ctl, .id = started,
                                      .lat_us = lat + (size_t)started * LAT_CAP };
        if (pthread_create(&w[started].thread, NULL, writer_main, &w[started]) != 0) {
            break;
        }
    }
    double append_s = 0;
    double append_cpu_s = 0;
    struct disk_floor floor = { 0 };
    cs_res r = CS_SUCCESS;
    if (started == n_writers) {
        r = append_slices(&ctl, probe_fd, seconds, &append_s, &append_cpu_s, &floor);
    }
    control_set(&ctl, PHASE_STOP);
    size_t n_lat = 0;
    out->n = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        out->n += w[i].n;
        if (cs_ok(r) && !cs_ok(w[i].r)) {
            r = w[i].r;
        }
        /* gather the samples at the front of lat: writer i's region starts at or after it */
        memmove(lat + n_lat, w[i].lat_us, w[i].n_lat * sizeof *lat);
        n_lat += w[i].n_lat;
    }
    pthread_cond_destroy(&ctl.cv);
    pthread_mutex_destroy(&ctl.mu);
    BENCH_ENSURE(started == n_writers, CS_E_INTERNAL, "cannot start %u threads", n_writers);
    BENCH_ENSURE(cs_ok(r), r.code, "append or probe: %s (%s:%u)", custos_code_name(r.code),
                 r.file, r.line);
    BENCH_ENSURE(n_lat > 0 && floor.n_fdatasync > 0, CS_E_INTERNAL, "nothing measured");
    out->rate = (double)out->n / append_s;
    out->cpu_us = 1e6 * append_cpu_s / (double)out->n;
    out->fdatasync_rate = (double)floor.n_fdatasync / floor.t_fdatasync;
    out->fsync_rate = (double)floor.n_fsync / floor.t_fsync;
    percentiles(lat, n_lat, &out->p50_us, &out->p99_us);
    return CS_SUCCESS;
}

/*
 * A fresh log in dir, n_writers appending, interleaved with the disk probe on a file beside
 * it; every acknowledged append must be in the log afterwards.
 */
static cs_res append_bench(const char *dir, unsigned n_writers, double seconds, double *lat,
                           struct append_result *out)
{
    char path[PATH_MAX];
    char probe[PATH_MAX];
    CS_TRY(bench_path_in(dir, "appends.db", path));
    CS_TRY(bench_path_in(dir, "fsync-probe", probe));
    db_remove(path);
    int fd = open(probe, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BENCH_ENSURE(fd >= 0, CS_E_IO, "%s: %s", probe, strerror(errno));
    struct disk_floor warm = { 0 };
    cs_res r = probe_syncs(fd, false, 0.02, &warm.n_fsync, &warm.t_fsync); /* page on disk */
    {
        CS_AUTO(log_closep) struct cs_log *log = NULL;
        if (cs_ok(r)) {
            r = log_open(path, &log);
        }
        if (cs_ok(r)) {
            r = append_run(log, fd, n_writers, seconds, lat, out);
        }
        uint64_t size = 0;
        if (cs_ok(r)) {
            r = cs_log_size(log, &size);
        }
        if (cs_ok(r) && size != out->n) {
            fprintf(stderr, "bench_tlog: %lu appends acknowledged, log size %llu\n", out->n,
                    (unsigned long long)size);
            r = (cs_res){ .code = CS_E_STORE, .line = __LINE__, .file = __FILE__ };
        }
    }
    close(fd);
    (void)unlink(probe);
    db_remove(path);
    return r;
}

/* ---- proof logs ---------------------------------------------------------------------- */

/* Appends leaves [from, to) in batches of CS_LOG_BATCH_MAX. */
static cs_res log_fill(struct cs_log *log, uint64_t from, uint64_t to)
{
    CS_AUTO(cs_freep) uint8_t *leaves = NULL;
    CS_AUTO(cs_freep) struct cs_cur *entries = NULL;
    CS_TRY(cs_alloc(CS_LOG_BATCH_MAX, LEAF_LEN, (void **)&leaves));
    CS_TRY(cs_alloc(CS_LOG_BATCH_MAX, sizeof *entries, (void **)&entries));
    for (size_t i = 0; i < CS_LOG_BATCH_MAX; i++) {
        leaf_of(0, leaves + i * LEAF_LEN);
        entries[i] = cs_cur_of(leaves + i * LEAF_LEN, LEAF_LEN);
    }
    for (uint64_t at = from; at < to;) {
        size_t n = to - at < CS_LOG_BATCH_MAX ? (size_t)(to - at) : CS_LOG_BATCH_MAX;
        for (size_t i = 0; i < n; i++) {
            leaf_set_index(at + i, leaves + i * LEAF_LEN);
        }
        uint64_t first = 0;
        cs_res r = cs_log_append_many(log, entries, n, &first);
        BENCH_ENSURE(cs_ok(r), r.code, "cs_log_append_many at %llu: %s (%s:%u)",
                     (unsigned long long)at, custos_code_name(r.code), r.file, r.line);
        BENCH_ENSURE(first == at, CS_E_INTERNAL, "batch at %llu landed at %llu",
                     (unsigned long long)at, (unsigned long long)first);
        at += n;
    }
    return CS_SUCCESS;
}

/* Compares the log's roots with every reference size it holds; counts them in *n_checked. */
static cs_res log_check_roots(struct cs_log *log, uint64_t size, const struct ref_roots *ref,
                              size_t *n_checked)
{
    *n_checked = 0;
    for (size_t i = 0; i < ref->n_roots; i++) {
        if (ref->size[i] > size) {
            continue;
        }
        uint8_t root[H];
        CS_TRY(cs_log_root(log, ref->size[i], root));
        char got[2 * H + 1];
        char want[2 * H + 1];
        hex_of(root, got);
        hex_of(ref->root[i], want);
        BENCH_ENSURE(memcmp(root, ref->root[i], H) == 0, CS_E_SIGNATURE,
                     "log root at %llu is %s, bench-roots.json says %s",
                     (unsigned long long)ref->size[i], got, want);
        (*n_checked)++;
    }
    return CS_SUCCESS;
}

/*
 * Opens (building when needed) the log of exactly `size` leaves at path. With is_keep a
 * log that already has that size is reused and *build_s is 0; otherwise it starts empty.
 */
static cs_res log_prepare(const char *path, uint64_t size, bool is_keep, struct cs_log **out,
                          double *build_s, double *build_cpu_s, double *open_s)
{
    *out = NULL;
    *build_s = 0;
    *build_cpu_s = 0;
    if (!is_keep) {
        db_remove(path);
    }
    CS_AUTO(log_closep) struct cs_log *log = NULL;
    double start = bench_now_s();
    CS_TRY(log_open(path, &log));
    *open_s = bench_now_s() - start;
    uint64_t have = 0;
    CS_TRY(cs_log_size(log, &have));
    if (have != size) {
        cs_log_close(CS_MOVE(log));
        db_remove(path);
        CS_TRY(log_open(path, &log));
        start = bench_now_s();
        double cpu_start = bench_thread_cpu_s();
        CS_TRY(log_fill(log, 0, size));
        *build_s = bench_now_s() - start;
        *build_cpu_s = bench_thread_cpu_s() - cpu_start;
        /* proofs are measured on a reopened log, as after a restart: caches loaded at open */
        cs_log_close(CS_MOVE(log));
        start = bench_now_s();
        CS_TRY(log_open(path, &log));
        *open_s = bench_now_s() - start;
    }
    *out = CS_MOVE(log);
    return CS_SUCCESS;
}

struct proof_result {
    double p50_us;     /* wall clock */
    double p99_us;
    double cpu_p50_us; /* on-CPU time of the calling thread */
    double cpu_p99_us;
    double first_us;   /* the first call, with every cache cold */
    size_t n;
};

/* The expected leaf hash of leaf i, computed here from the definition. */
static cs_res expected_leaf_hash(uint64_t i, uint8_t out[H])
{
    uint8_t leaf[LEAF_LEN];
    leaf_of(i, leaf);
    return cs_merkle_leaf_hash(cs_cur_of(leaf, sizeof leaf), out);
}

static cs_res prove_inclusion_bench(struct cs_log *log, uint64_t size, double seconds,
                                    double *lat, double *cpu, struct proof_result *out)
{
    uint64_t rng = size;
    size_t n = 0;
    double start = bench_now_s();
    uint8_t tree_root[H];
    CS_TRY(cs_log_root(log, size, tree_root));
    while (n < PROOF_SAMPLES_MAX && (n < PROOF_SAMPLES_MIN || bench_now_s() - start < seconds)) {
        uint64_t index = next_random(&rng) % size;
        uint8_t leaf[H];
        uint8_t root[H];
        uint8_t proof[CS_MERKLE_PROOF_MAX * H];
        size_t n_proof = 0;
        double c0 = bench_thread_cpu_s();
        double t0 = bench_now_s();
        cs_res r = cs_log_prove_inclusion(log, index, size, leaf, root, proof, &n_proof);
        lat[n] = (bench_now_s() - t0) * 1e6;
        cpu[n++] = (bench_thread_cpu_s() - c0) * 1e6;
        BENCH_ENSURE(cs_ok(r), r.code, "inclusion proof of %llu: %s", (unsigned long long)index,
                     custos_code_name(r.code));
        if (n % 16 == 1) {
            uint8_t want[H];
            CS_TRY(expected_leaf_hash(index, want));
            r = cs_merkle_verify_inclusion(index, size, want, proof, n_proof, tree_root);
            BENCH_ENSURE(cs_ok(r) && memcmp(root, tree_root, H) == 0, CS_E_SIGNATURE,
                         "inclusion proof of %llu in %llu does not verify",
                         (unsigned long long)index, (unsigned long long)size);
        }
    }
    out->n = n;
    out->first_us = lat[0];
    percentiles(lat, n, &out->p50_us, &out->p99_us);
    percentiles(cpu, n, &out->cpu_p50_us, &out->cpu_p99_us);
    return CS_SUCCESS;
}

static cs_res prove_consistency_bench(struct cs_log *log, uint64_t size, double seconds,
                                      double *lat, double *cpu, struct proof_result *out)
{
    uint64_t rng = size ^ 1;
    size_t n = 0;
    double start = bench_now_s();
    while (n < PROOF_SAMPLES_MAX && (n < PROOF_SAMPLES_MIN || bench_now_s() - start < seconds)) {
        uint64_t old_size = 1 + next_random(&rng) % (size - 1);
        uint8_t old_root[H];
        uint8_t new_root[H];
        uint8_t proof[CS_MERKLE_PROOF_MAX * H];
        size_t n_proof = 0;
        double c0 = bench_thread_cpu_s();
        double t0 = bench_now_s();
        cs_res r = cs_log_prove_consistency(log, old_size, size, old_root, new_root, proof,
                                            &n_proof);
        lat[n] = (bench_now_s() - t0) * 1e6;
        cpu[n++] = (bench_thread_cpu_s() - c0) * 1e6;
        BENCH_ENSURE(cs_ok(r), r.code, "consistency proof %llu -> %llu: %s",
                     (unsigned long long)old_size, (unsigned long long)size,
                     custos_code_name(r.code));
        if (n % 16 == 1) {
            r = cs_merkle_verify_consistency(old_size, size, old_root, new_root, proof,
                                             n_proof);
            BENCH_ENSURE(cs_ok(r), CS_E_SIGNATURE, "consistency proof %llu -> %llu does not "
                         "verify", (unsigned long long)old_size, (unsigned long long)size);
        }
    }
    out->n = n;
    out->first_us = lat[0];
    percentiles(lat, n, &out->p50_us, &out->p99_us);
    percentiles(cpu, n, &out->cpu_p50_us, &out->cpu_p99_us);
    return CS_SUCCESS;
}

/* Builds (or reuses) the log of `size` entries, checks its roots, measures both proofs. */
static cs_res proof_bench(const struct bench_opts *o, const struct ref_roots *ref, uint64_t size,
                          const char *label, double *lat, double *cpu,
                          struct proof_result *inclusion)
{
    char name[64];
    char path[PATH_MAX];
    snprintf(name, sizeof name, "proofs-%s.db", label);
    CS_TRY(bench_path_in(o->dir, name, path));
    cs_res r = CS_SUCCESS;
    {
        CS_AUTO(log_closep) struct cs_log *log = NULL;
        double build_s = 0;
        double build_cpu_s = 0;
        double open_s = 0;
        CS_TRY(log_prepare(path, size, o->is_keep, &log, &build_s, &build_cpu_s, &open_s));
        if (build_s > 0) {
            printf("log %s: built in %.1f s: %.0f entries/s with cs_log_append_many, %u per "
                   "call; on-CPU %.1f us per entry\n", label, build_s, (double)size / build_s,
                   CS_LOG_BATCH_MAX, 1e6 * build_cpu_s / (double)size);
        } else {
            printf("log %s: reused %s (--keep)\n", label, path);
        }
        fflush(stdout);
        struct stat st;
        if (stat(path, &st) == 0) {
            printf("log %s: database %.0f MiB\n", label, (double)st.st_size / 1048576.0);
        }
        printf("log %s: opened in %.1f ms; caches in memory %.2f MiB (tree levels >= 8, right "
               "edge)\n", label, 1e3 * open_s, (double)cs_log_cache_bytes(log) / 1048576.0);
        size_t n_checked = 0;
        CS_TRY(log_check_roots(log, size, ref, &n_checked));
        if (ref->is_loaded) {
            printf("log %s: roots at %zu sizes <= %llu equal bench-roots.json\n", label,
                   n_checked, (unsigned long long)size);
        } else {
            printf("log %s: root check skipped: no bench-roots.json\n", label);
        }
        struct proof_result inc = { 0 };
        struct proof_result con = { 0 };
        r = prove_inclusion_bench(log, size, o->seconds, lat, cpu, &inc);
        if (cs_ok(r)) {
            r = prove_consistency_bench(log, size, o->seconds, lat, cpu, &con);
        }
        if (cs_ok(r)) {
            printf("inclusion proof @ %s: median %.1f us, p99 %.1f us; on-CPU median %.1f us, "
                   "p99 %.1f us; first %.1f us (%zu random indices, size %llu)\n", label,
                   inc.p50_us, inc.p99_us, inc.cpu_p50_us, inc.cpu_p99_us, inc.first_us, inc.n,
                   (unsigned long long)size);
            printf("consistency proof @ %s: median %.1f us, p99 %.1f us; on-CPU median %.1f us, "
                   "p99 %.1f us; first %.1f us (%zu random old sizes -> %llu)\n", label,
                   con.p50_us, con.p99_us, con.cpu_p50_us, con.cpu_p99_us, con.first_us, con.n,
                   (unsigned long long)size);
            *inclusion = inc;
            fflush(stdout);
        }
    }
    if (!o->is_keep) {
        db_remove(path);
    }
    return r;
}

/* ---- hashing ------------------------------------------------------------------------- */

struct hash_bench {
    EVP_MD *sha256;
    EVP_MD_CTX *ctx;
    uint8_t *hashes;        /* N_HASH leaf hashes */
    uint8_t *group;         /* LEAF_GROUP leaves */
    struct cs_cur *entries; /* views of the LEAF_GROUP leaves in group */
};

static void hash_bench_clear(struct hash_bench *hb)
{
    EVP_MD_free(hb->sha256);
    EVP_MD_CTX_free(hb->ctx);
    cs_free(hb->hashes);
    cs_free(hb->group);
    cs_free(hb->entries);
}

static cs_res hash_bench_init(struct hash_bench *hb)
{
    *hb = (struct hash_bench){ 0 };
    hb->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    hb->ctx = EVP_MD_CTX_new();
    CS_ENSURE(hb->sha256 != NULL && hb->ctx != NULL, CS_E_NOMEM);
    CS_TRY(cs_alloc(N_HASH, H, (void **)&hb->hashes));
    CS_TRY(cs_alloc(LEAF_GROUP, LEAF_LEN, (void **)&hb->group));
    CS_TRY(cs_alloc(LEAF_GROUP, sizeof *hb->entries, (void **)&hb->entries));
    for (size_t i = 0; i < LEAF_GROUP; i++) {
        leaf_of(0, hb->group + i * LEAF_LEN);
        hb->entries[i] = cs_cur_of(hb->group + i * LEAF_LEN, LEAF_LEN);
    }
    return CS_SUCCESS;
}

/*
 * The code under test: cs_merkle_leaf_hashes of leaves [from, to), LEAF_GROUP leaves per
 * call (the leaves of a group are written into one buffer first, as a batch of appends has
 * them).
 */
static cs_res tree_leaves(struct hash_bench *hb, uint64_t from, uint64_t to)
{
    for (uint64_t at = from; at < to; at += LEAF_GROUP) {
        size_t n = to - at < LEAF_GROUP ? (size_t)(to - at) : LEAF_GROUP;
        for (size_t i = 0; i < n; i++) {
            leaf_set_index(at + i, hb->group + i * LEAF_LEN);
        }
        CS_TRY(cs_merkle_leaf_hashes(hb->entries, n, hb->hashes + at * H));
    }
    return CS_SUCCESS;
}

/* The floor: the same 1 + 128 bytes per leaf, one EVP_Digest call each. */
static cs_res floor_leaves(struct hash_bench *hb, uint64_t from, uint64_t to)
{
    uint8_t buf[1 + LEAF_LEN];
    buf[0] = 0x00;
    leaf_of(from, buf + 1);
    for (uint64_t i = from; i < to; i++) {
        leaf_set_index(i, buf + 1);
        CS_ENSURE(EVP_Digest(buf, sizeof buf, hb->hashes + i * H, NULL, hb->sha256, NULL) == 1,
                  CS_E_CRYPTO);
    }
    return CS_SUCCESS;
}

/* The tight floor: the same bytes through one reused EVP_MD_CTX. */
static cs_res tight_leaves(struct hash_bench *hb, uint64_t from, uint64_t to)
{
    uint8_t buf[1 + LEAF_LEN];
    buf[0] = 0x00;
    leaf_of(from, buf + 1);
    for (uint64_t i = from; i < to; i++) {
        leaf_set_index(i, buf + 1);
        CS_ENSURE(EVP_DigestInit_ex2(hb->ctx, hb->sha256, NULL) == 1 &&
                      EVP_DigestUpdate(hb->ctx, buf, sizeof buf) == 1 &&
                      EVP_DigestFinal_ex(hb->ctx, hb->hashes + i * H, NULL) == 1,
                  CS_E_CRYPTO);
    }
    return CS_SUCCESS;
}

static cs_res timed(cs_res (*fn)(struct hash_bench *, uint64_t, uint64_t), struct hash_bench *hb,
                    uint64_t from, uint64_t to, double *seconds)
{
    double t0 = bench_now_s();
    CS_TRY(fn(hb, from, to));
    *seconds += bench_now_s() - t0;
    return CS_SUCCESS;
}

/* The root of the first n hashes must be the reference root of n, when there is one. */
static cs_res check_prefix_roots(const struct hash_bench *hb, const struct ref_roots *ref,
                                 const char *what)
{
    for (size_t i = 0; i < ref->n_roots; i++) {
        if (ref->size[i] > N_HASH) {
            continue;
        }
        uint8_t root[H];
        CS_TRY(cs_merkle_root(hb->hashes, ref->size[i], root));
        BENCH_ENSURE(memcmp(root, ref->root[i], H) == 0, CS_E_SIGNATURE,
                     "%s: root of %llu leaves differs from bench-roots.json", what,
                     (unsigned long long)ref->size[i]);
    }
    return CS_SUCCESS;
}

struct hash_result {
    double tree_rate;  /* leaves/s: leaf hashes + cs_merkle_root */
    double floor_rate; /* leaves/s: EVP_Digest per leaf */
    double tight_rate; /* leaves/s: reused EVP_MD_CTX per leaf */
    double root_share; /* of the tree's time, the part in cs_merkle_root */
    uint8_t root[H];
};

static cs_res hash_bench_run(struct hash_bench *hb, const struct ref_roots *ref,
                             struct hash_result *out)
{
    *out = (struct hash_result){ 0 };
    for (int round = 0; round < ROUNDS; round++) {
        double t_tree = 0;
        double t_floor = 0;
        double t_tight = 0;
        /* the floors first in each slice, so the tree's hashes are what is left in hashes */
        for (uint64_t at = 0; at < N_HASH; at += CHUNK) {
            uint64_t to = at + CHUNK < N_HASH ? at + CHUNK : N_HASH;
            CS_TRY(timed(floor_leaves, hb, at, to, &t_floor));
            CS_TRY(timed(tight_leaves, hb, at, to, &t_tight));
            CS_TRY(timed(tree_leaves, hb, at, to, &t_tree));
        }
        if (round == 0) {
            CS_TRY(check_prefix_roots(hb, ref, "cs_merkle_leaf_hashes + cs_merkle_root"));
        }
        uint8_t root[H];
        double t0 = bench_now_s();
        CS_TRY(cs_merkle_root(hb->hashes, N_HASH, root));
        double t_root = bench_now_s() - t0;
        t_tree += t_root;
        BENCH_ENSURE(round == 0 || memcmp(root, out->root, H) == 0, CS_E_INTERNAL,
                     "root changed between rounds");
        memcpy(out->root, root, H);
        double tree = N_HASH / t_tree;
        if (tree > out->tree_rate) {
            out->tree_rate = tree;
            out->root_share = t_root / t_tree;
        }
        out->floor_rate = N_HASH / t_floor > out->floor_rate ? N_HASH / t_floor : out->floor_rate;
        out->tight_rate = N_HASH / t_tight > out->tight_rate ? N_HASH / t_tight : out->tight_rate;
    }
    /* and the floor hashed the same bytes: its leaf hashes give the same roots */
    CS_TRY(floor_leaves(hb, 0, N_HASH));
    CS_TRY(check_prefix_roots(hb, ref, "EVP_Digest floor"));
    return CS_SUCCESS;
}

static cs_res hash_section(const struct ref_roots *ref, double *ratio)
{
    struct hash_bench hb;
    cs_res r = hash_bench_init(&hb);
    struct hash_result hr;
    if (cs_ok(r)) {
        r = hash_bench_run(&hb, ref, &hr);
    }
    hash_bench_clear(&hb);
    CS_TRY(r);
    *ratio = hr.tree_rate / hr.floor_rate;
    /* SHA-256 blocks per leaf: 3 for 0x00||128 bytes, plus 2 per node (65 bytes), n-1 nodes */
    printf("hashing: tree %.0f leaves/s (cs_merkle_leaf_hashes + cs_merkle_root, %.0f%% in the "
           "root), floor %.0f leaves/s (EVP_Digest per leaf), ratio %.2f (target >= %.2f) %s\n",
           hr.tree_rate, 100 * hr.root_share, hr.floor_rate, *ratio, HASH_RATIO_TARGET,
           bench_verdict(*ratio >= HASH_RATIO_TARGET));
    printf("hashing: tight floor %.0f leaves/s (one reused EVP_MD_CTX), ratio %.2f; a tree "
           "hashes 5 SHA-256 blocks per leaf where a leaf alone is 3\n", hr.tight_rate,
           hr.tree_rate / hr.tight_rate);
    printf("hashing: %.2f us/leaf tree, %.2f us/leaf floor, %.2f us/leaf tight floor\n",
           1e6 / hr.tree_rate, 1e6 / hr.floor_rate, 1e6 / hr.tight_rate);
    char hex[2 * H + 1];
    hex_of(hr.root, hex);
    const uint8_t *want = roots_find(ref, N_HASH);
    size_t n_smaller = 0;
    for (size_t i = 0; i < ref->n_roots; i++) {
        n_smaller += ref->size[i] < N_HASH;
    }
    if (want != NULL) {
        printf("hashing: root of %u leaves %s = bench-roots.json (and %zu smaller sizes, for "
               "the tree and for the floor)\n", N_HASH, hex, n_smaller);
    } else {
        printf("hashing: root of %u leaves %s; root check skipped: %s\n", N_HASH, hex,
               ref->is_loaded ? "bench-roots.json has no root of this size"
                              : "no bench-roots.json");
    }
    return CS_SUCCESS;
}

/* ---- main ---------------------------------------------------------------------------- */

static const char *fs_name(const char *dir)
{
    struct statfs sf;
    if (statfs(dir, &sf) != 0) {
        return "unknown";
    }
    switch ((unsigned long)sf.f_type) {
    case EXT4_SUPER_MAGIC:
        return "ext4";
    case XFS_SUPER_MAGIC:
        return "xfs";
    case BTRFS_SUPER_MAGIC:
        return "btrfs";
    case TMPFS_MAGIC:
        return "tmpfs: NOT a disk, durability numbers mean nothing";
    case RAMFS_MAGIC:
        return "ramfs: NOT a disk, durability numbers mean nothing";
    case OVERLAYFS_SUPER_MAGIC:
        return "overlayfs";
    default:
        return "other";
    }
}

static cs_res parse_only(const char *list, struct bench_opts *o)
{
    o->do_appends = strstr(list, "appends") != NULL;
    o->do_proofs = strstr(list, "proofs") != NULL;
    o->do_hash = strstr(list, "hash") != NULL;
    CS_ENSURE(o->do_appends || o->do_proofs || o->do_hash, CS_E_ARG);
    return CS_SUCCESS;
}

static cs_res parse_args(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){ .dir = "bench-tlog", .seconds = 2.0, .do_appends = true,
                              .do_proofs = true, .do_hash = true };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--dir") == 0 && has_value) {
            o->dir = argv[++i];
        } else if (strcmp(a, "--roots") == 0 && has_value) {
            o->roots_path = argv[++i];
        } else if (strcmp(a, "--seconds") == 0 && has_value) {
            CS_TRY(bench_parse_number(argv[++i], 0.1, 600.0, &o->seconds));
        } else if (strcmp(a, "--only") == 0 && has_value) {
            CS_TRY(parse_only(argv[++i], o));
        } else if (strcmp(a, "--big") == 0) {
            o->is_big = true;
        } else if (strcmp(a, "--keep") == 0) {
            o->is_keep = true;
        } else {
            CS_FAIL(CS_E_ARG);
        }
    }
    return CS_SUCCESS;
}

static void print_appends(unsigned n_writers, const struct append_result *a)
{
    printf("appends, %u writer%s: %.0f/s durable; disk floor in the same slices: fdatasync "
           "%.0f/s (%.2f ms), fsync %.0f/s; %.2f appends per floor fdatasync; latency median "
           "%.2f ms, p99 %.2f ms; CPU %.1f us per append (all threads)\n", n_writers,
           n_writers == 1 ? "" : "s", a->rate, a->fdatasync_rate, 1e3 / a->fdatasync_rate,
           a->fsync_rate, a->rate / a->fdatasync_rate, a->p50_us / 1e3, a->p99_us / 1e3,
           a->cpu_us);
}

static cs_res appends_section(const struct bench_opts *o)
{
    CS_AUTO(cs_freep) double *lat = NULL;
    CS_TRY(cs_alloc((size_t)WRITERS_MAX * LAT_CAP, sizeof *lat, (void **)&lat));
    struct append_result one = { 0 };
    struct append_result many = { 0 };
    CS_TRY(append_bench(o->dir, 1, o->seconds, lat, &one));
    print_appends(1, &one);
    CS_TRY(append_bench(o->dir, WRITERS_MAX, o->seconds, lat, &many));
    print_appends(WRITERS_MAX, &many);
    /*
     * A writer has one append in flight, so a commit carries at most WRITERS_MAX of them
     * and a commit waits for at least one sync of the write-ahead log.
     */
    double ceiling = WRITERS_MAX * many.fdatasync_rate;
    printf("appends, %u writers: %.0f/s (target >= %.0f) %s; ceiling %u x floor = %.0f/s, "
           "reached %.0f%%\n", WRITERS_MAX, many.rate, APPEND_TARGET,
           bench_verdict(many.rate >= APPEND_TARGET), WRITERS_MAX, ceiling,
           100 * many.rate / ceiling);
    if (ceiling < APPEND_TARGET) {
        printf("appends: this disk cannot reach the target with %u writers: %.0f/s needs "
               "%.0f commits/s of %u appends, a sync every %.2f ms; the disk syncs every "
               "%.2f ms\n", WRITERS_MAX, APPEND_TARGET, APPEND_TARGET / WRITERS_MAX,
               WRITERS_MAX, 1e3 * WRITERS_MAX / APPEND_TARGET, 1e3 / many.fdatasync_rate);
    } else if (many.rate < APPEND_TARGET) {
        printf("appends: the disk would allow the target; the commit path (SQLite statements, "
               "hashing, waking the writers) is what falls short\n");
    }
    return CS_SUCCESS;
}

static cs_res proofs_section(const struct bench_opts *o, const struct ref_roots *ref)
{
    CS_AUTO(cs_freep) double *lat = NULL;
    CS_AUTO(cs_freep) double *cpu = NULL;
    CS_TRY(cs_alloc(PROOF_SAMPLES_MAX, sizeof *lat, (void **)&lat));
    CS_TRY(cs_alloc(PROOF_SAMPLES_MAX, sizeof *cpu, (void **)&cpu));
    struct proof_result small = { 0 };
    CS_TRY(proof_bench(o, ref, N_SMALL, "1e6", lat, cpu, &small));
    if (!o->is_big) {
        printf("inclusion proof @ 1e7: not measured (opt-in: --big builds a 10^7-entry log, "
               "minutes and GBs); target median <= %.0f us applies there\n", PROOF_TARGET_US);
        return CS_SUCCESS;
    }
    struct proof_result big = { 0 };
    CS_TRY(proof_bench(o, ref, N_BIG, "1e7", lat, cpu, &big));
    printf("inclusion proof @ 1e7: median %.1f us (target <= %.0f us) %s; on-CPU median %.1f us "
           "%s\n", big.p50_us, PROOF_TARGET_US, bench_verdict(big.p50_us <= PROOF_TARGET_US),
           big.cpu_p50_us, bench_verdict(big.cpu_p50_us <= PROOF_TARGET_US));
    return CS_SUCCESS;
}

static cs_res run(const struct bench_opts *o)
{
    BENCH_ENSURE(mkdir(o->dir, 0700) == 0 || errno == EEXIST, CS_E_IO, "%s: %s", o->dir,
                 strerror(errno));
    struct ref_roots ref;
    CS_TRY(roots_load(o->roots_path, &ref));
    printf("bench_tlog: dir %s (%s); %u-byte entries (bench-roots.json leaf definition); "
           "%g s per measurement; %ld CPUs\n", o->dir, fs_name(o->dir), LEAF_LEN, o->seconds,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (ref.is_loaded) {
        printf("bench_tlog: reference roots: %s (%zu sizes)\n", o->roots_path, ref.n_roots);
    } else {
        printf("bench_tlog: no bench-roots.json (%s): root checks skipped\n",
               o->roots_path != NULL ? o->roots_path : "no --roots");
    }
    fflush(stdout);
    if (o->do_appends) {
        CS_TRY(appends_section(o));
        fflush(stdout);
    }
    if (o->do_proofs) {
        CS_TRY(proofs_section(o, &ref));
        fflush(stdout);
    }
    if (o->do_hash) {
        double ratio = 0;
        CS_TRY(hash_section(&ref, &ratio));
    }
    return bench_print_peak_rss();
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    if (!cs_ok(parse_args(argc, argv, &o))) {
        fprintf(stderr, "usage: bench_tlog [--dir DIR] [--roots bench-roots.json] [--seconds S] "
                        "[--big] [--keep] [--only appends,proofs,hash]\n");
        return 2;
    }
    cs_res r = run(&o);
    if (!cs_ok(r)) {
        fprintf(stderr, "bench_tlog: failed: %s (%s:%u)\n", custos_code_name(r.code),
                r.file != NULL ? r.file : "?", r.line);
    }
    return cs_ok(r) ? 0 : 1;
}
