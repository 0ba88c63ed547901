/* SPDX-License-Identifier: Apache-2.0 */
/* Names and classes of result codes, and the diagnostic recorder. */
#include "core/cs_result.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *name;
    const char *cls;
    const char *text;
} code_info[CS_E__COUNT] = {
    [CS_OK] = { "ok", "ok", "success" },
    [CS_E_TRUNCATED] = { "truncated", "format", "input ends before a declared field" },
    [CS_E_TRAILING] = { "trailing", "format", "unexpected bytes after the structure" },
    [CS_E_FORMAT] = { "format", "format", "malformed input" },
    [CS_E_UNSUPPORTED] = { "unsupported", "unsupported", "unsupported version, type or algorithm" },
    [CS_E_TOO_LARGE] = { "too_large", "format", "input exceeds a size limit" },
    [CS_E_SIGNATURE] = { "signature", "signature", "signature does not verify" },
    [CS_E_CHAIN] = { "chain", "chain", "certificate chain does not lead to the trust anchor" },
    [CS_E_EXPIRED] = { "expired", "expired", "outside a validity period" },
    [CS_E_REVOKED] = { "revoked", "revoked", "revoked" },
    [CS_E_TCB] = { "tcb", "tcb", "no acceptable TCB level" },
    [CS_E_BINDING] = { "binding", "binding", "a binding between pieces of evidence fails" },
    [CS_E_POLICY] = { "policy", "policy", "denied by policy" },
    [CS_E_ARG] = { "arg", "internal", "invalid argument" },
    [CS_E_NOMEM] = { "nomem", "internal", "out of memory" },
    [CS_E_IO] = { "io", "io", "input/output error" },
    [CS_E_CRYPTO] = { "crypto", "internal", "cryptographic library failure" },
    [CS_E_STORE] = { "store", "internal", "storage failure" },
    [CS_E_INTERNAL] = { "internal", "internal", "internal error" },
    [CS_E_NOT_FOUND] = { "not_found", "state", "no such object" },
    [CS_E_CONFLICT] = { "conflict", "state", "conflicts with the current state" },
};

const char *custos_code_name(cs_code code)
{
    if ((unsigned)code >= CS_E__COUNT) {
        return "unknown";
    }
    return code_info[code].name;
}

const char *custos_code_class(cs_code code)
{
    if ((unsigned)code >= CS_E__COUNT) {
        return "internal";
    }
    return code_info[code].cls;
}

void cs_diag_set(struct custos_diag *diag, cs_code code, const char *fmt, ...)
{
    if (diag == NULL || diag->code != CS_OK) {
        return; /* the first failure is the one that explains the verdict */
    }
    diag->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        diag->msg[0] = '\0';
    }
}

void cs_diag_code(struct custos_diag *diag, cs_res r)
{
    if (diag == NULL || diag->code != CS_OK || r.code == CS_OK) {
        return;
    }
    cs_code c = (unsigned)r.code < CS_E__COUNT ? r.code : CS_E_INTERNAL;
    cs_diag_set(diag, c, "%s", code_info[c].text);
}
