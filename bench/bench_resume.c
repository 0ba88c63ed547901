/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_resume: reboot and resume (docs/client.md "Reboot and resume"), each path beside its
 * floor measured in the same run.
 *
 *   time from process start to "credentials and state available" (a `custos agent` process
 *   that ends once it holds one credential and one 1 KiB state object), median of --runs:
 *     - rehydration from custosd on loopback (`cache resume`, the broker answering):
 *       attest, the credential, the state key, a verified state read;
 *     - resume from the tpm2 cache on swtpm (`cache open`, no network);
 *     - resume from the broker-provider cache (`cache open --provider broker`: attest and
 *       the cache key, then the cache);
 *     floors: an empty `custos agent --help` process; one attest round trip and one
 *     cs_cache_open on the TPM (SRK, load, policy session, unseal, NV read), in-process.
 *   state put and get round trips per second, 1 KiB and 1020 KiB (the maximum) objects, in
 *   process on one attested handle, beside the floor: AES-256-GCM seal and open of the same
 *   bytes (cs_state_seal / cs_state_open).
 *
 * usage: bench_resume --custosd PATH --custos PATH --policy docs/examples/policy-demo.json
 *                     --dir DIR [--runs N]
 * Starts swtpm (skips, exit 0, when it is missing) and custosd --dev in DIR, removed after.
 * Measure a Release or RelWithDebInfo build without sanitizers.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/cache.h"
#include "client/client_int.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "net/http_client.h"

#define PATH_LEN 1024
#define RUNS_MAX 200
#define KIB 1024u

struct opts {
    const char *custosd;
    const char *custos;
    const char *policy;
    const char *dir;
    int runs;
};

struct env {
    char dir[PATH_LEN];
    char data[PATH_LEN];
    char tcti[PATH_LEN + 16];
    char url[256];
    char vkey[512];
    pid_t swtpm;
    pid_t broker;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void path_in(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_LEN, "%s/%s", dir, name);
    if (n < 0 || n >= (int)PATH_LEN) {
        out[0] = '\0'; /* too long: every use of the empty path then fails */
    }
}

/* fork + exec; stdout and stderr to log (or /dev/null). Long-lived children die with us. */
static pid_t spawn(const char *const argv[], const char *log)
{
    int fd = open(log != NULL ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0600);
    if (fd < 0) {
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent
            || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
            _exit(127);
        }
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(fd);
    return pid;
}

/* Runs argv to its end: its exit status, and *secs from fork to exit. */
static int run(const char *const argv[], double *secs)
{
    double t0 = now_s();
    pid_t pid = spawn(argv, NULL);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    if (secs != NULL) {
        *secs = now_s() - t0;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

/* Until path is a socket or a non-empty file. */
static bool wait_file(const char *path, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    struct stat st;
    while (stat(path, &st) != 0 || (st.st_size == 0 && !S_ISSOCK(st.st_mode))) {
        if (now_s() > deadline) {
            return false;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    }
    return true;
}

static bool write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool is_ok = f != NULL && fwrite(p, 1, n, f) == n;
    if (f != NULL) {
        is_ok &= fclose(f) == 0;
    }
    return is_ok;
}

static bool start_swtpm(struct env *e)
{
    char tpm[PATH_LEN], sock[PATH_LEN], server[PATH_LEN + 32], ctrl[PATH_LEN + 40],
        state[PATH_LEN + 8];
    path_in(tpm, e->dir, "tpm");
    if (mkdir(tpm, 0700) != 0) {
        return false;
    }
    path_in(sock, tpm, "sock");
    snprintf(server, sizeof server, "type=unixio,path=%s", sock);
    snprintf(ctrl, sizeof ctrl, "type=unixio,path=%s.ctrl", sock);
    snprintf(state, sizeof state, "dir=%s", tpm);
    snprintf(e->tcti, sizeof e->tcti, "swtpm:path=%s", sock);
    const char *argv[] = { "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl,
                     "--flags", "not-need-init,startup-clear", "--tpmstate", state, NULL };
    e->swtpm = spawn(argv, NULL);
    return e->swtpm > 0 && wait_file(sock, 5) ? true : (stop(&e->swtpm), false);
}

static bool start_broker(const struct opts *o, struct env *e)
{
    char conf[PATH_LEN], ready[PATH_LEN], log[PATH_LEN];
    path_in(conf, e->dir, "custosd.conf");
    path_in(ready, e->dir, "ready");
    path_in(log, e->dir, "custosd.log");
    path_in(e->data, e->dir, "data");
    /* every attest of this benchmark comes from 127.0.0.1: lift the auth rate limit */
    const char *cfg = "auth_rate 100000\nauth_burst 100000\nresource_rate 100000\n"
                      "resource_burst 100000\n";
    if (!write_bytes(conf, cfg, strlen(cfg))) {
        return false;
    }
    const char *argv[] = { o->custosd, "--dev", "--config", conf, "--listen", "127.0.0.1:0",
                     "--data-dir", e->data, "--ready-file", ready, NULL };
    e->broker = spawn(argv, log);
    if (e->broker <= 0 || !wait_file(ready, 20)) {
        return false;
    }
    struct cs_blob b = { 0 };
    if (!cs_ok(cs_file_read(ready, sizeof e->url - 1, &b))) {
        return false;
    }
    size_t n = strcspn((const char *)b.p, " \r\n");
    memcpy(e->url, b.p, n < b.len ? n : b.len);
    cs_blob_clear(&b);
    return true;
}

/* custos admin ... a1 a2 a3 [a4 a5] */
static bool admin(const struct opts *o, const struct env *e, const char *a1, const char *a2,
                  const char *a3, const char *a4, const char *a5)
{
    char tok[PATH_LEN];
    path_in(tok, e->data, "admin.token");
    const char *argv[] = { o->custos, "admin", "--url", e->url, "--token-file", tok,
                     a1, a2, a3, a4, a5, NULL };
    return run(argv, NULL) == 0;
}

static bool fetch_vkey(struct env *e)
{
    char url[512];
    snprintf(url, sizeof url, "%s/custos/v1/log/entry/0", e->url);
    struct cs_httpc_req req = { .method = "GET", .url = url };
    struct cs_httpc_resp resp;
    if (!cs_ok(cs_httpc_do(&req, &resp))) {
        return false;
    }
    json_t *j = NULL;
    cs_res r = cs_json_load(cs_cur_of(resp.body.p, resp.body.len), 64 * KIB, &j);
    cs_buf_clear(&resp.body);
    const char *v = cs_ok(r) ? json_string_value(json_object_get(j, "log_vkey")) : NULL;
    bool is_ok = v != NULL && strlen(v) < sizeof e->vkey;
    if (is_ok) {
        snprintf(e->vkey, sizeof e->vkey, "%s", v);
    }
    json_decref(j);
    return is_ok;
}

static bool setup(const struct opts *o, struct env *e)
{
    char f[PATH_LEN];
    uint8_t rnd[32];
    FILE *ur = fopen("/dev/urandom", "rb");
    bool is_ok = ur != NULL && fread(rnd, 1, sizeof rnd, ur) == sizeof rnd;
    if (ur != NULL) {
        fclose(ur);
    }
    is_ok = is_ok && admin(o, e, "policy", "set", o->policy, NULL, NULL);
    static const char *const names[] = { "db-password", "state-key", "cache-key" };
    for (size_t i = 0; is_ok && i < 3; i++) {
        char res[128];
        snprintf(res, sizeof res, "default/demo/%s", names[i]);
        path_in(f, e->dir, names[i]);
        rnd[0] ^= (uint8_t)(i + 1); /* three different values */
        is_ok = write_bytes(f, rnd, sizeof rnd) && admin(o, e, "resource", "set", res, "--file", f);
    }
    cs_wipe(rnd, sizeof rnd);
    return is_ok && fetch_vkey(e);
}

static cs_res client_new(const struct env *e, const char *state_file, struct custos_client **c)
{
    struct custos_client_opts co = { .url = e->url, .attester = "sim", .data_dir = e->data,
                                     .log_vkey = e->vkey, .state_file = state_file,
                                     .identity = "demo" };
    struct custos_diag d = { 0 };
    cs_res r = custos_client_new(&co, &d, c);
    if (!cs_ok(r)) {
        fprintf(stderr, "bench_resume: client: %s\n", d.msg);
    }
    return r;
}

/* ---- process start to "credentials and state available" ---- */

static double median_of_runs(const struct opts *o, const char *const argv[], const char *what)
{
    double v[RUNS_MAX];
    for (int i = 0; i < o->runs; i++) {
        int rc = run(argv, &v[i]);
        if (rc != 0) {
            fprintf(stderr, "bench_resume: %s: exit %d\n", what, rc);
            return -1;
        }
    }
    return median(v, o->runs);
}

static void print_vs(const char *what, double t, const char *floor_what, double floor_t)
{
    printf("%-44s %8.2f ms   floor %-34s %8.2f ms   ratio %.2f\n", what, t * 1e3, floor_what,
           floor_t * 1e3, floor_t > 0 ? t / floor_t : 0.0);
}

static bool bench_start(const struct opts *o, struct env *e, struct custos_client *c)
{
    char state_file[PATH_LEN], tpm_cache[PATH_LEN], brk_cache[PATH_LEN];
    path_in(state_file, e->dir, "agent.state");
    path_in(tpm_cache, e->dir, "tpm.cache");
    path_in(brk_cache, e->dir, "broker.cache");
    const char *keep[] = { "default/demo/db-password", NULL };
    const char *objs[] = { "agent.cfg", NULL };
    struct custos_cache_opts tk = { .provider = "tpm2", .tcti = e->tcti, .pcrs = "sha256:7",
                                    .credentials = keep, .objects = objs,
                                    .max_offline_s = 3600 };
    struct custos_cache_opts bk = tk;
    bk.provider = "broker";
    struct custos_diag d = { 0 };
    if (!cs_ok(custos_client_cache_save(c, tpm_cache, &tk, &d))
        || !cs_ok(custos_client_cache_save(c, brk_cache, &bk, &d))) {
        fprintf(stderr, "bench_resume: cache save: %s\n", d.msg);
        return false;
    }
    const char *common[] = { o->custos, "agent", "--url", e->url, "--attester", "sim",
                       "--data-dir", e->data, "--vkey", e->vkey, "--state-file", state_file,
                       "--identity", "demo", "--json", "cache" };
    enum { NC = sizeof common / sizeof common[0] };
    const char *rehy[NC + 16], *tpm[NC + 16], *brk[NC + 16];
    memcpy(rehy, common, sizeof common);
    memcpy(tpm, common, sizeof common);
    memcpy(brk, common, sizeof common);
    const char *tail[] = { "get",   "default/demo/db-password", "+", "state", "get",
                           "agent.cfg", NULL };
    const char *r1[] = { "resume",     "--cache", tpm_cache, "--provider", "tpm2",
                         "--cache-tcti", e->tcti };
    const char *r2[] = { "open",       "--cache", tpm_cache, "--provider", "tpm2",
                         "--cache-tcti", e->tcti };
    const char *r3[] = { "open", "--cache", brk_cache, "--provider", "broker" };
    memcpy(rehy + NC, r1, sizeof r1);
    memcpy(rehy + NC + 7, tail, sizeof tail);
    memcpy(tpm + NC, r2, sizeof r2);
    memcpy(tpm + NC + 7, tail, sizeof tail);
    memcpy(brk + NC, r3, sizeof r3);
    memcpy(brk + NC + 5, tail, sizeof tail);
    const char *help[] = { o->custos, "agent", "--help", NULL };

    double t_empty = median_of_runs(o, help, "custos agent --help");
    double t_rehy = median_of_runs(o, rehy, "rehydration");
    double t_tpm = median_of_runs(o, tpm, "resume from the tpm2 cache");
    double t_brk = median_of_runs(o, brk, "resume from the broker-provider cache");
    if (t_empty < 0 || t_rehy < 0 || t_tpm < 0 || t_brk < 0) {
        return false;
    }
    /* floors, in process: one attest round trip; one cs_cache_open on the TPM */
    double va[RUNS_MAX], vt[RUNS_MAX];
    struct cs_cache_key_provider *p = NULL;
    if (!cs_ok(cs_cache_provider_tpm2(e->tcti, "sha256:7", 0, &p))) {
        fprintf(stderr, "bench_resume: the TPM provider cannot be opened\n");
        return false;
    }
    bool is_ok = true;
    for (int i = 0; is_ok && i < o->runs; i++) {
        double t0 = now_s();
        is_ok = cs_ok(custos_client_attest(c, &d));
        va[i] = now_s() - t0;
        json_t *payload = NULL;
        t0 = now_s();
        is_ok = is_ok && cs_ok(cs_cache_open(p, tpm_cache, (int64_t)time(NULL), "demo", &payload));
        vt[i] = now_s() - t0;
        json_decref(payload);
    }
    cs_cache_provider_free(p);
    if (!is_ok) {
        fprintf(stderr, "bench_resume: floor: %s\n", d.msg);
        return false;
    }
    double vn[RUNS_MAX];
    char scratch[PATH_LEN];
    path_in(scratch, e->dir, "scratch.state");
    for (int i = 0; is_ok && i < o->runs; i++) {
        struct custos_client *x = NULL;
        double t0 = now_s();
        is_ok = cs_ok(client_new(e, scratch, &x));
        vn[i] = now_s() - t0;
        custos_client_free(x);
    }
    double f_attest = median(va, o->runs);
    double t_new = median(vn, o->runs);
    double f_unseal = median(vt, o->runs);
    printf("process start -> credentials and state available (median of %d runs):\n", o->runs);
    printf("%-44s %8.2f ms\n", "  empty process (custos agent --help)", t_empty * 1e3);
    print_vs("  rehydration from custosd (loopback)", t_rehy, "one attest round trip", f_attest);
    print_vs("  resume from the tpm2 cache (swtpm)", t_tpm, "one TPM unseal (cs_cache_open)",
             f_unseal);
    print_vs("  resume from the broker-provider cache", t_brk, "one attest round trip", f_attest);
    printf("  (each process also pays the empty process above, %.2f ms, and custos_client_new "
           "(state file, sim attester), %.2f ms in process)\n",
           t_empty * 1e3, t_new * 1e3);
    return true;
}

/* ---- state round trips ---- */

/* Round trips on object agent.cfg (the policy's state object), from version *v. */
static bool bench_state(struct custos_client *c, uint64_t *v_io, size_t size, const char *label)
{
    uint8_t *buf = NULL;
    if (!cs_ok(cs_alloc(1, size, (void **)&buf))) {
        return false;
    }
    memset(buf, 0x5a, size);
    const char *object = "agent.cfg";
    int n = size <= 4 * KIB ? 100 : 10;
    struct custos_diag d = { 0 };
    uint64_t v = *v_io;
    bool is_ok = true;
    double t_put = 0, t_get = 0;
    for (int i = 0; is_ok && i < n; i++) {
        buf[0] = (uint8_t)i;
        double t0 = now_s();
        is_ok = cs_ok(custos_client_state_put(c, object, buf, size, v, &d, &v));
        double t1 = now_s();
        uint8_t *pt = NULL;
        size_t len = 0;
        uint64_t got = 0;
        is_ok = is_ok && cs_ok(custos_client_state_get(c, object, &d, &pt, &len, &got));
        t_get += now_s() - t1;
        t_put += t1 - t0;
        is_ok = is_ok && got == v && len == size && pt[0] == (uint8_t)i;
        custos_free_secret(pt, len);
    }
    if (!is_ok) {
        fprintf(stderr, "bench_resume: state %s: %s\n", label, d.msg);
        cs_free(buf);
        return false;
    }
    /* floor: the same sealing and opening, no network, no log */
    uint8_t key[CS_AEAD_KEY_LEN];
    memset(key, 7, sizeof key);
    int m = n * 10;
    double t0 = now_s();
    for (int i = 0; is_ok && i < m; i++) {
        uint8_t *env = NULL;
        size_t env_len = 0;
        uint8_t *pt = NULL;
        size_t len = 0;
        is_ok = cs_ok(cs_state_seal(key, "demo", object, (uint64_t)i + 1, buf, size, &env,
                                    &env_len))
                && cs_ok(cs_state_open(key, "demo", object, (uint64_t)i + 1, env, env_len, &pt,
                                       &len));
        cs_free(env);
        cs_free_wipe(pt, len);
    }
    double t_floor = (now_s() - t0) / m;
    cs_free(buf);
    *v_io = v;
    double put_s = n / t_put;
    double get_s = n / t_get;
    double floor_s = 1 / t_floor;
    printf("state %-9s put %8.1f/s  get %8.1f/s   floor AES-256-GCM seal+open %9.1f/s   "
           "ratio put %.4f, get %.4f\n",
           label, put_s, get_s, floor_s, put_s / floor_s, get_s / floor_s);
    return is_ok;
}

static bool parse(int argc, char **argv, struct opts *o)
{
    o->runs = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i];
        const char *v = argv[i + 1];
        if (strcmp(a, "--custosd") == 0) {
            o->custosd = v;
        } else if (strcmp(a, "--custos") == 0) {
            o->custos = v;
        } else if (strcmp(a, "--policy") == 0) {
            o->policy = v;
        } else if (strcmp(a, "--dir") == 0) {
            o->dir = v;
        } else if (strcmp(a, "--runs") == 0) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (*end != '\0' || n < 1 || n > RUNS_MAX) {
                return false;
            }
            o->runs = (int)n;
        } else {
            return false;
        }
    }
    return o->custosd != NULL && o->custos != NULL && o->policy != NULL && o->dir != NULL;
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_resume --custosd PATH --custos PATH --policy "
                        "policy-demo.json --dir DIR [--runs N]\n");
        return 2;
    }
    struct env e = { 0 };
    char tmpl[PATH_LEN];
    snprintf(tmpl, sizeof tmpl, "%s", o.dir);
    (void)mkdir(tmpl, 0700);
    snprintf(e.dir, sizeof e.dir, "%s/run-XXXXXX", o.dir);
    if (mkdtemp(e.dir) == NULL) {
        fprintf(stderr, "bench_resume: %s: %s\n", e.dir, strerror(errno));
        return 2;
    }
    setenv("TSS2_LOG", "all+NONE", 1);
    if (!start_swtpm(&e)) {
        printf("bench_resume: skipped: swtpm cannot be started\n");
        const char *rm[] = { "rm", "-rf", e.dir, NULL };
        (void)run(rm, NULL);
        return 0;
    }
    int rc = 1;
    struct custos_client *c = NULL;
    char state_file[PATH_LEN];
    path_in(state_file, e.dir, "agent.state");
    if (start_broker(&o, &e) && setup(&o, &e) && cs_ok(client_new(&e, state_file, &c))) {
        static const uint8_t cfg[KIB] = { 1 };
        struct custos_diag d = { 0 };
        uint64_t v = 0;
        printf("bench_resume: custosd %s, swtpm, %d runs per path\n", e.url, o.runs);
        if (cs_ok(custos_client_state_put(c, "agent.cfg", cfg, sizeof cfg, 0, &d, &v))
            && bench_start(&o, &e, c) && bench_state(c, &v, KIB, "1 KiB")
            && bench_state(c, &v, CUSTOS_STATE_PLAINTEXT_MAX, "1020 KiB")) {
            rc = 0;
        } else if (d.msg[0] != '\0') {
            fprintf(stderr, "bench_resume: %s\n", d.msg);
        }
    } else {
        fprintf(stderr, "bench_resume: setup failed (see %s/custosd.log)\n", e.dir);
    }
    custos_client_free(c);
    stop(&e.broker);
    stop(&e.swtpm);
    const char *rm[] = { "rm", "-rf", e.dir, NULL };
    (void)run(rm, NULL);
    return rc;
}
