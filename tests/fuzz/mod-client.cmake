# SPDX-License-Identifier: Apache-2.0
# The agent client's parser of broker answers (from the agent's side the broker is untrusted).
if(TARGET cs_client)
  list(APPEND CS_FUZZ_TARGETS client_state)
  set(CS_FUZZ_LIBS_client_state cs_client)
  list(APPEND CS_FUZZ_INSTRUMENT cs_client)
endif()
