/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS-protocol SNP evidence: {"attestation_report": <serde JSON>, "cert_chain": [...]}.
 *
 * This file has its own converter from a binary report to that JSON, written from the
 * serde layout of virtee/sev (docs/platforms/snp.md), in both struct generations:
 *   "sev4": sev 1.x-4.x, the raw layout with its reserved fields;
 *   "sev6": sev 5.x-6.x, Option<> CPUID and mitigation vectors, Version objects, TCB with fmc.
 * Asserted: the converter of src/evidence re-encodes each JSON to exactly the original
 * bytes; every real report of ../shared, carried in KBS JSON with its VCEK/VLEK (and ASK
 * and ARK) in cert_chain, verifies against a collateral without a VCEK/VLEK, with the
 * same claims as the binary report; an altered JSON field reads as a signature failure;
 * a cert_chain CA that is not the configured one is a chain failure; and malformed JSON
 * (missing, unknown, overlapping, mistyped, out-of-range keys; bad cert_chain entries)
 * is rejected as format or too_large.
 */
#include <dirent.h>
#include <jansson.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "crypto/cs_ossl.h"
#include "crypto/cs_x509.h"
#include "cs_test.h"
#include "custos/snp.h"
#include "evidence/snp_kbs.h"
#include "evidence/snp_report.h"

#define LEN CS_SNP_REPORT_LEN

enum gen { GEN_SEV4, GEN_SEV6 };

/* ---- the test's own report -> serde JSON converter --------------------------------- */

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

static json_t *bytes_json(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_integer(p[i]));
    }
    return a;
}

/* TCB_VERSION: sev4 {bootloader, tee, _reserved, snp, microcode}; sev6 adds fmc (Turin). */
static json_t *tcb_json(const uint8_t *t, enum gen g, bool is_turin)
{
    json_t *o = json_object();
    if (g == GEN_SEV6) {
        json_object_set_new(o, "fmc", is_turin ? json_integer(t[0]) : json_null());
    }
    json_object_set_new(o, "bootloader", json_integer(is_turin ? t[1] : t[0]));
    json_object_set_new(o, "tee", json_integer(is_turin ? t[2] : t[1]));
    if (g == GEN_SEV4) {
        json_object_set_new(o, "_reserved", bytes_json(t + 2, 4));
    }
    json_object_set_new(o, "snp", json_integer(is_turin ? t[3] : t[6]));
    json_object_set_new(o, "microcode", json_integer(t[7]));
    return o;
}

static json_t *version_json(const uint8_t *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "major", json_integer(b[2]));
    json_object_set_new(o, "minor", json_integer(b[1]));
    json_object_set_new(o, "build", json_integer(b[0]));
    return o;
}

static void set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

static json_t *report_json(const uint8_t *r, enum gen g, bool is_turin)
{
    uint32_t version = (uint32_t)le(r, 4);
    json_t *o = json_object();
    set(o, "version", json_integer(version));
    set(o, "guest_svn", json_integer((json_int_t)le(r + 0x04, 4)));
    set(o, "policy", json_integer((json_int_t)le(r + 0x08, 8)));
    set(o, "family_id", bytes_json(r + 0x10, 16));
    set(o, "image_id", bytes_json(r + 0x20, 16));
    set(o, "vmpl", json_integer((json_int_t)le(r + 0x30, 4)));
    set(o, "sig_algo", json_integer((json_int_t)le(r + 0x34, 4)));
    set(o, "current_tcb", tcb_json(r + 0x38, g, is_turin));
    set(o, "plat_info", json_integer((json_int_t)le(r + 0x40, 8)));
    set(o, "key_info", json_integer((json_int_t)le(r + 0x48, 4)));
    if (g == GEN_SEV4) {
        set(o, "_reserved_0", json_integer((json_int_t)le(r + 0x4C, 4)));
    }
    set(o, "report_data", bytes_json(r + 0x50, 64));
    set(o, "measurement", bytes_json(r + 0x90, 48));
    set(o, "host_data", bytes_json(r + 0xC0, 32));
    set(o, "id_key_digest", bytes_json(r + 0xE0, 48));
    set(o, "author_key_digest", bytes_json(r + 0x110, 48));
    set(o, "report_id", bytes_json(r + 0x140, 32));
    set(o, "report_id_ma", bytes_json(r + 0x160, 32));
    set(o, "reported_tcb", tcb_json(r + 0x180, g, is_turin));
    if (g == GEN_SEV4 && version < 3) {
        set(o, "_reserved_1", bytes_json(r + 0x188, 24));
    } else {
        bool has = version >= 3;
        set(o, "cpuid_fam_id", has ? json_integer(r[0x188]) : json_null());
        set(o, "cpuid_mod_id", has ? json_integer(r[0x189]) : json_null());
        set(o, "cpuid_step", has ? json_integer(r[0x18A]) : json_null());
        if (g == GEN_SEV4) {
            set(o, "_reserved_1", bytes_json(r + 0x18B, 21));
        }
    }
    set(o, "chip_id", bytes_json(r + 0x1A0, 64));
    set(o, "committed_tcb", tcb_json(r + 0x1E0, g, is_turin));
    if (g == GEN_SEV4) {
        static const char *const names[8] = { "current_build",   "current_minor",
                                              "current_major",   "_reserved_2",
                                              "committed_build", "committed_minor",
                                              "committed_major", "_reserved_3" };
        for (size_t i = 0; i < 8; i++) {
            set(o, names[i], json_integer(r[0x1E8 + i]));
        }
    } else {
        set(o, "current", version_json(r + 0x1E8));
        set(o, "committed", version_json(r + 0x1EC));
    }
    set(o, "launch_tcb", tcb_json(r + 0x1F0, g, is_turin));
    if (g == GEN_SEV4) {
        set(o, "_reserved_4", bytes_json(r + 0x1F8, 168)); /* v5 vectors ride in here */
    } else {
        bool has = version >= 5;
        set(o, "launch_mit_vector", has ? json_integer((json_int_t)le(r + 0x1F8, 8)) : json_null());
        set(o, "current_mit_vector",
            has ? json_integer((json_int_t)le(r + 0x200, 8)) : json_null());
    }
    json_t *sig = json_object();
    set(sig, "r", bytes_json(r + 0x2A0, 72));
    set(sig, "s", bytes_json(r + 0x2E8, 72));
    if (g == GEN_SEV4) {
        set(sig, "_reserved", bytes_json(r + 0x330, LEN - 0x330));
    }
    set(o, "signature", sig);
    return o;
}

/* CertTableEntry {"cert_type": "VCEK", "data": [...]} */
static json_t *entry_json(const char *type, const uint8_t *der, size_t n)
{
    json_t *e = json_object();
    set(e, "cert_type", json_string(type));
    set(e, "data", bytes_json(der, n));
    return e;
}

static char *evidence_text(json_t *report, json_t *chain)
{
    json_t *root = json_object();
    set(root, "attestation_report", report);
    set(root, "cert_chain", chain != NULL ? chain : json_null());
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}

static cs_code kbs_parse(const char *text, struct cs_snp_kbs *out)
{
    uint8_t *copy = tv_dup(text, strlen(text)); /* exact size, no NUL: ASan sees over-reads */
    cs_code code = cs_snp_kbs_parse(copy, strlen(text), out).code;
    free(copy);
    return code;
}

/* Serialises {attestation_report: rep, cert_chain: null} and parses it. rep is consumed. */
static cs_code parse_report_json(json_t *rep, struct cs_snp_kbs *out)
{
    char *text = evidence_text(rep, NULL);
    cs_code code = kbs_parse(text, out);
    free(text);
    return code;
}

/* ---- crafted reports: exact re-encoding and rejections ----------------------------- */

static void make_report(uint8_t r[LEN], uint32_t version)
{
    memset(r, 0, LEN);
    r[0] = (uint8_t)version;
    for (size_t i = 0x04; i < 0x4C; i++) {
        r[i] = (uint8_t)(i * 13 + 5);
    }
    for (size_t i = 0x50; i < 0x188; i++) {
        r[i] = (uint8_t)(i * 7 + 1);
    }
    for (size_t i = 0x188; i < (version >= 3 ? 0x18Bu : 0x188u); i++) {
        r[i] = (uint8_t)(0x19 + i);
    }
    for (size_t i = 0x1A0; i < 0x1EB; i++) {
        r[i] = (uint8_t)(i * 5 + 3);
    }
    for (size_t i = 0x1EC; i < 0x1EF; i++) {
        r[i] = (uint8_t)i;
    }
    for (size_t i = 0x1F0; i < (version >= 5 ? 0x208u : 0x1F8u); i++) {
        r[i] = (uint8_t)(i + 9);
    }
    r[0x1FF] = 0; /* keep the mitigation vectors below 2^63: jansson's integers are signed */
    r[0x207] = 0;
    r[0x0F] = 0; /* and the policy, plat_info */
    r[0x47] = 0;
    for (size_t i = 0x2A0; i < 0x330; i++) {
        r[i] = (uint8_t)(i * 3);
    }
}

static void test_exact_reencoding(void)
{
    static const uint32_t versions[] = { 2, 3, 5 };
    struct cs_snp_kbs *k = calloc(1, sizeof *k);
    for (size_t v = 0; v < 3; v++) {
        uint8_t r[LEN];
        make_report(r, versions[v]);
        for (int g = GEN_SEV4; g <= GEN_SEV6; g++) {
            /* sev6 drops the TCB's reserved bytes: a Milan report has them zero */
            uint8_t want[LEN];
            memcpy(want, r, LEN);
            if (g == GEN_SEV6) {
                static const size_t tcbs[] = { 0x38, 0x180, 0x1E0, 0x1F0 };
                for (size_t t = 0; t < 4; t++) {
                    memset(want + tcbs[t] + 2, 0, 4);
                }
            }
            EXPECT_EQ(parse_report_json(report_json(want, (enum gen)g, false), k), CS_OK);
            EXPECT_MEM_EQ(k->report, want, LEN);
            EXPECT_EQ(k->n_certs, 0);
        }
    }
    /* Turin: fmc given, the TCB is FMC, BL, TEE, SNP, 3 reserved, microcode */
    uint8_t r[LEN];
    make_report(r, 3);
    static const size_t tcbs[] = { 0x38, 0x180, 0x1E0, 0x1F0 };
    for (size_t t = 0; t < 4; t++) {
        memset(r + tcbs[t] + 4, 0, 3);
    }
    EXPECT_EQ(parse_report_json(report_json(r, GEN_SEV6, true), k), CS_OK);
    EXPECT_MEM_EQ(k->report, r, LEN);
    free(k);
}

/* Removes `key` (or adds it with `value` when value is not NULL) and expects `want`. */
static void expect_edit(const char *what, const char *key, json_t *value, cs_code want, enum gen g,
                        uint32_t version)
{
    uint8_t r[LEN];
    make_report(r, version);
    json_t *rep = report_json(r, g, false);
    if (value != NULL) {
        json_object_set_new(rep, key, value);
    } else {
        json_object_del(rep, key);
    }
    struct cs_snp_kbs *k = calloc(1, sizeof *k);
    cs_code got = parse_report_json(rep, k);
    if (got != want) {
        fprintf(stderr, "%s (%s): got %s\n", what, key, custos_code_name(got));
        EXPECT_EQ(got, want);
    }
    free(k);
}

static void test_report_json_rejections(void)
{
    /* every key that covers non-reserved bytes is required */
    static const char *const required[] = {
        "version",     "guest_svn",    "policy",       "family_id",     "image_id",
        "vmpl",        "sig_algo",     "current_tcb",  "plat_info",     "key_info",
        "report_data", "measurement",  "host_data",    "id_key_digest", "author_key_digest",
        "report_id",   "report_id_ma", "reported_tcb", "chip_id",       "committed_tcb",
        "current",     "committed",    "launch_tcb",   "signature",
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        expect_edit("missing", required[i], NULL, CS_E_FORMAT, GEN_SEV6, 3);
    }
    expect_edit("missing", "current_major", NULL, CS_E_FORMAT, GEN_SEV4, 3);
    /* optional: reserved or version-dependent */
    expect_edit("optional", "cpuid_fam_id", NULL, CS_OK, GEN_SEV6, 2);
    expect_edit("optional", "launch_mit_vector", NULL, CS_OK, GEN_SEV6, 3);
    expect_edit("optional", "_reserved_0", NULL, CS_OK, GEN_SEV4, 3);
    expect_edit("unknown", "vmpl_", json_integer(0), CS_E_FORMAT, GEN_SEV6, 3);
    /* two keys for the same bytes */
    expect_edit("overlap", "_author_key_en", json_integer(0), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("overlap", "current_build", json_integer(0), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("overlap", "_reserved_1", bytes_json((const uint8_t[24]){ 0 }, 24), CS_E_FORMAT,
                GEN_SEV6, 3);
    expect_edit("overlap", "_reserved_4", bytes_json((const uint8_t[168]){ 0 }, 168), CS_E_FORMAT,
                GEN_SEV6, 5);
    /* types and ranges */
    expect_edit("range", "vmpl", json_integer(0x100000000), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("range", "guest_svn", json_integer(-1), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("type", "policy", json_string("0x30000"), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("type", "cpuid_step", json_integer(256), CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("length", "measurement", bytes_json((const uint8_t[47]){ 0 }, 47), CS_E_FORMAT,
                GEN_SEV6, 3);
    expect_edit("length", "_reserved_1", bytes_json((const uint8_t[22]){ 0 }, 22), CS_E_FORMAT,
                GEN_SEV4, 3);
    json_t *big = bytes_json((const uint8_t[48]){ 0 }, 48);
    json_array_set_new(big, 3, json_integer(256));
    expect_edit("byte", "measurement", big, CS_E_FORMAT, GEN_SEV6, 3);
    json_t *real = bytes_json((const uint8_t[48]){ 0 }, 48);
    json_array_set_new(real, 3, json_real(1.0));
    expect_edit("byte", "measurement", real, CS_E_FORMAT, GEN_SEV6, 3);
    /* TCB objects */
    json_t *tcb = tcb_json((const uint8_t[8]){ 1, 2, 0, 0, 0, 0, 3, 4 }, GEN_SEV4, false);
    json_object_set_new(tcb, "fmc", json_integer(1)); /* fmc and _reserved: no such struct */
    expect_edit("tcb", "launch_tcb", tcb, CS_E_FORMAT, GEN_SEV6, 3);
    tcb = tcb_json((const uint8_t[8]){ 0 }, GEN_SEV6, false);
    json_object_del(tcb, "snp");
    expect_edit("tcb", "launch_tcb", tcb, CS_E_FORMAT, GEN_SEV6, 3);
    tcb = tcb_json((const uint8_t[8]){ 0 }, GEN_SEV6, false);
    json_object_set_new(tcb, "spl4", json_integer(0));
    expect_edit("tcb", "launch_tcb", tcb, CS_E_FORMAT, GEN_SEV6, 3);
    json_t *ver = version_json((const uint8_t[3]){ 1, 2, 3 });
    json_object_set_new(ver, "patch", json_integer(0));
    expect_edit("version", "current", ver, CS_E_FORMAT, GEN_SEV6, 3);
    json_t *sig = json_object();
    set(sig, "r", bytes_json((const uint8_t[72]){ 0 }, 72));
    expect_edit("signature", "signature", sig, CS_E_FORMAT, GEN_SEV6, 3);
    expect_edit("signature", "signature", json_array(), CS_E_FORMAT, GEN_SEV6, 3);
}

static void expect_doc(const char *what, const char *text, cs_code want)
{
    struct cs_snp_kbs *k = calloc(1, sizeof *k);
    cs_code got = kbs_parse(text, k);
    if (got != want) {
        fprintf(stderr, "%s: got %s\n", what, custos_code_name(got));
        EXPECT_EQ(got, want);
    }
    free(k);
}

/* A whole document with the crafted report and the given cert_chain (consumed). */
static void expect_chain(const char *what, json_t *chain, cs_code want, size_t n_kept)
{
    uint8_t r[LEN];
    make_report(r, 3);
    char *text = evidence_text(report_json(r, GEN_SEV6, false), chain);
    struct cs_snp_kbs *k = calloc(1, sizeof *k);
    cs_code got = kbs_parse(text, k);
    if (got != want || (got == CS_OK && k->n_certs != n_kept)) {
        fprintf(stderr, "%s: got %s, %zu certificates\n", what, custos_code_name(got), k->n_certs);
        EXPECT_EQ(got, want);
        EXPECT_EQ(k->n_certs, n_kept);
    }
    free(text);
    free(k);
}

static void test_document_and_cert_chain(void)
{
    const uint8_t der[4] = { 0x30, 0x02, 0x05, 0x00 };
    json_t *chain = json_array();
    json_array_append_new(chain, entry_json("VCEK", der, 4));
    json_array_append_new(chain, entry_json("ASK", der, 4));
    json_array_append_new(chain, entry_json("ARK", der, 4));
    json_array_append_new(chain, entry_json("CRL", der, 4));
    json_array_append_new(chain, entry_json("Empty", der, 0));
    json_t *other = json_object();
    set(other, "cert_type", json_pack("{s:s}", "OTHER", "11111111-1111-1111-1111-111111111111"));
    set(other, "data", bytes_json(der, 4));
    json_array_append_new(chain, other);
    expect_chain("full table", chain, CS_OK, 3);
    expect_chain("empty table", json_array(), CS_OK, 0);

    chain = json_array();
    json_array_append_new(chain, entry_json("VCEK", der, 4));
    json_array_append_new(chain, entry_json("VCEK", der, 4));
    expect_chain("VCEK twice", chain, CS_E_FORMAT, 0);
    chain = json_array();
    json_array_append_new(chain, entry_json("VCEKS", der, 4));
    expect_chain("unknown type", chain, CS_E_FORMAT, 0);
    chain = json_array();
    json_t *e = entry_json("VCEK", der, 4);
    set(e, "extra", json_true());
    json_array_append_new(chain, e);
    expect_chain("extra key", chain, CS_E_FORMAT, 0);
    chain = json_array();
    for (int i = 0; i < CS_SNP_KBS_ENTRIES_MAX + 1; i++) {
        json_array_append_new(chain, entry_json("Empty", der, 0));
    }
    expect_chain("too many entries", chain, CS_E_TOO_LARGE, 0);
    static uint8_t huge[CS_SNP_CERT_DER_MAX + 1];
    chain = json_array();
    json_array_append_new(chain, entry_json("VLEK", huge, sizeof huge));
    expect_chain("certificate too large", chain, CS_E_TOO_LARGE, 0);
    expect_chain("not an array", json_object(), CS_E_FORMAT, 0);

    expect_doc("not an object", "[1]", CS_E_FORMAT);
    expect_doc("garbage after", "{\"attestation_report\":{}} x", CS_E_FORMAT);
    expect_doc("no report", "{\"cert_chain\":null}", CS_E_FORMAT);
    expect_doc("duplicate key", "{\"cert_chain\":null,\"cert_chain\":null}", CS_E_FORMAT);
    expect_doc("empty", "", CS_E_TRUNCATED);
    uint8_t r[LEN];
    make_report(r, 3);
    char *text = evidence_text(report_json(r, GEN_SEV6, false), NULL);
    size_t n = strlen(text);
    char *extra = malloc(n + 32);
    snprintf(extra, n + 32, "{\"tee\":\"snp\",%s", text + 1);
    expect_doc("unknown top-level key", extra, CS_E_FORMAT);
    free(extra);
    free(text);
    char *big = malloc(CS_SNP_KBS_JSON_MAX + 2);
    memset(big, ' ', CS_SNP_KBS_JSON_MAX + 1);
    big[0] = '{';
    big[CS_SNP_KBS_JSON_MAX + 1] = '\0';
    expect_doc("too large", big, CS_E_TOO_LARGE);
    free(big);
}

/* ---- real reports ------------------------------------------------------------------ */

struct real_case {
    int64_t at;
    struct cs_blob report;
    struct cs_blob anchor;
    struct cs_blob chain;
    struct cs_blob vek;
    bool is_vlek;
};

static void real_clear(struct real_case *rc)
{
    cs_blob_clear(&rc->report);
    cs_blob_clear(&rc->anchor);
    cs_blob_clear(&rc->chain);
    cs_blob_clear(&rc->vek);
}

static bool real_load(const char *dir, struct real_case *rc)
{
    memset(rc, 0, sizeof *rc);
    char path[8192];
    snprintf(path, sizeof path, "%s/case.json", dir);
    json_t *cj = json_load_file(path, 0, NULL);
    const char *platform = json_string_value(json_object_get(cj, "platform"));
    const char *at = json_string_value(json_object_get(cj, "at"));
    bool is_snp = platform != NULL && strcmp(platform, "snp") == 0 && at != NULL &&
                  cs_ok(cs_time_parse(at, strlen(at), &rc->at));
    json_decref(cj);
    if (!is_snp) {
        return false;
    }
    snprintf(path, sizeof path, "%s/report.bin", dir);
    rc->report.p = tv_read(path, &rc->report.len);
    snprintf(path, sizeof path, "%s/trust_anchor.pem", dir);
    rc->anchor.p = tv_read(path, &rc->anchor.len);
    snprintf(path, sizeof path, "%s/ca_chain.pem", dir);
    rc->chain.p = tv_read(path, &rc->chain.len);
    snprintf(path, sizeof path, "%s/vcek.der", dir);
    if (access(path, R_OK) != 0) {
        snprintf(path, sizeof path, "%s/vlek.der", dir);
        rc->is_vlek = true;
    }
    rc->vek.p = tv_read(path, &rc->vek.len);
    return true;
}

static struct custos_snp_collateral *collateral(const struct real_case *rc, bool with_vek)
{
    struct custos_bytes vek = { rc->vek.p, rc->vek.len };
    struct custos_snp_collateral_src src = {
        .trust_anchor = { rc->anchor.p, rc->anchor.len },
        .ca_chain = { rc->chain.p, rc->chain.len },
        .vcek = with_vek && !rc->is_vlek ? vek : (struct custos_bytes){ 0 },
        .vlek = with_vek && rc->is_vlek ? vek : (struct custos_bytes){ 0 },
    };
    struct custos_diag d = { 0 };
    struct custos_snp_collateral *c = NULL;
    EXPECT_OK(custos_snp_collateral_new(&src, &d, &c));
    return c;
}

/* Verifies and returns the claims (parsed) or NULL; *code gets the result. */
static json_t *verify_claims(struct custos_snp_collateral *c, const uint8_t *ev, size_t len,
                             int64_t at, cs_code *code)
{
    struct custos_verdict *v = NULL;
    *code = custos_snp_verify(c, ev, len, at, &v).code;
    json_t *claims = NULL;
    char *text = NULL;
    if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        json_t *j = json_loads(text, 0, NULL);
        claims = json_incref(json_object_get(j, "claims"));
        json_decref(j);
        custos_free(text);
    }
    custos_verdict_free(v);
    return claims;
}

/* DER of the n-th certificate of a PEM file. Free with OPENSSL_free. */
static unsigned char *pem_der(const struct cs_blob *pem, int n, int *len)
{
    STACK_OF(X509) *sk = NULL;
    EXPECT_OK(cs_x509_stack_parse(cs_cur_of(pem->p, pem->len), &sk));
    unsigned char *der = NULL;
    *len = i2d_X509(sk_X509_value(sk, n), &der);
    sk_X509_pop_free(sk, X509_free);
    return der;
}

static json_t *real_chain(const struct real_case *rc, bool with_cas)
{
    json_t *chain = json_array();
    json_array_append_new(chain, entry_json(rc->is_vlek ? "VLEK" : "VCEK", rc->vek.p, rc->vek.len));
    if (with_cas) {
        int n = 0;
        unsigned char *ask = pem_der(&rc->chain, 0, &n);
        json_array_append_new(chain, entry_json("ASK", ask, (size_t)n));
        OPENSSL_free(ask);
        unsigned char *ark = pem_der(&rc->anchor, 0, &n);
        json_array_append_new(chain, entry_json("ARK", ark, (size_t)n));
        OPENSSL_free(ark);
    }
    return chain;
}

static cs_code verify_text(struct custos_snp_collateral *c, const char *text, int64_t at,
                           json_t **claims)
{
    cs_code code = CS_OK;
    json_t *cl = verify_claims(c, (const uint8_t *)text, strlen(text), at, &code);
    if (claims != NULL) {
        *claims = cl;
    } else {
        json_decref(cl);
    }
    return code;
}

static void real_case_as_kbs(const struct real_case *rc, const char *id)
{
    struct custos_snp_collateral *with = collateral(rc, true);
    struct custos_snp_collateral *bare = collateral(rc, false);
    cs_code code = CS_OK;
    json_t *bin = verify_claims(with, rc->report.p, rc->report.len, rc->at, &code);
    EXPECT_EQ(code, CS_OK);
    for (int g = GEN_SEV4; g <= GEN_SEV6; g++) {
        /* the report's VCEK/VLEK travels in cert_chain; sev6 form also repeats ASK and ARK */
        char *text = evidence_text(report_json(rc->report.p, (enum gen)g, false),
                                   real_chain(rc, g == GEN_SEV6));
        json_t *claims = NULL;
        code = verify_text(bare, text, rc->at, &claims);
        if (code != CS_OK) {
            fprintf(stderr, "%s as KBS JSON (%s): %s\n", id, g == GEN_SEV4 ? "sev4" : "sev6",
                    custos_code_name(code));
            EXPECT_EQ(code, CS_OK);
        }
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "evidence_format")), "kbs");
        json_object_set_new(claims, "evidence_format", json_string("report"));
        EXPECT_TRUE(json_equal(claims, bin)); /* the same report: the same claims */
        json_decref(claims);
        free(text);
    }
    /* no cert_chain: the collateral's VCEK/VLEK */
    char *text = evidence_text(report_json(rc->report.p, GEN_SEV6, false), NULL);
    EXPECT_EQ(verify_text(with, text, rc->at, NULL), CS_OK);
    EXPECT_EQ(verify_text(bare, text, rc->at, NULL), CS_E_CHAIN);
    free(text);
    /* a signed field altered in the JSON: the re-encoded report no longer verifies */
    json_t *rep = report_json(rc->report.p, GEN_SEV6, false);
    json_t *m = json_object_get(rep, "measurement");
    json_array_set_new(m, 0, json_integer((json_integer_value(json_array_get(m, 0)) + 1) & 0xff));
    text = evidence_text(rep, real_chain(rc, false));
    EXPECT_EQ(verify_text(bare, text, rc->at, NULL), CS_E_SIGNATURE);
    free(text);
    /* cert_chain CAs must be the configured ones: the ARK posing as the ASK, and vice versa */
    json_t *chain = real_chain(rc, true);
    json_t *ask = json_incref(json_object_get(json_array_get(chain, 1), "data"));
    json_object_set(json_array_get(chain, 1), "data",
                    json_object_get(json_array_get(chain, 2), "data"));
    json_object_set_new(json_array_get(chain, 2), "data", ask);
    text = evidence_text(report_json(rc->report.p, GEN_SEV6, false), chain);
    EXPECT_EQ(verify_text(bare, text, rc->at, NULL), CS_E_CHAIN);
    free(text);
    /* the key entry under the other key type: the report's key is missing */
    chain = json_array();
    json_array_append_new(chain, entry_json(rc->is_vlek ? "VCEK" : "VLEK", rc->vek.p, rc->vek.len));
    text = evidence_text(report_json(rc->report.p, GEN_SEV6, false), chain);
    EXPECT_EQ(verify_text(bare, text, rc->at, NULL), CS_E_CHAIN);
    free(text);
    json_decref(bin);
    custos_snp_collateral_free(with);
    custos_snp_collateral_free(bare);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_real_reports_as_kbs_evidence(void)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        printf("SKIP: ../shared/testdata/evidence is absent\n");
        exit(cs_test_failures == 0 ? CS_TEST_SKIP_CODE : 1);
    }
    char base[4096];
    snprintf(base, sizeof base, "%s/testdata/evidence", shared);
    struct dirent **names = NULL;
    int n = scandir(base, &names, NULL, by_name);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        char dir[4096 + 256];
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]->d_name);
        struct real_case rc;
        if (names[i]->d_name[0] != '.' && real_load(dir, &rc)) {
            real_case_as_kbs(&rc, names[i]->d_name);
            real_clear(&rc);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    printf("%d SNP reports checked as KBS evidence\n", ran);
    EXPECT_TRUE(ran >= 5);
}

CS_TEST_MAIN(CS_TEST(test_exact_reencoding), CS_TEST(test_report_json_rejections),
             CS_TEST(test_document_and_cert_chain), CS_TEST(test_real_reports_as_kbs_evidence))
