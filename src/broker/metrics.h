/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus metrics of the broker (text exposition format 0.0.4): requests by route and
 * status, verdicts by platform and outcome, releases, denials by reason, request latency
 * histograms by route, and the audit log size. Labels come from fixed vocabularies (routes,
 * platforms, status and reason names), never from client input.
 */
#ifndef CS_BROKER_METRICS_H
#define CS_BROKER_METRICS_H

#include <stdint.h>

#include "core/cs_buf.h"
#include "core/cs_result.h"

enum cs_route {
    CS_ROUTE_AUTH,
    CS_ROUTE_ATTEST,
    CS_ROUTE_RESOURCE,
    CS_ROUTE_ADMIN,
    CS_ROUTE_LOG,
    CS_ROUTE_TOKEN,
    CS_ROUTE_STATE,
    CS_ROUTE_HEALTH,
    CS_ROUTE_OTHER,
    CS_ROUTE__COUNT
};

struct cs_metrics;

CS_RESULT cs_metrics_new(struct cs_metrics **out);
void cs_metrics_free(struct cs_metrics *m);
const char *cs_route_name(enum cs_route r);

void cs_metrics_request(struct cs_metrics *m, enum cs_route r, unsigned status, double seconds);
/* platform: "tdx"...; outcome: a TCB status or an error class (fixed vocabularies). */
void cs_metrics_verdict(struct cs_metrics *m, const char *platform, const char *outcome);
void cs_metrics_release(struct cs_metrics *m);
void cs_metrics_denial(struct cs_metrics *m, const char *reason);
void cs_metrics_log_size(struct cs_metrics *m, uint64_t size);

CS_RESULT cs_metrics_render(struct cs_metrics *m, struct cs_buf *out);

#endif
