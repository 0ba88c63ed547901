/* SPDX-License-Identifier: Apache-2.0 */
/* Hexadecimal encoding. */
#include "core/cs_hex.h"

CS_RESULT cs_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    CS_ENSURE(out != NULL && (in != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len < SIZE_MAX / 2 && cap > 2 * len, CS_E_ARG);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return CS_SUCCESS;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

CS_RESULT cs_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    CS_ENSURE((hex != NULL || hex_len == 0) && (out != NULL || out_len == 0), CS_E_ARG);
    CS_ENSURE(out_len < SIZE_MAX / 2 && hex_len == 2 * out_len, CS_E_FORMAT);
    for (size_t i = 0; i < out_len; i++) {
        int hi = nibble(hex[2 * i]);
        int lo = nibble(hex[2 * i + 1]);
        CS_ENSURE(hi >= 0 && lo >= 0, CS_E_FORMAT);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return CS_SUCCESS;
}
