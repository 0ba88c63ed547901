/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent client as a library user sees it: only include/custos/client.h, linked against
 * libcustos.so. Driven by tests/client/agent_flow.py against a running `custosd --dev`:
 *   client_lib_driver URL DATA_DIR VKEY STATE_FILE SECRET TTL
 * 1. attest, then the resource default/dev/secret must equal SECRET;
 * 2. four threads share one handle and increment a counter kept as the state object
 *    "shared" with compare-and-swap (get, then put with If-Match; a conflict retries): the
 *    final version and value must both be 4 x 5 = 20 plus the starting version;
 * 3. after TTL + 2 seconds the session has expired: the next calls must attest again by
 *    themselves and succeed.
 * Exit 0 when everything holds; each failure is printed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/client.h"

#define THREADS 4
#define ROUNDS 5

static int failures;
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, cs_res r, const struct custos_diag *d)
{
    pthread_mutex_lock(&fail_mu);
    fprintf(stderr, "FAIL %s: %s (%s)\n", what, custos_code_name(r.code), d != NULL ? d->msg : "");
    failures++;
    pthread_mutex_unlock(&fail_mu);
}

/* The counter's value and version (0, 0 when the object does not exist yet). */
static int read_counter(struct custos_client *c, unsigned long *value, uint64_t *version)
{
    struct custos_diag d = { 0 };
    uint8_t *pt = NULL;
    size_t len = 0;
    cs_res r = custos_client_state_get(c, "shared", &d, &pt, &len, version);
    if (r.code == CS_E_NOT_FOUND) {
        *value = 0;
        *version = 0;
        return 0;
    }
    if (r.code != CS_OK) {
        fail("state get", r, &d);
        return -1;
    }
    char buf[32] = "";
    memcpy(buf, pt, len < sizeof buf - 1 ? len : sizeof buf - 1);
    custos_free_secret(pt, len);
    *value = strtoul(buf, NULL, 10);
    return 0;
}

static void *worker(void *arg)
{
    struct custos_client *c = arg;
    for (int i = 0; i < ROUNDS; i++) {
        for (int tries = 0; tries < 100; tries++) {
            unsigned long value = 0;
            uint64_t version = 0;
            if (read_counter(c, &value, &version) != 0) {
                return NULL;
            }
            char next[32];
            int n = snprintf(next, sizeof next, "%lu", value + 1);
            struct custos_diag d = { 0 };
            uint64_t written = 0;
            cs_res r = custos_client_state_put(c, "shared", (const uint8_t *)next, (size_t)n,
                                               version, &d, &written);
            if (r.code == CS_OK) {
                if (written != version + 1) {
                    fail("put: the version written is not If-Match + 1", r, &d);
                }
                break;
            }
            if (r.code != CS_E_CONFLICT) {
                fail("state put", r, &d);
                return NULL;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: client_lib_driver URL DATA_DIR VKEY STATE_FILE SECRET TTL\n");
        return 2;
    }
    struct custos_client_opts o = { .url = argv[1], .attester = "sim", .data_dir = argv[2],
                                    .log_vkey = argv[3], .state_file = argv[4] };
    struct custos_diag d = { 0 };
    struct custos_client *c = NULL;
    cs_res r = custos_client_new(&o, &d, &c);
    if (r.code != CS_OK) {
        fail("new", r, &d);
        return 1;
    }
    r = custos_client_attest(c, &d);
    if (r.code != CS_OK) {
        fail("attest", r, &d);
    }
    uint8_t *secret = NULL;
    size_t len = 0;
    r = custos_client_get_resource(c, "default/dev/secret", &d, &secret, &len);
    if (r.code != CS_OK || len != strlen(argv[5]) || memcmp(secret, argv[5], len) != 0) {
        fail("the resource is not the secret", r, &d);
    }
    custos_free_secret(secret, len);

    unsigned long start = 0;
    uint64_t start_version = 0;
    if (read_counter(c, &start, &start_version) != 0) {
        custos_client_free(c);
        return 1;
    }
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, worker, c);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    unsigned long value = 0;
    uint64_t version = 0;
    if (read_counter(c, &value, &version) == 0
        && (value != start + THREADS * ROUNDS || version != start_version + THREADS * ROUNDS)) {
        fprintf(stderr, "FAIL counter: value %lu version %llu, want %lu and %llu\n", value,
                (unsigned long long)version, start + THREADS * ROUNDS,
                (unsigned long long)(start_version + THREADS * ROUNDS));
        failures++;
    }

    sleep((unsigned)strtoul(argv[6], NULL, 10) + 2); /* the attested session expires */
    r = custos_client_get_resource(c, "default/dev/secret", &d, &secret, &len);
    if (r.code != CS_OK) {
        fail("resource after the session expired (re-attestation)", r, &d);
    }
    custos_free_secret(secret, len);
    if (read_counter(c, &value, &version) == 0 && version != start_version + THREADS * ROUNDS) {
        fprintf(stderr, "FAIL state get after re-attestation\n");
        failures++;
    }
    char *token = NULL;
    r = custos_client_token(c, NULL, &d, &token);
    if (r.code != CS_OK || token == NULL || strchr(token, '.') == NULL) {
        fail("token", r, &d);
    }
    custos_free_secret(token, token != NULL ? strlen(token) + 1 : 0);
    custos_client_free(c);
    if (failures == 0) {
        printf("library driver: all checks passed (counter %lu at version %llu)\n", value,
               (unsigned long long)version);
    }
    return failures == 0 ? 0 : 1;
}
