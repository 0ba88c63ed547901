/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tpm_check: verifies a TPM case directory through the library's pieces API (not the
 * directory loader the CLI uses) and compares the outcome with what the caller expects.
 * Used by tests/tpm/swtpm_quote.sh next to the CLI, on quotes made by a software TPM.
 *
 * usage: test_tpm_check DIR EXPECT [NONCE_HEX|-] [AT_RFC3339]
 *   EXPECT: "ok" (verified) or an error class ("signature", "binding", ...).
 *   DIR holds quote.bin, signature.bin, pcrs.json and either ak_pub.pem (pinned) or
 *   ak_cert.der + trust_anchor.pem (+ ca_chain.pem). Default instant: now.
 * Prints the class (and the reason when rejected); exit 0 when it is EXPECT, 1 when not,
 * 2 on usage or I/O errors.
 */
#include <stdio.h>
#include <string.h>

#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_time.h"
#include "custos/tpm.h"

static struct cs_blob read_opt(const char *dir, const char *name)
{
    char path[4096];
    struct cs_blob b = { 0 };
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!cs_ok(cs_file_read(path, 1u << 20, &b))) {
        b = (struct cs_blob){ 0 };
    }
    return b;
}

static struct custos_bytes by(const struct cs_blob *b)
{
    return (struct custos_bytes){ b->p, b->len };
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s DIR EXPECT [NONCE_HEX|-] [AT]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const char *want = argv[2];
    uint8_t nonce_buf[64];
    struct custos_bytes nonce = { nonce_buf, 0 };
    bool has_nonce = argc >= 4 && strcmp(argv[3], "-") != 0;
    if (has_nonce) {
        size_t n = strlen(argv[3]);
        if (n % 2 != 0 || n / 2 > sizeof nonce_buf ||
            !cs_ok(cs_hex_decode(argv[3], n, nonce_buf, n / 2))) {
            fprintf(stderr, "bad nonce\n");
            return 2;
        }
        nonce.len = n / 2;
    }
    int64_t at = cs_time_now();
    if (argc == 5 && !cs_ok(cs_time_parse(argv[4], strlen(argv[4]), &at))) {
        fprintf(stderr, "bad instant\n");
        return 2;
    }
    static const char *const names[] = { "quote.bin",   "signature.bin", "pcrs.json",
                                         "ak_cert.der", "ca_chain.pem",  "trust_anchor.pem",
                                         "ak_pub.pem" };
    struct cs_blob f[7];
    for (size_t i = 0; i < 7; i++) {
        f[i] = read_opt(dir, names[i]);
    }
    struct custos_tpm_trust_src src = { 0 };
    if (f[6].p != NULL) {
        src.ak_pub = by(&f[6]);
    } else {
        src.trust_anchor = by(&f[5]);
        src.ca_chain = by(&f[4]);
    }
    struct custos_diag diag = { 0 };
    struct custos_tpm_trust *t = NULL;
    cs_res r = custos_tpm_trust_new(&src, &diag, &t);
    const char *msg = diag.msg;
    struct custos_verdict *v = NULL;
    if (cs_ok(r)) {
        struct custos_tpm_evidence ev = {
            .quote = by(&f[0]),
            .signature = by(&f[1]),
            .pcrs = by(&f[2]),
            .ak_cert = by(&f[3]),
        };
        r = custos_tpm_verify(t, &ev, has_nonce ? &nonce : NULL, at, &v);
        msg = custos_verdict_message(v);
    }
    const char *got = cs_ok(r) ? "ok" : custos_code_class(r.code);
    printf("library: %s%s%s\n", got, cs_ok(r) ? "" : ": ", cs_ok(r) ? "" : msg);
    int rc = strcmp(got, want) == 0 ? 0 : 1;
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    for (size_t i = 0; i < 7; i++) {
        cs_blob_clear(&f[i]);
    }
    return rc;
}
