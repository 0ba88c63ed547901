/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel DCAP ECDSA quotes: SGX v3, and v4 / v5 (TDX 1.0 and 1.5, or SGX body).
 *
 * Spec: Intel SGX ECDSA Quote Library Reference (quote format appendix) and the headers
 * of intel/SGXDataCenterAttestationPrimitives QuoteGeneration/quote_wrapper/common/inc:
 * sgx_quote_3.h (v3), sgx_quote_4.h (v4, TD report 1.0), sgx_quote_5.h (v5, body
 * types 1-3). Offsets cross-checked with google/go-tdx-guest abi/abi.go and against
 * every real quote under testdata (see docs/formats.md).
 *
 * The parser is pure: no allocation, no I/O, no crypto. Outputs are fixed-size copies
 * of the measurement fields plus views into the caller's buffer for the spans that
 * later checks must hash or verify exactly.
 */
#ifndef CS_EVIDENCE_INTEL_QUOTE_H
#define CS_EVIDENCE_INTEL_QUOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_INTEL_QUOTE_MAX (64u * 1024u) /* hard ceiling; real quotes are about 5 KiB */
#define CS_INTEL_HEADER_LEN 48
#define CS_SGX_REPORT_BODY_LEN 384
#define CS_TDX10_BODY_LEN 584
#define CS_TDX15_BODY_LEN 648
#define CS_INTEL_ECDSA_SIG_LEN 64
#define CS_INTEL_ECDSA_KEY_LEN 64
#define CS_INTEL_QE_AUTH_MAX 1024
#define CS_INTEL_CERT_DATA_MAX (32u * 1024u)

#define CS_INTEL_ATT_KEY_ECDSA_P256 2
#define CS_INTEL_TEE_SGX 0x00000000u
#define CS_INTEL_TEE_TDX 0x00000081u

/* Certification data types, sgx_quote_3.h "sgx_ql_cert_key_type_t". */
#define CS_INTEL_CERT_PCK_CHAIN 5
#define CS_INTEL_CERT_QE_REPORT 6

enum cs_intel_body {
    CS_INTEL_BODY_SGX = 1,   /* sgx_report_body_t, 384 bytes */
    CS_INTEL_BODY_TDX10 = 2, /* sgx_report2_body_t, 584 bytes */
    CS_INTEL_BODY_TDX15 = 3, /* sgx_report2_body_v1_5_t, 648 bytes */
};

/* sgx_report_body_t: the ISV enclave report (v3) and the QE report (every version). */
struct cs_sgx_report {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
};

/* sgx_report2_body_t (TDX 1.0) plus the TDX 1.5 fields (valid when has_tdx15). */
struct cs_tdx_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mrsigner_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];
    uint8_t mr_servicetd[48];
    bool has_tdx15;
};

/* borrows: the quote buffer passed to cs_intel_quote_parse */
struct cs_intel_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;  /* v3 header only */
    uint16_t pce_svn; /* v3 header only */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    enum cs_intel_body body_type;
    struct cs_sgx_report sgx; /* when body_type == CS_INTEL_BODY_SGX */
    struct cs_tdx_report tdx; /* when body_type is TDX10 or TDX15 */

    struct cs_cur signed_span; /* header + body: what the attestation key signs */
    struct cs_cur sig_data;    /* the signature_data_len bytes after signed_span */
    uint8_t quote_sig[CS_INTEL_ECDSA_SIG_LEN]; /* r || s, big-endian */
    uint8_t att_key[CS_INTEL_ECDSA_KEY_LEN];   /* X || Y, big-endian */
    struct cs_cur qe_report_raw;               /* 384 bytes the PCK signs */
    struct cs_sgx_report qe_report;
    uint8_t qe_report_sig[CS_INTEL_ECDSA_SIG_LEN];
    struct cs_cur qe_auth_data;
    struct cs_cur pck_chain; /* PEM text of the PCK chain (type 5), as carried */

    size_t quote_len;    /* declared end of the quote: signed span + 4 + signature data */
    size_t trailing_len; /* bytes after the declared end, ignored but reported */
};

/*
 * Parses a quote. Bytes after the declared end (signature_data_len) are not read and
 * are counted in trailing_len; inside the declared length every structure must end
 * exactly where its sizes say (CS_E_TRAILING otherwise).
 *
 * Returns CS_E_TRUNCATED, CS_E_TRAILING, CS_E_FORMAT (inconsistent field),
 * CS_E_UNSUPPORTED (version, key type, body type, certification data type),
 * CS_E_TOO_LARGE (over CS_INTEL_QUOTE_MAX or a length over its ceiling).
 * Does NOT check any signature, the QE vendor, or the PCK chain contents.
 */
CS_RESULT cs_intel_quote_parse(const uint8_t *buf, size_t len, struct cs_intel_quote *q);

/* Parses a 384-byte sgx_report_body_t. */
CS_RESULT cs_sgx_report_parse(struct cs_cur raw, struct cs_sgx_report *r);

/* Offset of report_data within the quote buffer (for tests and tools). */
size_t cs_intel_quote_report_data_offset(const struct cs_intel_quote *q);

#endif
