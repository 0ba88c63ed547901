/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel PCS collateral documents: TCB Info (v2, v3; SGX and TDX) and Enclave Identity
 * v2 (QE, TD_QE). Spec: Intel SGX and TDX PCS API v4, "TCB Info V2/V3" and "Enclave
 * Identity V2" JSON schemas; field handling cross-checked with Intel QVL
 * Src/AttestationParsers/src/Json (TcbInfo.cpp, TcbLevel.cpp, EnclaveIdentityV2.cpp).
 *
 * A document is `{"tcbInfo"|"enclaveIdentity": <body>, "signature": "<hex r||s>"}` and
 * the signature covers the exact bytes of <body> as served: the parser records that
 * span (a view into the caller's buffer) and never re-serialises.
 *
 * Parsing uses jansson (so it allocates); all counts are bounded by the _MAX below.
 * Nothing here checks signatures, chains or dates against an instant.
 */
#ifndef CS_EVIDENCE_INTEL_COLLATERAL_H
#define CS_EVIDENCE_INTEL_COLLATERAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_COLLATERAL_JSON_MAX (512u * 1024u)
#define CS_TCB_LEVELS_MAX 128
#define CS_TDX_MODULE_IDS_MAX 16
#define CS_MODULE_LEVELS_MAX 64
#define CS_ADVISORIES_MAX 64
#define CS_ADVISORY_ID_MAX 64

enum cs_tcb_status {
    CS_TCB_UP_TO_DATE = 0,
    CS_TCB_SW_HARDENING_NEEDED,
    CS_TCB_CONFIGURATION_NEEDED,
    CS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    CS_TCB_OUT_OF_DATE,
    CS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    CS_TCB_REVOKED,
};

/* Intel's spelling of a status ("UpToDate", ...). */
const char *cs_tcb_status_name(enum cs_tcb_status s);

struct cs_tcb_level {
    uint8_t sgx_svn[16];
    uint16_t pce_svn;
    uint8_t tdx_svn[16]; /* TDX TCB Info only */
    enum cs_tcb_status status;
    int64_t tcb_date;
    const json_t *advisory_ids; /* borrowed from the document; array of strings or NULL */
};

/* An isvsvn-indexed level of a TDX module identity or an enclave identity. */
struct cs_isv_level {
    uint16_t isv_svn;
    enum cs_tcb_status status;
    int64_t tcb_date;
    const json_t *advisory_ids;
};

struct cs_tdx_module_identity {
    char id[8]; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    struct cs_isv_level levels[CS_MODULE_LEVELS_MAX];
};

/* owns: root; borrows: the document buffer (signed_body) */
struct cs_tcb_info {
    json_t *root;
    struct cs_cur signed_body;
    uint8_t signature[64];
    unsigned version; /* 2 or 3 */
    bool is_tdx;      /* id "TDX" (v3 only) */
    int64_t issue_date;
    int64_t next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint32_t tcb_eval_num;
    bool has_tdx_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    size_t n_module_ids;
    struct cs_tdx_module_identity module_ids[CS_TDX_MODULE_IDS_MAX];
    size_t n_levels;
    struct cs_tcb_level levels[CS_TCB_LEVELS_MAX];
};

enum cs_qe_kind {
    CS_QE_SGX = 1, /* id "QE" */
    CS_QE_TDX = 2, /* id "TD_QE" */
};

/* owns: root; borrows: the document buffer (signed_body) */
struct cs_qe_identity {
    json_t *root;
    struct cs_cur signed_body;
    uint8_t signature[64];
    enum cs_qe_kind kind;
    int64_t issue_date;
    int64_t next_update;
    uint32_t tcb_eval_num;
    uint32_t miscselect;
    uint32_t miscselect_mask;
    uint8_t attributes[16];
    uint8_t attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    size_t n_levels;
    struct cs_isv_level levels[CS_MODULE_LEVELS_MAX];
};

/*
 * Parses a TCB Info document. The struct is large: allocate it, do not put it on a
 * small stack. On CS_OK the caller clears it with cs_tcb_info_clear; doc must outlive it.
 * CS_E_FORMAT / CS_E_TOO_LARGE / CS_E_UNSUPPORTED (version, id, tcbType).
 */
CS_RESULT cs_tcb_info_parse(struct cs_cur doc, struct cs_tcb_info *out);
void cs_tcb_info_clear(struct cs_tcb_info *t);

/* Parses an Enclave Identity v2 document (QE or TD_QE). Same contract. */
CS_RESULT cs_qe_identity_parse(struct cs_cur doc, struct cs_qe_identity *out);
void cs_qe_identity_clear(struct cs_qe_identity *q);

#endif
