# SPDX-License-Identifier: Apache-2.0
# The policy engine: semantics and examples (test_policy), every lint error and ceiling
# (test_policy_lint), and `custos policy` end to end (policy_cli).
if(TARGET cs_policy)
  cs_add_test(test_policy unit/test_policy.c LIBS cs_policy Threads::Threads)
  target_compile_definitions(test_policy PRIVATE
    CS_POLICY_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/docs/examples"
    CS_POLICY_FIXTURES_DIR="${CMAKE_CURRENT_SOURCE_DIR}/policy")
  cs_add_test(test_policy_lint unit/test_policy_lint.c LIBS cs_policy)
  if(TARGET custos_cli)
    add_test(NAME policy_cli COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/policy/policy_cli.sh
      $<TARGET_FILE:custos_cli> ${PROJECT_SOURCE_DIR} ${CS_SHARED_DIR})
  endif()
endif()
