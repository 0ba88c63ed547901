/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the whole SEV-SNP verifier. custos_snp_verify runs on the fuzzed bytes as
 * evidence (a binary report, or KBS JSON) against a collateral loaded once from a case
 * directory (env CS_FUZZ_CASE, default the N02 case of the shared test data) at that
 * case's "at" instant from case.json. Corpus: corpus/snp_verify/.
 *
 * Must never crash or leak, whatever the evidence: the collateral (and its VCEK/VLEK memo)
 * persists across inputs, as in the service. Invariants on every verdict: it exists, says
 * "snp", carries the returned code, renders as JSON, and releases claims only when
 * verified. Hostile input is never answered with CS_E_ARG or CS_E_INTERNAL.
 *
 * Without the case directory the target prints SKIP and exits 77 (CTest's skip code).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "custos/snp.h"
#include "fuzz_target.h"

#ifndef CS_FUZZ_EVIDENCE_DIR
#define CS_FUZZ_EVIDENCE_DIR "../shared/testdata/evidence"
#endif
#define CASE_DEFAULT CS_FUZZ_EVIDENCE_DIR "/N02"
#define CASE_PATH_MAX 4096
#define CASE_JSON_MAX (64u * 1024u)

/*
 * The one mutable global: libFuzzer offers no context pointer, and the collateral must be
 * loaded once and shared by every input, as a verifier service shares it.
 */
static struct fuzz_case {
    struct custos_snp_collateral *coll;
    int64_t at;
} g_case;

static void case_free(void)
{
    custos_snp_collateral_free(g_case.coll);
    g_case.coll = NULL;
}

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

static cs_res case_at(const char *dir, int64_t *at)
{
    char path[CASE_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/case.json", dir);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    CS_AUTO(blob_clearp) struct cs_blob text = { 0 };
    CS_TRY(cs_file_read(path, CASE_JSON_MAX, &text));
    CS_AUTO_JSON *root = NULL;
    CS_TRY(cs_json_load(cs_cur_of(text.p, text.len), CASE_JSON_MAX, &root));
    return cs_json_get_time(root, "at", at);
}

static void case_load(void)
{
    const char *env = getenv("CS_FUZZ_CASE");
    const char *dir = env != NULL && env[0] != '\0' ? env : CASE_DEFAULT;
    struct stat st;
    if (stat(dir, &st) != 0 && errno == ENOENT) {
        printf("SKIP: no evidence case at %s (set CS_FUZZ_CASE)\n", dir);
        exit(77);
    }
    struct custos_diag diag = { 0 };
    cs_res r = custos_snp_collateral_load_dir(dir, &diag, &g_case.coll);
    if (!cs_ok(r) || !cs_ok(case_at(dir, &g_case.at))) {
        fprintf(stderr, "fuzz_snp_verify: cannot load the case %s: %s %s\n", dir,
                custos_code_name(r.code), diag.msg);
        abort();
    }
    atexit(case_free);
}

static void check_verdict(const struct custos_verdict *v, cs_res r)
{
    FUZZ_CHECK(v != NULL);
    FUZZ_CHECK(fuzz_is_input_verdict(r.code));
    FUZZ_CHECK(custos_verdict_code(v) == r.code);
    FUZZ_CHECK(custos_verdict_is_verified(v) == cs_ok(r));
    FUZZ_CHECK(strcmp(custos_verdict_platform(v), "snp") == 0);
    FUZZ_CHECK(cs_ok(r) == (custos_verdict_message(v)[0] == '\0'));
    char *json = NULL;
    FUZZ_CHECK(cs_ok(custos_verdict_to_json(v, 0, &json)) && json != NULL);
    custos_free(json);
    char *claims = NULL;
    cs_res cr = custos_verdict_claims_json(v, &claims);
    FUZZ_CHECK(cs_ok(cr) == cs_ok(r));
    FUZZ_CHECK(cs_ok(cr) == (claims != NULL));
    custos_free(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_case.coll == NULL) {
        case_load();
    }
    struct custos_verdict *v = NULL;
    cs_res r = custos_snp_verify(g_case.coll, data, size, g_case.at, &v);
    check_verdict(v, r);
    custos_verdict_free(v);
    return 0;
}
