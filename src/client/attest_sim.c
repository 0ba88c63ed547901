/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kind "sim": the development TDX attester of `custosd --dev` (src/sim/dev_attester.h).
 * Reads the PKI that custosd keeps in DATA_DIR/dev-attester (never creates one) and makes a
 * TDX quote v4 with the default measurements and the caller's REPORT_DATA: the same tdx
 * evidence object as configfs-tsm on TDX hardware, verifiable only by a broker that trusts
 * the development root (docs/dev-attester.md).
 */
#include <string.h>

#include "client/attester.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "sim/dev_attester.h"

static cs_res sim_evidence(void *impl, const uint8_t report_data[64], json_t **evidence)
{
    const struct cs_dev_attester *dev = impl;
    struct cs_dev_quote_opts q = { 0 };
    memcpy(q.report_data, report_data, sizeof q.report_data);
    CS_AUTO(cs_freep) uint8_t *quote = NULL;
    size_t len = 0;
    CS_TRY(cs_dev_attester_quote(dev, &q, &quote, &len));
    return cs_attest_tdx_evidence(quote, len, evidence);
}

static void sim_free(void *impl)
{
    cs_dev_attester_free(impl);
}

static const struct cs_attester_ops sim_ops = {
    .tee = "tdx",
    .evidence = sim_evidence,
    .release = sim_free,
};

CS_RESULT cs_attest_sim_open(const struct cs_attester_opts *o,
                             const struct cs_attester_ops **ops, void **impl)
{
    CS_ENSURE(o != NULL && o->sim_data_dir != NULL && ops != NULL && impl != NULL, CS_E_ARG);
    int64_t now = o->sim_now != 0 ? o->sim_now : cs_time_now();
    struct cs_dev_attester *dev = NULL;
    CS_TRY(cs_dev_attester_open(o->sim_data_dir, false, now, &dev));
    *ops = &sim_ops;
    *impl = dev;
    return CS_SUCCESS;
}
