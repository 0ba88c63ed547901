/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outcome of verifying one piece of evidence: whether it verified, why not, and the
 * claims read from it. The claims schema is documented in docs/claims.md and is the same
 * for every platform.
 *
 * A verdict is produced for rejected evidence too, so that operators can see what was
 * presented; such claims are NOT verified and custos_verdict_claims_json refuses them.
 */
#ifndef CUSTOS_VERDICT_H
#define CUSTOS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "custos/result.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct custos_verdict; /* opaque; heap object: custos_verdict_free */

void custos_verdict_free(struct custos_verdict *v);

bool custos_verdict_is_verified(const struct custos_verdict *v);
/* CS_OK when verified, else the code of the first check that failed. */
cs_code custos_verdict_code(const struct custos_verdict *v);
/* Why it failed (empty when verified). Borrowed; lives as long as v. */
const char *custos_verdict_message(const struct custos_verdict *v);
/* "tdx", "sgx", ... or "" before the evidence was recognised. */
const char *custos_verdict_platform(const struct custos_verdict *v);
/* Intel TCB status ("UpToDate", ...) or NULL when none was reached. */
const char *custos_verdict_tcb_status(const struct custos_verdict *v);

/*
 * Renders the verdict as one JSON object:
 * {"verified","platform","tcb_status","advisory_ids","claims","error":{"class","message"}}
 * (error only when not verified). flags: 0 compact, CUSTOS_JSON_PRETTY indented.
 * Ownership: on CS_OK *out is a NUL-terminated string freed with custos_free.
 */
#define CUSTOS_JSON_PRETTY 1u
CS_RESULT custos_verdict_to_json(const struct custos_verdict *v, unsigned flags, char **out);

/*
 * The verified claims alone, as a JSON object string (freed with custos_free).
 * CS_E_POLICY when the verdict is not verified: unverified claims never leave here.
 */
CS_RESULT custos_verdict_claims_json(const struct custos_verdict *v, char **out);

/* Frees memory that the custos API handed to the caller (NULL is fine). */
void custos_free(void *p);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
