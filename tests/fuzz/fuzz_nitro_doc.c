/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_nitro_doc_parse (COSE_Sign1 attestation documents, CBOR read with
 * libcbor's streaming decoder) and cs_nitro_sig_structure_encode. Corpus:
 * corpus/nitro_doc/.
 *
 * Besides "never crash, never read outside the input", a parsed document must satisfy:
 *   - every view (protected header, payload, signature, module_id, PCRs, certificate,
 *     cabundle entries, optional fields) lies inside the input, and every payload field
 *     inside the payload;
 *   - sizes and counts within the CS_NITRO_* ceilings, the signature exactly 96 bytes, the
 *     protected header no longer than {1: -35} can be, the PCR bitmap matching the count;
 *   - the signature item ends the input (nothing trails the top-level item);
 *   - the Sig_structure has the announced length, starts with the fixed prefix and ends
 *     with the payload bytes; one byte less of room fails cleanly;
 *   - the same bytes in an exact-size heap copy parse to the same shape.
 * A rejection is never answered with CS_E_ARG or CS_E_INTERNAL (codes for caller bugs).
 */
#include <string.h>

#include "core/cs_mem.h"
#include "evidence/nitro_doc.h"
#include "fuzz_target.h"

static void check_views(const struct cs_nitro_doc *d, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(fuzz_is_inside(d->protected_hdr, data, size));
    FUZZ_CHECK(fuzz_is_inside(d->payload, data, size));
    FUZZ_CHECK(fuzz_is_inside(d->signature, data, size));
    /* {1: -35}: three heads of 1..9 bytes each (longer heads than needed are accepted) */
    FUZZ_CHECK(d->protected_hdr.left >= 4 && d->protected_hdr.left <= 27);
    FUZZ_CHECK(d->signature.left == CS_NITRO_SIG_LEN);
    FUZZ_CHECK(d->signature.p + d->signature.left == data + size);
    FUZZ_CHECK(d->payload.left >= 1 && d->payload.left <= CS_NITRO_PAYLOAD_MAX);

    const uint8_t *pay = d->payload.p;
    size_t pay_len = d->payload.left;
    FUZZ_CHECK(fuzz_is_inside(d->module_id, pay, pay_len));
    FUZZ_CHECK(d->module_id.left >= 1 && d->module_id.left <= CS_NITRO_MODULE_ID_MAX);
    FUZZ_CHECK(d->timestamp_ms >= 1 && d->timestamp_ms <= CS_NITRO_TIMESTAMP_MAX);
    size_t n_pcrs = 0;
    for (size_t i = 0; i < CS_NITRO_PCR_MAX; i++) {
        if ((d->pcr_present & (1u << i)) == 0) {
            FUZZ_CHECK(d->pcrs[i].left == 0);
            continue;
        }
        n_pcrs++;
        FUZZ_CHECK(fuzz_is_inside(d->pcrs[i], pay, pay_len));
        size_t len = d->pcrs[i].left;
        FUZZ_CHECK(len == 32 || len == 48 || len == 64);
    }
    FUZZ_CHECK(n_pcrs == d->n_pcrs && n_pcrs >= 1);
    FUZZ_CHECK(fuzz_is_inside(d->certificate, pay, pay_len));
    FUZZ_CHECK(d->certificate.left >= 1 && d->certificate.left <= CS_NITRO_CERT_MAX);
    FUZZ_CHECK(d->n_cabundle >= 1 && d->n_cabundle <= CS_NITRO_CABUNDLE_MAX);
    for (size_t i = 0; i < d->n_cabundle; i++) {
        FUZZ_CHECK(fuzz_is_inside(d->cabundle[i], pay, pay_len));
        FUZZ_CHECK(d->cabundle[i].left >= 1 && d->cabundle[i].left <= CS_NITRO_CERT_MAX);
    }
    const struct cs_cur opt[3] = { d->public_key, d->user_data, d->nonce };
    const bool has[3] = { d->has_public_key, d->has_user_data, d->has_nonce };
    for (size_t i = 0; i < 3; i++) {
        FUZZ_CHECK(opt[i].left <= CS_NITRO_USER_DATA_MAX);
        FUZZ_CHECK(!has[i] || fuzz_is_inside(opt[i], pay, pay_len));
        FUZZ_CHECK(has[i] || opt[i].left == 0);
    }
}

static void check_sig_structure(const struct cs_nitro_doc *d)
{
    static const uint8_t prefix[] = { 0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1' };
    size_t len = 0;
    FUZZ_CHECK(cs_ok(cs_nitro_sig_structure_len(d, &len)));
    FUZZ_CHECK(len > sizeof prefix + d->protected_hdr.left + d->payload.left &&
               len <= CS_NITRO_SIG_STRUCTURE_MAX);
    CS_AUTO(cs_freep) uint8_t *out = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(len, 1, (void **)&out)));
    size_t got = 0;
    FUZZ_CHECK(cs_nitro_sig_structure_encode(d, out, len - 1, &got).code == CS_E_TOO_LARGE);
    FUZZ_CHECK(cs_ok(cs_nitro_sig_structure_encode(d, out, len, &got)) && got == len);
    FUZZ_CHECK(memcmp(out, prefix, sizeof prefix) == 0);
    FUZZ_CHECK(out[sizeof prefix] == 0x40 + d->protected_hdr.left); /* < 24: one-byte head */
    FUZZ_CHECK(memcmp(out + sizeof prefix + 1, d->protected_hdr.p, d->protected_hdr.left) == 0);
    FUZZ_CHECK(out[sizeof prefix + 1 + d->protected_hdr.left] == 0x40); /* external_aad h'' */
    FUZZ_CHECK(memcmp(out + len - d->payload.left, d->payload.p, d->payload.left) == 0);
}

static void check_exact_copy(const struct cs_nitro_doc *d, const uint8_t *data, size_t size)
{
    CS_AUTO(cs_freep) uint8_t *copy = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(size, 1, (void **)&copy)));
    memcpy(copy, data, size);
    struct cs_nitro_doc again;
    FUZZ_CHECK(cs_ok(cs_nitro_doc_parse(copy, size, &again)));
    FUZZ_CHECK(again.payload.left == d->payload.left && again.is_tagged == d->is_tagged);
    FUZZ_CHECK(again.pcr_present == d->pcr_present && again.n_cabundle == d->n_cabundle);
    FUZZ_CHECK(again.timestamp_ms == d->timestamp_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_nitro_doc d;
    cs_res r = cs_nitro_doc_parse(data, size, &d);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    check_views(&d, data, size);
    check_sig_structure(&d);
    check_exact_copy(&d, data, size);
    return 0;
}
