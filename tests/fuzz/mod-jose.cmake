# SPDX-License-Identifier: Apache-2.0
# JOSE fuzz target: the KBS tee-pubkey parser, and a JWE to every key it accepts.
if(TARGET cs_jose)
  list(APPEND CS_FUZZ_TARGETS tee_jwk)
  set(CS_FUZZ_LIBS_tee_jwk cs_jose)
  list(APPEND CS_FUZZ_INSTRUMENT cs_jose)
endif()
