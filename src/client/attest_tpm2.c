/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kind "tpm2": a TPM 2.0 quote through tpm2-tss ESAPI (TCG TSS 2.0 Enhanced System API;
 * TPM 2.0 Library Part 3: TPM2_CreatePrimary, TPM2_Quote, TPM2_PCR_Read, TPM2_ReadPublic).
 *
 * The attestation key (AK) is an ECC P-256 restricted signing key with scheme ECDSA/SHA-256:
 * either a persistent object the caller names (0x81xxxxxx; checked to be exactly that kind
 * of key), or a primary key of the owner hierarchy (empty owner authorisation) created at
 * open from a fixed template and flushed at free. A primary key is derived from the
 * hierarchy's seed and its template, so the same TPM gives the same AK each time until the
 * owner hierarchy is cleared: its public key can be pinned (custos_tpm_trust_src.ak_pub).
 *
 * Evidence: TPM2_Quote over the PCR selection with qualifyingData = SHA-256(REPORT_DATA)
 * (cs_attester_tpm_nonce), then the selected PCRs are read with TPM2_PCR_Read. A PCR could
 * be extended between the two commands, so the values are hashed locally and compared with
 * the quote's pcrDigest; on a mismatch the pair is redone (at most QUOTE_TRIES times).
 * The TPM must already be started (firmware, or swtpm --flags startup-clear).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "client/attester.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"

#define BANKS_MAX 3
#define PCR_COUNT 24 /* PC Client platforms: PCRs 0..23 */
#define PCR_SELECT_LEN 3
#define DIGEST_MAX 48
#define QUOTE_TRIES 3
#define SIG_MAX 256
#define AK_CERT_MAX (16u * 1024u)
#define P256_LEN 32
#define SPKI_P256_LEN 91
#define PERSISTENT_FIRST 0x81000000u
#define PERSISTENT_LAST 0x81ffffffu

struct bank {
    const char *name;
    TPMI_ALG_HASH alg;
    size_t len;
};

static const struct bank banks[] = {
    { "sha1", TPM2_ALG_SHA1, 20 },
    { "sha256", TPM2_ALG_SHA256, 32 },
    { "sha384", TPM2_ALG_SHA384, 48 },
};

struct tpm2 {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR ak;
    bool is_transient; /* created here: flushed at free; else a persistent handle: closed */
    TPML_PCR_SELECTION sel;
    char ak_pem[256];
    struct cs_blob ak_cert; /* empty when none */
};

/* ---- the PCR selection string -------------------------------------------------------- */

static const struct bank *bank_of_name(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof banks / sizeof banks[0]; i++) {
        if (strlen(banks[i].name) == n && memcmp(banks[i].name, s, n) == 0) {
            return &banks[i];
        }
    }
    return NULL;
}

static const struct bank *bank_of_alg(TPMI_ALG_HASH alg)
{
    for (size_t i = 0; i < sizeof banks / sizeof banks[0]; i++) {
        if (banks[i].alg == alg) {
            return &banks[i];
        }
    }
    return NULL;
}

/* "sha256:0,1,2+sha1:7": banks joined by '+', each "name:index,index..." (0..23, decimal). */
static cs_res pcrs_parse(const char *s, TPML_PCR_SELECTION *sel)
{
    *sel = (TPML_PCR_SELECTION){ 0 };
    const char *p = s;
    for (;;) {
        const char *colon = strchr(p, ':');
        CS_ENSURE(colon != NULL, CS_E_ARG);
        const struct bank *b = bank_of_name(p, (size_t)(colon - p));
        CS_ENSURE(b != NULL, CS_E_ARG);
        for (uint32_t i = 0; i < sel->count; i++) {
            CS_ENSURE(sel->pcrSelections[i].hash != b->alg, CS_E_ARG); /* a bank twice */
        }
        CS_ENSURE(sel->count < BANKS_MAX, CS_E_ARG);
        TPMS_PCR_SELECTION *ps = &sel->pcrSelections[sel->count++];
        ps->hash = b->alg;
        ps->sizeofSelect = PCR_SELECT_LEN;
        p = colon + 1;
        for (;;) {
            unsigned idx = 0;
            size_t digits = 0;
            while (*p >= '0' && *p <= '9' && digits < 3) {
                idx = idx * 10 + (unsigned)(*p - '0');
                p++;
                digits++;
            }
            CS_ENSURE(digits > 0 && idx < PCR_COUNT, CS_E_ARG);
            CS_ENSURE(digits == 1 || p[-(ptrdiff_t)digits] != '0', CS_E_ARG); /* canonical */
            ps->pcrSelect[idx / 8] |= (uint8_t)(1u << (idx % 8));
            if (*p != ',') {
                break;
            }
            p++;
        }
        if (*p == '\0') {
            return CS_SUCCESS;
        }
        CS_ENSURE(*p == '+', CS_E_ARG);
        p++;
    }
}

/* ---- the AK ------------------------------------------------------------------------- */

/* An ECC P-256 restricted signing key with scheme ECDSA/SHA-256, as its public area says. */
static cs_res ak_check(const TPMT_PUBLIC *pub)
{
    const TPMA_OBJECT want = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    CS_ENSURE(pub->type == TPM2_ALG_ECC, CS_E_UNSUPPORTED);
    CS_ENSURE((pub->objectAttributes & want) == want, CS_E_UNSUPPORTED);
    CS_ENSURE((pub->objectAttributes & TPMA_OBJECT_DECRYPT) == 0, CS_E_UNSUPPORTED);
    const TPMS_ECC_PARMS *e = &pub->parameters.eccDetail;
    CS_ENSURE(e->curveID == TPM2_ECC_NIST_P256, CS_E_UNSUPPORTED);
    CS_ENSURE(e->scheme.scheme == TPM2_ALG_ECDSA &&
                  e->scheme.details.ecdsa.hashAlg == TPM2_ALG_SHA256,
              CS_E_UNSUPPORTED);
    CS_ENSURE(pub->unique.ecc.x.size <= P256_LEN && pub->unique.ecc.y.size <= P256_LEN,
              CS_E_FORMAT);
    return CS_SUCCESS;
}

/* The AK as a PEM SubjectPublicKeyInfo (RFC 5480: id-ecPublicKey, prime256v1, 04||X||Y). */
static cs_res ak_pem(const TPMT_PUBLIC *pub, char *out, size_t cap)
{
    static const uint8_t prefix[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04 };
    uint8_t der[SPKI_P256_LEN] = { 0 };
    memcpy(der, prefix, sizeof prefix);
    const TPM2B_ECC_PARAMETER *x = &pub->unique.ecc.x;
    const TPM2B_ECC_PARAMETER *y = &pub->unique.ecc.y;
    /* left-pad: a TPM may give a coordinate without its leading zero bytes */
    memcpy(der + sizeof prefix + P256_LEN - x->size, x->buffer, x->size);
    memcpy(der + sizeof prefix + 2 * P256_LEN - y->size, y->buffer, y->size);
    char b64[128];
    CS_TRY(cs_b64_encode(der, sizeof der, b64, sizeof b64));
    static const char head[] = "-----BEGIN PUBLIC KEY-----\n";
    static const char tail[] = "-----END PUBLIC KEY-----\n";
    size_t n = strlen(b64);
    CS_ENSURE(cap > sizeof head + n + n / 64 + 1 + sizeof tail, CS_E_INTERNAL);
    size_t o = 0;
    memcpy(out, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < n; i += 64) {
        size_t line = n - i < 64 ? n - i : 64;
        memcpy(out + o, b64 + i, line);
        o += line;
        out[o++] = '\n';
    }
    memcpy(out + o, tail, sizeof tail); /* with its NUL */
    return CS_SUCCESS;
}

static cs_res ak_create(struct tpm2 *t)
{
    static const char unique[] = "custos attestation key";
    TPM2B_PUBLIC tmpl = {
        .publicArea = {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
                                TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH,
            .parameters.eccDetail = {
                .symmetric.algorithm = TPM2_ALG_NULL,
                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                .curveID = TPM2_ECC_NIST_P256,
                .kdf.scheme = TPM2_ALG_NULL,
            },
        },
    };
    /* a distinct unique field: a different key from other tools' default primaries */
    tmpl.publicArea.unique.ecc.x.size = sizeof unique - 1;
    memcpy(tmpl.publicArea.unique.ecc.x.buffer, unique, sizeof unique - 1);
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION creation_pcr = { 0 };
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcr, &t->ak,
                                    &pub, &cdata, &chash, &ticket);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    if (rc != TSS2_RC_SUCCESS) {
        t->ak = ESYS_TR_NONE;
        CS_FAIL(CS_E_CRYPTO);
    }
    t->is_transient = true;
    cs_res r = ak_check(&pub->publicArea);
    if (cs_ok(r)) {
        r = ak_pem(&pub->publicArea, t->ak_pem, sizeof t->ak_pem);
    }
    Esys_Free(pub);
    return r;
}

static cs_res ak_load(struct tpm2 *t, uint32_t handle)
{
    CS_ENSURE(handle >= PERSISTENT_FIRST && handle <= PERSISTENT_LAST, CS_E_ARG);
    TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       &t->ak);
    if (rc != TSS2_RC_SUCCESS) {
        t->ak = ESYS_TR_NONE;
        CS_FAIL(CS_E_NOT_FOUND);
    }
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL;
    TPM2B_NAME *qname = NULL;
    rc = Esys_ReadPublic(t->esys, t->ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name,
                         &qname);
    Esys_Free(name);
    Esys_Free(qname);
    CS_ENSURE(rc == TSS2_RC_SUCCESS, CS_E_CRYPTO);
    cs_res r = ak_check(&pub->publicArea);
    if (cs_ok(r)) {
        r = ak_pem(&pub->publicArea, t->ak_pem, sizeof t->ak_pem);
    }
    Esys_Free(pub);
    return r;
}

/* ---- evidence ------------------------------------------------------------------------ */

/* The PCR values of the selection, by bank (index into banks[]) and PCR index. */
struct pcr_values {
    bool has[BANKS_MAX][PCR_COUNT];
    uint8_t v[BANKS_MAX][PCR_COUNT][DIGEST_MAX];
};

static bool is_selected(const TPMS_PCR_SELECTION *s, unsigned idx)
{
    return idx / 8 < s->sizeofSelect && (s->pcrSelect[idx / 8] & (1u << (idx % 8))) != 0;
}

/* TPM2_PCR_Read returns at most 8 digests per call: read until the selection is covered. */
static cs_res pcrs_read(struct tpm2 *t, struct pcr_values *out)
{
    *out = (struct pcr_values){ 0 };
    TPML_PCR_SELECTION left = t->sel;
    for (int round = 0; round < BANKS_MAX * PCR_COUNT; round++) {
        bool is_done = true;
        for (uint32_t i = 0; i < left.count; i++) {
            for (uint32_t j = 0; j < left.pcrSelections[i].sizeofSelect; j++) {
                is_done = is_done && left.pcrSelections[i].pcrSelect[j] == 0;
            }
        }
        if (is_done) {
            return CS_SUCCESS;
        }
        UINT32 counter = 0;
        TPML_PCR_SELECTION *got = NULL;
        TPML_DIGEST *values = NULL;
        TSS2_RC rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left,
                                   &counter, &got, &values);
        if (rc != TSS2_RC_SUCCESS) {
            CS_FAIL(CS_E_CRYPTO);
        }
        cs_res r = CS_SUCCESS;
        uint32_t k = 0;
        bool is_progress = false;
        for (uint32_t i = 0; cs_ok(r) && i < got->count; i++) {
            const TPMS_PCR_SELECTION *s = &got->pcrSelections[i];
            const struct bank *b = bank_of_alg(s->hash);
            for (unsigned idx = 0; cs_ok(r) && idx < PCR_COUNT; idx++) {
                if (!is_selected(s, idx)) {
                    continue;
                }
                if (b == NULL || k >= values->count || values->digests[k].size != b->len) {
                    r = (cs_res){ .code = CS_E_FORMAT, .line = __LINE__, .file = __FILE__ };
                    break;
                }
                size_t bi = (size_t)(b - banks);
                memcpy(out->v[bi][idx], values->digests[k].buffer, b->len);
                out->has[bi][idx] = true;
                k++;
                is_progress = true;
                for (uint32_t m = 0; m < left.count; m++) {
                    if (left.pcrSelections[m].hash == s->hash && idx / 8 < PCR_SELECT_LEN) {
                        left.pcrSelections[m].pcrSelect[idx / 8] &= (uint8_t)~(1u << (idx % 8));
                    }
                }
            }
        }
        Esys_Free(got);
        Esys_Free(values);
        CS_TRY(r);
        CS_ENSURE(is_progress, CS_E_UNSUPPORTED); /* a selected bank or PCR the TPM lacks */
    }
    CS_FAIL(CS_E_INTERNAL);
}

/* SHA-256 over the selected values in selection order: what pcrDigest must be (ECDSA-SHA256). */
static cs_res pcrs_digest(const TPML_PCR_SELECTION *sel, const struct pcr_values *pv,
                          uint8_t out[32])
{
    uint8_t cat[BANKS_MAX * PCR_COUNT * DIGEST_MAX];
    size_t n = 0;
    for (uint32_t i = 0; i < sel->count; i++) {
        const struct bank *b = bank_of_alg(sel->pcrSelections[i].hash);
        CS_ENSURE(b != NULL, CS_E_INTERNAL);
        size_t bi = (size_t)(b - banks);
        for (unsigned idx = 0; idx < PCR_COUNT; idx++) {
            if (is_selected(&sel->pcrSelections[i], idx)) {
                CS_ENSURE(pv->has[bi][idx], CS_E_INTERNAL);
                memcpy(cat + n, pv->v[bi][idx], b->len);
                n += b->len;
            }
        }
    }
    return cs_sha256(cs_cur_of(cat, n), out);
}

/* {"sha256": {"0": "<hex>", ...}, ...}: the pcrs.json form of docs/platforms/tpm.md */
static cs_res pcrs_json(const TPML_PCR_SELECTION *sel, const struct pcr_values *pv, json_t **out)
{
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    for (uint32_t i = 0; i < sel->count; i++) {
        const struct bank *b = bank_of_alg(sel->pcrSelections[i].hash);
        CS_ENSURE(b != NULL, CS_E_INTERNAL);
        size_t bi = (size_t)(b - banks);
        CS_AUTO_JSON *bo = json_object();
        CS_ENSURE(bo != NULL, CS_E_NOMEM);
        for (unsigned idx = 0; idx < PCR_COUNT; idx++) {
            if (is_selected(&sel->pcrSelections[i], idx)) {
                char key[4];
                int kn = snprintf(key, sizeof key, "%u", idx);
                CS_ENSURE(kn > 0 && (size_t)kn < sizeof key, CS_E_INTERNAL);
                CS_TRY(cs_json_set_hex(bo, key, pv->v[bi][idx], b->len));
            }
        }
        CS_TRY(cs_json_set_new(o, b->name, CS_MOVE(bo)));
    }
    *out = CS_MOVE(o);
    return CS_SUCCESS;
}

static cs_res set_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    CS_AUTO(cs_freep) char *s = NULL;
    CS_TRY(cs_alloc(1, cap, (void **)&s));
    CS_TRY(cs_b64_encode(p, n, s, cap));
    return cs_json_set_new(o, key, json_string(s));
}

/* One TPM2_Quote + TPM2_PCR_Read pair; CS_E_CONFLICT when a PCR moved in between. */
static cs_res quote_once(struct tpm2 *t, const TPM2B_DATA *nonce, json_t **evidence)
{
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own: ECDSA/SHA-256 */
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, nonce,
                            &scheme, &t->sel, &quoted, &sig);
    CS_ENSURE(rc == TSS2_RC_SUCCESS, CS_E_CRYPTO);
    TPM2B_ATTEST q = *quoted;
    uint8_t sbuf[SIG_MAX];
    size_t slen = 0;
    rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sbuf, sizeof sbuf, &slen);
    Esys_Free(quoted);
    Esys_Free(sig);
    CS_ENSURE(rc == TSS2_RC_SUCCESS, CS_E_CRYPTO);

    /* what was signed: a quote of our selection with our nonce (TPM 2.0 Part 2, TPMS_ATTEST) */
    TPMS_ATTEST att;
    size_t off = 0;
    rc = Tss2_MU_TPMS_ATTEST_Unmarshal(q.attestationData, q.size, &off, &att);
    CS_ENSURE(rc == TSS2_RC_SUCCESS && off == q.size, CS_E_FORMAT);
    CS_ENSURE(att.magic == TPM2_GENERATED_VALUE && att.type == TPM2_ST_ATTEST_QUOTE, CS_E_FORMAT);
    CS_ENSURE(att.extraData.size == nonce->size &&
                  memcmp(att.extraData.buffer, nonce->buffer, nonce->size) == 0,
              CS_E_BINDING);
    const TPM2B_DIGEST *pd = &att.attested.quote.pcrDigest;

    struct pcr_values *pv = NULL;
    CS_TRY(cs_alloc(1, sizeof *pv, (void **)&pv));
    uint8_t want[32];
    cs_res r = pcrs_read(t, pv);
    if (cs_ok(r)) {
        r = pcrs_digest(&att.attested.quote.pcrSelect, pv, want);
    }
    if (cs_ok(r) && (pd->size != sizeof want || memcmp(pd->buffer, want, sizeof want) != 0)) {
        r = (cs_res){ .code = CS_E_CONFLICT, .line = __LINE__, .file = __FILE__ };
    }
    CS_AUTO_JSON *pcrs = NULL;
    if (cs_ok(r)) {
        r = pcrs_json(&t->sel, pv, &pcrs);
    }
    cs_free(pv);
    CS_TRY(r);

    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    CS_TRY(set_b64(o, "quote", q.attestationData, q.size));
    CS_TRY(set_b64(o, "signature", sbuf, slen));
    CS_TRY(cs_json_set_new(o, "pcrs", CS_MOVE(pcrs)));
    CS_TRY(cs_json_set_new(o, "ak_pub", json_string(t->ak_pem)));
    if (t->ak_cert.len > 0) {
        CS_TRY(set_b64(o, "ak_cert", t->ak_cert.p, t->ak_cert.len));
    }
    *evidence = CS_MOVE(o);
    return CS_SUCCESS;
}

static cs_res tpm2_evidence(void *impl, const uint8_t report_data[64], json_t **evidence)
{
    struct tpm2 *t = impl;
    TPM2B_DATA nonce = { .size = CS_ATTESTER_TPM_NONCE_LEN };
    CS_TRY(cs_attester_tpm_nonce(report_data, nonce.buffer));
    cs_res r = CS_SUCCESS;
    for (int i = 0; i < QUOTE_TRIES; i++) {
        r = quote_once(t, &nonce, evidence);
        if (r.code != CS_E_CONFLICT) {
            break;
        }
    }
    return r;
}

static void tpm2_free(void *impl)
{
    struct tpm2 *t = impl;
    if (t == NULL) {
        return;
    }
    if (t->esys != NULL && t->ak != ESYS_TR_NONE) {
        if (t->is_transient) {
            (void)Esys_FlushContext(t->esys, t->ak);
        } else {
            (void)Esys_TR_Close(t->esys, &t->ak);
        }
    }
    Esys_Finalize(&t->esys);
    Tss2_TctiLdr_Finalize(&t->tcti);
    cs_blob_clear(&t->ak_cert);
    cs_free(t);
}

static const struct cs_attester_ops tpm2_ops = {
    .tee = "tpm",
    .evidence = tpm2_evidence,
    .release = tpm2_free,
};

static cs_res tpm2_setup(struct tpm2 *t, const struct cs_attester_opts *o)
{
    CS_TRY(pcrs_parse(o->pcrs != NULL ? o->pcrs : CS_ATTESTER_TPM_PCRS_DEFAULT, &t->sel));
    if (o->tpm_ak_cert != NULL) {
        CS_TRY(cs_file_read(o->tpm_ak_cert, AK_CERT_MAX, &t->ak_cert));
        CS_ENSURE(t->ak_cert.len > 0, CS_E_FORMAT);
    }
    CS_ENSURE(Tss2_TctiLdr_Initialize(o->tcti, &t->tcti) == TSS2_RC_SUCCESS, CS_E_IO);
    CS_ENSURE(Esys_Initialize(&t->esys, t->tcti, NULL) == TSS2_RC_SUCCESS, CS_E_IO);
    if (o->tpm_ak_handle != 0) {
        return ak_load(t, o->tpm_ak_handle);
    }
    return ak_create(t);
}

CS_RESULT cs_attest_tpm2_open(const struct cs_attester_opts *o,
                              const struct cs_attester_ops **ops, void **impl)
{
    CS_ENSURE(o != NULL && ops != NULL && impl != NULL, CS_E_ARG);
    struct tpm2 *t = NULL;
    CS_TRY(cs_alloc(1, sizeof *t, (void **)&t));
    *t = (struct tpm2){ .ak = ESYS_TR_NONE };
    cs_res r = tpm2_setup(t, o);
    if (!cs_ok(r)) {
        tpm2_free(t);
        return r;
    }
    *ops = &tpm2_ops;
    *impl = t;
    return CS_SUCCESS;
}
