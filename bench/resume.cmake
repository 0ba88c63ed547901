# SPDX-License-Identifier: Apache-2.0
# bench_resume: reboot and resume (docs/client.md). Time from process start to "credentials
# and state available" for rehydration from custosd on loopback, resume from the tpm2 cache
# on swtpm and from the broker-provider cache, each beside its floor measured in the same
# run (one attest round trip, one TPM unseal); state put/get round trips per second with
# 1 KiB and 1020 KiB objects beside AES-256-GCM seal+open of the same bytes. Starts swtpm
# (prints "skipped" without it) and custosd --dev under ${CMAKE_BINARY_DIR}/bench-resume,
# removed after. About 20 s. Other runs:
#   build/bench/bench_resume --custosd build/custosd --custos build/custos \
#     --policy docs/examples/policy-demo.json --dir build/bench-resume [--runs N]
# Measure a Release or RelWithDebInfo build without sanitizers.

if(TARGET cs_client AND TARGET cs_cache AND TARGET custosd AND TARGET custos_cli)
  add_executable(bench_resume bench_resume.c)
  target_link_libraries(bench_resume PRIVATE cs_client cs_cache cs_net cs_core)
  cs_defaults(bench_resume)
  add_dependencies(bench_resume custosd custos_cli)
  list(APPEND CS_BENCH_COMMANDS COMMAND bench_resume --custosd $<TARGET_FILE:custosd>
    --custos $<TARGET_FILE:custos_cli> --policy ${PROJECT_SOURCE_DIR}/docs/examples/policy-demo.json
    --dir ${CMAKE_BINARY_DIR}/bench-resume)
endif()
