/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a TPM case directory (docs/platforms/tpm.md): the evidence pieces that travel
 * with a quote (signature.bin, pcrs.json, ak_cert.der) and the trust configuration
 * (ak_pub.pem, or trust_anchor.pem + ca_chain.pem).
 */
#include <limits.h>
#include <stdio.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "verify/tpm_internal.h"

#define FILE_MAX (1024u * 1024u)

struct custos_tpm_dir {
    struct custos_tpm_trust *trust;
    struct cs_blob signature;
    struct cs_blob pcrs;
    struct cs_blob ak_cert; /* empty with a pinned AK */
};

void custos_tpm_dir_free(struct custos_tpm_dir *d)
{
    if (d == NULL) {
        return;
    }
    custos_tpm_trust_free(d->trust);
    cs_blob_clear(&d->signature);
    cs_blob_clear(&d->pcrs);
    cs_blob_clear(&d->ak_cert);
    cs_free(d);
}

static void dir_freep(struct custos_tpm_dir **p)
{
    custos_tpm_dir_free(*p);
}

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

/* Reads the first of names that exists into *out; CS_E_IO when none does and is_required. */
static cs_res read_one(const char *dir, const char *const names[2], bool is_required,
                       struct cs_blob *out, struct custos_diag *diag)
{
    *out = (struct cs_blob){ 0 };
    for (size_t i = 0; i < 2 && names[i] != NULL; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
        cs_res r = cs_file_read(path, FILE_MAX, out);
        if (cs_ok(r)) {
            return CS_SUCCESS;
        }
        CS_ENSURE_WHY(r.code == CS_E_IO, r.code, diag, "%s: %s", names[i],
                      custos_code_name(r.code));
    }
    CS_ENSURE_WHY(!is_required, CS_E_IO, diag, "file %s missing in %s", names[0], dir);
    return CS_SUCCESS;
}

static struct custos_bytes bytes_of(const struct cs_blob *b)
{
    return (struct custos_bytes){ b->p, b->len };
}

static const char *const SIGNATURE[2] = { "signature.bin", NULL };
static const char *const PCRS[2] = { "pcrs.json", NULL };
static const char *const AK_PUB[2] = { "ak_pub.pem", "ak_pub.der" };
static const char *const AK_CERT[2] = { "ak_cert.der", "ak_cert.pem" };
static const char *const ANCHOR[2] = { "trust_anchor.pem", "trust_anchor.der" };
static const char *const CA_CHAIN[2] = { "ca_chain.pem", "ca_chain.der" };

CS_RESULT custos_tpm_dir_load(const char *dir, struct custos_diag *diag,
                              struct custos_tpm_dir **out)
{
    CS_ENSURE(dir != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(dir_freep) struct custos_tpm_dir *d = NULL;
    CS_TRY(cs_alloc(1, sizeof *d, (void **)&d));
    CS_TRY(read_one(dir, SIGNATURE, true, &d->signature, diag));
    CS_TRY(read_one(dir, PCRS, true, &d->pcrs, diag));
    CS_AUTO(blob_clearp) struct cs_blob ak_pub = { 0 };
    CS_AUTO(blob_clearp) struct cs_blob anchor = { 0 };
    CS_AUTO(blob_clearp) struct cs_blob ca_chain = { 0 };
    CS_TRY(read_one(dir, AK_PUB, false, &ak_pub, diag));
    if (ak_pub.p == NULL) {
        CS_TRY(read_one(dir, AK_CERT, true, &d->ak_cert, diag));
        CS_TRY(read_one(dir, ANCHOR, true, &anchor, diag));
        CS_TRY(read_one(dir, CA_CHAIN, false, &ca_chain, diag));
    }
    struct custos_tpm_trust_src src = {
        .trust_anchor = bytes_of(&anchor),
        .ca_chain = bytes_of(&ca_chain),
        .ak_pub = bytes_of(&ak_pub),
    };
    CS_TRY(custos_tpm_trust_new(&src, diag, &d->trust));
    *out = CS_MOVE(d);
    return CS_SUCCESS;
}

CS_RESULT custos_tpm_dir_verify(struct custos_tpm_dir *d, const uint8_t *quote, size_t len,
                                const struct custos_bytes *nonce, int64_t at,
                                struct custos_verdict **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(d != NULL && (quote != NULL || len == 0), CS_E_ARG);
    struct custos_tpm_evidence ev = {
        .quote = { quote, len },
        .signature = bytes_of(&d->signature),
        .pcrs = bytes_of(&d->pcrs),
        .ak_cert = bytes_of(&d->ak_cert),
    };
    return custos_tpm_verify(d->trust, &ev, nonce, at, out);
}
