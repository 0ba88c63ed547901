/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer with a ceiling. */
#include "core/cs_buf.h"

#include <string.h>

#include "core/cs_mem.h"

void cs_buf_init(struct cs_buf *b, size_t max)
{
    *b = (struct cs_buf){ .max = max };
}

void cs_buf_clear(struct cs_buf *b)
{
    if (b != NULL) {
        cs_free(b->p);
        *b = (struct cs_buf){ .max = b->max };
    }
}

CS_RESULT cs_buf_append(struct cs_buf *b, const void *p, size_t n)
{
    CS_ENSURE(b != NULL && (p != NULL || n == 0), CS_E_ARG);
    CS_ENSURE(n <= b->max && b->len <= b->max - n, CS_E_TOO_LARGE);
    if (b->cap - b->len < n + 1) { /* keep one byte for a NUL terminator */
        size_t cap = b->cap < 64 ? 64 : b->cap;
        while (cap - b->len < n + 1) {
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        }
        uint8_t *np = NULL;
        CS_TRY(cs_alloc(cap, 1, (void **)&np));
        if (b->len > 0) {
            memcpy(np, b->p, b->len);
        }
        /* buffers carry secrets too (request bodies, plaintexts): no copy left behind */
        cs_free_wipe(b->p, b->cap);
        b->p = np;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return CS_SUCCESS;
}

CS_RESULT cs_buf_byte(struct cs_buf *b, uint8_t c)
{
    return cs_buf_append(b, &c, 1);
}

CS_RESULT cs_buf_str(struct cs_buf *b, const char *s)
{
    CS_ENSURE(s != NULL, CS_E_ARG);
    return cs_buf_append(b, s, strlen(s));
}
