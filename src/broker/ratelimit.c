/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_mem.h"

struct slot {
    char client[64];
    double tokens;
    double last;
};

struct cs_ratelimit {
    pthread_mutex_t mu;
    double rate;
    double burst;
    uint64_t seed;
    struct slot slots[CS_RATELIMIT_SLOTS];
};

CS_RESULT cs_ratelimit_new(double rate, unsigned burst, struct cs_ratelimit **out)
{
    CS_ENSURE(rate >= 0 && burst >= 1, CS_E_ARG);
    struct cs_ratelimit *rl = NULL;
    CS_TRY(cs_alloc(1, sizeof *rl, (void **)&rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst;
    rl->seed = (uint64_t)(uintptr_t)rl ^ 0x9e3779b97f4a7c15u; /* per process: no chosen collisions */
    *out = rl;
    return CS_SUCCESS;
}

void cs_ratelimit_free(struct cs_ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    pthread_mutex_destroy(&rl->mu);
    cs_free(rl);
}

static uint64_t hash(uint64_t seed, const char *s)
{
    uint64_t h = 1469598103934665603u ^ seed; /* FNV-1a, seeded */
    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211u;
    }
    return h ^ (h >> 29);
}

bool cs_ratelimit_take(struct cs_ratelimit *rl, const char *client, double now_s)
{
    if (rl->rate == 0) {
        return true;
    }
    pthread_mutex_lock(&rl->mu);
    struct slot *s = &rl->slots[hash(rl->seed, client) % CS_RATELIMIT_SLOTS];
    if (strncmp(s->client, client, sizeof s->client) != 0) {
        snprintf(s->client, sizeof s->client, "%s", client);
        s->tokens = rl->burst;
        s->last = now_s;
    }
    double dt = now_s - s->last;
    if (dt > 0) {
        s->tokens += dt * rl->rate;
        if (s->tokens > rl->burst) {
            s->tokens = rl->burst;
        }
        s->last = now_s;
    }
    bool is_ok = s->tokens >= 1.0;
    if (is_ok) {
        s->tokens -= 1.0;
    }
    pthread_mutex_unlock(&rl->mu);
    return is_ok;
}
