/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SGX PCK certificate extension, decoded with OpenSSL's generic ASN.1 types: the
 * extension is SEQUENCE OF SEQUENCE { OBJECT IDENTIFIER, value }, nested once for the
 * TCB entry. Every d2i must consume its input exactly.
 */
#include "crypto/sgx_pck.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <string.h>

#include "crypto/cs_ossl.h"

#define SGX_OID "1.2.840.113741.1.13.1"
#define SGX_EXT_DER_MAX 4096

enum { F_PPID = 1, F_TCB = 2, F_PCEID = 3, F_FMSPC = 4, F_TYPE = 5 };

static void seq_freep(ASN1_SEQUENCE_ANY **p)
{
    sk_ASN1_TYPE_pop_free(*p, ASN1_TYPE_free);
}

static void obj_freep(ASN1_OBJECT **p)
{
    ASN1_OBJECT_free(*p);
}

static cs_res seq_parse(const unsigned char *der, long len, ASN1_SEQUENCE_ANY **out)
{
    const unsigned char *p = der;
    ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    CS_OSSL_ENSURE(seq != NULL, CS_E_FORMAT);
    if (p != der + len) {
        sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
        cs_ossl_clear();
        CS_FAIL(CS_E_FORMAT);
    }
    *out = seq;
    return CS_SUCCESS;
}

/* Reads SEQUENCE { OID, value } and returns the last arc below `base`, or 0. */
static cs_res entry_parse(const ASN1_TYPE *t, const ASN1_OBJECT *base, ASN1_SEQUENCE_ANY **entry,
                          long *arc)
{
    CS_ENSURE(t != NULL && t->type == V_ASN1_SEQUENCE, CS_E_FORMAT);
    const ASN1_STRING *s = t->value.sequence;
    CS_TRY(seq_parse(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), entry));
    CS_ENSURE(sk_ASN1_TYPE_num(*entry) == 2, CS_E_FORMAT);
    const ASN1_TYPE *oid = sk_ASN1_TYPE_value(*entry, 0);
    CS_ENSURE(oid->type == V_ASN1_OBJECT, CS_E_FORMAT);
    /* The entry OID must be base.N: compare the DER content bytes of base as a prefix. */
    size_t base_len = OBJ_length(base);
    size_t len = OBJ_length(oid->value.object);
    const unsigned char *bd = OBJ_get0_data(base);
    const unsigned char *d = OBJ_get0_data(oid->value.object);
    *arc = 0;
    if (len != base_len + 1 || CRYPTO_memcmp(d, bd, base_len) != 0 || d[base_len] >= 0x80) {
        return CS_SUCCESS; /* not a single-byte child arc: an unknown field, ignored */
    }
    *arc = d[base_len];
    return CS_SUCCESS;
}

static cs_res octets(const ASN1_TYPE *v, uint8_t *out, size_t n)
{
    CS_ENSURE(v->type == V_ASN1_OCTET_STRING, CS_E_FORMAT);
    CS_ENSURE((size_t)ASN1_STRING_length(v->value.octet_string) == n, CS_E_FORMAT);
    memcpy(out, ASN1_STRING_get0_data(v->value.octet_string), n);
    return CS_SUCCESS;
}

static cs_res small_int(const ASN1_TYPE *v, int type, long max, long *out)
{
    CS_ENSURE(v->type == type, CS_E_FORMAT);
    int64_t x = -1;
    if (type == V_ASN1_INTEGER) {
        CS_OSSL_ENSURE(ASN1_INTEGER_get_int64(&x, v->value.integer) == 1, CS_E_FORMAT);
    } else {
        CS_OSSL_ENSURE(ASN1_ENUMERATED_get_int64(&x, v->value.enumerated) == 1, CS_E_FORMAT);
    }
    CS_ENSURE(x >= 0 && x <= max, CS_E_FORMAT);
    *out = (long)x;
    return CS_SUCCESS;
}

/* TCB: SEQUENCE OF { .2.1 .. .2.16 comp SVN INTEGER, .2.17 PCESVN INTEGER, .2.18 CPUSVN } */
static cs_res tcb_parse(const ASN1_TYPE *v, const ASN1_OBJECT *tcb_oid, struct cs_sgx_pck_ext *x)
{
    CS_ENSURE(v->type == V_ASN1_SEQUENCE, CS_E_FORMAT);
    const ASN1_STRING *s = v->value.sequence;
    CS_AUTO(seq_freep) ASN1_SEQUENCE_ANY *seq = NULL;
    CS_TRY(seq_parse(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), &seq));
    uint32_t seen = 0;
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        CS_AUTO(seq_freep) ASN1_SEQUENCE_ANY *e = NULL;
        long arc = 0;
        CS_TRY(entry_parse(sk_ASN1_TYPE_value(seq, i), tcb_oid, &e, &arc));
        if (arc < 1 || arc > 18) {
            continue;
        }
        CS_ENSURE((seen & (1u << arc)) == 0, CS_E_FORMAT); /* each field exactly once */
        seen |= 1u << arc;
        const ASN1_TYPE *val = sk_ASN1_TYPE_value(e, 1);
        long n = 0;
        if (arc <= 16) {
            CS_TRY(small_int(val, V_ASN1_INTEGER, 255, &n));
            x->comp_svn[arc - 1] = (uint8_t)n;
        } else if (arc == 17) {
            CS_TRY(small_int(val, V_ASN1_INTEGER, 65535, &n));
            x->pce_svn = (uint16_t)n;
        } else {
            CS_TRY(octets(val, x->cpu_svn, sizeof x->cpu_svn));
        }
    }
    CS_ENSURE(seen == 0x7fffeu, CS_E_FORMAT); /* arcs 1..18 all present */
    return CS_SUCCESS;
}

CS_RESULT cs_sgx_pck_ext_parse(const X509 *cert, struct cs_sgx_pck_ext *out)
{
    CS_ENSURE(cert != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_sgx_pck_ext){ 0 };
    CS_AUTO(obj_freep) ASN1_OBJECT *sgx = OBJ_txt2obj(SGX_OID, 1);
    CS_AUTO(obj_freep) ASN1_OBJECT *tcb = OBJ_txt2obj(SGX_OID ".2", 1);
    CS_OSSL_ENSURE(sgx != NULL && tcb != NULL, CS_E_NOMEM);
    int idx = X509_get_ext_by_OBJ(cert, sgx, -1);
    CS_ENSURE(idx >= 0, CS_E_FORMAT);
    CS_ENSURE(X509_get_ext_by_OBJ(cert, sgx, idx) < 0, CS_E_FORMAT); /* only one */
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    CS_ENSURE(data != NULL && ASN1_STRING_length(data) <= SGX_EXT_DER_MAX, CS_E_FORMAT);
    CS_AUTO(seq_freep) ASN1_SEQUENCE_ANY *seq = NULL;
    CS_TRY(seq_parse(ASN1_STRING_get0_data(data), ASN1_STRING_length(data), &seq));
    uint32_t seen = 0;
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        CS_AUTO(seq_freep) ASN1_SEQUENCE_ANY *e = NULL;
        long arc = 0;
        CS_TRY(entry_parse(sk_ASN1_TYPE_value(seq, i), sgx, &e, &arc));
        if (arc < F_PPID || arc > F_TYPE) {
            continue; /* PlatformInstanceID, Configuration, future fields */
        }
        CS_ENSURE((seen & (1u << arc)) == 0, CS_E_FORMAT);
        seen |= 1u << arc;
        const ASN1_TYPE *val = sk_ASN1_TYPE_value(e, 1);
        long n = 0;
        switch (arc) {
        case F_PPID:
            CS_TRY(octets(val, out->ppid, sizeof out->ppid));
            break;
        case F_TCB:
            CS_TRY(tcb_parse(val, tcb, out));
            break;
        case F_PCEID:
            CS_TRY(octets(val, out->pce_id, sizeof out->pce_id));
            break;
        case F_FMSPC:
            CS_TRY(octets(val, out->fmspc, sizeof out->fmspc));
            break;
        case F_TYPE:
            CS_TRY(small_int(val, V_ASN1_ENUMERATED, 2, &n));
            out->sgx_type = (uint32_t)n;
            break;
        default:
            CS_FAIL(CS_E_INTERNAL);
        }
    }
    CS_ENSURE(seen == 0x3eu, CS_E_FORMAT); /* arcs 1..5 all present */
    return CS_SUCCESS;
}
