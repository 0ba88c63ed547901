/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-client token buckets (rate per second, burst) for the unauthenticated /auth route.
 * A fixed table of CS_RATELIMIT_SLOTS clients: a new client takes the slot of its hash,
 * evicting the one that was there (memory is bounded whatever the number of clients).
 */
#ifndef CS_BROKER_RATELIMIT_H
#define CS_BROKER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_RATELIMIT_SLOTS 4096u

struct cs_ratelimit;

/* rate: tokens per second (0 disables limiting); burst: bucket size (>= 1). */
CS_RESULT cs_ratelimit_new(double rate, unsigned burst, struct cs_ratelimit **out);
void cs_ratelimit_free(struct cs_ratelimit *rl);
/* Takes one token for client at time now_s (seconds, monotonic); false when none is left. */
bool cs_ratelimit_take(struct cs_ratelimit *rl, const char *client, double now_s);

#endif
