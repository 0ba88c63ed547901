/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/evidence.h"

#include <string.h>

#include "broker/broker_int.h"
#include "core/cs_b64.h"
#include "core/cs_buf.h"
#include "core/cs_hex.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_kbs_binding.h"
#include "custos/dcap.h"
#ifdef CS_HAVE_SNP
#include "custos/snp.h"
#endif
#include "custos/verdict.h"
#include "verify/verdict.h"
#include "policy/policy.h"

void cs_evidence_clear(struct cs_evidence *ev)
{
    cs_free(ev->evidence);
    json_decref(ev->verdict);
    memset(ev, 0, sizeof *ev);
}

static cs_res sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    uint8_t h[32];
    CS_TRY(cs_sha256((struct cs_cur){ .p = p, .left = n }, h));
    return cs_hex_encode(h, sizeof h, out, 65);
}

/* The platform evidence and the additional evidence string of a tee-evidence value. */
static cs_res split_evidence(const json_t *doc, const json_t **primary, const char **additional)
{
    const json_t *te = json_object_get(doc, "tee-evidence");
    CS_ENSURE(json_is_object(te), CS_E_FORMAT);
    const json_t *pe = json_object_get(te, "primary_evidence");
    *additional = "";
    if (pe == NULL) {
        *primary = te;
        return CS_SUCCESS;
    }
    CS_ENSURE(json_is_object(pe), CS_E_FORMAT);
    const json_t *ae = json_object_get(te, "additional_evidence");
    if (ae != NULL) {
        CS_ENSURE(json_is_string(ae), CS_E_FORMAT);
        *additional = json_string_value(ae);
    }
    *primary = pe;
    return CS_SUCCESS;
}

static cs_res decode_quote(const json_t *primary, struct cs_evidence *ev)
{
    const char *q = NULL;
    size_t qlen = 0;
    CS_TRY(cs_json_get_str(primary, "quote", CS_EVIDENCE_MAX * 4 / 3 + 4, &q, &qlen));
    size_t cap = qlen / 4 * 3 + 3; /* what qlen base64 characters can hold */
    CS_TRY(cs_alloc(1, cap, (void **)&ev->evidence));
    CS_TRY(cs_b64_decode(q, qlen, false, ev->evidence, cap, &ev->evidence_len));
    return CS_SUCCESS;
}

static cs_res verify_platform(struct cs_broker *b, const char *tee, const json_t *primary,
                              int64_t now, struct custos_verdict **v, struct cs_evidence *ev)
{
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) {
        CS_ENSURE(b->dcap != NULL, CS_E_UNSUPPORTED);
        CS_TRY(decode_quote(primary, ev));
        return custos_dcap_verify(b->dcap, ev->evidence, ev->evidence_len, now, v);
    }
#ifdef CS_HAVE_SNP
    if (strcmp(tee, "snp") == 0) {
        CS_ENSURE(b->snp != NULL, CS_E_UNSUPPORTED);
        char *text = json_dumps(primary, JSON_COMPACT | JSON_PRESERVE_ORDER);
        CS_ENSURE(text != NULL, CS_E_NOMEM);
        ev->evidence = (uint8_t *)text;
        ev->evidence_len = strlen(text);
        CS_ENSURE(ev->evidence_len <= CS_EVIDENCE_MAX, CS_E_TOO_LARGE);
        return custos_snp_verify(b->snp, ev->evidence, ev->evidence_len, now, v);
    }
#endif
    CS_FAIL(CS_E_UNSUPPORTED);
}

/* report_data of the claims == the binding of nonce, TEE key and additional evidence. */
static cs_res check_binding(const json_t *verdict, const char *nonce, const json_t *tee_pubkey,
                            const char *additional)
{
    const json_t *claims = json_object_get(verdict, "claims");
    uint8_t got[64];
    CS_TRY(cs_json_get_hex(claims, "report_data", got, sizeof got));
    uint8_t want[64];
    CS_AUTO(cs_json_decrefp) json_t *key = json_deep_copy(tee_pubkey);
    CS_ENSURE(key != NULL, CS_E_NOMEM);
    CS_TRY(cs_kbs_report_data(nonce, key, additional, want));
    CS_ENSURE(cs_ct_equal(got, want, sizeof got), CS_E_BINDING);
    return CS_SUCCESS;
}

/* The init-data of the request, bound to the measured field of the verified claims. */
static cs_res check_init_data(const json_t *doc, const char *tee, struct cs_evidence *ev)
{
    const json_t *id = json_object_get(doc, "init-data");
    if (id == NULL || json_is_null(id)) {
        return CS_SUCCESS;
    }
    const char *format = NULL;
    const char *body = NULL;
    size_t n = 0;
    CS_ENSURE(json_is_object(id), CS_E_FORMAT);
    CS_TRY(cs_json_get_str(id, "format", 7, &format, NULL));
    CS_ENSURE(strcmp(format, "toml") == 0 || strcmp(format, "json") == 0, CS_E_FORMAT);
    CS_TRY(cs_json_get_str(id, "body", 256u * 1024u, &body, &n));
    uint8_t want[48];
    size_t wlen = 0;
    CS_TRY(cs_kbs_init_data_digest(tee, (const uint8_t *)body, n, want, &wlen));
    const json_t *claims = json_object_get(ev->verdict, "claims");
    uint8_t got[48];
    CS_TRY(cs_json_get_hex(claims, wlen == 48 ? "mr_config_id" : "host_data", got, wlen));
    CS_ENSURE(cs_ct_equal(got, want, wlen), CS_E_BINDING);
    snprintf(ev->init_data_format, sizeof ev->init_data_format, "%s", format);
    return cs_hex_encode(want, wlen, ev->init_data_digest, sizeof ev->init_data_digest);
}

CS_RESULT cs_evidence_verify(struct cs_broker *b, const char *tee, const json_t *doc,
                             const char *nonce, const json_t *tee_pubkey, int64_t now,
                             struct cs_evidence *ev)
{
    const json_t *primary = NULL;
    const char *additional = NULL;
    CS_TRY(split_evidence(doc, &primary, &additional));
    struct custos_verdict *v = NULL;
    cs_res r = verify_platform(b, tee, primary, now, &v, ev);
    if (ev->evidence != NULL) {
        CS_TRY(cs_sha256((struct cs_cur){ .p = ev->evidence, .left = ev->evidence_len },
                         ev->evidence_digest));
        CS_TRY(cs_hex_encode(ev->evidence_digest, 32, ev->evidence_sha256, 65));
    }
    if (!cs_ok(r) && v == NULL) {
        return r.code == CS_E_UNSUPPORTED || r.code == CS_E_FORMAT || r.code == CS_E_TOO_LARGE
                       || r.code == CS_E_TRUNCATED
                   ? (cs_res){ .code = CS_E_FORMAT }
                   : r;
    }
    r = cs_verdict_json(v, &ev->verdict);
    ev->is_verified = custos_verdict_is_verified(v);
    ev->code = custos_verdict_code(v);
    if (ev->is_verified && strcmp(custos_verdict_platform(v), tee) != 0) {
        /* the session was opened for another TEE than the evidence is from (sgx vs tdx) */
        ev->is_verified = false;
        ev->code = CS_E_BINDING;
    }
    const char *tcb = custos_verdict_tcb_status(v);
    snprintf(ev->tcb_status, sizeof ev->tcb_status, "%s", tcb != NULL ? tcb : "");
    custos_verdict_free(v); /* the json holds its own references to the claims */
    CS_TRY(r);
    ev->is_debug = json_is_true(json_object_get(json_object_get(ev->verdict, "claims"), "debug"));
    if (!ev->is_verified) {
        return CS_SUCCESS;
    }
    r = check_binding(ev->verdict, nonce, tee_pubkey, additional);
    if (cs_ok(r)) {
        r = check_init_data(doc, tee, ev);
    }
    if (!cs_ok(r)) {
        ev->is_verified = false;
        ev->code = r.code == CS_E_NOMEM ? CS_E_NOMEM : CS_E_BINDING;
        return CS_SUCCESS;
    }
    struct cs_buf jcs;
    cs_buf_init(&jcs, 4u << 20);
    r = cs_jcs_encode(json_object_get(ev->verdict, "claims"), &jcs);
    if (cs_ok(r)) {
        r = sha256_hex(jcs.p, jcs.len, ev->claims_sha256);
    }
    cs_buf_clear(&jcs);
    return r;
}

CS_RESULT cs_evidence_input(const struct cs_evidence *ev, bool is_development, json_t **out)
{
    /*
     * is_verified includes the REPORT_DATA binding, which covers this session's nonce, and
     * the nonce is single use (the store's atomic attest step): the evidence is fresh.
     */
    CS_ENSURE(ev->is_verified && ev->verdict != NULL, CS_E_POLICY);
    CS_TRY(cs_policy_input_from_verdict(ev->verdict, true, is_development, out));
    if (ev->init_data_digest[0] != '\0') {
        json_t *id = json_pack("{s:s, s:s}", "digest", ev->init_data_digest, "format",
                               ev->init_data_format);
        cs_res r = cs_json_set_new(*out, "init_data", id);
        if (!cs_ok(r)) {
            json_decref(*out);
            *out = NULL;
            return r;
        }
    }
    return CS_SUCCESS;
}
