# SPDX-License-Identifier: Apache-2.0
# Fuzz targets of the TPM parsers and of the whole TPM verifier (docs/platforms/tpm.md).
list(APPEND CS_FUZZ_TARGETS tpm_attest tpm_signature tpm_pcrs tpm_verify)
set(CS_FUZZ_SEEDS_tpm_attest P*/quote.bin)
set(CS_FUZZ_SEEDS_tpm_signature P*/signature.bin)
set(CS_FUZZ_SEEDS_tpm_pcrs P*/pcrs.json)
set(CS_FUZZ_SEEDS_tpm_verify P*/quote.bin)
