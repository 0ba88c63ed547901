/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers over jansson: strict loading (duplicate keys rejected, size bounded),
 * typed member accessors that fail with CS_E_FORMAT, and a scanner that finds the
 * exact bytes of a top-level member's value so that signatures are checked over the
 * bytes that were signed, never over a re-serialisation.
 */
#ifndef CS_CORE_JSON_H
#define CS_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

void cs_json_decrefp(json_t **p);
#define CS_AUTO_JSON __attribute__((cleanup(cs_json_decrefp))) json_t

/*
 * Parses bytes as one JSON value of type object, rejecting duplicate keys, NUL in
 * strings, and anything over max bytes (CS_E_TOO_LARGE). Ownership: *out is a new
 * reference on CS_OK, NULL otherwise.
 */
CS_RESULT cs_json_load(struct cs_cur in, size_t max, json_t **out);

/*
 * Finds the top-level member `key` of the JSON object in `doc` and returns the exact
 * byte span of its value (a view into doc). The key is matched on its raw bytes, so a
 * key written with escapes is not found. Call only on a document that cs_json_load
 * accepted: this scanner follows structure, it does not validate.
 */
CS_RESULT cs_json_member_span(struct cs_cur doc, const char *key, struct cs_cur *value);

/* Accessors: borrowed results; CS_E_FORMAT when the member is missing or mistyped. */
CS_RESULT cs_json_get_obj(const json_t *obj, const char *key, json_t **out);
CS_RESULT cs_json_get_arr(const json_t *obj, const char *key, size_t max_n, json_t **out);
CS_RESULT cs_json_get_str(const json_t *obj, const char *key, size_t max_len, const char **s,
                          size_t *len);
CS_RESULT cs_json_get_uint(const json_t *obj, const char *key, uint64_t max, uint64_t *out);
CS_RESULT cs_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n);
CS_RESULT cs_json_get_time(const json_t *obj, const char *key, int64_t *out);

/* Sets obj[key] = lower-case hex of bytes. */
CS_RESULT cs_json_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n);
/* Sets obj[key] = value, taking the reference (also on failure). */
CS_RESULT cs_json_set_new(json_t *obj, const char *key, json_t *value);

#endif
