# SPDX-License-Identifier: Apache-2.0
# bench_tlog: the audit log against floors measured in the same run: durable appends/s with
# group commit (1 and 64 writers) beside the disk's fdatasync/fsync rate, proof latency
# at 10^6 entries, tree hashing leaves/s beside raw SHA-256 of the same leaves (roots
# checked against bench-roots.json), peak RSS. About a minute. The logs and the fsync probe
# go to ${CMAKE_BINARY_DIR}/bench-tlog: the build tree's disk, never tmpfs; removed after.
# The 10^7-entry proof log (target: inclusion proof <= 100 us) is opt-in, as it takes 4 to
# 10 minutes and 2.3 GB to build:
#   build/bench/bench_tlog --dir build/bench-tlog --big [--keep] \
#     --roots ../shared/vectors/tlog/generated/bench-roots.json --only proofs
# (--keep leaves the logs in the directory and reuses them on the next run.)
# Measure a Release or RelWithDebInfo build without sanitizers.

add_executable(bench_tlog bench_tlog.c)
target_link_libraries(bench_tlog PRIVATE cs_tlog bench_util Threads::Threads)
cs_defaults(bench_tlog)

if(DEFINED CS_SHARED_DIR)
  set(cs_bench_tlog_shared ${CS_SHARED_DIR})
else()
  get_filename_component(cs_bench_tlog_shared "${PROJECT_SOURCE_DIR}/../shared" ABSOLUTE)
endif()
# bench_tlog says so and skips the root checks when the file is missing at run time
list(APPEND CS_BENCH_COMMANDS COMMAND bench_tlog --dir ${CMAKE_BINARY_DIR}/bench-tlog
  --roots ${cs_bench_tlog_shared}/vectors/tlog/generated/bench-roots.json)
