# SPDX-License-Identifier: Apache-2.0
# TPM 2.0 quotes: TPMS_ATTEST / TPMT_SIGNATURE parsers, PCR values, RSA and ECDSA AK
# signatures, AK trust (certificate chain or pinned key), directory loader and CLI.
# Only OpenSSL and jansson, which the build already has.
list(APPEND CS_EVIDENCE_SOURCES src/evidence/tpm_attest.c src/evidence/tpm_pcrs.c)
list(APPEND CS_CRYPTO_SOURCES src/crypto/tpm_sig.c)
list(APPEND CS_VERIFY_SOURCES src/verify/tpm_trust.c src/verify/tpm_verify.c
  src/verify/tpm_dir.c)
list(APPEND CS_CLI_SOURCES app/custos/verify_tpm.c)
list(APPEND CS_CLI_DEFINES CS_HAVE_TPM)
