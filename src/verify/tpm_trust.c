/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM AK trust: a configured root and intermediates that AK certificates must chain to,
 * or one pinned AK public key. AK certificates verified once are remembered (bounded).
 */
#include <openssl/x509v3.h>
#include <string.h>

#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"
#include "verify/tpm_internal.h"

void custos_tpm_trust_free(struct custos_tpm_trust *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < CS_TPM_AK_MEMO_MAX; i++) {
        EVP_PKEY_free(t->memo[i].key);
    }
    pthread_mutex_destroy(&t->memo_lock);
    EVP_PKEY_free(t->pinned);
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->intermediates, X509_free);
    X509_free(t->anchor);
    cs_free(t);
}

static void trust_freep(struct custos_tpm_trust **p)
{
    custos_tpm_trust_free(*p);
}

static bool has_bytes(struct custos_bytes b)
{
    return b.p != NULL; /* present, possibly empty (then rejected as truncated) */
}

static struct cs_cur cur_of(struct custos_bytes b)
{
    return cs_cur_of(b.p, b.len);
}

static cs_res load_pinned(struct custos_tpm_trust *t, struct custos_bytes src,
                          struct custos_diag *diag)
{
    cs_res r = cs_tpm_pubkey_parse(cur_of(src), &t->pinned);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "pinned AK: not a SubjectPublicKeyInfo (PEM or DER)");
    enum cs_tpm_key_kind kind = 0;
    r = cs_tpm_key_kind(t->pinned, &kind);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag,
                  "pinned AK: not an RSA 2048..4096 or ECDSA P-256/P-384 key");
    return cs_tpm_key_fingerprint(t->pinned, t->pinned_fingerprint);
}

/*
 * The anchor: exactly one certificate, a self-signed root whose self-signature verifies
 * (OpenSSL does not check it on trusted certificates, and a corrupted anchor file should
 * not pass unnoticed). Intermediates: every certificate of ca_chain except a copy of the
 * anchor, all of which an AK chain must use.
 */
static cs_res load_ca(struct custos_tpm_trust *t, const struct custos_tpm_trust_src *src,
                      struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *anchors = NULL;
    cs_res r = cs_x509_stack_parse(cur_of(src->trust_anchor), &anchors);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "trust anchor: cannot decode certificate");
    CS_ENSURE_WHY(sk_X509_num(anchors) == 1, CS_E_FORMAT, diag,
                  "trust anchor: expected exactly one certificate");
    t->anchor = sk_X509_shift(anchors);
    CS_ENSURE_WHY(X509_check_issued(t->anchor, t->anchor) == X509_V_OK, CS_E_CHAIN, diag,
                  "trust anchor is not a self-signed root certificate");
    EVP_PKEY *anchor_key = X509_get0_pubkey(t->anchor);
    int rc = anchor_key == NULL ? -1 : X509_verify(t->anchor, anchor_key);
    if (rc != 1) {
        cs_ossl_clear();
    }
    CS_ENSURE_WHY(rc == 1, CS_E_SIGNATURE, diag, "trust anchor: self-signature does not verify");

    t->intermediates = sk_X509_new_null();
    CS_OSSL_ENSURE(t->intermediates != NULL, CS_E_NOMEM);
    if (has_bytes(src->ca_chain)) {
        CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *chain = NULL;
        r = cs_x509_stack_parse(cur_of(src->ca_chain), &chain);
        CS_ENSURE_WHY(cs_ok(r), r.code, diag, "CA chain: cannot decode certificates");
        while (sk_X509_num(chain) > 0) {
            CS_AUTO(cs_x509_freep) X509 *c = sk_X509_shift(chain);
            if (X509_cmp(c, t->anchor) == 0) {
                continue;
            }
            CS_OSSL_ENSURE(sk_X509_push(t->intermediates, c) > 0, CS_E_NOMEM);
            c = NULL;
        }
    }
    return cs_x509_store_new(t->anchor, NULL, 0, &t->store);
}

CS_RESULT custos_tpm_trust_new(const struct custos_tpm_trust_src *src, struct custos_diag *diag,
                               struct custos_tpm_trust **out)
{
    CS_ENSURE(src != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    bool is_pinned = has_bytes(src->ak_pub);
    bool is_ca = has_bytes(src->trust_anchor);
    CS_ENSURE_WHY(is_pinned != is_ca, CS_E_ARG, diag,
                  "TPM trust: give either a trust anchor or a pinned AK public key");
    CS_ENSURE_WHY(is_ca || !has_bytes(src->ca_chain), CS_E_ARG, diag,
                  "TPM trust: a CA chain needs a trust anchor");
    CS_AUTO(trust_freep) struct custos_tpm_trust *t = NULL;
    CS_TRY(cs_alloc(1, sizeof *t, (void **)&t));
    if (pthread_mutex_init(&t->memo_lock, NULL) != 0) {
        cs_free(t);
        t = NULL;
        CS_FAIL(CS_E_NOMEM);
    }
    if (is_pinned) {
        CS_TRY(load_pinned(t, src->ak_pub, diag));
    } else {
        CS_TRY(load_ca(t, src, diag));
    }
    *out = CS_MOVE(t);
    return CS_SUCCESS;
}

void cs_tpm_ak_clear(struct cs_tpm_ak *ak)
{
    if (ak != NULL) {
        EVP_PKEY_free(ak->key);
        ak->key = NULL;
    }
}

/*
 * Verifies an AK certificate: one certificate, chained through every intermediate to the
 * anchor (signatures and CA constraints; validity is the caller's, at its instant), key
 * usage allowing digitalSignature when the extension is present, and a supported key.
 */
static cs_res ak_cert_verify(struct custos_tpm_trust *t, struct cs_cur der,
                             struct cs_tpm_ak_memo *m, struct custos_diag *diag)
{
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *certs = NULL;
    cs_res r = cs_x509_stack_parse(der, &certs);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag, "AK certificate: cannot decode");
    CS_ENSURE_WHY(sk_X509_num(certs) == 1, CS_E_FORMAT, diag,
                  "AK certificate: expected exactly one certificate");
    X509 *leaf = sk_X509_value(certs, 0);
    int want_len = sk_X509_num(t->intermediates) + 2;
    CS_TRY(cs_x509_chain_verify(t->store, leaf, t->intermediates, want_len, &m->window, diag));
    uint32_t ku = X509_get_key_usage(leaf); /* UINT32_MAX: no keyUsage extension */
    CS_ENSURE_WHY(ku == UINT32_MAX || (ku & KU_DIGITAL_SIGNATURE) != 0, CS_E_CHAIN, diag,
                  "AK certificate: key usage does not allow digitalSignature");
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    cs_ossl_clear();
    CS_ENSURE_WHY(key != NULL, CS_E_FORMAT, diag, "AK certificate: public key unreadable");
    enum cs_tpm_key_kind kind = 0;
    r = cs_tpm_key_kind(key, &kind);
    CS_ENSURE_WHY(cs_ok(r), r.code, diag,
                  "AK certificate: not an RSA 2048..4096 or ECDSA P-256/P-384 key");
    CS_TRY(cs_tpm_key_fingerprint(key, m->fingerprint));
    CS_OSSL_ENSURE(EVP_PKEY_up_ref(key) == 1, CS_E_CRYPTO);
    m->key = key;
    return CS_SUCCESS;
}

static bool memo_find(struct custos_tpm_trust *t, const uint8_t digest[32], struct cs_tpm_ak *ak)
{
    bool is_found = false;
    pthread_mutex_lock(&t->memo_lock);
    for (size_t i = 0; i < CS_TPM_AK_MEMO_MAX && !is_found; i++) {
        struct cs_tpm_ak_memo *m = &t->memo[i];
        if (m->is_used && memcmp(m->digest, digest, 32) == 0 && EVP_PKEY_up_ref(m->key) == 1) {
            ak->key = m->key;
            ak->window = m->window;
            memcpy(ak->fingerprint, m->fingerprint, sizeof ak->fingerprint);
            is_found = true;
        }
    }
    pthread_mutex_unlock(&t->memo_lock);
    return is_found;
}

/* Takes the memo's reference in fresh (the caller keeps its own). */
static void memo_store(struct custos_tpm_trust *t, const struct cs_tpm_ak_memo *fresh)
{
    pthread_mutex_lock(&t->memo_lock);
    struct cs_tpm_ak_memo *slot = &t->memo[t->memo_next];
    t->memo_next = (t->memo_next + 1) % CS_TPM_AK_MEMO_MAX;
    EVP_PKEY_free(slot->key);
    *slot = *fresh;
    pthread_mutex_unlock(&t->memo_lock);
}

CS_RESULT cs_tpm_ak_get(struct custos_tpm_trust *t, struct cs_cur ak_cert, struct cs_tpm_ak *ak,
                        struct custos_diag *diag)
{
    CS_ENSURE(t != NULL && ak != NULL, CS_E_ARG);
    *ak = (struct cs_tpm_ak){ .window = { INT64_MIN, INT64_MAX } };
    if (t->pinned != NULL) {
        CS_OSSL_ENSURE(EVP_PKEY_up_ref(t->pinned) == 1, CS_E_CRYPTO);
        ak->key = t->pinned;
        ak->is_pinned = true;
        memcpy(ak->fingerprint, t->pinned_fingerprint, sizeof ak->fingerprint);
        return CS_SUCCESS;
    }
    CS_ENSURE_WHY(ak_cert.left > 0, CS_E_CHAIN, diag,
                  "no AK certificate, and no AK public key is pinned");
    CS_ENSURE_WHY(ak_cert.left <= CS_TPM_AK_CERT_MAX, CS_E_TOO_LARGE, diag,
                  "AK certificate: over %u bytes", CS_TPM_AK_CERT_MAX);
    uint8_t digest[32];
    CS_TRY(cs_sha256(ak_cert, digest));
    if (memo_find(t, digest, ak)) {
        return CS_SUCCESS;
    }
    struct cs_tpm_ak_memo fresh = { .is_used = true };
    memcpy(fresh.digest, digest, sizeof digest);
    cs_res r = ak_cert_verify(t, ak_cert, &fresh, diag);
    if (!cs_ok(r)) {
        EVP_PKEY_free(fresh.key);
        return r;
    }
    if (EVP_PKEY_up_ref(fresh.key) != 1) {
        EVP_PKEY_free(fresh.key);
        CS_FAIL(CS_E_CRYPTO);
    }
    ak->key = fresh.key;
    ak->window = fresh.window;
    memcpy(ak->fingerprint, fresh.fingerprint, sizeof ak->fingerprint);
    memo_store(t, &fresh);
    return CS_SUCCESS;
}
