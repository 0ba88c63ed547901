/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cs_snp_report_parse and its helpers on crafted reports (no signatures involved): every
 * field lands at its ATTESTATION_REPORT offset in each version, every size other than
 * 1184 is rejected as truncated/trailing, versions/algorithms/signing keys outside the
 * allowlist are unsupported, each reserved byte must be zero, the signature's R and S
 * convert to big-endian and reject bytes beyond the P-384 scalar, TCB_VERSION splits per
 * product, product names are matched exactly.
 */
#include "cs_test.h"
#include "evidence/snp_kbs.h"
#include "evidence/snp_report.h"

#define LEN CS_SNP_REPORT_LEN

static void put32(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* A well-formed report of `version` whose every non-reserved byte is distinct-ish. */
static void make_report(uint8_t r[LEN], uint32_t version)
{
    memset(r, 0, LEN);
    put32(r + 0x00, version);
    put32(r + 0x04, 7);                    /* guest_svn */
    put64(r + 0x08, 0x30000);              /* policy: SMT, reserved-one */
    for (size_t i = 0x10; i < 0x30; i++) { /* family_id, image_id */
        r[i] = (uint8_t)i;
    }
    put32(r + 0x30, 2);                    /* vmpl */
    put32(r + 0x34, 1);                    /* sig_algo */
    for (size_t i = 0x38; i < 0x48; i++) { /* current_tcb, platform_info */
        r[i] = (uint8_t)(i * 3);
    }
    put32(r + 0x48, 0);                     /* key_info: VCEK */
    for (size_t i = 0x50; i < 0x188; i++) { /* report_data .. reported_tcb */
        r[i] = (uint8_t)(i * 7 + 1);
    }
    if (version >= 3) {
        r[0x188] = 0x19;
        r[0x189] = 0x01;
        r[0x18A] = 0x01;
    }
    for (size_t i = 0x1A0; i < 0x1EB; i++) { /* chip_id, committed_tcb, current version */
        r[i] = (uint8_t)(i * 5 + 3);
    }
    r[0x1EC] = 1;
    r[0x1ED] = 2;
    r[0x1EE] = 3;
    for (size_t i = 0x1F0; i < 0x1F8; i++) { /* launch_tcb */
        r[i] = (uint8_t)(i + 9);
    }
    if (version >= 5) {
        put64(r + 0x1F8, 0x0b);
        put64(r + 0x200, 0x0c);
    }
    for (size_t i = 0; i < CS_SNP_SIG_SCALAR_LEN; i++) {
        r[0x2A0 + i] = (uint8_t)(i + 1);    /* R, little-endian */
        r[0x2E8 + i] = (uint8_t)(0x80 + i); /* S */
    }
}

static cs_code parse(const uint8_t *r, size_t len)
{
    uint8_t *copy = tv_dup(r, len); /* exact size: ASan sees any over-read */
    struct cs_snp_report rep;
    cs_res res = cs_snp_report_parse(copy, len, &rep);
    free(copy);
    return res.code;
}

static void test_fields_land_at_their_offsets(void)
{
    static const uint32_t versions[] = { 2, 3, 5 };
    for (size_t v = 0; v < 3; v++) {
        uint8_t r[LEN];
        make_report(r, versions[v]);
        struct cs_snp_report rep;
        EXPECT_OK(cs_snp_report_parse(r, LEN, &rep));
        EXPECT_EQ(rep.version, versions[v]);
        EXPECT_EQ(rep.guest_svn, 7);
        EXPECT_EQ(rep.policy, 0x30000);
        EXPECT_MEM_EQ(rep.family_id, r + 0x10, 16);
        EXPECT_MEM_EQ(rep.image_id, r + 0x20, 16);
        EXPECT_EQ(rep.vmpl, 2);
        EXPECT_MEM_EQ(rep.current_tcb, r + 0x38, 8);
        EXPECT_EQ(rep.signing_key, CS_SNP_KEY_VCEK);
        EXPECT_MEM_EQ(rep.report_data, r + 0x50, 64);
        EXPECT_MEM_EQ(rep.measurement, r + 0x90, 48);
        EXPECT_MEM_EQ(rep.host_data, r + 0xC0, 32);
        EXPECT_MEM_EQ(rep.id_key_digest, r + 0xE0, 48);
        EXPECT_MEM_EQ(rep.author_key_digest, r + 0x110, 48);
        EXPECT_MEM_EQ(rep.report_id, r + 0x140, 32);
        EXPECT_MEM_EQ(rep.report_id_ma, r + 0x160, 32);
        EXPECT_MEM_EQ(rep.reported_tcb, r + 0x180, 8);
        EXPECT_EQ(rep.has_cpuid, versions[v] >= 3);
        EXPECT_MEM_EQ(rep.chip_id, r + 0x1A0, 64);
        EXPECT_MEM_EQ(rep.committed_tcb, r + 0x1E0, 8);
        EXPECT_EQ(rep.current_build, r[0x1E8]);
        EXPECT_EQ(rep.current_major, r[0x1EA]);
        EXPECT_EQ(rep.committed_build, 1);
        EXPECT_EQ(rep.committed_major, 3);
        EXPECT_MEM_EQ(rep.launch_tcb, r + 0x1F0, 8);
        EXPECT_EQ(rep.has_mit_vectors, versions[v] >= 5);
        EXPECT_TRUE(rep.signed_span.p == r && rep.signed_span.left == 0x2A0);
        EXPECT_MEM_EQ(rep.sig_r, r + 0x2A0, 72);
        EXPECT_MEM_EQ(rep.sig_s, r + 0x2E8, 72);
        if (versions[v] >= 3) {
            EXPECT_EQ(rep.cpuid_fam_id, 0x19);
        }
        if (versions[v] >= 5) {
            EXPECT_EQ(rep.launch_mit_vector, 0x0b);
            EXPECT_EQ(rep.current_mit_vector, 0x0c);
        }
    }
}

static void test_sizes(void)
{
    uint8_t r[LEN + 1];
    make_report(r, 3);
    r[LEN] = 0;
    for (size_t n = 0; n < LEN; n++) {
        if (parse(r, n) != CS_E_TRUNCATED) {
            fprintf(stderr, "length %zu\n", n);
            EXPECT_EQ(parse(r, n), CS_E_TRUNCATED);
            break;
        }
    }
    EXPECT_EQ(parse(r, LEN), CS_OK);
    EXPECT_EQ(parse(r, LEN + 1), CS_E_TRAILING);
    struct cs_snp_report rep;
    EXPECT_ERR(cs_snp_report_parse(NULL, 0, &rep), CS_E_TRUNCATED);
    EXPECT_ERR(cs_snp_report_parse(NULL, 5, &rep), CS_E_ARG);
    EXPECT_ERR(cs_snp_report_parse(r, LEN, NULL), CS_E_ARG);
}

static void test_allowlists(void)
{
    uint8_t r[LEN];
    static const uint32_t bad_versions[] = { 0, 1, 4, 6, 0x7b, 0xffffffff };
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
        make_report(r, 3);
        put32(r, bad_versions[i]);
        EXPECT_EQ(parse(r, LEN), CS_E_UNSUPPORTED);
    }
    static const uint32_t bad_algos[] = { 0, 2, 0x100 };
    for (size_t i = 0; i < 3; i++) {
        make_report(r, 2);
        put32(r + 0x34, bad_algos[i]);
        EXPECT_EQ(parse(r, LEN), CS_E_UNSUPPORTED);
    }
    /* SIGNING_KEY: 0 VCEK, 1 VLEK; 2..6 reserved and 7 (none) unsupported */
    for (uint32_t k = 0; k < 8; k++) {
        make_report(r, 3);
        put32(r + 0x48, k << 2);
        struct cs_snp_report rep;
        cs_code want = k <= 1 ? CS_OK : CS_E_UNSUPPORTED;
        EXPECT_EQ(cs_snp_report_parse(r, LEN, &rep).code, want);
        if (k == 1) {
            EXPECT_EQ(rep.signing_key, CS_SNP_KEY_VLEK);
        }
    }
    make_report(r, 3);
    put32(r + 0x48, CS_SNP_KEYINFO_MASK_CHIP_KEY); /* unsigned report */
    EXPECT_EQ(parse(r, LEN), CS_E_UNSUPPORTED);
    make_report(r, 3);
    put32(r + 0x48, CS_SNP_KEYINFO_AUTHOR_KEY_EN);
    struct cs_snp_report rep;
    EXPECT_OK(cs_snp_report_parse(r, LEN, &rep));
    EXPECT_TRUE(rep.is_author_key_en);
    for (uint32_t bit = 5; bit < 32; bit++) { /* key_info reserved bits */
        make_report(r, 3);
        put32(r + 0x48, 1u << bit);
        EXPECT_EQ(parse(r, LEN), CS_E_FORMAT);
    }
    make_report(r, 3);
    put64(r + 0x08, 0x10000); /* policy bit 17 must be one */
    EXPECT_EQ(parse(r, LEN), CS_E_FORMAT);
    make_report(r, 3);
    put32(r + 0x30, 4); /* VMPL0..3 only */
    EXPECT_EQ(parse(r, LEN), CS_E_FORMAT);
}

/* Every reserved byte of each version, set to one in turn, is a format error. */
static void test_reserved_bytes(void)
{
    static const uint32_t versions[] = { 2, 3, 5 };
    for (size_t v = 0; v < 3; v++) {
        for (size_t off = 0; off < LEN; off++) {
            bool is_reserved = (off >= 0x4C && off < 0x50) ||
                               (off >= (versions[v] >= 3 ? 0x18Bu : 0x188u) && off < 0x1A0) ||
                               off == 0x1EB || off == 0x1EF ||
                               (off >= (versions[v] >= 5 ? 0x208u : 0x1F8u) && off < 0x2A0) ||
                               off >= 0x2A0 + 2 * 72;
            if (!is_reserved) {
                continue;
            }
            uint8_t r[LEN];
            make_report(r, versions[v]);
            r[off] = 0x01;
            if (parse(r, LEN) != CS_E_FORMAT) {
                fprintf(stderr, "v%u reserved byte %#zx accepted\n", versions[v], off);
                EXPECT_EQ(parse(r, LEN), CS_E_FORMAT);
            }
        }
    }
}

static void test_signature_scalars(void)
{
    uint8_t r[LEN];
    make_report(r, 2);
    struct cs_snp_report rep;
    EXPECT_OK(cs_snp_report_parse(r, LEN, &rep));
    uint8_t rs[96];
    EXPECT_OK(cs_snp_report_sig_rs(&rep, rs));
    for (size_t i = 0; i < 48; i++) { /* reversed: big-endian */
        EXPECT_EQ(rs[i], r[0x2A0 + 47 - i]);
        EXPECT_EQ(rs[48 + i], r[0x2E8 + 47 - i]);
    }
    for (size_t i = 48; i < 72; i++) {
        for (size_t half = 0; half < 2; half++) {
            make_report(r, 2);
            r[(half == 0 ? 0x2A0 : 0x2E8) + i] = 0x80;
            EXPECT_OK(cs_snp_report_parse(r, LEN, &rep)); /* parses: a verdict, not format */
            EXPECT_ERR(cs_snp_report_sig_rs(&rep, rs), CS_E_SIGNATURE);
        }
    }
}

static void test_tcb_layouts(void)
{
    const uint8_t tcb[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
    EXPECT_EQ(cs_snp_tcb_u64(tcb), 0x8877665544332211ull);
    struct cs_snp_tcb_parts t;
    cs_snp_tcb_split(tcb, CS_SNP_PRODUCT_MILAN, &t);
    EXPECT_TRUE(!t.has_fmc && t.bootloader == 0x11 && t.tee == 0x22 && t.snp == 0x77 &&
                t.microcode == 0x88);
    cs_snp_tcb_split(tcb, CS_SNP_PRODUCT_GENOA, &t);
    EXPECT_TRUE(!t.has_fmc && t.bootloader == 0x11 && t.snp == 0x77);
    cs_snp_tcb_split(tcb, CS_SNP_PRODUCT_TURIN, &t);
    EXPECT_TRUE(t.has_fmc && t.fmc == 0x11 && t.bootloader == 0x22 && t.tee == 0x33 &&
                t.snp == 0x44 && t.microcode == 0x88);
}

static void test_product_names(void)
{
    enum cs_snp_product p = 0;
    EXPECT_OK(cs_snp_product_parse("Milan", 5, &p));
    EXPECT_EQ(p, CS_SNP_PRODUCT_MILAN);
    EXPECT_OK(cs_snp_product_parse("Genoa", 5, &p));
    EXPECT_EQ(p, CS_SNP_PRODUCT_GENOA);
    EXPECT_OK(cs_snp_product_parse("Turin-B0", 5, &p)); /* the caller cuts at '-' */
    EXPECT_EQ(p, CS_SNP_PRODUCT_TURIN);
    EXPECT_ERR(cs_snp_product_parse("Milan-B0", 8, &p), CS_E_UNSUPPORTED);
    EXPECT_ERR(cs_snp_product_parse("milan", 5, &p), CS_E_UNSUPPORTED);
    EXPECT_ERR(cs_snp_product_parse("Mila", 4, &p), CS_E_UNSUPPORTED);
    EXPECT_ERR(cs_snp_product_parse("", 0, &p), CS_E_UNSUPPORTED);
    EXPECT_STR_EQ(cs_snp_product_name(CS_SNP_PRODUCT_TURIN), "Turin");
}

static void test_json_detection(void)
{
    EXPECT_TRUE(cs_snp_kbs_is_json((const uint8_t *)" \n{\"a\":1}", 9));
    EXPECT_TRUE(!cs_snp_kbs_is_json((const uint8_t *)"\x02\x00\x00\x00", 4));
    EXPECT_TRUE(!cs_snp_kbs_is_json((const uint8_t *)"   ", 3));
    EXPECT_TRUE(!cs_snp_kbs_is_json(NULL, 0));
}

CS_TEST_MAIN(CS_TEST(test_fields_land_at_their_offsets), CS_TEST(test_sizes),
             CS_TEST(test_allowlists), CS_TEST(test_reserved_bytes),
             CS_TEST(test_signature_scalars), CS_TEST(test_tcb_layouts),
             CS_TEST(test_product_names), CS_TEST(test_json_detection))
