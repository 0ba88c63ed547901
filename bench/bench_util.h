/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the benchmarks (bench/bench_*.c) share: clocks, timed loops (an operation run
 * for a time, best of N rounds with its floor in alternating slices), percentiles, peak
 * RSS, PASS/FAIL, the arguments and instant of a case directory. Every benchmark defines
 * bench_name, its program name, which prefixes its messages.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cs_file.h"
#include "core/cs_result.h"

/* The program's name (defined by each benchmark). */
extern const char *const bench_name;

/* Prints why, once, where the failure is raised (the benchmarks' only log). */
#define BENCH_ENSURE(cond, c, ...)                                                         \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s: ", bench_name);                                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            CS_FAIL(c);                                                                    \
        }                                                                                  \
    } while (0)

typedef cs_res (*bench_op)(void *arg);

/* Seconds of CLOCK_MONOTONIC, of this thread's CPU time, of this process's CPU time. */
double bench_now_s(void);
double bench_thread_cpu_s(void);
double bench_process_cpu_s(void);

/* Work done and time spent by one measured operation. */
struct bench_tally {
    unsigned long n;
    double seconds;
};

/*
 * Runs op for at least `seconds` (at least one batch), reading the clock after every
 * `batch` calls (batch >= 1), and adds the calls and the time to *t.
 */
cs_res bench_run_for(bench_op op, void *arg, unsigned batch, double seconds,
                     struct bench_tally *t);
/* Calls per second; 0 when no time was spent. */
double bench_rate(struct bench_tally t);

/* An operation measured beside its floor (and optionally its cold form). */
struct bench_trial {
    bench_op op;
    void *op_arg;
    bench_op floor; /* NULL: none, its rate stays 0 */
    void *floor_arg;
    bench_op cold; /* NULL: none, its rate stays 0 */
    void *cold_arg;
    unsigned batch; /* calls of op and floor per clock reading */
    double slice;   /* op and floor alternate in slices of this many seconds */
};

struct bench_rates {
    double op;
    double floor;
    double cold;
};

/*
 * Best rates of `rounds` rounds. A round runs op and floor in alternating slices until op
 * has had `seconds` (so that load elsewhere on the machine weighs on both alike), then
 * cold for `seconds`, one call per clock reading.
 */
cs_res bench_best_of(const struct bench_trial *t, int rounds, double seconds,
                     struct bench_rates *best);

/* How bench_print_rates names a measured item. */
struct bench_units {
    const char *rate;       /* after the warm rate, e.g. " q/s" */
    const char *floor_rate; /* after the floor rate, e.g. " q/s" or "/s" */
    const char *item;       /* in "us/<item>", e.g. "quote" */
    const char *cold_rate;  /* after the cold rate */
    const char *cold_note;  /* after the cold time, e.g. "(collateral parsed per quote)" */
};

/*
 * Prints the rates of a warm/floor/cold run: the warm rate, the floor rate and their ratio
 * against target with PASS/FAIL, the time per item of each, and the peak RSS.
 */
cs_res bench_print_rates(const struct bench_rates *r, double target, const struct bench_units *u);

/* "PASS" or "FAIL". */
const char *bench_verdict(bool is_pass);

/* Prints "peak RSS: <MiB> MiB (ru_maxrss, whole run)". */
cs_res bench_print_peak_rss(void);

/* Pins the process to the CPU it runs on (best effort); returns sched_getcpu() of before. */
int bench_pin_to_this_cpu(void);

/* A number from an argument (strtod, the whole text), within [lo, hi]. */
cs_res bench_parse_number(const char *s, double lo, double hi, double *out);

/* "CASE_DIR [--seconds S]": S defaults to 1.5 and lies within [0.05, 60]. */
cs_res bench_case_args(int argc, char **argv, const char **dir, double *seconds);

/* Sorts v ascending. */
void bench_sort(double *v, size_t n);
/* The nearest-rank pct-th percentile of sorted v (n > 0). */
double bench_nearest_rank(const double *v, size_t n, unsigned pct);

/* dir/name into out; CS_E_ARG when it does not fit. */
cs_res bench_path_in(const char *dir, const char *name, char out[PATH_MAX]);
/* Reads dir/name, at most max bytes. */
cs_res bench_read_in(const char *dir, const char *name, size_t max, struct cs_blob *out);
/* The "at" (RFC 3339) of dir/case.json: the verification instant. */
cs_res bench_case_at(const char *dir, int64_t *at);

#endif
