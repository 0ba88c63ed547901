/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CBOR heads over a bounded cursor, decoded with libcbor's streaming decoder (see
 * nitro_cbor.h). cbor_stream_decode reads exactly one head (and a definite string's
 * content) from the bytes it is given, calls exactly one callback, and reports how many
 * bytes it used; it keeps no state and allocates nothing, so this reader stays a pure
 * function of its input. Everything it reports is checked again against the cursor.
 */
#include "evidence/nitro_cbor.h"

#include <cbor.h>
#include <stdbool.h>

/* What the one callback of a cbor_stream_decode call saw. */
struct head_seen {
    enum cs_nitro_cbor_kind kind;
    uint64_t value;
    size_t str_len;
    unsigned n_calls;
};

static void seen(void *ctx, enum cs_nitro_cbor_kind kind, uint64_t value, size_t str_len)
{
    struct head_seen *h = ctx;
    h->kind = kind;
    h->value = value;
    h->str_len = str_len;
    h->n_calls++;
}

static void on_uint8(void *ctx, uint8_t v)
{
    seen(ctx, CS_NITRO_CBOR_UINT, v, 0);
}

static void on_uint16(void *ctx, uint16_t v)
{
    seen(ctx, CS_NITRO_CBOR_UINT, v, 0);
}

static void on_uint32(void *ctx, uint32_t v)
{
    seen(ctx, CS_NITRO_CBOR_UINT, v, 0);
}

static void on_uint64(void *ctx, uint64_t v)
{
    seen(ctx, CS_NITRO_CBOR_UINT, v, 0);
}

static void on_negint8(void *ctx, uint8_t v)
{
    seen(ctx, CS_NITRO_CBOR_NEGINT, v, 0);
}

static void on_negint16(void *ctx, uint16_t v)
{
    seen(ctx, CS_NITRO_CBOR_NEGINT, v, 0);
}

static void on_negint32(void *ctx, uint32_t v)
{
    seen(ctx, CS_NITRO_CBOR_NEGINT, v, 0);
}

static void on_negint64(void *ctx, uint64_t v)
{
    seen(ctx, CS_NITRO_CBOR_NEGINT, v, 0);
}

/* The content pointer is ignored: the view is cut from the cursor by length instead. */
static void on_bytes(void *ctx, cbor_data p, size_t len)
{
    (void)p;
    seen(ctx, CS_NITRO_CBOR_BYTES, 0, len);
}

static void on_text(void *ctx, cbor_data p, size_t len)
{
    (void)p;
    seen(ctx, CS_NITRO_CBOR_TEXT, 0, len);
}

static void on_array(void *ctx, size_t n)
{
    seen(ctx, CS_NITRO_CBOR_ARRAY, n, 0);
}

static void on_map(void *ctx, size_t n)
{
    seen(ctx, CS_NITRO_CBOR_MAP, n, 0);
}

static void on_tag(void *ctx, uint64_t v)
{
    seen(ctx, CS_NITRO_CBOR_TAG, v, 0);
}

static void on_null(void *ctx)
{
    seen(ctx, CS_NITRO_CBOR_NULL, 0, 0);
}

static void on_simple(void *ctx)
{
    seen(ctx, CS_NITRO_CBOR_SIMPLE, 0, 0);
}

static void on_bool(void *ctx, bool v)
{
    (void)v;
    seen(ctx, CS_NITRO_CBOR_SIMPLE, 0, 0);
}

static void on_float(void *ctx, float v)
{
    (void)v;
    seen(ctx, CS_NITRO_CBOR_SIMPLE, 0, 0);
}

static void on_double(void *ctx, double v)
{
    (void)v;
    seen(ctx, CS_NITRO_CBOR_SIMPLE, 0, 0);
}

static void on_indefinite(void *ctx)
{
    seen(ctx, CS_NITRO_CBOR_INDEFINITE, 0, 0);
}

static const struct cbor_callbacks callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint8 = on_negint8,
    .negint16 = on_negint16,
    .negint32 = on_negint32,
    .negint64 = on_negint64,
    .byte_string = on_bytes,
    .byte_string_start = on_indefinite,
    .string = on_text,
    .string_start = on_indefinite,
    .array_start = on_array,
    .indef_array_start = on_indefinite,
    .map_start = on_map,
    .indef_map_start = on_indefinite,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_simple,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_indefinite,
};

/*
 * RFC 8949 §3.4: initial bytes 0xc0..0xd7 are tags 0..23 in one byte. libcbor's streaming
 * decoder still rejects 0xc6..0xd4 as "unassigned" (RFC 7049 had no tags 6..20), among
 * them 0xd2, the tag 18 that marks a COSE_Sign1 (RFC 9052 §4.2): decode these here.
 */
#define ONE_BYTE_TAG_FIRST 0xc6u
#define ONE_BYTE_TAG_LAST 0xd4u
#define ONE_BYTE_TAG_BASE 0xc0u

CS_RESULT cs_nitro_cbor_next(struct cs_cur *c, struct cs_nitro_cbor_item *it)
{
    CS_ENSURE(c != NULL && it != NULL, CS_E_ARG);
    CS_ENSURE(c->left > 0, CS_E_TRUNCATED);
    struct cs_cur at = *c; /* work on a copy: on failure the caller's cursor stays put */
    uint8_t first = 0;
    struct cs_cur peek = at;
    CS_TRY(cs_cur_u8(&peek, &first));
    if (first >= ONE_BYTE_TAG_FIRST && first <= ONE_BYTE_TAG_LAST) {
        *it = (struct cs_nitro_cbor_item){ .kind = CS_NITRO_CBOR_TAG,
                                           .value = (uint64_t)(first - ONE_BYTE_TAG_BASE) };
        *c = peek;
        return CS_SUCCESS;
    }

    struct head_seen h = { 0 };
    struct cbor_decoder_result res = cbor_stream_decode(at.p, at.left, &callbacks, &h);
    switch (res.status) {
    case CBOR_DECODER_FINISHED:
        break;
    case CBOR_DECODER_NEDATA:
        CS_FAIL(CS_E_TRUNCATED);
    case CBOR_DECODER_ERROR:
        CS_FAIL(CS_E_FORMAT);
    default:
        CS_FAIL(CS_E_FORMAT);
    }
    /* exactly one callback, and no more bytes than we have: never trust what we cannot see */
    CS_ENSURE(h.n_calls == 1 && res.read > 0 && res.read <= at.left, CS_E_FORMAT);
    *it = (struct cs_nitro_cbor_item){ .kind = h.kind, .value = h.value };
    if (h.kind == CS_NITRO_CBOR_BYTES || h.kind == CS_NITRO_CBOR_TEXT) {
        CS_ENSURE(h.str_len < res.read, CS_E_FORMAT); /* the head takes at least one byte */
        CS_TRY(cs_cur_skip(&at, res.read - h.str_len));
        CS_TRY(cs_cur_view(&at, h.str_len, &it->bytes));
        it->value = h.str_len;
    } else {
        CS_TRY(cs_cur_skip(&at, res.read));
    }
    *c = at;
    return CS_SUCCESS;
}

CS_RESULT cs_nitro_cbor_expect(struct cs_cur *c, enum cs_nitro_cbor_kind kind,
                               struct cs_nitro_cbor_item *it)
{
    CS_ENSURE(c != NULL && it != NULL, CS_E_ARG);
    struct cs_cur at = *c;
    CS_TRY(cs_nitro_cbor_next(&at, it));
    CS_ENSURE(it->kind == kind, CS_E_FORMAT);
    *c = at;
    return CS_SUCCESS;
}

size_t cs_nitro_cbor_head_len(uint64_t value)
{
    if (value < 24) {
        return 1;
    }
    if (value <= UINT8_MAX) {
        return 2;
    }
    if (value <= UINT16_MAX) {
        return 3;
    }
    if (value <= UINT32_MAX) {
        return 5;
    }
    return 9;
}

CS_RESULT cs_nitro_cbor_put_head(struct cs_nitro_cbor_out *o, uint8_t major, uint64_t value)
{
    CS_ENSURE(o != NULL && o->p != NULL && o->len <= o->cap && major <= 7, CS_E_ARG);
    size_t n = cs_nitro_cbor_head_len(value);
    CS_ENSURE(n <= o->cap - o->len, CS_E_TOO_LARGE);
    uint8_t *w = o->p + o->len;
    uint8_t type = (uint8_t)(major << 5);
    switch (n) {
    case 1:
        w[0] = (uint8_t)(type | value);
        break;
    case 2:
        w[0] = (uint8_t)(type | 24u);
        break;
    case 3:
        w[0] = (uint8_t)(type | 25u);
        break;
    case 5:
        w[0] = (uint8_t)(type | 26u);
        break;
    default:
        w[0] = (uint8_t)(type | 27u);
        break;
    }
    for (size_t i = 1; i < n; i++) { /* big-endian argument (RFC 8949 §3) */
        w[i] = (uint8_t)(value >> (8u * (n - 1 - i)));
    }
    o->len += n;
    return CS_SUCCESS;
}

CS_RESULT cs_nitro_cbor_put_bytes(struct cs_nitro_cbor_out *o, struct cs_cur bytes)
{
    CS_ENSURE(o != NULL && o->p != NULL && o->len <= o->cap, CS_E_ARG);
    size_t n = bytes.left;
    CS_ENSURE(n <= o->cap - o->len, CS_E_TOO_LARGE);
    if (n > 0) {
        CS_TRY(cs_cur_copy(&bytes, o->p + o->len, n));
    }
    o->len += n;
    return CS_SUCCESS;
}
