# SPDX-License-Identifier: Apache-2.0
# sim: the development TDX attester (docs/dev-attester.md). cs_sim holds the DCAP forge
# (a PKI of our own that mints Intel-shaped quotes and collateral; also the unit tests'
# PKI) and the persistent development attester that `custosd --dev` and `custos sim` use.
add_library(cs_sim STATIC src/sim/dcap_forge.c src/sim/dev_attester.c)
target_link_libraries(cs_sim PUBLIC cs_verify OpenSSL::Crypto PkgConfig::JANSSON)
cs_defaults(cs_sim)


list(APPEND CS_CLI_SOURCES app/custos/cmd_sim.c)
list(APPEND CS_CLI_LIBS cs_sim)
