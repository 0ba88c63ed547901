/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The whole error vocabulary inside custos: CS_SUCCESS, CS_FAIL, CS_ENSURE, CS_TRY,
 * plus CS_ENSURE_WHY, which also records a reason in a struct custos_diag for the
 * verifiers, whose callers need to know which check failed and not only its class.
 */
#ifndef CS_CORE_RESULT_H
#define CS_CORE_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "custos/result.h"

#define CS_SUCCESS ((cs_res){ .code = CS_OK })
#define CS_FAIL(c) return (cs_res){ .code = (c), .line = __LINE__, .file = __FILE__ }
#define CS_ENSURE(cond, c)                                                                 \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            CS_FAIL(c);                                                                    \
        }                                                                                  \
    } while (0)
#define CS_TRY(expr)                                                                       \
    do {                                                                                   \
        cs_res cs_r_ = (expr);                                                             \
        if (cs_r_.code != CS_OK) {                                                         \
            return cs_r_;                                                                  \
        }                                                                                  \
    } while (0)
#define CS_ENSURE_WHY(cond, c, diag, ...)                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            cs_diag_set((diag), (c), __VA_ARGS__);                                         \
            CS_FAIL(c);                                                                    \
        }                                                                                  \
    } while (0)

static inline bool cs_ok(cs_res r)
{
    return r.code == CS_OK;
}

/* Records code and a printf-style reason in diag (may be NULL), keeping the first one. */
void cs_diag_set(struct custos_diag *diag, cs_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records only the code of r, with the code's generic description, if diag has none yet. */
void cs_diag_code(struct custos_diag *diag, cs_res r);

#endif
