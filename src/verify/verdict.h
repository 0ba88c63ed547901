/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict object behind include/custos/verdict.h. Only src/verify builds verdicts,
 * so only verifiers can produce verified claims.
 */
#ifndef CS_VERIFY_VERDICT_H
#define CS_VERIFY_VERDICT_H

#include <jansson.h>

#include "core/cs_result.h"
#include "custos/verdict.h"

struct custos_verdict {
    cs_code code;
    char message[CUSTOS_DIAG_MSG_MAX];
    char platform[8];
    const char *tcb_status; /* static string or NULL */
    json_t *advisory_ids;   /* array of strings, owned */
    json_t *claims;         /* object, owned */
};

/* A new verdict for `platform`, not yet decided (code CS_E_INTERNAL until finished). */
CS_RESULT cs_verdict_new(const char *platform, struct custos_verdict **out);

/*
 * The verdict object of custos_verdict_to_json as a jansson value (claims shared by
 * reference: treat as read-only). For in-process callers (the broker) that would otherwise
 * print it and parse it again. Ownership: on CS_OK *out is a new reference.
 */
CS_RESULT cs_verdict_json(const struct custos_verdict *v, json_t **out);

/*
 * Records the outcome: r's code, and the message of diag when it has one (else the
 * generic text of the code). Also copies platform, tcb_status and advisories into claims.
 */
void cs_verdict_finish(struct custos_verdict *v, cs_res r, const struct custos_diag *diag);

#endif
