/* SPDX-License-Identifier: Apache-2.0 */
#include "net/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/cs_mem.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

struct cs_httpc_conn {
    CURL *curl;
};

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct cs_httpc_resp *r = arg;
    size_t len = size * n;
    return cs_ok(cs_buf_append(&r->body, p, len)) ? len : 0; /* 0 aborts: over the bound */
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':') {
        return;
    }
    const char *v = line + n + 1;
    size_t vlen = len - n - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
        vlen--;
    }
    if (strcmp(name, "Set-Cookie") == 0) {
        const char *semi = memchr(v, ';', vlen); /* curl's header line is not NUL-terminated */
        vlen = semi != NULL ? (size_t)(semi - v) : vlen;
    }
    if (vlen < cap) {
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct cs_httpc_resp *r = arg;
    size_t len = size * n;
    header_value(p, len, "Set-Cookie", r->set_cookie, sizeof r->set_cookie);
    header_value(p, len, "X-Custos-Log-Index", r->log_index, sizeof r->log_index);
    header_value(p, len, "Content-Type", r->content_type, sizeof r->content_type);
    return len;
}

CS_RESULT cs_httpc_conn_new(struct cs_httpc_conn **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    pthread_once(&once, global_init);
    struct cs_httpc_conn *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        cs_free(c);
        CS_FAIL(CS_E_NOMEM);
    }
    *out = c;
    return CS_SUCCESS;
}

void cs_httpc_conn_free(struct cs_httpc_conn *c)
{
    if (c != NULL) {
        curl_easy_cleanup(c->curl);
        cs_free(c);
    }
}

/* An extra header line: bounded, and no CR, LF or NUL that could smuggle another header. */
static bool header_ok(const char *h)
{
    size_t n = strnlen(h, CS_HTTPC_HEADER_LEN_MAX);
    return n > 0 && n < CS_HTTPC_HEADER_LEN_MAX && strpbrk(h, "\r\n") == NULL
           && strchr(h, ':') != NULL;
}

static struct curl_slist *extra_headers(const struct cs_httpc_req *req, struct curl_slist *hdrs,
                                        bool *is_ok)
{
    size_t n = 0;
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++, n++) {
        if (n >= CS_HTTPC_HEADERS_MAX || !header_ok(*h)) {
            *is_ok = false;
            return hdrs;
        }
        struct curl_slist *next = curl_slist_append(hdrs, *h);
        if (next == NULL) {
            *is_ok = false;
            return hdrs;
        }
        hdrs = next;
    }
    return hdrs;
}

CS_RESULT cs_httpc_do(const struct cs_httpc_req *req, struct cs_httpc_resp *resp)
{
    pthread_once(&once, global_init);
    memset(resp, 0, sizeof *resp);
    cs_buf_init(&resp->body, CS_HTTPC_RESPONSE_MAX);
    CURL *c = NULL;
    if (req->conn != NULL) {
        c = req->conn->curl;
        curl_easy_reset(c); /* options go, the connection cache stays */
    } else {
        c = curl_easy_init();
    }
    CS_ENSURE(c != NULL, CS_E_NOMEM);
    struct curl_slist *hdrs = NULL;
    char line[1024];
    bool is_ok = true;
    if (req->bearer != NULL) {
        int n = snprintf(line, sizeof line, "Authorization: Bearer %s", req->bearer);
        is_ok &= n > 0 && (size_t)n < sizeof line;
        hdrs = curl_slist_append(hdrs, line);
        cs_wipe(line, sizeof line);
    }
    if (req->content_type != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = extra_headers(req, hdrs, &is_ok);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (req->cacert != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, req->cacert);
    }
    if (req->pin != NULL) {
        is_ok &= curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, req->pin) == CURLE_OK;
        if (req->cacert == NULL) { /* the pin is the trust anchor: no chain to check */
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (req->cookie != NULL) {
        curl_easy_setopt(c, CURLOPT_COOKIE, req->cookie);
    }
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    CURLcode rc = is_ok ? curl_easy_perform(c) : CURLE_BAD_FUNCTION_ARGUMENT;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    curl_slist_free_all(hdrs);
    if (req->conn != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL); /* hdrs is gone */
    } else {
        curl_easy_cleanup(c);
    }
    if (rc != CURLE_OK) {
        cs_buf_clear(&resp->body);
        CS_FAIL(rc == CURLE_WRITE_ERROR ? CS_E_TOO_LARGE : CS_E_IO);
    }
    return CS_SUCCESS;
}
