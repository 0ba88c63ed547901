/* SPDX-License-Identifier: Apache-2.0 */
/* Reading an SNP collateral directory (the layout of docs/platforms/snp.md). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_file.h"
#include "verify/snp_internal.h"

#define FILE_MAX (1024u * 1024u)

struct dir_file {
    const char *names[2]; /* tried in order */
    bool is_required;
    struct cs_blob blob;
};

static cs_res read_one(const char *dir, struct dir_file *f, struct custos_diag *diag)
{
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, f->names[i]);
        CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
        cs_res r = cs_file_read(path, FILE_MAX, &f->blob);
        if (cs_ok(r)) {
            return CS_SUCCESS;
        }
        CS_ENSURE_WHY(r.code == CS_E_IO, r.code, diag, "%s: %s", f->names[i],
                      custos_code_name(r.code));
    }
    CS_ENSURE_WHY(!f->is_required, CS_E_IO, diag, "collateral file %s missing in %s", f->names[0],
                  dir);
    return CS_SUCCESS;
}

static struct custos_bytes bytes_of(const struct dir_file *f)
{
    return (struct custos_bytes){ f->blob.p, f->blob.len };
}

CS_RESULT custos_snp_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                         struct custos_snp_collateral **out)
{
    CS_ENSURE(dir != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    enum { ANCHOR, CA_CHAIN, VCEK, VLEK, CRL, N_FILES };
    struct dir_file files[N_FILES] = {
        [ANCHOR] = { { "trust_anchor.pem", "trust_anchor.der" }, true, { 0 } },
        [CA_CHAIN] = { { "ca_chain.pem", "ca_chain.der" }, true, { 0 } },
        [VCEK] = { { "vcek.der", "vcek.pem" }, false, { 0 } },
        [VLEK] = { { "vlek.der", "vlek.pem" }, false, { 0 } },
        [CRL] = { { "crl.der", "crl.pem" }, false, { 0 } },
    };
    cs_res r = CS_SUCCESS;
    for (size_t i = 0; i < N_FILES && cs_ok(r); i++) {
        r = read_one(dir, &files[i], diag);
    }
    if (cs_ok(r)) {
        struct custos_snp_collateral_src src = {
            .trust_anchor = bytes_of(&files[ANCHOR]),
            .ca_chain = bytes_of(&files[CA_CHAIN]),
            .vcek = bytes_of(&files[VCEK]),
            .vlek = bytes_of(&files[VLEK]),
            .crl = bytes_of(&files[CRL]),
        };
        r = custos_snp_collateral_new(&src, diag, out);
    }
    for (size_t i = 0; i < N_FILES; i++) {
        cs_blob_clear(&files[i].blob);
    }
    return r;
}
