/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing and linting a policy document (grammar: docs/policy.md). The document is
 * untrusted text: every member is type-checked, every list and string bounded, unknown
 * members refused (a misspelt "alow_debug" must not silently mean the default), and the
 * first problem is reported once, as "<json path>: <reason>".
 *
 * Output: a struct cs_policy that owns the jansson document and a compiled form of it
 * (policy_internal.h), immutable from then on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_mem.h"
#include "policy/policy_internal.h"

#define PATH_BUF 512                          /* deepest path: well under this (see push) */
#define TEXT_MAX ((size_t)CS_POLICY_NODES_MAX * PATH_BUF)

struct parser {
    struct cs_policy *p;
    char *err;
    size_t errlen;
    char path[PATH_BUF]; /* JSON path of the value being parsed; "" is the document */
    size_t path_len;
};

/* The claim paths that name a measurement: integrity needs one of them (docs/policy.md). */
static const char *const measurement_claims[] = {
    "claims.mr_td",      "claims.rtmr0",           "claims.rtmr1",        "claims.rtmr2",
    "claims.rtmr3",      "claims.mr_seam",         "claims.mr_config_id", "claims.mr_owner",
    "claims.mr_owner_config", "claims.mr_servicetd", "claims.mr_enclave", "claims.mr_signer",
    "claims.measurement", "claims.host_data",      "claims.id_key_digest",
    "claims.author_key_digest", "init_data.digest",
};
#define MEASUREMENT_PREFIX "claims.pcrs." /* Nitro pcrs.<i>, TPM pcrs.<bank>.<i> */

/* The members of the evaluation input a claim path may start with. */
static const char *const input_roots[] = {
    "platform", "tcb_status", "debug", "claims", "freshness", "init_data", "development",
};

static void sanitize(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            *s = '?';
        }
    }
}

static cs_res perr(struct parser *ps, cs_code code, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cs_res perr(struct parser *ps, cs_code code, uint32_t line, const char *fmt, ...)
{
    if (ps->err != NULL && ps->errlen > 0) {
        char msg[CS_POLICY_ERR_MAX];
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        pol_errf(ps->err, ps->errlen, "%s: %s", ps->path_len > 0 ? ps->path : "policy", msg);
        sanitize(ps->err);
    }
    return (cs_res){ .code = code, .line = line, .file = __FILE__ };
}

#define PFAIL(ps, code, ...) return perr((ps), (code), __LINE__, __VA_ARGS__)
#define PENSURE(cond, ps, code, ...)                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            PFAIL(ps, code, __VA_ARGS__);                                                  \
        }                                                                                  \
    } while (0)

/* Path stack: push returns the length to restore with pop. */
static size_t push_key(struct parser *ps, const char *key)
{
    size_t at = ps->path_len;
    char k[72];
    pol_errf(k, sizeof k, "%.64s", key);
    sanitize(k);
    int n = snprintf(ps->path + at, sizeof ps->path - at, "%s%s", at > 0 ? "." : "", k);
    if (n > 0) {
        ps->path_len = strnlen(ps->path, sizeof ps->path);
    }
    return at;
}

static size_t push_index(struct parser *ps, size_t i)
{
    size_t at = ps->path_len;
    int n = snprintf(ps->path + at, sizeof ps->path - at, "[%zu]", i);
    if (n > 0) {
        ps->path_len = strnlen(ps->path, sizeof ps->path);
    }
    return at;
}

static void pop(struct parser *ps, size_t at)
{
    ps->path_len = at;
    ps->path[at] = '\0';
}

/* Refuses members of obj other than those listed (NULL-terminated). */
static cs_res only_keys(struct parser *ps, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool is_known = false;
        for (size_t i = 0; allowed[i] != NULL && !is_known; i++) {
            is_known = strcmp(allowed[i], key) == 0;
        }
        if (!is_known) {
            push_key(ps, key);
            PFAIL(ps, CS_E_FORMAT, "unknown member");
        }
    }
    return CS_SUCCESS;
}

static cs_res grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return CS_SUCCESS;
    }
    size_t ncap = *cap > 0 ? *cap : 16;
    while (ncap < need) {
        ncap *= 2;
    }
    void *n = NULL;
    CS_TRY(cs_alloc(ncap, elem, &n));
    if (*cap > 0) {
        memcpy(n, *arr, *cap * elem);
    }
    cs_free(*arr);
    *arr = n;
    *cap = ncap;
    return CS_SUCCESS;
}

/* A string of at most max bytes. */
static cs_res get_string(struct parser *ps, const json_t *v, size_t max, const char **out)
{
    PENSURE(json_is_string(v), ps, CS_E_FORMAT, "not a string");
    PENSURE(json_string_length(v) <= max, ps, CS_E_TOO_LARGE, "string longer than %zu bytes",
            max);
    *out = json_string_value(v);
    return CS_SUCCESS;
}

static cs_res get_name(struct parser *ps, const json_t *v, const char **out)
{
    CS_TRY(get_string(ps, v, CS_POLICY_NAME_MAX, out));
    PENSURE(pol_is_name(*out), ps, CS_E_FORMAT,
            "not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 bytes)");
    return CS_SUCCESS;
}

/* A non-empty array of at most max elements. */
static cs_res get_list(struct parser *ps, const json_t *v, size_t max)
{
    PENSURE(json_is_array(v), ps, CS_E_FORMAT, "not an array");
    PENSURE(json_array_size(v) > 0, ps, CS_E_FORMAT, "empty list");
    PENSURE(json_array_size(v) <= max, ps, CS_E_TOO_LARGE, "more than %zu elements", max);
    return CS_SUCCESS;
}

static cs_res get_bool(struct parser *ps, const json_t *v, bool *out)
{
    PENSURE(json_is_boolean(v), ps, CS_E_FORMAT, "not a boolean");
    *out = json_is_true(v);
    return CS_SUCCESS;
}

/* An optional description: free text for people, ignored by the engine. */
static cs_res check_description(struct parser *ps, const json_t *obj)
{
    const json_t *v = json_object_get(obj, "description");
    if (v == NULL) {
        return CS_SUCCESS;
    }
    size_t at = push_key(ps, "description");
    const char *s;
    CS_TRY(get_string(ps, v, CS_POLICY_STRING_MAX, &s));
    pop(ps, at);
    return CS_SUCCESS;
}

/* A list of words from one vocabulary, each at most once, as bits. */
static cs_res get_word_bits(struct parser *ps, const json_t *v, unsigned (*bit_of)(const char *),
                            const char *what, unsigned *out)
{
    CS_TRY(get_list(ps, v, CS_POLICY_LIST_MAX));
    *out = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        size_t at = push_index(ps, i);
        const char *s;
        CS_TRY(get_string(ps, e, CS_POLICY_NAME_MAX, &s));
        unsigned b = bit_of(s);
        PENSURE(b != 0, ps, CS_E_FORMAT, "unknown %s \"%.40s\"", what, s);
        PENSURE((*out & b) == 0, ps, CS_E_FORMAT, "\"%.40s\" listed twice", s);
        *out |= b;
        pop(ps, at);
    }
    return CS_SUCCESS;
}

/* ---- conditions ---- */

static cs_res check_claim_path(struct parser *ps, const char *s)
{
    size_t n = strlen(s);
    PENSURE(n > 0, ps, CS_E_FORMAT, "empty claim path"); /* its length: get_string */
    size_t seg = 0;
    size_t n_segs = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            char c = s[i];
            bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
            PENSURE(is_ok, ps, CS_E_FORMAT, "claim path: a character outside [A-Za-z0-9_-.]");
            continue;
        }
        PENSURE(i > seg, ps, CS_E_FORMAT, "claim path: an empty segment");
        if (n_segs == 0) {
            bool is_root = false;
            for (size_t k = 0; k < sizeof input_roots / sizeof input_roots[0]; k++) {
                is_root = is_root ||
                          (strlen(input_roots[k]) == i && strncmp(input_roots[k], s, i) == 0);
            }
            PENSURE(is_root, ps, CS_E_FORMAT,
                    "claim path must start with platform, tcb_status, debug, claims, "
                    "freshness, init_data or development");
        }
        n_segs++;
        seg = i + 1;
    }
    PENSURE(n_segs <= CS_POLICY_DEPTH_MAX, ps, CS_E_TOO_LARGE,
            "claim path of more than %d segments", CS_POLICY_DEPTH_MAX);
    return CS_SUCCESS;
}

/* A literal that equals/in may compare with: string, number or boolean. */
static cs_res check_scalar(struct parser *ps, const json_t *v)
{
    if (json_is_string(v)) {
        const char *s;
        CS_TRY(get_string(ps, v, CS_POLICY_STRING_MAX, &s));
        PENSURE(!pol_is_upper_hex(s, json_string_length(v)), ps, CS_E_FORMAT,
                "upper-case hex: claims carry lower-case hex, write it in lower case");
        return CS_SUCCESS;
    }
    PENSURE(json_is_number(v) || json_is_boolean(v), ps, CS_E_FORMAT,
            "not a string, number or boolean");
    return CS_SUCCESS;
}

static const char *const operators[] = { "equals", "in", "prefix", "gte", "lte", "in_set" };
static const enum pol_op operator_ops[] = { POL_EQUALS, POL_IN,  POL_PREFIX,
                                            POL_GTE,    POL_LTE, POL_IN_SET };

static size_t set_index(const struct cs_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_sets; i++) {
        if (strcmp(p->sets[i].name, name) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static cs_res parse_comparison(struct parser *ps, json_t *c, struct pol_cond *out)
{
    const char *key;
    json_t *v;
    const char *op_key = NULL;
    json_object_foreach(c, key, v)
    {
        if (strcmp(key, "claim") == 0) {
            continue;
        }
        bool is_op = false;
        for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
            if (strcmp(operators[i], key) == 0) {
                is_op = true;
                out->op = operator_ops[i];
            }
        }
        char k[48];
        pol_errf(k, sizeof k, "%.40s", key);
        sanitize(k);
        PENSURE(is_op, ps, CS_E_FORMAT, "unknown operator \"%s\"", k);
        PENSURE(op_key == NULL, ps, CS_E_FORMAT, "two operators (\"%s\" and \"%s\")", op_key, k);
        op_key = key;
    }
    const json_t *claim = json_object_get(c, "claim");
    PENSURE(claim != NULL, ps, CS_E_FORMAT, "a comparison needs \"claim\"");
    PENSURE(op_key != NULL, ps, CS_E_FORMAT, "a comparison needs an operator");

    size_t at = push_key(ps, "claim");
    CS_TRY(get_string(ps, claim, CS_POLICY_PATH_MAX, &out->claim));
    CS_TRY(check_claim_path(ps, out->claim));
    pop(ps, at);

    const json_t *lit = json_object_get(c, op_key);
    at = push_key(ps, op_key);
    out->lit = lit;
    switch (out->op) {
    case POL_EQUALS:
        CS_TRY(check_scalar(ps, lit));
        break;
    case POL_IN: {
        CS_TRY(get_list(ps, lit, CS_POLICY_LIST_MAX));
        size_t i;
        const json_t *e;
        json_array_foreach(lit, i, e)
        {
            size_t at_e = push_index(ps, i);
            CS_TRY(check_scalar(ps, e));
            pop(ps, at_e);
        }
        break;
    }
    case POL_PREFIX: {
        const char *s;
        CS_TRY(get_string(ps, lit, CS_POLICY_STRING_MAX, &s));
        PENSURE(s[0] != '\0', ps, CS_E_FORMAT, "empty prefix (it would match every string)");
        PENSURE(!pol_is_upper_hex(s, strlen(s)), ps, CS_E_FORMAT,
                "upper-case hex: claims carry lower-case hex, write it in lower case");
        break;
    }
    case POL_GTE:
    case POL_LTE:
        PENSURE(json_is_number(lit), ps, CS_E_FORMAT, "not a number");
        break;
    case POL_IN_SET: {
        const char *s;
        CS_TRY(get_name(ps, lit, &s));
        size_t k = set_index(ps->p, s);
        PENSURE(k != SIZE_MAX, ps, CS_E_FORMAT,
                "unknown reference-value set \"%s\" (declare it in reference_values)", s);
        out->set = (uint32_t)k;
        break;
    }
    default:
        PFAIL(ps, CS_E_INTERNAL, "operator");
    }
    pop(ps, at);
    return CS_SUCCESS;
}

static cs_res new_node(struct parser *ps, uint32_t *idx)
{
    struct cs_policy *p = ps->p;
    PENSURE(p->n_nodes < CS_POLICY_NODES_MAX, ps, CS_E_TOO_LARGE,
            "more than %d conditions in the policy", CS_POLICY_NODES_MAX);
    CS_TRY(grow((void **)&p->nodes, &p->cap_nodes, p->n_nodes + 1, sizeof p->nodes[0]));
    size_t off = p->text.len;
    CS_TRY(cs_buf_append(&p->text, ps->path, ps->path_len + 1));
    *idx = (uint32_t)p->n_nodes++;
    p->nodes[*idx] = (struct pol_cond){ .path = (uint32_t)off, .set = POL_NONE,
                                        .kid0 = POL_NONE };
    return CS_SUCCESS;
}

static cs_res parse_cond(struct parser *ps, json_t *c, unsigned depth, uint32_t *idx)
{
    struct cs_policy *p = ps->p;
    PENSURE(json_is_object(c), ps, CS_E_FORMAT, "a condition must be an object");
    PENSURE(depth <= CS_POLICY_DEPTH_MAX, ps, CS_E_TOO_LARGE,
            "conditions nested deeper than %d", CS_POLICY_DEPTH_MAX);
    PENSURE(json_object_size(c) > 0, ps, CS_E_FORMAT, "empty condition");
    CS_TRY(new_node(ps, idx));

    static const char *const composites[] = { "allOf", "anyOf", "not" };
    static const enum pol_op composite_ops[] = { POL_ALL_OF, POL_ANY_OF, POL_NOT };
    for (size_t k = 0; k < 3; k++) {
        json_t *v = json_object_get(c, composites[k]);
        if (v == NULL) {
            continue;
        }
        PENSURE(json_object_size(c) == 1, ps, CS_E_FORMAT,
                "\"%s\" must be the only member of its condition", composites[k]);
        size_t at = push_key(ps, composites[k]);
        size_t n = 1;
        if (composite_ops[k] != POL_NOT) {
            CS_TRY(get_list(ps, v, CS_POLICY_NODES_MAX));
            n = json_array_size(v);
        }
        /* reserve the children's slots first: they are contiguous in kids */
        CS_TRY(grow((void **)&p->kids, &p->cap_kids, p->n_kids + n, sizeof p->kids[0]));
        uint32_t kid0 = (uint32_t)p->n_kids;
        p->n_kids += n;
        for (size_t i = 0; i < n; i++) {
            size_t at_i = ps->path_len;
            if (composite_ops[k] != POL_NOT) {
                push_index(ps, i);
            }
            uint32_t kid;
            CS_TRY(parse_cond(ps, composite_ops[k] == POL_NOT ? v : json_array_get(v, i),
                              depth + 1, &kid));
            p->kids[kid0 + i] = kid;
            pop(ps, at_i);
        }
        pop(ps, at);
        struct pol_cond *node = &p->nodes[*idx]; /* nodes may have moved: index again */
        node->op = composite_ops[k];
        node->kid0 = kid0;
        node->n_kids = (uint32_t)n;
        return CS_SUCCESS;
    }
    struct pol_cond cmp = p->nodes[*idx];
    CS_TRY(parse_comparison(ps, c, &cmp));
    p->nodes[*idx] = cmp;
    return CS_SUCCESS;
}

static bool is_measurement_claim(const char *claim)
{
    for (size_t i = 0; i < sizeof measurement_claims / sizeof measurement_claims[0]; i++) {
        if (strcmp(measurement_claims[i], claim) == 0) {
            return true;
        }
    }
    return strncmp(claim, MEASUREMENT_PREFIX, strlen(MEASUREMENT_PREFIX)) == 0 &&
           claim[strlen(MEASUREMENT_PREFIX)] != '\0';
}

/*
 * Whether every way of satisfying the condition compares a measurement for equality or
 * membership: a measurement comparison itself, an allOf with such a child, or an anyOf
 * whose every alternative is one. A comparison under `not` pins nothing down.
 */
static bool requires_measurement(const struct cs_policy *p, uint32_t idx)
{
    const struct pol_cond *c = &p->nodes[idx];
    switch (c->op) {
    case POL_EQUALS:
    case POL_IN:
    case POL_IN_SET:
        return is_measurement_claim(c->claim);
    case POL_ALL_OF:
        for (uint32_t i = 0; i < c->n_kids; i++) {
            if (requires_measurement(p, p->kids[c->kid0 + i])) {
                return true;
            }
        }
        return false;
    case POL_ANY_OF:
        for (uint32_t i = 0; i < c->n_kids; i++) {
            if (!requires_measurement(p, p->kids[c->kid0 + i])) {
                return false;
            }
        }
        return true;
    case POL_NOT:
    case POL_PREFIX:
    case POL_GTE:
    case POL_LTE:
    default:
        return false;
    }
}

/* ---- the document's parts ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static cs_res parse_sets(struct parser *ps, json_t *v)
{
    struct cs_policy *p = ps->p;
    PENSURE(json_is_object(v), ps, CS_E_FORMAT, "not an object");
    PENSURE(json_object_size(v) <= CS_POLICY_SETS_MAX, ps, CS_E_TOO_LARGE,
            "more than %d sets", CS_POLICY_SETS_MAX);
    CS_TRY(cs_alloc(json_object_size(v), sizeof p->sets[0], (void **)&p->sets));
    const char *key;
    json_t *arr;
    json_object_foreach(v, key, arr)
    {
        size_t at = push_key(ps, key);
        PENSURE(pol_is_name(key), ps, CS_E_FORMAT,
                "set name is not a name ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 63 bytes)");
        /* an empty set is a declaration: the broker's reference values fill it */
        PENSURE(json_is_array(arr), ps, CS_E_FORMAT, "not an array");
        size_t n = json_array_size(arr);
        PENSURE(n <= CS_POLICY_SET_VALUES_MAX, ps, CS_E_TOO_LARGE, "more than %d values",
                CS_POLICY_SET_VALUES_MAX);
        struct pol_set *set = &p->sets[p->n_sets++];
        set->name = key;
        CS_TRY(cs_alloc(n, sizeof set->values[0], (void **)&set->values));
        size_t i;
        const json_t *e;
        json_array_foreach(arr, i, e)
        {
            size_t at_e = push_index(ps, i);
            CS_TRY(get_string(ps, e, CS_POLICY_STRING_MAX, &set->values[i]));
            PENSURE(set->values[i][0] != '\0', ps, CS_E_FORMAT, "empty value");
            PENSURE(!pol_is_upper_hex(set->values[i], json_string_length(e)), ps, CS_E_FORMAT,
                    "upper-case hex: claims carry lower-case hex, write it in lower case");
            pop(ps, at_e);
        }
        set->n_values = n;
        qsort(set->values, n, sizeof set->values[0], cmp_str);
        for (i = 1; i < n; i++) {
            PENSURE(strcmp(set->values[i - 1], set->values[i]) != 0, ps, CS_E_FORMAT,
                    "a value listed twice");
        }
        pop(ps, at);
    }
    return CS_SUCCESS;
}

static cs_res parse_identity(struct parser *ps, json_t *o, struct pol_identity *id)
{
    static const char *const keys[] = { "name", "description", "platforms", "protects",
                                        "tcb_allowed", "allow_debug", "allow_development",
                                        "match", NULL };
    PENSURE(json_is_object(o), ps, CS_E_FORMAT, "not an object");
    CS_TRY(only_keys(ps, o, keys));
    CS_TRY(check_description(ps, o));
    static const char *const required[] = { "name", "platforms", "protects" };
    for (size_t k = 0; k < 3; k++) {
        PENSURE(json_object_get(o, required[k]) != NULL, ps, CS_E_FORMAT, "missing \"%s\"",
                required[k]);
    }
    size_t at = push_key(ps, "name");
    CS_TRY(get_name(ps, json_object_get(o, "name"), &id->name));
    PENSURE(strcmp(id->name, "*") != 0, ps, CS_E_FORMAT, "\"*\" is not a name");
    pop(ps, at);

    at = push_key(ps, "platforms");
    CS_TRY(get_word_bits(ps, json_object_get(o, "platforms"), pol_platform_bit, "platform",
                         &id->platforms));
    pop(ps, at);

    at = push_key(ps, "protects");
    CS_TRY(get_word_bits(ps, json_object_get(o, "protects"), pol_protect_bit, "protection",
                         &id->protects));
    pop(ps, at);

    id->tcb_allowed = pol_tcb_bit("UpToDate");
    json_t *v = json_object_get(o, "tcb_allowed");
    if (v != NULL) {
        at = push_key(ps, "tcb_allowed");
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            size_t at_e = push_index(ps, i);
            PENSURE(!json_is_string(e) || strcmp(json_string_value(e), "Revoked") != 0, ps,
                    CS_E_FORMAT, "a Revoked TCB can never be allowed");
            pop(ps, at_e);
        }
        CS_TRY(get_word_bits(ps, v, pol_tcb_bit, "TCB status", &id->tcb_allowed));
        pop(ps, at);
    }
    v = json_object_get(o, "allow_debug");
    if (v != NULL) {
        at = push_key(ps, "allow_debug");
        CS_TRY(get_bool(ps, v, &id->allow_debug));
        pop(ps, at);
    }
    v = json_object_get(o, "allow_development");
    if (v != NULL) {
        at = push_key(ps, "allow_development");
        CS_TRY(get_bool(ps, v, &id->allow_development));
        pop(ps, at);
    }
    id->match = POL_NONE;
    v = json_object_get(o, "match");
    if (v != NULL) {
        at = push_key(ps, "match");
        CS_TRY(parse_cond(ps, v, 1, &id->match));
        pop(ps, at);
    }
    if ((id->protects & POL_PROTECT_CONFIDENTIALITY) != 0 &&
        (id->platforms & ~(unsigned)POL_PF_CONFIDENTIAL) != 0) {
        unsigned bad = id->platforms & ~(unsigned)POL_PF_CONFIDENTIAL;
        push_key(ps, "platforms");
        PFAIL(ps, CS_E_FORMAT,
              "%s does not protect memory from the host: it cannot protect confidentiality",
              pol_platform_name(bad & (~bad + 1u)));
    }
    if ((id->protects & POL_PROTECT_INTEGRITY) != 0 &&
        (id->match == POL_NONE || !requires_measurement(ps->p, id->match))) {
        push_key(ps, "match");
        PFAIL(ps, CS_E_FORMAT,
              "integrity needs a measurement condition (equals, in or in_set on a measurement "
              "claim, not under not or a partial anyOf)");
    }
    return CS_SUCCESS;
}

static size_t identity_index(const struct cs_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_ids; i++) {
        if (strcmp(p->ids[i].name, name) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static cs_res parse_rule_identities(struct parser *ps, const json_t *v, struct pol_rule *r)
{
    CS_TRY(get_list(ps, v, CS_POLICY_IDENTITIES_MAX));
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        size_t at = push_index(ps, i);
        const char *s;
        CS_TRY(get_string(ps, e, CS_POLICY_NAME_MAX, &s));
        if (strcmp(s, "*") == 0) {
            PENSURE(json_array_size(v) == 1, ps, CS_E_FORMAT,
                    "\"*\" stands for every identity: list it alone");
            r->is_any_identity = true;
        } else {
            size_t k = identity_index(ps->p, s);
            PENSURE(k != SIZE_MAX, ps, CS_E_FORMAT, "unknown identity \"%.64s\"", s);
            uint64_t bit = (uint64_t)1 << (k % 64);
            PENSURE((r->ids[k / 64] & bit) == 0, ps, CS_E_FORMAT, "\"%s\" listed twice", s);
            r->ids[k / 64] |= bit;
        }
        pop(ps, at);
    }
    return CS_SUCCESS;
}

static cs_res parse_rule_actions(struct parser *ps, const json_t *v, struct pol_rule *r)
{
    CS_TRY(get_list(ps, v, CS_POLICY_LIST_MAX));
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        size_t at = push_index(ps, i);
        const char *s;
        CS_TRY(get_string(ps, e, CS_POLICY_NAME_MAX, &s));
        unsigned b = strcmp(s, "*") == 0 ? POL_ACT_ALL : pol_action_bit(s);
        PENSURE(b != 0, ps, CS_E_FORMAT,
                "unknown action \"%.40s\" (resource:read, state:read, state:write, "
                "token:issue or *)", s);
        PENSURE(b != POL_ACT_ALL || json_array_size(v) == 1, ps, CS_E_FORMAT,
                "\"*\" stands for every action: list it alone");
        PENSURE((r->actions & b) == 0, ps, CS_E_FORMAT, "\"%s\" listed twice", s);
        r->actions |= b;
        pop(ps, at);
    }
    return CS_SUCCESS;
}

static cs_res parse_rule(struct parser *ps, json_t *o, struct pol_rule *r)
{
    static const char *const keys[] = { "id",        "description", "effect", "identities",
                                        "actions",   "resources",   "when",   NULL };
    PENSURE(json_is_object(o), ps, CS_E_FORMAT, "not an object");
    CS_TRY(only_keys(ps, o, keys));
    CS_TRY(check_description(ps, o));
    static const char *const required[] = { "id", "effect", "identities", "actions",
                                            "resources" };
    for (size_t k = 0; k < 5; k++) {
        PENSURE(json_object_get(o, required[k]) != NULL, ps, CS_E_FORMAT, "missing \"%s\"",
                required[k]);
    }
    size_t at = push_key(ps, "id");
    CS_TRY(get_name(ps, json_object_get(o, "id"), &r->id));
    pop(ps, at);

    at = push_key(ps, "effect");
    const char *effect;
    CS_TRY(get_string(ps, json_object_get(o, "effect"), CS_POLICY_NAME_MAX, &effect));
    PENSURE(strcmp(effect, "allow") == 0 || strcmp(effect, "deny") == 0, ps, CS_E_FORMAT,
            "effect must be \"allow\" or \"deny\"");
    r->is_deny = strcmp(effect, "deny") == 0;
    pop(ps, at);

    at = push_key(ps, "identities");
    CS_TRY(parse_rule_identities(ps, json_object_get(o, "identities"), r));
    pop(ps, at);

    at = push_key(ps, "actions");
    CS_TRY(parse_rule_actions(ps, json_object_get(o, "actions"), r));
    pop(ps, at);

    at = push_key(ps, "resources");
    const json_t *res = json_object_get(o, "resources");
    CS_TRY(get_list(ps, res, CS_POLICY_LIST_MAX));
    size_t i;
    const json_t *e;
    json_array_foreach(res, i, e)
    {
        size_t at_e = push_index(ps, i);
        const char *s;
        const char *why = "";
        CS_TRY(get_string(ps, e, CS_POLICY_RESOURCE_MAX, &s));
        PENSURE(pol_is_resource(s, true, &why), ps, CS_E_FORMAT, "resource pattern: %s", why);
        pop(ps, at_e);
    }
    r->resources = res;
    pop(ps, at);

    r->when = POL_NONE;
    json_t *when = json_object_get(o, "when");
    if (when != NULL) {
        at = push_key(ps, "when");
        CS_TRY(parse_cond(ps, when, 1, &r->when));
        pop(ps, at);
    }
    return CS_SUCCESS;
}

static cs_res parse_doc(struct parser *ps, json_t *doc)
{
    struct cs_policy *p = ps->p;
    static const char *const keys[] = { "version", "id", "description", "reference_values",
                                        "identities", "rules", NULL };
    PENSURE(json_is_object(doc), ps, CS_E_FORMAT, "not a JSON object");
    CS_TRY(only_keys(ps, doc, keys));

    json_t *v = json_object_get(doc, "version");
    PENSURE(v != NULL, ps, CS_E_FORMAT, "missing \"version\"");
    size_t at = push_key(ps, "version");
    PENSURE(json_is_integer(v), ps, CS_E_FORMAT, "not an integer");
    PENSURE(json_integer_value(v) == 1, ps, CS_E_UNSUPPORTED, "only version 1 is supported");
    pop(ps, at);

    v = json_object_get(doc, "id");
    PENSURE(v != NULL, ps, CS_E_FORMAT, "missing \"id\"");
    at = push_key(ps, "id");
    CS_TRY(get_name(ps, v, &p->id));
    pop(ps, at);
    CS_TRY(check_description(ps, doc));

    v = json_object_get(doc, "reference_values");
    if (v != NULL) {
        at = push_key(ps, "reference_values");
        CS_TRY(parse_sets(ps, v));
        pop(ps, at);
    }

    v = json_object_get(doc, "identities");
    if (v != NULL) {
        at = push_key(ps, "identities");
        PENSURE(json_is_array(v), ps, CS_E_FORMAT, "not an array");
        size_t n = json_array_size(v);
        PENSURE(n <= CS_POLICY_IDENTITIES_MAX, ps, CS_E_TOO_LARGE, "more than %d identities",
                CS_POLICY_IDENTITIES_MAX);
        CS_TRY(cs_alloc(n, sizeof p->ids[0], (void **)&p->ids));
        for (size_t i = 0; i < n; i++) {
            size_t at_i = push_index(ps, i);
            CS_TRY(parse_identity(ps, json_array_get(v, i), &p->ids[i]));
            PENSURE(identity_index(p, p->ids[i].name) == SIZE_MAX, ps, CS_E_FORMAT,
                    "identity \"%s\" defined twice", p->ids[i].name);
            p->n_ids = i + 1;
            pop(ps, at_i);
        }
        pop(ps, at);
    }

    v = json_object_get(doc, "rules");
    if (v != NULL) {
        at = push_key(ps, "rules");
        PENSURE(json_is_array(v), ps, CS_E_FORMAT, "not an array");
        size_t n = json_array_size(v);
        PENSURE(n <= CS_POLICY_RULES_MAX, ps, CS_E_TOO_LARGE, "more than %d rules",
                CS_POLICY_RULES_MAX);
        CS_TRY(cs_alloc(n, sizeof p->rules[0], (void **)&p->rules));
        for (size_t i = 0; i < n; i++) {
            size_t at_i = push_index(ps, i);
            CS_TRY(parse_rule(ps, json_array_get(v, i), &p->rules[i]));
            for (size_t k = 0; k < i; k++) {
                PENSURE(strcmp(p->rules[k].id, p->rules[i].id) != 0, ps, CS_E_FORMAT,
                        "rule id \"%s\" used twice", p->rules[i].id);
            }
            p->n_rules = i + 1;
            pop(ps, at_i);
        }
        pop(ps, at);
    }
    return CS_SUCCESS;
}

static void policy_freep(struct cs_policy **p)
{
    cs_policy_free(*p);
    *p = NULL;
}

CS_RESULT cs_policy_parse(const char *json, size_t len, struct cs_policy **out, char *err,
                          size_t errlen)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    struct parser ps = { .err = err, .errlen = errlen };
    CS_ENSURE(json != NULL || len == 0, CS_E_ARG);
    PENSURE(len > 0, &ps, CS_E_TRUNCATED, "empty document");
    PENSURE(len <= CS_POLICY_DOC_MAX, &ps, CS_E_TOO_LARGE, "larger than %u bytes",
            CS_POLICY_DOC_MAX);

    CS_AUTO(policy_freep) struct cs_policy *p = NULL;
    CS_TRY(cs_alloc(1, sizeof *p, (void **)&p));
    cs_buf_init(&p->text, TEXT_MAX);
    ps.p = p;

    json_error_t jerr;
    p->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    PENSURE(p->doc != NULL, &ps, CS_E_FORMAT, "line %d, column %d: %s", jerr.line,
            jerr.column, jerr.text);
    CS_TRY(parse_doc(&ps, p->doc));
    *out = CS_MOVE(p);
    return CS_SUCCESS;
}

void cs_policy_free(struct cs_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_sets; i++) {
        cs_free(p->sets[i].values);
    }
    cs_free(p->sets);
    cs_free(p->ids);
    cs_free(p->rules);
    cs_free(p->nodes);
    cs_free(p->kids);
    cs_buf_clear(&p->text);
    json_decref(p->doc);
    cs_free(p);
}

const char *cs_policy_id(const struct cs_policy *p)
{
    return p != NULL && p->id != NULL ? p->id : "";
}

size_t cs_policy_n_identities(const struct cs_policy *p)
{
    return p != NULL ? p->n_ids : 0;
}

size_t cs_policy_n_rules(const struct cs_policy *p)
{
    return p != NULL ? p->n_rules : 0;
}
