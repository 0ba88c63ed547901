/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP evidence that Confidential Containers guests send in the KBS protocol:
 *
 *   {"attestation_report": <serde JSON of the report>, "cert_chain": [<entry>...] | null}
 *
 * This is the `SnpEvidence` struct of confidential-containers/trustee
 * (deps/verifier/src/snp/mod.rs) and of the guest-components SNP attester, serialised
 * with serde_json. The report is virtee/sev's `sev::firmware::guest::AttestationReport`
 * and each entry its `sev::firmware::host::CertTableEntry`; both derive serde, so the
 * JSON mirrors the Rust structs. Two generations of those structs are in use, and both
 * are read here (docs/platforms/snp.md gives the whole mapping):
 *
 *   - sev 1.x - 4.x: the raw report layout, reserved fields included (`_reserved_0`,
 *     `_reserved_1`, `current_build`/`_minor`/`_major`, `_reserved_4`...), TCB_VERSION
 *     as {bootloader, tee, _reserved[4], snp, microcode}, `_author_key_en` or `key_info`;
 *   - sev 5.x - 6.x: no reserved fields, `cpuid_*` as numbers or null, `current` and
 *     `committed` as {major, minor, build}, TCB_VERSION as {fmc|null, bootloader, tee, snp,
 *     microcode}, optional `launch_mit_vector`/`current_mit_vector`.
 *
 * Byte arrays are JSON arrays of integers 0..255 (serde's encoding of [u8; N] and of
 * serde-big-array), policy/plat_info/key_info are integers (bitfield newtypes).
 *
 * The converter re-encodes the report into its 1184 binary bytes, and the binary report
 * is what custos verifies: the JSON itself is never trusted. Every byte of the binary
 * report comes from exactly one JSON value (two keys that claim the same bytes are
 * rejected), every non-reserved byte must be given, unknown keys are rejected.
 *
 * Parsing uses jansson (so it allocates); sizes are bounded by the _MAX below. Nothing
 * here checks signatures or certificates.
 */
#ifndef CS_EVIDENCE_SNP_KBS_H
#define CS_EVIDENCE_SNP_KBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"
#include "evidence/snp_report.h"

#define CS_SNP_KBS_JSON_MAX (256u * 1024u)
#define CS_SNP_KBS_ENTRIES_MAX 16 /* entries of cert_chain */
#define CS_SNP_KBS_CERTS_MAX 4    /* kept: ARK, ASK, VCEK, VLEK at most once each */
#define CS_SNP_CERT_DER_MAX 8192u /* AMD certificates are below 2 KiB */

/* CertType of virtee/sev (src/firmware/host/types/snp.rs): the entries custos uses. */
enum cs_snp_cert_type {
    CS_SNP_CERT_ARK = 1,
    CS_SNP_CERT_ASK = 2, /* the ASK, or the ASVK for a VLEK (the table has no ASVK type) */
    CS_SNP_CERT_VCEK = 3,
    CS_SNP_CERT_VLEK = 4,
};

struct cs_snp_kbs_cert {
    enum cs_snp_cert_type type;
    size_t len;
    uint8_t der[CS_SNP_CERT_DER_MAX];
};

/* Caller-owned storage (about 33 KiB: allocate it). Holds copies, no views. */
struct cs_snp_kbs {
    uint8_t report[CS_SNP_REPORT_LEN]; /* the re-encoded binary report */
    size_t n_certs;
    struct cs_snp_kbs_cert certs[CS_SNP_KBS_CERTS_MAX];
};

/*
 * Whether the evidence is JSON: its first byte that is not white space is '{'. A binary
 * report starts with its version (a small little-endian u32), never with '{'.
 */
bool cs_snp_kbs_is_json(const uint8_t *buf, size_t len);

/*
 * Converts KBS evidence into the binary report and the certificates it carries. Entries
 * of type Empty, CRL and OTHER are checked for shape and dropped; ARK, ASK, VCEK and VLEK
 * may each appear once.
 *
 * Returns CS_E_FORMAT (not this JSON shape: missing, unknown, mistyped or overlapping
 * keys, an integer out of its range, an array of the wrong length), CS_E_TOO_LARGE (over
 * CS_SNP_KBS_JSON_MAX, too many entries, a certificate over CS_SNP_CERT_DER_MAX),
 * CS_E_TRUNCATED (empty input), CS_E_NOMEM.
 * Does NOT parse the re-encoded report (cs_snp_report_parse does) nor the certificates.
 */
CS_RESULT cs_snp_kbs_parse(const uint8_t *buf, size_t len, struct cs_snp_kbs *out);

#endif
