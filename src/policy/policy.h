/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy engine: a deny-by-default policy of our own over *verified* evidence
 * (docs/policy.md). A policy document names identities (what an attested instance must
 * show to be admitted as one) and rules (which admitted identities may do which action on
 * which resource). Explicit deny wins; no rule means deny.
 *
 * Pure code over jansson: no I/O, no OpenSSL, no globals. A parsed policy is immutable;
 * evaluating it (admit, decide, explain) only reads it, so one parsed policy may be shared
 * by any number of threads as long as each call has its own input and outputs.
 *
 * The evaluation input is one JSON object that the broker builds from a verified verdict:
 * {"platform", "tcb_status"?, "debug", "claims", "freshness": {"nonce"}, "init_data"?,
 *  "development"}; cs_policy_input_from_verdict builds it from `custos verify --json`.
 */
#ifndef CS_POLICY_POLICY_H
#define CS_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/cs_result.h"

/* Ceilings. Exceeding one is CS_E_TOO_LARGE, with the JSON path in the error text. */
#define CS_POLICY_DOC_MAX (1024u * 1024u) /* policy document bytes */
#define CS_POLICY_DEPTH_MAX 16            /* nesting of allOf/anyOf/not, the root counting 1 */
#define CS_POLICY_NODES_MAX 4096          /* conditions in the whole document */
#define CS_POLICY_IDENTITIES_MAX 256
#define CS_POLICY_RULES_MAX 1024
#define CS_POLICY_SETS_MAX 256            /* reference-value sets in the document */
#define CS_POLICY_SET_VALUES_MAX 4096     /* values of one set in the document */
#define CS_POLICY_LIST_MAX 256            /* any other list: in, platforms, patterns, ... */
#define CS_POLICY_NAME_MAX 63             /* ids and names: [A-Za-z0-9][A-Za-z0-9._:-]* */
#define CS_POLICY_STRING_MAX 1024         /* a string literal or reference value, bytes */
#define CS_POLICY_PATH_MAX 255            /* a dotted claim path */
#define CS_POLICY_RESOURCE_MAX 255        /* a resource name or pattern */
/* External reference values (the broker's admin API): */
#define CS_POLICY_REFVAL_SETS_MAX 4096
#define CS_POLICY_REFVAL_VALUES_MAX 65536 /* per set */

/* Room for a one-line parse error ("rules[2].when.allOf[0]: unknown operator \"eq\""). */
#define CS_POLICY_ERR_MAX 256

struct cs_policy; /* parsed, immutable; heap object: cs_policy_free */

/*
 * Parses and lints a policy document of len bytes (at most CS_POLICY_DOC_MAX). Every
 * member is checked: unknown keys, wrong types, unknown operators, platforms, actions or
 * TCB statuses, undeclared identities or reference sets, invalid resource patterns,
 * upper-case hex literals, an integrity identity without a measurement condition, and
 * the ceilings above. On failure writes one line "<json path>: <reason>" into err
 * (errlen bytes, may be 0; always NUL-terminated when errlen > 0).
 * Ownership: on CS_OK *out is a new policy freed with cs_policy_free; NULL otherwise.
 * Codes: CS_E_FORMAT (syntax, lint), CS_E_TOO_LARGE (a ceiling), CS_E_TRUNCATED (empty),
 * CS_E_UNSUPPORTED (a version other than 1), CS_E_NOMEM, CS_E_ARG.
 */
CS_RESULT cs_policy_parse(const char *json, size_t len, struct cs_policy **out, char *err,
                          size_t errlen);
void cs_policy_free(struct cs_policy *p); /* NULL is fine */

/* The document's "id" (borrowed, lives as long as p). */
const char *cs_policy_id(const struct cs_policy *p);
size_t cs_policy_n_identities(const struct cs_policy *p);
size_t cs_policy_n_rules(const struct cs_policy *p);

enum cs_policy_reason {
    CS_POLICY_ALLOWED,        /* an allow rule applies, no deny rule does */
    CS_POLICY_NOT_ADMITTED,   /* no identity admits the instance */
    CS_POLICY_NO_RULE,        /* admitted, but no allow rule applies */
    CS_POLICY_DENIED_BY_RULE, /* a deny rule applies (explicit deny wins) */
};

struct cs_policy_decision {
    bool allow;
    char identity[64]; /* the identity that decided (first admitted that the rule names), or "" */
    char rule[64];     /* the rule that decided, "" if none */
    enum cs_policy_reason reason;
    char why[512]; /* human explanation: names, JSON paths and claim paths, never claim values */
    /*
     * Broker obligation: an identity through which this was allowed (or, for admission,
     * an admitted identity) protects confidentiality, so the release must be JWE-wrapped
     * to the attested TEE key and never sent in clear. Only meaningful when allow is true.
     */
    bool is_jwe_required;
};

/* "allowed", "not_admitted", "no_rule", "denied_by_rule"; "unknown" for other values. */
const char *cs_policy_reason_name(enum cs_policy_reason r);

/*
 * Admission at attest time: which identities admit this input, in document order.
 * input: the evaluation input object (borrowed). refvals: NULL or an object of set name ->
 * array of strings (borrowed), merged with the document's sets of the same names.
 * Ownership: on CS_OK *identities is a new JSON array of names (json_decref), and d says
 * whether any identity admits (reason ALLOWED or NOT_ADMITTED); on failure *identities is
 * NULL and d denies. Codes: CS_E_ARG (NULL pointers, input not an object), CS_E_FORMAT
 * (refvals not an object, or a declared set in it not an array), CS_E_NOMEM.
 */
CS_RESULT cs_policy_admit(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                          json_t **identities, struct cs_policy_decision *d);

/*
 * The decision for one request: deny if no identity admits the input; else deny if a deny
 * rule applies to an admitted identity; else allow if an allow rule does; else deny.
 * action: "resource:read", "state:read", "state:write" or "token:issue" (CS_E_ARG
 * otherwise). resource: a name of '/'-separated segments over [A-Za-z0-9._~:@+=,-], none
 * of them empty, "." or "..", at most CS_POLICY_RESOURCE_MAX bytes (CS_E_FORMAT
 * otherwise, and d->why says why). d is filled on every path; on failure it denies.
 * Codes: CS_E_ARG (NULL pointers, input not an object, unknown action), CS_E_FORMAT
 * (resource name; refvals as for cs_policy_admit). Allocates nothing.
 */
CS_RESULT cs_policy_decide(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                           const char *action, const char *resource, struct cs_policy_decision *d);

/*
 * Like cs_policy_decide, but returns the full trace for `custos policy eval --json`:
 * {"policy", "action", "resource", "identities": [{"name", "admitted", "checks": [...],
 * "match"}], "rules": [{"id", "path", "effect", "identity", "action", "resource", "when",
 * "applies"}], "decision": {...}}, each condition with its path and outcome ("true",
 * "false", "unknown") and, for comparisons, the claim value it saw ("actual"). Every
 * identity and every rule is evaluated, even after the decision is known; rules are
 * listed in evaluation order (deny rules first). The decision equals cs_policy_decide's.
 * Ownership: on CS_OK *trace is a new object (json_decref); NULL otherwise.
 * Codes: as cs_policy_decide, and CS_E_NOMEM.
 */
CS_RESULT cs_policy_explain(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                            const char *action, const char *resource, json_t **trace);

/*
 * Checks external reference values in full: an object (or NULL) of at most
 * CS_POLICY_REFVAL_SETS_MAX sets, each named like a policy name and holding an array of
 * at most CS_POLICY_REFVAL_VALUES_MAX non-empty strings of at most CS_POLICY_STRING_MAX
 * bytes, hex in lower case. Run it when values enter the broker (admin API). Evaluation
 * only checks that refvals is an object and that the sets the policy declares are arrays
 * (CS_E_FORMAT otherwise); an entry that is not a string never matches, and an upper-case
 * one never equals a claim. err as for parse. Codes: CS_E_FORMAT, CS_E_TOO_LARGE.
 */
CS_RESULT cs_policy_refvals_check(const json_t *refvals, char *err, size_t errlen);

/*
 * Builds an evaluation input from a verdict object (`custos verify --json`,
 * custos_verdict_to_json): platform, tcb_status (when a string), debug (claims.debug),
 * claims, freshness.nonce = is_fresh, development = is_development. The verdict must say
 * "verified": true, else CS_E_POLICY: unverified claims never reach policy.
 * Ownership: on CS_OK *out is a new object (json_decref). Codes: CS_E_POLICY, CS_E_FORMAT
 * (not a verdict), CS_E_NOMEM, CS_E_ARG.
 */
CS_RESULT cs_policy_input_from_verdict(const json_t *verdict, bool is_fresh, bool is_development,
                                       json_t **out);

#endif
