/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel DCAP quote verification. The order of checks follows Intel's QVL
 * (QuoteVerifier::verify, TcbLevelCheck, TdxModuleCheck, EnclaveReportVerifier):
 *
 *   parse -> collateral validity at `at` -> PCK chain + CRLs + validity
 *   -> QE report signature (PCK) -> QE report data = SHA-256(att key || auth data)
 *   -> quote signature (attestation key)
 *   -> QE vendor -> TCB Info fits the platform (id, FMSPC, PCE-ID) -> TDX module identity
 *   -> QE identity -> TCB level and status.
 *
 * One deliberate difference from QVL: every signature is checked before any signed field
 * is judged against collateral, so tampered evidence always reads as a signature failure
 * and no decision is ever taken on unauthenticated bytes.
 *
 * The verdict's code is the first failure; claims read so far are kept for diagnosis.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"
#include "evidence/intel_quote.h"
#include "verify/dcap_internal.h"
#include "verify/verdict.h"

/* Intel's QE vendor ID, sgx_quote_3.h / Intel QVL Quote.cpp INTEL_QE_VENDOR_ID. */
static const uint8_t INTEL_QE_VENDOR[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                             0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };

#define SGX_ATTR_DEBUG 0x02 /* SGX ATTRIBUTES.DEBUG, bit 1 of byte 0 */
#define TD_ATTR_DEBUG 0x01  /* TDX TD_ATTRIBUTES.DEBUG, bit 0 of byte 0 */

static bool is_tdx(const struct cs_intel_quote *q)
{
    return q->body_type != CS_INTEL_BODY_SGX;
}

/* The advisory list of a verdict: union of the levels' lists, first occurrence order. */
static cs_res advisories_add(json_t *acc, const json_t *ids)
{
    if (ids == NULL) {
        return CS_SUCCESS;
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const json_t *id = json_array_get(ids, i);
        bool is_dup = false;
        for (size_t j = 0; j < json_array_size(acc) && !is_dup; j++) {
            is_dup = json_equal(json_array_get(acc, j), id);
        }
        if (!is_dup) {
            CS_ENSURE(json_array_append_new(acc, json_string(json_string_value(id))) == 0,
                      CS_E_NOMEM);
        }
    }
    return CS_SUCCESS;
}

static void pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

/* ---- claims --------------------------------------------------------------------- */

static cs_res claims_tdx(json_t *o, const struct cs_tdx_report *t)
{
    static const char *rtmr_names[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
    CS_TRY(cs_json_set_hex(o, "tee_tcb_svn", t->tee_tcb_svn, sizeof t->tee_tcb_svn));
    CS_TRY(cs_json_set_hex(o, "mr_seam", t->mr_seam, sizeof t->mr_seam));
    CS_TRY(cs_json_set_hex(o, "mrsigner_seam", t->mrsigner_seam, sizeof t->mrsigner_seam));
    CS_TRY(cs_json_set_hex(o, "seam_attributes", t->seam_attributes, sizeof t->seam_attributes));
    CS_TRY(cs_json_set_hex(o, "td_attributes", t->td_attributes, sizeof t->td_attributes));
    CS_TRY(cs_json_set_hex(o, "xfam", t->xfam, sizeof t->xfam));
    CS_TRY(cs_json_set_hex(o, "mr_td", t->mr_td, sizeof t->mr_td));
    CS_TRY(cs_json_set_hex(o, "mr_config_id", t->mr_config_id, sizeof t->mr_config_id));
    CS_TRY(cs_json_set_hex(o, "mr_owner", t->mr_owner, sizeof t->mr_owner));
    CS_TRY(cs_json_set_hex(o, "mr_owner_config", t->mr_owner_config, sizeof t->mr_owner_config));
    for (size_t i = 0; i < 4; i++) {
        CS_TRY(cs_json_set_hex(o, rtmr_names[i], t->rtmr[i], sizeof t->rtmr[i]));
    }
    CS_TRY(cs_json_set_hex(o, "report_data", t->report_data, sizeof t->report_data));
    if (t->has_tdx15) {
        CS_TRY(cs_json_set_hex(o, "tee_tcb_svn2", t->tee_tcb_svn2, sizeof t->tee_tcb_svn2));
        CS_TRY(cs_json_set_hex(o, "mr_servicetd", t->mr_servicetd, sizeof t->mr_servicetd));
    }
    return cs_json_set_new(o, "debug", json_boolean(t->td_attributes[0] & TD_ATTR_DEBUG));
}

static cs_res claims_sgx(json_t *o, const struct cs_sgx_report *r)
{
    CS_TRY(cs_json_set_hex(o, "mr_enclave", r->mr_enclave, sizeof r->mr_enclave));
    CS_TRY(cs_json_set_hex(o, "mr_signer", r->mr_signer, sizeof r->mr_signer));
    CS_TRY(cs_json_set_new(o, "isv_prod_id", json_integer(r->isv_prod_id)));
    CS_TRY(cs_json_set_new(o, "isv_svn", json_integer(r->isv_svn)));
    CS_TRY(cs_json_set_hex(o, "attributes", r->attributes, sizeof r->attributes));
    CS_TRY(cs_json_set_new(o, "misc_select", json_integer(r->misc_select)));
    CS_TRY(cs_json_set_hex(o, "report_cpu_svn", r->cpu_svn, sizeof r->cpu_svn));
    CS_TRY(cs_json_set_hex(o, "config_id", r->config_id, sizeof r->config_id));
    CS_TRY(cs_json_set_new(o, "config_svn", json_integer(r->config_svn)));
    CS_TRY(cs_json_set_hex(o, "isv_ext_prod_id", r->isv_ext_prod_id, sizeof r->isv_ext_prod_id));
    CS_TRY(cs_json_set_hex(o, "isv_family_id", r->isv_family_id, sizeof r->isv_family_id));
    CS_TRY(cs_json_set_hex(o, "report_data", r->report_data, sizeof r->report_data));
    return cs_json_set_new(o, "debug", json_boolean(r->attributes[0] & SGX_ATTR_DEBUG));
}

static cs_res claims_quote(json_t *o, const struct cs_intel_quote *q, const uint8_t *buf)
{
    uint8_t digest[32];
    CS_TRY(cs_sha256(cs_cur_of(buf, q->quote_len), digest));
    CS_TRY(cs_json_set_hex(o, "evidence_sha256", digest, sizeof digest));
    CS_TRY(cs_json_set_new(o, "quote_version", json_integer(q->version)));
    CS_TRY(cs_json_set_new(o, "trailing_bytes", json_integer((json_int_t)q->trailing_len)));
    CS_TRY(cs_json_set_new(o, "qe_svn", json_integer(q->qe_report.isv_svn)));
    if (is_tdx(q)) {
        return claims_tdx(o, &q->tdx);
    }
    return claims_sgx(o, &q->sgx);
}

static cs_res claims_pck(json_t *o, const struct cs_sgx_pck_ext *x)
{
    CS_TRY(cs_json_set_hex(o, "fmspc", x->fmspc, sizeof x->fmspc));
    CS_TRY(cs_json_set_hex(o, "pceid", x->pce_id, sizeof x->pce_id));
    CS_TRY(cs_json_set_new(o, "pcesvn", json_integer(x->pce_svn)));
    CS_TRY(cs_json_set_hex(o, "cpusvn", x->cpu_svn, sizeof x->cpu_svn));
    CS_TRY(cs_json_set_hex(o, "ppid", x->ppid, sizeof x->ppid));
    return CS_SUCCESS;
}

static cs_res claims_time(json_t *o, const char *key, int64_t t)
{
    char text[CS_TIME_TEXT_LEN];
    CS_TRY(cs_time_format(t, text));
    return cs_json_set_new(o, key, json_string(text));
}

/* ---- TCB evaluation ------------------------------------------------------------- */

struct tcb_eval {
    const struct cs_tcb_level *platform;
    const struct cs_isv_level *module; /* TDX 1.5 module identity level, or NULL */
    const struct cs_isv_level *qe;
    enum cs_tcb_status status;
};

static bool svn_ge(const uint8_t *have, const uint8_t *need, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        if (have[i] < need[i]) {
            return false;
        }
    }
    return true;
}

/*
 * TcbLevelCheck.cpp: the first level (Intel serves them highest first and signs that
 * order) whose SGX components and PCESVN are all <= the PCK's, and for TDX whose TDX
 * components are <= TEE_TCB_SVN, from index 2 when the module version byte is set
 * (indices 0 and 1 are then judged by the module identity).
 */
static cs_res platform_level(const struct cs_tcb_info *t, const struct cs_sgx_pck_ext *pck,
                             const struct cs_intel_quote *q, const struct cs_tcb_level **out,
                             struct custos_diag *diag)
{
    size_t tdx_from = is_tdx(q) && q->tdx.tee_tcb_svn[1] > 0 ? 2 : 0;
    for (size_t i = 0; i < t->n_levels; i++) {
        const struct cs_tcb_level *l = &t->levels[i];
        if (!svn_ge(pck->comp_svn, l->sgx_svn, 0, 16) || pck->pce_svn < l->pce_svn) {
            continue;
        }
        if (is_tdx(q) && !svn_ge(q->tdx.tee_tcb_svn, l->tdx_svn, tdx_from, 16)) {
            continue;
        }
        *out = l;
        return CS_SUCCESS;
    }
    CS_ENSURE_WHY(false, CS_E_TCB, diag,
                  "no TCB level of the TCB Info matches the platform (TCB not supported)");
}

/* The first level with isvsvn <= svn (levels are served highest first). */
static const struct cs_isv_level *isv_level(const struct cs_isv_level *levels, size_t n,
                                            uint16_t svn)
{
    for (size_t i = 0; i < n; i++) {
        if (levels[i].isv_svn <= svn) {
            return &levels[i];
        }
    }
    return NULL;
}

static const struct cs_tdx_module_identity *module_identity(const struct cs_tcb_info *t,
                                                            uint8_t version)
{
    char id[8];
    snprintf(id, sizeof id, "TDX_%02X", version);
    for (size_t i = 0; i < t->n_module_ids; i++) {
        if (strcasecmp(t->module_ids[i].id, id) == 0) {
            return &t->module_ids[i];
        }
    }
    return NULL;
}

/*
 * QuoteVerifier.cpp 4.1.2.4.11 / TdxModuleCheck.cpp: MRSIGNER_SEAM must be the module's
 * signer and SEAM_ATTRIBUTES must be zero and match; TDX 1.5 modules (version byte > 0)
 * are judged by their identity "TDX_<version>" and get a status of their own.
 */
static cs_res tdx_module_check(const struct cs_tcb_info *t, const struct cs_tdx_report *r,
                               const struct cs_isv_level **level, struct custos_diag *diag)
{
    *level = NULL;
    CS_ENSURE_WHY(t->has_tdx_module, CS_E_TCB, diag, "TCB Info has no TDX module");
    const uint8_t *mrsigner = t->module_mrsigner;
    const uint8_t *attrs = t->module_attributes;
    const uint8_t *mask = t->module_attributes_mask;
    const struct cs_tdx_module_identity *mi = NULL;
    uint8_t version = r->tee_tcb_svn[1];
    if (version > 0) {
        mi = module_identity(t, version);
        CS_ENSURE_WHY(mi != NULL, CS_E_TCB, diag, "TCB Info has no identity for module TDX_%02X",
                      version);
        mrsigner = mi->mrsigner;
        attrs = mi->attributes;
        mask = mi->attributes_mask;
    }
    CS_ENSURE_WHY(CRYPTO_memcmp(r->mrsigner_seam, mrsigner, 48) == 0, CS_E_TCB, diag,
                  "MRSIGNER_SEAM is not the TDX module signer of the TCB Info");
    for (size_t i = 0; i < 8; i++) {
        CS_ENSURE_WHY(r->seam_attributes[i] == 0 && (r->seam_attributes[i] & mask[i]) == attrs[i],
                      CS_E_TCB, diag, "SEAM_ATTRIBUTES do not match the TDX module identity");
    }
    if (mi != NULL) {
        *level = isv_level(mi->levels, mi->n_levels, r->tee_tcb_svn[0]);
        CS_ENSURE_WHY(*level != NULL, CS_E_TCB, diag,
                      "TDX module SVN %u is below every level of %s", r->tee_tcb_svn[0], mi->id);
    }
    return CS_SUCCESS;
}

/* TdxModuleCheck.cpp convergeTcbStatusWithTdxModuleStatus, and the QE counterpart. */
static enum cs_tcb_status converge(enum cs_tcb_status platform, enum cs_tcb_status other)
{
    if (other == CS_TCB_REVOKED || platform == CS_TCB_REVOKED) {
        return CS_TCB_REVOKED;
    }
    if (other != CS_TCB_OUT_OF_DATE) {
        return platform;
    }
    switch (platform) {
    case CS_TCB_UP_TO_DATE:
    case CS_TCB_SW_HARDENING_NEEDED:
    case CS_TCB_OUT_OF_DATE:
        return CS_TCB_OUT_OF_DATE;
    case CS_TCB_CONFIGURATION_NEEDED:
    case CS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
    case CS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
        return CS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    default:
        return CS_TCB_REVOKED; /* unreachable: fail closed */
    }
}

/*
 * EnclaveReportVerifier.cpp: the QE report must match the QE identity (MISCSELECT and
 * ATTRIBUTES under their masks, MRSIGNER, ISVPRODID); its ISVSVN picks the QE level.
 */
static cs_res qe_identity_check(const struct cs_qe_identity *id, const struct cs_sgx_report *r,
                                const struct cs_isv_level **level, struct custos_diag *diag)
{
    CS_ENSURE_WHY((r->misc_select & id->miscselect_mask) == id->miscselect, CS_E_BINDING, diag,
                  "QE report MISCSELECT does not match the QE Identity");
    for (size_t i = 0; i < 16; i++) {
        CS_ENSURE_WHY((r->attributes[i] & id->attributes_mask[i]) == id->attributes[i],
                      CS_E_BINDING, diag, "QE report ATTRIBUTES do not match the QE Identity");
    }
    CS_ENSURE_WHY(CRYPTO_memcmp(r->mr_signer, id->mrsigner, 32) == 0, CS_E_BINDING, diag,
                  "QE report MRSIGNER is not the QE Identity signer");
    CS_ENSURE_WHY(r->isv_prod_id == id->isv_prod_id, CS_E_BINDING, diag,
                  "QE report ISVPRODID does not match the QE Identity");
    *level = isv_level(id->levels, id->n_levels, r->isv_svn);
    CS_ENSURE_WHY(*level != NULL, CS_E_TCB, diag, "QE ISVSVN %u is below every QE Identity level",
                  r->isv_svn);
    return CS_SUCCESS;
}

/* ---- the chain of checks -------------------------------------------------------- */

/* The PCK chain (memoised), its claims, and its validity at `at`. */
static cs_res check_pck(struct custos_dcap_collateral *c, const struct cs_intel_quote *q,
                        int64_t at, struct custos_verdict *v, EVP_PKEY **key,
                        struct cs_sgx_pck_ext *pck, struct custos_diag *diag)
{
    struct cs_window w;
    CS_TRY(cs_dcap_pck_chain(c, q->pck_chain, key, pck, &w, diag));
    CS_TRY(claims_pck(v->claims, pck));
    CS_TRY(claims_time(v->claims, "collateral_expiry", w.not_after < c->expiry ? w.not_after
                                                                                : c->expiry));
    char edge[CS_TIME_TEXT_LEN];
    cs_time_text(at < w.not_before ? w.not_before : w.not_after, edge);
    CS_ENSURE_WHY(at >= w.not_before && at <= w.not_after, CS_E_EXPIRED, diag,
                  "PCK certificate chain %s %s",
                  at < w.not_before ? "not valid before" : "expired at", edge);
    return CS_SUCCESS;
}

/*
 * The evidence signatures: QE report by the PCK, the attestation key bound into the QE
 * report, and the quote by the attestation key over the exact signed span.
 */
static cs_res check_signatures(const struct custos_dcap_collateral *c,
                               const struct cs_intel_quote *q, EVP_PKEY *pck_key,
                               struct custos_diag *diag)
{
    cs_res r = cs_ecdsa_verify_rs(pck_key, c->sha256, q->qe_report_sig,
                                  sizeof q->qe_report_sig, q->qe_report_raw);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "QE report signature does not verify with the PCK key");
    uint8_t hash[32];
    CS_TRY(cs_sha256_2(cs_cur_of(q->att_key, sizeof q->att_key), q->qe_auth_data, hash));
    CS_ENSURE_WHY(CRYPTO_memcmp(hash, q->qe_report.report_data, 32) == 0, CS_E_BINDING, diag,
                  "QE report data is not SHA-256(attestation key || QE auth data)");
    uint8_t tail = 0;
    for (size_t i = 32; i < 64; i++) {
        tail |= q->qe_report.report_data[i];
    }
    CS_ENSURE_WHY(tail == 0, CS_E_BINDING, diag, "QE report data bytes 32..63 are not zero");

    CS_AUTO(pkey_freep) EVP_PKEY *att_key = NULL;
    r = cs_ecdsa_p256_key_from_xy(c->p256, q->att_key, &att_key);
    CS_ENSURE_WHY(cs_ok(r), CS_E_SIGNATURE, diag, "attestation key is not a P-256 point");
    r = cs_ecdsa_verify_rs(att_key, c->sha256, q->quote_sig, sizeof q->quote_sig,
                           q->signed_span);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "quote signature does not verify");
    return CS_SUCCESS;
}

/* The collateral must describe this platform: QE vendor, TCB Info kind, FMSPC, PCE-ID. */
static cs_res check_fit(const struct custos_dcap_collateral *c, const struct cs_intel_quote *q,
                        const struct cs_sgx_pck_ext *pck, struct custos_diag *diag)
{
    const struct cs_tcb_info *t = c->tcb;
    CS_ENSURE_WHY(memcmp(q->qe_vendor_id, INTEL_QE_VENDOR, sizeof INTEL_QE_VENDOR) == 0,
                  CS_E_UNSUPPORTED, diag, "quote: QE vendor is not Intel");
    CS_ENSURE_WHY(t->is_tdx == is_tdx(q), CS_E_TCB, diag, "TCB Info is for %s, the quote is %s",
                  t->is_tdx ? "TDX" : "SGX", is_tdx(q) ? "TDX" : "SGX");
    CS_ENSURE_WHY(memcmp(t->fmspc, pck->fmspc, sizeof pck->fmspc) == 0, CS_E_TCB, diag,
                  "TCB Info FMSPC differs from the PCK certificate's");
    CS_ENSURE_WHY(memcmp(t->pce_id, pck->pce_id, sizeof pck->pce_id) == 0, CS_E_TCB, diag,
                  "TCB Info PCE-ID differs from the PCK certificate's");
    CS_ENSURE_WHY(c->qe->kind == (is_tdx(q) ? CS_QE_TDX : CS_QE_SGX), CS_E_BINDING, diag,
                  "QE Identity is for %s, the quote is %s",
                  c->qe->kind == CS_QE_TDX ? "TD_QE" : "QE", is_tdx(q) ? "TDX" : "SGX");
    return CS_SUCCESS;
}

/* TDX module, QE identity and platform levels, merged into one status + advisories. */
static cs_res evaluate_tcb(const struct custos_dcap_collateral *c, const struct cs_intel_quote *q,
                           const struct cs_sgx_pck_ext *pck, struct custos_verdict *v,
                           struct custos_diag *diag)
{
    struct tcb_eval ev = { 0 };
    if (is_tdx(q)) {
        CS_TRY(tdx_module_check(c->tcb, &q->tdx, &ev.module, diag));
    }
    CS_TRY(qe_identity_check(c->qe, &q->qe_report, &ev.qe, diag));
    CS_TRY(platform_level(c->tcb, pck, q, &ev.platform, diag));
    ev.status = ev.platform->status;
    if (ev.module != NULL) {
        ev.status = converge(ev.status, ev.module->status);
    }
    ev.status = converge(ev.status, ev.qe->status);
    v->tcb_status = cs_tcb_status_name(ev.status);
    CS_TRY(advisories_add(v->advisory_ids, ev.platform->advisory_ids));
    if (ev.module != NULL) {
        CS_TRY(advisories_add(v->advisory_ids, ev.module->advisory_ids));
    }
    CS_TRY(advisories_add(v->advisory_ids, ev.qe->advisory_ids));
    CS_TRY(claims_time(v->claims, "tcb_date", ev.platform->tcb_date));
    CS_TRY(cs_json_set_new(v->claims, "tcb_eval_num", json_integer(c->tcb->tcb_eval_num)));
    CS_ENSURE_WHY(ev.status != CS_TCB_REVOKED, CS_E_REVOKED, diag, "the TCB level is Revoked");
    return CS_SUCCESS;
}

static cs_res verify_quote(struct custos_dcap_collateral *c, const uint8_t *buf, size_t len,
                           int64_t at, struct custos_verdict *v, struct custos_diag *diag)
{
    struct cs_intel_quote q;
    cs_res r = cs_intel_quote_parse(buf, len, &q);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "quote: %s", custos_code_name(r.code));
    snprintf(v->platform, sizeof v->platform, "%s", is_tdx(&q) ? "tdx" : "sgx");
    CS_TRY(claims_quote(v->claims, &q, buf));
    CS_TRY(custos_dcap_collateral_check(c, at, diag));
    CS_ENSURE_WHY(c->qe != NULL, CS_E_CHAIN, diag, "collateral has no QE Identity");

    CS_AUTO(pkey_freep) EVP_PKEY *pck_key = NULL;
    struct cs_sgx_pck_ext pck;
    CS_TRY(check_pck(c, &q, at, v, &pck_key, &pck, diag));
    CS_TRY(check_signatures(c, &q, pck_key, diag));
    /* Everything below judges signed content: it runs only once the signatures hold. */
    CS_TRY(check_fit(c, &q, &pck, diag));
    return evaluate_tcb(c, &q, &pck, v, diag);
}

CS_RESULT custos_dcap_verify(struct custos_dcap_collateral *c, const uint8_t *quote,
                             size_t len, int64_t at, struct custos_verdict **out)
{
    CS_ENSURE(c != NULL && out != NULL && (quote != NULL || len == 0), CS_E_ARG);
    *out = NULL;
    struct custos_verdict *v = NULL;
    CS_TRY(cs_verdict_new("", &v));
    struct custos_diag diag = { 0 };
    cs_res r = verify_quote(c, quote, len, at, v, &diag);
    cs_verdict_finish(v, r, &diag);
    *out = v;
    return r;
}
