# SPDX-License-Identifier: Apache-2.0
# Sealed cache fuzz target: the envelope parser, open with a broker key, the payload checker.
if(TARGET cs_cache)
  list(APPEND CS_FUZZ_TARGETS cache)
  set(CS_FUZZ_LIBS_cache cs_cache)
  list(APPEND CS_FUZZ_INSTRUMENT cs_cache)
endif()
