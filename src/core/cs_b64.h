/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648 section 4, standard alphabet, padded). */
#ifndef CS_CORE_B64_H
#define CS_CORE_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

/* Bytes needed to decode `len` characters (an upper bound). */
#define CS_B64_DECODED_MAX(len) (((len) / 4) * 3)

/*
 * Decodes padded standard base64 into out (cap bytes). Length must be a multiple of 4
 * with at most two '=' at the end. When is_canonical, the unused bits of the last
 * symbol must be zero (so each byte string has exactly one encoding).
 * CS_E_FORMAT on any other character or shape; CS_E_TOO_LARGE when cap is too small.
 */
CS_RESULT cs_b64_decode(const char *in, size_t len, bool is_canonical, uint8_t *out, size_t cap,
                        size_t *out_len);

/* Encodes into out (cap >= 4 * ceil(len / 3) + 1), NUL-terminated. */
CS_RESULT cs_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
