/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the whole TPM verifier. custos_tpm_verify runs against the signature, AK
 * certificate and trust (root + intermediate) of one case directory, loaded once (env
 * CS_FUZZ_TPM_CASE, default the P01b case of the shared test data), at that case's
 * instant with its nonce (case.json). Corpus: corpus/tpm_verify/.
 *
 * The input is the quote and, optionally, the PCR values: when it starts with the
 * TPM_GENERATED magic it is the quote alone (the case's pcrs.json is used: the real
 * quote.bin seeds reach every check); otherwise a 2-byte big-endian length gives the
 * quote, and pcrs.json is the rest, so that mutations of the PCR values are judged against
 * a genuine quote.
 *
 * Invariants on every verdict: it exists, carries the returned code, renders as JSON,
 * releases claims only when verified; hostile input never gets CS_E_ARG/CS_E_INTERNAL.
 * And a verified quote is byte for byte the case's own (RSASSA-PKCS1-v1_5 is
 * deterministic: another message under the same signature would be a forgery).
 * Without the case directory the target prints SKIP and exits 77.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "custos/tpm.h"
#include "fuzz_target.h"

#define CASE_PATH_MAX 4096
#define CASE_FILE_MAX (1024u * 1024u)

/* The one mutable global: libFuzzer has no context pointer; the trust persists, as in a service. */
static struct fuzz_case {
    struct custos_tpm_trust *trust;
    struct cs_blob quote, sig, pcrs, ak_cert;
    uint8_t nonce[64];
    size_t nonce_len;
    int64_t at;
} g_case;

static void case_free(void)
{
    custos_tpm_trust_free(g_case.trust);
    cs_blob_clear(&g_case.quote);
    cs_blob_clear(&g_case.sig);
    cs_blob_clear(&g_case.pcrs);
    cs_blob_clear(&g_case.ak_cert);
}

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

static cs_res read_in(const char *dir, const char *name, struct cs_blob *out)
{
    char path[CASE_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    return cs_file_read(path, CASE_FILE_MAX, out);
}

static cs_res case_json(const char *dir)
{
    CS_AUTO(blob_clearp) struct cs_blob text = { 0 };
    CS_TRY(read_in(dir, "case.json", &text));
    CS_AUTO_JSON *root = NULL;
    CS_TRY(cs_json_load(cs_cur_of(text.p, text.len), CASE_FILE_MAX, &root));
    CS_TRY(cs_json_get_time(root, "at", &g_case.at));
    json_t *expect = NULL, *claims = NULL;
    CS_TRY(cs_json_get_obj(root, "expect", &expect));
    CS_TRY(cs_json_get_obj(expect, "claims", &claims));
    const char *hex = NULL;
    size_t len = 0;
    CS_TRY(cs_json_get_str(claims, "nonce", 2 * sizeof g_case.nonce, &hex, &len));
    g_case.nonce_len = len / 2;
    return cs_hex_decode(hex, len, g_case.nonce, g_case.nonce_len);
}

static cs_res case_load_dir(const char *dir)
{
    CS_AUTO(blob_clearp) struct cs_blob anchor = { 0 };
    CS_AUTO(blob_clearp) struct cs_blob chain = { 0 };
    CS_TRY(read_in(dir, "quote.bin", &g_case.quote));
    CS_TRY(read_in(dir, "signature.bin", &g_case.sig));
    CS_TRY(read_in(dir, "pcrs.json", &g_case.pcrs));
    CS_TRY(read_in(dir, "ak_cert.der", &g_case.ak_cert));
    CS_TRY(read_in(dir, "trust_anchor.pem", &anchor));
    CS_TRY(read_in(dir, "ca_chain.pem", &chain));
    CS_TRY(case_json(dir));
    struct custos_tpm_trust_src src = {
        .trust_anchor = { anchor.p, anchor.len },
        .ca_chain = { chain.p, chain.len },
    };
    return custos_tpm_trust_new(&src, NULL, &g_case.trust);
}

static void case_load(void)
{
    const char *env = getenv("CS_FUZZ_TPM_CASE");
    char dflt[CASE_PATH_MAX];
    snprintf(dflt, sizeof dflt, "%s/P01b", CS_FUZZ_EVIDENCE_DIR);
    const char *dir = env != NULL && env[0] != '\0' ? env : dflt;
    struct stat st;
    if (stat(dir, &st) != 0 && errno == ENOENT) {
        printf("SKIP: no TPM case at %s (set CS_FUZZ_TPM_CASE)\n", dir);
        exit(77);
    }
    cs_res r = case_load_dir(dir);
    if (!cs_ok(r)) {
        fprintf(stderr, "fuzz_tpm_verify: cannot load the case %s: %s\n", dir,
                custos_code_name(r.code));
        abort();
    }
    atexit(case_free);
}

static void check_verdict(const struct custos_verdict *v, cs_res r, struct custos_bytes quote)
{
    FUZZ_CHECK(v != NULL);
    FUZZ_CHECK(fuzz_is_input_verdict(r.code));
    FUZZ_CHECK(custos_verdict_code(v) == r.code);
    FUZZ_CHECK(custos_verdict_is_verified(v) == cs_ok(r));
    FUZZ_CHECK(cs_ok(r) == (custos_verdict_message(v)[0] == '\0'));
    char *json = NULL;
    FUZZ_CHECK(cs_ok(custos_verdict_to_json(v, 0, &json)) && json != NULL);
    custos_free(json);
    char *claims = NULL;
    cs_res cr = custos_verdict_claims_json(v, &claims);
    FUZZ_CHECK(cs_ok(cr) == cs_ok(r) && cs_ok(cr) == (claims != NULL));
    custos_free(claims);
    if (cs_ok(r)) {
        FUZZ_CHECK(quote.len == g_case.quote.len &&
                   memcmp(quote.p, g_case.quote.p, quote.len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_case.trust == NULL) {
        case_load();
    }
    struct custos_bytes quote = { data, size };
    struct custos_bytes pcrs = { g_case.pcrs.p, g_case.pcrs.len };
    bool is_quote_only =
        size >= 4 && data[0] == 0xff && data[1] == 'T' && data[2] == 'C' && data[3] == 'G';
    if (!is_quote_only && size >= 2) {
        size_t n = (size_t)data[0] << 8 | data[1];
        size_t n_quote = n <= size - 2 ? n : size - 2;
        quote = (struct custos_bytes){ data + 2, n_quote };
        pcrs = (struct custos_bytes){ data + 2 + n_quote, size - 2 - n_quote };
    }
    struct custos_tpm_evidence ev = {
        .quote = quote,
        .signature = { g_case.sig.p, g_case.sig.len },
        .pcrs = pcrs,
        .ak_cert = { g_case.ak_cert.p, g_case.ak_cert.len },
    };
    struct custos_bytes nonce = { g_case.nonce, g_case.nonce_len };
    struct custos_verdict *v = NULL;
    cs_res r = custos_tpm_verify(g_case.trust, &ev, &nonce, g_case.at, &v);
    check_verdict(v, r, quote);
    custos_verdict_free(v);
    return 0;
}
