/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP attestation report, versions 2, 3 and 5 (1184 bytes).
 *
 * Spec: AMD "SEV Secure Nested Paging Firmware ABI Specification" (publication 56860),
 * section "Attestation", table "ATTESTATION_REPORT Structure" (the signed component is
 * bytes 0h..29Fh; the signature format is the table "ECDSA P-384 with SHA-384
 * Signature": R and S little-endian, each in a 72-byte field). Offsets cross-checked with
 * google/go-sev-guest abi/abi.go (ReportToProto L516-590, SignedComponent L748-752, the
 * signature helpers L394-418) and with virtee/sev src/firmware/guest/types/snp.rs, and
 * against every real report under ../shared/testdata/evidence (FORMATS.md section 2).
 *
 * The parser is pure: no allocation, no I/O, no crypto. Outputs are fixed-size copies of
 * the fields plus a view of the signed span in the caller's buffer.
 */
#ifndef CS_EVIDENCE_SNP_REPORT_H
#define CS_EVIDENCE_SNP_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_SNP_REPORT_LEN 0x4A0u  /* 1184: every version */
#define CS_SNP_SIGNED_LEN 0x2A0u  /* the signed component: bytes 0h..29Fh */
#define CS_SNP_SIG_FIELD_LEN 72u  /* R and S fields, little-endian */
#define CS_SNP_SIG_SCALAR_LEN 48u /* P-384 scalars: the significant bytes of R and S */
#define CS_SNP_SIG_ALGO_ECDSA_P384_SHA384 1u

/* GUEST_POLICY bits (56860, table "Guest Policy Structure"). */
#define CS_SNP_POLICY_SMT (1ull << 16)
#define CS_SNP_POLICY_RESERVED_ONE (1ull << 17) /* "Reserved. Must be one." */
#define CS_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define CS_SNP_POLICY_DEBUG (1ull << 19)
#define CS_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define CS_SNP_POLICY_CXL_ALLOW (1ull << 21)
#define CS_SNP_POLICY_MEM_AES_256_XTS (1ull << 22)
#define CS_SNP_POLICY_RAPL_DIS (1ull << 23)
#define CS_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define CS_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)

/* PLATFORM_INFO bits (56860, table "PLATFORM_INFO Field"). */
#define CS_SNP_PLATFORM_SMT_EN (1ull << 0)
#define CS_SNP_PLATFORM_TSME_EN (1ull << 1)
#define CS_SNP_PLATFORM_ECC_EN (1ull << 2)
#define CS_SNP_PLATFORM_RAPL_DIS (1ull << 3)
#define CS_SNP_PLATFORM_CIPHERTEXT_HIDING_EN (1ull << 4)
#define CS_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (1ull << 5)

/* The signer info word at 48h: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2
 * SIGNING_KEY, bits 31:5 reserved (go-sev-guest abi.go L476-490). */
#define CS_SNP_KEYINFO_AUTHOR_KEY_EN 0x1u
#define CS_SNP_KEYINFO_MASK_CHIP_KEY 0x2u
#define CS_SNP_KEYINFO_SIGNING_KEY_SHIFT 2u
#define CS_SNP_KEYINFO_SIGNING_KEY_MASK 0x7u
#define CS_SNP_KEYINFO_RESERVED 0xffffffe0u

/* SIGNING_KEY: which key signed the report. 7 (none) and 2..6 are not supported. */
enum cs_snp_signing_key {
    CS_SNP_KEY_VCEK = 0,
    CS_SNP_KEY_VLEK = 1,
};

/* The AMD product lines whose ARKs custos knows. The TCB_VERSION layout depends on it. */
enum cs_snp_product {
    CS_SNP_PRODUCT_MILAN = 1,
    CS_SNP_PRODUCT_GENOA = 2,
    CS_SNP_PRODUCT_TURIN = 3,
};

/* One TCB_VERSION split into its security patch levels for a product. */
struct cs_snp_tcb_parts {
    bool has_fmc; /* Turin and later */
    uint8_t fmc;
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
};

/* borrows: the report buffer passed to cs_snp_report_parse (signed_span only) */
struct cs_snp_report {
    uint32_t version; /* 2, 3 or 5 */
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t sig_algo;
    uint8_t current_tcb[8];
    uint64_t platform_info;
    uint32_t key_info; /* the signer info word */
    bool is_author_key_en;
    enum cs_snp_signing_key signing_key;
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint8_t reported_tcb[8];
    bool has_cpuid; /* version 3 and later */
    uint8_t cpuid_fam_id;
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[64];
    uint8_t committed_tcb[8];
    uint8_t current_build;
    uint8_t current_minor;
    uint8_t current_major;
    uint8_t committed_build;
    uint8_t committed_minor;
    uint8_t committed_major;
    uint8_t launch_tcb[8];
    bool has_mit_vectors; /* version 5 and later */
    uint64_t launch_mit_vector;
    uint64_t current_mit_vector;
    struct cs_cur signed_span;           /* bytes [0, 2A0h) of the buffer */
    uint8_t sig_r[CS_SNP_SIG_FIELD_LEN]; /* as carried: little-endian */
    uint8_t sig_s[CS_SNP_SIG_FIELD_LEN];
};

/*
 * Parses a report that must be exactly CS_SNP_REPORT_LEN bytes.
 *
 * Returns CS_E_TRUNCATED (shorter), CS_E_TRAILING (longer), CS_E_UNSUPPORTED (version
 * other than 2, 3 or 5; signature algorithm other than ECDSA P-384 with SHA-384; SIGNING_KEY
 * other than VCEK or VLEK; MASK_CHIP_KEY set, which means the firmware did not sign),
 * CS_E_FORMAT (a reserved field that must be zero is not, policy bit 17 is not one, VMPL
 * above 3).
 * Does NOT check the signature (nor that R and S fit in 48 bytes: cs_snp_report_sig_rs),
 * nor anything that depends on the product (the TCB_VERSION layout).
 */
CS_RESULT cs_snp_report_parse(const uint8_t *buf, size_t len, struct cs_snp_report *r);

/*
 * The signature as big-endian r || s (48 + 48 bytes) for cs_ecdsa_verify_rs. The 72-byte
 * little-endian fields hold a P-384 scalar in their first 48 bytes; CS_E_SIGNATURE when
 * any of the 24 bytes above is not zero.
 */
CS_RESULT cs_snp_report_sig_rs(const struct cs_snp_report *r,
                               uint8_t rs[2 * CS_SNP_SIG_SCALAR_LEN]);

/* A TCB_VERSION as the little-endian u64 that the ABI defines (for claims). */
uint64_t cs_snp_tcb_u64(const uint8_t tcb[8]);

/*
 * Splits a TCB_VERSION for a product. Milan and Genoa: byte 0 BOOT_LOADER, 1 TEE, 2-5
 * reserved, 6 SNP, 7 MICROCODE. Turin: byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4-6
 * reserved, 7 MICROCODE (56860 table "TCB_VERSION Structure"; go-sev-guest kds/kds.go
 * L246-257; virtee/sev src/firmware/host/types/snp.rs L565-596).
 */
void cs_snp_tcb_split(const uint8_t tcb[8], enum cs_snp_product product,
                      struct cs_snp_tcb_parts *out);

/* "Milan", "Genoa", "Turin". */
const char *cs_snp_product_name(enum cs_snp_product p);

/*
 * The product named by the first n bytes of s, exactly "Milan", "Genoa" or "Turin".
 * CS_E_UNSUPPORTED for any other name.
 */
CS_RESULT cs_snp_product_parse(const char *s, size_t n, enum cs_snp_product *out);

#endif
