/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded reader over untrusted bytes: the only way custos reads them.
 *
 * A cursor borrows its buffer and never frees it. Every read checks the one bound
 * (`left`) before touching memory; on failure nothing moves and outputs are untouched.
 */
#ifndef CS_CORE_CUR_H
#define CS_CORE_CUR_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_cur {
    const uint8_t *p; /* next unread byte; borrowed, never freed */
    size_t left;      /* bytes remaining: the one bound every read checks */
};

/* A cursor over [p, p+len). (NULL, 0) gives an empty cursor. */
struct cs_cur cs_cur_of(const uint8_t *p, size_t len);

CS_RESULT cs_cur_u8(struct cs_cur *c, uint8_t *out);
CS_RESULT cs_cur_u16le(struct cs_cur *c, uint16_t *out);
CS_RESULT cs_cur_u32le(struct cs_cur *c, uint32_t *out);
CS_RESULT cs_cur_u64le(struct cs_cur *c, uint64_t *out);
CS_RESULT cs_cur_u16be(struct cs_cur *c, uint16_t *out);
CS_RESULT cs_cur_u32be(struct cs_cur *c, uint32_t *out);
CS_RESULT cs_cur_u64be(struct cs_cur *c, uint64_t *out);

/* Copies exactly n bytes into dst (a fixed-size field). CS_E_TRUNCATED if fewer are left. */
CS_RESULT cs_cur_copy(struct cs_cur *c, void *dst, size_t n);

/* Zero-copy sub-range of the next n bytes; the cursor moves past them. */
CS_RESULT cs_cur_view(struct cs_cur *c, size_t n, struct cs_cur *sub);

/* Skips n bytes. */
CS_RESULT cs_cur_skip(struct cs_cur *c, size_t n);

/* CS_E_TRAILING unless the cursor is exhausted. */
CS_RESULT cs_cur_end(const struct cs_cur *c);

/* Copies the whole remaining view into dst of size cap (for callers that own a copy). */
CS_RESULT cs_cur_copy_all(struct cs_cur c, void *dst, size_t cap);

/* Offset of `inner` within `outer` if inner is a sub-range of outer. */
CS_RESULT cs_cur_offset(struct cs_cur outer, struct cs_cur inner, size_t *off);

/*
 * Finds the first occurrence of needle (n bytes) in c. On CS_OK *off is its offset;
 * CS_E_FORMAT when absent. Does not move the cursor.
 */
CS_RESULT cs_cur_find(struct cs_cur c, const void *needle, size_t n, size_t *off);

#endif
