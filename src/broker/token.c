/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/token.h"

#include <stdio.h>
#include <string.h>

#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_jose.h"

#define TOKEN_MAX (64u * 1024u)

/* EAR trust tiers (draft-ietf-rats-ear): affirming 2, warning 32, contraindicated 96. */
enum { TIER_AFFIRMING = 2, TIER_WARNING = 32, TIER_CONTRAINDICATED = 96 };

static int hardware_tier(const char *tcb)
{
    if (tcb[0] == '\0' || strcmp(tcb, "UpToDate") == 0) {
        return TIER_AFFIRMING;
    }
    if (strcmp(tcb, "Revoked") == 0) {
        return TIER_CONTRAINDICATED;
    }
    return TIER_WARNING; /* SWHardeningNeeded, ConfigurationNeeded, OutOfDate, ... */
}

static const char *status_name(int tier)
{
    return tier >= TIER_CONTRAINDICATED ? "contraindicated"
           : tier >= TIER_WARNING       ? "warning"
                                        : "affirming";
}

CS_RESULT cs_token_issue(const struct cs_jwt_key *k, const struct cs_token_subject *s, int64_t now,
                         int64_t ttl, char **out)
{
    CS_ENSURE(s->jti != NULL && strlen(s->jti) == 32, CS_E_ARG);
    const char *jti = s->jti;
    int hw = hardware_tier(s->tcb_status);
    int config = s->is_debug || s->is_development ? TIER_WARNING : TIER_AFFIRMING;
    int worst = hw > config ? hw : config;
    char policy_uri[160];
    snprintf(policy_uri, sizeof policy_uri, "policy:%s@%lld", s->policy_id,
             (long long)s->policy_version);
    json_t *tv = json_pack("{s:i, s:i, s:i, s:i}", "instance-identity", TIER_AFFIRMING,
                           "configuration", config, "executables", TIER_AFFIRMING, "hardware", hw);
    json_t *submod = json_pack("{s:s, s:o, s:s}", "ear.status", status_name(worst),
                               "ear.trustworthiness-vector", tv, "ear.appraisal-policy-id",
                               policy_uri);
    json_t *custos = json_pack(
        "{s:s, s:s, s:O, s:I, s:{s:s, s:I, s:s}, s:b, s:O}", "platform", s->platform,
        "tcb_status", s->tcb_status, "identities", s->identities, "attest_index",
        (json_int_t)s->attest_index, "policy", "id", s->policy_id, "version",
        (json_int_t)s->policy_version, "sha256", s->policy_sha256, "development",
        s->is_development, "input", s->input);
    CS_AUTO(cs_json_decrefp) json_t *claims = json_pack(
        "{s:s, s:I, s:I, s:I, s:s, s:s, s:{s:s, s:s}, s:{s:o}, s:{s:O}, s:o}", "iss", "custos",
        "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp", (json_int_t)(now + ttl), "jti", jti,
        "eat_profile", "tag:github.com,2023:veraison/ear", "ear.verifier-id", "developer",
        "custos", "build", "custos 0.1.0", "submods", s->platform, submod, "cnf", "jwk",
        s->tee_pubkey, "custos", custos);
    CS_ENSURE(claims != NULL, CS_E_NOMEM);
    return cs_jwt_sign(k, claims, out);
}

CS_RESULT cs_token_accept(const struct cs_jwt_key *k, const char *jwt, int64_t now, char *ref,
                          size_t ref_cap, json_t **input, json_t **tee_pubkey,
                          int64_t *attest_index)
{
    size_t len = strnlen(jwt, TOKEN_MAX + 1);
    CS_ENSURE(len <= TOKEN_MAX, CS_E_TOO_LARGE);
    CS_AUTO(cs_json_decrefp) json_t *claims = NULL;
    CS_TRY(cs_jwt_verify(k, jwt, len, now, &claims));
    const char *jti = NULL;
    CS_TRY(cs_json_get_str(claims, "jti", 64, &jti, NULL));
    json_t *custos = NULL;
    json_t *cnf = NULL;
    json_t *jwk = NULL;
    json_t *in = NULL;
    CS_TRY(cs_json_get_obj(claims, "custos", &custos));
    CS_TRY(cs_json_get_obj(claims, "cnf", &cnf));
    CS_TRY(cs_json_get_obj(cnf, "jwk", &jwk));
    CS_TRY(cs_json_get_obj(custos, "input", &in));
    json_t *idx = json_object_get(custos, "attest_index");
    CS_ENSURE(json_is_integer(idx), CS_E_FORMAT);
    int n = snprintf(ref, ref_cap, "token:%s", jti);
    CS_ENSURE(n > 0 && (size_t)n < ref_cap, CS_E_TOO_LARGE);
    *attest_index = json_integer_value(idx);
    *input = json_incref(in);
    *tee_pubkey = json_incref(jwk);
    return CS_SUCCESS;
}
