/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tpm2 key provider of the sealed cache (tpm2-tss ESAPI). Each save makes a fresh
 * random 32-byte cache key and seals it as a keyedhash data object under the owner
 * hierarchy's storage root key (the TCG ECC P-256 SRK template, recreated from the owner
 * seed each time, so it is the same key and nothing is left persistent), with an
 * authPolicy of TPM2_PolicyPCR over the configured PCRs and no usable authValue
 * (userWithAuth clear): only a policy session whose PCRs match can unseal it.
 * The key travels to and from the TPM encrypted: Create runs under an HMAC session and
 * Unseal under the policy session, both salted with the SRK and with AES-128-CFB
 * parameter encryption, so a bus interposer does not see it.
 *
 * Anti-rollback: an NV counter index (TPM2_NT_COUNTER, 8 bytes, authRead/authWrite with
 * an empty authValue, noDA), defined by the owner on the first save. Each save increments
 * it and records the new value; open accepts only a file carrying the current value. A TPM
 * counter never takes a value again, even if the index is undefined and defined again.
 *
 * Key reference (all little-endian, docs/cache.md):
 *   u32 nv_index | u16 PCR bank (TPM_ALG_ID) | u32 PCR mask (bit n = PCR n)
 *   | u16 n | n bytes TPM2B_PUBLIC | u16 m | m bytes TPM2B_PRIVATE (TPM marshalling).
 *
 * Every transient object and session is flushed before the function that made it returns.
 */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "client/cache.h"
#include "client/cache_int.h"
#include "core/cs_buf.h"
#include "core/cs_mem.h"
#include "crypto/cs_aead.h"

#define TPM_PCR_COUNT 24u
#define TPM_NV_OWNER_FIRST 0x01000000u
#define TPM_NV_OWNER_LAST 0x017fffffu
#define TPM_COUNTER_LEN 8u

struct tpm_ctx {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    uint32_t nv_index;
    TPMI_ALG_HASH bank;
    uint32_t pcr_mask;
};

/* ---- helpers ---------------------------------------------------------------------------- */

/*
 * Maps a tpm2-tss return code: the TPM refusing the command gives on_tpm (its meaning
 * depends on the command), a transport failure CS_E_IO, an ESAPI failure CS_E_CRYPTO.
 */
static CS_RESULT tpm_rc(TSS2_RC rc, cs_code on_tpm)
{
    if (rc == TSS2_RC_SUCCESS) {
        return CS_SUCCESS;
    }
    TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;
    switch (rc & TSS2_RC_LAYER_MASK) {
    case TSS2_TPM_RC_LAYER:
    case TSS2_RESMGR_TPM_RC_LAYER:
        CS_FAIL(on_tpm);
    case TSS2_TCTI_RC_LAYER:
        CS_FAIL(CS_E_IO);
    default:
        /* ESAPI and SAPI pass transport failures up in their own layers. */
        CS_ENSURE(base != TSS2_BASE_RC_MEMORY, CS_E_NOMEM);
        CS_ENSURE(base != TSS2_BASE_RC_IO_ERROR && base != TSS2_BASE_RC_NO_CONNECTION, CS_E_IO);
        CS_FAIL(CS_E_CRYPTO);
    }
}

/* The TPM format-one error number of rc (parameter/handle/session bits removed). */
static TSS2_RC tpm_fmt1(TSS2_RC rc)
{
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER || (rc & TPM2_RC_FMT1) == 0) {
        return rc;
    }
    return rc & (TPM2_RC_FMT1 | 0x3fu);
}

/* A transient object or session handle flushed by the cleanup. */
struct tr_guard {
    ESYS_CONTEXT *esys;
    ESYS_TR h;
};

static void tr_flush(struct tr_guard *g)
{
    if (g->h != ESYS_TR_NONE) {
        (void)Esys_FlushContext(g->esys, g->h);
        g->h = ESYS_TR_NONE;
    }
}

/* An ESYS_TR of an NV index: closed (not flushed: NV indices persist) by the cleanup. */
static void tr_close(struct tr_guard *g)
{
    if (g->h != ESYS_TR_NONE) {
        (void)Esys_TR_Close(g->esys, &g->h);
        g->h = ESYS_TR_NONE;
    }
}

static void esys_freep(void *pp)
{
    void **p = pp;
    Esys_Free(*p);
    *p = NULL;
}

/* Unsealed data: wiped before ESAPI frees it. */
static void sensitive_freep(TPM2B_SENSITIVE_DATA **p)
{
    if (*p != NULL) {
        cs_wipe(*p, sizeof **p);
        Esys_Free(*p);
        *p = NULL;
    }
}

static void sens_create_wipe(TPM2B_SENSITIVE_CREATE *s)
{
    cs_wipe(s, sizeof *s);
}

static TPML_PCR_SELECTION pcr_selection(const struct tpm_ctx *t)
{
    TPML_PCR_SELECTION s = { .count = 1 };
    s.pcrSelections[0].hash = t->bank;
    s.pcrSelections[0].sizeofSelect = 3;
    s.pcrSelections[0].pcrSelect[0] = (uint8_t)(t->pcr_mask & 0xffu);
    s.pcrSelections[0].pcrSelect[1] = (uint8_t)((t->pcr_mask >> 8) & 0xffu);
    s.pcrSelections[0].pcrSelect[2] = (uint8_t)((t->pcr_mask >> 16) & 0xffu);
    return s;
}

/* The storage root key: TCG EK Credential Profile / Provisioning Guidance ECC SRK template. */
static CS_RESULT srk_create(struct tpm_ctx *t, ESYS_TR *srk)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC tmpl = {
        .publicArea = {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                                TPMA_OBJECT_DECRYPT,
            .parameters.eccDetail = {
                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                               .mode.aes = TPM2_ALG_CFB },
                .scheme = { .scheme = TPM2_ALG_NULL },
                .curveID = TPM2_ECC_NIST_P256,
                .kdf = { .scheme = TPM2_ALG_NULL },
            },
            .unique.ecc = { .x = { .size = 32 }, .y = { .size = 32 } },
        },
    };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION creation_pcrs = { 0 };
    return tpm_rc(Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcrs, srk,
                                     NULL, NULL, NULL, NULL),
                  CS_E_IO);
}

/* A session salted with the SRK, with AES-128-CFB parameter encryption. */
static CS_RESULT session_start(struct tpm_ctx *t, ESYS_TR srk, TPM2_SE type, TPMA_SESSION attrs,
                               ESYS_TR *s)
{
    TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                         .mode.aes = TPM2_ALG_CFB };
    CS_TRY(tpm_rc(Esys_StartAuthSession(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, s),
                  CS_E_IO));
    /* continueSession: the session outlives the command, so that the guard's flush is
       what ends it (without it the TPM ends it first and the flush fails) */
    return tpm_rc(Esys_TRSess_SetAttributes(t->esys, *s, attrs | TPMA_SESSION_CONTINUESESSION,
                                            0xff),
                  CS_E_CRYPTO);
}

/* The policy digest of PolicyPCR over the current values of the selected PCRs. */
static CS_RESULT policy_digest(struct tpm_ctx *t, TPM2B_DIGEST *out)
{
    TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
    CS_AUTO(tr_flush) struct tr_guard trial = { t->esys, ESYS_TR_NONE };
    CS_TRY(tpm_rc(Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &sym,
                                        TPM2_ALG_SHA256, &trial.h),
                  CS_E_IO));
    TPM2B_DIGEST empty = { 0 };
    TPML_PCR_SELECTION sel = pcr_selection(t);
    CS_TRY(tpm_rc(Esys_PolicyPCR(t->esys, trial.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &empty, &sel),
                  CS_E_ARG)); /* the TPM refuses the selection: no such bank */
    CS_AUTO(esys_freep) TPM2B_DIGEST *d = NULL;
    CS_TRY(tpm_rc(Esys_PolicyGetDigest(t->esys, trial.h, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, &d),
                  CS_E_IO));
    *out = *d;
    return CS_SUCCESS;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* ---- seal / unseal ------------------------------------------------------------------------- */

static CS_RESULT tpm_seal(void *ctx, uint8_t key[CS_CACHE_KEY_LEN], struct cs_buf *keyref)
{
    struct tpm_ctx *t = ctx;
    CS_AUTO(tr_flush) struct tr_guard srk = { t->esys, ESYS_TR_NONE };
    CS_TRY(srk_create(t, &srk.h));
    TPM2B_PUBLIC tmpl = {
        .publicArea = {
            .type = TPM2_ALG_KEYEDHASH,
            .nameAlg = TPM2_ALG_SHA256,
            /* no userWithAuth: the policy is the only way to use the object */
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_NODA,
            .parameters.keyedHashDetail.scheme = { .scheme = TPM2_ALG_NULL },
        },
    };
    CS_TRY(policy_digest(t, &tmpl.publicArea.authPolicy));

    CS_AUTO(tr_flush) struct tr_guard hmac = { t->esys, ESYS_TR_NONE };
    CS_TRY(session_start(t, srk.h, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &hmac.h));
    CS_AUTO(sens_create_wipe) TPM2B_SENSITIVE_CREATE sens = { 0 };
    CS_TRY(cs_aead_random_key(key, CS_CACHE_KEY_LEN));
    sens.sensitive.data.size = CS_CACHE_KEY_LEN;
    memcpy(sens.sensitive.data.buffer, key, CS_CACHE_KEY_LEN);
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION creation_pcrs = { 0 };
    CS_AUTO(esys_freep) TPM2B_PRIVATE *priv = NULL;
    CS_AUTO(esys_freep) TPM2B_PUBLIC *pub = NULL;
    cs_res r = tpm_rc(Esys_Create(t->esys, srk.h, hmac.h, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                                  &tmpl, &outside, &creation_pcrs, &priv, &pub, NULL, NULL,
                                  NULL),
                      CS_E_IO);
    if (r.code != CS_OK) {
        cs_wipe(key, CS_CACHE_KEY_LEN);
        return r;
    }

    uint8_t pub_bytes[sizeof(TPM2B_PUBLIC)];
    uint8_t priv_bytes[sizeof(TPM2B_PRIVATE)];
    size_t pub_len = 0, priv_len = 0;
    CS_TRY(tpm_rc(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, pub_bytes, sizeof pub_bytes, &pub_len),
                  CS_E_INTERNAL));
    CS_TRY(tpm_rc(Tss2_MU_TPM2B_PRIVATE_Marshal(priv, priv_bytes, sizeof priv_bytes, &priv_len),
                  CS_E_INTERNAL));
    uint8_t head[4 + 2 + 4];
    put_le(head, t->nv_index, 4);
    put_le(head + 4, t->bank, 2);
    put_le(head + 6, t->pcr_mask, 4);
    uint8_t len16[2];
    CS_TRY(cs_buf_append(keyref, head, sizeof head));
    put_le(len16, pub_len, 2);
    CS_TRY(cs_buf_append(keyref, len16, sizeof len16));
    CS_TRY(cs_buf_append(keyref, pub_bytes, pub_len));
    put_le(len16, priv_len, 2);
    CS_TRY(cs_buf_append(keyref, len16, sizeof len16));
    CS_TRY(cs_buf_append(keyref, priv_bytes, priv_len));
    return CS_SUCCESS;
}

struct tpm_keyref {
    uint32_t nv_index;
    uint16_t bank;
    uint32_t pcr_mask;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
};

/* Parses the key reference of an unauthenticated file (see the top of this file). */
static CS_RESULT keyref_parse(struct cs_cur c, struct tpm_keyref *k)
{
    *k = (struct tpm_keyref){ 0 };
    CS_TRY(cs_cur_u32le(&c, &k->nv_index));
    CS_TRY(cs_cur_u16le(&c, &k->bank));
    CS_TRY(cs_cur_u32le(&c, &k->pcr_mask));
    uint16_t n = 0;
    struct cs_cur v;
    size_t off = 0;
    CS_TRY(cs_cur_u16le(&c, &n));
    CS_ENSURE(n <= sizeof(TPM2B_PUBLIC), CS_E_TOO_LARGE);
    CS_TRY(cs_cur_view(&c, n, &v));
    CS_ENSURE(Tss2_MU_TPM2B_PUBLIC_Unmarshal(v.p, v.left, &off, &k->pub) == TSS2_RC_SUCCESS,
              CS_E_FORMAT);
    CS_ENSURE(off == v.left, CS_E_TRAILING);
    CS_TRY(cs_cur_u16le(&c, &n));
    CS_ENSURE(n <= sizeof(TPM2B_PRIVATE), CS_E_TOO_LARGE);
    CS_TRY(cs_cur_view(&c, n, &v));
    off = 0;
    CS_ENSURE(Tss2_MU_TPM2B_PRIVATE_Unmarshal(v.p, v.left, &off, &k->priv) == TSS2_RC_SUCCESS,
              CS_E_FORMAT);
    CS_ENSURE(off == v.left, CS_E_TRAILING);
    return cs_cur_end(&c);
}

static CS_RESULT tpm_unseal(void *ctx, struct cs_cur keyref, uint8_t key[CS_CACHE_KEY_LEN])
{
    struct tpm_ctx *t = ctx;
    struct tpm_keyref k;
    CS_TRY(keyref_parse(keyref, &k));
    CS_ENSURE(k.nv_index == t->nv_index && k.bank == t->bank && k.pcr_mask == t->pcr_mask,
              CS_E_BINDING);

    CS_AUTO(tr_flush) struct tr_guard srk = { t->esys, ESYS_TR_NONE };
    CS_TRY(srk_create(t, &srk.h));
    CS_AUTO(tr_flush) struct tr_guard obj = { t->esys, ESYS_TR_NONE };
    /* The TPM checks the integrity HMAC of the private part over the public's name. */
    CS_TRY(tpm_rc(Esys_Load(t->esys, srk.h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            &k.priv, &k.pub, &obj.h),
                  CS_E_SIGNATURE));
    CS_AUTO(tr_flush) struct tr_guard pol = { t->esys, ESYS_TR_NONE };
    CS_TRY(session_start(t, srk.h, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &pol.h));
    TPM2B_DIGEST empty = { 0 };
    TPML_PCR_SELECTION sel = pcr_selection(t);
    CS_TRY(tpm_rc(Esys_PolicyPCR(t->esys, pol.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &empty, &sel),
                  CS_E_TCB));
    CS_AUTO(sensitive_freep) TPM2B_SENSITIVE_DATA *data = NULL;
    TSS2_RC rc = Esys_Unseal(t->esys, obj.h, pol.h, ESYS_TR_NONE, ESYS_TR_NONE, &data);
    TSS2_RC e = tpm_fmt1(rc);
    /* POLICY_FAIL: the PCR values differ from those the key was sealed to. */
    CS_ENSURE(e != TPM2_RC_POLICY_FAIL && e != TPM2_RC_PCR_CHANGED, CS_E_TCB);
    CS_TRY(tpm_rc(rc, CS_E_SIGNATURE));
    CS_ENSURE(data != NULL && data->size == CS_CACHE_KEY_LEN, CS_E_SIGNATURE);
    memcpy(key, data->buffer, CS_CACHE_KEY_LEN);
    return CS_SUCCESS;
}

/* ---- NV counter ----------------------------------------------------------------------------- */

static CS_RESULT nv_exists(struct tpm_ctx *t, bool *exists)
{
    CS_AUTO(esys_freep) TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = 0;
    CS_TRY(tpm_rc(Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     TPM2_CAP_HANDLES, t->nv_index, 1, &more, &cap),
                  CS_E_IO));
    *exists = cap != NULL && cap->data.handles.count >= 1 &&
              cap->data.handles.handle[0] == t->nv_index;
    return CS_SUCCESS;
}

/* Opens the NV index, checking that it is an 8-byte counter we can read and increment. */
static CS_RESULT nv_open(struct tpm_ctx *t, struct tr_guard *nv, bool *is_written)
{
    CS_TRY(tpm_rc(Esys_TR_FromTPMPublic(t->esys, t->nv_index, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, &nv->h),
                  CS_E_CONFLICT));
    CS_AUTO(esys_freep) TPM2B_NV_PUBLIC *pub = NULL;
    CS_TRY(tpm_rc(Esys_NV_ReadPublic(t->esys, nv->h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &pub, NULL),
                  CS_E_CONFLICT));
    TPMA_NV a = pub->nvPublic.attributes;
    CS_ENSURE(((a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) == TPM2_NT_COUNTER &&
                  (a & TPMA_NV_AUTHREAD) != 0 && (a & TPMA_NV_AUTHWRITE) != 0 &&
                  pub->nvPublic.dataSize == TPM_COUNTER_LEN,
              CS_E_CONFLICT); /* something else occupies the index */
    *is_written = (a & TPMA_NV_WRITTEN) != 0;
    return CS_SUCCESS;
}

static CS_RESULT nv_read(struct tpm_ctx *t, ESYS_TR nv, uint64_t *value)
{
    CS_AUTO(esys_freep) TPM2B_MAX_NV_BUFFER *d = NULL;
    CS_TRY(tpm_rc(Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM_COUNTER_LEN, 0, &d),
                  CS_E_CONFLICT));
    CS_ENSURE(d->size == TPM_COUNTER_LEN, CS_E_CONFLICT);
    struct cs_cur c = cs_cur_of(d->buffer, d->size);
    return cs_cur_u64be(&c, value); /* NV counters read big-endian (TPM 2.0 Part 1, 37.2) */
}

static CS_RESULT tpm_counter_read(void *ctx, uint64_t *value)
{
    struct tpm_ctx *t = ctx;
    bool exists = false;
    CS_TRY(nv_exists(t, &exists));
    CS_ENSURE(exists, CS_E_CONFLICT);
    CS_AUTO(tr_close) struct tr_guard nv = { t->esys, ESYS_TR_NONE };
    bool is_written = false;
    CS_TRY(nv_open(t, &nv, &is_written));
    CS_ENSURE(is_written, CS_E_CONFLICT);
    return nv_read(t, nv.h, value);
}

static CS_RESULT tpm_counter_next(void *ctx, uint64_t *value)
{
    struct tpm_ctx *t = ctx;
    bool exists = false;
    CS_TRY(nv_exists(t, &exists));
    CS_AUTO(tr_close) struct tr_guard nv = { t->esys, ESYS_TR_NONE };
    if (!exists) {
        TPM2B_AUTH auth = { 0 };
        TPM2B_NV_PUBLIC pub = {
            .nvPublic = {
                .nvIndex = t->nv_index,
                .nameAlg = TPM2_ALG_SHA256,
                .attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA |
                              ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT),
                .dataSize = TPM_COUNTER_LEN,
            },
        };
        CS_TRY(tpm_rc(Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                          ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv.h),
                      CS_E_IO));
        tr_close(&nv);
    }
    bool is_written = false;
    CS_TRY(nv_open(t, &nv, &is_written));
    CS_TRY(tpm_rc(Esys_NV_Increment(t->esys, nv.h, nv.h, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE),
                  CS_E_IO));
    return nv_read(t, nv.h, value);
}

/* ---- provider ------------------------------------------------------------------------------ */

static void tpm_destroy(void *ctx)
{
    struct tpm_ctx *t = ctx;
    if (t == NULL) {
        return;
    }
    if (t->esys != NULL) {
        Esys_Finalize(&t->esys);
    }
    if (t->tcti != NULL) {
        Tss2_TctiLdr_Finalize(&t->tcti);
    }
    cs_free(t);
}

static const struct cs_cache_provider_ops tpm_ops = {
    .id = CS_CACHE_PROVIDER_TPM2,
    .seal = tpm_seal,
    .unseal = tpm_unseal,
    .counter_next = tpm_counter_next,
    .counter_read = tpm_counter_read,
    .destroy = tpm_destroy,
};

static void tpm_ctx_freep(struct tpm_ctx **t)
{
    tpm_destroy(*t);
}

/* "<bank>:<n>[,<n>...]" with bank sha1 | sha256 | sha384 and n in 0..23. */
static CS_RESULT pcrs_parse(const char *s, TPMI_ALG_HASH *bank, uint32_t *mask)
{
    const char *colon = strchr(s, ':');
    CS_ENSURE(colon != NULL, CS_E_ARG);
    size_t n = (size_t)(colon - s);
    if (n == 4 && strncmp(s, "sha1", 4) == 0) {
        *bank = TPM2_ALG_SHA1;
    } else if (n == 6 && strncmp(s, "sha256", 6) == 0) {
        *bank = TPM2_ALG_SHA256;
    } else if (n == 6 && strncmp(s, "sha384", 6) == 0) {
        *bank = TPM2_ALG_SHA384;
    } else {
        CS_FAIL(CS_E_ARG);
    }
    *mask = 0;
    const char *p = colon + 1;
    for (;;) {
        CS_ENSURE(*p >= '0' && *p <= '9', CS_E_ARG);
        unsigned v = 0;
        for (int digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
            CS_ENSURE(digits < 2, CS_E_ARG);
            v = v * 10 + (unsigned)(*p - '0');
        }
        CS_ENSURE(v < TPM_PCR_COUNT, CS_E_ARG);
        *mask |= 1u << v;
        if (*p == '\0') {
            return CS_SUCCESS;
        }
        CS_ENSURE(*p == ',', CS_E_ARG);
        p++;
    }
}

CS_RESULT cs_cache_provider_tpm2(const char *tcti, const char *pcrs, uint32_t nv_index,
                                 struct cs_cache_key_provider **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    if (nv_index == 0) {
        nv_index = CS_CACHE_TPM2_NV_DEFAULT;
    }
    CS_ENSURE(nv_index >= TPM_NV_OWNER_FIRST && nv_index <= TPM_NV_OWNER_LAST, CS_E_ARG);
    void *m = NULL;
    CS_TRY(cs_alloc(1, sizeof(struct tpm_ctx), &m));
    CS_AUTO(tpm_ctx_freep) struct tpm_ctx *t = m;
    t->nv_index = nv_index;
    CS_TRY(pcrs_parse(pcrs != NULL ? pcrs : CS_CACHE_TPM2_PCRS_DEFAULT, &t->bank, &t->pcr_mask));
    CS_ENSURE(Tss2_TctiLdr_Initialize(tcti, &t->tcti) == TSS2_RC_SUCCESS, CS_E_IO);
    CS_TRY(tpm_rc(Esys_Initialize(&t->esys, t->tcti, NULL), CS_E_IO));
    CS_TRY(cs_alloc(1, sizeof(struct cs_cache_key_provider), &m));
    struct cs_cache_key_provider *p = m;
    p->ops = &tpm_ops;
    p->ctx = CS_MOVE(t);
    *out = p;
    return CS_SUCCESS;
}
