/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP attestation report parser. Offsets are those of the ATTESTATION_REPORT table of
 * AMD 56860 (see snp_report.h); each field's offset is named beside its read, and the
 * version-dependent regions (CPUID at 188h from version 3, mitigation vectors at 1F8h
 * from version 5) follow the same table.
 */
#include "evidence/snp_report.h"

#include <string.h>

/* Reads n bytes that the ABI reserves ("MBZ"): CS_E_FORMAT unless all are zero. */
static cs_res reserved_zero(struct cs_cur *c, size_t n)
{
    struct cs_cur v;
    CS_TRY(cs_cur_view(c, n, &v));
    uint8_t any = 0;
    for (size_t i = 0; i < v.left; i++) {
        any |= v.p[i];
    }
    CS_ENSURE(any == 0, CS_E_FORMAT);
    return CS_SUCCESS;
}

/* 00h..50h: version to the signer info word. */
static cs_res parse_head(struct cs_cur *c, struct cs_snp_report *r)
{
    CS_TRY(cs_cur_u32le(c, &r->version)); /* 00h */
    /* Versions 2 (ABI 1.51+), 3 (1.55+: CPUID) and 5 (1.57+: mitigation vectors). Version
     * 4 never shipped a layout of its own; others are unknown. */
    CS_ENSURE(r->version == 2 || r->version == 3 || r->version == 5, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_u32le(c, &r->guest_svn));                        /* 04h */
    CS_TRY(cs_cur_u64le(c, &r->policy));                           /* 08h */
    CS_TRY(cs_cur_copy(c, r->family_id, sizeof r->family_id));     /* 10h */
    CS_TRY(cs_cur_copy(c, r->image_id, sizeof r->image_id));       /* 20h */
    CS_TRY(cs_cur_u32le(c, &r->vmpl));                             /* 30h */
    CS_TRY(cs_cur_u32le(c, &r->sig_algo));                         /* 34h */
    CS_TRY(cs_cur_copy(c, r->current_tcb, sizeof r->current_tcb)); /* 38h */
    CS_TRY(cs_cur_u64le(c, &r->platform_info));                    /* 40h */
    CS_TRY(cs_cur_u32le(c, &r->key_info));                         /* 48h */
    CS_TRY(reserved_zero(c, 4));                                   /* 4Ch */
    /* GUEST_POLICY bit 17: "Reserved. Must be one." Firmware refuses any other policy. */
    CS_ENSURE((r->policy & CS_SNP_POLICY_RESERVED_ONE) != 0, CS_E_FORMAT);
    CS_ENSURE(r->vmpl <= 3, CS_E_FORMAT); /* VMPL0..VMPL3 */
    CS_ENSURE(r->sig_algo == CS_SNP_SIG_ALGO_ECDSA_P384_SHA384, CS_E_UNSUPPORTED);
    CS_ENSURE((r->key_info & CS_SNP_KEYINFO_RESERVED) == 0, CS_E_FORMAT);
    /* MASK_CHIP_KEY: "the firmware writes 0s into the SIGNATURE field". Nothing to verify. */
    CS_ENSURE((r->key_info & CS_SNP_KEYINFO_MASK_CHIP_KEY) == 0, CS_E_UNSUPPORTED);
    uint32_t key =
        (r->key_info >> CS_SNP_KEYINFO_SIGNING_KEY_SHIFT) & CS_SNP_KEYINFO_SIGNING_KEY_MASK;
    switch (key) {
    case CS_SNP_KEY_VCEK:
        r->signing_key = CS_SNP_KEY_VCEK;
        break;
    case CS_SNP_KEY_VLEK:
        r->signing_key = CS_SNP_KEY_VLEK;
        break;
    default: /* 7: no signature; 2..6: reserved */
        CS_FAIL(CS_E_UNSUPPORTED);
    }
    r->is_author_key_en = (r->key_info & CS_SNP_KEYINFO_AUTHOR_KEY_EN) != 0;
    return CS_SUCCESS;
}

/* 50h..1A0h: the guest's and the platform's identities. */
static cs_res parse_ids(struct cs_cur *c, struct cs_snp_report *r)
{
    CS_TRY(cs_cur_copy(c, r->report_data, sizeof r->report_data));             /* 50h */
    CS_TRY(cs_cur_copy(c, r->measurement, sizeof r->measurement));             /* 90h */
    CS_TRY(cs_cur_copy(c, r->host_data, sizeof r->host_data));                 /* C0h */
    CS_TRY(cs_cur_copy(c, r->id_key_digest, sizeof r->id_key_digest));         /* E0h */
    CS_TRY(cs_cur_copy(c, r->author_key_digest, sizeof r->author_key_digest)); /* 110h */
    CS_TRY(cs_cur_copy(c, r->report_id, sizeof r->report_id));                 /* 140h */
    CS_TRY(cs_cur_copy(c, r->report_id_ma, sizeof r->report_id_ma));           /* 160h */
    CS_TRY(cs_cur_copy(c, r->reported_tcb, sizeof r->reported_tcb));           /* 180h */
    if (r->version >= 3) {
        r->has_cpuid = true;
        CS_TRY(cs_cur_u8(c, &r->cpuid_fam_id)); /* 188h */
        CS_TRY(cs_cur_u8(c, &r->cpuid_mod_id)); /* 189h */
        CS_TRY(cs_cur_u8(c, &r->cpuid_step));   /* 18Ah */
        return reserved_zero(c, 0x1A0 - 0x18B);
    }
    return reserved_zero(c, 0x1A0 - 0x188);
}

/* 1A0h..2A0h: chip, firmware versions and the TCBs, up to the end of the signed part. */
static cs_res parse_platform(struct cs_cur *c, struct cs_snp_report *r)
{
    CS_TRY(cs_cur_copy(c, r->chip_id, sizeof r->chip_id));             /* 1A0h */
    CS_TRY(cs_cur_copy(c, r->committed_tcb, sizeof r->committed_tcb)); /* 1E0h */
    CS_TRY(cs_cur_u8(c, &r->current_build));                           /* 1E8h */
    CS_TRY(cs_cur_u8(c, &r->current_minor));                           /* 1E9h */
    CS_TRY(cs_cur_u8(c, &r->current_major));                           /* 1EAh */
    CS_TRY(reserved_zero(c, 1));                                       /* 1EBh */
    CS_TRY(cs_cur_u8(c, &r->committed_build));                         /* 1ECh */
    CS_TRY(cs_cur_u8(c, &r->committed_minor));                         /* 1EDh */
    CS_TRY(cs_cur_u8(c, &r->committed_major));                         /* 1EEh */
    CS_TRY(reserved_zero(c, 1));                                       /* 1EFh */
    CS_TRY(cs_cur_copy(c, r->launch_tcb, sizeof r->launch_tcb));       /* 1F0h */
    if (r->version >= 5) {
        r->has_mit_vectors = true;
        CS_TRY(cs_cur_u64le(c, &r->launch_mit_vector));  /* 1F8h */
        CS_TRY(cs_cur_u64le(c, &r->current_mit_vector)); /* 200h */
        return reserved_zero(c, CS_SNP_SIGNED_LEN - 0x208);
    }
    return reserved_zero(c, CS_SNP_SIGNED_LEN - 0x1F8);
}

CS_RESULT cs_snp_report_parse(const uint8_t *buf, size_t len, struct cs_snp_report *r)
{
    CS_ENSURE(r != NULL && (buf != NULL || len == 0), CS_E_ARG);
    *r = (struct cs_snp_report){ 0 };
    /* The report has one size; shorter or longer input is not a report. */
    CS_ENSURE(len >= CS_SNP_REPORT_LEN, CS_E_TRUNCATED);
    CS_ENSURE(len == CS_SNP_REPORT_LEN, CS_E_TRAILING);
    struct cs_cur c = cs_cur_of(buf, len);
    CS_TRY(cs_cur_view(&c, CS_SNP_SIGNED_LEN, &r->signed_span));
    struct cs_cur s = r->signed_span;
    CS_TRY(parse_head(&s, r));
    CS_TRY(parse_ids(&s, r));
    CS_TRY(parse_platform(&s, r));
    CS_TRY(cs_cur_end(&s));
    /* 2A0h: SIGNATURE, 512 bytes: R (72), S (72), then reserved to the end. */
    CS_TRY(cs_cur_copy(&c, r->sig_r, sizeof r->sig_r));
    CS_TRY(cs_cur_copy(&c, r->sig_s, sizeof r->sig_s));
    CS_TRY(reserved_zero(&c, CS_SNP_REPORT_LEN - CS_SNP_SIGNED_LEN - 2 * CS_SNP_SIG_FIELD_LEN));
    return cs_cur_end(&c);
}

/* Writes the little-endian 72-byte field as a 48-byte big-endian scalar. */
static cs_res scalar_be(const uint8_t le[CS_SNP_SIG_FIELD_LEN], uint8_t be[CS_SNP_SIG_SCALAR_LEN])
{
    uint8_t excess = 0;
    for (size_t i = CS_SNP_SIG_SCALAR_LEN; i < CS_SNP_SIG_FIELD_LEN; i++) {
        excess |= le[i];
    }
    /* A P-384 scalar fits in 48 bytes: anything above is not a signature we accept. */
    CS_ENSURE(excess == 0, CS_E_SIGNATURE);
    for (size_t i = 0; i < CS_SNP_SIG_SCALAR_LEN; i++) {
        be[i] = le[CS_SNP_SIG_SCALAR_LEN - 1 - i];
    }
    return CS_SUCCESS;
}

CS_RESULT cs_snp_report_sig_rs(const struct cs_snp_report *r, uint8_t rs[2 * CS_SNP_SIG_SCALAR_LEN])
{
    CS_ENSURE(r != NULL && rs != NULL, CS_E_ARG);
    CS_TRY(scalar_be(r->sig_r, rs));
    return scalar_be(r->sig_s, rs + CS_SNP_SIG_SCALAR_LEN);
}

uint64_t cs_snp_tcb_u64(const uint8_t tcb[8])
{
    uint64_t v = 0;
    for (size_t i = 8; i > 0; i--) {
        v = (v << 8) | tcb[i - 1];
    }
    return v;
}

void cs_snp_tcb_split(const uint8_t tcb[8], enum cs_snp_product product,
                      struct cs_snp_tcb_parts *out)
{
    if (product == CS_SNP_PRODUCT_TURIN) {
        *out = (struct cs_snp_tcb_parts){ .has_fmc = true,
                                          .fmc = tcb[0],
                                          .bootloader = tcb[1],
                                          .tee = tcb[2],
                                          .snp = tcb[3],
                                          .microcode = tcb[7] };
        return;
    }
    *out = (struct cs_snp_tcb_parts){
        .bootloader = tcb[0], .tee = tcb[1], .snp = tcb[6], .microcode = tcb[7]
    };
}

static const char *const product_names[] = {
    [CS_SNP_PRODUCT_MILAN] = "Milan",
    [CS_SNP_PRODUCT_GENOA] = "Genoa",
    [CS_SNP_PRODUCT_TURIN] = "Turin",
};

const char *cs_snp_product_name(enum cs_snp_product p)
{
    switch (p) {
    case CS_SNP_PRODUCT_MILAN:
    case CS_SNP_PRODUCT_GENOA:
    case CS_SNP_PRODUCT_TURIN:
        return product_names[p];
    default:
        return "";
    }
}

CS_RESULT cs_snp_product_parse(const char *s, size_t n, enum cs_snp_product *out)
{
    CS_ENSURE(out != NULL && (s != NULL || n == 0), CS_E_ARG);
    static const enum cs_snp_product all[] = { CS_SNP_PRODUCT_MILAN, CS_SNP_PRODUCT_GENOA,
                                               CS_SNP_PRODUCT_TURIN };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *name = product_names[all[i]];
        if (n == strlen(name) && memcmp(s, name, n) == 0) {
            *out = all[i];
            return CS_SUCCESS;
        }
    }
    CS_FAIL(CS_E_UNSUPPORTED);
}
