# SPDX-License-Identifier: Apache-2.0
# The policy engine's fuzz target: parse a policy, evaluate it against fixed inputs.
# Seeds: the docs/examples policies (copied into corpus/policy/) and a few of our own.
if(TARGET cs_policy)
  list(APPEND CS_FUZZ_TARGETS policy)
  set(CS_FUZZ_LIBS_policy cs_policy)
  list(APPEND CS_FUZZ_INSTRUMENT cs_policy)
endif()
