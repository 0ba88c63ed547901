/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer for building canonical bytes (writer side of cs_cur). */
#ifndef CS_CORE_BUF_H
#define CS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

/* Caller-owned storage: cs_buf_init, then cs_buf_clear (twice is fine). */
struct cs_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* hard ceiling: appends beyond it fail with CS_E_TOO_LARGE */
};

void cs_buf_init(struct cs_buf *b, size_t max);
void cs_buf_clear(struct cs_buf *b);
CS_RESULT cs_buf_append(struct cs_buf *b, const void *p, size_t n);
CS_RESULT cs_buf_byte(struct cs_buf *b, uint8_t c);
CS_RESULT cs_buf_str(struct cs_buf *b, const char *s);

#endif
