/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error convention for all of custos, public API included.
 *
 * Every function that can fail returns a cs_res (declared CS_RESULT). CS_OK means
 * success; every other code names what was wrong. Codes are grouped by meaning:
 * input rejected, verification verdicts, and system failures. A cs_res is a struct,
 * not an int, so it cannot be silently used as a boolean, and ignoring it is a warning.
 */
#ifndef CUSTOS_RESULT_H
#define CUSTOS_RESULT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef enum cs_code {
    CS_OK = 0,
    /* input rejected */
    CS_E_TRUNCATED,
    CS_E_TRAILING,
    CS_E_FORMAT,
    CS_E_UNSUPPORTED,
    CS_E_TOO_LARGE,
    /* verdicts */
    CS_E_SIGNATURE,
    CS_E_CHAIN,
    CS_E_EXPIRED,
    CS_E_REVOKED,
    CS_E_TCB,
    CS_E_BINDING,
    CS_E_POLICY,
    /* system */
    CS_E_ARG,
    CS_E_NOMEM,
    CS_E_IO,
    CS_E_CRYPTO,
    CS_E_STORE,
    CS_E_INTERNAL,
    /* state (storage and protocol) */
    CS_E_NOT_FOUND, /* no such object, or it expired */
    CS_E_CONFLICT,  /* already exists, stale version, or a single-use value already used */
    CS_E__COUNT
} cs_code;

typedef struct cs_res {
    cs_code code;
    uint32_t line;    /* where the failure was raised; 0 on success */
    const char *file; /* for logs only, never sent to clients */
} cs_res;

#define CS_RESULT __attribute__((warn_unused_result)) cs_res

/* Length of the human-readable reason carried by a custos_diag. */
#define CUSTOS_DIAG_MSG_MAX 256

/*
 * Why a verification failed, in words an operator can act on. Caller-owned storage;
 * filled by the verifiers on failure. The message never contains secrets; it may quote
 * short, escaped fragments of the (public) evidence or collateral.
 */
struct custos_diag {
    cs_code code;
    char msg[CUSTOS_DIAG_MSG_MAX];
};

/* The library version, "MAJOR.MINOR.PATCH". */
const char *custos_version(void);

/* Short stable name of a code ("truncated", "signature", ...). Never NULL. */
const char *custos_code_name(cs_code code);

/*
 * The error class of a code as documented in docs/claims.md: one of "format",
 * "unsupported", "signature", "chain", "expired", "revoked", "tcb", "binding",
 * "policy" for verdicts and rejected input, "internal" for system failures.
 */
const char *custos_code_class(cs_code code);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
