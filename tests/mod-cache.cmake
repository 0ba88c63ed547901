# SPDX-License-Identifier: Apache-2.0
# Tests of the sealed cache: the envelope with the broker provider (test_cache), and the
# tpm2 provider against a swtpm the test starts itself (test_cache_tpm2; skips when swtpm
# is not installed).
if(TARGET cs_cache)
  cs_add_test(test_cache unit/test_cache.c LIBS cs_cache)
endif()
if(TARGET cs_cache AND TARGET PkgConfig::CS_TSS2)
  cs_add_test(test_cache_tpm2 unit/test_cache_tpm2.c LIBS cs_cache PkgConfig::CS_TSS2)
  set_tests_properties(test_cache_tpm2 PROPERTIES ENVIRONMENT "TSS2_LOG=all+NONE")
endif()
if(TARGET test_cache)
  # The committed fuzz seeds were sealed by an independent Python implementation of
  # docs/cache.md; test_cache opens them.
  target_compile_definitions(test_cache PRIVATE
    CS_CACHE_CORPUS="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/cache")
endif()
