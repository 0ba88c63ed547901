# SPDX-License-Identifier: Apache-2.0
# SEV-SNP fuzz targets: the report parser, the KBS JSON converter, and the whole verifier
# (against the N02 case of ../shared, or CS_FUZZ_CASE). Real-evidence seeds: the reports.
list(APPEND CS_FUZZ_TARGETS snp_report snp_kbs snp_verify)
set(CS_FUZZ_SEEDS_snp_report */report.bin)
set(CS_FUZZ_SEEDS_snp_verify */report.bin)
