/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd adapter. Each connection gets a thread (MHD_USE_THREAD_PER_CONNECTION), a
 * request is read whole into a bounded buffer, then one handler call produces the response.
 * Size limits are enforced before any byte is buffered: the request target (414), the
 * declared Content-Length and the bytes actually received (413).
 */
#include "broker/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "broker/blog.h"
#include "core/cs_mem.h"

#define CS_HTTP_DISCARD_MAX (8u << 20)

struct cs_http_server {
    struct MHD_Daemon *d;
    cs_http_handler handler;
    cs_http_body_limit body_limit;
    void *ctx;
    bool is_tls;
    uint16_t port;
};

struct conn_state {
    struct cs_buf body;
    bool is_rejected; /* the body outgrew CS_HTTP_BODY_MAX: 413 when it ends */
    size_t discarded; /* bytes dropped since */
};

void cs_http_resp_init(struct cs_http_resp *r)
{
    memset(r, 0, sizeof *r);
    r->status = 500;
    cs_buf_init(&r->body, CS_HTTP_BODY_MAX * 4);
}

void cs_http_resp_clear(struct cs_http_resp *r)
{
    cs_buf_clear(&r->body);
    r->n_headers = 0;
}

CS_RESULT cs_http_resp_header(struct cs_http_resp *r, const char *name, const char *value)
{
    CS_ENSURE(r->n_headers < CS_HTTP_EXTRA_HEADERS, CS_E_TOO_LARGE);
    struct cs_http_header *h = &r->headers[r->n_headers];
    int n = snprintf(h->value, sizeof h->value, "%s", value);
    CS_ENSURE(n >= 0 && (size_t)n < sizeof h->value, CS_E_TOO_LARGE);
    h->name = name;
    r->n_headers++;
    return CS_SUCCESS;
}

CS_RESULT cs_http_cookie(const char *header, const char *name, char *out, size_t cap)
{
    CS_ENSURE(header != NULL && cap > 0, CS_E_NOT_FOUND);
    size_t name_len = strlen(name);
    const char *p = header;
    while (*p != '\0') {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t vlen = len - name_len - 1;
            CS_ENSURE(vlen < cap, CS_E_TOO_LARGE);
            memcpy(out, p + name_len + 1, vlen);
            out[vlen] = '\0';
            return CS_SUCCESS;
        }
        p += len;
    }
    CS_FAIL(CS_E_NOT_FOUND);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    if (v != NULL && strnlen(v, CS_HTTP_HEADER_MAX + 1) > CS_HTTP_HEADER_MAX) {
        return NULL; /* an oversized header is treated as absent */
    }
    return v;
}

const char *cs_http_header(const struct cs_http_req *req, const char *name)
{
    return req->conn != NULL ? header(req->conn, name) : NULL;
}

const char *cs_http_arg(const struct cs_http_req *req, const char *key)
{
    if (req->conn == NULL) {
        return NULL;
    }
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
    if (v != NULL && strnlen(v, CS_HTTP_HEADER_MAX + 1) > CS_HTTP_HEADER_MAX) {
        return NULL;
    }
    return v;
}

/* libmicrohttpd's option and buffer arguments are void * but only read (MUST_COPY). */
static void *unconst(const void *p)
{
    union {
        const void *c;
        void *m;
    } u = { .c = p };
    return u.m;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, const struct cs_http_resp *r)
{
    static const char empty[1] = "";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body.len, r->body.p != NULL ? (void *)r->body.p : unconst(empty),
        MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    if (r->content_type != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->set_cookie[0] != '\0') {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    }
    for (size_t i = 0; i < r->n_headers; i++) {
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    }
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *detail)
{
    struct cs_http_resp r;
    cs_http_resp_init(&r);
    r.status = status;
    r.content_type = "application/json";
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"type\":\"https://github.com/confidential-containers/kbs/errors/%s\","
                     "\"detail\":\"%s\"}",
                     type, detail);
    if (n > 0 && (size_t)n < sizeof body && !cs_ok(cs_buf_append(&r.body, body, (size_t)n))) {
        r.content_type = NULL; /* out of memory: the status alone */
    }
    enum MHD_Result ret = send_resp(c, &r);
    cs_http_resp_clear(&r);
    return ret;
}

static void peer_text(struct MHD_Connection *c, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(out, cap, "unknown");
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct cs_http_server *s = cls;
    struct conn_state *st = *con_cls;

    if (st == NULL) {
        /* first call: headers only. Refuse what is too large before reading a byte. */
        if (strnlen(url, CS_HTTP_URI_MAX + 1) > CS_HTTP_URI_MAX) {
            return send_error(c, 414, "InvalidRequest", "request target too long");
        }
        size_t limit = s->body_limit != NULL ? s->body_limit(s->ctx, method, url)
                                              : CS_HTTP_BODY_MAX;
        limit = limit < CS_HTTP_BODY_MAX ? limit : CS_HTTP_BODY_MAX;
        const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end = NULL;
            unsigned long long v = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0' || v > limit) {
                return send_error(c, 413, "InvalidRequest", "request body too large");
            }
        }
        if (!cs_ok(cs_alloc(1, sizeof *st, (void **)&st))) {
            return MHD_NO;
        }
        cs_buf_init(&st->body, limit);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /*
         * A body without a Content-Length (chunked) that grows past the ceiling: stop
         * buffering and discard the rest, to answer 413 once the request ends (libmicrohttpd
         * cannot queue a response in the middle of a body); past CS_HTTP_DISCARD_MAX more
         * bytes, close the connection.
         */
        if (!st->is_rejected && !cs_ok(cs_buf_append(&st->body, upload_data,
                                                      *upload_data_size))) {
            st->is_rejected = true;
            cs_wipe(st->body.p, st->body.cap);
            cs_buf_clear(&st->body);
        }
        if (st->is_rejected) {
            st->discarded += *upload_data_size;
            if (st->discarded > CS_HTTP_DISCARD_MAX) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->is_rejected) {
        return send_error(c, 413, "InvalidRequest", "request body too large");
    }

    char path[CS_HTTP_URI_MAX + 1];
    snprintf(path, sizeof path, "%s", url);
    struct cs_http_req req = {
        .method = method,
        .path = path,
        .conn = c,
        .cookie = header(c, MHD_HTTP_HEADER_COOKIE),
        .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
        .if_match = header(c, MHD_HTTP_HEADER_IF_MATCH),
        .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
        .body = st->body.p,
        .body_len = st->body.len,
        .is_tls = s->is_tls,
    };
    peer_text(c, req.peer, sizeof req.peer);
    struct cs_http_resp resp;
    cs_http_resp_init(&resp);
    s->handler(s->ctx, &req, &resp);
    enum MHD_Result ret = send_resp(c, &resp);
    cs_http_resp_clear(&resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn_state *st = *con_cls;
    if (st != NULL) {
        /* request bodies may hold secrets (admin resource uploads) */
        if (st->body.p != NULL) {
            cs_wipe(st->body.p, st->body.cap);
        }
        cs_buf_clear(&st->body);
        cs_free(st);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    cs_blog(CS_BLOG_WARN, "http", "%s", msg);
}

static CS_RESULT parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    CS_ENSURE(colon != NULL, CS_E_ARG);
    size_t hlen = (size_t)(colon - listen);
    CS_ENSURE(hlen > 0 && hlen < sizeof host, CS_E_ARG);
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    CS_ENSURE(end != colon + 1 && *end == '\0' && port <= 65535, CS_E_ARG);
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        CS_ENSURE(inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1, CS_E_ARG);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return CS_SUCCESS;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    CS_ENSURE(inet_pton(AF_INET, host, &a4->sin_addr) == 1, CS_E_ARG);
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return CS_SUCCESS;
}

bool cs_http_is_loopback(const char *listen)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (!cs_ok(parse_listen(listen, &ss, &len))) {
        return false;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

CS_RESULT cs_http_start(const struct cs_http_opts *o, cs_http_handler handler, void *ctx,
                        struct cs_http_server **out)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = 0;
    CS_TRY(parse_listen(o->listen, &ss, &ss_len));
    bool is_tls = o->tls_cert_pem != NULL;
    CS_ENSURE(is_tls == (o->tls_key_pem != NULL), CS_E_ARG);
    if (is_tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        cs_blog(CS_BLOG_ERROR, "http", "libmicrohttpd was built without TLS");
        CS_FAIL(CS_E_UNSUPPORTED);
    }

    struct cs_http_server *s = NULL;
    CS_TRY(cs_alloc(1, sizeof *s, (void **)&s));
    s->handler = handler;
    s->body_limit = o->body_limit;
    s->ctx = ctx;
    s->is_tls = is_tls;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    if (is_tls) {
        flags |= MHD_USE_TLS;
    }
    unsigned max_conn = o->max_connections != 0 ? o->max_connections : 256;
    unsigned per_ip = o->per_ip_connections != 0 ? o->per_ip_connections : 64;
    unsigned timeout = o->timeout_s != 0 ? o->timeout_s : 30;
    struct MHD_OptionItem tls_opts[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, unconst(o->tls_cert_pem) },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, unconst(o->tls_key_pem) },
        /* TLS 1.2 and 1.3 only, GnuTLS's secure defaults otherwise */
        { MHD_OPTION_HTTPS_PRIORITIES, 0,
          unconst("SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SAFE_RENEGOTIATION") },
        { MHD_OPTION_END, 0, NULL },
    };
    struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                           MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                           MHD_OPTION_CONNECTION_LIMIT, max_conn,
                           MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                           MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_ARRAY, is_tls ? tls_opts : none,
                           MHD_OPTION_END);
    if (s->d == NULL) {
        cs_free(s);
        cs_blog(CS_BLOG_ERROR, "http", "cannot listen on %s", o->listen);
        CS_FAIL(CS_E_IO);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di != NULL ? di->port : 0;
    *out = s;
    return CS_SUCCESS;
}

uint16_t cs_http_port(const struct cs_http_server *s)
{
    return s->port;
}

void cs_http_stop(struct cs_http_server *s)
{
    if (s == NULL) {
        return;
    }
    MHD_stop_daemon(s->d);
    cs_free(s);
}
