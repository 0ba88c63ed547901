/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1).
 * Spec: Intel SGX PCK Certificate and Certificate Revocation List Profile
 * Specification, section 1.5 "Intel SGX PCK Certificate" (SGX Extensions table).
 */
#ifndef CS_CRYPTO_SGX_PCK_H
#define CS_CRYPTO_SGX_PCK_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_sgx_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* SGX TCB components 1..16 */
    uint16_t pce_svn;
    uint8_t cpu_svn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    uint32_t sgx_type; /* 0 standard, 1 scalable, 2 scalable with integrity */
};

/*
 * Reads the SGX extension of a PCK certificate. Every mandatory field (PPID, TCB with
 * 16 components + PCESVN + CPUSVN, PCE-ID, FMSPC, SGX type) must be present exactly
 * once with its exact size; unknown fields are ignored. CS_E_FORMAT otherwise.
 */
CS_RESULT cs_sgx_pck_ext_parse(const X509 *cert, struct cs_sgx_pck_ext *out);

#endif
