/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SNP verification on a test PKI of our own, made with OpenSSL at test time (no key is
 * committed): an "ARK-<product>" (RSA, RSASSA-PSS/SHA-384, self-signed), its "SEV-<product>"
 * ASK and "SEV-VLEK-<product>" ASVK, VCEKs and VLEKs (P-384) with the AMD extensions, CRLs,
 * and reports signed with the VCEK/VLEK key. Real data reaches few branches; here each
 * test steers verification into one:
 *
 *   Genoa and Turin chains (Turin: FMC SPL, 8-byte hwID, its TCB_VERSION layout); the
 *   wrapped and raw hwID encodings and wrong hwID sizes; hwID != CHIP_ID (binding), a
 *   VCEK report with CHIP_ID masked (binding), VLEK reports with CHIP_ID masked or not;
 *   each SPL != REPORTED_TCB (tcb); productName of another product, an ASK of another
 *   product, an unknown ARK product, a VCEK straight under the ARK, a look-alike ARK
 *   (chain/unsupported); CRLs: revoking the ASK (revoked), not revoking it, signed by
 *   another key (signature), from another issuer (chain), expired at the instant
 *   (expired); serial numbers 0 and negative, a PKCS#1 v1.5 signature, a P-256 key, a
 *   wrong CN (chain/unsupported); missing, duplicated and out-of-range extensions
 *   (format); a report signed by another key and R with bytes beyond 48 (signature);
 *   validity edges (expired); ca_chain shapes; the memo past its 64 entries; every
 *   allocation failing in turn; the directory loader.
 */
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/snp.h"
#include "evidence/snp_report.h"

#define AT INT64_C(1735689600) /* 2025-01-01T00:00:00Z */
#define YEAR INT64_C(31536000)

/* ---- keys (made once) ---------------------------------------------------------------- */

static struct {
    EVP_PKEY *ark;   /* RSA */
    EVP_PKEY *ask;   /* RSA: also the ASVK's, and a look-alike ARK's */
    EVP_PKEY *vek;   /* P-384 */
    EVP_PKEY *other; /* P-384: signs what the VCEK should have */
    EVP_PKEY *p256;
} g;

static EVP_PKEY *keygen(const char *alg, const char *param)
{
    EVP_PKEY *k = NULL;
    if (strcmp(alg, "RSA") == 0) {
        /* 1024 bits: AMD's are 4096, but the code paths are the same and tests run
         * under valgrind; PSS with SHA-384 and a 48-byte salt fits (98 <= 128 bytes) */
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    } else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
    }
    if (k == NULL) {
        abort();
    }
    return k;
}

static void keys_free(void)
{
    EVP_PKEY_free(g.ark);
    EVP_PKEY_free(g.ask);
    EVP_PKEY_free(g.vek);
    EVP_PKEY_free(g.other);
    EVP_PKEY_free(g.p256);
}

static void keys(void)
{
    if (g.ark == NULL) {
        g.ark = keygen("RSA", NULL);
        g.ask = keygen("RSA", NULL);
        g.vek = keygen("EC", "P-384");
        g.other = keygen("EC", "P-384");
        g.p256 = keygen("EC", "P-256");
        atexit(keys_free);
    }
}

/* ---- certificates ---------------------------------------------------------------------- */

struct vek_ext {
    const char *product_name;
    int spl[10];         /* arc .3.i; -1 when absent */
    const uint8_t *hwid; /* NULL: no hwID */
    size_t hwid_len;
    bool is_wrapped;    /* hwID as an OCTET STRING */
    const char *csp_id; /* NULL: none */
    bool is_product_twice;
};

struct cert_spec {
    const char *cn;
    EVP_PKEY *key;    /* subject public key */
    X509 *issuer;     /* NULL: self-signed */
    EVP_PKEY *signer; /* the issuer's key */
    long serial;
    int64_t not_before;
    int64_t not_after;
    bool is_ca;
    bool is_pkcs1; /* RSASSA-PKCS1-v1_5 instead of PSS */
    const struct vek_ext *ext;
};

static X509_NAME *amd_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    const char *fields[][2] = {
        { "OU", "Engineering" },           { "C", "US" }, { "L", "Santa Clara" }, { "ST", "CA" },
        { "O", "Advanced Micro Devices" }, { "CN", cn }
    };
    for (size_t i = 0; i < 6; i++) {
        X509_NAME_add_entry_by_txt(n, fields[i][0], MBSTRING_ASC,
                                   (const unsigned char *)fields[i][1], -1, -1, 0);
    }
    return n;
}

/* An extension whose value is the given DER bytes. */
static void add_ext(X509 *x, const char *oid, const unsigned char *der, int len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, der, len);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
}

static void add_int_ext(X509 *x, const char *oid, long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    ASN1_INTEGER_set(i, v);
    unsigned char *der = NULL;
    int len = i2d_ASN1_INTEGER(i, &der);
    add_ext(x, oid, der, len);
    OPENSSL_free(der);
    ASN1_INTEGER_free(i);
}

static void add_ia5_ext(X509 *x, const char *oid, const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    ASN1_STRING_set(a, s, -1);
    unsigned char *der = NULL;
    int len = i2d_ASN1_IA5STRING(a, &der);
    add_ext(x, oid, der, len);
    OPENSSL_free(der);
    ASN1_IA5STRING_free(a);
}

static void add_vek_ext(X509 *x, const struct vek_ext *e)
{
    add_int_ext(x, "1.3.6.1.4.1.3704.1.1", 0);
    if (e->product_name != NULL) {
        add_ia5_ext(x, "1.3.6.1.4.1.3704.1.2", e->product_name);
        if (e->is_product_twice) {
            add_ia5_ext(x, "1.3.6.1.4.1.3704.1.2", e->product_name);
        }
    }
    for (int i = 1; i <= 9; i++) {
        if (e->spl[i] >= 0) {
            char oid[64];
            snprintf(oid, sizeof oid, "1.3.6.1.4.1.3704.1.3.%d", i);
            add_int_ext(x, oid, e->spl[i]);
        }
    }
    if (e->hwid != NULL && !e->is_wrapped) {
        add_ext(x, "1.3.6.1.4.1.3704.1.4", e->hwid, (int)e->hwid_len);
    } else if (e->hwid != NULL) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, e->hwid, (int)e->hwid_len);
        unsigned char *der = NULL;
        int len = i2d_ASN1_OCTET_STRING(os, &der);
        add_ext(x, "1.3.6.1.4.1.3704.1.4", der, len);
        OPENSSL_free(der);
        ASN1_OCTET_STRING_free(os);
    }
    if (e->csp_id != NULL) {
        add_ia5_ext(x, "1.3.6.1.4.1.3704.1.5", e->csp_id);
    }
}

static void sign_x509(X509 *x, X509_CRL *crl, EVP_PKEY *key, bool is_pkcs1)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) != 1) {
        abort();
    }
    if (!is_pkcs1) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
    }
    int n = x != NULL ? X509_sign_ctx(x, md) : X509_CRL_sign_ctx(crl, md);
    if (n <= 0) {
        abort();
    }
    EVP_MD_CTX_free(md);
}

static X509 *make_cert(const struct cert_spec *s)
{
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial);
    X509_NAME *subject = amd_name(s->cn);
    X509_set_subject_name(x, subject);
    X509_set_issuer_name(x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : subject);
    X509_NAME_free(subject);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->not_before);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->not_after);
    X509_set_pubkey(x, s->key);
    if (s->is_ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, s->issuer != NULL ? s->issuer : x, x, NULL, NULL, 0);
        X509_EXTENSION *bc =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_EXTENSION *ku =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, bc, -1);
        X509_add_ext(x, ku, -1);
        X509_EXTENSION_free(bc);
        X509_EXTENSION_free(ku);
    }
    if (s->ext != NULL) {
        add_vek_ext(x, s->ext);
    }
    sign_x509(x, NULL, s->signer, s->is_pkcs1);
    return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *signer, int64_t this_update, int64_t next_update,
                          X509 *revoked)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_TIME_set(t, (time_t)this_update);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, (time_t)next_update);
    X509_CRL_set1_nextUpdate(crl, t);
    if (revoked != NULL) {
        X509_REVOKED *r = X509_REVOKED_new();
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked));
        ASN1_TIME_set(t, (time_t)this_update);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
    }
    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    sign_x509(NULL, crl, signer, false);
    return crl;
}

/* ---- a world: the PKI pieces and one signed report ------------------------------------ */

enum { HWID_LEN = 64, HWID_CAP = 80 /* room for the oversized hwIDs of the tests */ };

struct world {
    enum cs_snp_product product;
    enum cs_snp_signing_key kind;
    /* the VEK's extensions (edited by tests before build) */
    struct vek_ext ext;
    uint8_t hwid[HWID_CAP];
    char product_name[16]; /* the names the pointers below start at */
    char ark_name[16];
    char ca_name[32];
    /* certificate knobs */
    const char *ark_cn;
    const char *ca_cn; /* ASK or ASVK */
    const char *vek_cn;
    long vek_serial;
    bool is_vek_pkcs1;
    EVP_PKEY *vek_key;     /* the certified key */
    EVP_PKEY *anchor_key;  /* the configured anchor's key (a look-alike ARK if not g.ark) */
    bool is_vek_under_ark; /* the VEK signed by the ARK directly */
    int64_t vek_not_before;
    int64_t vek_not_after;
    /* report knobs */
    uint32_t version;
    uint8_t chip_id[64];
    uint8_t reported_tcb[8];
    EVP_PKEY *report_key; /* signs the report */
    bool is_r_excess;     /* a non-zero byte above R's 48 */
    /* results */
    X509 *ark;
    X509 *ca;
    X509 *vek;
    uint8_t report[CS_SNP_REPORT_LEN];
};

static const char *pname(enum cs_snp_product p)
{
    return cs_snp_product_name(p);
}

static void tcb_bytes(enum cs_snp_product p, const int spl[10], uint8_t out[8])
{
    memset(out, 0, 8);
    if (p == CS_SNP_PRODUCT_TURIN) {
        out[0] = (uint8_t)spl[9];
        out[1] = (uint8_t)spl[1];
        out[2] = (uint8_t)spl[2];
        out[3] = (uint8_t)spl[3];
    } else {
        out[0] = (uint8_t)spl[1];
        out[1] = (uint8_t)spl[2];
        out[6] = (uint8_t)spl[3];
    }
    out[7] = (uint8_t)spl[8];
}

/* The default: a Milan VCEK whose report (v3) verifies at AT. */
static void world_init(struct world *w, enum cs_snp_product p, enum cs_snp_signing_key kind)
{
    keys();
    memset(w, 0, sizeof *w);
    w->product = p;
    w->kind = kind;
    snprintf(w->product_name, sizeof w->product_name, "%s%s", pname(p),
             p == CS_SNP_PRODUCT_MILAN && kind == CS_SNP_KEY_VCEK ? "-B0" : "");
    w->ext.product_name = w->product_name;
    for (int i = 0; i < 10; i++) {
        w->ext.spl[i] = -1;
    }
    w->ext.spl[1] = 3;   /* BL */
    w->ext.spl[2] = 0;   /* TEE */
    w->ext.spl[3] = 8;   /* SNP */
    w->ext.spl[8] = 115; /* microcode */
    for (int i = 4; i <= 7; i++) {
        w->ext.spl[i] = 0;
    }
    if (p == CS_SNP_PRODUCT_TURIN) {
        w->ext.spl[9] = 2; /* FMC */
    }
    size_t hwid_len = p == CS_SNP_PRODUCT_TURIN ? 8 : HWID_LEN;
    for (size_t i = 0; i < hwid_len; i++) {
        w->hwid[i] = (uint8_t)(0xa0 + i);
    }
    if (kind == CS_SNP_KEY_VCEK) {
        w->ext.hwid = w->hwid;
        w->ext.hwid_len = hwid_len;
        memcpy(w->chip_id, w->hwid, hwid_len);
    } else {
        w->ext.csp_id = "CN=cc-test.example";
    }
    snprintf(w->ark_name, sizeof w->ark_name, "ARK-%s", pname(p));
    snprintf(w->ca_name, sizeof w->ca_name, "SEV-%s%s", kind == CS_SNP_KEY_VLEK ? "VLEK-" : "",
             pname(p));
    w->ark_cn = w->ark_name;
    w->ca_cn = w->ca_name;
    w->vek_cn = kind == CS_SNP_KEY_VCEK ? "SEV-VCEK" : "SEV-VLEK";
    w->vek_key = g.vek;
    w->anchor_key = g.ark;
    w->vek_not_before = AT - YEAR;
    w->vek_not_after = AT + 6 * YEAR;
    w->version = 3;
    tcb_bytes(p, w->ext.spl, w->reported_tcb);
    w->report_key = g.vek;
}

static void world_free(struct world *w)
{
    X509_free(w->ark);
    X509_free(w->ca);
    X509_free(w->vek);
    w->ark = w->ca = w->vek = NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void sign_report(uint8_t *r, EVP_PKEY *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t der_len = sizeof der;
    if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &der_len, r, CS_SNP_SIGNED_LEN) != 1) {
        abort();
    }
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r + 0x2A0, 72);
    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), r + 0x2E8, 72);
    ECDSA_SIG_free(sig);
}

/*
 * The ARK and ASK/ASVK of most worlds are alike: made once per (name, key, issuer) and
 * shared (RSA signing dominates the run time under valgrind).
 */
static struct ca_memo {
    char cn[32];
    EVP_PKEY *key;
    X509 *issuer;
    X509 *cert;
} g_cas[16];

static void cas_free(void)
{
    for (size_t i = 0; i < 16; i++) {
        X509_free(g_cas[i].cert);
    }
}

static X509 *ca_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *signer, long serial)
{
    size_t free_slot = 16;
    for (size_t i = 0; i < 16; i++) {
        struct ca_memo *m = &g_cas[i];
        if (m->cert != NULL && strcmp(m->cn, cn) == 0 && m->key == key && m->issuer == issuer) {
            X509_up_ref(m->cert);
            return m->cert;
        }
        free_slot = m->cert == NULL && free_slot == 16 ? i : free_slot;
    }
    X509 *x = make_cert(&(struct cert_spec){ .cn = cn,
                                             .key = key,
                                             .issuer = issuer,
                                             .signer = signer,
                                             .serial = serial,
                                             .not_before = AT - 10 * YEAR,
                                             .not_after = AT + 20 * YEAR,
                                             .is_ca = true });
    if (free_slot < 16) {
        if (g_cas[0].cert == NULL && free_slot == 0) {
            atexit(cas_free);
        }
        g_cas[free_slot] = (struct ca_memo){ .key = key, .issuer = issuer, .cert = x };
        snprintf(g_cas[free_slot].cn, sizeof g_cas[free_slot].cn, "%s", cn);
        X509_up_ref(x);
    }
    return x;
}

static void world_build(struct world *w)
{
    world_free(w);
    w->ark = ca_cert(w->ark_cn, w->anchor_key, NULL, w->anchor_key, 0x10000);
    w->ca = ca_cert(w->ca_cn, g.ask, w->ark, g.ark, 0x10001);
    w->vek = make_cert(&(struct cert_spec){ .cn = w->vek_cn,
                                            .key = w->vek_key,
                                            .issuer = w->is_vek_under_ark ? w->ark : w->ca,
                                            .signer = w->is_vek_under_ark ? g.ark : g.ask,
                                            .serial = w->vek_serial,
                                            .not_before = w->vek_not_before,
                                            .not_after = w->vek_not_after,
                                            .is_pkcs1 = w->is_vek_pkcs1,
                                            .ext = &w->ext });
    uint8_t *r = w->report;
    memset(r, 0, CS_SNP_REPORT_LEN);
    put32(r, w->version);
    r[0x0A] = 0x03;     /* policy 0x30000: SMT, reserved-one */
    put32(r + 0x34, 1); /* ECDSA P-384 with SHA-384 */
    memcpy(r + 0x38, w->reported_tcb, 8);
    put32(r + 0x48, (uint32_t)w->kind << 2);
    for (size_t i = 0; i < 64; i++) {
        r[0x50 + i] = (uint8_t)i; /* report_data */
    }
    memcpy(r + 0x180, w->reported_tcb, 8);
    if (w->version >= 3) {
        r[0x188] = w->product == CS_SNP_PRODUCT_TURIN ? 0x1a : 0x19;
        r[0x189] = 0x01;
    }
    memcpy(r + 0x1A0, w->chip_id, 64);
    memcpy(r + 0x1E0, w->reported_tcb, 8);
    memcpy(r + 0x1F0, w->reported_tcb, 8);
    sign_report(r, w->report_key);
    if (w->is_r_excess) {
        r[0x2A0 + 60] = 1;
    }
}

/* ---- turning a world into collateral --------------------------------------------------- */

struct blobs {
    unsigned char *anchor; /* DER */
    int anchor_len;
    char *chain; /* PEM */
    size_t chain_len;
    unsigned char *vek; /* DER */
    int vek_len;
    unsigned char *crl; /* DER */
    int crl_len;
};

static void blobs_free(struct blobs *b)
{
    OPENSSL_free(b->anchor);
    free(b->chain);
    OPENSSL_free(b->vek);
    OPENSSL_free(b->crl);
    memset(b, 0, sizeof *b);
}

static char *pem_of(X509 *const *certs, size_t n, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    for (size_t i = 0; i < n; i++) {
        PEM_write_bio_X509(bio, certs[i]);
    }
    char *data = NULL;
    long l = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)l + 1);
    memcpy(out, data, (size_t)l);
    out[l] = '\0';
    *len = (size_t)l;
    BIO_free(bio);
    return out;
}

/* The collateral of the world; ca_chain = given certificates (default: CA then ARK). */
static void blobs_of(const struct world *w, X509 *const *chain, size_t n_chain, X509_CRL *crl,
                     struct blobs *b)
{
    memset(b, 0, sizeof *b);
    X509 *anchor = w->ark;
    b->anchor_len = i2d_X509(anchor, &b->anchor);
    X509 *def[2] = { w->ca, w->ark };
    b->chain =
        chain != NULL ? pem_of(chain, n_chain, &b->chain_len) : pem_of(def, 2, &b->chain_len);
    b->vek_len = i2d_X509(w->vek, &b->vek);
    if (crl != NULL) {
        b->crl_len = i2d_X509_CRL(crl, &b->crl);
    }
}

static struct custos_snp_collateral_src src_of(const struct world *w, const struct blobs *b)
{
    struct custos_bytes vek = { b->vek, (size_t)b->vek_len };
    struct custos_snp_collateral_src src = {
        .trust_anchor = { b->anchor, (size_t)b->anchor_len },
        .ca_chain = { (const uint8_t *)b->chain, b->chain_len },
        .vcek = w->kind == CS_SNP_KEY_VCEK ? vek : (struct custos_bytes){ 0 },
        .vlek = w->kind == CS_SNP_KEY_VLEK ? vek : (struct custos_bytes){ 0 },
        .crl = { b->crl, (size_t)b->crl_len },
    };
    return src;
}

struct outcome {
    cs_code load; /* custos_snp_collateral_new */
    cs_code code; /* custos_snp_verify, when loaded */
    json_t *claims;
    char message[CUSTOS_DIAG_MSG_MAX];
};

static void outcome_clear(struct outcome *o)
{
    json_decref(o->claims);
    o->claims = NULL;
}

static void run_with(const struct world *w, X509 *const *chain, size_t n_chain, X509_CRL *crl,
                     int64_t at, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct blobs b;
    blobs_of(w, chain, n_chain, crl, &b);
    struct custos_snp_collateral_src src = src_of(w, &b);
    struct custos_diag d = { 0 };
    struct custos_snp_collateral *c = NULL;
    o->load = custos_snp_collateral_new(&src, &d, &c).code;
    snprintf(o->message, sizeof o->message, "%s", d.msg);
    if (o->load == CS_OK) {
        struct custos_verdict *v = NULL;
        o->code = custos_snp_verify(c, w->report, sizeof w->report, at, &v).code;
        char *text = NULL;
        if (cs_ok(custos_verdict_to_json(v, 0, &text))) {
            json_t *j = json_loads(text, 0, NULL);
            o->claims = json_incref(json_object_get(j, "claims"));
            json_decref(j);
            custos_free(text);
        }
        snprintf(o->message, sizeof o->message, "%s", custos_verdict_message(v));
        custos_verdict_free(v);
    }
    custos_snp_collateral_free(c);
    blobs_free(&b);
}

static void expect_verify(const char *what, struct world *w, cs_code want)
{
    world_build(w);
    struct outcome o;
    run_with(w, NULL, 0, NULL, AT, &o);
    cs_code got = o.load != CS_OK ? o.load : o.code;
    if (got != want) {
        fprintf(stderr, "%s: got %s (%s), want %s\n", what, custos_code_name(got), o.message,
                custos_code_name(want));
        EXPECT_EQ(got, want);
    }
    outcome_clear(&o);
}

static void expect_load(const char *what, struct world *w, cs_code want)
{
    world_build(w);
    struct outcome o;
    run_with(w, NULL, 0, NULL, AT, &o);
    if (o.load != want) {
        fprintf(stderr, "%s: load got %s (%s), want %s\n", what, custos_code_name(o.load),
                o.message, custos_code_name(want));
        EXPECT_EQ(o.load, want);
    }
    outcome_clear(&o);
}

static const char *claim_str(const struct outcome *o, const char *key)
{
    return json_string_value(json_object_get(o->claims, key));
}

static json_int_t claim_int(const struct outcome *o, const char *key)
{
    return json_integer_value(json_object_get(o->claims, key));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_products_verify(void)
{
    static const enum cs_snp_product products[] = { CS_SNP_PRODUCT_MILAN, CS_SNP_PRODUCT_GENOA,
                                                    CS_SNP_PRODUCT_TURIN };
    for (size_t i = 0; i < 3; i++) {
        for (int kind = CS_SNP_KEY_VCEK; kind <= CS_SNP_KEY_VLEK; kind++) {
            struct world w;
            world_init(&w, products[i], (enum cs_snp_signing_key)kind);
            world_build(&w);
            struct outcome o;
            run_with(&w, NULL, 0, NULL, AT, &o);
            if (o.load != CS_OK || o.code != CS_OK) {
                fprintf(stderr, "%s %s: %s %s (%s)\n", pname(products[i]),
                        kind == 0 ? "VCEK" : "VLEK", custos_code_name(o.load),
                        custos_code_name(o.code), o.message);
            }
            EXPECT_EQ(o.load, CS_OK);
            EXPECT_EQ(o.code, CS_OK);
            EXPECT_STR_EQ(claim_str(&o, "product"), pname(products[i]));
            EXPECT_STR_EQ(claim_str(&o, "signing_key"), kind == 0 ? "vcek" : "vlek");
            EXPECT_EQ(claim_int(&o, "reported_tcb_bootloader"), 3);
            EXPECT_EQ(claim_int(&o, "reported_tcb_snp"), 8);
            EXPECT_EQ(claim_int(&o, "reported_tcb_microcode"), 115);
            bool is_turin = products[i] == CS_SNP_PRODUCT_TURIN;
            EXPECT_EQ(json_object_get(o.claims, "reported_tcb_fmc") != NULL, is_turin);
            if (is_turin) {
                EXPECT_EQ(claim_int(&o, "reported_tcb_fmc"), 2);
            }
            if (kind == CS_SNP_KEY_VLEK) {
                EXPECT_STR_EQ(claim_str(&o, "csp_id"), "CN=cc-test.example");
            }
            char expiry[CS_TIME_TEXT_LEN];
            EXPECT_OK(cs_time_format(AT + 6 * YEAR, expiry)); /* the VCEK's end comes first */
            EXPECT_STR_EQ(claim_str(&o, "collateral_expiry"), expiry);
            outcome_clear(&o);
            world_free(&w);
        }
    }
}

static void test_hwid_encodings(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.ext.is_wrapped = true; /* OCTET STRING around the 64 bytes (newer KDS VCEKs) */
    expect_verify("wrapped hwID", &w, CS_OK);
    w.ext.hwid_len = 63;
    expect_verify("wrapped hwID of 63 bytes", &w, CS_E_FORMAT);
    w.ext.is_wrapped = false;
    expect_verify("raw hwID of 63 bytes", &w, CS_E_FORMAT);
    w.ext.hwid_len = 66; /* raw, but 66 bytes: not an OCTET STRING either */
    expect_verify("raw hwID of 66 bytes", &w, CS_E_FORMAT);
    w.ext.hwid_len = 8; /* a Turin-size hwID on Milan */
    expect_verify("8-byte hwID on Milan", &w, CS_E_FORMAT);
    w.ext.hwid = NULL;
    expect_verify("VCEK without hwID", &w, CS_E_FORMAT);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_TURIN, CS_SNP_KEY_VCEK);
    w.ext.is_wrapped = true;
    expect_verify("wrapped Turin hwID", &w, CS_OK);
    w.ext.is_wrapped = false;
    w.ext.hwid_len = 64;
    expect_verify("64-byte hwID on Turin", &w, CS_E_FORMAT);
    world_free(&w);
}

static void test_chip_binding(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.chip_id[10] ^= 1;
    expect_verify("CHIP_ID != hwID", &w, CS_E_BINDING);
    memset(w.chip_id, 0, sizeof w.chip_id);
    expect_verify("VCEK report with CHIP_ID masked", &w, CS_E_BINDING);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_TURIN, CS_SNP_KEY_VCEK);
    w.chip_id[40] = 1; /* beyond Turin's 8 bytes */
    expect_verify("Turin CHIP_ID with bytes past 8", &w, CS_E_BINDING);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VLEK);
    expect_verify("VLEK, CHIP_ID masked", &w, CS_OK);
    w.chip_id[0] = 7; /* a VLEK is not per chip: nothing to compare without a hwID */
    expect_verify("VLEK, CHIP_ID shown", &w, CS_OK);
    w.ext.hwid = w.hwid;
    w.ext.hwid_len = 64;
    expect_verify("VLEK with a hwID that differs", &w, CS_E_BINDING);
    memcpy(w.chip_id, w.hwid, 64);
    expect_verify("VLEK with a matching hwID", &w, CS_OK);
    world_free(&w);
}

static void test_tcb_mismatch(void)
{
    static const enum cs_snp_product products[] = { CS_SNP_PRODUCT_MILAN, CS_SNP_PRODUCT_TURIN };
    for (size_t p = 0; p < 2; p++) {
        const int arcs[] = { 1, 2, 3, 8, 9 };
        for (size_t i = 0; i < 5; i++) {
            struct world w;
            world_init(&w, products[p], CS_SNP_KEY_VCEK);
            if (arcs[i] == 9 && products[p] != CS_SNP_PRODUCT_TURIN) {
                world_free(&w);
                continue;
            }
            int spl[10];
            memcpy(spl, w.ext.spl, sizeof spl);
            spl[arcs[i]]++;
            tcb_bytes(products[p], spl, w.reported_tcb);
            char what[64];
            snprintf(what, sizeof what, "%s SPL .3.%d", pname(products[p]), arcs[i]);
            expect_verify(what, &w, CS_E_TCB);
            world_free(&w);
        }
    }
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_TURIN, CS_SNP_KEY_VCEK);
    tcb_bytes(CS_SNP_PRODUCT_MILAN, w.ext.spl, w.reported_tcb); /* Milan layout on Turin */
    expect_verify("Turin report in the Milan TCB layout", &w, CS_E_TCB);
    world_free(&w);
}

static void test_products_and_names(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.ext.product_name = "Genoa";
    expect_verify("Genoa VCEK under ARK-Milan", &w, CS_E_CHAIN);
    w.ext.product_name = "Milan";
    expect_verify("productName without stepping", &w, CS_OK);
    w.ext.product_name = NULL;
    expect_verify("no productName", &w, CS_E_CHAIN);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.ca_cn = "SEV-Genoa";
    expect_load("ASK of Genoa with ARK-Milan", &w, CS_E_CHAIN);
    w.ca_cn = "AMD-ASK";
    expect_load("ASK with another name", &w, CS_E_CHAIN);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.ark_cn = "ARK-Rome";
    w.ca_cn = "SEV-Rome";
    expect_load("unknown product", &w, CS_E_UNSUPPORTED);
    w.ark_cn = "Root";
    expect_load("anchor not an ARK", &w, CS_E_CHAIN);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.vek_cn = "SEV-VLEK";
    expect_verify("VCEK report, certificate named VLEK", &w, CS_E_CHAIN);
    world_free(&w);

    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.is_vek_under_ark = true;
    expect_verify("VCEK signed by the ARK", &w, CS_E_CHAIN);
    world_free(&w);

    /* a look-alike ARK: same name, another key; the ASK does not chain to it */
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.anchor_key = g.ask;
    expect_load("look-alike ARK", &w, CS_E_CHAIN);
    world_free(&w);
}

static void test_crls(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    world_build(&w);
    struct outcome o;
    X509_CRL *ok = make_crl(w.ark, g.ark, AT - 86400, AT + 7 * 86400, NULL);
    run_with(&w, NULL, 0, ok, AT, &o);
    EXPECT_EQ(o.load, CS_OK);
    EXPECT_EQ(o.code, CS_OK);
    EXPECT_STR_EQ(claim_str(&o, "collateral_expiry"), "2025-01-08T00:00:00Z");
    outcome_clear(&o);
    run_with(&w, NULL, 0, ok, AT + 8 * 86400, &o); /* past nextUpdate */
    EXPECT_EQ(o.code, CS_E_EXPIRED);
    outcome_clear(&o);
    run_with(&w, NULL, 0, ok, AT - 2 * 86400, &o); /* before thisUpdate */
    EXPECT_EQ(o.code, CS_E_EXPIRED);
    outcome_clear(&o);
    X509_CRL_free(ok);

    X509_CRL *revoking = make_crl(w.ark, g.ark, AT - 86400, AT + 7 * 86400, w.ca);
    run_with(&w, NULL, 0, revoking, AT, &o);
    EXPECT_EQ(o.load, CS_E_REVOKED);
    outcome_clear(&o);
    X509_CRL_free(revoking);

    X509_CRL *forged = make_crl(w.ark, g.ask, AT - 86400, AT + 7 * 86400, NULL);
    run_with(&w, NULL, 0, forged, AT, &o);
    EXPECT_EQ(o.load, CS_E_SIGNATURE);
    outcome_clear(&o);
    X509_CRL_free(forged);

    X509_CRL *foreign = make_crl(w.ca, g.ark, AT - 86400, AT + 7 * 86400, NULL);
    run_with(&w, NULL, 0, foreign, AT, &o);
    EXPECT_EQ(o.load, CS_E_CHAIN);
    outcome_clear(&o);
    X509_CRL_free(foreign);
    world_free(&w);
}

static void test_certificate_profile(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.vek_serial = 0; /* AMD's: accepted */
    expect_verify("serial 0", &w, CS_OK);
    w.vek_serial = 12345;
    expect_verify("serial 12345", &w, CS_OK);
    w.vek_serial = -5;
    expect_verify("negative serial", &w, CS_E_CHAIN);
    w.vek_serial = 0;
    w.is_vek_pkcs1 = true;
    expect_verify("PKCS#1 v1.5 signature", &w, CS_E_CHAIN);
    w.is_vek_pkcs1 = false;
    w.vek_key = g.p256;
    expect_verify("P-256 VCEK", &w, CS_E_UNSUPPORTED);
    world_free(&w);
}

static void test_extensions(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.ext.spl[8] = -1;
    expect_verify("no ucodeSPL", &w, CS_E_FORMAT);
    w.ext.spl[8] = 256;
    expect_verify("ucodeSPL 256", &w, CS_E_FORMAT);
    w.ext.spl[8] = 115;
    w.ext.is_product_twice = true;
    expect_verify("productName twice", &w, CS_E_FORMAT);
    world_free(&w);
    world_init(&w, CS_SNP_PRODUCT_TURIN, CS_SNP_KEY_VCEK);
    w.ext.spl[9] = -1;
    expect_verify("Turin without fmcSPL", &w, CS_E_FORMAT);
    world_free(&w);
}

static void test_report_signature(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_GENOA, CS_SNP_KEY_VCEK);
    w.report_key = g.other;
    expect_verify("signed by another key", &w, CS_E_SIGNATURE);
    w.report_key = g.vek;
    w.is_r_excess = true;
    expect_verify("R with a byte above 48", &w, CS_E_SIGNATURE);
    w.is_r_excess = false;
    static const uint32_t versions[] = { 2, 3, 5 };
    for (size_t i = 0; i < 3; i++) {
        w.version = versions[i];
        expect_verify("version", &w, CS_OK);
    }
    world_free(&w);
}

static void test_validity(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.vek_not_before = AT + 1;
    expect_verify("VCEK not yet valid", &w, CS_E_EXPIRED);
    w.vek_not_before = AT - YEAR;
    w.vek_not_after = AT - 1;
    expect_verify("VCEK expired", &w, CS_E_EXPIRED);
    w.vek_not_after = AT;
    expect_verify("VCEK's last second", &w, CS_OK);
    world_free(&w);
}

static void test_ca_chain_shapes(void)
{
    struct world vc;
    struct world vl;
    world_init(&vc, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    world_init(&vl, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VLEK);
    world_build(&vc);
    world_build(&vl);
    /* the VLEK world's ASVK and ARK are made by the same keys: one chain serves both */
    X509 *both[3] = { vc.ca, vl.ca, vc.ark };
    struct outcome o;
    run_with(&vc, both, 3, NULL, AT, &o);
    EXPECT_EQ(o.load, CS_OK);
    EXPECT_EQ(o.code, CS_OK);
    outcome_clear(&o);
    X509_free(vl.ark);
    vl.ark = X509_dup(vc.ark);
    run_with(&vl, both, 3, NULL, AT, &o);
    EXPECT_EQ(o.code, CS_OK);
    outcome_clear(&o);
    X509 *twice[2] = { vc.ca, vc.ca };
    run_with(&vc, twice, 2, NULL, AT, &o);
    EXPECT_EQ(o.load, CS_E_FORMAT);
    outcome_clear(&o);
    X509 *ark_only[1] = { vc.ark };
    run_with(&vc, ark_only, 1, NULL, AT, &o);
    EXPECT_EQ(o.load, CS_E_CHAIN);
    outcome_clear(&o);
    X509 *ask_only[1] = { vc.ca };
    run_with(&vc, ask_only, 1, NULL, AT, &o);
    EXPECT_EQ(o.code, CS_OK);
    outcome_clear(&o);
    X509 *vcek_as_ca[2] = { vc.ca, vc.vek };
    run_with(&vc, vcek_as_ca, 2, NULL, AT, &o);
    EXPECT_EQ(o.load, CS_E_CHAIN);
    outcome_clear(&o);
    run_with(&vl, ask_only, 1, NULL, AT, &o); /* VLEK report, no ASVK */
    EXPECT_EQ(o.code, CS_E_CHAIN);
    outcome_clear(&o);
    world_free(&vc);
    world_free(&vl);
}

/* KBS evidence with a VCEK in cert_chain, of a distinct certificate each time. */
static char *kbs_with_vcek(const struct world *w, X509 *vcek)
{
    json_t *rep = json_object();
    const uint8_t *r = w->report;
    json_t *tcb = json_pack("{s:n,s:i,s:i,s:i,s:i}", "fmc", "bootloader", r[0x180], "tee", r[0x181],
                            "snp", r[0x186], "microcode", r[0x187]);
    static const struct {
        const char *key;
        size_t off;
        size_t n;
    } arrays[] = { { "family_id", 0x10, 16 },          { "image_id", 0x20, 16 },
                   { "report_data", 0x50, 64 },        { "measurement", 0x90, 48 },
                   { "host_data", 0xC0, 32 },          { "id_key_digest", 0xE0, 48 },
                   { "author_key_digest", 0x110, 48 }, { "report_id", 0x140, 32 },
                   { "report_id_ma", 0x160, 32 },      { "chip_id", 0x1A0, 64 } };
    json_object_set_new(rep, "version", json_integer(r[0]));
    json_object_set_new(rep, "guest_svn", json_integer(0));
    json_object_set_new(rep, "policy", json_integer(0x30000));
    json_object_set_new(rep, "vmpl", json_integer(0));
    json_object_set_new(rep, "sig_algo", json_integer(1));
    json_object_set_new(rep, "plat_info", json_integer(0));
    json_object_set_new(rep, "key_info", json_integer(0));
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        json_t *a = json_array();
        for (size_t j = 0; j < arrays[i].n; j++) {
            json_array_append_new(a, json_integer(r[arrays[i].off + j]));
        }
        json_object_set_new(rep, arrays[i].key, a);
    }
    json_object_set(rep, "current_tcb", tcb);
    json_object_set(rep, "reported_tcb", tcb);
    json_object_set(rep, "committed_tcb", tcb);
    json_object_set_new(rep, "launch_tcb", tcb);
    json_object_set_new(rep, "cpuid_fam_id", json_integer(r[0x188]));
    json_object_set_new(rep, "cpuid_mod_id", json_integer(r[0x189]));
    json_object_set_new(rep, "cpuid_step", json_integer(r[0x18A]));
    json_object_set_new(rep, "current",
                        json_pack("{s:i,s:i,s:i}", "major", 0, "minor", 0, "build", 0));
    json_object_set_new(rep, "committed",
                        json_pack("{s:i,s:i,s:i}", "major", 0, "minor", 0, "build", 0));
    json_t *sig = json_object();
    for (int h = 0; h < 2; h++) {
        json_t *a = json_array();
        for (size_t j = 0; j < 72; j++) {
            json_array_append_new(a, json_integer(r[0x2A0 + 72 * (size_t)h + j]));
        }
        json_object_set_new(sig, h == 0 ? "r" : "s", a);
    }
    json_object_set_new(rep, "signature", sig);
    unsigned char *der = NULL;
    int n = i2d_X509(vcek, &der);
    json_t *data = json_array();
    for (int j = 0; j < n; j++) {
        json_array_append_new(data, json_integer(der[j]));
    }
    OPENSSL_free(der);
    json_t *root = json_pack("{s:o,s:[{s:s,s:o}]}", "attestation_report", rep, "cert_chain",
                             "cert_type", "VCEK", "data", data);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void test_memo_past_its_size(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    world_build(&w);
    struct blobs b;
    blobs_of(&w, NULL, 0, NULL, &b);
    struct custos_snp_collateral_src src = src_of(&w, &b);
    src.vcek = (struct custos_bytes){ 0 };
    struct custos_diag d = { 0 };
    struct custos_snp_collateral *c = NULL;
    EXPECT_OK(custos_snp_collateral_new(&src, &d, &c));
    /* 66 distinct VCEKs for the same key (serials differ): the memo wraps around. The
     * report has a byte above R's 48, so each verification ends, cheaply, at the
     * signature check, after the VCEK has been verified or found in the memo. */
    w.is_r_excess = true;
    world_build(&w);
    char *first = NULL;
    for (long i = 0; i < 66; i++) {
        X509 *vcek = make_cert(&(struct cert_spec){ .cn = "SEV-VCEK",
                                                    .key = g.vek,
                                                    .issuer = w.ca,
                                                    .signer = g.ask,
                                                    .serial = i,
                                                    .not_before = AT - YEAR,
                                                    .not_after = AT + YEAR,
                                                    .ext = &w.ext });
        char *text = kbs_with_vcek(&w, vcek);
        for (int round = 0; round < 2; round++) { /* cold, then from the memo */
            struct custos_verdict *v = NULL;
            cs_res r = custos_snp_verify(c, (const uint8_t *)text, strlen(text), AT, &v);
            if (r.code != CS_E_SIGNATURE || strstr(custos_verdict_message(v), "48") == NULL) {
                fprintf(stderr, "VCEK %ld: %s\n", i, custos_verdict_message(v));
            }
            EXPECT_ERR(r, CS_E_SIGNATURE);
            EXPECT_TRUE(strstr(custos_verdict_message(v), "48") != NULL);
            custos_verdict_free(v);
        }
        if (i == 0) {
            first = text;
        } else {
            free(text);
        }
        X509_free(vcek);
    }
    struct custos_verdict *v = NULL; /* the first one again, long evicted */
    EXPECT_ERR(custos_snp_verify(c, (const uint8_t *)first, strlen(first), AT, &v), CS_E_SIGNATURE);
    custos_verdict_free(v);
    free(first);
    custos_snp_collateral_free(c);
    blobs_free(&b);
    world_free(&w);
}

static void test_allocation_failures(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    w.is_r_excess = true; /* every step up to the signature check, without the ECDSA cost */
    world_build(&w);
    struct blobs b;
    blobs_of(&w, NULL, 0, NULL, &b);
    struct custos_snp_collateral_src src = src_of(&w, &b);
    char *kbs = kbs_with_vcek(&w, w.vek);
    for (long n = 0;; n++) {
        cs_mem_set_fail_after(n);
        struct custos_diag d = { 0 };
        struct custos_snp_collateral *c = NULL;
        cs_res r = custos_snp_collateral_new(&src, &d, &c);
        cs_code verified = CS_E_NOMEM;
        if (cs_ok(r)) {
            for (int i = 0; i < 2; i++) {
                const uint8_t *ev = i == 0 ? w.report : (const uint8_t *)kbs;
                size_t len = i == 0 ? sizeof w.report : strlen(kbs);
                struct custos_verdict *v = NULL;
                cs_res vr = custos_snp_verify(c, ev, len, AT, &v);
                EXPECT_TRUE(vr.code == CS_E_SIGNATURE || vr.code == CS_E_NOMEM);
                EXPECT_TRUE(v != NULL || vr.code == CS_E_NOMEM);
                verified = i == 0 ? vr.code : verified;
                custos_verdict_free(v);
            }
        } else {
            EXPECT_EQ(r.code, CS_E_NOMEM);
        }
        custos_snp_collateral_free(c);
        cs_mem_set_fail_after(-1);
        if (cs_ok(r) && verified == CS_E_SIGNATURE) {
            break;
        }
        EXPECT_TRUE(n < 64);
        if (n >= 64) {
            break;
        }
    }
    free(kbs);
    blobs_free(&b);
    world_free(&w);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    EXPECT_TRUE(f != NULL);
    if (f != NULL) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

static void remove_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    (void)unlink(path);
}

static void test_collateral_directory(void)
{
    struct world w;
    world_init(&w, CS_SNP_PRODUCT_MILAN, CS_SNP_KEY_VCEK);
    world_build(&w);
    X509_CRL *crl = make_crl(w.ark, g.ark, AT - 86400, AT + 86400, NULL);
    struct blobs b;
    blobs_of(&w, NULL, 0, crl, &b);
    char dir[] = "/tmp/custos-snp-XXXXXX";
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    write_file(dir, "trust_anchor.der", b.anchor, (size_t)b.anchor_len); /* .der variant */
    write_file(dir, "ca_chain.pem", b.chain, b.chain_len);
    write_file(dir, "vcek.der", b.vek, (size_t)b.vek_len);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(bio, crl);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(bio, &pem);
    write_file(dir, "crl.pem", pem, (size_t)pem_len); /* .pem variant */
    BIO_free(bio);
    struct custos_diag d = { 0 };
    struct custos_snp_collateral *c = NULL;
    EXPECT_OK(custos_snp_collateral_load_dir(dir, &d, &c));
    struct custos_verdict *v = NULL;
    EXPECT_OK(custos_snp_verify(c, w.report, sizeof w.report, AT, &v));
    custos_verdict_free(v);
    v = NULL;
    EXPECT_ERR(custos_snp_verify(c, w.report, sizeof w.report, AT + 2 * 86400, &v), CS_E_EXPIRED);
    EXPECT_TRUE(strstr(custos_verdict_message(v), "expired") != NULL);
    custos_verdict_free(v);
    custos_snp_collateral_free(c);
    c = NULL;
    remove_file(dir, "ca_chain.pem");
    memset(&d, 0, sizeof d);
    EXPECT_ERR(custos_snp_collateral_load_dir(dir, &d, &c), CS_E_IO);
    EXPECT_TRUE(strstr(d.msg, "ca_chain") != NULL);
    EXPECT_ERR(custos_snp_collateral_load_dir(NULL, &d, &c), CS_E_ARG);
    const char *names[] = { "trust_anchor.der", "vcek.der", "crl.pem" };
    for (size_t i = 0; i < 3; i++) {
        remove_file(dir, names[i]);
    }
    rmdir(dir);
    X509_CRL_free(crl);
    blobs_free(&b);
    world_free(&w);
}

static void test_arguments(void)
{
    struct custos_verdict *v = NULL;
    EXPECT_ERR(custos_snp_verify(NULL, NULL, 0, AT, &v), CS_E_ARG);
    EXPECT_TRUE(v == NULL);
    struct custos_snp_collateral *c = NULL;
    EXPECT_ERR(custos_snp_collateral_new(NULL, NULL, &c), CS_E_ARG);
    struct custos_snp_collateral_src empty = { 0 };
    struct custos_diag d = { 0 };
    EXPECT_ERR(custos_snp_collateral_new(&empty, &d, &c), CS_E_TRUNCATED);
    EXPECT_TRUE(c == NULL && d.msg[0] != '\0');
    custos_snp_collateral_free(NULL);
}

CS_TEST_MAIN(CS_TEST(test_products_verify), CS_TEST(test_hwid_encodings),
             CS_TEST(test_chip_binding), CS_TEST(test_tcb_mismatch),
             CS_TEST(test_products_and_names), CS_TEST(test_crls),
             CS_TEST(test_certificate_profile), CS_TEST(test_extensions),
             CS_TEST(test_report_signature), CS_TEST(test_validity), CS_TEST(test_ca_chain_shapes),
             CS_TEST(test_memo_past_its_size), CS_TEST(test_allocation_failures),
             CS_TEST(test_collateral_directory), CS_TEST(test_arguments))
