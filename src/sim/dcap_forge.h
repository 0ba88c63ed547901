/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dcap_forge: a PKI of our own that mints well-formed Intel DCAP evidence.
 *
 * Real Intel collateral reaches only the branches that Intel's production data happens
 * to take. This library generates, with OpenSSL, every piece a DCAP verifier consumes,
 * each one configurable so that a test can steer verification into one specific branch
 * (a revoked leaf, a TCB level with a given status, a window one second too early, a
 * certification data type we do not support...):
 *
 *   "Intel SGX Root CA" (self-signed; or a pinned root of another name)
 *     +-- "Intel SGX PCK Platform CA" (or Processor CA)
 *     |     +-- "Intel SGX PCK Certificate", with the SGX extension
 *     |     +-- PCK CRL
 *     +-- "Intel SGX TCB Signing"
 *     +-- Root CA CRL
 *   TCB Info v2/v3 (SGX, TDX) and QE Identity v2 (QE, TD_QE), signed by the TCB Signing key
 *   quotes v3 (SGX), v4 (TDX 1.0 or SGX body), v5 (body type 1, 2 or 3)
 *
 * Layouts: Intel sgx_quote_3.h / sgx_quote_4.h / sgx_quote_5.h (quotes), Intel PCS API v4
 * (TCB Info, Enclave Identity), Intel SGX PCK Certificate and CRL Profile (extension,
 * names); see ../shared/testdata/evidence/FORMATS.md section 1.
 *
 * Two users: the unit tests and custos-testpki, whose keys are fresh per process (no
 * private key ever lands in the repository), and the development attester
 * (dev_attester.h), which keeps its keys and a pinned Root CA certificate in a data
 * directory (cs_forge_keys_export / _import / _pin_root_pem) so that one development
 * trust anchor survives restarts. Nothing here is an Intel key: evidence minted here
 * verifies only against this PKI's own anchor.
 *
 * Usage: cs_forge_keys_new once; per case, cs_forge_opts_init (a default that verifies
 * UpToDate at opts.at), change the fields the case is about, cs_forge_case_build, then
 * hand cs_forge_case_src() to custos_dcap_collateral_new and case.quote to
 * custos_dcap_verify. Options come from our own code, never from the network: they are
 * checked for consistency (arrays are bounded by the _MAX below), not hardened against
 * hostile values.
 */
#ifndef CS_SIM_DCAP_FORGE_H
#define CS_SIM_DCAP_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_file.h"
#include "core/cs_result.h"
#include "custos/dcap.h"
#include "evidence/intel_quote.h"

#define CS_FORGE_LEVELS_MAX 8     /* TCB levels per list */
#define CS_FORGE_ADVISORIES_MAX 4 /* advisory IDs per level, NULL-terminated if fewer */
#define CS_FORGE_MODULE_IDS_MAX 4 /* tdxModuleIdentities */
#define CS_FORGE_QE_AUTH_MAX 64

/* 2025-01-01T00:00:00Z: the default verification instant of the unit tests. */
#define CS_FORGE_AT_DEFAULT INT64_C(1735689600)

/* A validity period, inclusive at both ends (X.509 notBefore/notAfter, CRL
 * thisUpdate/nextUpdate, issueDate/nextUpdate of the JSON documents). */
struct cs_forge_window {
    int64_t not_before;
    int64_t not_after;
};

/*
 * The keys of the PKI (P-256), reused by any number of cases. They also remember the
 * recent certificates, CRLs and signed documents made with them, so that cases with equal
 * collateral options get byte-identical collateral (ECDSA signatures are randomised
 * otherwise). Not for concurrent use, except cs_forge_quote_build, which only reads them.
 */
struct cs_forge_keys; /* opaque; heap object: cs_forge_keys_free */

/* Generates every key. Ownership: on CS_OK *out is the caller's. CS_E_CRYPTO/CS_E_NOMEM. */
CS_RESULT cs_forge_keys_new(struct cs_forge_keys **out);
void cs_forge_keys_free(struct cs_forge_keys *k);

/* The keys a deployment keeps; the spare keys that only tests use are not among them. */
enum cs_forge_role {
    CS_FORGE_ROLE_ROOT = 0,
    CS_FORGE_ROLE_PCK_CA,
    CS_FORGE_ROLE_PCK_LEAF,
    CS_FORGE_ROLE_TCB_SIGNING,
    CS_FORGE_ROLE_ATTESTATION, /* signs the quotes (the QE's attestation key) */
    CS_FORGE_N_ROLES
};

/*
 * The private key of `role` as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). A secret:
 * on CS_OK the caller wipes out->p (cs_wipe over out->len) before cs_blob_clear.
 * CS_E_ARG for an unknown role, CS_E_CRYPTO/CS_E_NOMEM otherwise.
 */
CS_RESULT cs_forge_keys_export(const struct cs_forge_keys *k, enum cs_forge_role role,
                               struct cs_blob *out);

/*
 * Keys made of the PEM private keys of every role (PKCS#8 or SEC1, unencrypted; each
 * must be a P-256 key, else CS_E_FORMAT); the spare keys are generated afresh. No root
 * is pinned yet. Ownership: on CS_OK *out is the caller's.
 */
CS_RESULT cs_forge_keys_import(const struct cs_blob pem[CS_FORGE_N_ROLES],
                               struct cs_forge_keys **out);

/*
 * Mints a self-signed Root CA certificate for the root key, named CN=`cn`, O="custos
 * development PKI, not Intel" (cn NULL: Intel's full name), valid over w, and pins it:
 * every later case carries this very certificate (opts.root is then ignored), so its
 * bytes stay the trust anchor. CS_E_ARG for a bad name, CS_E_CRYPTO otherwise.
 */
CS_RESULT cs_forge_keys_pin_new_root(struct cs_forge_keys *k, const char *cn,
                                     struct cs_forge_window w);

/*
 * Pins the Root CA certificate in pem (exactly one certificate, PEM), which must be
 * self-signed by the root key: CS_E_FORMAT when it does not parse, CS_E_CHAIN when its
 * key is not the root key or its self-signature does not verify.
 */
CS_RESULT cs_forge_keys_pin_root_pem(struct cs_forge_keys *k, const struct cs_blob *pem);

/* The pinned Root CA certificate as PEM (owned, NUL-terminated). CS_E_ARG when none. */
CS_RESULT cs_forge_keys_root_pem(const struct cs_forge_keys *k, struct cs_blob *out);

/* Which key signs a piece. DEFAULT is the right one for that piece. */
enum cs_forge_key {
    CS_FORGE_KEY_DEFAULT = 0,
    CS_FORGE_KEY_OTHER,    /* a spare P-256 key nobody certifies */
    CS_FORGE_KEY_PCK_LEAF, /* the PCK leaf key: a real Intel key, but for another role */
};

/* The SGX extension of the PCK leaf (OID 1.2.840.113741.1.13.1, FORMATS.md 1.4). */
struct cs_forge_pck {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* .2.1 .. .2.16 */
    uint16_t pce_svn;     /* .2.17 */
    uint8_t cpu_svn[16];  /* .2.18 */
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    uint8_t sgx_type; /* ENUMERATED 0 standard, 1 scalable, 2 scalable with integrity */
};

/* An isvsvn-indexed level (TDX module identity, QE Identity). */
struct cs_forge_isv_level {
    uint16_t isv_svn;
    const char *status; /* Intel's spelling: "UpToDate", "OutOfDate", "Revoked" */
    const char *advisory_ids[CS_FORGE_ADVISORIES_MAX];
};

/* A platform level of the TCB Info. */
struct cs_forge_tcb_level {
    uint8_t sgx_svn[16];
    uint16_t pce_svn;
    uint8_t tdx_svn[16]; /* TDX TCB Info only */
    const char *status;  /* any of the seven platform statuses */
    const char *advisory_ids[CS_FORGE_ADVISORIES_MAX];
};

struct cs_forge_module_id {
    char id[8]; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    struct cs_forge_isv_level levels[CS_FORGE_LEVELS_MAX];
};

/*
 * Everything a case is made of. cs_forge_opts_init fills a consistent default; every
 * field may then be changed independently: nothing is re-derived at build time except
 * the QE report data, which is always SHA-256(attestation key || QE auth data) || 0^32
 * (then XORed with qe_report_data_xor).
 */
struct cs_forge_opts {
    int64_t at; /* inside every default window; goes to case.json */

    /* ---- PKI ---- */
    struct cs_forge_window root, pck_ca, pck_leaf, tcb_signing; /* certificate validity */
    struct cs_forge_window root_crl, pck_crl;                   /* thisUpdate..nextUpdate */
    bool is_processor_ca;     /* "Intel SGX PCK Processor CA" instead of Platform CA */
    bool is_pck_leaf_revoked; /* the PCK CRL lists the leaf's serial */
    bool is_pck_ca_revoked;   /* the Root CA CRL lists the PCK CA's serial */
    bool is_impostor_root;    /* PCK CA issued by another key named "Intel SGX Root CA" */
    const char *pck_leaf_cn;  /* NULL: Intel's names */
    const char *pck_ca_cn;
    const char *tcb_signing_cn;
    struct cs_forge_pck pck;

    /* ---- TCB Info ---- */
    unsigned tcb_version; /* 2 (SGX only) or 3 */
    bool is_tcb_tdx;      /* v3 id "TDX" (else "SGX") */
    struct cs_forge_window tcb_info;
    uint8_t tcb_fmspc[6];
    uint8_t tcb_pce_id[2];
    uint32_t tcb_eval_num;
    uint8_t module_mrsigner[48]; /* tdxModule */
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    size_t n_module_ids;
    struct cs_forge_module_id module_ids[CS_FORGE_MODULE_IDS_MAX];
    size_t n_tcb_levels;
    struct cs_forge_tcb_level tcb_levels[CS_FORGE_LEVELS_MAX];
    enum cs_forge_key tcb_info_key;

    /* ---- QE Identity ---- */
    bool is_qe_tdx; /* id "TD_QE" (else "QE") */
    struct cs_forge_window qe_identity;
    uint32_t qe_miscselect;
    uint32_t qe_miscselect_mask;
    uint8_t qe_attributes[16];
    uint8_t qe_attributes_mask[16];
    uint8_t qe_mrsigner[32];
    uint16_t qe_isv_prod_id;
    size_t n_qe_levels;
    struct cs_forge_isv_level qe_levels[CS_FORGE_LEVELS_MAX];
    enum cs_forge_key qe_identity_key;

    /* ---- quote ---- */
    uint16_t version;               /* 3, 4 or 5 */
    enum cs_intel_body body;        /* v3: SGX; v4: SGX or TDX10; v5: any (the v5 body type) */
    uint8_t qe_vendor_id[16];       /* Intel's by default */
    uint8_t user_data[20];          /* header user data (v3: QE ID in the first 16 bytes) */
    struct cs_tdx_report tdx;       /* TDX bodies; tee_tcb_svn2/mr_servicetd for type 3 only */
    struct cs_sgx_report sgx;       /* SGX bodies */
    struct cs_sgx_report qe_report; /* report_data is computed: SHA-256 binding, then xor */
    uint8_t qe_report_data_xor[64]; /* flipped into the computed report data (binding tests) */
    size_t qe_auth_len;
    uint8_t qe_auth[CS_FORGE_QE_AUTH_MAX];
    uint16_t cert_type_outer;        /* v4/v5: 6 = QE report certification data */
    uint16_t cert_type_inner;        /* 5 = PCK chain (v3: the only certification data) */
    enum cs_forge_key quote_key;     /* DEFAULT: the attestation key in the quote */
    enum cs_forge_key qe_report_key; /* DEFAULT: the PCK leaf key */
    size_t trailing_len;             /* bytes appended after the quote */
    uint8_t trailing_byte;
};

/*
 * A consistent default for a quote `version` with `body` that verifies UpToDate at `at`:
 * TDX bodies get a TDX v3 TCB Info (tdxModule, TDX_01 and TDX_03) and a TD_QE identity;
 * SGX bodies an SGX v3 TCB Info and a QE identity. Every window contains at +- 1 day, and
 * no two window edges coincide. TDX: tee_tcb_svn = {4, 1, 2, 0...} (module TDX_01 SVN 4).
 */
void cs_forge_opts_init(struct cs_forge_opts *o, uint16_t version, enum cs_intel_body body,
                        int64_t at);

/* One generated case. Every blob is owned (cs_alloc) and NUL-terminated past len. */
struct cs_forge_case {
    struct cs_blob quote; /* the quote plus trailing_len bytes */
    struct cs_blob tcb_info;
    struct cs_blob tcb_info_chain; /* PEM: TCB Signing, Root CA */
    struct cs_blob qe_identity;
    struct cs_blob qe_identity_chain;
    struct cs_blob pck_crl;      /* DER */
    struct cs_blob root_ca_crl;  /* DER */
    struct cs_blob trust_anchor; /* PEM: the (real, or pinned) Root CA */
    struct cs_blob pck_chain;    /* PEM carried in the quote: leaf, CA, root */
    int64_t at;
    bool is_tdx;
};

/*
 * Builds every piece of a case. Ownership: on CS_OK the caller clears *out with
 * cs_forge_case_clear; on failure *out is empty. CS_E_ARG for inconsistent options
 * (version/body pair, counts over the _MAX), CS_E_CRYPTO/CS_E_NOMEM otherwise.
 */
CS_RESULT cs_forge_case_build(struct cs_forge_keys *k, const struct cs_forge_opts *o,
                              struct cs_forge_case *out);
void cs_forge_case_clear(struct cs_forge_case *c);

/*
 * The quote alone, for collateral built before with the same keys: pck_chain is the PEM
 * chain (leaf, CA, root) of that earlier case, carried in the quote as certification
 * data. Only reads k (no memo is touched), so several threads may call it at once on one
 * k, provided nothing else uses k meanwhile. Ownership: on CS_OK *out is the caller's
 * (NUL-terminated past len). CS_E_ARG for inconsistent options, CS_E_CRYPTO/CS_E_NOMEM.
 */
CS_RESULT cs_forge_quote_build(const struct cs_forge_keys *k, const struct cs_forge_opts *o,
                               const struct cs_blob *pck_chain, struct cs_blob *out);

/* The collateral of a case as custos_dcap_collateral_new takes it (views into c). */
struct custos_dcap_collateral_src cs_forge_case_src(const struct cs_forge_case *c);

/*
 * Writes the case directory (the layout of testdata/evidence/T01): quote.bin,
 * tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json,
 * qe_identity_issuer_chain.pem, pck_crl.der, root_ca_crl.der, trust_anchor.pem and
 * case.json {"platform": "tdx"|"sgx", "at": RFC 3339}. Creates dir (and its parents)
 * if missing; overwrites those files. CS_E_IO on any failure.
 */
CS_RESULT cs_forge_case_write_dir(const struct cs_forge_case *c, const char *dir);

#endif
