/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 8785 (JCS) canonical JSON over jansson values. */
#include "core/cs_jcs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cs_mem.h"

/* RFC 8785 3.2.2.2: ", \ and control characters escaped; \b \t \n \f \r short forms. */
static cs_res put_string(const char *s, size_t len, struct cs_buf *out)
{
    CS_TRY(cs_buf_byte(out, '"'));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\f': esc = "\\f"; break;
        case '\r': esc = "\\r"; break;
        default: break;
        }
        if (esc != NULL) {
            CS_TRY(cs_buf_str(out, esc));
        } else if (c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            CS_TRY(cs_buf_str(out, u));
        } else {
            CS_TRY(cs_buf_byte(out, c)); /* UTF-8 passes through unchanged */
        }
    }
    return cs_buf_byte(out, '"');
}

/*
 * ECMAScript Number::toString (RFC 8785 3.2.2.3): the shortest digits that round-trip,
 * then plain notation for exponents in [-7, 21), else d.ddde±x.
 */
static cs_res put_number(double d, struct cs_buf *out)
{
    CS_ENSURE(isfinite(d), CS_E_UNSUPPORTED);
    if (d == 0) {
        return cs_buf_byte(out, '0'); /* also -0 */
    }
    char tmp[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    /* tmp = [-]D[.DDD]e±XX : collect the digits and the decimal exponent */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    bool is_neg = *p == '-';
    if (is_neg) {
        p++;
    }
    for (; *p != 'e'; p++) {
        if (*p != '.') {
            digits[nd++] = *p;
        }
    }
    int exp10 = (int)strtol(p + 1, NULL, 10) + 1; /* value = 0.DIGITS * 10^exp10 */
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    char s[64];
    size_t o = 0;
    if (is_neg) {
        s[o++] = '-';
    }
    int k = (int)nd;
    if (k <= exp10 && exp10 <= 21) { /* integer: digits then zeros */
        memcpy(s + o, digits, nd);
        o += nd;
        for (int i = 0; i < exp10 - k; i++) {
            s[o++] = '0';
        }
    } else if (0 < exp10 && exp10 <= 21) { /* ddd.ddd */
        memcpy(s + o, digits, (size_t)exp10);
        o += (size_t)exp10;
        s[o++] = '.';
        memcpy(s + o, digits + exp10, nd - (size_t)exp10);
        o += nd - (size_t)exp10;
    } else if (-6 < exp10 && exp10 <= 0) { /* 0.000ddd */
        s[o++] = '0';
        s[o++] = '.';
        for (int i = 0; i < -exp10; i++) {
            s[o++] = '0';
        }
        memcpy(s + o, digits, nd);
        o += nd;
    } else { /* exponent form */
        s[o++] = digits[0];
        if (nd > 1) {
            s[o++] = '.';
            memcpy(s + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int n = snprintf(s + o, sizeof s - o, "e%c%d", exp10 - 1 >= 0 ? '+' : '-',
                         abs(exp10 - 1));
        CS_ENSURE(n > 0, CS_E_INTERNAL);
        o += (size_t)n;
    }
    return cs_buf_append(out, s, o);
}

/* Compares member names by UTF-16 code units (RFC 8785 3.2.3). */
static int utf16_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    while (*x != 0 && *y != 0) {
        /* decode one code point each; compare their UTF-16 units */
        uint32_t ca = 0, cb = 0;
        size_t la = 0, lb = 0;
        const unsigned char *ps[2] = { x, y };
        uint32_t *cs[2] = { &ca, &cb };
        size_t *ls[2] = { &la, &lb };
        for (int i = 0; i < 2; i++) {
            const unsigned char *q = ps[i];
            size_t l = q[0] < 0x80 ? 1 : q[0] < 0xe0 ? 2 : q[0] < 0xf0 ? 3 : 4;
            uint32_t v = l == 1 ? q[0] : l == 2 ? q[0] & 0x1fu : l == 3 ? q[0] & 0x0fu : q[0] & 7u;
            for (size_t j = 1; j < l && q[j] != 0; j++) {
                v = v << 6 | (q[j] & 0x3fu);
            }
            *cs[i] = v;
            *ls[i] = l;
        }
        /* a supplementary code point sorts by its high surrogate (D800..DBFF) */
        uint32_t ua = ca >= 0x10000 ? 0xd800 + ((ca - 0x10000) >> 10) : ca;
        uint32_t ub = cb >= 0x10000 ? 0xd800 + ((cb - 0x10000) >> 10) : cb;
        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }
        if (ca != cb) {
            uint32_t la2 = 0xdc00 + ((ca - 0x10000) & 0x3ff);
            uint32_t lb2 = 0xdc00 + ((cb - 0x10000) & 0x3ff);
            return la2 < lb2 ? -1 : 1;
        }
        x += la;
        y += lb;
    }
    return *x == *y ? 0 : *x == 0 ? -1 : 1;
}

static int key_cmp(const void *a, const void *b)
{
    return utf16_cmp(*(const char *const *)a, *(const char *const *)b);
}

static cs_res encode(json_t *v, struct cs_buf *out, unsigned depth)
{
    CS_ENSURE(depth <= CS_JCS_DEPTH_MAX, CS_E_FORMAT);
    switch (json_typeof(v)) {
    case JSON_NULL:
        return cs_buf_str(out, "null");
    case JSON_TRUE:
        return cs_buf_str(out, "true");
    case JSON_FALSE:
        return cs_buf_str(out, "false");
    case JSON_STRING:
        return put_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        /* beyond 2^53 a double (what JCS numbers are) cannot hold the value exactly */
        CS_ENSURE(i >= -9007199254740992LL && i <= 9007199254740992LL, CS_E_UNSUPPORTED);
        return put_number((double)i, out);
    }
    case JSON_REAL:
        return put_number(json_real_value(v), out);
    case JSON_ARRAY: {
        CS_TRY(cs_buf_byte(out, '['));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                CS_TRY(cs_buf_byte(out, ','));
            }
            CS_TRY(encode(json_array_get(v, i), out, depth + 1));
        }
        return cs_buf_byte(out, ']');
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        CS_AUTO(cs_freep) const char **keys = NULL;
        CS_TRY(cs_alloc(n == 0 ? 1 : n, sizeof *keys, (void **)&keys));
        size_t i = 0;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            keys[i++] = k;
        }
        qsort(keys, n, sizeof *keys, key_cmp);
        CS_TRY(cs_buf_byte(out, '{'));
        for (i = 0; i < n; i++) {
            if (i > 0) {
                CS_TRY(cs_buf_byte(out, ','));
            }
            CS_TRY(put_string(keys[i], strlen(keys[i]), out));
            CS_TRY(cs_buf_byte(out, ':'));
            CS_TRY(encode(json_object_get(v, keys[i]), out, depth + 1));
        }
        return cs_buf_byte(out, '}');
    }
    default:
        CS_FAIL(CS_E_UNSUPPORTED);
    }
}

CS_RESULT cs_jcs_encode(json_t *v, struct cs_buf *out)
{
    CS_ENSURE(v != NULL && out != NULL, CS_E_ARG);
    return encode(v, out, 0);
}
