/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DCAP collateral: parse once, verify signatures and chains once (independent of
 * time), record every validity period, and remember verified PCK chains.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"
#include "verify/dcap_internal.h"

#define CN_MAX 128

static const char CN_TCB_SIGNING[] = "Intel SGX TCB Signing";
static const char CN_PCK_LEAF[] = "Intel SGX PCK Certificate";
static const char CN_PCK_PLATFORM_CA[] = "Intel SGX PCK Platform CA";
static const char CN_PCK_PROCESSOR_CA[] = "Intel SGX PCK Processor CA";

void custos_dcap_collateral_free(struct custos_dcap_collateral *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < CS_PCK_MEMO_MAX; i++) {
        EVP_PKEY_free(c->memo[i].key);
    }
    pthread_mutex_destroy(&c->memo_lock);
    EVP_PKEY_free(c->p256);
    EVP_MD_free(c->sha256);
    X509_STORE_free(c->pck_store);
    X509_CRL_free(c->pck_crl);
    X509_CRL_free(c->root_crl);
    X509_free(c->anchor);
    if (c->tcb != NULL) {
        cs_tcb_info_clear(c->tcb);
        cs_free(c->tcb);
    }
    if (c->qe != NULL) {
        cs_qe_identity_clear(c->qe);
        cs_free(c->qe);
    }
    cs_blob_clear(&c->tcb_raw);
    cs_blob_clear(&c->qe_raw);
    cs_free(c);
}

static void collateral_freep(struct custos_dcap_collateral **p)
{
    custos_dcap_collateral_free(*p);
}

static void store_freep(X509_STORE **p)
{
    X509_STORE_free(*p);
}

static cs_res blob_copy(struct custos_bytes in, struct cs_blob *out)
{
    CS_ENSURE(in.p != NULL || in.len == 0, CS_E_ARG);
    CS_ENSURE(in.len <= CS_COLLATERAL_JSON_MAX, CS_E_TOO_LARGE);
    uint8_t *p = NULL;
    CS_TRY(cs_alloc(in.len + 1, 1, (void **)&p));
    if (in.len > 0) {
        memcpy(p, in.p, in.len);
    }
    *out = (struct cs_blob){ p, in.len };
    return CS_SUCCESS;
}

/* A window that is not recorded is never checked: running out of room is a bug, not a skip. */
static cs_res add_window(struct custos_dcap_collateral *c, const char *what, struct cs_window w)
{
    CS_ENSURE(c->n_windows < CS_DCAP_WINDOWS_MAX, CS_E_INTERNAL);
    c->windows[c->n_windows++] = (struct cs_named_window){ what, w };
    if (w.not_after < c->expiry) {
        c->expiry = w.not_after;
    }
    return CS_SUCCESS;
}

/*
 * Verifies a signed collateral document: its issuer chain (TCB Signing <- anchor, with
 * the Root CA CRL), the signer's name, and the ECDSA signature over the exact body bytes.
 */
static cs_res signed_doc_verify(struct custos_dcap_collateral *c, X509_STORE *store,
                                struct custos_bytes chain_src, struct cs_cur body,
                                const uint8_t sig[64], const char *what, struct cs_window *w,
                                struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *chain = NULL;
    cs_res r = cs_x509_stack_parse(cs_cur_of(chain_src.p, chain_src.len), &chain);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%s issuer chain: cannot decode certificates", what);
    X509 *signer = sk_X509_value(chain, 0);
    char cn[CN_MAX];
    r = cs_x509_subject_cn(signer, cn, sizeof cn);
    CS_ENSURE_WHY(cs_ok(r) && strcmp(cn, CN_TCB_SIGNING) == 0, CS_E_CHAIN, diag,
                  "%s signer is not the Intel SGX TCB Signing certificate", what);
    int n = sk_X509_num(chain);
    CS_ENSURE_WHY(n == 1 || (n == 2 && X509_cmp(sk_X509_value(chain, 1), c->anchor) == 0),
                  CS_E_CHAIN, diag, "%s issuer chain is not the signer and the trust anchor",
                  what);
    CS_TRY(cs_x509_chain_verify(store, signer, chain, 2, w, diag));
    EVP_PKEY *key = X509_get0_pubkey(signer);
    CS_ENSURE_WHY(key != NULL, CS_E_FORMAT, diag, "%s signer key unreadable", what);
    r = cs_ecdsa_verify_rs(key, EVP_sha256(), sig, 64, body);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "%s signature does not verify over its signed bytes",
                  what);
    return CS_SUCCESS;
}

static cs_res load_tcb_info(struct custos_dcap_collateral *c, X509_STORE *store,
                            const struct custos_dcap_collateral_src *src, struct custos_diag *diag)
{
    CS_TRY(blob_copy(src->tcb_info, &c->tcb_raw));
    CS_TRY(cs_alloc(1, sizeof *c->tcb, (void **)&c->tcb));
    cs_res r = cs_tcb_info_parse(cs_cur_of(c->tcb_raw.p, c->tcb_raw.len), c->tcb);
    if (!cs_ok(r)) {
        cs_free(c->tcb);
        c->tcb = NULL;
        CS_ENSURE_WHY(false, r.code, diag, "TCB Info: malformed document");
    }
    struct cs_window w;
    CS_TRY(signed_doc_verify(c, store, src->tcb_info_chain, c->tcb->signed_body,
                             c->tcb->signature, "TCB Info", &w, diag));
    CS_TRY(add_window(c, "TCB Info issuer chain", w));
    struct cs_window doc = { c->tcb->issue_date, c->tcb->next_update };
    CS_TRY(add_window(c, "TCB Info", doc));
    return CS_SUCCESS;
}

static cs_res load_qe_identity(struct custos_dcap_collateral *c, X509_STORE *store,
                               const struct custos_dcap_collateral_src *src,
                               struct custos_diag *diag)
{
    CS_TRY(blob_copy(src->qe_identity, &c->qe_raw));
    CS_TRY(cs_alloc(1, sizeof *c->qe, (void **)&c->qe));
    cs_res r = cs_qe_identity_parse(cs_cur_of(c->qe_raw.p, c->qe_raw.len), c->qe);
    if (!cs_ok(r)) {
        cs_free(c->qe);
        c->qe = NULL;
        CS_ENSURE_WHY(false, r.code, diag, "QE Identity: malformed document");
    }
    struct cs_window w;
    CS_TRY(signed_doc_verify(c, store, src->qe_identity_chain, c->qe->signed_body,
                             c->qe->signature, "QE Identity", &w, diag));
    CS_TRY(add_window(c, "QE Identity issuer chain", w));
    struct cs_window doc = { c->qe->issue_date, c->qe->next_update };
    CS_TRY(add_window(c, "QE Identity", doc));
    return CS_SUCCESS;
}

static cs_res load_roots(struct custos_dcap_collateral *c,
                         const struct custos_dcap_collateral_src *src, struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *anchors = NULL;
    cs_res r = cs_x509_stack_parse(cs_cur_of(src->trust_anchor.p, src->trust_anchor.len), &anchors);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "trust anchor: cannot decode certificate");
    CS_ENSURE_WHY(sk_X509_num(anchors) == 1, CS_E_FORMAT, diag,
                  "trust anchor: expected exactly one certificate");
    c->anchor = sk_X509_shift(anchors);
    struct cs_window w;
    CS_TRY(cs_x509_window(c->anchor, &w));
    CS_TRY(add_window(c, "trust anchor", w));

    if (src->root_ca_crl.p == NULL) {
        return CS_SUCCESS; /* enough to check collateral alone; quotes need both CRLs */
    }
    r = cs_x509_crl_parse(cs_cur_of(src->root_ca_crl.p, src->root_ca_crl.len), &c->root_crl);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "Root CA CRL: cannot decode");
    CS_ENSURE_WHY(X509_NAME_cmp(X509_CRL_get_issuer(c->root_crl),
                                X509_get_subject_name(c->anchor)) == 0,
                  CS_E_CHAIN, diag, "Root CA CRL is not issued by the trust anchor");
    int rc = X509_CRL_verify(c->root_crl, X509_get0_pubkey(c->anchor));
    if (rc != 1) {
        cs_ossl_clear();
    }
    CS_ENSURE_WHY(rc == 1, CS_E_SIGNATURE, diag, "Root CA CRL signature does not verify");
    CS_TRY(cs_x509_crl_window(c->root_crl, &w));
    CS_TRY(add_window(c, "Root CA CRL", w));

    if (src->pck_crl.p != NULL) {
        r = cs_x509_crl_parse(cs_cur_of(src->pck_crl.p, src->pck_crl.len), &c->pck_crl);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "PCK CRL: cannot decode");
        CS_TRY(cs_x509_crl_window(c->pck_crl, &w));
        CS_TRY(add_window(c, "PCK CRL", w));
        X509_CRL *crls[2] = { c->root_crl, c->pck_crl };
        CS_TRY(cs_x509_store_new(c->anchor, crls, 2, &c->pck_store));
    }
    return CS_SUCCESS;
}

CS_RESULT custos_dcap_collateral_new(const struct custos_dcap_collateral_src *src,
                                     struct custos_diag *diag,
                                     struct custos_dcap_collateral **out)
{
    CS_ENSURE(src != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_AUTO(collateral_freep) struct custos_dcap_collateral *c = NULL;
    CS_TRY(cs_alloc(1, sizeof *c, (void **)&c));
    if (pthread_mutex_init(&c->memo_lock, NULL) != 0) {
        cs_free(c);
        c = NULL;
        CS_FAIL(CS_E_NOMEM);
    }
    c->expiry = INT64_MAX;
    CS_TRY(cs_ecdsa_p256_params_new(&c->p256));
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    CS_OSSL_ENSURE(c->sha256 != NULL, CS_E_CRYPTO);
    CS_TRY(load_roots(c, src, diag));
    CS_AUTO(store_freep) X509_STORE *tcb_store = NULL;
    CS_TRY(cs_x509_store_new(c->anchor, &c->root_crl, c->root_crl != NULL ? 1 : 0, &tcb_store));
    CS_TRY(load_tcb_info(c, tcb_store, src, diag));
    if (src->qe_identity.p != NULL) {
        CS_TRY(load_qe_identity(c, tcb_store, src, diag));
    }
    *out = CS_MOVE(c);
    return CS_SUCCESS;
}

CS_RESULT custos_dcap_collateral_check(const struct custos_dcap_collateral *c, int64_t at,
                                       struct custos_diag *diag)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    for (size_t i = 0; i < c->n_windows; i++) {
        const struct cs_named_window *nw = &c->windows[i];
        char edge[CS_TIME_TEXT_LEN] = "?";
        if (at < nw->w.not_before) {
            cs_time_text(nw->w.not_before, edge);
            CS_ENSURE_WHY(false, CS_E_EXPIRED, diag, "%s not valid before %s", nw->what, edge);
        }
        if (at > nw->w.not_after) {
            cs_time_text(nw->w.not_after, edge);
            CS_ENSURE_WHY(false, CS_E_EXPIRED, diag, "%s expired at %s", nw->what, edge);
        }
    }
    return CS_SUCCESS;
}

/* Verifies a PCK chain from PEM: leaf name, issuer CA name, chain + CRLs, SGX extension. */
static cs_res pck_chain_verify(struct custos_dcap_collateral *c, struct cs_cur pem,
                               struct cs_pck_memo *m, struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *chain = NULL;
    cs_res r = cs_x509_stack_parse(pem, &chain);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "PCK certificate chain: cannot decode");
    X509 *leaf = sk_X509_value(chain, 0);
    char cn[CN_MAX];
    r = cs_x509_subject_cn(leaf, cn, sizeof cn);
    CS_ENSURE_WHY(cs_ok(r) && strcmp(cn, CN_PCK_LEAF) == 0, CS_E_CHAIN, diag,
                  "PCK leaf is not an Intel SGX PCK Certificate");
    const X509_NAME *issuer = X509_get_issuer_name(leaf);
    int idx = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
    const ASN1_STRING *icn =
        idx < 0 ? NULL : X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, idx));
    bool is_known_ca =
        icn != NULL && ((ASN1_STRING_length(icn) == (int)strlen(CN_PCK_PLATFORM_CA) &&
                         memcmp(ASN1_STRING_get0_data(icn), CN_PCK_PLATFORM_CA,
                                strlen(CN_PCK_PLATFORM_CA)) == 0) ||
                        (ASN1_STRING_length(icn) == (int)strlen(CN_PCK_PROCESSOR_CA) &&
                         memcmp(ASN1_STRING_get0_data(icn), CN_PCK_PROCESSOR_CA,
                                strlen(CN_PCK_PROCESSOR_CA)) == 0));
    CS_ENSURE_WHY(is_known_ca, CS_E_CHAIN, diag,
                  "PCK leaf is not issued by the Intel SGX PCK Platform or Processor CA");
    /* The quote must carry the whole chain, ending in our anchor (as Intel's QvE checks). */
    CS_ENSURE_WHY(sk_X509_num(chain) == 3 && X509_cmp(sk_X509_value(chain, 2), c->anchor) == 0,
                  CS_E_CHAIN, diag, "PCK chain is not leaf, CA and the trust anchor");
    CS_TRY(cs_x509_chain_verify(c->pck_store, leaf, chain, 3, &m->window, diag));
    r = cs_sgx_pck_ext_parse(leaf, &m->ext);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "PCK certificate: malformed SGX extension");
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    CS_ENSURE_WHY(key != NULL && EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256,
                  CS_E_UNSUPPORTED, diag, "PCK key is not an ECDSA P-256 key");
    CS_OSSL_ENSURE(EVP_PKEY_up_ref(key) == 1, CS_E_CRYPTO);
    m->key = key;
    return CS_SUCCESS;
}

CS_RESULT cs_dcap_pck_chain(struct custos_dcap_collateral *c, struct cs_cur pem,
                            EVP_PKEY **key, struct cs_sgx_pck_ext *ext,
                            struct cs_window *window, struct custos_diag *diag)
{
    CS_ENSURE(c != NULL && key != NULL && ext != NULL && window != NULL, CS_E_ARG);
    *key = NULL;
    CS_ENSURE_WHY(c->pck_store != NULL, CS_E_CHAIN, diag,
                  "collateral lacks the PCK CRL or the Root CA CRL");
    uint8_t digest[32];
    CS_TRY(cs_sha256(pem, digest));

    pthread_mutex_lock(&c->memo_lock);
    for (size_t i = 0; i < CS_PCK_MEMO_MAX; i++) {
        struct cs_pck_memo *m = &c->memo[i];
        if (m->is_used && memcmp(m->digest, digest, sizeof digest) == 0 &&
            EVP_PKEY_up_ref(m->key) == 1) {
            *key = m->key;
            *ext = m->ext;
            *window = m->window;
            pthread_mutex_unlock(&c->memo_lock);
            return CS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&c->memo_lock);

    struct cs_pck_memo fresh = { 0 };
    cs_res r = pck_chain_verify(c, pem, &fresh, diag);
    if (!cs_ok(r)) {
        EVP_PKEY_free(fresh.key);
        return r;
    }
    fresh.is_used = true;
    memcpy(fresh.digest, digest, sizeof digest);
    *ext = fresh.ext;
    *window = fresh.window;
    if (EVP_PKEY_up_ref(fresh.key) != 1) {
        EVP_PKEY_free(fresh.key);
        CS_FAIL(CS_E_CRYPTO);
    }
    *key = fresh.key;

    pthread_mutex_lock(&c->memo_lock);
    struct cs_pck_memo *slot = &c->memo[c->memo_next];
    c->memo_next = (c->memo_next + 1) % CS_PCK_MEMO_MAX;
    EVP_PKEY_free(slot->key);
    *slot = fresh; /* the memo keeps the first reference */
    pthread_mutex_unlock(&c->memo_lock);
    return CS_SUCCESS;
}
