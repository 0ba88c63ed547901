# SPDX-License-Identifier: Apache-2.0
# AWS Nitro Enclaves attestation documents (COSE_Sign1, CBOR decoded with libcbor's
# allocation-free streaming decoder). Included by the top-level CMakeLists.txt after the
# source lists are set; appends this platform's sources and its one extra library.
pkg_check_modules(CBOR REQUIRED IMPORTED_TARGET libcbor)

list(APPEND CS_EVIDENCE_SOURCES src/evidence/nitro_cbor.c src/evidence/nitro_doc.c)
list(APPEND CS_VERIFY_SOURCES src/verify/nitro_collateral.c src/verify/nitro_verify.c)
list(APPEND CS_CLI_SOURCES app/custos/verify_nitro.c)
list(APPEND CS_CLI_DEFINES CS_HAVE_NITRO)
# cs_evidence links cs_core only; cs_verify and libcustos link CS_EXTRA_LIBS after it, so
# libcbor resolves the streaming decoder that src/evidence/nitro_cbor.c calls.
list(APPEND CS_EXTRA_LIBS PkgConfig::CBOR)
