/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Nitro attestation documents: the edges real documents never reach.
 *
 * Part 1, the pure parts (src/evidence/nitro_cbor.c, nitro_doc.c): every initial byte
 * through the CBOR reader; the head writer at every size boundary; documents built here
 * byte by byte that differ from a valid one in exactly one respect (envelope, protected
 * header, each payload field, ceilings, duplicates, unknown keys), each with the code its
 * check documents; the Sig_structure against an independent encoding.
 *
 * Part 2, the verifier (src/verify/nitro_*.c) through the public API only, against a test
 * PKI generated at run time (root, two intermediates, a P-384 leaf; no committed keys):
 * chain shape and order, anchor identity, leaf key type and usage, validity at the
 * instant, signature and Sig_structure details, the expected nonce, the debug claim, the
 * chain memo (hits, eviction, expiry), threads, and allocation failure.
 */
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cs_mem.h"
#include "cs_test.h"
#include "custos/nitro.h"
#include "evidence/nitro_cbor.h"
#include "evidence/nitro_doc.h"
#include "verify/nitro_internal.h" /* CS_NITRO_MEMO_MAX */

/* ---- a growable byte buffer and a CBOR writer independent of the code under test ---- */

struct tb {
    uint8_t *p;
    size_t len;
    size_t cap;
};

static void tb_raw(struct tb *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL) {
            abort();
        }
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
}

static void tb_u8(struct tb *b, uint8_t v)
{
    tb_raw(b, &v, 1);
}

static void tb_reset(struct tb *b)
{
    b->len = 0;
}

static void tb_free(struct tb *b)
{
    free(b->p);
    *b = (struct tb){ 0 };
}

/* RFC 8949 §3: shortest head for (major, v). */
static void tb_head(struct tb *b, unsigned major, uint64_t v)
{
    unsigned type = major << 5;
    if (v < 24) {
        tb_u8(b, (uint8_t)(type | v));
        return;
    }
    size_t n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
    tb_u8(b, (uint8_t)(type | (n == 1 ? 24u : n == 2 ? 25u : n == 4 ? 26u : 27u)));
    for (size_t i = n; i-- > 0;) {
        tb_u8(b, (uint8_t)(v >> (8 * i)));
    }
}

static void tb_bstr(struct tb *b, const void *p, size_t n)
{
    tb_head(b, 2, n);
    tb_raw(b, p, n);
}

static void tb_tstr(struct tb *b, const char *s)
{
    tb_head(b, 3, strlen(s));
    tb_raw(b, s, strlen(s));
}

static void tb_fill_bstr(struct tb *b, uint8_t fill, size_t n)
{
    tb_head(b, 2, n);
    for (size_t i = 0; i < n; i++) {
        tb_u8(b, fill);
    }
}

/* ---- documents built field by field ------------------------------------------------ */

enum { P_MODULE_ID, P_DIGEST, P_TIMESTAMP, P_PCRS, P_CERT, P_CABUNDLE, P_PUBKEY, P_USER, P_NONCE };
#define N_STD_PAIRS 9
#define MAX_PAIRS 16
#define PROTECTED_ES384 "\xa1\x01\x38\x22"
#define T0_MS 1700000000000ull /* 2023-11-14T22:13:20Z */
#define T0 1700000000

static const char *const std_keys[N_STD_PAIRS] = {
    "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key",
    "user_data", "nonce",
};

/* Every part as its encoded CBOR item, so that a test can replace any of them. */
struct doc {
    int tag;            /* < 0: untagged */
    uint64_t n_items;   /* the COSE_Sign1 array head */
    struct tb prot;     /* the protected item (a bstr holding the header map) */
    struct tb unprot;   /* the unprotected item */
    size_t n_pairs;     /* payload map */
    struct tb key[MAX_PAIRS];
    struct tb val[MAX_PAIRS];
    struct tb in_payload_after; /* raw bytes inside the payload bstr, after the map */
    bool is_payload_null;
    struct tb sig;      /* the signature item */
    struct tb trailing; /* raw bytes after the top-level item */
};

static void doc_free(struct doc *d)
{
    tb_free(&d->prot);
    tb_free(&d->unprot);
    for (size_t i = 0; i < MAX_PAIRS; i++) {
        tb_free(&d->key[i]);
        tb_free(&d->val[i]);
    }
    tb_free(&d->in_payload_after);
    tb_free(&d->sig);
    tb_free(&d->trailing);
}

static void pcrs_std(struct tb *v, size_t n, size_t len)
{
    tb_head(v, 5, n);
    for (size_t i = 0; i < n; i++) {
        tb_head(v, 0, i);
        tb_fill_bstr(v, (uint8_t)(i + 1), len);
    }
}

/* A valid document shape with dummy certificates (the parser does not decode DER). */
static void doc_init(struct doc *d)
{
    *d = (struct doc){ .tag = -1, .n_items = 4, .n_pairs = N_STD_PAIRS };
    tb_bstr(&d->prot, PROTECTED_ES384, 4);
    tb_head(&d->unprot, 5, 0);
    for (size_t i = 0; i < N_STD_PAIRS; i++) {
        tb_tstr(&d->key[i], std_keys[i]);
    }
    tb_tstr(&d->val[P_MODULE_ID], "i-0123456789abcdef0-enc0123456789abcdef");
    tb_tstr(&d->val[P_DIGEST], "SHA384");
    tb_head(&d->val[P_TIMESTAMP], 0, T0_MS);
    pcrs_std(&d->val[P_PCRS], 16, 48);
    tb_fill_bstr(&d->val[P_CERT], 0x30, 100);
    tb_head(&d->val[P_CABUNDLE], 4, 2);
    tb_fill_bstr(&d->val[P_CABUNDLE], 0x31, 50);
    tb_fill_bstr(&d->val[P_CABUNDLE], 0x32, 60);
    tb_u8(&d->val[P_PUBKEY], 0xf6); /* null */
    tb_bstr(&d->val[P_USER], "hello", 5);
    tb_fill_bstr(&d->val[P_NONCE], 0x07, 20);
    tb_fill_bstr(&d->sig, 0x55, 96);
}

static void doc_payload(const struct doc *d, struct tb *out)
{
    tb_head(out, 5, d->n_pairs);
    for (size_t i = 0; i < d->n_pairs; i++) {
        tb_raw(out, d->key[i].p, d->key[i].len);
        tb_raw(out, d->val[i].p, d->val[i].len);
    }
    tb_raw(out, d->in_payload_after.p, d->in_payload_after.len);
}

static void doc_encode(const struct doc *d, struct tb *out)
{
    if (d->tag >= 0) {
        tb_head(out, 6, (uint64_t)d->tag);
    }
    tb_head(out, 4, d->n_items);
    tb_raw(out, d->prot.p, d->prot.len);
    tb_raw(out, d->unprot.p, d->unprot.len);
    if (d->is_payload_null) {
        tb_u8(out, 0xf6);
    } else {
        struct tb payload = { 0 };
        doc_payload(d, &payload);
        tb_bstr(out, payload.p, payload.len);
        tb_free(&payload);
    }
    tb_raw(out, d->sig.p, d->sig.len);
    tb_raw(out, d->trailing.p, d->trailing.len);
}

static void set_val(struct doc *d, size_t i)
{
    tb_reset(&d->val[i]);
}

static void drop_pair(struct doc *d, size_t i)
{
    tb_free(&d->key[i]);
    tb_free(&d->val[i]);
    for (size_t j = i; j + 1 < d->n_pairs; j++) {
        d->key[j] = d->key[j + 1];
        d->val[j] = d->val[j + 1];
    }
    d->n_pairs--;
    d->key[d->n_pairs] = (struct tb){ 0 };
    d->val[d->n_pairs] = (struct tb){ 0 };
}

static struct tb *add_pair_text(struct doc *d, const char *key)
{
    tb_tstr(&d->key[d->n_pairs], key);
    return &d->val[d->n_pairs++];
}

/* Parses an exact-size heap copy (so ASan sees any over-read). */
static cs_code parse_bytes(const uint8_t *p, size_t n, struct cs_nitro_doc *out)
{
    uint8_t *copy = tv_dup(p, n);
    struct cs_nitro_doc tmp;
    cs_code code = cs_nitro_doc_parse(copy, n, out != NULL ? out : &tmp).code;
    free(copy);
    return code;
}

static cs_code parse_doc(const struct doc *d)
{
    struct tb enc = { 0 };
    doc_encode(d, &enc);
    cs_code code = parse_bytes(enc.p, enc.len, NULL);
    tb_free(&enc);
    return code;
}

#define EXPECT_CODE(got, want)                                                             \
    do {                                                                                   \
        cs_code t_g_ = (got);                                                              \
        if (t_g_ != (want)) {                                                              \
            CS_T_FAIL_("%s: got %s, want %s", #got, custos_code_name(t_g_),                \
                       custos_code_name(want));                                            \
        }                                                                                  \
    } while (0)

/* ---- part 1: the CBOR reader and writer ------------------------------------------------ */

static void test_cbor_every_initial_byte(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint8_t in[32] = { (uint8_t)b }; /* followed by zeros: every argument and string fits */
        struct cs_cur c = cs_cur_of(in, sizeof in);
        struct cs_nitro_cbor_item it;
        cs_res r = cs_nitro_cbor_next(&c, &it);
        unsigned major = b >> 5;
        unsigned ai = b & 31;
        bool is_reserved = (ai >= 28 && ai <= 30) || (ai == 31 && (major < 2 || major == 6));
        /* simple values 0..19 and the one-byte simple value head are unassigned */
        bool is_unassigned = major == 7 && (ai < 20 || ai == 24);
        if (is_reserved || is_unassigned) {
            EXPECT_ERR(r, CS_E_FORMAT);
            EXPECT_TRUE(c.p == in && c.left == sizeof in); /* did not move */
            continue;
        }
        EXPECT_OK(r);
        if (!cs_ok(r)) {
            fprintf(stderr, "initial byte 0x%02x\n", b);
            continue;
        }
        static const enum cs_nitro_cbor_kind by_major[6] = {
            CS_NITRO_CBOR_UINT, CS_NITRO_CBOR_NEGINT, CS_NITRO_CBOR_BYTES,
            CS_NITRO_CBOR_TEXT, CS_NITRO_CBOR_ARRAY,  CS_NITRO_CBOR_MAP,
        };
        if (ai == 31) {
            EXPECT_EQ(it.kind, CS_NITRO_CBOR_INDEFINITE); /* starts and break */
        } else if (major < 6) {
            EXPECT_EQ(it.kind, by_major[major]);
            EXPECT_EQ(it.value, ai < 24 ? ai : 0);
        } else if (major == 6) {
            EXPECT_EQ(it.kind, CS_NITRO_CBOR_TAG); /* including 0xc6..0xd4 */
            EXPECT_EQ(it.value, ai < 24 ? ai : 0);
        } else if (b == 0xf6) {
            EXPECT_EQ(it.kind, CS_NITRO_CBOR_NULL);
        } else {
            EXPECT_EQ(it.kind, CS_NITRO_CBOR_SIMPLE);
        }
        size_t arg = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 0;
        size_t content = (major == 2 || major == 3) && ai < 24 ? ai : 0; /* zeros follow */
        EXPECT_EQ(sizeof in - c.left, 1 + arg + content);
    }
}

static void test_cbor_strings_and_truncation(void)
{
    static const uint8_t ok[] = { 0x43, 'a', 'b', 'c', 0x01 };
    struct cs_cur c = cs_cur_of(ok, sizeof ok);
    struct cs_nitro_cbor_item it;
    EXPECT_OK(cs_nitro_cbor_next(&c, &it));
    EXPECT_EQ(it.kind, CS_NITRO_CBOR_BYTES);
    EXPECT_TRUE(it.bytes.p == ok + 1 && it.bytes.left == 3);
    EXPECT_EQ(c.left, 1);
    /* every cut of a string, a long head and a 64-bit length is truncated */
    static const uint8_t cases[][10] = {
        { 0x5a, 0, 0, 1, 0 },           /* 256-byte bstr, 4-byte length */
        { 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* 2^64-1 text */
        { 0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0 },                      /* 2^63 bytes */
        { 0x1b, 1, 2, 3, 4, 5, 6, 7, 8 },
    };
    static const size_t lens[] = { 5, 9, 9, 9 };
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (size_t n = 0; n < lens[k] || (k < 3 && n == lens[k]); n++) {
            uint8_t *cut = tv_dup(cases[k], n);
            struct cs_cur cc = cs_cur_of(cut, n);
            EXPECT_ERR(cs_nitro_cbor_next(&cc, &it), CS_E_TRUNCATED);
            EXPECT_EQ(cc.left, n);
            free(cut);
        }
    }
    /* expect: wrong kind is a format error and the cursor stays */
    c = cs_cur_of(ok, sizeof ok);
    EXPECT_ERR(cs_nitro_cbor_expect(&c, CS_NITRO_CBOR_TEXT, &it), CS_E_FORMAT);
    EXPECT_EQ(c.left, sizeof ok);
}

static void test_cbor_head_writer(void)
{
    static const struct {
        uint64_t v;
        uint8_t enc[9];
        size_t n;
    } heads[] = {
        { 0, { 0x40 }, 1 },
        { 23, { 0x57 }, 1 },
        { 24, { 0x58, 24 }, 2 },
        { 255, { 0x58, 0xff }, 2 },
        { 256, { 0x59, 1, 0 }, 3 },
        { 65535, { 0x59, 0xff, 0xff }, 3 },
        { 65536, { 0x5a, 0, 1, 0, 0 }, 5 },
        { 0xffffffffu, { 0x5a, 0xff, 0xff, 0xff, 0xff }, 5 },
        { 0x100000000ull, { 0x5b, 0, 0, 0, 1, 0, 0, 0, 0 }, 9 },
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        uint8_t buf[9];
        struct cs_nitro_cbor_out o = { buf, sizeof buf, 0 };
        EXPECT_OK(cs_nitro_cbor_put_head(&o, 2, heads[i].v));
        EXPECT_EQ(o.len, heads[i].n);
        EXPECT_EQ(cs_nitro_cbor_head_len(heads[i].v), heads[i].n);
        EXPECT_MEM_EQ(buf, heads[i].enc, heads[i].n);
        struct cs_nitro_cbor_out tight = { buf, heads[i].n - 1, 0 };
        EXPECT_ERR(cs_nitro_cbor_put_head(&tight, 2, heads[i].v), CS_E_TOO_LARGE);
        EXPECT_EQ(tight.len, 0);
    }
    uint8_t buf[4];
    struct cs_nitro_cbor_out o = { buf, sizeof buf, 2 };
    EXPECT_ERR(cs_nitro_cbor_put_bytes(&o, cs_cur_of((const uint8_t *)"abc", 3)),
               CS_E_TOO_LARGE);
    EXPECT_OK(cs_nitro_cbor_put_bytes(&o, cs_cur_of((const uint8_t *)"ab", 2)));
    EXPECT_EQ(o.len, 4);
    EXPECT_ERR(cs_nitro_cbor_put_head(&o, 8, 0), CS_E_ARG);
}

/* ---- part 1: the document parser ----------------------------------------------------- */

static void test_doc_valid_fields(void)
{
    struct doc d;
    doc_init(&d);
    struct tb enc = { 0 };
    doc_encode(&d, &enc);
    struct cs_nitro_doc nd;
    EXPECT_OK(cs_nitro_doc_parse(enc.p, enc.len, &nd));
    EXPECT_TRUE(!nd.is_tagged);
    EXPECT_EQ(nd.protected_hdr.left, 4);
    EXPECT_MEM_EQ(nd.protected_hdr.p, PROTECTED_ES384, 4);
    EXPECT_EQ(nd.signature.left, 96);
    EXPECT_EQ(nd.module_id.left, strlen("i-0123456789abcdef0-enc0123456789abcdef"));
    EXPECT_EQ(nd.timestamp_ms, T0_MS);
    EXPECT_EQ(nd.n_pcrs, 16);
    EXPECT_EQ(nd.pcr_present, 0xffff);
    for (size_t i = 0; i < 16; i++) {
        EXPECT_EQ(nd.pcrs[i].left, 48);
        EXPECT_EQ(nd.pcrs[i].p[47], i + 1);
    }
    EXPECT_EQ(nd.certificate.left, 100);
    EXPECT_EQ(nd.n_cabundle, 2);
    EXPECT_EQ(nd.cabundle[0].left, 50);
    EXPECT_EQ(nd.cabundle[1].left, 60);
    EXPECT_TRUE(!nd.has_public_key && nd.has_user_data && nd.has_nonce);
    EXPECT_EQ(nd.user_data.left, 5);
    EXPECT_EQ(nd.nonce.left, 20);
    /* the payload view is the map itself: it ends where the signature item starts */
    EXPECT_TRUE(nd.payload.p + nd.payload.left + 2 == nd.signature.p);
    tb_free(&enc);

    d.tag = 18; /* RFC 9052 §4.2 tagged form, one-byte head 0xd2 */
    doc_encode(&d, &enc);
    EXPECT_EQ(enc.p[0], 0xd2);
    EXPECT_OK(cs_nitro_doc_parse(enc.p, enc.len, &nd));
    EXPECT_TRUE(nd.is_tagged);
    tb_free(&enc);
    /* the two-byte head of the same tag is also tag 18 */
    tb_raw(&enc, "\xd8\x12", 2);
    d.tag = -1;
    doc_encode(&d, &enc);
    EXPECT_OK(cs_nitro_doc_parse(enc.p, enc.len, &nd));
    EXPECT_TRUE(nd.is_tagged);
    tb_free(&enc);
    doc_free(&d);
}

static void test_doc_every_truncation_and_trailing(void)
{
    struct doc d;
    doc_init(&d);
    struct tb enc = { 0 };
    doc_encode(&d, &enc);
    for (size_t n = 0; n < enc.len; n++) {
        EXPECT_CODE(parse_bytes(enc.p, n, NULL), CS_E_TRUNCATED);
    }
    tb_u8(&enc, 0x00);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_TRAILING);
    tb_free(&enc);
    tb_u8(&d.in_payload_after, 0x00); /* inside the payload bstr, after the map */
    EXPECT_CODE(parse_doc(&d), CS_E_TRAILING);
    doc_free(&d);
    uint8_t big[CS_NITRO_DOC_MAX + 1] = { 0x84 };
    EXPECT_CODE(parse_bytes(big, sizeof big, NULL), CS_E_TOO_LARGE);
    EXPECT_ERR(cs_nitro_doc_parse(NULL, 1, NULL), CS_E_ARG);
}

static void test_doc_envelope(void)
{
    struct doc d;
    doc_init(&d);
    d.tag = 17; /* COSE_Mac0 */
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    d.tag = 98; /* COSE_Sign */
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    d.tag = -1;
    d.n_items = 3;
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    d.n_items = 5;
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    d.n_items = 4;
    /* a tag where the array belongs: 18(18([...])) */
    struct tb enc = { 0 };
    tb_raw(&enc, "\xd2", 1);
    d.tag = 18;
    doc_encode(&d, &enc);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_FORMAT);
    tb_free(&enc);
    d.tag = -1;
    /* an indefinite-length array */
    tb_u8(&enc, 0x9f);
    tb_raw(&enc, d.prot.p, d.prot.len);
    tb_u8(&enc, 0xff);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_FORMAT);
    tb_free(&enc);
    /* a map at the top */
    EXPECT_CODE(parse_bytes((const uint8_t *)"\xa0", 1, NULL), CS_E_FORMAT);
    /* reserved initial bytes and floats at the top */
    EXPECT_CODE(parse_bytes((const uint8_t *)"\x1c", 1, NULL), CS_E_FORMAT);
    EXPECT_CODE(parse_bytes((const uint8_t *)"\xf9\x00\x00", 3, NULL), CS_E_FORMAT);
    doc_free(&d);
}

static void test_doc_protected_header(void)
{
    static const struct {
        const char *content;
        size_t len;
        cs_code want;
    } cases[] = {
        { "", 0, CS_E_UNSUPPORTED },                           /* no protected header */
        { "\xa0", 1, CS_E_UNSUPPORTED },                       /* {} : no alg */
        { "\xa1\x01\x26", 3, CS_E_UNSUPPORTED },               /* ES256 */
        { "\xa1\x01\x38\x23", 4, CS_E_UNSUPPORTED },           /* ES512 */
        { "\xa1\x01\x18\x22", 4, CS_E_UNSUPPORTED },           /* +34 */
        { "\xa1\x01\x65" "ES384", 8, CS_E_UNSUPPORTED },       /* text alg */
        { "\xa1\x04\x38\x22", 4, CS_E_UNSUPPORTED },           /* kid label */
        { "\xa2\x01\x38\x22\x04\x40", 6, CS_E_UNSUPPORTED },   /* alg + kid */
        { "\xa1\x01\x38\x22\x00", 5, CS_E_TRAILING },          /* a byte after the map */
        { "\xa1\x01", 2, CS_E_TRUNCATED },                     /* cut map */
        { "\x80", 1, CS_E_FORMAT },                            /* not a map */
        { "\xbf\x01\x38\x22\xff", 5, CS_E_FORMAT },            /* indefinite map */
        { "\xa1\x01\x39\x00\x22", 5, CS_OK },                /* -35 in a long head */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct doc d;
        doc_init(&d);
        tb_reset(&d.prot);
        tb_bstr(&d.prot, cases[i].content, cases[i].len);
        cs_code want = cases[i].want;
        cs_code got = parse_doc(&d);
        if (got != want) {
            fprintf(stderr, "protected case %zu\n", i);
        }
        EXPECT_CODE(got, want);
        doc_free(&d);
    }
    struct doc d;
    doc_init(&d);
    tb_reset(&d.prot);
    tb_raw(&d.prot, PROTECTED_ES384, 4); /* the map itself instead of a bstr */
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    tb_reset(&d.prot);
    tb_bstr(&d.prot, PROTECTED_ES384, 4);
    tb_reset(&d.unprot);
    tb_raw(&d.unprot, "\xa1\x04\x41\x01", 4); /* unprotected kid */
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    tb_reset(&d.unprot);
    tb_raw(&d.unprot, "\x40", 1);
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    tb_reset(&d.unprot);
    tb_raw(&d.unprot, "\xa0", 1);
    d.is_payload_null = true; /* detached payload */
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    d.is_payload_null = false;
    tb_reset(&d.sig);
    tb_fill_bstr(&d.sig, 1, 64);
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    tb_reset(&d.sig);
    tb_fill_bstr(&d.sig, 1, 97);
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    tb_reset(&d.sig);
    tb_u8(&d.sig, 0xf6);
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    doc_free(&d);
}

static void test_doc_payload_map(void)
{
    struct doc d;
    doc_init(&d);
    /* each mandatory field missing */
    for (size_t f = P_MODULE_ID; f <= P_CABUNDLE; f++) {
        struct doc m;
        doc_init(&m);
        drop_pair(&m, f);
        EXPECT_CODE(parse_doc(&m), CS_E_FORMAT);
        doc_free(&m);
    }
    /* optional fields may be absent */
    drop_pair(&d, P_NONCE);
    drop_pair(&d, P_USER);
    drop_pair(&d, P_PUBKEY);
    EXPECT_CODE(parse_doc(&d), CS_OK);
    doc_free(&d);

    doc_init(&d); /* a duplicate key */
    tb_tstr(add_pair_text(&d, "digest"), "SHA384");
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    doc_free(&d);
    doc_init(&d); /* an unknown key */
    tb_head(add_pair_text(&d, "extra"), 0, 1);
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    doc_free(&d);
    doc_init(&d); /* a key with a different case */
    tb_reset(&d.key[P_NONCE]);
    tb_tstr(&d.key[P_NONCE], "Nonce");
    EXPECT_CODE(parse_doc(&d), CS_E_UNSUPPORTED);
    doc_free(&d);
    doc_init(&d); /* a non-text key */
    tb_reset(&d.key[P_NONCE]);
    tb_bstr(&d.key[P_NONCE], "nonce", 5);
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    doc_free(&d);
    doc_init(&d); /* a map head announcing more pairs than there are */
    struct tb enc = { 0 };
    tb_head(&enc, 4, 4);
    tb_raw(&enc, d.prot.p, d.prot.len);
    tb_raw(&enc, d.unprot.p, d.unprot.len);
    struct tb pay = { 0 };
    tb_head(&pay, 5, 1000); /* then the nine pairs, and the bstr ends */
    for (size_t i = 0; i < d.n_pairs; i++) {
        tb_raw(&pay, d.key[i].p, d.key[i].len);
        tb_raw(&pay, d.val[i].p, d.val[i].len);
    }
    tb_bstr(&enc, pay.p, pay.len);
    tb_raw(&enc, d.sig.p, d.sig.len);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_TRUNCATED);
    tb_free(&pay);
    tb_reset(&enc);
    doc_free(&d);
    doc_init(&d); /* the payload is not a map */
    tb_head(&enc, 4, 4);
    tb_raw(&enc, d.prot.p, d.prot.len);
    tb_raw(&enc, d.unprot.p, d.unprot.len);
    tb_bstr(&enc, "\x80", 1);
    tb_raw(&enc, d.sig.p, d.sig.len);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_FORMAT);
    tb_reset(&enc); /* an empty payload */
    tb_head(&enc, 4, 4);
    tb_raw(&enc, d.prot.p, d.prot.len);
    tb_raw(&enc, d.unprot.p, d.unprot.len);
    tb_bstr(&enc, "", 0);
    tb_raw(&enc, d.sig.p, d.sig.len);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, NULL), CS_E_FORMAT);
    tb_free(&enc);
    doc_free(&d);
}

/* Replaces field f's value with the item written by fn and checks the code. */
struct field_case {
    size_t field;
    const char *raw; /* the encoded value */
    size_t len;
    cs_code want;
};

static void test_doc_field_values(void)
{
    static const struct field_case cases[] = {
        { P_MODULE_ID, "\x60", 1, CS_E_FORMAT },             /* empty */
        { P_MODULE_ID, "\x62\x41\x0a", 3, CS_E_FORMAT },     /* control character */
        { P_MODULE_ID, "\x62\xc3\xa9", 3, CS_E_FORMAT },     /* non-ASCII */
        { P_MODULE_ID, "\x42\x41\x42", 3, CS_E_FORMAT },     /* bytes, not text */
        { P_MODULE_ID, "\x62\x41\x42", 3, CS_OK },
        { P_DIGEST, "\x66SHA256", 7, CS_E_UNSUPPORTED },
        { P_DIGEST, "\x66sha384", 7, CS_E_UNSUPPORTED },
        { P_DIGEST, "\x46SHA384", 7, CS_E_FORMAT },
        { P_TIMESTAMP, "\x00", 1, CS_E_FORMAT },             /* §3.2.2.2: > 0 */
        { P_TIMESTAMP, "\x20", 1, CS_E_FORMAT },             /* -1 */
        { P_TIMESTAMP, "\xfb\x41\xd9\x50\x00\x00\x00\x00\x00", 9, CS_E_FORMAT }, /* float */
        { P_TIMESTAMP, "\x1b\x00\x00\xe6\x77\xd2\x1f\xdb\xff", 9, CS_OK },  /* the last ms */
        { P_TIMESTAMP, "\x1b\x00\x00\xe6\x77\xd2\x1f\xdc\x00", 9, CS_E_FORMAT },
        { P_TIMESTAMP, "\x1b\xff\xff\xff\xff\xff\xff\xff\xff", 9, CS_E_FORMAT },
        { P_TIMESTAMP, "\x01", 1, CS_OK },
        { P_PCRS, "\xa0", 1, CS_E_FORMAT },                  /* no PCR */
        { P_PCRS, "\xa1\x18\x20\x58\x20" "0123456789abcdef0123456789abcdef", 37,
          CS_E_FORMAT },                                     /* index 32 */
        { P_PCRS, "\xa1\x18\x1f\x58\x20" "0123456789abcdef0123456789abcdef", 37,
          CS_OK },                                           /* index 31, 32 bytes */
        { P_PCRS, "\xa1\x20\x58\x20" "0123456789abcdef0123456789abcdef", 36,
          CS_E_FORMAT },                                     /* index -1 */
        { P_PCRS, "\xa1\x61\x30\x58\x20" "0123456789abcdef0123456789abcdef", 37,
          CS_E_FORMAT },                                     /* index "0" */
        { P_PCRS, "\xa1\x00\x58\x1f" "0123456789abcdef0123456789abcde", 35,
          CS_E_FORMAT },                                     /* 31 bytes */
        { P_PCRS, "\xa2\x00\x41\x00\x00\x41\x00", 7, CS_E_FORMAT }, /* 1-byte PCRs */
        { P_PCRS, "\xa1\x00\xf6", 3, CS_E_FORMAT },          /* null PCR */
        { P_PCRS, "\xbf\xff", 2, CS_E_FORMAT },              /* indefinite */
        { P_PCRS, "\xb8\x21", 2, CS_E_FORMAT },              /* 33 PCRs */
        { P_CERT, "\x40", 1, CS_E_FORMAT },
        { P_CERT, "\xf6", 1, CS_E_FORMAT },
        { P_CERT, "\x80", 1, CS_E_FORMAT },
        { P_CABUNDLE, "\x80", 1, CS_E_FORMAT },              /* §3.2.2.2: not empty */
        { P_CABUNDLE, "\x81\x40", 2, CS_E_FORMAT },          /* empty entry */
        { P_CABUNDLE, "\x81\x61\x41", 3, CS_E_FORMAT },      /* text entry */
        { P_CABUNDLE, "\x89", 1, CS_E_TOO_LARGE },           /* 9 > CS_NITRO_CABUNDLE_MAX */
        { P_CABUNDLE, "\x9f\x41\x01\xff", 4, CS_E_FORMAT },  /* indefinite */
        { P_CABUNDLE, "\x81\x41\x01", 3, CS_OK },
        { P_PUBKEY, "\x40", 1, CS_OK },                      /* empty: present */
        { P_PUBKEY, "\x61\x41", 2, CS_E_FORMAT },
        { P_USER, "\x00", 1, CS_E_FORMAT },
        { P_USER, "\xf5", 1, CS_E_FORMAT },                  /* true */
        { P_USER, "\xf7", 1, CS_E_FORMAT },                  /* undefined */
        { P_NONCE, "\x5f\x41\x01\xff", 4, CS_E_FORMAT },     /* indefinite bytes */
        { P_NONCE, "\xc2\x41\x01", 3, CS_E_FORMAT },         /* tagged */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct doc d;
        doc_init(&d);
        set_val(&d, cases[i].field);
        tb_raw(&d.val[cases[i].field], cases[i].raw, cases[i].len);
        cs_code got = parse_doc(&d);
        if (got != cases[i].want) {
            fprintf(stderr, "field case %zu\n", i);
        }
        EXPECT_CODE(got, cases[i].want);
        doc_free(&d);
    }
}

static void test_doc_ceilings(void)
{
    struct doc d;
    doc_init(&d); /* module_id at and over its ceiling */
    char id[CS_NITRO_MODULE_ID_MAX + 2];
    memset(id, 'a', sizeof id - 1);
    id[CS_NITRO_MODULE_ID_MAX] = '\0';
    set_val(&d, P_MODULE_ID);
    tb_tstr(&d.val[P_MODULE_ID], id);
    EXPECT_CODE(parse_doc(&d), CS_OK);
    id[CS_NITRO_MODULE_ID_MAX] = 'a';
    id[CS_NITRO_MODULE_ID_MAX + 1] = '\0';
    set_val(&d, P_MODULE_ID);
    tb_tstr(&d.val[P_MODULE_ID], id);
    EXPECT_CODE(parse_doc(&d), CS_E_TOO_LARGE);
    doc_free(&d);

    static const size_t fields[] = { P_PUBKEY, P_USER, P_NONCE };
    for (size_t i = 0; i < 3; i++) {
        doc_init(&d);
        set_val(&d, fields[i]);
        tb_fill_bstr(&d.val[fields[i]], 0xab, CS_NITRO_USER_DATA_MAX);
        EXPECT_CODE(parse_doc(&d), CS_OK);
        set_val(&d, fields[i]);
        tb_fill_bstr(&d.val[fields[i]], 0xab, CS_NITRO_USER_DATA_MAX + 1);
        EXPECT_CODE(parse_doc(&d), CS_E_TOO_LARGE);
        doc_free(&d);
    }
    doc_init(&d); /* certificate and cabundle entries */
    set_val(&d, P_CERT);
    tb_fill_bstr(&d.val[P_CERT], 0x30, CS_NITRO_CERT_MAX);
    EXPECT_CODE(parse_doc(&d), CS_OK);
    set_val(&d, P_CERT);
    tb_fill_bstr(&d.val[P_CERT], 0x30, CS_NITRO_CERT_MAX + 1);
    EXPECT_CODE(parse_doc(&d), CS_E_TOO_LARGE);
    doc_free(&d);
    doc_init(&d);
    set_val(&d, P_CABUNDLE);
    tb_head(&d.val[P_CABUNDLE], 4, CS_NITRO_CABUNDLE_MAX);
    for (size_t i = 0; i < CS_NITRO_CABUNDLE_MAX; i++) {
        tb_fill_bstr(&d.val[P_CABUNDLE], 0x31, i == 3 ? CS_NITRO_CERT_MAX + 1 : 10);
    }
    EXPECT_CODE(parse_doc(&d), CS_E_TOO_LARGE);
    set_val(&d, P_CABUNDLE);
    tb_head(&d.val[P_CABUNDLE], 4, CS_NITRO_CABUNDLE_MAX);
    for (size_t i = 0; i < CS_NITRO_CABUNDLE_MAX; i++) {
        tb_fill_bstr(&d.val[P_CABUNDLE], 0x31, 10);
    }
    struct tb enc = { 0 };
    doc_encode(&d, &enc);
    struct cs_nitro_doc nd;
    EXPECT_CODE(parse_bytes(enc.p, enc.len, &nd), CS_OK);
    tb_free(&enc);
    doc_free(&d);
    doc_init(&d); /* 32 PCRs of 64 bytes */
    set_val(&d, P_PCRS);
    pcrs_std(&d.val[P_PCRS], 32, 64);
    doc_encode(&d, &enc);
    EXPECT_CODE(parse_bytes(enc.p, enc.len, &nd), CS_OK);
    tb_free(&enc);
    doc_free(&d);
    doc_init(&d); /* a payload over its ceiling */
    set_val(&d, P_PUBKEY);
    tb_fill_bstr(&d.val[P_PUBKEY], 0, 1000);
    for (size_t i = 0; i < 6; i++) {
        tb_fill_bstr(add_pair_text(&d, "x"), 0, 3000);
    }
    EXPECT_CODE(parse_doc(&d), CS_E_TOO_LARGE);
    doc_free(&d);
}

static void test_doc_duplicate_pcr_and_order(void)
{
    struct doc d;
    doc_init(&d);
    set_val(&d, P_PCRS);
    tb_raw(&d.val[P_PCRS], "\xa2", 1);
    for (size_t i = 0; i < 2; i++) {
        tb_head(&d.val[P_PCRS], 0, 5);
        tb_fill_bstr(&d.val[P_PCRS], 1, 48);
    }
    EXPECT_CODE(parse_doc(&d), CS_E_FORMAT);
    doc_free(&d);
    /* keys in another order, PCRs in descending order: a map is unordered */
    doc_init(&d);
    struct tb k = d.key[0], v = d.val[0];
    d.key[0] = d.key[8];
    d.val[0] = d.val[8];
    d.key[8] = k;
    d.val[8] = v;
    set_val(&d, P_PCRS);
    tb_head(&d.val[P_PCRS], 5, 3);
    for (uint64_t i = 3; i-- > 0;) {
        tb_head(&d.val[P_PCRS], 0, i);
        tb_fill_bstr(&d.val[P_PCRS], 0, 48);
    }
    struct tb enc = { 0 };
    doc_encode(&d, &enc);
    struct cs_nitro_doc nd;
    EXPECT_CODE(parse_bytes(enc.p, enc.len, &nd), CS_OK);
    EXPECT_EQ(nd.pcr_present, 0x7);
    tb_free(&enc);
    doc_free(&d);
}

/* An independent Sig_structure: RFC 9052 §4.4, shortest heads. */
static void sig_structure_ref(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                              size_t payload_len, struct tb *out)
{
    tb_head(out, 4, 4);
    tb_tstr(out, "Signature1");
    tb_bstr(out, prot, prot_len);
    tb_bstr(out, "", 0);
    tb_bstr(out, payload, payload_len);
}

static void test_sig_structure(void)
{
    static const size_t sizes[] = { 1, 23, 24, 255, 256, 65535, 65536 };
    uint8_t *payload = calloc(1, 65536);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct cs_nitro_doc d = { 0 };
        d.protected_hdr = cs_cur_of((const uint8_t *)PROTECTED_ES384, 4);
        d.payload = cs_cur_of(payload, sizes[i]);
        struct tb ref = { 0 };
        sig_structure_ref(d.protected_hdr.p, 4, payload, sizes[i], &ref);
        size_t len = 0;
        cs_res r = cs_nitro_sig_structure_len(&d, &len);
        if (sizes[i] > CS_NITRO_PAYLOAD_MAX) {
            EXPECT_ERR(r, CS_E_ARG);
            tb_free(&ref);
            continue;
        }
        EXPECT_OK(r);
        EXPECT_EQ(len, ref.len);
        uint8_t *out = malloc(len);
        size_t got = 0;
        EXPECT_OK(cs_nitro_sig_structure_encode(&d, out, len, &got));
        EXPECT_EQ(got, ref.len);
        EXPECT_MEM_EQ(out, ref.p, ref.len);
        EXPECT_ERR(cs_nitro_sig_structure_encode(&d, out, len - 1, &got), CS_E_TOO_LARGE);
        free(out);
        tb_free(&ref);
    }
    free(payload);
    /* and on a parsed document: the exact received protected and payload bytes */
    struct doc dd;
    doc_init(&dd);
    struct tb enc = { 0 }, pay = { 0 }, ref = { 0 };
    doc_encode(&dd, &enc);
    doc_payload(&dd, &pay);
    struct cs_nitro_doc nd;
    EXPECT_OK(cs_nitro_doc_parse(enc.p, enc.len, &nd));
    sig_structure_ref((const uint8_t *)PROTECTED_ES384, 4, pay.p, pay.len, &ref);
    uint8_t buf[CS_NITRO_SIG_STRUCTURE_MAX];
    size_t got = 0;
    EXPECT_OK(cs_nitro_sig_structure_encode(&nd, buf, sizeof buf, &got));
    EXPECT_EQ(got, ref.len);
    EXPECT_MEM_EQ(buf, ref.p, ref.len);
    tb_free(&enc);
    tb_free(&pay);
    tb_free(&ref);
    doc_free(&dd);
}

/* ---- part 2: a test PKI made at run time ------------------------------------------------ */

struct pki {
    EVP_PKEY *root_key;
    EVP_PKEY *int_key[2];
    EVP_PKEY *leaf_key;
    X509 *root;
    X509 *inter[2];
    X509 *leaf;
};

static struct pki g_pki;

static EVP_PKEY *keygen(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    if (k == NULL) {
        abort();
    }
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (e == NULL || X509_add_ext(cert, e, -1) != 1) {
        abort();
    }
    X509_EXTENSION_free(e);
}

struct cert_spec {
    const char *cn;
    long serial;
    int64_t nb;
    int64_t na;
    EVP_PKEY *key;
    X509 *issuer; /* NULL: self-signed */
    EVP_PKEY *issuer_key;
    const char *constraints;
    const char *usage; /* NULL: no key usage extension */
};

static X509 *mkcert(const struct cert_spec *s)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (x == NULL || name == NULL) {
        abort();
    }
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, (const unsigned char *)"US", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set_int64(X509_get_serialNumber(x), s->serial);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : name);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->na);
    X509_set_pubkey(x, s->key);
    X509 *issuer = s->issuer != NULL ? s->issuer : x;
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    add_ext(x, issuer, NID_basic_constraints, s->constraints);
    if (s->usage != NULL) {
        add_ext(x, issuer, NID_key_usage, s->usage);
    }
    if (X509_sign(x, s->issuer != NULL ? s->issuer_key : s->key, EVP_sha384()) <= 0) {
        abort();
    }
    X509_NAME_free(name);
    return x;
}

static X509 *mk_leaf(EVP_PKEY *key, long serial, const char *usage)
{
    struct cert_spec s = { "i-0123456789abcdef0.us-east-1.aws.nitro-enclaves", serial,
                           T0 - 3600, T0 + 2 * 3600, key, g_pki.inter[1], g_pki.int_key[1],
                           "critical,CA:FALSE", usage };
    return mkcert(&s);
}

static void pki_free(void)
{
    EVP_PKEY_free(g_pki.root_key);
    EVP_PKEY_free(g_pki.int_key[0]);
    EVP_PKEY_free(g_pki.int_key[1]);
    EVP_PKEY_free(g_pki.leaf_key);
    X509_free(g_pki.root);
    X509_free(g_pki.inter[0]);
    X509_free(g_pki.inter[1]);
    X509_free(g_pki.leaf);
}

/*
 * Root (30 days around T0) <- zonal (10 days) <- instance (2 days) <- leaf (3 hours). AWS's
 * CAs have P-384 keys; ours have P-256 keys, whose signatures cost a tenth (the tests also
 * run under valgrind), since the verifier asks P-384 only of the leaf, which signs ES384.
 */
static struct pki *pki(void)
{
    if (g_pki.root != NULL) {
        return &g_pki;
    }
    g_pki.root_key = keygen("P-256");
    g_pki.int_key[0] = keygen("P-256");
    g_pki.int_key[1] = keygen("P-256");
    g_pki.leaf_key = keygen("P-384");
    struct cert_spec root = { "aws.nitro-enclaves",  1, T0 - 30 * 86400, T0 + 30 * 86400,
                              g_pki.root_key,        NULL, NULL, "critical,CA:TRUE",
                              "critical,keyCertSign,cRLSign" };
    g_pki.root = mkcert(&root);
    struct cert_spec z = { "zonal.aws.nitro-enclaves", 2, T0 - 10 * 86400, T0 + 10 * 86400,
                           g_pki.int_key[0], g_pki.root, g_pki.root_key,
                           "critical,CA:TRUE,pathlen:2", "critical,keyCertSign,cRLSign" };
    g_pki.inter[0] = mkcert(&z);
    struct cert_spec i = { "instance.aws.nitro-enclaves", 3, T0 - 2 * 86400, T0 + 2 * 86400,
                           g_pki.int_key[1], g_pki.inter[0], g_pki.int_key[0],
                           "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign" };
    g_pki.inter[1] = mkcert(&i);
    g_pki.leaf = mk_leaf(g_pki.leaf_key, 4, "critical,digitalSignature");
    atexit(pki_free);
    return &g_pki;
}

static void der_of(X509 *x, struct tb *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) {
        abort();
    }
    tb_raw(out, der, (size_t)n);
    OPENSSL_free(der);
}

/* What a forged document is made of. */
struct forge {
    X509 *leaf;          /* default: the PKI's leaf */
    EVP_PKEY *sign_key;  /* default: the PKI's leaf key */
    size_t n_cab;        /* default: root, zonal, instance */
    X509 *cab[CS_NITRO_CABUNDLE_MAX];
    bool is_tagged;
    uint8_t pcr012;      /* fill byte of PCR0..2 (others zero) */
    bool drop_pcr0;
    const uint8_t *nonce; /* NULL: null */
    size_t nonce_len;
    const char *context; /* default "Signature1" */
    size_t aad_len;      /* external_aad bytes (0xaa) in what is signed */
    const EVP_MD *md;    /* default SHA-384 */
    bool is_unsigned;    /* r = s = 0: rejected before any curve arithmetic */
};

static void forge_init(struct forge *f)
{
    struct pki *p = pki();
    *f = (struct forge){ .leaf = p->leaf, .sign_key = p->leaf_key, .n_cab = 3,
                         .cab = { p->root, p->inter[0], p->inter[1] }, .pcr012 = 0x11,
                         .context = "Signature1" };
}

static void sign_rs(EVP_PKEY *key, const EVP_MD *md, const struct tb *tbs, uint8_t rs[96])
{
    if (!EVP_PKEY_is_a(key, "EC")) {
        memset(rs, 0x42, 96); /* not an EC key: any 96 bytes */
        return;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t der_len = sizeof der;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, tbs->p, tbs->len) != 1) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        abort();
    }
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 48);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 48, 48);
    ECDSA_SIG_free(sig);
}

static void forge_doc(const struct forge *f, struct tb *out)
{
    struct tb pay = { 0 };
    tb_head(&pay, 5, 9);
    tb_tstr(&pay, "module_id");
    tb_tstr(&pay, "i-0123456789abcdef0-enc0123456789abcdef");
    tb_tstr(&pay, "digest");
    tb_tstr(&pay, "SHA384");
    tb_tstr(&pay, "timestamp");
    tb_head(&pay, 0, T0_MS + 123);
    tb_tstr(&pay, "pcrs");
    tb_head(&pay, 5, f->drop_pcr0 ? 15 : 16);
    for (uint64_t i = f->drop_pcr0 ? 1 : 0; i < 16; i++) {
        tb_head(&pay, 0, i);
        tb_fill_bstr(&pay, i < 3 ? f->pcr012 : 0, 48);
    }
    tb_tstr(&pay, "certificate");
    struct tb der = { 0 };
    der_of(f->leaf, &der);
    tb_bstr(&pay, der.p, der.len);
    tb_tstr(&pay, "cabundle");
    tb_head(&pay, 4, f->n_cab);
    for (size_t i = 0; i < f->n_cab; i++) {
        tb_reset(&der);
        der_of(f->cab[i], &der);
        tb_bstr(&pay, der.p, der.len);
    }
    tb_free(&der);
    tb_tstr(&pay, "public_key");
    tb_u8(&pay, 0xf6);
    tb_tstr(&pay, "user_data");
    tb_fill_bstr(&pay, 0xee, 100);
    tb_tstr(&pay, "nonce");
    if (f->nonce != NULL) {
        tb_bstr(&pay, f->nonce, f->nonce_len);
    } else {
        tb_u8(&pay, 0xf6);
    }

    struct tb tbs = { 0 };
    tb_head(&tbs, 4, 4);
    tb_tstr(&tbs, f->context);
    tb_bstr(&tbs, PROTECTED_ES384, 4);
    tb_fill_bstr(&tbs, 0xaa, f->aad_len);
    tb_bstr(&tbs, pay.p, pay.len);
    uint8_t rs[96] = { 0 };
    if (!f->is_unsigned) {
        sign_rs(f->sign_key, f->md != NULL ? f->md : EVP_sha384(), &tbs, rs);
    }
    tb_free(&tbs);

    if (f->is_tagged) {
        tb_u8(out, 0xd2);
    }
    tb_head(out, 4, 4);
    tb_bstr(out, PROTECTED_ES384, 4);
    tb_head(out, 5, 0);
    tb_bstr(out, pay.p, pay.len);
    tb_bstr(out, rs, sizeof rs);
    tb_free(&pay);
}

static struct custos_nitro_collateral *coll_of(X509 *anchor)
{
    struct tb der = { 0 };
    der_of(anchor, &der);
    struct custos_nitro_collateral *c = NULL;
    struct custos_diag diag = { 0 };
    cs_res r = custos_nitro_collateral_new(der.p, der.len, &diag, &c);
    tb_free(&der);
    if (!cs_ok(r)) {
        fprintf(stderr, "collateral: %s\n", diag.msg);
        abort();
    }
    return c;
}

struct outcome {
    cs_code code;
    json_t *json; /* the verdict as JSON */
};

static struct outcome verify_full(struct custos_nitro_collateral *c, const struct tb *doc,
                                  const uint8_t *nonce, size_t nonce_len, int64_t at)
{
    struct custos_verdict *v = NULL;
    uint8_t *copy = tv_dup(doc->p, doc->len);
    cs_res r = custos_nitro_verify(c, copy, doc->len, nonce, nonce_len, at, &v);
    free(copy);
    struct outcome o = { r.code, NULL };
    EXPECT_TRUE(v != NULL);
    if (v == NULL) {
        return o;
    }
    EXPECT_EQ(custos_verdict_code(v), r.code);
    char *text = NULL;
    EXPECT_OK(custos_verdict_to_json(v, 0, &text));
    o.json = text != NULL ? json_loads(text, 0, NULL) : NULL;
    custos_free(text);
    char *claims = NULL;
    EXPECT_ERR(custos_verdict_claims_json(v, &claims), r.code == CS_OK ? CS_OK : CS_E_POLICY);
    custos_free(claims);
    custos_verdict_free(v);
    return o;
}

static cs_code verify_code(struct custos_nitro_collateral *c, const struct forge *f, int64_t at)
{
    struct tb doc = { 0 };
    forge_doc(f, &doc);
    struct outcome o = verify_full(c, &doc, NULL, 0, at);
    json_decref(o.json);
    tb_free(&doc);
    return o.code;
}

static const json_t *claim(const struct outcome *o, const char *key)
{
    return json_object_get(json_object_get(o->json, "claims"), key);
}

/* ---- part 2: the verifier ----------------------------------------------------------------- */

static void test_verify_forged_and_claims(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = coll_of(p->root);
    struct forge f;
    forge_init(&f);
    uint8_t nonce[20] = { 1, 2, 3 };
    f.nonce = nonce;
    f.nonce_len = sizeof nonce;
    struct tb doc = { 0 };
    forge_doc(&f, &doc);
    struct outcome o = verify_full(c, &doc, NULL, 0, T0);
    EXPECT_CODE(o.code, CS_OK);
    EXPECT_STR_EQ(json_string_value(json_object_get(o.json, "platform")), "nitro");
    EXPECT_STR_EQ(json_string_value(claim(&o, "module_id")),
                  "i-0123456789abcdef0-enc0123456789abcdef");
    EXPECT_STR_EQ(json_string_value(claim(&o, "digest")), "SHA384");
    EXPECT_EQ(json_integer_value(claim(&o, "timestamp_ms")), T0_MS + 123);
    EXPECT_STR_EQ(json_string_value(claim(&o, "timestamp")), "2023-11-14T22:13:20Z");
    EXPECT_STR_EQ(json_string_value(claim(&o, "collateral_expiry")), "2023-11-15T00:13:20Z");
    EXPECT_TRUE(json_is_false(claim(&o, "debug")));
    EXPECT_TRUE(json_is_null(claim(&o, "public_key")));
    EXPECT_EQ(strlen(json_string_value(claim(&o, "user_data"))), 200);
    EXPECT_STR_EQ(json_string_value(claim(&o, "nonce")),
                  "0102030000000000000000000000000000000000");
    EXPECT_EQ(strlen(json_string_value(claim(&o, "evidence_sha256"))), 64);
    const json_t *pcrs = claim(&o, "pcrs");
    EXPECT_EQ(json_object_size(pcrs), 16);
    EXPECT_STR_EQ(json_string_value(json_object_get(pcrs, "15")),
                  "000000000000000000000000000000000000000000000000000000000000000000000000000"
                  "000000000000000000000");
    EXPECT_EQ(strncmp(json_string_value(json_object_get(pcrs, "0")), "1111", 4), 0);
    json_decref(o.json);

    /* the expected nonce: equal, different, absent; judged only after the signature */
    o = verify_full(c, &doc, nonce, sizeof nonce, T0);
    EXPECT_CODE(o.code, CS_OK);
    json_decref(o.json);
    o = verify_full(c, &doc, nonce, sizeof nonce - 1, T0);
    EXPECT_CODE(o.code, CS_E_BINDING);
    json_decref(o.json);
    uint8_t other[20] = { 9 };
    o = verify_full(c, &doc, other, sizeof other, T0);
    EXPECT_CODE(o.code, CS_E_BINDING);
    json_decref(o.json);
    doc.p[doc.len - 1] ^= 1; /* bad signature and wrong nonce: the signature comes first */
    o = verify_full(c, &doc, other, sizeof other, T0);
    EXPECT_CODE(o.code, CS_E_SIGNATURE);
    json_decref(o.json);
    tb_free(&doc);
    f.nonce = NULL;
    forge_doc(&f, &doc);
    o = verify_full(c, &doc, nonce, sizeof nonce, T0);
    EXPECT_CODE(o.code, CS_E_BINDING);
    json_decref(o.json);
    o = verify_full(c, &doc, nonce, 0, T0); /* an empty expected nonce is not "no nonce" */
    EXPECT_CODE(o.code, CS_E_BINDING);
    json_decref(o.json);
    EXPECT_ERR(custos_nitro_verify(c, doc.p, doc.len, NULL, 3, T0, &(struct custos_verdict *){ 0 }),
               CS_E_ARG);
    tb_free(&doc);

    f.is_tagged = true;
    EXPECT_CODE(verify_code(c, &f, T0), CS_OK);
    custos_nitro_collateral_free(c);
}

static void test_verify_debug_claim(void)
{
    struct custos_nitro_collateral *c = coll_of(pki()->root);
    struct forge f;
    forge_init(&f);
    static const struct {
        uint8_t fill;
        bool drop0;
        bool debug;
    } cases[] = { { 0x00, false, true }, { 0x11, false, false }, { 0x00, true, true },
                  { 0x11, true, false } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f.pcr012 = cases[i].fill;
        f.drop_pcr0 = cases[i].drop0;
        struct tb doc = { 0 };
        forge_doc(&f, &doc);
        struct outcome o = verify_full(c, &doc, NULL, 0, T0);
        EXPECT_CODE(o.code, CS_OK);
        EXPECT_TRUE(json_is_boolean(claim(&o, "debug")));
        EXPECT_EQ(json_is_true(claim(&o, "debug")), cases[i].debug);
        EXPECT_TRUE(json_object_get(claim(&o, "pcrs"), "0") == NULL || !cases[i].drop0);
        json_decref(o.json);
        tb_free(&doc);
    }
    custos_nitro_collateral_free(c);
}

static void test_verify_validity_and_memo(void)
{
    struct custos_nitro_collateral *c = coll_of(pki()->root);
    struct forge f;
    forge_init(&f);
    /* the intersection is the leaf's window: [T0 - 1 h, T0 + 2 h] */
    for (int round = 0; round < 2; round++) { /* cold, then from the memo */
        EXPECT_CODE(verify_code(c, &f, T0 - 3600), CS_OK);
        EXPECT_CODE(verify_code(c, &f, T0 + 7200), CS_OK);
        EXPECT_CODE(verify_code(c, &f, T0 - 3601), CS_E_EXPIRED);
        EXPECT_CODE(verify_code(c, &f, T0 + 7201), CS_E_EXPIRED);
        EXPECT_CODE(verify_code(c, &f, T0 + 40 * 86400), CS_E_EXPIRED);
    }
    /* an expired intermediate with a long-lived leaf: the whole chain counts */
    struct pki *p = pki();
    EVP_PKEY *k = keygen("P-384");
    struct cert_spec old = { "instance.aws.nitro-enclaves", 30, T0 - 3 * 86400, T0 - 86400,
                             p->int_key[1], p->inter[0], p->int_key[0],
                             "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign" };
    X509 *inter = mkcert(&old);
    struct cert_spec ls = { "leaf", 31, T0 - 5 * 86400, T0 + 5 * 86400, k, inter, p->int_key[1],
                            "critical,CA:FALSE", "critical,digitalSignature" };
    X509 *leaf = mkcert(&ls);
    f.leaf = leaf;
    f.sign_key = k;
    f.cab[2] = inter;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_EXPIRED);
    EXPECT_CODE(verify_code(c, &f, T0 - 2 * 86400), CS_OK);
    X509_free(leaf);
    X509_free(inter);
    EVP_PKEY_free(k);
    custos_nitro_collateral_free(c);
}

static void test_verify_chain_shape(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = coll_of(p->root);
    struct forge f;
    forge_init(&f);
    f.cab[1] = p->inter[1]; /* out of issuing order */
    f.cab[2] = p->inter[0];
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    forge_init(&f);
    f.n_cab = 2; /* the instance CA missing */
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    forge_init(&f);
    f.cab[0] = p->inter[0]; /* no root */
    f.cab[1] = p->inter[1];
    f.n_cab = 2;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    forge_init(&f);
    f.cab[3] = p->leaf; /* one more certificate after the instance CA */
    f.n_cab = 4;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    forge_init(&f);
    f.cab[3] = p->inter[1]; /* the instance CA twice */
    f.n_cab = 4;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);

    /* another anchor: the chain does not lead to it */
    EVP_PKEY *k = keygen("P-256");
    struct cert_spec other = { "aws.nitro-enclaves", 1, T0 - 86400, T0 + 86400, k, NULL, NULL,
                               "critical,CA:TRUE", "critical,keyCertSign,cRLSign" };
    X509 *other_root = mkcert(&other);
    struct custos_nitro_collateral *c2 = coll_of(other_root);
    forge_init(&f);
    EXPECT_CODE(verify_code(c2, &f, T0), CS_E_CHAIN);
    custos_nitro_collateral_free(c2);
    /* the same root key and name re-issued: not byte-identical to the anchor */
    struct cert_spec again = { "aws.nitro-enclaves", 99, T0 - 30 * 86400, T0 + 30 * 86400,
                               p->root_key, NULL, NULL, "critical,CA:TRUE",
                               "critical,keyCertSign,cRLSign" };
    X509 *reissued = mkcert(&again);
    forge_init(&f);
    f.cab[0] = reissued;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    c2 = coll_of(reissued); /* ... and the other way round */
    forge_init(&f);
    EXPECT_CODE(verify_code(c2, &f, T0), CS_E_CHAIN);
    custos_nitro_collateral_free(c2);
    X509_free(reissued);
    X509_free(other_root);

    /* an intermediate that is not a CA */
    struct cert_spec notca = { "instance.aws.nitro-enclaves", 40, T0 - 86400, T0 + 86400,
                               p->int_key[1], p->inter[0], p->int_key[0], "critical,CA:FALSE",
                               "critical,keyCertSign,cRLSign" };
    X509 *inter = mkcert(&notca);
    forge_init(&f);
    f.cab[2] = inter;
    struct cert_spec ls = { "leaf", 41, T0 - 3600, T0 + 3600, p->leaf_key, inter, p->int_key[1],
                            "critical,CA:FALSE", "critical,digitalSignature" };
    X509 *leaf = mkcert(&ls);
    f.leaf = leaf;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    X509_free(leaf);
    X509_free(inter);
    /* a leaf signed by the zonal CA while the bundle names the instance CA */
    struct cert_spec skip = { "leaf", 42, T0 - 3600, T0 + 3600, p->leaf_key, p->inter[0],
                              p->int_key[0], "critical,CA:FALSE", "critical,digitalSignature" };
    leaf = mkcert(&skip);
    forge_init(&f);
    f.leaf = leaf;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    f.n_cab = 2; /* ... and with the instance CA left out: a valid shorter chain */
    EXPECT_CODE(verify_code(c, &f, T0), CS_OK);
    X509_free(leaf);
    EVP_PKEY_free(k);
    custos_nitro_collateral_free(c);
}

static void test_verify_leaf_key_and_signature(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = coll_of(p->root);
    struct forge f;
    forge_init(&f);
    /* a P-256 leaf signing with SHA-384: not ES384 */
    EVP_PKEY *p256 = keygen("P-256");
    X509 *leaf = mk_leaf(p256, 50, "critical,digitalSignature");
    f.leaf = leaf;
    f.sign_key = p256;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_UNSUPPORTED);
    X509_free(leaf);
    EVP_PKEY_free(p256);
    /* a leaf key that is not EC at all (Ed25519: RSA would take the same path) and a P-521 */
    static const char *const others[] = { "ED25519", "P-521" };
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *k = i == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, others[i]) : keygen(others[i]);
        EXPECT_TRUE(k != NULL);
        leaf = mk_leaf(k, 51 + (long)i, "critical,digitalSignature");
        forge_init(&f);
        f.leaf = leaf;
        f.sign_key = k;
        EXPECT_CODE(verify_code(c, &f, T0), CS_E_UNSUPPORTED);
        X509_free(leaf);
        EVP_PKEY_free(k);
    }
    /* key usage without digitalSignature; and no key usage at all (allowed) */
    leaf = mk_leaf(p->leaf_key, 52, "critical,keyAgreement");
    forge_init(&f);
    f.leaf = leaf;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_CHAIN);
    X509_free(leaf);
    leaf = mk_leaf(p->leaf_key, 53, NULL);
    f.leaf = leaf;
    EXPECT_CODE(verify_code(c, &f, T0), CS_OK);
    X509_free(leaf);

    /* signatures over something else than the Sig_structure, or by another key */
    forge_init(&f);
    f.context = "Signature";
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_SIGNATURE);
    forge_init(&f);
    f.aad_len = 1;
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_SIGNATURE);
    forge_init(&f);
    f.md = EVP_sha256();
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_SIGNATURE);
    forge_init(&f);
    f.sign_key = p->int_key[1];
    EXPECT_CODE(verify_code(c, &f, T0), CS_E_SIGNATURE);
    /* r or s zero, all ones (>= n), and every bit flip of a sample of positions */
    forge_init(&f);
    struct tb doc = { 0 };
    forge_doc(&f, &doc);
    uint8_t *sig = doc.p + doc.len - 96;
    uint8_t saved[96];
    memcpy(saved, sig, 96);
    memset(sig, 0, 48);
    struct outcome o = verify_full(c, &doc, NULL, 0, T0);
    EXPECT_CODE(o.code, CS_E_SIGNATURE);
    json_decref(o.json);
    memcpy(sig, saved, 96);
    memset(sig + 48, 0xff, 48);
    o = verify_full(c, &doc, NULL, 0, T0);
    EXPECT_CODE(o.code, CS_E_SIGNATURE);
    json_decref(o.json);
    memcpy(sig, saved, 96);
    for (size_t i = 0; i < 96; i += 13) {
        sig[i] ^= (uint8_t)(1u << (i % 8));
        o = verify_full(c, &doc, NULL, 0, T0);
        EXPECT_CODE(o.code, CS_E_SIGNATURE);
        json_decref(o.json);
        sig[i] = saved[i];
    }
    o = verify_full(c, &doc, NULL, 0, T0);
    EXPECT_CODE(o.code, CS_OK);
    json_decref(o.json);
    tb_free(&doc);
    custos_nitro_collateral_free(c);
}

/*
 * More distinct chains than the memo holds: evictions keep results (and memory) right. A
 * chain is remembered once it verifies, before the document's signature is checked, so
 * all but the first three documents go unsigned (their verdict: signature).
 */
static void test_verify_memo_eviction(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = coll_of(p->root);
    enum { N = CS_NITRO_MEMO_MAX + 2 };
    struct tb docs[N];
    for (size_t i = 0; i < N; i++) {
        X509 *leaf = mk_leaf(p->leaf_key, 1000 + (long)i, "critical,digitalSignature");
        struct forge f;
        forge_init(&f);
        f.leaf = leaf;
        f.is_unsigned = i >= 3;
        docs[i] = (struct tb){ 0 };
        forge_doc(&f, &docs[i]);
        X509_free(leaf);
    }
    for (size_t i = 0; i < N + 3; i++) { /* all, then the first three again: evicted */
        struct outcome o = verify_full(c, &docs[i % N], NULL, 0, T0);
        EXPECT_CODE(o.code, i % N < 3 ? CS_OK : CS_E_SIGNATURE);
        EXPECT_TRUE(claim(&o, "collateral_expiry") != NULL); /* the chain verified */
        json_decref(o.json);
    }
    for (size_t i = 0; i < N; i++) {
        tb_free(&docs[i]);
    }
    custos_nitro_collateral_free(c);
}

struct thread_arg {
    struct custos_nitro_collateral *c;
    const struct tb *docs; /* two documents, two chains */
    int failures;
};

static void *verify_many(void *arg)
{
    struct thread_arg *a = arg;
    for (int i = 0; i < 16; i++) {
        struct custos_verdict *v = NULL;
        const struct tb *d = &a->docs[i % 2];
        cs_res r = custos_nitro_verify(a->c, d->p, d->len, NULL, 0, T0, &v);
        a->failures += r.code != CS_OK;
        custos_verdict_free(v);
    }
    return NULL;
}

static void test_verify_threads(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = coll_of(p->root);
    struct tb docs[2] = { { 0 }, { 0 } };
    struct forge f;
    forge_init(&f);
    forge_doc(&f, &docs[0]);
    X509 *leaf = mk_leaf(p->leaf_key, 77, "critical,digitalSignature");
    f.leaf = leaf;
    forge_doc(&f, &docs[1]);
    X509_free(leaf);
    struct thread_arg args[2] = { { c, docs, 0 }, { c, docs, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(pthread_create(&t[i], NULL, verify_many, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        EXPECT_EQ(args[i].failures, 0);
    }
    tb_free(&docs[0]);
    tb_free(&docs[1]);
    custos_nitro_collateral_free(c);
}

/* Every allocation failing in turn: NOMEM or success, never a crash or a leak. */
static void test_verify_out_of_memory(void)
{
    struct pki *p = pki();
    struct tb der = { 0 };
    der_of(p->root, &der);
    struct tb doc = { 0 };
    struct forge f;
    forge_init(&f);
    forge_doc(&f, &doc);
    bool is_done = false;
    for (long n = 0; n < 200 && !is_done; n++) {
        struct custos_nitro_collateral *c = NULL;
        struct custos_diag d = { 0 };
        cs_mem_set_fail_after(n);
        cs_res r = custos_nitro_collateral_new(der.p, der.len, &d, &c);
        struct custos_verdict *v = NULL;
        cs_res vr = { .code = CS_E_NOMEM };
        if (cs_ok(r)) {
            vr = custos_nitro_verify(c, doc.p, doc.len, NULL, 0, T0, &v);
        }
        cs_mem_set_fail_after(-1);
        EXPECT_TRUE(cs_ok(r) || r.code == CS_E_NOMEM);
        EXPECT_TRUE(cs_ok(vr) || vr.code == CS_E_NOMEM);
        EXPECT_TRUE(v != NULL || vr.code == CS_E_NOMEM);
        is_done = cs_ok(vr);
        if (c != NULL && !is_done) { /* what failed once verifies now */
            struct custos_verdict *again = NULL;
            EXPECT_OK(custos_nitro_verify(c, doc.p, doc.len, NULL, 0, T0, &again));
            custos_verdict_free(again);
        }
        custos_verdict_free(v);
        custos_nitro_collateral_free(c);
    }
    EXPECT_TRUE(is_done);
    tb_free(&doc);
    tb_free(&der);
}

static void test_collateral_inputs(void)
{
    struct pki *p = pki();
    struct custos_nitro_collateral *c = NULL;
    struct custos_diag d = { 0 };
    EXPECT_ERR(custos_nitro_collateral_new(NULL, 0, &d, &c), CS_E_TRUNCATED);
    EXPECT_ERR(custos_nitro_collateral_new((const uint8_t *)"junk", 4, &d, &c), CS_E_FORMAT);
    EXPECT_TRUE(c == NULL);
    /* two certificates in PEM: exactly one anchor is allowed */
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, p->root);
    PEM_write_bio_X509(bio, p->inter[0]);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    d = (struct custos_diag){ 0 };
    EXPECT_ERR(custos_nitro_collateral_new((const uint8_t *)pem, (size_t)pem_len, &d, &c),
               CS_E_FORMAT);
    EXPECT_TRUE(strstr(d.msg, "exactly one") != NULL);
    BIO_free(bio);
    EXPECT_ERR(custos_nitro_collateral_new(NULL, 1, &d, &c), CS_E_ARG);
    /* a directory with trust_anchor.der only; and a missing directory */
    char dir[] = "/tmp/custos-nitro-XXXXXX";
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    char path[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/trust_anchor.der", dir);
    FILE *fp = fopen(path, "wb");
    EXPECT_TRUE(fp != NULL);
    if (fp != NULL) {
        EXPECT_TRUE(i2d_X509_fp(fp, p->root) == 1);
        fclose(fp);
    }
    EXPECT_OK(custos_nitro_collateral_load_dir(dir, &d, &c));
    struct forge f;
    forge_init(&f);
    EXPECT_CODE(verify_code(c, &f, T0), CS_OK);
    custos_nitro_collateral_free(c);
    c = NULL;
    unlink(path);
    d = (struct custos_diag){ 0 };
    EXPECT_ERR(custos_nitro_collateral_load_dir(dir, &d, &c), CS_E_IO);
    EXPECT_TRUE(strstr(d.msg, "trust_anchor.pem") != NULL);
    rmdir(dir);
    custos_nitro_collateral_free(NULL);
}

CS_TEST_MAIN(CS_TEST(test_cbor_every_initial_byte), CS_TEST(test_cbor_strings_and_truncation),
             CS_TEST(test_cbor_head_writer), CS_TEST(test_doc_valid_fields),
             CS_TEST(test_doc_every_truncation_and_trailing), CS_TEST(test_doc_envelope),
             CS_TEST(test_doc_protected_header), CS_TEST(test_doc_payload_map),
             CS_TEST(test_doc_field_values), CS_TEST(test_doc_ceilings),
             CS_TEST(test_doc_duplicate_pcr_and_order), CS_TEST(test_sig_structure),
             CS_TEST(test_verify_forged_and_claims), CS_TEST(test_verify_debug_claim),
             CS_TEST(test_verify_validity_and_memo), CS_TEST(test_verify_chain_shape),
             CS_TEST(test_verify_leaf_key_and_signature), CS_TEST(test_verify_memo_eviction),
             CS_TEST(test_verify_threads), CS_TEST(test_verify_out_of_memory),
             CS_TEST(test_collateral_inputs))
