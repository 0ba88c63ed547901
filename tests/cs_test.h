/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test harness: one executable per module, each a list of test functions run by
 * CS_TEST_MAIN. A failed expectation prints file:line and marks the test failed; the
 * executable exits non-zero if any test failed, so CTest reports it. Tests that need
 * ../shared and do not find it print "SKIP: <why>" and exit 77 (CTest SKIP_RETURN_CODE).
 */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_result.h"

extern int cs_test_failures;
extern const char *cs_test_current;

#define CS_TEST_SKIP_CODE 77

#define CS_T_FAIL_(fmt, ...)                                                               \
    do {                                                                                   \
        fprintf(stderr, "%s:%d: %s: " fmt "\n", __FILE__, __LINE__, cs_test_current,       \
                __VA_ARGS__);                                                              \
        cs_test_failures++;                                                                \
    } while (0)

#define EXPECT_TRUE(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            CS_T_FAIL_("expected %s", #cond);                                              \
        }                                                                                  \
    } while (0)

#define EXPECT_OK(expr)                                                                    \
    do {                                                                                   \
        cs_res t_r_ = (expr);                                                              \
        if (t_r_.code != CS_OK) {                                                          \
            CS_T_FAIL_("%s: got %s (raised at %s:%u)", #expr, custos_code_name(t_r_.code), \
                       t_r_.file ? t_r_.file : "?", t_r_.line);                            \
        }                                                                                  \
    } while (0)

#define EXPECT_ERR(expr, want)                                                             \
    do {                                                                                   \
        cs_res t_r_ = (expr);                                                              \
        if (t_r_.code != (want)) {                                                         \
            CS_T_FAIL_("%s: got %s, want %s", #expr, custos_code_name(t_r_.code),          \
                       custos_code_name(want));                                            \
        }                                                                                  \
    } while (0)

#define EXPECT_EQ(a, b)                                                                    \
    do {                                                                                   \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                            \
        if (t_a_ != t_b_) {                                                                \
            CS_T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);                      \
        }                                                                                  \
    } while (0)

#define EXPECT_STR_EQ(a, b)                                                                \
    do {                                                                                   \
        const char *t_a_ = (a), *t_b_ = (b);                                               \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {                     \
            CS_T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)",        \
                       t_b_ ? t_b_ : "(null)");                                            \
        }                                                                                  \
    } while (0)

#define EXPECT_MEM_EQ(a, b, n)                                                             \
    do {                                                                                   \
        if (memcmp((a), (b), (n)) != 0) {                                                  \
            CS_T_FAIL_("%s == %s (%zu bytes) differ", #a, #b, (size_t)(n));                \
        }                                                                                  \
    } while (0)

struct cs_test_case {
    const char *name;
    void (*fn)(void);
};

#define CS_TEST(fn) { #fn, fn }

/* Runs the tests; returns the process exit status. */
int cs_test_run(const struct cs_test_case *cases, size_t n);

#define CS_TEST_MAIN(...)                                                                  \
    int main(void)                                                                         \
    {                                                                                      \
        static const struct cs_test_case cs_cases_[] = { __VA_ARGS__ };                    \
        return cs_test_run(cs_cases_, sizeof cs_cases_ / sizeof cs_cases_[0]);             \
    }

/* ---- helpers (tests/cs_test.c) ---- */

/* The evidence folder of ../shared, or NULL when absent (CS_SHARED_DIR or the default). */
const char *tv_shared_dir(void);

/* Exact-size heap copy (so ASan sees over-reads). Free with free(). */
unsigned char *tv_dup(const void *p, size_t n);

/* Reads a whole file; aborts the test binary on failure (test data must exist). */
unsigned char *tv_read(const char *path, size_t *len);

#endif
