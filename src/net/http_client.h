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
    /*
     * Pinned server key: "sha256" and two slashes, then the base64 of the SHA-256 of the DER
     * SubjectPublicKeyInfo (libcurl CURLOPT_PINNEDPUBLICKEY), or NULL. With a pin and no
     * cacert, the pin alone authenticates the server (chain and host name are then not
     * checked); with both, both must hold.
     */
    const char *pin;
    const char *const *headers; /* extra "Name: value" lines (no CR/LF), NULL-terminated, or NULL */
    struct cs_httpc_conn *conn; /* a kept-alive connection to reuse, or NULL: a fresh one */
};

#define CS_HTTPC_HEADERS_MAX 8     /* extra header lines per request */
#define CS_HTTPC_HEADER_LEN_MAX 1024 /* bytes of one header line */

/*
 * A reusable libcurl handle (keep-alive: one TCP/TLS connection for many requests). Not
 * thread-safe: one thread at a time (the agent client holds its mutex around it).
 * Ownership: on CS_OK *out is the caller's (cs_httpc_conn_free); NULL otherwise.
 */
struct cs_httpc_conn;
CS_RESULT cs_httpc_conn_new(struct cs_httpc_conn **out);
void cs_httpc_conn_free(struct cs_httpc_conn *c);

struct cs_httpc_resp {
    long status;
    struct cs_buf body;        /* cs_buf_clear after use */
    char set_cookie[512];      /* the kbs-session-id=... pair of Set-Cookie, or "" */
    char log_index[24];        /* X-Custos-Log-Index, or "" */
    char content_type[128];    /* Content-Type, or "" */
};

/* CS_E_IO when the server cannot be reached; any HTTP status is CS_OK. */
CS_RESULT cs_httpc_do(const struct cs_httpc_req *req, struct cs_httpc_resp *resp);

#endif
