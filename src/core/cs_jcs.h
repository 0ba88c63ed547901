/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 8785 JSON Canonicalization Scheme: the bytes that get hashed (REPORT_DATA binding of
 * the KBS protocol) and logged (audit records). Object members sorted by the UTF-16 code
 * units of their names, strings escaped minimally, numbers in the ECMAScript shortest
 * round-trip form, no white space.
 */
#ifndef CS_CORE_JCS_H
#define CS_CORE_JCS_H

#include <jansson.h>

#include "core/cs_buf.h"
#include "core/cs_result.h"

#define CS_JCS_DEPTH_MAX 64

/*
 * Appends the canonical form of v to out (v is only read: jansson iteration is not const). CS_E_UNSUPPORTED for numbers JCS cannot
 * represent (NaN, infinities, integers beyond 2^53 that doubles would round), CS_E_FORMAT
 * for nesting deeper than CS_JCS_DEPTH_MAX.
 */
CS_RESULT cs_jcs_encode(json_t *v, struct cs_buf *out);

#endif
