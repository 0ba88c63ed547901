/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM 2.0 quote verification. Order of checks (docs/platforms/tpm.md):
 *
 *   parse TPMS_ATTEST, TPMT_SIGNATURE, PCR values -> AK: pinned, or certificate chain to
 *   the anchor -> validity of that chain at `at` -> the AK fits the signature scheme
 *   -> signature over the exact TPMS_ATTEST bytes -> extraData = expected nonce
 *   -> every selected PCR presented, H_sig(selected values in selection order) = pcrDigest.
 *
 * As for DCAP, the signature is checked before any signed field is judged, so tampered
 * evidence reads as `signature`, and a binding is only ever judged on signed bytes.
 *
 * The verdict's code is the first failure; claims read so far are kept for diagnosis.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "evidence/tpm_attest.h"
#include "evidence/tpm_pcrs.h"
#include "verify/tpm_internal.h"
#include "verify/verdict.h"

static struct cs_cur cur_of(struct custos_bytes b)
{
    return cs_cur_of(b.p, b.len);
}

static void ak_clearp(struct cs_tpm_ak *ak)
{
    cs_tpm_ak_clear(ak);
}

/* A u64 claim as a JSON integer; omitted when over INT64_MAX (JSON integers are signed). */
static cs_res set_u64(json_t *o, const char *key, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return CS_SUCCESS;
    }
    return cs_json_set_new(o, key, json_integer((json_int_t)v));
}

/* ---- claims --------------------------------------------------------------------- */

static cs_res claims_attest(json_t *o, const struct cs_tpm_attest *a)
{
    uint8_t digest[CS_SHA256_LEN];
    CS_TRY(cs_sha256(a->signed_span, digest));
    CS_TRY(cs_json_set_hex(o, "evidence_sha256", digest, sizeof digest));
    CS_TRY(cs_json_set_hex(o, "nonce", a->extra_data.p, a->extra_data.left));
    CS_TRY(cs_json_set_hex(o, "qualified_signer", a->qualified_signer.p, a->qualified_signer.left));
    char fw[2 + 16 + 1];
    snprintf(fw, sizeof fw, "0x%016llx", (unsigned long long)a->firmware_version);
    CS_TRY(cs_json_set_new(o, "firmware_version", json_string(fw)));
    CS_TRY(set_u64(o, "firmware_version_int", a->firmware_version));
    CS_TRY(set_u64(o, "clock", a->clock));
    CS_TRY(cs_json_set_new(o, "reset_count", json_integer(a->reset_count)));
    CS_TRY(cs_json_set_new(o, "restart_count", json_integer(a->restart_count)));
    CS_TRY(cs_json_set_new(o, "safe", json_boolean(a->is_safe)));
    CS_TRY(cs_json_set_hex(o, "pcr_digest", a->pcr_digest.p, a->pcr_digest.left));
    /* A TPM quote says nothing about debuggability: the claim exists for a uniform schema. */
    return cs_json_set_new(o, "debug", json_false());
}

static cs_res claims_ak(json_t *o, const struct cs_tpm_ak *ak)
{
    CS_TRY(cs_json_set_hex(o, "ak_fingerprint", ak->fingerprint, sizeof ak->fingerprint));
    CS_TRY(cs_json_set_new(o, "ak_trust", json_string(ak->is_pinned ? "pinned" : "certificate")));
    if (!ak->is_pinned) {
        char text[CS_TIME_TEXT_LEN];
        CS_TRY(cs_time_format(ak->window.not_after, text));
        CS_TRY(cs_json_set_new(o, "collateral_expiry", json_string(text)));
    }
    return CS_SUCCESS;
}

/* ---- checks --------------------------------------------------------------------- */

static cs_res check_window(const struct cs_tpm_ak *ak, int64_t at, struct custos_diag *diag)
{
    char edge[CS_TIME_TEXT_LEN];
    cs_time_text(at < ak->window.not_before ? ak->window.not_before : ak->window.not_after, edge);
    CS_ENSURE_WHY(at >= ak->window.not_before && at <= ak->window.not_after, CS_E_EXPIRED, diag,
                  "AK certificate chain %s %s",
                  at < ak->window.not_before ? "not valid before" : "expired at", edge);
    return CS_SUCCESS;
}

/*
 * TPM2_Quote signs the TPMS_ATTEST it returns (Part 3, TPM2_Quote): the signature is
 * checked over exactly those bytes, with the AK, whose kind must fit the scheme.
 */
static cs_res check_signature(const struct cs_tpm_ak *ak, const struct cs_tpm_signature *s,
                              struct cs_cur signed_span, struct custos_diag *diag)
{
    enum cs_tpm_key_kind kind = 0;
    CS_TRY(cs_tpm_key_kind(ak->key, &kind)); /* checked when the AK was accepted */
    bool is_rsa_scheme = s->sig_alg != CS_TPM_ALG_ECDSA;
    CS_ENSURE_WHY(is_rsa_scheme == (kind == CS_TPM_KEY_RSA), CS_E_SIGNATURE, diag,
                  "the %s signature cannot come from the AK (%s key)", cs_tpm_alg_name(s->sig_alg),
                  kind == CS_TPM_KEY_RSA ? "RSA" : "ECDSA");
    cs_res r;
    if (is_rsa_scheme) {
        r = cs_tpm_rsa_verify(ak->key, s->hash_alg, s->sig_alg == CS_TPM_ALG_RSAPSS, s->rsa,
                              signed_span);
    } else {
        r = cs_tpm_ecdsa_verify(ak->key, s->hash_alg, s->ecc_r, s->ecc_s, signed_span);
    }
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "quote signature (%s/%s) does not verify with the AK",
                  cs_tpm_alg_name(s->sig_alg), cs_tpm_alg_name(s->hash_alg));
    return CS_SUCCESS;
}

static cs_res check_nonce(const struct cs_tpm_attest *a, const struct custos_bytes *nonce,
                          json_t *claims, struct custos_diag *diag)
{
    CS_TRY(cs_json_set_new(claims, "nonce_checked", json_boolean(nonce != NULL)));
    if (nonce == NULL) {
        return CS_SUCCESS;
    }
    CS_ENSURE(nonce->p != NULL || nonce->len == 0, CS_E_ARG);
    bool is_equal = nonce->len == a->extra_data.left &&
                    (nonce->len == 0 || CRYPTO_memcmp(nonce->p, a->extra_data.p, nonce->len) == 0);
    CS_ENSURE_WHY(is_equal, CS_E_BINDING, diag, "quote extraData is not the expected nonce");
    return CS_SUCCESS;
}

/*
 * TPM2_Quote (Part 3): pcrDigest is the digest, with the hash of the signing scheme, of
 * the selected PCR values concatenated in selection order: banks in the order of
 * TPML_PCR_SELECTION, PCRs in ascending index within each bank. Every selected PCR must
 * be presented; presented values that were not selected are ignored.
 */
static cs_res check_pcrs(const struct cs_tpm_attest *a, uint16_t hash_alg,
                         const struct cs_tpm_pcr_values *pv, json_t *claims,
                         struct custos_diag *diag)
{
    size_t want_len = cs_tpm_alg_digest_len(hash_alg);
    CS_ENSURE_WHY(a->pcr_digest.left == want_len, CS_E_BINDING, diag,
                  "pcrDigest has %zu bytes, not a %s digest", a->pcr_digest.left,
                  cs_tpm_alg_name(hash_alg));
    CS_AUTO_JSON *pcrs = json_object();
    CS_ENSURE(pcrs != NULL, CS_E_NOMEM);
    uint8_t cat[CS_TPM_N_BANKS * CS_TPM_PCRS_PER_BANK * 48];
    size_t n = 0;
    for (uint32_t i = 0; i < a->n_banks; i++) {
        const struct cs_tpm_pcr_bank *bank = &a->banks[i];
        enum cs_tpm_bank b = CS_TPM_BANK_SHA1;
        CS_TRY(cs_tpm_bank_of(bank->hash_alg, &b)); /* the parser allowed only these */
        size_t vlen = cs_tpm_alg_digest_len(bank->hash_alg);
        const char *name = cs_tpm_alg_name(bank->hash_alg);
        CS_AUTO_JSON *values = json_object();
        CS_ENSURE(values != NULL, CS_E_NOMEM);
        for (unsigned idx = 0; idx < 8u * bank->size_of_select; idx++) {
            if (!cs_tpm_pcr_is_selected(bank, idx)) {
                continue;
            }
            CS_ENSURE_WHY((pv->is_present[b] >> idx & 1u) != 0, CS_E_BINDING, diag,
                          "PCR %s:%u is selected by the quote but its value is not presented", name,
                          idx);
            /* banks are distinct (the parser refused repeats), so this cannot overflow */
            CS_ENSURE(vlen <= sizeof cat - n, CS_E_INTERNAL);
            memcpy(cat + n, pv->value[b][idx], vlen);
            n += vlen;
            char key[12];
            snprintf(key, sizeof key, "%u", idx);
            CS_TRY(cs_json_set_hex(values, key, pv->value[b][idx], vlen));
        }
        if (json_object_size(values) > 0) {
            CS_TRY(cs_json_set_new(pcrs, name, json_incref(values)));
        }
    }
    uint8_t digest[CS_TPM_HASH_MAX];
    size_t digest_len = 0;
    CS_TRY(cs_tpm_hash(hash_alg, cs_cur_of(cat, n), digest, &digest_len));
    CS_ENSURE_WHY(digest_len == want_len && CRYPTO_memcmp(digest, a->pcr_digest.p, digest_len) == 0,
                  CS_E_BINDING, diag,
                  "the presented PCR values do not match the quote's pcrDigest");
    return cs_json_set_new(claims, "pcrs", json_incref(pcrs));
}

static cs_res verify_quote(struct custos_tpm_trust *t, const struct custos_tpm_evidence *ev,
                           const struct custos_bytes *nonce, int64_t at, struct custos_verdict *v,
                           struct custos_diag *diag)
{
    struct cs_tpm_attest a;
    cs_res r = cs_tpm_attest_parse(ev->quote.p, ev->quote.len, &a);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "quote (TPMS_ATTEST): %s", custos_code_name(r.code));
    snprintf(v->platform, sizeof v->platform, "tpm");
    CS_TRY(claims_attest(v->claims, &a));
    struct cs_tpm_signature s;
    r = cs_tpm_signature_parse(ev->signature.p, ev->signature.len, &s);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "signature (TPMT_SIGNATURE): %s",
                  custos_code_name(r.code));
    CS_TRY(cs_json_set_new(v->claims, "sig_alg", json_string(cs_tpm_alg_name(s.sig_alg))));
    CS_TRY(cs_json_set_new(v->claims, "hash_alg", json_string(cs_tpm_alg_name(s.hash_alg))));
    struct cs_tpm_pcr_values pv;
    r = cs_tpm_pcrs_parse(cur_of(ev->pcrs), &pv);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "PCR values (pcrs.json): %s", custos_code_name(r.code));

    CS_AUTO(ak_clearp) struct cs_tpm_ak ak = { 0 };
    CS_TRY(cs_tpm_ak_get(t, cur_of(ev->ak_cert), &ak, diag));
    CS_TRY(claims_ak(v->claims, &ak));
    CS_TRY(check_window(&ak, at, diag));
    CS_TRY(check_signature(&ak, &s, a.signed_span, diag));
    /* Everything below judges signed content: it runs only once the signature holds. */
    CS_TRY(check_nonce(&a, nonce, v->claims, diag));
    return check_pcrs(&a, s.hash_alg, &pv, v->claims, diag);
}

CS_RESULT custos_tpm_verify(struct custos_tpm_trust *t, const struct custos_tpm_evidence *ev,
                            const struct custos_bytes *nonce, int64_t at,
                            struct custos_verdict **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(t != NULL && ev != NULL, CS_E_ARG);
    CS_ENSURE((ev->quote.p != NULL || ev->quote.len == 0) &&
                  (ev->signature.p != NULL || ev->signature.len == 0) &&
                  (ev->pcrs.p != NULL || ev->pcrs.len == 0) &&
                  (ev->ak_cert.p != NULL || ev->ak_cert.len == 0) &&
                  (nonce == NULL || nonce->p != NULL || nonce->len == 0),
              CS_E_ARG);
    struct custos_verdict *v = NULL;
    CS_TRY(cs_verdict_new("", &v));
    struct custos_diag diag = { 0 };
    cs_res r = verify_quote(t, ev, nonce, at, v, &diag);
    cs_verdict_finish(v, r, &diag);
    *out = v;
    return r;
}
