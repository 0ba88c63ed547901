/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CBOR (RFC 8949) for the Nitro attestation document: one data item head at a time over a
 * bounded cursor, decoded by libcbor's streaming decoder (cbor_stream_decode), which keeps
 * no state and never allocates; plus a bounded writer of heads for the bytes we must
 * build ourselves (the COSE Sig_structure). This is the only file that includes <cbor.h>.
 *
 * The reader reports what the head announces and never descends: an array or a map is
 * returned with its element count, and the caller reads the elements. Byte and text
 * strings are returned as views into the caller's buffer. Nothing is interpreted beyond
 * the head (text is not checked for UTF-8: callers that keep text check its characters).
 */
#ifndef CS_EVIDENCE_NITRO_CBOR_H
#define CS_EVIDENCE_NITRO_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

/* The longest head: initial byte + 8-byte argument (RFC 8949 §3). */
#define CS_NITRO_CBOR_HEAD_MAX 9

enum cs_nitro_cbor_kind {
    CS_NITRO_CBOR_UINT,   /* major type 0; value = the integer */
    CS_NITRO_CBOR_NEGINT, /* major type 1; value = n for the integer -1 - n */
    CS_NITRO_CBOR_BYTES,  /* major type 2, definite; bytes = the content */
    CS_NITRO_CBOR_TEXT,   /* major type 3, definite; bytes = the content (unchecked) */
    CS_NITRO_CBOR_ARRAY,  /* major type 4, definite; value = element count */
    CS_NITRO_CBOR_MAP,    /* major type 5, definite; value = pair count */
    CS_NITRO_CBOR_TAG,    /* major type 6; value = the tag number */
    CS_NITRO_CBOR_NULL,   /* simple value 22 */
    CS_NITRO_CBOR_SIMPLE, /* false, true, undefined, floats: never valid in a document */
    CS_NITRO_CBOR_INDEFINITE, /* an indefinite-length start or a break: never valid here */
};

/* One decoded head. borrows: the cursor's buffer (bytes) */
struct cs_nitro_cbor_item {
    enum cs_nitro_cbor_kind kind;
    uint64_t value;
    struct cs_cur bytes; /* strings only; empty otherwise */
};

/*
 * Reads the next head (and, for a definite string, its content) and moves the cursor past
 * it. CS_E_TRUNCATED when the input ends inside the item (also a string longer than what
 * is left), CS_E_FORMAT on a reserved or malformed initial byte. On failure the cursor
 * does not move and *it is unspecified.
 */
CS_RESULT cs_nitro_cbor_next(struct cs_cur *c, struct cs_nitro_cbor_item *it);

/* cs_nitro_cbor_next, then CS_E_FORMAT unless the item is of `kind`. */
CS_RESULT cs_nitro_cbor_expect(struct cs_cur *c, enum cs_nitro_cbor_kind kind,
                               struct cs_nitro_cbor_item *it);

/* Caller-owned output buffer for cs_nitro_cbor_put_*: never written past cap. */
struct cs_nitro_cbor_out {
    uint8_t *p; /* borrowed */
    size_t cap;
    size_t len;
};

/*
 * Appends the shortest head of major type `major` (0..7) with argument `value`
 * (RFC 8949 §4.2.1, preferred serialization). CS_E_TOO_LARGE when it does not fit.
 */
CS_RESULT cs_nitro_cbor_put_head(struct cs_nitro_cbor_out *o, uint8_t major, uint64_t value);

/* Appends the bytes of a view (a string's content). CS_E_TOO_LARGE when they do not fit. */
CS_RESULT cs_nitro_cbor_put_bytes(struct cs_nitro_cbor_out *o, struct cs_cur bytes);

/* The size of the shortest head for `value`: 1, 2, 3, 5 or 9. */
size_t cs_nitro_cbor_head_len(uint64_t value);

#endif
