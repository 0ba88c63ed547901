# SPDX-License-Identifier: Apache-2.0
# bench_kbs: the broker under load. Starts the real custosd --dev on loopback (port 0, a
# temporary data directory under ${CMAKE_BINARY_DIR}/bench-kbs: the build tree's disk),
# sets the starter policy and a secret through the admin API, runs 16 agents (threads, one
# keep-alive connection each) looping auth -> development TDX quote -> attest -> resource
# for 2 s of warm-up and 10 s measured, and prints round trips/s, latency percentiles (a
# round trip and each step), custosd's CPU time per round trip, and the floor measured
# in-process in the same run (warm DCAP verify, JWE to a P-256 key, JWT sign, envelope
# open, one durable audit append), with PASS/FAIL per target (never a build failure).
# About 20 s. docs/benchmarks-broker.md. Other runs:
#   build/bench/bench_kbs --custosd build/custosd --policy docs/examples/policy-dev-tdx.json \
#     --dir build/bench-kbs [--agents N] [--seconds S] [--warmup S] [--keep]
# Measure a Release or RelWithDebInfo build without sanitizers.

if(TARGET custosd AND TARGET cs_sim AND TARGET cs_jose AND TARGET cs_net)
  add_executable(bench_kbs bench_kbs.c)
  target_link_libraries(bench_kbs PRIVATE cs_sim cs_jose cs_broker_store cs_tlog bench_util CURL::libcurl
    OpenSSL::Crypto Threads::Threads)
  cs_defaults(bench_kbs)
  add_dependencies(bench_kbs custosd)
  list(APPEND CS_BENCH_COMMANDS COMMAND bench_kbs --custosd $<TARGET_FILE:custosd>
    --policy ${PROJECT_SOURCE_DIR}/docs/examples/policy-dev-tdx.json
    --dir ${CMAKE_BINARY_DIR}/bench-kbs)
endif()
