/* SPDX-License-Identifier: Apache-2.0 */
/* Base64, standard alphabet with padding (RFC 4648 section 4). */
#include "core/cs_b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sym(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

CS_RESULT cs_b64_decode(const char *in, size_t len, bool is_canonical, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    CS_ENSURE((in != NULL || len == 0) && out_len != NULL && (out != NULL || cap == 0), CS_E_ARG);
    *out_len = 0;
    CS_ENSURE(len % 4 == 0, CS_E_FORMAT);
    size_t pad = 0;
    if (len > 0 && in[len - 1] == '=') {
        pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
    }
    size_t n = len / 4 * 3 - pad;
    CS_ENSURE(n <= cap, CS_E_TOO_LARGE);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        bool is_last = i + 4 == len;
        for (size_t j = 0; j < 4; j++) {
            bool is_pad = is_last && j >= 4 - pad;
            int s = is_pad ? 0 : sym(in[i + j]);
            CS_ENSURE(s >= 0, CS_E_FORMAT);
            v = (v << 6) | (uint32_t)s;
        }
        uint8_t b[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
        size_t take = is_last ? 3 - pad : 3;
        if (is_last && is_canonical) {
            /* the bits after the last whole byte must be zero */
            CS_ENSURE(pad == 0 || (pad == 1 && b[2] == 0) || (pad == 2 && b[1] == 0 && b[2] == 0),
                      CS_E_FORMAT);
        }
        for (size_t j = 0; j < take; j++) {
            out[o++] = b[j];
        }
    }
    *out_len = o;
    return CS_SUCCESS;
}

CS_RESULT cs_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    CS_ENSURE((in != NULL || len == 0) && out != NULL, CS_E_ARG);
    CS_ENSURE(len < SIZE_MAX / 2 && cap > (len + 2) / 3 * 4, CS_E_ARG);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t rest = len - i;
        if (rest > 1) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (rest > 2) {
            v |= in[i + 2];
        }
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = rest > 1 ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = rest > 2 ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return CS_SUCCESS;
}
