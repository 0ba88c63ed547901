# SPDX-License-Identifier: Apache-2.0
# bench_snp: SEV-SNP reports verified per second on one core with the VCEK chain cached,
# beside the floor of one ECDSA P-384 verification (key prepared), plus cold verification
# and peak RSS. Runs on the N02 case of ${CS_SHARED_DIR} when it exists.
add_executable(bench_snp bench_snp.c)
target_link_libraries(bench_snp PRIVATE cs_verify bench_util)
cs_defaults(bench_snp)

if(NOT DEFINED CS_SHARED_DIR)
  get_filename_component(CS_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" ABSOLUTE)
endif()
set(cs_snp_bench_case ${CS_SHARED_DIR}/testdata/evidence/N02)
if(IS_DIRECTORY ${cs_snp_bench_case})
  list(APPEND CS_BENCH_COMMANDS COMMAND bench_snp ${cs_snp_bench_case})
endif()
