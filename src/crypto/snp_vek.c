/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD VCEK/VLEK extensions and the AMD certificate profile (see snp_vek.h). Extension
 * values are decoded with OpenSSL's d2i on the exact value bytes, which must be consumed
 * entirely. Extensions are matched on the DER bytes of their OID, so no OID objects are
 * built per certificate.
 */
#include "crypto/snp_vek.h"

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <string.h>

#include "crypto/cs_ossl.h"

/* DER content of 1.3.6.1.4.1.3704.1 (3704 = 0x9c 0x78 in base 128). */
static const uint8_t AMD_OID_PREFIX[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01 };

enum { ARC_STRUCT_VERSION = 1, ARC_PRODUCT_NAME = 2, ARC_TCB = 3, ARC_HWID = 4, ARC_CSP_ID = 5 };

static void asn1_integer_freep(ASN1_INTEGER **p)
{
    ASN1_INTEGER_free(*p);
}

static void asn1_string_freep(ASN1_STRING **p)
{
    ASN1_STRING_free(*p);
}

/* INTEGER filling the value exactly, within [0, max]. */
static cs_res ext_integer(const ASN1_OCTET_STRING *data, int64_t max, int64_t *out)
{
    const unsigned char *p = ASN1_STRING_get0_data(data);
    long len = ASN1_STRING_length(data);
    CS_AUTO(asn1_integer_freep) ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, len);
    CS_OSSL_ENSURE(i != NULL, CS_E_FORMAT);
    CS_ENSURE(p == ASN1_STRING_get0_data(data) + len, CS_E_FORMAT);
    int64_t v = -1;
    CS_OSSL_ENSURE(ASN1_INTEGER_get_int64(&v, i) == 1, CS_E_FORMAT);
    CS_ENSURE(v >= 0 && v <= max, CS_E_FORMAT);
    *out = v;
    return CS_SUCCESS;
}

/* IA5String filling the value exactly, printable ASCII, copied NUL-terminated. */
static cs_res ext_ia5(const ASN1_OCTET_STRING *data, char *out, size_t cap)
{
    const unsigned char *p = ASN1_STRING_get0_data(data);
    long len = ASN1_STRING_length(data);
    CS_AUTO(asn1_string_freep) ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, len);
    CS_OSSL_ENSURE(s != NULL, CS_E_FORMAT);
    CS_ENSURE(p == ASN1_STRING_get0_data(data) + len, CS_E_FORMAT);
    size_t n = (size_t)ASN1_STRING_length(s);
    CS_ENSURE(n > 0 && n < cap, CS_E_FORMAT);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    for (size_t i = 0; i < n; i++) {
        CS_ENSURE(d[i] >= 0x20 && d[i] < 0x7f, CS_E_FORMAT);
        out[i] = (char)d[i];
    }
    out[n] = '\0';
    return CS_SUCCESS;
}

static bool is_hwid_len(size_t n)
{
    return n == 8 || n == CS_SNP_HWID_MAX;
}

/*
 * hwID: the raw chip id (8 or 64 bytes), or an OCTET STRING of it. The two are told apart
 * by length alone (raw 8/64, wrapped 10/66), so no value is read both ways.
 */
static cs_res ext_hwid(const ASN1_OCTET_STRING *data, struct cs_snp_vek_ext *x)
{
    const unsigned char *v = ASN1_STRING_get0_data(data);
    size_t len = (size_t)ASN1_STRING_length(data);
    if (is_hwid_len(len)) {
        memcpy(x->hwid, v, len);
        x->hwid_len = len;
        return CS_SUCCESS;
    }
    const unsigned char *p = v;
    CS_AUTO(asn1_string_freep) ASN1_OCTET_STRING *o = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    CS_OSSL_ENSURE(o != NULL, CS_E_FORMAT);
    CS_ENSURE(p == v + len, CS_E_FORMAT);
    size_t n = (size_t)ASN1_STRING_length(o);
    CS_ENSURE(is_hwid_len(n), CS_E_FORMAT);
    memcpy(x->hwid, ASN1_STRING_get0_data(o), n);
    x->hwid_len = n;
    return CS_SUCCESS;
}

/* The arc(s) of an OID under the AMD prefix: *arc and, for .3.N, *sub. 0 when not ours. */
static void amd_arcs(const ASN1_OBJECT *oid, unsigned *arc, unsigned *sub)
{
    *arc = 0;
    *sub = 0;
    size_t len = OBJ_length(oid);
    const unsigned char *d = OBJ_get0_data(oid);
    size_t pre = sizeof AMD_OID_PREFIX;
    if (d == NULL || len <= pre || len > pre + 2 || CRYPTO_memcmp(d, AMD_OID_PREFIX, pre) != 0) {
        return;
    }
    if (len == pre + 1 && d[pre] < 0x80) {
        *arc = d[pre];
    } else if (len == pre + 2 && d[pre] == ARC_TCB && d[pre + 1] < 0x80) {
        *arc = ARC_TCB;
        *sub = d[pre + 1];
    }
}

static cs_res ext_one(unsigned arc, unsigned sub, const ASN1_OCTET_STRING *data,
                      struct cs_snp_vek_ext *x)
{
    int64_t v = 0;
    switch (arc) {
    case ARC_STRUCT_VERSION:
        CS_TRY(ext_integer(data, INT32_MAX, &v));
        x->has_struct_version = true;
        x->struct_version = (long)v;
        return CS_SUCCESS;
    case ARC_PRODUCT_NAME:
        return ext_ia5(data, x->product_name, sizeof x->product_name);
    case ARC_TCB:
        CS_TRY(ext_integer(data, 255, &v));
        x->spl[sub] = (uint8_t)v;
        x->spl_present |= 1u << sub;
        return CS_SUCCESS;
    case ARC_HWID:
        return ext_hwid(data, x);
    case ARC_CSP_ID:
        return ext_ia5(data, x->csp_id, sizeof x->csp_id);
    default:
        CS_FAIL(CS_E_INTERNAL);
    }
}

CS_RESULT cs_snp_vek_ext_parse(const X509 *cert, struct cs_snp_vek_ext *out)
{
    CS_ENSURE(cert != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_snp_vek_ext){ 0 };
    uint32_t seen = 0; /* arcs 1, 2, 4, 5 as bits 1, 2, 4, 5; the SPLs in spl_present */
    for (int i = 0; i < X509_get_ext_count(cert); i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        unsigned arc = 0;
        unsigned sub = 0;
        amd_arcs(X509_EXTENSION_get_object(ext), &arc, &sub);
        bool is_known = (arc >= ARC_STRUCT_VERSION && arc <= ARC_CSP_ID && arc != ARC_TCB) ||
                        (arc == ARC_TCB && sub >= 1 && sub <= CS_SNP_SPL_MAX);
        if (!is_known) {
            continue; /* not AMD's, or an arc defined after this code */
        }
        if (arc == ARC_TCB) {
            CS_ENSURE((out->spl_present & (1u << sub)) == 0, CS_E_FORMAT); /* once */
        } else {
            CS_ENSURE((seen & (1u << arc)) == 0, CS_E_FORMAT);
            seen |= 1u << arc;
        }
        const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
        CS_ENSURE(data != NULL, CS_E_FORMAT);
        CS_TRY(ext_one(arc, sub, data, out));
    }
    return CS_SUCCESS;
}

CS_RESULT cs_snp_cert_profile_check(X509 *cert)
{
    CS_ENSURE(cert != NULL, CS_E_ARG);
    CS_ENSURE(X509_get_version(cert) == X509_VERSION_3, CS_E_CHAIN);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    /* serial 0 is AMD's; a negative serial is not, and nothing else is special-cased */
    CS_ENSURE(serial != NULL && ASN1_STRING_type(serial) == V_ASN1_INTEGER, CS_E_CHAIN);
    int md = NID_undef;
    int pk = NID_undef;
    CS_OSSL_ENSURE(X509_get_signature_info(cert, &md, &pk, NULL, NULL) == 1, CS_E_CHAIN);
    CS_ENSURE(X509_get_signature_nid(cert) == NID_rsassaPss && pk == NID_rsassaPss &&
                  md == NID_sha384,
              CS_E_CHAIN);
    return CS_SUCCESS;
}

bool cs_snp_key_is_p384(EVP_PKEY *key)
{
    char group[32] = "";
    size_t len = 0;
    if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
        cs_ossl_clear();
        return false;
    }
    return strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0;
}

bool cs_snp_cert_is_self_signed(X509 *cert)
{
    EVP_PKEY *key = X509_get0_pubkey(cert);
    bool is_ok = key != NULL && X509_verify(cert, key) == 1;
    if (!is_ok) {
        cs_ossl_clear();
    }
    return is_ok;
}
