/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evaluating a parsed policy against one evaluation input: admission (which identities
 * admit the instance), the decision for one (action, resource), and the full trace.
 *
 * Conditions use three-valued (Kleene) logic: a comparison whose claim path is missing
 * (or null), or whose claim cannot be ordered against the literal, is UNKNOWN; `not`
 * keeps UNKNOWN; allOf is FALSE if any part is FALSE, else UNKNOWN if any is, else TRUE;
 * anyOf is TRUE if any part is TRUE, else UNKNOWN if any is, else FALSE; only TRUE
 * satisfies. A TRUE result holds whatever the missing claims would have said, so absent
 * evidence can never satisfy a condition, not even through `not` (docs/policy.md).
 *
 * Everything here only reads the policy, the input and the reference values; the one
 * allocation per call is the caller's result (names, trace).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "policy/policy_internal.h"

enum tri {
    T_FALSE,
    T_TRUE,
    T_UNKNOWN,
};

struct eval {
    const struct cs_policy *p;
    const json_t *input;
    const json_t *refvals; /* checked, or NULL */
    bool is_trace;         /* build trace objects, evaluate everything */
    bool is_nomem;         /* a trace object could not be built */
};

static const char *tri_name(enum tri t)
{
    switch (t) {
    case T_TRUE:
        return "true";
    case T_FALSE:
        return "false";
    case T_UNKNOWN:
    default:
        return "unknown";
    }
}

static const char *op_name(enum pol_op op)
{
    switch (op) {
    case POL_ALL_OF:
        return "allOf";
    case POL_ANY_OF:
        return "anyOf";
    case POL_NOT:
        return "not";
    case POL_EQUALS:
        return "equals";
    case POL_IN:
        return "in";
    case POL_PREFIX:
        return "prefix";
    case POL_GTE:
        return "gte";
    case POL_LTE:
        return "lte";
    case POL_IN_SET:
        return "in_set";
    default:
        return "?";
    }
}

const char *cs_policy_reason_name(enum cs_policy_reason r)
{
    switch (r) {
    case CS_POLICY_ALLOWED:
        return "allowed";
    case CS_POLICY_NOT_ADMITTED:
        return "not_admitted";
    case CS_POLICY_NO_RULE:
        return "no_rule";
    case CS_POLICY_DENIED_BY_RULE:
        return "denied_by_rule";
    default:
        return "unknown";
    }
}

/* ---- the input ---- */

/*
 * The value at a dotted path (object members; all-digit segments also index arrays), or
 * NULL when any step is missing or the value is JSON null.
 */
static const json_t *lookup(const json_t *input, const char *path)
{
    const json_t *cur = input;
    const char *s = path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, s, n);
        } else if (json_is_array(cur) && n > 0 && n <= 6 && (s[0] != '0' || n == 1)) {
            size_t idx = 0;
            for (size_t i = 0; i < n && cur != NULL; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    cur = NULL;
                } else {
                    idx = idx * 10 + (size_t)(s[i] - '0');
                }
            }
            cur = cur != NULL ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
        if (cur == NULL || dot == NULL) {
            break;
        }
        s = dot + 1;
    }
    return json_is_null(cur) ? NULL : cur;
}

/* Iterating a borrowed object: jansson has no const iterator, and iterating writes nothing. */
static json_t *unconst(const json_t *j)
{
    return (json_t *)(uintptr_t)j;
}

static bool str_is(const json_t *s, const char *lit, size_t lit_len)
{
    return json_is_string(s) && json_string_length(s) == lit_len &&
           memcmp(json_string_value(s), lit, lit_len) == 0;
}

/* Numbers compare by value; integers exactly. Returns <0, 0, >0. */
static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a);
        json_int_t y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a);
    double y = json_number_value(b);
    return (x > y) - (x < y);
}

/* equals: same type and value; a string, number and boolean are never equal. */
static bool scalar_equals(const json_t *lit, const json_t *v)
{
    if (json_is_string(lit)) {
        return json_is_string(v) && str_is(v, json_string_value(lit), json_string_length(lit));
    }
    if (json_is_number(lit)) {
        return json_is_number(v) && num_cmp(v, lit) == 0;
    }
    if (json_is_boolean(lit)) {
        return json_is_boolean(v) && json_is_true(lit) == json_is_true(v);
    }
    return false;
}

static int cmp_key(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static bool in_set(const struct eval *ev, const struct pol_set *set, const json_t *v)
{
    if (!json_is_string(v)) {
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) == len &&
        bsearch(s, set->values, set->n_values, sizeof set->values[0], cmp_key) != NULL) {
        return true;
    }
    const json_t *ext = json_object_get(ev->refvals, set->name);
    size_t n = json_array_size(ext); /* 0 when absent */
    for (size_t i = 0; i < n; i++) {
        if (str_is(json_array_get(ext, i), s, len)) {
            return true;
        }
    }
    return false;
}

/* ---- conditions ---- */

static const char *node_path(const struct cs_policy *p, const struct pol_cond *c)
{
    return (const char *)p->text.p + c->path;
}

/* A comparison's outcome and, when not TRUE, a short reason (no claim values). */
static enum tri compare(const struct eval *ev, const struct pol_cond *c, const json_t *v,
                        const char **note)
{
    *note = "";
    if (v == NULL) {
        *note = "missing";
        return T_UNKNOWN;
    }
    switch (c->op) {
    case POL_EQUALS:
        *note = "not equal";
        return scalar_equals(c->lit, v) ? T_TRUE : T_FALSE;
    case POL_IN: {
        size_t i;
        const json_t *e;
        json_array_foreach(c->lit, i, e)
        {
            if (scalar_equals(e, v)) {
                return T_TRUE;
            }
        }
        *note = "not in the list";
        return T_FALSE;
    }
    case POL_PREFIX: {
        if (!json_is_string(v)) {
            *note = "not a string";
            return T_UNKNOWN;
        }
        size_t n = json_string_length(c->lit);
        bool is_ok = json_string_length(v) >= n &&
                     memcmp(json_string_value(v), json_string_value(c->lit), n) == 0;
        *note = "does not start with the prefix";
        return is_ok ? T_TRUE : T_FALSE;
    }
    case POL_GTE:
    case POL_LTE: {
        if (!json_is_number(v)) {
            *note = "not a number";
            return T_UNKNOWN;
        }
        int r = num_cmp(v, c->lit);
        *note = c->op == POL_GTE ? "less than the bound" : "greater than the bound";
        return (c->op == POL_GTE ? r >= 0 : r <= 0) ? T_TRUE : T_FALSE;
    }
    case POL_IN_SET:
        *note = "not in the set";
        return in_set(ev, &ev->p->sets[c->set], v) ? T_TRUE : T_FALSE;
    default:
        *note = "internal";
        return T_UNKNOWN;
    }
}

static json_t *trace_node(struct eval *ev, const struct pol_cond *c, enum tri t)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "path", node_path(ev->p, c), "op", op_name(c->op),
                          "result", tri_name(t));
    ev->is_nomem = ev->is_nomem || o == NULL;
    return o;
}

static void trace_set(struct eval *ev, json_t *o, const char *key, json_t *v)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        json_decref(o == NULL ? v : NULL);
        ev->is_nomem = true;
    }
}

static void trace_append(struct eval *ev, json_t *arr, json_t *v)
{
    if (arr == NULL || v == NULL || json_array_append_new(arr, v) != 0) {
        json_decref(arr == NULL ? v : NULL);
        ev->is_nomem = true;
    }
}

/*
 * Evaluates condition idx. With ev->is_trace, every part is evaluated and *trace (when
 * not NULL) receives a new trace object; otherwise allOf/anyOf stop early.
 */
static enum tri eval_cond(struct eval *ev, uint32_t idx, json_t **trace)
{
    const struct cs_policy *p = ev->p;
    const struct pol_cond *c = &p->nodes[idx];
    if (c->op == POL_ALL_OF || c->op == POL_ANY_OF || c->op == POL_NOT) {
        json_t *kids = ev->is_trace ? json_array() : NULL;
        ev->is_nomem = ev->is_nomem || (ev->is_trace && kids == NULL);
        bool has_false = false;
        bool has_true = false;
        bool has_unknown = false;
        for (uint32_t i = 0; i < c->n_kids; i++) {
            json_t *kt = NULL;
            enum tri t = eval_cond(ev, p->kids[c->kid0 + i], ev->is_trace ? &kt : NULL);
            if (ev->is_trace) {
                trace_append(ev, kids, kt);
            }
            has_false = has_false || t == T_FALSE;
            has_true = has_true || t == T_TRUE;
            has_unknown = has_unknown || t == T_UNKNOWN;
            if (!ev->is_trace && ((c->op == POL_ALL_OF && has_false) ||
                                  (c->op == POL_ANY_OF && has_true))) {
                break;
            }
        }
        enum tri r;
        if (c->op == POL_NOT) {
            r = has_unknown ? T_UNKNOWN : (has_true ? T_FALSE : T_TRUE);
        } else if (c->op == POL_ALL_OF) {
            r = has_false ? T_FALSE : (has_unknown ? T_UNKNOWN : T_TRUE);
        } else {
            r = has_true ? T_TRUE : (has_unknown ? T_UNKNOWN : T_FALSE);
        }
        if (trace != NULL) {
            *trace = trace_node(ev, c, r);
            trace_set(ev, *trace, "conditions", kids);
        } else {
            json_decref(kids);
        }
        return r;
    }
    const json_t *v = lookup(ev->input, c->claim);
    const char *note;
    enum tri r = compare(ev, c, v, &note);
    if (trace != NULL) {
        *trace = trace_node(ev, c, r);
        trace_set(ev, *trace, "claim", json_string(c->claim));
        trace_set(ev, *trace, "value",
                  c->op == POL_IN_SET ? json_string(p->sets[c->set].name)
                                      : json_deep_copy(c->lit));
        trace_set(ev, *trace, "actual", v != NULL ? json_deep_copy(v) : json_null());
        if (r != T_TRUE) {
            trace_set(ev, *trace, "note", json_string(note));
        }
    }
    return r;
}

/*
 * Appends to why the reason condition idx, whose outcome r is not TRUE, fails: the deepest
 * responsible part, as "<json path>: <claim path> <what>". Never a claim value.
 */
static void explain_failure(struct eval *ev, uint32_t idx, enum tri r, char *why, size_t cap)
{
    const struct cs_policy *p = ev->p;
    const struct pol_cond *c = &p->nodes[idx];
    bool was_trace = ev->is_trace;
    ev->is_trace = false;
    switch (c->op) {
    case POL_ALL_OF:
        for (uint32_t i = 0; i < c->n_kids; i++) {
            uint32_t k = p->kids[c->kid0 + i];
            if (eval_cond(ev, k, NULL) == r) { /* the first part that decides the outcome */
                explain_failure(ev, k, r, why, cap);
                break;
            }
        }
        break;
    case POL_ANY_OF:
        pol_catf(why, cap, "%s: none of %u alternatives holds", node_path(p, c), c->n_kids);
        break;
    case POL_NOT: {
        uint32_t k = p->kids[c->kid0];
        if (r == T_UNKNOWN) {
            explain_failure(ev, k, T_UNKNOWN, why, cap);
        } else {
            pol_catf(why, cap, "%s: the negated condition holds", node_path(p, c));
        }
        break;
    }
    default: {
        const char *note;
        (void)compare(ev, c, lookup(ev->input, c->claim), &note);
        pol_catf(why, cap, "%s: %s %s", node_path(p, c), c->claim, note);
        break;
    }
    }
    ev->is_trace = was_trace;
}

/* ---- admission ---- */

static bool input_bool(const json_t *input, const char *path, bool *out)
{
    const json_t *v = lookup(input, path);
    if (!json_is_boolean(v)) {
        return false;
    }
    *out = json_is_true(v);
    return true;
}

struct check {
    const char *name;
    bool is_ok;
    const char *subject; /* a platform or TCB status name to put first, or NULL */
    const char *text;    /* static */
};

static void check_text(const struct check *c, char *buf, size_t cap)
{
    pol_errf(buf, cap, "%s%s%s", c->subject != NULL ? c->subject : "",
             c->subject != NULL ? " " : "", c->text);
}

/*
 * The required checks of an identity, in order (at most 6): platform, development, debug,
 * TCB status, and freshness and confidentiality when protected. Without is_all, stops at
 * the first failure. Returns how many were filled; nothing is formatted here.
 */
static size_t identity_checks(const struct eval *ev, const struct pol_identity *id,
                              struct check *out, bool is_all)
{
    size_t n = 0;
    const json_t *pf = lookup(ev->input, "platform");
    unsigned bit = json_is_string(pf) ? pol_platform_bit(json_string_value(pf)) : 0;
    struct check *c = &out[n++];
    *c = (struct check){ .name = "platform", .is_ok = (id->platforms & bit) != 0 };
    c->subject = bit != 0 ? pol_platform_name(bit) : NULL;
    c->text = bit == 0 ? "the input names no known platform"
              : c->is_ok ? "is listed"
                         : "is not listed in platforms";
    if (!c->is_ok && !is_all) {
        return n;
    }

    bool flag = true;
    c = &out[n++];
    *c = (struct check){ .name = "development" };
    c->is_ok = id->allow_development || (input_bool(ev->input, "development", &flag) && !flag);
    c->text = id->allow_development ? "allowed (allow_development)"
              : c->is_ok            ? "production trust root"
              : flag                ? "verified against a development trust root"
                                    : "the input has no development flag";
    if (!c->is_ok && !is_all) {
        return n;
    }

    flag = true;
    c = &out[n++];
    *c = (struct check){ .name = "debug" };
    c->is_ok = id->allow_debug || (input_bool(ev->input, "debug", &flag) && !flag);
    c->text = id->allow_debug ? "allowed (allow_debug)"
              : c->is_ok      ? "not a debug instance"
              : flag          ? "a debug instance (allow_debug is false)"
                              : "the input has no debug flag";
    if (!c->is_ok && !is_all) {
        return n;
    }

    const json_t *tcb = lookup(ev->input, "tcb_status");
    c = &out[n++];
    *c = (struct check){ .name = "tcb_status" };
    if (tcb == NULL) {
        c->is_ok = (bit & POL_PF_HAS_TCB_STATUS) == 0 && bit != 0;
        c->text = c->is_ok ? "not reported by this platform"
                           : "the platform reports a TCB status but the input has none";
    } else {
        unsigned t = json_is_string(tcb) ? pol_tcb_bit(json_string_value(tcb)) : 0;
        c->is_ok = (id->tcb_allowed & t) != 0;
        if (t == 0) {
            bool is_revoked = json_is_string(tcb) && strcmp(json_string_value(tcb), "Revoked") == 0;
            c->text = is_revoked ? "a Revoked TCB is never allowed" : "an unknown TCB status";
        } else {
            c->subject = json_string_value(tcb); /* one of the known statuses */
            c->text = c->is_ok ? "is allowed" : "is not in tcb_allowed";
        }
    }
    if (!c->is_ok && !is_all) {
        return n;
    }

    if ((id->protects & POL_PROTECT_FRESHNESS) != 0) {
        c = &out[n++];
        *c = (struct check){ .name = "freshness" };
        c->is_ok = input_bool(ev->input, "freshness.nonce", &flag) && flag;
        c->text = c->is_ok ? "the evidence bound the broker's nonce"
                           : "the evidence did not bind the broker's nonce";
        if (!c->is_ok && !is_all) {
            return n;
        }
    }
    if ((id->protects & POL_PROTECT_CONFIDENTIALITY) != 0) {
        c = &out[n++];
        *c = (struct check){ .name = "confidentiality" };
        c->is_ok = (bit & POL_PF_CONFIDENTIAL) != 0;
        c->text = c->is_ok ? "memory protected from the host; release JWE-wrapped only"
                           : "the platform does not protect memory from the host";
    }
    return n;
}

/*
 * Whether identity i admits the input. why (may be NULL) receives the first failure;
 * trace (may be NULL) a new object with every check and the match.
 */
static bool admit_one(struct eval *ev, size_t i, char *why, size_t cap, json_t **trace)
{
    const struct pol_identity *id = &ev->p->ids[i];
    struct check checks[8];
    size_t n = identity_checks(ev, id, checks, trace != NULL);
    bool is_ok = true;
    json_t *arr = trace != NULL ? json_array() : NULL;
    for (size_t k = 0; k < n; k++) {
        if (trace != NULL || (!checks[k].is_ok && is_ok && why != NULL)) {
            char detail[160];
            check_text(&checks[k], detail, sizeof detail);
            if (trace != NULL) {
                trace_append(ev, arr,
                             json_pack("{s:s, s:b, s:s}", "check", checks[k].name, "ok",
                                       checks[k].is_ok, "detail", detail));
            }
            if (!checks[k].is_ok && is_ok && why != NULL) {
                pol_catf(why, cap, "%s: %s", id->name, detail);
            }
        }
        is_ok = is_ok && checks[k].is_ok;
    }
    json_t *mt = NULL;
    if (id->match != POL_NONE && (is_ok || trace != NULL)) {
        enum tri t = eval_cond(ev, id->match, trace != NULL ? &mt : NULL);
        if (t != T_TRUE && is_ok && why != NULL) {
            pol_catf(why, cap, "%s: ", id->name);
            explain_failure(ev, id->match, t, why, cap);
        }
        is_ok = is_ok && t == T_TRUE;
    }
    if (trace != NULL) {
        *trace = json_pack("{s:s, s:b, s:o, s:o}", "name", id->name, "admitted", is_ok, "checks",
                           arr != NULL ? arr : json_null(), "match",
                           mt != NULL ? mt : json_null());
        ev->is_nomem = ev->is_nomem || *trace == NULL || arr == NULL;
    }
    return is_ok;
}

/* ---- rules and decisions ---- */

struct admitted {
    uint64_t bits[POL_ID_WORDS];
    size_t n;
};

static bool is_admitted(const struct admitted *a, size_t i)
{
    return (a->bits[i / 64] >> (i % 64) & 1u) != 0;
}

/* The first admitted identity the rule names, or SIZE_MAX. */
static size_t rule_identity(const struct cs_policy *p, const struct pol_rule *r,
                            const struct admitted *a)
{
    for (size_t i = 0; i < p->n_ids; i++) {
        if (is_admitted(a, i) && (r->is_any_identity || (r->ids[i / 64] >> (i % 64) & 1u) != 0)) {
            return i;
        }
    }
    return SIZE_MAX;
}

static bool rule_resource(const struct pol_rule *r, const char *resource)
{
    size_t i;
    const json_t *e;
    json_array_foreach(r->resources, i, e)
    {
        if (pol_resource_matches(json_string_value(e), resource)) {
            return true;
        }
    }
    return false;
}

static bool rule_wants_jwe(const struct cs_policy *p, const struct pol_rule *r,
                           const struct admitted *a)
{
    for (size_t i = 0; i < p->n_ids; i++) {
        bool is_named = r->is_any_identity || (r->ids[i / 64] >> (i % 64) & 1u) != 0;
        if (is_admitted(a, i) && is_named &&
            (p->ids[i].protects & POL_PROTECT_CONFIDENTIALITY) != 0) {
            return true;
        }
    }
    return false;
}

static void set_name(char dst[64], const char *src)
{
    pol_errf(dst, 64, "%s", src != NULL ? src : "");
}

static void deny_init(struct cs_policy_decision *d)
{
    *d = (struct cs_policy_decision){ .allow = false, .reason = CS_POLICY_NOT_ADMITTED };
}

/* Admission of every identity: bits, decision and (with traces) one object each. */
static void admit_all(struct eval *ev, struct admitted *a, struct cs_policy_decision *d,
                      json_t *trace_ids)
{
    const struct cs_policy *p = ev->p;
    char why[sizeof d->why] = "";
    *a = (struct admitted){ 0 };
    for (size_t i = 0; i < p->n_ids; i++) {
        json_t *t = NULL;
        size_t before = strlen(why);
        if (before > 0 && before + 3 < sizeof why) {
            pol_catf(why, sizeof why, "; ");
        }
        if (admit_one(ev, i, why, sizeof why, trace_ids != NULL ? &t : NULL)) {
            a->bits[i / 64] |= (uint64_t)1 << (i % 64);
            a->n++;
            why[before] = '\0'; /* keep only the reasons of identities that refused */
            if (a->n == 1) {
                set_name(d->identity, p->ids[i].name);
            }
            d->is_jwe_required = d->is_jwe_required ||
                                 (p->ids[i].protects & POL_PROTECT_CONFIDENTIALITY) != 0;
        }
        if (trace_ids != NULL) {
            trace_append(ev, trace_ids, t);
        }
    }
    d->allow = a->n > 0;
    d->reason = a->n > 0 ? CS_POLICY_ALLOWED : CS_POLICY_NOT_ADMITTED;
    if (p->n_ids == 0) {
        pol_errf(d->why, sizeof d->why, "the policy has no identities");
    } else if (a->n == 0) {
        pol_errf(d->why, sizeof d->why, "no identity admits the instance: ");
        pol_catf(d->why, sizeof d->why, "%s", why);
    } else {
        pol_errf(d->why, sizeof d->why, "admitted as");
        for (size_t i = 0; i < p->n_ids; i++) {
            if (is_admitted(a, i)) {
                pol_catf(d->why, sizeof d->why, " %s", p->ids[i].name);
            }
        }
    }
}

/* Rules against (action, resource), after admission; fills d. */
static void decide_rules(struct eval *ev, const struct admitted *a, unsigned action,
                         const char *action_name, const char *resource,
                         struct cs_policy_decision *d, json_t *trace_rules)
{
    const struct cs_policy *p = ev->p;
    char hint[sizeof d->why] = "";
    bool is_decided = false;
    struct cs_policy_decision admission = *d; /* what admit_all said */
    /* two passes: every deny rule before any allow rule (explicit deny wins) */
    for (int pass = 0; pass < 2; pass++) {
        bool want_deny = pass == 0;
        for (size_t i = 0; i < p->n_rules; i++) {
            const struct pol_rule *r = &p->rules[i];
            if (r->is_deny != want_deny) {
                continue;
            }
            size_t who = rule_identity(p, r, a);
            bool is_action = (r->actions & action) != 0;
            bool is_resource = rule_resource(r, resource);
            bool is_candidate = who != SIZE_MAX && is_action && is_resource;
            enum tri when = T_TRUE;
            json_t *wt = NULL;
            if (r->when != POL_NONE && (is_candidate || trace_rules != NULL)) {
                when = eval_cond(ev, r->when, trace_rules != NULL ? &wt : NULL);
            }
            bool applies = is_candidate && when == T_TRUE;
            if (trace_rules != NULL) {
                char path[32];
                pol_errf(path, sizeof path, "rules[%zu]", i);
                json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:b, s:o, s:b}", "id", r->id,
                                      "path", path, "effect", r->is_deny ? "deny" : "allow",
                                      "identity",
                                      who != SIZE_MAX ? p->ids[who].name : NULL, "action",
                                      is_action, "resource", is_resource, "when",
                                      wt != NULL ? wt : json_null(), "applies", applies);
                trace_append(ev, trace_rules, o);
            }
            if (is_candidate && !applies && !r->is_deny && hint[0] == '\0' && a->n > 0) {
                pol_errf(hint, sizeof hint, "; rule %s: ", r->id);
                explain_failure(ev, r->when, when, hint, sizeof hint);
            }
            if (!applies || is_decided || a->n == 0) {
                continue;
            }
            is_decided = true;
            d->allow = !r->is_deny;
            d->reason = r->is_deny ? CS_POLICY_DENIED_BY_RULE : CS_POLICY_ALLOWED;
            set_name(d->rule, r->id);
            set_name(d->identity, p->ids[who].name);
            d->is_jwe_required = !r->is_deny && rule_wants_jwe(p, r, a);
            pol_errf(d->why, sizeof d->why, "rule %s %s %s on %s for identity %s", r->id,
                     r->is_deny ? "denies" : "allows", action_name, resource, p->ids[who].name);
        }
    }
    if (a->n == 0) {
        *d = admission;
        return;
    }
    if (!is_decided) {
        d->allow = false;
        d->reason = CS_POLICY_NO_RULE;
        d->is_jwe_required = false;
        d->rule[0] = '\0';
        pol_errf(d->why, sizeof d->why, "no rule allows %s on %s for the admitted identities (",
                 action_name, resource);
        const char *sep = "";
        for (size_t i = 0; i < p->n_ids; i++) {
            if (is_admitted(a, i)) {
                pol_catf(d->why, sizeof d->why, "%s%s", sep, p->ids[i].name);
                sep = ", ";
            }
        }
        pol_catf(d->why, sizeof d->why, ")%s", hint);
    }
}

/* One set of external reference values: an array of non-empty, bounded strings. */
static cs_res check_refval_set(const char *name, const json_t *arr, char *err, size_t errlen)
{
    if (!pol_is_name(name) || !json_is_array(arr)) {
        pol_errf(err, errlen, "refvals: a set that is not a name with an array of strings");
        CS_FAIL(CS_E_FORMAT);
    }
    if (json_array_size(arr) > CS_POLICY_REFVAL_VALUES_MAX) {
        pol_errf(err, errlen, "refvals.%s: more than %d values", name,
                 CS_POLICY_REFVAL_VALUES_MAX);
        CS_FAIL(CS_E_TOO_LARGE);
    }
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_string(e) || json_string_length(e) == 0 ||
            json_string_length(e) > CS_POLICY_STRING_MAX) {
            pol_errf(err, errlen, "refvals.%s[%zu]: not a string of 1 to %d bytes", name, i,
                     CS_POLICY_STRING_MAX);
            CS_FAIL(CS_E_FORMAT);
        }
        if (pol_is_upper_hex(json_string_value(e), json_string_length(e))) {
            pol_errf(err, errlen, "refvals.%s[%zu]: upper-case hex", name, i);
            CS_FAIL(CS_E_FORMAT);
        }
    }
    return CS_SUCCESS;
}

CS_RESULT cs_policy_refvals_check(const json_t *refvals, char *err, size_t errlen)
{
    pol_errf(err, errlen, "%s", "");
    if (refvals == NULL) {
        return CS_SUCCESS;
    }
    if (!json_is_object(refvals)) {
        pol_errf(err, errlen, "refvals: not an object");
        CS_FAIL(CS_E_FORMAT);
    }
    if (json_object_size(refvals) > CS_POLICY_REFVAL_SETS_MAX) {
        pol_errf(err, errlen, "refvals: more than %d sets", CS_POLICY_REFVAL_SETS_MAX);
        CS_FAIL(CS_E_TOO_LARGE);
    }
    const char *key;
    json_t *arr;
    json_object_foreach(unconst(refvals), key, arr)
    {
        CS_TRY(check_refval_set(key, arr, err, errlen));
    }
    return CS_SUCCESS;
}

/*
 * Before an evaluation: refvals is an object, and each set this policy declares is, where
 * present, an array. That is all evaluation relies on (an entry that is not a string never
 * matches), and it costs nothing per value; cs_policy_refvals_check is the full check,
 * for when reference values enter the broker.
 */
static cs_res check_refvals_for(const struct cs_policy *p, const json_t *refvals, char *err,
                                size_t errlen)
{
    if (refvals == NULL) {
        return CS_SUCCESS;
    }
    if (!json_is_object(refvals)) {
        pol_errf(err, errlen, "refvals: not an object");
        CS_FAIL(CS_E_FORMAT);
    }
    for (size_t i = 0; i < p->n_sets; i++) {
        const json_t *arr = json_object_get(refvals, p->sets[i].name);
        if (arr != NULL && !json_is_array(arr)) {
            pol_errf(err, errlen, "refvals.%s: not an array", p->sets[i].name);
            CS_FAIL(CS_E_FORMAT);
        }
    }
    return CS_SUCCESS;
}

/* Common argument checks; d (when given) denies from the start. */
static cs_res begin(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                    struct cs_policy_decision *d)
{
    if (d != NULL) {
        deny_init(d);
        pol_errf(d->why, sizeof d->why, "not evaluated");
    }
    CS_ENSURE(p != NULL && json_is_object(input), CS_E_ARG);
    char err[CS_POLICY_ERR_MAX];
    cs_res r = check_refvals_for(p, refvals, err, sizeof err);
    if (!cs_ok(r) && d != NULL) {
        pol_errf(d->why, sizeof d->why, "%s", err);
    }
    return r;
}

static cs_res request_args(const char *action, const char *resource, unsigned *bit,
                           struct cs_policy_decision *d)
{
    CS_ENSURE(action != NULL && resource != NULL, CS_E_ARG);
    *bit = pol_action_bit(action);
    CS_ENSURE(*bit != 0, CS_E_ARG);
    const char *why = "";
    if (!pol_is_resource(resource, false, &why)) {
        if (d != NULL) {
            pol_errf(d->why, sizeof d->why, "invalid resource name: %s", why);
        }
        CS_FAIL(CS_E_FORMAT);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_policy_admit(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                          json_t **identities, struct cs_policy_decision *d)
{
    CS_ENSURE(identities != NULL, CS_E_ARG);
    *identities = NULL;
    CS_ENSURE(d != NULL, CS_E_ARG);
    CS_TRY(begin(p, input, refvals, d));
    struct eval ev = { .p = p, .input = input, .refvals = refvals };
    struct admitted a;
    struct cs_policy_decision out;
    deny_init(&out);
    admit_all(&ev, &a, &out, NULL);
    CS_AUTO_JSON *names = json_array();
    CS_ENSURE(names != NULL, CS_E_NOMEM);
    for (size_t i = 0; i < p->n_ids; i++) {
        CS_ENSURE(!is_admitted(&a, i) ||
                      json_array_append_new(names, json_string(p->ids[i].name)) == 0,
                  CS_E_NOMEM);
    }
    *d = out;
    *identities = CS_MOVE(names);
    return CS_SUCCESS;
}

CS_RESULT cs_policy_decide(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                           const char *action, const char *resource, struct cs_policy_decision *d)
{
    CS_ENSURE(d != NULL, CS_E_ARG);
    CS_TRY(begin(p, input, refvals, d));
    unsigned bit = 0;
    CS_TRY(request_args(action, resource, &bit, d));
    struct eval ev = { .p = p, .input = input, .refvals = refvals };
    struct admitted a;
    struct cs_policy_decision out;
    deny_init(&out);
    admit_all(&ev, &a, &out, NULL);
    decide_rules(&ev, &a, bit, action, resource, &out, NULL);
    *d = out;
    return CS_SUCCESS;
}

CS_RESULT cs_policy_explain(const struct cs_policy *p, const json_t *input, const json_t *refvals,
                            const char *action, const char *resource, json_t **trace)
{
    CS_ENSURE(trace != NULL, CS_E_ARG);
    *trace = NULL;
    CS_TRY(begin(p, input, refvals, NULL));
    unsigned bit = 0;
    CS_TRY(request_args(action, resource, &bit, NULL));
    struct eval ev = { .p = p, .input = input, .refvals = refvals, .is_trace = true };
    CS_AUTO_JSON *ids = json_array();
    CS_AUTO_JSON *rules = json_array();
    CS_ENSURE(ids != NULL && rules != NULL, CS_E_NOMEM);
    struct admitted a;
    struct cs_policy_decision d;
    deny_init(&d);
    admit_all(&ev, &a, &d, ids);
    decide_rules(&ev, &a, bit, action, resource, &d, rules);
    CS_ENSURE(!ev.is_nomem, CS_E_NOMEM);
    json_t *t = json_pack("{s:s, s:s, s:s, s:O, s:O, s:{s:b, s:s, s:s, s:s, s:s, s:b}}",
                          "policy", cs_policy_id(p), "action", action, "resource", resource,
                          "identities", ids, "rules", rules, "decision", "allow", d.allow,
                          "reason", cs_policy_reason_name(d.reason), "identity", d.identity,
                          "rule", d.rule, "why", d.why, "jwe_required", d.is_jwe_required);
    CS_ENSURE(t != NULL, CS_E_NOMEM);
    *trace = t;
    return CS_SUCCESS;
}
