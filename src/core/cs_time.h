/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instants as signed seconds since the Unix epoch (UTC), and their RFC 3339 text form.
 * Verification never reads the clock itself: the instant is always passed in.
 */
#ifndef CS_CORE_TIME_H
#define CS_CORE_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

/* "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define CS_TIME_TEXT_LEN 21

/*
 * Parses an RFC 3339 timestamp: date, 'T' (or 't' / ' '), time, optional fraction
 * (truncated to the second), and 'Z' or a numeric offset. Years 0001..9999.
 */
CS_RESULT cs_time_parse(const char *s, size_t len, int64_t *out);

/* Formats as "YYYY-MM-DDTHH:MM:SSZ" into out[CS_TIME_TEXT_LEN]. */
CS_RESULT cs_time_format(int64_t t, char out[CS_TIME_TEXT_LEN]);

/* Like cs_time_format, but never fails: writes "?" when t is out of range (for messages). */
void cs_time_text(int64_t t, char out[CS_TIME_TEXT_LEN]);

/* Seconds since the epoch for a proleptic Gregorian UTC date and time (no range checks). */
int64_t cs_time_from_civil(int64_t y, unsigned mon, unsigned d, unsigned h, unsigned mi,
                           unsigned s);

/* The current time (for the CLI's default instant only). */
int64_t cs_time_now(void);

#endif
