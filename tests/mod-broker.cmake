# SPDX-License-Identifier: Apache-2.0
# The broker: unit tests of its pieces, and the integration test that drives the real
# custosd over HTTP on loopback (tests/broker/kbs_flow.py, with python3-jwcrypto as the
# independent JOSE implementation).
if(TARGET cs_broker)
  cs_add_test(test_broker_units unit/test_broker_units.c LIBS cs_broker)
  target_compile_definitions(test_broker_units PRIVATE CS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(TARGET custosd AND TARGET custos_cli)
    add_test(NAME broker_kbs_flow
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/broker/kbs_flow.py
        $<TARGET_FILE:custosd> $<TARGET_FILE:custos_cli> ${PROJECT_SOURCE_DIR}/docs/examples)
    set_tests_properties(broker_kbs_flow PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endif()
endif()
