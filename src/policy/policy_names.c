/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixed vocabularies of the policy language (platforms, protections, actions, TCB
 * statuses), names, resource names and patterns, and bounded text formatting.
 *
 * Resources are '/'-separated segments; a pattern is a resource name, "*" (every
 * resource), or a resource name followed by a last segment "*" (every resource strictly
 * below that name, at any depth). Matching compares segments exactly: no regex, no case folding, no
 * normalisation, which is why names with empty, "." or ".." segments are refused outright
 * instead of being resolved.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_internal.h"

struct pol_word {
    const char *name;
    unsigned bit;
};

static const struct pol_word platforms[] = {
    { "tdx", POL_PF_TDX }, { "sgx", POL_PF_SGX },     { "snp", POL_PF_SNP },
    { "nitro", POL_PF_NITRO }, { "tpm", POL_PF_TPM },
};

static const struct pol_word protections[] = {
    { "integrity", POL_PROTECT_INTEGRITY },
    { "confidentiality", POL_PROTECT_CONFIDENTIALITY },
    { "freshness", POL_PROTECT_FRESHNESS },
};

static const struct pol_word actions[] = {
    { "resource:read", POL_ACT_RESOURCE_READ },
    { "state:read", POL_ACT_STATE_READ },
    { "state:write", POL_ACT_STATE_WRITE },
    { "token:issue", POL_ACT_TOKEN_ISSUE },
};

/* Intel TCB Info statuses (docs/claims.md); "Revoked" can never be allowed. */
const char *const pol_tcb_statuses[] = {
    "UpToDate",  "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded",
};
const size_t pol_n_tcb_statuses = sizeof pol_tcb_statuses / sizeof pol_tcb_statuses[0];

static unsigned word_bit(const struct pol_word *w, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(w[i].name, s) == 0) {
            return w[i].bit;
        }
    }
    return 0;
}

unsigned pol_platform_bit(const char *s)
{
    return word_bit(platforms, sizeof platforms / sizeof platforms[0], s);
}

unsigned pol_protect_bit(const char *s)
{
    return word_bit(protections, sizeof protections / sizeof protections[0], s);
}

unsigned pol_action_bit(const char *s)
{
    return word_bit(actions, sizeof actions / sizeof actions[0], s);
}

unsigned pol_tcb_bit(const char *s)
{
    for (size_t i = 0; i < pol_n_tcb_statuses; i++) {
        if (strcmp(pol_tcb_statuses[i], s) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

const char *pol_platform_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++) {
        if (platforms[i].bit == bit) {
            return platforms[i].name;
        }
    }
    return "?";
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool pol_is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CS_POLICY_NAME_MAX || !is_alnum(s[0])) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != ':' && s[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool is_resource_char(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("._~:@+=,-", c) != NULL);
}

bool pol_is_resource(const char *s, bool is_pattern, const char **why)
{
    const char *ignored = NULL;
    const char **w = why != NULL ? why : &ignored;
    size_t n = strlen(s);
    if (n == 0) {
        *w = "empty";
        return false;
    }
    if (n > CS_POLICY_RESOURCE_MAX) {
        *w = "longer than 255 bytes";
        return false;
    }
    if (is_pattern && strcmp(s, "*") == 0) {
        return true;
    }
    size_t end = n;
    if (is_pattern && n >= 2 && strcmp(s + n - 2, "/*") == 0) {
        end = n - 2; /* the rest must be a resource name */
    }
    size_t seg = 0; /* start of the current segment */
    for (size_t i = 0; i <= end; i++) {
        if (i < end && s[i] != '/') {
            if (!is_resource_char(s[i])) {
                *w = s[i] == '*' ? "'*' only as the whole pattern or its last segment"
                                 : "a character outside [A-Za-z0-9._~:@+=,-/]";
                return false;
            }
            continue;
        }
        size_t len = i - seg;
        if (len == 0) {
            *w = "an empty segment";
            return false;
        }
        if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.')) {
            *w = "a '.' or '..' segment";
            return false;
        }
        seg = i + 1;
    }
    return true;
}

bool pol_resource_matches(const char *pattern, const char *resource)
{
    if (strcmp(pattern, "*") == 0) {
        return true;
    }
    size_t n = strlen(pattern);
    if (n >= 2 && strcmp(pattern + n - 2, "/*") == 0) {
        /* "P" + "/" + "*": the resource is "P/" followed by at least one more segment */
        size_t stem = n - 1; /* "P/" */
        return strlen(resource) > stem && strncmp(pattern, resource, stem) == 0;
    }
    return strcmp(pattern, resource) == 0;
}

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool pol_is_upper_hex(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        i = 2;
    }
    if (len - i < 2) {
        return false; /* "A" or "0xF" is too short to call hex with any confidence */
    }
    bool has_upper = s[1] == 'X' && i == 2;
    for (; i < len; i++) {
        if (!is_hex_digit(s[i])) {
            return false;
        }
        has_upper = has_upper || (s[i] >= 'A' && s[i] <= 'F');
    }
    return has_upper;
}

void pol_errf(char *buf, size_t cap, const char *fmt, ...)
{
    if (buf == NULL || cap == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

void pol_catf(char *buf, size_t cap, const char *fmt, ...)
{
    if (buf == NULL || cap < 4) {
        return;
    }
    size_t used = strnlen(buf, cap);
    if (used >= cap - 1) {
        return; /* already full (and marked) */
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= cap - used) {
        memcpy(buf + cap - 4, "...", 4); /* truncated: say so */
    }
}
