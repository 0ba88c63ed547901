/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small blocking HTTP(S) client over libcurl (the only code that includes curl.h), for
 * the CLI (admin, audit) and the agent client. TLS peers are verified (system store or
 * the given CA file); responses are bounded.
 */
#ifndef CS_NET_HTTP_CLIENT_H
#define CS_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_buf.h"
#include "core/cs_result.h"

#define CS_HTTPC_RESPONSE_MAX (16u << 20)

struct cs_httpc_req {
    const char *method;        /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *bearer;        /* Authorization: Bearer <bearer>, or NULL */
    const char *cookie;        /* Cookie header value, or NULL */
    const char *content_type;  /* with a body */
    const uint8_t *body;
    size_t body_len;
    const char *cacert;        /* PEM file of trusted CAs for https, or NULL: system store */
};

struct cs_httpc_resp {
    long status;
    struct cs_buf body;        /* cs_buf_clear after use */
    char set_cookie[512];      /* the kbs-session-id=... pair of Set-Cookie, or "" */
    char log_index[24];        /* X-Custos-Log-Index, or "" */
};

/* CS_E_IO when the server cannot be reached; any HTTP status is CS_OK. */
CS_RESULT cs_httpc_do(const struct cs_httpc_req *req, struct cs_httpc_resp *resp);

#endif
