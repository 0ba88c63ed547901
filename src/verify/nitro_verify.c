/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Nitro Enclaves attestation document verification, in the order of
 * aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.2 ("Decode the CBOR object
 * and map it to a COSE_Sign1 structure; Extract the Attestation Document; Verify the
 * certificates chain; Ensure that the Signed Attestation Document was correctly signed"):
 *
 *   parse (COSE_Sign1 + payload) -> chain (memoised) -> validity of every certificate at
 *   `at` -> ES384 signature over the Sig_structure -> expected nonce (when given).
 *
 * The verdict's code is the first failure; claims read from the document are recorded
 * right after parsing (for diagnosis: a verdict releases claims only when verified).
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"
#include "verify/nitro_internal.h"
#include "verify/verdict.h"

/* Hex of a byte string as a claim: on the stack when short (PCRs), else on the heap. */
static cs_res set_hex(json_t *o, const char *key, struct cs_cur v)
{
    char small[2 * 64 + 1];
    CS_AUTO(cs_freep) char *big = NULL;
    char *hex = small;
    if (v.left > 64) {
        CS_ENSURE(v.left <= CS_NITRO_PAYLOAD_MAX, CS_E_ARG);
        CS_TRY(cs_alloc(2 * v.left + 1, 1, (void **)&big));
        hex = big;
    }
    CS_TRY(cs_hex_encode(v.p, v.left, hex, 2 * v.left + 1));
    /* lower-case hex is ASCII, so jansson's UTF-8 validation can be skipped */
    return cs_json_set_new(o, key, json_stringn_nocheck(hex, 2 * v.left));
}

static cs_res set_optional(json_t *o, const char *key, bool has, struct cs_cur v)
{
    return has ? set_hex(o, key, v) : cs_json_set_new(o, key, json_null());
}

static cs_res set_time(json_t *o, const char *key, int64_t t)
{
    char text[CS_TIME_TEXT_LEN];
    CS_TRY(cs_time_format(t, text));
    return cs_json_set_new(o, key, json_string(text));
}

static bool is_zero(struct cs_cur v)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < v.left; i++) {
        acc |= v.p[i];
    }
    return acc == 0;
}

/*
 * An enclave started in debug mode reports PCR0, PCR1 and PCR2 as all zeros (AWS Nitro
 * Enclaves User Guide, "Where to get an enclave's measurements"; anjuna-security
 * go-nitro-attestation IsDebugEnclave). A document lacking one of them proves no image
 * either, so it also counts as debug: the flag fails closed.
 */
static bool is_debug(const struct cs_nitro_doc *d)
{
    for (uint32_t i = 0; i < 3; i++) {
        if ((d->pcr_present & (1u << i)) != 0 && !is_zero(d->pcrs[i])) {
            return false;
        }
    }
    return true;
}

static cs_res claims_pcrs(json_t *o, const struct cs_nitro_doc *d)
{
    json_t *pcrs = json_object();
    CS_TRY(cs_json_set_new(o, "pcrs", pcrs)); /* o owns it, also on failure below */
    for (uint32_t i = 0; i < CS_NITRO_PCR_MAX; i++) {
        if ((d->pcr_present & (1u << i)) != 0) {
            char idx[4];
            snprintf(idx, sizeof idx, "%u", (unsigned)i);
            CS_TRY(set_hex(pcrs, idx, d->pcrs[i]));
        }
    }
    return CS_SUCCESS;
}

static cs_res claims_doc(json_t *o, const struct cs_nitro_doc *d, const uint8_t *buf, size_t len)
{
    uint8_t digest[32];
    CS_TRY(cs_sha256(cs_cur_of(buf, len), digest));
    CS_TRY(cs_json_set_hex(o, "evidence_sha256", digest, sizeof digest));
    /* module_id is printable ASCII (checked by the parser): valid UTF-8 */
    CS_TRY(cs_json_set_new(o, "module_id",
                           json_stringn_nocheck((const char *)d->module_id.p, d->module_id.left)));
    CS_TRY(cs_json_set_new(o, "digest", json_string("SHA384")));
    CS_TRY(cs_json_set_new(o, "timestamp_ms", json_integer((json_int_t)d->timestamp_ms)));
    CS_TRY(set_time(o, "timestamp", (int64_t)(d->timestamp_ms / 1000)));
    CS_TRY(claims_pcrs(o, d));
    CS_TRY(set_optional(o, "public_key", d->has_public_key, d->public_key));
    CS_TRY(set_optional(o, "user_data", d->has_user_data, d->user_data));
    CS_TRY(set_optional(o, "nonce", d->has_nonce, d->nonce));
    return cs_json_set_new(o, "debug", json_boolean(is_debug(d)));
}

/* RFC 9052 §4.4: the signature covers the Sig_structure, built here from the received bytes. */
static cs_res check_signature(const struct custos_nitro_collateral *c,
                              const struct cs_nitro_doc *d, EVP_PKEY *key,
                              struct custos_diag *diag)
{
    size_t cap = 0;
    CS_TRY(cs_nitro_sig_structure_len(d, &cap));
    CS_AUTO(cs_freep) uint8_t *tbs = NULL;
    CS_TRY(cs_alloc(cap, 1, (void **)&tbs));
    size_t len = 0;
    CS_TRY(cs_nitro_sig_structure_encode(d, tbs, cap, &len));
    CS_ENSURE(len == cap, CS_E_INTERNAL);
    cs_res r = cs_ecdsa_verify_rs(key, c->sha384, d->signature.p, d->signature.left,
                                  cs_cur_of(tbs, len));
    CS_ENSURE_WHY(cs_ok(r), r.code, diag,
                  "COSE_Sign1 signature does not verify with the certificate's key");
    return CS_SUCCESS;
}

static cs_res verify_doc(struct custos_nitro_collateral *c, const uint8_t *buf, size_t len,
                         const uint8_t *nonce, size_t nonce_len, int64_t at,
                         struct custos_verdict *v, struct custos_diag *diag)
{
    struct cs_nitro_doc d;
    cs_res r = cs_nitro_doc_parse(buf, len, &d);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "attestation document: %s", custos_code_name(r.code));
    snprintf(v->platform, sizeof v->platform, "nitro");
    CS_TRY(claims_doc(v->claims, &d, buf, len));

    CS_AUTO(cs_evp_pkey_freep) EVP_PKEY *key = NULL;
    struct cs_window w;
    CS_TRY(cs_nitro_chain(c, &d, &key, &w, diag));
    CS_TRY(set_time(v->claims, "collateral_expiry", w.not_after));
    char edge[CS_TIME_TEXT_LEN];
    cs_time_text(at < w.not_before ? w.not_before : w.not_after, edge);
    CS_ENSURE_WHY(at >= w.not_before && at <= w.not_after, CS_E_EXPIRED, diag,
                  "certificate chain %s %s", at < w.not_before ? "not valid before" : "expired at",
                  edge);
    CS_TRY(check_signature(c, &d, key, diag));
    /* Everything below judges signed content: it runs only once the signature holds. */
    if (nonce != NULL) {
        CS_ENSURE_WHY(d.has_nonce && d.nonce.left == nonce_len &&
                          CRYPTO_memcmp(d.nonce.p, nonce, nonce_len) == 0,
                      CS_E_BINDING, diag, "document nonce is %s the expected nonce",
                      d.has_nonce ? "not" : "absent, not");
    }
    return CS_SUCCESS;
}

CS_RESULT custos_nitro_verify(struct custos_nitro_collateral *c, const uint8_t *doc, size_t len,
                              const uint8_t *nonce, size_t nonce_len, int64_t at,
                              struct custos_verdict **out)
{
    CS_ENSURE(c != NULL && out != NULL && (doc != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(nonce != NULL || nonce_len == 0, CS_E_ARG);
    *out = NULL;
    struct custos_verdict *v = NULL;
    CS_TRY(cs_verdict_new("", &v));
    struct custos_diag diag = { 0 };
    cs_res r = verify_doc(c, doc, len, nonce, nonce_len, at, v, &diag);
    cs_verdict_finish(v, r, &diag);
    *out = v;
    return r;
}
