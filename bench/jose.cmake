# SPDX-License-Identifier: Apache-2.0
# bench_jose: JWE encryption (EC P-256, RSA-3072), ES256 token signing and verification,
# each beside its OpenSSL floor measured in the same run (ECDH derive, RSA-OAEP encrypt,
# ECDSA sign and verify), plus libjose's own JWE and JWS and TEE key parsing for comparison.
# About 40 s. Measure a Release or RelWithDebInfo build without sanitizers.
if(TARGET cs_jose)
  add_executable(bench_jose bench_jose.c)
  target_link_libraries(bench_jose PRIVATE cs_jose bench_util PkgConfig::JOSE OpenSSL::Crypto)
  cs_defaults(bench_jose)
  list(APPEND CS_BENCH_COMMANDS COMMAND bench_jose)
endif()
