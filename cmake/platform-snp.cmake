# SPDX-License-Identifier: Apache-2.0
# AMD SEV-SNP: report and KBS-evidence parsers, AMD certificate extensions, verifier and
# collateral, and the CLI's verify_snp (docs/platforms/snp.md). Needs nothing beyond
# OpenSSL and jansson, which the core build already finds.
list(APPEND CS_EVIDENCE_SOURCES src/evidence/snp_report.c src/evidence/snp_kbs.c)
list(APPEND CS_CRYPTO_SOURCES src/crypto/snp_vek.c)
list(APPEND CS_VERIFY_SOURCES src/verify/snp_collateral.c src/verify/snp_collateral_dir.c
  src/verify/snp_verify.c)
list(APPEND CS_CLI_SOURCES app/custos/verify_snp.c)
list(APPEND CS_CLI_DEFINES CS_HAVE_SNP)
