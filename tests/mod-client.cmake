# SPDX-License-Identifier: Apache-2.0
# Tests of the client module.

# ---- cs_attester (docs/attesters.md) ----
# configfs-tsm against a fake kernel (tests/attester/fake_tsm.c), sim, options.
if(TARGET cs_attester)
  cs_add_test(test_attester unit/test_attester.c attester/fake_tsm.c LIBS cs_attester)
  target_include_directories(test_attester PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/attester)
  if("snp" IN_LIST CS_PLATFORMS)
    target_compile_definitions(test_attester PRIVATE CS_TEST_HAVE_SNP)
  endif()
  # tpm2 against a software TPM that the script starts (skips, 77, without swtpm/tpm2-tools);
  # the quotes are checked with custos_tpm_verify, so the tpm platform must be built.
  if(TSS2_FOUND AND "tpm" IN_LIST CS_PLATFORMS)
    add_executable(test_attester_tpm2 unit/test_attester_tpm2.c)
    target_link_libraries(test_attester_tpm2 PRIVATE cs_test cs_attester PkgConfig::TSS2)
    cs_defaults(test_attester_tpm2)
    add_test(NAME attester_tpm2_swtpm
      COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/attester/swtpm_run.sh
        $<TARGET_FILE:test_attester_tpm2>)
    set_tests_properties(attester_tpm2_swtpm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endif()
endif()
# ---- end cs_attester ----

# ---- cs_client: the agent client (docs/client.md) ----
# Unit: the state envelope, the anti-rollback memory, the checks of a read against a real
# signed log, the PoP signer. Integration: `custos agent` against `custosd --dev`, with
# PoP requests crafted in python3-jwcrypto/cryptography and a broker rolled back on disk.
if(TARGET cs_client)
  cs_add_test(test_client unit/test_client.c LIBS cs_client cs_tlog)
  # a library user: include/custos/client.h and libcustos.so only (threads, re-attestation)
  add_executable(client_lib_driver client/agent_lib.c)
  target_link_libraries(client_lib_driver PRIVATE custos Threads::Threads)
  cs_defaults(client_lib_driver)
  if(TARGET custosd AND TARGET custos_cli)
    add_test(NAME client_agent_flow
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/client/agent_flow.py
        $<TARGET_FILE:custosd> $<TARGET_FILE:custos_cli> ${PROJECT_SOURCE_DIR}/docs/examples
        $<TARGET_FILE:client_lib_driver>)
    set_tests_properties(client_agent_flow PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endif()
  # reboot and resume: the sealed cache, resume, reconcile, and scripts/demo.sh
  include(${CMAKE_CURRENT_SOURCE_DIR}/rehydrate/rehydrate.cmake OPTIONAL)
endif()
# ---- end cs_client ----
