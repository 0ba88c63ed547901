/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation-result tokens: JWT ES256 with EAR-style claims (docs/tokens.md):
 *   iss, iat, nbf, exp, jti, eat_profile "tag:github.com,2023:veraison/ear",
 *   ear.verifier-id, submods.<platform>: ear.status, ear.trustworthiness-vector,
 *   ear.appraisal-policy-id; cnf.jwk = the attested TEE key (RFC 7800);
 *   custos: platform, tcb_status, identities, attest_index, policy {id, version, sha256},
 *   development, input (the verified policy input, for passport mode).
 * Passport mode: a token presented as "Authorization: Bearer" stands for the session; the
 * resource is still encrypted to cnf.jwk, so a stolen token releases nothing readable.
 */
#ifndef CS_BROKER_TOKEN_H
#define CS_BROKER_TOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_jwt_key;

struct cs_token_subject {
    const char *jti;           /* 32 hex digits, also in the admitted attest record */
    const char *platform;
    const char *tcb_status;    /* "" when none */
    bool is_debug;
    bool is_development;
    const json_t *input;
    const json_t *identities;
    const json_t *tee_pubkey;
    int64_t attest_index;
    const char *policy_id;
    int64_t policy_version;
    const char *policy_sha256;
};

/* *out is a compact JWS freed with cs_free. */
CS_RESULT cs_token_issue(const struct cs_jwt_key *k, const struct cs_token_subject *s, int64_t now,
                         int64_t ttl, char **out);

/* Verifies a token of ours and returns what a resource request needs: a reference for the
 * records ("token:<jti>"), the policy input, the TEE key, the attestation's log index. */
CS_RESULT cs_token_accept(const struct cs_jwt_key *k, const char *jwt, int64_t now, char *ref,
                          size_t ref_cap, json_t **input, json_t **tee_pubkey,
                          int64_t *attest_index);

#endif
