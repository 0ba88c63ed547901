/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attesters: what an agent inside a TEE uses to collect evidence bound to a 64-byte
 * REPORT_DATA, in the "tee-evidence" JSON form of the KBS protocol that custosd verifies.
 * One interface (an ops table behind an opaque context, chosen by kind):
 *
 *   "tdx"  configfs-tsm (Linux >= 6.7, /sys/kernel/config/tsm/report), provider tdx_guest
 *   "snp"  configfs-tsm, provider sev_guest (auxblob: the certificate table, when any)
 *   "tpm2" a TPM 2.0 through tpm2-tss ESAPI: an ECC P-256 restricted signing AK quotes PCRs
 *   "sim"  the development TDX attester of `custosd --dev` (src/sim/dev_attester.h)
 *
 * Evidence forms (docs/attesters.md has the full description):
 *   tee "tdx" (kinds tdx, sim): {"quote": base64(TDX quote), "cc_eventlog": null}
 *   tee "snp": {"attestation_report": <virtee/sev 1.x-4.x serde JSON>, "cert_chain": [...]|null}
 *              (the form src/evidence/snp_kbs.c reads; docs/platforms/snp.md)
 *   tee "tpm": {"quote": base64(TPMS_ATTEST), "signature": base64(TPMT_SIGNATURE),
 *               "pcrs": {"sha256": {"0": hex, ...}}, "ak_pub": PEM SubjectPublicKeyInfo,
 *               "ak_cert": base64(DER) (only when opts.tpm_ak_cert was given)}
 *              with TPM2_Quote extraData = SHA-256(REPORT_DATA) (cs_attester_tpm_nonce), so
 *              custos_tpm_verify is called with that 32-byte nonce.
 *
 * Not thread-safe per context: one evidence call at a time on one cs_attester (configfs-tsm
 * itself serialises poorly across processes; concurrent use is detected, see below).
 */
#ifndef CS_CLIENT_ATTESTER_H
#define CS_CLIENT_ATTESTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_ATTESTER_REPORT_DATA_LEN 64
#define CS_ATTESTER_TSM_ROOT_DEFAULT "/sys/kernel/config/tsm/report"
#define CS_ATTESTER_TPM_PCRS_DEFAULT "sha256:0,1,2,3,4,5,6,7"
#define CS_ATTESTER_TPM_NONCE_LEN 32
#define CS_ATTESTER_OUTBLOB_MAX (64u * 1024u)  /* a TDX quote with its PCK chain: ~5-8 KiB */
#define CS_ATTESTER_AUXBLOB_MAX (64u * 1024u)  /* the SNP certificate table: a few KiB */
#define CS_ATTESTER_PRIVLEVEL_MAX 3            /* SNP VMPL 0..3 */

struct cs_attester; /* opaque; heap object: cs_attester_free */

/*
 * Options; all borrowed for the call to cs_attester_open only (strings are copied).
 * Zero-initialise and set what the kind needs; members of other kinds are ignored.
 */
struct cs_attester_opts {
    const char *kind; /* "tdx" | "snp" | "tpm2" | "sim" (required) */

    /* tdx, snp (configfs-tsm) */
    const char *tsm_root;  /* NULL: CS_ATTESTER_TSM_ROOT_DEFAULT */
    bool has_privlevel;    /* write `privlevel` (SNP VMPL) before inblob */
    unsigned privlevel;    /* 0..CS_ATTESTER_PRIVLEVEL_MAX; used when has_privlevel */

    /* tpm2 */
    const char *tcti;        /* tpm2-tss TCTI string, e.g. "swtpm:host=127.0.0.1,port=2321";
                                NULL: the tctildr default (TPM2TOOLS_TCTI-like search) */
    const char *pcrs;        /* "sha256:0,1,2,3" (one or more banks joined by '+':
                                "sha1:0,1+sha256:0,1"); NULL: CS_ATTESTER_TPM_PCRS_DEFAULT */
    uint32_t tpm_ak_handle;  /* a persistent AK handle (0x81xxxxxx) to use; 0: create a
                                transient AK under a transient ECC SRK at open, flushed at free */
    const char *tpm_ak_cert; /* optional file: the AK certificate (DER or PEM), sent as ak_cert */

    /* sim */
    const char *sim_data_dir; /* the data directory of `custosd --dev` (holds dev-attester/) */
    int64_t sim_now;          /* seconds since the epoch for collateral checks; 0: now */
};

/*
 * Opens an attester of o->kind. tdx/snp: checks that tsm_root is a directory (nothing is
 * created until an evidence call). tpm2: connects through the TCTI, loads or creates the AK
 * and reads its public key. sim: cs_dev_attester_open(sim_data_dir, false, now).
 * Ownership: on CS_OK *out is the caller's (cs_attester_free); NULL otherwise.
 * Codes: CS_E_ARG (unknown kind, bad option such as an unparsable PCR selection or a
 * privlevel above 3), CS_E_UNSUPPORTED (kind "tpm2" in a build without tpm2-tss),
 * CS_E_NOT_FOUND (no configfs-tsm root; sim: no dev PKI), CS_E_IO (TPM unreachable, files),
 * CS_E_CRYPTO (TPM command failures), CS_E_NOMEM, and the codes of cs_dev_attester_open.
 */
CS_RESULT cs_attester_open(const struct cs_attester_opts *o, struct cs_attester **out);

/* Frees a (NULL: nothing); flushes transient TPM objects and closes the TPM connection. */
void cs_attester_free(struct cs_attester *a);

/* The KBS "tee" of the evidence: "tdx" (kinds tdx and sim), "snp" or "tpm". Never NULL. */
const char *cs_attester_tee(const struct cs_attester *a);

/* The kind given at open ("tdx", "snp", "tpm2", "sim"). Never NULL. */
const char *cs_attester_kind(const struct cs_attester *a);

/*
 * The KBS "tee-evidence" JSON object for report_data (64 bytes, copied into the TEE report
 * as is; for tpm2 bound through extraData = SHA-256(report_data)).
 * configfs-tsm: mkdir a fresh report entry under tsm_root, (privlevel), write inblob, check
 * `provider` (tdx_guest for kind tdx, sev_guest for snp), read generation, outblob (and
 * auxblob for snp), re-read generation, rmdir. Reads are bounded and use O_NOFOLLOW.
 * Ownership: on CS_OK *evidence is a new reference (json_decref); NULL otherwise.
 * Codes: CS_E_ARG, CS_E_CONFLICT (configfs-tsm generation changed: another writer used the
 * entry concurrently; retry), CS_E_UNSUPPORTED (wrong provider), CS_E_NOT_FOUND (a configfs
 * file is missing), CS_E_IO, CS_E_TOO_LARGE (outblob/auxblob over its _MAX),
 * CS_E_FORMAT (outblob not the expected shape, e.g. an SNP report not 1184 bytes),
 * CS_E_CRYPTO (TPM), CS_E_NOMEM.
 */
CS_RESULT cs_attester_evidence(struct cs_attester *a, const uint8_t report_data[64],
                               json_t **evidence);

/*
 * The TPM nonce of a REPORT_DATA: SHA-256 of its 64 bytes, what kind tpm2 passes as
 * TPM2_Quote qualifyingData and what a verifier gives custos_tpm_verify as the nonce.
 * Codes: CS_E_ARG, CS_E_CRYPTO.
 */
CS_RESULT cs_attester_tpm_nonce(const uint8_t report_data[64],
                                uint8_t nonce[CS_ATTESTER_TPM_NONCE_LEN]);

/* ---- internal: the back ends (src/client/attest_*.c) and the tests; not for callers ---- */

/* One back end: its KBS tee, its evidence call and its destructor. */
struct cs_attester_ops {
    const char *tee;
    cs_res (*evidence)(void *impl, const uint8_t report_data[64], json_t **evidence);
    void (*release)(void *impl);
};

/* Each opens its back end; on CS_OK *impl is owned by the caller (ops->release). */
CS_RESULT cs_attest_tsm_open(const struct cs_attester_opts *o, bool is_snp,
                             const struct cs_attester_ops **ops, void **impl);
CS_RESULT cs_attest_tpm2_open(const struct cs_attester_opts *o,
                              const struct cs_attester_ops **ops, void **impl);
CS_RESULT cs_attest_sim_open(const struct cs_attester_opts *o,
                             const struct cs_attester_ops **ops, void **impl);

/* {"quote": base64(quote), "cc_eventlog": null}: the tdx evidence of kinds tdx and sim. */
CS_RESULT cs_attest_tdx_evidence(const uint8_t *quote, size_t len, json_t **evidence);

/*
 * The configfs-tsm kernel seam for tests. configfs makes outblob synchronously inside the
 * read(2) of outblob, from what was written to inblob; a plain directory cannot, and a
 * background thread would race with the attester. So a test installs a hook that plays the
 * kernel at fixed points, on the entry directory (a descriptor borrowed for the call):
 * CS_TSM_STAGE_CREATED after mkdir (configfs creates the attribute files then),
 * CS_TSM_STAGE_WRITTEN after inblob is written (the report is generated),
 * CS_TSM_STAGE_READ after outblob/auxblob were read and before generation is re-read,
 * CS_TSM_STAGE_DONE before rmdir (configfs removes the attribute files itself).
 * NULL (the default) in production.
 */
enum cs_tsm_stage {
    CS_TSM_STAGE_CREATED,
    CS_TSM_STAGE_WRITTEN,
    CS_TSM_STAGE_READ,
    CS_TSM_STAGE_DONE,
};
struct cs_tsm_hook {
    void (*fn)(void *arg, int entry_dirfd, enum cs_tsm_stage stage);
    void *arg;
};
/* Sets the hook (copied) of a kind tdx/snp attester (CS_E_ARG for other kinds). */
CS_RESULT cs_attester_set_tsm_hook(struct cs_attester *a, const struct cs_tsm_hook *hook);
/* The same on the back end's context (attest_tsm.c). */
void cs_attest_tsm_set_hook(void *impl, const struct cs_tsm_hook *hook);

/*
 * The SNP evidence of a 1184-byte report and an optional certificate table (auxblob, GHCB
 * extended guest request layout; NULL/0: "cert_chain": null). Exposed for the tests.
 * Codes: CS_E_FORMAT (report length, a malformed table), CS_E_TOO_LARGE, CS_E_NOMEM.
 */
CS_RESULT cs_attest_snp_evidence(const uint8_t *report, size_t report_len, const uint8_t *aux,
                                 size_t aux_len, json_t **evidence);

#endif
