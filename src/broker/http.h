/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP boundary of the broker: libmicrohttpd lives in http.c only. It reads a whole
 * request into a struct cs_http_req (bounded: URI, body, headers), hands it to one handler
 * and sends back a struct cs_http_resp. Everything above speaks these two structs, so the
 * routes can be tested without a socket.
 */
#ifndef CS_BROKER_HTTP_H
#define CS_BROKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_buf.h"
#include "core/cs_result.h"

#define CS_HTTP_URI_MAX 1024u        /* longer request targets: 414 */
#define CS_HTTP_BODY_MAX (1u << 20)  /* hard ceiling of any body: 413 */
#define CS_HTTP_HEADER_MAX 16384u    /* one header value we read (a token: RSA keys are long) */
#define CS_HTTP_EXTRA_HEADERS 4

struct cs_http_req {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query string */
    void *conn;                /* the adapter's connection (cs_http_arg); NULL in unit tests */
    const char *cookie;        /* the whole Cookie header, or NULL */
    const char *authorization; /* the Authorization header, or NULL */
    const char *if_match;      /* the If-Match header, or NULL */
    const char *content_type;  /* or NULL */
    const uint8_t *body;
    size_t body_len;
    char peer[64];             /* client address (numeric) */
    bool is_tls;
};

struct cs_http_header {
    const char *name;          /* static string */
    char value[256];
};

struct cs_http_resp {
    unsigned status;
    const char *content_type;  /* static string; NULL: no body */
    struct cs_buf body;
    char set_cookie[256];      /* "" for none */
    size_t n_headers;
    struct cs_http_header headers[CS_HTTP_EXTRA_HEADERS];
};

void cs_http_resp_init(struct cs_http_resp *r);
void cs_http_resp_clear(struct cs_http_resp *r);
/* Adds a response header (value truncated to fit is refused: CS_E_TOO_LARGE). */
CS_RESULT cs_http_resp_header(struct cs_http_resp *r, const char *name, const char *value);

/* Any request header (NULL if absent or over CS_HTTP_HEADER_MAX bytes, or in unit tests). */
const char *cs_http_header(const struct cs_http_req *req, const char *name);

/* A query argument of the request (NULL if absent or over CS_HTTP_HEADER_MAX bytes). */
const char *cs_http_arg(const struct cs_http_req *req, const char *key);

/* The value of cookie `name` in a Cookie header (NULL if absent or malformed). */
CS_RESULT cs_http_cookie(const char *header, const char *name, char *out, size_t cap);

typedef void (*cs_http_handler)(void *ctx, const struct cs_http_req *req,
                                struct cs_http_resp *resp);
/* The largest body a request to (method, path) may carry, decided before any byte of it is
 * read (0: none). At most CS_HTTP_BODY_MAX. */
typedef size_t (*cs_http_body_limit)(void *ctx, const char *method, const char *path);

struct cs_http_opts {
    const char *listen;        /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 picks a free one */
    const char *tls_cert_pem;  /* NULL: plain HTTP */
    const char *tls_key_pem;
    unsigned max_connections;  /* 0: 256 */
    unsigned per_ip_connections; /* 0: 64 */
    unsigned timeout_s;        /* idle connection timeout; 0: 30 */
    cs_http_body_limit body_limit; /* NULL: CS_HTTP_BODY_MAX for every route */
};

struct cs_http_server;

/*
 * Starts serving (one thread per connection, so that handlers may block on the audit
 * log's group commit while others proceed). handler and ctx must outlive the server.
 */
CS_RESULT cs_http_start(const struct cs_http_opts *o, cs_http_handler handler, void *ctx,
                        struct cs_http_server **out);
/* The bound port (useful with port 0). */
uint16_t cs_http_port(const struct cs_http_server *s);
void cs_http_stop(struct cs_http_server *s);
/* Whether the address of "ADDR:PORT" is a loopback address (127.0.0.0/8 or ::1). */
bool cs_http_is_loopback(const char *listen);

#endif
