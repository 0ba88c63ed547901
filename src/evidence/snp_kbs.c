/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KBS-protocol SNP evidence (serde JSON of virtee/sev's AttestationReport and
 * CertTableEntry) -> the binary report. See snp_kbs.h for the two struct generations; the
 * table below maps every JSON key to its bytes in the ATTESTATION_REPORT of AMD 56860.
 *
 * Exactness: each JSON value writes a fixed byte range, a byte written twice is an
 * error, and every byte that is not reserved must be written. So one binary report
 * corresponds to the JSON, and the signature check on it decides.
 */
#include "evidence/snp_kbs.h"

#include <jansson.h>
#include <string.h>

#include "core/cs_json.h"

#define SIG_RESERVED_LEN (CS_SNP_REPORT_LEN - CS_SNP_SIGNED_LEN - 2 * CS_SNP_SIG_FIELD_LEN)
#define OTHER_UUID_MAX 64

/* The encoder's state: the report being written and which bytes have been. */
struct enc {
    uint8_t *out;
    uint8_t is_written[CS_SNP_REPORT_LEN];
};

/* Marks [off, off+n) as written by one value; a byte claimed twice is an error. */
static cs_res claim(struct enc *e, size_t off, size_t n)
{
    CS_ENSURE(off <= CS_SNP_REPORT_LEN && n <= CS_SNP_REPORT_LEN - off, CS_E_INTERNAL);
    for (size_t i = off; i < off + n; i++) {
        CS_ENSURE(!e->is_written[i], CS_E_FORMAT);
        e->is_written[i] = 1;
    }
    return CS_SUCCESS;
}

static cs_res json_uint(json_t *v, uint64_t max, uint64_t *out)
{
    CS_ENSURE(json_is_integer(v), CS_E_FORMAT);
    json_int_t i = json_integer_value(v);
    CS_ENSURE(i >= 0 && (uint64_t)i <= max, CS_E_FORMAT);
    *out = (uint64_t)i;
    return CS_SUCCESS;
}

/* An unsigned little-endian integer of n bytes at off. */
static cs_res put_uint(struct enc *e, size_t off, size_t n, json_t *v)
{
    uint64_t max = n == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * n)) - 1;
    uint64_t x = 0;
    CS_TRY(json_uint(v, max, &x));
    CS_TRY(claim(e, off, n));
    for (size_t i = 0; i < n; i++) {
        e->out[off + i] = (uint8_t)(x >> (8 * i));
    }
    return CS_SUCCESS;
}

/* serde [u8; N]: a JSON array of exactly n integers 0..255, written to dst (may be NULL). */
static cs_res byte_array(json_t *v, uint8_t *dst, size_t n)
{
    CS_ENSURE(json_is_array(v) && json_array_size(v) == n, CS_E_FORMAT);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = 0;
        CS_TRY(json_uint(json_array_get(v, i), 0xff, &b));
        if (dst != NULL) {
            dst[i] = (uint8_t)b;
        }
    }
    return CS_SUCCESS;
}

static cs_res put_bytes(struct enc *e, size_t off, size_t n, json_t *v)
{
    CS_TRY(byte_array(v, NULL, n)); /* validate before claiming */
    CS_TRY(claim(e, off, n));
    return byte_array(v, e->out + off, n);
}

/* Whether every key of the object is one of the NULL-terminated names. */
static bool keys_within(json_t *obj, const char *const *names)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool is_known = false;
        for (size_t i = 0; names[i] != NULL && !is_known; i++) {
            is_known = strcmp(key, names[i]) == 0;
        }
        if (!is_known) {
            return false;
        }
    }
    return true;
}

static cs_res get_u8(json_t *obj, const char *key, uint8_t *out)
{
    uint64_t x = 0;
    CS_TRY(json_uint(json_object_get(obj, key), 0xff, &x));
    *out = (uint8_t)x;
    return CS_SUCCESS;
}

/*
 * TCB_VERSION, 8 bytes. sev <= 4.x: {bootloader, tee, _reserved: [4], snp, microcode}
 * (the Milan/Genoa byte layout). sev >= 5.x: {fmc, bootloader, tee, snp, microcode} with
 * fmc null for Milan/Genoa and a number for Turin, whose layout is FMC, BL, TEE, SNP,
 * three reserved bytes, microcode (56860 table "TCB_VERSION Structure").
 */
static cs_res put_tcb(struct enc *e, size_t off, json_t *v)
{
    static const char *const names[] = { "fmc",       "bootloader", "tee", "snp",
                                         "microcode", "_reserved",  NULL };
    CS_ENSURE(json_is_object(v) && keys_within(v, names), CS_E_FORMAT);
    uint8_t t[8] = { 0 };
    uint8_t bl = 0;
    uint8_t tee = 0;
    uint8_t snp = 0;
    uint8_t ucode = 0;
    CS_TRY(get_u8(v, "bootloader", &bl));
    CS_TRY(get_u8(v, "tee", &tee));
    CS_TRY(get_u8(v, "snp", &snp));
    CS_TRY(get_u8(v, "microcode", &ucode));
    json_t *fmc = json_object_get(v, "fmc");
    json_t *reserved = json_object_get(v, "_reserved");
    if (fmc != NULL && !json_is_null(fmc)) {
        CS_ENSURE(reserved == NULL, CS_E_FORMAT); /* no struct has both */
        CS_TRY(get_u8(v, "fmc", &t[0]));
        t[1] = bl;
        t[2] = tee;
        t[3] = snp;
    } else {
        t[0] = bl;
        t[1] = tee;
        if (reserved != NULL) {
            CS_TRY(byte_array(reserved, t + 2, 4));
        }
        t[6] = snp;
    }
    t[7] = ucode;
    CS_TRY(claim(e, off, sizeof t));
    for (size_t i = 0; i < sizeof t; i++) {
        e->out[off + i] = t[i];
    }
    return CS_SUCCESS;
}

/* sev >= 5.x Version {major, minor, build}: bytes build, minor, major. */
static cs_res put_version(struct enc *e, size_t off, json_t *v)
{
    static const char *const names[] = { "major", "minor", "build", NULL };
    CS_ENSURE(json_is_object(v) && json_object_size(v) == 3 && keys_within(v, names), CS_E_FORMAT);
    uint8_t b[3] = { 0 };
    CS_TRY(get_u8(v, "build", &b[0]));
    CS_TRY(get_u8(v, "minor", &b[1]));
    CS_TRY(get_u8(v, "major", &b[2]));
    CS_TRY(claim(e, off, sizeof b));
    for (size_t i = 0; i < sizeof b; i++) {
        e->out[off + i] = b[i];
    }
    return CS_SUCCESS;
}

/* Signature {r: [72], s: [72], _reserved: [368]?} (sev certs/snp/ecdsa). */
static cs_res put_signature(struct enc *e, json_t *v)
{
    static const char *const names[] = { "r", "s", "_reserved", NULL };
    CS_ENSURE(json_is_object(v) && keys_within(v, names), CS_E_FORMAT);
    size_t off = CS_SNP_SIGNED_LEN;
    CS_TRY(put_bytes(e, off, CS_SNP_SIG_FIELD_LEN, json_object_get(v, "r")));
    CS_TRY(put_bytes(e, off + CS_SNP_SIG_FIELD_LEN, CS_SNP_SIG_FIELD_LEN, json_object_get(v, "s")));
    json_t *reserved = json_object_get(v, "_reserved");
    if (reserved != NULL) {
        CS_TRY(put_bytes(e, off + 2 * CS_SNP_SIG_FIELD_LEN, SIG_RESERVED_LEN, reserved));
    }
    return CS_SUCCESS;
}

enum kind {
    K_UINT,     /* n-byte little-endian integer */
    K_OPT_UINT, /* the same, or null (Option<_>: not present in this report version) */
    K_BYTES,    /* [u8; n] */
    K_TCB,
    K_VERSION,
    K_RESERVED_1, /* [u8; 24] at 188h (version 2 layout) or [u8; 21] at 18Bh (version 3) */
    K_SIGNATURE,
};

struct field {
    const char *key;
    size_t off;
    size_t n;
    enum kind kind;
};

/* The keys of both struct generations, with the offsets of the ATTESTATION_REPORT. */
static const struct field fields[] = {
    { "version", 0x000, 4, K_UINT },
    { "guest_svn", 0x004, 4, K_UINT },
    { "policy", 0x008, 8, K_UINT },
    { "family_id", 0x010, 16, K_BYTES },
    { "image_id", 0x020, 16, K_BYTES },
    { "vmpl", 0x030, 4, K_UINT },
    { "sig_algo", 0x034, 4, K_UINT },
    { "current_tcb", 0x038, 8, K_TCB },
    { "plat_info", 0x040, 8, K_UINT },
    { "key_info", 0x048, 4, K_UINT },
    { "_author_key_en", 0x048, 4, K_UINT }, /* sev 1.x name of the same word */
    { "_reserved_0", 0x04C, 4, K_UINT },
    { "report_data", 0x050, 64, K_BYTES },
    { "measurement", 0x090, 48, K_BYTES },
    { "host_data", 0x0C0, 32, K_BYTES },
    { "id_key_digest", 0x0E0, 48, K_BYTES },
    { "author_key_digest", 0x110, 48, K_BYTES },
    { "report_id", 0x140, 32, K_BYTES },
    { "report_id_ma", 0x160, 32, K_BYTES },
    { "reported_tcb", 0x180, 8, K_TCB },
    { "cpuid_fam_id", 0x188, 1, K_OPT_UINT },
    { "cpuid_mod_id", 0x189, 1, K_OPT_UINT },
    { "cpuid_step", 0x18A, 1, K_OPT_UINT },
    { "_reserved_1", 0x188, 0, K_RESERVED_1 },
    { "chip_id", 0x1A0, 64, K_BYTES },
    { "committed_tcb", 0x1E0, 8, K_TCB },
    { "current_build", 0x1E8, 1, K_UINT },
    { "current_minor", 0x1E9, 1, K_UINT },
    { "current_major", 0x1EA, 1, K_UINT },
    { "_reserved_2", 0x1EB, 1, K_UINT },
    { "committed_build", 0x1EC, 1, K_UINT },
    { "committed_minor", 0x1ED, 1, K_UINT },
    { "committed_major", 0x1EE, 1, K_UINT },
    { "_reserved_3", 0x1EF, 1, K_UINT },
    { "current", 0x1E8, 3, K_VERSION },
    { "committed", 0x1EC, 3, K_VERSION },
    { "launch_tcb", 0x1F0, 8, K_TCB },
    { "launch_mit_vector", 0x1F8, 8, K_OPT_UINT },
    { "current_mit_vector", 0x200, 8, K_OPT_UINT },
    { "_reserved_4", 0x1F8, 168, K_BYTES },
    { "signature", CS_SNP_SIGNED_LEN, 0, K_SIGNATURE },
};

static cs_res put_field(struct enc *e, const struct field *f, json_t *v)
{
    switch (f->kind) {
    case K_UINT:
        return put_uint(e, f->off, f->n, v);
    case K_OPT_UINT:
        return json_is_null(v) ? CS_SUCCESS : put_uint(e, f->off, f->n, v);
    case K_BYTES:
        return put_bytes(e, f->off, f->n, v);
    case K_TCB:
        return put_tcb(e, f->off, v);
    case K_VERSION:
        return put_version(e, f->off, v);
    case K_RESERVED_1:
        CS_ENSURE(json_is_array(v), CS_E_FORMAT);
        return json_array_size(v) == 24 ? put_bytes(e, 0x188, 24, v) : put_bytes(e, 0x18B, 21, v);
    case K_SIGNATURE:
        return put_signature(e, v);
    default:
        CS_FAIL(CS_E_INTERNAL);
    }
}

/* Bytes that the ABI reserves, or that only some versions define: they may stay unset. */
static bool may_be_absent(size_t off)
{
    return (off >= 0x04C && off < 0x050) || (off >= 0x188 && off < 0x1A0) || off == 0x1EB ||
           off == 0x1EF || (off >= 0x1F8 && off < CS_SNP_SIGNED_LEN) ||
           off >= CS_SNP_SIGNED_LEN + 2 * CS_SNP_SIG_FIELD_LEN;
}

static cs_res report_encode(json_t *obj, uint8_t out[CS_SNP_REPORT_LEN])
{
    CS_ENSURE(json_is_object(obj), CS_E_FORMAT);
    struct enc e = { .out = out };
    memset(out, 0, CS_SNP_REPORT_LEN);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const struct field *f = NULL;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0] && f == NULL; i++) {
            f = strcmp(fields[i].key, key) == 0 ? &fields[i] : NULL;
        }
        CS_ENSURE(f != NULL, CS_E_FORMAT); /* a key neither struct has */
        CS_TRY(put_field(&e, f, val));
    }
    for (size_t i = 0; i < CS_SNP_REPORT_LEN; i++) {
        CS_ENSURE(e.is_written[i] || may_be_absent(i), CS_E_FORMAT); /* a field is missing */
    }
    return CS_SUCCESS;
}

/* CertType: "Empty" | "ARK" | "ASK" | "VCEK" | "VLEK" | "CRL" | {"OTHER": "<uuid>"}. */
static cs_res cert_type_parse(json_t *v, enum cs_snp_cert_type *type, bool *is_kept)
{
    static const struct {
        const char *name;
        enum cs_snp_cert_type type;
        bool is_kept;
    } types[] = {
        { "ARK", CS_SNP_CERT_ARK, true },    { "ASK", CS_SNP_CERT_ASK, true },
        { "VCEK", CS_SNP_CERT_VCEK, true },  { "VLEK", CS_SNP_CERT_VLEK, true },
        { "Empty", CS_SNP_CERT_ARK, false }, { "CRL", CS_SNP_CERT_ARK, false },
    };
    *is_kept = false;
    if (json_is_object(v)) {
        json_t *uuid = json_object_get(v, "OTHER");
        CS_ENSURE(json_object_size(v) == 1 && json_is_string(uuid) &&
                      json_string_length(uuid) <= OTHER_UUID_MAX,
                  CS_E_FORMAT);
        return CS_SUCCESS;
    }
    CS_ENSURE(json_is_string(v), CS_E_FORMAT);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(json_string_value(v), types[i].name) == 0) {
            *type = types[i].type;
            *is_kept = types[i].is_kept;
            return CS_SUCCESS;
        }
    }
    CS_FAIL(CS_E_FORMAT);
}

static cs_res cert_chain_parse(json_t *chain, struct cs_snp_kbs *out)
{
    if (chain == NULL || json_is_null(chain)) {
        return CS_SUCCESS; /* Option<Vec<_>>: the verifier's configured key is used */
    }
    CS_ENSURE(json_is_array(chain), CS_E_FORMAT);
    CS_ENSURE(json_array_size(chain) <= CS_SNP_KBS_ENTRIES_MAX, CS_E_TOO_LARGE);
    static const char *const names[] = { "cert_type", "data", NULL };
    for (size_t i = 0; i < json_array_size(chain); i++) {
        json_t *entry = json_array_get(chain, i);
        CS_ENSURE(json_is_object(entry) && json_object_size(entry) == 2 &&
                      keys_within(entry, names),
                  CS_E_FORMAT);
        enum cs_snp_cert_type type = CS_SNP_CERT_ARK;
        bool is_kept = false;
        CS_TRY(cert_type_parse(json_object_get(entry, "cert_type"), &type, &is_kept));
        json_t *data = json_object_get(entry, "data");
        CS_ENSURE(json_is_array(data), CS_E_FORMAT);
        size_t n = json_array_size(data);
        if (!is_kept) {
            CS_TRY(byte_array(data, NULL, n)); /* shape only */
            continue;
        }
        CS_ENSURE(n <= CS_SNP_CERT_DER_MAX, CS_E_TOO_LARGE);
        for (size_t j = 0; j < out->n_certs; j++) {
            CS_ENSURE(out->certs[j].type != type, CS_E_FORMAT); /* each kept type once */
        }
        CS_ENSURE(out->n_certs < CS_SNP_KBS_CERTS_MAX, CS_E_INTERNAL); /* 4 types, 4 slots */
        struct cs_snp_kbs_cert *c = &out->certs[out->n_certs];
        CS_TRY(byte_array(data, c->der, n));
        c->type = type;
        c->len = n;
        out->n_certs++;
    }
    return CS_SUCCESS;
}

bool cs_snp_kbs_is_json(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; buf != NULL && i < len; i++) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n') {
            return buf[i] == '{';
        }
    }
    return false;
}

CS_RESULT cs_snp_kbs_parse(const uint8_t *buf, size_t len, struct cs_snp_kbs *out)
{
    CS_ENSURE(out != NULL && (buf != NULL || len == 0), CS_E_ARG);
    out->n_certs = 0;
    CS_AUTO_JSON *root = NULL;
    CS_TRY(cs_json_load(cs_cur_of(buf, len), CS_SNP_KBS_JSON_MAX, &root));
    static const char *const names[] = { "attestation_report", "cert_chain", NULL };
    CS_ENSURE(keys_within(root, names), CS_E_FORMAT);
    CS_TRY(report_encode(json_object_get(root, "attestation_report"), out->report));
    cs_res r = cert_chain_parse(json_object_get(root, "cert_chain"), out);
    if (!cs_ok(r)) {
        out->n_certs = 0;
    }
    return r;
}
