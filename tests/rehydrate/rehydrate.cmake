# SPDX-License-Identifier: Apache-2.0
# Reboot and resume (docs/client.md "Reboot and resume"), included by tests/mod-client.cmake:
#   rehydrate_flow  `custos agent cache ...` against custosd --dev and a swtpm: refusals of
#                   the sealed cache, resume, reconcile (tests/rehydrate/rehydrate_flow.py);
#   demo            scripts/demo.sh, the newcomer's walk through the same story.
# Both skip (77) without swtpm.
if(TARGET cs_client AND TARGET custosd AND TARGET custos_cli AND TSS2_FOUND)
  add_test(NAME rehydrate_flow
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/rehydrate_flow.py
      $<TARGET_FILE:custosd> $<TARGET_FILE:custos_cli> ${PROJECT_SOURCE_DIR}/docs/examples)
  set_tests_properties(rehydrate_flow PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  add_test(NAME demo COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/demo.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(demo PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
