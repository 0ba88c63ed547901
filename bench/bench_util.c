/* SPDX-License-Identifier: Apache-2.0 */
/* What the benchmarks share (bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/cs_json.h"
#include "core/cs_time.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

double bench_thread_cpu_s(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double bench_process_cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

cs_res bench_run_for(bench_op op, void *arg, unsigned batch, double seconds,
                     struct bench_tally *t)
{
    double start = bench_now_s();
    double elapsed = 0;
    do {
        for (unsigned i = 0; i < batch; i++) {
            CS_TRY(op(arg));
            t->n++;
        }
        elapsed = bench_now_s() - start;
    } while (elapsed < seconds);
    t->seconds += elapsed;
    return CS_SUCCESS;
}

double bench_rate(struct bench_tally t)
{
    return t.seconds > 0 ? (double)t.n / t.seconds : 0;
}

static void keep_best(double *best, struct bench_tally t)
{
    double rate = bench_rate(t);
    *best = rate > *best ? rate : *best;
}

cs_res bench_best_of(const struct bench_trial *t, int rounds, double seconds,
                     struct bench_rates *best)
{
    *best = (struct bench_rates){ 0 };
    for (int round = 0; round < rounds; round++) {
        struct bench_tally op = { 0 };
        struct bench_tally floor = { 0 };
        struct bench_tally cold = { 0 };
        while (op.seconds < seconds) {
            CS_TRY(bench_run_for(t->op, t->op_arg, t->batch, t->slice, &op));
            if (t->floor != NULL) {
                CS_TRY(bench_run_for(t->floor, t->floor_arg, t->batch, t->slice, &floor));
            }
        }
        if (t->cold != NULL) {
            CS_TRY(bench_run_for(t->cold, t->cold_arg, 1, seconds, &cold));
        }
        keep_best(&best->op, op);
        keep_best(&best->floor, floor);
        keep_best(&best->cold, cold);
    }
    return CS_SUCCESS;
}

const char *bench_verdict(bool is_pass)
{
    return is_pass ? "PASS" : "FAIL";
}

cs_res bench_print_peak_rss(void)
{
    struct rusage ru;
    CS_ENSURE(getrusage(RUSAGE_SELF, &ru) == 0, CS_E_IO);
    printf("peak RSS: %.1f MiB (ru_maxrss, whole run)\n", (double)ru.ru_maxrss / 1024.0);
    return CS_SUCCESS;
}

cs_res bench_print_rates(const struct bench_rates *r, double target, const struct bench_units *u)
{
    double ratio = r->op / r->floor;
    printf("warm: %.0f%s, floor: %.0f%s, ratio %.2f (target >= %.2f) %s\n", r->op, u->rate,
           r->floor, u->floor_rate, ratio, target, bench_verdict(ratio >= target));
    printf("warm: %.1f us/%s; floor: %.1f us/%s\n", 1e6 / r->op, u->item, 1e6 / r->floor,
           u->item);
    printf("cold: %.0f%s, %.1f us/%s %s\n", r->cold, u->cold_rate, 1e6 / r->cold, u->item,
           u->cold_note);
    return bench_print_peak_rss();
}

int bench_pin_to_this_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* best effort: one thread either way */
    return cpu;
}

cs_res bench_parse_number(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    CS_ENSURE(errno == 0 && end != s && *end == '\0', CS_E_ARG);
    CS_ENSURE(*out >= lo && *out <= hi, CS_E_ARG);
    return CS_SUCCESS;
}

cs_res bench_case_args(int argc, char **argv, const char **dir, double *seconds)
{
    *seconds = 1.5;
    *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            CS_TRY(bench_parse_number(argv[++i], 0.05, 60.0, seconds));
        } else {
            CS_ENSURE(*dir == NULL && argv[i][0] != '-', CS_E_ARG);
            *dir = argv[i];
        }
    }
    CS_ENSURE(*dir != NULL, CS_E_ARG);
    return CS_SUCCESS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bench_nearest_rank(const double *v, size_t n, unsigned pct)
{
    size_t i = (n * pct + 99) / 100;
    return v[(i > 0 ? i : 1) - 1];
}

cs_res bench_path_in(const char *dir, const char *name, char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && n < PATH_MAX, CS_E_ARG);
    return CS_SUCCESS;
}

cs_res bench_read_in(const char *dir, const char *name, size_t max, struct cs_blob *out)
{
    char path[PATH_MAX];
    CS_TRY(bench_path_in(dir, name, path));
    return cs_file_read(path, max, out);
}

cs_res bench_case_at(const char *dir, int64_t *at)
{
    char path[PATH_MAX];
    CS_TRY(bench_path_in(dir, "case.json", path));
    json_error_t err;
    CS_AUTO_JSON *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    BENCH_ENSURE(root != NULL, CS_E_IO, "%s: %s", path, err.text);
    const char *text = json_string_value(json_object_get(root, "at"));
    BENCH_ENSURE(text != NULL && cs_ok(cs_time_parse(text, strlen(text), at)), CS_E_FORMAT,
                 "%s: no RFC 3339 \"at\"", path);
    return CS_SUCCESS;
}
