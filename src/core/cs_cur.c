/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded reader. Pointer arithmetic on untrusted input happens here and nowhere else:
 * every read compares the requested size with what is left, never computes p + n first.
 */
#include "core/cs_cur.h"

#include <string.h>

static const uint8_t cs_cur_empty[1];

struct cs_cur cs_cur_of(const uint8_t *p, size_t len)
{
    if (p == NULL) {
        return (struct cs_cur){ cs_cur_empty, 0 };
    }
    return (struct cs_cur){ p, len };
}

static cs_res take(struct cs_cur *c, size_t n, const uint8_t **at)
{
    CS_ENSURE(c != NULL && at != NULL, CS_E_ARG);
    CS_ENSURE(n <= c->left, CS_E_TRUNCATED);
    *at = c->p;
    c->p += n;
    c->left -= n;
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u8(struct cs_cur *c, uint8_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 1, &b));
    *out = b[0];
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u16le(struct cs_cur *c, uint16_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 2, &b));
    *out = (uint16_t)(b[0] | (uint16_t)(b[1] << 8));
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u32le(struct cs_cur *c, uint32_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 4, &b));
    *out = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u64le(struct cs_cur *c, uint64_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 8, &b));
    uint64_t v = 0;
    for (size_t i = 8; i > 0; i--) {
        v = (v << 8) | b[i - 1];
    }
    *out = v;
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u16be(struct cs_cur *c, uint16_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 2, &b));
    *out = (uint16_t)(((uint16_t)b[0] << 8) | b[1]);
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u32be(struct cs_cur *c, uint32_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 4, &b));
    *out = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
    return CS_SUCCESS;
}

CS_RESULT cs_cur_u64be(struct cs_cur *c, uint64_t *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, 8, &b));
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    *out = v;
    return CS_SUCCESS;
}

CS_RESULT cs_cur_copy(struct cs_cur *c, void *dst, size_t n)
{
    CS_ENSURE(dst != NULL || n == 0, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, n, &b));
    if (n > 0) {
        memcpy(dst, b, n);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_cur_view(struct cs_cur *c, size_t n, struct cs_cur *sub)
{
    CS_ENSURE(sub != NULL, CS_E_ARG);
    const uint8_t *b = NULL;
    CS_TRY(take(c, n, &b));
    *sub = (struct cs_cur){ b, n };
    return CS_SUCCESS;
}

CS_RESULT cs_cur_skip(struct cs_cur *c, size_t n)
{
    const uint8_t *b = NULL;
    return take(c, n, &b);
}

CS_RESULT cs_cur_end(const struct cs_cur *c)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    CS_ENSURE(c->left == 0, CS_E_TRAILING);
    return CS_SUCCESS;
}

CS_RESULT cs_cur_copy_all(struct cs_cur c, void *dst, size_t cap)
{
    CS_ENSURE(c.left <= cap, CS_E_TOO_LARGE);
    return cs_cur_copy(&c, dst, c.left);
}

CS_RESULT cs_cur_offset(struct cs_cur outer, struct cs_cur inner, size_t *off)
{
    CS_ENSURE(off != NULL, CS_E_ARG);
    uintptr_t o = (uintptr_t)outer.p;
    uintptr_t i = (uintptr_t)inner.p;
    CS_ENSURE(i >= o && i - o <= outer.left && inner.left <= outer.left - (i - o), CS_E_ARG);
    *off = (size_t)(i - o);
    return CS_SUCCESS;
}

CS_RESULT cs_cur_find(struct cs_cur c, const void *needle, size_t n, size_t *off)
{
    CS_ENSURE(needle != NULL && off != NULL && n > 0, CS_E_ARG);
    const uint8_t *hit = memmem(c.p, c.left, needle, n);
    CS_ENSURE(hit != NULL, CS_E_FORMAT);
    *off = (size_t)(hit - c.p);
    return CS_SUCCESS;
}
