# SPDX-License-Identifier: Apache-2.0
# bench_nitro: AWS Nitro attestation documents verified per second on one core with the
# certificate chain memoised, beside the floor of one ECDSA P-384 verification (with its
# SHA-384) measured in the same run, cold (chain verified per document) and peak RSS. Runs
# on the A01 case of ${CS_SHARED_DIR}; without the shared data the bench target skips it.
# Measure a Release or RelWithDebInfo build without sanitizers.
add_executable(bench_nitro bench_nitro.c)
target_link_libraries(bench_nitro PRIVATE cs_verify bench_util)
cs_defaults(bench_nitro)

if(DEFINED CS_SHARED_DIR)
  set(cs_bench_nitro_case ${CS_SHARED_DIR}/testdata/evidence/A01)
else()
  get_filename_component(cs_bench_nitro_case
    "${PROJECT_SOURCE_DIR}/../shared/testdata/evidence/A01" ABSOLUTE)
endif()
if(IS_DIRECTORY ${cs_bench_nitro_case})
  list(APPEND CS_BENCH_COMMANDS COMMAND bench_nitro ${cs_bench_nitro_case})
endif()
