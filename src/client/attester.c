/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attester front end: picks the back end of a kind (configfs-tsm, tpm2, sim) and holds
 * its ops table and context; plus the pieces the back ends share (the tdx evidence object,
 * the TPM nonce of a REPORT_DATA).
 */
#include "client/attester.h"

#include <string.h>

#include "core/cs_b64.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"

#define TDX_QUOTE_MAX CS_ATTESTER_OUTBLOB_MAX

struct cs_attester {
    const struct cs_attester_ops *ops;
    void *impl;
    const char *kind; /* a static string of the table below */
    bool is_tsm;
};

CS_RESULT cs_attester_open(const struct cs_attester_opts *o, struct cs_attester **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(o != NULL && o->kind != NULL, CS_E_ARG);
    static const char *const kinds[] = { "tdx", "snp", "tpm2", "sim" };
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k], o->kind) != 0) {
        k++;
    }
    CS_ENSURE(k < sizeof kinds / sizeof kinds[0], CS_E_ARG);
    const struct cs_attester_ops *ops = NULL;
    void *impl = NULL;
    switch (k) {
    case 0:
    case 1:
        CS_TRY(cs_attest_tsm_open(o, k == 1, &ops, &impl));
        break;
    case 2:
#ifdef CS_HAVE_TSS2
        CS_TRY(cs_attest_tpm2_open(o, &ops, &impl));
        break;
#else
        CS_FAIL(CS_E_UNSUPPORTED); /* built without tpm2-tss (libtss2-dev) */
#endif
    case 3:
        CS_TRY(cs_attest_sim_open(o, &ops, &impl));
        break;
    default:
        CS_FAIL(CS_E_INTERNAL);
    }
    struct cs_attester *a = NULL;
    cs_res r = cs_alloc(1, sizeof *a, (void **)&a);
    if (!cs_ok(r)) {
        ops->release(impl);
        return r;
    }
    *a = (struct cs_attester){ .ops = ops, .impl = impl, .kind = kinds[k], .is_tsm = k < 2 };
    *out = a;
    return CS_SUCCESS;
}

void cs_attester_free(struct cs_attester *a)
{
    if (a == NULL) {
        return;
    }
    a->ops->release(a->impl);
    cs_free(a);
}

const char *cs_attester_tee(const struct cs_attester *a)
{
    return a != NULL ? a->ops->tee : "";
}

const char *cs_attester_kind(const struct cs_attester *a)
{
    return a != NULL ? a->kind : "";
}

CS_RESULT cs_attester_evidence(struct cs_attester *a, const uint8_t report_data[64],
                               json_t **evidence)
{
    CS_ENSURE(evidence != NULL, CS_E_ARG);
    *evidence = NULL;
    CS_ENSURE(a != NULL && report_data != NULL, CS_E_ARG);
    return a->ops->evidence(a->impl, report_data, evidence);
}

CS_RESULT cs_attester_set_tsm_hook(struct cs_attester *a, const struct cs_tsm_hook *hook)
{
    CS_ENSURE(a != NULL && a->is_tsm && hook != NULL, CS_E_ARG);
    cs_attest_tsm_set_hook(a->impl, hook);
    return CS_SUCCESS;
}

CS_RESULT cs_attester_tpm_nonce(const uint8_t report_data[64],
                                uint8_t nonce[CS_ATTESTER_TPM_NONCE_LEN])
{
    CS_ENSURE(report_data != NULL && nonce != NULL, CS_E_ARG);
    return cs_sha256(cs_cur_of(report_data, CS_ATTESTER_REPORT_DATA_LEN), nonce);
}

CS_RESULT cs_attest_tdx_evidence(const uint8_t *quote, size_t len, json_t **evidence)
{
    CS_ENSURE(evidence != NULL, CS_E_ARG);
    *evidence = NULL;
    CS_ENSURE(quote != NULL && len > 0, CS_E_ARG);
    CS_ENSURE(len <= TDX_QUOTE_MAX, CS_E_TOO_LARGE);
    size_t cap = (len + 2) / 3 * 4 + 1;
    CS_AUTO(cs_freep) char *b64 = NULL;
    CS_TRY(cs_alloc(1, cap, (void **)&b64));
    CS_TRY(cs_b64_encode(quote, len, b64, cap));
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(o, "quote", json_string(b64)));
    CS_TRY(cs_json_set_new(o, "cc_eventlog", json_null()));
    *evidence = CS_MOVE(o);
    return CS_SUCCESS;
}
