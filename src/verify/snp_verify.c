/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP report verification (docs/platforms/snp.md has the list with reasons):
 *
 *   parse (binary, or KBS JSON re-encoded to binary) -> the endorsement key the report
 *   names (VCEK or VLEK: from the evidence's cert_chain, else from the collateral)
 *   -> its chain to the ARK (memoised) -> validity of the chain and the CRL at `at`
 *   -> report signature (ECDSA P-384, SHA-384, over bytes 0h..29Fh)
 *   -> hwID = CHIP_ID (binding) -> the certificate's SPLs = REPORTED_TCB (tcb).
 *
 * As for DCAP, the signature is checked before any signed field is judged, so tampered
 * evidence always reads as a signature failure. The verdict's code is the first failure;
 * claims read so far are kept for diagnosis.
 */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"
#include "evidence/snp_kbs.h"
#include "verify/snp_internal.h"
#include "verify/verdict.h"

static void pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

static void kbs_freep(struct cs_snp_kbs **p)
{
    cs_free(*p);
}

/* ---- claims --------------------------------------------------------------------- */

static cs_res set_int(json_t *o, const char *key, uint64_t v)
{
    return cs_json_set_new(o, key, json_integer((json_int_t)v));
}

static cs_res set_bool(json_t *o, const char *key, bool v)
{
    return cs_json_set_new(o, key, json_boolean(v));
}

/* A u64 as case.json and trustee write it: "0x" and lower-case hex without padding. */
static cs_res set_u64_hex(json_t *o, const char *key, uint64_t v)
{
    char text[2 + 16 + 1];
    snprintf(text, sizeof text, "0x%" PRIx64, v);
    return cs_json_set_new(o, key, json_string(text));
}

static cs_res set_version(json_t *o, const char *key, uint8_t major, uint8_t minor, uint8_t build)
{
    char text[3 * 4 + 1];
    snprintf(text, sizeof text, "%u.%u.%u", major, minor, build);
    return cs_json_set_new(o, key, json_string(text));
}

/* GUEST_POLICY decoded (56860, table "Guest Policy Structure"). */
static cs_res claims_policy(json_t *o, uint64_t p)
{
    static const struct {
        const char *key;
        uint64_t bit;
    } bits[] = {
        { "policy_smt_allowed", CS_SNP_POLICY_SMT },
        { "policy_migrate_ma", CS_SNP_POLICY_MIGRATE_MA },
        { "policy_debug_allowed", CS_SNP_POLICY_DEBUG },
        { "policy_single_socket", CS_SNP_POLICY_SINGLE_SOCKET },
        { "policy_cxl_allowed", CS_SNP_POLICY_CXL_ALLOW },
        { "policy_mem_aes_256_xts", CS_SNP_POLICY_MEM_AES_256_XTS },
        { "policy_rapl_dis", CS_SNP_POLICY_RAPL_DIS },
        { "policy_ciphertext_hiding", CS_SNP_POLICY_CIPHERTEXT_HIDING },
        { "policy_page_swap_disable", CS_SNP_POLICY_PAGE_SWAP_DISABLE },
    };
    CS_TRY(set_u64_hex(o, "policy", p));
    CS_TRY(set_int(o, "policy_abi_minor", p & 0xff));
    CS_TRY(set_int(o, "policy_abi_major", (p >> 8) & 0xff));
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        CS_TRY(set_bool(o, bits[i].key, (p & bits[i].bit) != 0));
    }
    return set_bool(o, "debug", (p & CS_SNP_POLICY_DEBUG) != 0);
}

/* PLATFORM_INFO decoded (56860, table "PLATFORM_INFO Field"). */
static cs_res claims_platform_info(json_t *o, uint64_t p)
{
    static const struct {
        const char *key;
        uint64_t bit;
    } bits[] = {
        { "platform_smt_enabled", CS_SNP_PLATFORM_SMT_EN },
        { "platform_tsme_enabled", CS_SNP_PLATFORM_TSME_EN },
        { "platform_ecc_enabled", CS_SNP_PLATFORM_ECC_EN },
        { "platform_rapl_disabled", CS_SNP_PLATFORM_RAPL_DIS },
        { "platform_ciphertext_hiding_enabled", CS_SNP_PLATFORM_CIPHERTEXT_HIDING_EN },
        { "platform_alias_check_complete", CS_SNP_PLATFORM_ALIAS_CHECK_COMPLETE },
    };
    CS_TRY(set_u64_hex(o, "platform_info", p));
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        CS_TRY(set_bool(o, bits[i].key, (p & bits[i].bit) != 0));
    }
    return CS_SUCCESS;
}

static cs_res claims_ids(json_t *o, const struct cs_snp_report *r)
{
    CS_TRY(cs_json_set_hex(o, "report_data", r->report_data, sizeof r->report_data));
    CS_TRY(cs_json_set_hex(o, "measurement", r->measurement, sizeof r->measurement));
    CS_TRY(cs_json_set_hex(o, "host_data", r->host_data, sizeof r->host_data));
    CS_TRY(cs_json_set_hex(o, "id_key_digest", r->id_key_digest, sizeof r->id_key_digest));
    CS_TRY(
        cs_json_set_hex(o, "author_key_digest", r->author_key_digest, sizeof r->author_key_digest));
    CS_TRY(cs_json_set_hex(o, "family_id", r->family_id, sizeof r->family_id));
    CS_TRY(cs_json_set_hex(o, "image_id", r->image_id, sizeof r->image_id));
    CS_TRY(cs_json_set_hex(o, "report_id", r->report_id, sizeof r->report_id));
    CS_TRY(cs_json_set_hex(o, "report_id_ma", r->report_id_ma, sizeof r->report_id_ma));
    return cs_json_set_hex(o, "chip_id", r->chip_id, sizeof r->chip_id);
}

/* Everything the report says, before anything is verified (the product is not known yet). */
static cs_res claims_report(const struct custos_snp_collateral *c, json_t *o,
                            const struct cs_snp_report *r, const uint8_t *raw, bool is_kbs)
{
    uint8_t digest[32];
    CS_TRY(cs_snp_sha256(c, cs_cur_of(raw, CS_SNP_REPORT_LEN), digest));
    CS_TRY(cs_json_set_hex(o, "evidence_sha256", digest, sizeof digest));
    CS_TRY(cs_json_set_new(o, "evidence_format", json_string(is_kbs ? "kbs" : "report")));
    CS_TRY(set_int(o, "report_version", r->version));
    CS_TRY(set_int(o, "guest_svn", r->guest_svn));
    CS_TRY(claims_policy(o, r->policy));
    CS_TRY(set_int(o, "vmpl", r->vmpl));
    CS_TRY(claims_platform_info(o, r->platform_info));
    CS_TRY(set_bool(o, "author_key_en", r->is_author_key_en));
    CS_TRY(cs_json_set_new(o, "signing_key",
                           json_string(r->signing_key == CS_SNP_KEY_VLEK ? "vlek" : "vcek")));
    CS_TRY(claims_ids(o, r));
    CS_TRY(set_u64_hex(o, "current_tcb", cs_snp_tcb_u64(r->current_tcb)));
    CS_TRY(set_u64_hex(o, "reported_tcb", cs_snp_tcb_u64(r->reported_tcb)));
    CS_TRY(set_u64_hex(o, "committed_tcb", cs_snp_tcb_u64(r->committed_tcb)));
    CS_TRY(set_u64_hex(o, "launch_tcb", cs_snp_tcb_u64(r->launch_tcb)));
    CS_TRY(set_version(o, "current_version", r->current_major, r->current_minor, r->current_build));
    CS_TRY(set_version(o, "committed_version", r->committed_major, r->committed_minor,
                       r->committed_build));
    if (r->has_cpuid) {
        CS_TRY(set_int(o, "cpuid_fam_id", r->cpuid_fam_id));
        CS_TRY(set_int(o, "cpuid_mod_id", r->cpuid_mod_id));
        CS_TRY(set_int(o, "cpuid_step", r->cpuid_step));
    }
    if (r->has_mit_vectors) {
        CS_TRY(set_u64_hex(o, "launch_mit_vector", r->launch_mit_vector));
        CS_TRY(set_u64_hex(o, "current_mit_vector", r->current_mit_vector));
    }
    return CS_SUCCESS;
}

/* "<prefix>_bootloader" ... for one TCB_VERSION, in the product's layout. */
static cs_res claims_tcb(json_t *o, const char *prefix, const uint8_t tcb[8],
                         enum cs_snp_product product)
{
    struct cs_snp_tcb_parts t;
    cs_snp_tcb_split(tcb, product, &t);
    static const char *const names[] = { "bootloader", "tee", "snp", "microcode", "fmc" };
    const uint8_t values[] = { t.bootloader, t.tee, t.snp, t.microcode, t.fmc };
    size_t n = t.has_fmc ? 5 : 4;
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s_%s", prefix, names[i]);
        CS_TRY(set_int(o, key, values[i]));
    }
    return CS_SUCCESS;
}

/* What the verified chain adds: the product, and the TCBs split in its layout. */
static cs_res claims_product(const struct custos_snp_collateral *c, json_t *o,
                             const struct cs_snp_report *r, const struct cs_snp_vek *v)
{
    CS_TRY(cs_json_set_new(o, "product", json_string(cs_snp_product_name(c->product))));
    CS_TRY(cs_json_set_new(o, "product_name", json_string(v->ext.product_name)));
    if (v->ext.csp_id[0] != '\0') {
        CS_TRY(cs_json_set_new(o, "csp_id", json_string(v->ext.csp_id)));
    }
    CS_TRY(claims_tcb(o, "current_tcb", r->current_tcb, c->product));
    CS_TRY(claims_tcb(o, "reported_tcb", r->reported_tcb, c->product));
    CS_TRY(claims_tcb(o, "committed_tcb", r->committed_tcb, c->product));
    return claims_tcb(o, "launch_tcb", r->launch_tcb, c->product);
}

static cs_res claims_time(json_t *o, const char *key, int64_t t)
{
    char text[CS_TIME_TEXT_LEN];
    CS_TRY(cs_time_format(t, text));
    return cs_json_set_new(o, key, json_string(text));
}

/* ---- the chain of checks -------------------------------------------------------- */

/* The evidence, as a parsed binary report (re-encoded from JSON when it is KBS JSON). */
struct evidence {
    const uint8_t *raw;     /* the 1184 bytes that are verified */
    struct cs_snp_kbs *kbs; /* owned; NULL for a binary report */
    struct cs_snp_report report;
};

static cs_res evidence_parse(const uint8_t *buf, size_t len, struct evidence *e,
                             struct custos_diag *diag)
{
    e->raw = buf;
    if (cs_snp_kbs_is_json(buf, len)) {
        CS_TRY(cs_alloc(1, sizeof *e->kbs, (void **)&e->kbs));
        cs_res r = cs_snp_kbs_parse(buf, len, e->kbs);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "KBS evidence: %s (see docs/platforms/snp.md)",
                      custos_code_name(r.code));
        e->raw = e->kbs->report;
        len = CS_SNP_REPORT_LEN;
    }
    cs_res r = cs_snp_report_parse(e->raw, len, &e->report);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "report: %s%s", custos_code_name(r.code),
                  r.code == CS_E_TRUNCATED || r.code == CS_E_TRAILING
                      ? " (an SNP report is exactly 1184 bytes)"
                  : r.code == CS_E_UNSUPPORTED
                      ? " (versions 2, 3 and 5 signed with ECDSA P-384 by a VCEK or VLEK)"
                      : "");
    return CS_SUCCESS;
}

/*
 * The certificate that must have signed the report: the VCEK/VLEK entry of the evidence's
 * cert_chain, else the collateral's. An ASK or ARK in cert_chain must be one the
 * collateral already holds: evidence never brings a CA of its own.
 */
static cs_res vek_select(struct custos_snp_collateral *c, const struct evidence *e,
                         struct cs_snp_vek *v, struct custos_diag *diag)
{
    enum cs_snp_signing_key kind = e->report.signing_key;
    const char *name = kind == CS_SNP_KEY_VLEK ? "VLEK" : "VCEK";
    enum cs_snp_cert_type want = kind == CS_SNP_KEY_VLEK ? CS_SNP_CERT_VLEK : CS_SNP_CERT_VCEK;
    const struct cs_snp_kbs_cert *entry = NULL;
    for (size_t i = 0; e->kbs != NULL && i < e->kbs->n_certs; i++) {
        const struct cs_snp_kbs_cert *k = &e->kbs->certs[i];
        if (k->type == want) {
            entry = k;
        }
        if (k->type != CS_SNP_CERT_ARK && k->type != CS_SNP_CERT_ASK) {
            continue;
        }
        CS_AUTO(cs_x509_freep) X509 *ca = NULL;
        cs_res r = cs_x509_from_der(cs_cur_of(k->der, k->len), &ca);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "KBS cert_chain: cannot decode the %s",
                      k->type == CS_SNP_CERT_ARK ? "ARK" : "ASK");
        bool is_known = k->type == CS_SNP_CERT_ARK
                            ? X509_cmp(ca, c->anchor) == 0
                            : (c->ask != NULL && X509_cmp(ca, c->ask) == 0) ||
                                  (c->asvk != NULL && X509_cmp(ca, c->asvk) == 0);
        CS_ENSURE_WHY(is_known, CS_E_CHAIN, diag,
                      "KBS cert_chain: its %s is not the configured one",
                      k->type == CS_SNP_CERT_ARK ? "ARK" : "ASK/ASVK");
    }
    if (entry == NULL) {
        CS_ENSURE_WHY(c->vek[kind] != NULL, CS_E_CHAIN, diag,
                      "the report is signed by a %s, and neither the evidence nor the "
                      "collateral has one",
                      name);
        return cs_snp_vek_get(c, c->vek[kind], cs_cur_of(NULL, 0), c->vek_digest[kind], kind, v,
                              diag);
    }
    uint8_t digest[32];
    struct cs_cur der = cs_cur_of(entry->der, entry->len);
    CS_TRY(cs_snp_sha256(c, der, digest));
    return cs_snp_vek_get(c, NULL, der, digest, kind, v, diag);
}

/* The chain's validity periods and the CRL's, at the instant. */
static cs_res check_validity(const struct custos_snp_collateral *c, const struct cs_snp_vek *v,
                             int64_t at, json_t *claims, struct custos_diag *diag)
{
    struct cs_window w = v->window;
    if (c->has_crl) {
        cs_window_narrow(&w, c->crl_window);
    }
    CS_TRY(claims_time(claims, "collateral_expiry", w.not_after));
    char edge[CS_TIME_TEXT_LEN];
    cs_time_text(at < w.not_before ? w.not_before : w.not_after, edge);
    CS_ENSURE_WHY(at >= w.not_before && at <= w.not_after, CS_E_EXPIRED, diag,
                  "%s chain or CRL %s %s", v->kind == CS_SNP_KEY_VLEK ? "VLEK" : "VCEK",
                  at < w.not_before ? "not valid before" : "expired at", edge);
    return CS_SUCCESS;
}

/* ECDSA P-384 with SHA-384 over the signed component, by the VCEK/VLEK key. */
static cs_res check_signature(const struct custos_snp_collateral *c, const struct evidence *e,
                              EVP_PKEY *key, struct custos_diag *diag)
{
    uint8_t rs[2 * CS_SNP_SIG_SCALAR_LEN];
    cs_res r = cs_snp_report_sig_rs(&e->report, rs);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag,
                  "report signature: R or S has non-zero bytes beyond the 48 of a P-384 scalar");
    r = cs_ecdsa_verify_rs(key, c->sha384, rs, sizeof rs, e->report.signed_span);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "report signature does not verify with the %s key",
                  e->report.signing_key == CS_SNP_KEY_VLEK ? "VLEK" : "VCEK");
    return CS_SUCCESS;
}

/*
 * hwID = CHIP_ID. A VCEK always has a hwID (64 bytes; 8 on Turin, where CHIP_ID holds 8
 * bytes and zeros). A VLEK is issued to a cloud provider, not to a chip: when its report
 * masks CHIP_ID (all zero), or it has no hwID, there is nothing to compare.
 */
static cs_res check_chip(const struct cs_snp_report *r, const struct cs_snp_vek *v,
                         struct custos_diag *diag)
{
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof r->chip_id; i++) {
        any |= r->chip_id[i];
    }
    if (v->kind == CS_SNP_KEY_VLEK && (any == 0 || v->ext.hwid_len == 0)) {
        return CS_SUCCESS;
    }
    size_t n = v->ext.hwid_len; /* 8 or 64, checked against the product when verified */
    uint8_t tail = 0;
    for (size_t i = n; i < sizeof r->chip_id; i++) {
        tail |= r->chip_id[i];
    }
    CS_ENSURE_WHY(n > 0 && CRYPTO_memcmp(r->chip_id, v->ext.hwid, n) == 0 && tail == 0,
                  CS_E_BINDING, diag, "CHIP_ID of the report is not the hwID of the VCEK");
    return CS_SUCCESS;
}

/* The certificate's SPLs must be REPORTED_TCB's, the TCB its key was derived for. */
static cs_res check_tcb(const struct custos_snp_collateral *c, const struct cs_snp_report *r,
                        const struct cs_snp_vek *v, struct custos_diag *diag)
{
    struct cs_snp_tcb_parts t;
    cs_snp_tcb_split(r->reported_tcb, c->product, &t);
    const struct {
        const char *name;
        int arc;
        uint8_t reported;
        bool is_needed;
    } spl[] = {
        { "bootloader", CS_SNP_SPL_BL, t.bootloader, true },
        { "TEE", CS_SNP_SPL_TEE, t.tee, true },
        { "SNP", CS_SNP_SPL_SNP, t.snp, true },
        { "microcode", CS_SNP_SPL_UCODE, t.microcode, true },
        { "FMC", CS_SNP_SPL_FMC, t.fmc, t.has_fmc },
    };
    for (size_t i = 0; i < sizeof spl / sizeof spl[0]; i++) {
        if (!spl[i].is_needed) {
            continue;
        }
        uint8_t cert = v->ext.spl[spl[i].arc];
        CS_ENSURE_WHY(cert == spl[i].reported, CS_E_TCB, diag,
                      "REPORTED_TCB %s SPL is %u, the %s is for %u", spl[i].name, spl[i].reported,
                      v->kind == CS_SNP_KEY_VLEK ? "VLEK" : "VCEK", cert);
    }
    return CS_SUCCESS;
}

static cs_res verify_report(struct custos_snp_collateral *c, const uint8_t *buf, size_t len,
                            int64_t at, struct custos_verdict *v, struct custos_diag *diag)
{
    CS_AUTO(kbs_freep) struct cs_snp_kbs *kbs = NULL;
    struct evidence e = { 0 };
    cs_res r = evidence_parse(buf, len, &e, diag);
    kbs = e.kbs;
    CS_TRY(r);
    CS_TRY(claims_report(c, v->claims, &e.report, e.raw, kbs != NULL));

    struct cs_snp_vek vek = { 0 };
    CS_TRY(vek_select(c, &e, &vek, diag));
    CS_AUTO(pkey_freep) EVP_PKEY *key = vek.key;
    CS_TRY(claims_product(c, v->claims, &e.report, &vek));
    CS_TRY(check_validity(c, &vek, at, v->claims, diag));
    CS_TRY(check_signature(c, &e, key, diag));
    /* Everything below judges signed content: it runs only once the signature holds. */
    CS_TRY(check_chip(&e.report, &vek, diag));
    return check_tcb(c, &e.report, &vek, diag);
}

CS_RESULT custos_snp_verify(struct custos_snp_collateral *c, const uint8_t *evidence, size_t len,
                            int64_t at, struct custos_verdict **out)
{
    CS_ENSURE(c != NULL && out != NULL && (evidence != NULL || len == 0), CS_E_ARG);
    *out = NULL;
    struct custos_verdict *v = NULL;
    CS_TRY(cs_verdict_new("snp", &v));
    struct custos_diag diag = { 0 };
    cs_res r = verify_report(c, evidence, len, at, v, &diag);
    cs_verdict_finish(v, r, &diag);
    *out = v;
    return r;
}
