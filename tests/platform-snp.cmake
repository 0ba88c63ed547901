# SPDX-License-Identifier: Apache-2.0
# AMD SEV-SNP tests: parser units, a test PKI of our own (OpenSSL, keys made at test time),
# the data-driven walk of every snp case of ../shared (with variants), damage to the real
# evidence, and the KBS JSON form of the real reports.
cs_add_test(test_snp_report unit/test_snp_report.c)
cs_add_test(test_snp_pki unit/test_snp_pki.c LIBS OpenSSL::Crypto)
cs_add_test(test_snp_cases vectors/test_snp_cases.c LIBS cs_cases)
cs_add_test(test_snp_damage vectors/test_snp_damage.c LIBS cs_cases OpenSSL::Crypto)
cs_add_test(test_snp_kbs vectors/test_snp_kbs.c)

# End to end: `custos verify` on every snp case directory of ../shared at the case's
# instant, with auto-detection and with --platform snp; exit 0 when case.json expects a
# verified report, 1 (rejected) otherwise. Read from case.json at configure time.
if(TARGET custos_cli AND IS_DIRECTORY ${CS_SHARED_DIR}/testdata/evidence)
  file(GLOB cs_snp_cases ${CS_SHARED_DIR}/testdata/evidence/*/case.json)
  foreach(case_json ${cs_snp_cases})
    file(READ ${case_json} cs_case)
    string(JSON cs_platform ERROR_VARIABLE cs_err GET "${cs_case}" platform)
    if(NOT cs_platform STREQUAL "snp")
      continue()
    endif()
    string(JSON cs_at GET "${cs_case}" at)
    string(JSON cs_ok GET "${cs_case}" expect verified)
    get_filename_component(cs_dir ${case_json} DIRECTORY)
    get_filename_component(cs_id ${cs_dir} NAME)
    foreach(cs_mode detect platform)
      set(cs_args verify --evidence ${cs_dir}/report.bin --collateral ${cs_dir} --at ${cs_at})
      if(cs_mode STREQUAL "platform")
        list(APPEND cs_args --platform snp --json)
      endif()
      add_test(NAME snp_cli_${cs_id}_${cs_mode} COMMAND custos_cli ${cs_args})
      if(NOT cs_ok)
        set_tests_properties(snp_cli_${cs_id}_${cs_mode} PROPERTIES WILL_FAIL TRUE)
      endif()
    endforeach()
  endforeach()
endif()
