/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 decoding and chain verification with OpenSSL 3 (see cs_x509.h). */
#include "crypto/cs_x509.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <string.h>

#include "core/cs_time.h"
#include "crypto/cs_ossl.h"

void cs_x509_freep(X509 **p)
{
    X509_free(*p);
    *p = NULL;
}

void cs_x509_crl_freep(X509_CRL **p)
{
    X509_CRL_free(*p);
    *p = NULL;
}

void cs_x509_stack_freep(STACK_OF(X509) **p)
{
    sk_X509_pop_free(*p, X509_free);
    *p = NULL;
}

static void bio_freep(BIO **p)
{
    BIO_free(*p);
}

static void ossl_freep(unsigned char **p)
{
    OPENSSL_free(*p);
}

static void char_freep(char **p)
{
    OPENSSL_free(*p);
}

static void store_ctx_freep(X509_STORE_CTX **p)
{
    X509_STORE_CTX_free(*p);
}

static void store_freep(X509_STORE **p)
{
    X509_STORE_free(*p);
}

CS_RESULT cs_x509_from_der(struct cs_cur der, X509 **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(der.left != 0, CS_E_TRUNCATED);
    CS_ENSURE(der.left <= CS_X509_DER_MAX, CS_E_TOO_LARGE); /* also keeps the cast safe */
    const unsigned char *p = der.p;
    CS_AUTO(cs_x509_freep) X509 *cert = d2i_X509(NULL, &p, (long)der.left);
    CS_OSSL_ENSURE(cert != NULL, CS_E_FORMAT);
    CS_OSSL_ENSURE(p == der.p + der.left, CS_E_TRAILING); /* d2i moved p past what it used */
    cs_ossl_clear(); /* decoding may queue errors it then recovered from (e.g. extensions) */
    *out = CS_MOVE(cert);
    return CS_SUCCESS;
}

static bool only_ws(struct cs_cur c)
{
    for (size_t i = 0; i < c.left; i++) {
        uint8_t b = c.p[i];
        if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
            return false;
        }
    }
    return true;
}

static bool is_pem(struct cs_cur in)
{
    static const char begin[] = "-----BEGIN ";
    size_t off = 0;
    return cs_ok(cs_cur_find(in, begin, sizeof begin - 1, &off)) &&
           only_ws((struct cs_cur){ in.p, off });
}

/*
 * Decodes the next PEM block of type `label` from *c: only white space may precede it.
 * *der receives the decoded bytes (OpenSSL-owned, free with OPENSSL_free).
 */
static cs_res pem_next(struct cs_cur *c, const char *label, unsigned char **der, long *der_len)
{
    static const char end_mark[] = "-----END ";
    size_t begin_off = 0;
    CS_TRY(cs_cur_find(*c, "-----BEGIN ", 11, &begin_off));
    CS_ENSURE(only_ws((struct cs_cur){ c->p, begin_off }), CS_E_FORMAT);
    size_t end_off = 0;
    CS_TRY(cs_cur_find(*c, end_mark, sizeof end_mark - 1, &end_off));
    CS_ENSURE(end_off > begin_off, CS_E_FORMAT);
    /* the END line runs to the next newline (or the end of input) */
    struct cs_cur rest = *c;
    CS_TRY(cs_cur_skip(&rest, end_off));
    size_t nl = 0;
    size_t block_len = cs_ok(cs_cur_find(rest, "\n", 1, &nl)) ? end_off + nl + 1 : c->left;
    struct cs_cur block;
    CS_TRY(cs_cur_view(c, block_len, &block));
    CS_ENSURE(block.left <= CS_X509_PEM_MAX, CS_E_TOO_LARGE);

    CS_AUTO(bio_freep) BIO *bio = BIO_new_mem_buf(block.p, (int)block.left);
    CS_OSSL_ENSURE(bio != NULL, CS_E_NOMEM);
    CS_AUTO(char_freep) char *name = NULL;
    CS_AUTO(char_freep) char *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    CS_OSSL_ENSURE(PEM_read_bio(bio, &name, &header, &data, &len) == 1, CS_E_FORMAT);
    if (strcmp(name, label) != 0 || header[0] != '\0') {
        OPENSSL_free(data);
        CS_FAIL(CS_E_FORMAT);
    }
    *der = data;
    *der_len = len;
    return CS_SUCCESS;
}

CS_RESULT cs_x509_stack_parse(struct cs_cur in, STACK_OF(X509) **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(in.left > 0, CS_E_TRUNCATED);
    CS_ENSURE(in.left <= CS_X509_PEM_MAX, CS_E_TOO_LARGE);
    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *sk = sk_X509_new_null();
    CS_OSSL_ENSURE(sk != NULL, CS_E_NOMEM);
    if (!is_pem(in)) {
        CS_AUTO(cs_x509_freep) X509 *cert = NULL;
        CS_TRY(cs_x509_from_der(in, &cert));
        CS_OSSL_ENSURE(sk_X509_push(sk, cert) > 0, CS_E_NOMEM);
        cert = NULL;
        *out = CS_MOVE(sk);
        return CS_SUCCESS;
    }
    struct cs_cur c = in;
    while (!only_ws(c)) {
        CS_ENSURE(sk_X509_num(sk) < CS_X509_CHAIN_MAX, CS_E_TOO_LARGE);
        CS_AUTO(ossl_freep) unsigned char *der = NULL;
        long der_len = 0;
        CS_TRY(pem_next(&c, "CERTIFICATE", &der, &der_len));
        CS_ENSURE(der_len > 0, CS_E_FORMAT);
        CS_AUTO(cs_x509_freep) X509 *cert = NULL;
        CS_TRY(cs_x509_from_der(cs_cur_of(der, (size_t)der_len), &cert));
        CS_OSSL_ENSURE(sk_X509_push(sk, cert) > 0, CS_E_NOMEM);
        cert = NULL;
    }
    CS_ENSURE(sk_X509_num(sk) > 0, CS_E_FORMAT);
    *out = CS_MOVE(sk);
    return CS_SUCCESS;
}

CS_RESULT cs_x509_crl_parse(struct cs_cur in, X509_CRL **out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(in.left > 0, CS_E_TRUNCATED);
    CS_ENSURE(in.left <= CS_CRL_DER_MAX, CS_E_TOO_LARGE);
    CS_AUTO(ossl_freep) unsigned char *pem_der = NULL;
    struct cs_cur der = in;
    if (is_pem(in)) {
        struct cs_cur c = in;
        long len = 0;
        CS_TRY(pem_next(&c, "X509 CRL", &pem_der, &len));
        CS_ENSURE(only_ws(c) && len > 0, CS_E_FORMAT);
        der = cs_cur_of(pem_der, (size_t)len);
    }
    const unsigned char *p = der.p;
    CS_AUTO(cs_x509_crl_freep) X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der.left);
    CS_OSSL_ENSURE(crl != NULL, CS_E_FORMAT);
    CS_OSSL_ENSURE(p == der.p + der.left, CS_E_TRAILING);
    cs_ossl_clear(); /* decoding may queue errors it then recovered from (e.g. extensions) */
    *out = CS_MOVE(crl);
    return CS_SUCCESS;
}

static cs_res asn1_time_to_epoch(const ASN1_TIME *t, int64_t *out)
{
    CS_ENSURE(t != NULL, CS_E_FORMAT);
    struct tm tm = { 0 };
    CS_OSSL_ENSURE(ASN1_TIME_to_tm(t, &tm) == 1, CS_E_FORMAT);
    *out = cs_time_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                              (unsigned)tm.tm_mday, (unsigned)tm.tm_hour, (unsigned)tm.tm_min,
                              (unsigned)tm.tm_sec);
    return CS_SUCCESS;
}

CS_RESULT cs_x509_window(const X509 *cert, struct cs_window *w)
{
    CS_ENSURE(cert != NULL && w != NULL, CS_E_ARG);
    CS_TRY(asn1_time_to_epoch(X509_get0_notBefore(cert), &w->not_before));
    CS_TRY(asn1_time_to_epoch(X509_get0_notAfter(cert), &w->not_after));
    return CS_SUCCESS;
}

CS_RESULT cs_x509_crl_window(const X509_CRL *crl, struct cs_window *w)
{
    CS_ENSURE(crl != NULL && w != NULL, CS_E_ARG);
    CS_TRY(asn1_time_to_epoch(X509_CRL_get0_lastUpdate(crl), &w->not_before));
    /* RFC 5280 5.1.2.5: conforming CRL issuers MUST include nextUpdate; we require it */
    CS_TRY(asn1_time_to_epoch(X509_CRL_get0_nextUpdate(crl), &w->not_after));
    return CS_SUCCESS;
}

void cs_window_narrow(struct cs_window *w, struct cs_window other)
{
    if (other.not_before > w->not_before) {
        w->not_before = other.not_before;
    }
    if (other.not_after < w->not_after) {
        w->not_after = other.not_after;
    }
}

CS_RESULT cs_x509_subject_cn(const X509 *cert, char *out, size_t cap)
{
    CS_ENSURE(cert != NULL && out != NULL && cap > 0, CS_E_ARG);
    out[0] = '\0';
    const X509_NAME *name = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    CS_ENSURE(idx >= 0, CS_E_FORMAT);
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    CS_ENSURE(s != NULL, CS_E_FORMAT);
    size_t n = (size_t)ASN1_STRING_length(s);
    CS_ENSURE(n < cap, CS_E_FORMAT);
    memcpy(out, ASN1_STRING_get0_data(s), n);
    out[n] = '\0';
    CS_ENSURE(strlen(out) == n, CS_E_FORMAT); /* no embedded NUL */
    return CS_SUCCESS;
}

CS_RESULT cs_x509_store_new(X509 *anchor, X509_CRL *const *crls, size_t n_crls,
                            X509_STORE **out)
{
    CS_ENSURE(anchor != NULL && out != NULL && (crls != NULL || n_crls == 0), CS_E_ARG);
    *out = NULL;
    CS_AUTO(store_freep) X509_STORE *st = X509_STORE_new();
    CS_OSSL_ENSURE(st != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_STORE_add_cert(st, anchor) == 1, CS_E_CRYPTO);
    unsigned long flags = X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_TRUSTED_FIRST;
    for (size_t i = 0; i < n_crls; i++) {
        CS_OSSL_ENSURE(crls[i] != NULL && X509_STORE_add_crl(st, crls[i]) == 1, CS_E_CRYPTO);
    }
    if (n_crls > 0) {
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    }
    CS_OSSL_ENSURE(X509_STORE_set_flags(st, flags) == 1, CS_E_CRYPTO);
    *out = CS_MOVE(st);
    return CS_SUCCESS;
}

static cs_code verify_error_code(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_REVOKED:
        return CS_E_REVOKED;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        return CS_E_SIGNATURE;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return CS_E_EXPIRED;
    default:
        return CS_E_CHAIN;
    }
}

CS_RESULT cs_x509_chain_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted,
                               int want_len, struct cs_window *window, struct custos_diag *diag)
{
    CS_ENSURE(store != NULL && leaf != NULL && window != NULL && want_len > 0, CS_E_ARG);
    CS_AUTO(store_ctx_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    CS_OSSL_ENSURE(ctx != NULL, CS_E_NOMEM);
    CS_OSSL_ENSURE(X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1, CS_E_CRYPTO);
    int rc = X509_verify_cert(ctx);
    if (rc != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        cs_ossl_clear();
        cs_code code = verify_error_code(err);
        CS_ENSURE_WHY(false, code, diag, "certificate at depth %d: %s", depth,
                      X509_verify_cert_error_string(err));
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    CS_ENSURE_WHY(chain != NULL && sk_X509_num(chain) == want_len, CS_E_CHAIN, diag,
                  "certificate chain has %d certificates, expected %d",
                  chain == NULL ? 0 : sk_X509_num(chain), want_len);
    struct cs_window w = { INT64_MIN, INT64_MAX };
    for (int i = 0; i < sk_X509_num(chain); i++) {
        struct cs_window cw;
        CS_TRY(cs_x509_window(sk_X509_value(chain, i), &cw));
        cs_window_narrow(&w, cw);
    }
    *window = w;
    return CS_SUCCESS;
}
