/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker's side of verification: KBS tee-evidence for a tee -> the platform verifier
 * -> a verdict, plus the REPORT_DATA binding to the session's nonce and the TEE key:
 * SHA-384(JCS({"additional-evidence","nonce","tee-pubkey"})) zero-padded to 64 bytes,
 * compared in constant time with the report data the hardware signed.
 */
#ifndef CS_BROKER_EVIDENCE_H
#define CS_BROKER_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

#define CS_EVIDENCE_MAX (256u * 1024u) /* decoded evidence bytes */

struct cs_broker;

struct cs_evidence {
    bool is_verified;          /* the verifier said verified AND the binding holds */
    cs_code code;              /* the first failure when not verified */
    bool is_debug;
    char tcb_status[32];       /* "" when the platform reports none */
    uint8_t evidence_digest[32]; /* SHA-256 of the evidence bytes we archive */
    char evidence_sha256[65];  /* the same in hex */
    char claims_sha256[65];    /* SHA-256 of the JCS claims (verified evidence only) */
    uint8_t *evidence;         /* the evidence bytes (quote, report JSON) */
    size_t evidence_len;
    json_t *verdict;           /* custos_verdict_to_json */
    char init_data_digest[97]; /* hex, when the request carried init-data that the TEE bound */
    char init_data_format[8];
};

void cs_evidence_clear(struct cs_evidence *ev);

/*
 * Verifies doc["tee-evidence"] (either the platform's evidence object or the composite
 * {"primary_evidence","additional_evidence"}) for tee at now. A failure of the request's
 * shape is CS_E_FORMAT; a verification failure is CS_OK with ev->is_verified false.
 */
CS_RESULT cs_evidence_verify(struct cs_broker *b, const char *tee, const json_t *doc,
                             const char *nonce, const json_t *tee_pubkey, int64_t now,
                             struct cs_evidence *ev);

/*
 * init-data (KBS "init-data": {"format": "toml"|"json", "body": text}) is bound when the
 * digest of its body equals the field the platform measured it into: TDX MRCONFIGID =
 * SHA-384(body), SNP HOST_DATA = SHA-256(body). A mismatch fails like a REPORT_DATA
 * mismatch (binding); a match puts init_data.digest and init_data.format in the input.
 */

/* The policy input for verified evidence (freshness.nonce is true: the binding held). */
CS_RESULT cs_evidence_input(const struct cs_evidence *ev, bool is_development, json_t **out);

#endif
