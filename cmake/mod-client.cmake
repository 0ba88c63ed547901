# SPDX-License-Identifier: Apache-2.0
# client: the agent side (docs/attesters.md, ...).

# ---- cs_attester: evidence collection inside the TEE (configfs-tsm tdx/snp, tpm2, sim) ----
# tpm2-tss is optional: without it kind "tpm2" returns CS_E_UNSUPPORTED.
pkg_check_modules(TSS2 IMPORTED_TARGET tss2-esys tss2-tctildr tss2-mu)
set(cs_attester_sources src/client/attester.c src/client/attest_tsm.c src/client/attest_sim.c)
if(TSS2_FOUND)
  list(APPEND cs_attester_sources src/client/attest_tpm2.c)
endif()
add_library(cs_attester STATIC ${cs_attester_sources})
target_link_libraries(cs_attester PUBLIC cs_sim cs_crypto cs_core PkgConfig::JANSSON)
if(TSS2_FOUND)
  target_compile_definitions(cs_attester PUBLIC CS_HAVE_TSS2)
  target_link_libraries(cs_attester PRIVATE PkgConfig::TSS2)
endif()
cs_defaults(cs_attester)
# ---- end cs_attester ----

# ---- cs_client: the agent client (include/custos/client.h, docs/client.md) and `custos agent` ----
# Needs the attesters above, JOSE (TEE keys, JWE), the HTTP client (cs_net, mod-broker) and
# the log verifier (cs_tlog) and AES-256-GCM (cs_crypto). cs_tee_pop.c
# is the PoP signer: in src/crypto because only src/crypto includes OpenSSL.
if(TARGET cs_attester AND TARGET cs_jose AND TARGET cs_net)
  add_library(cs_client STATIC src/client/client.c src/client/client_state.c
    src/crypto/cs_tee_pop.c)
  target_link_libraries(cs_client PUBLIC cs_attester cs_jose cs_net cs_tlog
    cs_crypto cs_core Threads::Threads PRIVATE PkgConfig::JOSE)
  cs_defaults(cs_client)
  # reboot and resume (src/client/client_cache.c) over the sealed cache (cs_cache,
  # cmake/mod-cache.cmake, built when the same tpm2-tss packages are found)
  if(TSS2_FOUND)
    target_sources(cs_client PRIVATE src/client/client_cache.c)
    target_link_libraries(cs_client PUBLIC cs_cache)
  else()
    message(WARNING "tpm2-tss missing: the client has no sealed cache (custos_client_cache_*)")
  endif()
  list(APPEND CS_CLI_SOURCES app/custos/cmd_agent.c)
  list(APPEND CS_CLI_LIBS cs_client)
  list(APPEND CS_CLI_DEFINES CS_HAVE_AGENT)
endif()
# ---- end cs_client ----
