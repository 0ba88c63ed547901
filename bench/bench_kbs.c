/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker under load (KBS v0.4.0 over HTTP on loopback) against the floor of the crypto
 * and the durable append it must do per round trip, both measured in the same run.
 *
 *   load:   the real custosd (--dev, port 0, a fresh data directory, a config file that
 *           lifts the /kbs/v0/auth rate limit) runs as a child process; the starter policy
 *           docs/examples/policy-dev-tdx.json and a 32-byte random secret default/dev/secret
 *           are set through the admin API. N agents (threads, one keep-alive connection
 *           each, one EC P-256 TEE key each) loop: POST /kbs/v0/auth -> a development TDX
 *           quote bound to the nonce and the TEE key (cs_dev_attester_quote, on the
 *           broker's own attester) -> POST /kbs/v0/attest -> GET /kbs/v0/resource/default/
 *           dev/secret. Only 200/200/200 counts: any other status aborts the run. The first
 *           release of every agent is decrypted (cs_jwe_decrypt) and must equal the secret.
 *           After a warm-up, the round trips that end inside the measured window give the
 *           rate, the latency percentiles of a round trip and of each step, and the broker's
 *           CPU time per round trip (utime + stime of the child from /proc/PID/stat at both
 *           ends of the window). The bench process's own CPU time over the window is printed
 *           too: on a small machine the agents compete with the broker for the same cores.
 *   client: in-process, one thread: what an agent spends on a quote (REPORT_DATA binding,
 *           cs_dev_attester_quote, base64, the attest body), in CPU time.
 *   floor:  in-process, one thread, CPU time, best of ROUNDS: per round trip one warm
 *           custos_dcap_verify of a development quote (collateral loaded once, first quote
 *           untimed), one cs_jwe_encrypt of the 32-byte secret to a P-256 TEE key, one
 *           cs_jwt_sign of the claims of the first token the broker issued (token-sized by
 *           construction), one cs_envelope_open (file key provider), and the CPU cost
 *           (getrusage, user + system) of one durable cs_log_append of the first admitted
 *           attest record the broker wrote (fetched from /custos/v1/log/entry/I) on a fresh
 *           SQLite log beside the broker's data. The broker appends three records per round
 *           trip (auth, attest, release); the floor counts one, as specified, and the line
 *           with three is printed for reference.
 *
 * Targets (reported, never enforced): broker CPU / floor - 1 <= 50 %; >= 1,000 round trips/s
 * on 2 cores; p99 of a round trip <= 20 ms.
 *
 * usage: bench_kbs --custosd PATH [--policy FILE] [--dir DIR] [--agents N] [--seconds S]
 *                  [--warmup S] [--keep]
 *   --custosd  the custosd binary to run
 *   --policy   the starter policy (default docs/examples/policy-dev-tdx.json)
 *   --dir      where the run's temporary directory (broker data, floor log) is made;
 *              must be the disk to measure. Default ./bench-kbs; created when missing.
 *   --agents   concurrent agents, 1..AGENTS_MAX (default 16)
 *   --seconds  the measured window (default 10); --warmup before it (default 2)
 *   --keep     keep the temporary directory (custosd.log, the broker's data)
 * Exit status 0 when every measurement ran, whether or not it meets its target; 1 on an
 * error (custosd does not start, a status other than 200, a release that does not decrypt
 * to the secret); 2 on usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_envelope.h"
#include "crypto/cs_jose.h"
#include "crypto/cs_kbs_binding.h"
#include "crypto/cs_keyprov.h"
#include "custos/dcap.h"
#include "custos/verdict.h"
#include "sim/dev_attester.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

#include "bench_util.h"

const char *const bench_name = "bench_kbs";

#define AGENTS_DEFAULT 16u
#define AGENTS_MAX 60u          /* custosd allows 64 connections per client address */
#define RESP_MAX (256u * 1024u) /* bytes of one response body */
#define SECRET_LEN 32u
#define SECRET_NAME "default/dev/secret"
#define NONCE_MAX 128u
#define COOKIE_MAX 128u
#define TOKEN_MAX (64u * 1024u)
#define POLICY_MAX (1024u * 1024u)
#define URL_MAX 256u
#define TRIPS_INITIAL 1024u
#define N_STEPS 4
#define RATE_TARGET 1000.0      /* round trips/s on 2 cores */
#define P99_TARGET_MS 20.0
#define OVERHEAD_TARGET 0.50    /* broker CPU / floor - 1 */
#define READY_TIMEOUT_S 60.0
#define STOP_TIMEOUT_S 20.0
#define HTTP_TIMEOUT_S 30L
#define ROUNDS 3
#define FLOOR_SLICE_S 0.3       /* CPU seconds per floor measurement round */
#define APPEND_S 1.0            /* wall seconds of appends for the append floor */
#define APPEND_MIN 20u
#define APPENDS_PER_TRIP 3      /* auth, attest, release records */

static const char *const step_name[N_STEPS] = { "auth", "quote (client)", "attest", "resource" };

struct bench_opts {
    const char *custosd;
    const char *policy;
    const char *dir;
    unsigned n_agents;
    double seconds;
    double warmup;
    bool is_keep;
};

static double rusage_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct pct {
    double p50;
    double p90;
    double p99;
    double max;
};

/* Sorts v (n > 0) and returns nearest-rank percentiles. */
static struct pct percentiles(double *v, size_t n)
{
    bench_sort(v, n);
    return (struct pct){ .p50 = v[n / 2], .p90 = bench_nearest_rank(v, n, 90),
                         .p99 = bench_nearest_rank(v, n, 99), .max = v[n - 1] };
}

static cs_res write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BENCH_ENSURE(fd >= 0, CS_E_IO, "%s: %s", path, strerror(errno));
    size_t len = strlen(text);
    bool is_ok = write(fd, text, len) == (ssize_t)len;
    is_ok &= close(fd) == 0;
    BENCH_ENSURE(is_ok, CS_E_IO, "%s: cannot write", path);
    return CS_SUCCESS;
}

/* ---- HTTP: one keep-alive connection per curl handle ------------------------------- */

struct http_conn {
    CURL *curl;
    char *body;        /* RESP_MAX + 1 bytes; NUL-terminated after each response */
    size_t body_len;
    bool is_over;      /* the response did not fit */
    long status;
    char cookie[COOKIE_MAX]; /* the kbs-session-id=... pair of the last Set-Cookie, or "" */
    char log_index[24];      /* X-Custos-Log-Index of the last response, or "" */
};

struct http_req {
    const char *method; /* GET, POST, PUT */
    const char *url;
    const char *cookie; /* Cookie header value, or NULL */
    const char *bearer; /* Authorization: Bearer, or NULL */
    const char *ctype;  /* with a body */
    const void *body;   /* or NULL */
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct http_conn *c = arg;
    size_t len = size * n;
    if (len > RESP_MAX - c->body_len) {
        c->is_over = true;
        return 0; /* aborts the transfer */
    }
    memcpy(c->body + c->body_len, p, len);
    c->body_len += len;
    return len;
}

/* Copies the value of header `name` of one header line into out, when it is that header. */
static void header_value(const char *line, size_t len, const char *name, bool is_cookie,
                         char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':') {
        return;
    }
    const char *v = line + n + 1;
    size_t vlen = len - n - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
        vlen--;
    }
    if (is_cookie) {
        const char *semi = memchr(v, ';', vlen);
        vlen = semi != NULL ? (size_t)(semi - v) : vlen;
    }
    if (vlen < cap) {
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct http_conn *c = arg;
    size_t len = size * n;
    header_value(p, len, "Set-Cookie", true, c->cookie, sizeof c->cookie);
    header_value(p, len, "X-Custos-Log-Index", false, c->log_index, sizeof c->log_index);
    return len;
}

static void conn_clear(struct http_conn *c)
{
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
    }
    cs_free(c->body);
    *c = (struct http_conn){ 0 };
}

static cs_res conn_init(struct http_conn *c)
{
    *c = (struct http_conn){ 0 };
    CS_TRY(cs_alloc(1, RESP_MAX + 1, (void **)&c->body));
    c->curl = curl_easy_init();
    CS_ENSURE(c->curl != NULL, CS_E_NOMEM);
    CURL *e = c->curl;
    bool is_ok = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT, HTTP_TIMEOUT_S) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, c) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    is_ok &= curl_easy_setopt(e, CURLOPT_HEADERDATA, c) == CURLE_OK;
    CS_ENSURE(is_ok, CS_E_INTERNAL);
    return CS_SUCCESS;
}

/* One request on c's connection (reused while the server keeps it open). */
static cs_res conn_do(struct http_conn *c, const struct http_req *q)
{
    c->body_len = 0;
    c->is_over = false;
    c->status = 0;
    c->cookie[0] = '\0';
    c->log_index[0] = '\0';
    char line[256];
    /* "Expect:" turns off 100-continue: no extra round trip before a large body */
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    bool is_ok = h != NULL;
    if (is_ok && q->ctype != NULL) {
        int n = snprintf(line, sizeof line, "Content-Type: %s", q->ctype);
        is_ok = n > 0 && (size_t)n < sizeof line && curl_slist_append(h, line) != NULL;
    }
    if (is_ok && q->bearer != NULL) {
        int n = snprintf(line, sizeof line, "Authorization: Bearer %s", q->bearer);
        is_ok = n > 0 && (size_t)n < sizeof line && curl_slist_append(h, line) != NULL;
    }
    cs_wipe(line, sizeof line);
    CURL *e = c->curl;
    bool is_default = strcmp(q->method, q->body != NULL ? "POST" : "GET") == 0;
    is_ok = is_ok && curl_easy_setopt(e, CURLOPT_URL, q->url) == CURLE_OK &&
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
            curl_easy_setopt(e, CURLOPT_COOKIE, q->cookie) == CURLE_OK;
    if (is_ok && q->body != NULL) {
        is_ok = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len) == CURLE_OK &&
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body) == CURLE_OK;
    } else if (is_ok) {
        is_ok = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    is_ok = is_ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                                      is_default ? NULL : q->method) == CURLE_OK;
    CURLcode rc = is_ok ? curl_easy_perform(e) : CURLE_BAD_FUNCTION_ARGUMENT;
    (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (rc == CURLE_OK) {
        (void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
    }
    c->body[c->body_len] = '\0';
    BENCH_ENSURE(rc == CURLE_OK, c->is_over ? CS_E_TOO_LARGE : CS_E_IO, "%s %s: %s", q->method,
                 q->url, c->is_over ? "response too large" : curl_easy_strerror(rc));
    return CS_SUCCESS;
}

/* Any status but 200 aborts the benchmark: it names the step and shows the error body. */
static cs_res expect_200(const struct http_conn *c, const char *what)
{
    BENCH_ENSURE(c->status == 200, CS_E_POLICY, "%s: HTTP %ld: %.300s", what, c->status,
                 c->body);
    return CS_SUCCESS;
}

static cs_res body_json(const struct http_conn *c, const char *what, json_t **out)
{
    cs_res r = cs_json_load(cs_cur_of((const uint8_t *)c->body, c->body_len), RESP_MAX, out);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: the answer is not a JSON object", what);
    return CS_SUCCESS;
}

/* ---- custosd as a child process ---------------------------------------------------- */

struct broker {
    pid_t pid;
    char dir[PATH_MAX];  /* the run's temporary directory */
    char data[PATH_MAX]; /* the broker's --data-dir */
    char url[URL_MAX];   /* from the ready file, e.g. http://127.0.0.1:40123 */
    char token[128];     /* the admin token */
};

static cs_res broker_spawn(const struct bench_opts *o, struct broker *b)
{
    char conf[PATH_MAX];
    char ready[PATH_MAX];
    char logf[PATH_MAX];
    CS_TRY(bench_path_in(b->dir, "custosd.conf", conf));
    CS_TRY(bench_path_in(b->dir, "ready", ready));
    CS_TRY(bench_path_in(b->dir, "custosd.log", logf));
    CS_TRY(bench_path_in(b->dir, "data", b->data));
    /* the rate limit of /kbs/v0/auth is per client address, and every agent is 127.0.0.1 */
    CS_TRY(write_file(conf, "auth_rate 100000\nauth_burst 100000\nmax_connections 1024\n"));
    int log_fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BENCH_ENSURE(log_fd >= 0, CS_E_IO, "%s: %s", logf, strerror(errno));
    char *argv[] = { (char *)(uintptr_t)o->custosd, (char *)(uintptr_t)"--dev",
                     (char *)(uintptr_t)"--config", conf,
                     (char *)(uintptr_t)"--listen", (char *)(uintptr_t)"127.0.0.1:0",
                     (char *)(uintptr_t)"--data-dir", b->data,
                     (char *)(uintptr_t)"--ready-file", ready, NULL };
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the broker must not outlive the benchmark, whatever happens to it */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent ||
            dup2(log_fd, STDERR_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0) {
            _exit(127);
        }
        execv(o->custosd, argv);
        _exit(127);
    }
    close(log_fd);
    BENCH_ENSURE(pid > 0, CS_E_IO, "fork: %s", strerror(errno));
    b->pid = pid;
    double deadline = bench_now_s() + READY_TIMEOUT_S;
    for (;;) {
        struct cs_blob f = { 0 };
        if (cs_ok(cs_file_read(ready, URL_MAX - 1, &f))) {
            size_t n = strcspn((const char *)f.p, " \r\n");
            bool is_whole = n < f.len && strncmp((const char *)f.p, "http://", 7) == 0;
            if (is_whole) {
                memcpy(b->url, f.p, n);
                b->url[n] = '\0';
            }
            cs_blob_clear(&f);
            if (is_whole) {
                break;
            }
        }
        int status = 0;
        BENCH_ENSURE(waitpid(pid, &status, WNOHANG) == 0, CS_E_IO,
                     "custosd exited before it was ready (status %d): see %s", status, logf);
        BENCH_ENSURE(bench_now_s() < deadline, CS_E_IO, "custosd not ready after %.0f s: see %s",
                     READY_TIMEOUT_S, logf);
        sleep_s(0.02);
    }
    char tok_path[PATH_MAX];
    CS_TRY(bench_path_in(b->data, "admin.token", tok_path));
    struct cs_blob t = { 0 };
    cs_res r = cs_file_read(tok_path, sizeof b->token - 1, &t);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: cannot read", tok_path);
    size_t n = strcspn((const char *)t.p, "\r\n");
    memcpy(b->token, t.p, n);
    b->token[n] = '\0';
    cs_wipe(t.p, t.len);
    cs_blob_clear(&t);
    return CS_SUCCESS;
}

/* SIGTERM, then wait (SIGKILL after STOP_TIMEOUT_S). */
static void broker_stop(struct broker *b)
{
    if (b->pid <= 0) {
        return;
    }
    (void)kill(b->pid, SIGTERM);
    double deadline = bench_now_s() + STOP_TIMEOUT_S;
    int status = 0;
    while (waitpid(b->pid, &status, WNOHANG) == 0) {
        if (bench_now_s() > deadline) {
            fprintf(stderr, "bench_kbs: custosd ignored SIGTERM for %.0f s: SIGKILL\n",
                    STOP_TIMEOUT_S);
            (void)kill(b->pid, SIGKILL);
            (void)waitpid(b->pid, &status, 0);
            break;
        }
        sleep_s(0.02);
    }
    b->pid = 0;
}

/* utime + stime of the broker (every thread, those that ended included), in seconds. */
static cs_res broker_cpu_s(const struct broker *b, double *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)b->pid);
    struct cs_blob f = { 0 };
    CS_TRY(cs_file_read(path, 4096, &f));
    /* the command name may hold spaces and parentheses: fields follow the last ')' */
    const char *p = strrchr((const char *)f.p, ')');
    unsigned long ut = 0;
    unsigned long st = 0;
    int n = p != NULL ? sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                               &ut, &st)
                      : 0;
    cs_blob_clear(&f);
    BENCH_ENSURE(n == 2, CS_E_FORMAT, "%s: no utime and stime", path);
    *out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return CS_SUCCESS;
}

static cs_res admin_put(const struct broker *b, struct http_conn *c, const char *path,
                        const char *ctype, const void *body, size_t len)
{
    char url[URL_MAX + 128];
    snprintf(url, sizeof url, "%s/custos/v1/admin/%s", b->url, path);
    struct http_req q = { .method = "PUT", .url = url, .bearer = b->token, .ctype = ctype,
                          .body = body, .len = len };
    CS_TRY(conn_do(c, &q));
    return expect_200(c, url);
}

/* The starter policy and the secret, through the admin API. */
static cs_res broker_setup(const struct bench_opts *o, const struct broker *b,
                           const uint8_t secret[SECRET_LEN])
{
    struct cs_blob policy = { 0 };
    cs_res r = cs_file_read(o->policy, POLICY_MAX, &policy);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: cannot read the policy", o->policy);
    struct http_conn c;
    r = conn_init(&c);
    if (cs_ok(r)) {
        r = admin_put(b, &c, "policy", "application/json", policy.p, policy.len);
    }
    if (cs_ok(r)) {
        r = admin_put(b, &c, "resource/" SECRET_NAME, "application/octet-stream", secret,
                      SECRET_LEN);
    }
    conn_clear(&c);
    cs_blob_clear(&policy);
    return r;
}

/* ---- agents -------------------------------------------------------------------------- */

/* One complete round trip: when it ended and how long each step took (wall clock). */
struct trip {
    double end;
    double total_ms;
    double step_ms[N_STEPS];
};

struct shared {
    const struct cs_dev_attester *attester;
    const uint8_t *secret;
    char url_auth[URL_MAX + 32];
    char url_attest[URL_MAX + 32];
    char url_resource[URL_MAX + 64];
    atomic_bool stop;
    atomic_bool failed;
};

struct agent {
    pthread_t thread;
    struct shared *sh;
    unsigned id;
    struct http_conn conn;
    json_t *private_jwk;
    json_t *public_jwk;
    struct trip *trips;
    size_t n_trips;
    size_t cap_trips;
    bool is_checked;      /* its first release decrypted to the secret */
    char *first_token;    /* agent 0: the first token, for the JWT floor */
    uint64_t first_index; /* agent 0: the log index of its first admitted attest record */
    cs_res r;
};

static cs_res trips_push(struct agent *a, const struct trip *t)
{
    if (a->n_trips == a->cap_trips) {
        size_t cap = a->cap_trips == 0 ? TRIPS_INITIAL : 2 * a->cap_trips;
        struct trip *grown = NULL;
        CS_TRY(cs_alloc(cap, sizeof *grown, (void **)&grown));
        if (a->n_trips > 0) {
            memcpy(grown, a->trips, a->n_trips * sizeof *grown);
        }
        cs_free(a->trips);
        a->trips = grown;
        a->cap_trips = cap;
    }
    a->trips[a->n_trips++] = *t;
    return CS_SUCCESS;
}

/*
 * The body of POST /kbs/v0/attest as `custos sim kbs-attest` makes it: a development TDX
 * quote whose REPORT_DATA binds the nonce and the TEE key. *out is cs_free'd by the caller.
 */
static cs_res attest_body(const struct cs_dev_attester *att, const char *nonce, json_t *pub,
                          char **out)
{
    *out = NULL;
    struct cs_dev_quote_opts qo = { 0 };
    CS_TRY(cs_kbs_report_data(nonce, pub, NULL, qo.report_data));
    CS_AUTO(cs_freep) uint8_t *quote = NULL;
    size_t len = 0;
    CS_TRY(cs_dev_attester_quote(att, &qo, &quote, &len));
    size_t b64_cap = (len + 2) / 3 * 4 + 1;
    CS_AUTO(cs_freep) char *b64 = NULL;
    CS_TRY(cs_alloc(1, b64_cap, (void **)&b64));
    CS_TRY(cs_b64_encode(quote, len, b64, b64_cap));
    CS_AUTO_JSON *body = json_pack("{s:{s:s, s:O}, s:{s:s, s:n}}", "runtime-data", "nonce",
                                   nonce, "tee-pubkey", pub, "tee-evidence", "quote", b64,
                                   "cc_eventlog");
    CS_ENSURE(body != NULL, CS_E_NOMEM);
    *out = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CS_ENSURE(*out != NULL, CS_E_NOMEM);
    return CS_SUCCESS;
}

/* The first release of each agent must decrypt, with its TEE key, to the secret. */
static cs_res check_release(struct agent *a)
{
    CS_AUTO(cs_freep) uint8_t *pt = NULL;
    size_t len = 0;
    cs_res r = cs_jwe_decrypt(a->private_jwk, a->conn.body, a->conn.body_len, &pt, &len);
    BENCH_ENSURE(cs_ok(r), r.code, "agent %u: the release does not decrypt: %s", a->id,
                 custos_code_name(r.code));
    bool is_same = len == SECRET_LEN && cs_ct_equal(pt, a->sh->secret, SECRET_LEN);
    cs_wipe(pt, len);
    BENCH_ENSURE(is_same, CS_E_SIGNATURE, "agent %u: the release decrypts to %zu bytes that "
                 "are not the secret", a->id, len);
    a->is_checked = true;
    return CS_SUCCESS;
}

/* Agent 0 keeps its first token and the log index of its attest record, for the floor. */
static cs_res keep_first(struct agent *a)
{
    CS_AUTO_JSON *doc = NULL;
    CS_TRY(body_json(&a->conn, "attest", &doc));
    const char *tok = NULL;
    size_t len = 0;
    CS_TRY(cs_json_get_str(doc, "token", TOKEN_MAX, &tok, &len));
    CS_TRY(cs_alloc(1, len + 1, (void **)&a->first_token));
    memcpy(a->first_token, tok, len + 1);
    char *end = NULL;
    errno = 0;
    unsigned long long idx = strtoull(a->conn.log_index, &end, 10);
    BENCH_ENSURE(errno == 0 && end != a->conn.log_index && *end == '\0', CS_E_FORMAT,
                 "attest: no X-Custos-Log-Index");
    a->first_index = idx;
    return CS_SUCCESS;
}

static cs_res agent_trip(struct agent *a)
{
    static const char auth_body[] = "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":{}}";
    struct shared *sh = a->sh;
    struct trip t = { 0 };
    double t0 = bench_now_s();
    struct http_req q = { .method = "POST", .url = sh->url_auth, .ctype = "application/json",
                          .body = auth_body, .len = sizeof auth_body - 1 };
    CS_TRY(conn_do(&a->conn, &q));
    CS_TRY(expect_200(&a->conn, "POST /kbs/v0/auth"));
    char cookie[COOKIE_MAX];
    char nonce[NONCE_MAX];
    BENCH_ENSURE(strncmp(a->conn.cookie, "kbs-session-id=", 15) == 0, CS_E_FORMAT,
                 "auth: no session cookie");
    memcpy(cookie, a->conn.cookie, sizeof cookie);
    {
        CS_AUTO_JSON *doc = NULL;
        CS_TRY(body_json(&a->conn, "auth", &doc));
        const char *n = NULL;
        size_t len = 0;
        CS_TRY(cs_json_get_str(doc, "nonce", sizeof nonce - 1, &n, &len));
        memcpy(nonce, n, len + 1);
    }
    double t1 = bench_now_s();
    CS_AUTO(cs_freep) char *body = NULL;
    CS_TRY(attest_body(sh->attester, nonce, a->public_jwk, &body));
    double t2 = bench_now_s();
    q = (struct http_req){ .method = "POST", .url = sh->url_attest, .cookie = cookie,
                           .ctype = "application/json", .body = body, .len = strlen(body) };
    CS_TRY(conn_do(&a->conn, &q));
    CS_TRY(expect_200(&a->conn, "POST /kbs/v0/attest"));
    if (a->id == 0 && a->first_token == NULL) {
        CS_TRY(keep_first(a));
    }
    double t3 = bench_now_s();
    q = (struct http_req){ .method = "GET", .url = sh->url_resource, .cookie = cookie };
    CS_TRY(conn_do(&a->conn, &q));
    CS_TRY(expect_200(&a->conn, "GET /kbs/v0/resource/" SECRET_NAME));
    double t4 = bench_now_s();
    if (!a->is_checked) {
        CS_TRY(check_release(a));
    }
    t.end = t4;
    t.total_ms = (t4 - t0) * 1e3;
    t.step_ms[0] = (t1 - t0) * 1e3;
    t.step_ms[1] = (t2 - t1) * 1e3;
    t.step_ms[2] = (t3 - t2) * 1e3;
    t.step_ms[3] = (t4 - t3) * 1e3;
    return trips_push(a, &t);
}

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    while (!atomic_load(&a->sh->stop) && !atomic_load(&a->sh->failed)) {
        a->r = agent_trip(a);
        if (!cs_ok(a->r)) {
            atomic_store(&a->sh->failed, true);
            break;
        }
    }
    return NULL;
}

static cs_res agent_init(struct agent *a, struct shared *sh, unsigned id)
{
    *a = (struct agent){ .sh = sh, .id = id };
    CS_TRY(conn_init(&a->conn));
    return cs_tee_keypair_generate("EC-P256", &a->private_jwk, &a->public_jwk);
}

static void agent_clear(struct agent *a)
{
    conn_clear(&a->conn);
    json_decref(a->private_jwk);
    json_decref(a->public_jwk);
    cs_free(a->trips);
    cs_free(a->first_token);
    *a = (struct agent){ 0 };
}

/* ---- the load run ---------------------------------------------------------------------- */

struct load_result {
    size_t n;             /* round trips that ended in the window */
    size_t n_all;         /* every round trip, warm-up and tail included */
    double window_s;
    double rate;
    struct pct total;     /* ms */
    struct pct step[N_STEPS];
    double broker_cpu_us; /* per round trip */
    double broker_cores;  /* broker CPU seconds per second of the window */
    unsigned n_agents;
    double client_cpu_us; /* this process, per round trip */
    char *first_token;    /* moved from agent 0 */
    uint64_t first_index;
};

/* Percentiles of the round trips of every agent that ended in [t0, t1]. */
static cs_res load_stats(struct agent *agents, unsigned n_agents, double t0, double t1,
                         struct load_result *out)
{
    size_t n = 0;
    for (unsigned i = 0; i < n_agents; i++) {
        out->n_all += agents[i].n_trips;
        for (size_t k = 0; k < agents[i].n_trips; k++) {
            n += agents[i].trips[k].end >= t0 && agents[i].trips[k].end <= t1;
        }
    }
    BENCH_ENSURE(n > 0, CS_E_INTERNAL, "no round trip completed in the %.1f s window", t1 - t0);
    CS_AUTO(cs_freep) double *v = NULL;
    CS_TRY(cs_alloc(n, sizeof *v, (void **)&v));
    for (int s = -1; s < N_STEPS; s++) {
        size_t m = 0;
        for (unsigned i = 0; i < n_agents; i++) {
            for (size_t k = 0; k < agents[i].n_trips; k++) {
                const struct trip *t = &agents[i].trips[k];
                if (t->end >= t0 && t->end <= t1) {
                    v[m++] = s < 0 ? t->total_ms : t->step_ms[s];
                }
            }
        }
        struct pct p = percentiles(v, m);
        if (s < 0) {
            out->total = p;
        } else {
            out->step[s] = p;
        }
    }
    out->n = n;
    return CS_SUCCESS;
}

/* Warm-up, then the measured window; every agent stopped and joined on return. */
static cs_res load_window(const struct bench_opts *o, const struct broker *b,
                          struct shared *sh, struct agent *agents, unsigned *started,
                          struct load_result *out)
{
    for (; *started < o->n_agents; (*started)++) {
        int e = pthread_create(&agents[*started].thread, NULL, agent_main, &agents[*started]);
        BENCH_ENSURE(e == 0, CS_E_INTERNAL, "cannot start agent %u: %s", *started, strerror(e));
    }
    double warm_end = bench_now_s() + o->warmup;
    while (bench_now_s() < warm_end && !atomic_load(&sh->failed)) {
        sleep_s(0.02);
    }
    double b0 = 0;
    double b1 = 0;
    CS_TRY(broker_cpu_s(b, &b0));
    double c0 = bench_process_cpu_s();
    double t0 = bench_now_s();
    double t_end = t0 + o->seconds;
    while (bench_now_s() < t_end && !atomic_load(&sh->failed)) {
        sleep_s(0.02);
    }
    double t1 = bench_now_s();
    double c1 = bench_process_cpu_s();
    CS_TRY(broker_cpu_s(b, &b1));
    atomic_store(&sh->stop, true);
    for (unsigned i = 0; i < *started; i++) {
        pthread_join(agents[i].thread, NULL);
    }
    *started = 0;
    for (unsigned i = 0; i < o->n_agents; i++) {
        CS_TRY(agents[i].r); /* the agent printed why */
    }
    CS_TRY(load_stats(agents, o->n_agents, t0, t1, out));
    out->window_s = t1 - t0;
    out->n_agents = o->n_agents;
    out->rate = (double)out->n / out->window_s;
    out->broker_cpu_us = 1e6 * (b1 - b0) / (double)out->n;
    out->broker_cores = (b1 - b0) / out->window_s;
    out->client_cpu_us = 1e6 * (c1 - c0) / (double)out->n;
    for (unsigned i = 0; i < o->n_agents; i++) {
        BENCH_ENSURE(agents[i].is_checked, CS_E_INTERNAL, "agent %u: no release was checked", i);
    }
    out->first_token = CS_MOVE(agents[0].first_token);
    out->first_index = agents[0].first_index;
    return CS_SUCCESS;
}

static cs_res load_run(const struct bench_opts *o, const struct broker *b,
                       const struct cs_dev_attester *att, const uint8_t secret[SECRET_LEN],
                       struct load_result *out)
{
    CS_AUTO(cs_freep) struct shared *sh = NULL;
    CS_AUTO(cs_freep) struct agent *agents = NULL;
    CS_TRY(cs_alloc(1, sizeof *sh, (void **)&sh));
    CS_TRY(cs_alloc(o->n_agents, sizeof *agents, (void **)&agents));
    sh->attester = att;
    sh->secret = secret;
    atomic_init(&sh->stop, false);
    atomic_init(&sh->failed, false);
    snprintf(sh->url_auth, sizeof sh->url_auth, "%s/kbs/v0/auth", b->url);
    snprintf(sh->url_attest, sizeof sh->url_attest, "%s/kbs/v0/attest", b->url);
    snprintf(sh->url_resource, sizeof sh->url_resource, "%s/kbs/v0/resource/" SECRET_NAME,
             b->url);
    cs_res r = CS_SUCCESS;
    unsigned n_init = 0;
    for (; n_init < o->n_agents && cs_ok(r); n_init++) {
        r = agent_init(&agents[n_init], sh, n_init);
    }
    unsigned started = 0;
    if (cs_ok(r)) {
        r = load_window(o, b, sh, agents, &started, out);
    }
    atomic_store(&sh->stop, true); /* on an early failure, stop what was started */
    for (unsigned i = 0; i < started; i++) {
        pthread_join(agents[i].thread, NULL);
    }
    for (unsigned i = 0; i < n_init; i++) {
        agent_clear(&agents[i]);
    }
    return r;
}

/* The record at index i of the broker's audit log (the exact bytes it appended). */
static cs_res fetch_entry(const struct broker *b, uint64_t index, struct cs_blob *out)
{
    char url[URL_MAX + 64];
    snprintf(url, sizeof url, "%s/custos/v1/log/entry/%llu", b->url, (unsigned long long)index);
    struct http_conn c;
    cs_res r = conn_init(&c);
    if (cs_ok(r)) {
        struct http_req q = { .method = "GET", .url = url };
        r = conn_do(&c, &q);
    }
    if (cs_ok(r)) {
        r = expect_200(&c, url);
    }
    if (cs_ok(r)) {
        r = cs_alloc(1, c.body_len + 1, (void **)&out->p);
    }
    if (cs_ok(r)) {
        memcpy(out->p, c.body, c.body_len);
        out->len = c.body_len;
    }
    conn_clear(&c);
    return r;
}

/* ---- client cost and floor (in-process, one thread) ---------------------------------- */

typedef cs_res (*op_fn)(void *ctx);

/* CPU microseconds per call of fn: best of ROUNDS rounds of FLOOR_SLICE_S CPU seconds. */
static cs_res cpu_per_call(op_fn fn, void *ctx, double *us)
{
    *us = 0;
    for (int round = 0; round < ROUNDS; round++) {
        unsigned long n = 0;
        double c0 = bench_thread_cpu_s();
        double c = c0;
        do {
            CS_TRY(fn(ctx));
            n++;
            c = bench_thread_cpu_s();
        } while (c - c0 < FLOOR_SLICE_S);
        double v = 1e6 * (c - c0) / (double)n;
        *us = round == 0 || v < *us ? v : *us;
    }
    return CS_SUCCESS;
}

struct quote_ctx {
    const struct cs_dev_attester *att;
    json_t *pub;
    const char *nonce;
};

static cs_res op_quote(void *arg)
{
    struct quote_ctx *q = arg;
    CS_AUTO(cs_freep) char *body = NULL;
    return attest_body(q->att, q->nonce, q->pub, &body);
}

struct dcap_ctx {
    struct custos_dcap_collateral *coll;
    uint8_t *quote;
    size_t len;
    int64_t now;
};

static cs_res op_dcap(void *arg)
{
    struct dcap_ctx *d = arg;
    struct custos_verdict *v = NULL;
    cs_res r = custos_dcap_verify(d->coll, d->quote, d->len, d->now, &v);
    custos_verdict_free(v);
    BENCH_ENSURE(cs_ok(r), r.code, "the development quote does not verify: %s",
                 custos_code_name(r.code));
    return CS_SUCCESS;
}

struct jwe_ctx {
    const struct cs_tee_key *key;
    const uint8_t *secret;
};

static cs_res op_jwe(void *arg)
{
    struct jwe_ctx *j = arg;
    CS_AUTO(cs_freep) char *out = NULL;
    return cs_jwe_encrypt(j->key, NULL, j->secret, SECRET_LEN, &out);
}

struct jwt_ctx {
    const struct cs_jwt_key *key;
    const json_t *claims;
};

static cs_res op_jwt(void *arg)
{
    struct jwt_ctx *j = arg;
    CS_AUTO(cs_freep) char *out = NULL;
    return cs_jwt_sign(j->key, j->claims, &out);
}

struct env_ctx {
    const struct cs_keyprov *kp;
    const uint8_t *aad;
    size_t aad_len;
    const uint8_t *blob;
    size_t blob_len;
};

static cs_res op_envelope(void *arg)
{
    struct env_ctx *e = arg;
    uint8_t *pt = NULL;
    size_t len = 0;
    CS_TRY(cs_envelope_open(e->kp, e->aad, e->aad_len, e->blob, e->blob_len, &pt, &len));
    cs_free_wipe(pt, len);
    return CS_SUCCESS;
}

/*
 * Reference only, not the floor: the primitives under cs_jwe_encrypt and cs_jwt_sign with
 * OpenSSL alone. ECDH-ES: a fresh P-256 key (from a key generation context made once) and one
 * ECDH derivation with the TEE's key, which is not validated again there: a broker checks it
 * once, when it parses the JWK (on the curve; P-256 has cofactor 1).
 */
struct ecdh_ctx {
    EVP_PKEY_CTX *gen;
    EVP_PKEY *peer;
};

static cs_res op_ecdh(void *arg)
{
    struct ecdh_ctx *e = arg;
    EVP_PKEY *eph = NULL;
    bool is_ok = EVP_PKEY_generate(e->gen, &eph) == 1;
    EVP_PKEY_CTX *ctx = is_ok ? EVP_PKEY_CTX_new(eph, NULL) : NULL;
    uint8_t z[32];
    size_t z_len = sizeof z;
    is_ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_derive_set_peer_ex(ctx, e->peer, 0) == 1 &&
            EVP_PKEY_derive(ctx, z, &z_len) == 1 && z_len == sizeof z;
    cs_wipe(z, sizeof z);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(eph);
    CS_ENSURE(is_ok, CS_E_CRYPTO);
    return CS_SUCCESS;
}

struct es256_ctx {
    EVP_PKEY *key;
    const uint8_t *msg;
    size_t len;
};

/* ES256: SHA-256 and one ECDSA P-256 signature over a token-sized message. */
static cs_res op_es256(void *arg)
{
    struct es256_ctx *e = arg;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[80];
    size_t sig_len = sizeof sig;
    bool is_ok = md != NULL && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, e->key,
                                                     NULL) == 1 &&
                 EVP_DigestSign(md, sig, &sig_len, e->msg, e->len) == 1;
    EVP_MD_CTX_free(md);
    CS_ENSURE(is_ok, CS_E_CRYPTO);
    return CS_SUCCESS;
}

static cs_res primitives(size_t msg_len, double *ecdh_us, double *es256_us)
{
    struct ecdh_ctx d = { .gen = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL),
                          .peer = EVP_EC_gen("P-256") };
    struct es256_ctx e = { .key = EVP_EC_gen("P-256"), .len = msg_len };
    uint8_t *msg = NULL;
    bool is_ready = d.gen != NULL && d.peer != NULL && e.key != NULL &&
                    EVP_PKEY_keygen_init(d.gen) == 1 &&
                    EVP_PKEY_CTX_set_group_name(d.gen, "P-256") == 1;
    cs_res r = is_ready ? cs_alloc(1, msg_len, (void **)&msg) : (cs_res){ .code = CS_E_CRYPTO };
    e.msg = msg;
    if (cs_ok(r)) {
        r = cpu_per_call(op_ecdh, &d, ecdh_us);
    }
    if (cs_ok(r)) {
        r = cpu_per_call(op_es256, &e, es256_us);
    }
    cs_free(msg);
    EVP_PKEY_free(e.key);
    EVP_PKEY_free(d.peer);
    EVP_PKEY_CTX_free(d.gen);
    return r;
}

/* A token's claims: the base64url payload between its two dots, decoded and parsed. */
static cs_res token_claims(const char *jwt, json_t **out)
{
    const char *p = strchr(jwt, '.');
    const char *q = p != NULL ? strchr(p + 1, '.') : NULL;
    BENCH_ENSURE(q != NULL, CS_E_FORMAT, "the first token is not a compact JWS");
    size_t n = (size_t)(q - p - 1);
    size_t padded = (n + 3) / 4 * 4;
    CS_AUTO(cs_freep) char *b64 = NULL;
    CS_AUTO(cs_freep) uint8_t *raw = NULL;
    CS_TRY(cs_alloc(1, padded + 1, (void **)&b64));
    CS_TRY(cs_alloc(1, padded, (void **)&raw));
    for (size_t i = 0; i < padded; i++) {
        char ch = i < n ? p[1 + i] : '=';
        b64[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    size_t len = 0;
    CS_TRY(cs_b64_decode(b64, padded, false, raw, padded, &len));
    return cs_json_load(cs_cur_of(raw, len), TOKEN_MAX, out);
}

struct floor_result {
    double quote_us;     /* client: one attest body */
    double dcap_us;
    double jwe_us;
    double jwt_us;
    double envelope_us;
    double append_cpu_us;
    double append_wall_ms;
    unsigned long n_appends;
    size_t claims_len;   /* bytes of the signed claims */
    double ecdh_us;      /* reference: P-256 key generation + ECDH derivation */
    size_t signing_len;  /* about the bytes an ES256 token signature covers */
    double es256_us;     /* reference: ES256 signature of signing_len bytes */
    size_t entry_len;    /* bytes of the appended record */
    double floor_us;     /* one of each, one append */
};

static cs_res floor_dcap(const struct cs_dev_attester *att, struct floor_result *f)
{
    struct custos_diag diag = { 0 };
    struct custos_dcap_collateral *coll = NULL;
    cs_res r = custos_dcap_collateral_load_dir(cs_dev_attester_collateral_dir(att), &diag, &coll);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: %s", cs_dev_attester_collateral_dir(att), diag.msg);
    struct cs_dev_quote_opts qo = { 0 };
    struct dcap_ctx d = { .coll = coll, .now = cs_time_now() };
    memset(qo.report_data, 0x5a, sizeof qo.report_data);
    r = cs_dev_attester_quote(att, &qo, &d.quote, &d.len);
    if (cs_ok(r)) {
        r = op_dcap(&d); /* warms the PCK chain memo, as the broker's first quote does */
    }
    if (cs_ok(r)) {
        r = cpu_per_call(op_dcap, &d, &f->dcap_us);
    }
    cs_free(d.quote);
    custos_dcap_collateral_free(coll);
    return r;
}

static cs_res floor_jose(json_t *pub, const uint8_t secret[SECRET_LEN], const char *token,
                         struct floor_result *f)
{
    struct cs_tee_key *tee = NULL;
    CS_TRY(cs_tee_key_parse(pub, &tee));
    struct jwe_ctx j = { .key = tee, .secret = secret };
    cs_res r = cpu_per_call(op_jwe, &j, &f->jwe_us);
    cs_tee_key_free(tee);
    CS_TRY(r);
    CS_AUTO_JSON *claims = NULL;
    CS_TRY(token_claims(token, &claims));
    CS_AUTO(cs_freep) char *text = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    f->claims_len = strlen(text);
    struct cs_jwt_key *k = NULL;
    CS_TRY(cs_jwt_key_generate(&k));
    struct jwt_ctx w = { .key = k, .claims = claims };
    r = cpu_per_call(op_jwt, &w, &f->jwt_us);
    cs_jwt_key_free(k);
    return r;
}

static cs_res floor_envelope(const char *dir, const uint8_t secret[SECRET_LEN],
                             struct floor_result *f)
{
    char path[PATH_MAX];
    CS_TRY(bench_path_in(dir, "floor-root.key", path));
    struct cs_keyprov *kp = NULL;
    struct custos_diag diag = { 0 };
    cs_res r = cs_keyprov_file_open(path, true, &kp, &diag);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: %s", path, diag.msg);
    /* the AAD the broker binds a resource blob to: label, name, version (secrets.c) */
    static const uint8_t aad[] = "custos/resource/v1\0" SECRET_NAME "\0" "1";
    struct env_ctx e = { .kp = kp, .aad = aad, .aad_len = sizeof aad - 1 };
    uint8_t *blob = NULL;
    r = cs_envelope_seal(kp, aad, sizeof aad - 1, secret, SECRET_LEN, &blob, &e.blob_len);
    e.blob = blob;
    if (cs_ok(r)) {
        r = cpu_per_call(op_envelope, &e, &f->envelope_us);
    }
    cs_free(blob);
    cs_keyprov_free(kp);
    return r;
}

static void log_closep(struct cs_log **log)
{
    cs_log_close(*log);
}

/* CPU time (getrusage: user + system, whole process) of durable appends of `entry`. */
static cs_res floor_append(const char *dir, const struct cs_blob *entry, struct floor_result *f)
{
    char path[PATH_MAX];
    CS_TRY(bench_path_in(dir, "floor-log.db", path));
    struct cs_log_store store;
    cs_res r = cs_log_sqlite_open(path, &store);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: %s", path, custos_code_name(r.code));
    CS_AUTO(log_closep) struct cs_log *log = NULL;
    CS_TRY(cs_log_open(store, &log));
    uint64_t index = 0;
    CS_TRY(cs_log_append(log, cs_cur_of(entry->p, entry->len), &index)); /* schema, caches */
    unsigned long n = 0;
    double c0 = rusage_cpu_s();
    double t0 = bench_now_s();
    double t = t0;
    do {
        CS_TRY(cs_log_append(log, cs_cur_of(entry->p, entry->len), &index));
        n++;
        t = bench_now_s();
    } while (n < APPEND_MIN || t - t0 < APPEND_S);
    double c1 = rusage_cpu_s();
    f->n_appends = n;
    f->append_cpu_us = 1e6 * (c1 - c0) / (double)n;
    f->append_wall_ms = 1e3 * (t - t0) / (double)n;
    f->entry_len = entry->len;
    return CS_SUCCESS;
}

static cs_res floor_run(const char *dir, const struct cs_dev_attester *att,
                        const uint8_t secret[SECRET_LEN], const char *token,
                        const struct cs_blob *entry, struct floor_result *f)
{
    *f = (struct floor_result){ 0 };
    CS_AUTO_JSON *priv = NULL;
    CS_AUTO_JSON *pub = NULL;
    CS_TRY(cs_tee_keypair_generate("EC-P256", &priv, &pub));
    /* a nonce of the broker's form: base64 of 32 bytes */
    struct quote_ctx q = { .att = att, .pub = pub,
                           .nonce = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=" };
    CS_TRY(cpu_per_call(op_quote, &q, &f->quote_us));
    CS_TRY(floor_dcap(att, f));
    CS_TRY(floor_jose(pub, secret, token, f));
    CS_TRY(floor_envelope(dir, secret, f));
    CS_TRY(floor_append(dir, entry, f));
    /* the JWS signing input: base64url of the claims, a dot, and a header of about 100 B */
    f->signing_len = (f->claims_len + 2) / 3 * 4 + 100;
    CS_TRY(primitives(f->signing_len, &f->ecdh_us, &f->es256_us));
    f->floor_us = f->dcap_us + f->jwe_us + f->jwt_us + f->envelope_us + f->append_cpu_us;
    return CS_SUCCESS;
}

/* ---- report -------------------------------------------------------------------------- */

static void print_load(const struct bench_opts *o, const struct load_result *l)
{
    printf("load: %zu round trips (auth + quote + attest + resource, each 200) in %.2f s: "
           "%.0f round trips/s with %u agents (%zu in all, warm-up and tail included)\n",
           l->n, l->window_s, l->rate, o->n_agents, l->n_all);
    printf("load: round trip latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           l->total.p50, l->total.p90, l->total.p99, l->total.max);
    for (int s = 0; s < N_STEPS; s++) {
        printf("load:   %-15s p50 %6.2f ms, p90 %6.2f ms, p99 %6.2f ms, max %6.2f ms\n",
               step_name[s], l->step[s].p50, l->step[s].p90, l->step[s].p99, l->step[s].max);
    }
    printf("load: broker CPU %.0f us per round trip (utime + stime of custosd over the window; "
           "%.2f cores busy)\n", l->broker_cpu_us, l->broker_cores);
    printf("load: bench process CPU %.0f us per round trip (%u agents: quotes, curl, JSON; "
           "on the same cores as the broker)\n", l->client_cpu_us, o->n_agents);
}

static void print_floor(const struct floor_result *f, const struct load_result *l)
{
    printf("client: one attest body (REPORT_DATA + cs_dev_attester_quote + base64 + JSON) "
           "%.0f us CPU, in-process, one thread\n", f->quote_us);
    printf("floor: custos_dcap_verify (warm) %.0f us + cs_jwe_encrypt (P-256, 32 B) %.0f us "
           "+ cs_jwt_sign (%zu B of claims) %.0f us + cs_envelope_open %.0f us + one durable "
           "cs_log_append (%zu B record) %.0f us CPU = %.0f us per round trip\n", f->dcap_us,
           f->jwe_us, f->claims_len, f->jwt_us, f->envelope_us, f->entry_len, f->append_cpu_us,
           f->floor_us);
    printf("floor: for reference, the primitives with OpenSSL alone: P-256 key generation + "
           "ECDH %.0f us (under cs_jwe_encrypt), ES256 of %zu B %.0f us (under cs_jwt_sign)\n",
           f->ecdh_us, f->signing_len, f->es256_us);
    printf("floor: durable append %.2f ms wall each (%lu appends, one writer, fresh log beside "
           "the broker's data)\n", f->append_wall_ms, f->n_appends);
    double floor3 = f->floor_us + (APPENDS_PER_TRIP - 1) * f->append_cpu_us;
    printf("floor: with the %d appends the broker makes per round trip (auth, attest, "
           "release): %.0f us; broker CPU / that - 1 = %.0f%%\n", APPENDS_PER_TRIP, floor3,
           100 * (l->broker_cpu_us / floor3 - 1));
    /* each step of a round trip returns only after its record is on disk */
    double disk_ms = APPENDS_PER_TRIP * f->append_wall_ms;
    printf("disk: a round trip waits for %d durable commits in turn: >= %d x %.2f ms = %.1f ms "
           "at the append latency above, so %u agents (one round trip each in flight) can "
           "reach at most %.0f round trips/s on this disk\n", APPENDS_PER_TRIP,
           APPENDS_PER_TRIP, f->append_wall_ms, disk_ms, l->n_agents, 1e3 * l->n_agents / disk_ms);
    double overhead = l->broker_cpu_us / f->floor_us - 1;
    printf("overhead: broker CPU %.0f us / floor %.0f us - 1 = %.0f%% (target <= %.0f%%) %s\n",
           l->broker_cpu_us, f->floor_us, 100 * overhead, 100 * OVERHEAD_TARGET,
           bench_verdict(overhead <= OVERHEAD_TARGET));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("rate: %.0f round trips/s (target >= %.0f on 2 cores) %s; %ld CPUs here, shared "
           "with the agents; the broker alone at its measured CPU cost would do %.0f/s on 2 "
           "cores\n", l->rate, RATE_TARGET, bench_verdict(l->rate >= RATE_TARGET), cpus,
           2e6 / l->broker_cpu_us);
    printf("p99: %.2f ms per round trip (target <= %.0f ms) %s\n", l->total.p99, P99_TARGET_MS,
           bench_verdict(l->total.p99 <= P99_TARGET_MS));
}

/* ---- main ------------------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static cs_res parse_args(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){ .policy = "docs/examples/policy-dev-tdx.json", .dir = "bench-kbs",
                              .n_agents = AGENTS_DEFAULT, .seconds = 10.0, .warmup = 2.0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        double x = 0;
        if (strcmp(a, "--custosd") == 0 && has_value) {
            o->custosd = argv[++i];
        } else if (strcmp(a, "--policy") == 0 && has_value) {
            o->policy = argv[++i];
        } else if (strcmp(a, "--dir") == 0 && has_value) {
            o->dir = argv[++i];
        } else if (strcmp(a, "--agents") == 0 && has_value) {
            CS_TRY(bench_parse_number(argv[++i], 1, AGENTS_MAX, &x));
            CS_ENSURE(x == (double)(unsigned)x, CS_E_ARG);
            o->n_agents = (unsigned)x;
        } else if (strcmp(a, "--seconds") == 0 && has_value) {
            CS_TRY(bench_parse_number(argv[++i], 0.5, 3600, &o->seconds));
        } else if (strcmp(a, "--warmup") == 0 && has_value) {
            CS_TRY(bench_parse_number(argv[++i], 0, 600, &o->warmup));
        } else if (strcmp(a, "--keep") == 0) {
            o->is_keep = true;
        } else {
            CS_FAIL(CS_E_ARG);
        }
    }
    CS_ENSURE(o->custosd != NULL, CS_E_ARG);
    return CS_SUCCESS;
}

static void attester_freep(struct cs_dev_attester **a)
{
    cs_dev_attester_free(*a);
}

static cs_res run(const struct bench_opts *o, struct broker *b)
{
    uint8_t secret[SECRET_LEN];
    CS_TRY(cs_random(secret, sizeof secret));
    double load[3] = { 0 };
    FILE *la = fopen("/proc/loadavg", "r");
    if (la != NULL) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
            load[0] = load[1] = load[2] = -1;
        }
        fclose(la);
    }
    CS_TRY(broker_spawn(o, b));
    printf("bench_kbs: custosd %s at %s (pid %d, data in %s); %u agents, %g s warm-up, "
           "%g s measured; %ld CPUs; load average before %.2f %.2f %.2f\n", o->custosd, b->url,
           (int)b->pid, b->data, o->n_agents, o->warmup, o->seconds,
           sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
    fflush(stdout);
    CS_TRY(broker_setup(o, b, secret));
    CS_AUTO(attester_freep) struct cs_dev_attester *att = NULL;
    cs_res r = cs_dev_attester_open(b->data, false, cs_time_now(), &att);
    BENCH_ENSURE(cs_ok(r), r.code, "%s: no development attester: %s", b->data,
                 custos_code_name(r.code));
    struct load_result l = { 0 };
    CS_AUTO(cs_freep) char *token = NULL;
    r = load_run(o, b, att, secret, &l);
    token = l.first_token;
    CS_TRY(r);
    struct cs_blob entry = { 0 };
    CS_TRY(fetch_entry(b, l.first_index, &entry));
    broker_stop(b); /* the floor runs on a quiet machine */
    print_load(o, &l);
    fflush(stdout);
    struct floor_result f;
    r = floor_run(b->dir, att, secret, token, &entry, &f);
    cs_blob_clear(&entry);
    cs_wipe(secret, sizeof secret);
    CS_TRY(r);
    print_floor(&f, &l);
    return CS_SUCCESS;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    if (!cs_ok(parse_args(argc, argv, &o))) {
        fprintf(stderr, "usage: bench_kbs --custosd PATH [--policy FILE] [--dir DIR] "
                        "[--agents 1..%u] [--seconds S] [--warmup S] [--keep]\n", AGENTS_MAX);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench_kbs: curl_global_init failed\n");
        return 1;
    }
    struct broker b = { 0 };
    cs_res r = CS_SUCCESS;
    if (mkdir(o.dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_kbs: %s: %s\n", o.dir, strerror(errno));
        r = (cs_res){ .code = CS_E_IO, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r) && (size_t)snprintf(b.dir, sizeof b.dir, "%s/run-XXXXXX", o.dir) >= sizeof b.dir) {
        r = (cs_res){ .code = CS_E_ARG, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r) && mkdtemp(b.dir) == NULL) {
        fprintf(stderr, "bench_kbs: %s: %s\n", b.dir, strerror(errno));
        b.dir[0] = '\0';
        r = (cs_res){ .code = CS_E_IO, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r)) {
        r = run(&o, &b);
    }
    broker_stop(&b);
    if (b.dir[0] != '\0' && !cs_ok(r)) {
        fprintf(stderr, "bench_kbs: kept %s (custosd.log, the broker's data)\n", b.dir);
    } else if (b.dir[0] != '\0' && o.is_keep) {
        printf("bench_kbs: kept %s\n", b.dir);
    } else if (b.dir[0] != '\0') {
        (void)nftw(b.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    cs_wipe(b.token, sizeof b.token);
    curl_global_cleanup();
    if (!cs_ok(r)) {
        fprintf(stderr, "bench_kbs: failed: %s (%s:%u)\n", custos_code_name(r.code),
                r.file != NULL ? r.file : "?", r.line);
    }
    return cs_ok(r) ? 0 : 1;
}
