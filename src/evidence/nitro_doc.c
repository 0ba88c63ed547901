/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Nitro Enclaves attestation document: COSE_Sign1 envelope (RFC 9052 §4.2), payload
 * map (aws/aws-nitro-enclaves-nsm-api docs/attestation_process.md §2.2 CDDL, §3.2.2
 * syntactical validation), and the Sig_structure its signature covers (RFC 9052 §4.4).
 * Field layout cross-checked with the documents of anjuna-security/go-nitro-attestation
 * and EternisAI/remote-attestation-verifier (FORMATS.md §3 of the shared test data).
 */
#include "evidence/nitro_doc.h"

#include <string.h>

#include "evidence/nitro_cbor.h"

/* RFC 9052 §4.2: "The COSE_Sign1 structure is ... identified by the CBOR tag 18". */
#define COSE_SIGN1_TAG 18u
#define COSE_SIGN1_ITEMS 4u
/* RFC 9052 §3.1 header label 1 = alg; RFC 9053 §2.1 ES384 = -35, i.e. CBOR negint n = 34. */
#define COSE_HEADER_ALG 1u
#define COSE_ALG_ES384_N 34u

#define CBOR_MAJOR_BYTES 2u
#define CBOR_MAJOR_TEXT 3u
#define CBOR_MAJOR_ARRAY 4u

enum field {
    F_MODULE_ID,
    F_DIGEST,
    F_TIMESTAMP,
    F_PCRS,
    F_CERTIFICATE,
    F_CABUNDLE,
    F_PUBLIC_KEY,
    F_USER_DATA,
    F_NONCE,
    N_FIELDS
};

/* §3.2.2.1 "Attestation Document Allowed Fields"; the first six are mandatory. */
static const char *const field_names[N_FIELDS] = {
    [F_MODULE_ID] = "module_id",     [F_DIGEST] = "digest",     [F_TIMESTAMP] = "timestamp",
    [F_PCRS] = "pcrs",               [F_CERTIFICATE] = "certificate",
    [F_CABUNDLE] = "cabundle",       [F_PUBLIC_KEY] = "public_key",
    [F_USER_DATA] = "user_data",     [F_NONCE] = "nonce",
};
#define MANDATORY_FIELDS                                                                   \
    ((1u << F_MODULE_ID) | (1u << F_DIGEST) | (1u << F_TIMESTAMP) | (1u << F_PCRS) |       \
     (1u << F_CERTIFICATE) | (1u << F_CABUNDLE))

static bool view_is(struct cs_cur v, const char *lit)
{
    size_t n = strlen(lit);
    return v.left == n && memcmp(v.p, lit, n) == 0;
}

/*
 * RFC 9052 §3: protected = empty_or_serialized_map. attestation_process.md §3.1 gives
 * {1: -35}; any other content (no alg, another alg, more parameters such as crit) is a
 * document we do not support. Malformed CBOR is a format error.
 */
static cs_res parse_protected(struct cs_cur p)
{
    CS_ENSURE(p.left > 0, CS_E_UNSUPPORTED); /* empty: no algorithm at all */
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(&p, CS_NITRO_CBOR_MAP, &it));
    CS_ENSURE(it.value == 1, CS_E_UNSUPPORTED);
    CS_TRY(cs_nitro_cbor_next(&p, &it));
    CS_ENSURE(it.kind == CS_NITRO_CBOR_UINT && it.value == COSE_HEADER_ALG, CS_E_UNSUPPORTED);
    CS_TRY(cs_nitro_cbor_next(&p, &it));
    CS_ENSURE(it.kind == CS_NITRO_CBOR_NEGINT && it.value == COSE_ALG_ES384_N, CS_E_UNSUPPORTED);
    return cs_cur_end(&p);
}

/* A byte string of lo..hi bytes: under lo is malformed, over hi is over a ceiling. */
static cs_res bytes_in(struct cs_cur *c, size_t lo, size_t hi, struct cs_cur *out)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_BYTES, &it));
    CS_ENSURE(it.bytes.left >= lo, CS_E_FORMAT);
    CS_ENSURE(it.bytes.left <= hi, CS_E_TOO_LARGE);
    *out = it.bytes;
    return CS_SUCCESS;
}

/* §3.2.2.2 module_id: "Type: Text String, $length != 0"; we keep printable ASCII only. */
static cs_res parse_module_id(struct cs_cur *c, struct cs_nitro_doc *d)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_TEXT, &it));
    CS_ENSURE(it.bytes.left > 0, CS_E_FORMAT);
    CS_ENSURE(it.bytes.left <= CS_NITRO_MODULE_ID_MAX, CS_E_TOO_LARGE);
    for (size_t i = 0; i < it.bytes.left; i++) {
        CS_ENSURE(it.bytes.p[i] >= 0x20 && it.bytes.p[i] <= 0x7e, CS_E_FORMAT);
    }
    d->module_id = it.bytes;
    return CS_SUCCESS;
}

/* §3.2.2.2 digest: "$value ∈ {"SHA384"}". */
static cs_res parse_digest(struct cs_cur *c)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_TEXT, &it));
    CS_ENSURE(view_is(it.bytes, "SHA384"), CS_E_UNSUPPORTED);
    return CS_SUCCESS;
}

/* §2.2 "timestamp: uint .size 8" in milliseconds; §3.2.2.2 "$value > 0". */
static cs_res parse_timestamp(struct cs_cur *c, struct cs_nitro_doc *d)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_UINT, &it));
    CS_ENSURE(it.value > 0 && it.value <= CS_NITRO_TIMESTAMP_MAX, CS_E_FORMAT);
    d->timestamp_ms = it.value;
    return CS_SUCCESS;
}

/*
 * §3.2.2.2 pcrs: "$size ∈ [1, 32]", keys integers in [0, 32), values byte strings of
 * 32, 48 or 64 bytes. A repeated index is a duplicate key (RFC 8949 §5.6: invalid).
 */
static cs_res parse_pcrs(struct cs_cur *c, struct cs_nitro_doc *d)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_MAP, &it));
    CS_ENSURE(it.value >= 1 && it.value <= CS_NITRO_PCR_MAX, CS_E_FORMAT);
    size_t n = (size_t)it.value;
    for (size_t i = 0; i < n; i++) {
        CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_UINT, &it));
        CS_ENSURE(it.value < CS_NITRO_PCR_MAX, CS_E_FORMAT);
        uint32_t idx = (uint32_t)it.value;
        CS_ENSURE((d->pcr_present & (1u << idx)) == 0, CS_E_FORMAT);
        CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_BYTES, &it));
        size_t len = it.bytes.left;
        CS_ENSURE(len == 32 || len == 48 || len == 64, CS_E_FORMAT);
        d->pcrs[idx] = it.bytes;
        d->pcr_present |= 1u << idx;
    }
    d->n_pcrs = n;
    return CS_SUCCESS;
}

/* §3.2.2.2 cabundle: "$length > 0", each entry a byte string of 1..1024 bytes. */
static cs_res parse_cabundle(struct cs_cur *c, struct cs_nitro_doc *d)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(c, CS_NITRO_CBOR_ARRAY, &it));
    CS_ENSURE(it.value > 0, CS_E_FORMAT);
    CS_ENSURE(it.value <= CS_NITRO_CABUNDLE_MAX, CS_E_TOO_LARGE);
    size_t n = (size_t)it.value;
    for (size_t i = 0; i < n; i++) {
        CS_TRY(bytes_in(c, 1, CS_NITRO_CERT_MAX, &d->cabundle[i]));
    }
    d->n_cabundle = n;
    return CS_SUCCESS;
}

/* public_key, user_data, nonce: §2.2 "user_data = bytes .size (0..1024)", or null. */
static cs_res parse_optional(struct cs_cur *c, bool *has, struct cs_cur *out)
{
    struct cs_cur at = *c;
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_next(&at, &it));
    if (it.kind == CS_NITRO_CBOR_NULL) {
        *c = at;
        return CS_SUCCESS; /* real documents write null for an absent field */
    }
    CS_TRY(bytes_in(c, 0, CS_NITRO_USER_DATA_MAX, out));
    *has = true;
    return CS_SUCCESS;
}

static cs_res parse_field(struct cs_cur *c, enum field f, struct cs_nitro_doc *d)
{
    switch (f) {
    case F_MODULE_ID:
        return parse_module_id(c, d);
    case F_DIGEST:
        return parse_digest(c);
    case F_TIMESTAMP:
        return parse_timestamp(c, d);
    case F_PCRS:
        return parse_pcrs(c, d);
    case F_CERTIFICATE:
        return bytes_in(c, 1, CS_NITRO_CERT_MAX, &d->certificate);
    case F_CABUNDLE:
        return parse_cabundle(c, d);
    case F_PUBLIC_KEY:
        return parse_optional(c, &d->has_public_key, &d->public_key);
    case F_USER_DATA:
        return parse_optional(c, &d->has_user_data, &d->user_data);
    case F_NONCE:
        return parse_optional(c, &d->has_nonce, &d->nonce);
    default:
        CS_FAIL(CS_E_INTERNAL);
    }
}

/*
 * §2.2 AttestationDocument: a map with text keys. Every key must be one of the allowed
 * fields, once (RFC 8949 §5.6: duplicate keys make the map invalid); §3.2.2.1: "If any of
 * the previously stated rules is not fulfilled, we fail the validation".
 */
static cs_res parse_payload(struct cs_cur p, struct cs_nitro_doc *d)
{
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_expect(&p, CS_NITRO_CBOR_MAP, &it));
    uint64_t n = it.value;
    uint32_t seen = 0;
    /* at most N_FIELDS + 1 rounds: the pair after the last field is unknown or a repeat */
    for (uint64_t i = 0; i < n; i++) {
        CS_TRY(cs_nitro_cbor_expect(&p, CS_NITRO_CBOR_TEXT, &it));
        size_t f = 0;
        while (f < N_FIELDS && !view_is(it.bytes, field_names[f])) {
            f++;
        }
        CS_ENSURE(f < N_FIELDS, CS_E_UNSUPPORTED);
        CS_ENSURE((seen & (1u << f)) == 0, CS_E_FORMAT);
        seen |= 1u << f;
        CS_TRY(parse_field(&p, (enum field)f, d));
    }
    CS_TRY(cs_cur_end(&p)); /* the bstr holds the map and nothing else */
    CS_ENSURE((seen & MANDATORY_FIELDS) == MANDATORY_FIELDS, CS_E_FORMAT);
    return CS_SUCCESS;
}

CS_RESULT cs_nitro_doc_parse(const uint8_t *buf, size_t len, struct cs_nitro_doc *d)
{
    CS_ENSURE(d != NULL && (buf != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CS_NITRO_DOC_MAX, CS_E_TOO_LARGE); /* hard ceiling before any work */
    *d = (struct cs_nitro_doc){ 0 };
    struct cs_cur c = cs_cur_of(buf, len);
    struct cs_nitro_cbor_item it;
    CS_TRY(cs_nitro_cbor_next(&c, &it));
    if (it.kind == CS_NITRO_CBOR_TAG) { /* RFC 9052 §2: tagged or untagged, by context */
        CS_ENSURE(it.value == COSE_SIGN1_TAG, CS_E_UNSUPPORTED);
        d->is_tagged = true;
        CS_TRY(cs_nitro_cbor_next(&c, &it));
    }
    /* RFC 9052 §4.2: COSE_Sign1 = [Headers (protected, unprotected), payload, signature] */
    CS_ENSURE(it.kind == CS_NITRO_CBOR_ARRAY && it.value == COSE_SIGN1_ITEMS, CS_E_FORMAT);
    CS_TRY(cs_nitro_cbor_expect(&c, CS_NITRO_CBOR_BYTES, &it));
    d->protected_hdr = it.bytes;
    CS_TRY(parse_protected(d->protected_hdr));
    /* attestation_process.md §3.1: "{}, We have nothing in unprotected" */
    CS_TRY(cs_nitro_cbor_expect(&c, CS_NITRO_CBOR_MAP, &it));
    CS_ENSURE(it.value == 0, CS_E_UNSUPPORTED);
    /* RFC 9052 §4.1: payload is bstr or nil (detached); a document carries its payload */
    CS_TRY(cs_nitro_cbor_next(&c, &it));
    CS_ENSURE(it.kind != CS_NITRO_CBOR_NULL, CS_E_UNSUPPORTED);
    CS_ENSURE(it.kind == CS_NITRO_CBOR_BYTES && it.bytes.left > 0, CS_E_FORMAT);
    CS_ENSURE(it.bytes.left <= CS_NITRO_PAYLOAD_MAX, CS_E_TOO_LARGE);
    d->payload = it.bytes;
    /* RFC 9053 §2.1: the ES384 signature is r || s, 48 bytes each (not DER) */
    CS_TRY(cs_nitro_cbor_expect(&c, CS_NITRO_CBOR_BYTES, &it));
    CS_ENSURE(it.bytes.left == CS_NITRO_SIG_LEN, CS_E_FORMAT);
    d->signature = it.bytes;
    CS_TRY(cs_cur_end(&c)); /* nothing may follow the top-level item */
    return parse_payload(d->payload, d);
}

CS_RESULT cs_nitro_sig_structure_len(const struct cs_nitro_doc *d, size_t *len)
{
    CS_ENSURE(d != NULL && len != NULL, CS_E_ARG);
    CS_ENSURE(d->protected_hdr.left <= 64 && d->payload.left <= CS_NITRO_PAYLOAD_MAX,
              CS_E_ARG); /* only parsed documents come here: sums below cannot wrap */
    static const char context[] = "Signature1";
    *len = 1 + cs_nitro_cbor_head_len(sizeof context - 1) + (sizeof context - 1) +
           cs_nitro_cbor_head_len(d->protected_hdr.left) + d->protected_hdr.left + 1 +
           cs_nitro_cbor_head_len(d->payload.left) + d->payload.left;
    return CS_SUCCESS;
}

CS_RESULT cs_nitro_sig_structure_encode(const struct cs_nitro_doc *d, uint8_t *out, size_t cap,
                                        size_t *len)
{
    CS_ENSURE(d != NULL && out != NULL && len != NULL, CS_E_ARG);
    *len = 0;
    static const char context[] = "Signature1"; /* RFC 9052 §4.4: COSE_Sign1 context */
    struct cs_nitro_cbor_out o = { out, cap, 0 };
    CS_TRY(cs_nitro_cbor_put_head(&o, CBOR_MAJOR_ARRAY, 4));
    CS_TRY(cs_nitro_cbor_put_head(&o, CBOR_MAJOR_TEXT, sizeof context - 1));
    CS_TRY(cs_nitro_cbor_put_bytes(&o, cs_cur_of((const uint8_t *)context, sizeof context - 1)));
    CS_TRY(cs_nitro_cbor_put_head(&o, CBOR_MAJOR_BYTES, d->protected_hdr.left));
    CS_TRY(cs_nitro_cbor_put_bytes(&o, d->protected_hdr));
    CS_TRY(cs_nitro_cbor_put_head(&o, CBOR_MAJOR_BYTES, 0)); /* external_aad: none */
    CS_TRY(cs_nitro_cbor_put_head(&o, CBOR_MAJOR_BYTES, d->payload.left));
    CS_TRY(cs_nitro_cbor_put_bytes(&o, d->payload));
    *len = o.len;
    return CS_SUCCESS;
}
