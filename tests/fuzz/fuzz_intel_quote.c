/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_intel_quote_parse (SGX v3, v4, v5 quotes). Corpus: corpus/intel_quote/.
 *
 * Besides "never crash, never read outside the input", a parsed quote must satisfy:
 *   - signed_span.left + 4 + sig_data.left + trailing_len == size, with the signed span
 *     starting at the first byte and the signature data right after its length field;
 *   - every view (signed span, signature data, QE report, QE auth data, PCK chain) lies
 *     inside the input, and the QE parts inside the signature data;
 *   - the quote alone, without what follows its declared end, parses the same way from
 *     an exact-size copy (so the parser never reads past the declared end).
 */
#include <string.h>

#include "core/cs_mem.h"
#include "evidence/intel_quote.h"
#include "fuzz_target.h"

static void check_views(const struct cs_intel_quote *q, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(q->signed_span.p == data);
    FUZZ_CHECK(q->signed_span.left + 4 + q->sig_data.left + q->trailing_len == size);
    FUZZ_CHECK(q->quote_len + q->trailing_len == size);
    FUZZ_CHECK(fuzz_is_inside(q->signed_span, data, size));
    FUZZ_CHECK(fuzz_is_inside(q->sig_data, data, size));
    FUZZ_CHECK(q->sig_data.p == q->signed_span.p + q->signed_span.left + 4);

    const uint8_t *sig = q->sig_data.p;
    size_t sig_len = q->sig_data.left;
    FUZZ_CHECK(fuzz_is_inside(q->qe_report_raw, sig, sig_len));
    FUZZ_CHECK(fuzz_is_inside(q->qe_auth_data, sig, sig_len));
    FUZZ_CHECK(fuzz_is_inside(q->pck_chain, sig, sig_len));
    FUZZ_CHECK(q->qe_report_raw.left == CS_SGX_REPORT_BODY_LEN);
    FUZZ_CHECK(q->qe_auth_data.left <= CS_INTEL_QE_AUTH_MAX);
    FUZZ_CHECK(q->pck_chain.left <= CS_INTEL_CERT_DATA_MAX);
}

static void check_fields(const struct cs_intel_quote *q)
{
    FUZZ_CHECK(q->version >= 3 && q->version <= 5);
    FUZZ_CHECK(q->att_key_type == CS_INTEL_ATT_KEY_ECDSA_P256);
    bool is_tdx = q->body_type == CS_INTEL_BODY_TDX10 || q->body_type == CS_INTEL_BODY_TDX15;
    FUZZ_CHECK(is_tdx || q->body_type == CS_INTEL_BODY_SGX);
    FUZZ_CHECK(is_tdx == (q->tee_type == CS_INTEL_TEE_TDX));
    FUZZ_CHECK(q->tdx.has_tdx15 == (q->body_type == CS_INTEL_BODY_TDX15));
    FUZZ_CHECK(q->version == 5 || q->body_type != CS_INTEL_BODY_TDX15);
    size_t rd = cs_intel_quote_report_data_offset(q);
    FUZZ_CHECK(rd >= CS_INTEL_HEADER_LEN && rd <= q->signed_span.left &&
               q->signed_span.left - rd >= 64);
}

/* The declared quote, in a heap block that ends where the quote ends, parses identically. */
static void check_exact_copy(const struct cs_intel_quote *q)
{
    CS_AUTO(cs_freep) uint8_t *copy = NULL;
    FUZZ_CHECK(cs_ok(cs_alloc(q->quote_len, 1, (void **)&copy)));
    memcpy(copy, q->signed_span.p, q->quote_len);
    struct cs_intel_quote again;
    FUZZ_CHECK(cs_ok(cs_intel_quote_parse(copy, q->quote_len, &again)));
    FUZZ_CHECK(again.trailing_len == 0 && again.quote_len == q->quote_len);
    FUZZ_CHECK(again.signed_span.left == q->signed_span.left);
    FUZZ_CHECK(again.body_type == q->body_type);
    FUZZ_CHECK(memcmp(again.quote_sig, q->quote_sig, sizeof q->quote_sig) == 0);
    FUZZ_CHECK(memcmp(again.att_key, q->att_key, sizeof q->att_key) == 0);
    FUZZ_CHECK(again.pck_chain.left == q->pck_chain.left);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_intel_quote q;
    cs_res r = cs_intel_quote_parse(data, size, &q);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code));
        return 0;
    }
    check_views(&q, data, size);
    check_fields(&q);
    if (q.trailing_len > 0) {
        check_exact_copy(&q);
    }
    return 0;
}
