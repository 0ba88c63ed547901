/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled form of a policy, shared by the parser (policy_parse.c), the evaluator
 * (policy_eval.c) and the name and resource helpers (policy_names.c). Nothing outside
 * src/policy sees these structures.
 *
 * Ownership: struct cs_policy owns the jansson document it was parsed from; every
 * `const char *` and `const json_t *` below borrows from that document, so they live as
 * long as the policy. Conditions form a tree stored as an array (nodes) with the children
 * of each composite listed contiguously in a second array (kids).
 */
#ifndef CS_POLICY_INTERNAL_H
#define CS_POLICY_INTERNAL_H

#include <stdint.h>

#include "core/cs_buf.h"
#include "policy/policy.h"

#define POL_NONE UINT32_MAX /* "no condition" */

enum pol_op {
    POL_ALL_OF,
    POL_ANY_OF,
    POL_NOT,
    POL_EQUALS,
    POL_IN,
    POL_PREFIX,
    POL_GTE,
    POL_LTE,
    POL_IN_SET,
};

struct pol_cond {
    enum pol_op op;
    uint32_t path;     /* offset of its JSON path ("rules[0].when.allOf[1]") in text */
    const char *claim; /* comparisons: dotted path into the input */
    const json_t *lit; /* equals/prefix/gte/lte: the literal; in: the array of literals */
    uint32_t set;      /* in_set: index into sets */
    uint32_t kid0;     /* allOf/anyOf/not: first child in kids */
    uint32_t n_kids;
};

/* Bits of platforms, protections, actions. */
enum {
    POL_PF_TDX = 1u << 0,
    POL_PF_SGX = 1u << 1,
    POL_PF_SNP = 1u << 2,
    POL_PF_NITRO = 1u << 3,
    POL_PF_TPM = 1u << 4,
};
enum {
    POL_PROTECT_INTEGRITY = 1u << 0,
    POL_PROTECT_CONFIDENTIALITY = 1u << 1,
    POL_PROTECT_FRESHNESS = 1u << 2,
};
enum {
    POL_ACT_RESOURCE_READ = 1u << 0,
    POL_ACT_STATE_READ = 1u << 1,
    POL_ACT_STATE_WRITE = 1u << 2,
    POL_ACT_TOKEN_ISSUE = 1u << 3,
    POL_ACT_ALL = (1u << 4) - 1,
};
/* Platforms whose memory is protected from the host (encrypted or hardware-isolated). */
#define POL_PF_CONFIDENTIAL (POL_PF_TDX | POL_PF_SGX | POL_PF_SNP | POL_PF_NITRO)
/* Platforms whose verifier always reports a TCB status. */
#define POL_PF_HAS_TCB_STATUS (POL_PF_TDX | POL_PF_SGX)

struct pol_identity {
    const char *name;
    unsigned platforms;
    unsigned protects;
    unsigned tcb_allowed; /* bits: index in pol_tcb_statuses */
    bool allow_debug;
    bool allow_development;
    uint32_t match; /* root condition or POL_NONE */
};

#define POL_ID_WORDS (CS_POLICY_IDENTITIES_MAX / 64)

struct pol_rule {
    const char *id;
    bool is_deny;
    bool is_any_identity;           /* "*" */
    uint64_t ids[POL_ID_WORDS];     /* bit i: identity i is named */
    unsigned actions;               /* POL_ACT_* bits */
    const json_t *resources;        /* array of valid patterns */
    uint32_t when;                  /* condition or POL_NONE */
};

struct pol_set {
    const char *name;
    const char **values; /* owned array of borrowed strings, sorted by strcmp */
    size_t n_values;
};

struct cs_policy {
    json_t *doc; /* owned */
    const char *id;
    struct pol_identity *ids; /* owned */
    size_t n_ids;
    struct pol_rule *rules; /* owned */
    size_t n_rules;
    struct pol_set *sets; /* owned */
    size_t n_sets;
    struct pol_cond *nodes; /* owned */
    size_t n_nodes;
    size_t cap_nodes;
    uint32_t *kids; /* owned */
    size_t n_kids;
    size_t cap_kids;
    struct cs_buf text; /* NUL-terminated JSON paths of the conditions */
};

/* ---- names and resources (policy_names.c) ---- */

/* The TCB statuses of Intel's TCB Info, in bit order; "Revoked" is not among them. */
extern const char *const pol_tcb_statuses[];
extern const size_t pol_n_tcb_statuses;

/* Bit of a platform, protection, action or TCB status name; 0 when unknown. */
unsigned pol_platform_bit(const char *s);
unsigned pol_protect_bit(const char *s);
unsigned pol_action_bit(const char *s);
unsigned pol_tcb_bit(const char *s);
const char *pol_platform_name(unsigned bit);

/* [A-Za-z0-9][A-Za-z0-9._:-]{0,62} */
bool pol_is_name(const char *s);

/*
 * Whether s is a valid resource name (is_pattern false) or pattern (true): see
 * cs_policy_decide; a pattern may also be "*" or end in the segment "*".
 */
bool pol_is_resource(const char *s, bool is_pattern, const char **why);
/* Whether a valid resource matches a valid pattern. */
bool pol_resource_matches(const char *pattern, const char *resource);

/* Whether s looks like hex (an optional "0x", then hex digits) with an upper-case digit. */
bool pol_is_upper_hex(const char *s, size_t len);

/* Safe formatting into a fixed buffer: truncates, always terminates, never fails. */
void pol_errf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to a NUL-terminated buffer; marks truncation with "...". */
void pol_catf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
