/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a DCAP collateral directory (the layout of docs/formats.md). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "verify/dcap_internal.h"

#define FILE_MAX (1024u * 1024u)

struct dir_file {
    const char *names[3]; /* tried in order */
    bool is_required;
    struct cs_blob blob;
};

static cs_res read_one(const char *dir, struct dir_file *f, struct custos_diag *diag)
{
    for (size_t i = 0; i < 3 && f->names[i] != NULL; i++) {
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
    CS_ENSURE_WHY(!f->is_required, CS_E_IO, diag, "collateral file %s missing in %s",
                  f->names[0], dir);
    return CS_SUCCESS;
}

static struct custos_bytes bytes_of(const struct dir_file *f)
{
    return (struct custos_bytes){ f->blob.p, f->blob.len };
}

CS_RESULT custos_dcap_collateral_load_dir(const char *dir, struct custos_diag *diag,
                                          struct custos_dcap_collateral **out)
{
    CS_ENSURE(dir != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    enum { TCB, TCB_CHAIN, QE, QE_CHAIN, PCK_CRL, ROOT_CRL, ANCHOR, N_FILES };
    struct dir_file files[N_FILES] = {
        [TCB] = { { "tcb_info.json", NULL, NULL }, true, { 0 } },
        [TCB_CHAIN] = { { "tcb_info_issuer_chain.pem", "tcb_info_issuer_chain.der", NULL },
                        true,
                        { 0 } },
        [QE] = { { "qe_identity.json", NULL, NULL }, false, { 0 } },
        [QE_CHAIN] = { { "qe_identity_issuer_chain.pem", "qe_identity_issuer_chain.der", NULL },
                       false,
                       { 0 } },
        [PCK_CRL] = { { "pck_crl.der", "pck_crl.pem", NULL }, false, { 0 } },
        [ROOT_CRL] = { { "root_ca_crl.der", "root_ca_crl.pem", NULL }, false, { 0 } },
        [ANCHOR] = { { "trust_anchor.pem", "trust_anchor.der", NULL }, true, { 0 } },
    };
    cs_res r = CS_SUCCESS;
    for (size_t i = 0; i < N_FILES && cs_ok(r); i++) {
        r = read_one(dir, &files[i], diag);
    }
    if (cs_ok(r) && (files[QE].blob.p == NULL) != (files[QE_CHAIN].blob.p == NULL)) {
        cs_diag_set(diag, CS_E_IO, "qe_identity.json and its issuer chain go together");
        r = (cs_res){ .code = CS_E_IO, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r)) {
        struct custos_dcap_collateral_src src = {
            .tcb_info = bytes_of(&files[TCB]),
            .tcb_info_chain = bytes_of(&files[TCB_CHAIN]),
            .qe_identity = bytes_of(&files[QE]),
            .qe_identity_chain = bytes_of(&files[QE_CHAIN]),
            .pck_crl = bytes_of(&files[PCK_CRL]),
            .root_ca_crl = bytes_of(&files[ROOT_CRL]),
            .trust_anchor = bytes_of(&files[ANCHOR]),
        };
        r = custos_dcap_collateral_new(&src, diag, out);
    }
    for (size_t i = 0; i < N_FILES; i++) {
        cs_blob_clear(&files[i].blob);
    }
    return r;
}
