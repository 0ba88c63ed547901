/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit records as an auditor reads them from an untrusted broker (custos audit verify):
 * cs_audit_parse must reject anything but a canonical record of a known type, without
 * crashing, and accept what it accepts consistently. Also the HTTP cookie parser.
 */
#include <string.h>

#include "broker/audit.h"
#include "broker/http.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = NULL;
    const char *type = NULL;
    if (cs_ok(cs_audit_parse(data, size, &rec, &type))) {
        FUZZ_CHECK(rec != NULL && type != NULL && json_is_object(rec));
        json_decref(rec);
    } else {
        FUZZ_CHECK(rec == NULL); /* nothing is handed out on failure */
    }
    char text[512];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    char v[64];
    (void)cs_ok(cs_http_cookie(text, "kbs-session-id", v, sizeof v));
    return 0;
}
