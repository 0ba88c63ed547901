# SPDX-License-Identifier: Apache-2.0
# AWS Nitro Enclaves fuzz targets: the document parser (with the Sig_structure encoder)
# and the whole verifier against the A01 case's anchor and instant. Real documents of
# ../shared seed both (also listed in seeds-<target>.txt for scripts/fuzz.sh).
list(APPEND CS_FUZZ_TARGETS nitro_doc nitro_verify)
set(CS_FUZZ_SEEDS_nitro_doc */document.cbor)
set(CS_FUZZ_SEEDS_nitro_verify */document.cbor)
