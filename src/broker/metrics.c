/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_mem.h"

#define N_BUCKETS 12
#define N_LABELED 64

static const double bucket_le[N_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5 };

struct histogram {
    uint64_t buckets[N_BUCKETS]; /* cumulative at render time, per-bucket here */
    uint64_t count;
    double sum;
};

struct labeled {
    char a[32];
    char b[48];
    uint64_t n;
};

struct cs_metrics {
    pthread_mutex_t mu;
    uint64_t requests[CS_ROUTE__COUNT][6]; /* status class 1xx..5xx, [0] other */
    struct histogram latency[CS_ROUTE__COUNT];
    uint64_t releases;
    uint64_t log_size;
    struct labeled verdicts[N_LABELED];
    size_t n_verdicts;
    struct labeled denials[N_LABELED];
    size_t n_denials;
};

static const char *const route_names[CS_ROUTE__COUNT] = {
    [CS_ROUTE_AUTH] = "auth",   [CS_ROUTE_ATTEST] = "attest", [CS_ROUTE_RESOURCE] = "resource",
    [CS_ROUTE_ADMIN] = "admin", [CS_ROUTE_LOG] = "log",       [CS_ROUTE_TOKEN] = "token",
    [CS_ROUTE_HEALTH] = "health", [CS_ROUTE_STATE] = "state", [CS_ROUTE_OTHER] = "other",
};

const char *cs_route_name(enum cs_route r)
{
    return (unsigned)r < CS_ROUTE__COUNT ? route_names[r] : "other";
}

CS_RESULT cs_metrics_new(struct cs_metrics **out)
{
    struct cs_metrics *m = NULL;
    CS_TRY(cs_alloc(1, sizeof *m, (void **)&m));
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return CS_SUCCESS;
}

void cs_metrics_free(struct cs_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_destroy(&m->mu);
    cs_free(m);
}

void cs_metrics_request(struct cs_metrics *m, enum cs_route r, unsigned status, double seconds)
{
    if ((unsigned)r >= CS_ROUTE__COUNT) {
        r = CS_ROUTE_OTHER;
    }
    unsigned cls = status / 100;
    if (cls > 5) {
        cls = 0;
    }
    pthread_mutex_lock(&m->mu);
    m->requests[r][cls]++;
    struct histogram *h = &m->latency[r];
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (seconds <= bucket_le[i]) {
            h->buckets[i]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&m->mu);
}

static void count_labeled(struct labeled *t, size_t *n, const char *a, const char *b)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(t[i].a, a) == 0 && strcmp(t[i].b, b) == 0) {
            t[i].n++;
            return;
        }
    }
    if (*n == N_LABELED) {
        return; /* the vocabularies are fixed and small: never reached in practice */
    }
    snprintf(t[*n].a, sizeof t[*n].a, "%s", a);
    snprintf(t[*n].b, sizeof t[*n].b, "%s", b);
    t[*n].n = 1;
    (*n)++;
}

void cs_metrics_verdict(struct cs_metrics *m, const char *platform, const char *outcome)
{
    pthread_mutex_lock(&m->mu);
    count_labeled(m->verdicts, &m->n_verdicts, platform, outcome);
    pthread_mutex_unlock(&m->mu);
}

void cs_metrics_release(struct cs_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->releases++;
    pthread_mutex_unlock(&m->mu);
}

void cs_metrics_denial(struct cs_metrics *m, const char *reason)
{
    pthread_mutex_lock(&m->mu);
    count_labeled(m->denials, &m->n_denials, reason, "");
    pthread_mutex_unlock(&m->mu);
}

void cs_metrics_log_size(struct cs_metrics *m, uint64_t size)
{
    pthread_mutex_lock(&m->mu);
    m->log_size = size;
    pthread_mutex_unlock(&m->mu);
}

static cs_res put(struct cs_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cs_res put(struct cs_buf *out, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    CS_ENSURE(n >= 0 && (size_t)n < sizeof line, CS_E_INTERNAL);
    return cs_buf_append(out, line, (size_t)n);
}

static cs_res render_locked(struct cs_metrics *m, struct cs_buf *out)
{
    static const char *const cls[6] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    CS_TRY(put(out, "# HELP custos_http_requests_total HTTP requests by route and status class.\n"
                    "# TYPE custos_http_requests_total counter\n"));
    for (unsigned r = 0; r < CS_ROUTE__COUNT; r++) {
        for (unsigned c = 0; c < 6; c++) {
            if (m->requests[r][c] != 0) {
                CS_TRY(put(out, "custos_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                           route_names[r], cls[c], (unsigned long long)m->requests[r][c]));
            }
        }
    }
    CS_TRY(put(out, "# HELP custos_http_request_duration_seconds Request latency by route.\n"
                    "# TYPE custos_http_request_duration_seconds histogram\n"));
    for (unsigned r = 0; r < CS_ROUTE__COUNT; r++) {
        const struct histogram *h = &m->latency[r];
        if (h->count == 0) {
            continue;
        }
        uint64_t cum = 0;
        for (size_t i = 0; i < N_BUCKETS; i++) {
            cum += h->buckets[i];
            CS_TRY(put(out,
                       "custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                       route_names[r], bucket_le[i], (unsigned long long)cum));
        }
        CS_TRY(put(out,
                   "custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                   "custos_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                   "custos_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                   route_names[r], (unsigned long long)h->count, route_names[r], h->sum,
                   route_names[r], (unsigned long long)h->count));
    }
    CS_TRY(put(out, "# HELP custos_verdicts_total Evidence verdicts by platform and outcome.\n"
                    "# TYPE custos_verdicts_total counter\n"));
    for (size_t i = 0; i < m->n_verdicts; i++) {
        CS_TRY(put(out, "custos_verdicts_total{platform=\"%s\",outcome=\"%s\"} %llu\n",
                   m->verdicts[i].a, m->verdicts[i].b, (unsigned long long)m->verdicts[i].n));
    }
    CS_TRY(put(out, "# HELP custos_releases_total Resources released.\n"
                    "# TYPE custos_releases_total counter\ncustos_releases_total %llu\n",
               (unsigned long long)m->releases));
    CS_TRY(put(out, "# HELP custos_denials_total Requests denied, by reason.\n"
                    "# TYPE custos_denials_total counter\n"));
    for (size_t i = 0; i < m->n_denials; i++) {
        CS_TRY(put(out, "custos_denials_total{reason=\"%s\"} %llu\n", m->denials[i].a,
                   (unsigned long long)m->denials[i].n));
    }
    return put(out, "# HELP custos_log_size Entries in the audit log.\n"
                    "# TYPE custos_log_size gauge\ncustos_log_size %llu\n",
               (unsigned long long)m->log_size);
}

CS_RESULT cs_metrics_render(struct cs_metrics *m, struct cs_buf *out)
{
    pthread_mutex_lock(&m->mu);
    cs_res r = render_locked(m, out);
    pthread_mutex_unlock(&m->mu);
    return r;
}
