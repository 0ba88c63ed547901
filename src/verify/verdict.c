/* SPDX-License-Identifier: Apache-2.0 */
/* Verdicts: outcome + claims, and their JSON form (docs/claims.md). */
#include "verify/verdict.h"

#include <stdio.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"

CS_RESULT cs_verdict_new(const char *platform, struct custos_verdict **out)
{
    CS_ENSURE(out != NULL && platform != NULL && strlen(platform) < 8, CS_E_ARG);
    *out = NULL;
    struct custos_verdict *v = NULL;
    CS_TRY(cs_alloc(1, sizeof *v, (void **)&v));
    v->code = CS_E_INTERNAL;
    snprintf(v->platform, sizeof v->platform, "%s", platform);
    v->claims = json_object();
    v->advisory_ids = json_array();
    if (v->claims == NULL || v->advisory_ids == NULL) {
        custos_verdict_free(v);
        CS_FAIL(CS_E_NOMEM);
    }
    *out = v;
    return CS_SUCCESS;
}

void custos_verdict_free(struct custos_verdict *v)
{
    if (v == NULL) {
        return;
    }
    json_decref(v->claims);
    json_decref(v->advisory_ids);
    cs_free(v);
}

void cs_verdict_finish(struct custos_verdict *v, cs_res r, const struct custos_diag *diag)
{
    v->code = r.code;
    v->message[0] = '\0';
    if (r.code != CS_OK) {
        struct custos_diag d = { 0 };
        if (diag != NULL && diag->code != CS_OK) {
            d = *diag;
        }
        cs_diag_code(&d, r);
        snprintf(v->message, sizeof v->message, "%s", d.msg);
    }
    /* the claims repeat the verdict-level facts so that policy sees one object */
    if (v->platform[0] != '\0') {
        (void)json_object_set_new(v->claims, "platform", json_string(v->platform));
    }
    if (v->tcb_status != NULL) {
        (void)json_object_set_new(v->claims, "tcb_status", json_string(v->tcb_status));
        (void)json_object_set(v->claims, "advisory_ids", v->advisory_ids);
    }
}

bool custos_verdict_is_verified(const struct custos_verdict *v)
{
    return v != NULL && v->code == CS_OK;
}

cs_code custos_verdict_code(const struct custos_verdict *v)
{
    return v == NULL ? CS_E_ARG : v->code;
}

const char *custos_verdict_message(const struct custos_verdict *v)
{
    return v == NULL ? "" : v->message;
}

const char *custos_verdict_platform(const struct custos_verdict *v)
{
    return v == NULL ? "" : v->platform;
}

const char *custos_verdict_tcb_status(const struct custos_verdict *v)
{
    return v == NULL ? NULL : v->tcb_status;
}

void custos_free(void *p)
{
    cs_free(p); /* jansson's json_dumps allocates with malloc, as cs_alloc does */
}

static cs_res dump(const json_t *j, unsigned flags, char **out)
{
    size_t jf = JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII;
    jf |= (flags & CUSTOS_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    char *s = json_dumps(j, jf);
    CS_ENSURE(s != NULL, CS_E_NOMEM);
    *out = s;
    return CS_SUCCESS;
}

CS_RESULT cs_verdict_json(const struct custos_verdict *v, json_t **out)
{
    CS_ENSURE(v != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(o, "verified", json_boolean(v->code == CS_OK)));
    CS_TRY(cs_json_set_new(o, "platform", json_string(v->platform)));
    CS_TRY(cs_json_set_new(o, "tcb_status",
                           v->tcb_status != NULL ? json_string(v->tcb_status) : json_null()));
    CS_TRY(cs_json_set_new(o, "advisory_ids", json_incref(v->advisory_ids)));
    CS_TRY(cs_json_set_new(o, "claims", json_incref(v->claims)));
    if (v->code != CS_OK) {
        json_t *e = json_object();
        CS_TRY(cs_json_set_new(o, "error", e));
        CS_TRY(cs_json_set_new(e, "class", json_string(custos_code_class(v->code))));
        CS_TRY(cs_json_set_new(e, "code", json_string(custos_code_name(v->code))));
        CS_TRY(cs_json_set_new(e, "message", json_string(v->message)));
    }
    *out = CS_MOVE(o);
    return CS_SUCCESS;
}

CS_RESULT custos_verdict_to_json(const struct custos_verdict *v, unsigned flags, char **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO_JSON *o = NULL;
    CS_TRY(cs_verdict_json(v, &o));
    return dump(o, flags, out);
}

CS_RESULT custos_verdict_claims_json(const struct custos_verdict *v, char **out)
{
    CS_ENSURE(v != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(v->code == CS_OK, CS_E_POLICY);
    return dump(v->claims, 0, out);
}
