# SPDX-License-Identifier: Apache-2.0
# cache: the agent's local sealed cache (docs/cache.md) with its tpm2 (tpm2-tss ESAPI) and
# broker key providers. Static library cs_cache; needs libtss2-dev (scripts/install-deps.sh).
pkg_check_modules(CS_TSS2 IMPORTED_TARGET tss2-esys tss2-mu tss2-tctildr)
if(CS_TSS2_FOUND)
  add_library(cs_cache STATIC src/client/cache.c src/client/cache_broker.c
    src/client/cache_tpm2.c)
  target_link_libraries(cs_cache PUBLIC cs_crypto PkgConfig::JANSSON
    PRIVATE PkgConfig::CS_TSS2)
  cs_defaults(cs_cache)
else()
  message(WARNING "tpm2-tss (libtss2-dev) missing: cs_cache is not built")
endif()
