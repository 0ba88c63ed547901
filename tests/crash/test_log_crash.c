/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash test of the audit log (issue 4): "a child process appends under load and is killed
 * with SIGKILL at random instants, many times; after each restart every acknowledged index
 * is present, the tree verifies, and the new checkpoint is consistent with every earlier
 * one".
 *
 * Each round forks a child that opens the log database (on a real disk: this build
 * directory unless CS_CRASH_DIR says otherwise), starts writer threads that append as fast
 * as they can (some with cs_log_append, some with cs_log_append_many batches) and one thread
 * that signs checkpoints, and reports over a pipe every append *after* it returned
 * (index + entry) and every checkpoint after it was handed out. One write() per message of
 * at most PIPE_BUF bytes, so messages are atomic even when the child dies. The parent
 * SIGKILLs the child after a random delay of 0-50 ms (counted from the child's "ready", or
 * in some rounds from fork, so that kills also land in open/WAL recovery/migration), then
 * reopens the log and checks:
 *
 *   - every acknowledged (index, entry) is present and byte-equal, and size >= highest
 *     acknowledged index + 1; every entry in the log is one a writer made (entries derive
 *     from the seed, so unacknowledged ones are checked byte for byte too). The whole log
 *     is read with one SQL scan per round; the entries added since the last round, and a
 *     sample of the older ones, also through cs_log_entry;
 *   - per writer thread, its entries appear in order, without gaps or duplicates, with at
 *     most one call committed but not acknowledged, and each cs_log_append_many call all or
 *     nothing;
 *   - the root recomputed from all entries (cs_merkle_leaf_hash + cs_merkle_root) equals
 *     cs_log_root, and so does an independent frontier at sizes added since the last round;
 *     inclusion proofs of this round's acknowledged entries verify against it;
 *   - SQLite's quick_check, journal_mode WAL, row counts that match the size, and every
 *     stored hash row equal to its recomputation from the entries;
 *   - every checkpoint handed out so far (the one the parent signs after each round with a
 *     test key, and those the child reported before it died) verifies, covers no more than
 *     the recovered size, has the root cs_log_root gives at its size, is recorded in the
 *     checkpoints table, and is consistent with the current tree (cs_log_prove_consistency +
 *     cs_merkle_verify_consistency from its size and root). The child's are checked in their
 *     round and in the last one, and sampled in between.
 *
 * Group-commit rounds run 64 writers and kill inside a commit: either, after the random
 * delay, as soon as a thread of the child is in pwrite64/fdatasync/fsync (read from
 * /proc/<pid>/task/<tid>/syscall), or, in tear rounds, while the commit is writing its WAL
 * frames (see arm_tear). Big-batch rounds queue 6 x 1500-entry cs_log_append_many calls at
 * once, more than CS_LOG_BATCH_MAX, to check that no call is split between two commits.
 *
 * SIGKILL cannot see a missing fsync (a killed process loses nothing that reached the kernel),
 * so the child also audits durability: this executable interposes fdatasync/fsync (SQLite is
 * a shared library and calls them through the PLT) and counts the syncs of the -wal file;
 * every acknowledged append must have seen one complete while it ran (synchronous=OFF or
 * NORMAL in WAL mode fail that). It is a guard, not a power-loss test.
 *
 * Environment: CS_CRASH_SEED (default: from the clock; printed, and printed again on
 * failure), CS_CRASH_ROUNDS / CS_CRASH_GC_ROUNDS / CS_CRASH_BIG_ROUNDS (rounds of each
 * kind: 36, 10, 4), CS_CRASH_DIR. The seed fixes entries, delays and round kinds; where a
 * kill lands also depends on timing.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_test.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

#define H CS_MERKLE_HASH_LEN

#define ROUNDS_DEFAULT 36    /* kill-while-appending rounds */
#define GC_ROUNDS_DEFAULT 10 /* kill-inside-a-group-commit rounds */
#define BIG_ROUNDS_DEFAULT 4 /* rounds with batches bigger than a commit's share */
#define ROUNDS_MAX 10000
#define THREADS 8     /* writers per ordinary round */
#define GC_THREADS 64 /* writers per group-commit round */
#define BIG_THREADS 24 /* writers per big-batch round, 6 of them appending BIG_BATCH at once */
#define BIG_BATCH 1500
#define MAX_THREADS 64
#define DELAY_MAX_US 50000u
#define MSG_HDR 16
#define ENTRY_MAX (PIPE_BUF - MSG_HDR)
#define PROOF_SAMPLE 32 /* inclusion proofs of new entries checked per round */

_Static_assert(PIPE_BUF >= 4096, "messages rely on atomic pipe writes of 4096 bytes");

enum msg_type { M_READY = 'R', M_ENTRY = 'E', M_CHECKPOINT = 'C', M_ERROR = 'X', M_TEAR = 'W' };

struct round_cfg {
    unsigned threads;
    bool is_gc;        /* 64 threads, killed inside a group commit */
    bool is_big;       /* some writers append BIG_BATCH entries per call */
    bool is_from_fork; /* the delay counts from fork, not from "ready" */
    uint32_t delay_us;
    uint32_t tear_at;  /* > 0: the child stops at this WAL write (the tear-at rounds) */
    bool is_half;      /* ... after writing half of it */
};

/* Who appended the entry at a log index, when its append was acknowledged. */
struct ack {
    uint32_t round, thread, seq;
    bool is_acked;
};

struct checkpoint {
    uint64_t size;
    uint8_t root[H];
    char *note;
    size_t len;
    unsigned round;
    bool is_child; /* reported by a killed child rather than signed by the parent */
};

/* The parent's knowledge across rounds (test state, single-threaded parent). */
static struct {
    uint64_t seed;
    uint64_t rng;       /* round choices: depend on the seed only */
    uint64_t check_rng; /* samples of the checks (their count depends on timing) */
    char dir[PATH_MAX];
    char db[PATH_MAX + 16];
    char skey[CS_NOTE_SKEY_MAX];
    char vkey[CS_NOTE_VKEY_MAX];
    struct cs_note_vkey vk;
    bool is_setup, is_broken;
    unsigned rounds, gc_rounds, big_rounds, n_rounds;
    struct round_cfg cfg[ROUNDS_MAX];
    uint32_t (*n_acked)[MAX_THREADS]; /* [round][thread] */
    struct ack *acks;
    size_t acks_cap;
    uint64_t acked_end; /* highest acknowledged index + 1 */
    struct checkpoint *cps;
    size_t n_cps, cps_cap;
    uint64_t last_size;
    unsigned long total_acked, total_unacked, child_cps, in_commit_kills;
    char gc_syscalls[256];
} S;

/* ---- randomness: splitmix64 (rand() is banned and not reproducible across libcs) ---- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t next_rand(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return mix64(*state);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned batch_of(const struct round_cfg *c, unsigned thread);

/*
 * Entry `seq` of writer `thread` in `round`: a text header, then binary padding derived
 * from the seed, 1..~3800 bytes (1..48 for big-batch writers, so their commits are quick).
 * Both the child (to append) and the parent (to check any entry found in the log) compute it.
 */
static size_t gen_entry(uint32_t round, uint32_t thread, uint32_t seq, uint8_t *out)
{
    int n = snprintf((char *)out, ENTRY_MAX, "crash r=%u t=%u s=%u;", round, thread, seq);
    if (n <= 0 || n >= 64) {
        abort();
    }
    uint64_t st = mix64(S.seed ^ mix64(((uint64_t)round << 40) ^ ((uint64_t)thread << 32) ^ seq));
    uint64_t x = next_rand(&st);
    size_t pad = (x & 31) == 0 ? 1200 + (size_t)((x >> 8) % 2600) : 1 + (size_t)((x >> 8) % 1200);
    if (batch_of(&S.cfg[round], thread) == BIG_BATCH) {
        pad = 1 + (size_t)((x >> 8) % 48);
    }
    for (size_t i = 0; i < pad; i++) {
        if (i % 8 == 0) {
            x = next_rand(&st);
        }
        out[(size_t)n + i] = (uint8_t)(x >> (8 * (i % 8)));
    }
    return (size_t)n + pad;
}

/* Parses the header of an entry; false if it is not one gen_entry makes. */
static bool parse_entry(const uint8_t *p, size_t len, uint32_t *round, uint32_t *thread,
                        uint32_t *seq)
{
    char head[64];
    size_t n = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, p, n);
    head[n] = '\0';
    unsigned r = 0, t = 0, s = 0;
    int used = 0;
    if (sscanf(head, "crash r=%u t=%u s=%u;%n", &r, &t, &s, &used) != 3 || used == 0) {
        return false;
    }
    *round = r;
    *thread = t;
    *seq = s;
    return true;
}

static bool is_generated(const uint8_t *p, size_t len, uint32_t *round, uint32_t *thread,
                         uint32_t *seq)
{
    static uint8_t want[ENTRY_MAX];
    if (!parse_entry(p, len, round, thread, seq) || *round > S.n_rounds ||
        *thread >= S.cfg[*round].threads) {
        return false;
    }
    size_t n = gen_entry(*round, *thread, *seq, want);
    return n == len && memcmp(want, p, n) == 0;
}

/*
 * Writers t with t % 4 == 3 append batches (cs_log_append_many); the others one by one.
 * A batch is one call, so it must be one commit: in the log, all of it or none of it. Big
 * batches (6 x 1500 queued at once > CS_LOG_BATCH_MAX) test that the group commit does not
 * split a call between two commits.
 */
static unsigned batch_of(const struct round_cfg *c, unsigned thread)
{
    if (thread % 4 != 3) {
        return 1;
    }
    return c->is_big ? BIG_BATCH : c->is_gc ? 8 : 4;
}

/* ---- the child -------------------------------------------------------------------- */

/* The durability audit: completed syncs of a -wal file in this process. */
typedef int (*sync_fn)(int fd);
static sync_fn real_fdatasync, real_fsync;
static _Atomic unsigned long wal_syncs;

static bool is_wal_fd(int fd);

__attribute__((constructor)) static void resolve_syncs(void)
{
    /* POSIX dlsym returns functions as void *; ISO C has no cast for that, memcpy does it */
    void *a = dlsym(RTLD_NEXT, "fdatasync");
    void *b = dlsym(RTLD_NEXT, "fsync");
    if (a == NULL || b == NULL) {
        abort();
    }
    memcpy(&real_fdatasync, &a, sizeof a);
    memcpy(&real_fsync, &b, sizeof b);
}

__attribute__((visibility("default"))) int fdatasync(int fd)
{
    int rc = real_fdatasync(fd);
    if (rc == 0 && is_wal_fd(fd)) {
        wal_syncs++;
    }
    return rc;
}

__attribute__((visibility("default"))) int fsync(int fd)
{
    int rc = real_fsync(fd);
    if (rc == 0 && is_wal_fd(fd)) {
        wal_syncs++;
    }
    return rc;
}

/*
 * Tear rounds: SQLite's unix VFS lets a program replace its system calls
 * (sqlite3_vfs.xSetSystemCall). In the child, pwrite64 on the -wal file counts down and, at
 * the chosen write, optionally writes half of it, tells the parent (M_TEAR) and blocks until
 * the parent's SIGKILL: the commit being written is torn part-way through its WAL frames.
 */
typedef ssize_t (*pwrite64_fn)(int fd, const void *buf, size_t n, off_t off);
static pwrite64_fn real_pwrite64;
static _Atomic long tear_countdown;
static bool is_tear_half;
static int tear_pipe = -1;

static void send_msg(int fd, enum msg_type type, uint64_t index, const void *p, size_t len);

static bool is_wal_fd(int fd)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    return n > 4 && memcmp(target + n - 4, "-wal", 4) == 0;
}

static ssize_t tear_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (tear_countdown > 0 && is_wal_fd(fd) && tear_countdown-- == 1) {
        if (is_tear_half && n > 1) {
            (void)real_pwrite64(fd, buf, n / 2, off);
        }
        send_msg(tear_pipe, M_TEAR, (uint64_t)off, NULL, 0);
        for (;;) {
            pause();
        }
    }
    return real_pwrite64(fd, buf, n, off);
}

static void arm_tear(const struct round_cfg *cfg, int fd)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    if (vfs == NULL || vfs->iVersion < 3 || vfs->xGetSystemCall == NULL) {
        return; /* the parent notices that no M_TEAR comes */
    }
    real_pwrite64 = (pwrite64_fn)vfs->xGetSystemCall(vfs, "pwrite64");
    if (real_pwrite64 == NULL) {
        return;
    }
    tear_pipe = fd;
    is_tear_half = cfg->is_half;
    tear_countdown = cfg->tear_at;
    (void)vfs->xSetSystemCall(vfs, "pwrite64", (sqlite3_syscall_ptr)tear_pwrite64);
}

struct child {
    struct cs_log *log;
    struct cs_note_signer signer;
    const struct round_cfg *cfg;
    unsigned round;
    int fd;
};

struct child_thread {
    struct child *c;
    unsigned thread;
};

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* One message, one write(): header (type, pad, u32 length, u64 index), then the bytes. */
static void send_msg(int fd, enum msg_type type, uint64_t index, const void *p, size_t len)
{
    uint8_t buf[PIPE_BUF];
    if (len > sizeof buf - MSG_HDR) {
        _exit(5);
    }
    memset(buf, 0, MSG_HDR);
    buf[0] = (uint8_t)type;
    put_be(buf + 4, len, 4);
    put_be(buf + 8, index, 8);
    if (len > 0) {
        memcpy(buf + MSG_HDR, p, len);
    }
    for (;;) {
        ssize_t w = write(fd, buf, MSG_HDR + len);
        if (w == (ssize_t)(MSG_HDR + len)) {
            return;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        _exit(6); /* the parent is gone, or the write was not atomic */
    }
}

static void child_fail(struct child *c, const char *what, cs_res r)
{
    char text[256];
    int n = r.file != NULL ? snprintf(text, sizeof text, "%s: %s (raised at %s:%u)", what,
                                      custos_code_name(r.code), r.file, r.line)
                           : snprintf(text, sizeof text, "%s: %s", what, custos_code_name(r.code));
    send_msg(c->fd, M_ERROR, 0, text, n > 0 ? (size_t)n : 0);
    _exit(3);
}

static void *child_writer(void *arg)
{
    struct child_thread *ct = arg;
    struct child *c = ct->c;
    unsigned batch = batch_of(c->cfg, ct->thread);
    uint8_t (*bufs)[ENTRY_MAX] = malloc(batch * sizeof *bufs); /* freed by our death */
    struct cs_cur *curs = malloc(batch * sizeof *curs);
    if (bufs == NULL || curs == NULL) {
        child_fail(c, "malloc", (cs_res){ .code = CS_E_NOMEM });
    }
    for (uint32_t seq = 0;; seq += batch) {
        for (unsigned i = 0; i < batch; i++) {
            size_t len = gen_entry(c->round, ct->thread, seq + i, bufs[i]);
            curs[i] = cs_cur_of(bufs[i], len);
        }
        uint64_t index = 0;
        unsigned long syncs = wal_syncs;
        cs_res r = batch == 1 ? cs_log_append(c->log, curs[0], &index)
                              : cs_log_append_many(c->log, curs, batch, &index);
        if (!cs_ok(r)) {
            child_fail(c, "append", r);
        }
        if (wal_syncs == syncs) { /* the commit that holds our entries synced the WAL after them */
            child_fail(c, "durability audit: append returned without a WAL fsync while it ran",
                       (cs_res){ .code = CS_E_STORE });
        }
        /* acknowledged: only now may the parent count on these indices */
        for (unsigned i = 0; i < batch; i++) {
            send_msg(c->fd, M_ENTRY, index + i, curs[i].p, curs[i].left);
        }
    }
    return NULL;
}

static void *child_checkpointer(void *arg)
{
    struct child *c = arg;
    for (;;) {
        char note[CS_LOG_NOTE_MAX];
        size_t len = 0;
        uint64_t size = 0;
        cs_res r = cs_log_checkpoint(c->log, &c->signer, note, sizeof note, &len, &size);
        if (!cs_ok(r)) {
            child_fail(c, "checkpoint", r);
        }
        send_msg(c->fd, M_CHECKPOINT, size, note, len);
        struct timespec ts = { 0, 3 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void child_main(const struct round_cfg *cfg, unsigned round, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(9);
    }
    static struct child c;
    static struct child_thread ct[MAX_THREADS];
    c = (struct child){ .cfg = cfg, .round = round, .fd = fd };
    if (cfg->tear_at > 0) {
        arm_tear(cfg, fd);
    }
    struct cs_log_store st;
    cs_res r = cs_log_sqlite_open(S.db, &st);
    if (cs_ok(r)) {
        r = cs_log_open(st, &c.log);
    }
    if (!cs_ok(r)) {
        child_fail(&c, "open", r);
    }
    r = cs_note_signer_parse(cs_cur_of((const uint8_t *)S.skey, strlen(S.skey)), &c.signer);
    if (!cs_ok(r)) {
        child_fail(&c, "signer", r);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (unsigned t = 0; t < cfg->threads; t++) {
        pthread_t tid;
        ct[t] = (struct child_thread){ &c, t };
        if (pthread_create(&tid, &attr, child_writer, &ct[t]) != 0) {
            child_fail(&c, "pthread_create", (cs_res){ .code = CS_E_INTERNAL });
        }
    }
    pthread_t tid;
    if (pthread_create(&tid, &attr, child_checkpointer, &c) != 0) {
        child_fail(&c, "pthread_create", (cs_res){ .code = CS_E_INTERNAL });
    }
    send_msg(fd, M_READY, 0, NULL, 0);
    for (int i = 0; i < 100; i++) { /* the parent kills us long before this */
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    _exit(4);
}

/* ---- the parent: receiving ---------------------------------------------------------- */

struct inbox {
    uint8_t buf[1 << 20];
    size_t len;
    bool is_ready, is_eof, is_error, is_tearing;
    uint64_t tear_offset;
    unsigned long acked, cps;
};

static void remember_ack(uint64_t index, uint32_t round, uint32_t thread, uint32_t seq)
{
    if (index >= S.acks_cap) {
        size_t cap = S.acks_cap == 0 ? 4096 : S.acks_cap;
        while (cap <= index) {
            cap *= 2;
        }
        struct ack *a = realloc(S.acks, cap * sizeof *a);
        if (a == NULL) {
            abort();
        }
        memset(a + S.acks_cap, 0, (cap - S.acks_cap) * sizeof *a);
        S.acks = a;
        S.acks_cap = cap;
    }
    if (S.acks[index].is_acked) {
        CS_T_FAIL_("index %llu acknowledged twice", (unsigned long long)index);
        return;
    }
    S.acks[index] = (struct ack){ round, thread, seq, true };
    if (index + 1 > S.acked_end) {
        S.acked_end = index + 1;
    }
}

static void add_checkpoint(const char *note, size_t len, uint64_t size, unsigned round,
                           bool is_child)
{
    struct cs_note parsed;
    struct cs_checkpoint cp;
    bool ok = false;
    cs_res r = cs_note_parse((const uint8_t *)note, len, &parsed);
    if (cs_ok(r)) {
        r = cs_note_verify(&parsed, &S.vk, 1, &ok, NULL);
    }
    if (cs_ok(r)) {
        r = cs_checkpoint_parse(parsed.text, &cp);
    }
    EXPECT_OK(r);
    if (!cs_ok(r)) {
        return;
    }
    EXPECT_TRUE(ok);
    EXPECT_EQ(cp.size, size);
    if (S.n_cps == S.cps_cap) {
        S.cps_cap = S.cps_cap == 0 ? 64 : 2 * S.cps_cap;
        struct checkpoint *c = realloc(S.cps, S.cps_cap * sizeof *c);
        if (c == NULL) {
            abort();
        }
        S.cps = c;
    }
    struct checkpoint *c = &S.cps[S.n_cps++];
    *c = (struct checkpoint){ .size = cp.size, .len = len, .round = round, .is_child = is_child };
    memcpy(c->root, cp.root, H);
    c->note = malloc(len);
    if (c->note == NULL) {
        abort();
    }
    memcpy(c->note, note, len);
}

/* Handles the complete messages in the inbox; keeps a partial one for later. */
static void handle_msgs(struct inbox *in, unsigned round)
{
    size_t off = 0;
    while (in->len - off >= MSG_HDR) {
        const uint8_t *m = in->buf + off;
        size_t len = (size_t)get_be(m + 4, 4);
        uint64_t index = get_be(m + 8, 8);
        if (len > ENTRY_MAX) {
            CS_T_FAIL_("bad message length %zu", len);
            in->is_error = true;
            in->len = 0;
            return;
        }
        if (in->len - off < MSG_HDR + len) {
            break;
        }
        const uint8_t *p = m + MSG_HDR;
        uint32_t r = 0, t = 0, s = 0;
        switch (m[0]) {
        case M_READY:
            in->is_ready = true;
            break;
        case M_ENTRY:
            if (!is_generated(p, len, &r, &t, &s) || r != round ||
                s != S.n_acked[round][t]) {
                CS_T_FAIL_("round %u: acknowledged entry %llu is not the next of its writer",
                           round, (unsigned long long)index);
                break;
            }
            S.n_acked[round][t]++;
            remember_ack(index, r, t, s);
            in->acked++;
            break;
        case M_CHECKPOINT:
            add_checkpoint((const char *)p, len, index, round, true);
            in->cps++;
            break;
        case M_TEAR:
            in->is_tearing = true;
            in->tear_offset = index;
            break;
        case M_ERROR:
            CS_T_FAIL_("round %u: the child failed: %.*s", round, (int)len, (const char *)p);
            in->is_error = true;
            break;
        default:
            CS_T_FAIL_("bad message type %u", m[0]);
            in->is_error = true;
            break;
        }
        off += MSG_HDR + len;
    }
    memmove(in->buf, in->buf + off, in->len - off);
    in->len -= off;
}

/* Reads what the pipe holds, waiting up to timeout_us (0: do not wait). */
static void pump(struct inbox *in, int fd, unsigned round, uint64_t timeout_us)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    struct timespec ts = { (time_t)(timeout_us / 1000000u), (long)(timeout_us % 1000000u) * 1000 };
    int rc = ppoll(&pfd, 1, &ts, NULL);
    if (rc <= 0) {
        return;
    }
    for (;;) {
        ssize_t n = read(fd, in->buf + in->len, sizeof in->buf - in->len);
        if (n > 0) {
            in->len += (size_t)n;
            handle_msgs(in, round);
            continue;
        }
        if (n == 0) {
            in->is_eof = true;
        } else if (errno == EINTR) {
            continue;
        }
        return; /* EAGAIN: drained for now */
    }
}

/*
 * The syscall a thread of pid is blocked in, among those of a commit (WAL frames are
 * written with pwrite64 and made durable with fdatasync/fsync), or -1. -2 when /proc does
 * not let us look.
 */
static long commit_syscall(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return -2;
    }
    long found = -1;
    bool is_readable = false;
    struct dirent *e;
    while (found < 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char file[64 + sizeof e->d_name];
        snprintf(file, sizeof file, "/proc/%d/task/%s/syscall", (int)pid, e->d_name);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        char text[64];
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        if (n <= 0) {
            continue;
        }
        is_readable = true;
        text[n] = '\0';
        char *end = NULL;
        long nr = strtol(text, &end, 10);
        if (end != text && (nr == SYS_pwrite64 || nr == SYS_fdatasync || nr == SYS_fsync)) {
            found = nr;
        }
    }
    closedir(d);
    return found >= 0 || is_readable ? found : -2;
}

static const char *syscall_name(long nr)
{
    switch (nr) {
    case SYS_pwrite64: return "pwrite64";
    case SYS_fdatasync: return "fdatasync";
    case SYS_fsync: return "fsync";
    default: return "?";
    }
}

/* ---- the parent: checking ----------------------------------------------------------- */

static struct cs_log *reopen(void)
{
    struct cs_log_store st;
    struct cs_log *log = NULL;
    cs_res r = cs_log_sqlite_open(S.db, &st);
    if (cs_ok(r)) {
        r = cs_log_open(st, &log);
    }
    EXPECT_OK(r);
    return cs_ok(r) ? log : NULL;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CS_T_FAIL_("prepare %s: %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = prepare(db, sql);
    long long v = -1;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static void check_hash_rows(sqlite3 *db, const uint8_t *leaves, uint64_t size);

/*
 * What only SQL can see (this is the SQLite store's test): the file is sound, there are no
 * rows beyond the size, and every checkpoint handed out was recorded.
 */
static void check_sql(sqlite3 *db, uint64_t size, const uint8_t *leaves)
{
    /* = integrity_check here: the schema has no secondary index (log_sqlite.c) */
    sqlite3_stmt *st = prepare(db, "PRAGMA quick_check");
    const unsigned char *text = st != NULL && sqlite3_step(st) == SQLITE_ROW
                                    ? sqlite3_column_text(st, 0)
                                    : NULL;
    EXPECT_STR_EQ((const char *)text, "ok");
    sqlite3_finalize(st);
    st = prepare(db, "PRAGMA journal_mode"); /* persistent in the file, unlike synchronous */
    text = st != NULL && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    EXPECT_STR_EQ((const char *)text, "wal");
    sqlite3_finalize(st);
    uint64_t hashes = 0;
    for (unsigned l = 0; l < 64 && (size >> l) > 0; l++) {
        hashes += size >> l; /* level l holds one hash per complete subtree of 2^l leaves */
    }
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM entries"), size);
    EXPECT_EQ(query_int(db, "SELECT COALESCE(MAX(idx), -1) FROM entries"), (long long)size - 1);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM hashes"), hashes);
    check_hash_rows(db, leaves, size);
    EXPECT_EQ(query_int(db, "SELECT size FROM tree"), size);
    st = prepare(db, "SELECT note FROM checkpoints WHERE size = ?1");
    for (size_t i = 0; st != NULL && i < S.n_cps; i++) {
        const struct checkpoint *c = &S.cps[i];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)c->size);
        bool is_same = sqlite3_step(st) == SQLITE_ROW &&
                       (size_t)sqlite3_column_bytes(st, 0) == c->len &&
                       memcmp(sqlite3_column_blob(st, 0), c->note, c->len) == 0;
        if (!is_same) {
            CS_T_FAIL_("checkpoint of size %llu (round %u, %s) is not recorded as handed out",
                       (unsigned long long)c->size, c->round, c->is_child ? "child" : "parent");
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/*
 * Every stored hash row (level l, index k: the root of leaves [k 2^l, (k+1) 2^l), see
 * store/log_store.h) equals its recomputation from the leaves, and no row is missing or extra.
 */
static void check_hash_rows(sqlite3 *db, const uint8_t *leaves, uint64_t size)
{
    const uint8_t *level[64] = { leaves };
    uint8_t *owned[64] = { NULL };
    unsigned n_levels = 1;
    for (unsigned l = 1; l < 64 && (size >> l) > 0; l++, n_levels++) {
        uint64_t count = size >> l;
        owned[l] = malloc(count * H);
        if (owned[l] == NULL) {
            abort();
        }
        for (uint64_t k = 0; k < count; k++) {
            EXPECT_OK(cs_merkle_node_hash(level[l - 1] + 2 * k * H, level[l - 1] + (2 * k + 1) * H,
                                          owned[l] + k * H));
        }
        level[l] = owned[l];
    }
    sqlite3_stmt *st = prepare(db, "SELECT level, idx, hash FROM hashes ORDER BY level, idx");
    uint64_t rows = 0, bad = 0;
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_int64 l = sqlite3_column_int64(st, 0), k = sqlite3_column_int64(st, 1);
        bool is_ok = l >= 0 && l < (sqlite3_int64)n_levels && k >= 0 &&
                     (uint64_t)k < (size >> l) && sqlite3_column_bytes(st, 2) == H &&
                     memcmp(sqlite3_column_blob(st, 2), level[l] + (uint64_t)k * H, H) == 0;
        if (!is_ok && bad++ < 5) {
            CS_T_FAIL_("hash row (level %lld, index %lld) is wrong or beyond size %llu", l, k,
                       (unsigned long long)size);
        }
        rows++;
    }
    sqlite3_finalize(st);
    uint64_t want = 0;
    for (unsigned l = 0; l < n_levels; l++) {
        want += size >> l;
    }
    EXPECT_EQ(rows, want);
    for (unsigned l = 1; l < n_levels; l++) {
        free(owned[l]);
    }
}

/* The frontier of perfect subtrees (FORMATS 2.1), independent of log.c: prefix roots. */
struct frontier {
    uint8_t h[64][H];
    unsigned n;
    uint64_t size;
};

static void frontier_push(struct frontier *f, const uint8_t leaf[H])
{
    memcpy(f->h[f->n++], leaf, H);
    for (uint64_t c = ++f->size; (c & 1) == 0; c >>= 1) {
        f->n--;
        EXPECT_OK(cs_merkle_node_hash(f->h[f->n - 1], f->h[f->n], f->h[f->n - 1]));
    }
}

static void frontier_root(const struct frontier *f, uint8_t out[H])
{
    memcpy(out, f->h[f->n - 1], H);
    for (unsigned j = f->n - 1; j > 0; j--) {
        EXPECT_OK(cs_merkle_node_hash(f->h[j - 1], out, out));
    }
}

/* Reads every entry: each is a writer's, acknowledged ones where they were acknowledged. */
/*
 * Reads every entry in index order (one SQL scan: the whole log, every round) and, through
 * cs_log_entry, each entry added since the last round and a sample of the older ones.
 */
static bool check_entries(struct cs_log *log, sqlite3 *db, uint64_t size, uint8_t *leaves,
                          unsigned long *unacked)
{
    static uint32_t next[ROUNDS_MAX + 1][MAX_THREADS];
    memset(next, 0, sizeof next);
    struct frontier f = { .n = 0 };
    int bad = 0;
    sqlite3_stmt *st = prepare(db, "SELECT idx, data FROM entries ORDER BY idx");
    uint64_t i = 0;
    for (; st != NULL && bad < 10 && sqlite3_step(st) == SQLITE_ROW; i++) {
        sqlite3_int64 idx = sqlite3_column_int64(st, 0);
        const uint8_t *p = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (i >= size) {
            CS_T_FAIL_("the entries table has a row at index %lld, beyond the size %llu", idx,
                       (unsigned long long)size);
            bad++;
            break;
        }
        if (idx != (sqlite3_int64)i) {
            CS_T_FAIL_("entry %llu is missing (the next row is index %lld)", (unsigned long long)i,
                       idx);
            bad++;
            break;
        }
        if (i >= S.last_size || (next_rand(&S.check_rng) & 63) == 0) {
            struct cs_blob e = { 0 };
            cs_res r = cs_log_entry(log, i, &e);
            if (!cs_ok(r) || e.len != len || (len > 0 && memcmp(e.p, p, len) != 0)) {
                CS_T_FAIL_("cs_log_entry(%llu): %s, or not the stored row",
                           (unsigned long long)i, custos_code_name(r.code));
                bad++;
            }
            cs_blob_clear(&e);
        }
        uint32_t er = 0, et = 0, es = 0;
        if (p == NULL || !is_generated(p, len, &er, &et, &es)) {
            CS_T_FAIL_("entry %llu is not one a writer made", (unsigned long long)i);
            bad++;
            continue;
        }
        if (es != next[er][et]) {
            CS_T_FAIL_("entry %llu: writer r=%u t=%u has seq %u where %u was next (lost, "
                       "duplicated or reordered append)",
                       (unsigned long long)i, er, et, es, next[er][et]);
            bad++;
        }
        next[er][et] = es + 1;
        if (i < S.acks_cap && S.acks[i].is_acked &&
            (S.acks[i].round != er || S.acks[i].thread != et || S.acks[i].seq != es)) {
            CS_T_FAIL_("acknowledged index %llu holds r=%u t=%u s=%u, not r=%u t=%u s=%u",
                       (unsigned long long)i, er, et, es, S.acks[i].round, S.acks[i].thread,
                       S.acks[i].seq);
            bad++;
        }
        bool is_acked = i < S.acks_cap && S.acks[i].is_acked;
        if (!is_acked && er == S.n_rounds) {
            (*unacked)++; /* committed, but the child died before saying so */
        }
        EXPECT_OK(cs_merkle_leaf_hash(cs_cur_of(p, len), leaves + i * H));
        frontier_push(&f, leaves + i * H);
        /* sizes added since the last round: the first 256 and a sample of the others (every
         * stored hash row is compared directly in check_hash_rows) */
        uint64_t added = i + 1 > S.last_size ? i + 1 - S.last_size : 0;
        if (added > 0 &&
            (added <= 256 || i + 1 == size || (next_rand(&S.check_rng) & 31) == 0)) {
            uint8_t want[H], got[H];
            frontier_root(&f, want);
            EXPECT_OK(cs_log_root(log, i + 1, got));
            if (memcmp(want, got, H) != 0) {
                CS_T_FAIL_("cs_log_root(%llu) differs from the root of the entries",
                           (unsigned long long)(i + 1));
                bad++;
            }
        }
    }
    sqlite3_finalize(st);
    if (bad == 0 && i != size) {
        CS_T_FAIL_("%llu entries for a tree of size %llu", (unsigned long long)i,
                   (unsigned long long)size);
        bad++;
    }
    /* acknowledged appends are a prefix of each writer's; at most one append unacknowledged */
    for (unsigned r = 0; r <= S.n_rounds && r < ROUNDS_MAX; r++) {
        for (unsigned t = 0; t < S.cfg[r].threads; t++) {
            unsigned b = batch_of(&S.cfg[r], t);
            uint32_t got = next[r][t], acked = S.n_acked[r][t];
            if (got < acked) {
                CS_T_FAIL_("writer r=%u t=%u: %u acknowledged entries, only %u in the log", r, t,
                           acked, got);
                bad++;
            } else if (got % b != 0) {
                CS_T_FAIL_("writer r=%u t=%u: one cs_log_append_many call of %u entries is only "
                           "partly in the log (%u of it; %u entries in the log, %u acknowledged):"
                           " the call was split between commits",
                           r, t, b, got % b, got, acked);
                bad++;
            } else if (got - acked > b) {
                CS_T_FAIL_("writer r=%u t=%u: %u entries in the log but %u acknowledged: more "
                           "than one call committed and not acknowledged",
                           r, t, got, acked);
                bad++;
            }
        }
    }
    return bad == 0;
}

/*
 * The parent's checkpoints every round; the child's in the round that reported them, in the
 * last round, and a sample in between (there are a few hundred of them).
 */
static void check_checkpoints(struct cs_log *log, uint64_t size, const uint8_t root[H])
{
    bool is_last = S.n_rounds + 1 == S.rounds + S.gc_rounds + S.big_rounds;
    for (size_t i = 0; i < S.n_cps; i++) {
        const struct checkpoint *c = &S.cps[i];
        if (c->is_child && c->round != S.n_rounds && !is_last &&
            (next_rand(&S.check_rng) & 7) != 0) {
            continue;
        }
        if (c->size > size) {
            CS_T_FAIL_("checkpoint of round %u covers %llu entries, the log has %llu", c->round,
                       (unsigned long long)c->size, (unsigned long long)size);
            continue;
        }
        uint8_t at[H], old_root[H], new_root[H], proof[CS_MERKLE_PROOF_MAX * H];
        EXPECT_OK(cs_log_root(log, c->size, at));
        if (memcmp(at, c->root, H) != 0) {
            CS_T_FAIL_("checkpoint of round %u (size %llu): root differs from cs_log_root",
                       c->round, (unsigned long long)c->size);
            continue;
        }
        if (c->size == 0) {
            continue; /* nothing to be consistent with (cs_merkle_verify_consistency refuses 0) */
        }
        size_t n = 0;
        EXPECT_OK(cs_log_prove_consistency(log, c->size, size, old_root, new_root, proof, &n));
        EXPECT_MEM_EQ(old_root, c->root, H);
        EXPECT_MEM_EQ(new_root, root, H);
        /* from what the auditor holds: the checkpoint's size and root, the current root */
        cs_res r = cs_merkle_verify_consistency(c->size, size, c->root, root, proof, n);
        if (!cs_ok(r)) {
            CS_T_FAIL_("checkpoint of round %u (size %llu) is not consistent with size %llu: %s",
                       c->round, (unsigned long long)c->size, (unsigned long long)size,
                       custos_code_name(r.code));
        }
    }
}

static void check_inclusion(struct cs_log *log, uint64_t size, const uint8_t *leaves,
                            const uint8_t root[H])
{
    uint64_t checked = 0;
    for (uint64_t i = S.last_size; i < size && i < S.acks_cap && checked < PROOF_SAMPLE; i++) {
        if (!S.acks[i].is_acked) {
            continue;
        }
        uint8_t leaf[H], got_root[H], proof[CS_MERKLE_PROOF_MAX * H];
        size_t n = 0;
        EXPECT_OK(cs_log_prove_inclusion(log, i, size, leaf, got_root, proof, &n));
        EXPECT_MEM_EQ(leaf, leaves + i * H, H);
        EXPECT_MEM_EQ(got_root, root, H);
        EXPECT_OK(cs_merkle_verify_inclusion(i, size, leaves + i * H, proof, n, root));
        checked++;
    }
    for (int k = 0; k < 8 && size > 0; k++) { /* and a few older ones */
        uint64_t i = next_rand(&S.check_rng) % size;
        uint8_t leaf[H], got_root[H], proof[CS_MERKLE_PROOF_MAX * H];
        size_t n = 0;
        EXPECT_OK(cs_log_prove_inclusion(log, i, size, leaf, got_root, proof, &n));
        EXPECT_OK(cs_merkle_verify_inclusion(i, size, leaves + i * H, proof, n, root));
    }
}

/* After a kill: everything the issue promises, then a new checkpoint signed by the parent. */
static void check_after_restart(unsigned round, unsigned long *unacked)
{
    struct cs_log *log = reopen();
    if (log == NULL) {
        return;
    }
    uint64_t size = 0;
    EXPECT_OK(cs_log_size(log, &size));
    if (size < S.acked_end) {
        CS_T_FAIL_("size %llu, but index %llu was acknowledged", (unsigned long long)size,
                   (unsigned long long)(S.acked_end - 1));
    }
    uint8_t *leaves = malloc(size == 0 ? 1 : size * H);
    if (leaves == NULL) {
        abort();
    }
    sqlite3 *db = NULL; /* a second connection, read-only: what the store wrote */
    if (sqlite3_open_v2(S.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        CS_T_FAIL_("sqlite3_open_v2 %s: %s", S.db, sqlite3_errmsg(db));
    } else if (check_entries(log, db, size, leaves, unacked)) {
        uint8_t want[H], got[H];
        EXPECT_OK(cs_merkle_root(leaves, size, want));
        EXPECT_OK(cs_log_root(log, size, got));
        EXPECT_MEM_EQ(got, want, H);
        check_inclusion(log, size, leaves, want);
        check_checkpoints(log, size, want);
        check_sql(db, size, leaves);

        char note[CS_LOG_NOTE_MAX];
        size_t len = 0;
        uint64_t cp_size = 0;
        struct cs_note_signer signer = { 0 };
        EXPECT_OK(cs_note_signer_parse(cs_cur_of((const uint8_t *)S.skey, strlen(S.skey)),
                                       &signer));
        EXPECT_OK(cs_log_checkpoint(log, &signer, note, sizeof note, &len, &cp_size));
        cs_note_signer_clear(&signer);
        EXPECT_EQ(cp_size, size);
        size_t before = S.n_cps;
        add_checkpoint(note, len, cp_size, round, false);
        if (S.n_cps > before) {
            EXPECT_MEM_EQ(S.cps[S.n_cps - 1].root, want, H);
        }
    }
    sqlite3_close(db);
    free(leaves);
    cs_log_close(log);
    S.last_size = size;
}

/* ---- rounds ------------------------------------------------------------------------- */

static void run_round(unsigned round)
{
    const struct round_cfg *cfg = &S.cfg[round];
    S.n_rounds = round; /* the rounds whose writers may have entries: 0..round */
    static struct inbox in;
    in = (struct inbox){ .len = 0 };
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        abort();
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer writer stalls; best effort */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        abort();
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(cfg, round, fds[1], parent);
        _exit(8);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    int failures_before = cs_test_failures;
    uint64_t t0 = now_us();
    uint64_t deadline = cfg->is_from_fork ? t0 + cfg->delay_us : 0;
    while (!in.is_eof && !in.is_error && !in.is_tearing) {
        uint64_t now = now_us();
        if (cfg->tear_at > 0) { /* no deadline: kill when the child stops in a WAL write */
            if (now - t0 > 10 * 1000 * 1000) {
                CS_T_FAIL_("round %u: the child did not reach WAL write %u in 10 s", round,
                           cfg->tear_at);
                break;
            }
            pump(&in, fds[0], round, 100000);
            continue;
        }
        if (deadline == 0 && in.is_ready) {
            deadline = now + cfg->delay_us;
        }
        if (deadline != 0 && now >= deadline) {
            break;
        }
        if (deadline == 0 && now - t0 > 10 * 1000 * 1000) {
            CS_T_FAIL_("round %u: the child was not ready after 10 s", round);
            break;
        }
        pump(&in, fds[0], round, deadline != 0 ? deadline - now : 100000);
    }
    const char *where = "";
    char tear[64];
    if (in.is_tearing) {
        snprintf(tear, sizeof tear, "WAL write %u%s (offset %llu)", cfg->tear_at,
                 cfg->is_half ? ", half written" : "", (unsigned long long)in.tear_offset);
        where = tear;
        S.in_commit_kills++;
    } else if (cfg->is_gc && !in.is_eof && !in.is_error) {
        /* kill inside a commit: wait (draining the pipe) until a thread is in one */
        long nr = -1;
        uint64_t until = now_us() + 2 * 1000 * 1000;
        while ((nr = commit_syscall(pid)) == -1 && now_us() < until && !in.is_eof) {
            pump(&in, fds[0], round, 0);
        }
        if (nr >= 0) {
            where = syscall_name(nr);
            S.in_commit_kills++;
        } else {
            where = nr == -2 ? "(no /proc access)" : "(no commit seen)";
        }
    }
    if (cfg->is_gc) {
        size_t l = strlen(S.gc_syscalls);
        snprintf(S.gc_syscalls + l, sizeof S.gc_syscalls - l, "%s%s", l > 0 ? "," : "",
                 in.is_tearing ? (cfg->is_half ? "torn-half" : "torn") : where);
    }
    kill(pid, SIGKILL);
    while (!in.is_eof) {
        pump(&in, fds[0], round, 1000000);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        CS_T_FAIL_("round %u: the child ended otherwise than by our SIGKILL (status 0x%x)", round,
                   status);
    }
    if (in.len != 0) {
        CS_T_FAIL_("round %u: %zu bytes of a torn message (pipe writes must be atomic)", round,
                   in.len);
    }
    unsigned long unacked = 0;
    check_after_restart(round, &unacked);
    S.total_acked += in.acked;
    S.total_unacked += unacked;
    S.child_cps += in.cps;
    char when[48] = "";
    if (cfg->tear_at == 0) {
        snprintf(when, sizeof when, " %5u us after %s", cfg->delay_us,
                 cfg->is_from_fork ? "fork" : "ready");
    }
    printf("round %2u: %2u writers%s, kill%s%s%s: %4lu acked, %lu committed unacked, %3lu "
           "child checkpoints, size %llu\n",
           round, cfg->threads,
           cfg->is_gc ? " (group commit)" : cfg->is_big ? " (6 x 1500-entry batches)" : "", when, *where ? " in " : "",
           where, in.acked, unacked, in.cps, (unsigned long long)S.last_size);
    if (cs_test_failures != failures_before) {
        S.is_broken = true;
        fprintf(stderr, "round %u failed; seed %llu (CS_CRASH_SEED=%llu to repeat), db %s\n",
                round, (unsigned long long)S.seed, (unsigned long long)S.seed, S.db);
    }
}

static unsigned env_uint(const char *name, unsigned def, unsigned max)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        return def;
    }
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    return end != v && *end == '\0' && n <= max ? (unsigned)n : def;
}

static void setup(void)
{
    if (S.is_setup) {
        return;
    }
    S.is_setup = true;
    const char *seed = getenv("CS_CRASH_SEED");
    char *end = NULL;
    S.seed = seed != NULL && *seed != '\0' ? strtoull(seed, &end, 0) : 0;
    if (seed == NULL || *seed == '\0' || end == seed || *end != '\0') {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        S.seed = mix64((uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid());
    }
    S.rng = S.seed;
    S.check_rng = mix64(S.seed ^ 0x636865636b73ULL);
    S.rounds = env_uint("CS_CRASH_ROUNDS", ROUNDS_DEFAULT, ROUNDS_MAX / 2);
    S.gc_rounds = env_uint("CS_CRASH_GC_ROUNDS", GC_ROUNDS_DEFAULT, ROUNDS_MAX / 4);
    S.big_rounds = env_uint("CS_CRASH_BIG_ROUNDS", BIG_ROUNDS_DEFAULT, ROUNDS_MAX / 4);
    S.n_acked = calloc(ROUNDS_MAX + 1, sizeof *S.n_acked);
    if (S.n_acked == NULL) {
        abort();
    }
    const char *base = getenv("CS_CRASH_DIR");
    if (base == NULL || *base == '\0') {
        base = CS_CRASH_DEFAULT_DIR;
    }
    snprintf(S.dir, sizeof S.dir, "%s/crash-XXXXXX", base);
    if (mkdtemp(S.dir) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", S.dir, strerror(errno));
        abort();
    }
    snprintf(S.db, sizeof S.db, "%s/log.db", S.dir);
    struct statfs fs;
    bool is_tmpfs = statfs(S.dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    printf("crash: seed %llu (CS_CRASH_SEED to repeat), %u + %u + %u rounds, db %s%s\n",
           (unsigned long long)S.seed, S.rounds, S.gc_rounds, S.big_rounds, S.db,
           is_tmpfs ? " (WARNING: tmpfs, fsync costs nothing here; set CS_CRASH_DIR)" : "");
    EXPECT_OK(cs_note_keygen("custos.test/crash", S.skey, S.vkey));
    EXPECT_OK(cs_note_vkey_parse(cs_cur_of((const uint8_t *)S.vkey, strlen(S.vkey)), &S.vk));
}

static void run_rounds(unsigned first, unsigned count, bool is_gc, bool is_big)
{
    for (unsigned round = first; round < first + count && !S.is_broken; round++) {
        uint64_t x = next_rand(&S.rng);
        bool is_tear = is_gc && (round - first) % 2 == 1;
        S.cfg[round] = (struct round_cfg){
            .threads = is_gc ? GC_THREADS : is_big ? BIG_THREADS : THREADS,
            .is_gc = is_gc,
            .is_big = is_big,
            /* the first round, and about one in five, also kill during open and recovery */
            .is_from_fork = !is_gc && !is_big && (round == 0 || x % 5 == 0),
            /* big batches take ~100 ms per commit: give them several */
            .delay_us = is_big ? 100000 + (uint32_t)((x >> 16) % 500001)
                               : (uint32_t)((x >> 16) % (DELAY_MAX_US + 1)),
            /* a group commit writes ~2 x 40 WAL writes (frame header, page): commit 1 to 5 */
            .tear_at = is_tear ? 8 + (uint32_t)((x >> 40) % 400) : 0,
            .is_half = is_tear && (x >> 60) % 2 == 1,
        };
        run_round(round);
    }
}

static void test_kill_while_appending(void)
{
    setup();
    run_rounds(0, S.rounds, false, false);
    printf("crash: %lu acknowledged appends kept, %lu committed but unacknowledged, %lu child "
           "checkpoints consistent\n",
           S.total_acked, S.total_unacked, S.child_cps);
}

static void test_kill_during_group_commit(void)
{
    setup();
    unsigned long before = S.in_commit_kills;
    run_rounds(S.rounds, S.gc_rounds, true, false);
    printf("crash: %lu of %u group-commit kills landed inside a commit (%s)\n",
           S.in_commit_kills - before, S.gc_rounds, S.gc_syscalls);
    if (S.gc_rounds > 0 && S.in_commit_kills == before && !S.is_broken) {
        /* /proc unreadable or never caught: the kills were still random, say so loudly */
        printf("crash: WARNING: no kill was seen to land inside a commit\n");
    }
}

static void test_kill_during_big_batches(void)
{
    setup();
    run_rounds(S.rounds + S.gc_rounds, S.big_rounds, false, true);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_cleanup(void)
{
    if (cs_test_failures != 0 || S.is_broken) {
        fprintf(stderr, "crash: FAILED with seed %llu; the database is kept in %s\n",
                (unsigned long long)S.seed, S.dir);
        return;
    }
    for (size_t i = 0; i < S.n_cps; i++) {
        free(S.cps[i].note);
    }
    free(S.cps);
    free(S.acks);
    free(S.n_acked);
    if (S.dir[0] != '\0' && nftw(S.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", S.dir);
    }
}

CS_TEST_MAIN(CS_TEST(test_kill_while_appending), CS_TEST(test_kill_during_group_commit),
             CS_TEST(test_kill_during_big_batches), CS_TEST(test_cleanup))
