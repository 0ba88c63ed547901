# SPDX-License-Identifier: Apache-2.0
# The policy engine (src/policy, docs/policy.md): pure code over jansson, no OpenSSL, no I/O.
# Adds `custos policy check|eval` to the CLI.
add_library(cs_policy STATIC src/policy/policy_parse.c src/policy/policy_eval.c
  src/policy/policy_names.c src/policy/policy_input.c)
target_link_libraries(cs_policy PUBLIC cs_core)
cs_defaults(cs_policy STRICT)
list(APPEND CS_CLI_SOURCES app/custos/cmd_policy.c)
list(APPEND CS_CLI_LIBS cs_policy)
