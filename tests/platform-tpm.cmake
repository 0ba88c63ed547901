# SPDX-License-Identifier: Apache-2.0
# Tests of TPM 2.0 quote verification (docs/platforms/tpm.md).
cs_add_test(test_tpm_attest unit/test_tpm_attest.c)
cs_add_test(test_tpm_verify unit/test_tpm_verify.c LIBS OpenSSL::Crypto)
cs_add_test(test_tpm_cases vectors/test_tpm_cases.c LIBS cs_cases)
cs_add_test(test_tpm_damage vectors/test_tpm_damage.c LIBS cs_cases OpenSSL::Crypto Threads::Threads)

# The library's pieces API as a command, for the software-TPM test next to the CLI.
add_executable(test_tpm_check vectors/test_tpm_check.c)
target_link_libraries(test_tpm_check PRIVATE cs_test)
cs_defaults(test_tpm_check)

if(TARGET custos_cli)
  # A real software TPM (swtpm + tpm2-tools): quotes made, verified, tampered with.
  # Skips (77) when the tools are missing.
  add_test(NAME tpm_swtpm_quote
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tpm/swtpm_quote.sh $<TARGET_FILE:custos_cli>
      $<TARGET_FILE:test_tpm_check>)
  set_tests_properties(tpm_swtpm_quote PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

  # Every shared TPM case through the CLI, with the instant, nonce and outcome of its
  # case.json (read here, at configure time; editing a case.json reconfigures).
  set(cs_tpm_evidence ${CS_SHARED_DIR}/testdata/evidence)
  if(IS_DIRECTORY ${cs_tpm_evidence})
    file(GLOB cs_tpm_case_files ${cs_tpm_evidence}/*/case.json)
    foreach(cj ${cs_tpm_case_files})
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${cj})
      file(READ ${cj} cs_text)
      string(JSON cs_platform ERROR_VARIABLE cs_err GET "${cs_text}" platform)
      if(NOT cs_platform STREQUAL "tpm")
        continue()
      endif()
      get_filename_component(cs_dir ${cj} DIRECTORY)
      get_filename_component(cs_id ${cs_dir} NAME)
      string(JSON cs_at GET "${cs_text}" at)
      string(JSON cs_verified GET "${cs_text}" expect verified)
      string(JSON cs_class ERROR_VARIABLE cs_err GET "${cs_text}" expect error_class)
      if(cs_err)
        set(cs_class "-")
      endif()
      string(JSON cs_nonce ERROR_VARIABLE cs_err GET "${cs_text}" expect claims nonce)
      if(cs_err)
        set(cs_nonce_arg "none")
      else()
        set(cs_nonce_arg "nonce=${cs_nonce}")
      endif()
      add_test(NAME tpm_cli_${cs_id}
        COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tpm/cli_case.sh $<TARGET_FILE:custos_cli>
          ${cs_dir} ${cs_at} ${cs_verified} ${cs_class} ${cs_nonce_arg})
    endforeach()
  endif()
endif()
