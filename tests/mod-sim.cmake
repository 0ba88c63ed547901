# SPDX-License-Identifier: Apache-2.0
# Tests of the sim module: the development attester, the KBS runtime-data binding, and
# the `custos sim` CLI end to end.
cs_add_test(test_dev_attester unit/test_dev_attester.c LIBS cs_sim)
cs_add_test(test_kbs_binding sim/test_kbs_binding.c)
add_test(NAME sim_cli
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/sim/sim_cli.sh $<TARGET_FILE:custos_cli>)
