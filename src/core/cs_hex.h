/* SPDX-License-Identifier: Apache-2.0 */
/* Hexadecimal encoding (lower case out, either case in). */
#ifndef CS_CORE_HEX_H
#define CS_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

/* Writes 2*len lower-case hex digits and a NUL into out (cap >= 2*len+1). */
CS_RESULT cs_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/*
 * Decodes exactly `out_len` bytes from `hex_len` hex digits. CS_E_FORMAT on a non-hex
 * digit or a length other than 2*out_len.
 */
CS_RESULT cs_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);

#endif
